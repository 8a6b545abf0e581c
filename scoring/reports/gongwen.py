"""公文版式（GB/T 9704-2012《党政机关公文格式》）：A4 版心 156×225 mm，正文 3号仿宋、每面 22 行每行 28 字，
红色发文机关标志与红色分隔线，文号用六角括号〔〕，标题 2号小标宋，页码“— 1 —”，版记（抄送、印发）。

GongwenDocument 按公文要素的先后提供方法，季度报告与通报共用。
"""

from __future__ import annotations

import copy
import datetime
import io
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

# ---- the standard's measurements -----------------------------------------------------------------------

PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210, 297
TOP_MM, BOTTOM_MM, LEFT_MM, RIGHT_MM = 37, 35, 28, 26  # 版心 156 × 225 mm
TEXT_WIDTH_MM = PAGE_WIDTH_MM - LEFT_MM - RIGHT_MM
LINES_PER_PAGE, CHARS_PER_LINE = 22, 28

BODY_FONT = "仿宋_GB2312"  # 3号仿宋：正文、文号、署名、日期
TITLE_FONT = "方正小标宋简体"  # 2号小标宋：标题；发文机关标志
HEI_FONT = "黑体"  # 一级标题“一、”，附件标识
KAI_FONT = "楷体_GB2312"  # 二级标题“（一）”
SONG_FONT = "宋体"  # 页码：4号半角宋体
LATIN_FONT = "Times New Roman"  # 正文中的阿拉伯数字与西文

SIZE_2 = 22.0  # 二号
SIZE_3 = 16.0  # 三号
SIZE_4 = 14.0  # 四号
SIZE_SMALL_4 = 12.0  # 小四：附件表格
RED = "FF0000"

# 225 mm / 22 lines ≈ 28.95 pt (579 twips): the fixed line pitch that puts 22 lines on a page.
LINE_PITCH_PT = 28.95
# Character grid: 28 characters of 3号 in 156 mm → pitch 15.79 pt; Word stores the difference from the
# default font size in 1/4096 pt.
CHAR_SPACE = round((TEXT_WIDTH_MM / 25.4 * 72 / CHARS_PER_LINE - SIZE_3) * 4096)

CHINESE_DIGITS = "〇一二三四五六七八九"
EM_DASH = "—"

_PPR_ORDER = (
    "w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl", "w:numPr",
    "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
    "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
    "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap",
    "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId",
    "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip

_HEADING_1 = re.compile(r"^[一二三四五六七八九十]+、")
_HEADING_2 = re.compile(r"^[（(][一二三四五六七八九十]+[)）]")
_YEAR_BRACKETS = re.compile(r"[\[［(（【〔]\s*(\d{4})\s*[\]］)）】〕]")


# ---- small text helpers (pure) -------------------------------------------------------------------------


def cn_date(day: datetime.date) -> str:
    """成文日期用阿拉伯数字，年份写全，月、日不编虚位：2024年4月8日。"""
    return f"{day.year}年{day.month}月{day.day}日"


def cn_number(n: int) -> str:
    """1–99 的汉字序数（一、十一、二十三），用于“一、”“（一）”与“第一季度”。"""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    if tens == 0:
        return CHINESE_DIGITS[ones]
    head = "" if tens == 1 else CHINESE_DIGITS[tens]
    return f"{head}十{CHINESE_DIGITS[ones] if ones else ''}"


def normalize_doc_number(text: str) -> str:
    """文号中的年份一律用六角括号：樟统发[2024]3号、樟统发(2024)3号 → 樟统发〔2024〕3号。"""
    return _YEAR_BRACKETS.sub(lambda m: f"〔{m.group(1)}〕", text.strip())


def text_width(text: str) -> float:
    """以 3号汉字宽度为 1 计的文字宽度（半角字符算 0.5）。"""
    return sum(0.5 if ord(ch) < 0x2E80 else 1.0 for ch in text)


# ---- XML helpers ---------------------------------------------------------------------------------------


def _set_ppr(p_pr: Any, element: Any) -> None:
    """把元素放进 w:pPr 中 schema 规定的位置（Word 对子元素顺序是严格的）；同名元素先删除。"""
    tag = element.tag
    for old in p_pr.findall(tag):
        p_pr.remove(old)
    order = [qn(t) for t in _PPR_ORDER]
    after = order[order.index(tag) + 1 :] if tag in order else []
    for child in p_pr:
        if child.tag in after:
            child.addprevious(element)
            return
    p_pr.append(element)


def _on_off(tag: str, value: bool) -> Any:
    el = OxmlElement(tag)
    el.set(qn("w:val"), "1" if value else "0")
    return el


def _set_fonts(r_pr: Any, east_asia: str, latin: str) -> None:
    fonts = r_pr.get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:cs"), latin)


def _border(p_pr: Any, *, sides: dict[str, tuple[int, str, int]]) -> None:
    """段落边框：{side: (粗细 1/8 磅, 颜色, 与文字的距离 磅)}。"""
    borders = OxmlElement("w:pBdr")
    for side in ("top", "left", "bottom", "right"):
        if side in sides:
            size, color, space = sides[side]
            el = OxmlElement(f"w:{side}")
            el.set(qn("w:val"), "single")
            el.set(qn("w:sz"), str(size))
            el.set(qn("w:space"), str(space))
            el.set(qn("w:color"), color)
            borders.append(el)
    _set_ppr(p_pr, borders)


def _add_field(paragraph: Paragraph, instruction: str, placeholder: str, rpr_from: Any) -> None:
    """插入域（如 PAGE）：begin / instrText / separate / 占位结果 / end，每段都带相同的字体格式。"""

    def run_with(child: Any | None, text: str | None = None) -> None:
        run = paragraph.add_run(text or "")
        run._r.insert(0, copy.deepcopy(rpr_from))
        if child is not None:
            run._r.append(child)

    for kind, instr in (("begin", None), (None, instruction), ("separate", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {instr} "
        run_with(el)
    run_with(None, placeholder)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


# ---- the document --------------------------------------------------------------------------------------


class GongwenDocument:
    """一份公文：按版头 → 主体 → 附件 → 版记的顺序调用各方法，最后 to_bytes()。"""

    def __init__(self) -> None:
        self.doc = Document()
        self._setup_page()
        self._setup_defaults()
        self._setup_page_numbers()

    # ---- page, defaults, page numbers ----

    def _setup_page(self) -> None:
        section = self.doc.sections[0]
        section.start_type = WD_SECTION.NEW_PAGE
        section.page_width, section.page_height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
        section.top_margin, section.bottom_margin = Mm(TOP_MM), Mm(BOTTOM_MM)
        section.left_margin, section.right_margin = Mm(LEFT_MM), Mm(RIGHT_MM)
        section.header_distance = Mm(15)
        # 页码“一字线上距版心下边缘 7 mm”：4号字一行约 5 mm，页脚底边距纸边约 35 − 7 − 5 = 23 mm。
        section.footer_distance = Mm(23)
        grid = section._sectPr.find(qn("w:docGrid"))
        if grid is None:
            grid = OxmlElement("w:docGrid")
            section._sectPr.append(grid)
        grid.set(qn("w:type"), "linesAndChars")
        grid.set(qn("w:linePitch"), str(round(LINE_PITCH_PT * 20)))
        grid.set(qn("w:charSpace"), str(CHAR_SPACE))

    def _setup_defaults(self) -> None:
        styles = self.doc.styles
        defaults = styles.element.find(qn("w:docDefaults"))
        r_pr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
        _set_fonts(r_pr, BODY_FONT, LATIN_FONT)
        for el in r_pr.findall(qn("w:sz")) + r_pr.findall(qn("w:szCs")):
            el.set(qn("w:val"), str(int(SIZE_3 * 2)))
        lang = r_pr.find(qn("w:lang"))
        if lang is not None:
            lang.set(qn("w:val"), "en-US")
            lang.set(qn("w:eastAsia"), "zh-CN")
        spacing = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr")).find(qn("w:spacing"))
        if spacing is not None:
            spacing.set(qn("w:after"), "0")
            spacing.set(qn("w:line"), str(round(LINE_PITCH_PT * 20)))
            spacing.set(qn("w:lineRule"), "exact")
        theme_lang = self.doc.settings.element.find(qn("w:themeFontLang"))
        if theme_lang is not None:
            theme_lang.set(qn("w:eastAsia"), "zh-CN")

        normal = styles["Normal"]
        _set_fonts(normal.element.get_or_add_rPr(), BODY_FONT, LATIN_FONT)
        normal.font.size = Pt(SIZE_3)
        fmt = normal.paragraph_format
        fmt.line_spacing = Pt(LINE_PITCH_PT)
        fmt.space_before = fmt.space_after = Pt(0)
        fmt.first_line_indent = Pt(SIZE_3 * 2)
        fmt.widow_control = False  # 22 行的版面不因孤行控制而少排一行
        fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        for name in ("Footer", "Header"):
            style = styles[name]
            _set_fonts(style.element.get_or_add_rPr(), SONG_FONT, SONG_FONT)
            style.paragraph_format.first_line_indent = Pt(0)

    def _setup_page_numbers(self) -> None:
        """页码：4号半角宋体阿拉伯数字，左右各一条一字线；单页居右空一字，双页居左空一字。"""
        self.doc.settings.odd_and_even_pages_header_footer = True
        section = self.doc.sections[0]
        for footer, align in (
            (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
            (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
        ):
            footer.is_linked_to_previous = False
            p = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
            p.style = self.doc.styles["Footer"]
            fmt = p.paragraph_format
            fmt.alignment = align
            fmt.first_line_indent = Pt(0)
            fmt.line_spacing = 1.0
            if align == WD_ALIGN_PARAGRAPH.RIGHT:
                fmt.right_indent = Pt(SIZE_4)
            else:
                fmt.left_indent = Pt(SIZE_4)
            _set_ppr(p._p.get_or_add_pPr(), _on_off("w:snapToGrid", False))
            first = self._run(p, f"{EM_DASH} ", font=SONG_FONT, latin=SONG_FONT, size=SIZE_4)
            _add_field(p, "PAGE", "1", first._r.rPr)
            self._run(p, f" {EM_DASH}", font=SONG_FONT, latin=SONG_FONT, size=SIZE_4)

    # ---- building blocks ----

    def _run(
        self,
        paragraph: Paragraph,
        text: str,
        *,
        font: str = BODY_FONT,
        latin: str = LATIN_FONT,
        size: float = SIZE_3,
        bold: bool = False,
        color: str = "",
    ) -> Any:
        run = paragraph.add_run(text)
        _set_fonts(run._r.get_or_add_rPr(), font, latin)
        run.font.size = Pt(size)
        if bold:
            run.font.bold = True
        if color:
            run.font.color.rgb = RGBColor.from_string(color)
        return run

    def _paragraph(
        self,
        *,
        align: Any = None,
        indent_chars: float = 2,
        left_chars: float = 0,
        right_chars: float = 0,
        line: float | None = LINE_PITCH_PT,
        snap: bool = True,
        keep_next: bool = False,
        page_break_before: bool = False,
        char_size: float = SIZE_3,
    ) -> Paragraph:
        p = self.doc.add_paragraph()
        fmt = p.paragraph_format
        if align is not None:
            fmt.alignment = align
        fmt.first_line_indent = Pt(char_size * indent_chars)
        if left_chars:
            fmt.left_indent = Pt(char_size * left_chars)
        if right_chars:
            fmt.right_indent = Pt(char_size * right_chars)
        fmt.line_spacing = Pt(line) if line else 1.0
        if keep_next:
            fmt.keep_with_next = True
        if page_break_before:
            fmt.page_break_before = True
        if not snap:
            # Larger or smaller characters than 3号 would take whole grid cells and spread out.
            _set_ppr(p._p.get_or_add_pPr(), _on_off("w:snapToGrid", False))
        return p

    def blank(self, count: int = 1) -> None:
        for _ in range(count):
            self._paragraph(indent_chars=0)

    # ---- 版头 ----

    def letterhead(self, *, issuer_mark: str, doc_number: str) -> None:
        """发文机关标志（红色小标宋，居中，上边缘距版心 35 mm）、空一行、文号（居中）及其下 4 mm 的
        红色分隔线。

        红色分隔线是文号段落的下边框（与版心等宽）；没有文号时仍保留该段落与分隔线。
        """
        size = max(26.0, min(52.0, 436.0 / max(text_width(issuer_mark), 1)))
        mark = self._paragraph(
            align=WD_ALIGN_PARAGRAPH.CENTER, indent_chars=0, line=None, snap=False, keep_next=True
        )
        mark.paragraph_format.space_before = Mm(35)
        self._run(mark, issuer_mark, font=TITLE_FONT, latin=TITLE_FONT, size=size, color=RED)
        self.blank()
        number = self._paragraph(align=WD_ALIGN_PARAGRAPH.CENTER, indent_chars=0)
        if doc_number:
            self._run(number, normalize_doc_number(doc_number))
        _border(number._p.get_or_add_pPr(), sides={"bottom": (12, RED, 11)})
        self.blank(2)

    def title(self, text: str) -> None:
        """标题：2号小标宋，居中；下空一行。"""
        p = self._paragraph(
            align=WD_ALIGN_PARAGRAPH.CENTER, indent_chars=0, line=35, snap=False, keep_next=True
        )
        self._run(p, text, font=TITLE_FONT, latin=TITLE_FONT, size=SIZE_2)
        self.blank()

    def recipients(self, text: str) -> None:
        """主送机关：标题下空一行，顶格，以全角冒号结尾。"""
        if not text.strip():
            return
        p = self._paragraph(indent_chars=0)
        self._run(p, text.strip().rstrip("：:") + "：")

    # ---- 正文 ----

    def para(self, text: str) -> Paragraph:
        """正文段落：首行空二字。"""
        p = self._paragraph()
        self._run(p, text)
        return p

    def heading1(self, text: str) -> Paragraph:
        """一级标题“一、”：黑体。"""
        p = self._paragraph(keep_next=True)
        self._run(p, text, font=HEI_FONT, latin=HEI_FONT)
        _set_ppr(p._p.get_or_add_pPr(), self._outline(0))
        return p

    def heading2(self, text: str, body: str = "") -> Paragraph:
        """二级标题“（一）”：楷体；标题后可在同一段接排正文（仿宋）。"""
        p = self._paragraph(keep_next=not body)
        self._run(p, text, font=KAI_FONT, latin=KAI_FONT)
        if body:
            self._run(p, body)
        _set_ppr(p._p.get_or_add_pPr(), self._outline(1))
        return p

    def heading3(self, text: str, body: str = "") -> Paragraph:
        """三级标题“1.”与四级“（1）”：仿宋，标题后接排正文。"""
        p = self._paragraph(keep_next=not body)
        self._run(p, text)
        if body:
            self._run(p, body)
        return p

    @staticmethod
    def _outline(level: int) -> Any:
        el = OxmlElement("w:outlineLvl")
        el.set(qn("w:val"), str(level))
        return el

    def text_block(self, text: str) -> None:
        """用户输入的多行文字：每行一段；“一、”行为一级标题，“（一）”行的首句为二级标题（楷体），其余为正文。"""
        for raw in text.splitlines():
            line = raw.strip()
            if not line:
                continue
            if _HEADING_1.match(line) and len(line) <= 40:
                self.heading1(line)
            elif _HEADING_2.match(line):
                head, sep, rest = line.partition("。")
                if sep and rest:
                    self.heading2(head + sep, rest)
                else:
                    self.heading2(line)
            else:
                self.para(line)

    def attachment_note(self, names: Sequence[str]) -> None:
        """附件说明：正文下空一行左空二字编排“附件：”，多个附件用阿拉伯数字标注顺序号，回行与名称首字对齐。"""
        if not names:
            return
        self.blank()
        if len(names) == 1:
            p = self._paragraph(indent_chars=-3, left_chars=5)
            self._run(p, f"附件：{names[0]}")
            return
        for i, name in enumerate(names, 1):
            p = self._paragraph(indent_chars=-1.5 if i > 1 else -4.5, left_chars=6.5)
            self._run(p, f"附件：{i}. {name}" if i == 1 else f"{i}. {name}")

    def signature(self, *, name: str, signed_on: datetime.date) -> None:
        """署名与成文日期（不加盖印章）：正文（或附件说明）下空一行；成文日期右空四字，署名以成文日期为准居中；
        署名长于日期时署名右空二字、日期在署名下居中。"""
        date_text = cn_date(signed_on)
        name_w, date_w = text_width(name), text_width(date_text)
        date_right = 4.0
        name_right = date_right + (date_w - name_w) / 2
        if name_right < 2:
            name_right = 2.0
            date_right = name_right + (name_w - date_w) / 2
        self.blank()
        for text, right in ((name, name_right), (date_text, date_right)):
            p = self._paragraph(
                align=WD_ALIGN_PARAGRAPH.RIGHT, indent_chars=0, right_chars=right, keep_next=True
            )
            self._run(p, text)

    def remark(self, text: str) -> None:
        """附注：成文日期下一行，居左空二字加圆括号。"""
        if text.strip():
            self.para(f"（{text.strip().strip('（）()')}）")

    # ---- 附件 ----

    def attachment(self, number: int | None, title: str) -> None:
        """附件另面编排：“附件1”用3号黑体顶格编排在版心左上角第一行，附件标题居中编排在第三行。"""
        label = f"附件{number}" if number else "附件"
        p = self._paragraph(indent_chars=0, page_break_before=True)
        self._run(p, label, font=HEI_FONT, latin=HEI_FONT)
        self.blank()
        self.title(title)

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        widths_mm: Sequence[float] | None = None,
        size: float = SIZE_SMALL_4,
    ) -> Table:
        """附件表格：仿宋（表头黑体），单线边框，表头在每页重复；宽度为版心宽度。"""
        cols = len(headers)
        widths = list(widths_mm) if widths_mm else [TEXT_WIDTH_MM / cols] * cols
        scale = TEXT_WIDTH_MM / sum(widths)
        widths = [w * scale for w in widths]
        table = self.doc.add_table(rows=1 + len(rows), cols=cols)
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        header_tr_pr = table.rows[0]._tr.get_or_add_trPr()
        header_tr_pr.append(_on_off("w:tblHeader", True))
        # table.cell(r, c) rebuilds the whole cell grid on every call (quadratic: 400 rows took 98 s); the
        # table has no merged cells, so the grid read once is row-major.
        grid = table._cells
        for r, values in enumerate([list(headers), *[list(row) for row in rows]]):
            for c, value in enumerate(values):
                cell = grid[r * cols + c]
                cell.width = Mm(widths[c])
                p = cell.paragraphs[0]
                fmt = p.paragraph_format
                fmt.first_line_indent = Pt(0)
                fmt.line_spacing = 1.0
                fmt.alignment = (
                    WD_ALIGN_PARAGRAPH.CENTER if r == 0 or _short(value) else WD_ALIGN_PARAGRAPH.LEFT
                )
                _set_ppr(p._p.get_or_add_pPr(), _on_off("w:snapToGrid", False))
                font = HEI_FONT if r == 0 else BODY_FONT
                self._run(p, _cell_text(value), font=font, latin=font if r == 0 else LATIN_FONT, size=size)
        return table

    def note(self, text: str, *, size: float = SIZE_SMALL_4) -> None:
        """表格下的说明（小四仿宋，不受 3号网格约束）。"""
        p = self._paragraph(indent_chars=0, line=None, snap=False, char_size=size)
        self._run(p, text, size=size)

    # ---- 版记 ----

    def imprint(self, *, cc: str, printer: str, printed_on: datetime.date) -> None:
        """版记：抄送（4号仿宋，左右各空一字，“抄送：”后标全角冒号，末尾句号）与印发机关、印发日期；
        首条与末条分隔线为粗线（0.35 mm），中间为细线（0.25 mm）。"""
        self.blank()
        thick, thin = (8, "000000", 1), (6, "000000", 1)
        kwargs: dict[str, Any] = {
            "indent_chars": 0,
            "left_chars": 1,
            "right_chars": 1,
            "snap": False,
            "char_size": SIZE_4,
            "line": LINE_PITCH_PT,
        }
        if cc.strip():
            p = self._paragraph(**kwargs, keep_next=True)
            text = cc.strip().rstrip("。.；;")
            self._run(p, f"抄送：{text}。", size=SIZE_4)
            _border(p._p.get_or_add_pPr(), sides={"top": thick, "bottom": thin})
            printed_sides = {"bottom": thick}
        else:
            printed_sides = {"top": thick, "bottom": thick}
        p = self._paragraph(**kwargs)
        # 印发日期右空一字：右对齐制表位在右缩进（一字）处。
        p.paragraph_format.tab_stops.add_tab_stop(Mm(TEXT_WIDTH_MM) - Pt(SIZE_4), WD_TAB_ALIGNMENT.RIGHT)
        self._run(p, f"{printer}\t{cn_date(printed_on)}印发", size=SIZE_4)
        _border(p._p.get_or_add_pPr(), sides=printed_sides)

    # ---- output ----

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return buffer.getvalue()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _short(value: Any) -> bool:
    return not isinstance(value, str) or len(value) <= 6


DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_response(payload: bytes, *, filename: str) -> HttpResponse:
    """把生成的 docx 作为附件返回（文件名 UTF-8 编码，不缓存）。"""
    response = HttpResponse(payload, content_type=DOCX_CONTENT_TYPE)
    full = filename if filename.endswith(".docx") else f"{filename}.docx"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(full)}"
    response["Cache-Control"] = "private, no-store"
    return response
