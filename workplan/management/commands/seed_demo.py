"""演示数据：股室与集合称谓、樟树市统计局 2023 年政务公开工作要点、每个角色一个演示账号、三种管理员各一个
演示账号（可重复运行；没有超级用户）。"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from workplan.admin_roles import ADMIN_ROLES, admin_role_grant, admin_roles_sync
from workplan.importing import plan_import_from_bytes
from workplan.models import Role, Section, User
from workplan.seed import sections_seed

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
SAMPLE_PLAN = FIXTURES / "zhangshu-tjj-2023-workplan.txt"
DEMO_PASSWORD = "Zwgk-demo-2023"

# username, display name, role, section name
DEMO_USERS = [
    ("office", "王主任", Role.OFFICE, "办公室"),
    ("director", "李局长", Role.DIRECTOR, None),
    ("zonghe", "张股长", Role.SECTION, "综合股"),
    ("fagui", "刘股长", Role.SECTION, "法规股"),
    ("pucha", "陈主任", Role.SECTION, "普查中心"),
    ("viewer", "赵科员", Role.READONLY, "综合股"),
]
# 三种管理员（三权分立，见 workplan/admin_roles.py）：username, display name, admin role key
DEMO_ADMINS = [
    ("sysadmin", "周系统", "system"),
    ("secadmin", "吴安全", "security"),
    ("auditor", "孙审计", "audit"),
]


class Command(BaseCommand):
    help = "建立演示数据：股室、樟树 2023 年工作要点、演示账号（已存在的不重复建立）"

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            created = sections_seed(FIXTURES / "sections.json")
            admin_roles_sync()
            users = self._users() + self._admins()
        self.stdout.write(
            f"股室：新增 {created['sections']} 个，别名 {created['aliases']} 个，集合称谓 {created['groups']} 个"
        )
        office = User.objects.get(username="office")
        plan, _ = plan_import_from_bytes(
            name=SAMPLE_PLAN.name, data=SAMPLE_PLAN.read_bytes(), year=2023, user=office, unknown="create"
        )
        if plan is not None:
            count = plan.tasks.filter(is_heading=False).count()
            self.stdout.write(f"工作计划：《{plan.title}》（{plan.year}年，{count} 项任务）")
        self.stdout.write("")
        self.stdout.write("演示账号（登录 http://127.0.0.1:8000/ ）：")
        for username, label, role, made in users:
            pw = DEMO_PASSWORD if made else "（已存在，密码未改动）"
            self.stdout.write(f"  {role:<6} {label:<14} 用户名 {username:<10} 密码 {pw}")

    def _users(self) -> list[tuple[str, str, str, bool]]:
        sections = {s.name: s for s in Section.objects.all()}
        out = []
        for username, label, role, section_name in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            made = user is None
            if made:
                user = User(
                    username=username,
                    last_name=label,
                    role=role,
                    section=sections.get(section_name) if section_name else None,
                    is_staff=role == Role.OFFICE,
                )
                user.set_password(DEMO_PASSWORD)
                user.password_changed_at = timezone.now()  # demo accounts are not made to change it at once
                user.save()
                if role == Role.OFFICE:
                    self._grant_office_admin(user)
            out.append((username, label, Role(role).label, made))
        return out

    def _admins(self) -> list[tuple[str, str, str, bool]]:
        out = []
        for username, label, key in DEMO_ADMINS:
            user = User.objects.filter(username=username).first()
            made = user is None
            if user is None:
                user = User(
                    username=username, last_name=label, role=Role.READONLY, password_changed_at=timezone.now()
                )
                user.set_password(DEMO_PASSWORD)
                user.save()
            admin_role_grant(user=user, key=key, via="manage.py seed_demo")
            out.append((username, label, ADMIN_ROLES[key].name, made))
        return out

    @staticmethod
    def _grant_office_admin(user: User) -> None:
        """办公室账号可在管理后台维护股室、计划与任务（含表格导入导出），但不是超级用户。"""
        from django.contrib.auth.models import Permission

        perms = Permission.objects.filter(
            content_type__app_label="workplan",
            content_type__model__in=[
                "section",
                "sectionalias",
                "sectiongroup",
                "workplan",
                "task",
                "taskassignment",
                "planimport",
            ],
        )
        user.user_permissions.add(*perms)
