"""提醒：任务到期提醒、逾期提醒、季度进展报送提醒，以及办公室的缺报清单
（按工作日计算，见 workplan/workdays.py）。

每次运行都记一行 JobRun（任务名 + 批次：日期或“2023Q3”）。同一批次只执行一次：django-q2 重复投递时，
第二次直接返回第一次的结果，不会重复发通知、发邮件。
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import timezone

from workplan.application_register import REMINDER_KINDS as APPLICATION_KINDS
from workplan.application_register import application_reminders
from workplan.calendar_db import calendar_warnings, load_calendar
from workplan.models import (
    AssignmentRole,
    JobRun,
    Notification,
    OfficeSettings,
    ProgressReport,
    Role,
    Task,
    TaskAssignment,
    User,
)
from workplan.outstanding import (
    CLOSED_STATUSES,
    STATE_LABELS,
    STATE_NOT_SUBMITTED,
    outstanding,
    report_states,
    section_roles,
)
from workplan.periods import previous_quarter, quarter_of, report_deadline
from workplan.workdays import WorkdayCalendar

JOB_DAILY = "reminders_daily"
JOB_MISSING = "missing_reports"

KIND_DUE_SOON = "due_soon"
KIND_OVERDUE = "overdue"
KIND_REPORT_DUE = "report_due"
KIND_MISSING = "missing_reports"
DAILY_KINDS = (KIND_DUE_SOON, KIND_OVERDUE, KIND_REPORT_DUE)
# 其他应用登记的每日提醒（register_daily_hook）的通知类型；依申请公开的见 APPLICATION_KINDS。
HOOK_KINDS: list[str] = []
KIND_LABELS = {
    KIND_DUE_SOON: "即将到期",
    KIND_OVERDUE: "已逾期",
    KIND_REPORT_DUE: "季度报送",
    KIND_MISSING: "缺报清单",
    APPLICATION_KINDS[0]: "申请即将到期",
    APPLICATION_KINDS[1]: "申请逾期未答复",
}


# Overdue reminders stop for due dates older than this many calendar years before this year's 1 January:
# a forgotten task in a plan from years ago should not nag every day forever.
OVERDUE_LOOKBACK_YEARS = 1
CONSOLE_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"


def cn_date(day: datetime.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# ----------------------------------------------------------------------------------------------------
# Job runs


def _stale_after() -> datetime.timedelta:
    # A worker killed at the django-q2 timeout leaves its row "running"; after that long it may be reclaimed.
    timeout = settings.Q_CLUSTER.get("timeout") or 3600
    return datetime.timedelta(seconds=int(timeout))


def _job_claim(job: str, key: str) -> tuple[JobRun, bool]:
    """取得 (job, key) 批次的执行权；返回 (运行记录, 是否由本次执行)。

    - 没有记录：新建“运行中”记录（唯一约束保证并发时只有一个成功，另一个得到 IntegrityError）；
    - 已成功，或正在运行：不执行，返回原记录；
    - 上次失败（或“运行中”已超过 django-q2 的 timeout，说明进程已被杀）：本次重试，把那一行原地改回“运行中”
      （带上原 started_at 作条件，两个重试并发时只有一个改成功），attempt 加 1，并沿用第一次的 since，
      使重试能补发失败那次已建好但未发出的邮件。
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            run = JobRun.objects.create(job=job, key=key, detail={"attempt": 1, "since": now.isoformat()})
        return run, True
    except IntegrityError:
        pass
    run = JobRun.objects.get(job=job, key=key)
    reclaimable = Q(outcome=JobRun.Outcome.FAILURE) | Q(
        outcome=JobRun.Outcome.RUNNING, started_at__lt=now - _stale_after()
    )
    previous = run.detail if isinstance(run.detail, dict) else {}
    detail = {
        "attempt": int(previous.get("attempt", 1)) + 1,
        "since": previous.get("since") or run.started_at.isoformat(),
        "previous_error": previous.get("error", ""),
    }
    claimed = JobRun.objects.filter(reclaimable, pk=run.pk, started_at=run.started_at).update(
        outcome=JobRun.Outcome.RUNNING, started_at=now, finished_at=None, detail=detail
    )
    if claimed:
        run.refresh_from_db()
        return run, True
    return run, False


def _job_run_once(
    job: str, key: str, body: Callable[[JobRun, datetime.datetime], dict[str, Any]]
) -> dict[str, Any]:
    """执行一个批次：已执行过的返回上次的结果；body 抛出异常时把记录标为失败并继续抛出
    （交给 django-q2 重试）。"""
    run, claimed = _job_claim(job, key)
    if not claimed:
        if run.outcome == JobRun.Outcome.RUNNING:
            return {"running": True}
        return dict(run.detail)
    attempt = int(run.detail.get("attempt", 1))
    since = datetime.datetime.fromisoformat(run.detail["since"])
    try:
        result = body(run, since)
    except Exception as exc:
        run.outcome = JobRun.Outcome.FAILURE
        run.finished_at = timezone.now()
        run.detail = {**run.detail, "error": f"{type(exc).__name__}: {exc}"[:500]}
        run.save(update_fields=["outcome", "finished_at", "detail"])
        raise
    result = {**result, "attempt": attempt} if attempt > 1 else result
    run.outcome = JobRun.Outcome.SUCCESS
    run.finished_at = timezone.now()
    run.detail = result
    run.save(update_fields=["outcome", "finished_at", "detail"])
    return dict(result)


# ----------------------------------------------------------------------------------------------------
# Delivery


def email_enabled() -> bool:
    """是否发送邮件：配置了邮件服务器（EMAIL_HOST），或邮件后端不是缺省的控制台输出。"""
    host = getattr(settings, "EMAIL_HOST", "")
    return settings.EMAIL_BACKEND != CONSOLE_EMAIL_BACKEND or host not in ("", "localhost")


def _notify(pending: dict[str, Notification], notifications: Iterable[Notification]) -> None:
    for n in notifications:
        pending.setdefault(n.dedupe_key, n)


def _deliver_new(*, kinds: Iterable[str], since: datetime.datetime, subject: str) -> tuple[int, int]:
    """给本批次新建的通知（该批次开始后创建、尚未发邮件）发邮件：每人一封，列出其全部条目；标记 emailed_at。

    返回 (新通知数, 邮件数)。没有邮箱的用户只收站内通知。
    """
    new = list(
        Notification.objects.filter(kind__in=list(kinds), created_at__gte=since, emailed_at__isnull=True)
        .select_related("user")
        .order_by("user_id", "id")
    )
    if not new or not email_enabled():
        return len(new), 0
    by_user: dict[int, list[Notification]] = defaultdict(list)
    for n in new:
        if n.user.email and n.user.is_active:
            by_user[n.user_id].append(n)
    messages = []
    for items in by_user.values():
        lines = [f"{i}. {n.message}" for i, n in enumerate(items, 1)]
        body = "您好：\n\n政务公开任务系统有以下提醒：\n\n" + "\n".join(lines) + "\n\n请登录系统查看详情。\n"
        messages.append(EmailMessage(subject=subject, body=body, to=[items[0].user.email]))
    if not messages:
        return len(new), 0
    sent = get_connection(fail_silently=False).send_messages(messages) or 0
    Notification.objects.filter(
        kind__in=list(kinds), created_at__gte=since, emailed_at__isnull=True, user_id__in=list(by_user)
    ).update(emailed_at=timezone.now())
    return len(new), sent


def _recipients_by_section() -> dict[int, list[User]]:
    """各股室应收提醒的用户：在职、属于该股室、角色不是只读。"""
    users = (
        User.objects.filter(is_active=True, section__isnull=False).exclude(role=Role.READONLY).order_by("pk")
    )
    result: dict[int, list[User]] = defaultdict(list)
    for user in users:
        result[user.section_id].append(user)  # type: ignore[index]
    return result


# ----------------------------------------------------------------------------------------------------
# Outstanding quarterly reports


@dataclass(frozen=True)
class MissingReport:
    """缺报清单的一行：某股室对某任务某季度应报送而未报送（或被退回后未重报）。"""

    task_id: int
    task_code: str
    number_path: str
    task_title: str
    section_id: int
    section_name: str
    role: str
    deadline: datetime.date
    workdays_overdue: int
    state: str

    @property
    def role_label(self) -> str:
        return AssignmentRole(self.role).label

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class _Outstanding:
    task_id: int
    task_code: str
    number_path: str
    task_title: str
    section_id: int
    section_name: str
    section_order: int
    role: str
    state: str


def _outstanding_reports(*, year: int, quarter: int) -> list[_Outstanding]:
    """(year, quarter) 应报送而没有有效报送的 (任务, 股室)，规则见 workplan.outstanding；固定 3 次查询，
    只取需要的列（大计划有上万条报送，不建模型实例）。按任务顺序，同一任务牵头在前、再按股室顺序。"""
    tasks = {
        pk: row
        for pk, *row in Task.objects.actionable()
        .filter(plan__year=year)
        .order_by("plan_id", "position", "pk")
        .values_list("pk", "status", "recurrence", "code", "number_path", "title")
    }
    assignments = list(
        TaskAssignment.objects.filter(task__plan__year=year, task__is_heading=False)
        .order_by("pk")
        .values_list("task_id", "section_id", "role", "section__name", "section__sort_order")
    )
    sections = {section_id: (name, order) for _, section_id, _, name, order in assignments}
    reports = ProgressReport.objects.filter(task__plan__year=year, year=year).values_list(
        "task_id", "section_id", "quarter", "role", "status", "review_state"
    )
    current, closed_in = report_states(reports, quarter)
    found = outstanding(
        ((pk, status, recurrence) for pk, (status, recurrence, *_) in tasks.items()),
        section_roles(a[:3] for a in assignments),
        current,
        closed_in,
        plan_year=year,
        year=year,
        quarter=quarter,
    )
    rows = [
        _Outstanding(task_id, *tasks[task_id][2:], section_id, *sections[section_id], role, state)
        for task_id, section_id, role, state in found
    ]
    order = {task_id: i for i, task_id in enumerate(tasks)}
    rows.sort(key=lambda r: (order[r.task_id], r.role != AssignmentRole.LEAD, r.section_order))
    return rows


def upcoming_report_quarter(
    *, today: datetime.date, cal: WorkdayCalendar, report_day: int
) -> tuple[int, int, datetime.date]:
    """下一个报送截止日对应的季度：上季度的截止日还没过就是上季度，否则是本季度。返回 (年, 季度, 截止日)。"""
    prev = previous_quarter(*quarter_of(today))
    deadline = report_deadline(*prev, day=report_day, cal=cal)
    if today <= deadline:
        return prev[0], prev[1], deadline
    year, quarter = quarter_of(today)
    return year, quarter, report_deadline(year, quarter, day=report_day, cal=cal)


def missing_reports_quarter_due(*, today: datetime.date) -> tuple[int, int] | None:
    """今天是否该生成上季度的缺报清单：上季度报送截止日已过（正常为截止日的次日；若那天没运行，则是其后
    第一次运行）就返回上季度 (年, 季度)，否则 None。同一季度只通知一次由 JobRun 保证。"""
    cal = load_calendar()
    prev = previous_quarter(*quarter_of(today))
    deadline = report_deadline(*prev, day=OfficeSettings.current().report_day, cal=cal)
    return prev if today > deadline else None


def missing_reports(
    *,
    year: int,
    quarter: int,
    today: datetime.date,
    cal: WorkdayCalendar | None = None,
    report_day: int | None = None,
) -> list[MissingReport]:
    """办公室的缺报清单：(year, quarter) 应报送而未报送、或被退回后未重报的每个 (任务, 股室)。

    截止日为季度结束后次月的第 report_day 日（遇节假日顺延）；逾期工作日数为截止日之后到 today 的工作日数
    （截止日未到为 0）。按任务顺序、股室排序。
    """
    cal = cal or load_calendar()
    report_day = report_day or OfficeSettings.current().report_day
    deadline = report_deadline(year, quarter, day=report_day, cal=cal)
    overdue = max(0, cal.workdays_between(deadline, today))
    rows = _outstanding_reports(year=year, quarter=quarter)
    return [
        MissingReport(
            task_id=r.task_id,
            task_code=r.task_code,
            number_path=r.number_path,
            task_title=r.task_title,
            section_id=r.section_id,
            section_name=r.section_name,
            role=r.role,
            deadline=deadline,
            workdays_overdue=overdue,
            state=r.state,
        )
        for r in rows
    ]


def missing_reports_notify(*, year: int, quarter: int, today: datetime.date | None = None) -> dict[str, Any]:
    """通知办公室人员上季度的缺报情况：每季度每人一条（去重键 missing:{年}Q{季度}:{用户}），有邮箱的发邮件。

    清单为空时不通知。批次 key 为“{年}Q{季度}”：重复运行直接返回第一次的结果。
    """
    today = today or timezone.localdate()

    def body(run: JobRun, since: datetime.datetime) -> dict[str, Any]:
        rows = missing_reports(year=year, quarter=quarter, today=today)
        not_submitted = sum(r.state == STATE_NOT_SUBMITTED for r in rows)
        returned = len(rows) - not_submitted
        if rows:
            deadline = rows[0].deadline
            link = f"{reverse('missing_reports')}?year={year}&quarter={quarter}"
            message = (
                f"{year}年第{quarter}季度进展报送已于{cn_date(deadline)}截止，缺报{len(rows)}项"
                f"（未报送{not_submitted}项，被退回未重报{returned}项），请查看缺报清单。"
            )
            office = User.objects.filter(role=Role.OFFICE, is_active=True).order_by("pk")
            with transaction.atomic():
                Notification.objects.bulk_create(
                    [
                        Notification(
                            user=u,
                            kind=KIND_MISSING,
                            message=message,
                            link=link,
                            dedupe_key=f"missing:{year}Q{quarter}:{u.pk}",
                        )
                        for u in office
                    ],
                    ignore_conflicts=True,
                )
        created, emails = _deliver_new(
            kinds=[KIND_MISSING], since=since, subject=f"【政务公开】{year}年第{quarter}季度缺报清单"
        )
        return {
            "year": year,
            "quarter": quarter,
            "missing": len(rows),
            "not_submitted": not_submitted,
            "returned": returned,
            "created": created,
            "emails": emails,
        }

    return _job_run_once(JOB_MISSING, f"{year}Q{quarter}", body)


# ----------------------------------------------------------------------------------------------------
# Daily reminders

# Other apps add their own daily reminders here (scoring registers the annual-report deadline in its
# AppConfig.ready): workplan never imports scoring. A hook takes (today=, cal=) and returns notifications
# with dedupe keys; it runs inside the daily batch, on working days only.
DailyHook = Callable[..., Iterable[Notification]]
DAILY_HOOKS: list[DailyHook] = []


def register_daily_hook(hook: DailyHook, *, kinds: dict[str, str]) -> None:
    """登记一个每日提醒（重复登记只算一次）；kinds 是它产生的通知类型 → 中文名（发邮件、通知页用）。"""
    if hook not in DAILY_HOOKS:
        DAILY_HOOKS.append(hook)
    HOOK_KINDS.extend(k for k in kinds if k not in HOOK_KINDS)
    KIND_LABELS.update(kinds)


def _task_notifications(
    *,
    today: datetime.date,
    cal: WorkdayCalendar,
    window: int,
    recipients: dict[int, list[User]],
    pending: dict[str, Notification],
) -> tuple[int, int]:
    """任务截止日的提醒；返回 (即将到期任务数, 逾期任务数)。固定 2 次查询（任务、分工）。

    截止日逢节假日顺延到下一个工作日（有效截止日）。距有效截止日还剩 0..window 个工作日：即将到期，
    每人每个截止日只提醒一次；已过有效截止日：逾期，每人每天一次。
    """
    horizon = cal.add_workdays(today, window + 1)
    tasks = (
        Task.objects.actionable()
        .filter(
            due_date__isnull=False,
            due_date__lt=horizon,
            due_date__gte=datetime.date(today.year - OVERDUE_LOOKBACK_YEARS, 1, 1),
        )
        .exclude(status__in=CLOSED_STATUSES)
        .only("pk", "title", "number_path", "due_date", "status")
        .prefetch_related(
            Prefetch("assignments", queryset=TaskAssignment.objects.only("task_id", "section_id"))
        )
        .order_by("due_date", "pk")
    )
    due_soon = overdue = 0
    for task in tasks:
        due: datetime.date = task.due_date  # type: ignore[assignment]  # filtered on due_date__isnull=False
        effective = cal.next_workday_on_or_after(due)
        left = cal.workdays_between(today, effective)
        link = reverse("task_detail", args=[task.pk])
        if left < 0:
            overdue += 1
            kind, message = (
                KIND_OVERDUE,
                (
                    f"任务「{task.title}」已逾期{-left}个工作日（截止日期{cn_date(due)}），请尽快办理并报送进展。"
                ),
            )
            key = "overdue:{task}:{user}:" + today.isoformat()
        elif left <= window:
            due_soon += 1
            when = "今天到期" if left == 0 else f"还剩{left}个工作日"
            postponed = f"，逢节假日顺延至{cn_date(effective)}" if effective != due else ""
            kind, message = (
                KIND_DUE_SOON,
                f"任务「{task.title}」截止日期为{cn_date(due)}{postponed}，{when}。",
            )
            key = "due_soon:{task}:{user}:" + due.isoformat()
        else:
            continue
        section_ids = {a.section_id for a in task.assignments.all()}
        _notify(
            pending,
            (
                Notification(
                    user=u,
                    kind=kind,
                    message=message,
                    link=link,
                    dedupe_key=key.format(task=task.pk, user=u.pk),
                )
                for sid in sorted(section_ids)
                for u in recipients.get(sid, ())
            ),
        )
    return due_soon, overdue


def _report_notifications(
    *,
    today: datetime.date,
    cal: WorkdayCalendar,
    window: int,
    report_day: int,
    recipients: dict[int, list[User]],
    pending: dict[str, Notification],
) -> int:
    """季度报送截止日前 window 个工作日内（含截止日当天），提醒尚未报送（或被退回未重报）的股室人员：
    每人每季度一条，列出本股室待报送的任务数。返回涉及的股室数。截止日不在窗口内时不查询。"""
    year, quarter, deadline = upcoming_report_quarter(today=today, cal=cal, report_day=report_day)
    left = cal.workdays_between(today, deadline)
    if not 0 <= left <= window:
        return 0
    per_section: dict[int, int] = defaultdict(int)
    for row in _outstanding_reports(year=year, quarter=quarter):
        per_section[row.section_id] += 1
    when = "今天截止" if left == 0 else f"还剩{left}个工作日"
    for section_id, count in per_section.items():
        message = (
            f"{year}年第{quarter}季度进展报送截止日为{cn_date(deadline)}（{when}），"
            f"本股室尚有{count}项任务未报送或被退回待重报。"
        )
        _notify(
            pending,
            (
                Notification(
                    user=u,
                    kind=KIND_REPORT_DUE,
                    message=message,
                    link=reverse("task_list"),
                    dedupe_key=f"report_due:{year}Q{quarter}:{u.pk}",
                )
                for u in recipients.get(section_id, ())
            ),
        )
    return len(per_section)


def reminders_send_daily(*, today: datetime.date) -> dict[str, Any]:
    """每日提醒（只在工作日发送；非工作日记一行“跳过”的运行记录）：

    1. 任务到期：未完成（不是“已完成/无法完成”）且有截止日期的任务，距截止日还剩不超过
       OfficeSettings.due_soon_workdays 个工作日时，提醒其牵头、责任股室的每位人员（只读用户除外）一次；
    2. 任务逾期：已过截止日（逾期工作日数 > 0）的，每人每天提醒一次；
    3. 季度报送：本期报送截止日前同样的工作日数内，提醒尚未报送的股室人员，每人每季度一次；
    4. 依申请公开答复期限：见 workplan.application_register.application_reminders（承办股室与办公室）；
    5. 其他应用登记的每日提醒（register_daily_hook，如年度报告公布期限）。

    通知以 dedupe_key 去重（bulk_create ignore_conflicts），重复运行不会重复通知；只给本次新建的通知发邮件，
    每人一封。查询次数与任务数无关。批次 key 为当天日期。
    """

    def body(run: JobRun, since: datetime.datetime) -> dict[str, Any]:
        cal = load_calendar()
        result: dict[str, Any] = {
            "date": today.isoformat(),
            "workday": cal.is_workday(today),
            "warnings": calendar_warnings(cal, [today.year]),
        }
        if not result["workday"]:
            return {**result, "due_soon": 0, "overdue": 0, "report_sections": 0, "created": 0, "emails": 0}
        office = OfficeSettings.current()
        window = office.due_soon_workdays
        pending: dict[str, Notification] = {}
        with transaction.atomic():
            recipients = _recipients_by_section()
            due_soon, overdue = _task_notifications(
                today=today, cal=cal, window=window, recipients=recipients, pending=pending
            )
            report_sections = _report_notifications(
                today=today,
                cal=cal,
                window=window,
                report_day=office.report_day,
                recipients=recipients,
                pending=pending,
            )
            app_notes, app_due_soon, app_overdue = application_reminders(
                today=today, cal=cal, window=window, recipients=recipients
            )
            _notify(pending, app_notes)
            for hook in DAILY_HOOKS:
                _notify(pending, hook(today=today, cal=cal))
            Notification.objects.bulk_create(list(pending.values()), ignore_conflicts=True)
        created, emails = _deliver_new(
            kinds=(*DAILY_KINDS, *APPLICATION_KINDS, *HOOK_KINDS),
            since=since,
            subject=f"【政务公开】任务提醒（{cn_date(today)}）",
        )
        return {
            **result,
            "due_soon": due_soon,
            "overdue": overdue,
            "report_sections": report_sections,
            "applications_due_soon": app_due_soon,
            "applications_overdue": app_overdue,
            "created": created,
            "emails": emails,
        }

    return _job_run_once(JOB_DAILY, today.isoformat(), body)
