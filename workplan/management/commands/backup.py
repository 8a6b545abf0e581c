"""管理命令：备份全部数据与上传文件为一个归档（.tar.gz）；可只保留最新的若干份。"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workplan.backup import BackupError, backup_create, default_backup_dir, model_title


class Command(BaseCommand):
    help = (
        "备份：一次只读事务内导出全部数据，连同上传文件（MEDIA_ROOT）和清单（各表行数、每个文件的 sha256）"
        "写成一个 .tar.gz 归档。恢复见 manage.py restore。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            "-o",
            default=None,
            help=f"归档路径（以 .tar.gz 结尾）或目录；缺省为 $BACKUP_DIR 或 {default_backup_dir()}",
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            metavar="N",
            help="备份成功后，同一目录下按默认命名（zwgk-backup-*.tar.gz）的归档只保留最新的 N 份",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        keep = options["keep"]
        if keep is not None and keep < 1:
            raise CommandError("--keep 至少为 1")
        try:
            result = backup_create(output=options["output"], keep=keep)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        verbosity = options["verbosity"]
        if verbosity >= 2:
            for label, count in result.counts.items():
                if count:
                    self.stdout.write(f"  {model_title(label)}：{count}")
        rows = sum(result.counts.values())
        self.stdout.write(
            f"已备份：{result.path}（{result.size / 1024 / 1024:.1f} MB，数据 {rows} 行，"
            f"文件 {result.files} 个）\nsha256 {result.sha256}"
        )
        if result.missing_files:
            shown = "、".join(result.missing_files[:10])
            self.stderr.write(
                f"注意：数据中引用的 {len(result.missing_files)} 个文件在上传目录中不存在，未能备份：{shown}"
            )
