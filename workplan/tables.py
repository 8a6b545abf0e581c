"""列表（django-tables2）：工作计划、任务、进展报送、佐证材料、审计日志。

所有跨外键的列都已在视图的查询集中 select_related / prefetch_related；render_* 只用 format_html 拼接，
用户输入的文字一律转义。
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import django_tables2 as tables
from django.apps import apps
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html, format_html_join

from workplan.calendar_db import calendar_warnings
from workplan.models import (
    AssignmentRole,
    AuditEntry,
    Evidence,
    ProgressReport,
    ReportStatus,
    ReviewState,
    Task,
    WorkPlan,
)
from workplan.table_body import FastBodyTable
from workplan.workdays import WorkdayCalendar

DASH = "—"
STATUS_LABELS = dict(ReportStatus.choices)
REVIEW_LABELS = dict(ReviewState.choices)
FINISHED = (ReportStatus.DONE, ReportStatus.CANNOT_COMPLETE)


class DateColumn(tables.Column):
    """日期（时间）列，在 Python 中格式化：时间显示为本地时间，format 同模板的 date 过滤器；导出为 isoformat。

    django-tables2 自带的 DateColumn / DateTimeColumn 是 TemplateColumn，每一格都重新编译一个模板。
    """

    def __init__(self, *args: Any, format: str = "Y-m-d", **kwargs: Any) -> None:
        self.format = format
        super().__init__(*args, **kwargs)

    def render(self, value: Any) -> str:
        if isinstance(value, datetime.datetime) and timezone.is_aware(value):
            value = timezone.localtime(value)
        return dateformat.format(value, self.format)

    def value(self, value: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime.datetime):
            return value.isoformat(sep=" ")
        if isinstance(value, datetime.date):
            return value.isoformat()
        return value


class LocalDateTimeColumn(DateColumn):
    """本地时间显示；导出为不带时区的本地时间（Excel 不接受带时区的日期时间）。"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", "Y-m-d H:i")
        super().__init__(*args, **kwargs)

    def value(self, value: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime.datetime):
            if timezone.is_aware(value):
                value = timezone.localtime(value)
            return value.replace(tzinfo=None, microsecond=0)
        return super().value(value=value, **kwargs)


def period_label(year: int | None, quarter: int | None) -> str:
    return f"{year}年第{quarter}季度" if year and quarter else DASH


class PlanTable(FastBodyTable):
    year = tables.Column(verbose_name="年度")
    title = tables.LinkColumn("plan_detail", args=[tables.A("pk")], verbose_name="标题")
    issuing_unit = tables.Column(verbose_name="发文单位")
    parent_doc_number = tables.Column(verbose_name="上级计划文号")
    task_count = tables.Column(verbose_name="任务数", orderable=True)
    created_at = DateColumn(verbose_name="导入时间", format="Y-m-d H:i")

    class Meta:
        model = WorkPlan
        fields = ("year", "title", "issuing_unit", "parent_doc_number", "task_count", "created_at")
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "暂无工作计划"


def _section_names(task: Task, role: str) -> list[str]:
    # Uses the prefetched assignments: no query per row.
    return [a.section.name for a in task.assignments.all() if a.role == role]


def workdays_text(left: int | None) -> str:
    if left is None:
        return DASH
    if left > 0:
        return f"剩余{left}个工作日"
    if left == 0:
        return "今日截止"
    return f"逾期{-left}个工作日"


class WorkdayCounter:
    """从固定的“今天”到许多截止日的工作日数：每个日历日只向日历查询一次（结果与 workdays_left 相同）。

    chinesecalendar 的每次查询都要校验年份范围，逐任务逐日查询在上千行的导出中要数秒；这里按天累加缓存。
    """

    def __init__(self, calendar: WorkdayCalendar, today: datetime.date) -> None:
        self.calendar = calendar
        self.today = today
        self._forward = [0]  # _forward[k]: working days in (today, today + k]
        self._backward = [0]  # _backward[k]: working days in (today - k, today]

    def left(self, due: datetime.date) -> int:
        """同 WorkdayCalendar.workdays_left(today, due)：截止日当天为 0，逾期为负数。"""
        k = (due - self.today).days
        if k >= 0:
            while len(self._forward) <= k:
                n = len(self._forward)
                day = self.today + datetime.timedelta(days=n)
                self._forward.append(self._forward[-1] + self.calendar.is_workday(day))
            return self._forward[k]
        k = -k
        while len(self._backward) <= k:
            n = len(self._backward)
            day = self.today - datetime.timedelta(days=n - 1)
            self._backward.append(self._backward[-1] + self.calendar.is_workday(day))
        return -self._backward[k]


class TaskTable(FastBodyTable):
    """任务清单。查询集需 select_related("plan")、预取 assignments__section，并带 latest_* 注解（最近报送）。"""

    number_path = tables.Column(verbose_name="序号", order_by=("plan", "position"))
    title = tables.LinkColumn("task_detail", args=[tables.A("pk")], verbose_name="任务")
    plan = tables.Column(accessor="plan__year", verbose_name="年度")
    leads = tables.Column(verbose_name="牵头股室", empty_values=(), orderable=False)
    responsibles = tables.Column(verbose_name="责任股室", empty_values=(), orderable=False)
    status = tables.Column(verbose_name="状态")
    deadline_text = tables.Column(verbose_name="时限要求")
    due_date = DateColumn(verbose_name="截止日期")
    workdays_left = tables.Column(verbose_name="剩余/逾期工作日", empty_values=(), order_by=("due_date",))
    recurrence = tables.Column(verbose_name="周期")
    latest_report = tables.Column(verbose_name="最近报送", empty_values=(), orderable=False)

    class Meta:
        model = Task
        fields = (
            "number_path",
            "title",
            "plan",
            "leads",
            "responsibles",
            "status",
            "deadline_text",
            "due_date",
            "workdays_left",
            "recurrence",
            "latest_report",
        )
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "没有符合条件的任务"

    def __init__(
        self,
        *args: Any,
        calendar: WorkdayCalendar | None = None,
        today: datetime.date | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # One calendar per request (the view passes a lazy load_calendar(): no query when no row needs it).
        self.calendar = calendar if calendar is not None else WorkdayCalendar()
        self.today = today or timezone.localdate()
        self._workday_counter = WorkdayCounter(self.calendar, self.today)
        self._years: set[int] = set()

    def _workdays_left(self, task: Task) -> int | None:
        due = task.due_date
        if due is None or task.status in FINISHED:
            return None
        lo, hi = sorted((self.today, due))
        self._years.update(range(lo.year, hi.year + 1))
        return self._workday_counter.left(due)

    def calendar_warnings(self) -> list[str]:
        """已渲染的行用到的年份中，节假日尚未录入、按周末计算的年份提示（在表格之后调用）。"""
        return calendar_warnings(self.calendar, self._years) if self._years else []

    def render_leads(self, record: Task) -> str:
        return format_html_join("、", "{}", ((n,) for n in _section_names(record, AssignmentRole.LEAD)))

    def value_leads(self, record: Task) -> str:
        return "、".join(_section_names(record, AssignmentRole.LEAD))

    def render_responsibles(self, record: Task) -> str:
        return format_html_join("、", "{}", ((n,) for n in _section_names(record, AssignmentRole.RESPONSIBLE)))

    def value_responsibles(self, record: Task) -> str:
        return "、".join(_section_names(record, AssignmentRole.RESPONSIBLE))

    def render_workdays_left(self, record: Task) -> str:
        left = self._workdays_left(record)
        if left is not None and left < 0:
            return format_html('<span class="tag err">{}</span>', workdays_text(left))
        return workdays_text(left)

    def value_workdays_left(self, record: Task) -> str:
        return workdays_text(self._workdays_left(record))

    def render_latest_report(self, record: Task) -> str:
        year = getattr(record, "latest_year", None)
        if not year:
            return "未报送"
        return "{} · {}（{}）".format(
            period_label(year, record.latest_quarter),  # type: ignore[attr-defined]
            STATUS_LABELS.get(record.latest_status, record.latest_status),  # type: ignore[attr-defined]
            REVIEW_LABELS.get(record.latest_review_state, record.latest_review_state),  # type: ignore[attr-defined]
        )


class ReportTable(FastBodyTable):
    """进展报送。查询集需 select_related("task__plan", "section", "submitted_by", "reviewed_by")。"""

    period = tables.Column(verbose_name="季度", empty_values=(), order_by=("year", "quarter"))
    task = tables.LinkColumn(
        "task_detail",
        args=[tables.A("task_id")],
        accessor="task__title",
        verbose_name="任务",
        order_by=("task__title",),
    )
    plan_year = tables.Column(accessor="task__plan__year", verbose_name="计划年度")
    section = tables.Column(accessor="section__name", verbose_name="股室")
    role = tables.Column(verbose_name="角色")
    status = tables.Column(verbose_name="进展状态")
    review_state = tables.Column(verbose_name="审核状态")
    evidence_count = tables.Column(verbose_name="佐证", orderable=False)
    submitted_by = tables.Column(verbose_name="报送人", order_by=("submitted_by__username",))
    submitted_at = LocalDateTimeColumn(verbose_name="报送时间")
    reviewed_at = LocalDateTimeColumn(verbose_name="审核时间")

    class Meta:
        model = ProgressReport
        fields = (
            "period",
            "task",
            "plan_year",
            "section",
            "role",
            "status",
            "review_state",
            "evidence_count",
            "submitted_by",
            "submitted_at",
            "reviewed_at",
        )
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "没有符合条件的报送"

    def render_period(self, record: ProgressReport) -> str:
        return period_label(record.year, record.quarter)

    def value_submitted_by(self, value: Any) -> str:
        return str(value)


def _is_web_url(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


class EvidenceTable(FastBodyTable):
    """佐证材料。查询集需 select_related("report__task", "report__section", "uploaded_by")。"""

    name = tables.Column(verbose_name="文件名/链接", empty_values=(), order_by=("original_name", "url"))
    kind = tables.Column(verbose_name="类型")
    published_on = DateColumn(verbose_name="发布日期")
    task = tables.LinkColumn(
        "task_detail",
        args=[tables.A("report__task_id")],
        accessor="report__task__title",
        verbose_name="任务",
        order_by=("report__task__title",),
    )
    section = tables.Column(accessor="report__section__name", verbose_name="股室")
    period = tables.Column(verbose_name="季度", empty_values=(), order_by=("report__year", "report__quarter"))
    size = tables.Column(verbose_name="大小")
    uploaded_by = tables.Column(verbose_name="上传人", order_by=("uploaded_by__username",))
    uploaded_at = LocalDateTimeColumn(verbose_name="上传时间")
    removed_at = LocalDateTimeColumn(verbose_name="撤回时间")

    class Meta:
        model = Evidence
        fields = (
            "name",
            "kind",
            "published_on",
            "task",
            "section",
            "period",
            "size",
            "uploaded_by",
            "uploaded_at",
            "removed_at",
        )
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "没有符合条件的佐证材料"

    def render_name(self, record: Evidence) -> str:
        if record.kind == Evidence.Kind.LINK:
            if _is_web_url(record.url):
                return format_html(
                    '<a href="{}" rel="noopener noreferrer nofollow" target="_blank">{}</a>', record.url, record.url
                )
            return record.url
        if record.removed_at is None and record.file:
            # Downloads go through the permission-checked view, never the MEDIA address.
            url = reverse("evidence_download", args=[record.pk])
            return format_html('<a href="{}">{}</a>', url, record.original_name or DASH)
        return record.original_name or DASH

    def value_name(self, record: Evidence) -> str:
        return record.url if record.kind == Evidence.Kind.LINK else record.original_name

    def render_period(self, record: Evidence) -> str:
        return period_label(record.report.year, record.report.quarter)

    def render_size(self, record: Evidence) -> str:
        if record.kind != Evidence.Kind.FILE:
            return DASH
        size = float(record.size)
        for unit in ("B", "KB", "MB"):
            if size < 1024 or unit == "MB":
                return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            size /= 1024
        return DASH  # pragma: no cover

    def value_size(self, record: Evidence) -> int | None:
        return record.size if record.kind == Evidence.Kind.FILE else None

    def value_uploaded_by(self, value: Any) -> str:
        return str(value)


def _object_type_labels() -> dict[str, str]:
    return {
        model._meta.label: str(model._meta.verbose_name)
        for label in ("workplan", "scoring")
        for model in apps.get_app_config(label).get_models()
    }


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class AuditTable(FastBodyTable):
    """审计日志（只读）。用户名是写入时的快照，不跨外键。"""

    at = LocalDateTimeColumn(verbose_name="时间", format="Y-m-d H:i:s")
    username = tables.Column(verbose_name="用户名")
    action = tables.Column(verbose_name="操作")
    object_type = tables.Column(verbose_name="对象类型")
    object_id = tables.Column(verbose_name="对象编号")
    object_repr = tables.Column(verbose_name="对象")
    change = tables.Column(verbose_name="原值 → 新值", empty_values=(), orderable=False)
    outcome = tables.Column(verbose_name="结果")
    ip = tables.Column(verbose_name="IP 地址")

    CHANGE_PREVIEW = 300

    class Meta:
        model = AuditEntry
        fields = (
            "at", "username", "action", "object_type", "object_id", "object_repr", "change", "outcome", "ip"
        )
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "没有符合条件的审计记录"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._type_labels = _object_type_labels()

    def render_object_type(self, value: str) -> str:
        return self._type_labels.get(value, value)

    def _change(self, record: AuditEntry) -> str:
        old, new = _json_text(record.old_value), _json_text(record.new_value)
        if old and new:
            return f"{old} → {new}"
        return new or old

    def render_change(self, record: AuditEntry) -> str:
        text = self._change(record)
        if len(text) > self.CHANGE_PREVIEW:
            text = text[: self.CHANGE_PREVIEW] + "…"
        return text or DASH

    def value_change(self, record: AuditEntry) -> str:
        return self._change(record)
