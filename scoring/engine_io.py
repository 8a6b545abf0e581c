"""引擎的输入与输出（纯标准库）：事实（事件、酌情分、加分事项、单位事实）与结果（台账行、单位得分、期间汇总）。

均不可变；台账行是命名元组（每期每单位几十行，是计分时建得最多的对象）。
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from itertools import chain
from typing import NamedTuple

from scoring.scheme import ONE, ZERO

# ---- facts -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """一次计数事件（如一项逾期任务）。share 为本单位分担比例，缺省 1；
    role 为 lead/responsible 时改按细则的牵头/责任分担比例计（share 不再起作用）。"""

    ref: str
    share: Decimal = ONE
    note: str = ""
    role: str = ""


@dataclass(frozen=True)
class EventGroup:
    """同一角色、同一自带分担比例的一组事件（编号保持原来的先后）；notes 为各事件的说明，与 refs 一一对应
    （都没有说明时为空）。"""

    refs: tuple[str, ...]
    share: Decimal = ONE
    role: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Events:
    """一项计数事实的全部事件，按（角色，自带分担比例）分组：引擎按组计数，与事件多少无关。

    事实收集（scoring.facts）直接给出分组；逐个写出的事件（tuple[Occurrence, ...]，如事实文件、录入事实）
    由 Events.of 分组。各组按首次出现的先后排列，refs 为各组编号依次相连。
    """

    groups: tuple[EventGroup, ...] = ()

    @classmethod
    def of(cls, occurrences: Iterable[Occurrence]) -> Events:
        grouped: dict[tuple[str, Decimal], list[Occurrence]] = {}
        for o in occurrences:
            grouped.setdefault((o.role, o.share), []).append(o)
        return cls(
            tuple(
                EventGroup(
                    tuple(o.ref for o in occ),
                    share,
                    role,
                    tuple(o.note for o in occ) if any(o.note for o in occ) else (),
                )
                for (role, share), occ in grouped.items()
            )
        )

    @cached_property
    def count(self) -> int:
        return sum(len(g.refs) for g in self.groups)

    @cached_property
    def refs(self) -> tuple[str, ...]:
        if len(self.groups) == 1:
            return self.groups[0].refs
        return tuple(chain.from_iterable(g.refs for g in self.groups))

    @cached_property
    def notes(self) -> tuple[str, ...]:
        """与 refs 一一对应的说明；没有任何说明时为空。"""
        if not any(g.notes for g in self.groups):
            return ()
        if len(self.groups) == 1:
            return self.groups[0].notes
        return tuple(chain.from_iterable(g.notes or ("",) * len(g.refs) for g in self.groups))

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Occurrence]:
        """逐个事件（带分组的角色、比例与说明），供页面与测试查看；计分不逐个展开。"""
        for g in self.groups:
            notes = g.notes or ("",) * len(g.refs)
            for ref, note in zip(g.refs, notes, strict=True):
                yield Occurrence(ref=ref, share=g.share, note=note, role=g.role)


NO_EVENTS = Events()


@dataclass(frozen=True)
class Assessment:
    """评分人录入的酌情分（0..权重）及理由。"""

    points: Decimal
    reason: str


@dataclass(frozen=True)
class BonusItem:
    ref: str
    reason: str
    evidence: str = ""  # 证明材料（文件名、文号或链接）；缺少且规则要求时不予加分


FactValue = (
    bool
    | Decimal
    | Events
    | tuple[Occurrence, ...]
    | tuple[Decimal, ...]
    | Assessment
    | tuple[BonusItem, ...]
)


@dataclass(frozen=True)
class UnitFacts:
    unit: str
    period: str
    facts: Mapping[str, FactValue] = field(default_factory=dict)


# ---- results ---------------------------------------------------------------------------------------------


class LedgerLine(NamedTuple):
    """一条台账：分值（+/−）、带算式的中文原因、所用事实（事件编号、个数）与细则版本。

    每个单位每期几十行，计分最常建的对象：用不可变的命名元组（比冻结 dataclass 快数倍）。"""

    unit: str
    indicator: str
    rule: str
    period: str
    points: Decimal
    reason: str
    facts: Mapping[str, object]
    ruleset: str


@dataclass(frozen=True)
class UnitResult:
    unit: str
    period: str
    total: Decimal  # 已四舍五入（两位）
    grade: str
    vetoed: bool
    base_score: Decimal
    bonus: Decimal
    penalty: Decimal
    indicator_scores: Mapping[str, Decimal]
    lines: tuple[LedgerLine, ...]
    raw_total: Decimal = ZERO  # 未取整的总分 = 各条台账分值之和


@dataclass(frozen=True)
class RolledUp:
    unit: str
    total: Decimal
    grade: str
    vetoed: bool
    lines: tuple[LedgerLine, ...]
    raw_total: Decimal = ZERO  # 未取整 = 各行之和
