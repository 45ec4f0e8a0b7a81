"""Pricing policy and ``compute_price`` (spec section 4). Skeleton: being implemented."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

import attrs

from policy_engine._models import Product
from policy_engine._steps import Step

__all__ = [
    "Adjustment",
    "AdjustmentKind",
    "Ending",
    "EndingDirection",
    "PriceResult",
    "PricingPolicy",
    "Rounding",
    "compute_price",
]


class AdjustmentKind(enum.StrEnum):
    FIXED_INCREMENT = "fixed_increment"
    FIXED_DECREMENT = "fixed_decrement"
    PERCENT_INCREMENT = "percent_increment"
    PERCENT_DECREMENT = "percent_decrement"


class Rounding(enum.StrEnum):
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    UP = "up"
    DOWN = "down"


class EndingDirection(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    NEAREST = "nearest"


@attrs.frozen(kw_only=True)
class Adjustment:
    kind: AdjustmentKind
    amount: Decimal


@attrs.frozen(kw_only=True)
class Ending:
    value: Decimal
    direction: EndingDirection = EndingDirection.UP


@attrs.frozen(kw_only=True)
class PricingPolicy:
    title: str


@attrs.frozen(kw_only=True)
class PriceResult:
    amount: Decimal
    currency: str
    steps: tuple[Step, ...] = ()


def compute_price(product: Product, pricing_policy: PricingPolicy, *, on: date | None = None) -> PriceResult:
    raise NotImplementedError
