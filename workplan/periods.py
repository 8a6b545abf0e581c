"""报送周期：季度的起止、内部季度报送截止日（次月第 N 日，遇节假日顺延），以及任务在某季度是否应报送。"""

from __future__ import annotations

import calendar
import datetime

from workplan.workdays import WorkdayCalendar


def quarter_of(day: datetime.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_start(year: int, quarter: int) -> datetime.date:
    return datetime.date(year, 3 * quarter - 2, 1)


def quarter_end(year: int, quarter: int) -> datetime.date:
    month = 3 * quarter
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year, quarter - 1) if quarter > 1 else (year - 1, 4)


def report_deadline(year: int, quarter: int, *, day: int, cal: WorkdayCalendar) -> datetime.date:
    """季度报送截止日：季度结束后次月的第 day 日；该日不是工作日时顺延到下一个工作日。

    例：第三季度、day=8 → 10 月 8 日；2023 年 10 月 8 日是调休上班日，截止日即 10 月 8 日。
    """
    year_after, month_after = (year + 1, 1) if quarter == 4 else (year, 3 * quarter + 1)
    last = calendar.monthrange(year_after, month_after)[1]
    return cal.next_workday_on_or_after(datetime.date(year_after, month_after, min(day, last)))


def report_expected(
    *,
    plan_year: int,
    year: int,
    quarter: int,
    recurrence: str,
    due_date: datetime.date | None,
    done_before: bool,
) -> bool:
    """某任务在 (year, quarter) 是否应报送进展：

    - 只在计划年度内的四个季度报送；
    - 周期性（每月、每季度、每半年、每年）与持续推进的任务：每季度都要报送；
    - 一次性任务：在完成（已完成且通过审核）之前每季度报送；截止日所在季度之后仍未完成的继续报送；
      已完成的一次性任务不再要求报送（done_before=True）。
    """
    if year != plan_year or not 1 <= quarter <= 4:
        return False
    if recurrence:
        return True
    return not done_before
