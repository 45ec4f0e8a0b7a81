"""Pricing policy and ``compute_price``: which price a channel gets (spec section 4).

The whole rule is :func:`compute_price`, read top to bottom in the spec's order: the base price
(the policy's price attribute, or the regular price as a fallback), the special price, the
adjustments, VAT, currency conversion, rounding to the currency's decimal places, the "charm"
ending, the minimum/maximum clamp and the final check that the price is above zero.

A policy is checked when it is built, then everything ``compute_price`` needs that depends on the
policy alone (the rounding quantum, the multipliers, the step arguments) is derived once and kept
on the policy, so a call does only the arithmetic that depends on the product.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Any, NoReturn

import attrs

from policy_engine._errors import PricingError
from policy_engine._models import Product, _to_money
from policy_engine._steps import Step, define_messages
from policy_engine._validation import (
    Checked,
    Problem,
    at_least,
    at_most,
    check,
    describe,
    fast_constructor,
    greater_than,
    is_bool,
    is_int,
    is_member,
    is_str,
    non_empty,
)

__all__ = [
    "Adjustment",
    "AdjustmentKind",
    "BestOfferRule",
    "BusinessRule",
    "Ending",
    "EndingDirection",
    "ExchangeRate",
    "MapRule",
    "MarketTax",
    "PriceOutputs",
    "PriceResult",
    "PriceRule",
    "PriceSource",
    "PriceVariationMode",
    "PricingPolicy",
    "PromotionKind",
    "PromotionRule",
    "QuantityTier",
    "Rounding",
    "SaleBelowMap",
    "SaleRule",
    "SaleWindow",
    "WholeEnding",
    "compute_price",
    "currency_places",
]


class AdjustmentKind(enum.StrEnum):
    """How an adjustment changes the price ("Price Change By")."""

    FIXED_INCREMENT = "fixed_increment"
    FIXED_DECREMENT = "fixed_decrement"
    PERCENT_INCREMENT = "percent_increment"
    PERCENT_DECREMENT = "percent_decrement"


class Rounding(enum.StrEnum):
    """How a price is rounded to the currency's decimal places.

    ``half_up`` rounds a half away from zero (2.345 → 2.35), ``half_even`` to the even digit
    (2.345 → 2.34), ``up`` toward +∞ (2.341 → 2.35) and ``down`` toward −∞ (2.349 → 2.34).
    """

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    UP = "up"
    DOWN = "down"


class EndingDirection(enum.StrEnum):
    """Which price with the wanted ending is taken: the next one up, down, or the nearest."""

    UP = "up"
    DOWN = "down"
    NEAREST = "nearest"


class PriceVariationMode(enum.StrEnum):
    """Which price the variants of a product family carry: their own, or their parent's."""

    CHILDREN = "children"
    PARENT = "parent"


define_messages(
    {
        "base_price": "base price {1} from {0!r}",
        "price_fallback": "{0!r} is {1}: the regular price {2} is used",
        "special_price_applied": "the special price {0} applies (below {1})",
        "special_price_not_lower": "the special price {0} is not below {1}: not applied",
        "special_price_inactive": "the special price {0} is not active on {3} (window {1} to {2})",
        "fixed_increment": "plus {0}: {1}",
        "fixed_decrement": "minus {0}: {1}",
        "percent_increment": "plus {0}%: {1}",
        "percent_decrement": "minus {0}%: {1}",
        "pack_price": "a pack of {0}: {1}",
        "vat": "VAT {0}% added: {1}",
        "conversion": "converted to {1} at the rate {0}: {2}",
        "rounding": "rounded {0} to {1} decimal places: {2}",
        "ending": "price ending {0} ({1}): {2}",
        "min_price": "raised to the minimum price {1} (was {0})",
        "max_price": "lowered to the maximum price {1} (was {0})",
    }
)

# ------------------------------------------------------------------------------------ arithmetic

_ZERO = Decimal(0)
_ONE = Decimal(1)
_HALF = Decimal("0.5")
_HUNDRED = Decimal(100)

#: The arithmetic context of every price computation: private, so a program that changes the
#: thread's decimal context (precision, traps) cannot change a price. 60 significant digits keep
#: every computation on money values (at most 12 integer digits) exact in practice.
_CONTEXT = Context(
    prec=60,
    rounding=ROUND_HALF_EVEN,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
_add = _CONTEXT.add
_subtract = _CONTEXT.subtract
_multiply = _CONTEXT.multiply

#: Money has at most 12 integer digits (section 1 of the spec).
_MONEY_LIMIT = Decimal("1E+12")

# ------------------------------------------------------------------------------------ currencies

_ZERO_PLACES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK"})
_THREE_PLACES = frozenset({"KWD", "BHD", "JOD", "OMR", "TND"})


def currency_places(code: str) -> int:
    """The number of decimal places of prices in a currency (ISO 4217 code).

    0 for JPY, KRW, VND, CLP and ISK; 3 for KWD, BHD, JOD, OMR and TND; 2 for every other code.

    >>> currency_places("JPY"), currency_places("KWD"), currency_places("EUR")
    (0, 3, 2)
    """
    if code in _ZERO_PLACES:
        return 0
    if code in _THREE_PLACES:
        return 3
    return 2


def decimal_places(amount: Decimal) -> int:
    """The decimal places a number needs (``0.90`` needs 1, ``12`` and ``12.00`` need 0)."""
    exponent = amount.normalize(_CONTEXT).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


# ---------------------------------------------------------------------------------- field rules


def _is_money(value: Any) -> str | None:
    if not isinstance(value, Decimal) or not value.is_finite():
        return f"expected money (a finite decimal number), got {describe(value)}"
    if value.copy_abs() >= _MONEY_LIMIT:
        return f"money must have at most 12 integer digits, got {value}"
    return None


def _is_money_or_none(value: Any) -> str | None:
    return None if value is None else _is_money(value)


def _is_currency(value: Any) -> str | None:
    valid = type(value) is str and len(value) == 3 and value.isascii() and value.isalpha()
    if valid and value.isupper():
        return None
    return f"expected a 3-letter upper-case ISO 4217 currency code such as 'USD' (got {value!r})"


_ADJUSTMENT_KINDS = {member.value: member for member in AdjustmentKind}
_DIRECTIONS = {member.value: member for member in EndingDirection}
_ROUNDINGS = {member.value: member for member in Rounding}


def _to_adjustment_kind(value: Any) -> Any:
    """Convert a valid string to the member; leave anything else for the check to report."""
    return _ADJUSTMENT_KINDS.get(value, value) if type(value) is str else value


def _to_direction(value: Any) -> Any:
    """Convert a valid string to the member; leave anything else for the check to report."""
    return _DIRECTIONS.get(value, value) if type(value) is str else value


def _to_rounding(value: Any) -> Any:
    """Convert a valid string to the member; leave anything else for the check to report."""
    return _ROUNDINGS.get(value, value) if type(value) is str else value


_VARIATION_MODES = {member.value: member for member in PriceVariationMode}


def _to_variation_mode(value: Any) -> Any:
    """Convert a valid string to the member; leave anything else for the check to report."""
    return _VARIATION_MODES.get(value, value) if type(value) is str else value


def _is_rounding_unit(value: Any) -> str | None:
    if value is None or (type(value) is int and value in ROUNDING_UNITS):
        return None
    got = repr(value) if type(value) is int else describe(value)
    return f"expected one of 1, 10, 100, 1000 or null (got {got})"


def _is_currency_or_none(value: Any) -> str | None:
    return None if value is None else _is_currency(value)


def _instance_or_none(cls: type[Any], what: str) -> Any:
    def _check(value: Any) -> str | None:
        if value is None or isinstance(value, cls):
            return None
        return f"expected {what} or null, got {describe(value)}"

    return _check


def _below_one(value: Any) -> str | None:
    return None if value < 1 else f"must be < 1 (got {value})"


# --------------------------------------------------------------------------------------- models


@attrs.frozen(kw_only=True)
class Adjustment(Checked):
    """One markup or markdown ("Price Change By"), applied to the price so far.

    Attributes:
        kind: ``fixed_increment``/``fixed_decrement`` add/subtract ``amount``;
            ``percent_increment``/``percent_decrement`` add/subtract ``amount`` percent.
        amount: The money amount or the percentage (>= 0; at most 100 for ``percent_decrement``).
    """

    kind: AdjustmentKind = attrs.field(
        converter=_to_adjustment_kind, metadata=check(is_member(AdjustmentKind))
    )
    amount: Decimal = attrs.field(converter=_to_money, metadata=check(_is_money, at_least(0)))

    def _cross_checks(self) -> list[Problem]:
        if self.kind is AdjustmentKind.PERCENT_DECREMENT and self.amount > 100:
            return [("$.amount", f"must be <= 100 for a percent_decrement (got {self.amount})")]
        return []


@attrs.frozen(kw_only=True)
class Ending(Checked):
    """A "charm" price ending such as .99: the fractional part every price is moved to.

    Attributes:
        value: The wanted fractional part, in ``[0, 1)``, with no more decimal places than the
            policy's currency has (``0.99`` for USD; only ``0`` for JPY).
        direction: ``up`` takes the smallest price with that ending at or above the rounded price,
            ``down`` the largest at or below it, ``nearest`` the closer of the two (a tie goes up).
    """

    value: Decimal = attrs.field(
        converter=_to_money, metadata=check(_is_money, at_least(0), _below_one)
    )
    direction: EndingDirection = attrs.field(
        default=EndingDirection.UP,
        converter=_to_direction,
        metadata=check(is_member(EndingDirection)),
    )


# ----------------------------------------------------------------------------- market options

#: The units a price may be rounded to (``rounding_unit``).
ROUNDING_UNITS = (1, 10, 100, 1000)


class PriceSource(enum.StrEnum):
    """Where an extra price starts: a product attribute, a fixed value or the main price."""

    ATTRIBUTE = "attribute"
    VALUE = "value"
    MAIN = "main"


class SaleWindow(enum.StrEnum):
    """Which dates a sale price carries: its own (``fixed``) or the product's special dates."""

    FIXED = "fixed"
    PRODUCT = "product"


class SaleBelowMap(enum.StrEnum):
    """What happens to a sale price below the minimum advertised price."""

    RAISE = "raise"
    DROP = "drop"


class PromotionKind(enum.StrEnum):
    """The kind of a promotional price (Walmart's reduced or clearance price)."""

    REDUCED = "reduced"
    CLEARANCE = "clearance"


def _is_str_or_none(value: Any) -> str | None:
    return None if value is None else is_str(value) or non_empty(value)


def _is_date_or_none(value: Any) -> str | None:
    if value is None or type(value) is date:
        return None
    return f"expected a date, got {describe(value)}"


def _is_date(value: Any) -> str | None:
    return None if type(value) is date else f"expected a date, got {describe(value)}"


_PRICE_SOURCES = {member.value: member for member in PriceSource}
_SALE_WINDOWS = {member.value: member for member in SaleWindow}
_SALE_BELOW = {member.value: member for member in SaleBelowMap}
_PROMOTION_KINDS = {member.value: member for member in PromotionKind}


def _to_price_source(value: Any) -> Any:
    """Convert a valid string to the member; leave anything else for the check to report."""
    return _PRICE_SOURCES.get(value, value) if type(value) is str else value


def _to_sale_window(value: Any) -> Any:
    """Convert a valid string to the member; leave anything else for the check to report."""
    return _SALE_WINDOWS.get(value, value) if type(value) is str else value


def _to_sale_below(value: Any) -> Any:
    """Convert a valid string to the member; leave anything else for the check to report."""
    return _SALE_BELOW.get(value, value) if type(value) is str else value


def _to_promotion_kind(value: Any) -> Any:
    """Convert a valid string to the member; leave anything else for the check to report."""
    return _PROMOTION_KINDS.get(value, value) if type(value) is str else value


def _list_tuple(values: Any) -> Any:
    return tuple(values) if isinstance(values, list) else values


def _all_of(cls: type[Any], what: str) -> Any:
    def _check(values: Any) -> str | None:
        if type(values) is not tuple:
            return f"expected a list of {what}, got {describe(values)}"
        for value in values:
            if not isinstance(value, cls):
                return f"expected {what}, got {describe(value)} in the list"
        return None

    return _check


def _instance(cls: type[Any], what: str) -> Any:
    def _check(value: Any) -> str | None:
        return None if isinstance(value, cls) else f"expected {what}, got {describe(value)}"

    return _check


# --------------------------------------------------------------------------------- market models


def _is_digits(value: Any) -> str | None:
    if type(value) is not str or not (1 <= len(value) <= 4) or not value.isascii():
        return f"expected 1 to 4 digits such as '980' (got {value!r})"
    if not value.isdigit():
        return f"expected 1 to 4 digits such as '980' (got {value!r})"
    return None


@attrs.frozen(kw_only=True)
class WholeEnding(Checked):
    """A whole-number ending such as ¥1,980 or ¥2,99: the last digits of the whole price.

    Attributes:
        digits: The wanted last digits of the whole part, 1 to 4 of them (``"980"``, ``"99"``);
            the price's decimals become zero.
        direction: ``up`` takes the smallest price with those digits at or above the rounded
            price, ``down`` the largest at or below it, ``nearest`` the closer (a tie goes up).
    """

    digits: str = attrs.field(metadata=check(_is_digits))
    direction: EndingDirection = attrs.field(
        default=EndingDirection.UP,
        converter=_to_direction,
        metadata=check(is_member(EndingDirection)),
    )


@attrs.frozen(kw_only=True)
class MarketTax(Checked):
    """Which tax the store's prices include and which one the market's prices include.

    Attributes:
        store_included: The tax percent included in the store's prices (removed first), or
            ``None`` when the store's prices are net.
        market_included: The tax percent the market's prices include (added), or ``None`` for a
            market that shows prices without tax.
    """

    store_included: Decimal | None = attrs.field(
        default=None,
        converter=_to_money,
        metadata=check(_is_money_or_none, at_least(0), at_most(100)),
    )
    market_included: Decimal | None = attrs.field(
        default=None,
        converter=_to_money,
        metadata=check(_is_money_or_none, at_least(0), at_most(100)),
    )


@attrs.frozen(kw_only=True)
class ExchangeRate(Checked):
    """One dated exchange rate: ``1 base = rate quote`` from ``valid_from`` until the next rate.

    Attributes:
        base: The currency converted from (the store's, ISO 4217).
        quote: The currency converted to (the channel's, ISO 4217).
        rate: How many units of ``quote`` one unit of ``base`` buys (> 0).
        valid_from: The first day the rate applies.
    """

    base: str = attrs.field(metadata=check(_is_currency))
    quote: str = attrs.field(metadata=check(_is_currency))
    rate: Decimal = attrs.field(converter=_to_money, metadata=check(_is_money))
    valid_from: date = attrs.field(metadata=check(_is_date))

    def _cross_checks(self) -> list[Problem]:
        problems: list[Problem] = []
        if self.rate <= 0:
            problems.append(("$.rate", f"must be > 0 (got {self.rate})"))
        if self.base == self.quote:
            problems.append(("$.quote", f"must differ from base {self.base!r}"))
        return problems


# --------------------------------------------------------------------------------- extra prices


@attrs.frozen(kw_only=True)
class PriceRule(Checked):
    """Where one extra price comes from and how it is changed ("its own steps").

    Attributes:
        source: ``attribute`` (a product attribute in the store's currency: it goes through the
            policy's tax and conversion like the main price), ``value`` (a fixed amount in the
            channel's currency) or ``main`` (the main price, as computed).
        attribute: The attribute code, for ``source: attribute``.
        value: The amount, for ``source: value``.
        adjustments: Markups and markdowns of this price, applied in order.
    """

    source: PriceSource = attrs.field(
        converter=_to_price_source, metadata=check(is_member(PriceSource))
    )
    attribute: str | None = attrs.field(default=None, metadata=check(_is_str_or_none))
    value: Decimal | None = attrs.field(
        default=None, converter=_to_money, metadata=check(_is_money_or_none, at_least(0))
    )
    adjustments: tuple[Adjustment, ...] = attrs.field(
        default=(), converter=_list_tuple, metadata=check(_all_of(Adjustment, "adjustments"))
    )

    def _cross_checks(self) -> list[Problem]:
        problems: list[Problem] = []
        source = self.source
        if source is PriceSource.ATTRIBUTE and self.attribute is None:
            problems.append(("$.attribute", "required with source 'attribute'"))
        if source is not PriceSource.ATTRIBUTE and self.attribute is not None:
            problems.append(
                (
                    "$.attribute",
                    f"only allowed with source 'attribute' (source is {source.value!r})",
                )
            )
        if source is PriceSource.VALUE and self.value is None:
            problems.append(("$.value", "required with source 'value'"))
        if source is not PriceSource.VALUE and self.value is not None:
            problems.append(
                ("$.value", f"only allowed with source 'value' (source is {source.value!r})")
            )
        return problems


_is_rule = _instance(PriceRule, "a price rule object")


@attrs.frozen(kw_only=True)
class SaleRule(Checked):
    """A sale price with its dates; it is sent only while below the main price.

    Attributes:
        price: Where the sale price comes from.
        window: ``fixed`` (``starts`` and ``ends`` below) or ``product`` (the product's special
            price dates).
        starts: The first day of a ``fixed`` sale, or ``None`` (open).
        ends: The last day of a ``fixed`` sale, or ``None`` (open).
    """

    price: PriceRule = attrs.field(metadata=check(_is_rule))
    window: SaleWindow = attrs.field(
        default=SaleWindow.FIXED,
        converter=_to_sale_window,
        metadata=check(is_member(SaleWindow)),
    )
    starts: date | None = attrs.field(default=None, metadata=check(_is_date_or_none))
    ends: date | None = attrs.field(default=None, metadata=check(_is_date_or_none))

    def _cross_checks(self) -> list[Problem]:
        problems: list[Problem] = []
        if self.window is SaleWindow.PRODUCT and (self.starts or self.ends):
            problems.append(("$.starts", "only allowed with window 'fixed'"))
        elif self.starts and self.ends and self.starts > self.ends:
            problems.append(
                ("$.ends", f"must not be before starts {self.starts} (got {self.ends})")
            )
        return problems


@attrs.frozen(kw_only=True)
class MapRule(Checked):
    """The minimum advertised price: a floor applied after every other rule.

    Attributes:
        price: Where the MAP comes from (usually a product attribute).
        expose: Whether the MAP itself is sent to the channel.
        sale_below: A sale price below the MAP is raised to it (``raise``) or not sent (``drop``).
    """

    price: PriceRule = attrs.field(metadata=check(_is_rule))
    expose: bool = attrs.field(default=False, metadata=check(is_bool))
    sale_below: SaleBelowMap = attrs.field(
        default=SaleBelowMap.RAISE,
        converter=_to_sale_below,
        metadata=check(is_member(SaleBelowMap)),
    )


@attrs.frozen(kw_only=True)
class QuantityTier(Checked):
    """A quantity discount of the business price.

    Attributes:
        quantity: The smallest order quantity the tier applies to (>= 2).
        percent_off: The discount from the business price, in percent (0 to 100, excluded).
    """

    quantity: int = attrs.field(metadata=check(is_int, at_least(2)))
    percent_off: Decimal = attrs.field(
        converter=_to_money, metadata=check(_is_money, at_least(0), at_most(99))
    )


@attrs.frozen(kw_only=True)
class BusinessRule(Checked):
    """A business (B2B) price with quantity tiers (Amazon Business).

    Attributes:
        price: Where the business price comes from.
        tiers: Quantity discounts, by increasing quantity and increasing discount.
    """

    price: PriceRule = attrs.field(metadata=check(_is_rule))
    tiers: tuple[QuantityTier, ...] = attrs.field(
        default=(), converter=_list_tuple, metadata=check(_all_of(QuantityTier, "quantity tiers"))
    )

    def _cross_checks(self) -> list[Problem]:
        problems: list[Problem] = []
        for index in range(1, len(self.tiers)):
            before, tier = self.tiers[index - 1], self.tiers[index]
            if tier.quantity <= before.quantity:
                message = (
                    f"must be above the previous tier's {before.quantity} (got {tier.quantity})"
                )
                problems.append((f"$.tiers[{index}].quantity", message))
            if tier.percent_off < before.percent_off:
                message = (
                    f"must not be below the previous tier's {before.percent_off}"
                    f" (got {tier.percent_off})"
                )
                problems.append((f"$.tiers[{index}].percent_off", message))
        return problems


@attrs.frozen(kw_only=True)
class BestOfferRule(Checked):
    """Best Offer thresholds (eBay): offers at or above ``accept`` are accepted, offers below
    ``decline`` declined.

    Attributes:
        accept: Where the auto-accept price comes from.
        decline: Where the auto-decline price comes from (it must end up below ``accept``).
    """

    accept: PriceRule = attrs.field(metadata=check(_is_rule))
    decline: PriceRule = attrs.field(metadata=check(_is_rule))


@attrs.frozen(kw_only=True)
class PromotionRule(Checked):
    """A promotional price (Walmart's reduced or clearance price), sent only while below the main
    price.

    Attributes:
        price: Where the promotional price comes from.
        kind: ``reduced`` or ``clearance``.
    """

    price: PriceRule = attrs.field(metadata=check(_is_rule))
    kind: PromotionKind = attrs.field(
        default=PromotionKind.REDUCED,
        converter=_to_promotion_kind,
        metadata=check(is_member(PromotionKind)),
    )


@attrs.frozen(kw_only=True)
class PriceOutputs(Checked):
    """The extra prices a listing carries beside its main price; each is off unless set.

    Attributes:
        sale: A sale price with dates, or ``None``.
        list_price: A strike-through or list price (RRP), or ``None``.
        map: The minimum advertised price, a floor of every price, or ``None``.
        business: A business price with quantity tiers, or ``None``.
        best_offer: Best Offer accept and decline thresholds, or ``None``.
        promotion: A promotional price, or ``None``.
    """

    sale: SaleRule | None = attrs.field(
        default=None, metadata=check(_instance_or_none(SaleRule, "a sale rule object"))
    )
    list_price: PriceRule | None = attrs.field(
        default=None, metadata=check(_instance_or_none(PriceRule, "a price rule object"))
    )
    map: MapRule | None = attrs.field(
        default=None, metadata=check(_instance_or_none(MapRule, "a MAP rule object"))
    )
    business: BusinessRule | None = attrs.field(
        default=None, metadata=check(_instance_or_none(BusinessRule, "a business rule object"))
    )
    best_offer: BestOfferRule | None = attrs.field(
        default=None,
        metadata=check(_instance_or_none(BestOfferRule, "a best offer rule object")),
    )
    promotion: PromotionRule | None = attrs.field(
        default=None,
        metadata=check(_instance_or_none(PromotionRule, "a promotion rule object")),
    )


def _adjustment_tuple(values: Any) -> Any:
    if type(values) is tuple:
        return values
    if isinstance(values, list):
        return tuple(values)
    return values


def _all_adjustments(values: Any) -> str | None:
    if type(values) is not tuple:
        return f"expected a list of adjustments, got {describe(values)}"
    for value in values:
        if not isinstance(value, Adjustment):
            return f"expected adjustments, got {describe(value)} in the list"
    return None


def _is_ending_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, Ending):
        return None
    return f"expected an ending object or null, got {describe(value)}"


_ROUNDING_MODES = {
    Rounding.HALF_UP: ROUND_HALF_UP,
    Rounding.HALF_EVEN: ROUND_HALF_EVEN,
    Rounding.UP: ROUND_CEILING,
    Rounding.DOWN: ROUND_FLOOR,
}


@attrs.frozen(kw_only=True)
class PricingPolicy(Checked):
    """How the price a channel gets is computed from a store product (spec section 4).

    Attributes:
        title: The policy's name (non-empty).
        price_attribute: Where the base price comes from: ``price`` (the regular price),
            ``special_price``, or any custom attribute code such as ``msrp``.
        fallback_to_price: Use the regular price when the price attribute is unusable.
        use_special_price: Apply the store's special price when it is lower and active.
        adjustments: Markups and markdowns, applied in order.
        vat_percent: VAT added after the adjustments (a percentage >= 0).
        conversion_rate: Store currency → channel currency (> 0).
        currency: The channel currency (ISO 4217); decides the decimal places of the price.
        rounding: How the price is rounded to the currency's decimal places.
        ending: A charm ending such as .99, or ``None``.
        min_price: The lowest price sent, or ``None``.
        max_price: The highest price sent, or ``None``.
        price_variation_mode: For a product family: ``children`` (each variant its own price,
            the listing the lowest) or ``parent`` (every variant the parent's price).
        pack_size: How many units one listed item holds (a lot or multipack): the unit price
            (after the special price) is multiplied by it before the adjustments. 1 sells single
            units.
        rounding_unit: Round the price (after the decimal places) to a multiple of 1, 10, 100
            or 1000 currency units with ``rounding``, or ``None``.
        whole_ending: A whole-number ending such as ``980`` (¥1,980), or ``None``; not with
            ``ending``.
        tax: The tax the store's and the market's prices include, or ``None``; not with
            ``vat_percent``.
        store_currency: The store's currency when the rate comes from the configuration's dated
            ``exchange_rates`` (then ``conversion_rate`` stays 1), or ``None``.
        outputs: The extra prices of the listing (sale, list price, MAP, business price, Best
            Offer, promotion), or ``None``.
    """

    title: str = attrs.field(metadata=check(is_str, non_empty))
    price_attribute: str = attrs.field(default="price", metadata=check(is_str, non_empty))
    fallback_to_price: bool = attrs.field(default=True, metadata=check(is_bool))
    use_special_price: bool = attrs.field(default=False, metadata=check(is_bool))
    adjustments: tuple[Adjustment, ...] = attrs.field(
        default=(), converter=_adjustment_tuple, metadata=check(_all_adjustments)
    )
    vat_percent: Decimal = attrs.field(
        default=Decimal(0), converter=_to_money, metadata=check(_is_money, at_least(0))
    )
    conversion_rate: Decimal = attrs.field(
        default=Decimal(1), converter=_to_money, metadata=check(_is_money, greater_than(0))
    )
    currency: str = attrs.field(default="USD", metadata=check(_is_currency))
    rounding: Rounding = attrs.field(
        default=Rounding.HALF_UP,
        converter=_to_rounding,
        metadata=check(is_member(Rounding)),
    )
    ending: Ending | None = attrs.field(default=None, metadata=check(_is_ending_or_none))
    min_price: Decimal | None = attrs.field(
        default=None, converter=_to_money, metadata=check(_is_money_or_none, at_least(0))
    )
    max_price: Decimal | None = attrs.field(
        default=None, converter=_to_money, metadata=check(_is_money_or_none, at_least(0))
    )
    price_variation_mode: PriceVariationMode = attrs.field(
        default=PriceVariationMode.CHILDREN,
        converter=_to_variation_mode,
        metadata=check(is_member(PriceVariationMode)),
    )
    pack_size: int = attrs.field(default=1, metadata=check(is_int, at_least(1)))
    rounding_unit: int | None = attrs.field(default=None, metadata=check(_is_rounding_unit))
    whole_ending: WholeEnding | None = attrs.field(
        default=None, metadata=check(_instance_or_none(WholeEnding, "a whole ending object"))
    )
    tax: MarketTax | None = attrs.field(
        default=None, metadata=check(_instance_or_none(MarketTax, "a market tax object"))
    )
    store_currency: str | None = attrs.field(default=None, metadata=check(_is_currency_or_none))
    outputs: PriceOutputs | None = attrs.field(
        default=None, metadata=check(_instance_or_none(PriceOutputs, "a price outputs object"))
    )

    # Derived from the fields above once the policy is valid (see ``__attrs_post_init__``); not
    # part of the JSON, of equality or of the repr.
    _source: int = attrs.field(init=False, eq=False, repr=False)
    _quantum: Decimal = attrs.field(init=False, eq=False, repr=False)
    _rounding_mode: str = attrs.field(init=False, eq=False, repr=False)
    _rounding_args: tuple[str, int] = attrs.field(init=False, eq=False, repr=False)
    _operations: tuple[tuple[bool, Decimal, str, str], ...] = attrs.field(
        init=False, eq=False, repr=False
    )
    _vat_factor: Decimal | None = attrs.field(init=False, eq=False, repr=False)
    _vat_text: str = attrs.field(init=False, eq=False, repr=False)
    _conversion: Decimal | None = attrs.field(init=False, eq=False, repr=False)
    _conversion_text: str = attrs.field(init=False, eq=False, repr=False)
    _ending_shift: Decimal | None = attrs.field(init=False, eq=False, repr=False)
    _ending_mode: str = attrs.field(init=False, eq=False, repr=False)
    _ending_value: Decimal = attrs.field(init=False, eq=False, repr=False)
    _ending_args: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)
    _min: Decimal | None = attrs.field(init=False, eq=False, repr=False)
    _max: Decimal | None = attrs.field(init=False, eq=False, repr=False)
    # Whether a market option is set: then compute_price hands over to the market pricing, which
    # keeps what it derives from the policy in _plan and the configuration's rates in _rates.
    _extended: bool = attrs.field(init=False, eq=False, repr=False)
    _plan: Any = attrs.field(init=False, eq=False, repr=False, default=None)
    _rates: Any = attrs.field(init=False, eq=False, repr=False, default=None)

    def _cross_checks(self) -> list[Problem]:
        problems: list[Problem] = []
        places = currency_places(self.currency)
        ending = self.ending
        if ending is not None and decimal_places(ending.value) > places:
            message = f"must have at most {places} decimal places for {self.currency}"
            problems.append(("$.ending.value", f"{message} (got {ending.value})"))
        low, high = self.min_price, self.max_price
        if low is not None and high is not None:
            if low > high:
                problems.append(("$.min_price", f"must be <= max_price {high} (got {low})"))
            else:
                quantum = _ONE.scaleb(-places, _CONTEXT)
                lowest = low.quantize(quantum, ROUND_CEILING, _CONTEXT)
                if lowest > high.quantize(quantum, ROUND_FLOOR, _CONTEXT):
                    problems.append(
                        (
                            "$.max_price",
                            (
                                f"no {self.currency} price with {places} decimal places lies"
                                f" between min_price {low} and max_price {high}"
                            ),
                        )
                    )
        problems.extend(self._market_problems(places))
        return problems

    def _market_problems(self, places: int) -> list[Problem]:
        """The combinations of the market options that cannot work."""
        problems: list[Problem] = []
        unit, whole = self.rounding_unit, self.whole_ending
        if self.ending is not None and unit is not None:
            message = (
                f"a fractional ending cannot follow rounding to {unit} units: use whole_ending"
            )
            problems.append(("$.ending", message))
        if self.ending is not None and whole is not None:
            problems.append(("$.whole_ending", "cannot be combined with a fractional ending"))
        if (
            whole is not None
            and unit is not None
            and (int(whole.digits) % unit or unit >= 10 ** len(whole.digits))
        ):
            message = (
                f"no multiple of {unit} ends in {whole.digits}: the digits must be a multiple"
                " of rounding_unit and longer than it"
            )
            problems.append(("$.whole_ending.digits", message))
        if self.tax is not None and self.vat_percent:
            problems.append(("$.tax", "cannot be combined with vat_percent: state the VAT in tax"))
        if self.store_currency is not None and self.conversion_rate != _ONE:
            message = "must be 1 with store_currency: the rate comes from exchange_rates"
            problems.append(("$.conversion_rate", message))
        return problems

    def __attrs_post_init__(self) -> None:
        # The checks run first: the constants below are derived from valid fields only.
        Checked.__attrs_post_init__(self)
        places = currency_places(self.currency)
        quantum = _ONE.scaleb(-places, _CONTEXT)
        derived: dict[str, Any] = {
            "_source": _SOURCES.get(self.price_attribute, _ATTRIBUTE),
            "_quantum": quantum,
            "_rounding_mode": _ROUNDING_MODES[self.rounding],
            "_rounding_args": (self.rounding.value, places),
            "_operations": tuple(_operation(adjustment) for adjustment in self.adjustments),
            "_vat_factor": (
                _CONTEXT.add(_ONE, _CONTEXT.divide(self.vat_percent, _HUNDRED))
                if self.vat_percent
                else None
            ),
            "_vat_text": str(self.vat_percent),
            "_conversion": self.conversion_rate if self.conversion_rate != _ONE else None,
            "_conversion_text": str(self.conversion_rate),
            "_min": None
            if self.min_price is None
            else self.min_price.quantize(quantum, ROUND_CEILING, _CONTEXT),
            "_max": None
            if self.max_price is None
            else self.max_price.quantize(quantum, ROUND_FLOOR, _CONTEXT),
            "_extended": self.rounding_unit is not None
            or self.whole_ending is not None
            or self.tax is not None
            or self.store_currency is not None
            or self.outputs is not None,
        }
        ending = self.ending
        if ending is None:
            derived.update(
                _ending_shift=None, _ending_mode=ROUND_FLOOR, _ending_value=quantum, _ending_args=()
            )
        else:
            value = ending.value.quantize(quantum, context=_CONTEXT)
            nearest = ending.direction is EndingDirection.NEAREST
            derived.update(
                # The price with the ending is integral(price - shift) + value, the integral part
                # taken toward +∞ (up) or −∞ (down); nearest is down after moving by a half.
                _ending_shift=_subtract(value, _HALF) if nearest else value,
                _ending_mode=ROUND_CEILING
                if ending.direction is EndingDirection.UP
                else ROUND_FLOOR,
                _ending_value=value,
                _ending_args=(str(value), ending.direction.value),
            )
        for name, value in derived.items():
            object.__setattr__(self, name, value)


_PRICE, _SPECIAL_PRICE, _ATTRIBUTE = 0, 1, 2
_SOURCES = {"price": _PRICE, "special_price": _SPECIAL_PRICE}


def _operation(adjustment: Adjustment) -> tuple[bool, Decimal, str, str]:
    """An adjustment as ``(multiply?, operand, step code, amount text)``."""
    kind, amount = adjustment.kind, adjustment.amount
    if kind is AdjustmentKind.FIXED_INCREMENT:
        return (False, amount, kind.value, str(amount))
    if kind is AdjustmentKind.FIXED_DECREMENT:
        return (False, amount.copy_negate(), kind.value, str(amount))
    percent = _CONTEXT.divide(amount, _HUNDRED)
    if kind is AdjustmentKind.PERCENT_INCREMENT:
        return (True, _CONTEXT.add(_ONE, percent), kind.value, str(amount))
    return (True, _CONTEXT.subtract(_ONE, percent), kind.value, str(amount))


@attrs.frozen(kw_only=True)
class PriceResult:
    """The price a channel gets, with each step that computed it.

    Attributes:
        amount: The price, > 0, with exactly the currency's decimal places (``Decimal("110.00")``,
            ``Decimal("1235")`` for JPY).
        currency: The channel currency.
        steps: Each step that changed the price, in order (codes and values; messages on reading).
    """

    amount: Decimal
    currency: str
    steps: tuple[Step, ...] = ()


# -------------------------------------------------------------------------------------- the rule

_MISSING = object()
_price_result = fast_constructor(PriceResult)


def _usable_price(value: object) -> Decimal | str:
    """The value as a usable base price, or why it is not one (``null``, ``not a number``…).

    A usable price is an ``int``, a finite ``Decimal`` or a string holding a decimal number
    (``"59.00"``; what a money field accepts when it is loaded), above zero and with at most 12
    integer digits. Booleans, lists and anything else are not numbers.
    """
    if type(value) is str:
        try:
            amount = Decimal(value)
        except InvalidOperation:
            return "not a number"
        if not amount.is_finite():
            return "not a number"
    elif type(value) is Decimal:
        if not value.is_finite():
            return "not a number"
        amount = value
    elif type(value) is int:
        amount = Decimal(value)
    elif value is _MISSING:
        return "missing"
    elif value is None:
        return "null"
    else:
        return "not a number"
    if amount <= _ZERO:
        return "not positive"
    if amount >= _MONEY_LIMIT:
        return "too large"
    return amount


def _base_price(product: Product, policy: PricingPolicy, raw: object, steps: list[Step]) -> Decimal:
    """Step 1 beyond the common case: a text or integer attribute, the fallback, or an error."""
    attribute = policy.price_attribute
    why = _usable_price(raw)
    if type(why) is Decimal:
        steps.append(Step(("base_price", attribute, str(why))))
        return why
    if policy.fallback_to_price and policy._source != _PRICE:
        regular = _usable_price(product.price)
        if type(regular) is Decimal:
            steps.append(Step(("price_fallback", attribute, why, str(regular))))
            return regular
        why = f"{why} and the regular price is {regular}"
    message = f"no usable price for SKU {product.sku!r}: {attribute!r} is {why}"
    raise PricingError(message, sku=product.sku, attribute=attribute, code="missing_price")


def _as_date(value: object) -> date:
    """The day given as ``on``: a date, or a datetime's date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    msg = f"'on' must be a date, got {type(value).__name__}"
    raise TypeError(msg)


def _special_price(product: Product, base: Decimal, on: date | None, steps: list[Step]) -> Decimal:
    """Step 2: Magento's final price, ``min(base, special_price)`` while its window is open."""
    special = _usable_price(product.special_price)
    if type(special) is not Decimal:
        return base
    start, end = product.special_from, product.special_to
    if start is not None or end is not None:
        on = datetime.now(UTC).date() if on is None else _as_date(on)
        if (start is not None and on < start) or (end is not None and on > end):
            steps.append(
                Step(
                    (
                        "special_price_inactive",
                        str(special),
                        "open" if start is None else start.isoformat(),
                        "open" if end is None else end.isoformat(),
                        on.isoformat(),
                    )
                )
            )
            return base
    if special < base:
        steps.append(Step(("special_price_applied", str(special), str(base))))
        return special
    steps.append(Step(("special_price_not_lower", str(special), str(base))))
    return base


def compute_price(
    product: Product, pricing_policy: PricingPolicy, *, on: date | None = None
) -> PriceResult:
    """Compute the price a channel gets for a product under a pricing policy.

    The steps, in order (spec section 4): the base price from ``price_attribute`` (the regular
    price when it is unusable and ``fallback_to_price`` is on); the special price when it is
    lower and its window contains ``on``; the adjustments; VAT; conversion; rounding to the
    currency's decimal places; the ending; the ``min_price``/``max_price`` clamp.

    Args:
        product: The store product.
        pricing_policy: The policy.
        on: The day the special-price window is checked against (a ``datetime`` counts as its
            date); when omitted, today's date in UTC, read only when a special price with a
            window has to be checked.

    Returns:
        The price, above zero and with exactly the currency's decimal places.

    Raises:
        PricingError: ``missing_price`` when no usable base price exists,
            ``non_positive_price`` when the final price is zero or negative,
            ``price_out_of_range`` when it would have more than 12 integer digits.

    >>> from decimal import Decimal
    >>> from policy_engine import Adjustment, PricingPolicy, Product, compute_price
    >>> policy = PricingPolicy(
    ...     title="AliExpress +10%",
    ...     adjustments=[Adjustment(kind="percent_increment", amount=Decimal(10))],
    ... )
    >>> compute_price(Product(sku="TEE-1", price=Decimal("100.00")), policy).amount
    Decimal('110.00')
    """
    policy = pricing_policy
    if policy._extended:
        from policy_engine._price_set import market_price  # noqa: PLC0415 - it imports this module

        return market_price(product, policy, on)
    steps: list[Step] = []

    # 1. Base price, the common case (a positive Decimal) inlined.
    source = policy._source
    if source == _PRICE:
        raw: object = product.price
    elif source == _ATTRIBUTE:
        raw = product.attributes.get(policy.price_attribute, _MISSING)
    else:
        raw = product.special_price
    if type(raw) is Decimal and raw.is_finite() and _ZERO < raw < _MONEY_LIMIT:
        value = raw
        steps.append(Step(("base_price", policy.price_attribute, str(value))))
    else:
        value = _base_price(product, policy, raw, steps)

    # 2. Special price.
    if policy.use_special_price and product.special_price is not None:
        value = _special_price(product, value, on, steps)

    try:
        # A pack of several units is priced as that many units, before the adjustments.
        pack = policy.pack_size
        if pack != 1:
            value = _multiply(value, Decimal(pack))
            steps.append(Step(("pack_price", pack, str(value))))

        # 3. Adjustments, in order.
        for multiply, operand, code, amount_text in policy._operations:
            value = _multiply(value, operand) if multiply else _add(value, operand)
            steps.append(Step((code, amount_text, str(value))))

        # 4. VAT. 5. Conversion.
        vat = policy._vat_factor
        if vat is not None:
            value = _multiply(value, vat)
            steps.append(Step(("vat", policy._vat_text, str(value))))
        rate = policy._conversion
        if rate is not None:
            value = _multiply(value, rate)
            steps.append(Step(("conversion", policy._conversion_text, policy.currency, str(value))))

        # 6. Rounding to the currency's decimal places.
        amount = value.quantize(policy._quantum, policy._rounding_mode, _CONTEXT)
        if amount != value:
            steps.append(Step(("rounding", *policy._rounding_args, str(amount))))

        # 7. Ending: integral(amount - shift) + ending value (see PricingPolicy._ending_shift).
        shift = policy._ending_shift
        if shift is not None:
            whole = _subtract(amount, shift).to_integral_value(policy._ending_mode, _CONTEXT)
            ended = _add(whole, policy._ending_value)
            if ended != amount:
                amount = ended
                steps.append(Step(("ending", *policy._ending_args, str(amount))))
    except DecimalException:
        _raise_out_of_range(product, policy)

    # 8. Clamp. The bounds were rounded inward to the currency's places when the policy was built.
    low = policy._min
    if low is not None and amount < low:
        steps.append(Step(("min_price", str(amount), str(low))))
        amount = low
    high = policy._max
    if high is not None and amount > high:
        steps.append(Step(("max_price", str(amount), str(high))))
        amount = high

    # 9. A marketplace never gets a zero or negative price.
    if amount <= _ZERO:
        message = (
            f"the computed price of SKU {product.sku!r} is {amount} {policy.currency}:"
            " a price must be above 0"
        )
        raise PricingError(
            message, sku=product.sku, attribute=policy.price_attribute, code="non_positive_price"
        )
    if amount >= _MONEY_LIMIT:
        _raise_out_of_range(product, policy)
    return _price_result(amount, policy.currency, tuple(steps))


def _raise_out_of_range(product: Product, policy: PricingPolicy) -> NoReturn:
    message = (
        f"the computed price of SKU {product.sku!r} in {policy.currency} would have more than 12"
        " integer digits"
    )
    raise PricingError(
        message, sku=product.sku, attribute=policy.price_attribute, code="price_out_of_range"
    )
