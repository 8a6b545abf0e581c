"""考核评分引擎（纯标准库）：评分细则 + 事实 → 扣分/加分台账与总分、等次。

不依赖 Django、pandas 或数据库。金额用 Decimal；每条台账保留全精度，
只在总分处四舍五入一次（ROUND_HALF_UP，两位）。

计分口径：
- 指标分“扣分制”（deduct：从权重起扣，扣完为止，最低 0 分）和“得分制”（earn：从 0 起得分，最高不超过权重）；
  得分制指标里细则明确写出的扣分（“无扣2分”“未完成扣2分”）照扣，可使该指标为负，单条扣分不超过其上限（缺省为权重）；
- 基础分 = 各适用指标得分之和；有不适用指标时按 基础总分 ÷（基础总分 − 不适用权重）折算；
- 加分进入加分池，受池上限约束，且只有基础分（两位小数显示值）“超过”门槛时才计入；
- 通报批评倒扣在基础分之外；
- 任一否决条件成立：等次为不合格，总分计 0 分，不再计其他项；
- 牵头/责任分担：事件带角色（lead/responsible）时按细则的分担比例计，否则按事件自带的比例（缺省 1）；
- 总分 = 各条台账分值之和（未取整，raw_total），等次按四舍五入后的总分；
  低于所有等次下限且无兜底档时为“不合格”。
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

from scoring.engine_io import (
    NO_EVENTS,
    Assessment,
    BonusItem,
    EventGroup,
    Events,
    FactValue,
    LedgerLine,
    Occurrence,
    RolledUp,
    UnitFacts,
    UnitResult,
)
from scoring.scheme import (
    INDICATOR_KINDS,
    ZERO,
    GradeBand,
    Indicator,
    Kind,
    LeafPlan,
    Mode,
    Plan,
    Rule,
    RuleSet,
    fmt,
)

__all__ = [
    "FAIL_GRADE",
    "NO_EVENTS",
    "INDICATOR_KINDS",
    "Assessment",
    "BonusItem",
    "EventGroup",
    "Events",
    "FactValue",
    "GradeBand",
    "Indicator",
    "Kind",
    "LedgerLine",
    "Mode",
    "Occurrence",
    "RolledUp",
    "Rule",
    "RuleSet",
    "ScoringError",
    "UnitFacts",
    "UnitResult",
    "fmt",
    "grade",
    "rank",
    "roll_up",
    "round_score",
    "score_all",
    "score_unit",
]

CENT = Decimal("0.01")
FAIL_GRADE = "不合格"


class ScoringError(ValueError):
    """事实与细则不相容（如酌情分超出 0..权重），该单位无法计分。"""


def round_score(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# ---- one function per rule kind: each returns (nominal points, reason, facts used) ------------------------


Nominal = tuple[Decimal, str, dict[str, object]]
NO_FACTS: Mapping[str, object] = {}


def _events(value: FactValue | None) -> Events:
    if isinstance(value, Events):
        return value
    if isinstance(value, tuple) and value and all(isinstance(v, Occurrence) for v in value):
        return Events.of(value)  # type: ignore[arg-type]
    return NO_EVENTS


ROLE_NAMES = {"lead": "牵头", "responsible": "责任"}


def group_share(group: EventGroup, split: Mapping[str, Decimal] | None = None) -> Decimal:
    """本单位对一组事件的分担比例：有角色且细则给了该角色的比例时用细则的，否则用事件自带的。"""
    if group.role and split is not None and group.role in split:
        return split[group.role]
    return group.share


def score_per_occurrence(
    rule: Rule, value: FactValue | None, split: Mapping[str, Decimal] | None = None
) -> Nominal:
    """每次扣 points 分：−points × Σ分担比例（split 为细则的 {"lead": 牵头比例, "responsible": 责任比例}）。

    原因写明次数、单价与合计；有分担时写出折算算式（如“按分担比例折算为牵头3项×0.7+责任5项×0.3=3.6项”），
    台账依据记各组的角色、比例与个数（与 refs 的先后对应）。
    """
    events = _events(value)
    measure = rule.measure
    shares = [group_share(g, split) for g in events.groups]
    qty = ZERO
    merged: dict[tuple[str, Decimal], int] = {}
    for g, s in zip(events.groups, shares, strict=True):
        n = len(g.refs)
        qty += s * n
        merged[(g.role, s)] = merged.get((g.role, s), 0) + n
    points = ZERO - rule.points * qty
    qty_text = f"{events.count}{measure}"
    if any(s != 1 for s in shares):
        # Equal (role, share) pairs are counted together so a reason stays short however many events
        # there are: "按分担比例折算为牵头3项×0.7+责任5项×0.3=3.6项".
        terms = "+".join(
            f"{ROLE_NAMES.get(role, role)}{n}{measure}×{fmt(share)}" for (role, share), n in merged.items()
        )
        qty_text += f"，按分担比例折算为{terms}={fmt(qty)}{measure}"
    reason = f"{rule.label}{qty_text}，每{measure}扣{fmt(rule.points)}分，共扣{fmt(-points)}分"
    used: dict[str, object] = {
        "refs": events.refs,
        **({"notes": events.notes} if events.notes else {}),
        "count": events.count,
        "weighted": str(qty),
        "groups": [
            {"share": fmt(s), "count": len(g.refs), **({"role": g.role} if g.role else {})}
            for g, s in zip(events.groups, shares, strict=True)
        ],
    }
    return points, reason, used


def score_condition(rule: Rule, value: FactValue | None) -> Nominal:
    """条件成立时一次性扣 points 分（同一指标可有多条这样的条件）。"""
    if value is True:
        return ZERO - rule.points, f"{rule.label}，扣{fmt(rule.points)}分", {"value": True}
    return ZERO, "", {"value": bool(value)}


def score_presence(rule: Rule, value: FactValue | None) -> Nominal:
    """有则得 points 分，无则扣 absent_points 分；两个分值都由细则明确给出，不推算。"""
    if value is True:
        return rule.points, f"{rule.label}：有，得{fmt(rule.points)}分", {"present": True}
    note = "无" if value is False else "无（未提供）"
    return (
        ZERO - rule.absent_points,
        f"{rule.label}：{note}，扣{fmt(rule.absent_points)}分",
        {"present": False},
    )


def score_quantity(rule: Rule, value: FactValue | None) -> Nominal:
    """数量目标。

    - 事实为单个数：达到 target 得 points 分，未达到扣 absent_points 分；
    - 事实为分期序列（如每月条数）：每期低于 target 扣 absent_points 分，数量为 0 的空白期改扣 blank_points 分
      （blank_points 为 0 时空白期按低于目标扣），全部达标得 points 分。
    """
    target = rule.target or ZERO
    if isinstance(value, tuple) and value:  # 空序列 = 没有任何一期的数据，按总数 0 处理，不能算“各期均达标”
        series = [v for v in value if isinstance(v, Decimal)]
        blank = [i + 1 for i, v in enumerate(series) if v == 0 and rule.blank_points]
        short = [i + 1 for i, v in enumerate(series) if v < target and (i + 1) not in blank]
        points = ZERO - (rule.absent_points * len(short) + rule.blank_points * len(blank))
        facts: dict[str, object] = {
            "series": [str(v) for v in series],
            "target": str(target),
            "short": short,
            "blank": blank,
        }
        if not short and not blank:
            return (
                rule.points,
                f"{rule.label}：各期均不低于{fmt(target)}{rule.measure}，得{fmt(rule.points)}分",
                facts,
            )
        parts = []
        if short:
            parts.append(
                f"{len(short)}期低于{fmt(target)}{rule.measure}（第{_periods(short)}期），"
                f"每期扣{fmt(rule.absent_points)}分"
            )
        if blank:
            parts.append(f"{len(blank)}期空白（第{_periods(blank)}期），每期扣{fmt(rule.blank_points)}分")
        return points, f"{rule.label}：{'；'.join(parts)}，共扣{fmt(-points)}分", facts
    count = value if isinstance(value, Decimal) else ZERO
    total_facts: dict[str, object] = {"count": str(count), "target": str(target)}
    if count >= target:
        return (
            rule.points,
            f"{rule.label}{fmt(count)}{rule.measure}，达到目标{fmt(target)}{rule.measure}，得{fmt(rule.points)}分",
            total_facts,
        )
    return (
        ZERO - rule.absent_points,
        f"{rule.label}{fmt(count)}{rule.measure}，未达到目标{fmt(target)}{rule.measure}，扣{fmt(rule.absent_points)}分",
        total_facts,
    )


def _periods(numbers: Sequence[int]) -> str:
    return "、".join(str(n) for n in numbers)


def score_per_item(rule: Rule, value: FactValue | None, weight: Decimal) -> Nominal:
    """每满足一项得 points 分，最高不超过 cap（缺省为指标权重）。"""
    events = _events(value)
    n = events.count
    cap = rule.cap if rule.cap is not None else weight
    raw = rule.points * n
    points = min(raw, cap)
    capped = f"，计{fmt(raw)}分，最高不超过{fmt(cap)}分" if raw > cap else ""
    reason = (
        f"{rule.label}{n}{rule.measure}，每{rule.measure}得{fmt(rule.points)}分{capped}，得{fmt(points)}分"
    )
    return (
        points,
        reason,
        {"refs": events.refs, **({"notes": events.notes} if events.notes else {}), "count": n},
    )


def score_discretionary(rule: Rule, value: FactValue | None, weight: Decimal) -> Nominal:
    """评分人根据实际情况给 0..权重（有 cap 时为 0..cap）分，必须附理由；未评分按 0 分。
    超出范围或没有理由时拒绝计分（ScoringError）。"""
    if not isinstance(value, Assessment):
        return ZERO, f"{rule.label}：未评分，计0分", {}
    limit = rule.cap if rule.cap is not None else weight
    if not ZERO <= value.points <= limit:
        raise ScoringError(f"{rule.code}（{rule.label}）：酌情分{fmt(value.points)}分超出0–{fmt(limit)}分")
    if not value.reason.strip():
        raise ScoringError(f"{rule.code}（{rule.label}）：酌情分须附理由")
    return (
        value.points,
        f"{rule.label}：{value.reason}，得{fmt(value.points)}分",
        {"assessed": str(value.points)},
    )


def score_bonus(rule: Rule, value: FactValue | None) -> list[Nominal]:
    """每项加 points 分；规则要求证明材料时，缺材料的项不加分（单列一行说明）。单条规则上限 cap。"""
    items = value if isinstance(value, tuple) else ()
    out: list[Nominal] = []
    total = ZERO
    for item in items:
        if not isinstance(item, BonusItem):
            continue
        if rule.evidence_required and not item.evidence:
            out.append((ZERO, f"{rule.label}（{item.reason}）缺少证明材料，不予加分", {"ref": item.ref}))
            continue
        pts = rule.points
        if rule.cap is not None and total + pts > rule.cap:
            pts = max(rule.cap - total, ZERO)
            reason = f"{rule.label}（{item.reason}），本项加分已达上限{fmt(rule.cap)}分，加{fmt(pts)}分"
        else:
            reason = f"{rule.label}（{item.reason}），加{fmt(pts)}分"
        total += pts
        out.append((pts, reason, {"ref": item.ref, "evidence": item.evidence}))
    return out


def score_notice(rule: Rule, value: FactValue | None) -> Nominal:
    """受到通报批评每次扣 points 分，在基础分之外倒扣。"""
    events = _events(value)
    n = events.count
    points = ZERO - rule.points * n
    return (
        points,
        f"{rule.label}{n}次，每次扣{fmt(rule.points)}分，共扣{fmt(-points)}分",
        {"refs": events.refs, **({"notes": events.notes} if events.notes else {})},
    )


def _nominal(rule: Rule, value: FactValue | None, weight: Decimal, split: Mapping[str, Decimal]) -> Nominal:
    kind = rule.kind
    if kind == Kind.PER_OCCURRENCE:
        events = _events(value)
        if not events.count:
            return ZERO, "", NO_FACTS  # 没有事件不出台账行（分担比例为 0 的事件仍记一行 0 分，留下依据）
        return score_per_occurrence(rule, events, split)
    if kind == Kind.CONDITION:
        return score_condition(rule, value)
    if kind == Kind.PRESENCE:
        return score_presence(rule, value)
    if kind == Kind.QUANTITY:
        return score_quantity(rule, value)
    if kind == Kind.PER_ITEM:
        return score_per_item(rule, value, weight)
    if kind == Kind.DISCRETIONARY:
        return score_discretionary(rule, value, weight)
    raise ScoringError(f"未知的规则类型：{kind}")


# ---- the unit computation --------------------------------------------------------------------------------


def grade(rs: RuleSet, score: Decimal) -> str:
    """等次：取下限不高于得分的最高等次（优秀≥90 含 90）；细则未设等次为空。

    低于所有下限时：最低一档下限不高于 0（兜底档，如“不合格 0”，倒扣后为负分仍属此档）取最低一档；
    否则（细则只列到“合格 60”）为“不合格”，不把 50 分算作合格。
    """
    bands = rs.plan.bands
    for band in bands:
        if score >= band.min_score:
            return band.name
    if not bands:
        return ""
    return bands[-1].name if bands[-1].min_score <= 0 else FAIL_GRADE


def score_unit(rs: RuleSet, unit: UnitFacts) -> UnitResult:
    """按评分细则计算一个单位一个期间的得分与台账。规则见模块说明。

    顺序：否决 → 各末级指标（不适用的剔除；扣分制先记基础分，再逐条规则计分并截到上限；此项不得分最后归零）
    → 不适用折算 → 加分池（门槛、上限）→ 通报批评倒扣。总分为全部台账分值之和。
    酌情分超出范围时抛出 ScoringError。计分所需的细则结构（末级指标、各指标的规则、上级链）取自 rs.plan。
    """
    plan = rs.plan
    facts = unit.facts
    who, period, label = unit.unit, unit.period, plan.label
    for rule in plan.vetoes:
        if facts.get(rule.fact) is True:
            reason = f"一票否决：{rule.label}，评为不合格，不再计分"
            line = LedgerLine(who, rule.indicator, rule.code, period, ZERO, reason, {"value": True}, label)
            return UnitResult(
                who, period, round_score(ZERO), FAIL_GRADE, True, ZERO, ZERO, ZERO, {}, (line,), ZERO
            )

    not_applicable = {r.indicator for r in plan.not_applicable if facts.get(r.fact) is True}
    lines: list[LedgerLine] = []
    indicator_scores: dict[str, Decimal] = {}
    na_weight = ZERO
    for leaf in plan.leaves:
        ind = leaf.indicator
        if not_applicable and not not_applicable.isdisjoint(leaf.lineage):
            na_weight += ind.weight
            lines.append(LedgerLine(who, ind.code, "", period, ZERO, leaf.na_reason, {}, label))
            continue
        indicator_scores[ind.code] = _score_leaf(plan, leaf, facts, who, period, lines)

    base = sum(indicator_scores.values(), ZERO)
    if na_weight and rs.base_total > na_weight:
        applicable = rs.base_total - na_weight
        rescaled = base * rs.base_total / applicable
        reason = (
            f"剔除不适用指标{fmt(na_weight)}分后，适用指标得分{fmt(round_score(base))}分按"
            f"{fmt(rs.base_total)}÷{fmt(applicable)}折算为{fmt(round_score(rescaled))}分"
        )
        used = {"na_weight": str(na_weight), "applicable_weight": str(applicable)}
        lines.append(LedgerLine(who, "", "", period, rescaled - base, reason, used, label))
        base = rescaled

    # 加分与通报批评在基础分之外，不论挂在哪一级指标下都计（不适用指标下的除外）。
    bonus_lines: list[tuple[Rule, Nominal]] = []
    notice_lines: list[tuple[Rule, Nominal]] = []
    for rule, chain in plan.extras:
        if not_applicable and not not_applicable.isdisjoint(chain):
            continue
        value = facts.get(rule.fact)
        if rule.kind == Kind.BONUS:
            bonus_lines.extend((rule, n) for n in score_bonus(rule, value))
        elif (nominal := score_notice(rule, value))[0]:
            notice_lines.append((rule, nominal))

    bonus = _apply_bonus_pool(rs, unit, base, bonus_lines, lines)
    penalty = ZERO
    for rule, (points, reason, used) in notice_lines:
        penalty += points
        lines.append(LedgerLine(who, rule.indicator, rule.code, period, points, reason, used, label))
    # 总分按台账逐行相加，保证“台账之和 = 总分”逐位成立。
    raw_total = sum([line.points for line in lines], ZERO)
    rounded = round_score(raw_total)
    return UnitResult(
        who,
        period,
        rounded,
        grade(rs, rounded),
        False,
        base,
        bonus,
        penalty,
        indicator_scores,
        tuple(lines),
        raw_total,
    )


def _score_leaf(
    plan: Plan, leaf: LeafPlan, facts: Mapping[str, FactValue], who: str, period: str, lines: list[LedgerLine]
) -> Decimal:
    """一个适用的末级指标：扣分制先记基础分，再按顺序逐条计分（截到上限），“此项不得分”最后归零。
    台账行追加到 lines，返回指标得分。"""
    ind = leaf.indicator
    label = plan.label
    deduct = ind.mode == Mode.DEDUCT
    score = ind.weight if deduct else ZERO
    if deduct and ind.weight:
        lines.append(LedgerLine(who, ind.code, "", period, ind.weight, leaf.base_reason, {}, label))
    for rule in leaf.rules:
        points, reason, used = _nominal(rule, facts.get(rule.fact), ind.weight, plan.split)
        if not reason:
            continue
        points, reason = _apply_caps(rule, ind, score, points, reason)
        score += points
        lines.append(LedgerLine(who, ind.code, rule.code, period, points, reason, used, label))
    for rule in leaf.whole_items:
        # 此项不得分：在其他规则之后把本指标归零（扣分制、得分制相同），只出现一次。
        if facts.get(rule.fact) is True:
            change = "" if score == 0 else (f"，扣{fmt(score)}分" if score > 0 else f"，冲回{fmt(-score)}分")
            reason = f"{rule.label}，此项不得分（计0分{change}）"
            lines.append(
                LedgerLine(who, ind.code, rule.code, period, ZERO - score, reason, {"value": True}, label)
            )
            return ZERO
    return score


def _apply_caps(
    rule: Rule, ind: Indicator, score: Decimal, points: Decimal, reason: str
) -> tuple[Decimal, str]:
    """扣分：单条规则不超过其 cap（缺省为指标权重）；扣分制指标得分不低于 0（扣完为止）。
    得分：指标得分不超过权重。被截去的部分写进原因。"""
    if points < 0:
        cap = rule.cap if rule.cap is not None else ind.weight
        wanted = -points
        if ind.mode == Mode.DEDUCT and max(score, ZERO) <= cap and max(score, ZERO) < wanted:
            allowed = max(score, ZERO)
            reason += f"；本指标仅剩{fmt(allowed)}分，扣完为止，实扣{fmt(allowed)}分"
        elif cap < wanted:
            allowed = cap
            reason += f"；本条扣分上限{fmt(cap)}分，实扣{fmt(allowed)}分"
        else:
            return points, reason
        return ZERO - allowed, reason
    if points > 0 and score + points > ind.weight:
        allowed = max(ind.weight - score, ZERO)
        return allowed, reason + f"；本指标最高{fmt(ind.weight)}分，已得{fmt(score)}分，实得{fmt(allowed)}分"
    return points, reason


def _apply_bonus_pool(
    rs: RuleSet,
    unit: UnitFacts,
    base: Decimal,
    bonus_lines: list[tuple[Rule, Nominal]],
    lines: list[LedgerLine],
) -> Decimal:
    """加分池：只有基础分“超过”门槛才计入（按两位小数显示值比较，与等次一致；恰好等于门槛不加分）；
    合计不超过池上限。每项加分都有一行，未计入的记 0 分并说明原因。"""
    shown_base = round_score(base)
    gate_ok = rs.bonus_gate is None or shown_base > rs.bonus_gate
    total = ZERO
    for rule, (points, reason, used) in bonus_lines:
        if points and not gate_ok:
            reason = f"{reason}；基础分{fmt(shown_base)}分未超过{fmt(rs.bonus_gate or ZERO)}分，不计加分"
            points = ZERO
        elif points and total + points > rs.bonus_cap:
            allowed = max(rs.bonus_cap - total, ZERO)
            reason = (
                f"{reason}；加分合计不超过{fmt(rs.bonus_cap)}分，此前已加{fmt(total)}分，实加{fmt(allowed)}分"
            )
            points = allowed
        total += points
        lines.append(
            LedgerLine(unit.unit, rule.indicator, rule.code, unit.period, points, reason, used, rs.label)
        )
    return total


# ---- periods ---------------------------------------------------------------------------------------------


def roll_up(rs: RuleSet, unit: str, results: Sequence[UnitResult], *, period: str = "年度") -> RolledUp:
    """按期间权重汇总（如四个季度各 25%，或日常 80% + 年终 20%）：总分 = Σ 期间得分 × 权重。

    期间得分取各期四舍五入后的总分；缺少的期间计 0 分并单列一行；任一期间被否决则年度不合格。
    """
    by_period = {r.period: r for r in results}
    lines: list[LedgerLine] = []
    total = ZERO
    vetoed = any(r.vetoed for r in results)
    for name, weight in rs.period_weights.items():
        result = by_period.get(name)
        score = result.total if result else ZERO
        part = score * weight
        total += part
        reason = (
            f"{name}得分{fmt(score)}分 × 权重{fmt(weight * 100)}% = {fmt(part)}分"
            if result
            else f"{name}无得分记录，按0分计（权重{fmt(weight * 100)}%）"
        )
        lines.append(LedgerLine(unit, "", "", period, part, reason, {"period": name}, rs.label))
    if vetoed:
        lines.append(
            LedgerLine(
                unit, "", "", period, ZERO - total, "期间内有一票否决事项，年度评为不合格", {}, rs.label
            )
        )
        return RolledUp(unit, round_score(ZERO), FAIL_GRADE, True, tuple(lines), ZERO)
    rounded = round_score(total)
    return RolledUp(unit, rounded, grade(rs, rounded), False, tuple(lines), total)


def score_all(rs: RuleSet, units: Sequence[UnitFacts]) -> list[UnitResult]:
    return [score_unit(rs, u) for u in units]


def rank(results: Sequence[UnitResult]) -> dict[str, int]:
    """名次：按总分从高到低，同分同名次（1, 2, 2, 4）；被否决的排在最后。"""
    ordered = sorted(results, key=lambda r: (r.vetoed, -r.total))
    ranks: dict[str, int] = {}
    prev: tuple[bool, Decimal] | None = None
    current = 0
    for i, r in enumerate(ordered, start=1):
        key = (r.vetoed, r.total)
        if key != prev:
            current = i
            prev = key
        ranks[r.unit] = current
    return ranks
