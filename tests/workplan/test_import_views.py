"""导入计划页面：上传 → 预览 → 确认/取消；导入记录；403/404/405 与登录矩阵。"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from tests.conftest import ROOT, SAMPLE_PLAN
from workplan.import_preview import plan_import_preview
from workplan.models import AuditEntry, PlanImport, Section, SectionAlias, Task, WorkPlan
from workplan.seed import sections_seed

MINI_PLAN = (
    "2024年某局政务公开工作要点\n一、加强信息公开\n"
    "（一）深化数据公开。及时发布数据。（牵头股室：宣传科，责任股室：各相关股室）\n"
)


@pytest.fixture
def bureau(sections):
    sections_seed(ROOT / "fixtures" / "sections.json")
    return {s.name: s for s in Section.objects.all()}


@pytest.fixture
def pending(bureau, office_user) -> PlanImport:
    return plan_import_preview(
        name=SAMPLE_PLAN.name, data=SAMPLE_PLAN.read_bytes(), year=None, user=office_user
    )


def upload(client, data: bytes, name: str = "plan.txt", **extra):
    return client.post(reverse("plan_import_upload"), {"file": SimpleUploadedFile(name, data), **extra})


def all_urls(pk: int) -> list[tuple[str, str]]:
    return [
        ("get", reverse("plan_import_list")),
        ("get", reverse("plan_import_upload")),
        ("post", reverse("plan_import_upload")),
        ("get", reverse("plan_import_preview", args=[pk])),
        ("post", reverse("plan_import_confirm", args=[pk])),
        ("post", reverse("plan_import_cancel", args=[pk])),
    ]


class TestHappyPath:
    def test_office_uploads_previews_and_confirms_the_sample(self, as_office, bureau):
        response = upload(as_office, SAMPLE_PLAN.read_bytes(), name=SAMPLE_PLAN.name)
        imp = PlanImport.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("plan_import_preview", args=[imp.pk])

        page = as_office.get(response["Location"]).content.decode()
        assert "綜合股 → 综合股" in page
        assert "各相關股室（" in page and "个股室）" in page
        assert "深化統計數據公開" in page
        assert "樟府辦發〔2023〕28號" in page and "樟樹市統計局" in page
        assert f'action="{reverse("plan_import_confirm", args=[imp.pk])}"' in page

        response = as_office.post(
            reverse("plan_import_confirm", args=[imp.pk]), {"title": "樟树统计局要点", "year": 2023}
        )
        plan = WorkPlan.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("plan_detail", args=[plan.pk])
        assert plan.title == "樟树统计局要点"
        assert plan.tasks.filter(is_heading=False).count() == 16
        detail = as_office.get(response["Location"]).content.decode()
        assert "已导入《樟树统计局要点》" in detail

    def test_year_entered_on_upload_is_kept(self, as_office, bureau):
        upload(as_office, SAMPLE_PLAN.read_bytes(), year="2023")
        assert PlanImport.objects.get().year == 2023

    def test_unknown_name_row_maps_to_an_existing_section_and_remembers_the_alias(self, as_office, bureau):
        upload(as_office, MINI_PLAN.encode())
        imp = PlanImport.objects.get()
        page = as_office.get(reverse("plan_import_preview", args=[imp.pk])).content.decode()
        assert "宣传科（未知" in page
        assert "记住此写法为别名" in page
        zonghe = bureau["综合股"]
        response = as_office.post(
            reverse("plan_import_confirm", args=[imp.pk]),
            {
                "title": "要点",
                "year": 2024,
                "action_0": "map",
                "section_0": zonghe.pk,
                "alias_0": "on",
                "new_name_0": "",
            },
        )
        assert response.status_code == 302
        assert SectionAlias.objects.get(name="宣传科").section == zonghe
        assert Task.objects.get(is_heading=False).assignments.get(role="lead").section == zonghe

    def test_unknown_name_defaults_to_creating_a_new_section(self, as_office, bureau):
        upload(as_office, MINI_PLAN.encode())
        imp = PlanImport.objects.get()
        response = as_office.get(reverse("plan_import_preview", args=[imp.pk]))
        form = response.context["form"]
        assert form["action_0"].initial == "create"
        data = {"title": "要点", "year": 2024, "action_0": "create", "new_name_0": "宣传科"}
        assert as_office.post(reverse("plan_import_confirm", args=[imp.pk]), data).status_code == 302
        assert Section.objects.filter(name="宣传科").exists()

    def test_map_without_a_section_shows_the_form_again(self, as_office, bureau):
        upload(as_office, MINI_PLAN.encode())
        imp = PlanImport.objects.get()
        response = as_office.post(
            reverse("plan_import_confirm", args=[imp.pk]), {"title": "要点", "year": 2024, "action_0": "map"}
        )
        assert response.status_code == 200
        assert "请为“宣传科”选择对应的股室" in response.content.decode()
        assert not WorkPlan.objects.exists()

    def test_confirming_twice_redirects_to_the_same_plan(self, as_office, pending):
        url = reverse("plan_import_confirm", args=[pending.pk])
        first = as_office.post(url, {"title": "要点", "year": 2023})
        second = as_office.post(url, {"title": "要点", "year": 2023})
        assert first["Location"] == second["Location"]
        assert WorkPlan.objects.count() == 1

    def test_cancel_marks_the_import_cancelled(self, as_office, pending):
        response = as_office.post(reverse("plan_import_cancel", args=[pending.pk]))
        assert response.status_code == 302
        pending.refresh_from_db()
        assert pending.status == PlanImport.Status.CANCELLED
        page = as_office.get(reverse("plan_import_preview", args=[pending.pk])).content.decode()
        assert "已取消" in page and "确认导入</button>" not in page
        response = as_office.post(
            reverse("plan_import_confirm", args=[pending.pk]), {"title": "要点", "year": 2023}
        )
        assert response.status_code == 302
        assert not WorkPlan.objects.exists()

    def test_duplicate_file_is_flagged_on_the_preview(self, as_office, bureau):
        upload(as_office, SAMPLE_PLAN.read_bytes())
        first = PlanImport.objects.get()
        as_office.post(reverse("plan_import_confirm", args=[first.pk]), {"title": "要点", "year": 2023})
        upload(as_office, SAMPLE_PLAN.read_bytes())
        second = PlanImport.objects.exclude(pk=first.pk).get()
        page = as_office.get(reverse("plan_import_preview", args=[second.pk])).content.decode()
        assert "此文件已于" in page and "导入为《要点》" in page


class TestUploadErrors:
    @pytest.mark.parametrize(
        ("name", "data", "message"),
        [("empty.txt", b"", "文件是空的"), ("plan.pdf", b"%PDF-1.4", "不支持的文件类型")],
    )
    def test_bad_upload_shows_a_chinese_error_and_writes_nothing(
        self, as_office, bureau, name, data, message
    ):
        response = upload(as_office, data, name=name)
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not PlanImport.objects.exists()
        assert not AuditEntry.objects.exists()

    @override_settings(MAX_UPLOAD_BYTES=1024)
    def test_too_large_upload_is_refused(self, as_office, bureau):
        response = upload(as_office, SAMPLE_PLAN.read_bytes())
        assert "文件过大" in response.content.decode()
        assert not PlanImport.objects.exists()

    def test_file_without_tasks_lists_the_parser_errors(self, as_office, bureau):
        response = upload(as_office, "只有一段文字，没有编号条目。".encode())
        assert response.status_code == 200
        assert 'class="errorlist"' in response.content.decode()
        assert not PlanImport.objects.exists()


class TestImportList:
    def test_list_shows_newest_first_and_filters_by_status(self, as_office, pending, office_user):
        other = plan_import_preview(name="mini.txt", data=MINI_PLAN.encode(), year=None, user=office_user)
        page = as_office.get(reverse("plan_import_list")).content.decode()
        assert page.index("mini.txt") < page.index(SAMPLE_PLAN.name)
        as_office.post(reverse("plan_import_cancel", args=[other.pk]))
        page = as_office.get(reverse("plan_import_list"), {"status": "cancelled"}).content.decode()
        assert "mini.txt" in page and SAMPLE_PLAN.name not in page

    def test_confirmed_import_links_to_its_plan(self, as_office, pending):
        as_office.post(reverse("plan_import_confirm", args=[pending.pk]), {"title": "要点", "year": 2023})
        plan = WorkPlan.objects.get()
        page = as_office.get(reverse("plan_import_list")).content.decode()
        assert reverse("plan_detail", args=[plan.pk]) in page

    @pytest.mark.parametrize("n", [1, 30])
    def test_list_query_count_does_not_grow(
        self, as_office, bureau, office_user, n, django_assert_max_num_queries
    ):
        PlanImport.objects.bulk_create(
            [
                PlanImport(source_name=f"f{i}.txt", source_file=f"imports/f{i}.txt", created_by=office_user)
                for i in range(n)
            ]
        )
        with django_assert_max_num_queries(8):
            assert as_office.get(reverse("plan_import_list")).status_code == 200

    def test_preview_query_count_is_fixed(self, as_office, pending, django_assert_max_num_queries):
        with django_assert_max_num_queries(6):
            assert as_office.get(reverse("plan_import_preview", args=[pending.pk])).status_code == 200


class TestAccess:
    @pytest.mark.parametrize("persona", ["as_director", "as_lead", "as_resp", "as_readonly", "as_outsider"])
    def test_everyone_but_the_office_gets_403(self, request, persona, pending):
        client = request.getfixturevalue(persona)
        for method, url in all_urls(pending.pk):
            assert getattr(client, method)(url).status_code == 403, (persona, method, url)
        pending.refresh_from_db()
        assert pending.status == PlanImport.Status.PREVIEW

    def test_anonymous_is_sent_to_login(self, client, pending):
        for method, url in all_urls(pending.pk):
            response = getattr(client, method)(url)
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("login"))

    @pytest.mark.parametrize("name", ["plan_import_confirm", "plan_import_cancel"])
    def test_get_on_mutating_urls_is_not_allowed(self, as_office, pending, name):
        assert as_office.get(reverse(name, args=[pending.pk])).status_code == 405
        pending.refresh_from_db()
        assert pending.status == PlanImport.Status.PREVIEW

    def test_put_on_upload_is_not_allowed(self, as_office):
        assert as_office.put(reverse("plan_import_upload")).status_code == 405

    @pytest.mark.parametrize(
        ("method", "name"),
        [("get", "plan_import_preview"), ("post", "plan_import_confirm"), ("post", "plan_import_cancel")],
    )
    def test_unknown_import_id_gives_404(self, as_office, method, name):
        assert getattr(as_office, method)(reverse(name, args=[999999])).status_code == 404

    def test_spreadsheet_update_imports_are_not_shown_here(self, as_office, office_user):
        other = PlanImport.objects.create(
            kind=PlanImport.Kind.UPDATE,
            source_name="tasks.xlsx",
            source_file="imports/t.xlsx",
            created_by=office_user,
        )
        assert as_office.get(reverse("plan_import_preview", args=[other.pk])).status_code == 404
