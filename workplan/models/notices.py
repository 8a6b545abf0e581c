"""通报批评、约谈与整改：通报（编号〔年〕N号）、被通报股室、整改事项（答复、核验、销号）、约谈记录。"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from workplan.models.plan import Section, Task


class IssuerLevel(models.TextChoices):
    BUREAU = "bureau", "局内通报"
    COUNTY = "county", "县（市）级通报"
    CITY = "city", "市级及以上通报"


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    ISSUED = "issued", "已印发"
    DISCARDED = "discarded", "已作废"


class CriticismNotice(models.Model):
    """通报批评。局内通报由办公室起草、编号印发；上级通报（县、市）作为“收到的通报”登记，供考核倒扣。"""

    year = models.PositiveIntegerField("年度")
    number = models.PositiveIntegerField("序号", null=True, blank=True, help_text="印发时按年度顺序编号")
    doc_number = models.CharField("文号", max_length=64, blank=True)
    issuer_level = models.CharField(
        "通报级别", max_length=16, choices=IssuerLevel.choices, default=IssuerLevel.BUREAU
    )
    issuer_name = models.CharField("发文机关", max_length=128, blank=True)
    title = models.CharField("标题", max_length=255)
    period_label = models.CharField("期间", max_length=64, blank=True, help_text="如 2023年第三季度")
    quarter = models.PositiveSmallIntegerField("季度", null=True, blank=True)
    recipients = models.CharField("主送", max_length=255, blank=True, default="局机关各股室、局属各单位")
    opening = models.TextField("开头（依据）", blank=True)
    overview = models.TextField("一、总体情况", blank=True)
    problems = models.TextField("二、存在问题", blank=True)
    handling_opinion = models.TextField("三、处理意见", blank=True)
    requirements = models.TextField("四、整改要求", blank=True)
    rectification_deadline = models.DateField("整改期限", null=True, blank=True)
    contact = models.CharField("联系人及电话", max_length=128, blank=True)
    cc = models.CharField("抄送", max_length=255, blank=True)
    trigger_kind = models.CharField("触发条件", max_length=32, blank=True)
    trigger_detail = models.JSONField("触发依据", default=dict, blank=True)
    dedupe_key = models.CharField("去重键", max_length=128, blank=True, help_text="同一触发只起草一次")
    status = models.CharField("状态", max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT)
    received_on = models.DateField("收到/印发日期", null=True, blank=True)
    issued_at = models.DateTimeField("印发时间", null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="印发人",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="起草人",
    )
    created_at = models.DateTimeField("起草时间", auto_now_add=True)
    version = models.PositiveIntegerField("版本", default=1)

    class Meta:
        verbose_name = "通报批评"
        verbose_name_plural = "通报批评"
        ordering = ["-year", "-number", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["year", "issuer_level", "number"],
                condition=models.Q(number__isnull=False),
                name="notice_number_unique_per_year",
            ),
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=~models.Q(dedupe_key=""), name="notice_dedupe_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doc_number or '（草稿）'} {self.title}"


class NoticeUnit(models.Model):
    """通报点名的股室及其问题。"""

    notice = models.ForeignKey(
        CriticismNotice, on_delete=models.CASCADE, related_name="units", verbose_name="通报"
    )
    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="notices", verbose_name="股室"
    )
    problems = models.TextField("问题", blank=True)

    class Meta:
        verbose_name = "被通报股室"
        verbose_name_plural = "被通报股室"
        constraints = [models.UniqueConstraint(fields=["notice", "section"], name="noticeunit_unique")]

    def __str__(self) -> str:
        return f"{self.section}"


class Interview(models.Model):
    """约谈记录：约谈谁、何时、谁参加、议定事项；后续整改事项另列。"""

    held_on = models.DateField("约谈日期")
    sections = models.ManyToManyField(Section, related_name="interviews", verbose_name="被约谈股室")
    interviewer = models.CharField("约谈人", max_length=128)
    participants = models.CharField("参加人员", max_length=255, blank=True)
    subject = models.CharField("约谈事由", max_length=255)
    agreed = models.TextField("议定事项", blank=True)
    notice = models.ForeignKey(
        CriticismNotice,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interviews",
        verbose_name="相关通报",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="记录人"
    )
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "约谈记录"
        verbose_name_plural = "约谈记录"
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return f"{self.held_on} {self.subject}"


class RectificationStatus(models.TextChoices):
    OPEN = "open", "整改中"
    SUBMITTED = "submitted", "待核验"
    RETURNED = "returned", "已退回"
    CLOSED = "closed", "已销号"


class RectificationItem(models.Model):
    """整改事项：来自通报或约谈，限期整改；股室答复并附材料，办公室核验后销号或退回。"""

    notice = models.ForeignKey(
        CriticismNotice,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="items",
        verbose_name="通报",
    )
    interview = models.ForeignKey(
        Interview, on_delete=models.CASCADE, null=True, blank=True, related_name="items", verbose_name="约谈"
    )
    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="rectifications", verbose_name="责任股室"
    )
    task = models.ForeignKey(
        Task,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rectifications",
        verbose_name="相关任务",
    )
    description = models.TextField("整改内容")
    deadline = models.DateField("整改期限")
    status = models.CharField(
        "状态", max_length=16, choices=RectificationStatus.choices, default=RectificationStatus.OPEN
    )
    response = models.TextField("整改情况", blank=True)
    response_file = models.FileField("整改材料", upload_to="rectification/%Y/", blank=True)
    response_file_name = models.CharField("材料文件名", max_length=255, blank=True)
    response_link = models.URLField("材料链接", max_length=1000, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="答复人",
    )
    responded_at = models.DateTimeField("答复时间", null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="核验人",
    )
    verified_at = models.DateTimeField("核验时间", null=True, blank=True)
    verify_comment = models.TextField("核验意见", blank=True)
    return_count = models.PositiveSmallIntegerField("退回次数", default=0)
    version = models.PositiveIntegerField("版本", default=1)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "整改事项"
        verbose_name_plural = "整改事项"
        ordering = ["deadline", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(notice__isnull=False) | models.Q(interview__isnull=False),
                name="rectification_has_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.section} {self.description[:30]}"
