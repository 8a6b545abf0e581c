"""后台文件任务（“我的后台任务”）：大的列表导出转为后台任务、下载的内容与当场导出相同、小的仍当场下载；
运行时按提交人现在的权限与保存的参数重新查询；失败写中文原因且不留文件；重复投递不重做，进程被杀后的重投
从头重做；投到长任务队列 long；只有提交人能看、能下载；页面的自动刷新、筛选与导航。

测试里 django-q2 同步执行：提交即在请求内生成完毕（Conf.SYNC 关掉时只入队）。
"""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ

from tests.conftest import login
from tests.factories import make_application, make_evidence, make_report, make_task, make_user
from workplan import file_jobs
from workplan.audit import audit_record
from workplan.file_jobs import INTERNAL_ERROR, file_job_enqueue, stale_after
from workplan.models import AuditEntry, FileJob, Role
from workplan.tasks import file_job_run

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2023, 6, 1, 10, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """每个测试自己的上传目录：数得清后台任务写了几个文件。"""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def frozen(time_machine):
    # xlsx files carry their creation time: frozen, two builds of the same rows are byte for byte equal.
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def tasks(plan, sections):
    return [
        make_task(plan, title=f"任务{i}", leads=[sections["lead"]], responsibles=[sections["resp"]])
        for i in range(5)
    ]


@pytest.fixture
def inline_limit(settings):
    """当场下载的上限：测试里改它来决定走哪条路。"""

    def set_limit(rows: int) -> None:
        settings.EXPORT_INLINE_ROWS = rows

    return set_limit


def job_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT) / "jobs"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def the_job(response) -> FileJob:
    assert response.status_code == 302, response.content[:300]
    job = FileJob.objects.get()
    assert response["Location"] == reverse("file_job_detail", args=[job.pk])
    return job


def download(client, job: FileJob) -> bytes:
    response = client.get(reverse("file_job_download", args=[job.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


# ---- the producers: small inline, large as a job with the same bytes --------------------------------------


def test_small_export_is_still_downloaded_at_once(as_office, tasks, inline_limit):
    inline_limit(5)
    response = as_office.get(reverse("task_list"), {"_export": "csv"})
    assert response.status_code == 200
    assert (
        response["Content-Disposition"]
        == "attachment; filename*=UTF-8''%E4%BB%BB%E5%8A%A1%E6%B8%85%E5%8D%95.csv"
    )
    assert not FileJob.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_large_export_becomes_a_job_whose_file_equals_the_immediate_export(
    as_office, tasks, inline_limit, fmt, frozen
):
    inline_limit(5)
    immediate = as_office.get(reverse("task_list"), {"status": "not_started", "_export": fmt}).content
    inline_limit(4)  # five rows are now too many
    response = as_office.get(reverse("task_list"), {"status": "not_started", "_export": fmt})
    job = the_job(response)
    assert job.status == FileJob.Status.DONE and job.progress == 100
    assert job.kind == "task_list" and job.title == f"任务清单.{fmt}"
    assert job.params == {"status": ["not_started"], "_export": [fmt]}
    assert download(as_office, job) == immediate
    assert job.result_name == f"任务清单.{fmt}" and job.result_size == len(immediate)
    page = as_office.get(response["Location"])
    assert "已转入后台生成" in page.content.decode()  # the message, shown on the job page
    assert AuditEntry.objects.get(action="file_job.enqueue").new_value == {
        "kind": "task_list",
        "params": {"status": ["not_started"], "_export": [fmt]},
    }


def _audit_rows(office_user):
    for i in range(3):
        audit_record(action="plan.import.confirm", user=office_user, new={"n": i})


# url name, url args, persona fixture, query, data fixture
PRODUCERS = [
    ("task_list", [], "as_office", {}, "tasks"),
    ("my_tasks", [], "as_lead", {}, "tasks"),
    ("report_list", [], "as_office", {}, "reports"),
    ("evidence_list", [], "as_office", {}, "reports"),
    ("publication_list", [], "as_office", {}, None),
    ("application_list", [], "as_office", {}, "applications"),
    ("notice_list", [], "as_office", {}, None),
    ("rectification_list", [], "as_office", {}, None),
    ("missing_reports", [], "as_office", {"year": "2023", "quarter": "1"}, "tasks"),
    # The export itself is audited (audit.export, file_job.enqueue): the filter keeps those rows out.
    ("audit_list", [], "as_auditor", {"action": "plan."}, "audit_rows"),
    ("plan_export", ["plan", "csv"], "as_director", {}, "tasks"),
]


@pytest.fixture
def reports(tasks, sections, lead_user):
    report = make_report(tasks[0], sections["lead"], submitted_by=lead_user)
    make_evidence(report)
    return [report]


@pytest.fixture
def applications(sections):
    return [make_application(sections["lead"]) for _ in range(2)]


@pytest.fixture
def audit_rows(office_user):
    _audit_rows(office_user)


@pytest.mark.parametrize(
    ("name", "args", "persona", "query", "data"), PRODUCERS, ids=[p[0] for p in PRODUCERS]
)
def test_every_list_export_gives_the_same_file_in_the_background(
    request, plan, name, args, persona, query, data, inline_limit, frozen
):
    if data:
        request.getfixturevalue(data)
    client = request.getfixturevalue(persona)
    url_args = [plan.pk if a == "plan" else a for a in args]
    url = reverse(name, args=url_args)
    params = dict(query) if args else {**query, "_export": "csv"}
    inline_limit(100_000)
    immediate = client.get(url, params)
    assert immediate.status_code == 200 and immediate["Content-Disposition"].startswith("attachment")
    inline_limit(-1)  # every export becomes a job
    job = the_job(client.get(url, params))
    assert job.status == FileJob.Status.DONE, job.message
    assert download(client, job) == immediate.content


def test_job_download_is_an_attachment_with_the_chinese_file_name(as_office, tasks, inline_limit):
    inline_limit(0)
    job = the_job(as_office.get(reverse("task_list"), {"_export": "csv"}))
    response = as_office.get(reverse("file_job_download", args=[job.pk]))
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E4%BB%BB%E5%8A%A1%E6%B8%85%E5%8D%95.csv"
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"


# ---- run time: permissions and filters of now, not of the request ----------------------------------------


def queued(monkeypatch, client, url: str, params: dict) -> FileJob:
    """只入队、不执行（关掉同步模式），之后由测试调用 file_job_run。"""
    monkeypatch.setattr(Conf, "SYNC", False)
    job = the_job(client.get(url, params))
    monkeypatch.setattr(Conf, "SYNC", True)
    assert job.status == FileJob.Status.QUEUED
    return job


def test_job_is_queued_on_the_long_cluster_with_only_its_id(monkeypatch, as_office, tasks, inline_limit):
    inline_limit(0)
    job = queued(monkeypatch, as_office, reverse("task_list"), {"_export": "csv"})
    row = OrmQ.objects.get()
    assert row.key == django_settings.Q_LONG_CLUSTER == "long"
    assert row.func() == "workplan.tasks.file_job_run"
    assert tuple(row.task["args"]) == (job.pk,)
    assert not job_files()


def test_job_rebuilds_the_rows_from_the_saved_filter_when_it_runs(
    monkeypatch, as_office, plan, sections, tasks, inline_limit
):
    inline_limit(0)
    job = queued(monkeypatch, as_office, reverse("task_list"), {"q": "任务", "_export": "csv"})
    make_task(plan, title="入队之后新增的任务", leads=[sections["lead"]])
    make_task(plan, title="不符合筛选的", leads=[sections["lead"]])
    file_job_run(job.pk)
    job.refresh_from_db()
    text = download(as_office, job).decode("utf-8-sig")
    assert "入队之后新增的任务" in text
    assert "不符合筛选的" not in text
    assert text.count("\n") == 1 + 6


def test_job_uses_the_creators_permissions_at_run_time(monkeypatch, director, tasks, inline_limit, plan):
    inline_limit(0)
    job = queued(monkeypatch, login(director), reverse("plan_export", args=[plan.pk, "csv"]), {})
    director.role = Role.SECTION  # no longer allowed to export a whole plan
    director.save(update_fields=["role"])
    file_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == FileJob.Status.FAILED
    assert "生成失败" in job.message and not job.result_file
    assert not job_files()


def test_job_of_a_deactivated_user_fails(monkeypatch, office_user, as_office, tasks, inline_limit):
    inline_limit(0)
    job = queued(monkeypatch, as_office, reverse("task_list"), {"_export": "csv"})
    office_user.is_active = False
    office_user.save(update_fields=["is_active"])
    file_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == FileJob.Status.FAILED and job.message == "生成失败：提交任务的用户已停用。"


# ---- failure, idempotency, crashes -------------------------------------------------------------------------


def test_failure_stores_a_chinese_message_and_no_file(monkeypatch, as_office, tasks, inline_limit):
    inline_limit(0)
    job = queued(monkeypatch, as_office, reverse("task_list"), {"_export": "csv"})

    def broken(ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr("workplan.views.task_list_export", broken)
    assert INTERNAL_ERROR in file_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == FileJob.Status.FAILED
    assert job.message == INTERNAL_ERROR
    assert not job.result_file and job.finished_at is not None
    assert not job_files()
    page = as_office.get(reverse("file_job_detail", args=[job.pk])).content.decode()
    assert INTERNAL_ERROR in page and 'http-equiv="refresh"' not in page
    assert as_office.get(reverse("file_job_download", args=[job.pk])).status_code == 404


def test_a_write_that_fails_half_way_leaves_no_file(monkeypatch, as_office, tasks, inline_limit):
    inline_limit(0)
    storage = FileJob._meta.get_field("result_file").storage
    real_save = storage.save

    def save_half(name, content, max_length=None):  # type: ignore[no-untyped-def]
        real_save(name, ContentFile(b"half"))
        raise OSError("设备上没有空间")

    monkeypatch.setattr(storage, "save", save_half)
    job = the_job(as_office.get(reverse("task_list"), {"_export": "csv"}))
    assert job.status == FileJob.Status.FAILED and job.message == INTERNAL_ERROR
    assert not job.result_file
    assert not job_files()


def test_running_the_task_twice_does_not_redo_the_job(as_office, tasks, inline_limit):
    inline_limit(0)
    job = the_job(as_office.get(reverse("task_list"), {"_export": "csv"}))
    first = (job.result_file.name, job.attempts, job.finished_at)
    assert "不重复执行" in file_job_run(job.pk)
    job.refresh_from_db()
    assert (job.result_file.name, job.attempts, job.finished_at) == first
    assert len(job_files()) == 1


def test_a_failed_job_is_not_redone_by_a_second_delivery(monkeypatch, as_office, tasks, inline_limit):
    inline_limit(0)
    job = queued(monkeypatch, as_office, reverse("task_list"), {"_export": "csv"})
    with monkeypatch.context() as patch:
        patch.setattr("workplan.views.task_list_export", lambda ctx: 1 / 0)
        file_job_run(job.pk)
    file_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == FileJob.Status.FAILED and job.attempts == 1
    assert not job_files()


def test_a_job_still_running_elsewhere_is_left_alone(monkeypatch, as_office, tasks, inline_limit):
    inline_limit(0)
    job = queued(monkeypatch, as_office, reverse("task_list"), {"_export": "csv"})
    FileJob.objects.filter(pk=job.pk).update(
        status=FileJob.Status.RUNNING, started_at=timezone.now(), attempts=1
    )
    assert "不重复执行" in file_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == FileJob.Status.RUNNING and job.attempts == 1
    page = as_office.get(reverse("file_job_detail", args=[job.pk])).content.decode()
    assert "可能已中断" not in page


def test_a_retry_after_a_crash_redoes_the_job_cleanly(monkeypatch, as_office, tasks, inline_limit):
    """进程在写文件时被杀：行仍是“生成中”，记着半个文件。超过长任务 timeout 后的重投删掉它，从头重做。"""
    inline_limit(0)
    job = queued(monkeypatch, as_office, reverse("task_list"), {"_export": "csv"})
    half = FileJob._meta.get_field("result_file").storage.save(
        "jobs/2023/06/crashed.csv", ContentFile(b"\xef\xbb")
    )
    crashed_at = timezone.now() - stale_after() - datetime.timedelta(minutes=1)
    FileJob.objects.filter(pk=job.pk).update(
        status=FileJob.Status.RUNNING, started_at=crashed_at, attempts=1, progress=40, result_file=half
    )
    page = as_office.get(reverse("file_job_detail", args=[job.pk])).content.decode()
    assert "可能已中断" in page
    file_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == FileJob.Status.DONE and job.attempts == 2
    assert job.result_file.name != half
    assert [p.name for p in job_files()] == [Path(job.result_file.name).name]
    assert download(as_office, job).decode("utf-8-sig").count("\n") == 1 + 5


def test_progress_is_reported_while_rows_are_written(monkeypatch, as_office, plan, sections, inline_limit):
    for i in range(450):
        make_task(plan, title=f"任务{i}", leads=[sections["lead"]])
    inline_limit(0)
    job = queued(monkeypatch, as_office, reverse("task_list"), {"_export": "csv"})
    seen: list[int] = []
    real_update = file_jobs._mine

    def spy(job_, attempt):  # type: ignore[no-untyped-def]
        qs = real_update(job_, attempt)
        seen.append(FileJob.objects.get(pk=job_.pk).progress)
        return qs

    monkeypatch.setattr(file_jobs, "_mine", spy)
    file_job_run(job.pk)
    assert max(seen) >= 40  # rows 200 and 400 of 450 reported before the file was written
    assert seen == sorted(seen)


# ---- enqueue rules -----------------------------------------------------------------------------------------


def test_the_same_export_is_not_queued_twice_while_it_waits(monkeypatch, as_office, tasks, inline_limit):
    inline_limit(0)
    monkeypatch.setattr(Conf, "SYNC", False)
    first = as_office.get(reverse("task_list"), {"_export": "csv"})
    second = as_office.get(reverse("task_list"), {"_export": "csv"})
    assert first["Location"] == second["Location"]
    assert FileJob.objects.count() == 1 and OrmQ.objects.count() == 1


def test_a_user_has_at_most_five_unfinished_jobs(monkeypatch, office_user, as_office, tasks, inline_limit):
    inline_limit(-1)
    monkeypatch.setattr(Conf, "SYNC", False)
    for word in ("甲", "乙", "丙", "丁", "戊"):
        as_office.get(reverse("task_list"), {"q": word, "_export": "csv"})
    response = as_office.get(reverse("task_list"), {"_export": "xlsx"}, follow=True)
    assert FileJob.objects.count() == 5
    assert "你已有5个后台任务在排队或生成中" in response.content.decode()


def test_enqueue_refuses_unknown_kinds_and_odd_params(office_user):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        file_job_enqueue(kind="nope", params={}, user=office_user)
    with pytest.raises(ValidationError):
        file_job_enqueue(kind="task_list", params={"a": "not a list"}, user=office_user)  # type: ignore[dict-item]
    with pytest.raises(ValidationError):
        file_job_enqueue(kind="task_list", params={"q": ["x" * 70_000]}, user=office_user)
    assert not FileJob.objects.exists()


# ---- pages -------------------------------------------------------------------------------------------------


def test_only_the_creator_sees_and_downloads_a_job(as_office, as_director, as_lead, tasks, inline_limit):
    inline_limit(0)
    job = the_job(as_office.get(reverse("task_list"), {"_export": "csv"}))
    for client in (as_director, as_lead):
        assert client.get(reverse("file_job_detail", args=[job.pk])).status_code == 404
        assert client.get(reverse("file_job_download", args=[job.pk])).status_code == 404
        assert job.title not in client.get(reverse("file_job_list")).content.decode()
    assert job.title in as_office.get(reverse("file_job_list")).content.decode()


def test_detail_page_refreshes_while_queued_and_offers_the_file_when_done(
    monkeypatch, as_office, tasks, inline_limit
):
    inline_limit(0)
    job = queued(monkeypatch, as_office, reverse("task_list"), {"_export": "csv"})
    page = as_office.get(reverse("file_job_detail", args=[job.pk])).content.decode()
    assert '<meta http-equiv="refresh" content="1">' in page and "排队中" in page
    assert reverse("file_job_download", args=[job.pk]) not in page
    assert as_office.get(reverse("file_job_download", args=[job.pk])).status_code == 404
    file_job_run(job.pk)
    page = as_office.get(reverse("file_job_detail", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' not in page and "已完成" in page
    assert reverse("file_job_download", args=[job.pk]) in page


def test_refresh_slows_down_after_the_first_seconds(
    monkeypatch, as_office, tasks, inline_limit, time_machine
):
    time_machine.move_to(NOW, tick=False)
    inline_limit(0)
    job = queued(monkeypatch, as_office, reverse("task_list"), {"_export": "csv"})
    time_machine.move_to(NOW + datetime.timedelta(seconds=30), tick=False)
    page = as_office.get(reverse("file_job_detail", args=[job.pk])).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page


def test_list_filters_by_status_and_refreshes_only_with_unfinished_jobs(office_user, as_office):
    FileJob.objects.create(
        kind="task_list", title="完成的.csv", status=FileJob.Status.DONE, created_by=office_user
    )
    FileJob.objects.create(
        kind="task_list", title="失败的.csv", status=FileJob.Status.FAILED, created_by=office_user
    )
    page = as_office.get(reverse("file_job_list"), {"status": "failed"}).content.decode()
    assert "失败的.csv" in page and "完成的.csv" not in page
    assert 'http-equiv="refresh"' not in page
    FileJob.objects.create(kind="task_list", title="排队的.csv", created_by=office_user)
    page = as_office.get(reverse("file_job_list")).content.decode()
    assert 'http-equiv="refresh"' in page and "排队的.csv" in page


@pytest.mark.parametrize("role", [Role.OFFICE, Role.DIRECTOR, Role.SECTION, Role.READONLY])
def test_every_role_finds_the_jobs_page_in_the_navigation(sections, role):
    client = login(make_user(role=role, section=sections["lead"]))
    page = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("file_job_list")}"' in page and "我的后台任务" in page


def test_list_query_count_does_not_grow_with_jobs(office_user, as_office, django_assert_max_num_queries):
    for i in range(40):
        FileJob.objects.create(kind="task_list", title=f"导出{i}.csv", created_by=office_user)
    with django_assert_max_num_queries(8):
        response = as_office.get(reverse("file_job_list"))
    assert response.status_code == 200


def test_xlsx_job_file_opens(as_office, tasks, inline_limit):
    inline_limit(0)
    job = the_job(as_office.get(reverse("task_list"), {"_export": "xlsx"}))
    sheet = openpyxl.load_workbook(io.BytesIO(download(as_office, job))).active
    assert sheet.max_row == 1 + 5


# ---- retention ---------------------------------------------------------------------------------------------


def test_cleanup_deletes_old_files_and_fails_abandoned_jobs(
    as_office, office_user, tasks, inline_limit, settings
):
    from workplan.file_jobs import ABANDONED, EXPIRED
    from workplan.tasks import file_jobs_cleanup

    settings.FILE_JOB_KEEP_DAYS = 7
    inline_limit(0)
    old = the_job(as_office.get(reverse("task_list"), {"_export": "csv"}))
    fresh = the_job_after(as_office.get(reverse("task_list"), {"_export": "xlsx"}), old)
    now = timezone.now()
    FileJob.objects.filter(pk=old.pk).update(finished_at=now - datetime.timedelta(days=8))
    stuck = FileJob.objects.create(kind="task_list", title="卡住的.csv", created_by=office_user)
    FileJob.objects.filter(pk=stuck.pk).update(created_at=now - datetime.timedelta(days=2))
    assert file_jobs_cleanup() == "删除过期文件1个，标为失败的未完成任务1个"
    assert file_jobs_cleanup() == "删除过期文件0个，标为失败的未完成任务0个"  # again: nothing left to do
    old.refresh_from_db()
    stuck.refresh_from_db()
    assert old.status == FileJob.Status.DONE and not old.result_file and old.message == EXPIRED
    assert stuck.status == FileJob.Status.FAILED and stuck.message == ABANDONED
    assert [p.name for p in job_files()] == [Path(FileJob.objects.get(pk=fresh.pk).result_file.name).name]
    assert as_office.get(reverse("file_job_download", args=[old.pk])).status_code == 404
    assert EXPIRED in as_office.get(reverse("file_job_detail", args=[old.pk])).content.decode()


def the_job_after(response, previous: FileJob) -> FileJob:
    assert response.status_code == 302
    return FileJob.objects.exclude(pk=previous.pk).get()
