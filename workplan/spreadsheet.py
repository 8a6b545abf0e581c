"""任务表格回导的服务（导出 → 在 Excel 中修改 → 回导）：读文件、校验、与计划现状比较，预览与一次事务写入。

读取与校验不碰数据库（股室解析器事先载入，作为参数传入）；写入只在 `plan_tasks_update_from_sheet` 一个服务里，
只改任务本身的字段和任务分工，从不删除任务，也不碰进展报送等其他数据。
列与单元格取值见 sheet_format，读取与逐行校验见 sheet_reading，差异见 sheet_diff，导出见 sheet_export。
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from workplan.audit import audit_record
from workplan.bulkinsert import insert_rows
from workplan.models import AuditEntry, PlanImport, Task, TaskAssignment, User, WorkPlan
from workplan.sections import SectionResolver
from workplan.sheet_diff import CurrentTask, PlanSnapshot, SheetDiff, diff_sheet
from workplan.sheet_format import COLUMNS as COLUMNS  # re-exported: tests/fuzz reads them here
from workplan.sheet_format import HEADERS as HEADERS  # re-exported, as COLUMNS
from workplan.sheet_format import ROLE_BY_KEY, SectionPick
from workplan.sheet_reading import SheetFileError, read_table, validate_table

SNAPSHOT_FIELDS = ("number_path", "title", "body", "deadline_text", "due_date", "recurrence")


def load_plan_snapshot(plan: WorkPlan, resolver: SectionResolver) -> PlanSnapshot:
    """计划现状：任务一条查询、分工一条查询；股室名称取自已载入的解析器。"""
    snapshot = PlanSnapshot(section_names={pk: name for pk, name in resolver.sections.values()})
    by_id: dict[int, CurrentTask] = {}
    rows = Task.objects.filter(plan=plan).values_list(
        "id", "code", "is_heading", "position", *SNAPSHOT_FIELDS
    )
    for pk, code, is_heading, position, *values in rows:
        task = CurrentTask(
            id=pk, code=code, is_heading=is_heading, values=dict(zip(SNAPSHOT_FIELDS, values, strict=True))
        )
        snapshot.tasks[code] = by_id[pk] = task
        snapshot.max_position = max(snapshot.max_position, position)
        if values[0]:
            snapshot.paths.setdefault(values[0], pk)
    assignments = TaskAssignment.objects.filter(task__plan=plan).values_list(
        "id", "task_id", "section_id", "role"
    )
    for pk, task_id, section_id, role in assignments:
        by_id[task_id].assignments[(section_id, role)] = pk
    return snapshot


def write_sheet_diff(*, plan: WorkPlan, diff: SheetDiff, snapshot: PlanSnapshot) -> dict[str, int]:
    """按预览结果写入（调用方负责事务）。

    新增任务一次 bulk_create，其分工一次批量插入；修改的任务逐行只 UPDATE 变化了的字段（不用 bulk_update，
    免得对整批行生成 CASE/WHEN）；只有股室变化的任务才删去被去掉的分工、插入新加的分工。未变的行不发任何 SQL。
    """
    if diff.errors:
        raise ValueError("表格中有错误，不能导入")
    now = timezone.now()
    new_rows = diff.of("new")
    new_tasks: list[dict[str, Any]] = []
    for offset, row in enumerate(new_rows, start=1):
        path = row.fields.get("number_path", "")
        parent_path = path.rsplit("/", 1)[0] if "/" in path else ""
        new_tasks.append(
            {
                "plan_id": plan.pk,
                "code": row.code,
                "number": path.rsplit("/", 1)[-1][:16],
                "level": path.count("/") + 1,
                "position": snapshot.max_position + offset,
                "parent_id": snapshot.paths.get(parent_path) if parent_path else None,
                **row.fields,
            }
        )
    insert_rows(Task, new_tasks)
    ids = dict(
        Task.objects.filter(plan=plan, code__in=[t["code"] for t in new_tasks]).values_list("code", "id")
    )
    to_insert: list[dict[str, Any]] = []
    for row in new_rows:
        task_id = ids[row.code]
        for key, picks in row.sections.items():
            to_insert += [_assignment(task_id, p, ROLE_BY_KEY[key]) for p in picks]

    changed = diff.of("changed")
    stale: list[int] = []
    for row in changed:
        if row.fields:
            Task.objects.filter(pk=row.task_id, plan=plan).update(**row.fields, updated_at=now)
        current = snapshot.tasks[row.code]
        for key, picks in row.sections.items():
            role = ROLE_BY_KEY[key]
            wanted = {p.section_id: p for p in picks}
            stale += [pk for (sid, r), pk in current.assignments.items() if r == role and sid not in wanted]
            to_insert += [
                _assignment(current.id, p, role)
                for sid, p in wanted.items()
                if (sid, role) not in current.assignments
            ]
    if stale:
        TaskAssignment.objects.filter(pk__in=stale, task__plan=plan).delete()
    insert_rows(TaskAssignment, to_insert)
    return {
        "new": len(new_tasks),
        "changed": len(changed),
        "assignments_created": len(to_insert),
        "assignments_deleted": len(stale),
    }


def _assignment(task_id: int, pick: SectionPick, role: str) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "section_id": pick.section_id,
        "role": role,
        "via_group_id": pick.group_id,
        "source_text": pick.written,
    }


def build_diff(
    *, plan: WorkPlan, filename: str, data: bytes, max_bytes: int
) -> tuple[SheetDiff, PlanSnapshot]:
    """读文件 → 校验 → 与计划现状比较（读库 6 条查询：股室、别名、股室组、组成员、任务、分工）。"""
    table = read_table(filename, data, max_bytes=max_bytes)
    resolver = SectionResolver.load()
    sheet = validate_table(table, resolver.resolve)
    snapshot = load_plan_snapshot(plan, resolver)
    return diff_sheet(sheet, snapshot), snapshot


class SheetApplyError(ValueError):
    """确认导入被拒绝（有错误、已处理过、预览后计划有变动…）；str(exc) 是给用户看的中文说明。"""


def plan_tasks_preview_sheet(
    *,
    plan: WorkPlan,
    filename: str,
    data: bytes,
    user: User,
    max_bytes: int,
    request: HttpRequest | None = None,
) -> PlanImport:
    """回导预览：读取并校验上传的任务表，与计划比较，把文件和差异存进一条 PlanImport（kind=update）。

    预览不改任何任务。

    整份文件不可用（格式、表头、大小）时抛 SheetFileError，不保存文件，只记一条失败的审计；
    有行级错误时照样保存（状态为失败），预览页列出全部错误，且不能确认导入。
    """
    try:
        diff, _snapshot = build_diff(plan=plan, filename=filename, data=data, max_bytes=max_bytes)
    except SheetFileError as exc:
        audit_record(
            action="plan.reimport.preview",
            user=user,
            obj=plan,
            new={"file": filename[:255], "error": str(exc)},
            outcome=AuditEntry.Outcome.FAILURE,
            request=request,
        )
        raise
    status = PlanImport.Status.FAILED if diff.errors else PlanImport.Status.PREVIEW
    with transaction.atomic():
        batch = PlanImport(
            kind=PlanImport.Kind.UPDATE,
            source_name=filename[:255],
            source_sha256=hashlib.sha256(data).hexdigest(),
            year=plan.year,
            status=status,
            result=diff.as_json(),
            plan=plan,
            created_by=user,
        )
        batch.source_file.save(filename[-100:] or "tasks.xlsx", ContentFile(data), save=False)
        batch.save()
        audit_record(
            action="plan.reimport.preview",
            user=user,
            obj=plan,
            new={"batch": batch.pk, "file": batch.source_name, "counts": diff.counts},
            outcome=AuditEntry.Outcome.FAILURE if diff.errors else AuditEntry.Outcome.SUCCESS,
            request=request,
        )
    return batch


def plan_tasks_update_from_sheet(
    *, plan: WorkPlan, batch: PlanImport, user: User, max_bytes: int, request: HttpRequest | None = None
) -> dict[str, int]:
    """确认回导：一次事务内重新读取已保存的文件、校验、比较，确认差异与预览时一致后写入。

    规则：文件有任何错误则什么也不写；同一批次只能确认一次；预览后计划若被改动（差异不同）则拒绝，需重新上传。
    只新增任务、只更新变化的任务的变化字段、只增删变化了的分工；从不删除任务，不碰进展报送等其他数据。
    返回各类数量（new/changed/unchanged/missing…）。
    """
    try:
        with transaction.atomic():
            counts = _apply(plan=plan, batch=batch, user=user, max_bytes=max_bytes, request=request)
    except (SheetApplyError, SheetFileError) as exc:
        audit_record(
            action="plan.reimport.apply",
            user=user,
            obj=plan,
            new={"batch": batch.pk, "error": str(exc)},
            outcome=AuditEntry.Outcome.FAILURE,
            request=request,
        )
        raise SheetApplyError(str(exc)) from None
    batch.refresh_from_db()
    return counts


def _apply(
    *, plan: WorkPlan, batch: PlanImport, user: User, max_bytes: int, request: HttpRequest | None
) -> dict[str, int]:
    if batch.kind != PlanImport.Kind.UPDATE or batch.plan_id != plan.pk:
        raise SheetApplyError("该导入记录不属于此计划")
    if batch.status == PlanImport.Status.FAILED:
        raise SheetApplyError("表格中有错误，不能导入。请修改后重新上传。")
    now = timezone.now()
    # Claim the batch first: a second confirm (double click, two tabs) finds nothing to claim.
    claimed = PlanImport.objects.filter(pk=batch.pk, status=PlanImport.Status.PREVIEW).update(
        status=PlanImport.Status.CONFIRMED, confirmed_at=now
    )
    if not claimed:
        raise SheetApplyError("该批次已经导入或已取消，不能重复导入。")
    with batch.source_file.open("rb") as handle:
        data = handle.read()
    diff, snapshot = build_diff(plan=plan, filename=batch.source_name, data=data, max_bytes=max_bytes)
    if diff.errors:
        raise SheetApplyError("表格中有错误，不能导入。请修改后重新上传。")
    if diff.fingerprint != batch.result.get("fingerprint"):
        raise SheetApplyError(
            "预览之后计划中的任务或股室已有变动，差异与预览时不同。请重新上传表格核对后再导入。"
        )
    snapshot_counts = diff.counts
    written = write_sheet_diff(plan=plan, diff=diff, snapshot=snapshot)
    result = {**batch.result, "applied": {**snapshot_counts, **written}}
    PlanImport.objects.filter(pk=batch.pk).update(result=result)
    audit_record(
        action="plan.reimport.apply",
        user=user,
        obj=plan,
        old={"changed": [{"code": r.code, "changes": r.changes} for r in diff.of("changed")][:500]},
        new={"batch": batch.pk, "counts": snapshot_counts, "new": [r.code for r in diff.of("new")][:500]},
        request=request,
    )
    return {**snapshot_counts, **written}
