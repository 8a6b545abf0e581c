"""报告与公文（季度报告、通报批评）：按 GB/T 9704-2012 党政机关公文格式生成 Word（docx）与 Excel（xlsx）。

gongwen 是共用的公文版式（不依赖数据库）；quarterly 取季度政务公开工作情况的数据，quarterly_doc 成文；
notice_doc 生成通报，其他页面可调用 notice_docx_response(notice, user=…, request=…) 返回通报的 docx 下载。
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "notice_docx_response": "scoring.reports.notice_doc",
    "build_notice_docx": "scoring.reports.notice_doc",
    "build_quarterly_docx": "scoring.reports.quarterly_doc",
    "build_quarterly_xlsx": "scoring.reports.quarterly_doc",
    "collect_quarterly": "scoring.reports.quarterly",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    # Imported lazily so that the layout module (gongwen) can be used without Django's models loaded.
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
