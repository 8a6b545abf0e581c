"""依申请公开：办理服务与审计（不含个人信息），到期 / 逾期提醒与去重（征求意见跨 2023 年国庆长假），
考核事实，页面流程、筛选、导出与查询数。计时规则本身见 test_application_clock.py。
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from scoring.facts import collect_facts
from scoring.models import ManualFact
from scoring.rulefile import load_ruleset_text
from tests.factories import make_application
from workplan import applications as svc
from workplan import reminders
from workplan.application_register import clock_of, with_clock_data
from workplan.models import (
    AppealKind,
    AppealResult,
    ApplicantType,
    Application,
    ApplicationResult,
    AuditEntry,
    JobRun,
    Notification,
    ReceiptChannel,
    Section,
)
from workplan.workdays import WorkdayCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = dt.date
CAL = WorkdayCalendar()  # chinesecalendar only: 2023 has official data


def at(day: dt.date, hour: int = 9) -> time_machine.travel:
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI), tick=False)


SEPT_15 = D(2023, 9, 15)


def register(user, section, *, received: dt.date = SEPT_15, **fields):
    """办公室当面登记一件申请（在收到当天）。"""
    data = {
        "channel": ReceiptChannel.IN_PERSON,
        "submitted_on": received,
        "acknowledged_on": None,
        "applicant_type": ApplicantType.NATURAL_PERSON,
        "applicant_name": "张小明",
        "content": "申请公开本单位2022年统计执法检查结果",
        "section": section,
        **fields,
    }
    with at(max(received, data.get("acknowledged_on") or received)):
        return svc.application_create(user=user, fields=data)


# ---- services -------------------------------------------------------------------------------------------


def test_the_office_registers_with_the_receipt_date_and_a_yearly_number(office_user, sections):
    first = register(office_user, sections["lead"])
    second = register(
        office_user,
        sections["resp"],
        channel=ReceiptChannel.POST,
        submitted_on=D(2023, 9, 12),
        acknowledged_on=D(2023, 9, 18),
    )
    assert (first.code, first.received_on) == ("2023-001", D(2023, 9, 15))
    assert (second.code, second.received_on) == ("2023-002", D(2023, 9, 18))


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"channel": ReceiptChannel.POST}, "acknowledged_on", "须填写签收日期"),
        (
            {"channel": ReceiptChannel.ONLINE, "acknowledged_on": D(2023, 9, 14)},
            "acknowledged_on",
            "不能早于",
        ),
        ({"submitted_on": D(2023, 9, 16)}, "acknowledged_on", "不能晚于今天"),
        ({"applicant_name": "  "}, "applicant_name", "必填"),
        ({"applicant_type": "robot"}, "applicant_type", "申请人类型"),
    ],
)
def test_registration_is_validated(office_user, sections, fields, field, message):
    data = {
        "channel": ReceiptChannel.IN_PERSON,
        "submitted_on": D(2023, 9, 15),
        "acknowledged_on": None,
        "applicant_type": ApplicantType.BUSINESS,
        "applicant_name": "某某商贸有限公司",
        "content": "申请公开",
        "section": sections["lead"],
        **fields,
    }
    with at(D(2023, 9, 15)), pytest.raises(ValidationError) as err:
        svc.application_create(user=office_user, fields=data)
    assert message in " ".join(err.value.message_dict[field])
    assert not Application.objects.exists()


def test_only_the_office_registers_and_only_the_handling_section_handles(
    office_user, lead_user, resp_user, readonly_user, director, sections
):
    with pytest.raises(PermissionDenied):
        register(lead_user, sections["lead"])
    application = register(office_user, sections["lead"])
    with at(D(2023, 9, 20)):
        for user in (resp_user, readonly_user, director):
            with pytest.raises(PermissionDenied):
                svc.correction_send(application=application, user=user, sent_on=D(2023, 9, 19))
        svc.correction_send(application=application, user=lead_user, sent_on=D(2023, 9, 19))
        with pytest.raises(PermissionDenied):
            svc.extension_grant(
                application=application, user=lead_user, approved_by="王主任", approved_on=D(2023, 9, 20),
                reason="需调取档案", cal=CAL,
            )  # fmt: skip


def test_the_handling_section_records_a_correction_and_the_clock_restarts(office_user, lead_user, sections):
    application = register(office_user, sections["lead"], received=D(2023, 9, 1))
    with at(D(2023, 9, 20)):
        svc.correction_send(application=application, user=lead_user, sent_on=D(2023, 9, 5), note="明确年份")
        with pytest.raises(ValidationError, match="上一次补正尚未收到"):
            svc.correction_send(application=application, user=lead_user, sent_on=D(2023, 9, 6))
        with pytest.raises(ValidationError, match="不能早于告知补正日期"):
            svc.correction_return(application=application, user=lead_user, returned_on=D(2023, 9, 4))
        svc.correction_return(application=application, user=lead_user, returned_on=D(2023, 9, 20))
    clock = clock_of(with_clock_data(Application.objects.filter(pk=application.pk)).get(), CAL)
    assert clock.due_on == D(2023, 10, 24)


def test_an_extension_must_be_approved_within_the_original_period_and_only_once(office_user, sections):
    application = register(office_user, sections["lead"])
    grant = {"user": office_user, "approved_by": "王主任", "reason": "需调取档案", "cal": CAL}
    with at(D(2023, 10, 20)):
        with pytest.raises(ValidationError) as err:
            svc.extension_grant(application=application, approved_on=D(2023, 10, 20), **grant)
        assert "原答复期限内（2023年9月15日至2023年10月19日）" in err.value.message_dict["approved_on"][0]
        svc.extension_grant(application=application, approved_on=D(2023, 10, 19), **grant)
        with pytest.raises(ValidationError, match="已经延期过一次"):
            svc.extension_grant(application=application, approved_on=D(2023, 10, 19), **grant)
    assert clock_of(with_clock_data(Application.objects.filter(pk=application.pk)).get(), CAL).due_on == D(
        2023, 11, 16
    )


def test_a_reply_waits_for_open_consultations_and_only_the_office_corrects_it(
    office_user, lead_user, sections
):
    application = register(office_user, sections["lead"])
    with at(D(2023, 10, 12)):
        svc.consultation_start(
            application=application, user=lead_user, party="第三方企业", started_on=D(2023, 9, 26)
        )
        reply = {"replied_on": D(2023, 10, 11), "result": ApplicationResult.GRANTED}
        with pytest.raises(ValidationError, match="仍在征求意见"):
            svc.reply_record(application=application, user=lead_user, **reply)
        svc.consultation_end(application=application, user=lead_user, ended_on=D(2023, 10, 9))
        svc.reply_record(application=application, user=lead_user, **reply)
        with pytest.raises(ValidationError, match="请联系办公室"):
            svc.reply_record(
                application=application, user=lead_user, **{**reply, "result": ApplicationResult.PARTIAL}
            )
        svc.reply_record(
            application=application, user=office_user, **{**reply, "result": ApplicationResult.PARTIAL}
        )
        with pytest.raises(ValidationError, match="已答复"):
            svc.correction_send(application=application, user=office_user, sent_on=D(2023, 10, 11))
    application.refresh_from_db()
    assert (application.replied_on, application.result) == (D(2023, 10, 11), ApplicationResult.PARTIAL)


def test_appeals_need_a_decision_date_once_decided(office_user, sections):
    application = register(office_user, sections["lead"])
    with at(D(2023, 12, 1)):
        with pytest.raises(ValidationError) as err:
            svc.appeal_record(
                application=application, user=office_user, kind=AppealKind.REVIEW, filed_on=D(2023, 11, 1),
                result=AppealResult.CORRECTED,
            )  # fmt: skip
        assert "decided_on" in err.value.message_dict
        appeal = svc.appeal_record(
            application=application, user=office_user, kind=AppealKind.REVIEW, filed_on=D(2023, 11, 1)
        )
        svc.appeal_update(
            appeal=appeal, user=office_user, kind=AppealKind.REVIEW, filed_on=D(2023, 11, 1),
            result=AppealResult.CORRECTED, decided_on=D(2023, 11, 30),
        )  # fmt: skip
    appeal.refresh_from_db()
    assert (appeal.result, appeal.decided_on) == (AppealResult.CORRECTED, D(2023, 11, 30))


def test_every_write_leaves_an_audit_row_without_personal_data(office_user, lead_user, sections):
    application = register(office_user, sections["lead"], received=D(2023, 9, 1))
    with at(D(2023, 10, 30)):
        svc.application_update(
            application=application,
            user=office_user,
            fields={
                "channel": ReceiptChannel.IN_PERSON, "submitted_on": D(2023, 9, 1), "acknowledged_on": None,
                "applicant_type": ApplicantType.NATURAL_PERSON, "applicant_name": "张小明",
                "content": "申请公开本单位2022年统计执法检查结果（补充）", "section": sections["lead"],
            },
        )  # fmt: skip
        svc.correction_send(application=application, user=lead_user, sent_on=D(2023, 9, 5))
        svc.correction_return(application=application, user=lead_user, returned_on=D(2023, 9, 8))
        svc.consultation_start(
            application=application, user=lead_user, party="某局", started_on=D(2023, 9, 11)
        )
        svc.consultation_end(application=application, user=lead_user, ended_on=D(2023, 9, 12))
        svc.extension_grant(
            application=application, user=office_user, approved_by="王主任", approved_on=D(2023, 9, 13),
            reason="需调取档案", cal=CAL,
        )  # fmt: skip
        svc.reply_record(
            application=application,
            user=lead_user,
            replied_on=D(2023, 10, 30),
            result=ApplicationResult.GRANTED,
        )
        appeal = svc.appeal_record(
            application=application, user=office_user, kind=AppealKind.REVIEW, filed_on=D(2023, 10, 30)
        )
        svc.appeal_update(
            appeal=appeal, user=office_user, kind=AppealKind.REVIEW, filed_on=D(2023, 10, 30),
            result=AppealResult.UPHELD, decided_on=D(2023, 10, 30),
        )  # fmt: skip
    entries = AuditEntry.objects.filter(object_type="workplan.Application").order_by("pk")
    assert [e.action for e in entries] == [
        "application.create",
        "application.update",
        "application.correction_send",
        "application.correction_return",
        "application.consultation_start",
        "application.consultation_end",
        "application.extend",
        "application.reply",
        "application.appeal_create",
        "application.appeal_update",
    ]
    for entry in entries:
        text = f"{entry.object_repr} {entry.old_value} {entry.new_value}"
        assert "张小明" not in text and "执法检查" not in text


# ---- reminders (the daily job) --------------------------------------------------------------------------


@pytest.fixture
def mailers(lead_user, resp_user, readonly_user, office_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for user in (lead_user, resp_user, readonly_user, office_user):
        user.email = f"{user.username}@example.gov.cn"
        user.save(update_fields=["email"])
    return {"lead": lead_user, "resp": resp_user, "readonly": readonly_user, "office": office_user}


def run_daily(day: dt.date) -> dict:
    with at(day, hour=7):
        return reminders.reminders_send_daily(today=day)


def app_notes(**filters) -> list[tuple[str, str, str]]:
    rows = Notification.objects.filter(kind__startswith="application_", **filters).order_by("pk")
    return list(rows.values_list("user__username", "kind", "message"))


def test_due_soon_and_overdue_go_to_the_handling_section_and_the_office(mailers, sections):
    application = make_application(sections["lead"], code="2023-007")  # received 2023-09-15, due 10-19
    result = run_daily(D(2023, 10, 16))
    assert result["applications_due_soon"] == 1
    assert {(u, k) for u, k, _ in app_notes()} == {
        ("lead", "application_due_soon"),
        ("office", "application_due_soon"),
    }  # not the read-only user of the same section, nor the other sections
    message = app_notes()[0][2]
    assert message == "依申请公开2023-007（承办：综合股）答复期限为2023年10月19日，还剩3个工作日。"
    assert application.applicant_name not in message
    run_daily(D(2023, 10, 17))  # due soon: once per due date
    assert len(app_notes(kind="application_due_soon")) == 2
    result = run_daily(D(2023, 10, 20))
    assert result["applications_overdue"] == 1
    assert app_notes(kind="application_overdue", user=mailers["lead"])[0][2] == (
        "依申请公开2023-007（承办：综合股）已超过答复期限1个工作日（期限2023年10月19日），请尽快答复。"
    )
    assert any("依申请公开2023-007" in m.body for m in mail.outbox)


def test_overdue_is_reminded_once_per_day_and_a_rerun_adds_nothing(mailers, sections):
    make_application(sections["lead"])
    for day in (D(2023, 10, 20), D(2023, 10, 20), D(2023, 10, 23)):
        run_daily(day)
    keys = Notification.objects.filter(kind="application_overdue", user=mailers["lead"]).values_list(
        "dedupe_key", flat=True
    )
    assert sorted(k.rsplit(":", 1)[1] for k in keys) == ["2023-10-20", "2023-10-23"]
    assert JobRun.objects.filter(job=reminders.JOB_DAILY).count() == 2


def test_a_consultation_across_national_day_moves_the_reminders(mailers, sections, office_user, lead_user):
    application = make_application(sections["lead"])
    with at(D(2023, 9, 26)):
        svc.consultation_start(
            application=application, user=lead_user, party="第三方企业", started_on=D(2023, 9, 26)
        )
    run_daily(D(2023, 10, 9))  # still consulting: the clock is stopped, nothing is due
    assert app_notes() == []
    with at(D(2023, 10, 10)):
        svc.consultation_end(application=application, user=lead_user, ended_on=D(2023, 10, 9))
    run_daily(D(2023, 10, 20))  # would be overdue without the pause; now due 10-27
    [(_, kind, message)] = app_notes(user=lead_user)
    assert kind == "application_due_soon"
    assert "答复期限为2023年10月27日，还剩5个工作日" in message
    run_daily(D(2023, 10, 30))
    assert "已超过答复期限1个工作日" in app_notes(user=lead_user, kind="application_overdue")[0][2]


def test_no_reminders_while_awaiting_a_correction_or_once_replied(mailers, sections):
    waiting = make_application(sections["lead"])
    waiting.corrections.create(sent_on=D(2023, 9, 18))
    make_application(sections["lead"], replied_on=D(2023, 9, 20), result=ApplicationResult.GRANTED)
    result = run_daily(D(2023, 10, 20))
    assert (result["applications_due_soon"], result["applications_overdue"]) == (0, 0)
    assert app_notes() == []


# ---- scoring facts --------------------------------------------------------------------------------------

RULES = """
code: app
name: 依申请公开考核
year: 2023
base_total: 100
grades:
  - {name: 合格, min: 0}
periods: {Q1: 0.25, Q2: 0.25, Q3: 0.25, Q4: 0.25}
indicators:
  - code: D
    name: 依申请公开
    weight: 100
    rules:
      - {code: D-1, kind: per_occurrence, label: 依申请公开逾期答复, fact: applications_overdue, points: 3}
      - {code: D-2, kind: per_occurrence, label: 复议诉讼被纠正, fact: applications_corrected, points: 5}
"""


def facts(period: str, today: dt.date) -> dict[str, dict[str, list[tuple[str, str]]]]:
    ruleset, errors = load_ruleset_text(RULES)
    assert ruleset is not None, errors
    units = collect_facts(
        ruleset=ruleset, year=2023, period=period, sections=Section.objects.all(), today=today
    )
    names = dict(Section.objects.values_list("pk", "name"))
    return {
        names[int(u.unit)]: {k: [(o.ref, o.note) for o in v] for k, v in u.facts.items() if v}
        for u in units
        if any(u.facts.values())
    }


def test_overdue_replies_and_corrected_appeals_are_facts_of_the_handling_section(sections, office_user):
    late = make_application(sections["lead"], code="2023-001", replied_on=D(2023, 10, 20), result="granted")
    open_ = make_application(sections["resp"], code="2023-002")  # never answered, due 10-19
    make_application(
        sections["lead"], code="2023-003", replied_on=D(2023, 10, 19), result="granted"
    )  # on time
    corrected = late.appeals.create(
        kind=AppealKind.REVIEW,
        filed_on=D(2023, 10, 25),
        result=AppealResult.CORRECTED,
        decided_on=D(2023, 11, 10),
    )
    late.appeals.create(kind=AppealKind.DIRECT_SUIT, filed_on=D(2023, 10, 25))  # pending: not a fact
    assert facts("Q3", D(2024, 2, 1)) == {}
    assert facts("Q4", D(2024, 2, 1)) == {
        "综合股": {
            "applications_overdue": [(f"app:{late.pk}", "2023-001应于2023-10-19前答复，2023-10-20答复")],
            "applications_corrected": [
                (f"app:{corrected.application_id}", "2023-001行政复议结果纠正（2023-11-10）")
            ],
        },
        "法规股": {"applications_overdue": [(f"app:{open_.pk}", "2023-002应于2023-10-19前答复，尚未答复")]},
    }
    # Counted once, in the period its lateness began; not yet on the due date itself.
    assert "applications_overdue" not in facts("Q4", D(2023, 10, 19)).get("法规股", {})
    assert facts("年终", D(2024, 2, 1))["法规股"]["applications_overdue"][0][0] == f"app:{open_.pk}"


def test_a_manual_entry_counts_only_where_nothing_was_computed(sections):
    ManualFact.objects.create(
        section=sections["lead"], year=2023, period="Q1", fact="applications_overdue", value=2
    )
    assert len(facts("Q1", D(2024, 2, 1))["综合股"]["applications_overdue"]) == 2


# ---- pages ----------------------------------------------------------------------------------------------


def test_the_office_registers_through_the_page_and_sees_the_clock(as_office, sections):
    with at(D(2023, 9, 18)):
        response = as_office.post(
            reverse("application_create"),
            {
                "channel": ReceiptChannel.POST, "submitted_on": "2023-09-12", "acknowledged_on": "2023-09-15",
                "applicant_type": ApplicantType.LEGAL_SERVICE, "applicant_name": "某某律师事务所",
                "content": "申请公开统计调查项目审批文件", "section": sections["lead"].pk,
            },
        )  # fmt: skip
        application = Application.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("application_detail", args=[application.pk])
        page = as_office.get(response["Location"]).content.decode()
    assert application.received_on == D(2023, 9, 15)
    assert '<strong id="due-on">2023-10-19</strong>' in page
    assert "收到申请，开始计算答复期限（20个工作日）" in page
    assert "还剩" in page and "登记行政复议 / 行政诉讼" in page


def test_the_handling_section_records_steps_through_the_pages(as_lead, lead_user, sections):
    application = make_application(sections["lead"])
    url = reverse("application_correction", args=[application.pk])
    with at(D(2023, 9, 20)):
        assert (
            as_lead.post(url, {"action": "send", "sent_on": "2023-09-18", "note": "明确年份"}).status_code
            == 302
        )
        page = as_lead.get(reverse("application_detail", args=[application.pk])).content.decode()
        assert "计时停止（待补正）" in page and "登记收到补正" in page
        bad = as_lead.post(url, {"action": "return", "returned_on": "2023-09-17"})
        assert bad.status_code == 400 and "收到补正日期不能早于告知补正日期" in bad.content.decode()
        assert as_lead.post(url, {"action": "return", "returned_on": "2023-09-20"}).status_code == 302
        reply = as_lead.post(
            reverse("application_reply", args=[application.pk]),
            {"replied_on": "2023-09-20", "result": ApplicationResult.UNABLE_NOT_HELD},
        )
    assert reply.status_code == 302
    application.refresh_from_db()
    assert application.result == ApplicationResult.UNABLE_NOT_HELD
    assert AuditEntry.objects.filter(action__startswith="application.", user=lead_user).count() == 3


def test_the_extension_form_on_the_page_names_the_original_due_date(as_office, sections):
    application = make_application(sections["lead"])
    with at(D(2023, 10, 23)):
        response = as_office.post(
            reverse("application_extension", args=[application.pk]),
            {"approved_by": "王主任", "approved_on": "2023-10-23", "reason": "需调取档案"},
        )
    assert response.status_code == 400
    assert "延期须在原答复期限内（2023年9月15日至2023年10月19日）批准" in response.content.decode()


def test_the_register_filters_by_year_status_overdue_and_exports(as_office, sections):
    make_application(sections["lead"], code="2022-009", received_on=D(2022, 12, 26))  # carried into 2023
    make_application(sections["lead"], code="2023-001", replied_on=D(2023, 9, 20), result="granted")
    make_application(sections["resp"], code="2023-002", received_on=D(2023, 12, 20))  # due 2024-01-18
    make_application(sections["resp"], code="2024-001", received_on=D(2024, 1, 3))
    with at(D(2024, 1, 10)):

        def codes(query: str) -> list[str]:
            response = as_office.get(reverse("application_list") + query)
            return [r.application.code for r in response.context["page"]]

        assert codes("?year=2023") == ["2023-002", "2023-001", "2022-009"]
        assert codes("?year=2023&status=replied") == ["2023-001"]
        assert codes("?overdue=yes") == ["2022-009"]
        assert codes(f"?section={sections['resp'].pk}") == ["2024-001", "2023-002"]
        assert codes("?result=granted") == ["2023-001"]
        page = as_office.get(reverse("application_list") + "?year=2023").content.decode()
        assert "上年结转" in page
        export = as_office.get(reverse("application_list") + "?year=2023&_export=csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["登记编号", "收到申请之日", "提交方式"]
    assert [r[0] for r in rows[1:]] == ["2023-002", "2023-001", "2022-009"]
    assert [r[-1] for r in rows] == ["上年结转", "否", "否", "是"]
    assert AuditEntry.objects.get(action="application.export").new_value == {"format": "csv", "rows": 3}
    with at(D(2024, 1, 10)):
        xlsx = as_office.get(reverse("application_list") + "?year=2023&_export=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [sheet.cell(row=r, column=1).value for r in range(2, 5)] == ["2023-002", "2023-001", "2022-009"]


def test_a_section_sees_only_its_own_register(as_lead, as_outsider, as_readonly, sections):
    make_application(sections["lead"], code="2023-001")
    make_application(sections["resp"], code="2023-002")
    for client, expected in ((as_lead, ["2023-001"]), (as_readonly, ["2023-001"]), (as_outsider, [])):
        response = client.get(reverse("application_list"))
        assert [r.application.code for r in response.context["page"]] == expected
        assert "登记申请" not in response.content.decode()


@pytest.mark.parametrize("n", [2, 30])
def test_the_register_runs_a_fixed_number_of_queries(as_office, sections, n, django_assert_max_num_queries):
    for i in range(n):
        application = make_application(sections["lead" if i % 2 else "resp"])
        application.corrections.create(sent_on=D(2023, 9, 18), returned_on=D(2023, 9, 19))
        application.consultations.create(party="某局", started_on=D(2023, 9, 20), ended_on=D(2023, 9, 21))
    with django_assert_max_num_queries(9):
        assert as_office.get(reverse("application_list")).status_code == 200


def test_the_navigation_has_the_register(as_lead):
    assert "依申请公开</a>" in as_lead.get(reverse("home")).content.decode()


def test_the_detail_page_offers_ending_an_open_consultation(as_lead, sections):
    application = make_application(sections["lead"])
    url = reverse("application_consultation", args=[application.pk])
    with at(D(2023, 9, 27)):
        assert (
            as_lead.post(
                url, {"action": "start", "party": "第三方企业", "started_on": "2023-09-26"}
            ).status_code
            == 302
        )
        page = as_lead.get(reverse("application_detail", args=[application.pk])).content.decode()
        assert "收到意见：第三方企业" in page and "计时停止（征求意见中）" in page
        assert "延长答复期限" not in page  # the office grants extensions
        consultation = application.consultations.get()
        done = as_lead.post(url, {"action": "end", "consultation": consultation.pk, "ended_on": "2023-09-27"})
    assert done.status_code == 302
    consultation.refresh_from_db()
    assert consultation.ended_on == D(2023, 9, 27)
