"""文本规范化（繁简、全角半角、空白）：供解析器匹配股室名称与关键词，原文保留用于显示。

规则：`fold()` 逐字对应、长度不变（繁转简 + 全角转半角），所以在折叠后的文本上找到的位置可以直接切原文。
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = [
    "fold",
    "join_lines",
    "match_key",
    "squeeze_spaces",
    "to_fullwidth_punct",
    "to_halfwidth_punct",
    "to_simplified",
]

# 全角 ASCII 区（！到～，含数字、字母、（）：，；．）与全角空格折叠为半角；逐字替换，长度不变。
_TO_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xA0: 0x20}
# 反方向只处理公文常用的标点，用于显示时统一为全角。
_TO_FULL = str.maketrans({"(": "（", ")": "）", ":": "：", ",": "，", ";": "；"})

_converter: Any = None


def _opencc() -> Any:
    """惰性创建一次 OpenCC('t2s') 转换器（创建较慢，且测试不需要时不加载）。"""
    global _converter
    if _converter is None:
        import opencc

        _converter = opencc.OpenCC("t2s")
    return _converter


def to_halfwidth_punct(s: str) -> str:
    """全角标点、数字、字母与全角空格转为半角：（）：，；．１２ → ():,;.12。“、”“。”没有半角对应，不变。"""
    return s.translate(_TO_HALF)


def to_fullwidth_punct(s: str) -> str:
    """半角 ( ) : , ; 转为全角（显示用）；不动数字与字母。"""
    return s.translate(_TO_FULL)


@lru_cache(maxsize=4096)
def to_simplified(s: str) -> str:
    """繁体转简体（OpenCC t2s）；简体原样返回。"""
    if not s:
        return s
    return str(_opencc().convert(s))


@lru_cache(maxsize=4096)
def _simplified_aligned(s: str) -> str:
    """繁转简且保证与原文逐字对齐：整段转换长度不变就用它，否则逐字转换（个别词组转换会改变长度）。"""
    whole = to_simplified(s)
    if len(whole) == len(s):
        return whole
    chars = []
    for ch in s:
        conv = to_simplified(ch)
        chars.append(conv if len(conv) == 1 else ch)
    return "".join(chars)


def fold(s: str) -> str:
    """匹配用的折叠：繁转简 + 全角转半角，长度与原文相同（位置可直接用于切原文）。"""
    return to_halfwidth_punct(_simplified_aligned(s)) if s else s


_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_CJK_PUNCT = "，。、；：！？（）《》“”‘’〔〕【】"
_SPACE_BETWEEN_CJK_RE = re.compile(rf"(?<=[{_CJK}{_CJK_PUNCT}])\s+(?=[{_CJK}{_CJK_PUNCT}])")
_MULTI_SPACE_RE = re.compile(r"\s+")


def squeeze_spaces(s: str) -> str:
    """整理空白：全角空格/不换行空格/制表符视为空格，汉字之间的空格去掉，其余连续空白压成一个，去掉首尾空白。"""
    s = s.replace("\u3000", " ").replace("\xa0", " ").replace("\ufeff", "")
    s = _SPACE_BETWEEN_CJK_RE.sub("", s)
    return _MULTI_SPACE_RE.sub(" ", s).strip()


def join_lines(a: str, b: str) -> str:
    """把断行接回去：两边都是西文字母/数字时加一个空格，否则（中文）直接相连。"""
    if not a:
        return b
    if not b:
        return a
    if a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return f"{a} {b}"
    return a + b


def match_key(name: str) -> str:
    """股室名称的匹配键：简体 + 半角 + 去掉全部空白。“綜合股 ”“综合股”得到同一个键。"""
    return re.sub(r"\s+", "", fold(name or ""))
