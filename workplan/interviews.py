"""约谈（对整改不力的股室约谈）的写操作服务：记录约谈，为约谈添加后续整改事项。

整改事项与通报的整改事项一样答复、核验、销号（见 rectification.py）。每个服务一次事务、写一条审计日志。
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from workplan import access
from workplan.audit import audit_record
from workplan.models import CriticismNotice, Interview, NoticeStatus, RectificationItem, Section, Task, User
from workplan.rectification import item_snapshot


def interview_create(
    *,
    user: User,
    held_on: datetime.date,
    sections: Sequence[Section],
    interviewer: str,
    subject: str,
    participants: str = "",
    agreed: str = "",
    notice: CriticismNotice | None = None,
    request: HttpRequest | None = None,
) -> Interview:
    """记录一次约谈：约谈谁（至少一个股室）、何时、约谈人、参加人员、事由、议定事项，可关联一份已印发的通报。
    只有办公室可以记录；约谈日期不能晚于今天。"""
    access.require_office(user, "记录约谈")
    errors: dict[str, list[str]] = {}
    if not sections:
        errors["sections"] = ["请选择被约谈的股室"]
    if not interviewer.strip():
        errors["interviewer"] = ["请填写约谈人"]
    if not subject.strip():
        errors["subject"] = ["请填写约谈事由"]
    if held_on > timezone.localdate():
        errors["held_on"] = ["约谈日期不能晚于今天"]
    if notice is not None and notice.status != NoticeStatus.ISSUED:
        errors["notice"] = ["只能关联已印发的通报"]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        interview = Interview.objects.create(
            held_on=held_on,
            interviewer=interviewer.strip(),
            participants=participants.strip(),
            subject=subject.strip(),
            agreed=agreed.strip(),
            notice=notice,
            recorded_by=user,
        )
        interview.sections.set(sections)
        audit_record(
            action="interview.create",
            user=user,
            obj=interview,
            new={
                "held_on": held_on.isoformat(),
                "sections": [s.name for s in sections],
                "interviewer": interview.interviewer,
                "subject": interview.subject,
                "agreed": interview.agreed,
                "notice": notice.pk if notice else None,
            },
            request=request,
        )
    return interview


def interview_item_add(
    *,
    interview: Interview,
    user: User,
    section: Section,
    description: str,
    deadline: datetime.date,
    task: Task | None = None,
    request: HttpRequest | None = None,
) -> RectificationItem:
    """为约谈添加一项后续整改事项（与通报的整改事项同样答复、核验、销号）。
    只有办公室；责任股室须是被约谈的股室之一；整改内容必填。"""
    access.require_office(user, "添加整改事项")
    errors: dict[str, list[str]] = {}
    if not description.strip():
        errors["description"] = ["请填写整改内容"]
    if not interview.sections.filter(pk=section.pk).exists():
        errors["section"] = ["责任股室须是被约谈的股室"]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        item = RectificationItem.objects.create(
            interview=interview,
            section=section,
            task=task,
            description=description.strip(),
            deadline=deadline,
        )
        audit_record(
            action="rectification.add",
            user=user,
            obj=item,
            new={**item_snapshot(item), "interview": interview.pk, "section": section.name},
            request=request,
        )
    return item
