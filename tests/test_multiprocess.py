"""多个网页进程（部署方式：gunicorn + WhiteNoise，DEBUG=False）：两个 gunicorn 共用一个数据库和一个
MEDIA_ROOT。在进程 A 登录后，会话在进程 B 同样有效；A 上的写入（上传计划文件）在 B 可见并可在 B 确认导入，
B 读得到 A 存下的文件；数据库缓存在进程之间共享。
SQLite 时用临时目录中的数据库文件，PostgreSQL 时用测试库本身。"""

from __future__ import annotations

import html.parser
import http.client
import re
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from django.db import connection

from tests.processes import PYTHON, ROOT, Processes, child_env, database_url, free_port, manage, wait_until

SAMPLE_PLAN = ROOT / "fixtures" / "zhangshu-tjj-2023-workplan.txt"
PASSWORD = "Shared-session-2024"

SETUP = f"""
from django.core.cache import cache
from django.core.management import call_command
from workplan.models import Role, Section, User
call_command("createcachetable")
office, _ = Section.objects.get_or_create(name="办公室")
User.objects.create_user(username="office", password="{PASSWORD}", role=Role.OFFICE, section=office)
cache.set("written-by", "setup-process", 300)
"""


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


@dataclass
class Browser:
    """一个浏览器：同一份 cookie 发给任一端口（浏览器的 cookie 不区分端口），不自动跟随跳转。"""

    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, port: int, method: str, path: str, body: bytes = b"", headers=None) -> Response:  # type: ignore[no-untyped-def]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        all_headers = {"Host": "127.0.0.1", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body or None, headers=all_headers)
            raw = conn.getresponse()
            response = Response(raw.status, raw.headers, raw.read())
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response

    def get(self, port: int, path: str) -> Response:
        return self.request(port, "GET", path)

    def post(self, port: int, path: str, data: dict[str, str], files=None) -> Response:  # type: ignore[no-untyped-def]
        data = {"csrfmiddlewaretoken": self.cookies["csrftoken"], **data}
        if not files:
            body = urlencode(data).encode()
            return self.request(
                port, "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}
            )
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in data.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        for name, (filename, content) in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n".encode()
                + content
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        content_type = f"multipart/form-data; boundary={boundary}"
        return self.request(port, "POST", path, b"".join(parts), {"Content-Type": content_type})


class FormDefaults(html.parser.HTMLParser):
    """一个表单（按 action 找）按页面缺省值提交时的字段：文本框、选中的单选/复选框、下拉框选中项。"""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: dict[str, str] = {}
        self.select: str | None = None
        self.first_option: str | None = None

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        elif not self.inside:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self.fields[a["name"]] = a.get("value", "on")
            elif kind not in ("submit", "button", "file"):
                self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select, self.first_option = a.get("name"), None
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = a.get("value", "")
                self.fields.setdefault(self.select, self.first_option)
            if "selected" in a:
                self.fields[self.select] = a.get("value", "")

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None


def form_defaults(page: str, action: str) -> dict[str, str]:
    parser = FormDefaults(action)
    parser.feed(page)
    return parser.fields


@pytest.fixture
def app_env(tmp_path):
    """两个网页进程共用的环境：生产式设置（DEBUG=False、WhiteNoise 压缩清单存储）、一个数据库、
    一个 MEDIA_ROOT。"""
    var = tmp_path / "var"
    if connection.vendor == "postgresql":
        url = database_url(connection.settings_dict)
    else:
        url = f"sqlite:///{var / 'db.sqlite3'}"
    env = child_env(
        DEBUG="False",
        SECRET_KEY="test-only-" + uuid.uuid4().hex,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=url,
        VAR_DIR=str(var),
        MEDIA_ROOT=str(tmp_path / "shared-media"),
        SECURE_SSL_REDIRECT="False",  # plain HTTP on 127.0.0.1 (production sits behind an HTTPS proxy)
    )
    procs = Processes(tmp_path)
    collect = procs.start("collectstatic", [PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], env)
    if connection.vendor != "postgresql":
        migrate = manage("migrate", "--noinput", "-v0", env=env, timeout=300)
        assert migrate.returncode == 0, migrate.stderr
    setup = manage("shell", "-c", SETUP, env=env)
    assert setup.returncode == 0, setup.stderr
    assert collect.wait(timeout=300) == 0, procs.logs()
    return env


@pytest.fixture
def two_servers(app_env, tmp_path):
    procs = Processes(tmp_path)
    ports = []
    try:
        for name in ("a", "b"):
            port = free_port()
            argv = [PYTHON, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
            argv += ["--workers", "1", "--no-control-socket", "--access-logfile", "-"]
            procs.start(f"gunicorn-{name}", argv, app_env)
            ports.append(port)

        def ready(port: int) -> bool:
            try:
                return Browser().get(port, "/accounts/login/").status == 200
            except OSError:
                return False

        assert wait_until(lambda: all(ready(p) for p in ports), timeout=180), procs.logs()
        yield ports, procs, app_env
    finally:
        procs.stop()


# transaction=True on PostgreSQL only: there the servers use the test database, so the test's rows must be
# committed. On SQLite the servers use their own file, and a transactional flush of the shared in-memory test
# database after a live_server test in the same worker fails inside Django.
@pytest.mark.django_db(transaction=connection.vendor == "postgresql")
def test_two_gunicorn_processes_share_sessions_writes_and_uploads(two_servers):
    (a, b), procs, env = two_servers
    browser = Browser()
    assert browser.get(b, "/").status == 302  # not logged in yet

    # Log in on A.
    assert browser.get(a, "/accounts/login/").status == 200
    login = browser.post(a, "/accounts/login/", {"username": "office", "password": PASSWORD})
    assert login.status == 302 and "/accounts/login/" not in login.location, login.text[:2000]
    assert "sessionid" in browser.cookies

    # The session cookie from A opens a login-only page on B.
    home = browser.get(b, "/")
    assert home.status == 200, procs.logs()
    # Static files come from WhiteNoise's compressed, hashed copy.
    css = re.search(r"/static/css/app\.[0-9a-f]{12}\.css", home.text)
    assert css, home.text[:2000]
    assert browser.get(b, css.group(0)).status == 200

    # A write on A (upload a plan: a database row and a file under MEDIA_ROOT) ...
    source = SAMPLE_PLAN.read_bytes()
    assert browser.get(a, "/imports/upload/").status == 200
    upload = browser.post(a, "/imports/upload/", {"year": "2023"}, files={"file": (SAMPLE_PLAN.name, source)})
    assert upload.status == 302, upload.text[:3000]
    preview_path = upload.location
    # ... is visible on B, which confirms it ...
    preview = browser.get(b, preview_path)
    assert preview.status == 200 and SAMPLE_PLAN.name in preview.text
    confirm_path = preview_path.rstrip("/") + "/confirm/"
    confirm = browser.post(b, confirm_path, form_defaults(preview.text, confirm_path))
    assert confirm.status == 302 and "/plans/" in confirm.location, confirm.text[:3000]
    plan_path = confirm.location
    # ... and B serves the file A stored, while A sees the plan B created.
    download = browser.get(b, plan_path.rstrip("/") + "/source/")
    assert download.status == 200 and download.body == source
    assert browser.get(a, plan_path).status == 200

    # The database cache is shared between processes too, so cached counters and flags agree everywhere.
    read = manage(
        "shell", "-c", "from django.core.cache import cache; print(cache.get('written-by'))", env=env
    )
    assert read.stdout.strip().splitlines()[-1] == "setup-process", read.stderr
