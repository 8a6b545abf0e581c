"""密码策略（等保二级“身份鉴别”）：复杂度（长度、字符类别）、不得沿用原密码、最长使用期限与修改密码服务。"""

from __future__ import annotations

import datetime
import string
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from workplan.audit import audit_record
from workplan.models import User

CHARACTER_CLASSES: tuple[tuple[str, str], ...] = (
    ("大写字母", string.ascii_uppercase),
    ("小写字母", string.ascii_lowercase),
    ("数字", string.digits),
)


def character_classes(password: str) -> int:
    """密码包含几类字符：大写字母、小写字母、数字、符号（其余一切字符，含中文与空格）。"""
    found = {name for ch in password for name, chars in CHARACTER_CLASSES if ch in chars}
    has_symbol = any(not any(ch in chars for _name, chars in CHARACTER_CLASSES) for ch in password)
    return len(found) + int(has_symbol)


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """密码至少 min_length 个字符（缺省 8）。Django 5.2 这条提示没有中文翻译，这里给出中文。"""

    def get_error_message(self) -> str:
        return f"密码太短，至少需要 {self.min_length} 个字符。"

    def get_help_text(self) -> str:
        return f"密码至少需要 {self.min_length} 个字符。"


class CharacterClassValidator:
    """密码须包含大写字母、小写字母、数字、符号四类中的至少 min_classes 类（缺省 3 类）。"""

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user: User | None = None) -> None:
        if character_classes(password) < self.min_classes:
            raise ValidationError(self._message(), code="password_too_simple")

    def get_help_text(self) -> str:
        return self._message()

    def _message(self) -> str:
        return f"密码须包含大写字母、小写字母、数字、符号中的至少 {self.min_classes} 类。"


class NotCurrentPasswordValidator:
    """新密码不得与当前密码相同（修改密码、管理员重置密码时）。"""

    def validate(self, password: str, user: User | None = None) -> None:
        current = getattr(user, "password", "") or ""
        # hashers.check_password, not user.check_password: the latter may re-hash and save the user.
        if current and check_password(password, current):
            raise ValidationError("新密码不能与当前密码相同。", code="password_unchanged")

    def get_help_text(self) -> str:
        return "新密码不能与当前密码相同。"


def password_max_age() -> datetime.timedelta | None:
    """密码最长使用期限（PASSWORD_MAX_AGE_DAYS，缺省 90 天；0 表示不限）。"""
    days = int(getattr(settings, "PASSWORD_MAX_AGE_DAYS", 90))
    return datetime.timedelta(days=days) if days > 0 else None


def password_expired(user: User, *, now: datetime.datetime | None = None) -> bool:
    """须先修改密码才能继续使用：初始密码（从未自行设定，password_changed_at 为空），或已超过最长使用期限。"""
    changed_at = user.password_changed_at
    if changed_at is None:
        return True
    max_age = password_max_age()
    if max_age is None:
        return False
    return (now or timezone.now()) - changed_at > max_age


@transaction.atomic
def password_change(*, user: User, password: str, request: HttpRequest | None = None) -> User:
    """用户本人修改密码：设定新密码并记下修改时间（重新开始计算使用期限），写审计日志。
    调用方负责先校验（表单的 AUTH_PASSWORD_VALIDATORS）。"""
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    audit_record(action="auth.password_change", user=user, obj=user, request=request)
    return user


@transaction.atomic
def password_reset_by_admin(*, user: User, by: User, request: HttpRequest | None = None) -> User:
    """管理员在管理后台为他人设定了新密码（表单已保存密码）：该密码视为初始密码，password_changed_at 清空，
    该用户下次登录须自行修改；管理员给自己设定等同本人修改。写审计日志。"""
    user.password_changed_at = timezone.now() if user.pk == by.pk else None
    user.save(update_fields=["password_changed_at"])
    audit_record(action="auth.password_reset", user=by, obj=user, request=request)
    return user


@transaction.atomic
def password_change_required(*, users: Iterable[User], by: User, request: HttpRequest | None = None) -> int:
    """安全管理员要求这些账号下次登录时修改密码（清空 password_changed_at），每个账号一条审计记录。"""
    count = 0
    for user in users:
        if user.password_changed_at is None:
            continue
        old = user.password_changed_at.isoformat()
        user.password_changed_at = None
        user.save(update_fields=["password_changed_at"])
        audit_record(
            action="auth.password_change_required", user=by, obj=user, old=old, new=None, request=request
        )
        count += 1
    return count
