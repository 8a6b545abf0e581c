"""计分服务：正式计分、幂等、草稿不能正式计分、模拟计分不影响正式成绩及差值、录入事实的校验与审计、后台任务。"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from scoring import tasks
from scoring.models import LedgerLine, ManualFact, Rule, ScoreRun, UnitScore
from scoring.rulesets import ruleset_import, ruleset_new_version
from scoring.services import manual_fact_delete, manual_fact_set, scores_compute, scores_whatif_compare
from tests.factories import make_report, make_task
from tests.scoring.test_facts import LATE, SECTION_RULES, published_ruleset
from workplan.models import AssignmentRole, AuditEntry, ReviewState

D = Decimal
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def ledger(run: ScoreRun) -> list[tuple]:
    return list(
        LedgerLine.objects.filter(run=run)
        .order_by("section__sort_order", "position")
        .values_list(
            "section_id", "indicator_code", "rule_code", "period", "points", "reason", "facts", "position"
        )
    )


@pytest.fixture
def ruleset(db):
    return published_ruleset()


@pytest.fixture
def workload(plan, sections):
    """综合股牵头、法规股负责的两项逾期任务；法规股第一季度报送被退回未重报。"""
    t1 = make_task(
        plan, leads=[sections["lead"]], responsibles=[sections["resp"]], due_date=datetime.date(2023, 2, 1)
    )
    make_task(plan, leads=[sections["lead"]], due_date=datetime.date(2023, 3, 1))
    make_report(t1, sections["lead"], quarter=1)
    make_report(
        t1,
        sections["resp"],
        quarter=1,
        role=AssignmentRole.RESPONSIBLE,
        review_state=ReviewState.RETURNED,
        return_count=1,
    )
    return t1


def compute(ruleset, **kwargs):
    kwargs.setdefault("year", 2023)
    kwargs.setdefault("period", "Q1")
    kwargs.setdefault("today", LATE)
    return scores_compute(ruleset_record=ruleset, **kwargs)


def test_compute_writes_one_score_per_section_and_a_ledger_that_adds_up(
    ruleset, workload, sections, office_user
):
    run = compute(ruleset, user=office_user)
    scores = {s.section.name: s for s in UnitScore.objects.filter(run=run).select_related("section")}
    assert set(scores) == {"办公室", "综合股", "法规股", "农业股"}
    for score in scores.values():
        lines = LedgerLine.objects.filter(run=run, section=score.section)
        assert sum(line.points for line in lines).quantize(D("0.01")) == score.total
    lead = scores["综合股"]
    overdue = LedgerLine.objects.get(run=run, section=lead.section, rule_code="A1-1")
    # Two overdue tasks led by 综合股: 0.7 + 0.7 = 1.4 tasks × 2 points.
    assert overdue.points == D("-2.8")
    assert "按分担比例折算为牵头2项×0.7=1.4项" in overdue.reason
    resp_lines = {
        line.rule_code: line for line in LedgerLine.objects.filter(run=run, section=sections["resp"])
    }
    assert resp_lines["A1-1"].points == D("-0.6")  # 0.3 × 2
    assert resp_lines["A2-1"].points == D("-0.9")  # missing (returned, not resubmitted) 0.3 × 3
    assert resp_lines["A2-2"].points == D("-0.3")  # returned 0.3 × 1
    # Ranks: the untouched sections share first place.
    assert scores["办公室"].rank == scores["农业股"].rank == 1
    assert (scores["法规股"].total, scores["法规股"].rank) == (D("69.20"), 3)
    # 综合股 also misses the Q1 report of its second (one-off, unfinished) task: −0.7 × 3.
    assert (scores["综合股"].total, scores["综合股"].rank) == (D("66.10"), 4)
    assert run.inputs_digest and len(run.inputs_digest) == 64
    entry = AuditEntry.objects.get(action="scores.compute")
    assert entry.user == office_user and entry.new_value["inputs_digest"] == run.inputs_digest


def test_recomputing_with_the_same_inputs_gives_an_identical_ledger_and_digest(ruleset, workload):
    first = compute(ruleset)
    lines, digest = ledger(first), first.inputs_digest
    second = compute(ruleset)
    assert second.pk == first.pk
    assert ScoreRun.objects.count() == 1
    assert ledger(second) == lines
    assert second.inputs_digest == digest
    assert UnitScore.objects.filter(run=second).count() == 4


def test_recomputing_after_new_facts_replaces_the_ledger(ruleset, workload, sections, plan):
    first = compute(ruleset)
    digest = first.inputs_digest
    make_task(plan, leads=[sections["other"]], due_date=datetime.date(2023, 1, 20))
    again = compute(ruleset)
    assert again.inputs_digest != digest
    assert LedgerLine.objects.filter(run=again, section=sections["other"], rule_code="A1-1").count() == 1


def test_a_draft_rule_set_cannot_be_computed_officially(db, sections):
    draft = ruleset_import(text=SECTION_RULES.read_text(encoding="utf-8"))
    with pytest.raises(ValidationError, match="草稿"):
        compute(draft)
    assert not ScoreRun.objects.exists()


def test_what_if_leaves_the_official_run_untouched_and_reports_deltas(ruleset, workload, sections):
    official = compute(ruleset)
    before = ledger(official)
    draft = ruleset_new_version(ruleset=ruleset)
    # The draft doubles the overdue deduction (2 → 4 points per task).
    Rule.objects.filter(ruleset=draft, code="A1-1").update(points=D(4))
    whatif = compute(draft, what_if=True)
    assert whatif.pk != official.pk and whatif.is_what_if
    official.refresh_from_db()
    assert ledger(official) == before
    deltas = {d.section.name: d for d in scores_whatif_compare(official_run=official, whatif_run=whatif)}
    assert deltas["综合股"].delta == D("-2.80")
    assert deltas["法规股"].delta == D("-0.60")
    assert deltas["农业股"].delta == 0
    changed = deltas["综合股"].changed_indicators
    assert [(i.code, i.official, i.whatif, i.delta) for i in changed] == [
        ("A1", D("17.2"), D("14.4"), D("-2.8"))
    ]
    assert AuditEntry.objects.filter(action="scores.whatif").count() == 1


def test_what_if_with_the_published_rule_set_is_a_separate_run(ruleset, workload):
    official = compute(ruleset)
    whatif = compute(ruleset, what_if=True)
    assert ScoreRun.objects.filter(is_what_if=True).get() == whatif
    assert all(d.delta == 0 for d in scores_whatif_compare(official_run=official, whatif_run=whatif))


def test_compare_without_an_official_run_lists_the_what_if_scores(ruleset, workload):
    whatif = compute(ruleset, what_if=True)
    deltas = scores_whatif_compare(official_run=None, whatif_run=whatif)
    assert len(deltas) == 4 and all(d.official_total is None for d in deltas)


def test_a_discretionary_score_out_of_range_in_stored_facts_stops_the_computation(ruleset, sections):
    ManualFact.objects.create(
        section=sections["lead"], year=2023, period="Q1", fact="quality_assessment", value=11, reason="超出"
    )
    with pytest.raises(ValidationError):
        compute(ruleset)
    assert not UnitScore.objects.exists()


def test_the_background_task_computes_by_ids(ruleset, workload, office_user):
    message = tasks.compute_scores(ruleset.pk, 2023, "Q1", office_user.pk)
    run = ScoreRun.objects.get()
    assert run.computed_by == office_user and not run.is_what_if
    assert "4个股室" in message
    assert tasks.compute_scores(999999, 2023, "Q1").startswith("细则")


# ---- manual facts --------------------------------------------------------------------------------------


def set_fact(section, fact, value, **kwargs):
    kwargs.setdefault("reason", "")
    return manual_fact_set(section=section, year=2023, period="Q1", fact=fact, value=value, **kwargs)


def test_manual_fact_is_saved_and_audited_old_to_new(ruleset, sections, office_user):
    mf = set_fact(sections["lead"], "features_published", "5", user=office_user)
    assert mf.value == 5
    again = set_fact(sections["lead"], "features_published", "7", user=office_user)
    assert again.pk == mf.pk and again.value == 7
    entries = list(AuditEntry.objects.filter(action="manualfact.set").order_by("at", "id"))
    assert entries[0].old_value is None and entries[0].new_value["value"] == 5
    assert entries[1].old_value["value"] == 5 and entries[1].new_value["value"] == 7


@pytest.mark.parametrize(
    ("fact", "value", "reason", "field", "message"),
    [
        ("quality_assessment", "8", "", "reason", "须写明理由"),
        ("quality_assessment", "11", "质量较好", "value", "0–10"),
        ("quality_assessment", "-1", "质量较差", "value", "0–10"),
        ("commendations", "市级表彰", "", "evidence", "要求证明材料"),
        ("review_log_missing", "也许", "", "value", "是/否"),
        ("tasks_overdue", "3", "", "fact", "由系统根据任务与报送数据计算"),
        ("no_such_fact", "3", "", "fact", "没有规则读取"),
    ],
)
def test_manual_fact_validation(ruleset, sections, office_user, fact, value, reason, field, message):
    with pytest.raises(ValidationError) as exc:
        set_fact(sections["lead"], fact, value, reason=reason, user=office_user)
    assert field in exc.value.message_dict
    assert message in " ".join(exc.value.message_dict[field])
    assert not ManualFact.objects.exists()


def test_a_bonus_with_evidence_note_or_file_is_accepted(ruleset, sections, office_user):
    by_note = set_fact(
        sections["lead"], "commendations", "市级表彰", evidence_note="樟府办字〔2023〕5号", user=office_user
    )
    assert by_note.value == ["市级表彰"]
    upload = SimpleUploadedFile("表彰决定.pdf", PDF, content_type="application/pdf")
    by_file = set_fact(
        sections["resp"],
        "info_adopted",
        "信息被市政府网站采用\n信息被省平台采用",
        evidence=upload,
        user=office_user,
    )
    assert by_file.evidence.name.endswith("表彰决定.pdf")
    # Editing without a new upload keeps the file as the evidence.
    kept = set_fact(sections["resp"], "info_adopted", "信息被市政府网站采用", user=office_user)
    assert kept.evidence.name == by_file.evidence.name


def test_an_evidence_file_must_really_be_an_allowed_type(ruleset, sections, office_user):
    fake = SimpleUploadedFile("表彰.pdf", b"MZ not a pdf", content_type="application/pdf")
    with pytest.raises(ValidationError) as exc:
        set_fact(sections["lead"], "commendations", "市级表彰", evidence=fake, user=office_user)
    assert "evidence" in exc.value.message_dict


def test_notices_may_be_entered_until_the_notice_model_exists(ruleset, sections, office_user):
    mf = set_fact(sections["lead"], "notices_county", "樟政公办〔2023〕2号", user=office_user)
    run = compute(ruleset)
    line = LedgerLine.objects.get(run=run, section=sections["lead"], rule_code="G-1")
    assert line.points == D(-3) and mf.value == ["樟政公办〔2023〕2号"]


def test_manual_facts_feed_the_computation(ruleset, sections, office_user):
    set_fact(sections["lead"], "quality_assessment", "8", reason="材料规范", user=office_user)
    set_fact(sections["lead"], "review_skipped", "是", user=office_user)
    run = compute(ruleset)
    lines = {line.rule_code: line for line in LedgerLine.objects.filter(run=run, section=sections["lead"])}
    assert lines["E-1"].points == 8 and "材料规范" in lines["E-1"].reason
    assert "此项不得分" in lines["C1-2"].reason


def test_deleting_a_manual_fact_is_audited(ruleset, sections, office_user):
    mf = set_fact(sections["lead"], "features_published", "5", user=office_user)
    manual_fact_delete(manual_fact=mf, user=office_user)
    assert not ManualFact.objects.exists()
    assert AuditEntry.objects.get(action="manualfact.delete").old_value["value"] == 5


def test_the_background_task_records_a_failure_instead_of_retrying(ruleset, sections, office_user):
    ManualFact.objects.create(
        section=sections["lead"], year=2023, period="Q1", fact="quality_assessment", value=11, reason="超出"
    )
    message = tasks.compute_scores(ruleset.pk, 2023, "Q1", office_user.pk)
    assert "计分失败" in message and "酌情分" in message
    entry = AuditEntry.objects.get(action="scores.compute")
    assert entry.outcome == AuditEntry.Outcome.FAILURE and entry.new_value["period"] == "Q1"
    assert not ScoreRun.objects.exists()
