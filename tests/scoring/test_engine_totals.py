"""考核评分引擎（engine）的合计：不适用指标剔除后折算、规则上限与扣完为止、得分制指标封顶、加分池上限与门槛、
等次、期间汇总（季度、日常与年终）、名次与分数显示。每种规则本身在 test_engine.py。

不访问数据库（不带 db 夹具）。
"""

from __future__ import annotations

import pytest

from scoring import engine
from scoring.engine import Assessment, BonusItem, GradeBand, Kind, Mode
from tests.scoring.test_engine import (  # noqa: F401  (夹具按名字生效)
    D,
    every_result_keeps_the_ledger_invariant,
    ind,
    occ,
    one_line,
    rule,
    rule_lines,
    ruleset,
    score,
    unit,
)

# ---- not applicable (无对外服务的单位) and rescaling ------------------------------------------------------


def test_not_applicable_indicator_is_removed_and_total_rescaled():
    rules = [
        rule("R1", "A", Kind.PER_OCCURRENCE, "逾期未报送进展", "tasks_overdue", points=2),
        rule("NA1", "S", Kind.NOT_APPLICABLE, "无对外服务事项", "no_public_service"),
        rule("R2", "S", Kind.PER_OCCURRENCE, "办件超期", "late_cases", points=5),
    ]
    rs = ruleset([ind("A", 60, name="公开工作"), ind("S", 40, name="政务服务")], rules)
    facts = {"tasks_overdue": occ("t1", "t2", "t3"), "no_public_service": True, "late_cases": occ("x")}
    result = score(rs, facts)
    reasons = [line.reason for line in result.lines]
    assert reasons == [
        "公开工作：基础分60分",
        "逾期未报送进展3项，每项扣2分，共扣6分",
        "政务服务：本单位不适用，剔除该指标（权重40分）",
        "剔除不适用指标40分后，适用指标得分54分按100÷60折算为90分",
    ]
    assert result.lines[-1].points == D(36)  # 54 × 100 ÷ 60 = 90，折算行 +36
    assert (result.total, result.grade) == (D("90.00"), "优秀")
    assert "S" not in result.indicator_scores


def test_not_applicable_on_a_parent_removes_its_children_and_rescales_with_repeating_decimals():
    indicators = [
        ind("1", 70, name="公开"),
        ind("1.1", 70, parent="1", name="主动公开"),
        ind("2", 30, name="服务"),
        ind("2.1", 20, parent="2", name="大厅"),
        ind("2.2", 10, parent="2", name="热线"),
    ]
    rules = [
        rule("R1", "1.1", Kind.PER_OCCURRENCE, "信息发布不及时", "late_items", points=1, measure="条"),
        rule("NA", "2", Kind.NOT_APPLICABLE, "无对外服务", "no_service"),
    ]
    rs = ruleset(indicators, rules)
    result = score(rs, {"late_items": occ("i1"), "no_service": True})
    # 69 × 100 ÷ 70 = 98.571428…，四舍五入 98.57
    assert result.total == D("98.57")
    assert result.lines[-1].reason == "剔除不适用指标30分后，适用指标得分69分按100÷70折算为98.57分"
    assert [line.reason for line in result.lines if "不适用" in line.reason][:2] == [
        "大厅：本单位不适用，剔除该指标（权重20分）",
        "热线：本单位不适用，剔除该指标（权重10分）",
    ]


# ---- caps: rule cap, 扣完为止, earn-mode ceiling ----------------------------------------------------------


def test_rule_cap_limits_one_rules_deduction():
    capped = rule(
        "R1", "A", Kind.PER_OCCURRENCE, "元数据错误", "metadata_errors", points=2, cap=6, measure="条"
    )
    rs = ruleset([ind("A", 20)], [capped])
    line = one_line(score(rs, {"metadata_errors": occ(*"abcde")}), "R1")
    assert line.points == D(-6)
    assert line.reason == "元数据错误5条，每条扣2分，共扣10分；本条扣分上限6分，实扣6分"


def test_deductions_stop_at_zero():
    rules = [
        rule("R1", "A", Kind.PER_OCCURRENCE, "逾期未报送进展", "tasks_overdue", points=2),
        rule("C1", "A", Kind.CONDITION, "未备案", "not_filed", points=5),
    ]
    rs = ruleset([ind("A", 5, name="进展报送"), ind("B", 95)], rules)
    result = score(rs, {"tasks_overdue": occ("t1", "t2", "t3", "t4"), "not_filed": True})
    assert [(line.points, line.reason) for line in result.lines if line.rule] == [
        (D(-5), "逾期未报送进展4项，每项扣2分，共扣8分；本指标仅剩5分，扣完为止，实扣5分"),
        (D(0), "未备案，扣5分；本指标仅剩0分，扣完为止，实扣0分"),
    ]
    assert result.indicator_scores == {"A": D(0), "B": D(95)}
    assert result.total == D("95.00")


def test_earn_mode_indicator_never_exceeds_its_weight():
    rules = [
        rule("P1", "E", Kind.PRESENCE, "建立工作台账", "ledger_kept", points=6, absent_points=0),
        rule("P2", "E", Kind.PER_ITEM, "开设专栏", "columns", points=2),
    ]
    rs = ruleset([ind("E", 10, mode=Mode.EARN)], rules)
    result = score(rs, {"ledger_kept": True, "columns": occ("a", "b", "c")})
    assert one_line(result, "P2").reason == "开设专栏3项，每项得2分，得6分；本指标最高10分，已得6分，实得4分"
    assert one_line(result, "P2").points == D(4)
    assert result.indicator_scores["E"] == D(10)


# ---- bonus pool: cap and gate (strictly 超过) -------------------------------------------------------------


def _gate_scheme(gate=80, cap=8):
    rules = [
        rule("D1", "A", Kind.DISCRETIONARY, "综合评价", "assessed"),
        rule("B1", "X", Kind.BONUS, "受到表彰", "awards", points=3),
    ]
    return ruleset([ind("A", 100, mode=Mode.EARN), ind("X", 0)], rules, bonus_cap=cap, bonus_gate=gate)


def _awards(n):
    return tuple(BonusItem(f"a{i}", f"表彰{i}", "文号") for i in range(1, n + 1))


def test_bonus_pool_is_capped():
    result = score(_gate_scheme(), {"assessed": Assessment(D(85), "好"), "awards": _awards(4)})
    assert [(line.points, line.reason) for line in rule_lines(result, "B1")] == [
        (D(3), "受到表彰（表彰1），加3分"),
        (D(3), "受到表彰（表彰2），加3分"),
        (D(2), "受到表彰（表彰3），加3分；加分合计不超过8分，此前已加6分，实加2分"),
        (D(0), "受到表彰（表彰4），加3分；加分合计不超过8分，此前已加8分，实加0分"),
    ]
    assert (result.bonus, result.total) == (D(8), D("93.00"))


@pytest.mark.parametrize(
    ("base", "bonus", "total", "note"),
    [
        ("80", "0", "80.00", "受到表彰（表彰1），加3分；基础分80分未超过80分，不计加分"),
        ("79.5", "0", "79.50", "受到表彰（表彰1），加3分；基础分79.5分未超过80分，不计加分"),
        ("80.004", "0", "80.00", "受到表彰（表彰1），加3分；基础分80分未超过80分，不计加分"),
        ("80.005", "3", "83.01", "受到表彰（表彰1），加3分"),
        ("80.01", "3", "83.01", "受到表彰（表彰1），加3分"),
    ],
)
def test_bonus_gate_requires_base_strictly_above_threshold(base, bonus, total, note):
    result = score(_gate_scheme(), {"assessed": Assessment(D(base), "评价"), "awards": _awards(1)})
    line = one_line(result, "B1")
    assert (line.points, line.reason) == (D(bonus), note)
    assert result.total == D(total)


def test_bonus_pool_default_cap_is_zero():
    result = score(
        _gate_scheme(gate=None, cap=0), {"assessed": Assessment(D(90), "好"), "awards": _awards(1)}
    )
    assert one_line(result, "B1").points == 0
    assert result.total == D("90.00")


# ---- grade bands ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assessed", "total", "grade"),
    [
        ("100", "100.00", "优秀"),
        ("90", "90.00", "优秀"),
        ("89.995", "90.00", "优秀"),  # 四舍五入后恰好 90
        ("89.994", "89.99", "良好"),
        ("80", "80.00", "良好"),
        ("79.995", "80.00", "良好"),
        ("79.99", "79.99", "合格"),
        ("60", "60.00", "合格"),
        ("59.994", "59.99", "不合格"),
        ("0", "0.00", "不合格"),
    ],
)
def test_grade_bands_at_boundaries(assessed, total, grade):
    rs = ruleset(
        [ind("A", 100, mode=Mode.EARN)], [rule("D1", "A", Kind.DISCRETIONARY, "综合评价", "assessed")]
    )
    result = score(rs, {"assessed": Assessment(D(assessed), "评价")})
    assert (result.total, result.grade) == (D(total), grade)


def test_score_below_every_band_is_a_fail_even_without_a_bottom_band():
    bands = (GradeBand("优秀", D(90)), GradeBand("良好", D(80)), GradeBand("合格", D(60)))
    rs = ruleset(
        [ind("A", 100, mode=Mode.EARN)], [rule("D1", "A", Kind.DISCRETIONARY, "评价", "x")], grade_bands=bands
    )
    assert score(rs, {"x": Assessment(D(50), "差")}).grade == "不合格"
    assert score(rs, {"x": Assessment(D(61), "一般")}).grade == "合格"


def test_no_grade_bands_means_no_grade():
    rs = ruleset([ind("A", 100)], [], grade_bands=())
    assert score(rs, {}).grade == ""


# ---- periods: roll-up ----------------------------------------------------------------------------------


def _period_results(rs, scores):
    return [
        engine.score_unit(rs, unit({"assessed": Assessment(D(v), "评价")}, period=p))
        for p, v in scores.items()
    ]


def _period_scheme(weights):
    return ruleset(
        [ind("A", 100, mode=Mode.EARN)],
        [
            rule("D1", "A", Kind.DISCRETIONARY, "综合评价", "assessed"),
            rule("V1", "A", Kind.VETO, "泄密", "leak"),
        ],
        period_weights={k: D(v) for k, v in weights.items()},
    )


QUARTERS = {"2023Q1": "0.25", "2023Q2": "0.25", "2023Q3": "0.25", "2023Q4": "0.25"}


def test_four_quarters_roll_up_at_25_percent_each():
    rs = _period_scheme(QUARTERS)
    results = _period_results(rs, {"2023Q1": "90", "2023Q2": "85.5", "2023Q3": "80", "2023Q4": "94.25"})
    rolled = engine.roll_up(rs, "综合股", results, period="2023")
    # 22.5 + 21.375 + 20 + 23.5625 = 87.4375 → 87.44
    assert [(line.points, line.reason) for line in rolled.lines] == [
        (D("22.5"), "2023Q1得分90分 × 权重25% = 22.5分"),
        (D("21.375"), "2023Q2得分85.5分 × 权重25% = 21.375分"),
        (D("20"), "2023Q3得分80分 × 权重25% = 20分"),
        (D("23.5625"), "2023Q4得分94.25分 × 权重25% = 23.5625分"),
    ]
    assert (rolled.total, rolled.grade, rolled.vetoed) == (D("87.44"), "良好", False)
    assert sum(line.points for line in rolled.lines) == rolled.raw_total == D("87.4375")
    assert {line.period for line in rolled.lines} == {"2023"}


def test_quarter_roll_up_counts_a_missing_quarter_as_zero():
    rs = _period_scheme(QUARTERS)
    results = _period_results(rs, {"2023Q1": "90", "2023Q2": "85.5", "2023Q3": "80"})
    rolled = engine.roll_up(rs, "综合股", results)
    assert rolled.lines[-1].reason == "2023Q4无得分记录，按0分计（权重25%）"
    assert rolled.lines[-1].points == 0
    # 22.5 + 21.375 + 20 + 0 = 63.875 → 63.88
    assert (rolled.total, rolled.grade) == (D("63.88"), "合格")
    assert sum(line.points for line in rolled.lines) == rolled.raw_total


@pytest.mark.parametrize(
    ("scores", "total", "grade", "reasons"),
    [
        (
            {"日常": "92", "年终": "85"},
            "90.60",
            "优秀",
            ["日常得分92分 × 权重80% = 73.6分", "年终得分85分 × 权重20% = 17分"],
        ),
        (
            {"日常": "92"},
            "73.60",
            "合格",
            ["日常得分92分 × 权重80% = 73.6分", "年终无得分记录，按0分计（权重20%）"],
        ),
        (
            {"年终": "88.88"},
            "17.78",
            "不合格",
            ["日常无得分记录，按0分计（权重80%）", "年终得分88.88分 × 权重20% = 17.776分"],
        ),
    ],
)
def test_daily_80_and_year_end_20_roll_up(scores, total, grade, reasons):
    rs = _period_scheme({"日常": "0.8", "年终": "0.2"})
    rolled = engine.roll_up(rs, "综合股", _period_results(rs, scores))
    assert [line.reason for line in rolled.lines] == reasons
    assert (rolled.total, rolled.grade) == (D(total), grade)
    assert sum(line.points for line in rolled.lines) == rolled.raw_total


def test_roll_up_with_a_vetoed_period_fails_the_year():
    rs = _period_scheme({"日常": "0.8", "年终": "0.2"})
    results = [
        engine.score_unit(rs, unit({"assessed": Assessment(D(95), "好")}, period="日常")),
        engine.score_unit(rs, unit({"leak": True}, period="年终")),
    ]
    rolled = engine.roll_up(rs, "综合股", results)
    assert (rolled.total, rolled.grade, rolled.vetoed) == (D("0.00"), "不合格", True)
    assert rolled.lines[-1].reason == "期间内有一票否决事项，年度评为不合格"
    assert sum(line.points for line in rolled.lines) == 0


# ---- rank ----------------------------------------------------------------------------------------------


def test_rank_gives_ties_the_same_place_and_vetoed_units_come_last():
    rs = ruleset(
        [ind("A", 100, mode=Mode.EARN)],
        [
            rule("D1", "A", Kind.DISCRETIONARY, "综合评价", "assessed"),
            rule("V1", "A", Kind.VETO, "泄密", "leak"),
        ],
    )
    scores = {"综合股": "95", "法规股": "89.995", "农业股": "90", "工业股": "85", "贸易股": "99"}
    results = [
        engine.score_unit(rs, unit({"assessed": Assessment(D(v), "评价")}, name=n)) for n, v in scores.items()
    ]
    results.append(engine.score_unit(rs, unit({"leak": True}, name="投资股")))
    results.append(engine.score_unit(rs, unit({"assessed": Assessment(D(0), "未开展")}, name="普查中心")))
    assert engine.rank(results) == {
        "贸易股": 1,
        "综合股": 2,
        "法规股": 3,  # 89.995 → 90.00，与农业股并列
        "农业股": 3,
        "工业股": 5,
        "普查中心": 6,
        "投资股": 7,
    }


def test_rank_of_nothing_is_empty():
    assert engine.rank([]) == {}


# ---- display helper ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("2.50", "2.5"),
        ("3.00", "3"),
        ("100", "100"),
        ("-0", "0"),
        ("0.00", "0"),
        ("-1.70", "-1.7"),
        ("1E+2", "100"),
    ],
)
def test_fmt_drops_trailing_zeros_and_negative_zero(value, text):
    assert engine.fmt(D(value)) == text


@pytest.mark.parametrize(
    ("value", "rounded"), [("89.995", "90.00"), ("89.994999", "89.99"), ("-0.005", "-0.01")]
)
def test_round_score_is_half_up_to_two_places(value, rounded):
    assert engine.round_score(D(value)) == D(rounded)


def test_negative_total_falls_into_the_bottom_catch_all_band_whatever_its_name():
    bands = (GradeBand("好", D(90)), GradeBand("一般", D(60)), GradeBand("较差", D(0)))
    rules = [rule("N1", "A", Kind.NOTICE, "受到通报批评", "notices", points=3)]
    rs = ruleset([ind("A", 2)], rules, grade_bands=bands)
    result = score(rs, {"notices": occ("n1")})
    assert (result.total, result.grade) == (D("-1.00"), "较差")
    assert score(ruleset([ind("A", 2)], rules), {"notices": occ("n1")}).grade == "不合格"
