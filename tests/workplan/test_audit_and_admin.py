"""审计日志只能追加；管理后台注册了全部模型，且不能修改审计日志。"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from tests.factories import make_user
from workplan.audit import audit_record
from workplan.models import AuditEntry, Role


def test_every_model_of_our_apps_is_registered_in_admin(db):
    for app_label in ("workplan", "scoring"):
        for model in apps.get_app_config(app_label).get_models():
            assert admin.site.is_registered(model), f"{model.__name__} 未在管理后台注册"


def test_audit_rows_cannot_be_changed_or_deleted(office_user):
    entry = audit_record(action="test.action", user=office_user, new={"x": 1})
    entry.action = "changed"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().update(action="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().action == "test.action"


def test_superuser_cannot_edit_audit_rows_in_admin(db, client):
    root = make_user("root", role=Role.OFFICE, is_staff=True, is_superuser=True)
    entry = audit_record(action="test.action", user=root)
    client.force_login(root)
    change = client.get(reverse("admin:workplan_auditentry_change", args=[entry.pk]))
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert client.post(reverse("admin:workplan_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:workplan_auditentry_add")).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_login_failure_and_success_are_audited(client, office_user):
    response = client.post(reverse("login"), {"username": "office", "password": "wrong-password"})
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()
    failed = AuditEntry.objects.get(action="auth.login_failed")
    assert (failed.username, failed.outcome, failed.ip) == ("office", "failure", "127.0.0.1")
    response = client.post(reverse("login"), {"username": "office", "password": "Test-pass-2024"})
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="auth.login", user=office_user).exists()
