"""备份与恢复（manage.py backup / restore）：用服务建出真实数据（樟树 2023 年工作要点、股室考核细则、报送与
佐证文件、录入事实、计分、关账），备份 → 清空数据库与上传目录 → 恢复：每张表逐行相同，重新计分的台账与总分
相同，佐证文件逐字节相同，权限按自然键对应；恢复只进空数据库；归档被改动、成员名不安全、来自更新的版本、
清单行数不符时拒绝且什么都不写；备份不含会话与后台任务结果，半截的归档不会留下，--keep 只保留最新几份。
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.management import create_contenttypes
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_q.models import Task as QTask
from django_q.tasks import async_task

from scoring.closing import quarter_close
from scoring.models import LedgerLine, ScoreRun, SnapshotLedgerLine, UnitScore
from scoring.rulesets import ruleset_import, ruleset_publish
from scoring.services import manual_fact_set, scores_compute
from tests.conftest import SAMPLE_PLAN
from tests.workplan.test_uploads import make_pdf, make_png
from workplan import backup, restoring
from workplan.importing import plan_import_from_bytes
from workplan.models import (
    AuditEntry,
    Evidence,
    ReportStatus,
    Section,
    Task,
    User,
)
from workplan.reporting import evidence_add_file, report_review, report_submit

ROOT = Path(__file__).resolve().parent.parent
SECTION_RULES = ROOT / "fixtures" / "rules" / "section-2023.yaml"
LATE = datetime.date(2024, 2, 1)  # after every 2023 quarterly report deadline
BACKUP_ACTIONS = ("backup.create", "backup.restore")


@pytest.fixture
def media(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "backups"


def run_backup(out: Path) -> Path:
    call_command("backup", output=str(out) + "/", stdout=io.StringIO())
    (archive,) = out.glob("zwgk-backup-*.tar.gz")
    return archive


def restore(archive: Path) -> str:
    stdout = io.StringIO()
    call_command("restore", str(archive), stdout=stdout, stderr=io.StringIO())
    return stdout.getvalue()


def table_rows() -> dict[str, list[tuple]]:
    """每张进备份的表的全部行（全部列，按主键排序）；审计日志不含备份、恢复自己写的两条。"""
    rows = {}
    for model in backup.backup_models():
        qs = model._base_manager.order_by("pk")
        if model is AuditEntry:
            qs = qs.exclude(action__in=BACKUP_ACTIONS)
        rows[model._meta.label_lower] = list(
            qs.values_list(*[f.attname for f in model._meta.concrete_fields])
        )
    return rows


def ledger(run: ScoreRun) -> list[tuple]:
    return list(
        LedgerLine.objects.filter(run=run)
        .order_by("section__name", "position")
        .values_list("section__name", "indicator_code", "rule_code", "period", "points", "reason", "facts")
    )


def totals(run: ScoreRun) -> dict[str, tuple]:
    return {
        s.section.name: (s.total, s.grade, s.rank, s.indicator_scores)
        for s in UnitScore.objects.filter(run=run).select_related("section")
    }


def wipe(media: Path) -> None:
    """换一个全新的库：清空数据库，内容类型与权限按另一种顺序重建（编号与原库不同），清空上传目录。"""
    call_command("flush", interactive=False, verbosity=0)
    ContentType.objects.all().delete()
    ContentType.objects.clear_cache()
    ContentType.objects.create(app_label="zz_fresh", model="shifts_the_ids")
    for config in reversed(list(apps.get_app_configs())):
        create_contenttypes(config, verbosity=0)
        create_permissions(config, verbosity=0)
    shutil.rmtree(media)
    media.mkdir()


def read_members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def write_archive(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def manifest_of(members: dict[str, bytes]) -> dict:
    return json.loads(members[backup.MANIFEST_MEMBER])


def with_manifest(members: dict[str, bytes], manifest: dict) -> dict[str, bytes]:
    return {**members, backup.MANIFEST_MEMBER: json.dumps(manifest).encode()}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- the round trip ------------------------------------------------------------------------------------


@pytest.fixture
def world(transactional_db, media, sections, office_user, lead_user, resp_user):
    """真实数据，全部经由服务写入：导入樟树 2023 年工作要点，发布股室考核细则，综合股报送一季度进展并
    上传佐证（被退回），法规股报送并通过，录入加分事项（附表彰文件）与酌情分，正式计分，关账；另有
    一个用户组（权限按自然键备份）。"""
    plan, _ = plan_import_from_bytes(
        name=SAMPLE_PLAN.name, data=SAMPLE_PLAN.read_bytes(), year=2023, user=office_user
    )
    assert plan is not None
    lead_task = Task.objects.filter(plan=plan).actionable().led_by(sections["lead"]).first()
    resp_task = Task.objects.filter(plan=plan).actionable().led_by(sections["resp"]).first()
    assert lead_task is not None and resp_task is not None
    report = report_submit(
        task=lead_task,
        section=sections["lead"],
        year=2023,
        quarter=1,
        status=ReportStatus.IN_PROGRESS,
        narrative="按月发布统计数据，<b>已公开</b> 12 条",
        user=lead_user,
    )
    evidence = evidence_add_file(
        report=report, uploaded_file=SimpleUploadedFile("佐证 材料.pdf", make_pdf()), user=lead_user
    )
    report_review(
        report=report,
        decision="return",
        comment="请补充链接",
        user=office_user,
        expected_version=report.version,
    )
    done = report_submit(
        task=resp_task,
        section=sections["resp"],
        year=2023,
        quarter=1,
        status=ReportStatus.DONE,
        narrative="已完成",
        user=resp_user,
    )
    report_review(report=done, decision="accept", comment="", user=office_user, expected_version=done.version)
    ruleset = ruleset_publish(ruleset=ruleset_import(text=SECTION_RULES.read_text(encoding="utf-8")))
    manual_fact_set(
        section=sections["resp"],
        year=2023,
        period="Q1",
        fact="commendations",
        value="市级政务公开先进集体",
        reason="",
        evidence=SimpleUploadedFile("表彰文件.png", make_png()),
        user=office_user,
    )
    manual_fact_set(
        section=sections["lead"],
        year=2023,
        period="Q1",
        fact="quality_assessment",
        value="7.5",
        reason="材料多次退回",
        user=office_user,
    )
    run = scores_compute(ruleset_record=ruleset, year=2023, period="Q1", user=office_user, today=LATE)
    close = quarter_close(year=2023, quarter=1, run=run, user=office_user)
    group = Group.objects.create(name="表格导入员")
    group.permissions.add(Permission.objects.get(codename="import_task"))
    lead_user.groups.add(group)
    office_user.user_permissions.add(Permission.objects.get(codename="manage_account_security"))
    return {"ruleset": ruleset, "run": run, "close": close, "evidence": evidence}


def test_a_backup_restores_into_an_empty_database_row_for_row_with_the_same_scores_and_files(
    world, media, out
):
    run = world["run"]
    before_rows = table_rows()
    before_ledger, before_totals, digest = ledger(run), totals(run), run.inputs_digest
    evidence_bytes = world["evidence"].file.open("rb").read()
    media_files = sorted(p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file())
    assert len(media_files) == 3  # the plan file, the evidence, the commendation
    assert any(name.endswith("表彰文件.png") for name in media_files)
    assert len(before_ledger) > 20

    archive = run_backup(out)
    assert archive.stat().st_mode & 0o777 == 0o600
    wipe(media)
    assert not Section.objects.exists()
    report = restore(archive)

    # Every table, every row, every column: identical (ids, timestamps, JSON, decimals).
    assert table_rows() == before_rows
    assert "已恢复" in report and "工作任务（workplan.task）" in report
    # The restored ledger, and the ledger computed again from the restored data, equal the original.
    restored = ScoreRun.objects.get(pk=run.pk)
    assert (ledger(restored), totals(restored), restored.inputs_digest) == (
        before_ledger,
        before_totals,
        digest,
    )
    again = scores_compute(ruleset_record=world["ruleset"], year=2023, period="Q1", today=LATE)
    assert again.pk == run.pk
    assert (ledger(again), totals(again), again.inputs_digest) == (before_ledger, before_totals, digest)
    assert SnapshotLedgerLine.objects.filter(close=world["close"]).count() == len(before_ledger)
    # Uploaded files are back, byte for byte.
    evidence = Evidence.objects.get(pk=world["evidence"].pk)
    assert evidence.file.open("rb").read() == evidence_bytes
    assert hashlib.sha256(evidence_bytes).hexdigest() == evidence.sha256
    assert sorted(p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file()) == media_files
    # Permissions follow their natural keys although the fresh database numbered them differently.
    assert User.objects.get(username="lead").has_perm("workplan.import_task")
    assert User.objects.get(username="office").has_perm("workplan.manage_account_security")
    assert not User.objects.get(username="resp").has_perm("workplan.import_task")
    # Passwords survive; sequences continue after the restored ids (PostgreSQL: sqlsequencereset).
    assert User.objects.get(username="lead").check_password("Test-pass-2024")
    assert Section.objects.create(name="新建股室").pk > max(pk for pk, *_ in before_rows["workplan.section"])
    entry = AuditEntry.objects.get(action="backup.restore")
    assert entry.new_value["rows"] == sum(len(v) for v in before_rows.values())


# ---- what goes into the archive -------------------------------------------------------------------------


def test_the_manifest_lists_counts_versions_and_the_checksum_of_every_member(db, media, out, sections, plan):
    (media / "plans").mkdir()
    (media / "plans" / "原件.txt").write_bytes("工作要点".encode())
    archive = run_backup(out)
    members = read_members(archive)
    manifest = manifest_of(members)
    assert manifest["format"] == backup.FORMAT
    assert manifest["app_version"] == backup.app_version()
    assert datetime.datetime.fromisoformat(manifest["created_at"]).utcoffset() == datetime.timedelta(hours=8)
    assert manifest["counts"]["workplan.section"] == 4
    assert manifest["counts"]["workplan.workplan"] == 1
    assert "0001_initial" in manifest["migrations"]["workplan"]
    assert set(manifest["members"]) == set(members) - {backup.MANIFEST_MEMBER}
    for name, meta in manifest["members"].items():
        assert meta == {"sha256": sha(members[name]), "size": len(members[name])}
    assert members["media/plans/原件.txt"] == "工作要点".encode()
    call_command("restore", str(archive), check=True, stdout=(check := io.StringIO()))
    assert "归档完好" in check.getvalue()


def test_sessions_and_task_results_are_not_backed_up_and_permissions_are_natural_keys(
    db, media, out, office_user
):
    Client().force_login(office_user)
    async_task("math.floor", 1.5)  # runs at once (sync mode in tests) and stores its result
    assert QTask.objects.exists()
    office_user.user_permissions.add(Permission.objects.get(codename="import_task"))
    assert Session.objects.exists()
    members = read_members(run_backup(out))
    rows = [json.loads(line) for line in members[backup.DATA_MEMBER].decode().splitlines()]
    labels = {row["model"] for row in rows}
    assert labels.isdisjoint(backup.EXCLUDED_MODELS)
    assert "sessions.session" not in manifest_of(members)["counts"]
    user = next(r for r in rows if r["model"] == "workplan.user" and r["fields"]["username"] == "office")
    assert user["fields"]["user_permissions"] == [["import_task", "workplan", "task"]]


def test_keep_removes_the_oldest_archives_of_this_command_only(db, media, out):
    out.mkdir()
    for stamp in ("20230101-010000", "20230102-010000", "20230103-010000"):
        (out / f"zwgk-backup-{stamp}.tar.gz").write_bytes(b"old")
    (out / "手工备份.tar.gz").write_bytes(b"mine")
    call_command("backup", output=str(out), keep=2, stdout=io.StringIO())
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 3
    assert "手工备份.tar.gz" in names and "zwgk-backup-20230103-010000.tar.gz" in names
    assert "zwgk-backup-20230101-010000.tar.gz" not in names


def test_an_interrupted_backup_leaves_no_archive_behind(db, media, out, monkeypatch):
    (media / "a.pdf").write_bytes(make_pdf())

    def boom(*args, **kwargs):
        raise OSError("磁盘已满")

    monkeypatch.setattr(backup, "_add_member", boom)
    with pytest.raises(OSError):
        call_command("backup", output=str(out / "x.tar.gz"), stdout=io.StringIO())
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("output", "message"), [("media/inside.tar.gz", "上传目录"), ("backup.zip", ".tar.gz")]
)
def test_bad_output_paths_are_refused(db, media, tmp_path, output, message):
    with pytest.raises(CommandError, match=message):
        call_command("backup", output=str(tmp_path / output), stdout=io.StringIO())


def test_a_database_with_pending_migrations_is_not_backed_up(db, media, out, monkeypatch):
    monkeypatch.setattr(backup, "_unapplied_migrations", lambda using: ["workplan.0099_future"])
    with pytest.raises(CommandError, match="未应用的迁移"):
        call_command("backup", output=str(out) + "/", stdout=io.StringIO())


# ---- restore refuses --------------------------------------------------------------------------------------


@pytest.fixture
def small_archive(transactional_db, media, out, sections, office_user, plan):
    (media / "evidence").mkdir()
    (media / "evidence" / "a.pdf").write_bytes(make_pdf())
    return run_backup(out)


def test_restore_refuses_a_database_that_is_not_empty(small_archive, media):
    with pytest.raises(CommandError, match="目标数据库不是空的.*股室（workplan.section）4 行"):
        restore(small_archive)
    assert Section.objects.count() == 4
    assert not AuditEntry.objects.filter(action="backup.restore").exists()


def empty_database(media: Path) -> None:
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(media)
    media.mkdir()


def tampered(archive: Path, tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    members = read_members(archive)
    change(members)
    return write_archive(tmp_path / "tampered.tar.gz", members)


def _flip_a_byte(members: dict[str, bytes]) -> None:
    data = bytearray(members["media/evidence/a.pdf"])
    data[-3] ^= 0x01
    members["media/evidence/a.pdf"] = bytes(data)


def _drop_a_file(members: dict[str, bytes]) -> None:
    del members["media/evidence/a.pdf"]


def _add_a_file(members: dict[str, bytes]) -> None:
    members["media/evidence/extra.pdf"] = make_pdf()


def _newer_version(members: dict[str, bytes]) -> None:
    manifest = manifest_of(members)
    manifest["migrations"]["workplan"].append("0999_from_the_future")
    members.update(with_manifest(members, manifest))


def _wrong_counts(members: dict[str, bytes]) -> None:
    manifest = manifest_of(members)
    manifest["counts"]["workplan.section"] = 5
    members.update(with_manifest(members, manifest))


def _no_manifest(members: dict[str, bytes]) -> None:
    del members[backup.MANIFEST_MEMBER]


def _other_format(members: dict[str, bytes]) -> None:
    members.update(with_manifest(members, {**manifest_of(members), "format": "something-else/9"}))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_flip_a_byte, "校验不符.*media/evidence/a.pdf"),
        (_drop_a_file, "缺少清单所列的成员"),
        (_add_a_file, "清单以外的成员"),
        (_newer_version, "较新的程序版本.*0999_from_the_future"),
        (_wrong_counts, "行数与清单不符.*workplan.section"),
        (_no_manifest, "没有清单"),
        (_other_format, "备份格式不符"),
    ],
    ids=["checksum", "missing-member", "extra-member", "newer-version", "counts", "no-manifest", "format"],
)
def test_restore_refuses_a_damaged_or_foreign_archive_and_writes_nothing(
    small_archive, media, tmp_path, change, message
):
    empty_database(media)
    with pytest.raises(CommandError, match=message):
        restore(tampered(small_archive, tmp_path, change))
    assert not Section.objects.exists()
    assert not AuditEntry.objects.exists()
    assert list(media.iterdir()) == []


@pytest.mark.parametrize(
    "name",
    ["media/../../escaped.txt", "/tmp/absolute.txt", "media/a/../../b.txt", "media\\..\\x.txt", "etc/x"],
)
def test_restore_refuses_member_names_that_would_write_outside_the_upload_directory(
    small_archive, media, tmp_path, name
):
    empty_database(media)
    members = read_members(small_archive)
    manifest = manifest_of(members)
    manifest["members"][name] = {"sha256": sha(b"x"), "size": 1}
    archive = write_archive(tmp_path / "evil.tar.gz", {**with_manifest(members, manifest), name: b"x"})
    with pytest.raises(CommandError, match="不安全的文件名|不认识的成员"):
        restore(archive)
    assert not (tmp_path / "escaped.txt").exists()
    assert not Section.objects.exists()


def test_restore_refuses_links_in_the_archive(small_archive, media, tmp_path):
    empty_database(media)
    archive = tmp_path / "link.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in read_members(small_archive).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("media/passwd")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(CommandError, match="非普通文件"):
        restore(archive)


@pytest.mark.parametrize("content", [b"", b"not a tar at all", b"\x1f\x8b\x08\x00garbage"])
def test_restore_refuses_a_file_that_is_not_an_archive(db, tmp_path, content):
    path = tmp_path / "x.tar.gz"
    path.write_bytes(content)
    with pytest.raises(CommandError, match="不是有效的备份归档|已损坏"):
        restore(path)


def test_restore_does_not_overwrite_a_different_file_already_in_the_upload_directory(small_archive, media):
    empty_database(media)
    (media / "evidence").mkdir()
    (media / "evidence" / "a.pdf").write_bytes(b"%PDF-1.4 someone else's")
    with pytest.raises(CommandError, match="拒绝覆盖"):
        restore(small_archive)
    assert (media / "evidence" / "a.pdf").read_bytes() == b"%PDF-1.4 someone else's"
    assert not Section.objects.exists()


def test_a_failure_while_loading_rolls_back_and_removes_the_written_files(
    small_archive, media, tmp_path, monkeypatch
):
    empty_database(media)
    real_audit = restoring.audit_record

    def failing_audit(**kwargs):  # the last step inside the transaction
        real_audit(**kwargs)
        raise RuntimeError("写审计日志失败")

    monkeypatch.setattr(restoring, "audit_record", failing_audit)
    with pytest.raises(RuntimeError):
        restore(small_archive)
    assert not Section.objects.exists()
    assert not (media / "evidence" / "a.pdf").exists()
    monkeypatch.setattr(restoring, "audit_record", real_audit)
    restore(small_archive)
    assert Section.objects.count() == 4
    assert (media / "evidence" / "a.pdf").read_bytes() == make_pdf()


def test_the_export_runs_in_one_read_transaction_on_each_database(transactional_db, media, out):
    # The deployed SQLite settings take the write lock at BEGIN (IMMEDIATE); the export must not.
    wrapper = connections[DEFAULT_DB_ALIAS]
    wrapper.ensure_connection()
    saved = getattr(wrapper, "transaction_mode", None)
    if wrapper.vendor == "sqlite":
        wrapper.transaction_mode = "IMMEDIATE"
    try:
        with CaptureQueriesContext(wrapper) as queries:
            run_backup(out)
        mode_after = getattr(wrapper, "transaction_mode", None)
    finally:
        wrapper.transaction_mode = saved
    statements = [q["sql"].upper() for q in queries]
    manifest = manifest_of(read_members(next(out.glob("*.tar.gz"))))
    if wrapper.vendor == "sqlite":
        assert manifest["database"] == {"vendor": "sqlite", "isolation": "BEGIN DEFERRED（单一读事务）"}
        assert "BEGIN" in statements and "BEGIN IMMEDIATE" not in statements
        assert mode_after == "IMMEDIATE"  # restored for everything else
    else:
        assert manifest["database"] == {"vendor": "postgresql", "isolation": "REPEATABLE READ READ ONLY"}
        assert any("REPEATABLE READ" in sql for sql in statements)
