"""季度关账、申诉与绩效考核导出的页面：关账（办公室）、关账季度的冻结成绩与台账（各股室只看本股室，申诉期内
可对本股室的扣分申诉）、申诉清单与处理（办公室）、绩效考核导出（办公室、局长）。

视图只做衔接：scoring.close_access 判断权限 → 表单 → 服务 → 跳转或渲染。写操作只接受 POST。
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from scoring import appeals as appeal_service
from scoring import appraisal as appraisal_service
from scoring import close_access, close_diff, closing, services
from scoring.access import can_view_all_scores, require_office, require_read_all
from scoring.models import (
    Appeal,
    AppealStatus,
    QuarterCloseStatus,
    ScoreRun,
    SnapshotLedgerLine,
    SnapshotTask,
)
from scoring.tables import points_value
from workplan import file_jobs
from workplan.downloads import private_file_response
from workplan.exporting import CONTENT_TYPES
from workplan.file_jobs import JobContext, JobRefused, param
from workplan.models import ReportStatus, User
from workplan.periods import previous_quarter, quarter_of

YEAR_FIELD = {"label": "年度", "min_value": 2000, "max_value": 2100}
QUARTER_CHOICES = [(1, "第一季度"), (2, "第二季度"), (3, "第三季度"), (4, "第四季度")]


# ---- forms (type conversion only; the rules live in scoring.closing / appeals / appraisal) ----------------


class RunChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        at = timezone.localtime(obj.computed_at)
        ruleset = f"{obj.ruleset.code} v{obj.ruleset.version}"
        return f"{obj.year}年{obj.period} 正式计分（{ruleset}，{at:%Y-%m-%d %H:%M}）"


class CloseForm(forms.Form):
    year = forms.IntegerField(**YEAR_FIELD)  # type: ignore[arg-type]
    quarter = forms.TypedChoiceField(label="季度", choices=QUARTER_CHOICES, coerce=int)
    run = RunChoiceField(
        label="冻结的计分批次",
        queryset=ScoreRun.objects.none(),
        required=False,
        empty_label="（不冻结成绩，只冻结任务与报送）",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["run"].queryset = (  # type: ignore[attr-defined]
            ScoreRun.objects.filter(is_what_if=False, period__in=["Q1", "Q2", "Q3", "Q4"])
            .select_related("ruleset")
            .order_by("-year", "-period", "-computed_at")
        )


class FinalizeForm(forms.Form):
    force = forms.BooleanField(label="提前定稿（申诉期未满）", required=False)


class AppealForm(forms.Form):
    reason = forms.CharField(label="申诉理由", widget=forms.Textarea(attrs={"rows": 4, "cols": 60}))
    evidence = forms.FileField(label="申诉材料", required=False, help_text="pdf、docx、xlsx、jpg、png")


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label="处理结果",
        choices=[("accept", "采纳（冲回该行）"), ("reject", "驳回")],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="处理意见",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="驳回必须写明理由；采纳的意见写入冲回行的理由。",
    )


class AppraisalForm(forms.Form):
    year = forms.IntegerField(**YEAR_FIELD)  # type: ignore[arg-type]
    period = forms.ChoiceField(label="期间", choices=appraisal_service.APPRAISAL_PERIODS)


# ---- helpers -----------------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _close_initial() -> dict[str, Any]:
    """关账表单的缺省：上一个季度，及其最近的正式计分。"""
    year, quarter = previous_quarter(*quarter_of(timezone.localdate()))
    run = services.official_run_for(year=year, period=close_access.quarter_period(quarter))
    return {"year": year, "quarter": quarter, "run": run.pk if run else None}


def _close_list_page(request: HttpRequest, form: CloseForm | None, *, status: int = 200) -> HttpResponse:
    user = _user(request)
    can_close = close_access.can_close(user)
    if can_close and form is None:
        form = CloseForm(initial=_close_initial())
    return render(
        request,
        "scoring/close_list.html",
        {
            "form": form if can_close else None,
            "closes": close_access.closed_quarters(),
            "today": timezone.localdate(),
        },
        status=status,
    )


# ---- closing --------------------------------------------------------------------------------------------


@login_required
@require_GET
def close_list(request: HttpRequest) -> HttpResponse:
    """季度关账：已关账的季度（状态、申诉截止日）；办公室在此选择季度与计分批次关账。"""
    return _close_list_page(request, None)


@login_required
@require_POST
def close_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    require_office(user, "季度关账")
    form = CloseForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            close = closing.quarter_close(
                year=d["year"], quarter=d["quarter"], run=d["run"], user=user, request=request
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, f"{close_access.close_title(close)}已关账，申诉期至{close.appeal_deadline:%Y-%m-%d}"
            )
            return redirect("close_detail", pk=close.pk)
    return _close_list_page(request, form, status=400)


@login_required
@require_GET
def close_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """关账季度：冻结的成绩与台账（各股室只看本股室）；申诉期内本股室人员可对扣分行申诉；办公室定稿。"""
    user = _user(request)
    close = close_access.get_close_for_user(user, pk)
    scores = list(
        close_access.visible_snapshot_scores(user, close)
        .select_related("section")
        .order_by("rank", "section__sort_order", "section__name")
    )
    lines = list(
        close_access.visible_snapshot_lines(user)
        .filter(close=close)
        .order_by("section__sort_order", "section__name", "position", "pk")
    )
    appeals: dict[int, list[Appeal]] = defaultdict(list)
    for appeal in close_access.visible_appeals(user).filter(close=close).order_by("submitted_at", "pk"):
        appeals[appeal.line_id].append(appeal)
    names, labels = ({}, {})
    if close.run is not None:
        names, labels, _ = services.ruleset_labels(close.run.ruleset_id)
    window_open = close_access.appeal_window_open(close)
    by_section: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        line.close = close  # already loaded; appeal_refusal reads it
        line_appeals = appeals.get(line.pk, [])
        blocked = any(a.status in (AppealStatus.PENDING, AppealStatus.ACCEPTED) for a in line_appeals)
        by_section[line.section_id].append(
            {
                "line": line,
                "points": points_value(line.points),
                "indicator_name": names.get(line.indicator_code, ""),
                "rule_label": labels.get(line.rule_code, ""),
                "appeals": line_appeals,
                "can_appeal": window_open
                and not blocked
                and close_access.can_appeal(user, line)
                and not appeal_service.appeal_refusal(line),
            }
        )
    sees_all = can_view_all_scores(user)
    context: dict[str, Any] = {
        "close": close,
        "title": close_access.close_title(close),
        "sections": [{"score": s, "lines": by_section.get(s.section_id, [])} for s in scores],
        "window_open": window_open,
        "sees_all": sees_all,
        "can_finalize": close_access.can_close(user) and close.status == QuarterCloseStatus.APPEAL,
        "finalize_form": FinalizeForm(),
        "pending": sum(a.status == AppealStatus.PENDING for group in appeals.values() for a in group),
    }
    if sees_all:
        previous = close_diff.previous_close_of(close)
        context["previous"] = previous
        context["diff"] = close_diff.quarter_diff(close=close, previous_close=previous)
        tasks = SnapshotTask.objects.filter(close=close)
        context["task_counts"] = {
            "total": tasks.count(),
            "done": tasks.filter(status=ReportStatus.DONE).count(),
            "overdue": tasks.filter(overdue=True).count(),
        }
    return render(request, "scoring/close_detail.html", context)


@login_required
@require_POST
def close_finalize(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    require_office(user, "定稿")
    close = close_access.get_close_for_user(user, pk)
    form = FinalizeForm(request.POST)
    force = form.is_valid() and form.cleaned_data["force"]
    try:
        closing.quarter_finalize(close=close, user=user, force=force, request=request)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, f"{close_access.close_title(close)}已定稿")
    return redirect("close_detail", pk=close.pk)


# ---- appeals --------------------------------------------------------------------------------------------


def _appeal_page(
    request: HttpRequest, line: SnapshotLedgerLine, form: AppealForm, *, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "scoring/appeal_form.html",
        {
            "line": line,
            "points": points_value(line.points),
            "form": form,
            "refusal": appeal_service.appeal_refusal(line),
            "title": close_access.close_title(line.close),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def appeal_new(request: HttpRequest, pk: int) -> HttpResponse:
    """对一条扣分提出申诉：仅该行所属股室的人员（其他股室的行 404，局长、只读 403），仅在申诉期内。"""
    user = _user(request)
    line = close_access.get_line_for_appeal(user, pk)
    if request.method == "GET":
        return _appeal_page(request, line, AppealForm())
    form = AppealForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            appeal_service.appeal_submit(
                line=line,
                user=user,
                reason=form.cleaned_data["reason"],
                evidence=form.cleaned_data["evidence"],
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "申诉已提交，等待办公室处理")
            return redirect("close_detail", pk=line.close_id)
    return _appeal_page(request, line, form, status=400)


@login_required
@require_GET
def appeal_list(request: HttpRequest) -> HttpResponse:
    """申诉清单：办公室、局长看全部，股室人员与只读用户只看本股室的；办公室在此进入处理。"""
    user = _user(request)
    appeals = close_access.visible_appeals(user).select_related("close", "line", "section", "submitted_by")
    status = request.GET.get("status", "")
    if status in AppealStatus.values:
        appeals = appeals.filter(status=status)
    close_pk = request.GET.get("close", "")
    if close_pk.isdigit():
        appeals = appeals.filter(close_id=int(close_pk))
    return render(
        request,
        "scoring/appeal_list.html",
        {
            "appeals": appeals.order_by("-submitted_at", "-pk")[:500],
            "status": status,
            "statuses": AppealStatus.choices,
            "can_decide": close_access.can_close(user),
        },
    )


def _appeal_detail_page(
    request: HttpRequest, appeal: Appeal, form: DecideForm | None, *, status: int = 200
) -> HttpResponse:
    can_decide = close_access.can_close(_user(request)) and appeal.status == AppealStatus.PENDING
    return render(
        request,
        "scoring/appeal_detail.html",
        {
            "appeal": appeal,
            "points": points_value(appeal.line.points),
            "form": (form or DecideForm()) if can_decide else None,
            "title": close_access.close_title(appeal.close),
        },
        status=status,
    )


@login_required
@require_GET
def appeal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    appeal = close_access.get_appeal_for_user(_user(request), pk)
    return _appeal_detail_page(request, appeal, None)


@login_required
@require_POST
def appeal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """办公室处理申诉：采纳（追加冲回行、重算调整后总分与名次）或驳回（写明理由）。"""
    user = _user(request)
    appeal = close_access.get_appeal_for_user(user, pk, decide=True)
    form = DecideForm(request.POST)
    if form.is_valid():
        accept = form.cleaned_data["decision"] == "accept"
        try:
            appeal_service.appeal_decide(
                appeal=appeal, accept=accept, reason=form.cleaned_data["reason"], user=user, request=request
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "已采纳申诉并冲回该行" if accept else "已驳回申诉")
            return redirect("appeal_detail", pk=appeal.pk)
    return _appeal_detail_page(request, appeal, form, status=400)


@login_required
@require_GET
def appeal_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    appeal = close_access.get_appeal_for_user(_user(request), pk)
    return private_file_response(appeal.evidence, filename=appeal.evidence_name)


# ---- appraisal export -----------------------------------------------------------------------------------


@login_required
@require_GET
def appraisal_export(request: HttpRequest) -> HttpResponse:
    """绩效考核导出（办公室、局长）：选年度、期间，预览成绩表，下载 xlsx（成绩 + 台账明细）或 csv（成绩）。"""
    user = _user(request)
    require_read_all(user, "导出绩效考核")
    if "year" in request.GET:
        form = AppraisalForm(request.GET)
    else:
        year, _quarter = previous_quarter(*quarter_of(timezone.localdate()))
        form = AppraisalForm(initial={"year": year, "period": appraisal_service.YEAR})
    preview: dict[str, Any] | None = None
    downloads: list[tuple[str, str]] = []
    status = 200
    if form.is_bound and form.is_valid():
        year, period = form.cleaned_data["year"], form.cleaned_data["period"]
        fmt = request.GET.get("fmt", "")
        try:
            if fmt in CONTENT_TYPES:
                return file_jobs.deliver(request, kind="appraisal")
            sheet = appraisal_service.score_sheet(appraisal_service.appraisal_rows(year, period))
        except ValidationError as exc:
            form.add_error(None, exc)
            status = 404 if fmt else 200
        else:
            preview = {"headers": sheet.headers, "rows": list(sheet)}
            downloads = [
                (f, "?" + urlencode({"year": year, "period": period, "fmt": f})) for f in CONTENT_TYPES
            ]
    return render(
        request,
        "scoring/appraisal.html",
        {"form": form, "preview": preview, "downloads": downloads},
        status=status,
    )


def appraisal_export_prepare(ctx: JobContext) -> appraisal_service.AppraisalFile:
    """绩效考核导出（后台任务与页面共用）：参数同页面（year、period、fmt），按提交人的权限重新检查。"""
    form = AppraisalForm(ctx.query)
    if not form.is_valid():
        raise JobRefused("生成失败：年度或期间不正确。")
    d = form.cleaned_data
    return appraisal_service.appraisal_file(
        year=d["year"], period=d["period"], fmt=param(ctx, "fmt"), user=ctx.user
    )
