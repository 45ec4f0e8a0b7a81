"""Strategies for synchronization: policies, listings, product changes and listing templates."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from policy_engine._channels import BUILTIN_CHANNELS, SyncField
from policy_engine._conditions import Condition
from policy_engine._models import Product, Visibility
from policy_engine._sync import ChangeKind, Listing, ProductChange, SyncPolicy
from policy_engine._templates import ListingTemplate
from policy_engine.testing._conditions import conditions
from policy_engine.testing._models import money, skus

__all__ = [
    "CHANGED_CODES",
    "TEMPLATE_IDS",
    "listing_templates",
    "listings",
    "product_changes",
    "sync_policies",
    "sync_products",
]

#: Changed codes the strategies draw from: at least one for every sync field of the change map
#: (spec 7.1), and custom attributes that map to ``attributes``.
CHANGED_CODES = (
    "qty",
    "in_stock",
    "stock",
    "enabled",
    "price",
    "special_price",
    "special_from",
    "name",
    "description",
    "short_description",
    "images",
    "categories",
    "sku",
    "ean",
    "gtin",
    "weight",
    "color",
    "size",
    "material",
    "msrp",
)

#: Template ids used by :func:`listing_templates` and :func:`listings`.
TEMPLATE_IDS = ("t-apparel", "t-gear", "t-sale", "t-default")

#: Channel names drawn by :func:`sync_policies`: every built-in channel, a custom one, and none.
_CHANNELS: tuple[str | None, ...] = (*BUILTIN_CHANNELS, "my-shop", None)

_SWITCHES = (
    "product_upload",
    "product_update",
    "inventory_price_sync",
    "product_assign",
    "sync_not_visible_individually",
    "activity_log",
    "feed_log",
)

_UNSET: Any = object()


@st.composite
def sync_policies(
    draw: st.DrawFn,
    /,
    *,
    channel: str | None = _UNSET,
    observed: bool | None = None,
    restricted_fields: bool | None = None,
    **switches: bool,
) -> SyncPolicy:
    """Valid synchronization policies.

    ``channel`` pins the channel (a name or ``None``); ``observed=True`` always sets
    ``observed_attributes`` (``False`` never); ``restricted_fields=True`` always gives a ``fields``
    subset of the channel's fields; any boolean switch (``product_update=False``,
    ``inventory_price_sync=True``…) may be pinned by name. ``inventory_price_sync`` is drawn false
    whenever ``product_update`` is false, as the policy requires.
    """
    unknown = set(switches) - set(_SWITCHES)
    if unknown:
        msg = f"unknown switches {sorted(unknown)} (known: {', '.join(_SWITCHES)})"
        raise TypeError(msg)
    name = draw(st.sampled_from(_CHANNELS)) if channel is _UNSET else channel
    flags = {
        switch: switches[switch] if switch in switches else draw(st.booleans())
        for switch in _SWITCHES
    }
    if not flags["product_update"]:
        if switches.get("inventory_price_sync"):
            msg = "inventory_price_sync=True needs product_update=True"
            raise ValueError(msg)
        flags["inventory_price_sync"] = False
    builtin = BUILTIN_CHANNELS.get(name) if name is not None else None
    supported = sorted(builtin.fields if builtin is not None else SyncField)
    has_fields = draw(st.booleans()) if restricted_fields is None else restricted_fields
    fields = (
        frozenset(draw(st.lists(st.sampled_from(supported), min_size=1, unique=True)))
        if has_fields
        else None
    )
    has_observed = draw(st.booleans()) if observed is None else observed
    observed_attributes = (
        tuple(draw(st.lists(st.sampled_from(CHANGED_CODES), min_size=1, max_size=3, unique=True)))
        if has_observed
        else None
    )
    return SyncPolicy(
        title=draw(st.sampled_from(("Default", "AliExpress sync", "Stock only"))),
        channel=name,
        observed_attributes=observed_attributes,
        fields=fields,
        quantity_revise_threshold=draw(st.none() | st.integers(min_value=0, max_value=100)),
        **flags,
    )


@st.composite
def listings(
    draw: st.DrawFn,
    *,
    listed: bool | None = None,
    template: str | None = _UNSET,
    price_managed_externally: bool | None = None,
) -> Listing:
    """Channel listings; pin ``listed``, ``template`` (an id or ``None``) or the repricer flag."""
    return Listing(
        listed=draw(st.booleans()) if listed is None else listed,
        template=(
            draw(st.none() | st.sampled_from(TEMPLATE_IDS)) if template is _UNSET else template
        ),
        price_managed_externally=(
            draw(st.booleans()) if price_managed_externally is None else price_managed_externally
        ),
        auto_sync=draw(st.booleans()),
        last_quantity=draw(st.none() | st.integers(min_value=0, max_value=500)),
        last_price=draw(st.none() | money()),
    )


def sync_products() -> st.SearchStrategy[Product]:
    """Products varying in what sync decisions and template conditions read.

    SKU, visibility, price, attribute set, categories and ``color``/``size`` attributes vary; the
    rest keeps its default. Cheaper than :func:`~policy_engine.testing.products`.
    """
    return st.builds(
        Product,
        sku=skus(),
        visibility=st.sampled_from(Visibility),
        price=st.none() | money(max_value="500"),
        attribute_set=st.sampled_from(("Default", "Top", "Gear")),
        categories=st.lists(st.sampled_from(("Men/Tops", "Gear", "Sale")), max_size=2).map(tuple),
        attributes=st.fixed_dictionaries(
            {},
            optional={
                "color": st.sampled_from(("Red", "Blue", "Black")),
                "size": st.sampled_from(("S", "M", "L")),
            },
        ),
    )


@st.composite
def product_changes(
    draw: st.DrawFn,
    *,
    kind: ChangeKind | str | None = None,
    on_channel: bool | None = None,
    listing: st.SearchStrategy[Listing | None] | None = None,
    product: st.SearchStrategy[Product] | None = None,
    max_changed: int = 4,
) -> ProductChange:
    """Product changes.

    ``kind`` pins the change kind; ``on_channel=True`` always gives a listed listing, ``False``
    none or an unlisted one; ``listing`` and ``product`` replace the strategies used for them
    (by default :func:`sync_products`, which vary what a sync decision reads; pass
    ``product=products()`` to vary everything).
    """
    if listing is None:
        if on_channel is None:
            listing = st.none() | listings()
        elif on_channel:
            listing = listings(listed=True)
        else:
            listing = st.none() | listings(listed=False)
    return ProductChange(
        kind=draw(st.sampled_from(ChangeKind)) if kind is None else ChangeKind(kind),
        product=draw(sync_products() if product is None else product),
        changed=frozenset(
            draw(st.lists(st.sampled_from(CHANGED_CODES), max_size=max_changed, unique=True))
        ),
        listing=draw(listing),
    )


@st.composite
def listing_templates(
    draw: st.DrawFn,
    *,
    id: str | None = None,  # noqa: A002 - the field's name
    condition: bool | None = None,
    condition_strategy: st.SearchStrategy[Condition] | None = None,
) -> ListingTemplate:
    """Listing templates; ``condition=True`` always has a condition, ``False`` never.

    Conditions come from :func:`~policy_engine.testing.conditions`, or from
    ``condition_strategy`` (for instance a few fixed conditions, which are cheaper to draw).
    """
    has_condition = draw(st.booleans()) if condition is None else condition
    if has_condition:
        chosen: Condition | None = draw(
            conditions() if condition_strategy is None else condition_strategy
        )
    else:
        chosen = None
    return ListingTemplate(
        id=draw(st.sampled_from(TEMPLATE_IDS)) if id is None else id,
        title=draw(st.sampled_from(("Apparel", "Gear", "Sale", "Everything"))),
        condition=chosen,
        inventory_policy=draw(st.sampled_from(("default", "threshold"))),
        pricing_policy=draw(st.sampled_from(("default", "plus-10"))),
        image_policy=draw(st.sampled_from(("default",))),
    )
