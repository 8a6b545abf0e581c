"""季度看板的得分：各季度股室得分（快照或正式计分）、本季度排名与全年趋势，以及与上季度的对比
（新完成、新逾期的任务与各股室得分变化）。
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from scoring.dashboard_common import (
    LIST_LIMIT,
    QUARTER_LABELS,
    STATUS_LABELS,
    Period,
    period_label,
    task_list_url,
)
from scoring.models import ScoreRun, SnapshotScore, SnapshotTask, UnitScore
from workplan.models import ReportStatus


def scores(
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


def score_panel(
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


def compare(
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
