"""坏输入 · 任务表回导（hypothesis）：build_diff 读任意 csv/xlsx —— 要么整份拒收（中文说明），要么每条错误都
写明行号和原表头，且不写数据库。"""

from __future__ import annotations

import io
import json

import openpyxl
from hypothesis import event, example, given
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from tests.fuzz.support import DB, NASTY, _csv_bytes, row_counts
from workplan import spreadsheet

HEADER_CHOICES = [(c.header, *c.aliases) for c in spreadsheet.COLUMNS]
CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        NASTY + ["T0001", "T0001", "综合股、法规股", "各股室", "每季度", "2023年6月30日", "20231301", "'=1+1"]
    ),
    st.just("标" * 300),
)


@st.composite
def task_sheets(draw: st.DrawFn) -> list[list[str]]:
    """导出格式的任务表：必有「任务编号」「标题」（或其别名），其余列随机取舍、顺序打乱，单元格随机。"""
    required = [draw(st.sampled_from(choice)) for choice in HEADER_CHOICES[:1] + HEADER_CHOICES[2:3]]
    optional = [draw(st.sampled_from(choice)) for choice in HEADER_CHOICES[1:2] + HEADER_CHOICES[3:]]
    headers = draw(st.permutations(required + draw(st.lists(st.sampled_from(optional), unique=True))))
    if draw(st.integers(0, 3)) == 0:
        headers.append(draw(st.text(max_size=6)))
    rows = draw(st.lists(st.lists(CELLS, min_size=1, max_size=len(headers) + 1), min_size=1, max_size=12))
    title_rows = st.lists(st.text(alphabet="某局任务表 2023", max_size=8), max_size=2)
    preamble = draw(st.lists(title_rows, max_size=2))
    return [*preamble, headers, *rows]


def _xlsx_bytes(rows: list[list[str]]) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append([ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _check_diff(plan, filename: str, data: bytes) -> None:
    before = row_counts()
    try:
        diff, _snapshot = spreadsheet.build_diff(plan=plan, filename=filename, data=data, max_bytes=2_000_000)
    except spreadsheet.SheetFileError as exc:
        assert str(exc)
        event("整份拒收")
    else:
        event("有行级错误" if diff.errors else "无错误")
        headers = set(diff.headers.values())
        for error in diff.errors:
            assert isinstance(error["line"], int) and error["line"] >= 1, error
            assert error["column"] in headers, error
            assert error["text"].startswith(f"第{error['line']}行「{error['column']}」："), error
        json.dumps(diff.as_json(), ensure_ascii=False)
    assert row_counts() == before


@DB
@given(data=st.binary(max_size=2048), ext=st.sampled_from(["csv", "xlsx", "xls", "txt"]))
@example(data=b"\xef\xbb\xbf", ext="csv")
@example(data="任务编号,标题\n".encode() * 3000, ext="csv")
def test_reimport_of_random_bytes_never_raises_and_writes_nothing(sheet_plan, data, ext):
    _check_diff(sheet_plan, f"任务表.{ext}", data)


@DB
@given(rows=task_sheets(), fmt=st.sampled_from(["utf-8-sig", "gb18030", "xlsx"]))
def test_a_mangled_task_sheet_names_the_row_and_column_of_every_error_and_writes_nothing(
    sheet_plan, rows, fmt
):
    data = _xlsx_bytes(rows) if fmt == "xlsx" else _csv_bytes(rows, fmt)
    _check_diff(sheet_plan, f"任务表.{'xlsx' if fmt == 'xlsx' else 'csv'}", data)
