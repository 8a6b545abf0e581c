"""佐证材料上传检查（workplan/uploads.py）：纯函数，不用数据库。文件都是在测试里现做的真文件。"""

from __future__ import annotations

import datetime
import hashlib
import io
import struct
import zipfile
import zlib

import docx
import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from workplan import uploads

TODAY = datetime.date(2024, 5, 20)


def make_pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def make_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00")
    return uploads.PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def make_jpeg() -> bytes:
    # SOI + APP0 (JFIF) + EOI: enough for the signature check.
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def make_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("2024年第一季度政务公开工作情况")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(["任务", "进展"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def make_plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not an office file")
    return buffer.getvalue()


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def check(name: str, content: bytes, *, max_mb: int = 20) -> str | None:
    return uploads.check_evidence_file(
        name=name, size=len(content), stream=io.BytesIO(content), max_mb=max_mb
    )


@pytest.mark.parametrize(
    ("name", "maker"),
    [
        ("通报.pdf", make_pdf),
        ("截图.png", make_png),
        ("照片.jpg", make_jpeg),
        ("照片.JPEG", make_jpeg),
        ("工作总结.docx", make_docx),
        ("台账.xlsx", make_xlsx),
    ],
)
def test_each_allowed_type_with_real_content_is_accepted(name, maker):
    assert check(name, maker()) is None


def test_an_exe_renamed_to_pdf_is_rejected():
    error = check("报告.pdf", EXE)
    assert error is not None and "不符" in error


@pytest.mark.parametrize(
    ("name", "maker"),
    [
        ("报告.docx", make_xlsx),  # a workbook is not a Word document
        ("台账.xlsx", make_docx),
        ("台账.xlsx", make_plain_zip),
        ("截图.png", make_jpeg),
        ("照片.jpg", make_pdf),
    ],
)
def test_content_that_does_not_match_the_extension_is_rejected(name, maker):
    assert "不符" in (check(name, maker()) or "")


@pytest.mark.parametrize("name", ["setup.exe", "宏.docm", "脚本.js", "无扩展名", "报告.pdf.exe", "页面.html"])
def test_other_extensions_are_rejected_before_reading_the_content(name):
    error = check(name, make_pdf())
    assert error is not None and "不支持" in error


def test_oversize_file_is_rejected_with_the_limit_in_the_message():
    content = make_pdf() + b"0" * (1024 * 1024)
    error = check("大文件.pdf", content, max_mb=1)
    assert error is not None and "超过上限 1 MB" in error
    assert check("大文件.pdf", content, max_mb=2) is None


def test_empty_file_is_rejected():
    assert check("空.pdf", b"") == "文件是空的"


def test_truncated_zip_with_docx_extension_is_rejected():
    assert "不符" in (check("坏.docx", make_docx()[:200]) or "")


def test_content_check_leaves_the_stream_at_the_start():
    stream = io.BytesIO(make_docx())
    assert uploads.check_content("docx", stream) is None
    assert stream.tell() == 0


@pytest.mark.parametrize(
    ("name", "ext"),
    [
        ("a.PDF", "pdf"),
        ("C:\\Users\\x\\报告.Docx", "docx"),
        ("noext", ""),
        ("dir.v2/file", ""),
        ("a.tar.gz", "gz"),
    ],
)
def test_extension_is_lowercase_and_ignores_directories(name, ext):
    assert uploads.extension_of(name) == ext


def test_describe_upload_records_name_type_size_and_sha256_read_in_chunks():
    content = make_pdf() + b"%" * 200_000  # several 64 KB chunks
    uploaded = SimpleUploadedFile("C:\\Users\\x\\通报.PDF", content, "text/plain")
    uploaded.read(10)

    info = uploads.describe_upload(uploaded)

    assert info.name == "通报.PDF"
    assert info.extension == "pdf"
    assert info.content_type == "application/pdf"  # from the extension, not what the browser said
    assert info.size == len(content)
    assert info.sha256 == hashlib.sha256(content).hexdigest()
    assert uploaded.tell() == 0


@pytest.mark.parametrize(
    "url", ["http://www.zhangshu.gov.cn/art/2024/5/1/1.html", "https://tjj.example.gov.cn/xxgk/?id=3"]
)
def test_http_and_https_links_with_a_past_date_are_accepted(url):
    assert uploads.check_link(url, datetime.date(2024, 5, 1), today=TODAY) is None


def test_a_link_published_today_is_accepted():
    assert uploads.check_link("https://example.gov.cn/a", TODAY, today=TODAY) is None


@pytest.mark.parametrize(
    "url",
    ["ftp://example.gov.cn/file.pdf", "javascript:alert(1)", "file:///etc/passwd", "www.example.gov.cn"],
)
def test_links_that_are_not_http_or_https_are_rejected(url):
    error = uploads.check_link(url, datetime.date(2024, 5, 1), today=TODAY)
    assert error is not None and "http" in error


def test_a_malformed_http_link_is_rejected():
    assert uploads.check_link("http://", datetime.date(2024, 5, 1), today=TODAY) == "链接网址格式不正确"


def test_a_link_with_a_future_publication_date_is_rejected():
    error = uploads.check_link("https://example.gov.cn/a", TODAY + datetime.timedelta(days=1), today=TODAY)
    assert error is not None and "晚于今天" in error


def test_a_link_without_a_publication_date_is_rejected():
    assert uploads.check_link("https://example.gov.cn/a", None, today=TODAY) == "请填写该信息的发布日期"


class _Storage:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete(self, name: str) -> None:
        self.deleted.append(name)


def test_a_stored_file_is_deleted_when_the_write_fails_and_kept_when_it_succeeds():
    storage = _Storage()
    with uploads.kept_only_if_saved(storage, "evidence/a.pdf"):  # type: ignore[arg-type]
        pass
    assert storage.deleted == []
    with pytest.raises(RuntimeError), uploads.kept_only_if_saved(storage, "evidence/b.pdf"):  # type: ignore[arg-type]
        raise RuntimeError("写库失败")
    assert storage.deleted == ["evidence/b.pdf"]
    with pytest.raises(RuntimeError), uploads.kept_only_if_saved(storage, ""):  # type: ignore[arg-type]
        raise RuntimeError("没有上传文件")
    assert storage.deleted == ["evidence/b.pdf"]
