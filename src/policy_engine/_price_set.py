"""Several prices per listing and prices that suit each market: ``compute_prices`` and
``PriceSet`` (spec section 4, market options).

A pricing policy with a market option (``rounding_unit``, ``whole_ending``, ``tax``,
``store_currency`` or ``outputs``) is priced here; :func:`~policy_engine.compute_price` hands such
a policy over and keeps its own path for every other policy, which therefore prices exactly as
before. The main price follows the steps of ``compute_price`` with these changes: the tax of the
market replaces VAT, a dated rate from the configuration replaces ``conversion_rate``, rounding to
a unit and a whole-number ending follow the rounding to the currency's places, and the minimum
advertised price (MAP) is a floor applied after everything else.

Each extra price (sale, list price, MAP, business price, Best Offer, promotion) starts from a
product attribute, a value or the main price, goes through its own adjustments and is rounded
like the main price; the MAP floors every one of them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, DecimalException
from typing import Any

import attrs

from policy_engine._errors import PricingError
from policy_engine._models import Product
from policy_engine._pricing import (
    _CONTEXT,
    _HALF,
    _HUNDRED,
    _MISSING,
    _MONEY_LIMIT,
    _ONE,
    _PRICE,
    _ZERO,
    Adjustment,
    BestOfferRule,
    BusinessRule,
    EndingDirection,
    ExchangeRate,
    MapRule,
    PriceResult,
    PriceRule,
    PriceSource,
    PricingPolicy,
    PromotionKind,
    PromotionRule,
    SaleBelowMap,
    SaleRule,
    SaleWindow,
    _as_date,
    _base_price,
    _operation,
    _raise_out_of_range,
    _special_price,
    _usable_price,
    compute_price,
)
from policy_engine._steps import Step, define_messages
from policy_engine._validation import fast_constructor

__all__ = [
    "BestOfferPrices",
    "BusinessPrice",
    "ExtraPrice",
    "MapPrice",
    "PriceSet",
    "PromotionPrice",
    "SalePrice",
    "TierPrice",
    "bind_rates",
    "compute_prices",
    "market_price",
]

define_messages(
    {
        "tax_removed": "store tax {0}% removed: {1}",
        "tax_added": "market tax {0}% added: {1}",
        "dated_rate": "converted {0} to {1} at the rate {2} valid from {3}: {4}",
        "rounding_unit": "rounded {0} to a multiple of {1}: {2}",
        "whole_ending": "whole-number ending {0} ({1}): {2}",
        "map_floor": "raised to the minimum advertised price {1} (was {0})",
        "extra_price": "{0} {4}: {1} {2}{3}",
        "output_missing": "no {0}: {1!r} is {2}",
        "output_not_positive": "no {0}: it would be {1}",
        "sale_not_lower": "no sale price: {0} is not below the main price {1}",
        "sale_outside_window": "no sale price: {0} is outside the sale ({1} to {2})",
        "sale_below_map": "no sale price: {0} is below the minimum advertised price {1}",
        "promotion_not_lower": "no promotion: {0} is not below the main price {1}",
        "best_offer_crossed": "no Best Offer: decline {0} is not below accept {1}",
        "tier_price": "{1}% off from {0} units: {2}",
    }
)

# ------------------------------------------------------------------------------------- results


@attrs.frozen(kw_only=True)
class ExtraPrice:
    """An extra price of a listing (the list price), with the steps that computed it.

    Attributes:
        amount: The price, > 0, with exactly the currency's decimal places.
        steps: Each step that computed it, in order.
    """

    amount: Decimal
    steps: tuple[Step, ...] = ()


@attrs.frozen(kw_only=True)
class SalePrice:
    """A sale price and its dates.

    Attributes:
        amount: The sale price, below the main price.
        starts: The first day of the sale, or ``None`` (open).
        ends: The last day of the sale, or ``None`` (open).
        steps: Each step that computed it, in order.
    """

    amount: Decimal
    starts: date | None = None
    ends: date | None = None
    steps: tuple[Step, ...] = ()


@attrs.frozen(kw_only=True)
class MapPrice:
    """The minimum advertised price, the floor of every price of the listing.

    Attributes:
        amount: The MAP, rounded up to the currency's decimal places.
        expose: Whether the MAP itself is sent to the channel.
        steps: Each step that computed it, in order.
    """

    amount: Decimal
    expose: bool = False
    steps: tuple[Step, ...] = ()


@attrs.frozen(kw_only=True)
class TierPrice:
    """The business price from a quantity on.

    Attributes:
        quantity: The smallest order quantity of the tier.
        amount: The unit price from that quantity on.
    """

    quantity: int
    amount: Decimal


@attrs.frozen(kw_only=True)
class BusinessPrice:
    """A business (B2B) price with its quantity tiers.

    Attributes:
        amount: The business price of one unit.
        tiers: The unit price from each tier's quantity on, by increasing quantity.
        steps: Each step that computed it, in order.
    """

    amount: Decimal
    tiers: tuple[TierPrice, ...] = ()
    steps: tuple[Step, ...] = ()


@attrs.frozen(kw_only=True)
class BestOfferPrices:
    """Best Offer thresholds: accept offers at or above ``accept``, decline those below
    ``decline``.

    Attributes:
        accept: The auto-accept price.
        decline: The auto-decline price, below ``accept``.
        steps: Each step that computed them, in order.
    """

    accept: Decimal
    decline: Decimal
    steps: tuple[Step, ...] = ()


@attrs.frozen(kw_only=True)
class PromotionPrice:
    """A promotional price (reduced or clearance), below the main price.

    Attributes:
        amount: The promotional price.
        kind: ``reduced`` or ``clearance``.
        steps: Each step that computed it, in order.
    """

    amount: Decimal
    kind: PromotionKind = PromotionKind.REDUCED
    steps: tuple[Step, ...] = ()


@attrs.frozen(kw_only=True)
class PriceSet:
    """Every price of a listing: the main price and the extra prices the policy configures.

    An extra price is ``None`` when the policy does not configure it, or when it is not sent for
    this product (then a step of ``steps`` says why).

    Attributes:
        main: The main price, as :func:`~policy_engine.compute_price` gives it.
        sale: The sale price and its dates.
        list_price: The strike-through or list price.
        map: The minimum advertised price.
        business: The business price and its quantity tiers.
        best_offer: The Best Offer accept and decline prices.
        promotion: The promotional price.
        steps: Why a configured extra price is not sent.
    """

    main: PriceResult
    sale: SalePrice | None = None
    list_price: ExtraPrice | None = None
    map: MapPrice | None = None
    business: BusinessPrice | None = None
    best_offer: BestOfferPrices | None = None
    promotion: PromotionPrice | None = None
    steps: tuple[Step, ...] = ()

    @property
    def amount(self) -> Decimal:
        """The main price's amount."""
        return self.main.amount

    @property
    def currency(self) -> str:
        """The channel currency."""
        return self.main.currency


_price_result = fast_constructor(PriceResult)
_extra_price = fast_constructor(ExtraPrice)
_sale_price = fast_constructor(SalePrice)
_map_price_result = fast_constructor(MapPrice)
_tier_price = fast_constructor(TierPrice)
_business_price = fast_constructor(BusinessPrice)
_best_offer_prices = fast_constructor(BestOfferPrices)
_promotion_price = fast_constructor(PromotionPrice)
_price_set = fast_constructor(PriceSet)

# --------------------------------------------------------------------------------- rate tables

#: A rate table: (base, quote) -> (the valid_from days in order, the rates in the same order).
RateTable = Mapping[tuple[str, str], tuple[tuple[date, ...], tuple[ExchangeRate, ...]]]


def rate_table(rates: Iterable[ExchangeRate]) -> RateTable:
    """The rates by currency pair, each pair's in the order of their first day."""
    pairs: dict[tuple[str, str], list[ExchangeRate]] = {}
    for rate in rates:
        pairs.setdefault((rate.base, rate.quote), []).append(rate)
    table = {}
    for pair, listed in pairs.items():
        listed.sort(key=lambda rate: rate.valid_from)
        table[pair] = (tuple(rate.valid_from for rate in listed), tuple(listed))
    return table


def _lookup(table: RateTable, base: str, quote: str, on: date) -> ExchangeRate | None:
    entry = table.get((base, quote))
    if entry is None:
        return None
    index = bisect_right(entry[0], on)
    return entry[1][index - 1] if index else None


def bind_rates(policy: PricingPolicy, table: RateTable) -> PricingPolicy:
    """A copy of a policy that converts with the configuration's rate table."""
    bound = attrs.evolve(policy)
    object.__setattr__(bound, "_rates", table)
    return bound


# ----------------------------------------------------------------------------------- the plan


class _Rule:
    """One extra price rule, ready to compute: its source and its adjustments as operations."""

    __slots__ = ("attribute", "operations", "origin", "source", "text", "value", "value_text")

    def __init__(self, rule: PriceRule, policy: PricingPolicy) -> None:
        self.source = _SOURCE_CODES[rule.source]
        self.attribute = rule.attribute
        self.value = rule.value
        self.value_text = str(rule.value)
        self.operations = tuple(_operation(adjustment) for adjustment in rule.adjustments)
        #: How its one step names the source and the changes (``'msrp'``, ``, minus 10%``).
        self.origin = {
            _FROM_MAIN: "the main price",
            _FROM_VALUE: "the value",
            _FROM_ATTRIBUTE: repr(rule.attribute),
        }[self.source]
        changes = [_change_text(adjustment) for adjustment in rule.adjustments]
        converted = (
            policy.tax is not None
            or policy.vat_percent
            or policy.conversion_rate != _ONE
            or policy.store_currency is not None
        )
        if self.source == _FROM_ATTRIBUTE and converted:
            changes.append("with the tax and conversion of the main price")
        self.text = "".join(f", {change}" for change in changes)


def _change_text(adjustment: Adjustment) -> str:
    sign = "plus" if adjustment.kind.value.endswith("increment") else "minus"
    percent = "%" if adjustment.kind.value.startswith("percent") else ""
    return f"{sign} {adjustment.amount}{percent}"


_FROM_MAIN, _FROM_VALUE, _FROM_ATTRIBUTE = 0, 1, 2
_SOURCE_CODES = {
    PriceSource.MAIN: _FROM_MAIN,
    PriceSource.VALUE: _FROM_VALUE,
    PriceSource.ATTRIBUTE: _FROM_ATTRIBUTE,
}


def _rule_or_none(rule: PriceRule | None, policy: PricingPolicy) -> _Rule | None:
    return None if rule is None else _Rule(rule, policy)


class _Plan:
    """What the market pricing derives from a policy alone, once (kept on the policy)."""

    __slots__ = (
        "accept",
        "best_offer",
        "business",
        "business_rule",
        "core",
        "decline",
        "list_price",
        "map",
        "map_rule",
        "market_factor",
        "market_text",
        "plain_rounding",
        "promotion",
        "promotion_rule",
        "sale",
        "sale_rule",
        "store_factor",
        "store_text",
        "tiers",
        "unit",
        "whole",
    )

    def __init__(self, policy: PricingPolicy) -> None:
        tax = policy.tax
        self.store_factor: Decimal | None = None
        self.market_factor: Decimal | None = None
        self.store_text = self.market_text = ""
        if tax is not None and tax.store_included:
            self.store_factor = _percent_factor(tax.store_included)
            self.store_text = str(tax.store_included)
        if tax is not None and tax.market_included:
            self.market_factor = _percent_factor(tax.market_included)
            self.market_text = str(tax.market_included)
        unit = policy.rounding_unit
        self.unit: Decimal | None = None if unit is None else Decimal(unit)
        whole = policy.whole_ending
        #: (modulus, digits value, shift, rounding mode, step args) of a whole-number ending.
        self.whole: tuple[Decimal, Decimal, Decimal, str, tuple[str, str]] | None = None
        if whole is not None:
            modulus = Decimal(10 ** len(whole.digits))
            value = Decimal(int(whole.digits))
            nearest = whole.direction is EndingDirection.NEAREST
            shift = (
                _CONTEXT.subtract(value, _CONTEXT.multiply(_HALF, modulus)) if nearest else value
            )
            mode = ROUND_CEILING if whole.direction is EndingDirection.UP else ROUND_FLOOR
            self.whole = (modulus, value, shift, mode, (whole.digits, whole.direction.value))
        #: Rounding to the places only: no unit, no ending.
        self.plain_rounding = unit is None and whole is None and policy.ending is None
        #: With extra prices as the only market option, the main price is compute_price's
        #: under the policy without them (then floored by the MAP).
        self.core: PricingPolicy | None = None
        if tax is None and unit is None and whole is None and policy.store_currency is None:
            self.core = attrs.evolve(policy, outputs=None)
        outputs = policy.outputs
        self.sale: SaleRule | None = None if outputs is None else outputs.sale
        self.map: MapRule | None = None if outputs is None else outputs.map
        self.business: BusinessRule | None = None if outputs is None else outputs.business
        self.best_offer: BestOfferRule | None = None if outputs is None else outputs.best_offer
        self.promotion: PromotionRule | None = None if outputs is None else outputs.promotion
        self.sale_rule = _rule_or_none(None if self.sale is None else self.sale.price, policy)
        self.list_price = _rule_or_none(None if outputs is None else outputs.list_price, policy)
        self.map_rule = _rule_or_none(None if self.map is None else self.map.price, policy)
        self.business_rule = _rule_or_none(
            None if self.business is None else self.business.price, policy
        )
        self.tiers: tuple[tuple[int, Decimal, str], ...] = (
            ()
            if self.business is None
            else tuple(
                (
                    tier.quantity,
                    _CONTEXT.subtract(_ONE, _CONTEXT.divide(tier.percent_off, _HUNDRED)),
                    str(tier.percent_off),
                )
                for tier in self.business.tiers
            )
        )
        offer = self.best_offer
        self.accept = _rule_or_none(None if offer is None else offer.accept, policy)
        self.decline = _rule_or_none(None if offer is None else offer.decline, policy)
        self.promotion_rule = _rule_or_none(
            None if self.promotion is None else self.promotion.price, policy
        )


def _percent_factor(percent: Decimal) -> Decimal:
    return _CONTEXT.add(_ONE, _CONTEXT.divide(percent, _HUNDRED))


def _plan(policy: PricingPolicy) -> _Plan:
    plan: _Plan | None = policy._plan
    if plan is None:
        plan = _Plan(policy)
        object.__setattr__(policy, "_plan", plan)
    return plan


# ----------------------------------------------------------------------------------- the rule


class _Pricing:
    """One computation: the product, the policy, the day and the rate table."""

    __slots__ = ("main_text", "on", "plan", "policy", "product", "table")

    def __init__(
        self, product: Product, policy: PricingPolicy, on: date | None, table: RateTable | None
    ) -> None:
        self.product = product
        self.policy = policy
        self.plan = _plan(policy)
        self.on = on
        self.table = table
        self.main_text = ""

    def day(self) -> date:
        on = self.on
        return datetime.now(UTC).date() if on is None else _as_date(on)

    def to_market(self, value: Decimal, steps: list[Step] | None) -> Decimal:
        """Tax (or VAT) and conversion of a value in the store's currency."""
        policy, plan = self.policy, self.plan
        if plan.store_factor is not None:
            value = _CONTEXT.divide(value, plan.store_factor)
            if steps is not None:
                steps.append(Step(("tax_removed", plan.store_text, str(value))))
        if plan.market_factor is not None:
            value = _CONTEXT.multiply(value, plan.market_factor)
            if steps is not None:
                steps.append(Step(("tax_added", plan.market_text, str(value))))
        vat = policy._vat_factor
        if vat is not None:
            value = _CONTEXT.multiply(value, vat)
            if steps is not None:
                steps.append(Step(("vat", policy._vat_text, str(value))))
        base = policy.store_currency
        if base is not None and base != policy.currency:
            rate = self.rate(base)
            value = _CONTEXT.multiply(value, rate.rate)
            args = (base, policy.currency, str(rate.rate), rate.valid_from.isoformat(), str(value))
            if steps is not None:
                steps.append(Step(("dated_rate", *args)))
        elif policy._conversion is not None:
            value = _CONTEXT.multiply(value, policy._conversion)
            if steps is not None:
                steps.append(
                    Step(("conversion", policy._conversion_text, policy.currency, str(value)))
                )
        return value

    def rate(self, base: str) -> ExchangeRate:
        """The rate from the store's currency to the channel's on the day, or ``missing_rate``."""
        policy = self.policy
        on = self.day()
        table = self.table
        rate = None if table is None else _lookup(table, base, policy.currency, on)
        if rate is None:
            where = (
                "the policy has no exchange rates (use it from a configuration, or pass rates=)"
                if table is None
                else "the configuration's exchange_rates have none"
            )
            message = (
                f"no exchange rate {base}->{policy.currency} valid on {on.isoformat()} for SKU"
                f" {self.product.sku!r}: {where}"
            )
            raise PricingError(
                message,
                sku=self.product.sku,
                attribute=policy.price_attribute,
                code="missing_rate",
            )
        return rate

    def finish(self, value: Decimal, steps: list[Step] | None) -> Decimal:
        """Rounding to the places, to the unit, and the ending (whole-number or fractional)."""
        policy, plan = self.policy, self.plan
        if plan.plain_rounding:
            amount = value.quantize(policy._quantum, policy._rounding_mode, _CONTEXT)
            if amount != value and steps is not None:
                steps.append(Step(("rounding", *policy._rounding_args, str(amount))))
            return amount
        unit = plan.unit
        if unit is None:
            amount = value.quantize(policy._quantum, policy._rounding_mode, _CONTEXT)
            if amount != value and steps is not None:
                steps.append(Step(("rounding", *policy._rounding_args, str(amount))))
        else:
            # A unit is never finer than the currency's places: one rounding, straight to it.
            units = _CONTEXT.divide(value, unit).to_integral_value(policy._rounding_mode, _CONTEXT)
            amount = _CONTEXT.multiply(units, unit).quantize(policy._quantum, context=_CONTEXT)
            if amount != value and steps is not None:
                steps.append(Step(("rounding_unit", policy.rounding.value, str(unit), str(amount))))
        whole = plan.whole
        if whole is not None:
            modulus, digits, whole_shift, mode, args = whole
            count = _CONTEXT.divide(_CONTEXT.subtract(amount, whole_shift), modulus)
            ended = _CONTEXT.add(
                _CONTEXT.multiply(count.to_integral_value(mode, _CONTEXT), modulus), digits
            ).quantize(policy._quantum, context=_CONTEXT)
            if ended != amount:
                amount = ended
                if steps is not None:
                    steps.append(Step(("whole_ending", *args, str(amount))))
        shift = policy._ending_shift
        if shift is not None:
            integral = _CONTEXT.subtract(amount, shift).to_integral_value(
                policy._ending_mode, _CONTEXT
            )
            ended = _CONTEXT.add(integral, policy._ending_value)
            if ended != amount:
                amount = ended
                if steps is not None:
                    steps.append(Step(("ending", *policy._ending_args, str(amount))))
        return amount

    def main(self) -> PriceResult:
        """The main price (compute_price's steps with the market options), before the MAP."""
        product, policy = self.product, self.policy
        core = self.plan.core
        if core is not None:
            return compute_price(product, core, on=self.on)
        steps: list[Step] = []
        source = policy._source
        if source == _PRICE:
            raw: object = product.price
        elif source == 2:
            raw = product.attributes.get(policy.price_attribute, _MISSING)
        else:
            raw = product.special_price
        value = _base_price(product, policy, raw, steps)
        if policy.use_special_price and product.special_price is not None:
            value = _special_price(product, value, self.on, steps)
        try:
            pack = policy.pack_size
            if pack != 1:
                value = _CONTEXT.multiply(value, Decimal(pack))
                steps.append(Step(("pack_price", pack, str(value))))
            value = _adjust(value, policy._operations, steps)
            amount = self.finish(self.to_market(value, steps), steps)
        except DecimalException:
            _raise_out_of_range(product, policy)
        low = policy._min
        if low is not None and amount < low:
            steps.append(Step(("min_price", str(amount), str(low))))
            amount = low
        high = policy._max
        if high is not None and amount > high:
            steps.append(Step(("max_price", str(amount), str(high))))
            amount = high
        return _price_result(amount, policy.currency, tuple(steps))

    def source_value(self, rule: _Rule, main: Decimal, what: str, notes: list[Step]) -> Any:
        """An extra price's value after its source, adjustments, tax and conversion (not yet
        rounded) and the text of its source value; ``None`` (with a note) when it has none."""
        source = rule.source
        if source == _FROM_MAIN:
            return _apply(main, rule.operations), self.main_text
        if source == _FROM_VALUE:
            return _apply(rule.value, rule.operations), rule.value_text
        attribute = rule.attribute
        assert attribute is not None  # a PriceRule with source attribute has one
        raw = _attribute(self.product, attribute)
        usable = _usable_price(raw)
        if type(usable) is not Decimal:
            notes.append(Step(("output_missing", what, attribute, usable)))
            return None
        text = raw if type(raw) is str else str(usable)
        return self.to_market(_apply(usable, rule.operations), None), text

    def extra_price(
        self, rule: _Rule, main: Decimal, what: str, notes: list[Step]
    ) -> tuple[Decimal, list[Step]] | None:
        """An extra price before the MAP floor, with its one step, or ``None`` (with a note)
        when it has none."""
        try:
            found = self.source_value(rule, main, what, notes)
            if found is None:
                return None
            amount = self.finish(found[0], None)
        except DecimalException:
            notes.append(Step(("output_not_positive", what, "out of range")))
            return None
        if amount <= _ZERO or amount >= _MONEY_LIMIT:
            notes.append(Step(("output_not_positive", what, str(amount))))
            return None
        text = str(amount)
        return amount, [Step(("extra_price", what, rule.origin, found[1], rule.text, text))]


def _attribute(product: Product, attribute: str) -> object:
    if attribute == "price":
        return product.price
    if attribute == "special_price":
        return product.special_price
    return product.attributes.get(attribute, _MISSING)


def _adjust(
    value: Decimal, operations: tuple[tuple[bool, Decimal, str, str], ...], steps: list[Step]
) -> Decimal:
    for multiply, operand, code, amount_text in operations:
        value = _CONTEXT.multiply(value, operand) if multiply else _CONTEXT.add(value, operand)
        steps.append(Step((code, amount_text, str(value))))
    return value


def _apply(value: Any, operations: tuple[tuple[bool, Decimal, str, str], ...]) -> Decimal:
    """The adjustments of an extra price, without a step each (its one step names them)."""
    for multiply, operand, _, _ in operations:
        value = _CONTEXT.multiply(value, operand) if multiply else _CONTEXT.add(value, operand)
    result: Decimal = value
    return result


def _floor(amount: Decimal, floor: Decimal | None, steps: list[Step]) -> Decimal:
    if floor is not None and amount < floor:
        steps.append(Step(("map_floor", str(amount), str(floor))))
        return floor
    return amount


def _check_positive(product: Product, policy: PricingPolicy, amount: Decimal) -> None:
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


def _map_price(pricing: _Pricing, main: Decimal, notes: list[Step]) -> MapPrice | None:
    plan = pricing.plan
    if plan.map_rule is None:
        return None
    assert plan.map is not None
    # The MAP is a legal floor: rounded up to the currency's places, never moved by an ending.
    policy = pricing.policy
    rule = plan.map_rule
    pricing.main_text = str(main)
    try:
        found = pricing.source_value(rule, main, "map", notes)
        if found is None:
            return None
        amount = found[0].quantize(policy._quantum, ROUND_CEILING, _CONTEXT)
    except DecimalException:
        notes.append(Step(("output_not_positive", "map", "out of range")))
        return None
    if amount <= _ZERO or amount >= _MONEY_LIMIT:
        notes.append(Step(("output_not_positive", "map", str(amount))))
        return None
    steps = (Step(("extra_price", "map", rule.origin, found[1], rule.text, str(amount))),)
    return _map_price_result(amount, plan.map.expose, steps)


def _floored_main(pricing: _Pricing, notes: list[Step]) -> tuple[PriceResult, MapPrice | None]:
    main = pricing.main()
    map_price = _map_price(pricing, main.amount, notes)
    if map_price is not None and main.amount < map_price.amount:
        steps = [*main.steps, Step(("map_floor", str(main.amount), str(map_price.amount)))]
        main = _price_result(map_price.amount, main.currency, tuple(steps))
    _check_positive(pricing.product, pricing.policy, main.amount)
    return main, map_price


def market_price(product: Product, policy: PricingPolicy, on: date | None) -> PriceResult:
    """The main price of a policy with market options (what ``compute_price`` returns)."""
    pricing = _Pricing(product, policy, on, policy._rates)
    return _floored_main(pricing, [])[0]


def compute_prices(
    product: Product,
    pricing_policy: PricingPolicy,
    *,
    on: date | None = None,
    rates: Iterable[ExchangeRate] | None = None,
) -> PriceSet:
    """Compute every price of a listing: the main price and the policy's extra prices.

    The main price is :func:`~policy_engine.compute_price`'s. Each extra price the policy's
    ``outputs`` configure starts from its source, goes through its own adjustments (and, from an
    attribute, the policy's tax and conversion), and is rounded like the main price; the MAP then
    floors every advertised price (all but the Best Offer thresholds, which buyers never see).
    A sale price or a promotion that is not below the main price is not sent, nor a sale that
    has ended, nor Best Offer thresholds whose decline is not below the accept; ``steps`` says
    why.

    Args:
        product: The store product.
        pricing_policy: The policy.
        on: The day of the special price window, the sale dates and the dated exchange rate
            (default: today in UTC, read only when needed).
        rates: Exchange rates to convert with, instead of those of the policy's configuration.

    Raises:
        PricingError: as :func:`~policy_engine.compute_price`, and ``missing_rate`` when no
            exchange rate of the currency pair is valid on the day.

    >>> from decimal import Decimal
    >>> from policy_engine import PriceOutputs, PriceRule, PricingPolicy, Product, compute_prices
    >>> policy = PricingPolicy(
    ...     title="RRP",
    ...     outputs=PriceOutputs(list_price=PriceRule(source="attribute", attribute="msrp")),
    ... )
    >>> prices = compute_prices(Product(sku="S", price=20, attributes={"msrp": "25"}), policy)
    >>> prices.amount, prices.list_price.amount
    (Decimal('20.00'), Decimal('25.00'))
    """
    policy = pricing_policy
    table = policy._rates if rates is None else rate_table(rates)
    pricing = _Pricing(product, policy, on, table)
    plan = pricing.plan
    notes: list[Step] = []
    main, map_price = _floored_main(pricing, notes)
    floor = None if map_price is None else map_price.amount
    amount = main.amount
    pricing.main_text = str(amount)
    sale = None if plan.sale_rule is None else _sale(pricing, amount, floor, notes)
    list_price = None
    if plan.list_price is not None:
        found = pricing.extra_price(plan.list_price, amount, "list_price", notes)
        if found is not None:
            value, steps = found
            value = _floor(value, floor, steps)
            list_price = _extra_price(value, tuple(steps))
    business = None if plan.business_rule is None else _business(pricing, amount, floor, notes)
    best_offer = None if plan.accept is None else _best_offer(pricing, amount, notes)
    promotion = None
    if plan.promotion_rule is not None:
        assert plan.promotion is not None
        found = pricing.extra_price(plan.promotion_rule, amount, "promotion", notes)
        if found is not None:
            value, steps = found
            value = _floor(value, floor, steps)
            if value < amount:
                promotion = _promotion_price(value, plan.promotion.kind, tuple(steps))
            else:
                notes.append(Step(("promotion_not_lower", str(value), str(amount))))
    return _price_set(
        main, sale, list_price, map_price, business, best_offer, promotion, tuple(notes)
    )


def _sale(
    pricing: _Pricing, main: Decimal, floor: Decimal | None, notes: list[Step]
) -> SalePrice | None:
    plan = pricing.plan
    assert plan.sale is not None
    assert plan.sale_rule is not None
    found = pricing.extra_price(plan.sale_rule, main, "sale", notes)
    if found is None:
        return None
    value, steps = found
    rule = plan.sale
    if rule.window is SaleWindow.PRODUCT:
        starts, ends = pricing.product.special_from, pricing.product.special_to
    else:
        starts, ends = rule.starts, rule.ends
    if ends is not None:
        on = pricing.day()
        if on > ends:
            start_text = "open" if starts is None else starts.isoformat()
            notes.append(
                Step(("sale_outside_window", on.isoformat(), start_text, ends.isoformat()))
            )
            return None
    if floor is not None and value < floor:
        assert plan.map is not None
        if plan.map.sale_below is SaleBelowMap.DROP:
            notes.append(Step(("sale_below_map", str(value), str(floor))))
            return None
        value = _floor(value, floor, steps)
    if value >= main:
        notes.append(Step(("sale_not_lower", str(value), str(main))))
        return None
    return _sale_price(value, starts, ends, tuple(steps))


def _business(
    pricing: _Pricing, main: Decimal, floor: Decimal | None, notes: list[Step]
) -> BusinessPrice | None:
    plan = pricing.plan
    assert plan.business_rule is not None
    found = pricing.extra_price(plan.business_rule, main, "business", notes)
    if found is None:
        return None
    value, steps = found
    value = _floor(value, floor, steps)
    tiers = []
    for quantity, factor, percent in plan.tiers:
        tier_steps: list[Step] = []
        tier = pricing.finish(_CONTEXT.multiply(value, factor), tier_steps)
        if tier <= _ZERO:
            tier = value if floor is None else floor
        tier = _floor(tier, floor, tier_steps)
        tier = min(tier, value)
        steps.append(Step(("tier_price", quantity, percent, str(tier))))
        tiers.append(_tier_price(quantity, tier))
    return _business_price(value, tuple(tiers), tuple(steps))


def _best_offer(pricing: _Pricing, main: Decimal, notes: list[Step]) -> BestOfferPrices | None:
    plan = pricing.plan
    assert plan.accept is not None
    assert plan.decline is not None
    accept = pricing.extra_price(plan.accept, main, "best_offer", notes)
    decline = pricing.extra_price(plan.decline, main, "best_offer", notes)
    if accept is None or decline is None:
        return None
    # Offers are not advertised: the MAP does not floor the thresholds.
    accept_value, decline_value = accept[0], decline[0]
    if decline_value >= accept_value:
        notes.append(Step(("best_offer_crossed", str(decline_value), str(accept_value))))
        return None
    return _best_offer_prices(accept_value, decline_value, (*accept[1], *decline[1]))
