"""季度报告（{单位}{年}年第N季度政务公开工作情况）：一、总体情况（含重点任务推进）二、存在的问题（考核扣分）
三、下一步工作，附件1 重点任务推进情况表、附件2 考核得分表；同样的数据导出为 xlsx。

季度已关账时取关账快照（任务状态、报送、得分与台账，申诉冲回的行不计），否则取实时数据。
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import tablib
from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from scoring.models import (
    LedgerLine,
    QuarterClose,
    ScoreRun,
    SnapshotLedgerLine,
    UnitScore,
)
from scoring.reports.gongwen import GongwenDocument, cn_number
from scoring.services import ruleset_labels
from workplan.exporting import build_dataset
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


# ---- text ----------------------------------------------------------------------------------------------


def default_next_steps(data: QuarterlyData) -> str:
    """“下一步工作”的默认文字（页面上可修改）：未完成与逾期任务、报送、问题整改。"""
    lines = []
    if data.open_count:
        overdue = (
            f"其中{data.overdue_count}项已逾期，要明确完成时限、尽快完成；" if data.overdue_count else ""
        )
        lines.append(
            f"（一）加快推进重点任务。对尚未完成的{data.open_count}项任务，{overdue}"
            "督促牵头股室对照时限要求倒排工期、压实责任，确保按期完成。"
        )
    else:
        lines.append("（一）巩固工作成效。对已完成的任务做好资料归档，持续做好常态化信息公开工作。")
    lines.append(
        "（二）规范季度进展报送。各股室在季度结束后按时报送进展情况，同步上传佐证材料；"
        "被退回的报送及时修改完善后重新报送。"
    )
    if data.deductions:
        lines.append(
            "（三）抓好问题整改。针对本季度考核发现的问题，相关股室逐项整改、按期销号，避免同类问题重复发生。"
        )
    else:
        lines.append("（三）加强日常督促。办公室定期调度任务进展，发现问题及时提醒、督促整改。")
    return "\n".join(lines)


def _opening(data: QuarterlyData) -> str:
    plan = f"《{data.plan_title}》" if data.plan_title else "年度政务公开工作要点"
    if data.plan_doc_number:
        plan += f"（{data.plan_doc_number}）"
    return f"按照{plan}部署，现将{data.unit_name}{data.period_label}政务公开工作情况报告如下："


def _overview_text(data: QuarterlyData) -> str:
    if not data.tasks:
        return "本季度无工作任务。"
    counts = "，".join(f"{label}{n}项" for label, n in data.status_counts)
    overdue = f"；逾期未完成{data.overdue_count}项" if data.overdue_count else ""
    return (
        f"工作要点共有工作任务{data.total}项，截至本季度末已完成{data.done}项，完成率{data.completion_rate}%"
        f"（{counts}）{overdue}。"
    )


def _reports_text(data: QuarterlyData) -> str:
    if not data.reports_total:
        return "本季度无进展报送。"
    return (
        f"各股室本季度共报送进展情况{data.reports_total}份，审核通过{data.reports_accepted}份，"
        f"退回修改{data.reports_returned}份，待审核{data.reports_pending}份。"
    )


def _publishing_text(data: QuarterlyData) -> str:
    parts = []
    if data.published_items is not None:
        parts.append(f"本季度主动公开政府信息{fmt_points(data.published_items)}条")
    else:
        parts.append("本季度无主动公开信息数量记录")
    if data.applications is not None:
        parts.append(f"受理政府信息公开申请{fmt_points(data.applications)}件")
    else:
        parts.append("本季度无政府信息公开申请记录")
    return "；".join(parts) + "。"


def _task_body(task: TaskLine) -> str:
    status = task.status_label + ("（已逾期）" if task.overdue else "")
    narrative = task.narrative or "本季度未报送进展情况。"
    if not narrative.endswith(("。", "！", "？", "…")):
        narrative += "。"
    return (
        f"牵头股室：{task.leads or '未明确'}；进展状态：{status}。{narrative}"
        f"佐证材料{task.evidence_count}份。"
    )


def _problem_groups(data: QuarterlyData) -> list[tuple[str, list[Deduction]]]:
    groups: dict[str, list[Deduction]] = {}
    for d in data.deductions:
        groups.setdefault(d.indicator_name, []).append(d)
    return list(groups.items())


# ---- docx ----------------------------------------------------------------------------------------------

TASK_HEADERS = ["序号", "工作任务", "牵头股室", "责任股室", "进展状态", "截止日期", "佐证材料（份）"]
TASK_WIDTHS = [9, 44, 20, 22, 16, 27, 18]
SCORE_HEADERS = ["名次", "股室", "总分", "等次", "扣分", "备注"]
SCORE_WIDTHS = [14, 40, 22, 22, 22, 36]


def attachment_titles(data: QuarterlyData) -> list[str]:
    return [f"{data.period_label}重点任务推进情况表", f"{data.period_label}政务公开考核得分表"]


def build_quarterly_docx(data: QuarterlyData, options: QuarterlyOptions) -> bytes:
    """生成季度报告 docx（公文格式）。"""
    gw = GongwenDocument()
    gw.letterhead(issuer_mark=f"{data.unit_name}文件", doc_number=options.doc_number)
    gw.title(quarterly_title(data))
    gw.recipients(options.recipients)
    gw.para(_opening(data))

    gw.heading1("一、总体情况")
    gw.heading2("（一）任务完成情况。", _overview_text(data))
    gw.heading2("（二）进展报送情况。", _reports_text(data))
    gw.heading2("（三）信息公开情况。", _publishing_text(data))
    gw.heading2("（四）重点任务推进情况。", "" if data.tasks else "本季度无工作任务。")
    for i, task in enumerate(data.tasks, 1):
        gw.heading3(f"{i}. {task.title.rstrip('。')}。", _task_body(task))

    gw.heading1("二、存在的问题")
    if not data.scored:
        gw.para("本季度尚未进行考核计分，暂无扣分情况。")
    elif not data.deductions:
        gw.para("本季度考核未发现扣分事项。")
    else:
        sections = {d.section for d in data.deductions}
        total = sum((d.points for d in data.deductions), Decimal(0))
        basis = f"（{data.ruleset_name}）" if data.ruleset_name else ""
        gw.para(
            f"本季度考核{basis}共有{len(sections)}个股室被扣分，合计扣{fmt_points(total)}分，主要问题如下："
        )
        for i, (name, items) in enumerate(_problem_groups(data), 1):
            subtotal = sum((d.points for d in items), Decimal(0))
            detail = "；".join(f"{d.section}：{d.reason.rstrip('。')}" for d in items)
            gw.heading2(f"（{cn_number(i)}）{name}。", f"{detail}。该项合计扣{fmt_points(subtotal)}分。")

    gw.heading1("三、下一步工作")
    gw.text_block(options.next_steps)

    titles = attachment_titles(data)
    gw.attachment_note(titles)
    gw.signature(name=data.unit_name, signed_on=options.signed_on)

    gw.attachment(1, titles[0])
    gw.table(TASK_HEADERS, [_task_row(i, t) for i, t in enumerate(data.tasks, 1)], widths_mm=TASK_WIDTHS)
    gw.attachment(2, titles[1])
    gw.table(SCORE_HEADERS, [_score_row(s) for s in data.scores], widths_mm=SCORE_WIDTHS)
    if not data.scores:
        gw.note("本季度尚未计分。")
    elif data.ruleset_name:
        gw.note(f"评分依据：{data.ruleset_name}。")

    gw.imprint(cc=options.cc, printer=f"{data.unit_name}办公室", printed_on=options.signed_on)
    return gw.to_bytes()


def _task_row(i: int, t: TaskLine) -> list[Any]:
    status = t.status_label + ("（逾期）" if t.overdue else "")
    return [i, t.title, t.leads, t.responsibles, status, t.due_date, t.evidence_count]


def _score_row(s: ScoreLine) -> list[Any]:
    return [
        s.rank,
        s.section,
        fmt_points(s.total),
        s.grade,
        fmt_points(s.deducted),
        "一票否决" if s.vetoed else "",
    ]


# ---- xlsx ----------------------------------------------------------------------------------------------


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


TASK_SHEET_HEADERS = [
    "序号",
    "任务编号",
    "层级序号",
    "所属章节",
    "工作任务",
    "牵头股室",
    "责任股室",
    "进展状态",
    "是否逾期",
    "截止日期",
    "佐证材料（份）",
    "本季度进展情况",
]


def build_quarterly_xlsx(data: QuarterlyData) -> bytes:
    """同样的数据导出为 xlsx：两张工作表（任务推进情况、考核得分）；数字为数值，文本防公式注入。"""
    task_sheet = build_dataset(
        TASK_SHEET_HEADERS,
        [
            [i, t.code, t.number, t.chapter, t.title, t.leads, t.responsibles, t.status_label,
             "是" if t.overdue else "否", t.due_date, t.evidence_count, t.narrative]
            for i, t in enumerate(data.tasks, 1)
        ],
        title="任务推进情况",
    )  # fmt: skip
    score_sheet = build_dataset(
        ["名次", "股室", "总分", "等次", "扣分", "一票否决"],
        [
            [s.rank, s.section, _number(s.total), s.grade, _number(s.deducted), "是" if s.vetoed else "否"]
            for s in data.scores
        ],
        title="考核得分",
    )
    payload = tablib.Databook([task_sheet, score_sheet]).export("xlsx")
    return payload if isinstance(payload, bytes) else bytes(payload)


def report_filename(data: QuarterlyData) -> str:
    return quarterly_title(data)


__all__ = [
    "Deduction",
    "QuarterlyData",
    "QuarterlyOptions",
    "ScoreLine",
    "TaskLine",
    "attachment_titles",
    "build_quarterly_docx",
    "build_quarterly_xlsx",
    "collect_quarterly",
    "default_next_steps",
    "official_run",
    "quarterly_title",
    "report_filename",
    "summarize",
]
