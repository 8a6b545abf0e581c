"""列表筛选（django-filter）。"""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from workplan.models import AssignmentRole, Recurrence, Section, Task, WorkPlan


class TaskFilter(django_filters.FilterSet):
    plan = django_filters.ModelChoiceFilter(label="工作计划", queryset=WorkPlan.objects.all())
    section = django_filters.ModelChoiceFilter(
        label="股室", queryset=Section.objects.filter(is_active=True), method="filter_section"
    )
    role = django_filters.ChoiceFilter(label="角色", choices=AssignmentRole.choices, method="filter_role")
    recurrence = django_filters.ChoiceFilter(label="周期", choices=Recurrence.choices[1:])
    q = django_filters.CharFilter(label="关键词", method="filter_text")

    class Meta:
        model = Task
        fields = ["plan", "section", "role", "recurrence", "q"]

    def filter_section(self, qs: QuerySet[Task], name: str, value: Section) -> QuerySet[Task]:
        role = self.data.get("role")
        cond = Q(assignments__section=value)
        if role in AssignmentRole.values:
            cond &= Q(assignments__role=role)
        return qs.filter(cond).distinct()

    def filter_role(self, qs: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        # Applied together with the section filter above; alone it means "has any such assignment".
        if self.data.get("section"):
            return qs
        return qs.filter(assignments__role=value).distinct()

    def filter_text(self, qs: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        return qs.filter(Q(title__icontains=value) | Q(body__icontains=value))
