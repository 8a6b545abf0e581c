"""列表页面：进展报送、佐证材料、审计日志；以及任务清单共用的查询与导出辅助。

每个列表：访问范围来自 access.visible_*，筛选来自 filters，表格来自 tables；
?_export=xlsx|csv 导出当前筛选（与排序）下的全部行：行数超过 EXPORT_INLINE_ROWS 时转为后台任务
（workplan.file_jobs），后台按同一个 *_export(ctx) 函数、以提交人的权限重新查询。
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_filters import FilterSet
from django_tables2 import LazyPaginator, RequestConfig, Table

from workplan import access, file_jobs
from workplan.exporting import CONTENT_TYPES
from workplan.file_jobs import JobContext, TableExport, param, table_export
from workplan.filters import AuditFilter, EvidenceFilter, ReportFilter
from workplan.models import AuditEntry, ProgressReport, Section, Task, TaskAssignment, User
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
    export_kind: str,
    per_page: int = 50,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """渲染列表页，或按 ?_export= 导出筛选后的全部行（与页面同一排序）：export_kind 是登记在
    workplan.file_jobs 的导出类型，它的 *_export(ctx) 与本页用同一个查询。

    分页用 LazyPaginator：这些列表都随年度、季度增长，且带 DISTINCT/连接，不做 COUNT(*)，
    只多取一行判断是否有下一页。
    """
    if request.GET.get(EXPORT_PARAM) in CONTENT_TYPES:
        return file_jobs.deliver(request, kind=export_kind)
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


def _reports(user: User, query: Any) -> tuple[ReportTable, ReportFilter]:
    reports = (
        access.visible_reports(user)
        .select_related("task__plan", "section", "submitted_by", "reviewed_by")
        .annotate(evidence_count=Count("evidence", filter=Q(evidence__removed_at__isnull=True)))
        .order_by("-year", "-quarter", "task__plan_id", "task__position", "section__sort_order")
    )
    report_filter = ReportFilter(query, queryset=reports)
    return ReportTable(report_filter.qs), report_filter


@login_required
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    table, report_filter = _reports(request.user, request.GET)  # type: ignore[arg-type]
    return list_response(
        request,
        table=table,
        filterset=report_filter,
        template="workplan/report_list.html",
        export_kind="report_list",
    )


def report_list_export(ctx: JobContext) -> TableExport:
    return table_export(ctx, _reports(ctx.user, ctx.query)[0], filename="进展报送")


def _evidence(user: User, query: Any) -> tuple[EvidenceTable, EvidenceFilter]:
    evidence = (
        access.visible_evidence(user)
        .select_related("report__task", "report__section", "uploaded_by")
        .order_by("-uploaded_at", "-pk")
    )
    evidence_filter = EvidenceFilter(query, queryset=evidence)
    return EvidenceTable(evidence_filter.qs), evidence_filter


@login_required
@require_GET
def evidence_list(request: HttpRequest) -> HttpResponse:
    table, evidence_filter = _evidence(request.user, request.GET)  # type: ignore[arg-type]
    return list_response(
        request,
        table=table,
        filterset=evidence_filter,
        template="workplan/evidence_list.html",
        export_kind="evidence_list",
    )


def evidence_list_export(ctx: JobContext) -> TableExport:
    return table_export(ctx, _evidence(ctx.user, ctx.query)[0], filename="佐证材料")


AUDIT_PERMISSION = "workplan.view_auditentry"


def _audit(query: Any) -> tuple[AuditTable, AuditFilter]:
    audit_filter = AuditFilter(query, queryset=AuditEntry.objects.order_by("-at", "-id"))
    return AuditTable(audit_filter.qs), audit_filter


@login_required
@permission_required(AUDIT_PERMISSION, raise_exception=True)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    """审计日志浏览（审计管理员专用，即有 workplan.view_auditentry 权限者；只读：本系统没有修改或
    删除审计记录的页面）。"""
    table, audit_filter = _audit(request.GET)
    return list_response(
        request,
        table=table,
        filterset=audit_filter,
        template="workplan/audit_list.html",
        export_kind="audit_list",
    )


def audit_list_export(ctx: JobContext) -> TableExport:
    """审计日志导出：日志里有用户名与 IP，拿出系统本身也记一笔（audit.export，在文件生成之后写，
    文件里不含它自己那一条）。后台生成时同样先检查提交人现在是否仍有查看审计日志的权限。"""
    if not ctx.user.has_perm(AUDIT_PERMISSION):
        raise PermissionDenied("仅审计管理员可以导出审计日志")
    fmt = param(ctx, EXPORT_PARAM)
    criteria = {k: v[-1] for k, v in ctx.params.items() if k != EXPORT_PARAM and v and v[-1]}
    return table_export(
        ctx,
        _audit(ctx.query)[0],
        filename="审计日志",
        audit_action="audit.export",
        audit_new={"format": fmt, "filters": criteria},
    )
