"""管理后台：注册全部模型。审计日志只读，任何人不能增改删。"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django_q.admin import ScheduleAdmin as QScheduleAdmin
from django_q.models import Schedule
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats

from workplan.models import (
    AuditEntry,
    CriticismNotice,
    Evidence,
    HolidayOverride,
    Interview,
    JobRun,
    NoticeUnit,
    Notification,
    OfficeSettings,
    PlanImport,
    ProgressReport,
    RectificationItem,
    ReportEvent,
    Section,
    SectionAlias,
    SectionGroup,
    Task,
    TaskAssignment,
    User,
    WorkPlan,
)
from workplan.resources import TaskConfirmImportForm, TaskImportForm, TaskResource


class SectionAliasInline(admin.TabularInline):
    model = SectionAlias
    extra = 1


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ("name", "sort_order", "is_active")
    list_editable = ("sort_order", "is_active")
    search_fields = ("name", "aliases__name")
    inlines = [SectionAliasInline]


@admin.register(SectionAlias)
class SectionAliasAdmin(admin.ModelAdmin):
    list_display = ("name", "section")
    list_select_related = ("section",)
    search_fields = ("name", "section__name")


@admin.register(SectionGroup)
class SectionGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "office_selects")
    filter_horizontal = ("members",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "last_name", "first_name", "role", "section", "is_active", "is_staff")
    list_filter = ("role", "section", "is_active", "is_staff")
    list_select_related = ("section",)
    fieldsets = (*BaseUserAdmin.fieldsets, ("岗位", {"fields": ("role", "section")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("岗位", {"fields": ("role", "section")}))


@admin.register(WorkPlan)
class WorkPlanAdmin(admin.ModelAdmin):
    list_display = ("year", "title", "issuing_unit", "parent_doc_number", "created_at")
    list_filter = ("year",)
    search_fields = ("title", "issuing_unit", "parent_doc_number")


class TaskAssignmentInline(admin.TabularInline):
    model = TaskAssignment
    extra = 0
    autocomplete_fields = ("section",)


@admin.register(Task)
class TaskAdmin(ImportExportModelAdmin):
    """任务：可从表格导入/导出（需 workplan.import_task / export_task 权限；仅 xlsx 与 csv）。"""

    list_display = (
        "code",
        "number_path",
        "title",
        "plan",
        "is_heading",
        "deadline_text",
        "due_date",
        "recurrence",
    )
    list_filter = ("plan", "is_heading", "recurrence")
    list_select_related = ("plan",)
    search_fields = ("code", "title", "body")
    inlines = [TaskAssignmentInline]
    resource_classes = [TaskResource]
    formats = [base_formats.XLSX, base_formats.CSV]
    import_form_class = TaskImportForm
    confirm_form_class = TaskConfirmImportForm

    def get_import_resource_kwargs(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        form = kwargs.pop("form", None)
        plan = form.cleaned_data.get("plan") if form is not None and hasattr(form, "cleaned_data") else None
        return {**kwargs, "plan": plan}

    def get_confirm_form_initial(self, request: HttpRequest, import_form: Any) -> dict[str, Any]:
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["plan"] = import_form.cleaned_data["plan"].pk
        return initial


@admin.register(TaskAssignment)
class TaskAssignmentAdmin(admin.ModelAdmin):
    list_display = ("task", "section", "role", "via_group", "source_text")
    list_filter = ("role", "section")
    list_select_related = ("task", "section", "via_group")


@admin.register(PlanImport)
class PlanImportAdmin(admin.ModelAdmin):
    list_display = ("source_name", "kind", "year", "status", "created_by", "created_at")
    list_filter = ("status", "kind")
    list_select_related = ("created_by",)
    readonly_fields = ("result",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """只能查看的记录（历史、运行记录）：不能在后台增改删。"""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "username", "action", "object_type", "object_repr", "outcome", "ip")
    list_filter = ("action", "outcome")
    search_fields = ("username", "action", "object_repr")


class ReportEventInline(admin.TabularInline):
    model = ReportEvent
    extra = 0
    can_delete = False
    readonly_fields = ("at", "user", "action", "status", "narrative", "comment", "version")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ProgressReport)
class ProgressReportAdmin(ReadOnlyAdmin):
    list_display = ("task", "section", "role", "year", "quarter", "status", "review_state", "submitted_at")
    list_filter = ("year", "quarter", "status", "review_state", "section")
    list_select_related = ("task", "section")
    inlines = [ReportEventInline]


@admin.register(ReportEvent)
class ReportEventAdmin(ReadOnlyAdmin):
    list_display = ("report", "action", "user", "at")
    list_select_related = ("report__task", "report__section", "user")


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "kind", "report", "size", "uploaded_by", "uploaded_at", "removed_at")
    list_filter = ("kind",)
    list_select_related = ("report__task", "report__section", "uploaded_by")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "kind", "message", "created_at", "read_at", "emailed_at")
    list_filter = ("kind",)
    list_select_related = ("user",)


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ("job", "key", "outcome", "started_at", "finished_at")
    list_filter = ("job", "outcome")


@admin.register(HolidayOverride)
class HolidayOverrideAdmin(admin.ModelAdmin):
    list_display = ("date", "is_workday", "note")
    list_filter = ("is_workday",)
    date_hierarchy = "date"


@admin.register(OfficeSettings)
class OfficeSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "report_day", "due_soon_workdays", "max_evidence_mb", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not OfficeSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# django-q2 runs whatever dotted path a Schedule's func names: nobody adds or edits schedules in admin;
# `manage.py setup_schedules` creates them from an allow-list. Viewing and deleting stay possible.
admin.site.unregister(Schedule)


@admin.register(Schedule)
class LockedScheduleAdmin(QScheduleAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class NoticeUnitInline(admin.TabularInline):
    model = NoticeUnit
    extra = 0


@admin.register(CriticismNotice)
class CriticismNoticeAdmin(admin.ModelAdmin):
    list_display = ("doc_number", "title", "issuer_level", "year", "status", "issued_at")
    list_filter = ("year", "issuer_level", "status")
    search_fields = ("title", "doc_number")
    inlines = [NoticeUnitInline]

    def has_change_permission(self, request: HttpRequest, obj: CriticismNotice | None = None) -> bool:
        # 已印发的通报不能再改（更正须另发通报）。
        if obj is not None and obj.status == "issued":
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: CriticismNotice | None = None) -> bool:
        if obj is not None and obj.status == "issued":
            return False
        return super().has_delete_permission(request, obj)


@admin.register(NoticeUnit)
class NoticeUnitAdmin(ReadOnlyAdmin):
    list_display = ("notice", "section")
    list_select_related = ("notice", "section")


@admin.register(Interview)
class InterviewAdmin(admin.ModelAdmin):
    list_display = ("held_on", "subject", "interviewer")
    filter_horizontal = ("sections",)


@admin.register(RectificationItem)
class RectificationItemAdmin(ReadOnlyAdmin):
    list_display = ("section", "description", "deadline", "status", "notice", "interview")
    list_filter = ("status", "section")
    list_select_related = ("section", "notice", "interview")
