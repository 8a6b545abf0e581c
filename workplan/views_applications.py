"""页面：依申请公开登记簿（筛选、导出）、登记与修改申请、申请详情（答复期限的计时经过）、补正、征求意见、延期、
答复，以及行政复议 / 行政诉讼的登记与修改。

视图只做衔接：access 取对象并判断权限 → 表单 → workplan.applications 服务 → 跳转或渲染。
办公室写全部，局长只读，股室只看、只办本股室承办的（其他一律 404）；写操作只接受 POST（表单页 GET 显示表单）。
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from workplan import access, applications, file_jobs
from workplan.application_register import Row, clock_of, register_rows, with_clock_data
from workplan.calendar_db import calendar_warnings, load_calendar
from workplan.exporting import CONTENT_TYPES
from workplan.file_jobs import JobContext, TableExport, param
from workplan.forms_applications import (
    AppealForm,
    ApplicationFilterForm,
    ApplicationForm,
    ConsultationEndForm,
    ConsultationStartForm,
    CorrectionReturnForm,
    CorrectionSendForm,
    ExtensionForm,
    ReplyForm,
)
from workplan.models import Application, User

EXPORT_PARAM = "_export"
PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _add_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _links(request: HttpRequest) -> tuple[str, list[tuple[str, str]]]:
    params = request.GET.copy()
    params.pop("page", None)
    query = params.urlencode()
    links = []
    for fmt in CONTENT_TYPES:
        params[EXPORT_PARAM] = fmt
        links.append((fmt, "?" + params.urlencode()))
    return query, links


# ---- the register ----------------------------------------------------------------------------------------

REGISTER_HEADERS = [
    "登记编号", "收到申请之日", "提交方式", "申请人类型", "申请人姓名或名称", "申请内容", "承办股室",
    "答复期限", "状态", "是否逾期", "延期", "答复（办结）日期", "办理结果", "上年结转",
]  # fmt: skip


def _register_row(row: Row, year: int | None) -> list[Any]:
    """登记簿导出的一行；“上年结转”只在按年度筛选时填写。"""
    a = row.application
    carried = "" if year is None else ("是" if a.carried_over_into(year) else "否")
    return [
        a.code, a.received_on, a.get_channel_display(), a.get_applicant_type_display(), a.applicant_name,
        a.content, a.section.name, row.clock.due_on, row.clock.status_label, "是" if row.overdue else "否",
        "是" if a.extended else "否", a.replied_on, a.get_result_display(), carried,
    ]  # fmt: skip


def _register(user: User, form: ApplicationFilterForm) -> tuple[list[Row], int | None]:
    qs = access.visible_applications(user)
    year = None
    if form.is_valid():
        data = form.cleaned_data
        if data["year"]:
            year = data["year"]
            qs = qs.in_year(year)
        if data["section"]:
            qs = qs.filter(section=data["section"])
        if data["result"]:
            qs = qs.filter(result=data["result"])
    rows = register_rows(
        qs.order_by("-received_on", "-pk"),
        cal=load_calendar(),
        today=timezone.localdate(),
        status=form.cleaned_data.get("status", "") if form.is_valid() else "",
        overdue=form.overdue_value(),
    )
    return rows, year


@login_required
@require_GET
def application_list(request: HttpRequest) -> HttpResponse:
    """依申请公开登记簿：办公室、局长看全部，股室看本股室承办的；按年度、状态、股室、逾期、结果筛选，可导出。"""
    user = _user(request)
    if request.GET.get(EXPORT_PARAM) in CONTENT_TYPES:
        return file_jobs.deliver(request, kind="application_list")
    form = ApplicationFilterForm(request.GET or None)
    rows, year = _register(user, form)
    query, links = _links(request)
    return render(
        request,
        "workplan/application_list.html",
        {
            "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
            "filter_form": form,
            "year": year,
            "query": query,
            "export_links": links,
            "can_write": access.can_manage_plans(user),
        },
    )


def application_list_export(ctx: JobContext) -> TableExport:
    """登记簿导出（含申请人姓名）：写审计日志 application.export（格式、行数）。"""
    rows, year = _register(ctx.user, ApplicationFilterForm(ctx.query or None))
    fmt = param(ctx, EXPORT_PARAM)
    return TableExport(
        filename="依申请公开登记",
        fmt=fmt,
        headers=REGISTER_HEADERS,
        rows=(_register_row(r, year) for r in rows),
        size=len(rows),
        audit_action="application.export",
        audit_new={"format": fmt, "rows": len(rows)},
    )


# ---- create / edit ---------------------------------------------------------------------------------------


@login_required
@access.office_required
@require_http_methods(["GET", "POST"])
def application_create(request: HttpRequest) -> HttpResponse:
    """办公室登记一件申请。"""
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            application = applications.application_create(
                user=_user(request), fields=form.application_fields(), request=request
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, f"已登记：{application.code}，收到申请之日为{application.received_on:%Y-%m-%d}"
            )
            return redirect("application_detail", pk=application.pk)
    return render(
        request, "workplan/application_form.html", {"form": form, "application": None, "title": "登记申请"}
    )


@login_required
@require_http_methods(["GET", "POST"])
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """办公室修改登记信息。"""
    application = access.get_application_for_user(_user(request), pk, action="manage")
    form = ApplicationForm(request.POST or None, instance=application)
    if request.method == "POST" and form.is_valid():
        try:
            applications.application_update(
                application=application,
                user=_user(request),
                fields=form.application_fields(),
                request=request,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "登记信息已保存")
            return redirect("application_detail", pk=application.pk)
    context = {"form": form, "application": application, "title": f"修改 {application.code}"}
    return render(request, "workplan/application_form.html", context)


# ---- detail and the handling steps -----------------------------------------------------------------------


def _detail(
    request: HttpRequest, application: Application, *, status: int = 200, **bound: Any
) -> HttpResponse:
    """详情页；bound 为某个提交失败的表单（带错误），其余表单为空白。"""
    user = _user(request)
    current = with_clock_data(Application.objects.filter(pk=application.pk)).get()
    cal, today = load_calendar(), timezone.localdate()
    clock = clock_of(current, cal)
    open_consultations = [c for c in current.consultations.all() if c.ended_on is None]
    forms = {
        "correction_send": CorrectionSendForm(initial={"sent_on": today}),
        "correction_return": CorrectionReturnForm(initial={"returned_on": today}),
        "consultation_start": ConsultationStartForm(initial={"started_on": today}),
        "consultation_end": ConsultationEndForm(initial={"ended_on": today}),
        "extension": ExtensionForm(initial={"approved_on": today}),
        "reply": ReplyForm(initial={"replied_on": today}),
        **bound,
    }
    years = [e.day for e in clock.events] + ([clock.due_on] if clock.due_on else [])
    return render(
        request,
        "workplan/application_detail.html",
        {
            "application": current,
            "clock": clock,
            "overdue": clock.is_overdue(today),
            "workdays_left": cal.workdays_between(today, clock.due_on) if clock.due_on else None,
            "open_correction": any(c.returned_on is None for c in current.corrections.all()),
            "open_consultations": open_consultations,
            "appeals": current.appeals.order_by("filed_on", "pk"),
            "can_handle": access.can_handle_application(user, current) and current.replied_on is None,
            "can_reply": access.can_handle_application(user, current)
            and (current.replied_on is None or access.can_manage_plans(user)),
            "can_manage": access.can_manage_plans(user),
            "warnings": calendar_warnings(cal, years),
            **forms,
        },
        status=status,
    )


@login_required
@require_GET
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """申请详情：登记信息、答复期限与计时经过（补正重新计时、征求意见暂停、延期）、复议诉讼；可办理的显示办理表单。"""
    return _detail(request, access.get_application_for_user(_user(request), pk))


def _step(
    request: HttpRequest, pk: int, *, action: str, forms: dict[str, tuple[str, Any, Any]]
) -> HttpResponse:
    """办理步骤的共同流程：取申请（权限）→ 按 POST 的 action 选表单 → 服务 → 跳回详情；
    失败时带错误重显（400）。"""
    user = _user(request)
    application = access.get_application_for_user(user, pk, action=action)
    name, form_class, service = forms.get(request.POST.get("action", ""), next(iter(forms.values())))
    form = form_class(request.POST)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "action"}
        try:
            service(application=application, user=user, request=request, **data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "已记录")
            return redirect("application_detail", pk=application.pk)
    return _detail(request, application, status=400, **{name: form})


@login_required
@require_POST
def application_correction(request: HttpRequest, pk: int) -> HttpResponse:
    """告知补正（action=send）或登记收到补正（action=return）：承办股室人员或办公室。"""
    return _step(
        request,
        pk,
        action="handle",
        forms={
            "send": ("correction_send", CorrectionSendForm, applications.correction_send),
            "return": ("correction_return", CorrectionReturnForm, applications.correction_return),
        },
    )


def _consultation_end(*, consultation: int | None = None, **kwargs: Any) -> Application:
    return applications.consultation_end(consultation_id=consultation, **kwargs)


@login_required
@require_POST
def application_consultation(request: HttpRequest, pk: int) -> HttpResponse:
    """发出征求意见（action=start）或登记收到意见（action=end）：承办股室人员或办公室。"""
    return _step(
        request,
        pk,
        action="handle",
        forms={
            "start": ("consultation_start", ConsultationStartForm, applications.consultation_start),
            "end": ("consultation_end", ConsultationEndForm, _consultation_end),
        },
    )


def _extension(**kwargs: Any) -> Application:
    return applications.extension_grant(cal=load_calendar(), **kwargs)


@login_required
@require_POST
def application_extension(request: HttpRequest, pk: int) -> HttpResponse:
    """登记延期（工作机构负责人批准）：办公室。"""
    return _step(request, pk, action="manage", forms={"": ("extension", ExtensionForm, _extension)})


@login_required
@require_POST
def application_reply(request: HttpRequest, pk: int) -> HttpResponse:
    """登记答复（办结）日期与办理结果：承办股室人员或办公室。"""
    return _step(request, pk, action="handle", forms={"": ("reply", ReplyForm, applications.reply_record)})


# ---- 行政复议 / 行政诉讼 -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def application_appeal_add(request: HttpRequest, pk: int) -> HttpResponse:
    """办公室登记因该申请引起的行政复议或行政诉讼。"""
    user = _user(request)
    application = access.get_application_for_user(user, pk, action="manage")
    form = AppealForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            applications.appeal_record(
                application=application, user=user, request=request, **form.appeal_fields()
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "已登记行政复议 / 行政诉讼")
            return redirect("application_detail", pk=application.pk)
    context = {
        "form": form,
        "application": application,
        "title": f"{application.code} 登记行政复议 / 行政诉讼",
    }
    return render(request, "workplan/application_appeal_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def application_appeal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """办公室修改复议 / 诉讼记录（多为登记审结结果）。"""
    user = _user(request)
    appeal = access.get_appeal_for_user(user, pk)
    form = AppealForm(request.POST or None, initial=AppealForm.initial_for(appeal))
    if request.method == "POST" and form.is_valid():
        try:
            applications.appeal_update(appeal=appeal, user=user, request=request, **form.appeal_fields())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "已保存")
            return redirect("application_detail", pk=appeal.application_id)
    context = {"form": form, "application": appeal.application, "title": f"修改{appeal.get_kind_display()}"}
    return render(request, "workplan/application_appeal_form.html", context)
