"""缺报的判定（纯函数）：某季度应报送而没有有效报送的（任务，股室）。

办公室的缺报清单与报送提醒（workplan.reminders）、考核事实 reports_missing（scoring.facts）、
仪表盘的缺报与退回（scoring.dashboard）都用这里的规则，各自只负责取数：

- 应报送：periods.report_expected（周期性、持续推进的任务每季度报；一次性任务完成前每季度报）；
- “之前已完成”：某牵头股室在更早的季度报送“已完成/无法完成”并已通过（取最早的季度）；
  没有这样的报送而任务状态已关闭的（办公室直接关闭的）也算已完成；
- 每个分工股室各报一份，兼任牵头与责任的只算一份（记为牵头）；
- 没有报送为“未报送”，报送被退回（尚未重新提交）为“被退回未重报”。
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from workplan.models import AssignmentRole, ReportStatus, ReviewState
from workplan.periods import report_expected

STATE_NOT_SUBMITTED = "not_submitted"
STATE_RETURNED = "returned"
STATE_LABELS = {STATE_NOT_SUBMITTED: "未报送", STATE_RETURNED: "被退回未重报"}

CLOSED_STATUSES = (ReportStatus.DONE, ReportStatus.CANNOT_COMPLETE)

# (task_id, section_id, quarter, role, status, review_state)
ReportRow = tuple[int, int, int, str, str, str]


def section_roles(assignments: Iterable[tuple[int, int, str]]) -> dict[int, dict[int, str]]:
    """分工 (任务, 股室, 角色) → 任务 → {股室: 角色}；同一股室兼任牵头与责任时记为牵头。"""
    roles: dict[int, dict[int, str]] = {}
    for task_id, section_id, role in assignments:
        by_section = roles.setdefault(task_id, {})
        if by_section.get(section_id) != AssignmentRole.LEAD:
            by_section[section_id] = role
    return roles


def report_states(
    reports: Iterable[ReportRow], quarter: int
) -> tuple[dict[tuple[int, int], str], dict[int, int]]:
    """从一年的报送算出：本季度各（任务，股室）报送的审核状态，以及各任务的关闭季度
    （牵头股室“已完成/无法完成”且已通过的最早季度）。"""
    current: dict[tuple[int, int], str] = {}
    closed_in: dict[int, int] = {}
    for task_id, section_id, q, role, status, review_state in reports:
        if q == quarter:
            current[(task_id, section_id)] = review_state
        if role == AssignmentRole.LEAD and status in CLOSED_STATUSES and review_state == ReviewState.ACCEPTED:
            closed_in[task_id] = min(q, closed_in.get(task_id, q))
    return current, closed_in


def outstanding(
    tasks: Iterable[tuple[int, str, str]],
    roles: Mapping[int, Mapping[int, str]],
    current: Mapping[tuple[int, int], str],
    closed_in: Mapping[int, int],
    *,
    plan_year: int,
    year: int,
    quarter: int,
) -> list[tuple[int, int, str, str]]:
    """(year, quarter) 应报送而没有有效报送的 (任务, 股室, 角色, 情况)，按任务的先后、股室在分工里的先后。

    tasks: (任务, 状态, 周期)；roles: section_roles 的结果；current、closed_in: report_states 的结果
    （已关账的季度可换成快照里的审核状态）。
    """
    out: list[tuple[int, int, str, str]] = []
    for task_id, status, recurrence in tasks:
        done_before = closed_in[task_id] < quarter if task_id in closed_in else status in CLOSED_STATUSES
        expected = report_expected(
            plan_year=plan_year,
            year=year,
            quarter=quarter,
            recurrence=recurrence or "",
            due_date=None,
            done_before=done_before,
        )
        if not expected:
            continue
        for section_id, role in roles.get(task_id, {}).items():
            review_state = current.get((task_id, section_id))
            if review_state is None:
                out.append((task_id, section_id, role, STATE_NOT_SUBMITTED))
            elif review_state == ReviewState.RETURNED:
                out.append((task_id, section_id, role, STATE_RETURNED))
    return out
