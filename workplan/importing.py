"""计划导入（政务公开工作要点）：预览之后确认写入计划与任务 / 取消；管理命令与演示数据用的一步导入。

任务、分工、新股室和别名都在确认时一次事务写入。上传、解析与预览见 import_preview.py。
任务多于 IMPORT_INLINE_TASKS 项的导入，确认在长任务队列 long 里执行（plan_import_confirm_enqueue / _run）。
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_q.tasks import async_task

from workplan.access import can_manage_plans
from workplan.audit import audit_record
from workplan.import_preview import (
    ImportRefused,
    clean_filename,
    default_title,
    parse_json,
    plan_import_preview,
    written_names,
)
from workplan.models import (
    AssignmentRole,
    AuditEntry,
    PlanImport,
    Recurrence,
    Section,
    SectionAlias,
    Task,
    TaskAssignment,
    User,
    WorkPlan,
)
from workplan.parsers import parse_plan_bytes
from workplan.parsers.text import match_key
from workplan.sections import SectionResolver

logger = logging.getLogger(__name__)

MIN_YEAR, MAX_YEAR = 2000, 2100
CONFIRM_TASK_PATH = "workplan.tasks.plan_import_confirm_run"
_ROLE_LABEL = {AssignmentRole.LEAD: "牵头", AssignmentRole.RESPONSIBLE: "责任"}


@dataclass(frozen=True)
class Decision:
    """办公室对一个未知股室写法的决定。

    - create：新建股室，名称为 new_name（留空则用原文写法）；名称与原文写法不同时，原文写法自动记为别名；
    - map：对应到已有股室 section_id；remember_alias 为真时把原文写法记为该股室的别名，以后自动识别；
    - ignore：忽略，该写法涉及的分工不导入（在导入结果中留一条警告）。
    """

    action: Literal["create", "map", "ignore"]
    section_id: int | None = None
    remember_alias: bool = False
    new_name: str = ""


def _parse_date(value: Any) -> datetime.date | None:
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return None


# ---------------------------------------------------------------- confirm


@dataclass
class _Targets:
    """写法对应到的股室：[(section_id, via_group_id)]；ignored 表示办公室选择了忽略。"""

    sections: list[tuple[int, int | None]]
    ignored: bool = False


def _apply_decisions(
    names: list[str], decisions: dict[str, Decision], resolver: SectionResolver
) -> tuple[dict[str, _Targets], dict[str, Any]]:
    """把每个写法变成目标股室；按决定新建股室、记住别名。返回 (写法 → 目标, 新增计数)。

    查询数与写法个数无关：已有股室校验 1 条，新建股室 1 条，别名查重 1 条、新建 1 条。
    """
    resolutions = {n: resolver.resolve(n) for n in names}
    missing = [n for n, r in resolutions.items() if r.kind == "unknown" and n not in decisions]
    if missing:
        raise ImportRefused(f"请先为以下股室名称作出选择（新建、对应已有股室或忽略）：{'、'.join(missing)}")

    used = {n: d for n, d in decisions.items() if n in resolutions}
    map_ids = {d.section_id for d in used.values() if d.action == "map"}
    if None in map_ids:
        bad = [n for n, d in used.items() if d.action == "map" and d.section_id is None]
        raise ImportRefused(f"请为以下名称选择对应的股室：{'、'.join(bad)}")
    if map_ids:
        found = set(Section.objects.filter(pk__in=map_ids).values_list("pk", flat=True))
        if map_ids - found:
            raise ImportRefused("所选的股室已不存在，请刷新页面后重新选择。")

    # New sections: one per match key, so 宣傳科 and 宣传科 become one section.
    new_by_key: dict[str, str] = {}
    for written, d in used.items():
        if d.action == "create":
            new_name = (d.new_name or written).strip()[:64]
            if not new_name:
                raise ImportRefused(f"新建股室的名称不能为空（原文写法：{written}）。")
            key = match_key(new_name)
            if key not in resolver.sections:
                new_by_key.setdefault(key, new_name)
    created = Section.objects.bulk_create([Section(name=n) for n in new_by_key.values()])
    if any(s.pk is None for s in created):  # backends without RETURNING on bulk insert
        created = list(Section.objects.filter(name__in=new_by_key.values()))
    for s in created:
        resolver.sections[match_key(s.name)] = (s.pk, s.name)

    targets: dict[str, _Targets] = {}
    aliases: dict[str, int] = {}
    for written, r in resolutions.items():
        decision = used.get(written)
        if decision is None:
            if r.kind == "section":
                assert r.section_id is not None
                targets[written] = _Targets([(r.section_id, None)])
            else:
                targets[written] = _Targets([(sid, r.group_id) for sid in r.member_ids])
        elif decision.action == "ignore":
            targets[written] = _Targets([], ignored=True)
        elif decision.action == "map":
            assert decision.section_id is not None
            targets[written] = _Targets([(decision.section_id, None)])
            if decision.remember_alias and match_key(written) not in resolver.sections:
                aliases[written] = decision.section_id
        elif decision.action == "create":
            new_name = (decision.new_name or written).strip()[:64]
            sid = resolver.sections[match_key(new_name)][0]
            targets[written] = _Targets([(sid, None)])
            if match_key(written) != match_key(new_name) and match_key(written) not in resolver.sections:
                aliases[written] = sid
        else:
            raise ImportRefused(f"未知的处理方式：{decision.action}")

    aliases = {n: sid for n, sid in aliases.items() if len(n) <= 64}
    if aliases:
        taken = set(SectionAlias.objects.filter(name__in=aliases).values_list("name", flat=True))
        SectionAlias.objects.bulk_create(
            [SectionAlias(name=n, section_id=sid) for n, sid in aliases.items() if n not in taken]
        )
        alias_count = len(aliases) - len(taken)
    else:
        alias_count = 0
    counts = {
        "sections_created": len(created),
        "created_names": [s.name for s in created],
        "aliases_created": alias_count,
    }
    return targets, counts


def _build_tasks(plan: WorkPlan, rows: list[dict[str, Any]]) -> list[Task]:
    """按原文顺序建任务对象：上级 = 前面最近的、层级更高（数字更小）的一项；
    code = 各级在同级中的序号（两位补零）以“.”连接，如 01、01.02、01.02.03，在计划内唯一且稳定。"""
    tasks: list[Task] = []
    stack: list[Task] = []
    counters: dict[int | None, int] = {}  # id(parent) -> children so far
    for position, row in enumerate(rows, start=1):
        level = max(1, int(row.get("level") or 1))
        while stack and stack[-1].level >= level:
            stack.pop()
        parent = stack[-1] if stack else None
        slot = id(parent) if parent is not None else None
        counters[slot] = counters.get(slot, 0) + 1
        ordinal = f"{counters[slot]:02d}"
        recurrence = row.get("recurrence") or ""
        task = Task(
            plan=plan,
            parent=parent,
            code=f"{parent.code}.{ordinal}" if parent is not None else ordinal,
            number=(row.get("number") or "")[:16],
            number_path=(row.get("number_path") or "")[:64],
            level=level,
            position=position,
            is_heading=bool(row.get("is_heading")),
            title=(row.get("title") or "").strip()[:255] or "（无标题）",
            body=row.get("body") or "",
            deadline_text=(row.get("deadline_text") or "")[:128],
            due_date=_parse_date(row.get("due_date")),
            recurrence=recurrence if recurrence in Recurrence.values else "",
            annotation_text=(row.get("annotation_text") or "")[:512],
            source_line=row.get("line") or None,
        )
        tasks.append(task)
        stack.append(task)
    return tasks


def _build_assignments(
    tasks: list[Task], rows: list[dict[str, Any]], targets: dict[str, _Targets]
) -> tuple[list[TaskAssignment], list[str]]:
    """分工：先牵头后责任；同一角色内先处理点名的股室，再展开集合称谓（via_group）；
    已出现过的股室不再重复（既牵头又负责的只记牵头）。返回 (分工, 警告)。"""
    assignments: list[TaskAssignment] = []
    warnings: list[str] = []
    for task, row in zip(tasks, rows, strict=True):
        seen: set[int] = set()
        has_lead = False
        for role, key in (
            (AssignmentRole.LEAD, "lead_sections"),
            (AssignmentRole.RESPONSIBLE, "responsible_sections"),
        ):
            explicit: list[tuple[int, int | None, str]] = []
            grouped: list[tuple[int, int | None, str]] = []
            for written in row.get(key, []):
                written = (written or "").strip()
                if not written:
                    continue
                for sid, gid in targets[written].sections:
                    (grouped if gid else explicit).append((sid, gid, written))
            for sid, gid, written in explicit + grouped:
                if sid in seen:
                    continue
                seen.add(sid)
                has_lead = has_lead or role == AssignmentRole.LEAD
                assignments.append(
                    TaskAssignment(
                        task=task, section_id=sid, role=role, via_group_id=gid, source_text=written[:64]
                    )
                )
        if not task.is_heading and not has_lead:
            where = f"第{task.source_line}行" if task.source_line else ""
            warnings.append(
                f"{where}任务“{task.number_path or task.number} {task.title}”没有牵头股室，请在任务中指定。"
            )
    return assignments, warnings


def _mentions(rows: list[dict[str, Any]], written: str) -> int:
    """写法出现在几项的牵头或责任中。"""
    return sum(written in [*r.get("lead_sections", []), *r.get("responsible_sections", [])] for r in rows)


def _reparse_for_year(plan_import: PlanImport, parse: dict[str, Any], year: int) -> dict[str, Any]:
    """年度与预览时不同：用新年度重新解析原文件，使“6月底前”等时限对应到正确的日期。"""
    try:
        with plan_import.source_file.open("rb") as fh:
            data = fh.read()
    except (OSError, ValueError):
        return parse
    reparsed = parse_plan_bytes(plan_import.source_name, data, year=year)
    if len(reparsed.tasks) != len(parse["tasks"]):
        return parse
    return parse_json(reparsed)


def plan_import_confirm(
    *,
    plan_import: PlanImport,
    decisions: dict[str, Decision],
    year: int,
    user: User | None,
    request: HttpRequest | None = None,
    title: str | None = None,
) -> WorkPlan:
    """确认导入：一次事务写入新股室/别名、工作计划、全部任务（含章节标题，按原文顺序、带上级）与分工。

    规则：
    - 已确认的导入再次确认不做任何事，返回同一个计划（幂等）；已取消的不能确认；
    - 没有可导入任务的解析结果不能确认；每个未知写法都必须有决定（见 Decision）；
    - 集合称谓展开为其成员股室（via_group，source_text 为原文写法）；同一股室既牵头又负责的只记牵头；
    - 年度与预览时不同则按新年度重新解析时限；
    - 没有逐项、逐名称的查询：全部批量写入（SQLite 按每批 999 个参数自动分批）。
    """
    if plan_import.status == PlanImport.Status.CONFIRMED and plan_import.plan_id:
        return plan_import.plan  # type: ignore[return-value]
    if not (MIN_YEAR <= int(year) <= MAX_YEAR):
        raise ImportRefused(f"年度应在 {MIN_YEAR}–{MAX_YEAR} 之间。")
    now = timezone.now()
    with transaction.atomic():
        # Claim the import: a concurrent or repeated confirm sees 0 rows and returns the existing plan.
        claimed = PlanImport.objects.filter(pk=plan_import.pk, status=PlanImport.Status.PREVIEW).update(
            status=PlanImport.Status.CONFIRMED, confirmed_at=now
        )
        if not claimed:
            plan_import.refresh_from_db()
            if plan_import.status == PlanImport.Status.CONFIRMED and plan_import.plan_id:
                return plan_import.plan  # type: ignore[return-value]
            raise ImportRefused(f"此导入{plan_import.get_status_display()}，不能确认。")

        result = dict(plan_import.result or {})
        parse: dict[str, Any] = result.get("parse") or {}
        if parse.get("year") != year and parse.get("tasks"):
            parse = _reparse_for_year(plan_import, parse, year)
        rows: list[dict[str, Any]] = parse.get("tasks") or []
        if not any(not r.get("is_heading") for r in rows):
            raise ImportRefused("解析结果中没有可导入的任务，不能确认。请检查文件后重新上传。")

        targets, counts = _apply_decisions(written_names(rows), decisions, SectionResolver.load())
        plan = WorkPlan.objects.create(
            year=year,
            issuing_unit=(parse.get("issuing_unit") or "")[:128],
            title=((title or "").strip() or default_title(plan_import, year=year))[:255],
            parent_doc_number=(parse.get("parent_doc_number") or "")[:64],
            preamble=parse.get("preamble") or "",
            # The uploaded file is stored once and referenced by both rows.
            source_file=plan_import.source_file.name,
            source_name=plan_import.source_name,
            source_sha256=plan_import.source_sha256,
            created_by=user,
        )
        tasks = _build_tasks(plan, rows)
        # A parent is always on a smaller level: insert level by level so parent ids exist.
        for level in sorted({t.level for t in tasks}):
            Task.objects.bulk_create([t for t in tasks if t.level == level])
        assignments, warnings = _build_assignments(tasks, rows, targets)
        TaskAssignment.objects.bulk_create(assignments)

        ignored = [written for written, target in targets.items() if target.ignored]
        warnings[:0] = [f"“{n}”已忽略：涉及 {_mentions(rows, n)} 项的分工未导入。" for n in ignored]
        summary = {
            "plan_id": plan.pk,
            "tasks": sum(1 for t in tasks if not t.is_heading),
            "headings": sum(1 for t in tasks if t.is_heading),
            "assignments": len(assignments),
            **counts,
            "ignored": ignored,
            "warnings": warnings,
        }
        result["confirm"] = summary
        result.pop("queued", None)  # a background confirm is over, and an earlier failure is now moot
        result.pop("confirm_error", None)
        plan_import.status = PlanImport.Status.CONFIRMED
        plan_import.confirmed_at = now
        plan_import.plan = plan
        plan_import.year = year
        plan_import.result = result
        plan_import.save(update_fields=["status", "confirmed_at", "plan", "year", "result"])
        audit_record(
            action="plan.import.confirm",
            user=user,
            obj=plan,
            new={
                "import_id": plan_import.pk,
                **{k: v for k, v in summary.items() if k != "warnings"},
                "warnings": len(warnings),
            },
            request=request,
        )
    return plan


# ---------------------------------------------------------------- confirm on the long queue


def confirms_in_background(plan_import: PlanImport) -> bool:
    """预览中的任务（不含章节标题）多于 IMPORT_INLINE_TASKS 项的导入，确认在长任务队列 long 里执行。"""
    summary = (plan_import.result or {}).get("summary") or {}
    return int(summary.get("tasks") or 0) > settings.IMPORT_INLINE_TASKS


def confirm_queued(plan_import: PlanImport) -> bool:
    """已提交后台确认、还没有结果（仍为待确认，result 中有 queued）。"""
    return plan_import.status == PlanImport.Status.PREVIEW and bool((plan_import.result or {}).get("queued"))


def decisions_to_json(decisions: dict[str, Decision]) -> dict[str, dict[str, Any]]:
    """Decision 转为只有字符串、数字、布尔的字典，作为 django-q2 任务的参数。"""
    return {written: dataclasses.asdict(d) for written, d in decisions.items()}


def decisions_from_json(data: dict[str, dict[str, Any]]) -> dict[str, Decision]:
    """decisions_to_json 的逆：在后台任务里还原 Decision。"""
    return {
        str(written): Decision(
            action=d.get("action"),  # type: ignore[arg-type]  # checked by _apply_decisions
            section_id=int(d["section_id"]) if d.get("section_id") is not None else None,
            remember_alias=bool(d.get("remember_alias")),
            new_name=str(d.get("new_name") or ""),
        )
        for written, d in data.items()
    }


def _pending_result_update(pk: int, **changes: Any) -> bool:
    """改待确认导入的 result 中的几个键（值为 None 即删去）；已不是待确认的不改，返回 False。"""
    with transaction.atomic():
        row = PlanImport.objects.select_for_update().filter(pk=pk, status=PlanImport.Status.PREVIEW).first()
        if row is None:
            return False
        result = dict(row.result or {})
        for key, value in changes.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = value
        row.result = result
        row.save(update_fields=["result"])
    return True


def plan_import_confirm_enqueue(
    *,
    plan_import: PlanImport,
    decisions: dict[str, Decision],
    year: int,
    title: str,
    user: User,
    request: HttpRequest | None = None,
) -> PlanImport:
    """把大导入的确认提交到长任务队列 long（workplan.tasks.plan_import_confirm_run）。

    规则：只有待确认的导入可以提交；已在后台排队的不重复提交。状态不变（仍为待确认），在 result["queued"]
    记下提交时间与提交人，并清除上次后台确认失败的原因；任务参数只有编号、年度、标题与股室对应的选择（普通字典）。
    写审计日志 plan.import.confirm.enqueue。提交到队列失败时写入失败原因，可重新确认。
    """
    if not (MIN_YEAR <= int(year) <= MAX_YEAR):
        raise ImportRefused(f"年度应在 {MIN_YEAR}–{MAX_YEAR} 之间。")
    with transaction.atomic():
        row = PlanImport.objects.select_for_update().get(pk=plan_import.pk)
        if row.status != PlanImport.Status.PREVIEW:
            raise ImportRefused(f"此导入{row.get_status_display()}，不能确认。")
        result = dict(row.result or {})
        if result.get("queued"):
            raise ImportRefused("此导入已在后台确认中，请稍候，完成后预览页会自动跳转到工作计划。")
        result.pop("confirm_error", None)
        result["queued"] = {"at": timezone.now().isoformat(), "by": user.pk, "by_name": str(user)}
        row.result = result
        row.save(update_fields=["result"])
        audit_record(
            action="plan.import.confirm.enqueue",
            user=user,
            obj=row,
            new={"year": int(year), "tasks": (result.get("summary") or {}).get("tasks", 0)},
            request=request,
        )
    # After the commit, so a worker never sees a state it cannot read yet (tests run it inline right here).
    try:
        async_task(
            CONFIRM_TASK_PATH,
            row.pk,
            decisions_to_json(decisions),
            int(year),
            title,
            user.pk,
            cluster=settings.Q_LONG_CLUSTER,
            task_name=f"plan_import_confirm-{row.pk}",
        )
    except Exception:
        logger.exception("计划导入 %s 的确认未能提交到队列", row.pk)
        _pending_result_update(row.pk, queued=None, confirm_error="未能提交到后台任务队列，请稍后重试。")
    plan_import.refresh_from_db()
    return plan_import


def plan_import_confirm_run(
    *, import_id: int, decisions: dict[str, dict[str, Any]], year: int, title: str, user_id: int
) -> str:
    """后台确认（长任务队列）：按提交时的选择调用 plan_import_confirm，返回一句中文结果。

    规则：已导入的（重复投递）与排队期间已取消的不做任何事；提交人已停用或不再是办公室的不导入；
    确认被拒（ImportRefused、ValidationError）时事务整体回滚、状态仍为待确认，中文原因写入
    result["confirm_error"] 显示在预览页，办公室可改正后重新确认。
    """
    plan_import = PlanImport.objects.filter(pk=import_id).first()
    if plan_import is None:
        return f"导入记录 {import_id} 不存在，跳过"
    if plan_import.status != PlanImport.Status.PREVIEW:
        return f"导入 {import_id} {plan_import.get_status_display()}，跳过"
    user = User.objects.filter(pk=user_id, is_active=True).first()
    try:
        if user is None or not can_manage_plans(user):
            raise ImportRefused("提交确认的用户已停用或不再是办公室人员，请重新确认。")
        plan = plan_import_confirm(
            plan_import=plan_import,
            decisions=decisions_from_json(decisions),
            year=year,
            title=title,
            user=user,
        )
    except (ImportRefused, ValidationError) as exc:
        message = exc.message if isinstance(exc, ImportRefused) else "；".join(exc.messages)
        if _pending_result_update(import_id, queued=None, confirm_error=message):
            audit_record(
                action="plan.import.confirm",
                user=user,
                obj=plan_import,
                new={"error": message},
                outcome=AuditEntry.Outcome.FAILURE,
            )
        return f"导入 {import_id} 未确认：{message}"
    return f"导入 {import_id} 已确认为计划 {plan.pk}"


# ---------------------------------------------------------------- cancel


@transaction.atomic
def plan_import_cancel(
    *, plan_import: PlanImport, user: User | None, request: HttpRequest | None = None
) -> PlanImport:
    """取消待确认的导入：只改状态（上传的文件保留备查）。已取消的再次取消不做任何事；已导入的不能取消。"""
    cancelled = PlanImport.objects.filter(pk=plan_import.pk, status=PlanImport.Status.PREVIEW).update(
        status=PlanImport.Status.CANCELLED
    )
    plan_import.refresh_from_db(fields=["status"])
    if not cancelled:
        if plan_import.status == PlanImport.Status.CANCELLED:
            return plan_import
        raise ImportRefused(f"此导入{plan_import.get_status_display()}，不能取消。")
    audit_record(
        action="plan.import.cancel",
        user=user,
        obj=plan_import,
        request=request,
        old={"status": PlanImport.Status.PREVIEW},
        new={"status": PlanImport.Status.CANCELLED},
    )
    return plan_import


# ---------------------------------------------------------------- one step (command, demo seed)


def plan_import_from_bytes(
    *,
    name: str,
    data: bytes,
    year: int | None = None,
    user: User | None = None,
    unknown: str = "create",
) -> tuple[WorkPlan | None, PlanImport]:
    """一步导入（管理命令、演示数据）：预览后立即确认；未知股室写法按 unknown 处理：create 新建，skip 忽略。

    同一文件（sha256 相同）已导入过时跳过：返回已有的计划和一条未保存的记录（result["skipped"] 为真），
    不写任何东西，使演示数据可重复运行。
    文件被拒收或确认失败时返回 (None, 未保存的失败记录)，其 result["error"] 为中文原因，数据库不变。
    """
    if unknown not in ("create", "skip"):
        raise ValueError("unknown must be 'create' or 'skip'")
    filename = clean_filename(name)
    sha256 = hashlib.sha256(data).hexdigest()
    existing = WorkPlan.objects.filter(source_sha256=sha256).order_by("created_at").first()
    if existing is not None:
        skipped = PlanImport(
            source_name=filename,
            source_sha256=sha256,
            status=PlanImport.Status.CONFIRMED,
            plan=existing,
            year=existing.year,
            result={"skipped": True},
        )
        return existing, skipped
    try:
        with transaction.atomic():
            plan_import = plan_import_preview(name=filename, data=data, year=year, user=user)
            decisions = {
                written: Decision(action="create" if unknown == "create" else "ignore")
                for written, info in plan_import.result["names"].items()
                if info["kind"] == "unknown"
            }
            plan = plan_import_confirm(
                plan_import=plan_import,
                decisions=decisions,
                year=year or plan_import.year or timezone.localdate().year,
                user=user,
            )
    except ImportRefused as exc:
        failed = PlanImport(
            source_name=filename,
            source_sha256=sha256,
            status=PlanImport.Status.FAILED,
            year=year,
            result={"error": exc.message, "errors": exc.issues},
        )
        return None, failed
    return plan, plan_import
