"""大的计划导入在长任务队列 long 里确认：结果与当场确认相同；投到 long、参数只有普通值；失败写中文原因、
仍为待确认、可重新确认；重复投递只导入一次；排队期间取消则任务不做任何事；等待页自动刷新、完成后跳转到计划；
小的导入仍当场确认。

测试里 django-q2 同步执行：提交即在请求内确认完毕（Conf.SYNC 关掉时只入队，由测试调用任务函数）。
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_q.conf import Conf
from django_q.models import OrmQ

from tests.conftest import ROOT, SAMPLE_PLAN
from workplan.importing import Decision, decisions_from_json, decisions_to_json
from workplan.models import AuditEntry, PlanImport, Section, SectionAlias, Task, TaskAssignment, WorkPlan
from workplan.seed import sections_seed
from workplan.tasks import plan_import_confirm_run

MINI_PLAN = (
    "2024年某局政务公开工作要点\n一、加强信息公开\n"
    "（一）深化数据公开。及时发布数据。（牵头股室：宣传科，责任股室：各相关股室）\n"
)
WAITING = "正在后台导入，完成后本页自动跳转到工作计划"


@pytest.fixture
def bureau(sections):
    sections_seed(ROOT / "fixtures" / "sections.json")
    return {s.name: s for s in Section.objects.all()}


@pytest.fixture
def inline_limit(settings):
    """当场确认的上限：测试里改它来决定走哪条路。"""

    def set_limit(tasks: int) -> None:
        settings.IMPORT_INLINE_TASKS = tasks

    return set_limit


@pytest.fixture
def no_sync(monkeypatch):
    """只入队、不执行。"""
    monkeypatch.setattr(Conf, "SYNC", False)


def uploaded(client, data: bytes = b"", name: str = "plan.txt") -> PlanImport:
    client.post(
        reverse("plan_import_upload"), {"file": SimpleUploadedFile(name, data or SAMPLE_PLAN.read_bytes())}
    )
    return PlanImport.objects.order_by("-pk").first()


def confirm(client, imp: PlanImport, **data):
    return client.post(
        reverse("plan_import_confirm", args=[imp.pk]), {"title": "樟树统计局要点", "year": 2023, **data}
    )


def wait_url(imp: PlanImport) -> str:
    return f"{reverse('plan_import_preview', args=[imp.pk])}?wait=1"


def snapshot(plan: WorkPlan) -> tuple[list, list]:
    tasks = list(
        plan.tasks.order_by("position").values_list(
            "code", "parent__code", "level", "is_heading", "title", "body", "due_date", "recurrence"
        )
    )
    assignments = sorted(
        TaskAssignment.objects.filter(task__plan=plan).values_list(
            "task__code", "section_id", "role", "via_group_id", "source_text"
        )
    )
    return tasks, assignments


def queued_args(imp: PlanImport) -> tuple:
    row = OrmQ.objects.get()
    assert row.task["args"][0] == imp.pk
    return tuple(row.task["args"])


def test_decisions_survive_the_round_trip_through_plain_json():
    decisions = {
        "宣传科": Decision(action="map", section_id=7, remember_alias=True),
        "新股": Decision(action="create", new_name="新股室"),
        "某某": Decision(action="ignore"),
    }
    plain = json.loads(json.dumps(decisions_to_json(decisions)))
    assert decisions_from_json(plain) == decisions


def test_large_import_confirms_in_the_background_like_an_inline_confirm(as_office, bureau, inline_limit):
    inline = uploaded(as_office)
    assert confirm(as_office, inline).status_code == 302
    inline.refresh_from_db()

    inline_limit(3)
    imp = uploaded(as_office)
    response = confirm(as_office, imp)
    assert response.status_code == 302
    assert response["Location"] == wait_url(imp)

    imp.refresh_from_db()
    assert imp.status == PlanImport.Status.CONFIRMED
    assert imp.plan != inline.plan and WorkPlan.objects.count() == 2
    assert snapshot(imp.plan) == snapshot(inline.plan)
    assert imp.plan.tasks.filter(is_heading=False).count() == 16
    assert "queued" not in imp.result and imp.result["confirm"]["tasks"] == 16
    assert AuditEntry.objects.filter(action="plan.import.confirm.enqueue", object_id=str(imp.pk)).exists()

    page = as_office.get(response["Location"])
    assert page.status_code == 302
    assert page["Location"] == reverse("plan_detail", args=[imp.plan.pk])
    assert "已导入《樟树统计局要点》：任务 16 项" in as_office.get(page["Location"]).content.decode()


def test_background_confirm_applies_the_section_decisions(as_office, bureau, inline_limit):
    inline_limit(0)
    imp = uploaded(as_office, MINI_PLAN.encode())
    zonghe = bureau["综合股"]
    response = confirm(as_office, imp, action_0="map", section_0=zonghe.pk, alias_0="on", new_name_0="")
    assert response["Location"] == wait_url(imp)
    assert SectionAlias.objects.get(name="宣传科").section == zonghe
    assert Task.objects.get(is_heading=False).assignments.get(role="lead").section == zonghe


def test_large_import_is_queued_on_the_long_cluster_with_plain_arguments(
    as_office, office_user, bureau, inline_limit, no_sync
):
    inline_limit(3)
    imp = uploaded(as_office)
    confirm(as_office, imp)
    row = OrmQ.objects.get()
    assert row.key == django_settings.Q_LONG_CLUSTER == "long"
    assert row.func() == "workplan.tasks.plan_import_confirm_run"
    args = queued_args(imp)
    assert args == (imp.pk, {}, 2023, "樟树统计局要点", office_user.pk)
    json.dumps(args)  # nothing but plain values
    imp.refresh_from_db()
    assert imp.status == PlanImport.Status.PREVIEW and imp.result["queued"]["by"] == office_user.pk
    assert not WorkPlan.objects.exists()


def test_waiting_page_refreshes_until_the_plan_is_imported(as_office, bureau, inline_limit, no_sync):
    inline_limit(3)
    imp = uploaded(as_office)
    confirm(as_office, imp)

    response = as_office.get(wait_url(imp))
    page = response.content.decode()
    assert response.status_code == 200
    assert WAITING in page
    assert '<meta http-equiv="refresh" content="3">' in page
    assert response.context["form"] is None  # no second confirm while queued
    assert f'action="{reverse("plan_import_cancel", args=[imp.pk])}"' in page
    # Opened from the import list, the page still refreshes, onto the page that moves on to the plan.
    plain = as_office.get(reverse("plan_import_preview", args=[imp.pk])).content.decode()
    assert '<meta http-equiv="refresh" content="3; url=?wait=1">' in plain

    plan_import_confirm_run(*queued_args(imp))
    imp.refresh_from_db()
    response = as_office.get(wait_url(imp))
    assert response["Location"] == reverse("plan_detail", args=[imp.plan.pk])
    # The import record itself no longer refreshes and links to the plan.
    record = as_office.get(reverse("plan_import_preview", args=[imp.pk])).content.decode()
    assert "http-equiv" not in record and WAITING not in record
    assert reverse("plan_detail", args=[imp.plan.pk]) in record


def test_second_confirm_while_queued_is_refused(as_office, bureau, inline_limit, no_sync):
    inline_limit(3)
    imp = uploaded(as_office)
    confirm(as_office, imp)
    response = confirm(as_office, imp)
    assert response["Location"] == reverse("plan_import_preview", args=[imp.pk])
    assert OrmQ.objects.count() == 1
    page = as_office.get(response["Location"]).content.decode()
    assert "此导入已在后台确认中" in page


def test_failed_background_confirm_stores_the_message_and_can_be_confirmed_again(
    as_office, bureau, inline_limit, no_sync, monkeypatch
):
    inline_limit(0)
    imp = uploaded(as_office, MINI_PLAN.encode())
    confirm(as_office, imp, action_0="map", section_0=bureau["综合股"].pk, alias_0="on")
    import_id, _decisions, *rest = queued_args(imp)

    message = plan_import_confirm_run(import_id, {}, *rest)  # the choice for 宣传科 went missing
    assert "未确认" in message
    imp.refresh_from_db()
    assert imp.status == PlanImport.Status.PREVIEW
    error = imp.result["confirm_error"]
    assert "请先为以下股室名称作出选择" in error and "宣传科" in error
    assert "queued" not in imp.result
    assert not WorkPlan.objects.exists() and not Task.objects.exists()
    failed = AuditEntry.objects.filter(action="plan.import.confirm", outcome=AuditEntry.Outcome.FAILURE)
    assert failed.exists()

    response = as_office.get(wait_url(imp))
    page = response.content.decode()
    assert "后台导入未完成：请先为以下股室名称作出选择" in page
    assert response.context["form"] is not None and "http-equiv" not in page

    monkeypatch.setattr(Conf, "SYNC", True)
    response = confirm(as_office, imp, action_0="create", new_name_0="宣传科")
    imp.refresh_from_db()
    assert imp.status == PlanImport.Status.CONFIRMED and "confirm_error" not in imp.result
    assert WorkPlan.objects.count() == 1


def test_repeated_delivery_imports_the_plan_once(as_office, bureau, inline_limit, no_sync):
    inline_limit(3)
    imp = uploaded(as_office)
    confirm(as_office, imp)
    args = queued_args(imp)
    plan_import_confirm_run(*args)
    assert "跳过" in plan_import_confirm_run(*args)
    assert WorkPlan.objects.count() == 1
    assert Task.objects.filter(is_heading=False).count() == 16
    assert AuditEntry.objects.filter(action="plan.import.confirm").count() == 1


def test_cancel_while_queued_makes_the_task_do_nothing(as_office, bureau, inline_limit, no_sync):
    inline_limit(3)
    imp = uploaded(as_office)
    confirm(as_office, imp)
    response = as_office.post(reverse("plan_import_cancel", args=[imp.pk]))
    assert response["Location"] == reverse("plan_import_list")

    assert "跳过" in plan_import_confirm_run(*queued_args(imp))
    imp.refresh_from_db()
    assert imp.status == PlanImport.Status.CANCELLED and "confirm_error" not in imp.result
    assert not WorkPlan.objects.exists()


def test_deactivated_user_does_not_import_in_the_background(
    as_office, office_user, bureau, inline_limit, no_sync
):
    inline_limit(3)
    imp = uploaded(as_office)
    confirm(as_office, imp)
    office_user.is_active = False
    office_user.save(update_fields=["is_active"])
    plan_import_confirm_run(*queued_args(imp))
    imp.refresh_from_db()
    assert imp.status == PlanImport.Status.PREVIEW and "已停用" in imp.result["confirm_error"]
    assert not WorkPlan.objects.exists()


def test_small_import_still_confirms_in_the_request(as_office, bureau, no_sync):
    imp = uploaded(as_office)
    response = confirm(as_office, imp)
    plan = WorkPlan.objects.get()
    assert response["Location"] == reverse("plan_detail", args=[plan.pk])
    assert not OrmQ.objects.exists()
    assert not AuditEntry.objects.filter(action="plan.import.confirm.enqueue").exists()
