"""评分细则文件（YAML）：逐项校验的错误写明行号与键名；随附的两个细则文件无错误；写出再读入不变。纯函数，不用数据库。"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from scoring import engine
from scoring.engine import Kind, Mode
from scoring.rulefile import RuleFileError, load_rulefile, load_ruleset_text
from scoring.rulefile_dump import dump_ruleset_yaml, same_except_version, with_version
from scoring.rulefile_schema import KIND_LABELS

RULES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "rules"

BASE = """\
code: demo
name: 测试细则
year: 2023
unit_type: 股室
version: 1
base_total: 100
bonus: {cap: 5, gate: 80}
grades:
  - {name: 优秀, min: 90}
  - {name: 良好, min: 80}
  - {name: 合格, min: 60}
  - {name: 不合格, min: 0}
periods: {Q1: 0.25, Q2: 0.25, Q3: 0.25, Q4: 0.25}
task_split: {lead: 0.7, responsible: 0.3}
indicators:
  - code: A
    name: 任务落实
    weight: 60
    children:
      - code: A1
        name: 按期完成
        weight: 40
        rules:
          - code: A1-1
            kind: per_occurrence
            label: 任务逾期
            fact: tasks_overdue
            points: 2
            measure: 项
      - code: A2
        name: 政策解读
        weight: 20
        mode: earn
        rules:
          - code: A2-1
            kind: presence
            label: 发布政策解读
            fact: interpretation_published
            points: 10
            absent_points: 2
  - code: B
    name: 信息发布
    weight: 40
    rules:
      - code: B-1
        kind: quantity
        label: 主动公开信息
        fact: items_published
        target: 6
        absent_points: 4
        measure: 条
      - code: B-2
        kind: bonus
        label: 受到表彰
        fact: commendations
        points: 3
        evidence_required: true
"""


def line_of(text: str, fragment: str, nth: int = 1) -> int:
    """fragment 第 nth 次出现所在的行号（从 1 起）。"""
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line + "\n":
            count += 1
            if count == nth:
                return number
    raise AssertionError(f"{fragment!r} not in text")


def test_the_base_example_loads():
    rs, errors = load_ruleset_text(BASE)
    assert errors == []
    assert rs is not None
    assert rs.code == "demo" and rs.version == 1 and rs.base_total == Decimal(100)
    assert [i.code for i in rs.indicators] == ["A", "A1", "A2", "B"]
    assert rs.indicator("A1").parent == "A" and rs.indicator("A2").mode == Mode.EARN
    assert [r.code for r in rs.rules] == ["A1-1", "A2-1", "B-1", "B-2"]
    assert rs.bonus_cap == Decimal(5) and rs.bonus_gate == Decimal(80)
    assert [(b.name, b.min_score) for b in rs.grade_bands][0] == ("优秀", Decimal(90))
    assert rs.period_weights == {f"Q{n}": Decimal("0.25") for n in range(1, 5)}
    assert (rs.lead_share, rs.responsible_share) == (Decimal("0.7"), Decimal("0.3"))


def test_numbers_are_exact_decimals_not_binary_floats():
    text = BASE.replace("periods: {Q1: 0.25, Q2: 0.25, Q3: 0.25, Q4: 0.25}", "periods: {日常: 0.8, 年终: 0.2}")
    text = text.replace("points: 2\n", "points: 0.1\n", 1)
    rs, errors = load_ruleset_text(text)
    assert errors == []
    assert rs is not None
    assert rs.period_weights == {"日常": Decimal("0.8"), "年终": Decimal("0.2")}
    assert str(rs.rules[0].points) == "0.1"
    assert all(isinstance(v, Decimal) for v in rs.period_weights.values())


def test_quoted_numbers_are_accepted():
    rs, errors = load_ruleset_text(BASE.replace("points: 2\n", 'points: "2.5"\n', 1))
    assert errors == [] and rs is not None and rs.rules[0].points == Decimal("2.5")


# (description, old text, new text, fragment locating the reported line, key, words in the message)
CASES = [
    ("number written in Chinese", "points: 2\n", "points: 三\n", "points: 三", "points", "应为数字，实际为“三”"),
    ("unknown kind lists the valid kinds in Chinese", "kind: per_occurrence", "kind: per_occurence",
     "per_occurence", "kind", "是否应为“per_occurrence”？"),
    ("kind written as its Chinese label", "kind: per_occurrence", "kind: 按次扣分", "kind: 按次扣分", "kind",
     "请写英文代码“per_occurrence”"),
    ("typo in a rule key", "absent_points: 2", "absent_pionts: 2", "absent_pionts", "absent_pionts",
     "是否应为「absent_points」？"),
    ("typo in a top-level key", "base_total: 100", "base_totl: 100", "base_totl", "base_totl",
     "是否应为「base_total」？"),
    ("typo in an indicator key", "    weight: 40\n    rules:", "    wieght: 40\n    rules:", "wieght",
     "wieght",
     "是否应为「weight」？"),
    ("children do not add up to the parent", "weight: 40\n        rules:", "weight: 35\n        rules:",
     "weight: 60", "weight", "“任务落实”（A）的权重为60分，下级指标权重之和为55分"),
    ("top level does not add up to base_total", "base_total: 100", "base_total: 90", "indicators:",
     "indicators", "一级指标权重之和为100分，与基础总分「base_total」90分不一致"),
    ("duplicate indicator code", "code: A2\n", "code: A1\n", ("code: A1\n", 2), "code", "指标代码“A1”重复（第20行"),
    ("duplicate rule code", "code: B-2", "code: B-1", ("code: B-1", 2), "code", "规则代码“B-1”重复（第45行"),
    ("presence without absent_points", "            absent_points: 2\n", "", "code: A2-1", "absent_points",
     "有无规则须同时写明「points」（有则得分）和「absent_points」"),
    ("presence without points", "            points: 10\n", "", "code: A2-1", "points",
     "有无规则须同时写明"),
    ("quantity without target", "        target: 6\n", "", "code: B-1", "target", "数量目标规则须写明目标数"),
    ("bonus rule without a bonus pool", "bonus: {cap: 5, gate: 80}", "bonus: {cap: 0}", "kind: bonus", "kind",
     "需要在文件顶层写明「bonus」的「cap」"),
    ("grade bands out of order", "{name: 良好, min: 80}", "{name: 良好, min: 95}", "良好", "min",
     "等次须按分数从高到低排列、互不重叠：“良好”的下限95分应低于上一等次“优秀”的下限90分"),
    ("grade bands overlapping", "{name: 合格, min: 60}", "{name: 合格, min: 80}", "合格", "min",
     "“合格”的下限80分应低于上一等次“良好”的下限80分"),
    ("period weights not summing to one", "Q4: 0.25", "Q4: 0.2", "periods:", "periods",
     "期间权重之和为0.95，应为1"),
    ("lead share above one", "lead: 0.7", "lead: 1.2", "task_split", "lead", "应不大于1"),
    ("negative responsible share", "responsible: 0.3", "responsible: -0.3", "task_split", "responsible",
     "应不小于0"),
    ("negative deduction", "points: 2\n", "points: -2\n", "points: -2", "points",
     "应为大于0的数字，实际为“-2”（扣分也写正数"),
    ("key not used by the kind", "            measure: 项\n", "            target: 3\n", "target: 3", "target",
     "per_occurrence（按次扣分）规则不使用此项"),
    ("evidence flag not a boolean", "evidence_required: true", "evidence_required: 是", "evidence_required",
     "evidence_required", "应为 true 或 false"),
    ("fact not an identifier", "fact: tasks_overdue", "fact: 逾期任务", "fact: 逾期任务", "fact",
     "事实名应为英文字母、数字和下划线"),
    ("missing rule label", "            label: 任务逾期\n", "", "code: A1-1", "label", "缺少此项"),
    ("bad mode", "mode: earn", "mode: 得分", "mode: 得分", "mode", "deduct（扣分制）、earn（得分制）"),
    ("duplicate key in one mapping", "            points: 2\n",
     "            points: 2\n            points: 3\n",
     "points: 3", "points", "重复写了此键"),
    ("too many decimal places", "points: 2\n", "points: 0.12345\n", "points: 0.12345", "points", "最多4位小数"),
    ("gate above base total", "gate: 80", "gate: 120", "bonus:", "gate", "应不大于100"),
    ("year not a number", "year: 2023", "year: 二〇二三", "year:", "year", "应为整数"),
]


@pytest.mark.parametrize(("old", "new", "fragment", "key", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_each_error_names_the_line_and_the_key(old, new, fragment, key, words):
    assert old in BASE
    text = BASE.replace(old, new, 1)
    rs, errors = load_ruleset_text(text)
    assert rs is None
    matching = [e for e in errors if words in e.message]
    assert matching, [str(e) for e in errors]
    error = matching[0]
    assert error.key == key
    fragment, nth = fragment if isinstance(fragment, tuple) else (fragment, 1)
    assert error.line == line_of(text, fragment, nth)
    assert str(error).startswith(f"第{error.line}行「{key}」：")


def test_unknown_kind_lists_every_valid_kind_with_its_chinese_name():
    _, errors = load_ruleset_text(BASE.replace("kind: per_occurrence", "kind: penalty"))
    (error,) = errors
    for kind, label in KIND_LABELS.items():
        assert f"{kind.value}（{label}）" in error.message


def test_scoring_rules_on_a_parent_indicator_are_refused_but_veto_and_not_applicable_are_allowed():
    parent_rules = """\
    rules:
      - code: A-NA
        kind: not_applicable
        label: 不承担该项工作
        fact: no_duty
      - code: A-X
        kind: condition
        label: 未备案
        fact: not_filed
        points: 5
    children:
"""
    text = BASE.replace("    children:\n", parent_rules, 1)
    _, errors = load_ruleset_text(text)
    (error,) = errors
    assert error.key == "rules" and error.line == line_of(text, "    rules:")
    assert "A-X" in error.message and "A-NA" not in error.message
    ok, errors = load_ruleset_text(text.replace(parent_rules.split("      - code: A-X")[1], "").replace(
        "      - code: A-X", "    children:\n", 1))
    assert errors == [] and ok is not None


def test_discretionary_cap_may_not_exceed_the_weight():
    rule = """\
      - code: B-3
        kind: discretionary
        label: 工作质量
        fact: quality
        cap: 50
"""
    text = BASE + rule
    _, errors = load_ruleset_text(text)
    (error,) = errors
    assert (error.line, error.key) == (line_of(text, "cap: 50"), "cap")
    assert "酌情评分的上限50分超过了指标“信息发布”（B）的权重40分" in error.message


def test_several_errors_are_all_reported_in_line_order():
    text = BASE.replace("points: 2\n", "points: 三\n", 1).replace("kind: quantity", "kind: amount")
    _, errors = load_ruleset_text(text)
    assert len(errors) == 2
    assert [e.key for e in errors] == ["points", "kind"]
    assert errors[0].line < errors[1].line


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "文件为空"),
        ("code: demo\n  name: x\n: -\n", 2, "YAML 格式错误"),
        ("- a\n- b\n", 1, "细则文件应为键值对"),
        ("code: demo\nname: 测试\n", 1, "缺少此项"),
        ("code: &c demo\nname: *c\n", 2, "不支持 YAML 锚点与别名"),
    ],
    ids=["empty", "syntax", "not a mapping", "no indicators", "alias"],
)
def test_broken_documents_report_a_line(text, line, words):
    rs, errors = load_ruleset_text(text)
    assert rs is None
    assert errors and errors[0].line == line and words in errors[0].message


def test_error_text_without_a_key_names_only_the_line():
    assert str(RuleFileError(3, "", "YAML 格式错误")) == "第3行：YAML 格式错误"


@pytest.mark.parametrize("name", ["section-2023.yaml", "county-bureau-2023.yaml"])
def test_the_shipped_rule_files_load_without_errors(name):
    rule_file, errors = load_rulefile((RULES_DIR / name).read_text(encoding="utf-8"))
    assert errors == [], [str(e) for e in errors]
    assert rule_file is not None and rule_file.year == 2023
    rs = rule_file.ruleset
    top = [i for i in rs.indicators if i.parent is None]
    assert sum(i.weight for i in top) == rs.base_total == Decimal(100)
    assert [b.name for b in rs.grade_bands] == ["优秀", "良好", "合格", "不合格"]
    kinds = {r.kind for r in rs.rules}
    assert {Kind.VETO, Kind.NOT_APPLICABLE, Kind.BONUS, Kind.NOTICE, Kind.PRESENCE, Kind.QUANTITY} <= kinds


def test_the_section_scheme_uses_the_computed_fact_names():
    rs, _ = load_ruleset_text((RULES_DIR / "section-2023.yaml").read_text(encoding="utf-8"))
    assert rs is not None
    facts = {r.fact for r in rs.rules}
    assert {"tasks_overdue", "reports_missing", "reports_returned", "tasks_done", "notices_county",
            "notices_bureau"} <= facts
    assert rs.period_weights == {f"Q{n}": Decimal("0.25") for n in range(1, 5)}
    assert (rs.lead_share, rs.responsible_share) == (Decimal("0.7"), Decimal("0.3"))
    assert (rs.bonus_cap, rs.bonus_gate) == (Decimal(5), Decimal(80))
    notices = {r.fact: r.points for r in rs.rules if r.kind == Kind.NOTICE}
    assert notices == {"notices_county": Decimal(3), "notices_bureau": Decimal(1)}
    assert set(Kind) == {r.kind for r in rs.rules}


def test_the_county_scheme_is_a_100_plus_8_scheme_with_blank_months():
    rs, _ = load_ruleset_text((RULES_DIR / "county-bureau-2023.yaml").read_text(encoding="utf-8"))
    assert rs is not None
    assert (rs.base_total, rs.bonus_cap) == (Decimal(100), Decimal(8))
    presence = next(r for r in rs.rules if r.kind == Kind.PRESENCE)
    assert (presence.points, presence.absent_points) == (Decimal(10), Decimal(2))
    monthly = next(r for r in rs.rules if r.fact == "monthly_items")
    assert monthly.blank_points > 0 and monthly.target == Decimal(10)
    na = next(r for r in rs.rules if r.kind == Kind.NOT_APPLICABLE)
    assert na.fact == "no_public_service"


def test_the_county_scheme_rescales_when_there_is_no_public_service():
    rs, _ = load_ruleset_text((RULES_DIR / "county-bureau-2023.yaml").read_text(encoding="utf-8"))
    assert rs is not None
    result = engine.score_unit(rs, engine.UnitFacts("统计局", "日常", {"no_public_service": True}))
    assert any("折算" in line.reason for line in result.lines)


@pytest.mark.parametrize("name", ["section-2023.yaml", "county-bureau-2023.yaml"])
def test_dump_then_load_gives_the_same_rule_set(name):
    rule_file, _ = load_rulefile((RULES_DIR / name).read_text(encoding="utf-8"))
    assert rule_file is not None
    dumped = dump_ruleset_yaml(rule_file.ruleset, year=rule_file.year, unit_type=rule_file.unit_type)
    again, errors = load_rulefile(dumped)
    assert errors == []
    assert again == rule_file
    rs, errors = load_ruleset_text(dump_ruleset_yaml(rule_file.ruleset))
    assert errors == [] and rs == rule_file.ruleset


def test_dump_writes_both_presence_values_even_when_zero_and_keeps_chinese_readable():
    rs, _ = load_ruleset_text(BASE.replace("absent_points: 2", "absent_points: 0"))
    assert rs is not None
    text = dump_ruleset_yaml(rs)
    assert "absent_points: 0" in text
    assert "任务落实" in text and "\\u" not in text
    assert load_ruleset_text(text)[0] == rs


def test_dump_of_a_rule_set_built_in_code_round_trips():
    rs = engine.RuleSet(
        code="mini",
        version=3,
        name="小细则",
        indicators=(engine.Indicator("A", "甲", Decimal("50.5")), engine.Indicator("B", "乙", Decimal("49.5"),
                                                                                   mode=Mode.EARN)),
        rules=(
            engine.Rule("R1", "A", Kind.CONDITION, "未备案", "not_filed", Decimal("0.25")),
            engine.Rule("R2", "B", Kind.QUANTITY, "数量", "count", points=Decimal(5), target=Decimal(12),
                        blank_points=Decimal(2), measure="条"),
            engine.Rule("R3", "B", Kind.VETO, "泄密", "leak"),
        ),
    )
    loaded, errors = load_ruleset_text(dump_ruleset_yaml(rs))
    assert errors == []
    assert loaded == rs


def test_with_version_changes_only_the_version_and_keeps_comments():
    text = "# 注释保留\n" + BASE
    bumped = with_version(text, 2)
    assert "# 注释保留" in bumped and "version: 2\n" in bumped
    old, _ = load_ruleset_text(text)
    new, _ = load_ruleset_text(bumped)
    assert old is not None and new is not None and new.version == 2
    assert same_except_version(old, new)


def test_with_version_inserts_the_key_when_missing():
    text = BASE.replace("version: 1\n", "")
    bumped = with_version(text, 4)
    rs, errors = load_ruleset_text(bumped)
    assert errors == [] and rs is not None and rs.version == 4


def test_the_readme_example_loads_without_errors():
    import re

    readme = (RULES_DIR.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## 评分细则文件格式") :]
    example = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert example is not None
    rule_file, errors = load_rulefile(example.group(1))
    assert errors == [], [str(e) for e in errors]
    assert rule_file is not None and rule_file.year == 2023
    assert {r.kind for r in rule_file.ruleset.rules} == set(Kind)
