"""计划导入服务：预览、确认（股室对应、集合称谓展开、未知名称的决定）、幂等、重复文件、坏文件、查询数。"""

from __future__ import annotations

import hashlib

import opencc
import pytest
from django.conf import settings
from django.test import override_settings

from tests.conftest import ROOT, SAMPLE_PLAN
from workplan.import_preview import ImportRefused, plan_import_preview
from workplan.importing import Decision, plan_import_cancel, plan_import_confirm, plan_import_from_bytes
from workplan.models import (
    AssignmentRole,
    AuditEntry,
    PlanImport,
    Section,
    SectionAlias,
    SectionGroup,
    Task,
    TaskAssignment,
    WorkPlan,
)
from workplan.seed import sections_seed

# The sample numbers 16 items （一）…（四） under 4 headings 一、…四、.
SAMPLE_TASKS, SAMPLE_HEADINGS = 16, 4
CONFIRM_MAX_QUERIES = (
    40  # same bound for the sample (13 on SQLite) and 300 tasks (33: SQLite inserts 999 parameters per batch)
)
CN = "一二三四五六七八九十"

MINI_PLAN = """2024年某局政务公开工作要点
一、加强信息公开
（一）深化数据公开。及时发布统计数据。（牵头股室：宣传科，责任股室：各相关股室）
（二）深化法规公开。公开执法信息。（牵头股室：综合股，责任股室：政策法规科）
（三）深化常规公开。发布机关动态。（牵头股室：办公室，责任股室：法规股）
"""


def cn_numeral(n: int) -> str:
    if n <= 10:
        return CN[n - 1]
    tens, ones = divmod(n, 10)
    return (CN[tens - 1] if tens > 1 else "") + "十" + (CN[ones - 1] if ones else "")


def generated_plan(headings: int = 10, per_heading: int = 30) -> bytes:
    lines = ["2024年樟树市统计局政务公开工作要点"]
    for h in range(1, headings + 1):
        lines.append(f"{cn_numeral(h)}、第{h}部分工作")
        for t in range(1, per_heading + 1):
            lines.append(
                f"（{cn_numeral(t)}）第{h}部分任务{t}。按要求公开相关信息。（牵头股室：綜合股，责任股室：各相关股室、法规股）"
            )
    return "\n".join(lines).encode("utf-8")


def counts() -> dict[str, int]:
    return {
        m.__name__: m.objects.count()
        for m in (PlanImport, WorkPlan, Task, TaskAssignment, Section, SectionAlias, AuditEntry)
    }


@pytest.fixture
def bureau(sections):
    """conftest 的股室加上 fixtures/sections.json（樟树市统计局的全部股室、别名、集合称谓）。"""
    sections_seed(ROOT / "fixtures" / "sections.json")
    return {s.name: s for s in Section.objects.all()}


@pytest.fixture
def sample_bytes() -> bytes:
    return SAMPLE_PLAN.read_bytes()


def preview(data: bytes, user, name: str = "plan.txt", year: int | None = None) -> PlanImport:
    return plan_import_preview(name=name, data=data, year=year, user=user)


def confirm(imp: PlanImport, user, decisions=None, year: int | None = None) -> WorkPlan:
    return plan_import_confirm(
        plan_import=imp, decisions=decisions or {}, year=year or imp.year or 2023, user=user
    )


def assignment_map(plan: WorkPlan) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    rows = TaskAssignment.objects.filter(task__plan=plan).values_list("task__code", "role", "section__name")
    for code, role, name in rows:
        out.setdefault(code, {}).setdefault(role, []).append(name)
    return {code: {role: sorted(names) for role, names in roles.items()} for code, roles in out.items()}


class TestSampleImport:
    def test_sample_imports_every_numbered_item_and_heading(self, bureau, office_user, sample_bytes):
        plan = confirm(preview(sample_bytes, office_user), office_user)
        assert plan.tasks.filter(is_heading=False).count() == SAMPLE_TASKS
        assert plan.tasks.filter(is_heading=True).count() == SAMPLE_HEADINGS
        assert plan.year == 2023
        assert plan.parent_doc_number == "樟府辦發〔2023〕28號"
        assert plan.issuing_unit == "樟樹市統計局"
        assert plan.title == "樟树市统计局2023年政务公开工作要点"  # the sample has no title line

    def test_traditional_leads_resolve_to_simplified_sections(self, bureau, office_user, sample_bytes):
        imp = preview(sample_bytes, office_user)
        names = imp.result["names"]
        assert names["綜合股"]["kind"] == "section"
        assert names["綜合股"]["section_name"] == "综合股"
        assert names["辦公室"]["section_name"] == "办公室"
        assert not imp.result["summary"]["unknown"]
        plan = confirm(imp, office_user)
        first = plan.tasks.get(number_path__endswith="（一）", parent__number="一、")
        leads = first.assignments.filter(role=AssignmentRole.LEAD)
        assert [(a.section.name, a.source_text) for a in leads] == [("综合股", "綜合股")]

    def test_collective_term_expands_to_member_sections_with_via_group(
        self, bureau, office_user, sample_bytes
    ):
        plan = confirm(preview(sample_bytes, office_user), office_user)
        group = SectionGroup.objects.get(name="各相关股室")
        first = plan.tasks.get(code="01.01")
        responsibles = first.assignments.filter(role=AssignmentRole.RESPONSIBLE)
        members = set(group.members.values_list("name", flat=True)) - {"综合股"}
        assert {a.section.name for a in responsibles} == members
        assert {a.via_group_id for a in responsibles} == {group.pk}
        assert {a.source_text for a in responsibles} == {"各相關股室"}

    def test_item_two_two_has_two_leads_and_named_responsible(self, bureau, office_user, sample_bytes):
        plan = confirm(preview(sample_bytes, office_user), office_user)
        task = plan.tasks.get(code="02.02")
        assert task.number_path.endswith("（二）")
        roles = assignment_map(plan)["02.02"]
        assert roles[AssignmentRole.LEAD] == sorted(["综合股", "办公室"])
        pucha = task.assignments.get(section__name="普查中心")
        assert pucha.role == AssignmentRole.RESPONSIBLE
        assert pucha.via_group is None  # named explicitly beats the group expansion

    def test_section_both_lead_and_responsible_keeps_only_lead(self, bureau, office_user, sample_bytes):
        plan = confirm(preview(sample_bytes, office_user), office_user)
        for task in plan.tasks.prefetch_related("assignments"):
            ids = [a.section_id for a in task.assignments.all()]
            assert len(ids) == len(set(ids)), task
        zonghe = plan.tasks.get(code="01.01").assignments.filter(section__name="综合股")
        assert [a.role for a in zonghe] == [AssignmentRole.LEAD]

    def test_simplified_copy_gives_identical_assignments(self, bureau, office_user, sample_bytes):
        simplified = opencc.OpenCC("t2s").convert(sample_bytes.decode("utf-8")).encode("utf-8")
        assert simplified != sample_bytes
        trad = confirm(preview(sample_bytes, office_user), office_user)
        simp = confirm(preview(simplified, office_user, name="simplified.txt"), office_user)
        assert assignment_map(trad) == assignment_map(simp)
        assert len(assignment_map(trad)) == SAMPLE_TASKS

    def test_tasks_keep_document_order_parent_links_and_dotted_codes(self, bureau, office_user, sample_bytes):
        plan = confirm(preview(sample_bytes, office_user), office_user)
        tasks = list(plan.tasks.order_by("position"))
        assert [t.code for t in tasks[:3]] == ["01", "01.01", "01.02"]
        assert len({t.code for t in tasks}) == len(tasks) == SAMPLE_TASKS + SAMPLE_HEADINGS
        assert all(t.parent_id is None for t in tasks if t.is_heading)
        assert all(
            t.parent.is_heading and t.code.startswith(t.parent.code + ".") for t in tasks if not t.is_heading
        )
        assert [t.position for t in tasks] == sorted(t.position for t in tasks)
        assert all(t.source_line for t in tasks)

    def test_plan_keeps_source_file_and_fingerprint(self, bureau, office_user, sample_bytes):
        imp = preview(sample_bytes, office_user)
        plan = confirm(imp, office_user)
        assert plan.source_sha256 == hashlib.sha256(sample_bytes).hexdigest()
        assert plan.source_file.name == imp.source_file.name
        with plan.source_file.open("rb") as fh:
            assert fh.read() == sample_bytes
        imp.refresh_from_db()
        assert (imp.status, imp.plan_id) == (PlanImport.Status.CONFIRMED, plan.pk)
        assert imp.result["confirm"]["tasks"] == SAMPLE_TASKS


class TestUnknownNames:
    def test_unknown_names_are_proposed_with_suggestions(self, bureau, office_user):
        imp = preview(MINI_PLAN.encode(), office_user)
        names = imp.result["names"]
        assert names["宣传科"]["kind"] == "unknown"
        assert names["政策法规科"]["kind"] == "unknown"
        assert names["政策法规科"]["suggestion"] == "法规股"
        assert names["政策法规科"]["suggestion_id"] == bureau["法规股"].pk
        assert imp.result["summary"]["unknown"] == ["宣传科", "政策法规科"]
        assert not WorkPlan.objects.exists()

    def test_create_decision_makes_a_new_section(self, bureau, office_user):
        imp = preview(MINI_PLAN.encode(), office_user)
        plan = confirm(
            imp,
            office_user,
            {
                "宣传科": Decision(action="create"),
                "政策法规科": Decision(action="create", new_name="政策法规股室"),
            },
        )
        xuanchuan = Section.objects.get(name="宣传科")
        assert plan.tasks.get(code="01.01").assignments.get(role=AssignmentRole.LEAD).section == xuanchuan
        assert SectionAlias.objects.get(name="政策法规科").section.name == "政策法规股室"
        assert imp.result["confirm"]["sections_created"] == 2

    def test_map_decision_with_alias_is_remembered_for_next_import(self, bureau, office_user):
        imp = preview(MINI_PLAN.encode(), office_user)
        plan = confirm(
            imp,
            office_user,
            {
                "宣传科": Decision(action="map", section_id=bureau["综合股"].pk, remember_alias=True),
                "政策法规科": Decision(action="map", section_id=bureau["法规股"].pk),
            },
        )
        assert SectionAlias.objects.get(name="宣传科").section == bureau["综合股"]
        assert not SectionAlias.objects.filter(name="政策法规科").exists()
        assert plan.tasks.get(code="01.02").assignments.get(role="responsible").section == bureau["法规股"]
        again = preview(MINI_PLAN.replace("2024", "2025").encode(), office_user)
        assert again.result["names"]["宣传科"]["section_name"] == "综合股"
        assert again.result["summary"]["unknown"] == ["政策法规科"]

    def test_ignore_decision_drops_the_assignment_and_keeps_a_warning(self, bureau, office_user):
        imp = preview(MINI_PLAN.encode(), office_user)
        before = Section.objects.count()
        plan = confirm(
            imp,
            office_user,
            {
                "宣传科": Decision(action="ignore"),
                "政策法规科": Decision(action="ignore"),
            },
        )
        assert Section.objects.count() == before
        first = plan.tasks.get(code="01.01")
        assert not first.assignments.filter(role=AssignmentRole.LEAD).exists()
        warnings = imp.result["confirm"]["warnings"]
        assert any("宣传科" in w and "忽略" in w for w in warnings)
        assert any("没有牵头股室" in w for w in warnings)

    def test_missing_decision_refuses_and_writes_nothing(self, bureau, office_user):
        imp = preview(MINI_PLAN.encode(), office_user)
        before = counts()
        with pytest.raises(ImportRefused, match="宣传科"):
            confirm(imp, office_user, {"政策法规科": Decision(action="ignore")})
        assert counts() == before
        imp.refresh_from_db()
        assert imp.status == PlanImport.Status.PREVIEW

    def test_from_bytes_with_skip_creates_no_sections(self, bureau, office_user):
        before = Section.objects.count()
        plan, imp = plan_import_from_bytes(
            name="mini.txt", data=MINI_PLAN.encode(), user=office_user, unknown="skip"
        )
        assert plan is not None and plan.year == 2024
        assert Section.objects.count() == before
        assert imp.result["confirm"]["ignored"] == ["宣传科", "政策法规科"]


class TestIdempotenceAndDuplicates:
    def test_confirming_twice_returns_the_same_plan_without_new_rows(self, bureau, office_user, sample_bytes):
        imp = preview(sample_bytes, office_user)
        plan = confirm(imp, office_user)
        before = counts()
        stale = PlanImport.objects.get(pk=imp.pk)
        assert confirm(stale, office_user) == plan
        stale.status = PlanImport.Status.PREVIEW  # a stale copy from before the first confirm
        assert confirm(stale, office_user) == plan
        assert counts() == before

    def test_same_file_twice_warns_about_the_earlier_plan(self, bureau, office_user, sample_bytes):
        plan = confirm(preview(sample_bytes, office_user), office_user)
        second = preview(sample_bytes, office_user, name="again.txt")
        duplicate = second.result["duplicate"]
        assert duplicate["plan_id"] == plan.pk
        assert f"导入为《{plan.title}》" in duplicate["message"]
        assert duplicate["message"].startswith("此文件已于")

    def test_from_bytes_returns_the_existing_plan_for_the_same_file(self, bureau, office_user, sample_bytes):
        plan, imp = plan_import_from_bytes(
            name=SAMPLE_PLAN.name, data=sample_bytes, year=2023, user=office_user
        )
        assert plan is not None and imp.plan == plan
        before = counts()
        again, skipped = plan_import_from_bytes(
            name=SAMPLE_PLAN.name, data=sample_bytes, year=2023, user=office_user
        )
        assert again == plan
        assert skipped.pk is None and skipped.result["skipped"]
        assert counts() == before

    def test_cancelled_import_cannot_be_confirmed(self, bureau, office_user, sample_bytes):
        imp = preview(sample_bytes, office_user)
        plan_import_cancel(plan_import=imp, user=office_user)
        plan_import_cancel(plan_import=imp, user=office_user)  # again: nothing happens
        assert AuditEntry.objects.filter(action="plan.import.cancel").count() == 1
        with pytest.raises(ImportRefused, match="已取消"):
            confirm(imp, office_user)
        assert not WorkPlan.objects.exists()

    def test_confirmed_import_cannot_be_cancelled(self, bureau, office_user, sample_bytes):
        imp = preview(sample_bytes, office_user)
        confirm(imp, office_user)
        with pytest.raises(ImportRefused, match="不能取消"):
            plan_import_cancel(plan_import=imp, user=office_user)


class TestBadFiles:
    @pytest.mark.parametrize(
        ("name", "data", "message"),
        [
            ("empty.txt", b"", "空"),
            ("garbage.txt", bytes(range(256)) * 64, ""),
            ("plan.pdf", b"%PDF-1.7 not a plan", "不支持"),
            ("plan", b"no extension", "不支持"),
            ("prose.txt", "这是一段没有任何编号条目的文字。".encode(), ""),
        ],
    )
    def test_bad_file_is_refused_and_changes_nothing(self, bureau, office_user, name, data, message):
        before = counts()
        with pytest.raises(ImportRefused) as exc:
            preview(data, office_user, name=name)
        assert message in exc.value.message
        assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message)
        assert counts() == before

    def test_a_50_mb_file_is_refused_with_a_clear_message(self, bureau, office_user):
        data = b"a" * (50 * 1024 * 1024)
        assert len(data) > settings.MAX_UPLOAD_BYTES
        before = counts()
        with pytest.raises(ImportRefused, match=r"文件过大（50\.0 MB），上限为 20\.0 MB"):
            preview(data, office_user, name="big.txt")
        assert counts() == before

    @override_settings(MAX_UPLOAD_BYTES=1024)
    def test_upload_limit_follows_the_setting(self, bureau, office_user, sample_bytes):
        with pytest.raises(ImportRefused, match="文件过大"):
            preview(sample_bytes, office_user)

    def test_invalid_year_is_refused(self, bureau, office_user, sample_bytes):
        imp = preview(sample_bytes, office_user)
        with pytest.raises(ImportRefused, match="年度"):
            confirm(imp, office_user, year=1999)


class TestAudit:
    def test_preview_and_confirm_are_audited_with_counts(self, bureau, office_user, sample_bytes):
        imp = preview(sample_bytes, office_user)
        plan = confirm(imp, office_user)
        entry = AuditEntry.objects.get(action="plan.import.preview")
        assert (entry.user, entry.object_id, entry.new_value["tasks"]) == (
            office_user,
            str(imp.pk),
            SAMPLE_TASKS,
        )
        entry = AuditEntry.objects.get(action="plan.import.confirm")
        assert entry.object_id == str(plan.pk)
        assert entry.new_value["tasks"] == SAMPLE_TASKS
        assert entry.new_value["headings"] == SAMPLE_HEADINGS
        assert entry.new_value["assignments"] == TaskAssignment.objects.filter(task__plan=plan).count()


class TestYearAndDeadlines:
    def test_changing_the_year_at_confirm_moves_due_dates(self, bureau, office_user):
        text = (
            "2023年政务公开工作要点\n一、加强公开\n"
            "（一）深化数据公开。6月底前完成数据发布。（牵头股室：综合股）\n"
        )
        imp = preview(text.encode(), office_user)
        assert imp.year == 2023
        plan = confirm(imp, office_user, year=2024)
        task = plan.tasks.get(is_heading=False)
        assert plan.year == 2024
        assert task.due_date is not None and task.due_date.isoformat() == "2024-06-30"


class TestQueryCounts:
    def test_confirming_the_sample_uses_a_fixed_number_of_queries(
        self, bureau, office_user, sample_bytes, django_assert_max_num_queries
    ):
        imp = preview(sample_bytes, office_user)
        with django_assert_max_num_queries(CONFIRM_MAX_QUERIES):
            confirm(imp, office_user)

    def test_confirming_300_tasks_uses_the_same_bound(
        self, bureau, office_user, django_assert_max_num_queries
    ):
        imp = preview(generated_plan(), office_user)
        assert imp.result["summary"]["tasks"] == 300
        with django_assert_max_num_queries(CONFIRM_MAX_QUERIES):
            plan = confirm(imp, office_user)
        assert plan.tasks.count() == 310
        assert TaskAssignment.objects.filter(task__plan=plan).count() >= 300 * 3

    def test_preview_queries_do_not_grow_with_names(self, bureau, office_user, django_assert_max_num_queries):
        with django_assert_max_num_queries(12):
            preview(generated_plan(), office_user)
