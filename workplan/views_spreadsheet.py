"""任务表格页面：导出计划任务（xlsx/csv）、回导修改后的表格（上传 → 差异预览 → 确认）。"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from workplan import access, file_jobs, sheet_export, sheet_format, sheet_reading, spreadsheet
from workplan.exporting import CONTENT_TYPES
from workplan.file_jobs import JobContext, TableExport, param
from workplan.models import PlanImport

DIFF_ROWS_SHOWN = 500


class SheetUploadForm(forms.Form):
    file = forms.FileField(label="修改后的任务表（.xlsx 或 .csv）")

    def clean_file(self):  # type: ignore[no-untyped-def]
        upload = self.cleaned_data["file"]
        if upload.size > settings.MAX_UPLOAD_BYTES:
            limit = settings.MAX_UPLOAD_BYTES // 1024 // 1024
            raise forms.ValidationError(
                f"文件过大（{upload.size / 1024 / 1024:.1f} MB），上限为 {limit} MB。"
            )
        return upload


@login_required
@require_GET
def plan_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """计划的任务表（可在 Excel 中修改后回导）：任务多于 EXPORT_INLINE_ROWS 时转为后台任务。"""
    if fmt not in CONTENT_TYPES:
        raise Http404("不支持的导出格式")
    return file_jobs.deliver(request, kind="plan_tasks", params={"plan": [str(pk)], "format": [fmt]})


def plan_tasks_export(ctx: JobContext) -> TableExport:
    """办公室、局长导出整个计划的任务表；写审计日志 plan.export（格式、行数）。"""
    plan = access.get_plan_for_user(ctx.user, int(param(ctx, "plan", "0")))
    if not access.can_read_all(ctx.user):
        raise PermissionDenied("仅办公室和局长可以导出整个计划的任务表")
    tasks = sheet_export.export_queryset(plan)
    size = tasks.count()
    fmt = param(ctx, "format")
    return TableExport(
        filename=f"{plan.year}年工作任务-{plan.pk}",
        fmt=fmt,
        headers=sheet_format.HEADERS,
        rows=(sheet_export.export_row(task) for task in tasks),
        size=size,
        sheet_title="工作任务",
        audit_action="plan.export",
        audit_obj=plan,
        audit_new={"format": fmt, "rows": size},
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_reimport(request: HttpRequest, pk: int) -> HttpResponse:
    plan = access.get_plan_for_user(request.user, pk, write=True)  # type: ignore[arg-type]
    form = SheetUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = spreadsheet.plan_tasks_preview_sheet(
                plan=plan,
                filename=upload.name,
                data=upload.read(),
                user=request.user,  # type: ignore[arg-type]
                max_bytes=settings.MAX_UPLOAD_BYTES,
                request=request,
            )
        except sheet_reading.SheetFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("plan_reimport_confirm", pk=plan.pk, batch_pk=batch.pk)
    return render(
        request,
        "workplan/reimport_upload.html",
        {"plan": plan, "form": form, "headers": sheet_format.HEADERS},
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_reimport_confirm(request: HttpRequest, pk: int, batch_pk: int) -> HttpResponse:
    plan = access.get_plan_for_user(request.user, pk, write=True)  # type: ignore[arg-type]
    batch = get_object_or_404(PlanImport, pk=batch_pk, plan=plan, kind=PlanImport.Kind.UPDATE)
    if request.method == "POST":
        try:
            counts = spreadsheet.plan_tasks_update_from_sheet(
                plan=plan,
                batch=batch,
                user=request.user,  # type: ignore[arg-type]
                max_bytes=settings.MAX_UPLOAD_BYTES,
                request=request,
            )
        except spreadsheet.SheetApplyError as exc:
            messages.error(request, str(exc))
            return redirect("plan_reimport_confirm", pk=plan.pk, batch_pk=batch.pk)
        messages.success(
            request,
            f"已导入：新增 {counts['new']} 项，修改 {counts['changed']} 项，未变 {counts['unchanged']} 项；"
            f"文件中没有的 {counts['missing']} 项保留不动。",
        )
        return redirect("plan_detail", pk=plan.pk)
    result = batch.result or {}
    return render(
        request,
        "workplan/reimport_diff.html",
        {
            "plan": plan,
            "batch": batch,
            "result": result,
            "counts": result.get("counts", {}),
            "new_rows": result.get("new", [])[:DIFF_ROWS_SHOWN],
            "changed_rows": result.get("changed", [])[:DIFF_ROWS_SHOWN],
            "errors": result.get("errors", [])[:DIFF_ROWS_SHOWN],
            "shown": DIFF_ROWS_SHOWN,
            "can_apply": batch.status == PlanImport.Status.PREVIEW and not result.get("errors"),
        },
    )
