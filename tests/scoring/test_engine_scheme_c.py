"""考核评分引擎：仿真实细则 (c) 的完整算例——加分门槛（超过80分方可加分）、一票否决、不适用指标剔除后折算
（每个单位的总分都在 docstring 里手算一遍）。不访问数据库。"""

from __future__ import annotations

from scoring import engine
from scoring.engine import Assessment, BonusItem, Kind, Mode
from tests.scoring.test_engine import (  # noqa: F401  (夹具按名字生效)
    D,
    check_invariant,
    every_result_keeps_the_ledger_invariant,
    ind,
    occ,
    rule,
    ruleset,
    unit,
)
from tests.scoring.test_engine_schemes import items, lines_of

# =========================================================================================================
# (c) 加分门槛（超过80分方可加分）、一票否决、不适用指标剔除后折算
# =========================================================================================================

SCHEME_C = ruleset(
    [
        ind("1", 50, name="主动公开"),
        ind("2", 20, name="依申请公开"),
        ind("3", 30, mode=Mode.EARN, name="政务服务"),
        ind("3.1", 20, parent="3", mode=Mode.EARN, name="大厅服务"),
        ind("3.2", 10, parent="3", name="办事指南"),
        ind("9", 0, name="加分与倒扣"),
    ],
    [
        rule("c0", "1", Kind.VETO, "发生泄密或重大舆情事件", "leak"),
        rule("c1", "1", Kind.PER_OCCURRENCE, "信息发布不及时", "late_items", points=1, measure="条"),
        rule("c2", "1", Kind.CONDITION, "未按时发布年度报告", "annual_report_late", points=5),
        rule("c3", "2", Kind.NOT_APPLICABLE, "全年未收到政府信息公开申请", "no_applications"),
        rule("c4", "2", Kind.PER_OCCURRENCE, "逾期答复", "overdue_replies", points=4, measure="件"),
        rule("c5", "3", Kind.NOT_APPLICABLE, "无对外服务事项", "no_public_service"),
        rule("c6", "3.1", Kind.DISCRETIONARY, "政务服务大厅公开情况", "hall_assessment"),
        rule("c7", "3.2", Kind.PER_OCCURRENCE, "办事指南要素缺失", "guide_errors", points="0.5"),
        rule("c8", "9", Kind.BONUS, "创新做法被上级推广", "innovations", points=2, evidence_required=True),
        rule("c9", "9", Kind.BONUS, "受到表彰", "awards", points=3),
        rule("c10", "9", Kind.NOTICE, "受到县级通报批评", "notices", points=1),
    ],
    bonus_cap=5,
    bonus_gate=80,
)


def test_scheme_c_office_rescaled_then_passes_the_gate():
    """综合办（全年未收到申请 → 依申请公开 20 分不适用）：

    1   主动公开      50 − 1 × 3                                 = 47
    2   依申请公开    不适用，剔除 20 分
    3.1 大厅服务      酌情 17 分                                  = 17
    3.2 办事指南      10 − 0.5 × 2                               = 9
    适用指标得分 47 + 17 + 9 = 73，按 100 ÷ (100 − 20) 折算：73 × 100 ÷ 80 = 91.25（折算行 +18.25）
    门槛：91.25 > 80，可以加分；创新 +2（有材料）+ 表彰 +3 = 5，未超过池上限 5
    总分 91.25 + 5 = 96.25 → 96.25，优秀
    """
    facts = {
        "late_items": items(3),
        "no_applications": True,
        "overdue_replies": items(1),  # 不适用指标下的事实不计
        "hall_assessment": Assessment(D(17), "公开栏目齐全，个别事项未及时更新"),
        "guide_errors": items(2, "g"),
        "innovations": (BonusItem("in1", "“一网通办”公开做法", "县政务公开办简报第3期"),),
        "awards": (BonusItem("aw1", "县级表彰"),),
    }
    result = check_invariant(engine.score_unit(SCHEME_C, unit(facts, name="综合办")))
    assert lines_of(result) == [
        ("1", "", "50", "主动公开：基础分50分"),
        ("1", "c1", "-3", "信息发布不及时3条，每条扣1分，共扣3分"),
        ("2", "", "0", "依申请公开：本单位不适用，剔除该指标（权重20分）"),
        ("3.1", "c6", "17", "政务服务大厅公开情况：公开栏目齐全，个别事项未及时更新，得17分"),
        ("3.2", "", "10", "办事指南：基础分10分"),
        ("3.2", "c7", "-1", "办事指南要素缺失2项，每项扣0.5分，共扣1分"),
        ("", "", "18.25", "剔除不适用指标20分后，适用指标得分73分按100÷80折算为91.25分"),
        ("9", "c8", "2", "创新做法被上级推广（“一网通办”公开做法），加2分"),
        ("9", "c9", "3", "受到表彰（县级表彰），加3分"),
    ]
    assert (result.base_score, result.bonus) == (D("91.25"), D(5))
    assert (result.total, result.grade) == (D("96.25"), "优秀")


def test_scheme_c_legal_office_rescaled_but_below_the_gate():
    """法规办（依申请公开不适用）：

    1   主动公开      50 − 1 × 10 − 5（年报迟发）                  = 35
    3.1 大厅服务      酌情 14 分                                  = 14
    3.2 办事指南      10 − 0.5 × 4                               = 8
    适用指标得分 35 + 14 + 8 = 57，折算 57 × 100 ÷ 80 = 71.25（折算行 +14.25）
    门槛：71.25 未超过 80 → 表彰 3 分不计
    总分 71.25 → 71.25，合格
    """
    facts = {
        "late_items": items(10),
        "annual_report_late": True,
        "no_applications": True,
        "hall_assessment": Assessment(D(14), "部分事项未公开办理时限"),
        "guide_errors": items(4, "g"),
        "awards": (BonusItem("aw1", "县级表彰"),),
    }
    result = check_invariant(engine.score_unit(SCHEME_C, unit(facts, name="法规办")))
    assert [line.reason for line in result.lines[-2:]] == [
        "剔除不适用指标20分后，适用指标得分57分按100÷80折算为71.25分",
        "受到表彰（县级表彰），加3分；基础分71.25分未超过80分，不计加分",
    ]
    assert result.lines[-1].points == 0
    assert (result.base_score, result.bonus, result.total, result.grade) == (
        D("71.25"),
        D(0),
        D("71.25"),
        "合格",
    )


def test_scheme_c_service_centre_is_vetoed():
    """服务中心：发生泄密事件 → 一票否决，不合格，总分 0，其余事实（逾期、表彰）一概不计。"""
    facts = {"leak": True, "late_items": items(2), "awards": (BonusItem("aw1", "市级表彰"),)}
    result = check_invariant(engine.score_unit(SCHEME_C, unit(facts, name="服务中心")))
    assert lines_of(result) == [("1", "c0", "0", "一票否决：发生泄密或重大舆情事件，评为不合格，不再计分")]
    assert (result.vetoed, result.total, result.grade) == (True, D("0.00"), "不合格")


def test_scheme_c_statistics_office_rescaled_to_exactly_the_gate():
    """统计所（依申请公开、政务服务都不适用，剔除 20 + 30 = 50 分）：

    1   主动公开      50 − 1 × 10                                = 40
    折算 40 × 100 ÷ (100 − 50) = 80（折算行 +40）
    门槛：80 恰好等于 80，不是“超过” → 表彰 3 分不计
    倒扣：县级通报批评 1 次 × 1 = −1（基础分之外）
    总分 80 + 0 − 1 = 79 → 79.00，合格
    """
    facts = {
        "late_items": items(10),
        "no_applications": True,
        "no_public_service": True,
        "awards": (BonusItem("aw1", "县级表彰"),),
        "notices": occ("樟统通〔2023〕2号"),
    }
    result = check_invariant(engine.score_unit(SCHEME_C, unit(facts, name="统计所")))
    assert lines_of(result)[2:] == [
        ("2", "", "0", "依申请公开：本单位不适用，剔除该指标（权重20分）"),
        ("3.1", "", "0", "大厅服务：本单位不适用，剔除该指标（权重20分）"),
        ("3.2", "", "0", "办事指南：本单位不适用，剔除该指标（权重10分）"),
        ("", "", "40", "剔除不适用指标50分后，适用指标得分40分按100÷50折算为80分"),
        ("9", "c9", "0", "受到表彰（县级表彰），加3分；基础分80分未超过80分，不计加分"),
        ("9", "c10", "-1", "受到县级通报批评1次，每次扣1分，共扣1分"),
    ]
    assert (result.base_score, result.bonus, result.penalty) == (D(80), D(0), D(-1))
    assert (result.total, result.grade) == (D("79.00"), "合格")


def test_scheme_c_township_with_repeating_decimal_rescale():
    """经济办（政务服务不适用，剔除 30 分，适用 70 分）：

    1   主动公开      50 − 1 × 2                                 = 48
    2   依申请公开    20 − 4 × 1                                 = 16
    适用指标得分 48 + 16 = 64，折算 64 × 100 ÷ 70 = 91.428571428…（不取整，折算行 +27.428571428…）
    门槛：91.43 > 80；创新 2 项：有材料的 +2，无材料的 0
    总分 91.428571428… + 2 = 93.428571428… → 93.43，优秀（只在最后取整一次）
    """
    facts = {
        "late_items": items(2),
        "overdue_replies": occ("申请〔2023〕4号"),
        "no_public_service": True,
        "innovations": (
            BonusItem("in1", "公开清单动态调整", "县政务公开办通报"),
            BonusItem("in2", "村务公开"),
        ),
    }
    result = check_invariant(engine.score_unit(SCHEME_C, unit(facts, name="经济办")))
    rescale = next(line for line in result.lines if line.indicator == "" and line.rule == "")
    assert rescale.reason == "剔除不适用指标30分后，适用指标得分64分按100÷70折算为91.43分"
    assert rescale.points == D(64) * 100 / 70 - 64
    assert [line.reason for line in result.lines if line.rule == "c8"] == [
        "创新做法被上级推广（公开清单动态调整），加2分",
        "创新做法被上级推广（村务公开）缺少证明材料，不予加分",
    ]
    assert result.raw_total == D(64) * 100 / 70 + 2
    assert (result.total, result.grade) == (D("93.43"), "优秀")


def test_scheme_c_without_any_not_applicable_indicator_does_not_rescale():
    """县政府办（所有指标都适用，无折算）：

    1   主动公开      50 − 1 × 5                                 = 45
    2   依申请公开    20                                         = 20
    3.1 大厅服务      酌情 20 分                                  = 20
    3.2 办事指南      10                                         = 10
    基础分 45 + 20 + 20 + 10 = 95，没有折算行；总分 95.00，优秀
    """
    facts = {"late_items": items(5), "hall_assessment": Assessment(D(20), "全部达标")}
    result = check_invariant(engine.score_unit(SCHEME_C, unit(facts, name="县政府办")))
    assert not [line for line in result.lines if "折算" in line.reason]
    assert result.indicator_scores == {"1": D(45), "2": D(20), "3.1": D(20), "3.2": D(10), "9": D(0)}
    assert (result.total, result.grade) == (D("95.00"), "优秀")
