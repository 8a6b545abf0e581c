"""静态文件查找器：把已安装的 plotly 包自带的 plotly.min.js 作为 vendor/plotly.min.js 提供（季度看板用）。

这个 4.8 MB 的文件不进 git：开发时 runserver 经本查找器直接读取 wheel 里的文件，部署时 collectstatic 把它
复制到 STATIC_ROOT。内网没有互联网，绝不使用 CDN。只暴露这一个文件，plotly 包里的其他文件不对外。
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import CheckMessage, Error
from django.core.files.storage import FileSystemStorage

PLOTLY_STATIC_PATH = "vendor/plotly.min.js"


def plotly_js_path() -> Path:
    """已安装的 plotly 包里完整版 plotly.js 的路径（不检查是否存在）。"""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


class _SingleFileStorage(FileSystemStorage):
    """只含一个文件的存储：collectstatic 以静态路径 vendor/plotly.min.js 打开它。"""

    def __init__(self, source: Path, static_path: str) -> None:
        super().__init__(location=str(source.parent))
        self._source = source
        self._static_path = static_path

    def path(self, name: str) -> str:
        if name.replace("\\", "/") != self._static_path:
            raise FileNotFoundError(name)
        return str(self._source)


class PlotlyFinder(BaseFinder):
    """STATICFILES_FINDERS 中的一项：vendor/plotly.min.js → plotly/package_data/plotly.min.js。"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source = plotly_js_path()

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        if self.source.is_file():
            return []
        return [
            Error(
                f"找不到 plotly.js：{self.source}",
                hint="请安装 requirements 中的 plotly（pip install plotly），季度看板需要它。",
                id="config.E001",
            )
        ]

    # Django 5.2 still accepts the deprecated ``all`` keyword; BaseFinder validates it.
    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:
        if kwargs:
            find_all = self._check_deprecated_find_param(find_all=find_all, **kwargs)
        if path.replace("\\", "/") == PLOTLY_STATIC_PATH and self.source.is_file():
            return [str(self.source)] if find_all else str(self.source)
        return []

    def list(self, ignore_patterns: list[str] | None) -> Iterator[tuple[str, FileSystemStorage]]:
        if self.source.is_file():
            yield PLOTLY_STATIC_PATH, _SingleFileStorage(self.source, PLOTLY_STATIC_PATH)
