"""坏输入 · 上传检查（hypothesis）：带允许扩展名的随机字节，只有真是那种格式（魔数、Office 包内目录）
才通过。"""

from __future__ import annotations

import io
import zipfile

from hypothesis import given
from hypothesis import settings as budget
from hypothesis import strategies as st

from tests.fuzz.support import FAST, MAGIC, examples
from tests.workplan.test_uploads import make_docx, make_jpeg, make_pdf, make_png, make_xlsx
from workplan import uploads

EVIDENCE_EXTENSIONS = sorted(uploads.CONTENT_TYPES)


def really_is(ext: str, data: bytes) -> bool:
    """独立的判定：这串字节是不是该扩展名所说的格式。"""
    if ext == "pdf":
        return data[:5] == b"%PDF-"
    if ext == "png":
        return data[:8] == b"\x89PNG\r\n\x1a\n"
    if ext in ("jpg", "jpeg"):
        return data[:3] == b"\xff\xd8\xff"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except Exception:  # noqa: BLE001 - anything unreadable is not an Office file
        return False
    folder = {"docx": "word/", "xlsx": "xl/"}[ext]
    return (
        data[:4] == b"PK\x03\x04"
        and "[Content_Types].xml" in names
        and any(n.startswith(folder) for n in names)
    )


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, b"<x/>")
    return buffer.getvalue()


CONTENT = st.one_of(
    st.binary(max_size=256),
    st.tuples(st.sampled_from(MAGIC), st.binary(max_size=64)).map(lambda t: t[0] + t[1]),
    st.lists(
        st.sampled_from(
            ["[Content_Types].xml", "word/document.xml", "xl/workbook.xml", "ppt/x.xml", "a.txt"]
        ),
        unique=True,
        max_size=4,
    ).map(_zip),
    st.sampled_from([make_pdf(), make_png(), make_jpeg(), make_docx(), make_xlsx()]),
)


@budget(FAST, max_examples=examples(200))
@given(ext=st.sampled_from(EVIDENCE_EXTENSIONS), data=CONTENT)
def test_random_bytes_with_an_allowed_extension_pass_only_if_they_really_are_that_format(ext, data):
    stream = io.BytesIO(data)
    error = uploads.check_content(ext, stream)
    assert (error is None) == really_is(ext, data), (ext, data[:16], error)
    assert stream.tell() == 0
    if data:
        full = uploads.check_evidence_file(
            name=f"佐证.{ext.upper()}", size=len(data), stream=stream, max_mb=20
        )
        assert (full is None) == really_is(ext, data)


@FAST
@given(
    sample=st.sampled_from([("pdf", make_pdf()), ("png", make_png()), ("jpg", make_jpeg())]),
    pos=st.integers(0, 2),
    byte=st.integers(0, 255),
    tail=st.binary(max_size=64),
)
def test_a_damaged_signature_is_rejected_and_trailing_bytes_do_not_matter(sample, pos, byte, tail):
    ext, data = sample
    assert uploads.check_content(ext, io.BytesIO(data + tail)) is None
    damaged = data[:pos] + bytes([byte]) + data[pos + 1 :]
    assert (uploads.check_content(ext, io.BytesIO(damaged)) is None) == (damaged[pos] == data[pos])
