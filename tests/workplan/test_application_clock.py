"""依申请公开的计时（纯函数，不用数据库）：收到申请之日（第三十一条），答复期限按工作日（20 个、延期、
补正重新计时、征求意见暂停，跨 2023 年国庆长假）。
"""

from __future__ import annotations

import datetime as dt

import pytest

from workplan.application_clock import AWAITING_CORRECTION, CONSULTING, PENDING, answer_clock, receipt_date
from workplan.models import ReceiptChannel
from workplan.workdays import WorkdayCalendar

D = dt.date
CAL = WorkdayCalendar()  # chinesecalendar only: 2023 has official data


# ---- 收到申请之日（pure） ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "submitted", "acknowledged", "expected"),
    [
        (ReceiptChannel.IN_PERSON, D(2023, 9, 15), None, D(2023, 9, 15)),
        (ReceiptChannel.IN_PERSON, D(2023, 9, 15), D(2023, 9, 18), D(2023, 9, 15)),  # 当面：提交之日
        (ReceiptChannel.POST, D(2023, 9, 12), D(2023, 9, 15), D(2023, 9, 15)),  # 邮寄：签收之日
        (ReceiptChannel.ONLINE, D(2023, 9, 14), D(2023, 9, 15), D(2023, 9, 15)),  # 网络：确认之日
        (ReceiptChannel.FAX, D(2023, 9, 15), D(2023, 9, 15), D(2023, 9, 15)),
        (ReceiptChannel.EMAIL, D(2023, 9, 15), D(2023, 9, 18), D(2023, 9, 18)),
    ],
)
def test_the_receipt_date_follows_article_31(channel, submitted, acknowledged, expected):
    assert receipt_date(channel, submitted, acknowledged) == expected


@pytest.mark.parametrize("channel", [ReceiptChannel.POST, ReceiptChannel.ONLINE, ReceiptChannel.FAX])
def test_a_posted_or_online_application_needs_the_signing_or_confirmation_date(channel):
    with pytest.raises(ValueError, match="日期"):
        receipt_date(channel, D(2023, 9, 15), None)
    with pytest.raises(ValueError, match="不能早于提交日期"):
        receipt_date(channel, D(2023, 9, 15), D(2023, 9, 14))


# ---- 答复期限（pure; 2023: 9-29…10-6 holiday, 10-7 and 10-8 make-up working days） -----------------


def test_the_answer_is_due_on_the_20th_working_day_after_receipt():
    # 9-18…22 (5), 9-25…28 (9), 10-7, 10-8 (11), 10-9…13 (16), 10-16…19 (20).
    clock = answer_clock(cal=CAL, received_on=D(2023, 9, 15))
    assert clock.due_on == D(2023, 10, 19)
    assert (clock.limit, clock.status, clock.paused_workdays) == (20, PENDING, 0)


def test_an_extension_adds_20_working_days():
    # From 10-19: 10-20 (1), 10-23…27 (6), 10-30…11-3 (11), 11-6…10 (16), 11-13…16 (20).
    clock = answer_clock(cal=CAL, received_on=D(2023, 9, 15), extended=True, extension_on=D(2023, 10, 10))
    assert (clock.due_on, clock.original_due_on, clock.limit) == (D(2023, 11, 16), D(2023, 10, 19), 40)
    assert "批准延期，答复期限延长20个工作日" in [e.text for e in clock.events]


def test_a_returned_correction_restarts_the_full_20_days_from_the_return_date():
    # Counting starts again after 9-20: 9-21, 22 (2), 9-25…28 (6), 10-7, 8 (8), 10-9…13 (13), 10-16…20 (18),
    # 10-23, 24 (20). The 2 working days used before the correction are not kept.
    clock = answer_clock(cal=CAL, received_on=D(2023, 9, 1), corrections=[(D(2023, 9, 5), D(2023, 9, 20))])
    assert (clock.start_on, clock.due_on) == (D(2023, 9, 20), D(2023, 10, 24))
    assert [e.text for e in clock.events][1:3] == [
        "告知补正，答复期限停止计算",
        "收到补正，自次日起重新计算20个工作日",
    ]


def test_an_unreturned_correction_stops_the_clock():
    clock = answer_clock(cal=CAL, received_on=D(2023, 9, 1), corrections=[(D(2023, 9, 5), None)])
    assert (clock.due_on, clock.status, clock.status_label) == (None, AWAITING_CORRECTION, "待补正")
    assert not clock.is_overdue(D(2024, 1, 1))


def test_consultation_days_across_national_day_do_not_count():
    # Without the pause the answer is due 10-19. The consultation runs 9-26…10-9 (both ends excluded from the
    # count): working days 9-26, 27, 28, 10-7, 8, 9 = 6 (the holiday itself was never counted) → 10-27.
    clock = answer_clock(
        cal=CAL, received_on=D(2023, 9, 15), consultations=[(D(2023, 9, 26), D(2023, 10, 9))]
    )
    assert (clock.due_on, clock.paused_workdays) == (D(2023, 10, 27), 6)


def test_an_open_consultation_stops_the_clock():
    clock = answer_clock(cal=CAL, received_on=D(2023, 9, 15), consultations=[(D(2023, 9, 26), None)])
    assert (clock.due_on, clock.status) == (None, CONSULTING)


@pytest.mark.parametrize(
    ("replied", "today", "overdue"),
    [
        (D(2023, 10, 19), D(2023, 12, 1), False),  # on the due date
        (D(2023, 10, 20), D(2023, 12, 1), True),  # one day late
        (None, D(2023, 10, 19), False),
        (None, D(2023, 10, 20), True),
    ],
)
def test_overdue_means_replied_after_the_due_date_or_still_open_after_it(replied, today, overdue):
    clock = answer_clock(cal=CAL, received_on=D(2023, 9, 15), replied_on=replied)
    assert clock.is_overdue(today) is overdue
