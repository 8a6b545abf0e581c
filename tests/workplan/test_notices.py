"""通报批评、整改与约谈的服务（workplan/notices.py、rectification.py、interviews.py）：
编号连续且唯一（含并发重取号）、草稿无号、已印发不可改、上级通报登记、
整改答复 → 退回 → 再答复 → 销号（含 409 冲突）、约谈及后续事项、审计日志。
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from tests.factories import make_user
from tests.workplan.test_uploads import make_pdf, make_png
from workplan import interviews, notices, rectification
from workplan.models import (
    AuditEntry,
    CriticismNotice,
    IssuerLevel,
    NoticeStatus,
    OfficeSettings,
    RectificationItem,
    RectificationStatus,
    Role,
)
from workplan.notices import UnitEntry

DEADLINE = datetime.date(2023, 11, 30)


def draft(user, units, **fields):
    """办公室起草一份局内通报（缺省 2023 年第三季度，整改期限 2023-11-30）。"""
    base = {
        "year": 2023,
        "quarter": 3,
        "title": "关于2023年第三季度政务公开重点任务逾期未完成情况的通报",
        "problems": "部分任务逾期未完成。",
        "handling_opinion": "对综合股予以通报批评。",
        "requirements": "请于11月30日前完成整改。",
        "rectification_deadline": DEADLINE,
    }
    base.update(fields)
    return notices.notice_draft_create(
        user=user, fields=base, units=[u if isinstance(u, UnitEntry) else UnitEntry(u, "逾期") for u in units]
    )


def issue(user, notice):
    return notices.notice_issue(notice=notice, user=user, expected_version=notice.version)


@pytest.fixture
def issued(office_user, sections):
    """已印发的通报，点名综合股。"""
    return issue(office_user, draft(office_user, [UnitEntry(sections["lead"], "任务逾期30个工作日")]))


@pytest.fixture
def item(issued, sections):
    return RectificationItem.objects.get(notice=issued, section=sections["lead"])


def pdf(name="整改报告.pdf"):
    return SimpleUploadedFile(name, make_pdf())


def answer(user, item, **kw):
    kw.setdefault("response", "已完成整改，补发了统计公报。")
    if "uploaded_file" not in kw and "link" not in kw:
        kw["uploaded_file"] = pdf()
    return rectification.rectification_answer(item=item, user=user, expected_version=item.version, **kw)


def verify(user, item, decision, comment=""):
    return rectification.rectification_verify(
        item=item, user=user, expected_version=item.version, decision=decision, comment=comment
    )


# ---- numbering ---------------------------------------------------------------------------------------------


class TestNumbering:
    def test_drafts_have_no_number(self, office_user, sections):
        notice = draft(office_user, [sections["lead"]])
        assert (notice.status, notice.number, notice.doc_number) == (NoticeStatus.DRAFT, None, "")

    def test_two_issues_in_a_row_are_numbered_1_and_2(self, office_user, sections):
        first = issue(office_user, draft(office_user, [sections["lead"]]))
        second = issue(office_user, draft(office_user, [sections["resp"]]))
        assert (first.number, second.number) == (1, 2)
        assert (first.doc_number, second.doc_number) == ("统通〔2023〕1号", "统通〔2023〕2号")

    def test_the_prefix_comes_from_the_office_settings(self, office_user, sections):
        OfficeSettings.objects.update_or_create(pk=1, defaults={"notice_prefix": "樟统通"})
        notice = issue(office_user, draft(office_user, [sections["lead"]]))
        assert notice.doc_number == "樟统通〔2023〕1号"

    def test_numbering_restarts_each_year(self, office_user, sections):
        issue(office_user, draft(office_user, [sections["lead"]]))
        issue(office_user, draft(office_user, [sections["lead"]]))
        next_year = issue(office_user, draft(office_user, [sections["lead"]], year=2024))
        assert (next_year.number, next_year.doc_number) == (1, "统通〔2024〕1号")

    def test_discarded_drafts_and_received_notices_leave_no_gap(self, office_user, sections):
        dropped = draft(office_user, [sections["lead"]])
        notices.notice_discard(notice=dropped, user=office_user, expected_version=dropped.version)
        received(office_user, sections)
        notice = issue(office_user, draft(office_user, [sections["lead"]]))
        assert notice.number == 1

    def test_a_number_can_be_held_only_once(self, office_user, sections):
        first = issue(office_user, draft(office_user, [sections["lead"]]))
        other = draft(office_user, [sections["lead"]])
        with pytest.raises(IntegrityError), transaction.atomic():
            CriticismNotice.objects.filter(pk=other.pk).update(number=first.number)

    def test_a_concurrent_issue_taking_the_number_first_makes_the_second_take_the_next(
        self, office_user, sections, monkeypatch
    ):
        """另一人同时印发：本次读到的“下一个号”已被占用 → 唯一约束挡住 → 重新取号，不跳号、不重号。"""
        issue(office_user, draft(office_user, [sections["lead"]]))
        real = notices._next_number
        calls = []

        def stale_then_real(year, level):
            calls.append(year)
            return 1 if len(calls) == 1 else real(year, level)

        monkeypatch.setattr(notices, "_next_number", stale_then_real)
        second = issue(office_user, draft(office_user, [sections["resp"]]))
        assert second.number == 2 and len(calls) == 2
        assert list(
            CriticismNotice.objects.filter(number__isnull=False).values_list("number", flat=True)
        ) == [
            2,
            1,
        ]


# ---- drafting, editing, issuing --------------------------------------------------------------------------


class TestNoticeLifecycle:
    def test_issuing_opens_one_item_per_named_section_with_the_notice_deadline(self, office_user, sections):
        notice = draft(
            office_user, [UnitEntry(sections["lead"], "逾期两项"), UnitEntry(sections["resp"], "")]
        )
        issued = issue(office_user, notice)
        items = list(RectificationItem.objects.filter(notice=issued).order_by("section__sort_order"))
        assert [(i.section, i.deadline, i.status) for i in items] == [
            (sections["lead"], DEADLINE, RectificationStatus.OPEN),
            (sections["resp"], DEADLINE, RectificationStatus.OPEN),
        ]
        assert items[0].description == "逾期两项"
        assert items[1].description == "请于11月30日前完成整改。"  # no problems of its own: the requirements

    def test_issuing_records_who_and_when(self, office_user, issued, time_machine):
        assert issued.status == NoticeStatus.ISSUED and issued.issued_by == office_user
        assert issued.received_on is not None and issued.issued_at is not None

    def test_issued_notice_cannot_be_edited_discarded_or_issued_again(self, office_user, issued, sections):
        with pytest.raises(notices.NoticeConflict, match="已印发"):
            notices.notice_update(
                notice=issued,
                user=office_user,
                expected_version=issued.version,
                fields={"year": 2023, "title": "改过的标题"},
                units=[UnitEntry(sections["other"])],
            )
        with pytest.raises(notices.NoticeConflict):
            notices.notice_discard(notice=issued, user=office_user, expected_version=issued.version)
        with pytest.raises(notices.NoticeConflict):
            issue(office_user, issued)
        issued.refresh_from_db()
        assert issued.title.startswith("关于2023年第三季度") and issued.number == 1
        assert [u.section for u in issued.units.all()] == [sections["lead"]]

    def test_editing_a_draft_rewrites_the_text_and_the_named_sections(self, office_user, sections):
        notice = draft(office_user, [UnitEntry(sections["lead"], "旧问题"), UnitEntry(sections["resp"], "x")])
        saved = notices.notice_update(
            notice=notice,
            user=office_user,
            expected_version=notice.version,
            fields={"year": 2023, "quarter": 3, "title": "新标题", "contact": "张三 0795-1234567"},
            units=[UnitEntry(sections["lead"], "新问题"), UnitEntry(sections["other"], "农业股问题")],
        )
        assert (saved.title, saved.contact, saved.version) == ("新标题", "张三 0795-1234567", 2)
        assert [(u.section.name, u.problems) for u in notices.notice_units(saved)] == [
            ("综合股", "新问题"),
            ("农业股", "农业股问题"),
        ]

    def test_editing_with_a_stale_version_is_a_conflict_that_keeps_both_texts(self, office_user, sections):
        notice = draft(office_user, [sections["lead"]])
        fields = {"year": 2023, "title": "第一次修改"}
        notices.notice_update(notice=notice, user=office_user, expected_version=1, fields=fields, units=[])
        with pytest.raises(notices.NoticeConflict) as exc:
            notices.notice_update(
                notice=notice,
                user=office_user,
                expected_version=1,
                fields={"year": 2023, "title": "我的"},
                units=[],
            )
        assert exc.value.current.title == "第一次修改" and exc.value.mine["title"] == "我的"

    def test_issuing_a_stale_version_is_a_conflict(self, office_user, sections):
        notice = draft(office_user, [sections["lead"]])
        fields = {"year": 2023, "title": "改", "rectification_deadline": DEADLINE}
        notices.notice_update(
            notice=notice,
            user=office_user,
            expected_version=1,
            fields=fields,
            units=[UnitEntry(sections["lead"])],
        )
        with pytest.raises(notices.NoticeConflict):
            notices.notice_issue(notice=notice, user=office_user, expected_version=1)
        assert CriticismNotice.objects.get(pk=notice.pk).number is None

    @pytest.mark.parametrize(
        ("units", "fields", "message"),
        [
            ([], {}, "请至少点名一个被通报的股室"),
            (["lead"], {"rectification_deadline": None}, "请填写整改期限"),
        ],
    )
    def test_issuing_needs_named_sections_and_a_deadline(self, office_user, sections, units, fields, message):
        notice = draft(office_user, [sections[u] for u in units], **fields)
        with pytest.raises(ValidationError, match=message):
            issue(office_user, notice)
        assert CriticismNotice.objects.get(pk=notice.pk).status == NoticeStatus.DRAFT

    def test_a_section_cannot_be_named_twice(self, office_user, sections):
        with pytest.raises(ValidationError, match="同一股室只能列一次"):
            draft(office_user, [sections["lead"], sections["lead"]])

    @pytest.mark.parametrize("persona", ["director", "lead_user", "readonly_user"])
    def test_only_the_office_drafts_and_issues(self, request, persona, office_user, sections):
        user = request.getfixturevalue(persona)
        with pytest.raises(PermissionDenied):
            draft(user, [sections["lead"]])
        notice = draft(office_user, [sections["lead"]])
        with pytest.raises(PermissionDenied):
            issue(user, notice)

    def test_the_same_trigger_drafts_only_once(self, office_user, sections):
        first = notices.notice_draft_create(
            user=office_user, fields={"year": 2023, "title": "t"}, units=[], dedupe_key="trigger:x:2023-Q3"
        )
        with pytest.raises(notices.NoticeDuplicate) as exc:
            notices.notice_draft_create(
                user=office_user,
                fields={"year": 2023, "title": "t"},
                units=[],
                dedupe_key="trigger:x:2023-Q3",
            )
        assert exc.value.existing == first
        assert CriticismNotice.objects.count() == 1


def received(user, sections, **fields):
    base = {
        "issuer_level": IssuerLevel.COUNTY,
        "issuer_name": "樟树市人民政府办公室",
        "doc_number": "樟府办字〔2023〕12号",
        "title": "关于全市政务公开第三方评估情况的通报",
        "received_on": datetime.date(2023, 8, 20),
    }
    base.update(fields)
    return notices.notice_record_received(
        user=user, fields=base, units=[UnitEntry(sections["lead"], "栏目更新不及时")]
    )


class TestReceivedNotices:
    def test_a_county_notice_is_recorded_as_issued_without_a_bureau_number(self, office_user, sections):
        notice = received(office_user, sections)
        assert (notice.status, notice.issuer_level, notice.number) == (NoticeStatus.ISSUED, "county", None)
        assert (notice.year, notice.doc_number) == (2023, "樟府办字〔2023〕12号")
        assert not RectificationItem.objects.filter(notice=notice).exists()  # no deadline given

    def test_a_deadline_opens_rectification_items(self, office_user, sections):
        notice = received(office_user, sections, rectification_deadline=DEADLINE)
        assert list(
            RectificationItem.objects.filter(notice=notice).values_list("section__name", "deadline")
        ) == [("综合股", DEADLINE)]

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"issuer_level": IssuerLevel.BUREAU}, "issuer_level"),
            ({"doc_number": ""}, "doc_number"),
            ({"received_on": None}, "received_on"),
        ],
    )
    def test_level_doc_number_and_date_are_required(self, office_user, sections, fields, field):
        with pytest.raises(ValidationError) as exc:
            received(office_user, sections, **fields)
        assert field in exc.value.error_dict

    def test_only_the_office_records_received_notices(self, director, sections):
        with pytest.raises(PermissionDenied):
            received(director, sections)


# ---- rectification ---------------------------------------------------------------------------------------


class TestRectification:
    def test_answer_return_answer_close(self, office_user, lead_user, item):
        """股室答复（附文件）→ 办公室退回（带意见）→ 股室再答复（沿用文件、补链接）→ 办公室销号。"""
        item = answer(lead_user, item)
        assert (item.status, item.version, item.responded_by) == (RectificationStatus.SUBMITTED, 2, lead_user)
        assert item.response_file_name == "整改报告.pdf" and item.response_file.name.endswith(".pdf")
        assert "整改报告" not in item.response_file.name  # the stored name is random

        item = verify(office_user, item, rectification.RETURN, "缺少整改前后对比")
        assert (item.status, item.return_count, item.verify_comment) == (
            RectificationStatus.RETURNED,
            1,
            "缺少整改前后对比",
        )

        item = answer(
            lead_user, item, link="https://www.zhangshu.gov.cn/art/2023/10/1.html", response="已补充"
        )
        assert item.status == RectificationStatus.SUBMITTED
        assert item.response_file_name == "整改报告.pdf" and item.response_link.startswith("https://")

        item = verify(office_user, item, rectification.CLOSE)
        assert (item.status, item.verified_by, item.return_count, item.version) == (
            RectificationStatus.CLOSED,
            office_user,
            1,
            5,
        )
        actions = list(
            AuditEntry.objects.filter(object_type="workplan.RectificationItem", object_id=str(item.pk))
            .order_by("pk")
            .values_list("action", flat=True)
        )
        assert actions == ["rectification.answer", "rectification.verify"] * 2

    def test_a_stale_answer_is_a_conflict_and_keeps_the_text(self, lead_user, item):
        answer(lead_user, item)
        with pytest.raises(rectification.RectificationConflict) as exc:
            rectification.rectification_answer(
                item=item,
                user=lead_user,
                expected_version=1,
                response="我的第二稿",
                link="https://a.gov.cn/x",
            )
        assert exc.value.current.version == 2 and exc.value.mine["response"] == "我的第二稿"

    def test_a_stale_verification_is_a_conflict(self, office_user, lead_user, item):
        submitted = answer(lead_user, item)
        verify(office_user, submitted, rectification.RETURN, "不完整")
        with pytest.raises(rectification.RectificationConflict):
            verify(office_user, submitted, rectification.CLOSE)
        assert RectificationItem.objects.get(pk=item.pk).status == RectificationStatus.RETURNED

    def test_a_conflicting_upload_leaves_no_file_behind(self, lead_user, item, settings):
        def stored() -> set[str]:
            root = Path(settings.MEDIA_ROOT) / "rectification"
            return {str(p) for p in root.rglob("*") if p.is_file()}

        answer(lead_user, item)
        before = stored()
        with pytest.raises(rectification.RectificationConflict):
            rectification.rectification_answer(
                item=item, user=lead_user, expected_version=1, response="x", uploaded_file=pdf()
            )
        assert stored() == before

    def test_closed_items_cannot_be_answered(self, office_user, lead_user, item):
        closed = verify(office_user, answer(lead_user, item), rectification.CLOSE)
        with pytest.raises(ValidationError, match="已销号"):
            answer(lead_user, closed)

    def test_only_submitted_items_are_verified(self, office_user, item):
        with pytest.raises(ValidationError, match="不在待核验状态"):
            verify(office_user, item, rectification.CLOSE)

    def test_returning_needs_a_comment(self, office_user, lead_user, item):
        submitted = answer(lead_user, item)
        with pytest.raises(ValidationError, match="核验意见"):
            verify(office_user, submitted, rectification.RETURN, "  ")

    @pytest.mark.parametrize(
        ("kw", "field"),
        [
            ({"response": " "}, "response"),
            ({"uploaded_file": SimpleUploadedFile("report.pdf", b"MZ\x90\x00 not a pdf")}, "file"),
            ({"uploaded_file": SimpleUploadedFile("run.exe", b"MZ\x90\x00")}, "file"),
            ({"link": "ftp://files.example.com/a.pdf"}, "link"),
            ({"uploaded_file": None}, "file"),  # neither a file nor a link
        ],
    )
    def test_answers_need_text_and_checked_material(self, lead_user, item, kw, field):
        with pytest.raises(ValidationError) as exc:
            answer(lead_user, item, **kw)
        assert field in exc.value.error_dict
        assert RectificationItem.objects.get(pk=item.pk).status == RectificationStatus.OPEN

    def test_an_image_is_accepted_as_material(self, lead_user, item):
        done = answer(lead_user, item, uploaded_file=SimpleUploadedFile("截图.png", make_png()))
        assert done.response_file_name == "截图.png"

    @pytest.mark.parametrize("persona", ["resp_user", "readonly_user", "director", "office_user"])
    def test_only_the_named_sections_staff_answer(self, request, persona, item):
        with pytest.raises(PermissionDenied):
            answer(request.getfixturevalue(persona), item)

    def test_an_office_user_of_the_named_section_may_answer(self, office_user, sections):
        notice = issue(office_user, draft(office_user, [sections["office"]]))
        own = RectificationItem.objects.get(notice=notice)
        assert answer(office_user, own).status == RectificationStatus.SUBMITTED

    @pytest.mark.parametrize("persona", ["lead_user", "director", "readonly_user"])
    def test_only_the_office_verifies(self, request, persona, lead_user, item):
        submitted = answer(lead_user, item)
        with pytest.raises(PermissionDenied):
            verify(request.getfixturevalue(persona), submitted, rectification.CLOSE)

    def test_overdue_items_are_open_ones_past_their_deadline(self, office_user, lead_user, item, sections):
        qs = RectificationItem.objects.all()
        assert list(rectification.overdue_items(qs, today=DEADLINE)) == []
        assert list(rectification.overdue_items(qs, today=DEADLINE + datetime.timedelta(days=1))) == [item]
        verify(office_user, answer(lead_user, item), rectification.CLOSE)
        assert list(rectification.overdue_items(qs, today=DEADLINE + datetime.timedelta(days=1))) == []


# ---- interviews ------------------------------------------------------------------------------------------


class TestInterviews:
    def test_an_interview_with_a_follow_up_item(self, office_user, lead_user, issued, sections):
        interview = interviews.interview_create(
            user=office_user,
            held_on=datetime.date(2023, 10, 9),
            sections=[sections["lead"]],
            interviewer="李局长",
            participants="综合股股长、办公室主任",
            subject="第三季度任务逾期",
            agreed="两周内补齐统计公报",
            notice=issued,
        )
        item = interviews.interview_item_add(
            interview=interview,
            user=office_user,
            section=sections["lead"],
            description="补发统计公报",
            deadline=datetime.date(2023, 10, 23),
        )
        assert (item.interview, item.notice, item.status) == (interview, None, RectificationStatus.OPEN)
        # Handled like a notice's item.
        closed = verify(office_user, answer(lead_user, item), rectification.CLOSE)
        assert closed.status == RectificationStatus.CLOSED
        actions = set(AuditEntry.objects.values_list("action", flat=True))
        assert {"interview.create", "rectification.add"} <= actions

    def test_the_follow_up_section_must_have_been_interviewed(self, office_user, sections):
        interview = interviews.interview_create(
            user=office_user,
            held_on=datetime.date(2023, 10, 9),
            sections=[sections["lead"]],
            interviewer="李局长",
            subject="约谈",
        )
        with pytest.raises(ValidationError, match="被约谈的股室"):
            interviews.interview_item_add(
                interview=interview,
                user=office_user,
                section=sections["resp"],
                description="x",
                deadline=DEADLINE,
            )

    @pytest.mark.parametrize(
        ("kw", "field"),
        [
            ({"sections": []}, "sections"),
            ({"held_on": datetime.date(2999, 1, 1)}, "held_on"),
            ({"subject": ""}, "subject"),
        ],
    )
    def test_interview_validation(self, office_user, sections, kw, field):
        args = {
            "held_on": datetime.date(2023, 10, 9),
            "sections": [sections["lead"]],
            "interviewer": "李局长",
            "subject": "约谈",
        }
        args.update(kw)
        with pytest.raises(ValidationError) as exc:
            interviews.interview_create(user=office_user, **args)
        assert field in exc.value.error_dict

    def test_only_the_office_records_interviews(self, director, sections):
        with pytest.raises(PermissionDenied):
            interviews.interview_create(
                user=director,
                held_on=datetime.date(2023, 10, 9),
                sections=[sections["lead"]],
                interviewer="李局长",
                subject="约谈",
            )


def test_every_write_leaves_an_audit_row(office_user, lead_user, sections):
    notice = draft(office_user, [sections["lead"]])
    notice = notices.notice_update(
        notice=notice,
        user=office_user,
        expected_version=1,
        fields={"year": 2023, "title": "改", "rectification_deadline": DEADLINE},
        units=[UnitEntry(sections["lead"])],
    )
    issue(office_user, notice)
    dropped = draft(office_user, [sections["resp"]])
    notices.notice_discard(notice=dropped, user=office_user, expected_version=1, reason="重复")
    received(office_user, sections)
    rows = list(AuditEntry.objects.order_by("pk").values_list("action", "username", "object_type"))
    assert rows == [
        ("notice.draft", "office", "workplan.CriticismNotice"),
        ("notice.update", "office", "workplan.CriticismNotice"),
        ("notice.issue", "office", "workplan.CriticismNotice"),
        ("notice.draft", "office", "workplan.CriticismNotice"),
        ("notice.discard", "office", "workplan.CriticismNotice"),
        ("notice.receive", "office", "workplan.CriticismNotice"),
    ]
    issued_row = AuditEntry.objects.get(action="notice.issue")
    assert issued_row.old_value["status"] == "draft" and issued_row.new_value["status"] == "issued"
    assert issued_row.new_value["number"] == 1 and issued_row.new_value["items"] == 1
    assert AuditEntry.objects.get(action="notice.discard").new_value["reason"] == "重复"


def test_section_staff_without_a_section_see_nothing(db):
    from workplan import access

    user = make_user("loner", role=Role.SECTION)
    assert not access.visible_notices(user).exists() and not access.visible_rectifications(user).exists()
