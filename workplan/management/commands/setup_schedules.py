"""建立/更新 django-q2 的定时任务（每日 07:30 北京时间）：
只按本文件的白名单建立，可重复运行，不删除其他计划。"""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")
RUN_AT = datetime.time(7, 30)

# Schedule name -> dotted path of a function in workplan/tasks.py. Nothing else is ever scheduled
# by this command; schedules are never edited in admin (a Schedule's func is arbitrary code).
ALLOWED_SCHEDULES: dict[str, str] = {
    "每日提醒（到期、逾期、季度报送）": "workplan.tasks.daily_reminders",
    "季度缺报清单（上季度截止日次日）": "workplan.tasks.quarterly_missing_reports",
    "后台文件清理（超过保留天数的导出与报告）": "workplan.tasks.file_jobs_cleanup",
}


def next_run_at(now: datetime.datetime) -> datetime.datetime:
    """now 之后最近的一个 07:30（北京时间）。"""
    local = now.astimezone(SHANGHAI)
    candidate = datetime.datetime.combine(local.date(), RUN_AT, tzinfo=SHANGHAI)
    if candidate <= local:
        candidate += datetime.timedelta(days=1)
    return candidate


def _runs_at_the_right_time(value: datetime.datetime | None) -> bool:
    if value is None:
        return False
    local = value.astimezone(SHANGHAI)
    return (local.hour, local.minute, local.second, local.microsecond) == (7, 30, 0, 0)


def schedules_setup(*, now: datetime.datetime | None = None) -> dict[str, str]:
    """按白名单建立或更新计划：每日一次、永久重复、无参数。

    已有同名计划时只改不一致的字段；它的下次运行时间若已是某天 07:30 就保留（调度器会自己往后推），
    否则改为下一个 07:30。同名的多余行（重复建立留下的）删除，使每个名称恰好一行。返回 名称 → 动作。
    """
    now = now or timezone.now()
    actions: dict[str, str] = {}
    wanted = {
        "schedule_type": Schedule.DAILY,
        "repeats": -1,
        "minutes": None,
        "cron": None,
        "hook": None,
        "args": None,
        "kwargs": None,
        "cluster": None,
        "intended_date_kwarg": None,
    }
    with transaction.atomic():
        for name, func in ALLOWED_SCHEDULES.items():
            rows = list(Schedule.objects.filter(name=name).order_by("pk"))
            if not rows:
                Schedule.objects.create(name=name, func=func, next_run=next_run_at(now), **wanted)
                actions[name] = "created"
                continue
            row, extra = rows[0], rows[1:]
            if extra:
                Schedule.objects.filter(pk__in=[r.pk for r in extra]).delete()
            changed = [
                field for field, value in {"func": func, **wanted}.items() if getattr(row, field) != value
            ]
            for field in changed:
                setattr(row, field, {"func": func, **wanted}[field])
            if not _runs_at_the_right_time(row.next_run):
                row.next_run = next_run_at(now)
                changed.append("next_run")
            if changed:
                row.save(update_fields=changed)
            actions[name] = "updated" if changed or extra else "unchanged"
    return actions


class Command(BaseCommand):
    help = "建立/更新后台定时任务（每日 07:30 提醒、季度缺报清单、后台文件清理）。可重复运行。"

    def handle(self, *args: Any, **options: Any) -> None:
        labels = {"created": "新建", "updated": "更新", "unchanged": "未变"}
        for name, action in schedules_setup().items():
            self.stdout.write(f"{labels[action]}：{name} → {ALLOWED_SCHEDULES[name]}")
