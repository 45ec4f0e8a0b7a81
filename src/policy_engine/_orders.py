"""Order policy, ``plan_order`` and ``plan_shipment`` (spec section 9).

:func:`plan_order` decides whether a channel order is created in the store and how: it checks every
skip rule in the spec's order (order creation off, already imported, status not eligible, missing
products, unavailable products, no customer email) and reports *all* the reasons that apply, or
plans the store order (its id, lines, customer, status, stock changes and placeholder products).
:func:`plan_shipment` turns a store shipment into what the channel is told (the channel's carrier
and, given the order's plan, the channel's SKUs of the shipped items).

SKU resolution goes through a :class:`SkuResolver`, which indexes the catalog by the alternate SKU
attribute once; a connector planning many orders builds it once and passes it to every call.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from policy_engine._allocation import SourceSelection, select_sources
from policy_engine._errors import PolicyConfigError, PolicyEngineError
from policy_engine._models import Product, Visibility, _to_money
from policy_engine._stamp import STAMP_FIELD, Stamp
from policy_engine._steps import Step, define_messages
from policy_engine._validation import (
    Checked,
    FrozenDict,
    Problem,
    at_least,
    check,
    describe,
    fast_constructor,
    in_range,
    is_bool,
    is_int,
    is_member,
    is_str,
    is_str_or_none,
    non_empty,
)

__all__ = [
    "ChannelOrder",
    "CustomerMode",
    "CustomerSettings",
    "MissingProduct",
    "OrderCustomer",
    "OrderLine",
    "OrderPlan",
    "OrderPolicy",
    "PlannedCustomer",
    "PlannedLine",
    "Shipment",
    "ShipmentError",
    "ShipmentLine",
    "ShipmentPlan",
    "SkuResolver",
    "plan_order",
    "plan_shipment",
]

#: The store status of an order whose channel status has no entry in ``status_mapping``.
DEFAULT_STORE_STATUS = "pending"
#: The longest ``order_id_prefix``.
MAX_PREFIX_LENGTH = 20


class MissingProduct(enum.StrEnum):
    """What to do when an order line's SKU is not in the store catalog ("If Product Not Exist")."""

    SKIP_ORDER = "skip_order"
    CREATE_PRODUCT = "create_product"


class CustomerMode(enum.StrEnum):
    """Which store customer an imported order belongs to.

    ``guest`` places a guest checkout, ``real`` a customer account found or created from the
    buyer's email, ``same`` one fixed store customer (the policy's email) for every order.
    """

    GUEST = "guest"
    REAL = "real"
    SAME = "same"


define_messages(
    {
        "order_creation_disabled": "the order policy does not create orders in the store",
        "already_imported": "order {0} was already imported: it is never created twice",
        "status_not_eligible": (
            "the channel status {0!r} does not create orders (statuses that do: {1})"
        ),
        "product_missing": "not found in the store catalog: {0}",
        "product_unavailable": "disabled or out of stock in the store: {0}",
        "customer_email_missing": (
            "the customer mode is 'real' but the order has no customer email"
        ),
        "order_created": "the order is created in the store as {0}",
        "product_placeholder": "placeholder products are created for: {0}",
        "product_unavailable_allowed": (
            "ordered although disabled or out of stock (the policy allows it): {0}"
        ),
        "status_unmapped": "the channel status {0!r} has no store status mapped: pending",
        "quantity_exceeds_stock": "{0}: {1} ordered, but only {2} in stock",
        "shipment_sku_mapped": "the store SKU {0!r} is sent as {1!r}",
        "carrier_mapped": "the store carrier {0!r} is sent as {1!r}",
        "carrier_mapped_ignoring_case": (
            "the store carrier {0!r} matches the mapped carrier {1!r} ignoring case: sent as {2!r}"
        ),
    }
)


# ------------------------------------------------------------------------------------- checks


def _is_money(value: Any) -> str | None:
    if isinstance(value, Decimal) and value.is_finite():
        return None
    return f"expected money (a finite decimal number), got {describe(value)}"


def _is_currency(value: Any) -> str | None:
    valid = type(value) is str and len(value) == 3 and value.isascii() and value.isalpha()
    if valid and value.isupper():
        return None
    return f"expected a 3-letter upper-case ISO 4217 currency code such as 'USD' (got {value!r})"


_CUSTOMER_MODES = {member.value: member for member in CustomerMode}
_MISSING_PRODUCTS = {member.value: member for member in MissingProduct}


def _to_customer_mode(value: Any) -> Any:
    """Convert a valid string to the member; leave anything else for the check to report."""
    return _CUSTOMER_MODES.get(value, value) if type(value) is str else value


def _to_missing_product(value: Any) -> Any:
    """Convert a valid string to the member; leave anything else for the check to report."""
    return _MISSING_PRODUCTS.get(value, value) if type(value) is str else value


def _to_source_selection(value: Any) -> Any:
    try:
        return SourceSelection(value) if type(value) is str else value
    except ValueError:
        return value


def _tuple(values: Any) -> Any:
    """Turn a list (or any iterable but a string or mapping) into a tuple; leave the rest."""
    if isinstance(values, tuple | str | Mapping) or not isinstance(values, Iterable):
        return values
    return tuple(values)


def _str_list(values: Any) -> str | None:
    if not isinstance(values, tuple):
        return f"expected a list of strings, got {describe(values)}"
    for value in values:
        if type(value) is not str or not value.strip():
            return f"expected a list of non-empty strings, got {describe(value)} in it"
    return None


def _items_of(cls: type, name: str) -> Callable[[Any], str | None]:
    def _check(values: Any) -> str | None:
        if not isinstance(values, tuple):
            return f"expected a list of {name}, got {describe(values)}"
        for value in values:
            if not isinstance(value, cls):
                return f"expected a list of {name}, got {describe(value)} in it"
        return None

    return _check


def _frozen_mapping(values: Any) -> Any:
    """Turn a mapping into a :class:`FrozenDict`; leave anything else for the check to report."""
    if type(values) is FrozenDict or not isinstance(values, Mapping):
        return values
    return FrozenDict(values)


def _name_mapping(what: str) -> Callable[[Any], str | None]:
    def _check(values: Any) -> str | None:
        if not isinstance(values, Mapping):
            return f"expected an object, got {describe(values)}"
        for key, value in values.items():
            if type(key) is not str or not key.strip():
                return f"{what} must be non-empty strings (got the key {key!r})"
            if type(value) is not str or not value.strip():
                return f"{what} must be non-empty strings (got {value!r} for {key!r})"
        return None

    return _check


_PREFIX = re.compile(r"[A-Za-z0-9_-]*")


def _valid_prefix(value: Any) -> str | None:
    if type(value) is not str:
        return f"expected a string, got {describe(value)}"
    if len(value) > MAX_PREFIX_LENGTH:
        return f"must be at most {MAX_PREFIX_LENGTH} characters (got {len(value)})"
    if _PREFIX.fullmatch(value) is None:
        return f"may only hold letters, digits, '-' and '_' (got {value!r})"
    return None


def _valid_email(value: Any) -> str | None:
    if value is None:
        return None
    local, at, domain = value.rpartition("@")
    if at and local and domain and not any(char.isspace() for char in value):
        return None
    return f"must be an email address (got {value!r})"


# ----------------------------------------------------------------------------------- results


@attrs.frozen(kw_only=True)
class PlannedLine:
    """One line of a planned store order.

    Attributes:
        channel_sku: The SKU the channel sold.
        store_sku: The store SKU the line is placed with (the channel SKU for a placeholder).
        qty: The quantity ordered.
        price: The unit price the channel charged.
        create_product: The product does not exist and is created as a placeholder first.
    """

    channel_sku: str
    store_sku: str
    qty: int
    price: Decimal
    create_product: bool


@attrs.frozen(kw_only=True)
class PlannedCustomer:
    """The store customer a planned order belongs to.

    Attributes:
        mode: Guest checkout, the buyer's own account, or one fixed account.
        email: The email to place the order with (for a guest, the buyer's email if the channel
            gave one, else ``None``; for ``real`` the buyer's; for ``same`` the policy's).
    """

    mode: CustomerMode
    email: str | None


@attrs.frozen(kw_only=True)
class OrderPlan:
    """What to do with a channel order in the store, and why.

    A skipped plan (``create`` false) carries every reason that applies, no store order id, no
    lines, no customer, no status, no stock changes and no placeholder products: there is nothing
    to act on. A created plan's reasons start with ``order_created``. Created and skipped plans
    alike carry the order's currency, shipping and tax amounts, as the channel gave them.

    Attributes:
        create: Create the order in the store.
        reasons: Why, in rule order (never empty); each a :class:`~policy_engine.Step`.
        store_order_id: The store order number (prefix + zero-padded sequence), or ``None``.
        lines: The store order's lines, in the channel order's line order.
        customer: The store customer, or ``None`` when skipped.
        store_status: The store status of the new order, or ``None`` when skipped.
        create_invoice: Invoice the new order.
        notify: Send the store's order notification email.
        apply_store_taxes: Compute taxes with the store's rules instead of the channel's amount.
        stock_changes: Store SKU → negative quantity: what the order takes from each existing
            product's stock, summed over its lines (placeholder products are not listed).
        placeholder_products: Products to create before the order (``missing_product`` is
            ``create_product``): one per missing SKU, disabled and not visible individually.
        currency: The order currency (``ChannelOrder.currency``).
        shipping_amount: The shipping the channel charged (``ChannelOrder.shipping_amount``).
        tax_amount: The tax the channel charged (``ChannelOrder.tax_amount``), also when
            ``apply_store_taxes`` has the store compute its own.
        source_deductions: With the policy's ``source_deductions``: store SKU → MSI source
            code → negative quantity, what the order takes from each source (empty otherwise).
        unsourced: With ``source_deductions``: store SKU → the ordered units no source holds
            (each also a ``source_shortfall`` reason).
        stamp: Which decision this is, and the configuration revision and engine version
            that took it (:class:`~policy_engine.Stamp`), or ``None`` (see
            :func:`~policy_engine.stamped`).
    """

    create: bool
    reasons: tuple[Step, ...]
    store_order_id: str | None
    lines: tuple[PlannedLine, ...]
    customer: PlannedCustomer | None
    store_status: str | None
    create_invoice: bool
    notify: bool
    apply_store_taxes: bool
    stock_changes: FrozenDict[str, int]
    placeholder_products: tuple[Product, ...]
    # Defaults so that a plan stored as JSON before these fields existed still loads.
    currency: str = "USD"
    shipping_amount: Decimal = Decimal(0)
    tax_amount: Decimal = Decimal(0)
    source_deductions: FrozenDict[str, FrozenDict[str, int]] = attrs.field(factory=FrozenDict)
    unsourced: FrozenDict[str, int] = attrs.field(factory=FrozenDict)
    stamp: Stamp | None = attrs.field(default=None, eq=False, metadata=STAMP_FIELD)


_line = fast_constructor(PlannedLine)
_customer = fast_constructor(PlannedCustomer)
_plan = fast_constructor(OrderPlan)
_NO_CHANGES: FrozenDict[str, int] = FrozenDict()
_NO_SOURCES: FrozenDict[str, FrozenDict[str, int]] = FrozenDict()
#: ``create_product`` of a planned line: a placeholder product, or an existing product.
_PLACEHOLDER = True
_EXISTING = False
_GUEST_WITHOUT_EMAIL = _customer(CustomerMode.GUEST, None)


# ------------------------------------------------------------------------------------ policy


@attrs.frozen(kw_only=True)
class CustomerSettings(Checked):
    """Which store customer imported orders belong to ("Customer Settings").

    Attributes:
        mode: ``guest`` (guest checkout), ``real`` (the buyer's account, by email) or ``same``
            (one store customer for every order).
        email: The store customer's email for mode ``same`` (required there; unused otherwise).
    """

    mode: CustomerMode = attrs.field(
        default=CustomerMode.GUEST,
        converter=_to_customer_mode,
        metadata=check(is_member(CustomerMode)),
    )
    email: str | None = attrs.field(default=None, metadata=check(is_str_or_none, _valid_email))

    def _cross_checks(self) -> list[Problem]:
        if self.mode is CustomerMode.SAME and self.email is None:
            return [("$.email", "required when the mode is 'same'")]
        return []


def _is_customer_settings(value: Any) -> str | None:
    if isinstance(value, CustomerSettings):
        return None
    return f"expected customer settings, got {describe(value)}"


@attrs.frozen(kw_only=True)
class OrderPolicy(Checked):
    """How channel orders are imported into the store (spec section 9).

    Attributes:
        title: The policy's name (non-empty).
        create_orders: Create channel orders in the store ("Create Order In Magento").
        import_statuses: The channel statuses at which an order is created ("Create Order When");
            must not be empty when ``create_orders`` is on. Compared exactly.
        alternate_sku_attribute: A product attribute holding the channel's SKU, looked up before
            the store SKU itself, or ``None``.
        missing_product: Skip the order, or create placeholder products, when a SKU is missing.
        allow_unavailable_products: Create orders for disabled or out-of-stock products.
        use_store_taxes: Compute taxes with the store's rules ("Use Magento Taxes").
        notify: Send the store's new-order email ("Allow Order Notification").
        create_invoice: Invoice the new order.
        sync_shipments: Send store shipments to the channel ("Shipment Creation").
        order_id_prefix: Prefix of the store order number: ASCII letters, digits, ``-`` and
            ``_``, at most 20 characters.
        order_id_digits: The sequence is zero-padded to this many digits (1-12); a longer
            sequence is never cut.
        carrier_mapping: Store carrier → channel carrier.
        customer: Which store customer the orders belong to.
        status_mapping: Channel status → store status; an unmapped status gives ``pending``.
        source_deductions: Also plan what the order takes from each MSI source
            (``OrderPlan.source_deductions``); off keeps the per-SKU ``stock_changes`` alone.
        source_selection: How the sources are chosen: ``priority`` (Magento's Source Priority
            algorithm, the default) or ``largest_first``.
        source_priority: Source codes in priority order (Magento's sources assigned to the
            stock, in order); sources not named follow in the order of the product's stock.
    """

    title: str = attrs.field(metadata=check(is_str, non_empty))
    create_orders: bool = attrs.field(default=True, metadata=check(is_bool))
    import_statuses: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple, metadata=check(_str_list)
    )
    alternate_sku_attribute: str | None = attrs.field(
        default=None, metadata=check(is_str_or_none, non_empty)
    )
    missing_product: MissingProduct = attrs.field(
        default=MissingProduct.SKIP_ORDER,
        converter=_to_missing_product,
        metadata=check(is_member(MissingProduct)),
    )
    allow_unavailable_products: bool = attrs.field(default=False, metadata=check(is_bool))
    use_store_taxes: bool = attrs.field(default=False, metadata=check(is_bool))
    notify: bool = attrs.field(default=False, metadata=check(is_bool))
    create_invoice: bool = attrs.field(default=False, metadata=check(is_bool))
    sync_shipments: bool = attrs.field(default=False, metadata=check(is_bool))
    order_id_prefix: str = attrs.field(default="", metadata=check(_valid_prefix))
    order_id_digits: int = attrs.field(default=6, metadata=check(is_int, in_range(1, 12)))
    carrier_mapping: FrozenDict[str, str] = attrs.field(
        factory=FrozenDict, converter=_frozen_mapping, metadata=check(_name_mapping("carriers"))
    )
    customer: CustomerSettings = attrs.field(
        factory=CustomerSettings, metadata=check(_is_customer_settings)
    )
    status_mapping: FrozenDict[str, str] = attrs.field(
        factory=FrozenDict, converter=_frozen_mapping, metadata=check(_name_mapping("statuses"))
    )
    source_deductions: bool = attrs.field(default=False, metadata=check(is_bool))
    source_selection: SourceSelection = attrs.field(
        default=SourceSelection.PRIORITY,
        converter=_to_source_selection,
        metadata=check(is_member(SourceSelection)),
    )
    source_priority: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple, metadata=check(_str_list)
    )

    # Computed once from the fields above after they are checked; not part of JSON or equality.
    _statuses: frozenset[str] = attrs.field(init=False, eq=False, repr=False)
    _status_names: str = attrs.field(init=False, eq=False, repr=False)
    _create_missing: bool = attrs.field(init=False, eq=False, repr=False)
    _same_customer: PlannedCustomer | None = attrs.field(init=False, eq=False, repr=False)
    _mapped_carriers: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)
    _folded_carriers: dict[str, str] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        setattr_ = object.__setattr__
        setattr_(self, "_statuses", frozenset(self.import_statuses))
        setattr_(self, "_status_names", ", ".join(self.import_statuses))
        setattr_(self, "_create_missing", self.missing_product is MissingProduct.CREATE_PRODUCT)
        settings = self.customer
        same = None
        if settings.mode is CustomerMode.SAME:
            same = _customer(CustomerMode.SAME, settings.email)
        setattr_(self, "_same_customer", same)
        setattr_(self, "_mapped_carriers", tuple(sorted(self.carrier_mapping)))
        folded: dict[str, str] = {}
        for carrier in self.carrier_mapping:
            folded.setdefault(carrier.strip().casefold(), carrier)
        setattr_(self, "_folded_carriers", folded)

    def _cross_checks(self) -> list[Problem]:
        if self.create_orders and not self.import_statuses:
            message = "must not be empty when create_orders is on (the statuses that create orders)"
            return [("$.import_statuses", message)]
        return []


# ------------------------------------------------------------------------------------ inputs


@attrs.frozen(kw_only=True)
class OrderCustomer(Checked):
    """The buyer of a channel order, as far as the channel tells.

    Attributes:
        email: The buyer's email, or ``None`` (channels often mask or withhold it). A blank email
            counts as none.
        first_name: The buyer's first name.
        last_name: The buyer's last name.
    """

    email: str | None = attrs.field(default=None, metadata=check(is_str_or_none))
    first_name: str = attrs.field(default="", metadata=check(is_str))
    last_name: str = attrs.field(default="", metadata=check(is_str))


@attrs.frozen(kw_only=True)
class OrderLine(Checked):
    """One line of a channel order.

    Attributes:
        sku: The SKU the channel sold (the store SKU, or the alternate SKU attribute's value).
        qty: The quantity ordered (>= 1).
        price: The unit price charged (money >= 0).
    """

    sku: str = attrs.field(metadata=check(is_str, non_empty))
    qty: int = attrs.field(metadata=check(is_int, at_least(1)))
    price: Decimal = attrs.field(converter=_to_money, metadata=check(_is_money, at_least(0)))


def _is_order_customer(value: Any) -> str | None:
    if value is None or isinstance(value, OrderCustomer):
        return None
    return f"expected an order customer or null, got {describe(value)}"


@attrs.frozen(kw_only=True)
class ChannelOrder(Checked):
    """An order placed on a channel, as the connector reads it.

    Attributes:
        id: The channel's order id.
        status: The channel's order status (``WAIT_SELLER_SEND_GOODS``, ``AWAITING_SHIPMENT``…).
        currency: The order currency (ISO 4217).
        customer: The buyer, or ``None`` when the channel gives nothing.
        lines: The ordered items (at least one).
        shipping_amount: The shipping charged (money >= 0).
        tax_amount: The tax charged by the channel (money >= 0).
    """

    id: str = attrs.field(metadata=check(is_str, non_empty))
    status: str = attrs.field(metadata=check(is_str, non_empty))
    currency: str = attrs.field(default="USD", metadata=check(_is_currency))
    customer: OrderCustomer | None = attrs.field(default=None, metadata=check(_is_order_customer))
    lines: tuple[OrderLine, ...] = attrs.field(
        converter=_tuple, metadata=check(_items_of(OrderLine, "order lines"), non_empty)
    )
    shipping_amount: Decimal = attrs.field(
        default=Decimal(0), converter=_to_money, metadata=check(_is_money, at_least(0))
    )
    tax_amount: Decimal = attrs.field(
        default=Decimal(0), converter=_to_money, metadata=check(_is_money, at_least(0))
    )


# --------------------------------------------------------------------------------- resolution


class SkuResolver:
    """Finds the store product for a channel SKU; index the catalog once, use it for every order.

    With an ``alternate_sku_attribute`` the constructor indexes the catalog by that attribute's
    values in one pass; :meth:`resolve` then looks the channel SKU up in that index first, then
    among the store SKUs (the catalog's keys). Without one, :meth:`resolve` is a plain catalog
    lookup. Matching is exact (case and spaces count).

    Attribute values that are strings (non-empty) are indexed as they are, integers as their
    decimal text (``4006381333931``); other values (null, booleans, decimals, lists) are not
    indexed. When several products share a value, the first in the catalog's order wins and the
    value is listed in :attr:`conflicts`.

    The resolver keeps a reference to the catalog: rebuild it when the catalog changes.

    Attributes:
        catalog: Store SKU → product.
        alternate_sku_attribute: The attribute indexed, or ``None``.
        conflicts: Alternate value → the store SKUs sharing it (the first one is used), for
            values more than one product holds.
    """

    __slots__ = ("_lookup", "alternate_sku_attribute", "catalog", "conflicts")

    catalog: Mapping[str, Product]
    alternate_sku_attribute: str | None
    conflicts: FrozenDict[str, tuple[str, ...]]

    def __init__(
        self, catalog: Mapping[str, Product], alternate_sku_attribute: str | None = None
    ) -> None:
        self.catalog = catalog
        self.alternate_sku_attribute = alternate_sku_attribute
        get = catalog.get
        if alternate_sku_attribute is None:
            self.conflicts = FrozenDict()
            self._lookup: Callable[[str], Product | None] = get
            return
        index: dict[str, Product] = {}
        conflicts: dict[str, list[str]] = {}
        for product in catalog.values():
            value = product.attributes.get(alternate_sku_attribute)
            kind = type(value)
            if kind is int:
                key = str(value)
            elif kind is str and value:
                key = value  # type: ignore[assignment]
            else:
                continue
            first = index.setdefault(key, product)
            if first is not product:
                conflicts.setdefault(key, [first.sku]).append(product.sku)
        self.conflicts = FrozenDict({key: tuple(skus) for key, skus in conflicts.items()})
        find = index.get

        def _lookup(channel_sku: str) -> Product | None:
            product = find(channel_sku)
            return get(channel_sku) if product is None else product

        self._lookup = _lookup

    def resolve(self, channel_sku: str) -> Product | None:
        """The store product for a channel SKU, or ``None`` when the catalog has none."""
        return self._lookup(channel_sku)

    def __reduce__(self) -> tuple[Any, ...]:
        return (SkuResolver, (self.catalog, self.alternate_sku_attribute))

    def __repr__(self) -> str:
        return (
            f"SkuResolver({len(self.catalog)} products,"
            f" alternate_sku_attribute={self.alternate_sku_attribute!r})"
        )


# ------------------------------------------------------------------------------- plan_order

_CREATION_DISABLED = Step(("order_creation_disabled",))
_EMAIL_MISSING = Step(("customer_email_missing",))


def _resolver_for(catalog: Mapping[str, Product] | SkuResolver, policy: OrderPolicy) -> SkuResolver:
    attribute = policy.alternate_sku_attribute
    if isinstance(catalog, SkuResolver):
        if catalog.alternate_sku_attribute != attribute:
            message = (
                f"the SKU resolver indexes {catalog.alternate_sku_attribute!r} but the order"
                f" policy's alternate SKU attribute is {attribute!r}"
            )
            raise PolicyConfigError([f"{message} @ $.alternate_sku_attribute"])
        return catalog
    return SkuResolver(catalog, attribute)


def _skipped(reasons: tuple[Step, ...], order: ChannelOrder) -> OrderPlan:
    """A skipped plan: the reasons, the order's amounts, and nothing to act on."""
    no = False
    return _plan(
        no,
        reasons,
        None,
        (),
        None,
        None,
        no,
        no,
        no,
        _NO_CHANGES,
        (),
        order.currency,
        order.shipping_amount,
        order.tax_amount,
        _NO_SOURCES,
        _NO_CHANGES,
    )


def _placeholder(sku: str, price: Decimal) -> Product:
    return Product(
        sku=sku,
        name=sku,
        enabled=False,
        visibility=Visibility.NOT_VISIBLE_INDIVIDUALLY,
        price=price,
    )


def plan_order(
    order: ChannelOrder,
    order_policy: OrderPolicy,
    catalog: Mapping[str, Product] | SkuResolver,
    *,
    sequence: int,
    imported: Collection[str] = (),
) -> OrderPlan:
    """Plan the store order for a channel order, or say every reason it is skipped.

    The rules, in order (spec section 9); every skip rule that applies is reported:

    1. ``create_orders`` off → ``order_creation_disabled``.
    2. ``order.id`` in ``imported`` → ``already_imported`` (importing twice is impossible).
    3. ``order.status`` not in ``import_statuses`` → ``status_not_eligible`` (not checked when
       the list is empty, which only a policy that creates no orders may have).
    4. Each line's SKU is resolved: the alternate SKU attribute first, then the store SKU. SKUs
       found nowhere → ``product_missing`` (naming them), unless ``missing_product`` is
       ``create_product``, which plans a placeholder product for each.
    5. Products that are disabled, or whose stock is managed and marked out of stock
       (``in_stock`` false) → ``product_unavailable`` (naming the store SKUs), unless
       ``allow_unavailable_products``.
    6. Customer mode ``real`` and no buyer email → ``customer_email_missing``.

    A created plan has the store order id ``order_id_prefix`` + ``sequence`` zero-padded to
    ``order_id_digits`` (never cut), the store status from ``status_mapping`` (``pending`` when
    unmapped) and ``stock_changes``: minus the ordered quantity per existing store SKU. Each
    store SKU ordered beyond its stock (the summed quantity of its lines above the ``qty`` of a
    managed stock) gets a ``quantity_exceeds_stock`` reason; it never skips the order. Every plan
    carries the order's ``currency``, ``shipping_amount`` and ``tax_amount``.

    Args:
        order: The channel order.
        order_policy: The account's order policy.
        catalog: Store SKU → product, or a :class:`SkuResolver` built for the policy's
            ``alternate_sku_attribute``. A plain mapping is indexed on every call: a connector
            planning many orders should build one resolver and pass it each time.
        sequence: The next store order number (an int >= 0); the caller advances its counter
            only when the plan creates the order.
        imported: Channel order ids already imported (a set is fastest).

    Raises:
        PolicyConfigError: ``sequence`` is not an int >= 0, or ``catalog`` is a resolver built
            for another alternate SKU attribute than the policy's.
        TypeError: ``imported`` is a bare string rather than a collection of order ids.

    >>> from decimal import Decimal
    >>> from policy_engine import ChannelOrder, OrderLine, OrderPolicy, Product, plan_order
    >>> policy = OrderPolicy(title="AliExpress", import_statuses=("WAIT_SELLER_SEND_GOODS",),
    ...                      order_id_prefix="ALIEXP-")
    >>> order = ChannelOrder(id="8123", status="WAIT_SELLER_SEND_GOODS",
    ...                      lines=(OrderLine(sku="MJ01", qty=2, price=Decimal("19.90")),))
    >>> plan = plan_order(order, policy, {"MJ01": Product(sku="MJ01")}, sequence=1)
    >>> plan.create, plan.store_order_id, dict(plan.stock_changes)
    (True, 'ALIEXP-000001', {'MJ01': -2})
    """
    policy = order_policy
    resolver = _resolver_for(catalog, policy)
    if type(sequence) is not int or sequence < 0:
        message = f"the order sequence must be an integer >= 0 (got {sequence!r})"
        raise PolicyConfigError([f"{message} @ $.sequence"])
    if isinstance(imported, str):
        # ``"1" in "12"`` is a substring test: a bare string would count order 1 as imported.
        raise TypeError(
            "imported must be a collection of channel order ids (a set, a list…),"
            f" not a string: got {imported!r}"
        )

    skips: list[Step] = []
    if not policy.create_orders:
        skips.append(_CREATION_DISABLED)
    order_id = order.id
    if order_id in imported:
        skips.append(Step(("already_imported", order_id)))
    status = order.status
    statuses = policy._statuses
    if statuses and status not in statuses:
        skips.append(Step(("status_not_eligible", status, policy._status_names)))

    lookup = resolver._lookup
    lines: list[PlannedLine] = []
    changes: dict[str, int] = {}
    missing: dict[str, Decimal] | None = None
    unavailable: dict[str, None] | None = None
    # Store SKU -> the qty of its managed stock, once the SKU's ordered total exceeds it.
    exceeded: dict[str, int] | None = None
    for line in order.lines:
        sku = line.sku
        product = lookup(sku)
        if product is None:
            if missing is None:
                missing = {sku: line.price}
            elif sku not in missing:
                missing[sku] = line.price
            lines.append(_line(sku, sku, line.qty, line.price, _PLACEHOLDER))
            continue
        store_sku = product.sku
        stock = product.stock
        qty = line.qty
        change = changes.get(store_sku, 0) - qty
        changes[store_sku] = change
        if stock is not None and stock.manage_stock:
            on_hand = stock.qty
            if change + on_hand < 0:  # the SKU's lines so far order more than its stock holds
                if exceeded is None:
                    exceeded = {store_sku: on_hand}
                else:
                    exceeded[store_sku] = on_hand
            available = stock.in_stock and product.enabled
        else:
            available = product.enabled
        if not available:
            if unavailable is None:
                unavailable = {store_sku: None}
            else:
                unavailable[store_sku] = None
        lines.append(_line(sku, store_sku, qty, line.price, _EXISTING))

    create_missing = policy._create_missing
    if missing is not None and not create_missing:
        skips.append(Step(("product_missing", ", ".join(missing))))
    allow_unavailable = policy.allow_unavailable_products
    if unavailable is not None and not allow_unavailable:
        skips.append(Step(("product_unavailable", ", ".join(unavailable))))

    mode = policy.customer.mode
    customer: PlannedCustomer | None
    if mode is CustomerMode.SAME:
        customer = policy._same_customer
    else:
        buyer = order.customer
        email = buyer.email if buyer is not None else None
        if email is not None and not email.strip():
            email = None
        if mode is CustomerMode.GUEST:
            customer = _GUEST_WITHOUT_EMAIL if email is None else _customer(mode, email)
        elif email is None:
            customer = None
            skips.append(_EMAIL_MISSING)
        else:
            customer = _customer(mode, email)

    if skips:
        return _skipped(tuple(skips), order)

    store_order_id = policy.order_id_prefix + str(sequence).zfill(policy.order_id_digits)
    reasons = [Step(("order_created", store_order_id))]
    placeholders: tuple[Product, ...] = ()
    if missing is not None:
        reasons.append(Step(("product_placeholder", ", ".join(missing))))
        placeholders = tuple(_placeholder(sku, price) for sku, price in missing.items())
    if unavailable is not None:
        reasons.append(Step(("product_unavailable_allowed", ", ".join(unavailable))))
    if exceeded is not None:
        for store_sku, change in changes.items():  # in the order of each SKU's first line
            in_stock = exceeded.get(store_sku)
            if in_stock is not None:
                reasons.append(Step(("quantity_exceeds_stock", store_sku, -change, in_stock)))
    store_status = policy.status_mapping.get(status)
    if store_status is None:
        store_status = DEFAULT_STORE_STATUS
        reasons.append(Step(("status_unmapped", status)))
    deductions, unsourced = _NO_SOURCES, _NO_CHANGES
    if policy.source_deductions and changes:
        deductions, unsourced = _source_deductions(policy, resolver, order, changes, reasons)
    created = True
    return _plan(
        created,
        tuple(reasons),
        store_order_id,
        tuple(lines),
        customer,
        store_status,
        policy.create_invoice,
        policy.notify,
        policy.use_store_taxes,
        FrozenDict(changes) if changes else _NO_CHANGES,
        placeholders,
        order.currency,
        order.shipping_amount,
        order.tax_amount,
        deductions,
        unsourced,
    )


def _source_deductions(
    policy: OrderPolicy,
    resolver: SkuResolver,
    order: ChannelOrder,
    changes: Mapping[str, int],
    reasons: list[Step],
) -> tuple[FrozenDict[str, FrozenDict[str, int]], FrozenDict[str, int]]:
    """What the order takes from each MSI source of each store SKU with a managed stock, and the
    units no source holds (each with a ``source_shortfall`` reason)."""
    stocks = {}
    for line in order.lines:
        product = resolver._lookup(line.sku)
        if product is not None and product.stock is not None and product.stock.manage_stock:
            stocks[product.sku] = product.stock
    deductions: dict[str, FrozenDict[str, int]] = {}
    missing: dict[str, int] = {}
    for store_sku, change in changes.items():  # in the order of each SKU's first line
        stock = stocks.get(store_sku)
        if stock is None:
            continue
        taken, left = select_sources(
            stock, -change, policy.source_selection, policy.source_priority
        )
        deductions[store_sku] = FrozenDict(taken)
        if left:
            missing[store_sku] = left
            reasons.append(Step(("source_shortfall", store_sku, left, -change - left)))
    return FrozenDict(deductions), FrozenDict(missing) if missing else _NO_CHANGES


# ---------------------------------------------------------------------------- plan_shipment


class ShipmentError(PolicyEngineError):
    """A store shipment cannot be sent to the channel: its carrier is not mapped.

    Attributes:
        carrier: The store carrier of the shipment.
        mapped: The store carriers the order policy maps, sorted.
    """

    carrier: str
    mapped: tuple[str, ...]

    def __init__(self, message: str, *, carrier: str, mapped: Iterable[str]) -> None:
        self.carrier = carrier
        self.mapped = tuple(mapped)
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_shipment_error, (str(self), self.carrier, self.mapped))


def _rebuild_shipment_error(message: str, carrier: str, mapped: tuple[str, ...]) -> ShipmentError:
    return ShipmentError(message, carrier=carrier, mapped=mapped)


@attrs.frozen(kw_only=True)
class ShipmentLine(Checked):
    """One shipped item.

    Attributes:
        sku: The SKU shipped.
        qty: The quantity shipped (>= 1).
    """

    sku: str = attrs.field(metadata=check(is_str, non_empty))
    qty: int = attrs.field(metadata=check(is_int, at_least(1)))


@attrs.frozen(kw_only=True)
class Shipment(Checked):
    """A shipment created in the store for an imported channel order.

    Attributes:
        order_id: The channel order id the shipment belongs to.
        carrier: The store carrier code or title (``ups``, ``Flat Rate``…).
        tracking_number: The tracking number.
        lines: The items shipped; empty means the whole order.
    """

    order_id: str = attrs.field(metadata=check(is_str, non_empty))
    carrier: str = attrs.field(metadata=check(is_str, non_empty))
    tracking_number: str = attrs.field(metadata=check(is_str, non_empty))
    lines: tuple[ShipmentLine, ...] = attrs.field(
        default=(), converter=_tuple, metadata=check(_items_of(ShipmentLine, "shipment lines"))
    )


@attrs.frozen(kw_only=True)
class ShipmentPlan:
    """What the channel is told about a store shipment.

    Attributes:
        order_id: The channel order id.
        channel_carrier: The channel's carrier, from the policy's ``carrier_mapping``.
        tracking_number: The tracking number.
        lines: The items shipped, under the channel's SKUs when the order plan was given (the
            shipment's own SKUs otherwise); empty means the whole order.
        steps: How the carrier was mapped, then each store SKU sent under another channel SKU.
    """

    order_id: str
    channel_carrier: str
    tracking_number: str
    lines: tuple[ShipmentLine, ...]
    steps: tuple[Step, ...]


_shipment_plan = fast_constructor(ShipmentPlan)
_SKIPPED_PLAN = "the order plan is skipped: it created no store order to ship @ $.plan"


def _channel_lines(
    lines: tuple[ShipmentLine, ...], plan: OrderPlan, steps: list[Step]
) -> tuple[ShipmentLine, ...]:
    """The shipped items under the channel's SKUs of the order plan's lines.

    A store SKU sold under several channel SKUs (lines of one product resolved once through the
    alternate SKU attribute, once by its store SKU) fills those lines in the plan's order, each
    up to its ordered quantity; the last one takes whatever is shipped beyond.
    """
    if not plan.create:
        raise PolicyConfigError([_SKIPPED_PLAN])
    if not lines:
        return lines
    unshipped: dict[str, list[list[Any]]] = {}  # store SKU -> [[channel SKU, quantity left]]
    for planned in plan.lines:
        unshipped.setdefault(planned.store_sku, []).append([planned.channel_sku, planned.qty])
    sent: list[ShipmentLine] = []
    for index, line in enumerate(lines):
        store_sku = line.sku
        entries = unshipped.get(store_sku)
        if entries is None:
            listed = ", ".join(repr(sku) for sku in unshipped)
            message = (
                f"the store SKU {store_sku!r} is not in the order plan (its store SKUs: {listed})"
            )
            raise PolicyConfigError([f"{message} @ $.lines[{index}].sku"])
        qty = line.qty
        while qty:
            entry = entries[0]
            channel_sku: str = entry[0]
            if len(entries) > 1 and entry[1] <= qty:
                taken: int = entry[1]
                del entries[0]
            else:
                taken = qty
                entry[1] -= qty
            qty -= taken
            if channel_sku == store_sku and taken == line.qty:
                sent.append(line)
                continue
            sent.append(ShipmentLine(sku=channel_sku, qty=taken))
            if channel_sku != store_sku:
                steps.append(Step(("shipment_sku_mapped", store_sku, channel_sku)))
    return tuple(sent)


def plan_shipment(
    shipment: Shipment, order_policy: OrderPolicy, *, plan: OrderPlan | None = None
) -> ShipmentPlan | None:
    """Map a store shipment to the channel's carrier, or ``None`` when shipments are not synced.

    The store carrier is looked up in ``carrier_mapping`` exactly first, then ignoring case and
    surrounding spaces (``UPS`` finds a mapping for ``ups``).

    With ``plan``, the created :class:`OrderPlan` of the order shipped, each shipped store SKU
    goes back under the channel SKU of the plan's line for it (a ``shipment_sku_mapped`` step
    says so when they differ): a product the channel sold under its alternate SKU is shipped
    under that SKU. Without it, the shipment's SKUs are sent as they are.

    Raises:
        ShipmentError: The carrier is not mapped; the error lists the mapped carriers.
        PolicyConfigError: ``plan`` is a skipped plan, or a shipped SKU is no store SKU of it.

    >>> from policy_engine import OrderPolicy, Shipment, plan_shipment
    >>> policy = OrderPolicy(title="T", create_orders=False, sync_shipments=True,
    ...                      carrier_mapping={"ups": "UPS"})
    >>> shipment = Shipment(order_id="8123", carrier="ups", tracking_number="1Z9")
    >>> plan_shipment(shipment, policy).channel_carrier
    'UPS'
    """
    policy = order_policy
    if not policy.sync_shipments:
        return None
    carrier = shipment.carrier
    mapping = policy.carrier_mapping
    channel_carrier = mapping.get(carrier)
    if channel_carrier is not None:
        step = Step(("carrier_mapped", carrier, channel_carrier))
    else:
        mapped_as = policy._folded_carriers.get(carrier.strip().casefold())
        if mapped_as is None:
            mapped = policy._mapped_carriers
            listed = ", ".join(repr(name) for name in mapped) if mapped else "none"
            message = (
                f"the store carrier {carrier!r} is not in the order policy's carrier mapping"
                f" (mapped carriers: {listed})"
            )
            raise ShipmentError(message, carrier=carrier, mapped=mapped)
        channel_carrier = mapping[mapped_as]
        step = Step(("carrier_mapped_ignoring_case", carrier, mapped_as, channel_carrier))
    lines = shipment.lines
    steps = [step]
    if plan is not None:
        lines = _channel_lines(lines, plan, steps)
    return _shipment_plan(
        shipment.order_id, channel_carrier, shipment.tracking_number, lines, tuple(steps)
    )
