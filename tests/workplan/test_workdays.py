"""工作日历：调休、节假日、办公室覆盖、无数据年份的退回规则（纯函数，无数据库）。"""

from __future__ import annotations

import datetime as dt

import pytest

from workplan.workdays import WorkdayCalendar

CAL = WorkdayCalendar()


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2023, 10, 2), False),  # 国庆节
        (dt.date(2023, 10, 7), True),  # 国庆调休上班（周六）
        (dt.date(2023, 10, 8), True),  # 国庆调休上班（周日）
        (dt.date(2023, 10, 9), True),
        (dt.date(2023, 10, 14), False),  # 普通周六
        (dt.date(2024, 2, 4), True),  # 春节调休上班（周日）
        (dt.date(2024, 2, 12), False),  # 春节
        (dt.date(2026, 1, 1), False),  # 元旦
    ],
)
def test_official_calendar_knows_holidays_and_make_up_days(day, expected):
    assert CAL.is_workday(day) is expected


def test_workdays_between_skips_the_national_day_week():
    # 2023-09-28 (周四) → 2023-10-09 (周一)：9/29–10/6 放假，10/7、10/8 调休上班
    assert CAL.workdays_between(dt.date(2023, 9, 28), dt.date(2023, 10, 9)) == 3
    assert CAL.workdays_between(dt.date(2023, 10, 9), dt.date(2023, 9, 28)) == -3
    assert CAL.workdays_between(dt.date(2023, 10, 9), dt.date(2023, 10, 9)) == 0


def test_twenty_workdays_after_forming_information():
    # 条例第二十六条：形成或变更之日起20个工作日内公开。2023-09-20 起 20 个工作日跨国庆 → 10-24
    assert CAL.add_workdays(dt.date(2023, 9, 20), 20) == dt.date(2023, 10, 24)


def test_add_zero_workdays_rolls_forward_to_the_next_workday():
    assert CAL.add_workdays(dt.date(2023, 10, 1), 0) == dt.date(2023, 10, 7)
    assert CAL.add_workdays(dt.date(2023, 10, 9), 0) == dt.date(2023, 10, 9)


def test_workdays_left_is_negative_when_overdue():
    assert CAL.workdays_left(dt.date(2023, 7, 10), dt.date(2023, 7, 7)) == -1
    assert CAL.workdays_left(dt.date(2023, 7, 6), dt.date(2023, 7, 10)) == 2


def test_year_without_official_data_falls_back_to_weekends():
    assert CAL.is_fallback_year(2027)
    assert CAL.is_workday(dt.date(2027, 1, 1))  # 周五：无数据时按工作日算
    assert not CAL.is_workday(dt.date(2027, 1, 2))  # 周六


def test_office_overrides_win_and_cover_the_year():
    overrides = {dt.date(2027, 1, 1): False, dt.date(2027, 2, 7): True}
    cal = WorkdayCalendar(overrides=overrides, override_years=frozenset({2027}))
    assert not cal.is_fallback_year(2027)
    assert not cal.is_workday(dt.date(2027, 1, 1))
    assert cal.is_workday(dt.date(2027, 2, 7))  # 周日调休上班
    assert cal.is_workday(dt.date(2027, 1, 4))
    # an override can also correct a covered year
    cal = WorkdayCalendar(overrides={dt.date(2023, 10, 9): False})
    assert not cal.is_workday(dt.date(2023, 10, 9))


def test_every_day_of_the_official_years_matches_chinesecalendar():
    """日历直接读 chinesecalendar 的节假日与调休表：在它有数据的每一年，逐日与它的 is_workday 相同。"""
    import chinese_calendar

    cal = WorkdayCalendar()
    first, last = min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year
    day = dt.date(first, 1, 1)
    checked = 0
    while day.year <= last:
        assert cal.is_workday(day) is chinese_calendar.is_workday(day), day
        checked += 1
        day += dt.timedelta(days=1)
    assert checked > 365 * 10
    assert cal.is_workday(dt.datetime(2023, 10, 7, 9, 30)) is True  # 调休上班日，带时刻也按日期判断
    assert cal.has_official_data(last) and not cal.has_official_data(last + 1)
