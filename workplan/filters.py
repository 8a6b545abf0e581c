"""列表筛选（django-filter）：任务清单、进展报送、佐证材料、审计日志。"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.apps import apps
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from workplan.models import (
    AssignmentRole,
    AuditEntry,
    Evidence,
    ProgressReport,
    Recurrence,
    ReportStatus,
    ReviewState,
    Section,
    Task,
    WorkPlan,
)
from workplan.periods import quarter_of

YES_NO = (("yes", "是"), ("no", "否"))
QUARTERS = tuple((q, f"第{q}季度") for q in range(1, 5))


def _noop(qs: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
    """年度、季度字段本身不筛选，只作为“是否已报送”的参数。"""
    return qs


def _active_sections(request: HttpRequest | None) -> QuerySet[Section]:
    return Section.objects.filter(is_active=True)


class TaskFilter(django_filters.FilterSet):
    """任务清单的筛选。fixed_section（“我的任务”）时不显示股室下拉，角色、是否已报送都按该股室计算。"""

    plan = django_filters.ModelChoiceFilter(label="工作计划", queryset=WorkPlan.objects.all())
    section = django_filters.ModelChoiceFilter(label="股室", queryset=_active_sections, method="filter_section")
    role = django_filters.ChoiceFilter(label="角色", choices=AssignmentRole.choices, method="filter_role")
    status = django_filters.ChoiceFilter(label="状态", choices=ReportStatus.choices)
    overdue = django_filters.ChoiceFilter(label="已逾期", choices=YES_NO, method="filter_overdue")
    reported = django_filters.ChoiceFilter(label="已报送", choices=YES_NO, method="filter_reported")
    year = django_filters.NumberFilter(label="报送年度", method=_noop, min_value=2000, max_value=2100)
    quarter = django_filters.TypedChoiceFilter(label="报送季度", choices=QUARTERS, coerce=int, method=_noop)
    recurrence = django_filters.ChoiceFilter(label="周期", choices=Recurrence.choices[1:])
    q = django_filters.CharFilter(label="关键词", method="filter_text")
    chapter = django_filters.NumberFilter(label="章节", method="filter_chapter", widget=forms.HiddenInput)

    class Meta:
        model = Task
        fields = [
            "plan", "section", "role", "status", "overdue", "reported", "year", "quarter", "recurrence", "q",
            "chapter",
        ]

    def __init__(
        self,
        data: Any = None,
        queryset: QuerySet[Task] | None = None,
        *,
        plans: QuerySet[WorkPlan] | None = None,
        fixed_section: Section | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, queryset, **kwargs)
        self.fixed_section = fixed_section
        if fixed_section is not None:
            del self.filters["section"]
        if plans is not None:
            self.filters["plan"].queryset = plans

    def _section(self) -> Section | None:
        if self.fixed_section is not None:
            return self.fixed_section
        return self.form.cleaned_data.get("section")

    def filter_section(self, qs: QuerySet[Task], name: str, value: Section) -> QuerySet[Task]:
        role = self.form.cleaned_data.get("role")
        cond = Q(assignments__section=value)
        if role:
            cond &= Q(assignments__role=role)
        return qs.filter(cond).distinct()

    def filter_role(self, qs: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        # With a section the role is applied in filter_section; alone it means "has any such assignment".
        if self.form.cleaned_data.get("section"):
            return qs
        cond = Q(assignments__role=value)
        if self.fixed_section is not None:
            cond &= Q(assignments__section=self.fixed_section)
        return qs.filter(cond).distinct()

    def filter_overdue(self, qs: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        overdue = Task.objects.overdue(on=timezone.localdate()).values("pk")
        return qs.filter(pk__in=overdue) if value == "yes" else qs.exclude(pk__in=overdue)

    def filter_reported(self, qs: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        """某季度（未选时为本季度）是否有报送；选了股室时只看该股室的报送。"""
        cur_year, cur_quarter = quarter_of(timezone.localdate())
        year = self.form.cleaned_data.get("year") or cur_year
        quarter = self.form.cleaned_data.get("quarter") or cur_quarter
        reports = ProgressReport.objects.filter(task=OuterRef("pk"), year=year, quarter=quarter)
        section = self._section()
        if section is not None:
            reports = reports.filter(section=section)
        return qs.filter(Exists(reports)) if value == "yes" else qs.filter(~Exists(reports))

    def filter_chapter(self, qs: QuerySet[Task], name: str, value: int) -> QuerySet[Task]:
        """章节（文件中的标题行，如“一、…”）之下的任务：标题行以下三层以内。"""
        return qs.filter(
            Q(parent_id=value) | Q(parent__parent_id=value) | Q(parent__parent__parent_id=value)
        )

    def filter_text(self, qs: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        return qs.filter(Q(title__icontains=value) | Q(body__icontains=value) | Q(code__iexact=value))


class ReportFilter(django_filters.FilterSet):
    """进展报送列表的筛选。"""

    section = django_filters.ModelChoiceFilter(label="股室", queryset=_active_sections)
    year = django_filters.NumberFilter(label="年度", min_value=2000, max_value=2100)
    quarter = django_filters.TypedChoiceFilter(label="季度", choices=QUARTERS, coerce=int)
    status = django_filters.ChoiceFilter(label="进展状态", choices=ReportStatus.choices)
    review_state = django_filters.ChoiceFilter(label="审核状态", choices=ReviewState.choices)
    q = django_filters.CharFilter(label="任务关键词", method="filter_text")

    class Meta:
        model = ProgressReport
        fields = ["section", "year", "quarter", "status", "review_state", "q"]

    def filter_text(self, qs: QuerySet[ProgressReport], name: str, value: str) -> QuerySet[ProgressReport]:
        return qs.filter(Q(task__title__icontains=value) | Q(narrative__icontains=value))


class EvidenceFilter(django_filters.FilterSet):
    """佐证材料列表的筛选。已撤回的材料默认不显示，removed=1 时一并显示。"""

    section = django_filters.ModelChoiceFilter(
        label="股室", queryset=_active_sections, field_name="report__section"
    )
    kind = django_filters.ChoiceFilter(label="类型", choices=Evidence.Kind.choices)
    year = django_filters.NumberFilter(label="年度", field_name="report__year", min_value=2000, max_value=2100)
    quarter = django_filters.TypedChoiceFilter(
        label="季度", choices=QUARTERS, coerce=int, field_name="report__quarter"
    )
    q = django_filters.CharFilter(label="关键词", method="filter_text")
    removed = django_filters.BooleanFilter(
        label="含已撤回", method=_noop, widget=forms.CheckboxInput(attrs={"value": "1"})
    )

    class Meta:
        model = Evidence
        fields = ["section", "kind", "year", "quarter", "q", "removed"]

    def filter_text(self, qs: QuerySet[Evidence], name: str, value: str) -> QuerySet[Evidence]:
        return qs.filter(
            Q(original_name__icontains=value)
            | Q(url__icontains=value)
            | Q(note__icontains=value)
            | Q(report__task__title__icontains=value)
        )

    def filter_queryset(self, queryset: QuerySet[Evidence]) -> QuerySet[Evidence]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("removed"):
            queryset = queryset.filter(removed_at__isnull=True)
        return queryset


def _object_type_choices() -> list[tuple[str, str]]:
    # Audit rows store the model label ("workplan.Task"); offer our apps' models without a query.
    return [
        (model._meta.label, str(model._meta.verbose_name))
        for label in ("workplan", "scoring")
        for model in apps.get_app_config(label).get_models()
    ]


class AuditFilter(django_filters.FilterSet):
    """审计日志的筛选：用户名、操作（前缀匹配，如 auth. 即全部登录类操作）、结果、对象类型、日期范围。"""

    username = django_filters.CharFilter(label="用户名", lookup_expr="icontains")
    action = django_filters.CharFilter(label="操作", lookup_expr="startswith")
    outcome = django_filters.ChoiceFilter(label="结果", choices=AuditEntry.Outcome.choices)
    object_type = django_filters.ChoiceFilter(label="对象类型", choices=_object_type_choices)
    object_id = django_filters.CharFilter(label="对象编号")
    date_from = django_filters.DateFilter(
        label="起始日期", field_name="at", lookup_expr="date__gte", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        label="截止日期", field_name="at", lookup_expr="date__lte", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )

    class Meta:
        model = AuditEntry
        fields = ["username", "action", "outcome", "object_type", "object_id", "date_from", "date_to"]
