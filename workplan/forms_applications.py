"""表单：依申请公开登记（登记 / 修改申请、补正、征求意见、延期、答复、行政复议 / 诉讼、登记簿筛选）。

规则由 workplan/applications.py 的服务判断；表单只做类型转换和必填项，从不保存模型。
"""

from __future__ import annotations

from typing import Any

from django import forms

from workplan.application_clock import STATUS_LABELS
from workplan.applications import APPLICATION_FIELDS
from workplan.models import (
    AppealKind,
    AppealResult,
    Application,
    ApplicationAppeal,
    ApplicationResult,
    Section,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _active_sections() -> Any:
    return Section.objects.filter(is_active=True)


class ApplicationForm(forms.ModelForm):
    """登记或修改一件申请。收到申请之日由提交方式与日期推出（见 applications.receipt_date）。"""

    class Meta:
        model = Application
        fields = list(APPLICATION_FIELDS)
        widgets = {
            "submitted_on": DATE,
            "acknowledged_on": DATE,
            "content": forms.Textarea(attrs={"rows": 4, "cols": 80}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = _active_sections()

    def application_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in APPLICATION_FIELDS}


class CorrectionSendForm(forms.Form):
    action = forms.CharField(widget=forms.HiddenInput, initial="send")
    sent_on = forms.DateField(label="告知补正日期", widget=DATE)
    note = forms.CharField(label="需补正的内容", max_length=255, required=False)


class CorrectionReturnForm(forms.Form):
    action = forms.CharField(widget=forms.HiddenInput, initial="return")
    returned_on = forms.DateField(label="收到补正日期", widget=DATE)


class ConsultationStartForm(forms.Form):
    action = forms.CharField(widget=forms.HiddenInput, initial="start")
    party = forms.CharField(
        label="征求意见对象", max_length=128, help_text="如 第三方企业、某某局；不写个人姓名"
    )
    started_on = forms.DateField(label="发出日期", widget=DATE)


class ConsultationEndForm(forms.Form):
    action = forms.CharField(widget=forms.HiddenInput, initial="end")
    consultation = forms.IntegerField(required=False, widget=forms.HiddenInput)
    ended_on = forms.DateField(label="收到意见（或期满）日期", widget=DATE)


class ExtensionForm(forms.Form):
    approved_by = forms.CharField(label="批准人", max_length=64, help_text="政府信息公开工作机构负责人")
    approved_on = forms.DateField(label="批准日期", widget=DATE)
    reason = forms.CharField(label="延期理由", max_length=255)


class ReplyForm(forms.Form):
    replied_on = forms.DateField(label="答复（办结）日期", widget=DATE)
    result = forms.ChoiceField(label="办理结果", choices=[("", "—"), *ApplicationResult.choices])
    note = forms.CharField(
        label="答复说明", required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60})
    )


class AppealForm(forms.Form):
    """因该申请引起的行政复议或行政诉讼（不绑定模型实例：服务比对修改前后的值写审计日志）。"""

    kind = forms.ChoiceField(label="类型", choices=AppealKind.choices)
    filed_on = forms.DateField(label="申请复议 / 起诉日期", widget=DATE)
    result = forms.ChoiceField(label="结果", choices=AppealResult.choices, initial=AppealResult.PENDING)
    decided_on = forms.DateField(
        label="决定 / 判决日期", required=False, widget=DATE, help_text="尚未审结的不填"
    )
    note = forms.CharField(label="说明", max_length=255, required=False)

    @classmethod
    def initial_for(cls, appeal: ApplicationAppeal) -> dict[str, Any]:
        return {name: getattr(appeal, name) for name in cls.base_fields}

    def appeal_fields(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


YES_NO = [("", "全部"), ("yes", "是"), ("no", "否")]


class ApplicationFilterForm(forms.Form):
    """登记簿筛选：年度（本年新收 + 上年结转）、状态、承办股室、是否逾期、办理结果。"""

    year = forms.IntegerField(label="年度", required=False, min_value=2000, max_value=2100)
    status = forms.ChoiceField(label="状态", required=False, choices=[("", "全部"), *STATUS_LABELS.items()])
    section = forms.ModelChoiceField(label="承办股室", required=False, queryset=Section.objects.none())
    overdue = forms.ChoiceField(label="逾期", required=False, choices=YES_NO)
    result = forms.ChoiceField(
        label="办理结果", required=False, choices=[("", "全部"), *ApplicationResult.choices]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = Section.objects.all()

    def overdue_value(self) -> bool | None:
        value = self.cleaned_data.get("overdue") if self.is_valid() else ""
        return {"yes": True, "no": False}.get(value or "")
