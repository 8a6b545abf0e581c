"""页面：季度进展报送（含冲突处理）、佐证材料上传/撤回/下载、办公室审核队列与审核。

视图只做衔接：access 取对象并判断权限 → 表单 → reporting 服务 → 跳转或渲染。
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from workplan import access, reporting
from workplan.downloads import private_file_response
from workplan.forms_progress import (
    QUARTER_CHOICES,
    EvidenceForm,
    ReportForm,
    ReviewForm,
    ReviewQueueFilterForm,
)
from workplan.models import Evidence, ProgressReport, ReportEvent, ReportStatus, ReviewState, Task, User
from workplan.periods import quarter_of

QUEUE_PAGE_SIZE = 50


def _report_detail_qs() -> Any:
    """报送连同其历史与佐证材料（两次预取查询，与报送条数无关）。"""
    return ProgressReport.objects.select_related("section", "submitted_by", "reviewed_by").prefetch_related(
        Prefetch("events", queryset=ReportEvent.objects.select_related("user")),
        Prefetch("evidence", queryset=Evidence.objects.select_related("uploaded_by")),
    )


def task_history_context(user: User, task: Task) -> dict[str, Any]:
    """任务详情页的“报送历史”部分所需的上下文（供 workplan.views.task_detail 合并）。

    按季度分组（新的在前），每组内按股室排序；能看到哪些报送由 access.visible_reports 决定。
    """
    reports = (
        _report_detail_qs()
        .filter(pk__in=access.visible_reports(user).filter(task=task).values("pk"))
        .order_by("-year", "-quarter", "section__sort_order", "section__name")
    )
    groups: list[dict[str, Any]] = []
    for report in reports:
        if not groups or (groups[-1]["year"], groups[-1]["quarter"]) != (report.year, report.quarter):
            groups.append({"year": report.year, "quarter": report.quarter, "reports": []})
        groups[-1]["reports"].append(report)
    return {
        "history_groups": groups,
        "can_report": access.can_report_for(user, task),
        "can_review": access.can_review(user),
        "user_section_id": user.section_id,
    }


def _default_quarter(task: Task) -> tuple[int, int]:
    """默认报送的季度：计划年度内取当前季度；计划年度已过取第四季度，未到取第一季度。"""
    year, quarter = quarter_of(timezone.localdate())
    if year == task.plan.year:
        return year, quarter
    return (task.plan.year, 4) if year > task.plan.year else (task.plan.year, 1)


def _requested_quarter(request: HttpRequest, task: Task) -> tuple[int, int]:
    try:
        year, quarter = int(request.GET["year"]), int(request.GET["quarter"])
    except (KeyError, ValueError):
        return _default_quarter(task)
    return (year, quarter) if 1 <= quarter <= 4 else _default_quarter(task)


def _edit_url(task_id: int, year: int, quarter: int) -> str:
    return f"{reverse('report_edit', args=[task_id])}?year={year}&quarter={quarter}"


def _report_initial(report: ProgressReport | None, year: int, quarter: int) -> dict[str, Any]:
    initial: dict[str, Any] = {"year": year, "quarter": quarter}
    if report is not None:
        initial.update(
            status=report.status, narrative=report.narrative, reason=report.reason, version=report.version
        )
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def report_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """报送或修改本股室某季度的进展；冲突时返回 409 并并排显示两份内容。"""
    user: User = request.user  # type: ignore[assignment]
    task = access.get_task_for_reporting(user, pk)
    year, quarter = _requested_quarter(request, task)
    form = ReportForm(request.POST or None, initial=_report_initial(None, year, quarter))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        year, quarter = data["year"], data["quarter"]
        try:
            reporting.report_submit(
                task=task,
                section=user.section,  # type: ignore[arg-type]
                year=year,
                quarter=quarter,
                status=data["status"],
                narrative=data["narrative"],
                reason=data["reason"],
                user=user,
                expected_version=data["version"],
                request=request,
            )
        except reporting.ReportConflict as conflict:
            return _conflict_response(request, task=task, conflict=conflict, year=year, quarter=quarter)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"{year}年第{quarter}季度进展已报送，可继续添加佐证材料")
            return redirect(_edit_url(task.pk, year, quarter))
    report = (
        _report_detail_qs().filter(task=task, section_id=user.section_id, year=year, quarter=quarter).first()
    )
    if request.method == "GET":
        form = ReportForm(initial=_report_initial(report, year, quarter))
    return render(
        request,
        "workplan/report_edit.html",
        {
            "task": task,
            "report": report,
            "form": form,
            "year": year,
            "quarter": quarter,
            "quarters": [(n, label, _edit_url(task.pk, task.plan.year, n)) for n, label in QUARTER_CHOICES],
            "locked": report is not None and report.review_state == ReviewState.ACCEPTED,
            "evidence_form": EvidenceForm(),
            "next_url": _edit_url(task.pk, year, quarter),
        },
    )


def _add_errors(form: Any, exc: ValidationError) -> None:
    """把服务的 ValidationError 放到表单上：表单里有的字段挂在字段上，其余作为整体错误。"""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _conflict_response(
    request: HttpRequest, *, task: Task, conflict: reporting.ReportConflict, year: int, quarter: int
) -> HttpResponse:
    current = conflict.current
    form = ReportForm(initial={**conflict.mine, "year": year, "quarter": quarter, "version": current.version})
    return render(
        request,
        "workplan/report_conflict.html",
        {
            "task": task,
            "current": current,
            "mine": conflict.mine,
            "mine_status_label": dict(ReportStatus.choices).get(conflict.mine.get("status", ""), ""),
            "form": form,
            "locked": current.review_state == ReviewState.ACCEPTED,
            "year": year,
            "quarter": quarter,
        },
        status=409,
    )


def _next_or(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    # Only a local path: a bare word would be taken by redirect() as a URL name (NoReverseMatch → 500).
    if target.startswith("/") and not target.startswith("//") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _flash_errors(request: HttpRequest, errors: Iterable[str]) -> None:
    for error in errors:
        messages.error(request, error)


@login_required
@require_POST
def evidence_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """为报送添加佐证材料：上传文件或填写链接。完成后回到来源页面。"""
    user: User = request.user  # type: ignore[assignment]
    report = access.get_report_for_user(user, pk, write=True)
    back = _next_or(request, reverse("task_detail", args=[report.task_id]))
    form = EvidenceForm(request.POST, request.FILES)
    if not form.is_valid():
        _flash_errors(request, [str(e) for errors in form.errors.values() for e in errors])
        return redirect(back)
    data = form.cleaned_data
    try:
        if data["kind"] == Evidence.Kind.FILE:
            evidence = reporting.evidence_add_file(
                report=report, uploaded_file=data["file"], note=data["note"], user=user, request=request
            )
        else:
            evidence = reporting.evidence_add_link(
                report=report,
                url=data["url"],
                published_on=data["published_on"],
                note=data["note"],
                user=user,
                request=request,
            )
    except ValidationError as exc:
        _flash_errors(request, exc.messages)
    else:
        messages.success(request, f"已添加佐证材料：{evidence}")
    return redirect(back)


@login_required
@require_POST
def evidence_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """撤回佐证材料（保留在历史中）。"""
    user: User = request.user  # type: ignore[assignment]
    evidence = access.get_evidence_for_user(user, pk, write=True)
    back = _next_or(request, reverse("task_detail", args=[evidence.report.task_id]))
    try:
        reporting.evidence_remove(evidence=evidence, user=user, request=request)
    except ValidationError as exc:
        _flash_errors(request, exc.messages)
    else:
        messages.success(request, f"已撤回佐证材料：{evidence}")
    return redirect(back)


@login_required
@require_GET
def evidence_download(request: HttpRequest, pk: int) -> FileResponse:
    """下载佐证文件：经过权限检查，以附件形式发送（不经公开的 MEDIA 地址）。"""
    evidence = access.get_evidence_for_user(request.user, pk)  # type: ignore[arg-type]
    if evidence.kind != Evidence.Kind.FILE:
        raise Http404("没有可下载的文件")
    return private_file_response(
        evidence.file, filename=evidence.original_name, content_type=evidence.content_type
    )


@login_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    """办公室的审核队列：待审核的报送，先报先审；可按年度、季度、股室筛选。"""
    if not access.can_review(request.user):  # type: ignore[arg-type]
        raise PermissionDenied("仅办公室可以审核报送")
    filter_form = ReviewQueueFilterForm(request.GET or None)
    reports = (
        ProgressReport.objects.pending_review()
        .select_related("task__plan", "section", "submitted_by")
        .annotate(evidence_count=Count("evidence", filter=Q(evidence__removed_at__isnull=True)))
        .order_by("submitted_at", "pk")
    )
    if filter_form.is_valid():
        data = filter_form.cleaned_data
        if data["year"]:
            reports = reports.filter(year=data["year"])
        if data["quarter"]:
            reports = reports.filter(quarter=data["quarter"])
        if data["section"]:
            reports = reports.filter(section=data["section"])
    page = Paginator(reports, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "workplan/report_review_queue.html",
        {"page": page, "filter_form": filter_form, "query": params.urlencode()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def report_review(request: HttpRequest, pk: int) -> HttpResponse:
    """审核一份报送：看内容、历史和佐证材料，通过或退回（带意见）。冲突时 409。"""
    user: User = request.user  # type: ignore[assignment]
    report = access.get_report_for_review(user, pk)
    form = ReviewForm(request.POST or None, initial={"version": report.version, "decision": reporting.ACCEPT})
    conflict: reporting.ReportConflict | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            reviewed = reporting.report_review(
                report=report,
                decision=data["decision"],
                comment=data["comment"],
                user=user,
                expected_version=data["version"],
                request=request,
            )
        except reporting.ReportConflict as exc:
            conflict = exc
            form = ReviewForm(initial={**exc.mine, "version": exc.current.version})
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            verdict = "已通过" if reviewed.review_state == ReviewState.ACCEPTED else "已退回修改"
            messages.success(request, f"{reviewed}：{verdict}")
            return redirect("review_queue")
    detail = _report_detail_qs().select_related("task__plan").get(pk=report.pk)
    return render(
        request,
        "workplan/report_review.html",
        {
            "report": detail,
            "task": detail.task,
            "form": form,
            "conflict": conflict,
            "reviewable": detail.review_state == ReviewState.SUBMITTED,
        },
        status=409 if conflict else 200,
    )
