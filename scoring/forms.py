"""考核评分的表单：成绩筛选、计分、模拟计分、录入考核事实。

规则在 scoring.services 中检查，表单只做类型转换。
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from scoring.models import RuleSet, RuleSetStatus
from scoring.periods import PERIOD_CHOICES, period_started
from workplan.models import Section

YEAR_FIELD = {"label": "年度", "min_value": 2000, "max_value": 2100}


def _ruleset_label(r: RuleSet) -> str:
    return f"{r.name}（{r.code} v{r.version}，{r.get_status_display()}）"


class RuleSetChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _ruleset_label(obj)


class ScoreFilterForm(forms.Form):
    """成绩总览的筛选：细则（可不选，取该期间最近的正式计分）、年度、期间。"""

    ruleset = RuleSetChoiceField(
        label="评分细则", queryset=RuleSet.objects.none(), required=False, empty_label="（最近计分的）"
    )
    year = forms.IntegerField(**YEAR_FIELD)
    period = forms.ChoiceField(label="期间", choices=PERIOD_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ruleset"].queryset = RuleSet.objects.filter(runs__is_what_if=False).distinct()  # type: ignore[attr-defined]


class ComputeForm(forms.Form):
    """正式计分：只能选已发布的细则。"""

    ruleset = RuleSetChoiceField(label="评分细则（已发布）", queryset=RuleSet.objects.none())
    year = forms.IntegerField(**YEAR_FIELD)
    period = forms.ChoiceField(label="期间", choices=PERIOD_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ruleset"].queryset = RuleSet.objects.filter(status=RuleSetStatus.PUBLISHED)  # type: ignore[attr-defined]


class WhatIfForm(forms.Form):
    """模拟计分：任一细则（多为草稿或新版本）套用到已经开始的期间，与该期间的正式成绩对比。"""

    ruleset = RuleSetChoiceField(label="评分细则（任意版本）", queryset=RuleSet.objects.all())
    year = forms.IntegerField(**YEAR_FIELD)
    period = forms.ChoiceField(label="期间", choices=PERIOD_CHOICES)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        year, period = data.get("year"), data.get("period")
        if year and period and not period_started(year, period, today=timezone.localdate()):
            self.add_error("period", "模拟计分只能针对已经开始的期间")
        return data


class ManualFactForm(forms.Form):
    """录入一项考核事实。取值按读取它的规则类型填写（是/否、数字、各期数量、每行一项）。"""

    section = forms.ModelChoiceField(label="股室", queryset=Section.objects.filter(is_active=True))
    year = forms.IntegerField(**YEAR_FIELD)
    period = forms.ChoiceField(label="期间", choices=PERIOD_CHOICES)
    fact = forms.CharField(
        label="事实", max_length=64, widget=forms.TextInput(attrs={"list": "fact-choices"})
    )
    value = forms.CharField(
        label="取值",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text="是/否；数字；逗号分隔的各期数量；或每行一项（加分事项、通报文号）。",
    )
    reason = forms.CharField(
        label="理由/说明",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 40}),
        help_text="酌情评分必须写明理由。",
    )
    evidence = forms.FileField(label="证明材料", required=False, help_text="pdf、docx、xlsx、jpg、png")
    evidence_note = forms.CharField(
        label="证明材料说明",
        required=False,
        max_length=255,
        help_text="如表彰文件的文号；不上传文件时可只填说明。",
    )


class ManualFactFilterForm(forms.Form):
    year = forms.IntegerField(**YEAR_FIELD)
    period = forms.ChoiceField(label="期间", choices=[("", "全部"), *PERIOD_CHOICES], required=False)
    section = forms.ModelChoiceField(
        label="股室", queryset=Section.objects.all(), required=False, empty_label="全部"
    )
