"""三种管理员角色（三权分立）：系统管理员、安全管理员、审计管理员——权限互不重叠、只有审计管理员能看审计日志、
授权变化写审计日志；演示数据里没有超级用户。"""

from __future__ import annotations

import io
import itertools

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tests.factories import make_section, make_user
from workplan.admin_roles import ADMIN_ROLES, AdminRoleRefused, admin_role_grant
from workplan.models import AuditEntry, Role, User
from workplan.passwords import password_expired


def _group_perms(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }


def make_admin(username: str, key: str) -> User:
    return admin_role_grant(user=make_user(username, role=Role.READONLY), key=key)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sysadmin(db):
    return make_admin("sysadmin", "system")


@pytest.fixture
def secadmin(db):
    return make_admin("secadmin", "security")


@pytest.fixture
def auditor_admin(db):
    return make_admin("auditor", "audit")


@pytest.fixture
def staff_office(sections):
    """办公室账号：可进管理后台维护计划与任务（seed_demo 的授权），不是管理员角色。"""
    from django.contrib.auth.models import Permission

    user = make_user("office", role=Role.OFFICE, section=sections["office"], is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="workplan").exclude(
            content_type__model__in=["auditentry", "user"]
        )
    )
    return user


@pytest.fixture
def member(sections):
    return make_user("member", role=Role.SECTION, section=sections["lead"])


# ---------------------------------------------------------------- the command


def test_the_command_creates_three_groups_with_disjoint_permissions(db, capsys):
    call_command("create_admin_roles")
    call_command("create_admin_roles")  # idempotent
    names = [r.name for r in ADMIN_ROLES.values()]
    assert sorted(Group.objects.filter(name__in=names).values_list("name", flat=True)) == sorted(names)
    perms = {name: _group_perms(name) for name in names}
    for a, b in itertools.combinations(names, 2):
        assert perms[a] & perms[b] == set(), (a, b)
    assert perms["审计管理员"] == {"workplan.view_auditentry"}
    assert "workplan.manage_account_security" in perms["安全管理员"]
    assert "axes.delete_accessattempt" in perms["安全管理员"]
    assert {"workplan.add_user", "workplan.change_user", "workplan.change_section"} <= perms["系统管理员"]
    assert not any(p.endswith("_auditentry") for p in perms["系统管理员"] | perms["安全管理员"])
    assert "审计管理员：1 项权限" in capsys.readouterr().out


def test_the_command_takes_away_permissions_added_by_hand(db):
    from django.contrib.auth.models import Permission

    call_command("create_admin_roles")
    group = Group.objects.get(name="安全管理员")
    group.permissions.add(Permission.objects.get(codename="view_auditentry"))
    call_command("create_admin_roles")
    assert "workplan.view_auditentry" not in _group_perms("安全管理员")


def test_the_command_assigns_a_role_and_it_is_audited(db):
    alice = make_user("alice", role=Role.READONLY)
    call_command("create_admin_roles", assign=["alice=audit"])
    alice.refresh_from_db()
    assert alice.is_staff and list(alice.groups.values_list("name", flat=True)) == ["审计管理员"]
    entry = AuditEntry.objects.get(action="user.role_change")
    assert entry.username == "manage.py create_admin_roles"
    assert (entry.old_value["groups"], entry.new_value["groups"]) == ([], ["审计管理员"])
    assert (entry.old_value["is_staff"], entry.new_value["is_staff"]) == (False, True)
    call_command("create_admin_roles", assign=["alice=audit"])  # again: nothing changes, nothing recorded
    assert AuditEntry.objects.filter(action="user.role_change").count() == 1


def test_the_first_administrators_can_be_created_with_an_initial_password(db):
    out = io.StringIO()
    call_command("create_admin_roles", assign=["zhangsan=security"], create=True, stdout=out)
    password = out.getvalue().split("初始密码 ")[1].split("（")[0]
    zhangsan = User.objects.get(username="zhangsan")
    assert zhangsan.check_password(password) and zhangsan.is_staff and not zhangsan.is_superuser
    assert password_expired(zhangsan)  # must change it at first login
    assert AuditEntry.objects.get(action="user.create").username == "manage.py create_admin_roles"


def test_one_account_cannot_hold_two_admin_roles(db):
    make_user("alice")
    call_command("create_admin_roles", assign=["alice=audit"])
    with pytest.raises(CommandError, match="已担任审计管理员，不能兼任安全管理员"):
        call_command("create_admin_roles", assign=["alice=security"])


@pytest.mark.parametrize("value", ["alice", "alice=root", "=audit", "nobody=audit"])
def test_bad_assignments_are_refused(db, value):
    make_user("alice")
    with pytest.raises(CommandError):
        call_command("create_admin_roles", assign=[value])


def test_a_superuser_is_not_given_an_admin_role(db):
    root = make_user("root", is_superuser=True, is_staff=True)
    with pytest.raises(AdminRoleRefused):
        admin_role_grant(user=root, key="system")


# ---------------------------------------------------------------- the audit log: the audit administrator only


@pytest.mark.parametrize(
    ("persona", "status"),
    [("auditor_admin", 200), ("sysadmin", 403), ("secadmin", 403), ("staff_office", 403)],
)
def test_only_the_audit_administrator_reads_the_audit_log(request, persona, status):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("admin:workplan_auditentry_changelist")).status_code == status
    assert client.get(reverse("audit_list")).status_code == status


def test_the_audit_administrator_can_do_nothing_else(auditor_admin, member):
    client = client_for(auditor_admin)
    for name in (
        "admin:workplan_user_changelist",
        "admin:workplan_section_changelist",
        "admin:axes_accessattempt_changelist",
    ):
        assert client.get(reverse(name)).status_code == 403, name
    assert client.get(reverse("admin:workplan_user_change", args=[member.pk])).status_code == 403


# ------------------------------------------------------------ the system administrator: accounts and settings


def test_the_system_administrator_maintains_accounts_and_sections(sysadmin, member):
    client = client_for(sysadmin)
    for name in (
        "admin:workplan_user_changelist",
        "admin:workplan_user_add",
        "admin:workplan_section_changelist",
        "admin:workplan_sectiongroup_changelist",
        "admin:workplan_holidayoverride_changelist",
        "admin:workplan_officesettings_changelist",
    ):
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403
    page = client.get(reverse("admin:workplan_user_change", args=[member.pk])).content.decode()
    assert 'name="username"' in page and 'name="section"' in page
    for field in ("role", "groups", "is_staff", "is_active", "is_superuser", "user_permissions"):
        assert f'name="{field}"' not in page, field


def test_a_password_set_by_the_system_administrator_must_be_changed_at_next_login(sysadmin, member):
    client = client_for(sysadmin)
    url = reverse("admin:auth_user_password_change", args=[member.pk])
    response = client.post(
        url, {"password1": "Reset-pass-2025", "password2": "Reset-pass-2025", "set_usable_password": "true"}
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password("Reset-pass-2025")
    assert member.password_changed_at is None and password_expired(member)
    entry = AuditEntry.objects.get(action="auth.password_reset")
    assert (entry.user, entry.object_id) == (sysadmin, str(member.pk))


# ---------------------------------------------------------------- the security administrator: authorization


def test_the_security_administrator_changes_roles_and_it_is_audited(secadmin, member):
    client = client_for(secadmin)
    url = reverse("admin:workplan_user_change", args=[member.pk])
    page = client.get(url).content.decode()
    assert 'name="role"' in page and 'name="groups"' in page and 'name="is_active"' in page
    assert (
        'name="username"' not in page and 'name="section"' not in page and 'name="is_superuser"' not in page
    )
    response = client.post(url, {"role": Role.OFFICE, "is_active": "on", "is_staff": "on", "_save": "1"})
    assert response.status_code == 302, response.content.decode()[:3000]
    member.refresh_from_db()
    assert (member.role, member.is_staff, member.username) == (Role.OFFICE, True, "member")
    entry = AuditEntry.objects.get(action="user.role_change", object_id=str(member.pk))
    assert entry.user == secadmin
    assert (entry.old_value["role"], entry.new_value["role"]) == ("section", "office")
    assert (entry.old_value["is_staff"], entry.new_value["is_staff"]) == (False, True)
    assert entry.new_value["section"] == "综合股"


def test_the_security_administrator_cannot_create_accounts_or_set_passwords(secadmin, member):
    client = client_for(secadmin)
    assert client.get(reverse("admin:workplan_user_add")).status_code == 403
    assert client.get(reverse("admin:auth_user_password_change", args=[member.pk])).status_code == 403
    assert client.get(reverse("admin:workplan_section_changelist")).status_code == 403


def test_the_security_administrator_cannot_change_their_own_authorization(secadmin):
    page = (
        client_for(secadmin).get(reverse("admin:workplan_user_change", args=[secadmin.pk])).content.decode()
    )
    assert 'name="role"' not in page and 'name="groups"' not in page


def test_the_security_administrator_unlocks_accounts_and_it_is_audited(secadmin):
    attempt = AccessAttempt.objects.create(
        username="member",
        ip_address="10.0.0.7",
        user_agent="x",
        failures_since_start=5,
        get_data="",
        post_data="",
    )
    client = client_for(secadmin)
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 200
    response = client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    entry = AuditEntry.objects.get(action="auth.unlock")
    assert entry.user == secadmin and entry.old_value == {
        "username": "member",
        "ip": "10.0.0.7",
        "failures": 5,
    }


def test_the_security_administrator_can_require_a_password_change(secadmin, member):
    response = client_for(secadmin).post(
        reverse("admin:workplan_user_changelist"),
        {"action": "require_password_change", "_selected_action": [member.pk]},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.password_changed_at is None
    assert AuditEntry.objects.filter(
        action="auth.password_change_required", object_id=str(member.pk)
    ).exists()


def test_the_admin_form_refuses_two_admin_roles_for_one_account(db, member):
    from workplan.admin_roles import admin_roles_sync

    groups = admin_roles_sync()
    root = make_user("root", is_superuser=True, is_staff=True)
    url = reverse("admin:workplan_user_change", args=[member.pk])
    data = {
        "username": "member",
        "role": Role.SECTION,
        "is_active": "on",
        "groups": [groups["audit"].pk, groups["security"].pk],
        "_save": "1",
    }
    response = client_for(root).post(url, data)
    assert response.status_code == 200
    assert "三种管理员角色须由不同账号担任" in response.content.decode()
    assert not member.groups.exists()


def test_a_superuser_creating_an_account_is_audited(db):
    root = make_user("root", is_superuser=True, is_staff=True)
    section = make_section("统计股")
    response = client_for(root).post(
        reverse("admin:workplan_user_add"),
        {
            "username": "newcomer",
            "usable_password": "true",
            "password1": "First-pass-2025",
            "password2": "First-pass-2025",
            "role": Role.SECTION,
            "section": section.pk,
            "_save": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    newcomer = User.objects.get(username="newcomer")
    assert newcomer.password_changed_at is None  # an initial password: changed at first login
    entry = AuditEntry.objects.get(action="user.create")
    assert entry.old_value is None and entry.new_value["section"] == "统计股"


# ---------------------------------------------------------------- demo data


def test_demo_data_has_no_superuser_and_one_account_per_admin_role(db, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.filter(is_superuser=True).exists()
    holders = {
        role.name: list(User.objects.filter(groups__name=role.name).values_list("username", flat=True))
        for role in ADMIN_ROLES.values()
    }
    assert holders == {"系统管理员": ["sysadmin"], "安全管理员": ["secadmin"], "审计管理员": ["auditor"]}
    assert not any(password_expired(u) for u in User.objects.all())  # demo users are not forced at once
    office = User.objects.get(username="office")
    assert office.is_staff and not office.has_perm("workplan.view_auditentry")
    assert User.objects.get(username="auditor").has_perm("workplan.view_auditentry")
    call_command("seed_demo", stdout=io.StringIO())  # again: nothing new
    assert User.objects.filter(groups__name__in=[r.name for r in ADMIN_ROLES.values()]).count() == 3
