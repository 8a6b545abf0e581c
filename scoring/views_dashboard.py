"""季度看板页面（局长、办公室）：选择计划、年度、季度，查看完成情况、逾期、缺报与退回、得分与排名、
股室 × 章节完成率、与上季度对比。图表与表格中的柱、格、行都可点击，跳到背后的任务清单。

数据来自 scoring.dashboard（普通 dict / list），图表来自 scoring.charts；本模块只做衔接与表格。
"""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET

from scoring import access, charts
from scoring.dashboard import dashboard_data, resolve_selection
from scoring.dashboard_common import QUARTER_LABELS
from workplan.models import User, WorkPlan
from workplan.table_body import FastBodyTable
from workplan.tables import DateColumn

DASH = "—"
TABLE_ATTRS = {"class": "table table-sm table-striped"}


class DashboardForm(forms.Form):
    plan = forms.ModelChoiceField(
        label="工作计划",
        queryset=WorkPlan.objects.order_by("-year", "-created_at", "-pk"),
        required=False,
        empty_label="（所选年度最新的计划）",
    )
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100, required=False)
    quarter = forms.TypedChoiceField(
        label="季度",
        choices=[("", "（本季度）"), *QUARTER_LABELS.items()],
        coerce=int,
        required=False,
        empty_value=None,
    )


# ---- tables (plain dict rows; every user text goes through format_html) --------------------------------


def _link(url: str, text: object) -> str:
    return format_html('<a href="{}">{}</a>', url, text) if url else str(text)


def _signed(value: float | int | None) -> str:
    if value is None:
        return DASH
    return f"{value:+g}" if value else "0"


class SectionCompletionTable(FastBodyTable):
    name = tables.Column(verbose_name="股室")
    total = tables.Column(verbose_name="任务数")
    done = tables.Column(verbose_name="已完成", accessor="counts__done")
    in_progress = tables.Column(verbose_name="推进中", accessor="counts__in_progress")
    not_started = tables.Column(verbose_name="未启动", accessor="counts__not_started")
    cannot_complete = tables.Column(verbose_name="无法完成", accessor="counts__cannot_complete")
    rate = tables.Column(verbose_name="完成率", accessor="rates__done")
    overdue = tables.Column(verbose_name="逾期")

    class Meta:
        attrs = TABLE_ATTRS
        orderable = False
        empty_text = "没有任务"

    def render_name(self, record: dict[str, Any], value: str) -> str:
        return _link(record["url"], value)

    def _status(self, record: dict[str, Any], status: str) -> str:
        return _link(record["urls"][status], record["counts"][status])

    def render_done(self, record: dict[str, Any]) -> str:
        return self._status(record, "done")

    def render_in_progress(self, record: dict[str, Any]) -> str:
        return self._status(record, "in_progress")

    def render_not_started(self, record: dict[str, Any]) -> str:
        return self._status(record, "not_started")

    def render_cannot_complete(self, record: dict[str, Any]) -> str:
        return self._status(record, "cannot_complete")

    def render_rate(self, value: float) -> str:
        return f"{value:g}%"

    def render_overdue(self, record: dict[str, Any], value: int) -> str:
        return _link(record["overdue_url"], value) if value else "0"


class RankingTable(FastBodyTable):
    rank = tables.Column(verbose_name="名次")
    name = tables.Column(verbose_name="股室")
    total = tables.Column(verbose_name="得分")
    grade = tables.Column(verbose_name="等次")
    delta = tables.Column(verbose_name="较上季度", default=DASH)
    rank_change = tables.Column(verbose_name="名次变化", default=DASH)
    detail_url = tables.Column(verbose_name="扣分明细", default="")

    class Meta:
        attrs = TABLE_ATTRS
        orderable = False
        empty_text = "该季度尚未计分"
        row_attrs = {"data-href": lambda record: record["url"], "title": "点击查看该股室的任务"}

    def render_name(self, record: dict[str, Any], value: str) -> str:
        return _link(record["url"], value)

    def render_total(self, value: float) -> str:
        return f"{value:g}"

    def render_grade(self, record: dict[str, Any], value: str) -> str:
        return f"{value}（否决）" if record.get("vetoed") else value

    def render_delta(self, value: float) -> str:
        return _signed(value)

    def render_rank_change(self, value: int) -> str:
        return f"↑{value}" if value > 0 else (f"↓{-value}" if value < 0 else "—")

    def render_detail_url(self, value: str) -> str:
        return _link(value, "明细")


class TaskRowsTable(FastBodyTable):
    """任务行（逾期、新完成、新逾期）：层级序号、标题（链接到任务）、状态、截止日期。"""

    number_path = tables.Column(verbose_name="序号")
    title = tables.Column(verbose_name="任务")
    status_label = tables.Column(verbose_name="状态")
    due_date = DateColumn(verbose_name="截止日期", default=DASH)

    class Meta:
        attrs = TABLE_ATTRS
        orderable = False
        empty_text = "无"

    def render_title(self, record: dict[str, Any], value: str) -> str:
        return _link(record["url"], value)


class OverdueTable(TaskRowsTable):
    leads = tables.Column(verbose_name="牵头股室", default=DASH)
    responsibles = tables.Column(verbose_name="责任股室", default=DASH)
    workdays_overdue = tables.Column(verbose_name="逾期工作日")

    class Meta(TaskRowsTable.Meta):
        sequence = (
            "number_path",
            "title",
            "leads",
            "responsibles",
            "due_date",
            "workdays_overdue",
            "status_label",
        )
        empty_text = "没有逾期任务"


class ReportSectionTable(FastBodyTable):
    name = tables.Column(verbose_name="股室")
    not_submitted = tables.Column(verbose_name="未报送")
    returned_now = tables.Column(verbose_name="被退回未重报")
    returned_ever = tables.Column(verbose_name="曾被退回的报送")
    return_times = tables.Column(verbose_name="退回次数")
    submitted = tables.Column(verbose_name="已报送")

    class Meta:
        attrs = TABLE_ATTRS
        orderable = False
        empty_text = "本季度没有缺报或退回"


class MissingTable(FastBodyTable):
    number_path = tables.Column(verbose_name="序号")
    title = tables.Column(verbose_name="任务")
    section = tables.Column(verbose_name="股室")
    state_label = tables.Column(verbose_name="情况")

    class Meta:
        attrs = TABLE_ATTRS
        orderable = False
        empty_text = "无"

    def render_title(self, record: dict[str, Any], value: str) -> str:
        return _link(record["url"], value)


class MovementTable(FastBodyTable):
    name = tables.Column(verbose_name="股室")
    prev_total = tables.Column(verbose_name="上季度得分", default=DASH)
    total = tables.Column(verbose_name="本季度得分", default=DASH)
    delta = tables.Column(verbose_name="变化", default=DASH)
    prev_rank = tables.Column(verbose_name="上季度名次", default=DASH)
    rank = tables.Column(verbose_name="本季度名次", default=DASH)

    class Meta:
        attrs = TABLE_ATTRS
        orderable = False
        empty_text = "两个季度都没有得分"
        row_attrs = {"data-href": lambda record: record["url"]}

    def render_name(self, record: dict[str, Any], value: str) -> str:
        return _link(record["url"], value)

    def render_prev_total(self, value: float) -> str:
        return f"{value:g}"

    def render_total(self, value: float) -> str:
        return f"{value:g}"

    def render_delta(self, value: float) -> str:
        return _signed(value)


# ---- view ----------------------------------------------------------------------------------------------


def _charts(data: dict[str, Any]) -> dict[str, str]:
    statuses = data["status_labels"]
    return {
        "sections": charts.completion_chart(data["by_section"], statuses, div_id="chart-sections"),
        "chapters": charts.completion_chart(
            data["by_chapter"], statuses, div_id="chart-chapters", label_limit=16
        ),
        "heatmap": charts.heatmap_chart(data["heatmap"], div_id="chart-heatmap"),
        "scores": charts.score_chart(data["scores"]["ranking"], div_id="chart-scores"),
        "trend": charts.trend_chart(data["scores"]["trend"], div_id="chart-trend"),
    }


def _tables(data: dict[str, Any]) -> dict[str, tables.Table]:
    compare = data["compare"]
    return {
        "sections": SectionCompletionTable(data["by_section"]),
        "ranking": RankingTable(data["scores"]["ranking"]),
        "overdue": OverdueTable(data["overdue"]["rows"]),
        "report_sections": ReportSectionTable(data["reports"]["by_section"]),
        "missing": MissingTable(data["reports"]["rows"]),
        "movement": MovementTable(compare["movement"]),
        "newly_done": TaskRowsTable(compare["newly_done"]),
        "newly_overdue": TaskRowsTable(compare["newly_overdue"]),
    }


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """季度看板：办公室、局长可看，其他角色 403。缺省为本季度、本年度最新的计划。"""
    user: User = request.user  # type: ignore[assignment]
    access.require_read_all(user, "查看季度看板")
    form = DashboardForm(request.GET)
    chosen = form.cleaned_data if form.is_valid() else {}
    today = timezone.localdate()
    plan, year, quarter = resolve_selection(
        plan=chosen.get("plan"), year=chosen.get("year"), quarter=chosen.get("quarter"), today=today
    )
    if form.is_valid():
        form = DashboardForm(initial={"plan": plan, "year": year, "quarter": quarter})
    data = dashboard_data(plan=plan, year=year, quarter=quarter, today=today)
    return render(
        request,
        "scoring/dashboard.html",
        {"form": form, "d": data, "charts": _charts(data), "tables": _tables(data)},
    )
