"""考核评分引擎（engine）：每种规则的扣分、得分与加分（逐条、一次性、此项不得分、有无、数量目标、逐项计分、
酌情评分、加分佐证、通报批评、一票否决）。其余（不适用折算、上限、加分池与门槛、等次、期间汇总、名次）
在 test_engine_totals.py；两者共用本模块的构造函数与台账不变式夹具。

不访问数据库（不带 db 夹具）。
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from scoring import engine
from scoring.engine import (
    Assessment,
    BonusItem,
    GradeBand,
    Indicator,
    Kind,
    Mode,
    Occurrence,
    Rule,
    RuleSet,
    UnitFacts,
)

D = Decimal

BANDS = (
    GradeBand("优秀", D(90)),
    GradeBand("良好", D(80)),
    GradeBand("合格", D(60)),
    GradeBand("不合格", D(0)),
)


def ind(
    code: str, weight, *, mode: Mode = Mode.DEDUCT, parent: str | None = None, name: str = ""
) -> Indicator:
    return Indicator(code=code, name=name or f"指标{code}", weight=D(str(weight)), parent=parent, mode=mode)


def rule(code: str, indicator: str, kind: Kind, label: str, fact: str = "", **kw) -> Rule:
    for key in ("points", "cap", "absent_points", "target", "blank_points"):
        if key in kw and kw[key] is not None:
            kw[key] = D(str(kw[key]))
    return Rule(code=code, indicator=indicator, kind=kind, label=label, fact=fact or code, **kw)


def ruleset(indicators, rules, **kw) -> RuleSet:
    kw.setdefault("grade_bands", BANDS)
    for key in ("base_total", "bonus_cap", "bonus_gate", "lead_share", "responsible_share"):
        if key in kw and kw[key] is not None:
            kw[key] = D(str(kw[key]))
    return RuleSet(
        code="test", version=1, name="测试细则", indicators=tuple(indicators), rules=tuple(rules), **kw
    )


def occ(*refs: str) -> tuple[engine.Occurrence, ...]:
    return tuple(engine.Occurrence(ref=r) for r in refs)


def unit(facts: dict, name: str = "综合股", period: str = "2023Q1") -> UnitFacts:
    return UnitFacts(unit=name, period=period, facts=facts)


def check_invariant(result: engine.UnitResult) -> engine.UnitResult:
    """每个计分结果都要满足：台账逐行之和 == 未取整总分；总分 == 四舍五入两位后的未取整总分。"""
    assert sum((line.points for line in result.lines), D(0)) == result.raw_total
    assert result.total == result.raw_total.quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert result.total.as_tuple().exponent == -2
    for line in result.lines:
        assert line.reason, line
        assert line.ruleset == "test v1"
    if not result.vetoed:
        assert result.raw_total == result.base_score + result.bonus + result.penalty
    return result


@pytest.fixture(autouse=True)
def every_result_keeps_the_ledger_invariant(monkeypatch):
    """本模块（及导入此夹具的模块）里每一次 score_unit 的结果都检查台账之和 == 未取整总分。"""
    real = engine.score_unit
    monkeypatch.setattr(engine, "score_unit", lambda rs, u: check_invariant(real(rs, u)))


def score(rs: RuleSet, facts: dict, **kw) -> engine.UnitResult:
    return check_invariant(engine.score_unit(rs, unit(facts, **kw)))


def rule_lines(result: engine.UnitResult, code: str) -> list[engine.LedgerLine]:
    return [line for line in result.lines if line.rule == code]


def one_line(result: engine.UnitResult, code: str) -> engine.LedgerLine:
    lines = rule_lines(result, code)
    assert len(lines) == 1, [(line.points, line.reason) for line in result.lines]
    return lines[0]


# ---- per occurrence (每条/每次扣N分), incl. lead/responsible shares ---------------------------------------

OVERDUE = rule("R1", "A", Kind.PER_OCCURRENCE, "逾期未报送进展", "tasks_overdue", points=1)


@pytest.mark.parametrize(
    ("rs_kw", "occurrences", "points", "reason"),
    [
        ({}, occ("task:12", "task:15"), "-2", "逾期未报送进展2项，每项扣1分，共扣2分"),
        ({}, occ("task:12"), "-1", "逾期未报送进展1项，每项扣1分，共扣1分"),
        (
            {},
            (Occurrence("task:12", share=D("0.7")), Occurrence("task:15")),
            "-1.7",
            "逾期未报送进展2项，按分担比例折算为1项×0.7+1项×1=1.7项，每项扣1分，共扣1.7分",
        ),
        (
            {"lead_share": "0.7", "responsible_share": "0.3"},
            (Occurrence("task:12", role="lead"), Occurrence("task:15", role="responsible")),
            "-1",
            "逾期未报送进展2项，按分担比例折算为牵头1项×0.7+责任1项×0.3=1项，每项扣1分，共扣1分",
        ),
        (
            {"lead_share": "0.6", "responsible_share": "0.4"},
            (Occurrence("task:3", role="responsible"), Occurrence("task:4", role="responsible")),
            "-0.8",
            "逾期未报送进展2项，按分担比例折算为责任2项×0.4=0.8项，每项扣1分，共扣0.8分",
        ),
        (
            # 缺省分担：只扣牵头股室，责任股室记 0 分的一行，留下依据。
            {},
            (Occurrence("task:7", role="responsible"),),
            "0",
            "逾期未报送进展1项，按分担比例折算为责任1项×0=0项，每项扣1分，共扣0分",
        ),
    ],
)
def test_per_occurrence_deducts_points_times_weighted_count(rs_kw, occurrences, points, reason):
    rs = ruleset([ind("A", 20)], [OVERDUE], **rs_kw)
    result = score(rs, {"tasks_overdue": occurrences})
    line = one_line(result, "R1")
    assert line.points == D(points)
    assert line.reason == reason
    assert line.indicator == "A"
    assert result.indicator_scores["A"] == 20 + D(points)
    assert list(line.facts["refs"]) == [o.ref for o in occurrences]
    assert sum(g["count"] for g in line.facts["groups"]) == len(occurrences)


def test_per_occurrence_records_each_share_and_role_on_the_ledger_line():
    rs = ruleset([ind("A", 20)], [OVERDUE], lead_share="0.7", responsible_share="0.3")
    facts = {"tasks_overdue": (Occurrence("task:12", role="lead"), Occurrence("task:15", share=D("0.5")))}
    line = one_line(score(rs, facts), "R1")
    assert list(line.facts["refs"]) == ["task:12", "task:15"]
    assert line.facts["groups"] == [
        {"share": "0.7", "count": 1, "role": "lead"},
        {"share": "0.5", "count": 1},
    ]
    assert line.facts["weighted"] == "1.2"
    assert line.facts["count"] == 2


def test_grouped_events_score_like_the_same_events_one_by_one_and_keep_their_notes():
    rs = ruleset([ind("A", 20)], [OVERDUE], lead_share="0.7", responsible_share="0.3")
    one_by_one = (
        Occurrence("task:1", role="lead", note="截止日期2023-03-01"),
        Occurrence("task:2", role="responsible", note="截止日期2023-03-02"),
        Occurrence("task:3", role="lead", note="截止日期2023-03-03"),
    )
    grouped = engine.Events.of(one_by_one)
    assert [(g.role, g.refs) for g in grouped.groups] == [
        ("lead", ("task:1", "task:3")),
        ("responsible", ("task:2",)),
    ]
    assert tuple(grouped) == tuple(sorted(one_by_one, key=lambda o: o.role))
    a, b = (
        one_line(score(rs, {"tasks_overdue": one_by_one}), "R1"),
        one_line(score(rs, {"tasks_overdue": grouped}), "R1"),
    )
    assert a == b
    assert a.points == D("-1.7")
    assert (
        a.reason == "逾期未报送进展3项，按分担比例折算为牵头2项×0.7+责任1项×0.3=1.7项，每项扣1分，共扣1.7分"
    )
    assert list(a.facts["refs"]) == ["task:1", "task:3", "task:2"]
    assert list(a.facts["notes"]) == ["截止日期2023-03-01", "截止日期2023-03-03", "截止日期2023-03-02"]
    assert a.facts["groups"] == [
        {"share": "0.7", "count": 2, "role": "lead"},
        {"share": "0.3", "count": 1, "role": "responsible"},
    ]


@pytest.mark.parametrize("value", [None, (), False, D(3)])
def test_per_occurrence_without_events_writes_no_line(value):
    rs = ruleset([ind("A", 20)], [OVERDUE])
    facts = {} if value is None else {"tasks_overdue": value}
    result = score(rs, facts)
    assert rule_lines(result, "R1") == []
    assert result.total == D("20.00")


def test_per_occurrence_function_alone_returns_nominal_points_and_reason():
    points, reason, used = engine.score_per_occurrence(OVERDUE, occ("a", "b", "c"))
    assert points == D(-3)
    assert reason == "逾期未报送进展3项，每项扣1分，共扣3分"
    assert list(used["refs"]) == ["a", "b", "c"]


# ---- one-off condition (未备案扣5分) -------------------------------------------------------------------

CONDITIONS = [
    rule("C1", "A", Kind.CONDITION, "保密审查未备案", "not_filed", points=5),
    rule("C2", "A", Kind.CONDITION, "未明确专人负责", "no_contact", points=3),
]


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"not_filed": True}, {"C1": ("-5", "保密审查未备案，扣5分")}),
        ({"no_contact": True}, {"C2": ("-3", "未明确专人负责，扣3分")}),
        (
            {"not_filed": True, "no_contact": True},
            {"C1": ("-5", "保密审查未备案，扣5分"), "C2": ("-3", "未明确专人负责，扣3分")},
        ),
        ({"not_filed": False, "no_contact": False}, {}),
        ({}, {}),
    ],
)
def test_condition_deducts_once_when_it_holds(facts, expected):
    rs = ruleset([ind("A", 10)], CONDITIONS)
    result = score(rs, facts)
    got = {line.rule: (str(line.points), line.reason) for line in result.lines if line.rule}
    assert got == expected
    assert result.indicator_scores["A"] == 10 + sum((D(p) for p, _ in expected.values()), D(0))


# ---- whole item (此项不得分) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "facts", "line_points", "reason", "indicator_score"),
    [
        (
            Mode.DEDUCT,
            {"tasks_overdue": occ("t1", "t2"), "fake_data": True},
            "-8",
            "弄虚作假，此项不得分（计0分，扣8分）",
            "0",
        ),
        (Mode.DEDUCT, {"fake_data": True}, "-10", "弄虚作假，此项不得分（计0分，扣10分）", "0"),
        (
            Mode.EARN,
            {"columns": occ("c1", "c2"), "fake_data": True},
            "-4",
            "弄虚作假，此项不得分（计0分，扣4分）",
            "0",
        ),
        (Mode.EARN, {"fake_data": True}, "0", "弄虚作假，此项不得分（计0分）", "0"),
        (Mode.DEDUCT, {"tasks_overdue": occ("t1"), "fake_data": False}, None, None, "9"),
    ],
)
def test_whole_item_zeroes_the_indicator_in_both_modes(mode, facts, line_points, reason, indicator_score):
    rules = [
        rule("R1", "A", Kind.PER_OCCURRENCE, "逾期未报送进展", "tasks_overdue", points=1),
        rule("P1", "A", Kind.PER_ITEM, "开设专栏", "columns", points=2),
        # 放在最前也最后执行：此项不得分在本指标其他规则之后归零。
        rule("W1", "A", Kind.WHOLE_ITEM, "弄虚作假", "fake_data"),
    ]
    rules = [rules[2], rules[0], rules[1]] if mode == Mode.DEDUCT else [rules[2], rules[1]]
    rs = ruleset([ind("A", 10, mode=mode)], rules)
    result = score(rs, facts)
    assert result.indicator_scores["A"] == D(indicator_score)
    if line_points is None:
        assert rule_lines(result, "W1") == []
    else:
        line = one_line(result, "W1")
        assert (line.points, line.reason) == (D(line_points), reason)
        assert result.lines[-1] is line


# ---- presence (有得10分，无扣2分) ----------------------------------------------------------------------

PRESENCE = rule(
    "P1", "B", Kind.PRESENCE, "按时发布年度报告", "annual_report_published", points=10, absent_points=2
)


@pytest.mark.parametrize(
    ("facts", "points", "reason"),
    [
        ({"annual_report_published": True}, "10", "按时发布年度报告：有，得10分"),
        ({"annual_report_published": False}, "-2", "按时发布年度报告：无，扣2分"),
        ({}, "-2", "按时发布年度报告：无（未提供），扣2分"),
    ],
)
def test_presence_uses_both_explicit_values(facts, points, reason):
    rs = ruleset([ind("B", 10, mode=Mode.EARN)], [PRESENCE])
    result = score(rs, facts)
    line = one_line(result, "P1")
    assert (line.points, line.reason) == (D(points), reason)
    # 得分制指标：有 → 10 分，无 → −2 分（细则写明“无扣2分”，照扣，不推算为 0 或 8）。
    assert result.indicator_scores["B"] == D(points)
    assert result.raw_total == D(points)


def test_presence_absent_value_is_not_inferred_from_present_value():
    other = rule("P1", "B", Kind.PRESENCE, "建立工作台账", "ledger_kept", points=4, absent_points=0)
    rs = ruleset([ind("B", 4, mode=Mode.EARN)], [other])
    line = one_line(score(rs, {"ledger_kept": False}), "P1")
    assert line.points == 0
    assert str(line.points) == "0"  # 不出现 -0
    assert line.reason == "建立工作台账：无，扣0分"


# ---- quantity target ---------------------------------------------------------------------------------

TOTAL_TARGET = rule(
    "Q1",
    "C",
    Kind.QUANTITY,
    "政务信息总量",
    "items_published",
    points=8,
    absent_points=2,
    target=200,
    measure="条",
)
MONTHLY_TARGET = rule(
    "Q2",
    "M",
    Kind.QUANTITY,
    "每月发布信息",
    "monthly_items",
    points=0,
    absent_points=5,
    target=40,
    blank_points=10,
    measure="条",
)


@pytest.mark.parametrize(
    ("count", "points", "reason"),
    [
        ("200", "8", "政务信息总量200条，达到目标200条，得8分"),
        ("251", "8", "政务信息总量251条，达到目标200条，得8分"),
        ("199", "-2", "政务信息总量199条，未达到目标200条，扣2分"),
        ("0", "-2", "政务信息总量0条，未达到目标200条，扣2分"),
    ],
)
def test_quantity_single_total_met_or_unmet(count, points, reason):
    rs = ruleset([ind("C", 8, mode=Mode.EARN)], [TOTAL_TARGET])
    line = one_line(score(rs, {"items_published": D(count)}), "Q1")
    assert (line.points, line.reason) == (D(points), reason)
    assert line.facts == {"count": count, "target": "200"}


@pytest.mark.parametrize(
    ("series", "points", "reason", "short", "blank"),
    [
        (
            ["40", "0", "52"],
            "-10",
            "每月发布信息：1期空白（第2期），每期扣10分，共扣10分",
            [],
            [2],
        ),
        (
            ["40", "0", "35", "0", "39"],
            "-30",
            "每月发布信息：2期低于40条（第3、5期），每期扣5分；2期空白（第2、4期），每期扣10分，共扣30分",
            [3, 5],
            [2, 4],
        ),
        (["40", "41", "52"], "0", "每月发布信息：各期均不低于40条，得0分", [], []),
    ],
)
def test_quantity_monthly_series_with_blank_months(series, points, reason, short, blank):
    rs = ruleset([ind("M", 30)], [MONTHLY_TARGET])
    result = score(rs, {"monthly_items": tuple(D(v) for v in series)})
    line = one_line(result, "Q2")
    assert (line.points, line.reason) == (D(points), reason)
    assert (line.facts["short"], line.facts["blank"]) == (short, blank)
    assert result.indicator_scores["M"] == 30 + D(points)


def test_quantity_series_blank_month_counts_as_short_without_blank_points():
    plain = rule(
        "Q3", "M", Kind.QUANTITY, "每月发布信息", "monthly_items", absent_points=5, target=40, measure="条"
    )
    rs = ruleset([ind("M", 30)], [plain])
    line = one_line(score(rs, {"monthly_items": (D(0), D(45), D(10))}), "Q3")
    assert line.points == D(-10)
    assert line.reason == "每月发布信息：2期低于40条（第1、3期），每期扣5分，共扣10分"


def test_quantity_empty_series_is_treated_as_nothing_published():
    rs = ruleset([ind("C", 8, mode=Mode.EARN)], [TOTAL_TARGET])
    line = one_line(score(rs, {"items_published": ()}), "Q1")
    assert (line.points, line.reason) == (D(-2), "政务信息总量0条，未达到目标200条，扣2分")


# ---- per item, capped (一项可得2分，最高不超过6分) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("refs", "cap", "points", "reason"),
    [
        (["a", "b"], 6, "4", "开设专栏2项，每项得2分，得4分"),
        (["a", "b", "c"], 6, "6", "开设专栏3项，每项得2分，得6分"),
        (["a", "b", "c", "d"], 6, "6", "开设专栏4项，每项得2分，计8分，最高不超过6分，得6分"),
        (
            ["a", "b", "c", "d", "e", "f"],
            None,
            "10",
            "开设专栏6项，每项得2分，计12分，最高不超过10分，得10分",
        ),
        ([], 6, "0", "开设专栏0项，每项得2分，得0分"),
    ],
)
def test_per_item_earns_up_to_a_ceiling(refs, cap, points, reason):
    per_item = rule("P1", "E", Kind.PER_ITEM, "开设专栏", "columns", points=2, cap=cap)
    rs = ruleset([ind("E", 10, mode=Mode.EARN)], [per_item])
    line = one_line(score(rs, {"columns": occ(*refs)}), "P1")
    assert (line.points, line.reason) == (D(points), reason)


# ---- discretionary (根据实际情况进行评分) ---------------------------------------------------------------

QUALITY = rule("D1", "Q", Kind.DISCRETIONARY, "信息公开质量", "quality")


@pytest.mark.parametrize(
    ("assessment", "points", "reason"),
    [
        (
            Assessment(D(8), "栏目更新及时，个别信息要素不全"),
            "8",
            "信息公开质量：栏目更新及时，个别信息要素不全，得8分",
        ),
        (Assessment(D(10), "全部达标"), "10", "信息公开质量：全部达标，得10分"),
        (Assessment(D(0), "未开展"), "0", "信息公开质量：未开展，得0分"),
        (Assessment(D("7.5"), "较好"), "7.5", "信息公开质量：较好，得7.5分"),
        (None, "0", "信息公开质量：未评分，计0分"),
    ],
)
def test_discretionary_takes_the_assessors_points_with_reason(assessment, points, reason):
    rs = ruleset([ind("Q", 10, mode=Mode.EARN)], [QUALITY])
    facts = {} if assessment is None else {"quality": assessment}
    line = one_line(score(rs, facts), "D1")
    assert (line.points, line.reason) == (D(points), reason)


@pytest.mark.parametrize(
    ("assessment", "message"),
    [
        (Assessment(D("10.5"), "很好"), "D1（信息公开质量）：酌情分10.5分超出0–10分"),
        (Assessment(D(-1), "差"), "D1（信息公开质量）：酌情分-1分超出0–10分"),
        (Assessment(D(5), "  "), "D1（信息公开质量）：酌情分须附理由"),
    ],
)
def test_discretionary_rejects_points_out_of_range_or_without_reason(assessment, message):
    rs = ruleset([ind("Q", 10, mode=Mode.EARN)], [QUALITY])
    with pytest.raises(engine.ScoringError) as exc:
        engine.score_unit(rs, unit({"quality": assessment}))
    assert str(exc.value) == message
    assert isinstance(exc.value, ValueError)


# ---- bonus with evidence_required ------------------------------------------------------------------------

AWARD = rule("B1", "X", Kind.BONUS, "受到表彰", "awards", points=3, evidence_required=True)


def test_bonus_needs_evidence_when_the_rule_requires_it():
    rs = ruleset([ind("A", 100), ind("X", 0)], [AWARD], bonus_cap=8)
    awards = (
        BonusItem("award:1", "市级表彰", "樟统字〔2023〕5号"),
        BonusItem("award:2", "省级表彰"),
    )
    result = score(rs, {"awards": awards})
    lines = rule_lines(result, "B1")
    assert [(line.points, line.reason) for line in lines] == [
        (D(3), "受到表彰（市级表彰），加3分"),
        (D(0), "受到表彰（省级表彰）缺少证明材料，不予加分"),
    ]
    assert lines[0].facts == {"ref": "award:1", "evidence": "樟统字〔2023〕5号"}
    assert (result.bonus, result.total) == (D(3), D("103.00"))
    # 权重 0 的加分指标不出“基础分0分”的行。
    assert [line.reason for line in result.lines if line.indicator == "X" and not line.rule] == []


def test_bonus_without_evidence_requirement_counts_every_item_and_per_rule_cap():
    rule_ = rule("B2", "X", Kind.BONUS, "信息被上级采用", "adopted", points=1, cap="2.5")
    rs = ruleset([ind("A", 100)], [rule_], bonus_cap=8)
    items = tuple(BonusItem(f"i{n}", f"第{n}篇") for n in range(1, 5))
    lines = rule_lines(score(rs, {"adopted": items}), "B2")
    assert [(line.points, line.reason) for line in lines] == [
        (D(1), "信息被上级采用（第1篇），加1分"),
        (D(1), "信息被上级采用（第2篇），加1分"),
        (D("0.5"), "信息被上级采用（第3篇），本项加分已达上限2.5分，加0.5分"),
        (D(0), "信息被上级采用（第4篇），本项加分已达上限2.5分，加0分"),
    ]


# ---- notice penalty (受到通报批评每次扣3分/1分), outside the base ------------------------------


@pytest.mark.parametrize(
    ("city", "county", "penalty", "reasons"),
    [
        (2, 0, "-6", ["受到市级通报批评2次，每次扣3分，共扣6分"]),
        (1, 3, "-6", ["受到市级通报批评1次，每次扣3分，共扣3分", "受到县级通报批评3次，每次扣1分，共扣3分"]),
        (0, 0, "0", []),
    ],
)
def test_notice_penalty_by_issuer_level_is_outside_the_base(city, county, penalty, reasons):
    rules = [
        rule("N1", "A", Kind.NOTICE, "受到市级通报批评", "notices_city", points=3),
        rule("N2", "A", Kind.NOTICE, "受到县级通报批评", "notices_county", points=1),
        rule("R1", "A", Kind.PER_OCCURRENCE, "逾期未报送进展", "tasks_overdue", points=1),
    ]
    rs = ruleset([ind("A", 100)], rules)
    facts = {
        "notices_city": occ(*(f"c{i}" for i in range(city))),
        "notices_county": occ(*(f"k{i}" for i in range(county))),
        "tasks_overdue": occ("t1"),
    }
    result = score(rs, facts)
    assert [line.reason for line in result.lines if line.rule in ("N1", "N2")] == reasons
    assert result.base_score == D(99)  # 倒扣不进基础分
    assert result.indicator_scores["A"] == D(99)
    assert result.penalty == D(penalty)
    assert result.raw_total == D(99) + D(penalty)


# ---- veto (一票否决) -----------------------------------------------------------------------------------


def test_veto_fails_the_unit_and_stops_scoring():
    rules = [
        rule("R1", "A", Kind.PER_OCCURRENCE, "逾期未报送进展", "tasks_overdue", points=1),
        rule("V1", "A", Kind.VETO, "发生泄密事件", "leak"),
        rule("B1", "X", Kind.BONUS, "受到表彰", "awards", points=3),
    ]
    rs = ruleset([ind("A", 100), ind("X", 0)], rules, bonus_cap=8)
    facts = {"tasks_overdue": occ("t1"), "leak": True, "awards": (BonusItem("a", "表彰", "文号"),)}
    result = score(rs, facts)
    assert (result.vetoed, result.grade, result.total) == (True, "不合格", D("0.00"))
    assert [(line.rule, line.points, line.reason) for line in result.lines] == [
        ("V1", D(0), "一票否决：发生泄密事件，评为不合格，不再计分"),
    ]


def test_veto_condition_false_scores_normally():
    rs = ruleset([ind("A", 100)], [rule("V1", "A", Kind.VETO, "发生泄密事件", "leak")])
    result = score(rs, {"leak": False})
    assert (result.vetoed, result.total, result.grade) == (False, D("100.00"), "优秀")
