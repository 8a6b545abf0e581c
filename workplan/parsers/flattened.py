"""网页复制后被压平的任务表格（以“|”分隔，或一格一行）还原为行×列，交给 tables.parse_table 解析。"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .annotations import looks_like_unit, split_section_names
from .table_header import SEQ_RE, Columns, find_header, header_role, heading_parts
from .types import ParseIssue

_SEPARATOR_CELL_RE = re.compile(r"^:?-{2,}:?$|^[-—=＝─━ ]*$")
_DEADLINE_LIKE_RE = re.compile(
    r"\d{1,2}\s*月|年底|年末|年前|年内|全年|季度|每月|每年|每周|半年|长期|持续|及时|常态|适时|按时|定期|随时|月底|日前|底前|完成"
)


@dataclass
class FlatTable:
    """压平表格还原的结果：rows 与对应的原文行号、还原时的警告；header_line 为表头在输入中的下标（0 起）。"""

    rows: list[list[str]]
    line_numbers: list[int | None]
    warnings: list[ParseIssue] = field(default_factory=list)
    header_line: int = 0


def split_flattened_text(lines: list[str]) -> list[list[str]] | None:
    """把网页复制后压平的表格文本还原为行×列；不是表格则返回 None。行号与警告见 split_flattened_lines。"""
    flat = split_flattened_lines(lines)
    return flat.rows if flat is not None else None


def split_flattened_lines(lines: list[str], *, first_line_no: int = 1) -> FlatTable | None:
    """两种形态：(a) 以“|”（或制表符）分隔的行，外侧竖线可有可无，“|---|”分隔行跳过，空格子保留为空；
    (b) 每格一行：先是连续 N(≥3) 行可识别的表头，之后每 N 行一条记录——能整齐分组时按 N 切分，否则按内容
    （序号/责任单位/时限的写法）推断各行所在列，并给出警告。表头之前的行保留为单格行（供取标题/年度）。"""
    norm = [(line or "").replace("｜", "|").rstrip() for line in lines]
    for delimiter in ("|", "\t"):
        for i, line in enumerate(norm):
            if delimiter in line and find_header([_split_cells(line, delimiter)], scan=1) is not None:
                return _delimited(norm, i, delimiter, first_line_no)
    return _one_cell_per_line(norm, first_line_no)


def _split_cells(line: str, delimiter: str) -> list[str]:
    text = line.strip() if delimiter == "|" else line
    if delimiter == "|":
        text = text[1:] if text.startswith("|") else text
        text = text[:-1] if text.endswith("|") else text
    return [c.strip() for c in text.split(delimiter)]


def _delimited(lines: list[str], header_at: int, delimiter: str, first: int) -> FlatTable:
    rows: list[list[str]] = [[line.strip()] for line in lines[:header_at] if line.strip()]
    numbers: list[int | None] = [first + i for i, line in enumerate(lines[:header_at]) if line.strip()]
    header = _split_cells(lines[header_at], delimiter)
    cols = find_header([header], scan=1)
    assert cols is not None  # 调用方已确认
    rows.append(header)
    numbers.append(first + header_at)
    outer = delimiter == "|" and lines[header_at].strip().startswith("|")
    last = max(i for i, line in enumerate(lines) if delimiter in line)
    buffer, buffer_line = "", 0  # 外侧竖线模式下，单元格内换行使一条记录跨多行：攒到以“|”结尾为止

    def emit(text: str, line_no: int) -> None:
        cells = _split_cells(text, delimiter)
        if any(cells) and all(_SEPARATOR_CELL_RE.match(c) for c in cells):
            return
        rows.append(cells)
        numbers.append(first + line_no)

    for i in range(header_at + 1, last + 1):
        stripped = lines[i].strip()
        if buffer:
            buffer += "\n" + stripped
            if stripped.endswith("|"):
                emit(buffer, buffer_line)
                buffer = ""
        elif not stripped:
            continue
        elif delimiter in lines[i]:
            if outer and stripped.startswith("|") and not stripped.endswith("|"):
                buffer, buffer_line = stripped, i
            else:
                emit(lines[i], i)
        elif heading_parts(stripped) or len(rows) == 1:
            rows.append([stripped])
            numbers.append(first + i)
        else:  # 夹在表格行之间、没有分隔符的一行：多半是长文字格（具体要求/工作任务）的续行
            target = rows[-1]
            at = max((k for k, c in enumerate(target) if c), default=0)
            for col in [*cols.detail, cols.task]:
                if col is not None and col < len(target) and target[col]:
                    at = col
                    break
            target[at] = (target[at] + "\n" + stripped).strip()
    if buffer:
        emit(buffer, buffer_line)
    return FlatTable(rows, numbers, header_line=header_at)


def _classify(text: str, cols: Columns) -> list[int]:
    """每格一行且对不齐时，按写法猜这一行可能属于哪些列（按列号升序）。"""
    units = cols.lead + cols.combined + cols.resp
    short = len(text) <= 30
    if cols.number is not None and SEQ_RE.match(text):
        return [cols.number]
    if cols.deadline is not None and short and _DEADLINE_LIKE_RE.search(text) and "，" not in text:
        return [cols.deadline]
    names = split_section_names(text)
    if units and len(text) <= 40 and "。" not in text and names and all(looks_like_unit(n) for n in names):
        return sorted(units)
    if cols.task is not None and short and "，" not in text.rstrip("。"):
        return sorted([cols.task, *cols.detail])
    return sorted(cols.detail) or ([cols.task] if cols.task is not None else [0])


def _one_cell_per_line(lines: list[str], first: int) -> FlatTable | None:
    start = end = -1
    i = 0
    while i < len(lines):
        j = i
        roles: list[str | None] = []
        while j < len(lines) and (not lines[j].strip() or header_role(lines[j])) and len(roles) < 12:
            if lines[j].strip():
                roles.append(header_role(lines[j]))
            j += 1
        if len(roles) >= 3 and len(set(roles)) == len(roles) and ({"task", "detail"} & set(roles)):
            start, end = i, j
            break
        i = j + 1 if j == i else j
    if start < 0:
        return None
    header_idx = [k for k in range(start, end) if lines[k].strip()]
    header = [lines[k].strip() for k in header_idx]
    cols = find_header([header], scan=1)
    if cols is None:
        return None
    width = len(header)
    rows: list[list[str]] = [[line.strip()] for line in lines[:start] if line.strip()]
    numbers: list[int | None] = [first + k for k in range(start) if lines[k].strip()]
    rows.append(header)
    numbers.append(first + header_idx[0])
    warnings: list[ParseIssue] = []
    last = max((k for k in range(end, len(lines)) if lines[k].strip()), default=end - 1)
    blanks_kept = [(first + k, lines[k].strip()) for k in range(end, last + 1)]
    blanks_kept += [(first + last, "")] * (-len(blanks_kept) % width)  # 末行末尾的空格子看不见
    cells = [c for c in blanks_kept if c[1]]
    data = [c for c in cells if not _is_top_heading(c[1])]
    if _aligned(data, width, cols):
        chunks = _chunks(cells, width, skip_headings=True)
    elif cols.number is not None and _aligned(blanks_kept, width, cols):
        # 空单元格在复制时保留成了空行：连空行一起按 N 行切分（序号位置对得上才这样做）
        chunks = _chunks(blanks_kept, width, skip_headings=False)
    else:
        chunks = _inferred(cells, width, cols)
        line = cells[0][0] if cells else None
        message = (
            f"逐行复制的表格内容共{len(data)}格，不是表头{width}列的整数倍（有合并或空白单元格），"
            "已按内容推断各格所在列，请核对。"
        )
        warnings.append(ParseIssue(line, message))
    for line_no, row in chunks:
        rows.append(row)
        numbers.append(line_no)
    return FlatTable(rows, numbers, warnings, header_line=start)


def _is_top_heading(text: str) -> bool:
    parts = heading_parts(text)
    return parts is not None and parts.level == 1


def _aligned(cells: list[tuple[int, str]], width: int, cols: Columns) -> bool:
    """能否整齐地每 width 行切一条记录：总数是整数倍，且（有序号列时）序号位置上都是序号或章节标题。"""
    if not cells or len(cells) % width:
        return False
    if cols.number is None:
        return True
    return all(
        SEQ_RE.match(cells[k][1]) or _is_top_heading(cells[k][1])
        for k in range(cols.number, len(cells), width)
    )


def _chunks(cells: list[tuple[int, str]], width: int, *, skip_headings: bool) -> list[tuple[int, list[str]]]:
    out: list[tuple[int, list[str]]] = []
    row: list[str] = []
    for line_no, text in cells:
        if skip_headings and _is_top_heading(text):
            out.append((line_no, [text]))
            continue
        if not row or len(row) == width:
            row = []
            out.append((line_no, row))
        row.append(text)
    return out


def _inferred(cells: list[tuple[int, str]], width: int, cols: Columns) -> list[tuple[int, list[str]]]:
    """对不齐时按内容放格：每行放进“比上一格更靠右、且写法相符”的最左一列，放不下就另起一条记录。"""
    out: list[tuple[int, list[str]]] = []
    row: list[str] | None = None
    pos = -1
    for line_no, text in cells:
        if _is_top_heading(text):
            out.append((line_no, [text]))
            row, pos = None, -1
            continue
        candidates = _classify(text, cols)
        later = [c for c in candidates if c > pos]
        if row is None or not later:
            row = [""] * width
            out.append((line_no, row))
            later = candidates
        pos = later[0]
        row[pos] = text
    return out
