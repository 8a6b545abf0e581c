"""等保二级的安全要求：登录失败锁定、会话空闲超时、密码复杂度与最长使用期限（强制修改密码）。"""

from __future__ import annotations

import datetime
import importlib
from zoneinfo import ZoneInfo

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from config.security import check_login_policy
from tests.factories import make_user
from workplan.models import AuditEntry, Role, User
from workplan.passwords import (
    CharacterClassValidator,
    NotCurrentPasswordValidator,
    character_classes,
    password_expired,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime.datetime(2024, 3, 1, 9, 0, tzinfo=SHANGHAI)
PASSWORD = "Test-pass-2024"  # tests.factories.make_user
NEW_PASSWORD = "Neues-Pass-2025"


def _at(time_machine, moment: datetime.datetime) -> None:
    time_machine.move_to(moment, tick=False)


def _login(client: Client, username: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def _is_login_redirect(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


# ---------------------------------------------------------------- password rules (pure)


@pytest.mark.parametrize(
    ("password", "classes"),
    [
        ("abcdefgh", 1),
        ("abcdefg1", 2),
        ("Abcdefg1", 3),
        ("abcdef1!", 3),
        ("Abcdef1!", 4),
        ("ABCDEFGH", 1),
        ("abcd efg", 2),  # a space is a symbol
        ("密码abcd12", 3),  # so is any other character
    ],
)
def test_character_classes_are_counted(password, classes):
    assert character_classes(password) == classes


@pytest.mark.parametrize("password", ["abcdefgh1", "ABCDEFGH1", "abcdefgh!", "12345678!"])
def test_two_classes_are_refused_with_a_chinese_message(password):
    with pytest.raises(ValidationError) as excinfo:
        CharacterClassValidator(min_classes=3).validate(password)
    assert excinfo.value.messages == ["密码须包含大写字母、小写字母、数字、符号中的至少 3 类。"]


@pytest.mark.parametrize("password", ["Abcdefg1", "abcdef1!", "ABCDEF1!", "Ab-cdefg"])
def test_three_classes_pass(password):
    CharacterClassValidator(min_classes=3).validate(password)


def test_the_new_password_must_differ_from_the_current_one():
    user = User(username="u")
    user.set_password("Same-pass-2024")
    with pytest.raises(ValidationError) as excinfo:
        NotCurrentPasswordValidator().validate("Same-pass-2024", user)
    assert excinfo.value.messages == ["新密码不能与当前密码相同。"]
    NotCurrentPasswordValidator().validate("Other-pass-2024", user)
    NotCurrentPasswordValidator().validate("Other-pass-2024", None)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1!", "密码太短，至少需要 8 个字符。"),
        ("abcdefghijk", "密码须包含大写字母、小写字母、数字、符号中的至少 3 类。"),
    ],
)
def test_configured_validators_refuse_short_or_simple_passwords(password, message):
    with pytest.raises(ValidationError) as excinfo:
        validate_password(password)
    assert message in excinfo.value.messages


def test_demo_and_test_passwords_satisfy_the_policy():
    validate_password("Zwgk-demo-2023")
    validate_password(PASSWORD)


@pytest.mark.parametrize(
    ("changed_days_ago", "max_age", "expired"),
    [(None, 90, True), (89, 90, False), (90, 90, False), (91, 90, True), (400, 0, False), (None, 0, True)],
)
def test_password_expiry(settings, changed_days_ago, max_age, expired):
    settings.PASSWORD_MAX_AGE_DAYS = max_age
    now = T0
    changed = None if changed_days_ago is None else now - datetime.timedelta(days=changed_days_ago)
    assert password_expired(User(password_changed_at=changed), now=now) is expired


# ---------------------------------------------------------------- login lockout (django-axes)


@pytest.fixture
def member(db):
    return make_user("member", role=Role.SECTION)


def test_five_failures_lock_the_account_and_it_unlocks_after_five_minutes(client, member, time_machine):
    _at(time_machine, T0)
    for attempt in range(1, 5):
        response = _login(client, "member", f"wrong-{attempt}")
        assert response.status_code == 200 and "用户名或密码不正确" in response.content.decode()
    fifth = _login(client, "member", "wrong-5")
    assert fifth.status_code == 429
    assert "登录已被临时锁定" in fifth.content.decode()

    # The right password is refused while locked.
    sixth = _login(client, "member", PASSWORD)
    assert sixth.status_code == 429 and "5 分钟后再试" in sixth.content.decode()
    assert "_auth_user_id" not in client.session
    assert _is_login_redirect(client.get(reverse("home")))

    _at(time_machine, T0 + datetime.timedelta(seconds=301))
    assert _login(client, "member", PASSWORD).status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_lockout_is_audited(client, member, time_machine):
    _at(time_machine, T0)
    for attempt in range(5):
        _login(client, "member", f"wrong-{attempt}")
    _login(client, "member", PASSWORD)
    lockouts = AuditEntry.objects.filter(action="auth.lockout").order_by("id")
    assert [(e.username, e.outcome, e.ip) for e in lockouts] == [("member", "denied", "127.0.0.1")] * 2
    assert lockouts[0].new_value == {"failures": 5, "cooloff_seconds": 300}
    assert AuditEntry.objects.filter(action="auth.login_failed", username="member").count() == 6
    assert not AuditEntry.objects.filter(action="auth.login").exists()


def test_trying_again_while_locked_restarts_the_clock(client, member, time_machine):
    _at(time_machine, T0)
    for attempt in range(5):
        _login(client, "member", f"wrong-{attempt}")
    _at(time_machine, T0 + datetime.timedelta(seconds=240))
    assert _login(client, "member", PASSWORD).status_code == 429
    # The lock now runs from the last attempt, not the fifth failure.
    assert AccessAttempt.objects.get(username="member").attempt_time == T0 + datetime.timedelta(seconds=240)
    _at(time_machine, T0 + datetime.timedelta(seconds=240 + 301))
    assert _login(client, "member", PASSWORD).status_code == 302


def test_the_lock_holds_one_username_from_one_address(client, member, time_machine):
    _at(time_machine, T0)
    make_user("colleague")
    for attempt in range(5):
        _login(client, "member", f"wrong-{attempt}")
    assert _login(Client(), "colleague", PASSWORD).status_code == 302  # same address, other account
    assert _login(Client(), "member", PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 302  # other address
    assert _login(Client(), "member", PASSWORD).status_code == 429


def test_a_successful_login_resets_the_count(client, member, time_machine):
    _at(time_machine, T0)
    for attempt in range(4):
        _login(client, "member", f"wrong-{attempt}")
    assert _login(client, "member", PASSWORD).status_code == 302
    other = Client()
    for attempt in range(4):
        assert _login(other, "member", f"again-{attempt}").status_code == 200
    assert _login(other, "member", PASSWORD).status_code == 302


def test_admin_login_is_protected_too(client, time_machine, db):
    _at(time_machine, T0)
    make_user("staffer", is_staff=True)
    url = reverse("admin:login")
    for attempt in range(5):
        client.post(url, {"username": "staffer", "password": f"wrong-{attempt}"})
    response = client.post(url, {"username": "staffer", "password": PASSWORD})
    assert response.status_code == 429


def test_authenticate_needs_the_request(member):
    request = RequestFactory().post(reverse("login"))
    assert authenticate(request, username="member", password=PASSWORD) == member


def test_settings_lock_after_five_failures_for_at_least_five_minutes(settings):
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.AXES_ENABLED and settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME >= datetime.timedelta(minutes=5)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_RESET_ON_SUCCESS is True
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_the_policy_check_flags_weakened_settings(settings):
    assert check_login_policy() == []
    settings.AXES_FAILURE_LIMIT = 10
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=1)
    settings.SESSION_COOKIE_AGE = 3600
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    assert sorted(m.id for m in check_login_policy()) == ["zwgk.W101", "zwgk.W102", "zwgk.W103", "zwgk.W104"]


# ---------------------------------------------------------------- idle session timeout


def test_sessions_end_after_fifteen_idle_minutes_and_when_the_browser_closes(settings):
    assert settings.SESSION_IDLE_TIMEOUT == 15 * 60
    assert settings.SESSION_COOKIE_AGE <= 15 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_fourteen_idle_minutes_are_fine_sixteen_are_not(client, member, time_machine):
    _at(time_machine, T0)
    client.force_login(member)
    _at(time_machine, T0 + datetime.timedelta(minutes=14))
    assert client.get(reverse("home")).status_code == 200
    _at(time_machine, T0 + datetime.timedelta(minutes=14 + 16))
    assert _is_login_redirect(client.get(reverse("home")))


def test_activity_keeps_the_session_alive(client, member, time_machine):
    _at(time_machine, T0)
    client.force_login(member)
    for minutes in (10, 20, 30, 44):
        _at(time_machine, T0 + datetime.timedelta(minutes=minutes))
        assert client.get(reverse("home")).status_code == 200, minutes
    _at(time_machine, T0 + datetime.timedelta(minutes=60))
    assert _is_login_redirect(client.get(reverse("home")))


def test_the_middleware_ends_an_idle_session_even_if_the_store_keeps_it(
    client, member, time_machine, settings
):
    settings.SESSION_COOKIE_AGE = 3600  # e.g. another session engine: the middleware still applies 15 minutes
    _at(time_machine, T0)
    client.force_login(member)
    _at(time_machine, T0 + datetime.timedelta(minutes=16))
    response = client.get(reverse("task_list") + "?q=x")
    assert _is_login_redirect(response)
    assert "next=/tasks/" in response["Location"] or "next=%2Ftasks%2F" in response["Location"]
    assert "_auth_user_id" not in client.session
    entry = AuditEntry.objects.get(action="auth.idle_logout")
    assert entry.user == member and entry.new_value == {"idle_seconds": 16 * 60}
    page = client.get(reverse("login")).content.decode()
    assert "超过 15 分钟未操作，已自动退出" in page


def test_requests_within_a_minute_do_not_rewrite_the_session(
    client, member, time_machine, django_assert_num_queries
):
    _at(time_machine, T0)
    client.force_login(member)
    client.get(reverse("home"))
    _at(time_machine, T0 + datetime.timedelta(seconds=30))
    key = client.session.session_key
    client.get(reverse("home"))
    assert client.session.session_key == key
    from django.contrib.sessions.models import Session

    stored = Session.objects.get(session_key=key)
    assert stored.expire_date == T0 + datetime.timedelta(minutes=15)
    _at(time_machine, T0 + datetime.timedelta(seconds=90))
    client.get(reverse("home"))
    stored.refresh_from_db()
    assert stored.expire_date == T0 + datetime.timedelta(seconds=90 + 15 * 60)


# ---------------------------------------------------------------- forced password change


@pytest.fixture
def initial_user(db):
    """管理后台新建的账号：password_changed_at 为空（初始密码）。"""
    user = User(username="newbie", role=Role.SECTION)
    user.set_password(PASSWORD)
    user.save()
    return user


def test_users_created_with_create_user_are_not_forced(client, member):
    assert member.password_changed_at is not None
    client.force_login(member)
    assert client.get(reverse("home")).status_code == 200


def test_an_initial_password_must_be_changed_first(client, initial_user):
    client.force_login(initial_user)
    response = client.get(reverse("task_list"))
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change") + "?next=%2Ftasks%2F"
    page = client.get(response["Location"]).content.decode()
    assert "当前使用的是初始密码" in page
    # Logging out, the change page itself and static files stay reachable; POSTs elsewhere are refused too.
    assert client.post(reverse("task_list")).status_code == 302
    assert client.get("/static/css/app.css").status_code in (200, 404)  # not redirected
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_an_expired_password_must_be_changed_after_ninety_days(client, member, time_machine, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 90  # config/settings_test.py turns the expiry off for the other tests
    _at(time_machine, T0)
    User.objects.filter(pk=member.pk).update(password_changed_at=T0 - datetime.timedelta(days=89))
    client.force_login(member)
    assert client.get(reverse("home")).status_code == 200
    _at(time_machine, T0 + datetime.timedelta(days=2))
    client.force_login(member)
    response = client.get(reverse("home"))
    assert response["Location"].startswith(reverse("password_change"))
    assert "密码已超过 90 天未修改" in client.get(response["Location"]).content.decode()


def test_changing_the_password_lets_the_user_in_and_is_audited(client, initial_user, time_machine):
    _at(time_machine, T0)
    client.force_login(initial_user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "next": "/tasks/",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/tasks/"
    initial_user.refresh_from_db()
    assert initial_user.password_changed_at == T0
    assert initial_user.check_password(NEW_PASSWORD)
    assert client.get(reverse("task_list")).status_code == 200  # still logged in
    entry = AuditEntry.objects.get(action="auth.password_change")
    assert (entry.user, entry.outcome) == (initial_user, "success")


def test_a_weak_or_unchanged_new_password_is_refused(client, initial_user):
    client.force_login(initial_user)
    for new in ("abcdefghijk", PASSWORD):
        response = client.post(
            reverse("password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
        )
        assert response.status_code == 200
    page = response.content.decode()
    assert "新密码不能与当前密码相同" in page
    initial_user.refresh_from_db()
    assert initial_user.password_changed_at is None
    failures = AuditEntry.objects.filter(action="auth.password_change", outcome="failure")
    assert failures.count() == 2 and failures[0].new_value == {"errors": ["new_password2"]}


def test_an_unsafe_next_is_ignored(client, member):
    client.force_login(member)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == reverse("password_change_done")


def test_the_admin_change_password_link_uses_the_same_page(client, member):
    client.force_login(member)
    assert client.get("/admin/password_change/").status_code == 200
    assert client.get(reverse("password_change")).status_code == 200


def test_existing_accounts_start_their_ninety_days_at_the_migration(initial_user, time_machine):
    _at(time_machine, T0)
    migration = importlib.import_module("workplan.migrations.0005_password_changed_at")
    migration.existing_passwords_count_from_now(apps, None)
    initial_user.refresh_from_db()
    assert initial_user.password_changed_at == T0
    assert not password_expired(initial_user, now=timezone.now())
