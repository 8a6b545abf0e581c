"""计划导入的第一步：上传文件 → 检查、解析、对应股室名称 → 保存为一条“待确认”的 PlanImport（预览）。

预览只写这一条记录（含上传文件与解析结果 JSON）；预览页的表格数据也从这条记录生成，不再查库。
确认、取消与一步导入见 importing.py。
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from workplan.audit import audit_record
from workplan.models import PlanImport, Recurrence, User, WorkPlan
from workplan.parsers import ParseResult, parse_plan_bytes
from workplan.parsers.readers import SUPPORTED_EXTENSIONS
from workplan.parsers.text import to_simplified
from workplan.sections import SectionResolver


class ImportRefused(Exception):
    """导入被拒绝（文件过大、为空、类型不支持、解析不出任务、决定不完整…）。message 是给用户看的中文说明。

    抛出时数据库中没有任何写入。issues 为解析器给出的错误（带行号），供页面逐条展示。
    """

    def __init__(self, message: str, issues: Iterable[dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.issues = list(issues)


# ---------------------------------------------------------------- helpers


def clean_filename(name: str) -> str:
    """只保留文件名本身（浏览器可能带上 Windows 路径），去掉控制字符。"""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip()
    return base[:255] or "upload"


def _extension(name: str) -> str:
    return ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""


def _format_size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def check_upload(*, name: str, size: int) -> None:
    """文件名与大小的前置检查（读入内容之前即可做）：超过 MAX_UPLOAD_BYTES、0 字节、类型不支持都拒收。"""
    limit: int = settings.MAX_UPLOAD_BYTES
    if size > limit:
        raise ImportRefused(
            f"文件过大（{_format_size(size)}），上限为 {_format_size(limit)}。请删去附件、图片后再上传。"
        )
    if size == 0:
        raise ImportRefused("文件是空的（0 字节），请重新选择文件。")
    ext = _extension(name)
    if ext not in SUPPORTED_EXTENSIONS:
        shown = f"“{ext}”" if ext else "（无扩展名）"
        allowed = "、".join(SUPPORTED_EXTENSIONS)
        raise ImportRefused(f"不支持的文件类型{shown}，请上传 {allowed} 文件。")


def parse_json(parsed: ParseResult) -> dict[str, Any]:
    """预览与确认共用的解析结果 JSON：含章节标题行与每项的全部字段（层级、分工原文、行号）。"""
    return {
        "title": parsed.title,
        "issuing_unit": parsed.issuing_unit,
        "year": parsed.year,
        "parent_doc_number": parsed.parent_doc_number,
        "preamble": parsed.preamble,
        "layout": parsed.layout,
        "tasks": [t.as_json() for t in parsed.tasks],
        "warnings": [w.as_dict() for w in parsed.warnings],
        "errors": [e.as_dict() for e in parsed.errors],
    }


def written_names(tasks: Iterable[dict[str, Any]]) -> list[str]:
    """文件中出现过的全部股室写法（牵头与责任），按首次出现的顺序、去重。"""
    seen: dict[str, None] = {}
    for t in tasks:
        for name in [*t.get("lead_sections", []), *t.get("responsible_sections", [])]:
            name = (name or "").strip()
            if name:
                seen.setdefault(name, None)
    return list(seen)


def _resolve_names(names: Iterable[str], resolver: SectionResolver) -> dict[str, dict[str, Any]]:
    """写法 → 解析结果（可存 JSON）。股室组的成员名称、建议股室的编号都取自已载入的 resolver，不再查库。"""
    section_names = {pk: name for pk, name in resolver.sections.values()}
    pk_by_name = {name: pk for pk, name in section_names.items()}
    out: dict[str, dict[str, Any]] = {}
    for written in names:
        r = resolver.resolve(written)
        out[written] = {
            "kind": r.kind,
            "section_id": r.section_id,
            "section_name": r.section_name,
            "group_id": r.group_id,
            "group_name": r.group_name,
            "member_ids": list(r.member_ids),
            "members": [section_names.get(pk, "") for pk in r.member_ids],
            "suggestion": r.suggestion,
            "suggestion_id": pk_by_name.get(r.suggestion) if r.suggestion else None,
        }
    return out


def _duplicate_of(sha256: str) -> dict[str, Any] | None:
    plan = WorkPlan.objects.filter(source_sha256=sha256).order_by("created_at").first()
    if plan is None:
        return None
    when = timezone.localtime(plan.created_at).strftime("%Y-%m-%d %H:%M")
    return {
        "plan_id": plan.pk,
        "title": plan.title,
        "year": plan.year,
        "message": f"此文件已于{when}导入为《{plan.title}》（{plan.year}年），再次确认将生成重复的计划。",
    }


def default_title(plan_import: PlanImport, *, year: int | None = None) -> str:
    """计划标题：文件中识别出的标题；没有时用“{发文单位}{年度}年政务公开工作要点”；再没有用文件名。"""
    parse = (plan_import.result or {}).get("parse") or {}
    if parse.get("title"):
        return str(parse["title"])[:255]
    year = year or plan_import.year or parse.get("year")
    if parse.get("issuing_unit") and year:
        # 界面为简体：发文单位按简体写进标题，避免“樟樹市統計局2023年政务公开工作要点”这样的繁简混排。
        return f"{to_simplified(parse['issuing_unit'])}{year}年政务公开工作要点"[:255]
    return plan_import.source_name.rsplit(".", 1)[0][:255] or "政务公开工作要点"


# ---------------------------------------------------------------- preview


def plan_import_preview(
    *, name: str, data: bytes, year: int | None, user: User | None, request: HttpRequest | None = None
) -> PlanImport:
    """上传并预览：检查文件、解析、对应股室名称，保存为一条“待确认”的导入记录。

    规则：超过 MAX_UPLOAD_BYTES、空文件、类型不支持、解析不出任何任务的，抛 ImportRefused，不写任何东西。
    文件中出现的每个股室写法（牵头、责任）都用 SectionResolver 对应一次（整批 3–4 条查询）；
    已有同一指纹（sha256）的计划时，在结果中给出重复提示，但仍允许预览。
    """
    filename = clean_filename(name)
    check_upload(name=filename, size=len(data))
    parsed = parse_plan_bytes(filename, data, year=year)
    errors = [e.as_dict() for e in parsed.errors]
    if not parsed.actionable:
        message = (
            parsed.errors[0].message
            if parsed.errors
            else "文件中没有识别出任何任务（未找到“（一）”“1.”等编号的条目）。"
        )
        raise ImportRefused(message, issues=errors)

    sha256 = hashlib.sha256(data).hexdigest()
    duplicate = _duplicate_of(sha256)
    parse = parse_json(parsed)
    names = _resolve_names(written_names(parse["tasks"]), SectionResolver.load())
    unknown = [n for n, info in names.items() if info["kind"] == "unknown"]
    result: dict[str, Any] = {
        "parse": parse,
        "names": names,
        "duplicate": duplicate,
        "summary": {
            "tasks": len(parsed.actionable),
            "headings": len(parsed.tasks) - len(parsed.actionable),
            "warnings": len(parsed.warnings),
            "errors": len(parsed.errors),
            "unknown": unknown,
        },
    }
    with transaction.atomic():
        plan_import = PlanImport(
            kind=PlanImport.Kind.DOCUMENT,
            source_name=filename,
            source_sha256=sha256,
            year=year or parsed.year,
            status=PlanImport.Status.PREVIEW,
            result=result,
            created_by=user,
        )
        plan_import.source_file.save(filename, ContentFile(data), save=False)
        plan_import.save()
        audit_record(
            action="plan.import.preview",
            user=user,
            obj=plan_import,
            new={
                "file": filename,
                "sha256": sha256,
                **result["summary"],
                "duplicate_of": (duplicate or {}).get("plan_id"),
            },
            request=request,
        )
    return plan_import


# ---------------------------------------------------------------- presentation (pure, for the preview page)


def _tag(written: str, names: dict[str, dict[str, Any]]) -> dict[str, Any]:
    info = names.get(written) or {"kind": "unknown"}
    return {
        "written": written,
        **info,
        "differs": info.get("kind") == "section" and info.get("section_name") != written,
    }


def preview_rows(plan_import: PlanImport) -> list[dict[str, Any]]:
    """预览表格的行：每项任务及其牵头、责任写法的对应情况（section / group / unknown）。纯数据，不查库。"""
    result = plan_import.result or {}
    names: dict[str, dict[str, Any]] = result.get("names") or {}
    labels = dict(Recurrence.choices)
    rows = []
    for t in (result.get("parse") or {}).get("tasks") or []:
        rows.append(
            {
                **t,
                "leads": [_tag(n, names) for n in t.get("lead_sections", [])],
                "responsibles": [_tag(n, names) for n in t.get("responsible_sections", [])],
                "recurrence_label": labels.get(t.get("recurrence") or "", "") if t.get("recurrence") else "",
            }
        )
    return rows


def unknown_names(plan_import: PlanImport) -> list[dict[str, Any]]:
    """需要办公室决定的未知写法（按首次出现顺序），带建议股室。"""
    names: dict[str, dict[str, Any]] = (plan_import.result or {}).get("names") or {}
    return [{"written": n, **info} for n, info in names.items() if info.get("kind") == "unknown"]
