"""考核评分的表格（django-tables2）：成绩总览、扣分明细台账、录入事实、计分批次。

跨外键的列都已在视图的查询集中 select_related；render_* 只用 format_html，用户输入的文字一律转义。
导出用 workplan.exporting（数字保持数字、公式字符开头的文字加前缀）。
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from scoring.models import LedgerLine, ManualFact, ScoreRun, UnitScore
from scoring.periods import PERIOD_LABELS
from workplan.table_body import FastBodyTable
from workplan.tables import LocalDateTimeColumn

DASH = "—"


def points_value(value: Decimal) -> Decimal:
    """分值去掉多余的 0 但仍是数字（导出时保持数值）：10.0000 → 10，2.5000 → 2.5。"""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


class ScoreTable(FastBodyTable):
    """成绩总览：股室、总分、等次、名次、基础分、加分、倒扣。"""

    rank = tables.Column(verbose_name="名次")
    section = tables.Column(verbose_name="股室", accessor="section__name", order_by=("section__sort_order",))
    total = tables.Column(verbose_name="总分")
    grade = tables.Column(verbose_name="等次")
    base_score = tables.Column(verbose_name="基础分")
    bonus = tables.Column(verbose_name="加分")
    penalty = tables.Column(verbose_name="倒扣")
    detail = tables.Column(verbose_name="扣分明细", accessor="pk", orderable=False, exclude_from_export=True)

    class Meta:
        model = UnitScore
        fields = ("rank", "section", "total", "grade", "base_score", "bonus", "penalty", "detail")
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "该期间尚未计分"
        orderable = False

    def render_grade(self, record: UnitScore, value: str) -> str:
        return f"{value}（否决）" if record.vetoed else value

    def render_base_score(self, value: Decimal) -> Decimal:
        return points_value(value)

    def render_bonus(self, value: Decimal) -> Decimal:
        return points_value(value)

    def render_penalty(self, value: Decimal) -> Decimal:
        return points_value(value)

    def render_detail(self, value: int) -> str:
        return format_html('<a href="{}">查看</a>', reverse("score_detail", args=[value]))


class LedgerTable(FastBodyTable):
    """扣分明细（台账）：每一行的指标、规则、分值、理由。indicator_names / rule_labels 由视图一次查好传入。"""

    position = tables.Column(verbose_name="序号")
    indicator_code = tables.Column(verbose_name="指标")
    rule_code = tables.Column(verbose_name="规则")
    points = tables.Column(verbose_name="分值")
    reason = tables.Column(verbose_name="理由")
    drill = tables.Column(verbose_name="依据", accessor="pk", orderable=False, exclude_from_export=True)

    class Meta:
        model = LedgerLine
        fields = ("position", "indicator_code", "rule_code", "points", "reason", "drill")
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "没有台账明细"
        orderable = False

    def __init__(
        self,
        data: Any,
        *,
        indicator_names: Mapping[str, str] | None = None,
        rule_labels: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.indicator_names = indicator_names or {}
        self.rule_labels = rule_labels or {}
        super().__init__(data, **kwargs)

    def render_indicator_code(self, value: str) -> str:
        name = self.indicator_names.get(value, "")
        return f"{value} {name}".strip() if value else DASH

    def render_rule_code(self, value: str) -> str:
        label = self.rule_labels.get(value, "")
        return f"{value} {label}".strip() if value else DASH

    def render_points(self, value: Decimal) -> Decimal:
        return points_value(value)

    def render_drill(self, record: LedgerLine, value: int) -> str:
        if not _has_refs(record.facts):
            return DASH
        return format_html('<a href="{}">任务与材料</a>', reverse("ledger_line_detail", args=[value]))


def _has_refs(facts: Any) -> bool:
    return isinstance(facts, dict) and bool(facts.get("refs") or facts.get("ref"))


def value_text(value: Any) -> str:
    """录入事实的取值显示：是/否、数字、列表逐项。"""
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, list):
        return "；".join(str(v.get("reason", v)) if isinstance(v, dict) else str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class ManualFactTable(FastBodyTable):
    section = tables.Column(verbose_name="股室", accessor="section__name")
    year = tables.Column(verbose_name="年度")
    period = tables.Column(verbose_name="期间")
    fact = tables.Column(verbose_name="事实")
    value = tables.Column(verbose_name="取值")
    reason = tables.Column(verbose_name="理由/说明")
    evidence = tables.Column(verbose_name="证明材料", accessor="pk", orderable=False)
    entered_by = tables.Column(verbose_name="录入人")
    entered_at = LocalDateTimeColumn(verbose_name="录入时间")

    class Meta:
        model = ManualFact
        fields = (
            "section",
            "year",
            "period",
            "fact",
            "value",
            "reason",
            "evidence",
            "entered_by",
            "entered_at",
        )
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "暂无录入的考核事实"
        orderable = False

    def render_period(self, value: str) -> str:
        return PERIOD_LABELS.get(value, value)

    def render_value(self, value: Any) -> str:
        return value_text(value)

    def render_evidence(self, record: ManualFact) -> str:
        note = record.evidence_note
        if record.evidence:
            name = (record.evidence.name or "").rsplit("/", 1)[-1]
            link = format_html('<a href="{}">{}</a>', reverse("manual_fact_evidence", args=[record.pk]), name)
            return format_html("{} {}", link, note) if note else link
        return note or DASH

    def value_evidence(self, record: ManualFact) -> str:
        name = (record.evidence.name or "").rsplit("/", 1)[-1] if record.evidence else ""
        return " ".join(p for p in (name, record.evidence_note) if p)


class RunTable(FastBodyTable):
    ruleset = tables.Column(verbose_name="评分细则", accessor="ruleset__name")
    version = tables.Column(verbose_name="版本", accessor="ruleset__version")
    year = tables.Column(verbose_name="年度")
    period = tables.Column(verbose_name="期间")
    is_what_if = tables.Column(verbose_name="类型")
    computed_at = LocalDateTimeColumn(verbose_name="计算时间")
    computed_by = tables.Column(verbose_name="计算人")
    inputs_digest = tables.Column(verbose_name="输入指纹")
    view = tables.Column(verbose_name="查看", accessor="pk", orderable=False, exclude_from_export=True)

    class Meta:
        model = ScoreRun
        fields = (
            "ruleset",
            "version",
            "year",
            "period",
            "is_what_if",
            "computed_at",
            "computed_by",
            "inputs_digest",
            "view",
        )
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "还没有计分记录"
        orderable = False

    def render_period(self, value: str) -> str:
        return PERIOD_LABELS.get(value, value)

    def render_is_what_if(self, value: bool) -> str:
        return "模拟" if value else "正式"

    def render_inputs_digest(self, value: str) -> str:
        return value[:12] if value else DASH

    def render_view(self, record: ScoreRun) -> str:
        if record.is_what_if:
            return format_html('<a href="{}?run={}">对比</a>', reverse("score_whatif"), record.pk)
        return format_html(
            '<a href="{}?ruleset={}&amp;year={}&amp;period={}">成绩</a>',
            reverse("score_overview"),
            record.ruleset_id,
            record.year,
            record.period,
        )
