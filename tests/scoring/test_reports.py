"""季度报告与通报的 Word（公文格式 GB/T 9704-2012）和 Excel：版面（A4、页边距、字体字号、红头、文号、页码）、
报告结构与数据（快照优先）、通报的要素、xlsx 数值与防公式注入。页面见 test_report_views.py。"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from scoring.closing import quarter_close
from scoring.reports import gongwen
from scoring.reports.notice_doc import build_notice_docx, notice_title
from scoring.reports.quarterly import (
    SOURCE_LIVE,
    SOURCE_SNAPSHOT,
    QuarterlyOptions,
    collect_quarterly,
    quarterly_title,
    summarize,
)
from scoring.reports.quarterly_doc import build_quarterly_docx, build_quarterly_xlsx, default_next_steps
from scoring.services import scores_compute
from tests.factories import make_evidence, make_report, make_task
from tests.scoring.test_facts import LATE, published_ruleset
from workplan.models import (
    CriticismNotice,
    NoticeStatus,
    NoticeUnit,
    OfficeSettings,
    RectificationItem,
    ReportStatus,
    ReviewState,
    Task,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2023, 4, 10, 9, 0, tzinfo=SHANGHAI)  # 第一季度结束后
NEXT_STEPS = "（一）压实牵头责任。每月调度一次任务进展。\n（二）做好信息发布。按季度发布统计数据。"
TOLERANCE_MM = 0.5


# ---- helpers -------------------------------------------------------------------------------------------


def open_docx(payload: bytes):
    return Document(io.BytesIO(payload))


def texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def paragraph(doc, text: str):
    return next(p for p in doc.paragraphs if p.text == text)


def paragraph_containing(doc, fragment: str):
    return next(p for p in doc.paragraphs if fragment in p.text)


def east_asia(run) -> str:
    return run._r.rPr.rFonts.get(qn("w:eastAsia"))


def mm(length) -> float:
    return length / Mm(1)


def red_bottom_border(p) -> bool:
    bottom = p._p.find(f"{qn('w:pPr')}/{qn('w:pBdr')}/{qn('w:bottom')}")
    return bottom is not None and bottom.get(qn("w:color")) == "FF0000"


def section_text(doc, start: str, end: str | None) -> str:
    lines = texts(doc)
    i = lines.index(start)
    j = lines.index(end) if end else len(lines)
    return "\n".join(lines[i:j])


# ---- data ----------------------------------------------------------------------------------------------


@pytest.fixture
def office_settings(db):
    settings = OfficeSettings.current()
    settings.unit_name = "樟树市统计局"
    settings.notice_prefix = "樟统通"
    settings.save()
    return settings


@pytest.fixture
def quarter_data(plan, sections, office_settings):
    """2023 年计划：一个章节标题下三项任务（已完成、逾期推进中、标题以“=”开头的未启动）；第一季度两份报送
    （一份通过附两份佐证，一份退回）；按已发布的股室细则正式计分 2023Q1。"""
    chapter = make_task(plan, title="推进重点领域信息公开", is_heading=True, number="一、", position=1)
    done = make_task(
        plan,
        title="深化统计数据公开",
        leads=[sections["lead"]],
        responsibles=[sections["resp"]],
        parent=chapter,
        position=2,
        status=ReportStatus.DONE,
        due_date=dt.date(2023, 3, 1),
    )
    late = make_task(
        plan,
        title="做好政策解读",
        leads=[sections["resp"]],
        parent=chapter,
        position=3,
        status=ReportStatus.IN_PROGRESS,
        due_date=dt.date(2023, 2, 1),
    )
    formula = make_task(
        plan, title='=HYPERLINK("http://x")', leads=[sections["other"]], parent=chapter, position=4
    )
    accepted = make_report(
        done,
        sections["lead"],
        status=ReportStatus.DONE,
        review_state=ReviewState.ACCEPTED,
        narrative="已在门户网站发布一季度统计数据12条。数据解读同步上线。",
    )
    make_evidence(accepted)
    make_evidence(accepted, note="解读")
    make_report(late, sections["resp"], review_state=ReviewState.RETURNED, narrative="正在起草。")
    ruleset = published_ruleset()
    run = scores_compute(ruleset_record=ruleset, year=2023, period="Q1", today=LATE)
    return {"plan": plan, "done": done, "late": late, "formula": formula, "run": run, "ruleset": ruleset}


def options(**kwargs) -> QuarterlyOptions:
    values = {
        "next_steps": NEXT_STEPS,
        "signed_on": dt.date(2023, 4, 12),
        "doc_number": "樟统发[2023]5号",
        "cc": "市政务公开办",
    }
    values.update(kwargs)
    return QuarterlyOptions(**values)


@pytest.fixture
def report_doc(quarter_data):
    data = collect_quarterly(plan=quarter_data["plan"], year=2023, quarter=1, today=dt.date(2023, 4, 10))
    return open_docx(build_quarterly_docx(data, options())), data


# ---- pure helpers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("樟统发[2024]3号", "樟统发〔2024〕3号"),
        ("樟统发(2024)3号", "樟统发〔2024〕3号"),
        ("樟统发（2024）3号", "樟统发〔2024〕3号"),
        ("樟统发【2024】3号", "樟统发〔2024〕3号"),
        ("樟统发〔2024〕3号", "樟统发〔2024〕3号"),
    ],
)
def test_doc_numbers_use_hexagonal_brackets(raw, expected):
    assert gongwen.normalize_doc_number(raw) == expected


@pytest.mark.parametrize(
    ("n", "expected"), [(1, "一"), (4, "四"), (10, "十"), (11, "十一"), (20, "二十"), (23, "二十三")]
)
def test_chinese_ordinals(n, expected):
    assert gongwen.cn_number(n) == expected


def test_dates_are_written_in_arabic_numerals_without_padding():
    assert gongwen.cn_date(dt.date(2024, 4, 8)) == "2024年4月8日"


def test_long_narratives_are_cut_at_a_full_stop():
    text = "第一句。" * 10 + "没有句号的长尾" * 30
    assert summarize(text, 60).endswith("。")
    assert summarize("没有句号" * 50, 20).endswith("……")
    assert summarize("  短文本\n换行 ") == "短文本 换行"


def test_the_character_grid_fits_28_characters_in_the_text_block():
    pitch = 16 + gongwen.CHAR_SPACE / 4096
    assert abs(pitch * 28 - 156 / 25.4 * 72) < 0.5


# ---- quarterly report: layout --------------------------------------------------------------------------


def test_page_is_a4_with_the_standard_margins(report_doc):
    doc, _ = report_doc
    section = doc.sections[0]
    for actual, expected in [
        (section.page_width, 210),
        (section.page_height, 297),
        (section.top_margin, 37),
        (section.left_margin, 28),
        (section.right_margin, 26),
        (section.bottom_margin, 35),
    ]:
        assert abs(mm(actual) - expected) <= TOLERANCE_MM, (actual, expected)


def test_body_is_fangsong_16pt_on_a_fixed_line_pitch(report_doc):
    doc, _ = report_doc
    opening = paragraph_containing(doc, "现将樟树市统计局2023年第一季度政务公开工作情况报告如下")
    assert all("仿宋" in east_asia(r) and r.font.size == Pt(16) for r in opening.runs)
    assert opening.paragraph_format.first_line_indent == Pt(32)  # 首行空二字
    overview = paragraph_containing(doc, "完成率")
    heading, body = overview.runs
    assert "楷体" in east_asia(heading) and "仿宋" in east_asia(body)
    assert heading.font.size == body.font.size == Pt(16)
    normal = doc.styles["Normal"]
    assert "仿宋" in normal.element.rPr.rFonts.get(qn("w:eastAsia"))
    assert normal.font.size == Pt(16)
    assert abs(normal.paragraph_format.line_spacing.pt - 28.95) < 0.05


def test_title_is_22pt_xiaobiaosong_centred(report_doc):
    doc, data = report_doc
    title = paragraph(doc, "樟树市统计局2023年第一季度政务公开工作情况")
    assert title.text == quarterly_title(data)
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert all(r.font.size == Pt(22) and "小标宋" in east_asia(r) for r in title.runs)


def test_issuer_mark_and_separator_are_red(report_doc):
    doc, _ = report_doc
    mark = paragraph(doc, "樟树市统计局文件")
    assert mark.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert all(str(r.font.color.rgb) == "FF0000" and "小标宋" in east_asia(r) for r in mark.runs)
    separators = [p for p in doc.paragraphs if red_bottom_border(p)]
    assert len(separators) == 1
    # the red line sits under the 文号, between the issuer mark and the title
    lines = texts(doc)
    assert (
        lines.index("樟树市统计局文件")
        < lines.index(separators[0].text)
        < lines.index(quarterly_title(report_doc[1]))
    )


def test_doc_number_is_centred_with_hexagonal_brackets(report_doc):
    doc, _ = report_doc
    number = paragraph(doc, "樟统发〔2023〕5号")
    assert "〔" in number.text and "〕" in number.text
    assert number.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert red_bottom_border(number)


def test_footer_shows_the_page_field_between_em_dashes(report_doc):
    doc, _ = report_doc
    for footer in (doc.sections[0].footer, doc.sections[0].even_page_footer):
        xml = footer._element.xml
        instr = [el.text for el in footer._element.iter(qn("w:instrText"))]
        assert any(i.strip() == "PAGE" for i in instr), xml
        text = "".join(t.text for t in footer._element.iter(qn("w:t")))
        assert text.startswith("— ") and text.endswith(" —")
        runs = list(footer._element.iter(qn("w:r")))
        assert all(r.find(f"{qn('w:rPr')}/{qn('w:sz')}").get(qn("w:val")) == "28" for r in runs)  # 4号
    assert doc.settings.odd_and_even_pages_header_footer


def test_headings_come_in_order_in_heiti(report_doc):
    doc, _ = report_doc
    lines = texts(doc)
    order = [lines.index(h) for h in ("一、总体情况", "二、存在的问题", "三、下一步工作")]
    assert order == sorted(order)
    for h in ("一、总体情况", "二、存在的问题", "三、下一步工作"):
        assert all(east_asia(r) == "黑体" for r in paragraph(doc, h).runs)
    kaiti = paragraph_containing(doc, "（一）任务完成情况。").runs[0]
    assert "楷体" in east_asia(kaiti)


def test_overview_counts_tasks_reports_and_says_when_there_is_no_data(report_doc):
    doc, data = report_doc
    overview = section_text(doc, "一、总体情况", "二、存在的问题")
    assert "工作任务3项" in overview and "已完成1项" in overview and "完成率33.3%" in overview
    assert "推进中1项" in overview and "未启动1项" in overview and "逾期未完成1项" in overview
    assert "报送进展情况2份，审核通过1份，退回修改1份" in overview
    assert "本季度无主动公开信息数量记录" in overview
    assert "本季度无政府信息公开申请记录" in overview
    # 重点任务推进: lead, status, narrative, evidence
    assert "牵头股室：综合股；进展状态：已完成。已在门户网站发布一季度统计数据12条。" in overview
    assert "佐证材料2份" in overview
    assert "进展状态：推进中（已逾期）" in overview


def test_problems_come_from_the_ledger_by_indicator(report_doc, quarter_data):
    doc, data = report_doc
    problems = section_text(doc, "二、存在的问题", "三、下一步工作")
    assert data.deductions
    assert "重点任务按期完成" in problems  # indicator A1's name
    assert "法规股：工作要点任务逾期未完成" in problems
    assert "合计扣" in problems


def test_typed_next_steps_are_used(report_doc):
    doc, _ = report_doc
    steps = section_text(doc, "三、下一步工作", None)
    assert "（一）压实牵头责任。每月调度一次任务进展。" in steps
    assert "（二）做好信息发布。按季度发布统计数据。" in steps
    line = paragraph_containing(doc, "（一）压实牵头责任。")
    assert "楷体" in east_asia(line.runs[0]) and "仿宋" in east_asia(line.runs[1])


def test_attachments_signature_and_imprint(report_doc):
    doc, _ = report_doc
    lines = texts(doc)
    assert "附件：1. 2023年第一季度重点任务推进情况表" in lines
    assert "2. 2023年第一季度政务公开考核得分表" in lines
    assert lines.index("樟树市统计局") < lines.index("2023年4月12日")
    assert "附件1" in lines and "附件2" in lines
    assert paragraph(doc, "附件1").paragraph_format.page_break_before
    assert "抄送：市政务公开办。" in lines
    assert "樟树市统计局办公室\t2023年4月12日印发" in lines


def test_task_table_has_one_row_per_task_with_leads_and_status(report_doc, quarter_data):
    doc, data = report_doc
    table = doc.tables[0]
    header = [c.text for c in table.rows[0].cells]
    assert header[:5] == ["序号", "工作任务", "牵头股室", "责任股室", "进展状态"]
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert len(rows) == Task.objects.filter(plan=quarter_data["plan"], is_heading=False).count() == 3
    assert [(r[1], r[2], r[4]) for r in rows] == [
        ("深化统计数据公开", "综合股", "已完成"),
        ("做好政策解读", "法规股", "推进中（逾期）"),
        ('=HYPERLINK("http://x")', "农业股", "未启动"),
    ]
    assert rows[0][3] == "法规股" and rows[0][6] == "2"
    cell_run = table.rows[1].cells[1].paragraphs[0].runs[0]
    assert "仿宋" in east_asia(cell_run)
    assert table.style.name == "Table Grid"


def test_score_table_lists_every_section(report_doc):
    doc, data = report_doc
    table = doc.tables[1]
    assert [c.text for c in table.rows[0].cells][:4] == ["名次", "股室", "总分", "等次"]
    assert len(table.rows) - 1 == len(data.scores) == 4


def test_default_next_steps_mention_open_and_overdue_tasks(quarter_data):
    data = collect_quarterly(plan=quarter_data["plan"], year=2023, quarter=1, today=dt.date(2023, 4, 10))
    text = default_next_steps(data)
    assert "尚未完成的2项任务" in text and "其中1项已逾期" in text
    assert "抓好问题整改" in text


def test_published_items_and_applications_come_from_the_registers(quarter_data, sections, office_user):
    from tests.factories import make_application
    from workplan.models import PublicationItem

    def published(section, day, state="published"):
        return PublicationItem(
            section=section,
            title="统计公报",
            column="统计公报",
            formed_on=day,
            due_on=day,
            state=state,
            published_on=day if state == "published" else None,
        )

    PublicationItem.objects.bulk_create(
        [published(sections["lead"], dt.date(2023, 2, 1)) for _ in range(7)]
        + [published(sections["resp"], dt.date(2023, 3, 31)) for _ in range(5)]
        + [published(sections["resp"], dt.date(2023, 4, 1))]  # next quarter
        + [published(sections["resp"], dt.date(2023, 3, 1), state="draft")]  # not published
    )
    make_application(sections["lead"], received_on=dt.date(2023, 3, 2))
    data = collect_quarterly(plan=quarter_data["plan"], year=2023, quarter=1, today=dt.date(2023, 4, 10))
    assert data.published_items == Decimal(12)
    assert data.applications == Decimal(1)
    doc = open_docx(build_quarterly_docx(data, options()))
    assert "本季度主动公开政府信息12条" in section_text(doc, "一、总体情况", "二、存在的问题")


def test_without_a_score_run_the_report_says_so(plan, sections, office_settings):
    make_task(plan, title="任务甲", leads=[sections["lead"]])
    data = collect_quarterly(plan=plan, year=2023, quarter=2, today=dt.date(2023, 7, 10))
    assert not data.scored and data.scores == []
    doc = open_docx(build_quarterly_docx(data, options(doc_number="")))
    assert "本季度尚未进行考核计分，暂无扣分情况。" in texts(doc)
    assert "本季度尚未计分。" in texts(doc)
    assert len(doc.tables[1].rows) == 1
    assert len([p for p in doc.paragraphs if red_bottom_border(p)]) == 1  # the red line stays


def test_closed_quarter_uses_the_snapshot(quarter_data, office_user):
    with time_machine.travel(NOW, tick=False):
        quarter_close(year=2023, quarter=1, run=quarter_data["run"], user=office_user)
    formula = quarter_data["formula"]
    formula.status = ReportStatus.DONE  # changed after closing: the report must not see it
    formula.save(update_fields=["status"])
    data = collect_quarterly(plan=quarter_data["plan"], year=2023, quarter=1, today=dt.date(2023, 5, 1))
    assert data.source == SOURCE_SNAPSHOT
    assert data.done == 1
    assert [t.status for t in data.tasks] == [
        ReportStatus.DONE,
        ReportStatus.IN_PROGRESS,
        ReportStatus.NOT_STARTED,
    ]
    assert data.tasks[0].chapter == "一、推进重点领域信息公开"
    assert data.tasks[0].evidence_count == 2
    assert data.reports_returned == 1
    assert {s.section for s in data.scores} == {"办公室", "综合股", "法规股", "农业股"}
    live = collect_quarterly(plan=quarter_data["plan"], year=2023, quarter=2, today=dt.date(2023, 5, 1))
    assert live.source == SOURCE_LIVE and live.done == 2


def test_reversed_snapshot_lines_are_not_reported_as_problems(quarter_data, sections, office_user, resp_user):
    from scoring.appeals import appeal_decide, appeal_submit
    from scoring.models import SnapshotLedgerLine

    with time_machine.travel(NOW, tick=False):
        close = quarter_close(year=2023, quarter=1, run=quarter_data["run"], user=office_user)
        line = SnapshotLedgerLine.objects.get(close=close, section=sections["resp"], rule_code="A1-1")
        appeal = appeal_submit(line=line, user=resp_user, reason="已按期完成，系统状态未更新")
        appeal_decide(appeal=appeal, accept=True, reason="情况属实", user=office_user)
    data = collect_quarterly(plan=quarter_data["plan"], year=2023, quarter=1, today=dt.date(2023, 4, 10))
    assert data.source == SOURCE_SNAPSHOT
    assert not any(d.section == "法规股" and "逾期未完成" in d.reason for d in data.deductions)
    assert all("冲回" not in d.reason for d in data.deductions)
    resp = next(s for s in data.scores if s.section == "法规股")
    assert resp.total == close.scores.get(section=sections["resp"]).adjusted_total
    before = sum(
        -points
        for points in close.lines.filter(section=sections["resp"], points__lt=0, reverses=None).values_list(
            "points", flat=True
        )
    )
    assert resp.deducted == before + line.points


def test_live_and_snapshot_describe_the_same_quarter_alike(quarter_data, office_user):
    live = collect_quarterly(plan=quarter_data["plan"], year=2023, quarter=1, today=dt.date(2023, 4, 10))
    with time_machine.travel(NOW, tick=False):
        quarter_close(year=2023, quarter=1, run=quarter_data["run"], user=office_user)
    snap = collect_quarterly(plan=quarter_data["plan"], year=2023, quarter=1, today=dt.date(2023, 4, 10))
    assert live.tasks == snap.tasks
    assert live.deductions == snap.deductions
    assert [(s.section, s.total, s.deducted) for s in live.scores] == [
        (s.section, s.total, s.deducted) for s in snap.scores
    ]


@pytest.mark.parametrize("extra", [0, 30])
def test_collecting_takes_a_fixed_number_of_queries(
    quarter_data, sections, extra, django_assert_max_num_queries
):
    for i in range(extra):
        task = make_task(quarter_data["plan"], title=f"附加任务{i}", leads=[sections["lead"]])
        make_evidence(make_report(task, sections["lead"]))
    with django_assert_max_num_queries(12):
        data = collect_quarterly(plan=quarter_data["plan"], year=2023, quarter=1, today=dt.date(2023, 4, 10))
    assert data.total == 3 + extra


# ---- xlsx ----------------------------------------------------------------------------------------------


def test_xlsx_has_two_sheets_with_numbers_and_neutralised_text(quarter_data):
    data = collect_quarterly(plan=quarter_data["plan"], year=2023, quarter=1, today=dt.date(2023, 4, 10))
    book = openpyxl.load_workbook(io.BytesIO(build_quarterly_xlsx(data)))
    assert book.sheetnames == ["任务推进情况", "考核得分"]
    tasks = list(book["任务推进情况"].iter_rows(values_only=True))
    assert tasks[0][0] == "序号" and len(tasks) == 4
    first, _, formula = tasks[1:]
    assert first[0] == 1 and isinstance(first[10], int) and first[10] == 2
    assert first[5] == "综合股" and first[7] == "已完成"
    assert formula[4] == '\'=HYPERLINK("http://x")'
    scores = list(book["考核得分"].iter_rows(values_only=True))
    assert scores[0][:3] == ("名次", "股室", "总分")
    assert len(scores) == 5
    assert all(isinstance(row[0], int) and isinstance(row[2], (int, float)) for row in scores[1:])
    assert all(isinstance(row[4], (int, float)) for row in scores[1:])


# ---- 通报 ----------------------------------------------------------------------------------------------


@pytest.fixture
def notice(quarter_data, sections, office_user):
    n = CriticismNotice.objects.create(
        year=2023,
        quarter=1,
        title="政务公开工作任务落实",
        period_label="2023年第一季度",
        recipients="局机关各股室",
        rectification_deadline=dt.date(2023, 5, 10),
        contact="张三，0795-7123456",
        cc="市政务公开办",
        created_by=office_user,
    )
    NoticeUnit.objects.create(notice=n, section=sections["resp"], problems="政策解读任务逾期未完成")
    NoticeUnit.objects.create(notice=n, section=sections["other"], problems="进展报送被退回两次")
    RectificationItem.objects.create(
        notice=n,
        section=sections["resp"],
        task=quarter_data["late"],
        description="完成政策解读并在门户网站发布",
        deadline=dt.date(2023, 5, 10),
    )
    return n


def test_notice_title_takes_the_standard_form(notice):
    assert notice_title(notice) == "关于2023年第一季度政务公开工作任务落实情况的通报"
    notice.title = "关于2023年第一季度政务公开工作情况的通报"
    assert notice_title(notice) == notice.title


def test_notice_docx_has_the_standard_parts(notice):
    doc = open_docx(build_notice_docx(notice, today=dt.date(2023, 4, 20)))
    lines = texts(doc)
    title = paragraph(doc, "关于2023年第一季度政务公开工作任务落实情况的通报")
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER and title.runs[0].font.size == Pt(22)
    assert "樟树市统计局文件" in lines
    number = paragraph_containing(doc, "樟统通〔2023〕")
    assert red_bottom_border(number)
    assert "局机关各股室：" in lines
    opening = lines[lines.index("局机关各股室：") + 1]
    assert "《政务公开工作要点》" in opening and "第四十七条" in opening
    assert "2023年度股室政务公开工作考核评分细则" in opening
    order = [lines.index(h) for h in ("一、总体情况", "二、存在问题", "三、处理意见", "四、整改要求")]
    assert order == sorted(order)
    problems = section_text(doc, "二、存在问题", "三、处理意见")
    assert "法规股" in problems and "农业股" in problems
    assert "政策解读任务逾期未完成" in problems
    assert "2023年第一季度考核扣" in problems  # 法规股 lost points for the overdue task
    opinion = section_text(doc, "三、处理意见", "四、整改要求")
    assert "对法规股、农业股予以通报批评" in opinion
    requirements = section_text(doc, "四、整改要求", "附件：被通报股室问题及整改事项清单")
    assert "2023年5月10日前" in requirements and "整改报告" in requirements
    assert "联系人及电话：张三，0795-7123456。" in requirements
    assert lines.index("樟树市统计局") < lines.index("2023年4月20日")
    table = doc.tables[0]
    assert [c.text for c in table.rows[1].cells] == [
        "1",
        "法规股",
        "完成政策解读并在门户网站发布",
        "做好政策解读",
        "2023年5月10日",
    ]
    assert "抄送：市政务公开办。" in lines
    footer = doc.sections[0].footer._element
    assert any(el.text.strip() == "PAGE" for el in footer.iter(qn("w:instrText")))


def test_issued_notice_keeps_its_own_texts_and_number(notice, office_user):
    notice.status = NoticeStatus.ISSUED
    notice.doc_number = "樟统通(2023)2号"
    notice.issued_at = dt.datetime(2023, 4, 25, 10, 0, tzinfo=SHANGHAI)
    notice.handling_opinion = "责令限期整改。"
    notice.requirements = "请于2023年5月10日前完成整改。"
    notice.save()
    doc = open_docx(build_notice_docx(notice, today=dt.date(2023, 6, 1)))
    lines = texts(doc)
    assert "樟统通〔2023〕2号" in lines
    opinion = section_text(doc, "三、处理意见", "四、整改要求")
    assert "予以通报批评" in opinion and "责令限期整改。" in opinion
    assert "请于2023年5月10日前完成整改。" in lines
    assert "2023年4月25日" in lines
