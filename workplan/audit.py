"""审计日志写入：所有写操作都经由 audit_record 追加一行。"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from workplan.models import AuditEntry, User


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # Behind the documented reverse proxy, REMOTE_ADDR is the proxy; the proxy sets X-Real-IP.
    ip = request.META.get("HTTP_X_REAL_IP") or request.META.get("REMOTE_ADDR")
    return ip or None


def audit_record(
    *,
    action: str,
    user: User | None = None,
    obj: models.Model | None = None,
    old: Any = None,
    new: Any = None,
    outcome: str = AuditEntry.Outcome.SUCCESS,
    request: HttpRequest | None = None,
    username: str = "",
    object_repr: str = "",
) -> AuditEntry:
    """追加一条审计记录（时间、用户、操作、对象、原值 → 新值、结果、IP）。"""
    if user is not None and not user.is_authenticated:
        user = None
    return AuditEntry.objects.create(
        user=user,
        username=username or (user.get_username() if user else ""),
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:255],
        old_value=old,
        new_value=new,
        outcome=outcome,
        ip=client_ip(request),
    )
