"""页面：工作计划、任务清单（筛选、导出、查询数）、任务详情、分工调整、股室设置的访问矩阵。"""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse

from tests.factories import make_plan
from workplan.models import AssignmentRole, AuditEntry, Task, TaskAssignment


def _bulk_tasks(plan, n, lead, resp):
    tasks = Task.objects.bulk_create(
        [Task(plan=plan, code=f"B{i:05d}", number_path=f"一/{i}", title=f"批量任务{i}", position=i) for i in range(n)]
    )
    TaskAssignment.objects.bulk_create(
        [TaskAssignment(task=t, section=lead, role=AssignmentRole.LEAD) for t in tasks]
        + [TaskAssignment(task=t, section=resp, role=AssignmentRole.RESPONSIBLE) for t in tasks]
    )


class TestTaskList:
    def test_it_lists_only_own_section_tasks_for_section_staff(self, as_outsider, as_lead, task):
        assert task.title in as_lead.get(reverse("task_list")).content.decode()
        assert task.title not in as_outsider.get(reverse("task_list")).content.decode()

    def test_it_filters_by_section_and_role(self, as_office, task, sections):
        url = reverse("task_list")
        page = as_office.get(url, {"section": sections["resp"].pk, "role": "lead"}).content.decode()
        assert task.title not in page
        page = as_office.get(url, {"section": sections["resp"].pk, "role": "responsible"}).content.decode()
        assert task.title in page

    @pytest.mark.parametrize("fmt", ["xlsx", "csv"])
    def test_it_exports_what_is_shown(self, as_office, task, plan, sections, fmt):
        other = make_plan(year=2024, title="另一计划")
        Task.objects.create(plan=other, code="X1", title="=HYPERLINK(\"http://x\")", position=1)
        response = as_office.get(reverse("task_list"), {"plan": plan.pk, "_export": fmt})
        assert response.status_code == 200
        if fmt == "xlsx":
            sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
            rows = [[c.value for c in r] for r in sheet.iter_rows()]
        else:
            text = response.content.decode("utf-8-sig")
            rows = [line.split(",") for line in text.splitlines()]
        assert rows[0][1] == "任务"
        assert [r[1] for r in rows[1:]] == ["深化统计数据公开"]

    def test_export_neutralises_formulae(self, as_office, plan):
        Task.objects.create(plan=plan, code="X1", title="=1+1", position=1)
        response = as_office.get(reverse("task_list"), {"_export": "csv"})
        assert "'=1+1" in response.content.decode("utf-8-sig")

    @pytest.mark.parametrize("n", [10, 1000])
    def test_query_count_does_not_grow_with_tasks(self, as_office, plan, sections, n, django_assert_max_num_queries):
        _bulk_tasks(plan, n, sections["lead"], sections["resp"])
        with django_assert_max_num_queries(8):
            response = as_office.get(reverse("task_list"))
        assert response.status_code == 200
        with django_assert_max_num_queries(8):
            as_office.get(reverse("plan_detail", args=[plan.pk]))
        with django_assert_max_num_queries(6):
            as_office.get(reverse("task_list"), {"_export": "csv"})


class TestTaskDetail:
    def test_it_shows_task_to_lead_responsible_director_office(self, as_lead, as_resp, as_director, as_office, task):
        for client in (as_lead, as_resp, as_director, as_office):
            response = client.get(reverse("task_detail", args=[task.pk]))
            assert response.status_code == 200
            assert "深化统计数据公开" in response.content.decode()

    def test_other_section_gets_404(self, as_outsider, task):
        assert as_outsider.get(reverse("task_detail", args=[task.pk])).status_code == 404

    def test_anonymous_is_sent_to_login(self, client, task):
        response = client.get(reverse("task_detail", args=[task.pk]))
        assert response.status_code == 302

    def test_post_is_not_allowed(self, as_office, task):
        assert as_office.post(reverse("task_detail", args=[task.pk])).status_code == 405


class TestAssignmentsEdit:
    def test_office_reassigns_sections_and_it_is_audited(self, as_office, task, sections):
        url = reverse("task_assignments_edit", args=[task.pk])
        response = as_office.post(url, {"leads": [sections["resp"].pk], "responsibles": [sections["other"].pk]})
        assert response.status_code == 302
        pairs = set(task.assignments.values_list("section__name", "role"))
        assert pairs == {("法规股", "lead"), ("农业股", "responsible")}
        entry = AuditEntry.objects.get(action="task.assign")
        assert entry.old_value == {"lead": ["综合股"], "responsible": ["法规股"]}
        assert entry.new_value == {"lead": ["法规股"], "responsible": ["农业股"]}

    def test_a_lead_is_required(self, as_office, task, sections):
        url = reverse("task_assignments_edit", args=[task.pk])
        response = as_office.post(url, {"responsibles": [sections["other"].pk]})
        assert response.status_code == 200
        assert "至少指定一个牵头股室" in response.content.decode()
        assert task.assignments.count() == 2

    def test_section_staff_of_the_task_get_403(self, as_lead, task, sections):
        url = reverse("task_assignments_edit", args=[task.pk])
        assert as_lead.get(url).status_code == 403
        assert as_lead.post(url, {"leads": [sections["lead"].pk]}).status_code == 403

    def test_director_and_readonly_get_403(self, as_director, as_readonly, task):
        url = reverse("task_assignments_edit", args=[task.pk])
        assert as_director.get(url).status_code == 403
        assert as_readonly.get(url).status_code == 403

    def test_other_section_gets_404(self, as_outsider, task):
        assert as_outsider.get(reverse("task_assignments_edit", args=[task.pk])).status_code == 404

    def test_put_is_not_allowed(self, as_office, task):
        assert as_office.put(reverse("task_assignments_edit", args=[task.pk])).status_code == 405


class TestPlansAndSections:
    def test_plan_list_and_detail_for_section_only_show_their_plans(self, as_lead, as_outsider, task, plan):
        assert plan.title in as_lead.get(reverse("plan_list")).content.decode()
        assert as_outsider.get(reverse("plan_detail", args=[plan.pk])).status_code == 404

    def test_plan_detail_shows_headings_and_tasks(self, as_director, task, plan):
        page = as_director.get(reverse("plan_detail", args=[plan.pk])).content.decode()
        assert "深化统计数据公开" in page

    def test_section_settings_are_office_only(self, as_office, as_director, as_lead, sections):
        assert as_office.get(reverse("section_list")).status_code == 200
        assert as_director.get(reverse("section_list")).status_code == 403
        assert as_lead.get(reverse("section_list")).status_code == 403

    def test_navigation_depends_on_role(self, as_office, as_lead, sections):
        office_page = as_office.get(reverse("home")).content.decode()
        lead_page = as_lead.get(reverse("home")).content.decode()
        assert "导入计划" in office_page
        assert "导入计划" not in lead_page


def test_uploaded_files_are_not_served_from_an_open_media_url(as_office, plan):
    from django.core.files.base import ContentFile

    plan.source_file.save("secret-plan.txt", ContentFile("内部文件".encode()), save=True)
    assert as_office.get("/" + plan.source_file.url.lstrip("/")).status_code == 404
    response = as_office.get(reverse("plan_source_download", args=[plan.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode() == "内部文件"
