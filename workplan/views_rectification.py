"""页面：整改事项（“我的整改”、答复、核验销号、材料下载、导出）。

视图只做衔接：access 取对象并判断权限 → 表单 → workplan.rectification 服务 → 跳转或渲染。
办公室核验，局长只读，股室只看、只答复本股室的（其他一律 404）；写操作只接受 POST。
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from workplan import access, file_jobs, rectification
from workplan.downloads import private_file_response
from workplan.exporting import CONTENT_TYPES
from workplan.file_jobs import JobContext, TableExport, param
from workplan.forms_notices import AnswerForm, RectificationFilterForm, VerifyForm
from workplan.models import RectificationItem, RectificationStatus, User
from workplan.uploads import CONTENT_TYPES as FILE_TYPES
from workplan.uploads import extension_of
from workplan.views_notices import (
    EXPORT_PARAM,
    PAGE_SIZE,
    add_errors,
    export_links,
    query_without_page,
    request_user,
)


def _rectification_list_qs(user: User, form: RectificationFilterForm) -> QuerySet[RectificationItem]:
    qs = access.visible_rectifications(user).select_related("notice", "interview", "section")
    if form.is_valid():
        data = form.cleaned_data
        if data["status"]:
            qs = qs.filter(status=data["status"])
        if data.get("section"):
            qs = qs.filter(section=data["section"])
        overdue = rectification.overdue_items(qs, today=timezone.localdate())
        if data["overdue"] == "yes":
            qs = overdue
        elif data["overdue"] == "no":
            qs = qs.exclude(pk__in=overdue.values("pk"))
    return qs.order_by("deadline", "section__sort_order", "pk")


def source_label(item: RectificationItem) -> str:
    if item.notice_id:
        return item.notice.doc_number or item.notice.title  # type: ignore[union-attr]
    return f"约谈：{item.interview.subject}" if item.interview_id else ""  # type: ignore[union-attr]


RECTIFICATION_HEADERS = [
    "来源",
    "责任股室",
    "整改内容",
    "整改期限",
    "状态",
    "已逾期",
    "退回次数",
    "整改情况",
    "答复时间",
    "核验时间",
    "核验意见",
]


def _rectification_row(item: RectificationItem, today: Any) -> list[Any]:
    local = timezone.localtime
    return [
        source_label(item),
        item.section.name,
        item.description,
        item.deadline,
        item.get_status_display(),
        "是" if rectification.is_overdue(item, today=today) else "否",
        item.return_count,
        item.response,
        local(item.responded_at).strftime("%Y-%m-%d %H:%M") if item.responded_at else "",
        local(item.verified_at).strftime("%Y-%m-%d %H:%M") if item.verified_at else "",
        item.verify_comment,
    ]


@login_required
@require_GET
def rectification_list(request: HttpRequest) -> HttpResponse:
    """整改事项：股室看本股室的（“我的整改”），办公室、局长看全部；按状态、股室、是否逾期筛选，可导出。"""
    user = request_user(request)
    if request.GET.get(EXPORT_PARAM) in CONTENT_TYPES:
        return file_jobs.deliver(request, kind="rectification_list")
    sees_all = access.can_read_all(user)
    form = RectificationFilterForm(request.GET or None, sees_all=sees_all)
    qs = _rectification_list_qs(user, form)
    today = timezone.localdate()
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    for item in page.object_list:
        item.overdue = rectification.is_overdue(item, today=today)
        item.source = source_label(item)
    overdue_count = (
        rectification.overdue_items(access.visible_rectifications(user), today=today).count()
        if sees_all
        else None
    )
    return render(
        request,
        "workplan/rectification_list.html",
        {
            "page": page,
            "filter_form": form,
            "query": query_without_page(request),
            "export_links": export_links(request),
            "title": "整改事项" if sees_all else "我的整改",
            "overdue_count": overdue_count,
        },
    )


def rectification_list_export(ctx: JobContext) -> TableExport:
    form = RectificationFilterForm(ctx.query or None, sees_all=access.can_read_all(ctx.user))
    qs = _rectification_list_qs(ctx.user, form)
    today = timezone.localdate()
    return TableExport(
        filename="整改事项",
        fmt=param(ctx, EXPORT_PARAM),
        headers=RECTIFICATION_HEADERS,
        rows=(_rectification_row(item, today) for item in qs),
        size=qs.count(),
    )


def _rectification_page(
    request: HttpRequest,
    item: RectificationItem,
    *,
    answer_form: AnswerForm | None = None,
    verify_form: VerifyForm | None = None,
    conflict: rectification.RectificationConflict | None = None,
) -> HttpResponse:
    user = request_user(request)
    can_answer = access.can_answer_rectification(user, item) and item.status in rectification.ANSWERABLE
    can_verify = access.can_manage_plans(user) and item.status == RectificationStatus.SUBMITTED
    return render(
        request,
        "workplan/rectification_detail.html",
        {
            "item": item,
            "source": source_label(item),
            "overdue": rectification.is_overdue(item, today=timezone.localdate()),
            "answer_form": (answer_form or AnswerForm(initial={"version": item.version}))
            if can_answer
            else None,
            "verify_form": (verify_form or VerifyForm(initial={"version": item.version}))
            if can_verify
            else None,
            "conflict": conflict,
        },
        status=409 if conflict else 200,
    )


@login_required
@require_GET
def rectification_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = access.get_rectification_for_user(request_user(request), pk)
    return _rectification_page(request, item)


@login_required
@require_POST
def rectification_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """股室答复整改情况（文字 + 文件或链接）。别人先答复或办公室先核验了：409，保留填写的内容。"""
    user = request_user(request)
    item = access.get_rectification_for_user(user, pk, action="answer")
    form = AnswerForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            rectification.rectification_answer(
                item=item,
                user=user,
                expected_version=data["version"],
                response=data["response"],
                uploaded_file=data["file"],
                link=data["link"],
                request=request,
            )
        except rectification.RectificationConflict as conflict:
            current = conflict.current
            kept = AnswerForm(
                initial={
                    **conflict.mine,
                    "link": conflict.mine.get("response_link", ""),
                    "version": current.version,
                }
            )
            return _rectification_page(request, current, answer_form=kept, conflict=conflict)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "整改情况已报送，等待办公室核验")
            return redirect("rectification_detail", pk=item.pk)
    return _rectification_page(request, item, answer_form=form)


@login_required
@require_POST
def rectification_verify(request: HttpRequest, pk: int) -> HttpResponse:
    """办公室核验：销号或退回（带意见）。股室刚改过答复或别人已核验：409。"""
    user = request_user(request)
    item = access.get_rectification_for_user(user, pk, action="verify")
    form = VerifyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            verified = rectification.rectification_verify(
                item=item,
                user=user,
                expected_version=data["version"],
                decision=data["decision"],
                comment=data["comment"],
                request=request,
            )
        except rectification.RectificationConflict as conflict:
            kept = VerifyForm(initial={**conflict.mine, "version": conflict.current.version})
            return _rectification_page(request, conflict.current, verify_form=kept, conflict=conflict)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"{verified.section.name}的整改：{verified.get_status_display()}")
            return redirect("rectification_detail", pk=item.pk)
    return _rectification_page(request, item, verify_form=form)


@login_required
@require_GET
def rectification_file(request: HttpRequest, pk: int) -> FileResponse:
    """下载整改材料：与查看整改事项同样的权限，以附件形式发送。"""
    item = access.get_rectification_for_user(request_user(request), pk)
    if not item.response_file:
        raise Http404("没有可下载的文件")
    name = item.response_file_name or (item.response_file.name or "").rsplit("/", 1)[-1]
    return private_file_response(
        item.response_file, filename=name, content_type=FILE_TYPES.get(extension_of(name), "")
    )
