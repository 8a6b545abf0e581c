"""导入计划页面（办公室）：上传工作要点文件 → 预览（任务、股室对应、未知名称）→ 确认或取消；导入记录。

任务多于 IMPORT_INLINE_TASKS 项的导入在长任务队列里确认：预览页（?wait=1）每 3 秒刷新，完成后跳转到工作计划。
"""

from __future__ import annotations

from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_tables2 import RequestConfig

from workplan import access
from workplan.import_preview import (
    ImportRefused,
    check_upload,
    default_title,
    plan_import_preview,
    preview_rows,
    unknown_names,
)
from workplan.importing import (
    MAX_YEAR,
    MIN_YEAR,
    Decision,
    confirm_queued,
    confirms_in_background,
    plan_import_cancel,
    plan_import_confirm,
    plan_import_confirm_enqueue,
)
from workplan.models import PlanImport, Section, WorkPlan
from workplan.table_body import FastBodyTable
from workplan.tables import DateColumn

ACTIONS = [("create", "新建股室"), ("map", "对应已有股室"), ("ignore", "忽略")]
WAIT_PARAM = "wait"  # ?wait=1: the preview page of a background confirm, which moves on to the plan when done
WAIT_REFRESH_SECONDS = 3


# ---------------------------------------------------------------- forms, table, filter


class UploadForm(forms.Form):
    file = forms.FileField(
        label="工作要点文件",
        help_text="支持 .txt、.docx、.xlsx、.csv",
        allow_empty_file=True,  # check_upload gives the Chinese message for 0-byte files
        error_messages={"required": "请选择要上传的文件。", "invalid": "没有收到文件，请重新选择。"},
    )
    year = forms.IntegerField(
        label="年度", required=False, min_value=MIN_YEAR, max_value=MAX_YEAR, help_text="留空则从文件中识别"
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        try:  # size and type before reading the content into memory
            check_upload(name=upload.name, size=upload.size)
        except ImportRefused as exc:
            raise forms.ValidationError(exc.message) from exc
        return upload


class ConfirmForm(forms.Form):
    """确认表单：标题、年度，以及每个未知写法一行（处理方式、对应股室、记住别名、新股室名称）。"""

    title = forms.CharField(label="计划标题", max_length=255)
    year = forms.IntegerField(label="年度", min_value=MIN_YEAR, max_value=MAX_YEAR)

    def __init__(self, *args: Any, unknown: list[dict[str, Any]], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "：")
        super().__init__(*args, **kwargs)
        self.unknown = unknown
        # One query for the section list, shared by every row (a ModelChoiceField would query per row).
        choices = [
            ("", "—— 选择股室 ——"),
            *(
                (str(pk), name)
                for pk, name in Section.objects.filter(is_active=True).values_list("pk", "name")
            ),
        ]
        for i, info in enumerate(unknown):
            self.fields[f"action_{i}"] = forms.ChoiceField(
                label="处理",
                choices=ACTIONS,
                widget=forms.RadioSelect,
                initial="map" if info.get("suggestion_id") else "create",
            )
            self.fields[f"section_{i}"] = forms.TypedChoiceField(
                label="对应股室",
                choices=choices,
                coerce=int,
                required=False,
                empty_value=None,
                initial=str(info["suggestion_id"]) if info.get("suggestion_id") else "",
            )
            self.fields[f"alias_{i}"] = forms.BooleanField(
                label="记住此写法为别名", required=False, initial=True
            )
            self.fields[f"new_name_{i}"] = forms.CharField(
                label="新股室名称", max_length=64, required=False, initial=info["written"]
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for i, info in enumerate(self.unknown):
            if data.get(f"action_{i}") == "map" and not data.get(f"section_{i}"):
                self.add_error(f"section_{i}", f"请为“{info['written']}”选择对应的股室")
        return data

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"info": info, **{k: self[f"{k}_{i}"] for k in ("action", "section", "alias", "new_name")}}
            for i, info in enumerate(self.unknown)
        ]

    def decisions(self) -> dict[str, Decision]:
        d = self.cleaned_data
        return {
            info["written"]: Decision(
                action=d[f"action_{i}"],
                section_id=d.get(f"section_{i}"),
                remember_alias=bool(d.get(f"alias_{i}")),
                new_name=d.get(f"new_name_{i}") or "",
            )
            for i, info in enumerate(self.unknown)
        }


class PlanImportTable(FastBodyTable):
    created_at = DateColumn(verbose_name="上传时间", format="Y-m-d H:i")
    source_name = tables.LinkColumn("plan_import_preview", args=[tables.A("pk")], verbose_name="文件")
    year = tables.Column(verbose_name="年度")
    status = tables.Column(verbose_name="状态")
    created_by = tables.Column(verbose_name="上传人")
    plan = tables.LinkColumn("plan_detail", args=[tables.A("plan_id")], verbose_name="工作计划")

    class Meta:
        model = PlanImport
        fields = ("created_at", "source_name", "year", "status", "created_by", "plan")
        order_by = ("-created_at",)
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "暂无导入记录"


class PlanImportFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label="状态", choices=PlanImport.Status.choices, empty_label="全部")

    class Meta:
        model = PlanImport
        fields = ["status"]


# ---------------------------------------------------------------- views


def _get_import(pk: int) -> PlanImport:
    return get_object_or_404(
        PlanImport.objects.select_related("plan", "created_by"), pk=pk, kind=PlanImport.Kind.DOCUMENT
    )


def _render_preview(request: HttpRequest, plan_import: PlanImport, form: ConfirmForm | None) -> HttpResponse:
    result = plan_import.result or {}
    return render(
        request,
        "workplan/import_preview.html",
        {
            "imp": plan_import,
            "parse": result.get("parse") or {},
            "summary": result.get("summary") or {},
            "duplicate": result.get("duplicate"),
            "confirm": result.get("confirm"),
            "confirm_error": (
                result.get("confirm_error") if plan_import.status == PlanImport.Status.PREVIEW else ""
            ),
            "queued": confirm_queued(plan_import),
            "refresh": WAIT_REFRESH_SECONDS if confirm_queued(plan_import) else 0,
            "rows": preview_rows(plan_import),
            "groups": [
                {"written": n, **i} for n, i in (result.get("names") or {}).items() if i["kind"] == "group"
            ],
            "form": form,
        },
    )


def _confirm_form(plan_import: PlanImport, data: Any = None) -> ConfirmForm:
    parse = (plan_import.result or {}).get("parse") or {}
    initial = {"title": default_title(plan_import), "year": plan_import.year or parse.get("year")}
    return ConfirmForm(data, initial=initial, unknown=unknown_names(plan_import))


@login_required
@access.office_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    qs = PlanImport.objects.filter(kind=PlanImport.Kind.DOCUMENT).select_related("created_by", "plan")
    flt = PlanImportFilter(request.GET, queryset=qs.order_by("-created_at"))
    table = PlanImportTable(flt.qs)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return render(request, "workplan/import_list.html", {"table": table, "filter": flt})


@login_required
@access.office_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    issues: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            plan_import = plan_import_preview(
                name=upload.name,
                data=upload.read(),
                year=form.cleaned_data.get("year"),
                user=request.user,
                request=request,  # type: ignore[arg-type]
            )
        except ImportRefused as exc:
            form.add_error("file", exc.message)
            issues = exc.issues
        else:
            return redirect("plan_import_preview", pk=plan_import.pk)
    return render(
        request,
        "workplan/import_upload.html",
        {
            "form": form,
            "issues": issues,
            "max_mb": settings.MAX_UPLOAD_BYTES // (1024 * 1024),
        },
    )


@login_required
@access.office_required
@require_GET
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    plan_import = _get_import(pk)
    if request.GET.get(WAIT_PARAM) and plan_import.status == PlanImport.Status.CONFIRMED and plan_import.plan:
        return _confirmed(request, plan_import, plan_import.plan)
    pending = plan_import.status == PlanImport.Status.PREVIEW and not confirm_queued(plan_import)
    return _render_preview(request, plan_import, _confirm_form(plan_import) if pending else None)


def _confirmed(request: HttpRequest, plan_import: PlanImport, plan: WorkPlan) -> HttpResponse:
    summary = (plan_import.result or {}).get("confirm") or {}
    messages.success(
        request,
        f"已导入《{plan.title}》：任务 {summary.get('tasks', 0)} 项，"
        f"新建股室 {summary.get('sections_created', 0)} 个",
    )
    for warning in summary.get("warnings", [])[:10]:
        messages.warning(request, warning)
    return redirect("plan_detail", pk=plan.pk)


@login_required
@access.office_required
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    plan_import = _get_import(pk)
    if plan_import.status == PlanImport.Status.CONFIRMED and plan_import.plan_id:
        return redirect("plan_detail", pk=plan_import.plan_id)
    form = _confirm_form(plan_import, request.POST)
    if not form.is_valid():
        return _render_preview(request, plan_import, form)
    if confirms_in_background(plan_import):
        try:
            plan_import_confirm_enqueue(
                plan_import=plan_import,
                decisions=form.decisions(),
                year=form.cleaned_data["year"],
                title=form.cleaned_data["title"],
                user=request.user,  # type: ignore[arg-type]
                request=request,
            )
        except ImportRefused as exc:
            messages.error(request, exc.message)
            return redirect("plan_import_preview", pk=pk)
        return redirect(f"{reverse('plan_import_preview', args=[pk])}?{WAIT_PARAM}=1")
    try:
        plan = plan_import_confirm(
            plan_import=plan_import,
            decisions=form.decisions(),
            year=form.cleaned_data["year"],
            title=form.cleaned_data["title"],
            user=request.user,
            request=request,  # type: ignore[arg-type]
        )
    except ImportRefused as exc:
        messages.error(request, exc.message)
        return redirect("plan_import_preview", pk=pk)
    return _confirmed(request, plan_import, plan)


@login_required
@access.office_required
@require_POST
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    plan_import = _get_import(pk)
    try:
        plan_import_cancel(plan_import=plan_import, user=request.user, request=request)  # type: ignore[arg-type]
    except ImportRefused as exc:
        messages.error(request, exc.message)
        return redirect("plan_import_preview", pk=pk)
    messages.info(request, f"已取消导入“{plan_import.source_name}”")
    return redirect("plan_import_list")
