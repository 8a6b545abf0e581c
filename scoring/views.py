"""考核评分的页面：成绩总览（可导出）、股室得分与扣分明细、明细依据（任务与佐证材料）、录入考核事实、
计分（后台任务）与模拟计分对比。

视图只做衔接：scoring.access 判断权限 → 表单 → scoring.services → 跳转或渲染。写操作只接受 POST。
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_q.tasks import async_task

from scoring import access, services
from scoring.forms import ComputeForm, ManualFactFilterForm, ManualFactForm, ScoreFilterForm, WhatIfForm
from scoring.models import ScoreRun, UnitScore
from scoring.periods import PERIOD_LABELS
from scoring.tables import LedgerTable, ManualFactTable, RunTable, ScoreTable, points_value
from workplan import file_jobs
from workplan.downloads import private_file_response
from workplan.exporting import CONTENT_TYPES
from workplan.file_jobs import JobContext, TableExport, param, query_params, table_export
from workplan.models import User
from workplan.periods import quarter_of

EXPORT_PARAM = "_export"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _current_period() -> tuple[int, str]:
    year, quarter = quarter_of(timezone.localdate())
    return year, f"Q{quarter}"


def _export_links(request: HttpRequest) -> list[tuple[str, str]]:
    params = request.GET.copy()
    links = []
    for fmt in CONTENT_TYPES:
        params[EXPORT_PARAM] = fmt
        links.append((fmt, "?" + params.urlencode()))
    return links


def _period_title(year: int, period: str) -> str:
    return f"{year}年{PERIOD_LABELS.get(period, period)}"


# ---- scores --------------------------------------------------------------------------------------------


def _overview(user: User, query: Any) -> tuple[ScoreFilterForm, ScoreRun | None, ScoreTable, str]:
    """成绩总览的数据：所选（缺省为最近一次）正式计分批次、可见股室的成绩表与标题。"""
    if "year" in query:
        form = ScoreFilterForm(query)
        run = services.find_official_run(**form.cleaned_data) if form.is_valid() else None
    else:
        run = services.latest_official_run()
        year, period = (run.year, run.period) if run else _current_period()
        form = ScoreFilterForm(
            initial={"year": year, "period": period, "ruleset": run.ruleset_id if run else None}
        )
    scores = (
        access.visible_scores(user)
        .filter(run=run)
        .select_related("section")
        .order_by("rank", "section__sort_order", "section__name")
    )
    title = f"{_period_title(run.year, run.period)}考核成绩" if run else "考核成绩"
    return form, run, ScoreTable(scores), title


@login_required
@require_GET
def score_overview(request: HttpRequest) -> HttpResponse:
    """成绩总览：所选细则、年度、期间的正式成绩。办公室、局长看全部股室，股室人员只看本股室。"""
    user = _user(request)
    if request.GET.get(EXPORT_PARAM) in CONTENT_TYPES:
        return file_jobs.deliver(request, kind="score_overview")
    form, run, table, title = _overview(user, request.GET)
    return render(
        request,
        "scoring/score_overview.html",
        {
            "form": form,
            "run": run,
            "table": table,
            "title": title,
            "export_links": _export_links(request) if run else [],
            "can_compute": access.can_compute(user),
            "sees_all": access.can_view_all_scores(user),
        },
    )


def score_overview_export(ctx: JobContext) -> TableExport:
    _form, run, table, title = _overview(ctx.user, ctx.query)
    if run is None:
        raise Http404("该期间尚未计分")
    return table_export(ctx, table, filename=title)


def _detail(user: User, pk: int) -> tuple[UnitScore, LedgerTable, str, dict[str, str], dict[str, Any]]:
    score = access.get_score_for_user(user, pk)
    names, labels, weights = services.ruleset_labels(score.run.ruleset_id)
    table = LedgerTable(services.ledger_lines(score), indicator_names=names, rule_labels=labels)
    title = f"{score.section.name}{_period_title(score.run.year, score.run.period)}扣分明细"
    return score, table, title, names, weights


@login_required
@require_GET
def score_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """一个股室的得分与扣分明细（台账）：每一行的指标、规则、分值与理由；可导出。"""
    if request.GET.get(EXPORT_PARAM) in CONTENT_TYPES:
        params = {"score": [str(pk)], **query_params(request)}
        return file_jobs.deliver(request, kind="score_detail", params=params)
    score, table, title, names, weights = _detail(_user(request), pk)
    indicators = [
        {
            "code": code,
            "name": names.get(code, ""),
            "weight": points_value(weights[code]) if code in weights else "",
            "score": points_value(Decimal(value)),
        }
        for code, value in score.indicator_scores.items()
    ]
    return render(
        request,
        "scoring/score_detail.html",
        {
            "score": score,
            "table": table,
            "title": title,
            "indicators": indicators,
            "export_links": _export_links(request),
        },
    )


def score_detail_export(ctx: JobContext) -> TableExport:
    _score, table, title, _names, _weights = _detail(ctx.user, int(param(ctx, "score", "0")))
    return table_export(ctx, table, filename=title)


@login_required
@require_GET
def ledger_line_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """台账行的依据：所涉任务（链接到任务详情）、报送、佐证材料与录入事实的证明材料。"""
    user = _user(request)
    line = access.get_line_for_user(user, pk)
    names, labels, _ = services.ruleset_labels(line.run.ruleset_id)
    return render(
        request,
        "scoring/ledger_line_detail.html",
        {
            "line": line,
            "points": points_value(line.points),
            "indicator_name": names.get(line.indicator_code, ""),
            "rule_label": labels.get(line.rule_code, ""),
            "drill": access.line_drilldown(user, line),
            "score_pk": access.visible_scores(user)
            .filter(run_id=line.run_id, section_id=line.section_id)
            .values_list("pk", flat=True)
            .first(),
            "period_title": _period_title(line.run.year, line.run.period),
        },
    )


# ---- manual facts --------------------------------------------------------------------------------------


def _manual_page(request: HttpRequest, form: ManualFactForm | None, *, status: int = 200) -> HttpResponse:
    user = _user(request)
    year, period = _current_period()
    filters = ManualFactFilterForm(request.GET if "year" in request.GET else {"year": year, "period": ""})
    if filters.is_valid():
        year = filters.cleaned_data["year"]
        chosen_period, section = filters.cleaned_data["period"], filters.cleaned_data["section"]
    else:
        chosen_period, section = "", None
    can_write = access.can_compute(user)
    if can_write and form is None:
        initial: dict[str, Any] = {"year": year, "period": chosen_period or period}
        edit = request.GET.get("edit", "")
        if edit.isdigit():
            mf = access.get_manual_fact_for_user(user, int(edit), write=True)
            initial = {
                "section": mf.section_id,
                "year": mf.year,
                "period": mf.period,
                "fact": mf.fact,
                "value": _value_for_form(mf.value),
                "reason": mf.reason,
                "evidence_note": mf.evidence_note,
            }
        form = ManualFactForm(initial=initial)
    return render(
        request,
        "scoring/manual_facts.html",
        {
            "filters": filters,
            "table": ManualFactTable(
                services.manual_facts_list(year=year, period=chosen_period, section=section)
            ),
            "form": form if can_write else None,
            "fact_choices": services.manual_fact_choices(year=year) if can_write else [],
            "year": year,
        },
        status=status,
    )


def _value_for_form(value: Any) -> str:
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value) and all(
            str(v).replace(".", "", 1).isdigit() for v in value
        ):
            return ",".join(str(v) for v in value)
        return "\n".join(str(v.get("reason", "")) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


@login_required
@require_GET
def manual_facts(request: HttpRequest) -> HttpResponse:
    """录入的考核事实（办公室、局长可看；办公室可录入、修改）。"""
    access.require_read_all(_user(request), "查看录入的考核事实")
    return _manual_page(request, None)


@login_required
@require_POST
def manual_fact_save(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    access.require_office(user, "录入考核事实")
    form = ManualFactForm(request.POST, request.FILES)
    if form.is_valid():
        d = form.cleaned_data
        try:
            mf = services.manual_fact_set(
                section=d["section"],
                year=d["year"],
                period=d["period"],
                fact=d["fact"],
                value=d["value"],
                reason=d["reason"],
                evidence=d["evidence"],
                evidence_note=d["evidence_note"],
                user=user,
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"已保存{mf.section.name}{_period_title(mf.year, mf.period)}的“{mf.fact}”，重新计分后生效",
            )
            return redirect(f"{reverse('manual_facts')}?year={mf.year}&period={mf.period}")
    return _manual_page(request, form, status=400)


@login_required
@require_POST
def manual_fact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    mf = access.get_manual_fact_for_user(user, pk, write=True)
    year, period = mf.year, mf.period
    services.manual_fact_delete(manual_fact=mf, user=user, request=request)
    messages.success(request, "已删除该项录入事实，重新计分后生效")
    return redirect(f"{reverse('manual_facts')}?year={year}&period={period}")


@login_required
@require_GET
def manual_fact_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    mf = access.get_manual_fact_for_user(_user(request), pk)
    return private_file_response(mf.evidence)


# ---- computing -----------------------------------------------------------------------------------------


@login_required
@require_GET
def compute(request: HttpRequest) -> HttpResponse:
    """计分页面（办公室）：选已发布细则、年度、期间提交后台计分；列出最近的计分批次。"""
    access.require_office(_user(request), "计分")
    year, period = _current_period()
    return render(
        request,
        "scoring/compute.html",
        {
            "form": ComputeForm(initial={"year": year, "period": period}),
            "runs": RunTable(services.recent_runs()),
        },
    )


@login_required
@require_POST
def compute_run(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    access.require_office(user, "计分")
    form = ComputeForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "scoring/compute.html",
            {"form": form, "runs": RunTable(services.recent_runs())},
            status=400,
        )
    d = form.cleaned_data
    # A full computation can take minutes: the "long" queue, so reminders on the default queue never wait.
    async_task(
        "scoring.tasks.compute_scores",
        d["ruleset"].pk,
        d["year"],
        d["period"],
        user.pk,
        cluster=settings.Q_LONG_CLUSTER,
    )
    messages.success(request, f"已提交{_period_title(d['year'], d['period'])}的计分，完成后可在成绩总览查看")
    return redirect("score_compute")


@login_required
@require_GET
def whatif(request: HttpRequest) -> HttpResponse:
    """模拟计分（办公室）：用草稿或其他版本的细则对已开始的期间计分，与正式成绩逐股室对比。"""
    user = _user(request)
    access.require_office(user, "模拟计分")
    context: dict[str, Any] = {}
    raw = request.GET.get("run", "")
    if raw:
        if not raw.isdigit():
            raise Http404("模拟计分不存在")
        run = access.visible_runs(user).filter(is_what_if=True, pk=int(raw)).select_related("ruleset").first()
        if run is None:
            raise Http404("模拟计分不存在")
        official = services.official_run_for(year=run.year, period=run.period, code=run.ruleset.code)
        context = {
            "whatif_run": run,
            "official_run": official,
            "deltas": services.scores_whatif_compare(official_run=official, whatif_run=run),
            "period_title": _period_title(run.year, run.period),
        }
        form = WhatIfForm(initial={"ruleset": run.ruleset_id, "year": run.year, "period": run.period})
    else:
        year, period = _current_period()
        form = WhatIfForm(initial={"year": year, "period": period})
    return render(request, "scoring/whatif.html", {"form": form, **context})


@login_required
@require_POST
def whatif_run(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    access.require_office(user, "模拟计分")
    form = WhatIfForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            run = services.scores_compute(
                ruleset_record=d["ruleset"],
                year=d["year"],
                period=d["period"],
                user=user,
                what_if=True,
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect(f"{reverse('score_whatif')}?run={run.pk}")
    return render(request, "scoring/whatif.html", {"form": form}, status=400)
