"""测试角色（personas）：办公室、局长、牵头股室人员、责任股室人员、无关股室人员、只读用户、审计管理员。"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from tests.factories import make_plan, make_section, make_task, make_user
from workplan.models import Role

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PLAN = ROOT / "fixtures" / "zhangshu-tjj-2023-workplan.txt"


@pytest.fixture
def sections(db):
    return {
        "office": make_section("办公室", sort_order=1),
        "lead": make_section("综合股", sort_order=2),
        "resp": make_section("法规股", sort_order=3),
        "other": make_section("农业股", sort_order=4),
    }


@pytest.fixture
def office_user(sections):
    return make_user("office", role=Role.OFFICE, section=sections["office"])


@pytest.fixture
def director(sections):
    return make_user("director", role=Role.DIRECTOR)


@pytest.fixture
def lead_user(sections):
    return make_user("lead", role=Role.SECTION, section=sections["lead"])


@pytest.fixture
def resp_user(sections):
    return make_user("resp", role=Role.SECTION, section=sections["resp"])


@pytest.fixture
def outsider(sections):
    return make_user("outsider", role=Role.SECTION, section=sections["other"])


@pytest.fixture
def readonly_user(sections):
    return make_user("readonly", role=Role.READONLY, section=sections["lead"])


@pytest.fixture
def auditor(db):
    """审计管理员：只读审计日志（三权分立，见 workplan/admin_roles.py）；不是办公室。"""
    from workplan.admin_roles import admin_roles_sync

    user = make_user("auditor", role=Role.READONLY, is_staff=True)
    user.groups.add(admin_roles_sync()["audit"])
    return user


@pytest.fixture
def plan(db):
    return make_plan()


@pytest.fixture
def task(plan, sections):
    return make_task(plan, title="深化统计数据公开", leads=[sections["lead"]], responsibles=[sections["resp"]])


def login(user) -> Client:
    # force_login, not client.login(): django-axes' backend refuses authenticate() without a request
    # (client.login(request=HttpRequest(), username=..., password=...) works; POST to the login page to test it).
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_office(office_user) -> Client:
    return login(office_user)


@pytest.fixture
def as_director(director) -> Client:
    return login(director)


@pytest.fixture
def as_lead(lead_user) -> Client:
    return login(lead_user)


@pytest.fixture
def as_resp(resp_user) -> Client:
    return login(resp_user)


@pytest.fixture
def as_outsider(outsider) -> Client:
    return login(outsider)


@pytest.fixture
def as_readonly(readonly_user) -> Client:
    return login(readonly_user)


@pytest.fixture
def as_auditor(auditor) -> Client:
    return login(auditor)
