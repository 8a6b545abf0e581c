"""季度看板的数据：所选计划、年度与季度；完成情况、逾期、缺报与退回、得分与趋势、热力图、与上季度对比；
已关账季度读快照。权限、查询次数与图表在 test_dashboard_page.py，看板测试的数据构造函数与夹具都在本模块。"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from scoring.dashboard import dashboard_data, resolve_selection
from scoring.models import (
    QuarterClose,
    QuarterCloseStatus,
    RuleSet,
    ScoreRun,
    SnapshotReport,
    SnapshotScore,
    SnapshotTask,
    UnitScore,
)
from tests.factories import make_plan, make_report, make_task
from workplan.models import AssignmentRole, ReportStatus, ReviewState, Task, TaskAssignment
from workplan.reminders import missing_reports

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2023, 8, 15)  # 2023 Q3
NOW = dt.datetime(2023, 8, 15, 9, 0, tzinfo=SHANGHAI)
URL = "/scoring/dashboard/"

pytestmark = pytest.mark.usefixtures("frozen_today")


@pytest.fixture
def frozen_today():
    with time_machine.travel(NOW, tick=False):
        yield


# ---- data helpers --------------------------------------------------------------------------------------


def make_chapter(plan, title: str, number: str, position: int) -> Task:
    return Task.objects.create(
        plan=plan,
        code=f"C{position}",
        number=number,
        title=title,
        is_heading=True,
        position=position,
        level=1,
    )


def bulk_tasks(plan, chapters, sections, n: int) -> list[Task]:
    """n 项任务，轮流归入各章节，状态与截止日期轮换；第 i 项由 sections[i % len] 牵头、下一个股室负责。"""
    statuses = [
        ReportStatus.DONE,
        ReportStatus.IN_PROGRESS,
        ReportStatus.NOT_STARTED,
        ReportStatus.CANNOT_COMPLETE,
    ]
    tasks = Task.objects.bulk_create(
        [
            Task(
                plan=plan,
                parent=chapters[i % len(chapters)],
                code=f"B{i:05d}",
                number_path=f"{i}",
                title=f"批量任务{i}",
                position=1000 + i,
                level=2,
                status=statuses[i % 4],
                due_date=dt.date(2023, 6, 30) if i % 3 == 0 else dt.date(2023, 12, 31),
            )
            for i in range(n)
        ]
    )
    TaskAssignment.objects.bulk_create(
        [
            TaskAssignment(task=t, section=sections[i % len(sections)], role=AssignmentRole.LEAD)
            for i, t in enumerate(tasks)
        ]
        + [
            TaskAssignment(task=t, section=sections[(i + 1) % len(sections)], role=AssignmentRole.RESPONSIBLE)
            for i, t in enumerate(tasks)
        ]
    )
    return tasks


def make_run(year: int, period: str, totals: dict, *, computed_at: dt.datetime | None = None) -> ScoreRun:
    ruleset, _ = RuleSet.objects.get_or_create(
        code="GZ", version=1, defaults={"name": "股室考核细则", "year": year}
    )
    run = ScoreRun.objects.create(ruleset=ruleset, year=year, period=period)
    if computed_at is not None:
        ScoreRun.objects.filter(pk=run.pk).update(computed_at=computed_at)
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    UnitScore.objects.bulk_create(
        [
            UnitScore(
                run=run,
                section=section,
                total=Decimal(str(total)),
                grade="优秀" if total >= 90 else "良好",
                rank=rank,
                base_score=Decimal(str(total)),
                bonus=Decimal(0),
                penalty=Decimal(0),
            )
            for rank, (section, total) in enumerate(ranked, 1)
        ]
    )
    return run


def make_close(year: int, quarter: int, *, status: str = QuarterCloseStatus.APPEAL) -> QuarterClose:
    return QuarterClose.objects.create(
        year=year, quarter=quarter, status=status, appeal_deadline=dt.date(year, min(12, 3 * quarter + 1), 20)
    )


def snapshot_task(
    close, task: Task, *, status: str, overdue: bool = False, chapter: str = "", leads=(), resp=()
):
    return SnapshotTask.objects.create(
        close=close,
        task_id_ref=task.pk,
        plan_id_ref=task.plan_id,
        code=task.code,
        number_path=task.number_path,
        chapter=chapter,
        title=task.title,
        status=status,
        due_date=task.due_date,
        overdue=overdue,
        workdays_overdue=7 if overdue else 0,
        lead_names="、".join(s.name for s in leads),
        responsible_names="、".join(s.name for s in resp),
        lead_section_ids=[s.pk for s in leads],
    )


def snapshot_scores(close, totals: dict) -> None:
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    SnapshotScore.objects.bulk_create(
        [
            SnapshotScore(
                close=close,
                section=section,
                total=Decimal(str(total)),
                adjusted_total=Decimal(str(total)),
                grade="良好",
                rank=rank,
            )
            for rank, (section, total) in enumerate(ranked, 1)
        ]
    )


@pytest.fixture
def small_plan(plan, sections):
    """2023 年计划，两个章节：
    一、章：任务 A（综合股牵头、法规股负责，已完成），任务 B（综合股牵头，推进中，6 月 30 日到期 → 逾期）；
    二、章：任务 C（法规股牵头，未启动，12 月到期），任务 C 的子任务 D（法规股牵头，无法完成）。
    """
    ch1 = make_chapter(plan, "深化重点领域公开", "一、", 1)
    ch2 = make_chapter(plan, "加强平台建设", "二、", 10)
    lead, resp = sections["lead"], sections["resp"]
    a = make_task(
        plan, title="任务A", leads=[lead], responsibles=[resp], parent=ch1, position=2, status="done"
    )
    b = make_task(
        plan,
        title="任务B",
        leads=[lead],
        parent=ch1,
        position=3,
        status="in_progress",
        due_date=dt.date(2023, 6, 30),
    )
    c = make_task(
        plan,
        title="任务C",
        leads=[resp],
        parent=ch2,
        position=11,
        status="not_started",
        due_date=dt.date(2023, 12, 1),
    )
    d = make_task(plan, title="任务D", leads=[resp], parent=c, position=12, status="cannot_complete")
    return {"plan": plan, "ch1": ch1, "ch2": ch2, "a": a, "b": b, "c": c, "d": d}


# ---- selection -----------------------------------------------------------------------------------------


class TestSelection:
    def test_default_is_the_current_quarter_and_the_latest_plan_of_this_year(self, db):
        make_plan(year=2022, title="旧计划")
        newest = make_plan(year=2023, title="新计划")
        assert resolve_selection(plan=None, year=None, quarter=None, today=TODAY) == (newest, 2023, 3)

    def test_without_a_plan_this_year_it_falls_back_to_the_latest_plan_and_its_fourth_quarter(self, db):
        old = make_plan(year=2022)
        assert resolve_selection(plan=None, year=None, quarter=None, today=TODAY) == (old, 2022, 4)

    def test_a_chosen_plan_sets_the_year(self, db):
        old = make_plan(year=2022)
        assert resolve_selection(plan=old, year=2023, quarter=2, today=TODAY) == (old, 2022, 2)

    def test_the_page_accepts_plan_year_and_quarter(self, as_director, small_plan):
        response = as_director.get(URL, {"plan": small_plan["plan"].pk, "quarter": 2})
        assert response.status_code == 200
        assert response.context["d"]["period_label"] == "2023年第二季度"

    def test_an_invalid_quarter_shows_the_form_error_and_the_default_quarter(self, as_director, small_plan):
        response = as_director.get(URL, {"quarter": 9})
        assert response.status_code == 200
        assert response.context["form"].errors
        assert response.context["d"]["quarter"] == 3


# ---- live data -----------------------------------------------------------------------------------------


class TestLiveQuarter:
    def data(self, small_plan):
        return dashboard_data(plan=small_plan["plan"], year=2023, quarter=3, today=TODAY)

    def test_completion_by_section_counts_each_task_once_per_section(self, small_plan, sections):
        rows = {r["name"]: r for r in self.data(small_plan)["by_section"]}
        assert rows["综合股"]["counts"] == {
            "done": 1,
            "in_progress": 1,
            "not_started": 0,
            "cannot_complete": 0,
        }
        assert rows["综合股"]["rates"]["done"] == 50.0
        assert rows["法规股"]["counts"] == {
            "done": 1,
            "in_progress": 0,
            "not_started": 1,
            "cannot_complete": 1,
        }
        assert rows["综合股"]["overdue"] == 1
        assert "农业股" not in rows

    def test_completion_by_chapter_uses_the_outermost_heading(self, small_plan):
        chapters = self.data(small_plan)["by_chapter"]
        assert [c["name"] for c in chapters] == ["一、深化重点领域公开", "二、加强平台建设"]
        # 任务 D is a sub-task of 任务 C: it belongs to chapter 二.
        assert chapters[1]["counts"] == {"done": 0, "in_progress": 0, "not_started": 1, "cannot_complete": 1}
        assert chapters[0]["chapter_id"] == small_plan["ch1"].pk

    def test_totals_and_overdue_list(self, small_plan):
        data = self.data(small_plan)
        assert data["totals"]["tasks"] == 4
        assert data["totals"]["rates"]["done"] == 25.0
        assert data["overdue"]["count"] == 1
        row = data["overdue"]["rows"][0]
        assert row["title"] == "任务B"
        assert row["leads"] == "综合股"
        # 2023-06-30 (Friday) → 2023-08-15: 32 working days.
        assert row["workdays_overdue"] == 32

    def test_a_past_quarter_counts_overdue_at_its_end(self, small_plan):
        q2 = dashboard_data(plan=small_plan["plan"], year=2023, quarter=2, today=TODAY)
        assert q2["as_of"] == dt.date(2023, 7, 1)
        assert q2["overdue"]["count"] == 1  # due 30 June, unfinished when Q2 ended
        # 2023-06-30 → 2023-07-01: a Saturday, no working day has passed yet.
        assert q2["overdue"]["rows"][0]["workdays_overdue"] == 0
        q1 = dashboard_data(plan=small_plan["plan"], year=2023, quarter=1, today=TODAY)
        assert q1["overdue"]["count"] == 0

    def test_heatmap_rates_by_section_and_chapter(self, small_plan):
        heat = self.data(small_plan)["heatmap"]
        assert heat["sections"] == ["综合股", "法规股"]
        assert heat["z"] == [[50.0, None], [100.0, 0.0]]
        assert heat["text"] == [["1/2", ""], ["1/1", "0/2"]]

    def test_missing_and_returned_reports_this_quarter(self, small_plan, sections):
        make_report(
            small_plan["b"], sections["lead"], quarter=3, review_state=ReviewState.RETURNED, return_count=2
        )
        make_report(small_plan["c"], sections["resp"], quarter=3)
        reports = self.data(small_plan)["reports"]
        states = {(r["title"], r["section"]): r["state"] for r in reports["rows"]}
        # 任务A and 任务D are closed and 任务C has its report: only 任务B is outstanding (returned).
        assert states == {("任务B", "综合股"): "returned"}
        by_section = {r["name"]: r for r in reports["by_section"]}
        assert by_section["综合股"]["returned_now"] == 1
        assert by_section["综合股"]["return_times"] == 2
        assert (reports["missing"], reports["returned"]) == (0, 1)

    def test_outstanding_reports_follow_the_missing_reports_rules(self, plan, sections):
        """看板按 values_list 自行计算缺报，结果须与缺报清单（workplan.reminders.missing_reports）一致。"""
        lead, resp, other = sections["lead"], sections["resp"], sections["other"]
        accepted = {"review_state": ReviewState.ACCEPTED}
        t1 = make_task(plan, leads=[lead], responsibles=[resp])
        t2 = make_task(plan, leads=[lead], status="done")
        make_report(t2, lead, quarter=2, status="done", **accepted)
        t3 = make_task(plan, leads=[resp], status="done", recurrence="quarterly")
        make_report(t3, resp, quarter=1, status="done", **accepted)
        t4 = make_task(plan, leads=[lead], responsibles=[resp, other])
        make_report(t4, lead, quarter=3)
        make_report(
            t4, resp, quarter=3, role="responsible", review_state=ReviewState.RETURNED, return_count=1
        )
        make_task(plan, leads=[other], status="done")  # closed by the office, never reported
        make_task(plan, leads=[lead], responsibles=[lead])
        t7 = make_task(plan, leads=[other], status="done")
        make_report(t7, other, quarter=3, status="done", **accepted)
        elsewhere = make_task(make_plan(year=2023, title="另一计划"), leads=[lead])

        rows = dashboard_data(plan=plan, year=2023, quarter=3, today=TODAY)["reports"]["rows"]
        expected = [
            (r.task_id, r.section_id, r.state)
            for r in missing_reports(year=2023, quarter=3, today=TODAY)
            if r.task_id != elsewhere.pk
        ]
        assert [(r["task_id"], r["section_id"], r["state"]) for r in rows] == expected
        assert (t1.pk, resp.pk, "not_submitted") in expected
        assert (t3.pk, resp.pk, "not_submitted") in expected
        assert (t4.pk, resp.pk, "returned") in expected
        assert len(expected) == 6

    def test_a_closed_quarter_takes_report_states_from_the_snapshot(self, small_plan, sections):
        lead = sections["lead"]
        close = make_close(2023, 2)
        snapshot_task(close, small_plan["b"], status="in_progress", leads=[lead])
        # Submitted after the close: the frozen quarter still lists it as missing.
        make_report(small_plan["b"], lead, quarter=2)
        reports = dashboard_data(plan=small_plan["plan"], year=2023, quarter=2, today=TODAY)["reports"]
        assert [(r["title"], r["state"]) for r in reports["rows"]] == [("任务B", "not_submitted")]

    def test_scores_come_from_the_latest_official_run_and_the_trend_covers_the_year(
        self, small_plan, sections
    ):
        lead, resp = sections["lead"], sections["resp"]
        make_run(2023, "Q1", {lead: 80, resp: 90})
        make_run(2023, "Q2", {lead: 85, resp: 88}, computed_at=timezone.now() - dt.timedelta(days=30))
        what_if = make_run(2023, "Q3", {lead: 1, resp: 1})
        ScoreRun.objects.filter(pk=what_if.pk).update(is_what_if=True)
        make_run(2023, "Q3", {lead: 95, resp: 70})
        scores = self.data(small_plan)["scores"]
        assert [(r["name"], r["total"], r["rank"], r["delta"]) for r in scores["ranking"]] == [
            ("综合股", 95.0, 1, 10.0),
            ("法规股", 70.0, 2, -18.0),
        ]
        assert scores["ranking"][0]["detail_url"].startswith("/scoring/scores/")
        series = {s["name"]: s["values"] for s in scores["trend"]["series"]}
        assert series == {"综合股": [80.0, 85.0, 95.0, None], "法规股": [90.0, 88.0, 70.0, None]}

    def test_without_a_previous_close_the_comparison_only_compares_scores(self, small_plan):
        compare = self.data(small_plan)["compare"]
        assert compare["tasks_available"] is False
        assert "尚未关账" in compare["note"]

    def test_a_year_without_plans_shows_an_empty_dashboard(self, as_director):
        response = as_director.get(URL)
        assert response.status_code == 200
        assert "所选年度还没有工作计划" in response.content.decode()


# ---- closed quarters -----------------------------------------------------------------------------------


class TestClosedQuarter:
    def test_a_closed_quarter_reads_the_snapshot_not_live_data(self, as_director, small_plan, sections):
        lead, resp = sections["lead"], sections["resp"]
        close = make_close(2023, 2)
        # At close 任务A was still in progress and 任务B overdue; live data has since changed.
        snapshot_task(
            close,
            small_plan["a"],
            status="in_progress",
            chapter="一、深化重点领域公开",
            leads=[lead],
            resp=[resp],
        )
        snapshot_task(
            close,
            small_plan["b"],
            status="in_progress",
            overdue=True,
            chapter="一、深化重点领域公开",
            leads=[lead],
        )
        snapshot_scores(close, {lead: 77, resp: 66})
        make_run(2023, "Q2", {lead: 10, resp: 10})  # ignored: the quarter is closed
        SnapshotReport.objects.create(
            close=close,
            report_id_ref=1,
            task_id_ref=small_plan["b"].pk,
            section=lead,
            role="lead",
            status="in_progress",
            review_state=ReviewState.RETURNED,
        )
        response = as_director.get(URL, {"plan": small_plan["plan"].pk, "quarter": 2})
        d = response.context["d"]
        assert "已关账（申诉期）" in response.content.decode()
        assert d["source"] == "snapshot"
        assert d["totals"]["tasks"] == 2
        assert d["totals"]["counts"]["in_progress"] == 2
        assert d["overdue"]["count"] == 1
        assert d["overdue"]["rows"][0]["workdays_overdue"] == 7
        rows = {r["name"]: r for r in d["by_section"]}
        assert rows["法规股"]["total"] == 1  # from responsible_names
        assert d["by_chapter"][0]["chapter_id"] == small_plan["ch1"].pk
        assert [(r["name"], r["total"]) for r in d["scores"]["ranking"]] == [
            ("综合股", 77.0),
            ("法规股", 66.0),
        ]
        assert d["reports"]["returned"] == 1

    def test_a_finalised_quarter_says_so(self, as_director, small_plan):
        make_close(2023, 2, status=QuarterCloseStatus.FINAL)
        response = as_director.get(URL, {"plan": small_plan["plan"].pk, "quarter": 2})
        assert "已关账（已定稿）" in response.content.decode()

    def test_comparison_with_the_previous_closed_quarter(self, small_plan, sections):
        lead, resp = sections["lead"], sections["resp"]
        prev = make_close(2023, 2)
        snapshot_task(prev, small_plan["a"], status="in_progress", leads=[lead])  # now done → newly done
        snapshot_task(
            prev, small_plan["b"], status="in_progress", leads=[lead]
        )  # now overdue → newly overdue
        snapshot_task(prev, small_plan["d"], status="cannot_complete", leads=[resp])
        snapshot_scores(prev, {lead: 80, resp: 90})
        make_run(2023, "Q3", {lead: 85, resp: 86})
        compare = dashboard_data(plan=small_plan["plan"], year=2023, quarter=3, today=TODAY)["compare"]
        assert compare["tasks_available"] is True
        assert [t["title"] for t in compare["newly_done"]] == ["任务A"]
        assert [t["title"] for t in compare["newly_overdue"]] == ["任务B"]
        moves = {m["name"]: (m["prev_total"], m["total"], m["delta"]) for m in compare["movement"]}
        assert moves == {"综合股": (80.0, 85.0, 5.0), "法规股": (90.0, 86.0, -4.0)}

    def test_both_quarters_closed_compares_snapshots(self, small_plan, sections):
        lead = sections["lead"]
        prev, cur = make_close(2023, 1), make_close(2023, 2)
        snapshot_task(prev, small_plan["a"], status="not_started", leads=[lead])
        snapshot_task(cur, small_plan["a"], status="done", leads=[lead])
        snapshot_task(cur, small_plan["b"], status="in_progress", overdue=True, leads=[lead])
        compare = dashboard_data(plan=small_plan["plan"], year=2023, quarter=2, today=TODAY)["compare"]
        assert compare["newly_done_count"] == 1
        assert compare["newly_overdue_count"] == 1
