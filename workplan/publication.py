"""发布信息登记台账的写操作服务：拟稿、修改、提交，“三审”（初审、复审、终审）通过或退回，发布登记。

每个服务：只接受关键字参数，一次事务，写一条审计日志和一条审批步骤（PublicationReview），返回主要对象。
写入都用 version 列做乐观锁：与打开时的版本不一致即 PublicationConflict（页面返回 409）。
公开时限见 publication_deadlines.py，月度移交清单见 archive_transfer.py。
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from workplan import access, uploads
from workplan.audit import audit_record
from workplan.calendar_db import load_calendar
from workplan.models import (
    CONFIDENTIALITY_ITEMS,
    OfficeSettings,
    PublicationColumn,
    PublicationDecision,
    PublicationItem,
    PublicationLevel,
    PublicationReview,
    PublicationState,
    Role,
    Section,
    Task,
    TaskAssignment,
    User,
)
from workplan.models.publication import LEVEL_STATE, NEXT_STATE, REVIEW_LEVELS
from workplan.publication_deadlines import due_date

REVIEW_DECISIONS = {PublicationDecision.PASS: "通过", PublicationDecision.RETURN: "退回修改"}
CONFIDENTIALITY_KEYS = tuple(key for key, _label in CONFIDENTIALITY_ITEMS)


class PublicationConflict(Exception):
    """乐观锁冲突：打开之后，这条信息已被别人修改、提交、审核或登记发布。

    current 为库中最新的信息，mine 为这次提交的内容，页面据此并排展示，什么都不丢。
    """

    def __init__(self, *, current: PublicationItem, mine: dict[str, Any]) -> None:
        self.current = current
        self.mine = mine
        super().__init__("这条信息在你打开之后已被修改或审核，请对照最新内容后重新操作")


# ---- helpers -------------------------------------------------------------------------------------------


def signature_name(user: User) -> str:
    """审批卡上的签名：姓名（姓 + 名），没有填写姓名时为用户名。"""
    return (user.last_name + user.first_name).strip() or user.get_username()


def _snapshot(item: PublicationItem) -> dict[str, Any]:
    return {
        "section": item.section_id,
        "title": item.title,
        "column": item.column,
        "body": item.body,
        "attachment": item.attachment_name,
        "task": item.task_id,
        "formed_on": item.formed_on.isoformat(),
        "due_on": item.due_on.isoformat(),
        "state": item.state,
        "round": item.review_round,
        "return_comment": item.return_comment,
        "confidentiality": item.confidentiality,
        "publish_url": item.publish_url,
        "published_on": item.published_on.isoformat() if item.published_on else None,
        "version": item.version,
    }


def _reload(pk: int) -> PublicationItem:
    return PublicationItem.objects.select_related("section", "task", "created_by", "submitted_by").get(pk=pk)


def _step(
    item: PublicationItem,
    *,
    level: str,
    decision: str,
    user: User,
    comment: str = "",
    checklist: dict[str, bool] | None = None,
) -> PublicationReview:
    return PublicationReview.objects.create(
        item=item,
        review_round=item.review_round,
        level=level,
        decision=decision,
        reviewer=user,
        signer=signature_name(user),
        comment=comment,
        checklist=checklist or {},
        version=item.version,
    )


def _check_attachment(uploaded_file: UploadedFile) -> tuple[str, str]:
    """附件与佐证材料同样的检查（pdf、docx、xlsx、jpg、png；扩展名与内容相符；大小上限）。

    返回 (原文件名, 扩展名)。"""
    original_name, error = uploads.check_upload(
        uploaded_file, max_mb=OfficeSettings.current().max_evidence_mb
    )
    if error:
        raise ValidationError({"attachment": [error]})
    return original_name[:255], uploads.extension_of(original_name)


def _validate_fields(
    *,
    section: Section,
    title: str,
    column: str,
    body: str,
    has_attachment: bool,
    task: Task | None,
    formed_on: datetime.date,
    today: datetime.date,
) -> None:
    errors: dict[str, list[str]] = {}
    if not title:
        errors.setdefault("title", []).append("请填写标题")
    if column not in PublicationColumn.values:
        errors.setdefault("column", []).append("请选择栏目")
    if not body and not has_attachment:
        errors.setdefault("body", []).append("正文和附件至少要有一项")
    if formed_on > today:
        errors.setdefault("formed_on", []).append(f"信息形成日期 {formed_on:%Y-%m-%d} 晚于今天，请核对")
    if task is not None and not TaskAssignment.objects.filter(task=task, section=section).exists():
        errors.setdefault("task", []).append(f"所选任务不是{section.name}承担的任务")
    if errors:
        raise ValidationError(errors)


def _store_attachment(item: PublicationItem, uploaded_file: UploadedFile, name: str, ext: str) -> None:
    info = uploads.describe_upload(uploaded_file)
    item.attachment.save(f"{uuid.uuid4().hex}.{ext}", uploaded_file, save=False)
    item.attachment_name = name
    item.attachment_type = uploads.CONTENT_TYPES[ext]
    item.attachment_sha256 = info.sha256


# ---- 拟稿、修改、提交、删除 ----------------------------------------------------------------------------


def publication_create(
    *,
    section: Section,
    title: str,
    column: str,
    formed_on: datetime.date,
    body: str = "",
    attachment: UploadedFile | None = None,
    task: Task | None = None,
    user: User,
    request: HttpRequest | None = None,
) -> PublicationItem:
    """登记一条待发布的信息（拟稿）。规则：

    - 股室人员只能为本股室拟稿，办公室可以为任何股室拟稿；局长、只读用户不能；
    - 标题、栏目、信息形成日期必填，形成日期不能晚于今天；正文和附件至少要有一项；
    - 附件只收 pdf、docx、xlsx、jpg、png（扩展名与内容都要相符），大小不超过办公室设置的上限；
    - 对应任务可不选；选了就必须是该股室承担（牵头或责任）的任务；
    - 公开时限按当前工作日历算出（形成之日起第 20 个工作日）。
    """
    if not access.can_draft_publication(user, section.pk):
        raise PermissionDenied("只有本股室人员或办公室可以登记待发布信息")
    title, body = title.strip(), body.strip()
    _validate_fields(
        section=section,
        title=title,
        column=column,
        body=body,
        has_attachment=attachment is not None,
        task=task,
        formed_on=formed_on,
        today=timezone.localdate(),
    )
    checked = _check_attachment(attachment) if attachment is not None else None
    item = PublicationItem(
        section=section,
        title=title[:255],
        column=column,
        body=body,
        task=task,
        formed_on=formed_on,
        due_on=due_date(formed_on, cal=load_calendar()),
        created_by=user,
    )
    with transaction.atomic():
        if attachment is not None and checked is not None:
            _store_attachment(item, attachment, *checked)
        with uploads.kept_only_if_saved(item.attachment.storage, item.attachment.name or ""):
            item.save()
            audit_record(
                action="publication.create", user=user, obj=item, new=_snapshot(item), request=request
            )
    return item


def publication_update(
    *,
    item: PublicationItem,
    title: str,
    column: str,
    formed_on: datetime.date,
    body: str = "",
    attachment: UploadedFile | None = None,
    remove_attachment: bool = False,
    task: Task | None = None,
    user: User,
    expected_version: int,
    request: HttpRequest | None = None,
) -> PublicationItem:
    """修改拟稿（含被退回的稿件）。规则与拟稿相同；只有“拟稿”状态可以修改（送审中、已审定、已发布的不能）；
    expected_version 与库中不一致抛出 PublicationConflict。换附件时旧文件保留在存储中（审批历史可追溯）。"""
    if not access.can_draft_publication(user, item.section_id):
        raise PermissionDenied("只有承办股室人员或办公室可以修改这条信息")
    title, body = title.strip(), body.strip()
    mine = {"title": title, "column": column, "body": body, "formed_on": formed_on.isoformat()}
    has_attachment = attachment is not None or (bool(item.attachment) and not remove_attachment)
    _validate_fields(
        section=item.section,
        title=title,
        column=column,
        body=body,
        has_attachment=has_attachment,
        task=task,
        formed_on=formed_on,
        today=timezone.localdate(),
    )
    checked = _check_attachment(attachment) if attachment is not None else None
    due_on = due_date(formed_on, cal=load_calendar())
    with transaction.atomic():
        current = _reload(item.pk)
        if current.version != expected_version:
            raise PublicationConflict(current=current, mine=mine)
        if current.state != PublicationState.DRAFT:
            raise ValidationError(f"这条信息当前为“{current.get_state_display()}”，只有拟稿状态可以修改")
        old = _snapshot(current)
        fields: dict[str, Any] = {
            "title": title[:255],
            "column": column,
            "body": body,
            "task": task,
            "formed_on": formed_on,
            "due_on": due_on,
            "updated_at": timezone.now(),
            "version": F("version") + 1,
        }
        stored = ""
        if attachment is not None and checked is not None:
            _store_attachment(current, attachment, *checked)
            stored = current.attachment.name or ""
            fields |= {
                "attachment": stored,
                "attachment_name": current.attachment_name,
                "attachment_type": current.attachment_type,
                "attachment_sha256": current.attachment_sha256,
            }
        elif remove_attachment:
            fields |= {
                "attachment": "",
                "attachment_name": "",
                "attachment_type": "",
                "attachment_sha256": "",
            }
        with uploads.kept_only_if_saved(current.attachment.storage, stored):  # a conflict leaves no orphan
            updated = PublicationItem.objects.filter(
                pk=current.pk, version=expected_version, state=PublicationState.DRAFT
            ).update(**fields)
            if updated == 0:
                raise PublicationConflict(current=_reload(current.pk), mine=mine)
        saved = _reload(current.pk)
        audit_record(
            action="publication.update", user=user, obj=saved, old=old, new=_snapshot(saved), request=request
        )
    return saved


def publication_submit(
    *, item: PublicationItem, user: User, expected_version: int, request: HttpRequest | None = None
) -> PublicationItem:
    """提交送审：拟稿 → 待初审。每次提交开始新的一轮（送审轮次 +1），提交人记为本轮的起草人；
    被退回的意见保留在审批步骤中，信息上的退回意见清空。"""
    if not access.can_draft_publication(user, item.section_id):
        raise PermissionDenied("只有承办股室人员或办公室可以提交这条信息")
    mine = {"action": "submit"}
    with transaction.atomic():
        current = _reload(item.pk)
        if current.version != expected_version or current.state != PublicationState.DRAFT:
            raise PublicationConflict(current=current, mine=mine)
        now = timezone.now()
        updated = PublicationItem.objects.filter(
            pk=current.pk, version=expected_version, state=PublicationState.DRAFT
        ).update(
            state=PublicationState.FIRST_REVIEW,
            review_round=F("review_round") + 1,
            submitted_by=user,
            submitted_at=now,
            return_comment="",
            returned_level="",
            confidentiality={},
            updated_at=now,
            version=F("version") + 1,
        )
        if updated == 0:
            raise PublicationConflict(current=_reload(current.pk), mine=mine)
        saved = _reload(current.pk)
        _step(saved, level=PublicationLevel.SUBMIT, decision=PublicationDecision.SUBMIT, user=user)
        audit_record(
            action="publication.submit",
            user=user,
            obj=saved,
            old=_snapshot(current),
            new=_snapshot(saved),
            request=request,
        )
    return saved


def publication_delete(
    *, item: PublicationItem, user: User, expected_version: int, request: HttpRequest | None = None
) -> None:
    """删除从未提交过的拟稿（误登记、重复登记）。已送审过的信息有审批记录，不能删除，只能修改后重新提交。"""
    if not access.can_draft_publication(user, item.section_id):
        raise PermissionDenied("只有承办股室人员或办公室可以删除这条拟稿")
    with transaction.atomic():
        current = _reload(item.pk)
        if current.version != expected_version:
            raise PublicationConflict(current=current, mine={"action": "delete"})
        if current.state != PublicationState.DRAFT or current.review_round > 0:
            raise ValidationError("已提交送审过的信息不能删除")
        old = _snapshot(current)
        stored = current.attachment.name or ""
        audit_record(action="publication.delete", user=user, obj=current, old=old, request=request)
        current.delete()
    if stored:
        # After the commit: a failed delete must not leave the row pointing at a missing file.
        transaction.on_commit(lambda: current.attachment.storage.delete(stored))


# ---- 三审 ----------------------------------------------------------------------------------------------


def reviewer_problem(item: PublicationItem, user: User, level: str) -> str | None:
    """审核的独立性（角色之外的规则），不满足时返回原因，满足时 None：

    - 初审：由承办股室中提交人以外的人员担任；股室里没有其他在职人员（股室人员或该股室的办公室人员）时，
      提交人本人可以初审（审批卡上如实签名）；
    - 复审：局长角色（分管领导）担任，不会是提交人（局长不能拟稿）；
    - 终审：由提交人、本轮初审人以外的办公室人员担任；办公室没有其他在职人员时不限。
    """
    if level == PublicationLevel.FIRST:
        if user.pk != item.submitted_by_id:
            return None
        others = User.objects.filter(
            section_id=item.section_id, role__in=access.REPORTING_ROLES, is_active=True
        ).exclude(pk=user.pk)
        return "初审应由本股室提交人以外的人员担任" if others.exists() else None
    if level == PublicationLevel.FINAL:
        first = (
            item.steps.filter(
                review_round=item.review_round,
                level=PublicationLevel.FIRST,
                decision=PublicationDecision.PASS,
            )
            .order_by("-at", "-pk")
            .values_list("reviewer_id", flat=True)
            .first()
        )
        excluded = {pk for pk in (item.submitted_by_id, first) if pk is not None}
        if user.pk not in excluded:
            return None
        others = User.objects.filter(role=Role.OFFICE, is_active=True).exclude(pk__in=excluded)
        return "终审应由提交人、初审人以外的办公室人员担任" if others.exists() else None
    return None


def publication_review(
    *,
    item: PublicationItem,
    level: str,
    decision: str,
    comment: str = "",
    checklist: Iterable[str] = (),
    user: User,
    expected_version: int,
    request: HttpRequest | None = None,
) -> PublicationItem:
    """某一级审核：通过进入下一级（初审 → 复审 → 终审 → 待发布），退回则回到承办股室的拟稿状态。规则：

    - 谁能审哪一级见 access.can_review_publication，独立性见 reviewer_problem；
    - 退回必须填写意见；退回后稿件回到“拟稿”，股室修改后重新提交，从初审开始新的一轮；
    - 终审通过前必须逐项确认保密审查事项（CONFIDENTIALITY_ITEMS），确认结果存入信息与审批步骤；
    - 信息不在该级待审（已被别人审过、退回）或 expected_version 与库中不一致：PublicationConflict。
    """
    if level not in REVIEW_LEVELS:
        raise ValidationError({"level": ["未知的审核环节"]})
    if not access.can_review_publication(user, item, level):
        raise PermissionDenied(f"你不能担任这条信息的{PublicationLevel(level).label}")
    comment = comment.strip()
    checked = {key for key in checklist if key in CONFIDENTIALITY_KEYS}
    if decision not in REVIEW_DECISIONS:
        raise ValidationError({"decision": ["请选择“通过”或“退回修改”"]})
    if decision == PublicationDecision.RETURN and not comment:
        raise ValidationError({"comment": ["退回修改时必须填写意见"]})
    if level == PublicationLevel.FINAL and decision == PublicationDecision.PASS:
        missing = [label for key, label in CONFIDENTIALITY_ITEMS if key not in checked]
        if missing:
            raise ValidationError({"checklist": [f"终审通过前须确认保密审查：{'、'.join(missing)}"]})
    mine = {"level": level, "decision": decision, "comment": comment, "checklist": sorted(checked)}

    with transaction.atomic():
        current = _reload(item.pk)
        if current.version != expected_version or current.state != LEVEL_STATE[level]:
            raise PublicationConflict(current=current, mine=mine)
        problem = reviewer_problem(current, user, level)
        if problem:
            raise PermissionDenied(problem)
        fields: dict[str, Any] = {"updated_at": timezone.now(), "version": F("version") + 1}
        step_checklist: dict[str, bool] = {}
        if decision == PublicationDecision.PASS:
            fields["state"] = NEXT_STATE[level]
            if level == PublicationLevel.FINAL:
                step_checklist = {key: True for key in CONFIDENTIALITY_KEYS}
                fields["confidentiality"] = step_checklist
        else:
            fields |= {"state": PublicationState.DRAFT, "return_comment": comment, "returned_level": level}
        updated = PublicationItem.objects.filter(
            pk=current.pk, version=expected_version, state=LEVEL_STATE[level]
        ).update(**fields)
        if updated == 0:
            raise PublicationConflict(current=_reload(current.pk), mine=mine)
        saved = _reload(current.pk)
        _step(saved, level=level, decision=decision, user=user, comment=comment, checklist=step_checklist)
        audit_record(
            action="publication.review",
            user=user,
            obj=saved,
            old=_snapshot(current),
            new={**_snapshot(saved), "level": level, "decision": decision},
            request=request,
        )
    return saved


# ---- 发布登记 ------------------------------------------------------------------------------------------


def publication_publish(
    *,
    item: PublicationItem,
    publish_url: str,
    published_on: datetime.date | None,
    user: User,
    expected_version: int,
    request: HttpRequest | None = None,
) -> PublicationItem:
    """办公室登记发布（网址、发布日期）：待发布 → 已发布；已发布的可以更正网址与日期（另记一步）。规则：

    - 只有办公室；只有终审通过（待发布）或已发布的信息可以登记；
    - 网址只接受 http/https；发布日期必填，不能晚于今天，不能早于信息形成日期，
      也不能早于终审通过的日期（先审后发）；
    - 公开时限按当前工作日历重算后保存（办公室在此期间录入的节假日调整一并生效）。
    """
    if not access.can_manage_plans(user):
        raise PermissionDenied("仅办公室可以登记发布")
    publish_url = publish_url.strip()
    error = uploads.check_link(publish_url, published_on, today=timezone.localdate())
    if error:
        field = "published_on" if published_on is None or "日期" in error else "publish_url"
        raise ValidationError({field: [error]})
    assert published_on is not None  # check_link requires it
    mine = {"publish_url": publish_url, "published_on": published_on.isoformat()}
    due_on = due_date(item.formed_on, cal=load_calendar())

    with transaction.atomic():
        current = _reload(item.pk)
        allowed = (PublicationState.APPROVED, PublicationState.PUBLISHED)
        if current.version != expected_version or current.state not in allowed:
            raise PublicationConflict(current=current, mine=mine)
        if published_on < current.formed_on:
            raise ValidationError(
                {"published_on": [f"发布日期早于信息形成日期（{current.formed_on:%Y-%m-%d}）"]}
            )
        approved_at = (
            current.steps.filter(level=PublicationLevel.FINAL, decision=PublicationDecision.PASS)
            .order_by("-at", "-pk")
            .values_list("at", flat=True)
            .first()
        )
        if approved_at is not None and published_on < timezone.localdate(approved_at):
            raise ValidationError(
                {
                    "published_on": [
                        f"发布日期早于终审通过日期（{timezone.localdate(approved_at):%Y-%m-%d}），应先审后发"
                    ]
                }
            )
        updated = PublicationItem.objects.filter(
            pk=current.pk, version=expected_version, state__in=allowed
        ).update(
            state=PublicationState.PUBLISHED,
            publish_url=publish_url,
            published_on=published_on,
            due_on=due_on,
            updated_at=timezone.now(),
            version=F("version") + 1,
        )
        if updated == 0:
            raise PublicationConflict(current=_reload(current.pk), mine=mine)
        saved = _reload(current.pk)
        comment = f"{published_on:%Y-%m-%d} {publish_url}"
        if current.state == PublicationState.PUBLISHED:
            comment = f"更正：{comment}"
        _step(
            saved,
            level=PublicationLevel.PUBLISH,
            decision=PublicationDecision.PUBLISH,
            user=user,
            comment=comment,
        )
        audit_record(
            action="publication.publish",
            user=user,
            obj=saved,
            old=_snapshot(current),
            new=_snapshot(saved),
            request=request,
        )
    return saved
