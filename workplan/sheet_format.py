"""任务表格的格式：列与表头（导出、回导与 django-import-export 共用），以及单元格取值（文本、截止日期、周期、
股室写法）的解析。纯函数，不碰数据库（股室解析器事先载入，作为参数传入）。
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from workplan.exporting import FORMULA_PREFIXES
from workplan.models import AssignmentRole, Recurrence
from workplan.parsers.text import match_key
from workplan.parsers.types import ParseIssue
from workplan.sections import Resolution

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


def sheet_issue(line: int | None, message: str, column: str = "") -> dict[str, Any]:
    """一条问题（行号、说明、原表头文字）连同给人看的文字，存进预览结果的 JSON。"""
    issue = ParseIssue(line=line, message=message, column=column)
    return {**issue.as_dict(), "text": issue_text(issue)}
