"""发布信息的公开时限（《政府信息公开条例》第二十六条：信息形成之日起20个工作日内公开）：
截止日期、剩余或逾期的工作日。按工作日历计算（节假日不算，调休上班日算）。
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from workplan.models import PUBLISH_WITHIN_WORKDAYS, PublicationItem
from workplan.workdays import WorkdayCalendar


def due_date(formed_on: datetime.date, *, cal: WorkdayCalendar) -> datetime.date:
    """公开时限：信息形成之日起第 20 个工作日（形成当天不算；节假日不算，调休上班日算）。"""
    return cal.add_workdays(formed_on, PUBLISH_WITHIN_WORKDAYS)


@dataclass(frozen=True)
class Deadline:
    due_on: datetime.date
    workdays_left: int | None  # 未发布时距截止日的工作日数（截止日当天 0，逾期为负）；已发布为 None
    late: bool

    @property
    def text(self) -> str:
        if self.workdays_left is None:
            return "逾期发布" if self.late else "按时发布"
        if self.workdays_left > 0:
            return f"剩余{self.workdays_left}个工作日"
        if self.workdays_left == 0:
            return "今日截止"
        return f"逾期{-self.workdays_left}个工作日"


def deadline_of(item: PublicationItem, *, cal: WorkdayCalendar, today: datetime.date) -> Deadline:
    """某条信息的公开时限、剩余工作日与是否逾期（逾期规则见 PublicationItem.is_late）。"""
    left = None if item.published_on is not None else cal.workdays_left(today, item.due_on)
    return Deadline(item.due_on, left, item.is_late(today=today))
