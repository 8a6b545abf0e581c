"""安全配置的辅助（等保二级）：登录失败锁定页面（django-axes）、登录与会话策略的部署检查。"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

MAX_IDLE_SECONDS = 15 * 60
MIN_LOCKOUT = datetime.timedelta(minutes=5)
MAX_FAILURES = 5


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE：连续失败达到上限（或锁定期间再次尝试）时，写审计日志并显示中文锁定页面。"""
    from axes.helpers import get_client_username, get_cool_off, get_failure_limit

    from workplan.audit import audit_record
    from workplan.models import AuditEntry

    username = (get_client_username(request, credentials) or "")[:150]
    cool_off = get_cool_off(request) or MIN_LOCKOUT
    failures = getattr(request, "axes_failures_since_start", None)
    audit_record(
        action="auth.lockout",
        username=username,
        outcome=AuditEntry.Outcome.DENIED,
        new={"failures": failures, "cooloff_seconds": int(cool_off.total_seconds())},
        request=request,
    )
    context = {
        "username": username,
        "failure_limit": get_failure_limit(request, credentials),
        "cooloff_minutes": int(cool_off.total_seconds() // 60),
    }
    return render(request, "registration/lockout.html", context, status=429)


@register(Tags.security, deploy=True)
def check_login_policy(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """部署检查（manage.py check --deploy）：环境变量不得把登录与会话策略调到低于等保二级的要求。"""
    problems: list[CheckMessage] = []
    backends = list(getattr(settings, "AUTHENTICATION_BACKENDS", []))
    if not backends or backends[0] != "axes.backends.AxesStandaloneBackend":
        problems.append(
            Warning(
                "AUTHENTICATION_BACKENDS 的第一项应为 AxesStandaloneBackend（登录失败锁定）", id="zwgk.W101"
            )
        )
    if not getattr(settings, "AXES_ENABLED", False) or settings.AXES_FAILURE_LIMIT > MAX_FAILURES:
        problems.append(Warning(f"登录失败锁定须启用且不超过 {MAX_FAILURES} 次", id="zwgk.W102"))
    cool_off = getattr(settings, "AXES_COOLOFF_TIME", None)
    if isinstance(cool_off, datetime.timedelta) and cool_off < MIN_LOCKOUT:
        problems.append(Warning("登录锁定时间不应少于 5 分钟（LOGIN_LOCKOUT_MINUTES）", id="zwgk.W103"))
    if (
        settings.SESSION_COOKIE_AGE > MAX_IDLE_SECONDS
        or getattr(settings, "SESSION_IDLE_TIMEOUT", 0) > MAX_IDLE_SECONDS
    ):
        problems.append(Warning("会话空闲超时不应超过 15 分钟（SESSION_IDLE_MINUTES）", id="zwgk.W104"))
    return problems
