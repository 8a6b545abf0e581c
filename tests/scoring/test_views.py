"""考核评分页面：权限矩阵（办公室、局长、牵头/责任股室、无关股室、只读、未登录）、本股室以外 404、
非办公室写 403、
写操作 GET 405；成绩导出防公式注入；明细依据链接到任务；计分与模拟计分页面。"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_q.conf import Conf
from django_q.models import OrmQ

from scoring.access import _ref_shares
from scoring.models import LedgerLine, ManualFact, Rule, ScoreRun, UnitScore
from scoring.rulesets import ruleset_new_version
from scoring.services import manual_fact_set, scores_compute
from tests.conftest import login
from tests.factories import make_application, make_evidence, make_report, make_section
from tests.scoring.test_facts import LATE, published_ruleset
from tests.scoring.test_services import PDF
from workplan.models import Section

PERSONAS = ["office", "director", "lead", "resp", "outsider", "readonly", "anonymous"]


@pytest.fixture
def clients(office_user, director, lead_user, resp_user, outsider, readonly_user):
    users = {
        "office": office_user,
        "director": director,
        "lead": lead_user,
        "resp": resp_user,
        "outsider": outsider,
        "readonly": readonly_user,
    }
    result = {name: login(user) for name, user in users.items()}
    result["anonymous"] = Client()
    return result


@pytest.fixture
def scored(db, task, sections, office_user):
    """已发布细则；综合股牵头的任务已逾期且有佐证；综合股录入一项加分（附文件）；
    2023Q1 正式与模拟计分各一次。"""
    ruleset = published_ruleset()
    task.due_date = LATE.replace(year=2023, month=2, day=1)
    task.save(update_fields=["due_date"])
    report = make_report(task, sections["lead"], quarter=1)
    evidence = make_evidence(report, note="公开链接")
    mf = manual_fact_set(
        section=sections["lead"],
        year=2023,
        period="Q1",
        fact="commendations",
        value="市级表彰",
        reason="",
        evidence=SimpleUploadedFile("表彰决定.pdf", PDF, content_type="application/pdf"),
        user=office_user,
    )
    official = scores_compute(ruleset_record=ruleset, year=2023, period="Q1", today=LATE)
    draft = ruleset_new_version(ruleset=ruleset)
    Rule.objects.filter(ruleset=draft, code="A1-1").update(points=Decimal(4))
    whatif = scores_compute(ruleset_record=draft, year=2023, period="Q1", today=LATE, what_if=True)
    lead_score = UnitScore.objects.get(run=official, section=sections["lead"])
    line = LedgerLine.objects.get(run=official, section=sections["lead"], rule_code="A1-1")
    return {
        "ruleset": ruleset,
        "draft": draft,
        "official": official,
        "whatif": whatif,
        "lead_score": lead_score,
        "whatif_score": UnitScore.objects.get(run=whatif, section=sections["lead"]),
        "line": line,
        "manual": mf,
        "evidence": evidence,
        "task": task,
    }


def expect(client: Client, method: str, url: str, status: int, data: dict | None = None):
    response = client.get(url) if method == "get" else client.post(url, data or {})
    if status == 302:
        assert response.status_code == 302, (url, response.status_code)
    else:
        assert response.status_code == status, (url, response.status_code)
    return response


def login_redirect(response) -> bool:
    return response.status_code == 302 and reverse("login") in response["Location"]


# ---- the matrix ----------------------------------------------------------------------------------------

READ_MATRIX = {
    # view → status per persona (anonymous always goes to the login page)
    "overview": dict(office=200, director=200, lead=200, resp=200, outsider=200, readonly=200),
    "detail": dict(office=200, director=200, lead=200, resp=404, outsider=404, readonly=200),
    "whatif_detail": dict(office=200, director=200, lead=404, resp=404, outsider=404, readonly=404),
    "line": dict(office=200, director=200, lead=200, resp=404, outsider=404, readonly=200),
    "manual": dict(office=200, director=200, lead=403, resp=403, outsider=403, readonly=403),
    "evidence": dict(office=200, director=200, lead=200, resp=404, outsider=404, readonly=200),
    "compute": dict(office=200, director=403, lead=403, resp=403, outsider=403, readonly=403),
    "whatif": dict(office=200, director=403, lead=403, resp=403, outsider=403, readonly=403),
    "whatif_result": dict(office=200, director=403, lead=403, resp=403, outsider=403, readonly=403),
}


def read_url(name: str, scored) -> str:
    return {
        "overview": reverse("score_overview"),
        "detail": reverse("score_detail", args=[scored["lead_score"].pk]),
        "whatif_detail": reverse("score_detail", args=[scored["whatif_score"].pk]),
        "line": reverse("ledger_line_detail", args=[scored["line"].pk]),
        "manual": reverse("manual_facts") + "?year=2023",
        "evidence": reverse("manual_fact_evidence", args=[scored["manual"].pk]),
        "compute": reverse("score_compute"),
        "whatif": reverse("score_whatif"),
        "whatif_result": reverse("score_whatif") + f"?run={scored['whatif'].pk}",
    }[name]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("view", list(READ_MATRIX))
def test_read_permission_matrix(scored, clients, view, persona):
    url = read_url(view, scored)
    response = clients[persona].get(url)
    if persona == "anonymous":
        assert login_redirect(response)
        return
    assert response.status_code == READ_MATRIX[view][persona], (view, persona)


WRITE_VIEWS = ["manual_save", "manual_delete", "compute_run", "whatif_run"]


def write_request(name: str, scored, sections) -> tuple[str, dict]:
    return {
        "manual_save": (
            reverse("manual_fact_save"),
            {
                "section": sections["lead"].pk,
                "year": 2023,
                "period": "Q1",
                "fact": "features_published",
                "value": "6",
                "reason": "",
                "evidence_note": "",
            },
        ),
        "manual_delete": (reverse("manual_fact_delete", args=[scored["manual"].pk]), {}),
        "compute_run": (
            reverse("score_compute_run"),
            {"ruleset": scored["ruleset"].pk, "year": 2023, "period": "Q2"},
        ),
        "whatif_run": (
            reverse("score_whatif_run"),
            {"ruleset": scored["draft"].pk, "year": 2023, "period": "Q2"},
        ),
    }[name]


@pytest.mark.parametrize("view", WRITE_VIEWS)
@pytest.mark.parametrize("persona", ["director", "lead", "resp", "outsider", "readonly"])
def test_only_the_office_may_write(scored, sections, clients, view, persona):
    url, data = write_request(view, scored, sections)
    response = clients[persona].post(url, data)
    assert response.status_code == 403, (view, persona)
    assert ManualFact.objects.filter(fact="features_published").count() == 0
    assert ManualFact.objects.filter(pk=scored["manual"].pk).exists()
    assert not ScoreRun.objects.filter(period="Q2").exists()


def test_non_office_writes_are_refused_before_looking_anything_up(scored, sections, clients):
    url, data = write_request("manual_delete", scored, sections)
    assert clients["outsider"].post(url, data).status_code == 403
    assert clients["outsider"].post(reverse("manual_fact_delete", args=[999999])).status_code == 403
    assert clients["office"].post(reverse("manual_fact_delete", args=[999999])).status_code == 404


@pytest.mark.parametrize("view", WRITE_VIEWS)
def test_writes_refuse_get(scored, sections, clients, view):
    url, _ = write_request(view, scored, sections)
    assert clients["office"].get(url).status_code == 405


@pytest.mark.parametrize("view", WRITE_VIEWS)
def test_writes_send_anonymous_users_to_login(scored, sections, clients, view):
    url, data = write_request(view, scored, sections)
    assert login_redirect(clients["anonymous"].post(url, data))


@pytest.mark.parametrize("view", WRITE_VIEWS)
def test_the_office_writes(scored, sections, clients, view):
    url, data = write_request(view, scored, sections)
    response = clients["office"].post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    if view == "manual_save":
        assert ManualFact.objects.get(fact="features_published").value == 6
    elif view == "manual_delete":
        assert not ManualFact.objects.filter(pk=scored["manual"].pk).exists()
    elif view == "compute_run":
        # Tests run django-q2 synchronously: the enqueued task has already computed the run.
        run = ScoreRun.objects.get(period="Q2", is_what_if=False)
        assert run.computed_by.username == "office"
    else:
        run = ScoreRun.objects.get(period="Q2", is_what_if=True)
        assert response["Location"].endswith(f"?run={run.pk}")


# ---- what each page shows ------------------------------------------------------------------------------


def test_section_staff_see_only_their_own_row_in_the_overview(scored, clients):
    lead_page = clients["lead"].get(reverse("score_overview")).content.decode()
    office_page = clients["office"].get(reverse("score_overview")).content.decode()
    assert "综合股" in lead_page and "法规股" not in lead_page and "农业股" not in lead_page
    assert all(name in office_page for name in ("综合股", "法规股", "农业股", "办公室"))


def test_the_overview_filters_by_period_and_says_when_nothing_was_computed(scored, clients):
    page = clients["office"].get(reverse("score_overview"), {"year": 2023, "period": "Q3"}).content.decode()
    assert "尚未正式计分" in page
    page = (
        clients["office"]
        .get(reverse("score_overview"), {"year": 2023, "period": "Q1", "ruleset": scored["ruleset"].pk})
        .content.decode()
    )
    assert str(scored["lead_score"].total) in page


def test_the_ledger_lists_every_line_with_indicator_rule_points_and_reason(scored, clients):
    page = clients["lead"].get(reverse("score_detail", args=[scored["lead_score"].pk])).content.decode()
    assert "<td>A1 重点任务按期完成</td><td>20</td><td>18.6</td>" in page
    assert "A1-1 工作要点任务逾期未完成" in page
    assert "按分担比例折算为牵头1项×0.7" in page
    assert reverse("ledger_line_detail", args=[scored["line"].pk]) in page


def test_the_drill_down_links_to_the_task_and_its_evidence(scored, clients):
    page = clients["lead"].get(reverse("ledger_line_detail", args=[scored["line"].pk])).content.decode()
    assert reverse("task_detail", args=[scored["task"].pk]) in page
    assert scored["evidence"].url in page
    task_ref = f"task:{scored['task'].pk}"
    assert re.search(rf"<td>{task_ref}</td>\s*<td>0.7</td>\s*<td>牵头</td>", page), page
    assert "截止日期" in page  # the event's note from the facts (its due date)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        # Current ledger lines: groups give share, role and count in the order of refs.
        (
            {
                "refs": ["task:1", "task:2", "task:3"],
                "groups": [{"share": "0.7", "count": 2, "role": "lead"}, {"share": "1", "count": 1}],
            },
            [("0.7", "lead"), ("0.7", "lead"), ("1", "")],
        ),
        # Lines written before grouping listed each share.
        (
            {"refs": ["task:1"], "shares": [{"ref": "task:1", "share": "0.3", "role": "responsible"}]},
            [("0.3", "responsible")],
        ),
        ({"refs": ["task:1", "task:2"]}, [("", ""), ("", "")]),
    ],
)
def test_drill_down_reads_each_ref_share_from_the_line_facts(facts, expected):
    assert _ref_shares(facts, len(facts["refs"])) == expected


def test_register_refs_link_to_their_records_and_show_their_notes(scored, clients, sections):
    application = make_application(sections["lead"], code="2023-007")
    line = LedgerLine.objects.create(
        run=scored["official"],
        section=sections["lead"],
        indicator_code="D",
        rule_code="D-1",
        period="Q1",
        points=Decimal(-3),
        reason="依申请公开逾期答复1件，每件扣3分，共扣3分",
        facts={
            "refs": [f"app:{application.pk}", "pub:999999"],
            "notes": [
                "2023-007应于2023-03-01前答复，尚未答复",
                "2023-02-01形成，应于2023-03-01前公开，尚未发布",
            ],
            "count": 2,
        },
        ruleset_label="section-2023 v1",
        position=99,
    )
    page = clients["office"].get(reverse("ledger_line_detail", args=[line.pk])).content.decode()
    assert f'<a href="{reverse("application_detail", args=[application.pk])}">2023-007' in page
    assert "2023-007应于2023-03-01前答复，尚未答复" in page
    # A record that no longer exists (or that the user cannot see) shows its ref and note only.
    assert "pub:999999" in page and "尚未发布" in page
    assert reverse("publication_detail", args=[999999]) not in page


def test_the_bonus_line_drills_down_to_the_manual_fact_evidence(scored, clients, sections):
    line = LedgerLine.objects.get(run=scored["official"], section=sections["lead"], rule_code="F-1")
    page = clients["office"].get(reverse("ledger_line_detail", args=[line.pk])).content.decode()
    assert reverse("manual_fact_evidence", args=[scored["manual"].pk]) in page


def test_manual_evidence_downloads_as_an_attachment(scored, clients):
    response = clients["lead"].get(reverse("manual_fact_evidence", args=[scored["manual"].pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert response["Content-Disposition"].startswith("attachment")


def test_what_if_page_shows_the_deltas(scored, clients):
    page = clients["office"].get(reverse("score_whatif"), {"run": scored["whatif"].pk}).content.decode()
    assert "模拟与正式成绩对比" in page
    # 综合股: one overdue task, 0.7 × (4 − 2) more deducted; 法规股: 0.3 × 2.
    assert "-1.40" in page and "-0.60" in page
    assert "A1 重点任务按期完成：18.60 → 17.20" in page


def test_what_if_of_an_official_run_id_is_not_found(scored, clients):
    assert clients["office"].get(reverse("score_whatif"), {"run": scored["official"].pk}).status_code == 404
    assert clients["office"].get(reverse("score_whatif"), {"run": "x"}).status_code == 404


def test_what_if_refuses_a_period_that_has_not_started(scored, clients):
    response = clients["office"].post(
        reverse("score_whatif_run"), {"ruleset": scored["draft"].pk, "year": 2099, "period": "Q1"}
    )
    assert response.status_code == 400
    assert "已经开始的期间" in response.content.decode()


def test_compute_offers_only_published_rule_sets(scored, clients):
    response = clients["office"].post(
        reverse("score_compute_run"), {"ruleset": scored["draft"].pk, "year": 2023, "period": "Q1"}
    )
    assert response.status_code == 400
    page = clients["office"].get(reverse("score_compute")).content.decode()
    assert "最近的计分" in page and "模拟" in page and "正式" in page


def test_compute_is_queued_on_the_long_cluster(scored, clients, office_user, settings, monkeypatch):
    # Tests run django-q2 in sync mode; switch it off to see the row the ORM broker stores.
    monkeypatch.setattr(Conf, "SYNC", False)
    response = clients["office"].post(
        reverse("score_compute_run"), {"ruleset": scored["ruleset"].pk, "year": 2023, "period": "Q2"}
    )
    assert response.status_code == 302
    queued = OrmQ.objects.get()
    assert queued.key == settings.Q_LONG_CLUSTER == "long"
    assert queued.func() == "scoring.tasks.compute_scores"
    assert tuple(queued.task["args"]) == (scored["ruleset"].pk, 2023, "Q2", office_user.pk)  # ids only
    assert not ScoreRun.objects.filter(period="Q2").exists()  # only queued, not run


def test_invalid_manual_fact_is_shown_with_its_error(scored, clients, sections):
    response = clients["office"].post(
        reverse("manual_fact_save"),
        {
            "section": sections["lead"].pk,
            "year": 2023,
            "period": "Q1",
            "fact": "quality_assessment",
            "value": "8",
            "reason": "",
        },
    )
    assert response.status_code == 400
    assert "须写明理由" in response.content.decode()
    assert not ManualFact.objects.filter(fact="quality_assessment").exists()


def test_the_manual_page_prefills_an_edit(scored, clients):
    page = (
        clients["office"]
        .get(reverse("manual_facts"), {"year": 2023, "edit": scored["manual"].pk})
        .content.decode()
    )
    assert "市级表彰" in page and "commendations" in page


def test_nav_shows_scoring_to_office_director_and_sections(scored, clients):
    url = reverse("score_overview")
    for persona in ("office", "director", "lead"):
        assert f'href="{url}"' in clients[persona].get(reverse("home")).content.decode()


# ---- exports -------------------------------------------------------------------------------------------


@pytest.fixture
def formula_section(scored):
    """一个以公式字符开头的股室名称，计入同一批次。"""
    section = make_section('=HYPERLINK("http://evil","x")', sort_order=9)
    scores_compute(ruleset_record=scored["ruleset"], year=2023, period="Q1", today=LATE)
    return section


def test_overview_csv_export_is_formula_safe(formula_section, clients):
    response = clients["office"].get(
        reverse("score_overview"), {"year": 2023, "period": "Q1", "_export": "csv"}
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["名次", "股室", "总分", "等次", "基础分", "加分", "倒扣"]
    names = [row[1] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil","x")' in names
    assert len(rows) == 1 + Section.objects.count()


def test_overview_xlsx_export_keeps_numbers_numeric_and_neutralises_formulas(formula_section, clients):
    response = clients["office"].get(
        reverse("score_overview"), {"year": 2023, "period": "Q1", "_export": "xlsx"}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    evil = next(row for row in rows if str(row[1]).startswith("'="))
    assert isinstance(evil[2], (int, float)) and isinstance(rows[1][0], int)
    assert not any(isinstance(cell, str) and cell.startswith("=") for row in rows for cell in row)


def test_a_section_exports_only_its_own_row(scored, clients):
    response = clients["lead"].get(
        reverse("score_overview"), {"year": 2023, "period": "Q1", "_export": "csv"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["综合股"]


def test_ledger_export_has_every_line(scored, clients):
    score = scored["lead_score"]
    response = clients["lead"].get(reverse("score_detail", args=[score.pk]), {"_export": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["序号", "指标", "规则", "分值", "理由"]
    assert len(rows) - 1 == LedgerLine.objects.filter(run=score.run, section=score.section).count()


# ---- query counts --------------------------------------------------------------------------------------


def _overview_queries(client, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit):
        assert client.get(reverse("score_overview"), {"year": 2023, "period": "Q1"}).status_code == 200


def test_overview_query_count_does_not_grow_with_sections(scored, clients, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            clients["office"].get(reverse("score_overview"), {"year": 2023, "period": "Q1"})
            clients["office"].get(reverse("score_detail", args=[scored["lead_score"].pk]))
        return len(ctx.captured_queries)

    small = count()
    for i in range(20):
        make_section(f"新增股{i}", sort_order=50 + i)
    scores_compute(ruleset_record=scored["ruleset"], year=2023, period="Q1", today=LATE)
    scored["lead_score"] = UnitScore.objects.get(run=scored["official"], section__name="综合股")
    assert count() == small
    _overview_queries(clients["office"], django_assert_max_num_queries, small)
