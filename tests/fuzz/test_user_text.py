"""坏输入 · 用户文字（hypothesis）：列表页中转义，季度看板的 plotly 标签中转义，导出 xlsx/csv 时以 = + - @
开头的单元格被中和。"""

from __future__ import annotations

import csv
import datetime
import html
import io
from typing import Any

import openpyxl
import time_machine
from django.urls import reverse
from django.utils.html import escape
from hypothesis import example, given
from hypothesis import settings as budget
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from tests.factories import make_section, make_task
from tests.fuzz.support import SLOW, examples, rolled_back
from tests.scoring.test_dashboard import make_run
from tests.scoring.test_dashboard_page import chart_strings
from workplan.exporting import FORMULA_PREFIXES

PAYLOADS = st.tuples(
    st.text(alphabet="政务公开股abc 12", max_size=6),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            "<b>粗</b>",
            "<img src=x onerror=alert(1)>",
            "<a href='//evil.example'>点</a>",
            '"><svg onload=alert(1)>',
            "<br>",
        ]
    ),
    st.text(alphabet="政务公开股abc 12", max_size=6),
).map(lambda parts: "【" + "".join(parts) + "】")  # the brackets keep the page's own <br> from matching


@budget(SLOW, max_examples=examples(10))
@given(title=PAYLOADS)
def test_user_text_is_escaped_in_the_task_list(as_office, plan, sections, title):
    def page() -> str:
        make_task(plan, title=title, leads=[sections["lead"]])
        return as_office.get(reverse("task_list")).content.decode()

    content = rolled_back(page)
    assert title not in content
    assert escape(title) in content


SHANGHAI_MORNING = datetime.datetime(2023, 8, 15, 9, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@budget(SLOW, max_examples=examples(6))
@given(name=PAYLOADS)
def test_user_text_is_escaped_in_the_dashboard_chart_labels(as_director, plan, name):
    name = name[:64]

    def page() -> str:
        with time_machine.travel(SHANGHAI_MORNING, tick=False):
            evil = make_section(name, sort_order=9)
            make_task(plan, title=name, leads=[evil])
            make_run(2023, "Q3", {evil: 90})
            return as_director.get(reverse("quarter_dashboard")).content.decode()

    content = rolled_back(page)
    strings = chart_strings(content)
    # plotly renders <b>, <br>, <a href> in labels: the section name only ever appears escaped.
    assert any(html.escape(name, quote=True) in s for s in strings), name
    assert not any(name in s for s in strings)
    assert name not in content


# Any text a title can hold (NUL cannot be stored in PostgreSQL, and forms refuse it), control characters
# included: the export drops those xlsx cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE).
CELL_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)
FORMULA_TEXT = st.tuples(st.sampled_from(FORMULA_PREFIXES), CELL_TEXT).map("".join)


@budget(SLOW, max_examples=examples(12))
@given(title=FORMULA_TEXT | CELL_TEXT.filter(bool), fmt=st.sampled_from(["csv", "xlsx"]))
@example(title="统计\x1f公报", fmt="xlsx")
@example(title="\x0b=1+1", fmt="csv")
def test_export_cells_that_start_like_a_formula_are_neutralised(as_office, plan, title, fmt):
    def export() -> Any:
        make_task(plan, title=title, code="F1", position=1)
        return as_office.get(reverse("plan_export", kwargs={"pk": plan.pk, "fmt": fmt}))

    response = rolled_back(export)
    assert response.status_code == 200, title
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
        cell = next(r for r in rows[1:] if r and r[0] == "F1")[2]
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        cell = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == "F1")[2]
    kept = ILLEGAL_CHARACTERS_RE.sub("", title)
    expected = "'" + kept if kept.startswith(FORMULA_PREFIXES) else kept
    assert (cell or "") == expected, (title, cell)


def test_a_title_with_a_control_character_still_exports_to_xlsx(as_office, plan):
    make_task(plan, title="统计\x1f公报", code="C1", position=1)
    response = as_office.get(reverse("plan_export", kwargs={"pk": plan.pk, "fmt": "xlsx"}))
    assert response.status_code == 200
