"""表单字段：按编号（主键）多选股室等对象。提交来的编号不是 1 … 2**63-1 的整数时作“选择的项目不存在”处理。

Django 的 ModelMultipleChoiceField 用 `pk__in` 查库，而 `__in` 不像 exact/gt/lt 那样防整数溢出
（ticket #27397 只改了后者）：SQLite 上 2**63 这样的编号会抛 OverflowError，成了 500。
ModelChoiceField 用 exact 查询，Django 已防护，不需要这个字段。
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

MAX_ID = 2**63 - 1
_MAX_DIGITS = len(str(MAX_ID))


def is_id(value: Any) -> bool:
    """value 能否是一个数据库编号：1 … 2**63-1 的整数，或它的十进制写法（仅 ASCII 数字，可带首尾空白）。"""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 1 <= value <= MAX_ID
    if not isinstance(value, str):
        return False
    text = value.strip()
    # The length check comes first: int() refuses strings of more than 4300 digits with a ValueError.
    return 0 < len(text) <= _MAX_DIGITS and text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID


class ModelMultipleIdChoiceField(forms.ModelMultipleChoiceField):
    """按整数主键多选（to_field_name 留空）。任何一个编号不在 1 … 2**63-1 内就整体拒绝，不查数据库。"""

    default_error_messages = {"invalid_id": "选择的项目不存在"}

    def clean(self, value: Any) -> Any:
        if isinstance(value, list | tuple) and not all(is_id(v) for v in self.prepare_value(value)):
            raise ValidationError(self.error_messages["invalid_id"], code="invalid_id")
        return super().clean(value)
