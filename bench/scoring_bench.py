"""计分基准：一整年 5,000 项任务 × 12 个股室 × 40 条规则（各种规则类型），四个季度的正式计分
（事实收集 + 引擎 + 台账写入），对比同一份台账上一条 SQL 汇总（SELECT section_id, SUM(points) … GROUP BY）。

用法：.venv/bin/python bench/scoring_bench.py [任务数=5000] [重复次数=3]
在临时目录中新建 SQLite 数据库并 migrate（VAR_DIR 指向临时目录），不碰 var/ 下的数据。
四个季度的计分重复若干遍，
取最好的一遍并列出各部分用时；SQL 汇总重复 50 遍取最好成绩。
最后一行是 `ratio: <引擎用时 ÷ SQL 用时>`，引擎用时为四个季度 engine.score_all + rank 的合计（纯计算部分）；
整个计算与 SQL 之比在倒数第二行。
"""

from __future__ import annotations

import datetime
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = tempfile.mkdtemp(prefix="zwgk-scoring-bench-")
os.environ["VAR_DIR"] = TMP
os.environ["MEDIA_ROOT"] = str(Path(TMP) / "media")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
os.environ.pop("DATABASE_URL", None)
# DEBUG=False: with DEBUG on, Django keeps every SQL statement in memory.
os.environ["DEBUG"] = "False"
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from scoring import engine, facts, services  # noqa: E402
from scoring.engine import Indicator, Kind, Mode, Rule  # noqa: E402
from scoring.models import LedgerLine, ManualFact, ScoreRun  # noqa: E402
from scoring.rulefile_dump import dump_ruleset_yaml  # noqa: E402
from scoring.rulesets import ruleset_import, ruleset_publish  # noqa: E402
from workplan.models import (  # noqa: E402
    AssignmentRole,
    ProgressReport,
    ReportStatus,
    ReviewState,
    Section,
    Task,
    TaskAssignment,
    WorkPlan,
)
from workplan.periods import quarter_of  # noqa: E402

YEAR = 2023
TODAY = datetime.date(2024, 2, 1)  # after the Q4 report deadline: every quarter is final
QUARTERS = ("Q1", "Q2", "Q3", "Q4")
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
D = Decimal


# ---- the 40-rule rule set --------------------------------------------------------------------------------


def bench_ruleset() -> engine.RuleSet:
    """40 条规则，覆盖全部规则类型：按次扣分、条件、此项不得分、有无、数量（单值与分期）、按项得分、酌情、
    加分、通报批评、否决、不适用。指标树两级，末级权重合计 100。"""
    indicators = [
        Indicator("A", "任务落实", D(40)),
        Indicator("A1", "重点任务按期完成", D(20), "A"),
        Indicator("A2", "季度进展报送", D(12), "A"),
        Indicator("A3", "任务完成成效", D(8), "A", Mode.EARN),
        Indicator("B", "信息发布", D(30)),
        Indicator("B1", "主动公开数量", D(10), "B"),
        Indicator("B2", "政策解读", D(8), "B", Mode.EARN),
        Indicator("B3", "发布规范", D(12), "B"),
        Indicator("C", "平台与审查", D(15)),
        Indicator("C1", "保密审查", D(8), "C"),
        Indicator("C2", "栏目维护", D(7), "C"),
        Indicator("D", "依申请公开", D(5)),
        Indicator("D1", "按期答复", D(5), "D"),
        Indicator("E", "工作质量", D(10), None, Mode.EARN),
        Indicator("F", "加分项", D(0), None, Mode.EARN),
        Indicator("G", "通报批评与否决", D(0), None, Mode.EARN),
    ]
    r: list[Rule] = []

    def add(code: str, indicator: str, kind: Kind, fact: str, **kw: Any) -> None:
        r.append(
            Rule(
                code=code,
                indicator=indicator,
                kind=kind,
                label=kw.pop("label", f"规则{code}"),
                fact=fact,
                **kw,
            )
        )

    add("A1-1", "A1", Kind.PER_OCCURRENCE, "tasks_overdue", points=D("0.5"), label="任务逾期未完成")
    add("A1-2", "A1", Kind.CONDITION, "plan_not_broken_down", points=D(2))
    add("A1-3", "A1", Kind.CONDITION, "ledger_missing", points=D(2))
    add(
        "A2-1",
        "A2",
        Kind.PER_OCCURRENCE,
        "reports_missing",
        points=D("0.2"),
        measure="次",
        label="季度进展未报送",
    )
    add(
        "A2-2",
        "A2",
        Kind.PER_OCCURRENCE,
        "reports_returned",
        points=D("0.1"),
        cap=D(3),
        measure="次",
        label="季度进展被退回",
    )
    add("A2-3", "A2", Kind.CONDITION, "report_late_summary", points=D(1))
    add("A3-1", "A3", Kind.PER_ITEM, "tasks_done", points=D("0.1"), cap=D(6), label="完成任务")
    add("A3-2", "A3", Kind.PRESENCE, "summary_submitted", points=D(2), absent_points=D(1))
    add("B1-1", "B1", Kind.QUANTITY, "items_published", target=D(6), absent_points=D(4), measure="条")
    add(
        "B1-2",
        "B1",
        Kind.QUANTITY,
        "monthly_items",
        target=D(2),
        absent_points=D(1),
        blank_points=D(2),
        measure="条",
    )
    add("B1-3", "B1", Kind.CONDITION, "items_unreviewed", points=D(2))
    add("B2-1", "B2", Kind.PRESENCE, "interpretation_published", points=D(4), absent_points=D(2))
    add("B2-2", "B2", Kind.PER_ITEM, "features_published", points=D(1), cap=D(4), measure="篇")
    add("B2-3", "B2", Kind.QUANTITY, "interpretations_count", target=D(1), points=D(0), absent_points=D(1))
    add("B3-1", "B3", Kind.PER_OCCURRENCE, "metadata_errors", points=D("0.5"), cap=D(3), measure="条")
    add("B3-2", "B3", Kind.PER_OCCURRENCE, "items_late", points=D(1), measure="条")
    add("B3-3", "B3", Kind.CONDITION, "index_missing", points=D(2))
    add("B3-4", "B3", Kind.WHOLE_ITEM, "fabricated_data")
    add("B3-5", "B3", Kind.PER_OCCURRENCE, "broken_links", points=D("0.2"), cap=D(2), measure="处")
    add("C1-1", "C1", Kind.CONDITION, "review_log_missing", points=D(3))
    add("C1-2", "C1", Kind.WHOLE_ITEM, "review_skipped")
    add("C1-3", "C1", Kind.PRESENCE, "review_system", points=D(0), absent_points=D(2))
    add("C2-1", "C2", Kind.CONDITION, "column_stale", points=D(3))
    add("C2-2", "C2", Kind.CONDITION, "column_broken", points=D(2))
    add("C2-3", "C2", Kind.QUANTITY, "column_updates", target=D(3), absent_points=D(1))
    add("D-NA", "D", Kind.NOT_APPLICABLE, "no_application_duty")
    add("D1-1", "D1", Kind.PER_OCCURRENCE, "applications_overdue", points=D(3), measure="件")
    add("D1-2", "D1", Kind.CONDITION, "reply_irregular", points=D(2))
    add("E-1", "E", Kind.DISCRETIONARY, "quality_assessment", cap=D(6))
    add("E-2", "E", Kind.DISCRETIONARY, "cooperation_assessment", cap=D(4))
    add("F-1", "F", Kind.BONUS, "commendations", points=D(3), evidence_required=True)
    add("F-2", "F", Kind.BONUS, "info_adopted", points=D("0.5"), cap=D(2), evidence_required=True)
    add("F-3", "F", Kind.BONUS, "innovation", points=D(1))
    add("G-1", "G", Kind.NOTICE, "notices_county", points=D(3))
    add("G-2", "G", Kind.NOTICE, "notices_bureau", points=D(1))
    add("G-3", "G", Kind.VETO, "secret_leak")
    add("G-4", "G", Kind.VETO, "major_incident")
    add("G-5", "G", Kind.NOTICE, "notices_city", points=D(2))
    add("A1-4", "A1", Kind.WHOLE_ITEM, "task_falsified")
    add("B1-4", "B1", Kind.PER_OCCURRENCE, "duplicate_items", points=D("0.1"), cap=D(1), measure="条")
    assert len(r) == 40, len(r)
    return engine.RuleSet(
        code="bench",
        version=1,
        name="基准测试细则（40条规则）",
        indicators=tuple(indicators),
        rules=tuple(r),
        bonus_cap=D(5),
        bonus_gate=D(80),
        grade_bands=(
            engine.GradeBand("优秀", D(90)),
            engine.GradeBand("良好", D(80)),
            engine.GradeBand("合格", D(60)),
            engine.GradeBand("不合格", D(0)),
        ),
        period_weights={q: D("0.25") for q in QUARTERS},
        lead_share=D("0.7"),
        responsible_share=D("0.3"),
    )


# ---- the workload ----------------------------------------------------------------------------------------


def build_workload(n: int, rs: engine.RuleSet, rng: random.Random) -> dict[str, int]:
    """n 项任务（70% 有截止日期，其余为每季度、持续推进），每项 1 个牵头、0–2 个责任股室；
    截止日所在季度 80% 按期完成、10% 下季度完成、10% 全年未完成；
    各季度 90% 的应报送按时报送，报送中 5% 被退回；
    每个股室每季度录入全部手工事实（少数股室有否决、不适用、加分）。"""
    sections = Section.objects.bulk_create(
        [Section(name=name, sort_order=i) for i, name in enumerate(SECTIONS, 1)]
    )
    plan = WorkPlan.objects.create(year=YEAR, title="基准测试工作要点")
    specs = []
    for _ in range(n):
        if rng.random() < 0.7:
            due: datetime.date | None = datetime.date(YEAR, 1, 10) + datetime.timedelta(
                days=rng.randint(0, 340)
            )
            recurrence = ""
        else:
            due, recurrence = None, rng.choice(["quarterly", "continuous"])
        done_q = None
        if due is not None:
            due_q = quarter_of(due)[1]
            roll = rng.random()
            done_q = due_q if roll < 0.8 else (due_q + 1 if roll < 0.9 and due_q < 4 else None)
        specs.append((due, recurrence, done_q))
    tasks = Task.objects.bulk_create(
        [
            Task(
                plan=plan,
                code=f"T{i:05d}",
                title=f"任务{i}",
                position=i,
                due_date=due,
                recurrence=rec,
                status=ReportStatus.DONE if done_q else ReportStatus.IN_PROGRESS,
            )
            for i, (due, rec, done_q) in enumerate(specs)
        ],
        batch_size=2000,
    )
    assignments: list[TaskAssignment] = []
    roles: list[list[tuple[Section, str]]] = []
    for task in tasks:
        picked = rng.sample(sections, 1 + rng.randint(0, 2))
        these = [(picked[0], AssignmentRole.LEAD)] + [(s, AssignmentRole.RESPONSIBLE) for s in picked[1:]]
        roles.append(these)
        assignments += [TaskAssignment(task=task, section=s, role=role) for s, role in these]
    TaskAssignment.objects.bulk_create(assignments, batch_size=5000)

    now = datetime.datetime(YEAR, 12, 31, tzinfo=datetime.UTC)
    reports: list[ProgressReport] = []
    for task, these, (_, _, done_q) in zip(tasks, roles, specs, strict=True):
        for q in range(1, 5):
            if done_q is not None and done_q < q:
                break  # one-off task finished earlier: no more reports
            for section, role in these:
                if rng.random() >= 0.9:
                    continue  # missing
                finishing = done_q == q and role == AssignmentRole.LEAD
                returned = rng.random() < 0.05
                reports.append(
                    ProgressReport(
                        task=task,
                        section=section,
                        role=role,
                        year=YEAR,
                        quarter=q,
                        status=ReportStatus.DONE if finishing else ReportStatus.IN_PROGRESS,
                        review_state=ReviewState.RETURNED
                        if returned and not finishing
                        else ReviewState.ACCEPTED,
                        return_count=1 if returned and not finishing else 0,
                        submitted_at=now,
                    )
                )
    ProgressReport.objects.bulk_create(reports, batch_size=5000)
    # A finished task needs its lead's accepted DONE report: make sure it exists (the 10% "missing" roll may
    # have dropped it), otherwise the task would count as closed by the office.
    have = set(ProgressReport.objects.filter(status=ReportStatus.DONE).values_list("task_id", "quarter"))
    extra = [
        ProgressReport(
            task=t,
            section=these[0][0],
            role=AssignmentRole.LEAD,
            year=YEAR,
            quarter=done_q,
            status=ReportStatus.DONE,
            review_state=ReviewState.ACCEPTED,
            submitted_at=now,
        )
        for t, these, (_, _, done_q) in zip(tasks, roles, specs, strict=True)
        if done_q and (t.pk, done_q) not in have
    ]
    ProgressReport.objects.bulk_create(extra, ignore_conflicts=True)

    manual: list[ManualFact] = []
    readers = facts.fact_readers(rs)
    for section in sections:
        for period in QUARTERS:
            for name, rules in readers.items():
                if name in facts.COMPUTED_FACTS and name not in facts.MANUAL_ALLOWED_COMPUTED:
                    continue
                value = manual_sample(rules[0], rng)
                if value is None:
                    continue
                manual.append(
                    ManualFact(
                        section=section,
                        year=YEAR,
                        period=period,
                        fact=name,
                        value=value,
                        reason="季度检查情况",
                        evidence_note="樟统字〔2023〕12号",
                    )
                )
    ManualFact.objects.bulk_create(manual, batch_size=2000)
    return {
        "sections": len(sections),
        "tasks": len(tasks),
        "assignments": len(assignments),
        "reports": len(reports) + len(extra),
        "manual_facts": len(manual),
    }


def manual_sample(rule: Rule, rng: random.Random) -> Any:
    kind = rule.kind
    if kind in (Kind.VETO,):
        return rng.random() < 0.01
    if kind == Kind.NOT_APPLICABLE:
        return rng.random() < 0.15
    if kind in (Kind.CONDITION, Kind.WHOLE_ITEM):
        return rng.random() < 0.15
    if kind == Kind.PRESENCE:
        return rng.random() < 0.7
    if kind == Kind.QUANTITY:
        if rule.blank_points:
            return [rng.choice([0, 1, 2, 3, 4]) for _ in range(3)]
        return rng.randint(0, 10)
    if kind == Kind.DISCRETIONARY:
        return str(D(rng.randint(0, int(rule.cap or 0) * 2)) / 2)
    if kind == Kind.BONUS:
        return [{"reason": f"表彰{i}", "evidence": f"文号{i}"} for i in range(rng.randint(0, 2))]
    return rng.randint(0, 4)  # occurrences: a count


# ---- timing ----------------------------------------------------------------------------------------------


class Stopwatch:
    """累计被包装函数的用时（包装 services 调用的 collect_facts、engine.score_all / rank、facts_digest）。"""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}

    def wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.totals[name] = self.totals.get(name, 0.0) + time.perf_counter() - start

        return timed


def one_pass(record: Any) -> tuple[float, dict[str, float], list[int]]:
    watch = Stopwatch()
    originals = (services.collect_facts, engine.score_all, engine.rank, services.facts_digest)
    services.collect_facts = watch.wrap("facts", services.collect_facts)
    engine.score_all = watch.wrap("engine", engine.score_all)
    engine.rank = watch.wrap("engine", engine.rank)
    services.facts_digest = watch.wrap("digest", services.facts_digest)
    try:
        start = time.perf_counter()
        runs = [
            services.scores_compute(ruleset_record=record, year=YEAR, period=p, today=TODAY) for p in QUARTERS
        ]
        total = time.perf_counter() - start
    finally:
        services.collect_facts, engine.score_all, engine.rank, services.facts_digest = originals
    parts = dict(watch.totals)
    parts["ledger write (+ rule set load, audit)"] = total - sum(parts.values())
    return total, parts, [r.pk for r in runs]


def sql_sum(run_ids: list[int], repeat: int = 50) -> tuple[float, list[tuple[int, Any]]]:
    placeholders = ", ".join(["%s"] * len(run_ids))
    sql = (
        f"SELECT section_id, SUM(points) FROM scoring_ledgerline WHERE run_id IN ({placeholders}) "
        "GROUP BY section_id"
    )
    best = float("inf")
    rows: list[tuple[int, Any]] = []
    with connection.cursor() as cursor:
        for _ in range(repeat):
            start = time.perf_counter()
            cursor.execute(sql, run_ids)
            rows = cursor.fetchall()
            best = min(best, time.perf_counter() - start)
    return best, rows


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    call_command("migrate", verbosity=0)
    rs = bench_ruleset()
    text = dump_ruleset_yaml(rs, year=YEAR, unit_type="股室")
    record = ruleset_publish(ruleset=ruleset_import(text=text))
    start = time.perf_counter()
    with transaction.atomic():
        counts = build_workload(n, rs, random.Random(20230101))
    setup = time.perf_counter() - start
    kinds = sorted({r.kind.value for r in rs.rules})
    print(
        f"database: SQLite in a temporary directory (removed at exit), Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"data: {counts['tasks']} tasks, {counts['sections']} sections, {counts['assignments']} assignments, "
        f"{counts['reports']} progress reports, {counts['manual_facts']} manual facts "
        f"(built in {setup:.1f} s)"
    )
    print(
        f"rule set: {len(rs.rules)} rules, {len(kinds)} kinds ({', '.join(kinds)}), "
        f"{len(rs.indicators)} indicators"
    )

    passes = [one_pass(record) for _ in range(repeat)]
    best_total, best_parts, run_ids = min(passes, key=lambda p: p[0])
    lines = LedgerLine.objects.filter(run_id__in=run_ids).count()
    print(
        "computation, four quarters (facts + engine + ledger write): runs "
        + ", ".join(f"{p[0]:.3f}" for p in passes)
        + f" s; best {best_total:.3f} s"
    )
    for name, seconds in best_parts.items():
        print(f"  {name}: {seconds * 1000:.1f} ms")
    print(
        f"ledger: {lines} lines in {len(run_ids)} runs; "
        f"{ScoreRun.objects.filter(pk__in=run_ids).values('inputs_digest').distinct().count()} "
        "distinct digests"
    )
    sql_time, rows = sql_sum(run_ids)
    print(
        f"plain SQL SUM(points) GROUP BY section over the same ledger: {sql_time * 1000:.2f} ms "
        f"(best of 50, {len(rows)} sections)"
    )
    engine_time = best_parts["engine"]
    print(f"engine only (score_all + rank, four quarters): {engine_time * 1000:.2f} ms")
    print(f"whole computation ÷ SQL: {best_total / sql_time:.1f}")
    print(f"ratio: {engine_time / sql_time:.2f}")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
