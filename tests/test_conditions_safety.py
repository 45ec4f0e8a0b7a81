"""Conditions never run code: spec sections 6 and 14.

"Any string given to Condition.parse gives a condition or ConditionError, never runs code, and
finishes quickly."
"""

from __future__ import annotations

import ast
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine import Condition, ConditionError, Product
from policy_engine._conditions import _parse_text, _TextParser
from policy_engine.testing import condition_texts, conditions, products

#: The names the generated code may use on the objects it gets: product fields, the stock's,
#: ``attributes.get`` and the text methods. Nothing a condition says can add to this list.
ALLOWED_NAMES = frozenset(
    {
        "sku",
        "name",
        "type",
        "enabled",
        "visibility",
        "price",
        "special_price",
        "categories",
        "attribute_set",
        "parent_sku",
        "stock",
        "qty",
        "in_stock",
        "attributes",
        "get",
        "lower",
        "startswith",
        "endswith",
    }
)

HOSTILE = [
    ("__import__('os')", "dunder name '__import__'", 1),
    ("().__class__", "attribute access", 3),
    ("sku.__len__()", "attribute access", 4),
    ("lambda: 1", "lambda", 1),
    ("[x for x in categories]", "comprehension", 4),
    ("f'{sku}'", "f-string", 1),
    ("a ** 999999999", "'**' operator", 3),
    ("(" * 100_000 + "x" + ")" * 100_000, "text too long", 10_001),
    ("'" + "x" * 1_000_000 + "'", "text too long", 10_001),
    ("x" * 1_000_000, "text too long", 10_001),
    ("(" * 51 + "x" + ")" * 51, "nesting too deep", 51),
    ("[" * 51 + "]" * 51, "nesting too deep", 51),
    ("not " * 51 + "x", "nesting too deep", 201),
    ("x == 1 and " * 51 + "lower(" * 51 + "x" + ")" * 51, "nesting too deep", 867),
    ("eval('1')", "call to 'eval'", 1),
    ("exec('import os')", "call to 'exec'", 1),
    ("open('/etc/passwd')", "call to 'open'", 1),
    ("getattr(sku, '__class__')", "call to 'getattr'", 1),
    ("globals()", "call to 'globals'", 1),
    ("__builtins__", "dunder name '__builtins__'", 1),
    ("sku.upper() == 'A'", "attribute access", 4),
    ("sku[0] == 'A'", "subscript", 4),
    ("'%s' % sku", "arithmetic operator '%'", 6),
    ("9 ** 9 ** 9 ** 9", "'**' operator", 3),
    ("-" * 9999 + "1", "sign '-'", 1),
    ("~" * 9999 + "1", "bitwise operator '~'", 1),
    ("x" + "()" * 4000, "call to 'x'", 1),
    ("a." * 4000 + "b", "attribute access", 2),
    ("lambda:" * 1400 + "x", "lambda", 1),
    ("x if " * 800 + "y" + " else z" * 800, "conditional expression", 3),
    ("(x := __import__)", "assignment expression", 4),
    ("{**x}", "set or dict display", 1),
    ("*x", "arithmetic operator '*'", 1),
    ("yield", "'yield' expression", 1),
    ("await x", "'await' expression", 1),
    ("b'\\x00'", "bytes literal", 1),
    ("rf'{x}'", "f-string", 1),
    ("x == '\\x00' or \x00", "character", 16),
    ("sku == 1 # comment\n.__class__", "attribute access", 1),
    ("startswith(sku, 'a', 'b')", "call to 'startswith'", 1),
    ("lower(sku).__class__", "attribute access", 11),
    ("attr('__class__').x", "attribute access", 18),
]


def outcome(source: Any) -> ConditionError | None:
    """The error a text or a tree raises, or None when it is a valid condition."""
    try:
        Condition(source)
    except ConditionError as error:
        return error
    return None


def parse_error(text: str) -> tuple[ConditionError, float]:
    """The error a text raises and the seconds it took."""
    start = time.perf_counter()
    with pytest.raises(ConditionError) as caught:
        Condition.parse(text)
    return caught.value, time.perf_counter() - start


class TestHostileTexts:
    """Each hostile text is a ConditionError with a column, raised quickly."""

    @pytest.mark.parametrize(
        ("text", "construct", "column"), HOSTILE, ids=[text[:30] for text, _, _ in HOSTILE]
    )
    def test_rejected_quickly_with_a_column(self, text: str, construct: str, column: int) -> None:
        """The text is rejected in well under a second, naming the construct and its column."""
        error, seconds = parse_error(text)
        assert seconds < 1
        assert error.construct == construct
        assert error.column == column
        assert error.line is not None
        lines = str(error).split("\n")
        assert len(lines[1]) < 100
        assert "^" in lines[-1]

    def test_nothing_runs(self, tmp_path: Path) -> None:
        """A text that would write a file if it ran leaves no file behind."""
        target = tmp_path / "ran"
        for text in (
            f"__import__('os').system('touch {target}')",
            f"open({str(target)!r}, 'w')",
            f"[open({str(target)!r}, 'w') for x in categories]",
        ):
            parse_error(text)
        assert not target.exists()

    def test_limits_are_inclusive(self) -> None:
        """10,000 characters and 50 levels are allowed; one more is not."""
        text = "x == '" + "a" * 9_993 + "'"
        assert len(text) == 10_000
        assert Condition.parse(text).matches(Product(sku="A")) is False
        assert parse_error(text + " ")[0].construct == "text too long"
        assert Condition.parse("(" * 50 + "x" + ")" * 50) == Condition.parse("x")
        assert Condition.parse("not " * 50 + "x") == Condition.parse("x")
        assert parse_error("not " * 51 + "x")[0].column == 201

    def test_deep_chains_count_as_a_level(self) -> None:
        """A chained comparison is an 'and': at level 51 it is too deep."""
        assert Condition.parse("not " * 49 + "1 < x < 2")
        error, _ = parse_error("not " * 50 + "1 < x < 2")
        assert error.construct == "nesting too deep"

    def test_brackets_inside_texts_do_not_count(self) -> None:
        """Brackets, dots and keywords inside a text literal are just text."""
        text = "name == '" + "(" * 60 + ".__class__ lambda import" + "'"
        assert Condition.parse(text).matches(Product(sku="A", name=text[9:-1]))
        assert Condition.parse('name == """a\'b"""').matches(Product(sku="A", name="a'b"))
        assert Condition.parse("name == 'a\\\nb'").matches(Product(sku="A", name="ab"))

    def test_unicode_names_are_normalized_like_python(self) -> None:
        """A name spelled with compatibility characters is the normalized attribute code."""
        assert Condition.parse("ﬁt == 1") == Condition.parse("attr('fit') == 1")


class TestDefenceInDepth:
    """The syntax tree walk rejects foreign constructs even without the token scan."""

    @pytest.mark.parametrize(
        ("text", "construct"),
        [
            ("().__class__", "attribute access"),
            ("x.y == 1", "attribute access"),
            ("x is None", "'is' operator"),
            ("x is not None", "'is' operator"),
            ("'a'(1)", "call"),
            ("(x)(1)", "call to 'x'"),
            ("eval('1')", "call to 'eval'"),
            ("startswith(sku, prefix='a')", "keyword argument"),
            ("-x == 1", "sign"),
            ("__import__ == 1", "dunder name '__import__'"),
            ("x + 1 == 2", "arithmetic operator"),
            ("x ** 2 == 4", "'**' operator"),
            ("~x == 1", "condition as a value"),
            ("lambda: 1", "lambda"),
            ("x[0] == 1", "subscript"),
            ("[y for y in x]", "comprehension"),
            ("(y for y in x) == 1", "comprehension"),
            ("f'{x}' == 'a'", "f-string"),
            ("x == (a if b else c)", "conditional expression"),
            ("x == {1: 2}", "dict display"),
            ("x == {1}", "set display"),
            ("x == b'a'", "bytes literal"),
            ("x == ...", "ellipsis"),
            ("x == (y := 1)", "assignment expression"),
            ("x in [*y]", "starred expression"),
        ],
    )
    def test_walk_alone_rejects(self, text: str, construct: str) -> None:
        """Parsed straight with ast, the walk still names the construct with a column."""
        with pytest.raises(ConditionError) as caught:
            _TextParser(text).parse(ast.parse(text, mode="eval"))
        assert caught.value.construct == construct
        assert caught.value.column is not None

    def test_walk_alone_limits_nesting(self) -> None:
        """Parsed straight with ast, 51 nested 'not' are too deep."""
        text = "not " * 51 + "x"
        with pytest.raises(ConditionError) as caught:
            _TextParser(text).parse(ast.parse(text, mode="eval"))
        assert caught.value.construct == "nesting too deep"

    def test_parser_failures_become_condition_errors(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Should Python's parser fail in another way, the failure is a ConditionError."""

        def exhausted(*_: Any, **__: Any) -> Any:
            raise MemoryError

        monkeypatch.setattr(ast, "parse", exhausted)
        with pytest.raises(ConditionError) as caught:
            _parse_text("x == 1")
        assert caught.value.construct == "syntax error"

    @given(conditions(max_depth=4))
    def test_compiled_code_uses_only_known_names(self, condition: Condition) -> None:
        """Whatever the condition says, the compiled code names only our own attributes."""
        function: Any = condition.matches
        code = function.__code__
        assert set(code.co_names) <= ALLOWED_NAMES
        assert function.__globals__["__builtins"[:12] + "__"] == {}
        assert all(not name.startswith("__") for name in code.co_names)


class TestFuzz:
    """Arbitrary input gives a condition or a ConditionError, quickly."""

    @given(st.text(max_size=200))
    def test_any_text(self, text: str) -> None:
        """Any string: a condition or a ConditionError, never another exception."""
        error = outcome(text)
        assert error is None or error.column is not None

    @given(st.text(alphabet="xq1.'\"()[],<=>!-+*/ \n\\#_anotriswlbdf", max_size=80))
    def test_texts_from_the_language_alphabet(self, text: str) -> None:
        """Texts made of the characters that matter: a condition or a ConditionError."""
        error = outcome(text)
        assert error is None or (error.column is not None and error.line is not None)

    @given(condition_texts(), st.data())
    def test_mutated_valid_texts(self, text: str, data: st.DataObject) -> None:
        """A valid text with a few characters inserted or removed: never another exception."""
        for _ in range(data.draw(st.integers(1, 3))):
            position = data.draw(st.integers(0, len(text)))
            if data.draw(st.booleans()) and position < len(text):
                text = text[:position] + text[position + 1 :]
            else:
                insert = data.draw(st.sampled_from([*".()[]'\"_ *-,:=!\\{}@", "__", "not"]))
                text = text[:position] + insert + text[position:]
        error = outcome(text)
        assert error is None or error.column is not None

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    ["all", "any", "not", "field", "attribute", "op", "value", "lower", "x"]
                ),
                inner,
                max_size=4,
            )
        ),
        max_leaves=20,
    )

    @given(json_values)
    def test_any_json_tree(self, tree: Any) -> None:
        """Any JSON value as a tree: a condition or a ConditionError with a path."""
        if not isinstance(tree, dict):
            tree = {"not": tree}
        error = outcome(tree)
        assert error is None or (error.path is not None and len(error.problems) >= 1)

    @given(conditions(), products(max_images=0))
    def test_matching_never_raises(self, condition: Condition, item: Product) -> None:
        """Evaluation never raises, whatever the product holds."""
        assert condition.matches(item) in (True, False)
