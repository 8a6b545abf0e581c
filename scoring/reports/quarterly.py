"""季度报告（{单位}{年}年第N季度政务公开工作情况）的数据：任务推进、进展报送、信息公开与依申请公开的数量、
考核扣分与得分。季度已关账时取关账快照（任务状态、报送、得分与台账，申诉冲回的行不计），否则取实时数据。

成文（正文各段、docx 公文与 xlsx）见 quarterly_doc.py。
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from scoring.models import LedgerLine, QuarterClose, ScoreRun, SnapshotLedgerLine, UnitScore
from scoring.reports.gongwen import cn_number
from scoring.services import ruleset_labels
from workplan.models import (
    Application,
    AssignmentRole,
    OfficeSettings,
    ProgressReport,
    PublicationItem,
    ReportStatus,
    ReviewState,
    Task,
    TaskAssignment,
    WorkPlan,
)
from workplan.periods import quarter_end, quarter_start

SOURCE_SNAPSHOT = "snapshot"
SOURCE_LIVE = "live"
CLOSED_STATUSES = (ReportStatus.DONE, ReportStatus.CANNOT_COMPLETE)
STATUS_ORDER = [s.value for s in ReportStatus]
# 录入事实中可作为季度信息公开数量的事实名（各股室相加）。
SUMMARY_CHARS = 150
REVIEW_RANK = {ReviewState.ACCEPTED: 0, ReviewState.SUBMITTED: 1, ReviewState.RETURNED: 2}


@dataclass(frozen=True)
class TaskLine:
    """一项任务在本季度的情况。"""

    code: str
    number: str
    chapter: str
    title: str
    leads: str
    responsibles: str
    status: str
    due_date: datetime.date | None
    overdue: bool
    narrative: str
    evidence_count: int

    @property
    def status_label(self) -> str:
        return status_label(self.status)


@dataclass(frozen=True)
class Deduction:
    """台账中的一条扣分。points 为扣分的绝对值。"""

    section: str
    indicator_code: str
    indicator_name: str
    points: Decimal
    reason: str


@dataclass(frozen=True)
class ScoreLine:
    rank: int
    section: str
    total: Decimal
    grade: str
    deducted: Decimal
    vetoed: bool


@dataclass(frozen=True)
class QuarterlyData:
    """季度报告所需的全部数据（与 ORM 无关，docx 与 xlsx 都由它生成）。"""

    unit_name: str
    year: int
    quarter: int
    plan_title: str
    plan_doc_number: str
    source: str
    as_of: datetime.date
    tasks: list[TaskLine] = field(default_factory=list)
    reports_total: int = 0
    reports_accepted: int = 0
    reports_returned: int = 0
    reports_pending: int = 0
    published_items: Decimal | None = None
    applications: Decimal | None = None
    ruleset_name: str = ""
    scored: bool = False
    deductions: list[Deduction] = field(default_factory=list)
    scores: list[ScoreLine] = field(default_factory=list)

    @property
    def period_label(self) -> str:
        return f"{self.year}年第{cn_number(self.quarter)}季度"

    @property
    def total(self) -> int:
        return len(self.tasks)

    @property
    def done(self) -> int:
        return sum(1 for t in self.tasks if t.status == ReportStatus.DONE)

    @property
    def completion_rate(self) -> Decimal:
        """完成率（%）：已完成 ÷ 任务总数，保留一位小数。"""
        if not self.tasks:
            return Decimal(0)
        return (Decimal(self.done) * 100 / Decimal(self.total)).quantize(Decimal("0.1"))

    @property
    def status_counts(self) -> list[tuple[str, int]]:
        counts = Counter(t.status for t in self.tasks)
        return [(status_label(s), counts[s]) for s in STATUS_ORDER if counts[s]]

    @property
    def overdue_count(self) -> int:
        return sum(1 for t in self.tasks if t.overdue)

    @property
    def open_count(self) -> int:
        return sum(1 for t in self.tasks if t.status not in CLOSED_STATUSES)


@dataclass(frozen=True)
class QuarterlyOptions:
    """用户在页面上填写的内容：下一步工作、文号、主送、抄送、成文日期。"""

    next_steps: str
    signed_on: datetime.date
    doc_number: str = ""
    recipients: str = ""
    cc: str = ""


def status_label(status: str) -> str:
    try:
        return str(ReportStatus(status).label)
    except ValueError:
        return status


def fmt_points(value: Decimal) -> str:
    """分值去掉多余的 0：2.0000 → 2，0.5000 → 0.5。"""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def summarize(text: str, limit: int = SUMMARY_CHARS) -> str:
    """进展情况摘要：合并空白；过长时在限长内最后一个句号处截断，没有句号则截断加省略号。"""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    stop = cut.rfind("。")
    return cut[: stop + 1] if stop >= limit // 3 else cut + "……"


def quarterly_title(data: QuarterlyData) -> str:
    return f"{data.unit_name}{data.year}年第{cn_number(data.quarter)}季度政务公开工作情况"


def _unit_name(plan: WorkPlan) -> str:
    return OfficeSettings.current().unit_name.strip() or plan.issuing_unit.strip() or "本单位"


def _published_count(year: int, quarter: int) -> Decimal | None:
    """本季度主动公开的条数：发布信息登记台账中发布日期在本季度的已发布信息；没有则为 None（报告写“无”）。"""
    count = PublicationItem.objects.published_between(
        quarter_start(year, quarter), quarter_end(year, quarter)
    ).count()
    return Decimal(count) if count else None


def _applications_count(year: int, quarter: int) -> Decimal | None:
    """本季度收到的依申请公开申请数：依申请公开登记簿中收到日期在本季度的申请。"""
    count = Application.objects.filter(
        received_on__range=(quarter_start(year, quarter), quarter_end(year, quarter))
    ).count()
    return Decimal(count) if count else None


def official_run(year: int, quarter: int) -> ScoreRun | None:
    """该季度的正式计分：优先股室细则（unit_type 为“股室”）的批次，否则最近计算的批次。"""
    runs = list(
        ScoreRun.objects.filter(year=year, period=f"Q{quarter}", is_what_if=False)
        .select_related("ruleset")
        .order_by("-computed_at", "-pk")
    )
    for run in runs:
        if run.ruleset.unit_type == "股室":
            return run
    return runs[0] if runs else None


def _pick_report(candidates: list[Any]) -> Any | None:
    """任务的代表性报送：牵头股室优先，其次审核通过、待审核、退回的。"""
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda r: (0 if r.role == AssignmentRole.LEAD else 1, REVIEW_RANK.get(r.review_state, 3)),
    )


def _chapters(tasks: Sequence[Task]) -> dict[int, str]:
    """每项任务所属的章节：最上一级章节标题（序号 + 标题），与关账快照的写法相同。"""
    by_pk = {t.pk: t for t in tasks}
    out: dict[int, str] = {}
    for task in tasks:
        chapter, seen, parent = "", {task.pk}, task.parent_id
        while parent is not None and parent not in seen and parent in by_pk:
            seen.add(parent)
            row = by_pk[parent]
            if row.is_heading:
                chapter = f"{row.number}{row.title}"
            parent = row.parent_id
        out[task.pk] = chapter[:255]
    return out


def _deductions(lines: Iterable[Any], names: dict[str, str]) -> list[Deduction]:
    order = {code: i for i, code in enumerate(names)}
    result = [
        Deduction(
            section=line.section.name,
            indicator_code=line.indicator_code,
            indicator_name=names.get(line.indicator_code, "") or line.indicator_code or "其他",
            points=-line.points,
            reason=line.reason,
        )
        for line in lines
    ]
    return sorted(result, key=lambda d: order.get(d.indicator_code, len(order)))


def _deducted_by_section(deductions: Sequence[Deduction]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for d in deductions:
        totals[d.section] += d.points
    return totals


# ---- collecting ----------------------------------------------------------------------------------------


def collect_quarterly(*, plan: WorkPlan, year: int, quarter: int, today: datetime.date) -> QuarterlyData:
    """季度报告的数据：季度已关账取快照，否则取实时数据。查询次数固定，与任务数无关。"""
    close = QuarterClose.objects.filter(year=year, quarter=quarter).select_related("run__ruleset").first()
    common: dict[str, Any] = {
        "unit_name": _unit_name(plan),
        "year": year,
        "quarter": quarter,
        "plan_title": plan.title,
        "plan_doc_number": plan.doc_number,
        "published_items": _published_count(year, quarter),
        "applications": _applications_count(year, quarter),
    }
    if close is not None:
        return _from_snapshot(close, plan, common)
    return _live(plan, year, quarter, today, common)


def _live(
    plan: WorkPlan, year: int, quarter: int, today: datetime.date, common: dict[str, Any]
) -> QuarterlyData:
    assignments = TaskAssignment.objects.select_related("section").order_by(
        "section__sort_order", "section__name"
    )
    every = list(
        Task.objects.filter(plan=plan)
        .prefetch_related(Prefetch("assignments", queryset=assignments))
        .order_by("position", "pk")
    )
    chapters = _chapters(every)
    tasks = [t for t in every if not t.is_heading]
    reports = list(
        ProgressReport.objects.filter(task__plan=plan, year=year, quarter=quarter)
        .annotate(evidence_count=Count("evidence", filter=Q(evidence__removed_at__isnull=True)))
        .order_by("pk")
    )
    by_task: dict[int, list[ProgressReport]] = defaultdict(list)
    for report in reports:
        by_task[report.task_id].append(report)
    cutoff = min(today, quarter_end(year, quarter))
    lines = []
    for task in tasks:
        own = by_task.get(task.pk, [])
        chosen = _pick_report(own)
        lines.append(
            TaskLine(
                code=task.code,
                number=task.number_path,
                chapter=chapters.get(task.pk, ""),
                title=task.title,
                leads="、".join(
                    a.section.name for a in task.assignments.all() if a.role == AssignmentRole.LEAD
                ),
                responsibles="、".join(
                    a.section.name for a in task.assignments.all() if a.role == AssignmentRole.RESPONSIBLE
                ),
                status=task.status,
                due_date=task.due_date,
                overdue=bool(task.due_date and task.due_date < cutoff and task.status not in CLOSED_STATUSES),
                narrative=summarize(chosen.narrative) if chosen else "",
                evidence_count=sum(r.evidence_count for r in own),  # type: ignore[attr-defined]
            )
        )
    states = Counter(r.review_state for r in reports)
    run = official_run(year, quarter)
    deductions: list[Deduction] = []
    scores: list[ScoreLine] = []
    if run is not None:
        names, _, _ = ruleset_labels(run.ruleset_id)
        deductions = _deductions(
            LedgerLine.objects.filter(run=run, points__lt=0)
            .select_related("section")
            .order_by("section__sort_order", "section__name", "position"),
            names,
        )
        deducted = _deducted_by_section(deductions)
        scores = [
            ScoreLine(
                s.rank, s.section.name, s.total, s.grade, deducted.get(s.section.name, Decimal(0)), s.vetoed
            )
            for s in UnitScore.objects.filter(run=run)
            .select_related("section")
            .order_by("rank", "section__sort_order", "section__name")
        ]
    return QuarterlyData(
        **common,
        source=SOURCE_LIVE,
        as_of=today,
        tasks=lines,
        reports_total=len(reports),
        reports_accepted=states[ReviewState.ACCEPTED],
        reports_returned=states[ReviewState.RETURNED],
        reports_pending=states[ReviewState.SUBMITTED],
        ruleset_name=run.ruleset.name if run else "",
        scored=run is not None,
        deductions=deductions,
        scores=scores,
    )


def _from_snapshot(close: QuarterClose, plan: WorkPlan, common: dict[str, Any]) -> QuarterlyData:
    snap_tasks = list(close.tasks.filter(plan_id_ref=plan.pk).order_by("pk"))
    task_ids = [t.task_id_ref for t in snap_tasks]
    reports = list(close.reports.filter(task_id_ref__in=task_ids).order_by("pk"))
    by_task: dict[int, list[Any]] = defaultdict(list)
    for report in reports:
        by_task[report.task_id_ref].append(report)
    lines = []
    for t in snap_tasks:
        own = by_task.get(t.task_id_ref, [])
        chosen = _pick_report(own)
        lines.append(
            TaskLine(
                code=t.code,
                number=t.number_path,
                chapter=t.chapter,
                title=t.title,
                leads=t.lead_names,
                responsibles=t.responsible_names,
                status=t.status,
                due_date=t.due_date,
                overdue=t.overdue,
                narrative=summarize(chosen.narrative) if chosen else "",
                evidence_count=sum(len(r.evidence) if isinstance(r.evidence, list) else 0 for r in own),
            )
        )
    states = Counter(r.review_state for r in reports)
    names: dict[str, str] = ruleset_labels(close.run.ruleset_id)[0] if close.run is not None else {}
    reversed_ids = close.lines.filter(reverses__isnull=False).values("reverses_id")
    deductions = _deductions(
        SnapshotLedgerLine.objects.filter(close=close, points__lt=0, reverses__isnull=True)
        .exclude(pk__in=reversed_ids)
        .select_related("section")
        .order_by("section__sort_order", "section__name", "position"),
        names,
    )
    deducted = _deducted_by_section(deductions)
    scores = [
        ScoreLine(
            s.rank,
            s.section.name,
            s.adjusted_total,
            s.grade,
            deducted.get(s.section.name, Decimal(0)),
            s.vetoed,
        )
        for s in close.scores.select_related("section").order_by(
            "rank", "section__sort_order", "section__name"
        )
    ]
    return QuarterlyData(
        **common,
        source=SOURCE_SNAPSHOT,
        as_of=timezone.localdate(close.closed_at),
        tasks=lines,
        reports_total=len(reports),
        reports_accepted=states[ReviewState.ACCEPTED],
        reports_returned=states[ReviewState.RETURNED],
        reports_pending=states[ReviewState.SUBMITTED],
        ruleset_name=close.run.ruleset.name if close.run is not None else "",
        scored=bool(scores) or close.run is not None,
        deductions=deductions,
        scores=scores,
    )


__all__ = [
    "Deduction",
    "QuarterlyData",
    "QuarterlyOptions",
    "ScoreLine",
    "TaskLine",
    "collect_quarterly",
    "fmt_points",
    "official_run",
    "quarterly_title",
    "summarize",
]
