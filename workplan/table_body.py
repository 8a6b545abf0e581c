"""列表（django-tables2）的表体在 Python 中一次拼好：表头、排序、分页、导出仍由 django-tables2 负责。

django-tables2 逐格求值时每格都用 inspect.signature 查看 render 方法的参数、重新计算列的属性，
再在模板里逐格循环：50 行 × 11 列的任务清单，这些开销占了整页的一半以上。这里每列只做一次这些准备，
逐格只取值、调用 render、转义。单元格的内容与 django-tables2 的逐格渲染相同
（tests/workplan/test_table_body.py 逐格比较）。
"""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template import Context
from django.template.base import render_value_in_context
from django.utils import formats
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django_tables2.columns.base import BoundColumn
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.rows import BoundRow
from django_tables2.utils import Accessor, signature

TEMPLATE = "django_tables2/fast_body.html"


def _has_callable(attrs: Any) -> bool:
    return any(callable(v) or _has_callable(v) for v in attrs.values()) if isinstance(attrs, dict) else False


class _Cell:
    """一列的逐格渲染：列的属性、render 的参数、取值方式只算一次。"""

    def __init__(self, table: tables.Table, bound_column: BoundColumn) -> None:
        self.bound_column = bound_column
        self.column = bound_column.column
        self.accessor = Accessor(bound_column.accessor)
        self.render = bound_column.render
        self.args, self.takes_kwargs = signature(self.render)
        self.link = bound_column.link
        self.default = bound_column.default
        self.localize = bound_column.localize
        self.is_link_column = isinstance(self.column, BaseLinkColumn)
        # Whether the accessor ends in a model field with choices (then get_FOO_display() is shown, as
        # django-tables2 does): it depends on the record's class only.
        self._choices: dict[type, bool] = {}
        attrs = {**table.attrs, **self.column.attrs}
        self.td = None if _has_callable(attrs) else bound_column.attrs["td"].as_html()

    def _has_choices(self, record: Any) -> bool:
        kind = type(record)
        if kind not in self._choices:
            try:
                field = self.accessor.get_field(record)
            except FieldDoesNotExist:
                field = None
            self._choices[kind] = bool(getattr(field, "choices", ()))
        return self._choices[kind]

    def _call(self, row: BoundRow, value: Any) -> Any:
        kwargs = {
            "value": value,
            "record": row.record,
            "column": self.column,
            "bound_column": self.bound_column,
            "bound_row": row,
            "table": row.table,
        }
        if self.takes_kwargs:
            content = self.render(**kwargs)
        else:  # only the arguments render asks for; None when it asks for one that does not exist
            wanted = {k: kwargs[k] for k in self.args if k in kwargs}
            content = self.render(**wanted) if len(wanted) == len(self.args) else None
        # The link sees every argument, as in django-tables2.
        return self.link(content, **kwargs) if self.link else content

    def content(self, row: BoundRow) -> Any:
        """同 django-tables2 的 BoundRow.get_cell。"""
        record = row.record
        value: Any = None
        resolved = False
        if self._has_choices(record):
            penultimate, remainder = self.accessor.penultimate(record)
            display = getattr(penultimate, f"get_{remainder}_display", None)
            if isinstance(penultimate, models.Model) and display is not None:
                value, resolved = display(), True
        if not resolved:
            try:
                value = self.accessor.resolve(record)
            except Exception:
                # Non-field columns (django-tables2 #257): a link column with a fixed text still renders.
                if self.is_link_column and self.column.text is not None:
                    return self._call(row, None)
        if value in self.column.empty_values:
            return self.default
        return self._call(row, value)

    def html(self, row: BoundRow, context: Context) -> str:
        content = self.content(row)
        if self.localize is not None:
            content = formats.localize(content, use_l10n=self.localize)
        td = self.td
        if td is None:  # attrs computed from the record: the slow path, as django-tables2 does it
            self.bound_column.current_value, self.bound_column.current_record = content, row.record
            td = self.bound_column.attrs["td"].as_html()
        return f"<td {td}>{render_value_in_context(content, context)}</td>"


class FastBodyTable(tables.Table):
    """表体由 tbody_html() 一次生成（模板 django_tables2/fast_body.html），其余同 django-tables2 的 Table。"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("template_name", TEMPLATE)
        super().__init__(*args, **kwargs)

    def tbody_html(self) -> SafeString:
        cells = [_Cell(self, c) for c in self.columns]
        context = Context(autoescape=True)
        out = []
        for row in self.paginated_rows:
            out.append(format_html("<tr {}>", row.attrs.as_html()))
            out.extend(c.html(row, context) for c in cells)
            out.append("</tr>")
        return mark_safe("".join(out))  # every cell went through render_value_in_context: escaped
