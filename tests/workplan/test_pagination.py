"""列表分页（templates/workplan/_pagination.html，通报、整改、依申请公开、后台任务、约谈、通知等列表共用）。"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.template.loader import render_to_string


def render(page_number: int, query: str = "") -> str:
    page = Paginator(list(range(95)), 30).get_page(page_number)
    return render_to_string("workplan/_pagination.html", {"page": page, "query": query})


def test_links_keep_the_filter_and_name_the_page():
    html = render(2, "status=done&q=%E9%80%9A%E6%8A%A5")  # as the views pass it: escaped once by the template
    assert '<a href="?status=done&amp;q=%E9%80%9A%E6%8A%A5&amp;page=1">上一页</a>' in html
    assert '<a href="?status=done&amp;q=%E9%80%9A%E6%8A%A5&amp;page=3">下一页</a>' in html
    assert "第 2 / 4 页" in html


def test_without_a_filter_the_links_carry_only_the_page():
    first = render(1)
    assert "上一页" not in first and '<a href="?page=2">下一页</a>' in first
    last = render(4)
    assert '<a href="?page=3">上一页</a>' in last and "下一页" not in last


def test_a_single_page_shows_no_pagination():
    page = Paginator(list(range(5)), 30).get_page(1)
    assert "pagination" not in render_to_string("workplan/_pagination.html", {"page": page})
