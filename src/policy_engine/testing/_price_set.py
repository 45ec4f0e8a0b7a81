"""Strategies for the pricing policy's market options and extra prices, valid by construction."""

from __future__ import annotations

from decimal import Decimal

import attrs
from hypothesis import strategies as st

from policy_engine._pricing import (
    AdjustmentKind,
    BestOfferRule,
    BusinessRule,
    EndingDirection,
    MapRule,
    MarketTax,
    PriceOutputs,
    PriceRule,
    PriceSource,
    PricingPolicy,
    PromotionKind,
    PromotionRule,
    QuantityTier,
    SaleBelowMap,
    SaleRule,
    WholeEnding,
)
from policy_engine.testing._models import money
from policy_engine.testing._pricing import adjustments, pricing_policies

__all__ = ["market_pricing_policies", "price_outputs", "price_rules", "whole_endings"]

#: Attribute codes the extra prices read; the product strategies set ``msrp``.
_ATTRIBUTES = ("msrp", "special_price", "price", "map_price")


def price_rules(*, source: PriceSource | str | None = None) -> st.SearchStrategy[PriceRule]:
    """Price rules from an attribute, a value or the main price, with 0-2 adjustments.

    ``source`` pins the source. Adjustments are percent changes of at most 50 % (so a rule on
    the main price stays positive).
    """
    sources = tuple(PriceSource) if source is None else (PriceSource(source),)
    steps = st.lists(
        adjustments(
            kinds=(AdjustmentKind.PERCENT_INCREMENT, AdjustmentKind.PERCENT_DECREMENT),
            max_amount="50",
        ),
        max_size=2,
    ).map(tuple)
    built = {
        PriceSource.ATTRIBUTE: st.builds(
            PriceRule,
            source=st.just(PriceSource.ATTRIBUTE),
            attribute=st.sampled_from(_ATTRIBUTES),
            adjustments=steps,
        ),
        PriceSource.VALUE: st.builds(
            PriceRule,
            source=st.just(PriceSource.VALUE),
            value=money(min_value="0.01", max_value="500"),
            adjustments=steps,
        ),
        PriceSource.MAIN: st.builds(PriceRule, source=st.just(PriceSource.MAIN), adjustments=steps),
    }
    return st.one_of([built[chosen] for chosen in sources])


def _tiers() -> st.SearchStrategy[tuple[QuantityTier, ...]]:
    @st.composite
    def _build(draw: st.DrawFn) -> tuple[QuantityTier, ...]:
        count = draw(st.integers(min_value=0, max_value=3))
        quantity, percent = 1, Decimal(0)
        tiers = []
        for _ in range(count):
            quantity += draw(st.integers(min_value=1, max_value=20))
            percent = draw(money(min_value=percent, max_value=min(percent + 20, Decimal(99))))
            tiers.append(QuantityTier(quantity=quantity, percent_off=percent))
        return tuple(tiers)

    return _build()


def price_outputs(*, with_map: bool | None = None) -> st.SearchStrategy[PriceOutputs]:
    """Extra price configurations: each output drawn or not; ``with_map`` pins the MAP."""
    maybe = st.none
    maps = st.builds(
        MapRule,
        price=price_rules(),
        expose=st.booleans(),
        sale_below=st.sampled_from(SaleBelowMap),
    )
    map_choice = maps if with_map else (maybe() if with_map is False else maybe() | maps)
    return st.builds(
        PriceOutputs,
        sale=maybe() | st.builds(SaleRule, price=price_rules()),
        list_price=maybe() | price_rules(),
        map=map_choice,
        business=maybe() | st.builds(BusinessRule, price=price_rules(), tiers=_tiers()),
        best_offer=maybe() | st.builds(BestOfferRule, accept=price_rules(), decline=price_rules()),
        promotion=maybe()
        | st.builds(PromotionRule, price=price_rules(), kind=st.sampled_from(PromotionKind)),
    )


def whole_endings(*, unit: int | None = None) -> st.SearchStrategy[WholeEnding]:
    """Whole-number endings (``99``, ``980``…) that a price rounded to ``unit`` can have."""
    digits = st.sampled_from(("9", "99", "980", "990", "900", "0", "1980", "50"))
    if unit is not None:
        digits = digits.filter(lambda d: int(d) % unit == 0 and unit < 10 ** len(d))
    return st.builds(WholeEnding, digits=digits, direction=st.sampled_from(EndingDirection))


def market_pricing_policies(
    *,
    currency: str | None = None,
    with_outputs: bool | None = None,
    with_map: bool | None = None,
) -> st.SearchStrategy[PricingPolicy]:
    """Pricing policies with market options: the policies of
    :func:`~policy_engine.testing.pricing_policies` (without VAT, a fractional ending or
    bounds) with a rounding unit, a whole-number ending, tax per market and extra prices, each
    drawn or not (``with_outputs`` and ``with_map`` pin the extra prices and the MAP). No policy
    names a ``store_currency``: dated rates need a configuration's rate table.
    """
    base = pricing_policies(currency=currency, with_vat=False, with_ending=False, with_clamp=False)

    @st.composite
    def _build(draw: st.DrawFn) -> PricingPolicy:
        policy = draw(base)
        unit = draw(st.sampled_from((None, 1, 10, 100, 1000)))
        whole = draw(st.none() | whole_endings(unit=unit))
        tax = draw(
            st.none()
            | st.builds(
                MarketTax,
                store_included=st.none() | money(min_value="0", max_value="30"),
                market_included=st.none() | money(min_value="0", max_value="30"),
            )
        )
        outputs = None
        if with_outputs or (with_outputs is None and draw(st.booleans())):
            outputs = draw(price_outputs(with_map=with_map))
        return attrs.evolve(
            policy, rounding_unit=unit, whole_ending=whole, tax=tax, outputs=outputs
        )

    return _build()
