"""登录 / 退出：成功与失败都写入审计日志。"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from workplan.audit import audit_record
from workplan.models import AuditEntry


class LoginView(auth_views.LoginView):
    def form_valid(self, form) -> HttpResponse:  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        audit_record(action="auth.login", user=form.get_user(), request=self.request)
        return response

    def form_invalid(self, form) -> HttpResponse:  # type: ignore[no-untyped-def]
        audit_record(
            action="auth.login_failed",
            username=(self.request.POST.get("username") or "")[:150],
            outcome=AuditEntry.Outcome.FAILURE,
            request=self.request,
        )
        return super().form_invalid(form)
