"""页面：通报批评（列表与导出、起草、修改、印发、作废、登记上级通报）。
整改事项的页面见 views_rectification.py，约谈记录见 views_interviews.py；三者共用本模块的几个小工具。

视图只做衔接：access 取对象并判断权限 → 表单 → workplan.notices 服务 → 跳转或渲染。
办公室写，局长只读，股室只看本股室的（其他一律 404）；写操作只接受 POST（表单页 GET 显示表单）。
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from workplan import access, file_jobs, notices
from workplan.exporting import CONTENT_TYPES
from workplan.file_jobs import JobContext, TableExport, param
from workplan.forms_notices import (
    NoticeActionForm,
    NoticeFilterForm,
    NoticeForm,
    ReceivedNoticeForm,
    UnitFormSet,
    unit_initial,
)
from workplan.models import CriticismNotice, NoticeStatus, NoticeUnit, User

# ---- shared with views_rectification and views_interviews -------------------------------------------------

EXPORT_PARAM = "_export"
PAGE_SIZE = 50


def request_user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def export_links(request: HttpRequest) -> list[tuple[str, str]]:
    params = request.GET.copy()
    params.pop("page", None)
    links = []
    for fmt in CONTENT_TYPES:
        params[EXPORT_PARAM] = fmt
        links.append((fmt, "?" + params.urlencode()))
    return links


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def add_errors(form: Any, exc: ValidationError) -> None:
    """服务的 ValidationError 放到表单上：表单里有的字段挂在字段上，其余作为整体错误。"""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# ---- notices ---------------------------------------------------------------------------------------------


def _notice_list_qs(user: User, form: NoticeFilterForm) -> QuerySet[CriticismNotice]:
    qs = access.visible_notices(user).prefetch_related(
        Prefetch("units", queryset=NoticeUnit.objects.select_related("section").order_by("pk"))
    )
    if form.is_valid():
        data = form.cleaned_data
        if data["year"]:
            qs = qs.filter(year=data["year"])
        if data["status"]:
            qs = qs.filter(status=data["status"])
        if data["level"]:
            qs = qs.filter(issuer_level=data["level"])
    return qs.order_by("-year", "issuer_level", "-number", "-created_at", "-pk")


NOTICE_HEADERS = [
    "年度",
    "级别",
    "文号",
    "发文机关",
    "标题",
    "期间",
    "被通报股室",
    "状态",
    "印发/收到日期",
    "整改期限",
]


def _notice_row(n: CriticismNotice) -> list[Any]:
    return [
        n.year,
        n.get_issuer_level_display(),
        n.doc_number,
        n.issuer_name,
        n.title,
        n.period_label,
        "、".join(u.section.name for u in n.units.all()),
        n.get_status_display(),
        n.received_on,
        n.rectification_deadline,
    ]


@login_required
@require_GET
def notice_list(request: HttpRequest) -> HttpResponse:
    """通报列表（办公室、局长全部；股室只看点名本股室的已印发通报）：按年度、状态、级别筛选，可导出。"""
    user = request_user(request)
    if request.GET.get(EXPORT_PARAM) in CONTENT_TYPES:
        return file_jobs.deliver(request, kind="notice_list")
    form = NoticeFilterForm(request.GET or None)
    qs = _notice_list_qs(user, form)
    return render(
        request,
        "workplan/notice_list.html",
        {
            "page": Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page")),
            "filter_form": form,
            "query": query_without_page(request),
            "export_links": export_links(request),
            "can_write": access.can_manage_plans(user),
        },
    )


def notice_list_export(ctx: JobContext) -> TableExport:
    qs = _notice_list_qs(ctx.user, NoticeFilterForm(ctx.query or None))
    return TableExport(
        filename="通报批评",
        fmt=param(ctx, EXPORT_PARAM),
        headers=NOTICE_HEADERS,
        rows=(_notice_row(n) for n in qs),
        size=qs.count(),
    )


def _notice_form_page(
    request: HttpRequest,
    *,
    form: Any,
    formset: Any,
    notice: CriticismNotice | None,
    title: str,
    conflict: notices.NoticeConflict | None = None,
) -> HttpResponse:
    return render(
        request,
        "workplan/notice_form.html",
        {"form": form, "formset": formset, "notice": notice, "title": title, "conflict": conflict},
        status=409 if conflict else 200,
    )


@login_required
@access.office_required
@require_http_methods(["GET", "POST"])
def notice_create(request: HttpRequest) -> HttpResponse:
    """办公室起草局内通报（草稿）。"""
    user = request_user(request)
    year = timezone.localdate().year
    form = NoticeForm(request.POST or None, initial={"year": year})
    formset = UnitFormSet(request.POST or None, prefix="units")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            notice = notices.notice_draft_create(
                user=user, fields=form.notice_fields(), units=formset.units(), request=request
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "通报草稿已保存，核对无误后可印发")
            return redirect("notice_detail", pk=notice.pk)
    return _notice_form_page(request, form=form, formset=formset, notice=None, title="起草通报")


@login_required
@require_GET
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """通报全文、被通报股室及其整改事项；办公室可在此修改、印发、作废草稿。"""
    user = request_user(request)
    notice = access.get_notice_for_user(user, pk)
    items = access.visible_rectifications(user).filter(notice=notice).select_related("section")
    return render(
        request,
        "workplan/notice_detail.html",
        {
            "notice": notice,
            "units": notices.notice_units(notice),
            "items": items.order_by("section__sort_order", "pk"),
            "can_write": access.can_manage_plans(user) and notice.status == NoticeStatus.DRAFT,
            "action_form": NoticeActionForm(initial={"version": notice.version}),
            # Word 文稿（scoring/reports/notice_doc.py，路由 notice_docx）：办公室、局长，作废的不出。
            "can_download_docx": access.can_read_all(user) and notice.status != NoticeStatus.DISCARDED,
            "today": timezone.localdate(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def notice_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """修改通报草稿；打开之后别人改过、印发或作废了，返回 409 并保留填写的内容。"""
    user = request_user(request)
    notice = access.get_notice_for_user(user, pk, write=True)
    if request.method == "GET" and notice.status != NoticeStatus.DRAFT:
        messages.error(request, f"这份通报{notice.get_status_display()}，不能再修改")
        return redirect("notice_detail", pk=notice.pk)
    form = NoticeForm(request.POST or None, instance=notice, initial={"version": notice.version})
    # Initial rows only when showing the form: a bound formset drops unchanged extra rows that match them.
    initial_units = unit_initial(notices.notice_units(notice)) if request.method == "GET" else None
    formset = UnitFormSet(request.POST or None, prefix="units", initial=initial_units)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            saved = notices.notice_update(
                notice=notice,
                user=user,
                expected_version=form.cleaned_data["version"] or 0,
                fields=form.notice_fields(),
                units=formset.units(),
                request=request,
            )
        except notices.NoticeConflict as conflict:
            # Keep what the user typed, now based on the latest version (an unbound instance: the
            # conflict panel shows conflict.current untouched).
            current = conflict.current
            data = request.POST.copy()
            data["version"] = str(current.version)
            form = NoticeForm(data)
            return _notice_form_page(
                request, form=form, formset=formset, notice=current, title="修改通报", conflict=conflict
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "通报草稿已保存")
            return redirect("notice_detail", pk=saved.pk)
    return _notice_form_page(request, form=form, formset=formset, notice=notice, title="修改通报")


def _conflict_page(request: HttpRequest, conflict: notices.NoticeConflict) -> HttpResponse:
    return render(
        request,
        "workplan/notice_conflict.html",
        {"notice": conflict.current, "message": str(conflict)},
        status=409,
    )


@login_required
@require_POST
def notice_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """印发草稿：编号、生成文号、为被点名股室开整改事项。版本不一致 409。"""
    user = request_user(request)
    notice = access.get_notice_for_user(user, pk, write=True)
    form = NoticeActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请从通报页面印发")
        return redirect("notice_detail", pk=notice.pk)
    try:
        issued = notices.notice_issue(
            notice=notice, user=user, expected_version=form.cleaned_data["version"], request=request
        )
    except notices.NoticeConflict as conflict:
        return _conflict_page(request, conflict)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"已印发：{issued.doc_number}，已为被通报股室开出整改事项")
    return redirect("notice_detail", pk=notice.pk)


@login_required
@require_POST
def notice_discard(request: HttpRequest, pk: int) -> HttpResponse:
    """作废草稿（已印发的不能作废）。版本不一致 409。"""
    user = request_user(request)
    notice = access.get_notice_for_user(user, pk, write=True)
    form = NoticeActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请从通报页面作废")
        return redirect("notice_detail", pk=notice.pk)
    try:
        notices.notice_discard(
            notice=notice,
            user=user,
            expected_version=form.cleaned_data["version"],
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except notices.NoticeConflict as conflict:
        return _conflict_page(request, conflict)
    messages.success(request, "通报草稿已作废")
    return redirect("notice_detail", pk=notice.pk)


@login_required
@access.office_required
@require_http_methods(["GET", "POST"])
def notice_receive(request: HttpRequest) -> HttpResponse:
    """登记收到的上级（县、市级）通报：点名的股室计入考核的 notices_county。"""
    user = request_user(request)
    form = ReceivedNoticeForm(request.POST or None)
    formset = UnitFormSet(request.POST or None, prefix="units")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            notice = notices.notice_record_received(
                user=user, fields=form.notice_fields(), units=formset.units(), request=request
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"已登记上级通报：{notice.doc_number}")
            return redirect("notice_detail", pk=notice.pk)
    return render(request, "workplan/notice_receive.html", {"form": form, "formset": formset})
