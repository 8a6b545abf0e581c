"""表格式工作要点（任务清单：序号/工作任务/具体要求/牵头·责任科室/时限要求）的解析，含网页复制压平的表格。

规则概要（详见 parse_table）：表头在前 30 行内按中文列名（繁简、全半角均可）识别；合并单元格只在首行有字，
向下填充；有序号或责任/时限与上一项不同的行是新任务，否则并入上一项；“一、…”类通栏行是章节标题。
表头与编号写法的识别见 table_header.py。
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .annotations import Annotation, extract_annotation, split_section_names
from .deadlines import find_deadline_in_body, parse_deadline
from .table_header import (
    CN_NUM,
    EXPECTED_HEADERS,
    HEADER_SCAN_ROWS,
    SEQ_RE,
    Columns,
    find_header,
    header_role,
    heading_parts,
)
from .types import ParsedTask, ParseIssue, ParseResult

_CN_ONLY_RE = re.compile(rf"^(?P<open>[（(])?(?P<num>[{CN_NUM}]+)(?(open)[）)])[、.．]?$")
_NOTE_RE = re.compile(
    r"^(?:(?:注|备注|说明|填表说明)\s*\d*\s*[：:]|续表\s*\d*$|附[件表]\s*\d*\s*(?:[：:].*)?$)"
)
_UNIT_ROLES = ("lead", "resp", "combined")


@dataclass
class _Item:
    number: str
    line: int | None
    texts: list[str] = field(default_factory=list)
    units: dict[str, list[str]] = field(default_factory=dict)
    deadline: str = ""


@dataclass
class _Group:
    title: str
    number: str
    line: int | None
    items: list[_Item] = field(default_factory=list)


@dataclass
class _State:
    cols: Columns
    year: int | None
    result: ParseResult
    path: list[str] = field(default_factory=list)
    used_paths: set[str] = field(default_factory=set)
    seq: dict[str, int] = field(default_factory=dict)
    fill: dict[str, str] = field(default_factory=dict)
    group: _Group | None = None
    category: str = ""
    warned_year: bool = False


def _first_sentence(text: str, limit: int = 40) -> str:
    flat = text.replace("\n", "").strip()
    m = re.search(r"[。；;！？!?]", flat)
    head = flat[: m.start()] if m else flat
    head = head.strip("：:，, ")
    return head if len(head) <= limit else head[: limit - 1] + "…"


def _unique_path(state: _State, parent: str, part: str) -> str:
    if not part:
        state.seq[parent] = state.seq.get(parent, 0) + 1
        part = str(state.seq[parent])
    path = f"{parent}/{part}" if parent else part
    candidate, n = path, 2
    while candidate in state.used_paths:
        candidate, n = f"{path}-{n}", n + 1
    state.used_paths.add(candidate)
    return candidate


def _clean_number(number: str) -> str:
    return number.strip().rstrip("、.．,，").strip() if number else ""


def _emit_heading(
    state: _State, *, number: str, canon: str, level: int, title: str, line: int | None
) -> None:
    _flush(state)
    level = max(1, min(level, len(state.path) + 1))
    del state.path[level - 1 :]
    parent = "/".join(state.path)
    path = _unique_path(state, parent, canon)
    state.path.append(path.rsplit("/", 1)[-1])
    state.result.tasks.append(
        ParsedTask(
            number=number, number_path=path, level=len(state.path), title=title, line=line, is_heading=True
        )
    )
    state.fill.clear()


def _units(state: _State, item: _Item) -> tuple[list[str], list[str]]:
    """牵头/责任单位。单独的牵头列、责任列直接拆分；合并列（只有一列“责任科室（单位）”或“牵头/配合单位”）
    先按文字说明（“X牵头，Y配合”“牵头单位：X；责任单位：Y”）取，否则按清单处理：第一个为牵头，其余为责任。
    名称后标“（牵头）”的以标注为准。"""
    lead: list[str] = []
    resp: list[str] = []

    def add(target: list[str], names: list[str]) -> None:
        target.extend(n for n in names if n and n not in target)

    for raw in item.units.get("lead", []):
        add(lead, _split_names(raw))
    for raw in item.units.get("resp", []):
        add(resp, _split_names(raw))
    for raw in item.units.get("combined", []):
        ann = _annotation_units(raw)
        if ann is not None:
            add(lead, ann.leads)
            add(resp, ann.responsibles)
            continue
        names = _split_names(raw)
        marked = [n for n in names if n.endswith(("（牵头）", "(牵头)", "牵头"))]
        if marked:
            add(lead, [re.sub(r"[（(]?牵头[）)]?$", "", n).strip() for n in marked])
            add(resp, [n for n in names if n not in marked])
        elif names:
            add(lead if not lead else resp, names[:1])
            add(resp, names[1:])
    return lead, [n for n in resp if n not in lead]


def _split_names(raw: str) -> list[str]:
    return [n.strip() for n in split_section_names(raw.replace("\n", "、")) if n and n.strip()]


def _annotation_units(text: str) -> Annotation | None:
    """用 annotations.extract_annotation 从说明文字取牵头/责任；没有取到单位时返回 None。"""
    ann = extract_annotation(text)
    return ann if ann.leads or ann.responsibles else None


def _make_task(state: _State, item: _Item, *, title: str, parent: str, level: int, body: str) -> ParsedTask:
    cols, result = state.cols, state.result
    lead, resp = _units(state, item)
    annotation = "；".join(
        f"{cols.texts[getattr(cols, role)[0]]}：{'、'.join(item.units[role])}"
        for role in _UNIT_ROLES
        if item.units.get(role) and getattr(cols, role)
    )
    if not lead and not resp and body:
        # 没有单位列（或本行单位列为空）时，看正文末尾有没有“（牵头股室：…）”之类的标注
        ann = _annotation_units(body)
        if ann is not None:
            lead, resp = list(ann.leads), list(ann.responsibles)
            body, annotation = ann.text, ann.annotation_text
    deadline_text, due, recurrence = "", None, ""
    if item.deadline:
        dl = parse_deadline(item.deadline, year=state.year)
        deadline_text, due, recurrence = item.deadline, dl.due_date, dl.recurrence
        column = cols.texts[cols.deadline] if cols.deadline is not None else ""
        if not dl.text:
            result.warnings.append(
                ParseIssue(item.line, f"第{item.line}行的时限“{item.deadline}”无法识别为日期或周期。", column)
            )
        elif due is None and not recurrence and state.year is None and not state.warned_year:
            state.warned_year = True
            result.warnings.append(
                ParseIssue(
                    item.line,
                    f"未能从文件中确定年度，第{item.line}行起的时限（如“{item.deadline}”）只保留原文、未换算为日期；"
                    "请在导入时指定年度。",
                    column,
                )
            )
    elif body:
        found = find_deadline_in_body(body, year=state.year)
        if found is not None:
            deadline_text, due, recurrence = found.text, found.due_date, found.recurrence
    if not lead and not resp and (cols.lead or cols.resp or cols.combined):
        result.warnings.append(
            ParseIssue(item.line, f"第{item.line}行任务“{title}”没有填写责任单位。", cols.unit_header())
        )
    path = _unique_path(state, parent, _clean_number(item.number))
    return ParsedTask(
        number=item.number,
        number_path=path,
        level=level,
        title=title,
        body=body,
        lead_sections=lead,
        responsible_sections=resp,
        deadline_text=deadline_text,
        due_date=due,
        recurrence=recurrence,
        annotation_text=annotation,
        line=item.line,
    )


def _flush(state: _State) -> None:
    """把当前任务组写成任务：组内只有一项时组名即任务名；多项时组名成为标题行，各项以具体要求首句为名。"""
    group, state.group = state.group, None
    if group is None or not group.items:
        return
    items = [i for i in group.items if i.texts or i.deadline or any(i.units.values())] or group.items[:1]
    parent = "/".join(state.path)
    level = len(state.path) + 1
    tasks = state.result.tasks
    if group.title and len(items) == 1:
        item = items[0]
        item.number = item.number or group.number
        title = group.title.replace("\n", "").rstrip("。；;")
        tasks.append(
            _make_task(state, item, title=title, parent=parent, level=level, body="\n".join(item.texts))
        )
        return
    if group.title:
        shared = group.number if all(not i.number or i.number == group.number for i in items) else ""
        path = _unique_path(state, parent, _clean_number(shared))
        tasks.append(
            ParsedTask(
                number=shared,
                number_path=path,
                level=level,
                title=group.title.replace("\n", "").rstrip("。；;"),
                line=group.line,
                is_heading=True,
            )
        )
        parent, level = path, level + 1
        if shared:
            for item in items:
                item.number = ""
    for item in items:
        body = "\n".join(item.texts)
        title = _first_sentence(body) or "（无内容）"
        if body.replace("\n", "").strip().rstrip("。；;！!") == title:
            body = ""  # 整格就是一句短标题：不重复作正文
        tasks.append(_make_task(state, item, title=title, parent=parent, level=level, body=body))


def _row_kind(state: _State, cells: list[str]) -> str:
    """empty / header / note / heading / data。"""
    filled = [(i, c) for i, c in enumerate(cells) if c]
    if not filled:
        return "empty"
    cols = state.cols
    same = sum(1 for i, c in filled if cols.roles[i] and header_role(c) == cols.roles[i])
    if same >= 2 and same * 2 >= len(filled):
        return "header"
    distinct = {c for _i, c in filled}
    if len(distinct) == 1:
        text = filled[0][1]
        if _NOTE_RE.match(text):
            return "note"
        col = filled[0][0]
        if heading_parts(text) and (col == 0 or col not in cols.detail or len(text) <= 30):
            return "heading"
        if col == cols.number and not SEQ_RE.match(text) and len(text) > 1:
            return "heading"
    if cols.number is not None and _CN_ONLY_RE.match(cells[cols.number]):
        # “一 | 政策公开 | 空 | 空”：序号是汉字数字、只有名称没有要求/单位/时限的行是章节标题
        title_col = cols.task if cols.task is not None else cols.detail[0]
        others = [cells[i] for i in cols.lead + cols.resp + cols.combined]
        others += [cells[i] for i in cols.detail if i != title_col]
        if cols.deadline is not None:
            others.append(cells[cols.deadline])
        if not any(others) and cells[title_col]:
            return "heading"
    return "data"


def _heading_from_row(state: _State, cells: list[str], line: int | None) -> None:
    cols = state.cols
    texts = list(dict.fromkeys(c for c in cells if c))
    if len(texts) == 1:
        parts = heading_parts(texts[0])
        if parts:
            number, canon, level, title = parts
        else:
            number, canon, level, title = "", "", len(state.path) + 1 if state.path else 1, texts[0]
    else:
        raw = cells[cols.number] if cols.number is not None else ""
        m = _CN_ONLY_RE.match(raw)
        number, canon, level = raw, "", 1
        if m:  # “一”是第 1 级，“（一）”是第 2 级
            level = 2 if m.group("open") else 1
            canon = f"（{m.group('num')}）" if m.group("open") else m.group("num")
        title = " ".join(dict.fromkeys(c for i, c in enumerate(cells) if c and i != cols.number))
    _emit_heading(state, number=number, canon=canon, level=level, title=title.replace("\n", ""), line=line)


def _data_row(state: _State, cells: list[str], line: int | None) -> None:
    cols = state.cols
    if cols.category is not None and cells[cols.category] and cells[cols.category] != state.category:
        state.category = cells[cols.category]
        parts = heading_parts(state.category)
        number, canon, _level, title = parts if parts else ("", "", 1, state.category)
        _emit_heading(state, number=number, canon=canon, level=1, title=title, line=line)
    number = cells[cols.number] if cols.number is not None else ""
    task_text = cells[cols.task] if cols.task is not None else ""
    detail = "\n".join(cells[i] for i in cols.detail if cells[i])
    own = {role: "\n".join(cells[i] for i in getattr(cols, role) if cells[i]) for role in _UNIT_ROLES}
    own["deadline"] = cells[cols.deadline] if cols.deadline is not None else ""
    # 单位各列作为一个整体向下填充：本行填了任何一列（如只有牵头单位），其余空列就是真的空。
    eff = dict(own)
    if any(own[r] for r in _UNIT_ROLES):
        state.fill.update({r: own[r] for r in _UNIT_ROLES})
    else:
        eff.update({r: state.fill.get(r, "") for r in _UNIT_ROLES})
    if own["deadline"]:
        state.fill["deadline"] = own["deadline"]
    else:
        eff["deadline"] = state.fill.get("deadline", "")
    if cols.task is not None and task_text:
        if state.group is None or task_text != state.group.title:
            _flush(state)
            state.group = _Group(title=task_text, number=number, line=line)
    if state.group is None:
        state.group = _Group(title="", number="", line=line)
    items = state.group.items
    cur = items[-1] if items else None
    cur_eff = {}
    if cur is not None:
        cur_eff = {r: "\n".join(cur.units.get(r, [])) for r in _UNIT_ROLES} | {"deadline": cur.deadline}
    differs = any(v and v != cur_eff.get(k, "") for k, v in own.items())
    if cur is None:
        new = True
    elif number:
        new = number != cur.number
    elif not detail or (cols.number is not None and not differs):
        new = False
    elif cols.task is not None or cols.number is not None:
        new = differs
    else:
        new = True
    if new:
        item = _Item(number=number, line=line, deadline=eff["deadline"])
        item.units = {r: [eff[r]] for r in _UNIT_ROLES if eff[r]}
        if detail:
            item.texts.append(detail)
        items.append(item)
        return
    assert cur is not None
    if detail:
        cur.texts.append(detail)
    for role in _UNIT_ROLES:
        if own[role] and own[role] not in cur.units.get(role, []):
            cur.units.setdefault(role, []).append(own[role])
    if own["deadline"] and not cur.deadline:
        cur.deadline = own["deadline"]


_YEAR_RE = re.compile(r"(20\d{2})\s*年")
_DOC_NO_RE = re.compile(r"[\u4e00-\u9fff]{1,12}[〔\[［【(（]\s*\d{4}\s*[〕\]］】)）]\s*\d+\s*[号號]")


def fill_preamble(result: ParseResult, rows: list[list[str]], year: int | None) -> None:
    """表头之前的行（或 Word 表格前的段落）：取标题（含“要点/计划/清单…”的第一行）、年度、上级文号。"""
    lines = [" ".join(dict.fromkeys(c.strip() for c in row if c.strip())) for row in rows]
    lines = [line for line in lines if line]
    if not lines:
        return
    result.preamble = "\n".join(lines)
    titled = [line for line in lines if re.search(r"要点|计划|清单|任务|方案|分工|台账", line)]
    result.title = result.title or (titled[0] if titled else lines[0])
    if result.year is None:
        m = _YEAR_RE.search(result.title) or _YEAR_RE.search(result.preamble)
        result.year = year if year is not None else (int(m.group(1)) if m else None)
    if not result.parent_doc_number:
        m = _DOC_NO_RE.search(result.preamble)
        result.parent_doc_number = (
            re.sub(r"^(?:根据|按照|依据|依照|参照|对照|贯彻|落实|印发)", "", m.group(0)) if m else ""
        )


def parse_table(
    rows: list[list[str]],
    *,
    year: int | None = None,
    first_row_no: int = 1,
    row_numbers: list[int | None] | None = None,
) -> ParseResult:
    """解析表格式工作要点，从不抛异常；问题写进 warnings/errors，带行号与原表头文字。

    - 表头：前 30 行内第一行含“工作任务/具体要求”之一且至少两种可识别列名的行；表头前的行作为标题/前言。
    - 合并单元格：空单元格视为上方合并格的延续——工作任务在组内沿用；时限、以及整体为空的牵头/责任各列
      向下填充，直到下一个章节标题行（因此同一章节内确实漏填单位的行会沿用上一行，请在预览中核对）；
      只要本行填了任一单位列（如只填牵头单位），其余单位列按原样为空。
    - 新任务：有自己的序号，或牵头/责任/时限与上一项不同；否则（如只填了“具体要求”的行）并入上一项正文。
    - 工作任务下只有一项：工作任务为标题、具体要求为正文；
      有多项：工作任务成为标题行，各项以具体要求首句为标题。
    - 跳过空行、重复表头（分页）、“注：/续表”行；通栏的“一、…”“（一）…”行与“一 | 某某 | 空…”行是章节标题。
    - 合并单元格读成“只有左上格有字”（readers 的约定）或“每格重复同一文字”（python-docx row.cells 的读法）
      都得到同样的结果。
    - row_numbers 给出每行的原始行号（压平文本时为文本行号）；否则行号为 first_row_no 起的序号。
    """
    result = ParseResult(layout="table", year=year)

    def row_no(index: int) -> int | None:
        if row_numbers is not None and index < len(row_numbers):
            return row_numbers[index]
        return first_row_no + index

    cols = find_header(rows)
    if cols is None:
        shown: list[str] = []
        for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
            cells = [c.strip().replace("\n", " ") for c in row if c and c.strip()]
            if cells and len(shown) < 3:
                shown.append(f"第{row_no(index)}行：" + " | ".join(c[:20] for c in cells[:8]))
        found = "；".join(shown) if shown else "（表格为空）"
        result.errors.append(
            ParseIssue(
                row_no(0) if rows else None,
                f"未能识别表头。前{HEADER_SCAN_ROWS}行中找到的内容：{found}。应包含的列：{EXPECTED_HEADERS}。",
            )
        )
        return result
    fill_preamble(result, rows[: cols.top_index], year)
    if cols.task is None and not cols.detail:
        result.errors.append(ParseIssue(row_no(cols.header_index), "表头中没有“工作任务”或“具体要求”列。"))
        return result
    header_line = row_no(cols.header_index)
    for i, (text, role) in enumerate(zip(cols.texts, cols.roles, strict=True)):
        if text and role is None:
            result.warnings.append(
                ParseIssue(header_line, f"第{header_line}行的表头“{text}”未能识别，该列已忽略。", text)
            )
        elif i in cols.duplicates:
            result.warnings.append(ParseIssue(header_line, f"表头“{text}”与前面的列重复，该列已忽略。", text))
    if not (cols.lead or cols.resp or cols.combined):
        result.warnings.append(
            ParseIssue(header_line, f"表头中没有牵头/责任单位列，应包含的列：{EXPECTED_HEADERS}。")
        )
    state = _State(cols=cols, year=result.year, result=result)
    width = len(cols.texts)
    for index in range(cols.header_index + 1, len(rows)):
        raw = rows[index]
        line = row_no(index)
        raw = ["" if c is None else str(c) for c in raw]
        cells = [c.strip() for c in raw[:width]] + [""] * max(0, width - len(raw))
        extra = [c.strip() for c in raw[width:] if c.strip()]
        if extra:
            result.warnings.append(
                ParseIssue(
                    line,
                    f"第{line}行有{len(raw)}个单元格，多于表头的{width}列，多出的内容已忽略：{'、'.join(extra)[:60]}",
                    cols.texts[-1],
                )
            )
        kind = _row_kind(state, cells)
        if kind == "heading":
            _heading_from_row(state, cells, line)
        elif kind == "data":
            _data_row(state, cells, line)
    _flush(state)
    if not result.actionable:
        result.errors.append(ParseIssue(header_line, "表头下方没有任何任务行。"))
    return result
