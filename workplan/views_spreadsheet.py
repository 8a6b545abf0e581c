"""任务表格导出与回导页面。占位，正在实现。"""

from django.http import Http404, HttpRequest, HttpResponse


def plan_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    raise Http404


def plan_reimport(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


def plan_reimport_confirm(request: HttpRequest, pk: int, batch_pk: int) -> HttpResponse:
    raise Http404
