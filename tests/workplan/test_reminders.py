"""提醒服务：到期/逾期按工作日计算（国庆长假、2027 年无官方数据）、去重与邮件、JobRun 批次、缺报清单。"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import make_plan, make_task
from workplan import reminders
from workplan.calendar_db import calendar_warnings, load_calendar
from workplan.models import (
    AssignmentRole,
    HolidayOverride,
    JobRun,
    Notification,
    OfficeSettings,
    Recurrence,
    ReportStatus,
    Role,
    Task,
    TaskAssignment,
)
from workplan.reporting import ACCEPT, RETURN, report_review, report_submit

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: dt.date, hour: int = 7, minute: int = 30) -> time_machine.travel:
    return time_machine.travel(
        dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI), tick=False
    )


@pytest.fixture
def mailers(lead_user, resp_user, readonly_user, outsider, office_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for user in (lead_user, resp_user, readonly_user, outsider, office_user):
        user.email = f"{user.username}@example.gov.cn"
        user.save(update_fields=["email"])
    return {"lead": lead_user, "resp": resp_user, "readonly": readonly_user, "office": office_user}


def kinds_for(user) -> list[tuple[str, str]]:
    return list(Notification.objects.filter(user=user).order_by("kind", "id").values_list("kind", "message"))


# ----------------------------------------------------------------------------------------------------
# Working days around the 2023 National Day holiday


@pytest.mark.parametrize(
    ("due", "expected_kind", "fragment"),
    [
        (dt.date(2023, 10, 9), "due_soon", "还剩3个工作日"),  # 11 calendar days, 3 working days
        (dt.date(2023, 9, 28), "due_soon", "今天到期"),
        (dt.date(2023, 10, 1), "due_soon", "逢节假日顺延至2023年10月7日，还剩1个工作日"),
        (dt.date(2023, 10, 16), None, ""),  # 18 calendar days, 8 working days: too far
    ],
)
def test_due_soon_is_counted_in_working_days_across_national_day(
    plan, sections, mailers, due, expected_kind, fragment
):
    make_task(
        plan, title="公开统计公报", due_date=due, leads=[sections["lead"]], responsibles=[sections["resp"]]
    )
    with at(dt.date(2023, 9, 28)):
        reminders.reminders_send_daily(today=dt.date(2023, 9, 28))
    got = [(k, m) for k, m in kinds_for(mailers["lead"]) if k != "report_due"]
    if expected_kind is None:
        assert got == []
    else:
        assert [k for k, _ in got] == [expected_kind]
        assert fragment in got[0][1]


def test_overdue_is_counted_in_working_days_not_calendar_days(plan, sections, mailers):
    make_task(plan, title="公开统计公报", due_date=dt.date(2023, 9, 28), leads=[sections["lead"]])
    with at(dt.date(2023, 10, 9)):
        result = reminders.reminders_send_daily(today=dt.date(2023, 10, 9))
    assert result["overdue"] == 1
    [(kind, message)] = [(k, m) for k, m in kinds_for(mailers["lead"]) if k == "overdue"]
    assert "已逾期3个工作日" in message  # 10-07, 10-08 (make-up days) and 10-09; not 11 calendar days


def test_done_and_cannot_complete_tasks_get_no_reminders(plan, sections, mailers):
    for status in (ReportStatus.DONE, ReportStatus.CANNOT_COMPLETE):
        make_task(plan, due_date=dt.date(2023, 9, 1), status=status, leads=[sections["lead"]])
    with at(dt.date(2023, 9, 28)):
        result = reminders.reminders_send_daily(today=dt.date(2023, 9, 28))
    assert result["overdue"] == 0
    assert not Notification.objects.filter(kind__in=["overdue", "due_soon"]).exists()


def test_no_reminders_are_sent_on_a_holiday(plan, sections, mailers):
    make_task(plan, due_date=dt.date(2023, 9, 28), leads=[sections["lead"]])
    with at(dt.date(2023, 10, 2)):
        result = reminders.reminders_send_daily(today=dt.date(2023, 10, 2))
    assert result["workday"] is False
    assert Notification.objects.count() == 0
    assert JobRun.objects.get(key="2023-10-02").outcome == JobRun.Outcome.SUCCESS


# ----------------------------------------------------------------------------------------------------
# Recipients, dedupe and email


def test_lead_and_responsible_users_are_reminded_but_not_readonly_or_other_sections(
    plan, sections, mailers, outsider
):
    make_task(plan, due_date=dt.date(2023, 10, 9), leads=[sections["lead"]], responsibles=[sections["resp"]])
    with at(dt.date(2023, 9, 28)):
        reminders.reminders_send_daily(today=dt.date(2023, 9, 28))
    recipients = set(Notification.objects.filter(kind="due_soon").values_list("user__username", flat=True))
    assert recipients == {"lead", "resp"}
    assert not Notification.objects.filter(user__role=Role.READONLY).exists()
    assert not Notification.objects.filter(user=outsider).exists()
    assert "readonly@example.gov.cn" not in [to for m in mail.outbox for to in m.to]


def test_running_twice_sends_nothing_twice(plan, sections, mailers):
    make_task(
        plan,
        title="任务甲",
        due_date=dt.date(2023, 10, 9),
        leads=[sections["lead"]],
        responsibles=[sections["resp"]],
    )
    make_task(plan, title="任务乙", due_date=dt.date(2023, 9, 20), leads=[sections["lead"]])
    with at(dt.date(2023, 9, 28)):
        first = reminders.reminders_send_daily(today=dt.date(2023, 9, 28))
        count = Notification.objects.count()
        second = reminders.reminders_send_daily(today=dt.date(2023, 9, 28))
    assert second == first
    assert Notification.objects.count() == count
    assert JobRun.objects.filter(job=reminders.JOB_DAILY).count() == 1
    # One email per user per run, listing all of that user's items.
    assert sorted(m.to[0] for m in mail.outbox) == ["lead@example.gov.cn", "resp@example.gov.cn"]
    lead_mail = next(m for m in mail.outbox if m.to == ["lead@example.gov.cn"])
    assert "任务甲" in lead_mail.body and "任务乙" in lead_mail.body
    assert not Notification.objects.filter(
        emailed_at__isnull=True, user__in=[mailers["lead"], mailers["resp"]]
    ).exists()


def test_due_soon_is_sent_once_but_overdue_once_per_day(plan, sections, mailers):
    make_task(plan, title="任务甲", due_date=dt.date(2023, 10, 9), leads=[sections["lead"]])
    make_task(plan, title="任务乙", due_date=dt.date(2023, 9, 20), leads=[sections["lead"]])
    for day in (dt.date(2023, 9, 27), dt.date(2023, 9, 28)):
        with at(day):
            reminders.reminders_send_daily(today=day)
    lead = mailers["lead"]
    assert Notification.objects.filter(user=lead, kind="due_soon").count() == 1
    assert set(
        Notification.objects.filter(user=lead, kind="overdue").values_list("dedupe_key", flat=True)
    ) == {
        f"overdue:{Task.objects.get(title='任务乙').pk}:{lead.pk}:2023-09-27",
        f"overdue:{Task.objects.get(title='任务乙').pk}:{lead.pk}:2023-09-28",
    }
    # Second day's email lists only what was new that day.
    assert len(mail.outbox) == 2
    assert "任务甲" not in mail.outbox[1].body and "任务乙" in mail.outbox[1].body


def test_no_email_with_the_console_backend_and_no_smtp_host(plan, sections, mailers, settings):
    settings.EMAIL_BACKEND = reminders.CONSOLE_EMAIL_BACKEND
    settings.EMAIL_HOST = "localhost"
    make_task(plan, due_date=dt.date(2023, 10, 9), leads=[sections["lead"]])
    with at(dt.date(2023, 9, 28)):
        result = reminders.reminders_send_daily(today=dt.date(2023, 9, 28))
    assert result["emails"] == 0
    assert Notification.objects.filter(kind="due_soon", emailed_at__isnull=True).count() == 1


def test_users_without_email_get_only_the_site_notification(plan, sections, lead_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_task(plan, due_date=dt.date(2023, 10, 9), leads=[sections["lead"]])
    with at(dt.date(2023, 9, 28)):
        reminders.reminders_send_daily(today=dt.date(2023, 9, 28))
    assert Notification.objects.filter(user=lead_user, kind="due_soon").exists()
    assert mail.outbox == []


# ----------------------------------------------------------------------------------------------------
# Job runs: failure and retry, in-flight duplicates


def test_a_failed_run_is_marked_and_the_retry_replaces_it(plan, sections, mailers, monkeypatch):
    make_task(plan, due_date=dt.date(2023, 10, 9), leads=[sections["lead"]])
    real = reminders._deliver_new
    calls = {"n": 0}

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("SMTP 服务器无响应")
        return real(**kwargs)

    monkeypatch.setattr(reminders, "_deliver_new", flaky)
    with at(dt.date(2023, 9, 28)):
        with pytest.raises(ConnectionError):
            reminders.reminders_send_daily(today=dt.date(2023, 9, 28))
        run = JobRun.objects.get(job=reminders.JOB_DAILY)
        assert run.outcome == JobRun.Outcome.FAILURE
        assert "SMTP" in run.detail["error"]
        assert mail.outbox == []
    with at(dt.date(2023, 9, 28), hour=7, minute=36):  # django-q2 redelivers after Q_RETRY seconds
        result = reminders.reminders_send_daily(today=dt.date(2023, 9, 28))
    run = JobRun.objects.get(job=reminders.JOB_DAILY)  # still exactly one row
    assert run.outcome == JobRun.Outcome.SUCCESS
    assert result["attempt"] == 2
    # The retry emails what the failed attempt had already recorded, exactly once.
    assert [m.to for m in mail.outbox] == [["lead@example.gov.cn"]]
    assert Notification.objects.filter(kind="due_soon").count() == 1


def test_a_duplicate_delivery_while_running_does_nothing(plan, sections, mailers):
    make_task(plan, due_date=dt.date(2023, 10, 9), leads=[sections["lead"]])
    with at(dt.date(2023, 9, 28)):
        JobRun.objects.create(job=reminders.JOB_DAILY, key="2023-09-28")
        assert reminders.reminders_send_daily(today=dt.date(2023, 9, 28)) == {"running": True}
    assert Notification.objects.count() == 0


def test_a_run_left_running_past_the_timeout_is_taken_over(plan, sections, mailers):
    make_task(plan, due_date=dt.date(2023, 10, 9), leads=[sections["lead"]])
    with at(dt.date(2023, 9, 28)):
        JobRun.objects.create(job=reminders.JOB_DAILY, key="2023-09-28")
    with at(dt.date(2023, 9, 28), hour=9):
        result = reminders.reminders_send_daily(today=dt.date(2023, 9, 28))
    assert result["due_soon"] == 1
    assert JobRun.objects.get(job=reminders.JOB_DAILY).outcome == JobRun.Outcome.SUCCESS


# ----------------------------------------------------------------------------------------------------
# Years without official holiday data


def test_2027_falls_back_to_weekends_with_a_warning(db):
    cal = load_calendar()
    assert calendar_warnings(cal, [2026, 2027]) == ["2027年节假日尚未录入，暂按周末计算"]
    assert cal.is_workday(dt.date(2027, 1, 1))  # a Friday: counted as a working day for now


@pytest.mark.parametrize(("holiday_entered", "fragment"), [(False, "还剩2个工作日"), (True, "还剩1个工作日")])
def test_an_office_holiday_override_changes_2027_reminders(sections, mailers, holiday_entered, fragment):
    if holiday_entered:
        HolidayOverride.objects.create(date=dt.date(2027, 1, 1), is_workday=False, note="元旦")
    plan = make_plan(year=2027)
    make_task(plan, due_date=dt.date(2027, 1, 4), leads=[sections["lead"]])
    with at(dt.date(2026, 12, 31)):
        reminders.reminders_send_daily(today=dt.date(2026, 12, 31))
    [message] = Notification.objects.filter(user=mailers["lead"], kind="due_soon").values_list(
        "message", flat=True
    )
    assert fragment in message
    warnings = calendar_warnings(load_calendar(), [2027])
    assert warnings == ([] if holiday_entered else ["2027年节假日尚未录入，暂按周末计算"])


def test_overrides_in_a_covered_year_adjust_single_days_only(db):
    HolidayOverride.objects.create(date=dt.date(2023, 10, 9), is_workday=False, note="地方调整")
    cal = load_calendar()
    assert not cal.is_workday(dt.date(2023, 10, 9))
    assert not cal.is_workday(dt.date(2023, 10, 2))  # the official holiday still applies
    assert calendar_warnings(cal, [2023]) == []


# ----------------------------------------------------------------------------------------------------
# Quarterly report deadline reminder


def test_sections_that_have_not_reported_are_reminded_before_the_quarterly_deadline(
    plan, sections, mailers, lead_user
):
    task = make_task(
        plan, recurrence=Recurrence.QUARTERLY, leads=[sections["lead"]], responsibles=[sections["resp"]]
    )
    with at(dt.date(2023, 9, 27)):
        report_submit(
            task=task,
            section=sections["lead"],
            year=2023,
            quarter=3,
            status=ReportStatus.IN_PROGRESS,
            narrative="已发布",
            user=lead_user,
        )
    with at(dt.date(2023, 9, 28)):
        reminders.reminders_send_daily(today=dt.date(2023, 9, 28))
    [(kind, message)] = kinds_for(mailers["resp"])
    assert kind == "report_due"
    assert "2023年第3季度进展报送截止日为2023年10月8日（还剩2个工作日）" in message
    assert "1项" in message
    assert kinds_for(mailers["lead"]) == []


def test_no_quarterly_reminder_outside_the_window(plan, sections, mailers):
    make_task(plan, recurrence=Recurrence.QUARTERLY, leads=[sections["lead"]])
    with at(dt.date(2023, 9, 14)):
        reminders.reminders_send_daily(today=dt.date(2023, 9, 14))
    assert not Notification.objects.filter(kind="report_due").exists()


# ----------------------------------------------------------------------------------------------------
# Query counts


def _bulk_tasks(plan, n, lead, resp):
    tasks = Task.objects.bulk_create(
        [
            Task(
                plan=plan,
                code=f"Q{i:05d}",
                number_path=f"一/{i}",
                title=f"批量任务{i}",
                position=i,
                due_date=dt.date(2023, 10, 9) if i % 2 else dt.date(2023, 9, 20),
                recurrence=Recurrence.QUARTERLY if i % 3 == 0 else "",
            )
            for i in range(n)
        ]
    )
    TaskAssignment.objects.bulk_create(
        [TaskAssignment(task=t, section=lead, role=AssignmentRole.LEAD) for t in tasks]
        + [TaskAssignment(task=t, section=resp, role=AssignmentRole.RESPONSIBLE) for t in tasks]
    )


QUERY_BOUND = 24


@pytest.mark.parametrize("n", [10, 300])
def test_query_count_does_not_grow_with_tasks(plan, sections, mailers, n, django_assert_max_num_queries):
    _bulk_tasks(plan, n, sections["lead"], sections["resp"])
    OfficeSettings.current()
    with at(dt.date(2023, 9, 28)):
        with CaptureQueriesContext(connection) as ctx, django_assert_max_num_queries(QUERY_BOUND):
            result = reminders.reminders_send_daily(today=dt.date(2023, 9, 28))
    assert result["due_soon"] + result["overdue"] == n
    assert len(mail.outbox) == 2
    # Everything except the notification INSERTs is the same fixed number of queries at both sizes;
    # the INSERTs are one bulk_create, which Django splits into batches of 999 parameters on SQLite
    # (124 rows each).
    fixed = [q["sql"] for q in ctx.captured_queries if not _is_notification_insert(q["sql"])]
    assert len(fixed) == FIXED_QUERIES, "\n".join(sql[:120] for sql in fixed)


FIXED_QUERIES = 17  # + 1: the open applications (workplan/application_register.py application_reminders)


def _is_notification_insert(sql: str) -> bool:
    return sql.startswith("INSERT") and '"workplan_notification"' in sql.split("(")[0]


# ----------------------------------------------------------------------------------------------------
# Missing reports


@pytest.fixture
def quarter_tasks(plan, sections, lead_user, resp_user, office_user):
    """Q3 2023：每季度任务（无人报送）、二季度已完成的一次性任务、三季度被退回的一次性任务。"""
    recurring = make_task(
        plan,
        title="每季度发布统计数据",
        recurrence=Recurrence.QUARTERLY,
        leads=[sections["lead"]],
        responsibles=[sections["resp"]],
    )
    finished = make_task(
        plan, title="年中完成的一次性任务", due_date=dt.date(2023, 6, 30), leads=[sections["lead"]]
    )
    returned = make_task(plan, title="被退回的任务", due_date=dt.date(2023, 12, 31), leads=[sections["resp"]])
    with at(dt.date(2023, 6, 20)):
        done = report_submit(
            task=finished,
            section=sections["lead"],
            year=2023,
            quarter=2,
            status=ReportStatus.DONE,
            narrative="已完成",
            user=lead_user,
        )
        report_review(
            report=done, decision=ACCEPT, comment="", user=office_user, expected_version=done.version
        )
    with at(dt.date(2023, 10, 7)):
        sent = report_submit(
            task=returned,
            section=sections["resp"],
            year=2023,
            quarter=3,
            status=ReportStatus.IN_PROGRESS,
            narrative="推进中",
            user=resp_user,
        )
        report_review(
            report=sent,
            decision=RETURN,
            comment="请补充佐证",
            user=office_user,
            expected_version=sent.version,
        )
    return {"recurring": recurring, "finished": finished, "returned": returned}


def test_missing_reports_for_a_quarter(quarter_tasks, sections):
    rows = reminders.missing_reports(year=2023, quarter=3, today=dt.date(2023, 10, 12))
    got = [(r.task_title, r.section_name, r.role, r.state_label) for r in rows]
    assert got == [
        ("每季度发布统计数据", "综合股", AssignmentRole.LEAD, "未报送"),
        ("每季度发布统计数据", "法规股", AssignmentRole.RESPONSIBLE, "未报送"),
        ("被退回的任务", "法规股", AssignmentRole.LEAD, "被退回未重报"),
    ]
    assert {r.deadline for r in rows} == {dt.date(2023, 10, 8)}
    assert {r.workdays_overdue for r in rows} == {4}  # 10-09 .. 10-12


def test_the_finished_one_off_task_was_still_expected_in_its_own_quarter(quarter_tasks):
    q2 = reminders.missing_reports(year=2023, quarter=2, today=dt.date(2023, 10, 12))
    assert "年中完成的一次性任务" not in [r.task_title for r in q2]  # reported "done" in Q2
    q3_titles = [
        r.task_title for r in reminders.missing_reports(year=2023, quarter=3, today=dt.date(2023, 10, 12))
    ]
    assert "年中完成的一次性任务" not in q3_titles


def test_a_resubmitted_report_is_no_longer_missing(quarter_tasks, sections, resp_user):
    task = quarter_tasks["returned"]
    with at(dt.date(2023, 10, 11)):
        current = task.reports.get(year=2023, quarter=3)
        report_submit(
            task=task,
            section=sections["resp"],
            year=2023,
            quarter=3,
            status=ReportStatus.IN_PROGRESS,
            narrative="已补充",
            user=resp_user,
            expected_version=current.version,
        )
    rows = reminders.missing_reports(year=2023, quarter=3, today=dt.date(2023, 10, 12))
    assert "被退回的任务" not in [r.task_title for r in rows]


def test_missing_reports_notify_office_once_per_quarter(quarter_tasks, mailers, office_user):
    with at(dt.date(2023, 10, 9)):
        first = reminders.missing_reports_notify(year=2023, quarter=3, today=dt.date(2023, 10, 9))
        second = reminders.missing_reports_notify(year=2023, quarter=3, today=dt.date(2023, 10, 9))
    assert first == second
    assert first["missing"] == 3 and first["returned"] == 1
    [note] = Notification.objects.filter(kind="missing_reports")
    assert note.user == office_user
    assert note.dedupe_key == f"missing:2023Q3:{office_user.pk}"
    assert "缺报3项（未报送2项，被退回未重报1项）" in note.message
    assert [m.to for m in mail.outbox] == [["office@example.gov.cn"]]
    assert JobRun.objects.get(job=reminders.JOB_MISSING).key == "2023Q3"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2023, 10, 8), None),  # deadline day (a make-up working Sunday)
        (dt.date(2023, 10, 9), (2023, 3)),
        (dt.date(2023, 11, 20), (2023, 3)),  # a late first run still catches up; JobRun keeps it once
        (dt.date(2024, 1, 8), None),
        (dt.date(2024, 1, 9), (2023, 4)),
    ],
)
def test_the_quarterly_job_runs_after_the_previous_quarters_deadline(db, today, expected):
    assert reminders.missing_reports_quarter_due(today=today) == expected


def test_a_lead_section_also_responsible_reports_once(plan, sections):
    task = make_task(plan, recurrence=Recurrence.MONTHLY, leads=[sections["lead"]])
    TaskAssignment.objects.create(task=task, section=sections["lead"], role=AssignmentRole.RESPONSIBLE)
    rows = reminders.missing_reports(year=2023, quarter=1, today=dt.date(2023, 4, 20))
    assert [(r.section_name, r.role) for r in rows] == [("综合股", AssignmentRole.LEAD)]


def test_other_years_plans_are_not_expected(sections):
    make_task(make_plan(year=2024), recurrence=Recurrence.QUARTERLY, leads=[sections["lead"]])
    assert reminders.missing_reports(year=2023, quarter=4, today=dt.date(2024, 1, 20)) == []
