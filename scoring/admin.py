"""考核评分的管理后台：细则（已发布的只读）、录入事实、计分结果与台账（只读）。"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from scoring.models import (
    AnnualReport,
    Appeal,
    Indicator,
    LedgerLine,
    ManualFact,
    QuarterClose,
    Rule,
    RuleSet,
    RuleSetStatus,
    ScoreRun,
    SnapshotLedgerLine,
    SnapshotReport,
    SnapshotScore,
    SnapshotTask,
    UnitScore,
)
from scoring.rulesets import RuleSetRefused, ruleset_new_version, ruleset_publish
from workplan.admin import ReadOnlyAdmin
from workplan.models import User


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


class _PublishedReadOnlyInline(admin.TabularInline):
    """已发布细则的指标与规则只能查看：不能增、改、删。"""

    extra = 0

    def _editable(self, obj: RuleSet | None) -> bool:
        return obj is None or not obj.is_published

    def has_add_permission(self, request: HttpRequest, obj: RuleSet | None = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: RuleSet | None = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: RuleSet | None = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


class IndicatorInline(_PublishedReadOnlyInline):
    model = Indicator
    fields = ("position", "code", "name", "parent_code", "level", "weight", "mode")


class RuleInline(_PublishedReadOnlyInline):
    model = Rule
    fields = (
        "position", "code", "indicator", "kind", "label", "fact", "points", "cap", "absent_points", "target",
        "blank_points", "evidence_required", "measure",
    )

    def get_formset(self, request: HttpRequest, obj: RuleSet | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("indicator")
        if field is not None:
            # 只能选本细则的指标。
            field.queryset = Indicator.objects.filter(ruleset=obj) if obj else Indicator.objects.none()
        return formset


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    """细则：草稿可改，已发布的只读（含指标、规则）；发布与复制为新版本走服务函数。"""

    list_display = ("name", "code", "version", "year", "unit_type", "status", "published_at")
    list_filter = ("year", "status", "unit_type")
    search_fields = ("code", "name")
    readonly_fields = ("status", "published_at", "created_by", "created_at", "source_text")
    inlines = [IndicatorInline, RuleInline]
    actions = ["publish_selected", "copy_as_new_version"]

    def has_change_permission(self, request: HttpRequest, obj: RuleSet | None = None) -> bool:
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: RuleSet | None = None) -> bool:
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RuleSet]) -> None:
        # 批量删除也不能删掉已发布的细则。
        super().delete_queryset(request, queryset.exclude(status=RuleSetStatus.PUBLISHED))

    def save_model(self, request: HttpRequest, obj: RuleSet, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = _user(request)
        super().save_model(request, obj, form, change)

    @admin.action(description="发布", permissions=["change"])
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[RuleSet]) -> None:
        for ruleset in queryset:
            try:
                ruleset = ruleset_publish(ruleset=ruleset, user=_user(request), request=request)
            except RuleSetRefused as exc:
                self.message_user(request, f"{ruleset.code} v{ruleset.version}：{exc}", level=messages.ERROR)
                continue
            self.message_user(request, f"已发布 {ruleset.code} v{ruleset.version}", level=messages.SUCCESS)

    @admin.action(description="复制为新版本", permissions=["add"])
    def copy_as_new_version(self, request: HttpRequest, queryset: QuerySet[RuleSet]) -> None:
        for ruleset in queryset:
            try:
                copy = ruleset_new_version(ruleset=ruleset, user=_user(request), request=request)
            except RuleSetRefused as exc:
                self.message_user(request, f"{ruleset.code} v{ruleset.version}：{exc}", level=messages.ERROR)
                continue
            self.message_user(
                request,
                f"已把 {ruleset.code} v{ruleset.version} 复制为 v{copy.version}（草稿）",
                level=messages.SUCCESS,
            )


class _RuleSetPartAdmin(admin.ModelAdmin):
    """指标、规则单独的后台页面：所属细则已发布的只读；新增时只能选草稿细则。"""

    def has_change_permission(self, request: HttpRequest, obj: Indicator | Rule | None = None) -> bool:
        if obj is not None and obj.ruleset.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Indicator | Rule | None = None) -> bool:
        if obj is not None and obj.ruleset.is_published:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().delete_queryset(request, queryset.exclude(ruleset__status=RuleSetStatus.PUBLISHED))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "ruleset":
            kwargs["queryset"] = RuleSet.objects.filter(status=RuleSetStatus.DRAFT)
        if db_field.name == "indicator":
            kwargs["queryset"] = Indicator.objects.filter(ruleset__status=RuleSetStatus.DRAFT).select_related(
                "ruleset"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Indicator)
class IndicatorAdmin(_RuleSetPartAdmin):
    list_display = ("code", "name", "weight", "mode", "ruleset")
    list_filter = ("ruleset",)
    list_select_related = ("ruleset",)


@admin.register(Rule)
class RuleAdmin(_RuleSetPartAdmin):
    list_display = ("code", "label", "kind", "points", "cap", "indicator", "ruleset")
    list_filter = ("ruleset", "kind")
    list_select_related = ("ruleset", "indicator")


@admin.register(ManualFact)
class ManualFactAdmin(admin.ModelAdmin):
    list_display = ("section", "year", "period", "fact", "value", "entered_by", "entered_at")
    list_filter = ("year", "period", "section")
    list_select_related = ("section", "entered_by")


@admin.register(ScoreRun)
class ScoreRunAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "year", "period", "is_what_if", "computed_at")
    list_select_related = ("ruleset",)


@admin.register(UnitScore)
class UnitScoreAdmin(ReadOnlyAdmin):
    list_display = ("section", "run", "total", "grade", "rank", "vetoed")
    list_select_related = ("section", "run__ruleset")


@admin.register(LedgerLine)
class LedgerLineAdmin(ReadOnlyAdmin):
    list_display = ("section", "indicator_code", "rule_code", "period", "points", "reason")
    list_select_related = ("section",)


@admin.register(QuarterClose)
class QuarterCloseAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "year", "quarter", "status", "appeal_deadline", "closed_at", "finalized_at")


@admin.register(SnapshotTask)
class SnapshotTaskAdmin(ReadOnlyAdmin):
    list_display = ("close", "number_path", "title", "status", "overdue")
    list_select_related = ("close",)


@admin.register(SnapshotReport)
class SnapshotReportAdmin(ReadOnlyAdmin):
    list_display = ("close", "section", "status", "review_state")
    list_select_related = ("close", "section")


@admin.register(SnapshotScore)
class SnapshotScoreAdmin(ReadOnlyAdmin):
    list_display = ("close", "section", "total", "adjusted_total", "grade", "rank")
    list_select_related = ("close", "section")


@admin.register(SnapshotLedgerLine)
class SnapshotLedgerLineAdmin(ReadOnlyAdmin):
    list_display = ("close", "section", "indicator_code", "points", "reason")
    list_select_related = ("close", "section")


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    list_display = ("close", "section", "status", "submitted_at", "decided_at")
    list_select_related = ("close", "section")


@admin.register(AnnualReport)
class AnnualReportAdmin(ReadOnlyAdmin):
    """年度报告在“年度报告”页面填写、登记公布（审计日志、勾稽检查）；后台只读。"""

    list_display = ("year", "published_on", "updated_by", "updated_at")
