"""散文式工作要点解析：樟树市统计局真实样本（繁体/简体）与自拟的各种版式；纯函数，不用数据库。"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import opencc
import pytest

from workplan.parsers.document import parse_document
from workplan.parsers.text import fold, to_halfwidth_punct
from workplan.parsers.types import ParseResult

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "zhangshu-tjj-2023-workplan.txt"
_T2S = opencc.OpenCC("t2s")
_S2T = opencc.OpenCC("s2t")


def t2s(s: str) -> str:
    return _T2S.convert(s)


def s2t(s: str) -> str:
    return _S2T.convert(s)


def halfwidth(s: str) -> str:
    return to_halfwidth_punct(s)


def sample_lines(convert: Callable[[str], str] = str) -> list[str]:
    return [convert(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


# ---- 真实样本：樟树市统计局 2023 年政务公开工作要点（繁体、半角标点、含一处乱码）----

# 序号路径、标题、牵头、责任，均为原文写法（繁体）。4 章，5 + 3 + 4 + 4 = 16 项任务。
SAMPLE_TASKS = [
    ("一/（一）", "深化統計數據公開", ["綜合股"], ["各相關股室"]),
    ("一/（二）", "深化依法治統公開", ["法規股"], ["各相關股室"]),
    ("一/（三）", "深化統計知識公開", ["綜合股", "法規股"], ["各相關股室"]),
    ("一/（四）", "深化常規工作公開", ["辦公室"], ["各相關股室"]),
    ("一/（五）", "深化普查工作公開", ["普查中心"], ["各相關股室", "法規股"]),
    ("二/（一）", "加強依法主動公開事項", ["辦公室", "法規股"], ["各相關股室"]),
    ("二/（二）", "加強政策解讀和輿情回應", ["綜合股", "辦公室"], ["各股室", "普查中心"]),
    ("二/（三）", "加強政務公開清單化管理", ["辦公室"], ["各相關股室", "法規股", "普查中心"]),
    ("三/（一）", "強化政務公開網站管理", ["辦公室"], ["各相關股室"]),
    ("三/（二）", "強化政務公開平臺建設", ["辦公室"], ["各股室"]),
    ("三/（三）", "強化發揮傳統載體作用", ["綜合股"], ["各相關股室"]),
    ("三/（四）", "強化推進“政務開放日”活動", ["法規股"], ["各股室"]),
    ("四/（一）", "強化組織保障", ["辦公室"], ["各相關股室"]),
    ("四/（二）", "嚴格審查保障", ["辦公室", "法規股"], ["各相關股室"]),
    ("四/（三）", "強化制度保障", ["辦公室"], ["各相關股室"]),
    ("四/（四）", "完善培訓保障", ["辦公室"], ["各相關股室"]),
]
SAMPLE_CHAPTERS = [
    ("一", "服務經濟高質量發展,不斷完善政務公開內容"),
    ("二", "圍繞服務型統計建設,不斷深化全流程公開"),
    ("三", "統籌政務公開平臺建設,不斷豐富公開方式"),
    ("四", "強化工作保障,不斷提升公開能力水平"),
]
SCRIPTS = pytest.mark.parametrize("convert", [str, t2s], ids=["traditional", "simplified"])


@SCRIPTS
def test_sample_counts_chapters_and_tasks(convert):
    result = parse_document(sample_lines(convert))
    assert result.errors == []
    assert result.warnings == []
    assert result.layout == "prose"
    headings = [t for t in result.tasks if t.is_heading]
    assert [(t.number_path, t.title) for t in headings] == [
        (p, convert(title)) for p, title in SAMPLE_CHAPTERS
    ]
    assert len(result.actionable) == 16
    assert [t.number_path for t in result.actionable] == [row[0] for row in SAMPLE_TASKS]


@SCRIPTS
@pytest.mark.parametrize(("path", "title", "leads", "resps"), SAMPLE_TASKS, ids=[r[0] for r in SAMPLE_TASKS])
def test_sample_task_title_and_sections_as_written(convert, path, title, leads, resps):
    task = {t.number_path: t for t in parse_document(sample_lines(convert)).actionable}[path]
    assert task.title == convert(title)
    assert task.lead_sections == [convert(n) for n in leads]
    assert task.responsible_sections == [convert(n) for n in resps]
    assert task.level == 2
    assert task.body and "牽頭" not in task.body and "牵头" not in task.body


@SCRIPTS
def test_sample_preamble_year_unit_and_parent_doc_number(convert):
    result = parse_document(sample_lines(convert))
    assert result.year == 2023
    assert result.issuing_unit == convert("樟樹市統計局")
    assert result.parent_doc_number == convert("樟府辦發〔2023〕28號")
    assert result.title == ""  # 样本第一行就是导语，没有标题行
    assert result.preamble.startswith("2023年")


@SCRIPTS
def test_sample_details(convert):
    tasks = {t.number_path: t for t in parse_document(sample_lines(convert)).tasks}
    first = tasks["一/（一）"]
    assert first.number == "(一)" and first.line == 3
    assert first.annotation_text == convert("(牽頭股室:綜合股,責任股室:各相關股室)")
    assert first.body.startswith(convert("主動公開農林牧漁業"))
    assert tasks["一"].number == "一、" and tasks["一"].line == 2 and tasks["一"].level == 1
    # 四/（一）“每季度聽取政務公開工作匯報”→ 按季度
    assert (tasks["四/（一）"].recurrence, tasks["四/（一）"].deadline_text) == ("quarterly", "每季度")
    # 二/（一）“持續推進”→ 持续；一/（一）只有“及時”→ 持续、无日期；四/（三）的“不及時”不算时限
    assert (tasks["二/（一）"].recurrence, tasks["二/（一）"].deadline_text) == (
        "continuous",
        convert("持續推進"),
    )
    assert (tasks["一/（一）"].recurrence, tasks["一/（一）"].due_date) == ("continuous", None)
    assert tasks["四/（三）"].deadline_text == ""
    # 乱码原样保留，不影响标注
    assert "三審三?!敝贫?" in tasks["三/（二）"].body or "三审三?!敝贫?" in tasks["三/（二）"].body


def test_sample_as_json_shape():
    data = parse_document(sample_lines()).as_json()
    assert data["parent_doc_number"] == "樟府辦發〔2023〕28號"
    assert len(data["tasks"]) == 16
    assert data["tasks"][2]["lead_sections"] == ["綜合股", "法規股"]


def test_sample_cut_mid_sentence_keeps_tasks_and_warns():
    lines = sample_lines()
    cut = lines[:20] + [lines[20][:30]]  # 第21行（四/（四））在句中被截断
    result = parse_document(cut)
    assert len(result.actionable) == 16
    assert result.actionable[-1].number_path == "四/（四）"
    assert [w.message for w in result.warnings] == [
        "第21行：最后一项内容不完整（文件可能被截断），已导入但请核对。"
    ]
    assert result.warnings[0].line == 21


def test_sample_cut_after_chapter_heading_warns_on_that_line():
    result = parse_document(sample_lines()[:17])
    assert [w.line for w in result.warnings] == [17]
    assert "不完整" in result.warnings[0].message
    assert len(result.actionable) == 13  # 12 项任务 + 没有下级的“四、”


def test_first_line_no_shifts_line_numbers():
    result = parse_document(sample_lines()[1:], first_line_no=2)
    assert result.tasks[0].line == 2 and result.actionable[0].line == 3
    assert result.preamble == ""


# ---- 自拟的其他版式；每份在简体/繁体、全角/半角四种写法下都要得到同样的结果 ----

XINFANG = """\
樟树市信访局2023年政务公开工作要点
根据《樟树市2023年政务公开工作要点》（樟府办发[2023]28号）要求，结合我局实际，制定本要点。各科室均为责任单位，以下不再列出。
一、加强信访信息公开（办信科牵头，督查科配合）
1.及时公开信访事项办理流程和办理结果，6月底前完成。
2.每季度公开信访数据统计情况。
二、推进督查信息公开。督查科牵头落实，每月通报督查情况。
三、强化公开平台建设。（牵头科室：综合科、办信科，责任科室：督查科）年底前完成网站栏目调整。

附件：
"""
XINFANG_TASKS = [
    # number_path, is_heading, title, leads, responsibles, deadline_text, due, recurrence
    ("一", False, "加强信访信息公开", ["办信科"], ["督查科", "各科室"], "", None, ""),
    (
        "一/1",
        False,
        "及时公开信访事项办理流程和办理结果，6月底前完成",
        ["办信科"],
        ["督查科", "各科室"],
        "6月底前",
        datetime.date(2023, 6, 30),
        "",
    ),
    (
        "一/2",
        False,
        "每季度公开信访数据统计情况",
        ["办信科"],
        ["督查科", "各科室"],
        "每季度",
        None,
        "quarterly",
    ),
    ("二", False, "推进督查信息公开", ["督查科"], ["各科室"], "每月", None, "monthly"),
    (
        "三",
        False,
        "强化公开平台建设",
        ["综合科", "办信科"],
        ["督查科", "各科室"],
        "年底前",
        datetime.date(2023, 12, 31),
        "",
    ),
]

DISTRICT = """\
樟树市某某区人民政府办公室2024年政务公开工作要点
2024年，区政府办公室政务公开工作坚持以人民为中心，结合实际，制定如下工作要点。
1．深化重点领域信息公开。全面公开财政预决算信息，9月30日前完成。（区政府办〔区大数据中心〕牵头，各街道、各部门配合）
2．做好土地出让信息公开。土地储备中心牵头，各科室配合。
3．加强政策解读。区政府办牵头，做好统筹协调；各成员单位负责本领域政策解读。
4．规范依申请公开。（法制科负责）
5．加强平台建设。长期坚持。（牵头单位：办公室、信息中心；各股室均为责任单位，以下不再列出）
6．做好年度报告工作。每年1月31日前发布上一年度报告。（牵头单位：办公室）
7．强化监督考核。（人口与就业股与法规股牵头，综合股和统计信息中心配合）
"""
DISTRICT_TASKS = [
    (
        "1",
        False,
        "深化重点领域信息公开",
        ["区政府办〔区大数据中心〕"],
        ["各街道", "各部门"],
        "9月30日前",
        datetime.date(2024, 9, 30),
        "",
    ),
    ("2", False, "做好土地出让信息公开", ["土地储备中心"], ["各科室"], "", None, ""),
    ("3", False, "加强政策解读", ["区政府办"], ["各成员单位"], "", None, ""),
    ("4", False, "规范依申请公开", ["法制科"], [], "", None, ""),
    ("5", False, "加强平台建设", ["办公室", "信息中心"], ["各股室"], "长期坚持", None, "continuous"),
    (
        "6",
        False,
        "做好年度报告工作",
        ["办公室"],
        ["各股室"],
        "每年1月31日前",
        datetime.date(2024, 1, 31),
        "yearly",
    ),
    (
        "7",
        False,
        "强化监督考核",
        ["人口与就业股", "法规股"],
        ["综合股", "统计信息中心", "各股室"],
        "",
        None,
        "",
    ),
]

LEVELS = """\
一、总体要求
（一）加强数据公开
1.主动公开统计数据。（牵头股室：综合股）
2.做好统计公报发布。
（1）发布年度统计公报，4月底前完成。（牵头股室：综合股）
（2）发布普查公报。（牵头股室：普查中心，责任股室：各相关股室）
"""
LEVELS_TASKS = [
    ("一", True, "总体要求", [], [], "", None, ""),
    ("一/（一）", True, "加强数据公开", [], [], "", None, ""),
    ("一/（一）/1", False, "主动公开统计数据", ["综合股"], [], "", None, ""),
    ("一/（一）/2", True, "做好统计公报发布", [], [], "", None, ""),
    (
        "一/（一）/2/（1）",
        False,
        "发布年度统计公报，4月底前完成",
        ["综合股"],
        [],
        "4月底前",
        datetime.date(2023, 4, 30),
        "",
    ),
    ("一/（一）/2/（2）", False, "发布普查公报", ["普查中心"], ["各相关股室"], "", None, ""),
]

# 按固定宽度折行（如从 PDF 复制）：句中断行、标注中断行、独立的短标题行。
WRAPPED = """\
樟树市统计局2023年政务公开工作要点
一、服务经济高质量发展
（一）深化统计数据公开。主动公开农林牧渔
业、工业、建筑业、批发和零售业等统计数
据和信息。（牵头股室：综合股，责任股室：
各相关股室）
（二）深化依法治统公开
认真贯彻执行《江西省行政执法公示办法》，
推动全面实施“双随机、一公开”监管，9月
30日前完成。（牵头股室：法规股）
（三）及时发布本单位机构职能、领导信息、
政务要闻等常规工作相关信息。（牵头股室：
办公室）
"""
WRAPPED_TASKS = [
    ("一", True, "服务经济高质量发展", [], [], "", None, ""),
    ("一/（一）", False, "深化统计数据公开", ["综合股"], ["各相关股室"], "", None, ""),
    ("一/（二）", False, "深化依法治统公开", ["法规股"], [], "9月30日前", datetime.date(2023, 9, 30), ""),
    (
        "一/（三）",
        False,
        "及时发布本单位机构职能、领导信息、政务要闻等常规工作相关信息",
        ["办公室"],
        [],
        "及时",
        None,
        "continuous",
    ),
]

VARIANTS = pytest.mark.parametrize(
    "convert",
    [str, s2t, halfwidth, lambda s: halfwidth(s2t(s))],
    ids=["simplified", "traditional", "halfwidth", "traditional-halfwidth"],
)
DOCS = pytest.mark.parametrize(
    ("doc", "expected", "year"),
    [
        (XINFANG, XINFANG_TASKS, None),
        (DISTRICT, DISTRICT_TASKS, None),
        (LEVELS, LEVELS_TASKS, 2023),
        (WRAPPED, WRAPPED_TASKS, None),
    ],
    ids=["xinfang", "district", "levels", "wrapped"],
)


def _same(actual: str, expected: str, convert: Callable[[str], str]) -> bool:
    return fold(actual) == fold(convert(expected))


@VARIANTS
@DOCS
def test_layouts(convert, doc, expected, year):
    result = parse_document(convert(doc).splitlines(), year=year)
    assert result.errors == [] and result.warnings == []
    assert [t.number_path for t in result.tasks] == [row[0] for row in expected]
    for task, (_, heading, title, leads, resps, dl_text, due, rec) in zip(
        result.tasks, expected, strict=True
    ):
        assert task.is_heading is heading, task.number_path
        assert _same(task.title, title, convert), (task.title, title)
        assert [fold(n) for n in task.lead_sections] == [fold(convert(n)) for n in leads], task.number_path
        assert [fold(n) for n in task.responsible_sections] == [fold(convert(n)) for n in resps], (
            task.number_path
        )
        assert _same(task.deadline_text, dl_text, convert), task.number_path
        assert (task.due_date, task.recurrence) == (due, rec), task.number_path


@VARIANTS
@pytest.mark.parametrize(
    ("doc", "title", "unit", "year", "parent"),
    [
        (XINFANG, "樟树市信访局2023年政务公开工作要点", "樟树市信访局", 2023, "樟府办发〔2023〕28号"),
        (
            DISTRICT,
            "樟树市某某区人民政府办公室2024年政务公开工作要点",
            "樟树市某某区人民政府办公室",
            2024,
            "",
        ),
        (LEVELS, "", "", None, ""),
    ],
    ids=["xinfang", "district", "levels"],
)
def test_layout_preamble(convert, doc, title, unit, year, parent):
    result = parse_document(convert(doc).splitlines())
    assert _same(result.title, title, convert)
    assert _same(result.issuing_unit, unit, convert)
    assert result.year == year
    assert _same(result.parent_doc_number, parent, convert)


def test_levels_number_and_depth():
    tasks = parse_document(LEVELS.splitlines(), year=2023).tasks
    assert [(t.number, t.level) for t in tasks] == [
        ("一、", 1),
        ("（一）", 2),
        ("1.", 3),
        ("2.", 3),
        ("（1）", 4),
        ("（2）", 4),
    ]


def test_prose_annotation_mixed_with_content_stays_in_body():
    task = parse_document(DISTRICT.splitlines()).actionable[2]
    assert task.body == "区政府办牵头，做好统筹协调；各成员单位负责本领域政策解读。"
    assert task.annotation_text == "区政府办牵头，做好统筹协调；各成员单位负责本领域政策解读"


def test_default_clause_in_an_item_applies_from_that_item_on():
    tasks = parse_document(DISTRICT.splitlines()).actionable
    assert ["各股室" in t.responsible_sections for t in tasks] == [False] * 4 + [True] * 3


def test_wrapped_sentence_is_joined_without_spaces():
    task = parse_document(WRAPPED.splitlines()).actionable[0]
    assert task.body == "主动公开农林牧渔业、工业、建筑业、批发和零售业等统计数据和信息。"


def test_attachment_content_is_not_imported():
    result = parse_document((XINFANG + "1.信访事项统计表\n2.督查台账\n").splitlines())
    assert len(result.actionable) == 5
    assert [w.message for w in result.warnings] == ["第10行起为附件内容，未作为任务导入。"]


CUT_OFF = """\
樟树市统计局2023年政务公开工作要点
（一）深化统计数据公开。主动公开统计数据。（牵头股室：综合股）
（二）深化依法治统公开。公开检查执法信息。（牵头股室：法规股）
（三）深化统计知识公开。及时更新统计知识，解读统
"""
CUT_OFF_NO_ANNOTATION = CUT_OFF.replace("解读统\n", "解读统计指标。\n")


@pytest.mark.parametrize("doc", [CUT_OFF, CUT_OFF_NO_ANNOTATION], ids=["mid-sentence", "no-annotation"])
def test_cut_off_document_keeps_complete_tasks_and_warns(doc):
    result = parse_document(doc.splitlines())
    assert [t.title for t in result.actionable] == [
        "深化统计数据公开",
        "深化依法治统公开",
        "深化统计知识公开",
    ]
    assert result.errors == []
    assert [(w.line, w.message) for w in result.warnings] == [
        (4, "第4行：最后一项内容不完整（文件可能被截断），已导入但请核对。")
    ]


def test_last_item_with_only_a_number_is_dropped_with_warning():
    result = parse_document((CUT_OFF_NO_ANNOTATION.rsplit("\n", 2)[0] + "\n（三）").splitlines())
    assert len(result.actionable) == 2
    assert [w.line for w in result.warnings] == [4]
    assert "没有内容" in result.warnings[0].message


def test_task_without_lead_gets_a_warning_with_line_number():
    doc = (
        "1.主动公开数据。（牵头股室：综合股）\n"
        "2.加强解读。（责任股室：各股室）\n"
        "3.做好培训。（牵头股室：办公室）\n"
    )
    result = parse_document(doc.splitlines())
    assert [(w.line, w.message) for w in result.warnings] == [
        (2, "第2行：任务“加强解读”未找到牵头股室（单位），请导入后指定。")
    ]
    assert result.actionable[1].responsible_sections == ["各股室"]


def test_numbering_gap_warns_but_line_break_before_a_number_is_continuation():
    doc = (
        "1.及时发布统计数据，重点做好\n"
        "5、6月份数据的解读。（牵头股室：综合股）\n"
        "2.加强解读。（牵头股室：法规股）\n"
        "4.做好培训。（牵头股室：办公室）\n"
    )
    result = parse_document(doc.splitlines())
    assert [t.number_path for t in result.actionable] == ["1", "2", "4"]
    first = result.actionable[0]
    assert first.title + first.body == "及时发布统计数据，重点做好5、6月份数据的解读。"
    assert first.lead_sections == ["综合股"]
    assert [(w.line, w.message) for w in result.warnings] == [
        (4, "第4行：序号“4.”与上一项不连续（应为“3.”），可能缺少内容，请核对。")
    ]


def test_year_argument_overrides_document_year_with_warning():
    result = parse_document(XINFANG.splitlines(), year=2024)
    assert result.year == 2024
    assert result.actionable[1].due_date == datetime.date(2024, 6, 30)
    assert [w.line for w in result.warnings] == [1]
    assert "按指定的2024年" in result.warnings[0].message


@pytest.mark.parametrize(
    ("lines", "line"),
    [([], 1), (["", "   "], 1), (["只有一段话，没有编号。"], 1), ([None, 123], 1)],  # type: ignore[list-item]
    ids=["empty", "blank", "no-numbering", "not-strings"],
)
def test_bad_input_returns_error_instead_of_raising(lines, line):
    result = parse_document(lines)
    assert isinstance(result, ParseResult)
    assert result.tasks == []
    assert [e.line for e in result.errors] == [line]
    assert "未找到" in result.errors[0].message


def test_a_single_string_is_accepted():
    assert len(parse_document(XINFANG).actionable) == 5  # type: ignore[arg-type]


def test_numbering_continued_across_chapters_is_accepted_without_warning():
    doc = (
        "一、总体要求\n"
        "（一）加强公开。（牵头股室：综合股）\n"
        "（二）加强解读。（牵头股室：法规股）\n"
        "二、平台建设\n"
        "（三）强化网站。（牵头股室：办公室）\n"
    )
    result = parse_document(doc.splitlines())
    assert [t.number_path for t in result.tasks] == ["一", "一/（一）", "一/（二）", "二", "二/（三）"]
    assert result.warnings == []
