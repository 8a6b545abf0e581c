"""任务表格页面：导出（xlsx/csv、防公式注入、查询数）、回导上传 → 差异 → 确认，以及访问矩阵。"""

from __future__ import annotations

import datetime
import io

import docx
import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import make_task
from workplan import sheet_format, spreadsheet
from workplan.models import AssignmentRole, AuditEntry, PlanImport, Recurrence, Task, TaskAssignment


def export_url(plan, fmt="xlsx"):
    return reverse("plan_export", args=[plan.pk, fmt])


def reimport_url(plan):
    return reverse("plan_reimport", args=[plan.pk])


def confirm_url(plan, batch):
    return reverse("plan_reimport_confirm", args=[plan.pk, batch.pk])


def workbook_from(response) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(response.content))


def upload(client, plan, wb, name="任务.xlsx"):
    buffer = io.BytesIO()
    wb.save(buffer)
    return client.post(reimport_url(plan), {"file": SimpleUploadedFile(name, buffer.getvalue())})


@pytest.fixture
def batch(plan, office_user, task):
    wb = openpyxl.Workbook()
    wb.active.append(list(sheet_format.HEADERS))
    wb.active.append([task.code, task.number_path, "改过的标题", "", "综合股", "法规股", "", "", "一次性"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return spreadsheet.plan_tasks_preview_sheet(
        plan=plan, filename="任务.xlsx", data=buffer.getvalue(), user=office_user, max_bytes=20 * 1024 * 1024
    )


# ---------------------------------------------------------------- access matrix


class TestAccess:
    @pytest.mark.parametrize(
        ("persona", "export", "reimport"),
        [
            ("as_office", 200, 200),
            ("as_director", 200, 403),
            ("as_lead", 403, 403),  # section staff: sees the plan, may not export or re-import it
            ("as_readonly", 403, 403),
            ("as_outsider", 404, 404),  # no task of the plan is theirs: the plan does not exist for them
        ],
    )
    def test_it_applies_the_access_matrix(self, request, task, plan, persona, export, reimport):
        client = request.getfixturevalue(persona)
        assert client.get(export_url(plan)).status_code == export
        assert client.get(reimport_url(plan)).status_code == reimport

    @pytest.mark.parametrize(
        ("persona", "status"), [("as_director", 403), ("as_lead", 403), ("as_outsider", 404)]
    )
    def test_only_the_office_sees_or_applies_a_batch(self, request, plan, batch, persona, status):
        client = request.getfixturevalue(persona)
        assert client.get(confirm_url(plan, batch)).status_code == status
        assert client.post(confirm_url(plan, batch)).status_code == status
        assert Task.objects.get(plan=plan).title == "深化统计数据公开"

    def test_anonymous_users_are_sent_to_login(self, client, plan, batch):
        for url in (export_url(plan), reimport_url(plan), confirm_url(plan, batch)):
            response = client.get(url)
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("login"))

    def test_wrong_methods_get_405(self, as_office, plan, batch):
        assert as_office.post(export_url(plan)).status_code == 405
        assert as_office.put(reimport_url(plan)).status_code == 405
        assert as_office.delete(confirm_url(plan, batch)).status_code == 405
        assert as_office.put(confirm_url(plan, batch)).status_code == 405
        assert PlanImport.objects.get(pk=batch.pk).status == PlanImport.Status.PREVIEW

    def test_unknown_format_or_batch_is_404(self, as_office, plan, batch, task):
        assert as_office.get(export_url(plan, "html")).status_code == 404
        assert (
            as_office.get(reverse("plan_reimport_confirm", args=[plan.pk, batch.pk + 99])).status_code == 404
        )
        other = make_task(title="另一个计划的任务").plan
        assert as_office.get(reverse("plan_reimport_confirm", args=[other.pk, batch.pk])).status_code == 404


# ---------------------------------------------------------------- export


class TestExport:
    def test_it_exports_actionable_tasks_with_chinese_headers_in_order(self, as_director, plan, sections):
        Task.objects.create(plan=plan, code="H1", title="一、总体要求", is_heading=True, position=0)
        make_task(
            plan, code="T1", title="深化统计数据公开", body="按季度发布", number_path="一/（一）",
            leads=[sections["resp"], sections["lead"]], responsibles=[sections["other"]],
            deadline_text="每季度", due_date=datetime.date(2023, 6, 30), recurrence=Recurrence.QUARTERLY,
        )  # fmt: skip
        response = as_director.get(export_url(plan))
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        rows = [[c.value for c in r] for r in workbook_from(response).active.iter_rows()]
        assert rows[0] == [
            "任务编号",
            "层级序号",
            "标题",
            "内容",
            "牵头股室",
            "责任股室",
            "时限要求",
            "截止日期",
            "周期",
        ]
        assert rows[1][:7] == [
            "T1",
            "一/（一）",
            "深化统计数据公开",
            "按季度发布",
            "综合股、法规股",
            "农业股",
            "每季度",
        ]
        assert rows[1][7].date() == datetime.date(2023, 6, 30)  # openpyxl reads date cells as naive datetimes
        assert rows[1][8] == "每季度"
        assert len(rows) == 2  # the heading row is not a task
        entry = AuditEntry.objects.get(action="plan.export")
        assert entry.new_value == {"format": "xlsx", "rows": 1}

    def test_xlsx_neutralises_formulae_and_keeps_dates_as_date_cells(self, as_office, plan):
        make_task(
            plan, code="X1", title="=cmd|' /C calc'!A0", body="+1+1", due_date=datetime.date(2023, 12, 31)
        )
        sheet = workbook_from(as_office.get(export_url(plan))).active
        title, body, due = sheet["C2"], sheet["D2"], sheet["H2"]
        assert (title.value, title.data_type) == ("'=cmd|' /C calc'!A0", "s")
        assert (body.value, body.data_type) == ("'+1+1", "s")
        assert due.is_date and due.data_type == "d"
        assert due.value.date() == datetime.date(2023, 12, 31)

    def test_csv_has_a_bom_and_neutralised_text(self, as_office, plan):
        make_task(plan, code="X1", title="@SUM(A1)", due_date=datetime.date(2023, 6, 30))
        response = as_office.get(export_url(plan, "csv"))
        assert response.content.startswith("\ufeff".encode())
        text = response.content.decode("utf-8-sig")
        assert text.splitlines()[0] == ",".join(sheet_format.HEADERS)
        assert "'@SUM(A1)" in text and "2023-06-30" in text

    @pytest.mark.parametrize("fmt", ["xlsx", "csv"])
    def test_query_count_does_not_grow_with_the_number_of_tasks(self, as_office, plan, sections, fmt):
        counts = []
        for n in (10, 1000):
            Task.objects.filter(plan=plan).delete()
            tasks = Task.objects.bulk_create(
                [Task(plan=plan, code=f"B{i:05d}", title=f"任务{i}", position=i) for i in range(n)]
            )
            TaskAssignment.objects.bulk_create(
                [TaskAssignment(task=t, section=sections["lead"], role=AssignmentRole.LEAD) for t in tasks]
                + [
                    TaskAssignment(task=t, section=sections["resp"], role=AssignmentRole.RESPONSIBLE)
                    for t in tasks
                ]
            )
            with CaptureQueriesContext(connection) as ctx:
                response = as_office.get(export_url(plan, fmt))
            assert response.status_code == 200
            counts.append(len(ctx.captured_queries))
        assert counts[0] == counts[1]
        assert counts[0] <= 8


# ---------------------------------------------------------------- re-import flow


class TestReimport:
    def test_upload_shows_the_diff_and_confirm_applies_it(self, as_office, plan, sections, task):
        wb = workbook_from(as_office.get(export_url(plan)))
        wb.active["C2"] = "深化统计数据公开（修订）"
        wb.active.append(["N1", "一/（二）", "新增任务", "", "法规股", "", "年底前", "2023-12-31", "一次性"])
        response = upload(as_office, plan, wb)
        batch = PlanImport.objects.get(kind=PlanImport.Kind.UPDATE)
        assert response.status_code == 302
        assert response["Location"] == confirm_url(plan, batch)

        page = as_office.get(confirm_url(plan, batch)).content.decode()
        assert "深化统计数据公开（修订）" in page
        assert "新增任务" in page
        assert "确认导入（新增 1 项，修改 1 项）" in page
        assert Task.objects.filter(plan=plan).count() == 1

        response = as_office.post(confirm_url(plan, batch), follow=True)
        assert response.redirect_chain[-1][0] == reverse("plan_detail", args=[plan.pk])
        assert (
            "已导入：新增 1 项，修改 1 项，未变 0 项；文件中没有的 0 项保留不动。"
            in response.content.decode()
        )
        assert sorted(Task.objects.filter(plan=plan).values_list("code", "title")) == [
            ("N1", "新增任务"),
            (task.code, "深化统计数据公开（修订）"),
        ]
        assert AuditEntry.objects.filter(action="plan.reimport.preview").count() == 1
        assert AuditEntry.objects.filter(action="plan.reimport.apply").count() == 1

    def test_row_errors_are_listed_and_the_batch_cannot_be_applied(self, as_office, plan, task):
        wb = workbook_from(as_office.get(export_url(plan)))
        wb.active["H2"] = "2023-13-01"
        upload(as_office, plan, wb)
        batch = PlanImport.objects.get()
        page = as_office.get(confirm_url(plan, batch)).content.decode()
        assert "第2行「截止日期」：无法识别的日期“2023-13-01”" in page
        assert "确认导入" not in page
        response = as_office.post(confirm_url(plan, batch), follow=True)
        assert "表格中有错误，不能导入" in response.content.decode()
        task.refresh_from_db()
        assert task.due_date is None

    def test_a_renamed_docx_is_refused_on_the_upload_form(self, as_office, plan, task):
        document = docx.Document()
        document.add_paragraph("（一）深化统计数据公开。")
        buffer = io.BytesIO()
        document.save(buffer)
        response = as_office.post(
            reimport_url(plan), {"file": SimpleUploadedFile("任务.xlsx", buffer.getvalue())}
        )
        assert response.status_code == 200
        assert "扩展名是 .xlsx，但内容是Word 文档（.docx），请改用正确的扩展名。" in response.content.decode()
        assert not PlanImport.objects.exists()

    @pytest.mark.parametrize(
        ("name", "data", "message"),
        [
            ("任务.xlsx", b"", "所提交的是空文件"),
            ("任务.xlsx", bytes(range(256)) * 40, "不是有效的Excel 工作簿"),
            ("任务.csv", "姓名,电话\n张三,1\n".encode(), "找不到任务表的表头"),
        ],
    )
    def test_bad_files_are_refused_on_the_upload_form(self, as_office, plan, task, name, data, message):
        response = as_office.post(reimport_url(plan), {"file": SimpleUploadedFile(name, data)})
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not PlanImport.objects.exists()
        assert Task.objects.get(pk=task.pk).title == task.title

    def test_a_50_mb_upload_is_refused_without_being_read(self, as_office, plan, task, settings):
        assert settings.MAX_UPLOAD_BYTES < 50 * 1024 * 1024
        big = SimpleUploadedFile("任务.xlsx", b"\0" * (50 * 1024 * 1024))
        response = as_office.post(reimport_url(plan), {"file": big})
        assert response.status_code == 200
        assert "文件过大（50.0 MB），上限为 20 MB。" in response.content.decode()
        assert not PlanImport.objects.exists()
        assert Task.objects.get(pk=task.pk).title == task.title

    def test_the_upload_form_names_the_expected_headers(self, as_office, plan):
        page = as_office.get(reimport_url(plan)).content.decode()
        assert "任务编号、层级序号、标题、内容、牵头股室、责任股室、时限要求、截止日期、周期" in page
