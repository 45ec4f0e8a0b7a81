"""Strategies for conditions: valid texts, valid trees, and compiled conditions.

The texts come from the condition grammar (spec section 6), written with the variations a person
uses: flipped and chained comparisons, ``true``/``null`` spellings, both quote styles, lists and
tuples, ``attr('…')``, ``lower(…)``, optional spaces and line breaks inside brackets. The values
lean towards the ones :func:`~policy_engine.testing.products` produces, so that conditions match
some generated products and miss others.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from policy_engine._conditions import Condition

__all__ = ["condition_texts", "condition_trees", "conditions"]

#: The product values a condition names (spec section 6).
FIELD_NAMES = (
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
    "qty",
    "in_stock",
)
#: Attribute codes that read as bare names.
ATTRIBUTE_CODES = ("color", "size", "material", "msrp", "marketplace_image", "ean", "brand")
#: Attribute codes reachable only with ``attr('…')``: not identifiers, or shadowed by a name.
ODD_CODES = ("x-y", "sku", "price", "true", "color code", "ean13")
TEXTS = (
    "",
    "Red",
    "red",
    "Blue",
    "Black",
    "Shirt",
    "shirt",
    "Bag",
    "Men",
    "Men/Tops",
    "Men/Tops/Jackets",
    "Gear",
    "Default",
    "Top",
    "simple",
    "configurable",
    "catalog",
    "catalog_search",
    "not_visible_individually",
    "A",
    "0",
    "59.00",
    "/m/a/img.jpg",
    "It's",
    'say "hi"',
)
_ORDERING = ("<", "<=", ">", ">=")
_EQUALITY = ("==", "!=")
_PREDICATES = ("startswith", "endswith", "under")


def _texts() -> st.SearchStrategy[str]:
    return st.sampled_from(TEXTS) | st.text(max_size=6)


def _numbers() -> st.SearchStrategy[int | Decimal]:
    return st.integers(min_value=-1000, max_value=100_000) | st.decimals(
        min_value=-1000, max_value=100_000, places=2, allow_nan=False, allow_infinity=False
    )


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(_texts(), _numbers(), st.booleans(), st.none())


def _orderable() -> st.SearchStrategy[Any]:
    return _texts() | _numbers()


# ---------------------------------------------------------------------------------------- trees


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_json(item) for item in value]
    return value


@st.composite
def _tree_subject(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(("field", "field", "attribute")))
    if kind == "field":
        subject: dict[str, Any] = {"field": draw(st.sampled_from(FIELD_NAMES + ATTRIBUTE_CODES))}
    else:
        subject = {"attribute": draw(st.sampled_from(ATTRIBUTE_CODES + ODD_CODES))}
    if draw(st.integers(0, 5)) == 0:
        subject["lower"] = True
    return subject


@st.composite
def _tree_leaf(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(
        st.sampled_from(
            ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "contains", *_PREDICATES)
        )
    )
    leaf = draw(_tree_subject())
    leaf["op"] = op
    if op not in ("in", "not_in") and draw(st.integers(0, 6)) == 0:
        leaf["value"] = draw(_tree_subject())
    elif op in _EQUALITY:
        leaf["value"] = _json(draw(_scalars() | st.lists(_scalars(), max_size=3)))
    elif op in _ORDERING:
        leaf["value"] = _json(draw(_orderable()))
    elif op in ("in", "not_in"):
        leaf["value"] = _json(draw(st.lists(_scalars(), max_size=4)))
    elif op == "contains":
        leaf["value"] = _json(draw(_scalars()))
    else:
        leaf["value"] = draw(_texts())
    return leaf


@st.composite
def condition_trees(
    draw: st.DrawFn, *, max_depth: int = 3, max_children: int = 3
) -> dict[str, Any]:
    """Valid condition trees (JSON-compatible dicts) nested at most ``max_depth`` levels."""

    def node(depth: int) -> dict[str, Any]:
        kind = draw(
            st.sampled_from(("leaf", "leaf", "all", "any", "not")) if depth else st.just("leaf")
        )
        if kind == "leaf":
            return draw(_tree_leaf())
        if kind == "not":
            return {"not": node(depth - 1)}
        count = draw(st.integers(min_value=0, max_value=max_children))
        return {kind: [node(depth - 1) for _ in range(count)]}

    return node(max_depth)


# ---------------------------------------------------------------------------------------- texts


@st.composite
def _quoted(draw: st.DrawFn, text: str) -> str:
    if "'" not in text and '"' not in text and "\\" not in text and draw(st.booleans()):
        return f'"{text}"' if text.isprintable() else repr(text)
    return repr(text)


@st.composite
def _literal_text(draw: st.DrawFn, value: Any) -> str:
    if value is None:
        return draw(st.sampled_from(("None", "null")))
    if value is True:
        return draw(st.sampled_from(("True", "true")))
    if value is False:
        return draw(st.sampled_from(("False", "false")))
    if isinstance(value, str):
        return draw(_quoted(value))
    if isinstance(value, list):
        items = [draw(_literal_text(item)) for item in value]
        body = ", ".join(items)
        if draw(st.booleans()):
            return f"[{body}]"
        return f"({body},)" if len(items) == 1 else f"({body})"
    return str(value)


@st.composite
def _subject_text(draw: st.DrawFn) -> str:
    choice = draw(st.integers(0, 9))
    if choice < 5:
        text = draw(st.sampled_from(FIELD_NAMES))
    elif choice < 8:
        text = draw(st.sampled_from(ATTRIBUTE_CODES))
    else:
        text = f"attr({draw(_quoted(draw(st.sampled_from(ATTRIBUTE_CODES + ODD_CODES))))})"
    if draw(st.integers(0, 5)) == 0:
        text = f"lower({text})"
    return text


@st.composite
def _operator(draw: st.DrawFn, op: str) -> str:
    return draw(st.sampled_from((f" {op} ", f" {op} ", f"{op}", f"  {op} ")))


@st.composite
def _leaf_text(draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(
            ("compare", "compare", "chain", "member", "contains", "call", "refer", "bare")
        )
    )
    subject = draw(_subject_text())
    if kind == "compare":
        op = draw(st.sampled_from(_EQUALITY + _ORDERING))
        value = draw(
            _orderable() if op in _ORDERING else _scalars() | st.lists(_scalars(), max_size=3)
        )
        literal = draw(_literal_text(value))
        if draw(st.booleans()):
            return f"{subject}{draw(_operator(op))}{literal}"
        flipped = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
        return f"{literal}{draw(_operator(flipped))}{subject}"
    if kind == "chain":
        low = draw(_literal_text(draw(_orderable())))
        high = draw(_literal_text(draw(_orderable())))
        first, second = draw(st.sampled_from(_ORDERING)), draw(st.sampled_from(_ORDERING))
        return f"{low}{draw(_operator(first))}{subject}{draw(_operator(second))}{high}"
    if kind == "member":
        items = draw(_literal_text(draw(st.lists(_scalars(), max_size=4))))
        return f"{subject} {draw(st.sampled_from(('in', 'not in')))} {items}"
    if kind == "contains":
        item = draw(_literal_text(draw(_scalars())))
        return f"{item} {draw(st.sampled_from(('in', 'not in')))} {subject}"
    if kind == "call":
        function = draw(st.sampled_from(_PREDICATES))
        argument = draw(_subject_text()) if draw(st.integers(0, 5)) == 0 else None
        if argument is None:
            argument = draw(_literal_text(draw(_texts())))
        return f"{function}({subject}, {argument})"
    if kind == "refer":
        op = draw(st.sampled_from((*_EQUALITY, *_ORDERING, "in", "not in")))
        return f"{subject} {op} {draw(_subject_text())}"
    return draw(st.sampled_from((subject, subject, "True", "false")))


@st.composite
def condition_texts(draw: st.DrawFn, *, max_depth: int = 3, max_children: int = 3) -> str:
    """Valid condition texts with ``and``/``or``/``not`` nested at most ``max_depth`` levels."""

    def group(text: str) -> str:
        if draw(st.integers(0, 7)) == 0:
            return f"(\n    {text}\n)"
        return f"({text})"

    def node(depth: int) -> tuple[str, bool]:
        kind = draw(
            st.sampled_from(("leaf", "leaf", "and", "or", "not")) if depth else st.just("leaf")
        )
        if kind == "leaf":
            return draw(_leaf_text()), False
        if kind == "not":
            child, compound = node(depth - 1)
            return f"not {group(child) if compound else child}", False
        count = draw(st.integers(min_value=2, max_value=max(2, max_children)))
        children = [node(depth - 1) for _ in range(count)]
        joiner = f" {kind} "
        return joiner.join(group(text) if compound else text for text, compound in children), True

    return node(max_depth)[0]


def conditions(*, max_depth: int = 3, max_children: int = 3) -> st.SearchStrategy[Condition]:
    """Compiled conditions, from generated texts and generated trees alike."""
    return st.one_of(
        condition_texts(max_depth=max_depth, max_children=max_children).map(Condition.parse),
        condition_trees(max_depth=max_depth, max_children=max_children).map(Condition.from_tree),
    )
