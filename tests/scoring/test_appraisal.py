"""绩效考核导出：季度取关账快照（申诉调整后总分、含冲回行），未关账的取正式计分并注明；年度按期间权重
汇总；xlsx 两张表（成绩、台账明细），数字为数值单元格，公式字符开头的文字被中和；csv 为成绩表；
仅办公室、局长；审计。"""

# The fixture `clients` is shared with test_closing.py: importing it is how pytest finds it.
# ruff: noqa: F811

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal
from types import SimpleNamespace

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from scoring.appeals import appeal_decide, appeal_submit
from scoring.appraisal import appraisal_export, appraisal_rows
from scoring.models import LedgerLine, Rule, SnapshotLedgerLine, SnapshotScore, UnitScore
from tests.factories import make_section, make_task
from tests.scoring.test_closing import DUE, PERSONAS, at, clients, close_quarter, compute  # noqa: F401
from tests.scoring.test_facts import published_ruleset
from workplan.models import AuditEntry

EVIL = "=cmd"
Q2_DAY = datetime.date(2023, 7, 20)


@pytest.fixture
def exported(db, plan, sections, office_user, lead_user):
    """股室“=cmd”参评；B1-1 规则说明以“=cmd”开头（其台账理由随之以公式字符开头）；第一季度关账后
    综合股对逾期扣分的申诉被采纳（冲回 1.4 分）。"""
    evil = make_section(EVIL, sort_order=9)
    ruleset = published_ruleset()
    Rule.objects.filter(ruleset=ruleset, code="B1-1").update(label=EVIL)
    make_task(plan, leads=[sections["lead"]], responsibles=[sections["resp"]], due_date=DUE)
    close = close_quarter(office_user, ruleset)
    line = SnapshotLedgerLine.objects.get(close=close, section=sections["lead"], rule_code="A1-1")
    with at(datetime.date(2023, 5, 4)):
        appeal = appeal_submit(line=line, user=lead_user, reason="已按期完成")
        appeal_decide(appeal=appeal, accept=True, reason="情况属实", user=office_user)
    return SimpleNamespace(ruleset=ruleset, close=close, evil=evil, line=line)


def download(client, period: str, fmt: str, year: int = 2023):
    return client.get(reverse("appraisal_export"), {"year": year, "period": period, "fmt": fmt})


def workbook(response) -> openpyxl.Workbook:
    assert response.status_code == 200, response.content[:500]
    return openpyxl.load_workbook(io.BytesIO(response.content))


def data_rows(ws) -> list[tuple]:
    """成绩表的股室行（表头之后、空行与说明之前）。"""
    rows = []
    for row in ws.iter_rows(min_row=2):
        if row[0].value is None:
            break
        rows.append(row)
    return rows


# ---- the quarter ---------------------------------------------------------------------------------------


def test_quarter_xlsx_has_a_score_sheet_and_a_ledger_sheet_with_numeric_cells(clients, exported, sections):
    wb = workbook(download(clients["office"], "Q1", "xlsx"))
    assert wb.sheetnames == ["成绩", "台账明细"]
    scores, ledger = wb["成绩"], wb["台账明细"]
    headers = [c.value for c in scores[1]]
    assert headers[:4] == ["股室", "总分", "等次", "名次"]
    assert "A1 重点任务按期完成" in headers and "B1 主动公开信息数量" in headers
    rows = data_rows(scores)
    assert len(rows) == 5
    for row in rows:
        assert row[1].data_type == "n" and row[3].data_type == "n"
        assert all(cell.data_type == "n" for cell in row[4:])
        # the indicator subtotals add up to the total (same ledger, same rounding here)
        assert sum(Decimal(str(c.value)) for c in row[4:]) == Decimal(str(row[1].value))
    by_name = {row[0].value: row for row in rows}
    lead = SnapshotScore.objects.get(close=exported.close, section=sections["lead"])
    assert Decimal(str(by_name["综合股"][1].value)) == lead.adjusted_total == lead.total + Decimal("1.4")
    assert by_name["综合股"][3].value == lead.rank
    notes = [r[0].value for r in scores.iter_rows(min_row=len(rows) + 2) if r[0].value]
    assert notes == ["注：Q1成绩取自关账快照，总分为申诉调整后总分。"]

    assert [c.value for c in ledger[1]][:6] == ["股室", "期间", "指标", "指标名称", "规则", "分值"]
    assert ledger.max_row - 1 == SnapshotLedgerLine.objects.filter(close=exported.close).count()
    assert all(r[5].data_type == "n" for r in ledger.iter_rows(min_row=2))
    reversals = [r for r in ledger.iter_rows(min_row=2) if r[9].value == "是"]
    assert len(reversals) == 1 and reversals[0][5].value == 1.4
    assert reversals[0][6].value.startswith("申诉采纳：情况属实，冲回「")


def test_formula_text_is_neutralised_in_both_sheets_and_numbers_stay_numbers(clients, exported):
    wb = workbook(download(clients["director"], "Q1", "xlsx"))
    scores, ledger = wb["成绩"], wb["台账明细"]
    assert "'=cmd" in [row[0].value for row in data_rows(scores)]
    cells = [c for ws in (scores, ledger) for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert not any(
        isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells
    )
    reasons = [r[6].value for r in ledger.iter_rows(min_row=2)]
    assert any(reason.startswith("'=cmd0条") for reason in reasons)
    assert "'=cmd" in [r[0].value for r in ledger.iter_rows(min_row=2)]
    assert any(isinstance(r[5].value, (int, float)) and r[5].value < 0 for r in ledger.iter_rows(min_row=2))


def test_csv_is_the_score_sheet_and_formula_safe(clients, exported):
    response = download(clients["office"], "Q1", "csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["股室", "总分", "等次", "名次"]
    assert "'=cmd" in [r[0] for r in rows[1:]]
    for row in rows:
        for cell in row:
            if cell.startswith(("=", "+", "@", "\t", "\r")):
                pytest.fail(f"unsafe cell {cell!r}")
            if cell.startswith("-"):
                Decimal(cell)  # only negative numbers may start with a minus sign


def test_an_unclosed_quarter_comes_from_the_official_run_and_says_so(db, sections, office_user):
    ruleset = published_ruleset()
    with at(Q2_DAY):
        run = compute(ruleset, "Q2")
    appraisal = appraisal_rows(2023, "Q2")
    assert appraisal.notes == ["注：Q2尚未关账，成绩取自正式计分，关账前可能变动。"]
    assert {s.name: s.total for s in appraisal.sections} == {
        s.section.name: s.total for s in UnitScore.objects.filter(run=run).select_related("section")
    }
    assert len(appraisal.lines) == LedgerLine.objects.filter(run=run).count()


def test_nothing_to_export_is_refused(db, clients, office_user):
    with pytest.raises(ValidationError, match="尚未正式计分"):
        appraisal_rows(2023, "Q1")
    with pytest.raises(ValidationError, match="没有正式计分"):
        appraisal_rows(2023, "年度")
    assert download(clients["office"], "Q1", "xlsx").status_code == 404
    page = clients["office"].get(reverse("appraisal_export"), {"year": 2023, "period": "Q1"})
    assert page.status_code == 200 and "尚未正式计分" in page.content.decode()
    assert not AuditEntry.objects.filter(action="appraisal.export").exists()


# ---- the year ------------------------------------------------------------------------------------------


def test_year_rolls_up_closed_and_live_quarters_by_the_period_weights(clients, exported, sections):
    with at(Q2_DAY):
        q2 = compute(exported.ruleset, "Q2")
    appraisal = appraisal_rows(2023, "年度")
    assert appraisal.periods == ["Q1", "Q2", "Q3", "Q4"]
    assert appraisal.notes[1:] == [
        "注：Q1取自关账快照（申诉调整后总分）。",
        "注：Q2尚未关账，取自正式计分，关账前可能变动。",
        "注：Q3、Q4没有成绩，按0分计。",
    ]
    q1 = {s.section_id: s.adjusted_total for s in SnapshotScore.objects.filter(close=exported.close)}
    live = {s.section_id: s.total for s in UnitScore.objects.filter(run=q2)}
    for row in appraisal.sections:
        expected = ((q1[row.section_id] + live[row.section_id]) * Decimal("0.25")).quantize(Decimal("0.01"))
        assert row.total == expected
        assert row.period_totals == {"Q1": q1[row.section_id], "Q2": live[row.section_id]}
    assert [r.rank for r in appraisal.sections] == sorted(r.rank for r in appraisal.sections)
    snapshot_lines = SnapshotLedgerLine.objects.filter(close=exported.close).count()
    live_lines = LedgerLine.objects.filter(run=q2).count()
    assert len(appraisal.lines) == snapshot_lines + live_lines + 4 * len(appraisal.sections)

    wb = workbook(download(clients["office"], "年度", "xlsx"))
    scores, ledger = wb["成绩"], wb["台账明细"]
    headers = [c.value for c in scores[1]]
    assert headers[4:8] == ["Q1得分", "Q2得分", "Q3得分", "Q4得分"]
    for row in data_rows(scores):
        assert row[1].data_type == "n" and row[4].data_type == "n" and row[5].data_type == "n"
        assert row[6].value is None  # Q3 has no score
    assert ledger.max_row - 1 == len(appraisal.lines)
    assert {r[8].value for r in ledger.iter_rows(min_row=2)} == {"关账快照", "正式计分（未关账）", "年度汇总"}


# ---- permissions, audit --------------------------------------------------------------------------------

PAGE = {
    "office": 200,
    "director": 200,
    "lead": 403,
    "resp": 403,
    "outsider": 403,
    "readonly": 403,
    "anonymous": 302,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_appraisal_page_and_downloads_are_for_the_office_and_director(persona, clients, exported):
    page = clients[persona].get(reverse("appraisal_export"), {"year": 2023, "period": "Q1"})
    assert page.status_code == PAGE[persona]
    for fmt in ("xlsx", "csv"):
        assert download(clients[persona], "Q1", fmt).status_code == PAGE[persona]
    if PAGE[persona] == 200:
        assert page.context["preview"]["headers"][:4] == ["股室", "总分", "等次", "名次"]
    exports = AuditEntry.objects.filter(action="appraisal.export").count()
    assert exports == (2 if PAGE[persona] == 200 else 0)


def test_appraisal_page_without_parameters_shows_the_form(clients, db):
    response = clients["office"].get(reverse("appraisal_export"))
    assert response.status_code == 200 and response.context["preview"] is None


def test_export_is_audited_with_the_period_and_format(clients, exported, director):
    download(clients["director"], "Q1", "xlsx")
    entry = AuditEntry.objects.get(action="appraisal.export")
    assert entry.user == director
    assert (entry.new_value["year"], entry.new_value["period"], entry.new_value["format"]) == (
        2023,
        "Q1",
        "xlsx",
    )
    assert entry.new_value["sections"] == 5
    assert entry.object_repr == "2023年第一季度绩效考核"


@pytest.mark.parametrize("persona", ["lead_user", "readonly_user"])
def test_the_export_service_refuses_other_users(persona, exported, request):
    with pytest.raises(PermissionDenied):
        appraisal_export(year=2023, period="Q1", fmt="xlsx", user=request.getfixturevalue(persona))


def test_export_query_count_is_bounded(clients, exported, django_assert_max_num_queries):
    with django_assert_max_num_queries(25):
        download(clients["office"], "年度", "xlsx")
