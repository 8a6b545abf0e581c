"""生产环境设置（DEBUG=False，全部取自环境变量）通过 `manage.py check --deploy --fail-level WARNING`；
HTTPS、HSTS、安全 Cookie 等随环境变量变化。每个测试在子进程中加载 config.settings。"""

from __future__ import annotations

import json
import secrets

import pytest

from tests.processes import child_env, manage

SECURITY_SETTINGS = (
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_AGE",
    "PASSWORD_MAX_AGE_DAYS",
)
PRINT_SETTINGS = (
    "import json; from django.conf import settings; "
    f"print(json.dumps({{k: getattr(settings, k, None) for k in {SECURITY_SETTINGS!r}}}))"
)


@pytest.fixture
def production_env(tmp_path):
    return child_env(
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters
        ALLOWED_HOSTS="zwgk.example.gov.cn",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        VAR_DIR=str(tmp_path / "var"),
    )


def _settings(env: dict[str, str]) -> dict[str, object]:
    result = manage("shell", "-c", PRINT_SETTINGS, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_pass_the_deploy_check(production_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_check_fails_when_https_is_weakened(production_env):
    env = {**production_env, "SECURE_HSTS_SECONDS": "0", "SESSION_COOKIE_SECURE": "False"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W012" in result.stderr


def test_production_defaults(production_env):
    values = _settings(production_env)
    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": None,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_TRUSTED_ORIGINS": [],
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_AGE": 900,
        "PASSWORD_MAX_AGE_DAYS": 90,
    }


def test_behind_a_tls_terminating_proxy(production_env):
    env = {
        **production_env,
        "SECURE_SSL_REDIRECT": "False",
        "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
        "CSRF_TRUSTED_ORIGINS": "https://zwgk.example.gov.cn, https://zwgk2.example.gov.cn",
        "SECURE_HSTS_SECONDS": "600",
        "SESSION_IDLE_MINUTES": "60",  # more than 15 is not allowed: capped
    }
    values = _settings(env)
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://zwgk.example.gov.cn", "https://zwgk2.example.gov.cn"]
    assert values["SECURE_HSTS_SECONDS"] == 600
    assert values["SESSION_COOKIE_AGE"] == 900


def test_development_defaults_stay_on_plain_http(tmp_path):
    values = _settings(child_env(VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    assert values["DEBUG"] is True
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0


def test_production_refuses_to_start_without_a_secret_key(production_env):
    env = {k: v for k, v in production_env.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
