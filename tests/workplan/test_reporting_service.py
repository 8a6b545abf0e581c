"""进展报送、审核与佐证材料的服务规则（workplan/reporting.py）。"""

from __future__ import annotations

import datetime
import hashlib

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import make_section, make_task, make_user
from tests.workplan.test_uploads import EXE, make_docx, make_pdf
from workplan import reporting
from workplan.models import (
    AssignmentRole,
    AuditEntry,
    Evidence,
    OfficeSettings,
    ProgressReport,
    ReportEvent,
    ReportStatus,
    ReviewState,
    Role,
    Task,
    TaskAssignment,
)


def submit(
    user, task, *, quarter=1, status=ReportStatus.IN_PROGRESS, narrative="已完成数据发布栏目改版", **kw
):
    return reporting.report_submit(
        task=task,
        section=user.section,
        year=task.plan.year,
        quarter=quarter,
        status=status,
        narrative=narrative,
        user=user,
        **kw,
    )


def review(office_user, report, decision=reporting.ACCEPT, comment="", **kw):
    kw.setdefault("expected_version", report.version)
    return reporting.report_review(report=report, decision=decision, comment=comment, user=office_user, **kw)


def task_status(task):
    task.refresh_from_db(fields=["status"])
    return task.status


class TestSubmit:
    def test_lead_section_creates_the_quarter_report_with_the_lead_role(self, lead_user, task):
        report = submit(lead_user, task, quarter=2)
        assert (report.section, report.role, report.year, report.quarter) == (
            lead_user.section,
            AssignmentRole.LEAD,
            2023,
            2,
        )
        assert (report.review_state, report.version, report.submitted_by) == (
            ReviewState.SUBMITTED,
            1,
            lead_user,
        )

    def test_first_submission_writes_a_history_event_and_an_audit_entry(self, lead_user, task):
        report = submit(lead_user, task, narrative="一季度公开统计公报 3 条")
        event = ReportEvent.objects.get(report=report)
        assert (event.action, event.narrative, event.version, event.user) == (
            "submit",
            "一季度公开统计公报 3 条",
            1,
            lead_user,
        )
        entry = AuditEntry.objects.get(action="report.submit")
        assert entry.object_id == str(report.pk) and entry.new_value["narrative"] == "一季度公开统计公报 3 条"

    def test_revising_with_the_version_opened_saves_and_bumps_the_version(self, lead_user, task):
        first = submit(lead_user, task, narrative="初稿")
        revised = submit(lead_user, task, narrative="修改稿", expected_version=first.version)
        assert revised.pk == first.pk
        assert (revised.narrative, revised.version) == ("修改稿", 2)
        assert list(ReportEvent.objects.filter(report=first).values_list("action", "version")) == [
            ("submit", 1),
            ("revise", 2),
        ]
        audit = AuditEntry.objects.get(action="report.revise")
        assert (audit.old_value["narrative"], audit.new_value["narrative"]) == ("初稿", "修改稿")

    def test_revising_with_a_stale_version_raises_a_conflict_that_keeps_both_texts(self, lead_user, task):
        first = submit(lead_user, task, narrative="初稿")
        submit(lead_user, task, narrative="同事先改的版本", expected_version=1)
        with pytest.raises(reporting.ReportConflict) as caught:
            submit(lead_user, task, narrative="我基于初稿改的版本", expected_version=1)
        conflict = caught.value
        assert conflict.saved_text == "同事先改的版本"
        assert conflict.user_text == "我基于初稿改的版本"
        assert conflict.current.version == 2
        first.refresh_from_db()
        assert (first.narrative, first.version) == ("同事先改的版本", 2)
        assert ReportEvent.objects.filter(report=first).count() == 2

    def test_submitting_as_new_when_the_quarter_already_has_a_report_is_a_conflict(self, lead_user, task):
        submit(lead_user, task, narrative="别人先报的")
        with pytest.raises(reporting.ReportConflict) as caught:
            submit(lead_user, task, narrative="我以为还没人报", expected_version=None)
        assert (caught.value.saved_text, caught.value.user_text) == ("别人先报的", "我以为还没人报")

    def test_cannot_complete_requires_a_reason(self, lead_user, task):
        with pytest.raises(ValidationError) as caught:
            submit(lead_user, task, status=ReportStatus.CANNOT_COMPLETE, reason="  ")
        assert "原因" in caught.value.message_dict["reason"][0]
        assert not ProgressReport.objects.exists()

    def test_cannot_complete_with_a_reason_is_saved(self, lead_user, task):
        report = submit(lead_user, task, status=ReportStatus.CANNOT_COMPLETE, reason="上级平台尚未开通")
        assert report.reason == "上级平台尚未开通"

    def test_a_reason_is_not_kept_for_other_statuses(self, lead_user, task):
        assert submit(lead_user, task, status=ReportStatus.DONE, reason="多余的原因").reason == ""

    def test_unknown_status_is_rejected(self, lead_user, task):
        with pytest.raises(ValidationError):
            submit(lead_user, task, status="finished")

    def test_accepted_report_cannot_be_revised(self, lead_user, office_user, task):
        report = review(office_user, submit(lead_user, task))
        with pytest.raises(ValidationError, match="已通过审核"):
            submit(lead_user, task, narrative="通过后再改", expected_version=report.version)

    def test_returned_report_can_be_revised_and_goes_back_to_submitted(self, lead_user, office_user, task):
        returned = review(office_user, submit(lead_user, task), reporting.RETURN, "请补充公开链接")
        revised = submit(lead_user, task, narrative="已补充链接", expected_version=returned.version)
        assert (revised.review_state, revised.return_count, revised.version) == (ReviewState.SUBMITTED, 1, 3)

    def test_lead_and_responsible_report_separately_for_the_same_task_and_quarter(
        self, lead_user, resp_user, task
    ):
        lead_report = submit(lead_user, task, narrative="牵头：统筹推进")
        resp_report = submit(resp_user, task, narrative="责任：执法信息公开")
        assert lead_report.pk != resp_report.pk
        assert (lead_report.role, resp_report.role) == (AssignmentRole.LEAD, AssignmentRole.RESPONSIBLE)
        assert ProgressReport.objects.filter(task=task, year=2023, quarter=1).count() == 2

    def test_a_section_that_is_both_lead_and_responsible_reports_as_lead(self, resp_user, task):
        TaskAssignment.objects.create(task=task, section=resp_user.section, role=AssignmentRole.LEAD)
        assert submit(resp_user, task).role == AssignmentRole.LEAD

    @pytest.mark.parametrize("persona", ["outsider", "readonly_user", "director"])
    def test_users_without_a_writable_assigned_section_cannot_report(self, request, persona, task, sections):
        user = request.getfixturevalue(persona)
        with pytest.raises(PermissionDenied):
            reporting.report_submit(
                task=task,
                section=sections["lead"],
                year=2023,
                quarter=1,
                status="in_progress",
                narrative="x",
                user=user,
            )

    def test_a_section_user_cannot_report_on_behalf_of_another_section(self, resp_user, task, sections):
        with pytest.raises(PermissionDenied):
            reporting.report_submit(
                task=task,
                section=sections["lead"],
                year=2023,
                quarter=1,
                status="in_progress",
                narrative="x",
                user=resp_user,
            )

    def test_office_staff_can_report_for_a_task_their_section_leads(self, office_user, plan, sections):
        office_task = make_task(plan, leads=[sections["office"]])
        assert submit(office_user, office_task).role == AssignmentRole.LEAD

    def test_only_quarters_of_the_plan_year_can_be_reported(self, lead_user, task):
        with pytest.raises(ValidationError) as caught:
            reporting.report_submit(
                task=task,
                section=lead_user.section,
                year=2024,
                quarter=1,
                status="in_progress",
                narrative="",
                user=lead_user,
            )
        assert "2023年" in caught.value.message_dict["year"][0]

    def test_a_quarter_that_has_not_started_cannot_be_reported(self, lead_user, task):
        with time_machine.travel(datetime.datetime(2023, 5, 10, 10, tzinfo=datetime.UTC), tick=False):
            submit(lead_user, task, quarter=2)
            with pytest.raises(ValidationError, match="尚未开始"):
                submit(lead_user, task, quarter=3)


class TestReview:
    def test_office_accepts_a_report(self, lead_user, office_user, task):
        report = submit(lead_user, task)
        accepted = review(office_user, report, comment="内容完整")
        assert (accepted.review_state, accepted.reviewed_by, accepted.review_comment) == (
            ReviewState.ACCEPTED,
            office_user,
            "内容完整",
        )
        assert accepted.reviewed_at is not None and accepted.version == 2
        event = ReportEvent.objects.filter(report=report).last()
        assert (event.action, event.comment) == ("accept", "内容完整")
        assert AuditEntry.objects.get(action="report.review").new_value["decision"] == "accept"

    def test_returning_a_report_requires_a_comment(self, lead_user, office_user, task):
        report = submit(lead_user, task)
        with pytest.raises(ValidationError) as caught:
            review(office_user, report, reporting.RETURN, "   ")
        assert "审核意见" in caught.value.message_dict["comment"][0]
        report.refresh_from_db()
        assert (report.review_state, report.return_count) == (ReviewState.SUBMITTED, 0)

    def test_each_return_increments_the_return_count(self, lead_user, office_user, task):
        report = submit(lead_user, task)
        for n in (1, 2):
            report = review(office_user, report, reporting.RETURN, f"第{n}次退回：缺少佐证")
            assert (report.review_state, report.return_count) == (ReviewState.RETURNED, n)
            report = submit(lead_user, task, narrative=f"第{n}次补充", expected_version=report.version)
        assert review(office_user, report).return_count == 2
        actions = list(ReportEvent.objects.filter(report=report).values_list("action", flat=True))
        assert actions == ["submit", "return", "revise", "return", "revise", "accept"]

    def test_review_with_a_stale_version_raises_a_conflict(self, lead_user, office_user, task):
        opened = submit(lead_user, task, narrative="打开时的内容")
        submit(lead_user, task, narrative="股室刚改的内容", expected_version=opened.version)
        with pytest.raises(reporting.ReportConflict) as caught:
            review(office_user, opened, reporting.RETURN, "请补充", expected_version=opened.version)
        assert caught.value.saved_text == "股室刚改的内容"
        assert caught.value.mine == {"decision": "return", "comment": "请补充"}
        opened.refresh_from_db()
        assert (opened.review_state, opened.return_count) == (ReviewState.SUBMITTED, 0)

    def test_a_report_that_is_not_waiting_for_review_cannot_be_reviewed_again(
        self, lead_user, office_user, task
    ):
        accepted = review(office_user, submit(lead_user, task))
        with pytest.raises(ValidationError, match="不在待审核状态"):
            review(office_user, accepted, reporting.RETURN, "再退回")

    @pytest.mark.parametrize("persona", ["lead_user", "director", "readonly_user"])
    def test_only_the_office_can_review(self, request, persona, lead_user, task):
        report = submit(lead_user, task)
        with pytest.raises(PermissionDenied):
            review(request.getfixturevalue(persona), report)

    def test_unknown_decision_is_rejected(self, lead_user, office_user, task):
        with pytest.raises(ValidationError):
            review(office_user, submit(lead_user, task), "maybe")


class TestTaskStatus:
    def test_task_starts_not_started_and_moves_to_in_progress_on_the_first_progress(self, lead_user, task):
        assert task_status(task) == ReportStatus.NOT_STARTED
        submit(lead_user, task, status=ReportStatus.NOT_STARTED)
        assert task_status(task) == ReportStatus.NOT_STARTED
        submit(lead_user, task, status=ReportStatus.IN_PROGRESS, expected_version=1)
        assert task_status(task) == ReportStatus.IN_PROGRESS

    def test_done_counts_only_after_the_office_accepts_the_lead_report(self, lead_user, office_user, task):
        report = submit(lead_user, task, status=ReportStatus.DONE)
        assert task_status(task) == ReportStatus.IN_PROGRESS
        review(office_user, report)
        assert task_status(task) == ReportStatus.DONE

    def test_a_responsible_section_alone_does_not_complete_the_task(self, resp_user, office_user, task):
        review(office_user, submit(resp_user, task, status=ReportStatus.DONE))
        assert task_status(task) == ReportStatus.IN_PROGRESS

    def test_accepted_cannot_complete_from_the_lead_marks_the_task(self, lead_user, office_user, task):
        review(office_user, submit(lead_user, task, status=ReportStatus.CANNOT_COMPLETE, reason="政策调整"))
        assert task_status(task) == ReportStatus.CANNOT_COMPLETE

    def test_a_returned_done_report_leaves_the_task_in_progress(self, lead_user, office_user, task):
        review(office_user, submit(lead_user, task, status=ReportStatus.DONE), reporting.RETURN, "佐证不足")
        assert task_status(task) == ReportStatus.IN_PROGRESS

    def test_the_latest_quarter_of_each_section_decides(self, lead_user, office_user, task):
        review(office_user, submit(lead_user, task, quarter=1, status=ReportStatus.DONE))
        assert task_status(task) == ReportStatus.DONE
        submit(lead_user, task, quarter=2, status=ReportStatus.IN_PROGRESS)
        assert task_status(task) == ReportStatus.IN_PROGRESS

    def test_with_two_lead_sections_both_must_be_done_and_accepted(
        self, lead_user, resp_user, office_user, task
    ):
        TaskAssignment.objects.filter(task=task, section=resp_user.section).update(role=AssignmentRole.LEAD)
        review(office_user, submit(lead_user, task, status=ReportStatus.DONE))
        assert task_status(task) == ReportStatus.IN_PROGRESS
        review(office_user, submit(resp_user, task, status=ReportStatus.DONE))
        assert task_status(task) == ReportStatus.DONE

    def test_refresh_writes_the_stored_status_even_when_the_callers_task_is_stale(
        self, lead_user, office_user, task
    ):
        review(office_user, submit(lead_user, task, quarter=1, status=ReportStatus.DONE))
        stale = Task.objects.get(pk=task.pk)
        stale.status = ReportStatus.IN_PROGRESS  # what a page loaded before the review would hold
        reporting.report_submit(
            task=stale,
            section=lead_user.section,
            year=2023,
            quarter=2,
            status=ReportStatus.IN_PROGRESS,
            narrative="",
            user=lead_user,
        )
        assert Task.objects.get(pk=task.pk).status == ReportStatus.IN_PROGRESS

    def test_refresh_uses_a_fixed_number_of_queries(
        self, lead_user, resp_user, task, django_assert_max_num_queries
    ):
        for quarter in (1, 2, 3, 4):
            submit(lead_user, task, quarter=quarter)
            submit(resp_user, task, quarter=quarter)
        task.status = ReportStatus.NOT_STARTED
        with django_assert_max_num_queries(3):
            assert reporting.task_status_refresh(task) == ReportStatus.IN_PROGRESS


def upload(name, content):
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


class TestEvidence:
    def test_a_file_is_stored_with_its_fingerprint_size_name_and_type(self, lead_user, task):
        report = submit(lead_user, task)
        content = make_docx()
        evidence = reporting.evidence_add_file(
            report=report, uploaded_file=upload("工作总结.docx", content), note="一季度总结", user=lead_user
        )
        assert evidence.kind == Evidence.Kind.FILE
        assert evidence.sha256 == hashlib.sha256(content).hexdigest()
        assert (evidence.size, evidence.original_name) == (len(content), "工作总结.docx")
        assert evidence.content_type == (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        )
        assert "工作总结" not in evidence.file.name and evidence.file.name.endswith(".docx")
        with evidence.file.open("rb") as stored:
            assert stored.read() == content
        assert ReportEvent.objects.filter(report=report, action="evidence_add").exists()
        assert AuditEntry.objects.get(action="evidence.add").new_value["sha256"] == evidence.sha256

    def test_a_renamed_executable_is_refused_and_nothing_is_saved(self, lead_user, task):
        report = submit(lead_user, task)
        with pytest.raises(ValidationError) as caught:
            reporting.evidence_add_file(report=report, uploaded_file=upload("报告.pdf", EXE), user=lead_user)
        assert "不符" in caught.value.message_dict["file"][0]
        assert not Evidence.objects.exists()

    def test_the_size_limit_comes_from_office_settings(self, lead_user, task):
        OfficeSettings.objects.update_or_create(pk=1, defaults={"max_evidence_mb": 1})
        report = submit(lead_user, task)
        big = make_pdf() + b"0" * (1024 * 1024)
        with pytest.raises(ValidationError, match="超过上限 1 MB"):
            reporting.evidence_add_file(report=report, uploaded_file=upload("大.pdf", big), user=lead_user)

    def test_a_link_needs_http_and_a_date_that_is_not_in_the_future(self, lead_user, task):
        report = submit(lead_user, task)
        tomorrow = timezone.localdate() + datetime.timedelta(days=1)
        with pytest.raises(ValidationError):
            reporting.evidence_add_link(
                report=report, url="ftp://x.gov.cn/a", published_on=datetime.date(2023, 3, 1), user=lead_user
            )
        with pytest.raises(ValidationError, match="晚于今天"):
            reporting.evidence_add_link(
                report=report, url="https://x.gov.cn/a", published_on=tomorrow, user=lead_user
            )
        link = reporting.evidence_add_link(
            report=report, url=" https://x.gov.cn/a ", published_on=datetime.date(2023, 3, 1), user=lead_user
        )
        assert (link.kind, link.url) == (Evidence.Kind.LINK, "https://x.gov.cn/a")

    def test_another_section_cannot_add_evidence_but_the_office_can(
        self, lead_user, resp_user, office_user, task
    ):
        report = submit(lead_user, task)
        with pytest.raises(PermissionDenied):
            reporting.evidence_add_file(
                report=report, uploaded_file=upload("a.pdf", make_pdf()), user=resp_user
            )
        evidence = reporting.evidence_add_file(
            report=report, uploaded_file=upload("a.pdf", make_pdf()), user=office_user
        )
        assert evidence.uploaded_by == office_user

    def test_readonly_user_of_the_same_section_cannot_add_evidence(self, lead_user, readonly_user, task):
        report = submit(lead_user, task)
        with pytest.raises(PermissionDenied):
            reporting.evidence_add_file(
                report=report, uploaded_file=upload("a.pdf", make_pdf()), user=readonly_user
            )

    def test_no_evidence_can_be_added_to_an_accepted_report(self, lead_user, office_user, task):
        report = review(office_user, submit(lead_user, task))
        with pytest.raises(ValidationError, match="已通过审核"):
            reporting.evidence_add_file(
                report=report, uploaded_file=upload("a.pdf", make_pdf()), user=lead_user
            )

    def test_removing_evidence_is_soft_and_kept_in_history(self, lead_user, task):
        report = submit(lead_user, task)
        evidence = reporting.evidence_add_file(
            report=report, uploaded_file=upload("a.pdf", make_pdf()), user=lead_user
        )
        reporting.evidence_remove(evidence=evidence, user=lead_user)
        evidence.refresh_from_db()
        assert evidence.removed_at is not None and evidence.file
        assert Evidence.objects.filter(pk=evidence.pk).exists()
        actions = list(ReportEvent.objects.filter(report=report).values_list("action", flat=True))
        assert actions == ["submit", "evidence_add", "evidence_remove"]
        assert AuditEntry.objects.filter(action="evidence.remove").count() == 1
        reporting.evidence_remove(evidence=evidence, user=lead_user)  # again: nothing more happens
        assert AuditEntry.objects.filter(action="evidence.remove").count() == 1

    def test_evidence_of_an_accepted_report_cannot_be_removed(self, lead_user, office_user, task):
        report = submit(lead_user, task)
        evidence = reporting.evidence_add_file(
            report=report, uploaded_file=upload("a.pdf", make_pdf()), user=lead_user
        )
        review(office_user, report)
        evidence.refresh_from_db()
        with pytest.raises(ValidationError):
            reporting.evidence_remove(evidence=evidence, user=lead_user)


def test_a_section_user_without_a_section_cannot_report(task, sections):
    user = make_user(role=Role.SECTION, section=None)
    with pytest.raises(PermissionDenied):
        reporting.report_submit(
            task=task,
            section=sections["lead"],
            year=2023,
            quarter=1,
            status="in_progress",
            narrative="",
            user=user,
        )


def test_a_new_section_added_to_the_task_later_can_report(plan, sections):
    extra = make_section("普查中心")
    task = make_task(plan, leads=[sections["lead"]])
    TaskAssignment.objects.create(task=task, section=extra, role=AssignmentRole.RESPONSIBLE)
    user = make_user(role=Role.SECTION, section=extra)
    assert submit(user, task).role == AssignmentRole.RESPONSIBLE
