"""发布信息登记台账：三审流程（每一级退回）、审核独立性、乐观锁、发布登记、20个工作日公开时限（跨2023年国庆）、
审批卡 docx。按期间的考核事实与月度移交清单见 test_publication_facts.py。"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from docx import Document

from scoring.reports.approval_card import build_approval_card
from tests.factories import make_section, make_user
from workplan import publication as pub
from workplan.models import (
    CONFIDENTIALITY_ITEMS,
    AuditEntry,
    HolidayOverride,
    PublicationColumn,
    PublicationDecision,
    PublicationItem,
    PublicationLevel,
    PublicationState,
    Role,
)
from workplan.publication_deadlines import Deadline, deadline_of, due_date
from workplan.workdays import WorkdayCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = Decimal
ALL_CHECKS = [key for key, _label in CONFIDENTIALITY_ITEMS]
FIRST, SECOND, FINAL = PublicationLevel.FIRST, PublicationLevel.SECOND, PublicationLevel.FINAL
PASS, RETURN = PublicationDecision.PASS, PublicationDecision.RETURN


def at(y: int, m: int, d: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(y, m, d, hour, 0, tzinfo=SHANGHAI)


@pytest.fixture
def lead2(sections):
    """承办股室（综合股）的第二个人：担任初审。"""
    return make_user("lead2", role=Role.SECTION, section=sections["lead"], first_name="二", last_name="李")


@pytest.fixture
def office2(sections):
    return make_user("office2", role=Role.OFFICE, section=sections["office"], first_name="芳", last_name="王")


def create(user, section, **kwargs) -> PublicationItem:
    defaults = {
        "title": "2023年前三季度全市经济运行情况",
        "column": PublicationColumn.STATISTICS,
        "formed_on": dt.date(2023, 9, 25),
        "body": "前三季度，全市地区生产总值……",
    }
    return pub.publication_create(section=section, user=user, **{**defaults, **kwargs})


def submit(item, user) -> PublicationItem:
    return pub.publication_submit(item=item, user=user, expected_version=item.version)


def review(item, user, level, decision=PASS, comment="", checklist=()) -> PublicationItem:
    return pub.publication_review(
        item=item,
        level=level,
        decision=decision,
        comment=comment,
        checklist=checklist,
        user=user,
        expected_version=item.version,
    )


def approve(item, *, drafter, first, director, office) -> PublicationItem:
    item = submit(item, drafter)
    item = review(item, first, FIRST)
    item = review(item, director, SECOND)
    return review(item, office, FINAL, checklist=ALL_CHECKS)


def publish(item, office, on: dt.date, url: str = "https://www.zhangshu.gov.cn/art/2023/10/9/1.html"):
    return pub.publication_publish(
        item=item, publish_url=url, published_on=on, user=office, expected_version=item.version
    )


# ---- the working-day window (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formed", "due"),
    [
        # 2023 National Day: 9/29–10/6 off, Saturday 10/7 and Sunday 10/8 are make-up working days.
        (dt.date(2023, 9, 25), dt.date(2023, 10, 27)),
        (dt.date(2023, 9, 28), dt.date(2023, 11, 1)),
        (dt.date(2023, 10, 1), dt.date(2023, 11, 1)),  # formed on a holiday: counting starts after it
        (dt.date(2023, 3, 1), dt.date(2023, 3, 29)),  # no holiday: four weeks
    ],
)
def test_the_window_is_twenty_working_days_from_forming(formed, due):
    assert due_date(formed, cal=WorkdayCalendar()) == due


def test_weekends_only_would_give_an_earlier_date_across_national_day():
    naive = WorkdayCalendar(override_years=frozenset({2023}))  # weekends only, as for an unpublished year
    assert due_date(dt.date(2023, 9, 25), cal=naive) == dt.date(2023, 10, 23)


# ---- the review flow -----------------------------------------------------------------------------------


def test_full_flow_with_a_return_at_every_level(sections, lead_user, lead2, director, office_user):
    with time_machine.travel(at(2023, 9, 26), tick=False):
        item = create(lead_user, sections["lead"])
        assert item.state == PublicationState.DRAFT and item.due_on == dt.date(2023, 10, 27)
        item = submit(item, lead_user)
        assert (item.state, item.review_round) == (PublicationState.FIRST_REVIEW, 1)

        item = review(item, lead2, FIRST, RETURN, "数据口径请与统计公报一致")
        assert item.state == PublicationState.DRAFT
        assert (item.return_comment, item.returned_level) == ("数据口径请与统计公报一致", FIRST)

        item = pub.publication_update(
            item=item,
            title=item.title,
            column=item.column,
            formed_on=item.formed_on,
            body="修改后的正文",
            user=lead_user,
            expected_version=item.version,
        )
        item = submit(item, lead_user)
        assert item.return_comment == "" and item.review_round == 2
        item = review(item, lead2, FIRST)
        assert item.state == PublicationState.SECOND_REVIEW
        item = review(item, director, SECOND, RETURN, "补充同比增速")
        assert (item.state, item.returned_level) == (PublicationState.DRAFT, SECOND)

        item = submit(item, lead_user)
        item = review(item, lead2, FIRST)
        item = review(item, director, SECOND)
        assert item.state == PublicationState.FINAL_REVIEW
        item = review(item, office_user, FINAL, RETURN, "附件含个人手机号，请去标识化")
        assert (item.state, item.returned_level) == (PublicationState.DRAFT, FINAL)

        item = approve(item, drafter=lead_user, first=lead2, director=director, office=office_user)
        assert item.state == PublicationState.APPROVED
        assert item.review_round == 4
        assert item.confidentiality == dict.fromkeys(ALL_CHECKS, True)

    with time_machine.travel(at(2023, 10, 9), tick=False):
        item = publish(item, office_user, dt.date(2023, 10, 9))
    assert item.state == PublicationState.PUBLISHED
    assert item.published_on == dt.date(2023, 10, 9) and not item.is_late(today=dt.date(2023, 12, 1))

    steps = list(item.steps.order_by("at", "pk").values_list("review_round", "level", "decision"))
    assert steps == [
        (1, "submit", "submit"), (1, FIRST, RETURN),
        (2, "submit", "submit"), (2, FIRST, PASS), (2, SECOND, RETURN),
        (3, "submit", "submit"), (3, FIRST, PASS), (3, SECOND, PASS), (3, FINAL, RETURN),
        (4, "submit", "submit"), (4, FIRST, PASS), (4, SECOND, PASS), (4, FINAL, PASS),
        (4, "publish", "publish"),
    ]  # fmt: skip
    actions = list(
        AuditEntry.objects.filter(object_id=str(item.pk))
        .order_by("at", "id")
        .values_list("action", flat=True)
    )
    assert actions.count("publication.review") == 9
    assert actions[0] == "publication.create" and actions[-1] == "publication.publish"
    assert actions.count("publication.submit") == 4 and actions.count("publication.update") == 1


def test_a_returned_item_can_be_edited_but_a_submitted_one_cannot(sections, lead_user, lead2):
    item = submit(create(lead_user, sections["lead"]), lead_user)
    with pytest.raises(ValidationError, match="只有拟稿状态可以修改"):
        pub.publication_update(
            item=item, title="新标题", column=item.column, formed_on=item.formed_on, body="x",
            user=lead_user, expected_version=item.version,
        )  # fmt: skip


def test_returning_needs_a_comment(sections, lead_user, lead2):
    item = submit(create(lead_user, sections["lead"]), lead_user)
    with pytest.raises(ValidationError) as exc:
        review(item, lead2, FIRST, RETURN, "  ")
    assert "comment" in exc.value.message_dict


def test_final_approval_needs_every_confidentiality_item(sections, lead_user, lead2, director, office_user):
    item = submit(create(lead_user, sections["lead"]), lead_user)
    item = review(review(item, lead2, FIRST), director, SECOND)
    with pytest.raises(ValidationError) as exc:
        review(item, office_user, FINAL, checklist=ALL_CHECKS[:-1])
    assert "公开后不危及国家安全" in str(exc.value.message_dict["checklist"])
    assert PublicationItem.objects.get(pk=item.pk).state == PublicationState.FINAL_REVIEW
    # Returning needs no checklist.
    assert review(item, office_user, FINAL, RETURN, "请核对").state == PublicationState.DRAFT


def test_the_submitter_cannot_do_the_first_review_while_a_colleague_can(sections, lead_user, lead2):
    item = submit(create(lead_user, sections["lead"]), lead_user)
    with pytest.raises(PermissionDenied, match="提交人以外"):
        review(item, lead_user, FIRST)
    assert review(item, lead2, FIRST).state == PublicationState.SECOND_REVIEW


def test_a_section_of_one_reviews_its_own_item(sections, director):
    alone = make_section("人口与就业股")
    solo = make_user("solo", role=Role.SECTION, section=alone)
    item = submit(create(solo, alone), solo)
    assert review(item, solo, FIRST).state == PublicationState.SECOND_REVIEW


@pytest.mark.parametrize(
    ("level", "who"),
    [(FIRST, "resp_user"), (FIRST, "director"), (FIRST, "readonly_user"), (SECOND, "office_user"),
     (SECOND, "lead2"), (FINAL, "director"), (FINAL, "lead2")],
)  # fmt: skip
def test_each_level_is_reviewed_by_its_role_only(
    request, sections, lead_user, lead2, director, office_user, level, who
):
    item = submit(create(lead_user, sections["lead"]), lead_user)
    if level in (SECOND, FINAL):
        item = review(item, lead2, FIRST)
    if level == FINAL:
        item = review(item, director, SECOND)
    with pytest.raises(PermissionDenied):
        review(item, request.getfixturevalue(who), level, checklist=ALL_CHECKS)


def test_the_final_reviewer_is_not_the_office_drafter(sections, office_user, office2, director):
    office_section = sections["office"]
    item = submit(create(office_user, office_section), office_user)
    item = review(item, office2, FIRST)  # a colleague in the office section
    item = review(item, director, SECOND)
    third = make_user("office3", role=Role.OFFICE, section=office_section)
    with pytest.raises(PermissionDenied, match="提交人、初审人以外"):
        review(item, office_user, FINAL, checklist=ALL_CHECKS)
    with pytest.raises(PermissionDenied, match="提交人、初审人以外"):
        review(item, office2, FINAL, checklist=ALL_CHECKS)
    assert review(item, third, FINAL, checklist=ALL_CHECKS).state == PublicationState.APPROVED


def test_a_lone_office_may_do_the_final_review_of_its_own_item(sections, office_user, director):
    item = submit(create(office_user, sections["office"]), office_user)
    item = review(item, office_user, FIRST)  # nobody else in the office section either
    item = review(item, director, SECOND)
    assert review(item, office_user, FINAL, checklist=ALL_CHECKS).state == PublicationState.APPROVED


def test_only_the_section_and_the_office_draft(
    sections, lead_user, resp_user, director, readonly_user, office_user
):
    for user in (resp_user, director, readonly_user):
        with pytest.raises(PermissionDenied):
            create(user, sections["lead"])
    assert create(office_user, sections["lead"]).created_by == office_user


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"title": " "}, "title"),
        ({"column": "weibo"}, "column"),
        ({"body": ""}, "body"),
        ({"formed_on": dt.date(2023, 9, 27)}, "formed_on"),
    ],
)
@time_machine.travel(at(2023, 9, 26), tick=False)
def test_drafts_are_validated(sections, lead_user, fields, error_field):
    with pytest.raises(ValidationError) as exc:
        create(lead_user, sections["lead"], **fields)
    assert error_field in exc.value.message_dict


def test_a_task_must_belong_to_the_section(sections, lead_user, task):
    assert create(lead_user, sections["lead"], task=task).task == task
    with pytest.raises(ValidationError, match="不是农业股承担的任务"):
        create(make_user(role=Role.SECTION, section=sections["other"]), sections["other"], task=task)


def test_attachments_are_checked_like_evidence(sections, lead_user):
    fake = SimpleUploadedFile("公报.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    with pytest.raises(ValidationError) as exc:
        create(lead_user, sections["lead"], body="", attachment=fake)
    assert "attachment" in exc.value.message_dict
    good = SimpleUploadedFile("公报.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    item = create(lead_user, sections["lead"], body="", attachment=good)
    assert item.attachment_name == "公报.pdf" and item.attachment_type == "application/pdf"
    assert len(item.attachment_sha256) == 64 and not item.attachment.name.endswith("公报.pdf")


def test_a_never_submitted_draft_can_be_deleted(sections, lead_user, lead2):
    item = create(lead_user, sections["lead"])
    pub.publication_delete(item=item, user=lead_user, expected_version=item.version)
    assert not PublicationItem.objects.filter(pk=item.pk).exists()
    assert AuditEntry.objects.filter(action="publication.delete", object_id=str(item.pk)).exists()
    returned = review(submit(create(lead_user, sections["lead"]), lead_user), lead2, FIRST, RETURN, "重写")
    with pytest.raises(ValidationError, match="不能删除"):
        pub.publication_delete(item=returned, user=lead_user, expected_version=returned.version)


# ---- optimistic lock -----------------------------------------------------------------------------------


def test_two_reviewers_on_the_same_version_conflict(sections, lead_user, lead2, office_user):
    colleague = make_user("lead3", role=Role.SECTION, section=sections["lead"])
    item = submit(create(lead_user, sections["lead"]), lead_user)
    opened = item.version
    review(item, lead2, FIRST, RETURN, "请补充")
    with pytest.raises(pub.PublicationConflict) as exc:
        pub.publication_review(item=item, level=FIRST, decision=PASS, user=colleague, expected_version=opened)
    assert exc.value.current.state == PublicationState.DRAFT
    assert exc.value.mine["decision"] == PASS
    assert item.steps.filter(level=FIRST).count() == 1


def test_a_stale_edit_conflicts_and_keeps_both_texts(sections, lead_user, office_user):
    item = create(lead_user, sections["lead"])
    common = {"title": item.title, "column": item.column, "formed_on": item.formed_on}
    pub.publication_update(item=item, body="办公室改的", user=office_user, expected_version=1, **common)
    with pytest.raises(pub.PublicationConflict) as exc:
        pub.publication_update(item=item, body="股室改的", user=lead_user, expected_version=1, **common)
    assert exc.value.current.body == "办公室改的" and exc.value.mine["body"] == "股室改的"
    assert PublicationItem.objects.get(pk=item.pk).version == 2


def test_a_review_after_the_state_moved_on_is_a_conflict(sections, lead_user, lead2, director):
    item = review(submit(create(lead_user, sections["lead"]), lead_user), lead2, FIRST)
    with pytest.raises(pub.PublicationConflict):
        pub.publication_review(
            item=item, level=FIRST, decision=PASS, user=lead2, expected_version=item.version
        )


# ---- publication record --------------------------------------------------------------------------------


@pytest.fixture
def approved(sections, lead_user, lead2, director, office_user):
    with time_machine.travel(at(2023, 10, 9), tick=False):
        return approve(create(lead_user, sections["lead"]), drafter=lead_user, first=lead2, director=director,
                       office=office_user)  # fmt: skip


@pytest.mark.parametrize(
    ("url", "on", "field", "text"),
    [
        ("ftp://x.gov.cn/a", dt.date(2023, 10, 10), "publish_url", "http"),
        ("https://x.gov.cn/a", None, "published_on", "发布日期"),
        ("https://x.gov.cn/a", dt.date(2023, 10, 31), "published_on", "晚于今天"),
        ("https://x.gov.cn/a", dt.date(2023, 10, 8), "published_on", "先审后发"),
        ("https://x.gov.cn/a", dt.date(2023, 9, 20), "published_on", "早于信息形成日期"),
    ],
)
def test_publication_records_are_checked(approved, office_user, url, on, field, text):
    with time_machine.travel(at(2023, 10, 20), tick=False), pytest.raises(ValidationError) as exc:
        pub.publication_publish(
            item=approved,
            publish_url=url,
            published_on=on,
            user=office_user,
            expected_version=approved.version,
        )
    assert text in str(exc.value.message_dict[field])


def test_only_the_office_records_publication_and_may_correct_it(approved, director, office_user):
    with pytest.raises(PermissionDenied):
        publish(approved, director, dt.date(2023, 10, 10))
    with time_machine.travel(at(2023, 10, 20), tick=False):
        item = publish(approved, office_user, dt.date(2023, 10, 10))
        item = publish(item, office_user, dt.date(2023, 10, 11), url="https://www.zhangshu.gov.cn/a/2.html")
    assert (item.published_on, item.publish_url) == (
        dt.date(2023, 10, 11),
        "https://www.zhangshu.gov.cn/a/2.html",
    )
    comments = list(item.steps.filter(level="publish").values_list("comment", flat=True))
    assert comments[1].startswith("更正：")


def test_a_draft_cannot_be_published(sections, lead_user, office_user):
    item = create(lead_user, sections["lead"])
    with time_machine.travel(at(2023, 10, 20), tick=False), pytest.raises(pub.PublicationConflict):
        publish(item, office_user, dt.date(2023, 10, 10))


# ---- the 20-working-day window on stored items ---------------------------------------------------------


def test_days_left_and_the_late_flag_across_national_day(sections, lead_user, lead2, director, office_user):
    with time_machine.travel(at(2023, 9, 26), tick=False):
        item = create(lead_user, sections["lead"])
    cal = WorkdayCalendar()
    assert item.due_on == dt.date(2023, 10, 27)
    # On 9 October: 10–13, 16–20 and 23–27 October are left.
    assert deadline_of(item, cal=cal, today=dt.date(2023, 10, 9)) == Deadline(item.due_on, 14, False)
    assert deadline_of(item, cal=cal, today=dt.date(2023, 10, 27)).text == "今日截止"
    late = deadline_of(item, cal=cal, today=dt.date(2023, 10, 30))
    assert (late.workdays_left, late.late, late.text) == (-1, True, "逾期1个工作日")
    assert set(PublicationItem.objects.late(on=dt.date(2023, 10, 30))) == {item}
    assert not PublicationItem.objects.late(on=dt.date(2023, 10, 27)).exists()

    with time_machine.travel(at(2023, 10, 30), tick=False):
        item = approve(item, drafter=lead_user, first=lead2, director=director, office=office_user)
        item = publish(item, office_user, dt.date(2023, 10, 30))
    assert item.is_late(today=dt.date(2023, 10, 30))
    assert deadline_of(item, cal=cal, today=dt.date(2024, 1, 1)).text == "逾期发布"


def test_office_holiday_entries_move_the_window(sections, lead_user):
    HolidayOverride.objects.create(date=dt.date(2023, 10, 9), is_workday=False)  # a local day off
    with time_machine.travel(at(2023, 9, 26), tick=False):
        item = create(lead_user, sections["lead"])
    assert item.due_on == dt.date(2023, 10, 30)


# ---- approval card -------------------------------------------------------------------------------------


def docx_text(payload: bytes) -> str:
    doc = Document(io.BytesIO(payload))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def test_the_approval_card_lists_every_step_with_name_and_time(
    sections, lead_user, lead2, director, office_user
):
    lead_user.last_name, lead_user.first_name = "张", "三"
    lead_user.save()
    director.last_name, director.first_name = "赵", "局长"
    director.save()
    with time_machine.travel(at(2023, 9, 26, 10), tick=False):
        item = submit(create(lead_user, sections["lead"]), lead_user)
    with time_machine.travel(at(2023, 9, 27, 15), tick=False):
        item = review(item, lead2, FIRST, RETURN, "口径不一致")
    with time_machine.travel(at(2023, 10, 9, 11), tick=False):
        item = approve(item, drafter=lead_user, first=lead2, director=director, office=office_user)
        item = publish(item, office_user, dt.date(2023, 10, 9))
    text = docx_text(
        build_approval_card(item, list(item.steps.order_by("at", "pk")), unit_name="樟树市统计局")
    )
    assert "樟树市统计局上网信息审批卡" in text
    for expected in (item.title, "统计数据", "综合股", "2023年9月25日", "2023年10月27日"):
        assert expected in text
    for name in ("张三", "李二", "赵局长", "office"):
        assert name in text
    for when in ("2023年9月26日 10:00", "2023年9月27日 15:00", "2023年10月9日 11:00"):
        assert when in text
    assert "第1轮 初审（承办股室）" in text and "退回修改" in text and "口径不一致" in text
    assert "第2轮 终审（办公室）" in text
    for _key, label in CONFIDENTIALITY_ITEMS:
        assert label in text
    assert "☑ 已确认" in text and "☐" not in text
    assert "https://www.zhangshu.gov.cn/art/2023/10/9/1.html" in text and "2023年10月9日" in text


def test_the_card_of_an_unsubmitted_draft_says_so(sections, lead_user):
    item = create(lead_user, sections["lead"])
    text = docx_text(build_approval_card(item, []))
    assert "尚未提交送审" in text and "尚未发布" in text and "☐ 未确认" in text
