"""管理命令 import_plan：--dry-run 的 JSON 输出、不写数据库；正式导入；缺文件、无任务、未知用户时非零退出。"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import ROOT, SAMPLE_PLAN
from workplan.models import AuditEntry, PlanImport, Section, SectionAlias, Task, TaskAssignment, WorkPlan
from workplan.seed import sections_seed

SAMPLE_TASKS = 16


@pytest.fixture
def bureau(sections):
    sections_seed(ROOT / "fixtures" / "sections.json")


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_plan", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def counts() -> dict[str, int]:
    models = (PlanImport, WorkPlan, Task, TaskAssignment, Section, SectionAlias, AuditEntry)
    return {m.__name__: m.objects.count() for m in models}


class TestDryRun:
    def test_json_lists_the_tasks_with_names_as_written_and_writes_nothing(self, bureau):
        before = counts()
        data = json.loads(run(str(SAMPLE_PLAN), "--dry-run", "--format", "json"))
        assert counts() == before
        assert PlanImport.objects.count() == 0
        assert len(data["tasks"]) == SAMPLE_TASKS
        first = data["tasks"][0]
        assert first["lead_sections"] == ["綜合股"]
        assert first["responsible_sections"] == ["各相關股室"]
        assert {"number", "title", "body", "deadline_text", "due_date", "recurrence"} <= set(first)
        assert isinstance(data["warnings"], list) and isinstance(data["errors"], list)

    def test_json_output_is_not_ascii_escaped(self, bureau):
        out = run(str(SAMPLE_PLAN), "--dry-run", "--format", "json")
        assert "綜合股" in out and "\\u" not in out

    def test_text_output_lists_tasks(self, bureau):
        out = run(str(SAMPLE_PLAN), "--dry-run")
        assert f"任务 {SAMPLE_TASKS} 项" in out
        assert "牵头：綜合股" in out
        assert not WorkPlan.objects.exists()


class TestImport:
    def test_import_creates_the_plan_and_prints_a_chinese_summary(self, bureau):
        out = run(str(SAMPLE_PLAN), "--year", "2023")
        plan = WorkPlan.objects.get()
        assert plan.year == 2023
        assert plan.tasks.filter(is_heading=False).count() == SAMPLE_TASKS
        assert f"任务 {SAMPLE_TASKS} 项" in out and "新建股室 0 个" in out

    def test_running_twice_does_not_duplicate(self, bureau):
        run(str(SAMPLE_PLAN))
        before = counts()
        out = run(str(SAMPLE_PLAN))
        assert "未重复导入" in out
        assert counts() == before

    def test_user_is_recorded_as_importer(self, bureau, office_user):
        run(str(SAMPLE_PLAN), "--user", "office")
        assert WorkPlan.objects.get().created_by == office_user

    def test_unknown_names_are_skipped_on_request(self, bureau, tmp_path):
        path = tmp_path / "mini.txt"
        path.write_text(
            "2024年要点\n一、公开\n（一）数据公开。发布数据。（牵头股室：宣传科，责任股室：综合股）\n",
            encoding="utf-8",
        )
        before = Section.objects.count()
        out = run(str(path), "--unknown", "skip")
        assert Section.objects.count() == before
        assert "宣传科" in out and "忽略" in out

    def test_unknown_names_become_sections_by_default(self, bureau, tmp_path):
        path = tmp_path / "mini.txt"
        path.write_text(
            "2024年要点\n一、公开\n（一）数据公开。发布数据。（牵头股室：宣传科，责任股室：综合股）\n",
            encoding="utf-8",
        )
        out = run(str(path), "--format", "json")
        assert json.loads(out)["created_names"] == ["宣传科"]
        assert Section.objects.filter(name="宣传科").exists()


class TestFailures:
    def test_missing_file_exits_non_zero(self, bureau, tmp_path):
        with pytest.raises(CommandError, match="文件不存在") as exc:
            run(str(tmp_path / "nope.txt"))
        assert exc.value.returncode != 0

    def test_file_without_tasks_exits_non_zero_and_writes_nothing(self, bureau, tmp_path):
        path = tmp_path / "prose.txt"
        path.write_text("只有一段说明文字，没有任何编号条目。", encoding="utf-8")
        before = counts()
        with pytest.raises(CommandError):
            run(str(path))
        with pytest.raises(CommandError, match="没有识别出任何任务"):
            run(str(path), "--dry-run", "--format", "json")
        assert counts() == before

    def test_unsupported_type_exits_non_zero(self, bureau, tmp_path):
        path = tmp_path / "plan.pdf"
        path.write_bytes(b"%PDF-1.4")
        with pytest.raises(CommandError, match="不支持"):
            run(str(path), "--dry-run")

    def test_unknown_user_exits_non_zero(self, bureau):
        with pytest.raises(CommandError, match="用户不存在"):
            run(str(SAMPLE_PLAN), "--user", "nobody")
        assert not WorkPlan.objects.exists()
