"""工作要点（政务公开工作计划）文件解析的唯一入口：按扩展名分派到正文（prose）或表格（table）解析。

`parse_plan_bytes` 与 `parse_plan_text` 从不抛异常：读不了、认不出的内容写进 ParseResult.errors / warnings。
解析器模块在函数内导入，使 `from workplan.parsers.types import …` 保持轻量（不加载 OpenCC 等）。
"""

from __future__ import annotations

import logging

from .readers import Block, read_upload
from .types import ParsedTask, ParseIssue, ParseResult

__all__ = ["ParseIssue", "ParseResult", "ParsedTask", "parse_plan_bytes", "parse_plan_text"]

logger = logging.getLogger(__name__)


def parse_plan_bytes(filename: str, data: bytes, *, year: int | None = None) -> ParseResult:
    """按扩展名解析上传的计划文件：.txt → 压平表格或正文；.docx → 有可识别表头的表格则按表格，否则按正文；
    .xlsx/.csv → 表格。其他类型、空文件、坏文件都以中文错误返回。"""
    try:
        upload = read_upload(filename, data)
        if upload.error:
            return ParseResult(errors=[ParseIssue(None, upload.error)])
        if upload.kind == "text":
            return parse_plan_text(upload.text, year=year)
        if upload.kind == "docx":
            return _parse_docx(upload.blocks, year=year)
        return _parse_sheets(upload.sheets, year=year)
    except (MemoryError, RecursionError):
        return ParseResult(errors=[ParseIssue(None, "文件内容过于庞大或结构过于复杂，无法解析。")])
    except Exception:  # 入口兜底：解析器的缺陷不能变成 500，记日志并如实告诉用户
        logger.exception("parse_plan_bytes failed for %r", filename)
        return ParseResult(errors=[ParseIssue(None, "解析文件时发生内部错误，请联系管理员。")])


def parse_plan_text(text: str, *, year: int | None = None, first_line_no: int = 1) -> ParseResult:
    """解析纯文本：像压平表格（“|”分隔、制表符分隔或每格一行）就按表格，否则按正文版式。
    表格前的文字交给正文解析器取标题、年度、上级文号；表格解析不出任务时退回正文解析
    （正文里偶尔出现的“|”不应毁掉整份文件）。"""
    from .document import parse_document
    from .flattened import split_flattened_lines
    from .tables import parse_table

    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    flat = split_flattened_lines(lines, first_line_no=first_line_no)
    if flat is not None:
        pre = _preamble_of(lines[: flat.header_line], year=year, first_line_no=first_line_no)
        table_year = year if year is not None else (pre.year if pre else None)
        result = parse_table(flat.rows, year=table_year, row_numbers=flat.line_numbers)
        if result.actionable:
            result.warnings[:0] = flat.warnings
            _apply_preamble(result, pre)
            return result
        prose = parse_document(lines, year=year, first_line_no=first_line_no)
        if prose.actionable:
            prose.layout = "prose"
            return prose
        return result
    result = parse_document(lines, year=year, first_line_no=first_line_no)
    result.layout = "prose"
    return result


def _preamble_of(lines: list[str], *, year: int | None, first_line_no: int = 1) -> ParseResult | None:
    """表格前的文字按正文解析（取标题、发文单位、年度、上级文号）；没有文字时为 None。"""
    from .document import parse_document

    if not any(line.strip() for line in lines):
        return None
    return parse_document(lines, year=year, first_line_no=first_line_no)


def _apply_preamble(result: ParseResult, pre: ParseResult | None) -> None:
    """表格前文字的解析结果并入表格结果；其中若还有像任务的条目，提醒未导入。"""
    if pre is None:
        return
    for name in ("title", "issuing_unit", "parent_doc_number", "preamble"):
        if getattr(pre, name):
            setattr(result, name, getattr(pre, name))
    if result.year is None:
        result.year = pre.year
    if pre.actionable:
        result.warnings.append(
            ParseIssue(
                None,
                f"表格前的正文中还有{len(pre.actionable)}项像任务的条目，未导入；如需导入请改为表格中的行。",
            )
        )


def _paragraph_lines(blocks: list[Block]) -> list[str]:
    return [line for b in blocks if b.kind == "paragraph" for line in b.text.split("\n")]


def _parse_docx(blocks: list[Block], *, year: int | None) -> ParseResult:
    """Word：第一个表头可识别的表格起按表格解析；此后的表格（续表、分章的表）与夹在表格间的“一、…”段落
    一并纳入，表格行号按各表行依次累计。表格前的段落交给正文解析器取标题、年度、上级文号。"""
    from .table_header import find_header, heading_parts
    from .tables import parse_table

    tables = [b for b in blocks if b.kind == "table"]
    first = next(
        (i for i, b in enumerate(blocks) if b.kind == "table" and find_header(b.rows) is not None), None
    )
    if first is None:
        result = parse_plan_text("\n".join(_paragraph_lines(blocks)), year=year)
        if tables:
            heads = [" | ".join(c for c in t.rows[0] if c)[:60] for t in tables if t.rows][:3]
            result.warnings.append(
                ParseIssue(
                    None, f"文档中有{len(tables)}个表格未识别出任务表头，已忽略（首行：{'；'.join(heads)}）。"
                )
            )
        return result
    pre = _preamble_of(_paragraph_lines(blocks[:first]), year=year)
    header = find_header(blocks[first].rows)
    width = len(header.texts) if header else 0
    rows: list[list[str]] = []
    numbers: list[int | None] = []
    skipped: list[str] = []
    counter = 0
    for block in blocks[first:]:
        if block.kind == "paragraph":
            text = block.text.strip()
            if text and heading_parts(text) and rows:
                rows.append([text])
                numbers.append(None)
            continue
        if (
            block is not blocks[first]
            and find_header(block.rows) is None
            and block.rows
            and len(block.rows[0]) != width
        ):
            skipped.append(" | ".join(c for c in block.rows[0] if c)[:40])
            counter += len(block.rows)
            continue
        for row in block.rows:
            counter += 1
            rows.append(row)
            numbers.append(counter)
    table_year = year if year is not None else (pre.year if pre else None)
    result = parse_table(rows, year=table_year, row_numbers=numbers)
    _apply_preamble(result, pre)
    for text in skipped:
        result.warnings.append(ParseIssue(None, f"有一个表格的列数与任务表不同，已忽略（首行：{text}）。"))
    return result


def _parse_sheets(sheets: list[tuple[str, list[list[str]]]], *, year: int | None) -> ParseResult:
    """Excel/CSV：取第一个表头可识别的工作表；都认不出时对第一个有内容的表报告找到了什么。"""
    from .table_header import find_header
    from .tables import parse_table

    filled = [(name, rows) for name, rows in sheets if any(c.strip() for row in rows for c in row)]
    if not filled:
        return ParseResult(layout="table", errors=[ParseIssue(None, "工作簿中没有任何内容。")])
    with_header = [(name, rows) for name, rows in filled if find_header(rows) is not None]
    name, rows = with_header[0] if with_header else filled[0]
    result = parse_table(rows, year=year)
    if len(with_header) > 1:
        others = "、".join(f"“{n}”" for n, _ in with_header[1:])
        result.warnings.append(
            ParseIssue(None, f"工作簿中有多个任务表，只导入了“{name}”，未导入：{others}。")
        )
    if not with_header and name and result.errors:
        result.errors[0].message = f"工作表“{name}”：{result.errors[0].message}"
    return result
