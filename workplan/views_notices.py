"""页面：通报批评（列表与导出、起草、修改、印发、作废、登记上级通报）、整改事项（“我的整改”、答复、核验销号、
材料下载、导出）、约谈记录（列表、记录、后续整改事项）。

视图只做衔接：access 取对象并判断权限 → 表单 → workplan.notices 服务 → 跳转或渲染。
办公室写，局长只读，股室只看本股室的（其他一律 404）；写操作只接受 POST（表单页 GET 显示表单）。
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from workplan import access, notices
from workplan.downloads import private_file_response
from workplan.exporting import CONTENT_TYPES, build_dataset, dataset_response
from workplan.forms_notices import (
    AnswerForm,
    FollowUpForm,
    InterviewForm,
    NoticeActionForm,
    NoticeFilterForm,
    NoticeForm,
    ReceivedNoticeForm,
    RectificationFilterForm,
    UnitFormSet,
    VerifyForm,
    unit_initial,
)
from workplan.models import (
    CriticismNotice,
    Interview,
    NoticeStatus,
    NoticeUnit,
    RectificationItem,
    RectificationStatus,
    User,
)
from workplan.uploads import CONTENT_TYPES as FILE_TYPES
from workplan.uploads import extension_of

EXPORT_PARAM = "_export"
PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _export_links(request: HttpRequest) -> list[tuple[str, str]]:
    params = request.GET.copy()
    params.pop("page", None)
    links = []
    for fmt in CONTENT_TYPES:
        params[EXPORT_PARAM] = fmt
        links.append((fmt, "?" + params.urlencode()))
    return links


def _query(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _add_errors(form: Any, exc: ValidationError) -> None:
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
    user = _user(request)
    form = NoticeFilterForm(request.GET or None)
    qs = _notice_list_qs(user, form)
    fmt = request.GET.get(EXPORT_PARAM)
    if fmt in CONTENT_TYPES:
        data = build_dataset(NOTICE_HEADERS, (_notice_row(n) for n in qs), title="通报批评")
        return dataset_response(data, fmt=fmt, filename="通报批评")
    return render(
        request,
        "workplan/notice_list.html",
        {
            "page": Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page")),
            "filter_form": form,
            "query": _query(request),
            "export_links": _export_links(request),
            "can_write": access.can_manage_plans(user),
        },
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
    user = _user(request)
    year = timezone.localdate().year
    form = NoticeForm(request.POST or None, initial={"year": year})
    formset = UnitFormSet(request.POST or None, prefix="units")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            notice = notices.notice_draft_create(
                user=user, fields=form.notice_fields(), units=formset.units(), request=request
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "通报草稿已保存，核对无误后可印发")
            return redirect("notice_detail", pk=notice.pk)
    return _notice_form_page(request, form=form, formset=formset, notice=None, title="起草通报")


@login_required
@require_GET
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """通报全文、被通报股室及其整改事项；办公室可在此修改、印发、作废草稿。"""
    user = _user(request)
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
    user = _user(request)
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
            _add_errors(form, exc)
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
    user = _user(request)
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
    user = _user(request)
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
    user = _user(request)
    form = ReceivedNoticeForm(request.POST or None)
    formset = UnitFormSet(request.POST or None, prefix="units")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            notice = notices.notice_record_received(
                user=user, fields=form.notice_fields(), units=formset.units(), request=request
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"已登记上级通报：{notice.doc_number}")
            return redirect("notice_detail", pk=notice.pk)
    return render(request, "workplan/notice_receive.html", {"form": form, "formset": formset})


# ---- rectification ---------------------------------------------------------------------------------------


def _rectification_list_qs(user: User, form: RectificationFilterForm) -> QuerySet[RectificationItem]:
    qs = access.visible_rectifications(user).select_related("notice", "interview", "section")
    if form.is_valid():
        data = form.cleaned_data
        if data["status"]:
            qs = qs.filter(status=data["status"])
        if data.get("section"):
            qs = qs.filter(section=data["section"])
        overdue = notices.overdue_items(qs, today=timezone.localdate())
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
        "是" if notices.is_overdue(item, today=today) else "否",
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
    user = _user(request)
    sees_all = access.can_read_all(user)
    form = RectificationFilterForm(request.GET or None, sees_all=sees_all)
    qs = _rectification_list_qs(user, form)
    today = timezone.localdate()
    fmt = request.GET.get(EXPORT_PARAM)
    if fmt in CONTENT_TYPES:
        rows = (_rectification_row(item, today) for item in qs)
        data = build_dataset(RECTIFICATION_HEADERS, rows, title="整改事项")
        return dataset_response(data, fmt=fmt, filename="整改事项")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    for item in page.object_list:
        item.overdue = notices.is_overdue(item, today=today)
        item.source = source_label(item)
    overdue_count = (
        notices.overdue_items(access.visible_rectifications(user), today=today).count() if sees_all else None
    )
    return render(
        request,
        "workplan/rectification_list.html",
        {
            "page": page,
            "filter_form": form,
            "query": _query(request),
            "export_links": _export_links(request),
            "title": "整改事项" if sees_all else "我的整改",
            "overdue_count": overdue_count,
        },
    )


def _rectification_page(
    request: HttpRequest,
    item: RectificationItem,
    *,
    answer_form: AnswerForm | None = None,
    verify_form: VerifyForm | None = None,
    conflict: notices.RectificationConflict | None = None,
) -> HttpResponse:
    user = _user(request)
    can_answer = access.can_answer_rectification(user, item) and item.status in notices.ANSWERABLE
    can_verify = access.can_manage_plans(user) and item.status == RectificationStatus.SUBMITTED
    return render(
        request,
        "workplan/rectification_detail.html",
        {
            "item": item,
            "source": source_label(item),
            "overdue": notices.is_overdue(item, today=timezone.localdate()),
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
    item = access.get_rectification_for_user(_user(request), pk)
    return _rectification_page(request, item)


@login_required
@require_POST
def rectification_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """股室答复整改情况（文字 + 文件或链接）。别人先答复或办公室先核验了：409，保留填写的内容。"""
    user = _user(request)
    item = access.get_rectification_for_user(user, pk, action="answer")
    form = AnswerForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            notices.rectification_answer(
                item=item,
                user=user,
                expected_version=data["version"],
                response=data["response"],
                uploaded_file=data["file"],
                link=data["link"],
                request=request,
            )
        except notices.RectificationConflict as conflict:
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
            _add_errors(form, exc)
        else:
            messages.success(request, "整改情况已报送，等待办公室核验")
            return redirect("rectification_detail", pk=item.pk)
    return _rectification_page(request, item, answer_form=form)


@login_required
@require_POST
def rectification_verify(request: HttpRequest, pk: int) -> HttpResponse:
    """办公室核验：销号或退回（带意见）。股室刚改过答复或别人已核验：409。"""
    user = _user(request)
    item = access.get_rectification_for_user(user, pk, action="verify")
    form = VerifyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            verified = notices.rectification_verify(
                item=item,
                user=user,
                expected_version=data["version"],
                decision=data["decision"],
                comment=data["comment"],
                request=request,
            )
        except notices.RectificationConflict as conflict:
            kept = VerifyForm(initial={**conflict.mine, "version": conflict.current.version})
            return _rectification_page(request, conflict.current, verify_form=kept, conflict=conflict)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"{verified.section.name}的整改：{verified.get_status_display()}")
            return redirect("rectification_detail", pk=item.pk)
    return _rectification_page(request, item, verify_form=form)


@login_required
@require_GET
def rectification_file(request: HttpRequest, pk: int) -> FileResponse:
    """下载整改材料：与查看整改事项同样的权限，以附件形式发送。"""
    item = access.get_rectification_for_user(_user(request), pk)
    if not item.response_file:
        raise Http404("没有可下载的文件")
    name = item.response_file_name or (item.response_file.name or "").rsplit("/", 1)[-1]
    return private_file_response(
        item.response_file, filename=name, content_type=FILE_TYPES.get(extension_of(name), "")
    )


# ---- interviews ------------------------------------------------------------------------------------------


def _require_read_all(user: User) -> None:
    if not access.can_read_all(user):
        raise PermissionDenied("仅办公室、局长可以查看约谈记录")


@login_required
@require_GET
def interview_list(request: HttpRequest) -> HttpResponse:
    """约谈记录（办公室、局长）。"""
    user = _user(request)
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
    user = _user(request)
    form = InterviewForm(request.POST or None, initial={"held_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            interview = notices.interview_create(
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
            _add_errors(form, exc)
        else:
            messages.success(request, "约谈记录已保存，可继续添加后续整改事项")
            return redirect("interview_detail", pk=interview.pk)
    return render(request, "workplan/interview_form.html", {"form": form})


def _interview_page(
    request: HttpRequest, interview: Interview, form: FollowUpForm | None = None
) -> HttpResponse:
    user = _user(request)
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
    interview = access.get_interview_for_user(_user(request), pk)
    return _interview_page(request, interview)


@login_required
@require_POST
def interview_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    """为约谈添加后续整改事项（办公室）。"""
    user = _user(request)
    interview = access.get_interview_for_user(user, pk, write=True)
    form = FollowUpForm(request.POST, interview=interview)
    if form.is_valid():
        data = form.cleaned_data
        try:
            notices.interview_item_add(
                interview=interview,
                user=user,
                section=data["section"],
                description=data["description"],
                deadline=data["deadline"],
                request=request,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "已添加整改事项")
            return redirect("interview_detail", pk=interview.pk)
    return _interview_page(request, interview, form)
