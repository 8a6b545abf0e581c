"""季度关账（关账快照）与定稿。

快照行只增不改：关账后任务、报送与成绩的修改不影响快照。关账后进入申诉期（申诉见 appeals.py），
申诉期满、申诉处理完毕后定稿。读取与权限见 close_access.py，两次关账之间的变化见 close_diff.py。
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from scoring.access import require_office
from scoring.appeals import appeal_submit as appeal_submit  # re-exported: tests/fuzz/conftest.py
from scoring.close_access import close_title, quarter_period
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

CLOSED_STATUSES = (ReportStatus.DONE, ReportStatus.CANNOT_COMPLETE)
KIND_QUARTER_CLOSED = "quarter_closed"


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


# ---- finalizing ----------------------------------------------------------------------------------------


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
