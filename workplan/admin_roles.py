"""三种管理员角色（等保二级“三权分立”）：系统管理员、安全管理员、审计管理员，各为一个用户组，权限互不重叠。

- 系统管理员：建立与维护账号（用户名、姓名、邮箱、所属股室、重设密码），维护股室、别名、集合称谓、
  办公室设置与节假日调整；不能分配角色或管理员角色，不能停用账号，不能看审计日志。
- 安全管理员：授权与账号安全——修改用户的角色、管理员角色（用户组）、能否进入管理后台、启用/停用账号、
  要求下次登录修改密码；查看登录失败与锁定记录并解锁（删除失败记录）；不能建账号、改资料或重设密码。
- 审计管理员：只读审计日志（管理后台“审计日志”与 /audit/ 页面，含导出）；别的什么都不能做。

同一账号只能担任其中一种；三种角色都不是超级用户。
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest

from workplan.audit import audit_record
from workplan.models import Role, User


@dataclass(frozen=True)
class AdminRole:
    key: str
    name: str
    permissions: tuple[str, ...]  # "app_label.codename"


def _crud(model: str, *actions: str) -> tuple[str, ...]:
    return tuple(f"workplan.{action}_{model}" for action in actions)


ALL = ("add", "change", "delete", "view")

SYSTEM = AdminRole(
    "system",
    "系统管理员",
    (
        *_crud("user", "add", "change", "view"),
        *_crud("section", *ALL),
        *_crud("sectionalias", *ALL),
        *_crud("sectiongroup", *ALL),
        *_crud("officesettings", "add", "change", "view"),
        *_crud("holidayoverride", *ALL),
    ),
)
SECURITY = AdminRole(
    "security",
    "安全管理员",
    (
        "workplan.manage_account_security",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
        "axes.view_accessfailurelog",
    ),
)
AUDIT = AdminRole("audit", "审计管理员", ("workplan.view_auditentry",))

ADMIN_ROLES: dict[str, AdminRole] = {r.key: r for r in (SYSTEM, SECURITY, AUDIT)}
ADMIN_ROLE_NAMES = frozenset(r.name for r in ADMIN_ROLES.values())


class AdminRoleRefused(Exception):
    """不能这样分配管理员角色（例如同一账号兼任两种）。"""


def _permissions(names: tuple[str, ...]) -> list[Permission]:
    query = Q()
    for name in names:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query).select_related("content_type"))
    missing = set(names) - {f"{p.content_type.app_label}.{p.codename}" for p in found}
    if missing:
        raise LookupError(f"权限不存在（先运行 migrate）：{', '.join(sorted(missing))}")
    return found


@transaction.atomic
def admin_roles_sync() -> dict[str, Group]:
    """建立（或校正）三个管理员用户组：每组的权限恰为上面列出的那些，多出的权限一并去掉。可重复运行。"""
    groups = {}
    for role in ADMIN_ROLES.values():
        group, _ = Group.objects.get_or_create(name=role.name)
        group.permissions.set(_permissions(role.permissions))
        groups[role.key] = group
    return groups


def admin_roles_held(group_names: Any) -> set[str]:
    """一组用户组名中属于管理员角色的那些。"""
    return {name for name in group_names if name in ADMIN_ROLE_NAMES}


def account_access(user: User) -> dict[str, Any]:
    """账号的授权状态（审计日志里“原值 → 新值”的内容）。"""
    return {
        "role": user.role,
        "section": user.section.name if user.section_id else None,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "is_staff": user.is_staff,
        "is_active": user.is_active,
        "is_superuser": user.is_superuser,
    }


@transaction.atomic
def admin_role_grant(
    *, user: User, key: str, by: User | None = None, request: HttpRequest | None = None, via: str = ""
) -> User:
    """让一个账号担任一种管理员角色：加入该用户组并允许进入管理后台。已担任另一种管理员角色的账号拒绝
    （三权分立）；超级用户拒绝（管理员角色不应由超级用户担任）。写审计日志。"""
    role = ADMIN_ROLES[key]
    if user.is_superuser:
        raise AdminRoleRefused(f"{user.get_username()} 是超级用户，不能再担任{role.name}")
    others = admin_roles_held(user.groups.values_list("name", flat=True)) - {role.name}
    if others:
        raise AdminRoleRefused(
            f"{user.get_username()} 已担任{'、'.join(sorted(others))}，不能兼任{role.name}"
        )
    before = account_access(user)
    group = admin_roles_sync()[key]
    user.groups.add(group)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    after = account_access(user)
    if after != before:
        audit_record(
            action="user.role_change", user=by, username=via, obj=user, old=before, new=after, request=request
        )
    return user


def initial_password(length: int = 14) -> str:
    """随机初始密码：满足 AUTH_PASSWORD_VALIDATORS（长度、四类字符）。"""
    alphabet = string.ascii_letters + string.digits + "-_.!@#%+="
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        try:
            validate_password(password)
        except ValidationError:
            continue
        if all(
            any(ch in chars for ch in password)
            for chars in (string.ascii_uppercase, string.digits, "-_.!@#%+=")
        ):
            return password


@transaction.atomic
def admin_account_create(*, username: str, via: str) -> tuple[User, str]:
    """首次部署时在服务器上建立管理员账号（尚无人能在后台建账号）：只读角色、不属于股室、随机初始密码
    （返回给调用方显示一次），首次登录须修改。写审计日志。"""
    password = initial_password()
    user = User.objects.create_user(
        username=username, password=password, role=Role.READONLY, password_changed_at=None
    )
    audit_record(action="user.create", username=via, obj=user, new=account_access(user))
    return user, password
