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


def dataset_bytes(data: tablib.Dataset | tablib.Databook, *, fmt: str) -> bytes:
    """数据集的文件内容；csv 为带 BOM 的 UTF-8，以便 Excel 正确识别中文。"""
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"不支持的导出格式：{fmt}")
    payload: bytes | str = data.export(fmt)
    if fmt == "csv":
        return ("\ufeff" + str(payload)).encode("utf-8")
    return payload if isinstance(payload, bytes) else payload.encode("utf-8")


def file_response(payload: bytes, *, filename: str, content_type: str) -> HttpResponse:
    """把生成的文件作为附件返回：文件名按 RFC 5987 编码（filename*=UTF-8''…，中文文件名），不缓存。"""
    response = HttpResponse(payload, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "private, no-store"
    return response


def attachment_response(result: Any) -> HttpResponse:
    """workplan.file_jobs.FileResult（文件名、内容、内容类型）作为附件返回。"""
    return file_response(result.payload, filename=result.filename, content_type=result.content_type)


def dataset_response(data: tablib.Dataset | tablib.Databook, *, fmt: str, filename: str) -> HttpResponse:
    """把数据集作为附件返回；csv 带 BOM 以便 Excel 正确识别中文。"""
    payload = dataset_bytes(data, fmt=fmt)
    return file_response(payload, filename=f"{filename}.{fmt}", content_type=CONTENT_TYPES[fmt])
