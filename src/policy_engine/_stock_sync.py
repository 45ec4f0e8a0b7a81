"""Stock events and Auto Sync: which quantity every channel listing gets (spec section 10).

The store is the master of inventory. When a product's stock changes in the store — a sale, a
purchase order, a manual adjustment, an order imported from a marketplace — :func:`plan_stock_sync`
decides, for every channel listing of the product, whether the new quantity is pushed and which
quantity that is. The rules for one listing, in order: not listed, Auto Sync off, no listing
template, Inventory/Price Sync off for the account, the template's inventory policy through
:func:`~policy_engine.compute_quantity`, unchanged, above the revise threshold. The plan carries one
history record: the product's "Sync History" entry for the event.

:func:`apply_stock_changes` applies an order plan's ``stock_changes`` to the store's stock, which
closes the two-way loop: an order from one channel lowers the store stock, and the stock event that
follows updates every channel, the ordering one included.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs

from policy_engine._allocation import event_quantities
from policy_engine._channels import BUILTIN_CHANNELS, SyncField, ZeroQuantity
from policy_engine._config import Account, Configuration
from policy_engine._inventory import QuantityResult, QuantityRule, compute_quantity
from policy_engine._lifecycle import (
    ZERO_STEPS,
    ListingStatus,
    effective_status,
    is_status_or_none,
    listed_problems,
    listing_state,
    settle_listed,
    shown_quantity,
    stop_step,
    to_status,
    unmet,
)
from policy_engine._limits import MAX_INTEGER
from policy_engine._listing import DISABLED
from policy_engine._models import Product, Stock
from policy_engine._serialization import LOAD, OMIT_NONE, fail
from policy_engine._stamp import STAMP_FIELD, Stamp
from policy_engine._steps import Step, define_messages
from policy_engine._sync import SyncAction, SyncPolicy
from policy_engine._validation import (
    Checked,
    Checker,
    FrozenDict,
    Problem,
    at_least,
    check,
    describe,
    fast_constructor,
    is_bool,
    is_int_or_none,
    is_str,
    is_str_or_none,
    key_path,
    non_empty,
    raise_problems,
    shown,
)

__all__ = [
    "ChannelListing",
    "StockEvent",
    "StockEventSource",
    "StockSkip",
    "StockStop",
    "StockSyncPlan",
    "StockUpdate",
    "SyncHistoryRecord",
    "apply_stock_changes",
    "plan_stock_sync",
]


class StockEventSource(enum.StrEnum):
    """What changed the store stock."""

    SALES_ORDER = "sales_order"
    PURCHASE_ORDER = "purchase_order"
    WORK_ORDER = "work_order"
    MANUAL_ADJUSTMENT = "manual_adjustment"
    FILE_UPLOAD = "file_upload"
    INVENTORY_FEED = "inventory_feed"
    CHANNEL_ORDER = "channel_order"


# ``not_listed`` and ``inventory_price_sync_disabled`` are shared with decide_sync (spec 7.4),
# which registers their messages.
define_messages(
    {
        "auto_sync_off": "Auto Sync is off for this listing: store stock changes are not pushed",
        "no_template": (
            "no listing template gives this listing an inventory policy"
            " (the listing's template: {0})"
        ),
        "unchanged": "the channel already shows {0}: nothing to send",
        "above_revise_threshold": (
            "the last quantity {0} and the new quantity {1} are both above the revise"
            " threshold {2}: not revised"
        ),
    }
)

_NOT_LISTED = Step(("not_listed",))
_AUTO_SYNC_OFF = Step(("auto_sync_off",))
_NO_TEMPLATE = Step(("no_template", None))
_SYNC_DISABLED = Step(("inventory_price_sync_disabled", "quantity"))
_QUANTITY = SyncField.QUANTITY


# ------------------------------------------------------------------------------ field checks


_TIMEZONE_MESSAGE = "must include a time zone offset (e.g. 2024-05-01T09:30:00+00:00)"


def is_aware_datetime(value: Any) -> str | None:
    """Check: a date-time with a time zone offset (a naive one cannot be ordered safely)."""
    if not isinstance(value, datetime):
        return f"expected a date-time, got {describe(value)}"
    return None if value.utcoffset() is not None else _TIMEZONE_MESSAGE


def load_aware_datetime(value: object, _: object = None) -> datetime:
    """Load an ISO 8601 date-time string that carries a time zone offset (``Z`` or ``+02:00``)."""
    if isinstance(value, datetime):
        loaded = value
    elif type(value) is not str:
        fail(f"expected an ISO date-time, got {describe(value)}")
    else:
        try:
            loaded = datetime.fromisoformat(value)
        except ValueError:
            fail(f"expected an ISO date-time (YYYY-MM-DDTHH:MM:SS+HH:MM), got {value!r}")
    if loaded.utcoffset() is None:
        fail(_TIMEZONE_MESSAGE)
    return loaded


_SOURCES = {member.value: member for member in StockEventSource}


def _to_source(value: Any) -> Any:
    """Convert a source's name to the member; leave anything else for the check to report."""
    return _SOURCES.get(value, value) if type(value) is str else value


def _is_source(value: Any) -> str | None:
    if isinstance(value, StockEventSource):
        return None
    allowed = ", ".join(repr(member.value) for member in StockEventSource)
    return f"must be one of {allowed} (got {value!r})"


def _is_stock(value: Any) -> str | None:
    return None if isinstance(value, Stock) else f"expected a stock record, got {describe(value)}"


# ------------------------------------------------------------------------------------ inputs


@attrs.frozen(kw_only=True)
class StockEvent(Checked):
    """A change of a product's stock in the store.

    Attributes:
        sku: The store SKU whose stock changed (non-empty).
        source: What changed it (a sale, a purchase order, an imported channel order…).
        origin_account: The account an order came from (``channel_order``), or ``None``. It is
            recorded in the history; the ordering account is updated like every other.
        stock: The product's stock record after the change.
        at: When the stock changed, with a time zone offset (``2024-05-01T09:30:00+00:00``). The
            caller gives it: the library reads no clock.
        enabled: Whether the product is enabled in the store (Magento status). A disabled
            product lists 0 on every listing, as :func:`~policy_engine.evaluate_listing` gives
            it (rule ``product_disabled``), whatever its stock.
        parent_sku: The SKU of the product family the product belongs to (a configurable's
            child), or ``None``. The family's listings then get the new quantity as an update
            of this product's variant.
    """

    sku: str = attrs.field(metadata=check(is_str, non_empty))
    source: StockEventSource = attrs.field(converter=_to_source, metadata=check(_is_source))
    origin_account: str | None = attrs.field(
        default=None, metadata=check(is_str_or_none, non_empty)
    )
    stock: Stock = attrs.field(metadata=check(_is_stock))
    at: datetime = attrs.field(metadata={LOAD: load_aware_datetime, **check(is_aware_datetime)})
    enabled: bool = attrs.field(default=True, metadata=check(is_bool))
    parent_sku: str | None = attrs.field(default=None, metadata=check(is_str_or_none, non_empty))


@attrs.frozen(kw_only=True)
class ChannelListing(Checked):
    """A product's listing on one marketplace account, as the connector stores it.

    Attributes:
        account: The account's id in the configuration.
        sku: The store SKU of the listed product.
        listed: Whether the listing is live on the channel.
        template: The id of the listing template the product is assigned to, or ``None``.
        auto_sync: Whether store stock changes are pushed to this listing ("Auto Sync").
        last_quantity: The quantity last sent to the channel, or ``None`` when unknown.
        price_managed_externally: A repricer owns the listing's price (stock sync sends
            quantities only; a lifecycle rule's condition may read it).
        status: The listing's lifecycle status, or ``None`` (the default): ``active`` when
            ``listed``, else not on the channel. With a status, ``listed`` follows it.
    """

    account: str = attrs.field(metadata=check(is_str, non_empty))
    sku: str = attrs.field(metadata=check(is_str, non_empty))
    listed: bool = attrs.field(default=True, metadata=check(is_bool))
    template: str | None = attrs.field(default=None, metadata=check(is_str_or_none, non_empty))
    auto_sync: bool = attrs.field(default=True, metadata=check(is_bool))
    last_quantity: int | None = attrs.field(
        default=None, metadata=check(is_int_or_none, at_least(0))
    )
    price_managed_externally: bool = attrs.field(default=False, metadata=check(is_bool))
    status: ListingStatus | None = attrs.field(
        default=None, converter=to_status, metadata=check(is_status_or_none)
    )

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        settle_listed(self)

    def _cross_checks(self) -> list[Problem]:
        return listed_problems(self)


# ----------------------------------------------------------------------------------- results


@attrs.frozen(kw_only=True)
class StockUpdate:
    """A quantity to send to one listing.

    Attributes:
        account: The account's id.
        sku: The store SKU.
        quantity: The quantity to send (an int >= 0).
        rule: The inventory rule that decided it (``stock``, ``above_threshold``…).
        variant_of: The SKU of the family listing whose variant ``sku`` is (the event's
            ``parent_sku``), or ``None`` for a listing of the product itself.
        action: ``update_price_inventory`` (a quantity update, the default) or ``relist`` (a
            stopped or ended listing is relisted with this quantity).
        next_status: ``active`` for a relist, else ``None``.
    """

    account: str
    sku: str
    quantity: int
    rule: QuantityRule
    variant_of: str | None = None
    action: SyncAction = SyncAction.UPDATE_PRICE_INVENTORY
    next_status: ListingStatus | None = None


@attrs.frozen(kw_only=True)
class StockStop:
    """A listing that the event stops: nothing is sent, the listing is deactivated or ended.

    Attributes:
        account: The account's id.
        sku: The store SKU.
        reason: The stop rule or the channel's zero rule that stopped it (``stop_out_of_stock``,
            ``zero_refused``, ``zero_ends_offer``…).
        next_status: ``inactive``, or ``ended`` on a channel where 0 ends the offer.
    """

    account: str
    sku: str
    reason: Step
    next_status: ListingStatus


@attrs.frozen(kw_only=True)
class StockSkip:
    """A listing that gets nothing from this event, and why.

    Attributes:
        account: The account's id.
        sku: The store SKU.
        reason: Why (``not_listed``, ``auto_sync_off``, ``no_template``,
            ``inventory_price_sync_disabled``, ``unchanged`` or ``above_revise_threshold``).
    """

    account: str
    sku: str
    reason: Step


def _frozen(values: Any) -> Any:
    """A mapping as a read-only ``FrozenDict``; leave anything else for the check to report."""
    if type(values) is FrozenDict or not isinstance(values, Mapping):
        return values
    return FrozenDict(values)


def _by_account(what: str, rule: str, bad: Callable[[Any], bool]) -> Checker:
    """Check: an object of account id -> ``what``, each value following ``rule`` (``bad``
    says when it does not)."""

    def _check(values: Any) -> str | None:
        if not isinstance(values, Mapping):
            return f"expected an object of account id -> {what}, got {describe(values)}"
        for key, value in values.items():
            if type(key) is not str or not key.strip():
                return f"account ids must be non-empty strings (got the key {shown(key)})"
            if bad(value):
                return (
                    f"expected account id -> {what}, {rule} (got {shown(value)} for {shown(key)})"
                )
        return None

    return _check


_is_sent = _by_account(
    "quantity sent",
    f"an integer between 0 and {MAX_INTEGER}",
    lambda value: type(value) is not int or not 0 <= value <= MAX_INTEGER,
)
_is_skipped = _by_account(
    "reason code",
    "a non-empty string",
    lambda value: type(value) is not str or not value.strip(),
)


@attrs.frozen(kw_only=True)
class SyncHistoryRecord(Checked):
    """One entry of a product's "Sync History": what a stock event sent where.

    Built in Python, it is checked and converted as loading does: ``source`` may be given by
    name and ``sent`` / ``skipped`` as plain mappings (kept read-only, as ``FrozenDict``).

    Attributes:
        sku: The store SKU.
        source: What changed the stock.
        at: When (the event's time).
        origin_account: The account an order came from, or ``None``.
        sent: Account id → the quantity sent to it.
        skipped: Account id → the reason code of a listing that got nothing.
        stamp: Which decision this is, and the configuration revision and engine version
            that took it (:class:`~policy_engine.Stamp`), or ``None`` (see
            :func:`~policy_engine.stamped`).
        event: The stock event, when the host logged its input (for a replay), else ``None``.
        listings: The listings the event was planned for, when the host logged its input.
    """

    sku: str = attrs.field(metadata=check(is_str, non_empty))
    source: StockEventSource = attrs.field(converter=_to_source, metadata=check(_is_source))
    at: datetime = attrs.field(metadata={LOAD: load_aware_datetime, **check(is_aware_datetime)})
    origin_account: str | None = attrs.field(metadata=check(is_str_or_none, non_empty))
    sent: FrozenDict[str, int] = attrs.field(converter=_frozen, metadata=check(_is_sent))
    skipped: FrozenDict[str, str] = attrs.field(converter=_frozen, metadata=check(_is_skipped))
    stamp: Stamp | None = attrs.field(default=None, metadata=STAMP_FIELD)
    event: StockEvent | None = attrs.field(default=None, metadata={OMIT_NONE: True})
    listings: tuple[ChannelListing, ...] | None = attrs.field(
        default=None, metadata={OMIT_NONE: True}
    )


@attrs.frozen(kw_only=True)
class StockSyncPlan:
    """What a stock event sends to the channels.

    Attributes:
        updates: The quantities to send, in the order of the listings given (relists
            included, with ``action`` ``relist``).
        skipped: The listings of the SKU that get nothing, each with its reason.
        history: The event's history record (one per event, even when nothing is sent). A
            stopped listing is among its ``skipped`` accounts, with the stop's reason code.
        stops: The listings the event stops (lifecycle rules, docs/lifecycle.md).
        history: The event's history record (one per event, even when nothing is sent).
        stamp: Which decision this is, and the configuration revision and engine version
            that took it (:class:`~policy_engine.Stamp`), or ``None`` (see
            :func:`~policy_engine.stamped`).
    """

    updates: tuple[StockUpdate, ...]
    skipped: tuple[StockSkip, ...]
    history: SyncHistoryRecord
    stops: tuple[StockStop, ...] = ()
    stamp: Stamp | None = attrs.field(default=None, eq=False, metadata=STAMP_FIELD)


_update = fast_constructor(StockUpdate)
_skip = fast_constructor(StockSkip)
_stop = fast_constructor(StockStop)
_history = fast_constructor(SyncHistoryRecord)
_plan = fast_constructor(StockSyncPlan)


# ---------------------------------------------------------------------------------- planning


#: What depends on the account alone: the step that blocks quantity sync (or ``None``) and the
#: sync policy's ``quantity_revise_threshold``.
_AccountRules = tuple["Step | None", "int | None"]


def _account_rules(config: Configuration, account: Account) -> _AccountRules:
    """An account's rules: whether its sync policy sends quantities to its channel, and the
    revise threshold."""
    policy = config.sync_policies[account.sync_policy]
    if policy.inventory_price_sync:
        # The channel's fields as Configuration.channel_profile gives them (the configuration's
        # own definitions first), without building a profile on every call.
        definition = config.channels.get(account.channel)
        fields = (
            definition.fields
            if definition is not None
            else BUILTIN_CHANNELS[account.channel].fields
        )
        if _QUANTITY in policy._enabled_for(fields).all:
            return (None, policy.quantity_revise_threshold)
    return (_SYNC_DISABLED, policy.quantity_revise_threshold)


def _template_quantity(
    config: Configuration, template_id: str, stock: Stock, enabled: bool
) -> QuantityResult | Step:
    """The quantity a template's inventory policy gives the stock, or the ``no_template`` step.

    The template rule is :func:`~policy_engine.evaluate_listing`'s for a stored template; a
    disabled product lists 0.
    """
    template = config.template(template_id)
    if template is None:
        return Step(("no_template", template_id))
    if not enabled:
        return DISABLED
    return compute_quantity(stock, config.inventory_policies[template.inventory_policy])


#: An account's lifecycle settings: its sync policy, its channel's zero rule and name, and
#: whether any of it differs from "send every quantity" (then the rules are evaluated).
_Lifecycle = tuple[SyncPolicy, ZeroQuantity, str, bool]
_UPDATE = SyncAction.UPDATE_PRICE_INVENTORY
_RELIST = SyncAction.RELIST
_ACTIVE = ListingStatus.ACTIVE


def _account_lifecycle(config: Configuration, account: Account) -> _Lifecycle:
    policy = config.sync_policies[account.sync_policy]
    definition = config.channels.get(account.channel)
    zero = (
        definition.zero_quantity
        if definition is not None
        else BUILTIN_CHANNELS[account.channel].zero_quantity
    )
    return (policy, zero, account.channel, policy._lifecycle or zero is not ZeroQuantity.SEND)


def _stock_lifecycle(
    life: _Lifecycle, listing: ChannelListing, event: StockEvent, quantity: int
) -> tuple[str, Any, ListingStatus | None]:
    """The lifecycle rules for one listing and a new listed quantity (docs/lifecycle.md):
    ``("stop", step, next_status)``, ``("relist", quantity, active)``, ``("skip", step, None)``
    or ``("update", quantity, None)`` (the quantity to send, at least the minimum shown)."""
    policy, zero, channel, _ = life
    status = effective_status(listing)
    enabled = event.enabled
    shown = shown_quantity(quantity, policy.minimum_shown_quantity)
    refuses_zero = shown == 0 and zero is not ZeroQuantity.SEND
    # A rule's condition sees the listing state and the product values the event carries:
    # sku, enabled, the stock. Without a condition neither is built.
    state: Any = None
    product: Any = None
    if policy._conditions:
        state = listing_state(listing, status, channel)
        product = Product(sku=event.sku, enabled=enabled, stock=event.stock)
    if status is _ACTIVE:
        step = stop_step(policy.stop_rules, enabled, quantity, product, state)
        next_status = ListingStatus.ENDED if zero is ZeroQuantity.END else ListingStatus.INACTIVE
        if step is None and refuses_zero:
            code, next_status = ZERO_STEPS[zero]
            step = Step((code, channel))
        if step is not None:
            return ("stop", step, next_status)
        return ("update", shown, None)
    if status is None:  # pragma: no cover - reported as not_listed before the rules run
        return ("skip", _NOT_LISTED, None)
    relist = policy.relist_rules
    if status is ListingStatus.USER_STOPPED and not relist.user_stopped:
        return ("skip", Step(("user_stopped",)), None)
    if not relist.automatic:
        return ("skip", Step(("relist_disabled",)), None)
    problem = unmet(relist, enabled, quantity, product, state)
    if problem is not None:
        return ("skip", Step(("relist_not_met", status.value, problem)), None)
    if refuses_zero:
        return ("skip", Step(("zero_not_listed", channel)), None)
    return ("relist", shown, _ACTIVE)


def plan_stock_sync(
    event: StockEvent, listings: Iterable[ChannelListing], config: Configuration
) -> StockSyncPlan:
    """Plan which quantity each channel listing of a product gets after a store stock change.

    Listings of other SKUs than ``event.sku`` are ignored, so a connector may pass every listing
    it holds; with ``event.parent_sku``, the listings of that product family count too, and
    their updates are variant updates (``variant_of`` set; a family listing's
    ``last_quantity`` is the family's, so a variant's quantity is always sent). For each listing
    of the SKU, in order (spec section 10):

    1. not listed → skipped (``not_listed``);
    2. Auto Sync off → ``auto_sync_off``;
    3. no template, or a template id the configuration does not have → ``no_template``;
    4. the account's sync policy has Inventory/Price Sync off, or does not send ``quantity`` to
       the account's channel → ``inventory_price_sync_disabled``;
    5. the quantity is ``compute_quantity(event.stock, <the template's inventory policy>)``,
       or 0 (rule ``product_disabled``) when ``event.enabled`` is false — with the
       configuration's ``allocation``, the account's share of the stock re-allocated over the
       accounts with a live listing (see :func:`~policy_engine.allocate`); equal to the
       listing's ``last_quantity`` → ``unchanged``;
    6. the sync policy's ``quantity_revise_threshold`` is set and both the last and the new
       quantity are above it → ``above_revise_threshold``;
    7. otherwise an update with that quantity.

    The listing of the account an order came from is updated like every other: the store is
    the master of inventory. The plan's history record lists the quantities sent and the reason
    codes of the skipped listings, by account.

    Raises:
        PolicyConfigError: a listing of the SKU names an account the configuration does not
            have, or two listings of the SKU name the same account (every problem at once).

    >>> from datetime import datetime, timezone
    >>> from policy_engine import (
    ...     ChannelListing, Stock, StockEvent, default_config, plan_stock_sync)
    >>> config = default_config("aliexpress", account_id="ae")
    >>> event = StockEvent(sku="MJ01", source="manual_adjustment", stock=Stock(qty=7),
    ...                    at=datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc))
    >>> listing = ChannelListing(account="ae", sku="MJ01", template="default", last_quantity=9)
    >>> plan = plan_stock_sync(event, [listing], config)
    >>> [(update.account, update.quantity) for update in plan.updates]
    [('ae', 7)]
    """
    sku = event.sku
    parent = event.parent_sku
    stock = event.stock
    listings = tuple(listings)  # read twice when a listing is wrong; a tuple is not copied
    accounts = {account.id: account for account in config.accounts}
    rules_of: dict[str, _AccountRules] = {}
    quantities: dict[str, QuantityResult | Step] = {}
    updates: list[StockUpdate] = []
    skipped: list[StockSkip] = []
    sent: dict[str, int] = {}
    skipped_codes: dict[str, str] = {}
    stops: list[StockStop] = []
    lifecycles: dict[str, _Lifecycle] = {}
    count = 0
    # With an allocation, each account's share of the stock (the listings hold their shares).
    allocated = event_quantities(config, event, listings)

    for listing in listings:
        listed_sku = listing.sku
        if listed_sku != sku and (parent is None or listed_sku != parent):
            continue
        count += 1
        account_id = listing.account
        rules = rules_of.get(account_id)
        if rules is None:
            account = accounts.get(account_id)
            if account is None:
                break  # reported below with every other problem
            rules = rules_of[account_id] = _account_rules(config, account)

        reason: Step
        if not listing.listed and listing.status is None:
            reason = _NOT_LISTED
        elif not listing.auto_sync:
            reason = _AUTO_SYNC_OFF
        elif listing.template is None:
            reason = _NO_TEMPLATE
        else:
            # The template is looked up before the account's policy (rule 3 before rule 4): a
            # deleted template is the problem to report, not a setting of the account.
            template_id = listing.template
            result = quantities.get(template_id)
            if result is None:
                result = quantities[template_id] = _template_quantity(
                    config, template_id, stock, event.enabled
                )
            if isinstance(result, Step):
                reason = result  # the template is not in the configuration
            elif rules[0] is not None:
                reason = rules[0]
            else:
                if allocated is not None:
                    result = allocated.get(account_id, result)
                quantity = result.quantity
                variant_of = None if listed_sku == sku else parent
                life = lifecycles.get(account_id)
                if life is None:
                    life = lifecycles[account_id] = _account_lifecycle(config, accounts[account_id])
                verdict = None
                if life[3] or listing.status is not None:
                    verdict = _stock_lifecycle(life, listing, event, quantity)
                    what, value, next_status = verdict
                    if what == "stop":
                        stops.append(_stop(account_id, sku, value, next_status))
                        skipped_codes[account_id] = value[0]
                        continue
                    if what == "relist":
                        updates.append(
                            _update(
                                account_id, sku, value, result.rule, variant_of, _RELIST, _ACTIVE
                            )
                        )
                        sent[account_id] = value
                        continue
                    if what == "update":
                        quantity = value
                # A family listing's last quantity is the family's, not this variant's.
                last = listing.last_quantity if listed_sku == sku else None
                threshold = rules[1]
                if verdict is not None and verdict[0] == "skip":
                    reason = verdict[1]
                elif last == quantity:
                    reason = Step(("unchanged", quantity))
                elif (
                    threshold is not None
                    and last is not None
                    and last > threshold
                    and quantity > threshold
                ):
                    reason = Step(("above_revise_threshold", last, quantity, threshold))
                else:
                    updates.append(
                        _update(account_id, sku, quantity, result.rule, variant_of, _UPDATE, None)
                    )
                    sent[account_id] = quantity
                    continue
        skipped.append(_skip(account_id, sku, reason))
        skipped_codes[account_id] = reason[0]

    if count != len(sent) + len(skipped_codes) or not sent.keys().isdisjoint(skipped_codes):
        # An unknown account stopped the loop, or an account was seen twice: report them all.
        raise_problems(_listing_problems(listings, sku, parent, accounts))
    history = _history(
        sku,
        event.source,
        event.at,
        event.origin_account,
        FrozenDict(sent),
        FrozenDict(skipped_codes),
    )
    return _plan(tuple(updates), tuple(skipped), history, tuple(stops))


def _listing_problems(
    listings: Sequence[ChannelListing],
    sku: str,
    parent: str | None,
    accounts: Mapping[str, Account],
) -> list[Problem]:
    """The unknown and repeated accounts among the listings of a SKU."""
    problems: list[Problem] = []
    seen: set[str] = set()
    known = ", ".join(sorted(accounts)) or "none defined"
    for index, listing in enumerate(listings):
        if listing.sku != sku and (parent is None or listing.sku != parent):
            continue
        account_id = listing.account
        path = f"$.listings[{index}].account"
        if account_id not in accounts:
            problems.append((path, f"unknown account {account_id!r} (known: {known})"))
        elif account_id in seen:
            problems.append((path, f"a second listing of SKU {sku!r} on account {account_id!r}"))
        seen.add(account_id)
    return problems


# ----------------------------------------------------------------------------- stock changes

_S = TypeVar("_S", Product, Stock)


def _changed_stock(stock: Stock, change: int) -> Stock:
    reserved = stock.reserved + change if stock.sources else stock.reserved
    return attrs.evolve(stock, qty=stock.qty + change, reserved=reserved)


def _with_change(item: Product | Stock, change: int) -> Product | Stock:
    """A product or stock with the change applied (unchanged without managed stock)."""
    if isinstance(item, Stock):
        return _changed_stock(item, change) if item.manage_stock else item
    stock = item.stock
    if stock is None or not stock.manage_stock:
        return item
    return attrs.evolve(item, stock=_changed_stock(stock, change))


def apply_stock_changes(
    catalog: Mapping[str, _S], stock_changes: Mapping[str, int]
) -> FrozenDict[str, _S]:
    """Apply an order plan's ``stock_changes`` to the store's stock; return the new catalog.

    ``catalog`` maps store SKU → :class:`~policy_engine.Product` (the catalog given to
    :func:`~policy_engine.plan_order`) or store SKU → :class:`~policy_engine.Stock`. Nothing is
    changed in place: the result is a new read-only mapping, in the catalog's order, holding new
    products or stocks for the changed SKUs and the same objects for the others.

    Each change (a negative quantity for an order) is added to the stock's ``qty``; for a stock
    with MSI ``sources`` it is also added to ``reserved``, as Magento places a reservation when an
    order is placed (the sources' quantities drop when the order ships). A product without a
    stock record, or whose stock is not managed, is left as it is: the store does not count it.

    Raises:
        PolicyConfigError: a SKU of ``stock_changes`` is not in the catalog, or a change is not
            an integer (every problem at once).

    >>> from policy_engine import Product, Stock, apply_stock_changes
    >>> catalog = {"MJ01": Product(sku="MJ01", stock=Stock(qty=12))}
    >>> apply_stock_changes(catalog, {"MJ01": -2})["MJ01"].stock.qty
    10
    """
    problems: list[Problem] = []
    for sku, change in stock_changes.items():
        path = f"$.stock_changes{key_path(sku)}"
        if type(change) is not int:
            problems.append((path, f"expected an integer, got {describe(change)}"))
        elif sku not in catalog:
            problems.append((path, f"SKU {sku!r} is not in the catalog"))
    if problems:
        raise_problems(problems)
    result: dict[str, Any] = dict(catalog)
    for sku, change in stock_changes.items():
        if change:
            result[sku] = _with_change(result[sku], change)
    return FrozenDict(result)
