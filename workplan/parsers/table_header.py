"""表格式工作要点的表头与编号识别：表头单元格的含义（繁简、全半角均可）、表头所在行（含两层表头）、
序号与章节编号（“一、”“（一）”“第一部分”）的写法。纯函数，表格的逐行解析见 tables.py。
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from .text import match_key

HEADER_SCAN_ROWS = 30
EXPECTED_HEADERS = (
    "序号、工作任务（重点任务/工作内容）、具体要求（工作要求/具体措施）、牵头股室（牵头单位）、"
    "责任股室（责任单位/配合单位）、时限要求（完成时限）"
)

CN_NUM = "一二三四五六七八九十百零〇两"
_SPACE_RE = re.compile(r"\s+")
_PAREN_RE = re.compile(r"[（(][^（）()]*[）)]")
SEQ_RE = re.compile(r"^[（(]?\d{1,4}[）)]?[.、．,，]?$|^\d{1,3}(?:[.．-]\d{1,3})+$")
_HEADING_RES = (
    (1, re.compile(rf"^(?P<num>[{CN_NUM}]+)\s*[、.．,，]\s*(?P<title>.*)$", re.S)),
    (1, re.compile(rf"^第(?P<num>[{CN_NUM}\d]+)(?:部分|章|类|篇)\s*[、：:.．]?\s*(?P<title>.*)$", re.S)),
    (2, re.compile(rf"^[（(](?P<num>[{CN_NUM}]+)[）)]\s*(?P<title>.*)$", re.S)),
)
_LEADER_RE = re.compile(r"(领导|责任人|负责人|联系人|联系方式|电话)$")
_UNIT_WORDS = ("单位", "股室", "科室", "部门", "处室", "主体", "股", "科", "处", "室", "局", "机构")
# 表头关键词（简体；繁体与全角经 match_key 折叠后比较）。
_DETAIL_KEYS = frozenset(
    "具体要求 工作要求 任务内容 具体措施 工作措施 主要内容 具体内容 工作举措 措施 要求 任务要求 具体工作"
    " 工作目标 目标任务 内容 主要措施 推进措施 工作标准".split()
)
_TASK_KEYS = frozenset(
    "工作任务 重点任务 任务 工作内容 主要任务 任务名称 工作事项 重点工作 工作项目 事项 项目 任务事项"
    " 公开事项 主要工作 具体任务 工作重点 任务分解 重点事项".split()
)
_CATEGORY_KEYS = frozenset("类别 分类 领域 重点领域 板块 工作类别 任务类别 公开领域 方面".split())
_IGNORE_KEYS = frozenset(
    "备注 完成情况 进展情况 进度情况 分值 评分 考核 佐证材料 完成标准 考核标准 公开方式 公开渠道 公开载体"
    " 是否完成 序".split()
)


def header_role(cell: str) -> str | None:
    """表头单元格的含义：number/task/detail/category/lead/resp/combined/deadline/ignore；认不出为 None。"""
    key = _SPACE_RE.sub("", match_key(cell or ""))
    if not key or len(key) > 24:
        return None
    bare = _PAREN_RE.sub("", key) or key
    bare = bare.rstrip(":：")
    if bare in {"序号", "编号", "序列号", "号"} or bare.startswith("序号"):
        return "number"
    if _LEADER_RE.search(bare):
        return "ignore"
    if bare in _IGNORE_KEYS:
        return "ignore"
    has_unit = any(w in key for w in _UNIT_WORDS)
    if "牵头" in key and any(w in key for w in ("责任", "配合", "协办", "参与", "及")):
        return "combined"
    if "牵头" in bare or bare.startswith("主办") or bare.startswith("主责"):
        return "lead"
    if has_unit and any(
        w in bare for w in ("责任", "配合", "协办", "协同", "参与", "承办", "负责", "落实", "实施")
    ):
        return "resp"
    if any(w in bare for w in ("时限", "时间", "期限", "进度安排", "截止")):
        return "deadline"
    if bare in _DETAIL_KEYS or bare.endswith(("要求", "措施", "举措")):
        return "detail"
    if bare in _TASK_KEYS or bare.endswith("任务"):
        return "task"
    if bare in _CATEGORY_KEYS:
        return "category"
    return None


@dataclass
class Columns:
    """识别出的表头：各角色所在列号（0 起），以及每列的原表头文字。"""

    header_index: int
    texts: list[str]
    roles: list[str | None]
    number: int | None = None
    task: int | None = None
    category: int | None = None
    deadline: int | None = None
    detail: list[int] = field(default_factory=list)
    lead: list[int] = field(default_factory=list)
    resp: list[int] = field(default_factory=list)
    combined: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    top_index: int = -1  # 两层表头时上层所在行；单层时等于 header_index

    def unit_header(self) -> str:
        cols = self.lead + self.combined + self.resp
        return self.texts[cols[0]] if cols else ""


def _columns_from(texts: list[str], roles: list[str | None], index: int) -> Columns | None:
    cols = Columns(header_index=index, texts=texts, roles=roles)
    for i, role in enumerate(roles):
        if role in ("number", "task", "category", "deadline"):
            if getattr(cols, role) is None:
                setattr(cols, role, i)
            elif role == "task":
                cols.detail.append(i)
            else:
                cols.duplicates.append(i)
        elif role in ("detail", "lead", "resp", "combined"):
            getattr(cols, role).append(i)
    if cols.task is None and not cols.detail:
        return None
    distinct = {r for r in roles if r and r != "ignore"}
    if len(distinct) < 2:
        return None
    if cols.task is not None and not cols.detail:
        # 只有“工作任务”一列：它就是任务正文，每行一项。
        cols.detail, cols.task = [cols.task], None
    if not cols.lead and not cols.combined and len(cols.resp) == 1:
        # 只有一列“责任科室（单位）”：按合并列处理（见 _units）。
        cols.combined, cols.resp = cols.resp, []
    return cols


def find_header(rows: list[list[str]], *, scan: int = HEADER_SCAN_ROWS) -> Columns | None:
    """在前 scan 行中找表头；紧随其后的一行若全是表头文字（两层表头，如“责任单位”下分“牵头/配合”），并入。"""
    for index, row in enumerate(rows[:scan]):
        texts = [c.strip() for c in row]
        roles = [header_role(c) for c in texts]
        cols = _columns_from(texts, roles, index)
        if cols is None:
            continue
        if index + 1 < len(rows):
            below = [c.strip() for c in rows[index + 1]]
            below_roles = [header_role(c) for c in below]
            filled = [i for i, c in enumerate(below) if c]
            if filled and all(below_roles[i] for i in filled):
                merged_texts, merged_roles = list(texts), list(roles)
                for i in filled:
                    if i < len(merged_texts):
                        merged_texts[i], merged_roles[i] = below[i], below_roles[i]
                    else:
                        merged_texts.append(below[i])
                        merged_roles.append(below_roles[i])
                two = _columns_from(merged_texts, merged_roles, index + 1)
                if two is not None:
                    two.top_index = index
                    return two
        cols.top_index = index
        return cols
    return None


class Heading(NamedTuple):
    """章节编号行：number 为原文序号（“一、”“(一)”），canon 为 number_path 用的规范写法（“一”“（一）”）。"""

    number: str
    canon: str
    level: int
    title: str


def heading_parts(text: str) -> Heading | None:
    """“一、标题”→Heading("一、", "一", 1, "标题")；“（一）标题”→ 第 2 级；不是章节编号则 None。"""
    flat = text.strip()
    for level, pattern in _HEADING_RES:
        m = pattern.match(flat)
        if m:
            num = m.group("num")
            canon = f"（{num}）" if level == 2 else num
            return Heading(flat[: m.start("title")].strip(), canon, level, m.group("title").strip())
    return None
