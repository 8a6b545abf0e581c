"""事实的取值：办公室录入的 JSON 取值按规则类型转换为引擎的事实（manual_value），
以及事实的规范 JSON 与输入指纹（facts_json、facts_digest）。纯函数，不访问数据库。"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from scoring import engine
from scoring.engine import Kind
from scoring.periods import FactError


def manual_evidence_label(evidence_note: str, evidence_path: str | None) -> str:
    """证明材料的文字：证明材料说明，没有说明时为上传文件的文件名。"""
    if evidence_note.strip():
        return evidence_note.strip()
    return (evidence_path or "").rsplit("/", 1)[-1]


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise FactError(f"{what}应为数字")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise FactError(f"{what}“{value}”不是数字") from exc
    if not number.is_finite():
        raise FactError(f"{what}“{value}”不是数字")
    return number


def manual_value(
    rule: engine.Rule, value: Any, *, reason: str = "", evidence: str = "", ref: str = "manual"
) -> engine.FactValue:
    """把录入事实的 JSON 取值按读取它的规则类型转换为引擎的事实。取值的写法：

    - 条件、此项不得分、有无、一票否决、不适用：true / false；
    - 数量目标：一个数，或分期数量列表（如每月条数 [40, 38, …]）；
    - 酌情评分：分值（数字或 {"points": 数字}），理由取录入的“理由/说明”；
    - 加分：事项列表，每项为理由文字或 {"reason": …, "evidence": …}；也可写事项数 N（理由取“理由/说明”）。
      事项没写证明材料时，取录入的证明材料（说明或文件名）；
    - 按次扣分、按项得分、通报批评：次数 N，或事件列表（每项为编号文字，如 "task:12"、文号）。
    取值不符时抛出 FactError。
    """
    kind = rule.kind
    if kind in (Kind.CONDITION, Kind.WHOLE_ITEM, Kind.PRESENCE, Kind.VETO, Kind.NOT_APPLICABLE):
        if not isinstance(value, bool):
            raise FactError("应为“是/否”（true/false）")
        return value
    if kind == Kind.QUANTITY:
        if isinstance(value, list):
            return tuple(_decimal(v, "分期数量") for v in value)
        return _decimal(value, "数量")
    if kind == Kind.DISCRETIONARY:
        raw = value.get("points") if isinstance(value, dict) else value
        return engine.Assessment(points=_decimal(raw, "酌情分"), reason=reason.strip())
    if kind == Kind.BONUS:
        items: list[engine.BonusItem] = []
        if isinstance(value, list):
            for i, item in enumerate(value, 1):
                if isinstance(item, str) and item.strip():
                    items.append(engine.BonusItem(f"{ref}:{i}", item.strip(), evidence))
                elif isinstance(item, dict) and str(item.get("reason", "")).strip():
                    own = str(item.get("evidence") or "").strip()
                    items.append(engine.BonusItem(f"{ref}:{i}", str(item["reason"]).strip(), own or evidence))
                else:
                    raise FactError(f"第{i}项加分事项缺少理由")
            return tuple(items)
        count = _count(value, "加分事项数")
        label = reason.strip() or rule.label
        return tuple(engine.BonusItem(f"{ref}:{i}", label, evidence) for i in range(1, count + 1))
    if kind in (Kind.PER_OCCURRENCE, Kind.PER_ITEM, Kind.NOTICE):
        note = reason.strip()
        if isinstance(value, list):
            refs = [str(v).strip() for v in value]
            if not all(refs):
                raise FactError("事件列表中有空项")
            return engine.Events.of(engine.Occurrence(ref=r, note=note) for r in refs)
        count = _count(value, "次数")
        return engine.Events.of(engine.Occurrence(ref=f"{ref}:{i}", note=note) for i in range(1, count + 1))
    raise FactError(f"规则类型“{kind}”不读取录入事实")


def _count(value: Any, what: str) -> int:
    number = _decimal(value, what)
    if number < 0 or number != number.to_integral_value():
        raise FactError(f"{what}应为不小于 0 的整数")
    return int(number)


# ---- canonical form ------------------------------------------------------------------------------------


def _canonical_value(value: engine.FactValue) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return {"n": str(value.normalize()) if value else "0"}
    if isinstance(value, engine.Assessment):
        return {"points": str(value.points.normalize()) if value.points else "0", "reason": value.reason}
    if isinstance(value, tuple) and value and isinstance(value[0], engine.Occurrence):
        value = engine.Events.of(v for v in value if isinstance(v, engine.Occurrence))
    if isinstance(value, engine.Events):
        return {
            "events": [
                {
                    "refs": g.refs,
                    "share": str(g.share.normalize()) if g.share else "0",
                    "role": g.role,
                    "notes": g.notes,
                }
                for g in value.groups
            ]
        }
    if isinstance(value, tuple):
        out: list[Any] = []
        for v in value:
            if isinstance(v, engine.BonusItem):
                out.append({"ref": v.ref, "reason": v.reason, "evidence": v.evidence})
            elif isinstance(v, Decimal):
                out.append(str(v.normalize()) if v else "0")
        return out
    return repr(value)


def facts_json(units: Sequence[engine.UnitFacts]) -> str:
    """事实的规范 JSON（单位、事实名排序，数值写成规范化的字符串），用于输入指纹。"""
    doc = [
        {
            "unit": u.unit,
            "period": u.period,
            "facts": {k: _canonical_value(v) for k, v in sorted(u.facts.items())},
        }
        for u in sorted(units, key=lambda u: (u.unit, u.period))
    ]
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def facts_digest(units: Sequence[engine.UnitFacts]) -> str:
    """输入指纹：规范 JSON 的 sha256。事实相同则指纹相同。"""
    return hashlib.sha256(facts_json(units).encode("utf-8")).hexdigest()
