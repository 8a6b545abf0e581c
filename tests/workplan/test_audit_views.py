"""审计日志页面：仅审计管理员（workplan.view_auditentry）可看、只读、筛选（用户名、操作、结果、对象类型、日期范围）、
导出，以及查询数。办公室不再能看（三权分立）。"""

from __future__ import annotations

import csv
import datetime
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.urls import reverse

from tests.conftest import login
from workplan.audit import audit_record
from workplan.models import AuditEntry

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "audit_list"


def _at(time_machine, *args: int) -> None:
    time_machine.move_to(datetime.datetime(*args, tzinfo=SHANGHAI), tick=False)


def _csv(client, params: dict | None = None) -> list[list[str]]:
    response = client.get(reverse(URL), {**(params or {}), "_export": "csv"})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _actions(client, params: dict | None = None) -> list[str]:
    rows = _csv(client, params)
    i = rows[0].index("操作")
    return [r[i] for r in rows[1:]]


@pytest.fixture
def entries(office_user, lead_user, task, time_machine):
    _at(time_machine, 2023, 5, 31, 9, 0)
    audit_record(action="auth.login", user=office_user)
    _at(time_machine, 2023, 6, 1, 23, 30)  # 15:30 UTC: still 6 月 1 日 in Shanghai
    audit_record(action="task.assign", user=office_user, obj=task, old={"lead": ["综合股"]}, new={"lead": ["法规股"]})
    _at(time_machine, 2023, 6, 2, 8, 0)
    audit_record(action="auth.login_failed", username="lead", outcome=AuditEntry.Outcome.FAILURE)
    audit_record(action="report.submit", user=lead_user, outcome=AuditEntry.Outcome.DENIED)


class TestAccess:
    def test_the_audit_administrator_can_browse_the_log(self, as_auditor, entries):
        response = as_auditor.get(reverse(URL))
        assert response.status_code == 200
        page = response.content.decode()
        assert "task.assign" in page and "auth.login_failed" in page

    def test_a_granted_view_auditentry_permission_is_enough(self, office_user, entries):
        from django.contrib.auth.models import Permission

        office_user.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
        assert login(office_user).get(reverse(URL)).status_code == 200

    @pytest.mark.parametrize(
        "persona", ["as_office", "as_director", "as_lead", "as_resp", "as_outsider", "as_readonly"]
    )
    def test_everyone_else_gets_403(self, request, persona, entries):
        client = request.getfixturevalue(persona)
        assert client.get(reverse(URL)).status_code == 403
        assert client.get(reverse(URL), {"_export": "csv"}).status_code == 403

    def test_anonymous_is_sent_to_login(self, client, entries):
        response = client.get(reverse(URL))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    def test_it_is_read_only(self, as_auditor, entries, method):
        assert getattr(as_auditor, method)(reverse(URL)).status_code == 405
        assert AuditEntry.objects.count() == 4

    def test_the_page_offers_no_edit_or_delete(self, as_auditor, entries):
        page = as_auditor.get(reverse(URL)).content.decode()
        main = page.split("<main>")[1]
        assert 'method="post"' not in main.lower()
        assert "/admin/workplan/auditentry/" not in page
        assert main.count("<form") == 1  # the GET filter form only
        assert not any(word in main for word in ("/delete", "/change", "/edit", ">删除<", ">修改<", ">编辑<"))


class TestColumns:
    def test_it_shows_time_user_object_change_outcome_and_ip(self, as_auditor, entries, task):
        page = as_auditor.get(reverse(URL), {"action": "task."}).content.decode()
        assert "2023-06-01 23:30" in page
        assert "office" in page
        assert "工作任务" in page  # object type label, not "workplan.Task"
        assert str(task.pk) in page
        assert "{&quot;lead&quot;: [&quot;综合股&quot;]} → {&quot;lead&quot;: [&quot;法规股&quot;]}" in page

    def test_user_text_is_escaped(self, as_auditor, office_user):
        audit_record(action="x.test", user=office_user, object_repr="<script>alert(1)</script>", new={"t": "<b>"})
        page = as_auditor.get(reverse(URL)).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<b>" not in page.split("<tbody")[1]

    def test_long_changes_are_shortened_on_the_page_but_exported_in_full(self, as_auditor, office_user):
        audit_record(action="x.big", user=office_user, new={"text": "长" * 1000})
        page = as_auditor.get(reverse(URL)).content.decode()
        assert "长" * 1000 not in page
        rows = _csv(as_auditor, {"action": "x.big"})
        assert "长" * 1000 in rows[1][rows[0].index("原值 → 新值")]


class TestFilters:
    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"username": "OFF"}, ["task.assign", "auth.login"]),
            ({"username": "lead"}, ["report.submit", "auth.login_failed"]),
            ({"action": "auth."}, ["auth.login_failed", "auth.login"]),
            ({"action": "auth.login_failed"}, ["auth.login_failed"]),
            ({"outcome": "failure"}, ["auth.login_failed"]),
            ({"outcome": "denied"}, ["report.submit"]),
            ({"object_type": "workplan.Task"}, ["task.assign"]),
            ({"date_from": "2023-06-01", "date_to": "2023-06-01"}, ["task.assign"]),
            ({"date_from": "2023-06-02"}, ["report.submit", "auth.login_failed"]),
            ({"date_to": "2023-05-31"}, ["auth.login"]),
        ],
    )
    def test_it_filters(self, as_auditor, entries, params, expected):
        assert _actions(as_auditor, params) == expected

    def test_object_id_filter(self, as_auditor, entries, task):
        assert _actions(as_auditor, {"object_type": "workplan.Task", "object_id": task.pk}) == ["task.assign"]
        assert _actions(as_auditor, {"object_id": "999999"}) == []

    def test_an_invalid_date_shows_an_error_instead_of_crashing(self, as_auditor, entries):
        response = as_auditor.get(reverse(URL), {"date_from": "not-a-date"})
        assert response.status_code == 200


class TestExport:
    @pytest.mark.parametrize("fmt", ["xlsx", "csv"])
    def test_it_exports_the_filtered_rows_in_local_time(self, as_auditor, entries, fmt):
        response = as_auditor.get(reverse(URL), {"action": "task.", "_export": fmt})
        assert response.status_code == 200
        if fmt == "xlsx":
            sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
            rows = [[c.value for c in r] for r in sheet.iter_rows()]
            assert rows[1][0] == datetime.datetime(2023, 6, 1, 23, 30)
        else:
            rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
            assert rows[1][0] == "2023-06-01 23:30:00"
        assert rows[0][:3] == ["时间", "用户名", "操作"]
        assert len(rows) == 2

    def test_export_neutralises_formulae(self, as_auditor, db):
        audit_record(action="auth.login_failed", username="=HYPERLINK(\"http://x\")", outcome="failure")
        rows = _csv(as_auditor)
        assert rows[1][1] == "'=HYPERLINK(\"http://x\")"

    def test_exporting_the_log_is_itself_recorded(self, as_auditor, auditor, entries):
        rows = _csv(as_auditor, {"outcome": "failure"})
        assert len(rows) == 2
        export = AuditEntry.objects.get(action="audit.export")
        assert export.user == auditor
        assert export.new_value == {"format": "csv", "filters": {"outcome": "failure"}}
        assert "audit.export" not in [r[2] for r in rows]


@pytest.mark.parametrize("n", [10, 500])
def test_query_count_does_not_grow_with_entries(as_auditor, office_user, n, django_assert_max_num_queries):
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(user=office_user, username="office", action=f"bulk.{i % 7}", object_repr=f"对象{i}")
            for i in range(n)
        ]
    )
    # session, user, permissions (user's, groups'), header (unread notifications; the auditor has no section),
    # rows — no COUNT(*) (LazyPaginator).
    with django_assert_max_num_queries(6):
        assert as_auditor.get(reverse(URL)).status_code == 200
    with django_assert_max_num_queries(6):  # session, user, permissions (2), rows, the audit.export entry
        assert as_auditor.get(reverse(URL), {"_export": "xlsx"}).status_code == 200
