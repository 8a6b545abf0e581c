"""政府信息公开工作年度报告：一年的依申请公开登记（9 件申请：各类申请人、各种结果，上年结转 2 件、
结转下年度 1 件，复议与诉讼）→ 表三、表四逐格对照手工计数；勾稽检查与拦截导出（逐格中文说明）；
Word（六个部分、三张表的形状）与 Excel（数值单元格）；一、五、六部分的预填；页面权限矩阵、审计日志；
1月31日公布期限的每日提醒。
"""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.urls import reverse
from docx import Document

import workplan.models as workplan_models
from scoring.annual_report import (
    APPLICANT_COLUMNS,
    TABLE3_ROWS,
    AppRow,
    annual_report_reminders,
    check_tables,
    compute_annual_tables,
    default_other_matters,
    default_overview,
    default_problems,
    table3_from,
    table4_from,
)
from scoring.models import AnnualReport, LedgerLine, ScoreRun
from scoring.reports.annual import AnnualData, build_annual_docx, build_annual_xlsx
from tests.factories import make_task
from tests.scoring.test_facts import published_ruleset
from workplan import applications as svc
from workplan import reminders
from workplan.models import (
    AppealKind,
    AppealResult,
    ApplicantType,
    Application,
    ApplicationResult,
    AuditEntry,
    Notification,
    ReceiptChannel,
    ReportStatus,
)
from workplan.workdays import WorkdayCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = dt.date
T = ApplicantType
R = ApplicationResult
REPORT_DAY = D(2024, 1, 15)  # everything below is recorded by then


def at(day: dt.date, hour: int = 9) -> time_machine.travel:
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI), tick=False)


# ---- a year of registers --------------------------------------------------------------------------------

# (key, applicant type, received, replied, result)
APPLICATIONS = [
    ("C1", T.NATURAL_PERSON, D(2022, 12, 20), D(2023, 1, 10), R.GRANTED),  # 上年结转
    ("C2", T.BUSINESS, D(2022, 12, 26), D(2023, 2, 1), R.UNABLE_NOT_HELD),  # 上年结转
    ("N1", T.NATURAL_PERSON, D(2023, 3, 1), D(2023, 3, 20), R.GRANTED),
    ("N2", T.NATURAL_PERSON, D(2023, 4, 3), D(2023, 4, 20), R.PARTIAL),
    ("N3", T.BUSINESS, D(2023, 5, 5), D(2023, 5, 25), R.DENIED_THIRD_PARTY),
    ("N4", T.RESEARCH, D(2023, 6, 1), D(2023, 6, 20), R.REJECTED_REPEAT),
    ("N5", T.NONPROFIT, D(2023, 7, 3), D(2023, 7, 10), R.DENIED_PROCESS),
    ("N6", T.LEGAL_SERVICE, D(2023, 8, 1), D(2023, 8, 30), R.OTHER_NO_CORRECTION),
    ("N7", T.OTHER_ORG, D(2023, 12, 20), None, ""),  # 结转下年度
    # Outside 2023: replied within 2022, and received in 2024.
    ("X1", T.NATURAL_PERSON, D(2022, 5, 9), D(2022, 5, 20), R.GRANTED),
    ("X2", T.BUSINESS, D(2024, 1, 3), None, ""),
]
# (application, kind, filed, result, decided)
APPEALS = [
    ("N3", AppealKind.REVIEW, D(2023, 6, 10), AppealResult.UPHELD, D(2023, 8, 1)),
    ("N5", AppealKind.REVIEW, D(2023, 7, 20), AppealResult.CORRECTED, D(2023, 9, 15)),
    (
        "C2",
        AppealKind.REVIEW,
        D(2023, 2, 20),
        AppealResult.CORRECTED,
        D(2024, 1, 5),
    ),  # decided after 2023: pending
    (
        "X1",
        AppealKind.REVIEW,
        D(2022, 6, 1),
        AppealResult.UPHELD,
        D(2023, 3, 1),
    ),  # from 2022, decided in 2023
    ("N4", AppealKind.DIRECT_SUIT, D(2023, 7, 1), AppealResult.OTHER, D(2023, 10, 10)),
    ("X1", AppealKind.DIRECT_SUIT, D(2022, 6, 10), AppealResult.UPHELD, D(2022, 12, 1)),  # all in 2022: out
    ("N3", AppealKind.SUIT_AFTER_REVIEW, D(2023, 8, 20), AppealResult.PENDING, None),
]

# Hand-counted 2023 table 三: 自然人, 商业企业, 科研机构, 社会公益组织, 法律服务机构, 其他, 总计.
EXPECTED_TABLE3 = {
    "new": [2, 1, 1, 1, 1, 1, 7],  # N1 N2 | N3 | N4 | N5 | N6 | N7
    "carried_in": [1, 1, 0, 0, 0, 0, 2],  # C1 | C2
    R.GRANTED: [2, 0, 0, 0, 0, 0, 2],  # C1 N1
    R.PARTIAL: [1, 0, 0, 0, 0, 0, 1],  # N2
    R.DENIED_THIRD_PARTY: [0, 1, 0, 0, 0, 0, 1],  # N3
    R.DENIED_PROCESS: [0, 0, 0, 1, 0, 0, 1],  # N5
    R.UNABLE_NOT_HELD: [0, 1, 0, 0, 0, 0, 1],  # C2
    R.REJECTED_REPEAT: [0, 0, 1, 0, 0, 0, 1],  # N4
    R.OTHER_NO_CORRECTION: [0, 0, 0, 0, 1, 0, 1],  # N6
    "result_total": [3, 2, 1, 1, 1, 0, 8],
    "carried_out": [0, 0, 0, 0, 0, 1, 1],  # N7
}
ZERO_ROW = [0] * 7
# Hand-counted 2023 table 四: 结果维持, 结果纠正, 其他结果, 尚未审结, 总计.
EXPECTED_TABLE4 = {
    AppealKind.REVIEW: [2, 1, 0, 1, 4],  # N3 X1 | N5 | — | C2
    AppealKind.DIRECT_SUIT: [0, 0, 1, 0, 1],  # N4
    AppealKind.SUIT_AFTER_REVIEW: [0, 0, 0, 1, 1],  # N3
}


@pytest.fixture
def registers(office_user, sections) -> dict[str, Application]:
    """2023 年的依申请公开登记与复议诉讼，全部经由服务录入（在 2024-01-15）。"""
    created: dict[str, Application] = {}
    with at(REPORT_DAY):
        for i, (key, applicant_type, received, replied, result) in enumerate(APPLICATIONS):
            section = sections["lead" if i % 2 else "resp"]
            application = svc.application_create(
                user=office_user,
                fields={
                    "channel": ReceiptChannel.IN_PERSON, "submitted_on": received, "acknowledged_on": None,
                    "applicant_type": applicant_type, "applicant_name": f"申请人{key}", "content": "申请公开",
                    "section": section,
                },
            )  # fmt: skip
            if key == "N6":
                svc.correction_send(application=application, user=office_user, sent_on=D(2023, 8, 3))
            if replied:
                svc.reply_record(application=application, user=office_user, replied_on=replied, result=result)
            created[key] = application
        for key, kind, filed, result, decided in APPEALS:
            svc.appeal_record(
                application=created[key], user=office_user, kind=kind, filed_on=filed, result=result,
                decided_on=decided,
            )  # fmt: skip
    return created


def table3_as_lists(tables) -> dict[str, list[int]]:
    return {key: [tables.table3[key][c] for c, _ in APPLICANT_COLUMNS] for key in tables.table3}


def test_every_table_three_cell_matches_the_hand_count(registers):
    got = table3_as_lists(compute_annual_tables(2023))
    expected = {row.key: EXPECTED_TABLE3.get(row.key, ZERO_ROW) for row in TABLE3_ROWS}
    assert got == expected


def test_every_table_four_cell_matches_the_hand_count(registers):
    tables = compute_annual_tables(2023)
    results = ["upheld", "corrected", "other", "pending", "total"]
    assert {kind: [tables.table4[kind][r] for r in results] for kind in tables.table4} == EXPECTED_TABLE4


def test_the_checks_pass_and_this_years_carry_out_is_next_years_carry_in(registers):
    assert compute_annual_tables(2023).errors == ()
    next_year = compute_annual_tables(2024)
    assert next_year.table3["carried_in"]["total"] == 1  # N7
    assert next_year.table3["new"]["business"] == 1  # X2
    assert next_year.table4[AppealKind.REVIEW]["total"] == 1  # C2, decided 2024-01-05
    assert next_year.table4[AppealKind.REVIEW]["corrected"] == 1


def test_the_tables_are_read_with_three_queries(registers, django_assert_num_queries):
    with django_assert_num_queries(3):
        compute_annual_tables(2023)


# ---- the checks -----------------------------------------------------------------------------------------


def test_a_crafted_record_fails_the_column_check_and_names_the_cell(registers, sections):
    # Received in 2023 but "replied" in 2022: new in 2023, yet neither answered in 2023 nor carried out.
    Application.objects.create(
        code="BAD-1", channel=ReceiptChannel.IN_PERSON, submitted_on=D(2023, 5, 1), received_on=D(2023, 5, 1),
        applicant_type=T.BUSINESS, applicant_name="某公司", content="x", section=sections["lead"],
        replied_on=D(2022, 12, 1), result=R.GRANTED,
    )  # fmt: skip
    errors = compute_annual_tables(2023).errors
    assert errors == (
        "表三「商业企业」列：新收2 + 上年结转1 ≠ 总计2 + 结转下年度0",
        "表三「总计」列：新收8 + 上年结转2 ≠ 总计8 + 结转下年度1",
    )


def test_an_application_without_a_known_applicant_type_fails_the_row_check(registers, sections):
    Application.objects.create(
        code="BAD-2", channel=ReceiptChannel.IN_PERSON, submitted_on=D(2023, 5, 1), received_on=D(2023, 5, 1),
        applicant_type="", applicant_name="?", content="x", section=sections["lead"],
    )  # fmt: skip
    errors = compute_annual_tables(2023).errors
    assert (
        "表三「一、本年新收政府信息公开申请数量」行：总计8 ≠ 自然人2 + 商业企业1 + 科研机构1 + " in errors[0]
    )
    assert errors[1].startswith("表三「四、结转下年度继续办理」行：总计2 ≠ ")


def test_office_entered_numbers_are_checked(db):
    AnnualReport.objects.create(
        year=2023, disclosure={"rules_issued": "-1", "fees": "3.25", "licensing": "2.5"}
    )
    assert compute_annual_tables(2023).errors == (
        "表二「规章」本年制发件数应为不小于0的整数：-1",
        "表二「行政许可」本年处理决定数量应为不小于0的整数：2.5",
    )


def test_pure_tables_and_checks():
    rows = [
        AppRow(T.RESEARCH, D(2023, 3, 1), D(2023, 3, 9), R.DENIED_STATE_SECRET),
        AppRow(T.RESEARCH, D(2023, 3, 1), D(2023, 3, 9), "made-up"),  # a result that is no table row
    ]
    table3 = table3_from(2023, rows)
    assert table3["new"]["research"] == 2 and table3[R.DENIED_STATE_SECRET]["research"] == 1
    table4 = table4_from(2023, [])
    assert check_tables({}, table3, table4) == [
        "表三「科研机构」列：新收2 + 上年结转0 ≠ 总计1 + 结转下年度0",
        "表三「总计」列：新收2 + 上年结转0 ≠ 总计1 + 结转下年度0",
    ]


# ---- docx and xlsx ---------------------------------------------------------------------------------------


def annual_data(tables) -> AnnualData:
    return AnnualData(
        year=2023,
        title="樟树市统计局2023年政府信息公开工作年度报告",
        unit_name="樟树市统计局",
        tables=tables,
        overview=default_overview(tables),
        problems="（一）存在的主要问题。无。",
        other_matters="无。",
        signed_on=D(2024, 1, 20),
    )


def test_the_word_file_has_six_parts_and_the_three_tables_laid_out(registers):
    tables = compute_annual_tables(2023)
    doc = Document(io.BytesIO(build_annual_docx(annual_data(tables))))
    texts = [p.text for p in doc.paragraphs]
    headings = [t for t in texts if t[:2] in ("一、", "二、", "三、", "四、", "五、", "六、")]
    assert headings == [
        "一、总体情况",
        "二、主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况",
        "五、存在的主要问题及改进情况",
        "六、其他需要报告的事项",
    ]
    assert texts[0] == "樟树市统计局2023年政府信息公开工作年度报告"
    table2, table3, table4 = doc.tables
    assert (len(table2.rows), len(table2.columns)) == (14, 4)
    assert (len(table3.rows), len(table3.columns)) == (28, 10)  # 3 header rows + 25 rows; 3 label + 7 columns
    assert (len(table4.rows), len(table4.columns)) == (4, 15)
    assert [c.text for c in table2.rows[1].cells] == [
        "信息内容",
        "本年制发件数",
        "本年废止件数",
        "现行有效件数",
    ]
    assert [c.text for c in table3.rows[2].cells[3:]] == [
        "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计",
    ]  # fmt: skip
    assert table3.rows[1].cells[4].text == "法人或其他组织"
    by_label = {}
    for row in table3.rows[3:]:
        label = row.cells[2].text if row.cells[2].text != row.cells[1].text else row.cells[1].text
        by_label[label] = [int(c.text) for c in row.cells[3:]]
    assert by_label["一、本年新收政府信息公开申请数量"] == EXPECTED_TABLE3["new"]
    assert by_label["4.保护第三方合法权益"] == EXPECTED_TABLE3[R.DENIED_THIRD_PARTY]
    assert by_label["（七）总计"] == EXPECTED_TABLE3["result_total"]
    assert by_label["四、结转下年度继续办理"] == EXPECTED_TABLE3["carried_out"]
    assert (
        table3.rows[10].cells[0].text == "三、本年度办理结果"
        and table3.rows[10].cells[1].text == "（三）不予公开"
    )
    assert [c.text for c in table4.rows[0].cells][:6] == ["行政复议"] * 5 + ["行政诉讼"]
    assert [int(c.text) for c in table4.rows[3].cells] == [
        n for kind in (AppealKind.REVIEW, AppealKind.DIRECT_SUIT, AppealKind.SUIT_AFTER_REVIEW)
        for n in EXPECTED_TABLE4[kind]
    ]  # fmt: skip
    assert "2024年1月20日" in texts


def test_the_excel_file_keeps_numbers_numeric(registers):
    AnnualReport.objects.create(year=2023, disclosure={"fees": "12.5", "licensing": "3"})
    tables = compute_annual_tables(2023)
    book = openpyxl.load_workbook(io.BytesIO(build_annual_xlsx(annual_data(tables))))
    assert book.sheetnames == ["表二", "表三", "表四", "正文"]
    t3 = book["表三"]
    new_row = [t3.cell(row=2 + 3, column=c).value for c in range(4, 11)]
    assert new_row == EXPECTED_TABLE3["new"] and all(isinstance(v, int) for v in new_row)
    assert t3.cell(row=5, column=4).data_type == "n"
    t2 = book["表二"]
    values = [c.value for row in t2.iter_rows() for c in row if isinstance(c.value, int | float)]
    assert 12.5 in values and 3 in values
    assert [t3.cell(row=4, column=c).value for c in range(5, 10)] == [
        "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他",
    ]  # fmt: skip
    assert [book["表四"].cell(row=5, column=c).value for c in range(1, 6)] == EXPECTED_TABLE4[
        AppealKind.REVIEW
    ]


# ---- pre-filled parts -----------------------------------------------------------------------------------


def test_part_one_is_prefilled_from_the_plan_the_register_and_publications(registers, plan, sections):
    make_task(plan, leads=[sections["lead"]], status=ReportStatus.DONE)
    make_task(plan, leads=[sections["lead"]])
    text = default_overview(compute_annual_tables(2023))
    assert "共部署工作任务2项，已完成1项，完成率50.0%。" in text
    assert (
        "全年新收政府信息公开申请7件，上年结转2件，办结8件（其中予以公开或部分公开3件），结转下年度继续办理1件。"
        in text
    )
    assert "被申请行政复议4件，被提起行政诉讼2件，其中结果被纠正1件。" in text
    if hasattr(workplan_models, "PublicationItem"):
        assert "全年通过政府网站主动公开政府信息0条。" in text


def test_part_one_degrades_without_the_publication_register(registers, monkeypatch):
    monkeypatch.delattr(workplan_models, "PublicationItem", raising=False)
    text = default_overview(compute_annual_tables(2023))
    assert "主动公开政府信息" not in text and "未导入政务公开工作要点" in text


def test_part_five_lists_the_years_deductions_by_indicator(db, sections):
    run = ScoreRun.objects.create(ruleset=published_ruleset(), year=2023, period="Q2")
    for section, points in ((sections["lead"], -2), (sections["resp"], "-0.6")):
        LedgerLine.objects.create(
            run=run, section=section, indicator_code="A1", period="Q2", points=points, reason="逾期",
            ruleset_label="section v1",
        )  # fmt: skip
    assert "1.重点任务按期完成，全年扣2.6分（涉及综合股、法规股）。" in default_problems(2023)
    assert "本年度政务公开考核未发现扣分事项" in default_problems(2022)


def test_part_six_mentions_fees_from_the_register(registers):
    assert "本年度未收取信息处理费。" in default_other_matters(compute_annual_tables(2023))


# ---- pages ----------------------------------------------------------------------------------------------

PERSONAS = ("office", "director", "lead", "resp", "outsider", "readonly")
DENY = (403, 403, 403, 403)
# fmt: off
MATRIX = [
    # url name                 method  args               office director others
    ("annual_report",          "get",  [],                (200,  200,     *DENY)),
    ("annual_report",          "post", [],                (405,  405,     405, 405, 405, 405)),
    ("annual_report_save",     "get",  [2023],            (405,  405,     405, 405, 405, 405)),
    ("annual_report_save",     "post", [2023],            (302,  403,     *DENY)),
    ("annual_report_download", "get",  [2023, "docx"],    (200,  200,     *DENY)),
    ("annual_report_download", "post", [2023, "docx"],    (405,  405,     405, 405, 405, 405)),
    ("annual_report_publish",  "get",  [2023],            (405,  405,     405, 405, 405, 405)),
    ("annual_report_publish",  "post", [2023],            (400,  403,     *DENY)),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "method", "args", "persona", "status"),
    [
        pytest.param(n, m, a, p, s, id=f"{n}-{m}-{p}")
        for n, m, a, expected in MATRIX
        for p, s in zip(PERSONAS, expected, strict=True)
    ],
)
def test_persona_gets_expected_status(request, name, method, args, persona, status):
    client = request.getfixturevalue(f"as_{persona}")
    url = reverse(name, args=args)
    response = client.get(url) if method == "get" else client.post(url, {})
    assert response.status_code == status


@pytest.mark.parametrize(("name", "method", "args"), [(n, m, a) for n, m, a, _ in MATRIX])
def test_anonymous_is_sent_to_login(client, db, name, method, args):
    response = getattr(client, method)(reverse(name, args=args))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_page_shows_the_tables_and_a_passing_check(as_director, registers):
    page = as_director.get(reverse("annual_report") + "?year=2023").content.decode()
    assert "表三 收到和处理政府信息公开申请情况" in page
    assert '<span class="tag ok">通过</span>' in page
    assert "下载 Word（公文格式）" in page and "办公室填写" not in page


def test_the_office_saves_numbers_and_texts_with_an_audit_row(as_office, registers):
    data = {
        "rules_issued": "1",
        "fees": "2.75",
        "overview": "一段总体情况。",
        "problems": "",
        "other_matters": "",
    }
    response = as_office.post(reverse("annual_report_save", args=[2023]), data)
    assert response.status_code == 302
    report = AnnualReport.objects.get(year=2023)
    assert report.disclosure["rules_issued"] == "1" and report.disclosure["fees"] == "2.75"
    assert report.disclosure["licensing"] == "0"
    assert report.overview == "一段总体情况。"
    assert AuditEntry.objects.get(action="annual_report.save").new_value["disclosure"]["fees"] == "2.75"
    bad = as_office.post(reverse("annual_report_save", args=[2023]), {"rules_issued": "-3"})
    assert bad.status_code == 400


def test_a_failed_check_blocks_the_download_and_names_the_cell(as_office, registers, sections):
    Application.objects.create(
        code="BAD-1", channel=ReceiptChannel.IN_PERSON, submitted_on=D(2023, 5, 1), received_on=D(2023, 5, 1),
        applicant_type=T.BUSINESS, applicant_name="某公司", content="x", section=sections["lead"],
        replied_on=D(2022, 12, 1), result=R.GRANTED,
    )  # fmt: skip
    for fmt in ("docx", "xlsx"):
        response = as_office.get(reverse("annual_report_download", args=[2023, fmt]))
        assert response.status_code == 409
        assert "Content-Disposition" not in response
        assert "表三「商业企业」列：新收2 + 上年结转1 ≠ 总计2 + 结转下年度0" in response.content.decode()
    assert not AuditEntry.objects.filter(action="annual_report.download").exists()
    publish = as_office.post(reverse("annual_report_publish", args=[2023]), {"published_on": "2024-01-20"})
    assert publish.status_code == 409 and "勾稽检查未通过，不能登记公布" in publish.content.decode()


def test_downloads_are_audited(as_director, registers):
    response = as_director.get(reverse("annual_report_download", args=[2023, "xlsx"]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert AuditEntry.objects.get(action="annual_report.download").new_value == {
        "year": 2023,
        "format": "xlsx",
    }


# ---- publication and the 31 January reminder ------------------------------------------------------------


@pytest.fixture
def office_mail(office_user, lead_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    office_user.email = "office@example.gov.cn"
    office_user.save(update_fields=["email"])
    return office_user


def run_daily(day: dt.date) -> None:
    with at(day, hour=7):
        reminders.reminders_send_daily(today=day)


def annual_notes() -> list[tuple[str, str]]:
    rows = Notification.objects.filter(kind="annual_report").order_by("pk")
    return list(rows.values_list("user__username", "message"))


def test_the_office_is_reminded_every_working_day_from_january_until_published(office_mail, as_office, db):
    run_daily(D(2024, 1, 1))  # New Year's Day: no run at all
    run_daily(D(2024, 1, 2))
    run_daily(D(2024, 1, 2))  # the same day again: nothing new
    assert annual_notes() == [
        (
            "office",
            "2023年政府信息公开工作年度报告应于2024年1月31日前公布（条例第四十九条），还剩29天。"
            "公布后请在年度报告页面登记公布日期。",
        )
    ]
    run_daily(D(2024, 2, 1))
    assert "已逾期1天" in annual_notes()[-1][1]
    assert len(annual_notes()) == 2
    with at(D(2024, 2, 2)):
        response = as_office.post(
            reverse("annual_report_publish", args=[2023]), {"published_on": "2024-01-30"}
        )
    assert response.status_code == 302
    assert AnnualReport.objects.get(year=2023).published_on == D(2024, 1, 30)
    assert AuditEntry.objects.get(action="annual_report.publish").new_value == {"published_on": "2024-01-30"}
    run_daily(D(2024, 2, 5))
    assert len(annual_notes()) == 2
    saved = as_office.post(reverse("annual_report_save", args=[2023]), {"overview": "改"})
    assert saved.status_code == 400 and "已于2024-01-30登记公布" in saved.content.decode()


def test_the_reminder_is_keyed_per_day_and_stops_after_the_first_quarter(office_user, lead_user):
    cal = WorkdayCalendar()
    [note] = annual_report_reminders(today=D(2024, 1, 31), cal=cal)
    assert note.user == office_user and note.dedupe_key == f"annual_report:2023:{office_user.pk}:2024-01-31"
    assert "今天到期" in note.message
    assert annual_report_reminders(today=D(2024, 4, 1), cal=cal) == []
