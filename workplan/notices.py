"""通报批评（《政府信息公开条例》第四十七条：督促整改或者通报批评）的写操作服务：

起草、修改（乐观锁）、印发（文号 {前缀}〔年〕N号，按年度、级别连续编号）、作废、登记上级（县、市）通报；
印发时为被点名的股室开出整改事项（答复与核验见 rectification.py，约谈见 interviews.py）。
每个服务一次事务、写一条审计日志。
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.http import HttpRequest
from django.utils import timezone

from workplan import access
from workplan.audit import audit_record
from workplan.interviews import interview_create as interview_create  # re-exported: tests/fuzz/conftest.py
from workplan.models import (
    CriticismNotice,
    IssuerLevel,
    NoticeStatus,
    NoticeUnit,
    OfficeSettings,
    RectificationItem,
    Section,
    User,
)
from workplan.rectification import VERIFY_DECISIONS as VERIFY_DECISIONS  # re-exported: forms_notices.py

# 办公室起草、修改的通报内容（公文各部分）。
NOTICE_FIELDS = (
    "year",
    "quarter",
    "period_label",
    "title",
    "recipients",
    "opening",
    "overview",
    "problems",
    "handling_opinion",
    "requirements",
    "rectification_deadline",
    "contact",
    "cc",
)
# 登记收到的上级通报时另填的字段。
RECEIVED_FIELDS = (*NOTICE_FIELDS, "issuer_level", "issuer_name", "doc_number", "received_on")
RECEIVED_LEVELS = (IssuerLevel.COUNTY, IssuerLevel.CITY)
# 编号冲突（另一人同时印发了同年度同级别的通报）时重取下一个号的次数。
NUMBER_RETRIES = 5


@dataclass(frozen=True)
class UnitEntry:
    """通报点名的一个股室及其问题。"""

    section: Section
    problems: str = ""


class NoticeConflict(Exception):
    """通报在打开之后已被修改、印发或作废：带上库中最新的通报（current）和本次提交的内容（mine）。"""

    def __init__(self, *, current: CriticismNotice, mine: Mapping[str, Any], message: str = "") -> None:
        self.current = current
        self.mine = dict(mine)
        super().__init__(message or "这份通报在你打开之后已被修改，请对照最新内容后重新提交")


class NoticeDuplicate(Exception):
    """同一触发（dedupe_key）已起草过通报。"""

    def __init__(self, existing: CriticismNotice) -> None:
        self.existing = existing
        super().__init__(f"已起草过：{existing}")


# ---- named queries ---------------------------------------------------------------------------------------


def doc_number_for(*, prefix: str, year: int, number: int) -> str:
    """局内通报的文号：{前缀}〔年〕N号（六角括号，阿拉伯数字）。"""
    return f"{prefix}〔{year}〕{number}号"


def notice_units(notice: CriticismNotice) -> list[UnitEntry]:
    return [UnitEntry(u.section, u.problems) for u in notice.units.select_related("section").order_by("pk")]


# ---- snapshots for the audit log -------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return value


def _notice_snapshot(notice: CriticismNotice) -> dict[str, Any]:
    data = {name: _jsonable(getattr(notice, name)) for name in RECEIVED_FIELDS}
    data.update(
        status=notice.status,
        number=notice.number,
        version=notice.version,
        units=[(u.section.name, u.problems) for u in notice.units.select_related("section").order_by("pk")],
    )
    return data


# ---- validation ------------------------------------------------------------------------------------------


def _clean_fields(fields: Mapping[str, Any], allowed: Sequence[str]) -> dict[str, Any]:
    """只取允许的字段；文字去掉首尾空白。"""
    data: dict[str, Any] = {}
    for name in allowed:
        if name in fields:
            value = fields[name]
            data[name] = value.strip() if isinstance(value, str) else value
    return data


def _validate_notice(data: Mapping[str, Any], units: Sequence[UnitEntry]) -> None:
    errors: dict[str, list[str]] = {}
    if not str(data.get("title") or "").strip():
        errors.setdefault("title", []).append("请填写通报标题")
    year = data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors.setdefault("year", []).append("年度应为 2000–2100 的整数")
    quarter = data.get("quarter")
    if quarter is not None and quarter not in (1, 2, 3, 4):
        errors.setdefault("quarter", []).append("季度只能是 1 到 4")
    section_ids = [u.section.pk for u in units]
    if len(section_ids) != len(set(section_ids)):
        errors.setdefault("units", []).append("同一股室只能列一次")
    if errors:
        raise ValidationError(errors)


def _write_units(notice: CriticismNotice, units: Sequence[UnitEntry]) -> None:
    """把点名股室改为 units：删去去掉的，改写问题，新增加入的。"""
    wanted = {u.section.pk: u.problems.strip() for u in units}
    existing = {u.section_id: u for u in notice.units.all()}
    NoticeUnit.objects.filter(notice=notice).exclude(section_id__in=wanted).delete()
    for section_id, problems in wanted.items():
        unit = existing.get(section_id)
        if unit is None:
            NoticeUnit.objects.create(notice=notice, section_id=section_id, problems=problems)
        elif unit.problems != problems:
            unit.problems = problems
            unit.save(update_fields=["problems"])


def _open_items(notice: CriticismNotice) -> list[RectificationItem]:
    """为通报点名的每个股室开一项整改，期限为通报的整改期限。"""
    items = [
        RectificationItem(
            notice=notice,
            section_id=unit.section_id,
            description=unit.problems or notice.requirements or notice.title,
            deadline=notice.rectification_deadline,
        )
        for unit in notice.units.order_by("pk")
    ]
    return RectificationItem.objects.bulk_create(items)


# ---- notices ---------------------------------------------------------------------------------------------


def notice_draft_create(
    *,
    user: User,
    fields: Mapping[str, Any],
    units: Sequence[UnitEntry],
    trigger_kind: str = "",
    trigger_detail: Mapping[str, Any] | None = None,
    dedupe_key: str = "",
    request: HttpRequest | None = None,
) -> CriticismNotice:
    """办公室起草一份局内通报（草稿，无文号）。规则：

    - 只有办公室可以起草；标题必填，年度 2000–2100，季度 1–4 或不填，同一股室只列一次；
    - 由触发条件起草时带 dedupe_key：同一 dedupe_key 只能起草一次（作废的也算），再起草抛出 NoticeDuplicate。
    """
    access.require_office(user, "起草通报")
    data = _clean_fields(fields, NOTICE_FIELDS)
    _validate_notice(data, units)
    try:
        with transaction.atomic():
            notice = CriticismNotice.objects.create(
                **data,
                issuer_level=IssuerLevel.BUREAU,
                status=NoticeStatus.DRAFT,
                trigger_kind=trigger_kind,
                trigger_detail=dict(trigger_detail or {}),
                dedupe_key=dedupe_key,
                created_by=user,
            )
            _write_units(notice, units)
            audit_record(
                action="notice.draft", user=user, obj=notice, new=_notice_snapshot(notice), request=request
            )
    except IntegrityError:
        existing = CriticismNotice.objects.filter(dedupe_key=dedupe_key).first() if dedupe_key else None
        if existing is None:
            raise
        raise NoticeDuplicate(existing) from None
    return notice


def notice_update(
    *,
    notice: CriticismNotice,
    user: User,
    expected_version: int,
    fields: Mapping[str, Any],
    units: Sequence[UnitEntry],
    request: HttpRequest | None = None,
) -> CriticismNotice:
    """修改草稿。规则：

    - 只有办公室可以修改，且只能改草稿：已印发的通报不可修改（更正须另发通报），作废的不再修改；
    - expected_version 为打开时的版本，与库中不一致（别人刚改过、印发或作废）抛出 NoticeConflict，
      其中保留库中最新内容和本次提交的内容。
    """
    access.require_office(user, "修改通报")
    data = _clean_fields(fields, NOTICE_FIELDS)
    mine = {**data, "units": [(u.section.pk, u.problems) for u in units]}
    _validate_notice(data, units)
    with transaction.atomic():
        current = CriticismNotice.objects.get(pk=notice.pk)
        if current.status != NoticeStatus.DRAFT:
            raise NoticeConflict(
                current=current, mine=mine, message=f"这份通报{current.get_status_display()}，不能再修改"
            )
        if current.version != expected_version:
            raise NoticeConflict(current=current, mine=mine)
        old = _notice_snapshot(current)
        updated = CriticismNotice.objects.filter(
            pk=current.pk, version=expected_version, status=NoticeStatus.DRAFT
        ).update(**data, version=F("version") + 1)
        if updated == 0:
            raise NoticeConflict(current=CriticismNotice.objects.get(pk=current.pk), mine=mine)
        saved = CriticismNotice.objects.get(pk=current.pk)
        _write_units(saved, units)
        audit_record(
            action="notice.update",
            user=user,
            obj=saved,
            old=old,
            new=_notice_snapshot(saved),
            request=request,
        )
    return saved


def _next_number(year: int, level: str) -> int:
    top = CriticismNotice.objects.filter(year=year, issuer_level=level, number__isnull=False).aggregate(
        top=Max("number")
    )["top"]
    return (top or 0) + 1


def notice_issue(
    *,
    notice: CriticismNotice,
    user: User,
    expected_version: int,
    request: HttpRequest | None = None,
) -> CriticismNotice:
    """印发局内通报。规则：

    - 只有办公室可以印发，只印发草稿；expected_version 不一致抛出 NoticeConflict；
    - 必须点名至少一个股室，并写明整改期限；
    - 编号：同一年度、同一级别内按印发先后连续编号（1, 2, 3…，草稿和作废的不占号），文号为
      {办公室设置的文号前缀}〔年〕N号；两人同时印发时由唯一约束挡住重号，后到的重新取号（不跳号）；
    - 印发后通报不可修改；印发日期记为“收到/印发日期”（考核按此日期所在期间计入 notices_bureau）；
    - 为每个被点名的股室开一项整改事项，期限为通报的整改期限。
    """
    access.require_office(user, "印发通报")
    with transaction.atomic():
        current = CriticismNotice.objects.get(pk=notice.pk)
        mine = {"action": "issue"}
        if current.status != NoticeStatus.DRAFT:
            raise NoticeConflict(
                current=current, mine=mine, message=f"这份通报{current.get_status_display()}，不能再印发"
            )
        if current.version != expected_version:
            raise NoticeConflict(current=current, mine=mine)
        if current.issuer_level != IssuerLevel.BUREAU:
            raise ValidationError("只有局内通报由本系统编号印发；上级通报请登记为收到的通报")
        errors: list[str] = []
        if not current.units.exists():
            errors.append("请至少点名一个被通报的股室")
        if current.rectification_deadline is None:
            errors.append("请填写整改期限")
        if errors:
            raise ValidationError(errors)
        old = _notice_snapshot(current)
        prefix = OfficeSettings.current().notice_prefix
        now = timezone.now()
        for _attempt in range(NUMBER_RETRIES):
            number = _next_number(current.year, current.issuer_level)
            try:
                with transaction.atomic():  # a savepoint: a concurrent issue may take the number first
                    updated = CriticismNotice.objects.filter(
                        pk=current.pk, version=expected_version, status=NoticeStatus.DRAFT
                    ).update(
                        number=number,
                        doc_number=doc_number_for(prefix=prefix, year=current.year, number=number),
                        status=NoticeStatus.ISSUED,
                        issued_at=now,
                        issued_by=user,
                        received_on=timezone.localdate(),
                        version=F("version") + 1,
                    )
            except IntegrityError:
                continue
            break
        else:
            raise ValidationError("文号分配冲突，请稍后重试")
        if updated == 0:
            raise NoticeConflict(current=CriticismNotice.objects.get(pk=current.pk), mine=mine)
        issued = CriticismNotice.objects.get(pk=current.pk)
        items = _open_items(issued)
        audit_record(
            action="notice.issue",
            user=user,
            obj=issued,
            old=old,
            new={**_notice_snapshot(issued), "items": len(items)},
            request=request,
        )
    return issued


def notice_discard(
    *,
    notice: CriticismNotice,
    user: User,
    expected_version: int,
    reason: str = "",
    request: HttpRequest | None = None,
) -> CriticismNotice:
    """作废草稿：只有办公室，只作废草稿（已印发的不能作废）。作废后保留记录和去重键，触发条件不会再起草同一份。"""
    access.require_office(user, "作废通报")
    with transaction.atomic():
        current = CriticismNotice.objects.get(pk=notice.pk)
        mine = {"action": "discard", "reason": reason}
        if current.status != NoticeStatus.DRAFT:
            raise NoticeConflict(
                current=current, mine=mine, message=f"这份通报{current.get_status_display()}，不能作废"
            )
        updated = CriticismNotice.objects.filter(
            pk=current.pk, version=expected_version, status=NoticeStatus.DRAFT
        ).update(status=NoticeStatus.DISCARDED, version=F("version") + 1)
        if updated == 0:
            raise NoticeConflict(current=current, mine=mine)
        discarded = CriticismNotice.objects.get(pk=current.pk)
        audit_record(
            action="notice.discard",
            user=user,
            obj=discarded,
            old={"status": current.status, "version": current.version},
            new={"status": discarded.status, "version": discarded.version, "reason": reason.strip()},
            request=request,
        )
    return discarded


def notice_record_received(
    *,
    user: User,
    fields: Mapping[str, Any],
    units: Sequence[UnitEntry],
    request: HttpRequest | None = None,
) -> CriticismNotice:
    """登记收到的上级通报（县、市级）。规则：

    - 只有办公室可以登记；级别只能是县（市）级或市级及以上；标题、文号、收到日期必填，至少点名一个股室；
    - 登记即生效（状态“已印发”），不可修改；考核按收到日期所在期间计入 notices_county；
    - 填写了整改期限的，为每个被点名的股室开一项整改事项。
    """
    access.require_office(user, "登记上级通报")
    data = _clean_fields(fields, RECEIVED_FIELDS)
    received_on = data.get("received_on")
    if isinstance(received_on, datetime.date) and not data.get("year"):
        data["year"] = received_on.year
    errors: dict[str, list[str]] = {}
    try:
        _validate_notice(data, units)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if data.get("issuer_level") not in RECEIVED_LEVELS:
        errors["issuer_level"] = ["请选择县（市）级或市级及以上通报"]
    if not data.get("doc_number"):
        errors["doc_number"] = ["请填写上级通报的文号"]
    if not isinstance(received_on, datetime.date):
        errors["received_on"] = ["请填写收到日期"]
    if not units:
        errors["units"] = ["请至少点名一个被通报的股室"]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        notice = CriticismNotice.objects.create(
            **data, status=NoticeStatus.ISSUED, issued_at=timezone.now(), issued_by=user, created_by=user
        )
        _write_units(notice, units)
        items = _open_items(notice) if notice.rectification_deadline else []
        audit_record(
            action="notice.receive",
            user=user,
            obj=notice,
            new={**_notice_snapshot(notice), "items": len(items)},
            request=request,
        )
    return notice
