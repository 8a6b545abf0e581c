"""考核事实：从任务、进展报送与录入事实收集各股室的事实（逾期分担、缺报、退回、完成、录入事实各类型），查询次数固定。"""

from __future__ import annotations

import datetime
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scoring import engine
from scoring.engine import Kind
from scoring.fact_values import facts_digest, manual_value
from scoring.facts import collect_facts
from scoring.models import ManualFact, RuleSet
from scoring.periods import FactError, period_window
from scoring.rulefile import load_ruleset_text
from scoring.rulesets import ruleset_import, ruleset_publish
from tests.factories import make_report, make_task
from workplan.models import AssignmentRole, ReportStatus, ReviewState, Section, Task, TaskAssignment

ROOT = Path(__file__).resolve().parents[2]
SECTION_RULES = ROOT / "fixtures" / "rules" / "section-2023.yaml"
D = Decimal

# After every quarter's report deadline of 2023 (Q4's is 8 January 2024).
LATE = datetime.date(2024, 2, 1)


def section_rules() -> engine.RuleSet:
    rs, errors = load_ruleset_text(SECTION_RULES.read_text(encoding="utf-8"))
    assert rs is not None, errors
    return rs


def published_ruleset(text: str | None = None) -> RuleSet:
    """导入并发布评分细则（缺省为 fixtures 中的 2023 年股室细则：牵头 0.7、责任 0.3）。"""
    record = ruleset_import(text=text or SECTION_RULES.read_text(encoding="utf-8"))
    return ruleset_publish(ruleset=record)


def facts_by_name(units: list[engine.UnitFacts], section: Section) -> dict[str, engine.FactValue]:
    unit = next(u for u in units if u.unit == str(section.pk))
    return dict(unit.facts)


def collect(rs: engine.RuleSet, period: str = "Q1", *, today: datetime.date = LATE, year: int = 2023):
    return collect_facts(ruleset=rs, year=year, period=period, sections=Section.objects.all(), today=today)


def accept(report):
    report.review_state = ReviewState.ACCEPTED
    report.save(update_fields=["review_state"])
    return report


# ---- periods -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "start", "end", "quarters"),
    [
        ("Q1", datetime.date(2023, 1, 1), datetime.date(2023, 3, 31), (1,)),
        ("Q3", datetime.date(2023, 7, 1), datetime.date(2023, 9, 30), (3,)),
        ("年终", datetime.date(2023, 1, 1), datetime.date(2023, 12, 31), (1, 2, 3, 4)),
        ("年度", datetime.date(2023, 1, 1), datetime.date(2023, 12, 31), (1, 2, 3, 4)),
    ],
)
def test_period_names_map_to_a_window(period, start, end, quarters):
    window = period_window(2023, period)
    assert (window.start, window.end, window.quarters) == (start, end, quarters)


def test_unknown_period_is_refused():
    with pytest.raises(FactError):
        period_window(2023, "上半年")


# ---- overdue tasks -------------------------------------------------------------------------------------


def test_overdue_task_is_shared_by_lead_and_responsible_sections_per_the_rule_set(plan, sections):
    task = make_task(
        plan, leads=[sections["lead"]], responsibles=[sections["resp"]], due_date=datetime.date(2023, 2, 10)
    )
    units = collect(section_rules())
    lead = facts_by_name(units, sections["lead"])["tasks_overdue"]
    resp = facts_by_name(units, sections["resp"])["tasks_overdue"]
    assert tuple(lead) == (
        engine.Occurrence(ref=f"task:{task.pk}", share=D("0.7"), note="截止日期2023-02-10", role="lead"),
    )
    # Events come grouped by (role, share), ready for the engine.
    assert lead == engine.Events(
        (engine.EventGroup((f"task:{task.pk}",), D("0.7"), "lead", ("截止日期2023-02-10",)),)
    )
    assert tuple(resp) == (
        engine.Occurrence(
            ref=f"task:{task.pk}", share=D("0.3"), note="截止日期2023-02-10", role="responsible"
        ),
    )
    assert facts_by_name(units, sections["other"])["tasks_overdue"] == engine.NO_EVENTS


def test_zero_share_occurrences_are_dropped(plan, sections):
    make_task(
        plan, leads=[sections["lead"]], responsibles=[sections["resp"]], due_date=datetime.date(2023, 2, 10)
    )
    rs = replace(section_rules(), responsible_share=D(0))
    units = collect(rs)
    assert len(facts_by_name(units, sections["lead"])["tasks_overdue"]) == 1
    assert facts_by_name(units, sections["resp"])["tasks_overdue"] == engine.NO_EVENTS


def test_overdue_counts_only_tasks_due_before_the_period_end_and_not_closed_by_then(plan, sections):
    lead = sections["lead"]
    due_q1 = make_task(plan, leads=[lead], due_date=datetime.date(2023, 3, 1))
    make_task(plan, leads=[lead], due_date=datetime.date(2023, 5, 1))  # due in Q2
    make_task(plan, leads=[lead])  # no due date: never overdue
    make_task(
        plan, leads=[lead], due_date=datetime.date(2023, 1, 5), is_heading=True
    )  # headings are not tasks
    done_in_q1 = make_task(plan, leads=[lead], due_date=datetime.date(2023, 2, 1), status=ReportStatus.DONE)
    accept(make_report(done_in_q1, lead, quarter=1, status=ReportStatus.DONE))
    done_in_q2 = make_task(plan, leads=[lead], due_date=datetime.date(2023, 2, 1), status=ReportStatus.DONE)
    accept(make_report(done_in_q2, lead, quarter=2, status=ReportStatus.DONE))
    gave_up = make_task(
        plan, leads=[lead], due_date=datetime.date(2023, 2, 1), status=ReportStatus.CANNOT_COMPLETE
    )
    accept(make_report(gave_up, lead, quarter=1, status=ReportStatus.CANNOT_COMPLETE))

    rs = section_rules()
    q1 = {o.ref for o in facts_by_name(collect(rs, "Q1"), lead)["tasks_overdue"]}
    q2 = {o.ref for o in facts_by_name(collect(rs, "Q2"), lead)["tasks_overdue"]}
    assert q1 == {f"task:{due_q1.pk}", f"task:{done_in_q2.pk}"}
    # Still open in Q2: the Q1 task again, and the one due in May.
    assert len(q2) == 2 and f"task:{due_q1.pk}" in q2 and f"task:{done_in_q2.pk}" not in q2


def test_overdue_waits_for_a_due_date_on_a_holiday_to_pass_and_for_today(plan, sections):
    # 2023-10-01 is National Day: the effective deadline is the next working day, 2023-10-07 (调休上班).
    task = make_task(plan, leads=[sections["lead"]], due_date=datetime.date(2023, 10, 1))
    rs = section_rules()
    on_holiday = facts_by_name(collect(rs, "Q4", today=datetime.date(2023, 10, 6)), sections["lead"])
    after = facts_by_name(collect(rs, "Q4", today=datetime.date(2023, 10, 9)), sections["lead"])
    assert on_holiday["tasks_overdue"] == engine.NO_EVENTS
    assert [o.ref for o in after["tasks_overdue"]] == [f"task:{task.pk}"]


def test_done_tasks_count_in_the_quarter_they_were_closed(plan, sections):
    lead = sections["lead"]
    task = make_task(plan, leads=[lead], responsibles=[sections["resp"]], status=ReportStatus.DONE)
    accept(make_report(task, lead, quarter=2, status=ReportStatus.DONE))
    closed_by_office = make_task(plan, leads=[lead], status=ReportStatus.DONE)  # no report: quarter unknown
    rs = section_rules()
    assert facts_by_name(collect(rs, "Q1"), lead)["tasks_done"] == engine.NO_EVENTS
    assert [o.ref for o in facts_by_name(collect(rs, "Q2"), lead)["tasks_done"]] == [f"task:{task.pk}"]
    year_refs = {o.ref for o in facts_by_name(collect(rs, "年度"), lead)["tasks_done"]}
    assert year_refs == {f"task:{task.pk}", f"task:{closed_by_office.pk}"}
    assert [o.share for o in facts_by_name(collect(rs, "Q2"), sections["resp"])["tasks_done"]] == [D("0.3")]


def test_a_quantity_rule_reads_computed_facts_as_a_count(plan, sections):
    make_task(plan, leads=[sections["lead"]], due_date=datetime.date(2023, 2, 1))
    make_task(plan, leads=[sections["lead"]], due_date=datetime.date(2023, 2, 2))
    rs = replace(
        section_rules(),
        rules=tuple(
            replace(r, kind=Kind.QUANTITY, target=D(1), absent_points=D(2))
            if r.fact == "tasks_overdue"
            else r
            for r in section_rules().rules
        ),
    )
    assert facts_by_name(collect(rs), sections["lead"])["tasks_overdue"] == D(2)


# ---- reports -------------------------------------------------------------------------------------------


def test_missing_and_returned_reports_after_the_deadline(plan, sections):
    lead, resp = sections["lead"], sections["resp"]
    task = make_task(plan, leads=[lead], responsibles=[resp], recurrence="quarterly")
    make_report(task, lead, quarter=1, status=ReportStatus.IN_PROGRESS)  # submitted, awaiting review
    returned = make_report(
        task,
        resp,
        quarter=1,
        role=AssignmentRole.RESPONSIBLE,
        review_state=ReviewState.RETURNED,
        return_count=2,
    )
    rs = section_rules()
    units = collect(rs, "Q1", today=datetime.date(2023, 5, 1))
    # The responsible section's report was returned and not resubmitted: missing (shared 0.3) and returned.
    assert facts_by_name(units, lead)["reports_missing"] == engine.NO_EVENTS
    assert tuple(facts_by_name(units, resp)["reports_missing"]) == (
        engine.Occurrence(f"task:{task.pk}", D("0.3"), "2023年第1季度被退回未重报", "responsible"),
    )
    assert tuple(facts_by_name(units, resp)["reports_returned"]) == (
        engine.Occurrence(f"report:{returned.pk}", D("0.3"), "第1季度报送被退回2次", "responsible"),
    )
    assert facts_by_name(units, lead)["reports_returned"] == engine.NO_EVENTS


def test_reports_are_not_missing_before_the_report_deadline(plan, sections):
    make_task(plan, leads=[sections["lead"]], recurrence="quarterly")
    rs = section_rules()
    # Q1's deadline: 8 April 2023 is a Saturday, so it moves to Monday 10 April.
    before = facts_by_name(collect(rs, "Q1", today=datetime.date(2023, 4, 10)), sections["lead"])
    after = facts_by_name(collect(rs, "Q1", today=datetime.date(2023, 4, 11)), sections["lead"])
    assert before["reports_missing"] == engine.NO_EVENTS
    assert len(after["reports_missing"]) == 1


def test_the_year_counts_missing_reports_of_every_quarter(plan, sections):
    task = make_task(plan, leads=[sections["lead"]], recurrence="quarterly")
    make_report(task, sections["lead"], quarter=2)
    missing = facts_by_name(collect(section_rules(), "年度"), sections["lead"])["reports_missing"]
    assert [o.note for o in missing] == ["2023年第1季度未报送", "2023年第3季度未报送", "2023年第4季度未报送"]


# ---- manual facts --------------------------------------------------------------------------------------


def test_manual_facts_of_each_kind_become_engine_values(sections):
    lead = sections["lead"]
    common = {"section": lead, "year": 2023, "period": "Q1"}
    ManualFact.objects.create(fact="review_log_missing", value=True, **common)
    ManualFact.objects.create(fact="features_published", value=5, **common)
    ManualFact.objects.create(fact="quality_assessment", value=8, reason="材料规范、按时报送", **common)
    bonus = ManualFact.objects.create(
        fact="commendations", value=["市政府办通报表扬"], evidence_note="樟府办字〔2023〕5号", **common
    )
    errors = ManualFact.objects.create(fact="metadata_errors", value=3, reason="抽查发现", **common)
    notice = ManualFact.objects.create(fact="notices_county", value=["樟政公办〔2023〕2号"], **common)
    ManualFact.objects.create(
        fact="features_published", value=1, **{**common, "period": "Q2"}
    )  # other period
    facts = facts_by_name(collect(section_rules()), lead)
    assert facts["review_log_missing"] is True
    assert len(facts["features_published"]) == 5  # a per-item rule reads the count as five items
    assert facts["quality_assessment"] == engine.Assessment(D(8), "材料规范、按时报送")
    assert facts["commendations"] == (
        engine.BonusItem(f"manual:{bonus.pk}:1", "市政府办通报表扬", "樟府办字〔2023〕5号"),
    )
    assert [o.ref for o in facts["metadata_errors"]] == [f"manual:{errors.pk}:{i}" for i in (1, 2, 3)]
    assert tuple(facts["notices_county"]) == (engine.Occurrence("樟政公办〔2023〕2号", note=""),)
    assert notice.pk


def test_a_manual_entry_cannot_override_a_computed_fact(plan, sections):
    ManualFact.objects.create(section=sections["lead"], year=2023, period="Q1", fact="tasks_overdue", value=0)
    make_task(plan, leads=[sections["lead"]], due_date=datetime.date(2023, 2, 1))
    assert len(facts_by_name(collect(section_rules()), sections["lead"])["tasks_overdue"]) == 1


def test_bonus_evidence_falls_back_to_the_uploaded_file_name(sections):
    mf = ManualFact.objects.create(
        section=sections["lead"],
        year=2023,
        period="Q1",
        fact="commendations",
        value=[{"reason": "省级表彰"}],
        evidence="scoring/evidence/2023/ab12/表彰决定.pdf",
    )
    facts = facts_by_name(collect(section_rules()), sections["lead"])
    assert facts["commendations"] == (engine.BonusItem(f"manual:{mf.pk}:1", "省级表彰", "表彰决定.pdf"),)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (Kind.PRESENCE, False, False),
        (Kind.QUANTITY, [40, "38", 0], (D(40), D(38), D(0))),
        (Kind.DISCRETIONARY, {"points": "7.5"}, engine.Assessment(D("7.5"), "理由")),
        (Kind.BONUS, 2, (engine.BonusItem("m:1", "理由", "证"), engine.BonusItem("m:2", "理由", "证"))),
        (
            Kind.PER_ITEM,
            ["图解一", "图解二"],
            engine.Events.of(
                (engine.Occurrence("图解一", note="理由"), engine.Occurrence("图解二", note="理由"))
            ),
        ),
    ],
)
def test_manual_value_shapes(kind, value, expected):
    rule = engine.Rule(code="R", indicator="I", kind=kind, label="规则")
    assert manual_value(rule, value, reason="理由", evidence="证", ref="m") == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (Kind.CONDITION, "yes"),
        (Kind.QUANTITY, "很多"),
        (Kind.PER_OCCURRENCE, -1),
        (Kind.BONUS, [{"evidence": "x"}]),
    ],
)
def test_manual_value_rejects_the_wrong_shape(kind, value):
    rule = engine.Rule(code="R", indicator="I", kind=kind, label="规则")
    with pytest.raises(FactError):
        manual_value(rule, value)


def test_a_stored_value_that_no_longer_fits_the_rule_set_is_reported(sections):
    ManualFact.objects.create(
        section=sections["lead"], year=2023, period="Q1", fact="review_log_missing", value=3
    )
    with pytest.raises(FactError, match="综合股.*review_log_missing"):
        collect(section_rules())


def test_digest_depends_only_on_the_facts(plan, sections):
    rs = section_rules()
    first = facts_digest(collect(rs))
    assert facts_digest(collect(rs)) == first
    make_task(plan, leads=[sections["lead"]], due_date=datetime.date(2023, 2, 1))
    assert facts_digest(collect(rs)) != first


# ---- query counts --------------------------------------------------------------------------------------


def _bulk_tasks(plan, sections, n: int, start: int = 0) -> None:
    """n 项任务：一半已逾期，牵头、责任各一个股室；每 5 项有一份退回的第一季度报送。"""
    tasks = Task.objects.bulk_create(
        [
            Task(
                plan=plan,
                code=f"B{i:05d}",
                title=f"任务{i}",
                position=i,
                due_date=datetime.date(2023, 2, 1) if i % 2 else datetime.date(2023, 11, 1),
                recurrence="quarterly" if i % 3 == 0 else "",
            )
            for i in range(start, start + n)
        ]
    )
    names = list(sections.values())
    TaskAssignment.objects.bulk_create(
        [TaskAssignment(task=t, section=names[i % 4], role=AssignmentRole.LEAD) for i, t in enumerate(tasks)]
        + [
            TaskAssignment(task=t, section=names[(i + 1) % 4], role=AssignmentRole.RESPONSIBLE)
            for i, t in enumerate(tasks)
        ]
    )
    for i, t in enumerate(tasks[::5]):
        make_report(t, names[(i * 5) % 4], quarter=1, review_state=ReviewState.RETURNED, return_count=1)


def _count_queries(rs: engine.RuleSet, period: str) -> int:
    sections = list(Section.objects.all())
    with CaptureQueriesContext(connection) as ctx:
        collect_facts(ruleset=rs, year=2023, period=period, sections=sections, today=LATE)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("period", ["Q1", "年度"])
def test_query_count_does_not_grow_with_tasks(plan, sections, period):
    rs = section_rules()
    for name in ("review_log_missing", "quality_assessment"):
        ManualFact.objects.create(
            section=sections["lead"],
            year=2023,
            period=period,
            fact=name,
            value=True if name == "review_log_missing" else 5,
            reason="r",
        )
    _bulk_tasks(plan, sections, 10)
    _count_queries(rs, period)  # warm-up: OfficeSettings row is created on first use
    small = _count_queries(rs, period)
    _bulk_tasks(plan, sections, 990, start=10)
    large = _count_queries(rs, period)
    assert small == large
    units = collect(rs, period)
    overdue = sum(len(u.facts["tasks_overdue"]) for u in units)
    # Q1: the 500 tasks due in February; the year: all 1,000 — each for its lead and its responsible section.
    assert overdue == (1000 if period == "Q1" else 2000)


@pytest.mark.parametrize("quarter", [1, 2, 3, 4])
def test_missing_reports_match_the_office_missing_reports_list(plan, sections, quarter):
    """reports_missing 复用已取出的数据计算，必须与 workplan.reminders.missing_reports 的清单逐项相同。"""
    import random

    from workplan.reminders import missing_reports

    rng = random.Random(quarter)
    names = list(sections.values())
    for _ in range(40):
        picked = rng.sample(names, rng.randint(1, 3))
        task = make_task(
            plan,
            leads=[picked[0]],
            responsibles=picked[1:],
            recurrence=rng.choice(["", "", "quarterly", "continuous"]),
            due_date=rng.choice([None, datetime.date(2023, rng.randint(1, 12), 10)]),
            status=rng.choice([ReportStatus.NOT_STARTED, ReportStatus.IN_PROGRESS, ReportStatus.DONE]),
        )
        for q in range(1, 5):
            for n, section in enumerate(picked):
                roll = rng.random()
                if roll < 0.3:
                    continue
                make_report(
                    task,
                    section,
                    quarter=q,
                    role=AssignmentRole.LEAD if n == 0 else AssignmentRole.RESPONSIBLE,
                    status=rng.choice(
                        [ReportStatus.IN_PROGRESS, ReportStatus.DONE, ReportStatus.CANNOT_COMPLETE]
                    ),
                    review_state=rng.choice(
                        [ReviewState.SUBMITTED, ReviewState.ACCEPTED, ReviewState.RETURNED]
                    ),
                )
    expected = sorted(
        (f"task:{r.task_id}", r.section_id, r.role)
        for r in missing_reports(year=2023, quarter=quarter, today=LATE)
    )
    units = collect(section_rules(), f"Q{quarter}")
    got = sorted((o.ref, int(u.unit), o.role) for u in units for o in u.facts["reports_missing"])
    assert expected  # the data has missing reports in every quarter
    assert got == expected
