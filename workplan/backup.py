"""数据备份：一份归档（.tar.gz）= 全部数据（一次只读事务内导出）+ 上传文件（MEDIA_ROOT）+ 清单。

数据是 Django 序列化的 JSON Lines（data.jsonl），SQLite 与 PostgreSQL 通用。归档的格式（成员名、清单、
不备份的模型）也定义在这里；把归档恢复到空数据库见 restoring.py。
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import django
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.serializers import jsonl
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from workplan.audit import audit_record

FORMAT = "zwgk-backup/1"
DATA_MEMBER = "data.jsonl"
MANIFEST_MEMBER = "manifest.json"
MEDIA_PREFIX = "media/"
ARCHIVE_PREFIX = "zwgk-backup-"
ARCHIVE_SUFFIX = ".tar.gz"
CHUNK = 1024 * 1024

# Not in the archive: content types and permissions are created again by `migrate` (rows that point at
# them are written with natural keys); sessions, login-lockout counters and the django-q2 queue and task
# results are transient.
EXCLUDED_MODELS = frozenset(
    {
        "contenttypes.contenttype",
        "auth.permission",
        "sessions.session",
        "django_q.task",
        "django_q.ormq",
        "axes.accessattempt",
        "axes.accessattemptexpiration",
    }
)
# Foreign keys to these models are written as natural keys (["import_task", "workplan", "task"]), all
# others by id: a fresh database numbers its content types and permissions in its own order.
NATURAL_KEY_MODELS: tuple[type[models.Model], ...] = (ContentType, Permission)


class BackupError(Exception):
    """备份失败；message 是给管理员看的中文说明。"""


@dataclass
class BackupResult:
    path: Path
    size: int
    sha256: str
    counts: dict[str, int]
    files: int
    missing_files: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- helpers


def backup_models() -> list[type[models.Model]]:
    """进归档的模型：除 EXCLUDED_MODELS 以外的全部具体模型（多对多的中间表随所属模型一起导出）。"""
    return [
        m
        for m in apps.get_models()
        if m._meta.managed and not m._meta.proxy and m._meta.label_lower not in EXCLUDED_MODELS
    ]


def model_title(label: str) -> str:
    """“workplan.task” → “工作任务（workplan.task）”，命令输出用。"""
    try:
        model = apps.get_model(label)
    except LookupError:
        return label
    return f"{model._meta.verbose_name_plural}（{label}）"


def app_version() -> str:
    try:
        return importlib.metadata.version("zwgk-workplan")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def default_backup_dir() -> Path:
    return Path(os.environ.get("BACKUP_DIR") or Path(settings.VAR_DIR) / "backups")


def archive_name(now: datetime.datetime) -> str:
    return f"{ARCHIVE_PREFIX}{timezone.localtime(now):%Y%m%d-%H%M%S}{ARCHIVE_SUFFIX}"


class _ExactJSONEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder 把时间截到毫秒；备份保留微秒（审计日志、报送历史按时间排序）。"""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime):
            return o.isoformat()
        return super().default(o)


class _NaturalKeySerializer(jsonl.Serializer):
    """JSON Lines；只有指向内容类型、权限的外键与多对多用自然键，其余按 id（见 NATURAL_KEY_MODELS）。"""

    def handle_fk_field(self, obj: models.Model, field: Any) -> None:
        self.use_natural_foreign_keys = field.remote_field.model in NATURAL_KEY_MODELS
        super().handle_fk_field(obj, field)

    def handle_m2m_field(self, obj: models.Model, field: Any) -> None:
        self.use_natural_foreign_keys = field.remote_field.model in NATURAL_KEY_MODELS
        super().handle_m2m_field(obj, field)


class HashingReader:
    """边读边算 sha256（写入归档、从归档取出时各算一遍）。"""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def applied_migrations(using: str) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app_label, name in sorted(MigrationRecorder(connections[using]).applied_migrations()):
        applied.setdefault(app_label, []).append(name)
    return applied


def _unapplied_migrations(using: str) -> list[str]:
    executor = MigrationExecutor(connections[using])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


@contextmanager
def _read_snapshot(using: str) -> Iterator[str]:
    """一次只读事务：PostgreSQL 为 REPEATABLE READ（整个导出看到同一时刻的数据）；SQLite 为普通 BEGIN
    （不用设置里的 IMMEDIATE，读事务不拿写锁；第一次读取起持有共享锁，读到的也是同一时刻的数据）。
    已在事务中（调用方自己的事务、测试）时沿用外层事务。返回所用的隔离说明，写进清单。"""
    connection = connections[using]
    if connection.in_atomic_block:
        with transaction.atomic(using=using):
            yield "外层事务"
        return
    if connection.vendor == "postgresql":
        with transaction.atomic(using=using):
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield "REPEATABLE READ READ ONLY"
        return
    if connection.vendor == "sqlite":
        # Connecting (re)reads transaction_mode from OPTIONS: connect first, then override it for one BEGIN.
        connection.ensure_connection()
        saved = getattr(connection, "transaction_mode", None)
        connection.transaction_mode = None  # type: ignore[attr-defined]
        try:
            with transaction.atomic(using=using):
                connection.transaction_mode = saved  # type: ignore[attr-defined]
                yield "BEGIN DEFERRED（单一读事务）"
        finally:
            connection.transaction_mode = saved  # type: ignore[attr-defined]
        return
    with transaction.atomic(using=using):
        yield "默认隔离级别"


def _objects(
    model_list: Iterable[type[models.Model]], using: str, counts: dict[str, int], files: set[str]
) -> Iterator[models.Model]:
    """按模型、按主键顺序逐行读出；同时计数并记下文件字段引用的文件名。"""
    for model in model_list:
        label = model._meta.label_lower
        file_fields = [f.attname for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
        qs = model._base_manager.using(using).order_by("pk")
        m2m = [f.name for f in model._meta.many_to_many]
        if m2m:
            qs = qs.prefetch_related(*m2m)
        counts[label] = 0
        for obj in qs.iterator(chunk_size=2000):
            counts[label] += 1
            for attname in file_fields:
                name = getattr(obj, attname)
                if name:
                    files.add(str(name))
            yield obj


def _media_files(media_root: Path, *, skip: Path) -> list[tuple[str, Path]]:
    """MEDIA_ROOT 下的全部普通文件（不跟随符号链接），按相对路径排序。"""
    if not media_root.is_dir():
        return []
    found: list[tuple[str, Path]] = []
    for dirpath, _dirnames, filenames in os.walk(media_root):
        for filename in filenames:
            path = Path(dirpath) / filename
            if path.is_symlink() or not path.is_file() or path == skip:
                continue
            found.append((path.relative_to(media_root).as_posix(), path))
    return sorted(found)


def _add_member(tar: tarfile.TarFile, arcname: str, path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        info = tarfile.TarInfo(arcname)
        stat = os.fstat(f.fileno())
        info.size = stat.st_size
        info.mtime = int(stat.st_mtime)
        info.mode = 0o600
        reader = HashingReader(f)
        tar.addfile(info, reader)  # type: ignore[arg-type]
    return {"sha256": reader.digest.hexdigest(), "size": reader.size}


def _add_bytes(tar: tarfile.TarFile, arcname: str, data: bytes) -> None:
    info = tarfile.TarInfo(arcname)
    info.size = len(data)
    info.mtime = int(timezone.now().timestamp())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _resolve_output(output: Path | str | None, now: datetime.datetime) -> Path:
    """缺省为备份目录下按时间命名；给出目录（已存在，或以 / 结尾）时在其中按时间命名。"""
    if output is None or str(output) == "":
        return default_backup_dir() / archive_name(now)
    path = Path(output)
    if path.is_dir() or str(output).endswith(("/", os.sep)):
        return path / archive_name(now)
    if not path.name.endswith((".tar.gz", ".tgz")):
        raise BackupError(f"备份文件名须以 .tar.gz 结尾（或给出一个目录）：{output}")
    return path


def _prune(directory: Path, keep: int) -> list[Path]:
    """只删本命令按默认命名写出的归档（zwgk-backup-*.tar.gz），保留最新的 keep 份。"""
    archives = sorted(
        directory.glob(f"{ARCHIVE_PREFIX}*{ARCHIVE_SUFFIX}"), key=lambda p: p.name, reverse=True
    )
    removed = archives[keep:]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


# ---------------------------------------------------------------- backup


def backup_create(
    *, output: Path | str | None = None, keep: int | None = None, using: str = DEFAULT_DB_ALIAS
) -> BackupResult:
    """备份：在一次只读事务内把全部数据导出为 data.jsonl（不含会话、登录锁定计数、后台任务队列与结果；
    内容类型与权限由 migrate 重建，按自然键引用），事务结束后打包 MEDIA_ROOT 下的全部文件，最后写清单：
    生成时间、程序版本、已应用的迁移、各模型行数、每个成员的 sha256 与大小、数据中引用但磁盘上缺失的文件。

    先写 “.partial” 文件，完成后改名，半截的归档不会冒充完整备份；归档权限 0600（含密码哈希与个人信息）。
    keep 给出时，删除同一目录下按默认命名的旧归档，只保留最新的 keep 份。写一条审计日志 backup.create。
    """
    pending = _unapplied_migrations(using)
    if pending:
        raise BackupError(
            f"数据库的表结构与程序版本不一致（未应用的迁移：{'、'.join(pending[:5])}）：请用与数据库同一版本的"
            "程序备份，或先运行 migrate"
        )
    now = timezone.now()
    media_root = Path(settings.MEDIA_ROOT).resolve()
    path = _resolve_output(output, now).absolute()
    if path.resolve().is_relative_to(media_root):
        raise BackupError(f"备份文件不能放在上传目录（MEDIA_ROOT）之内：{path}")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(path.name + ".partial")
    counts: dict[str, int] = {}
    referenced: set[str] = set()

    with tempfile.TemporaryDirectory(prefix="zwgk-backup-") as tmp:
        data_path = Path(tmp) / DATA_MEMBER
        with _read_snapshot(using) as isolation:
            migrations = applied_migrations(using)
            with data_path.open("w", encoding="utf-8") as stream:
                _NaturalKeySerializer().serialize(
                    _objects(backup_models(), using, counts, referenced), stream=stream, cls=_ExactJSONEncoder
                )
        # Files are copied after the read transaction ends, so a long copy never holds SQLite's lock.
        media = _media_files(media_root, skip=partial)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as raw:
                with tarfile.open(
                    fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT, encoding="utf-8"
                ) as tar:
                    members = {DATA_MEMBER: _add_member(tar, DATA_MEMBER, data_path)}
                    for rel, file_path in media:
                        try:
                            members[MEDIA_PREFIX + rel] = _add_member(tar, MEDIA_PREFIX + rel, file_path)
                        except FileNotFoundError:  # deleted while we were copying
                            continue
                    stored = {n[len(MEDIA_PREFIX) :] for n in members if n.startswith(MEDIA_PREFIX)}
                    missing = sorted(referenced - stored)
                    manifest = {
                        "format": FORMAT,
                        "created_at": timezone.localtime(now).isoformat(),
                        "app_version": app_version(),
                        "django_version": django.get_version(),
                        "database": {"vendor": connections[using].vendor, "isolation": isolation},
                        "migrations": migrations,
                        "counts": counts,
                        "media": {
                            "files": len(stored),
                            "bytes": sum(m["size"] for n, m in members.items() if n.startswith(MEDIA_PREFIX)),
                            "missing": missing,
                        },
                        "members": members,
                    }
                    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
                    _add_bytes(tar, MANIFEST_MEMBER, manifest_bytes)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    result = BackupResult(
        path=path,
        size=path.stat().st_size,
        sha256=sha256_file(path),
        counts=counts,
        files=len(stored),
        missing_files=missing,
    )
    audit_record(
        action="backup.create",
        new={
            "path": str(path),
            "size": result.size,
            "sha256": result.sha256,
            "rows": sum(counts.values()),
            "files": result.files,
            "missing_files": missing[:50],
        },
        username="manage.py backup",
        object_repr=path.name,
    )
    if keep is not None:
        _prune(path.parent, keep)
    return result
