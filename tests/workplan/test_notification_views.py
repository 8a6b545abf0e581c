"""页面：通知（本人的、未读数、标为已读）与缺报清单（办公室、局长；导出）的访问矩阵与内容。"""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from tests.conftest import login
from tests.factories import make_task
from workplan.models import Notification, OfficeSettings, Recurrence

SHANGHAI = ZoneInfo("Asia/Shanghai")
FALLBACK = "2027年节假日尚未录入，暂按周末计算"


def notify(user, n: int = 1, *, kind: str = "due_soon") -> list[Notification]:
    return [
        Notification.objects.create(
            user=user, kind=kind, message=f"提醒{i}", link="/tasks/", dedupe_key=f"t:{user.pk}:{i}"
        )
        for i in range(n)
    ]


class TestAccess:
    @pytest.mark.parametrize("name", ["notifications", "missing_reports"])
    def test_anonymous_is_sent_to_login(self, client, db, name):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_anonymous_cannot_mark_read(self, client, db):
        response = client.post(reverse("notifications_mark_read"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    @pytest.mark.parametrize("persona", ["as_lead", "as_resp", "as_outsider", "as_readonly"])
    def test_section_and_readonly_users_get_403_on_missing_reports(self, request, persona):
        assert request.getfixturevalue(persona).get(reverse("missing_reports")).status_code == 403

    @pytest.mark.parametrize("persona", ["as_office", "as_director"])
    def test_office_and_director_see_missing_reports(self, request, persona):
        assert request.getfixturevalue(persona).get(reverse("missing_reports")).status_code == 200

    def test_mark_read_rejects_get(self, as_lead):
        assert as_lead.get(reverse("notifications_mark_read")).status_code == 405

    def test_notifications_reject_post(self, as_lead):
        assert as_lead.post(reverse("notifications")).status_code == 405

    @pytest.mark.parametrize("persona", ["as_office", "as_director", "as_lead", "as_readonly"])
    def test_everyone_has_the_notifications_page(self, request, persona):
        assert request.getfixturevalue(persona).get(reverse("notifications")).status_code == 200


class TestNotifications:
    def test_it_lists_only_own_notifications_newest_first(self, as_lead, lead_user, resp_user):
        Notification.objects.create(user=resp_user, kind="overdue", message="别人的提醒", dedupe_key="other")
        older, newer = notify(lead_user, 2)
        Notification.objects.filter(pk=older.pk).update(created_at=dt.datetime(2023, 1, 1, tzinfo=SHANGHAI))
        page = as_lead.get(reverse("notifications")).content.decode()
        assert page.index("提醒1") < page.index("提醒0")
        assert "别人的提醒" not in page
        assert "未读 2" in page
        assert "即将到期" in page  # the kind's label

    def test_mark_one_read(self, as_lead, lead_user):
        first, second = notify(lead_user, 2)
        response = as_lead.post(reverse("notifications_mark_read"), {"id": first.pk})
        assert response.status_code == 302
        first.refresh_from_db()
        second.refresh_from_db()
        assert first.read_at is not None and second.read_at is None

    def test_mark_all_read(self, as_lead, lead_user, resp_user):
        notify(lead_user, 3)
        theirs = notify(resp_user)[0]
        as_lead.post(reverse("notifications_mark_read"))
        assert not Notification.objects.filter(user=lead_user, read_at__isnull=True).exists()
        theirs.refresh_from_db()
        assert theirs.read_at is None

    def test_someone_elses_notification_is_404(self, as_lead, lead_user, resp_user):
        theirs = notify(resp_user)[0]
        mine = notify(lead_user)[0]
        assert as_lead.post(reverse("notifications_mark_read"), {"id": theirs.pk}).status_code == 404
        assert as_lead.post(reverse("notifications_mark_read"), {"id": "1 OR 1=1"}).status_code == 404
        mine.refresh_from_db()
        assert mine.read_at is None  # a bad id never falls back to "mark all"
        theirs.refresh_from_db()
        assert theirs.read_at is None

    def test_header_badge_shows_the_unread_count(self, as_lead, lead_user):
        notify(lead_user, 3)
        page = as_lead.get(reverse("home")).content.decode()
        assert "未读通知" in page and ">3<" in page

    def test_no_badge_without_unread(self, as_lead, lead_user):
        assert "未读通知" not in as_lead.get(reverse("home")).content.decode()

    @pytest.mark.parametrize("n", [5, 200])
    def test_query_count_does_not_grow(self, as_lead, lead_user, n, django_assert_max_num_queries):
        Notification.objects.bulk_create(
            [
                Notification(user=lead_user, kind="overdue", message=f"逾期{i}", dedupe_key=f"q:{i}")
                for i in range(n)
            ]
        )
        with django_assert_max_num_queries(7):
            response = as_lead.get(reverse("notifications"))
        assert response.status_code == 200

    def test_it_warns_when_this_year_falls_back_to_weekends(self, lead_user):
        # Log in inside the travel: a session made today would have expired by 2027.
        with time_machine.travel(dt.datetime(2027, 1, 5, 9, 0, tzinfo=SHANGHAI), tick=False):
            assert FALLBACK in login(lead_user).get(reverse("notifications")).content.decode()


@pytest.fixture
def q3_tasks(plan, sections):
    make_task(
        plan,
        title="每季度发布统计数据",
        recurrence=Recurrence.QUARTERLY,
        leads=[sections["lead"]],
        responsibles=[sections["resp"]],
    )
    make_task(
        plan, title='=HYPERLINK("http://x")', recurrence=Recurrence.CONTINUOUS, leads=[sections["lead"]]
    )


class TestMissingReports:
    @time_machine.travel(dt.datetime(2023, 10, 12, 9, 0, tzinfo=SHANGHAI), tick=False)
    def test_it_defaults_to_the_last_finished_quarter(self, as_office, q3_tasks):
        page = as_office.get(reverse("missing_reports")).content.decode()
        assert "2023年第3季度缺报清单" in page
        assert "每季度发布统计数据" in page and "法规股" in page and "未报送" in page
        assert "2023-10-08" in page
        assert "<td>4</td>" in page  # working days overdue on 10-12

    @time_machine.travel(dt.datetime(2023, 10, 12, 9, 0, tzinfo=SHANGHAI), tick=False)
    def test_it_shows_the_chosen_quarter(self, as_director, q3_tasks):
        page = as_director.get(reverse("missing_reports"), {"year": 2023, "quarter": 1}).content.decode()
        assert "2023年第1季度缺报清单" in page
        assert "2023-04-10" in page  # 04-08 is a Saturday: rolls to Monday

    @time_machine.travel(dt.datetime(2023, 10, 12, 9, 0, tzinfo=SHANGHAI), tick=False)
    def test_a_bad_quarter_falls_back_to_the_default(self, as_office, q3_tasks):
        response = as_office.get(reverse("missing_reports"), {"year": "x", "quarter": 9})
        assert response.status_code == 200
        assert "2023年第3季度缺报清单" in response.content.decode()

    @pytest.mark.parametrize("fmt", ["xlsx", "csv"])
    @time_machine.travel(dt.datetime(2023, 10, 12, 9, 0, tzinfo=SHANGHAI), tick=False)
    def test_it_exports(self, as_office, q3_tasks, fmt):
        response = as_office.get(reverse("missing_reports"), {"year": 2023, "quarter": 3, "_export": fmt})
        assert response.status_code == 200
        if fmt == "xlsx":
            sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
            rows = [[c.value for c in r] for r in sheet.iter_rows()]
        else:
            rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][:4] == ["任务编号", "层级序号", "任务", "股室"]
        assert len(rows) == 4
        assert [r[2] for r in rows[1:]].count("每季度发布统计数据") == 2
        assert any(str(r[2]).startswith("'=HYPERLINK") for r in rows[1:])  # formula neutralised
        assert {str(r[7]) for r in rows[1:]} == {"未报送"}

    def test_it_warns_when_the_year_falls_back_to_weekends(self, office_user):
        with time_machine.travel(dt.datetime(2027, 4, 20, 9, 0, tzinfo=SHANGHAI), tick=False):
            page = login(office_user).get(reverse("missing_reports")).content.decode()
        assert "2027年第1季度缺报清单" in page
        assert FALLBACK in page

    @pytest.mark.parametrize("n", [5, 150])
    @time_machine.travel(dt.datetime(2023, 10, 12, 9, 0, tzinfo=SHANGHAI), tick=False)
    def test_query_count_does_not_grow(self, as_office, plan, sections, n, django_assert_max_num_queries):
        OfficeSettings.current()
        for _ in range(n):
            make_task(
                plan,
                recurrence=Recurrence.QUARTERLY,
                leads=[sections["lead"]],
                responsibles=[sections["resp"]],
            )
        with django_assert_max_num_queries(9):
            response = as_office.get(reverse("missing_reports"))
        assert response.status_code == 200
