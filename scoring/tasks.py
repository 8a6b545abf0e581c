"""后台任务（django-q2）：计分。由计分页面用 async_task 投到长任务队列“long”，参数只传编号。

重复投递无害：scores_compute 替换同一批次的得分与台账，输入相同则结果相同。
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from scoring.models import RuleSet
from scoring.services import scores_compute
from workplan.audit import audit_record
from workplan.models import AuditEntry, User


def compute_scores(ruleset_id: int, year: int, period: str, user_id: int | None = None) -> str:
    """按已发布细则正式计分某年度某期间；细则已被删除时什么也不做。

    无法计分（草稿、录入事实与细则不符、酌情分越界）时记一条“失败”的审计日志并返回原因，不抛出：
    输入不变重试也不会成功，不必让 django-q2 重试。
    """
    record = RuleSet.objects.filter(pk=ruleset_id).first()
    if record is None:
        return f"细则 {ruleset_id} 不存在，未计分"
    user = User.objects.filter(pk=user_id).first() if user_id else None
    try:
        run = scores_compute(ruleset_record=record, year=year, period=period, user=user)
    except ValidationError as exc:
        reason = "；".join(exc.messages)
        audit_record(
            action="scores.compute",
            user=user,
            obj=record,
            new={"year": year, "period": period, "error": reason},
            outcome=AuditEntry.Outcome.FAILURE,
        )
        return f"{year}年{period}计分失败：{reason}"
    return f"{run}：{run.scores.count()}个股室，输入指纹 {run.inputs_digest[:12]}"
