"""表单：发布信息的拟稿/修改、三审意见（含终审保密审查）、发布登记、月度移交清单的月份，以及台账的筛选。

规则由 workplan/publication.py 的服务判断；表单只做类型转换和必填项。
"""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from workplan.models import (
    CONFIDENTIALITY_ITEMS,
    PublicationColumn,
    PublicationDecision,
    PublicationItem,
    PublicationLevel,
    PublicationState,
    Section,
    Task,
)
from workplan.models.publication import REVIEW_LEVELS
from workplan.periods import quarter_end, quarter_start
from workplan.publication import REVIEW_DECISIONS

QUARTERS = tuple((q, f"第{q}季度") for q in range(1, 5))
YES_NO = (("yes", "是"), ("no", "否"))


class TaskChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.plan.year}年 {obj.number_path} {obj.title}".strip()


def tasks_for(section: Section | None) -> QuerySet[Task]:
    """可选的对应任务：某股室承担（牵头或责任）的任务；未指定股室（办公室拟稿）时为全部任务。"""
    tasks = Task.objects.actionable().select_related("plan").order_by("-plan__year", "plan_id", "position")
    if section is not None:
        tasks = tasks.filter(assignments__section=section).distinct()
    return tasks


class PublicationForm(forms.Form):
    """拟稿或修改。股室人员的承办股室固定为本股室（fixed_section），办公室可选择。version 用于乐观锁。"""

    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    section = forms.ModelChoiceField(
        label="承办股室", queryset=Section.objects.filter(is_active=True), empty_label="请选择"
    )
    title = forms.CharField(label="标题", max_length=255, widget=forms.TextInput(attrs={"size": 80}))
    column = forms.ChoiceField(label="栏目", choices=[("", "请选择"), *PublicationColumn.choices])
    formed_on = forms.DateField(
        label="信息形成日期",
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text="信息形成或变更之日；应在此后20个工作日内公开（条例第二十六条）。",
    )
    body = forms.CharField(
        label="正文", required=False, widget=forms.Textarea(attrs={"rows": 12, "cols": 80})
    )
    attachment = forms.FileField(label="附件", required=False, help_text="pdf、docx、xlsx、jpg、png")
    remove_attachment = forms.BooleanField(label="删除现有附件", required=False)
    task = TaskChoiceField(
        label="对应任务", queryset=Task.objects.none(), required=False, empty_label="（无）"
    )

    def __init__(
        self,
        *args: Any,
        fixed_section: Section | None = None,
        has_attachment: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_section = fixed_section
        if fixed_section is not None:
            del self.fields["section"]
        if not has_attachment:
            del self.fields["remove_attachment"]
        self.fields["task"].queryset = tasks_for(fixed_section)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.fixed_section is not None:
            data["section"] = self.fixed_section
        return data


class VersionForm(forms.Form):
    """只带版本号的操作（提交送审、删除拟稿）。"""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class PublicationReviewForm(forms.Form):
    """某一级审核：通过或退回（退回必须写意见）；终审通过须逐项勾选保密审查。"""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    level = forms.ChoiceField(
        choices=[(level, PublicationLevel(level).label) for level in REVIEW_LEVELS],
        widget=forms.HiddenInput,
    )
    decision = forms.ChoiceField(
        label="审核结果",
        choices=list(REVIEW_DECISIONS.items()),
        initial=PublicationDecision.PASS,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label="审核意见",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="退回修改时必填。",
    )
    checklist = forms.MultipleChoiceField(
        label="保密审查（终审）",
        choices=CONFIDENTIALITY_ITEMS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, level: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if level is not None and level != PublicationLevel.FINAL:
            del self.fields["checklist"]


class PublishForm(forms.Form):
    """办公室登记发布：网址与发布日期。"""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    # A CharField, not URLField: the scheme rule (http/https only) lives in uploads.check_link.
    publish_url = forms.CharField(
        label="发布网址", max_length=1000, widget=forms.TextInput(attrs={"size": 80})
    )
    published_on = forms.DateField(label="发布日期", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))


class ArchiveMonthForm(forms.Form):
    """月度移交清单的月份（YYYY-MM）。"""

    month = forms.CharField(label="月份", widget=forms.DateInput(attrs={"type": "month"}))

    def clean_month(self) -> tuple[int, int]:
        raw = self.cleaned_data["month"].strip()
        try:
            day = datetime.datetime.strptime(raw + "-01", "%Y-%m-%d").date()  # noqa: DTZ007 (a date only)
        except ValueError as exc:
            raise forms.ValidationError("月份格式应为 2023-10") from exc
        if not 2000 <= day.year <= 2100:
            raise forms.ValidationError("年份应在 2000–2100 之间")
        return day.year, day.month


class PublicationFilter(django_filters.FilterSet):
    """台账的筛选：股室、栏目、状态、发布季度（按发布日期；未选年度时为今年）、是否逾期（超过公开时限）。"""

    section = django_filters.ModelChoiceFilter(label="股室", queryset=Section.objects.filter(is_active=True))
    column = django_filters.ChoiceFilter(label="栏目", choices=PublicationColumn.choices)
    state = django_filters.ChoiceFilter(label="状态", choices=PublicationState.choices)
    year = django_filters.NumberFilter(label="发布年度", method="filter_year", min_value=2000, max_value=2100)
    quarter = django_filters.TypedChoiceFilter(
        label="发布季度", choices=QUARTERS, coerce=int, method="filter_quarter"
    )
    late = django_filters.ChoiceFilter(label="超过公开时限", choices=YES_NO, method="filter_late")
    q = django_filters.CharFilter(label="关键词", method="filter_text")

    class Meta:
        model = PublicationItem
        fields = ["section", "column", "state", "year", "quarter", "late", "q"]

    def __init__(self, *args: Any, today: datetime.date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def filter_year(self, qs: QuerySet[PublicationItem], name: str, value: int) -> QuerySet[PublicationItem]:
        if self.form.cleaned_data.get("quarter"):
            return qs  # applied together with the quarter
        return qs.filter(published_on__year=value)

    def filter_quarter(
        self, qs: QuerySet[PublicationItem], name: str, value: int
    ) -> QuerySet[PublicationItem]:
        year = int(self.form.cleaned_data.get("year") or self.today.year)
        return qs.filter(published_on__range=(quarter_start(year, value), quarter_end(year, value)))

    def filter_late(self, qs: QuerySet[PublicationItem], name: str, value: str) -> QuerySet[PublicationItem]:
        late = PublicationItem.objects.late(on=self.today).values("pk")
        return qs.filter(pk__in=late) if value == "yes" else qs.exclude(pk__in=late)

    def filter_text(self, qs: QuerySet[PublicationItem], name: str, value: str) -> QuerySet[PublicationItem]:
        return qs.filter(
            Q(title__icontains=value) | Q(body__icontains=value) | Q(publish_url__icontains=value)
        )
