"""上传文件读取：把 .txt/.docx/.xlsx/.csv 的字节变成文本行、段落与表格（政务公开工作要点的原始内容）。

各 read_* 函数遇到坏文件只抛 `UnreadableFileError`（消息为中文，可直接展示）；
`read_upload` 把它收进结果，从不抛异常。
合并单元格的约定（docx 与 xlsx 一致）：文字只出现在合并区域的左上格，其余格为空串，由表格解析器向下填充。
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# docx/xlsx 解压后的总大小上限：防止“压缩炸弹”撑爆内存。
MAX_UNZIPPED_BYTES = 400 * 1024 * 1024
SUPPORTED_EXTENSIONS = (".txt", ".docx", ".xlsx", ".csv")
MAX_SHEET_CELLS = 5_000_000  # 例如 10 万行 × 50 列
_MAX_GRID = 64

_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = f"{{{_W_NS}}}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"


class UnreadableFileError(ValueError):
    """文件无法读取；str(exc) 是给用户看的中文说明。"""


@dataclass
class Block:
    """docx 正文中的一块：段落（text）或表格（rows，每行是单元格文字列表）。"""

    kind: Literal["paragraph", "table"]
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Upload:
    """read_upload 的结果。kind 为 text/docx/table；error 非空表示读取失败。"""

    kind: str = ""
    text: str = ""
    encoding: str = ""
    blocks: list[Block] = field(default_factory=list)
    sheets: list[tuple[str, list[list[str]]]] = field(default_factory=list)
    error: str = ""


# ---------------------------------------------------------------- text


def decode_text(data: bytes) -> tuple[str, str]:
    """按 BOM → UTF-8 → GB18030 的顺序解码文本；含 NUL 字节或控制字符过多的视为二进制文件，拒收。

    返回 (文本, 编码名)。文本中的 \\r\\n 与 \\r 统一为 \\n。
    """
    if not data:
        raise UnreadableFileError("文件是空的（0 字节）。")
    _reject_binary(data)
    text: str | None = None
    encoding = ""
    for bom, name in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                text, encoding = data.decode(name), name
            except UnicodeDecodeError:
                raise UnreadableFileError("文件开头标明了 Unicode 编码，但内容无法按该编码解码。") from None
            break
    if text is None:
        for name in ("utf-8", "gb18030"):
            try:
                text, encoding = data.decode(name), name
                break
            except UnicodeDecodeError:
                continue
    if text is None:
        raise UnreadableFileError(
            "无法识别文件编码：既不是 UTF-8，也不是 GB18030/GBK。请另存为 UTF-8 文本后重新上传。"
        )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _control_ratio(text) > 0.01:
        raise UnreadableFileError("文件中含有大量不可见的控制字符，看起来不是文本文件。")
    return text, encoding


def _reject_binary(data: bytes) -> None:
    if data.startswith(_ZIP_MAGIC):
        raise UnreadableFileError(
            "文件内容是压缩包（可能是 .docx 或 .xlsx），不是纯文本，请使用正确的扩展名。"
        )
    if data.startswith(_OLE_MAGIC):
        raise UnreadableFileError("文件内容是旧版 Office 文档（.doc/.xls），请另存为 .docx 或 .xlsx 后上传。")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 文本本身含大量 NUL
    if data.startswith(b"%PDF"):
        raise UnreadableFileError("文件内容是 PDF，请上传 .txt/.docx/.xlsx/.csv。")
    if b"\x00" in data[: 1024 * 1024]:
        raise UnreadableFileError("文件中含有 NUL 字节，是二进制文件，不是文本文件。")


def _control_ratio(text: str) -> float:
    sample = text[:200_000]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\t\f\v") or 0x7F <= ord(ch) < 0xA0)
    bad += sample.count("\ufffd")
    return bad / len(sample)


# ---------------------------------------------------------------- zip containers


def _open_zip(data: bytes, *, kind: str, required: str) -> zipfile.ZipFile:
    """打开 docx/xlsx 的 zip 容器并做基本检查，错误一律转成 UnreadableFileError。"""
    label = "Word 文档（.docx）" if kind == "docx" else "Excel 工作簿（.xlsx）"
    if not data:
        raise UnreadableFileError("文件是空的（0 字节）。")
    if data.startswith(_OLE_MAGIC):
        old = ".doc" if kind == "docx" else ".xls"
        raise UnreadableFileError(
            f"这是旧版 Office 文件（{old}）或加密文件，无法读取。请在 Office/WPS 中另存为 .{kind} 后上传。"
        )
    if not data.startswith(_ZIP_MAGIC):
        raise UnreadableFileError(f"文件不是有效的{label}：内容不是 zip 格式，可能是改了扩展名的其他文件。")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise UnreadableFileError(f"文件不是有效的{label}：zip 结构已损坏。") from None
    if sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
        raise UnreadableFileError(
            f"{label}解压后过大（超过 {MAX_UNZIPPED_BYTES // 1024 // 1024} MB），拒绝处理。"
        )
    names = {i.filename for i in infos}
    if required not in names:
        other = {"word/document.xml": "Word 文档（.docx）", "xl/workbook.xml": "Excel 工作簿（.xlsx）"}
        for path, other_label in other.items():
            if path in names and path != required:
                raise UnreadableFileError(f"扩展名是 .{kind}，但内容是{other_label}，请改用正确的扩展名。")
        raise UnreadableFileError(f"文件不是有效的{label}：缺少 {required}。")
    return zf


# ---------------------------------------------------------------- docx


def read_docx(data: bytes) -> list[Block]:
    """按正文顺序读出 docx 的段落与表格（内容控件 w:sdt 内的也读）。

    表格按网格展开为矩形：横向合并（gridSpan）与纵向合并（vMerge）的文字只放在左上格，其余为空串。
    单元格内多段落以换行连接；嵌套表格的文字并入所在单元格。Word 自动编号（“一、”“（一）”“1.”，
    包括样式带的编号）按编号定义算出来放在段落文字前面，因为 python-docx 的文字里没有它。
    """
    _open_zip(data, kind="docx", required="word/document.xml").close()
    try:
        import docx  # python-docx

        document = docx.Document(io.BytesIO(data))
        numbering = _Numbering(document)
        blocks: list[Block] = []
        _collect_blocks(document.element.body, blocks, numbering)
        return blocks
    except Exception as exc:  # python-docx/lxml 对坏文件抛多种异常（KeyError、XMLSyntaxError…）
        raise UnreadableFileError(
            f"Word 文档无法解析：{type(exc).__name__}。请用 Office/WPS 打开后另存再上传。"
        ) from None


def _collect_blocks(parent: Any, out: list[Block], numbering: _Numbering) -> None:
    for child in parent.iterchildren():
        tag = child.tag
        if tag == _W + "p":
            out.append(Block("paragraph", text=numbering.label(child) + _paragraph_text(child)))
        elif tag == _W + "tbl":
            out.append(Block("table", rows=_table_rows(child, numbering)))
        elif tag == _W + "sdt":
            content = child.find(_W + "sdtContent")
            if content is not None:
                _collect_blocks(content, out, numbering)


# 不读的子树：文本框（单独浮动的内容）、兼容性备用内容（与正式内容重复）、删除修订。
_SKIP_TAGS = frozenset({_W + "txbxContent", _MC + "Fallback", _W + "del", _W + "instrText", _W + "delText"})


def _paragraph_text(p: Any) -> str:
    """段落文字：w:t 与制表/换行，按文档顺序；跳过文本框、删除修订与域代码。"""
    parts: list[str] = []

    def walk(el: Any) -> None:
        for child in el:
            tag = child.tag
            if tag in _SKIP_TAGS or not isinstance(tag, str):
                continue
            if tag == _W + "t":
                parts.append(child.text or "")
            elif tag == _W + "tab":
                parts.append("\t")
            elif tag in (_W + "br", _W + "cr"):
                parts.append("\n")
            else:
                walk(child)

    walk(p)
    return "".join(parts)


def _cell_text(tc: Any, numbering: _Numbering) -> str:
    blocks: list[Block] = []
    _collect_blocks(tc, blocks, numbering)
    lines: list[str] = []
    for block in blocks:
        if block.kind == "paragraph":
            lines.append(block.text)
        else:
            lines.extend(" ".join(c for c in row if c) for row in block.rows)
    return "\n".join(line for line in lines if line.strip()).strip()


def _int_attr(el: Any, path: str) -> int:
    found = el.find(path)
    if found is None:
        return 0
    try:
        return int(found.get(_W + "val", "0"))
    except ValueError:
        return 0


def _table_rows(tbl: Any, numbering: _Numbering) -> list[list[str]]:
    rows: list[list[str]] = []
    for tr in tbl.iterchildren(_W + "tr"):
        # Word 表格最多 63 列；跨列数限幅，防止恶意文件用巨大的 gridSpan 撑爆内存
        row: list[str] = [""] * min(_MAX_GRID, _int_attr(tr, f"{_W}trPr/{_W}gridBefore"))
        for tc in tr.iterchildren(_W + "tc"):
            span = min(_MAX_GRID, max(1, _int_attr(tc, f"{_W}tcPr/{_W}gridSpan")))
            vmerge = tc.find(f"{_W}tcPr/{_W}vMerge")
            continues = vmerge is not None and vmerge.get(_W + "val", "continue") == "continue"
            row.append("" if continues else _cell_text(tc, numbering))
            row.extend([""] * (span - 1))
        rows.append(row)
    width = max((len(r) for r in rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows]


_CN_DIGITS = "〇一二三四五六七八九"
_CN_LEGAL = "零壹贰叁肆伍陆柒捌玖"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def _cn_count(n: int, digits: str = _CN_DIGITS, ten: str = "十") -> str:
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else (ten if tens == 1 else digits[tens] + ten)
    return head + (digits[ones] if ones else "")


def _format_number(n: int, fmt: str) -> str:
    """Word 编号格式（w:numFmt）→ 文字；不认识的格式、以及异常大的数按阿拉伯数字。"""
    if not 0 < n <= 1000:
        return str(n)
    if fmt in (
        "chineseCounting",
        "chineseCountingThousand",
        "japaneseCounting",
        "taiwaneseCounting",
        "taiwaneseCountingThousand",
        "koreanCounting",
    ):
        return _cn_count(n)
    if fmt == "chineseLegalSimplified":
        return _cn_count(n, _CN_LEGAL, "拾")
    if fmt in ("ideographDigital", "taiwaneseDigital", "japaneseDigitalTenThousand"):
        return "".join(_CN_DIGITS[int(d)] for d in str(n))
    if fmt.startswith("decimalEnclosedCircle") and 0 < n <= len(_CIRCLED):
        return _CIRCLED[n - 1]
    if fmt in ("upperLetter", "lowerLetter") and n > 0:
        letter = chr(ord("A") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter if fmt == "upperLetter" else letter.lower()
    if fmt in ("upperRoman", "lowerRoman") and 0 < n < 40:
        roman = "".join(r * c for r, c in zip(("X", "IX", "V", "IV", "I"), _roman_counts(n), strict=True))
        return roman if fmt == "upperRoman" else roman.lower()
    if fmt == "decimalZero":
        return f"{n:02d}"
    return str(n)


def _roman_counts(n: int) -> tuple[int, int, int, int, int]:
    x, n = divmod(n, 10)
    ix, n = divmod(n, 9)
    v, n = divmod(n, 5)
    iv, n = divmod(n, 4)
    return x, ix, v, iv, n


class _Numbering:
    """Word 自动编号的计数器：按 numbering.xml 的定义为编号段落算出“一、”“（一）”“1.”等前缀。"""

    def __init__(self, document: Any) -> None:
        self.levels: dict[
            str, dict[int, tuple[str, str, int]]
        ] = {}  # numId → ilvl → (格式, 文本模板, 起始值)
        self.counter_key: dict[str, str] = {}
        self.counters: dict[str, dict[int, int]] = {}
        self.style_num: dict[str, tuple[str, int]] = {}
        self.based_on: dict[str, str] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            root = None
        if root is not None:
            abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
            for an in root.iterchildren(_W + "abstractNum"):
                lvls: dict[int, tuple[str, str, int]] = {}
                for lvl in an.iterchildren(_W + "lvl"):
                    fmt = lvl.find(_W + "numFmt")
                    text = lvl.find(_W + "lvlText")
                    lvls[int(lvl.get(_W + "ilvl", "0"))] = (
                        fmt.get(_W + "val", "decimal") if fmt is not None else "decimal",
                        text.get(_W + "val", "") if text is not None else "",
                        _int_attr(lvl, _W + "start") or 1,
                    )
                abstract[an.get(_W + "abstractNumId", "")] = lvls
            for num in root.iterchildren(_W + "num"):
                num_id = num.get(_W + "numId", "")
                abstract_id = _val(num.find(_W + "abstractNumId"))
                self.levels[num_id] = dict(abstract.get(abstract_id, {}))
                restarted = num.find(f"{_W}lvlOverride/{_W}startOverride") is not None
                self.counter_key[num_id] = f"num{num_id}" if restarted else f"abs{abstract_id}"
        for style in document.styles.element.iterchildren(_W + "style"):
            style_id = style.get(_W + "styleId", "")
            num_pr = style.find(f"{_W}pPr/{_W}numPr")
            if num_pr is not None:
                self.style_num[style_id] = (_val(num_pr.find(_W + "numId")), _int_attr(num_pr, _W + "ilvl"))
            based = style.find(_W + "basedOn")
            if based is not None:
                self.based_on[style_id] = _val(based)

    def _style_numbering(self, style_id: str) -> tuple[str, int] | None:
        for _ in range(10):  # basedOn 链，防环
            if style_id in self.style_num:
                return self.style_num[style_id]
            style_id = self.based_on.get(style_id, "")
            if not style_id:
                return None
        return None

    def label(self, p: Any) -> str:
        if not self.levels:
            return ""
        num_pr = p.find(f"{_W}pPr/{_W}numPr")
        found: tuple[str, int] | None
        if num_pr is not None:
            found = (_val(num_pr.find(_W + "numId")), _int_attr(num_pr, _W + "ilvl"))
        else:
            style = p.find(f"{_W}pPr/{_W}pStyle")
            found = self._style_numbering(_val(style)) if style is not None else None
        if not found or found[0] in ("", "0") or found[0] not in self.levels:
            return ""
        num_id, ilvl = found
        levels = self.levels[num_id]
        if ilvl not in levels or levels[ilvl][0] in ("bullet", "none"):
            return ""
        counts = self.counters.setdefault(self.counter_key.get(num_id, num_id), {})
        counts[ilvl] = counts.get(ilvl, levels[ilvl][2] - 1) + 1
        for deeper in [k for k in counts if k > ilvl]:
            del counts[deeper]
        text = levels[ilvl][1]
        for k in range(ilvl + 1):
            fmt, _t, start = levels.get(k, ("decimal", "", 1))
            text = text.replace(f"%{k + 1}", _format_number(counts.get(k, start), fmt))
        return text


def _val(el: Any) -> str:
    return str(el.get(_W + "val", "")) if el is not None else ""


# ---------------------------------------------------------------- xlsx / csv


def _cell_to_str(value: Any) -> str:
    """Excel 单元格值转文字；日期写成“2023年6月30日”，好让时限解析器认得。"""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, datetime.time | datetime.timedelta):
        return ""
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


_CELL_TAG_RE = re.compile(rb"<(?:[A-Za-z]\w*:)?(c|row)\b([^>]*)>")
_REF_RE = re.compile(rb'\br="([A-Z]{0,3})([0-9]{1,8})"')


def _sheet_extent(zf: zipfile.ZipFile, name: str) -> tuple[int, int]:
    """不展开数据，扫描工作表 XML 中单元格/行的位置，得到（最大行号, 最大列号）。

    calamine 会按“首格到末格”的矩形一次性分配内存：一个 5 KB 的文件若在 XFD1048576 填了一个值，
    就要分配数百 GB 并直接使进程崩溃（无法捕获），所以必须先量范围。没有 r 属性的单元格按个数保守计列。
    """
    max_row = max_col = unnamed = 0
    tail = b""
    with zf.open(name) as fh:
        while chunk := fh.read(1 << 20):
            buffer = tail + chunk
            for m in _CELL_TAG_RE.finditer(buffer):
                ref = _REF_RE.search(m.group(2))
                if ref is None:
                    unnamed += m.group(1) == b"c"
                    continue
                max_row = max(max_row, int(ref.group(2)))
                col = 0
                for ch in ref.group(1):
                    col = col * 26 + ch - 64
                max_col = max(max_col, col)
            tail = buffer[-4096:]
    return max_row, max(max_col, unnamed)


def read_xlsx_sheets(data: bytes) -> list[tuple[str, list[list[str]]]]:
    """读出所有可见工作表：[(表名, 行)]，行号与 Excel 行号对齐（第 1 行 = rows[0]）。空表也列出。
    范围超过 MAX_SHEET_CELLS 个单元格的工作簿拒收（见 _sheet_extent）。"""
    with _open_zip(data, kind="xlsx", required="xl/workbook.xml") as zf:
        for info in zf.infolist():
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                try:
                    rows, cols = _sheet_extent(zf, info.filename)
                except (
                    zipfile.BadZipFile,
                    zlib.error,
                    NotImplementedError,
                    RuntimeError,
                    ValueError,
                    EOFError,
                    OSError,
                ):
                    raise UnreadableFileError(
                        "Excel 工作簿已损坏（压缩内容校验失败），请用 Excel/WPS 打开后另存再上传。"
                    ) from None
                if rows * cols > MAX_SHEET_CELLS:
                    raise UnreadableFileError(
                        f"工作表的范围过大（约 {rows} 行 × {cols} 列），"
                        "请删除多余的行列（或另存为只含任务表的文件）后上传。"
                    )
    try:
        import python_calamine

        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets: list[tuple[str, list[list[str]]]] = []
        for index, meta in enumerate(workbook.sheets_metadata):
            if str(meta.visible).rsplit(".", 1)[-1].lower() != "visible":
                continue
            sheet = workbook.get_sheet_by_index(index)
            raw = sheet.to_python(skip_empty_area=False)
            sheets.append((meta.name, [[_cell_to_str(v) for v in row] for row in raw]))
        return sheets
    except UnreadableFileError:
        raise
    except Exception as exc:  # calamine 对坏文件抛 CalamineError/ZipError/XmlError/PasswordError…
        raise UnreadableFileError(
            f"Excel 工作簿无法解析：{type(exc).__name__}。请用 Excel/WPS 打开后另存再上传。"
        ) from None


def read_xlsx(data: bytes) -> list[list[str]]:
    """第一个有内容的可见工作表的行（字符串）。合并区域只有左上格有文字。"""
    for _name, rows in read_xlsx_sheets(data):
        if any(cell.strip() for row in rows for cell in row):
            return rows
    raise UnreadableFileError("Excel 工作簿中没有任何内容。")


def read_csv(data: bytes) -> list[list[str]]:
    """CSV（UTF-8/GB18030）；分隔符在逗号与制表符之间按首部内容判断。"""
    text, _encoding = decode_text(data)
    head = text[:20_000]
    delimiter = "\t" if head.count("\t") > head.count(",") else ","
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        rows = [[cell.strip() for cell in row] for row in reader]
    except csv.Error as exc:
        raise UnreadableFileError(f"CSV 文件格式有误：{exc}") from None
    if not any(cell for row in rows for cell in row):
        raise UnreadableFileError("CSV 文件中没有任何内容。")
    return rows


# ---------------------------------------------------------------- entry point


def extension_of(filename: str) -> str:
    name = (filename or "").strip().lower()
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else ""


def read_upload(filename: str, data: bytes) -> Upload:
    """按扩展名读取上传文件；任何问题都写进 Upload.error（中文），从不抛异常。"""
    ext = extension_of(filename)
    if ext not in SUPPORTED_EXTENSIONS:
        shown = ext or "（无扩展名）"
        hint = ""
        if ext in (".doc", ".wps"):
            hint = "旧版 Word 文档请另存为 .docx；"
        elif ext in (".xls", ".et"):
            hint = "旧版 Excel 文件请另存为 .xlsx；"
        return Upload(error=f"不支持的文件类型：{shown}，{hint}请上传 .txt/.docx/.xlsx/.csv")
    if not data:
        return Upload(error="文件是空的（0 字节）。")
    if len(data) > MAX_UPLOAD_BYTES:
        return Upload(error=f"文件过大（超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB）。")
    try:
        if ext == ".txt":
            text, encoding = decode_text(data)
            return Upload(kind="text", text=text, encoding=encoding)
        if ext == ".docx":
            return Upload(kind="docx", blocks=read_docx(data))
        if ext == ".xlsx":
            return Upload(kind="table", sheets=read_xlsx_sheets(data))
        return Upload(kind="table", sheets=[("", read_csv(data))])
    except UnreadableFileError as exc:
        return Upload(error=str(exc))
    except (MemoryError, RecursionError):
        return Upload(error="文件内容过于庞大或嵌套过深，无法处理。")
