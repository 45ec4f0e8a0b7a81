"""Condition fuzzing: spec sections 6 and 14.

"Any string given to Condition.parse gives a condition or ConditionError, never runs code, and
finishes quickly." "Evaluation never raises." Texts of any characters, token soups, and texts that
follow the grammar with literals of every type and edge value go to :meth:`Condition.parse`; any
JSON value and broken condition trees go to :meth:`Condition.from_tree`. Every condition that is
accepted is evaluated on products holding edge values, and written back as text and as a tree.

``fuzz/run.py`` drives the same checks (:func:`check_text`, :func:`check_tree`) for the long run,
and ``fuzz/atheris_conditions.py`` is a coverage-guided target; see ``docs/fuzzing.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine import Condition, ConditionError, Product, Stock
from policy_engine._conditions import evaluate
from policy_engine.testing import (
    condition_expressions,
    condition_texts,
    condition_token_texts,
    condition_trees,
    json_values,
    mutated_documents,
    products,
)

#: A ``$`` path of a tree problem: ``.key``, ``["any key"]`` and ``[index]`` segments.
PATH = re.compile(r'\$(?:\.[A-Za-z_][\w-]*|\[[0-9]+\]|\["(?:[^"\\]|\\.)*"\])*', re.DOTALL)
#: The keys of condition trees, so that arbitrary objects reach the tree parser's inner checks.
TREE_KEYS = st.sampled_from(
    ("all", "any", "not", "field", "attribute", "lower", "op", "value")
) | st.text(max_size=6)
#: Attribute codes the generated expressions name (``ﬁt`` reads as ``fit``).
CODES = ("color", "size", "msrp", "ean", "fit", "café", "_x", "x1", "lower", "under", "attr")
#: Attribute values at the edges: huge and tiny numbers, odd texts, lists of texts.
EDGE_ATTRIBUTES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**37), max_value=10**37),
    st.sampled_from((10**18, 10**18 - 1, -(10**30), 10**37)),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.sampled_from((Decimal("1E-999999"), Decimal("-0"), Decimal("1E+999999"), Decimal("1.50"))),
    st.text(st.characters(exclude_categories=()), max_size=6),
    st.sampled_from(("", "Red", "Men/Tops", "men/tops/", "1.5", "ß", "İ")),
    st.lists(st.text(max_size=4), max_size=3).map(tuple),
)


def scaled(fraction: float) -> int:
    """A share of the profile's ``max_examples`` (``ci``: 200), at least 5."""
    return max(5, int(settings().max_examples * fraction))


@st.composite
def edge_products(draw: st.DrawFn) -> Product:
    """Products whose attributes under the generated codes hold edge values."""
    product = draw(products(max_images=0))
    extra = draw(st.dictionaries(st.sampled_from(CODES), EDGE_ATTRIBUTES, max_size=4))
    return attrs.evolve(product, attributes={**product.attributes, **extra})


CATALOGS = st.lists(edge_products(), min_size=1, max_size=3)

#: A fixed catalog with edge values, for runs where drawing products would cost most of the time.
EDGE_CATALOG = (
    Product(sku="A"),
    Product(
        sku="MJ01-RED",
        name="Jacket",
        price=Decimal("59.00"),
        special_price=Decimal("1E-999999"),
        categories=("Men/Tops/Jackets", "Sale"),
        attribute_set="Top",
        attributes={
            "color": "Red",
            "size": ("S", "M"),
            "msrp": Decimal("120.50"),
            "ean": 4006381333931,
            "fit": None,
            "café": True,
            "_x": "\ud800",
            "x1": Decimal("1E+999999"),
            "lower": 10**37,
        },
        stock=Stock(qty=7, in_stock=True),
    ),
    Product(
        sku="Z", enabled=False, parent_sku="MJ01", attributes={"color": -(10**30), "size": "İ"}
    ),
)


# ------------------------------------------------------------------------------------ checks


def check_text_error(error: ConditionError) -> None:
    """A text's error points at a line and column and lists itself as the one problem."""
    assert error.construct
    assert error.line is not None
    assert error.column is not None
    assert error.column >= 1
    assert error.problems == (("$", str(error)),)


def check_tree_error(error: ConditionError) -> None:
    """A tree's error lists each problem with a ``$`` path into the tree."""
    assert error.construct
    assert error.problems
    for path, message in error.problems:
        assert PATH.fullmatch(path), f"not a $ path: {path!r}"
        assert message.strip()
    assert error.path == error.problems[0][0]


def check_condition(condition: Condition, catalog: Sequence[Product]) -> None:
    """An accepted condition evaluates to a bool on every product, as the reference does, and
    its canonical text and tree (through JSON) load back equal."""
    for product in catalog:
        result = condition.matches(product)
        assert type(result) is bool
        assert result == evaluate(condition._node, product)
    assert condition.select(catalog) == [p for p in catalog if condition.matches(p)]
    text = condition.to_text()
    assert Condition.parse(text) == condition
    assert Condition.parse(text).to_text() == text
    tree = json.loads(json.dumps(condition.to_tree(), allow_nan=False))
    assert Condition.from_tree(tree) == condition


def check_text(text: str, catalog: Sequence[Product]) -> Condition | None:
    """Parse any text: a condition that behaves (see :func:`check_condition`) or ConditionError."""
    try:
        condition = Condition.parse(text)
    except ConditionError as error:
        check_text_error(error)
        return None
    check_condition(condition, catalog)
    return condition


def check_tree(tree: Any, catalog: Sequence[Product]) -> Condition | None:
    """Load any value as a tree: a condition that behaves or a ConditionError with paths."""
    try:
        condition = Condition.from_tree(tree)
    except ConditionError as error:
        check_tree_error(error)
        return None
    check_condition(condition, catalog)
    return condition


# ------------------------------------------------------------------------------------- tests


class TestTexts:
    """Any text: a condition or a ConditionError, and accepted conditions behave."""

    @settings(max_examples=scaled(0.25))
    @given(st.text(st.characters(exclude_categories=()), max_size=300), CATALOGS)
    def test_any_characters(self, text: str, catalog: list[Product]) -> None:
        """Any characters, lone surrogates and controls included."""
        check_text(text, catalog)

    @settings(max_examples=scaled(0.25))
    @given(condition_token_texts(), CATALOGS)
    def test_token_soup(self, text: str, catalog: list[Product]) -> None:
        """The language's tokens and foreign ones, in any order."""
        check_text(text, catalog)

    @settings(max_examples=scaled(0.5))
    @given(condition_expressions(), CATALOGS)
    def test_grammar(self, text: str, catalog: list[Product]) -> None:
        """Texts that follow the grammar, with literals and calls that may not make sense."""
        check_text(text, [*catalog, *EDGE_CATALOG])

    @settings(max_examples=scaled(0.05))
    @given(st.lists(condition_texts(max_depth=1), min_size=1, max_size=4), st.data())
    def test_near_the_length_limit(self, parts: list[str], data: st.DataObject) -> None:
        """Valid texts joined by 'or' up to just over 10,000 characters."""
        text = " or ".join(parts)
        while len(text) < 9_000:
            text = f"{text} or {text}"
        text = text[: data.draw(st.integers(9_000, 10_100))]
        check_text(text, data.draw(CATALOGS))

    def test_grammar_reaches_both_outcomes(self) -> None:
        """The grammar strategy gives valid conditions and errors alike (it is not all noise)."""
        outcomes: set[str] = set()

        @settings(max_examples=100, database=None)
        @given(condition_expressions())
        def run(text: str) -> None:
            try:
                Condition.parse(text)
                outcomes.add("condition")
            except ConditionError:
                outcomes.add("error")

        run()
        assert outcomes == {"condition", "error"}


class TestTrees:
    """Any JSON value as a tree: a condition or a ConditionError with ``$`` paths."""

    @settings(max_examples=scaled(0.25))
    @given(json_values(keys=TREE_KEYS, max_int_digits=5000), CATALOGS)
    def test_any_json_value(self, tree: Any, catalog: list[Product]) -> None:
        """Any value, huge integers beyond what Python prints included."""
        check_tree(tree, catalog)

    @settings(max_examples=scaled(0.25))
    @given(mutated_documents(condition_trees(), keys=TREE_KEYS), CATALOGS)
    def test_mutated_trees(self, tree: Any, catalog: list[Product]) -> None:
        """Valid trees with a key replaced, removed, retyped or added."""
        check_tree(tree, catalog)


class TestFoundByFuzzing:
    """Inputs the fuzzers found that once escaped as another exception or a wrong message."""

    @pytest.mark.parametrize(
        ("tree", "construct"),
        [
            ({"field": "qty", "op": "==", "value": 10**5000}, "integer out of range"),
            ({"field": "qty", "op": 10**5000, "value": 1}, "unknown op an integer"),
        ],
        ids=["value", "op"],
    )
    def test_an_integer_python_cannot_print(self, tree: Any, construct: str) -> None:
        """A tree value or op of more than 4,300 digits is a ConditionError, not a ValueError."""
        with pytest.raises(ConditionError) as caught:
            Condition.from_tree(tree)
        assert caught.value.construct == construct
        check_tree_error(caught.value)

    @pytest.mark.parametrize(
        "text",
        ["x == " + "1" * 5000, "x == 0x" + "f" * 5000, "x == 1_" + "0" * 19],
        ids=["decimal", "hexadecimal", "underscores"],
    )
    def test_integer_literals_of_any_length(self, text: str) -> None:
        """An over-long integer, decimal or hexadecimal, is out of range, not a syntax error."""
        with pytest.raises(ConditionError) as caught:
            Condition.parse(text)
        assert caught.value.construct == "integer out of range"
        assert caught.value.column == 6

    @pytest.mark.parametrize("digits", [30, 5000])
    def test_exponent_beyond_a_decimal(self, digits: int) -> None:
        """An exponent no Decimal holds is a number out of range, not InvalidOperation."""
        with pytest.raises(ConditionError) as caught:
            Condition.parse("x == 1e" + "9" * digits)
        assert caught.value.construct == "number out of range"
        shown = "1e" + "9" * digits
        shown = shown if len(shown) <= 40 else shown[:40] + "…"
        assert caught.value.message == f"the number {shown} is out of range"

    @pytest.mark.parametrize(
        ("key", "path"),
        [("À", '$["À"]'), ("a b", '$["a b"]'), ("ok-key", "$.ok-key"), (7, '$["7"]')],
    )
    def test_keys_are_written_as_the_loaders_write_them(self, key: object, path: str) -> None:
        """A key that is not plain ASCII is quoted in the path, as in every loader's errors."""
        tree: dict[Any, Any] = {"field": "x", "op": "==", "value": 1, key: 1}
        with pytest.raises(ConditionError) as caught:
            Condition.from_tree(tree)
        assert caught.value.path == path

    def test_a_value_nested_deeper_than_repr_goes(self) -> None:
        """An op nested thousands of lists deep is named by its type."""
        op: Any = "=="
        for _ in range(5000):
            op = [op]
        with pytest.raises(ConditionError) as caught:
            Condition.from_tree({"field": "x", "op": op, "value": 1})
        assert caught.value.construct == "unknown op a list"

    def test_long_values_are_cut_in_messages(self) -> None:
        """An unknown op of a thousand characters is quoted in 40 and an ellipsis."""
        with pytest.raises(ConditionError) as caught:
            Condition.from_tree({"field": "x", "op": "o" * 1000, "value": 1})
        assert caught.value.construct == "unknown op '" + "o" * 39 + "…"
