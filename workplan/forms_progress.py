"""表单：季度进展报送、佐证材料（文件或链接）、办公室审核、审核队列筛选。

规则由 workplan/reporting.py 的服务判断；表单只做类型转换和必填项。
"""

from __future__ import annotations

from typing import Any

from django import forms

from workplan.models import Evidence, ReportStatus, Section
from workplan.reporting import DECISIONS

QUARTER_CHOICES: list[tuple[int, str]] = [(1, "第一季度"), (2, "第二季度"), (3, "第三季度"), (4, "第四季度")]
QUARTER_FILTER_CHOICES: list[tuple[int | str, str]] = [("", "全部"), *QUARTER_CHOICES]


class ReportForm(forms.Form):
    """某季度的进展：状态、进展情况、无法完成的原因。version 是打开时的版本（乐观锁）。"""

    year = forms.IntegerField(widget=forms.HiddenInput)
    quarter = forms.TypedChoiceField(choices=QUARTER_CHOICES, coerce=int, widget=forms.HiddenInput)
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    status = forms.ChoiceField(label="进展状态", choices=ReportStatus.choices, widget=forms.RadioSelect)
    narrative = forms.CharField(
        label="进展情况",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
        help_text="本季度做了什么、公开了哪些信息、下一步安排。",
    )
    reason = forms.CharField(
        label="无法完成的原因",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="进展状态选“无法完成”时必填。",
    )


class EvidenceForm(forms.Form):
    """佐证材料：上传文件，或填写已公开信息的链接及其发布日期。"""

    kind = forms.ChoiceField(
        label="类型", choices=Evidence.Kind.choices, initial=Evidence.Kind.FILE, widget=forms.RadioSelect
    )
    file = forms.FileField(label="文件", required=False, help_text="pdf、docx、xlsx、jpg、png")
    # A CharField, not URLField: URLField also accepts ftp://; the scheme rule lives in uploads.check_link.
    url = forms.CharField(label="链接", required=False, max_length=1000)
    published_on = forms.DateField(
        label="发布日期", required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    note = forms.CharField(label="说明", required=False, max_length=255)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == Evidence.Kind.FILE and not data.get("file"):
            self.add_error("file", "请选择要上传的文件")
        if data.get("kind") == Evidence.Kind.LINK and not (data.get("url") or "").strip():
            self.add_error("url", "请填写链接网址")
        return data


class ReviewForm(forms.Form):
    """办公室审核：通过或退回修改（退回必须写意见）。version 是打开时的版本。"""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    decision = forms.ChoiceField(label="审核结果", choices=list(DECISIONS.items()), widget=forms.RadioSelect)
    comment = forms.CharField(
        label="审核意见",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="退回修改时必填。",
    )


class ReviewQueueFilterForm(forms.Form):
    """审核队列的筛选：年度、季度、股室。"""

    year = forms.IntegerField(label="年度", required=False, min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        label="季度", choices=QUARTER_FILTER_CHOICES, coerce=int, required=False, empty_value=None
    )
    section = forms.ModelChoiceField(
        label="股室", queryset=Section.objects.filter(is_active=True), required=False, empty_label="全部"
    )
