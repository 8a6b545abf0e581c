"""页面：首页、工作计划、任务清单与我的任务、任务详情与分工、股室设置。"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_http_methods
from django_tables2 import RequestConfig

from workplan import access, services, views_progress
from workplan.calendar_db import load_calendar
from workplan.downloads import private_file_response
from workplan.file_jobs import JobContext, TableExport, table_export
from workplan.filters import TaskFilter
from workplan.forms import AssignmentForm
from workplan.models import AssignmentRole, PlanImport, Section, SectionGroup, Task, TaskAssignment, User
from workplan.tables import PlanTable, TaskTable
from workplan.views_lists import list_response, tasks_for_list


def _with_assignments(qs):  # type: ignore[no-untyped-def]
    return qs.select_related("plan").prefetch_related(
        Prefetch("assignments", queryset=TaskAssignment.objects.select_related("section"))
    )


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    plans = access.visible_plans(user).annotate(  # type: ignore[arg-type]
        task_count=Count("tasks", filter=Q(tasks__is_heading=False))
    )[:5]
    my_tasks = None
    if user.section_id:  # type: ignore[union-attr]
        my_tasks = _with_assignments(
            Task.objects.actionable().filter(assignments__section_id=user.section_id).distinct()  # type: ignore[union-attr]
        ).order_by("-plan__year", "position")[:20]
    recent_imports = PlanImport.objects.select_related("created_by")[:5] if access.can_manage_plans(user) else []  # type: ignore[arg-type]
    return render(
        request,
        "workplan/home.html",
        {"plans": plans, "my_tasks": my_tasks, "recent_imports": recent_imports},
    )


@login_required
@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    plans = access.visible_plans(request.user).annotate(  # type: ignore[arg-type]
        task_count=Count("tasks", filter=Q(tasks__is_heading=False))
    )
    table = PlanTable(plans)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return render(request, "workplan/plan_list.html", {"table": table})


@login_required
@require_GET
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = access.get_plan_for_user(request.user, pk)  # type: ignore[arg-type]
    tasks = _with_assignments(access.visible_tasks(request.user).filter(plan=plan)).order_by("position")  # type: ignore[arg-type]
    return render(
        request,
        "workplan/plan_detail.html",
        {
            "plan": plan,
            "tasks": tasks,
            "can_manage": access.can_manage_plans(request.user),  # type: ignore[arg-type]
            "can_export": access.can_read_all(request.user),  # type: ignore[arg-type]
        },
    )


def _task_table(
    user: User, query: Any, base: QuerySet[Task], *, section: Section | None = None
) -> tuple[TaskTable, TaskFilter]:
    """任务清单与“我的任务”共用：筛选、表格（一次读出工作日历）。"""
    tasks = tasks_for_list(base.filter(is_heading=False), section=section).order_by("-plan__year", "position")
    task_filter = TaskFilter(query, queryset=tasks, plans=access.visible_plans(user), fixed_section=section)
    # Loaded on first use: pages whose rows need no working-day count skip the query.
    cal = SimpleLazyObject(load_calendar)
    table = TaskTable(task_filter.qs, calendar=cal, today=timezone.localdate())  # type: ignore[arg-type]
    return table, task_filter


def _task_list_page(
    request: HttpRequest, base: QuerySet[Task], *, title: str, kind: str, section: Section | None = None
) -> HttpResponse:
    """任务清单与“我的任务”的页面：分页，或导出（大的转为后台任务）。"""
    table, task_filter = _task_table(request.user, request.GET, base, section=section)  # type: ignore[arg-type]
    return list_response(
        request,
        table=table,
        filterset=task_filter,
        template="workplan/task_list.html",
        export_kind=kind,
        context={"title": title, "section": section},
    )


def _my_tasks_base(user: User) -> tuple[QuerySet[Task], Section | None]:
    """本股室（牵头或责任）的任务；未归属股室的用户看到空列表。"""
    section = user.section
    if section is None:
        return Task.objects.none(), None
    return Task.objects.for_section(section), section


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    return _task_list_page(request, access.visible_tasks(request.user), title="任务清单", kind="task_list")  # type: ignore[arg-type]


def task_list_export(ctx: JobContext) -> TableExport:
    table, _ = _task_table(ctx.user, ctx.query, access.visible_tasks(ctx.user))
    return table_export(ctx, table, filename="任务清单")


@login_required
@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    """本股室（牵头或责任）的任务；未归属股室的用户看到空列表。"""
    base, section = _my_tasks_base(request.user)  # type: ignore[arg-type]
    return _task_list_page(request, base, title="我的任务", kind="my_tasks", section=section)


def my_tasks_export(ctx: JobContext) -> TableExport:
    base, section = _my_tasks_base(ctx.user)
    table, _ = _task_table(ctx.user, ctx.query, base, section=section)
    return table_export(ctx, table, filename="我的任务")


@login_required
@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = access.get_task_for_user(request.user, pk)  # type: ignore[arg-type]
    assignments = task.assignments.select_related("section", "via_group")
    return render(
        request,
        "workplan/task_detail.html",
        {
            "task": task,
            "leads": [a for a in assignments if a.role == AssignmentRole.LEAD],
            "responsibles": [a for a in assignments if a.role == AssignmentRole.RESPONSIBLE],
            "can_manage": access.can_manage_plans(request.user),  # type: ignore[arg-type]
            **views_progress.task_history_context(request.user, task),  # type: ignore[arg-type]
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def task_assignments_edit(request: HttpRequest, pk: int) -> HttpResponse:
    task = access.get_task_for_user(request.user, pk, write=True)  # type: ignore[arg-type]
    current = list(task.assignments.all())
    initial = {
        "leads": [a.section_id for a in current if a.role == AssignmentRole.LEAD],
        "responsibles": [a.section_id for a in current if a.role == AssignmentRole.RESPONSIBLE],
    }
    form = AssignmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.task_assign_sections(
            task=task,
            leads=form.cleaned_data["leads"],
            responsibles=form.cleaned_data["responsibles"],
            user=request.user,  # type: ignore[arg-type]
            request=request,
        )
        messages.success(request, "任务分工已保存")
        return redirect("task_detail", pk=task.pk)
    return render(request, "workplan/task_assignments_edit.html", {"task": task, "form": form})


@login_required
@access.office_required
@require_GET
def section_list(request: HttpRequest) -> HttpResponse:
    sections = Section.objects.prefetch_related("aliases").annotate(
        task_count=Count("assignments__task", distinct=True)
    )
    groups = SectionGroup.objects.prefetch_related("members")
    return render(request, "workplan/section_list.html", {"sections": sections, "groups": groups})


@login_required
@require_GET
def plan_source_download(request: HttpRequest, pk: int) -> FileResponse:
    """下载导入时保存的计划原始文件（有权查看该计划的用户）。"""
    plan = access.get_plan_for_user(request.user, pk)  # type: ignore[arg-type]
    return private_file_response(plan.source_file, filename=plan.source_name)
