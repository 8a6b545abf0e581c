"""坏输入 · 每个表单（hypothesis）：specs.py 的 SPECS 登记的每个 POST 地址，由有权限的角色提交随机文字、
unicode、超长字符串、错误类型、重复键、随机上传文件 —— 从不 500；被拒绝的提交（4xx、带错误重显的页面、错误
提示）不写任何一张表（失败的审计记录除外），也不在上传目录留下文件。"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.messages import constants as levels
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, reverse
from hypothesis import event, given
from hypothesis import settings as budget
from hypothesis import strategies as st

from scoring.urls import urlpatterns as scoring_urlpatterns
from tests.conftest import SAMPLE_PLAN
from tests.factories import make_evidence, make_report
from tests.fuzz.specs import SPEC_BY_URL, FormSpec
from tests.fuzz.support import (
    HUGE,
    MAGIC,
    NASTY,
    PLAUSIBLE,
    SLOW,
    examples,
    media_files,
    rolled_back,
    row_counts,
)
from tests.workplan.test_uploads import make_docx, make_pdf, make_png, make_xlsx
from workplan.urls import urlpatterns as workplan_urlpatterns

VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(NASTY + PLAUSIBLE),
    st.integers(-(10**20), 10**20).map(str),
    st.lists(st.text(max_size=8) | st.sampled_from(PLAUSIBLE), min_size=2, max_size=3),  # a repeated key
    st.just(HUGE),
)
FILE_NAMES = st.tuples(
    st.sampled_from(["佐证", "a", "../../etc/passwd", "x" * 240, "<script>", "报告 (1)", "a\\b"]),
    st.sampled_from(
        [".pdf", ".PDF", ".docx", ".xlsx", ".png", ".jpg", ".txt", ".csv", ".exe", ".pdf.exe", ""]
    ),
).map("".join)
FILE_CONTENT = st.one_of(
    st.binary(max_size=512),
    st.tuples(st.sampled_from(MAGIC), st.binary(max_size=64)).map(lambda t: t[0] + t[1]),
    st.sampled_from([make_pdf(), make_png(), make_docx(), make_xlsx(), SAMPLE_PLAN.read_bytes()]),
)


@st.composite
def submissions(draw: st.DrawFn, spec: FormSpec, world: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """一次提交：有时从有效底稿出发，改掉随机几个键；有时全是乱填的；偶尔带一个不认识的键和随机的查询串。"""
    data: dict[str, Any] = dict(spec.baseline(world)) if draw(st.booleans()) else {}
    if spec.fields:
        for key in draw(st.lists(st.sampled_from(spec.fields), unique=True, max_size=len(spec.fields))):
            data[key] = draw(VALUES)
    if draw(st.integers(0, 5)) == 0:
        data[draw(st.text(min_size=1, max_size=8))] = draw(VALUES)
    for key in spec.files:
        if draw(st.booleans()):
            data[key] = SimpleUploadedFile(draw(FILE_NAMES), draw(FILE_CONTENT))
    query = draw(
        st.dictionaries(st.sampled_from(["year", "quarter", "next", "page", "level"]), VALUES, max_size=2)
    )
    return data, query


def rejected(response: Any) -> bool:
    """被拒绝的提交：4xx；或带错误提示；或重新显示了页面（200 的 HTML）而没有成功提示。"""
    # Only this request's messages: older ones may still wait in the cookie.
    found = list(getattr(response.wsgi_request, "_messages", None)._queued_messages or [])
    errors = any(m.level >= levels.WARNING and m.level != levels.SUCCESS for m in found)
    success = any(m.level in (levels.SUCCESS, levels.INFO) for m in found)
    if response.status_code >= 400 or (errors and not success):
        return True
    is_html = response.get("Content-Type", "").startswith("text/html")
    return response.status_code == 200 and is_html and not success


def fuzz_form(spec: FormSpec, world: Any) -> None:
    client = world.clients[spec.persona]
    url = reverse(spec.url, kwargs=spec.kwargs(world))

    @SLOW
    @given(st.data())
    def run(data: st.DataObject) -> None:
        post, query = data.draw(submissions(spec, world))

        def attempt() -> None:
            client.cookies.pop("messages", None)
            before, files = row_counts(), media_files()
            target = f"{url}?{urlencode(query, doseq=True)}" if query else url
            response = client.post(target, post)
            assert response.status_code != 500, spec.url
            refused = rejected(response)
            event(f"{response.status_code} {'拒绝' if refused else '接受'}")
            if refused:
                assert row_counts() == before, f"{spec.url}：被拒绝的提交写了数据（{response.status_code}）"
                assert media_files() == files, f"{spec.url}：被拒绝的提交留下了文件"

        rolled_back(attempt)

    run()


def _post_urls() -> list[str]:
    names = []
    for pattern in [*workplan_urlpatterns, *scoring_urlpatterns]:
        assert isinstance(pattern, URLPattern)
        view = pattern.callback
        # require_POST / require_http_methods keep the allowed methods in the closure of their wrapper.
        allowed = _allowed_methods(view)
        if allowed is None or "POST" in allowed:
            names.append(pattern.name)
    return names


def _allowed_methods(view: Any) -> set[str] | None:
    seen = set()
    while view is not None and id(view) not in seen:
        seen.add(id(view))
        for cell in getattr(view, "__closure__", None) or ():
            value = cell.cell_contents
            if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
                if set(value) <= {"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"}:
                    return set(value)
        view = getattr(view, "__wrapped__", None)
    return None


def test_every_url_that_accepts_post_has_a_form_spec():
    missing = sorted(set(_post_urls()) - set(SPEC_BY_URL))
    assert not missing, f"这些地址接受 POST，请在 tests/fuzz/specs.py 的 SPECS 中各加一行：{missing}"
    assert not set(SPEC_BY_URL) - set(_post_urls()), "SPECS 中有不再接受 POST 的地址"


GROUPS = {
    "progress": [
        "task_assignments_edit",
        "notifications_mark_read",
        "report_edit",
        "evidence_upload",
        "evidence_remove",
        "report_review",
        "plan_import_upload",
        "plan_import_confirm",
        "plan_import_cancel",
        "plan_reimport",
        "plan_reimport_confirm",
    ],
    "notices": [
        "notice_create",
        "notice_receive",
        "notice_edit",
        "notice_issue",
        "notice_discard",
        "rectification_answer",
        "rectification_verify",
        "interview_create",
        "interview_item_add",
    ],
    "publications": [
        "publication_create",
        "publication_edit",
        "publication_submit",
        "publication_delete",
        "publication_review",
        "publication_publish",
        "application_create",
        "application_edit",
        "application_correction",
        "application_consultation",
        "application_extension",
        "application_reply",
        "application_appeal_add",
        "application_appeal_edit",
    ],
    "scoring": [
        "manual_fact_save",
        "manual_fact_delete",
        "score_compute_run",
        "score_whatif_run",
        "report_quarterly_download",
        "close_create",
        "close_finalize",
        "appeal_new",
        "appeal_decide",
        "notice_triggers_run",
        "annual_report_save",
        "annual_report_publish",
    ],
}


@pytest.mark.parametrize("value", [str(2**63), str(10**30), str(-(2**63) - 1), "0", "-1", "1.5", "٣"])
@pytest.mark.parametrize("url_name", ["task_assignments_edit", "interview_create"])
def test_a_multiple_choice_id_out_of_range_is_a_form_error(as_office, task, url_name, value):
    # Django looks ModelMultipleChoiceField ids up with `__in`, which is not guarded against integer
    # overflow (ticket #27397): SQLite raised OverflowError. workplan.fields refuses such ids first.
    field = {"task_assignments_edit": "leads", "interview_create": "sections"}[url_name]
    url = reverse(url_name, kwargs={"pk": task.pk} if url_name == "task_assignments_edit" else {})
    response = as_office.post(url, {field: value})
    assert response.status_code == 200
    assert "选择的项目不存在" in response.context["form"].errors[field]


def test_a_next_that_is_not_a_path_is_not_a_500(as_lead, task, sections, lead_user):
    report = make_report(task, sections["lead"], submitted_by=lead_user)
    evidence = make_evidence(report)
    response = as_lead.post(reverse("evidence_remove", kwargs={"pk": evidence.pk}), {"next": "0"})
    assert response.status_code == 302


def test_the_groups_cover_every_form_spec():
    grouped = [name for names in GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(SPEC_BY_URL)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_random_submissions_never_500_and_rejected_ones_write_nothing(world, group):
    for name in GROUPS[group]:
        fuzz_form(SPEC_BY_URL[name], world)


@budget(SLOW, max_examples=examples(12))
@given(year=st.integers(min_value=0, max_value=10**9))
def test_a_year_in_the_address_out_of_range_is_not_a_500(as_office, year):
    for name in ("annual_report_save", "annual_report_publish"):
        response = rolled_back(lambda name=name: as_office.post(reverse(name, kwargs={"year": year}), {}))
        assert response.status_code != 500, (name, year)
