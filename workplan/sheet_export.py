"""任务表格的导出：计划中要落实的任务按表头（sheet_format.HEADERS）的顺序逐行取值。

xlsx/csv 导出与 django-import-export 的资源共用同样的取值与预取。
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from workplan.models import AssignmentRole, Task, TaskAssignment, WorkPlan
from workplan.sheet_format import RECURRENCE_LABELS, SECTION_JOINER


def with_export_prefetch(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """任务查询加上分工（连股室）的预取：一条查询取任务，一条取分工，与任务数无关。"""
    assignments = TaskAssignment.objects.select_related("section").order_by(
        "section__sort_order", "section__name"
    )
    return tasks.prefetch_related(Prefetch("assignments", queryset=assignments))


def export_queryset(plan: WorkPlan) -> QuerySet[Task]:
    """导出用的任务：计划中要落实的任务（不含章节标题），按原文顺序。"""
    return with_export_prefetch(Task.objects.filter(plan=plan).actionable().order_by("position", "pk"))


def section_names(task: Task, role: str) -> str:
    """任务某角色的股室名称，以“、”连接（用预取的分工，不发查询）。"""
    return SECTION_JOINER.join(a.section.name for a in task.assignments.all() if a.role == role)


def export_row(task: Task) -> list[Any]:
    """一行导出值，顺序同 HEADERS；截止日期保持为日期（xlsx 中是真正的日期单元格）。"""
    return [
        task.code,
        task.number_path,
        task.title,
        task.body,
        section_names(task, AssignmentRole.LEAD),
        section_names(task, AssignmentRole.RESPONSIBLE),
        task.deadline_text,
        task.due_date,
        str(RECURRENCE_LABELS.get(task.recurrence, task.recurrence)),
    ]


def export_rows(plan: WorkPlan) -> list[list[Any]]:
    return [export_row(task) for task in export_queryset(plan)]
