"""考核期间：Q1–Q4、年终、年度，及其对应的时间窗口。"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from workplan.periods import quarter_end, quarter_start

QUARTER_PERIODS = {"Q1": 1, "Q2": 2, "Q3": 3, "Q4": 4}
YEAR_PERIODS = ("年终", "年度")
PERIOD_CHOICES: list[tuple[str, str]] = [
    ("Q1", "第一季度"),
    ("Q2", "第二季度"),
    ("Q3", "第三季度"),
    ("Q4", "第四季度"),
    ("年终", "年终考核"),
    ("年度", "年度"),
]
PERIOD_LABELS = dict(PERIOD_CHOICES)


class FactError(ValueError):
    """事实无法按评分细则转换（如录入的取值与规则类型不符）。"""


@dataclass(frozen=True)
class PeriodWindow:
    """考核期间对应的时间窗口。

    - "Q1".."Q4"：year 年的该季度（季度首日至末日），只看该季度的报送；
    - "年终"、"年度"：year 年全年（1月1日至12月31日），四个季度的报送都算。
    """

    year: int
    period: str
    quarters: tuple[int, ...]
    start: datetime.date
    end: datetime.date

    @property
    def is_year(self) -> bool:
        return len(self.quarters) == 4

    @property
    def label(self) -> str:
        return f"{self.year}年{PERIOD_LABELS.get(self.period, self.period)}"


def period_window(year: int, period: str) -> PeriodWindow:
    """把考核期间名称映射到时间窗口；未知的期间抛出 FactError。"""
    if period in QUARTER_PERIODS:
        q = QUARTER_PERIODS[period]
        return PeriodWindow(year, period, (q,), quarter_start(year, q), quarter_end(year, q))
    if period in YEAR_PERIODS:
        return PeriodWindow(
            year, period, (1, 2, 3, 4), datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        )
    raise FactError(f"未知的考核期间“{period}”，应为 Q1–Q4、年终或年度")


def period_started(year: int, period: str, *, today: datetime.date) -> bool:
    return period_window(year, period).start <= today
