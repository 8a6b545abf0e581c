"""报告下载页面：季度报告（{单位}{年}年第N季度政务公开工作情况，docx 或 xlsx）与通报的 Word 文件。

办公室与局长可以生成、下载；其他角色 403。每次生成都写审计日志。计划的任务多于 REPORT_INLINE_TASKS 项时，
季度报告转为后台任务（“我的后台任务”），按同一表单内容在长任务队列中生成。
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from scoring import access
from scoring.reports import gongwen
from scoring.reports.gongwen import cn_number
from scoring.reports.notice_doc import notice_docx_response
from scoring.reports.quarterly import QuarterlyData, QuarterlyOptions, collect_quarterly, quarterly_title
from scoring.reports.quarterly_doc import build_quarterly_docx, build_quarterly_xlsx, default_next_steps
from workplan import file_jobs
from workplan.audit import audit_record
from workplan.exporting import CONTENT_TYPES
from workplan.file_jobs import FileResult, JobContext, JobRefused
from workplan.models import CriticismNotice, NoticeStatus, OfficeSettings, Task, User, WorkPlan
from workplan.periods import previous_quarter, quarter_of

QUARTER_CHOICES = [(1, "第一季度"), (2, "第二季度"), (3, "第三季度"), (4, "第四季度")]
FORMAT_CHOICES = [("docx", "Word（docx）"), ("xlsx", "Excel（xlsx）")]


class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.year}年 {obj.title}"


class QuarterSelectForm(forms.Form):
    """选择年度、季度与工作计划（GET）。"""

    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(label="季度", choices=QUARTER_CHOICES, coerce=int)
    plan = PlanChoiceField(label="工作计划", queryset=WorkPlan.objects.order_by("-year", "-created_at"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        plan, year = data.get("plan"), data.get("year")
        if plan is not None and year is not None and plan.year != year:
            self.add_error("plan", f"所选工作计划是{plan.year}年的，与报告年度不一致")
        return data


class QuarterlyReportForm(QuarterSelectForm):
    """生成季度报告（POST）：在选择之外，填写下一步工作、文号、主送、抄送与成文日期。"""

    next_steps = forms.CharField(
        label="三、下一步工作",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 90}),
        help_text="每行一段；以“（一）”开头的行，首句排为楷体小标题。",
    )
    doc_number = forms.CharField(label="文号", max_length=64, required=False)
    recipients = forms.CharField(label="主送", max_length=255, required=False)
    cc = forms.CharField(label="抄送", max_length=255, required=False)
    signed_on = forms.DateField(label="成文日期", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    format = forms.ChoiceField(label="格式", choices=FORMAT_CHOICES, initial="docx")


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _default_selection(today: datetime.date) -> dict[str, Any]:
    """默认：最近结束的季度，以及该年度最新导入的工作计划（没有则最新的计划）。"""
    year, quarter = previous_quarter(*quarter_of(today))
    plan = WorkPlan.objects.filter(year=year).order_by("-created_at", "-pk").first()
    if plan is None:
        plan = WorkPlan.objects.order_by("-year", "-created_at", "-pk").first()
        if plan is not None:
            year = plan.year
    return {"year": year, "quarter": quarter, "plan": plan}


def _default_doc_number(year: int) -> str:
    prefix = OfficeSettings.current().notice_prefix.strip()
    base = prefix[:-1] if prefix.endswith("通") else prefix
    return f"{base}发〔{year}〕　号" if base else ""


def _page(
    request: HttpRequest, select: QuarterSelectForm, form: QuarterlyReportForm | None, *, status: int = 200
) -> HttpResponse:
    data: QuarterlyData | None = None
    if select.is_valid():
        d = select.cleaned_data
        data = collect_quarterly(
            plan=d["plan"], year=d["year"], quarter=d["quarter"], today=timezone.localdate()
        )
        if form is None:
            form = QuarterlyReportForm(
                initial={
                    "year": d["year"],
                    "quarter": d["quarter"],
                    "plan": d["plan"].pk,
                    "next_steps": default_next_steps(data),
                    "doc_number": _default_doc_number(d["year"]),
                    "signed_on": timezone.localdate(),
                    "format": "docx",
                }
            )
    return render(
        request,
        "scoring/report_quarterly.html",
        {
            "select": select,
            "form": form,
            "data": data,
            "title": quarterly_title(data) if data else "季度报告",
            "has_plans": WorkPlan.objects.exists(),
        },
        status=status,
    )


@login_required
@require_GET
def quarterly_report(request: HttpRequest) -> HttpResponse:
    """季度报告：选择年度、季度与工作计划，预览数据来源与要点，填写“下一步工作”后生成 docx 或 xlsx。"""
    access.require_read_all(_user(request), "生成季度报告")
    if "year" in request.GET:
        select = QuarterSelectForm(request.GET)
    else:
        initial = _default_selection(timezone.localdate())
        select = QuarterSelectForm(
            {
                "year": initial["year"],
                "quarter": initial["quarter"],
                "plan": getattr(initial["plan"], "pk", ""),
            }
        )
    return _page(request, select, None)


@login_required
@require_POST
def quarterly_report_download(request: HttpRequest) -> HttpResponse:
    """生成季度报告并下载；任务多于 REPORT_INLINE_TASKS 项时转为后台任务（见 quarterly_report_prepare）。"""
    access.require_read_all(_user(request), "生成季度报告")
    form = QuarterlyReportForm(request.POST)
    if not form.is_valid():
        select = QuarterSelectForm({k: request.POST.get(k, "") for k in ("year", "quarter", "plan")})
        return _page(request, select, form, status=400)
    params = {name: request.POST.getlist(name) for name in form.fields}  # the form's fields only
    return file_jobs.deliver(request, kind="report_quarterly", params=params)


@dataclass
class QuarterlyReportFile:
    """准备好的季度报告（workplan.file_jobs 的“待生成文件”）：大小为计划的任务数
    （Word 文稿每项任务约 4 毫秒）。"""

    form_data: dict[str, Any]
    size: int
    unit: str = "项任务"

    @property
    def title(self) -> str:
        d = self.form_data
        return f"{d['year']}年第{cn_number(d['quarter'])}季度政务公开工作情况.{d['format']}"

    def build(self, ctx: JobContext) -> FileResult:
        """取数、成文，写审计日志 report.quarterly.generate。季度已关账取快照，否则取生成时的实时数据。"""
        d = self.form_data
        today = timezone.localdate()
        data = collect_quarterly(plan=d["plan"], year=d["year"], quarter=d["quarter"], today=today)
        ctx.report_progress(20)
        title = quarterly_title(data)
        if d["format"] == "xlsx":
            result = FileResult(f"{title}.xlsx", build_quarterly_xlsx(data), CONTENT_TYPES["xlsx"])
        else:
            options = QuarterlyOptions(
                next_steps=d["next_steps"],
                signed_on=d["signed_on"],
                doc_number=d["doc_number"],
                recipients=d["recipients"],
                cc=d["cc"],
            )
            payload = build_quarterly_docx(data, options)
            result = FileResult(f"{title}.docx", payload, gongwen.DOCX_CONTENT_TYPE)
        audit_record(
            action="report.quarterly.generate",
            user=ctx.user,
            obj=d["plan"],
            new={
                "year": d["year"],
                "quarter": d["quarter"],
                "format": d["format"],
                "source": data.source,
                "tasks": data.total,
            },
            request=ctx.request,
            object_repr=title,
        )
        return result


def quarterly_report_prepare(ctx: JobContext) -> QuarterlyReportFile:
    """季度报告（页面与后台任务共用）：按提交人现在的权限、保存的表单内容重新校验（计划已删除等则失败）。"""
    access.require_read_all(ctx.user, "生成季度报告")
    form = QuarterlyReportForm(ctx.query)
    if not form.is_valid():
        problems = "；".join(str(e) for errors in form.errors.values() for e in errors)
        raise JobRefused(f"生成失败：{problems}")
    d = form.cleaned_data
    return QuarterlyReportFile(d, Task.objects.filter(plan=d["plan"]).actionable().count())


@login_required
@require_GET
def notice_docx(request: HttpRequest, pk: int) -> HttpResponse:
    """通报（草稿或已印发）的 Word 文件：办公室、局长可下载；作废的 404。"""
    user = _user(request)
    access.require_read_all(user, "下载通报")
    notice = get_object_or_404(
        CriticismNotice.objects.filter(status__in=[NoticeStatus.DRAFT, NoticeStatus.ISSUED]), pk=pk
    )
    return notice_docx_response(notice, user=user, request=request)
