"""依申请公开登记：政府信息公开申请（收到渠道与日期、申请人类型、承办股室、补正、征求第三方意见、延期、
办理结果）及其行政复议、行政诉讼。

办理结果的代码与国家年度报告表三的行（国办公开办函〔2021〕30号）一一对应，代码一经使用不再改动。
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models

from workplan.models.base import RegisteredRecord
from workplan.models.plan import Section

# 《政府信息公开条例》第三十三条：20个工作日内答复；经工作机构负责人同意可延长，最长不超过20个工作日。
ANSWER_WORKDAYS = 20
EXTENSION_WORKDAYS = 20


class ReceiptChannel(models.TextChoices):
    """提交方式。收到申请之日按条例第三十一条确定（见 Application.acknowledged_on）。"""

    IN_PERSON = "in_person", "当面提交"
    POST = "post", "邮寄"
    FAX = "fax", "传真"
    ONLINE = "online", "网络平台"
    EMAIL = "email", "电子邮件"


class ApplicantType(models.TextChoices):
    """申请人情况：表三的六个申请人列（总计列另算）。"""

    NATURAL_PERSON = "natural_person", "自然人"
    BUSINESS = "business", "商业企业"
    RESEARCH = "research", "科研机构"
    NONPROFIT = "nonprofit", "社会公益组织"
    LEGAL_SERVICE = "legal_service", "法律服务机构"
    OTHER_ORG = "other_org", "其他"


class ApplicationResult(models.TextChoices):
    """办理结果：表三“三、本年度办理结果”的每一行。"""

    GRANTED = "granted", "予以公开"
    PARTIAL = "partial", "部分公开"
    DENIED_STATE_SECRET = "denied_state_secret", "不予公开：属于国家秘密"
    DENIED_PROHIBITED = "denied_prohibited", "不予公开：其他法律行政法规禁止公开"
    DENIED_SECURITY = "denied_security", "不予公开：危及“三安全一稳定”"
    DENIED_THIRD_PARTY = "denied_third_party", "不予公开：保护第三方合法权益"
    DENIED_INTERNAL = "denied_internal", "不予公开：属于三类内部事务信息"
    DENIED_PROCESS = "denied_process", "不予公开：属于四类过程性信息"
    DENIED_ENFORCEMENT = "denied_enforcement", "不予公开：属于行政执法案卷"
    DENIED_QUERY = "denied_query", "不予公开：属于行政查询事项"
    UNABLE_NOT_HELD = "unable_not_held", "无法提供：本机关不掌握相关政府信息"
    UNABLE_MUST_CREATE = "unable_must_create", "无法提供：没有现成信息需要另行制作"
    UNABLE_UNCLEAR = "unable_unclear", "无法提供：补正后申请内容仍不明确"
    REJECTED_PETITION = "rejected_petition", "不予处理：信访举报投诉类申请"
    REJECTED_REPEAT = "rejected_repeat", "不予处理：重复申请"
    REJECTED_PUBLICATION = "rejected_publication", "不予处理：要求提供公开出版物"
    REJECTED_ABUSIVE = "rejected_abusive", "不予处理：无正当理由大量反复申请"
    REJECTED_CONFIRMATION = "rejected_confirmation", "不予处理：要求行政机关确认或重新出具已获取信息"
    OTHER_NO_CORRECTION = (
        "other_no_correction",
        "其他处理：申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    )
    OTHER_NO_FEE = (
        "other_no_fee",
        "其他处理：申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    )
    OTHER = "other", "其他处理：其他"


class AppealKind(models.TextChoices):
    """表四的三组：行政复议；行政诉讼（未经复议直接起诉、复议后起诉）。"""

    REVIEW = "review", "行政复议"
    DIRECT_SUIT = "direct_suit", "行政诉讼（未经复议直接起诉）"
    SUIT_AFTER_REVIEW = "suit_after_review", "行政诉讼（复议后起诉）"


class AppealResult(models.TextChoices):
    UPHELD = "upheld", "结果维持"
    CORRECTED = "corrected", "结果纠正"
    OTHER = "other", "其他结果"
    PENDING = "pending", "尚未审结"


class ApplicationQuerySet(models.QuerySet["Application"]):
    def open(self) -> ApplicationQuerySet:
        """尚未答复（办结）的申请。"""
        return self.filter(replied_on__isnull=True)

    def in_year(self, year: int) -> ApplicationQuerySet:
        """该年度办理的申请：本年新收的，以及以前年度收到、到本年初仍未办结的（上年结转）。
        本年收到却登记了更早答复日期的（数据有误）也在内，年度报告的勾稽检查据此发现。"""
        start = datetime.date(year, 1, 1)
        return self.filter(received_on__year__lte=year).exclude(received_on__lt=start, replied_on__lt=start)


class Application(RegisteredRecord):
    """一件政府信息公开申请（依申请公开登记簿的一行）。

    申请人姓名或名称是个人信息：只在登记簿页面与导出中出现，不写入后台任务参数、通知、审计日志或运行记录。
    答复期限由 workplan/application_clock.py 的 answer_clock 按工作日计算（不存库：节假日调整后自动更新）。
    """

    code = models.CharField(
        "登记编号", max_length=32, unique=True, help_text="如 2023-007，登记时按年度顺序编号"
    )
    channel = models.CharField("提交方式", max_length=16, choices=ReceiptChannel.choices)
    submitted_on = models.DateField("提交日期", help_text="当面提交之日；邮寄为邮戳/寄出日期；其他为提交日期")
    acknowledged_on = models.DateField(
        "签收或确认日期",
        null=True,
        blank=True,
        help_text="邮寄：本机关签收之日（平信为与申请人确认之日）；网络平台、传真、电子邮件：双方确认之日。当面提交不填。",
    )
    received_on = models.DateField(
        "收到申请之日", db_index=True, help_text="按条例第三十一条由提交方式和日期确定，答复期限由此起算"
    )
    applicant_type = models.CharField("申请人类型", max_length=16, choices=ApplicantType.choices)
    applicant_name = models.CharField("申请人姓名或名称", max_length=128)
    content = models.TextField("申请内容")
    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="applications", verbose_name="承办股室"
    )
    extended = models.BooleanField("延长答复期限", default=False)
    extension_approved_by = models.CharField("延期批准人", max_length=64, blank=True)
    extension_approved_on = models.DateField("延期批准日期", null=True, blank=True)
    extension_reason = models.CharField("延期理由", max_length=255, blank=True)
    replied_on = models.DateField("答复（办结）日期", null=True, blank=True, db_index=True)
    result = models.CharField("办理结果", max_length=32, choices=ApplicationResult.choices, blank=True)
    reply_note = models.TextField("答复说明", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="登记人",
    )

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = "政府信息公开申请"
        verbose_name_plural = "政府信息公开申请"
        ordering = ["-received_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(replied_on__isnull=True, result="")
                | (models.Q(replied_on__isnull=False) & ~models.Q(result="")),
                name="application_reply_has_result",
                violation_error_message="已答复的申请必须有办理结果，未答复的不能有办理结果",
            ),
        ]

    def __str__(self) -> str:
        return f"依申请公开 {self.code}"

    def carried_over_into(self, year: int) -> bool:
        """上年结转：以前年度收到、到 year 年初仍未办结。"""
        return self.received_on.year < year and (self.replied_on is None or self.replied_on.year >= year)


class ApplicationCorrection(models.Model):
    """补正告知（条例第三十条）：告知之后答复期限停止计算，自收到补正之日起重新计算 20 个工作日。"""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="corrections", verbose_name="申请"
    )
    sent_on = models.DateField("告知补正日期")
    returned_on = models.DateField("收到补正日期", null=True, blank=True)
    note = models.CharField("需补正的内容", max_length=255, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="记录人"
    )

    class Meta:
        verbose_name = "补正告知"
        verbose_name_plural = "补正告知"
        ordering = ["sent_on", "pk"]

    def __str__(self) -> str:
        return f"补正 {self.sent_on}"


class ApplicationConsultation(models.Model):
    """征求第三方或其他机关意见（条例第三十二、三十三条）：所需时间不计入答复期限。"""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="consultations", verbose_name="申请"
    )
    party = models.CharField("征求意见对象", max_length=128, help_text="如 第三方企业、某某局；不写个人姓名")
    started_on = models.DateField("发出征求意见日期")
    ended_on = models.DateField("收到意见（或期满）日期", null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="记录人"
    )

    class Meta:
        verbose_name = "征求意见"
        verbose_name_plural = "征求意见"
        ordering = ["started_on", "pk"]

    def __str__(self) -> str:
        return f"征求意见 {self.started_on}"


class ApplicationAppeal(models.Model):
    """因该申请的答复引起的行政复议或行政诉讼。decided_on 为空或晚于年末的，在该年度报告中计为“尚未审结”。"""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="appeals", verbose_name="申请"
    )
    kind = models.CharField("类型", max_length=24, choices=AppealKind.choices)
    filed_on = models.DateField("申请复议 / 起诉日期")
    result = models.CharField(
        "结果", max_length=16, choices=AppealResult.choices, default=AppealResult.PENDING
    )
    decided_on = models.DateField("决定 / 判决日期", null=True, blank=True)
    note = models.CharField("说明", max_length=255, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="记录人"
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "行政复议 / 行政诉讼"
        verbose_name_plural = "行政复议 / 行政诉讼"
        ordering = ["filed_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(result="pending", decided_on__isnull=True)
                | (~models.Q(result="pending") & models.Q(decided_on__isnull=False)),
                name="appeal_decided_has_date",
                violation_error_message="已审结的须填写决定 / 判决日期，尚未审结的不填",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.filed_on}"
