"""工作计划：股室、股室组（集合称谓）、用户、工作计划、任务、任务分工、导入记录与审计日志。"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    OFFICE = "office", "办公室"
    DIRECTOR = "director", "局长"
    SECTION = "section", "股室人员"
    READONLY = "readonly", "只读"


class Section(models.Model):
    """股室 / 科室 / 中心 / 队：局内的一个责任单位。"""

    name = models.CharField("名称", max_length=64, unique=True)
    sort_order = models.PositiveIntegerField("排序", default=100)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "股室"
        verbose_name_plural = "股室"
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class SectionAlias(models.Model):
    """股室的别名：其他叫法（政策法规股 = 法规股）或另一种字体（綜合股）。"""

    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="aliases", verbose_name="股室"
    )
    name = models.CharField("别名", max_length=64, unique=True)

    class Meta:
        verbose_name = "股室别名"
        verbose_name_plural = "股室别名"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} → {self.section.name}"


class SectionGroup(models.Model):
    """集合称谓（各股室、各相关股室、局属各单位…）：对应若干股室，成员可配置。"""

    name = models.CharField("称谓", max_length=64, unique=True)
    members = models.ManyToManyField(Section, related_name="groups", blank=True, verbose_name="成员股室")
    office_selects = models.BooleanField(
        "由办公室确定具体股室",
        default=False,
        help_text="如“各相关股室”：导入时先分配给全部成员，由办公室在任务中删减。",
    )

    class Meta:
        verbose_name = "股室组（集合称谓）"
        verbose_name_plural = "股室组（集合称谓）"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(DjangoUserManager["User"]):
    """create_user / create_superuser 给出的密码算作刚设定的密码；管理后台新建或重置密码的账号
    password_changed_at 为空，首次登录须修改密码。"""

    def create_user(self, username, email=None, password=None, **extra_fields):  # type: ignore[no-untyped-def]
        extra_fields.setdefault("password_changed_at", timezone.now())
        return super().create_user(username, email, password, **extra_fields)

    def create_superuser(self, username, email=None, password=None, **extra_fields):  # type: ignore[no-untyped-def]
        extra_fields.setdefault("password_changed_at", timezone.now())
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """系统用户：属于一个股室，并具有一个角色。"""

    role = models.CharField("角色", max_length=16, choices=Role.choices, default=Role.SECTION)
    section = models.ForeignKey(
        Section,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name="所属股室",
    )
    password_changed_at = models.DateTimeField(
        "密码修改时间", null=True, blank=True, help_text="为空表示初始密码，首次登录须修改。"
    )

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        verbose_name = "用户"
        verbose_name_plural = "用户"
        permissions = [
            ("manage_account_security", "管理账号安全属性（角色、管理员角色、启用停用、强制改密）")
        ]

    def __str__(self) -> str:
        full = (self.last_name + self.first_name).strip()
        return f"{full}（{self.username}）" if full else self.username

    @property
    def is_office(self) -> bool:
        return self.role == Role.OFFICE

    @property
    def is_director(self) -> bool:
        return self.role == Role.DIRECTOR

    @property
    def is_section_staff(self) -> bool:
        return self.role == Role.SECTION


class WorkPlan(models.Model):
    """政务公开工作要点（年度工作计划）。"""

    year = models.PositiveIntegerField("年度")
    issuing_unit = models.CharField("发文单位", max_length=128, blank=True)
    title = models.CharField("标题", max_length=255)
    doc_number = models.CharField("文号", max_length=64, blank=True)
    parent_doc_number = models.CharField("上级计划文号", max_length=64, blank=True)
    preamble = models.TextField("导语", blank=True)
    source_file = models.FileField("原始文件", upload_to="plans/%Y/", blank=True)
    source_name = models.CharField("原始文件名", max_length=255, blank=True)
    source_sha256 = models.CharField("文件指纹", max_length=64, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="导入人"
    )
    created_at = models.DateTimeField("导入时间", auto_now_add=True)

    class Meta:
        verbose_name = "工作计划"
        verbose_name_plural = "工作计划"
        ordering = ["-year", "-created_at"]

    def __str__(self) -> str:
        return f"{self.year}年 {self.title}"


class ReportStatus(models.TextChoices):
    NOT_STARTED = "not_started", "未启动"
    IN_PROGRESS = "in_progress", "推进中"
    DONE = "done", "已完成"
    CANNOT_COMPLETE = "cannot_complete", "无法完成"


class Recurrence(models.TextChoices):
    NONE = "", "一次性"
    MONTHLY = "monthly", "每月"
    QUARTERLY = "quarterly", "每季度"
    HALF_YEARLY = "half_yearly", "每半年"
    YEARLY = "yearly", "每年"
    CONTINUOUS = "continuous", "持续推进"


class TaskQuerySet(models.QuerySet["Task"]):
    def actionable(self) -> TaskQuerySet:
        return self.filter(is_heading=False)

    def headings(self) -> TaskQuerySet:
        return self.filter(is_heading=True)

    def for_section(self, section: Section) -> TaskQuerySet:
        return self.filter(assignments__section=section).distinct()

    def overdue(self, *, on: datetime.date) -> TaskQuerySet:
        """有截止日期、已过期且尚未完成的任务。"""
        return self.filter(due_date__lt=on).exclude(
            status__in=[ReportStatus.DONE, ReportStatus.CANNOT_COMPLETE]
        )

    def led_by(self, section: Section) -> TaskQuerySet:
        return self.filter(assignments__section=section, assignments__role=AssignmentRole.LEAD).distinct()


class Task(models.Model):
    """工作任务：文件层级中的一项（一、→（一）→ 1. →（1））。章节标题也存为任务行（is_heading）。"""

    plan = models.ForeignKey(
        WorkPlan, on_delete=models.CASCADE, related_name="tasks", verbose_name="工作计划"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children", verbose_name="上级"
    )
    code = models.CharField("任务编号", max_length=32, help_text="计划内稳定编号，表格导出/回导时以此对应。")
    number = models.CharField("序号", max_length=16, blank=True)
    number_path = models.CharField("层级序号", max_length=64, blank=True)
    level = models.PositiveSmallIntegerField("层级", default=1)
    position = models.PositiveIntegerField("顺序", default=0)
    is_heading = models.BooleanField("章节标题", default=False)
    title = models.CharField("标题", max_length=255)
    body = models.TextField("内容", blank=True)
    deadline_text = models.CharField("时限要求", max_length=128, blank=True)
    due_date = models.DateField("截止日期", null=True, blank=True)
    recurrence = models.CharField("周期", max_length=16, choices=Recurrence.choices, blank=True, default="")
    annotation_text = models.CharField("分工原文", max_length=512, blank=True)
    status = models.CharField(
        "总体状态",
        max_length=16,
        choices=ReportStatus.choices,
        default=ReportStatus.NOT_STARTED,
        help_text="由各股室报送推导（见 workplan/status.py），由报送与审核服务更新。",
    )
    source_line = models.PositiveIntegerField("原文行号", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = "工作任务"
        verbose_name_plural = "工作任务"
        ordering = ["plan", "position"]
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="task_code_unique_in_plan")]
        permissions = [("import_task", "可以从表格导入任务"), ("export_task", "可以导出任务表格")]
        indexes = [models.Index(fields=["plan", "is_heading", "position"])]

    def __str__(self) -> str:
        return f"{self.number_path} {self.title}".strip()


class AssignmentRole(models.TextChoices):
    LEAD = "lead", "牵头"
    RESPONSIBLE = "responsible", "责任"


class TaskAssignment(models.Model):
    """任务分工：某股室对某任务承担牵头或责任角色（可多个牵头）。"""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments", verbose_name="任务")
    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="assignments", verbose_name="股室"
    )
    role = models.CharField("角色", max_length=16, choices=AssignmentRole.choices)
    via_group = models.ForeignKey(
        SectionGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="来自集合称谓",
    )
    source_text = models.CharField("原文写法", max_length=64, blank=True)

    class Meta:
        verbose_name = "任务分工"
        verbose_name_plural = "任务分工"
        ordering = ["task", "role", "section__sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["task", "section", "role"], name="assignment_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.section.name}（{self.get_role_display()}）"


class PlanImport(models.Model):
    """一次计划导入：上传 → 预览（解析结果与股室对应建议）→ 确认。未确认前不写入任务。"""

    class Status(models.TextChoices):
        PREVIEW = "preview", "待确认"
        CONFIRMED = "confirmed", "已导入"
        FAILED = "failed", "失败"
        CANCELLED = "cancelled", "已取消"

    class Kind(models.TextChoices):
        DOCUMENT = "document", "从文件新建计划"
        UPDATE = "update", "表格回导更新任务"

    kind = models.CharField("类型", max_length=16, choices=Kind.choices, default=Kind.DOCUMENT)
    source_file = models.FileField("上传文件", upload_to="imports/%Y/%m/")
    source_name = models.CharField("文件名", max_length=255)
    source_sha256 = models.CharField("文件指纹", max_length=64, blank=True)
    year = models.PositiveIntegerField("年度", null=True, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PREVIEW)
    result = models.JSONField("解析结果", default=dict, blank=True)
    plan = models.ForeignKey(
        WorkPlan,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="imports",
        verbose_name="工作计划",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="上传人"
    )
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)

    class Meta:
        verbose_name = "计划导入记录"
        verbose_name_plural = "计划导入记录"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source_name}（{self.get_status_display()}）"


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("审计日志只能追加，不能修改")

    def delete(self):  # type: ignore[no-untyped-def]
        raise PermissionError("审计日志只能追加，不能删除")


class AuditEntry(models.Model):
    """审计日志：每一次写操作（导入、报送、审核、上传、角色变更、登录失败）追加一行，不可修改或删除。"""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "成功"
        FAILURE = "failure", "失败"
        DENIED = "denied", "拒绝"

    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="用户"
    )
    username = models.CharField("用户名", max_length=150, blank=True)
    action = models.CharField("操作", max_length=64, db_index=True)
    object_type = models.CharField("对象类型", max_length=64, blank=True)
    object_id = models.CharField("对象编号", max_length=64, blank=True)
    object_repr = models.CharField("对象", max_length=255, blank=True)
    old_value = models.JSONField("原值", null=True, blank=True)
    new_value = models.JSONField("新值", null=True, blank=True)
    outcome = models.CharField("结果", max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    ip = models.GenericIPAddressField("IP 地址", null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "审计日志"
        verbose_name_plural = "审计日志"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None and not self._state.adding:
            raise PermissionError("审计日志只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("审计日志只能追加，不能删除")
