"""建立三个管理员用户组（系统管理员、安全管理员、审计管理员），并可指定由哪个账号担任（可重复运行）。"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workplan.admin_roles import (
    ADMIN_ROLES,
    AdminRoleRefused,
    admin_account_create,
    admin_role_grant,
    admin_roles_sync,
)
from workplan.models import User

VIA = "manage.py create_admin_roles"


class Command(BaseCommand):
    help = (
        "建立或校正三个管理员用户组（权限互不重叠）。"
        "--assign 用户名=system|security|audit 让该账号担任系统/安全/审计管理员（可写多次）。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--assign",
            action="append",
            default=[],
            metavar="用户名=角色",
            help="角色：system（系统管理员）、security（安全管理员）、audit（审计管理员）",
        )
        parser.add_argument(
            "--create",
            action="store_true",
            help="--assign 的账号不存在时新建：随机初始密码只显示这一次，首次登录须修改",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        assignments = [self._parse(value) for value in options["assign"]]
        groups = admin_roles_sync()
        for key, group in groups.items():
            self.stdout.write(f"{ADMIN_ROLES[key].name}：{group.permissions.count()} 项权限")
        for username, key in assignments:
            user = User.objects.filter(username=username).first()
            if user is None and not options["create"]:
                raise CommandError(f"用户不存在：{username}（加 --create 新建）")
            if user is None:
                user, password = admin_account_create(username=username, via=VIA)
                self.stdout.write(f"新建账号 {username}，初始密码 {password}（只显示这一次，首次登录须修改）")
            try:
                admin_role_grant(user=user, key=key, via=VIA)
            except AdminRoleRefused as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"{username} 担任{ADMIN_ROLES[key].name}")

    @staticmethod
    def _parse(value: str) -> tuple[str, str]:
        username, sep, key = value.partition("=")
        if not sep or not username or key not in ADMIN_ROLES:
            raise CommandError(f"--assign 的格式是 用户名=system|security|audit：{value}")
        return username, key
