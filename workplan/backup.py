"""数据备份与恢复：一份归档（.tar.gz）= 全部数据（一次只读事务内导出）+ 上传文件（MEDIA_ROOT）+ 清单。

恢复只进空数据库（新建并 migrate 之后）：先核对清单中每个成员的 sha256，再在一次事务内载入数据、写回文件、
重置主键序列（PostgreSQL）。数据是 Django 序列化的 JSON Lines（data.jsonl），SQLite 与 PostgreSQL 通用。
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import io
import json
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import django
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.management.color import no_style
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


class RestoreRefused(Exception):
    """恢复被拒绝（归档损坏、校验不符、数据库非空、版本不符……）；数据库与文件都没有改动。"""


@dataclass
class BackupResult:
    path: Path
    size: int
    sha256: str
    counts: dict[str, int]
    files: int
    missing_files: list[str] = field(default_factory=list)


@dataclass
class RestoreResult:
    counts: dict[str, int]
    files: int
    files_skipped: int
    warnings: list[str] = field(default_factory=list)


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


class _HashingReader:
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


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _applied_migrations(using: str) -> dict[str, list[str]]:
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
        reader = _HashingReader(f)
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
            migrations = _applied_migrations(using)
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
        sha256=_sha256_file(path),
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


# ---------------------------------------------------------------- restore


def _member_target(name: str) -> PurePosixPath:
    """归档成员名 → 安全的相对路径；绝对路径、“..”、反斜杠、控制字符一律拒绝（防止写出目录之外）。"""
    if not name or "\\" in name or any(ord(c) < 32 for c in name):
        raise RestoreRefused(f"归档中有不安全的文件名：{name!r}")
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("", ".", "..") for part in name.split("/")):
        raise RestoreRefused(f"归档中有不安全的文件名：{name!r}")
    if name not in (DATA_MEMBER, MANIFEST_MEMBER) and not name.startswith(MEDIA_PREFIX):
        raise RestoreRefused(f"归档中有不认识的成员：{name}")
    if name.startswith(MEDIA_PREFIX) and len(path.parts) < 2:
        raise RestoreRefused(f"归档中有不安全的文件名：{name!r}")
    return path


def _stage(archive: Path, staging: Path) -> dict[str, dict[str, Any]]:
    """把归档逐个成员取到暂存目录（不用 extractall），同时计算 sha256；只接受普通文件。"""
    found: dict[str, dict[str, Any]] = {}
    try:
        tar = tarfile.open(archive, mode="r:*", encoding="utf-8")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise RestoreRefused(f"不是有效的备份归档（.tar.gz）：{archive}（{exc}）") from exc
    with tar:
        try:
            for member in tar:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise RestoreRefused(f"归档中有非普通文件（链接或设备）：{member.name}")
                rel = _member_target(member.name)
                if member.name in found:
                    raise RestoreRefused(f"归档中有重复的成员：{member.name}")
                source = tar.extractfile(member)
                if source is None:
                    raise RestoreRefused(f"无法读取归档成员：{member.name}")
                target = staging.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                reader = _HashingReader(source)
                with target.open("wb") as out:
                    shutil.copyfileobj(reader, out, CHUNK)  # type: ignore[misc]
                found[member.name] = {"sha256": reader.digest.hexdigest(), "size": reader.size}
        except (tarfile.TarError, EOFError, OSError, UnicodeError, zlib.error) as exc:
            raise RestoreRefused(f"备份归档已损坏，无法读取：{exc}") from exc
    return found


def _read_manifest(staging: Path, found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if MANIFEST_MEMBER not in found:
        raise RestoreRefused("归档中没有清单（manifest.json），不是本系统的备份或已损坏")
    try:
        manifest = json.loads((staging / MANIFEST_MEMBER).read_text(encoding="utf-8"))
    except (ValueError, UnicodeError) as exc:
        raise RestoreRefused(f"清单（manifest.json）无法解析：{exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        shown = manifest.get("format") if isinstance(manifest, dict) else None
        raise RestoreRefused(f"备份格式不符：{shown!r}，本程序只能恢复 {FORMAT}")
    for key in ("members", "counts", "migrations"):
        if not isinstance(manifest.get(key), dict):
            raise RestoreRefused(f"清单中缺少“{key}”")
    if not all(
        isinstance(v, list) and all(isinstance(n, str) for n in v) for v in manifest["migrations"].values()
    ):
        raise RestoreRefused("清单中的“migrations”格式不对")
    if not all(isinstance(v, int) for v in manifest["counts"].values()):
        raise RestoreRefused("清单中的“counts”格式不对")
    return manifest


def archive_verify(archive: Path, staging: Path) -> dict[str, Any]:
    """取出归档并逐个核对清单：每个成员都在、大小与 sha256 相符，且没有清单以外的成员。返回清单。"""
    found = _stage(archive, staging)
    manifest = _read_manifest(staging, found)
    expected: dict[str, Any] = manifest["members"]
    listed = set(expected) | {MANIFEST_MEMBER}
    extra = sorted(set(found) - listed)
    if extra:
        raise RestoreRefused(f"归档中有清单以外的成员：{'、'.join(extra[:5])}")
    if DATA_MEMBER not in expected:
        raise RestoreRefused(f"清单中没有数据文件 {DATA_MEMBER}")
    for name, meta in expected.items():
        _member_target(name)
        got = found.get(name)
        if got is None:
            raise RestoreRefused(f"归档中缺少清单所列的成员：{name}")
        if (
            not isinstance(meta, dict)
            or got["sha256"] != meta.get("sha256")
            or got["size"] != meta.get("size")
        ):
            raise RestoreRefused(f"校验不符（sha256 或大小与清单不同），归档已损坏或被改动：{name}")
    return manifest


def _check_migrations(manifest: dict[str, Any], using: str) -> list[str]:
    """备份用到的迁移都必须已在本库应用（否则备份来自更新的程序版本）；本库多出的迁移只提醒。"""
    current = {(app, name) for app, names in _applied_migrations(using).items() for name in names}
    theirs = {(app, name) for app, names in manifest["migrations"].items() for name in names}
    newer = sorted(theirs - current)
    if newer:
        shown = "、".join(f"{app}.{name}" for app, name in newer[:5])
        raise RestoreRefused(
            f"备份来自较新的程序版本（本库没有迁移 {shown}）：请先升级程序并运行 migrate，再恢复"
        )
    extra = sorted(current - theirs)
    if not extra:
        return []
    shown = "、".join(f"{app}.{name}" for app, name in extra[:5])
    return [f"本库比备份多出 {len(extra)} 个迁移（{shown}…），数据按当前的表结构载入"]


def _check_empty(model_list: Iterable[type[models.Model]], using: str) -> None:
    busy = [
        f"{m._meta.verbose_name_plural}（{m._meta.label_lower}）{m._base_manager.using(using).count()} 行"
        for m in model_list
        if m._base_manager.using(using).exists()
    ]
    if busy:
        raise RestoreRefused(
            "目标数据库不是空的，恢复只能在新建并运行过 migrate 的空数据库上进行（不要运行 seed_demo、"
            f"setup_schedules）。已有数据：{'；'.join(busy[:8])}"
        )


def _media_plan(staging: Path, manifest: dict[str, Any], media_root: Path) -> tuple[list[str], int]:
    """要写回的文件；目标位置已有同名但内容不同的文件时拒绝（不覆盖现有文件）。"""
    to_write: list[str] = []
    same = 0
    for name, meta in sorted(manifest["members"].items()):
        if not name.startswith(MEDIA_PREFIX):
            continue
        target = media_root.joinpath(*PurePosixPath(name[len(MEDIA_PREFIX) :]).parts)
        if target.exists():
            if target.is_file() and _sha256_file(target) == meta["sha256"]:
                same += 1
                continue
            raise RestoreRefused(f"上传目录中已有同名而内容不同的文件，拒绝覆盖：{target}")
        to_write.append(name)
    return to_write, same


def _load(data_path: Path, using: str) -> tuple[dict[str, int], set[type[models.Model]]]:
    counts: dict[str, int] = {}
    loaded: set[type[models.Model]] = set()
    with data_path.open("r", encoding="utf-8") as stream:
        for item in serializers.deserialize(
            "jsonl", stream, using=using, ignorenonexistent=True, handle_forward_references=False
        ):
            model = type(item.object)
            label = model._meta.label_lower
            if label in EXCLUDED_MODELS:
                raise RestoreRefused(f"数据中有不应备份的模型：{label}")
            # The database is empty: insert straight away (no UPDATE attempt first).
            item.save(using=using, force_insert=True)
            counts[label] = counts.get(label, 0) + 1
            loaded.add(model)
    return counts, loaded


def backup_restore(
    *, archive: Path, using: str = DEFAULT_DB_ALIAS, log: Callable[[str], None] | None = None
) -> RestoreResult:
    """恢复：把备份归档载入一个空数据库（新建并 migrate 之后）。规则：

    - 先把归档取到临时目录并逐个核对清单（sha256、大小，不多不少），任何不符都拒绝；
    - 备份用到的迁移必须都已在本库应用；数据库必须是空的（内容类型、权限等 migrate 建立的除外）；
    - 上传目录中已有同名文件时，内容相同的跳过，不同的拒绝（从不覆盖）；
    - 一次事务内：载入全部数据（指向内容类型、权限的引用按自然键对应到本库）、检查外键、核对各模型行数与
      清单一致、重置主键序列（PostgreSQL 的 sqlsequencereset），写回文件，写一条审计日志 backup.restore；
      其中任何一步失败，数据库回滚、已写回的文件删除。
    """
    say = log or (lambda _message: None)
    archive = Path(archive)
    media_root = Path(settings.MEDIA_ROOT)
    connection = connections[using]
    with tempfile.TemporaryDirectory(prefix="zwgk-restore-") as tmp:
        staging = Path(tmp)
        manifest = archive_verify(archive, staging)
        say(f"归档校验通过：{len(manifest['members'])} 个成员，备份时间 {manifest.get('created_at', '')}")
        warnings = _check_migrations(manifest, using)
        model_list = backup_models()
        _check_empty(model_list, using)
        to_write, same = _media_plan(staging, manifest, media_root)
        written: list[Path] = []
        try:
            with transaction.atomic(using=using):
                counts, loaded = _load(staging / DATA_MEMBER, using)
                connection.check_constraints(table_names=[m._meta.db_table for m in loaded])
                expected = {label: n for label, n in manifest["counts"].items() if n}
                if counts != expected:
                    diff = sorted(
                        f"{label}：清单 {expected.get(label, 0)}，载入 {counts.get(label, 0)}"
                        for label in set(counts) | set(expected)
                        if counts.get(label, 0) != expected.get(label, 0)
                    )
                    raise RestoreRefused(f"载入的行数与清单不符：{'；'.join(diff[:5])}")
                statements = connection.ops.sequence_reset_sql(no_style(), sorted(loaded, key=str))
                if statements:
                    with connection.cursor() as cursor:
                        for sql in statements:
                            cursor.execute(sql)
                for name in to_write:
                    target = media_root.joinpath(*PurePosixPath(name[len(MEDIA_PREFIX) :]).parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(staging.joinpath(*PurePosixPath(name).parts), target)
                    written.append(target)
                audit_record(
                    action="backup.restore",
                    new={
                        "archive": archive.name,
                        "created_at": manifest.get("created_at"),
                        "rows": sum(counts.values()),
                        "files": len(to_write),
                    },
                    username="manage.py restore",
                    object_repr=archive.name,
                )
        except BaseException:
            for target in written:
                target.unlink(missing_ok=True)
            raise
    return RestoreResult(counts=counts, files=len(to_write), files_skipped=same, warnings=warnings)
