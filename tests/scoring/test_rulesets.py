"""评分细则的导入 → 发布 → 不可修改 → 复制为新版本；数据库 → 引擎；管理后台只读；import_rules 命令。"""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from scoring.engine import Kind
from scoring.models import Indicator, Rule, RuleKind, RuleSet, RuleSetStatus
from scoring.rulefile import load_rulefile, load_ruleset_text
from scoring.rulefile_schema import KIND_LABELS
from scoring.rulesets import (
    RuleSetRefused,
    engine_ruleset,
    ruleset_check,
    ruleset_import,
    ruleset_new_version,
    ruleset_publish,
)
from tests.factories import make_user
from workplan.models import AuditEntry, Role

RULES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "rules"
SECTION = RULES_DIR / "section-2023.yaml"
COUNTY = RULES_DIR / "county-bureau-2023.yaml"


def section_text() -> str:
    return SECTION.read_text(encoding="utf-8")


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (RuleSet, Indicator, Rule, AuditEntry)}


@pytest.fixture
def admin_client(db, client):
    root = make_user("root", role=Role.OFFICE, is_staff=True, is_superuser=True)
    client.force_login(root)
    return client


def test_kind_labels_match_the_model_choices():
    assert {k.value: label for k, label in KIND_LABELS.items()} == dict(RuleKind.choices)


class TestImport:
    def test_import_creates_a_draft_with_the_tree_and_the_source_text(self, office_user):
        record = ruleset_import(text=section_text(), user=office_user)
        assert record.status == RuleSetStatus.DRAFT and record.published_at is None
        assert (record.code, record.version, record.year, record.unit_type) == ("section", 1, 2023, "股室")
        assert record.source_text == section_text()
        assert record.created_by == office_user
        rs, _ = load_ruleset_text(section_text())
        assert rs is not None
        assert record.indicators.count() == len(rs.indicators)
        assert record.rules.count() == len(rs.rules)
        a1 = record.indicators.get(code="A1")
        assert (a1.parent_code, a1.level, a1.weight) == ("A", 2, Decimal(20))
        assert record.rules.get(code="A1-1").indicator == a1
        entry = AuditEntry.objects.get(action="ruleset.import")
        assert entry.user == office_user and entry.new_value["rules"] == len(rs.rules)

    def test_engine_ruleset_equals_the_loaded_file_in_three_queries(self, db, django_assert_max_num_queries):
        for path in (SECTION, COUNTY):
            text = path.read_text(encoding="utf-8")
            record = ruleset_import(text=text)
            record = RuleSet.objects.get(pk=record.pk)
            with django_assert_max_num_queries(3):
                rs = engine_ruleset(record)
            loaded, _ = load_ruleset_text(text)
            assert rs == loaded

    def test_reimporting_a_draft_replaces_its_content(self, db):
        first = ruleset_import(text=section_text())
        changed = section_text().replace("name: 2023年度股室", "name: 修订后的2023年度股室").replace(
            "      - code: A2-2\n", "      - code: A2-9\n"
        )
        again = ruleset_import(text=changed)
        assert again.pk == first.pk
        assert RuleSet.objects.count() == 1
        assert again.name.startswith("修订后的")
        assert set(again.rules.values_list("code", flat=True)) >= {"A2-9"}
        assert not again.rules.filter(code="A2-2").exists()
        assert AuditEntry.objects.filter(action="ruleset.replace").count() == 1

    def test_a_file_with_errors_is_refused_with_line_numbers_and_writes_nothing(self, db):
        before = counts()
        with pytest.raises(RuleSetRefused) as exc:
            ruleset_import(text=section_text().replace("points: 2\n", "points: 两分\n", 1))
        assert "未导入" in exc.value.message
        (error,) = exc.value.errors
        assert error.key == "points" and error.line > 0
        assert counts() == before

    def test_a_file_without_a_year_cannot_be_imported(self, db):
        with pytest.raises(RuleSetRefused) as exc:
            ruleset_import(text=section_text().replace("year: 2023\n", ""))
        assert [e.key for e in exc.value.errors] == ["year"]
        assert not RuleSet.objects.exists()


class TestPublish:
    def test_publish_sets_the_status_and_time_and_is_audited(self, office_user):
        record = ruleset_import(text=section_text())
        published = ruleset_publish(ruleset=record, user=office_user)
        assert published.status == RuleSetStatus.PUBLISHED and published.published_at is not None
        assert published.source_text == section_text()  # 内容未改过：原文（含注释）原样保留
        assert AuditEntry.objects.filter(action="ruleset.publish", user=office_user).exists()

    def test_publishing_twice_is_refused(self, db):
        record = ruleset_publish(ruleset=ruleset_import(text=section_text()))
        with pytest.raises(RuleSetRefused, match="已发布"):
            ruleset_publish(ruleset=record)

    def test_publish_revalidates_edits_made_in_admin(self, db):
        record = ruleset_import(text=section_text())
        Indicator.objects.filter(ruleset=record, code="A1").update(weight=Decimal(25))
        with pytest.raises(RuleSetRefused) as exc:
            ruleset_publish(ruleset=record)
        assert any("下级指标权重之和为45分" in e.message for e in exc.value.errors)
        assert all(e.line == 0 for e in exc.value.errors)
        assert RuleSet.objects.get(pk=record.pk).status == RuleSetStatus.DRAFT

    def test_publish_after_a_valid_admin_edit_regenerates_the_source_text(self, db):
        record = ruleset_import(text=section_text())
        Rule.objects.filter(ruleset=record, code="A1-1").update(points=Decimal("1.5"))
        published = ruleset_publish(ruleset=record)
        rule_file, errors = load_rulefile(published.source_text)
        assert errors == [] and rule_file is not None
        assert rule_file.ruleset == engine_ruleset(published)
        assert next(r for r in rule_file.ruleset.rules if r.code == "A1-1").points == Decimal("1.5")


class TestImmutability:
    def test_importing_over_a_published_version_is_refused(self, db):
        record = ruleset_publish(ruleset=ruleset_import(text=section_text()))
        before = counts()
        with pytest.raises(RuleSetRefused, match="已发布，不能修改"):
            ruleset_import(text=section_text().replace("points: 2\n", "points: 1\n", 1))
        assert counts() == before
        assert engine_ruleset(record) == load_ruleset_text(section_text())[0]

    def test_check_reports_the_published_conflict_on_the_version_line(self, db):
        ruleset_publish(ruleset=ruleset_import(text=section_text()))
        rule_file, errors = ruleset_check(text=section_text())
        assert rule_file is None
        (error,) = errors
        assert error.key == "version"
        assert section_text().splitlines()[error.line - 1].startswith("version:")

    def test_admin_change_view_of_a_published_set_is_read_only_including_inlines(self, admin_client):
        record = ruleset_publish(ruleset=ruleset_import(text=section_text()))
        response = admin_client.get(reverse("admin:scoring_ruleset_change", args=[record.pk]))
        assert response.status_code == 200
        html = response.content.decode()
        assert 'name="_save"' not in html
        assert 'name="indicators-0-code"' not in html and 'name="rules-0-points"' not in html
        assert "任务落实" in html  # 内容仍然可见
        post = admin_client.post(reverse("admin:scoring_ruleset_change", args=[record.pk]), {"name": "改名"})
        assert post.status_code == 403
        rule = record.rules.first()
        assert admin_client.post(reverse("admin:scoring_rule_change", args=[rule.pk]), {}).status_code == 403
        delete = reverse("admin:scoring_ruleset_delete", args=[record.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403
        assert RuleSet.objects.get(pk=record.pk).name == record.name

    def test_admin_change_view_of_a_draft_is_editable(self, admin_client):
        record = ruleset_import(text=section_text())
        html = admin_client.get(reverse("admin:scoring_ruleset_change", args=[record.pk])).content.decode()
        assert 'name="_save"' in html
        assert 'name="indicators-0-code"' in html and 'name="rules-0-points"' in html


class TestNewVersion:
    def test_copy_of_a_published_set_is_the_next_version_as_a_draft(self, office_user):
        published = ruleset_publish(ruleset=ruleset_import(text=section_text()))
        copy = ruleset_new_version(ruleset=published, user=office_user)
        assert (copy.code, copy.version, copy.status) == ("section", 2, RuleSetStatus.DRAFT)
        assert copy.created_by == office_user and copy.published_at is None
        assert "# 2023年度局机关各股室" in copy.source_text  # 原文与注释保留，只改版本号
        rule_file, errors = load_rulefile(copy.source_text)
        assert errors == [] and rule_file is not None and rule_file.ruleset.version == 2
        original = engine_ruleset(published)
        copied = engine_ruleset(copy)
        assert copied.version == 2
        assert copied.rules == original.rules and copied.indicators == original.indicators
        assert rule_file.ruleset == copied
        assert AuditEntry.objects.filter(action="ruleset.new_version").exists()
        # 新版本可以修改（重新导入同版本号的草稿）并发布
        ruleset_import(text=copy.source_text.replace("points: 2\n", "points: 1\n", 1))
        assert ruleset_publish(ruleset=copy).is_published

    def test_a_draft_is_not_copied(self, db):
        with pytest.raises(RuleSetRefused, match="草稿"):
            ruleset_new_version(ruleset=ruleset_import(text=section_text()), user=None)

    def test_admin_actions_publish_and_copy(self, admin_client):
        record = ruleset_import(text=section_text())
        changelist = reverse("admin:scoring_ruleset_changelist")
        admin_client.post(changelist, {"action": "publish_selected", "_selected_action": [record.pk]})
        record.refresh_from_db()
        assert record.is_published
        admin_client.post(changelist, {"action": "copy_as_new_version", "_selected_action": [record.pk]})
        assert RuleSet.objects.filter(code="section", version=2, status=RuleSetStatus.DRAFT).exists()


class TestImportRulesCommand:
    def run(self, *args: str) -> tuple[str, str]:
        out, err = StringIO(), StringIO()
        call_command("import_rules", *args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    def test_check_on_a_broken_file_prints_line_numbers_exits_1_and_writes_nothing(self, db, tmp_path):
        path = tmp_path / "broken.yaml"
        path.write_text(section_text().replace("kind: per_occurrence", "kind: per_time", 1), encoding="utf-8")
        before = counts()
        err = StringIO()
        with pytest.raises(CommandError) as exc:
            call_command("import_rules", str(path), "--check", stdout=StringIO(), stderr=err)
        assert exc.value.returncode == 1
        assert "第" in err.getvalue() and "「kind」" in err.getvalue()
        assert counts() == before

    def test_check_on_good_files_writes_nothing(self, db):
        before = counts()
        out, _ = self.run(str(SECTION), str(COUNTY), "--check")
        assert out.count("无错误") == 2
        assert counts() == before

    def test_import_and_publish(self, db):
        out, _ = self.run(str(SECTION), str(COUNTY), "--publish")
        assert "已导入" in out and "已发布" in out
        assert RuleSet.objects.filter(status=RuleSetStatus.PUBLISHED).count() == 2
        assert engine_ruleset(RuleSet.objects.get(code="county-dept")).bonus_cap == Decimal(8)

    def test_one_broken_file_stops_the_whole_import(self, db, tmp_path):
        broken = tmp_path / "broken.yaml"
        broken.write_text("code: x\n", encoding="utf-8")
        with pytest.raises(CommandError):
            self.run(str(SECTION), str(broken))
        assert not RuleSet.objects.exists()

    def test_missing_file_is_an_error(self, db):
        with pytest.raises(CommandError, match="文件不存在"):
            self.run("/nonexistent/rules.yaml")


def test_every_rule_kind_survives_the_database(db):
    record = ruleset_import(text=section_text())
    assert {Kind(k) for k in record.rules.values_list("kind", flat=True)} == set(Kind)
