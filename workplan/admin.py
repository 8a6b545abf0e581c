"""管理后台：注册全部模型。审计日志只读，任何人不能增改删。"""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django_q.admin import ScheduleAdmin as QScheduleAdmin
from django_q.models import Schedule
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats

from workplan.admin_roles import account_access, admin_roles_held
from workplan.audit import audit_record
from workplan.fields import ModelMultipleIdChoiceField
from workplan.models import (
    Application,
    ApplicationAppeal,
    ApplicationConsultation,
    ApplicationCorrection,
    AuditEntry,
    CriticismNotice,
    Evidence,
    FileJob,
    HolidayOverride,
    Interview,
    JobRun,
    NoticeUnit,
    Notification,
    OfficeSettings,
    PlanImport,
    ProgressReport,
    PublicationItem,
    PublicationReview,
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
from workplan.passwords import password_change_required, password_reset_by_admin
from workplan.resources import TaskConfirmImportForm, TaskImportForm, TaskResource


class IdCheckedManyToManyMixin:
    """多对多字段用 ModelMultipleIdChoiceField：超出 64 位的编号是表单错误，不是 OverflowError。"""

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("form_class", ModelMultipleIdChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


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
class SectionGroupAdmin(IdCheckedManyToManyMixin, admin.ModelAdmin):
    list_display = ("name", "office_selects")
    filter_horizontal = ("members",)


class UserChangeForm(BaseUserChangeForm):
    def clean_groups(self) -> Any:
        groups = self.cleaned_data["groups"]
        held = admin_roles_held(g.name for g in groups)
        if len(held) > 1:
            raise ValidationError(f"三种管理员角色须由不同账号担任，不能同时担任{'、'.join(sorted(held))}。")
        return groups


# 授权字段（安全管理员）与账号资料（系统管理员）分开：见 workplan/admin_roles.py。
AUTHORIZATION_FIELDS = ("role", "groups", "is_staff", "is_active")
PROFILE_FIELDS = ("username", "first_name", "last_name", "email", "section")


@admin.register(User)
class UserAdmin(IdCheckedManyToManyMixin, BaseUserAdmin):
    """用户：系统管理员建账号、改资料、重设密码；安全管理员改角色、管理员角色、启用停用；
    超级用户与直接授予的权限只有超级用户能改。角色等授权变化写审计日志。"""

    form = UserChangeForm
    list_display = ("username", "last_name", "first_name", "role", "section", "is_active", "is_staff")
    list_filter = ("role", "section", "is_active", "is_staff", "groups")
    list_select_related = ("section",)
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("岗位", {"fields": ("role", "section")}),
        ("密码", {"fields": ("password_changed_at",)}),
    )
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("岗位", {"fields": ("role", "section")}))
    actions = ["require_password_change"]

    @staticmethod
    def _is_security_admin(request: HttpRequest) -> bool:
        return request.user.has_perm("workplan.manage_account_security")

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return super().has_view_permission(request, obj) or self._is_security_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return super().has_change_permission(request, obj) or self._is_security_admin(request)

    def has_manage_account_security_permission(self, request: HttpRequest) -> bool:
        return self._is_security_admin(request)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        readonly = {"password_changed_at", "last_login", "date_joined"}
        if request.user.is_superuser:
            return tuple(sorted(readonly))
        readonly |= {"is_superuser", "user_permissions"}
        own_account = obj is not None and obj.pk == request.user.pk
        if not self._is_security_admin(request) or own_account:
            readonly |= set(AUTHORIZATION_FIELDS)
        if not super().has_change_permission(request, obj):
            readonly |= set(PROFILE_FIELDS)
        return tuple(sorted(readonly))

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        # The groups are saved after the user (save_related): remember the state before either.
        form.access_before = account_access(User.objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        before, after = getattr(form, "access_before", None), account_access(form.instance)
        if before != after:
            audit_record(
                action="user.role_change" if change else "user.create",
                user=request.user,  # type: ignore[arg-type]
                obj=form.instance,
                old=before,
                new=after,
                request=request,
            )

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        # Setting someone's password is account maintenance (系统管理员), not a security-admin task.
        if not super().has_change_permission(request):
            raise PermissionDenied
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                user = User.objects.get(pk=unquote(id))
                password_reset_by_admin(user=user, by=request.user, request=request)  # type: ignore[arg-type]
        return response

    @admin.action(description="要求下次登录修改密码", permissions=["manage_account_security"])
    def require_password_change(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = password_change_required(users=queryset, by=request.user, request=request)  # type: ignore[arg-type]
        self.message_user(request, f"{count} 个账号下次登录须修改密码。")


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


class PublicationReviewInline(admin.TabularInline):
    model = PublicationReview
    extra = 0
    can_delete = False
    fields = ("review_round", "level", "decision", "signer", "comment", "at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PublicationItem)
class PublicationItemAdmin(ReadOnlyAdmin):
    """发布信息登记台账：只读（拟稿、三审、发布登记都走页面上的服务，留下审批步骤与审计日志）。"""

    list_display = ("title", "column", "section", "state", "formed_on", "due_on", "published_on")
    list_filter = ("state", "column", "section")
    list_select_related = ("section",)
    search_fields = ("title", "publish_url")
    inlines = [PublicationReviewInline]


@admin.register(PublicationReview)
class PublicationReviewAdmin(ReadOnlyAdmin):
    list_display = ("item", "review_round", "level", "decision", "signer", "at")
    list_filter = ("level", "decision")
    list_select_related = ("item",)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "kind", "message", "created_at", "read_at", "emailed_at")
    list_filter = ("kind",)
    list_select_related = ("user",)


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ("job", "key", "outcome", "started_at", "finished_at")
    list_filter = ("job", "outcome")


@admin.register(FileJob)
class FileJobAdmin(ReadOnlyAdmin):
    """后台文件任务（运维查看状态与失败原因）：文件本身只在“我的后台任务”中由提交人下载，这里不显示。"""

    list_display = ("created_at", "created_by", "kind", "title", "status", "progress", "finished_at")
    list_filter = ("status", "kind")
    list_select_related = ("created_by",)
    exclude = ("result_file",)


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


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(IdCheckedManyToManyMixin, BaseGroupAdmin):
    """Django 自带的用户组后台；权限多选改用检查编号的字段。"""


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
class InterviewAdmin(IdCheckedManyToManyMixin, admin.ModelAdmin):
    list_display = ("held_on", "subject", "interviewer")
    filter_horizontal = ("sections",)


@admin.register(RectificationItem)
class RectificationItemAdmin(ReadOnlyAdmin):
    list_display = ("section", "description", "deadline", "status", "notice", "interview")
    list_filter = ("status", "section")
    list_select_related = ("section", "notice", "interview")


# 登录失败与锁定记录（django-axes）：安全管理员查看，删除记录即解锁；解锁写审计日志。
if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class AuditedAccessAttemptAdmin(AxesAccessAttemptAdmin):
    def delete_model(self, request: HttpRequest, obj: AccessAttempt) -> None:
        self._audit_unlock(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        self._audit_unlock(request, list(queryset))
        super().delete_queryset(request, queryset)

    @staticmethod
    def _audit_unlock(request: HttpRequest, attempts: list[AccessAttempt]) -> None:
        for attempt in attempts:
            audit_record(
                action="auth.unlock",
                user=request.user,  # type: ignore[arg-type]
                obj=attempt,
                old={
                    "username": attempt.username,
                    "ip": attempt.ip_address,
                    "failures": attempt.failures_since_start,
                },
                request=request,
            )


# 依申请公开登记：只在登记簿页面经服务修改（审计日志、期限校验）；后台只读。
@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ("code", "received_on", "channel", "applicant_type", "section", "replied_on", "result")
    list_filter = ("applicant_type", "result", "section")
    list_select_related = ("section",)
    search_fields = ("code",)


@admin.register(ApplicationCorrection)
class ApplicationCorrectionAdmin(ReadOnlyAdmin):
    list_display = ("application", "sent_on", "returned_on")
    list_select_related = ("application",)


@admin.register(ApplicationConsultation)
class ApplicationConsultationAdmin(ReadOnlyAdmin):
    list_display = ("application", "party", "started_on", "ended_on")
    list_select_related = ("application",)


@admin.register(ApplicationAppeal)
class ApplicationAppealAdmin(ReadOnlyAdmin):
    list_display = ("application", "kind", "filed_on", "result", "decided_on")
    list_filter = ("kind", "result")
    list_select_related = ("application",)
