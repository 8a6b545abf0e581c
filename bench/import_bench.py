"""导入基准：同一份 5,000 项任务的 xlsx（导出格式），本项目的回导路径 vs django-import-export 的默认路径。

用法：.venv/bin/python bench/import_bench.py [任务数=5000] [重复次数=3]
在临时目录中新建 SQLite 数据库并 migrate，不碰 var/ 下的数据。两条路径交替各跑若干遍（不开 tracemalloc，
免得拖慢纯 Python 部分），各取最好成绩；再各开 tracemalloc 跑一遍量内存峰值。每一遍都导入到新的空计划。
最后一行是 `ratio: <DIE 用时 ÷ 本项目用时>`。
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = tempfile.mkdtemp(prefix="zwgk-bench-")
os.environ["VAR_DIR"] = TMP
os.environ["MEDIA_ROOT"] = str(Path(TMP) / "media")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
os.environ.pop("DATABASE_URL", None)
# DEBUG=False: with DEBUG on, Django keeps every SQL statement in memory, which would penalise
# the many-query path more than ours.
os.environ["DEBUG"] = "False"
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from import_export.formats.base_formats import XLSX  # noqa: E402

from workplan import sheet_diff, sheet_format, sheet_reading, spreadsheet  # noqa: E402
from workplan.exporting import build_dataset  # noqa: E402
from workplan.models import Section, Task, TaskAssignment, WorkPlan  # noqa: E402
from workplan.resources import TaskResource  # noqa: E402
from workplan.sections import SectionResolver  # noqa: E402

SECTIONS = [
    "办公室",
    "综合股",
    "法规股",
    "普查中心",
    "农业股",
    "工业股",
    "贸易股",
    "投资股",
    "人口与就业股",
    "社会科技股",
    "统计信息中心",
    "社会经济调查队",
]
VERBS = ["深化", "推进", "加强", "完善", "做好", "规范", "健全", "落实", "强化", "优化"]
OBJECTS = [
    "统计数据公开",
    "政策文件解读",
    "依申请公开办理",
    "政府信息公开年度报告编制",
    "“双随机、一公开”执法信息公开",
    "统计公报发布",
    "经济普查数据发布",
    "政务新媒体管理",
    "统计执法检查结果公开",
    "重大行政决策公开",
    "政府网站信息更新",
    "统计调查项目公开",
    "企业一套表联网直报服务",
    "统计信用体系建设信息公开",
    "人口抽样调查结果发布",
]
CLAUSES = [
    "按照《中华人民共和国政府信息公开条例》要求，及时准确发布相关信息",
    "主动回应社会关切，做好政策解读和舆情引导工作",
    "在政府门户网站专栏集中公开，方便群众查阅",
    "严格执行信息发布保密审查制度，确保公开内容合法合规",
    "每季度梳理公开情况并报送办公室汇总",
    "建立健全工作台账，明确责任人和完成时限",
    "加强与上级统计机构的沟通衔接，确保数据口径一致",
    "通过新闻发布会、图表图解等多种形式提升公开实效",
]
DEADLINES = ["年底前", "6月底前", "9月30日前", "每季度", "长期坚持", "持续推进", "每月", "次年1月31日前"]
RECURRENCES = ["一次性", "一次性", "每季度", "每月", "持续推进", "每年"]
CN_DIGITS = "一二三四五六七八九十"


def make_rows(n: int, rng: random.Random) -> tuple[list[list[Any]], int]:
    """n 行导出格式的任务，返回 (行, 应有的分工行数)。"""
    rows: list[list[Any]] = []
    assignments = 0
    for i in range(n):
        leads = rng.sample(SECTIONS, rng.randint(1, 3))
        others = [s for s in SECTIONS if s not in leads]
        resps = rng.sample(others, rng.randint(2, 5))
        assignments += len(leads) + len(resps)
        title = f"{rng.choice(VERBS)}{rng.choice(OBJECTS)}"
        body = "；".join(rng.sample(CLAUSES, rng.randint(2, 4))) + "。"
        due = date(2023, 1, 1) + timedelta(days=rng.randint(30, 364)) if rng.random() < 0.7 else None
        rows.append(
            [
                f"T{i + 1:05d}",
                f"{CN_DIGITS[i // 500 % 10]}/（{CN_DIGITS[i // 50 % 10]}）/{i % 50 + 1}.",
                title,
                body,
                "、".join(leads),
                "、".join(resps),
                rng.choice(DEADLINES),
                due,
                rng.choice(RECURRENCES),
            ]
        )
    return rows, assignments


def our_path(data: bytes, plan: WorkPlan) -> None:
    """本项目：calamine 读取 → 逐行校验 → 差异 → 一次事务批量写入。"""
    with transaction.atomic():
        table = sheet_reading.read_table("tasks.xlsx", data, max_bytes=50 * 1024 * 1024)
        resolver = SectionResolver.load()
        sheet = sheet_reading.validate_table(table, resolver.resolve)
        snapshot = spreadsheet.load_plan_snapshot(plan, resolver)
        diff = sheet_diff.diff_sheet(sheet, snapshot)
        if diff.errors:
            raise SystemExit(f"our path: {diff.errors[:3]}")
        spreadsheet.write_sheet_diff(plan=plan, diff=diff, snapshot=snapshot)


def die_path(data: bytes, plan: WorkPlan) -> None:
    """django-import-export 默认路径：XLSX 格式读取（openpyxl）→ import_data(dry_run=False)，默认选项。"""
    dataset = XLSX().create_dataset(data)
    result = TaskResource(plan=plan).import_data(dataset, dry_run=False)
    if result.has_errors() or result.has_validation_errors():
        raise SystemExit(f"DIE path: {result.invalid_rows[:3] or result.base_errors[:3]}")


def new_plan(label: str) -> WorkPlan:
    return WorkPlan.objects.create(year=2023, title=f"基准计划（{label}）", issuing_unit="基准统计局")


def timed_run(func: Callable[[bytes, WorkPlan], None], data: bytes, label: str) -> tuple[float, WorkPlan]:
    plan = new_plan(label)
    start = time.perf_counter()
    func(data, plan)
    return time.perf_counter() - start, plan


def peak_memory(func: Callable[[bytes, WorkPlan], None], data: bytes, label: str) -> int:
    plan = new_plan(label)
    tracemalloc.start()
    func(data, plan)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    call_command("migrate", verbosity=0)
    Section.objects.bulk_create([Section(name=name, sort_order=i) for i, name in enumerate(SECTIONS, 1)])
    rows, expected_assignments = make_rows(n, random.Random(20230101))
    data = bytes(build_dataset(sheet_format.HEADERS, rows, title="工作任务").export("xlsx"))
    print(
        f"database: SQLite in a temporary directory (removed at exit), "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(
        f"file: {n} tasks, {len(sheet_format.HEADERS)} columns, {len(data) / 1024:.0f} KiB xlsx, "
        f"{len(SECTIONS)} sections, {expected_assignments} assignments"
    )
    paths = {"ours": our_path, "DIE": die_path}
    labels = {
        "ours": "ours (calamine read + validate + bulk write, one transaction)",
        "DIE": "django-import-export (XLSX().create_dataset + import_data, defaults)",
    }
    # Interleave the runs and keep each path's best time: the machine is shared, and the load
    # changes from one run to the next.
    times: dict[str, list[float]] = {name: [] for name in paths}
    plans: dict[str, WorkPlan] = {}
    for i in range(repeat):
        for name, func in paths.items():
            elapsed, plan = timed_run(func, data, f"{name}-{i}")
            times[name].append(elapsed)
            plans.setdefault(name, plan)
    best = {name: min(values) for name, values in times.items()}
    for name, func in paths.items():
        peak = peak_memory(func, data, f"{name}-mem")
        runs = ", ".join(f"{t:.3f}" for t in times[name])
        print(
            f"{labels[name]}: best {best[name]:.3f} s of {repeat} ({runs}), {n / best[name]:,.0f} rows/s, "
            f"tracemalloc peak {peak / 1024 / 1024:.1f} MiB"
        )

    counted = []
    for name, plan in plans.items():
        tasks = Task.objects.filter(plan=plan).count()
        assignments = TaskAssignment.objects.filter(task__plan=plan).count()
        print(f"check {name}: {tasks} tasks, {assignments} assignments")
        if tasks != n or assignments != expected_assignments:
            raise SystemExit(f"{name}: expected {n} tasks and {expected_assignments} assignments")
        counted.append(
            sorted(
                TaskAssignment.objects.filter(task__plan=plan).values_list("task__code", "section_id", "role")
            )
        )
    same = all(c == counted[0] for c in counted)
    print(f"check: both paths produced the same assignments: {same}")
    if not same:
        raise SystemExit("assignments differ between the two paths")
    print(f"ratio: {best['DIE'] / best['ours']:.2f}")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
