"""任务表格回导：读取、逐行校验、差异（纯函数，不用数据库），以及预览/确认两个服务的写入规则。"""

from __future__ import annotations

import datetime
import io

import docx
import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import make_task
from workplan import sheet_export, sheet_format, spreadsheet
from workplan.exporting import build_dataset
from workplan.models import (
    AssignmentRole,
    AuditEntry,
    PlanImport,
    ProgressReport,
    ReportStatus,
    SectionGroup,
    Task,
    TaskAssignment,
)
from workplan.parsers.text import match_key
from workplan.sections import SectionResolver
from workplan.sheet_diff import CurrentTask, PlanSnapshot, diff_sheet
from workplan.sheet_reading import SheetFileError, validate_table
from workplan.spreadsheet import SheetApplyError

H = list(sheet_format.HEADERS)
MAX = 20 * 1024 * 1024


def fake_resolver() -> SectionResolver:
    """不查库的解析器：综合股=1、法规股=2、农业股=3，别名 政策法规股→法规股，集合称谓 各股室=1,2,3。"""
    resolver = SectionResolver()
    for pk, name in ((1, "综合股"), (2, "法规股"), (3, "农业股")):
        resolver.sections[match_key(name)] = (pk, name)
    resolver.sections[match_key("政策法规股")] = (2, "法规股")
    resolver.groups[match_key("各股室")] = (9, "各股室", (1, 2, 3))
    return resolver


def row(code="T1", title="深化统计数据公开", *, path="一/（一）", body="", leads="综合股", resps="法规股",
        deadline="年底前", due="2023-12-31", recurrence="一次性"):  # fmt: skip
    return [code, path, title, body, leads, resps, deadline, due, recurrence]


def validate(rows):
    return validate_table(rows, fake_resolver().resolve)


def error_texts(result):
    return [e["text"] for e in result.errors]


# ---------------------------------------------------------------- pure: cells


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("任务编号", "code"),
        ("任務編號", "code"),
        (" 标题 ", "title"),
        ("標題", "title"),
        ("牽頭股室", "leads"),
        ("責任單位", "responsibles"),
        ("週期", "recurrence"),
        ("截止日期：", "due_date"),
        ("备注", None),
    ],
)
def test_headers_are_recognised_in_simplified_or_traditional(header, key):
    assert sheet_format.header_column(header) == key


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        (None, None),
        ("2023-06-30", datetime.date(2023, 6, 30)),
        ("2023/6/3", datetime.date(2023, 6, 3)),
        ("2023.06.30", datetime.date(2023, 6, 30)),
        ("2023年6月30日", datetime.date(2023, 6, 30)),
        ("20230630", datetime.date(2023, 6, 30)),
        ("2023-06-30 00:00:00", datetime.date(2023, 6, 30)),
        (datetime.datetime(2023, 6, 30, 8, 0, tzinfo=datetime.UTC), datetime.date(2023, 6, 30)),
        (datetime.date(2023, 6, 30), datetime.date(2023, 6, 30)),
    ],
)
def test_dates_are_read_in_the_usual_spellings(value, expected):
    assert sheet_format.parse_date(value) == expected


@pytest.mark.parametrize("value", ["2023-13-01", "2023-02-30", "年底前", "6/30"])
def test_unreadable_dates_are_rejected_with_the_original_text(value):
    with pytest.raises(ValueError, match=f"无法识别的日期“{value}”"):
        sheet_format.parse_date(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("一次性", ""), ("", ""), ("每季度", "quarterly"), ("每 月", "monthly"), ("持續推進", "continuous"),
     ("每半年", "half_yearly"), ("yearly", "yearly")],
)  # fmt: skip
def test_recurrence_labels_map_to_stored_values(value, expected):
    assert sheet_format.parse_recurrence(value) == expected


def test_unknown_recurrence_lists_the_allowed_labels():
    with pytest.raises(ValueError, match="无法识别的周期“每两周”，可填：一次性、每月"):
        sheet_format.parse_recurrence("每两周")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("'=cmd|' /C calc'!A0", "=cmd|' /C calc'!A0"), ("'-1", "-1"), ("'@SUM(A1)", "@SUM(A1)"),
     ("'引号开头", "'引号开头"), ("  标题 \r\n", "标题"), (12.0, "12"), (None, "")],
)  # fmt: skip
def test_clean_text_undoes_the_export_formula_guard(value, expected):
    assert sheet_format.clean_text(value) == expected


def test_section_cells_split_on_common_separators():
    assert sheet_format.split_section_names("综合股、法规股，农业股;综合股\n普查中心") == [
        "综合股",
        "法规股",
        "农业股",
        "普查中心",
    ]


# ---------------------------------------------------------------- pure: validation


def test_a_clean_sheet_validates_every_column():
    result = validate(
        [H, row(leads="綜合股、政策法规股", resps="各股室", due="2023年6月30日", recurrence="每季度")]
    )
    assert result.errors == []
    (only,) = result.rows
    assert only.code == "T1"
    assert only.values["due_date"] == datetime.date(2023, 6, 30)
    assert only.values["recurrence"] == "quarterly"
    assert [p.section_id for p in only.sections["leads"]] == [1, 2]
    # 各股室 expands to its members; sections that already lead are dropped from the responsibles.
    assert [(p.section_id, p.group_id) for p in only.sections["responsibles"]] == [(3, 9)]


def test_headers_may_be_traditional_and_in_any_order_and_extra_columns_are_ignored():
    headers = ["標題", "備註", "任務編號", "截止日期"]
    result = validate([headers, ["新标题", "随便写", "T1", "2023-06-30"]])
    assert result.errors == []
    assert result.present == ["code", "title", "due_date"]
    assert result.headers["title"] == "標題"
    assert [w["text"] for w in result.warnings] == ["第1行：已忽略无法识别的列「備註」"]


def test_missing_required_headers_name_the_expected_and_the_found_headers():
    with pytest.raises(SheetFileError) as exc:
        validate([["任务编号", "内容", "备注"], ["T1", "x", ""]])
    message = str(exc.value)
    assert "表头缺少「标题」" in message
    assert (
        "应有的表头：任务编号、层级序号、标题、内容、牵头股室、责任股室、时限要求、截止日期、周期" in message
    )
    assert "文件中的表头：任务编号、内容、备注" in message


def test_a_sheet_without_any_known_header_is_rejected():
    with pytest.raises(SheetFileError, match="找不到任务表的表头.*文件中第一行是：姓名、电话"):
        validate([["姓名", "电话"], ["张三", "123"]])


def test_a_sheet_with_headers_only_is_rejected():
    with pytest.raises(SheetFileError, match="表头之后没有任何任务行"):
        validate([H, [""] * 9])


def test_header_row_may_sit_below_a_title_row():
    result = validate([["2023年政务公开任务表"], [], H, row()])
    assert result.errors == []
    assert result.rows[0].line == 4


@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [
        (row(due="2023-13-01"), "第5行「截止日期」：无法识别的日期“2023-13-01”（请写成 2023-06-30）"),
        (row(leads="综合谷"), "第5行「牵头股室」：未知股室“综合谷”，是否为“综合股”？"),
        (row(resps="宣传部"), "第5行「责任股室」：未知股室“宣传部”，请先在股室设置中添加该股室或别名"),
        (row(title=""), "第5行「标题」：不能为空"),
        (row(code=""), "第5行「任务编号」：不能为空"),
        (
            row(recurrence="偶尔"),
            "第5行「周期」：无法识别的周期“偶尔”，可填：一次性、每月、每季度、每半年、每年、持续推进",
        ),
        (row(title="长" * 256), "第5行「标题」：内容过长（256 字），最多 255 字"),
    ],
)
def test_every_bad_cell_is_reported_with_its_row_and_column(bad_row, expected):
    result = validate([H, row("T1"), row("T2"), row("T3"), bad_row])
    assert error_texts(result) == [expected]


def test_duplicate_codes_name_the_first_row():
    result = validate([H, row("T1"), row("T2"), row("T1")])
    assert error_texts(result) == ["第4行「任务编号」：任务编号“T1”与第2行重复"]


def test_all_errors_are_collected_not_just_the_first():
    result = validate([H, row("T1", due="明天"), row("T2", title=""), row("T3", leads="无此股")])
    assert len(result.errors) == 3
    assert [e["line"] for e in result.errors] == [2, 3, 4]


def test_errors_name_the_header_as_written_in_the_file():
    headers = ["任務編號", "標題", "截止日期"]
    result = validate([headers, ["T1", "标题", "2023-02-30"]])
    assert error_texts(result) == ["第2行「截止日期」：无法识别的日期“2023-02-30”（请写成 2023-06-30）"]


# ---------------------------------------------------------------- pure: diff


def snapshot_with(*tasks: CurrentTask) -> PlanSnapshot:
    snap = PlanSnapshot(section_names={1: "综合股", 2: "法规股", 3: "农业股"}, max_position=10)
    for t in tasks:
        snap.tasks[t.code] = t
    return snap


def current(code, pk, **values):
    base = {"number_path": "一/（一）", "title": "深化统计数据公开", "body": "", "deadline_text": "年底前",
            "due_date": datetime.date(2023, 12, 31), "recurrence": ""}  # fmt: skip
    base.update(values)
    task = CurrentTask(id=pk, code=code, is_heading=False, values=base)
    task.assignments = {(1, AssignmentRole.LEAD): pk * 10 + 1, (2, AssignmentRole.RESPONSIBLE): pk * 10 + 2}
    return task


def test_diff_sorts_rows_into_new_changed_unchanged_and_missing():
    snap = snapshot_with(current("T1", 1), current("T2", 2), current("T3", 3))
    sheet = validate([H, row("T1"), row("T2", title="新标题", resps="农业股"), row("N1", title="新任务")])
    diff = diff_sheet(sheet, snap)
    assert [r.code for r in diff.of("unchanged")] == ["T1"]
    (changed,) = diff.of("changed")
    assert changed.fields == {"title": "新标题"}
    assert list(changed.sections) == ["responsibles"]
    assert changed.changes == [
        {"column": "标题", "old": "深化统计数据公开", "new": "新标题"},
        {"column": "责任股室", "old": "法规股", "new": "农业股"},
    ]
    (new,) = diff.of("new")
    assert (new.code, new.fields["title"]) == ("N1", "新任务")
    assert diff.missing == [{"code": "T3", "task_id": 3, "title": "深化统计数据公开"}]
    assert diff.counts == {"new": 1, "changed": 1, "unchanged": 1, "missing": 1, "errors": 0, "warnings": 0}


def test_diff_compares_only_the_columns_present_in_the_file():
    snap = snapshot_with(current("T1", 1, body="原有内容"))
    diff = diff_sheet(validate([["任务编号", "标题"], ["T1", "深化统计数据公开"]]), snap)
    assert [r.action for r in diff.rows] == ["unchanged"]


def test_diff_ignores_whitespace_and_line_ending_noise():
    snap = snapshot_with(current("T1", 1, body="第一段\r\n第二段  "))
    diff = diff_sheet(validate([H, row("T1", body="第一段\n第二段")]), snap)
    assert [r.action for r in diff.rows] == ["unchanged"]


def test_a_heading_code_cannot_be_edited_through_the_task_sheet():
    heading = CurrentTask(id=5, code="H1", is_heading=True, values={"title": "一、总体要求"})
    diff = diff_sheet(validate([H, row("H1")]), snapshot_with(heading))
    assert [e["text"] for e in diff.errors] == [
        "第2行「任务编号」：任务编号“H1”是章节标题，不能在任务表中修改"
    ]


def test_fingerprint_changes_when_the_plan_changes_under_the_preview():
    sheet = validate([H, row("T1", title="新标题")])
    before = diff_sheet(sheet, snapshot_with(current("T1", 1))).fingerprint
    assert diff_sheet(sheet, snapshot_with(current("T1", 1))).fingerprint == before
    assert diff_sheet(sheet, snapshot_with(current("T1", 1, title="别人改过"))).fingerprint != before


# ---------------------------------------------------------------- services (database)


def xlsx_bytes(rows) -> bytes:
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    return workbook_bytes(wb)


def exported_workbook(plan) -> openpyxl.Workbook:
    data = bytes(build_dataset(H, sheet_export.export_rows(plan)).export("xlsx"))
    return openpyxl.load_workbook(io.BytesIO(data))


def workbook_bytes(wb) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def db_state():
    tasks = sorted(Task.objects.values_list())
    assignments = sorted(TaskAssignment.objects.values_list())
    return tasks, assignments


@pytest.fixture
def three_tasks(plan, sections):
    return [
        make_task(
            plan,
            code=f"T{i}",
            title=f"任务{i}",
            leads=[sections["lead"]],
            responsibles=[sections["resp"]],
            number_path=f"一/（{i}）",
            position=i,
            deadline_text="年底前",
        )  # fmt: skip
        for i in (1, 2, 3)
    ]


def preview(plan, user, data, filename="任务.xlsx"):
    return spreadsheet.plan_tasks_preview_sheet(
        plan=plan, filename=filename, data=data, user=user, max_bytes=MAX
    )


def apply(plan, user, batch):
    return spreadsheet.plan_tasks_update_from_sheet(plan=plan, batch=batch, user=user, max_bytes=MAX)


def test_round_trip_applies_exactly_the_edits_made_in_excel(plan, sections, office_user, three_tasks):
    t1, t2, t3 = three_tasks
    untouched = {t.pk: (t.updated_at, sorted(t.assignments.values_list("pk", flat=True))) for t in (t1, t3)}
    wb = exported_workbook(plan)
    sheet = wb.active
    assert [c.value for c in sheet[1]] == H
    sheet["C3"] = "任务2（已修改）"  # 标题 of T2
    sheet["F3"] = "农业股"  # 责任股室 of T2
    sheet["H3"] = datetime.date(2023, 9, 30)  # 截止日期 of T2

    batch = preview(plan, office_user, workbook_bytes(wb))
    assert batch.kind == PlanImport.Kind.UPDATE
    assert batch.status == PlanImport.Status.PREVIEW
    assert batch.result["counts"] == {
        "new": 0,
        "changed": 1,
        "unchanged": 2,
        "missing": 0,
        "errors": 0,
        "warnings": 0,
    }
    assert batch.result["changed"] == [
        {
            "line": 3,
            "code": "T2",
            "task_id": t2.pk,
            "changes": [
                {"column": "标题", "old": "任务2", "new": "任务2（已修改）"},
                {"column": "责任股室", "old": "法规股", "new": "农业股"},
                {"column": "截止日期", "old": "（空）", "new": "2023-09-30"},
            ],
        }
    ]
    assert Task.objects.get(pk=t2.pk).title == "任务2"  # the preview writes nothing

    counts = apply(plan, office_user, batch)
    assert (counts["new"], counts["changed"], counts["unchanged"]) == (0, 1, 2)
    t2.refresh_from_db()
    assert (t2.title, t2.due_date) == ("任务2（已修改）", datetime.date(2023, 9, 30))
    roles = sorted(t2.assignments.values_list("section__name", "role"))
    assert roles == [("农业股", AssignmentRole.RESPONSIBLE), ("综合股", AssignmentRole.LEAD)]
    for t in (t1, t3):
        t.refresh_from_db()
        assert (t.updated_at, sorted(t.assignments.values_list("pk", flat=True))) == untouched[t.pk]
    batch.refresh_from_db()
    assert batch.status == PlanImport.Status.CONFIRMED
    assert batch.confirmed_at is not None
    assert AuditEntry.objects.filter(action="plan.reimport.apply", outcome="success").count() == 1


def test_a_row_with_a_new_code_creates_a_task_with_its_assignments(plan, sections, office_user, three_tasks):
    wb = exported_workbook(plan)
    wb.active.append(
        ["N1", "一/（4）", "新增任务", "内容", "综合股、法规股", "各股室", "9月底前", "2023-09-30", "每季度"]
    )
    group = SectionGroup.objects.create(name="各股室")
    group.members.set([sections["lead"], sections["other"]])
    batch = preview(plan, office_user, workbook_bytes(wb))
    assert batch.result["counts"]["new"] == 1
    apply(plan, office_user, batch)
    task = Task.objects.get(plan=plan, code="N1")
    assert (task.title, task.recurrence, task.position, task.level) == ("新增任务", "quarterly", 4, 2)
    assignments = sorted(task.assignments.values_list("section__name", "role", "via_group__name"))
    assert assignments == [
        ("农业股", AssignmentRole.RESPONSIBLE, "各股室"),
        ("法规股", AssignmentRole.LEAD, None),
        ("综合股", AssignmentRole.LEAD, None),
    ]


def test_apply_updates_only_changed_rows_and_only_their_changed_fields(plan, sections, office_user):
    Task.objects.bulk_create(
        [Task(plan=plan, code=f"B{i:04d}", title=f"任务{i}", position=i) for i in range(300)]
    )
    wb = exported_workbook(plan)
    wb.active["C2"] = "改过的标题"
    batch = preview(plan, office_user, workbook_bytes(wb))
    with CaptureQueriesContext(connection) as ctx:
        apply(plan, office_user, batch)
    updates = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('UPDATE "workplan_task"')]
    assert len(updates) == 1
    assert "CASE" not in updates[0]
    assert '"title"' in updates[0] and '"body"' not in updates[0]
    assert not any('INSERT INTO "workplan_task"' in q["sql"] for q in ctx.captured_queries)


def test_tasks_missing_from_the_file_are_kept_and_reported(plan, office_user, three_tasks):
    wb = exported_workbook(plan)
    wb.active.delete_rows(3)
    batch = preview(plan, office_user, workbook_bytes(wb))
    assert [m["code"] for m in batch.result["missing"]] == ["T2"]
    apply(plan, office_user, batch)
    assert Task.objects.filter(plan=plan).count() == 3


def test_reimport_never_touches_progress_reports(plan, sections, office_user, three_tasks):
    task = three_tasks[0]
    report = ProgressReport.objects.create(
        task=task, section=sections["lead"], role=AssignmentRole.LEAD, year=2023, quarter=1,
        status=ReportStatus.IN_PROGRESS, narrative="已推进", submitted_at=datetime.datetime.now(datetime.UTC),
    )  # fmt: skip
    before = ProgressReport.objects.filter(pk=report.pk).values().get()
    wb = exported_workbook(plan)
    wb.active["C2"] = "改名"
    wb.active["E2"] = "农业股"
    apply(plan, office_user, preview(plan, office_user, workbook_bytes(wb)))
    assert ProgressReport.objects.filter(pk=report.pk).values().get() == before


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"H3": "2023-13-01"}, "第3行「截止日期」：无法识别的日期“2023-13-01”（请写成 2023-06-30）"),
        ({"E3": "综合谷"}, "第3行「牵头股室」：未知股室“综合谷”，是否为“综合股”？"),
        ({"A3": "T1"}, "第3行「任务编号」：任务编号“T1”与第2行重复"),
        ({"C3": None}, "第3行「标题」：不能为空"),
    ],
)
def test_a_file_with_any_error_cannot_be_applied_and_writes_nothing(
    plan, office_user, three_tasks, edit, message
):
    wb = exported_workbook(plan)
    wb.active["C2"] = "这一行本身没问题"
    for cell, value in edit.items():
        wb.active[cell] = value
    before = db_state()
    batch = preview(plan, office_user, workbook_bytes(wb))
    assert batch.status == PlanImport.Status.FAILED
    assert [e["text"] for e in batch.result["errors"]] == [message]
    with pytest.raises(SheetApplyError, match="表格中有错误"):
        apply(plan, office_user, batch)
    assert db_state() == before
    assert AuditEntry.objects.filter(action="plan.reimport.apply", outcome="failure").count() == 1


def _docx_bytes() -> bytes:
    """一份真正的 Word 文档（之后被改名为 .xlsx 上传）。"""
    document = docx.Document()
    document.add_paragraph("（一）深化统计数据公开。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("任务.xlsx", b"", "文件是空的"),
        ("任务.xlsx", b"\x00\x01garbage\xff" * 100, "不是有效的Excel 工作簿"),
        ("任务.xlsx", _docx_bytes(), "扩展名是 .xlsx，但内容是Word 文档"),
        ("任务.csv", b"\x00\x01\x02binary\x00" * 50, "二进制文件"),
        ("任务.xls", b"whatever", "不支持的文件类型：.xls"),
        ("任务.xlsx", xlsx_bytes([["姓名", "电话"]]), "找不到任务表的表头"),
        ("任务.csv", "任务编号,内容\nT1,x\n".encode(), "表头缺少「标题」"),
    ],
)
def test_bad_files_give_a_clear_error_and_change_nothing(
    plan, office_user, three_tasks, filename, data, message
):
    before = db_state()
    with pytest.raises(SheetFileError, match=message):
        preview(plan, office_user, data, filename=filename)
    assert db_state() == before
    assert not PlanImport.objects.exists()
    assert AuditEntry.objects.get(action="plan.reimport.preview").outcome == "failure"


def test_a_file_over_the_size_limit_is_refused(plan, office_user):
    with pytest.raises(SheetFileError, match="文件过大（50.0 MB），上限为 20 MB"):
        preview(plan, office_user, b"x" * (50 * 1024 * 1024), filename="任务.csv")
    assert not PlanImport.objects.exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_and_gb18030_is_read(plan, office_user, three_tasks, encoding):
    text = "任务编号,标题,牵头股室\nT1,任务1（改）,綜合股\n"
    batch = preview(plan, office_user, text.encode(encoding), filename="任务.csv")
    assert batch.result["counts"]["changed"] == 1
    assert batch.result["changed"][0]["changes"] == [{"column": "标题", "old": "任务1", "new": "任务1（改）"}]


def test_a_batch_can_be_applied_only_once(plan, office_user, three_tasks):
    wb = exported_workbook(plan)
    wb.active["C2"] = "改一次"
    batch = preview(plan, office_user, workbook_bytes(wb))
    apply(plan, office_user, batch)
    batch.refresh_from_db()
    with pytest.raises(SheetApplyError, match="不能重复导入"):
        apply(plan, office_user, batch)


def test_apply_refuses_when_the_plan_changed_after_the_preview(plan, office_user, three_tasks):
    wb = exported_workbook(plan)
    wb.active["C2"] = "我改的"
    batch = preview(plan, office_user, workbook_bytes(wb))
    Task.objects.filter(code="T1").update(title="别人同时改的")
    with pytest.raises(SheetApplyError, match="预览之后计划中的任务或股室已有变动"):
        apply(plan, office_user, batch)
    assert Task.objects.get(code="T1").title == "别人同时改的"
    batch.refresh_from_db()
    assert batch.status == PlanImport.Status.PREVIEW


def test_formula_guard_quotes_round_trip_without_showing_a_change(plan, office_user):
    make_task(plan, code="F1", title="=cmd|' /C calc'!A0", body="-5 起步")
    wb = exported_workbook(plan)
    assert wb.active["C2"].value == "'=cmd|' /C calc'!A0"
    batch = preview(plan, office_user, workbook_bytes(wb))
    assert batch.result["counts"]["unchanged"] == 1
