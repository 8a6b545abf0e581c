"""后台任务集群（django-q2）：retry/timeout 启动检查、长任务队列“long”的配置，以及（只在 PostgreSQL 上）
两个 qcluster 进程共用一个数据库时，到期的计划只执行一次。"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time

import pytest
from django.db import connection
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule
from django_q.models import Task as QTask
from django_q.status import Stat
from django_q.tasks import async_task

from config.qcluster_check import check_qcluster, cluster_configs, qcluster_errors
from tests.processes import PYTHON, Processes, child_env, database_url, manage, wait_until
from tests.qtasks import MARKER_JOB
from workplan.models import JobRun

BASE = {"name": "zwgk", "orm": "default", "timeout": 300, "retry": 360}


def ids(errors) -> list[str]:
    return [e.id for e in errors]


# ---------------------------------------------------------------- the start-up check (pure)


def test_project_settings_pass_the_check():
    assert check_qcluster() == []


def test_check_errors_when_retry_equals_timeout():
    errors = qcluster_errors({**BASE, "retry": 300})
    assert ids(errors) == ["zwgk.E001"]
    assert "retry（300 秒）必须大于 timeout（300 秒）" in errors[0].msg
    assert "Q_TIMEOUT / Q_RETRY" in errors[0].hint


def test_check_errors_when_retry_is_below_timeout_in_the_long_cluster():
    conf = {**BASE, "ALT_CLUSTERS": {"long": {"timeout": 3600, "retry": 600}}}
    errors = qcluster_errors(conf)
    assert ids(errors) == ["zwgk.E001"]
    assert "“long”" in errors[0].msg
    assert "Q_LONG_TIMEOUT / Q_LONG_RETRY" in errors[0].hint


def test_long_cluster_inherits_what_it_does_not_override():
    conf = {**BASE, "ALT_CLUSTERS": {"long": {"timeout": 400}}}  # inherits retry 360
    assert cluster_configs(conf)["long"]["retry"] == 360
    assert ids(qcluster_errors(conf)) == ["zwgk.E001"]


@pytest.mark.parametrize("timeout", [None, 0, "300"])
def test_check_errors_when_timeout_is_missing(timeout):
    errors = qcluster_errors({**BASE, "timeout": timeout})
    assert ids(errors) == ["zwgk.E002"]


def test_retry_defaults_to_django_q2s_60_seconds():
    conf = {k: v for k, v in BASE.items() if k != "retry"}
    assert ids(qcluster_errors(conf)) == ["zwgk.E001"]


def test_check_errors_on_an_unknown_q_cluster_name():
    conf = {**BASE, "ALT_CLUSTERS": {"long": {"timeout": 3600, "retry": 3900}}}
    assert qcluster_errors(conf, "long") == []
    assert qcluster_errors(conf, "zwgk") == []
    errors = qcluster_errors(conf, "lnog")
    assert ids(errors) == ["zwgk.E003"]
    assert "可用：zwgk、long" in errors[0].msg


def test_registered_check_reads_settings(settings):
    settings.Q_CLUSTER = {**BASE, "timeout": 900, "retry": 600}
    assert ids(check_qcluster()) == ["zwgk.E001"]


# ---------------------------------------------------------------- the real commands


def test_qcluster_refuses_to_start_when_retry_is_not_above_timeout(tmp_path):
    env = child_env(VAR_DIR=str(tmp_path), Q_TIMEOUT="600", Q_RETRY="600")
    started = time.monotonic()
    result = manage("qcluster", env=env, timeout=60)
    assert result.returncode != 0
    assert "retry（600 秒）必须大于 timeout（600 秒）" in result.stderr
    assert time.monotonic() - started < 30  # fails at start-up, before any cluster process


def test_q_cluster_name_long_selects_the_long_queue_with_its_own_timeout(tmp_path):
    code = (
        "import django, json; django.setup(); from django_q.conf import Conf; "
        "print(json.dumps([Conf.PREFIX, Conf.CLUSTER_NAME, Conf.TIMEOUT, Conf.RETRY]))"
    )

    def conf(**env: str) -> list:
        out = subprocess.run(
            [PYTHON, "-c", code],
            env=child_env(VAR_DIR=str(tmp_path), **env),
            capture_output=True,
            text=True,
            check=True,
            cwd=str(tmp_path.parent),
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    # Same signing name everywhere; the queue and its timeout follow Q_CLUSTER_NAME.
    assert conf() == ["zwgk", "zwgk", 300, 360]
    assert conf(Q_CLUSTER_NAME="long", Q_LONG_TIMEOUT="1800", Q_LONG_RETRY="2000") == [
        "zwgk",
        "long",
        1800,
        2000,
    ]


def test_async_task_with_cluster_long_goes_to_the_long_queue(db, settings):
    async_task("tests.qtasks.mark_run", cluster=settings.Q_LONG_CLUSTER, sync=False)
    assert list(OrmQ.objects.values_list("key", flat=True)) == ["long"]
    assert not JobRun.objects.filter(job=MARKER_JOB).exists()


# ---------------------------------------------------------------- two clusters, one PostgreSQL database

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="需要 PostgreSQL（设置 DATABASE_URL）：SQLite 忽略 select_for_update，多个 qcluster 进程会锁库",
)


@postgres_only
def test_two_qclusters_run_a_due_schedule_once(transactional_db, tmp_path):
    schedule = Schedule.objects.create(
        name="测试：两个集群",
        func="tests.qtasks.mark_run",
        schedule_type=Schedule.MINUTES,
        minutes=60,
        repeats=-1,
        next_run=timezone.now() - dt.timedelta(minutes=1),
    )
    env = child_env(
        DATABASE_URL=database_url(connection.settings_dict),
        VAR_DIR=str(tmp_path),
        Q_WORKERS="1",
        Q_TIMEOUT="20",
        Q_RETRY="30",
    )
    procs = Processes(tmp_path)

    def clusters_up() -> int:
        # Each cluster's guard reports its status into the shared (database) cache every half second.
        return len([s for s in Stat.get_all() if s.status != Conf.STOPPED])

    try:
        a = procs.start("qcluster-a", [PYTHON, "manage.py", "qcluster"], env)
        b = procs.start("qcluster-b", [PYTHON, "manage.py", "qcluster"], env)
        assert wait_until(lambda: clusters_up() == 2, timeout=60, interval=0.2), procs.logs()
        both_up = time.monotonic()
        markers = JobRun.objects.filter(job=MARKER_JOB)
        # django-q2's guard calls the scheduler 30 s after it starts, then every 30 s.
        assert wait_until(markers.exists, timeout=60), procs.logs()
        # Wait until both schedulers have certainly had their first turn before counting.
        time.sleep(max(2.0, 33 - (time.monotonic() - both_up)))
        assert a.poll() is None and b.poll() is None, procs.logs()
        assert clusters_up() == 2, procs.logs()
        assert markers.count() == 1, procs.logs()
        assert QTask.objects.filter(func="tests.qtasks.mark_run").count() == 1
        assert not OrmQ.objects.exists()
        schedule.refresh_from_db()
        assert schedule.next_run > timezone.now()
    finally:
        procs.stop()
