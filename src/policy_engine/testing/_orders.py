"""Strategies for order planning: order policies, channel orders, catalogs and shipments."""

from __future__ import annotations

from decimal import Decimal

import attrs
from hypothesis import strategies as st

from policy_engine._models import AttributeValue, Product
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
from policy_engine.testing._models import money, products, stocks
from policy_engine.testing._models import skus as store_skus

__all__ = [
    "ALTERNATE_VALUES",
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
_PREFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_EMAILS = ("buyer@example.com", "orders@shop.test", "x@y.z")


@st.composite
def customer_settings(
    draw: st.DrawFn, *, mode: CustomerMode | str | None = None
) -> CustomerSettings:
    """Customer settings; mode ``same`` always has an email, the others sometimes do."""
    chosen = draw(st.sampled_from(CustomerMode)) if mode is None else CustomerMode(mode)
    email = draw(st.sampled_from(_EMAILS))
    if chosen is not CustomerMode.SAME and draw(st.booleans()):
        return CustomerSettings(mode=chosen)
    return CustomerSettings(mode=chosen, email=email)


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
        order_id_prefix=draw(st.text(alphabet=_PREFIX_ALPHABET, max_size=20)),
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


_order_ids = st.integers(min_value=100_000, max_value=10**12 - 1).map(str)
_TRACKING_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


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
        id=draw(_order_ids),
        status=draw(st.sampled_from(statuses)),
        currency=draw(st.sampled_from(("USD", "EUR", "JPY"))),
        customer=draw(order_customers()) if has_customer else None,
        lines=tuple(draw(st.lists(order_lines(skus=skus), min_size=1, max_size=max_lines))),
        shipping_amount=draw(money(min_value="0", max_value="100")),
        tax_amount=draw(money(min_value="0", max_value="100")),
    )


#: Values of the alternate SKU attributes (``ean``, ``channel_sku``) the catalogs draw from:
#: indexable text and integers, and values a resolver must ignore.
ALTERNATE_VALUES: tuple[AttributeValue, ...] = (
    "4006381333931",
    4006381333931,
    "EAN-1",
    "",
    True,
    Decimal("5"),
    ("EAN-1",),
    None,
)


@st.composite
def catalogs(
    draw: st.DrawFn, *, min_size: int = 0, max_size: int = 6, full_products: bool = False
) -> FrozenDict[str, Product]:
    """Store catalogs (store SKU → product) for order planning.

    Products carry what order planning reads: SKU, status, price, stock and, often, an ``ean`` or
    ``channel_sku`` attribute from :data:`ALTERNATE_VALUES` (so SKUs sometimes resolve through
    the alternate attribute, sometimes collide). ``full_products=True`` draws every field with
    :func:`products` instead (slower).
    """
    product_strategy = (
        products(max_images=1)
        if full_products
        else st.builds(
            Product,
            sku=store_skus(),
            enabled=st.booleans(),
            price=st.none() | money(),
            stock=st.none() | stocks(msi=False),
        )
    )
    found = draw(st.lists(product_strategy, min_size=min_size, max_size=max_size, unique_by=_sku))
    alternates = st.dictionaries(
        st.sampled_from(("ean", "channel_sku")), st.sampled_from(ALTERNATE_VALUES), max_size=2
    )
    catalog = {}
    for product in found:
        extra = draw(alternates)
        catalog[product.sku] = (
            attrs.evolve(product, attributes={**product.attributes, **extra}) if extra else product
        )
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


def shipments(
    *, carriers: tuple[str, ...] = CARRIERS, skus: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Shipment]:
    """Store shipments with carriers drawn from ``carriers`` (sometimes in another case).

    Pass ``skus`` to draw the shipped store SKUs from an order plan's lines (for
    ``plan_shipment(..., plan=...)``).
    """
    carrier = st.sampled_from(carriers).flatmap(
        lambda name: st.sampled_from((name, name.upper(), f" {name}"))
    )
    return st.builds(
        Shipment,
        order_id=_order_ids,
        carrier=carrier,
        tracking_number=st.text(alphabet=_TRACKING_ALPHABET, min_size=8, max_size=20),
        lines=st.lists(shipment_lines(skus=skus), max_size=3).map(tuple),
    )
