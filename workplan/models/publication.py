"""发布信息登记台账：上网信息（标题、栏目、正文或附件、信息形成日期）与“三审三校”审批步骤
（承办股室初审 → 分管领导复审 → 办公室终审，含保密审查）、发布登记（网址、日期）。"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from workplan.models.base import RegisteredRecord
from workplan.models.plan import Section, Task

# 《政府信息公开条例》第二十六条：属于主动公开范围的政府信息，应当自该政府信息形成或者变更之日起
# 20个工作日内及时公开。
PUBLISH_WITHIN_WORKDAYS = 20


class PublicationColumn(models.TextChoices):
    STATISTICS = "statistics", "统计数据"
    BULLETIN = "bulletin", "统计公报"
    INTERPRETATION = "interpretation", "政策解读"
    NEWS = "news", "工作动态"
    BUDGET = "budget", "财政预决算"
    RANDOM_INSPECTION = "random_inspection", "双随机一公开"
    ORGANIZATION = "organization", "机构概况"
    OTHER = "other", "其他"


class PublicationState(models.TextChoices):
    DRAFT = "draft", "拟稿"
    FIRST_REVIEW = "first_review", "待初审"
    SECOND_REVIEW = "second_review", "待复审"
    FINAL_REVIEW = "final_review", "待终审"
    APPROVED = "approved", "待发布"
    PUBLISHED = "published", "已发布"


class PublicationLevel(models.TextChoices):
    """审批卡上的环节：拟稿提交、三级审核、发布登记。"""

    SUBMIT = "submit", "拟稿提交"
    FIRST = "first", "初审（承办股室）"
    SECOND = "second", "复审（分管领导）"
    FINAL = "final", "终审（办公室）"
    PUBLISH = "publish", "发布登记"


class PublicationDecision(models.TextChoices):
    SUBMIT = "submit", "提交"
    PASS = "pass", "通过"
    RETURN = "return", "退回修改"
    PUBLISH = "publish", "已发布"


# 审核环节 ↔ 待该环节审核的状态；通过后进入的状态。
LEVEL_STATE: dict[str, str] = {
    PublicationLevel.FIRST: PublicationState.FIRST_REVIEW,
    PublicationLevel.SECOND: PublicationState.SECOND_REVIEW,
    PublicationLevel.FINAL: PublicationState.FINAL_REVIEW,
}
NEXT_STATE: dict[str, str] = {
    PublicationLevel.FIRST: PublicationState.SECOND_REVIEW,
    PublicationLevel.SECOND: PublicationState.FINAL_REVIEW,
    PublicationLevel.FINAL: PublicationState.APPROVED,
}
REVIEW_LEVELS = (PublicationLevel.FIRST, PublicationLevel.SECOND, PublicationLevel.FINAL)

# 终审时逐项确认的保密审查事项（《政府信息公开条例》第十四、十五条；“先审查、后公开”）。
CONFIDENTIALITY_ITEMS: tuple[tuple[str, str], ...] = (
    ("no_state_secret", "不涉及国家秘密"),
    ("no_work_secret", "不涉及工作秘密"),
    ("no_personal_privacy", "不涉及个人隐私"),
    ("no_trade_secret", "不涉及商业秘密"),
    ("deidentified", "已去标识化处理"),
    ("no_security_risk", "公开后不危及国家安全、公共安全、经济安全和社会稳定"),
)


class PublicationItemQuerySet(models.QuerySet["PublicationItem"]):
    def for_section(self, section: Section) -> PublicationItemQuerySet:
        return self.filter(section=section)

    def published(self) -> PublicationItemQuerySet:
        return self.filter(state=PublicationState.PUBLISHED)

    def published_between(self, start: datetime.date, end: datetime.date) -> PublicationItemQuerySet:
        """发布日期在 [start, end] 之间的已发布信息。"""
        return self.published().filter(published_on__range=(start, end))

    def awaiting(self, level: str) -> PublicationItemQuerySet:
        return self.filter(state=LEVEL_STATE[level])

    def late(self, *, on: datetime.date) -> PublicationItemQuerySet:
        """超过公开时限的：发布日期晚于截止日，或到 on 为止仍未发布而截止日已过。"""
        return self.filter(
            Q(published_on__gt=models.F("due_on")) | Q(published_on__isnull=True, due_on__lt=on)
        )


class PublicationItem(RegisteredRecord):
    """发布信息登记台账的一条：承办股室拟稿（正文和/或附件），经初审、复审、终审后由办公室发布并登记网址与日期。

    due_on（公开时限）= 信息形成日期之后第 20 个工作日，按工作日历计算后保存（以便筛选与计分），
    每次修改、发布登记时按当时的日历重算。version 用于乐观锁：每次写入 +1。
    """

    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="publications", verbose_name="承办股室"
    )
    title = models.CharField("标题", max_length=255)
    column = models.CharField("栏目", max_length=32, choices=PublicationColumn.choices)
    body = models.TextField("正文", blank=True)
    attachment = models.FileField("附件", upload_to="publications/%Y/%m/", blank=True)
    attachment_name = models.CharField("附件原文件名", max_length=255, blank=True)
    attachment_type = models.CharField("附件类型", max_length=128, blank=True)
    attachment_sha256 = models.CharField("附件指纹", max_length=64, blank=True)
    task = models.ForeignKey(
        Task,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="publications",
        verbose_name="对应任务",
    )
    formed_on = models.DateField("信息形成日期")
    due_on = models.DateField("公开时限", help_text="信息形成之日起第20个工作日（条例第二十六条）")
    state = models.CharField(
        "状态", max_length=16, choices=PublicationState.choices, default=PublicationState.DRAFT
    )
    review_round = models.PositiveSmallIntegerField("送审轮次", default=0)
    return_comment = models.TextField("退回意见", blank=True)
    returned_level = models.CharField("退回环节", max_length=16, choices=PublicationLevel.choices, blank=True)
    confidentiality = models.JSONField("保密审查", default=dict, blank=True)
    publish_url = models.URLField("发布网址", max_length=1000, blank=True)
    published_on = models.DateField("发布日期", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="拟稿人",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="提交人",
    )
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    version = models.PositiveIntegerField("版本", default=1)

    objects = PublicationItemQuerySet.as_manager()

    class Meta:
        verbose_name = "发布信息"
        verbose_name_plural = "发布信息登记台账"
        ordering = ["-formed_on", "-pk"]
        indexes = [
            models.Index(fields=["state"]),
            models.Index(fields=["section", "published_on"]),
            models.Index(fields=["due_on"]),
        ]

    def __str__(self) -> str:
        return self.title

    def is_late(self, *, today: datetime.date) -> bool:
        """超过公开时限：已发布的看发布日期是否晚于截止日；未发布的看今天是否已过截止日。"""
        if self.published_on is not None:
            return self.published_on > self.due_on
        return today > self.due_on

    @property
    def review_level(self) -> str | None:
        """当前等待的审核环节（first/second/final），不在审核中时为 None。"""
        for level, state in LEVEL_STATE.items():
            if self.state == state:
                return level
        return None

    @property
    def is_editable(self) -> bool:
        return self.state == PublicationState.DRAFT

    def confidentiality_rows(self) -> list[tuple[str, bool]]:
        """保密审查事项及是否已确认（按 CONFIDENTIALITY_ITEMS 的顺序）。"""
        return [(label, bool(self.confidentiality.get(key))) for key, label in CONFIDENTIALITY_ITEMS]


class PublicationReview(models.Model):
    """审批卡上的一个步骤：拟稿提交、初审、复审、终审（通过或退回，附意见）、发布登记。只追加。

    signer 保存当时的签名（姓名），用户改名或停用后审批卡仍显示当时的签名。
    """

    item = models.ForeignKey(
        PublicationItem, on_delete=models.CASCADE, related_name="steps", verbose_name="发布信息"
    )
    review_round = models.PositiveSmallIntegerField("送审轮次", default=1)
    level = models.CharField("环节", max_length=16, choices=PublicationLevel.choices)
    decision = models.CharField("结果", max_length=16, choices=PublicationDecision.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="经办人",
    )
    signer = models.CharField("签名", max_length=150)
    comment = models.TextField("意见", blank=True)
    checklist = models.JSONField("保密审查", default=dict, blank=True)
    at = models.DateTimeField("时间", auto_now_add=True)
    version = models.PositiveIntegerField("版本", default=1)

    class Meta:
        verbose_name = "发布审批步骤"
        verbose_name_plural = "发布审批步骤"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.get_decision_display()} {self.signer}"
