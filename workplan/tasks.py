"""后台任务（django-q2，按点分路径调用）：每日计划（setup_schedules 建立）的到期/逾期提醒、季度缺报清单；
长任务队列上的后台文件（导出、报告，见 workplan/file_jobs.py）与大的计划导入的确认（见 importing.py）。

django-q2 的参数会被序列化存库，只传编号与普通值（不传模型实例、查询集）：每日计划的函数不带参数，
今天的日期在运行时取，重复投递由 workplan/reminders.py 的 JobRun 批次记录保证只执行一次；后台文件只传
FileJob 的编号，由它的状态保证只生成一次；导入确认传导入记录编号与股室对应的选择（普通字典），由导入记录的
状态认领保证只导入一次。
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from workplan import reminders
from workplan.file_jobs import file_job_execute, file_jobs_purge
from workplan.importing import plan_import_confirm_run as _plan_import_confirm_run


def daily_reminders() -> str:
    """每日 07:30：到期、逾期与季度报送提醒。"""
    today = timezone.localdate()
    result = reminders.reminders_send_daily(today=today)
    if result.get("running"):
        return f"{today}：另一进程正在运行，跳过"
    if result.get("workday") is False:
        return f"{today}：非工作日，不发提醒"
    return (
        f"{today}：即将到期{result.get('due_soon', 0)}项，逾期{result.get('overdue', 0)}项，"
        f"新通知{result.get('created', 0)}条，邮件{result.get('emails', 0)}封"
    )


def quarterly_missing_reports() -> str:
    """每日 07:30 检查：上季度报送截止日已过（正常为截止日次日）就通知办公室缺报清单，每季度一次。"""
    today = timezone.localdate()
    due = reminders.missing_reports_quarter_due(today=today)
    if due is None:
        return f"{today}：上季度报送截止日未过，无需生成缺报清单"
    year, quarter = due
    result = reminders.missing_reports_notify(year=year, quarter=quarter, today=today)
    if result.get("running"):
        return f"{year}Q{quarter}：另一进程正在运行，跳过"
    return f"{year}年第{quarter}季度缺报{result.get('missing', 0)}项，新通知{result.get('created', 0)}条"


def file_job_run(job_id: int) -> str:
    """长任务队列“long”：生成一个后台文件（导出、报告）。重复投递不重做，进程被杀后的重投从头重做。"""
    return file_job_execute(job_id)


def file_jobs_cleanup() -> str:
    """每日 07:30：删除超过保留天数的后台文件，把提交一天以上仍未完成的后台任务标为失败。"""
    result = file_jobs_purge()
    return f"删除过期文件{result['removed']}个，标为失败的未完成任务{result['abandoned']}个"


def plan_import_confirm_run(
    import_id: int, decisions: dict[str, dict[str, Any]], year: int, title: str, user_id: int
) -> str:
    """长任务队列“long”：确认一个大的计划导入。重复投递与排队期间已取消的不做任何事。"""
    return _plan_import_confirm_run(
        import_id=import_id, decisions=decisions, year=year, title=title, user_id=user_id
    )
