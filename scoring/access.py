"""考核评分的访问控制：谁能看哪些股室的得分与扣分明细、谁能计分和录入事实。所有判断都在这里。

- 办公室：看全部股室（含模拟计分），计分、模拟计分、录入考核事实；
- 局长：看全部股室的正式与模拟成绩、录入事实清单，不能写；
- 股室人员、只读用户：只看本股室的正式成绩与明细；其他股室的一律 404；任何写操作 403。
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse

from scoring.models import LedgerLine, ManualFact, ScoreRun, UnitScore
from scoring.periods import FactError, period_window
from workplan.access import (
    can_manage_plans,
    can_read_all,
    office_required,
    visible_applications,
    visible_evidence,
    visible_notices,
    visible_publications,
    visible_reports,
    visible_tasks,
)
from workplan.models import Evidence, ProgressReport, Task, User

__all__ = [
    "can_compute",
    "can_view_all_scores",
    "get_line_for_user",
    "get_manual_fact_for_user",
    "get_score_for_user",
    "line_drilldown",
    "office_required",
    "require_office",
    "require_read_all",
    "visible_lines",
    "visible_runs",
    "visible_scores",
]


def can_view_all_scores(user: User) -> bool:
    return can_read_all(user)


def can_compute(user: User) -> bool:
    """计分、模拟计分、录入考核事实：仅办公室。"""
    return can_manage_plans(user)


def require_office(user: User, what: str = "执行此操作") -> None:
    if not can_compute(user):
        raise PermissionDenied(f"仅办公室可以{what}")


def require_read_all(user: User, what: str = "查看此页面") -> None:
    if not can_view_all_scores(user):
        raise PermissionDenied(f"仅办公室和局长可以{what}")


def visible_runs(user: User) -> QuerySet[ScoreRun]:
    """能看到的计分批次：办公室、局长全部；其余只有正式批次。"""
    runs = ScoreRun.objects.all()
    return runs if can_view_all_scores(user) else runs.filter(is_what_if=False)


def visible_scores(user: User) -> QuerySet[UnitScore]:
    """能看到的股室得分：办公室、局长全部；股室人员与只读用户只看本股室的正式成绩。"""
    scores = UnitScore.objects.all()
    if can_view_all_scores(user):
        return scores
    if not user.is_authenticated or user.section_id is None:
        return scores.none()
    return scores.filter(section_id=user.section_id, run__is_what_if=False)


def visible_lines(user: User) -> QuerySet[LedgerLine]:
    lines = LedgerLine.objects.all()
    if can_view_all_scores(user):
        return lines
    if not user.is_authenticated or user.section_id is None:
        return lines.none()
    return lines.filter(section_id=user.section_id, run__is_what_if=False)


def get_score_for_user(user: User, pk: int) -> UnitScore:
    """取股室得分：看不到的（其他股室、模拟计分）一律 404，不泄露其存在。"""
    try:
        return visible_scores(user).select_related("run__ruleset", "section").get(pk=pk)
    except UnitScore.DoesNotExist as exc:
        raise Http404("得分记录不存在") from exc


def get_line_for_user(user: User, pk: int) -> LedgerLine:
    try:
        return visible_lines(user).select_related("run__ruleset", "section").get(pk=pk)
    except LedgerLine.DoesNotExist as exc:
        raise Http404("台账明细不存在") from exc


def get_manual_fact_for_user(user: User, pk: int, *, write: bool = False) -> ManualFact:
    """取录入事实：办公室、局长全部可看，股室人员与只读用户只看本股室的（其余 404）；
    写操作仅办公室：其他人在查找之前就 403（不论该事实是否存在、属于哪个股室）。"""
    if write:
        require_office(user, "修改考核事实")
    facts = ManualFact.objects.select_related("section")
    if not can_view_all_scores(user):
        if not user.is_authenticated or user.section_id is None:
            raise Http404("录入事实不存在")
        facts = facts.filter(section_id=user.section_id)
    try:
        mf = facts.get(pk=pk)
    except ManualFact.DoesNotExist as exc:
        raise Http404("录入事实不存在") from exc
    return mf


# ---- drill-down: the tasks, reports and evidence behind a ledger line ----------------------------------


@dataclass
class RefRow:
    """台账行依据中的一项：编号、分担比例、角色与说明，以及（用户有权查看时）对应的任务、报送或录入事实。"""

    ref: str
    share: str = ""
    role: str = ""
    note: str = ""
    record: tuple[str, str] | None = None  # 通报、发布信息、依申请公开登记：(链接, 名称)
    task: Task | None = None
    report: ProgressReport | None = None
    manual: ManualFact | None = None

    @property
    def role_label(self) -> str:
        return {"lead": "牵头", "responsible": "责任"}.get(self.role, self.role)


@dataclass
class Drilldown:
    rows: list[RefRow] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    manual_facts: list[ManualFact] = field(default_factory=list)


def _ref_id(ref: str, prefix: str) -> int | None:
    parts = ref.split(":")
    if len(parts) >= 2 and parts[0] == prefix and parts[1].isdigit():
        return int(parts[1])
    return None


def _ref_shares(facts: dict[str, Any], n: int) -> list[tuple[str, str]]:
    """各事件编号的（分担比例，角色）：依据里的 groups 按 refs 的先后给出各组的比例、角色与个数；
    早先的台账逐个写在 shares 里。没有记载的为空。"""
    out: list[tuple[str, str]] = []
    for group in facts.get("groups", []):
        if isinstance(group, dict) and isinstance(group.get("count"), int):
            out += [(str(group.get("share", "")), str(group.get("role", "")))] * group["count"]
    if not out:
        out = [
            (str(s.get("share", "")), str(s.get("role", "")))
            for s in facts.get("shares", [])
            if isinstance(s, dict)
        ]
    return (out + [("", "")] * n)[:n]


# Other refs the facts write: notice:<通报>, pub:<发布信息>, app:<依申请公开登记>.
_RECORD_KINDS = (
    ("notice", visible_notices, "notice_detail", lambda o: o.doc_number or o.title),
    ("pub", visible_publications, "publication_detail", lambda o: o.title),
    ("app", visible_applications, "application_detail", lambda o: f"{o.code} {o.content[:40]}".strip()),
)


def _records(user: User, refs: list[str]) -> dict[str, tuple[str, str]]:
    """依据里的通报、发布信息、依申请公开登记：编号 → (详情页链接, 名称)，只含用户能看到的。
    每类至多一次查询。"""
    out: dict[str, tuple[str, str]] = {}
    for prefix, visible, url_name, name_of in _RECORD_KINDS:
        ids = {i for r in refs if (i := _ref_id(r, prefix)) is not None}
        if ids:
            for obj in visible(user).filter(pk__in=ids):
                out[f"{prefix}:{obj.pk}"] = (reverse(url_name, args=[obj.pk]), name_of(obj))
    return out


def line_drilldown(user: User, line: LedgerLine) -> Drilldown:
    """台账行背后的任务、报送与佐证材料。依据中的编号：task:<任务>、report:<报送>、manual:<录入事实>[:<项>]，
    以及 notice:<通报>、pub:<发布信息>、app:<依申请公开登记>（链接到各自的详情页）。

    任务、报送与佐证材料按 workplan 的访问规则过滤（看不到的只显示编号）；佐证材料为所引报送的材料，
    以及所引任务在本期间各季度由本股室报送的材料（已撤回的不列）。录入事实限本股室。查询次数固定。
    """
    facts = line.facts if isinstance(line.facts, dict) else {}
    refs: list[str] = [str(r) for r in facts.get("refs", [])]
    if facts.get("ref"):
        refs.append(str(facts["ref"]))
    notes = [str(n) for n in facts.get("notes", [])]
    notes = (notes + [""] * len(refs))[: len(refs)]
    rows = [
        RefRow(ref, share, role, note)
        for ref, (share, role), note in zip(refs, _ref_shares(facts, len(refs)), notes, strict=True)
    ]
    task_ids = {i for r in refs if (i := _ref_id(r, "task")) is not None}
    report_ids = {i for r in refs if (i := _ref_id(r, "report")) is not None}
    manual_ids = {i for r in refs if (i := _ref_id(r, "manual")) is not None}

    reports = (
        {r.pk: r for r in visible_reports(user).filter(pk__in=report_ids).select_related("task", "section")}
        if report_ids
        else {}
    )
    all_task_ids = task_ids | {r.task_id for r in reports.values()}
    tasks = {t.pk: t for t in visible_tasks(user).filter(pk__in=all_task_ids)} if all_task_ids else {}
    manual = (
        {m.pk: m for m in ManualFact.objects.filter(pk__in=manual_ids, section_id=line.section_id)}
        if manual_ids
        else {}
    )
    records = _records(user, refs)
    for row in rows:
        if (tid := _ref_id(row.ref, "task")) is not None:
            row.task = tasks.get(tid)
        elif (rid := _ref_id(row.ref, "report")) is not None:
            row.report = reports.get(rid)
            row.task = tasks.get(row.report.task_id) if row.report else None
        elif (mid := _ref_id(row.ref, "manual")) is not None:
            row.manual = manual.get(mid)
        else:
            row.record = records.get(row.ref)

    evidence: list[Evidence] = []
    if tasks or reports:
        try:
            quarters: tuple[int, ...] = period_window(line.run.year, line.run.period).quarters
        except FactError:
            quarters = ()
        evidence = list(
            visible_evidence(user)
            .filter(removed_at__isnull=True)
            .filter(
                Q(report_id__in=list(reports))
                | Q(
                    report__task_id__in=list(tasks),
                    report__section_id=line.section_id,
                    report__year=line.run.year,
                    report__quarter__in=quarters,
                )
            )
            .select_related("report__task", "report__section")
            .order_by("report__task_id", "report__quarter", "uploaded_at", "pk")
        )
    return Drilldown(rows=rows, evidence=evidence, manual_facts=list(manual.values()))
