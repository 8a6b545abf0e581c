"""权限矩阵：workplan/urls.py 中每个页面 × 每个角色 → 期望的状态码。

- 匿名用户：一律 302 到登录页（GET 与 POST 都是）；
- 无关股室（outsider）：别的股室的任务、计划、报送、佐证 → 404（不泄露其存在）；
- 只读用户：写操作 403；局长：读 200、写 403；
- 只允许 POST 的地址用 GET 访问 → 405，只读页面用 POST 访问 → 405。

新增页面时必须在 MATRIX 中加一行（或在 SKIPPED 中写明原因），否则 test_every_url_is_in_the_matrix 失败。
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import NoReverseMatch, URLPattern, URLResolver, reverse

from tests.factories import make_application, make_evidence, make_report, make_task
from workplan import urls as workplan_urls
from workplan.import_preview import plan_import_preview
from workplan.models import (
    AppealKind,
    ApplicationAppeal,
    Evidence,
    FileJob,
    PlanImport,
    PublicationItem,
    Section,
    TaskAssignment,
    User,
)

MINI_PLAN = "2024年某局政务公开工作要点\n一、加强信息公开\n（一）深化数据公开。及时发布数据。（牵头股室：综合股）\n"
PERSONAS = ("office", "director", "lead", "resp", "outsider", "readonly")
CLIENTS = {p: f"as_{p}" for p in PERSONAS}


@dataclass(frozen=True)
class World:
    plan_pk: int
    task_pk: int
    report_pk: int
    evidence_pk: int
    import_pk: int
    batch_pk: int


@pytest.fixture
def world(plan, task, sections, office_user, lead_user) -> World:
    """一个计划：任务由综合股牵头、法规股负责（农业股无关）；综合股报送了一季度并上传了一个文件；
    一条待确认的计划导入、一条待确认的表格回导。"""
    report = make_report(task, sections["lead"], year=plan.year, quarter=1, submitted_by=lead_user)
    evidence = make_evidence(report, kind=Evidence.Kind.FILE, original_name="佐证.pdf", uploaded_by=lead_user)
    evidence.file.save("matrix.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
    plan.source_file.save("matrix-plan.txt", ContentFile(MINI_PLAN.encode()), save=True)
    document = plan_import_preview(name="matrix.txt", data=MINI_PLAN.encode(), year=None, user=office_user)
    batch = PlanImport.objects.create(
        kind=PlanImport.Kind.UPDATE, source_file="imports/matrix.xlsx", source_name="matrix.xlsx", plan=plan,
        created_by=office_user,
    )
    # The other section has a task in another plan only.
    make_task(title="无关任务", leads=[sections["other"]])
    return World(plan.pk, task.pk, report.pk, evidence.pk, document.pk, batch.pk)


def _application_pk(w: World) -> int:
    """依申请公开：综合股（lead、readonly 所在股室）承办的一件申请（法规股、农业股看不到）。"""
    return make_application(Section.objects.get(name="综合股")).pk


def _appeal_pk(w: World) -> int:
    return ApplicationAppeal.objects.create(
        application_id=_application_pk(w), kind=AppealKind.REVIEW, filed_on=datetime.date(2023, 10, 9)
    ).pk


ARGS = {
    None: lambda w: [],
    "application": lambda w: [_application_pk(w)],
    "appeal": lambda w: [_appeal_pk(w)],
    "plan": lambda w: [w.plan_pk],
    "plan_csv": lambda w: [w.plan_pk, "csv"],
    "batch": lambda w: [w.plan_pk, w.batch_pk],
    "task": lambda w: [w.task_pk],
    "report": lambda w: [w.report_pk],
    "evidence": lambda w: [w.evidence_pk],
    "import": lambda w: [w.import_pk],
    "publication": lambda w: [_publication_pk(w)],
    "pub_first": lambda w: ["first"],
    "pub_second": lambda w: ["second"],
    "pub_final": lambda w: ["final"],
    "job": lambda w: [_file_job_pk(w)],
}


def _file_job_pk(w: World) -> int:
    """综合股人员（lead）提交、已生成好的一个后台文件：只有他本人能看、能下载。"""
    job = FileJob.objects.create(
        kind="task_list", title="任务清单.csv", status=FileJob.Status.DONE, progress=100,
        created_by=User.objects.get(username="lead"), result_name="任务清单.csv", content_type="text/csv",
    )
    job.result_file.save("matrix-job.csv", ContentFile("\ufeff任务\n".encode()), save=True)
    return job.pk


def _publication_pk(w: World) -> int:
    """综合股（任务的牵头股室）的一条带附件的拟稿：信息发布各页面的矩阵行用。"""
    lead = TaskAssignment.objects.get(task_id=w.task_pk, role="lead").section
    item = PublicationItem.objects.create(
        section=lead, title="矩阵", column="news", body="正文", formed_on=datetime.date(2023, 9, 25),
        due_on=datetime.date(2023, 10, 27), attachment_name="a.pdf", attachment_type="application/pdf",
    )
    item.attachment.save("matrix-pub.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
    return item.pk

_ = None  # not checked for this persona (e.g. 405 rows only need one persona that passes the access check)

# fmt: off
MATRIX: list[tuple[str, str, str | None, tuple[int | None, ...]]] = [
    # url name                  method  args          office director lead resp outsider readonly
    ("home",                    "get",  None,         (200,  200,     200, 200, 200,     200)),
    ("home",                    "post", None,         (405,  _,       _,   _,   _,       _)),
    ("plan_list",               "get",  None,         (200,  200,     200, 200, 200,     200)),
    ("plan_list",               "post", None,         (405,  _,       _,   _,   _,       _)),
    ("plan_detail",             "get",  "plan",       (200,  200,     200, 200, 404,     200)),
    ("plan_detail",             "post", "plan",       (405,  _,       _,   _,   _,       _)),
    ("plan_source_download",    "get",  "plan",       (200,  200,     200, 200, 404,     200)),
    ("plan_source_download",    "post", "plan",       (405,  _,       _,   _,   _,       _)),
    ("task_list",               "get",  None,         (200,  200,     200, 200, 200,     200)),
    ("task_list",               "post", None,         (405,  _,       _,   _,   _,       _)),
    ("my_tasks",                "get",  None,         (200,  200,     200, 200, 200,     200)),
    ("my_tasks",                "post", None,         (405,  _,       _,   _,   _,       _)),
    ("task_detail",             "get",  "task",       (200,  200,     200, 200, 404,     200)),
    ("task_detail",             "post", "task",       (405,  _,       _,   _,   _,       _)),
    ("task_assignments_edit",   "get",  "task",       (200,  403,     403, 403, 404,     403)),
    ("task_assignments_edit",   "post", "task",       (200,  403,     403, 403, 404,     403)),
    ("section_list",            "get",  None,         (200,  403,     403, 403, 403,     403)),
    ("section_list",            "post", None,         (405,  403,     403, 403, 403,     403)),
    ("report_list",             "get",  None,         (200,  200,     200, 200, 200,     200)),
    ("report_list",             "post", None,         (405,  _,       _,   _,   _,       _)),
    ("evidence_list",           "get",  None,         (200,  200,     200, 200, 200,     200)),
    ("evidence_list",           "post", None,         (405,  _,       _,   _,   _,       _)),
    # 审计日志只有审计管理员能看（办公室也 403）；审计管理员的 200 / 405 见 tests/workplan/test_audit_views.py。
    ("audit_list",              "get",  None,         (403,  403,     403, 403, 403,     403)),
    ("audit_list",              "post", None,         (403,  403,     403, 403, 403,     403)),
    # 通知与缺报清单. Marking one's own notifications read is personal, not a write to the plan: allowed to all.
    ("notifications",           "get",  None,         (200,  200,     200, 200, 200,     200)),
    ("notifications",           "post", None,         (405,  _,       _,   _,   _,       _)),
    ("notifications_mark_read", "get",  None,         (405,  405,     405, 405, 405,     405)),
    ("notifications_mark_read", "post", None,         (302,  302,     302, 302, 302,     302)),
    ("missing_reports",         "get",  None,         (200,  200,     403, 403, 403,     403)),
    ("missing_reports",         "post", None,         (405,  _,       _,   _,   _,       _)),
    # 我的后台任务: everyone has the list; a job (the lead user's) is its creator's alone, 404 for all others.
    ("file_job_list",           "get",  None,         (200,  200,     200, 200, 200,     200)),
    ("file_job_list",           "post", None,         (405,  405,     405, 405, 405,     405)),
    ("file_job_detail",         "get",  "job",        (404,  404,     200, 404, 404,     404)),
    ("file_job_detail",         "post", "job",        (405,  _,       _,   _,   _,       _)),
    ("file_job_download",       "get",  "job",        (404,  404,     200, 404, 404,     404)),
    ("file_job_download",       "post", "job",        (405,  _,       _,   _,   _,       _)),
    # 导入计划：办公室专用
    ("plan_import_list",        "get",  None,         (200,  403,     403, 403, 403,     403)),
    ("plan_import_list",        "post", None,         (405,  403,     403, 403, 403,     403)),
    ("plan_import_upload",      "get",  None,         (200,  403,     403, 403, 403,     403)),
    ("plan_import_upload",      "post", None,         (200,  403,     403, 403, 403,     403)),
    ("plan_import_preview",     "get",  "import",     (200,  403,     403, 403, 403,     403)),
    ("plan_import_preview",     "post", "import",     (405,  _,       _,   _,   _,       _)),
    ("plan_import_confirm",     "get",  "import",     (405,  _,       _,   _,   _,       _)),
    ("plan_import_confirm",     "post", "import",     (_,    403,     403, 403, 403,     403)),
    ("plan_import_cancel",      "get",  "import",     (405,  _,       _,   _,   _,       _)),
    ("plan_import_cancel",      "post", "import",     (302,  403,     403, 403, 403,     403)),
    # 表格导出 / 回导: export for office and director; re-import for the office only.
    ("plan_export",             "get",  "plan_csv",   (200,  200,     403, 403, 404,     403)),
    ("plan_export",             "post", "plan_csv",   (405,  _,       _,   _,   _,       _)),
    ("plan_reimport",           "get",  "plan",       (200,  403,     403, 403, 404,     403)),
    ("plan_reimport",           "post", "plan",       (200,  403,     403, 403, 404,     403)),
    ("plan_reimport_confirm",   "get",  "batch",      (200,  403,     403, 403, 404,     403)),
    ("plan_reimport_confirm",   "post", "batch",      (_,    403,     403, 403, 404,     403)),
    # 进展报送与佐证: the lead section reported; the responsible section cannot see that report.
    ("report_edit",             "get",  "task",       (403,  403,     200, 200, 404,     403)),
    ("report_edit",             "post", "task",       (403,  403,     200, 200, 404,     403)),
    ("evidence_upload",         "get",  "report",     (405,  _,       _,   _,   _,       _)),
    ("evidence_upload",         "post", "report",     (302,  403,     302, 404, 404,     403)),
    ("evidence_remove",         "get",  "evidence",   (405,  _,       _,   _,   _,       _)),
    ("evidence_remove",         "post", "evidence",   (302,  403,     302, 404, 404,     403)),
    ("evidence_download",       "get",  "evidence",   (200,  200,     200, 404, 404,     200)),
    ("evidence_download",       "post", "evidence",   (405,  _,       _,   _,   _,       _)),
    ("review_queue",            "get",  None,         (200,  403,     403, 403, 403,     403)),
    ("review_queue",            "post", None,         (405,  _,       _,   _,   _,       _)),
    ("report_review",           "get",  "report",     (200,  403,     403, 403, 403,     403)),
    ("report_review",           "post", "report",     (200,  403,     403, 403, 403,     403)),
    # 依申请公开：综合股承办；办公室登记、修改、延期、复议诉讼；承办股室记录补正、征求意见、答复（空表单 400）
    ("application_list",        "get",  None,         (200,  200,     200, 200, 200,     200)),
    ("application_list",        "post", None,         (405,  _,       _,   _,   _,       _)),
    ("application_create",      "get",  None,         (200,  403,     403, 403, 403,     403)),
    ("application_create",      "post", None,         (200,  403,     403, 403, 403,     403)),
    ("application_detail",      "get",  "application", (200, 200,     200, 404, 404,     200)),
    ("application_detail",      "post", "application", (405, _,       _,   _,   _,       _)),
    ("application_edit",        "get",  "application", (200, 403,     403, 404, 404,     403)),
    ("application_edit",        "post", "application", (200, 403,     403, 404, 404,     403)),
    ("application_correction",  "get",  "application", (405, 405,     405, 405, 405,     405)),
    ("application_correction",  "post", "application", (400, 403,     400, 404, 404,     403)),
    ("application_consultation", "get", "application", (405, 405,     405, 405, 405,     405)),
    ("application_consultation", "post", "application", (400, 403,    400, 404, 404,     403)),
    ("application_extension",   "get",  "application", (405, 405,     405, 405, 405,     405)),
    ("application_extension",   "post", "application", (400, 403,     403, 404, 404,     403)),
    ("application_reply",       "get",  "application", (405, 405,     405, 405, 405,     405)),
    ("application_reply",       "post", "application", (400, 403,     400, 404, 404,     403)),
    ("application_appeal_add",  "get",  "application", (200, 403,     403, 404, 404,     403)),
    ("application_appeal_add",  "post", "application", (200, 403,     403, 404, 404,     403)),
    ("application_appeal_edit", "get",  "appeal",     (200,  403,     403, 404, 404,     403)),
    ("application_appeal_edit", "post", "appeal",     (200,  403,     403, 404, 404,     403)),
    # 发布信息登记台账: a draft of the lead section (with an attachment). Empty POSTs: invalid forms → 400.
    ("publication_list",        "get",  None,         (200,  200,     200, 200, 200,     200)),
    ("publication_list",        "post", None,         (405,  _,       _,   _,   _,       _)),
    ("publication_create",      "get",  None,         (200,  403,     200, 200, 200,     403)),
    ("publication_create",      "post", None,         (200,  403,     200, 200, 200,     403)),
    ("publication_archive",     "get",  None,         (200,  200,     403, 403, 403,     403)),
    ("publication_archive",     "post", None,         (405,  _,       _,   _,   _,       _)),
    ("publication_queue",       "get",  "pub_first",  (200,  403,     200, 200, 200,     403)),
    ("publication_queue",       "get",  "pub_second", (403,  200,     403, 403, 403,     403)),
    ("publication_queue",       "get",  "pub_final",  (200,  403,     403, 403, 403,     403)),
    ("publication_queue",       "post", "pub_first",  (405,  _,       _,   _,   _,       _)),
    ("publication_detail",      "get",  "publication", (200, 200,     200, 404, 404,     200)),
    ("publication_detail",      "post", "publication", (405, _,       _,   _,   _,       _)),
    ("publication_edit",        "get",  "publication", (200, 403,     200, 404, 404,     403)),
    ("publication_edit",        "post", "publication", (200, 403,     200, 404, 404,     403)),
    ("publication_submit",      "get",  "publication", (405, _,       _,   _,   _,       _)),
    ("publication_submit",      "post", "publication", (302, 403,     302, 404, 404,     403)),
    ("publication_delete",      "get",  "publication", (405, _,       _,   _,   _,       _)),
    ("publication_delete",      "post", "publication", (302, 403,     302, 404, 404,     403)),
    ("publication_review",      "get",  "publication", (405, _,       _,   _,   _,       _)),
    ("publication_review",      "post", "publication", (400, 400,     400, 404, 404,     403)),
    ("publication_publish",     "get",  "publication", (405, _,       _,   _,   _,       _)),
    ("publication_publish",     "post", "publication", (400, 403,     403, 404, 404,     403)),
    ("publication_attachment",  "get",  "publication", (200, 200,     200, 404, 404,     200)),
    ("publication_attachment",  "post", "publication", (405, _,       _,   _,   _,       _)),
    ("publication_card",        "get",  "publication", (200, 200,     200, 404, 404,     200)),
    ("publication_card",        "post", "publication", (405, _,       _,   _,   _,       _)),
]
# fmt: on

# URL names deliberately left out of the matrix, with the reason.
SKIPPED: dict[str, str] = {}
# 通报批评、整改事项、约谈记录：需要通报、整改事项、约谈的数据，矩阵在 tests/workplan/test_notice_views.py。
SKIPPED |= dict.fromkeys(
    [
        "notice_list", "notice_create", "notice_receive", "notice_detail", "notice_edit",
        "notice_issue", "notice_discard", "rectification_list", "rectification_detail",
        "rectification_answer", "rectification_verify", "rectification_file", "interview_list",
        "interview_create", "interview_detail", "interview_item_add",
    ],
    "权限矩阵见 tests/workplan/test_notice_views.py",
)


def _cases() -> list[Any]:
    cases = []
    for name, method, args, expected in MATRIX:
        for persona, status in zip(PERSONAS, expected, strict=True):
            if status is not None:
                case_id = f"{name}-{method}-{persona}"
                cases.append(pytest.param(name, method, args, persona, status, id=case_id))
    return cases


def _url(name: str, args: str | None, world: World) -> str:
    try:
        return reverse(name, args=ARGS[args](world))
    except NoReverseMatch:
        pytest.skip(f"{name} 尚未在 workplan/urls.py 中注册")


def _send(client, method: str, url: str):  # type: ignore[no-untyped-def]
    return client.get(url) if method == "get" else client.post(url, {})


@pytest.mark.parametrize(("name", "method", "args", "persona", "status"), _cases())
def test_persona_gets_expected_status(request, world, name, method, args, persona, status):
    client = request.getfixturevalue(CLIENTS[persona])
    response = _send(client, method, _url(name, args, world))
    assert response.status_code == status, f"{persona} {method.upper()} {name}"


@pytest.mark.parametrize(
    ("name", "method", "args"),
    # args in the key too: xdist workers must collect the same order (set order varies between processes).
    sorted(
        {(name, method, args) for name, method, args, _e in MATRIX}, key=lambda c: (c[0], c[1], c[2] or "")
    ),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_anonymous_is_sent_to_login(client, world, name, method, args):
    url = _url(name, args, world)
    response = _send(client, method, url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def _names(patterns: list[URLPattern | URLResolver]) -> set[str]:
    names: set[str] = set()
    for p in patterns:
        if isinstance(p, URLResolver):
            names |= _names(p.url_patterns)
        elif p.name:
            names.add(p.name)
    return names


def test_every_url_is_in_the_matrix():
    registered = _names(workplan_urls.urlpatterns)
    covered = {name for name, *_rest in MATRIX} | set(SKIPPED)
    assert registered - covered == set(), "这些页面没有权限测试：请在 MATRIX 中加行或在 SKIPPED 中说明"


def test_every_url_has_a_get_and_a_post_row():
    rows = {(name, method) for name, method, *_rest in MATRIX}
    for name in {name for name, *_rest in MATRIX}:
        assert (name, "get") in rows and (name, "post") in rows, name


def test_writes_leave_no_trace_when_denied(world, as_director, as_readonly, as_outsider, task, sections):
    """403/404 的写操作不会改动数据。"""
    before = set(task.assignments.values_list("section_id", "role"))
    for client in (as_director, as_readonly, as_outsider):
        client.post(reverse("task_assignments_edit", args=[task.pk]), {"leads": [sections["other"].pk]})
    assert set(task.assignments.values_list("section_id", "role")) == before
    assert PlanImport.objects.get(pk=world.import_pk).status == PlanImport.Status.PREVIEW
    for client in (as_director, as_readonly):
        client.post(reverse("plan_import_cancel", args=[world.import_pk]))
    assert PlanImport.objects.get(pk=world.import_pk).status == PlanImport.Status.PREVIEW
