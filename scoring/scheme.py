"""评分细则的数据结构（纯标准库）：指标、规则、等次、细则，以及引擎计分时用的细则“执行计划”。

细则一经构造不再改变；执行计划（各末级指标按顺序要算的规则、上级指标链、否决与不适用规则、
加分与通报批评规则、从高到低的等次）在第一次计分时由细则推出并缓存在细则对象上，
同一细则给多个单位、多个期间计分时不再重复推导。
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cached_property, lru_cache

ZERO = Decimal(0)
ONE = Decimal(1)


class Kind(StrEnum):
    PER_OCCURRENCE = "per_occurrence"  # 每条/每次扣N分
    CONDITION = "condition"  # 一次性条件：未备案扣5分
    WHOLE_ITEM = "whole_item"  # 此项不得分
    PRESENCE = "presence"  # 有得X分，无扣Y分（两个值都明确写出）
    QUANTITY = "quantity"  # 数量目标：总量/每期不低于N条，空白期另扣
    PER_ITEM = "per_item"  # 一项可得N分，最高不超过M分
    DISCRETIONARY = "discretionary"  # 根据实际情况评分（0..权重，附理由）
    BONUS = "bonus"  # 加分（进入加分池，需证明材料）
    NOTICE = "notice"  # 受到通报批评每次扣N分（基础分之外）
    VETO = "veto"  # 一票否决
    NOT_APPLICABLE = "not_applicable"  # 不适用：剔除指标并折算


# Kinds scored inside their indicator, in rule order; the others are handled around them.
INDICATOR_KINDS = frozenset(
    {Kind.PER_OCCURRENCE, Kind.CONDITION, Kind.PRESENCE, Kind.QUANTITY, Kind.PER_ITEM, Kind.DISCRETIONARY}
)


class Mode(StrEnum):
    DEDUCT = "deduct"
    EARN = "earn"


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    weight: Decimal
    parent: str | None = None
    mode: Mode = Mode.DEDUCT


@dataclass(frozen=True)
class Rule:
    """一条评分规则。points 的含义随 kind 而定（见 engine 各计分函数的说明）。cap 缺省为所属指标的权重。"""

    code: str
    indicator: str
    kind: Kind
    label: str
    fact: str = ""
    points: Decimal = ZERO
    cap: Decimal | None = None
    absent_points: Decimal = ZERO  # presence：无则扣；quantity：未完成扣
    target: Decimal | None = None  # quantity：目标数（总量或每期）
    blank_points: Decimal = ZERO  # quantity：空白期（数量为 0）扣分
    evidence_required: bool = False
    measure: str = "项"  # 量词：项、条、次、月


@dataclass(frozen=True)
class GradeBand:
    name: str
    min_score: Decimal


@dataclass(frozen=True)
class RuleSet:
    code: str
    version: int
    name: str
    indicators: tuple[Indicator, ...]
    rules: tuple[Rule, ...]
    base_total: Decimal = Decimal(100)
    bonus_cap: Decimal = ZERO
    bonus_gate: Decimal | None = None  # 基础分须“超过”该分数方可加分
    grade_bands: tuple[GradeBand, ...] = ()
    period_weights: Mapping[str, Decimal] = field(default_factory=dict)
    lead_share: Decimal = ONE
    responsible_share: Decimal = ZERO

    @property
    def label(self) -> str:
        return f"{self.code} v{self.version}"

    def indicator(self, code: str) -> Indicator:
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(code)

    def leaves(self) -> tuple[Indicator, ...]:
        parents = {i.parent for i in self.indicators if i.parent}
        return tuple(i for i in self.indicators if i.code not in parents)

    @cached_property
    def plan(self) -> Plan:
        """计分用的执行计划（第一次用到时推出，之后复用；细则不可变，计划也不会过期）。"""
        return Plan.of(self)


# ---- the plan --------------------------------------------------------------------------------------------


def lineage(rs: RuleSet, code: str) -> frozenset[str]:
    """code 本身及其各级上级指标的代码（上级链有环时到环为止）。"""
    parents = {i.code: i.parent for i in rs.indicators}
    out = {code}
    parent = parents.get(code)
    while parent and parent not in out:
        out.add(parent)
        parent = parents.get(parent)
    return frozenset(out)


@dataclass(frozen=True)
class LeafPlan:
    """一个末级指标：按细则顺序要计的规则、“此项不得分”规则、本身及上级指标代码、两句固定的台账原因。"""

    indicator: Indicator
    lineage: frozenset[str]
    rules: tuple[Rule, ...]
    whole_items: tuple[Rule, ...]
    base_reason: str
    na_reason: str


@dataclass(frozen=True)
class Plan:
    label: str
    vetoes: tuple[Rule, ...]
    not_applicable: tuple[Rule, ...]
    leaves: tuple[LeafPlan, ...]
    extras: tuple[tuple[Rule, frozenset[str]], ...]  # 加分、通报批评规则及其指标链（不适用时不计）
    split: Mapping[str, Decimal]  # 牵头 / 责任分担比例
    bands: tuple[GradeBand, ...]  # 从高到低

    @classmethod
    def of(cls, rs: RuleSet) -> Plan:
        by_indicator: dict[str, list[Rule]] = {}
        for rule in rs.rules:
            by_indicator.setdefault(rule.indicator, []).append(rule)
        leaves = []
        for ind in rs.leaves():
            rules = by_indicator.get(ind.code, [])
            leaves.append(
                LeafPlan(
                    indicator=ind,
                    lineage=lineage(rs, ind.code),
                    rules=tuple(r for r in rules if r.kind in INDICATOR_KINDS),
                    whole_items=tuple(r for r in rules if r.kind == Kind.WHOLE_ITEM),
                    base_reason=f"{ind.name}：基础分{fmt(ind.weight)}分",
                    na_reason=f"{ind.name}：本单位不适用，剔除该指标（权重{fmt(ind.weight)}分）",
                )
            )
        return cls(
            label=rs.label,
            vetoes=tuple(r for r in rs.rules if r.kind == Kind.VETO),
            not_applicable=tuple(r for r in rs.rules if r.kind == Kind.NOT_APPLICABLE),
            leaves=tuple(leaves),
            extras=tuple(
                (r, lineage(rs, r.indicator)) for r in rs.rules if r.kind in (Kind.BONUS, Kind.NOTICE)
            ),
            split={"lead": rs.lead_share, "responsible": rs.responsible_share},
            bands=tuple(sorted(rs.grade_bands, key=lambda b: b.min_score, reverse=True)),
        )


@lru_cache(maxsize=4096)
def fmt(value: Decimal) -> str:
    """分值的中文显示：去掉多余的 0（2.50 → 2.5，3.00 → 3，-0 → 0）。

    分值种类不多（细则里的分值与少数合计），结果缓存；相等的 Decimal（2.5 与 2.50）显示相同，可共用一个结果。
    """
    if value == 0:
        return "0"
    return format(value.normalize(), "f")
