"""列表页面：进展报送、佐证材料、审计日志；以及任务清单共用的查询与导出辅助。

每个列表：访问范围来自 access.visible_*，筛选来自 filters，表格来自 tables；
?_export=xlsx|csv 导出当前筛选（与排序）下的全部行。
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_filters import FilterSet
from django_tables2 import LazyPaginator, RequestConfig, Table

from workplan import access
from workplan.audit import audit_record
from workplan.exporting import CONTENT_TYPES, table_response
from workplan.filters import AuditFilter, EvidenceFilter, ReportFilter
from workplan.models import AuditEntry, ProgressReport, Section, Task, TaskAssignment
from workplan.tables import AuditTable, EvidenceTable, ReportTable

EXPORT_PARAM = "_export"
EXPORT_FORMATS = ("xlsx", "csv")


def export_links(request: HttpRequest) -> list[tuple[str, str]]:
    """当前筛选与排序下的导出链接（去掉分页参数）。"""
    params = request.GET.copy()
    params.pop("page", None)
    links = []
    for fmt in EXPORT_FORMATS:
        params[EXPORT_PARAM] = fmt
        links.append((fmt, "?" + params.urlencode()))
    return links


def list_response(
    request: HttpRequest,
    *,
    table: Table,
    filterset: FilterSet,
    template: str,
    filename: str,
    per_page: int = 50,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """渲染列表页，或按 ?_export= 导出筛选后的全部行（与页面同一排序）。

    分页用 LazyPaginator：这些列表都随年度、季度增长，且带 DISTINCT/连接，不做 COUNT(*)，
    只多取一行判断是否有下一页。
    """
    fmt = request.GET.get(EXPORT_PARAM)
    if fmt in CONTENT_TYPES:
        RequestConfig(request, paginate=False).configure(table)
        return table_response(table, fmt=fmt, filename=filename)
    RequestConfig(request, paginate={"per_page": per_page, "paginator_class": LazyPaginator}).configure(table)
    ctx = {"table": table, "filter": filterset, "export_links": export_links(request)}
    return render(request, template, {**ctx, **(context or {})})


def tasks_for_list(qs: QuerySet[Task], *, section: Section | None = None) -> QuerySet[Task]:
    """任务清单的查询集：年度、分工（含股室）一起取出，并注解最近一次报送（选了股室时为该股室的）。

    最近报送用相关子查询注解而非逐行查询：行数增加时查询数不变。
    """
    latest = ProgressReport.objects.filter(task=OuterRef("pk"))
    if section is not None:
        latest = latest.filter(section=section)
    latest = latest.order_by("-year", "-quarter", "-submitted_at", "-pk")
    return (
        qs.select_related("plan")
        .prefetch_related(Prefetch("assignments", queryset=TaskAssignment.objects.select_related("section")))
        .annotate(
            latest_year=Subquery(latest.values("year")[:1]),
            latest_quarter=Subquery(latest.values("quarter")[:1]),
            latest_status=Subquery(latest.values("status")[:1]),
            latest_review_state=Subquery(latest.values("review_state")[:1]),
        )
    )


@login_required
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    reports = (
        access.visible_reports(request.user)  # type: ignore[arg-type]
        .select_related("task__plan", "section", "submitted_by", "reviewed_by")
        .annotate(evidence_count=Count("evidence", filter=Q(evidence__removed_at__isnull=True)))
        .order_by("-year", "-quarter", "task__plan_id", "task__position", "section__sort_order")
    )
    report_filter = ReportFilter(request.GET, queryset=reports)
    return list_response(
        request,
        table=ReportTable(report_filter.qs),
        filterset=report_filter,
        template="workplan/report_list.html",
        filename="进展报送",
    )


@login_required
@require_GET
def evidence_list(request: HttpRequest) -> HttpResponse:
    evidence = (
        access.visible_evidence(request.user)  # type: ignore[arg-type]
        .select_related("report__task", "report__section", "uploaded_by")
        .order_by("-uploaded_at", "-pk")
    )
    evidence_filter = EvidenceFilter(request.GET, queryset=evidence)
    return list_response(
        request,
        table=EvidenceTable(evidence_filter.qs),
        filterset=evidence_filter,
        template="workplan/evidence_list.html",
        filename="佐证材料",
    )


@login_required
@permission_required("workplan.view_auditentry", raise_exception=True)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    """审计日志浏览（审计管理员专用，即有 workplan.view_auditentry 权限者；只读：本系统没有修改或
    删除审计记录的页面）。"""
    audit_filter = AuditFilter(request.GET, queryset=AuditEntry.objects.order_by("-at", "-id"))
    response = list_response(
        request,
        table=AuditTable(audit_filter.qs),
        filterset=audit_filter,
        template="workplan/audit_list.html",
        filename="审计日志",
    )
    fmt = request.GET.get(EXPORT_PARAM)
    if fmt in CONTENT_TYPES:
        # The log holds usernames and IP addresses: taking a copy out of the system is itself recorded
        # (after the export is built, so the file does not contain its own entry).
        criteria = {k: v for k, v in request.GET.items() if k != EXPORT_PARAM and v}
        audit_record(
            action="audit.export",
            user=request.user,  # type: ignore[arg-type]
            new={"format": fmt, "filters": criteria},
            request=request,
        )
    return response
