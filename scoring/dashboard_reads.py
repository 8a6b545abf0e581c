"""季度看板的取数：关账记录、股室、某计划的任务行与分工（实时数据或关账快照）。

任务与分工各是一张 pandas 表（列见 TASK_COLUMNS / LINK_COLUMNS），全部来自 values_list：查询次数与任务数无关。
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
from django.db.models import Q

from scoring.dashboard_common import Period
from scoring.models import QuarterClose, QuarterCloseStatus, SnapshotTask
from workplan.models import AssignmentRole, Section, Task, TaskAssignment
from workplan.outstanding import CLOSED_STATUSES
from workplan.workdays import WorkdayCalendar

NO_CHAPTER = "（未分章节）"
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


def closes(year: int, prev: Period) -> dict[Period, dict[str, Any]]:
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


def sections() -> dict[int, dict[str, Any]]:
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


def empty_tasks() -> pd.DataFrame:
    return _task_frame([])


def empty_links() -> pd.DataFrame:
    return _link_frame([])


def live_tasks(
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


def snapshot_tasks(
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


def task_sections(links: pd.DataFrame) -> pd.DataFrame:
    """任务与股室一对一一行（同一股室兼任牵头与责任只算一次）。"""
    return links[["task_id", "section_id"]].drop_duplicates()
