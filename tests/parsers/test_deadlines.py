"""时限要求解析（年底前、6月底前、每季度、长期坚持、及时）的表驱动测试；纯函数，不用数据库。"""

from __future__ import annotations

import datetime

import pytest

from workplan.parsers.deadlines import Deadline, cn_number, find_deadline_in_body, parse_deadline

D = datetime.date


@pytest.mark.parametrize(
    ("phrase", "year", "due", "recurrence", "text"),
    [
        # 年底
        ("年底前", 2023, D(2023, 12, 31), "", "年底前"),
        ("年内", 2023, D(2023, 12, 31), "", "年内"),
        ("年底", 2023, D(2023, 12, 31), "", "年底"),
        ("年内完成", 2023, D(2023, 12, 31), "", "年内"),
        ("2024年底前", 2023, D(2024, 12, 31), "", "2024年底前"),
        ("2023年年底前", None, D(2023, 12, 31), "", "2023年年底前"),
        # 月底
        ("6月底前", 2023, D(2023, 6, 30), "", "6月底前"),
        ("6月底", 2023, D(2023, 6, 30), "", "6月底"),
        ("6月末", 2023, D(2023, 6, 30), "", "6月末"),
        ("六月底前", 2023, D(2023, 6, 30), "", "六月底前"),
        ("十二月底前", 2023, D(2023, 12, 31), "", "十二月底前"),
        ("６月底前", 2023, D(2023, 6, 30), "", "６月底前"),
        ("11月份前", 2023, D(2023, 11, 30), "", "11月份前"),
        ("2月底前", 2023, D(2023, 2, 28), "", "2月底前"),
        ("2月底前", 2024, D(2024, 2, 29), "", "2月底前"),
        ("2024年3月底前", 2023, D(2024, 3, 31), "", "2024年3月底前"),
        ("2024年3月底前", None, D(2024, 3, 31), "", "2024年3月底前"),
        # 具体日期
        ("9月30日前", 2023, D(2023, 9, 30), "", "9月30日前"),
        ("9月30日", 2023, D(2023, 9, 30), "", "9月30日"),
        ("９月３０日前", 2023, D(2023, 9, 30), "", "９月３０日前"),
        ("九月三十日前", 2023, D(2023, 9, 30), "", "九月三十日前"),
        ("1月31日之前", 2024, D(2024, 1, 31), "", "1月31日之前"),
        ("2023年10月8日前", None, D(2023, 10, 8), "", "2023年10月8日前"),
        ("6月1日至6月30日", 2023, D(2023, 6, 30), "", "6月1日至6月30日"),
        ("2月30日前", 2023, None, "", "2月30日前"),
        # 半年、季度
        ("上半年", 2023, D(2023, 6, 30), "", "上半年"),
        ("上半年完成", 2023, D(2023, 6, 30), "", "上半年"),
        ("下半年", 2023, D(2023, 12, 31), "", "下半年"),
        ("第三季度", 2023, D(2023, 9, 30), "", "第三季度"),
        ("第一季度末", 2023, D(2023, 3, 31), "", "第一季度末"),
        ("一季度末", 2023, D(2023, 3, 31), "", "一季度末"),
        ("四季度前", 2023, D(2023, 12, 31), "", "四季度前"),
        ("第2季度", 2023, D(2023, 6, 30), "", "第2季度"),
        # 周期
        ("每季度", 2023, None, "quarterly", "每季度"),
        ("按季度", 2023, None, "quarterly", "按季度"),
        ("季度", 2023, None, "quarterly", "季度"),
        ("每一季度", 2023, None, "quarterly", "每一季度"),
        ("每季度末", 2023, None, "quarterly", "每季度末"),
        ("每季度第一个月8日前", 2023, None, "quarterly", "每季度第一个月8日前"),
        ("每月", 2023, None, "monthly", "每月"),
        ("按月", 2023, None, "monthly", "按月"),
        ("每月10日前", 2023, None, "monthly", "每月10日前"),
        ("每半年", 2023, None, "half_yearly", "每半年"),
        ("每年", 2023, None, "yearly", "每年"),
        # 持续
        ("长期坚持", 2023, None, "continuous", "长期坚持"),
        ("長期堅持", 2023, None, "continuous", "長期堅持"),
        ("持续推进", 2023, None, "continuous", "持续推进"),
        ("持續推進", 2023, None, "continuous", "持續推進"),
        ("持续开展", 2023, None, "continuous", "持续开展"),
        ("长期", 2023, None, "continuous", "长期"),
        ("常态化", 2023, None, "continuous", "常态化"),
        ("及时", 2023, None, "continuous", "及时"),
        ("及時", 2023, None, "continuous", "及時"),
        # 日期与周期同时出现：两者都保留
        ("每年1月31日前", 2023, D(2023, 1, 31), "yearly", "每年1月31日前"),
        ("6月底前完成，此后每季度更新", 2023, D(2023, 6, 30), "quarterly", "6月底前；每季度"),
        ("长期坚持，年底前完成", 2023, D(2023, 12, 31), "continuous", "长期坚持，年底前"),  # 相邻时取原文整段
        # 周期优先于持续，明确时限优先于“及时”
        ("长期坚持，每月更新", 2023, None, "monthly", "每月"),
        ("及时发布，9月30日前", 2023, D(2023, 9, 30), "", "9月30日前"),
        # 没有年份时不给日期
        ("年底前", None, None, "", "年底前"),
        ("6月底前", None, None, "", "6月底前"),
    ],
)
def test_parse_deadline_phrases(phrase, year, due, recurrence, text):
    found = parse_deadline(phrase, year=year)
    assert (found.due_date, found.recurrence, found.text) == (due, recurrence, text)


@pytest.mark.parametrize("phrase", ["", "   ", "按要求完成", "6月前", "去年底", "无"])
def test_unrecognised_phrase_gives_empty_deadline(phrase):
    found = parse_deadline(phrase, year=2023)
    assert found == Deadline()
    assert not found.found


@pytest.mark.parametrize(
    ("body", "due", "recurrence", "text"),
    [
        # 明确日期优先，多个时取最晚
        ("及时发布数据，6月底前完成方案，年底前全面完成。", D(2023, 12, 31), "", "年底前"),
        ("制定实施方案，6月底前完成。", D(2023, 6, 30), "", "6月底前"),
        ("於9月30日前完成網站改版。", D(2023, 9, 30), "", "9月30日前"),
        # 带“前”的截止说法优先于单纯日期
        ("于5月15日召开动员会，10月底前完成整改。", D(2023, 10, 31), "", "10月底前"),
        ("于5月15日召开动员会。", D(2023, 5, 15), "", "5月15日"),
        # 周期说法写在句中
        ("黨組書記、局長每季度聽取政務公開工作匯報，及時研究。", None, "quarterly", "每季度"),
        ("每月更新一次数据。", None, "monthly", "每月"),
        ("每半年开展一次自查。", None, "half_yearly", "每半年"),
        ("每年1月31日前发布上一年度报告。", D(2023, 1, 31), "yearly", "每年1月31日前"),
        ("6月底前完成，之后每季度更新。", D(2023, 6, 30), "quarterly", "6月底前；每季度"),
        # 持续类
        ("持續推進決策、執行、管理、服務、結果“五公開”，及時公開。", None, "continuous", "持續推進"),
        ("常态化开展政务公开培训。", None, "continuous", "常态化"),
        ("长期坚持，确保公开质量。", None, "continuous", "长期坚持"),
        # “及时”只在没有更好的说法时才用
        ("及时更新统计知识，解读统计指标和政策法规。", None, "continuous", "及时"),
        ("及时发布数据，9月30日前完成。", D(2023, 9, 30), "", "9月30日前"),
    ],
)
def test_find_deadline_in_body(body, due, recurrence, text):
    found = find_deadline_in_body(body, year=2023)
    assert found is not None
    assert (found.due_date, found.recurrence, found.text) == (due, recurrence, text)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "按时发布政务公开工作年度报告。",  # “年度报告”不是周期
        "把政务公开列入局全年工作目标。",
        "对落实要求不得力、不及时的责任股室予以通报批评。",  # “不及时”不是时限
        "做好第五次经济普查公开。",
        "长期以来形成的工作机制。",
        "上年度工作总结。",
    ],
)
def test_body_without_deadline_gives_none(body):
    assert find_deadline_in_body(body, year=2023) is None


def test_body_plain_quarter_word_is_not_a_recurrence_but_cell_is():
    assert find_deadline_in_body("报送季度报告。", year=2023) is None
    assert parse_deadline("季度", year=2023).recurrence == "quarterly"


def test_deadline_is_frozen_and_exposes_found():
    found = parse_deadline("年底前", year=2023)
    assert found.found
    with pytest.raises(AttributeError):
        found.text = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1", 1),
        ("12", 12),
        ("一", 1),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("三十一", 31),
        ("二〇二三", 2023),
        ("", None),
        ("甲", None),
        ("一二", None),
    ],
)
def test_cn_number(text, number):
    assert cn_number(text) == number
