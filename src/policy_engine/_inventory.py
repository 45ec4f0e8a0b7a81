"""Inventory policy and ``compute_quantity``: which quantity a channel lists (spec section 3).

The whole rule is :func:`compute_quantity`, read top to bottom in the spec's order: no stock data,
unmanaged stock, the base quantity (single source or MSI), out of stock, buffer and percentage,
threshold, caps.
"""

from __future__ import annotations

import enum
from functools import partial
from typing import Any

import attrs

from policy_engine._models import Stock
from policy_engine._steps import Step, define_messages
from policy_engine._validation import (
    Checked,
    at_least,
    check,
    describe,
    fast_constructor,
    in_range,
    is_bool,
    is_int,
    is_int_or_none,
    is_str,
    non_empty,
)

__all__ = [
    "InventoryPolicy",
    "MsiSettings",
    "QuantityResult",
    "QuantityRule",
    "Threshold",
    "compute_quantity",
]


class QuantityRule(enum.StrEnum):
    """The rule that decided a listed quantity."""

    NO_STOCK_DATA = "no_stock_data"
    STOCK_NOT_MANAGED = "stock_not_managed"
    OUT_OF_STOCK = "out_of_stock"
    OUT_OF_STOCK_DEFAULT = "out_of_stock_default"
    ABOVE_THRESHOLD = "above_threshold"
    AT_THRESHOLD = "at_threshold"
    BELOW_THRESHOLD = "below_threshold"
    STOCK = "stock"
    PRODUCT_DISABLED = "product_disabled"


define_messages(
    {
        "no_stock_data": "the store has no stock record: default quantity {0}",
        "stock_not_managed": "the store does not manage this product's stock: default quantity {0}",
        "msi_sources": "{0} in stock across the MSI sources {1}",
        "msi_source_missing": "MSI source {0!r} is not in the product's stock: counts 0",
        "msi_source_out_of_stock": "MSI source {0!r} is out of stock: its {1} count 0",
        "msi_source_disabled": "MSI source {0!r} is disabled in the store: its {1} count 0",
        "msi_salable": (
            "salable quantity {3} = {0} in the sources {1:+d} reserved - {2} out-of-stock threshold"
        ),
        "not_in_stock": "the store marks the product out of stock",
        "no_quantity": "no quantity to sell (store quantity {0})",
        "out_of_stock": "out of stock: lists 0",
        "out_of_stock_default": "out of stock: lists the default quantity {0}",
        "buffer": "a buffer of {0} is kept for the store: {1} left",
        "percentage": "{0}% of it is offered to this channel: {1}",
        "above_threshold": "store quantity {0} is above the threshold {1}: lists {2}",
        "at_threshold": "store quantity {0} equals the threshold {1}: lists the sellable {2}",
        "below_threshold": "store quantity {0} is below the threshold {1}: lists {2}",
        "stock": "store quantity {0}: lists the sellable {1}",
        "cap_at_stock": "capped at the sellable stock {1} (was {0})",
        "max_quantity": "capped at the maximum quantity {1} (was {0})",
        "product_disabled": "the product is disabled in the store: lists 0",
        "pack_size": "{0} units make {2} packs of {1}",
    }
)


def _str_tuple(values: Any) -> tuple[str, ...]:
    return tuple(values)  # a tuple comes back as the same object


def _all_str(values: Any) -> str | None:
    for value in values:
        if type(value) is not str or not value:
            return f"expected a list of non-empty strings, got {describe(value)} in it"
    return None


@attrs.frozen(kw_only=True)
class Threshold(Checked):
    """ "Set Inventory on Basis of Threshold": list a fixed quantity above or below a store level.

    Attributes:
        value: The store quantity that triggers the rule.
        above: What to list when the store quantity is above ``value``.
        below: What to list when the store quantity is below ``value``. At exactly ``value`` the
            sellable quantity is listed.
    """

    value: int = attrs.field(metadata=check(is_int, at_least(0)))
    above: int = attrs.field(metadata=check(is_int, at_least(0)))
    below: int = attrs.field(metadata=check(is_int, at_least(0)))


@attrs.frozen(kw_only=True)
class MsiSettings(Checked):
    """ "Use MSI": count the quantity of Magento MSI sources instead of the single store quantity.

    Attributes:
        sources: The source codes to count; empty means every source of the stock.
        salable: Use Magento's salable quantity: the sources' total plus reservations minus the
            out-of-stock threshold.
    """

    sources: tuple[str, ...] = attrs.field(
        default=(), converter=_str_tuple, metadata=check(_all_str)
    )
    salable: bool = attrs.field(default=False, metadata=check(is_bool))


def _is_threshold(value: Any) -> str | None:
    if value is None or isinstance(value, Threshold):
        return None
    return f"expected a threshold object or null, got {describe(value)}"


def _is_msi(value: Any) -> str | None:
    if value is None or isinstance(value, MsiSettings):
        return None
    return f"expected MSI settings or null, got {describe(value)}"


@attrs.frozen(kw_only=True)
class QuantityResult:
    """The quantity a channel lists, with the rule that decided it and each step on the way.

    Attributes:
        quantity: The quantity to send (an int >= 0).
        rule: The rule that decided it.
        steps: Each step that contributed, in order (codes and values; messages on reading).
    """

    quantity: int
    rule: QuantityRule
    steps: tuple[Step, ...] = ()


_result = fast_constructor(QuantityResult)


def _constant_result(rule: QuantityRule, policy: InventoryPolicy) -> QuantityResult:
    """A result that depends on the policy only, precomputed when the policy is built."""
    quantity = policy.default_quantity
    return QuantityResult(quantity=quantity, rule=rule, steps=(Step((rule.value, quantity)),))


@attrs.frozen(kw_only=True)
class InventoryPolicy(Checked):
    """Which quantity a channel lists for a product (spec section 3).

    Attributes:
        title: The policy's name (non-empty).
        default_quantity: Listed when the store has no stock data or does not manage stock (and,
            with ``default_when_out_of_stock``, when the product is out of stock).
        buffer: Quantity kept back for the store ("Threshold Buffer").
        threshold: List fixed quantities above/below a store quantity, or ``None``.
        msi: Count Magento MSI sources, or ``None`` for the single store quantity.
        percentage: The share (1-100) of the sellable stock offered to this channel.
        max_quantity: Never list more than this, or ``None``.
        cap_at_stock: Never list more than the sellable stock (caps a threshold's ``above``).
        default_when_out_of_stock: List ``default_quantity`` instead of 0 when out of stock.
        pack_size: How many units one listed item holds (a lot or multipack): the quantity from
            stock is ⌊units / pack_size⌋ packs, after the threshold rule and ``cap_at_stock``
            (which count units) and before ``max_quantity`` (which counts packs, like the
            default quantities). 1 sells single units.
    """

    title: str = attrs.field(metadata=check(is_str, non_empty))
    default_quantity: int = attrs.field(default=0, metadata=check(is_int, at_least(0)))
    buffer: int = attrs.field(default=0, metadata=check(is_int, at_least(0)))
    threshold: Threshold | None = attrs.field(default=None, metadata=check(_is_threshold))
    msi: MsiSettings | None = attrs.field(default=None, metadata=check(_is_msi))
    percentage: int = attrs.field(default=100, metadata=check(is_int, in_range(1, 100)))
    max_quantity: int | None = attrs.field(
        default=None, metadata=check(is_int_or_none, at_least(0))
    )
    cap_at_stock: bool = attrs.field(default=False, metadata=check(is_bool))
    default_when_out_of_stock: bool = attrs.field(default=False, metadata=check(is_bool))
    pack_size: int = attrs.field(default=1, metadata=check(is_int, at_least(1)))

    # Results that depend on the policy alone, built once (not part of the JSON or equality).
    _no_stock: QuantityResult = attrs.field(
        init=False,
        eq=False,
        repr=False,
        default=attrs.Factory(
            partial(_constant_result, QuantityRule.NO_STOCK_DATA), takes_self=True
        ),
    )
    _not_managed: QuantityResult = attrs.field(
        init=False,
        eq=False,
        repr=False,
        default=attrs.Factory(
            partial(_constant_result, QuantityRule.STOCK_NOT_MANAGED), takes_self=True
        ),
    )


_OUT_OF_STOCK = Step(("out_of_stock",))
_NOT_IN_STOCK = Step(("not_in_stock",))


def _msi_base(stock: Stock, msi: MsiSettings, steps: list[Step]) -> int:
    """The base quantity from MSI sources (spec 3, step 3), recording each step."""
    wanted = msi.sources
    if wanted:
        by_code: dict[str, list[Any]] = {}
        for item in stock.sources:
            by_code.setdefault(item.code, []).append(item)
        chosen = []
        for code in wanted:
            items = by_code.get(code)
            if items is None:
                steps.append(Step(("msi_source_missing", code)))
            else:
                chosen.extend(items)
    else:
        chosen = list(stock.sources)
    total = 0
    for item in chosen:
        if not item.enabled:
            steps.append(Step(("msi_source_disabled", item.code, item.qty)))
        elif item.in_stock:
            total += item.qty
        else:
            steps.append(Step(("msi_source_out_of_stock", item.code, item.qty)))
    codes = ", ".join(item.code for item in chosen) or "(none)"
    steps.append(Step(("msi_sources", total, codes)))
    if not msi.salable:
        return total
    base = total + stock.reserved - stock.out_of_stock_threshold
    steps.append(Step(("msi_salable", total, stock.reserved, stock.out_of_stock_threshold, base)))
    return base


def compute_quantity(stock: Stock | None, inventory_policy: InventoryPolicy) -> QuantityResult:
    """Decide the quantity a channel lists for a product's stock under an inventory policy.

    The steps, in order (spec section 3): no stock record → ``default_quantity``
    (``no_stock_data``); stock not managed → ``default_quantity`` (``stock_not_managed``); the base
    quantity (the store quantity, or the MSI sources' total, or Magento's salable quantity); out of
    stock or nothing to sell → 0 (``out_of_stock``, or ``default_quantity`` with
    ``default_when_out_of_stock``); the sellable quantity after the buffer and the percentage; the
    threshold rule (``above_threshold``, ``at_threshold``, ``below_threshold``) or the sellable
    quantity (``stock``); finally the caps.

    >>> from policy_engine import InventoryPolicy, Stock, Threshold, compute_quantity
    >>> policy = InventoryPolicy(title="T", threshold=Threshold(value=10, above=20, below=2))
    >>> [compute_quantity(Stock(qty=qty), policy).quantity for qty in (11, 10, 9)]
    [20, 10, 2]
    """
    policy = inventory_policy
    if stock is None:
        return policy._no_stock
    if not stock.manage_stock:
        return policy._not_managed

    msi = policy.msi
    steps: list[Step] = []
    base = stock.qty if msi is None else _msi_base(stock, msi, steps)

    if not stock.in_stock or base <= 0:
        steps.append(_NOT_IN_STOCK if not stock.in_stock else Step(("no_quantity", base)))
        if policy.default_when_out_of_stock:
            quantity = policy.default_quantity
            steps.append(Step(("out_of_stock_default", quantity)))
            return _result(quantity, QuantityRule.OUT_OF_STOCK_DEFAULT, tuple(steps))
        steps.append(_OUT_OF_STOCK)
        return _result(0, QuantityRule.OUT_OF_STOCK, tuple(steps))

    sellable = base
    buffer = policy.buffer
    if buffer:
        sellable = base - buffer if base > buffer else 0
        steps.append(Step(("buffer", buffer, sellable)))
    percentage = policy.percentage
    if percentage != 100:
        sellable = sellable * percentage // 100
        steps.append(Step(("percentage", percentage, sellable)))

    threshold = policy.threshold
    if threshold is None:
        quantity = sellable
        rule = QuantityRule.STOCK
        steps.append(Step(("stock", base, quantity)))
    else:
        value = threshold.value
        if base > value:
            quantity = threshold.above
            rule = QuantityRule.ABOVE_THRESHOLD
        elif base == value:
            quantity = sellable
            rule = QuantityRule.AT_THRESHOLD
        else:
            quantity = threshold.below
            rule = QuantityRule.BELOW_THRESHOLD
        steps.append(Step((rule.value, base, value, quantity)))

    if policy.cap_at_stock and quantity > sellable:
        steps.append(Step(("cap_at_stock", quantity, sellable)))
        quantity = sellable
    pack = policy.pack_size
    if pack != 1:
        packs = quantity // pack
        steps.append(Step(("pack_size", quantity, pack, packs)))
        quantity = packs
    maximum = policy.max_quantity
    if maximum is not None and quantity > maximum:
        steps.append(Step(("max_quantity", quantity, maximum)))
        quantity = maximum

    return _result(quantity, rule, tuple(steps))
