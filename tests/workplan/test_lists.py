"""列表页面：任务清单（状态、剩余工作日、最近报送、筛选、导出）、我的任务、进展报送、佐证材料，以及查询数。"""

from __future__ import annotations

import datetime
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_evidence, make_plan, make_report, make_task
from workplan.models import (
    AssignmentRole,
    Evidence,
    HolidayOverride,
    ProgressReport,
    ReportStatus,
    ReviewState,
    Task,
    TaskAssignment,
)
from workplan.tables import WorkdayCounter
from workplan.workdays import WorkdayCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _freeze(time_machine, day: datetime.date) -> None:
    time_machine.move_to(datetime.datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI), tick=False)


def _rows(response, fmt: str) -> list[list[object]]:
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        return [[c.value for c in r] for r in sheet.iter_rows()]
    import csv

    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _column(rows: list[list[object]], header: str) -> list[object]:
    i = rows[0].index(header)
    return [r[i] for r in rows[1:]]


def _page(client, name: str, params: dict | None = None) -> str:
    response = client.get(reverse(name), params or {})
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    "today", [datetime.date(2023, 6, 20), datetime.date(2023, 10, 1), datetime.date(2023, 12, 30)]
)
def test_workday_counter_matches_the_calendar(today):
    """表格按天累加的工作日数与 WorkdayCalendar.workdays_left 逐日计算的结果一致（含节假日、调休、跨年）。"""
    cal = WorkdayCalendar(overrides={datetime.date(2023, 11, 3): False})
    counter = WorkdayCounter(cal, today)
    for offset in range(-70, 70, 3):
        due = today + datetime.timedelta(days=offset)
        assert counter.left(due) == cal.workdays_left(today, due), due


class TestTaskListColumns:
    def test_it_shows_status_due_date_and_working_days_left(self, as_office, plan, sections, time_machine):
        _freeze(time_machine, datetime.date(2023, 6, 1))
        make_task(plan, title="六月任务", due_date=datetime.date(2023, 6, 9), status=ReportStatus.IN_PROGRESS)
        page = _page(as_office, "task_list")
        assert "推进中" in page
        assert "2023-06-09" in page
        # (6/1, 6/9]: 6/2, 6/5–6/9 are working days.
        assert "剩余6个工作日" in page

    def test_overdue_tasks_show_working_days_overdue(self, as_office, plan, time_machine):
        _freeze(time_machine, datetime.date(2023, 6, 1))
        make_task(plan, title="逾期任务", due_date=datetime.date(2023, 5, 29))
        assert "逾期3个工作日" in _page(as_office, "task_list")

    def test_finished_tasks_show_no_working_days(self, as_office, plan, time_machine):
        _freeze(time_machine, datetime.date(2023, 6, 1))
        make_task(plan, title="已办结", due_date=datetime.date(2023, 5, 29), status=ReportStatus.DONE)
        page = _page(as_office, "task_list")
        assert "已完成" in page
        assert "逾期" not in page.split("<tbody")[1]

    def test_working_days_follow_holidays_and_office_overrides(self, as_office, plan, time_machine):
        # 2023 端午：6/22–6/24 放假，6/25（周日）调休上班。(6/20, 6/26] → 6/21、6/25、6/26。
        _freeze(time_machine, datetime.date(2023, 6, 20))
        make_task(plan, title="端午前后", due_date=datetime.date(2023, 6, 26))
        assert "剩余3个工作日" in _page(as_office, "task_list")
        HolidayOverride.objects.create(date=datetime.date(2023, 6, 21), is_workday=False, note="地方调整")
        assert "剩余2个工作日" in _page(as_office, "task_list")

    def test_years_without_holiday_data_are_flagged(self, as_office, office_user, plan, time_machine):
        _freeze(time_machine, datetime.date(2026, 12, 1))
        as_office.force_login(office_user)  # the clock jumped past the 15-minute idle limit of the first login
        make_task(plan, title="跨年任务", due_date=datetime.date(2027, 1, 15))
        assert "2027年节假日尚未录入，暂按周末计算" in _page(as_office, "task_list")

    def test_latest_report_is_shown_with_quarter_and_review_state(self, as_office, task, sections):
        make_report(task, sections["lead"], year=2023, quarter=1, status=ReportStatus.IN_PROGRESS,
                    review_state=ReviewState.ACCEPTED)
        make_report(task, sections["resp"], year=2023, quarter=2, status=ReportStatus.DONE)
        page = _page(as_office, "task_list")
        assert "2023年第2季度 · 已完成（待审核）" in page

    def test_tasks_without_reports_say_so(self, as_office, task):
        assert "未报送" in _page(as_office, "task_list")

    def test_user_text_is_escaped(self, as_office, plan):
        make_task(plan, title="<script>alert(1)</script>")
        page = _page(as_office, "task_list")
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page

    def test_headings_are_not_listed(self, as_office, plan):
        make_task(plan, title="一、总体要求", is_heading=True)
        assert "一、总体要求" not in _page(as_office, "task_list")


class TestTaskListFilters:
    @pytest.fixture
    def tasks(self, plan, sections, time_machine):
        _freeze(time_machine, datetime.date(2023, 6, 1))
        overdue = make_task(plan, title="已逾期任务", leads=[sections["lead"]], due_date=datetime.date(2023, 5, 1))
        upcoming = make_task(
            plan, title="未到期任务", leads=[sections["resp"]], responsibles=[sections["lead"]],
            due_date=datetime.date(2023, 12, 31), status=ReportStatus.IN_PROGRESS,
        )
        done = make_task(
            plan, title="已完成任务", leads=[sections["lead"]], due_date=datetime.date(2023, 3, 1),
            status=ReportStatus.DONE,
        )
        make_report(upcoming, sections["resp"], year=2023, quarter=1)
        make_report(upcoming, sections["lead"], year=2023, quarter=2, role=AssignmentRole.RESPONSIBLE)
        return {"overdue": overdue, "upcoming": upcoming, "done": done}

    @staticmethod
    def _titles(client, params, name="task_list"):
        page = _page(client, name, params)
        return {t for t in ("已逾期任务", "未到期任务", "已完成任务") if t in page}

    def test_it_filters_by_status(self, as_office, tasks):
        assert self._titles(as_office, {"status": "in_progress"}) == {"未到期任务"}
        assert self._titles(as_office, {"status": "done"}) == {"已完成任务"}

    def test_it_filters_overdue_tasks(self, as_office, tasks):
        assert self._titles(as_office, {"overdue": "yes"}) == {"已逾期任务"}
        assert self._titles(as_office, {"overdue": "no"}) == {"未到期任务", "已完成任务"}

    def test_it_filters_by_report_in_a_quarter(self, as_office, tasks):
        assert self._titles(as_office, {"reported": "yes", "year": 2023, "quarter": 1}) == {"未到期任务"}
        assert self._titles(as_office, {"reported": "no", "year": 2023, "quarter": 1}) == {"已逾期任务", "已完成任务"}
        assert self._titles(as_office, {"reported": "yes", "year": 2023, "quarter": 3}) == set()

    def test_reported_defaults_to_the_current_quarter(self, as_office, tasks):
        assert self._titles(as_office, {"reported": "yes"}) == {"未到期任务"}

    def test_reported_with_a_section_only_counts_that_sections_reports(self, as_office, tasks, sections):
        params = {"reported": "yes", "year": 2023, "quarter": 1, "section": sections["lead"].pk}
        assert self._titles(as_office, params) == set()
        params["section"] = sections["resp"].pk
        assert self._titles(as_office, params) == {"未到期任务"}

    def test_it_filters_by_section_role_plan_and_keyword(self, as_office, tasks, sections, plan):
        lead = sections["lead"].pk
        assert self._titles(as_office, {"section": lead, "role": "lead"}) == {"已逾期任务", "已完成任务"}
        assert self._titles(as_office, {"section": lead, "role": "responsible"}) == {"未到期任务"}
        assert self._titles(as_office, {"q": "逾期"}) == {"已逾期任务"}
        other = make_plan(year=2024, title="另一计划")
        assert self._titles(as_office, {"plan": other.pk}) == set()
        assert len(self._titles(as_office, {"plan": plan.pk})) == 3

    def test_section_staff_only_see_their_plans_in_the_plan_filter(self, as_lead, tasks):
        make_plan(year=2024, title="无关计划")
        page = _page(as_lead, "task_list")
        assert "无关计划" not in page

    @pytest.mark.parametrize("fmt", ["xlsx", "csv"])
    def test_export_contains_exactly_the_filtered_rows_and_new_columns(self, as_office, tasks, fmt):
        response = as_office.get(reverse("task_list"), {"overdue": "yes", "_export": fmt})
        assert response.status_code == 200
        rows = _rows(response, fmt)
        assert rows[0][1] == "任务"
        for header in ("状态", "截止日期", "剩余/逾期工作日", "最近报送"):
            assert header in rows[0]
        assert _column(rows, "任务") == ["已逾期任务"]
        assert _column(rows, "剩余/逾期工作日") == ["逾期22个工作日"]
        assert _column(rows, "状态") == ["未启动"]

    def test_export_links_keep_the_filter(self, as_office, tasks):
        page = _page(as_office, "task_list", {"overdue": "yes", "page": 1})
        assert "?overdue=yes&amp;_export=xlsx" in page


class TestMyTasks:
    def test_it_shows_only_the_users_section_tasks(self, as_lead, plan, sections):
        make_task(plan, title="本股室牵头", leads=[sections["lead"]])
        make_task(plan, title="本股室配合", leads=[sections["resp"]], responsibles=[sections["lead"]])
        make_task(plan, title="别的股室", leads=[sections["other"]])
        page = _page(as_lead, "my_tasks")
        assert "本股室牵头" in page and "本股室配合" in page
        assert "别的股室" not in page
        assert "我的任务（综合股）" in page

    def test_office_users_see_their_own_sections_tasks_too(self, as_office, plan, sections):
        make_task(plan, title="办公室牵头", leads=[sections["office"]])
        make_task(plan, title="综合股牵头", leads=[sections["lead"]])
        page = _page(as_office, "my_tasks")
        assert "办公室牵头" in page and "综合股牵头" not in page

    def test_role_filter_applies_to_the_users_section(self, as_lead, plan, sections):
        make_task(plan, title="本股室牵头", leads=[sections["lead"]], responsibles=[sections["resp"]])
        make_task(plan, title="本股室配合", leads=[sections["resp"]], responsibles=[sections["lead"]])
        page = _page(as_lead, "my_tasks", {"role": "responsible"})
        assert "本股室配合" in page and "本股室牵头" not in page

    def test_latest_report_is_the_users_own(self, as_resp, task, sections):
        make_report(task, sections["resp"], year=2023, quarter=1, role=AssignmentRole.RESPONSIBLE)
        make_report(task, sections["lead"], year=2023, quarter=2, status=ReportStatus.DONE)
        page = _page(as_resp, "my_tasks")
        assert "2023年第1季度 · 推进中（待审核）" in page
        assert "2023年第2季度" not in page

    def test_there_is_no_section_filter(self, as_lead, task):
        assert 'name="section"' not in _page(as_lead, "my_tasks")

    def test_users_without_a_section_get_an_empty_list(self, as_director, task):
        page = _page(as_director, "my_tasks")
        assert "您尚未归属任何股室" in page
        assert task.title not in page

    def test_export_uses_the_same_columns(self, as_lead, task):
        response = as_lead.get(reverse("my_tasks"), {"_export": "csv"})
        rows = _rows(response, "csv")
        assert "最近报送" in rows[0]
        assert _column(rows, "任务") == [task.title]


class TestNavigation:
    def test_section_staff_see_my_tasks_reports_and_evidence_but_not_audit(self, as_lead, sections):
        page = _page(as_lead, "home")
        for label in ("我的任务", "进展报送", "佐证材料"):
            assert label in page
        assert "审计日志" not in page

    def test_only_the_audit_administrator_sees_the_audit_log(self, as_office, as_auditor):
        page = _page(as_office, "home")
        assert "审计日志" not in page and "进展报送" in page
        assert "审计日志" in _page(as_auditor, "home")


@pytest.fixture
def reports(task, plan, sections):
    """综合股（牵头）与法规股（责任）各报送两个季度；另一任务由农业股报送。"""
    other_task = make_task(plan, title="农业统计公开", leads=[sections["other"]])
    return {
        "lead_q1": make_report(task, sections["lead"], year=2023, quarter=1, review_state=ReviewState.ACCEPTED),
        "lead_q2": make_report(task, sections["lead"], year=2023, quarter=2, status=ReportStatus.DONE),
        "resp_q1": make_report(task, sections["resp"], year=2023, quarter=1, role=AssignmentRole.RESPONSIBLE,
                               review_state=ReviewState.RETURNED),
        "other_q1": make_report(other_task, sections["other"], year=2023, quarter=1, narrative="<b>加粗</b>"),
    }


class TestReportList:
    def test_office_and_director_see_every_report(self, as_office, as_director, reports):
        for client in (as_office, as_director):
            page = _page(client, "report_list")
            assert page.count("深化统计数据公开") == 3
            assert "农业统计公开" in page

    def test_section_staff_see_their_reports_and_those_on_tasks_they_lead(
        self, as_resp, as_outsider, as_readonly, reports
    ):
        rows = _rows(as_resp.get(reverse("report_list"), {"_export": "csv"}), "csv")
        assert _column(rows, "股室") == ["法规股"]
        rows = _rows(as_outsider.get(reverse("report_list"), {"_export": "csv"}), "csv")
        assert _column(rows, "任务") == ["农业统计公开"]
        # readonly belongs to 综合股, which leads the task 法规股 is responsible for
        rows = _rows(as_readonly.get(reverse("report_list"), {"_export": "csv"}), "csv")
        assert sorted(_column(rows, "股室")) == ["法规股", "综合股", "综合股"]

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"section": "lead"}, {"lead_q1", "lead_q2"}),
            ({"quarter": 2}, {"lead_q2"}),
            ({"year": 2024}, set()),
            ({"status": "done"}, {"lead_q2"}),
            ({"review_state": "returned"}, {"resp_q1"}),
            ({"review_state": "submitted", "quarter": 1}, {"other_q1"}),
            ({"q": "农业"}, {"other_q1"}),
        ],
    )
    def test_it_filters(self, as_office, reports, sections, params, expected):
        if "section" in params:
            params = {**params, "section": sections[params["section"]].pk}
        rows = _rows(as_office.get(reverse("report_list"), {**params, "_export": "csv"}), "csv")
        shown = {(r[_col(rows, "股室")], r[_col(rows, "季度")]) for r in rows[1:]}
        wanted = {(reports[k].section.name, f"{reports[k].year}年第{reports[k].quarter}季度") for k in expected}
        assert shown == wanted

    def test_it_links_to_the_task_and_counts_live_evidence(self, as_office, reports, task):
        make_evidence(reports["lead_q1"])
        make_evidence(reports["lead_q1"], removed_at=timezone.now())
        page = _page(as_office, "report_list", {"quarter": 1, "section": reports["lead_q1"].section_id})
        assert reverse("task_detail", args=[task.pk]) in page
        params = {"quarter": 1, "section": reports["lead_q1"].section_id, "_export": "xlsx"}
        rows = _rows(as_office.get(reverse("report_list"), params), "xlsx")
        assert _column(rows, "佐证") == [1]
        assert _column(rows, "进展状态") == ["推进中"]
        assert _column(rows, "审核状态") == ["已通过"]

    def test_user_text_is_escaped(self, as_office, plan, sections):
        evil = make_task(plan, title="<img src=x onerror=alert(1)>", leads=[sections["lead"]])
        make_report(evil, sections["lead"])
        page = _page(as_office, "report_list")
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page


def _col(rows: list[list[object]], header: str) -> int:
    return rows[0].index(header)


class TestEvidenceList:
    @pytest.fixture
    def evidence(self, reports):
        return {
            "link": make_evidence(reports["lead_q1"], url="https://www.example.gov.cn/a.html",
                                  published_on=datetime.date(2023, 3, 15)),
            "file": make_evidence(reports["resp_q1"], kind=Evidence.Kind.FILE, original_name="公开目录.xlsx"),
            "removed": make_evidence(reports["lead_q2"], kind=Evidence.Kind.FILE, original_name="撤回的.pdf",
                                     removed_at=timezone.now()),
            "other": make_evidence(reports["other_q1"], url="https://www.example.gov.cn/nongye.html"),
        }

    def _names(self, client, params=None) -> list[object]:
        response = client.get(reverse("evidence_list"), {**(params or {}), "_export": "csv"})
        assert response.status_code == 200
        return sorted(_column(_rows(response, "csv"), "文件名/链接"))

    def test_office_sees_all_live_evidence(self, as_office, evidence):
        assert self._names(as_office) == sorted(
            ["https://www.example.gov.cn/a.html", "公开目录.xlsx", "https://www.example.gov.cn/nongye.html"]
        )

    def test_removed_evidence_is_shown_only_on_request(self, as_office, evidence):
        assert "撤回的.pdf" not in self._names(as_office)
        assert "撤回的.pdf" in self._names(as_office, {"removed": "1"})
        assert "撤回的.pdf" in _page(as_office, "evidence_list", {"removed": "1"})

    def test_section_staff_see_their_evidence_and_that_on_tasks_they_lead(
        self, as_resp, as_lead, as_outsider, evidence
    ):
        assert self._names(as_resp) == ["公开目录.xlsx"]
        assert sorted(self._names(as_lead)) == ["https://www.example.gov.cn/a.html", "公开目录.xlsx"]
        assert self._names(as_outsider) == ["https://www.example.gov.cn/nongye.html"]

    def test_it_filters_by_section_kind_and_quarter(self, as_office, evidence, sections):
        assert self._names(as_office, {"kind": "file"}) == ["公开目录.xlsx"]
        assert self._names(as_office, {"section": sections["resp"].pk}) == ["公开目录.xlsx"]
        assert self._names(as_office, {"year": 2023, "quarter": 2}) == []
        assert self._names(as_office, {"year": 2023, "quarter": 2, "removed": "1"}) == ["撤回的.pdf"]

    def test_it_shows_task_section_published_on_and_uploader(self, as_office, evidence, office_user, task):
        Evidence.objects.filter(pk=evidence["link"].pk).update(uploaded_by=office_user)
        page = _page(as_office, "evidence_list", {"section": evidence["link"].report.section_id})
        assert "2023-03-15" in page
        assert "综合股" in page
        assert str(office_user) in page
        assert reverse("task_detail", args=[task.pk]) in page
        assert 'href="https://www.example.gov.cn/a.html"' in page

    def test_files_link_to_the_checked_download_not_to_media(self, as_office, reports):
        from django.core.files.base import ContentFile

        live = make_evidence(reports["lead_q1"], kind=Evidence.Kind.FILE, original_name="目录.pdf")
        live.file.save("list.pdf", ContentFile(b"%PDF"), save=True)
        page = _page(as_office, "evidence_list")
        assert f'href="{reverse("evidence_download", args=[live.pk])}"' in page
        assert "/media/" not in page

    def test_links_that_are_not_web_addresses_are_not_clickable(self, as_office, reports):
        make_evidence(reports["lead_q1"], url="javascript:alert(1)")
        make_evidence(reports["lead_q1"], kind=Evidence.Kind.FILE, original_name="<script>x</script>.pdf")
        page = _page(as_office, "evidence_list")
        assert 'href="javascript:' not in page
        assert "<script>x</script>" not in page
        assert "&lt;script&gt;x&lt;/script&gt;.pdf" in page

    def test_export_neutralises_formulae(self, as_office, reports):
        make_evidence(reports["lead_q1"], kind=Evidence.Kind.FILE, original_name="=cmd|' /C calc'!A0")
        response = as_office.get(reverse("evidence_list"), {"_export": "csv"})
        assert "'=cmd" in response.content.decode("utf-8-sig")


def _bulk_tasks(plan, n: int, lead, resp) -> list[Task]:
    base = datetime.date(2023, 1, 1)
    tasks = Task.objects.bulk_create(
        [
            Task(
                plan=plan, code=f"B{i:05d}", number_path=f"一/{i}", title=f"批量任务{i}", position=i,
                due_date=base + datetime.timedelta(days=i % 365), status=ReportStatus.IN_PROGRESS,
            )
            for i in range(n)
        ]
    )
    TaskAssignment.objects.bulk_create(
        [TaskAssignment(task=t, section=lead, role=AssignmentRole.LEAD) for t in tasks]
        + [TaskAssignment(task=t, section=resp, role=AssignmentRole.RESPONSIBLE) for t in tasks]
    )
    now = timezone.now()
    ProgressReport.objects.bulk_create(
        [
            ProgressReport(task=t, section=lead, role=AssignmentRole.LEAD, year=2023, quarter=q,
                           status=ReportStatus.IN_PROGRESS, submitted_at=now, submitted_by=None)
            for t in tasks
            for q in (1, 2)
        ]
    )
    return tasks


def _bulk_reports(plan, n: int, sections, uploader) -> None:
    tasks = Task.objects.bulk_create(
        [Task(plan=plan, code=f"R{i:05d}", title=f"报送任务{i}", position=i) for i in range(n)]
    )
    now = timezone.now()
    reports = ProgressReport.objects.bulk_create(
        [
            ProgressReport(task=t, section=sections["lead"], role=AssignmentRole.LEAD, year=2023, quarter=1,
                           status=ReportStatus.IN_PROGRESS, submitted_at=now, submitted_by=uploader,
                           reviewed_by=uploader)
            for t in tasks
        ]
    )
    Evidence.objects.bulk_create(
        [
            Evidence(report=r, kind=Evidence.Kind.LINK, url=f"https://example.gov.cn/{r.pk}.html", uploaded_by=uploader)
            for r in reports
        ]
    )


# One bound per page, the same at both sizes: the count must not grow with the rows.
# Pages use LazyPaginator (no COUNT). The header costs user.section and the unread-notification count.
TASK_PAGE_QUERIES = 9  # session, user, header ×2, plans, sections, tasks, assignments, calendar
TASK_EXPORT_QUERIES = 5  # session, user, tasks, assignments, calendar
MY_TASKS_QUERIES = 8  # as the task list, without the section choices
LIST_PAGE_QUERIES = 6  # session, user, header ×2, sections, rows
LIST_EXPORT_QUERIES = 3  # session, user, rows


class TestQueryCounts:
    @pytest.mark.parametrize("n", [10, 1000])
    def test_task_list_and_my_tasks_do_not_grow_with_tasks(
        self, as_office, as_lead, plan, sections, n, time_machine, django_assert_max_num_queries
    ):
        _freeze(time_machine, datetime.date(2023, 6, 1))
        _bulk_tasks(plan, n, sections["lead"], sections["resp"])
        with django_assert_max_num_queries(TASK_PAGE_QUERIES):
            page = _page(as_office, "task_list")
        assert "个工作日" in page and "2023年第2季度" in page
        with django_assert_max_num_queries(TASK_PAGE_QUERIES):
            _page(as_lead, "task_list", {"overdue": "yes", "reported": "no", "section": sections["lead"].pk})
        with django_assert_max_num_queries(TASK_EXPORT_QUERIES):
            response = as_office.get(reverse("task_list"), {"_export": "xlsx"})
        assert len(_rows(response, "xlsx")) == n + 1
        with django_assert_max_num_queries(TASK_EXPORT_QUERIES):
            response = as_lead.get(reverse("task_list"), {"_export": "csv"})
        assert len(_rows(response, "csv")) == n + 1
        with django_assert_max_num_queries(MY_TASKS_QUERIES):
            _page(as_lead, "my_tasks")
        with django_assert_max_num_queries(TASK_EXPORT_QUERIES + 1):  # + user.section in the view
            response = as_lead.get(reverse("my_tasks"), {"_export": "csv"})
        assert len(_rows(response, "csv")) == n + 1

    @pytest.mark.parametrize("n", [10, 500])
    def test_report_and_evidence_lists_do_not_grow_with_reports(
        self, as_office, as_lead, office_user, plan, sections, n, django_assert_max_num_queries
    ):
        _bulk_reports(plan, n, sections, office_user)
        for client in (as_office, as_lead):
            for name in ("report_list", "evidence_list"):
                with django_assert_max_num_queries(LIST_PAGE_QUERIES):
                    _page(client, name)
                with django_assert_max_num_queries(LIST_EXPORT_QUERIES):
                    response = client.get(reverse(name), {"_export": "csv"})
                assert len(_rows(response, "csv")) == n + 1



def test_task_list_filters_by_chapter(as_office, plan, sections):
    from tests.factories import make_task

    chapter_one = make_task(plan, title="第一章", is_heading=True)
    chapter_two = make_task(plan, title="第二章", is_heading=True)
    make_task(plan, title="第一章的任务", parent=chapter_one, leads=[sections["lead"]])
    make_task(plan, title="第二章的任务", parent=chapter_two, leads=[sections["lead"]])
    page = as_office.get(reverse("task_list"), {"chapter": chapter_one.pk}).content.decode()
    assert "第一章的任务" in page
    assert "第二章的任务" not in page
