"""事实文件（score_preview 用的 JSON）：各单位某期间的考核事实 → engine.UnitFacts。

纯标准库（json + engine），不访问数据库；遇到坏输入从不抛异常，返回带 JSON 路径的中文错误。
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from scoring import engine

ROLES = {"lead": "lead", "responsible": "responsible", "牵头": "lead", "责任": "responsible"}
TOP_KEYS = {"period", "units"}
UNIT_KEYS = {"unit", "period", "facts"}
OCCURRENCE_KEYS = {"ref", "share", "role", "note"}
BONUS_KEYS = {"ref", "reason", "evidence"}
ASSESSMENT_KEYS = {"points", "reason"}

# 各规则类型期望的事实形态（check_facts 用）。
BOOL_KINDS = {
    engine.Kind.CONDITION,
    engine.Kind.WHOLE_ITEM,
    engine.Kind.PRESENCE,
    engine.Kind.VETO,
    engine.Kind.NOT_APPLICABLE,
}
OCCURRENCE_KINDS = {engine.Kind.PER_OCCURRENCE, engine.Kind.PER_ITEM, engine.Kind.NOTICE}
SHAPE_NAMES = {
    "bool": "true/false",
    "occurrences": '事件列表（ref 字符串或 {"ref": …} 对象）',
    "quantity": "数量或分期数量列表",
    "assessment": '酌情分对象 {"points": …, "reason": …}',
    "bonus": '加分事项列表 [{"reason": …, "evidence": …}]',
}


@dataclass(frozen=True)
class FactsFileError:
    """事实文件的一处问题。path 为 JSON 路径（如 units[2].facts.quality.points）；
    warning 为提醒，不影响计分。"""

    path: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        return f"{self.path}：{self.message}" if self.path else self.message


class _BadConstant:
    """JSON 里的 NaN / Infinity：先占位，再按路径报错。"""

    def __init__(self, text: str) -> None:
        self.text = text


def load_facts_text(text: str) -> tuple[list[engine.UnitFacts], list[FactsFileError]]:
    """解析事实文件。格式见 README“事实文件格式（score_preview）”。

    只返回没有任何错误的单位（有错的单位整单位剔除，免得缺一项事实被当成“无”而误扣分）；
    顶层出错时返回空列表。
    """
    errors: list[FactsFileError] = []
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_BadConstant)
    except json.JSONDecodeError as exc:
        return [], [FactsFileError("", f"不是有效的 JSON：第{exc.lineno}行第{exc.colno}列（{exc.msg}）")]
    except (ValueError, RecursionError) as exc:
        return [], [FactsFileError("", f"不是有效的 JSON（{exc}）")]
    if not isinstance(data, dict):
        return [], [FactsFileError("", '顶层须为对象：{"period": …, "units": […]}')]
    for key in sorted(set(data) - TOP_KEYS, key=str):
        errors.append(FactsFileError(key, "未知字段（顶层只允许 period、units）"))
    period = data.get("period")
    if "period" in data and not _nonblank(period):
        errors.append(FactsFileError("period", '期间须为非空字符串，如 "2023Q1"'))
        period = None
    units_data = data.get("units")
    if not isinstance(units_data, list):
        errors.append(FactsFileError("units", "缺少单位列表" if units_data is None else "须为列表"))
        return [], errors

    units: list[engine.UnitFacts] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(units_data):
        path = f"units[{i}]"
        unit_errors: list[FactsFileError] = []
        unit = _load_unit(raw, path, period if isinstance(period, str) else None, unit_errors)
        if unit is not None and unit.unit in seen:
            unit_errors.append(
                FactsFileError(f"{path}.unit", f"单位“{unit.unit}”与 units[{seen[unit.unit]}] 重复")
            )
        if unit is not None:
            seen.setdefault(unit.unit, i)
        errors.extend(unit_errors)
        if unit is not None and not unit_errors:
            units.append(unit)
    return units, errors


def _load_unit(
    raw: Any, path: str, period: str | None, errors: list[FactsFileError]
) -> engine.UnitFacts | None:
    if not isinstance(raw, dict):
        errors.append(FactsFileError(path, '须为对象：{"unit": …, "facts": {…}}'))
        return None
    for key in sorted(set(raw) - UNIT_KEYS, key=str):
        errors.append(FactsFileError(f"{path}.{key}", "未知字段（单位只允许 unit、period、facts）"))
    name = raw.get("unit")
    if not _nonblank(name):
        errors.append(
            FactsFileError(f"{path}.unit", "缺少单位名称" if name is None else "单位名称须为非空字符串")
        )
        return None
    unit_period = raw.get("period", period)
    if "period" in raw and not _nonblank(unit_period):
        errors.append(FactsFileError(f"{path}.period", "期间须为非空字符串"))
        unit_period = None
    if unit_period is None:
        if "period" not in raw:
            errors.append(FactsFileError(f"{path}.period", "缺少期间（在顶层或本单位写 period）"))
        unit_period = ""
    raw_facts = raw.get("facts", {})
    if not isinstance(raw_facts, dict):
        errors.append(FactsFileError(f"{path}.facts", '须为对象：{"事实名": 取值, …}'))
        raw_facts = {}
    facts: dict[str, engine.FactValue] = {}
    for key, value in raw_facts.items():
        if not key.strip():
            errors.append(FactsFileError(f"{path}.facts", "事实名不能为空"))
            continue
        loaded = _load_value(value, f"{path}.facts.{key}", key, errors)
        if loaded is not None:
            facts[key] = loaded
    return engine.UnitFacts(unit=str(name).strip(), period=str(unit_period).strip(), facts=facts)


def _load_value(value: Any, path: str, key: str, errors: list[FactsFileError]) -> engine.FactValue | None:
    """按 JSON 形态转换：true/false → 布尔；数 → Decimal；数的列表 → 分期序列；
    字符串或 {"ref"} 的列表 → 事件；{"reason"} 的列表 → 加分事项；{"points", "reason"} → 酌情分。"""
    if isinstance(value, bool):
        return value
    if value is None:
        errors.append(FactsFileError(path, "取值不能为 null（没有就不写这一项，或写 false / 0 / []）"))
        return None
    if isinstance(value, int | Decimal | _BadConstant):
        return _number(value, path, errors)
    if isinstance(value, str):
        errors.append(
            FactsFileError(path, f"不支持字符串取值“{value}”：布尔写 true/false，数量写数字，事件写列表")
        )
        return None
    if isinstance(value, dict):
        return _assessment(value, path, errors)
    if isinstance(value, list):
        return _list(value, path, key, errors)
    errors.append(FactsFileError(path, "不支持的取值"))
    return None


def _number(value: Any, path: str, errors: list[FactsFileError], *, what: str = "数量") -> Decimal | None:
    """JSON 数（或数字字符串）→ Decimal；拒绝 NaN/Infinity 与负数。"""
    if isinstance(value, bool) or isinstance(value, _BadConstant):
        errors.append(FactsFileError(path, f"{what}须为有限的数"))
        return None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            errors.append(FactsFileError(path, f"{what}“{value}”不是数"))
            return None
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    else:
        errors.append(FactsFileError(path, f"{what}须为数"))
        return None
    if not number.is_finite():
        errors.append(FactsFileError(path, f"{what}须为有限的数"))
        return None
    if number < 0:
        errors.append(FactsFileError(path, f"{what}不能为负数（{value}）"))
        return None
    return number


def _assessment(
    value: Mapping[str, Any], path: str, errors: list[FactsFileError]
) -> engine.Assessment | None:
    count = len(errors)
    for key in sorted(set(value) - ASSESSMENT_KEYS, key=str):
        errors.append(FactsFileError(f"{path}.{key}", "未知字段（酌情分只允许 points、reason）"))
    if "points" not in value:
        errors.append(FactsFileError(f"{path}.points", "缺少酌情分分值"))
        points = None
    else:
        points = _number(value["points"], f"{path}.points", errors, what="酌情分")
    reason = value.get("reason")
    if not _nonblank(reason):
        errors.append(FactsFileError(f"{path}.reason", "酌情分须附理由（非空字符串）"))
    if len(errors) > count or points is None:
        return None
    return engine.Assessment(points=points, reason=str(reason).strip())


def _list(items: list[Any], path: str, key: str, errors: list[FactsFileError]) -> engine.FactValue | None:
    if not items:
        return ()
    if all(isinstance(v, int | Decimal | _BadConstant) and not isinstance(v, bool) for v in items):
        count = len(errors)
        series = [_number(v, f"{path}[{i}]", errors) for i, v in enumerate(items)]
        return None if len(errors) > count else tuple(s for s in series if s is not None)
    if any(isinstance(v, dict) and ("reason" in v or "evidence" in v) for v in items):
        return _bonus_items(items, path, key, errors)
    count = len(errors)
    occurrences = [_occurrence(v, f"{path}[{i}]", errors) for i, v in enumerate(items)]
    if len(errors) > count:
        return None
    return tuple(o for o in occurrences if o is not None)


def _occurrence(value: Any, path: str, errors: list[FactsFileError]) -> engine.Occurrence | None:
    if isinstance(value, str):
        if not value.strip():
            errors.append(FactsFileError(path, "事件编号（ref）不能为空"))
            return None
        return engine.Occurrence(ref=value.strip())
    if not isinstance(value, dict):
        errors.append(
            FactsFileError(path, '事件须为编号字符串或 {"ref": …, "share": …} 对象（不能与数混写）')
        )
        return None
    count = len(errors)
    for k in sorted(set(value) - OCCURRENCE_KEYS, key=str):
        errors.append(FactsFileError(f"{path}.{k}", "未知字段（事件只允许 ref、share、role、note）"))
    ref = value.get("ref")
    if not _nonblank(ref):
        errors.append(FactsFileError(f"{path}.ref", "缺少事件编号（非空字符串）"))
    share = Decimal(1)
    if "share" in value:
        parsed = _number(value["share"], f"{path}.share", errors, what="分担比例")
        if parsed is not None and parsed > 1:
            errors.append(FactsFileError(f"{path}.share", f"分担比例须在0到1之间（{value['share']}）"))
        elif parsed is not None:
            share = parsed
    role = ""
    if "role" in value:
        role = ROLES.get(value["role"], "") if isinstance(value["role"], str) else ""
        if not role:
            errors.append(FactsFileError(f"{path}.role", "角色须为 lead（牵头）或 responsible（责任）"))
    if "share" in value and role:
        errors.append(FactsFileError(path, "share 与 role 只能写一个：写 role 时按细则的牵头/责任分担比例计"))
    note = value.get("note", "")
    if not isinstance(note, str):
        errors.append(FactsFileError(f"{path}.note", "备注须为字符串"))
    if len(errors) > count:
        return None
    return engine.Occurrence(ref=str(ref).strip(), share=share, note=str(note), role=role)


def _bonus_items(
    items: list[Any], path: str, key: str, errors: list[FactsFileError]
) -> tuple[engine.BonusItem, ...] | None:
    count = len(errors)
    out: list[engine.BonusItem] = []
    for i, value in enumerate(items):
        item_path = f"{path}[{i}]"
        if not isinstance(value, dict):
            errors.append(FactsFileError(item_path, '加分事项须为对象：{"reason": …, "evidence": …}'))
            continue
        for k in sorted(set(value) - BONUS_KEYS, key=str):
            errors.append(
                FactsFileError(f"{item_path}.{k}", "未知字段（加分事项只允许 ref、reason、evidence）")
            )
        reason = value.get("reason")
        if not _nonblank(reason):
            errors.append(FactsFileError(f"{item_path}.reason", "加分事项须写明事由（非空字符串）"))
            continue
        ref = value.get("ref", f"{key}[{i}]")
        if not _nonblank(ref):
            errors.append(FactsFileError(f"{item_path}.ref", "编号须为非空字符串"))
            continue
        evidence = value.get("evidence", "")
        if not isinstance(evidence, str):
            errors.append(FactsFileError(f"{item_path}.evidence", "证明材料须为字符串（文号、文件名或链接）"))
            continue
        out.append(
            engine.BonusItem(ref=str(ref).strip(), reason=str(reason).strip(), evidence=evidence.strip())
        )
    return None if len(errors) > count else tuple(out)


def _nonblank(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


# ---- against a rule set -----------------------------------------------------------------------------------


def fact_shape(value: engine.FactValue) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Decimal):
        return "quantity"
    if isinstance(value, engine.Assessment):
        return "assessment"
    if isinstance(value, tuple):
        if not value:
            return "empty"
        first = value[0]
        if isinstance(first, Decimal):
            return "quantity"
        if isinstance(first, engine.BonusItem):
            return "bonus"
        return "occurrences"
    return "unknown"


def expected_shape(kind: engine.Kind) -> str:
    if kind in BOOL_KINDS:
        return "bool"
    if kind in OCCURRENCE_KINDS:
        return "occurrences"
    if kind == engine.Kind.QUANTITY:
        return "quantity"
    if kind == engine.Kind.DISCRETIONARY:
        return "assessment"
    return "bonus"


def check_facts(ruleset: engine.RuleSet, units: list[engine.UnitFacts]) -> list[FactsFileError]:
    """对照评分细则检查事实：形态不符（如“有无”规则读到数量）为错误；细则不读取的事实为提醒（多半是拼写错误）。
    路径按单位名称写作 units[综合股].facts.<事实名>。"""
    readers: dict[str, list[engine.Rule]] = {}
    for rule in ruleset.rules:
        if rule.fact:
            readers.setdefault(rule.fact, []).append(rule)
    problems: list[FactsFileError] = []
    for unit in units:
        for key, value in unit.facts.items():
            path = f"units[{unit.unit}].facts.{key}"
            rules = readers.get(key)
            if not rules:
                problems.append(
                    FactsFileError(path, "评分细则中没有规则读取这项事实（是否拼写有误？）", warning=True)
                )
                continue
            shape = fact_shape(value)
            for rule in rules:
                want = expected_shape(rule.kind)
                if shape == "empty" and want in ("occurrences", "quantity", "bonus"):
                    continue
                if shape != want:
                    problems.append(
                        FactsFileError(
                            path,
                            f"规则 {rule.code}（{rule.label}）需要{SHAPE_NAMES[want]}，"
                            f"这里是{_shape_text(shape)}",
                        )
                    )
    return problems


def _shape_text(shape: str) -> str:
    return {"empty": "空列表", "unknown": "无法识别的取值"}.get(shape, SHAPE_NAMES.get(shape, shape))
