"""季度看板的图表（plotly）：由普通数据（scoring.dashboard 的 dict / list）生成图表的 HTML 片段。

- 不内嵌 plotly.js（include_plotlyjs=False）：页面用一个 <script src> 从本站静态文件加载一次；
  不用 CDN、不用 MathJax；
- plotly 会把标签、悬停文字里的 <b>、<br>、<a href> 当作 HTML 渲染：股室名称、章节标题等用户文字
  一律 html.escape；
- 每个柱、格、点的 customdata 是对应任务清单的链接，点击即跳转（只接受本站的相对链接）。

图表写成普通的 plotly 图表字典（*_figure），不构造 graph_objects：后者逐项校验、深拷贝，
一页五张图要 60 ms 以上。字典是否合法由测试用 go.Figure 校验（tests/scoring/test_dashboard_page.py）。
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

Figure = dict[str, Any]

STATUS_COLORS = {
    "done": "#2e7d32",
    "in_progress": "#1a56a8",
    "not_started": "#9e9e9e",
    "cannot_complete": "#b71c1c",
}
FONT = '"Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", sans-serif'
CONFIG = {"displaylogo": False, "responsive": True}
AXIS_LABEL_CHARS = 16
# Spelled out: plotly.js knows only some colour scales by name (graph_objects expanded this one).
HEATMAP_COLORS = [list(step) for step in go.Heatmap(colorscale="RdYlGn").colorscale]
ROW_HEIGHT = 30

# Runs after Plotly.newPlot; "{plot_id}" is replaced by plotly with the chart's div id.
CLICK_SCRIPT = """
var gd = document.getElementById('{plot_id}');
gd.on('plotly_click', function (ev) {
  var p = ev && ev.points && ev.points[0];
  var url = p ? p.customdata : null;
  if (Array.isArray(url)) { url = url[0]; }
  if (typeof url === 'string' && url.charAt(0) === '/' && url.charAt(1) !== '/') {
    window.location.href = url;
  }
});
"""


@functools.cache
def _template() -> dict[str, Any]:
    # The "plotly_white" template as plain JSON, read once per process.
    return pio.templates["plotly_white"].to_plotly_json()


def esc(text: object) -> str:
    """用户文字放进 plotly 标签或悬停文字之前转义（plotly 会渲染其中的部分 HTML）。"""
    return html.escape(str(text), quote=True)


def short_label(text: str, limit: int = AXIS_LABEL_CHARS) -> str:
    """坐标轴上的长标题截短（先截短再转义，不会截断实体）；完整标题在悬停文字里。"""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unique_labels(names: Sequence[str], *, limit: int | None = None) -> list[str]:
    """转义后的坐标轴标签；重名（或截短后重名）的加序号，避免 plotly 把两个类别并成一个。"""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        label = short_label(name, limit) if limit else name
        seen[label] = seen.get(label, 0) + 1
        out.append(esc(label if seen[label] == 1 else f"{label}（{seen[label]}）"))
    return out


def render(fig: Figure, *, div_id: str) -> str:
    """图表字典 → HTML 片段：不含 plotly.js 与 MathJax，去掉 plotly 标志，随容器宽度缩放，点击跳转。
    高度取 fig["layout"]["height"]。"""
    height = fig["layout"]["height"]
    layout = {
        **fig["layout"],
        "template": _template(),
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "font": {"family": FONT, "size": 12},
        "hoverlabel": {"font": {"family": FONT}},
    }
    return pio.to_html(
        {"data": fig["data"], "layout": layout},
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        config=CONFIG,
        div_id=div_id,
        default_height=f"{height}px",
        post_script=CLICK_SCRIPT,
        validate=False,  # the figure dicts are checked against plotly's schema in the tests
    )


def _height(rows: int, *, minimum: int = 260) -> int:
    return max(minimum, rows * ROW_HEIGHT + 120)


def completion_figure(
    rows: Sequence[Mapping[str, Any]],
    statuses: Sequence[tuple[str, str]],
    *,
    label_limit: int | None = None,
) -> Figure | None:
    """按股室或按章节的完成情况：横向堆叠柱，每种状态一段；点击一段 → 该股室（章节）该状态的任务清单。

    rows: [{"name", "counts": {状态: 数}, "rates": {状态: %}, "urls": {状态: 链接}}]
    """
    if not rows:
        return None
    labels = unique_labels([r["name"] for r in rows], limit=label_limit)
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": status_label,
            "y": labels,
            "x": [r["counts"][status] for r in rows],
            "customdata": [r["urls"][status] for r in rows],
            "hovertext": [
                f"{esc(r['name'])}<br>{status_label}：{r['counts'][status]} 项（{r['rates'][status]}%）"
                for r in rows
            ],
            "hoverinfo": "text",
            "marker": {"color": STATUS_COLORS.get(status)},
        }
        for status, status_label in statuses
    ]
    layout = {
        "barmode": "stack",
        "yaxis": {"autorange": "reversed", "automargin": True},
        "xaxis": {"title": {"text": "任务数"}},
        "legend": {"orientation": "h", "y": -0.15, "traceorder": "normal"},
        "height": _height(len(rows)),
    }
    return {"data": data, "layout": layout}


def completion_chart(
    rows: Sequence[Mapping[str, Any]],
    statuses: Sequence[tuple[str, str]],
    *,
    div_id: str,
    label_limit: int | None = None,
) -> str:
    fig = completion_figure(rows, statuses, label_limit=label_limit)
    return render(fig, div_id=div_id) if fig else ""


def score_figure(ranking: Sequence[Mapping[str, Any]]) -> Figure | None:
    """本季度各股室得分（按名次）：点击 → 该股室的任务清单。"""
    rows = [r for r in ranking if r.get("total") is not None]
    if not rows:
        return None
    bar = {
        "type": "bar",
        "orientation": "h",
        "y": unique_labels([r["name"] for r in rows]),
        "x": [r["total"] for r in rows],
        "text": [f"{r['total']:g}" for r in rows],
        "textposition": "auto",
        "customdata": [r["url"] for r in rows],
        "hovertext": [
            f"{esc(r['name'])}<br>得分：{r['total']:g}　等次：{esc(r['grade'])}　名次：{r['rank']}"
            for r in rows
        ],
        "hoverinfo": "text",
        "marker": {"color": "#1a56a8"},
    }
    layout = {
        "yaxis": {"autorange": "reversed", "automargin": True},
        "xaxis": {"title": {"text": "得分"}, "rangemode": "tozero"},
        "height": _height(len(rows)),
    }
    return {"data": [bar], "layout": layout}


def score_chart(ranking: Sequence[Mapping[str, Any]], *, div_id: str) -> str:
    fig = score_figure(ranking)
    return render(fig, div_id=div_id) if fig else ""


def trend_figure(trend: Mapping[str, Any]) -> Figure | None:
    """全年各季度得分趋势：每个股室一条折线（未计分的季度留空）；点击一个点 → 该股室的任务清单。"""
    series = trend.get("series") or []
    if not series:
        return None
    quarters = list(trend["quarters"])
    data = []
    for s in series:
        name = esc(s["name"])
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": quarters,
                "y": s["values"],
                "customdata": [s["url"]] * len(quarters),
                "hovertext": [
                    f"{name}<br>{q}：{v:g}" if v is not None else f"{name}<br>{q}：未计分"
                    for q, v in zip(quarters, s["values"], strict=True)
                ],
                "hoverinfo": "text",
                "connectgaps": False,
            }
        )
    layout = {
        "xaxis": {"type": "category"},
        "yaxis": {"title": {"text": "得分"}},
        "legend": {"orientation": "h", "y": -0.2},
        "height": 380,
    }
    return {"data": data, "layout": layout}


def trend_chart(trend: Mapping[str, Any], *, div_id: str) -> str:
    fig = trend_figure(trend)
    return render(fig, div_id=div_id) if fig else ""


def heatmap_figure(heatmap: Mapping[str, Any]) -> Figure | None:
    """股室 × 章节完成率（%）：格中为“已完成/任务数”，无任务的格留空；点击一格 → 该股室该章节的任务清单。"""
    sections, chapters = list(heatmap.get("sections") or []), list(heatmap.get("chapters") or [])
    if not sections or not chapters:
        return None
    hover = [
        [
            f"{esc(section)}<br>{esc(chapter)}<br>完成率：{z}%（{text}）" if z is not None else ""
            for chapter, z, text in zip(chapters, z_row, t_row, strict=True)
        ]
        for section, z_row, t_row in zip(sections, heatmap["z"], heatmap["text"], strict=True)
    ]
    cells = {
        "type": "heatmap",
        "x": unique_labels(chapters, limit=AXIS_LABEL_CHARS),
        "y": unique_labels(sections),
        "z": heatmap["z"],
        "text": heatmap["text"],
        "texttemplate": "%{text}",
        "customdata": heatmap["urls"],
        "hovertext": hover,
        "hoverinfo": "text",
        "zmin": 0,
        "zmax": 100,
        "colorscale": HEATMAP_COLORS,
        "colorbar": {"title": {"text": "完成率%"}},
        "xgap": 2,
        "ygap": 2,
    }
    layout = {
        "yaxis": {"autorange": "reversed", "automargin": True},
        "xaxis": {"side": "top", "automargin": True, "tickangle": -30},
        "height": _height(len(sections), minimum=320) + 80,
    }
    return {"data": [cells], "layout": layout}


def heatmap_chart(heatmap: Mapping[str, Any], *, div_id: str) -> str:
    fig = heatmap_figure(heatmap)
    return render(fig, div_id=div_id) if fig else ""
