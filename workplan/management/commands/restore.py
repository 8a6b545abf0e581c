"""管理命令：把 backup 生成的归档恢复到一个空数据库（新建并 migrate 之后）；--check 只校验归档。"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workplan.backup import model_title
from workplan.restoring import RestoreRefused, archive_verify, backup_restore


class Command(BaseCommand):
    help = (
        "恢复：核对归档清单（sha256）后，在一次事务内把数据载入空数据库、写回上传文件、重置主键序列，"
        "并列出各表行数。数据库必须是空的：先建库并运行 migrate。--check 只校验归档，不动数据库。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="backup 生成的 .tar.gz 归档")
        parser.add_argument("--check", action="store_true", help="只校验归档（清单与 sha256），不写数据库")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        try:
            if options["check"]:
                self._check(path)
            else:
                self._restore(path)
        except RestoreRefused as exc:
            raise CommandError(f"未恢复：{exc}") from exc

    def _check(self, path: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="zwgk-restore-check-") as tmp:
            manifest = archive_verify(path, Path(tmp))
        counts: dict[str, int] = manifest["counts"]
        created, version = manifest.get("created_at", ""), manifest.get("app_version", "")
        self.stdout.write(
            f"归档完好：备份于 {created}（程序版本 {version}），"
            f"数据 {sum(counts.values())} 行，文件 {len(manifest['members']) - 1} 个，sha256 全部相符"
        )

    def _restore(self, path: Path) -> None:
        result = backup_restore(archive=path, log=self.stdout.write)
        for warning in result.warnings:
            self.stderr.write(f"注意：{warning}")
        for label, count in sorted(result.counts.items()):
            self.stdout.write(f"  {model_title(label)}：{count}")
        skipped = f"（{result.files_skipped} 个已存在且内容相同，跳过）" if result.files_skipped else ""
        self.stdout.write(
            f"已恢复：数据 {sum(result.counts.values())} 行，{len(result.counts)} 张表；"
            f"上传文件 {result.files} 个{skipped}。会话不在备份中，所有用户需重新登录。"
        )
