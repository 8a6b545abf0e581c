"""两次关账之间的变化：新完成、新逾期的任务，各股室调整后总分、名次与等次的变动。只读快照表。"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q

from scoring.models import QuarterClose, SnapshotScore, SnapshotTask
from workplan.models import ReportStatus


@dataclass(frozen=True)
class TaskState:
    """快照中一项任务的状态（比较用）。"""

    task_id: int
    code: str
    number_path: str
    title: str
    status: str
    overdue: bool
    workdays_overdue: int
    lead_names: str


@dataclass(frozen=True)
class ScoreState:
    """快照中一个股室的成绩（调整后总分）。"""

    section_id: int
    section: str
    total: Decimal
    grade: str
    rank: int


@dataclass(frozen=True)
class ScoreMove:
    section_id: int
    section: str
    previous: Decimal | None
    current: Decimal
    previous_rank: int | None
    rank: int
    previous_grade: str
    grade: str

    @property
    def delta(self) -> Decimal | None:
        return None if self.previous is None else self.current - self.previous


def diff_snapshots(
    *,
    tasks: Sequence[TaskState],
    previous_tasks: Sequence[TaskState],
    scores: Sequence[ScoreState],
    previous_scores: Sequence[ScoreState],
) -> dict[str, Any]:
    """两次关账之间的变化（纯函数）：

    - newly_done：本次已完成、上次未完成（或上次没有这项任务）的任务；
    - newly_overdue：本次逾期、上次未逾期（或上次没有这项任务）的任务；
    - score_movement：每个股室本次与上次的调整后总分、名次、等次（上次没有的为 None），按本次名次排列。
    任务按内部编号对应，股室按编号对应。
    """
    before = {t.task_id: t for t in previous_tasks}
    newly_done = [
        t
        for t in tasks
        if t.status == ReportStatus.DONE
        and (t.task_id not in before or before[t.task_id].status != ReportStatus.DONE)
    ]
    newly_overdue = [
        t for t in tasks if t.overdue and (t.task_id not in before or not before[t.task_id].overdue)
    ]
    prev_scores = {s.section_id: s for s in previous_scores}
    moves = []
    for s in sorted(scores, key=lambda s: (s.rank, s.section)):
        p = prev_scores.get(s.section_id)
        moves.append(
            ScoreMove(
                section_id=s.section_id,
                section=s.section,
                previous=p.total if p else None,
                current=s.total,
                previous_rank=p.rank if p else None,
                rank=s.rank,
                previous_grade=p.grade if p else "",
                grade=s.grade,
            )
        )
    return {"newly_done": newly_done, "newly_overdue": newly_overdue, "score_movement": moves}


def _task_states(close: QuarterClose | None) -> list[TaskState]:
    if close is None:
        return []
    return [
        TaskState(*row)
        for row in SnapshotTask.objects.filter(close=close)
        .order_by("pk")
        .values_list(
            "task_id_ref",
            "code",
            "number_path",
            "title",
            "status",
            "overdue",
            "workdays_overdue",
            "lead_names",
        )
    ]


def _score_states(close: QuarterClose | None) -> list[ScoreState]:
    if close is None:
        return []
    return [
        ScoreState(*row)
        for row in SnapshotScore.objects.filter(close=close)
        .order_by("rank", "section__sort_order", "section__name")
        .values_list("section_id", "section__name", "adjusted_total", "grade", "rank")
    ]


def previous_close_of(close: QuarterClose) -> QuarterClose | None:
    """上一次关账（按年度、季度排在它前面的最近一次）。"""
    return (
        QuarterClose.objects.filter(Q(year__lt=close.year) | Q(year=close.year, quarter__lt=close.quarter))
        .order_by("-year", "-quarter")
        .first()
    )


def quarter_diff(*, close: QuarterClose, previous_close: QuarterClose | None) -> dict[str, Any]:
    """两次关账之间的变化（见 diff_snapshots）；只读快照表，至多四次查询。previous_close 为 None 时视为空。"""
    return diff_snapshots(
        tasks=_task_states(close),
        previous_tasks=_task_states(previous_close),
        scores=_score_states(close),
        previous_scores=_score_states(previous_close),
    )
