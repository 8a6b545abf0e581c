"""考核评分引擎：仿真实细则的完整算例（每个单位的总分都在 docstring 里手算一遍）。不访问数据库。

(a) 按次扣分与扣完为止、(b) 有无、数量目标与加分池；
(c) 加分门槛、一票否决与不适用折算见 test_engine_scheme_c.py。
"""

from __future__ import annotations

from scoring import engine
from scoring.engine import BonusItem, Kind, Mode, Occurrence
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


def lines_of(result: engine.UnitResult) -> list[tuple[str, str, str, str]]:
    return [(line.indicator, line.rule, engine.fmt(line.points), line.reason) for line in result.lines]


def items(n: int, prefix: str = "i") -> tuple[Occurrence, ...]:
    return occ(*(f"{prefix}{i}" for i in range(1, n + 1)))


def series(*values) -> tuple[D, ...]:
    return tuple(D(str(v)) for v in values)


# =========================================================================================================
# (a) 100 分制：按次扣分 + 单条上限 + 扣完为止 + 此项不得分（扣分制）
# =========================================================================================================

SCHEME_A = ruleset(
    [
        ind("1", 10, name="组织领导"),
        ind("1.1", 5, parent="1", name="工作机构"),
        ind("1.2", 5, parent="1", name="学习培训"),
        ind("2", 40, name="任务落实"),
        ind("2.1", 20, parent="2", name="进展报送"),
        ind("2.2", 20, parent="2", name="任务完成"),
        ind("3", 30, name="信息发布"),
        ind("3.1", 15, parent="3", name="发布时效"),
        ind("3.2", 15, parent="3", name="信息质量"),
        ind("4", 20, name="依申请公开"),
    ],
    [
        rule("a1", "1.1", Kind.CONDITION, "未明确分管领导和专人负责", "no_contact", points=5),
        rule("a2", "1.2", Kind.CONDITION, "未组织政务公开学习培训", "no_training", points=3),
        rule("a3", "2.1", Kind.PER_OCCURRENCE, "逾期未报送进展", "tasks_overdue", points=2),
        rule("a4", "2.2", Kind.PER_OCCURRENCE, "重点任务未按时完成", "tasks_unfinished", points=5, cap=15),
        rule(
            "a5",
            "3.1",
            Kind.PER_OCCURRENCE,
            "信息发布超过20个工作日",
            "late_items",
            points="0.5",
            measure="条",
        ),
        rule(
            "a6", "3.2", Kind.PER_OCCURRENCE, "元数据错误", "metadata_errors", points=1, cap=5, measure="条"
        ),
        rule("a7", "3.2", Kind.PER_OCCURRENCE, "错链断链", "broken_links", points="0.5", measure="条"),
        rule("a8", "4", Kind.PER_OCCURRENCE, "逾期答复", "overdue_replies", points=4, measure="件"),
        rule("a9", "4", Kind.WHOLE_ITEM, "答复被复议纠错", "reversed_on_review"),
    ],
    lead_share="0.6",
    responsible_share="0.4",
)


def test_scheme_a_comprehensive_section():
    """综合股：

    1.1 工作机构     5                                    = 5
    1.2 学习培训     5 − 3（未组织培训）                    = 2
    2.1 进展报送    20 − 2 ×（0.6 + 0.6 + 0.4 = 1.6项）
                    = 20 − 3.2                            = 16.8
    2.2 任务完成    20 − 5 × 1                            = 15
    3.1 发布时效    15 − 0.5 × 3                          = 13.5
    3.2 信息质量    15 − min(1 × 7, 上限5) − 0.5 × 4
                    = 15 − 5 − 2                          = 8
    4   依申请公开  20                                    = 20
    总分 5 + 2 + 16.8 + 15 + 13.5 + 8 + 20 = 80.3 → 80.30，良好
    """
    facts = {
        "no_contact": False,
        "no_training": True,
        "tasks_overdue": (
            Occurrence("task:1", role="lead"),
            Occurrence("task:2", role="lead"),
            Occurrence("task:3", role="responsible"),
        ),
        "tasks_unfinished": occ("task:4"),
        "late_items": items(3),
        "metadata_errors": items(7, "m"),
        "broken_links": items(4, "l"),
        "overdue_replies": (),
        "reversed_on_review": False,
    }
    result = check_invariant(engine.score_unit(SCHEME_A, unit(facts, name="综合股")))
    assert lines_of(result) == [
        ("1.1", "", "5", "工作机构：基础分5分"),
        ("1.2", "", "5", "学习培训：基础分5分"),
        ("1.2", "a2", "-3", "未组织政务公开学习培训，扣3分"),
        ("2.1", "", "20", "进展报送：基础分20分"),
        (
            "2.1",
            "a3",
            "-3.2",
            "逾期未报送进展3项，按分担比例折算为牵头2项×0.6+责任1项×0.4=1.6项，每项扣2分，共扣3.2分",
        ),
        ("2.2", "", "20", "任务完成：基础分20分"),
        ("2.2", "a4", "-5", "重点任务未按时完成1项，每项扣5分，共扣5分"),
        ("3.1", "", "15", "发布时效：基础分15分"),
        ("3.1", "a5", "-1.5", "信息发布超过20个工作日3条，每条扣0.5分，共扣1.5分"),
        ("3.2", "", "15", "信息质量：基础分15分"),
        ("3.2", "a6", "-5", "元数据错误7条，每条扣1分，共扣7分；本条扣分上限5分，实扣5分"),
        ("3.2", "a7", "-2", "错链断链4条，每条扣0.5分，共扣2分"),
        ("4", "", "20", "依申请公开：基础分20分"),
    ]
    assert result.indicator_scores == {
        "1.1": D(5),
        "1.2": D(2),
        "2.1": D("16.8"),
        "2.2": D(15),
        "3.1": D("13.5"),
        "3.2": D(8),
        "4": D(20),
    }
    assert (result.total, result.grade) == (D("80.30"), "良好")


def test_scheme_a_legal_section_hits_every_cap():
    """法规股：

    1.1 工作机构     5 − 5（未明确专人）                    = 0
    1.2 学习培训     5                                    = 5
    2.1 进展报送    20 − 2 × 12 = 20 − 24，扣完为止，实扣 20  = 0
    2.2 任务完成    20 − 5 × 4 = 20 − 20，单条上限 15，实扣 15 = 5
    3.1 发布时效    15                                    = 15
    3.2 信息质量    15 − 1 × 2                            = 13
    4   依申请公开  20 − 4 × 2 = 12，再“此项不得分” −12       = 0
    总分 0 + 5 + 0 + 5 + 15 + 13 + 0 = 38 → 38.00，不合格
    """
    facts = {
        "no_contact": True,
        "tasks_overdue": items(12, "t"),
        "tasks_unfinished": items(4, "u"),
        "metadata_errors": items(2, "m"),
        "overdue_replies": items(2, "r"),
        "reversed_on_review": True,
    }
    result = check_invariant(engine.score_unit(SCHEME_A, unit(facts, name="法规股")))
    by_rule = {line.rule: (engine.fmt(line.points), line.reason) for line in result.lines if line.rule}
    assert by_rule == {
        "a1": ("-5", "未明确分管领导和专人负责，扣5分"),
        "a3": ("-20", "逾期未报送进展12项，每项扣2分，共扣24分；本指标仅剩20分，扣完为止，实扣20分"),
        "a4": ("-15", "重点任务未按时完成4项，每项扣5分，共扣20分；本条扣分上限15分，实扣15分"),
        "a6": ("-2", "元数据错误2条，每条扣1分，共扣2分"),
        "a8": ("-8", "逾期答复2件，每件扣4分，共扣8分"),
        "a9": ("-12", "答复被复议纠错，此项不得分（计0分，扣12分）"),
    }
    assert result.indicator_scores == {
        "1.1": D(0),
        "1.2": D(5),
        "2.1": D(0),
        "2.2": D(5),
        "3.1": D(15),
        "3.2": D(13),
        "4": D(0),
    }
    assert (result.total, result.grade) == (D("38.00"), "不合格")


def test_scheme_a_census_centre_and_ranking():
    """普查中心：

    2.1 进展报送    20 − 2 × 0.4（作为责任股室的1项）= 20 − 0.8 = 19.2
    3.2 信息质量    15 − 0.5 × 31 = 15 − 15.5，扣完为止，实扣 15 = 0
    其余指标满分：1.1 5 + 1.2 5 + 2.2 20 + 3.1 15 + 4 20 = 65
    总分 65 + 19.2 + 0 = 84.2 → 84.20，良好

    名次：普查中心 84.2（1）> 综合股 80.3（2）> 法规股 38（3）。
    """
    census = check_invariant(
        engine.score_unit(
            SCHEME_A,
            unit(
                {
                    "tasks_overdue": (Occurrence("task:9", role="responsible"),),
                    "broken_links": items(31, "l"),
                },
                name="普查中心",
            ),
        )
    )
    assert [line.reason for line in census.lines if line.rule] == [
        "逾期未报送进展1项，按分担比例折算为责任1项×0.4=0.4项，每项扣2分，共扣0.8分",
        "错链断链31条，每条扣0.5分，共扣15.5分；本指标仅剩15分，扣完为止，实扣15分",
    ]
    assert (census.total, census.grade) == (D("84.20"), "良好")

    comprehensive = engine.score_unit(
        SCHEME_A,
        unit(
            {
                "no_training": True,
                "tasks_overdue": (
                    Occurrence("a", role="lead"),
                    Occurrence("b", role="lead"),
                    Occurrence("c", role="responsible"),
                ),
                "tasks_unfinished": occ("d"),
                "late_items": items(3),
                "metadata_errors": items(7),
                "broken_links": items(4),
            },
            name="综合股",
        ),
    )
    legal = engine.score_unit(
        SCHEME_A,
        unit(
            {
                "no_contact": True,
                "tasks_overdue": items(12),
                "tasks_unfinished": items(4),
                "metadata_errors": items(2),
                "overdue_replies": items(2),
                "reversed_on_review": True,
            },
            name="法规股",
        ),
    )
    assert engine.rank([comprehensive, legal, census]) == {"普查中心": 1, "综合股": 2, "法规股": 3}


# =========================================================================================================
# (b) 100 + 8：有无（有得10分，无扣2分）、数量目标（总量与每月）、按项得分、加分池上限 8 分
# =========================================================================================================

SCHEME_B = ruleset(
    [
        ind("1", 10, mode=Mode.EARN, name="年度报告"),
        ind("2", 30, name="信息发布数量"),
        ind("2.1", 20, parent="2", mode=Mode.EARN, name="全年总量"),
        ind("2.2", 10, parent="2", name="每月发布"),
        ind("3", 20, mode=Mode.EARN, name="专栏建设"),
        ind("4", 40, name="日常工作"),
        ind("9", 0, name="加分项"),
    ],
    [
        rule(
            "b1",
            "1",
            Kind.PRESENCE,
            "按时发布政府信息公开工作年度报告",
            "annual_report_published",
            points=10,
            absent_points=2,
        ),
        rule(
            "b2",
            "2.1",
            Kind.QUANTITY,
            "全年发布政务信息",
            "items_published",
            target=200,
            points=20,
            absent_points=2,
            measure="条",
        ),
        rule(
            "b3",
            "2.2",
            Kind.QUANTITY,
            "每月发布信息",
            "monthly_items",
            target=15,
            absent_points=2,
            blank_points=5,
            measure="条",
        ),
        rule("b4", "3", Kind.PER_ITEM, "开设重点领域专栏", "columns", points=4, cap=12),
        rule("b5", "3", Kind.PRESENCE, "专栏目录完整", "catalog_complete", points=8, absent_points=0),
        rule("b6", "4", Kind.PER_OCCURRENCE, "逾期未报送进展", "tasks_overdue", points=1),
        rule("b7", "4", Kind.CONDITION, "未按时报送季度报告", "quarterly_report_late", points=5),
        rule("b8", "9", Kind.BONUS, "受到市级以上表彰", "awards", points=3, evidence_required=True),
        rule("b9", "9", Kind.BONUS, "信息被上级采用", "adopted", points=1, cap=4),
    ],
    bonus_cap=8,
)


def test_scheme_b_comprehensive_section_fills_the_bonus_pool():
    """综合股：

    1   年度报告      有 → +10                                   = 10
    2.1 全年总量      236条 ≥ 200条 → +20                         = 20
    2.2 每月发布      12个月均 ≥ 15条 → 不扣（+0）                  = 10（扣分制，基础分10）
    3   专栏建设      4项 × 4 = 16，单条上限12 → +12；目录完整 +8     = 20
    4   日常工作      40 − 1 × 1                                  = 39
    基础分 10 + 20 + 10 + 20 + 39 = 99
    加分  表彰 +3 +3（均有文号）= 6；采用 5 条每条 1 分：
          第1条 6+1 = 7，第2条 7+1 = 8，第3条超出池上限 8 → 实加 0，
          第4条同上 → 0，第5条本规则已达上限 4 → 0；加分合计 8
    总分 99 + 8 = 107 → 107.00，优秀
    """
    facts = {
        "annual_report_published": True,
        "items_published": D(236),
        "monthly_items": series(18, 20, 15, 16, 22, 19, 15, 17, 21, 30, 18, 25),
        "columns": items(4, "c"),
        "catalog_complete": True,
        "tasks_overdue": occ("task:5"),
        "quarterly_report_late": False,
        "awards": (
            BonusItem("aw1", "市级表彰", "樟统字〔2023〕5号"),
            BonusItem("aw2", "省级表彰", "赣统字〔2023〕9号"),
        ),
        "adopted": tuple(BonusItem(f"ad{i}", f"信息{i}") for i in range(1, 6)),
    }
    result = check_invariant(engine.score_unit(SCHEME_B, unit(facts, name="综合股")))
    assert lines_of(result) == [
        ("1", "b1", "10", "按时发布政府信息公开工作年度报告：有，得10分"),
        ("2.1", "b2", "20", "全年发布政务信息236条，达到目标200条，得20分"),
        ("2.2", "", "10", "每月发布：基础分10分"),
        ("2.2", "b3", "0", "每月发布信息：各期均不低于15条，得0分"),
        ("3", "b4", "12", "开设重点领域专栏4项，每项得4分，计16分，最高不超过12分，得12分"),
        ("3", "b5", "8", "专栏目录完整：有，得8分"),
        ("4", "", "40", "日常工作：基础分40分"),
        ("4", "b6", "-1", "逾期未报送进展1项，每项扣1分，共扣1分"),
        ("9", "b8", "3", "受到市级以上表彰（市级表彰），加3分"),
        ("9", "b8", "3", "受到市级以上表彰（省级表彰），加3分"),
        ("9", "b9", "1", "信息被上级采用（信息1），加1分"),
        ("9", "b9", "1", "信息被上级采用（信息2），加1分"),
        ("9", "b9", "0", "信息被上级采用（信息3），加1分；加分合计不超过8分，此前已加8分，实加0分"),
        ("9", "b9", "0", "信息被上级采用（信息4），加1分；加分合计不超过8分，此前已加8分，实加0分"),
        ("9", "b9", "0", "信息被上级采用（信息5），本项加分已达上限4分，加0分"),
    ]
    assert (result.base_score, result.bonus) == (D(99), D(8))
    assert (result.total, result.grade) == (D("107.00"), "优秀")


def test_scheme_b_legal_section_loses_points_on_presence_and_quantity():
    """法规股：

    1   年度报告      无 → 细则写明“无扣2分” → −2                   = −2
    2.1 全年总量      150条 < 200条 → 未完成扣2分 → −2                = −2
    2.2 每月发布      低于15条的月：第2月12条、第7月14条 → 2 × 2 = 4；
                      空白月：第3、5月 → 2 × 5 = 10；共扣 14
                      10 − 14，扣完为止，实扣 10                       = 0
    3   专栏建设      1项 × 4 = +4；目录不完整，无扣0分 → 0              = 4
    4   日常工作      40 − 1 × 3 − 5（季度报告迟报）                   = 32
    基础分 −2 − 2 + 0 + 4 + 32 = 32
    加分  表彰1次无证明材料 → 0；采用2条 → +1 +1 = 2
    总分 32 + 2 = 34 → 34.00，不合格
    """
    facts = {
        "annual_report_published": False,
        "items_published": D(150),
        "monthly_items": series(15, 12, 0, 20, 0, 15, 14, 16, 15, 15, 15, 15),
        "columns": occ("c1"),
        "catalog_complete": False,
        "tasks_overdue": items(3, "t"),
        "quarterly_report_late": True,
        "awards": (BonusItem("aw1", "县级表彰"),),
        "adopted": (BonusItem("ad1", "信息1"), BonusItem("ad2", "信息2")),
    }
    result = check_invariant(engine.score_unit(SCHEME_B, unit(facts, name="法规股")))
    by_rule = [(line.rule, engine.fmt(line.points), line.reason) for line in result.lines if line.rule]
    assert by_rule == [
        ("b1", "-2", "按时发布政府信息公开工作年度报告：无，扣2分"),
        ("b2", "-2", "全年发布政务信息150条，未达到目标200条，扣2分"),
        (
            "b3",
            "-10",
            "每月发布信息：2期低于15条（第2、7期），每期扣2分；2期空白（第3、5期），每期扣5分，"
            "共扣14分；本指标仅剩10分，扣完为止，实扣10分",
        ),
        ("b4", "4", "开设重点领域专栏1项，每项得4分，得4分"),
        ("b5", "0", "专栏目录完整：无，扣0分"),
        ("b6", "-3", "逾期未报送进展3项，每项扣1分，共扣3分"),
        ("b7", "-5", "未按时报送季度报告，扣5分"),
        ("b8", "0", "受到市级以上表彰（县级表彰）缺少证明材料，不予加分"),
        ("b9", "1", "信息被上级采用（信息1），加1分"),
        ("b9", "1", "信息被上级采用（信息2），加1分"),
    ]
    assert result.indicator_scores == {
        "1": D(-2),
        "2.1": D(-2),
        "2.2": D(0),
        "3": D(4),
        "4": D(32),
        "9": D(0),
    }
    assert (result.base_score, result.bonus) == (D(32), D(2))
    assert (result.total, result.grade) == (D("34.00"), "不合格")


def test_scheme_b_agriculture_section_meets_the_total_exactly():
    """农业股：

    1   年度报告      有 → +10                                      = 10
    2.1 全年总量      恰好200条 ≥ 200条 → +20                         = 20
    2.2 每月发布      第12月10条 < 15条 → −2                          = 8
    3   专栏建设      3项 × 4 = 12（未超上限）；目录完整 +8 → 12 + 8     = 20
    4   日常工作      无扣分                                          = 40
    基础分 10 + 20 + 8 + 20 + 40 = 98；加分 采用1条 +1
    总分 98 + 1 = 99 → 99.00，优秀
    """
    facts = {
        "annual_report_published": True,
        "items_published": D(200),
        "monthly_items": series(15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 10),
        "columns": items(3, "c"),
        "catalog_complete": True,
        "adopted": (BonusItem("ad1", "信息1"),),
    }
    result = check_invariant(engine.score_unit(SCHEME_B, unit(facts, name="农业股")))
    assert [line.reason for line in result.lines if line.rule in ("b2", "b3")] == [
        "全年发布政务信息200条，达到目标200条，得20分",
        "每月发布信息：1期低于15条（第12期），每期扣2分，共扣2分",
    ]
    assert (result.base_score, result.bonus, result.total, result.grade) == (D(98), D(1), D("99.00"), "优秀")
