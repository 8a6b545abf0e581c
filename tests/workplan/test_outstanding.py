"""缺报判定（workplan.outstanding）：纯函数，不访问数据库。缺报清单、考核事实与仪表盘共用这一份规则。"""

from __future__ import annotations

import pytest

from workplan.outstanding import (
    STATE_NOT_SUBMITTED,
    STATE_RETURNED,
    outstanding,
    report_states,
    section_roles,
)

LEAD, RESP = "lead", "responsible"


def test_a_section_holding_both_roles_reports_once_as_lead():
    roles = section_roles([(1, 10, RESP), (1, 10, LEAD), (1, 11, RESP), (2, 10, LEAD), (2, 10, RESP)])
    assert roles == {1: {10: LEAD, 11: RESP}, 2: {10: LEAD}}


def test_report_states_take_this_quarter_and_the_earliest_accepted_lead_closure():
    reports = [
        (1, 10, 2, LEAD, "in_progress", "accepted"),
        (1, 10, 3, LEAD, "done", "accepted"),
        (1, 11, 3, RESP, "done", "accepted"),  # a responsible section cannot close the task
        (2, 10, 2, LEAD, "done", "submitted"),  # not yet accepted
        (3, 10, 1, LEAD, "cannot_complete", "accepted"),
        (3, 10, 4, LEAD, "done", "accepted"),
    ]
    current, closed_in = report_states(reports, 3)
    assert current == {(1, 10): "accepted", (1, 11): "accepted"}
    assert closed_in == {1: 3, 3: 1}


@pytest.mark.parametrize(
    ("task", "closed_in", "current", "expected"),
    [
        # 一次性任务未完成：牵头、责任都要报，没报为未报送，被退回为被退回未重报。
        (
            (1, "in_progress", ""),
            {},
            {(1, 11): "returned"},
            [(1, 10, LEAD, STATE_NOT_SUBMITTED), (1, 11, RESP, STATE_RETURNED)],
        ),
        # 已通过的报送、待审核的报送都算报了。
        ((1, "in_progress", ""), {}, {(1, 10): "accepted", (1, 11): "submitted"}, []),
        # 前一季度已完成：不再要求报送；本季度才完成的仍要报本季度。
        ((1, "done", ""), {1: 2}, {}, []),
        (
            (1, "done", ""),
            {1: 3},
            {},
            [(1, 10, LEAD, STATE_NOT_SUBMITTED), (1, 11, RESP, STATE_NOT_SUBMITTED)],
        ),
        # 办公室直接关闭（没有通过的完成报送）：算已完成。
        ((1, "done", ""), {}, {}, []),
        # 周期性任务每季度都报，完成与否都一样。
        (
            (1, "done", "quarterly"),
            {1: 1},
            {},
            [(1, 10, LEAD, STATE_NOT_SUBMITTED), (1, 11, RESP, STATE_NOT_SUBMITTED)],
        ),
    ],
)
def test_outstanding_reports_of_a_quarter(task, closed_in, current, expected):
    roles = {1: {10: LEAD, 11: RESP}}
    got = outstanding([task], roles, current, closed_in, plan_year=2023, year=2023, quarter=3)
    assert got == expected


def test_nothing_is_due_outside_the_plan_year():
    roles = {1: {10: LEAD}}
    assert outstanding([(1, "in_progress", "")], roles, {}, {}, plan_year=2023, year=2024, quarter=1) == []
