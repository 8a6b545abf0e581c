"""管理命令：从文件导入政务公开工作要点（工作计划）；--dry-run 只解析、不写数据库。"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workplan.import_preview import ImportRefused, check_upload
from workplan.importing import plan_import_from_bytes
from workplan.models import User
from workplan.parsers import ParseResult, parse_plan_bytes


class Command(BaseCommand):
    help = "导入工作要点文件（.txt/.docx/.xlsx/.csv）为工作计划；--dry-run 只显示解析结果，不写数据库"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="文件路径")
        parser.add_argument("--year", type=int, default=None, help="年度（默认从文件中识别）")
        parser.add_argument("--dry-run", action="store_true", help="只解析并输出结果，不写数据库")
        parser.add_argument("--format", choices=["json", "text"], default="text", help="输出格式")
        parser.add_argument("--user", default=None, help="记为导入人的用户名")
        parser.add_argument(
            "--unknown",
            choices=["create", "skip"],
            default="create",
            help="文件中的未知股室名称：create 新建股室（默认），skip 忽略相关分工",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        try:
            check_upload(name=path.name, size=path.stat().st_size)
        except ImportRefused as exc:
            raise CommandError(exc.message) from exc
        data = path.read_bytes()
        if options["dry_run"]:
            self._dry_run(path.name, data, options)
        else:
            self._import(path.name, data, options)

    def _dry_run(self, name: str, data: bytes, options: dict[str, Any]) -> None:
        result = parse_plan_bytes(name, data, year=options["year"])
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        else:
            self._print_parse(result)
        if not result.actionable:
            raise CommandError(self._no_tasks_message(result))

    def _import(self, name: str, data: bytes, options: dict[str, Any]) -> None:
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"用户不存在：{options['user']}")
        plan, plan_import = plan_import_from_bytes(
            name=name, data=data, year=options["year"], user=user, unknown=options["unknown"]
        )
        if plan is None:
            issues = plan_import.result.get("errors") or []
            for issue in issues:
                self.stderr.write(self._issue_text(issue))
            raise CommandError(plan_import.result.get("error") or "导入失败")
        summary = (plan_import.result or {}).get("confirm") or {}
        skipped = bool((plan_import.result or {}).get("skipped"))
        if options["format"] == "json":
            out = {"plan_id": plan.pk, "title": plan.title, "year": plan.year, "skipped": skipped, **summary}
            self.stdout.write(json.dumps(out, ensure_ascii=False, indent=2))
            return
        if skipped:
            self.stdout.write(
                f"此文件已导入为《{plan.title}》（{plan.year}年，编号 {plan.pk}），未重复导入。"
            )
            return
        self.stdout.write(
            f"已导入《{plan.title}》（{plan.year}年，编号 {plan.pk}）：任务 {summary.get('tasks', 0)} 项，"
            f"章节标题 {summary.get('headings', 0)} 个，分工 {summary.get('assignments', 0)} 条；"
            f"新建股室 {summary.get('sections_created', 0)} 个"
            + (f"（{'、'.join(summary['created_names'])}）" if summary.get("created_names") else "")
            + f"，新增别名 {summary.get('aliases_created', 0)} 个。"
        )
        parse_warnings = ((plan_import.result or {}).get("parse") or {}).get("warnings") or []
        warnings = [self._issue_text(w) for w in parse_warnings] + list(summary.get("warnings") or [])
        self.stdout.write(f"警告 {len(warnings)} 条" + ("：" if warnings else "。"))
        for w in warnings:
            self.stdout.write(f"  - {w}")

    def _print_parse(self, result: ParseResult) -> None:
        self.stdout.write(f"标题：{result.title or '（未识别）'}")
        self.stdout.write(
            f"发文单位：{result.issuing_unit or '—'}　年度：{result.year or '—'}　"
            f"上级计划文号：{result.parent_doc_number or '—'}"
        )
        self.stdout.write(
            f"任务 {len(result.actionable)} 项，章节标题 {len(result.tasks) - len(result.actionable)} 个"
        )
        for t in result.tasks:
            if t.is_heading:
                self.stdout.write(f"{t.number or t.number_path}{t.title}")
                continue
            line = f"  {t.number_path} {t.title}  牵头：{'、'.join(t.lead_sections) or '—'}"
            line += f"；责任：{'、'.join(t.responsible_sections) or '—'}"
            if t.deadline_text or t.due_date:
                line += f"；时限：{t.deadline_text or ''}{f'（{t.due_date}）' if t.due_date else ''}"
            self.stdout.write(line)
        for label, issues in (("警告", result.warnings), ("错误", result.errors)):
            for issue in issues:
                self.stdout.write(f"{label}：{self._issue_text(issue.as_dict())}")

    @staticmethod
    def _issue_text(issue: dict[str, Any]) -> str:
        where = f"第{issue['line']}行：" if issue.get("line") else ""
        column = f"[{issue['column']}] " if issue.get("column") else ""
        return f"{where}{column}{issue.get('message', '')}"

    @staticmethod
    def _no_tasks_message(result: ParseResult) -> str:
        if result.errors:
            return "文件中没有识别出任何任务：" + "；".join(e.message for e in result.errors[:3])
        return "文件中没有识别出任何任务。"
