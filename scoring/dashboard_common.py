"""季度看板的共用名称：任务状态与季度的中文名称、列表显示条数、任务清单的筛选链接。

看板的取数（dashboard_reads）、得分与对比（dashboard_scores）和汇总（dashboard）都用这里的定义。
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from workplan.models import ReportStatus

Period = tuple[int, int]

STATUS_ORDER: tuple[str, ...] = (
    ReportStatus.DONE,
    ReportStatus.IN_PROGRESS,
    ReportStatus.NOT_STARTED,
    ReportStatus.CANNOT_COMPLETE,
)
STATUS_LABELS: dict[str, str] = {s: ReportStatus(s).label for s in STATUS_ORDER}
QUARTER_LABELS = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}
# Lists on the dashboard show the worst rows; the full list is one click away in the task list.
LIST_LIMIT = 20


def period_label(year: int, quarter: int) -> str:
    return f"{year}年{QUARTER_LABELS[quarter]}"


def task_list_url(plan_id: int | None, **params: Any) -> str:
    """任务清单的筛选链接（参数名见 workplan.filters.TaskFilter；chapter 为章节标题任务的编号）。"""
    query = {"plan": plan_id} if plan_id else {}
    query.update({k: v for k, v in params.items() if v not in (None, "")})
    return reverse("task_list") + ("?" + urlencode(query) if query else "")
