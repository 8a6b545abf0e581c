"""依申请公开（政府信息公开申请）的写操作服务：登记、修改、补正、征求意见、延期、答复、行政复议 / 行政诉讼。

收到申请之日与答复期限的规则见 workplan/application_clock.py；登记簿的读取与提醒见
workplan/application_register.py。每个写服务：关键字参数，一次事务，写一条审计日志（不含申请人姓名与申请内容），
返回申请（或复议诉讼记录）。
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from workplan import access
from workplan.application_clock import cn_date, receipt_date
from workplan.application_register import clock_of, with_clock_data
from workplan.audit import audit_record
from workplan.models import (
    AppealKind,
    AppealResult,
    ApplicantType,
    Application,
    ApplicationAppeal,
    ApplicationConsultation,
    ApplicationCorrection,
    ApplicationResult,
    ReceiptChannel,
    User,
)
from workplan.workdays import WorkdayCalendar

# 可由表单修改的申请字段（收到申请之日由提交方式与日期推出，不直接填写）。
APPLICATION_FIELDS = (
    "channel",
    "submitted_on",
    "acknowledged_on",
    "applicant_type",
    "applicant_name",
    "content",
    "section",
)
CODE_RETRIES = 5


# ---- validation ------------------------------------------------------------------------------------------


def _error(field_name: str, message: str) -> ValidationError:
    return ValidationError({field_name: [message]})


def _check_not_future(day: datetime.date | None, field_name: str, what: str) -> None:
    if day is not None and day > timezone.localdate():
        raise _error(field_name, f"{what}不能晚于今天")


def _clean_application(fields: Mapping[str, Any]) -> dict[str, Any]:
    data = {name: fields.get(name) for name in APPLICATION_FIELDS}
    errors: dict[str, list[str]] = {}
    for name in ("applicant_name", "content"):
        data[name] = str(data[name] or "").strip()
        if not data[name]:
            errors.setdefault(name, []).append("必填")
    if data["channel"] not in ReceiptChannel.values:
        errors.setdefault("channel", []).append("请选择提交方式")
    if data["applicant_type"] not in ApplicantType.values:
        errors.setdefault("applicant_type", []).append("请选择申请人类型")
    if data["section"] is None:
        errors.setdefault("section", []).append("请选择承办股室")
    if data["submitted_on"] is None:
        errors.setdefault("submitted_on", []).append("请填写提交日期")
    elif data["channel"] in ReceiptChannel.values:
        if data["channel"] == ReceiptChannel.IN_PERSON:
            data["acknowledged_on"] = None
        try:
            data["received_on"] = receipt_date(data["channel"], data["submitted_on"], data["acknowledged_on"])
        except ValueError as exc:
            errors.setdefault("acknowledged_on", []).append(str(exc))
        else:
            if data["received_on"] > timezone.localdate():
                errors.setdefault("acknowledged_on", []).append("收到申请之日不能晚于今天")
    if errors:
        raise ValidationError(errors)
    return data


def _validate_history(application: Application) -> None:
    """补正、征求意见、答复、延期的日期不能早于收到申请之日（修改收到日期时也检查）。"""
    received = application.received_on
    firsts = [c.sent_on for c in application.corrections.all()]
    firsts += [c.started_on for c in application.consultations.all()]
    if application.replied_on is not None:
        firsts.append(application.replied_on)
    if application.extension_approved_on is not None:
        firsts.append(application.extension_approved_on)
    if firsts and min(firsts) < received:
        raise _error("acknowledged_on", f"已登记的办理记录早于收到申请之日（{cn_date(received)}）")


def _snapshot(application: Application) -> dict[str, Any]:
    """审计用：不含申请人姓名与申请内容（个人信息）。"""

    def iso(day: datetime.date | None) -> str | None:
        return day.isoformat() if day else None

    return {
        "code": application.code,
        "channel": application.channel,
        "submitted_on": iso(application.submitted_on),
        "acknowledged_on": iso(application.acknowledged_on),
        "received_on": iso(application.received_on),
        "applicant_type": application.applicant_type,
        "section": application.section_id,
        "extended": application.extended,
        "extension_approved_on": iso(application.extension_approved_on),
        "replied_on": iso(application.replied_on),
        "result": application.result,
    }


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _fresh(application: Application) -> Application:
    return with_clock_data(Application.objects.filter(pk=application.pk)).get()


# ---- writes ----------------------------------------------------------------------------------------------


def _next_code(year: int) -> str:
    codes = Application.objects.filter(code__startswith=f"{year}-").values_list("code", flat=True)
    numbers = [int(c.split("-", 1)[1]) for c in codes if c.split("-", 1)[1].isdigit()]
    return f"{year}-{max(numbers, default=0) + 1:03d}"


def application_create(
    *, user: User, fields: Mapping[str, Any], request: HttpRequest | None = None
) -> Application:
    """办公室登记一件申请：收到申请之日按 receipt_date 推出（不能晚于今天），编号为“{收到年度}-{序号}”，
    两人同时登记取到同一编号时重新取号。"""
    _require(access.can_manage_plans(user), "仅办公室可以登记申请")
    data = _clean_application(fields)
    year = data["received_on"].year
    for _attempt in range(CODE_RETRIES):
        try:
            with transaction.atomic():
                application = Application.objects.create(**data, code=_next_code(year), created_by=user)
                audit_record(
                    action="application.create",
                    user=user,
                    obj=application,
                    new=_snapshot(application),
                    request=request,
                )
            return application
        except IntegrityError:
            continue
    raise ValidationError("登记编号分配冲突，请稍后重试")


def application_update(
    *, application: Application, user: User, fields: Mapping[str, Any], request: HttpRequest | None = None
) -> Application:
    """办公室修改登记信息（提交方式与日期、申请人、内容、承办股室）。已登记的补正、征求意见、延期、答复
    不能因此早于收到申请之日。编号不变。"""
    _require(access.can_manage_plans(user), "仅办公室可以修改申请")
    data = _clean_application(fields)
    with transaction.atomic():
        current = _fresh(application)
        old = _snapshot(current)
        for name, value in data.items():
            setattr(current, name, value)
        _validate_history(current)
        current.save(update_fields=[*data, "updated_at"])
        audit_record(
            action="application.update",
            user=user,
            obj=current,
            old=old,
            new=_snapshot(current),
            request=request,
        )
    return current


def _handled(application: Application, user: User, *, what: str) -> Application:
    _require(access.can_handle_application(user, application), f"只有承办股室人员或办公室可以{what}")
    current = _fresh(application)
    if current.replied_on is not None:
        raise ValidationError(f"这件申请已答复，不能再{what}")
    return current


def correction_send(
    *,
    application: Application,
    user: User,
    sent_on: datetime.date,
    note: str = "",
    request: HttpRequest | None = None,
) -> Application:
    """告知补正（承办股室或办公室）：答复期限停止计算。不早于收到申请之日，不晚于今天；上一次补正尚未收回时
    不能再告知。"""
    with transaction.atomic():
        current = _handled(application, user, what="告知补正")
        _check_not_future(sent_on, "sent_on", "告知补正日期")
        if sent_on < current.received_on:
            raise _error("sent_on", "告知补正日期不能早于收到申请之日")
        if any(c.returned_on is None for c in current.corrections.all()):
            raise _error("sent_on", "上一次补正尚未收到，请先登记收到补正的日期")
        correction = ApplicationCorrection.objects.create(
            application=current, sent_on=sent_on, note=note.strip()[:255], recorded_by=user
        )
        audit_record(
            action="application.correction_send",
            user=user,
            obj=current,
            new={"correction": correction.pk, "sent_on": sent_on.isoformat()},
            request=request,
        )
    return current


@dataclass(frozen=True)
class _Pause:
    """一种计时停止（补正、征求意见）：申请上的记录、开始与结束日期字段，登记结束时的审计动作与中文提示。"""

    records: str  # related name on Application
    started: str  # the day the clock stopped
    ended: str  # the day it resumes; also the form field that errors attach to
    audit_key: str
    action: str
    what: str
    ended_label: str
    started_label: str
    none_pending: str


_CORRECTION = _Pause(
    records="corrections",
    started="sent_on",
    ended="returned_on",
    audit_key="correction",
    action="application.correction_return",
    what="登记收到补正",
    ended_label="收到补正日期",
    started_label="告知补正日期",
    none_pending="没有待收回的补正",
)
_CONSULTATION = _Pause(
    records="consultations",
    started="started_on",
    ended="ended_on",
    audit_key="consultation",
    action="application.consultation_end",
    what="登记收到意见",
    ended_label="收到意见日期",
    started_label="发出日期",
    none_pending="没有未结束的征求意见",
)


def _pause_end(
    *,
    kind: _Pause,
    application: Application,
    user: User,
    day: datetime.date,
    pause_id: int | None = None,
    request: HttpRequest | None,
) -> Application:
    """恢复计时：结束最早一项尚未结束的补正或征求意见（给了 pause_id 时只看那一项）。结束日期不早于
    停止之日、不晚于今天。"""
    with transaction.atomic():
        current = _handled(application, user, what=kind.what)
        _check_not_future(day, kind.ended, kind.ended_label)
        pending = [
            p
            for p in getattr(current, kind.records).all()
            if getattr(p, kind.ended) is None and pause_id in (None, p.pk)
        ]
        if not pending:
            raise _error(kind.ended, kind.none_pending)
        pause = pending[0]
        if day < getattr(pause, kind.started):
            raise _error(kind.ended, f"{kind.ended_label}不能早于{kind.started_label}")
        setattr(pause, kind.ended, day)
        pause.save(update_fields=[kind.ended])
        audit_record(
            action=kind.action,
            user=user,
            obj=current,
            new={kind.audit_key: pause.pk, kind.ended: day.isoformat()},
            request=request,
        )
    return current


def correction_return(
    *, application: Application, user: User, returned_on: datetime.date, request: HttpRequest | None = None
) -> Application:
    """收到补正：答复期限自次日起重新计算 20 个工作日。收到日期不早于告知日期、不晚于今天。"""
    return _pause_end(kind=_CORRECTION, application=application, user=user, day=returned_on, request=request)


def consultation_start(
    *,
    application: Application,
    user: User,
    party: str,
    started_on: datetime.date,
    request: HttpRequest | None = None,
) -> Application:
    """发出征求意见：从这天起到收到意见之日的工作日不计入答复期限。"""
    with transaction.atomic():
        current = _handled(application, user, what="征求意见")
        _check_not_future(started_on, "started_on", "征求意见日期")
        if started_on < current.received_on:
            raise _error("started_on", "征求意见日期不能早于收到申请之日")
        if not party.strip():
            raise _error("party", "请填写征求意见对象")
        consultation = ApplicationConsultation.objects.create(
            application=current, party=party.strip()[:128], started_on=started_on, recorded_by=user
        )
        audit_record(
            action="application.consultation_start",
            user=user,
            obj=current,
            new={"consultation": consultation.pk, "started_on": started_on.isoformat()},
            request=request,
        )
    return current


def consultation_end(
    *,
    application: Application,
    user: User,
    ended_on: datetime.date,
    consultation_id: int | None = None,
    request: HttpRequest | None = None,
) -> Application:
    """收到意见（或征求意见期满）：恢复计算答复期限。不指定时结束最早的一项未结束的征求意见。"""
    return _pause_end(
        kind=_CONSULTATION,
        application=application,
        user=user,
        day=ended_on,
        pause_id=consultation_id,
        request=request,
    )


def extension_grant(
    *,
    application: Application,
    user: User,
    approved_by: str,
    approved_on: datetime.date,
    reason: str,
    cal: WorkdayCalendar,
    request: HttpRequest | None = None,
) -> Application:
    """延长答复期限 20 个工作日（第三十三条）：须经政府信息公开工作机构负责人同意（登记批准人、日期、理由），
    只能延期一次，且须在原答复期限内批准；计时停止（待补正、征求意见中）时不能延期。办公室登记。"""
    _require(access.can_manage_plans(user), "仅办公室可以登记延期")
    with transaction.atomic():
        current = _handled(application, user, what="延期")
        errors: dict[str, list[str]] = {}
        if current.extended:
            errors["approved_on"] = ["已经延期过一次，不能再延期"]
        if not approved_by.strip():
            errors["approved_by"] = ["请填写批准人（政府信息公开工作机构负责人）"]
        if not reason.strip():
            errors["reason"] = ["请填写延期理由"]
        clock = clock_of(current, cal)
        if clock.original_due_on is None:
            errors.setdefault("approved_on", []).append(f"计时已停止（{clock.status_label}），不能延期")
        elif not current.received_on <= approved_on <= clock.original_due_on:
            errors.setdefault("approved_on", []).append(
                f"延期须在原答复期限内（{cn_date(current.received_on)}至{cn_date(clock.original_due_on)}）批准"
            )
        if errors:
            raise ValidationError(errors)
        old = _snapshot(current)
        current.extended = True
        current.extension_approved_by = approved_by.strip()[:64]
        current.extension_approved_on = approved_on
        current.extension_reason = reason.strip()[:255]
        current.save(
            update_fields=[
                "extended",
                "extension_approved_by",
                "extension_approved_on",
                "extension_reason",
                "updated_at",
            ]
        )
        audit_record(
            action="application.extend",
            user=user,
            obj=current,
            old=old,
            new={**_snapshot(current), "approved_by": current.extension_approved_by},
            request=request,
        )
    return current


def reply_record(
    *,
    application: Application,
    user: User,
    replied_on: datetime.date,
    result: str,
    note: str = "",
    request: HttpRequest | None = None,
) -> Application:
    """登记答复（办结）：日期不早于收到申请之日、不晚于今天，结果为表三的一行；仍在征求意见的须先登记收到意见。
    已答复的由办公室更正（承办股室不能改已答复的记录）。"""
    _require(access.can_handle_application(user, application), "只有承办股室人员或办公室可以登记答复")
    with transaction.atomic():
        current = _fresh(application)
        if current.replied_on is not None and not access.can_manage_plans(user):
            raise ValidationError("这件申请已答复，如需更正请联系办公室")
        errors: dict[str, list[str]] = {}
        if result not in ApplicationResult.values:
            errors["result"] = ["请选择办理结果"]
        if replied_on < current.received_on:
            errors["replied_on"] = ["答复日期不能早于收到申请之日"]
        elif replied_on > timezone.localdate():
            errors["replied_on"] = ["答复日期不能晚于今天"]
        if any(c.ended_on is None for c in current.consultations.all()):
            errors.setdefault("replied_on", []).append("仍在征求意见，请先登记收到意见的日期")
        if errors:
            raise ValidationError(errors)
        old = _snapshot(current)
        current.replied_on, current.result, current.reply_note = replied_on, result, note.strip()
        current.save(update_fields=["replied_on", "result", "reply_note", "updated_at"])
        audit_record(
            action="application.reply",
            user=user,
            obj=current,
            old=old,
            new=_snapshot(current),
            request=request,
        )
    return current


def _clean_appeal(
    application: Application,
    *,
    kind: str,
    filed_on: datetime.date,
    result: str,
    decided_on: datetime.date | None,
) -> None:
    errors: dict[str, list[str]] = {}
    if kind not in AppealKind.values:
        errors["kind"] = ["请选择类型"]
    if result not in AppealResult.values:
        errors["result"] = ["请选择结果"]
    if filed_on < application.received_on:
        errors["filed_on"] = ["申请复议 / 起诉日期不能早于收到申请之日"]
    elif filed_on > timezone.localdate():
        errors["filed_on"] = ["申请复议 / 起诉日期不能晚于今天"]
    if result == AppealResult.PENDING and decided_on is not None:
        errors["decided_on"] = ["尚未审结的不填决定 / 判决日期"]
    if result != AppealResult.PENDING:
        if decided_on is None:
            errors["decided_on"] = ["已审结的请填写决定 / 判决日期"]
        elif decided_on < filed_on:
            errors["decided_on"] = ["决定 / 判决日期不能早于申请复议 / 起诉日期"]
        elif decided_on > timezone.localdate():
            errors["decided_on"] = ["决定 / 判决日期不能晚于今天"]
    if errors:
        raise ValidationError(errors)


def _appeal_snapshot(appeal: ApplicationAppeal) -> dict[str, Any]:
    return {
        "kind": appeal.kind,
        "filed_on": appeal.filed_on.isoformat(),
        "result": appeal.result,
        "decided_on": appeal.decided_on.isoformat() if appeal.decided_on else None,
    }


def appeal_record(
    *,
    application: Application,
    user: User,
    kind: str,
    filed_on: datetime.date,
    result: str = AppealResult.PENDING,
    decided_on: datetime.date | None = None,
    note: str = "",
    request: HttpRequest | None = None,
) -> ApplicationAppeal:
    """办公室登记因该申请引起的行政复议或行政诉讼；尚未审结的不填决定日期，已审结的必须填。"""
    _require(access.can_manage_plans(user), "仅办公室可以登记行政复议、行政诉讼")
    _clean_appeal(application, kind=kind, filed_on=filed_on, result=result, decided_on=decided_on)
    with transaction.atomic():
        appeal = ApplicationAppeal.objects.create(
            application=application,
            kind=kind,
            filed_on=filed_on,
            result=result,
            decided_on=decided_on,
            note=note.strip()[:255],
            recorded_by=user,
        )
        audit_record(
            action="application.appeal_create",
            user=user,
            obj=application,
            new={"appeal": appeal.pk, **_appeal_snapshot(appeal)},
            request=request,
        )
    return appeal


def appeal_update(
    *,
    appeal: ApplicationAppeal,
    user: User,
    kind: str,
    filed_on: datetime.date,
    result: str,
    decided_on: datetime.date | None,
    note: str = "",
    request: HttpRequest | None = None,
) -> ApplicationAppeal:
    """办公室更新复议 / 诉讼（多为登记审结结果）。规则同 appeal_record。"""
    _require(access.can_manage_plans(user), "仅办公室可以修改行政复议、行政诉讼")
    _clean_appeal(appeal.application, kind=kind, filed_on=filed_on, result=result, decided_on=decided_on)
    with transaction.atomic():
        old = _appeal_snapshot(appeal)
        appeal.kind, appeal.filed_on, appeal.result, appeal.decided_on = kind, filed_on, result, decided_on
        appeal.note = note.strip()[:255]
        appeal.save(update_fields=["kind", "filed_on", "result", "decided_on", "note"])
        audit_record(
            action="application.appeal_update",
            user=user,
            obj=appeal.application,
            old={"appeal": appeal.pk, **old},
            new={"appeal": appeal.pk, **_appeal_snapshot(appeal)},
            request=request,
        )
    return appeal
