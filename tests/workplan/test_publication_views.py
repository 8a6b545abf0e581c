"""发布信息登记台账的页面：权限矩阵（每个页面 × 每个角色，含 404/403/405）、页面上的三审流程、409 冲突、
台账筛选与导出、查询次数（10 条与 500 条相同）、审批卡与移交清单下载、导航。"""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from docx import Document

from tests.conftest import login
from tests.factories import make_user
from workplan.models import (
    CONFIDENTIALITY_ITEMS,
    AuditEntry,
    PublicationColumn,
    PublicationItem,
    PublicationState,
    Role,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERSONAS = ("office", "director", "lead", "resp", "outsider", "readonly")
ALL_CHECKS = [key for key, _label in CONFIDENTIALITY_ITEMS]
_ = None


def at(y: int, m: int, d: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(y, m, d, hour, 0, tzinfo=SHANGHAI)


def make_item(section, **kwargs) -> PublicationItem:
    """直接建一条台账记录（列表、权限测试用；流程本身走页面或服务）。"""
    defaults = {
        "title": "2023年前三季度全市经济运行情况",
        "column": PublicationColumn.STATISTICS,
        "body": "前三季度……",
        "formed_on": dt.date(2023, 9, 25),
        "due_on": dt.date(2023, 10, 27),
    }
    return PublicationItem.objects.create(section=section, **{**defaults, **kwargs})


@pytest.fixture
def item(sections, lead_user) -> PublicationItem:
    """综合股的一条拟稿，带附件。"""
    item = make_item(
        sections["lead"], created_by=lead_user, attachment_name="公报.pdf", attachment_type="application/pdf"
    )
    item.attachment.save("pub-view.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
    return item


@pytest.fixture
def lead2(sections):
    return make_user("lead2", role=Role.SECTION, section=sections["lead"], last_name="李", first_name="二")


@pytest.fixture
def clients(as_office, as_director, as_lead, as_resp, as_outsider, as_readonly):
    return dict(
        zip(PERSONAS, (as_office, as_director, as_lead, as_resp, as_outsider, as_readonly), strict=True)
    )


# ---- permission matrix ---------------------------------------------------------------------------------

# fmt: off
MATRIX: list[tuple[str, str, str | None, tuple[int | None, ...]]] = [
    # url name                 method  args       office director lead resp outsider readonly
    ("publication_list",       "get",  None,      (200,  200,     200, 200, 200,     200)),
    ("publication_list",       "post", None,      (405,  405,     405, 405, 405,     405)),
    ("publication_create",     "get",  None,      (200,  403,     200, 200, 200,     403)),
    ("publication_create",     "post", None,      (200,  403,     200, 200, 200,     403)),
    ("publication_archive",    "get",  None,      (200,  200,     403, 403, 403,     403)),
    ("publication_archive",    "post", None,      (405,  405,     405, 405, 405,     405)),
    ("publication_queue",      "get",  "first",   (200,  403,     200, 200, 200,     403)),
    ("publication_queue",      "get",  "second",  (403,  200,     403, 403, 403,     403)),
    ("publication_queue",      "get",  "final",   (200,  403,     403, 403, 403,     403)),
    ("publication_queue",      "get",  "fourth",  (404,  404,     404, 404, 404,     404)),
    ("publication_queue",      "post", "first",   (405,  405,     405, 405, 405,     405)),
    ("publication_detail",     "get",  "item",    (200,  200,     200, 404, 404,     200)),
    ("publication_detail",     "post", "item",    (405,  405,     405, 405, 405,     405)),
    ("publication_edit",       "get",  "item",    (200,  403,     200, 404, 404,     403)),
    ("publication_edit",       "post", "item",    (200,  403,     200, 404, 404,     403)),
    ("publication_submit",     "get",  "item",    (405,  405,     405, 405, 405,     405)),
    ("publication_submit",     "post", "item",    (302,  403,     302, 404, 404,     403)),
    ("publication_delete",     "get",  "item",    (405,  405,     405, 405, 405,     405)),
    ("publication_delete",     "post", "item",    (302,  403,     302, 404, 404,     403)),
    ("publication_review",     "get",  "item",    (405,  405,     405, 405, 405,     405)),
    ("publication_review",     "post", "item",    (400,  400,     400, 404, 404,     403)),
    ("publication_publish",    "get",  "item",    (405,  405,     405, 405, 405,     405)),
    ("publication_publish",    "post", "item",    (400,  403,     403, 404, 404,     403)),
    ("publication_attachment", "get",  "item",    (200,  200,     200, 404, 404,     200)),
    ("publication_attachment", "post", "item",    (405,  405,     405, 405, 405,     405)),
    ("publication_card",       "get",  "item",    (200,  200,     200, 404, 404,     200)),
    ("publication_card",       "post", "item",    (405,  405,     405, 405, 405,     405)),
]
# fmt: on


def _url(name: str, args: str | None, item: PublicationItem) -> str:
    if args is None:
        return reverse(name)
    if args == "item":
        return reverse(name, args=[item.pk])
    return reverse(name, args=[args])


def _cases() -> list:
    return [
        pytest.param(name, method, args, persona, status, id=f"{name}-{method}-{args}-{persona}")
        for name, method, args, expected in MATRIX
        for persona, status in zip(PERSONAS, expected, strict=True)
        if status is not None
    ]


@pytest.mark.parametrize(("name", "method", "args", "persona", "status"), _cases())
def test_persona_gets_expected_status(clients, item, name, method, args, persona, status):
    url = _url(name, args, item)
    client = clients[persona]
    response = client.get(url) if method == "get" else client.post(url, {})
    assert response.status_code == status, f"{persona} {method.upper()} {name}"


@pytest.mark.parametrize(
    ("name", "method", "args"), sorted({(n, m, a or "") for n, m, a, _e in MATRIX}), ids=lambda v: v or "-"
)
def test_anonymous_is_sent_to_login(client, item, name, method, args):
    url = _url(name, args or None, item)
    response = client.get(url) if method == "get" else client.post(url, {})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_denied_writes_leave_no_trace(clients, item):
    before = PublicationItem.objects.values().get(pk=item.pk)
    for persona in ("director", "resp", "outsider", "readonly"):
        client = clients[persona]
        client.post(reverse("publication_submit", args=[item.pk]), {"version": item.version})
        client.post(reverse("publication_delete", args=[item.pk]), {"version": item.version})
        client.post(
            reverse("publication_edit", args=[item.pk]),
            {
                "version": item.version,
                "title": "改",
                "column": "news",
                "formed_on": "2023-09-25",
                "body": "x",
            },
        )
    assert PublicationItem.objects.values().get(pk=item.pk) == before
    assert not AuditEntry.objects.filter(action__startswith="publication.").exists()


def test_everyone_sees_the_nav_item(clients):
    for persona in PERSONAS:
        response = clients[persona].get(reverse("home"))
        assert reverse("publication_list") in response.content.decode(), persona


# ---- the flow through the pages ------------------------------------------------------------------------


def post_review(client, item, level, decision="pass", comment="", checklist=()):
    item.refresh_from_db()
    data = {"version": item.version, "level": level, "decision": decision, "comment": comment}
    if checklist:
        data["checklist"] = list(checklist)
    return client.post(reverse("publication_review", args=[item.pk]), data)


@time_machine.travel(at(2023, 10, 9), tick=False)
def test_a_section_drafts_and_the_item_passes_three_reviews(sections, as_lead, lead2, as_director, as_office):
    form = {
        "title": "国庆假期统计数据",
        "column": "news",
        "formed_on": "2023-09-28",
        "body": "正文",
        "task": "",
    }
    response = as_lead.post(reverse("publication_create"), form)
    item = PublicationItem.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "publication_detail", args=[item.pk]
    )
    assert (item.section, item.due_on) == (sections["lead"], dt.date(2023, 11, 1))

    as_lead.post(reverse("publication_submit", args=[item.pk]), {"version": item.version})
    as_lead2 = login(lead2)
    page = as_lead2.get(reverse("publication_queue", args=["first"])).content.decode()
    assert "国庆假期统计数据" in page
    # The submitter sees why they cannot review; the colleague gets the form.
    assert "提交人以外" in as_lead.get(reverse("publication_detail", args=[item.pk])).content.decode()
    assert 'id="review"' in as_lead2.get(reverse("publication_detail", args=[item.pk])).content.decode()

    response = post_review(as_lead2, item, "first", "return", "请补充数据来源")
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == PublicationState.DRAFT
    assert "请补充数据来源" in as_lead.get(reverse("publication_edit", args=[item.pk])).content.decode()

    as_lead.post(reverse("publication_submit", args=[item.pk]), {"version": item.version})
    assert post_review(as_lead2, item, "first").status_code == 302
    assert (
        "国庆假期统计数据" in as_director.get(reverse("publication_queue", args=["second"])).content.decode()
    )
    assert post_review(as_director, item, "second").status_code == 302
    response = post_review(as_office, item, "final", checklist=ALL_CHECKS[:2])
    assert response.status_code == 400 and "须确认保密审查" in response.content.decode()
    assert post_review(as_office, item, "final", checklist=ALL_CHECKS).status_code == 302
    item.refresh_from_db()
    assert item.state == PublicationState.APPROVED

    response = as_office.post(
        reverse("publication_publish", args=[item.pk]),
        {
            "version": item.version,
            "publish_url": "https://tjj.example.gov.cn/1.html",
            "published_on": "2023-10-09",
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.state, item.published_on) == (PublicationState.PUBLISHED, dt.date(2023, 10, 9))
    detail = as_lead.get(reverse("publication_detail", args=[item.pk])).content.decode()
    assert detail.count("<tr><td>") >= 7 and "李二" in detail and "按时发布" in detail


def test_a_stale_review_returns_409_and_changes_nothing(sections, lead_user, lead2, item):
    PublicationItem.objects.filter(pk=item.pk).update(
        state=PublicationState.FIRST_REVIEW, submitted_by=lead_user, review_round=1
    )
    item.refresh_from_db()
    stale = item.version
    as_lead2 = login(lead2)
    assert post_review(as_lead2, item, "first", "return", "请修改").status_code == 302
    colleague = login(make_user("lead3", role=Role.SECTION, section=sections["lead"]))
    response = colleague.post(
        reverse("publication_review", args=[item.pk]),
        {"version": stale, "level": "first", "decision": "pass", "comment": "同意"},
    )
    assert response.status_code == 409
    assert "同意" in response.content.decode()  # what the user sent is shown, not lost
    item.refresh_from_db()
    assert item.state == PublicationState.DRAFT and item.steps.count() == 1


def test_a_stale_edit_returns_409(as_lead, as_office, item):
    form = {
        "title": item.title,
        "column": "news",
        "formed_on": "2023-09-25",
        "body": "办公室改",
        "version": 1,
    }
    assert as_office.post(reverse("publication_edit", args=[item.pk]), form).status_code == 302
    response = as_lead.post(reverse("publication_edit", args=[item.pk]), {**form, "body": "股室改"})
    assert response.status_code == 409
    assert "办公室改" in response.content.decode() and "股室改" in response.content.decode()


def test_a_stale_submit_returns_409(as_lead, item):
    assert as_lead.post(reverse("publication_submit", args=[item.pk]), {"version": 1}).status_code == 302
    assert as_lead.post(reverse("publication_submit", args=[item.pk]), {"version": 1}).status_code == 409


def test_the_office_drafts_for_any_section_and_sections_only_for_their_own(sections, as_office, as_lead):
    form = {"title": "双随机抽查结果", "column": "random_inspection", "formed_on": "2023-09-25", "body": "x"}
    response = as_office.post(reverse("publication_create"), {**form, "section": sections["resp"].pk})
    assert response.status_code == 302
    assert PublicationItem.objects.get().section == sections["resp"]
    # A section user cannot pick another section: the field is not there, their own is used.
    as_lead.post(reverse("publication_create"), {**form, "section": sections["resp"].pk})
    assert PublicationItem.objects.filter(section=sections["lead"]).count() == 1


def test_a_draft_with_an_attachment_downloads_with_its_name(as_readonly, item):
    response = as_readonly.get(reverse("publication_attachment", args=[item.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]


# ---- register list -------------------------------------------------------------------------------------


@pytest.fixture
def register(sections, lead_user):
    lead, resp = sections["lead"], sections["resp"]
    published = PublicationState.PUBLISHED
    return {
        "on_time": make_item(lead, title="按时", state=published, published_on=dt.date(2023, 10, 9)),
        "late": make_item(
            lead, title="逾期发布", column="news", state=published, published_on=dt.date(2023, 12, 4)
        ),
        "pending": make_item(lead, title="待终审", state=PublicationState.FINAL_REVIEW),
        "resp": make_item(resp, title="法规股的", column="random_inspection"),
    }


def titles(response) -> list[str]:
    return [row.record.title for row in response.context["table"].page.object_list]


@time_machine.travel(at(2023, 10, 20), tick=False)
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"按时", "逾期发布", "待终审", "法规股的"}),
        ({"late": "yes"}, {"逾期发布"}),
        ({"late": "no"}, {"按时", "待终审", "法规股的"}),
        ({"column": "news"}, {"逾期发布"}),
        ({"state": "final_review"}, {"待终审"}),
        ({"year": 2023, "quarter": 4}, {"按时", "逾期发布"}),
        ({"year": 2023, "quarter": 3}, set()),
        ({"quarter": 4}, {"按时", "逾期发布"}),  # the current year
    ],
)
def test_the_register_filters(as_office, register, params, expected):
    response = as_office.get(reverse("publication_list"), params)
    assert set(titles(response)) == expected


def test_sections_see_only_their_own_items(as_lead, as_resp, register):
    assert set(titles(as_lead.get(reverse("publication_list")))) == {"按时", "逾期发布", "待终审"}
    assert titles(as_resp.get(reverse("publication_list"))) == ["法规股的"]


@time_machine.travel(at(2023, 10, 20), tick=False)
def test_the_register_shows_days_left_and_late_flags(as_office, register):
    page = as_office.get(reverse("publication_list")).content.decode()
    assert "剩余5个工作日" in page  # 20 October → 27 October
    assert '<span class="tag err">逾期发布</span>' in page and "按时发布" in page
    assert 'id="publication-summary"' in page


@time_machine.travel(at(2023, 10, 20), tick=False)
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_register_exports_the_filtered_rows(as_office, register, fmt):
    response = as_office.get(
        reverse("publication_list"), {"_export": fmt, "section": register["resp"].section_id}
    )
    assert response.status_code == 200
    if fmt == "csv":
        text = response.content.decode("utf-8-sig")
        assert text.splitlines()[0].startswith("标题,栏目,承办股室")
        assert "法规股的" in text and "按时" not in text
    else:
        rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
        assert len(rows) == 2 and rows[1][0] == "法规股的" and rows[1][5] == "剩余5个工作日"


def _bulk(section, n: int) -> None:
    states = list(PublicationState)
    PublicationItem.objects.bulk_create(
        [
            PublicationItem(
                section=section,
                title=f"信息{i}",
                column=PublicationColumn.values[i % 8],
                formed_on=dt.date(2023, 1, 1) + dt.timedelta(days=i % 300),
                due_on=dt.date(2023, 2, 1) + dt.timedelta(days=i % 300),
                state=states[i % len(states)],
                published_on=dt.date(2023, 3, 1) + dt.timedelta(days=i % 200) if i % 3 == 0 else None,
            )
            for i in range(n)
        ]
    )


def test_the_register_takes_the_same_number_of_queries_at_10_and_500_items(sections, as_office, as_lead):
    def count(client) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("publication_list"), {"late": "no"}).status_code == 200
        return len(ctx)

    _bulk(sections["lead"], 10)
    small = (count(as_office), count(as_lead))
    _bulk(sections["lead"], 490)
    assert (count(as_office), count(as_lead)) == small


# ---- downloads -----------------------------------------------------------------------------------------


def test_the_approval_card_downloads_as_docx_and_is_audited(as_lead, lead2, lead_user, item):
    response = as_lead.get(reverse("publication_card", args=[item.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml"
    )
    doc = Document(io.BytesIO(response.content))
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    assert item.title in cells and "综合股" in cells
    assert AuditEntry.objects.filter(action="publication.card", object_id=str(item.pk)).exists()


def test_the_archive_list_downloads_for_a_month(as_director, register):
    response = as_director.get(reverse("publication_archive"), {"month": "2023-10"})
    assert response.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("序号", "标题", "栏目", "股室", "发布日期", "网址")
    assert [r[:4] for r in rows[1:]] == [(1, "按时", "统计数据", "综合股")]
    assert AuditEntry.objects.filter(action="publication.archive_export").exists()


def test_a_bad_month_shows_the_form_again(as_office):
    response = as_office.get(reverse("publication_archive"), {"month": "2023-13"})
    assert response.status_code == 200 and "月份格式" in response.content.decode()
