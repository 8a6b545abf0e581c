"""后台任务（django-q2）：计分。由计分页面用 async_task 投递，参数只传编号。

重复投递无害：scores_compute 替换同一批次的得分与台账，输入相同则结果相同。
"""

from __future__ import annotations

from scoring.models import RuleSet
from scoring.services import scores_compute
from workplan.models import User


def compute_scores(ruleset_id: int, year: int, period: str, user_id: int | None = None) -> str:
    """按已发布细则正式计分某年度某期间；细则已被删除时什么也不做。"""
    record = RuleSet.objects.filter(pk=ruleset_id).first()
    if record is None:
        return f"细则 {ruleset_id} 不存在，未计分"
    user = User.objects.filter(pk=user_id).first() if user_id else None
    run = scores_compute(ruleset_record=record, year=year, period=period, user=user)
    return f"{run}：{run.scores.count()}个股室，输入指纹 {run.inputs_digest[:12]}"
