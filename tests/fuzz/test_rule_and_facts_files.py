"""坏输入 · 评分细则文件与事实文件（hypothesis）：任意文字、改乱了的细则、随机的事实文件 —— 加载器从不抛异常，
细则的错误都带行号。"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import settings as budget
from hypothesis import strategies as st

from scoring.factsfile import load_facts_text
from scoring.rulefile import load_ruleset_text
from tests.fuzz.support import FAST, examples
from tests.scoring.test_facts import SECTION_RULES

RULE_LINES = SECTION_RULES.read_text(encoding="utf-8").splitlines()
YAML_SCALARS = st.one_of(
    st.sampled_from(
        [
            "",
            "~",
            "null",
            "-1",
            "0.00001",
            "1e400",
            ".nan",
            "yes",
            "[",
            "{a: 1}",
            "&a x",
            "*a",
            "!!python/object:os.system",
        ]
    ),
    st.integers(-(10**30), 10**30).map(str),
    st.text(max_size=20),
)
BILLION_LAUGHS = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]"
        for i in range(8)
    ]
    + ["code: *i"]
)


@st.composite
def mangled_rules(draw: st.DrawFn) -> str:
    lines = list(RULE_LINES)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "value", "indent", "duplicate", "key"]))
        line = lines[i]
        if op == "delete":
            del lines[i]
        elif op == "value" and ":" in line:
            lines[i] = line.split(":", 1)[0] + ": " + draw(YAML_SCALARS)
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 9)) + line.lstrip()
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "key" and ":" in line:
            indent = line[: len(line) - len(line.lstrip())]
            lines[i] = indent + draw(st.text(min_size=1, max_size=8)) + ":" + line.split(":", 1)[1]
        if not lines:
            lines = [""]
    return "\n".join(lines)


def _assert_rules_result(result: tuple[Any, list[Any]]) -> None:
    ruleset, errors = result
    assert ruleset is not None or errors
    for error in errors:
        assert str(error) and isinstance(error.line, int) and error.line >= 0


@FAST
@given(text=st.text(max_size=2000))
@example(text=BILLION_LAUGHS)
@example(text="[" * 1000)  # PyYAML slows down sharply with nesting: 2000 levels take seconds
@example(text="code: !!python/object/apply:os.system ['true']")
@example(text="\x00\ufeff---\n...")
def test_the_rule_file_loader_never_raises_on_arbitrary_text(text):
    _assert_rules_result(load_ruleset_text(text))


@budget(FAST, max_examples=examples(40))
@given(text=mangled_rules())
def test_a_mangled_rule_file_is_rejected_with_line_numbers_or_loads(text):
    _assert_rules_result(load_ruleset_text(text))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
FACT_NAMES = ["tasks_overdue", "items_published", "quality_assessment", "commendations", "column_stale", "x"]


@st.composite
def facts_documents(draw: st.DrawFn) -> str:
    unit = st.fixed_dictionaries(
        {
            "unit": JSON_VALUES | st.text(max_size=6),
            "facts": st.dictionaries(st.sampled_from(FACT_NAMES), JSON_VALUES),
        },
        optional={"period": JSON_VALUES, "extra": JSON_VALUES},
    )
    doc = draw(
        st.fixed_dictionaries(
            {"units": st.lists(unit, max_size=4) | JSON_VALUES},
            optional={"period": st.sampled_from(["Q1", "2023Q1", ""]) | JSON_VALUES, "zz": JSON_VALUES},
        )
        | JSON_VALUES
    )
    return json.dumps(doc, ensure_ascii=draw(st.booleans()))


@FAST
@given(text=st.text(max_size=1000) | facts_documents())
@example(text="[" * 100_000)
@example(text='{"period": "Q1", "units": [{"unit": "a", "facts": {"items_published": NaN}}]}')
@example(text='{"period": "Q1", "units": [{"unit": "a", "facts": {"items_published": 1e999999}}]}')
def test_the_facts_file_loader_never_raises(text):
    units, errors = load_facts_text(text)
    assert isinstance(units, list)
    for error in errors:
        assert str(error)
