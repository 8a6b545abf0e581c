"""季度看板（数据）：某工作计划某季度的任务完成情况（按股室、按章节）、逾期、缺报与退回、股室得分与全年趋势、
排名、股室 × 章节完成率，以及与上季度对比。

只返回普通的 dict / list，全部来自 values_list 与聚合查询（pandas 汇总），从不逐个读取模型实例：
查询次数与任务数无关。已关账的季度读冻结的快照（SnapshotTask / SnapshotScore / SnapshotReport），
未关账的读实时数据。取数在 dashboard_reads，得分与对比在 dashboard_scores，本模块选择期间、汇总各部分，
并计算完成情况、逾期与缺报。
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from django.urls import reverse

from scoring import dashboard_reads, dashboard_scores
from scoring.dashboard_common import LIST_LIMIT, STATUS_LABELS, STATUS_ORDER, period_label, task_list_url
from scoring.models import SnapshotReport, SnapshotTask
from workplan.calendar_db import calendar_warnings, load_calendar
from workplan.models import AssignmentRole, OfficeSettings, ProgressReport, ReportStatus, WorkPlan
from workplan.outstanding import STATE_NOT_SUBMITTED, report_states, section_roles
from workplan.outstanding import outstanding as outstanding_reports
from workplan.periods import previous_quarter, quarter_end, quarter_of, report_deadline
from workplan.workdays import WorkdayCalendar

# ---- selection -----------------------------------------------------------------------------------------


def resolve_selection(
    *, plan: WorkPlan | None, year: int | None, quarter: int | None, today: datetime.date
) -> tuple[WorkPlan | None, int, int]:
    """所选计划、年度、季度；缺省为本季度和本年度最新的计划（本年度没有计划时用最新的计划及其年度）。

    选了计划时年度即计划年度。季度缺省：所选年度是今年时为本季度，否则为第四季度。
    """
    this_year, this_quarter = quarter_of(today)
    if plan is not None:
        year = plan.year
    else:
        plans = WorkPlan.objects.order_by("-year", "-created_at", "-pk")
        plan = plans.filter(year=year or this_year).first()
        if plan is None and year is None:
            plan = plans.first()
            year = plan.year if plan is not None else this_year
        year = year or this_year
    if quarter is None:
        quarter = this_quarter if year == this_year else 4
    return plan, year, quarter


def as_of_date(year: int, quarter: int, today: datetime.date) -> datetime.date:
    """逾期按哪一天计算：已结束的季度按季度末的次日（截止日 ≤ 季度末且未完成即逾期），其余按今天。"""
    end = quarter_end(year, quarter)
    return end + datetime.timedelta(days=1) if end < today else today


# ---- the dashboard -------------------------------------------------------------------------------------


def dashboard_data(*, plan: WorkPlan | None, year: int, quarter: int, today: datetime.date) -> dict[str, Any]:
    """看板的全部数据。已关账的季度读快照，否则读实时数据（见模块说明）。"""
    prev = previous_quarter(year, quarter)
    closes = dashboard_reads.closes(year, prev)
    close = closes.get((year, quarter))
    as_of = as_of_date(year, quarter, today)
    sections = dashboard_reads.sections()
    plan_id = plan.pk if plan is not None else None
    cal = load_calendar()

    if plan_id is None:
        tasks, links, chapters = dashboard_reads.empty_tasks(), dashboard_reads.empty_links(), []
    elif close is not None:
        tasks, links, chapters = dashboard_reads.snapshot_tasks(close["id"], plan_id, sections)
    else:
        tasks, links, chapters = dashboard_reads.live_tasks(plan_id, as_of, cal)

    scores = dashboard_scores.scores([(year, q) for q in range(1, 5)] + [prev], closes)
    data: dict[str, Any] = {
        "plan": {"id": plan.pk, "title": str(plan), "year": plan.year} if plan is not None else None,
        "year": year,
        "quarter": quarter,
        "period_label": period_label(year, quarter),
        "prev_label": period_label(*prev),
        "closed": close,
        "source": "snapshot" if close is not None else "live",
        "as_of": as_of,
        "status_labels": list(STATUS_LABELS.items()),
        "warnings": calendar_warnings(cal, [year, as_of]),
    }
    data.update(_completion(tasks, links, chapters, sections, plan_id))
    data["overdue"] = _overdue(tasks, links, sections, plan_id, cal=cal, as_of=as_of, close=close)
    data["reports"] = _reports(
        plan, year, quarter, cal=cal, tasks=tasks, links=links, sections=sections, close=close
    )
    data["scores"] = dashboard_scores.score_panel(scores, year, quarter, prev, sections, plan_id)
    data["compare"] = dashboard_scores.compare(
        tasks, scores, closes, year=year, quarter=quarter, prev=prev, plan_id=plan_id, sections=sections
    )
    return data


# ---- completion ----------------------------------------------------------------------------------------


def _counts(frame: pd.DataFrame, key: str) -> dict[Any, dict[str, int]]:
    """按 key 分组的各状态任务数：{key: {status: n}}。"""
    if frame.empty:
        return {}
    table = frame.groupby([key, "status"]).size().unstack(fill_value=0)
    table = table.reindex(columns=list(STATUS_ORDER), fill_value=0)
    return {k: {s: int(row[s]) for s in STATUS_ORDER} for k, row in table.iterrows()}


def _rates(counts: Mapping[str, int]) -> tuple[int, dict[str, float]]:
    total = sum(counts.values())
    return total, {s: round(100 * n / total, 1) if total else 0.0 for s, n in counts.items()}


def _completion(
    tasks: pd.DataFrame,
    links: pd.DataFrame,
    chapters: list[dict[str, Any]],
    sections: Mapping[int, dict[str, Any]],
    plan_id: int | None,
) -> dict[str, Any]:
    """完成情况：总体、按股室、按章节的各状态任务数与比例，以及股室 × 章节完成率（热力图）。"""
    overall = {s: int((tasks["status"] == s).sum()) for s in STATUS_ORDER}
    total, rates = _rates(overall)
    pairs = dashboard_reads.task_sections(links).merge(
        tasks[["task_id", "status", "chapter", "overdue"]], on="task_id"
    )

    section_counts = _counts(pairs, "section_id")
    overdue_by_section = pairs[pairs["overdue"]].groupby("section_id").size().to_dict() if len(pairs) else {}
    by_section = []
    for sid in sorted(section_counts, key=lambda s: sections[s]["order"]):
        n, r = _rates(section_counts[sid])
        by_section.append(
            {
                "section_id": int(sid),
                "name": sections[sid]["name"],
                "counts": section_counts[sid],
                "rates": r,
                "total": n,
                "overdue": int(overdue_by_section.get(sid, 0)),
                "url": task_list_url(plan_id, section=sid),
                "urls": {s: task_list_url(plan_id, section=sid, status=s) for s in STATUS_ORDER},
                "overdue_url": task_list_url(plan_id, section=sid, overdue="yes"),
            }
        )

    chapter_counts = _counts(tasks, "chapter")
    by_chapter = []
    for c in chapters:
        counts = chapter_counts.get(c["key"], dict.fromkeys(STATUS_ORDER, 0))
        n, r = _rates(counts)
        by_chapter.append(
            {
                "key": c["key"],
                "chapter_id": c["id"],
                "name": c["name"],
                "counts": counts,
                "rates": r,
                "total": n,
                "url": task_list_url(plan_id, chapter=c["id"]),
                "urls": {s: task_list_url(plan_id, chapter=c["id"], status=s) for s in STATUS_ORDER},
            }
        )

    heat: dict[tuple[Any, Any], tuple[int, int]] = {}
    if len(pairs):
        grouped = pairs.assign(done=pairs["status"] == ReportStatus.DONE).groupby(["section_id", "chapter"])
        agg = grouped["done"].agg(["size", "sum"])
        heat = {key: (int(row["size"]), int(row["sum"])) for key, row in agg.iterrows()}
    z, text, urls = [], [], []
    for row in by_section:
        zr, tr, ur = [], [], []
        for c in by_chapter:
            size, done = heat.get((row["section_id"], c["key"]), (0, 0))
            zr.append(round(100 * done / size, 1) if size else None)
            tr.append(f"{done}/{size}" if size else "")
            ur.append(
                task_list_url(plan_id, section=row["section_id"], chapter=c["chapter_id"]) if size else ""
            )
        z.append(zr)
        text.append(tr)
        urls.append(ur)
    heatmap = {
        "sections": [r["name"] for r in by_section],
        "chapters": [c["name"] for c in by_chapter],
        "z": z,
        "text": text,
        "urls": urls,
    }
    return {
        "totals": {
            "tasks": total,
            "counts": overall,
            "rates": rates,
            "overdue": int(tasks["overdue"].sum()) if len(tasks) else 0,
            "url": task_list_url(plan_id),
            "urls": {s: task_list_url(plan_id, status=s) for s in STATUS_ORDER},
        },
        "by_section": by_section,
        "by_chapter": by_chapter,
        "heatmap": heatmap,
    }


# ---- overdue -------------------------------------------------------------------------------------------


def _names(links: pd.DataFrame, sections: Mapping[int, dict[str, Any]]) -> dict[int, dict[str, list[str]]]:
    out: dict[int, dict[str, list[str]]] = {}
    ordered = sorted(links.itertuples(index=False), key=lambda r: sections[r.section_id]["order"])
    for r in ordered:
        roles = out.setdefault(int(r.task_id), {AssignmentRole.LEAD: [], AssignmentRole.RESPONSIBLE: []})
        name = sections[r.section_id]["name"]
        if name not in roles[r.role]:
            roles[r.role].append(name)
    return out


def _overdue(
    tasks: pd.DataFrame,
    links: pd.DataFrame,
    sections: Mapping[int, dict[str, Any]],
    plan_id: int | None,
    *,
    cal: WorkdayCalendar,
    as_of: datetime.date,
    close: dict[str, Any] | None,
) -> dict[str, Any]:
    """逾期任务：总数与最早到期的 LIST_LIMIT 项（逾期工作日：快照取关账时的值，实时按工作日历计算）。"""
    overdue = tasks[tasks["overdue"]] if len(tasks) else tasks
    shown = overdue.sort_values(["due_date", "task_id"]).head(LIST_LIMIT) if len(overdue) else overdue
    names = _names(links[links["task_id"].isin(shown["task_id"])], sections) if len(shown) else {}
    rows = []
    for r in shown.itertuples(index=False):
        task_id = int(r.task_id)
        if close is None:
            effective = cal.next_workday_on_or_after(r.due_date)
            workdays = max(0, cal.workdays_between(effective, as_of))
        else:
            workdays = int(r.workdays)
        roles = names.get(task_id, {})
        rows.append(
            {
                "task_id": task_id,
                "code": r.code,
                "number_path": r.number_path,
                "title": r.title,
                "status": r.status,
                "status_label": STATUS_LABELS.get(r.status, r.status),
                "due_date": r.due_date,
                "workdays_overdue": workdays,
                "leads": "、".join(roles.get(AssignmentRole.LEAD, [])),
                "responsibles": "、".join(roles.get(AssignmentRole.RESPONSIBLE, [])),
                "url": reverse("task_detail", args=[task_id]),
            }
        )
    return {
        "count": len(overdue),
        "rows": rows,
        "truncated": len(overdue) > len(rows),
        "url": task_list_url(plan_id, overdue="yes"),
    }


# ---- reports -------------------------------------------------------------------------------------------


def _report_day() -> int:
    # Read, never create: a GET page must not write the settings row (OfficeSettings.current() would).
    day = OfficeSettings.objects.filter(pk=1).values_list("report_day", flat=True).first()
    return int(day or OfficeSettings._meta.get_field("report_day").get_default())


def _reports(
    plan: WorkPlan | None,
    year: int,
    quarter: int,
    *,
    cal: WorkdayCalendar,
    tasks: pd.DataFrame,
    links: pd.DataFrame,
    sections: Mapping[int, dict[str, Any]],
    close: dict[str, Any] | None,
) -> dict[str, Any]:
    """本季度缺报与退回：未报送、被退回未重报（规则同缺报清单），以及各股室本季度报送曾被退回的情况。

    已关账的季度：任务状态、分工与本季度报送的审核状态都取关账快照；“之前季度已完成”取各季度的报送记录。
    """
    if plan is None:
        return {
            "by_section": [],
            "rows": [],
            "missing": 0,
            "returned": 0,
            "deadline": None,
            "truncated": False,
            "url": "",
        }
    reports = list(
        ProgressReport.objects.filter(task__plan_id=plan.pk, year=year).values_list(
            "task_id", "section_id", "quarter", "role", "status", "review_state", "return_count"
        )
    )
    current, closed_in = report_states((r[:6] for r in reports), quarter)
    stats: dict[int, dict[str, int]] = {}

    def stat(sid: int) -> dict[str, int]:
        empty = {"not_submitted": 0, "returned_now": 0, "returned_ever": 0, "return_times": 0, "submitted": 0}
        return stats.setdefault(sid, empty)

    for _task_id, section_id, q, *_, return_count in reports:
        if q == quarter:
            s = stat(section_id)
            s["submitted"] += 1
            s["returned_ever"] += return_count > 0
            s["return_times"] += return_count
    if close is not None:
        current = {}
        for s in stats.values():
            s["submitted"] = 0
        snapshot = SnapshotReport.objects.filter(
            close_id=close["id"],
            task_id_ref__in=SnapshotTask.objects.filter(close_id=close["id"], plan_id_ref=plan.pk).values(
                "task_id_ref"
            ),
        ).values_list("task_id_ref", "section_id", "review_state")
        for task_id, section_id, review_state in snapshot:
            current[(task_id, section_id)] = review_state
            stat(section_id)["submitted"] += 1

    order = {int(t): i for i, t in enumerate(tasks["task_id"])}
    outstanding = outstanding_reports(
        tasks[["task_id", "status", "recurrence"]].itertuples(index=False, name=None),
        section_roles(links.itertuples(index=False, name=None)),
        current,
        closed_in,
        plan_year=plan.year,
        year=year,
        quarter=quarter,
    )
    outstanding.sort(key=lambda r: (order[r[0]], r[2] != AssignmentRole.LEAD, sections[r[1]]["order"]))
    titles = dict(zip(tasks["task_id"], tasks["title"], strict=True))
    paths = dict(zip(tasks["task_id"], tasks["number_path"], strict=True))
    for _task_id, section_id, _role, state in outstanding:
        stat(section_id)["not_submitted" if state == STATE_NOT_SUBMITTED else "returned_now"] += 1
    # Only the shown rows get a dict and a link: a large plan has over a thousand outstanding reports.
    rows = [
        _report_row(task_id, paths[task_id], titles[task_id], section_id, state, sections)
        for task_id, section_id, _role, state in outstanding[:LIST_LIMIT]
    ]
    by_section = [
        {"section_id": sid, "name": sections[sid]["name"], **s}
        for sid, s in sorted(stats.items(), key=lambda kv: sections[kv[0]]["order"])
        if s["not_submitted"] or s["returned_now"] or s["returned_ever"]
    ]
    missing = sum(state == STATE_NOT_SUBMITTED for *_, state in outstanding)
    return {
        "by_section": by_section,
        "rows": rows,
        "truncated": len(outstanding) > LIST_LIMIT,
        "missing": missing,
        "returned": len(outstanding) - missing,
        "deadline": report_deadline(year, quarter, day=_report_day(), cal=cal),
        "url": f"{reverse('missing_reports')}?{urlencode({'year': year, 'quarter': quarter})}",
    }


def _report_row(
    task_id: int,
    number_path: str,
    title: str,
    section_id: int,
    state: str,
    sections: Mapping[int, dict[str, Any]],
) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "number_path": number_path,
        "title": title,
        "section_id": section_id,
        "section": sections[section_id]["name"],
        "state": state,
        "state_label": "未报送" if state == STATE_NOT_SUBMITTED else "被退回未重报",
        "url": reverse("task_detail", args=[task_id]),
    }
