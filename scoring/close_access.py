"""季度关账的读取规则：季度与标题的写法、申诉期，以及谁能看哪些关账快照、台账行与申诉、谁能申诉。

关账、定稿见 closing.py，申诉的提出与处理见 appeals.py，两次关账之间的变化见 close_diff.py。
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from scoring.access import can_compute, can_view_all_scores, require_office
from scoring.models import Appeal, QuarterClose, QuarterCloseStatus, SnapshotLedgerLine, SnapshotScore
from workplan.access import REPORTING_ROLES
from workplan.models import User


def quarter_period(quarter: int) -> str:
    """季度 → 计分期间名称（1 → "Q1"）。"""
    return f"Q{quarter}"


def close_title(close: QuarterClose) -> str:
    return f"{close.year}年第{close.quarter}季度"


def appeal_window_open(close: QuarterClose, *, today: datetime.date | None = None) -> bool:
    """申诉期：关账后至申诉截止日（含当日），且尚未定稿。"""
    today = today or timezone.localdate()
    return close.status == QuarterCloseStatus.APPEAL and today <= close.appeal_deadline


# ---- access (who sees which closed quarters, lines and appeals) -----------------------------------------
#
# Same rules as scoring.access: office and director see every section; section staff and read-only users
# see only their own section (other sections' lines and appeals are 404); writes are office-only (403),
# except an appeal, which only staff of the line's own section may submit.


def _own_section_only(user: User) -> int | None:
    """能看全部时返回 None；否则返回本股室编号（没有股室的用户看不到任何内容：Http404）。"""
    if can_view_all_scores(user):
        return None
    if not user.is_authenticated or user.section_id is None:
        raise Http404("没有可查看的关账记录")
    return int(user.section_id)


def visible_closes(user: User) -> QuerySet[QuarterClose]:
    """关账记录对所有登录用户可见（各股室只看得到本股室的成绩与台账，见下面几个函数）。"""
    if not user.is_authenticated:
        return QuarterClose.objects.none()
    return QuarterClose.objects.select_related("run__ruleset", "closed_by")


def get_close_for_user(user: User, pk: int) -> QuarterClose:
    _own_section_only(user)
    try:
        return visible_closes(user).get(pk=pk)
    except QuarterClose.DoesNotExist as exc:
        raise Http404("关账记录不存在") from exc


def visible_snapshot_scores(user: User, close: QuarterClose) -> QuerySet[SnapshotScore]:
    scores = SnapshotScore.objects.filter(close=close)
    section_id = _own_section_only(user)
    return scores if section_id is None else scores.filter(section_id=section_id)


def visible_snapshot_lines(user: User) -> QuerySet[SnapshotLedgerLine]:
    lines = SnapshotLedgerLine.objects.all()
    section_id = _own_section_only(user)
    return lines if section_id is None else lines.filter(section_id=section_id)


def can_appeal(user: User, line: SnapshotLedgerLine) -> bool:
    """申诉只能由该台账行所属股室的人员（股室人员，或办公室人员对办公室自己的扣分）提出；局长、只读用户不能。"""
    return (
        user.is_authenticated
        and user.role in REPORTING_ROLES
        and user.section_id is not None
        and user.section_id == line.section_id
    )


def get_line_for_appeal(user: User, pk: int) -> SnapshotLedgerLine:
    """取要申诉的台账行：看不到的（其他股室的）404；看得到但不是本股室人员（局长、只读、办公室看他股室）403。"""
    try:
        line = visible_snapshot_lines(user).select_related("close", "section").get(pk=pk)
    except SnapshotLedgerLine.DoesNotExist as exc:
        raise Http404("台账明细不存在") from exc
    if not can_appeal(user, line):
        raise PermissionDenied("只有该台账行所属股室的人员可以申诉")
    return line


def visible_appeals(user: User) -> QuerySet[Appeal]:
    appeals = Appeal.objects.all()
    section_id = _own_section_only(user)
    return appeals if section_id is None else appeals.filter(section_id=section_id)


def get_appeal_for_user(user: User, pk: int, *, decide: bool = False) -> Appeal:
    """取申诉：处理（decide=True）仅办公室，其他人在查找之前就 403；看不到的（其他股室的）404。"""
    if decide:
        require_office(user, "处理申诉")
    try:
        return (
            visible_appeals(user)
            .select_related("close", "line", "section", "submitted_by", "decided_by", "reversal")
            .get(pk=pk)
        )
    except Appeal.DoesNotExist as exc:
        raise Http404("申诉不存在") from exc


# ---- read helpers for the pages -------------------------------------------------------------------------


def closed_quarters() -> QuerySet[QuarterClose]:
    return QuarterClose.objects.select_related("run__ruleset", "closed_by").order_by("-year", "-quarter")


def can_close(user: User) -> bool:
    return can_compute(user)
