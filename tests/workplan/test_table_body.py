"""列表的快速表体（workplan.table_body）：与 django-tables2 逐格渲染的 HTML 相同（转义、空值、选项显示名、
链接、日期、行属性、按记录计算的单元格属性、分页、空表）；项目中的表格都用快速表体，且不用逐格编译模板的
TemplateColumn。"""

from __future__ import annotations

import datetime
import importlib
import inspect
import pkgutil
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import django_tables2 as tables
import pytest
from django.db.models import Count, Q
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django_tables2 import RequestConfig

import scoring
import workplan
from scoring import views_dashboard
from scoring.models import LedgerLine, ManualFact, RuleSet, ScoreRun, UnitScore
from scoring.tables import LedgerTable, ManualFactTable, RunTable, ScoreTable
from tests.factories import make_evidence, make_report, make_task
from workplan import publication
from workplan.audit import audit_record
from workplan.models import (
    AuditEntry,
    Evidence,
    PlanImport,
    ProgressReport,
    PublicationColumn,
    PublicationItem,
    PublicationState,
    ReportStatus,
    ReviewState,
    Task,
    WorkPlan,
)
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
from workplan.views_import import PlanImportTable
from workplan.views_lists import tasks_for_list
from workplan.views_publication import PublicationTable
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


def test_the_score_tables_render_as_django_tables2_does(sections, office_user):
    ruleset = RuleSet.objects.create(code="GZ", version=1, name=EVIL, year=2023)
    run = ScoreRun.objects.create(
        ruleset=ruleset, year=2023, period="Q3", computed_by=office_user, inputs_digest="ab" * 32
    )
    ScoreRun.objects.create(ruleset=ruleset, year=2023, period="年终", is_what_if=True)
    points = {"base_score": Decimal("90.0000"), "bonus": Decimal("2.5000"), "penalty": Decimal("-1.2500")}
    UnitScore.objects.create(
        run=run, section=sections["lead"], total=Decimal("91.25"), grade="优秀", rank=1, **points
    )
    UnitScore.objects.create(
        run=run, section=sections["resp"], total=Decimal(0), grade="不合格", rank=2, vetoed=True, **points
    )
    for position, (indicator, rule, facts) in enumerate(
        [("A1", "R1", {"refs": ["t1"]}), ("", "", {}), ("A2", "R9", {"ref": "t2"}), ("A1", "R2", [])]
    ):
        LedgerLine.objects.create(
            run=run,
            section=sections["lead"],
            indicator_code=indicator,
            rule_code=rule,
            period="Q3",
            points=Decimal("-0.5000") if position else Decimal(10),
            reason=EVIL,
            facts=facts,
            ruleset_label="GZ v1",
            position=position,
        )
    for fact, value, evidence in [
        ("filed", True, f"scoring/evidence/2023/{EVIL}.pdf"),
        ("leak", False, ""),
        ("awards", [{"reason": EVIL}, "二"], ""),
        ("quality", {"points": "8", "reason": EVIL}, "scoring/evidence/2023/b.pdf"),
        ("count", 3, ""),
    ]:
        ManualFact.objects.create(
            section=sections["lead"],
            year=2023,
            period="Q3",
            fact=fact,
            value=value,
            reason=EVIL,
            evidence=evidence,
            evidence_note=EVIL if fact != "count" else "",
            entered_by=office_user,
        )

    scores = UnitScore.objects.select_related("section").order_by("rank")
    html = assert_same_as_django_tables2(ScoreTable, scores)
    assert "不合格（否决）" in html and ">2.5<" in html and ">90<" in html
    lines = LedgerLine.objects.order_by("position")
    names, labels = {"A1": EVIL}, {"R1": "逾期"}
    for query in ("", "?page=2"):
        html = assert_same_as_django_tables2(
            LedgerTable, lines, query=query, indicator_names=names, rule_labels=labels
        )
    assert "任务与材料" in html and "—" in html
    facts = ManualFact.objects.select_related("section", "entered_by").order_by("fact")
    for query in ("", "?page=2", "?page=3"):
        assert_same_as_django_tables2(ManualFactTable, facts, query=query)
    html = assert_same_as_django_tables2(RunTable, ScoreRun.objects.select_related("ruleset", "computed_by"))
    assert "正式" in html and "模拟" in html and "abababababab<" in html


def test_the_publication_and_import_tables_render_as_django_tables2_does(
    plan, sections, lead_user, office_user
):
    def draft(title: str, formed_on: datetime.date) -> PublicationItem:
        return publication.publication_create(
            section=sections["lead"],
            title=title,
            column=PublicationColumn.STATISTICS,
            formed_on=formed_on,
            body="正文",
            user=lead_user,
        )

    draft(EVIL, datetime.date(2023, 9, 25))  # due 27 October
    late = draft("逾期未发布", datetime.date(2023, 3, 1))
    published = draft("已发布", datetime.date(2023, 3, 1))
    PublicationItem.objects.filter(pk=published.pk).update(
        state=PublicationState.PUBLISHED,
        published_on=datetime.date(2023, 4, 10),
        publish_url="https://www.example.gov.cn/?a=1&b=<2>",
    )
    items = PublicationItem.objects.select_related("section").order_by("-formed_on", "-pk")
    calendar, today = WorkdayCalendar(), datetime.date(2023, 10, 20)
    for query in ("", "?page=2", "?sort=deadline"):
        html = assert_same_as_django_tables2(
            PublicationTable, items, query=query, calendar=calendar, today=today
        )
    assert late.title in html and "tag err" in html and "逾期发布" in html
    assert "&amp;b=&lt;2&gt;" in html

    PlanImport.objects.create(
        source_file="imports/2023/01/a.docx", source_name=EVIL, year=2023, created_by=office_user, plan=plan
    )
    PlanImport.objects.create(source_file="imports/2023/01/b.docx", source_name="没有计划.docx")
    imports = PlanImport.objects.select_related("created_by", "plan").order_by("-created_at")
    html = assert_same_as_django_tables2(PlanImportTable, imports)
    assert f'href="{reverse("plan_detail", args=[plan.pk])}"' in html and "&lt;b&gt;加粗" in html


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


def test_every_project_table_uses_the_fast_body():
    slow = [
        f"{cls.__module__}.{cls.__name__}" for cls in _project_tables() if not issubclass(cls, FastBodyTable)
    ]
    assert slow == [], "请继承 workplan.table_body.FastBodyTable"
