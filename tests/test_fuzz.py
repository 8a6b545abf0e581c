"""坏输入（hypothesis 模糊测试，规模有界：整个文件约 20 秒；FUZZ_SCALE=N 时例子数乘以 N）：

- 导入：任意字节、改乱了的樟树工作要点正文、部件被改乱或字节损坏的 docx/xlsx 交给 parse_plan_bytes ——
  从不抛异常、不落入“内部错误”兜底、行号都在原文范围内；任务表回导（build_diff）读任意 csv/xlsx ——
  要么整份拒收（中文说明），要么每条错误都写明行号和原表头，且不写数据库；评分细则文件、事实文件的加载器
  从不抛异常；
- 每个表单：workplan/urls.py 与 scoring/urls.py 中接受 POST 的每个地址，由有权限的角色提交随机文字、unicode、
  超长字符串、错误类型、重复键、随机上传文件 —— 从不 500；被拒绝的提交（4xx、带错误重显的页面、错误提示）
  不写任何一张表（失败的审计记录除外），也不在上传目录留下文件；
- 用户文字：列表页中转义，季度看板的 plotly 标签中转义，导出 xlsx/csv 时以 = + - @ 开头的单元格被中和；
- 上传检查：带允许扩展名的随机字节，只有真是那种格式（魔数、Office 包内目录）才通过。

模糊测试找到而尚未修好的 500 用 strict xfail 测试钉住（原因里写明出错的文件与修法），修好后它会 XPASS 而失败，
届时删去 xfail 标记即可；随机提交中避开了这种输入，以免掩盖新的问题。
"""

from __future__ import annotations

import csv
import datetime
import html
import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import openpyxl
import pytest
import time_machine
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.messages import constants as levels
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.forms import BaseForm
from django.urls import URLPattern, reverse
from django.utils.html import escape
from docx import Document
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as budget
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from scoring.closing import appeal_submit, quarter_close
from scoring.factsfile import load_facts_text
from scoring.models import SnapshotLedgerLine
from scoring.rulefile import load_ruleset_text
from scoring.services import manual_fact_set, scores_compute
from scoring.urls import urlpatterns as scoring_urlpatterns
from tests.conftest import SAMPLE_PLAN, login
from tests.factories import make_evidence, make_report, make_section, make_task
from tests.scoring.test_dashboard import make_run
from tests.scoring.test_dashboard_page import chart_strings
from tests.scoring.test_facts import SECTION_RULES, published_ruleset
from tests.workplan.test_notices import answer, draft
from tests.workplan.test_notices import issue as notice_issue
from tests.workplan.test_uploads import make_docx, make_jpeg, make_pdf, make_png, make_xlsx
from workplan import applications, notices, publication, spreadsheet, uploads
from workplan.exporting import FORMULA_PREFIXES
from workplan.importing import plan_import_preview
from workplan.models import (
    CONFIDENTIALITY_ITEMS,
    AuditEntry,
    Notification,
    OfficeSettings,
    PublicationColumn,
    PublicationLevel,
    RectificationItem,
    ReportStatus,
)
from workplan.notices import UnitEntry
from workplan.parsers import ParseResult, parse_plan_bytes
from workplan.reporting import evidence_add_file, report_submit
from workplan.urls import urlpatterns as workplan_urlpatterns

# Bounded: examples per test are small and there is no per-example deadline (the first request of a test
# warms template and URL caches). Function-scoped fixtures are shared by the examples on purpose: every
# example that touches the database runs in a savepoint that is rolled back (see `rolled_back`).
# FUZZ_SCALE=20 runs twenty times as many examples (a longer local or nightly run).
SCALE = max(1, int(os.environ.get("FUZZ_SCALE", "1")))


def examples(n: int) -> int:
    return n * SCALE


FAST = budget(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = budget(
    max_examples=examples(10),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
DB = budget(SLOW, max_examples=examples(25))

INTERNAL_ERROR = "内部错误"
NASTY = [
    "",
    " ",
    "\x00",
    "0",
    "-1",
    "1",
    "2",
    "1e309",
    "NaN",
    "99999999999999999999999999",
    "-0",
    "０１２",
    "2023-02-30",
    "2023-13-01",
    "0000-00-00",
    "9999-12-31",
    "1900-01-01",
    "2023-01-01",
    "2023-06-30",
    "<script>alert(1)</script>",
    "<b>粗</b>",
    "'; DROP TABLE workplan_task; --",
    '=HYPERLINK("http://x")',
    "javascript:alert(1)",
    "https://www.example.gov.cn/art/1.html",
    "//evil.example/x",
    "../../etc/passwd",
    "綜合股",
    "各相关股室",
    "\u202e\u200b\u3000",
    "𠀀𪚥😀",
    "on",
    "true",
    "false",
]
PLAUSIBLE = [
    "Q1",
    "Q2",
    "Q4",
    "年终",
    "2023",
    "2024",
    "3",
    "4",
    "accept",
    "return",
    "pass",
    "close",
    "reject",
    "create",
    "map",
    "ignore",
    "first",
    "second",
    "final",
    "done",
    "in_progress",
    "not_started",
    "cannot_complete",
    "file",
    "link",
    "xlsx",
    "docx",
    "statistics",
    "bureau",
    "county",
    "review",
    "pending",
    "upheld",
    "granted",
    "in_person",
    "post",
    "natural_person",
    "send",
    "start",
    "end",
    "quality_assessment",
    "commendations",
    "no_state_secret",
]
HUGE = "長" * 70_000


# ---------------------------------------------------------------- helpers


def row_counts() -> dict[str, int]:
    """每张表的行数（一条查询）；审计日志只数“成功”的（被拒绝的操作可以记一条失败的审计）。"""
    quote = connection.ops.quote_name
    models = [m for m in apps.get_models(include_auto_created=True) if m._meta.managed and not m._meta.proxy]
    parts = []
    for model in models:
        where = ""
        if model is AuditEntry:
            where = f" WHERE {quote('outcome')} = '{AuditEntry.Outcome.SUCCESS.value}'"
        parts.append(f"(SELECT COUNT(*) FROM {quote(model._meta.db_table)}{where})")
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        values = cursor.fetchone()
    return {m._meta.label_lower: n for m, n in zip(models, values, strict=True)}


def media_files() -> set[str]:
    root = Path(django_settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


class _Rollback(Exception):
    pass


def rolled_back(fn: Callable[[], Any]) -> Any:
    """在一个保存点里运行 fn，然后回滚：每个例子都从同一份数据开始。"""
    result = None
    try:
        with transaction.atomic():
            result = fn()
            raise _Rollback
    except _Rollback:
        pass
    return result


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


# ---------------------------------------------------------------- plan parsers (pure)

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


# ---------------------------------------------------------------- rule and facts files (pure)

RULE_LINES = SECTION_RULES.read_text(encoding="utf-8").splitlines()
YAML_SCALARS = st.one_of(
    st.sampled_from(
        [
            "",
            "~",
            "null",
            "-1",
            "0.00001",
            "1e400",
            ".nan",
            "yes",
            "[",
            "{a: 1}",
            "&a x",
            "*a",
            "!!python/object:os.system",
        ]
    ),
    st.integers(-(10**30), 10**30).map(str),
    st.text(max_size=20),
)
BILLION_LAUGHS = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]"
        for i in range(8)
    ]
    + ["code: *i"]
)


@st.composite
def mangled_rules(draw: st.DrawFn) -> str:
    lines = list(RULE_LINES)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "value", "indent", "duplicate", "key"]))
        line = lines[i]
        if op == "delete":
            del lines[i]
        elif op == "value" and ":" in line:
            lines[i] = line.split(":", 1)[0] + ": " + draw(YAML_SCALARS)
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 9)) + line.lstrip()
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "key" and ":" in line:
            indent = line[: len(line) - len(line.lstrip())]
            lines[i] = indent + draw(st.text(min_size=1, max_size=8)) + ":" + line.split(":", 1)[1]
        if not lines:
            lines = [""]
    return "\n".join(lines)


def _assert_rules_result(result: tuple[Any, list[Any]]) -> None:
    ruleset, errors = result
    assert ruleset is not None or errors
    for error in errors:
        assert str(error) and isinstance(error.line, int) and error.line >= 0


@FAST
@given(text=st.text(max_size=2000))
@example(text=BILLION_LAUGHS)
@example(text="[" * 1000)  # PyYAML slows down sharply with nesting: 2000 levels take seconds
@example(text="code: !!python/object/apply:os.system ['true']")
@example(text="\x00\ufeff---\n...")
def test_the_rule_file_loader_never_raises_on_arbitrary_text(text):
    _assert_rules_result(load_ruleset_text(text))


@budget(FAST, max_examples=examples(40))
@given(text=mangled_rules())
def test_a_mangled_rule_file_is_rejected_with_line_numbers_or_loads(text):
    _assert_rules_result(load_ruleset_text(text))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
FACT_NAMES = ["tasks_overdue", "items_published", "quality_assessment", "commendations", "column_stale", "x"]


@st.composite
def facts_documents(draw: st.DrawFn) -> str:
    unit = st.fixed_dictionaries(
        {
            "unit": JSON_VALUES | st.text(max_size=6),
            "facts": st.dictionaries(st.sampled_from(FACT_NAMES), JSON_VALUES),
        },
        optional={"period": JSON_VALUES, "extra": JSON_VALUES},
    )
    doc = draw(
        st.fixed_dictionaries(
            {"units": st.lists(unit, max_size=4) | JSON_VALUES},
            optional={"period": st.sampled_from(["Q1", "2023Q1", ""]) | JSON_VALUES, "zz": JSON_VALUES},
        )
        | JSON_VALUES
    )
    return json.dumps(doc, ensure_ascii=draw(st.booleans()))


@FAST
@given(text=st.text(max_size=1000) | facts_documents())
@example(text="[" * 100_000)
@example(text='{"period": "Q1", "units": [{"unit": "a", "facts": {"items_published": NaN}}]}')
@example(text='{"period": "Q1", "units": [{"unit": "a", "facts": {"items_published": 1e999999}}]}')
def test_the_facts_file_loader_never_raises(text):
    units, errors = load_facts_text(text)
    assert isinstance(units, list)
    for error in errors:
        assert str(error)


# ---------------------------------------------------------------- upload content checks (pure)

EVIDENCE_EXTENSIONS = sorted(uploads.CONTENT_TYPES)
MAGIC = [uploads.PDF_MAGIC, uploads.PNG_MAGIC, uploads.JPEG_MAGIC, uploads.ZIP_MAGIC]


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


# ---------------------------------------------------------------- spreadsheet re-import (reads only)

HEADER_CHOICES = [(c.header, *c.aliases) for c in spreadsheet.COLUMNS]
CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        NASTY + ["T0001", "T0001", "综合股、法规股", "各股室", "每季度", "2023年6月30日", "20231301", "'=1+1"]
    ),
    st.just("标" * 300),
)


@st.composite
def task_sheets(draw: st.DrawFn) -> list[list[str]]:
    """导出格式的任务表：必有「任务编号」「标题」（或其别名），其余列随机取舍、顺序打乱，单元格随机。"""
    required = [draw(st.sampled_from(choice)) for choice in HEADER_CHOICES[:1] + HEADER_CHOICES[2:3]]
    optional = [draw(st.sampled_from(choice)) for choice in HEADER_CHOICES[1:2] + HEADER_CHOICES[3:]]
    headers = draw(st.permutations(required + draw(st.lists(st.sampled_from(optional), unique=True))))
    if draw(st.integers(0, 3)) == 0:
        headers.append(draw(st.text(max_size=6)))
    rows = draw(st.lists(st.lists(CELLS, min_size=1, max_size=len(headers) + 1), min_size=1, max_size=12))
    title_rows = st.lists(st.text(alphabet="某局任务表 2023", max_size=8), max_size=2)
    preamble = draw(st.lists(title_rows, max_size=2))
    return [*preamble, headers, *rows]


def _csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def _xlsx_bytes(rows: list[list[str]]) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append([ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def sheet_plan(plan, sections):
    make_task(plan, title="深化统计数据公开", code="T0001", leads=[sections["lead"]])
    make_task(plan, title="章节", code="H1", is_heading=True)
    return plan


def _check_diff(plan, filename: str, data: bytes) -> None:
    before = row_counts()
    try:
        diff, _snapshot = spreadsheet.build_diff(plan=plan, filename=filename, data=data, max_bytes=2_000_000)
    except spreadsheet.SheetFileError as exc:
        assert str(exc)
        event("整份拒收")
    else:
        event("有行级错误" if diff.errors else "无错误")
        headers = set(diff.headers.values())
        for error in diff.errors:
            assert isinstance(error["line"], int) and error["line"] >= 1, error
            assert error["column"] in headers, error
            assert error["text"].startswith(f"第{error['line']}行「{error['column']}」："), error
        json.dumps(diff.as_json(), ensure_ascii=False)
    assert row_counts() == before


@DB
@given(data=st.binary(max_size=2048), ext=st.sampled_from(["csv", "xlsx", "xls", "txt"]))
@example(data=b"\xef\xbb\xbf", ext="csv")
@example(data="任务编号,标题\n".encode() * 3000, ext="csv")
def test_reimport_of_random_bytes_never_raises_and_writes_nothing(sheet_plan, data, ext):
    _check_diff(sheet_plan, f"任务表.{ext}", data)


@DB
@given(rows=task_sheets(), fmt=st.sampled_from(["utf-8-sig", "gb18030", "xlsx"]))
def test_a_mangled_task_sheet_names_the_row_and_column_of_every_error_and_writes_nothing(
    sheet_plan, rows, fmt
):
    data = _xlsx_bytes(rows) if fmt == "xlsx" else _csv_bytes(rows, fmt)
    _check_diff(sheet_plan, f"任务表.{'xlsx' if fmt == 'xlsx' else 'csv'}", data)


# ---------------------------------------------------------------- every form


def _pk(obj: Any) -> str:
    return str(obj.pk)


MINI_PLAN = (
    "2024年某局政务公开工作要点\n一、加强信息公开\n（一）深化数据公开。及时发布数据。（牵头股室：综合股，"
    "责任股室：神秘股）\n"
)
UNIT_KEYS = (
    "units-TOTAL_FORMS",
    "units-INITIAL_FORMS",
    "units-MIN_NUM_FORMS",
    "units-MAX_NUM_FORMS",
    "units-0-section",
    "units-0-problems",
    "units-1-section",
    "units-2-problems",
)


@pytest.fixture
def world(sections, office_user, director, lead_user, resp_user, plan, settings, tmp_path):
    """每个表单都有可提交的对象，全部经由服务建立：报送与佐证文件、通知、计划导入与表格回导批次、通报草稿与
    整改事项（待答复、待核验）、约谈、发布信息（拟稿、待初审、待发布）、依申请公开与复议、录入事实、计分、
    关账、台账行与申诉。"""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    OfficeSettings.current()
    lead, resp = sections["lead"], sections["resp"]
    task = make_task(
        plan, title="深化统计数据公开", leads=[lead], responsibles=[resp], due_date=datetime.date(2023, 2, 1)
    )
    report = report_submit(
        task=task,
        section=lead,
        year=2023,
        quarter=1,
        status=ReportStatus.IN_PROGRESS,
        narrative="进展",
        user=lead_user,
    )
    evidence = evidence_add_file(
        report=report, uploaded_file=SimpleUploadedFile("a.pdf", make_pdf()), user=lead_user
    )
    notification = Notification.objects.create(
        user=lead_user, kind="test", message="提醒", dedupe_key="fuzz-1"
    )
    document = plan_import_preview(name="fuzz.txt", data=MINI_PLAN.encode(), year=None, user=office_user)
    rows = [list(spreadsheet.HEADERS), ["T9999", "一/（二）", "新任务", "", "综合股", "", "", "", ""]]
    batch = spreadsheet.plan_tasks_preview_sheet(
        plan=plan,
        filename="任务表.csv",
        data=_csv_bytes(rows, "utf-8-sig"),
        user=office_user,
        max_bytes=10**6,
    )
    notice_draft = draft(office_user, [UnitEntry(lead, "逾期")], title="草稿通报")
    issued = notice_issue(office_user, draft(office_user, [UnitEntry(lead, "逾期"), UnitEntry(resp, "退回")]))
    item_open = RectificationItem.objects.get(notice=issued, section=lead)
    item_answered = answer(resp_user, RectificationItem.objects.get(notice=issued, section=resp))
    interview = notices.interview_create(
        user=office_user,
        held_on=datetime.date(2023, 10, 9),
        sections=[lead],
        interviewer="李局长",
        subject="约谈",
    )
    pub_fields = {
        "title": "统计公报",
        "column": PublicationColumn.STATISTICS,
        "formed_on": datetime.date(2023, 9, 25),
        "body": "前三季度，全市地区生产总值……",
    }
    pub_draft = publication.publication_create(section=lead, user=lead_user, **pub_fields)
    pub_first = publication.publication_create(section=lead, user=office_user, **pub_fields)
    pub_first = publication.publication_submit(
        item=pub_first, user=office_user, expected_version=pub_first.version
    )
    pub_ok = publication.publication_create(section=lead, user=lead_user, **pub_fields)
    pub_ok = publication.publication_submit(item=pub_ok, user=lead_user, expected_version=pub_ok.version)
    for user, level, checks in (
        (lead_user, PublicationLevel.FIRST, ()),
        (director, PublicationLevel.SECOND, ()),
        (office_user, PublicationLevel.FINAL, [k for k, _ in CONFIDENTIALITY_ITEMS]),
    ):
        pub_ok = publication.publication_review(
            item=pub_ok,
            level=level,
            decision="pass",
            checklist=checks,
            user=user,
            expected_version=pub_ok.version,
        )
    application = applications.application_create(
        user=office_user,
        fields={
            "channel": "in_person",
            "submitted_on": datetime.date(2023, 3, 1),
            "acknowledged_on": None,
            "applicant_type": "natural_person",
            "applicant_name": "张三",
            "content": "申请公开2022年统计公报",
            "section": lead,
        },
    )
    app_appeal = applications.appeal_record(
        application=application, user=office_user, kind="review", filed_on=datetime.date(2023, 5, 1)
    )
    ruleset = published_ruleset()
    fact = manual_fact_set(
        section=resp,
        year=2023,
        period="Q1",
        fact="quality_assessment",
        value="8",
        reason="较好",
        user=office_user,
    )
    run = scores_compute(ruleset_record=ruleset, year=2023, period="Q1", user=office_user)
    close = quarter_close(year=2023, quarter=1, run=run, user=office_user)
    lines = list(SnapshotLedgerLine.objects.filter(close=close, section=lead, points__lt=0).order_by("pk"))
    assert len(lines) >= 2, "关账台账中综合股应有至少两条扣分行"
    appeal = appeal_submit(line=lines[0], user=lead_user, reason="已按期完成")
    users = {"office": office_user, "lead": lead_user, "resp": resp_user, "director": director}
    return SimpleNamespace(
        users=users,
        clients={name: login(user) for name, user in users.items()},
        sections=sections,
        plan=plan,
        task=task,
        report=report,
        evidence=evidence,
        notification=notification,
        document=document,
        batch=batch,
        notice_draft=notice_draft,
        item_open=item_open,
        item_answered=item_answered,
        interview=interview,
        pub_draft=pub_draft,
        pub_first=pub_first,
        pub_ok=pub_ok,
        application=application,
        app_appeal=app_appeal,
        ruleset=ruleset,
        fact=fact,
        run=run,
        close=close,
        line=lines[1],
        appeal=appeal,
    )


@dataclass(frozen=True)
class FormSpec:
    """一个接受 POST 的地址：由谁提交（有权限的角色）、地址参数、表单读取的键、文件键、一份有效的底稿。"""

    url: str
    persona: str
    kwargs: Callable[[Any], dict[str, Any]]
    fields: tuple[str, ...]
    files: tuple[str, ...] = ()
    baseline: Callable[[Any], dict[str, Any]] = lambda w: {}


def keys(*form_classes: type[BaseForm], extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    names: list[str] = []
    for form_class in form_classes:
        names += [n for n in form_class.base_fields if n not in names]
    return (*names, *extra)


def _forms() -> dict[str, type[BaseForm]]:
    from scoring import views_annual, views_closing, views_reports, views_triggers
    from scoring.forms import ComputeForm, ManualFactForm, WhatIfForm
    from workplan import forms_applications as fa
    from workplan import forms_notices as fn
    from workplan import forms_progress as fp
    from workplan import forms_publication as fpub
    from workplan.forms import AssignmentForm
    from workplan.views_import import ConfirmForm, UploadForm
    from workplan.views_spreadsheet import SheetUploadForm

    return {
        "assign": AssignmentForm,
        "report": fp.ReportForm,
        "evidence": fp.EvidenceForm,
        "review": fp.ReviewForm,
        "upload": UploadForm,
        "confirm": ConfirmForm,
        "sheet": SheetUploadForm,
        "notice": fn.NoticeForm,
        "received": fn.ReceivedNoticeForm,
        "action": fn.NoticeActionForm,
        "answer": fn.AnswerForm,
        "verify": fn.VerifyForm,
        "interview": fn.InterviewForm,
        "followup": fn.FollowUpForm,
        "publication": fpub.PublicationForm,
        "version": fpub.VersionForm,
        "pubreview": fpub.PublicationReviewForm,
        "publish": fpub.PublishForm,
        "application": fa.ApplicationForm,
        "correction": fa.CorrectionSendForm,
        "correction_return": fa.CorrectionReturnForm,
        "consult": fa.ConsultationStartForm,
        "consult_end": fa.ConsultationEndForm,
        "extension": fa.ExtensionForm,
        "reply": fa.ReplyForm,
        "app_appeal": fa.AppealForm,
        "manual": ManualFactForm,
        "compute": ComputeForm,
        "whatif": WhatIfForm,
        "quarterly": views_reports.QuarterlyReportForm,
        "close": views_closing.CloseForm,
        "finalize": views_closing.FinalizeForm,
        "appeal": views_closing.AppealForm,
        "decide": views_closing.DecideForm,
        "triggers": views_triggers.TriggerRunForm,
        "annual": views_annual.AnnualReportForm,
        "annual_publish": views_annual.PublishForm,
    }


F = _forms()
NO_ARGS: Callable[[Any], dict[str, Any]] = lambda w: {}  # noqa: E731
D2023 = "2023-03-01"


def _annual_keys() -> tuple[str, ...]:
    return tuple(F["annual"]().fields)


SPECS: list[FormSpec] = [
    FormSpec(
        "task_assignments_edit",
        "office",
        lambda w: {"pk": w.task.pk},
        keys(F["assign"]),
        baseline=lambda w: {"leads": [_pk(w.sections["lead"])], "responsibles": [_pk(w.sections["resp"])]},
    ),
    FormSpec(
        "notifications_mark_read", "lead", NO_ARGS, ("id",), baseline=lambda w: {"id": _pk(w.notification)}
    ),
    FormSpec(
        "report_edit",
        "lead",
        lambda w: {"pk": w.task.pk},
        keys(F["report"]),
        baseline=lambda w: {"year": "2023", "quarter": "2", "status": "in_progress", "narrative": "进展"},
    ),
    FormSpec(
        "evidence_upload",
        "lead",
        lambda w: {"pk": w.report.pk},
        keys(F["evidence"], extra=("next",)),
        files=("file",),
        baseline=lambda w: {
            "kind": "link",
            "url": "https://www.example.gov.cn/a.html",
            "published_on": D2023,
        },
    ),
    FormSpec("evidence_remove", "lead", lambda w: {"pk": w.evidence.pk}, ("next",)),
    FormSpec(
        "report_review",
        "office",
        lambda w: {"pk": w.report.pk},
        keys(F["review"]),
        baseline=lambda w: {"version": str(w.report.version), "decision": "return", "comment": "补充"},
    ),
    FormSpec("plan_import_upload", "office", NO_ARGS, keys(F["upload"]), files=("file",)),
    FormSpec(
        "plan_import_confirm",
        "office",
        lambda w: {"pk": w.document.pk},
        keys(F["confirm"], extra=("action_0", "section_0", "alias_0", "new_name_0", "action_1")),
        baseline=lambda w: {"title": "工作要点", "year": "2024", "action_0": "create"},
    ),
    FormSpec("plan_import_cancel", "office", lambda w: {"pk": w.document.pk}, ()),
    FormSpec("plan_reimport", "office", lambda w: {"pk": w.plan.pk}, keys(F["sheet"]), files=("file",)),
    FormSpec("plan_reimport_confirm", "office", lambda w: {"pk": w.plan.pk, "batch_pk": w.batch.pk}, ()),
    FormSpec(
        "notice_create",
        "office",
        NO_ARGS,
        keys(F["notice"], extra=UNIT_KEYS),
        baseline=lambda w: {
            "year": "2023",
            "title": "通报",
            "units-TOTAL_FORMS": "1",
            "units-INITIAL_FORMS": "0",
            "units-0-section": _pk(w.sections["lead"]),
            "units-0-problems": "逾期",
        },
    ),
    FormSpec(
        "notice_receive",
        "office",
        NO_ARGS,
        keys(F["received"], extra=UNIT_KEYS),
        baseline=lambda w: {
            "issuer_level": "county",
            "issuer_name": "县政府办",
            "doc_number": "樟府办〔2023〕1号",
            "title": "通报",
            "received_on": D2023,
            "units-TOTAL_FORMS": "1",
            "units-INITIAL_FORMS": "0",
            "units-0-section": _pk(w.sections["lead"]),
        },
    ),
    FormSpec(
        "notice_edit",
        "office",
        lambda w: {"pk": w.notice_draft.pk},
        keys(F["notice"], extra=UNIT_KEYS),
        baseline=lambda w: {
            "year": "2023",
            "title": "通报",
            "version": str(w.notice_draft.version),
            "units-TOTAL_FORMS": "1",
            "units-INITIAL_FORMS": "0",
            "units-0-section": _pk(w.sections["lead"]),
        },
    ),
    FormSpec("notice_issue", "office", lambda w: {"pk": w.notice_draft.pk}, keys(F["action"])),
    FormSpec("notice_discard", "office", lambda w: {"pk": w.notice_draft.pk}, keys(F["action"])),
    FormSpec(
        "rectification_answer",
        "lead",
        lambda w: {"pk": w.item_open.pk},
        keys(F["answer"]),
        files=("file",),
        baseline=lambda w: {
            "version": str(w.item_open.version),
            "response": "已整改",
            "link": "https://www.example.gov.cn/b.html",
        },
    ),
    FormSpec(
        "rectification_verify",
        "office",
        lambda w: {"pk": w.item_answered.pk},
        keys(F["verify"]),
        baseline=lambda w: {"version": str(w.item_answered.version), "decision": "return", "comment": "不全"},
    ),
    FormSpec(
        "interview_create",
        "office",
        NO_ARGS,
        keys(F["interview"]),
        baseline=lambda w: {
            "held_on": D2023,
            "sections": [_pk(w.sections["lead"])],
            "interviewer": "李局长",
            "subject": "约谈",
        },
    ),
    FormSpec(
        "interview_item_add",
        "office",
        lambda w: {"pk": w.interview.pk},
        keys(F["followup"]),
        baseline=lambda w: {
            "section": _pk(w.sections["lead"]),
            "description": "整改",
            "deadline": "2023-12-01",
        },
    ),
    FormSpec(
        "publication_create",
        "lead",
        NO_ARGS,
        keys(F["publication"]),
        files=("attachment",),
        baseline=lambda w: {"title": "公报", "column": "statistics", "formed_on": D2023, "body": "正文"},
    ),
    FormSpec(
        "publication_edit",
        "lead",
        lambda w: {"pk": w.pub_draft.pk},
        keys(F["publication"]),
        files=("attachment",),
        baseline=lambda w: {
            "version": str(w.pub_draft.version),
            "title": "公报",
            "column": "statistics",
            "formed_on": D2023,
        },
    ),
    FormSpec("publication_submit", "lead", lambda w: {"pk": w.pub_draft.pk}, keys(F["version"])),
    FormSpec("publication_delete", "lead", lambda w: {"pk": w.pub_draft.pk}, keys(F["version"])),
    FormSpec(
        "publication_review",
        "lead",
        lambda w: {"pk": w.pub_first.pk},
        keys(F["pubreview"]),
        baseline=lambda w: {
            "version": str(w.pub_first.version),
            "level": "first",
            "decision": "return",
            "comment": "改",
        },
    ),
    FormSpec(
        "publication_publish",
        "office",
        lambda w: {"pk": w.pub_ok.pk},
        keys(F["publish"]),
        baseline=lambda w: {
            "version": str(w.pub_ok.version),
            "publish_url": "https://www.example.gov.cn/c.html",
            "published_on": "2023-10-09",
        },
    ),
    FormSpec(
        "application_create",
        "office",
        NO_ARGS,
        keys(F["application"]),
        baseline=lambda w: {
            "channel": "in_person",
            "submitted_on": D2023,
            "applicant_type": "natural_person",
            "applicant_name": "李四",
            "content": "申请",
            "section": _pk(w.sections["lead"]),
        },
    ),
    FormSpec(
        "application_edit",
        "office",
        lambda w: {"pk": w.application.pk},
        keys(F["application"]),
        baseline=lambda w: {
            "channel": "post",
            "submitted_on": D2023,
            "applicant_type": "business",
            "applicant_name": "某公司",
            "content": "申请",
            "section": _pk(w.sections["lead"]),
        },
    ),
    FormSpec(
        "application_correction",
        "office",
        lambda w: {"pk": w.application.pk},
        keys(F["correction"], F["correction_return"]),
        baseline=lambda w: {"action": "send", "sent_on": D2023},
    ),
    FormSpec(
        "application_consultation",
        "office",
        lambda w: {"pk": w.application.pk},
        keys(F["consult"], F["consult_end"]),
        baseline=lambda w: {"action": "start", "party": "第三方企业", "started_on": D2023},
    ),
    FormSpec(
        "application_extension",
        "office",
        lambda w: {"pk": w.application.pk},
        keys(F["extension"]),
        baseline=lambda w: {"approved_by": "王主任", "approved_on": "2023-03-20", "reason": "需协调"},
    ),
    FormSpec(
        "application_reply",
        "office",
        lambda w: {"pk": w.application.pk},
        keys(F["reply"]),
        baseline=lambda w: {"replied_on": "2023-03-20", "result": "granted"},
    ),
    FormSpec(
        "application_appeal_add",
        "office",
        lambda w: {"pk": w.application.pk},
        keys(F["app_appeal"]),
        baseline=lambda w: {"kind": "review", "filed_on": "2023-05-02", "result": "pending"},
    ),
    FormSpec(
        "application_appeal_edit",
        "office",
        lambda w: {"pk": w.app_appeal.pk},
        keys(F["app_appeal"]),
        baseline=lambda w: {
            "kind": "review",
            "filed_on": "2023-05-01",
            "result": "upheld",
            "decided_on": "2023-06-01",
        },
    ),
    FormSpec(
        "manual_fact_save",
        "office",
        NO_ARGS,
        keys(F["manual"]),
        files=("evidence",),
        baseline=lambda w: {
            "section": _pk(w.sections["lead"]),
            "year": "2023",
            "period": "Q1",
            "fact": "quality_assessment",
            "value": "9",
            "reason": "好",
        },
    ),
    FormSpec("manual_fact_delete", "office", lambda w: {"pk": w.fact.pk}, ()),
    FormSpec(
        "score_compute_run",
        "office",
        NO_ARGS,
        keys(F["compute"]),
        baseline=lambda w: {"ruleset": _pk(w.ruleset), "year": "2023", "period": "Q1"},
    ),
    FormSpec(
        "score_whatif_run",
        "office",
        NO_ARGS,
        keys(F["whatif"]),
        baseline=lambda w: {"ruleset": _pk(w.ruleset), "year": "2023", "period": "Q2"},
    ),
    FormSpec(
        "report_quarterly_download",
        "office",
        NO_ARGS,
        keys(F["quarterly"]),
        baseline=lambda w: {"year": "2023", "quarter": "1", "plan": _pk(w.plan), "format": "xlsx"},
    ),
    FormSpec(
        "close_create",
        "office",
        NO_ARGS,
        keys(F["close"]),
        baseline=lambda w: {"year": "2023", "quarter": "2", "run": _pk(w.run)},
    ),
    FormSpec("close_finalize", "office", lambda w: {"pk": w.close.pk}, keys(F["finalize"])),
    FormSpec(
        "appeal_new",
        "lead",
        lambda w: {"pk": w.line.pk},
        keys(F["appeal"]),
        files=("evidence",),
        baseline=lambda w: {"reason": "已按期完成"},
    ),
    FormSpec(
        "appeal_decide",
        "office",
        lambda w: {"pk": w.appeal.pk},
        keys(F["decide"]),
        baseline=lambda w: {"decision": "reject", "reason": "理由不足"},
    ),
    FormSpec(
        "notice_triggers_run",
        "office",
        NO_ARGS,
        keys(F["triggers"]),
        baseline=lambda w: {"year": "2023", "quarter": "1"},
    ),
    FormSpec(
        "annual_report_save",
        "office",
        lambda w: {"year": 2023},
        _annual_keys(),
        baseline=lambda w: {"overview": "总体情况"},
    ),
    FormSpec(
        "annual_report_publish",
        "office",
        lambda w: {"year": 2023},
        keys(F["annual_publish"]),
        baseline=lambda w: {"published_on": "2024-01-20"},
    ),
]
SPEC_BY_URL = {spec.url: spec for spec in SPECS}

VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(NASTY + PLAUSIBLE),
    st.integers(-(10**20), 10**20).map(str),
    st.lists(st.text(max_size=8) | st.sampled_from(PLAUSIBLE), min_size=2, max_size=3),  # a repeated key
    st.just(HUGE),
)
FILE_NAMES = st.tuples(
    st.sampled_from(["佐证", "a", "../../etc/passwd", "x" * 240, "<script>", "报告 (1)", "a\\b"]),
    st.sampled_from(
        [".pdf", ".PDF", ".docx", ".xlsx", ".png", ".jpg", ".txt", ".csv", ".exe", ".pdf.exe", ""]
    ),
).map("".join)
FILE_CONTENT = st.one_of(
    st.binary(max_size=512),
    st.tuples(st.sampled_from(MAGIC), st.binary(max_size=64)).map(lambda t: t[0] + t[1]),
    st.sampled_from([make_pdf(), make_png(), make_docx(), make_xlsx(), SAMPLE_PLAN.read_bytes()]),
)


@st.composite
def submissions(draw: st.DrawFn, spec: FormSpec, world: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """一次提交：有时从有效底稿出发，改掉随机几个键；有时全是乱填的；偶尔带一个不认识的键和随机的查询串。"""
    data: dict[str, Any] = dict(spec.baseline(world)) if draw(st.booleans()) else {}
    if spec.fields:
        for key in draw(st.lists(st.sampled_from(spec.fields), unique=True, max_size=len(spec.fields))):
            data[key] = draw(VALUES)
    if draw(st.integers(0, 5)) == 0:
        data[draw(st.text(min_size=1, max_size=8))] = draw(VALUES)
    for key in spec.files:
        if draw(st.booleans()):
            data[key] = SimpleUploadedFile(draw(FILE_NAMES), draw(FILE_CONTENT))
    query = draw(
        st.dictionaries(st.sampled_from(["year", "quarter", "next", "page", "level"]), VALUES, max_size=2)
    )
    return data, query


def rejected(response: Any) -> bool:
    """被拒绝的提交：4xx；或带错误提示；或重新显示了页面（200 的 HTML）而没有成功提示。"""
    # Only this request's messages: older ones may still wait in the cookie.
    found = list(getattr(response.wsgi_request, "_messages", None)._queued_messages or [])
    errors = any(m.level >= levels.WARNING and m.level != levels.SUCCESS for m in found)
    success = any(m.level in (levels.SUCCESS, levels.INFO) for m in found)
    if response.status_code >= 400 or (errors and not success):
        return True
    is_html = response.get("Content-Type", "").startswith("text/html")
    return response.status_code == 200 and is_html and not success


def fuzz_form(spec: FormSpec, world: Any) -> None:
    client = world.clients[spec.persona]
    url = reverse(spec.url, kwargs=spec.kwargs(world))

    @SLOW
    @given(st.data())
    def run(data: st.DataObject) -> None:
        post, query = data.draw(submissions(spec, world))

        def attempt() -> None:
            client.cookies.pop("messages", None)
            before, files = row_counts(), media_files()
            target = f"{url}?{urlencode(query, doseq=True)}" if query else url
            response = client.post(target, post)
            assert response.status_code != 500, spec.url
            refused = rejected(response)
            event(f"{response.status_code} {'拒绝' if refused else '接受'}")
            if refused:
                assert row_counts() == before, f"{spec.url}：被拒绝的提交写了数据（{response.status_code}）"
                assert media_files() == files, f"{spec.url}：被拒绝的提交留下了文件"

        rolled_back(attempt)

    run()


def _post_urls() -> list[str]:
    names = []
    for pattern in [*workplan_urlpatterns, *scoring_urlpatterns]:
        assert isinstance(pattern, URLPattern)
        view = pattern.callback
        # require_POST / require_http_methods keep the allowed methods in the closure of their wrapper.
        allowed = _allowed_methods(view)
        if allowed is None or "POST" in allowed:
            names.append(pattern.name)
    return names


def _allowed_methods(view: Any) -> set[str] | None:
    seen = set()
    while view is not None and id(view) not in seen:
        seen.add(id(view))
        for cell in getattr(view, "__closure__", None) or ():
            value = cell.cell_contents
            if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
                if set(value) <= {"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"}:
                    return set(value)
        view = getattr(view, "__wrapped__", None)
    return None


def test_every_url_that_accepts_post_has_a_form_spec():
    missing = sorted(set(_post_urls()) - set(SPEC_BY_URL))
    assert not missing, f"这些地址接受 POST，请在 tests/test_fuzz.py 的 SPECS 中各加一行：{missing}"
    assert not set(SPEC_BY_URL) - set(_post_urls()), "SPECS 中有不再接受 POST 的地址"


GROUPS = {
    "progress": [
        "task_assignments_edit",
        "notifications_mark_read",
        "report_edit",
        "evidence_upload",
        "evidence_remove",
        "report_review",
        "plan_import_upload",
        "plan_import_confirm",
        "plan_import_cancel",
        "plan_reimport",
        "plan_reimport_confirm",
    ],
    "notices": [
        "notice_create",
        "notice_receive",
        "notice_edit",
        "notice_issue",
        "notice_discard",
        "rectification_answer",
        "rectification_verify",
        "interview_create",
        "interview_item_add",
    ],
    "publications": [
        "publication_create",
        "publication_edit",
        "publication_submit",
        "publication_delete",
        "publication_review",
        "publication_publish",
        "application_create",
        "application_edit",
        "application_correction",
        "application_consultation",
        "application_extension",
        "application_reply",
        "application_appeal_add",
        "application_appeal_edit",
    ],
    "scoring": [
        "manual_fact_save",
        "manual_fact_delete",
        "score_compute_run",
        "score_whatif_run",
        "report_quarterly_download",
        "close_create",
        "close_finalize",
        "appeal_new",
        "appeal_decide",
        "notice_triggers_run",
        "annual_report_save",
        "annual_report_publish",
    ],
}


@pytest.mark.parametrize("value", [str(2**63), str(10**30), str(-(2**63) - 1), "0", "-1", "1.5", "٣"])
@pytest.mark.parametrize("url_name", ["task_assignments_edit", "interview_create"])
def test_a_multiple_choice_id_out_of_range_is_a_form_error(as_office, task, url_name, value):
    # Django looks ModelMultipleChoiceField ids up with `__in`, which is not guarded against integer
    # overflow (ticket #27397): SQLite raised OverflowError. workplan.fields refuses such ids first.
    field = {"task_assignments_edit": "leads", "interview_create": "sections"}[url_name]
    url = reverse(url_name, kwargs={"pk": task.pk} if url_name == "task_assignments_edit" else {})
    response = as_office.post(url, {field: value})
    assert response.status_code == 200
    assert "选择的项目不存在" in response.context["form"].errors[field]


def test_a_next_that_is_not_a_path_is_not_a_500(as_lead, task, sections, lead_user):
    report = make_report(task, sections["lead"], submitted_by=lead_user)
    evidence = make_evidence(report)
    response = as_lead.post(reverse("evidence_remove", kwargs={"pk": evidence.pk}), {"next": "0"})
    assert response.status_code == 302


def test_the_groups_cover_every_form_spec():
    grouped = [name for names in GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(SPEC_BY_URL)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_random_submissions_never_500_and_rejected_ones_write_nothing(world, group):
    for name in GROUPS[group]:
        fuzz_form(SPEC_BY_URL[name], world)


@budget(SLOW, max_examples=examples(12))
@given(year=st.integers(min_value=0, max_value=10**9))
def test_a_year_in_the_address_out_of_range_is_not_a_500(as_office, year):
    for name in ("annual_report_save", "annual_report_publish"):
        response = rolled_back(lambda name=name: as_office.post(reverse(name, kwargs={"year": year}), {}))
        assert response.status_code != 500, (name, year)


# ---------------------------------------------------------------- user text: escaped and neutralised

PAYLOADS = st.tuples(
    st.text(alphabet="政务公开股abc 12", max_size=6),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            "<b>粗</b>",
            "<img src=x onerror=alert(1)>",
            "<a href='//evil.example'>点</a>",
            '"><svg onload=alert(1)>',
            "<br>",
        ]
    ),
    st.text(alphabet="政务公开股abc 12", max_size=6),
).map(lambda parts: "【" + "".join(parts) + "】")  # the brackets keep the page's own <br> from matching


@budget(SLOW, max_examples=examples(10))
@given(title=PAYLOADS)
def test_user_text_is_escaped_in_the_task_list(as_office, plan, sections, title):
    def page() -> str:
        make_task(plan, title=title, leads=[sections["lead"]])
        return as_office.get(reverse("task_list")).content.decode()

    content = rolled_back(page)
    assert title not in content
    assert escape(title) in content


SHANGHAI_MORNING = datetime.datetime(2023, 8, 15, 9, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@budget(SLOW, max_examples=examples(6))
@given(name=PAYLOADS)
def test_user_text_is_escaped_in_the_dashboard_chart_labels(as_director, plan, name):
    name = name[:64]

    def page() -> str:
        with time_machine.travel(SHANGHAI_MORNING, tick=False):
            evil = make_section(name, sort_order=9)
            make_task(plan, title=name, leads=[evil])
            make_run(2023, "Q3", {evil: 90})
            return as_director.get(reverse("quarter_dashboard")).content.decode()

    content = rolled_back(page)
    strings = chart_strings(content)
    # plotly renders <b>, <br>, <a href> in labels: the section name only ever appears escaped.
    assert any(html.escape(name, quote=True) in s for s in strings), name
    assert not any(name in s for s in strings)
    assert name not in content


# Any text a title can hold (NUL cannot be stored in PostgreSQL, and forms refuse it), control characters
# included: the export drops those xlsx cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE).
CELL_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)
FORMULA_TEXT = st.tuples(st.sampled_from(FORMULA_PREFIXES), CELL_TEXT).map("".join)


@budget(SLOW, max_examples=examples(12))
@given(title=FORMULA_TEXT | CELL_TEXT.filter(bool), fmt=st.sampled_from(["csv", "xlsx"]))
@example(title="统计\x1f公报", fmt="xlsx")
@example(title="\x0b=1+1", fmt="csv")
def test_export_cells_that_start_like_a_formula_are_neutralised(as_office, plan, title, fmt):
    def export() -> Any:
        make_task(plan, title=title, code="F1", position=1)
        return as_office.get(reverse("plan_export", kwargs={"pk": plan.pk, "fmt": fmt}))

    response = rolled_back(export)
    assert response.status_code == 200, title
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
        cell = next(r for r in rows[1:] if r and r[0] == "F1")[2]
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        cell = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == "F1")[2]
    kept = ILLEGAL_CHARACTERS_RE.sub("", title)
    expected = "'" + kept if kept.startswith(FORMULA_PREFIXES) else kept
    assert (cell or "") == expected, (title, cell)


def test_a_title_with_a_control_character_still_exports_to_xlsx(as_office, plan):
    make_task(plan, title="统计\x1f公报", code="C1", position=1)
    response = as_office.get(reverse("plan_export", kwargs={"pk": plan.pk, "fmt": "xlsx"}))
    assert response.status_code == 200
