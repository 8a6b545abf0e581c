"""页面：约谈记录（列表、记录一次约谈、为约谈添加后续整改事项），办公室写，局长只读，其他人 403。

视图只做衔接：access 取对象并判断权限 → 表单 → workplan.interviews 服务 → 跳转或渲染。
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from workplan import access, interviews
from workplan.forms_notices import FollowUpForm, InterviewForm
from workplan.models import Interview, User
from workplan.views_notices import PAGE_SIZE, add_errors, request_user


def _require_read_all(user: User) -> None:
    if not access.can_read_all(user):
        raise PermissionDenied("仅办公室、局长可以查看约谈记录")


@login_required
@require_GET
def interview_list(request: HttpRequest) -> HttpResponse:
    """约谈记录（办公室、局长）。"""
    user = request_user(request)
    _require_read_all(user)
    qs = (
        Interview.objects.select_related("notice")
        .prefetch_related("sections", "items")
        .order_by("-held_on", "-pk")
    )
    return render(
        request,
        "workplan/interview_list.html",
        {
            "page": Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page")),
            "can_write": access.can_manage_plans(user),
        },
    )


@login_required
@access.office_required
@require_http_methods(["GET", "POST"])
def interview_create(request: HttpRequest) -> HttpResponse:
    """记录一次约谈。"""
    user = request_user(request)
    form = InterviewForm(request.POST or None, initial={"held_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            interview = interviews.interview_create(
                user=user,
                held_on=data["held_on"],
                sections=list(data["sections"]),
                interviewer=data["interviewer"],
                participants=data["participants"],
                subject=data["subject"],
                agreed=data["agreed"],
                notice=data["notice"],
                request=request,
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "约谈记录已保存，可继续添加后续整改事项")
            return redirect("interview_detail", pk=interview.pk)
    return render(request, "workplan/interview_form.html", {"form": form})


def _interview_page(
    request: HttpRequest, interview: Interview, form: FollowUpForm | None = None
) -> HttpResponse:
    user = request_user(request)
    can_write = access.can_manage_plans(user)
    return render(
        request,
        "workplan/interview_detail.html",
        {
            "interview": interview,
            "items": interview.items.select_related("section").order_by("deadline", "pk"),
            "form": (form or FollowUpForm(interview=interview)) if can_write else None,
            "today": timezone.localdate(),
        },
    )


@login_required
@require_GET
def interview_detail(request: HttpRequest, pk: int) -> HttpResponse:
    interview = access.get_interview_for_user(request_user(request), pk)
    return _interview_page(request, interview)


@login_required
@require_POST
def interview_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    """为约谈添加后续整改事项（办公室）。"""
    user = request_user(request)
    interview = access.get_interview_for_user(user, pk, write=True)
    form = FollowUpForm(request.POST, interview=interview)
    if form.is_valid():
        data = form.cleaned_data
        try:
            interviews.interview_item_add(
                interview=interview,
                user=user,
                section=data["section"],
                description=data["description"],
                deadline=data["deadline"],
                request=request,
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "已添加整改事项")
            return redirect("interview_detail", pk=interview.pk)
    return _interview_page(request, interview, form)
