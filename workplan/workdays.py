"""工作日历：法定节假日与调休上班日（chinesecalendar），办公室录入的年度覆盖优先；无数据的年份退回“周一至周五”。"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

import chinese_calendar

ONE_DAY = datetime.timedelta(days=1)

# chinesecalendar's published tables: statutory holidays and the weekend days worked in lieu. Reading them
# directly gives the library's is_workday answer without its per-call range check (which scans every key).
_HOLIDAYS = chinese_calendar.holidays
_LIEU_WORKDAYS = chinese_calendar.workdays
_OFFICIAL_YEARS = range(min(_HOLIDAYS).year, max(_HOLIDAYS).year + 1)


@dataclass(frozen=True)
class WorkdayCalendar:
    """判断某天是否工作日。

    规则（按优先级）：
    1. overrides 中有该日期：以办公室录入为准（True 上班，False 放假）；
    2. chinesecalendar 覆盖该年份：节假日休息、调休日上班；
    3. 否则（如国务院尚未公布的年份）：周一至周五为工作日，并把该年记入 fallback_years，页面据此提示。
    """

    overrides: Mapping[datetime.date, bool] = field(default_factory=dict)
    override_years: frozenset[int] = frozenset()

    def is_workday(self, day: datetime.date) -> bool:
        if isinstance(day, datetime.datetime):
            day = day.date()
        if day in self.overrides:
            return self.overrides[day]
        if day.year in self.override_years or day.year not in _OFFICIAL_YEARS:
            return day.weekday() < 5
        return day in _LIEU_WORKDAYS or (day.weekday() < 5 and day not in _HOLIDAYS)

    @staticmethod
    def has_official_data(year: int) -> bool:
        return year in _OFFICIAL_YEARS

    def is_fallback_year(self, year: int) -> bool:
        """该年既无官方数据、也无办公室录入：只按周末计算。"""
        return year not in self.override_years and not self.has_official_data(year)

    def workdays_between(self, start: datetime.date, end: datetime.date) -> int:
        """(start, end] 之间的工作日数；end 早于 start 时为负数。"""
        if end == start:
            return 0
        sign = 1 if end > start else -1
        lo, hi = (start, end) if sign == 1 else (end, start)
        count = 0
        day = lo + ONE_DAY
        while day <= hi:
            count += self.is_workday(day)
            day += ONE_DAY
        return sign * count

    def add_workdays(self, start: datetime.date, n: int) -> datetime.date:
        """从 start 起第 n 个工作日（不含 start 当天）。n=0 时若 start 不是工作日，顺延到下一个工作日。"""
        day = start
        if n == 0:
            while not self.is_workday(day):
                day += ONE_DAY
            return day
        step = ONE_DAY if n > 0 else -ONE_DAY
        remaining = abs(n)
        while remaining:
            day += step
            if self.is_workday(day):
                remaining -= 1
        return day

    def next_workday_on_or_after(self, day: datetime.date) -> datetime.date:
        return self.add_workdays(day, 0)

    def workdays_left(self, today: datetime.date, due: datetime.date) -> int:
        """距截止日还剩几个工作日（截止日当天为 0）；已逾期为负数（逾期的工作日数）。"""
        return self.workdays_between(today, due)
