"""浏览器端到端测试的夹具：系统自带的 Chromium（由 Playwright 驱动，不下载浏览器）、pytest-django 的
live_server、演示账号，以及每个登录用户一个独立的浏览器会话（逐步截图、收集控制台错误）。"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

CHROMIUM = Path("/usr/bin/chromium")
# Offline CI: nothing that phones home, no GPU, no sandbox (CI runs as root).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TIMEOUT_MS = 20_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """把每个阶段的结果挂在 item 上，browser_session 据此在失败时给每个打开的页面补一张截图。"""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """启动系统 Chromium；没有 /usr/bin/chromium 或没有安装 playwright 时跳过（写明原因）。"""
    if not CHROMIUM.exists():
        pytest.skip(
            f"没有 {CHROMIUM}：浏览器端到端测试需要系统 Chromium（Debian：apt-get install -y chromium）"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="没有安装 playwright（pip install -e '.[dev]'）"
    )
    # Playwright's sync API keeps an asyncio loop running in this thread, which makes Django refuse ORM calls
    # here ("async context"). The test only touches the ORM while the browser is idle, so that is safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # While that loop runs, Django's connection handler hands this thread a second set of connections
            # (asgiref's context-local storage), which pytest-django does not know about. Close them here, or
            # PostgreSQL cannot drop the test database ("being accessed by other users").
            connections.close_all()


@pytest.fixture
def demo_accounts(live_server: Any) -> dict[str, str]:
    """与 `manage.py seed_demo` 相同的股室和演示账号（不导入计划：计划由办公室在浏览器里导入）。"""
    from workplan.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS, FIXTURES
    from workplan.models import Section, User
    from workplan.seed import sections_seed

    sections_seed(FIXTURES / "sections.json")
    by_name = {s.name: s for s in Section.objects.all()}
    for username, label, role, section_name in DEMO_USERS:
        User.objects.create_user(
            username=username,
            password=DEMO_PASSWORD,
            last_name=label,
            role=role,
            section=by_name[section_name] if section_name else None,
            password_changed_at=timezone.now(),  # as seed_demo: not forced to change the password first
        )
    return {username: DEMO_PASSWORD for username, *_ in DEMO_USERS}


@dataclass
class BrowserSession:
    """一个用户的浏览器会话：独立的 cookie，记录控制台错误与页面脚本错误，按步骤截图。"""

    username: str
    base_url: str
    page: Any
    artifacts: Path
    shots: list[Path]
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        return response

    def login(self, password: str) -> None:
        self.goto("/accounts/login/")
        self.page.fill("#id_username", self.username)
        self.page.fill("#id_password", password)
        with self.page.expect_navigation():
            self.page.click("form[action='/accounts/login/'] button[type=submit]")
        assert "/accounts/login/" not in self.page.url, self.page.content()[:2000]

    def nav(self, label: str) -> None:
        """点击主导航中的菜单项。"""
        with self.page.expect_navigation():
            self.page.locator("nav.mainnav").get_by_role("link", name=label, exact=True).click()

    def shot(self, step: str) -> Path:
        path = self.artifacts / f"{len(self.shots) + 1:02d}-{self.username}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path


@pytest.fixture
def browser_session(
    request: pytest.FixtureRequest, chromium: Any, live_server: Any, demo_accounts: dict[str, str]
) -> Iterator[Callable[[str], BrowserSession]]:
    """open(username)：新开一个浏览器上下文并以该演示账号登录。截图存放在 artifacts/<测试名>/。"""
    artifacts = ARTIFACTS / request.node.name
    shutil.rmtree(artifacts, ignore_errors=True)  # this test's own folder only: -n 2 may run another test
    artifacts.mkdir(parents=True)
    shots: list[Path] = []
    contexts: list[Any] = []

    def open_session(username: str) -> BrowserSession:
        context = chromium.new_context(
            accept_downloads=True, locale="zh-CN", viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        # base.html declares no icon, so Chromium asks for /favicon.ico and logs the 404 as a console error.
        # Answer it here: that request is the browser's, not the page's, and it would also reach the shared
        # in-memory test database while the next page loads.
        context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
        page = context.new_page()
        session = BrowserSession(
            username=username, base_url=live_server.url, page=page, artifacts=artifacts, shots=shots
        )
        page.on(
            "console",
            lambda msg: (
                session.errors.append(f"console.{msg.type}: {msg.text} ({msg.location})")
                if msg.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda exc: session.errors.append(f"pageerror: {exc}"))
        session.login(demo_accounts[username])
        return session

    yield open_session
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:  # the state of every open page when the test failed
        for n, page in enumerate(p for context in contexts for p in context.pages):
            page.screenshot(path=str(artifacts / f"failed-{n}.png"), full_page=True)
            (artifacts / f"failed-{n}.url").write_text(page.url)
    for context in contexts:
        context.close()
