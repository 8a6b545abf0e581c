"""季度关账（关账快照）、申诉（申诉期内对扣分提出异议，办公室采纳冲回或驳回）、定稿，以及两次关账之间的变化。

快照行只增不改：关账后任务、报送与成绩的修改不影响快照；申诉采纳时只追加一条冲回行，
并按冲回后的台账重算该股室的调整后总分、等次与全部股室的名次。
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet, Sum
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone

from scoring import engine
from scoring.access import can_compute, can_view_all_scores, require_office
from scoring.models import (
    Appeal,
    AppealStatus,
    LedgerLine,
    QuarterClose,
    QuarterCloseStatus,
    ScoreRun,
    SnapshotLedgerLine,
    SnapshotReport,
    SnapshotScore,
    SnapshotTask,
    UnitScore,
)
from scoring.rulesets import engine_ruleset
from workplan import uploads
from workplan.access import REPORTING_ROLES
from workplan.audit import audit_record
from workplan.bulkinsert import insert_rows
from workplan.calendar_db import load_calendar
from workplan.models import (
    AssignmentRole,
    Evidence,
    Notification,
    OfficeSettings,
    ProgressReport,
    ReportStatus,
    Role,
    Task,
    TaskAssignment,
    User,
)
from workplan.periods import quarter_end
from workplan.tables import WorkdayCounter
from workplan.workdays import WorkdayCalendar

ZERO = Decimal(0)
CLOSED_STATUSES = (ReportStatus.DONE, ReportStatus.CANNOT_COMPLETE)
KIND_QUARTER_CLOSED = "quarter_closed"


def quarter_period(quarter: int) -> str:
    """季度 → 计分期间名称（1 → "Q1"）。"""
    return f"Q{quarter}"


def close_title(close: QuarterClose) -> str:
    return f"{close.year}年第{close.quarter}季度"


def appeal_window_open(close: QuarterClose, *, today: datetime.date | None = None) -> bool:
    """申诉期：关账后至申诉截止日（含当日），且尚未定稿。"""
    today = today or timezone.localdate()
    return close.status == QuarterCloseStatus.APPEAL and today <= close.appeal_deadline


# ---- access (who sees which closed quarters, lines and appeals) -----------------------------------------
#
# Same rules as scoring.access: office and director see every section; section staff and read-only users
# see only their own section (other sections' lines and appeals are 404); writes are office-only (403),
# except an appeal, which only staff of the line's own section may submit.


def _own_section_only(user: User) -> int | None:
    """能看全部时返回 None；否则返回本股室编号（没有股室的用户看不到任何内容：Http404）。"""
    if can_view_all_scores(user):
        return None
    if not user.is_authenticated or user.section_id is None:
        raise Http404("没有可查看的关账记录")
    return int(user.section_id)


def visible_closes(user: User) -> QuerySet[QuarterClose]:
    """关账记录对所有登录用户可见（各股室只看得到本股室的成绩与台账，见下面几个函数）。"""
    if not user.is_authenticated:
        return QuarterClose.objects.none()
    return QuarterClose.objects.select_related("run__ruleset", "closed_by")


def get_close_for_user(user: User, pk: int) -> QuarterClose:
    _own_section_only(user)
    try:
        return visible_closes(user).get(pk=pk)
    except QuarterClose.DoesNotExist as exc:
        raise Http404("关账记录不存在") from exc


def visible_snapshot_scores(user: User, close: QuarterClose) -> QuerySet[SnapshotScore]:
    scores = SnapshotScore.objects.filter(close=close)
    section_id = _own_section_only(user)
    return scores if section_id is None else scores.filter(section_id=section_id)


def visible_snapshot_lines(user: User) -> QuerySet[SnapshotLedgerLine]:
    lines = SnapshotLedgerLine.objects.all()
    section_id = _own_section_only(user)
    return lines if section_id is None else lines.filter(section_id=section_id)


def can_appeal(user: User, line: SnapshotLedgerLine) -> bool:
    """申诉只能由该台账行所属股室的人员（股室人员，或办公室人员对办公室自己的扣分）提出；局长、只读用户不能。"""
    return (
        user.is_authenticated
        and user.role in REPORTING_ROLES
        and user.section_id is not None
        and user.section_id == line.section_id
    )


def get_line_for_appeal(user: User, pk: int) -> SnapshotLedgerLine:
    """取要申诉的台账行：看不到的（其他股室的）404；看得到但不是本股室人员（局长、只读、办公室看他股室）403。"""
    try:
        line = visible_snapshot_lines(user).select_related("close", "section").get(pk=pk)
    except SnapshotLedgerLine.DoesNotExist as exc:
        raise Http404("台账明细不存在") from exc
    if not can_appeal(user, line):
        raise PermissionDenied("只有该台账行所属股室的人员可以申诉")
    return line


def visible_appeals(user: User) -> QuerySet[Appeal]:
    appeals = Appeal.objects.all()
    section_id = _own_section_only(user)
    return appeals if section_id is None else appeals.filter(section_id=section_id)


def get_appeal_for_user(user: User, pk: int, *, decide: bool = False) -> Appeal:
    """取申诉：处理（decide=True）仅办公室，其他人在查找之前就 403；看不到的（其他股室的）404。"""
    if decide:
        require_office(user, "处理申诉")
    try:
        return (
            visible_appeals(user)
            .select_related("close", "line", "section", "submitted_by", "decided_by", "reversal")
            .get(pk=pk)
        )
    except Appeal.DoesNotExist as exc:
        raise Http404("申诉不存在") from exc


# ---- closing a quarter ----------------------------------------------------------------------------------


def _chapters(rows: Sequence[tuple[Any, ...]]) -> dict[int, str]:
    """每项任务所属的章节：最上一级章节标题（“一、…”），由上级链一路找上去；没有章节标题的为空。"""
    by_pk = {r[0]: r for r in rows}
    out: dict[int, str] = {}
    for pk, _plan, parent_id, _heading, _code, *_ in rows:
        chapter = ""
        seen = {pk}
        parent = parent_id
        while parent is not None and parent not in seen and parent in by_pk:
            seen.add(parent)
            row = by_pk[parent]
            if row[3]:  # is_heading
                chapter = f"{row[5]}{row[7]}"  # number + title
            parent = row[2]
        out[pk] = chapter[:255]
    return out


def _task_snapshot_rows(
    year: int, today: datetime.date, cal: WorkdayCalendar, close_id: int
) -> list[dict[str, Any]]:
    """计划年度为 year 的全部要落实任务（不含章节标题）：状态、截止日期、逾期工作日、牵头/责任股室、章节。
    两次查询。"""
    rows = list(
        Task.objects.filter(plan__year=year)
        .order_by("plan_id", "position", "pk")
        .values_list(
            "pk",
            "plan_id",
            "parent_id",
            "is_heading",
            "code",
            "number",
            "number_path",
            "title",
            "status",
            "due_date",
            "recurrence",
        )
    )
    leads: dict[int, list[tuple[int, str]]] = defaultdict(list)
    responsibles: dict[int, list[str]] = defaultdict(list)
    assignments = (
        TaskAssignment.objects.filter(task__plan__year=year, task__is_heading=False)
        .order_by("section__sort_order", "section__name", "pk")
        .values_list("task_id", "section_id", "section__name", "role")
    )
    for task_id, section_id, name, role in assignments:
        if role == AssignmentRole.LEAD:
            leads[task_id].append((section_id, name))
        else:
            responsibles[task_id].append(name)
    chapters = _chapters(rows)
    # Counting working days per task against a calendar is slow (chinesecalendar checks its year range on
    # every call); the counter walks each calendar day once for all tasks.
    counter = WorkdayCounter(cal, today)
    out = []
    for pk, plan_id, _parent, is_heading, code, _number, number_path, title, status, due, rec in rows:
        if is_heading:
            continue
        overdue = due is not None and due < today and status not in CLOSED_STATUSES
        out.append(
            {
                "close_id": close_id,
                "task_id_ref": pk,
                "plan_id_ref": plan_id,
                "code": code,
                "number_path": number_path,
                "chapter": chapters.get(pk, ""),
                "title": title,
                "status": status,
                "due_date": due,
                "recurrence": rec,
                "overdue": overdue,
                "workdays_overdue": max(0, -counter.left(due)) if overdue and due is not None else 0,
                "lead_names": "、".join(name for _sid, name in leads.get(pk, []))[:255],
                "responsible_names": "、".join(responsibles.get(pk, []))[:512],
                "lead_section_ids": [sid for sid, _name in leads.get(pk, [])],
            }
        )
    return out


def _evidence_ref(pk: int, kind: str, name: str, url: str, note: str) -> dict[str, Any]:
    if kind == Evidence.Kind.LINK:
        return {"id": pk, "kind": kind, "name": note or url, "url": url}
    return {
        "id": pk,
        "kind": kind,
        "name": name or note,
        "url": reverse("evidence_download", args=[pk]),
    }


def _report_snapshot_rows(year: int, quarter: int, close_id: int) -> list[dict[str, Any]]:
    """该季度的全部进展报送及其佐证材料引用（已撤回的不列）。两次查询。"""
    evidence: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for pk, report_id, kind, name, url, note in (
        Evidence.objects.filter(report__year=year, report__quarter=quarter, removed_at__isnull=True)
        .order_by("uploaded_at", "pk")
        .values_list("pk", "report_id", "kind", "original_name", "url", "note")
    ):
        evidence[report_id].append(_evidence_ref(pk, kind, name, url, note))
    reports = (
        ProgressReport.objects.for_quarter(year, quarter)
        .order_by("task__plan_id", "task__position", "section__sort_order", "pk")
        .values_list("pk", "task_id", "section_id", "role", "status", "review_state", "narrative")
    )
    return [
        {
            "close_id": close_id,
            "report_id_ref": pk,
            "task_id_ref": task_id,
            "section_id": section_id,
            "role": role,
            "status": status,
            "review_state": review_state,
            "narrative": narrative,
            "evidence": evidence.get(pk, []),
        }
        for pk, task_id, section_id, role, status, review_state, narrative in reports
    ]


def _score_snapshot_rows(run: ScoreRun, close_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """正式计分批次的股室得分与全部台账行。两次查询。"""
    scores = [
        {
            "close_id": close_id,
            "section_id": section_id,
            "total": total,
            "adjusted_total": total,
            "grade": grade,
            "rank": rank,
            "vetoed": vetoed,
            "indicator_scores": indicator_scores,
        }
        for section_id, total, grade, rank, vetoed, indicator_scores in UnitScore.objects.filter(run=run)
        .order_by("rank", "section__sort_order", "section__name")
        .values_list("section_id", "total", "grade", "rank", "vetoed", "indicator_scores")
    ]
    lines = [
        {
            "close_id": close_id,
            "section_id": section_id,
            "indicator_code": indicator_code,
            "rule_code": rule_code,
            "period": period,
            "points": points,
            "reason": reason,
            "facts": facts,
            "ruleset_label": ruleset_label,
            "position": position,
        }
        for section_id, indicator_code, rule_code, period, points, reason, facts, ruleset_label, position in (
            LedgerLine.objects.filter(run=run)
            .order_by("section_id", "position", "pk")
            .values_list(
                "section_id",
                "indicator_code",
                "rule_code",
                "period",
                "points",
                "reason",
                "facts",
                "ruleset_label",
                "position",
            )
        )
    ]
    return scores, lines


def _check_run(run: ScoreRun, year: int, quarter: int) -> None:
    if run.is_what_if:
        raise ValidationError("模拟计分不能用于关账，请选择正式计分批次")
    if run.year != year or run.period != quarter_period(quarter):
        raise ValidationError(
            f"所选计分批次是{run.year}年{run.period}的，与关账的{year}年第{quarter}季度不符"
        )


def _notify_sections(close: QuarterClose, section_ids: Iterable[int]) -> int:
    """关账后通知各参评股室的人员：申诉期至某日。用户数与任务数无关，查询次数固定。"""
    ids = set(section_ids)
    if not ids:
        return 0
    users = User.objects.filter(is_active=True, role=Role.SECTION, section_id__in=ids).values_list(
        "pk", flat=True
    )
    link = reverse("close_detail", args=[close.pk])
    message = (
        f"{close_title(close)}考核成绩已关账，申诉期至{close.appeal_deadline:%Y-%m-%d}："
        "对本股室的扣分有异议的，请在截止日前提出申诉"
    )
    created = Notification.objects.bulk_create(
        [
            Notification(
                user_id=pk,
                kind=KIND_QUARTER_CLOSED,
                message=message,
                link=link,
                dedupe_key=f"{KIND_QUARTER_CLOSED}:{close.pk}:{pk}",
            )
            for pk in users
        ],
        ignore_conflicts=True,
    )
    return len(created)


def quarter_close(
    *,
    year: int,
    quarter: int,
    run: ScoreRun | None,
    user: User,
    request: HttpRequest | None = None,
) -> QuarterClose:
    """季度关账（仅办公室）：把该季度的任务落实情况与成绩冻结为快照，开始申诉期。

    - 季度结束后才能关账；同一季度只能关账一次（重复关账被拒绝）；
    - 冻结：计划年度为该年的每一项要落实任务（总体状态、截止日期、按关账日计的逾期与逾期工作日、
      牵头/责任股室、所属章节），该季度的每一份进展报送及其佐证材料引用（编号、名称/链接），以及所选正式计分批次的股室得分与
      全部台账行（run 为 None 时只冻结任务与报送）；
    - 申诉截止日 = 关账日起第 N 个工作日（N 为办公室设置的申诉期，按工作日历扣除节假日、计入调休上班日）；
    - 一次事务、写审计日志；查询次数固定，与任务、报送、台账的多少无关（每张快照表一条 executemany）；
    - 关账后通知各参评股室的人员申诉截止日。
    """
    require_office(user, "季度关账")
    if not 1 <= quarter <= 4:
        raise ValidationError("季度应为 1–4")
    today = timezone.localdate()
    if today <= quarter_end(year, quarter):
        raise ValidationError(f"{year}年第{quarter}季度尚未结束，不能关账")
    if run is not None:
        _check_run(run, year, quarter)
    refused = f"{year}年第{quarter}季度已关账，不能重复关账"
    if QuarterClose.objects.filter(year=year, quarter=quarter).exists():
        raise ValidationError(refused)
    window = OfficeSettings.current().appeal_window_workdays
    cal = load_calendar()
    deadline = cal.add_workdays(today, window)

    with transaction.atomic():
        try:
            with transaction.atomic():
                close = QuarterClose.objects.create(
                    year=year, quarter=quarter, run=run, appeal_deadline=deadline, closed_by=user
                )
        except IntegrityError as exc:  # closed by someone else a moment ago
            raise ValidationError(refused) from exc
        tasks = _task_snapshot_rows(year, today, cal, close.pk)
        reports = _report_snapshot_rows(year, quarter, close.pk)
        scores, lines = _score_snapshot_rows(run, close.pk) if run is not None else ([], [])
        # bulk_create splits rows into batches on SQLite (999 parameters a statement), so its query count
        # grows with the plan; one executemany per table keeps it fixed.
        insert_rows(SnapshotTask, tasks)
        insert_rows(SnapshotReport, reports)
        insert_rows(SnapshotScore, scores)
        insert_rows(SnapshotLedgerLine, lines)
        notified = _notify_sections(close, (s["section_id"] for s in scores))
        audit_record(
            action="quarter.close",
            user=user,
            obj=close,
            new={
                "run": run.pk if run is not None else None,
                "tasks": len(tasks),
                "reports": len(reports),
                "scores": len(scores),
                "lines": len(lines),
                "appeal_deadline": deadline.isoformat(),
                "appeal_window_workdays": window,
                "notified": notified,
            },
            request=request,
        )
    return close


# ---- appeals --------------------------------------------------------------------------------------------


def appeal_refusal(line: SnapshotLedgerLine, *, today: datetime.date | None = None) -> str:
    """该台账行现在不能申诉的原因（中文）；可以申诉时为空串。不查权限，只看关账状态与该行本身。"""
    close = line.close
    if close.status == QuarterCloseStatus.FINAL:
        return f"{close_title(close)}已定稿，不能再提出申诉"
    if not appeal_window_open(close, today=today):
        return f"申诉期已于{close.appeal_deadline:%Y-%m-%d}结束，不能再提出申诉"
    if line.reverses_id is not None:
        return "冲回行不能申诉"
    if line.points >= 0:
        return "只能对扣分的台账行提出申诉"
    return ""


def _appeal_snapshot(appeal: Appeal) -> dict[str, Any]:
    return {
        "line": appeal.line_id,
        "status": appeal.status,
        "reason": appeal.reason,
        "evidence": appeal.evidence_name,
        "decision_reason": appeal.decision_reason,
        "reversal": appeal.reversal_id,
    }


def appeal_submit(
    *,
    line: SnapshotLedgerLine,
    user: User,
    reason: str,
    evidence: UploadedFile | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    """股室对关账台账中的一条扣分提出申诉（理由必填，可附材料），写审计日志。规则：

    - 只能由该行所属股室的人员提出（其他人 403）；只能在申诉期内（关账日至申诉截止日，按日期含当日）、
      尚未定稿时提出；
    - 只能对扣分行（分值为负）申诉，冲回行不能申诉；
    - 同一行同时只能有一件待处理的申诉；已采纳（已冲回）的行不能再申诉；被驳回后可在申诉期内重新申诉；
    - 材料只收 pdf、docx、xlsx、jpg、png，大小不超过办公室设置的上限。
    """
    if not can_appeal(user, line):
        raise PermissionDenied("只有该台账行所属股室的人员可以申诉")
    line.close = QuarterClose.objects.get(pk=line.close_id)  # the caller's copy may predate a finalize
    refusal = appeal_refusal(line)
    if refusal:
        raise ValidationError(refusal)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "请填写申诉理由"})
    original_name = ""
    if evidence is not None:
        original_name = (evidence.name or "").replace("\\", "/").rsplit("/", 1)[-1]
        error = uploads.check_evidence_file(
            name=original_name,
            size=evidence.size or 0,
            stream=evidence,  # type: ignore[arg-type]
            max_mb=OfficeSettings.current().max_evidence_mb,
        )
        if error:
            raise ValidationError({"evidence": error})

    with transaction.atomic():
        # A second submission for the line, or a finalize, waits here (PostgreSQL) or at BEGIN (SQLite
        # IMMEDIATE); then the window is checked again.
        line.close = QuarterClose.objects.select_for_update().get(pk=line.close_id)
        refusal = appeal_refusal(line)
        if refusal:
            raise ValidationError(refusal)
        existing = set(Appeal.objects.filter(line=line).values_list("status", flat=True))
        if AppealStatus.PENDING in existing:
            raise ValidationError("该台账行已有待处理的申诉")
        if AppealStatus.ACCEPTED in existing or line.reversals.exists():
            raise ValidationError("该台账行的申诉已采纳并冲回")
        appeal = Appeal(
            close_id=line.close_id,
            line=line,
            section_id=line.section_id,
            reason=reason,
            evidence_name=original_name,
            submitted_by=user,
        )
        stored = ""
        if evidence is not None:
            appeal.evidence.save(f"{uuid.uuid4().hex[:12]}/{original_name}", evidence, save=False)
            stored = appeal.evidence.name or ""
        try:
            appeal.save()
            audit_record(
                action="appeal.submit", user=user, obj=appeal, new=_appeal_snapshot(appeal), request=request
            )
        except Exception:
            if stored:
                appeal.evidence.storage.delete(stored)
            raise
    return appeal


def reversal_reason(line: SnapshotLedgerLine, decision: str) -> str:
    """冲回行的理由：申诉采纳：〈处理意见〉，冲回「原理由」。"""
    head = f"申诉采纳：{decision}，" if decision else "申诉采纳："
    return f"{head}冲回「{line.reason}」"


def snapshot_rescore(close: QuarterClose) -> list[SnapshotScore]:
    """按冲回行重算调整后总分：调整后总分 = 关账时总分 + 该股室全部冲回行之和（四舍五入两位），没有冲回的股室
    保持原总分；等次按细则的等次线（被否决的仍为不合格）；名次按调整后总分重排（同分同名次，被否决的排最后）。
    只改有变化的行（adjusted_total、grade、rank）；原总分与原台账行不变。"""
    scores = list(SnapshotScore.objects.filter(close=close).order_by("pk"))
    if not scores:
        return []
    # Added to the frozen total rather than re-summing every line: stored lines carry 4 decimals, so a
    # re-sum could move a section that has no reversal by 0.01.
    reversed_points = dict(
        SnapshotLedgerLine.objects.filter(close=close, reverses__isnull=False)
        .values("section_id")
        .order_by("section_id")
        .annotate(points=Sum("points"))
        .values_list("section_id", "points")
    )
    rs = engine_ruleset(close.run.ruleset) if close.run is not None else None
    period = close.run.period if close.run is not None else quarter_period(close.quarter)
    results = []
    for s in scores:
        adjusted = engine.round_score(s.total + (reversed_points.get(s.section_id) or ZERO))
        if s.vetoed:
            grade = engine.FAIL_GRADE
        elif rs is not None:
            grade = engine.grade(rs, adjusted)  # the rule set's grade bands, as the engine applies them
        else:
            grade = s.grade
        results.append(_result(str(s.section_id), period, adjusted, grade, s.vetoed))
    ranks = engine.rank(results)
    changed = []
    for s, r in zip(scores, results, strict=True):
        new = (r.total, r.grade, ranks[r.unit])
        if (s.adjusted_total, s.grade, s.rank) != new:
            s.adjusted_total, s.grade, s.rank = new
            changed.append(s)
    if changed:
        SnapshotScore.objects.bulk_update(changed, ["adjusted_total", "grade", "rank"])
    return changed


def _result(unit: str, period: str, total: Decimal, grade: str, vetoed: bool) -> engine.UnitResult:
    """只有总分的引擎结果（用于名次、年度汇总）。"""
    return engine.UnitResult(unit, period, total, grade, vetoed, ZERO, ZERO, ZERO, {}, (), total)


def appeal_decide(
    *,
    appeal: Appeal,
    accept: bool,
    reason: str,
    user: User,
    request: HttpRequest | None = None,
) -> Appeal:
    """办公室处理申诉（定稿前），写审计日志：

    - 采纳：追加一条冲回行（分值为原行的相反数，理由“申诉采纳：…，冲回「原理由」”，指向被冲回的行），
      按冲回后的台账重算该股室的调整后总分与等次，并重排全部股室的名次；原台账行与原总分不变；
    - 驳回：成绩不变，必须写明理由；
    - 只能处理待处理的申诉；不能处理本人提出的申诉。
    """
    require_office(user, "处理申诉")
    reason = reason.strip()
    if not accept and not reason:
        raise ValidationError({"reason": "驳回申诉须写明理由"})
    with transaction.atomic():
        # The status update is conditional on "still pending": a second decision (another tab, a double
        # click) updates no row and is refused, on SQLite as on PostgreSQL.
        current = Appeal.objects.select_related("close__run__ruleset", "line").get(pk=appeal.pk)
        if current.status != AppealStatus.PENDING:
            raise ValidationError("该申诉已处理")
        if current.close.status == QuarterCloseStatus.FINAL:
            raise ValidationError(f"{close_title(current.close)}已定稿，不能再处理申诉")
        if current.submitted_by_id is not None and current.submitted_by_id == user.pk:
            raise ValidationError("不能处理本人提出的申诉")
        old = _appeal_snapshot(current)
        reversal = None
        if accept:
            line = current.line
            last = SnapshotLedgerLine.objects.filter(
                close_id=current.close_id, section_id=line.section_id
            ).aggregate(m=Max("position"))["m"]
            reversal = SnapshotLedgerLine.objects.create(
                close_id=current.close_id,
                section_id=line.section_id,
                indicator_code=line.indicator_code,
                rule_code=line.rule_code,
                period=line.period,
                points=ZERO - line.points,
                reason=reversal_reason(line, reason),
                facts={"appeal": current.pk, "reverses": line.pk},
                ruleset_label=line.ruleset_label,
                position=(last or 0) + 1,
                reverses=line,
            )
        now = timezone.now()
        status = AppealStatus.ACCEPTED if accept else AppealStatus.REJECTED
        updated = Appeal.objects.filter(pk=current.pk, status=AppealStatus.PENDING).update(
            status=status,
            decided_by=user,
            decided_at=now,
            decision_reason=reason,
            reversal=reversal,
        )
        if updated != 1:
            raise ValidationError("该申诉已处理")
        current.status, current.decided_by, current.decided_at = status, user, now
        current.decision_reason, current.reversal = reason, reversal
        changed = snapshot_rescore(current.close) if accept else []
        new = _appeal_snapshot(current)
        if reversal is not None:
            new["reversal_points"] = str(reversal.points)
            new["rescored"] = {str(s.section_id): [str(s.adjusted_total), s.grade, s.rank] for s in changed}
        audit_record(action="appeal.decide", user=user, obj=current, old=old, new=new, request=request)
    appeal.refresh_from_db()
    return appeal


def quarter_finalize(
    *,
    close: QuarterClose,
    user: User,
    force: bool = False,
    request: HttpRequest | None = None,
) -> QuarterClose:
    """定稿（仅办公室），写审计日志：申诉期满后定稿；申诉期内只有办公室选择“提前定稿”（force）才可以。
    两种情况都要求全部申诉已处理。定稿后不能再申诉、不能再处理申诉。"""
    require_office(user, "定稿")
    today = timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        # Serialised with appeal_submit on the close row, so no appeal slips in after the pending check.
        current = QuarterClose.objects.select_for_update().get(pk=close.pk)
        if current.status == QuarterCloseStatus.FINAL:
            raise ValidationError(f"{close_title(close)}已定稿")
        pending = Appeal.objects.filter(close=close, status=AppealStatus.PENDING).count()
        if pending:
            raise ValidationError(f"尚有{pending}件申诉未处理，不能定稿")
        if today <= current.appeal_deadline and not force:
            raise ValidationError(
                f"申诉期至{current.appeal_deadline:%Y-%m-%d}，期满后方可定稿；如需提前定稿，请勾选“提前定稿”"
            )
        updated = QuarterClose.objects.filter(pk=close.pk, status=QuarterCloseStatus.APPEAL).update(
            status=QuarterCloseStatus.FINAL, finalized_at=now
        )
        if updated != 1:
            raise ValidationError(f"{close_title(close)}已定稿")
        close.status, close.finalized_at = QuarterCloseStatus.FINAL, now
        audit_record(
            action="quarter.finalize",
            user=user,
            obj=close,
            old={"status": QuarterCloseStatus.APPEAL},
            new={
                "status": QuarterCloseStatus.FINAL,
                "forced": bool(force and today <= close.appeal_deadline),
            },
            request=request,
        )
    return close


# ---- quarter diff ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskState:
    """快照中一项任务的状态（比较用）。"""

    task_id: int
    code: str
    number_path: str
    title: str
    status: str
    overdue: bool
    workdays_overdue: int
    lead_names: str


@dataclass(frozen=True)
class ScoreState:
    """快照中一个股室的成绩（调整后总分）。"""

    section_id: int
    section: str
    total: Decimal
    grade: str
    rank: int


@dataclass(frozen=True)
class ScoreMove:
    section_id: int
    section: str
    previous: Decimal | None
    current: Decimal
    previous_rank: int | None
    rank: int
    previous_grade: str
    grade: str

    @property
    def delta(self) -> Decimal | None:
        return None if self.previous is None else self.current - self.previous


def diff_snapshots(
    *,
    tasks: Sequence[TaskState],
    previous_tasks: Sequence[TaskState],
    scores: Sequence[ScoreState],
    previous_scores: Sequence[ScoreState],
) -> dict[str, Any]:
    """两次关账之间的变化（纯函数）：

    - newly_done：本次已完成、上次未完成（或上次没有这项任务）的任务；
    - newly_overdue：本次逾期、上次未逾期（或上次没有这项任务）的任务；
    - score_movement：每个股室本次与上次的调整后总分、名次、等次（上次没有的为 None），按本次名次排列。
    任务按内部编号对应，股室按编号对应。
    """
    before = {t.task_id: t for t in previous_tasks}
    newly_done = [
        t
        for t in tasks
        if t.status == ReportStatus.DONE
        and (t.task_id not in before or before[t.task_id].status != ReportStatus.DONE)
    ]
    newly_overdue = [
        t for t in tasks if t.overdue and (t.task_id not in before or not before[t.task_id].overdue)
    ]
    prev_scores = {s.section_id: s for s in previous_scores}
    moves = []
    for s in sorted(scores, key=lambda s: (s.rank, s.section)):
        p = prev_scores.get(s.section_id)
        moves.append(
            ScoreMove(
                section_id=s.section_id,
                section=s.section,
                previous=p.total if p else None,
                current=s.total,
                previous_rank=p.rank if p else None,
                rank=s.rank,
                previous_grade=p.grade if p else "",
                grade=s.grade,
            )
        )
    return {"newly_done": newly_done, "newly_overdue": newly_overdue, "score_movement": moves}


def _task_states(close: QuarterClose | None) -> list[TaskState]:
    if close is None:
        return []
    return [
        TaskState(*row)
        for row in SnapshotTask.objects.filter(close=close)
        .order_by("pk")
        .values_list(
            "task_id_ref",
            "code",
            "number_path",
            "title",
            "status",
            "overdue",
            "workdays_overdue",
            "lead_names",
        )
    ]


def _score_states(close: QuarterClose | None) -> list[ScoreState]:
    if close is None:
        return []
    return [
        ScoreState(*row)
        for row in SnapshotScore.objects.filter(close=close)
        .order_by("rank", "section__sort_order", "section__name")
        .values_list("section_id", "section__name", "adjusted_total", "grade", "rank")
    ]


def previous_close_of(close: QuarterClose) -> QuarterClose | None:
    """上一次关账（按年度、季度排在它前面的最近一次）。"""
    return (
        QuarterClose.objects.filter(Q(year__lt=close.year) | Q(year=close.year, quarter__lt=close.quarter))
        .order_by("-year", "-quarter")
        .first()
    )


def quarter_diff(*, close: QuarterClose, previous_close: QuarterClose | None) -> dict[str, Any]:
    """两次关账之间的变化（见 diff_snapshots）；只读快照表，至多四次查询。previous_close 为 None 时视为空。"""
    return diff_snapshots(
        tasks=_task_states(close),
        previous_tasks=_task_states(previous_close),
        scores=_score_states(close),
        previous_scores=_score_states(previous_close),
    )


# ---- read helpers for the pages -------------------------------------------------------------------------


def closed_quarters() -> QuerySet[QuarterClose]:
    return QuarterClose.objects.select_related("run__ruleset", "closed_by").order_by("-year", "-quarter")


def can_close(user: User) -> bool:
    return can_compute(user)
