"""The synchronization policy and ``decide_sync``: what a store change sends to a channel (spec 7).

:func:`decide_sync` reads top to bottom in the spec's order (section 7.4): products that are not
visible individually, the listing template, products not yet on the channel (upload), products on
the channel (delist, full update, price and inventory update), then the log switches. Everything
that depends on the policy alone (the enabled fields, the observed attributes, the decision for a
hidden product) is computed once when the policy is built.

:func:`diff_products` turns two snapshots of a product into the set of changed codes that a
:class:`ProductChange` carries.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence, Sized
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from policy_engine._channels import (
    BUILTIN_CHANNELS,
    CHANGE_FIELDS,
    ChannelProfile,
    SyncField,
    ZeroQuantity,
    _check_optional_sync_fields,
    _sync_field_set,
    fields_for_changes,
)
from policy_engine._lifecycle import (
    ZERO_STEPS,
    ListingStatus,
    ListRules,
    RelistRules,
    StopRules,
    effective_status,
    is_rules,
    is_status_or_none,
    listed_problems,
    listing_state,
    settle_listed,
    shown_quantity,
    stock_quantity,
    stop_step,
    to_list_rules,
    to_relist_rules,
    to_status,
    to_stop_rules,
    unmet,
)
from policy_engine._limits import MAX_ATTRIBUTES, MAX_ID_LENGTH, MAX_ITEMS, MAX_NAME_LENGTH
from policy_engine._models import Product, Stock, Visibility, _is_money_or_none, _to_money
from policy_engine._stamp import STAMP_FIELD, Stamp
from policy_engine._steps import Step, define_messages
from policy_engine._validation import (
    JSON_SCHEMA,
    Checked,
    Problem,
    at_least,
    check,
    describe,
    fast_constructor,
    is_bool,
    is_int_or_none,
    is_member,
    max_items,
    non_empty,
    shown,
    text,
)

if TYPE_CHECKING:  # pragma: no cover
    from policy_engine._templates import ListingTemplate

__all__ = [
    "ChangeKind",
    "Listing",
    "ProductChange",
    "SyncAction",
    "SyncDecision",
    "SyncPolicy",
    "decide_sync",
    "diff_products",
]


class ChangeKind(enum.StrEnum):
    """What happened to a product in the store."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


class SyncAction(enum.StrEnum):
    """What a synchronization does on the channel."""

    NONE = "none"
    UPLOAD = "upload"
    UPDATE = "update"
    UPDATE_PRICE_INVENTORY = "update_price_inventory"
    DELIST = "delist"
    STOP = "stop"
    RELIST = "relist"


define_messages(
    {
        # Reasons for doing nothing.
        "not_visible_individually": (
            "the product is not visible individually and the policy does not sync such products"
        ),
        "not_listed": "the product is not listed on the channel",
        "no_matching_template": "no listing template's condition matches the product",
        "upload_disabled": "Product Upload is off in the synchronization policy",
        "update_disabled": "Product Update is off in the synchronization policy",
        "nothing_changed": "no attribute of the product changed",
        "unobserved_attributes": (
            "{0} changed, but only changes to {1} trigger a sync (Only Specific Attributes Syncing)"
        ),
        "inventory_price_sync_disabled": "Inventory/Price Sync is off: {0} not sent",
        "fields_not_synced": "the policy does not send {0} to this channel",
        "no_enabled_fields": "the policy sends no field this channel supports",
        "price_managed_externally": "a repricer manages the price of this listing: price not sent",
        "disabled_not_uploaded": "the product is disabled in the store: it is not uploaded",
        # Reasons for acting.
        "upload": "lists the product on the channel with template {0!r}",
        "template_assigned": "assigns the product to template {0!r} (Product Assign)",
        "full_update": "{0} changed: every synced field is sent",
        "product_created": "the product was created in the store: every synced field is sent",
        "price_inventory_update": "sends the changed {0} (Inventory/Price Sync)",
        "delist": "the product was deleted in the store: removes the listing",
        "delist_not_visible": (
            "the product is no longer visible individually and the policy does not sync such"
            " products: removes the listing"
        ),
    }
)

_QUANTITY = SyncField.QUANTITY
_PRICE = SyncField.PRICE
_QUANTITY_PRICE = frozenset({_QUANTITY, _PRICE})
_ALL_FIELDS = frozenset(SyncField)
_NO_FIELDS: frozenset[SyncField] = frozenset()
_ATTRIBUTES = SyncField.ATTRIBUTES
_NOT_VISIBLE = Visibility.NOT_VISIBLE_INDIVIDUALLY


def _names(values: Iterable[str]) -> str:
    """Sorted, comma-separated names for a message argument (``"price, quantity"``)."""
    return ", ".join(sorted(values)) or "(none)"


# ------------------------------------------------------------------------------ field checks


def _optional_tuple(values: Any) -> Any:
    if values is None or type(values) is tuple or isinstance(values, str):
        return values
    return tuple(values) if isinstance(values, Iterable) else values


def _optional_field_set(values: Any) -> Any:
    return None if values is None else _sync_field_set(values)


def _code_problem(value: str) -> str:
    limit = MAX_ID_LENGTH
    return f"attribute codes must be at most {limit} characters long, got {shown(value)}"


def _optional_codes(values: Any) -> str | None:
    if values is None:
        return None
    if type(values) is not tuple:
        return f"expected a list of attribute codes or null, got {describe(values)}"
    for value in values:
        if type(value) is not str or not value.strip():
            return f"expected a list of non-empty attribute codes, got {describe(value)} in it"
        if len(value) > MAX_ID_LENGTH:
            return _code_problem(value)
    return None


_optional_codes.__dict__[JSON_SCHEMA] = {"items": {"maxLength": MAX_ID_LENGTH}}


def _code_set(values: Any) -> Any:
    if type(values) is frozenset or isinstance(values, str) or not isinstance(values, Iterable):
        return values
    if isinstance(values, Sized) and len(values) > MAX_ITEMS:
        return values  # reported by the size check, without copying it first
    try:
        return frozenset(values)
    except TypeError:  # an unhashable item: left for the check to report
        return values


def _codes(values: Any) -> str | None:
    if type(values) is not frozenset:
        return f"expected a list of attribute codes, got {describe(values)}"
    for value in values:
        if type(value) is not str or not value:
            return f"expected a list of non-empty attribute codes, got {describe(value)} in it"
        if len(value) > MAX_ID_LENGTH:
            return _code_problem(value)
    return None


_codes.__dict__[JSON_SCHEMA] = {"items": {"maxLength": MAX_ID_LENGTH}}


_CHANGE_KINDS = {member.value: member for member in ChangeKind}


def _to_change_kind(value: Any) -> Any:
    """Convert a change kind's name to the member; leave anything else for the check."""
    return _CHANGE_KINDS.get(value, value) if type(value) is str else value


def _is_product(value: Any) -> str | None:
    return None if isinstance(value, Product) else f"expected a product, got {describe(value)}"


# ------------------------------------------------------------------------------------ inputs


@attrs.frozen(kw_only=True)
class Listing(Checked):
    """A product's listing on one channel account, as the connector knows it.

    Attributes:
        listed: Whether the product is live on the channel (an ended listing is not). With a
            ``status``, it follows it: true exactly for ``active``.
        template: The id of the listing template the product is assigned to, or ``None``.
        price_managed_externally: A repricer owns the price: a sync never sends ``price``.
        auto_sync: Whether store quantity changes are pushed to this listing (spec section 10).
        last_quantity: The quantity last sent, or ``None``.
        last_price: The price last sent, or ``None``.
        status: The listing's lifecycle status (``active``, ``inactive``, ``ended``,
            ``user_stopped``), or ``None`` (the default): ``active`` when ``listed``, else not
            on the channel, as before statuses existed.
    """

    listed: bool = attrs.field(default=True, metadata=check(is_bool))
    template: str | None = attrs.field(
        default=None, metadata=check(text(MAX_ID_LENGTH, optional=True))
    )
    price_managed_externally: bool = attrs.field(default=False, metadata=check(is_bool))
    auto_sync: bool = attrs.field(default=True, metadata=check(is_bool))
    last_quantity: int | None = attrs.field(
        default=None, metadata=check(is_int_or_none, at_least(0))
    )
    last_price: Decimal | None = attrs.field(
        default=None, converter=_to_money, metadata=check(_is_money_or_none)
    )
    status: ListingStatus | None = attrs.field(
        default=None, converter=to_status, metadata=check(is_status_or_none)
    )

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        settle_listed(self)

    def _cross_checks(self) -> list[Problem]:
        return listed_problems(self)


def _is_listing_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, Listing):
        return None
    return f"expected a listing or null, got {describe(value)}"


@attrs.frozen(kw_only=True)
class ProductChange(Checked):
    """A change to a product in the store, as seen by one channel listing.

    Attributes:
        kind: ``created``, ``updated`` or ``deleted``.
        product: The product as it is now (for ``deleted``: as it was).
        changed: The codes that changed (``qty``, ``price``, ``name``, ``color``…; see
            :func:`diff_products`); ignored for ``created`` and ``deleted``.
        listing: The product's listing on the channel, or ``None`` when it has none.
    """

    kind: ChangeKind = attrs.field(converter=_to_change_kind, metadata=check(is_member(ChangeKind)))
    product: Product = attrs.field(metadata=check(_is_product))
    changed: frozenset[str] = attrs.field(
        default=frozenset(), converter=_code_set, metadata=check(max_items(MAX_ITEMS), _codes)
    )
    listing: Listing | None = attrs.field(default=None, metadata=check(_is_listing_or_none))


# ------------------------------------------------------------------------------------ result


@attrs.frozen(kw_only=True)
class SyncDecision:
    """What to do on the channel for one product change, and why.

    Attributes:
        action: ``none``, ``upload``, ``update``, ``update_price_inventory`` or ``delist``.
        assign_to: The template the product is to be assigned to (Product Assign), or ``None``.
        template: The product's listing template, or ``None`` (none matched, or rule 1 stopped
            the decision before templates were looked at).
        fields: The fields to send; empty for ``none`` and ``delist``.
        reasons: Why, in order (never empty); each a :class:`~policy_engine.Step`.
        log_activity: Whether the host records the decision in its activity log.
        log_feed: Whether the host records the data sent in its feed log.
        next_status: The listing's status after the decision: ``inactive`` (or ``ended`` on a
            channel where 0 ends the offer) for ``stop``, ``active`` for ``relist``; ``None``
            for every other action.
        stamp: Which decision this is, and the configuration revision and engine version
            that took it (:class:`~policy_engine.Stamp`), or ``None`` (see
            :func:`~policy_engine.stamped`).
    """

    action: SyncAction
    assign_to: str | None
    template: str | None
    fields: frozenset[SyncField]
    reasons: tuple[Step, ...]
    log_activity: bool
    log_feed: bool
    next_status: ListingStatus | None = None
    stamp: Stamp | None = attrs.field(default=None, eq=False, metadata=STAMP_FIELD)


# ------------------------------------------------------------------------------------ policy


class _Enabled:
    """The enabled fields of a policy on one channel, in the shapes the rules need."""

    __slots__ = ("all", "decisions", "no_price", "other", "price_inventory_off", "quantity_price")

    def __init__(self, policy_fields: frozenset[SyncField] | None, channel: frozenset[Any]) -> None:
        enabled = (channel if policy_fields is None else policy_fields) & channel
        self.all: frozenset[SyncField] = frozenset(enabled)
        self.no_price = self.all - {_PRICE}
        self.other = self.all - _QUANTITY_PRICE
        self.quantity_price = self.all & _QUANTITY_PRICE
        self.price_inventory_off = Step(
            ("inventory_price_sync_disabled", _names(self.quantity_price))
        )
        self.decisions: dict[_Key, SyncDecision] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Enabled, (self.all, self.all))


@attrs.frozen(kw_only=True)
class SyncPolicy(Checked):
    """How store changes reach a channel (spec 7.2): the seed's synchronization policy.

    Attributes:
        title: The policy's name (non-empty).
        channel: The channel the policy is for (``aliexpress``, ``tiktok``, a custom channel…), or
            ``None`` for a policy usable on any channel.
        product_upload: List products that match a template and are not on the channel yet.
        product_update: Send changes of listed products (and delist deleted ones).
        inventory_price_sync: Send quantity and price changes of listed products; needs
            ``product_update``.
        product_assign: Assign a product to the template its condition matches.
        sync_not_visible_individually: Also sync products that are not visible individually
            (children of configurables).
        observed_attributes: "Only Specific Attributes Syncing": only a change to one of these
            codes sends a full update (quantity and price changes still go out); ``None`` = off.
        fields: The fields this policy sends, or ``None`` for every field the channel supports.
            With a built-in ``channel`` they must be fields that channel supports.
        activity_log: Ask the host to record each decision.
        feed_log: Ask the host to record the data each sync sends.
        quantity_revise_threshold: Skip quantity updates while both the last and the new
            quantity are above this (spec section 10), or ``None``.
        list_rules: When a product not on the channel is uploaded (:class:`ListRules`; the
            default lists an enabled product, as before).
        stop_rules: When an active listing is stopped (:class:`StopRules`; the default stops
            nothing).
        relist_rules: When a stopped or ended listing is relisted (:class:`RelistRules`; never
            a ``user_stopped`` one unless they say so).
        minimum_shown_quantity: Send at least this quantity (>= 1) instead of less, 0 included
            (a "set 1 when out of stock" setting), or ``None`` (the default: off).
    """

    title: str = attrs.field(metadata=check(text(MAX_NAME_LENGTH, required=True)))
    channel: str | None = attrs.field(
        default=None, metadata=check(text(MAX_ID_LENGTH, optional=True, required=True))
    )
    product_upload: bool = attrs.field(default=True, metadata=check(is_bool))
    product_update: bool = attrs.field(default=True, metadata=check(is_bool))
    inventory_price_sync: bool = attrs.field(default=True, metadata=check(is_bool))
    product_assign: bool = attrs.field(default=True, metadata=check(is_bool))
    sync_not_visible_individually: bool = attrs.field(default=False, metadata=check(is_bool))
    observed_attributes: tuple[str, ...] | None = attrs.field(
        default=None,
        converter=_optional_tuple,
        metadata=check(max_items(MAX_ATTRIBUTES), _optional_codes, non_empty),
    )
    fields: frozenset[SyncField] | None = attrs.field(
        default=None,
        converter=_optional_field_set,
        metadata=check(_check_optional_sync_fields, non_empty),
    )
    activity_log: bool = attrs.field(default=True, metadata=check(is_bool))
    feed_log: bool = attrs.field(default=False, metadata=check(is_bool))
    quantity_revise_threshold: int | None = attrs.field(
        default=None, metadata=check(is_int_or_none, at_least(0))
    )
    list_rules: ListRules = attrs.field(
        factory=ListRules, converter=to_list_rules, metadata=check(is_rules(ListRules))
    )
    stop_rules: StopRules = attrs.field(
        factory=StopRules, converter=to_stop_rules, metadata=check(is_rules(StopRules))
    )
    relist_rules: RelistRules = attrs.field(
        factory=RelistRules,
        converter=to_relist_rules,
        metadata=check(is_rules(RelistRules)),
    )
    minimum_shown_quantity: int | None = attrs.field(
        default=None, metadata=check(is_int_or_none, at_least(1))
    )

    # Computed once from the fields above after they are checked; not part of JSON or equality.
    _observed: frozenset[str] | None = attrs.field(init=False, eq=False, repr=False)
    _observed_names: str = attrs.field(init=False, eq=False, repr=False)
    _enabled: _Enabled = attrs.field(init=False, eq=False, repr=False)
    _enabled_on: dict[frozenset[Any], _Enabled] = attrs.field(init=False, eq=False, repr=False)
    _not_visible: SyncDecision = attrs.field(init=False, eq=False, repr=False)
    _delisted: dict[tuple[ChangeKind, str | None], SyncDecision] = attrs.field(
        init=False, eq=False, repr=False
    )
    #: Whether a rule differs from the defaults (the decisions then read the listed quantity).
    _lifecycle: bool = attrs.field(init=False, eq=False, repr=False)
    #: Whether a list, stop or relist rule has a condition (which reads the listing state).
    _conditions: bool = attrs.field(init=False, eq=False, repr=False)
    #: What the built-in profile of ``channel`` does at quantity 0 (``send`` without one).
    _zero: ZeroQuantity = attrs.field(init=False, eq=False, repr=False)
    #: Whether the lifecycle rules run on the policy's own channel: ``_lifecycle``, or a
    #: channel that does not accept 0.
    _lifecycle_here: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        observed = self.observed_attributes
        setattr_ = object.__setattr__
        setattr_(self, "_observed", None if observed is None else frozenset(observed))
        setattr_(self, "_observed_names", _names(observed or ()))
        builtin = BUILTIN_CHANNELS.get(self.channel) if self.channel is not None else None
        channel = _ALL_FIELDS if builtin is None else builtin.fields
        setattr_(self, "_enabled", _Enabled(self.fields, channel))
        setattr_(self, "_enabled_on", {})
        not_visible = SyncDecision(
            action=SyncAction.NONE,
            assign_to=None,
            template=None,
            fields=_NO_FIELDS,
            reasons=(_NOT_VISIBLE_STEP,),
            log_activity=self.activity_log,
            log_feed=False,
        )
        setattr_(self, "_not_visible", not_visible)
        setattr_(self, "_delisted", {})
        setattr_(
            self,
            "_lifecycle",
            self.list_rules != _DEFAULT_LIST
            or self.stop_rules != _DEFAULT_STOP
            or self.minimum_shown_quantity is not None,
        )
        setattr_(
            self,
            "_conditions",
            any(
                rules.condition is not None
                for rules in (self.list_rules, self.stop_rules, self.relist_rules)
            ),
        )
        setattr_(self, "_zero", ZeroQuantity.SEND if builtin is None else builtin.zero_quantity)
        setattr_(self, "_lifecycle_here", self._lifecycle or self._zero is not ZeroQuantity.SEND)

    def _cross_checks(self) -> list[Problem]:
        problems: list[Problem] = []
        if self.inventory_price_sync and not self.product_update:
            problems.append(
                ("$.inventory_price_sync", "Inventory/Price Sync depends on Product Update")
            )
        builtin = BUILTIN_CHANNELS.get(self.channel) if self.channel is not None else None
        if builtin is not None and self.fields is not None:
            unsupported = self.fields - builtin.fields
            if unsupported:
                problems.append(
                    (
                        "$.fields",
                        (
                            f"channel {builtin.name!r} does not support {_names(unsupported)}"
                            f" (it supports: {_names(builtin.fields)})"
                        ),
                    )
                )
        return problems

    def enabled_fields(
        self, channel_fields: ChannelProfile | Iterable[SyncField] | None = None
    ) -> frozenset[SyncField]:
        """The fields this policy sends on a channel: its ``fields`` ∩ the channel's fields.

        ``channel_fields`` gives the channel's fields (or profile) when the policy's ``channel``
        is not a built-in channel or is ``None``; without it the built-in profile of ``channel``
        is used, or every field when there is none.
        """
        return self._enabled_for(channel_fields).all

    def _enabled_for(self, channel_fields: ChannelProfile | Iterable[SyncField] | None) -> _Enabled:
        if channel_fields is None:
            return self._enabled
        if isinstance(channel_fields, ChannelProfile):
            channel_fields = channel_fields.fields
        key = channel_fields if type(channel_fields) is frozenset else frozenset(channel_fields)
        cache = self._enabled_on
        enabled = cache.get(key)
        if enabled is None:
            enabled = cache[key] = _Enabled(self.fields, key)
        return enabled


_DEFAULT_LIST = ListRules()
_DEFAULT_STOP = StopRules()
_SEND = ZeroQuantity.SEND
_ACTIVE = ListingStatus.ACTIVE
_USER_STOPPED = ListingStatus.USER_STOPPED
_NOT_VISIBLE_STEP = Step(("not_visible_individually",))
_NOT_LISTED = Step(("not_listed",))
_NO_TEMPLATE = Step(("no_matching_template",))
_UPLOAD_DISABLED = Step(("upload_disabled",))
_UPDATE_DISABLED = Step(("update_disabled",))
_NOTHING_CHANGED = Step(("nothing_changed",))
_NO_ENABLED_FIELDS = Step(("no_enabled_fields",))
_PRICE_MANAGED = Step(("price_managed_externally",))
_PRODUCT_CREATED = Step(("product_created",))
_DELIST = Step(("delist",))
_DELIST_NOT_VISIBLE = Step(("delist_not_visible",))
_DISABLED_NOT_UPLOADED = Step(("disabled_not_uploaded",))
_USER_STOPPED_STEP = Step(("user_stopped",))
_RELIST_DISABLED = Step(("relist_disabled",))
_PRICE_INVENTORY = {
    fields: Step(("price_inventory_update", _names(fields)))
    for fields in (frozenset({_QUANTITY}), frozenset({_PRICE}), _QUANTITY_PRICE)
}


# ---------------------------------------------------------------------------------- decision


_decision = fast_constructor(SyncDecision)


def _none(
    policy: SyncPolicy,
    template: str | None,
    reasons: tuple[Step, ...],
    assign_to: str | None = None,
) -> SyncDecision:
    log_feed = False  # rule 5: nothing is sent, so there is no feed to record
    return _decision(
        SyncAction.NONE,
        assign_to,
        template,
        _NO_FIELDS,
        reasons,
        policy.activity_log,
        log_feed,
        None,
    )


def _act(
    policy: SyncPolicy,
    action: SyncAction,
    template: str | None,
    fields: frozenset[SyncField],
    reasons: tuple[Step, ...],
    *,
    assign_to: str | None = None,
    next_status: ListingStatus | None = None,
) -> SyncDecision:
    return _decision(
        action,
        assign_to,
        template,
        fields,
        reasons,
        policy.activity_log,
        policy.feed_log,
        next_status,
    )


def decide_sync(
    change: ProductChange,
    sync_policy: SyncPolicy,
    *,
    templates: Sequence[ListingTemplate] = (),
    channel_fields: ChannelProfile | Iterable[SyncField] | None = None,
    quantity: int | None = None,
) -> SyncDecision:
    """Decide what a store change sends to a channel under a synchronization policy (spec 7.4).

    The rules, in order:

    1. A product that is not visible individually, under a policy that does not sync such
       products → ``none`` (``not_visible_individually``) while it is not on the channel. On the
       channel it leaves it: ``delist`` (``delist_not_visible``, or ``delist`` for a deletion),
       or ``none`` (``update_disabled``) when Product Update is off.
    2. The template: the listing's template when it has one, else the first of ``templates``
       whose condition matches the product.
    3. Not on the channel (no listing, or not listed): a deletion → ``none`` (``not_listed``);
       no template → ``none`` (``no_matching_template``); a disabled product → ``none``
       (``disabled_not_uploaded``); otherwise ``upload`` with every enabled field, or ``none``
       (``upload_disabled``) when Product Upload is off. With Product
       Assign, a product whose listing has no template yet is assigned to the template found.
    4. On the channel: Product Update off → ``none`` (``update_disabled``); a deletion →
       ``delist``; nothing changed → ``none`` (``nothing_changed``); a change that triggers a full
       update (an observed attribute, or with no observed attributes, a change to an enabled field
       other than quantity and price) → ``update`` with every enabled field (quantity and price
       only with Inventory/Price Sync); else a quantity or price change with Inventory/Price Sync
       → ``update_price_inventory`` with those of the two that changed; else ``none`` with what
       blocked it. A repricer-managed listing never gets ``price``.
    5. ``log_activity`` is the policy's ``activity_log``; ``log_feed`` is its ``feed_log`` for an
       action other than ``none``.

    The listing lifecycle (docs/lifecycle.md) comes in after rule 2, when the policy's rules
    differ from the defaults, the listing has a ``status`` or the channel does not accept 0:
    an active listing is stopped (``stop``) by the first stop rule that holds, or when its
    quantity is 0 on a channel whose ``zero_quantity`` is ``stop`` or ``end``; a product not
    on the channel is uploaded only when the list rules hold; an ``inactive`` or ``ended``
    listing is relisted (``relist``) when the relist rules hold, a ``user_stopped`` one only
    when they allow it. The rules read ``quantity``, the listed quantity (what
    :func:`~policy_engine.sync_listing` computes with the template's inventory policy); without
    it, the product's store quantity (0 when disabled or out of stock; unknown without a
    managed stock record, and then no stock rule applies). With the default rules, no status
    and a channel that accepts 0, the decision is the one the rules above give.

    The enabled fields are the policy's ``fields`` (all when ``None``) that the channel supports.
    The channel's fields come from ``channel_fields`` when given (a custom channel, or a policy
    without ``channel``), else from the built-in profile of the policy's ``channel``, else every
    field is supported.

    >>> from policy_engine import Product, ProductChange, Listing, SyncPolicy, decide_sync
    >>> policy = SyncPolicy(title="AliExpress", channel="aliexpress", observed_attributes=["color"])
    >>> change = ProductChange(
    ...     kind="updated", product=Product(sku="S1"), changed={"size"}, listing=Listing()
    ... )
    >>> decision = decide_sync(change, policy)
    >>> decision.action, [reason.code for reason in decision.reasons]
    (<SyncAction.NONE: 'none'>, ['unobserved_attributes'])
    """
    policy = sync_policy
    product = change.product
    listing = change.listing

    # Rule 1: products that are not visible individually.
    if product.visibility is _NOT_VISIBLE and not policy.sync_not_visible_individually:
        if listing is None or not listing.listed:
            return policy._not_visible
        return _not_visible_listed(policy, change.kind, listing.template)

    # Rule 2: the listing template.
    template: str | None = None
    if listing is not None and listing.template is not None:
        template = listing.template
    else:
        for candidate in templates:
            condition = candidate.condition
            if condition is None or condition.matches(product):
                template = candidate.id
                break

    # Rules 3 to 5 depend on the policy, the channel and this key only, so their decision is
    # remembered per policy and channel: most changes repeat a few outcomes.
    enabled = policy._enabled if channel_fields is None else policy._enabled_for(channel_fields)
    zero = policy._zero
    if channel_fields is None:
        lifecycle = policy._lifecycle_here
    else:
        if type(channel_fields) is ChannelProfile:
            zero = channel_fields.zero_quantity
        lifecycle = policy._lifecycle or zero is not _SEND
    if lifecycle or (listing is not None and listing.status is not None):
        decided = _lifecycle_decision(
            policy,
            enabled,
            change,
            template,
            quantity=quantity,
            zero=zero,
            channel_fields=channel_fields,
        )
        if decided is not None:
            return decided
    kind = change.kind
    if listing is None or not listing.listed:
        key: _Key = (
            kind,
            template,
            False,
            listing is None or listing.template is None,
            not product.enabled,
            None,
        )
    else:
        changed = change.changed if kind is ChangeKind.UPDATED else None
        key = (kind, template, True, False, listing.price_managed_externally, changed)
    decisions = enabled.decisions
    decision = decisions.get(key)
    if decision is None:
        decision = _decide(policy, enabled, key)
        if len(decisions) < _REMEMBERED_DECISIONS:
            decisions[key] = decision
    return decision


def _remembered(policy: SyncPolicy, enabled: _Enabled, key: _Key) -> SyncDecision:
    decisions = enabled.decisions
    decision = decisions.get(key)
    if decision is None:
        decision = _decide(policy, enabled, key)
        if len(decisions) < _REMEMBERED_DECISIONS:
            decisions[key] = decision
    return decision


def _with_assignment(reasons: tuple[Step, ...], assign_to: str | None) -> tuple[Step, ...]:
    return reasons if assign_to is None else (*reasons, Step(("template_assigned", assign_to)))


def _lifecycle_decision(
    policy: SyncPolicy,
    enabled: _Enabled,
    change: ProductChange,
    template: str | None,
    *,
    quantity: int | None,
    zero: ZeroQuantity,
    channel_fields: ChannelProfile | Iterable[SyncField] | None,
) -> SyncDecision | None:
    """The list, stop and relist rules and the channel's zero rule (docs/lifecycle.md), or
    ``None`` when they leave the decision to rules 3 to 5."""
    listing = change.listing
    product = change.product
    kind = change.kind
    status = effective_status(listing)
    enabled_product = product.enabled
    if quantity is None:
        quantity = stock_quantity(product) if enabled_product else 0
    shown = None if quantity is None else shown_quantity(quantity, policy.minimum_shown_quantity)
    channel = channel_fields.name if isinstance(channel_fields, ChannelProfile) else policy.channel
    refuses_zero = shown == 0 and zero is not _SEND
    # A rule's condition reads the listing state; without one it is never built.
    state = listing_state(listing, status, channel) if policy._conditions else None

    if status is _ACTIVE:
        if kind is ChangeKind.DELETED or not policy.product_update:
            return None
        step = stop_step(policy.stop_rules, enabled_product, quantity, product, state)
        next_status = ListingStatus.ENDED if zero is ZeroQuantity.END else ListingStatus.INACTIVE
        if step is None:
            if not (refuses_zero and policy.inventory_price_sync and _QUANTITY in enabled.all):
                return None
            code, next_status = ZERO_STEPS[zero]
            step = Step((code, channel))
        return _act(policy, SyncAction.STOP, template, _NO_FIELDS, (step,), next_status=next_status)

    if status is None:  # not on the channel: the list rules and the zero rule gate the upload
        if kind is ChangeKind.DELETED or template is None:
            return None
        rules = policy.list_rules
        key: _Key = (
            kind,
            template,
            False,
            listing is None or listing.template is None,
            not enabled_product and rules.require_enabled,
            None,
        )
        base = _remembered(policy, enabled, key)
        if base.action is not SyncAction.UPLOAD:
            return base
        problem = unmet(rules, enabled_product, quantity, product, state)
        if problem is not None:
            reasons: tuple[Step, ...] = _with_assignment(
                (Step(("list_not_met", problem)),), base.assign_to
            )
            return _none(policy, template, reasons, base.assign_to)
        if refuses_zero:
            reasons = _with_assignment((Step(("zero_not_listed", channel)),), base.assign_to)
            return _none(policy, template, reasons, base.assign_to)
        return base

    # A stopped or ended listing (``listed`` is false): relist it, or say why not.
    if kind is ChangeKind.DELETED:  # the stopped listing is removed with the product
        if not policy.product_update:
            return _none(policy, template, (_UPDATE_DISABLED,))
        return _act(policy, SyncAction.DELIST, template, _NO_FIELDS, (_DELIST,))
    if template is None:
        return _none(policy, None, (_NO_TEMPLATE,))
    if not policy.product_update:
        return _none(policy, template, (_UPDATE_DISABLED,))
    relist = policy.relist_rules
    if status is _USER_STOPPED and not relist.user_stopped:
        return _none(policy, template, (_USER_STOPPED_STEP,))
    if not relist.automatic:
        return _none(policy, template, (_RELIST_DISABLED,))
    problem = unmet(relist, enabled_product, quantity, product, state)
    if problem is not None:
        return _none(policy, template, (Step(("relist_not_met", status.value, problem)),))
    if refuses_zero:
        return _none(policy, template, (Step(("zero_not_listed", channel)),))
    fields = enabled.quantity_price
    reasons = (Step(("relist", status.value)),)
    if listing is not None and listing.price_managed_externally and _PRICE in fields:
        fields = fields - {_PRICE}
        reasons = (*reasons, _PRICE_MANAGED)
    if not fields:
        return _none(policy, template, (_NO_ENABLED_FIELDS,))
    return _act(policy, SyncAction.RELIST, template, fields, reasons, next_status=_ACTIVE)


def _not_visible_listed(policy: SyncPolicy, kind: ChangeKind, template: str | None) -> SyncDecision:
    """Rule 1 for a product on the channel: it leaves the channel (a deletion always does)."""
    decisions = policy._delisted
    decision = decisions.get((kind, template))
    if decision is not None:
        return decision
    if not policy.product_update:
        decision = _none(policy, template, (_NOT_VISIBLE_STEP, _UPDATE_DISABLED))
    else:
        reason = _DELIST if kind is ChangeKind.DELETED else _DELIST_NOT_VISIBLE
        decision = _act(policy, SyncAction.DELIST, template, _NO_FIELDS, (reason,))
    if len(decisions) < _REMEMBERED_DECISIONS:
        decisions[kind, template] = decision
    return decision


#: What rules 3 to 5 decide from: the change's kind, the template, whether the product is on the
#: channel, whether its listing has no template yet, whether a repricer owns the price (on the
#: channel) or the product is disabled (not on the channel), and the changed codes of an update
#: of a listed product.
_Key = tuple[ChangeKind, "str | None", bool, bool, bool, "frozenset[str] | None"]

#: At most this many decisions are remembered per policy and channel (memory stays bounded).
_REMEMBERED_DECISIONS = 2048


def _decide(policy: SyncPolicy, enabled: _Enabled, key: _Key) -> SyncDecision:
    """Rules 3 to 5 of spec 7.4 for one key (see :func:`decide_sync`)."""
    reasons: tuple[Step, ...]
    kind, template, on_channel, assignable, repriced, changed = key

    # Rule 3: not on the channel.
    if not on_channel:
        if kind is ChangeKind.DELETED:
            return _none(policy, template, (_NOT_LISTED,))
        if template is None:
            return _none(policy, None, (_NO_TEMPLATE,))
        assign_to = template if policy.product_assign and assignable else None
        if repriced:  # in this key: the product is disabled
            reasons = (_DISABLED_NOT_UPLOADED,)
            if assign_to is not None:
                reasons += (Step(("template_assigned", assign_to)),)
            return _none(policy, template, reasons, assign_to)
        if not policy.product_upload:
            reasons = (_UPLOAD_DISABLED,)
            if assign_to is not None:
                reasons += (Step(("template_assigned", assign_to)),)
            return _none(policy, template, reasons, assign_to)
        if not enabled.all:
            return _none(policy, template, (_NO_ENABLED_FIELDS,), assign_to)
        reasons = (Step(("upload", template)),)
        if assign_to is not None:
            reasons += (Step(("template_assigned", assign_to)),)
        return _act(policy, SyncAction.UPLOAD, template, enabled.all, reasons, assign_to=assign_to)

    # Rule 4: on the channel.
    if not policy.product_update:
        return _none(policy, template, (_UPDATE_DISABLED,))
    if kind is ChangeKind.DELETED:
        return _act(policy, SyncAction.DELIST, template, _NO_FIELDS, (_DELIST,))

    sync_price_inventory = policy.inventory_price_sync
    observed = policy._observed
    changed_fields: frozenset[SyncField] = _NO_FIELDS
    if changed is None:
        # A ``created`` change: ``changed`` is ignored, everything about the product is new.
        trigger: Step | None = _PRODUCT_CREATED
        changed = frozenset()
    elif not changed:
        return _none(policy, template, (_NOTHING_CHANGED,))
    else:
        changed_fields = fields_for_changes(changed)
        if observed is not None:
            hit = changed & observed
            trigger = _full_update_step(hit) if hit else None
        else:
            other = enabled.other
            trigger = None
            if not other.isdisjoint(changed_fields):
                trigger = _full_update_step(
                    code for code in changed if CHANGE_FIELDS.get(code, _ATTRIBUTES) in other
                )

    if trigger is not None:
        # A full update: every enabled field, quantity and price only with Inventory/Price Sync.
        if not enabled.all:
            return _none(policy, template, (_NO_ENABLED_FIELDS,))
        if not sync_price_inventory:
            fields = enabled.other
            if not fields:
                return _none(policy, template, (enabled.price_inventory_off,))
            if enabled.quantity_price:
                reasons = (trigger, enabled.price_inventory_off)
                return _act(policy, SyncAction.UPDATE, template, fields, reasons)
            return _act(policy, SyncAction.UPDATE, template, fields, (trigger,))
        if repriced and _PRICE in enabled.all:
            fields = enabled.no_price
            if not fields:
                return _none(policy, template, (_PRICE_MANAGED,))
            return _act(policy, SyncAction.UPDATE, template, fields, (trigger, _PRICE_MANAGED))
        return _act(policy, SyncAction.UPDATE, template, enabled.all, (trigger,))

    # Quantity and price: never blocked by the observed attributes, so stock does not go stale.
    quantity_price = changed_fields & _QUANTITY_PRICE
    if quantity_price and sync_price_inventory:
        fields = quantity_price & enabled.quantity_price
        if repriced and _PRICE in fields:
            fields = fields - {_PRICE}
            if fields:
                reasons = (_PRICE_INVENTORY[fields], _PRICE_MANAGED)
                return _act(policy, SyncAction.UPDATE_PRICE_INVENTORY, template, fields, reasons)
        elif fields:
            reasons = (_PRICE_INVENTORY[fields],)
            return _act(policy, SyncAction.UPDATE_PRICE_INVENTORY, template, fields, reasons)

    return _none(policy, template, _blocked(policy, enabled, changed, changed_fields, repriced))


def _full_update_step(codes: Iterable[str]) -> Step:
    return Step(("full_update", _names(codes)))


def _blocked(
    policy: SyncPolicy,
    enabled: _Enabled,
    changed: frozenset[str],
    changed_fields: frozenset[SyncField],
    repriced: bool,
) -> tuple[Step, ...]:
    """The reasons a change of a listed product sends nothing (rule 4, last two bullets)."""
    reasons: list[Step] = []
    not_synced: set[SyncField] = set()
    other = changed_fields - _QUANTITY_PRICE
    if other:
        if policy._observed is not None:
            unobserved = [
                code for code in changed if CHANGE_FIELDS.get(code) not in _QUANTITY_PRICE
            ]
            reasons.append(
                Step(("unobserved_attributes", _names(unobserved), policy._observed_names))
            )
        else:
            not_synced |= other
    quantity_price = changed_fields & _QUANTITY_PRICE
    price_managed = False
    if quantity_price:
        if not policy.inventory_price_sync:
            reasons.append(Step(("inventory_price_sync_disabled", _names(quantity_price))))
        else:
            not_synced |= quantity_price - enabled.quantity_price
            price_managed = repriced and _PRICE in quantity_price & enabled.quantity_price
    if not_synced:
        reasons.append(Step(("fields_not_synced", _names(not_synced))))
    if price_managed:
        reasons.append(_PRICE_MANAGED)
    return tuple(reasons)


# ------------------------------------------------------------------------------------- diffs

_PRODUCT_FIELDS = (
    "sku",
    "name",
    "type",
    "enabled",
    "visibility",
    "price",
    "special_price",
    "special_from",
    "special_to",
    "categories",
    "attribute_set",
    "images",
    "parent_sku",
)


def _same(before: object, after: object) -> bool:
    """Equal values of the same type (so ``1`` and ``True`` differ, ``1.0`` and ``1.00`` not)."""
    return type(before) is type(after) and before == after


def _stock_changes(before: Stock | None, after: Stock | None) -> list[str]:
    """The stock codes of two different stock records (either may be ``None``)."""
    if before is None or after is None:
        return ["stock"]
    codes = []
    if (
        before.qty != after.qty
        or before.sources != after.sources
        or before.reserved != after.reserved
    ):
        codes.append("qty")
    if before.in_stock != after.in_stock:
        codes.append("in_stock")
    if (
        before.manage_stock != after.manage_stock
        or before.out_of_stock_threshold != after.out_of_stock_threshold
    ):
        codes.append("stock")
    return codes


def diff_products(before: Product, after: Product) -> frozenset[str]:
    """The codes that changed between two snapshots of a product, for :class:`ProductChange`.

    - a product field that differs gives its name: ``sku``, ``name``, ``type``, ``enabled``,
      ``visibility``, ``price``, ``special_price``, ``special_from``, ``special_to``,
      ``categories``, ``attribute_set``, ``images``, ``parent_sku``;
    - a custom attribute whose value differs gives its code (an attribute that appears or
      disappears too; a missing attribute counts as ``None``);
    - the stock gives ``qty`` when the quantity, the MSI sources or the reservations differ,
      ``in_stock`` when the stock status differs, and ``stock`` when "Manage Stock" or the
      out-of-stock threshold differ or when a stock record appears or disappears.

    >>> from policy_engine import Product, Stock, diff_products
    >>> before = Product(sku="S1", price=10, attributes={"color": "Red"}, stock=Stock(qty=5))
    >>> after = Product(sku="S1", price=12, attributes={"color": "Red"}, stock=Stock(qty=4))
    >>> sorted(diff_products(before, after))
    ['price', 'qty']
    """
    changed = [
        name for name in _PRODUCT_FIELDS if not _same(getattr(before, name), getattr(after, name))
    ]
    old, new = before.attributes, after.attributes
    if old is not new:
        changed.extend(
            code for code in old.keys() | new.keys() if not _same(old.get(code), new.get(code))
        )
    if before.stock != after.stock:
        changed.extend(_stock_changes(before.stock, after.stock))
    return frozenset(changed)
