"""受保护文件的下载：先做权限检查，再以附件形式发送（上传目录不对外公开）。"""

from __future__ import annotations

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404


def private_file_response(field: FieldFile, *, filename: str = "", content_type: str = "") -> FileResponse:
    """把已通过权限检查的文件作为附件返回；文件丢失时 404。"""
    if not field:
        raise Http404("没有可下载的文件")
    try:
        handle = field.open("rb")
    except FileNotFoundError as exc:
        raise Http404("文件已不存在") from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=filename or (field.name or "").rsplit("/", 1)[-1],
        content_type=content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
