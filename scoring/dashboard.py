"""季度看板（数据）：某工作计划某季度的任务完成情况（按股室、按章节）、逾期、缺报与退回、股室得分与全年趋势、
排名、股室 × 章节完成率，以及与上季度对比。

只返回普通的 dict / list，全部来自 values_list 与聚合查询（pandas 汇总），从不逐个读取模型实例：
查询次数与任务数无关。已关账的季度读冻结的快照（SnapshotTask / SnapshotScore / SnapshotReport），
未关账的读实时数据。
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from scoring.models import (
    QuarterClose,
    QuarterCloseStatus,
    ScoreRun,
    SnapshotReport,
    SnapshotScore,
    SnapshotTask,
    UnitScore,
)
from workplan.calendar_db import calendar_warnings, load_calendar
from workplan.models import (
    AssignmentRole,
    OfficeSettings,
    ProgressReport,
    ReportStatus,
    Section,
    Task,
    TaskAssignment,
    WorkPlan,
)
from workplan.outstanding import CLOSED_STATUSES, STATE_NOT_SUBMITTED, report_states, section_roles
from workplan.outstanding import outstanding as outstanding_reports
from workplan.periods import previous_quarter, quarter_end, quarter_of, report_deadline
from workplan.workdays import WorkdayCalendar

Period = tuple[int, int]

STATUS_ORDER: tuple[str, ...] = (
    ReportStatus.DONE,
    ReportStatus.IN_PROGRESS,
    ReportStatus.NOT_STARTED,
    ReportStatus.CANNOT_COMPLETE,
)
STATUS_LABELS: dict[str, str] = {s: ReportStatus(s).label for s in STATUS_ORDER}
QUARTER_LABELS = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}
NO_CHAPTER = "（未分章节）"
# Lists on the dashboard show the worst rows; the full list is one click away in the task list.
LIST_LIMIT = 20
_NAME_SPLIT = re.compile(r"[、，,；;]+")

TASK_COLUMNS = [
    "task_id",
    "code",
    "number_path",
    "title",
    "status",
    "due_date",
    "overdue",
    "workdays",
    "chapter",
    "recurrence",
]
LINK_COLUMNS = ["task_id", "section_id", "role"]


# ---- selection -----------------------------------------------------------------------------------------


def period_label(year: int, quarter: int) -> str:
    return f"{year}年{QUARTER_LABELS[quarter]}"


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


def task_list_url(plan_id: int | None, **params: Any) -> str:
    """任务清单的筛选链接（参数名见 workplan.filters.TaskFilter；chapter 为章节标题任务的编号）。"""
    query = {"plan": plan_id} if plan_id else {}
    query.update({k: v for k, v in params.items() if v not in (None, "")})
    return reverse("task_list") + ("?" + urlencode(query) if query else "")


# ---- the dashboard -------------------------------------------------------------------------------------


def dashboard_data(*, plan: WorkPlan | None, year: int, quarter: int, today: datetime.date) -> dict[str, Any]:
    """看板的全部数据。已关账的季度读快照，否则读实时数据（见模块说明）。"""
    prev = previous_quarter(year, quarter)
    closes = _closes(year, prev)
    close = closes.get((year, quarter))
    as_of = as_of_date(year, quarter, today)
    sections = _sections()
    plan_id = plan.pk if plan is not None else None
    cal = load_calendar()

    if plan_id is None:
        tasks, links, chapters = _empty_tasks(), _empty_links(), []
    elif close is not None:
        tasks, links, chapters = _snapshot_tasks(close["id"], plan_id, sections)
    else:
        tasks, links, chapters = _live_tasks(plan_id, as_of, cal)

    scores = _scores([(year, q) for q in range(1, 5)] + [prev], closes)
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
    data["scores"] = _score_panel(scores, year, quarter, prev, sections, plan_id)
    data["compare"] = _compare(
        tasks, scores, closes, year=year, quarter=quarter, prev=prev, plan_id=plan_id, sections=sections
    )
    return data


# ---- reads ---------------------------------------------------------------------------------------------


def _closes(year: int, prev: Period) -> dict[Period, dict[str, Any]]:
    """本年度各季度与上季度的关账记录（一次查询）。"""
    rows = QuarterClose.objects.filter(Q(year=year) | Q(year=prev[0], quarter=prev[1])).values_list(
        "pk", "year", "quarter", "status", "appeal_deadline", "closed_at", "finalized_at"
    )
    out: dict[Period, dict[str, Any]] = {}
    for pk, y, q, status, appeal_deadline, closed_at, finalized_at in rows:
        label = QuarterCloseStatus(status).label if status in QuarterCloseStatus.values else status
        out[(y, q)] = {
            "id": pk,
            "status": status,
            "status_label": label,
            "label": f"已关账（{label}）",
            "appeal_deadline": appeal_deadline,
            "closed_at": closed_at,
            "finalized_at": finalized_at,
        }
    return out


def _sections() -> dict[int, dict[str, Any]]:
    return {
        pk: {"id": pk, "name": name, "order": (order, name)}
        for pk, name, order in Section.objects.values_list("pk", "name", "sort_order")
    }


def _task_frame(records: list[tuple[Any, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=TASK_COLUMNS)
    return frame.astype({"task_id": "int64", "overdue": "bool", "workdays": "int64"})


def _link_frame(records: list[tuple[Any, ...]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records, columns=LINK_COLUMNS).astype(
        {"task_id": "int64", "section_id": "int64"}
    )


def _empty_tasks() -> pd.DataFrame:
    return _task_frame([])


def _empty_links() -> pd.DataFrame:
    return _link_frame([])


def _live_tasks(
    plan_id: int, as_of: datetime.date, cal: WorkdayCalendar
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """实时数据：计划的全部任务行（含章节标题，一次查询）与分工（一次查询）。

    任务的章节是其最外层的章节标题（is_heading）祖先；没有的归入“未分章节”。
    """
    rows = list(
        Task.objects.filter(plan_id=plan_id)
        .order_by("position", "pk")
        .values_list(
            "pk",
            "parent_id",
            "is_heading",
            "title",
            "number",
            "number_path",
            "code",
            "status",
            "due_date",
            "recurrence",
        )
    )
    parent = {r[0]: r[1] for r in rows}
    headings = {r[0]: f"{r[4]}{r[3]}" if r[4] and not r[3].startswith(r[4]) else r[3] for r in rows if r[2]}
    chapters = [{"key": str(pk), "id": pk, "name": name} for pk, name in headings.items()]
    records = []
    for pk, _parent, is_heading, title, _number, number_path, code, status, due, recurrence in rows:
        if is_heading:
            continue
        top = None
        node = parent.get(pk)
        while node is not None:
            if node in headings:
                top = node
            node = parent.get(node)
        overdue = due is not None and due < as_of and status not in CLOSED_STATUSES
        records.append(
            (
                pk,
                code,
                number_path,
                title,
                status,
                due,
                overdue,
                0,
                str(top) if top is not None else "",
                recurrence,
            )
        )
    tasks = _task_frame(records)
    links = _link_frame(
        list(
            TaskAssignment.objects.filter(task__plan_id=plan_id, task__is_heading=False).values_list(
                "task_id", "section_id", "role"
            )
        )
    )
    return tasks, links, _used_chapters(tasks, chapters)


def _snapshot_tasks(
    close_id: int, plan_id: int, sections: Mapping[int, dict[str, Any]]
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """已关账：快照中的任务（一次查询）。股室取牵头股室编号与责任股室名称（按名称对应股室）；
    章节按标题对应到计划中的章节标题任务（一次查询），用于跳转链接。"""
    rows = list(
        SnapshotTask.objects.filter(close_id=close_id, plan_id_ref=plan_id)
        .order_by("pk")
        .values_list(
            "task_id_ref",
            "code",
            "number_path",
            "title",
            "status",
            "due_date",
            "overdue",
            "workdays_overdue",
            "chapter",
            "lead_section_ids",
            "responsible_names",
            "recurrence",
        )
    )
    heading_ids: dict[str, int] = {}
    for pk, number, title in (
        Task.objects.filter(plan_id=plan_id, is_heading=True)
        .order_by("position")
        .values_list("pk", "number", "title")
    ):
        heading_ids.setdefault(title, pk)
        heading_ids.setdefault(f"{number}{title}", pk)
    by_name = {s["name"]: sid for sid, s in sections.items()}
    records, link_records = [], []
    chapter_names: dict[str, dict[str, Any]] = {}
    for (
        task_id,
        code,
        number_path,
        title,
        status,
        due,
        overdue,
        workdays,
        chapter,
        lead_ids,
        resp_names,
        recurrence,
    ) in rows:
        key = chapter or ""
        if key and key not in chapter_names:
            chapter_names[key] = {"key": key, "id": heading_ids.get(key), "name": key}
        records.append(
            (task_id, code, number_path, title, status, due, bool(overdue), workdays, key, recurrence)
        )
        leads = {int(i) for i in (lead_ids or []) if str(i).isdigit() and int(i) in sections}
        link_records += [(task_id, sid, AssignmentRole.LEAD) for sid in sorted(leads)]
        for name in _NAME_SPLIT.split(resp_names or ""):
            sid = by_name.get(name)
            if sid is not None and sid not in leads:
                link_records.append((task_id, sid, AssignmentRole.RESPONSIBLE))
    return (
        _task_frame(records),
        _link_frame(link_records),
        _used_chapters(_task_frame(records), list(chapter_names.values())),
    )


def _used_chapters(tasks: pd.DataFrame, chapters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    used = set(tasks["chapter"].unique()) if len(tasks) else set()
    out = [c for c in chapters if c["key"] in used]
    if "" in used:
        out.append({"key": "", "id": None, "name": NO_CHAPTER})
    return out


def _task_sections(links: pd.DataFrame) -> pd.DataFrame:
    """任务与股室一对一一行（同一股室兼任牵头与责任只算一次）。"""
    return links[["task_id", "section_id"]].drop_duplicates()


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
    pairs = _task_sections(links).merge(tasks[["task_id", "status", "chapter", "overdue"]], on="task_id")

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


# ---- scores --------------------------------------------------------------------------------------------


def _scores(
    periods: Iterable[Period], closes: Mapping[Period, dict[str, Any]]
) -> dict[Period, dict[str, Any]]:
    """各季度的股室得分：已关账的取快照（申诉调整后总分），其余取该季度最近一次正式计分（固定 3 次查询）。"""
    periods = list(dict.fromkeys(periods))
    out: dict[Period, dict[str, Any]] = {p: {"source": None, "label": "", "by_section": {}} for p in periods}
    closed = {closes[p]["id"]: p for p in periods if p in closes}
    if closed:
        for close_id, sid, total, adjusted, grade, rank, vetoed in SnapshotScore.objects.filter(
            close_id__in=list(closed)
        ).values_list("close_id", "section_id", "total", "adjusted_total", "grade", "rank", "vetoed"):
            p = closed[close_id]
            out[p]["source"] = "snapshot"
            out[p]["label"] = closes[p]["label"]
            out[p]["by_section"][sid] = {
                "total": _num(adjusted),
                "original": _num(total),
                "grade": grade,
                "rank": rank,
                "vetoed": vetoed,
                "score_id": None,
            }
    open_periods = [p for p in periods if p not in closes]
    if not open_periods:
        return out
    cond = Q()
    for y, q in open_periods:
        cond |= Q(year=y, period=f"Q{q}")
    chosen: dict[int, Period] = {}
    labels: dict[Period, str] = {}
    runs = (
        ScoreRun.objects.filter(cond, is_what_if=False)
        .order_by("-computed_at", "-pk")
        .values_list("pk", "year", "period", "computed_at", "ruleset__name")
    )
    for pk, y, period, computed_at, ruleset_name in runs:
        p = (y, int(period[1:]))
        if p not in labels:
            chosen[pk] = p
            labels[p] = f"正式计分（{ruleset_name}，{timezone.localtime(computed_at):%Y-%m-%d %H:%M}）"
    if not chosen:
        return out
    for pk, run_id, sid, total, grade, rank, vetoed in UnitScore.objects.filter(
        run_id__in=list(chosen)
    ).values_list("pk", "run_id", "section_id", "total", "grade", "rank", "vetoed"):
        p = chosen[run_id]
        out[p]["source"] = "run"
        out[p]["label"] = labels[p]
        out[p]["by_section"][sid] = {
            "total": _num(total),
            "original": _num(total),
            "grade": grade,
            "rank": rank,
            "vetoed": vetoed,
            "score_id": pk,
        }
    return out


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _score_panel(
    scores: Mapping[Period, dict[str, Any]],
    year: int,
    quarter: int,
    prev: Period,
    sections: Mapping[int, dict[str, Any]],
    plan_id: int | None,
) -> dict[str, Any]:
    """本季度得分与排名（含较上季度的变化）、全年各季度得分趋势。"""
    current = scores[(year, quarter)]
    before = scores[prev]["by_section"]
    ranking = []
    for sid, s in sorted(
        current["by_section"].items(), key=lambda kv: (kv[1]["rank"] or 10**6, sections[kv[0]]["order"])
    ):
        p = before.get(sid)
        ranking.append(
            {
                "section_id": sid,
                "name": sections[sid]["name"],
                **s,
                "delta": round(s["total"] - p["total"], 2) if p and s["total"] is not None else None,
                "rank_change": (p["rank"] - s["rank"]) if p and p["rank"] and s["rank"] else None,
                "url": task_list_url(plan_id, section=sid),
                "detail_url": reverse("score_detail", args=[s["score_id"]]) if s["score_id"] else "",
            }
        )
    in_year = {sid for q in range(1, 5) for sid in scores[(year, q)]["by_section"]}
    series = [
        {
            "section_id": sid,
            "name": sections[sid]["name"],
            "values": [scores[(year, q)]["by_section"].get(sid, {}).get("total") for q in range(1, 5)],
            "url": task_list_url(plan_id, section=sid),
        }
        for sid in sorted(in_year, key=lambda s: sections[s]["order"])
    ]
    return {
        "source": current["source"],
        "label": current["label"],
        "ranking": ranking,
        "trend": {"quarters": [QUARTER_LABELS[q] for q in range(1, 5)], "series": series},
    }


# ---- comparison with the previous quarter --------------------------------------------------------------


def _compare(
    tasks: pd.DataFrame,
    scores: Mapping[Period, dict[str, Any]],
    closes: Mapping[Period, dict[str, Any]],
    *,
    year: int,
    quarter: int,
    prev: Period,
    plan_id: int | None,
    sections: Mapping[int, dict[str, Any]],
) -> dict[str, Any]:
    """与上季度对比：新完成、新逾期的任务（上季度须已关账：读其快照；本季度已关账读快照，否则读实时数据），
    以及各股室得分变化。"""
    prev_close = closes.get(prev)
    out: dict[str, Any] = {"tasks_available": False, "note": "", "newly_done": [], "newly_overdue": []}
    if plan_id is None:
        out["note"] = "未选择工作计划。"
    elif prev_close is None:
        out["note"] = f"{period_label(*prev)}尚未关账，没有可比较的任务快照；下表只比较得分。"
    else:
        previous = {
            task_id: (status, overdue)
            for task_id, status, overdue in SnapshotTask.objects.filter(
                close_id=prev_close["id"], plan_id_ref=plan_id
            ).values_list("task_id_ref", "status", "overdue")
        }
        if not previous:
            out["note"] = f"{period_label(*prev)}的关账快照中没有本计划的任务（跨年度的计划不比较任务）。"
        else:
            out["tasks_available"] = True
            before = pd.DataFrame.from_records(
                [(k, s, o) for k, (s, o) in previous.items()],
                columns=["task_id", "prev_status", "prev_overdue"],
            )
            merged = tasks.merge(before, on="task_id", how="left")
            newly_done = merged[
                (merged["status"] == ReportStatus.DONE) & (merged["prev_status"] != ReportStatus.DONE)
            ]
            newly_overdue = merged[merged["overdue"] & ~merged["prev_overdue"].eq(True)]
            out["newly_done_count"] = len(newly_done)
            out["newly_overdue_count"] = len(newly_overdue)
            out["newly_done"] = _task_rows(newly_done)
            out["newly_overdue"] = _task_rows(newly_overdue)
    current, before_scores = scores[(year, quarter)]["by_section"], scores[prev]["by_section"]
    movement = []
    for sid in sorted(set(current) | set(before_scores), key=lambda s: sections[s]["order"]):
        now, then = current.get(sid), before_scores.get(sid)
        movement.append(
            {
                "section_id": sid,
                "name": sections[sid]["name"],
                "total": now["total"] if now else None,
                "prev_total": then["total"] if then else None,
                "delta": round(now["total"] - then["total"], 2) if now and then else None,
                "rank": now["rank"] if now else None,
                "prev_rank": then["rank"] if then else None,
                "url": task_list_url(plan_id, section=sid),
            }
        )
    out["movement"] = movement
    return out


def _task_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "task_id": int(r.task_id),
            "number_path": r.number_path,
            "title": r.title,
            "status_label": STATUS_LABELS.get(r.status, r.status),
            "due_date": r.due_date if isinstance(r.due_date, datetime.date) else None,
            "url": reverse("task_detail", args=[int(r.task_id)]),
        }
        for r in frame.head(LIST_LIMIT).itertuples(index=False)
    ]
