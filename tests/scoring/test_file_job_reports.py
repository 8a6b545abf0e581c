"""考核与报告的后台文件任务：季度报告的任务多于 REPORT_INLINE_TASKS、成绩与绩效考核导出的行数多于
EXPORT_INLINE_ROWS 时转为后台任务，生成的文件与当场下载的相同、审计照写；少的仍当场下载；运行时按提交人现在的
权限重新检查。"""

# Fixtures come from the modules they are shared with: importing them is how pytest finds them.
# ruff: noqa: F811

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse
from django_q.conf import Conf

from scoring.reports import gongwen
from tests.scoring.test_appraisal import exported  # noqa: F401
from tests.scoring.test_closing import clients  # noqa: F401
from tests.scoring.test_report_views import NOW, office_settings, post_data, quarter_data  # noqa: F401
from workplan.models import AuditEntry, FileJob, Role
from workplan.tasks import file_job_run


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def job_of(response) -> FileJob:
    assert response.status_code == 302, response.content[:300]
    job = FileJob.objects.get()
    assert response["Location"] == reverse("file_job_detail", args=[job.pk])
    return job


def downloaded(client, job: FileJob) -> bytes:
    response = client.get(reverse("file_job_download", args=[job.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


# ---- quarterly report -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_quarterly_report_of_a_large_plan_is_generated_in_the_background(
    quarter_data, clients, settings, frozen, fmt
):
    office = clients["office"]
    url = reverse("report_quarterly_download")
    settings.REPORT_INLINE_TASKS = 3  # the plan has three tasks (and a chapter heading)
    immediate = office.post(url, post_data(quarter_data["plan"], format=fmt))
    assert immediate.status_code == 200 and not FileJob.objects.exists()
    settings.REPORT_INLINE_TASKS = 2
    job = job_of(office.post(url, post_data(quarter_data["plan"], format=fmt)))
    assert job.status == FileJob.Status.DONE, job.message
    assert job.kind == "report_quarterly" and job.title == f"2023年第一季度政务公开工作情况.{fmt}"
    assert "csrfmiddlewaretoken" not in job.params and job.params["next_steps"]
    assert downloaded(office, job) == immediate.content
    assert job.result_name == f"樟树市统计局2023年第一季度政务公开工作情况.{fmt}"
    if fmt == "docx":
        assert job.content_type == gongwen.DOCX_CONTENT_TYPE
    generated = AuditEntry.objects.filter(action="report.quarterly.generate").order_by("pk")
    assert [e.new_value["format"] for e in generated] == [fmt, fmt]  # inline and background alike
    page = office.get(reverse("file_job_detail", args=[job.pk])).content.decode()
    assert "共3项任务，超过当场下载的上限（2项任务）" in page


def test_quarterly_job_fails_with_a_reason_when_the_plan_is_gone(
    quarter_data, clients, settings, monkeypatch
):
    settings.REPORT_INLINE_TASKS = 0
    monkeypatch.setattr(Conf, "SYNC", False)
    job = job_of(
        clients["office"].post(reverse("report_quarterly_download"), post_data(quarter_data["plan"]))
    )
    monkeypatch.setattr(Conf, "SYNC", True)
    # Plans are protected by their tasks' reports: point the saved form at a plan that no longer exists.
    FileJob.objects.filter(pk=job.pk).update(params={**job.params, "plan": ["999999"]})
    file_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == FileJob.Status.FAILED
    assert job.message.startswith("生成失败：") and "选择一个有效的选项" in job.message
    assert not job.result_file


def test_quarterly_job_rechecks_the_creators_role(quarter_data, clients, director, settings, monkeypatch):
    settings.REPORT_INLINE_TASKS = 0
    monkeypatch.setattr(Conf, "SYNC", False)
    job = job_of(
        clients["director"].post(reverse("report_quarterly_download"), post_data(quarter_data["plan"]))
    )
    monkeypatch.setattr(Conf, "SYNC", True)
    director.role = Role.READONLY
    director.save(update_fields=["role"])
    file_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == FileJob.Status.FAILED and "没有生成此文件的权限" in job.message
    assert not AuditEntry.objects.filter(action="report.quarterly.generate").exists()


# ---- appraisal and score exports --------------------------------------------------------------------------


def test_large_appraisal_export_is_generated_in_the_background(clients, exported, settings):
    office = clients["office"]
    params = {"year": 2023, "period": "Q1", "fmt": "xlsx"}
    settings.EXPORT_INLINE_ROWS = 100_000
    with time_machine.travel(NOW, tick=False):
        immediate = office.get(reverse("appraisal_export"), params)
        assert immediate.status_code == 200
        settings.EXPORT_INLINE_ROWS = 5  # five sections and their ledger lines are more than that
        job = job_of(office.get(reverse("appraisal_export"), params))
        assert job.status == FileJob.Status.DONE, job.message
        assert downloaded(office, job) == immediate.content
    assert job.title == "2023年第一季度绩效考核.xlsx"
    assert AuditEntry.objects.filter(action="appraisal.export").count() == 2


def test_appraisal_csv_counts_only_the_score_rows(clients, exported, settings):
    settings.EXPORT_INLINE_ROWS = 5  # five sections: the csv (score sheet only) stays inline
    response = clients["office"].get(
        reverse("appraisal_export"), {"year": 2023, "period": "Q1", "fmt": "csv"}
    )
    assert response.status_code == 200 and not FileJob.objects.exists()


def test_appraisal_job_without_scores_fails_with_the_reason(clients, exported, settings, monkeypatch):
    settings.EXPORT_INLINE_ROWS = -1
    monkeypatch.setattr(Conf, "SYNC", False)
    response = clients["office"].get(
        reverse("appraisal_export"), {"year": 2023, "period": "Q1", "fmt": "csv"}
    )
    monkeypatch.setattr(Conf, "SYNC", True)
    job = job_of(response)
    FileJob.objects.filter(pk=job.pk).update(params={**job.params, "year": ["2031"]})
    file_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == FileJob.Status.FAILED and job.message.startswith("生成失败：")


def test_score_overview_export_in_the_background_matches(quarter_data, clients, settings, frozen):
    office = clients["office"]
    query = {"year": 2023, "period": "Q1", "ruleset": quarter_data["ruleset"].pk, "_export": "csv"}
    settings.EXPORT_INLINE_ROWS = 100_000
    immediate = office.get(reverse("score_overview"), query)
    assert immediate.status_code == 200
    settings.EXPORT_INLINE_ROWS = 1
    job = job_of(office.get(reverse("score_overview"), query))
    assert downloaded(office, job) == immediate.content


def test_score_detail_export_in_the_background_is_limited_to_the_visible_score(
    quarter_data, clients, sections, settings
):
    score = quarter_data["run"].scores.get(section=sections["lead"])
    url = reverse("score_detail", args=[score.pk])
    settings.EXPORT_INLINE_ROWS = -1
    assert clients["resp"].get(url, {"_export": "csv"}).status_code == 404  # not the resp section's score
    job = job_of(clients["lead"].get(url, {"_export": "csv"}))
    assert job.status == FileJob.Status.DONE and job.params["score"] == [str(score.pk)]
    assert "扣分明细" in job.result_name
