"""进展报送、佐证材料、审核页面：访问矩阵（404/403/405）、409 冲突页、审计日志、
审核队列查询数、任务详情上的报送历史。
"""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_user
from tests.workplan.test_uploads import EXE, make_pdf, make_png
from workplan import reporting
from workplan.models import (
    AssignmentRole,
    AuditEntry,
    Evidence,
    ProgressReport,
    ReportStatus,
    ReviewState,
    Role,
    Task,
)


def submit(user, task, *, quarter=1, narrative="完成统计公报发布", **kw):
    kw.setdefault("status", ReportStatus.IN_PROGRESS)
    return reporting.report_submit(
        task=task,
        section=user.section,
        year=task.plan.year,
        quarter=quarter,
        narrative=narrative,
        user=user,
        **kw,
    )


@pytest.fixture
def lead_report(lead_user, task):
    return submit(lead_user, task, narrative="一季度：更新数据发布日程表")


@pytest.fixture
def lead_evidence(lead_report, lead_user):
    return reporting.evidence_add_file(
        report=lead_report,
        uploaded_file=SimpleUploadedFile("数据发布日程表.pdf", make_pdf()),
        note="日程表",
        user=lead_user,
    )


def edit_url(task, **params):
    url = reverse("report_edit", args=[task.pk])
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


def report_post(**overrides):
    data = {
        "year": 2023,
        "quarter": 1,
        "status": "in_progress",
        "narrative": "推进中",
        "reason": "",
        "version": "",
    }
    data.update(overrides)
    return data


class TestReportEdit:
    def test_it_shows_the_form_for_the_last_quarter_of_a_past_plan_year(self, as_lead, task):
        response = as_lead.get(edit_url(task))
        assert response.status_code == 200
        page = response.content.decode()
        assert "2023年第4季度" in page and "本季度尚未报送" in page

    def test_it_prefills_the_sections_report_and_its_version(self, as_lead, task, lead_report):
        response = as_lead.get(edit_url(task, year=2023, quarter=1))
        assert response.context["form"].initial["version"] == lead_report.version
        assert "一季度：更新数据发布日程表" in response.content.decode()

    def test_it_creates_the_report_and_stays_on_the_quarter_for_evidence(self, as_lead, lead_user, task):
        response = as_lead.post(edit_url(task), report_post(quarter=2, narrative="二季度进展"))
        assert response.status_code == 302
        assert response["Location"] == edit_url(task, year=2023, quarter=2)
        report = ProgressReport.objects.get()
        assert (report.quarter, report.narrative, report.submitted_by) == (2, "二季度进展", lead_user)

    def test_submit_writes_an_audit_entry_with_the_client_ip(self, as_lead, task):
        as_lead.post(edit_url(task), report_post(), REMOTE_ADDR="10.0.0.7")
        entry = AuditEntry.objects.get(action="report.submit")
        assert (entry.username, entry.ip) == ("lead", "10.0.0.7")

    def test_responsible_section_reports_its_own_copy(self, as_resp, task, lead_report):
        assert as_resp.post(edit_url(task), report_post(narrative="责任股室进展")).status_code == 302
        assert ProgressReport.objects.filter(task=task, quarter=1).count() == 2

    def test_cannot_complete_without_a_reason_shows_the_error(self, as_lead, task):
        response = as_lead.post(edit_url(task), report_post(status="cannot_complete"))
        assert response.status_code == 200
        assert "必须说明原因" in response.content.decode()
        assert not ProgressReport.objects.exists()

    def test_a_stale_edit_returns_409_with_both_texts(self, as_lead, lead_user, task, lead_report):
        submit(lead_user, task, narrative="同事已保存的版本", expected_version=lead_report.version)
        response = as_lead.post(
            edit_url(task), report_post(narrative="我的修改不会丢", version=lead_report.version)
        )
        assert response.status_code == 409
        page = response.content.decode()
        assert "同事已保存的版本" in page and "我的修改不会丢" in page
        assert response.context["form"].initial["version"] == 2
        assert ProgressReport.objects.get().narrative == "同事已保存的版本"

    def test_resubmitting_from_the_conflict_page_saves_on_the_latest_version(
        self, as_lead, lead_user, task, lead_report
    ):
        submit(lead_user, task, narrative="同事的版本", expected_version=1)
        conflict = as_lead.post(edit_url(task), report_post(narrative="合并后的版本", version=1))
        resubmit = as_lead.post(
            edit_url(task),
            report_post(narrative="合并后的版本", version=conflict.context["form"].initial["version"]),
        )
        assert resubmit.status_code == 302
        assert ProgressReport.objects.get().narrative == "合并后的版本"

    def test_an_accepted_report_is_shown_read_only(self, as_lead, office_user, task, lead_report):
        reporting.report_review(
            report=lead_report, decision="accept", comment="", user=office_user, expected_version=1
        )
        page = as_lead.get(edit_url(task, year=2023, quarter=1)).content.decode()
        assert "已通过审核，不能再修改" in page and "<textarea" not in page

    def test_outsider_gets_404(self, as_outsider, task):
        assert as_outsider.get(edit_url(task)).status_code == 404
        assert as_outsider.post(edit_url(task), report_post()).status_code == 404

    @pytest.mark.parametrize("client_name", ["as_readonly", "as_director"])
    def test_readonly_and_director_get_403(self, request, client_name, task):
        client = request.getfixturevalue(client_name)
        assert client.get(edit_url(task)).status_code == 403
        assert client.post(edit_url(task), report_post()).status_code == 403
        assert not ProgressReport.objects.exists()

    def test_office_whose_section_is_not_assigned_gets_403(self, as_office, task):
        assert as_office.get(edit_url(task)).status_code == 403

    def test_wrong_method_gets_405(self, as_lead, task):
        assert as_lead.put(edit_url(task)).status_code == 405

    def test_anonymous_is_sent_to_login(self, client, task):
        response = client.get(edit_url(task))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


class TestEvidenceUpload:
    def url(self, report):
        return reverse("evidence_upload", args=[report.pk])

    def test_lead_uploads_a_file_and_an_audit_entry_is_written(self, as_lead, lead_report):
        back = edit_url(lead_report.task, year=2023, quarter=1)
        response = as_lead.post(
            self.url(lead_report),
            {
                "kind": "file",
                "file": SimpleUploadedFile("截图.png", make_png()),
                "note": "网站截图",
                "next": back,
            },
        )
        assert response.status_code == 302 and response["Location"] == back
        evidence = Evidence.objects.get()
        assert (evidence.original_name, evidence.content_type, evidence.note) == (
            "截图.png",
            "image/png",
            "网站截图",
        )
        assert AuditEntry.objects.filter(action="evidence.add", object_id=str(evidence.pk)).exists()

    def test_lead_adds_a_link(self, as_lead, lead_report):
        as_lead.post(
            self.url(lead_report),
            {"kind": "link", "url": "https://tjj.example.gov.cn/gk/1.html", "published_on": "2023-03-01"},
        )
        assert Evidence.objects.get().published_on == datetime.date(2023, 3, 1)

    def test_a_renamed_executable_is_refused_with_a_message(self, as_lead, lead_report):
        response = as_lead.post(
            self.url(lead_report), {"kind": "file", "file": SimpleUploadedFile("报告.pdf", EXE)}, follow=True
        )
        assert not Evidence.objects.exists()
        assert "不符" in response.content.decode()

    def test_a_future_link_date_is_refused(self, as_lead, lead_report):
        future = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
        as_lead.post(
            self.url(lead_report), {"kind": "link", "url": "https://a.gov.cn/", "published_on": future}
        )
        assert not Evidence.objects.exists()

    def test_an_outside_next_url_is_ignored(self, as_lead, lead_report):
        response = as_lead.post(
            self.url(lead_report),
            {
                "kind": "link",
                "url": "https://a.gov.cn/",
                "published_on": "2023-03-01",
                "next": "https://evil.example/",
            },
        )
        assert response["Location"] == reverse("task_detail", args=[lead_report.task_id])

    def test_outsider_and_other_section_get_404(self, as_outsider, as_resp, lead_report):
        for client in (as_outsider, as_resp):
            response = client.post(self.url(lead_report), {"kind": "link", "url": "https://a.gov.cn/"})
            assert response.status_code == 404

    @pytest.mark.parametrize("client_name", ["as_readonly", "as_director"])
    def test_readonly_and_director_get_403(self, request, client_name, lead_report):
        client = request.getfixturevalue(client_name)
        response = client.post(
            self.url(lead_report), {"kind": "link", "url": "https://a.gov.cn/", "published_on": "2023-03-01"}
        )
        assert response.status_code == 403
        assert not Evidence.objects.exists()

    def test_get_is_405(self, as_lead, lead_report):
        assert as_lead.get(self.url(lead_report)).status_code == 405


class TestEvidenceRemove:
    def url(self, evidence):
        return reverse("evidence_remove", args=[evidence.pk])

    def test_lead_removes_evidence_softly(self, as_lead, lead_evidence):
        assert as_lead.post(self.url(lead_evidence)).status_code == 302
        lead_evidence.refresh_from_db()
        assert lead_evidence.removed_at is not None
        assert AuditEntry.objects.filter(action="evidence.remove").count() == 1

    def test_outsider_gets_404(self, as_outsider, lead_evidence):
        assert as_outsider.post(self.url(lead_evidence)).status_code == 404

    @pytest.mark.parametrize("client_name", ["as_readonly", "as_director"])
    def test_readonly_and_director_get_403(self, request, client_name, lead_evidence):
        assert request.getfixturevalue(client_name).post(self.url(lead_evidence)).status_code == 403
        lead_evidence.refresh_from_db()
        assert lead_evidence.removed_at is None

    def test_get_is_405(self, as_lead, lead_evidence):
        assert as_lead.get(self.url(lead_evidence)).status_code == 405


class TestEvidenceDownload:
    def url(self, evidence):
        return reverse("evidence_download", args=[evidence.pk])

    @pytest.mark.parametrize("client_name", ["as_lead", "as_readonly", "as_director", "as_office"])
    def test_it_sends_the_file_as_an_attachment(self, request, client_name, lead_evidence):
        response = request.getfixturevalue(client_name).get(self.url(lead_evidence))
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert "filename*=utf-8''" in response["Content-Disposition"]
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == make_pdf()

    def test_outsider_gets_404(self, as_outsider, lead_evidence):
        assert as_outsider.get(self.url(lead_evidence)).status_code == 404

    def test_removed_file_is_downloadable_only_by_the_office(
        self, as_lead, as_office, lead_user, lead_evidence
    ):
        reporting.evidence_remove(evidence=lead_evidence, user=lead_user)
        assert as_lead.get(self.url(lead_evidence)).status_code == 404
        assert as_office.get(self.url(lead_evidence)).status_code == 200

    def test_a_link_has_nothing_to_download(self, as_lead, lead_user, lead_report):
        link = reporting.evidence_add_link(
            report=lead_report,
            url="https://a.gov.cn/",
            published_on=datetime.date(2023, 3, 1),
            user=lead_user,
        )
        assert as_lead.get(self.url(link)).status_code == 404

    def test_post_is_405(self, as_lead, lead_evidence):
        assert as_lead.post(self.url(lead_evidence)).status_code == 405


def bulk_reports(plan, section, n, *, start=0):
    tasks = Task.objects.bulk_create(
        [
            Task(plan=plan, code=f"R{i:05d}", number_path=f"二/{i}", title=f"批量任务{i}", position=1000 + i)
            for i in range(start, start + n)
        ]
    )
    user = make_user(role=Role.SECTION, section=section)
    ProgressReport.objects.bulk_create(
        [
            ProgressReport(
                task=t,
                section=section,
                role=AssignmentRole.LEAD,
                year=2023,
                quarter=1 + i % 4,
                status=ReportStatus.IN_PROGRESS,
                narrative=f"进展{i}",
                submitted_by=user,
                submitted_at=timezone.now(),
            )
            for i, t in enumerate(tasks)
        ]
    )


class TestReviewQueue:
    def test_office_sees_reports_waiting_for_review(
        self, as_office, lead_report, office_user, resp_user, task
    ):
        accepted = submit(resp_user, task, narrative="责任股室")
        reporting.report_review(
            report=accepted, decision="accept", comment="", user=office_user, expected_version=1
        )
        response = as_office.get(reverse("review_queue"))
        assert response.status_code == 200
        assert [r.pk for r in response.context["page"]] == [lead_report.pk]

    def test_it_filters_by_quarter_and_section(self, as_office, lead_user, resp_user, task, sections):
        q1 = submit(lead_user, task, quarter=1)
        q2 = submit(lead_user, task, quarter=2)
        resp_q2 = submit(resp_user, task, quarter=2)
        page = as_office.get(reverse("review_queue"), {"quarter": 2}).context["page"]
        assert {r.pk for r in page} == {q2.pk, resp_q2.pk}
        page = as_office.get(reverse("review_queue"), {"quarter": 2, "section": sections["resp"].pk}).context[
            "page"
        ]
        assert [r.pk for r in page] == [resp_q2.pk]
        assert q1.pk in {r.pk for r in as_office.get(reverse("review_queue"), {"year": 2023}).context["page"]}

    @pytest.mark.parametrize("client_name", ["as_lead", "as_readonly", "as_director", "as_outsider"])
    def test_everyone_but_the_office_gets_403(self, request, client_name):
        assert request.getfixturevalue(client_name).get(reverse("review_queue")).status_code == 403

    def test_post_is_405(self, as_office):
        assert as_office.post(reverse("review_queue")).status_code == 405

    @pytest.mark.parametrize("n", [10, 200])
    def test_query_count_does_not_grow_with_reports(
        self, as_office, plan, sections, n, django_assert_max_num_queries
    ):
        bulk_reports(plan, sections["lead"], n)
        with django_assert_max_num_queries(8):
            response = as_office.get(reverse("review_queue"), {"year": 2023, "section": sections["lead"].pk})
        assert response.status_code == 200
        assert response.context["page"].paginator.count == n

    def test_the_queue_at_10_and_200_reports_uses_the_same_number_of_queries(self, as_office, plan, sections):
        counts = []
        for start, n in ((0, 10), (10, 190)):
            bulk_reports(plan, sections["lead"], n, start=start)
            with CaptureQueriesContext(connection) as queries:
                as_office.get(reverse("review_queue"))
            counts.append(len(queries.captured_queries))
        assert counts[0] == counts[1]


class TestReportReview:
    def url(self, report):
        return reverse("report_review", args=[report.pk])

    def test_office_sees_the_report_its_history_and_evidence(self, as_office, lead_report, lead_evidence):
        page = as_office.get(self.url(lead_report)).content.decode()
        assert "一季度：更新数据发布日程表" in page
        assert "数据发布日程表.pdf" in page and reverse("evidence_download", args=[lead_evidence.pk]) in page
        assert "添加佐证" in page  # the evidence event in the history table

    def test_office_accepts_and_an_audit_entry_is_written(self, as_office, lead_report, task):
        response = as_office.post(self.url(lead_report), {"decision": "accept", "comment": "", "version": 1})
        assert response.status_code == 302 and response["Location"] == reverse("review_queue")
        lead_report.refresh_from_db()
        assert lead_report.review_state == ReviewState.ACCEPTED
        assert AuditEntry.objects.get(action="report.review").new_value["decision"] == "accept"

    def test_returning_without_a_comment_shows_the_error(self, as_office, lead_report):
        response = as_office.post(self.url(lead_report), {"decision": "return", "comment": "", "version": 1})
        assert response.status_code == 200
        assert "必须填写审核意见" in response.content.decode()

    def test_returning_with_a_comment_counts_the_return(self, as_office, lead_report):
        as_office.post(
            self.url(lead_report), {"decision": "return", "comment": "请补充网站截图", "version": 1}
        )
        lead_report.refresh_from_db()
        assert (lead_report.review_state, lead_report.return_count, lead_report.review_comment) == (
            ReviewState.RETURNED,
            1,
            "请补充网站截图",
        )

    def test_a_stale_review_returns_409_with_the_latest_text_and_keeps_the_comment(
        self, as_office, lead_user, task, lead_report
    ):
        submit(lead_user, task, narrative="股室刚刚修改的内容", expected_version=1)
        response = as_office.post(
            self.url(lead_report), {"decision": "return", "comment": "我的意见", "version": 1}
        )
        assert response.status_code == 409
        page = response.content.decode()
        assert "股室刚刚修改的内容" in page and "我的意见" in page
        lead_report.refresh_from_db()
        assert lead_report.review_state == ReviewState.SUBMITTED

    @pytest.mark.parametrize(
        "client_name", ["as_lead", "as_resp", "as_readonly", "as_director", "as_outsider"]
    )
    def test_everyone_but_the_office_gets_403(self, request, client_name, lead_report):
        client = request.getfixturevalue(client_name)
        assert client.get(self.url(lead_report)).status_code == 403
        assert client.post(self.url(lead_report), {"decision": "accept", "version": 1}).status_code == 403
        lead_report.refresh_from_db()
        assert lead_report.review_state == ReviewState.SUBMITTED

    def test_unknown_report_is_404_for_the_office(self, as_office, db):
        assert as_office.get(reverse("report_review", args=[999999])).status_code == 404

    def test_wrong_method_gets_405(self, as_office, lead_report):
        assert as_office.put(self.url(lead_report)).status_code == 405


class TestTaskDetailHistory:
    def test_it_shows_every_report_with_events_comment_and_evidence(
        self, as_office, office_user, lead_user, resp_user, task, lead_report, lead_evidence
    ):
        reporting.report_review(
            report=lead_report,
            decision="return",
            comment="请补充公开网址",
            user=office_user,
            expected_version=1,
        )
        submit(resp_user, task, quarter=2, narrative="法规股二季度进展")
        page = as_office.get(reverse("task_detail", args=[task.pk])).content.decode()
        assert "2023年第2季度" in page and "2023年第1季度" in page
        assert page.index("2023年第2季度") < page.index("2023年第1季度")
        assert "法规股二季度进展" in page and "一季度：更新数据发布日程表" in page
        assert "请补充公开网址" in page and "退回" in page
        assert reverse("evidence_download", args=[lead_evidence.pk]) in page

    @pytest.mark.parametrize(
        ("client_name", "shown"),
        [
            ("as_lead", True),
            ("as_resp", True),
            ("as_director", False),
            ("as_readonly", False),
            ("as_office", False),
        ],
    )
    def test_the_report_button_is_shown_only_to_assigned_sections(self, request, client_name, shown, task):
        page = (
            request.getfixturevalue(client_name).get(reverse("task_detail", args=[task.pk])).content.decode()
        )
        assert ("报送本季度进展" in page) is shown

    def test_a_section_sees_the_history_of_its_own_reports(self, as_lead, lead_report):
        page = as_lead.get(reverse("task_detail", args=[lead_report.task_id])).content.decode()
        assert "一季度：更新数据发布日程表" in page
