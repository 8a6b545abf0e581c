"""页面：发布信息登记台账（列表、筛选、导出）、拟稿与修改、提交送审、三审（各级待审队列与审核）、发布登记、
详情（全部审批步骤）、附件下载、月度移交清单（xlsx）。审批卡下载在 scoring/views_publication_card.py。

视图只做衔接：access 取对象并判断权限 → 表单 → workplan/publication.py 的服务 → 跳转或渲染。
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import django_tables2 as tables
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from workplan import access, publication
from workplan.archive_transfer import archive_transfer_dataset
from workplan.audit import audit_record
from workplan.calendar_db import calendar_warnings, load_calendar
from workplan.downloads import private_file_response
from workplan.exporting import dataset_response
from workplan.file_jobs import JobContext, TableExport, table_export
from workplan.forms_publication import (
    ArchiveMonthForm,
    PublicationFilter,
    PublicationForm,
    PublicationReviewForm,
    PublishForm,
    VersionForm,
)
from workplan.models import (
    CONFIDENTIALITY_ITEMS,
    PublicationColumn,
    PublicationItem,
    PublicationLevel,
    PublicationState,
    Role,
    User,
)
from workplan.models.publication import REVIEW_LEVELS
from workplan.publication_deadlines import deadline_of
from workplan.table_body import FastBodyTable
from workplan.tables import DASH, DateColumn, WorkdayCounter, workdays_text
from workplan.views_lists import list_response
from workplan.workdays import WorkdayCalendar

QUEUE_PAGE_SIZE = 50
LEVEL_LABELS = {
    PublicationLevel.FIRST: "待初审",
    PublicationLevel.SECOND: "待复审",
    PublicationLevel.FINAL: "待终审",
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# ---- 台账列表 ------------------------------------------------------------------------------------------


class PublicationTable(FastBodyTable):
    """发布信息登记台账。查询集需 select_related("section")；公开时限的剩余工作日每个日历日只查一次日历。"""

    title = tables.LinkColumn("publication_detail", args=[tables.A("pk")], verbose_name="标题")
    column = tables.Column(verbose_name="栏目")
    section = tables.Column(
        accessor="section__name", verbose_name="承办股室", order_by=("section__sort_order",)
    )
    formed_on = DateColumn(verbose_name="形成日期")
    due_on = DateColumn(verbose_name="公开时限")
    deadline = tables.Column(verbose_name="时限情况", empty_values=(), order_by=("due_on",))
    state = tables.Column(verbose_name="状态")
    published_on = DateColumn(verbose_name="发布日期")
    publish_url = tables.Column(verbose_name="网址", orderable=False)

    class Meta:
        model = PublicationItem
        fields = (
            "title",
            "column",
            "section",
            "formed_on",
            "due_on",
            "deadline",
            "state",
            "published_on",
            "publish_url",
        )
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "没有符合条件的信息"

    def __init__(self, *args: Any, calendar: WorkdayCalendar, today: datetime.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calendar = calendar
        self.today = today
        self._workday_counter = WorkdayCounter(calendar, today)
        self._years: set[int] = set()

    def _deadline_text(self, record: PublicationItem) -> tuple[str, bool]:
        late = record.is_late(today=self.today)
        if record.published_on is not None:
            return ("逾期发布" if late else "按时发布"), late
        lo, hi = sorted((self.today, record.due_on))
        self._years.update(range(lo.year, hi.year + 1))
        return workdays_text(self._workday_counter.left(record.due_on)), late

    def calendar_warnings(self) -> list[str]:
        return calendar_warnings(self.calendar, self._years) if self._years else []

    def render_deadline(self, record: PublicationItem) -> str:
        text, late = self._deadline_text(record)
        return format_html('<span class="tag err">{}</span>', text) if late else text

    def value_deadline(self, record: PublicationItem) -> str:
        return self._deadline_text(record)[0]

    def render_publish_url(self, value: str) -> str:
        return format_html(
            '<a href="{}" rel="noopener noreferrer nofollow" target="_blank">{}</a>', value, value
        )

    def value_publish_url(self, value: str) -> str:
        return value or DASH


def _queues_for(user: User) -> list[tuple[str, str]]:
    return [
        (level, LEVEL_LABELS[level])
        for level in REVIEW_LEVELS
        if access.can_open_publication_queue(user, level)
    ]


def _summary(items: Any) -> dict[str, Any]:
    """筛选结果中已发布信息按股室、栏目的条数（一次聚合查询）。"""
    rows = (
        items.filter(state=PublicationState.PUBLISHED)
        .order_by()
        .values_list("section__name", "column")
        .annotate(n=Count("pk"))
    )
    columns = dict(PublicationColumn.choices)
    by_section: dict[str, dict[str, int]] = {}
    for section, column, n in rows:
        by_section.setdefault(section, {})[column] = n
    used = [c for c in columns if any(c in cols for cols in by_section.values())]
    return {
        "headers": [columns[c] for c in used],
        "rows": [
            (name, [cols.get(c, 0) for c in used], sum(cols.values()))
            for name, cols in sorted(by_section.items())
        ],
    }


def _publication_table(user: User, query: Any) -> tuple[PublicationTable, PublicationFilter]:
    today = timezone.localdate()
    items = access.visible_publications(user).select_related("section").order_by("-formed_on", "-pk")
    item_filter = PublicationFilter(query, queryset=items, today=today)
    cal = SimpleLazyObject(load_calendar)  # loaded on first use: one query at most
    return PublicationTable(item_filter.qs, calendar=cal, today=today), item_filter  # type: ignore[arg-type]


def publication_list_export(ctx: JobContext) -> TableExport:
    return table_export(ctx, _publication_table(ctx.user, ctx.query)[0], filename="发布信息登记台账")


@login_required
@require_GET
def publication_list(request: HttpRequest) -> HttpResponse:
    """发布信息登记台账：筛选（股室、栏目、状态、发布季度、是否逾期）、分页，?_export=xlsx|csv 导出。"""
    user = _user(request)
    table, item_filter = _publication_table(user, request.GET)
    return list_response(
        request,
        table=table,
        filterset=item_filter,
        template="workplan/publication_list.html",
        export_kind="publication_list",
        context={
            "can_draft": user.role == Role.OFFICE
            or (user.role == Role.SECTION and user.section_id is not None),
            "queues": _queues_for(user),
            "can_archive": access.can_read_all(user),
            "summary": _summary(item_filter.qs),
        },
    )


# ---- 详情、冲突 ----------------------------------------------------------------------------------------


def _review_form_for(user: User, item: PublicationItem) -> tuple[PublicationReviewForm | None, str]:
    """当前环节的审核表单（该用户能审时），以及不能审的原因（有角色但不满足独立性时）。"""
    level = item.review_level
    if level is None or not access.can_review_publication(user, item, level):
        return None, ""
    problem = publication.reviewer_problem(item, user, level)
    if problem:
        return None, problem
    return PublicationReviewForm(initial={"version": item.version, "level": level}, level=level), ""


def _detail(
    request: HttpRequest,
    item: PublicationItem,
    *,
    review_form: PublicationReviewForm | None = None,
    publish_form: PublishForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    default_review, review_problem = _review_form_for(user, item)
    can_edit = access.can_draft_publication(user, item.section_id) and item.is_editable
    can_publish = access.can_manage_plans(user) and item.state in (
        PublicationState.APPROVED,
        PublicationState.PUBLISHED,
    )
    if can_publish and publish_form is None:
        publish_form = PublishForm(
            initial={
                "version": item.version,
                "publish_url": item.publish_url,
                "published_on": item.published_on or timezone.localdate(),
            }
        )
    context = {
        "item": item,
        "steps": item.steps.order_by("at", "pk"),
        "deadline": deadline_of(item, cal=load_calendar(), today=timezone.localdate()),
        "review_form": review_form if review_form is not None else default_review,
        "review_problem": review_problem,
        "publish_form": publish_form if can_publish else None,
        "can_edit": can_edit,
        "can_delete": can_edit and item.review_round == 0,
        "version_form": VersionForm(initial={"version": item.version}),
    }
    return render(request, "workplan/publication_detail.html", context, status=status)


MINE_LABELS = {
    "action": "操作",
    "title": "标题",
    "column": "栏目",
    "formed_on": "信息形成日期",
    "body": "正文",
    "level": "审核环节",
    "decision": "审核结果",
    "comment": "意见",
    "checklist": "已勾选的保密审查事项",
    "publish_url": "发布网址",
    "published_on": "发布日期",
}
MINE_VALUES = {
    **dict(PublicationColumn.choices),
    **dict(PublicationLevel.choices),
    **publication.REVIEW_DECISIONS,
    **dict(CONFIDENTIALITY_ITEMS),
    "submit": "提交送审",
    "delete": "删除拟稿",
}


def _conflict(request: HttpRequest, conflict: publication.PublicationConflict) -> HttpResponse:
    """409：并排显示库中最新的内容与这次提交的内容（字段名、选项都换成中文）。"""
    mine = []
    for key, value in conflict.mine.items():
        shown = "、".join(MINE_VALUES.get(v, v) for v in value) if isinstance(value, list) else value
        mine.append((MINE_LABELS.get(key, key), MINE_VALUES.get(shown, shown)))
    return render(
        request,
        "workplan/publication_conflict.html",
        {"current": conflict.current, "mine": mine},
        status=409,
    )


def _add_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@login_required
@require_GET
def publication_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """一条信息：内容、公开时限、全部审批步骤；按角色显示修改/提交、审核、发布登记。"""
    return _detail(request, access.get_publication_for_user(_user(request), pk))


# ---- 拟稿、修改、提交、删除 ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def publication_create(request: HttpRequest) -> HttpResponse:
    """登记待发布信息：股室人员为本股室，办公室可为任何股室。"""
    user = _user(request)
    if user.role == Role.OFFICE:
        fixed = None
    elif user.role == Role.SECTION and user.section is not None:
        fixed = user.section
    else:
        raise PermissionDenied("只有股室人员和办公室可以登记待发布信息")
    form = PublicationForm(
        request.POST or None,
        request.FILES or None,
        fixed_section=fixed,
        initial={"formed_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = publication.publication_create(
                section=data["section"],
                title=data["title"],
                column=data["column"],
                formed_on=data["formed_on"],
                body=data["body"],
                attachment=data["attachment"],
                task=data["task"],
                user=user,
                request=request,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"已登记：{item.title}。确认无误后请提交送审。")
            return redirect("publication_detail", pk=item.pk)
    return render(request, "workplan/publication_form.html", {"form": form, "item": None})


@login_required
@require_http_methods(["GET", "POST"])
def publication_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """修改拟稿（含被退回的稿件）；送审后不能修改。冲突时 409。"""
    user = _user(request)
    item = access.get_publication_for_user(user, pk, action="edit")
    initial = {
        "version": item.version,
        "title": item.title,
        "column": item.column,
        "formed_on": item.formed_on,
        "body": item.body,
        "task": item.task_id,
    }
    form = PublicationForm(
        request.POST or None,
        request.FILES or None,
        fixed_section=item.section,
        has_attachment=bool(item.attachment),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = publication.publication_update(
                item=item,
                title=data["title"],
                column=data["column"],
                formed_on=data["formed_on"],
                body=data["body"],
                attachment=data["attachment"],
                remove_attachment=data.get("remove_attachment", False),
                task=data["task"],
                user=user,
                expected_version=data["version"] or 0,
                request=request,
            )
        except publication.PublicationConflict as conflict:
            return _conflict(request, conflict)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "已保存修改")
            return redirect("publication_detail", pk=item.pk)
    return render(request, "workplan/publication_form.html", {"form": form, "item": item})


def _versioned_action(
    request: HttpRequest, pk: int, action: Callable[..., Any], success: str, done_url: str | None = None
) -> HttpResponse:
    """拟稿的一步操作（提交送审、删除）：取本人可编辑的稿件，读版本号，调用服务；版本冲突显示两边的内容，
    服务拒绝（ValidationError）把原因逐条提示。成功后到 done_url（缺省为稿件详情）。"""
    user = _user(request)
    item = access.get_publication_for_user(user, pk, action="edit")
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "缺少版本号，请刷新页面后重试")
        return redirect("publication_detail", pk=item.pk)
    try:
        action(item=item, user=user, expected_version=form.cleaned_data["version"], request=request)
    except publication.PublicationConflict as conflict:
        return _conflict(request, conflict)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect("publication_detail", pk=item.pk)
    messages.success(request, success.format(title=item.title))
    return redirect(done_url or reverse("publication_detail", args=[item.pk]))


@login_required
@require_POST
def publication_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """提交送审（拟稿 → 待初审）。"""
    return _versioned_action(request, pk, publication.publication_submit, "已提交送审，等待承办股室初审")


@login_required
@require_POST
def publication_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """删除从未提交过的拟稿。"""
    return _versioned_action(
        request, pk, publication.publication_delete, "已删除拟稿：{title}", reverse("publication_list")
    )


# ---- 三审 ----------------------------------------------------------------------------------------------


@login_required
@require_GET
def publication_queue(request: HttpRequest, level: str) -> HttpResponse:
    """某一级的待审队列，先交先审：初审为本股室的稿件，复审为局长角色，终审为办公室。"""
    if level not in REVIEW_LEVELS:
        raise Http404("未知的审核环节")
    user = _user(request)
    if not access.can_open_publication_queue(user, level):
        raise PermissionDenied(f"你不能担任{PublicationLevel(level).label}")
    items = access.visible_publications(user).awaiting(level).select_related("section", "submitted_by")
    if level == PublicationLevel.FIRST:
        items = items.filter(section_id=user.section_id)
    page = Paginator(items.order_by("submitted_at", "pk"), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "workplan/publication_queue.html",
        {"page": page, "level": level, "level_label": LEVEL_LABELS[level], "queues": _queues_for(user)},
    )


@login_required
@require_POST
def publication_review(request: HttpRequest, pk: int) -> HttpResponse:
    """审核一条信息（当前环节）：通过或退回；终审须确认保密审查。版本过期时 409。"""
    user = _user(request)
    item = access.get_publication_for_user(user, pk)
    if not any(access.can_review_publication(user, item, level) for level in REVIEW_LEVELS):
        raise PermissionDenied("你不能审核这条信息")
    form = PublicationReviewForm(request.POST, level=request.POST.get("level"))
    if not form.is_valid():
        return _detail(request, item, review_form=form, status=400)
    data = form.cleaned_data
    try:
        reviewed = publication.publication_review(
            item=item,
            level=data["level"],
            decision=data["decision"],
            comment=data["comment"],
            checklist=data.get("checklist", ()),
            user=user,
            expected_version=data["version"],
            request=request,
        )
    except publication.PublicationConflict as conflict:
        return _conflict(request, conflict)
    except ValidationError as exc:
        _add_errors(form, exc)
        return _detail(request, item, review_form=form, status=400)
    label = PublicationLevel(data["level"]).label
    messages.success(request, f"{reviewed.title}：{label}{publication.REVIEW_DECISIONS[data['decision']]}")
    return redirect("publication_queue", level=data["level"])


# ---- 发布登记、附件、移交清单 ----------------------------------------------------------------------------


@login_required
@require_POST
def publication_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """办公室登记发布网址与日期（待发布 → 已发布；已发布的可更正）。"""
    user = _user(request)
    item = access.get_publication_for_user(user, pk, action="publish")
    form = PublishForm(request.POST)
    if not form.is_valid():
        return _detail(request, item, publish_form=form, status=400)
    data = form.cleaned_data
    try:
        publication.publication_publish(
            item=item,
            publish_url=data["publish_url"],
            published_on=data["published_on"],
            user=user,
            expected_version=data["version"],
            request=request,
        )
    except publication.PublicationConflict as conflict:
        return _conflict(request, conflict)
    except ValidationError as exc:
        _add_errors(form, exc)
        return _detail(request, item, publish_form=form, status=400)
    messages.success(request, "已登记发布")
    return redirect("publication_detail", pk=item.pk)


@login_required
@require_GET
def publication_attachment(request: HttpRequest, pk: int) -> FileResponse:
    """下载附件：经过权限检查，以附件形式发送。"""
    item = access.get_publication_for_user(_user(request), pk)
    return private_file_response(
        item.attachment, filename=item.attachment_name, content_type=item.attachment_type
    )


@login_required
@require_GET
def publication_archive(request: HttpRequest) -> HttpResponse:
    """月度移交清单：选择月份，下载该月已发布信息的 xlsx（向档案馆移交政府信息公开资料用）。办公室、局长。"""
    user = _user(request)
    if not access.can_read_all(user):
        raise PermissionDenied("仅办公室和局长可以导出移交清单")
    if "month" in request.GET:
        form = ArchiveMonthForm(request.GET)
        if form.is_valid():
            year, month = form.cleaned_data["month"]
            data = archive_transfer_dataset(year=year, month=month)
            audit_record(
                action="publication.archive_export",
                user=user,
                new={"year": year, "month": month},
                request=request,
            )
            return dataset_response(data, fmt="xlsx", filename=f"政府信息公开资料移交清单-{year}年{month}月")
    else:
        last_month = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
        form = ArchiveMonthForm(initial={"month": f"{last_month:%Y-%m}"})
    return render(request, "workplan/publication_archive.html", {"form": form})
