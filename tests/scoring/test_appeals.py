"""申诉：只在申诉期内（按工作日）、只由该行所属股室提出、每行一件待处理；办公室采纳 → 追加冲回行、
重算调整后总分与名次；驳回须写理由；定稿（期满或提前定稿、申诉须处理完）后不能再申诉；审计；页面权限矩阵。"""

# The fixtures `clients` and `closed` come from test_closing.py: importing them is how pytest finds them.
# ruff: noqa: F811

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from scoring import engine
from scoring.appeals import appeal_decide, appeal_submit
from scoring.closing import quarter_finalize
from scoring.models import (
    Appeal,
    AppealStatus,
    QuarterCloseStatus,
    SnapshotLedgerLine,
    SnapshotScore,
)
from tests.scoring.test_closing import CLOSE_DAY, DEADLINE, PERSONAS, at, clients, closed  # noqa: F401
from tests.scoring.test_services import PDF
from workplan.models import AuditEntry

IN_WINDOW = datetime.date(2023, 5, 4)
AFTER = datetime.date(2023, 5, 10)


def submit(closed, user, *, reason: str = "该任务已于1月底完成，系统状态未及时更新", day=IN_WINDOW, **kwargs):
    with at(day):
        return appeal_submit(line=closed.line, user=user, reason=reason, **kwargs)


def decide(appeal, user, *, accept: bool, reason: str = "情况属实", day=IN_WINDOW):
    with at(day):
        return appeal_decide(appeal=appeal, accept=accept, reason=reason, user=user)


def ranks(close) -> dict[str, tuple[Decimal, str, int]]:
    return {
        s.section.name: (s.adjusted_total, s.grade, s.rank)
        for s in SnapshotScore.objects.filter(close=close).select_related("section")
    }


# ---- submitting ----------------------------------------------------------------------------------------


def test_section_staff_appeal_their_own_deduction_on_the_last_working_day_of_the_window(closed, lead_user):
    appeal = submit(closed, lead_user, day=DEADLINE)
    assert (appeal.status, appeal.section_id, appeal.line_id, appeal.close_id) == (
        AppealStatus.PENDING,
        closed.line.section_id,
        closed.line.pk,
        closed.close.pk,
    )
    entry = AuditEntry.objects.get(action="appeal.submit")
    assert entry.user == lead_user and entry.new_value["line"] == closed.line.pk


def test_appeals_after_the_deadline_are_refused(closed, lead_user):
    with pytest.raises(ValidationError, match="申诉期已于2023-05-09结束"):
        submit(closed, lead_user, day=AFTER)
    assert not Appeal.objects.exists()


@pytest.mark.parametrize("persona", ["resp_user", "outsider", "director", "readonly_user", "office_user"])
def test_only_staff_of_the_lines_section_can_appeal(persona, closed, request):
    with pytest.raises(PermissionDenied):
        submit(closed, request.getfixturevalue(persona))


def test_one_pending_appeal_per_line_and_none_once_reversed(closed, lead_user, office_user):
    first = submit(closed, lead_user)
    with pytest.raises(ValidationError, match="已有待处理的申诉"):
        submit(closed, lead_user)
    decide(first, office_user, accept=False, reason="逾期属实")
    second = submit(closed, lead_user, reason="补充材料：完成报送已通过审核")
    decide(second, office_user, accept=True)
    with pytest.raises(ValidationError, match="已采纳并冲回"):
        submit(closed, lead_user)


def test_only_deductions_can_be_appealed(closed, lead_user):
    base = SnapshotLedgerLine.objects.filter(
        close=closed.close, section=closed.line.section, points__gt=0
    ).first()
    with at(IN_WINDOW), pytest.raises(ValidationError, match="只能对扣分的台账行提出申诉"):
        appeal_submit(line=base, user=lead_user, reason="不服")


def test_a_reason_is_required_and_evidence_files_are_checked(closed, lead_user):
    with pytest.raises(ValidationError, match="请填写申诉理由"):
        submit(closed, lead_user, reason="  ")
    bad = SimpleUploadedFile("说明.exe", b"MZ...", content_type="application/octet-stream")
    with pytest.raises(ValidationError, match="不支持"):
        submit(closed, lead_user, evidence=bad)
    good = SimpleUploadedFile("完成证明.pdf", PDF, content_type="application/pdf")
    appeal = submit(closed, lead_user, evidence=good)
    assert appeal.evidence_name == "完成证明.pdf"
    assert appeal.evidence.name.endswith("/完成证明.pdf")


# ---- deciding ------------------------------------------------------------------------------------------


def test_accepting_appends_a_reversal_line_and_recomputes_adjusted_total_grade_and_ranks(
    closed, lead_user, office_user
):
    before = ranks(closed.close)
    original = SnapshotLedgerLine.objects.filter(close=closed.close).order_by("pk").values()
    original = list(original)
    appeal = decide(submit(closed, lead_user), office_user, accept=True, reason="任务已按期完成")

    reversal = appeal.reversal
    assert reversal.reverses_id == closed.line.pk
    assert reversal.points == Decimal("1.4")
    assert reversal.reason == f"申诉采纳：任务已按期完成，冲回「{closed.line.reason}」"
    assert (reversal.section_id, reversal.indicator_code, reversal.rule_code) == (
        closed.line.section_id,
        "A1",
        "A1-1",
    )
    assert appeal.status == AppealStatus.ACCEPTED and appeal.decided_by == office_user
    # the frozen lines are untouched: only one line was added
    assert (
        list(
            SnapshotLedgerLine.objects.filter(close=closed.close)
            .exclude(pk=reversal.pk)
            .order_by("pk")
            .values()
        )
        == original
    )

    lead = SnapshotScore.objects.get(close=closed.close, section=closed.line.section)
    assert lead.total == before["综合股"][0]  # the frozen total stays
    assert lead.adjusted_total == before["综合股"][0] + Decimal("1.4")
    after = ranks(closed.close)
    rs_bands = [(b["name"], Decimal(str(b["min"]))) for b in closed.ruleset.grade_bands]
    expected_grade = next(name for name, low in rs_bands if lead.adjusted_total >= low)
    assert after["综合股"][1] == expected_grade
    results = [
        engine.UnitResult(name, "Q1", total, grade, False, 0, 0, 0, {}, ())
        for name, (total, grade, _) in after.items()
    ]
    assert {name: r for name, (_, _, r) in after.items()} == engine.rank(results)
    assert after["综合股"][2] < before["综合股"][2]  # moved up
    entry = AuditEntry.objects.get(action="appeal.decide")
    assert entry.old_value["status"] == "pending" and entry.new_value["status"] == "accepted"
    assert entry.new_value["reversal_points"] == "1.4000"


def test_rejecting_keeps_the_scores_and_needs_a_reason(closed, lead_user, office_user):
    before = ranks(closed.close)
    appeal = submit(closed, lead_user)
    with pytest.raises(ValidationError, match="驳回申诉须写明理由"):
        decide(appeal, office_user, accept=False, reason=" ")
    appeal = decide(appeal, office_user, accept=False, reason="截止日前未见完成报送")
    assert (appeal.status, appeal.decision_reason, appeal.reversal) == (
        AppealStatus.REJECTED,
        "截止日前未见完成报送",
        None,
    )
    assert ranks(closed.close) == before
    assert not SnapshotLedgerLine.objects.filter(close=closed.close, reverses__isnull=False).exists()


def test_an_appeal_is_decided_once_by_the_office_and_not_by_its_author(
    closed, lead_user, office_user, director
):
    appeal = submit(closed, lead_user)
    with pytest.raises(PermissionDenied):
        decide(appeal, director, accept=True)
    decide(appeal, office_user, accept=True)
    with pytest.raises(ValidationError, match="已处理"):
        decide(appeal, office_user, accept=False, reason="重复")
    assert SnapshotLedgerLine.objects.filter(close=closed.close, reverses__isnull=False).count() == 1

    office_line = SnapshotLedgerLine.objects.filter(
        close=closed.close, section__name="办公室", points__lt=0
    ).first()
    with at(IN_WINDOW):
        own = appeal_submit(line=office_line, user=office_user, reason="本股室的扣分有误")
    with pytest.raises(ValidationError, match="不能处理本人提出的申诉"):
        decide(own, office_user, accept=True)


# ---- finalizing ----------------------------------------------------------------------------------------


def test_finalizing_inside_the_window_needs_force_and_all_appeals_decided(closed, lead_user, office_user):
    appeal = submit(closed, lead_user)
    with at(IN_WINDOW), pytest.raises(ValidationError, match="尚有1件申诉未处理"):
        quarter_finalize(close=closed.close, user=office_user, force=True)
    decide(appeal, office_user, accept=False, reason="不予采纳")
    with at(IN_WINDOW), pytest.raises(ValidationError, match="期满后方可定稿"):
        quarter_finalize(close=closed.close, user=office_user)
    with at(IN_WINDOW):
        close = quarter_finalize(close=closed.close, user=office_user, force=True)
    assert close.status == QuarterCloseStatus.FINAL and close.finalized_at is not None
    assert AuditEntry.objects.get(action="quarter.finalize").new_value == {"status": "final", "forced": True}


def test_after_finalizing_no_appeal_can_be_submitted_and_finalizing_again_is_refused(closed, lead_user, office_user):
    pending = submit(closed, lead_user)
    decide(pending, office_user, accept=False, reason="不予采纳")
    with at(AFTER):
        quarter_finalize(close=closed.close, user=office_user)
    closed.line.refresh_from_db()
    with pytest.raises(ValidationError, match="已定稿"):
        submit(closed, lead_user, day=IN_WINDOW)  # even on a date inside the window
    with at(AFTER), pytest.raises(ValidationError, match="已定稿"):
        quarter_finalize(close=closed.close, user=office_user)


@pytest.mark.parametrize("persona", ["director", "lead_user"])
def test_only_the_office_finalizes(persona, closed, request):
    with at(AFTER), pytest.raises(PermissionDenied):
        quarter_finalize(close=closed.close, user=request.getfixturevalue(persona))


# ---- pages ---------------------------------------------------------------------------------------------

APPEAL_NEW = {
    "office": 403,
    "director": 403,
    "lead": 200,
    "resp": 404,
    "outsider": 404,
    "readonly": 403,
    "anonymous": 302,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_appeal_form_is_for_the_lines_own_section(persona, clients, closed):
    with at(IN_WINDOW):
        response = clients[persona].get(reverse("appeal_new", args=[closed.line.pk]))
    assert response.status_code == APPEAL_NEW[persona]


@pytest.mark.parametrize("persona", PERSONAS)
def test_appeal_submission_page(persona, clients, closed):
    upload = SimpleUploadedFile("完成证明.pdf", PDF, content_type="application/pdf")
    with at(IN_WINDOW):
        response = clients[persona].post(
            reverse("appeal_new", args=[closed.line.pk]), {"reason": "已完成", "evidence": upload}
        )
    expected = 302 if persona == "lead" else APPEAL_NEW[persona]
    assert response.status_code == expected
    assert Appeal.objects.exists() == (persona == "lead")
    if persona == "lead":
        assert response["Location"] == reverse("close_detail", args=[closed.close.pk])


def test_appeal_page_shows_the_refusal_after_the_deadline(clients, closed):
    with at(AFTER):
        page = clients["lead"].get(reverse("appeal_new", args=[closed.line.pk]))
        posted = clients["lead"].post(reverse("appeal_new", args=[closed.line.pk]), {"reason": "迟到的申诉"})
    assert page.status_code == 200 and "申诉期已于2023-05-09结束" in page.content.decode()
    assert posted.status_code == 400 and not Appeal.objects.exists()


@pytest.fixture
def appeal(closed, lead_user):
    upload = SimpleUploadedFile("完成证明.pdf", PDF, content_type="application/pdf")
    return submit(closed, lead_user, evidence=upload)


APPEAL_SEEN = {
    "office": 200,
    "director": 200,
    "lead": 200,
    "resp": 404,
    "outsider": 404,
    "readonly": 200,
    "anonymous": 302,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_appeal_detail_and_evidence_are_seen_by_the_office_director_and_own_section(persona, clients, appeal):
    detail = clients[persona].get(reverse("appeal_detail", args=[appeal.pk]))
    evidence = clients[persona].get(reverse("appeal_evidence", args=[appeal.pk]))
    assert detail.status_code == APPEAL_SEEN[persona]
    assert evidence.status_code == APPEAL_SEEN[persona]
    if detail.status_code == 200:
        assert (detail.context["form"] is not None) == (persona == "office")


@pytest.mark.parametrize("persona", PERSONAS)
def test_appeal_list_shows_each_section_only_its_own_appeals(persona, clients, appeal):
    response = clients[persona].get(reverse("appeal_list"))
    if persona == "anonymous":
        assert response.status_code == 302
        return
    assert response.status_code == 200
    seen = [a.pk for a in response.context["appeals"]]
    assert seen == ([appeal.pk] if APPEAL_SEEN[persona] == 200 else [])


DECIDE = {
    "office": 302,
    "director": 403,
    "lead": 403,
    "resp": 403,
    "outsider": 403,
    "readonly": 403,
    "anonymous": 302,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_deciding_an_appeal_is_office_only(persona, clients, appeal):
    with at(IN_WINDOW):
        response = clients[persona].post(
            reverse("appeal_decide", args=[appeal.pk]), {"decision": "accept", "reason": "情况属实"}
        )
    assert response.status_code == DECIDE[persona]
    appeal.refresh_from_db()
    assert (appeal.status == AppealStatus.ACCEPTED) == (persona == "office")


def test_decide_page_needs_a_reason_to_reject(clients, appeal):
    response = clients["office"].post(reverse("appeal_decide", args=[appeal.pk]), {"decision": "reject"})
    assert response.status_code == 400
    assert "驳回申诉须写明理由" in response.content.decode()


@pytest.mark.parametrize("name", ["appeal_decide"])
def test_post_only_appeal_actions_answer_get_with_405(name, clients, appeal):
    assert clients["office"].get(reverse(name, args=[appeal.pk])).status_code == 405


def test_appeal_new_rejects_other_methods(clients, closed):
    assert clients["lead"].put(reverse("appeal_new", args=[closed.line.pk])).status_code == 405
