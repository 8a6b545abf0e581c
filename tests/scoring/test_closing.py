"""季度关账：冻结任务、报送（含佐证引用）、成绩与台账；之后的修改不影响快照；重复关账被拒绝；申诉截止日按工作日；
查询次数与任务多少无关；两次关账之间的变化；关账页面的权限矩阵。"""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from scoring.close_diff import ScoreState, TaskState, diff_snapshots, previous_close_of, quarter_diff
from scoring.closing import quarter_close
from scoring.models import (
    LedgerLine,
    QuarterClose,
    QuarterCloseStatus,
    ScoreRun,
    SnapshotLedgerLine,
    SnapshotReport,
    SnapshotScore,
    SnapshotTask,
    UnitScore,
)
from scoring.services import scores_compute
from tests.conftest import login
from tests.factories import make_evidence, make_report, make_task
from tests.scoring.test_facts import published_ruleset
from workplan.models import (
    AssignmentRole,
    AuditEntry,
    Evidence,
    Notification,
    OfficeSettings,
    ProgressReport,
    ReportStatus,
    Task,
    TaskAssignment,
)

TZ = ZoneInfo("Asia/Shanghai")
# Friday 28 April 2023: the 劳动节 holiday (29 April – 3 May) follows, and Saturday 6 May is a working day.
CLOSE_DAY = datetime.date(2023, 4, 28)
DEADLINE = datetime.date(2023, 5, 9)  # the 5th working day after CLOSE_DAY
DUE = datetime.date(2023, 2, 1)
PERSONAS = ["office", "director", "lead", "resp", "outsider", "readonly", "anonymous"]


def at(day: datetime.date, hour: int = 10) -> time_machine.travel:
    return time_machine.travel(datetime.datetime(day.year, day.month, day.day, hour, tzinfo=TZ), tick=False)


def compute(ruleset, period: str = "Q1", *, year: int = 2023) -> ScoreRun:
    return scores_compute(ruleset_record=ruleset, year=year, period=period)


def close_quarter(office_user, ruleset, *, quarter: int = 1, day: datetime.date = CLOSE_DAY) -> QuarterClose:
    with at(day):
        run = compute(ruleset, f"Q{quarter}")
        return quarter_close(year=2023, quarter=quarter, run=run, user=office_user)


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
def closed(db, plan, sections, office_user):
    """2023 年第一季度已关账（4 月 28 日）：综合股牵头、法规股负责的任务 2 月 1 日到期仍未完成（逾期），
    挂在章节“一、”下；综合股报送了进展并附链接佐证；正式计分后关账。"""
    ruleset = published_ruleset()
    heading = make_task(plan, title="政策公开", number="一、", is_heading=True, code="H1")
    task = make_task(
        plan,
        title="深化统计数据公开",
        leads=[sections["lead"]],
        responsibles=[sections["resp"]],
        parent=heading,
        due_date=DUE,
    )
    report = make_report(task, sections["lead"], quarter=1, narrative="按月发布统计数据")
    evidence = make_evidence(report, note="公开链接")
    close = close_quarter(office_user, ruleset)
    line = SnapshotLedgerLine.objects.get(close=close, section=sections["lead"], rule_code="A1-1")
    return SimpleNamespace(
        ruleset=ruleset, task=task, report=report, evidence=evidence, close=close, run=close.run, line=line
    )


def snapshot_state(close: QuarterClose) -> dict[str, list]:
    return {
        "tasks": list(SnapshotTask.objects.filter(close=close).order_by("pk").values()),
        "reports": list(SnapshotReport.objects.filter(close=close).order_by("pk").values()),
        "scores": list(SnapshotScore.objects.filter(close=close).order_by("pk").values()),
        "lines": list(SnapshotLedgerLine.objects.filter(close=close).order_by("pk").values()),
    }


# ---- what a close freezes ------------------------------------------------------------------------------


def test_close_freezes_every_actionable_task_with_overdue_working_days_and_sections(closed, sections):
    tasks = list(SnapshotTask.objects.filter(close=closed.close))
    assert len(tasks) == 1  # the chapter heading is not a task
    t = tasks[0]
    assert (t.task_id_ref, t.plan_id_ref, t.code, t.title) == (
        closed.task.pk,
        closed.task.plan_id,
        closed.task.code,
        "深化统计数据公开",
    )
    assert t.chapter == "一、政策公开"
    assert (t.status, t.due_date, t.overdue) == (ReportStatus.NOT_STARTED, DUE, True)
    assert t.workdays_overdue == 62  # 1 February → 28 April 2023, holidays excluded
    assert (t.lead_names, t.responsible_names, t.lead_section_ids) == (
        "综合股",
        "法规股",
        [sections["lead"].pk],
    )


def test_close_freezes_the_quarters_reports_with_evidence_references(closed, sections):
    (report,) = SnapshotReport.objects.filter(close=closed.close)
    assert (report.report_id_ref, report.task_id_ref, report.section_id) == (
        closed.report.pk,
        closed.task.pk,
        sections["lead"].pk,
    )
    assert (report.role, report.status, report.narrative) == ("lead", "in_progress", "按月发布统计数据")
    assert report.evidence == [
        {"id": closed.evidence.pk, "kind": "link", "name": "公开链接", "url": closed.evidence.url}
    ]


def test_file_evidence_is_referenced_by_its_download_address(db, plan, sections, office_user):
    task = make_task(plan, leads=[sections["lead"]])
    report = make_report(task, sections["lead"], quarter=1)
    evidence = make_evidence(report, kind=Evidence.Kind.FILE, original_name="发布截图.png")
    make_evidence(report, note="已撤回", removed_at=timezone.now())
    with at(CLOSE_DAY):
        close = quarter_close(year=2023, quarter=1, run=None, user=office_user)
    (snap,) = SnapshotReport.objects.filter(close=close)
    assert snap.evidence == [
        {
            "id": evidence.pk,
            "kind": "file",
            "name": "发布截图.png",
            "url": reverse("evidence_download", args=[evidence.pk]),
        }
    ]


def test_close_freezes_the_official_runs_scores_and_every_ledger_line(closed):
    run = closed.run
    frozen = {
        s.section_id: (s.total, s.adjusted_total, s.grade, s.rank, s.vetoed, s.indicator_scores)
        for s in SnapshotScore.objects.filter(close=closed.close)
    }
    live = {
        s.section_id: (s.total, s.total, s.grade, s.rank, s.vetoed, s.indicator_scores)
        for s in UnitScore.objects.filter(run=run)
    }
    assert frozen == live and len(frozen) == 4
    fields = ("section_id", "indicator_code", "rule_code", "period", "points", "reason", "facts", "position")
    assert list(
        SnapshotLedgerLine.objects.filter(close=closed.close)
        .order_by("section_id", "position")
        .values_list(*fields)
    ) == list(LedgerLine.objects.filter(run=run).order_by("section_id", "position").values_list(*fields))
    assert not SnapshotLedgerLine.objects.filter(close=closed.close, reverses__isnull=False).exists()
    assert closed.line.points == Decimal("-1.4")  # 2 points × the lead share 0.7


def test_close_without_a_run_freezes_tasks_and_reports_only(db, plan, sections, office_user):
    make_task(plan, leads=[sections["lead"]])
    with at(CLOSE_DAY):
        close = quarter_close(year=2023, quarter=1, run=None, user=office_user)
    assert close.run is None
    assert SnapshotTask.objects.filter(close=close).count() == 1
    assert not SnapshotScore.objects.filter(close=close).exists()


# ---- appeal deadline in working days -------------------------------------------------------------------


def test_appeal_deadline_counts_working_days_across_the_labour_day_holiday(closed):
    assert closed.close.status == QuarterCloseStatus.APPEAL
    assert closed.close.appeal_deadline == DEADLINE


def test_appeal_window_length_comes_from_the_office_settings(db, office_user):
    OfficeSettings.objects.update_or_create(pk=1, defaults={"appeal_window_workdays": 3})
    with at(CLOSE_DAY):
        close = quarter_close(year=2023, quarter=1, run=None, user=office_user)
    assert close.appeal_deadline == datetime.date(2023, 5, 6)  # Saturday 6 May 2023 is a working day


# ---- immutability and refusals -------------------------------------------------------------------------


def test_later_edits_to_tasks_reports_evidence_and_scores_do_not_change_the_snapshot(closed, sections):
    before = snapshot_state(closed.close)
    Task.objects.filter(pk=closed.task.pk).update(
        title="已改名", status=ReportStatus.DONE, due_date=datetime.date(2023, 12, 31)
    )
    TaskAssignment.objects.filter(task=closed.task, role=AssignmentRole.RESPONSIBLE).delete()
    ProgressReport.objects.filter(pk=closed.report.pk).update(status=ReportStatus.DONE, narrative="改过了")
    Evidence.objects.filter(pk=closed.evidence.pk).update(removed_at=timezone.now(), note="改过了")
    with at(datetime.date(2023, 5, 20)):
        compute(closed.ruleset)  # replaces the run's scores and lines
    assert UnitScore.objects.get(run=closed.run, section=sections["lead"]).total != (
        SnapshotScore.objects.get(close=closed.close, section=sections["lead"]).total
    )
    assert snapshot_state(closed.close) == before


def test_closing_the_same_quarter_twice_is_refused(closed, office_user):
    with at(datetime.date(2023, 5, 4)), pytest.raises(ValidationError, match="已关账，不能重复关账"):
        quarter_close(year=2023, quarter=1, run=closed.run, user=office_user)
    assert QuarterClose.objects.filter(year=2023, quarter=1).count() == 1


def test_a_quarter_cannot_be_closed_before_it_ends(db, office_user):
    with at(datetime.date(2023, 3, 31)), pytest.raises(ValidationError, match="尚未结束"):
        quarter_close(year=2023, quarter=1, run=None, user=office_user)
    assert not QuarterClose.objects.exists()


def test_a_what_if_run_or_another_periods_run_cannot_be_frozen(db, sections, office_user):
    ruleset = published_ruleset()
    with at(CLOSE_DAY):
        whatif = scores_compute(ruleset_record=ruleset, year=2023, period="Q1", what_if=True)
        other = compute(ruleset, "Q2")
        with pytest.raises(ValidationError, match="模拟计分不能用于关账"):
            quarter_close(year=2023, quarter=1, run=whatif, user=office_user)
        with pytest.raises(ValidationError, match="不符"):
            quarter_close(year=2023, quarter=1, run=other, user=office_user)
    assert not QuarterClose.objects.exists()


@pytest.mark.parametrize("persona", ["director", "lead_user", "readonly_user"])
def test_only_the_office_can_close_a_quarter(persona, request):
    user = request.getfixturevalue(persona)
    with at(CLOSE_DAY), pytest.raises(PermissionDenied):
        quarter_close(year=2023, quarter=1, run=None, user=user)


def test_close_is_audited_and_section_staff_are_told_the_deadline(lead_user, resp_user, closed, office_user):
    entry = AuditEntry.objects.get(action="quarter.close")
    assert entry.user == office_user
    assert entry.object_id == str(closed.close.pk)
    assert entry.new_value["tasks"] == 1
    assert entry.new_value["lines"] == LedgerLine.objects.filter(run=closed.run).count()
    assert entry.new_value["appeal_deadline"] == "2023-05-09"
    notes = Notification.objects.filter(kind="quarter_closed")
    assert {n.user_id for n in notes} == {lead_user.pk, resp_user.pk}
    assert all("2023-05-09" in n.message for n in notes)


# ---- query count ---------------------------------------------------------------------------------------


def _add_tasks(plan, sections, n: int, *, quarter: int) -> None:
    start = Task.objects.count()
    tasks = Task.objects.bulk_create(
        [
            Task(
                plan=plan,
                code=f"B{start + i:05d}",
                number_path=f"二/{i}",
                position=1000 + start + i,
                title=f"批量任务{i}",
                due_date=DUE if i % 2 else None,
            )
            for i in range(n)
        ]
    )
    TaskAssignment.objects.bulk_create(
        [TaskAssignment(task=t, section=sections["lead"], role=AssignmentRole.LEAD) for t in tasks]
        + [TaskAssignment(task=t, section=sections["resp"], role=AssignmentRole.RESPONSIBLE) for t in tasks]
    )
    reports = ProgressReport.objects.bulk_create(
        [
            ProgressReport(
                task=t,
                section=sections["lead"],
                role=AssignmentRole.LEAD,
                year=2023,
                quarter=quarter,
                status=ReportStatus.IN_PROGRESS,
                submitted_at=timezone.now(),
            )
            for t in tasks
        ]
    )
    Evidence.objects.bulk_create(
        [
            Evidence(report=r, kind=Evidence.Kind.LINK, url="https://www.example.gov.cn/a.html")
            for r in reports
        ]
    )


def _close_queries(office_user, ruleset, quarter: int, day: datetime.date) -> int:
    with at(day):
        run = compute(ruleset, f"Q{quarter}")
        with CaptureQueriesContext(connection) as ctx:
            quarter_close(year=2023, quarter=quarter, run=run, user=office_user)
    return len(ctx)


def test_closing_costs_the_same_number_of_queries_for_10_and_500_tasks(db, plan, sections, office_user):
    ruleset = published_ruleset()
    OfficeSettings.current()
    _add_tasks(plan, sections, 10, quarter=1)
    small = _close_queries(office_user, ruleset, 1, CLOSE_DAY)
    _add_tasks(plan, sections, 490, quarter=2)
    large = _close_queries(office_user, ruleset, 2, datetime.date(2023, 7, 20))
    assert SnapshotTask.objects.filter(close__quarter=2).count() == 500
    assert SnapshotReport.objects.filter(close__quarter=2).count() == 490
    assert small == large
    # 3 reads before, 8 reads and 4 executemany inserts inside, notifications, audit, savepoints
    assert large <= 22


# ---- quarter diff --------------------------------------------------------------------------------------


def _task(task_id: int, status: str = "in_progress", overdue: bool = False) -> TaskState:
    return TaskState(
        task_id, f"T{task_id}", str(task_id), f"任务{task_id}", status, overdue, 3 if overdue else 0, ""
    )


@pytest.mark.parametrize(
    ("before", "after", "done", "overdue"),
    [
        ([], [_task(1, "done")], [1], []),
        ([_task(1, "done")], [_task(1, "done")], [], []),
        ([_task(1)], [_task(1, "done"), _task(2, overdue=True)], [1], [2]),
        ([_task(2, overdue=True)], [_task(2, overdue=True)], [], []),
        ([_task(3)], [_task(3, overdue=True)], [], [3]),
    ],
)
def test_diff_lists_newly_done_and_newly_overdue_tasks(before, after, done, overdue):
    diff = diff_snapshots(tasks=after, previous_tasks=before, scores=[], previous_scores=[])
    assert [t.task_id for t in diff["newly_done"]] == done
    assert [t.task_id for t in diff["newly_overdue"]] == overdue


def test_diff_reports_score_movement_by_section_in_rank_order():
    before = [
        ScoreState(1, "综合股", Decimal("80"), "良好", 1),
        ScoreState(2, "法规股", Decimal("75"), "合格", 2),
    ]
    after = [
        ScoreState(1, "综合股", Decimal("78.5"), "合格", 2),
        ScoreState(2, "法规股", Decimal("90"), "优秀", 1),
        ScoreState(3, "农业股", Decimal("70"), "合格", 3),
    ]
    moves = diff_snapshots(tasks=[], previous_tasks=[], scores=after, previous_scores=before)[
        "score_movement"
    ]
    assert [(m.section, m.previous, m.current, m.delta, m.previous_rank, m.rank) for m in moves] == [
        ("法规股", Decimal("75"), Decimal("90"), Decimal("15"), 2, 1),
        ("综合股", Decimal("80"), Decimal("78.5"), Decimal("-1.5"), 1, 2),
        ("农业股", None, Decimal("70"), None, None, 3),
    ]


def test_quarter_diff_compares_two_closes_from_the_snapshot_rows(closed, plan, sections, office_user):
    late = make_task(plan, leads=[sections["resp"]], due_date=datetime.date(2023, 6, 1))
    Task.objects.filter(pk=closed.task.pk).update(status=ReportStatus.DONE)
    q2 = close_quarter(office_user, closed.ruleset, quarter=2, day=datetime.date(2023, 7, 20))
    assert previous_close_of(q2) == closed.close
    diff = quarter_diff(close=q2, previous_close=closed.close)
    assert [t.task_id for t in diff["newly_done"]] == [closed.task.pk]
    assert [t.task_id for t in diff["newly_overdue"]] == [late.pk]
    moves = {m.section: m for m in diff["score_movement"]}
    assert set(moves) == {"办公室", "综合股", "法规股", "农业股"}
    lead_q1 = SnapshotScore.objects.get(close=closed.close, section=sections["lead"]).adjusted_total
    assert moves["综合股"].previous == lead_q1
    first = quarter_diff(close=closed.close, previous_close=None)
    assert [t.task_id for t in first["newly_overdue"]] == [closed.task.pk]
    assert all(m.previous is None for m in first["score_movement"])


# ---- pages ---------------------------------------------------------------------------------------------


EXPECTED_LIST = {p: 200 for p in PERSONAS} | {"anonymous": 302}


@pytest.mark.parametrize("persona", PERSONAS)
def test_close_list_is_shown_to_signed_in_users_with_the_form_for_the_office_only(persona, clients, closed):
    response = clients[persona].get(reverse("close_list"))
    assert response.status_code == EXPECTED_LIST[persona]
    if response.status_code == 200:
        assert "2023年第1季度" in response.content.decode()
        assert (response.context["form"] is not None) == (persona == "office")


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("office", 302),
        ("director", 403),
        ("lead", 403),
        ("resp", 403),
        ("outsider", 403),
        ("readonly", 403),
        ("anonymous", 302),
    ],
)
def test_close_create_is_office_only(persona, status, clients, sections):
    with at(CLOSE_DAY):
        response = clients[persona].post(reverse("close_create"), {"year": 2023, "quarter": 1, "run": ""})
    assert response.status_code == status
    assert QuarterClose.objects.exists() == (persona == "office")
    if persona == "anonymous":
        assert reverse("login") in response["Location"]


def test_close_create_answers_get_with_405(clients):
    assert clients["office"].get(reverse("close_create")).status_code == 405


def test_close_create_shows_the_refusal_when_closing_twice(clients, closed):
    with at(datetime.date(2023, 5, 4)):
        response = clients["office"].post(reverse("close_create"), {"year": 2023, "quarter": 1, "run": ""})
    assert response.status_code == 400
    assert "已关账，不能重复关账" in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "sections_seen"),
    [
        ("office", {"办公室", "综合股", "法规股", "农业股"}),
        ("director", {"办公室", "综合股", "法规股", "农业股"}),
        ("lead", {"综合股"}),
        ("resp", {"法规股"}),
        ("outsider", {"农业股"}),
        ("readonly", {"综合股"}),
    ],
)
def test_close_detail_shows_each_section_only_its_own_scores_and_lines(
    persona, sections_seen, clients, closed
):
    with at(datetime.date(2023, 5, 4)):
        response = clients[persona].get(reverse("close_detail", args=[closed.close.pk]))
    assert response.status_code == 200
    assert {b["score"].section.name for b in response.context["sections"]} == sections_seen
    lines = [row["line"] for b in response.context["sections"] for row in b["lines"]]
    assert {line.section.name for line in lines} == sections_seen
    appealable = {
        row["line"].pk for b in response.context["sections"] for row in b["lines"] if row["can_appeal"]
    }
    assert (closed.line.pk in appealable) == (persona == "lead")


def test_close_detail_redirects_anonymous_users_and_404s_unknown_closes(clients, closed):
    assert clients["anonymous"].get(reverse("close_detail", args=[closed.close.pk])).status_code == 302
    assert clients["office"].get(reverse("close_detail", args=[closed.close.pk + 99])).status_code == 404


def test_close_detail_query_count_does_not_grow_with_lines(clients, closed, django_assert_max_num_queries):
    with at(datetime.date(2023, 5, 4)), django_assert_max_num_queries(30):
        clients["office"].get(reverse("close_detail", args=[closed.close.pk]))


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("office", 302),
        ("director", 403),
        ("lead", 403),
        ("resp", 403),
        ("outsider", 403),
        ("readonly", 403),
        ("anonymous", 302),
    ],
)
def test_finalize_page_action_is_office_only(persona, status, clients, closed):
    with at(datetime.date(2023, 5, 10)):
        response = clients[persona].post(reverse("close_finalize", args=[closed.close.pk]))
    assert response.status_code == status
    closed.close.refresh_from_db()
    assert (closed.close.status == QuarterCloseStatus.FINAL) == (persona == "office")


def test_finalize_answers_get_with_405(clients, closed):
    assert clients["office"].get(reverse("close_finalize", args=[closed.close.pk])).status_code == 405
