"""测试专用的后台任务（由 qcluster 子进程按点分路径调用）：每执行一次记一行 JobRun 作为标记。"""

from __future__ import annotations

import os
import uuid

from workplan.models import JobRun

MARKER_JOB = "test_qcluster_marker"


def mark_run() -> str:
    """记一行标记（批次 key 每次不同，所以执行两次就是两行，不会被 (job, key) 唯一约束掩盖）。"""
    run = JobRun.objects.create(
        job=MARKER_JOB,
        key=f"{os.getpid()}-{uuid.uuid4().hex[:12]}",
        outcome=JobRun.Outcome.SUCCESS,
        detail={"pid": os.getpid()},
    )
    return run.key
