"""The listing lifecycle: a listing's status and the list, stop and relist rules (issue 14).

A listing on a channel is ``active``, ``inactive`` (stopped by the rules), ``ended`` (the channel
ended the offer, e.g. at quantity 0) or ``user_stopped`` (the merchant stopped it by hand; it is
never relisted automatically unless the policy says so). A sync policy's rules move it:

- :class:`ListRules`: when a product not on the channel is uploaded (enabled, in stock, a
  minimum quantity, a condition);
- :class:`StopRules`: when an active listing is stopped (disabled, out of stock, a maximum
  quantity, a condition);
- :class:`RelistRules`: when a stopped or ended listing is relisted.

Besides the rules, the channel's ``zero_quantity`` (:class:`~policy_engine.ZeroQuantity`) says
what quantity 0 does: ``send`` it, ``stop`` the listing instead, or ``end`` the offer.

The rules are evaluated by one set of functions here, used by
:func:`~policy_engine.decide_sync` and :func:`~policy_engine.plan_stock_sync` alike, so a store
change and a stock event decide the same for the same listing. Every rule reads the *listed
quantity*: what the template's inventory policy gives the stock (``None`` when unknown).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from policy_engine._channels import ZeroQuantity
from policy_engine._conditions import Condition, dump_condition, load_condition
from policy_engine._models import Product
from policy_engine._serialization import DUMP, LOAD, structure
from policy_engine._steps import Step, define_messages
from policy_engine._templates import _is_condition, _to_condition
from policy_engine._validation import (
    Checked,
    Problem,
    at_least,
    check,
    describe,
    is_bool,
    is_int_or_none,
)

__all__ = [
    "ListRules",
    "ListingState",
    "ListingStatus",
    "RelistRules",
    "StopRules",
]


class ListingStatus(enum.StrEnum):
    """The state of a listing on its channel."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    ENDED = "ended"
    USER_STOPPED = "user_stopped"


_STATUSES = {member.value: member for member in ListingStatus}


def to_status(value: Any) -> Any:
    """Convert a status name to the member; leave anything else for the check."""
    return _STATUSES.get(value, value) if type(value) is str else value


def is_status_or_none(value: Any) -> str | None:
    """Check: a :class:`ListingStatus` or ``None``."""
    if value is None or isinstance(value, ListingStatus):
        return None
    allowed = ", ".join(repr(member.value) for member in ListingStatus)
    return f"must be one of {allowed} or null (got {value!r})"


def settle_listed(listing: Any) -> None:
    """Make ``listed`` follow a given ``status`` (true exactly for ``active``), after checks.

    A listing given ``listed: false`` with ``status: "active"`` is an error (reported by
    :func:`listed_problems`); any other ``listed`` is replaced by the status's.
    """
    status = listing.status
    if status is not None:
        object.__setattr__(listing, "listed", status is ListingStatus.ACTIVE)


def listed_problems(listing: Any) -> list[Problem]:
    """The contradiction of ``listed: false`` and ``status: "active"``."""
    if listing.status is ListingStatus.ACTIVE and listing.listed is False:
        return [("$.listed", "a listing with status 'active' is listed: drop listed or say true")]
    return []


def effective_status(listing: Any) -> ListingStatus | None:
    """A listing's status: the one given, else ``active`` when listed, else ``None`` (not on
    the channel: a product that an upload may list)."""
    if listing is None:
        return None
    status: ListingStatus | None = listing.status
    if status is not None:
        return status
    return ListingStatus.ACTIVE if listing.listed else None


# ---------------------------------------------------------------------------------- state


@attrs.frozen(kw_only=True)
class ListingState:
    """The listing state a lifecycle rule's condition may read, besides the product.

    In a condition: ``listing.status``, ``listing.last_quantity``, ``listing.last_price``,
    ``listing.price_managed_externally`` and ``account.channel``.

    Attributes:
        status: The listing's status (``active``, ``inactive``, ``ended``, ``user_stopped``),
            or ``None`` for a product not on the channel.
        last_quantity: The quantity last sent, or ``None``.
        last_price: The price last sent, or ``None``.
        price_managed_externally: Whether a repricer owns the price (``None`` without listing).
        channel: The account's channel, or ``None`` when unknown.
    """

    status: str | None = None
    last_quantity: int | None = None
    last_price: Decimal | None = None
    price_managed_externally: bool | None = None
    channel: str | None = None


def listing_state(listing: Any, status: ListingStatus | None, channel: str | None) -> ListingState:
    """The state of a :class:`~policy_engine.Listing` or a
    :class:`~policy_engine.ChannelListing` (``None``: no listing) for a rule's condition."""
    if listing is None:
        return ListingState(channel=channel)
    return ListingState(
        status=None if status is None else status.value,
        last_quantity=listing.last_quantity,
        last_price=getattr(listing, "last_price", None),
        price_managed_externally=listing.price_managed_externally,
        channel=channel,
    )


# ---------------------------------------------------------------------------------- rules


_CONDITION = {LOAD: load_condition, DUMP: dump_condition, **check(_is_condition)}


def _optional_quantity(minimum: int) -> Any:
    return attrs.field(default=None, metadata=check(is_int_or_none, at_least(minimum)))


@attrs.frozen(kw_only=True)
class ListRules(Checked):
    """When a product that is not on the channel is uploaded (every requirement must hold).

    Attributes:
        require_enabled: Only an enabled product is listed (the default, as before rules
            existed: a disabled product is not uploaded).
        require_in_stock: Only a product whose listed quantity is above 0.
        min_quantity: Only when the listed quantity is at least this (>= 1), or ``None``.
        condition: Only when this condition holds (it may name listing state), or ``None``.
    """

    require_enabled: bool = attrs.field(default=True, metadata=check(is_bool))
    require_in_stock: bool = attrs.field(default=False, metadata=check(is_bool))
    min_quantity: int | None = _optional_quantity(1)
    condition: Condition | None = attrs.field(
        default=None, converter=_to_condition, metadata=_CONDITION
    )


@attrs.frozen(kw_only=True)
class StopRules(Checked):
    """When an active listing is stopped (the first rule that holds stops it).

    The defaults stop nothing, as before rules existed.

    Attributes:
        when_disabled: Stop the listing of a product disabled in the store.
        when_out_of_stock: Stop a listing whose listed quantity is 0.
        max_quantity: Stop a listing whose listed quantity is at most this (>= 0), or ``None``.
        condition: Stop when this condition holds (it may name listing state), or ``None``.
    """

    when_disabled: bool = attrs.field(default=False, metadata=check(is_bool))
    when_out_of_stock: bool = attrs.field(default=False, metadata=check(is_bool))
    max_quantity: int | None = _optional_quantity(0)
    condition: Condition | None = attrs.field(
        default=None, converter=_to_condition, metadata=_CONDITION
    )

    def stops_at(self) -> int | None:
        """The highest listed quantity a stock rule stops at, or ``None`` (no stock rule)."""
        if self.max_quantity is not None:
            return self.max_quantity
        return 0 if self.when_out_of_stock else None


@attrs.frozen(kw_only=True)
class RelistRules(Checked):
    """When a stopped (``inactive``) or ``ended`` listing is relisted (every requirement must
    hold).

    Attributes:
        automatic: Relist automatically at all (default true).
        require_enabled: Only an enabled product (default true).
        require_in_stock: Only when the listed quantity is above 0 (default true).
        min_quantity: Only when the listed quantity is at least this (>= 1), or ``None``.
        condition: Only when this condition holds (it may name listing state), or ``None``.
        user_stopped: Also relist listings the merchant stopped by hand (default false: a
            ``user_stopped`` listing stays stopped).
    """

    automatic: bool = attrs.field(default=True, metadata=check(is_bool))
    require_enabled: bool = attrs.field(default=True, metadata=check(is_bool))
    require_in_stock: bool = attrs.field(default=True, metadata=check(is_bool))
    min_quantity: int | None = _optional_quantity(1)
    condition: Condition | None = attrs.field(
        default=None, converter=_to_condition, metadata=_CONDITION
    )
    user_stopped: bool = attrs.field(default=False, metadata=check(is_bool))

    def relists_from(self) -> int:
        """The lowest listed quantity the rules relist at."""
        if self.min_quantity is not None:
            return self.min_quantity
        return 1 if self.require_in_stock else 0


def to_list_rules(value: Any) -> Any:
    """Converter: a mapping of settings (``{"min_quantity": 2}``) builds :class:`ListRules`."""
    return structure(value, ListRules) if isinstance(value, Mapping) else value


def to_stop_rules(value: Any) -> Any:
    """Converter: a mapping of settings builds :class:`StopRules`."""
    return structure(value, StopRules) if isinstance(value, Mapping) else value


def to_relist_rules(value: Any) -> Any:
    """Converter: a mapping of settings builds :class:`RelistRules`."""
    return structure(value, RelistRules) if isinstance(value, Mapping) else value


def is_rules(cls: type[Any]) -> Any:
    """Check: an instance of one of the rule classes."""

    def check_rules(value: Any) -> str | None:
        if isinstance(value, cls):
            return None
        return f"expected {cls.__name__} (an object), got {describe(value)}"

    return check_rules


define_messages(
    {
        "stop_disabled": "the product is disabled in the store: stops the listing (stop rule)",
        "stop_out_of_stock": "the listed quantity is 0: stops the listing (stop rule)",
        "stop_quantity": "the listed quantity {0} is at most {1}: stops the listing (stop rule)",
        "stop_condition": "the stop rule's condition holds ({0}): stops the listing",
        "zero_refused": (
            "channel {0!r} does not accept quantity 0: the listing is deactivated instead"
        ),
        "zero_ends_offer": (
            "on channel {0!r} quantity 0 ends the offer: nothing is sent, the offer is ended"
            " and relisted when stock returns"
        ),
        "zero_not_listed": (
            "channel {0!r} cannot list at quantity 0: not listed until stock returns"
        ),
        "relist": "relists the {0} listing (relist rules)",
        "user_stopped": ("the merchant stopped this listing: it is not relisted automatically"),
        "relist_disabled": "the policy does not relist stopped listings automatically",
        "relist_not_met": "the {0} listing is not relisted: {1}",
        "list_not_met": "not listed: {0} (list rules)",
    }
)

ZERO_STEPS = {
    ZeroQuantity.STOP: ("zero_refused", ListingStatus.INACTIVE),
    ZeroQuantity.END: ("zero_ends_offer", ListingStatus.ENDED),
}


def stock_quantity(product: Product) -> int | None:
    """The listed quantity when the caller gives none: the store quantity (0 when out of stock),
    or ``None`` without a managed stock record (unknown: the stock rules do not apply)."""
    stock = product.stock
    if stock is None or not stock.manage_stock:
        return None
    return stock.qty if stock.in_stock and stock.qty > 0 else 0


def stop_step(
    rules: StopRules, enabled: bool, quantity: int | None, product: Product, state: Any
) -> Step | None:
    """The first stop rule that holds for an active listing, as its step, or ``None``."""
    if rules.when_disabled and not enabled:
        return Step(("stop_disabled",))
    if quantity is not None:
        if rules.when_out_of_stock and quantity == 0:
            return Step(("stop_out_of_stock",))
        if rules.max_quantity is not None and quantity <= rules.max_quantity:
            return Step(("stop_quantity", quantity, rules.max_quantity))
    condition = rules.condition
    if condition is not None and condition.matches_listing(product, state):
        return Step(("stop_condition", condition.to_text()))
    return None


def unmet(
    rules: ListRules | RelistRules,
    enabled: bool,
    quantity: int | None,
    product: Product,
    state: Any,
) -> str | None:
    """The first requirement of list or relist rules that does not hold, in words, or ``None``."""
    if rules.require_enabled and not enabled:
        return "the product is disabled in the store"
    if quantity is not None:
        if rules.require_in_stock and quantity == 0:
            return "the listed quantity is 0"
        if rules.min_quantity is not None and quantity < rules.min_quantity:
            return f"the listed quantity {quantity} is below {rules.min_quantity}"
    condition = rules.condition
    if condition is not None and not condition.matches_listing(product, state):
        return f"the condition does not hold ({condition.to_text()})"
    return None


def shown_quantity(quantity: int, minimum: int | None) -> int:
    """The quantity sent: at least the policy's ``minimum_shown_quantity`` when set."""
    return quantity if minimum is None or quantity >= minimum else minimum
