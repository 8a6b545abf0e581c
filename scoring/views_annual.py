"""页面：政府信息公开工作年度报告——表二至表四与勾稽检查、办公室填写表二数字和一、五、六部分文字、
下载 Word（公文版式）或 Excel、登记公布日期（此后不再提醒）。

办公室与局长可以查看、下载；只有办公室可以保存、登记公布；其他角色 403。
勾稽检查不通过时不能下载（409，逐格说明）。
"""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from scoring import access
from scoring.annual_report import (
    DISCLOSURE_CELLS,
    AnnualTables,
    annual_report_publish,
    annual_report_save,
    compute_annual_tables,
    default_other_matters,
    default_overview,
    default_problems,
    report_title,
    unit_name,
)
from scoring.models import AnnualReport
from scoring.reports import gongwen
from scoring.reports.annual import AnnualData, Grid, build_annual_docx, build_annual_xlsx, grids
from workplan.audit import audit_record
from workplan.exporting import CONTENT_TYPES
from workplan.models import User

TEXT = forms.Textarea(attrs={"rows": 8, "cols": 90})


class AnnualReportForm(forms.Form):
    """表二的数字（空为 0）与一、五、六部分的文字。"""

    overview = forms.CharField(label="一、总体情况", required=False, max_length=20000, widget=TEXT)
    problems = forms.CharField(
        label="五、存在的主要问题及改进情况", required=False, max_length=20000, widget=TEXT
    )
    other_matters = forms.CharField(
        label="六、其他需要报告的事项", required=False, max_length=20000, widget=TEXT
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for cell in DISCLOSURE_CELLS:
            label = f"{cell.item}：{cell.measure}"
            if cell.decimal:
                self.fields[cell.key] = forms.DecimalField(
                    label=label, required=False, min_value=0, max_digits=14, decimal_places=4
                )
            else:
                self.fields[cell.key] = forms.IntegerField(label=label, required=False, min_value=0)

    def disclosure_fields(self) -> list[Any]:
        return [self[cell.key] for cell in DISCLOSURE_CELLS]

    def disclosure(self) -> dict[str, Any]:
        return {cell.key: self.cleaned_data.get(cell.key) for cell in DISCLOSURE_CELLS}


class PublishForm(forms.Form):
    published_on = forms.DateField(label="公布日期", widget=forms.DateInput(attrs={"type": "date"}))


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _year(request: HttpRequest) -> int:
    """默认为上一年度（每年1月编制上一年度的报告）。"""
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        year = timezone.localdate().year - 1
    return min(max(year, 2000), 2100)


def _texts(report: AnnualReport | None, tables: AnnualTables) -> dict[str, str]:
    """已保存的文字；没有保存过的部分用数据预填。"""
    return {
        "overview": (report.overview if report else "") or default_overview(tables),
        "problems": (report.problems if report else "") or default_problems(tables.year),
        "other_matters": (report.other_matters if report else "") or default_other_matters(tables),
    }


def _html_rows(grid: Grid) -> list[list[Any]]:
    rows: list[list[Any]] = [[] for _ in range(grid.n_rows)]
    for cell in sorted(grid.cells, key=lambda c: (c.row, c.col)):
        rows[cell.row].append(cell)
    return rows


def _page(
    request: HttpRequest,
    year: int,
    *,
    form: AnnualReportForm | None = None,
    status: int = 200,
    blocked: bool = False,
) -> HttpResponse:
    report = AnnualReport.objects.filter(year=year).first()
    tables = compute_annual_tables(year)
    if form is None:
        initial: dict[str, Any] = dict(_texts(report, tables))
        initial |= {cell.key: tables.disclosure_value(cell.key) for cell in DISCLOSURE_CELLS}
        form = AnnualReportForm(initial=initial)
    user = _user(request)
    return render(
        request,
        "scoring/annual_report.html",
        {
            "year": year,
            "title": report_title(year),
            "report": report,
            "tables": tables,
            "grids": [(g.name, _html_rows(g)) for g in grids(tables)],
            "form": form,
            "publish_form": PublishForm(initial={"published_on": timezone.localdate()}),
            "can_write": access.can_compute(user) and (report is None or report.published_on is None),
            "can_publish": access.can_compute(user),
            "blocked": blocked,
            "deadline": datetime.date(year + 1, 1, 31),
        },
        status=status,
    )


@login_required
@require_GET
def annual_report(request: HttpRequest) -> HttpResponse:
    """年度报告：选择年度，查看三张表与勾稽检查，填写表二与一、五、六部分，下载或登记公布。"""
    access.require_read_all(_user(request), "查看年度报告")
    return _page(request, _year(request))


def _check_year(year: int) -> None:
    """地址中的年度只接受 2000–2100，其余 404（不让 date(0, 1, 1) 之类变成 500）。"""
    if not 2000 <= year <= 2100:
        raise Http404("年度超出范围")


@login_required
@require_POST
def annual_report_save_view(request: HttpRequest, year: int) -> HttpResponse:
    """保存表二数字与一、五、六部分文字（办公室）；写审计日志 annual_report.save。"""
    _check_year(year)
    user = _user(request)
    access.require_office(user, "修改年度报告")
    form = AnnualReportForm(request.POST)
    if form.is_valid():
        try:
            annual_report_save(
                year=year,
                user=user,
                disclosure=form.disclosure(),
                overview=form.cleaned_data["overview"],
                problems=form.cleaned_data["problems"],
                other_matters=form.cleaned_data["other_matters"],
                request=request,
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, f"{year}年度报告已保存")
            return redirect(f"{reverse('annual_report')}?year={year}")
    return _page(request, year, form=form, status=400)


@login_required
@require_GET
def annual_report_download(request: HttpRequest, year: int, fmt: str) -> HttpResponse:
    """下载 docx 或 xlsx（办公室、局长）。勾稽检查未通过时不生成文件：409，页面逐格列出不平的单元格。"""
    _check_year(year)
    user = _user(request)
    access.require_read_all(user, "下载年度报告")
    if fmt not in ("docx", "xlsx"):
        return HttpResponse("不支持的格式", status=404)
    tables = compute_annual_tables(year)
    if tables.errors:
        for error in tables.errors:
            messages.error(request, error)
        return _page(request, year, status=409, blocked=True)
    report = AnnualReport.objects.filter(year=year).first()
    title = report_title(year)
    data = AnnualData(
        year=year,
        title=title,
        unit_name=unit_name(year),
        tables=tables,
        signed_on=(report.published_on if report and report.published_on else timezone.localdate()),
        **_texts(report, tables),
    )
    if fmt == "xlsx":
        response = HttpResponse(build_annual_xlsx(data), content_type=CONTENT_TYPES["xlsx"])
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(title + '.xlsx')}"
        response["Cache-Control"] = "private, no-store"
    else:
        response = gongwen.docx_response(build_annual_docx(data), filename=title)
    audit_record(
        action="annual_report.download",
        user=user,
        obj=report,
        new={"year": year, "format": fmt},
        request=request,
        object_repr=title,
    )
    return response


@login_required
@require_POST
def annual_report_publish_view(request: HttpRequest, year: int) -> HttpResponse:
    """登记年度报告已公布（办公室）：此后不再提醒；勾稽检查未通过的不能登记。"""
    _check_year(year)
    user = _user(request)
    access.require_office(user, "登记年度报告公布")
    form = PublishForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请填写公布日期")
        return _page(request, year, status=400)
    try:
        annual_report_publish(
            year=year, user=user, published_on=form.cleaned_data["published_on"], request=request
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return _page(request, year, status=409)
    messages.success(request, f"已登记{year}年度报告于{form.cleaned_data['published_on']:%Y-%m-%d}公布")
    return redirect(f"{reverse('annual_report')}?year={year}")
