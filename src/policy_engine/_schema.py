"""JSON Schema (draft 2020-12) of the configuration document and of each model in it.

The schemas are generated from the models, so the models stay the one source of truth: the
properties are the attrs fields that ``structure`` loads, their JSON types follow the field types,
the ranges come from the field checks (each checker of ``_validation`` carries the JSON Schema
keywords it amounts to), the descriptions from the ``Attributes:`` sections of the docstrings and
the defaults from the fields' defaults, dumped as ``unstructure`` dumps them.

What no field type or check says is written here once: the schema of the three custom loaders
(stock quantities, product attributes, template conditions), the value rules of the few checks
that are plain functions (a currency code, an order id prefix, an email…) and the cross-field
rules that JSON Schema can express with ``if``/``then``. The rules JSON Schema cannot express
(references between sections, duplicate ids, decimal places against a currency…) are left to
:func:`~policy_engine.load_config`; ``docs/schema.md`` lists them.

Every document :func:`~policy_engine.load_config` accepts validates against the schema; the schema
rejects what the loader rejects wherever JSON Schema can tell.
"""

from __future__ import annotations

import copy
import enum
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, get_args, get_origin

import attrs

from policy_engine._allocation import AllocationPolicy
from policy_engine._channels import BUILTIN_CHANNELS, SyncField
from policy_engine._conditions import _ORDERING, _PREDICATES, MAX_LENGTH, OPS, load_condition
from policy_engine._config import CONFIG_VERSION, Account, Configuration
from policy_engine._families import ProductFamily
from policy_engine._images import ImagePolicy
from policy_engine._inventory import InventoryPolicy, MsiSettings
from policy_engine._limits import (
    MAX_ATTRIBUTE_INTEGER,
    MAX_ATTRIBUTE_LIST_ITEMS,
    MAX_ATTRIBUTE_VALUE_LENGTH,
    MAX_ATTRIBUTES,
    MAX_ID_LENGTH,
    MAX_MONEY_INTEGER_DIGITS,
    MAX_MONEY_TEXT_LENGTH,
    MAX_NAME_LENGTH,
)
from policy_engine._models import Product, Stock, _load_attributes
from policy_engine._orders import MAX_PREFIX_LENGTH, ChannelOrder, CustomerSettings, OrderPolicy
from policy_engine._pricing import (
    Adjustment,
    AdjustmentKind,
    Ending,
    ExchangeRate,
    PricingPolicy,
    WholeEnding,
)
from policy_engine._serialization import LOAD, load_quantity, unstructure
from policy_engine._sync import SyncPolicy
from policy_engine._templates import ListingTemplate
from policy_engine._validation import CHECK, JSON_SCHEMA, FrozenDict

__all__ = ["SCHEMA_KINDS", "json_schema"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"

#: The model behind each schema kind.
_KIND_CLASSES: Mapping[str, type[Any]] = {
    "configuration": Configuration,
    "sync_policy": SyncPolicy,
    "inventory_policy": InventoryPolicy,
    "pricing_policy": PricingPolicy,
    "image_policy": ImagePolicy,
    "order_policy": OrderPolicy,
    "listing_template": ListingTemplate,
    "account": Account,
    "product": Product,
    "stock": Stock,
    "channel_order": ChannelOrder,
    "product_family": ProductFamily,
    "allocation": AllocationPolicy,
}

SCHEMA_KINDS: tuple[str, ...] = tuple(_KIND_CLASSES)
"""The kinds :func:`json_schema` knows, the default first.

``configuration`` (the whole document), the five policies (``sync_policy``, ``inventory_policy``,
``pricing_policy``, ``image_policy``, ``order_policy``), the other parts of a configuration
(``listing_template``, ``account``) and the inputs a connector sends (``product``, ``stock``,
``channel_order``, ``product_family``), and the configuration's ``allocation`` section.
"""

# ------------------------------------------------------------------------------- decimal strings

#: Stock quantities given as numbers or strings must lie below 10**15 (``load_quantity``).
_QUANTITY_DIGITS = 15

_U = ""  # the loader accepts no underscores between digits (``Decimal`` itself would)
_DIGIT = "[0-9]"  # ASCII digits only, as the loader
_ASCII_DIGIT = "[0-9]"


def _decimal_pattern(integer_digits: int) -> str:
    """A decimal string ``Decimal`` reads as a finite number with at most so many integer digits.

    Plain notation (``"12.50"``, ``"-3"``, ``".5"``) is held to the digit limit exactly;
    exponent notation (``"1E+2"``, which ``str(Decimal)`` may give) is checked for its syntax
    only.
    """
    fraction = rf"(?:\.{_U}(?:{_DIGIT})*)?"
    limited = rf"0*(?:{_ASCII_DIGIT}){{1,{integer_digits}}}{fraction}|\.{_U}(?:{_DIGIT})+"
    mantissa = rf"(?:{_DIGIT})+{fraction}|\.{_U}(?:{_DIGIT})+"
    exponent = rf"(?:{mantissa})[eE]{_U}(?:[+-]{_U})?(?:{_DIGIT})+"
    return rf"^\s*{_U}(?:[+-]{_U})?(?:{limited}|{exponent})\s*$"


#: A decimal string below zero (any notation).
_NEGATIVE = r"^\s*_*-[0-9_.]*[1-9]"
#: A decimal string equal to zero (any notation).
_ZERO = r"^\s*_*(?:[+-]_*)?[0_.]*(?:[eE][0-9_+-]*)?\s*$"


def _integer_above(bound: int) -> str:
    """The digits of an integer greater than ``bound`` (>= 0), without leading zeros."""
    text = str(bound)
    choices = [rf"[1-9]{_U}(?:{_ASCII_DIGIT}){{{len(text)},}}"]
    for index, digit in enumerate(text):
        if digit != "9":
            prefix = "".join(f"{char}{_U}" for char in text[:index])
            rest = len(text) - index - 1
            choices.append(rf"{prefix}[{int(digit) + 1}-9]{_U}(?:{_ASCII_DIGIT}){{{rest}}}")
    return "(?:" + "|".join(choices) + ")"


def _above(bound: int, *, inclusive: bool) -> str:
    """A plain decimal string greater than ``bound`` (or equal to it, when ``inclusive``)."""
    fraction = r"(?:\.[0-9]*)?"
    head = r"^\s*(?:\+)?0*"
    if inclusive:
        body = _integer_above(bound - 1) + fraction
    else:
        exact = "".join(f"{char}{_U}" for char in str(bound)) if bound else ""
        body = rf"(?:{_integer_above(bound)}{fraction}|{exact}\.{_U}[0-9_]*[1-9][0-9_]*)"
    return rf"{head}{body}\s*$"


def _json_number(value: int | Decimal) -> int | float:
    if isinstance(value, int):
        return value
    return int(value) if value == value.to_integral_value() else float(value)


_LOWER = ("minimum", "exclusiveMinimum")
_UPPER = ("maximum", "exclusiveMaximum")


def _string_bounds(keywords: Mapping[str, Any]) -> list[str]:
    """Patterns matching the decimal strings that break numeric bounds (rejected with ``not``)."""
    rejected: list[str] = []
    for name in (*_LOWER, *_UPPER):
        if name not in keywords:
            continue
        bound = keywords[name]
        inclusive = name == "exclusiveMaximum"  # below ``bound``: reject ``bound`` and above
        if name in _LOWER and bound == 0:
            rejected.append(_NEGATIVE if name == "minimum" else f"{_NEGATIVE}|{_ZERO}")
        elif name in _UPPER and bound == int(bound) and bound >= (1 if inclusive else 0):
            rejected.append(_above(int(bound), inclusive=inclusive))
        else:
            msg = f"no decimal-string rule for {name} {bound}: extend _string_bounds"
            raise TypeError(msg)
    return rejected


def _money_rules(keywords: Mapping[str, Any]) -> dict[str, Any]:
    """The bounds of a money value: numeric keywords for numbers, ``not`` patterns for strings."""
    rules: dict[str, Any] = {
        name: _json_number(keywords[name]) for name in (*_LOWER, *_UPPER) if name in keywords
    }
    rejected = _string_bounds(keywords)
    if rejected:
        rules["not"] = {"type": "string", "pattern": "|".join(f"(?:{p})" for p in rejected)}
    return rules


def _money(keywords: Mapping[str, Any]) -> dict[str, Any]:
    """Money (``load_money``): a decimal string or a number, below 10**12 in magnitude."""
    limit = 10**MAX_MONEY_INTEGER_DIGITS
    schema: dict[str, Any] = {
        "type": ["string", "number"],
        "pattern": _decimal_pattern(MAX_MONEY_INTEGER_DIGITS),
        "maxLength": MAX_MONEY_TEXT_LENGTH,
    }
    rules = _money_rules(keywords)
    if not any(name in rules for name in _LOWER):
        schema["exclusiveMinimum"] = -limit
    schema.update((name, rules[name]) for name in _LOWER if name in rules)
    if not any(name in rules for name in _UPPER):
        schema["exclusiveMaximum"] = limit
    schema.update((name, rules[name]) for name in _UPPER if name in rules)
    if "not" in rules:
        schema["not"] = rules["not"]
    return schema


# ---------------------------------------------------------------------------- custom loaders


def _quantity() -> dict[str, Any]:
    """A stock quantity (``load_quantity``): an integer, or a number or numeric string (floored)."""
    limit = 10**_QUANTITY_DIGITS
    return {
        "anyOf": [
            {"type": "number", "exclusiveMinimum": -limit, "exclusiveMaximum": limit},
            {
                "type": "string",
                "pattern": _decimal_pattern(_QUANTITY_DIGITS),
                "maxLength": MAX_MONEY_TEXT_LENGTH,
            },
        ]
    }


def _attributes() -> dict[str, Any]:
    """Product attributes (``_load_attributes``): codes → text, number, flag, texts or null."""
    limit = 10**MAX_MONEY_INTEGER_DIGITS
    return {
        "type": "object",
        "maxProperties": MAX_ATTRIBUTES,
        "propertyNames": {"minLength": 1, "maxLength": MAX_ID_LENGTH},
        "additionalProperties": {
            "anyOf": [
                {"type": ["boolean", "null"]},
                {"type": "string", "maxLength": MAX_ATTRIBUTE_VALUE_LENGTH},
                {
                    "type": "integer",
                    "minimum": -MAX_ATTRIBUTE_INTEGER,
                    "maximum": MAX_ATTRIBUTE_INTEGER,
                },
                {"type": "number", "exclusiveMinimum": -limit, "exclusiveMaximum": limit},
                {
                    "type": "array",
                    "maxItems": MAX_ATTRIBUTE_LIST_ITEMS,
                    "items": {"type": "string", "maxLength": MAX_NAME_LENGTH},
                },
            ]
        },
    }


def _condition_defs() -> dict[str, dict[str, Any]]:
    """The tree form of a condition (spec section 6) as ``$defs``."""
    scalar = {"type": ["string", "number", "boolean", "null"]}
    subject = {
        "field": {
            "type": "string",
            "minLength": 1,
            "description": "A product field (sku, price, qty…) or an attribute code.",
        },
        "attribute": {
            "type": "string",
            "minLength": 1,
            "description": "An attribute code, even one named like a product field.",
        },
        "lower": {
            "type": "boolean",
            "default": False,
            "description": "Compare the value in lower case.",
        },
    }
    one_subject = [{"required": ["field"]}, {"required": ["attribute"]}]

    def _op_rule(ops: tuple[str, ...], value: dict[str, Any], why: str) -> dict[str, Any]:
        return {
            "description": why,
            "if": {"properties": {"op": {"enum": list(ops)}}, "required": ["op"]},
            "then": {"properties": {"value": value}},
        }

    def _branch(key: str, description: str) -> dict[str, Any]:
        items = {"$ref": "#/$defs/ConditionTree"}
        inner = items if key == "not" else {"type": "array", "items": items}
        return {
            "type": "object",
            "description": description,
            "properties": {key: inner},
            "required": [key],
            "additionalProperties": False,
        }

    return {
        "ConditionTree": {
            "title": "Condition tree",
            "description": (
                "A condition in tree form: all/any of a list of conditions, the negation of one,"
                " or a comparison of a product value."
            ),
            "anyOf": [
                _branch(
                    "all", "True when every condition of the list holds (an empty list: true)."
                ),
                _branch(
                    "any", "True when some condition of the list holds (an empty list: false)."
                ),
                _branch("not", "True when the condition does not hold."),
                {"$ref": "#/$defs/ConditionLeaf"},
            ],
        },
        "ConditionLeaf": {
            "title": "Comparison",
            "description": "Compares a product value (field or attribute) with a value.",
            "type": "object",
            "properties": {
                **subject,
                "op": {"enum": list(OPS), "description": "The comparison."},
                "value": {"$ref": "#/$defs/ConditionValue"},
            },
            "required": ["op", "value"],
            "oneOf": one_subject,
            "additionalProperties": False,
            "allOf": [
                _op_rule(("in", "not_in"), {"type": "array"}, "'in' and 'not_in' take a list."),
                _op_rule(
                    _ORDERING,
                    {"type": ["string", "number", "object"]},
                    "An ordering compares numbers or texts (or another product value).",
                ),
                _op_rule(
                    ("contains",),
                    {"type": ["string", "number", "boolean", "null", "object"]},
                    "'contains' takes one value, not a list.",
                ),
                _op_rule(
                    _PREDICATES,
                    {"type": ["string", "object"]},
                    "'startswith', 'endswith' and 'under' take a text.",
                ),
            ],
        },
        "ConditionValue": {
            "title": "Comparison value",
            "description": "A text, number, boolean or null, a list of those, or a product value.",
            "anyOf": [
                scalar,
                {"type": "array", "items": scalar},
                {
                    "type": "object",
                    "description": "Another product value.",
                    "properties": subject,
                    "oneOf": one_subject,
                    "additionalProperties": False,
                },
            ],
        },
    }


def _condition_text() -> dict[str, Any]:
    return {
        "type": "string",
        "description": "The condition as text, e.g. price >= 10 and color in ('Red', 'Blue').",
        # A blank text means no condition, whatever its length; a CRLF counts as one character.
        "anyOf": [{"maxLength": MAX_LENGTH}, {"pattern": r"^\s*$"}, {"pattern": r"\r\n"}],
    }


# ------------------------------------------------------------------------------- field rules

#: Value rules of checks that are plain functions, by (class, field): keywords for the value, and
#: under ``items``, ``propertyNames`` and ``additionalProperties`` for the parts of a collection.
#: The end of the text: unlike ``$``, which Python's ``re`` also matches before a final newline.
_END = r"(?![\s\S])"
_CURRENCY = {"pattern": "^[A-Z]{3}$", "minLength": 3, "maxLength": 3}
_NON_BLANK = {"minLength": 1, "pattern": r"\S"}
_ID = {"minLength": 1, "maxLength": MAX_ID_LENGTH}
_FIELD_RULES: Mapping[tuple[type[Any], str], Mapping[str, Any]] = {
    (PricingPolicy, "currency"): _CURRENCY,
    (ChannelOrder, "currency"): _CURRENCY,
    (Ending, "value"): {"exclusiveMaximum": 1},
    (PricingPolicy, "rounding_unit"): {"minimum": 1, "maximum": 1000},
    (PricingPolicy, "store_currency"): _CURRENCY,
    (WholeEnding, "digits"): {"pattern": rf"^[0-9]{{1,4}}{_END}"},
    (ExchangeRate, "base"): _CURRENCY,
    (ExchangeRate, "quote"): _CURRENCY,
    (MsiSettings, "sources"): {"items": {"minLength": 1}},
    (SyncPolicy, "observed_attributes"): {"items": _NON_BLANK},
    (OrderPolicy, "import_statuses"): {"items": _NON_BLANK},
    (OrderPolicy, "order_id_prefix"): {
        "maxLength": MAX_PREFIX_LENGTH,
        "pattern": rf"^[A-Za-z0-9_-]*{_END}",
    },
    (OrderPolicy, "carrier_mapping"): {
        "propertyNames": _NON_BLANK,
        "additionalProperties": _NON_BLANK,
    },
    (OrderPolicy, "status_mapping"): {
        "propertyNames": _NON_BLANK,
        "additionalProperties": _NON_BLANK,
    },
    (CustomerSettings, "email"): {"pattern": rf"^\S+@[^\s@]+{_END}"},
    (Configuration, "version"): {"const": CONFIG_VERSION},
    (Configuration, "channels"): {"propertyNames": _ID},
    **{
        (Configuration, f"{kind}_policies"): {"propertyNames": _ID}
        for kind in ("sync", "inventory", "pricing", "image", "order")
    },
}

_STRING_KEYWORDS = ("minLength", "maxLength", "pattern", "const")
_INTEGER_KEYWORDS = (*_LOWER, *_UPPER, "const")
_ARRAY_KEYWORDS = ("minItems", "maxItems", "uniqueItems")  # uniqueItems: from a check only
_OBJECT_KEYWORDS = ("minProperties", "maxProperties", "propertyNames")
#: Bounds that several checks of one field may each give: the tightest one holds.
_UPPER_BOUNDS = frozenset({*_UPPER, "maxLength", "maxItems", "maxProperties"})
_LOWER_BOUNDS = frozenset({*_LOWER, "minLength", "minItems", "minProperties"})


def _merge(keywords: dict[str, Any], more: Mapping[str, Any]) -> None:
    """Add the keywords of one more check: the tighter bound wins, nested rules merge."""
    for name, value in more.items():
        known = keywords.get(name)
        if known is None:
            keywords[name] = copy.deepcopy(value)
        elif isinstance(value, Mapping):
            _merge(known, value)
        elif name in _UPPER_BOUNDS:
            keywords[name] = min(known, value)
        elif name in _LOWER_BOUNDS:
            keywords[name] = max(known, value)
        else:
            keywords[name] = value


def _pick(schema: dict[str, Any], keywords: Mapping[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if name in keywords:
            value = keywords[name]
            schema[name] = _json_number(value) if name in (*_LOWER, *_UPPER) else value


# --------------------------------------------------------------------------- cross-field rules


def _if_then(description: str, condition: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "if": condition, "then": then}


def _present(name: str, *, value: Any) -> dict[str, Any]:
    """``name`` is given and equals ``value``."""
    return {"properties": {name: {"const": value}}, "required": [name]}


def _sync_rules() -> list[dict[str, Any]]:
    rules = [
        _if_then(
            "Inventory/Price Sync depends on Product Update.",
            _present("product_update", value=False),
            _present("inventory_price_sync", value=False),
        )
    ]
    for name, profile in BUILTIN_CHANNELS.items():
        supported = [field.value for field in SyncField if field in profile.fields]
        rules.append(
            _if_then(
                f"A policy for the built-in channel {name!r} sends only fields it supports.",
                _present("channel", value=name),
                {"properties": {"fields": {"items": {"enum": supported}}}},
            )
        )
    return rules


def _order_rules() -> list[dict[str, Any]]:
    return [
        _if_then(
            "Creating orders needs the statuses that create them.",
            # ``create_orders`` is on when it is missing (its default) or true.
            {"properties": {"create_orders": {"const": True}}},
            {"required": ["import_statuses"], "properties": {"import_statuses": {"minItems": 1}}},
        )
    ]


def _customer_rules() -> list[dict[str, Any]]:
    return [
        _if_then(
            "The mode 'same' needs the store customer's email.",
            _present("mode", value="same"),
            {"required": ["email"], "properties": {"email": {"type": "string"}}},
        )
    ]


def _adjustment_rules() -> list[dict[str, Any]]:
    return [
        _if_then(
            "A percent_decrement is at most 100.",
            _present("kind", value=AdjustmentKind.PERCENT_DECREMENT.value),
            {"properties": {"amount": _money_rules({"maximum": 100})}},
        )
    ]


#: Rules spanning fields that JSON Schema can express, by class (the ``allOf`` of its schema).
_CROSS_RULES: Mapping[type[Any], Callable[[], list[dict[str, Any]]]] = {
    SyncPolicy: _sync_rules,
    OrderPolicy: _order_rules,
    CustomerSettings: _customer_rules,
    Adjustment: _adjustment_rules,
}

# --------------------------------------------------------------------------------- docstrings

_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")
#: Python literals in a docstring, as a JSON document spells them.
_JSON_WORDS = {"None": "null", "True": "true", "False": "false"}
#: Words a field name abbreviates, spelt out in a property's title.
_TITLE_WORDS = {"id": "ID", "msi": "MSI", "qty": "quantity", "sku": "SKU", "vat": "VAT"}


def _plain(text: str) -> str:
    """Docstring markup as Markdown: ``None`` → `null`, :class:`~a.B` → `B`; lines joined."""
    text = _ROLE.sub(lambda match: f"`{match.group(1).rsplit('.', 1)[-1]}`", text)
    text = _LITERAL.sub(lambda match: f"`{_JSON_WORDS.get(match.group(1), match.group(1))}`", text)
    paragraphs = [" ".join(part.split()) for part in re.split(r"\n\s*\n", text)]
    return "\n\n".join(part for part in paragraphs if part)


def _docs(cls: type[Any]) -> tuple[str, dict[str, str]]:
    """A class's description and its fields' descriptions (its ``Attributes:`` section)."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    head, _, section = doc.partition("\nAttributes:\n")
    fields: dict[str, list[str]] = {}
    current: list[str] | None = None
    indent: int | None = None
    for line in section.splitlines():
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if depth == 0:
            break
        indent = depth if indent is None else indent
        match = re.fullmatch(r"(\w+): (.*)", line.strip())
        if depth == indent and match is not None:
            current = fields[match.group(1)] = [match.group(2)]
        elif current is not None:
            current.append(line.strip())
    return _plain(head), {name: _plain("\n".join(lines)) for name, lines in fields.items()}


def _title(name: str) -> str:
    """A form label for a field: ``default_quantity`` → ``Default quantity``, ``msi`` → ``MSI``."""
    words = [_TITLE_WORDS.get(word, word) for word in name.split("_")]
    title = " ".join(words)
    return title[:1].upper() + title[1:]


# ------------------------------------------------------------------------------------ builder


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema that also accepts ``null``."""
    kind = schema.get("type")
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
        return schema
    if isinstance(kind, list):
        schema["type"] = [*kind, "null"]
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _is_optional(tp: Any) -> bool:
    return get_origin(tp) in (typing.Union, types.UnionType) and type(None) in get_args(tp)


class _Builder:
    """Builds one schema document, collecting the classes it refers to in ``$defs``."""

    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}
        self.loaders: dict[Any, Callable[[], dict[str, Any]]] = {
            load_quantity: _quantity,
            _load_attributes: _attributes,
            load_condition: self.condition,
        }

    def document(self, kind: str) -> dict[str, Any]:
        body = self.model(_KIND_CLASSES[kind])
        document: dict[str, Any] = {"$schema": DRAFT, "$id": f"urn:policy-engine:schema:{kind}"}
        document.update(body)
        if self.defs:
            document["$defs"] = dict(sorted(self.defs.items()))
        return document

    def reference(self, cls: type[Any]) -> dict[str, Any]:
        name = cls.__name__
        if name not in self.defs:
            self.defs[name] = {}  # taken, in case the class refers to itself
            self.defs[name] = self.model(cls)
        return {"$ref": f"#/$defs/{name}"}

    def condition(self) -> dict[str, Any]:
        self.defs.update(_condition_defs())
        return {"anyOf": [_condition_text(), {"$ref": "#/$defs/ConditionTree"}, {"type": "null"}]}

    def model(self, cls: type[Any]) -> dict[str, Any]:
        """The schema of an attrs model: its init fields, strictly (no other key)."""
        attrs.resolve_types(cls)
        description, described = _docs(cls)
        fields = [field for field in attrs.fields(cls) if field.init]
        schema: dict[str, Any] = {"title": cls.__name__, "description": description}
        schema["type"] = "object"
        schema["properties"] = {
            field.name: self.property(cls, field, described.get(field.name)) for field in fields
        }
        required = [field.name for field in fields if field.default is attrs.NOTHING]
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        rules = _CROSS_RULES.get(cls)
        if rules is not None:
            schema["allOf"] = rules()
        return schema

    def property(
        self, cls: type[Any], field: attrs.Attribute[Any], description: str | None
    ) -> dict[str, Any]:
        schema: dict[str, Any] = {"title": _title(field.name)}
        if description:
            schema["description"] = description
        loader = field.metadata.get(LOAD)
        if loader is not None:
            build = self.loaders.get(loader)
            if build is None:
                msg = f"no JSON Schema for the custom loader of {cls.__name__}.{field.name}"
                raise TypeError(msg)
            schema.update(build())
        else:
            keywords: dict[str, Any] = {}
            for checker in field.metadata.get(CHECK, ()):
                _merge(keywords, getattr(checker, JSON_SCHEMA, {}))
            _merge(keywords, _FIELD_RULES.get((cls, field.name), {}))
            schema.update(self.value(field.type, keywords))
        default: Any = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            if not default.takes_self:
                schema["default"] = unstructure(default.factory())
        elif default is not attrs.NOTHING:
            schema["default"] = unstructure(default)
        return schema

    def value(self, tp: Any, keywords: Mapping[str, Any]) -> dict[str, Any]:
        """The schema of a value of type ``tp`` under the rules ``keywords``."""
        if _is_optional(tp):
            (inner,) = [arg for arg in get_args(tp) if arg is not type(None)]
            return _nullable(self.value(inner, keywords))
        schema: dict[str, Any]
        if tp is bool:
            return {"type": "boolean"}
        if tp is str:
            schema = {"type": "string"}
            _pick(schema, keywords, _STRING_KEYWORDS)
            return schema
        if tp is int:
            schema = {"type": "integer"}
            _pick(schema, keywords, _INTEGER_KEYWORDS)
            return schema
        if tp is Decimal:
            return _money(keywords)
        if tp is date:
            return {"type": "string", "format": "date"}
        if tp is datetime:
            return {"type": "string", "format": "date-time"}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"type": "string", "enum": [member.value for member in tp]}
        origin = get_origin(tp)
        if origin in (tuple, frozenset):
            # The loader accepts repeated items in a set (they collapse): no ``uniqueItems``.
            schema = {
                "type": "array",
                "items": self.value(get_args(tp)[0], keywords.get("items", {})),
            }
            _pick(schema, keywords, _ARRAY_KEYWORDS)
            return schema
        if origin is FrozenDict:
            values = self.value(get_args(tp)[1], keywords.get("additionalProperties", {}))
            schema = {"type": "object"}
            _pick(schema, keywords, _OBJECT_KEYWORDS)
            schema["additionalProperties"] = values
            return schema
        if attrs.has(tp):
            return self.reference(tp)
        msg = f"no JSON Schema for the type {tp!r}"  # pragma: no cover - every model type is above
        raise TypeError(msg)  # pragma: no cover


@functools.cache
def _document(kind: str) -> dict[str, Any]:
    return _Builder().document(kind)


def json_schema(kind: str | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the configuration document or of one kind of model.

    ``kind`` is one of :data:`SCHEMA_KINDS`; ``None`` means ``"configuration"``. The result is a
    new JSON-compatible ``dict`` on every call (change it freely). An admin UI renders a form per
    policy kind from it and validates input before sending it to
    :func:`~policy_engine.load_config`, which still checks what JSON Schema cannot express
    (references between sections, duplicate ids…).

    >>> from policy_engine import json_schema
    >>> schema = json_schema("image_policy")
    >>> schema["required"], schema["properties"]["gallery_limit"]["maximum"]
    (['title'], 100)

    Raises:
        ValueError: for an unknown kind (the message lists the known ones).
    """
    name = "configuration" if kind is None else kind
    if name not in _KIND_CLASSES:
        msg = f"unknown schema kind {kind!r} (known: {', '.join(SCHEMA_KINDS)})"
        raise ValueError(msg)
    return copy.deepcopy(_document(name))
