"""冒烟：页面可达。"""

from django.urls import reverse


def test_home_requires_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_home_renders_for_office(as_office, task):
    response = as_office.get(reverse("home"))
    assert response.status_code == 200
    assert "工作计划" in response.content.decode()
