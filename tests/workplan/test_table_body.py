"""列表的快速表体（workplan.table_body）：与 django-tables2 逐格渲染的 HTML 相同（转义、空值、选项显示名、
链接、日期、行属性、按记录计算的单元格属性、分页、空表）；项目中的表格不用逐格编译模板的 TemplateColumn。"""

from __future__ import annotations

import datetime
import importlib
import inspect
import pkgutil
import re
from zoneinfo import ZoneInfo

import django_tables2 as tables
import pytest
from django.db.models import Count, Q
from django.template import Context, Template
from django.test import RequestFactory
from django_tables2 import RequestConfig

import scoring
import workplan
from scoring import views_dashboard
from tests.factories import make_evidence, make_report, make_task
from workplan.audit import audit_record
from workplan.models import AuditEntry, Evidence, ProgressReport, ReportStatus, ReviewState, Task, WorkPlan
from workplan.table_body import FastBodyTable
from workplan.tables import (
    AuditTable,
    DateColumn,
    EvidenceTable,
    LocalDateTimeColumn,
    PlanTable,
    ReportTable,
    TaskTable,
)
from workplan.views_lists import tasks_for_list
from workplan.workdays import WorkdayCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
EVIL = '<b>加粗</b> & "引号"'
LIBRARY_TEMPLATE = "django_tables2/bootstrap5.html"


def _html(
    table_class: type[tables.Table], data, *, template: str | None = None, query: str = "", **kw
) -> str:
    request = RequestFactory().get("/list/" + query)
    table = table_class(data, **kw) if template is None else table_class(data, template_name=template, **kw)
    RequestConfig(request, paginate={"per_page": 2}).configure(table)
    page = Template("{% load django_tables2 %}{% render_table t %}")
    html = page.render(Context({"t": table, "request": request}))
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", html)).strip()


def assert_same_as_django_tables2(table_class, data, **kw) -> str:
    """快速表体与 django-tables2 自带模板（逐格渲染）的 HTML 相同；返回 HTML。"""
    fast = _html(table_class, data, **kw)
    assert fast == _html(table_class, data, template=LIBRARY_TEMPLATE, **kw)
    assert "<tbody" in fast
    return fast


@pytest.fixture
def rows(plan, sections, lead_user, office_user):
    first = make_task(plan, title=EVIL, leads=[sections["lead"]], responsibles=[sections["resp"]])
    first.due_date, first.status = datetime.date(2023, 6, 9), ReportStatus.IN_PROGRESS
    first.save(update_fields=["due_date", "status"])
    second = make_task(plan, title="没有截止日期", leads=[sections["resp"], sections["lead"]])
    make_task(plan, title="第三项")
    report = make_report(
        first,
        sections["lead"],
        submitted_by=lead_user,
        review_state=ReviewState.RETURNED,
        reviewed_at=datetime.datetime(2023, 4, 2, 23, 30, tzinfo=SHANGHAI),
    )
    make_report(second, sections["resp"], quarter=2)
    make_evidence(report, url="javascript:alert(1)")
    make_evidence(report, url="https://www.example.gov.cn/?a=1&b=<2>")
    make_evidence(report, kind=Evidence.Kind.FILE, original_name=EVIL, uploaded_by=lead_user)
    audit_record(action="task.update", user=office_user, obj=first, old={"title": "旧"}, new={"title": EVIL})
    return {"first": first, "second": second}


@pytest.mark.parametrize("query", ["", "?page=2", "?sort=-due_date"])
def test_the_task_table_renders_as_django_tables2_does(rows, query):
    tasks = tasks_for_list(Task.objects.filter(is_heading=False)).order_by("position")
    calendar, today = WorkdayCalendar(), datetime.date(2023, 6, 1)
    html = assert_same_as_django_tables2(TaskTable, tasks, query=query, calendar=calendar, today=today)
    if not query:
        assert "&lt;b&gt;加粗&lt;/b&gt; &amp; &quot;引号&quot;" in html and EVIL not in html
        assert "2023-06-09" in html and "推进中" in html and "剩余6个工作日" in html


def test_the_report_table_renders_as_django_tables2_does(rows):
    reports = (
        ProgressReport.objects.select_related("task__plan", "section", "submitted_by", "reviewed_by")
        .annotate(evidence_count=Count("evidence", filter=Q(evidence__removed_at__isnull=True)))
        .order_by("pk")
    )
    html = assert_same_as_django_tables2(ReportTable, reports)
    assert "2023-04-02 23:30" in html  # local time
    assert "已退回" in html or ReviewState.RETURNED.label in html


def test_the_evidence_audit_and_plan_tables_render_as_django_tables2_does(rows):
    evidence = Evidence.objects.select_related("report__task", "report__section", "uploaded_by").order_by(
        "pk"
    )
    html = assert_same_as_django_tables2(EvidenceTable, evidence, query="?page=1")
    assert "javascript:alert(1)" in html and 'href="javascript' not in html
    assert_same_as_django_tables2(AuditTable, AuditEntry.objects.order_by("pk"))
    plans = WorkPlan.objects.annotate(task_count=Count("tasks"))
    assert_same_as_django_tables2(PlanTable, plans)


def test_an_empty_table_shows_its_empty_text(db):
    html = assert_same_as_django_tables2(ReportTable, ProgressReport.objects.none())
    assert "没有符合条件的报送" in html


def test_the_dashboard_tables_render_as_django_tables2_does():
    ranking = [
        {"name": EVIL, "url": "/tasks/?section=1", "total": 91.5, "grade": "优秀", "vetoed": True,
         "delta": None, "rank": 1, "rank_change": -2, "detail_url": "/scoring/scores/1/"},
    ]  # fmt: skip
    html = assert_same_as_django_tables2(views_dashboard.RankingTable, ranking)
    assert 'data-href="/tasks/?section=1"' in html
    overdue = [
        {"number_path": "一/（1）", "title": EVIL, "url": "/tasks/1/", "status_label": "未启动",
         "due_date": None, "leads": "", "responsibles": "法规股", "workdays_overdue": 3},
    ]  # fmt: skip
    html = assert_same_as_django_tables2(views_dashboard.OverdueTable, overdue)
    assert "—" in html


class _Odd(FastBodyTable):
    """django-tables2 的少见用法：按记录计算的单元格属性、本地化、linkify、列默认值、表格默认值。"""

    name = tables.Column(attrs={"td": {"data-name": lambda record: record["name"], "class": "n"}})
    amount = tables.Column(localize=True)
    plain = tables.Column(localize=False)
    missing = tables.Column(default="无")
    link = tables.Column(accessor="name", linkify=lambda record: f"/x/{record['id']}/")
    when = DateColumn(format="Y年n月j日")
    at = LocalDateTimeColumn()

    class Meta:
        default = "空"
        row_attrs = {"data-id": lambda record: record["id"]}


def test_uncommon_column_options_render_as_django_tables2_does(settings):
    data = [
        {"id": 1, "name": EVIL, "amount": 1234567.5, "plain": 1234567, "missing": None,
         "when": datetime.date(2023, 8, 15), "at": datetime.datetime(2023, 8, 15, 1, 2, tzinfo=datetime.UTC)},
        {"id": 2, "name": "乙", "amount": None, "plain": "", "missing": "有", "when": None, "at": None},
    ]  # fmt: skip
    html = assert_same_as_django_tables2(_Odd, data)
    assert 'data-name="&lt;b&gt;' in html and 'href="/x/1/"' in html and "2023年8月15日" in html
    assert "2023-08-15 09:02" in html  # UTC 01:02 is 09:02 in Shanghai


def test_date_columns_export_iso_dates_and_naive_local_times():
    assert DateColumn().value(value=datetime.date(2023, 8, 15)) == "2023-08-15"
    at = datetime.datetime(2023, 8, 15, 1, 2, 3, 400, tzinfo=datetime.UTC)
    local = LocalDateTimeColumn().value(value=at)
    assert local.tzinfo is None and local == datetime.datetime(2023, 8, 15, 9, 2, 3, tzinfo=SHANGHAI).replace(
        tzinfo=None
    )
    assert LocalDateTimeColumn().render(value=at) == "2023-08-15 09:02"


def _project_tables() -> list[type[tables.Table]]:
    found = []
    for package in (workplan, scoring):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" in info.name or ".management" in info.name:
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, tables.Table) and cls.__module__ == module.__name__:
                    found.append(cls)
    return found


def test_no_project_table_compiles_a_template_per_cell():
    found = _project_tables()
    assert TaskTable in found
    per_cell = [
        f"{cls.__module__}.{cls.__name__}.{name}"
        for cls in found
        for name, column in cls.base_columns.items()
        if isinstance(column, tables.TemplateColumn)
    ]
    assert per_cell == [], "请用 workplan.tables.DateColumn / LocalDateTimeColumn 或 render_* 方法"


def test_the_lists_in_the_load_test_use_the_fast_body():
    assert issubclass(TaskTable, FastBodyTable) and issubclass(ReportTable, FastBodyTable)
