"""散文式政务公开工作要点（一、（一）1.（1）编号的正文）解析为任务清单，纯函数，不访问数据库。

见 parse_document 的说明；标注识别在 annotations.py，时限识别在 deadlines.py。
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from .annotations import extract_annotation, find_default_clause
from .deadlines import cn_number, find_deadline_in_body
from .text import fold, join_lines, match_key, squeeze_spaces
from .types import ParsedTask, ParseIssue, ParseResult

__all__ = ["parse_document"]

_CN = "一二三四五六七八九十百零〇两"
# 编号层级（外层在前）：一、 →（一）→ 1. / 1、 / 1． →（1）。在折叠文本上匹配（全角括号、全角数字已转半角）。
_NUMBERING: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^(?P<n>[{_CN}]{{1,3}})\s*[、.]")),
    (2, re.compile(rf"^\(\s*(?P<n>[{_CN}]{{1,3}})\s*\)\s*[、.]?")),
    (3, re.compile(r"^(?P<n>\d{1,3})\s*[、.](?!\d)")),
    (4, re.compile(r"^\(\s*(?P<n>\d{1,3})\s*\)\s*[、.]?")),
)
_TERMINAL = "。；;）)」”！!？?…：:"
_ATTACHMENT_RE = re.compile(r"^附\s*件\s*\d*\s*[:：]?")
_TITLE_WORDS = ("要点", "计划", "清单", "方案", "安排", "任务")
_YEAR_RE = re.compile(r"(20\d{2})\s*年")
_DOC_NO_RE = re.compile(
    r"(?P<org>[\u4e00-\u9fff]{1,12})\s*[〔\[【(]\s*(?P<y>\d{4})\s*[〕\]】)]\s*(?P<n>\d{1,4})\s*(?P<hao>号)"
)
_DOC_NO_LEADIN = re.compile(r"^(?:根据|按照|依据|依照|结合|落实|贯彻|印发|见|即|和|及|与|的)")
_UNIT_RE = re.compile(
    r"[\u4e00-\u9fff]{1,15}?(?:人民政府办公室|人民政府办公厅|政府办公室|政府办|办公室|办公厅|委员会|人民政府|政府|中心|局|办|委)"
)
_UNIT_LEADIN = re.compile(r"^(?:年度?|关于印发|关于|印发)")


@dataclass
class _Item:
    rank: int
    number: str  # 原文序号，如“(一)”
    n: int
    line: int
    first: str  # 第一行去掉序号后的文字
    first_full: str  # 第一行原文（含序号）
    text: str = ""
    parent: _Item | None = None
    children: list[_Item] = field(default_factory=list)
    n_lines: int = 1

    @property
    def canon(self) -> str:
        """规范化序号，用于 number_path：一 /（一）/ 1 /（1）。"""
        return _format_number(self.rank, self.n).rstrip("、.")


def _numbering(line: str) -> tuple[int, str, int] | None:
    """行首编号：返回（层级 1–4，原文序号，序号数值）；不是编号行返回 None。"""
    f = fold(line)
    for rank, rx in _NUMBERING:
        m = rx.match(f)
        if m:
            n = cn_number(m.group("n"))
            if n is None or n == 0:
                return None
            return rank, line[: m.end()].strip(), n
    return None


def _format_number(rank: int, n: int) -> str:
    """按层级写出序号：一、 /（一）/ 1. /（1）（1–99）。"""
    digits = "一二三四五六七八九"
    if n < 10:
        cn = digits[n - 1]
    else:
        cn = f"{digits[n // 10 - 1] if n >= 20 else ''}十{digits[n % 10 - 1] if n % 10 else ''}"
    return {1: f"{cn}、", 2: f"（{cn}）", 3: f"{n}.", 4: f"（{n}）"}[rank]


def _terminated(s: str) -> bool:
    s = s.rstrip()
    return bool(s) and s[-1] in _TERMINAL


def _expected(stack: list[_Item], rank: int) -> int:
    """按当前层级栈，下一个 rank 级序号应为几（同级上一项加一，新开一级为 1）。"""
    for it in reversed(stack):
        if it.rank == rank:
            return it.n + 1
        if it.rank < rank:
            return 1
    return 1


def _first_top_stop(s: str) -> int:
    """s 中第一个括号外的“。”的位置，没有返回 -1。"""
    depth = 0
    for i, ch in enumerate(fold(s)):
        if ch in "([〔【《":
            depth += 1
        elif ch in ")]〕】》" and depth:
            depth -= 1
        elif ch == "。" and depth == 0:
            return i
    return -1


def _hard_wrapped(blocks: list[list[str]]) -> tuple[bool, float]:
    """判断是否为按固定宽度折行的文本（如从 PDF 复制）：多数非末行接近满行且不以句读结尾。

    返回（是否折行，满行宽度）。"""
    lengths = [len(line) for block in blocks for line in block]
    if not lengths:
        return False, 0.0
    width = float(statistics.quantiles(lengths, n=10)[-1]) if len(lengths) >= 2 else float(lengths[0])
    inner = [line for block in blocks for line in block[:-1]]
    full = [line for line in inner if len(line) >= 0.8 * width and not _terminated(line)]
    return len(full) >= max(2, 0.4 * len(inner)), width


def _split_title(item: _Item, text: str, *, wrapped: bool, width: float) -> tuple[str, str]:
    """标题与正文：标题取到第一个“。”；第一行没有“。”而后面还有行时，第一行是独立标题行
    （按宽度折行的文本中，只有明显短于满行的第一行才算标题行）；整项没有“。”时全文为标题。"""
    first = extract_annotation(item.first).text
    # 以逗号、顿号结尾的第一行是断在句中，不是标题行。
    if (
        item.n_lines > 1
        and _first_top_stop(first) < 0
        and text.startswith(first)
        and first[-1:] not in "，,、；;：:"
    ):
        if not wrapped or len(item.first_full) < 0.8 * width:
            return first.strip().rstrip("。"), text[len(first) :].strip()
    stop = _first_top_stop(text)
    if stop < 0:
        return text.strip(), ""
    return text[:stop].strip(), text[stop + 1 :].strip()


def _preamble_info(result: ParseResult, lines: list[tuple[int, str]]) -> None:
    """从导语取标题、年份、发文单位、上级文件文号。"""
    body = list(lines)
    if body:
        no, first = body[0]
        f = fold(first)
        if (
            _numbering(first) is None
            and "。" not in first
            and len(first) <= 60
            and any(w in f for w in _TITLE_WORDS)
        ):
            result.title = first
            body = body[1:]
    result.preamble = "\n".join(text for _, text in body)
    head = fold(result.title + "\n" + result.preamble)
    m = _YEAR_RE.search(head[:300])
    if m:
        result.year = int(m.group(1))
    orig_head = result.title + "\n" + result.preamble
    for run in re.finditer(r"[\u4e00-\u9fff]+", head[:200]):
        lead = _UNIT_LEADIN.match(run.group())
        start = run.start() + (lead.end() if lead else 0)
        u = _UNIT_RE.match(head, start, run.end())
        if u:
            result.issuing_unit = orig_head[u.start() : u.end()]
            break
    for _, text in body:
        f = fold(text)
        for d in _DOC_NO_RE.finditer(f):
            if not f[: d.start()].strip() and not f[d.end() :].strip(" ()（）"):
                continue  # 独占一行的文号是本文件自己的文号，不是上级文件
            org_start = d.start("org")
            lead = _DOC_NO_LEADIN.match(f, org_start, d.end("org"))
            if lead:
                org_start = lead.end()
            result.parent_doc_number = (
                f"{text[org_start : d.end('org')]}〔{d.group('y')}〕{d.group('n')}{text[d.start('hao')]}"
            )
            return


def parse_document(lines: list[str], *, year: int | None = None, first_line_no: int = 1) -> ParseResult:
    """把散文式工作要点的各行解析为 ParseResult（layout="prose"），出错不抛异常，记入 errors。

    规则：
    - 编号层级 一、 →（一）/(一) → 1. 1、 1． →（1）/(1)；不以编号开头的行接在上一项后面（中文直接相连）。
      序号与上一项不连续且上一行没有以句读结束时，视为断行续文，不当作新的一项。
    - 第一个编号之前是导语：取标题（第一行像“××2023年政务公开工作要点”时）、年份、发文单位、上级文件文号，
      以及“…均为责任单位，以下不再列出”默认条款。“附件：”一行之后不再解析。
    - 一项有标注（牵头/责任）或没有下级时是任务（is_heading=False），否则是只起分组作用的标题。
      没有自己标注的任务沿用最近的有标注的上级（“一、”为任务、“1.”为子任务的写法）。
    - number_path 用规范序号，如“一/（一）”“一/1”；number 为原文序号。
    - 标题取到第一个“。”，正文为其余部分（已去掉标注）；时限由 find_deadline_in_body 在标题+正文中找。
    - 警告：没有牵头股室的任务、序号不连续、最后一项不完整（文件可能被截断，仍导入）。
    """
    result = ParseResult(layout="prose")
    try:
        _parse(result, lines, year=year, first_line_no=first_line_no)
    except Exception as exc:  # 导入界面要显示原因而不是报错页面
        result.errors.append(ParseIssue(None, f"解析失败：{type(exc).__name__}: {exc}"))
    return result


def _parse(result: ParseResult, lines: list[str], *, year: int | None, first_line_no: int) -> None:
    if isinstance(lines, str):
        lines = lines.splitlines()
    physical: list[tuple[int, str]] = []
    for i, raw in enumerate(lines or []):
        for sub in str(raw or "").splitlines() or [""]:
            physical.append((first_line_no + i, squeeze_spaces(sub)))

    preamble: list[tuple[int, str]] = []
    items: list[_Item] = []
    stack: list[_Item] = []
    node: _Item | None
    last_seen: dict[int, int] = {}  # 各层级最近的序号：有的文件（一）（二）…跨章连续编号
    prev_line = ""
    for no, text in physical:
        if not text:
            continue
        if items and _ATTACHMENT_RE.match(text):
            rest = [n for n, t in physical if n > no and t]
            if rest:
                result.warnings.append(ParseIssue(rest[0], f"第{rest[0]}行起为附件内容，未作为任务导入。"))
            break
        num = _numbering(text)
        if num is not None:
            rank, number, n = num
            expected = _expected(stack, rank)
            in_sequence = n in (expected, last_seen.get(rank, 0) + 1)
            if not in_sequence and stack and not _terminated(prev_line):
                num = None  # 断行后恰好以“一、”“1.”开头的续文
            elif not in_sequence and items:
                result.warnings.append(
                    ParseIssue(
                        no,
                        f"第{no}行：序号“{number}”与上一项不连续（应为“{_format_number(rank, expected)}”），"
                        "可能缺少内容，请核对。",
                    )
                )
        if num is None:
            if items:
                items[-1].text = join_lines(items[-1].text, text)
                items[-1].n_lines += 1
            else:
                preamble.append((no, text))
            prev_line = text
            continue
        rank, number, n = num
        while stack and stack[-1].rank >= rank:
            stack.pop()
        first = text[len(number) :].strip()
        item = _Item(rank, number, n, no, first, text, text=first)
        if stack:
            item.parent = stack[-1]
            stack[-1].children.append(item)
        stack.append(item)
        items.append(item)
        last_seen[rank] = n
        prev_line = text

    _preamble_info(result, preamble)
    if year is not None:
        if result.year is not None and result.year != year:
            line = preamble[0][0] if preamble else None
            result.warnings.append(
                ParseIssue(line, f"第{line}行：文件中的年份为{result.year}年，按指定的{year}年处理。")
            )
        result.year = year
    if not items:
        line = physical[0][0] if physical else first_line_no
        result.errors.append(
            ParseIssue(line, f"第{line}行起未找到“一、”“（一）”“1.”等编号条目，无法识别任务。")
        )
        return

    wrapped, width = _hard_wrapped(_line_blocks(physical, items))
    defaults: list[str] = []
    pre_default = find_default_clause(result.preamble)
    if pre_default:
        defaults = list(pre_default[0])

    built: dict[int, ParsedTask] = {}
    annotated: dict[int, bool] = {}
    for item in items:
        ann = extract_annotation(item.text)
        has_ann = bool(ann.leads or ann.responsibles or ann.annotation_text)
        annotated[id(item)] = has_ann
        is_heading = not has_ann and bool(item.children)
        title, body = _split_title(item, ann.text, wrapped=wrapped, width=width)
        path: list[str] = []
        depth, node = 0, item
        while node is not None:
            path.append(node.canon)
            depth += 1
            node = node.parent
        task = ParsedTask(
            number=item.number,
            number_path="/".join(reversed(path)),
            level=depth,
            title=title,
            body=body,
            lead_sections=list(ann.leads),
            responsible_sections=list(ann.responsibles),
            annotation_text=ann.annotation_text,
            line=item.line,
            is_heading=is_heading,
        )
        if not has_ann and not is_heading:
            src = item.parent
            while src is not None and not annotated.get(id(src)):
                src = src.parent
            if src is not None:
                task.lead_sections = list(built[id(src)].lead_sections)
                task.responsible_sections = list(built[id(src)].responsible_sections)
        for name in ann.default_responsible:
            if name not in defaults:
                defaults.append(name)
        if not is_heading:
            keys = {match_key(n) for n in task.lead_sections + task.responsible_sections}
            task.responsible_sections += [n for n in defaults if match_key(n) not in keys]
            dl = find_deadline_in_body(ann.text, year=result.year)
            if dl is not None:
                task.deadline_text, task.due_date, task.recurrence = dl.text, dl.due_date, dl.recurrence
        built[id(item)] = task
        if not item.text.strip() and not item.children:
            if item is not items[-1]:
                result.warnings.append(
                    ParseIssue(item.line, f"第{item.line}行：条目“{item.number}”没有内容，未导入。")
                )
            continue
        result.tasks.append(task)

    _check_tasks(result, items, built, annotated)


def _line_blocks(physical: list[tuple[int, str]], items: list[_Item]) -> list[list[str]]:
    """按条目分组的物理行（导语为一组），供折行判断。"""
    starts = {it.line for it in items}
    blocks: list[list[str]] = [[]]
    for no, text in physical:
        if not text:
            continue
        if no in starts:
            blocks.append([])
        blocks[-1].append(text)
    return [b for b in blocks if b]


def _check_tasks(
    result: ParseResult, items: list[_Item], built: dict[int, ParsedTask], annotated: dict[int, bool]
) -> None:
    """最后一项是否不完整（其余任务都有标注而它没有，或其余大多以句读结尾而它半句结束），以及缺牵头股室的警告。"""
    tasks = [(it, built[id(it)]) for it in items if not built[id(it)].is_heading and it.text.strip()]
    truncated: _Item | None = None
    if tasks:
        last_item, _ = tasks[-1]
        others = tasks[:-1]
        if len(others) >= 2:
            no_ann = not annotated[id(last_item)] and all(annotated[id(it)] for it, _ in others)
            ended = sum(_terminated(it.text) for it, _ in others)
            mid_sentence = not _terminated(last_item.text) and ended * 2 >= len(others)
            if no_ann or mid_sentence:
                truncated = last_item
        elif not _terminated(last_item.text) and not annotated[id(last_item)] and not last_item.children:
            truncated = last_item
    if items and not items[-1].text.strip() and not items[-1].children:
        line = items[-1].line
        result.warnings.append(
            ParseIssue(
                line,
                f"第{line}行：最后一项只有序号“{items[-1].number}”、没有内容（文件可能被截断），未导入。",
            )
        )
    for it, task in tasks:
        if it is truncated:
            continue
        if not task.lead_sections:
            result.warnings.append(
                ParseIssue(
                    it.line, f"第{it.line}行：任务“{task.title[:30]}”未找到牵头股室（单位），请导入后指定。"
                )
            )
    if truncated is not None:
        result.warnings.append(
            ParseIssue(
                truncated.line,
                f"第{truncated.line}行：最后一项内容不完整（文件可能被截断），已导入但请核对。",
            )
        )
