"""定时任务：setup_schedules 可重复运行、只管白名单、07:30 北京时间；
计划调用的函数可导入，并能在同步模式下运行。"""

from __future__ import annotations

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.utils.module_loading import import_string
from django_q.models import Schedule
from django_q.models import Task as QTask
from django_q.tasks import async_task

from tests.factories import make_task
from workplan import tasks
from workplan.management.commands.setup_schedules import ALLOWED_SCHEDULES, next_run_at
from workplan.models import JobRun, Notification, Recurrence

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIELDS = ("name", "func", "schedule_type", "repeats", "next_run", "args", "kwargs", "minutes", "cron", "hook")


def snapshot() -> list[tuple]:
    return list(Schedule.objects.order_by("pk").values_list("pk", *FIELDS))


def run_command() -> str:
    out = StringIO()
    call_command("setup_schedules", stdout=out)
    return out.getvalue()


@time_machine.travel(dt.datetime(2023, 9, 28, 8, 0, tzinfo=SHANGHAI), tick=False)
def test_setup_schedules_is_idempotent(db):
    Schedule.objects.create(
        name="其他系统的计划", func="math.floor", args="1.5", schedule_type=Schedule.HOURLY
    )
    first_out = run_command()
    first = snapshot()
    second_out = run_command()
    assert snapshot() == first
    assert "新建" in first_out and "未变" in second_out and "新建" not in second_out
    assert Schedule.objects.count() == 1 + len(ALLOWED_SCHEDULES)
    assert Schedule.objects.filter(name="其他系统的计划", func="math.floor").exists()


@time_machine.travel(dt.datetime(2023, 9, 28, 8, 0, tzinfo=SHANGHAI), tick=False)
def test_schedules_run_daily_at_0730_shanghai(db):
    run_command()
    for name, func in ALLOWED_SCHEDULES.items():
        row = Schedule.objects.get(name=name)
        assert row.func == func
        assert row.schedule_type == Schedule.DAILY
        assert row.repeats == -1
        assert row.next_run.astimezone(SHANGHAI) == dt.datetime(2023, 9, 29, 7, 30, tzinfo=SHANGHAI)


def test_next_run_is_today_before_0730_and_tomorrow_after():
    before = dt.datetime(2023, 9, 28, 7, 29, tzinfo=SHANGHAI)
    after = dt.datetime(2023, 9, 28, 7, 30, tzinfo=SHANGHAI)
    assert next_run_at(before) == dt.datetime(2023, 9, 28, 7, 30, tzinfo=SHANGHAI)
    assert next_run_at(after) == dt.datetime(2023, 9, 29, 7, 30, tzinfo=SHANGHAI)
    assert next_run_at(dt.datetime(2023, 9, 27, 23, 45, tzinfo=dt.UTC)) == dt.datetime(
        2023, 9, 29, 7, 30, tzinfo=SHANGHAI
    )


@time_machine.travel(dt.datetime(2023, 9, 28, 8, 0, tzinfo=SHANGHAI), tick=False)
def test_a_tampered_schedule_is_put_back_and_duplicates_are_collapsed(db):
    name = next(iter(ALLOWED_SCHEDULES))
    Schedule.objects.create(
        name=name, func="os.system", args="'rm -rf /'", schedule_type=Schedule.MINUTES, minutes=1
    )
    Schedule.objects.create(name=name, func=ALLOWED_SCHEDULES[name], schedule_type=Schedule.DAILY)
    assert "更新" in run_command()
    [row] = Schedule.objects.filter(name=name)
    assert (row.func, row.args, row.schedule_type, row.minutes) == (
        ALLOWED_SCHEDULES[name],
        None,
        Schedule.DAILY,
        None,
    )
    assert row.next_run.astimezone(SHANGHAI).time() == dt.time(7, 30)


def test_the_scheduler_advancing_next_run_is_left_alone(db):
    with time_machine.travel(dt.datetime(2023, 9, 28, 8, 0, tzinfo=SHANGHAI), tick=False):
        run_command()
    Schedule.objects.update(next_run=dt.datetime(2023, 10, 3, 7, 30, tzinfo=SHANGHAI))
    before = snapshot()
    with time_machine.travel(dt.datetime(2023, 10, 2, 12, 0, tzinfo=SHANGHAI), tick=False):
        run_command()
    assert snapshot() == before


@pytest.mark.parametrize("path", sorted(ALLOWED_SCHEDULES.values()))
def test_schedule_funcs_are_importable(path):
    func = import_string(path)
    assert callable(func)
    assert path.startswith("workplan.tasks.")


@time_machine.travel(dt.datetime(2023, 9, 28, 7, 30, tzinfo=SHANGHAI), tick=False)
def test_daily_reminders_runs_through_django_q_in_sync_mode(plan, sections, lead_user):
    make_task(plan, due_date=dt.date(2023, 10, 9), leads=[sections["lead"]])
    async_task("workplan.tasks.daily_reminders")
    async_task("workplan.tasks.daily_reminders")  # delivered twice
    results = list(QTask.objects.order_by("started").values_list("success", "result"))
    assert [ok for ok, _ in results] == [True, True]
    assert "即将到期1项" in results[0][1]
    assert Notification.objects.filter(user=lead_user, kind="due_soon").count() == 1
    assert JobRun.objects.get().key == "2023-09-28"


def test_quarterly_missing_reports_waits_for_the_day_after_the_deadline(plan, sections, office_user):
    make_task(plan, recurrence=Recurrence.QUARTERLY, leads=[sections["lead"]])
    with time_machine.travel(dt.datetime(2023, 10, 8, 7, 30, tzinfo=SHANGHAI), tick=False):
        assert "未过" in tasks.quarterly_missing_reports()
    assert not Notification.objects.exists()
    with time_machine.travel(dt.datetime(2023, 10, 9, 7, 30, tzinfo=SHANGHAI), tick=False):
        assert "2023年第3季度缺报1项" in tasks.quarterly_missing_reports()
    with time_machine.travel(dt.datetime(2023, 10, 10, 7, 30, tzinfo=SHANGHAI), tick=False):
        tasks.quarterly_missing_reports()
    assert Notification.objects.filter(user=office_user, kind="missing_reports").count() == 1
    assert JobRun.objects.filter(job="missing_reports").count() == 1


def test_schedules_cannot_be_added_or_edited_in_admin_even_by_a_superuser(admin_client):
    call_command("setup_schedules", stdout=StringIO())
    row = Schedule.objects.first()
    assert admin_client.get("/admin/django_q/schedule/add/").status_code == 403
    response = admin_client.post(f"/admin/django_q/schedule/{row.pk}/change/", {"func": "os.system"})
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.func in ALLOWED_SCHEDULES.values()
    assert admin_client.get("/admin/django_q/schedule/").status_code == 200


@time_machine.travel(dt.datetime(2023, 10, 2, 7, 30, tzinfo=SHANGHAI), tick=False)
def test_daily_reminders_says_so_on_a_holiday(db):
    assert tasks.daily_reminders() == "2023-10-02：非工作日，不发提醒"
