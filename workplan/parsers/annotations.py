"""牵头股室/责任股室标注的识别：（牵头股室：综合股，责任股室：各相关股室）、（X牵头，Y配合）、默认责任单位条款。

所有匹配在折叠文本（简体、半角，长度与原文相同）上进行，返回的名称按原文切出（繁体保留繁体）。
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text import fold

__all__ = [
    "Annotation",
    "UNIT_SUFFIXES",
    "extract_annotation",
    "find_default_clause",
    "looks_like_unit",
    "split_section_names",
]

# 单位名称常见的结尾；用于判断“和/及/与”两边是不是两个单位，以及散文式标注里的主语像不像单位。
UNIT_SUFFIXES = (
    "股",
    "科",
    "室",
    "中心",
    "队",
    "局",
    "办",
    "处",
    "组",
    "所",
    "站",
    "单位",
    "部",
    "部门",
    "委",
    "院",
    "会",
    "馆",
    "政府",
    "街道",
    "镇",
    "乡",
    "公司",
    "厅",
    "署",
    "府",
    "社",
    "团",
    "司",
    "行",
    "台",
)
_COLLECTIVE_PREFIXES = ("各", "相关", "局属", "全体", "市直", "县直", "区直", "所属")

_OPEN = "([〔【{《"
_CLOSE = ")]〕】}》"
_PAIR = dict(zip(_CLOSE, _OPEN, strict=True))
_TRAIL = " \t\r\n。.,;，；、"

_LABEL_RE = re.compile(
    r"(?P<role>牵头|主办|责任|配合|协办|承办|参与|协助)\s*(?P<kind>股室|单位|科室|部门|处室|领导|人|股|科|室|处|部)?\s*:"
)
_LEAD_LABELS = ("牵头", "主办")
_CLAUSE_RE = re.compile(
    r"^(?:由|请)?(?P<names>.+?)(?:按照?职责分工|按职责|分别|共同|协同|积极|具体)?"
    r"(?P<verb>牵头|负责|配合|参与|协助|协办|落实)(?P<rest>.*)$"
)
# 括号里的散文式标注，动词后只允许这些字（“牵头落实”“负责组织实施”）。
_PURE_REST = ("", "落实", "实施", "推进", "组织实施", "负责", "抓好落实", "办理", "完成")
_MARK = (
    r"(?:以下|下文|后文|后面)(?:各项)?均?(?:不再|不)(?:一一)?"
    r"(?:列出|列明|标注|注明|列示|标明|重复)|以下同|下同|后同"
)
_DEFAULT_RES = (
    re.compile(
        r"(?P<names>[^,;。()\[\]:]+?)(?:均|都|皆|全部|统一)?(?:为|是|作为)(?:责任|配合)(?:股室|单位|科室|部门|处室)"
        rf"\s*[,;]?\s*(?:\((?:{_MARK})\)|(?:{_MARK}))"
    ),
    re.compile(
        rf"责任(?:股室|单位|科室|部门|处室)\s*:\s*(?P<names>[^,;。()]+?)\s*[,;]?\s*(?:\((?:{_MARK})\)|(?:{_MARK}))"
    ),
)


@dataclass
class Annotation:
    """一项的标注。text 为去掉标注后的原文；annotation_text 为标注原文（含括号）；
    default_responsible 为“…均为责任单位，以下不再列出”声明的默认责任单位（对本项及以后各项有效）。"""

    text: str
    leads: list[str] = field(default_factory=list)
    responsibles: list[str] = field(default_factory=list)
    annotation_text: str = ""
    default_responsible: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.annotation_text)

    @property
    def lead_sections(self) -> list[str]:
        return self.leads

    @property
    def responsible_sections(self) -> list[str]:
        return self.responsibles


def _depths(f: str) -> list[int]:
    """每个字符所在的括号深度（开括号本身算外层）；不配对的闭括号被忽略，深度不会小于 0。"""
    out: list[int] = []
    stack: list[str] = []
    for ch in f:
        out.append(len(stack))
        if ch in _OPEN:
            stack.append(ch)
        elif ch in _CLOSE and stack:
            want = _PAIR[ch]
            if want in stack:
                while stack and stack.pop() != want:
                    pass
    return out


def _split_top(f: str, seps: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """按顶层（括号外）的分隔符切分 f[start:end]，返回各段的位置（含空段）。"""
    end = len(f) if end is None else end
    depth = _depths(f[start:end])
    spans, last = [], start
    for i in range(start, end):
        if f[i] in seps and depth[i - start] == 0:
            spans.append((last, i))
            last = i + 1
    spans.append((last, end))
    return spans


def _core(name: str) -> str:
    """判断后缀用：去掉末尾的括号部分与“等”（市府办〔市大数据局〕→ 市府办）。"""
    core = fold(name).strip()
    while core:
        if core.endswith("等"):
            core = core[:-1].rstrip()
        elif core[-1] in _CLOSE:
            depth, i = 0, len(core) - 1
            while i >= 0:
                if core[i] in _CLOSE:
                    depth += 1
                elif core[i] in _OPEN:
                    depth -= 1
                    if depth == 0:
                        break
                i -= 1
            if i <= 0:
                return core
            core = core[:i].rstrip()
        else:
            break
    return core


def looks_like_unit(name: str) -> bool:
    """像不像一个单位名称：不长（≤25字）、不含句读，且以单位后缀结尾或以“各/相关/局属…”开头。"""
    core = _core(name)
    if not core or len(core) > 25 or re.search(r"[,;。:!?]", core):
        return False
    return core.endswith(UNIT_SUFFIXES) or core.startswith(_COLLECTIVE_PREFIXES)


def _clean_name(name: str) -> str:
    name = name.strip(_TRAIL + ":：")
    name = re.sub(r"^(?:由|请)\s*", "", name)
    return re.sub(r"\s*等$", "", name).strip()


def split_section_names(s: str) -> list[str]:
    """把“综合股、法规股”拆成名称列表，名称按原文返回。

    在顶层（括号外）的 、 , ， ; ； / 处切分；“和/及/与/以及”和空格只在两边都像单位名称时切分
    （“综合股与法规股”切成两个，“人口与就业股”不切）。去掉名称前的“由/请”和末尾的“等”。
    """
    if not s:
        return []
    f = fold(s)
    names: list[str] = []
    for start, end in _split_top(f, "、,;/\n"):
        last = start
        depth = _depths(f[start:end])
        i = start
        while i < end:
            hit = next((c for c in ("以及", "和", "及", "与", " ") if f.startswith(c, i)), "")
            if (
                hit
                and depth[i - start] == 0
                and looks_like_unit(s[last:i])
                and looks_like_unit(s[i + len(hit) : end])
            ):
                names.append(s[last:i])
                last = i + len(hit)
                i = last
                continue
            i += 1
        names.append(s[last:end])
    return [n for n in (_clean_name(n) for n in names) if n]


def find_default_clause(text: str) -> tuple[list[str], tuple[int, int]] | None:
    """找“各股室均为责任单位，以下不再列出”这类默认条款，返回（名称列表，原文位置）；条款独占一对括号时位置含括号。"""
    f = fold(text or "")
    for rx in _DEFAULT_RES:
        m = rx.search(f)
        if not m:
            continue
        names = split_section_names(text[m.start("names") : m.end("names")])
        start, end = m.start(), m.end()
        start += len(f[start:end]) - len(f[start:end].lstrip())
        before, after = f[:start].rstrip(), f[end:].lstrip()
        if before.endswith(("(", "[", "【")) and after.startswith((")", "]", "】")):
            start, end = len(before) - 1, len(f) - len(after) + 1
        if names:
            return names, (start, end)
    return None


def _trailing_group(f: str) -> tuple[int, int] | None:
    """文末（忽略末尾的句号、空白）的一对括号，从后往前配对，前文里不配对的引号/括号不影响它。"""
    end = len(f.rstrip(_TRAIL))
    if end == 0 or f[end - 1] not in _CLOSE:
        return None
    depth = 0
    for i in range(end - 1, -1, -1):
        if f[i] in _CLOSE:
            depth += 1
        elif f[i] in _OPEN:
            depth -= 1
            if depth == 0:
                return i, end
    return None


def _groups(f: str) -> list[tuple[int, int]]:
    """顶层括号组的位置（从前往后）。"""
    depth, out, start = _depths(f), [], None
    for i, ch in enumerate(f):
        if ch in _OPEN and depth[i] == 0:
            start = i
        elif ch in _CLOSE and start is not None and (i + 1 == len(f) or depth[i + 1] == 0):
            out.append((start, i + 1))
            start = None
    return out


@dataclass
class _Parsed:
    leads: list[str] = field(default_factory=list)
    resps: list[str] = field(default_factory=list)
    labelled: bool = False
    prose: bool = False
    pure: bool = True  # 每个分句都只是“名称+动词”，可以从正文里去掉


def _add(target: list[str], names: list[str]) -> None:
    target.extend(n for n in names if n not in target)


def _parse_clauses(orig: str, f: str, start: int, end: int, *, strict: bool) -> _Parsed:
    """解析 orig[start:end] 中的标注分句（按顶层 ，；。 切分）。

    “牵头股室：X”这类标签分句按标签定角色（牵头/主办 → 牵头，责任/配合/协办/承办/参与 → 责任，
    领导/责任人忽略）；
    标签后的逗号分句若只是名称，归到上一个标签。散文分句“X牵头”“Y配合”“Z负责”：有“牵头”时负责/配合的都是责任单位，
    没有“牵头”时“负责/落实”的是牵头单位。strict 为 True（括号内）时，动词后不能再有别的内容。
    名称末尾写“（牵头）”的算牵头单位。
    """
    out = _Parsed()
    prose: list[tuple[str, list[str]]] = []
    role: str | None = None
    for a, b in _split_top(f, ",;。", start, end):
        clause_f = f[a:b].strip()
        if not clause_f:
            continue
        off = a + (len(f[a:b]) - len(f[a:b].lstrip()))
        label = _LABEL_RE.match(clause_f)
        if label:
            out.labelled = True
            kind = label.group("kind") or ""
            role = (
                None
                if kind in ("领导", "人")
                else ("lead" if label.group("role") in _LEAD_LABELS else "resp")
            )
            names = split_section_names(orig[off + label.end() : off + len(clause_f)])
            if role:
                _add(out.leads if role == "lead" else out.resps, names)
            continue
        m = _CLAUSE_RE.match(clause_f)
        names = split_section_names(orig[off + m.start("names") : off + m.end("names")]) if m else []
        if m and names and all(looks_like_unit(n) for n in names):
            rest = m.group("rest").strip()
            if strict and rest not in _PURE_REST:
                out.pure = False
                return out if out.labelled else _Parsed(pure=False)
            out.prose = True
            out.pure = out.pure and rest in _PURE_REST
            prose.append((m.group("verb"), names))
            role = None
            continue
        names = split_section_names(orig[off : off + len(clause_f)])
        if role and names and all(looks_like_unit(n) for n in names):
            _add(out.leads if role == "lead" else out.resps, names)
            continue
        out.pure = False
        if strict and not out.labelled:
            return _Parsed(pure=False)
    has_lead_verb = any(v == "牵头" for v, _ in prose)
    for verb, names in prose:
        is_lead = verb == "牵头" or (not has_lead_verb and verb in ("负责", "落实"))
        _add(out.leads if is_lead else out.resps, names)
    marked = [n for n in out.leads + out.resps if re.search(r"[(（]牵头[)）]$", n)]
    for n in marked:
        for lst in (out.leads, out.resps):
            if n in lst:
                lst.remove(n)
        _add(out.leads, [re.sub(r"\s*[(（]牵头[)）]$", "", n)])
    out.resps = [n for n in out.resps if n not in out.leads]
    return out


def _locate(orig: str, f: str) -> tuple[tuple[int, int] | None, _Parsed]:
    """按优先级找标注：① 文末括号（标签式或散文式）；② 其他含标签的括号；③ 括号外的标签“牵头股室：…”直到文末；
    ④ 括号外的散文“（由）X牵头，Y配合”，从最后一个“X牵头”分句直到文末。"""
    tail = _trailing_group(f)
    if tail:
        parsed = _parse_clauses(orig, f, tail[0] + 1, tail[1] - 1, strict=True)
        if parsed.labelled or (parsed.prose and parsed.pure):
            return tail, parsed
    for g in reversed(_groups(f)):
        if _LABEL_RE.search(f, g[0] + 1, g[1] - 1):
            return g, _parse_clauses(orig, f, g[0] + 1, g[1] - 1, strict=True)
    depth = _depths(f)
    for m in _LABEL_RE.finditer(f):
        if depth[m.start()] == 0:
            end = len(f.rstrip(_TRAIL))
            return (m.start(), end), _parse_clauses(orig, f, m.start(), end, strict=False)
    lead_at: int | None = None
    for a, b in _split_top(f, ",;。"):
        pos = f.find("牵头", a, b)
        if pos < 0:
            continue
        subj_start = a + len(f[a:pos]) - len(f[a:pos].lstrip())
        by = f.rfind("由", a, pos)
        if by >= 0:
            subj_start = by
        names = split_section_names(orig[subj_start:pos])
        if names and all(looks_like_unit(n) for n in names):
            lead_at = subj_start
    if lead_at is None:
        return None, _Parsed()
    end = len(f.rstrip(_TRAIL))
    parsed = _parse_clauses(orig, f, lead_at, end, strict=False)
    return ((lead_at, end), parsed) if parsed.leads else (None, _Parsed())


def _remove(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end:]
    text = re.sub(r"[\s,，;；、]+$", "", text.strip())
    return re.sub(r"。{2,}$", "。", text)


def extract_annotation(item_text: str) -> Annotation:
    """从一项的文字中取出牵头/责任标注，名称按原文返回；没有标注时 leads/responsibles 为空、text 为原文。

    支持：文末括号（全角或半角、繁体或简体）“牵头股室：综合股、法规股，责任股室：各相关股室”，
    牵头单位/科室/部门、配合股室（算责任）；散文“（X牵头，Y配合）”“X牵头，各科室配合”“（X牵头落实）”“（X负责）”
    （X 为牵头）“X牵头…；各成员单位负责…”；嵌套括号“市府办〔市大数据局〕”整体作为一个名称；
    默认条款“各股室均为责任单位，以下不再列出”（名称进入 responsibles 与 default_responsible）。
    散文式标注若混有正文内容（“X牵头做好统筹”），名称照取，但正文不删。
    """
    orig = item_text or ""
    f = fold(orig)
    default = find_default_clause(orig)
    masked_o, masked_f = orig, f
    if default:
        a, b = default[1]
        masked_o = orig[:a] + " " * (b - a) + orig[b:]
        masked_f = f[:a] + " " * (b - a) + f[b:]
    span, parsed = _locate(masked_o, masked_f)
    removable = [span] if span and (parsed.labelled or parsed.pure) else []
    pieces = [span] if span else []
    if default:
        d = default[1]
        if not span or not (span[0] <= d[0] and d[1] <= span[1]):
            pieces.append(d)
            removable.append(d)
    annotation_text = "".join(orig[a:b] for a, b in sorted(pieces)).strip()
    leads = list(parsed.leads)
    resps = list(parsed.resps)
    defaults = default[0] if default else []
    _add(resps, [n for n in defaults if n not in leads])
    return Annotation(
        text=_remove(orig, removable) if removable else orig.strip(),
        leads=leads,
        responsibles=resps,
        annotation_text=annotation_text,
        default_responsible=list(defaults),
    )
