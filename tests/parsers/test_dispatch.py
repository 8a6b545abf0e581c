"""解析入口 parse_plan_bytes / parse_plan_text：按扩展名分派正文或表格版式，坏文件给中文错误而不抛异常。"""

from __future__ import annotations

import datetime
import io
import random
import time
from pathlib import Path

import docx
import openpyxl
import pytest

from workplan import parsers
from workplan.parsers import ParsedTask, ParseIssue, ParseResult, parse_plan_bytes, parse_plan_text
from workplan.parsers.text import to_simplified

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "zhangshu-tjj-2023-workplan.txt"
SAMPLE_TASKS = 16  # 一、5 项，二、3 项，三、4 项，四、4 项


def _docx(build) -> bytes:  # type: ignore[no-untyped-def]
    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _xlsx(build) -> bytes:  # type: ignore[no-untyped-def]
    workbook = openpyxl.Workbook()
    build(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _simplified_titles(result: ParseResult) -> list[str]:
    return [to_simplified(t.title) for t in result.actionable]


def test_package_exports_the_result_types() -> None:
    assert {"ParseResult", "ParsedTask", "ParseIssue", "parse_plan_bytes", "parse_plan_text"} <= set(
        parsers.__all__
    )
    assert ParsedTask and ParseIssue


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_real_sample_parses_the_same_in_every_encoding(encoding: str) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    result = parse_plan_bytes("樟树市统计局2023年政务公开工作要点.txt", text.encode(encoding))
    assert result.layout == "prose"
    assert not result.errors
    assert len(result.actionable) == SAMPLE_TASKS
    titles = _simplified_titles(result)
    assert "深化统计数据公开" in titles[0]
    assert "完善培训保障" in titles[-1]
    reference = parse_plan_text(text)
    assert [t.title for t in result.actionable] == [t.title for t in reference.actionable]


def test_real_sample_in_a_docx_goes_through_the_prose_parser() -> None:
    lines = [line for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    data = _docx(lambda d: [d.add_paragraph(line) for line in lines])
    result = parse_plan_bytes("要点.docx", data)
    assert result.layout == "prose"
    assert len(result.actionable) == SAMPLE_TASKS


def _traditional_table_docx(document: docx.document.Document) -> None:
    document.add_paragraph("樟樹市統計局2023年政務公開工作任務清單")
    document.add_paragraph(
        "根據《關於印發2023年樟樹市政務公開工作要點的通知》（樟府辦發〔2023〕28號），制定本清單。"
    )
    table = document.add_table(rows=6, cols=4)
    for col, text in enumerate(["工作任務", "具體要求", "責任科室", "時限要求"]):
        table.cell(0, col).text = text
    table.cell(1, 0).merge(table.cell(1, 3)).text = "一、服務經濟高質量發展"
    table.cell(2, 0).merge(table.cell(3, 0)).text = "深化統計數據公開"
    table.cell(2, 1).text = "主動公開統計數據和信息。"
    table.cell(3, 1).text = "及時發布統計公報。"
    table.cell(2, 2).merge(table.cell(3, 2)).text = "綜合股、各相關股室"
    table.cell(2, 3).merge(table.cell(3, 3)).text = "每季度"
    table.cell(4, 0).text = "深化依法治統公開"
    table.cell(4, 1).text = "公開檢查執法信息。"
    table.cell(4, 2).text = "法規股"
    table.cell(4, 3).text = "6月底前"
    table.cell(5, 0).text = "強化網站管理"
    table.cell(5, 1).text = "按時發布年度報告。"
    table.cell(5, 2).text = "辦公室"
    table.cell(5, 3).text = "年底前"
    document.add_paragraph("二、統籌政務公開平台建設")
    more = document.add_table(rows=1, cols=4)
    for col, text in enumerate(["強化平台建設", "落實三審三校制度。", "辦公室", "長期堅持"]):
        more.cell(0, col).text = text
    document.add_paragraph("樟樹市統計局辦公室　2023年3月1日")


def test_docx_table_with_merged_cells_and_traditional_headers() -> None:
    result = parse_plan_bytes("清單.docx", _docx(_traditional_table_docx))
    assert result.layout == "table"
    assert not result.errors
    assert result.year == 2023
    assert "樟府辦發〔2023〕28號" in result.parent_doc_number or "28" in result.parent_doc_number
    assert [t.title for t in result.tasks if t.is_heading] == ["服務經濟高質量發展", "統籌政務公開平台建設"]
    data, law, site, platform = result.actionable
    assert data.title == "深化統計數據公開"
    assert data.body == "主動公開統計數據和信息。\n及時發布統計公報。"
    assert (data.lead_sections, data.responsible_sections) == (["綜合股"], ["各相關股室"])
    assert data.recurrence == "quarterly"
    assert law.lead_sections == ["法規股"] and law.deadline_text == "6月底前"
    assert site.lead_sections == ["辦公室"]
    assert platform.number_path.startswith("二/") and platform.lead_sections == ["辦公室"]
    assert [t.line for t in result.actionable] == [3, 5, 6, 7]


def test_docx_with_an_unrecognised_table_falls_back_to_prose_and_says_so() -> None:
    def build(document: docx.document.Document) -> None:
        for line in SAMPLE.read_text(encoding="utf-8").splitlines()[:4]:
            document.add_paragraph(line)
        table = document.add_table(rows=2, cols=2)
        table.cell(0, 0).text, table.cell(0, 1).text = "姓名", "电话"

    result = parse_plan_bytes("要点.docx", _docx(build))
    assert result.layout == "prose"
    assert any("未识别出任务表头" in w.message and "姓名 | 电话" in w.message for w in result.warnings)


def _merged_workbook(workbook: openpyxl.Workbook) -> None:
    sheet = workbook.active
    sheet.title = "任务清单"
    sheet.append(["宜春市信访局2024年政务公开工作任务分解表"])
    sheet.merge_cells("A1:F1")
    sheet.append(["序号", "工作任务", "具体要求", "牵头单位", "责任单位", "完成时限"])
    sheet.append([1, "推进信访信息公开", "公开信访事项办理流程。", "办公室", "信访督查科", "2024-03-31"])
    sheet.append([2, None, "定期公开信访工作数据。", None, None, None])
    sheet.merge_cells("B3:B4")
    sheet.merge_cells("D3:D4")
    sheet.merge_cells("E3:E4")
    sheet.merge_cells("F3:F4")
    sheet.append(["二、平台建设"])
    sheet.merge_cells("A5:F5")
    sheet.append([3, "加强网上信访平台管理", "及时更新平台内容。", "网上信访中心", None, "每月"])


def test_xlsx_with_merged_cells_fills_down_within_the_group() -> None:
    result = parse_plan_bytes("分解表.xlsx", _xlsx(_merged_workbook))
    assert result.layout == "table"
    assert not result.errors
    assert result.title == "宜春市信访局2024年政务公开工作任务分解表"
    assert result.year == 2024
    first, second, third = result.actionable
    assert (first.number, second.number, third.number) == ("1", "2", "3")
    assert second.lead_sections == ["办公室"] and second.responsible_sections == ["信访督查科"]
    assert second.deadline_text == first.deadline_text
    assert third.number_path == "二/3" and third.line == 6
    assert third.recurrence == "monthly"


def test_xlsx_without_a_recognisable_header_names_sheet_row_and_headers() -> None:
    def build(workbook: openpyxl.Workbook) -> None:
        workbook.active.title = "通讯录"
        workbook.active.append(["姓名", "电话", "科室"])
        workbook.active.append(["张三", "0795-1234567", "综合股"])

    result = parse_plan_bytes("通讯录.xlsx", _xlsx(build))
    (error,) = result.errors
    assert error.line == 1
    assert "工作表“通讯录”" in error.message
    assert "第1行：姓名 | 电话 | 科室" in error.message
    assert "工作任务" in error.message


def test_csv_in_gb18030_from_a_district_office() -> None:
    text = (
        "区政府办2024年政务公开工作任务清单,,,\n"
        "序号,工作任务,责任单位,完成时限\n"
        "一,政策公开,,\n"
        "1,及时公开区政府规范性文件。,区司法局（牵头）、区政府办,长期坚持\n"
        '2,推进重大行政决策预公开。,"区发改委,区财政局",9月底前\n'
    )
    result = parse_plan_bytes("清单.csv", text.encode("gb18030"))
    assert result.layout == "table" and not result.errors
    assert result.year == 2024
    assert [t.title for t in result.actionable] == ["及时公开区政府规范性文件", "推进重大行政决策预公开"]
    assert result.actionable[0].lead_sections == ["区司法局"]


def test_flattened_web_table_in_a_txt_file_is_parsed_as_a_table() -> None:
    text = "| 序号 | 工作任务 | 责任科室 | 时限要求 |\n| 1 | 深化统计数据公开 | 综合股 | 年底前 |\n"
    result = parse_plan_bytes("网页复制.txt", text.encode("gb18030"), year=2023)
    assert result.layout == "table"
    assert [(t.title, t.line) for t in result.actionable] == [("深化统计数据公开", 2)]


def test_txt_preamble_before_a_web_table_gives_title_year_and_parent_doc_number() -> None:
    text = (
        "樟树市统计局2023年政务公开工作任务清单\n"
        "根据《关于印发2023年樟树市政务公开工作要点的通知》（樟府办发〔2023〕28号）制定。\n"
        "\n"
        "| 工作任务 | 责任科室 | 时限要求 |\n"
        "| 深化统计数据公开 | 综合股 | 6月底前 |\n"
    )
    result = parse_plan_bytes("清单.txt", text.encode("gb18030"))
    assert result.layout == "table" and not result.errors
    assert result.year == 2023
    assert result.parent_doc_number == "樟府办发〔2023〕28号"
    (task,) = result.actionable
    assert (task.line, task.due_date) == (5, datetime.date(2023, 6, 30))


def test_text_with_stray_bars_but_no_table_rows_falls_back_to_prose() -> None:
    text = "工作任务 | 责任科室\n" + SAMPLE.read_text(encoding="utf-8")
    result = parse_plan_text(text)
    assert result.layout == "prose"
    assert len(result.actionable) == SAMPLE_TASKS


@pytest.mark.parametrize(
    ("filename", "data", "fragment"),
    [
        ("plan.txt", b"", "空的"),
        ("plan.docx", b"", "空的"),
        ("plan.pdf", b"%PDF-1.7", "不支持的文件类型：.pdf，请上传 .txt/.docx/.xlsx/.csv"),
        ("plan.docx", "一、不是压缩包".encode(), "不是有效的Word 文档"),
        ("plan.xlsx", b"PK\x03\x04" + bytes(100), "不是有效的Excel 工作簿"),
        ("plan.txt", random.Random(1).randbytes(50_000), "文件"),
        ("plan.csv", random.Random(2).randbytes(50_000), "文件"),
        ("plan.docx", random.Random(3).randbytes(50_000), "zip"),
        ("plan.xlsx", random.Random(4).randbytes(50_000), "zip"),
    ],
)
def test_bad_uploads_give_chinese_errors_without_raising(filename: str, data: bytes, fragment: str) -> None:
    result = parse_plan_bytes(filename, data)
    assert result.tasks == []
    assert len(result.errors) == 1 and fragment in result.errors[0].message


@pytest.mark.parametrize("filename", ["big.txt", "big.docx", "big.xlsx", "big.csv"])
def test_big_garbage_is_refused_quickly(filename: str) -> None:
    data = random.Random(5).randbytes(5 * 1024 * 1024)
    started = time.perf_counter()
    result = parse_plan_bytes(filename, data)
    assert result.errors and not result.tasks
    assert time.perf_counter() - started < 5


def test_big_text_without_structure_does_not_blow_up() -> None:
    data = ("无结构的文字" * 20 + "\n").encode() * 20_000
    result = parse_plan_bytes("big.txt", data)
    assert isinstance(result, ParseResult)


def test_internal_parser_failure_becomes_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> ParseResult:
        raise KeyError("bug")

    monkeypatch.setattr("workplan.parsers.tables.parse_table", broken)
    result = parse_plan_bytes("a.csv", "工作任务,责任科室\n数据公开,综合股\n".encode())
    assert result.errors and "内部错误" in result.errors[0].message
