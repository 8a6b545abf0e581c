"""表格式工作要点（任务清单表）的解析：表头识别、合并单元格、续行、章节行，以及网页复制压平的表格。"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workplan.parsers.flattened import split_flattened_lines, split_flattened_text
from workplan.parsers.table_header import header_role
from workplan.parsers.tables import parse_table
from workplan.parsers.types import ParseResult

WEB_COPY = """\
樟树市统计局2023年政务公开工作任务清单
| 工作任务 | 具体要求 | 责任科室 | 时限要求 |
|---|---|---|---|
| 一、服务经济高质量发展 | | | |
| 深化统计数据公开 | 主动公开农林牧渔业、工业等统计数据和信息。 | 综合股牵头，各相关股室配合 | 每季度 |
| | 及时发布统计公报、普查公报。 | | |
| 深化依法治统公开 | 推动全面实施“双随机、一公开”监管。 | 法规股 | 6月底前 |
| | 多渠道公开检查执法信息。 | 法规股、综合股 | 年底前 |
| 二、统筹政务公开平台建设 | | | |
| 强化网站管理 | 强化政府网站统计频道内容建设。 | 办公室 | 长期坚持 |
| 强化平台建设 | 落实“三审三校”制度。 | | |
"""

ONE_CELL_PER_LINE = """\
序号
工作任务
具体要求
责任单位
时限要求
1
深化统计数据公开
主动公开统计数据和信息。
综合股
每季度
2
深化依法治统公开
公开检查执法信息。
法规股
6月底前
"""

ONE_CELL_PER_LINE_MERGED = """\
工作任务
具体要求
责任科室
时限要求
一、服务经济高质量发展
深化统计数据公开
主动公开农林牧渔业、工业等统计数据和信息，满足社会需求。
综合股、各相关股室
每季度
及时发布统计公报、普查公报，做好数据解读。
深化依法治统公开
推动全面实施“双随机、一公开”监管，公开检查执法信息。
法规股
6月底前
"""

XINFANG = [
    ["宜春市信访局2024年政务公开工作要点任务分解表", "", "", "", "", ""],
    ["序号", "重点任务", "具体措施", "牵头单位", "责任单位", "完成时限"],
    ["1", "推进信访信息公开", "公开信访事项办理流程和办理时限。", "办公室", "信访督查科", "2024年3月31日"],
    ["2", "", "定期公开信访工作数据。", "综合科", "各科室、网上信访中心", "每季度"],
    ["", "", "做好公开数据的解读。", "", "", ""],
    ["3", "加强政策解读", "对新出台的信访政策进行解读。", "法规科", "", "及时"],
]

DISTRICT = [
    ["序号", "工作任务", "责任单位", "完成时限"],
    ["一", "政策公开", "", ""],
    [
        "1",
        "及时公开区政府规范性文件，做好备案审查。同步发布政策解读材料。",
        "区司法局（牵头）、区政府办",
        "长期坚持",
    ],
    ["2", "推进重大行政决策预公开，公开征求意见。", "区发改委、区财政局", "9月底前"],
    ["序号", "工作任务", "责任单位", "完成时限"],
    ["二", "平台建设", "", ""],
    ["3", "加强政府网站和政务新媒体管理。", "区政府办", "每月"],
    ["", "", "", ""],
    ["注：排在第一位的为牵头单位。", "", "", ""],
]


def _titles(result: ParseResult, *, headings: bool = False) -> list[str]:
    return [t.title for t in result.tasks if headings or not t.is_heading]


@pytest.mark.parametrize(
    ("cell", "role"),
    [
        ("序号", "number"),
        ("序  号", "number"),
        ("工作任务", "task"),
        ("工作任務", "task"),
        ("重点任务", "task"),
        ("工作内容", "task"),
        ("具体要求", "detail"),
        ("具體要求", "detail"),
        ("具体措施", "detail"),
        ("任务内容", "detail"),
        ("牵头股室", "lead"),
        ("牽頭單位", "lead"),
        ("责任股室", "resp"),
        ("責任科室", "resp"),
        ("配合单位", "resp"),
        ("责任科室（单位/部门）", "resp"),
        ("牵头及配合单位", "combined"),
        ("时限要求", "deadline"),
        ("時限要求", "deadline"),
        ("完成时限", "deadline"),
        ("时间节点", "deadline"),
        ("备注", "ignore"),
        ("分管领导", "ignore"),
        ("类别", "category"),
        ("主动公开农林牧渔业、工业、建筑业等统计数据和信息", None),
        ("", None),
    ],
)
def test_header_role_recognises_chinese_column_names(cell: str, role: str | None) -> None:
    assert header_role(cell) == role


def test_web_copy_with_bars_fills_merged_cells_and_appends_continuations() -> None:
    flat = split_flattened_lines(WEB_COPY.splitlines())
    assert flat is not None
    result = parse_table(flat.rows, row_numbers=flat.line_numbers)
    assert result.layout == "table" and not result.errors
    assert result.title == "樟树市统计局2023年政务公开工作任务清单"
    assert result.year == 2023
    headings = [t for t in result.tasks if t.is_heading]
    assert [(h.number_path, h.title) for h in headings] == [
        ("一", "服务经济高质量发展"),
        ("一/2", "深化依法治统公开"),
        ("二", "统筹政务公开平台建设"),
    ]
    first, *_ = result.actionable
    assert first.title == "深化统计数据公开"
    assert first.body == "主动公开农林牧渔业、工业等统计数据和信息。\n及时发布统计公报、普查公报。"
    assert first.lead_sections == ["综合股"] and first.responsible_sections == ["各相关股室"]
    assert (first.deadline_text, first.recurrence) == ("每季度", "quarterly")
    assert _titles(result) == [
        "深化统计数据公开",
        "推动全面实施“双随机、一公开”监管",
        "多渠道公开检查执法信息",
        "强化网站管理",
        "强化平台建设",
    ]
    law = result.actionable[2]
    assert (law.lead_sections, law.responsible_sections) == (["法规股"], ["综合股"])
    assert law.due_date == datetime.date(2023, 12, 31)
    platform = result.actionable[-1]
    assert platform.lead_sections == ["办公室"] and platform.deadline_text == "长期坚持"
    assert platform.line == 11


def test_web_copy_without_outer_bars_and_with_line_breaks_inside_cells() -> None:
    text = (
        "序号 | 工作任务 | 具体要求 | 责任单位 | 时限要求\n"
        "1 | 深化数据公开 | 公开统计数据。 | 综合股 | 年底前\n"
        "做好数据解读。\n"
        "2 | 深化执法公开 | 公开执法信息。 | 法规股 | 6月底前\n"
    )
    rows = split_flattened_text(text.splitlines())
    assert rows is not None
    assert rows[1] == ["1", "深化数据公开", "公开统计数据。\n做好数据解读。", "综合股", "年底前"]
    assert rows[2][0] == "2"


def test_outer_bar_rows_may_span_lines() -> None:
    text = "| 工作任务 | 具体要求 | 责任科室 |\n| 数据公开 | 公开统计数据，\n做好解读。 | 综合股 |\n"
    rows = split_flattened_text(text.splitlines())
    assert rows == [
        ["工作任务", "具体要求", "责任科室"],
        ["数据公开", "公开统计数据，\n做好解读。", "综合股"],
    ]


def test_tab_separated_copy_from_a_spreadsheet() -> None:
    text = (
        "工作任务\t责任科室\t时限要求\n深化统计数据公开\t综合股\t年底前\n深化依法治统公开\t法规股\t6月底前\n"
    )
    result = parse_table(split_flattened_text(text.splitlines()) or [], year=2023)
    assert _titles(result) == ["深化统计数据公开", "深化依法治统公开"]
    assert [t.due_date for t in result.actionable] == [
        datetime.date(2023, 12, 31),
        datetime.date(2023, 6, 30),
    ]


def test_one_cell_per_line_aligned_by_sequence_numbers() -> None:
    flat = split_flattened_lines(ONE_CELL_PER_LINE.splitlines())
    assert flat is not None and not flat.warnings
    result = parse_table(flat.rows, year=2023, row_numbers=flat.line_numbers)
    assert [(t.number, t.title, t.lead_sections, t.deadline_text) for t in result.actionable] == [
        ("1", "深化统计数据公开", ["综合股"], "每季度"),
        ("2", "深化依法治统公开", ["法规股"], "6月底前"),
    ]
    assert [t.line for t in result.actionable] == [6, 11]


def test_one_cell_per_line_with_merged_cells_is_inferred_and_warned() -> None:
    flat = split_flattened_lines(ONE_CELL_PER_LINE_MERGED.splitlines())
    assert flat is not None
    assert flat.warnings and "不是表头4列的整数倍" in flat.warnings[0].message
    result = parse_table(flat.rows, year=2023, row_numbers=flat.line_numbers)
    assert _titles(result, headings=True) == ["服务经济高质量发展", "深化统计数据公开", "深化依法治统公开"]
    data = result.actionable[0]
    assert data.body.endswith("做好数据解读。")
    assert (data.lead_sections, data.responsible_sections) == (["综合股"], ["各相关股室"])


def test_one_cell_per_line_with_blank_lines_for_empty_cells() -> None:
    text = (
        "序号\n工作任务\n具体要求\n责任单位\n1\n深化数据公开\n公开统计数据。\n综合股\n2\n\n做好数据解读。\n\n"
    )
    flat = split_flattened_lines(text.splitlines())
    assert flat is not None and not flat.warnings
    assert flat.rows[1:] == [
        ["1", "深化数据公开", "公开统计数据。", "综合股"],
        ["2", "", "做好数据解读。", ""],
    ]
    result = parse_table(flat.rows, row_numbers=flat.line_numbers)
    assert [t.title for t in result.tasks] == ["深化数据公开", "公开统计数据", "做好数据解读"]
    assert result.actionable[1].lead_sections == ["综合股"]


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [
            "一、服务经济高质量发展",
            "（一）深化统计数据公开。主动公开统计数据。（牵头股室：综合股，责任股室：各相关股室）",
        ],
        ["工作任务", "很多正文", "更多正文"],
        ["a | b | c", "1 | 2 | 3"],
    ],
)
def test_text_that_is_not_a_table_is_left_alone(lines: list[str]) -> None:
    assert split_flattened_text(lines) is None


def test_xinfang_table_with_lead_and_responsible_columns() -> None:
    result = parse_table(XINFANG)
    assert not result.errors and result.year == 2024
    tasks = result.actionable
    assert [(t.number, t.title) for t in tasks] == [
        ("1", "公开信访事项办理流程和办理时限"),
        ("2", "定期公开信访工作数据"),
        ("3", "加强政策解读"),
    ]
    assert (tasks[0].lead_sections, tasks[0].responsible_sections) == (["办公室"], ["信访督查科"])
    assert tasks[0].due_date == datetime.date(2024, 3, 31)
    assert tasks[1].body == "定期公开信访工作数据。\n做好公开数据的解读。"
    assert (tasks[1].lead_sections, tasks[1].responsible_sections) == (["综合科"], ["各科室", "网上信访中心"])
    assert tasks[1].recurrence == "quarterly"
    # 一组“推进信访信息公开”有两项序号：组名成为标题行
    assert [t.title for t in result.tasks if t.is_heading] == ["推进信访信息公开"]
    assert tasks[2].lead_sections == ["法规科"] and tasks[2].responsible_sections == []


def test_district_office_table_with_category_rows_and_repeated_headers() -> None:
    result = parse_table(DISTRICT, year=2024)
    assert not result.errors
    assert [(t.number_path, t.title) for t in result.tasks if t.is_heading] == [
        ("一", "政策公开"),
        ("二", "平台建设"),
    ]
    first, second, third = result.actionable
    assert first.number_path == "一/1"
    assert first.title == "及时公开区政府规范性文件，做好备案审查"
    assert first.body.startswith("及时公开区政府规范性文件")
    assert (first.lead_sections, first.responsible_sections) == (["区司法局"], ["区政府办"])
    assert (second.lead_sections, second.responsible_sections) == (["区发改委"], ["区财政局"])
    assert third.number_path == "二/3" and third.recurrence == "monthly"


def test_chinese_numbers_in_the_sequence_column_make_two_heading_levels() -> None:
    rows = [
        ["序号", "工作任务", "具体要求", "责任单位", "时限要求"],
        ["一", "推进决策公开", "", "", ""],
        ["（一）", "重大决策预公开", "", "", ""],
        ["1", "", "公开决策草案。", "区发改委", "长期坚持"],
        ["2", "", "公开征求意见采纳情况。", "区司法局", "及时"],
        ["(二)", "决策执行公开", "", "", ""],
        ["3", "", "公开重点工作推进情况。", "区政府办", "每季度"],
    ]
    result = parse_table(rows, year=2024)
    assert [(t.number_path, t.level, t.title) for t in result.tasks] == [
        ("一", 1, "推进决策公开"),
        ("一/（一）", 2, "重大决策预公开"),
        ("一/（一）/1", 3, "公开决策草案"),
        ("一/（一）/2", 3, "公开征求意见采纳情况"),
        ("一/（二）", 2, "决策执行公开"),
        ("一/（二）/3", 3, "公开重点工作推进情况"),
    ]
    assert [t.lead_sections for t in result.actionable] == [["区发改委"], ["区司法局"], ["区政府办"]]


MERGED_AS_EMPTY = [
    ["工作任务", "具体要求", "责任科室", "时限要求"],
    ["一、服务经济高质量发展", "", "", ""],
    ["深化统计数据公开", "主动公开统计数据。", "综合股", "每季度"],
    ["", "发布统计公报。", "", ""],
    ["深化依法治统公开", "公开执法信息。", "法规股", "6月底前"],
]
# 同一张表按 python-docx 的 row.cells 读法：合并区域的每一格都重复同一段文字
MERGED_AS_REPEATED = [
    ["工作任务", "具体要求", "责任科室", "时限要求"],
    ["一、服务经济高质量发展"] * 4,
    ["深化统计数据公开", "主动公开统计数据。", "综合股", "每季度"],
    ["深化统计数据公开", "发布统计公报。", "综合股", "每季度"],
    ["深化依法治统公开", "公开执法信息。", "法规股", "6月底前"],
]


def test_merged_cells_read_as_empty_or_repeated_give_the_same_tasks() -> None:
    def shape(rows: list[list[str]]) -> list[tuple[object, ...]]:
        result = parse_table(rows, year=2023)
        return [(t.number_path, t.title, t.body, t.lead_sections, t.deadline_text) for t in result.tasks]

    assert shape(MERGED_AS_EMPTY) == shape(MERGED_AS_REPEATED)
    assert shape(MERGED_AS_EMPTY)[1][2] == "主动公开统计数据。\n发布统计公报。"


def test_traditional_headers_and_two_level_header() -> None:
    rows = [
        ["樟樹市統計局2023年政務公開任務分工", "", "", "", ""],
        ["序號", "工作任務", "責任單位", "", "時限要求"],
        ["", "", "牽頭單位", "配合單位", ""],
        ["1", "深化統計數據公開", "綜合股", "各相關股室", "年底前"],
    ]
    result = parse_table(rows, year=2023)
    assert not result.errors and not result.warnings
    (task,) = result.actionable
    assert task.title == "深化統計數據公開"
    assert (task.lead_sections, task.responsible_sections) == (["綜合股"], ["各相關股室"])
    assert task.line == 4
    assert result.title == "樟樹市統計局2023年政務公開任務分工" and result.year == 2023


def test_category_column_becomes_headings() -> None:
    rows = [
        ["类别", "工作任务", "责任股室"],
        ["数据公开", "发布统计公报", "综合股"],
        ["", "公开普查数据", "普查中心"],
        ["平台建设", "维护政府网站", "办公室"],
    ]
    result = parse_table(rows)
    assert [(t.level, t.title, t.is_heading) for t in result.tasks] == [
        (1, "数据公开", True),
        (2, "发布统计公报", False),
        (2, "公开普查数据", False),
        (1, "平台建设", True),
        (2, "维护政府网站", False),
    ]


def test_problems_name_the_row_and_the_original_header() -> None:
    rows = [
        ["序号", "工作任务", "责任科室（单位/部门）", "时限要求", "牵头领导", "自定义列"],
        ["1", "深化数据公开", "", "年底前", "张三", ""],
        ["2", "深化执法公开", "法规股", "择机", "李四", "", "多出来的", "又一格"],
    ]
    result = parse_table(rows, year=2023, first_row_no=5)
    messages = {(w.line, w.column, w.message) for w in result.warnings}
    assert (5, "自定义列", "第5行的表头“自定义列”未能识别，该列已忽略。") in messages
    assert (6, "责任科室（单位/部门）", "第6行任务“深化数据公开”没有填写责任单位。") in messages
    assert any(line == 7 and "多于表头的6列" in msg and "多出来的" in msg for line, _c, msg in messages)
    assert any(line == 7 and col == "时限要求" and "择机" in msg for line, col, msg in messages)
    assert len(result.actionable) == 2


def test_unrecognised_header_lists_what_was_found_and_what_is_expected() -> None:
    rows = [["姓名", "电话", "地址"], ["张三", "123", "樟树"]]
    result = parse_table(rows, first_row_no=1)
    (error,) = result.errors
    assert error.line == 1
    assert "第1行：姓名 | 电话 | 地址" in error.message
    assert "工作任务" in error.message and "时限要求" in error.message
    assert result.tasks == []


def test_header_without_any_task_rows_is_an_error() -> None:
    result = parse_table([["工作任务", "责任科室"], ["", ""]])
    assert result.errors and "没有任何任务行" in result.errors[0].message


def test_notes_blank_rows_and_repeated_headers_are_skipped() -> None:
    rows = [
        ["工作任务", "责任股室", "时限要求"],
        ["深化数据公开", "综合股", "年底前"],
        ["", "", ""],
        ["工作任务", "责任股室", "时限要求"],
        ["续表", "", ""],
        ["深化执法公开", "法规股", "年底前"],
        ["注重执法信息解读", "", ""],
        ["注：各股室于每季度末报送进展。", "", ""],
        ["附件2", "", ""],
    ]
    result = parse_table(rows, year=2023)
    assert _titles(result, headings=True) == ["深化数据公开", "深化执法公开", "注重执法信息解读"]
    assert result.actionable[-1].lead_sections == ["法规股"]
    assert not result.warnings


def test_missing_unit_columns_warn_once_and_fall_back_to_body_annotation() -> None:
    rows = [
        ["工作任务", "具体要求"],
        ["深化数据公开", "公开统计数据（牵头股室：综合股，责任股室：各相关股室）"],
    ]
    result = parse_table(rows)
    assert len(result.warnings) == 1 and "没有牵头/责任单位列" in result.warnings[0].message
    (task,) = result.actionable
    assert task.lead_sections == ["综合股"] and task.responsible_sections == ["各相关股室"]


_CELL = st.sampled_from(
    [
        "",
        "序号",
        "工作任务",
        "具体要求",
        "责任科室",
        "牵头单位",
        "时限要求",
        "一、总体要求",
        "（二）平台",
        "一",
        "1",
        "2",
        "综合股、法规股",
        "综合股牵头，各股室配合",
        "年底前",
        "每季度",
        "注：说明",
        "续表",
        "公开数据。",
        "|",
        "\n",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_CELL | st.text(max_size=8), max_size=7), max_size=14))
def test_parse_table_never_raises_on_arbitrary_rows(rows: list[list[str]]) -> None:
    result = parse_table(rows, year=2023)
    assert result.layout == "table"
    assert result.errors or result.actionable
    paths = [t.number_path for t in result.tasks]
    assert len(paths) == len(set(paths))


@settings(max_examples=300, deadline=None)
@given(st.lists(_CELL | st.text(alphabet="|\t一、（）1.工作任务责任时限 ", max_size=30), max_size=30))
def test_split_flattened_text_never_raises(lines: list[str]) -> None:
    rows = split_flattened_text(lines)
    if rows is not None:
        parse_table(rows)
