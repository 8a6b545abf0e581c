"""负载测试：20 个模拟用户同时使用系统（任务清单、我的任务、进展报送列表、季度进展报送、季度看板），
统计每类请求的吞吐与延迟、错误数，并核对“没有丢失的写入”。

用法：.venv/bin/python bench/load.py [秒数=60] [--users 20] [--extra-tasks 500] [--think-ms 1000] [--warmup 5]
在临时目录中新建 SQLite 数据库（migrate、seed_demo，再加 --extra-tasks 项任务），用 gunicorn（4 个进程 ×
4 个线程，gthread；venv 里没有 gunicorn 时用 runserver）在 127.0.0.1 的空闲端口上启动，设置同部署
（DEBUG=False），不碰 var/ 下的数据。模拟用户是线程，用标准库 http.client 发请求、自己保存 cookie，
以不同的演示账号登录；股室人员报送进展时先打开报送页取 CSRF 令牌与版本号再 POST，每次报送的“进展情况”
带一个唯一标记。结束后按标记查库：每一次得到成功响应（302 跳转）的报送都必须留在报送历史（ReportEvent）里。
最后一行是 `errors: N, p95_read_ms: X, lost_writes: M`（p95_read_ms 为全部 GET 请求，含季度看板）。
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = tempfile.mkdtemp(prefix="zwgk-load-")
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "VAR_DIR": TMP,
    "MEDIA_ROOT": str(Path(TMP) / "media"),
    # Deployment settings, but plain HTTP on loopback (production sits behind an HTTPS proxy).
    "DEBUG": "False",
    "SECRET_KEY": "load-only-" + uuid.uuid4().hex,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "False",
    "SESSION_COOKIE_SECURE": "False",
    "CSRF_COOKIE_SECURE": "False",
    "LOG_LEVEL": "WARNING",
    "PYTHONUNBUFFERED": "1",
}
os.environ.pop("DATABASE_URL", None)
os.environ.update(SERVER_ENV)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from workplan.management.commands.seed_demo import DEMO_PASSWORD  # noqa: E402
from workplan.models import (  # noqa: E402
    AssignmentRole,
    ReportEvent,
    Section,
    Task,
    TaskAssignment,
    User,
    WorkPlan,
)

YEAR = 2023
# 20 users: the three section accounts report, office and director also open the dashboard, viewer only reads.
USER_MIX = ["zonghe", "fagui", "pucha", "office", "director", "zonghe", "fagui", "pucha", "viewer", "office"]
# Weighted actions per role: (kind, weight).
SECTION_ACTIONS = [("my_tasks", 30), ("task_list", 15), ("report_list", 15), ("submit", 40)]
OFFICE_ACTIONS = [("task_list", 35), ("report_list", 30), ("dashboard", 35)]
VIEWER_ACTIONS = [("my_tasks", 40), ("task_list", 30), ("report_list", 30)]
STATUSES = ["not_started", "in_progress", "done"]
READ_KINDS = ("task_list", "my_tasks", "report_list", "report_form", "dashboard")
LIST_KINDS = ("task_list", "my_tasks", "report_list")


# ---------------------------------------------------------------- setup: database and server


def seed(extra_tasks: int) -> dict[str, Any]:
    """migrate、seed_demo，再给 2023 年计划加 extra_tasks 项任务（牵头、责任股室轮流分配）。"""
    quiet = io.StringIO()
    call_command("migrate", "--noinput", verbosity=0, stdout=quiet)
    call_command("createcachetable", stdout=quiet)
    call_command("seed_demo", stdout=quiet)
    # DEBUG=False serves hashed static files (WhiteNoise + manifest), as deployed: collect them first.
    call_command("collectstatic", "--noinput", verbosity=0, stdout=quiet)
    plan = WorkPlan.objects.get(year=YEAR)
    sections = list(Section.objects.filter(is_active=True).order_by("sort_order", "pk"))
    with transaction.atomic():
        heading = Task.objects.create(
            plan=plan,
            code="LOAD",
            number="五、",
            number_path="五",
            position=10_000,
            is_heading=True,
            title="负载测试追加任务",
        )
        tasks = Task.objects.bulk_create(
            Task(
                plan=plan,
                parent=heading,
                code=f"LOAD-{n:04d}",
                number=f"（{n}）",
                number_path=f"五/（{n}）",
                level=2,
                position=10_000 + n,
                title=f"负载测试任务{n}",
                body="按季度报送推进情况。",
                deadline_text="年底前",
            )
            for n in range(1, extra_tasks + 1)
        )
        TaskAssignment.objects.bulk_create(
            a
            for i, task in enumerate(tasks)
            for a in (
                TaskAssignment(task=task, section=sections[i % len(sections)], role=AssignmentRole.LEAD),
                TaskAssignment(
                    task=task, section=sections[(i + 3) % len(sections)], role=AssignmentRole.RESPONSIBLE
                ),
            )
        )
    own: dict[str, list[int]] = {}
    for user in User.objects.filter(username__in=set(USER_MIX)).select_related("section"):
        if user.role == "section" and user.section is not None:
            own[user.username] = list(
                Task.objects.actionable()
                .for_section(user.section)
                .filter(plan=plan)
                .values_list("pk", flat=True)
            )
    total = Task.objects.actionable().filter(plan=plan).count()
    connection.close()  # the server processes are the only users of the database from here on
    return {"plan": plan.pk, "own": own, "tasks": total}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> tuple[subprocess.Popen[bytes], str, Path]:
    bindir = Path(sys.executable).parent
    if (bindir / "gunicorn").exists():
        argv = [str(bindir / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        argv += ["--workers", "4", "--threads", "4", "--worker-class", "gthread", "--timeout", "120"]
        argv += ["--no-control-socket"]
        label = "gunicorn（4 进程 × 4 线程）"
    else:
        argv = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        label = "runserver"
    log = Path(TMP) / "server.log"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "Q_CLUSTER_NAME")}
    env.update(SERVER_ENV)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if Client(port).request("GET", "/accounts/login/")[0] == 200:
                return proc, label, log
        except OSError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise SystemExit(f"服务没有启动：\n{log.read_text(errors='replace')[-3000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # gunicorn stops its own workers
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


# ---------------------------------------------------------------- the simulated users


class Client:
    """一个浏览器：自己的 cookie，每个请求一个新连接（不复用，免得在已被服务器关闭的连接上重发 POST）。"""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, Any] | None = None) -> tuple[int, str, str]:
        headers = {"Host": "127.0.0.1"}
        body = None
        if form is not None:
            body = urlencode({"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **form}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response.status, response.headers.get("Location", ""), text


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)
    conflicts: int = 0
    recording: threading.Event = field(default_factory=threading.Event)  # off during log-in and warm-up
    submitted: list[str] = field(default_factory=list)  # markers of submissions that got a success response
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float) -> None:
        if not self.recording.is_set():
            return
        with self.lock:
            self.latencies[kind].append(seconds)

    def error(self, kind: str, detail: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.samples) < 10:
                self.samples.append(f"{kind}: {detail[:300]}")


VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')


class SimulatedUser:
    """一个模拟用户：登录后按角色的权重随机操作，直到 stop 被设置。"""

    def __init__(
        self, n: int, username: str, port: int, setup: dict[str, Any], stats: Stats, run: str, think: float
    ) -> None:
        self.n = n
        self.username = username
        self.setup = setup
        self.stats = stats
        self.run = run
        self.think = think
        self.client = Client(port)
        self.rng = random.Random(n)
        self.seq = 0
        if username in setup["own"]:
            self.actions = SECTION_ACTIONS
        elif username == "viewer":
            self.actions = VIEWER_ACTIONS
        else:
            self.actions = OFFICE_ACTIONS

    def timed(
        self,
        kind: str,
        method: str,
        path: str,
        form: dict[str, Any] | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> tuple[int, str, str] | None:
        started = time.perf_counter()
        try:
            status, location, text = self.client.request(method, path, form)
        except (OSError, http.client.HTTPException) as exc:
            self.stats.error(kind, f"{method} {path}: {exc!r}")
            return None
        self.stats.record(kind, time.perf_counter() - started)
        if status not in expect:
            self.stats.error(kind, f"{method} {path}: HTTP {status} {location} {text[:200]!r}")
            return None
        return status, location, text

    def login(self) -> bool:
        if self.timed("login", "GET", "/accounts/login/") is None:
            return False
        done = self.timed(
            "login",
            "POST",
            "/accounts/login/",
            {"username": self.username, "password": DEMO_PASSWORD},
            expect=(302,),
        )
        if done is not None and "/accounts/login/" in done[1]:
            self.stats.error("login", f"{self.username}: 登录被拒绝")
            return False
        return done is not None

    def loop(self, stop: threading.Event, ready: threading.Barrier) -> None:
        try:
            logged_in = self.login()
        finally:
            ready.wait(timeout=300)  # everybody logs in first: password hashing is deliberately slow
        if not logged_in:
            return
        kinds = [k for k, _ in self.actions]
        weights = [w for _, w in self.actions]
        while not stop.is_set():
            kind = self.rng.choices(kinds, weights)[0]
            try:
                if kind == "submit":
                    self.submit()
                else:
                    self.timed(kind, "GET", self.path(kind))
            except Exception as exc:  # a bug in this script must show up as an error, not a silent thread
                self.stats.error(kind, repr(exc))
            if self.think:
                stop.wait(self.rng.uniform(0, 2 * self.think))

    def path(self, kind: str) -> str:
        page = self.rng.randint(1, 5)
        if kind == "task_list":
            return f"/tasks/?page={page}"
        if kind == "my_tasks":
            return f"/tasks/mine/?page={page}"
        if kind == "report_list":
            return "/reports/"
        return f"/scoring/dashboard/?plan={self.setup['plan']}&year={YEAR}&quarter={self.rng.randint(1, 4)}"

    def submit(self) -> None:
        """打开某项本股室任务某季度的报送页，带着 CSRF 令牌与版本号提交（每次一个唯一标记）。"""
        task = self.rng.choice(self.setup["own"][self.username])
        quarter = self.rng.randint(1, 4)
        path = f"/tasks/{task}/report/?year={YEAR}&quarter={quarter}"
        page = self.timed("report_form", "GET", path)
        if page is None:
            return
        match = VERSION.search(page[2])
        self.seq += 1
        marker = f"LOAD-{self.run}-{self.n:02d}-{self.seq:05d}"
        form = {
            "year": YEAR,
            "quarter": quarter,
            "version": match.group(1) if match else "",
            "status": self.rng.choice(STATUSES),
            "narrative": f"{marker} 本季度按计划推进，已在政府网站公开相关信息。",
            "reason": "",
        }
        done = self.timed("submit", "POST", path, form, expect=(302, 409))
        if done is None:
            return
        if done[0] == 409:  # the optimistic lock: someone else saved this report since the page was opened
            with self.stats.lock:
                self.stats.conflicts += 1
        else:
            with self.stats.lock:
                self.stats.submitted.append(marker)


# ---------------------------------------------------------------- report


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def lost_writes(markers: list[str], run: str) -> list[str]:
    saved: set[str] = set()
    for narrative in ReportEvent.objects.filter(narrative__startswith=f"LOAD-{run}-").values_list(
        "narrative", flat=True
    ):
        saved.add(narrative.split(" ", 1)[0])
    connection.close()
    return [m for m in markers if m not in saved]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("seconds", nargs="?", type=float, default=60.0)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--extra-tasks", type=int, default=500)
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="正式计时前的预热秒数（不计延迟，照计错误）"
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        default=1000.0,
        help="每次操作后的平均停顿（毫秒，0–2 倍均匀分布）；0 为压满",
    )
    args = parser.parse_args()

    proc: subprocess.Popen[bytes] | None = None
    try:
        t0 = time.perf_counter()
        setup = seed(args.extra_tasks)
        port = free_port()
        proc, label, log = start_server(port)
        print(f"数据库：SQLite（{TMP}），工作计划任务 {setup['tasks']} 项")
        print(f"建库（migrate、seed_demo、collectstatic、追加任务）用时 {time.perf_counter() - t0:.1f}s")
        print(f"服务：{label}，127.0.0.1:{port}")
        print(f"本机 {os.cpu_count()} 个 CPU，开始前 1 分钟负载 {os.getloadavg()[0]:.1f}")
        stats = Stats()
        run = uuid.uuid4().hex[:8]
        users = [
            SimulatedUser(n, USER_MIX[n % len(USER_MIX)], port, setup, stats, run, args.think_ms / 1000)
            for n in range(args.users)
        ]
        stop = threading.Event()
        ready = threading.Barrier(len(users) + 1)
        threads = [threading.Thread(target=u.loop, args=(stop, ready), daemon=True) for u in users]
        print(
            f"模拟用户 {args.users} 个（{', '.join(sorted(set(u.username for u in users)))}），"
            f"运行 {args.seconds:g}s，平均停顿 {args.think_ms:g}ms ..."
        )
        t1 = time.perf_counter()
        for t in threads:
            t.start()
        ready.wait(timeout=300)
        print(f"登录用时 {time.perf_counter() - t1:.1f}s；预热 {args.warmup:g}s ...")
        time.sleep(args.warmup)
        stats.recording.set()
        started = time.perf_counter()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join(timeout=120)
        elapsed = time.perf_counter() - started
        stop_server(proc)  # before reading its log

        print()
        print(f"{'类别':<12}{'请求数':>8}{'每秒':>9}{'p50 ms':>9}{'p95 ms':>9}{'最大 ms':>10}{'错误':>6}")
        kinds = [*READ_KINDS, "submit"]
        for kind in kinds:
            values = stats.latencies.get(kind, [])
            if not values and not stats.errors.get(kind):
                continue
            p50 = pct(values, 50) if values else 0.0
            p95 = pct(values, 95) if values else 0.0
            top = max(values) * 1000 if values else 0.0
            print(
                f"{kind:<14}{len(values):>8}{len(values) / elapsed:>9.1f}{p50:>9.0f}{p95:>9.0f}"
                f"{top:>10.0f}{stats.errors.get(kind, 0):>6}"
            )
        all_values = [v for values in stats.latencies.values() for v in values]
        reads = [v for k in READ_KINDS for v in stats.latencies.get(k, [])]
        lists = [v for k in LIST_KINDS for v in stats.latencies.get(k, [])]
        errors = sum(stats.errors.values())
        lost = lost_writes(stats.submitted, run)
        print()
        print(f"运行结束时本机 1 分钟负载 {os.getloadavg()[0]:.1f}（含本脚本与服务自身）")
        print(f"合计 {len(all_values)} 个请求，{len(all_values) / elapsed:.1f} 个/秒（{elapsed:.1f}s）")
        print(f"列表页（任务清单、我的任务、进展报送）p95 {pct(lists, 95):.0f} ms")
        print(f"全部 GET（含报送页、季度看板）p95 {pct(reads, 95):.0f} ms")
        print(
            f"报送成功 {len(stats.submitted)} 次，版本冲突（409，未保存）{stats.conflicts} 次；"
            f"成功而库中找不到的 {len(lost)} 次"
        )
        for sample in stats.samples:
            print("  错误示例：" + sample)
        for marker in lost[:10]:
            print("  丢失：" + marker)
        server_log = log.read_text(errors="replace")
        if "Traceback" in server_log:
            print(f"服务日志中有 {server_log.count('Traceback')} 个异常，最后一段：\n{server_log[-3000:]}")
        print(f"errors: {errors}, p95_read_ms: {pct(reads, 95):.0f}, lost_writes: {len(lost)}")
        return 0 if errors == 0 and not lost else 1
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
