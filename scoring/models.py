"""考核评分：评分细则（版本化，发布后不可改）、指标树、规则、办公室录入的事实、计分批次与台账。"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from workplan.models import Section

POINTS = {"max_digits": 10, "decimal_places": 4}


class RuleSetStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    PUBLISHED = "published", "已发布"


class RuleKind(models.TextChoices):
    PER_OCCURRENCE = "per_occurrence", "按次扣分"
    CONDITION = "condition", "一次性条件扣分"
    WHOLE_ITEM = "whole_item", "此项不得分"
    PRESENCE = "presence", "有无（有得、无扣）"
    QUANTITY = "quantity", "数量目标"
    PER_ITEM = "per_item", "按项得分（封顶）"
    DISCRETIONARY = "discretionary", "酌情评分"
    BONUS = "bonus", "加分"
    NOTICE = "notice", "通报批评倒扣"
    VETO = "veto", "一票否决"
    NOT_APPLICABLE = "not_applicable", "不适用（剔除折算）"


class RuleSet(models.Model):
    """一版评分细则。code 相同、version 递增；发布后不可修改，修改须复制为新版本。"""

    code = models.CharField("细则代码", max_length=64)
    version = models.PositiveIntegerField("版本", default=1)
    name = models.CharField("名称", max_length=255)
    year = models.PositiveIntegerField("年度")
    unit_type = models.CharField(
        "适用单位类型", max_length=64, blank=True, help_text="如 股室、乡镇、部门；空为通用"
    )
    status = models.CharField(
        "状态", max_length=16, choices=RuleSetStatus.choices, default=RuleSetStatus.DRAFT
    )
    base_total = models.DecimalField("基础总分", default=Decimal(100), **POINTS)
    bonus_cap = models.DecimalField("加分上限", default=Decimal(0), **POINTS)
    bonus_gate = models.DecimalField("加分门槛（须超过）", null=True, blank=True, **POINTS)
    lead_share = models.DecimalField("牵头股室分担比例", default=Decimal(1), **POINTS)
    responsible_share = models.DecimalField("责任股室分担比例", default=Decimal(0), **POINTS)
    grade_bands = models.JSONField("等次", default=list, help_text='[{"name": "优秀", "min": "90"}, …]')
    period_weights = models.JSONField("期间权重", default=dict, help_text='{"Q1": "0.25", …}')
    source_text = models.TextField("细则原文（YAML）", blank=True)
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="创建人"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "评分细则"
        verbose_name_plural = "评分细则"
        ordering = ["-year", "code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="ruleset_code_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code} v{self.version}，{self.get_status_display()}）"

    @property
    def is_published(self) -> bool:
        return self.status == RuleSetStatus.PUBLISHED


class Indicator(models.Model):
    """考核指标（一级 → 二级 → 三级），权重沿树相加。"""

    class Mode(models.TextChoices):
        DEDUCT = "deduct", "扣分制（从权重扣起，扣完为止）"
        EARN = "earn", "得分制（从0分起，最高为权重）"

    ruleset = models.ForeignKey(
        RuleSet, on_delete=models.CASCADE, related_name="indicators", verbose_name="评分细则"
    )
    code = models.CharField("指标代码", max_length=32)
    name = models.CharField("指标名称", max_length=255)
    parent_code = models.CharField("上级指标代码", max_length=32, blank=True)
    level = models.PositiveSmallIntegerField("级别", default=1)
    weight = models.DecimalField("权重（分）", **POINTS)
    mode = models.CharField("计分方式", max_length=8, choices=Mode.choices, default=Mode.DEDUCT)
    position = models.PositiveIntegerField("顺序", default=0)

    class Meta:
        verbose_name = "考核指标"
        verbose_name_plural = "考核指标"
        ordering = ["ruleset", "position"]
        constraints = [models.UniqueConstraint(fields=["ruleset", "code"], name="indicator_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}（{self.weight}分）"


class Rule(models.Model):
    """一条评分规则：读取某个事实，按类型计分。"""

    ruleset = models.ForeignKey(
        RuleSet, on_delete=models.CASCADE, related_name="rules", verbose_name="评分细则"
    )
    indicator = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, related_name="rules", verbose_name="指标"
    )
    code = models.CharField("规则代码", max_length=32)
    kind = models.CharField("类型", max_length=20, choices=RuleKind.choices)
    label = models.CharField("说明", max_length=255)
    fact = models.CharField("读取的事实", max_length=64, blank=True)
    points = models.DecimalField("分值", default=Decimal(0), **POINTS)
    cap = models.DecimalField("上限", null=True, blank=True, help_text="缺省为指标权重（扣完为止）", **POINTS)
    absent_points = models.DecimalField("无/未完成扣分", default=Decimal(0), **POINTS)
    target = models.DecimalField("目标数", null=True, blank=True, **POINTS)
    blank_points = models.DecimalField("空白期扣分", default=Decimal(0), **POINTS)
    evidence_required = models.BooleanField("需要证明材料", default=False)
    measure = models.CharField("量词", max_length=8, default="项")
    position = models.PositiveIntegerField("顺序", default=0)

    class Meta:
        verbose_name = "评分规则"
        verbose_name_plural = "评分规则"
        ordering = ["ruleset", "position"]
        constraints = [models.UniqueConstraint(fields=["ruleset", "code"], name="rule_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


class ManualFact(models.Model):
    """办公室录入的事实：有无检查、数量、酌情分（附理由）、加分事项（附证明材料）。"""

    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="manual_facts", verbose_name="股室"
    )
    year = models.PositiveIntegerField("年度")
    period = models.CharField("期间", max_length=16, help_text="如 Q1、Q2、年终")
    fact = models.CharField("事实", max_length=64)
    value = models.JSONField("取值")
    reason = models.TextField("理由/说明", blank=True)
    evidence = models.FileField("证明材料", upload_to="scoring/evidence/%Y/", blank=True)
    evidence_note = models.CharField("证明材料说明", max_length=255, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="录入人"
    )
    entered_at = models.DateTimeField("录入时间", auto_now=True)

    class Meta:
        verbose_name = "录入事实"
        verbose_name_plural = "录入事实"
        ordering = ["year", "period", "section__sort_order", "fact"]
        constraints = [
            models.UniqueConstraint(fields=["section", "year", "period", "fact"], name="manualfact_unique")
        ]

    def __str__(self) -> str:
        return f"{self.year}{self.period} {self.section} {self.fact}"


class ScoreRun(models.Model):
    """一次计分：某版细则、某年度某期间。what-if 计分不影响正式成绩。重算同一期间会替换旧台账。"""

    ruleset = models.ForeignKey(
        RuleSet, on_delete=models.PROTECT, related_name="runs", verbose_name="评分细则"
    )
    year = models.PositiveIntegerField("年度")
    period = models.CharField("期间", max_length=16)
    is_what_if = models.BooleanField("模拟计分", default=False)
    inputs_digest = models.CharField("输入指纹", max_length=64, blank=True)
    computed_at = models.DateTimeField("计算时间", auto_now=True)
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name="计算人"
    )

    class Meta:
        verbose_name = "计分批次"
        verbose_name_plural = "计分批次"
        ordering = ["-year", "-period", "-computed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["ruleset", "year", "period", "is_what_if"], name="scorerun_unique_period"
            )
        ]

    def __str__(self) -> str:
        kind = "模拟" if self.is_what_if else "正式"
        return f"{self.year}年{self.period} {kind}计分（{self.ruleset.code} v{self.ruleset.version}）"


class UnitScore(models.Model):
    """一个股室在一次计分中的结果。"""

    run = models.ForeignKey(
        ScoreRun, on_delete=models.CASCADE, related_name="scores", verbose_name="计分批次"
    )
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="scores", verbose_name="股室")
    total = models.DecimalField("总分", max_digits=8, decimal_places=2)
    grade = models.CharField("等次", max_length=16)
    rank = models.PositiveIntegerField("名次", default=0)
    vetoed = models.BooleanField("被否决", default=False)
    base_score = models.DecimalField("基础分", **POINTS)
    bonus = models.DecimalField("加分", **POINTS)
    penalty = models.DecimalField("倒扣", **POINTS)
    indicator_scores = models.JSONField("指标得分", default=dict)

    class Meta:
        verbose_name = "股室得分"
        verbose_name_plural = "股室得分"
        ordering = ["run", "rank"]
        constraints = [models.UniqueConstraint(fields=["run", "section"], name="unitscore_unique")]

    def __str__(self) -> str:
        return f"{self.section} {self.total}分 {self.grade}"


class LedgerLine(models.Model):
    """扣分明细台账：每一分都有理由（含算式）、依据的事实与细则版本。"""

    run = models.ForeignKey(ScoreRun, on_delete=models.CASCADE, related_name="lines", verbose_name="计分批次")
    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="ledger_lines", verbose_name="股室"
    )
    indicator_code = models.CharField("指标", max_length=32, blank=True)
    rule_code = models.CharField("规则", max_length=32, blank=True)
    period = models.CharField("期间", max_length=16)
    points = models.DecimalField("分值", **POINTS)
    reason = models.TextField("理由")
    facts = models.JSONField("依据", default=dict)
    ruleset_label = models.CharField("细则版本", max_length=80)
    position = models.PositiveIntegerField("顺序", default=0)

    class Meta:
        verbose_name = "台账明细"
        verbose_name_plural = "台账明细"
        ordering = ["run", "section", "position"]
        indexes = [models.Index(fields=["run", "section"])]

    def __str__(self) -> str:
        return f"{self.section} {self.points:+} {self.reason[:30]}"


class QuarterCloseStatus(models.TextChoices):
    APPEAL = "appeal", "申诉期"
    FINAL = "final", "已定稿"


class QuarterClose(models.Model):
    """季度关账：任务状态、报送、佐证引用与计分台账冻结为快照；申诉期结束后定稿。快照行只增不改。"""

    year = models.PositiveIntegerField("年度")
    quarter = models.PositiveSmallIntegerField("季度")
    run = models.ForeignKey(
        ScoreRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="计分批次"
    )
    status = models.CharField(
        "状态", max_length=16, choices=QuarterCloseStatus.choices, default=QuarterCloseStatus.APPEAL
    )
    appeal_deadline = models.DateField("申诉截止日")
    closed_at = models.DateTimeField("关账时间", auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="关账人",
    )
    finalized_at = models.DateTimeField("定稿时间", null=True, blank=True)

    class Meta:
        verbose_name = "季度关账"
        verbose_name_plural = "季度关账"
        ordering = ["-year", "-quarter"]
        constraints = [models.UniqueConstraint(fields=["year", "quarter"], name="quarterclose_unique")]

    def __str__(self) -> str:
        return f"{self.year}年第{self.quarter}季度（{self.get_status_display()}）"


class SnapshotTask(models.Model):
    """关账时的任务状态（冻结）。"""

    close = models.ForeignKey(
        QuarterClose, on_delete=models.CASCADE, related_name="tasks", verbose_name="关账"
    )
    task_id_ref = models.PositiveBigIntegerField("任务编号（内部）")
    plan_id_ref = models.PositiveBigIntegerField("计划编号（内部）")
    code = models.CharField("任务编号", max_length=32)
    number_path = models.CharField("层级序号", max_length=64, blank=True)
    chapter = models.CharField("所属章节", max_length=255, blank=True)
    title = models.CharField("标题", max_length=255)
    status = models.CharField("总体状态", max_length=16)
    due_date = models.DateField("截止日期", null=True, blank=True)
    recurrence = models.CharField("周期", max_length=16, blank=True)
    overdue = models.BooleanField("逾期", default=False)
    workdays_overdue = models.IntegerField("逾期工作日", default=0)
    lead_names = models.CharField("牵头股室", max_length=255, blank=True)
    responsible_names = models.CharField("责任股室", max_length=512, blank=True)
    lead_section_ids = models.JSONField("牵头股室编号", default=list)

    class Meta:
        verbose_name = "快照：任务"
        verbose_name_plural = "快照：任务"
        ordering = ["close", "id"]
        indexes = [models.Index(fields=["close", "task_id_ref"])]

    def __str__(self) -> str:
        return f"{self.number_path} {self.title}"


class SnapshotReport(models.Model):
    """关账时的进展报送与佐证材料引用（冻结）。"""

    close = models.ForeignKey(
        QuarterClose, on_delete=models.CASCADE, related_name="reports", verbose_name="关账"
    )
    report_id_ref = models.PositiveBigIntegerField("报送编号（内部）")
    task_id_ref = models.PositiveBigIntegerField("任务编号（内部）")
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="+", verbose_name="股室")
    role = models.CharField("角色", max_length=16)
    status = models.CharField("进展状态", max_length=16)
    review_state = models.CharField("审核状态", max_length=16)
    narrative = models.TextField("进展情况", blank=True)
    evidence = models.JSONField("佐证材料", default=list, help_text='[{"id": 1, "name": "…", "url": "…"}]')

    class Meta:
        verbose_name = "快照：报送"
        verbose_name_plural = "快照：报送"
        ordering = ["close", "id"]

    def __str__(self) -> str:
        return f"{self.section} {self.status}"


class SnapshotScore(models.Model):
    """关账时的股室得分（冻结）；申诉采纳后按冲回后的台账重算 adjusted_total。"""

    close = models.ForeignKey(
        QuarterClose, on_delete=models.CASCADE, related_name="scores", verbose_name="关账"
    )
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="+", verbose_name="股室")
    total = models.DecimalField("总分", max_digits=8, decimal_places=2)
    adjusted_total = models.DecimalField("申诉调整后总分", max_digits=8, decimal_places=2)
    grade = models.CharField("等次", max_length=16)
    rank = models.PositiveIntegerField("名次", default=0)
    vetoed = models.BooleanField("被否决", default=False)
    indicator_scores = models.JSONField("指标得分", default=dict)

    class Meta:
        verbose_name = "快照：得分"
        verbose_name_plural = "快照：得分"
        ordering = ["close", "rank"]
        constraints = [models.UniqueConstraint(fields=["close", "section"], name="snapshotscore_unique")]

    def __str__(self) -> str:
        return f"{self.section} {self.total}"


class SnapshotLedgerLine(models.Model):
    """关账时的台账明细（冻结）。申诉采纳时追加一条冲回行（reverses 指向被冲回的行），原行不改。"""

    close = models.ForeignKey(
        QuarterClose, on_delete=models.CASCADE, related_name="lines", verbose_name="关账"
    )
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="+", verbose_name="股室")
    indicator_code = models.CharField("指标", max_length=32, blank=True)
    rule_code = models.CharField("规则", max_length=32, blank=True)
    period = models.CharField("期间", max_length=16)
    points = models.DecimalField("分值", **POINTS)
    reason = models.TextField("理由")
    facts = models.JSONField("依据", default=dict)
    ruleset_label = models.CharField("细则版本", max_length=80)
    position = models.PositiveIntegerField("顺序", default=0)
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals", verbose_name="冲回"
    )

    class Meta:
        verbose_name = "快照：台账明细"
        verbose_name_plural = "快照：台账明细"
        ordering = ["close", "section", "position"]

    def __str__(self) -> str:
        return f"{self.section} {self.points:+} {self.reason[:30]}"


class AppealStatus(models.TextChoices):
    PENDING = "pending", "待处理"
    ACCEPTED = "accepted", "已采纳"
    REJECTED = "rejected", "未采纳"


class Appeal(models.Model):
    """申诉：股室在申诉期内对某条台账提出异议（理由与材料）；办公室采纳（冲回该行）或驳回。"""

    close = models.ForeignKey(
        QuarterClose, on_delete=models.CASCADE, related_name="appeals", verbose_name="关账"
    )
    line = models.ForeignKey(
        SnapshotLedgerLine, on_delete=models.PROTECT, related_name="appeals", verbose_name="台账行"
    )
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="+", verbose_name="股室")
    reason = models.TextField("申诉理由")
    evidence = models.FileField("申诉材料", upload_to="appeals/%Y/", blank=True)
    evidence_name = models.CharField("材料文件名", max_length=255, blank=True)
    status = models.CharField(
        "状态", max_length=16, choices=AppealStatus.choices, default=AppealStatus.PENDING
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="申诉人",
    )
    submitted_at = models.DateTimeField("申诉时间", auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="处理人",
    )
    decided_at = models.DateTimeField("处理时间", null=True, blank=True)
    decision_reason = models.TextField("处理意见", blank=True)
    reversal = models.OneToOneField(
        SnapshotLedgerLine,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="冲回行",
    )

    class Meta:
        verbose_name = "申诉"
        verbose_name_plural = "申诉"
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"{self.section} 申诉 {self.get_status_display()}"


class AnnualReport(models.Model):
    """政府信息公开工作年度报告（国办公开办函〔2021〕30号格式）：办公室填写的部分。

    表三、表四由依申请公开登记簿计算（scoring/annual_report.py），不存库；系统没有来源的表二数字
    （规章、行政规范性文件件数，行政许可、处罚、强制决定数，行政事业性收费金额）存在 disclosure 中；
    一、五、六部分的文字由数据预填、办公室修改后保存。published_on 填写后不再提醒（条例第四十九条：1月31日前公布）。
    """

    year = models.PositiveIntegerField("年度", unique=True)
    disclosure = models.JSONField("主动公开情况（表二）", default=dict, blank=True)
    overview = models.TextField("一、总体情况", blank=True)
    problems = models.TextField("五、存在的主要问题及改进情况", blank=True)
    other_matters = models.TextField("六、其他需要报告的事项", blank=True)
    published_on = models.DateField("公布日期", null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="登记公布人",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="修改人",
    )
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    class Meta:
        verbose_name = "政府信息公开工作年度报告"
        verbose_name_plural = "政府信息公开工作年度报告"
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}年政府信息公开工作年度报告"
