"""页面：按触发条件起草通报批评（办公室）。选年度、季度运行四个触发条件，列出该季度由触发条件起草的通报。

视图只做衔接：权限 → 表单 → scoring.notice_triggers → 跳转或渲染。运行只接受 POST。
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from scoring import notice_triggers
from workplan.access import office_required
from workplan.models import OfficeSettings, User
from workplan.periods import previous_quarter, quarter_of


class TriggerRunForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        label="季度",
        choices=[(q, f"第{notice_triggers.CN_QUARTERS[q]}季度") for q in range(1, 5)],
        coerce=int,
    )


def _default_period() -> tuple[int, int]:
    # 通报多在季度结束后针对上一季度起草。
    return previous_quarter(*quarter_of(timezone.localdate()))


@login_required
@office_required
@require_GET
def notice_triggers_page(request: HttpRequest) -> HttpResponse:
    """触发条件设置一览、运行表单，以及所选季度由触发条件起草的通报。"""
    form = TriggerRunForm(request.GET if "year" in request.GET else None)
    if form.is_valid():
        year, quarter = form.cleaned_data["year"], form.cleaned_data["quarter"]
    else:
        year, quarter = _default_period()
        if not form.is_bound:
            form = TriggerRunForm(initial={"year": year, "quarter": quarter})
    drafts = notice_triggers.trigger_drafts(year=year, quarter=quarter)
    for notice in drafts:
        notice.trigger_label = notice_triggers.TRIGGER_LABELS.get(notice.trigger_kind, notice.trigger_kind)
    return render(
        request,
        "workplan/notice_triggers.html",
        {
            "form": form,
            "year": year,
            "quarter": quarter,
            "period": notice_triggers.period_label(year, quarter),
            "settings": OfficeSettings.current(),
            "drafts": drafts,
        },
    )


@login_required
@office_required
@require_POST
def notice_triggers_run(request: HttpRequest) -> HttpResponse:
    """运行触发条件：符合条件的起草通报草稿；已起草过的不重复起草。"""
    form = TriggerRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请选择年度和季度")
        return redirect("notice_triggers")
    year, quarter = form.cleaned_data["year"], form.cleaned_data["quarter"]
    user: User = request.user  # type: ignore[assignment]
    outcomes = notice_triggers.triggers_run(year=year, quarter=quarter, user=user, request=request)
    for outcome in outcomes:
        text = f"{outcome.label}：{outcome.status_label}"
        if outcome.notice is not None:
            text += f"（{outcome.notice.title}，{outcome.units}个股室）"
        level = messages.SUCCESS if outcome.status == notice_triggers.CREATED else messages.INFO
        messages.add_message(request, level, text)
    return redirect(f"{reverse('notice_triggers')}?year={year}&quarter={quarter}")
