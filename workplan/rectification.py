"""整改事项（通报批评点名的股室、约谈议定的事项）的写操作服务：股室答复整改情况（文字 + 材料文件或链接），
办公室核验（销号 / 退回重新整改）；以及逾期的判断。每个服务一次事务、写一条审计日志，用 version 列做乐观锁。
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from workplan import access, uploads
from workplan.audit import audit_record
from workplan.models import OfficeSettings, RectificationItem, RectificationStatus, User

CLOSE = "close"
RETURN = "return"
VERIFY_DECISIONS = {CLOSE: "核验通过，销号", RETURN: "退回重新整改"}
ANSWERABLE = (RectificationStatus.OPEN, RectificationStatus.RETURNED)

_url_validator = URLValidator(schemes=["http", "https"])


class RectificationConflict(Exception):
    """整改事项在打开之后已被答复或核验：带上库中最新的事项和本次提交的内容。"""

    def __init__(self, *, current: RectificationItem, mine: Mapping[str, Any]) -> None:
        self.current = current
        self.mine = dict(mine)
        super().__init__("这项整改在你打开之后已被答复或核验，请对照最新状态后重新提交")


def overdue_items(qs: QuerySet[RectificationItem], *, today: datetime.date) -> QuerySet[RectificationItem]:
    """已过整改期限仍未销号的整改事项。"""
    return qs.filter(deadline__lt=today).exclude(status=RectificationStatus.CLOSED)


def is_overdue(item: RectificationItem, *, today: datetime.date) -> bool:
    return item.status != RectificationStatus.CLOSED and item.deadline < today


def item_snapshot(item: RectificationItem) -> dict[str, Any]:
    """审计日志中整改事项的前后对照（答复、核验、新增时记录）。"""
    return {
        "status": item.status,
        "response": item.response,
        "response_file": item.response_file_name,
        "response_link": item.response_link,
        "verify_comment": item.verify_comment,
        "return_count": item.return_count,
        "deadline": item.deadline.isoformat(),
        "version": item.version,
    }


def _check_link(url: str) -> str | None:
    if not url.lower().startswith(("http://", "https://")):
        return "链接只能是 http:// 或 https:// 开头的网址"
    if len(url) > uploads.MAX_URL_LENGTH:
        return f"链接过长（超过 {uploads.MAX_URL_LENGTH} 个字符）"
    try:
        _url_validator(url)
    except ValidationError:
        return "链接网址格式不正确"
    return None


def _reload_item(pk: int) -> RectificationItem:
    return RectificationItem.objects.select_related("notice", "interview", "section").get(pk=pk)


def rectification_answer(
    *,
    item: RectificationItem,
    user: User,
    expected_version: int,
    response: str,
    uploaded_file: UploadedFile | None = None,
    link: str = "",
    request: HttpRequest | None = None,
) -> RectificationItem:
    """股室答复整改情况。规则：

    - 只有该股室的人员（股室人员或本股室的办公室人员）可以答复；局长、只读用户不能；
    - 只答复“整改中”或“已退回”的事项；答复后为“待核验”；
    - 整改情况必填；须附整改材料：上传文件（与佐证材料同样的类型、魔数与大小检查）或 http/https 链接，
      被退回后重新答复可沿用上次的材料；
    - expected_version 不一致（办公室刚核验、同股室另一人刚答复）抛出 RectificationConflict。
    """
    if not access.can_answer_rectification(user, item):
        raise PermissionDenied("只有被通报股室的人员可以答复整改情况")
    response = response.strip()
    link = link.strip()
    mine = {"response": response, "response_link": link}
    errors: dict[str, list[str]] = {}
    if not response:
        errors["response"] = ["请填写整改情况"]
    original_name = ""
    if uploaded_file is not None:
        max_mb = OfficeSettings.current().max_evidence_mb
        original_name, error = uploads.check_upload(uploaded_file, max_mb=max_mb)
        if error:
            errors["file"] = [error]
    if link and (error := _check_link(link)):
        errors["link"] = [error]
    if uploaded_file is None and not link and not (item.response_file or item.response_link):
        errors.setdefault("file", []).append("请上传整改材料或填写材料链接")
    if errors:
        raise ValidationError(errors)

    stored_name = ""
    with transaction.atomic():
        current = _reload_item(item.pk)
        if current.version != expected_version:
            raise RectificationConflict(current=current, mine=mine)
        if current.status not in ANSWERABLE:
            raise ValidationError(f"这项整改当前为“{current.get_status_display()}”，不能答复")
        old = item_snapshot(current)
        changes: dict[str, Any] = {
            "status": RectificationStatus.SUBMITTED,
            "response": response,
            "responded_by": user,
            "responded_at": timezone.now(),
            "version": F("version") + 1,
        }
        if link:
            changes["response_link"] = link
        if uploaded_file is not None:
            ext = uploads.extension_of(original_name)
            stored_name = current.response_file.storage.save(
                current.response_file.field.generate_filename(current, f"{uuid.uuid4().hex}.{ext}"),
                uploaded_file,
            )
            changes["response_file"] = stored_name
            changes["response_file_name"] = original_name[:255]
        with uploads.kept_only_if_saved(current.response_file.storage, stored_name):
            updated = RectificationItem.objects.filter(
                pk=current.pk, version=expected_version, status__in=ANSWERABLE
            ).update(**changes)
            if updated == 0:
                raise RectificationConflict(current=_reload_item(current.pk), mine=mine)
            answered = _reload_item(current.pk)
            audit_record(
                action="rectification.answer",
                user=user,
                obj=answered,
                old=old,
                new=item_snapshot(answered),
                request=request,
            )
    return answered


def rectification_verify(
    *,
    item: RectificationItem,
    user: User,
    expected_version: int,
    decision: str,
    comment: str = "",
    request: HttpRequest | None = None,
) -> RectificationItem:
    """办公室核验整改：销号（核验通过），或退回重新整改。规则：

    - 只有办公室可以核验，只核验“待核验”的事项；
    - 退回必须写核验意见，退回次数 +1，事项回到“已退回”由股室重新答复；
    - expected_version 不一致（股室刚改过答复、别人刚核验）抛出 RectificationConflict。
    """
    access.require_office(user, "核验整改")
    comment = comment.strip()
    if decision not in VERIFY_DECISIONS:
        raise ValidationError({"decision": ["请选择“销号”或“退回”"]})
    if decision == RETURN and not comment:
        raise ValidationError({"comment": ["退回时必须填写核验意见"]})
    mine = {"decision": decision, "comment": comment}
    with transaction.atomic():
        current = _reload_item(item.pk)
        if current.version != expected_version:
            raise RectificationConflict(current=current, mine=mine)
        if current.status != RectificationStatus.SUBMITTED:
            raise ValidationError(f"这项整改当前为“{current.get_status_display()}”，不在待核验状态")
        old = item_snapshot(current)
        changes: dict[str, Any] = {
            "status": RectificationStatus.CLOSED if decision == CLOSE else RectificationStatus.RETURNED,
            "verify_comment": comment,
            "verified_by": user,
            "verified_at": timezone.now(),
            "version": F("version") + 1,
        }
        if decision == RETURN:
            changes["return_count"] = F("return_count") + 1
        updated = RectificationItem.objects.filter(
            pk=current.pk, version=expected_version, status=RectificationStatus.SUBMITTED
        ).update(**changes)
        if updated == 0:
            raise RectificationConflict(current=_reload_item(current.pk), mine=mine)
        verified = _reload_item(current.pk)
        audit_record(
            action="rectification.verify",
            user=user,
            obj=verified,
            old=old,
            new={**item_snapshot(verified), "decision": decision},
            request=request,
        )
    return verified
