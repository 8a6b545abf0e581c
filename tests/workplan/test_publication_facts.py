"""发布信息登记台账按期间的读取：考核事实（items_published、monthly_items、publications_late）、
月度移交清单 xlsx。"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scoring import engine
from scoring.engine import Kind
from scoring.facts import COMPUTED_FACTS, MANUAL_ALLOWED_COMPUTED, collect_facts
from scoring.services import manual_fact_set
from tests.workplan.test_publication import at, create
from workplan.archive_transfer import archive_transfer_dataset
from workplan.models import PublicationItem, PublicationState, Section

D = Decimal


# ---- scoring facts -------------------------------------------------------------------------------------


def publication_rules() -> engine.RuleSet:
    """读取三项发布事实的细则：每季度不少于 2 条；每月不低于 1 条（空白月另扣）；逾期每条扣 1 分。"""
    indicator = engine.Indicator("B", "信息发布", D(20))
    rules = (
        engine.Rule("B1", "B", Kind.QUANTITY, "季度发布", "items_published", target=D(2), absent_points=D(4)),
        engine.Rule(
            "B2", "B", Kind.QUANTITY, "每月发布信息", "monthly_items", target=D(1), absent_points=D(1),
            blank_points=D(2),
        ),
        engine.Rule("B3", "B", Kind.PER_OCCURRENCE, "超过20个工作日公开", "publications_late", points=D(1)),
    )  # fmt: skip
    return engine.RuleSet("pub", 1, "发布", (indicator,), rules)


def force(item: PublicationItem, **fields) -> PublicationItem:
    """直接设定状态与日期（事实测试只关心台账数据；流程本身在上面测试）。"""
    PublicationItem.objects.filter(pk=item.pk).update(**fields)
    item.refresh_from_db()
    return item


def facts_for(section: Section, period: str, today: dt.date) -> dict[str, engine.FactValue]:
    units = collect_facts(
        ruleset=publication_rules(), year=2023, period=period, sections=Section.objects.all(), today=today
    )
    return dict(next(u for u in units if u.unit == str(section.pk)).facts)


@pytest.fixture
def fourth_quarter(sections, lead_user, resp_user):
    """综合股：10月发布 2 条、12月发布 1 条（逾期发布）、1 条到年底仍未发布（逾期）；法规股：11月 1 条。"""
    lead, resp = sections["lead"], sections["resp"]
    published = PublicationState.PUBLISHED
    with time_machine.travel(at(2023, 9, 26), tick=False):
        on_time = create(lead_user, lead, title="按时1")
        late_pub = create(lead_user, lead, title="逾期发布")
    with time_machine.travel(at(2023, 11, 1), tick=False):
        october = create(lead_user, lead, title="十月2", formed_on=dt.date(2023, 10, 8))
        never = create(lead_user, lead, title="未发布", formed_on=dt.date(2023, 11, 1))
        november = create(resp_user, resp, title="法规十一月", formed_on=dt.date(2023, 11, 1))
    return {
        "on_time": force(on_time, state=published, published_on=dt.date(2023, 10, 9)),
        "late_pub": force(late_pub, state=published, published_on=dt.date(2023, 12, 4)),
        "october": force(october, state=published, published_on=dt.date(2023, 10, 31)),
        "never": never,
        "november": force(november, state=published, published_on=dt.date(2023, 11, 2)),
    }


def test_quarter_facts_count_publications_per_section(sections, fourth_quarter):
    items = fourth_quarter
    lead = facts_for(sections["lead"], "Q4", today=dt.date(2024, 1, 15))
    assert lead["items_published"] == D(3)
    assert lead["monthly_items"] == (D(2), D(0), D(1))
    # late_pub was due 27 October (late from the 28th), never was due 29 November: both late in Q4.
    assert items["never"].due_on == dt.date(2023, 11, 29)
    assert [o.ref for o in lead["publications_late"]] == [
        f"pub:{items['late_pub'].pk}",
        f"pub:{items['never'].pk}",
    ]
    notes = [o.note for o in lead["publications_late"]]
    assert notes == [
        "2023-09-25形成，应于2023-10-27前公开，2023-12-04发布",
        "2023-11-01形成，应于2023-11-29前公开，尚未发布",
    ]
    resp = facts_for(sections["resp"], "Q4", today=dt.date(2024, 1, 15))
    assert (resp["items_published"], resp["monthly_items"], len(resp["publications_late"])) == (
        D(1),
        (D(0), D(1), D(0)),
        0,
    )
    other = facts_for(sections["other"], "Q4", today=dt.date(2024, 1, 15))
    assert (other["items_published"], other["monthly_items"]) == (D(0), (D(0), D(0), D(0)))


def test_a_late_item_counts_once_in_the_period_its_lateness_began(sections, fourth_quarter):
    assert (
        facts_for(sections["lead"], "Q3", today=dt.date(2024, 1, 15))["publications_late"] == engine.NO_EVENTS
    )
    year = facts_for(sections["lead"], "年度", today=dt.date(2024, 1, 15))
    assert len(year["publications_late"]) == 2
    assert year["items_published"] == D(3)
    assert year["monthly_items"] == tuple(D(n) for n in (0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1))


def test_lateness_and_months_not_yet_reached_are_not_counted(sections, fourth_quarter):
    # On 20 November: the never-published item (due 29 November) is not late yet; December has not begun.
    lead = facts_for(sections["lead"], "Q4", today=dt.date(2023, 11, 20))
    assert [o.ref for o in lead["publications_late"]] == [f"pub:{fourth_quarter['late_pub'].pk}"]
    assert lead["monthly_items"] == (D(2), D(0))


def test_publication_facts_take_a_fixed_number_of_queries(sections, lead_user):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            facts_for(sections["lead"], "Q4", today=dt.date(2024, 1, 15))
        return len(ctx)

    small = count()
    with time_machine.travel(at(2023, 11, 1), tick=False):
        for n in range(30):
            create(lead_user, sections["lead"], title=f"信息{n}", formed_on=dt.date(2023, 10, 9))
    PublicationItem.objects.update(state=PublicationState.PUBLISHED, published_on=dt.date(2023, 12, 1))
    assert count() == small


@pytest.mark.parametrize("name", ["items_published", "monthly_items", "publications_late"])
def test_publication_facts_cannot_be_entered_manually(sections, office_user, name):
    assert name in COMPUTED_FACTS and name not in MANUAL_ALLOWED_COMPUTED
    with pytest.raises(ValidationError) as exc:
        manual_fact_set(
            section=sections["lead"],
            year=2023,
            period="Q4",
            fact=name,
            value="5",
            reason="",
            user=office_user,
        )
    assert "不能手工录入" in str(exc.value.message_dict["fact"])


# ---- archive list --------------------------------------------------------------------------------------


def test_the_archive_list_has_the_month_s_published_items(sections, fourth_quarter):
    data = archive_transfer_dataset(year=2023, month=10)
    book = openpyxl.load_workbook(io.BytesIO(data.export("xlsx")))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == ("序号", "标题", "栏目", "股室", "发布日期", "网址")
    assert [(r[0], r[1], r[2], r[3]) for r in rows[1:]] == [
        (1, "按时1", "统计数据", "综合股"),
        (2, "十月2", "统计数据", "综合股"),
    ]
    assert rows[1][4].date() == dt.date(2023, 10, 9)
    assert archive_transfer_dataset(year=2023, month=11).height == 1
    assert archive_transfer_dataset(year=2023, month=9).height == 0
