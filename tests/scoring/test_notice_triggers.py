"""通报触发条件（scoring/notice_triggers.py）与通报的考核事实（scoring/facts.py）：

每个条件按办公室设置起草一份通报草稿（点名股室、问题与依据、处理意见、整改期限），重复运行不重复起草；
已印发的局内通报计入 notices_bureau、登记的县（市）级通报计入 notices_county，整改销号计入 rectified_notices。
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from scoring import engine, notice_triggers
from scoring.models import LedgerLine, RuleSet, ScoreRun, UnitScore
from scoring.services import scores_compute
from tests.factories import make_report, make_task
from tests.scoring.test_facts import LATE, collect, facts_by_name, published_ruleset, section_rules
from tests.workplan.test_notices import answer, draft, issue, received, verify
from workplan import notices, rectification
from workplan.calendar_db import load_calendar
from workplan.models import (
    AuditEntry,
    CriticismNotice,
    IssuerLevel,
    NoticeStatus,
    OfficeSettings,
    RectificationItem,
    ReportStatus,
)
from workplan.notices import UnitEntry

D = Decimal
TODAY = datetime.date(2023, 10, 10)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def run(user, quarter=3, year=2023, today=TODAY):
    return {
        o.kind: o for o in notice_triggers.triggers_run(year=year, quarter=quarter, user=user, today=today)
    }


def set_office(**values):
    OfficeSettings.objects.update_or_create(pk=1, defaults=values)


@pytest.fixture
def ruleset_record(db) -> RuleSet:
    return RuleSet.objects.create(code="section", name="股室细则", year=2023, status="published")


def score(ruleset_record, section, total, *, year=2023, quarter=3, what_if=False):
    run_, _ = ScoreRun.objects.get_or_create(
        ruleset=ruleset_record, year=year, period=f"Q{quarter}", is_what_if=what_if
    )
    return UnitScore.objects.create(
        run=run_, section=section, total=D(total), grade="合格", base_score=D(total), bonus=0, penalty=0
    )


# ---- each condition ----------------------------------------------------------------------------------------


class TestOverdue:
    @pytest.fixture
    def late_tasks(self, plan, sections):
        """综合股牵头、法规股负责的一项任务 6 月 1 日到期未完成（到 9 月 30 日已逾期远超 10 个工作日）；
        另一项 9 月 25 日到期（只逾期 3 个工作日）；一项早已到期但已完成。"""
        late = make_task(
            plan,
            title="发布统计公报",
            leads=[sections["lead"]],
            responsibles=[sections["resp"]],
            due_date=datetime.date(2023, 6, 1),
        )
        make_task(plan, leads=[sections["other"]], due_date=datetime.date(2023, 9, 25))
        make_task(
            plan, leads=[sections["other"]], due_date=datetime.date(2023, 3, 1), status=ReportStatus.DONE
        )
        return late

    def test_it_drafts_a_notice_naming_the_lead_section_with_the_facts(
        self, office_user, sections, late_tasks
    ):
        outcome = run(office_user)[notice_triggers.OVERDUE]
        assert outcome.status == notice_triggers.CREATED
        notice = outcome.notice
        assert (notice.status, notice.number, notice.doc_number) == (NoticeStatus.DRAFT, None, "")
        assert (notice.trigger_kind, notice.dedupe_key) == ("overdue", "trigger:overdue:2023-Q3")
        assert notice.title == "关于2023年第三季度政务公开重点任务逾期未完成情况的通报"
        assert notice.handling_opinion == "对综合股予以通报批评。"
        assert "第四十七条" in notice.opening
        units = notices.notice_units(notice)
        assert [u.section for u in units] == [sections["lead"]]
        assert "发布统计公报" in units[0].problems and "截止日期2023年6月1日" in units[0].problems
        assert "已逾期" in units[0].problems and "个工作日" in units[0].problems
        deadline = load_calendar().add_workdays(TODAY, notice_triggers.RECTIFY_WORKDAYS)
        assert notice.rectification_deadline == deadline
        assert f"{deadline.year}年{deadline.month}月{deadline.day}日前完成整改" in notice.requirements
        detail = notice.trigger_detail
        assert detail["settings"] == {"workdays": 10}
        assert detail["units"][0]["facts"][0]["task"] == late_tasks.pk

    def test_the_threshold_comes_from_the_office_settings(self, office_user, late_tasks):
        set_office(trigger_overdue_workdays=200)
        assert run(office_user)[notice_triggers.OVERDUE].status == notice_triggers.NOTHING

    def test_a_task_overdue_by_few_workdays_is_not_named(self, office_user, sections, late_tasks):
        set_office(trigger_overdue_workdays=2)
        notice = run(office_user)[notice_triggers.OVERDUE].notice
        assert {u.section.name for u in notices.notice_units(notice)} == {"综合股", "农业股"}


class TestScoreBelow:
    def test_sections_scoring_below_the_threshold_are_named(self, office_user, sections, ruleset_record):
        score(ruleset_record, sections["resp"], "55.5")
        score(ruleset_record, sections["lead"], "85")
        score(ruleset_record, sections["other"], "40", what_if=True)  # a what-if score never counts
        score(ruleset_record, sections["other"], "40", quarter=2)  # another quarter
        notice = run(office_user)[notice_triggers.SCORE_BELOW].notice
        units = notices.notice_units(notice)
        assert [u.section for u in units] == [sections["resp"]]
        assert units[0].problems == "2023年第三季度政务公开工作考核得分55.5分（合格），低于60分。"
        assert notice.handling_opinion == "对法规股予以通报批评。"


class TestReturned:
    def test_a_report_returned_n_times_names_its_section(self, office_user, plan, sections):
        task = make_task(
            plan, title="更新数据发布日程表", leads=[sections["lead"]], responsibles=[sections["resp"]]
        )
        make_report(task, sections["resp"], quarter=3, role="responsible", return_count=2)
        make_report(task, sections["lead"], quarter=3, return_count=1)
        make_report(task, sections["other"], quarter=2, return_count=5)
        notice = run(office_user)[notice_triggers.RETURNED].notice
        units = notices.notice_units(notice)
        assert [u.section for u in units] == [sections["resp"]]
        assert "更新数据发布日程表" in units[0].problems and "被退回2次" in units[0].problems


class TestLowQuarters:
    def test_two_low_quarters_in_a_row(self, office_user, sections, ruleset_record):
        score(ruleset_record, sections["resp"], "50", quarter=2)
        score(ruleset_record, sections["resp"], "58", quarter=3)
        score(ruleset_record, sections["lead"], "50", quarter=3)  # low this quarter only
        score(ruleset_record, sections["lead"], "75", quarter=2)
        notice = run(office_user)[notice_triggers.LOW_QUARTERS].notice
        units = notices.notice_units(notice)
        assert [u.section for u in units] == [sections["resp"]]
        assert units[0].problems == (
            "连续2个季度政务公开工作考核得分低于60分：2023年第二季度50分、2023年第三季度58分。"
        )

    def test_the_run_of_low_quarters_crosses_the_year(self, office_user, sections, ruleset_record):
        score(ruleset_record, sections["resp"], "50", year=2022, quarter=4)
        score(ruleset_record, sections["resp"], "50", year=2023, quarter=1)
        outcome = run(office_user, quarter=1)[notice_triggers.LOW_QUARTERS]
        assert [u.section for u in notices.notice_units(outcome.notice)] == [sections["resp"]]


# ---- once per condition and quarter -----------------------------------------------------------------------


@pytest.fixture
def every_condition(plan, sections, ruleset_record):
    task = make_task(plan, leads=[sections["lead"]], due_date=datetime.date(2023, 5, 1))
    make_report(task, sections["lead"], quarter=3, return_count=3)
    score(ruleset_record, sections["resp"], "50", quarter=2)
    score(ruleset_record, sections["resp"], "50", quarter=3)


def test_each_trigger_drafts_exactly_once(office_user, every_condition):
    first = run(office_user)
    assert {k: o.status for k, o in first.items()} == dict.fromkeys(notice_triggers.TRIGGER_LABELS, "created")
    second = run(office_user)
    assert {k: o.status for k, o in second.items()} == dict.fromkeys(notice_triggers.TRIGGER_LABELS, "exists")
    assert {k: o.notice for k, o in second.items()} == {k: o.notice for k, o in first.items()}
    assert CriticismNotice.objects.count() == 4
    assert AuditEntry.objects.filter(action="notice.draft").count() == 4


def test_a_discarded_or_issued_draft_is_not_drafted_again(office_user, every_condition):
    drafted = run(office_user)
    dropped = drafted[notice_triggers.OVERDUE].notice
    notices.notice_discard(notice=dropped, user=office_user, expected_version=dropped.version)
    issue(office_user, drafted[notice_triggers.RETURNED].notice)
    again = run(office_user)
    assert again[notice_triggers.OVERDUE].status == notice_triggers.EXISTS
    assert again[notice_triggers.RETURNED].notice.status == NoticeStatus.ISSUED
    assert CriticismNotice.objects.count() == 4


def test_another_quarter_is_a_new_draft(office_user, every_condition, ruleset_record, sections):
    run(office_user)
    score(ruleset_record, sections["resp"], "50", quarter=4)
    later = run(office_user, quarter=4, today=datetime.date(2024, 1, 10))
    assert later[notice_triggers.LOW_QUARTERS].status == notice_triggers.CREATED
    assert later[notice_triggers.LOW_QUARTERS].notice.dedupe_key == "trigger:low_quarters:2023-Q4"


def test_a_condition_set_to_zero_is_disabled(office_user, every_condition):
    set_office(trigger_overdue_workdays=0, trigger_returned_times=0, trigger_score_below=0)
    outcomes = run(office_user)
    assert {k: o.status for k, o in outcomes.items()} == dict.fromkeys(
        notice_triggers.TRIGGER_LABELS, "disabled"
    )
    assert not CriticismNotice.objects.exists()


def test_nothing_to_report_drafts_nothing_and_a_later_run_still_checks(office_user, plan, sections):
    assert run(office_user)[notice_triggers.RETURNED].status == notice_triggers.NOTHING
    make_report(make_task(plan, leads=[sections["lead"]]), sections["lead"], quarter=3, return_count=2)
    assert run(office_user)[notice_triggers.RETURNED].status == notice_triggers.CREATED


@pytest.mark.parametrize("persona", ["director", "lead_user", "readonly_user"])
def test_only_the_office_runs_triggers(request, persona, every_condition):
    with pytest.raises(PermissionDenied):
        run(request.getfixturevalue(persona))
    assert not CriticismNotice.objects.exists()


# ---- the page ----------------------------------------------------------------------------------------------


def test_the_page_runs_the_triggers_and_lists_the_drafts(as_office, every_condition, time_machine):
    time_machine.move_to(datetime.datetime(2023, 10, 10, 9, tzinfo=SHANGHAI))
    page = as_office.get(reverse("notice_triggers")).content.decode()
    assert "2023年第三季度由触发条件起草的通报" in page  # defaults to the previous quarter
    response = as_office.post(reverse("notice_triggers_run"), {"year": 2023, "quarter": 3}, follow=True)
    page = response.content.decode()
    assert "任务逾期：已起草" in page and "报送多次退回：已起草" in page
    for notice in CriticismNotice.objects.all():
        assert reverse("notice_detail", args=[notice.pk]) in page
    assert CriticismNotice.objects.count() == 4
    response = as_office.post(reverse("notice_triggers_run"), {"year": 2023, "quarter": 3}, follow=True)
    assert "任务逾期：本季度已起草过" in response.content.decode()
    assert CriticismNotice.objects.count() == 4


# ---- facts -------------------------------------------------------------------------------------------------


@pytest.fixture
def in_august(time_machine):
    time_machine.move_to(datetime.datetime(2023, 8, 15, 10, tzinfo=SHANGHAI))


def test_an_issued_bureau_notice_counts_once_for_the_named_section_in_its_quarter(
    office_user, sections, in_august
):
    notice = issue(office_user, draft(office_user, [sections["lead"]]))
    draft(office_user, [sections["lead"]])  # a draft does not count
    discarded = draft(office_user, [sections["lead"]])
    notices.notice_discard(notice=discarded, user=office_user, expected_version=1)
    rs = section_rules()
    q3 = collect(rs, "Q3")
    assert tuple(facts_by_name(q3, sections["lead"])["notices_bureau"]) == (
        engine.Occurrence(ref=f"notice:{notice.pk}", note="统通〔2023〕1号"),
    )
    assert facts_by_name(q3, sections["resp"])["notices_bureau"] == engine.NO_EVENTS
    assert facts_by_name(q3, sections["lead"])["notices_county"] == engine.NO_EVENTS
    assert facts_by_name(collect(rs, "Q2"), sections["lead"])["notices_bureau"] == engine.NO_EVENTS
    assert len(facts_by_name(collect(rs, "年度"), sections["lead"])["notices_bureau"]) == 1


@pytest.mark.parametrize("level", [IssuerLevel.COUNTY, IssuerLevel.CITY])
def test_recorded_county_and_city_notices_feed_notices_county(office_user, sections, level):
    notice = received(office_user, sections, issuer_level=level, received_on=datetime.date(2023, 8, 20))
    facts = facts_by_name(collect(section_rules(), "Q3"), sections["lead"])
    assert tuple(facts["notices_county"]) == (
        engine.Occurrence(ref=f"notice:{notice.pk}", note="樟府办字〔2023〕12号"),
    )
    assert facts["notices_bureau"] == engine.NO_EVENTS


def test_a_computed_notice_takes_the_notice_penalty_in_the_ledger(office_user, sections, in_august):
    issue(office_user, draft(office_user, [sections["lead"]]))
    record = published_ruleset()
    run_ = scores_compute(ruleset_record=record, year=2023, period="Q3", user=office_user, today=LATE)
    line = LedgerLine.objects.get(run=run_, section=sections["lead"], rule_code="G-2")
    assert line.points == D(-1) and "受到局内通报批评1次" in line.reason
    assert not LedgerLine.objects.filter(run=run_, section=sections["resp"], rule_code="G-2").exists()


def test_a_verified_rectification_is_a_bonus_item_in_the_quarter_it_was_closed(
    office_user, lead_user, sections, time_machine
):
    time_machine.move_to(datetime.datetime(2023, 9, 1, 10, tzinfo=SHANGHAI))
    notice = issue(office_user, draft(office_user, [sections["lead"]]))
    item = RectificationItem.objects.get(notice=notice)
    time_machine.move_to(datetime.datetime(2023, 10, 12, 10, tzinfo=SHANGHAI))
    verify(office_user, answer(lead_user, item), rectification.CLOSE)
    rs = section_rules()
    assert facts_by_name(collect(rs, "Q3"), sections["lead"])["rectified_notices"] == ()
    bonus = facts_by_name(collect(rs, "Q4"), sections["lead"])["rectified_notices"]
    assert bonus == (
        engine.BonusItem(
            ref=f"notice:{notice.pk}",
            reason="统通〔2023〕1号所列问题整改到位，已核验销号",
            evidence="整改报告.pdf",
        ),
    )
    rule = next(r for r in rs.rules if r.fact == "rectified_notices")
    assert engine.score_bonus(rule, bonus)[0][0] == D(1)


def test_a_returned_rectification_is_no_bonus(office_user, lead_user, sections, in_august):
    notice = issue(office_user, draft(office_user, [UnitEntry(sections["lead"])]))
    item = RectificationItem.objects.get(notice=notice)
    verify(office_user, answer(lead_user, item), rectification.RETURN, "不完整")
    assert facts_by_name(collect(section_rules(), "Q3"), sections["lead"])["rectified_notices"] == ()
