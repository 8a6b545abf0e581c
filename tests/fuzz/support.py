"""坏输入模糊测试的共用部分：例子预算（FAST、SLOW、DB，随 FUZZ_SCALE 放大）、坏值清单、各表行数与上传目录的
快照、每个例子回滚的保存点，以及几个模块都要用的小工具。"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings as django_settings
from django.db import connection, transaction
from hypothesis import HealthCheck
from hypothesis import settings as budget

from workplan import uploads
from workplan.models import AuditEntry

# Bounded: examples per test are small and there is no per-example deadline (the first request of a test
# warms template and URL caches). Function-scoped fixtures are shared by the examples on purpose: every
# example that touches the database runs in a savepoint that is rolled back (see `rolled_back`).
# FUZZ_SCALE=20 runs twenty times as many examples (a longer local or nightly run).
SCALE = max(1, int(os.environ.get("FUZZ_SCALE", "1")))


def examples(n: int) -> int:
    return n * SCALE


FAST = budget(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = budget(
    max_examples=examples(10),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
DB = budget(SLOW, max_examples=examples(25))

NASTY = [
    "",
    " ",
    "\x00",
    "0",
    "-1",
    "1",
    "2",
    "1e309",
    "NaN",
    "99999999999999999999999999",
    "-0",
    "０１２",
    "2023-02-30",
    "2023-13-01",
    "0000-00-00",
    "9999-12-31",
    "1900-01-01",
    "2023-01-01",
    "2023-06-30",
    "<script>alert(1)</script>",
    "<b>粗</b>",
    "'; DROP TABLE workplan_task; --",
    '=HYPERLINK("http://x")',
    "javascript:alert(1)",
    "https://www.example.gov.cn/art/1.html",
    "//evil.example/x",
    "../../etc/passwd",
    "綜合股",
    "各相关股室",
    "\u202e\u200b\u3000",
    "𠀀𪚥😀",
    "on",
    "true",
    "false",
]
PLAUSIBLE = [
    "Q1",
    "Q2",
    "Q4",
    "年终",
    "2023",
    "2024",
    "3",
    "4",
    "accept",
    "return",
    "pass",
    "close",
    "reject",
    "create",
    "map",
    "ignore",
    "first",
    "second",
    "final",
    "done",
    "in_progress",
    "not_started",
    "cannot_complete",
    "file",
    "link",
    "xlsx",
    "docx",
    "statistics",
    "bureau",
    "county",
    "review",
    "pending",
    "upheld",
    "granted",
    "in_person",
    "post",
    "natural_person",
    "send",
    "start",
    "end",
    "quality_assessment",
    "commendations",
    "no_state_secret",
]
HUGE = "長" * 70_000
MAGIC = [uploads.PDF_MAGIC, uploads.PNG_MAGIC, uploads.JPEG_MAGIC, uploads.ZIP_MAGIC]


def row_counts() -> dict[str, int]:
    """每张表的行数（一条查询）；审计日志只数“成功”的（被拒绝的操作可以记一条失败的审计）。"""
    quote = connection.ops.quote_name
    models = [m for m in apps.get_models(include_auto_created=True) if m._meta.managed and not m._meta.proxy]
    parts = []
    for model in models:
        where = ""
        if model is AuditEntry:
            where = f" WHERE {quote('outcome')} = '{AuditEntry.Outcome.SUCCESS.value}'"
        parts.append(f"(SELECT COUNT(*) FROM {quote(model._meta.db_table)}{where})")
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        values = cursor.fetchone()
    return {m._meta.label_lower: n for m, n in zip(models, values, strict=True)}


def media_files() -> set[str]:
    root = Path(django_settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


class _Rollback(Exception):
    pass


def rolled_back(fn: Callable[[], Any]) -> Any:
    """在一个保存点里运行 fn，然后回滚：每个例子都从同一份数据开始。"""
    result = None
    try:
        with transaction.atomic():
            result = fn()
            raise _Rollback
    except _Rollback:
        pass
    return result


def _csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)
