"""季度报告与通报 docx 的页面：权限矩阵（办公室、局长可用，其他人 403，匿名跳登录，错误方法 405）、
下载的格式、表单错误、审计日志、导航。"""

# The fixtures `quarter_data`, `office_settings` and `notice` come from test_reports.py: importing them is
# how pytest finds them.
# ruff: noqa: F811

from __future__ import annotations

import io

import openpyxl
import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from scoring.reports import gongwen
from scoring.reports.quarterly import SOURCE_LIVE
from tests.conftest import login
from tests.scoring.test_reports import (  # noqa: F401
    NEXT_STEPS,
    NOW,
    notice,
    office_settings,
    open_docx,
    quarter_data,
    texts,
)
from workplan.models import AuditEntry, NoticeStatus

# ---- pages ---------------------------------------------------------------------------------------------

PERSONAS = ["office", "director", "lead", "resp", "outsider", "readonly"]
ALLOWED = {"office", "director"}


@pytest.fixture
def clients(office_user, director, lead_user, resp_user, outsider, readonly_user):
    users = dict(
        office=office_user,
        director=director,
        lead=lead_user,
        resp=resp_user,
        outsider=outsider,
        readonly=readonly_user,
    )
    result = {name: login(user) for name, user in users.items()}
    result["anonymous"] = Client()
    return result


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def post_data(plan, **kwargs) -> dict:
    data = {
        "year": 2023,
        "quarter": 1,
        "plan": plan.pk,
        "next_steps": NEXT_STEPS,
        "doc_number": "樟统发〔2023〕5号",
        "recipients": "",
        "cc": "",
        "signed_on": "2023-04-12",
        "format": "docx",
    }
    data.update(kwargs)
    return data


@pytest.mark.parametrize("persona", PERSONAS)
def test_quarterly_page_is_for_office_and_director(quarter_data, clients, persona, frozen):
    response = clients[persona].get(reverse("report_quarterly"))
    assert response.status_code == (200 if persona in ALLOWED else 403)
    if persona in ALLOWED:
        body = response.content.decode()
        assert "樟树市统计局2023年第一季度政务公开工作情况" in body  # defaults to the quarter just ended
        assert "加快推进重点任务" in body  # the textarea is prefilled
        assert "实时数据" in body


def test_quarterly_page_sends_anonymous_users_to_login(clients):
    response = clients["anonymous"].get(reverse("report_quarterly"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_quarterly_download_is_for_office_and_director(quarter_data, clients, persona, frozen):
    response = clients[persona].post(reverse("report_quarterly_download"), post_data(quarter_data["plan"]))
    if persona not in ALLOWED:
        assert response.status_code == 403
        assert not AuditEntry.objects.filter(action="report.quarterly.generate").exists()
        return
    assert response.status_code == 200
    assert response["Content-Type"] == gongwen.DOCX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    doc = open_docx(response.content)
    assert "（一）压实牵头责任。每月调度一次任务进展。" in texts(doc)
    entry = AuditEntry.objects.get(action="report.quarterly.generate")
    assert entry.username == persona
    assert entry.new_value["format"] == "docx" and entry.new_value["source"] == SOURCE_LIVE


def test_quarterly_download_as_xlsx(quarter_data, clients, frozen):
    response = clients["office"].post(
        reverse("report_quarterly_download"), post_data(quarter_data["plan"], format="xlsx")
    )
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["任务推进情况", "考核得分"]
    assert AuditEntry.objects.get(action="report.quarterly.generate").new_value["format"] == "xlsx"


def test_quarterly_download_refuses_get(clients):
    assert clients["office"].get(reverse("report_quarterly_download")).status_code == 405


def test_quarterly_download_redisplays_the_form_on_errors(quarter_data, clients, frozen):
    response = clients["office"].post(
        reverse("report_quarterly_download"), post_data(quarter_data["plan"], next_steps="", year=2022)
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "这个字段是必填项" in body or "required" in body
    assert "与报告年度不一致" in body
    assert not AuditEntry.objects.filter(action="report.quarterly.generate").exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_notice_docx_is_for_office_and_director(notice, clients, persona):
    response = clients[persona].get(reverse("notice_docx", args=[notice.pk]))
    if persona not in ALLOWED:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    assert response["Content-Type"] == gongwen.DOCX_CONTENT_TYPE
    assert "关于2023年第一季度政务公开工作任务落实情况的通报" in texts(open_docx(response.content))
    entry = AuditEntry.objects.get(action="notice.docx")
    assert entry.object_id == str(notice.pk) and entry.username == persona


def test_discarded_or_missing_notices_are_not_found(notice, clients):
    notice.status = NoticeStatus.DISCARDED
    notice.save(update_fields=["status"])
    assert clients["office"].get(reverse("notice_docx", args=[notice.pk])).status_code == 404
    assert clients["office"].get(reverse("notice_docx", args=[999999])).status_code == 404


def test_notice_docx_refuses_post(notice, clients):
    assert clients["office"].post(reverse("notice_docx", args=[notice.pk])).status_code == 405


def test_nav_shows_quarterly_report_to_office_and_director_only(quarter_data, clients, frozen):
    url = reverse("report_quarterly")
    assert url in clients["office"].get(reverse("home")).content.decode()
    assert url in clients["director"].get(reverse("home")).content.decode()
    assert url not in clients["lead"].get(reverse("home")).content.decode()
