"""多步写操作：任务分工调整等。每个服务一次事务、写审计日志。"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.http import HttpRequest

from workplan.audit import audit_record
from workplan.models import AssignmentRole, Section, Task, TaskAssignment, User


def _assignment_snapshot(task: Task) -> dict[str, list[str]]:
    snap: dict[str, list[str]] = {AssignmentRole.LEAD: [], AssignmentRole.RESPONSIBLE: []}
    for role, name in task.assignments.order_by("section__sort_order").values_list("role", "section__name"):
        snap[role].append(name)
    return snap


@transaction.atomic
def task_assign_sections(
    *,
    task: Task,
    leads: Iterable[Section],
    responsibles: Iterable[Section],
    user: User,
    request: HttpRequest | None = None,
) -> Task:
    """重设任务分工：牵头股室（至少一个）与责任股室。同一股室既牵头又负责时只记牵头。

    保留未变动分工行的“原文写法”和“来自集合称谓”信息；只删除被去掉的、新增被加入的。
    """
    lead_ids = {s.pk for s in leads}
    resp_ids = {s.pk for s in responsibles} - lead_ids
    if not lead_ids:
        raise ValueError("至少指定一个牵头股室")
    old = _assignment_snapshot(task)
    wanted = {(sid, AssignmentRole.LEAD) for sid in lead_ids} | {
        (sid, AssignmentRole.RESPONSIBLE) for sid in resp_ids
    }
    existing = {(a.section_id, a.role): a.pk for a in task.assignments.all()}
    stale = [pk for key, pk in existing.items() if key not in wanted]
    TaskAssignment.objects.filter(pk__in=stale).delete()
    TaskAssignment.objects.bulk_create(
        [TaskAssignment(task=task, section_id=sid, role=role) for sid, role in wanted if (sid, role) not in existing]
    )
    audit_record(
        action="task.assign",
        user=user,
        obj=task,
        old=old,
        new=_assignment_snapshot(task),
        request=request,
    )
    return task
