"""任务总体状态推导与报送周期（纯函数）。"""

from __future__ import annotations

import datetime as dt

import pytest

from workplan.periods import quarter_end, quarter_of, report_deadline, report_expected
from workplan.status import SectionLatest, derive_task_status
from workplan.workdays import WorkdayCalendar

L1, L2, R1 = 1, 2, 3


def row(sid, status, review="accepted"):
    return SectionLatest(section_id=sid, is_lead=sid in (L1, L2), status=status, review_state=review)


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        ([], "not_started"),
        ([row(L1, "not_started")], "not_started"),
        ([row(R1, "in_progress", "submitted")], "in_progress"),
        ([row(L1, "done"), row(L2, "in_progress")], "in_progress"),
        ([row(L1, "done"), row(L2, "done")], "done"),
        ([row(L1, "done"), row(L2, "done", "submitted")], "in_progress"),
        ([row(L1, "done"), row(L2, "done", "returned")], "in_progress"),
        ([row(L1, "cannot_complete"), row(L2, "done")], "cannot_complete"),
        ([row(L1, "cannot_complete", "submitted")], "in_progress"),
        ([row(L1, "done"), row(L2, "done"), row(R1, "not_started")], "done"),
    ],
)
def test_task_status_is_derived_from_the_lead_sections(latest, expected):
    assert derive_task_status([L1, L2], latest) == expected


def test_task_without_lead_is_never_done():
    assert derive_task_status([], [row(R1, "done")]) == "in_progress"


def test_quarters():
    assert quarter_of(dt.date(2023, 3, 31)) == (2023, 1)
    assert quarter_of(dt.date(2023, 10, 1)) == (2023, 4)
    assert quarter_end(2024, 1) == dt.date(2024, 3, 31)
    assert quarter_end(2023, 4) == dt.date(2023, 12, 31)


@pytest.mark.parametrize(
    ("year", "quarter", "expected"),
    [
        (2023, 1, dt.date(2023, 4, 10)),  # 4/8 周六 → 4/10 周一
        (2023, 2, dt.date(2023, 7, 10)),  # 7/8 周六 → 7/10
        (2023, 3, dt.date(2023, 10, 8)),  # 10/8 周日，但为国庆调休上班日
        (2023, 4, dt.date(2024, 1, 8)),
        (2024, 3, dt.date(2024, 10, 8)),  # 国庆假期 10/1–10/7 之后
    ],
)
def test_report_deadline_is_the_8th_rolled_to_a_workday(year, quarter, expected):
    assert report_deadline(year, quarter, day=8, cal=WorkdayCalendar()) == expected


def test_reports_expected_every_quarter_for_recurring_and_until_done_for_one_off():
    common = {"plan_year": 2023, "year": 2023, "quarter": 3, "due_date": dt.date(2023, 6, 30)}
    assert report_expected(**common, recurrence="quarterly", done_before=True)
    assert report_expected(**common, recurrence="continuous", done_before=False)
    assert report_expected(**common, recurrence="", done_before=False)
    assert not report_expected(**common, recurrence="", done_before=True)
    assert not report_expected(**{**common, "year": 2024}, recurrence="quarterly", done_before=False)
