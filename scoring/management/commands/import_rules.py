"""管理命令：导入评分细则文件（YAML）为草稿，可同时发布；--check 只校验、不写数据库。"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.rulefile import RuleFileError
from scoring.rulesets import RuleSetRefused, ruleset_check, ruleset_import, ruleset_publish
from workplan.models import User


class Command(BaseCommand):
    help = "导入评分细则文件（YAML）为草稿；--publish 导入后发布；--check 只校验并列出错误（含行号），不写数据库"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="细则文件路径（可写多个）")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--check", action="store_true", help="只校验，不写数据库；有错误时退出码为 1")
        mode.add_argument("--publish", action="store_true", help="导入后立即发布（发布后不可修改）")
        parser.add_argument("--user", default=None, help="记为导入人的用户名")

    def handle(self, *args: Any, **options: Any) -> None:
        texts = [(path, self._read(Path(path))) for path in options["paths"]]
        if options["check"]:
            self._check(texts)
            return
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"用户不存在：{options['user']}")
        # 先全部校验，任何一个文件有错都不导入，避免只导入一半。
        self._check(texts, quiet=True)
        for path, text in texts:
            try:
                record = ruleset_import(text=text, user=user)
                if options["publish"]:
                    record = ruleset_publish(ruleset=record, user=user)
            except RuleSetRefused as exc:
                self._write_errors(path, exc.errors)
                raise CommandError(f"{path}：{exc.message}") from exc
            self.stdout.write(
                f"{path}：已导入《{record.name}》（{record.code} v{record.version}，{record.year}年，"
                f"{record.get_status_display()}）：指标 {record.indicators.count()} 个，"
                f"规则 {record.rules.count()} 条。"
            )

    def _read(self, path: Path) -> str:
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        try:
            return path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path}：不是 UTF-8 编码的文本文件") from exc

    def _check(self, texts: list[tuple[str, str]], *, quiet: bool = False) -> None:
        failed = 0
        for path, text in texts:
            rule_file, errors = ruleset_check(text=text)
            if rule_file is None:
                failed += 1
                self._write_errors(path, errors)
            elif not quiet:
                rs = rule_file.ruleset
                self.stdout.write(
                    f"{path}：无错误。《{rs.name}》（{rs.code} v{rs.version}）指标 {len(rs.indicators)} 个，"
                    f"规则 {len(rs.rules)} 条。"
                )
        if failed:
            raise CommandError(f"{failed}个文件有错误，未写入数据库")

    def _write_errors(self, path: str, errors: list[RuleFileError]) -> None:
        if errors:
            self.stderr.write(f"{path}：{len(errors)}处错误")
        for error in errors:
            self.stderr.write(f"  {error}")
