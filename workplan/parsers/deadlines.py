"""时限要求（年底前、6月底前、9月30日前、每季度、长期坚持、及时）解析为截止日期与周期。

规则在折叠文本（简体、半角）上匹配，返回的 text 取自原文（繁体保留繁体）。
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .text import fold

__all__ = ["Deadline", "RECURRENCES", "cn_number", "find_deadline_in_body", "parse_deadline"]

RECURRENCES = ("", "monthly", "quarterly", "half_yearly", "yearly", "continuous")


@dataclass(frozen=True)
class Deadline:
    """一个时限：text 为原文中找到的说法；due_date 为截止日；recurrence 取 RECURRENCES 之一。"""

    text: str = ""
    due_date: datetime.date | None = None
    recurrence: str = ""

    @property
    def found(self) -> bool:
        return bool(self.text)


_CN_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def cn_number(s: str) -> int | None:
    """阿拉伯数字或 1–99 的中文数字（一、十、十二、二十一、三十一）转为整数；认不出返回 None。"""
    s = s.strip()
    if s.isdigit():
        return int(s)
    if not s or any(ch not in _CN_DIGITS and ch != "十" for ch in s):
        return None
    if "十" not in s:
        if len(s) == 4:  # 二〇二三
            return int("".join(str(_CN_DIGITS[ch]) for ch in s))
        return _CN_DIGITS[s] if len(s) == 1 else None
    tens, _, ones = s.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


_YEAR = r"(?:(?P<y>\d{4}|[〇零一二三四五六七八九]{4})\s*年\s*)"
_MONTH = r"(?<![\d])(?P<m>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])\s*月"
_CN_DAY = r"三十一?|二十[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九]"
_DAY = rf"(?P<d>3[01]|[12]\d|0?[1-9]|{_CN_DAY})\s*[日号]"
_BEFORE = r"(?P<before>之前|以前|前|为止|止)?"

# “每月10日前”“每季度末”“每季度第一个月8日前”：周期后面跟着的日子并入原文说法，但不算具体日期。
_TAIL = (
    rf"(?:(?:末|底)?(?:第[一二三]个月)?\s*(?:3[01]|[12]\d|0?[1-9]|{_CN_DAY})\s*[日号])?"
    r"(?:末|底)?(?:之前|以前|前)?"
)

# 周期说法：先匹配并遮盖，避免“每一季度”“每年1月”里的数字被当成日期。
_PERIODIC_BODY: tuple[tuple[str, str], ...] = (
    ("half_yearly", r"每半年|半年一次"),
    ("quarterly", rf"(?:每个?季度?|每一季度|按季度?|逐季度?){_TAIL}"),
    ("monthly", rf"(?:每个?月|每一个?月|按月|逐月){_TAIL}"),
    ("yearly", r"每年度?|每一年"),
)
_PERIODIC_CELL: tuple[tuple[str, str], ...] = (
    ("half_yearly", r"每半年|半年一次|半年度"),
    ("quarterly", rf"(?:每个?季度?|每一季度|按季度?|逐季度?|(?<![一二三四1-4第])季度){_TAIL}"),
    ("monthly", rf"(?:每个?月|每一个?月|按月|逐月|月度){_TAIL}"),
    ("yearly", r"每年度?|每一年|按年度?|逐年|(?<![\d年上本去半])年度(?!内)"),
)
_CONTINUOUS_BODY = r"长期坚持|持续推进|持续开展|常态化|长期(?!以来)"
_CONTINUOUS_CELL = r"长期坚持|持续推进|持续开展|常态化|长期|持续|经常性|常年|长效"
_PROMPT = r"(?<!不)及时"  # “不及时”是批评用语，不是时限

# 日期说法；每条给出 kind，用于算日期。before 组表示带“前/之前”的截止说法（优先于单纯的日期）。
_DATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("day", re.compile(rf"{_YEAR}?{_MONTH}\s*{_DAY}{_BEFORE}")),
    (
        "month_end",
        re.compile(rf"{_YEAR}?{_MONTH}\s*(?:(?:底|末)(?:之前|以前|前)?|份(?:之前|以前|前|内)|份?内)"),
    ),
    ("quarter", re.compile(rf"{_YEAR}?第?(?P<q>[一二三四1-4])\s*季度(?:末|底)?(?:之前|以前|前|内)?")),
    ("half", re.compile(rf"{_YEAR}?(?P<h>上|下)半年(?:底|末)?(?:之前|以前|前|内)?")),
    ("year_end", re.compile(rf"(?:{_YEAR}年?|(?<![去上前明])年)(?:底|末)(?:之前|以前|前)?")),
    ("year_in", re.compile(rf"(?:{_YEAR}|(?<![\d一二三四五六七八九十两个半去上前明])年)度?内")),
)
_RANGE_RE = re.compile(r"\s*(?:至|到|-|—|~|～)\s*")


@dataclass(frozen=True)
class _Hit:
    kind: str
    start: int
    end: int
    due: datetime.date | None = None
    marked: bool = False  # 带“前/底/末/内”之类的截止说法
    recurrence: str = ""


def _last_day(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def _safe_date(year: int | None, month: int | None, day: int | None) -> datetime.date | None:
    if year is None or month is None or day is None:
        return None
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _date_of(kind: str, m: re.Match[str], year: int | None) -> datetime.date | None:
    """按说法的种类算日期；文中写了年份（2023年6月底前）就用文中的年份。"""
    y_text = m.group("y")
    y = cn_number(y_text) if y_text else year
    if y is None:
        return None
    if kind == "day":
        return _safe_date(y, cn_number(m.group("m")), cn_number(m.group("d")))
    if kind == "month_end":
        month = cn_number(m.group("m"))
        return _last_day(y, month) if month and 1 <= month <= 12 else None
    if kind == "quarter":
        q = cn_number(m.group("q"))
        return _last_day(y, q * 3) if q else None
    if kind == "half":
        return datetime.date(y, 6, 30) if m.group("h") == "上" else datetime.date(y, 12, 31)
    return datetime.date(y, 12, 31)


def _mask(s: str, start: int, end: int) -> str:
    return s[:start] + "\x00" * (end - start) + s[end:]


def _scan(folded: str, year: int | None, *, cell: bool) -> Iterator[_Hit]:
    """按顺序产出全部命中：周期 → 日期 → 持续类 → 及时；前面命中的位置被遮盖，后面的规则不会重复匹配。"""
    work = folded
    for recurrence, pattern in _PERIODIC_CELL if cell else _PERIODIC_BODY:
        for m in re.finditer(pattern, work):
            yield _Hit("periodic", m.start(), m.end(), recurrence=recurrence)
            work = _mask(work, m.start(), m.end())
    for kind, rx in _DATE_PATTERNS:
        for m in rx.finditer(work):
            if "\x00" in m.group(0):
                continue
            start, end, due = m.start(), m.end(), _date_of(kind, m, year)
            marked = kind != "day" or bool(m.group("before"))
            # “6月1日至6月30日”：截止取后一个日期。
            if kind == "day" and not m.group("before"):
                rng = _RANGE_RE.match(work, end)
                nxt = rx.match(work, rng.end()) if rng else None
                if nxt:
                    end = nxt.end()
                    later = _date_of(kind, nxt, year if not m.group("y") else cn_number(m.group("y")))
                    due, marked = later or due, True
            yield _Hit("date", start, end, due=due, marked=marked)
            work = _mask(work, start, end)
    for m in re.finditer(_CONTINUOUS_CELL if cell else _CONTINUOUS_BODY, work):
        yield _Hit("continuous", m.start(), m.end(), recurrence="continuous")
        work = _mask(work, m.start(), m.end())
    for m in re.finditer(_PROMPT, work):
        yield _Hit("prompt", m.start(), m.end(), recurrence="continuous")


def _choose(original: str, hits: list[_Hit]) -> Deadline | None:
    """按优先级挑一个日期和一个周期，拼出原文说法。

    1. 日期：带“前/底/末/内”的截止说法优先于单纯的日期；同一类里取最晚的一个（任务的最终期限）。
    2. 周期：每月/每季度/每半年/每年，取文中最先出现的一个；
    3. 没有周期说法时，长期坚持/持续推进/持续开展/常态化/长期 记为 continuous；
    4. 以上都没有时，“及时”记为 continuous（无日期）。
    日期与周期同时出现时两者都保留。
    """
    dates = [h for h in hits if h.kind == "date"]
    date: _Hit | None = None
    if dates:
        best_class = [h for h in dates if h.marked] or dates
        dated = [h for h in best_class if h.due is not None]
        date = (
            max(dated, key=lambda h: (h.due, -h.start)) if dated else min(best_class, key=lambda h: h.start)
        )
    rec: _Hit | None = None
    for kind in ("periodic", "continuous"):
        found = sorted((h for h in hits if h.kind == kind), key=lambda h: h.start)
        if found:
            rec = found[0]
            break
    if date is None and rec is None:
        prompts = sorted((h for h in hits if h.kind == "prompt"), key=lambda h: h.start)
        if not prompts:
            return None
        rec = prompts[0]
    parts = sorted((h for h in (date, rec) if h is not None), key=lambda h: h.start)
    if len(parts) == 2 and parts[1].start - parts[0].end <= 2:
        text = original[parts[0].start : parts[1].end]
    else:
        text = "；".join(original[h.start : h.end] for h in parts)
    return Deadline(
        text=text.strip(),
        due_date=date.due if date else None,
        recurrence=rec.recurrence if rec else "",
    )


def parse_deadline(text: str, *, year: int | None = None) -> Deadline:
    """解析一个“时限要求”单元格或短语，认不出时返回空的 Deadline（text 为空）。

    年底前/年内/年底 → 当年12月31日；N月底前/N月底/N月末/N月份前 → N月最后一天；N月N日前/N月N日 → 该日；
    “YYYY年…”用文中年份；上半年 → 6月30日；第N季度/N季度末 → 季度末；每季度/按季度/季度 → quarterly；
    每月/按月 → monthly；每半年 → half_yearly；每年 → yearly；长期坚持/持续推进/长期/常态化 → continuous；
    只有“及时” → continuous 且无日期。没有年份（year=None 且文中未写）时只给 text 与 recurrence。
    数字可为全角或中文（六月底前、九月三十日前）。
    """
    if not text or not text.strip():
        return Deadline()
    found = _choose(text, list(_scan(fold(text), year, cell=True)))
    return found or Deadline()


def find_deadline_in_body(body: str, *, year: int | None = None) -> Deadline | None:
    """在任务正文中找时限，找不到返回 None。

    优先级：① 带“前/底/末/内”的明确日期（6月底前完成、9月30日前、年底前、一季度末），多个时取最晚的；
    ② 不带“前”的日期（于5月15日）；③ 句中的周期说法（每季度/每月/每半年/每年，取最先出现者），
    与日期同时出现时一并保留；④ 没有周期时，长期坚持/持续推进/持续开展/常态化 → continuous；
    ⑤ 以上都没有，才把句中的“及时”当作 continuous（无日期）。
    正文中单独的“季度”“年度”（如“年度报告”）不算周期，必须写成“每季度”“按季度”“每年”。
    """
    if not body or not body.strip():
        return None
    return _choose(body, list(_scan(fold(body), year, cell=False)))
