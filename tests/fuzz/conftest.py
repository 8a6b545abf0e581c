"""模糊测试的夹具：sheet_plan（供任务表回导的计划：一项任务、一个章节）与 world（每个表单都有
可提交的对象，全部经由服务建立）。"""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from scoring.closing import appeal_submit, quarter_close
from scoring.models import SnapshotLedgerLine
from scoring.services import manual_fact_set, scores_compute
from tests.conftest import login
from tests.factories import make_task
from tests.fuzz.support import _csv_bytes
from tests.scoring.test_facts import published_ruleset
from tests.workplan.test_notices import answer, draft
from tests.workplan.test_notices import issue as notice_issue
from tests.workplan.test_uploads import make_pdf
from workplan import applications, notices, publication, spreadsheet
from workplan.importing import plan_import_preview
from workplan.models import (
    CONFIDENTIALITY_ITEMS,
    Notification,
    OfficeSettings,
    PublicationColumn,
    PublicationLevel,
    RectificationItem,
    ReportStatus,
)
from workplan.notices import UnitEntry
from workplan.reporting import evidence_add_file, report_submit


@pytest.fixture
def sheet_plan(plan, sections):
    make_task(plan, title="深化统计数据公开", code="T0001", leads=[sections["lead"]])
    make_task(plan, title="章节", code="H1", is_heading=True)
    return plan


MINI_PLAN = (
    "2024年某局政务公开工作要点\n一、加强信息公开\n（一）深化数据公开。及时发布数据。（牵头股室：综合股，"
    "责任股室：神秘股）\n"
)


@pytest.fixture
def world(sections, office_user, director, lead_user, resp_user, plan, settings, tmp_path):
    """每个表单都有可提交的对象，全部经由服务建立：报送与佐证文件、通知、计划导入与表格回导批次、通报草稿与
    整改事项（待答复、待核验）、约谈、发布信息（拟稿、待初审、待发布）、依申请公开与复议、录入事实、计分、
    关账、台账行与申诉。"""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    OfficeSettings.current()
    lead, resp = sections["lead"], sections["resp"]
    task = make_task(
        plan, title="深化统计数据公开", leads=[lead], responsibles=[resp], due_date=datetime.date(2023, 2, 1)
    )
    report = report_submit(
        task=task,
        section=lead,
        year=2023,
        quarter=1,
        status=ReportStatus.IN_PROGRESS,
        narrative="进展",
        user=lead_user,
    )
    evidence = evidence_add_file(
        report=report, uploaded_file=SimpleUploadedFile("a.pdf", make_pdf()), user=lead_user
    )
    notification = Notification.objects.create(
        user=lead_user, kind="test", message="提醒", dedupe_key="fuzz-1"
    )
    document = plan_import_preview(name="fuzz.txt", data=MINI_PLAN.encode(), year=None, user=office_user)
    rows = [list(spreadsheet.HEADERS), ["T9999", "一/（二）", "新任务", "", "综合股", "", "", "", ""]]
    batch = spreadsheet.plan_tasks_preview_sheet(
        plan=plan,
        filename="任务表.csv",
        data=_csv_bytes(rows, "utf-8-sig"),
        user=office_user,
        max_bytes=10**6,
    )
    notice_draft = draft(office_user, [UnitEntry(lead, "逾期")], title="草稿通报")
    issued = notice_issue(office_user, draft(office_user, [UnitEntry(lead, "逾期"), UnitEntry(resp, "退回")]))
    item_open = RectificationItem.objects.get(notice=issued, section=lead)
    item_answered = answer(resp_user, RectificationItem.objects.get(notice=issued, section=resp))
    interview = notices.interview_create(
        user=office_user,
        held_on=datetime.date(2023, 10, 9),
        sections=[lead],
        interviewer="李局长",
        subject="约谈",
    )
    pub_fields = {
        "title": "统计公报",
        "column": PublicationColumn.STATISTICS,
        "formed_on": datetime.date(2023, 9, 25),
        "body": "前三季度，全市地区生产总值……",
    }
    pub_draft = publication.publication_create(section=lead, user=lead_user, **pub_fields)
    pub_first = publication.publication_create(section=lead, user=office_user, **pub_fields)
    pub_first = publication.publication_submit(
        item=pub_first, user=office_user, expected_version=pub_first.version
    )
    pub_ok = publication.publication_create(section=lead, user=lead_user, **pub_fields)
    pub_ok = publication.publication_submit(item=pub_ok, user=lead_user, expected_version=pub_ok.version)
    for user, level, checks in (
        (lead_user, PublicationLevel.FIRST, ()),
        (director, PublicationLevel.SECOND, ()),
        (office_user, PublicationLevel.FINAL, [k for k, _ in CONFIDENTIALITY_ITEMS]),
    ):
        pub_ok = publication.publication_review(
            item=pub_ok,
            level=level,
            decision="pass",
            checklist=checks,
            user=user,
            expected_version=pub_ok.version,
        )
    application = applications.application_create(
        user=office_user,
        fields={
            "channel": "in_person",
            "submitted_on": datetime.date(2023, 3, 1),
            "acknowledged_on": None,
            "applicant_type": "natural_person",
            "applicant_name": "张三",
            "content": "申请公开2022年统计公报",
            "section": lead,
        },
    )
    app_appeal = applications.appeal_record(
        application=application, user=office_user, kind="review", filed_on=datetime.date(2023, 5, 1)
    )
    ruleset = published_ruleset()
    fact = manual_fact_set(
        section=resp,
        year=2023,
        period="Q1",
        fact="quality_assessment",
        value="8",
        reason="较好",
        user=office_user,
    )
    run = scores_compute(ruleset_record=ruleset, year=2023, period="Q1", user=office_user)
    close = quarter_close(year=2023, quarter=1, run=run, user=office_user)
    lines = list(SnapshotLedgerLine.objects.filter(close=close, section=lead, points__lt=0).order_by("pk"))
    assert len(lines) >= 2, "关账台账中综合股应有至少两条扣分行"
    appeal = appeal_submit(line=lines[0], user=lead_user, reason="已按期完成")
    users = {"office": office_user, "lead": lead_user, "resp": resp_user, "director": director}
    return SimpleNamespace(
        users=users,
        clients={name: login(user) for name, user in users.items()},
        sections=sections,
        plan=plan,
        task=task,
        report=report,
        evidence=evidence,
        notification=notification,
        document=document,
        batch=batch,
        notice_draft=notice_draft,
        item_open=item_open,
        item_answered=item_answered,
        interview=interview,
        pub_draft=pub_draft,
        pub_first=pub_first,
        pub_ok=pub_ok,
        application=application,
        app_appeal=app_appeal,
        ruleset=ruleset,
        fact=fact,
        run=run,
        close=close,
        line=lines[1],
        appeal=appeal,
    )
