"""Strategies for store inputs: products, images, stocks and their parts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from policy_engine._models import (
    AttributeValue,
    Image,
    Product,
    ProductType,
    SourceItem,
    Stock,
    Visibility,
)

__all__ = [
    "attribute_values",
    "images",
    "money",
    "products",
    "skus",
    "source_items",
    "stocks",
]

_CODE_ALPHABET = "abcdefghijklmnopqrstuvwxyz_"
SOURCE_CODES = ("default", "us_warehouse", "us_store", "eu_warehouse", "dropship")
ATTRIBUTE_CODES = ("color", "size", "material", "msrp", "marketplace_image", "ean", "brand")


def skus() -> st.SearchStrategy[str]:
    """Non-empty SKUs made of letters, digits and dashes."""
    return st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=16
    ).filter(lambda sku: sku.strip() != "")


def money(
    *, min_value: str | Decimal = "0.01", max_value: str | Decimal = "99999.99", places: int = 2
) -> st.SearchStrategy[Decimal]:
    """Money amounts with ``places`` decimal places in ``[min_value, max_value]``."""
    return st.decimals(
        min_value=Decimal(min_value),
        max_value=Decimal(max_value),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


def source_items(
    *, codes: tuple[str, ...] = SOURCE_CODES, max_qty: int = 1000
) -> st.SearchStrategy[SourceItem]:
    """MSI source items with codes drawn from ``codes`` (one in three of a disabled source)."""
    return st.builds(
        SourceItem,
        code=st.sampled_from(codes),
        qty=st.integers(min_value=-5, max_value=max_qty),
        in_stock=st.booleans(),
        enabled=st.sampled_from((True, True, False)),
    )


@st.composite
def stocks(
    draw: st.DrawFn,
    *,
    managed: bool | None = None,
    in_stock: bool | None = None,
    msi: bool | None = None,
    max_qty: int = 1000,
) -> Stock:
    """Stock records; pin ``managed``, ``in_stock`` or ``msi`` (has sources) to narrow them."""
    has_sources = draw(st.booleans()) if msi is None else msi
    sources: list[SourceItem] = []
    if has_sources:
        sources = draw(st.lists(source_items(max_qty=max_qty), min_size=1, max_size=4))
    return Stock(
        qty=draw(st.integers(min_value=-10, max_value=max_qty)),
        in_stock=draw(st.booleans()) if in_stock is None else in_stock,
        manage_stock=draw(st.booleans()) if managed is None else managed,
        sources=tuple(sources),
        reserved=draw(st.integers(min_value=-50, max_value=0)),
        out_of_stock_threshold=draw(st.integers(min_value=0, max_value=10)),
    )


def images(*, files: tuple[str, ...] | None = None) -> st.SearchStrategy[Image]:
    """Gallery images; with ``files`` the file names are drawn from that tuple."""
    file_strategy = (
        st.sampled_from(files)
        if files
        else st.from_regex(r"\A/[a-z]/[a-z]{1,8}\.(jpg|png)\Z", fullmatch=True)
    )
    return st.builds(
        Image,
        file=file_strategy,
        position=st.integers(min_value=0, max_value=10),
        disabled=st.booleans(),
        roles=st.frozensets(st.sampled_from(("image", "small_image", "thumbnail", "swatch_image"))),
        label=st.sampled_from(("", "Front", "Back")),
    )


def attribute_values() -> st.SearchStrategy[AttributeValue]:
    """Values a custom attribute may hold: text, integers, money, flags, lists of text, null."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-1000, max_value=100000),
        money(min_value="-100", max_value="10000"),
        st.text(max_size=12),
        st.sampled_from(("Red", "Blue", "Black", "59.00", "0", "/m/a/img.jpg")),
        st.lists(st.text(max_size=6), max_size=3).map(tuple),
    )


_CATEGORIES = ("Men", "Men/Tops", "Men/Tops/Jackets", "Women/Bottoms", "Gear/Bags", "Sale")


@st.composite
def products(
    draw: st.DrawFn,
    *,
    with_stock: bool | None = None,
    with_price: bool | None = None,
    enabled: bool | None = None,
    max_images: int = 8,
    stock: st.SearchStrategy[Stock] | None = None,
) -> Product:
    """Products; pin ``with_stock``, ``with_price`` or ``enabled`` to narrow them."""
    has_stock = draw(st.booleans()) if with_stock is None else with_stock
    has_price = draw(st.booleans()) if with_price is None else with_price
    special_from: date | None = draw(st.none() | st.dates(date(2020, 1, 1), date(2030, 12, 31)))
    special_to: date | None = draw(st.none() | st.dates(date(2020, 1, 1), date(2030, 12, 31)))
    attributes: dict[str, Any] = draw(
        st.dictionaries(st.sampled_from(ATTRIBUTE_CODES), attribute_values(), max_size=4)
    )
    return Product(
        sku=draw(skus()),
        name=draw(st.sampled_from(("", "Shirt", "Blue shirt", "Jacket", "Bag"))),
        type=draw(st.sampled_from(ProductType)),
        enabled=draw(st.booleans()) if enabled is None else enabled,
        visibility=draw(st.sampled_from(Visibility)),
        price=draw(money()) if has_price else None,
        special_price=draw(st.none() | money()),
        special_from=special_from,
        special_to=special_to,
        attributes=attributes,
        categories=tuple(draw(st.lists(st.sampled_from(_CATEGORIES), max_size=3, unique=True))),
        attribute_set=draw(st.sampled_from(("Default", "Top", "Bottom", "Gear"))),
        images=tuple(draw(st.lists(images(), max_size=max_images))),
        parent_sku=draw(st.none() | skus()),
        stock=draw(stock if stock is not None else stocks()) if has_stock else None,
    )
