"""佐证材料的上传检查（纯函数）：文件类型（扩展名与文件内容的“魔数”都要对）、大小上限、链接与发布日期；
检查通过后保存时记下的元数据（原文件名、文件类型、大小、sha256 指纹）。

每个检查返回中文错误信息，通过时返回 None；不访问数据库。
"""

from __future__ import annotations

import datetime
import hashlib
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator

# 允许的扩展名 → 保存时记录的文件类型。只认这几种：政务公开的佐证材料是公文、表格、截图。
CONTENT_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
}
ALLOWED_LABEL = "pdf、docx、xlsx、jpg、png"

PDF_MAGIC = b"%PDF-"
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
# docx / xlsx 都是 zip 包，以包内的目录区分：Word 文档在 word/ 下，Excel 工作簿在 xl/ 下。
OOXML_PART = {"docx": "word/", "xlsx": "xl/"}
# 压缩包里列目录就够了；目录项过多的包不是正常的 Office 文件（防止拿超大目录拖慢服务器）。
MAX_ZIP_ENTRIES = 10_000


def extension_of(name: str) -> str:
    """文件名的扩展名（小写、不带点）；没有扩展名时为空串。"""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base:
        return ""
    return base.rsplit(".", 1)[1].strip().lower()


def check_extension(name: str) -> str | None:
    """扩展名必须是 pdf、docx、xlsx、jpg/jpeg、png 之一。"""
    ext = extension_of(name)
    if ext not in CONTENT_TYPES:
        shown = f"“.{ext}”" if ext else "无扩展名的"
        return f"不支持{shown}文件，佐证材料只能是 {ALLOWED_LABEL} 文件"
    return None


def check_size(size: int, *, max_mb: int) -> str | None:
    """文件不能为空，也不能超过办公室设置的上限（MB）。"""
    if size <= 0:
        return "文件是空的"
    if size > max_mb * 1024 * 1024:
        return f"文件大小 {size / 1024 / 1024:.1f} MB，超过上限 {max_mb} MB"
    return None


def _zip_has_part(stream: BinaryIO, prefix: str) -> bool:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False
    if len(names) > MAX_ZIP_ENTRIES:
        return False
    return "[Content_Types].xml" in names and any(n.startswith(prefix) for n in names)


def check_content(ext: str, stream: BinaryIO) -> str | None:
    """文件内容必须与扩展名相符（不看浏览器报的类型，只看文件开头的字节）：

    pdf 以 %PDF- 开头；jpg/jpeg 以 FF D8 FF 开头；png 以 8 字节 PNG 签名开头；
    docx / xlsx 是 zip 包（PK 开头），且包内分别有 word/ 或 xl/ 目录。
    """
    stream.seek(0)
    head = stream.read(16)
    stream.seek(0)
    ok: bool
    if ext == "pdf":
        ok = head.startswith(PDF_MAGIC)
    elif ext in ("jpg", "jpeg"):
        ok = head.startswith(JPEG_MAGIC)
    elif ext == "png":
        ok = head.startswith(PNG_MAGIC)
    elif ext in OOXML_PART:
        ok = head.startswith(ZIP_MAGIC) and _zip_has_part(stream, OOXML_PART[ext])
        stream.seek(0)
    else:
        ok = False
    if not ok:
        return (
            f"文件内容与扩展名“.{ext}”不符（可能是改了扩展名的其他文件），请上传真实的 {ALLOWED_LABEL} 文件"
        )
    return None


def check_evidence_file(*, name: str, size: int, stream: BinaryIO, max_mb: int) -> str | None:
    """佐证文件的全部检查，按顺序：扩展名 → 大小 → 内容。返回第一条错误。"""
    return (
        check_extension(name) or check_size(size, max_mb=max_mb) or check_content(extension_of(name), stream)
    )


def upload_name(uploaded_file: UploadedFile) -> str:
    """上传者给的文件名，去掉路径（有的浏览器会带上 C:\\...\\ 这样的本机路径）。"""
    return (uploaded_file.name or "").replace("\\", "/").rsplit("/", 1)[-1]


@contextmanager
def kept_only_if_saved(storage: Storage, name: str) -> Iterator[None]:
    """刚写入存储的文件只在代码块顺利完成时保留：块内出任何错（写库失败、版本冲突）就删掉它，不留孤儿文件，
    再把错误原样抛出。name 为空（没有上传文件）时什么也不做。"""
    try:
        yield
    except BaseException:
        if name:
            storage.delete(name)
        raise


def check_upload(uploaded_file: UploadedFile, *, max_mb: int) -> tuple[str, str | None]:
    """上传文件的原文件名（去掉路径）与 check_evidence_file 的结果（None 为通过）。"""
    name = upload_name(uploaded_file)
    stream: BinaryIO = uploaded_file  # type: ignore[assignment]
    return name, check_evidence_file(name=name, size=uploaded_file.size or 0, stream=stream, max_mb=max_mb)


@dataclass(frozen=True)
class UploadInfo:
    """保存上传文件时记下的元数据。"""

    name: str
    extension: str
    content_type: str
    size: int
    sha256: str


def describe_upload(uploaded_file: UploadedFile) -> UploadInfo:
    """上传文件的元数据：原文件名（去掉路径，最多 255 个字符）、扩展名（取自完整的文件名）、按扩展名定的
    文件类型（不信浏览器报的类型）、大小、sha256 指纹（分块读，读完回到文件开头）。
    先经 check_evidence_file 检查通过再调用。"""
    name = upload_name(uploaded_file)
    ext = extension_of(name)
    digest = hashlib.sha256()
    uploaded_file.seek(0)
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    return UploadInfo(
        name=name[:255],
        extension=ext,
        content_type=CONTENT_TYPES.get(ext, ""),
        size=uploaded_file.size or 0,
        sha256=digest.hexdigest(),
    )


MAX_URL_LENGTH = 1000  # Evidence.url 的长度
_url_validator = URLValidator(schemes=["http", "https"])


def check_link(url: str, published_on: datetime.date | None, *, today: datetime.date) -> str | None:
    """佐证链接：只接受 http/https 网址；发布日期必填，且不能晚于今天。"""
    url = url.strip()
    if not url:
        return "请填写链接网址"
    if not url.lower().startswith(("http://", "https://")):
        return "链接只能是 http:// 或 https:// 开头的网址"
    if len(url) > MAX_URL_LENGTH:
        return f"链接过长（超过 {MAX_URL_LENGTH} 个字符）"
    try:
        _url_validator(url)
    except ValidationError:
        return "链接网址格式不正确"
    if published_on is None:
        return "请填写该信息的发布日期"
    if published_on > today:
        return f"发布日期 {published_on:%Y-%m-%d} 晚于今天，请核对"
    return None
