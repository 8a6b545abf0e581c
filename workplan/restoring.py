"""数据恢复：把 backup 生成的归档载入空数据库（新建并 migrate 之后）。

先核对清单中每个成员的 sha256，再在一次事务内载入数据、写回文件、重置主键序列（PostgreSQL）。
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core import serializers
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from workplan.audit import audit_record
from workplan.backup import (
    CHUNK,
    DATA_MEMBER,
    EXCLUDED_MODELS,
    FORMAT,
    MANIFEST_MEMBER,
    MEDIA_PREFIX,
    HashingReader,
    applied_migrations,
    backup_models,
    sha256_file,
)


class RestoreRefused(Exception):
    """恢复被拒绝（归档损坏、校验不符、数据库非空、版本不符……）；数据库与文件都没有改动。"""


@dataclass
class RestoreResult:
    counts: dict[str, int]
    files: int
    files_skipped: int
    warnings: list[str] = field(default_factory=list)


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
                reader = HashingReader(source)
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
    current = {(app, name) for app, names in applied_migrations(using).items() for name in names}
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
            if target.is_file() and sha256_file(target) == meta["sha256"]:
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
