"""事实文件（factsfile，score_preview 用的 JSON）：各种取值的转换、带 JSON 路径的中文错误、对照细则的检查。

不访问数据库（不带 db 夹具）。
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from scoring import engine
from scoring.engine import Assessment, BonusItem, Kind, Occurrence
from scoring.factsfile import FactsFileError, check_facts, load_facts_text

D = Decimal

EXAMPLE = """
{"period": "2023Q1", "units": [{"unit": "综合股", "facts": {
  "tasks_overdue": [{"ref": "task:12", "share": "0.7"}, "task:15"],
  "annual_report_published": true,
  "items_published": 37,
  "monthly_items": [40, 0, 52],
  "quality": {"points": 8, "reason": "栏目更新及时"},
  "awards": [{"ref": "award:1", "reason": "市级表彰", "evidence": "樟统字〔2023〕5号"}]
}}]}
"""


def load(doc) -> tuple[list[engine.UnitFacts], list[FactsFileError]]:
    return load_facts_text(doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False))


def load_facts(facts: dict) -> dict:
    units, errors = load({"period": "2023Q1", "units": [{"unit": "综合股", "facts": facts}]})
    assert errors == []
    return dict(units[0].facts)


def messages(errors) -> list[str]:
    return [str(e) for e in errors]


def test_the_documented_example_loads_every_kind_of_value():
    units, errors = load(EXAMPLE)
    assert errors == []
    assert [(u.unit, u.period) for u in units] == [("综合股", "2023Q1")]
    assert dict(units[0].facts) == {
        "tasks_overdue": (Occurrence("task:12", share=D("0.7")), Occurrence("task:15")),
        "annual_report_published": True,
        "items_published": D(37),
        "monthly_items": (D(40), D(0), D(52)),
        "quality": Assessment(D(8), "栏目更新及时"),
        "awards": (BonusItem("award:1", "市级表彰", "樟统字〔2023〕5号"),),
    }


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (True, True),
        (False, False),
        (37, D(37)),
        (0, D(0)),
        # 小数按原文转 Decimal，不经过二进制浮点。
        ("RAW:0.1", D("0.1")),
        ("RAW:12.50", D("12.50")),
        ("RAW:1e2", D("1E+2")),
        ([1, 2.5], (D(1), D("2.5"))),
        ([], ()),
        (["task:1"], (Occurrence("task:1"),)),
        ([{"ref": "t", "role": "牵头"}], (Occurrence("t", role="lead"),)),
        (
            [{"ref": "t", "role": "responsible", "note": "配合"}],
            (Occurrence("t", note="配合", role="responsible"),),
        ),
        ([{"ref": "t", "share": 0}], (Occurrence("t", share=D(0)),)),
        ([{"reason": "省级表彰"}], (BonusItem("awards[0]", "省级表彰"),)),
        ({"points": "7.5", "reason": " 较好 "}, Assessment(D("7.5"), "较好")),
    ],
)
def test_values_convert_by_json_shape(raw, value):
    if isinstance(raw, str) and raw.startswith("RAW:"):
        text = '{"period": "Q1", "units": [{"unit": "综合股", "facts": {"awards": ' + raw[4:] + "}}]}"
        units, errors = load(text)
        assert errors == []
        got = units[0].facts["awards"]
        assert got == value and str(got) == str(value)
        return
    assert load_facts({"awards": raw}) == {"awards": value}


def test_decimal_fact_keeps_exact_text_of_a_float():
    units, _ = load(
        '{"period": "Q1", "units": [{"unit": "甲", "facts": {"x": 0.30000000000000004, "y": 2.675}}]}'
    )
    assert units[0].facts["x"] == D("0.30000000000000004")
    assert units[0].facts["y"] == D("2.675")


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("{", ["不是有效的 JSON：第1行第2列（Expecting property name enclosed in double quotes）"]),
        ("", ["不是有效的 JSON：第1行第1列（Expecting value）"]),
        ("[]", ['顶层须为对象：{"period": …, "units": […]}']),
        ({"period": "Q1"}, ["units：缺少单位列表"]),
        ({"period": "Q1", "units": {}}, ["units：须为列表"]),
        ({"period": "Q1", "units": [], "unit": "x"}, ["unit：未知字段（顶层只允许 period、units）"]),
        (
            {"period": 2023, "units": [{"unit": "甲"}]},
            [
                'period：期间须为非空字符串，如 "2023Q1"',
                "units[0].period：缺少期间（在顶层或本单位写 period）",
            ],
        ),
        ({"units": [{"unit": "甲"}]}, ["units[0].period：缺少期间（在顶层或本单位写 period）"]),
        ({"period": "Q1", "units": ["综合股"]}, ['units[0]：须为对象：{"unit": …, "facts": {…}}']),
        ({"period": "Q1", "units": [{"facts": {}}]}, ["units[0].unit：缺少单位名称"]),
        ({"period": "Q1", "units": [{"unit": " "}]}, ["units[0].unit：单位名称须为非空字符串"]),
        (
            {"period": "Q1", "units": [{"unit": "甲", "fact": {}}]},
            ["units[0].fact：未知字段（单位只允许 unit、period、facts）"],
        ),
        (
            {"period": "Q1", "units": [{"unit": "甲", "facts": []}]},
            ['units[0].facts：须为对象：{"事实名": 取值, …}'],
        ),
        (
            {"period": "Q1", "units": [{"unit": "甲"}, {"unit": "乙"}, {"unit": "甲"}]},
            ["units[2].unit：单位“甲”与 units[0] 重复"],
        ),
    ],
)
def test_file_and_unit_errors_name_the_json_path(doc, expected):
    units, errors = load(doc)
    assert messages(errors) == expected
    assert all(isinstance(e, FactsFileError) and not e.warning for e in errors)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"quality": {"points": "高", "reason": "好"}}, ["units[2].facts.quality.points：酌情分“高”不是数"]),
        (
            {"quality": {"points": -1, "reason": "差"}},
            ["units[2].facts.quality.points：酌情分不能为负数（-1）"],
        ),
        ({"quality": {"reason": "好"}}, ["units[2].facts.quality.points：缺少酌情分分值"]),
        ({"quality": {"points": 8}}, ["units[2].facts.quality.reason：酌情分须附理由（非空字符串）"]),
        (
            {"quality": {"points": 8, "reason": "好", "by": "张三"}},
            ["units[2].facts.quality.by：未知字段（酌情分只允许 points、reason）"],
        ),
        (
            {"quality": {"points": True, "reason": "好"}},
            ["units[2].facts.quality.points：酌情分须为有限的数"],
        ),
        ({"items_published": -3}, ["units[2].facts.items_published：数量不能为负数（-3）"]),
        (
            {"items_published": None},
            ["units[2].facts.items_published：取值不能为 null（没有就不写这一项，或写 false / 0 / []）"],
        ),
        (
            {"annual_report_published": "是"},
            [
                "units[2].facts.annual_report_published：不支持字符串取值“是”："
                "布尔写 true/false，数量写数字，事件写列表"
            ],
        ),
        ({"monthly_items": [40, -1, 52]}, ["units[2].facts.monthly_items[1]：数量不能为负数（-1）"]),
        (
            {"tasks_overdue": ["task:1", 3]},
            [
                'units[2].facts.tasks_overdue[1]：事件须为编号字符串或 {"ref": …, "share": …} 对象'
                "（不能与数混写）"
            ],
        ),
        ({"tasks_overdue": ["  "]}, ["units[2].facts.tasks_overdue[0]：事件编号（ref）不能为空"]),
        (
            {"tasks_overdue": [{"share": "0.5"}]},
            ["units[2].facts.tasks_overdue[0].ref：缺少事件编号（非空字符串）"],
        ),
        (
            {"tasks_overdue": [{"ref": "t", "share": "1.5"}]},
            ["units[2].facts.tasks_overdue[0].share：分担比例须在0到1之间（1.5）"],
        ),
        (
            {"tasks_overdue": [{"ref": "t", "share": "七成"}]},
            ["units[2].facts.tasks_overdue[0].share：分担比例“七成”不是数"],
        ),
        (
            {"tasks_overdue": [{"ref": "t", "role": "配合"}]},
            ["units[2].facts.tasks_overdue[0].role：角色须为 lead（牵头）或 responsible（责任）"],
        ),
        (
            {"tasks_overdue": [{"ref": "t", "role": "lead", "share": "0.5"}]},
            [
                "units[2].facts.tasks_overdue[0]：share 与 role 只能写一个："
                "写 role 时按细则的牵头/责任分担比例计"
            ],
        ),
        (
            {"tasks_overdue": [{"ref": "t", "owner": "综合股"}]},
            ["units[2].facts.tasks_overdue[0].owner：未知字段（事件只允许 ref、share、role、note）"],
        ),
        (
            {"awards": [{"reason": "市级表彰"}, "省级表彰"]},
            ['units[2].facts.awards[1]：加分事项须为对象：{"reason": …, "evidence": …}'],
        ),
        (
            {"awards": [{"evidence": "文号"}]},
            ["units[2].facts.awards[0].reason：加分事项须写明事由（非空字符串）"],
        ),
        (
            {"awards": [{"reason": "表彰", "evidence": 5}]},
            ["units[2].facts.awards[0].evidence：证明材料须为字符串（文号、文件名或链接）"],
        ),
        (
            {"awards": [{"reason": "表彰", "file": "a.pdf"}]},
            ["units[2].facts.awards[0].file：未知字段（加分事项只允许 ref、reason、evidence）"],
        ),
    ],
)
def test_bad_values_are_reported_with_their_json_path_and_the_unit_is_dropped(facts, expected):
    doc = {"period": "Q1", "units": [{"unit": "甲"}, {"unit": "乙"}, {"unit": "丙", "facts": facts}]}
    units, errors = load(doc)
    assert messages(errors) == expected
    # 有错的单位整单位剔除：不能让一项读错的事实被当成“无”而误扣分。
    assert [u.unit for u in units] == ["甲", "乙"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_errors_not_exceptions(constant):
    text = (
        f'{{"period": "Q1", "units": [{{"unit": "甲", "facts": {{"n": {constant}, "s": [1, {constant}]}}}}]}}'
    )
    units, errors = load(text)
    assert messages(errors) == ["units[0].facts.n：数量须为有限的数", "units[0].facts.s[1]：数量须为有限的数"]
    assert units == []


def test_several_errors_are_all_reported_in_document_order():
    doc = {
        "period": "Q1",
        "units": [
            {"unit": "甲", "facts": {"a": "x", "b": [{"ref": "t", "share": 2}]}},
            {"unit": "乙", "period": "2023Q2", "facts": {"c": 1}},
        ],
    }
    units, errors = load(doc)
    assert [e.path for e in errors] == ["units[0].facts.a", "units[0].facts.b[0].share"]
    assert [(u.unit, u.period) for u in units] == [("乙", "2023Q2")]


@pytest.mark.parametrize(
    "text",
    [
        "null",
        "1",
        '"x"',
        '{"units": null}',
        '{"units": [null]}',
        "[" * 5000 + "]" * 5000,
        "\ufeff{}",
        '{"period": "Q1", "units": [{"unit": "甲", "facts": {"": 1}}]}',
    ],
)
def test_never_raises_on_bad_input(text):
    units, errors = load_facts_text(text)
    assert units == []
    assert errors and all(str(e) for e in errors)


# ---- against a rule set -----------------------------------------------------------------------------------


def _ruleset():
    def r(code, kind, fact, **kw):
        return engine.Rule(code=code, indicator="A", kind=kind, label=f"规则{code}", fact=fact, **kw)

    return engine.RuleSet(
        code="t",
        version=1,
        name="测试",
        indicators=(engine.Indicator("A", "指标A", D(100)),),
        rules=(
            r("R1", Kind.PER_OCCURRENCE, "tasks_overdue", points=D(1)),
            r("R2", Kind.PRESENCE, "annual_report_published", points=D(10)),
            r("R3", Kind.QUANTITY, "monthly_items", target=D(40)),
            r("R4", Kind.DISCRETIONARY, "quality"),
            r("R5", Kind.BONUS, "awards", points=D(3)),
        ),
    )


def test_check_facts_accepts_matching_shapes():
    units, _ = load(EXAMPLE)
    problems = check_facts(_ruleset(), units)
    assert messages(problems) == [
        "units[综合股].facts.items_published：评分细则中没有规则读取这项事实（是否拼写有误？）",
    ]
    assert problems[0].warning


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        (
            {"annual_report_published": 1},
            "units[甲].facts.annual_report_published：规则 R2（规则R2）需要true/false，"
            "这里是数量或分期数量列表",
        ),
        (
            {"tasks_overdue": 2},
            'units[甲].facts.tasks_overdue：规则 R1（规则R1）需要事件列表（ref 字符串或 {"ref": …} 对象），'
            "这里是数量或分期数量列表",
        ),
        (
            {"quality": 8},
            'units[甲].facts.quality：规则 R4（规则R4）需要酌情分对象 {"points": …, "reason": …}，'
            "这里是数量或分期数量列表",
        ),
        (
            {"monthly_items": True},
            "units[甲].facts.monthly_items：规则 R3（规则R3）需要数量或分期数量列表，这里是true/false",
        ),
        (
            {"awards": ["a"]},
            'units[甲].facts.awards：规则 R5（规则R5）需要加分事项列表 [{"reason": …, "evidence": …}]，'
            '这里是事件列表（ref 字符串或 {"ref": …} 对象）',
        ),
    ],
)
def test_check_facts_reports_a_shape_that_does_not_fit_the_rule(facts, message):
    units, errors = load({"period": "Q1", "units": [{"unit": "甲", "facts": facts}]})
    assert errors == []
    problems = check_facts(_ruleset(), units)
    assert messages(problems) == [message]
    assert not problems[0].warning


@pytest.mark.parametrize("fact", ["tasks_overdue", "monthly_items", "awards"])
def test_check_facts_accepts_an_empty_list_for_any_list_rule(fact):
    units, _ = load({"period": "Q1", "units": [{"unit": "甲", "facts": {fact: []}}]})
    assert check_facts(_ruleset(), units) == []


def test_the_readme_example_loads_and_fits_the_section_rule_fixture():
    import re
    from pathlib import Path

    from scoring.rulefile import load_ruleset_text

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## 事实文件格式（score_preview）") :]
    example = re.search(r"```json\n(.*?)```", section, re.S).group(1)
    units, errors = load_facts_text(example)
    assert errors == []
    assert [u.unit for u in units] == ["综合股", "法规股"]
    ruleset, rule_errors = load_ruleset_text(
        (root / "fixtures" / "rules" / "section-2023.yaml").read_text("utf-8")
    )
    assert rule_errors == []
    assert check_facts(ruleset, units) == []
