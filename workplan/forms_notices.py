"""表单：通报批评（起草、修改、登记上级通报）及被通报股室、整改答复与核验、约谈记录、列表筛选。

规则由 workplan/notices.py 的服务判断；表单只做类型转换和必填项，从不保存模型。
"""

from __future__ import annotations

from typing import Any

from django import forms

from workplan.fields import ModelMultipleIdChoiceField
from workplan.models import (
    CriticismNotice,
    Interview,
    IssuerLevel,
    NoticeStatus,
    RectificationStatus,
    Section,
)
from workplan.notices import NOTICE_FIELDS, RECEIVED_LEVELS, VERIFY_DECISIONS, UnitEntry

QUARTER_CHOICES = [("", "—"), (1, "第一季度"), (2, "第二季度"), (3, "第三季度"), (4, "第四季度")]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT = {"rows": 4, "cols": 80}


def _sections() -> Any:
    return Section.objects.filter(is_active=True)


class NoticeForm(forms.ModelForm):
    """局内通报的各部分（主送 → 开头 → 一、总体情况 → 二、存在问题 → 三、处理意见 → 四、整改要求 → 抄送）。
    version 是打开时的版本（乐观锁）。"""

    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    quarter = forms.TypedChoiceField(
        label="季度", choices=QUARTER_CHOICES, coerce=int, required=False, empty_value=None
    )

    class Meta:
        model = CriticismNotice
        fields = list(NOTICE_FIELDS)
        widgets = {
            "opening": forms.Textarea(attrs=TEXT),
            "overview": forms.Textarea(attrs=TEXT),
            "problems": forms.Textarea(attrs=TEXT),
            "handling_opinion": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "requirements": forms.Textarea(attrs=TEXT),
            "rectification_deadline": DATE,
        }

    def notice_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in NOTICE_FIELDS}


class ReceivedNoticeForm(forms.ModelForm):
    """登记收到的上级通报：发文级别与机关、文号、收到日期、内容要点、整改期限。"""

    issuer_level = forms.ChoiceField(
        label="通报级别", choices=[(v, IssuerLevel(v).label) for v in RECEIVED_LEVELS]
    )
    quarter = forms.TypedChoiceField(
        label="季度", choices=QUARTER_CHOICES, coerce=int, required=False, empty_value=None
    )
    year = forms.IntegerField(label="年度", required=False, min_value=2000, max_value=2100)

    class Meta:
        model = CriticismNotice
        fields = [
            "issuer_level",
            "issuer_name",
            "doc_number",
            "title",
            "received_on",
            "year",
            "quarter",
            "period_label",
            "problems",
            "handling_opinion",
            "requirements",
            "rectification_deadline",
        ]
        widgets = {
            "problems": forms.Textarea(attrs=TEXT),
            "handling_opinion": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "requirements": forms.Textarea(attrs=TEXT),
            "received_on": DATE,
            "rectification_deadline": DATE,
        }
        help_texts = {"rectification_deadline": "填写后为每个被点名的股室开一项整改事项"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["doc_number"].required = True
        self.fields["received_on"].required = True

    def notice_fields(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class UnitForm(forms.Form):
    """被通报的一个股室及其问题（股室留空的行忽略）。"""

    section = forms.ModelChoiceField(label="股室", queryset=Section.objects.none(), required=False)
    problems = forms.CharField(
        label="问题", required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 70})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = _sections()


class BaseUnitFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[int] = set()
        for form in self.forms:
            section = form.cleaned_data.get("section")
            if section is None:
                continue
            if section.pk in seen:
                raise forms.ValidationError(f"{section.name}列了两次，同一股室只能列一次")
            seen.add(section.pk)

    def units(self) -> list[UnitEntry]:
        return [
            UnitEntry(form.cleaned_data["section"], form.cleaned_data.get("problems", ""))
            for form in self.forms
            if form.cleaned_data.get("section") is not None
        ]


UnitFormSet = forms.formset_factory(UnitForm, formset=BaseUnitFormSet, extra=3, max_num=60, validate_max=True)


def unit_initial(units: list[UnitEntry]) -> list[dict[str, Any]]:
    return [{"section": u.section, "problems": u.problems} for u in units]


class NoticeActionForm(forms.Form):
    """印发、作废：带上打开时的版本。"""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(label="作废原因", required=False, max_length=255)


class AnswerForm(forms.Form):
    """股室答复整改情况：整改情况 + 整改材料（文件或链接）。"""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    response = forms.CharField(label="整改情况", widget=forms.Textarea(attrs={"rows": 6, "cols": 80}))
    file = forms.FileField(label="整改材料", required=False, help_text="pdf、docx、xlsx、jpg、png")
    # A CharField: URLField would accept ftp://; the scheme rule lives in workplan.notices.
    link = forms.CharField(label="材料链接", required=False, max_length=1000)


class VerifyForm(forms.Form):
    """办公室核验：销号或退回（退回必须写意见）。"""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        label="核验结果", choices=list(VERIFY_DECISIONS.items()), widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label="核验意见",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="退回时必填。",
    )


class InterviewForm(forms.ModelForm):
    """约谈记录：日期、被约谈股室、约谈人、参加人员、事由、议定事项、相关通报。"""

    sections = ModelMultipleIdChoiceField(
        label="被约谈股室", queryset=Section.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Interview
        fields = ["held_on", "sections", "interviewer", "participants", "subject", "agreed", "notice"]
        widgets = {"held_on": DATE, "agreed": forms.Textarea(attrs=TEXT)}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sections"].queryset = _sections()
        self.fields["notice"].queryset = CriticismNotice.objects.filter(status=NoticeStatus.ISSUED)


class FollowUpForm(forms.Form):
    """约谈的后续整改事项。"""

    section = forms.ModelChoiceField(label="责任股室", queryset=Section.objects.none())
    description = forms.CharField(label="整改内容", widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))
    deadline = forms.DateField(label="整改期限", widget=DATE)

    def __init__(self, *args: Any, interview: Interview, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = interview.sections.all()


class NoticeFilterForm(forms.Form):
    year = forms.IntegerField(label="年度", required=False, min_value=2000, max_value=2100)
    status = forms.ChoiceField(label="状态", choices=[("", "全部"), *NoticeStatus.choices], required=False)
    level = forms.ChoiceField(label="级别", choices=[("", "全部"), *IssuerLevel.choices], required=False)


class RectificationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="状态", choices=[("", "全部"), *RectificationStatus.choices], required=False
    )
    section = forms.ModelChoiceField(
        label="股室", queryset=Section.objects.none(), required=False, empty_label="全部"
    )
    overdue = forms.ChoiceField(
        label="已逾期", choices=[("", "全部"), ("yes", "是"), ("no", "否")], required=False
    )

    def __init__(self, *args: Any, sees_all: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sees_all:
            self.fields["section"].queryset = _sections()
        else:
            del self.fields["section"]
