"""任务表格的读取与逐行校验：上传的 xlsx/csv → 表头对应到列 → 每行检查（编号、标题、日期、周期、股室），
所有问题连同行号与原表头文字一并收集。纯函数，不碰数据库。
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workplan.parsers.readers import UnreadableFileError, extension_of, read_csv, read_xlsx_sheets
from workplan.sections import Resolution
from workplan.sheet_format import (
    COLUMN_BY_KEY,
    COLUMNS,
    HEADERS,
    ROLE_BY_KEY,
    NamePicks,
    SectionPick,
    clean_text,
    header_column,
    name_picks,
    parse_date,
    parse_recurrence,
    resolve_section_names,
    sheet_issue,
)

MAX_ROWS = 20_000
HEADER_SCAN_ROWS = 20


# ---------------------------------------------------------------- reading (pure)


class SheetFileError(ValueError):
    """整份文件无法作为任务表使用（读不出、表头不对、过大…）；str(exc) 是给用户看的中文说明。"""


def read_table(filename: str, data: bytes, *, max_bytes: int) -> list[list[str]]:
    """读出任务表的所有行（字符串单元格，行号与 Excel 对齐）。

    xlsx 用 python-calamine 读；csv 接受 UTF-8（含 BOM）与 GB18030。

    xlsx 有多个工作表时取第一个能找到任务表头的可见工作表。任何问题抛 SheetFileError。
    """
    ext = extension_of(filename)
    if ext not in (".xlsx", ".csv"):
        hint = "旧版 Excel 文件请另存为 .xlsx；" if ext in (".xls", ".et") else ""
        raise SheetFileError(
            f"不支持的文件类型：{ext or '（无扩展名）'}，{hint}请上传导出的 .xlsx 或 .csv 任务表。"
        )
    if not data:
        raise SheetFileError("文件是空的（0 字节）。")
    if len(data) > max_bytes:
        raise SheetFileError(
            f"文件过大（{len(data) / 1024 / 1024:.1f} MB），上限为 {max_bytes // 1024 // 1024} MB。"
        )
    try:
        if ext == ".csv":
            return read_csv(data)
        sheets = read_xlsx_sheets(data)
    except UnreadableFileError as exc:
        raise SheetFileError(str(exc)) from None
    except (MemoryError, RecursionError):
        raise SheetFileError("文件内容过于庞大，无法处理。") from None
    non_empty = [rows for _name, rows in sheets if any(cell for row in rows for cell in row)]
    if not non_empty:
        raise SheetFileError("Excel 工作簿中没有任何内容。")
    for rows in non_empty:
        if _find_header_row(rows) is not None:
            return rows
    return non_empty[0]


def _find_header_row(rows: Sequence[Sequence[str]]) -> int | None:
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        keys = {header_column(cell) for cell in row if cell}
        if "code" in keys or "title" in keys:
            return index
    return None


# ---------------------------------------------------------------- validation (pure)


@dataclass
class SheetRow:
    """校验通过的一行。values 只含文件中出现的列；leads/responsibles 为解析后的股室。"""

    line: int
    code: str
    values: dict[str, Any]
    sections: dict[str, list[SectionPick]] = field(default_factory=dict)


@dataclass
class ValidatedSheet:
    """逐行校验的结果：present 为文件中出现的列 key；headers 为每列在文件中的原表头文字。"""

    present: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    rows: list[SheetRow] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)


def validate_table(rows: Sequence[Sequence[str]], resolve: Callable[[str], Resolution]) -> ValidatedSheet:
    """校验整张表：先认表头，再逐行检查，所有问题都收集起来（行号 + 原表头文字），不在第一个错误处停下。

    - 表头按中文文字认（简繁均可，顺序不限）；缺「任务编号」或「标题」是错误，认不出的列忽略并警告；
    - 每行：编号、标题不能为空；编号不能重复；日期、周期要认得出；股室要能对应到已有股室或集合称谓；
    - 完全空白的行跳过。
    """
    header_index = _find_header_row(rows)
    if header_index is None:
        first = next((row for row in rows if any(row)), [])
        found = "、".join(cell for cell in first if cell) or "（空）"
        raise SheetFileError(
            f"找不到任务表的表头。应有的表头：{'、'.join(HEADERS)}（至少要有「任务编号」和「标题」）；"
            f"文件中第一行是：{found}"
        )
    header_row = rows[header_index]
    result = ValidatedSheet()
    columns: list[tuple[int, str]] = []
    for index, text in enumerate(header_row):
        if not text:
            continue
        key = header_column(text)
        if key is None:
            result.warnings.append(sheet_issue(header_index + 1, f"已忽略无法识别的列「{text}」"))
            continue
        if key in result.headers:
            raise SheetFileError(
                f"表头中「{COLUMN_BY_KEY[key].header}」出现了两次（「{result.headers[key]}」和「{text}」）。"
            )
        result.headers[key] = text
        columns.append((index, key))
    missing = [c.header for c in COLUMNS if c.required and c.key not in result.headers]
    if missing:
        found = "、".join(cell for cell in header_row if cell)
        raise SheetFileError(
            f"表头缺少{''.join(f'「{m}」' for m in missing)}。"
            f"应有的表头：{'、'.join(HEADERS)}；文件中的表头：{found}"
        )
    result.present = [c.key for c in COLUMNS if c.key in result.headers]
    data_rows = rows[header_index + 1 :]
    if len(data_rows) > MAX_ROWS:
        raise SheetFileError(f"表格行数过多（{len(data_rows)} 行），一次最多回导 {MAX_ROWS} 行。")

    # 同样的股室写法在几千行里反复出现：每种写法只解析一次。
    name_cache: dict[str, NamePicks] = {}
    cell_cache: dict[str, tuple[list[SectionPick], list[str]]] = {}

    def picks_for(name: str) -> NamePicks:
        if name not in name_cache:
            name_cache[name] = name_picks(name, resolve)
        return name_cache[name]

    def resolve_cell(text: str) -> tuple[list[SectionPick], list[str]]:
        if text not in cell_cache:
            cell_cache[text] = resolve_section_names(text, resolve, picks_for=picks_for)
        return cell_cache[text]

    seen_codes: dict[str, int] = {}
    for offset, raw in enumerate(data_rows):
        if not any(cell for cell in raw):
            continue
        line = header_index + offset + 2
        row, problems = _validate_row(raw, line, columns, result.headers, resolve_cell)
        result.errors.extend(problems)
        if row is None:
            continue
        if row.code in seen_codes:
            result.errors.append(
                sheet_issue(
                    line, f"任务编号“{row.code}”与第{seen_codes[row.code]}行重复", result.headers["code"]
                )
            )
            continue
        seen_codes[row.code] = line
        result.rows.append(row)
    if not result.rows and not result.errors:
        raise SheetFileError("表头之后没有任何任务行。")
    return result


def _validate_row(
    raw: Sequence[str],
    line: int,
    columns: list[tuple[int, str]],
    headers: dict[str, str],
    resolve_cell: Callable[[str], tuple[list[SectionPick], list[str]]],
) -> tuple[SheetRow | None, list[dict[str, Any]]]:
    problems: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    sections: dict[str, list[SectionPick]] = {}
    for index, key in columns:
        cell = raw[index] if index < len(raw) else ""
        header = headers[key]
        column = COLUMN_BY_KEY[key]
        try:
            if key == "due_date":
                values[key] = parse_date(cell)
            elif key == "recurrence":
                values[key] = parse_recurrence(cell)
            elif key in ROLE_BY_KEY:
                picks, unknown = resolve_cell(clean_text(cell))
                for message in unknown:
                    problems.append(sheet_issue(line, message, header))
                sections[key] = list(picks)
            else:
                text = clean_text(cell)
                if column.required and not text:
                    raise ValueError("不能为空")
                if column.max_length and len(text) > column.max_length:
                    raise ValueError(f"内容过长（{len(text)} 字），最多 {column.max_length} 字")
                values[key] = text
        except ValueError as exc:
            problems.append(sheet_issue(line, str(exc), header))
    if problems or not values.get("code"):
        return None, problems
    # 同一股室既牵头又负责时只记牵头（与任务分工页面的规则一致）。
    if "leads" in sections and "responsibles" in sections:
        lead_ids = {p.section_id for p in sections["leads"]}
        sections["responsibles"] = [p for p in sections["responsibles"] if p.section_id not in lead_ids]
    code = values.pop("code")
    return SheetRow(line=line, code=code, values=values, sections=sections), problems
