"""通报触发条件：按办公室设置，对某季度自动起草通报批评（草稿，由办公室修改后印发）。

四个条件（OfficeSettings，设为 0 即不启用）：任务逾期超过 N 个工作日；股室季度考核得分低于阈值；
同一份进展报送被退回 ≥ N 次；连续 N 个季度得分低于阈值。每个条件每季度只起草一次（dedupe_key），
重复运行不会重复起草；办公室作废的草稿也不会再起草。
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from scoring.engine import fmt
from scoring.models import UnitScore
from workplan.access import can_manage_plans
from workplan.calendar_db import load_calendar
from workplan.models import (
    AssignmentRole,
    CriticismNotice,
    OfficeSettings,
    ProgressReport,
    Section,
    Task,
    TaskAssignment,
    User,
    WorkPlan,
)
from workplan.notices import NoticeDuplicate, UnitEntry, notice_draft_create
from workplan.periods import previous_quarter, quarter_end
from workplan.workdays import WorkdayCalendar

OVERDUE = "overdue"
SCORE_BELOW = "score_below"
RETURNED = "returned"
LOW_QUARTERS = "low_quarters"
TRIGGER_LABELS = {
    OVERDUE: "任务逾期",
    SCORE_BELOW: "季度得分低于阈值",
    RETURNED: "报送多次退回",
    LOW_QUARTERS: "连续低分",
}
# 通报标题与开头中的“事项”。
SUBJECTS = {
    OVERDUE: "政务公开重点任务逾期未完成",
    SCORE_BELOW: "政务公开工作考核得分偏低",
    RETURNED: "政务公开工作进展报送多次退回",
    LOW_QUARTERS: "政务公开工作考核连续低分",
}
# 草稿中的整改期限：起草之日起第 10 个工作日（办公室可在草稿中修改）。
RECTIFY_WORKDAYS = 10
CN_QUARTERS = {1: "一", 2: "二", 3: "三", 4: "四"}

CREATED = "created"
EXISTS = "exists"
NOTHING = "nothing"
DISABLED = "disabled"
OUTCOME_LABELS = {
    CREATED: "已起草",
    EXISTS: "本季度已起草过",
    NOTHING: "没有符合条件的股室",
    DISABLED: "未启用",
}


@dataclass
class Finding:
    """一个股室触发了某条件：问题（逐条文字）与依据（写入 trigger_detail）。"""

    section: Section
    problems: list[str] = field(default_factory=list)
    facts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TriggerOutcome:
    kind: str
    status: str
    notice: CriticismNotice | None = None
    units: int = 0

    @property
    def label(self) -> str:
        return TRIGGER_LABELS[self.kind]

    @property
    def status_label(self) -> str:
        return OUTCOME_LABELS[self.status]


def dedupe_key(kind: str, year: int, quarter: int) -> str:
    return f"trigger:{kind}:{year}-Q{quarter}"


def period_label(year: int, quarter: int) -> str:
    return f"{year}年第{CN_QUARTERS[quarter]}季度"


def cn_date(day: datetime.date) -> str:
    """公文日期：阿拉伯数字，如 2023年10月20日。"""
    return f"{day.year}年{day.month}月{day.day}日"


def _finding(findings: dict[int, Finding], section: Section) -> Finding:
    if section.pk not in findings:
        findings[section.pk] = Finding(section)
    return findings[section.pk]


def _ordered(findings: dict[int, Finding]) -> list[Finding]:
    return sorted(findings.values(), key=lambda f: (f.section.sort_order, f.section.name))


# ---- the four conditions ---------------------------------------------------------------------------------


def find_overdue(
    *, year: int, quarter: int, days: int, today: datetime.date, cal: WorkdayCalendar
) -> list[Finding]:
    """任务逾期超过 days 个工作日：计划年度为 year 的非标题任务，未完成，截止日（遇节假日顺延）到
    “季度末与今天中较早的一天”之间的工作日数 > days。点名任务的牵头股室（牵头股室对任务落实负总责）。"""
    as_of = min(quarter_end(year, quarter), today)
    tasks = list(
        Task.objects.actionable()
        .filter(plan__year=year, due_date__isnull=False)
        .overdue(on=as_of)
        .order_by("plan_id", "position", "pk")
    )
    late: dict[int, tuple[Task, datetime.date, int]] = {}
    for task in tasks:
        due = task.due_date or as_of  # the query excludes tasks without a due date
        workdays = cal.workdays_between(cal.next_workday_on_or_after(due), as_of)
        if workdays > days:
            late[task.pk] = (task, due, workdays)
    findings: dict[int, Finding] = {}
    leads = TaskAssignment.objects.filter(task_id__in=late, role=AssignmentRole.LEAD).select_related(
        "section"
    )
    for assignment in leads.order_by("task__position", "pk"):
        task, due, workdays = late[assignment.task_id]
        f = _finding(findings, assignment.section)
        f.problems.append(
            f"牵头的“{task.title}”任务（截止日期{cn_date(due)}）逾期未完成，"
            f"截至{cn_date(as_of)}已逾期{workdays}个工作日"
        )
        f.facts.append({"task": task.pk, "due_date": due.isoformat(), "workdays_overdue": workdays})
    return _ordered(findings)


def _official_scores(periods: list[tuple[int, int]], threshold: Decimal) -> list[UnitScore]:
    cond = Q()
    for y, q in periods:
        cond |= Q(run__year=y, run__period=f"Q{q}")
    return list(
        UnitScore.objects.filter(cond, run__is_what_if=False, total__lt=threshold)
        .select_related("section", "run__ruleset")
        .order_by("section__sort_order", "run__year", "run__period", "pk")
    )


def find_score_below(*, year: int, quarter: int, threshold: Decimal) -> list[Finding]:
    """该季度正式计分（非模拟）中总分低于 threshold 的股室。"""
    findings: dict[int, Finding] = {}
    for score in _official_scores([(year, quarter)], threshold):
        f = _finding(findings, score.section)
        f.problems.append(
            f"{period_label(year, quarter)}政务公开工作考核得分{fmt(score.total)}分（{score.grade}），"
            f"低于{fmt(threshold)}分"
        )
        f.facts.append({"score": score.pk, "total": str(score.total), "ruleset": score.run.ruleset.code})
    return _ordered(findings)


def find_returned(*, year: int, quarter: int, times: int) -> list[Finding]:
    """该季度的进展报送中被办公室退回 ≥ times 次的，点名报送的股室。"""
    reports = (
        ProgressReport.objects.for_quarter(year, quarter)
        .filter(return_count__gte=times)
        .select_related("task", "section")
        .order_by("section__sort_order", "task__position", "pk")
    )
    findings: dict[int, Finding] = {}
    for report in reports:
        f = _finding(findings, report.section)
        f.problems.append(
            f"“{report.task.title}”任务{period_label(year, quarter)}进展报送"
            f"被退回{report.return_count}次"
        )
        f.facts.append({"report": report.pk, "task": report.task_id, "return_count": report.return_count})
    return _ordered(findings)


def find_low_quarters(*, year: int, quarter: int, count: int, threshold: Decimal) -> list[Finding]:
    """截至该季度（含）连续 count 个季度正式计分都低于 threshold 的股室（可跨年度，如上年第四季度）。"""
    periods = [(year, quarter)]
    while len(periods) < count:
        periods.append(previous_quarter(*periods[-1]))
    low: dict[int, dict[tuple[int, int], UnitScore]] = defaultdict(dict)
    for score in _official_scores(periods, threshold):
        key = (score.run.year, int(score.run.period[1:]))
        low[score.section_id].setdefault(key, score)
    findings: dict[int, Finding] = {}
    for section_scores in low.values():
        if len(section_scores) < len(periods):
            continue
        ordered = [section_scores[p] for p in reversed(periods)]
        f = _finding(findings, ordered[0].section)
        listed = "、".join(
            f"{period_label(s.run.year, int(s.run.period[1:]))}{fmt(s.total)}分" for s in ordered
        )
        f.problems.append(f"连续{count}个季度政务公开工作考核得分低于{fmt(threshold)}分：{listed}")
        f.facts.extend(
            {"score": s.pk, "period": f"{s.run.year}{s.run.period}", "total": str(s.total)} for s in ordered
        )
    return _ordered(findings)


# ---- the draft -------------------------------------------------------------------------------------------


def draft_fields(
    *,
    kind: str,
    year: int,
    quarter: int,
    findings: list[Finding],
    deadline: datetime.date,
    unit_name: str,
    plan_title: str,
) -> dict[str, Any]:
    """按通报的公文结构生成草稿文字：标题“关于{期间}{事项}情况的通报”、开头（依据工作要点、考核细则与
    条例第四十七条）、一、总体情况、二、存在问题（逐个股室、逐条事实）、三、处理意见（对…予以通报批评）、
    四、整改要求（期限与整改报告）。"""
    period = period_label(year, quarter)
    subject = SUBJECTS[kind]
    names = "、".join(f.section.name for f in findings)
    basis = f"《{plan_title}》" if plan_title else f"《{unit_name or '本局'}{year}年政务公开工作要点》"
    problems = []
    for n, f in enumerate(findings, 1):
        problems.append(f"{n}. {f.section.name}：" + "；".join(f.problems) + "。")
    return {
        "year": year,
        "quarter": quarter,
        "period_label": period,
        "title": f"关于{period}{subject}情况的通报",
        "opening": (
            f"根据{basis}和政务公开工作考核评分细则，按照《中华人民共和国政府信息公开条例》第四十七条"
            f"关于督促整改、通报批评的规定，现将{period}{subject}情况通报如下。"
        ),
        "overview": f"{period}，经系统核查，共有{len(findings)}个股室存在{subject}的问题：{names}。",
        "problems": "\n".join(problems),
        "handling_opinion": f"对{names}予以通报批评。",
        "requirements": (
            f"请被通报股室认真分析原因，切实抓好整改，于{cn_date(deadline)}前完成整改，"
            "并通过系统报送整改情况报告及佐证材料。办公室将逐项核验销号，逾期未整改的将予以约谈。"
        ),
        "rectification_deadline": deadline,
    }


def _detail(kind: str, settings: OfficeSettings, findings: list[Finding]) -> dict[str, Any]:
    thresholds = {
        OVERDUE: {"workdays": settings.trigger_overdue_workdays},
        SCORE_BELOW: {"below": str(settings.trigger_score_below)},
        RETURNED: {"times": settings.trigger_returned_times},
        LOW_QUARTERS: {"quarters": settings.trigger_low_quarters, "below": str(settings.trigger_score_below)},
    }
    return {
        "settings": thresholds[kind],
        "units": [{"section": f.section.pk, "name": f.section.name, "facts": f.facts} for f in findings],
    }


def _enabled(kind: str, settings: OfficeSettings) -> bool:
    """设置为 0 的条件不启用（连续低分还需要得分阈值大于 0）。"""
    if kind == OVERDUE:
        return settings.trigger_overdue_workdays > 0
    if kind == SCORE_BELOW:
        return settings.trigger_score_below > 0
    if kind == RETURNED:
        return settings.trigger_returned_times > 0
    return settings.trigger_low_quarters > 0 and settings.trigger_score_below > 0


def _find(
    kind: str,
    settings: OfficeSettings,
    *,
    year: int,
    quarter: int,
    today: datetime.date,
    cal: Callable[[], WorkdayCalendar],
) -> list[Finding]:
    threshold = Decimal(settings.trigger_score_below)
    if kind == OVERDUE:
        days = settings.trigger_overdue_workdays
        return find_overdue(year=year, quarter=quarter, days=days, today=today, cal=cal())
    if kind == SCORE_BELOW:
        return find_score_below(year=year, quarter=quarter, threshold=threshold)
    if kind == RETURNED:
        return find_returned(year=year, quarter=quarter, times=settings.trigger_returned_times)
    count = settings.trigger_low_quarters
    return find_low_quarters(year=year, quarter=quarter, count=count, threshold=threshold)


def triggers_run(
    *,
    year: int,
    quarter: int,
    user: User,
    today: datetime.date | None = None,
    request: HttpRequest | None = None,
) -> list[TriggerOutcome]:
    """对 (year, quarter) 逐个检查触发条件，符合条件的起草一份通报（每个条件一份，列出全部触发的股室）。规则：

    - 只有办公室可以运行（起草服务检查）；条件的阈值取办公室设置，设为 0 的不启用；
    - 去重键为 trigger:{条件}:{年}-Q{季度}：该季度该条件已起草过（含已印发、已作废）就不再起草；
    - 没有股室符合条件时不起草，之后再运行仍会检查；
    - 草稿的整改期限为今天起第 10 个工作日，处理意见“对…予以通报批评”，均可由办公室修改后印发。
    """
    if not can_manage_plans(user):
        raise PermissionDenied("仅办公室可以按触发条件起草通报")
    if not 1 <= quarter <= 4:
        raise ValueError("季度只能是 1 到 4")
    today = today or timezone.localdate()
    settings = OfficeSettings.current()
    calendar: list[WorkdayCalendar] = []

    def cal() -> WorkdayCalendar:
        if not calendar:
            calendar.append(load_calendar())
        return calendar[0]

    plan = WorkPlan.objects.filter(year=year).order_by("-created_at", "-pk").first()
    outcomes: list[TriggerOutcome] = []
    for kind in TRIGGER_LABELS:
        key = dedupe_key(kind, year, quarter)
        existing = CriticismNotice.objects.filter(dedupe_key=key).first()
        if existing is not None:
            outcomes.append(TriggerOutcome(kind, EXISTS, existing, existing.units.count()))
            continue
        if not _enabled(kind, settings):
            outcomes.append(TriggerOutcome(kind, DISABLED))
            continue
        findings = _find(kind, settings, year=year, quarter=quarter, today=today, cal=cal)
        if not findings:
            outcomes.append(TriggerOutcome(kind, NOTHING))
            continue
        fields = draft_fields(
            kind=kind,
            year=year,
            quarter=quarter,
            findings=findings,
            deadline=cal().add_workdays(today, RECTIFY_WORKDAYS),
            unit_name=settings.unit_name,
            plan_title=plan.title if plan else "",
        )
        units = [UnitEntry(f.section, "；".join(f.problems) + "。") for f in findings]
        try:
            notice = notice_draft_create(
                user=user,
                fields=fields,
                units=units,
                trigger_kind=kind,
                trigger_detail=_detail(kind, settings, findings),
                dedupe_key=key,
                request=request,
            )
        except NoticeDuplicate as dup:  # another run drafted it a moment ago
            outcomes.append(TriggerOutcome(kind, EXISTS, dup.existing, dup.existing.units.count()))
            continue
        outcomes.append(TriggerOutcome(kind, CREATED, notice, len(units)))
    return outcomes


def trigger_drafts(*, year: int, quarter: int) -> list[CriticismNotice]:
    """该季度由触发条件起草的通报（任何状态）。"""
    keys = [dedupe_key(kind, year, quarter) for kind in TRIGGER_LABELS]
    return list(
        CriticismNotice.objects.filter(dedupe_key__in=keys).prefetch_related("units__section").order_by("pk")
    )
