"""工作日历（节假日与调休）的数据库部分：把办公室录入的节假日调整（HolidayOverride）装进纯的 WorkdayCalendar，
并给页面生成“某年节假日尚未录入，暂按周末计算”的提示。"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from workplan.models import HolidayOverride
from workplan.workdays import WorkdayCalendar


def load_calendar() -> WorkdayCalendar:
    """读取全部节假日调整（一次查询），构造工作日历。

    规则：
    - 每一条调整都按日期覆盖 chinesecalendar（上班或放假）；
    - 只有 chinesecalendar 没有数据的年份（如 2027 年）才算“办公室已录入该年”：该年以周一至周五为基础，
      再叠加录入的放假日与调休上班日，且不再提示“暂按周末计算”；
    - chinesecalendar 已覆盖的年份里录入的个别日期只是地方性调整，其余日期仍以官方数据为准。
    """
    overrides = dict(HolidayOverride.objects.values_list("date", "is_workday"))
    years = {day.year for day in overrides}
    override_years = frozenset(y for y in years if not WorkdayCalendar.has_official_data(y))
    return WorkdayCalendar(overrides=overrides, override_years=override_years)


def fallback_warning(cal: WorkdayCalendar, year: int) -> str | None:
    """该年既无官方数据也无办公室录入时的提示文字，否则 None。"""
    if cal.is_fallback_year(year):
        return f"{year}年节假日尚未录入，暂按周末计算"
    return None


def calendar_warnings(cal: WorkdayCalendar, years: Iterable[int | datetime.date]) -> list[str]:
    """页面用：给出这些年份（或日期所在年份）中按周末计算的年份提示，去重、按年份排序。"""
    wanted = sorted({y.year if isinstance(y, datetime.date) else y for y in years})
    return [w for y in wanted if (w := fallback_warning(cal, y))]
