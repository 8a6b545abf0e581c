"""依申请公开登记簿的读取：带上答复期限的登记簿、考核用的逾期答复与复议诉讼纠正清单、每日提醒中的
答复期限提醒。查询次数固定，与申请件数无关。
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import Prefetch, QuerySet
from django.urls import reverse

from workplan.application_clock import ONE_DAY, Clock, answer_clock, cn_date
from workplan.models import (
    AppealResult,
    Application,
    ApplicationAppeal,
    ApplicationConsultation,
    ApplicationCorrection,
    Notification,
    Role,
    User,
)
from workplan.workdays import WorkdayCalendar

KIND_DUE_SOON = "application_due_soon"
KIND_OVERDUE = "application_overdue"
REMINDER_KINDS = (KIND_DUE_SOON, KIND_OVERDUE)


# ---- reading ---------------------------------------------------------------------------------------------


def with_clock_data(qs: QuerySet[Application]) -> QuerySet[Application]:
    """带上计算期限所需的补正与征求意见（两次查询，与申请件数无关）。"""
    return qs.select_related("section").prefetch_related(
        Prefetch("corrections", queryset=ApplicationCorrection.objects.order_by("sent_on", "pk")),
        Prefetch("consultations", queryset=ApplicationConsultation.objects.order_by("started_on", "pk")),
    )


def clock_of(application: Application, cal: WorkdayCalendar) -> Clock:
    """申请的答复期限（补正、征求意见取自预取的数据，见 with_clock_data）。"""
    return answer_clock(
        cal=cal,
        received_on=application.received_on,
        corrections=[(c.sent_on, c.returned_on) for c in application.corrections.all()],
        consultations=[(c.started_on, c.ended_on) for c in application.consultations.all()],
        extended=application.extended,
        extension_on=application.extension_approved_on,
        replied_on=application.replied_on,
    )


@dataclass(frozen=True)
class Row:
    """登记簿的一行：申请及其答复期限。"""

    application: Application
    clock: Clock
    overdue: bool


def register_rows(
    qs: QuerySet[Application],
    *,
    cal: WorkdayCalendar,
    today: datetime.date,
    status: str = "",
    overdue: bool | None = None,
) -> list[Row]:
    """登记簿（已按年度、股室、结果在库中筛选）再按状态、是否逾期筛选。查询次数固定（3 次）。"""
    rows = []
    for application in with_clock_data(qs):
        clock = clock_of(application, cal)
        late = clock.is_overdue(today)
        if status and clock.status != status:
            continue
        if overdue is not None and late != overdue:
            continue
        rows.append(Row(application, clock, late))
    return rows


class OverdueReply(NamedTuple):
    application_id: int
    section_id: int
    code: str
    due_on: datetime.date
    replied_on: datetime.date | None


def overdue_in_window(
    *, start: datetime.date, end: datetime.date, today: datetime.date, cal: WorkdayCalendar
) -> list[OverdueReply]:
    """逾期答复（考核 applications_overdue）：逾期开始之日（答复期限次日）在 [start, end] 内
    且不晚于今天的申请，即答复日期晚于期限的，或到今天仍未答复的。每件只在一个期间计一次。查询次数固定。"""
    candidates = Application.objects.filter(received_on__lte=end).exclude(replied_on__lt=start)
    rows = []
    for application in with_clock_data(candidates.order_by("received_on", "pk")):
        clock = clock_of(application, cal)
        if clock.due_on is None:
            continue
        late_on = clock.due_on + ONE_DAY
        if start <= late_on <= end and late_on <= today and clock.is_overdue(today):
            rows.append(
                OverdueReply(
                    application.pk,
                    application.section_id,
                    application.code,
                    clock.due_on,
                    application.replied_on,
                )
            )
    return rows


class CorrectedAppeal(NamedTuple):
    application_id: int
    section_id: int
    code: str
    kind: str
    decided_on: datetime.date


def corrected_in_window(*, start: datetime.date, end: datetime.date) -> list[CorrectedAppeal]:
    """行政复议、行政诉讼结果纠正（考核 applications_corrected）：决定（判决）日期在 [start, end] 内的，
    每件一次。"""
    rows = (
        ApplicationAppeal.objects.filter(result=AppealResult.CORRECTED, decided_on__range=(start, end))
        .order_by("decided_on", "pk")
        .values_list("application_id", "application__section_id", "application__code", "kind", "decided_on")
    )
    return [CorrectedAppeal(*row) for row in rows]


# ---- reminders -------------------------------------------------------------------------------------------


def application_reminders(
    *,
    today: datetime.date,
    cal: WorkdayCalendar,
    window: int,
    recipients: Mapping[int, Sequence[User]],
) -> tuple[list[Notification], int, int]:
    """依申请公开答复期限提醒（由每日提醒调用）：尚未答复且期限已确定的申请，

    - 距期限还剩 0..window 个工作日：即将到期，每人每个期限一次（去重键含期限，延期后会再提醒）；
    - 已过期限：逾期，每人每天一次。
    通知承办股室人员（只读除外）与办公室人员；通知只写登记编号与期限，不写申请人和申请内容。
    返回 (通知, 即将到期件数, 逾期件数)。查询次数固定：申请 1 次；有未答复的申请时另加补正、征求意见，
    需要提醒时另加办公室人员。
    """
    office: list[User] | None = None  # read only when some application needs a reminder
    notes: list[Notification] = []
    due_soon = overdue = 0
    for application in with_clock_data(Application.objects.open().order_by("received_on", "pk")):
        due = clock_of(application, cal).due_on
        if due is None:
            continue
        left = cal.workdays_between(today, due)
        label = f"依申请公开{application.code}（承办：{application.section.name}）"
        if left < 0:
            overdue += 1
            kind, key = KIND_OVERDUE, f"app_overdue:{application.pk}:{{user}}:{today.isoformat()}"
            message = f"{label}已超过答复期限{-left}个工作日（期限{cn_date(due)}），请尽快答复。"
        elif left <= window:
            due_soon += 1
            kind, key = KIND_DUE_SOON, f"app_due_soon:{application.pk}:{{user}}:{due.isoformat()}"
            when = "今天到期" if left == 0 else f"还剩{left}个工作日"
            message = f"{label}答复期限为{cn_date(due)}，{when}。"
        else:
            continue
        if office is None:
            office = list(User.objects.filter(role=Role.OFFICE, is_active=True).order_by("pk"))
        users = {u.pk: u for u in [*recipients.get(application.section_id, ()), *office]}
        link = reverse("application_detail", args=[application.pk])
        notes.extend(
            Notification(user=u, kind=kind, message=message, link=link, dedupe_key=key.format(user=u.pk))
            for u in users.values()
        )
    return notes, due_soon, overdue
