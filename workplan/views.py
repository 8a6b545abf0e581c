"""页面：首页、工作计划、任务清单、任务详情与分工、股室设置。"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django_tables2 import RequestConfig

from workplan import access, services
from workplan.exporting import CONTENT_TYPES, table_response
from workplan.filters import TaskFilter
from workplan.forms import AssignmentForm
from workplan.models import AssignmentRole, PlanImport, Section, SectionGroup, Task, TaskAssignment
from workplan.tables import PlanTable, TaskTable

EXPORT_PARAM = "_export"


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
        {"plan": plan, "tasks": tasks, "can_manage": access.can_manage_plans(request.user)},  # type: ignore[arg-type]
    )


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    base = _with_assignments(access.visible_tasks(request.user).filter(is_heading=False))  # type: ignore[arg-type]
    task_filter = TaskFilter(request.GET, queryset=base.order_by("-plan__year", "position"))
    table = TaskTable(task_filter.qs)
    fmt = request.GET.get(EXPORT_PARAM)
    if fmt in CONTENT_TYPES:
        return table_response(table, fmt=fmt, filename="任务清单")
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(request, "workplan/task_list.html", {"table": table, "filter": task_filter})


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
