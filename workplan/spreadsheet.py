"""任务表格（导出 → 在 Excel 中修改 → 回导）：表头、读取、逐行校验、差异预览与一次事务写入。

读取与校验不碰数据库（股室解析器事先载入，作为参数传入）；写入只在 `plan_tasks_update_from_sheet` 一个服务里，
只改任务本身的字段和任务分工，从不删除任务，也不碰进展报送等其他数据。
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from workplan.audit import audit_record
from workplan.bulkinsert import insert_rows
from workplan.exporting import FORMULA_PREFIXES
from workplan.models import (
    AssignmentRole,
    AuditEntry,
    PlanImport,
    Recurrence,
    Task,
    TaskAssignment,
    User,
    WorkPlan,
)
from workplan.parsers.readers import UnreadableFileError, extension_of, read_csv, read_xlsx_sheets
from workplan.parsers.text import match_key
from workplan.parsers.types import ParseIssue
from workplan.sections import Resolution, SectionResolver

# ---------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    """表格的一列。key：任务字段（或 leads/responsibles）；header：导出的表头；aliases：回导也认的写法。"""

    key: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    max_length: int | None = None


COLUMNS: tuple[Column, ...] = (
    Column("code", "任务编号", ("编号", "任务代码"), required=True, max_length=32),
    Column("number_path", "层级序号", ("序号",), max_length=64),
    Column("title", "标题", ("任务标题", "任务名称"), required=True, max_length=255),
    Column("body", "内容", ("任务内容", "具体内容", "具体要求")),
    Column("leads", "牵头股室", ("牵头单位", "牵头科室", "牵头部门")),
    Column("responsibles", "责任股室", ("责任单位", "责任科室", "责任部门")),
    Column("deadline_text", "时限要求", ("完成时限", "时限"), max_length=128),
    Column("due_date", "截止日期", ("截止时间", "完成日期")),
    Column("recurrence", "周期", ("频次",)),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
HEADERS: tuple[str, ...] = tuple(c.header for c in COLUMNS)
# Plain strings, not enum members: they also go into raw executemany parameters.
ROLE_BY_KEY: dict[str, str] = {
    "leads": AssignmentRole.LEAD.value,
    "responsibles": AssignmentRole.RESPONSIBLE.value,
}
SECTION_JOINER = "、"
MAX_ROWS = 20_000
HEADER_SCAN_ROWS = 20
SOURCE_TEXT_MAX = 64  # TaskAssignment.source_text

_SPACE_RE = re.compile(r"\s+")
_SECTION_SPLIT_RE = re.compile(r"[、，,；;／/|\n]+")
_DATE_RE = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*[T ]\s*\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_COMPACT_DATE_RE = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")


def _header_key(text: str) -> str:
    return _SPACE_RE.sub("", match_key(text or "")).rstrip(":：*＊")


_HEADER_LOOKUP: dict[str, str] = {}
for _col in COLUMNS:
    for _name in (_col.header, *_col.aliases):
        _HEADER_LOOKUP.setdefault(_header_key(_name), _col.key)


def header_column(text: str) -> str | None:
    """表头文字对应的列 key（简繁、全半角、前后空白都不影响）；认不出为 None。"""
    return _HEADER_LOOKUP.get(_header_key(text))


_RECURRENCE_SYNONYMS = {
    "": "",
    "无": "",
    "一次": "",
    "每月": Recurrence.MONTHLY,
    "月度": Recurrence.MONTHLY,
    "按月": Recurrence.MONTHLY,
    "每季": Recurrence.QUARTERLY,
    "季度": Recurrence.QUARTERLY,
    "按季度": Recurrence.QUARTERLY,
    "半年": Recurrence.HALF_YEARLY,
    "每年": Recurrence.YEARLY,
    "年度": Recurrence.YEARLY,
    "持续": Recurrence.CONTINUOUS,
    "长期": Recurrence.CONTINUOUS,
    "长期坚持": Recurrence.CONTINUOUS,
}
_RECURRENCE_LOOKUP: dict[str, str] = {match_key(k): str(v) for k, v in _RECURRENCE_SYNONYMS.items()}
for _value, _label in Recurrence.choices:
    _RECURRENCE_LOOKUP[match_key(str(_label))] = str(_value)
    if _value:
        _RECURRENCE_LOOKUP[str(_value)] = str(_value)
RECURRENCE_LABELS = dict(Recurrence.choices)


# ---------------------------------------------------------------- cell cleaning (pure)


def clean_text(value: Any) -> str:
    """单元格 → 文本：去首尾空白，统一换行；导出时为防公式注入加的前缀单引号（'=…）在回导时去掉。"""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    if text[:1] == "'" and text[1:2] and text[1] in FORMULA_PREFIXES:
        text = text[1:]
    return text


def parse_date(value: Any) -> datetime.date | None:
    """截止日期：接受日期单元格、2023-06-30、2023/6/30、2023.6.30、2023年6月30日、20230630；空为 None。

    无法识别或不存在的日期（如 2023-13-01）抛 ValueError，消息为中文。
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = clean_text(value)
    if not text:
        return None
    match = _DATE_RE.match(text) or _COMPACT_DATE_RE.match(text)
    if match:
        try:
            return datetime.date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError:
            pass
    raise ValueError(f"无法识别的日期“{text}”（请写成 2023-06-30）")


def parse_recurrence(value: Any) -> str:
    """周期：中文标签（一次性/每月/每季度/每半年/每年/持续推进）及常见写法 → 存储值；认不出抛 ValueError。"""
    text = clean_text(value)
    key = _recurrence_key(text)
    if key in _RECURRENCE_LOOKUP:
        return _RECURRENCE_LOOKUP[key]
    allowed = "、".join(str(label) for _v, label in Recurrence.choices)
    raise ValueError(f"无法识别的周期“{text}”，可填：{allowed}")


@lru_cache(maxsize=256)
def _recurrence_key(text: str) -> str:
    return _SPACE_RE.sub("", match_key(text))


def split_section_names(text: str) -> list[str]:
    """“综合股、法规股”→ ["综合股", "法规股"]；也接受逗号、分号、斜杠、换行分隔；去重保序。"""
    names: list[str] = []
    for part in _SECTION_SPLIT_RE.split(text or ""):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return names


@dataclass(frozen=True)
class SectionPick:
    """文件中一个股室写法解析后的结果：一个股室（若来自集合称谓，group_id 为该组）。"""

    section_id: int
    written: str
    group_id: int | None = None


NamePicks = tuple[tuple[SectionPick, ...], str]


def name_picks(name: str, resolve: Callable[[str], Resolution]) -> NamePicks:
    """一个写法 → (对应的股室, 问题说明)。集合称谓展开为其成员；认不出时给出相近的名称。"""
    res = resolve(name)
    written = name[:SOURCE_TEXT_MAX]
    if res.kind == "section" and res.section_id is not None:
        return (SectionPick(section_id=res.section_id, written=written),), ""
    if res.kind == "group":
        if not res.member_ids:
            return (), f"集合称谓“{name}”还没有配置成员股室，请先在股室设置中配置"
        return tuple(SectionPick(sid, written, res.group_id) for sid in res.member_ids), ""
    hint = f"，是否为“{res.suggestion}”？" if res.suggestion else "，请先在股室设置中添加该股室或别名"
    return (), f"未知股室“{name}”{hint}"


def resolve_section_names(
    text: str, resolve: Callable[[str], Resolution], *, picks_for: Callable[[str], NamePicks] | None = None
) -> tuple[list[SectionPick], list[str]]:
    """把一格中的股室写法解析成股室（去重保序）。返回 (结果, 问题说明列表)。

    picks_for 可传入带缓存的 name_picks，批量校验时每种写法只解析一次。
    """
    lookup = picks_for or (lambda name: name_picks(name, resolve))
    picks: list[SectionPick] = []
    problems: list[str] = []
    seen: set[int] = set()
    for name in split_section_names(text):
        found, problem = lookup(name)
        if problem:
            problems.append(problem)
        for pick in found:
            if pick.section_id not in seen:
                seen.add(pick.section_id)
                picks.append(pick)
    return picks, problems


def issue_text(issue: ParseIssue) -> str:
    """“第5行「截止日期」：无法识别的日期……”。"""
    where = f"第{issue.line}行" if issue.line else ""
    if issue.column:
        where += f"「{issue.column}」"
    return f"{where}：{issue.message}" if where else issue.message


def _issue(line: int | None, message: str, column: str = "") -> dict[str, Any]:
    issue = ParseIssue(line=line, message=message, column=column)
    return {**issue.as_dict(), "text": issue_text(issue)}


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
            result.warnings.append(_issue(header_index + 1, f"已忽略无法识别的列「{text}」"))
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
                _issue(line, f"任务编号“{row.code}”与第{seen_codes[row.code]}行重复", result.headers["code"])
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
                    problems.append(_issue(line, message, header))
                sections[key] = list(picks)
            else:
                text = clean_text(cell)
                if column.required and not text:
                    raise ValueError("不能为空")
                if column.max_length and len(text) > column.max_length:
                    raise ValueError(f"内容过长（{len(text)} 字），最多 {column.max_length} 字")
                values[key] = text
        except ValueError as exc:
            problems.append(_issue(line, str(exc), header))
    if problems or not values.get("code"):
        return None, problems
    # 同一股室既牵头又负责时只记牵头（与任务分工页面的规则一致）。
    if "leads" in sections and "responsibles" in sections:
        lead_ids = {p.section_id for p in sections["leads"]}
        sections["responsibles"] = [p for p in sections["responsibles"] if p.section_id not in lead_ids]
    code = values.pop("code")
    return SheetRow(line=line, code=code, values=values, sections=sections), problems


# ---------------------------------------------------------------- diff (pure)


@dataclass
class CurrentTask:
    """计划中一项任务的当前值（来自数据库的一次查询）。"""

    id: int
    code: str
    is_heading: bool
    values: dict[str, Any]
    # (section_id, role) → assignment pk
    assignments: dict[tuple[int, str], int] = field(default_factory=dict)

    def section_ids(self, role: str) -> set[int]:
        return {sid for sid, r in self.assignments if r == role}


@dataclass
class PlanSnapshot:
    """回导比较用的计划现状：按编号的任务、最大顺序号、层级序号 → 任务、股室名称。"""

    tasks: dict[str, CurrentTask] = field(default_factory=dict)
    max_position: int = 0
    paths: dict[str, int] = field(default_factory=dict)
    section_names: dict[int, str] = field(default_factory=dict)


@dataclass
class RowChange:
    """文件中一行要做的事：new（新增）/ changed（修改）/ unchanged（未变）。"""

    line: int
    code: str
    action: str
    task_id: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # 要写入的任务字段（修改时只含变化的字段）
    sections: dict[str, list[SectionPick]] = field(default_factory=dict)  # 要重设的分工（只含变化的角色）
    changes: list[dict[str, str]] = field(default_factory=list)  # 给人看的：列名、原值 → 新值


@dataclass
class SheetDiff:
    """回导预览：新增 / 修改（逐字段原值 → 新值）/ 未变 / 错误 / 计划中有而文件中没有（保留不动）。"""

    headers: dict[str, str]
    present: list[str]
    rows: list[RowChange]
    missing: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    section_names: dict[int, str] = field(default_factory=dict)

    def of(self, action: str) -> list[RowChange]:
        return [r for r in self.rows if r.action == action]

    @property
    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.of("new")),
            "changed": len(self.of("changed")),
            "unchanged": len(self.of("unchanged")),
            "missing": len(self.missing),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
        }

    @property
    def fingerprint(self) -> str:
        """新增与修改内容（含原值）的摘要：确认时重新计算，若与预览时不同（计划已被他人改动）则拒绝写入。"""
        payload = [
            (r.line, r.code, r.action, r.task_id, _jsonable(r.fields), _picks_json(r.sections), r.changes)
            for r in self.rows
            if r.action != "unchanged"
        ]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()

    def _filled(self, row: RowChange) -> list[dict[str, str]]:
        """新增行中填了内容的各列（按表头顺序）。"""
        filled = []
        for key in self.present:
            if key in ROLE_BY_KEY:
                value: Any = [p.section_id for p in row.sections.get(key, [])]
            else:
                value = row.fields.get(key)
            if key != "code" and _norm(value) not in ("", []):
                filled.append(_change(self.headers, key, None, value, self.section_names))
        return filled

    def as_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "headers": self.headers,
            "present": self.present,
            "counts": self.counts,
            "fingerprint": self.fingerprint,
            "new": [
                {
                    "line": r.line,
                    "code": r.code,
                    "title": r.fields.get("title", ""),
                    "changes": self._filled(r),
                }
                for r in self.of("new")
            ],
            "changed": [
                {"line": r.line, "code": r.code, "task_id": r.task_id, "changes": r.changes}
                for r in self.of("changed")
            ],
            "unchanged": [r.code for r in self.of("unchanged")],
            "missing": self.missing,
            "errors": self.errors,
            "warnings": self.warnings,
        }


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime.date) else v) for k, v in sorted(values.items())}


def _picks_json(sections: dict[str, list[SectionPick]]) -> dict[str, list[list[Any]]]:
    return {k: [[p.section_id, p.group_id, p.written] for p in v] for k, v in sorted(sections.items())}


def _norm(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return value


def _display(key: str, value: Any, names: dict[int, str] | None = None) -> str:
    if value is None or value == "":
        return "（空）" if key != "recurrence" else str(RECURRENCE_LABELS[""])
    if key == "due_date":
        return value.isoformat()
    if key == "recurrence":
        return str(RECURRENCE_LABELS.get(value, value))
    if key in ROLE_BY_KEY:
        return SECTION_JOINER.join((names or {}).get(sid, f"#{sid}") for sid in value) or "（空）"
    return str(value)


def _change(headers: dict[str, str], key: str, old: Any, new: Any, names: dict[int, str]) -> dict[str, str]:
    return {"column": headers[key], "old": _display(key, old, names), "new": _display(key, new, names)}


def diff_sheet(sheet: ValidatedSheet, snapshot: PlanSnapshot) -> SheetDiff:
    """把校验过的表格与计划现状逐行比较。以任务编号对应；只比较文件中出现的列。

    编号不在计划中 → 新增；编号属于章节标题行 → 错误；字段或分工有变化 → 修改（列出每个变化）；否则未变。
    计划中有、文件中没有的任务保留不动，只在预览中列出。
    """
    errors = list(sheet.errors)
    rows: list[RowChange] = []
    names = snapshot.section_names
    keys = [k for k in sheet.present if k != "code"]
    for row in sheet.rows:
        current = snapshot.tasks.get(row.code)
        if current is None:
            # 新增行的逐列说明只在预览页用得到，留到 as_json 时再生成。
            rows.append(RowChange(row.line, row.code, "new", None, dict(row.values), dict(row.sections)))
            continue
        if current.is_heading:
            errors.append(
                _issue(row.line, f"任务编号“{row.code}”是章节标题，不能在任务表中修改", sheet.headers["code"])
            )
            continue
        fields: dict[str, Any] = {}
        sections: dict[str, list[SectionPick]] = {}
        changes: list[dict[str, str]] = []
        for key in keys:
            if key in ROLE_BY_KEY:
                picks = row.sections[key]
                new_ids = [p.section_id for p in picks]
                old_ids = sorted(current.section_ids(ROLE_BY_KEY[key]), key=lambda sid: names.get(sid, ""))
                if set(old_ids) != set(new_ids):
                    sections[key] = picks
                    changes.append(_change(sheet.headers, key, old_ids, new_ids, names))
                continue
            new = row.values[key]
            old = current.values.get(key)
            if _norm(old) != _norm(new):
                fields[key] = new
                changes.append(_change(sheet.headers, key, old, new, names))
        action = "changed" if changes else "unchanged"
        rows.append(RowChange(row.line, row.code, action, current.id, fields, sections, changes))
    in_file = {r.code for r in sheet.rows}
    missing = [
        {"code": t.code, "task_id": t.id, "title": t.values.get("title", "")}
        for t in snapshot.tasks.values()
        if not t.is_heading and t.code not in in_file
    ]
    return SheetDiff(sheet.headers, sheet.present, rows, missing, errors, sheet.warnings, names)


# ---------------------------------------------------------------- export


def with_export_prefetch(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """任务查询加上分工（连股室）的预取：一条查询取任务，一条取分工，与任务数无关。"""
    assignments = TaskAssignment.objects.select_related("section").order_by(
        "section__sort_order", "section__name"
    )
    return tasks.prefetch_related(Prefetch("assignments", queryset=assignments))


def export_queryset(plan: WorkPlan) -> QuerySet[Task]:
    """导出用的任务：计划中要落实的任务（不含章节标题），按原文顺序。"""
    return with_export_prefetch(Task.objects.filter(plan=plan).actionable().order_by("position", "pk"))


def section_names(task: Task, role: str) -> str:
    """任务某角色的股室名称，以“、”连接（用预取的分工，不发查询）。"""
    return SECTION_JOINER.join(a.section.name for a in task.assignments.all() if a.role == role)


def export_row(task: Task) -> list[Any]:
    """一行导出值，顺序同 HEADERS；截止日期保持为日期（xlsx 中是真正的日期单元格）。"""
    return [
        task.code,
        task.number_path,
        task.title,
        task.body,
        section_names(task, AssignmentRole.LEAD),
        section_names(task, AssignmentRole.RESPONSIBLE),
        task.deadline_text,
        task.due_date,
        str(RECURRENCE_LABELS.get(task.recurrence, task.recurrence)),
    ]


def export_rows(plan: WorkPlan) -> list[list[Any]]:
    return [export_row(task) for task in export_queryset(plan)]


# ---------------------------------------------------------------- database side


SNAPSHOT_FIELDS = ("number_path", "title", "body", "deadline_text", "due_date", "recurrence")


def load_plan_snapshot(plan: WorkPlan, resolver: SectionResolver) -> PlanSnapshot:
    """计划现状：任务一条查询、分工一条查询；股室名称取自已载入的解析器。"""
    snapshot = PlanSnapshot(section_names={pk: name for pk, name in resolver.sections.values()})
    by_id: dict[int, CurrentTask] = {}
    rows = Task.objects.filter(plan=plan).values_list(
        "id", "code", "is_heading", "position", *SNAPSHOT_FIELDS
    )
    for pk, code, is_heading, position, *values in rows:
        task = CurrentTask(
            id=pk, code=code, is_heading=is_heading, values=dict(zip(SNAPSHOT_FIELDS, values, strict=True))
        )
        snapshot.tasks[code] = by_id[pk] = task
        snapshot.max_position = max(snapshot.max_position, position)
        if values[0]:
            snapshot.paths.setdefault(values[0], pk)
    assignments = TaskAssignment.objects.filter(task__plan=plan).values_list(
        "id", "task_id", "section_id", "role"
    )
    for pk, task_id, section_id, role in assignments:
        by_id[task_id].assignments[(section_id, role)] = pk
    return snapshot


def write_sheet_diff(*, plan: WorkPlan, diff: SheetDiff, snapshot: PlanSnapshot) -> dict[str, int]:
    """按预览结果写入（调用方负责事务）。

    新增任务一次 bulk_create，其分工一次批量插入；修改的任务逐行只 UPDATE 变化了的字段（不用 bulk_update，
    免得对整批行生成 CASE/WHEN）；只有股室变化的任务才删去被去掉的分工、插入新加的分工。未变的行不发任何 SQL。
    """
    if diff.errors:
        raise ValueError("表格中有错误，不能导入")
    now = timezone.now()
    new_rows = diff.of("new")
    new_tasks: list[dict[str, Any]] = []
    for offset, row in enumerate(new_rows, start=1):
        path = row.fields.get("number_path", "")
        parent_path = path.rsplit("/", 1)[0] if "/" in path else ""
        new_tasks.append(
            {
                "plan_id": plan.pk,
                "code": row.code,
                "number": path.rsplit("/", 1)[-1][:16],
                "level": path.count("/") + 1,
                "position": snapshot.max_position + offset,
                "parent_id": snapshot.paths.get(parent_path) if parent_path else None,
                **row.fields,
            }
        )
    insert_rows(Task, new_tasks)
    ids = dict(
        Task.objects.filter(plan=plan, code__in=[t["code"] for t in new_tasks]).values_list("code", "id")
    )
    to_insert: list[dict[str, Any]] = []
    for row in new_rows:
        task_id = ids[row.code]
        for key, picks in row.sections.items():
            to_insert += [_assignment(task_id, p, ROLE_BY_KEY[key]) for p in picks]

    changed = diff.of("changed")
    stale: list[int] = []
    for row in changed:
        if row.fields:
            Task.objects.filter(pk=row.task_id, plan=plan).update(**row.fields, updated_at=now)
        current = snapshot.tasks[row.code]
        for key, picks in row.sections.items():
            role = ROLE_BY_KEY[key]
            wanted = {p.section_id: p for p in picks}
            stale += [pk for (sid, r), pk in current.assignments.items() if r == role and sid not in wanted]
            to_insert += [
                _assignment(current.id, p, role)
                for sid, p in wanted.items()
                if (sid, role) not in current.assignments
            ]
    if stale:
        TaskAssignment.objects.filter(pk__in=stale, task__plan=plan).delete()
    insert_rows(TaskAssignment, to_insert)
    return {
        "new": len(new_tasks),
        "changed": len(changed),
        "assignments_created": len(to_insert),
        "assignments_deleted": len(stale),
    }


def _assignment(task_id: int, pick: SectionPick, role: str) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "section_id": pick.section_id,
        "role": role,
        "via_group_id": pick.group_id,
        "source_text": pick.written,
    }


def build_diff(
    *, plan: WorkPlan, filename: str, data: bytes, max_bytes: int
) -> tuple[SheetDiff, PlanSnapshot]:
    """读文件 → 校验 → 与计划现状比较（读库 6 条查询：股室、别名、股室组、组成员、任务、分工）。"""
    table = read_table(filename, data, max_bytes=max_bytes)
    resolver = SectionResolver.load()
    sheet = validate_table(table, resolver.resolve)
    snapshot = load_plan_snapshot(plan, resolver)
    return diff_sheet(sheet, snapshot), snapshot


class SheetApplyError(ValueError):
    """确认导入被拒绝（有错误、已处理过、预览后计划有变动…）；str(exc) 是给用户看的中文说明。"""


def plan_tasks_preview_sheet(
    *,
    plan: WorkPlan,
    filename: str,
    data: bytes,
    user: User,
    max_bytes: int,
    request: HttpRequest | None = None,
) -> PlanImport:
    """回导预览：读取并校验上传的任务表，与计划比较，把文件和差异存进一条 PlanImport（kind=update）。

    预览不改任何任务。

    整份文件不可用（格式、表头、大小）时抛 SheetFileError，不保存文件，只记一条失败的审计；
    有行级错误时照样保存（状态为失败），预览页列出全部错误，且不能确认导入。
    """
    try:
        diff, _snapshot = build_diff(plan=plan, filename=filename, data=data, max_bytes=max_bytes)
    except SheetFileError as exc:
        audit_record(
            action="plan.reimport.preview",
            user=user,
            obj=plan,
            new={"file": filename[:255], "error": str(exc)},
            outcome=AuditEntry.Outcome.FAILURE,
            request=request,
        )
        raise
    status = PlanImport.Status.FAILED if diff.errors else PlanImport.Status.PREVIEW
    with transaction.atomic():
        batch = PlanImport(
            kind=PlanImport.Kind.UPDATE,
            source_name=filename[:255],
            source_sha256=hashlib.sha256(data).hexdigest(),
            year=plan.year,
            status=status,
            result=diff.as_json(),
            plan=plan,
            created_by=user,
        )
        batch.source_file.save(filename[-100:] or "tasks.xlsx", ContentFile(data), save=False)
        batch.save()
        audit_record(
            action="plan.reimport.preview",
            user=user,
            obj=plan,
            new={"batch": batch.pk, "file": batch.source_name, "counts": diff.counts},
            outcome=AuditEntry.Outcome.FAILURE if diff.errors else AuditEntry.Outcome.SUCCESS,
            request=request,
        )
    return batch


def plan_tasks_update_from_sheet(
    *, plan: WorkPlan, batch: PlanImport, user: User, max_bytes: int, request: HttpRequest | None = None
) -> dict[str, int]:
    """确认回导：一次事务内重新读取已保存的文件、校验、比较，确认差异与预览时一致后写入。

    规则：文件有任何错误则什么也不写；同一批次只能确认一次；预览后计划若被改动（差异不同）则拒绝，需重新上传。
    只新增任务、只更新变化的任务的变化字段、只增删变化了的分工；从不删除任务，不碰进展报送等其他数据。
    返回各类数量（new/changed/unchanged/missing…）。
    """
    try:
        with transaction.atomic():
            counts = _apply(plan=plan, batch=batch, user=user, max_bytes=max_bytes, request=request)
    except (SheetApplyError, SheetFileError) as exc:
        audit_record(
            action="plan.reimport.apply",
            user=user,
            obj=plan,
            new={"batch": batch.pk, "error": str(exc)},
            outcome=AuditEntry.Outcome.FAILURE,
            request=request,
        )
        raise SheetApplyError(str(exc)) from None
    batch.refresh_from_db()
    return counts


def _apply(
    *, plan: WorkPlan, batch: PlanImport, user: User, max_bytes: int, request: HttpRequest | None
) -> dict[str, int]:
    if batch.kind != PlanImport.Kind.UPDATE or batch.plan_id != plan.pk:
        raise SheetApplyError("该导入记录不属于此计划")
    if batch.status == PlanImport.Status.FAILED:
        raise SheetApplyError("表格中有错误，不能导入。请修改后重新上传。")
    now = timezone.now()
    # Claim the batch first: a second confirm (double click, two tabs) finds nothing to claim.
    claimed = PlanImport.objects.filter(pk=batch.pk, status=PlanImport.Status.PREVIEW).update(
        status=PlanImport.Status.CONFIRMED, confirmed_at=now
    )
    if not claimed:
        raise SheetApplyError("该批次已经导入或已取消，不能重复导入。")
    with batch.source_file.open("rb") as handle:
        data = handle.read()
    diff, snapshot = build_diff(plan=plan, filename=batch.source_name, data=data, max_bytes=max_bytes)
    if diff.errors:
        raise SheetApplyError("表格中有错误，不能导入。请修改后重新上传。")
    if diff.fingerprint != batch.result.get("fingerprint"):
        raise SheetApplyError(
            "预览之后计划中的任务或股室已有变动，差异与预览时不同。请重新上传表格核对后再导入。"
        )
    snapshot_counts = diff.counts
    written = write_sheet_diff(plan=plan, diff=diff, snapshot=snapshot)
    result = {**batch.result, "applied": {**snapshot_counts, **written}}
    PlanImport.objects.filter(pk=batch.pk).update(result=result)
    audit_record(
        action="plan.reimport.apply",
        user=user,
        obj=plan,
        old={"changed": [{"code": r.code, "changes": r.changes} for r in diff.of("changed")][:500]},
        new={"batch": batch.pk, "counts": snapshot_counts, "new": [r.code for r in diff.of("new")][:500]},
        request=request,
    )
    return {**snapshot_counts, **written}
