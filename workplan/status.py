"""任务总体状态：由牵头、责任股室各自最近一次报送推导（纯函数）。"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
DONE = "done"
CANNOT_COMPLETE = "cannot_complete"
ACCEPTED = "accepted"


@dataclass(frozen=True)
class SectionLatest:
    """某股室对该任务最近一次报送（按年度、季度取最新）的状态与审核状态。"""

    section_id: int
    is_lead: bool
    status: str
    review_state: str


def derive_task_status(lead_section_ids: Iterable[int], latest: Iterable[SectionLatest]) -> str:
    """任务总体状态的规则（按顺序判断）：

    1. 无法完成：任一牵头股室最近一次报送为“无法完成”且已被办公室通过；
    2. 已完成：每一个牵头股室最近一次报送都是“已完成”且已被办公室通过
       （牵头股室对完成负责；责任股室的报送作为过程记录，不单独决定完成）；
    3. 推进中：任何股室（牵头或责任）报送过“推进中”或“已完成”“无法完成”（含待审核、被退回的）；
    4. 未启动：其余情况（没有报送，或只报送了“未启动”）。
    没有牵头股室的任务不会被判为已完成。
    """
    leads = set(lead_section_ids)
    rows = list(latest)
    lead_rows = {r.section_id: r for r in rows if r.section_id in leads}
    if any(r.status == CANNOT_COMPLETE and r.review_state == ACCEPTED for r in lead_rows.values()):
        return CANNOT_COMPLETE
    if leads and all(
        (r := lead_rows.get(sid)) is not None and r.status == DONE and r.review_state == ACCEPTED for sid in leads
    ):
        return DONE
    if any(r.status in (IN_PROGRESS, DONE, CANNOT_COMPLETE) for r in rows):
        return IN_PROGRESS
    return NOT_STARTED
