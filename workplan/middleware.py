"""会话与密码的安全中间件（等保二级）：登录超时（空闲超过 15 分钟自动退出）、密码过期强制修改。"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from workplan.audit import audit_record
from workplan.passwords import password_expired

LAST_ACTIVITY_KEY = "zwgk_last_activity"
# Refresh the stored timestamp (and with it the session row's expiry) at most once a minute, so an active
# user does not cost a session write on every request.
ACTIVITY_REFRESH_SECONDS = 60


def idle_timeout_seconds() -> int:
    return int(getattr(settings, "SESSION_IDLE_TIMEOUT", 15 * 60))


def session_started(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """user_logged_in 的接收者：登录（含管理后台登录）即开始计算空闲时间。"""
    session = getattr(request, "session", None)
    if session is not None:
        session[LAST_ACTIVITY_KEY] = int(time.time())


class IdleTimeoutMiddleware:
    """已登录用户超过 SESSION_IDLE_TIMEOUT 秒（缺省 15 分钟）没有任何请求：退出登录并转到登录页。

    会话在数据库中的有效期（SESSION_COOKIE_AGE）与空闲时限相同，并随活动每分钟顺延一次；
    本中间件另外按会话里记下的最后活动时间判断，换用别的会话存储时同样有效，并把超时退出写入审计日志。
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last = request.session.get(LAST_ACTIVITY_KEY)
            if isinstance(last, int) and now - last > idle_timeout_seconds():
                audit_record(
                    action="auth.idle_logout", user=user, new={"idle_seconds": now - last}, request=request
                )
                logout(request)
                minutes = idle_timeout_seconds() // 60
                messages.info(request, f"超过 {minutes} 分钟未操作，已自动退出，请重新登录。")
                return redirect_to_login(request.get_full_path())
            # A clock that went backwards (last > now) is left alone rather than rewritten on every request.
            if not isinstance(last, int) or now - last >= ACTIVITY_REFRESH_SECONDS:
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


class PasswordExpiryMiddleware:
    """初始密码或密码已超过最长使用期限（PASSWORD_MAX_AGE_DAYS）：除修改密码、退出与静态文件外，
    一律先转到修改密码页面。"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._exempt: tuple[str, ...] | None = None

    def exempt_paths(self) -> tuple[str, ...]:
        if self._exempt is None:
            names = ("password_change", "password_change_done", "logout", "login", "admin:logout")
            self._exempt = (*(reverse(name) for name in names), settings.STATIC_URL)
        return self._exempt

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and password_expired(user)
            and not request.path_info.startswith(self.exempt_paths())
        ):
            url = reverse("password_change")
            if request.method == "GET":
                url += "?" + urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(url)
        return self.get_response(request)
