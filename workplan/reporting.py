"""进展报送（进展情况）、办公室审核、佐证材料的写操作服务。

每个服务：只接受关键字参数，一次事务，写一条审计日志和一条报送历史（ReportEvent），返回主要对象。
修改与审核都用 version 列做乐观锁（SQLite 上 select_for_update 不起作用）。
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from workplan import access, uploads
from workplan.audit import audit_record
from workplan.models import (
    AssignmentRole,
    Evidence,
    OfficeSettings,
    ProgressReport,
    ReportEvent,
    ReportStatus,
    ReviewState,
    Section,
    Task,
    TaskAssignment,
    User,
)
from workplan.periods import quarter_of
from workplan.status import SectionLatest, derive_task_status

ACCEPT = "accept"
RETURN = "return"
DECISIONS = {ACCEPT: "通过", RETURN: "退回修改"}


class ReportConflict(Exception):
    """乐观锁冲突：用户打开之后，这份报送已被别人修改或审核。

    同时带上数据库里最新保存的内容（current）和用户这次提交的内容（mine），页面据此并排展示，什么都不丢。
    """

    def __init__(self, *, current: ProgressReport, mine: dict[str, Any]) -> None:
        self.current = current
        self.mine = mine
        super().__init__("这份报送在你打开之后已被修改，请对照最新内容后重新提交")

    @property
    def saved_text(self) -> str:
        return self.current.narrative

    @property
    def user_text(self) -> str:
        return str(self.mine.get("narrative", ""))


def _report_snapshot(report: ProgressReport) -> dict[str, Any]:
    return {
        "status": report.status,
        "narrative": report.narrative,
        "reason": report.reason,
        "review_state": report.review_state,
        "review_comment": report.review_comment,
        "return_count": report.return_count,
        "version": report.version,
    }


def task_status_refresh(task: Task) -> str:
    """按 derive_task_status 重算任务的总体状态并保存（有变化时）：

    取每个股室对该任务最近一季（年度、季度最大）的报送，连同当前的牵头股室名单交给 derive_task_status。
    三次查询（牵头股室、报送、一条带条件的更新），与报送条数无关。返回新的状态。
    """
    lead_ids = set(
        TaskAssignment.objects.filter(task=task, role=AssignmentRole.LEAD).values_list(
            "section_id", flat=True
        )
    )
    latest: dict[int, SectionLatest] = {}
    rows = (
        ProgressReport.objects.filter(task=task)
        .order_by("-year", "-quarter")
        .values_list("section_id", "status", "review_state")
    )
    for section_id, status, review_state in rows:
        if section_id not in latest:
            latest[section_id] = SectionLatest(
                section_id=section_id,
                is_lead=section_id in lead_ids,
                status=status,
                review_state=review_state,
            )
    new_status = derive_task_status(lead_ids, latest.values())
    # Compare with the stored value, not the in-memory one: the caller's Task may be stale.
    stale = Task.objects.filter(pk=task.pk).exclude(status=new_status)
    stale.update(status=new_status, updated_at=timezone.now())
    task.status = new_status
    return new_status


def _validate_report_fields(*, task: Task, year: int, quarter: int, status: str, reason: str) -> None:
    errors: dict[str, list[str]] = {}
    if status not in ReportStatus.values:
        errors.setdefault("status", []).append("请选择进展状态")
    if status == ReportStatus.CANNOT_COMPLETE and not reason.strip():
        errors.setdefault("reason", []).append("选择“无法完成”时必须说明原因")
    if not 1 <= quarter <= 4:
        errors.setdefault("quarter", []).append("季度只能是 1 到 4")
    elif year != task.plan.year:
        errors.setdefault("year", []).append(f"只能报送计划年度（{task.plan.year}年）内的季度")
    elif (year, quarter) > quarter_of(timezone.localdate()):
        errors.setdefault("quarter", []).append(f"{year}年第{quarter}季度尚未开始，不能报送")
    if errors:
        raise ValidationError(errors)


def report_submit(
    *,
    task: Task,
    section: Section,
    year: int,
    quarter: int,
    status: str,
    narrative: str,
    reason: str = "",
    user: User,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
) -> ProgressReport:
    """报送或修改某股室对某任务某季度的进展。规则：

    - 报送人必须属于该股室，且该股室是任务的牵头或责任股室；报送的角色取分工角色（既牵头又负责时记牵头）；
    - 只能报送计划年度内、已经开始的季度；选“无法完成”必须填写原因（其他状态不保存原因）；
    - 该季度还没有报送就新建；已有报送则修改：已通过审核的不能再改，待审核或被退回的可以改，改后回到“待审核”；
    - 修改必须带上打开时的 version（expected_version），与库中不一致就抛出 ReportConflict，
      其中同时保留库中最新内容和本次提交的内容；打开时还没有报送（expected_version=None）而现在已有，也算冲突；
    - 写入后按各股室最近一次报送重算任务总体状态。
    """
    role = access.report_role_for(user, task)
    if role is None or user.section_id != section.pk:
        raise PermissionDenied("只有该任务的牵头或责任股室人员可以报送本股室的进展")
    reason = reason.strip() if status == ReportStatus.CANNOT_COMPLETE else ""
    narrative = narrative.strip()
    _validate_report_fields(task=task, year=year, quarter=quarter, status=status, reason=reason)
    mine = {"status": status, "narrative": narrative, "reason": reason}
    now = timezone.now()

    with transaction.atomic():
        existing = ProgressReport.objects.filter(
            task=task, section=section, year=year, quarter=quarter
        ).first()
        if existing is None:
            report = _report_create(
                task=task,
                section=section,
                role=role,
                year=year,
                quarter=quarter,
                user=user,
                now=now,
                mine=mine,
            )
            action, old = ReportEvent.Action.SUBMIT, None
        else:
            if existing.review_state == ReviewState.ACCEPTED:
                raise ValidationError("这份报送已通过审核，不能再修改")
            if expected_version is None:
                raise ReportConflict(current=existing, mine=mine)
            updated = ProgressReport.objects.filter(pk=existing.pk, version=expected_version).update(
                role=role,
                status=status,
                narrative=narrative,
                reason=reason,
                review_state=ReviewState.SUBMITTED,
                submitted_by=user,
                submitted_at=now,
                version=F("version") + 1,
            )
            if updated == 0:
                current = ProgressReport.objects.select_related("task", "section").get(pk=existing.pk)
                raise ReportConflict(current=current, mine=mine)
            report = ProgressReport.objects.select_related("task", "section").get(pk=existing.pk)
            action, old = ReportEvent.Action.REVISE, _report_snapshot(existing)
        ReportEvent.objects.create(
            report=report,
            user=user,
            action=action,
            status=status,
            narrative=narrative,
            comment=reason,
            version=report.version,
        )
        task_status = task_status_refresh(task)
        audit_record(
            action=f"report.{action}",
            user=user,
            obj=report,
            old=old,
            new={**_report_snapshot(report), "task_status": task_status},
            request=request,
        )
    return report


def _report_create(
    *,
    task: Task,
    section: Section,
    role: str,
    year: int,
    quarter: int,
    user: User,
    now: datetime.datetime,
    mine: dict[str, Any],
) -> ProgressReport:
    try:
        # A savepoint: a concurrent first submission for the same quarter hits the unique constraint.
        with transaction.atomic():
            return ProgressReport.objects.create(
                task=task,
                section=section,
                role=role,
                year=year,
                quarter=quarter,
                submitted_by=user,
                submitted_at=now,
                **mine,
            )
    except IntegrityError:
        current = ProgressReport.objects.get(task=task, section=section, year=year, quarter=quarter)
        raise ReportConflict(current=current, mine=mine) from None


def report_review(
    *,
    report: ProgressReport,
    decision: str,
    comment: str,
    user: User,
    expected_version: int,
    request: HttpRequest | None = None,
) -> ProgressReport:
    """办公室审核报送：通过，或退回修改。规则：

    - 只有办公室可以审核，且只审核“待审核”的报送；
    - 退回必须写审核意见；每退回一次，退回次数 +1；
    - 与修改相同的乐观锁：expected_version 与库中不一致（股室刚改过、别人刚审过）抛出 ReportConflict；
    - 审核后重算任务总体状态（牵头股室的“已完成”“无法完成”只有通过审核才决定任务状态）。
    """
    if not access.can_review(user):
        raise PermissionDenied("仅办公室可以审核报送")
    comment = comment.strip()
    if decision not in DECISIONS:
        raise ValidationError({"decision": ["请选择“通过”或“退回修改”"]})
    if decision == RETURN and not comment:
        raise ValidationError({"comment": ["退回修改时必须填写审核意见"]})
    mine = {"decision": decision, "comment": comment}
    now = timezone.now()

    with transaction.atomic():
        current = ProgressReport.objects.select_related("task", "section").get(pk=report.pk)
        if current.version != expected_version:
            raise ReportConflict(current=current, mine=mine)
        if current.review_state != ReviewState.SUBMITTED:
            raise ValidationError(f"这份报送当前为“{current.get_review_state_display()}”，不在待审核状态")
        fields: dict[str, Any] = {
            "review_state": ReviewState.ACCEPTED if decision == ACCEPT else ReviewState.RETURNED,
            "review_comment": comment,
            "reviewed_by": user,
            "reviewed_at": now,
            "version": F("version") + 1,
        }
        if decision == RETURN:
            fields["return_count"] = F("return_count") + 1
        updated = ProgressReport.objects.filter(
            pk=current.pk, version=expected_version, review_state=ReviewState.SUBMITTED
        ).update(**fields)
        if updated == 0:
            latest = ProgressReport.objects.select_related("task", "section").get(pk=current.pk)
            raise ReportConflict(current=latest, mine=mine)
        reviewed = ProgressReport.objects.select_related("task", "section").get(pk=current.pk)
        ReportEvent.objects.create(
            report=reviewed,
            user=user,
            action=ReportEvent.Action.ACCEPT if decision == ACCEPT else ReportEvent.Action.RETURN,
            status=reviewed.status,
            narrative=reviewed.narrative,
            comment=comment,
            version=reviewed.version,
        )
        task_status = task_status_refresh(reviewed.task)
        audit_record(
            action="report.review",
            user=user,
            obj=reviewed,
            old=_report_snapshot(current),
            new={**_report_snapshot(reviewed), "decision": decision, "task_status": task_status},
            request=request,
        )
    return reviewed


def _check_evidence_writable(report: ProgressReport, user: User) -> None:
    if not access.can_write_report(user, report):
        raise PermissionDenied("只有报送所属股室或办公室可以添加、撤回佐证材料")
    if report.review_state == ReviewState.ACCEPTED:
        raise ValidationError("这份报送已通过审核，不能再添加或撤回佐证材料")


def _evidence_snapshot(evidence: Evidence) -> dict[str, Any]:
    return {
        "kind": evidence.kind,
        "name": evidence.original_name,
        "size": evidence.size,
        "sha256": evidence.sha256,
        "url": evidence.url,
        "published_on": evidence.published_on.isoformat() if evidence.published_on else None,
        "note": evidence.note,
        "removed_at": evidence.removed_at.isoformat() if evidence.removed_at else None,
    }


def evidence_add_file(
    *,
    report: ProgressReport,
    uploaded_file: UploadedFile,
    note: str = "",
    user: User,
    request: HttpRequest | None = None,
) -> Evidence:
    """为报送上传佐证文件。规则：

    - 只有报送所属股室（或办公室）可以上传，已通过审核的报送不能再加；
    - 只收 pdf、docx、xlsx、jpg/jpeg、png：扩展名和文件内容开头的字节（魔数）都要相符；
    - 大小不超过办公室设置的上限（OfficeSettings.max_evidence_mb）；
    - 保存原文件名、大小、文件类型和 sha256 指纹；存储文件名随机生成，不用上传者给的名字。
    """
    _check_evidence_writable(report, user)
    _name, error = uploads.check_upload(uploaded_file, max_mb=OfficeSettings.current().max_evidence_mb)
    if error:
        raise ValidationError({"file": [error]})
    upload = uploads.describe_upload(uploaded_file)
    with transaction.atomic():
        evidence = Evidence(
            report=report,
            kind=Evidence.Kind.FILE,
            original_name=upload.name,
            size=upload.size,
            content_type=upload.content_type,
            sha256=upload.sha256,
            note=note.strip()[:255],
            uploaded_by=user,
        )
        evidence.file.save(f"{uuid.uuid4().hex}.{upload.extension}", uploaded_file, save=False)
        with uploads.kept_only_if_saved(evidence.file.storage, evidence.file.name or ""):
            evidence.save()
            _evidence_recorded(evidence, report=report, user=user, request=request)
    return evidence


def evidence_add_link(
    *,
    report: ProgressReport,
    url: str,
    published_on: datetime.date | None,
    note: str = "",
    user: User,
    request: HttpRequest | None = None,
) -> Evidence:
    """为报送添加佐证链接（如政府网站上已公开的信息）。规则：

    - 与上传文件相同的权限：报送所属股室或办公室，已通过审核的报送不能再加；
    - 只接受 http/https 网址；必须填写该信息的发布日期，且不能晚于今天。
    """
    _check_evidence_writable(report, user)
    url = url.strip()
    error = uploads.check_link(url, published_on, today=timezone.localdate())
    if error:
        field = "published_on" if published_on is None or "日期" in error else "url"
        raise ValidationError({field: [error]})
    with transaction.atomic():
        evidence = Evidence.objects.create(
            report=report,
            kind=Evidence.Kind.LINK,
            url=url,
            published_on=published_on,
            note=note.strip()[:255],
            uploaded_by=user,
        )
        _evidence_recorded(evidence, report=report, user=user, request=request)
    return evidence


def _evidence_recorded(
    evidence: Evidence, *, report: ProgressReport, user: User, request: HttpRequest | None
) -> None:
    ReportEvent.objects.create(
        report=report,
        user=user,
        action=ReportEvent.Action.EVIDENCE_ADD,
        comment=evidence.original_name or evidence.url,
        version=report.version,
    )
    audit_record(
        action="evidence.add", user=user, obj=evidence, new=_evidence_snapshot(evidence), request=request
    )


def evidence_remove(*, evidence: Evidence, user: User, request: HttpRequest | None = None) -> Evidence:
    """撤回佐证材料（软删除）：只记撤回时间，文件和记录都保留在历史中。

    权限与添加相同；已通过审核的报送不能撤回；已撤回的再撤回不做任何事。
    """
    report = evidence.report
    _check_evidence_writable(report, user)
    if evidence.removed_at is not None:
        return evidence
    with transaction.atomic():
        old = _evidence_snapshot(evidence)
        evidence.removed_at = timezone.now()
        evidence.save(update_fields=["removed_at"])
        ReportEvent.objects.create(
            report=report,
            user=user,
            action=ReportEvent.Action.EVIDENCE_REMOVE,
            comment=evidence.original_name or evidence.url,
            version=report.version,
        )
        audit_record(
            action="evidence.remove",
            user=user,
            obj=evidence,
            old=old,
            new=_evidence_snapshot(evidence),
            request=request,
        )
    return evidence
