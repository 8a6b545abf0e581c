"""导出（xlsx / csv）：数字保持为数字，以 = + - @ 制表符 回车 开头的文本加前缀单引号以防公式注入（CWE-1236）。"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

import tablib
from django.http import HttpResponse
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralize(value: Any) -> Any:
    """文本单元格：去掉 xlsx 不能保存的控制字符（从 Word 粘贴来的 \x1f 等），以公式字符开头的前置单引号；
    数字、日期原样保留。"""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith(FORMULA_PREFIXES):
            return "'" + value
    return value


def build_dataset(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str = "") -> tablib.Dataset:
    data = tablib.Dataset(headers=list(headers), title=title[:31] or None)
    for row in rows:
        data.append([neutralize(v) for v in row])
    return data


def dataset_response(data: tablib.Dataset | tablib.Databook, *, fmt: str, filename: str) -> HttpResponse:
    """把数据集作为附件返回；csv 带 BOM 以便 Excel 正确识别中文。"""
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"不支持的导出格式：{fmt}")
    payload: bytes | str = data.export(fmt)
    if fmt == "csv":
        payload = "\ufeff" + str(payload)
    response = HttpResponse(payload, content_type=CONTENT_TYPES[fmt])
    full = f"{filename}.{fmt}"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(full)}"
    return response


def table_response(table: Any, *, fmt: str, filename: str) -> HttpResponse:
    """导出 django-tables2 表格当前显示的内容（含筛选）。"""
    values = list(table.as_values())
    headers, rows = values[0], values[1:]
    return dataset_response(build_dataset(headers, rows, title=filename), fmt=fmt, filename=filename)
