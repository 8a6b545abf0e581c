"""引擎的 RuleSet → 评分细则文件（YAML）的文本：写出、改版本号（保留原文与注释）、比较两版内容。

写出的文件再读入（rulefile.load_rulefile）得到同一个 RuleSet。纯函数，不碰 Django。
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode

from scoring import engine
from scoring.engine import Kind, Mode
from scoring.rulefile_schema import KIND_KEYS, ONE, POSITIVE_POINTS, TAG_FLOAT, TAG_INT, ZERO


class _Dumper(yaml.SafeDumper):
    """列表项相对上级键缩进两格，与手写文件的习惯一致。"""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True  # 读取时不接受锚点与别名，写出时也不用


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = engine.fmt(value)
    if text in ("-0", "-0.0"):
        text = "0"
    tag = TAG_FLOAT if "." in text else TAG_INT
    return dumper.represent_scalar(tag, text)


_Dumper.add_representer(Decimal, _represent_decimal)


def _rule_doc(rule: engine.Rule) -> dict[str, Any]:
    doc: dict[str, Any] = {"code": rule.code, "kind": rule.kind.value, "label": rule.label, "fact": rule.fact}
    keys = KIND_KEYS[rule.kind]
    # 有无规则：两个分值总是写出（即使为 0），与读取时的要求一致。
    always = {"points", "absent_points"} if rule.kind == Kind.PRESENCE else set()
    if rule.kind in POSITIVE_POINTS:
        always.add("points")
    values: dict[str, Any] = {
        "target": rule.target,
        "points": rule.points,
        "absent_points": rule.absent_points,
        "blank_points": rule.blank_points,
        "cap": rule.cap,
        "evidence_required": rule.evidence_required,
        "measure": rule.measure,
    }
    defaults: dict[str, Any] = {
        "target": None, "points": ZERO, "absent_points": ZERO, "blank_points": ZERO, "cap": None,
        "evidence_required": False, "measure": "项",
    }  # fmt: skip
    for key in ("target", "points", "absent_points", "blank_points", "cap", "evidence_required", "measure"):
        if key in keys and (key in always or values[key] != defaults[key]):
            doc[key] = values[key]
    if rule.kind == Kind.QUANTITY and not any(k in doc for k in ("points", "absent_points", "blank_points")):
        doc["points"] = rule.points
    return doc


def dump_ruleset_yaml(rs: engine.RuleSet, *, year: int | None = None, unit_type: str = "") -> str:
    """把 RuleSet 写成细则文件文本（指标嵌套成树、规则挂在所属指标下）。load(dump(x)) == x。"""
    doc: dict[str, Any] = {"code": rs.code, "name": rs.name}
    if year is not None:
        doc["year"] = year
    if unit_type:
        doc["unit_type"] = unit_type
    doc["version"] = rs.version
    doc["base_total"] = rs.base_total
    if rs.bonus_cap or rs.bonus_gate is not None:
        doc["bonus"] = {"cap": rs.bonus_cap}
        if rs.bonus_gate is not None:
            doc["bonus"]["gate"] = rs.bonus_gate
    if rs.grade_bands:
        doc["grades"] = [{"name": b.name, "min": b.min_score} for b in rs.grade_bands]
    if rs.period_weights:
        doc["periods"] = dict(rs.period_weights)
    if (rs.lead_share, rs.responsible_share) != (ONE, ZERO):
        doc["task_split"] = {"lead": rs.lead_share, "responsible": rs.responsible_share}

    rules_by_indicator: dict[str, list[engine.Rule]] = {}
    for rule in rs.rules:
        rules_by_indicator.setdefault(rule.indicator, []).append(rule)
    children: dict[str | None, list[engine.Indicator]] = {}
    for ind in rs.indicators:
        children.setdefault(ind.parent, []).append(ind)

    def tree(ind: engine.Indicator) -> dict[str, Any]:
        node: dict[str, Any] = {"code": ind.code, "name": ind.name, "weight": ind.weight}
        if ind.mode != Mode.DEDUCT:
            node["mode"] = ind.mode.value
        if ind.code in rules_by_indicator:
            node["rules"] = [_rule_doc(r) for r in rules_by_indicator[ind.code]]
        if ind.code in children:
            node["children"] = [tree(c) for c in children[ind.code]]
        return node

    doc["indicators"] = [tree(i) for i in children.get(None, [])]
    return yaml.dump(
        doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False, width=1000
    )


def with_version(text: str, version: int) -> str:
    """把细则文件文本中的「version」改为新版本号，其余原文（含注释）不动；
    没写 version 时在 code 行后插入一行。

    用于“复制为新版本”：新草稿保留办公室原来的写法与注释。
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, MappingNode):
        raise ValueError("细则文件顶层不是键值对")
    for key_node, value_node in root.value:
        if isinstance(key_node, ScalarNode) and key_node.value == "version":
            start, end = value_node.start_mark.index, value_node.end_mark.index
            return text[:start] + str(version) + text[end:]
    for key_node, value_node in root.value:
        if isinstance(key_node, ScalarNode) and key_node.value == "code" and root.flow_style is not True:
            lines = text.splitlines(keepends=True)
            at = value_node.end_mark.line + 1
            if not lines[at - 1].endswith("\n"):
                lines[at - 1] += "\n"
            lines.insert(at, f"{' ' * key_node.start_mark.column}version: {version}\n")
            return "".join(lines)
    raise ValueError("细则文件中没有「code」")


def same_except_version(a: engine.RuleSet, b: engine.RuleSet) -> bool:
    return replace(a, version=0) == replace(b, version=0)
