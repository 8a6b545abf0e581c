"""表单：任务分工编辑。"""

from __future__ import annotations

from django import forms

from workplan.fields import ModelMultipleIdChoiceField
from workplan.models import Section


class AssignmentForm(forms.Form):
    """办公室为任务指定牵头股室（可多个）与责任股室。"""

    leads = ModelMultipleIdChoiceField(
        label="牵头股室",
        queryset=Section.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    responsibles = ModelMultipleIdChoiceField(
        label="责任股室",
        queryset=Section.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if not data.get("leads"):
            raise forms.ValidationError("至少指定一个牵头股室")
        return data
