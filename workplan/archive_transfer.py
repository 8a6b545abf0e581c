"""政府信息公开资料的月度移交清单（向档案馆移交）：某月发布的全部信息，导出为表格。"""

from __future__ import annotations

import datetime

import tablib

from workplan.exporting import build_dataset
from workplan.models import PublicationColumn, PublicationItem

ARCHIVE_HEADERS = ("序号", "标题", "栏目", "股室", "发布日期", "网址")


def month_range(year: int, month: int) -> tuple[datetime.date, datetime.date]:
    start = datetime.date(year, month, 1)
    end = (start + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    return start, end


def archive_transfer_dataset(*, year: int, month: int) -> tablib.Dataset:
    """某月的政府信息公开资料移交清单（向档案馆移交）：该月发布的全部信息，按发布日期、登记顺序排列。

    列：序号、标题、栏目、股室、发布日期、网址。一次查询。
    """
    start, end = month_range(year, month)
    rows = (
        PublicationItem.objects.published_between(start, end)
        .order_by("published_on", "pk")
        .values_list("title", "column", "section__name", "published_on", "publish_url")
    )
    columns = dict(PublicationColumn.choices)
    return build_dataset(
        ARCHIVE_HEADERS,
        (
            (n, title, columns.get(column, column), section, published_on, url)
            for n, (title, column, section, published_on, url) in enumerate(rows, 1)
        ),
        title=f"{year}年{month}月移交清单",
    )
