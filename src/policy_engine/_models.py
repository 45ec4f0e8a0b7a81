"""Inputs from the store (spec section 2): products, their images and their stock.

Every model is a frozen, slotted attrs class. Collections inside are tuples, frozensets or
:class:`~policy_engine.FrozenDict`; lists and dicts given to a constructor are converted, so a model
can never be changed after it is built (use :func:`attrs.evolve` to derive a new one).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sized
from datetime import date
from decimal import Decimal
from typing import Any, TypeAlias

import attrs

from policy_engine._limits import (
    MAX_ATTRIBUTE_INTEGER,
    MAX_ATTRIBUTE_LIST_ITEMS,
    MAX_ATTRIBUTE_VALUE_LENGTH,
    MAX_ATTRIBUTES,
    MAX_CATEGORIES,
    MAX_FILE_LENGTH,
    MAX_ID_LENGTH,
    MAX_IMAGE_ROLES,
    MAX_IMAGES,
    MAX_NAME_LENGTH,
    MAX_QUANTITY,
    MAX_SKU_LENGTH,
    MAX_SOURCES,
)
from policy_engine._serialization import (
    DUMP,
    LOAD,
    Invalid,
    dump_number,
    fail,
    load_money,
    load_quantity,
)
from policy_engine._validation import (
    INLINE,
    JSON_SCHEMA,
    MAX_SIZE,
    Checked,
    FrozenDict,
    Problem,
    check,
    describe,
    is_bool,
    is_int,
    is_member,
    key_path,
    max_items,
    shown,
    text,
)

__all__ = [
    "AttributeValue",
    "Image",
    "Product",
    "ProductType",
    "SourceItem",
    "Stock",
    "Visibility",
]

#: What a custom attribute may hold: text, an integer, money, a flag, a list of texts, or null.
AttributeValue: TypeAlias = str | int | Decimal | bool | tuple[str, ...] | None


class ProductType(enum.StrEnum):
    """Magento product types."""

    SIMPLE = "simple"
    CONFIGURABLE = "configurable"
    BUNDLE = "bundle"
    GROUPED = "grouped"
    VIRTUAL = "virtual"
    DOWNLOADABLE = "downloadable"


class Visibility(enum.StrEnum):
    """Magento visibility: where the product shows in the storefront."""

    NOT_VISIBLE_INDIVIDUALLY = "not_visible_individually"
    CATALOG = "catalog"
    SEARCH = "search"
    CATALOG_SEARCH = "catalog_search"


_PRODUCT_TYPES = {member.value: member for member in ProductType}
_VISIBILITIES = {member.value: member for member in Visibility}


def _to_product_type(value: Any) -> Any:
    """Convert a valid string to the member; leave anything else for the check to report."""
    return _PRODUCT_TYPES.get(value, value) if type(value) is str else value


def _to_visibility(value: Any) -> Any:
    """Convert a valid string to the member; leave anything else for the check to report."""
    return _VISIBILITIES.get(value, value) if type(value) is str else value


def floor_quantity(value: int | float | Decimal) -> int:
    """Floor a store quantity given as a decimal (Magento sends ``"qty": 12.0``)."""
    if type(value) is int:
        return value
    if isinstance(value, float | Decimal) and not isinstance(value, bool):
        try:
            return math.floor(value)
        except (ValueError, OverflowError):
            return value  # type: ignore[return-value] # reported by the check
    return value  # reported by the check


def _to_money(value: Any) -> Any:
    """Convert money given in Python (an ``int``, a ``float`` or a decimal string such as
    ``"12.50"``) to ``Decimal``, as loading does; leave anything else for the check to report.

    A ``Decimal`` and ``None`` come back as they are. A value :func:`load_money` refuses (a
    string that is not a number, NaN, an infinity, more than 12 integer digits, a boolean) is left
    unchanged too, so the field's check reports it with the field's name.
    """
    if type(value) is Decimal or value is None:
        return value
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return load_money(value)
        except Invalid:
            return value
    return value


def _is_money_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal) and value.is_finite():
        return None
    return f"expected money (a finite decimal number), got {describe(value)}"


def _is_date_or_none(value: Any) -> str | None:
    if value is None or type(value) is date:
        return None
    return f"expected a date, got {describe(value)}"


def _oversized(values: Iterable[Any], limit: int) -> bool:
    """Whether a collection is over its limit: then it is left for the check to report, rather
    than copied first."""
    return isinstance(values, Sized) and len(values) > limit


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    if type(values) is tuple or _oversized(values, MAX_CATEGORIES):
        return values  # type: ignore[return-value]
    return tuple(values)


def _str_frozenset(values: Iterable[str]) -> frozenset[str]:
    if type(values) is frozenset or _oversized(values, MAX_IMAGE_ROLES):
        return values  # type: ignore[return-value]
    return frozenset(values)


def _texts(limit: int, count: int | None = None) -> Any:
    """Every item of the list must be a string of at most ``limit`` characters (and the list
    must have at most ``count`` items)."""

    def _check(values: Any) -> str | None:
        if count is not None and len(values) > count:
            return f"must have at most {count} items (got {len(values)})"
        for value in values:
            if type(value) is not str:
                return f"expected a list of strings, got {describe(value)} in it"
            if len(value) > limit:
                return f"items must be at most {limit} characters long, got {shown(value)}"
        return None

    _check.__dict__[JSON_SCHEMA] = {"items": {"maxLength": limit}}
    _check.__dict__[INLINE] = ("texts", limit, count)
    if count is not None:
        _check.__dict__[JSON_SCHEMA]["maxItems"] = count
        _check.__dict__[MAX_SIZE] = count
    return _check


def _is_quantity(value: Any) -> str | None:
    """A stock quantity: an integer below 10**15 in magnitude (decimals were floored)."""
    if type(value) is not int:
        return f"expected an integer, got {describe(value)}"
    if -MAX_QUANTITY <= value <= MAX_QUANTITY:
        return None
    return f"a quantity must be below 10**15, got {shown(value)}"


# --------------------------------------------------------------------------------------- Image


@attrs.frozen(kw_only=True)
class Image(Checked):
    """One image of a product's gallery.

    Attributes:
        file: A media path or URL (non-empty).
        position: The sort position in the gallery (lower first; equal positions keep their order).
        disabled: A disabled image is never sent.
        roles: Magento image roles, e.g. ``image`` (the base image), ``small_image``, ``thumbnail``.
        label: The alt text.
    """

    file: str = attrs.field(metadata=check(text(MAX_FILE_LENGTH, required=True)))
    position: int = attrs.field(default=0, metadata=check(is_int))
    disabled: bool = attrs.field(default=False, metadata=check(is_bool))
    roles: frozenset[str] = attrs.field(
        default=frozenset(),
        converter=_str_frozenset,
        metadata=check(_texts(MAX_ID_LENGTH, MAX_IMAGE_ROLES)),
    )
    label: str = attrs.field(default="", metadata=check(text(MAX_NAME_LENGTH)))


# --------------------------------------------------------------------------------------- Stock


@attrs.frozen(kw_only=True)
class SourceItem(Checked):
    """A Magento MSI source item: the quantity of a product at one source (warehouse, store…).

    Attributes:
        code: The source code, e.g. ``us_warehouse``.
        qty: The quantity at this source (decimals are floored).
        in_stock: The source item's stock status; an out-of-stock source contributes nothing.
        enabled: Whether the source itself is enabled in the store (Magento's source ``enabled``);
            the items of a disabled source contribute nothing.
    """

    code: str = attrs.field(metadata=check(text(MAX_ID_LENGTH, required=True)))
    qty: int = attrs.field(
        default=0, converter=floor_quantity, metadata={LOAD: load_quantity, **check(_is_quantity)}
    )
    in_stock: bool = attrs.field(default=True, metadata=check(is_bool))
    enabled: bool = attrs.field(default=True, metadata=check(is_bool))


def _source_tuple(values: Iterable[SourceItem]) -> tuple[SourceItem, ...]:
    if type(values) is tuple or _oversized(values, MAX_SOURCES):
        return values  # type: ignore[return-value]
    return tuple(values)


def _all_sources(values: Any) -> str | None:
    if len(values) > MAX_SOURCES:
        return f"must have at most {MAX_SOURCES} items (got {len(values)})"
    for value in values:
        if not isinstance(value, SourceItem):
            return f"expected source items, got {describe(value)} in the list"
    return None


_all_sources.__dict__[JSON_SCHEMA] = {"maxItems": MAX_SOURCES}
_all_sources.__dict__[MAX_SIZE] = MAX_SOURCES


@attrs.frozen(kw_only=True)
class Stock(Checked):
    """A product's stock record in the store.

    Attributes:
        qty: The store quantity for single-source stores (decimals are floored).
        in_stock: Magento's stock status.
        manage_stock: Magento's "Manage Stock"; when off the store does not track quantities.
        sources: Magento MSI source items, used by an inventory policy with ``msi`` set.
        reserved: The sum of Magento MSI reservations (negative while orders are open).
        out_of_stock_threshold: Magento's "Out-of-Stock Threshold" (``min_qty``).
    """

    qty: int = attrs.field(
        default=0, converter=floor_quantity, metadata={LOAD: load_quantity, **check(_is_quantity)}
    )
    in_stock: bool = attrs.field(default=True, metadata=check(is_bool))
    manage_stock: bool = attrs.field(default=True, metadata=check(is_bool))
    sources: tuple[SourceItem, ...] = attrs.field(
        default=(), converter=_source_tuple, metadata=check(_all_sources)
    )
    reserved: int = attrs.field(
        default=0, converter=floor_quantity, metadata={LOAD: load_quantity, **check(_is_quantity)}
    )
    out_of_stock_threshold: int = attrs.field(
        default=0, converter=floor_quantity, metadata={LOAD: load_quantity, **check(_is_quantity)}
    )


# ------------------------------------------------------------------------------------- Product


def _attribute_value(value: Any) -> AttributeValue:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, float):
        return _to_money(value)  # type: ignore[no-any-return]
    return value  # type: ignore[no-any-return]


def _attributes(values: Any) -> Any:
    if type(values) is FrozenDict or not isinstance(values, Mapping):
        return values  # a FrozenDict is already converted; anything else is for the check
    if len(values) > MAX_ATTRIBUTES:
        return values  # reported by the check, without converting a million values first
    return FrozenDict({key: _attribute_value(value) for key, value in values.items()})


_ATTRIBUTE_TYPES = (
    "expected a string, an integer, a decimal number, a boolean, a list of strings or null"
)
_TOO_MANY_ATTRIBUTES = max_items(MAX_ATTRIBUTES)
_LIST_ITEMS = _texts(MAX_NAME_LENGTH)


# The messages of an attribute value over a limit (each called once the value is known to be).


def _text_problem(value: str) -> str:
    return f"must be at most {MAX_ATTRIBUTE_VALUE_LENGTH} characters long (got {len(value)})"


def _integer_problem(value: int) -> str:
    return f"an integer attribute has at most 38 digits, got {shown(value)}"


def _list_problem(value: tuple[Any, ...] | list[Any]) -> str:
    return f"must have at most {MAX_ATTRIBUTE_LIST_ITEMS} items (got {len(value)})"


def _code_problem(key: object) -> str:
    if type(key) is not str or not key:
        return "attribute codes must be non-empty strings"
    return f"attribute codes must be at most {MAX_ID_LENGTH} characters long, got {shown(key)}"


def _valid_attribute(value: Any) -> str | None:
    """What is wrong with an attribute value that is not text, if anything."""
    kind = type(value)
    if value is None or kind is bool:
        return None
    if kind is int:
        in_range = -MAX_ATTRIBUTE_INTEGER <= value <= MAX_ATTRIBUTE_INTEGER
        return None if in_range else _integer_problem(value)
    if kind is Decimal:
        return None if value.is_finite() else "money must be a finite number"
    if kind is tuple:
        return _list_problem(value) if len(value) > MAX_ATTRIBUTE_LIST_ITEMS else _LIST_ITEMS(value)
    return f"{_ATTRIBUTE_TYPES}, got {describe(value)}"


def _load_attribute(value: object) -> AttributeValue:
    if type(value) is str:
        if len(value) > MAX_ATTRIBUTE_VALUE_LENGTH:
            fail(_text_problem(value))
        return value
    if value is None or type(value) is bool:
        return value
    if type(value) is int:
        if not -MAX_ATTRIBUTE_INTEGER <= value <= MAX_ATTRIBUTE_INTEGER:
            fail(_integer_problem(value))
        return value
    if isinstance(value, float | Decimal):
        return load_money(value)
    if isinstance(value, list | tuple):
        if len(value) > MAX_ATTRIBUTE_LIST_ITEMS:
            fail(_list_problem(value))
        problems: list[Problem] = []
        for index, item in enumerate(value):
            if type(item) is not str:
                problems.append((f"$[{index}]", f"expected a string, got {describe(item)}"))
            elif len(item) > MAX_NAME_LENGTH:
                message = f"must be at most {MAX_NAME_LENGTH} characters long (got {len(item)})"
                problems.append((f"$[{index}]", message))
        if problems:
            raise Invalid(problems)
        return tuple(value)
    raise Invalid([("$", f"{_ATTRIBUTE_TYPES}, got {describe(value)}")])


def _load_attributes(value: object, _: object = None) -> FrozenDict[str, AttributeValue]:
    if not isinstance(value, Mapping):
        fail(f"expected an object, got {describe(value)}")
    if len(value) > MAX_ATTRIBUTES:
        fail(_TOO_MANY_ATTRIBUTES(value) or "")
    loaded: dict[str, AttributeValue] = {}
    problems: list[Problem] = []
    for key, item in value.items():
        # The length of a code is the constructor's check: a long key costs nothing to load.
        if type(key) is not str or not key:
            problems.append(("$", _code_problem(key)))
            continue
        try:
            loaded[key] = _load_attribute(item)
        except Invalid as error:
            segment = key_path(key)
            problems.extend(("$" + segment + path[1:], message) for path, message in error.problems)
    if problems:
        raise Invalid(problems)
    return FrozenDict(loaded)


def _dump_attributes(values: Mapping[str, AttributeValue]) -> dict[str, Any]:
    dumped: dict[str, Any] = {}
    for key, value in values.items():
        if type(value) is Decimal:
            dumped[key] = dump_number(value)
        elif type(value) is tuple:
            dumped[key] = list(value)
        else:
            dumped[key] = value
    return dumped


def _check_attributes(values: Any) -> str | None:
    if not isinstance(values, Mapping):
        return f"expected an object, got {describe(values)}"
    if len(values) > MAX_ATTRIBUTES:
        return _TOO_MANY_ATTRIBUTES(values)
    longest = MAX_ATTRIBUTE_VALUE_LENGTH
    for key, value in values.items():
        if type(key) is not str or not key:
            return _code_problem(key)
        problem: str | None
        if type(value) is str:  # most attributes: checked here, without a call
            if len(value) <= longest:
                continue
            problem = _text_problem(value)
        else:
            problem = _valid_attribute(value)
        if problem is not None:
            return f"attribute {shown(key)}: {problem}"
    # The codes' lengths at C speed, once every code is known to be text.
    if values and max(map(len, values)) > MAX_ID_LENGTH:
        return _code_problem(max(values, key=len))
    return None


def _image_tuple(values: Iterable[Image]) -> tuple[Image, ...]:
    if type(values) is tuple or _oversized(values, MAX_IMAGES):
        return values  # type: ignore[return-value]
    return tuple(values)


def _all_images(values: Any) -> str | None:
    if len(values) > MAX_IMAGES:
        return f"must have at most {MAX_IMAGES} items (got {len(values)})"
    for value in values:
        if not isinstance(value, Image):
            return f"expected images, got {describe(value)} in the list"
    return None


_all_images.__dict__[JSON_SCHEMA] = {"maxItems": MAX_IMAGES}
_all_images.__dict__[MAX_SIZE] = MAX_IMAGES


def _is_stock_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, Stock):
        return None
    return f"expected a stock record, got {describe(value)}"


@attrs.frozen(kw_only=True)
class Product(Checked):
    """A store product as the policies see it (spec 2.1).

    Attributes:
        sku: The store SKU (non-empty).
        name: The product name (the marketplace title).
        type: The Magento product type.
        enabled: Magento's status; a disabled product lists quantity 0.
        visibility: Magento's visibility; ``not_visible_individually`` marks configurable children.
        price: The store's regular price, or ``None``.
        special_price: Magento's special price, or ``None``.
        special_from: First day of the special price window (inclusive), or ``None`` (open).
        special_to: Last day of the special price window (inclusive), or ``None`` (open).
        attributes: Custom attributes by code (``color``, ``msrp``, ``marketplace_image``…).
        categories: Category paths such as ``"Men/Tops/Jackets"``.
        attribute_set: The Magento attribute set.
        images: The media gallery.
        parent_sku: The configurable parent's SKU, for a child product.
        stock: The stock record, or ``None`` when the store has none.
    """

    sku: str = attrs.field(metadata=check(text(MAX_SKU_LENGTH, required=True)))
    name: str = attrs.field(default="", metadata=check(text(MAX_NAME_LENGTH)))
    type: ProductType = attrs.field(
        default=ProductType.SIMPLE,
        converter=_to_product_type,
        metadata=check(is_member(ProductType)),
    )
    enabled: bool = attrs.field(default=True, metadata=check(is_bool))
    visibility: Visibility = attrs.field(
        default=Visibility.CATALOG_SEARCH,
        converter=_to_visibility,
        metadata=check(is_member(Visibility)),
    )
    price: Decimal | None = attrs.field(
        default=None, converter=_to_money, metadata=check(_is_money_or_none)
    )
    special_price: Decimal | None = attrs.field(
        default=None, converter=_to_money, metadata=check(_is_money_or_none)
    )
    special_from: date | None = attrs.field(default=None, metadata=check(_is_date_or_none))
    special_to: date | None = attrs.field(default=None, metadata=check(_is_date_or_none))
    attributes: FrozenDict[str, AttributeValue] = attrs.field(
        factory=FrozenDict,
        converter=_attributes,
        metadata={LOAD: _load_attributes, DUMP: _dump_attributes, **check(_check_attributes)},
    )
    categories: tuple[str, ...] = attrs.field(
        default=(),
        converter=_str_tuple,
        metadata=check(_texts(MAX_NAME_LENGTH, MAX_CATEGORIES)),
    )
    attribute_set: str = attrs.field(default="Default", metadata=check(text(MAX_NAME_LENGTH)))
    images: tuple[Image, ...] = attrs.field(
        default=(), converter=_image_tuple, metadata=check(_all_images)
    )
    parent_sku: str | None = attrs.field(
        default=None, metadata=check(text(MAX_SKU_LENGTH, optional=True))
    )
    stock: Stock | None = attrs.field(default=None, metadata=check(_is_stock_or_none))
