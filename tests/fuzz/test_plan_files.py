"""坏输入 · 导入（hypothesis）：任意字节、改乱了的樟树工作要点正文、部件被改乱或字节损坏的 docx/xlsx 交给
parse_plan_bytes —— 从不抛异常、不落入“内部错误”兜底、行号都在原文范围内；zip 包损坏的任务表回导整份拒收。"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from docx import Document
from hypothesis import event, example, given
from hypothesis import settings as budget
from hypothesis import strategies as st

from tests.conftest import SAMPLE_PLAN
from tests.fuzz.support import FAST, examples
from workplan import spreadsheet
from workplan.parsers import ParseResult, parse_plan_bytes

INTERNAL_ERROR = "内部错误"


def assert_sound(result: ParseResult, *, lines: int | None = None) -> None:
    assert isinstance(result, ParseResult)
    for issue in [*result.errors, *result.warnings]:
        assert isinstance(issue.message, str) and issue.message
        assert INTERNAL_ERROR not in issue.message, issue.message
        assert issue.line is None or issue.line >= 1
        if lines is not None and issue.line is not None:
            assert issue.line <= lines, (issue, lines)
    for task in result.tasks:
        assert isinstance(task.title, str)
        if lines is not None and task.line is not None:
            assert 1 <= task.line <= lines, (task, lines)
    json.dumps(result.as_json(include_headings=True), ensure_ascii=False)


SAMPLE_TEXT = SAMPLE_PLAN.read_text(encoding="utf-8")
SAMPLE_LINES = SAMPLE_TEXT.splitlines()
PUNCTUATION_SWAPS = [
    ("（", "("),
    ("）", ")"),
    ("、", "."),
    ("：", ":"),
    ("，", ","),
    ("。", "."),
    ("；", ";"),
]
OPS = (
    "delete",
    "duplicate",
    "insert",
    "truncate",
    "splice",
    "swap",
    "halfwidth",
    "table",
    "cut",
    "traditional",
)


@st.composite
def mangled_plan(draw: st.DrawFn) -> str:
    """樟树工作要点的正文，经随机删行、重复、插入乱码、截断、换标点、改成表格分隔、整体截断等改动。"""
    lines = list(SAMPLE_LINES)
    ops = draw(
        st.lists(
            st.tuples(st.sampled_from(OPS), st.integers(0, 10**6), st.text(max_size=30)),
            max_size=12,
        )
    )
    for op, pos, text in ops:
        if not lines:
            lines = [text]
            continue
        i = pos % len(lines)
        line = lines[i]
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "insert":
            lines.insert(i, text)
        elif op == "truncate":
            lines[i] = line[: pos % (len(line) + 1)]
        elif op == "splice":
            j = pos % (len(line) + 1)
            lines[i] = line[:j] + text + line[j:]
        elif op == "swap":
            j = (i + 1) % len(lines)
            lines[i], lines[j] = lines[j], line
        elif op == "halfwidth":
            for full, half in PUNCTUATION_SWAPS:
                line = line.replace(full, half)
            lines[i] = line
        elif op == "table":
            lines[i] = " | ".join(line.replace("（", "|").replace("）", "|").split("，"))
        elif op == "cut":
            lines = lines[: i + 1]
        elif op == "traditional":
            lines[i] = line.replace("综合股", "綜合股").replace("股室", "股室\u3000").replace("责任", "責任")
    sep = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return sep.join(lines)


PLAN_EXTENSIONS = [".txt", ".docx", ".xlsx", ".csv", ".pdf", ".doc", "", ".TXT", ".tar.gz"]


@FAST
@given(name=st.sampled_from(PLAN_EXTENSIONS).map(lambda ext: "plan" + ext), data=st.binary(max_size=4096))
@example(name="plan.txt", data=b"")
@example(name="plan.txt", data=b"\xef\xbb\xbf")
@example(name="plan.docx", data=b"PK\x03\x04" + b"\x00" * 100)
@example(name="plan.xlsx", data=b"PK\x05\x06" + b"\x00" * 18)
@example(name="plan.csv", data="一、\n（一）".encode("gb18030") * 500)
def test_parse_plan_bytes_never_raises_on_arbitrary_bytes(name, data):
    assert_sound(parse_plan_bytes(name, data))


@FAST
@given(text=mangled_plan(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
def test_a_mangled_plan_text_parses_without_raising_and_with_line_numbers_in_range(text, encoding):
    data = text.encode(encoding)
    lines = len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    result = parse_plan_bytes("plan.txt", data)
    assert_sound(result, lines=lines if encoding != "utf-16" else None)
    event(f"{result.layout or '—'}：{'有任务' if result.actionable else '无任务'}")


def _sample_docx() -> bytes:
    doc = Document()
    for line in SAMPLE_LINES[:12]:
        doc.add_paragraph(line)
    table = doc.add_table(rows=1, cols=4)
    for cell, text in zip(table.rows[0].cells, ("工作任务", "具体要求", "责任科室", "时限要求"), strict=True):
        cell.text = text
    for line in SAMPLE_LINES[12:20]:
        row = table.add_row().cells
        row[0].text, row[1].text, row[2].text, row[3].text = line[:10], line, "综合股", "年底前"
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _sample_xlsx() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号", "工作任务", "具体要求", "责任科室", "时限要求"])
    for n, line in enumerate(SAMPLE_LINES[:20], 1):
        ws.append([n, line[:12], line, "综合股、法规股", "6月底前"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


OFFICE_SAMPLES = {".docx": _sample_docx(), ".xlsx": _sample_xlsx()}


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(members: dict[str, bytes], *, stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@st.composite
def mangled_office_file(draw: st.DrawFn, original: bytes) -> bytes:
    """一个完好的 zip 包（校验和都对），其中的 XML 部件被改乱：翻转、截断、插入字节，删掉或多出部件。"""
    members = _members(original)
    for _ in range(draw(st.integers(1, 6))):
        name = draw(st.sampled_from(sorted(members)))
        content = bytearray(members[name])
        pos = draw(st.integers(0, max(len(content) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "drop", "replace_text", "add"]))
        if kind == "flip" and content:
            content[pos] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del content[pos:]
        elif kind == "insert":
            content[pos:pos] = draw(
                st.binary(min_size=1, max_size=32) | st.sampled_from([b"<", b"&", b"]]>", b"\x00"])
            )
        elif kind == "replace_text":
            content = bytearray(
                bytes(content).replace(b"<t>", b"<t>" + draw(st.text(max_size=20)).encode(), 1)
            )
        elif kind == "drop" and len(members) > 1:
            del members[name]
            continue
        elif kind == "add":
            members[f"xl/worksheets/sheet{draw(st.integers(2, 9))}.xml"] = draw(st.binary(max_size=64))
        members[name] = bytes(content)
    return _rezip(members)


def test_the_office_samples_parse_into_tasks():
    for ext, data in OFFICE_SAMPLES.items():
        result = parse_plan_bytes("plan" + ext, data)
        assert result.actionable, (ext, result.errors)


@budget(FAST, max_examples=examples(40))
@given(data=st.data(), ext=st.sampled_from(sorted(OFFICE_SAMPLES)))
def test_a_docx_or_xlsx_with_mangled_parts_parses_without_raising(data, ext):
    result = parse_plan_bytes("plan" + ext, data.draw(mangled_office_file(OFFICE_SAMPLES[ext])))
    assert_sound(result)
    event(f"{ext}：{'有任务' if result.actionable else '拒收或无任务'}")


def crc_broken(ext: str) -> bytes:
    """zip 目录完好、某个部件的内容与其 CRC 不符（传输中损坏的文件常见）。"""
    data = _rezip(_members(OFFICE_SAMPLES[ext]), stored=True)
    body = data.index(b"<sheetData>" if ext == ".xlsx" else b"<w:body>")
    return data[: body + 1] + b"S" + data[body + 2 :]


def _central_directory(data: bytes, change: Callable[[bytearray, int], None]) -> bytes:
    """对 zip 中央目录的每一项调用 change(数据, 该项起点)。"""
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02")
    while pos != -1:
        change(out, pos)
        pos = out.find(b"PK\x01\x02", pos + 46)
    return bytes(out)


def needs_newer_zip(ext: str) -> bytes:
    """中央目录写着“解压需要 zip 9.9 版”：zipfile 打开时抛 NotImplementedError。"""

    def change(out: bytearray, pos: int) -> None:
        out[pos + 6 : pos + 8] = (99).to_bytes(2, "little")

    return _central_directory(OFFICE_SAMPLES[ext], change)


def marked_encrypted(ext: str) -> bytes:
    """中央目录的标志位写着“已加密”：读部件时 zipfile 抛 RuntimeError（要密码）。"""

    def change(out: bytearray, pos: int) -> None:
        out[pos + 8] |= 0x01

    return _central_directory(OFFICE_SAMPLES[ext], change)


DAMAGED = {"crc": crc_broken, "zip-version": needs_newer_zip, "encrypted": marked_encrypted}


@pytest.mark.parametrize("ext", sorted(OFFICE_SAMPLES))
@pytest.mark.parametrize("damage", sorted(DAMAGED))
def test_a_damaged_zip_container_is_refused_with_a_message_not_an_internal_error(damage, ext):
    assert_sound(parse_plan_bytes("plan" + ext, DAMAGED[damage](ext)))


@pytest.mark.parametrize("damage", sorted(DAMAGED))
def test_reimporting_a_damaged_xlsx_is_refused_with_a_message(sheet_plan, damage):
    with pytest.raises(spreadsheet.SheetFileError):
        spreadsheet.build_diff(
            plan=sheet_plan, filename="任务表.xlsx", data=DAMAGED[damage](".xlsx"), max_bytes=10**7
        )


def test_reimporting_a_byte_corrupted_xlsx_is_not_a_500(as_office, plan):
    upload = SimpleUploadedFile("任务表.xlsx", crc_broken(".xlsx"))
    response = as_office.post(reverse("plan_reimport", kwargs={"pk": plan.pk}), {"file": upload})
    assert response.status_code == 200


@st.composite
def corrupted(draw: st.DrawFn, original: bytes) -> bytes:
    """字节级损坏：翻转、截断、插入、清零若干处（zip 目录、压缩数据、校验和都可能坏）。"""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "zero"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "zero":
            data[pos : pos + 512] = b"\x00" * len(data[pos : pos + 512])
    return bytes(data)


@budget(FAST, max_examples=examples(60))
@given(data=st.data(), ext=st.sampled_from(sorted(OFFICE_SAMPLES)))
def test_a_byte_corrupted_docx_or_xlsx_is_refused_with_a_message_not_an_internal_error(data, ext):
    assert_sound(parse_plan_bytes("plan" + ext, data.draw(corrupted(OFFICE_SAMPLES[ext]))))
