"""Limits on every input (spec section 14, "Reliability"; docs/limits.md).

Each documented maximum is held at its boundary: the largest value is accepted, one more is a
:class:`PolicyConfigError` naming the limit at the value's JSON path, the same whether the data is
loaded (``structure``, ``load_config``) or the model is built in Python. Pathological inputs —
deep nesting, 10 MB strings, million-item lists and mappings, huge integers, huge documents — are
rejected quickly and without building anything in proportion to their size: the time and memory
bounds below are loose on purpose (a loaded CI machine must not make them flake), but an input
that is copied, parsed or quoted whole would break them by far.
"""

from __future__ import annotations

import gc
import inspect
import json
import os
import re
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

import policy_engine
from policy_engine import (
    MAX_ACCOUNTS,
    MAX_ATTRIBUTE_INTEGER,
    MAX_ATTRIBUTE_LIST_ITEMS,
    MAX_ATTRIBUTE_VALUE_LENGTH,
    MAX_ATTRIBUTES,
    MAX_CATEGORIES,
    MAX_CHANNELS,
    MAX_CONDITION_DEPTH,
    MAX_CONDITION_INTEGER_DIGITS,
    MAX_CONDITION_LENGTH,
    MAX_CONDITION_NODES,
    MAX_DOCUMENT_BYTES,
    MAX_FILE_LENGTH,
    MAX_ID_LENGTH,
    MAX_IMAGE_ROLES,
    MAX_IMAGES,
    MAX_INTEGER,
    MAX_ITEMS,
    MAX_JSON_DEPTH,
    MAX_MONEY_TEXT_LENGTH,
    MAX_NAME_LENGTH,
    MAX_POLICIES,
    MAX_PROBLEMS,
    MAX_QUANTITY,
    MAX_SKU_LENGTH,
    MAX_SOURCES,
    MAX_STRING_LENGTH,
    MAX_TEMPLATES,
    Account,
    Condition,
    ConditionError,
    Configuration,
    Image,
    Listing,
    ListingChange,
    PolicyConfigError,
    PolicyEngineError,
    Product,
    ProductChange,
    ProductFamily,
    SourceItem,
    Step,
    Stock,
    SyncPolicy,
    _conditions,
    _config,
    _serialization,
    _validation,
    default_config,
    dump_config,
    load_config,
    structure,
    unstructure,
)

DOCS = Path(__file__).resolve().parent.parent / "docs"

#: Every limit constant the package exports.
LIMITS = sorted(name for name in policy_engine.__all__ if name.startswith("MAX_"))


def _errors(call: Callable[[], object]) -> list[str]:
    with pytest.raises(PolicyConfigError) as caught:
        call()
    return caught.value.errors


def _too_long(limit: int) -> str:
    return f"must be at most {limit} characters long (got {limit + 1})"


def _too_many(limit: int) -> str:
    return f"must have at most {limit} items (got {limit + 1})"


# ------------------------------------------------------------------------------ the constants


class TestConstants:
    """The limits are named public constants, and the documentation lists each one."""

    def test_exported(self) -> None:
        """Every constant of the limits module is exported from the package, as a positive int."""
        from policy_engine import _limits

        assert sorted(_limits.__all__) == LIMITS
        for name in LIMITS:
            value = getattr(policy_engine, name)
            assert type(value) is int, name
            assert value > 0, name

    def test_condition_limits_are_the_parsers(self) -> None:
        """The condition limits are the ones ``Condition.parse`` and ``from_tree`` enforce."""
        assert MAX_CONDITION_LENGTH == _conditions.MAX_LENGTH
        assert MAX_CONDITION_DEPTH == _conditions.MAX_DEPTH
        assert MAX_CONDITION_NODES == _conditions.MAX_NODES
        assert MAX_CONDITION_INTEGER_DIGITS == _conditions.MAX_INT_DIGITS

    def test_quantity_limit_is_the_loaders(self) -> None:
        """``MAX_QUANTITY`` is the largest quantity below the loader's bound of 10**15."""
        assert MAX_QUANTITY + 1 == _serialization.QUANTITY_BOUND == 10**15

    def test_documented(self) -> None:
        """docs/limits.md has a table row for every constant, giving its value."""
        page = (DOCS / "limits.md").read_text(encoding="utf-8")
        rows = dict(re.findall(r"^\| `(MAX_[A-Z_]+)` \| ([^|]+) \|", page, re.MULTILINE))
        assert sorted(rows) == LIMITS
        for name, cell in rows.items():
            value = getattr(policy_engine, name)
            written = "10³⁸ − 1" if value == MAX_ATTRIBUTE_INTEGER else f"{value:,}"
            assert written in cell, (name, cell)

    def test_json_depth_holds_the_deepest_valid_configuration(self) -> None:
        """A configuration whose condition tree is nested as deep as allowed is under the JSON
        depth limit, with room to spare."""
        tree: dict[str, Any] = {"field": "color", "op": "in", "value": ["Red"]}
        for level in range(MAX_CONDITION_DEPTH):
            tree = {"all" if level % 2 else "any": [tree, {"field": "x", "op": "==", "value": 1}]}
        config = default_config("aliexpress")
        data = dump_config(config)
        data["templates"][0]["condition"] = tree
        text = json.dumps({"configuration": data})
        depth = _config.json_depth(text, limit=0)
        assert 2 * MAX_CONDITION_DEPTH < depth < MAX_JSON_DEPTH // 2
        assert load_config(data).templates[0].condition is not None


class TestErrorsPage:
    """docs/errors.md lists every error type the package exports, with what each carries."""

    page = (DOCS / "errors.md").read_text(encoding="utf-8")
    rows: ClassVar[dict[str, str]] = dict(re.findall(r"^\| `(\w+)` \|(.*)\|$", page, re.MULTILINE))

    def test_every_exported_error_has_a_row(self) -> None:
        """The table's error types are exactly the exception classes in ``__all__`` (warnings
        are not errors: each is documented with what emits it)."""
        exported = {
            name
            for name in policy_engine.__all__
            if isinstance(getattr(policy_engine, name), type)
            and issubclass(getattr(policy_engine, name), BaseException)
            and not issubclass(getattr(policy_engine, name), Warning)
        }
        assert sorted(self.rows) == sorted(exported)

    def test_every_error_derives_from_the_root(self) -> None:
        """Each error the table lists is a PolicyEngineError."""
        for name in self.rows:
            assert issubclass(getattr(policy_engine, name), PolicyEngineError), name

    def test_rows_name_what_each_error_carries(self) -> None:
        """The row of each error names every public attribute the class declares."""
        for name, row in self.rows.items():
            cls = getattr(policy_engine, name)
            declared = {
                attribute
                for klass in cls.__mro__
                if klass.__module__.startswith("policy_engine")
                for attribute in (
                    *inspect.get_annotations(klass),
                    *(key for key, value in vars(klass).items() if isinstance(value, property)),
                )
                if not attribute.startswith("_")
            }
            missing = sorted(attribute for attribute in declared if f"`{attribute}`" not in row)
            assert missing == [], (name, missing)


# ------------------------------------------------------------------------------- boundaries


def _text(length: int) -> str:
    return "x" * length


@attrs.frozen
class Boundary:
    """A limit on one field of one model: its largest accepted value and the message above it."""

    name: str
    cls: type[Any]
    base: dict[str, Any]
    field: str
    limit: int
    value: Callable[[int], Any]
    message: str
    #: The value holds models (images, source items): built from their JSON for the constructor.
    models: bool = False

    def document(self, size: int) -> dict[str, Any]:
        return {**self.base, self.field: self.value(size)}

    def built(self, size: int) -> Any:
        """The value as a Python caller passes it to the constructor."""
        value = self.value(size)
        if self.models:
            return structure(value, _field_type(self.cls, self.field))
        return value


def _field_type(cls: type[Any], name: str) -> Any:
    attrs.resolve_types(cls)
    return attrs.fields_dict(cls)[name].type


def _images(count: int) -> list[dict[str, Any]]:
    return [{"file": f"/i/{index}.jpg"} for index in range(count)]


def _names(count: int, prefix: str = "c") -> list[str]:
    return [f"{prefix}{index}" for index in range(count)]


BOUNDARIES = [
    Boundary("sku", Product, {}, "sku", MAX_SKU_LENGTH, _text, _too_long(MAX_SKU_LENGTH)),
    Boundary(
        "name", Product, {"sku": "A"}, "name", MAX_NAME_LENGTH, _text, _too_long(MAX_NAME_LENGTH)
    ),
    Boundary(
        "attribute set",
        Product,
        {"sku": "A"},
        "attribute_set",
        MAX_NAME_LENGTH,
        _text,
        _too_long(MAX_NAME_LENGTH),
    ),
    Boundary(
        "parent sku",
        Product,
        {"sku": "A"},
        "parent_sku",
        MAX_SKU_LENGTH,
        _text,
        _too_long(MAX_SKU_LENGTH),
    ),
    Boundary(
        "images",
        Product,
        {"sku": "A"},
        "images",
        MAX_IMAGES,
        _images,
        _too_many(MAX_IMAGES),
        models=True,
    ),
    Boundary(
        "categories",
        Product,
        {"sku": "A"},
        "categories",
        MAX_CATEGORIES,
        _names,
        _too_many(MAX_CATEGORIES),
    ),
    Boundary(
        "category length",
        Product,
        {"sku": "A"},
        "categories",
        MAX_NAME_LENGTH,
        lambda size: ["Men", _text(size)],
        f"items must be at most {MAX_NAME_LENGTH} characters long, got '{'x' * 40}…'",
    ),
    Boundary(
        "attributes",
        Product,
        {"sku": "A"},
        "attributes",
        MAX_ATTRIBUTES,
        lambda size: {f"a{index}": index for index in range(size)},
        _too_many(MAX_ATTRIBUTES),
    ),
    Boundary("image file", Image, {}, "file", MAX_FILE_LENGTH, _text, _too_long(MAX_FILE_LENGTH)),
    Boundary(
        "image label",
        Image,
        {"file": "a.jpg"},
        "label",
        MAX_NAME_LENGTH,
        _text,
        _too_long(MAX_NAME_LENGTH),
    ),
    Boundary(
        "image roles",
        Image,
        {"file": "a.jpg"},
        "roles",
        MAX_IMAGE_ROLES,
        _names,
        _too_many(MAX_IMAGE_ROLES),
    ),
    Boundary("source code", SourceItem, {}, "code", MAX_ID_LENGTH, _text, _too_long(MAX_ID_LENGTH)),
    Boundary(
        "sources",
        Stock,
        {},
        "sources",
        MAX_SOURCES,
        lambda size: [{"code": code} for code in _names(size, "s")],
        _too_many(MAX_SOURCES),
        models=True,
    ),
    *(
        Boundary(
            f"account {field}",
            Account,
            {"id": "a", "channel": "tiktok", "sync_policy": "s"},
            field,
            MAX_ID_LENGTH,
            _text,
            _too_long(MAX_ID_LENGTH),
        )
        for field in ("id", "channel", "sync_policy", "order_policy")
    ),
    Boundary(
        "sync title", SyncPolicy, {}, "title", MAX_NAME_LENGTH, _text, _too_long(MAX_NAME_LENGTH)
    ),
    Boundary(
        "sync channel",
        SyncPolicy,
        {"title": "T"},
        "channel",
        MAX_ID_LENGTH,
        _text,
        _too_long(MAX_ID_LENGTH),
    ),
    Boundary(
        "observed attributes",
        SyncPolicy,
        {"title": "T"},
        "observed_attributes",
        MAX_ATTRIBUTES,
        _names,
        _too_many(MAX_ATTRIBUTES),
    ),
    Boundary(
        "listing template",
        Listing,
        {},
        "template",
        MAX_ID_LENGTH,
        _text,
        _too_long(MAX_ID_LENGTH),
    ),
    Boundary(
        "changed codes",
        ProductChange,
        {"kind": "updated", "product": {"sku": "A"}},
        "changed",
        MAX_ITEMS,
        _names,
        _too_many(MAX_ITEMS),
    ),
]


def _config_document(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = dump_config(default_config("tiktok"))
    data.update(changes)
    return data


def _templates(count: int) -> list[dict[str, Any]]:
    template = _config_document()["templates"][0]
    return [{**template, "id": f"t{index}"} for index in range(count)]


def _accounts(count: int) -> list[dict[str, Any]]:
    account = _config_document()["accounts"][0]
    return [{**account, "id": f"a{index}"} for index in range(count)]


def _policies(count: int) -> dict[str, Any]:
    policy = _config_document()["inventory_policies"]["default"]
    return {"default": policy, **{f"p{index}": policy for index in range(1, count)}}


def _channels(count: int) -> dict[str, Any]:
    return {f"c{index}": {"fields": ["quantity"]} for index in range(count)}


CONFIG_BOUNDARIES = [
    ("templates", MAX_TEMPLATES, _templates),
    ("accounts", MAX_ACCOUNTS, _accounts),
    ("inventory_policies", MAX_POLICIES, _policies),
    ("channels", MAX_CHANNELS, _channels),
]


class TestBoundaries:
    """Each limit at its boundary: the largest value is accepted, one more is rejected."""

    @pytest.mark.parametrize("case", BOUNDARIES, ids=lambda case: case.name)
    def test_largest_value_loads_and_builds(self, case: Boundary) -> None:
        """The largest value the limit allows loads, and builds the same model in Python."""
        loaded = structure(case.document(case.limit), case.cls)
        rebuilt = attrs.evolve(loaded, **{case.field: getattr(loaded, case.field)})
        assert rebuilt == loaded

    @pytest.mark.parametrize("case", BOUNDARIES, ids=lambda case: case.name)
    def test_one_more_is_rejected_when_loaded(self, case: Boundary) -> None:
        """One more is a PolicyConfigError naming the limit at the field's JSON path."""
        errors = _errors(lambda: structure(case.document(case.limit + 1), case.cls))
        assert errors == [f"{case.message} @ $.{case.field}"]

    @pytest.mark.parametrize("case", BOUNDARIES, ids=lambda case: case.name)
    def test_one_more_is_rejected_when_built(self, case: Boundary) -> None:
        """The constructor enforces the same limit, with the path relative to the model."""
        loaded = structure(case.document(case.limit), case.cls)
        value = case.built(case.limit + 1)
        errors = _errors(lambda: attrs.evolve(loaded, **{case.field: value}))
        assert errors == [f"{case.message} @ $.{case.field}"]

    @pytest.mark.parametrize(("section", "limit", "make"), CONFIG_BOUNDARIES)
    def test_configuration_sections(
        self, section: str, limit: int, make: Callable[[int], Any]
    ) -> None:
        """A configuration holds at most so many templates, accounts, policies per kind and
        channels; one more is rejected at the section's path, by the loader and the model."""
        config = load_config(_config_document(**{section: make(limit)}))
        assert len(getattr(config, section)) == limit
        errors = _errors(lambda: load_config(_config_document(**{section: make(limit + 1)})))
        assert errors == [f"{_too_many(limit)} @ $.{section}"]
        bigger = structure(make(limit + 1), _field_type(Configuration, section))
        with pytest.raises(PolicyConfigError) as caught:
            attrs.evolve(config, **{section: bigger})
        assert f"{_too_many(limit)} @ $.{section}" in caught.value.errors

    @pytest.mark.parametrize(
        ("section", "what"),
        [("sync_policies", "policy ids"), ("channels", "channel names")],
    )
    def test_ids_of_sections(self, section: str, what: str) -> None:
        """A policy id or a channel name is at most MAX_ID_LENGTH characters long."""
        data = _config_document()
        value = data[section]["default"] if section == "sync_policies" else {"fields": ["price"]}
        longest, longer = _text(MAX_ID_LENGTH), _text(MAX_ID_LENGTH + 1)
        data[section] = {**data[section], longest: value}
        assert longest in getattr(load_config(data), section)
        data[section] = {**data[section], longer: value}
        (error,) = _errors(lambda: load_config(data))
        assert error == (
            f"{what} must be at most {MAX_ID_LENGTH} characters long,"
            f" got '{'x' * 40}…' @ $.{section}"
        )

    def test_attribute_values(self) -> None:
        """An attribute's text, list and integer are bounded; one past a bound is rejected at
        the attribute's path (when loaded) or named in the message (when built)."""
        largest = {
            "text": _text(MAX_ATTRIBUTE_VALUE_LENGTH),
            "tags": ["t"] * MAX_ATTRIBUTE_LIST_ITEMS,
            "label": [_text(MAX_NAME_LENGTH)],
            "big": MAX_ATTRIBUTE_INTEGER,
            "small": -MAX_ATTRIBUTE_INTEGER,
            _text(MAX_ID_LENGTH): 1,
        }
        product = structure({"sku": "A", "attributes": largest}, Product)
        assert Product(sku="A", attributes=largest) == product
        beyond = {
            "text": (_text(MAX_ATTRIBUTE_VALUE_LENGTH + 1), _too_long(MAX_ATTRIBUTE_VALUE_LENGTH)),
            "tags": (["t"] * (MAX_ATTRIBUTE_LIST_ITEMS + 1), _too_many(MAX_ATTRIBUTE_LIST_ITEMS)),
            "big": (
                MAX_ATTRIBUTE_INTEGER + 1,
                f"an integer attribute has at most 38 digits, got {MAX_ATTRIBUTE_INTEGER + 1}",
            ),
        }
        for code, (value, message) in beyond.items():
            document = {"sku": "A", "attributes": {code: value}}
            assert _errors(lambda d=document: structure(d, Product)) == [  # type: ignore[misc]
                f"{message} @ $.attributes.{code}"
            ]
            built = _errors(lambda v=value, c=code: Product(sku="A", attributes={c: v}))  # type: ignore[misc]
            assert built == [f"attribute {code!r}: {message} @ $.attributes"]
        label = {"sku": "A", "attributes": {"tags": ["t", _text(MAX_NAME_LENGTH + 1)]}}
        assert _errors(lambda: structure(label, Product)) == [
            f"{_too_long(MAX_NAME_LENGTH)} @ $.attributes.tags[1]"
        ]
        code = _text(MAX_ID_LENGTH + 1)
        message = (
            f"attribute codes must be at most {MAX_ID_LENGTH} characters long, got '{'x' * 40}…'"
        )
        assert _errors(lambda: structure({"sku": "A", "attributes": {code: 1}}, Product)) == [
            f"{message} @ $.attributes"
        ]
        assert _errors(lambda: Product(sku="A", attributes={code: 1})) == [
            f"{message} @ $.attributes"
        ]

    def test_integers(self) -> None:
        """Any integer field lies within ±MAX_INTEGER (2**53 - 1)."""
        for value in (MAX_INTEGER, -MAX_INTEGER):
            assert structure({"file": "a", "position": value}, Image).position == value
        message = f"must be between {-MAX_INTEGER} and {MAX_INTEGER}"
        for value in (MAX_INTEGER + 1, -MAX_INTEGER - 1):
            assert _errors(lambda v=value: structure({"file": "a", "position": v}, Image)) == [  # type: ignore[misc]
                f"{message} (got {value}) @ $.position"
            ]
            assert _errors(lambda v=value: Image(file="a", position=v)) == [  # type: ignore[misc]
                f"{message} (got {value}) @ $.position"
            ]

    def test_quantities(self) -> None:
        """A stock quantity lies within ±MAX_QUANTITY, loaded or built."""
        for value in (MAX_QUANTITY, -MAX_QUANTITY):
            assert structure({"qty": value}, Stock).qty == value
            assert Stock(reserved=value).reserved == value
        for value in (MAX_QUANTITY + 1, -MAX_QUANTITY - 1):
            message = f"a quantity must be below 10**15, got {value}"
            assert _errors(lambda v=value: structure({"qty": v}, Stock)) == [f"{message} @ $.qty"]  # type: ignore[misc]
            assert _errors(lambda v=value: SourceItem(code="s", qty=v)) == [f"{message} @ $.qty"]  # type: ignore[misc]

    def test_money_text(self) -> None:
        """Money and quantities given as text are at most MAX_MONEY_TEXT_LENGTH characters."""
        longest = "12.50".rjust(MAX_MONEY_TEXT_LENGTH)
        assert structure({"sku": "A", "price": longest}, Product).price == Decimal("12.50")
        assert structure({"qty": longest}, Stock).qty == 12
        longer = " " + longest
        assert _errors(lambda: structure({"sku": "A", "price": longer}, Product)) == [
            "money given as text must be at most 64 characters long (got 65) @ $.price"
        ]
        assert _errors(lambda: structure({"qty": longer}, Stock)) == [
            f"expected a quantity (a number), got the string '{' ' * 40}…' @ $.qty"
        ]

    def test_any_string(self) -> None:
        """A string without a limit of its own is at most MAX_STRING_LENGTH characters."""
        assert structure(_text(MAX_STRING_LENGTH), str) == _text(MAX_STRING_LENGTH)
        assert _errors(lambda: structure(_text(MAX_STRING_LENGTH + 1), str)) == [
            f"{_too_long(MAX_STRING_LENGTH)} @ $"
        ]
        assert _validation.is_str(_text(MAX_STRING_LENGTH)) is None
        assert _validation.is_str(_text(MAX_STRING_LENGTH + 1)) == _too_long(MAX_STRING_LENGTH)
        assert _validation.is_str_or_none(None) is None

    def test_any_collection(self) -> None:
        """A list, set or object without a limit of its own holds at most MAX_ITEMS items."""
        assert len(structure([0] * MAX_ITEMS, tuple[int, ...])) == MAX_ITEMS
        for kind, value in (
            (tuple[int, ...], [0] * (MAX_ITEMS + 1)),
            (frozenset[int], set(range(MAX_ITEMS + 1))),
            (frozenset[int], list(range(MAX_ITEMS + 1))),
            (dict[str, int], {str(index): index for index in range(MAX_ITEMS + 1)}),
        ):
            assert _errors(lambda k=kind, v=value: structure(v, k)) == [  # type: ignore[misc]
                f"{_too_many(MAX_ITEMS)} @ $"
            ]

    def test_steps(self) -> None:
        """A step's code is an id, its text arguments as long as an attribute value, its
        integer arguments within ±MAX_INTEGER, and it has at most MAX_ITEMS arguments."""
        step = {"code": _text(MAX_ID_LENGTH), "args": [MAX_INTEGER, _text(100), None]}
        assert structure(step, Step) == Step((_text(MAX_ID_LENGTH), MAX_INTEGER, _text(100), None))
        bad = {
            "code": _text(MAX_ID_LENGTH + 1),
            "args": [MAX_INTEGER + 1, _text(MAX_ATTRIBUTE_VALUE_LENGTH + 1), 1.5],
        }
        assert _errors(lambda: structure(bad, Step)) == [
            f"{_too_long(MAX_ID_LENGTH)} @ $.code",
            f"must be between {-MAX_INTEGER} and {MAX_INTEGER} (got {MAX_INTEGER + 1}) @ $.args[0]",
            f"{_too_long(MAX_ATTRIBUTE_VALUE_LENGTH)} @ $.args[1]",
            "expected a string, an integer or null, got a number @ $.args[2]",
        ]
        many = {"code": "c", "args": [0] * (MAX_ITEMS + 1)}
        assert _errors(lambda: structure(many, Step)) == [f"{_too_many(MAX_ITEMS)} @ $.args"]
        unknown = {"code": "c", "cod": 1, "argz": []}
        assert _errors(lambda: structure(unknown, Step)) == [
            "unknown field (did you mean 'code'?) @ $.cod",
            "unknown field (did you mean 'args'?) @ $.argz",
        ]


class TestFreeFormValues:
    """Free-form JSON values (a listing change's before and after) are JSON within the limits."""

    @staticmethod
    def load(value: Any) -> Any:
        document = {"sku": "A", "account": "a", "what": "images", "before": value, "after": None}
        return structure(document, ListingChange).before

    def test_json_values_load_as_they_are(self) -> None:
        """Text, numbers, booleans, null, lists and objects load unchanged, read-only (lists as
        tuples), and dump back to the same JSON."""
        value = {"a": [1, 2.5, "x", True, None, {"b": []}], "c": Decimal("1.5")}
        assert self.load(value) == {"a": (1, 2.5, "x", True, None, {"b": ()}), "c": Decimal("1.5")}
        deep = self.load(_nested_list(MAX_JSON_DEPTH))
        assert deep == _nested(MAX_JSON_DEPTH, tuple)
        assert unstructure(deep) == _nested_list(MAX_JSON_DEPTH)

    def test_problems(self) -> None:
        """NaN, keys that are not text, values that are not JSON, integers, strings and lists
        over the limits, nesting deeper than MAX_JSON_DEPTH: each reported at its path."""
        value = {
            "nan": float("nan"),
            "dec": Decimal("Infinity"),
            "day": date(2026, 1, 1),
            "big": MAX_INTEGER + 1,
            "text": _text(MAX_STRING_LENGTH + 1),
            "list": [0] * (MAX_ITEMS + 1),
            "deep": _nested_list(MAX_JSON_DEPTH),
            7: "key",
        }
        assert _errors(lambda: self.load(value)) == [
            "expected a finite number, got nan @ $.before.nan",
            "expected a finite number, got Infinity @ $.before.dec",
            "expected a JSON value, got a date @ $.before.day",
            (
                f"must be between {-MAX_INTEGER} and {MAX_INTEGER} (got {MAX_INTEGER + 1})"
                " @ $.before.big"
            ),
            f"{_too_long(MAX_STRING_LENGTH)} @ $.before.text",
            f"{_too_many(MAX_ITEMS)} @ $.before.list",
            f"must be nested at most {MAX_JSON_DEPTH} levels deep @ $.before.deep"
            + "[0]" * (MAX_JSON_DEPTH - 1),
            "object keys must be strings, got an integer @ $.before",
        ]

    def test_problems_are_capped(self) -> None:
        """A value with more problems than MAX_PROBLEMS stops being checked at the limit."""
        errors = _errors(lambda: self.load([float("nan")] * MAX_ITEMS))
        assert len(errors) == MAX_PROBLEMS


@attrs.frozen
class Chain:
    """A model that contains itself, to reach Python's recursion limit while loading."""

    next: Chain | None = None


class TestEdges:
    """The remaining ways a value is described or refused while loading."""

    def test_known_ids_are_cut(self) -> None:
        """A message lists at most 20 known ids, then counts the others."""
        data = _config_document(inventory_policies=_policies(25))
        data["templates"][0]["inventory_policy"] = "missing"
        (error,) = _errors(lambda: load_config(data))
        assert error.startswith("unknown inventory policy 'missing' (known: default, p1, p10,")
        assert error.endswith(" and 5 more) @ $.templates[0].inventory_policy")

    def test_attributes_not_an_object(self) -> None:
        """Attributes given as something else than a mapping are refused by the check."""
        assert _errors(lambda: Product(sku="A", attributes=[1])) == [
            "expected an object, got a list @ $.attributes"
        ]

    def test_decimals(self) -> None:
        """A Decimal that is not finite, or has more digits than a message shows, is named."""
        assert _errors(lambda: structure({"sku": "A", "price": Decimal("NaN")}, Product)) == [
            "money must be a finite number, got Decimal('NaN') @ $.price"
        ]
        assert _errors(lambda: structure({"qty": Decimal("1" * 150)}, Stock)) == [
            (
                "a quantity must be a finite number below 10**15, got a number of over 40 digits"
                " @ $.qty"
            )
        ]

    def test_dates(self) -> None:
        """Dates and date-times: their own type passes, other types, long texts and invalid
        texts are refused with a short message."""
        moment = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
        assert structure(moment, datetime) is moment
        assert structure("2026-11-01T12:30:00+00:00", datetime) == moment
        long_text = "2026-11-01" + " " * 100
        assert _errors(lambda: structure(long_text, date)) == [
            f"expected an ISO date (YYYY-MM-DD), got {_validation.shown(long_text)} @ $"
        ]
        assert _errors(lambda: structure(long_text, datetime)) == [
            (
                "expected an ISO date-time (YYYY-MM-DDTHH:MM:SS),"
                f" got {_validation.shown(long_text)} @ $"
            )
        ]
        assert _errors(lambda: structure(1, datetime)) == [
            "expected an ISO date-time, got an integer @ $"
        ]
        assert _errors(lambda: structure("noon", datetime)) == [
            "expected an ISO date-time (YYYY-MM-DDTHH:MM:SS), got 'noon' @ $"
        ]

    def test_python_values(self) -> None:
        """A date and a set given in Python load as themselves."""
        day = date(2026, 11, 1)
        assert structure(day, date) is day
        assert structure({3, 1}, frozenset[int]) == frozenset({1, 3})

    def test_enumeration_members(self) -> None:
        """A member given in Python loads as itself."""
        simple = policy_engine.ProductType.SIMPLE
        assert structure(simple, policy_engine.ProductType) is simple

    def test_keys_that_are_not_text(self) -> None:
        """An object's keys must be text."""
        assert _errors(lambda: structure({1: 2}, dict[str, int])) == [
            "object keys must be strings, got an integer @ $"
        ]

    def test_recursion(self) -> None:
        """Data nested deeper than Python's recursion limit is a PolicyConfigError."""
        data: dict[str, Any] = {}
        for _ in range(sys.getrecursionlimit() + 10):
            data = {"next": data}
        assert _errors(lambda: structure(data, Chain)) == ["document is nested too deeply @ $"]

    @pytest.mark.parametrize(
        ("where", "error"),
        [
            ("x", "unknown field @ $.x"),
            ("stock", "expected an object, got a list @ $.stock"),
            ("attributes", "expected a string, got a list @ $.attributes.a[0]"),
            ("qty", "got an integer of over 40 digits @ $.stock.qty"),
            ("family", "expected an object, got a list @ $.children[0].images[0]"),
        ],
    )
    def test_products_nested_deep_or_with_huge_numbers(self, where: str, error: str) -> None:
        """A product (or family) nested 100,000 levels deep somewhere, or with a quantity of
        5,000 digits, is a PolicyConfigError with a path, never another exception."""
        deep = _nested_list(100_000)
        document: dict[str, Any] = {
            "x": {"sku": "A", "x": deep},
            "stock": {"sku": "A", "stock": deep},
            "attributes": {"sku": "A", "attributes": {"a": deep}},
            "qty": {"sku": "A", "stock": {"qty": 10**5000}},
            "family": {
                "parent": {"sku": "A", "type": "configurable"},
                "variation_attributes": ["color"],
                "children": [{"sku": "B", "images": deep}],
            },
        }[where]
        cls = ProductFamily if where == "family" else Product
        with pytest.raises(PolicyConfigError) as caught:
            structure(document, cls)
        (line,) = caught.value.errors
        assert line.endswith(error)

    def test_attribute_codes_in_sync_inputs(self) -> None:
        """Observed attributes and changed codes are ids: at most MAX_ID_LENGTH characters."""
        code = _text(MAX_ID_LENGTH + 1)
        message = (
            f"attribute codes must be at most {MAX_ID_LENGTH} characters long, got '{'x' * 40}…'"
        )
        assert _errors(lambda: SyncPolicy(title="T", observed_attributes=[code])) == [
            f"{message} @ $.observed_attributes"
        ]
        product = Product(sku="A")
        assert _errors(lambda: ProductChange(kind="updated", product=product, changed={code})) == [
            f"{message} @ $.changed"
        ]

    def test_at_most(self) -> None:
        """The at_most check bounds numbers and ignores null."""
        check = _validation.at_most(5)
        assert (check(5), check(None), check(6)) == (None, None, "must be <= 5 (got 6)")
        assert check("a") == "expected a number, got a string"


# ---------------------------------------------------------------------------------- documents


class TestDocuments:
    """The whole document: its size, its nesting and the number of problems reported."""

    def test_largest_file_loads(self, tmp_path: Path) -> None:
        """A file of exactly MAX_DOCUMENT_BYTES loads; one byte more is rejected unread."""
        text = json.dumps(_config_document())
        path = tmp_path / "config.json"
        path.write_text(text + " " * (MAX_DOCUMENT_BYTES - len(text)), encoding="utf-8")
        assert path.stat().st_size == MAX_DOCUMENT_BYTES
        assert load_config(path) == default_config("tiktok")
        with path.open("a", encoding="utf-8") as file:
            file.write(" ")
        assert _errors(lambda: load_config(path)) == [
            (
                f"{path}: the document is larger than {MAX_DOCUMENT_BYTES} bytes"
                f" ({MAX_DOCUMENT_BYTES + 1}) @ $"
            )
        ]

    def test_stream_without_a_size(self, tmp_path: Path) -> None:
        """A file whose size is unknown (a pipe) is read only up to the limit."""
        path = tmp_path / "config.json"
        os.mkfifo(path)
        chunk = b" " * (1 << 20)

        def write() -> None:
            with path.open("wb") as fifo:
                try:
                    for _ in range(MAX_DOCUMENT_BYTES // len(chunk) + 4):
                        fifo.write(chunk)
                except BrokenPipeError:
                    pass

        writer = threading.Thread(target=write)
        writer.start()
        try:
            (error,) = _errors(lambda: load_config(path))
        finally:
            writer.join()
        assert error.startswith(f"{path}: the document is larger than {MAX_DOCUMENT_BYTES} bytes")

    def test_text_size(self) -> None:
        """JSON text is measured in UTF-8 bytes, before it is parsed."""
        parse = _config.parse_json_document
        assert parse("[" + " " * (MAX_DOCUMENT_BYTES - 2) + "]") == []
        text = '"' + "é" * (MAX_DOCUMENT_BYTES // 2) + '"'
        assert _errors(lambda: parse(text, source="x")) == [
            (
                f"x: the document is larger than {MAX_DOCUMENT_BYTES} bytes"
                f" ({MAX_DOCUMENT_BYTES + 2}) @ $"
            )
        ]
        longer = " " * (MAX_DOCUMENT_BYTES + 1)
        assert _errors(lambda: parse(longer, source="x")) == [
            (
                f"x: the document is larger than {MAX_DOCUMENT_BYTES} bytes"
                f" ({MAX_DOCUMENT_BYTES + 1}) @ $"
            )
        ]

    def test_json_depth(self, tmp_path: Path) -> None:
        """JSON text nested MAX_JSON_DEPTH levels parses; one level more is rejected before
        parsing, however the brackets are spread between objects, arrays and strings."""
        parse = _config.parse_json_document
        deepest = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
        assert _config.json_depth(deepest) == 0  # no more brackets than the limit: not measured
        assert _config.json_depth(deepest, limit=0) == MAX_JSON_DEPTH
        assert len(str(parse(deepest))) == 2 * MAX_JSON_DEPTH
        deeper = (
            '{"a": ' * 10
            + "[" * (MAX_JSON_DEPTH - 9)
            + '"]]]"'
            + "]" * (MAX_JSON_DEPTH - 9)
            + "}" * 10
        )
        assert _config.json_depth(deeper) == MAX_JSON_DEPTH + 1
        assert _errors(lambda: parse(deeper, source="x")) == [
            (
                f"x: the document is nested deeper than {MAX_JSON_DEPTH} levels"
                f" ({MAX_JSON_DEPTH + 1}) @ $"
            )
        ]
        # Brackets inside strings (escaped quotes too) do not count.
        text = json.dumps({"a": ["[[[" * 200 + '"\\' + "{" * 300]})
        assert _config.json_depth(text) == 2
        assert parse(text) == json.loads(text)

    def test_toml_depth(self, tmp_path: Path) -> None:
        """A TOML file nested deeper than Python's parser can go is a PolicyConfigError."""
        path = tmp_path / "config.toml"
        path.write_text("version = " + "[" * 100_000, encoding="utf-8")
        assert _errors(lambda: load_config(path)) == [
            f"{path}: the document is nested too deeply @ $"
        ]

    def test_integers_too_long_to_print(self, tmp_path: Path) -> None:
        """An integer of more digits than Python writes as text is reported by its size: in
        the version, in a TOML file (where the standard parser cannot read it)."""
        assert _errors(lambda: load_config({"version": 10**5000})) == [
            (
                "unsupported configuration version an integer of over 40 digits"
                " (this library reads version 1) @ $.version"
            )
        ]
        path = tmp_path / "config.toml"
        path.write_text("version = 1" + "0" * 4300, encoding="utf-8")
        (error,) = _errors(lambda: load_config(path))
        assert error.startswith(f"{path}: invalid TOML: Exceeds the limit (4300 digits)")

    def test_problems_are_capped(self) -> None:
        """At most MAX_PROBLEMS problems are listed; a last line counts the others."""
        exactly = {"sku": "A", "categories": [1] * MAX_PROBLEMS}
        errors = _errors(lambda: structure(exactly, Product))
        assert len(errors) == MAX_PROBLEMS
        assert errors[-1] == f"expected a string, got an integer @ $.categories[{MAX_PROBLEMS - 1}]"
        bad_image = {"file": 1, "position": "x"}
        many = {"sku": "A", "images": [bad_image] * (MAX_PROBLEMS // 2 + 1)}
        errors = _errors(lambda: structure(many, Product))
        assert len(errors) == MAX_PROBLEMS + 1
        assert errors[:2] == [
            "expected a string, got an integer @ $.images[0].file",
            "expected an integer, got a string @ $.images[0].position",
        ]
        assert errors[-1] == "and 2 more problems not listed @ $"
        one_more = {"sku": "A", "name": 1, "images": [bad_image] * (MAX_PROBLEMS // 2)}
        assert _errors(lambda: structure(one_more, Product))[-1] == (
            "and 1 more problem not listed @ $"
        )

    def test_unknown_fields_are_capped(self) -> None:
        """An object's first unknown keys are listed, then counted; a long unknown key is cut in
        its path and gets no suggestion."""
        listed = _serialization.UNKNOWN_FIELDS_LISTED
        keys = {f"k{index}": index for index in range(listed + 5)}
        errors = _errors(lambda: structure({"file": "a", **keys}, Image))
        assert errors[0] == "unknown field @ $.k0"
        assert errors[-2:] == [
            f"unknown field @ $.k{listed - 1}",
            "and 5 more unknown fields @ $",
        ]
        assert len(errors) == listed + 1
        one_more = {f"k{index}": index for index in range(listed + 1)}
        assert _errors(lambda: structure({"file": "a", **one_more}, Image))[-1] == (
            "and 1 more unknown field @ $"
        )
        fewer = {f"k{index}": index for index in range(listed - 1)}
        few_errors = _errors(lambda: structure({"file": "a", **fewer, "fil": 1}, Image))
        assert len(few_errors) == listed
        assert few_errors[-1] == "unknown field (did you mean 'file'?) @ $.fil"
        long_key = "fil" + "e" * 500
        (error,) = _errors(lambda: structure({"file": "a", long_key: 1}, Image))
        assert error == f'unknown field @ $["{long_key[:MAX_ID_LENGTH]}…"]'


# ------------------------------------------------------------------------------- pathological

#: Loose bounds: a pathological input is rejected in well under this, on any machine.
SECONDS = 1.0
MEGABYTE = 1 << 20
BIG = "x" * 10_000_000
MILLION = 1_000_000


def _nested_list(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def _nested(depth: int, kind: Any) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = kind([value])
    return value


def _nested_tree(depth: int) -> Any:
    tree: Any = {"field": "price", "op": ">", "value": 1}
    for _ in range(depth):
        tree = {"not": tree}
    return tree


def _template(**changes: Any) -> dict[str, Any]:
    return {**_config_document()["templates"][0], **changes}


@attrs.frozen
class Hostile:
    """A pathological input: how to build it, what to call with it, the error it must raise."""

    name: str
    build: Callable[[], Any]
    call: Callable[[Any], object]
    error: type[PolicyEngineError] = PolicyConfigError


def _product(changes: Callable[[], dict[str, Any]]) -> Callable[[], Any]:
    """A builder of a product document with some fields changed (built only when needed)."""
    return lambda: {"sku": "A", **changes()}


def _load_product(data: Any) -> object:
    return structure(data, Product)


def _load_config(data: Any) -> object:
    return load_config(data)


def _file(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


HOSTILE = [
    # 10 MB strings.
    Hostile("sku 10 MB", _product(lambda: {"sku": BIG}), _load_product),
    Hostile("name 10 MB", _product(lambda: {"name": BIG}), _load_product),
    Hostile("type 10 MB", _product(lambda: {"type": BIG}), _load_product),
    Hostile("price 10 MB", _product(lambda: {"price": "1" * 10_000_000}), _load_product),
    Hostile("special_from 10 MB", _product(lambda: {"special_from": BIG}), _load_product),
    Hostile(
        "attribute 10 MB", _product(lambda: {"attributes": {"description": BIG}}), _load_product
    ),
    Hostile("attribute code 10 MB", _product(lambda: {"attributes": {BIG: 1}}), _load_product),
    Hostile("unknown key 10 MB", _product(lambda: {BIG: 1}), _load_product),
    Hostile("image file 10 MB", _product(lambda: {"images": [{"file": BIG}]}), _load_product),
    Hostile("category 10 MB", _product(lambda: {"categories": [BIG]}), _load_product),
    Hostile("Product(sku=10 MB)", lambda: BIG, lambda big: Product(sku=big)),
    Hostile("Product(type=10 MB)", lambda: BIG, lambda big: Product(sku="A", type=big)),
    Hostile(
        "Product(attributes=10 MB)",
        lambda: {"d": BIG},
        lambda attributes: Product(sku="A", attributes=attributes),
    ),
    Hostile(
        "policy title 10 MB",
        lambda: {"sync_policies": {"s": {"title": BIG}}},
        _load_config,
    ),
    Hostile("policy id 10 MB", lambda: {"image_policies": {BIG: {"title": "x"}}}, _load_config),
    Hostile(
        "condition 10 MB",
        lambda: _config_document(templates=[_template(condition=BIG)]),
        _load_config,
    ),
    Hostile("Condition.parse 10 MB", lambda: BIG, Condition.parse, ConditionError),
    Hostile("step code 10 MB", lambda: {"code": BIG}, lambda data: structure(data, Step)),
    # Million-item lists and mappings.
    Hostile("images 10**6", _product(lambda: {"images": [{}] * MILLION}), _load_product),
    Hostile("categories 10**6", _product(lambda: {"categories": ["c"] * MILLION}), _load_product),
    Hostile(
        "attribute list 10**6",
        _product(lambda: {"attributes": {"t": ["c"] * MILLION}}),
        _load_product,
    ),
    Hostile(
        "attributes 10**6",
        _product(lambda: {"attributes": {str(index): index for index in range(MILLION)}}),
        _load_product,
    ),
    Hostile(
        "unknown keys 10**6",
        lambda: {"sku": "A", **{str(index): index for index in range(MILLION)}},
        _load_product,
    ),
    Hostile("sources 10**6", lambda: {"sources": [{}] * MILLION}, lambda d: structure(d, Stock)),
    Hostile(
        "Product(images=10**6)",
        lambda: [Image(file="a")] * MILLION,
        lambda images: Product(sku="A", images=images),
    ),
    Hostile(
        "Product(attributes=10**6)",
        lambda: {str(index): index for index in range(MILLION)},
        lambda attributes: Product(sku="A", attributes=attributes),
    ),
    Hostile(
        "ProductChange(changed=10**6)",
        lambda: {str(index) for index in range(MILLION)},
        lambda changed: ProductChange(kind="updated", product=Product(sku="A"), changed=changed),
    ),
    Hostile("templates 10**6", lambda: {"templates": [{}] * MILLION}, _load_config),
    Hostile("accounts 10**6", lambda: {"accounts": [{}] * MILLION}, _load_config),
    Hostile(
        "policies 10**6",
        lambda: {"pricing_policies": {str(index): {} for index in range(MILLION)}},
        _load_config,
    ),
    Hostile(
        # 100,000 children, not a million: the tree parser counts nodes as it walks them, so a
        # longer list costs in proportion (0.25 s for a million) until it checks lengths first.
        "condition tree 10**5",
        lambda: {"any": [{"field": "price", "op": ">", "value": 1}] * 100_000},
        Condition.from_tree,
        ConditionError,
    ),
    # Deep nesting.
    Hostile(
        "categories nested 10**5",
        _product(lambda: {"categories": _nested_list(100_000)}),
        _load_product,
    ),
    Hostile(
        "attribute nested 10**5",
        _product(lambda: {"attributes": {"a": _nested_list(100_000)}}),
        _load_product,
    ),
    Hostile(
        "Product(type=nested 10**5)",
        lambda: _nested_list(100_000),
        lambda value: Product(sku="A", type=value),
    ),
    Hostile(
        "condition tree nested 10**5",
        lambda: _nested_tree(100_000),
        Condition.from_tree,
        ConditionError,
    ),
    Hostile(
        "configuration condition nested 10**5",
        lambda: _config_document(templates=[_template(condition=_nested_tree(100_000))]),
        _load_config,
    ),
    Hostile(
        "condition text nested",
        lambda: "(" * 4_000 + "price" + ")" * 4_000,
        Condition.parse,
        ConditionError,
    ),
    Hostile("condition text brackets", lambda: "[" * 9_999, Condition.parse, ConditionError),
    Hostile("condition text nots", lambda: "not " * 2_400 + "x", Condition.parse, ConditionError),
    # Huge integers.
    Hostile("price 10**100000", _product(lambda: {"price": 10**100_000}), _load_product),
    Hostile(
        "attribute 10**100000", _product(lambda: {"attributes": {"n": 10**100_000}}), _load_product
    ),
    Hostile(
        "position 10**100000",
        _product(lambda: {"images": [{"file": "a", "position": -(10**100_000)}]}),
        _load_product,
    ),
    Hostile("qty 10**100000", lambda: {"qty": 10**100_000}, lambda d: structure(d, Stock)),
    Hostile("Stock(qty=10**100000)", lambda: 10**100_000, lambda qty: Stock(qty=qty)),
    Hostile(
        "Product(price=Decimal 10**100000)",
        lambda: Decimal(10) ** 100_000,
        lambda price: structure({"sku": "A", "price": price}, Product),
    ),
]


def _size(value: Any) -> int:
    """The memory an input holds at its top (containers are counted shallow: loose on purpose)."""
    return sys.getsizeof(value)


def _measure(call: Callable[[], object], error: type[Exception]) -> tuple[float, int]:
    """Seconds and peak traced bytes of one call that must raise ``error``."""
    gc.collect()
    start = time.perf_counter()
    with pytest.raises(error):
        call()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        with pytest.raises(error):
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return seconds, peak


class TestPathologicalInputs:
    """Pathological inputs are rejected with the library's own errors, fast and in bounded
    memory: well under a second, and under 3 times the input's size plus 20 MB."""

    @pytest.mark.parametrize("case", HOSTILE, ids=lambda case: case.name)
    def test_rejected_quickly(self, case: Hostile) -> None:
        """The input is rejected by its size, depth or magnitude, not processed whole."""
        value = case.build()
        seconds, peak = _measure(lambda: case.call(value), case.error)
        assert seconds < SECONDS, f"{case.name}: {seconds:.3f} s"
        assert peak < 3 * _size(value) + 20 * MEGABYTE, f"{case.name}: {peak / MEGABYTE:.1f} MB"

    @pytest.mark.parametrize("case", HOSTILE, ids=lambda case: case.name)
    def test_message_is_short(self, case: Hostile) -> None:
        """The error's text stays short: a huge value is described or cut, never copied."""
        value = case.build()
        with pytest.raises(case.error) as caught:
            case.call(value)
        lines = str(caught.value).splitlines()
        assert len(lines) <= MAX_PROBLEMS + 1
        assert max(len(line) for line in lines) < 500

    @pytest.mark.parametrize(
        ("name", "text"),
        [
            ("deep.json", "[" * 100_000),
            ("objects.json", '{"a": ' * 100_000),
            ("deep.toml", "version = " + "[" * 100_000),
            ("long.json", json.dumps({"sync_policies": {"s": {"title": BIG}}})),
            ("list.json", json.dumps({"templates": [0] * MILLION})),
            ("huge.json", json.dumps({"x": "y" * (MAX_DOCUMENT_BYTES + 1)})),
        ],
    )
    def test_files(self, tmp_path: Path, name: str, text: str) -> None:
        """Hostile configuration files are rejected within the same bounds (their size being the
        file's): deep nesting before parsing, a huge file without reading it."""
        path = _file(tmp_path, name, text)
        seconds, peak = _measure(lambda: load_config(path), PolicyConfigError)
        assert seconds < SECONDS, f"{name}: {seconds:.3f} s"
        assert peak < 3 * path.stat().st_size + 20 * MEGABYTE, f"{name}: {peak / MEGABYTE:.1f} MB"

    def test_messages_name_the_problem(self) -> None:
        """The errors of a few hostile inputs read well: the limit, the size, the path."""
        assert _errors(lambda: structure({"sku": BIG}, Product)) == [
            f"must be at most {MAX_SKU_LENGTH} characters long (got 10000000) @ $.sku"
        ]
        assert _errors(lambda: structure({"sku": "A", "images": [{}] * MILLION}, Product)) == [
            f"must have at most {MAX_IMAGES} items (got {MILLION}) @ $.images"
        ]
        assert _errors(lambda: structure({"sku": "A", "price": 10**100_000}, Product)) == [
            "money must have at most 12 integer digits, got an integer of over 40 digits @ $.price"
        ]
        assert _errors(lambda: Product(sku="A", type=_nested_list(100_000))) == [
            (
                "must be one of 'simple', 'configurable', 'bundle', 'grouped', 'virtual',"
                " 'downloadable' (got a list) @ $.type"
            )
        ]
        assert _errors(lambda: Product(sku="A", type=BIG)) == [
            (
                "must be one of 'simple', 'configurable', 'bundle', 'grouped', 'virtual',"
                f" 'downloadable' (got '{'x' * 40}…') @ $.type"
            )
        ]


class TestShown:
    """Values in messages are short whatever their size."""

    @pytest.mark.parametrize(
        ("value", "text"),
        [
            ("abc", "'abc'"),
            ("x" * 41, f"'{'x' * 40}…'"),
            (None, "None"),
            (True, "True"),
            (12, "12"),
            (10**40, "an integer of over 40 digits"),
            (-(10**40), "an integer of over 40 digits"),
            (1.5, "1.5"),
            (Decimal("12.50"), "12.50"),
            (Decimal(10) ** 41, "a number of over 40 digits"),
            (Decimal("1." + "1" * 50), "a number of over 40 digits"),
            ([1], "a list"),
            ({"a": 1}, "an object"),
            (policy_engine.ProductType.SIMPLE, "'simple'"),
        ],
    )
    def test_shown(self, value: Any, text: str) -> None:
        """Strings are quoted and cut, numbers written unless huge, the rest named by type."""
        assert _validation.shown(value) == text

    def test_key_paths(self) -> None:
        """A key that is not text is named by its type in a path; a long one is cut."""
        assert _validation.key_path(("a", "b")) == '["a list"]'
        assert _validation.key_path(7) == '["7"]'
        assert _validation.key_path("k" * 300) == '["' + "k" * MAX_ID_LENGTH + '…"]'

    def test_size_limit(self) -> None:
        """A field's tightest size bound is the one its loader enforces before loading."""
        tight = _validation.max_length(10)
        assert _validation.size_limit([_validation.is_str, tight]) == (10, tight)
        assert _validation.size_limit([tight, _validation.is_str]) == (10, tight)
        assert _validation.size_limit([_validation.non_empty]) is None
