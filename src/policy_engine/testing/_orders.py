"""Strategies for order planning: order policies, channel orders, catalogs and shipments."""

from __future__ import annotations

import attrs
from hypothesis import strategies as st

from policy_engine._models import Product
from policy_engine._orders import (
    ChannelOrder,
    CustomerMode,
    CustomerSettings,
    MissingProduct,
    OrderCustomer,
    OrderLine,
    OrderPolicy,
    Shipment,
    ShipmentLine,
)
from policy_engine._validation import FrozenDict
from policy_engine.testing._models import money, products
from policy_engine.testing._models import skus as store_skus

__all__ = [
    "CARRIERS",
    "ORDER_STATUSES",
    "catalogs",
    "channel_orders",
    "customer_settings",
    "order_customers",
    "order_lines",
    "order_policies",
    "shipment_lines",
    "shipments",
]

#: Channel order statuses the strategies draw from (AliExpress and TikTok Shop style).
ORDER_STATUSES = (
    "WAIT_SELLER_SEND_GOODS",
    "PLACE_ORDER_SUCCESS",
    "AWAITING_SHIPMENT",
    "IN_TRANSIT",
    "FINISH",
)
#: Store carriers the strategies draw from.
CARRIERS = ("ups", "usps", "fedex", "dhl", "flatrate")
_STORE_STATUSES = ("pending", "processing", "complete", "holded")
_CHANNEL_CARRIERS = ("UPS", "USPS", "FEDEX", "DHL", "CAINIAO")
_EMAILS = ("buyer@example.com", "orders@shop.test", "x@y.z")


def customer_settings(
    *, mode: CustomerMode | str | None = None
) -> st.SearchStrategy[CustomerSettings]:
    """Customer settings; mode ``same`` always has an email, the others sometimes do."""
    modes = st.sampled_from(CustomerMode) if mode is None else st.just(CustomerMode(mode))

    def _build(chosen: CustomerMode) -> st.SearchStrategy[CustomerSettings]:
        emails: st.SearchStrategy[str | None] = st.sampled_from(_EMAILS)
        if chosen is not CustomerMode.SAME:
            emails = st.none() | emails
        return st.builds(CustomerSettings, mode=st.just(chosen), email=emails)

    return modes.flatmap(_build)


_NOT_SET = object()


@st.composite
def order_policies(
    draw: st.DrawFn,
    *,
    create_orders: bool | None = None,
    missing_product: MissingProduct | str | None = None,
    allow_unavailable_products: bool | None = None,
    customer_mode: CustomerMode | str | None = None,
    alternate_sku_attribute: str | object | None = _NOT_SET,
    sync_shipments: bool | None = None,
    statuses: tuple[str, ...] = ORDER_STATUSES,
) -> OrderPolicy:
    """Order policies; each keyword pins one setting (``alternate_sku_attribute=None`` pins none).

    Import statuses, status mappings and carrier mappings are drawn from ``statuses``,
    :data:`ORDER_STATUSES` and :data:`CARRIERS`, so generated orders sometimes match them.
    """
    creating = draw(st.booleans()) if create_orders is None else create_orders
    import_statuses = draw(
        st.lists(st.sampled_from(statuses), min_size=1 if creating else 0, max_size=3, unique=True)
    )
    attribute = (
        draw(st.sampled_from((None, "ean", "channel_sku")))
        if alternate_sku_attribute is _NOT_SET
        else alternate_sku_attribute
    )
    return OrderPolicy(
        title=draw(st.sampled_from(("AliExpress orders", "TikTok orders", "Default"))),
        create_orders=creating,
        import_statuses=tuple(import_statuses),
        alternate_sku_attribute=attribute,  # type: ignore[arg-type]
        missing_product=(
            draw(st.sampled_from(MissingProduct))
            if missing_product is None
            else MissingProduct(missing_product)
        ),
        allow_unavailable_products=(
            draw(st.booleans())
            if allow_unavailable_products is None
            else allow_unavailable_products
        ),
        use_store_taxes=draw(st.booleans()),
        notify=draw(st.booleans()),
        create_invoice=draw(st.booleans()),
        sync_shipments=draw(st.booleans()) if sync_shipments is None else sync_shipments,
        order_id_prefix=draw(st.from_regex(r"[A-Za-z0-9_-]{0,20}", fullmatch=True)),
        order_id_digits=draw(st.integers(min_value=1, max_value=12)),
        carrier_mapping=draw(
            st.dictionaries(st.sampled_from(CARRIERS), st.sampled_from(_CHANNEL_CARRIERS))
        ),
        customer=draw(customer_settings(mode=customer_mode)),
        status_mapping=draw(
            st.dictionaries(st.sampled_from(ORDER_STATUSES), st.sampled_from(_STORE_STATUSES))
        ),
    )


def order_customers(*, email: bool | None = None) -> st.SearchStrategy[OrderCustomer]:
    """Buyers; ``email=True`` always has an email, ``False`` never (blank emails included)."""
    with_email = st.sampled_from(_EMAILS)
    without_email = st.sampled_from((None, "", "  "))
    emails = with_email | without_email
    if email is not None:
        emails = with_email if email else without_email
    return st.builds(
        OrderCustomer,
        email=emails,
        first_name=st.sampled_from(("", "Ana", "Li")),
        last_name=st.sampled_from(("", "Silva", "Wei")),
    )


def order_lines(*, skus: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[OrderLine]:
    """Order lines; pass ``skus`` to draw the SKUs from a catalog."""
    return st.builds(
        OrderLine,
        sku=store_skus() if skus is None else skus,
        qty=st.integers(min_value=1, max_value=20),
        price=money(min_value="0", max_value="9999.99"),
    )


@st.composite
def channel_orders(
    draw: st.DrawFn,
    *,
    skus: st.SearchStrategy[str] | None = None,
    statuses: tuple[str, ...] = ORDER_STATUSES,
    customer: bool | None = None,
    max_lines: int = 4,
) -> ChannelOrder:
    """Channel orders with 1 to ``max_lines`` lines; ``skus`` draws line SKUs from a catalog.

    ``customer=True`` always has a buyer, ``False`` never.
    """
    has_customer = draw(st.booleans()) if customer is None else customer
    return ChannelOrder(
        id=draw(st.from_regex(r"[0-9]{6,12}", fullmatch=True)),
        status=draw(st.sampled_from(statuses)),
        currency=draw(st.sampled_from(("USD", "EUR", "JPY"))),
        customer=draw(order_customers()) if has_customer else None,
        lines=tuple(draw(st.lists(order_lines(skus=skus), min_size=1, max_size=max_lines))),
        shipping_amount=draw(money(min_value="0", max_value="100")),
        tax_amount=draw(money(min_value="0", max_value="100")),
    )


@st.composite
def catalogs(draw: st.DrawFn, *, min_size: int = 0, max_size: int = 6) -> FrozenDict[str, Product]:
    """Store catalogs (store SKU → product); products often carry an ``ean`` attribute."""
    found = draw(
        st.lists(products(max_images=1), min_size=min_size, max_size=max_size, unique_by=_sku)
    )
    catalog = {}
    eans: st.SearchStrategy[str | int] = st.sampled_from(("4006381333931", 4006381333931, "EAN-1"))
    for product in found:
        with_ean = product
        if draw(st.booleans()):
            attributes = {**product.attributes, "ean": draw(eans)}
            with_ean = attrs.evolve(product, attributes=attributes)
        catalog[product.sku] = with_ean
    return FrozenDict(catalog)


def _sku(product: Product) -> str:
    return product.sku


def shipment_lines(
    *, skus: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[ShipmentLine]:
    """Shipped items."""
    return st.builds(
        ShipmentLine,
        sku=store_skus() if skus is None else skus,
        qty=st.integers(min_value=1, max_value=20),
    )


def shipments(*, carriers: tuple[str, ...] = CARRIERS) -> st.SearchStrategy[Shipment]:
    """Store shipments with carriers drawn from ``carriers`` (sometimes in another case)."""
    carrier = st.sampled_from(carriers).flatmap(
        lambda name: st.sampled_from((name, name.upper(), f" {name}"))
    )
    return st.builds(
        Shipment,
        order_id=st.from_regex(r"[0-9]{6,12}", fullmatch=True),
        carrier=carrier,
        tracking_number=st.from_regex(r"[A-Z0-9]{8,20}", fullmatch=True),
        lines=st.lists(shipment_lines(), max_size=3).map(tuple),
    )
