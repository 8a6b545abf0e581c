"""访问控制：谁能看、谁能写。所有权限判断都在这里。

- 办公室（office）：读写全部计划、任务、分工，审核报送；
- 局长（director）：只读全部；
- 股室人员（section）：只看、只写本股室（牵头或责任）的任务；其他股室的任务返回 404；
- 只读（readonly）：可看本股室，任何写操作 403。
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from workplan.models import Role, Task, User, WorkPlan


def can_manage_plans(user: User) -> bool:
    return user.is_authenticated and user.role == Role.OFFICE


def can_read_all(user: User) -> bool:
    return user.is_authenticated and user.role in (Role.OFFICE, Role.DIRECTOR)


def office_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """办公室专用的视图：其他已登录用户 403。登录检查由 login_required 在外层完成。"""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_manage_plans(request.user):  # type: ignore[arg-type]
            raise PermissionDenied("仅办公室可以执行此操作")
        return view(request, *args, **kwargs)

    return wrapper


def visible_tasks(user: User) -> QuerySet[Task]:
    """该用户能看到的任务。"""
    qs = Task.objects.all()
    if can_read_all(user):
        return qs
    if user.section_id is None:
        return qs.none()
    return qs.filter(assignments__section_id=user.section_id).distinct()


def visible_plans(user: User) -> QuerySet[WorkPlan]:
    if can_read_all(user):
        return WorkPlan.objects.all()
    if user.section_id is None:
        return WorkPlan.objects.none()
    return WorkPlan.objects.filter(tasks__assignments__section_id=user.section_id).distinct()


def get_plan_for_user(user: User, pk: int, *, write: bool = False) -> WorkPlan:
    plan = get_object_or_404(visible_plans(user), pk=pk)
    if write and not can_manage_plans(user):
        raise PermissionDenied("仅办公室可以修改工作计划")
    return plan


def get_task_for_user(user: User, pk: int, *, write: bool = False) -> Task:
    """取任务：看不到的任务一律 404（不泄露其存在）；能看但不能写的 403。"""
    try:
        task = visible_tasks(user).select_related("plan", "parent").get(pk=pk)
    except Task.DoesNotExist as exc:
        raise Http404("任务不存在") from exc
    if write and not can_manage_plans(user):
        raise PermissionDenied("仅办公室可以修改任务")
    return task
