"""PostgreSQL：DATABASE_URL 让整个测试套件改用 PostgreSQL；并发写（多个连接同时运行）只在 PostgreSQL 上
测得出：JobRun 批次的唯一约束与 django-q2 调度器的 select_for_update 各自保证“只执行一次”。"""

from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule
from django_q.scheduler import scheduler

from tests.qtasks import MARKER_JOB
from workplan import reminders
from workplan.models import JobRun

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="需要 PostgreSQL（设置 DATABASE_URL）：内存 SQLite 的测试库不能被多个连接同时写",
)


def test_database_url_selects_the_test_database():
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected


def run_concurrently(func, n: int) -> list:
    """n 个线程（各自一个数据库连接）同时调用 func，返回各自的结果；任何线程的异常都重新抛出。"""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = func()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]
    return results


@postgres_only
def test_connection_is_postgresql_15_or_newer(db):
    assert connection.pg_version >= 150000


@postgres_only
def test_concurrent_claims_of_one_job_batch_run_it_once(transactional_db):
    claims = run_concurrently(lambda: reminders._job_claim("test_concurrent", "2023-09-28")[1], 4)
    assert sorted(claims) == [False, False, False, True]
    assert JobRun.objects.filter(job="test_concurrent").count() == 1


@postgres_only
def test_concurrent_schedulers_start_a_due_schedule_once(transactional_db):
    schedule = Schedule.objects.create(
        name="测试：并发调度",
        func="tests.qtasks.mark_run",
        schedule_type=Schedule.MINUTES,
        minutes=60,
        repeats=-1,
        next_run=timezone.now() - dt.timedelta(minutes=1),
    )
    # Tests run django-q2 in sync mode: the task runs inside the scheduler's transaction, so the second
    # scheduler waits on the row lock and then finds the schedule no longer due.
    run_concurrently(scheduler, 3)
    assert JobRun.objects.filter(job=MARKER_JOB).count() == 1
    schedule.refresh_from_db()
    assert schedule.next_run > timezone.now()
