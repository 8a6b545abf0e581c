"""政府信息公开工作年度报告的 Word（公文版式）与 Excel：六个部分，表二（主动公开）、表三（收到和处理申请，
3 行表头、7 个申请人列）、表四（行政复议、行政诉讼，15 格）按国办公开办函〔2021〕30号的样式合并单元格。

只读 AnnualData（与 ORM 无关）；勾稽检查未通过的数据不在这里拦截，由调用方（scoring/views_annual.py）拦截。
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt
from docx.table import Table
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.worksheet import Worksheet

from scoring.annual_report import (
    APPEAL_GROUPS,
    APPEAL_RESULTS,
    APPLICANT_COLUMNS,
    DISCLOSURE_GROUPS,
    PART_TITLES,
    TABLE3_ROWS,
    AnnualTables,
)
from scoring.reports.gongwen import BODY_FONT, HEI_FONT, LATIN_FONT, TEXT_WIDTH_MM, GongwenDocument
from workplan.exporting import neutralize

TABLE_FONT_SIZE = 10.5  # 五号：表三有 10 列、表四有 15 列
TABLE3_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"


@dataclass(frozen=True)
class AnnualData:
    """年度报告的全部内容：标题、单位、表格（已通过勾稽检查）、一、五、六部分文字、成文日期。"""

    year: int
    title: str
    unit_name: str
    tables: AnnualTables
    overview: str
    problems: str
    other_matters: str
    signed_on: datetime.date


# ---- the three tables as grids (shared by docx and xlsx) ---------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """网格中的一格：从 (row, col) 起合并到 (row + rows − 1, col + cols − 1)。"""

    row: int
    col: int
    value: Any
    rows: int = 1
    cols: int = 1
    header: bool = False


@dataclass(frozen=True)
class Grid:
    name: str
    n_rows: int
    n_cols: int
    cells: tuple[Cell, ...]
    widths_mm: tuple[float, ...]


def _amount(value: Decimal | int) -> int | float:
    return int(value) if isinstance(value, int) or value == value.to_integral_value() else float(value)


def table2_grid(tables: AnnualTables) -> Grid:
    """表二：每组（第二十条第（一）（五）（六）（八）项）一行组名、一行列名，再逐项一行；只有一列数字的组合并三格。"""
    cells: list[Cell] = []
    r = 0
    for title, measures, group_cells in DISCLOSURE_GROUPS:
        cells.append(Cell(r, 0, title, cols=4, header=True))
        cells.append(Cell(r + 1, 0, "信息内容", header=True))
        span = 3 // len(measures)
        for i, measure in enumerate(measures):
            cells.append(Cell(r + 1, 1 + i * span, measure, cols=span, header=True))
        r += 2
        items = list(dict.fromkeys(c.item for c in group_cells))
        for item in items:
            cells.append(Cell(r, 0, item))
            for i, measure in enumerate(measures):
                cell = next(c for c in group_cells if c.item == item and c.measure == measure)
                cells.append(Cell(r, 1 + i * span, _amount(tables.disclosure_value(cell.key)), cols=span))
            r += 1
    return Grid("表二 主动公开政府信息情况", r, 4, tuple(cells), (46, 36, 36, 38))


def table3_grid(tables: AnnualTables) -> Grid:
    """表三：3 行表头（勾稽说明、申请人情况 → 自然人 / 法人或其他组织（五类）/ 总计），3 列行名，7 列数字。"""
    cells = [
        Cell(0, 0, TABLE3_NOTE, rows=3, cols=3, header=True),
        Cell(0, 3, "申请人情况", cols=7, header=True),
        Cell(1, 3, APPLICANT_COLUMNS[0][1], rows=2, header=True),
        Cell(1, 4, "法人或其他组织", cols=5, header=True),
        Cell(1, 9, APPLICANT_COLUMNS[-1][1], rows=2, header=True),
        *(Cell(2, 4 + i, label, header=True) for i, (_, label) in enumerate(APPLICANT_COLUMNS[1:-1])),
    ]
    first = 3
    part_rows: dict[str, list[int]] = {}
    group_rows: dict[str, list[int]] = {}
    for i, row in enumerate(TABLE3_ROWS):
        r = first + i
        part_rows.setdefault(row.part, []).append(r)
        if row.item:
            group_rows.setdefault(row.group, []).append(r)
            cells.append(Cell(r, 2, row.item))
        elif row.group:
            cells.append(Cell(r, 1, row.group, cols=2))
        for c, (key, _) in enumerate(APPLICANT_COLUMNS):
            cells.append(Cell(r, 3 + c, tables.table3[row.key][key]))
    for part, rows in part_rows.items():
        if len(rows) == 1:
            cells.append(Cell(rows[0], 0, part, cols=3))
        else:
            cells.append(Cell(rows[0], 0, part, rows=len(rows)))
    for group, rows in group_rows.items():
        cells.append(Cell(rows[0], 1, group, rows=len(rows)))
    n_rows = first + len(TABLE3_ROWS)
    return Grid("表三 收到和处理政府信息公开申请情况", n_rows, 10, tuple(cells), (14, 16, 40, *([12.3] * 7)))


def table4_grid(tables: AnnualTables) -> Grid:
    """表四：行政复议（5 格）| 行政诉讼：未经复议直接起诉（5 格）、复议后起诉（5 格），共 15 格数字。"""
    results = [label for _, label in APPEAL_RESULTS]
    (review, review_label), *suits = APPEAL_GROUPS
    cells = [
        Cell(0, 0, review_label, cols=5, header=True),
        Cell(0, 5, "行政诉讼", cols=10, header=True),
        *(Cell(1, i, label, rows=2, header=True) for i, label in enumerate(results)),
    ]
    for g, (_, label) in enumerate(suits):
        cells.append(Cell(1, 5 + g * 5, label, cols=5, header=True))
        cells += [Cell(2, 5 + g * 5 + i, result, header=True) for i, result in enumerate(results)]
    for g, (kind, _) in enumerate(APPEAL_GROUPS):
        cells += [Cell(3, g * 5 + i, tables.table4[kind][key]) for i, (key, _) in enumerate(APPEAL_RESULTS)]
    return Grid("表四 政府信息公开行政复议、行政诉讼情况", 4, 15, tuple(cells), tuple([10.4] * 15))


def grids(tables: AnnualTables) -> list[Grid]:
    return [table2_grid(tables), table3_grid(tables), table4_grid(tables)]


# ---- docx ----------------------------------------------------------------------------------------------


class AnnualDocument(GongwenDocument):
    """公文版式加上按网格合并单元格的表格。"""

    def grid_table(self, grid: Grid) -> Table:
        table = self.doc.add_table(rows=grid.n_rows, cols=grid.n_cols)
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        scale = TEXT_WIDTH_MM / sum(grid.widths_mm)
        for row in table.rows:
            for c, cell in enumerate(row.cells):
                cell.width = Mm(grid.widths_mm[c] * scale)
        for spec in grid.cells:
            cell = table.cell(spec.row, spec.col)
            if spec.rows > 1 or spec.cols > 1:
                cell = cell.merge(table.cell(spec.row + spec.rows - 1, spec.col + spec.cols - 1))
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            p = cell.paragraphs[0]
            fmt = p.paragraph_format
            fmt.first_line_indent = Pt(0)
            fmt.line_spacing = 1.0
            centred = spec.header or not isinstance(spec.value, str) or spec.col > 0 and len(spec.value) <= 8
            fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER if centred else WD_ALIGN_PARAGRAPH.LEFT
            font = HEI_FONT if spec.header else BODY_FONT
            self._run(
                p, str(spec.value), font=font, latin=font if spec.header else LATIN_FONT, size=TABLE_FONT_SIZE
            )
        return table


def build_annual_docx(data: AnnualData) -> bytes:
    """年度报告 docx：标题（2号小标宋）、六个部分（一级标题黑体），表二至表四接在对应部分之后，
    署名与成文日期。"""
    gw = AnnualDocument()
    gw.title(data.title)
    gw.para(
        f"本报告根据《中华人民共和国政府信息公开条例》和《国务院办公厅政府信息与政务公开办公室关于印发〈中华人民共和国"
        f"政府信息公开工作年度报告格式〉的通知》（国办公开办函〔2021〕30号）要求编制，所列数据的统计期限自"
        f"{data.year}年1月1日起至{data.year}年12月31日止。"
    )
    table2, table3, table4 = grids(data.tables)
    texts = {0: data.overview, 4: data.problems, 5: data.other_matters}
    tables = {1: table2, 2: table3, 3: table4}
    for i, title in enumerate(PART_TITLES):
        gw.heading1(title)
        if i in texts:
            gw.text_block(texts[i] or "无。")
        else:
            gw.grid_table(tables[i])
            gw.blank()
    gw.signature(name=data.unit_name, signed_on=data.signed_on)
    return gw.to_bytes()


# ---- xlsx ----------------------------------------------------------------------------------------------

_THIN = Side(style="thin")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _write_grid(ws: Worksheet, grid: Grid, *, top: int = 1) -> None:
    for c, width in enumerate(grid.widths_mm, 1):
        ws.column_dimensions[ws.cell(row=1, column=c).column_letter].width = max(8.0, width * 0.9)
    for r in range(grid.n_rows):
        for c in range(grid.n_cols):
            ws.cell(row=top + r, column=c + 1).border = _BORDER
    for spec in grid.cells:
        row, col = top + spec.row, spec.col + 1
        cell = ws.cell(row=row, column=col, value=neutralize(spec.value))
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if spec.header:
            cell.font = Font(bold=True)
        if spec.rows > 1 or spec.cols > 1:
            ws.merge_cells(
                start_row=row, start_column=col, end_row=row + spec.rows - 1, end_column=col + spec.cols - 1
            )


def build_annual_xlsx(data: AnnualData) -> bytes:
    """年度报告 xlsx：表二、表三、表四各一张工作表（与 Word 相同的合并单元格，数字为数值），另一张为正文。"""
    wb = Workbook()
    sheets: Sequence[Grid] = grids(data.tables)
    for i, grid in enumerate(sheets):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = grid.name.split(" ", 1)[0]
        ws.cell(row=1, column=1, value=grid.name).font = Font(bold=True)
        _write_grid(ws, grid, top=2)
    text = wb.create_sheet("正文")
    text.column_dimensions["A"].width = 36
    text.column_dimensions["B"].width = 100
    body = {0: data.overview, 1: "见工作表“表二”", 2: "见工作表“表三”", 3: "见工作表“表四”"}
    body |= {4: data.problems, 5: data.other_matters}
    text.append([data.title, ""])
    for i, title in enumerate(PART_TITLES):
        text.append([title, neutralize(body[i])])
        text.cell(row=text.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
