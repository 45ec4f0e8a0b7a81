"""Strategies for product families: configurable, grouped and bundle products with children."""

from __future__ import annotations

import attrs
from hypothesis import strategies as st

from policy_engine._families import (
    BundleOption,
    BundleSelection,
    FamilyKind,
    GroupedMode,
    ProductFamily,
)
from policy_engine._models import Product, ProductType, Stock
from policy_engine.testing._models import money, products, skus

__all__ = ["bundle_options", "bundle_selections", "families", "family_children"]

#: The variation attributes drawn, with the values a child may hold for each.
VARIATION_VALUES: dict[str, tuple[str, ...]] = {
    "size": ("XS", "S", "M", "L", "XL"),
    "color": ("Black", "Blue", "Gray", "Red"),
    "material": ("Cotton", "Wool"),
}
_CHILD_TYPES = (ProductType.SIMPLE, ProductType.VIRTUAL, ProductType.DOWNLOADABLE)


def bundle_selections(
    *, sku: st.SearchStrategy[str] | None = None, max_qty: int = 3
) -> st.SearchStrategy[BundleSelection]:
    """Bundle selections: a SKU (drawn from ``sku``), 1..``max_qty`` per bundle, default or not,
    with or without a price of its own."""
    return st.builds(
        BundleSelection,
        sku=skus() if sku is None else sku,
        qty=st.integers(min_value=1, max_value=max_qty),
        is_default=st.booleans(),
        price=st.none() | money(max_value="500"),
    )


@st.composite
def bundle_options(
    draw: st.DrawFn,
    *,
    skus: tuple[str, ...] | None = None,
    required: bool | None = None,
    max_selections: int = 3,
    max_qty: int = 3,
) -> BundleOption:
    """Bundle options with 1..``max_selections`` selections, each SKU once in an option.

    ``skus`` are the SKUs the selections are drawn from (default: any SKUs); ``required`` pins
    whether the option is required.
    """
    pool = st.sampled_from(skus) if skus else _any_sku()
    count = min(max_selections, len(skus)) if skus else max_selections
    selection_skus = draw(st.lists(pool, min_size=1, max_size=count, unique=True))
    selections = [
        draw(bundle_selections(sku=st.just(sku), max_qty=max_qty)) for sku in selection_skus
    ]
    return BundleOption(
        title=draw(st.sampled_from(("", "Ball", "Strap", "Foam Roller"))),
        required=draw(st.booleans()) if required is None else required,
        selections=tuple(selections),
    )


def _any_sku() -> st.SearchStrategy[str]:
    return skus()  # ``skus`` the parameter shadows ``skus`` the strategy in bundle_options


@st.composite
def family_children(
    draw: st.DrawFn,
    *,
    parent_sku: str,
    min_size: int = 0,
    max_size: int = 6,
    variation_attributes: tuple[str, ...] = (),
    missing_attributes: bool = True,
    enabled: bool | None = None,
    with_stock: bool | None = None,
    with_price: bool | None = None,
    max_qty: int = 100,
) -> tuple[Product, ...]:
    """The children of a family whose parent is ``parent_sku``: simple, virtual or downloadable
    products, each SKU once and none the parent's.

    With ``variation_attributes`` (codes of ``size``, ``color``, ``material``) each child holds
    values of them, no two children the same values; ``missing_attributes`` lets some child lack
    one (it is then excluded when evaluated). ``enabled``, ``with_stock`` and ``with_price`` pin
    the children's fields; ``max_qty`` bounds their stock.
    """
    codes = variation_attributes
    combos: list[tuple[str, ...]] = [()]
    for code in codes:
        combos = [(*combo, value) for combo in combos for value in VARIATION_VALUES[code]]
    limit = min(max_size, len(combos)) if codes else max_size
    child_skus = draw(
        st.lists(
            skus().filter(lambda sku: sku != parent_sku),
            min_size=min(min_size, limit),
            max_size=limit,
            unique=True,
        )
    )
    chosen = draw(st.permutations(combos))[: len(child_skus)] if codes else [()] * len(child_skus)
    stock = st.builds(
        Stock,
        qty=st.integers(min_value=-2, max_value=max_qty),
        in_stock=st.booleans(),
        manage_stock=st.sampled_from((True, True, True, False)),
    )
    children = []
    for sku, values in zip(child_skus, chosen, strict=True):
        child = draw(
            products(
                with_stock=with_stock,
                with_price=with_price,
                enabled=enabled,
                max_images=2,
                stock=stock,
            )
        )
        attributes = {k: v for k, v in child.attributes.items() if k not in VARIATION_VALUES}
        kept = [not (missing_attributes and draw(st.integers(0, 9)) == 0) for _ in codes]
        attributes.update(
            (code, value) for code, value, keep in zip(codes, values, kept, strict=True) if keep
        )
        children.append(
            attrs.evolve(
                child,
                sku=sku,
                type=draw(st.sampled_from(_CHILD_TYPES)),
                attributes=attributes,
                parent_sku=parent_sku if codes else None,
            )
        )
    return tuple(children)


_KINDS = {
    FamilyKind.CONFIGURABLE: ProductType.CONFIGURABLE,
    FamilyKind.GROUPED: ProductType.GROUPED,
    FamilyKind.BUNDLE: ProductType.BUNDLE,
}


@st.composite
def families(
    draw: st.DrawFn,
    kind: FamilyKind | str | None = None,
    *,
    min_children: int = 0,
    max_children: int = 6,
    enabled: bool | None = None,
    children_enabled: bool | None = None,
    with_stock: bool | None = None,
    with_price: bool | None = None,
    grouped_mode: GroupedMode | str | None = None,
    dynamic_price: bool | None = None,
    max_qty: int = 100,
) -> ProductFamily:
    """Product families, valid by construction.

    - ``kind``: ``configurable``, ``grouped`` or ``bundle`` (default: any).
    - ``min_children``/``max_children``: how many children (a bundle has at least one; a
      configurable at most as many as its variation values allow).
    - ``enabled``: pin the parent's status; ``children_enabled``, ``with_stock``,
      ``with_price``: pin the children's.
    - ``grouped_mode``: pin a grouped family's mode; ``dynamic_price``: a bundle's price type.
    - ``max_qty``: bound the children's stock quantities.

    A configurable family has 1-2 variation attributes and children with distinct values
    (an occasional child lacks one); a grouped family default quantities 0-3 for some
    children; a bundle 1-3 options over its children, at least one required.
    """
    family_kind = FamilyKind(draw(st.sampled_from(FamilyKind)) if kind is None else kind)
    parent = draw(products(enabled=enabled, max_images=2))
    parent = attrs.evolve(parent, type=_KINDS[family_kind], parent_sku=None)
    codes: tuple[str, ...] = ()
    if family_kind is FamilyKind.CONFIGURABLE:
        codes = tuple(
            draw(
                st.lists(
                    st.sampled_from(sorted(VARIATION_VALUES)), min_size=1, max_size=2, unique=True
                )
            )
        )
    children = draw(
        family_children(
            parent_sku=parent.sku,
            min_size=max(min_children, 1 if family_kind is FamilyKind.BUNDLE else 0),
            max_size=max(max_children, 1 if family_kind is FamilyKind.BUNDLE else 0),
            variation_attributes=codes,
            enabled=children_enabled,
            with_stock=with_stock,
            with_price=with_price,
            max_qty=max_qty,
        )
    )
    fields: dict[str, object] = {"parent": parent, "children": children}
    if family_kind is FamilyKind.CONFIGURABLE:
        fields["variation_attributes"] = codes
    elif family_kind is FamilyKind.GROUPED:
        names = [child.sku for child in children]
        named = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
        fields["default_quantities"] = {sku: draw(st.integers(0, 3)) for sku in named}
        fields["grouped_mode"] = GroupedMode(
            draw(st.sampled_from(GroupedMode)) if grouped_mode is None else grouped_mode
        )
    else:
        child_skus = tuple(child.sku for child in children)
        options = draw(st.lists(bundle_options(skus=child_skus), min_size=1, max_size=3))
        if not any(option.required for option in options):
            options[0] = attrs.evolve(options[0], required=True)
        fields["bundle_options"] = tuple(options)
        fields["dynamic_price"] = draw(st.booleans()) if dynamic_price is None else dynamic_price
    return ProductFamily(**fields)  # type: ignore[arg-type]
