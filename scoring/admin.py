"""考核评分的管理后台：细则（已发布的只读）、录入事实、计分结果与台账（只读）。"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from scoring.models import Indicator, LedgerLine, ManualFact, Rule, RuleSet, ScoreRun, UnitScore
from workplan.admin import ReadOnlyAdmin


class IndicatorInline(admin.TabularInline):
    model = Indicator
    extra = 0


class RuleInline(admin.TabularInline):
    model = Rule
    extra = 0


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "version", "year", "unit_type", "status", "published_at")
    list_filter = ("year", "status")
    inlines = [IndicatorInline, RuleInline]

    def has_change_permission(self, request: HttpRequest, obj: RuleSet | None = None) -> bool:
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: RuleSet | None = None) -> bool:
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "weight", "mode", "ruleset")
    list_filter = ("ruleset",)
    list_select_related = ("ruleset",)

    def has_change_permission(self, request: HttpRequest, obj: Indicator | None = None) -> bool:
        if obj is not None and obj.ruleset.is_published:
            return False
        return super().has_change_permission(request, obj)


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "kind", "points", "cap", "indicator", "ruleset")
    list_filter = ("ruleset", "kind")
    list_select_related = ("ruleset", "indicator")

    def has_change_permission(self, request: HttpRequest, obj: Rule | None = None) -> bool:
        if obj is not None and obj.ruleset.is_published:
            return False
        return super().has_change_permission(request, obj)


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
