"""计划解析结果的数据结构（纯 Python，无 ORM）：任务、警告与错误，均带原文行号。"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ParseIssue:
    """一条警告或错误。line 为原文行号（表格则为行号），column 为原表头文字（如有）。"""

    line: int | None
    message: str
    column: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class ParsedTask:
    """解析出的一项。number 为本级序号原文（如“（一）”），number_path 为层级路径（如“一/（一）”）。

    lead_sections / responsible_sections 保留文件中的写法（含集合称谓，如“各相关股室”）。
    is_heading 为 True 表示这是章节标题（如“一、服务经济高质量发展…”），不是要落实的任务。
    recurrence 取值：""（一次性）、monthly、quarterly、half_yearly、yearly、continuous。
    """

    number: str
    number_path: str
    level: int
    title: str
    body: str = ""
    lead_sections: list[str] = field(default_factory=list)
    responsible_sections: list[str] = field(default_factory=list)
    deadline_text: str = ""
    due_date: datetime.date | None = None
    recurrence: str = ""
    annotation_text: str = ""
    line: int | None = None
    is_heading: bool = False

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["due_date"] = self.due_date.isoformat() if self.due_date else None
        return data


@dataclass
class ParseResult:
    """整份文件的解析结果。tasks 按原文顺序，包含章节标题行（is_heading=True）。"""

    tasks: list[ParsedTask] = field(default_factory=list)
    warnings: list[ParseIssue] = field(default_factory=list)
    errors: list[ParseIssue] = field(default_factory=list)
    title: str = ""
    issuing_unit: str = ""
    year: int | None = None
    parent_doc_number: str = ""
    preamble: str = ""
    layout: str = ""  # "prose" | "table"

    @property
    def actionable(self) -> list[ParsedTask]:
        return [t for t in self.tasks if not t.is_heading]

    def as_json(self, *, include_headings: bool = False) -> dict[str, Any]:
        """`import_plan --dry-run --format json` 的输出形状。"""
        keys = (
            "number",
            "title",
            "body",
            "lead_sections",
            "responsible_sections",
            "deadline_text",
            "due_date",
            "recurrence",
        )
        rows = self.tasks if include_headings else self.actionable
        tasks = []
        for t in rows:
            full = t.as_json()
            item = {k: full[k] for k in keys}
            item["number_path"] = t.number_path
            item["line"] = t.line
            tasks.append(item)
        return {
            "title": self.title,
            "issuing_unit": self.issuing_unit,
            "year": self.year,
            "parent_doc_number": self.parent_doc_number,
            "layout": self.layout,
            "tasks": tasks,
            "warnings": [w.as_dict() for w in self.warnings],
            "errors": [e.as_dict() for e in self.errors],
        }
