"""任务表格回导的差异：校验过的表格与计划现状逐行比较（新增 / 修改 / 未变 / 计划中有而文件中没有），
以及预览页与确认时核对用的摘要（fingerprint）。纯函数，不碰数据库。
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from workplan.sheet_format import RECURRENCE_LABELS, ROLE_BY_KEY, SECTION_JOINER, SectionPick, sheet_issue
from workplan.sheet_reading import ValidatedSheet


@dataclass
class CurrentTask:
    """计划中一项任务的当前值（来自数据库的一次查询）。"""

    id: int
    code: str
    is_heading: bool
    values: dict[str, Any]
    # (section_id, role) → assignment pk
    assignments: dict[tuple[int, str], int] = field(default_factory=dict)

    def section_ids(self, role: str) -> set[int]:
        return {sid for sid, r in self.assignments if r == role}


@dataclass
class PlanSnapshot:
    """回导比较用的计划现状：按编号的任务、最大顺序号、层级序号 → 任务、股室名称。"""

    tasks: dict[str, CurrentTask] = field(default_factory=dict)
    max_position: int = 0
    paths: dict[str, int] = field(default_factory=dict)
    section_names: dict[int, str] = field(default_factory=dict)


@dataclass
class RowChange:
    """文件中一行要做的事：new（新增）/ changed（修改）/ unchanged（未变）。"""

    line: int
    code: str
    action: str
    task_id: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # 要写入的任务字段（修改时只含变化的字段）
    sections: dict[str, list[SectionPick]] = field(default_factory=dict)  # 要重设的分工（只含变化的角色）
    changes: list[dict[str, str]] = field(default_factory=list)  # 给人看的：列名、原值 → 新值


@dataclass
class SheetDiff:
    """回导预览：新增 / 修改（逐字段原值 → 新值）/ 未变 / 错误 / 计划中有而文件中没有（保留不动）。"""

    headers: dict[str, str]
    present: list[str]
    rows: list[RowChange]
    missing: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    section_names: dict[int, str] = field(default_factory=dict)

    def of(self, action: str) -> list[RowChange]:
        return [r for r in self.rows if r.action == action]

    @property
    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.of("new")),
            "changed": len(self.of("changed")),
            "unchanged": len(self.of("unchanged")),
            "missing": len(self.missing),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
        }

    @property
    def fingerprint(self) -> str:
        """新增与修改内容（含原值）的摘要：确认时重新计算，若与预览时不同（计划已被他人改动）则拒绝写入。"""
        payload = [
            (r.line, r.code, r.action, r.task_id, _jsonable(r.fields), _picks_json(r.sections), r.changes)
            for r in self.rows
            if r.action != "unchanged"
        ]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()

    def _filled(self, row: RowChange) -> list[dict[str, str]]:
        """新增行中填了内容的各列（按表头顺序）。"""
        filled = []
        for key in self.present:
            if key in ROLE_BY_KEY:
                value: Any = [p.section_id for p in row.sections.get(key, [])]
            else:
                value = row.fields.get(key)
            if key != "code" and _norm(value) not in ("", []):
                filled.append(_change(self.headers, key, None, value, self.section_names))
        return filled

    def as_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "headers": self.headers,
            "present": self.present,
            "counts": self.counts,
            "fingerprint": self.fingerprint,
            "new": [
                {
                    "line": r.line,
                    "code": r.code,
                    "title": r.fields.get("title", ""),
                    "changes": self._filled(r),
                }
                for r in self.of("new")
            ],
            "changed": [
                {"line": r.line, "code": r.code, "task_id": r.task_id, "changes": r.changes}
                for r in self.of("changed")
            ],
            "unchanged": [r.code for r in self.of("unchanged")],
            "missing": self.missing,
            "errors": self.errors,
            "warnings": self.warnings,
        }


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime.date) else v) for k, v in sorted(values.items())}


def _picks_json(sections: dict[str, list[SectionPick]]) -> dict[str, list[list[Any]]]:
    return {k: [[p.section_id, p.group_id, p.written] for p in v] for k, v in sorted(sections.items())}


def _norm(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return value


def _display(key: str, value: Any, names: dict[int, str] | None = None) -> str:
    if value is None or value == "":
        return "（空）" if key != "recurrence" else str(RECURRENCE_LABELS[""])
    if key == "due_date":
        return value.isoformat()
    if key == "recurrence":
        return str(RECURRENCE_LABELS.get(value, value))
    if key in ROLE_BY_KEY:
        return SECTION_JOINER.join((names or {}).get(sid, f"#{sid}") for sid in value) or "（空）"
    return str(value)


def _change(headers: dict[str, str], key: str, old: Any, new: Any, names: dict[int, str]) -> dict[str, str]:
    return {"column": headers[key], "old": _display(key, old, names), "new": _display(key, new, names)}


def diff_sheet(sheet: ValidatedSheet, snapshot: PlanSnapshot) -> SheetDiff:
    """把校验过的表格与计划现状逐行比较。以任务编号对应；只比较文件中出现的列。

    编号不在计划中 → 新增；编号属于章节标题行 → 错误；字段或分工有变化 → 修改（列出每个变化）；否则未变。
    计划中有、文件中没有的任务保留不动，只在预览中列出。
    """
    errors = list(sheet.errors)
    rows: list[RowChange] = []
    names = snapshot.section_names
    keys = [k for k in sheet.present if k != "code"]
    for row in sheet.rows:
        current = snapshot.tasks.get(row.code)
        if current is None:
            # 新增行的逐列说明只在预览页用得到，留到 as_json 时再生成。
            rows.append(RowChange(row.line, row.code, "new", None, dict(row.values), dict(row.sections)))
            continue
        if current.is_heading:
            errors.append(
                sheet_issue(
                    row.line, f"任务编号“{row.code}”是章节标题，不能在任务表中修改", sheet.headers["code"]
                )
            )
            continue
        fields: dict[str, Any] = {}
        sections: dict[str, list[SectionPick]] = {}
        changes: list[dict[str, str]] = []
        for key in keys:
            if key in ROLE_BY_KEY:
                picks = row.sections[key]
                new_ids = [p.section_id for p in picks]
                old_ids = sorted(current.section_ids(ROLE_BY_KEY[key]), key=lambda sid: names.get(sid, ""))
                if set(old_ids) != set(new_ids):
                    sections[key] = picks
                    changes.append(_change(sheet.headers, key, old_ids, new_ids, names))
                continue
            new = row.values[key]
            old = current.values.get(key)
            if _norm(old) != _norm(new):
                fields[key] = new
                changes.append(_change(sheet.headers, key, old, new, names))
        action = "changed" if changes else "unchanged"
        rows.append(RowChange(row.line, row.code, action, current.id, fields, sections, changes))
    in_file = {r.code for r in sheet.rows}
    missing = [
        {"code": t.code, "task_id": t.id, "title": t.values.get("title", "")}
        for t in snapshot.tasks.values()
        if not t.is_heading and t.code not in in_file
    ]
    return SheetDiff(sheet.headers, sheet.present, rows, missing, errors, sheet.warnings, names)
