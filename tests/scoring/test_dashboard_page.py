"""季度看板页面：权限（办公室、局长可看，其他 403，未登录去登录页，POST 405）；查询次数与任务数无关；
plotly.js 只从本站静态文件加载一次；用户文字在图表 JSON 中转义；点击跳转的链接是带正确筛选的任务清单。
看板的数据在 test_dashboard.py。"""

# The fixtures `frozen_today` and `small_plan` come from test_dashboard.py: importing them is how pytest
# finds them.
# ruff: noqa: F811

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import plotly.graph_objects as go
import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import resolve, reverse

from config.staticfinders import PLOTLY_STATIC_PATH, plotly_js_path
from scoring import charts
from scoring.models import SnapshotTask
from tests.conftest import login
from tests.factories import make_report, make_section, make_task, make_user
from tests.scoring.test_dashboard import (  # noqa: F401
    URL,
    bulk_tasks,
    frozen_today,
    make_chapter,
    make_close,
    make_run,
    small_plan,
    snapshot_scores,
)
from workplan.filters import TaskFilter
from workplan.models import ReviewState, Role, Task

# Measured: 14 queries for a live quarter and 17 for a closed one, at 50 and at 5,000 tasks alike.
MAX_QUERIES = 20

pytestmark = pytest.mark.usefixtures("frozen_today")


# ---- access --------------------------------------------------------------------------------------------


class TestAccess:
    def test_anonymous_is_sent_to_login(self, db):
        response = Client().get(URL)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize("persona", ["as_lead", "as_resp", "as_outsider", "as_readonly"])
    def test_it_refuses_section_staff_and_readonly_users(self, request, persona):
        assert request.getfixturevalue(persona).get(URL).status_code == 403

    @pytest.mark.parametrize("persona", ["as_office", "as_director"])
    def test_it_shows_the_dashboard_to_office_and_director(self, request, persona, small_plan):
        response = request.getfixturevalue(persona).get(URL)
        assert response.status_code == 200
        assert "季度看板" in response.content.decode()

    def test_post_is_not_allowed(self, as_office):
        assert as_office.post(URL).status_code == 405

    def test_the_nav_item_is_shown_to_director_and_office_only(self, as_director, as_office, as_lead):
        assert "季度看板" in as_director.get(reverse("home")).content.decode()
        assert "季度看板" in as_office.get(reverse("home")).content.decode()
        assert "季度看板" not in as_lead.get(reverse("home")).content.decode()

    def test_the_route_is_named_quarter_dashboard(self):
        assert reverse("quarter_dashboard") == URL
        assert resolve(URL).url_name == "quarter_dashboard"


# ---- query count ---------------------------------------------------------------------------------------


class TestQueryCount:
    @pytest.mark.parametrize("n", [50, 5000])
    def test_the_live_dashboard_issues_a_fixed_number_of_queries(
        self, as_director, plan, sections, n, django_assert_max_num_queries
    ):
        chapters = [make_chapter(plan, f"第{i}章", f"{i}、", i) for i in range(1, 4)]
        section_list = [sections["lead"], sections["resp"], sections["other"]]
        tasks = bulk_tasks(plan, chapters, section_list, n)
        make_report(tasks[0], sections["lead"], quarter=3, review_state=ReviewState.RETURNED, return_count=1)
        make_run(2023, "Q2", {s: 80 + i for i, s in enumerate(section_list)})
        make_run(2023, "Q3", {s: 90 - i for i, s in enumerate(section_list)})
        with django_assert_max_num_queries(MAX_QUERIES):
            response = as_director.get(URL)
        assert response.status_code == 200
        assert response.context["d"]["totals"]["tasks"] == n

    @pytest.mark.parametrize("n", [50, 5000])
    def test_the_closed_dashboard_issues_a_fixed_number_of_queries(
        self, as_director, plan, sections, n, django_assert_max_num_queries
    ):
        chapters = [make_chapter(plan, f"第{i}章", f"{i}、", i) for i in range(1, 4)]
        section_list = [sections["lead"], sections["resp"], sections["other"]]
        tasks = bulk_tasks(plan, chapters, section_list, n)
        prev, close = make_close(2023, 1), make_close(2023, 2)
        for c in (prev, close):
            SnapshotTask.objects.bulk_create(
                [
                    SnapshotTask(
                        close=c,
                        task_id_ref=t.pk,
                        plan_id_ref=plan.pk,
                        code=t.code,
                        chapter=f"{(i % 3) + 1}、第{(i % 3) + 1}章",
                        title=t.title,
                        status=t.status,
                        overdue=i % 5 == 0,
                        lead_section_ids=[section_list[i % 3].pk],
                        responsible_names=section_list[(i + 1) % 3].name,
                    )
                    for i, t in enumerate(tasks)
                ]
            )
            snapshot_scores(c, {s: 80 + i for i, s in enumerate(section_list)})
        with django_assert_max_num_queries(MAX_QUERIES):
            response = as_director.get(URL, {"plan": plan.pk, "quarter": 2})
        assert response.status_code == 200
        assert response.context["d"]["totals"]["tasks"] == n
        assert response.context["d"]["compare"]["tasks_available"] is True


# ---- plotly, escaping and click-through ----------------------------------------------------------------


def chart_strings(html: str) -> set[str]:
    """页面上所有 Plotly.newPlot(id, data, layout) 的 data 与 layout 中出现的全部字符串（已 JSON 解码）。"""
    decoder = json.JSONDecoder()
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)

    for match in re.finditer(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*", html):
        data, end = decoder.raw_decode(html, match.end())
        layout, _ = decoder.raw_decode(html, html.index("{", end))
        walk(data)
        walk(layout)
    return found


class TestCharts:
    def test_the_page_loads_plotly_once_from_our_static_files_and_never_from_a_cdn(
        self, as_director, small_plan
    ):
        html = as_director.get(URL).content.decode()
        scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html)
        assert [s for s in scripts if "plotly" in s] == ["/static/vendor/plotly.min.js"]
        assert html.count("plotly.min.js") == 1
        assert "cdn.plot.ly" not in html
        assert "mathjax" not in html.lower()
        assert "Plotly.newPlot" in html
        assert '"displaylogo": false' in html

    def test_the_static_finder_serves_plotly_from_the_installed_wheel(self):
        found = finders.find(PLOTLY_STATIC_PATH)
        assert found == str(plotly_js_path())
        assert plotly_js_path().stat().st_size > 1_000_000
        assert finders.find("vendor/widgetbundle.js") is None

    def test_user_text_is_escaped_in_the_chart_json(self, as_director, plan, sections):
        evil = make_section("<b>x</b><script>", sort_order=9)
        chapter = make_chapter(plan, "<a href='//evil'>章</a>", "一、", 1)
        make_task(plan, title="<br>任务", leads=[evil], parent=chapter, position=2)
        make_run(2023, "Q3", {evil: 90})
        html = as_director.get(URL).content.decode()
        strings = chart_strings(html)
        assert len(strings) > 10
        # Section names appear only escaped: as axis categories, trace names and in hover text.
        assert "&lt;b&gt;x&lt;/b&gt;&lt;script&gt;" in strings
        assert any("&lt;a href=&#x27;//evil&#x27;&gt;章&lt;/a&gt;" in s for s in strings)
        assert not any("<b>x</b>" in s or "<script" in s or "<a href" in s for s in strings)
        # Tables escape through Django; the raw text is nowhere on the page.
        assert "<b>x</b><script>" not in html
        assert "<a href='//evil'>" not in html

    def test_click_through_urls_open_task_lists_with_the_right_filters(
        self, as_director, small_plan, sections
    ):
        plan, lead = small_plan["plan"], sections["lead"]
        response = as_director.get(URL)
        d = response.context["d"]
        row = next(r for r in d["by_section"] if r["section_id"] == lead.pk)
        url = row["urls"]["done"]
        parts = urlsplit(url)
        assert parts.path == reverse("task_list")
        assert parse_qs(parts.query) == {
            "plan": [str(plan.pk)],
            "section": [str(lead.pk)],
            "status": ["done"],
        }
        # The filters are real TaskFilter parameters and select exactly the tasks behind the bar.
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert set(params) <= set(TaskFilter.base_filters)
        listed = TaskFilter(params, queryset=Task.objects.filter(is_heading=False)).qs
        assert listed.count() == row["counts"]["done"] == 1
        # Overdue and ranking links.
        assert parse_qs(urlsplit(d["overdue"]["url"]).query) == {"plan": [str(plan.pk)], "overdue": ["yes"]}
        overdue_params = {k: v[0] for k, v in parse_qs(urlsplit(row["overdue_url"]).query).items()}
        assert TaskFilter(overdue_params, queryset=Task.objects.filter(is_heading=False)).qs.count() == 1
        # The URL is in the chart's customdata (plotly escapes "/" as \u002f in its JSON).
        html = response.content.decode()
        assert url.replace("/", "\\u002f") in html
        # Heat-map cells carry the chapter too.
        cell = d["heatmap"]["urls"][0][0]
        assert parse_qs(urlsplit(cell).query) == {
            "plan": [str(plan.pk)],
            "section": [str(lead.pk)],
            "chapter": [str(small_plan["ch1"].pk)],
        }

    def test_the_click_handler_follows_only_relative_links(self):
        fig_html = charts.completion_chart(
            [
                {
                    "name": "综合股",
                    "counts": {"done": 1},
                    "rates": {"done": 100.0},
                    "urls": {"done": "/tasks/?status=done"},
                }
            ],
            [("done", "已完成")],
            div_id="chart-x",
        )
        assert "plotly_click" in fig_html
        assert "url.charAt(0) === '/' && url.charAt(1) !== '/'" in fig_html
        assert "<script src" not in fig_html

    def test_ranking_rows_link_to_the_section_tasks(self, as_director, small_plan, sections):
        make_run(2023, "Q3", {sections["lead"]: 90})
        html = as_director.get(URL).content.decode()
        expected = f'data-href="/tasks/?plan={small_plan["plan"].pk}&amp;section={sections["lead"].pk}"'
        assert expected in html


class TestChartFunctions:
    """图表函数是纯函数（不访问数据库）。"""

    def test_empty_data_renders_nothing(self):
        assert charts.completion_chart([], [("done", "已完成")], div_id="a") == ""
        assert charts.score_chart([], div_id="b") == ""
        assert charts.trend_chart({"quarters": [], "series": []}, div_id="c") == ""
        assert charts.heatmap_chart({"sections": [], "chapters": []}, div_id="d") == ""

    def test_duplicate_or_truncated_labels_stay_distinct_and_escaped(self):
        labels = charts.unique_labels(["<i>章</i>" * 5, "<i>章</i>" * 6], limit=8)
        assert labels[0] != labels[1]
        assert all("<" not in label for label in labels)

    def test_every_figure_is_valid_for_plotly(self):
        # The charts are plain dicts rendered without plotly's validation (it cost more than the rest of the
        # page): plotly's own Figure class checks every property name and value here instead.
        rows = [{"name": "甲", "counts": {"done": 1}, "rates": {"done": 100.0}, "urls": {"done": "/tasks/"}}]
        ranking = [{"name": "甲", "total": 90.5, "grade": "优秀", "rank": 1, "url": "/tasks/"}]
        series = [{"name": "甲", "values": [90, None], "url": "/tasks/"}]
        trend = {"quarters": ["第一季度", "第二季度"], "series": series}
        heat = {"sections": ["甲"], "chapters": ["一"], "z": [[50.0]], "text": [["1/2"]], "urls": [["/"]]}
        figures = [
            charts.completion_figure(rows, [("done", "已完成")], label_limit=8),
            charts.score_figure(ranking),
            charts.trend_figure(trend),
            charts.heatmap_figure(heat),
        ]
        for fig in figures:
            assert fig is not None
            checked = go.Figure(fig).to_plotly_json()  # raises ValueError on a bad property or value
            assert len(checked["data"]) == len(fig["data"])
        heatmap = figures[-1]["data"][0]
        assert go.Heatmap(colorscale="RdYlGn").colorscale == tuple(tuple(s) for s in heatmap["colorscale"])

    def test_heatmap_cells_carry_their_urls(self):
        out = charts.heatmap_chart(
            {
                "sections": ["甲"],
                "chapters": ["一"],
                "z": [[50.0]],
                "text": [["1/2"]],
                "urls": [["/tasks/?a=1"]],
            },
            div_id="h",
        )
        assert '"customdata":[["\\u002ftasks\\u002f?a=1"]]' in out


def test_a_user_without_section_is_refused(db):
    assert login(make_user("nobody", role=Role.SECTION)).get(URL).status_code == 403
