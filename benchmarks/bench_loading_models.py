"""The product's shape for the other libraries ``bench_loading.py`` compares against.

Each has the fields, types and limits of :class:`policy_engine.Product` (lengths, counts, no
unknown keys, strict types: no number as a string where an integer belongs), as far as the
library can say them without custom code. Money is a decimal given as a string or a number. The
classes are built inside functions, so that this module imports without pydantic or msgspec.
"""

# No ``from __future__ import annotations``: pydantic reads the annotations of classes made in a
# function.

import datetime
import decimal
import enum
from typing import Annotated, Any

import attrs
import cattrs

from policy_engine import (
    MAX_ATTRIBUTES,
    MAX_CATEGORIES,
    MAX_FILE_LENGTH,
    MAX_ID_LENGTH,
    MAX_IMAGE_ROLES,
    MAX_IMAGES,
    MAX_NAME_LENGTH,
    MAX_SKU_LENGTH,
    MAX_SOURCES,
)


class ProductType(enum.Enum):
    SIMPLE = "simple"
    CONFIGURABLE = "configurable"
    BUNDLE = "bundle"
    GROUPED = "grouped"
    VIRTUAL = "virtual"
    DOWNLOADABLE = "downloadable"


class Visibility(enum.Enum):
    NOT_VISIBLE_INDIVIDUALLY = "not_visible_individually"
    CATALOG = "catalog"
    SEARCH = "search"
    CATALOG_SEARCH = "catalog_search"


def pydantic_product() -> Any:
    """The product as pydantic v2 models (strict, no unknown keys)."""
    from pydantic import BaseModel, ConfigDict, Field

    strict = ConfigDict(strict=True, extra="forbid", frozen=True)

    class Image(BaseModel):
        model_config = strict
        file: Annotated[str, Field(min_length=1, max_length=MAX_FILE_LENGTH)]
        position: int = 0
        disabled: bool = False
        roles: Annotated[frozenset[str], Field(max_length=MAX_IMAGE_ROLES)] = frozenset()
        label: Annotated[str, Field(max_length=MAX_NAME_LENGTH)] = ""

    class SourceItem(BaseModel):
        model_config = strict
        code: Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
        qty: int = 0
        in_stock: bool = True
        enabled: bool = True

    class Stock(BaseModel):
        model_config = strict
        qty: int = 0
        in_stock: bool = True
        manage_stock: bool = True
        sources: Annotated[tuple[SourceItem, ...], Field(max_length=MAX_SOURCES)] = ()
        reserved: int = 0
        out_of_stock_threshold: int = 0

    money = Annotated[decimal.Decimal, Field(strict=False, max_digits=40, allow_inf_nan=False)]

    class Product(BaseModel):
        model_config = strict
        sku: Annotated[str, Field(min_length=1, max_length=MAX_SKU_LENGTH)]
        name: Annotated[str, Field(max_length=MAX_NAME_LENGTH)] = ""
        type: ProductType = ProductType.SIMPLE
        enabled: bool = True
        visibility: Visibility = Visibility.CATALOG_SEARCH
        price: money | None = None
        special_price: money | None = None
        special_from: Annotated[datetime.date, Field(strict=False)] | None = None
        special_to: Annotated[datetime.date, Field(strict=False)] | None = None
        attributes: Annotated[
            dict[str, str | int | float | bool | list[str] | None],
            Field(max_length=MAX_ATTRIBUTES),
        ] = {}
        categories: Annotated[tuple[str, ...], Field(max_length=MAX_CATEGORIES)] = ()
        attribute_set: Annotated[str, Field(max_length=MAX_NAME_LENGTH)] = "Default"
        images: Annotated[tuple[Image, ...], Field(max_length=MAX_IMAGES)] = ()
        parent_sku: Annotated[str, Field(max_length=MAX_SKU_LENGTH)] | None = None
        stock: Stock | None = None

    return Product


def msgspec_product() -> Any:
    """The product as msgspec Structs (no unknown fields, the same limits)."""
    import msgspec
    from msgspec import Meta

    class Image(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
        file: Annotated[str, Meta(min_length=1, max_length=MAX_FILE_LENGTH)]
        position: int = 0
        disabled: bool = False
        roles: Annotated[frozenset[str], Meta(max_length=MAX_IMAGE_ROLES)] = frozenset()
        label: Annotated[str, Meta(max_length=MAX_NAME_LENGTH)] = ""

    class SourceItem(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
        code: Annotated[str, Meta(min_length=1, max_length=MAX_ID_LENGTH)]
        qty: int = 0
        in_stock: bool = True
        enabled: bool = True

    class Stock(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
        qty: int = 0
        in_stock: bool = True
        manage_stock: bool = True
        sources: Annotated[tuple[SourceItem, ...], Meta(max_length=MAX_SOURCES)] = ()
        reserved: int = 0
        out_of_stock_threshold: int = 0

    class Product(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
        sku: Annotated[str, Meta(min_length=1, max_length=MAX_SKU_LENGTH)]
        name: Annotated[str, Meta(max_length=MAX_NAME_LENGTH)] = ""
        type: ProductType = ProductType.SIMPLE
        enabled: bool = True
        visibility: Visibility = Visibility.CATALOG_SEARCH
        price: decimal.Decimal | None = None
        special_price: decimal.Decimal | None = None
        special_from: datetime.date | None = None
        special_to: datetime.date | None = None
        attributes: Annotated[
            dict[str, str | int | float | bool | list[str] | None],
            Meta(max_length=MAX_ATTRIBUTES),
        ] = {}
        categories: Annotated[tuple[str, ...], Meta(max_length=MAX_CATEGORIES)] = ()
        attribute_set: Annotated[str, Meta(max_length=MAX_NAME_LENGTH)] = "Default"
        images: Annotated[tuple[Image, ...], Meta(max_length=MAX_IMAGES)] = ()
        parent_sku: Annotated[str, Meta(max_length=MAX_SKU_LENGTH)] | None = None
        stock: Stock | None = None

    return Product


@attrs.frozen(kw_only=True)
class PlainImage:
    file: str
    position: int = 0
    disabled: bool = False
    roles: frozenset[str] = frozenset()
    label: str = ""


@attrs.frozen(kw_only=True)
class PlainSourceItem:
    code: str
    qty: int = 0
    in_stock: bool = True
    enabled: bool = True


@attrs.frozen(kw_only=True)
class PlainStock:
    qty: int = 0
    in_stock: bool = True
    manage_stock: bool = True
    sources: tuple[PlainSourceItem, ...] = ()
    reserved: int = 0
    out_of_stock_threshold: int = 0


@attrs.frozen(kw_only=True)
class PlainProduct:
    sku: str
    name: str = ""
    type: ProductType = ProductType.SIMPLE
    enabled: bool = True
    visibility: Visibility = Visibility.CATALOG_SEARCH
    price: decimal.Decimal | None = None
    special_price: decimal.Decimal | None = None
    special_from: datetime.date | None = None
    special_to: datetime.date | None = None
    attributes: dict[str, Any] = attrs.Factory(dict)
    categories: tuple[str, ...] = ()
    attribute_set: str = "Default"
    images: tuple[PlainImage, ...] = ()
    parent_sku: str | None = None
    stock: PlainStock | None = None


def cattrs_product() -> tuple[Any, type[PlainProduct]]:
    """A cattrs preconf JSON converter (unknown keys forbidden) and plain attrs classes."""
    from cattrs.preconf.json import make_converter

    converter: cattrs.Converter = make_converter(forbid_extra_keys=True)
    converter.register_structure_hook(decimal.Decimal, lambda value, _: decimal.Decimal(value))
    converter.register_structure_hook(
        datetime.date, lambda value, _: datetime.date.fromisoformat(value)
    )
    return converter, PlainProduct
