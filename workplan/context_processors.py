"""按角色生成导航菜单。"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from workplan.models import Role

# (label, url name, roles that see it)
NAV_ITEMS: list[tuple[str, str, tuple[str, ...]]] = [
    ("首页", "home", (Role.OFFICE, Role.DIRECTOR, Role.SECTION, Role.READONLY)),
    ("工作计划", "plan_list", (Role.OFFICE, Role.DIRECTOR, Role.SECTION, Role.READONLY)),
    ("任务清单", "task_list", (Role.OFFICE, Role.DIRECTOR, Role.SECTION, Role.READONLY)),
    ("我的任务", "my_tasks", (Role.SECTION, Role.READONLY)),
    ("进展报送", "report_list", (Role.OFFICE, Role.DIRECTOR, Role.SECTION, Role.READONLY)),
    ("佐证材料", "evidence_list", (Role.OFFICE, Role.DIRECTOR, Role.SECTION, Role.READONLY)),
    ("通知", "notifications", (Role.OFFICE, Role.DIRECTOR, Role.SECTION, Role.READONLY)),
    ("我的后台任务", "file_job_list", (Role.OFFICE, Role.DIRECTOR, Role.SECTION, Role.READONLY)),
    ("缺报清单", "missing_reports", (Role.OFFICE, Role.DIRECTOR)),
    ("审核报送", "review_queue", (Role.OFFICE,)),
    ("导入计划", "plan_import_upload", (Role.OFFICE,)),
    ("导入记录", "plan_import_list", (Role.OFFICE,)),
    ("股室设置", "section_list", (Role.OFFICE,)),
    ("审计日志", "audit_list", ()),  # 审计管理员：按权限显示，见 _can_read_audit_log
    ("考核评分", "score_overview", (Role.OFFICE, Role.DIRECTOR, Role.SECTION)),
    ("通报整改", "notice_list", (Role.OFFICE, Role.DIRECTOR, Role.SECTION, Role.READONLY)),
    ("信息发布", "publication_list", (Role.OFFICE, Role.DIRECTOR, Role.SECTION, Role.READONLY)),
    ("约谈记录", "interview_list", (Role.OFFICE, Role.DIRECTOR)),
    ("依申请公开", "application_list", (Role.OFFICE, Role.DIRECTOR, Role.SECTION, Role.READONLY)),
    ("季度看板", "quarter_dashboard", (Role.OFFICE, Role.DIRECTOR)),
    ("季度报告", "report_quarterly", (Role.OFFICE, Role.DIRECTOR)),
    ("年度报告", "annual_report", (Role.OFFICE, Role.DIRECTOR)),
    ("季度关账", "close_list", (Role.OFFICE, Role.DIRECTOR, Role.SECTION, Role.READONLY)),
    ("绩效考核导出", "appraisal_export", (Role.OFFICE, Role.DIRECTOR)),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for label, name, roles in NAV_ITEMS:
        if user.role in roles or user.is_superuser or (name == "audit_list" and _can_read_audit_log(user)):
            items.append({"label": label, "url": reverse(name), "active": request.resolver_match
                          and request.resolver_match.url_name == name})
    return {"nav_items": items, "unread_notifications": _lazy_unread_count(request)}


def _can_read_audit_log(user: Any) -> bool:
    # Only staff accounts are asked (admin roles are staff accounts): everyone else's pages cost no permission
    # queries.
    return bool(user.is_staff) and user.has_perm("workplan.view_auditentry")


def _lazy_unread_count(request: HttpRequest) -> Any:
    # Evaluated only when a template shows it; shared with the notifications page (one query at most).
    from django.utils.functional import SimpleLazyObject

    from workplan.views_notifications import request_unread_count

    return SimpleLazyObject(lambda: request_unread_count(request))
