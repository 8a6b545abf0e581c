"""进展报送：季度进展情况、佐证材料、审核历史；站内通知、后台任务运行记录；工作日历覆盖与办公室设置。"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from workplan.models.plan import AssignmentRole, ReportStatus, Section, Task


class ReviewState(models.TextChoices):
    SUBMITTED = "submitted", "待审核"
    ACCEPTED = "accepted", "已通过"
    RETURNED = "returned", "已退回"


class ProgressReportQuerySet(models.QuerySet["ProgressReport"]):
    def for_quarter(self, year: int, quarter: int) -> ProgressReportQuerySet:
        return self.filter(year=year, quarter=quarter)

    def pending_review(self) -> ProgressReportQuerySet:
        return self.filter(review_state=ReviewState.SUBMITTED)

    def returned(self) -> ProgressReportQuerySet:
        return self.filter(review_state=ReviewState.RETURNED)


class ProgressReport(models.Model):
    """某股室对某任务某季度的进展报送。牵头与责任股室分别报送；办公室审核（通过或退回修改）。

    version 用于乐观锁：每次修改 +1，提交时带上打开时的 version，不一致即冲突（409）。
    """

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="reports", verbose_name="任务")
    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="reports", verbose_name="股室"
    )
    role = models.CharField("角色", max_length=16, choices=AssignmentRole.choices)
    year = models.PositiveIntegerField("年度")
    quarter = models.PositiveSmallIntegerField("季度")
    status = models.CharField("进展状态", max_length=16, choices=ReportStatus.choices)
    reason = models.TextField("无法完成的原因", blank=True)
    narrative = models.TextField("进展情况", blank=True)
    review_state = models.CharField(
        "审核状态", max_length=16, choices=ReviewState.choices, default=ReviewState.SUBMITTED
    )
    review_comment = models.TextField("审核意见", blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审核人",
    )
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    return_count = models.PositiveSmallIntegerField("退回次数", default=0)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="报送人",
    )
    submitted_at = models.DateTimeField("报送时间")
    version = models.PositiveIntegerField("版本", default=1)

    objects = ProgressReportQuerySet.as_manager()

    class Meta:
        verbose_name = "进展报送"
        verbose_name_plural = "进展报送"
        ordering = ["-year", "-quarter", "task__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "section", "year", "quarter"], name="report_unique_per_section_quarter"
            ),
            models.CheckConstraint(
                condition=models.Q(quarter__gte=1, quarter__lte=4), name="report_quarter_1_4"
            ),
        ]
        indexes = [models.Index(fields=["year", "quarter", "review_state"])]

    def __str__(self) -> str:
        return f"{self.year}年第{self.quarter}季度 {self.section} · {self.task}"


class ReportEvent(models.Model):
    """报送历史：谁在何时报送、修改、通过、退回，当时的内容与意见。只追加。"""

    class Action(models.TextChoices):
        SUBMIT = "submit", "报送"
        REVISE = "revise", "修改"
        ACCEPT = "accept", "通过"
        RETURN = "return", "退回"
        EVIDENCE_ADD = "evidence_add", "添加佐证"
        EVIDENCE_REMOVE = "evidence_remove", "撤回佐证"

    report = models.ForeignKey(
        ProgressReport, on_delete=models.CASCADE, related_name="events", verbose_name="报送"
    )
    at = models.DateTimeField("时间", auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="操作人"
    )
    action = models.CharField("操作", max_length=16, choices=Action.choices)
    status = models.CharField("进展状态", max_length=16, choices=ReportStatus.choices, blank=True)
    narrative = models.TextField("进展情况", blank=True)
    comment = models.TextField("意见/说明", blank=True)
    version = models.PositiveIntegerField("版本", default=1)

    class Meta:
        verbose_name = "报送历史"
        verbose_name_plural = "报送历史"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.at:%Y-%m-%d %H:%M}"


class Evidence(models.Model):
    """佐证材料：上传的文件（pdf、docx、xlsx、图片）或链接（网址及其声称的发布日期）。"""

    class Kind(models.TextChoices):
        FILE = "file", "文件"
        LINK = "link", "链接"

    report = models.ForeignKey(
        ProgressReport, on_delete=models.PROTECT, related_name="evidence", verbose_name="报送"
    )
    kind = models.CharField("类型", max_length=8, choices=Kind.choices)
    file = models.FileField("文件", upload_to="evidence/%Y/%m/", blank=True)
    original_name = models.CharField("原文件名", max_length=255, blank=True)
    size = models.PositiveBigIntegerField("大小（字节）", default=0)
    content_type = models.CharField("文件类型", max_length=128, blank=True)
    sha256 = models.CharField("文件指纹", max_length=64, blank=True)
    url = models.URLField("链接", max_length=1000, blank=True)
    published_on = models.DateField("发布日期", null=True, blank=True)
    note = models.CharField("说明", max_length=255, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="上传人"
    )
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)
    removed_at = models.DateTimeField("撤回时间", null=True, blank=True)

    class Meta:
        verbose_name = "佐证材料"
        verbose_name_plural = "佐证材料"
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name or self.url


class Notification(models.Model):
    """站内通知（到期提醒、逾期提醒、缺报清单、审核结果）。dedupe_key 保证同一提醒只发一次。"""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name="接收人",
    )
    kind = models.CharField("类型", max_length=32)
    message = models.TextField("内容")
    link = models.CharField("链接", max_length=255, blank=True)
    dedupe_key = models.CharField("去重键", max_length=200, unique=True)
    created_at = models.DateTimeField("时间", auto_now_add=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)
    emailed_at = models.DateTimeField("邮件发送时间", null=True, blank=True)

    class Meta:
        verbose_name = "站内通知"
        verbose_name_plural = "站内通知"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.message[:40]


class JobRun(models.Model):
    """后台任务的运行记录（开始、结束、结果）。(job, key) 唯一：同一天/同一季度的任务只运行一次。"""

    class Outcome(models.TextChoices):
        RUNNING = "running", "运行中"
        SUCCESS = "success", "成功"
        FAILURE = "failure", "失败"

    job = models.CharField("任务", max_length=64)
    key = models.CharField("批次", max_length=64)
    started_at = models.DateTimeField("开始", auto_now_add=True)
    finished_at = models.DateTimeField("结束", null=True, blank=True)
    outcome = models.CharField("结果", max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    detail = models.JSONField("详情", default=dict, blank=True)

    class Meta:
        verbose_name = "后台任务记录"
        verbose_name_plural = "后台任务记录"
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["job", "key"], name="jobrun_unique_job_key")]

    def __str__(self) -> str:
        return f"{self.job} {self.key} {self.get_outcome_display()}"


class HolidayOverride(models.Model):
    """办公室录入的节假日/调休：覆盖 chinesecalendar（尚未发布的年份、地方性调整）。"""

    date = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("上班", default=False, help_text="勾选表示调休上班日；不勾选表示放假")
    note = models.CharField("说明", max_length=64, blank=True)

    class Meta:
        verbose_name = "节假日调整"
        verbose_name_plural = "节假日调整"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'上班' if self.is_workday else '放假'} {self.note}".strip()


class OfficeSettings(models.Model):
    """办公室设置（单行）：季度报送截止日、到期提醒提前量等。"""

    report_day = models.PositiveSmallIntegerField(
        "季度报送截止日", default=8, help_text="季度结束后次月的第几日（遇节假日顺延到下一个工作日）"
    )
    due_soon_workdays = models.PositiveSmallIntegerField("到期提醒提前工作日数", default=5)
    max_evidence_mb = models.PositiveSmallIntegerField("佐证文件大小上限（MB）", default=20)
    unit_name = models.CharField(
        "本单位名称", max_length=128, blank=True, help_text="用于报告、通报的发文机关标志"
    )
    notice_prefix = models.CharField(
        "通报文号前缀", max_length=32, default="统通", help_text="如 樟统通 → 樟统通〔2023〕3号"
    )
    appeal_window_workdays = models.PositiveSmallIntegerField("申诉期（工作日）", default=5)
    trigger_overdue_workdays = models.PositiveSmallIntegerField("通报触发：任务逾期超过N个工作日", default=10)
    trigger_score_below = models.DecimalField(
        "通报触发：季度得分低于", max_digits=6, decimal_places=2, default=60
    )
    trigger_returned_times = models.PositiveSmallIntegerField("通报触发：同一报送被退回次数", default=2)
    trigger_low_quarters = models.PositiveSmallIntegerField("通报触发：连续低分季度数", default=2)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "办公室设置"
        verbose_name_plural = "办公室设置"

    def __str__(self) -> str:
        return "办公室设置"

    @classmethod
    def current(cls) -> OfficeSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj
