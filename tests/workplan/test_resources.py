"""django-import-export 任务资源（TaskResource）与管理后台的导入/导出（权限、格式、查询数）。"""

from __future__ import annotations

import datetime
import io

import openpyxl
import tablib
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import make_task, make_user
from workplan import sheet_format
from workplan.models import AssignmentRole, Role, Task, TaskAssignment
from workplan.resources import TaskResource

H = list(sheet_format.HEADERS)


def dataset(*rows, headers=H) -> tablib.Dataset:
    data = tablib.Dataset(headers=list(headers))
    for row in rows:
        data.append(row)
    return data


def staff(username, *codenames):
    user = make_user(username, role=Role.OFFICE, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="workplan", codename__in=codenames)
    )
    return user


class TestTaskResource:
    def test_export_uses_the_sheet_headers_and_neutralises_formulae(self, plan, sections):
        make_task(
            plan,
            code="T1",
            number_path="一/（一）",
            title='=HYPERLINK("http://x")',
            leads=[sections["lead"], sections["resp"]],
            responsibles=[sections["other"]],
            due_date=datetime.date(2023, 6, 30),
            recurrence="quarterly",
        )
        data = TaskResource(plan=plan).export()
        assert data.headers == H
        assert data[0] == (
            *("T1", "一/（一）", '\'=HYPERLINK("http://x")', ""),
            *("综合股、法规股", "农业股", "", "2023-06-30", "每季度"),
        )

    def test_export_query_count_does_not_grow_with_tasks(self, plan, sections):
        counts = []
        for n in (10, 500):
            Task.objects.filter(plan=plan).delete()
            tasks = Task.objects.bulk_create(
                [Task(plan=plan, code=f"B{i:04d}", title=f"任务{i}", position=i) for i in range(n)]
            )
            TaskAssignment.objects.bulk_create(
                [TaskAssignment(task=t, section=sections["lead"], role=AssignmentRole.LEAD) for t in tasks]
            )
            with CaptureQueriesContext(connection) as ctx:
                assert len(TaskResource(plan=plan).export()) == n
            counts.append(len(ctx.captured_queries))
        assert counts == [2, 2]

    def test_import_creates_and_updates_tasks_by_code_within_the_plan(self, plan, sections):
        existing = make_task(
            plan, code="T1", title="旧标题", leads=[sections["lead"]], responsibles=[sections["resp"]]
        )
        other_plan_task = make_task(code="T1", title="另一计划的同号任务")
        data = dataset(
            ["T1", "一/（一）", "新标题", "", "综合股", "农业股", "年底前", "2023年12月31日", "每季度"],
            ["N1", "一/（二）", "新增任务", "内容", "法規股", "", "", "", "一次性"],
        )
        result = TaskResource(plan=plan).import_data(data, dry_run=False)
        assert not result.has_errors() and not result.has_validation_errors()
        existing.refresh_from_db()
        assert (existing.title, existing.due_date, existing.recurrence) == (
            "新标题",
            datetime.date(2023, 12, 31),
            "quarterly",
        )
        assert sorted(existing.assignments.values_list("section__name", "role")) == [
            ("农业股", AssignmentRole.RESPONSIBLE),
            ("综合股", AssignmentRole.LEAD),
        ]
        created = Task.objects.get(plan=plan, code="N1")
        assert list(created.assignments.values_list("section__name", "role")) == [
            ("法规股", AssignmentRole.LEAD)
        ]
        assert Task.objects.get(pk=other_plan_task.pk).title == "另一计划的同号任务"

    def test_import_reports_bad_cells_by_column_and_writes_nothing(self, plan, sections):
        data = dataset(["T1", "", "标题", "", "综合谷", "", "", "2023-13-01", ""])
        result = TaskResource(plan=plan).import_data(data, dry_run=False)
        assert result.has_validation_errors()
        errors = result.invalid_rows[0].error_dict
        assert "未知股室“综合谷”，是否为“综合股”？" in errors["牵头股室"][0]
        assert "无法识别的日期“2023-13-01”" in errors["截止日期"][0]
        assert not Task.objects.exists()

    def test_import_accepts_traditional_headers(self, plan, sections):
        data = dataset(["T9", "標題也行"], headers=["任務編號", "標題"])
        result = TaskResource(plan=plan).import_data(data, dry_run=False)
        assert not result.has_errors() and not result.has_validation_errors()
        assert Task.objects.get(plan=plan, code="T9").title == "標題也行"

    def test_import_without_a_plan_is_an_error(self, db):
        result = TaskResource().import_data(
            dataset(["T1", "", "标题", "", "", "", "", "", ""]), dry_run=False
        )
        assert result.has_errors()
        assert not Task.objects.exists()


class TestTaskAdmin:
    def test_only_xlsx_and_csv_are_offered(self):
        model_admin = admin.site._registry[Task]
        names = {f.__name__ for f in model_admin.get_import_formats()} | {
            f.__name__ for f in model_admin.get_export_formats()
        }
        assert names == {"XLSX", "CSV"}

    def test_staff_without_the_permissions_get_403(self, client, db):
        client.force_login(staff("clerk", "view_task", "change_task"))
        assert client.get(reverse("admin:workplan_task_import")).status_code == 403
        assert client.post(reverse("admin:workplan_task_process_import")).status_code == 403
        assert client.get(reverse("admin:workplan_task_export")).status_code == 403

    def test_staff_with_the_permissions_can_open_import_and_export(self, client, db):
        client.force_login(staff("keeper", "view_task", "import_task", "export_task"))
        assert client.get(reverse("admin:workplan_task_import")).status_code == 200
        assert client.get(reverse("admin:workplan_task_export")).status_code == 200

    def test_admin_import_previews_then_imports_into_the_chosen_plan(self, client, plan, sections):
        client.force_login(staff("keeper", "view_task", "import_task"))
        wb = openpyxl.Workbook()
        wb.active.append(H)
        wb.active.append(
            ["A1", "一/（一）", "后台导入的任务", "", "综合股", "法规股", "", "2023-06-30", "每月"]
        )
        buffer = io.BytesIO()
        wb.save(buffer)
        model_admin = admin.site._registry[Task]
        xlsx_index = [f.__name__ for f in model_admin.get_import_formats()].index("XLSX")
        response = client.post(
            reverse("admin:workplan_task_import"),
            {
                "format": xlsx_index,
                "plan": plan.pk,
                "import_file": SimpleUploadedFile("t.xlsx", buffer.getvalue()),
            },
        )
        assert response.status_code == 200
        confirm = response.context["confirm_form"]
        assert confirm is not None, response.context["form"].errors
        assert not Task.objects.exists()  # the preview is a rolled-back dry run
        response = client.post(reverse("admin:workplan_task_process_import"), confirm.initial)
        assert response.status_code == 302
        task = Task.objects.get(plan=plan, code="A1")
        assert (task.title, task.recurrence) == ("后台导入的任务", "monthly")
        assert task.assignments.count() == 2
