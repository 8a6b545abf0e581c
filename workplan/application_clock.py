"""依申请公开的计时（纯函数，不读库）：收到申请之日（《政府信息公开条例》第三十一条）与答复期限（第三十、三十二、
三十三条：20 个工作日、补正重新计时、征求意见不计、延期 20 个工作日）。
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from workplan.models.applications import ANSWER_WORKDAYS, EXTENSION_WORKDAYS, ReceiptChannel
from workplan.workdays import WorkdayCalendar

ONE_DAY = datetime.timedelta(days=1)

PENDING = "pending"
AWAITING_CORRECTION = "awaiting_correction"
CONSULTING = "consulting"
REPLIED = "replied"
STATUS_LABELS = {
    PENDING: "办理中",
    AWAITING_CORRECTION: "待补正",
    CONSULTING: "征求意见中",
    REPLIED: "已答复",
}


def cn_date(day: datetime.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# ---- 收到申请之日（pure） ----------------------------------------------------------------------------------


def receipt_date(
    channel: str, submitted_on: datetime.date, acknowledged_on: datetime.date | None
) -> datetime.date:
    """收到申请之日（条例第三十一条）：

    - 当面提交：提交之日；
    - 邮寄：行政机关签收之日（平常信函等无需签收的，为与申请人确认之日）——登记在“签收或确认日期”；
    - 网络平台、传真、电子邮件：双方确认之日——同样登记在“签收或确认日期”。
    除当面提交外，没有签收或确认日期时抛出 ValueError（不能按提交日期代替：答复期限会算早）。
    """
    if channel == ReceiptChannel.IN_PERSON:
        return submitted_on
    if acknowledged_on is None:
        what = "签收" if channel == ReceiptChannel.POST else "确认"
        raise ValueError(f"{ReceiptChannel(channel).label}的申请须填写{what}日期")
    if acknowledged_on < submitted_on:
        raise ValueError("签收或确认日期不能早于提交日期")
    return acknowledged_on


# ---- 答复期限（pure） --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockEvent:
    day: datetime.date
    text: str


@dataclass(frozen=True)
class Clock:
    """一件申请的答复期限。due_on 为空表示计时停止（待补正或征求意见中）。"""

    start_on: datetime.date
    limit: int
    due_on: datetime.date | None
    original_due_on: datetime.date | None
    paused_workdays: int
    status: str
    replied_on: datetime.date | None
    events: tuple[ClockEvent, ...] = field(default=())

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def is_overdue(self, today: datetime.date) -> bool:
        """逾期：已过答复期限仍未答复，或答复日期晚于期限。"""
        if self.due_on is None:
            return False
        if self.replied_on is not None:
            return self.replied_on > self.due_on
        return today > self.due_on


def _count_workdays(
    cal: WorkdayCalendar,
    start: datetime.date,
    n: int,
    pauses: Sequence[tuple[datetime.date, datetime.date]],
) -> tuple[datetime.date, int]:
    """start 之后的第 n 个计时工作日，以及途中因征求意见跳过的工作日数。"""
    day, left, skipped = start, n, 0
    while left:
        day += ONE_DAY
        if not cal.is_workday(day):
            continue
        if any(lo <= day <= hi for lo, hi in pauses):
            skipped += 1
        else:
            left -= 1
    return day, skipped


def answer_clock(
    *,
    cal: WorkdayCalendar,
    received_on: datetime.date,
    corrections: Iterable[tuple[datetime.date, datetime.date | None]] = (),
    consultations: Iterable[tuple[datetime.date, datetime.date | None]] = (),
    extended: bool = False,
    extension_on: datetime.date | None = None,
    replied_on: datetime.date | None = None,
) -> Clock:
    """答复期限，按工作日（含调休上班日，不含周末和法定节假日）计算：

    - 自收到申请之日的次日起第 20 个工作日为答复期限（第三十三条）；延期的再加 20 个工作日；
    - 告知补正后停止计时；自收到补正之日的次日起重新计算全部期限（第三十条）。多次补正以最后一次为准；
      尚未收到补正的，期限暂不确定；
    - 征求第三方或其他机关意见的，从发出之日到收到意见之日（两头都算）之间的工作日不计入期限
      （第三十二、三十三条）；尚未收到意见的，期限暂不确定；
    - 已答复的期限按答复时的情况计算，用来判断是否逾期答复。
    """
    events = [ClockEvent(received_on, f"收到申请，开始计算答复期限（{ANSWER_WORKDAYS}个工作日）")]
    start, status = received_on, PENDING
    for sent, returned in sorted(corrections, key=lambda c: c[0]):
        events.append(ClockEvent(sent, "告知补正，答复期限停止计算"))
        if returned is None:
            status = AWAITING_CORRECTION
        else:
            start = max(start, returned)
            status = PENDING
            events.append(ClockEvent(returned, f"收到补正，自次日起重新计算{ANSWER_WORKDAYS}个工作日"))
    pauses: list[tuple[datetime.date, datetime.date]] = []
    for begun, ended in sorted(consultations, key=lambda c: c[0]):
        events.append(ClockEvent(begun, "征求第三方（其他机关）意见，所需时间不计入期限"))
        if ended is None:
            status = CONSULTING if status == PENDING else status
        else:
            pauses.append((begun, ended))
            events.append(ClockEvent(ended, "收到意见，恢复计算"))
    limit = ANSWER_WORKDAYS + (EXTENSION_WORKDAYS if extended else 0)
    if extended:
        events.append(
            ClockEvent(extension_on or start, f"批准延期，答复期限延长{EXTENSION_WORKDAYS}个工作日")
        )
    due = original = None
    skipped = 0
    if status == PENDING:
        original, _ = _count_workdays(cal, start, ANSWER_WORKDAYS, pauses)
        due, skipped = _count_workdays(cal, start, limit, pauses)
    if replied_on is not None:
        status = REPLIED
        events.append(ClockEvent(replied_on, "答复（办结）"))
    events.sort(key=lambda e: e.day)
    return Clock(
        start_on=start,
        limit=limit,
        due_on=due,
        original_due_on=original,
        paused_workdays=skipped,
        status=status,
        replied_on=replied_on,
        events=tuple(events),
    )
