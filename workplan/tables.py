"""列表（django-tables2）：工作计划、任务。所有跨外键的列都已在视图的查询集中预取。"""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html_join

from workplan.models import AssignmentRole, Task, WorkPlan


class PlanTable(tables.Table):
    year = tables.Column(verbose_name="年度")
    title = tables.LinkColumn("plan_detail", args=[tables.A("pk")], verbose_name="标题")
    issuing_unit = tables.Column(verbose_name="发文单位")
    parent_doc_number = tables.Column(verbose_name="上级计划文号")
    task_count = tables.Column(verbose_name="任务数", orderable=True)
    created_at = tables.DateTimeColumn(verbose_name="导入时间", format="Y-m-d H:i")

    class Meta:
        model = WorkPlan
        fields = ("year", "title", "issuing_unit", "parent_doc_number", "task_count", "created_at")
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "暂无工作计划"


def _section_names(task: Task, role: str) -> list[str]:
    # Uses the prefetched assignments: no query per row.
    return [a.section.name for a in task.assignments.all() if a.role == role]


class TaskTable(tables.Table):
    number_path = tables.Column(verbose_name="序号", order_by=("plan", "position"))
    title = tables.LinkColumn("task_detail", args=[tables.A("pk")], verbose_name="任务")
    plan = tables.Column(accessor="plan__year", verbose_name="年度")
    leads = tables.Column(verbose_name="牵头股室", empty_values=(), orderable=False)
    responsibles = tables.Column(verbose_name="责任股室", empty_values=(), orderable=False)
    deadline_text = tables.Column(verbose_name="时限要求")
    due_date = tables.DateColumn(verbose_name="截止日期", format="Y-m-d")
    recurrence = tables.Column(verbose_name="周期")

    class Meta:
        model = Task
        fields = ("number_path", "title", "plan", "leads", "responsibles", "deadline_text", "due_date", "recurrence")
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "没有符合条件的任务"

    def render_leads(self, record: Task) -> str:
        return format_html_join("、", "{}", ((n,) for n in _section_names(record, AssignmentRole.LEAD)))

    def value_leads(self, record: Task) -> str:
        return "、".join(_section_names(record, AssignmentRole.LEAD))

    def render_responsibles(self, record: Task) -> str:
        return format_html_join("、", "{}", ((n,) for n in _section_names(record, AssignmentRole.RESPONSIBLE)))

    def value_responsibles(self, record: Task) -> str:
        return "、".join(_section_names(record, AssignmentRole.RESPONSIBLE))

