"""页面：站内通知（到期、逾期、季度报送、缺报提醒）与办公室的季度缺报清单（可导出 xlsx / csv）。"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from workplan import access, file_jobs, reminders
from workplan import notifications as inbox
from workplan.calendar_db import calendar_warnings, load_calendar
from workplan.exporting import CONTENT_TYPES
from workplan.file_jobs import JobContext, TableExport, param
from workplan.models import OfficeSettings, User
from workplan.periods import previous_quarter, quarter_of, report_deadline

EXPORT_PARAM = "_export"
UNREAD_CACHE_ATTR = "_unread_notifications"


def request_unread_count(request: HttpRequest) -> int:
    """当前用户的未读通知数；同一请求内只查询一次（页眉角标与通知页共用）。"""
    if not hasattr(request, UNREAD_CACHE_ATTR):
        user = request.user
        count = inbox.unread_count(user) if user.is_authenticated else 0  # type: ignore[arg-type]
        setattr(request, UNREAD_CACHE_ATTR, count)
    return getattr(request, UNREAD_CACHE_ATTR)


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    page = Paginator(inbox.notifications_for_user(request.user), 30).get_page(request.GET.get("page"))  # type: ignore[arg-type]
    for n in page.object_list:
        n.kind_label = reminders.KIND_LABELS.get(n.kind, n.kind)
    return render(
        request,
        "workplan/notifications.html",
        {
            "page": page,
            "unread": request_unread_count(request),
            "warnings": calendar_warnings(load_calendar(), [timezone.localdate().year]),
        },
    )


@login_required
@require_POST
def notifications_mark_read(request: HttpRequest) -> HttpResponse:
    """标为已读：带 id 时只标这一条（只能是本人的，否则 404），否则标记全部。"""
    raw = request.POST.get("id", "").strip()
    if raw and not raw.isdigit():
        raise Http404("通知不存在")
    notification = inbox.notification_for_user(request.user, int(raw)) if raw else None  # type: ignore[arg-type]
    count = inbox.notifications_mark_read(user=request.user, notification=notification)  # type: ignore[arg-type]
    if notification is None:
        messages.success(request, f"已将{count}条通知标为已读")
    return redirect("notifications")


class QuarterForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        label="季度", coerce=int, choices=[(q, f"第{q}季度") for q in range(1, 5)]
    )


MISSING_HEADERS = ["任务编号", "层级序号", "任务", "股室", "角色", "报送截止日", "逾期工作日", "状态"]


def _require_read_all(user: User) -> None:
    if not access.can_read_all(user):
        raise PermissionDenied("仅办公室和局长可以查看缺报清单")


def _quarter(query: Any, today: datetime.date) -> tuple[QuarterForm, int, int]:
    """所选季度；缺省（或填错）为上一个已结束的季度。"""
    default_year, default_quarter = previous_quarter(*quarter_of(today))
    form = QuarterForm(query if "year" in query else {"year": default_year, "quarter": default_quarter})
    if form.is_valid():
        return form, form.cleaned_data["year"], form.cleaned_data["quarter"]
    return form, default_year, default_quarter


@login_required
@require_GET
def missing_reports(request: HttpRequest) -> HttpResponse:
    """缺报清单（办公室、局长）：所选季度应报送而未报送、或被退回后未重报的任务与股室。缺省为上一个已结束的季度。"""
    _require_read_all(request.user)  # type: ignore[arg-type]
    if request.GET.get(EXPORT_PARAM) in CONTENT_TYPES:
        return file_jobs.deliver(request, kind="missing_reports")
    today = timezone.localdate()
    form, year, quarter = _quarter(request.GET, today)
    cal = load_calendar()
    report_day = OfficeSettings.current().report_day
    rows = reminders.missing_reports(year=year, quarter=quarter, today=today, cal=cal, report_day=report_day)
    deadline = report_deadline(year, quarter, day=report_day, cal=cal)
    return render(
        request,
        "workplan/missing_reports.html",
        {
            "form": form,
            "rows": rows,
            "year": year,
            "quarter": quarter,
            "deadline": deadline,
            "deadline_passed": today > deadline,
            "warnings": calendar_warnings(cal, [year, deadline.year, today.year]),
        },
    )


def missing_reports_export(ctx: JobContext) -> TableExport:
    """缺报清单的 xlsx / csv：与页面同一季度、同一规则。"""
    _require_read_all(ctx.user)
    today = timezone.localdate()
    _form, year, quarter = _quarter(ctx.query, today)
    report_day = OfficeSettings.current().report_day
    rows = reminders.missing_reports(
        year=year, quarter=quarter, today=today, cal=load_calendar(), report_day=report_day
    )
    name = f"{year}年第{quarter}季度缺报清单"
    return TableExport(
        filename=name,
        fmt=param(ctx, EXPORT_PARAM),
        headers=MISSING_HEADERS,
        rows=(
            [r.task_code, r.number_path, r.task_title, r.section_name, r.role_label, r.deadline,
             r.workdays_overdue, r.state_label]
            for r in rows
        ),  # fmt: skip
        size=len(rows),
    )
