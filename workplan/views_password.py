"""修改密码：本人修改（初始密码、到期强制修改都走这里），成功与失败都写入审计日志。"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme

from workplan.audit import audit_record
from workplan.models import AuditEntry
from workplan.passwords import password_change, password_expired, password_max_age


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("password_change_done")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        max_age = password_max_age()
        context.update(
            password_expired=password_expired(self.request.user),  # type: ignore[arg-type]
            initial_password=self.request.user.password_changed_at is None,  # type: ignore[union-attr]
            max_age_days=max_age.days if max_age else None,
            next=self._next_url(),
        )
        return context

    def form_valid(self, form) -> HttpResponse:  # type: ignore[no-untyped-def]
        # Not form.save(): the service also records when the password was set and writes the audit entry.
        user = password_change(
            user=form.user, password=form.cleaned_data["new_password1"], request=self.request
        )
        update_session_auth_hash(self.request, user)
        next_url = self._next_url()
        if next_url:
            messages.success(self.request, "密码已修改。")
            return HttpResponseRedirect(next_url)
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form) -> HttpResponse:  # type: ignore[no-untyped-def]
        audit_record(
            action="auth.password_change",
            user=self.request.user,  # type: ignore[arg-type]
            outcome=AuditEntry.Outcome.FAILURE,
            new={"errors": sorted(form.errors)},
            request=self.request,
        )
        return super().form_invalid(form)

    def _next_url(self) -> str:
        url = self.request.POST.get("next") or self.request.GET.get("next") or ""
        safe = url_has_allowed_host_and_scheme(
            url, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        )
        return url if safe else ""


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"
