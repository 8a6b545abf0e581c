"""通报整改页面（workplan/views_notices.py、views_rectification.py、views_interviews.py、
scoring/views_triggers.py）：每个页面 × 每个角色的权限矩阵（404/403/405、匿名跳登录），
起草 → 修改 → 印发 → 答复 → 退回 → 再答复 → 销号的整页流程，409 冲突页，
上级通报登记、约谈与后续事项、导出、材料下载、列表查询数、导航。
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import make_section
from tests.workplan.test_notices import DEADLINE, answer, draft, issue, verify
from tests.workplan.test_uploads import make_pdf
from workplan import interviews, notices, rectification
from workplan import urls as workplan_urls
from workplan.models import (
    AuditEntry,
    CriticismNotice,
    Interview,
    NoticeStatus,
    RectificationItem,
    RectificationStatus,
)
from workplan.notices import UnitEntry

PERSONAS = ("office", "director", "lead", "resp", "outsider", "readonly")


@dataclass(frozen=True)
class World:
    issued: int
    draft: int
    item: int
    interview: int


@pytest.fixture
def world(office_user, lead_user, sections) -> World:
    """已印发的通报点名综合股（lead、readonly 所在股室），综合股已答复并上传了材料；另有一份草稿；
    一次约谈综合股的记录。法规股（resp）、农业股（outsider）都没有被点名。"""
    issued = issue(office_user, draft(office_user, [UnitEntry(sections["lead"], "任务逾期")]))
    item = RectificationItem.objects.get(notice=issued)
    answer(lead_user, item)
    pending = draft(office_user, [sections["lead"]], title="草稿通报")
    interview = interviews.interview_create(
        user=office_user,
        held_on=datetime.date(2023, 10, 9),
        sections=[sections["lead"]],
        interviewer="李局长",
        subject="任务逾期约谈",
    )
    return World(issued.pk, pending.pk, item.pk, interview.pk)


ARGS = {
    None: lambda w: [],
    "issued": lambda w: [w.issued],
    "draft": lambda w: [w.draft],
    "item": lambda w: [w.item],
    "interview": lambda w: [w.interview],
}
DENY = (403, 403, 403, 403, 403)

# fmt: off
MATRIX: list[tuple[str, str, str | None, tuple[int, ...]]] = [
    # url name               method  args        office director lead resp outsider readonly
    ("notice_list",          "get",  None,       (200,  200,     200, 200, 200,     200)),
    ("notice_list",          "post", None,       (405,  405,     405, 405, 405,     405)),
    ("notice_create",        "get",  None,       (200,  *DENY)),
    ("notice_create",        "post", None,       (200,  *DENY)),
    ("notice_receive",       "get",  None,       (200,  *DENY)),
    ("notice_receive",       "post", None,       (200,  *DENY)),
    ("notice_detail",        "get",  "issued",   (200,  200,     200, 404, 404,     200)),
    ("notice_detail",        "get",  "draft",    (200,  200,     404, 404, 404,     404)),
    ("notice_detail",        "post", "issued",   (405,  405,     405, 405, 405,     405)),
    ("notice_edit",          "get",  "draft",    (200,  403,     404, 404, 404,     404)),
    ("notice_edit",          "post", "draft",    (200,  403,     404, 404, 404,     404)),
    ("notice_edit",          "get",  "issued",   (302,  403,     403, 404, 404,     403)),
    ("notice_edit",          "post", "issued",   (200,  403,     403, 404, 404,     403)),
    ("notice_issue",         "get",  "draft",    (405,  405,     405, 405, 405,     405)),
    ("notice_issue",         "post", "draft",    (302,  403,     404, 404, 404,     404)),
    ("notice_issue",         "post", "issued",   (302,  403,     403, 404, 404,     403)),
    ("notice_discard",       "get",  "draft",    (405,  405,     405, 405, 405,     405)),
    ("notice_discard",       "post", "draft",    (302,  403,     404, 404, 404,     404)),
    ("rectification_list",   "get",  None,       (200,  200,     200, 200, 200,     200)),
    ("rectification_list",   "post", None,       (405,  405,     405, 405, 405,     405)),
    ("rectification_detail", "get",  "item",     (200,  200,     200, 404, 404,     200)),
    ("rectification_detail", "post", "item",     (405,  405,     405, 405, 405,     405)),
    ("rectification_answer", "get",  "item",     (405,  405,     405, 405, 405,     405)),
    ("rectification_answer", "post", "item",     (403,  403,     200, 404, 404,     403)),
    ("rectification_verify", "get",  "item",     (405,  405,     405, 405, 405,     405)),
    ("rectification_verify", "post", "item",     (200,  403,     403, 404, 404,     403)),
    ("rectification_file",   "get",  "item",     (200,  200,     200, 404, 404,     200)),
    ("rectification_file",   "post", "item",     (405,  405,     405, 405, 405,     405)),
    ("interview_list",       "get",  None,       (200,  200,     403, 403, 403,     403)),
    ("interview_list",       "post", None,       (405,  405,     405, 405, 405,     405)),
    ("interview_create",     "get",  None,       (200,  *DENY)),
    ("interview_create",     "post", None,       (200,  *DENY)),
    ("interview_detail",     "get",  "interview", (200, 200,     403, 403, 403,     403)),
    ("interview_detail",     "post", "interview", (405, 405,     405, 405, 405,     405)),
    ("interview_item_add",   "get",  "interview", (405, 405,     405, 405, 405,     405)),
    ("interview_item_add",   "post", "interview", (200, *DENY)),
    ("notice_triggers",      "get",  None,       (200,  *DENY)),
    ("notice_triggers",      "post", None,       (405,  *DENY)),
    ("notice_triggers_run",  "get",  None,       (405,  *DENY)),
    ("notice_triggers_run",  "post", None,       (302,  *DENY)),
]
# fmt: on


def _cases() -> list[Any]:
    return [
        pytest.param(name, method, args, persona, status, id=f"{name}-{method}-{args}-{persona}")
        for name, method, args, expected in MATRIX
        for persona, status in zip(PERSONAS, expected, strict=True)
    ]


def _send(client, method: str, url: str):  # type: ignore[no-untyped-def]
    return client.get(url) if method == "get" else client.post(url, {})


@pytest.mark.parametrize(("name", "method", "args", "persona", "status"), _cases())
def test_persona_gets_expected_status(request, world, name, method, args, persona, status):
    client = request.getfixturevalue(f"as_{persona}")
    response = _send(client, method, reverse(name, args=ARGS[args](world)))
    assert response.status_code == status, f"{persona} {method.upper()} {name}"


@pytest.mark.parametrize(
    ("name", "method", "args"), sorted({(n, m, a or "") for n, m, a, _e in MATRIX}), ids=lambda v: str(v)
)
def test_anonymous_is_sent_to_login(client, world, name, method, args):
    response = _send(client, method, reverse(name, args=ARGS[args or None](world)))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_every_notice_page_is_in_the_matrix():
    names = {p.name for p in workplan_urls.urlpatterns if p.name}
    ours = {n for n in names if n.startswith(("notice_", "rectification_", "interview_"))}
    ours |= {"notice_triggers", "notice_triggers_run"}
    assert ours - {name for name, *_rest in MATRIX} == set()


def test_denied_writes_leave_no_trace(world, as_director, as_readonly, as_outsider, as_lead, sections):
    before = list(CriticismNotice.objects.order_by("pk").values_list("status", "version", "number"))
    items = list(RectificationItem.objects.order_by("pk").values_list("status", "version"))
    for client in (as_director, as_readonly, as_outsider, as_lead):
        client.post(reverse("notice_issue", args=[world.draft]), {"version": 1})
        client.post(reverse("notice_discard", args=[world.draft]), {"version": 1})
        client.post(reverse("rectification_verify", args=[world.item]), {"version": 2, "decision": "close"})
        client.post(reverse("interview_item_add", args=[world.interview]), {"section": sections["lead"].pk})
        client.post(reverse("notice_triggers_run"), {"year": 2023, "quarter": 3})
    assert list(CriticismNotice.objects.order_by("pk").values_list("status", "version", "number")) == before
    assert list(RectificationItem.objects.order_by("pk").values_list("status", "version")) == items


# ---- the whole flow through the pages ---------------------------------------------------------------------


def notice_post(units=(), **fields) -> dict[str, Any]:
    data: dict[str, Any] = {
        "year": 2023,
        "quarter": 3,
        "period_label": "2023年第三季度",
        "title": "关于2023年第三季度政务公开工作情况的通报",
        "recipients": "局机关各股室",
        "problems": "个别股室任务逾期。",
        "handling_opinion": "对综合股予以通报批评。",
        "requirements": "限期整改。",
        "rectification_deadline": "2023-11-30",
        "contact": "",
        "cc": "",
        "version": "",
    }
    data.update(fields)
    rows = max(3, len(units))
    data.update(
        {
            "units-TOTAL_FORMS": rows,
            "units-INITIAL_FORMS": 0,
            "units-MIN_NUM_FORMS": 0,
            "units-MAX_NUM_FORMS": 60,
        }
    )
    for i, (section, problems) in enumerate(units):
        data[f"units-{i}-section"] = section.pk
        data[f"units-{i}-problems"] = problems
    return data


def test_office_drafts_edits_and_issues_and_the_section_rectifies(as_office, as_lead, as_resp, sections):
    lead, resp = sections["lead"], sections["resp"]
    response = as_office.post(reverse("notice_create"), notice_post([(lead, "逾期两项")]))
    notice = CriticismNotice.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("notice_detail", args=[notice.pk])
    page = as_office.get(reverse("notice_detail", args=[notice.pk])).content.decode()
    assert "草稿未编号" in page and "逾期两项" in page and reverse("notice_issue", args=[notice.pk]) in page

    response = as_office.post(
        reverse("notice_edit", args=[notice.pk]),
        notice_post([(lead, "逾期两项"), (resp, "报送退回")], version=1, contact="王五 0795-7300000"),
    )
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.version == 2 and notice.contact == "王五 0795-7300000"

    response = as_office.post(reverse("notice_issue", args=[notice.pk]), {"version": 2}, follow=True)
    assert "已印发：统通〔2023〕1号" in response.content.decode()
    assert '<strong id="doc-number">统通〔2023〕1号</strong>' in response.content.decode()

    # The sections see their own notice and item only.
    item = RectificationItem.objects.get(notice=notice, section=lead)
    mine = as_lead.get(reverse("rectification_list")).content.decode()
    assert "我的整改" in mine and reverse("rectification_detail", args=[item.pk]) in mine
    other = RectificationItem.objects.get(notice=notice, section=resp)
    assert reverse("rectification_detail", args=[other.pk]) not in mine
    assert as_resp.get(reverse("rectification_detail", args=[item.pk])).status_code == 404

    upload = SimpleUploadedFile("整改报告.pdf", make_pdf())
    response = as_lead.post(
        reverse("rectification_answer", args=[item.pk]), {"version": 1, "response": "已补发", "file": upload}
    )
    assert response.status_code == 302
    response = as_office.post(
        reverse("rectification_verify", args=[item.pk]),
        {"version": 2, "decision": "return", "comment": "缺材料"},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.return_count) == (RectificationStatus.RETURNED, 1)
    page = as_lead.get(reverse("rectification_detail", args=[item.pk])).content.decode()
    assert "缺材料" in page and "重新答复" in page
    as_lead.post(
        reverse("rectification_answer", args=[item.pk]),
        {"version": 3, "response": "已补充", "link": "https://www.zhangshu.gov.cn/a.html"},
    )
    as_office.post(reverse("rectification_verify", args=[item.pk]), {"version": 4, "decision": "close"})
    item.refresh_from_db()
    assert item.status == RectificationStatus.CLOSED
    download = as_lead.get(reverse("rectification_file", args=[item.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF-")
    assert "attachment" in download["Content-Disposition"]
    assert AuditEntry.objects.filter(action__startswith="rectification.").count() == 4


@pytest.mark.parametrize("initial_rows", [0, 1])
def test_an_unchanged_row_is_kept_when_editing(as_office, office_user, sections, initial_rows):
    """浏览器提交的修改表单：第一行是原有的股室（未改动），第二行新加一个股室。"""
    notice = draft(office_user, [UnitEntry(sections["lead"], "原问题")])
    data = notice_post([(sections["lead"], "原问题"), (sections["resp"], "新问题")], version=1)
    data["units-INITIAL_FORMS"] = initial_rows
    assert as_office.post(reverse("notice_edit", args=[notice.pk]), data).status_code == 302
    assert [(u.section.name, u.problems) for u in notices.notice_units(notice)] == [
        ("综合股", "原问题"),
        ("法规股", "新问题"),
    ]


def test_a_stale_edit_gets_409_and_keeps_what_was_typed(as_office, office_user, sections):
    notice = draft(office_user, [sections["lead"]])
    notices.notice_update(
        notice=notice,
        user=office_user,
        expected_version=1,
        fields={"year": 2023, "title": "别人改的标题"},
        units=[],
    )
    response = as_office.post(
        reverse("notice_edit", args=[notice.pk]),
        notice_post([(sections["lead"], "x")], title="我的标题", version=1),
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "别人改的标题" in page and 'value="我的标题"' in page
    assert 'name="version" value="2"' in page
    assert CriticismNotice.objects.get(pk=notice.pk).title == "别人改的标题"


def test_editing_an_issued_notice_is_refused(as_office, office_user, world):
    response = as_office.post(reverse("notice_edit", args=[world.issued]), notice_post(version=2, title="改"))
    assert response.status_code == 409 and "已印发，不能再修改" in response.content.decode()
    response = as_office.get(reverse("notice_edit", args=[world.issued]))
    assert response["Location"] == reverse("notice_detail", args=[world.issued])
    assert CriticismNotice.objects.get(pk=world.issued).title.startswith("关于2023年第三季度")


def test_a_stale_issue_gets_409(as_office, office_user, sections):
    notice = draft(office_user, [sections["lead"]])
    notices.notice_update(
        notice=notice,
        user=office_user,
        expected_version=1,
        fields={"year": 2023, "title": "t", "rectification_deadline": DEADLINE},
        units=[UnitEntry(sections["lead"])],
    )
    response = as_office.post(reverse("notice_issue", args=[notice.pk]), {"version": 1})
    assert response.status_code == 409 and "第 2 版" in response.content.decode()
    assert CriticismNotice.objects.get(pk=notice.pk).status == NoticeStatus.DRAFT


def test_issuing_without_a_deadline_shows_the_reason(as_office, office_user, sections):
    notice = draft(office_user, [sections["lead"]], rectification_deadline=None)
    response = as_office.post(reverse("notice_issue", args=[notice.pk]), {"version": 1}, follow=True)
    assert "请填写整改期限" in response.content.decode()


def test_discarding_a_draft(as_office, world):
    response = as_office.post(reverse("notice_discard", args=[world.draft]), {"version": 1, "reason": "重复"})
    assert response.status_code == 302
    assert CriticismNotice.objects.get(pk=world.draft).status == NoticeStatus.DISCARDED


def test_a_stale_answer_gets_409_and_keeps_the_text(as_lead, world):
    response = as_lead.post(
        reverse("rectification_answer", args=[world.item]), {"version": 1, "response": "第二稿"}
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "第二稿" in page and "待核验" in page


def test_a_stale_verification_gets_409(as_office, office_user, lead_user, world):
    item = RectificationItem.objects.get(pk=world.item)
    verify(office_user, item, rectification.RETURN, "先退回")
    response = as_office.post(
        reverse("rectification_verify", args=[world.item]), {"version": 2, "decision": "close"}
    )
    assert response.status_code == 409
    assert RectificationItem.objects.get(pk=world.item).status == RectificationStatus.RETURNED


def test_a_bad_file_is_refused_on_the_page(as_lead, office_user, sections):
    notice = issue(office_user, draft(office_user, [sections["lead"]]))
    item = RectificationItem.objects.get(notice=notice)
    fake = SimpleUploadedFile("报告.pdf", b"MZ\x90\x00 this is a program")
    response = as_lead.post(
        reverse("rectification_answer", args=[item.pk]), {"version": 1, "response": "x", "file": fake}
    )
    assert response.status_code == 200 and "文件内容与扩展名" in response.content.decode()
    assert RectificationItem.objects.get(pk=item.pk).status == RectificationStatus.OPEN


def test_the_office_records_a_county_notice(as_office, sections):
    data = notice_post(
        [(sections["lead"], "栏目更新不及时")],
        issuer_level="county",
        issuer_name="樟树市人民政府办公室",
        doc_number="樟府办字〔2023〕12号",
        title="关于全市政务公开第三方评估情况的通报",
        received_on="2023-08-20",
        rectification_deadline="2023-09-30",
    )
    response = as_office.post(reverse("notice_receive"), data)
    notice = CriticismNotice.objects.get()
    assert response.status_code == 302
    assert (notice.issuer_level, notice.status, notice.number) == ("county", NoticeStatus.ISSUED, None)
    assert notice.items.get().section == sections["lead"]


def test_interviews_and_their_follow_up_items(as_office, as_lead, as_director, world, sections):
    response = as_office.post(
        reverse("interview_create"),
        {
            "held_on": "2023-10-10",
            "sections": [sections["lead"].pk, sections["resp"].pk],
            "interviewer": "李局长",
            "participants": "两位股长",
            "subject": "连续低分约谈",
            "agreed": "一个月内整改",
            "notice": world.issued,
        },
    )
    interview = Interview.objects.get(subject="连续低分约谈")
    assert response["Location"] == reverse("interview_detail", args=[interview.pk])
    response = as_office.post(
        reverse("interview_item_add", args=[interview.pk]),
        {"section": sections["resp"].pk, "description": "建立审查台账", "deadline": "2023-11-10"},
    )
    assert response.status_code == 302
    item = interview.items.get()
    page = as_director.get(reverse("interview_detail", args=[interview.pk])).content.decode()
    assert "建立审查台账" in page and "添加整改事项" not in page
    listing = as_director.get(reverse("interview_list")).content.decode()
    assert "连续低分约谈" in listing and "记录约谈" not in listing
    # A section not interviewed cannot be given a follow-up item.
    response = as_office.post(
        reverse("interview_item_add", args=[interview.pk]),
        {"section": sections["other"].pk, "description": "x", "deadline": "2023-11-10"},
    )
    assert response.status_code == 200 and interview.items.count() == 1
    assert item.section == sections["resp"]


def test_overdue_open_items_are_flagged_for_the_office(as_office, world, time_machine):
    time_machine.move_to(datetime.datetime(2023, 12, 5, 9, tzinfo=datetime.UTC))
    page = as_office.get(reverse("rectification_list")).content.decode()
    assert "逾期未销号 1 项" in page and "已逾期" in page
    filtered = as_office.get(reverse("rectification_list") + "?overdue=yes").content.decode()
    assert reverse("rectification_detail", args=[world.item]) in filtered
    not_overdue = as_office.get(reverse("rectification_list") + "?overdue=no").content.decode()
    assert reverse("rectification_detail", args=[world.item]) not in not_overdue


def test_notice_list_filters_and_exports(as_office, world):
    page = as_office.get(reverse("notice_list") + "?status=draft").content.decode()
    assert "草稿通报" in page and "统通〔2023〕1号" not in page
    response = as_office.get(reverse("notice_list") + "?status=issued&_export=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["年度", "级别", "文号"]
    assert [r[2] for r in rows[1:]] == ["统通〔2023〕1号"] and rows[1][6] == "综合股"
    response = as_office.get(reverse("notice_list") + "?_export=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 3


def test_rectification_export_has_the_sections_own_items_only(as_resp, as_lead, world):
    rows = list(
        csv.reader(
            io.StringIO(
                as_lead.get(reverse("rectification_list") + "?_export=csv").content.decode("utf-8-sig")
            )
        )
    )
    assert rows[0][:5] == ["来源", "责任股室", "整改内容", "整改期限", "状态"]
    assert [(r[0], r[1], r[4]) for r in rows[1:]] == [("统通〔2023〕1号", "综合股", "待核验")]
    rows = list(
        csv.reader(
            io.StringIO(
                as_resp.get(reverse("rectification_list") + "?_export=csv").content.decode("utf-8-sig")
            )
        )
    )
    assert rows[1:] == []


def test_the_word_link_is_shown_to_the_office_and_director_only(as_office, as_director, as_lead, world):
    link = reverse("notice_docx", args=[world.issued])
    assert link in as_office.get(reverse("notice_detail", args=[world.issued])).content.decode()
    assert link in as_director.get(reverse("notice_detail", args=[world.issued])).content.decode()
    assert link not in as_lead.get(reverse("notice_detail", args=[world.issued])).content.decode()


@pytest.mark.parametrize(
    ("persona", "shown", "hidden"),
    [
        ("office", ["通报整改", "约谈记录"], []),
        ("director", ["通报整改", "约谈记录"], []),
        ("lead", ["通报整改"], ["约谈记录"]),
        ("readonly", ["通报整改"], ["约谈记录"]),
    ],
)
def test_navigation(request, persona, shown, hidden):
    page = request.getfixturevalue(f"as_{persona}").get(reverse("home")).content.decode()
    nav = page[page.index('aria-label="主导航"') : page.index("</nav>")]
    assert all(f">{label}</a>" in nav for label in shown)
    assert not any(f">{label}</a>" in nav for label in hidden)


# ---- query counts ------------------------------------------------------------------------------------------


def _bulk(office_user, lead_user, sections, n):
    extra = [make_section() for _ in range(3)]
    for i in range(n):
        units = [UnitEntry(sections["lead"], f"问题{i}"), UnitEntry(extra[i % 3], "x")]
        notice = issue(office_user, draft(office_user, units))
        if i % 2:
            answer(lead_user, RectificationItem.objects.get(notice=notice, section=sections["lead"]))


NOTICE_LIST_QUERIES = 7  # session, user, unread badge, count, notices, units with sections, …
RECTIFICATION_LIST_QUERIES = 8  # session, user, unread badge, count, items with sources, overdue count


@pytest.mark.parametrize("n", [2, 25])
def test_list_queries_do_not_grow(
    as_office, as_lead, office_user, lead_user, sections, n, django_assert_max_num_queries
):
    _bulk(office_user, lead_user, sections, n)
    for client in (as_office, as_lead):
        with django_assert_max_num_queries(NOTICE_LIST_QUERIES):
            assert client.get(reverse("notice_list")).status_code == 200
        with django_assert_max_num_queries(NOTICE_LIST_QUERIES):
            assert client.get(reverse("notice_list") + "?_export=csv").status_code == 200
        with django_assert_max_num_queries(RECTIFICATION_LIST_QUERIES):
            assert client.get(reverse("rectification_list")).status_code == 200
        with django_assert_max_num_queries(RECTIFICATION_LIST_QUERIES):
            assert client.get(reverse("rectification_list") + "?_export=xlsx").status_code == 200
