"""牵头/责任股室标注与名称拆分、文本规范化的表驱动测试；纯函数，不用数据库。"""

from __future__ import annotations

import pytest

from workplan.parsers.annotations import (
    Annotation,
    extract_annotation,
    find_default_clause,
    looks_like_unit,
    split_section_names,
)
from workplan.parsers.text import (
    fold,
    join_lines,
    match_key,
    squeeze_spaces,
    to_fullwidth_punct,
    to_halfwidth_punct,
    to_simplified,
)

# ---- text.py ----


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("綜合股", "综合股"),
        (" 综合股 ", "综合股"),
        ("各相關股室", "各相关股室"),
        ("人口與就業股", "人口与就业股"),
        ("市府办（市大数据局）", "市府办(市大数据局)"),
        ("市府辦(市大數據局)", "市府办(市大数据局)"),
        ("社会 经济 调查队", "社会经济调查队"),
        ("", ""),
    ],
)
def test_match_key_folds_script_width_and_spaces(raw, key):
    assert match_key(raw) == key


def test_width_folding_both_ways():
    assert to_halfwidth_punct("（牵头股室：综合股，责任股室；１２）") == "(牵头股室:综合股,责任股室;12)"
    assert to_halfwidth_punct("、。") == "、。"
    assert to_fullwidth_punct("(牵头股室:综合股,责任股室;12)") == "（牵头股室：综合股，责任股室；12）"


def test_to_simplified_and_fold_keep_length():
    text = "牽頭股室:綜合股 長期堅持 “三審三?!敝贫?"
    assert to_simplified("樟樹市統計局") == "樟树市统计局"
    assert len(fold(text)) == len(text)
    assert fold("（牽頭股室：綜合股）") == "(牵头股室:综合股)"


@pytest.mark.parametrize(
    ("a", "b", "joined"),
    [("主动公开农林", "牧渔业数据", "主动公开农林牧渔业数据"), ("open", "data", "open data"), ("", "x", "x")],
)
def test_join_lines(a, b, joined):
    assert join_lines(a, b) == joined


def test_squeeze_spaces():
    assert squeeze_spaces("\u3000 政 务 公 开\t工作  要点 ") == "政务公开工作要点"
    assert squeeze_spaces("a  b") == "a b"


# ---- split_section_names ----


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ("综合股、法规股", ["综合股", "法规股"]),
        ("綜合股、辦公室", ["綜合股", "辦公室"]),
        ("综合股,法规股", ["综合股", "法规股"]),
        ("综合股，法规股；办公室", ["综合股", "法规股", "办公室"]),
        ("综合股/法规股", ["综合股", "法规股"]),
        ("人口与就业股", ["人口与就业股"]),
        ("人口與就業股、法規股", ["人口與就業股", "法規股"]),
        ("综合股与法规股", ["综合股", "法规股"]),
        ("人口与就业股与法规股", ["人口与就业股", "法规股"]),
        ("办公室和各股室", ["办公室", "各股室"]),
        ("综合股及统计信息中心", ["综合股", "统计信息中心"]),
        ("社会经济调查队以及普查中心", ["社会经济调查队", "普查中心"]),
        ("社会与经济发展研究", ["社会与经济发展研究"]),
        ("综合股 法规股", ["综合股", "法规股"]),
        ("市府办〔市大数据局〕、各成员单位", ["市府办〔市大数据局〕", "各成员单位"]),
        ("市府办（市大数据局、市政数局）", ["市府办（市大数据局、市政数局）"]),
        ("由办公室", ["办公室"]),
        ("各股室等", ["各股室"]),
        ("", []),
        ("、、", []),
    ],
)
def test_split_section_names(raw, names):
    assert split_section_names(raw) == names


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("综合股", True),
        ("办信科", True),
        ("土地储备中心", True),
        ("市府办〔市大数据局〕", True),
        ("各成员单位", True),
        ("局属各单位", True),
        ("社会经济调查队", True),
        ("认真", False),
        ("做好统筹协调", False),
        ("", False),
    ],
)
def test_looks_like_unit(name, ok):
    assert looks_like_unit(name) is ok


# ---- extract_annotation ----

ANNOTATION_CASES = [
    # (item text, leads, responsibles, annotation text, text without annotation)
    (
        "深化统计数据公开。主动公开统计数据。（牵头股室：综合股，责任股室：各相关股室）",
        ["综合股"],
        ["各相关股室"],
        "（牵头股室：综合股，责任股室：各相关股室）",
        "深化统计数据公开。主动公开统计数据。",
    ),
    (
        "深化統計數據公開。主動公開。(牽頭股室:綜合股,責任股室:各相關股室)",
        ["綜合股"],
        ["各相關股室"],
        "(牽頭股室:綜合股,責任股室:各相關股室)",
        "深化統計數據公開。主動公開。",
    ),
    (
        "深化统计知识公开。及时更新。（牵头股室：综合股、法规股，责任股室：各相关股室）",
        ["综合股", "法规股"],
        ["各相关股室"],
        "（牵头股室：综合股、法规股，责任股室：各相关股室）",
        "深化统计知识公开。及时更新。",
    ),
    (
        "加强解读。(牽頭單位:綜合股、辦公室,責任單位:各股室、普查中心)",
        ["綜合股", "辦公室"],
        ["各股室", "普查中心"],
        "(牽頭單位:綜合股、辦公室,責任單位:各股室、普查中心)",
        "加强解读。",
    ),
    (
        "规范信访事项办理。（牵头科室：办信科；责任科室：督查科）",
        ["办信科"],
        ["督查科"],
        "（牵头科室：办信科；责任科室：督查科）",
        "规范信访事项办理。",
    ),
    (
        "规范信访事项办理。（牵头部门：区政府办，配合部门：各街道、各部门）。",
        ["区政府办"],
        ["各街道", "各部门"],
        "（牵头部门：区政府办，配合部门：各街道、各部门）",
        "规范信访事项办理。",
    ),
    (
        "做好数据发布。（牵头股室：综合股，配合股室：法规股）",
        ["综合股"],
        ["法规股"],
        "（牵头股室：综合股，配合股室：法规股）",
        "做好数据发布。",
    ),
    (
        "做好数据发布。（牵头领导：张三，牵头股室：综合股，配合单位：统计信息中心）",
        ["综合股"],
        ["统计信息中心"],
        "（牵头领导：张三，牵头股室：综合股，配合单位：统计信息中心）",
        "做好数据发布。",
    ),
    (
        "做好数据发布。（责任单位：市府办（牵头）、各成员单位）",
        ["市府办"],
        ["各成员单位"],
        "（责任单位：市府办（牵头）、各成员单位）",
        "做好数据发布。",
    ),
    (
        "做好数据发布。（牵头股室：综合股，责任股室：综合股、法规股）",
        ["综合股"],
        ["法规股"],
        "（牵头股室：综合股，责任股室：综合股、法规股）",
        "做好数据发布。",
    ),
    # 括号外的标签
    (
        "做好数据发布。牵头股室：综合股；责任股室：各股室",
        ["综合股"],
        ["各股室"],
        "牵头股室：综合股；责任股室：各股室",
        "做好数据发布。",
    ),
    # 散文式
    (
        "深化公开。（办公室牵头，各股室配合）",
        ["办公室"],
        ["各股室"],
        "（办公室牵头，各股室配合）",
        "深化公开。",
    ),
    (
        "深化公开。（市府办〔市大数据局〕牵头，各成员单位配合）",
        ["市府办〔市大数据局〕"],
        ["各成员单位"],
        "（市府办〔市大数据局〕牵头，各成员单位配合）",
        "深化公开。",
    ),
    (
        "深化公开。（人口与就业股牵头，综合股和统计信息中心配合）",
        ["人口与就业股"],
        ["综合股", "统计信息中心"],
        "（人口与就业股牵头，综合股和统计信息中心配合）",
        "深化公开。",
    ),
    (
        "加强土地出让信息公开。（土地储备中心牵头落实）",
        ["土地储备中心"],
        [],
        "（土地储备中心牵头落实）",
        "加强土地出让信息公开。",
    ),
    ("规范依申请公开。（法制科负责）", ["法制科"], [], "（法制科负责）", "规范依申请公开。"),
    (
        "强化考核。（督查科牵头，各科室按职责分工负责）",
        ["督查科"],
        ["各科室"],
        "（督查科牵头，各科室按职责分工负责）",
        "强化考核。",
    ),
    (
        "加强政务公开。办公室牵头，各科室配合。",
        ["办公室"],
        ["各科室"],
        "办公室牵头，各科室配合",
        "加强政务公开。",
    ),
    (
        "加强政务公开。由辦公室牽頭，各科室配合。",
        ["辦公室"],
        ["各科室"],
        "由辦公室牽頭，各科室配合",
        "加强政务公开。",
    ),
    (
        "推进督查信息公开。督查科牵头落实",
        ["督查科"],
        [],
        "督查科牵头落实",
        "推进督查信息公开。",
    ),
    # 散文混有正文内容：名称照取，正文不删
    (
        "加强政策解读。区政府办牵头，做好统筹协调；各成员单位负责本领域政策解读。",
        ["区政府办"],
        ["各成员单位"],
        "区政府办牵头，做好统筹协调；各成员单位负责本领域政策解读",
        "加强政策解读。区政府办牵头，做好统筹协调；各成员单位负责本领域政策解读。",
    ),
    # 乱码不影响文末标注
    (
        "強化平臺建設。嚴格落實“三審三?!敝贫?,做到多人審查。(牽頭股室:辦公室,責任股室:各股室)",
        ["辦公室"],
        ["各股室"],
        "(牽頭股室:辦公室,責任股室:各股室)",
        "強化平臺建設。嚴格落實“三審三?!敝贫?,做到多人審查。",
    ),
]


@pytest.mark.parametrize(("item", "leads", "resps", "annotation", "text"), ANNOTATION_CASES)
def test_extract_annotation(item, leads, resps, annotation, text):
    ann = extract_annotation(item)
    assert ann.leads == leads
    assert ann.responsibles == resps
    assert ann.annotation_text == annotation
    assert ann.text == text
    assert ann.default_responsible == []
    assert ann.found


@pytest.mark.parametrize(
    "item",
    [
        "认真落实《中华人民共和国政府信息公开条例》（以下简称《条例》）",
        "主动公开统计数据和信息。",
        "实行信息发布归口管理，承办股室负责上传和初审，分管领导复审。",
        "做好公开（含乡镇负责人信息）",
        "",
    ],
)
def test_text_without_annotation_is_left_alone(item):
    ann = extract_annotation(item)
    assert (ann.leads, ann.responsibles, ann.annotation_text) == ([], [], "")
    assert ann.text == item.strip()
    assert not ann.found


@pytest.mark.parametrize(
    ("item", "leads", "defaults", "annotation", "text"),
    [
        (
            "加强平台建设。（牵头股室：办公室；各股室均为责任单位，以下不再列出）",
            ["办公室"],
            ["各股室"],
            "（牵头股室：办公室；各股室均为责任单位，以下不再列出）",
            "加强平台建设。",
        ),
        (
            "加强平台建设。各股室均为责任单位，以下不再列出。",
            [],
            ["各股室"],
            "各股室均为责任单位，以下不再列出",
            "加强平台建设。",
        ),
        (
            "加强平台建设。（牵头股室：办公室，责任股室：各股室，下同）",
            ["办公室"],
            ["各股室"],
            "（牵头股室：办公室，责任股室：各股室，下同）",
            "加强平台建设。",
        ),
        (
            "加强平台建设。（牵头科室：办公室）（各科室、局属各单位均为责任单位，以下不再一一列出）",
            ["办公室"],
            ["各科室", "局属各单位"],
            "（牵头科室：办公室）（各科室、局属各单位均为责任单位，以下不再一一列出）",
            "加强平台建设。",
        ),
        (
            "加強平臺建設。(牽頭股室:辦公室;各股室均為責任單位,以下不再列出)",
            ["辦公室"],
            ["各股室"],
            "(牽頭股室:辦公室;各股室均為責任單位,以下不再列出)",
            "加強平臺建設。",
        ),
    ],
)
def test_default_clause(item, leads, defaults, annotation, text):
    ann = extract_annotation(item)
    assert ann.leads == leads
    assert ann.default_responsible == defaults
    assert ann.responsibles == defaults
    assert ann.annotation_text == annotation
    assert ann.text == text


def test_find_default_clause_in_preamble_gives_names_and_span():
    preamble = "结合我局实际，制定本要点。各科室均为责任单位，以下不再列出。"
    found = find_default_clause(preamble)
    assert found is not None
    names, (start, end) = found
    assert names == ["各科室"]
    assert preamble[start:end] == "各科室均为责任单位，以下不再列出"
    assert find_default_clause("各科室要高度重视。") is None


def test_annotation_keeps_table_parser_aliases():
    ann = extract_annotation("（综合股牵头，各相关股室配合）")
    assert isinstance(ann, Annotation)
    assert ann.lead_sections == ["综合股"]
    assert ann.responsible_sections == ["各相关股室"]
