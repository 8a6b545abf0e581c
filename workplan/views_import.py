"""导入计划页面（上传 → 预览 → 确认）。占位，正在实现。"""

from django.http import Http404, HttpRequest, HttpResponse


def import_list(request: HttpRequest) -> HttpResponse:
    raise Http404


def import_upload(request: HttpRequest) -> HttpResponse:
    raise Http404


def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404
