"""上传文件读取（readers）：编码识别、docx 段落/表格顺序与合并单元格、xlsx/csv、坏文件的中文错误。"""

from __future__ import annotations

import datetime
import io
import random
import zipfile

import docx
import openpyxl
import pytest
from docx.oxml import parse_xml

from workplan.parsers import readers
from workplan.parsers.readers import (
    UnreadableFileError,
    decode_text,
    read_csv,
    read_docx,
    read_upload,
    read_xlsx,
    read_xlsx_sheets,
)

PLAN_LINE = "（一）深化统计数据公开。主动公开统计数据。（牵头股室：综合股，责任股室：各相关股室）\n"


def docx_bytes(document: docx.document.Document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx_bytes(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (PLAN_LINE.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + PLAN_LINE.encode("utf-8"), "utf-8-sig"),
        (PLAN_LINE.encode("gb18030"), "gb18030"),
        (PLAN_LINE.encode("gbk"), "gb18030"),
        (PLAN_LINE.encode("utf-16"), "utf-16"),
    ],
)
def test_decode_text_detects_encoding(data: bytes, encoding: str) -> None:
    text, found = decode_text(data)
    assert found == encoding
    assert text.lstrip("\ufeff") == PLAN_LINE


def test_decode_text_normalises_line_endings() -> None:
    text, _ = decode_text("一、标题\r\n（一）任务。\r二、标题".encode("gb18030"))
    assert text.split("\n") == ["一、标题", "（一）任务。", "二、标题"]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "空的"),
        (b"abc\x00def" * 10, "NUL"),
        (bytes(range(1, 32)) * 50, "控制字符"),
        (b"PK\x03\x04" + b"x" * 100, "压缩包"),
        (b"%PDF-1.7\n...", "PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "旧版"),
    ],
)
def test_decode_text_rejects_binary_with_chinese_message(data: bytes, fragment: str) -> None:
    with pytest.raises(UnreadableFileError, match=fragment):
        decode_text(data)


def test_decode_text_rejects_random_binary() -> None:
    noise = random.Random(7).randbytes(20_000)
    with pytest.raises(UnreadableFileError):
        decode_text(noise)


def test_read_docx_keeps_paragraph_and_table_order() -> None:
    document = docx.Document()
    document.add_paragraph("樟树市统计局2023年政务公开工作任务清单")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "工作任务", "责任科室"
    table.cell(1, 0).text, table.cell(1, 1).text = "深化统计数据公开", "综合股"
    document.add_paragraph("附件：无")
    blocks = read_docx(docx_bytes(document))
    assert [b.kind for b in blocks] == ["paragraph", "table", "paragraph"]
    assert blocks[0].text == "樟树市统计局2023年政务公开工作任务清单"
    assert blocks[1].rows == [["工作任务", "责任科室"], ["深化统计数据公开", "综合股"]]


def test_read_docx_puts_merged_text_in_top_left_cell_only() -> None:
    document = docx.Document()
    table = document.add_table(rows=4, cols=3)
    top = table.cell(0, 0).merge(table.cell(0, 2))
    top.text = "一、服务经济高质量发展"
    group = table.cell(1, 0).merge(table.cell(3, 0))
    group.text = "深化统计数据公开"
    for row, (detail, unit) in enumerate(
        [("公开统计数据。", "综合股"), ("发布公报。", ""), ("解读指标。", "法规股")], 1
    ):
        table.cell(row, 1).text = detail
        table.cell(row, 2).text = unit
    rows = read_docx(docx_bytes(document))[0].rows
    assert rows == [
        ["一、服务经济高质量发展", "", ""],
        ["深化统计数据公开", "公开统计数据。", "综合股"],
        ["", "发布公报。", ""],
        ["", "解读指标。", "法规股"],
    ]


def test_read_docx_joins_paragraphs_inside_a_cell() -> None:
    document = docx.Document()
    cell = document.add_table(rows=1, cols=1).cell(0, 0)
    cell.text = "第一段"
    cell.add_paragraph("第二段")
    assert read_docx(docx_bytes(document))[0].rows == [["第一段\n第二段"]]


def _add_chinese_numbering(document: docx.document.Document) -> str:
    """往 numbering.xml 加一个两级编号“一、”/“（一）”，返回其 numId。"""
    numbering = document.part.numbering_part.element
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    levels = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>'
        f'<w:lvlText w:val="{text}"/></w:lvl>'
        for i, text in enumerate(["%1、", "（%2）"])
    )
    abstract = parse_xml(f'<w:abstractNum xmlns:w="{w}" w:abstractNumId="90">{levels}</w:abstractNum>')
    numbering.insert(0, abstract)
    numbering.append(parse_xml(f'<w:num xmlns:w="{w}" w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    return "90"


def _numbered(document: docx.document.Document, text: str, num_id: str, ilvl: int) -> None:
    paragraph = document.add_paragraph(text)
    paragraph._p.get_or_add_pPr().append(
        parse_xml(
            '<w:numPr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f'<w:ilvl w:val="{ilvl}"/><w:numId w:val="{num_id}"/></w:numPr>'
        )
    )


def test_read_docx_renders_word_automatic_numbering() -> None:
    document = docx.Document()
    num_id = _add_chinese_numbering(document)
    _numbered(document, "服务经济高质量发展", num_id, 0)
    _numbered(document, "深化统计数据公开。", num_id, 1)
    _numbered(document, "深化依法治统公开。", num_id, 1)
    _numbered(document, "统筹政务公开平台建设", num_id, 0)
    _numbered(document, "强化网站管理。", num_id, 1)
    document.add_paragraph("样式编号一", style="List Number")
    document.add_paragraph("样式编号二", style="List Number")
    document.add_paragraph("项目符号", style="List Bullet")
    texts = [b.text for b in read_docx(docx_bytes(document))]
    assert texts == [
        "一、服务经济高质量发展",
        "（一）深化统计数据公开。",
        "（二）深化依法治统公开。",
        "二、统筹政务公开平台建设",
        "（一）强化网站管理。",
        "1.样式编号一",
        "2.样式编号二",
        "项目符号",
    ]


def test_read_docx_numbers_an_auto_numbered_sequence_column() -> None:
    document = docx.Document()
    table = document.add_table(rows=3, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "序号", "工作任务"
    for row in (1, 2):
        table.cell(row, 0).paragraphs[0].style = document.styles["List Number"]
        table.cell(row, 1).text = f"任务{row}"
    rows = read_docx(docx_bytes(document))[0].rows
    assert rows == [["序号", "工作任务"], ["1.", "任务1"], ["2.", "任务2"]]


def test_read_xlsx_leaves_merged_continuations_empty_and_formats_values() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["序号", "工作任务", "责任科室", "时限要求"])
    sheet.append([1, "深化统计数据公开", "综合股", datetime.date(2023, 6, 30)])
    sheet.append([2, None, None, datetime.datetime(2023, 12, 31, 0, 0)])  # noqa: DTZ001
    sheet.merge_cells("B2:B3")
    sheet.merge_cells("C2:C3")
    rows = read_xlsx(xlsx_bytes(workbook))
    assert rows == [
        ["序号", "工作任务", "责任科室", "时限要求"],
        ["1", "深化统计数据公开", "综合股", "2023年6月30日"],
        ["2", "", "", "2023年12月31日"],
    ]


def test_read_xlsx_skips_hidden_and_empty_sheets() -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "空白"
    hidden = workbook.create_sheet("隐藏")
    hidden.append(["不应读出"])
    hidden.sheet_state = "hidden"
    tasks = workbook.create_sheet("任务")
    tasks.append(["工作任务", "责任单位"])
    data = xlsx_bytes(workbook)
    assert [name for name, _rows in read_xlsx_sheets(data)] == ["空白", "任务"]
    assert read_xlsx(data) == [["工作任务", "责任单位"]]


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        (
            '工作任务,责任单位\n深化公开,"综合股,法规股"\n',
            "gb18030",
            [["工作任务", "责任单位"], ["深化公开", "综合股,法规股"]],
        ),
        (
            "工作任务\t责任单位\n深化公开\t综合股\n",
            "utf-8",
            [["工作任务", "责任单位"], ["深化公开", "综合股"]],
        ),
        (
            "\ufeff工作任务,时限要求\r\n数据公开,年底前\r\n",
            "utf-8",
            [["工作任务", "时限要求"], ["数据公开", "年底前"]],
        ),
    ],
)
def test_read_csv_handles_encoding_and_delimiter(text: str, encoding: str, expected: list[list[str]]) -> None:
    assert read_csv(text.encode(encoding)) == expected


def _zip_with(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(name, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "fragment"),
    [
        ("plan.pdf", b"%PDF-1.4", "不支持的文件类型：.pdf，请上传 .txt/.docx/.xlsx/.csv"),
        ("plan", b"abc", "不支持的文件类型：（无扩展名）"),
        ("plan.doc", b"\xd0\xcf\x11\xe0", "旧版 Word"),
        ("plan.xls", b"\xd0\xcf\x11\xe0", "旧版 Excel"),
        ("plan.txt", b"", "空的"),
        ("plan.docx", b"", "空的"),
        ("plan.docx", "这不是压缩包".encode(), "不是有效的Word 文档（.docx）：内容不是 zip"),
        ("plan.xlsx", b"PK\x03\x04broken", "zip 结构已损坏"),
        ("plan.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "旧版 Office 文件（.doc）"),
        ("plan.xlsx", _zip_with("word/document.xml"), "扩展名是 .xlsx，但内容是Word 文档"),
        ("plan.docx", _zip_with("xl/workbook.xml"), "扩展名是 .docx，但内容是Excel 工作簿"),
        ("plan.docx", _zip_with("hello.txt"), "缺少 word/document.xml"),
        ("plan.xlsx", _zip_with("xl/workbook.xml"), "Excel 工作簿无法解析"),
        ("plan.docx", _zip_with("word/document.xml"), "Word 文档无法解析"),
        ("plan.csv", b"\x00\x01\x02" * 100, "NUL"),
    ],
)
def test_read_upload_reports_bad_files_in_chinese(filename: str, data: bytes, fragment: str) -> None:
    upload = read_upload(filename, data)
    assert fragment in upload.error
    assert not upload.blocks and not upload.sheets and not upload.text


def test_read_upload_refuses_zip_bombs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "MAX_UNZIPPED_BYTES", 1000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", "0" * 100_000)
    assert "解压后过大" in read_upload("plan.docx", buffer.getvalue()).error


def test_far_away_cell_in_xlsx_is_refused_before_calamine_allocates_the_range() -> None:
    # 一个 5 KB 的文件在 XFD1048576 填了值：不拦住的话 calamine 会申请数百 GB 内存并使进程崩溃
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "工作任务"
    workbook.active.cell(row=1_048_576, column=16_384, value="x")
    assert "范围过大（约 1048576 行 × 16384 列）" in read_upload("plan.xlsx", xlsx_bytes(workbook)).error


def test_huge_grid_span_in_docx_is_clamped() -> None:
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "工作任务", "责任科室"
    tc_pr = table.cell(0, 0)._tc.get_or_add_tcPr()
    tc_pr.append(
        parse_xml(
            '<w:gridSpan xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
            'w:val="100000000"/>'
        )
    )
    rows = read_docx(docx_bytes(document))[0].rows
    assert len(rows[0]) <= 65 and rows[0][0] == "工作任务"


def test_read_upload_refuses_oversized_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "MAX_UPLOAD_BYTES", 10)
    assert "文件过大" in read_upload("plan.txt", "一、标题\n（一）任务".encode()).error


@pytest.mark.parametrize("filename", ["计划.TXT", "计划.Docx", "a.b.xlsx", "x.csv"])
def test_read_upload_accepts_supported_extensions_in_any_case(filename: str) -> None:
    assert "不支持" not in read_upload(filename, b"abc").error
