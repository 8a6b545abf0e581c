"""评分细则文件（考核评分细则的 YAML 写法）→ 引擎的 RuleSet：读取与逐项校验。

纯函数：只用 PyYAML 与标准库，不碰 Django。每个错误都写明行号与键名（中文）；数字一律按原文转成 Decimal。
文件的写法（可写的键、规则类型）见 rulefile_schema.py；RuleSet 写回文件见 rulefile_dump.py。
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scoring import engine
from scoring.engine import Kind, Mode
from scoring.rulefile_schema import (
    ANY_LEVEL_KINDS,
    BONUS_KEYS,
    CODE_RE,
    COMMON_RULE_KEYS,
    FACT_RE,
    GRADE_KEYS,
    INDICATOR_KEYS,
    KIND_KEYS,
    KIND_LABELS,
    MAX_NUMBER,
    MAX_PLACES,
    MAX_TEXT,
    MODE_LABELS,
    ONE,
    POSITIVE_POINTS,
    RULE_KEYS,
    RULESET_CODE_RE,
    SPLIT_KEYS,
    TAG_BOOL,
    TAG_FLOAT,
    TAG_INT,
    TAG_NULL,
    TAG_STR,
    TOP_KEYS,
    ZERO,
)


@dataclass(frozen=True)
class RuleFileError:
    """细则文件中的一处错误：行号（从 1 起，0 表示整个文件）、键名、中文说明。"""

    line: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"第{self.line}行" if self.line else ""
        key = f"「{self.key}」" if self.key else ""
        return f"{where}{key}：{self.message}" if where or key else self.message

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "key": self.key, "message": self.message}


@dataclass(frozen=True)
class RuleFile:
    """一个细则文件的全部内容：引擎用的 RuleSet，加上只有数据库记录需要的年度与适用单位类型。"""

    ruleset: engine.RuleSet
    year: int | None = None
    unit_type: str = ""
    key_lines: Mapping[str, int] = field(default_factory=dict, compare=False)  # 顶层键 → 行号


def load_ruleset_text(text: str) -> tuple[engine.RuleSet | None, list[RuleFileError]]:
    """读取细则文件文本。有任何错误时返回 (None, 全部错误)；没有错误时返回 (RuleSet, [])。"""
    rule_file, errors = load_rulefile(text)
    return (rule_file.ruleset if rule_file else None), errors


def load_rulefile(text: str) -> tuple[RuleFile | None, list[RuleFileError]]:
    """同 load_ruleset_text，另带年度、适用单位类型与顶层键的行号。"""
    if len(text) > MAX_TEXT:
        return None, [RuleFileError(0, "", f"文件过大（{len(text)}个字符），细则文件不应超过{MAX_TEXT}个字符")]
    try:
        # 锚点与别名（&、*）会让同一段内容在多处生效，既不直观也可被用来放大文件：一律不接受。
        alias = next((e for e in yaml.parse(text, Loader=yaml.SafeLoader) if isinstance(e, yaml.AliasEvent)), None)
        if alias is not None:
            line = alias.start_mark.line + 1 if alias.start_mark else 0
            return None, [RuleFileError(line, "", "不支持 YAML 锚点与别名（& 和 *），请把内容直接写出")]
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = exc.problem or exc.context or "无法解析"
        return None, [RuleFileError(line, "", f"YAML 格式错误（{problem}），请检查缩进、冒号与引号")]
    except yaml.YAMLError as exc:
        return None, [RuleFileError(0, "", f"YAML 格式错误（{exc}）")]
    if root is None:
        return None, [RuleFileError(1, "", "文件为空")]
    reader = _Reader()
    result = reader.document(root)
    errors = sorted(reader.errors, key=lambda e: e.line)
    if errors or result is None:
        return None, errors
    return result, []


# ---- reading --------------------------------------------------------------------------------------------


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _shown(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "键值对"
    if isinstance(node, SequenceNode):
        return "列表"
    if node.tag == TAG_NULL:
        return "空"
    return f"“{node.value}”"


def _fmt(value: Decimal) -> str:
    return engine.fmt(value)


Entries = dict[str, tuple[ScalarNode, Node]]


class _Reader:
    """沿 yaml.compose 的节点树读取，边读边记错误；任何错误都不抛出。"""

    def __init__(self) -> None:
        self.errors: list[RuleFileError] = []
        self.indicators: list[engine.Indicator] = []
        self.rules: list[engine.Rule] = []
        self.indicator_codes: dict[str, int] = {}
        self.rule_codes: dict[str, int] = {}
        self.bonus_rules: list[tuple[str, Node]] = []

    def error(self, node: Node, key: str, message: str) -> None:
        self.errors.append(RuleFileError(_line(node), key, message))

    # -- structure --

    def mapping(self, node: Node, key: str, allowed: Sequence[str], where: str) -> Entries | None:
        """读取一个键值对节点；未知键（多为拼写错误）与重复键都记为错误。"""
        if not isinstance(node, MappingNode):
            self.error(node, key, f"{where}应为键值对（如 code: A1），实际为{_shown(node)}")
            return None
        entries: Entries = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == TAG_NULL:
                self.error(key_node, key, f"{where}中的键应为文字，实际为{_shown(key_node)}")
                continue
            name = str(key_node.value)
            if name not in allowed:
                guess = difflib.get_close_matches(name, allowed, n=1)
                hint = f"是否应为「{guess[0]}」？" if guess else ""
                self.error(key_node, name, f"{where}中没有这个键。{hint}可用的键：{'、'.join(allowed)}")
                continue
            if name in entries:
                self.error(key_node, name, f"{where}中重复写了此键（第{_line(entries[name][0])}行已写过）")
                continue
            entries[name] = (key_node, value_node)
        return entries

    def sequence(self, entries: Entries, key: str) -> list[Node]:
        if key not in entries:
            return []
        key_node, node = entries[key]
        if isinstance(node, ScalarNode) and node.tag == TAG_NULL:
            return []
        if not isinstance(node, SequenceNode):
            self.error(node, key, f"应为列表（每项以“- ”开头），实际为{_shown(node)}")
            return []
        return list(node.value)

    # -- scalars --

    def text(self, entries: Entries, key: str, *, parent: Node, required: bool = False, max_length: int = 255,
             pattern: re.Pattern[str] | None = None, pattern_hint: str = "") -> str | None:
        if key not in entries:
            if required:
                self.error(parent, key, "缺少此项")
            return None
        _, node = entries[key]
        if not isinstance(node, ScalarNode) or node.tag == TAG_NULL or not str(node.value).strip():
            self.error(node, key, f"应为文字，实际为{_shown(node)}")
            return None
        value = str(node.value).strip()
        if len(value) > max_length:
            self.error(node, key, f"不能超过{max_length}个字，实际为{len(value)}个字")
            return None
        if pattern is not None and not pattern.match(value):
            self.error(node, key, f"{pattern_hint}，实际为“{value}”")
            return None
        return value

    def number(self, entries: Entries, key: str, *, parent: Node, required: bool = False,
               minimum: Decimal | None = ZERO, maximum: Decimal | None = None, positive: bool = False,
               required_hint: str = "") -> Decimal | None:
        """读取数字。按 YAML 原文转成 Decimal（不经过二进制浮点），引号内的数字也接受。"""
        if key not in entries:
            if required:
                self.error(parent, key, f"缺少此项{required_hint}")
            return None
        _, node = entries[key]
        if isinstance(node, ScalarNode) and node.tag == TAG_NULL:
            if required:
                self.error(node, key, f"应为数字，实际为空{required_hint}")
            return None
        value = self._decimal(node)
        if value is None:
            self.error(node, key, f"应为数字，实际为{_shown(node)}")
            return None
        if int(value.normalize().as_tuple().exponent) < -MAX_PLACES or abs(value) >= MAX_NUMBER:
            self.error(node, key, f"最多{MAX_PLACES}位小数、小于{_fmt(MAX_NUMBER)}，实际为“{node.value}”")
            return None
        sign_hint = "（扣分也写正数，加减由规则类型决定）" if value < 0 else ""
        if positive and value <= 0:
            self.error(node, key, f"应为大于0的数字，实际为“{node.value}”{sign_hint}")
            return None
        if minimum is not None and value < minimum:
            hint = sign_hint if minimum == 0 else ""
            self.error(node, key, f"应不小于{_fmt(minimum)}，实际为“{node.value}”{hint}")
            return None
        if maximum is not None and value > maximum:
            self.error(node, key, f"应不大于{_fmt(maximum)}，实际为“{node.value}”")
            return None
        return value

    @staticmethod
    def _decimal(node: Node) -> Decimal | None:
        if not isinstance(node, ScalarNode) or node.tag not in (TAG_INT, TAG_FLOAT, TAG_STR):
            return None
        raw = str(node.value).strip()
        if node.tag in (TAG_INT, TAG_FLOAT):
            raw = raw.replace("_", "")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            return None
        return value if value.is_finite() else None

    def integer(self, entries: Entries, key: str, *, parent: Node, required: bool = False,
                minimum: int = 0, maximum: int | None = None) -> int | None:
        if key not in entries:
            if required:
                self.error(parent, key, "缺少此项")
            return None
        _, node = entries[key]
        value = self._decimal(node)
        if value is None or value != value.to_integral_value():
            self.error(node, key, f"应为整数，实际为{_shown(node)}")
            return None
        number = int(value)
        if number < minimum or (maximum is not None and number > maximum):
            bound = f"{minimum}–{maximum}" if maximum is not None else f"不小于{minimum}"
            self.error(node, key, f"应为{bound}的整数，实际为“{node.value}”")
            return None
        return number

    def boolean(self, entries: Entries, key: str) -> bool | None:
        if key not in entries:
            return None
        _, node = entries[key]
        if not isinstance(node, ScalarNode) or node.tag != TAG_BOOL:
            self.error(node, key, f"应为 true 或 false，实际为{_shown(node)}")
            return None
        return bool(yaml.constructor.SafeConstructor.bool_values[str(node.value).lower()])

    # -- the document --

    def document(self, root: Node) -> RuleFile | None:
        top = self.mapping(root, "", TOP_KEYS, "细则文件")
        if top is None:
            return None
        code = self.text(top, "code", parent=root, required=True, max_length=64, pattern=RULESET_CODE_RE,
                         pattern_hint="应为字母、数字、-、_、. 组成的代码（如 section-2023）")
        name = self.text(top, "name", parent=root, required=True)
        year = self.integer(top, "year", parent=root, minimum=2000, maximum=2100)
        unit_type = self.text(top, "unit_type", parent=root, max_length=64) or ""
        version = self.integer(top, "version", parent=root, minimum=1)
        base_total = self.number(top, "base_total", parent=root, positive=True)
        base_total = base_total if base_total is not None else Decimal(100)

        bonus_cap, bonus_gate = ZERO, None
        if "bonus" in top:
            bonus = self.mapping(top["bonus"][1], "bonus", BONUS_KEYS, "「bonus」（加分）")
            if bonus is not None:
                bonus_cap = self.number(bonus, "cap", parent=top["bonus"][1]) or ZERO
                bonus_gate = self.number(bonus, "gate", parent=top["bonus"][1], maximum=base_total)

        grades = self.grades(top)
        periods = self.periods(top)
        lead_share, responsible_share = ONE, ZERO
        if "task_split" in top:
            split_node = top["task_split"][1]
            split = self.mapping(split_node, "task_split", SPLIT_KEYS, "「task_split」（牵头/责任分担）")
            if split is not None:
                lead = self.number(split, "lead", parent=split_node, maximum=ONE)
                resp = self.number(split, "responsible", parent=split_node, maximum=ONE)
                lead_share = lead if lead is not None else ONE
                responsible_share = resp if resp is not None else ZERO

        if "indicators" not in top:
            self.error(root, "indicators", "缺少此项（指标树，至少一个一级指标）")
        else:
            key_node, value_node = top["indicators"]
            nodes = self.sequence(top, "indicators")
            if not nodes and (isinstance(value_node, SequenceNode) or value_node.tag == TAG_NULL):
                self.error(key_node, "indicators", "至少要有一个一级指标")
            weights = [self.indicator(n, parent=None, level=1) for n in nodes]
            if nodes and all(w is not None for w in weights):
                total = sum((w for w in weights if w is not None), ZERO)
                if total != base_total:
                    self.error(key_node, "indicators",
                               f"一级指标权重之和为{_fmt(total)}分，与基础总分「base_total」{_fmt(base_total)}分不一致")

        for kind_line, kind_node in self.bonus_rules:
            if bonus_cap <= 0:
                self.error(kind_node, "kind", f"加分规则（{kind_line}）需要在文件顶层写明「bonus」的「cap」（加分上限），且大于0")

        if self.errors or code is None or name is None:
            return None
        ruleset = engine.RuleSet(
            code=code,
            version=version or 1,
            name=name,
            indicators=tuple(self.indicators),
            rules=tuple(self.rules),
            base_total=base_total,
            bonus_cap=bonus_cap,
            bonus_gate=bonus_gate,
            grade_bands=grades,
            period_weights=periods,
            lead_share=lead_share,
            responsible_share=responsible_share,
        )
        key_lines = {k: _line(key_node) for k, (key_node, _) in top.items()}
        return RuleFile(ruleset=ruleset, year=year, unit_type=unit_type, key_lines=key_lines)

    def grades(self, top: Entries) -> tuple[engine.GradeBand, ...]:
        """等次：按下限从高到低排列，下限互不相同（区间不重叠）；分数低于最后一档下限时仍取最后一档。"""
        bands: list[engine.GradeBand] = []
        names: set[str] = set()
        for node in self.sequence(top, "grades"):
            entries = self.mapping(node, "grades", GRADE_KEYS, "等次")
            if entries is None:
                continue
            name = self.text(entries, "name", parent=node, required=True, max_length=16)
            low = self.number(entries, "min", parent=node, required=True)
            if name is None or low is None:
                continue
            if name in names:
                self.error(entries["name"][1], "name", f"等次“{name}”重复")
                continue
            if bands and low >= bands[-1].min_score:
                self.error(entries["min"][1], "min",
                           f"等次须按分数从高到低排列、互不重叠：“{name}”的下限{_fmt(low)}分"
                           f"应低于上一等次“{bands[-1].name}”的下限{_fmt(bands[-1].min_score)}分")
                continue
            names.add(name)
            bands.append(engine.GradeBand(name, low))
        return tuple(bands)

    def periods(self, top: Entries) -> dict[str, Decimal]:
        """期间权重：如四个季度各 0.25，或 日常 0.8 + 年终 0.2；合计必须为 1。"""
        if "periods" not in top:
            return {}
        key_node, node = top["periods"]
        if not isinstance(node, MappingNode):
            self.error(node, "periods", f"应为“期间: 权重”的键值对（如 Q1: 0.25），实际为{_shown(node)}")
            return {}
        weights: dict[str, Decimal] = {}
        ok = True
        for name_node, value_node in node.value:
            name = str(name_node.value).strip() if isinstance(name_node, ScalarNode) else ""
            if not name or len(name) > 16:
                self.error(name_node, "periods", f"期间名称应为1–16个字，实际为{_shown(name_node)}")
                ok = False
                continue
            if name in weights:
                self.error(name_node, name, "期间重复")
                ok = False
                continue
            entry = {name: (name_node, value_node)}
            value = self.number(entry, name, parent=node, positive=True, maximum=ONE)
            if value is None:
                ok = False
                continue
            weights[name] = value
        total = sum(weights.values(), ZERO)
        if ok and weights and total != ONE:
            self.error(key_node, "periods", f"期间权重之和为{_fmt(total)}，应为1")
        return weights

    def indicator(self, node: Node, *, parent: engine.Indicator | None, level: int) -> Decimal | None:
        """读取一个指标（连同其下级与规则），返回其权重；下级权重之和必须等于本级权重。"""
        entries = self.mapping(node, "indicators", INDICATOR_KEYS, "指标")
        if entries is None:
            return None
        code = self.text(entries, "code", parent=node, required=True, max_length=32, pattern=CODE_RE,
                         pattern_hint="指标代码不能含空格")
        name = self.text(entries, "name", parent=node, required=True)
        weight = self.number(entries, "weight", parent=node, required=True)
        mode = Mode.DEDUCT
        if "mode" in entries:
            _, mode_node = entries["mode"]
            raw = str(mode_node.value) if isinstance(mode_node, ScalarNode) else ""
            if raw in tuple(Mode):
                mode = Mode(raw)
            else:
                valid = "、".join(f"{m.value}（{label}）" for m, label in MODE_LABELS.items())
                self.error(mode_node, "mode", f"计分方式应为 {valid}，实际为{_shown(mode_node)}")
        if code is not None:
            if code in self.indicator_codes:
                self.error(entries["code"][1], "code", f"指标代码“{code}”重复（第{self.indicator_codes[code]}行已使用）")
            else:
                self.indicator_codes[code] = _line(entries["code"][1])
        label = f"“{name or '？'}”（{code or '？'}）"
        parent_code = parent.code if parent else None
        current = engine.Indicator(code or "", name or "", weight or ZERO, parent_code, mode)
        self.indicators.append(current)

        child_nodes = self.sequence(entries, "children")
        rule_nodes = self.sequence(entries, "rules")
        misplaced: list[str] = []
        for rule_node in rule_nodes:
            kind, rule_code = self.rule(rule_node, indicator=current, indicator_label=label,
                                        weight_known=weight is not None)
            if child_nodes and kind is not None and kind not in ANY_LEVEL_KINDS:
                misplaced.append(rule_code)
        if misplaced:
            self.error(entries["rules"][0], "rules",
                       f"指标{label}有下级指标，评分规则（{'、'.join(misplaced)}）应挂在末级指标上"
                       f"（只有 veto、not_applicable 可挂在上级指标）")

        weights = [self.indicator(c, parent=current, level=level + 1) for c in child_nodes]
        if child_nodes and weight is not None and all(w is not None for w in weights):
            total = sum((w for w in weights if w is not None), ZERO)
            if total != weight:
                self.error(entries["weight"][1], "weight",
                           f"指标{label}的权重为{_fmt(weight)}分，下级指标权重之和为{_fmt(total)}分，两者应相等")
        return weight

    def rule(self, node: Node, *, indicator: engine.Indicator, indicator_label: str,
             weight_known: bool) -> tuple[Kind | None, str]:
        """读取一条规则并按类型检查必填项；返回规则类型（无法识别时为 None）与规则代码。"""
        entries = self.mapping(node, "rules", RULE_KEYS, "规则")
        if entries is None:
            return None, "？"
        code = self.text(entries, "code", parent=node, required=True, max_length=32, pattern=CODE_RE,
                         pattern_hint="规则代码不能含空格")
        label = self.text(entries, "label", parent=node, required=True)
        fact = self.text(entries, "fact", parent=node, required=True, max_length=64, pattern=FACT_RE,
                         pattern_hint="事实名应为英文字母、数字和下划线（如 tasks_overdue）")
        if code is not None:
            if code in self.rule_codes:
                self.error(entries["code"][1], "code", f"规则代码“{code}”重复（第{self.rule_codes[code]}行已使用）")
            else:
                self.rule_codes[code] = _line(entries["code"][1])

        kind = self.kind(entries, parent=node)
        if kind is None:
            return None, code or "？"
        kind_text = f"{kind.value}（{KIND_LABELS[kind]}）"
        for key in entries:
            if key not in COMMON_RULE_KEYS and key not in KIND_KEYS[kind]:
                usable = "、".join(KIND_KEYS[kind]) or "无"
                self.error(entries[key][0], key, f"{kind_text}规则不使用此项（此类规则可写：{usable}）")

        points = self.number(entries, "points", parent=node, required=kind in POSITIVE_POINTS,
                             positive=kind in POSITIVE_POINTS)
        absent = self.number(entries, "absent_points", parent=node)
        cap = self.number(entries, "cap", parent=node, positive=True)
        target = self.number(entries, "target", parent=node, required=kind == Kind.QUANTITY,
                             required_hint="（数量目标规则须写明目标数）")
        blank = self.number(entries, "blank_points", parent=node)
        evidence = self.boolean(entries, "evidence_required")
        measure = self.text(entries, "measure", parent=node, max_length=8)

        if kind == Kind.PRESENCE:
            # 有得X分、无扣Y分：两个分值都必须写明，不从一个推算另一个。
            for key in ("points", "absent_points"):
                if key not in entries:
                    self.error(node, key, "有无规则须同时写明「points」（有则得分）和「absent_points」（无则扣分），"
                                          "无则不扣时写 0")
        scored_keys = ("points", "absent_points", "blank_points")
        if kind == Kind.QUANTITY and not any(k in entries for k in scored_keys):
            self.error(node, "points", "数量目标规则至少要写明「points」（达标得分）、「absent_points」（未达标扣分）"
                                       "或「blank_points」（空白期扣分）之一")
        if kind == Kind.DISCRETIONARY and cap is not None and weight_known and cap > indicator.weight:
            self.error(entries["cap"][1], "cap",
                       f"酌情评分的上限{_fmt(cap)}分超过了指标{indicator_label}的权重{_fmt(indicator.weight)}分")
        if kind == Kind.BONUS:
            self.bonus_rules.append((code or "？", entries["kind"][1]))

        self.rules.append(engine.Rule(
            code=code or "",
            indicator=indicator.code,
            kind=kind,
            label=label or "",
            fact=fact or "",
            points=points if points is not None else ZERO,
            cap=cap,
            absent_points=absent if absent is not None else ZERO,
            target=target,
            blank_points=blank if blank is not None else ZERO,
            evidence_required=bool(evidence),
            measure=measure or "项",
        ))
        return kind, code or "？"

    def kind(self, entries: Entries, *, parent: Node) -> Kind | None:
        valid = "、".join(f"{k.value}（{label}）" for k, label in KIND_LABELS.items())
        if "kind" not in entries:
            self.error(parent, "kind", f"缺少此项。可用的类型：{valid}")
            return None
        _, node = entries["kind"]
        raw = str(node.value).strip() if isinstance(node, ScalarNode) else ""
        if raw in tuple(Kind):
            return Kind(raw)
        by_label = {label: k for k, label in KIND_LABELS.items()}
        guess = difflib.get_close_matches(raw, [k.value for k in Kind], n=1)
        hint = f"是否应为“{guess[0]}”？" if guess else ""
        if raw in by_label:
            hint = f"请写英文代码“{by_label[raw].value}”。"
        self.error(node, "kind", f"未知的规则类型{_shown(node)}。{hint}可用的类型：{valid}")
        return None
