"""Strategies for pricing policies and their parts, valid by construction."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import strategies as st

from policy_engine._pricing import (
    Adjustment,
    AdjustmentKind,
    Ending,
    EndingDirection,
    PricingPolicy,
    Rounding,
    currency_places,
)
from policy_engine.testing._models import money

__all__ = ["adjustments", "endings", "pricing_policies"]

#: Currencies drawn by default: two-decimal ones and every zero- and three-decimal kind.
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "JPY", "KRW", "KWD", "BHD")

_PRICE_ATTRIBUTES = ("price", "special_price", "msrp")
_POLICY_FIELDS = frozenset(field.name for field in attrs.fields(PricingPolicy) if field.init)


def adjustments(
    *,
    kinds: Collection[AdjustmentKind | str] | None = None,
    max_amount: str | Decimal = "200",
) -> st.SearchStrategy[Adjustment]:
    """Adjustments of the given ``kinds`` (every kind when ``None`` or empty).

    Amounts have up to 2 decimal places and lie in ``[0, max_amount]``; a ``percent_decrement``'s
    never exceeds 100.
    """
    chosen = tuple(AdjustmentKind(kind) for kind in (kinds or AdjustmentKind))
    limit = Decimal(max_amount)

    def _build(kind: AdjustmentKind) -> st.SearchStrategy[Adjustment]:
        top = min(limit, Decimal(100)) if kind is AdjustmentKind.PERCENT_DECREMENT else limit
        return st.builds(Adjustment, kind=st.just(kind), amount=money(min_value="0", max_value=top))

    return st.sampled_from(chosen).flatmap(_build)


def endings(
    *, currency: str = "USD", direction: EndingDirection | str | None = None
) -> st.SearchStrategy[Ending]:
    """Price endings valid for ``currency``: values in ``[0, 1)`` with at most its places.

    ``direction`` pins the direction (``up``, ``down`` or ``nearest``); every one by default.
    Common charm endings (.99, .95, .00, .9) come up often.
    """
    places = currency_places(currency)
    if places == 0:
        values: st.SearchStrategy[Decimal] = st.just(Decimal(0))
    else:
        top = Decimal(1) - Decimal(1).scaleb(-places)
        charm = [Decimal(text) for text in ("0.99", "0.95", "0.9", "0.5", "0")]
        values = st.sampled_from([value for value in charm if value <= top]) | money(
            min_value="0", max_value=top, places=places
        )
    directions = (
        st.sampled_from(EndingDirection)
        if direction is None
        else st.just(EndingDirection(direction))
    )
    return st.builds(Ending, value=values, direction=directions)


def pricing_policies(
    *,
    currency: str | None = None,
    price_attribute: str | None = None,
    kinds: Collection[AdjustmentKind | str] | None = None,
    with_adjustments: bool | None = None,
    with_vat: bool | None = None,
    with_conversion: bool | None = None,
    with_ending: bool | None = None,
    with_clamp: bool | None = None,
    with_special_price: bool | None = None,
    fallback_to_price: bool | None = None,
    rounding: Rounding | str | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> st.SearchStrategy[PricingPolicy]:
    """Pricing policies, valid by construction. Every option narrows what is drawn:

    - ``currency``: the channel currency (default: one of USD, EUR, GBP, CAD, JPY, KRW, KWD,
      BHD: two-, zero- and three-decimal currencies).
    - ``price_attribute``: pin the price attribute (default: ``price``, ``special_price`` or
      ``msrp``, attribute codes the product strategies use).
    - ``kinds``: the adjustment kinds to draw from (e.g. only the fixed ones).
    - ``with_adjustments``: ``True`` always has 1-3 adjustments, ``False`` none.
    - ``with_vat``: ``True`` always adds VAT (0.01-30 %), ``False`` never.
    - ``with_conversion``: ``True`` always converts (a rate other than 1), ``False`` never.
    - ``with_ending``: ``True`` always has an ending valid for the currency, ``False`` never.
    - ``with_clamp``: ``True`` always has a ``min_price`` and a ``max_price``
      (``min_price <= max_price``), ``False`` neither; by default each is drawn or not.
    - ``with_special_price``: pin ``use_special_price``.
    - ``fallback_to_price``: pin ``fallback_to_price``.
    - ``rounding``: pin the rounding mode.
    - ``fixed``: field values to pin as given, by field name (for example
      ``{"vat_percent": Decimal(20)}``). A pinned ``currency`` is used when the ending and the
      bounds are drawn; a pinned ``min_price`` or ``max_price`` keeps the drawn other bound on
      its side. Pinned values must make a valid policy together.
    """
    pinned = dict(fixed or {})
    unknown = sorted(set(pinned) - _POLICY_FIELDS)
    if unknown:
        msg = f"fixed names fields PricingPolicy does not have: {', '.join(unknown)}"
        raise ValueError(msg)
    if currency is not None:
        pinned.setdefault("currency", currency)
    options = {
        "price_attribute": price_attribute,
        "use_special_price": with_special_price,
        "fallback_to_price": fallback_to_price,
        "rounding": Rounding(rounding) if rounding is not None else None,
    }
    for name, value in options.items():
        if value is not None:
            pinned.setdefault(name, value)

    @st.composite
    def _policies(draw: st.DrawFn) -> PricingPolicy:
        def _maybe(flag: bool | None) -> bool:
            return draw(st.booleans()) if flag is None else flag

        values: dict[str, Any] = {
            "title": draw(st.sampled_from(("Default", "AliExpress +10%", "EU with VAT"))),
            "price_attribute": draw(st.sampled_from(_PRICE_ATTRIBUTES)),
            "fallback_to_price": draw(st.booleans()),
            "use_special_price": draw(st.booleans()),
            "currency": draw(st.sampled_from(CURRENCIES)),
            "rounding": draw(st.sampled_from(Rounding)),
        }
        if _maybe(with_adjustments):
            values["adjustments"] = tuple(
                draw(st.lists(adjustments(kinds=kinds), min_size=1, max_size=3))
            )
        if _maybe(with_vat):
            values["vat_percent"] = draw(money(min_value="0.01", max_value="30"))
        if _maybe(with_conversion):
            rate = money(min_value="0.01", max_value="200", places=4)
            values["conversion_rate"] = draw(rate.filter(lambda value: value != 1))
        values.update(pinned)
        places = currency_places(values["currency"])
        if "ending" not in pinned and _maybe(with_ending):
            values["ending"] = draw(endings(currency=values["currency"]))
        _draw_bounds(draw, values, pinned, places, with_clamp)
        return PricingPolicy(**values)

    return _policies()


def _draw_bounds(
    draw: st.DrawFn,
    values: dict[str, Any],
    pinned: Mapping[str, Any],
    places: int,
    with_clamp: bool | None,
) -> None:
    """Draw ``min_price``/``max_price`` with the currency's places, on the right side of each
    other and of a pinned bound."""
    bound = money(min_value="0.01", max_value="2000", places=places)
    low, high = pinned.get("min_price"), pinned.get("max_price")
    if with_clamp is False:
        return
    want_low = "min_price" not in pinned and (with_clamp or draw(st.booleans()))
    want_high = "max_price" not in pinned and (with_clamp or draw(st.booleans()))
    if want_low:
        low = draw(bound if high is None else money(min_value="0", max_value=high, places=places))
        values["min_price"] = low
    if want_high:
        if low is None:
            high = draw(bound)
        else:
            top = max(Decimal(low), Decimal(0)) + Decimal(5000)
            high = draw(money(min_value=Decimal(low), max_value=top, places=places))
        values["max_price"] = high
