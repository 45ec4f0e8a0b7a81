"""Quantity curves: what an inventory policy lists for each store quantity 0…N.

A curve answers "what does this channel list when the store holds 0, 1, 2… units?" in one table,
which is how a merchant checks a threshold rule, a buffer or a cap before saving a policy. It is
:func:`~policy_engine.compute_quantity` run over a range of store quantities; nothing is
recomputed here, so the curve can never disagree with the rule.
"""

from __future__ import annotations

import attrs

from policy_engine._inventory import InventoryPolicy, QuantityRule, compute_quantity
from policy_engine._models import SourceItem, Stock

__all__ = ["CurvePoint", "quantity_curve"]

#: The MSI source code that holds the store quantity when the policy counts every source.
DEFAULT_SOURCE = "default"


@attrs.frozen(kw_only=True)
class CurvePoint:
    """The listed quantity for one store quantity.

    Attributes:
        store_quantity: The quantity the store holds.
        quantity: What the channel lists.
        rule: The rule that decided it.
    """

    store_quantity: int
    quantity: int
    rule: QuantityRule


def _source_code(policy: InventoryPolicy) -> str:
    msi = policy.msi
    assert msi is not None  # only called for MSI policies
    return msi.sources[0] if msi.sources else DEFAULT_SOURCE


def quantity_curve(
    policy: InventoryPolicy, max_quantity: int, *, stock_template: Stock | None = None
) -> tuple[CurvePoint, ...]:
    """The quantity a policy lists for each store quantity from 0 to ``max_quantity``.

    Each point is :func:`~policy_engine.compute_quantity` on a stock holding that quantity where
    the policy reads it: ``Stock.qty`` for a single-source policy; for a policy with ``msi``, one
    in-stock MSI source (the first source the policy names, or ``"default"`` when it counts every
    source) replacing the template's sources. Every other stock field (``in_stock``,
    ``manage_stock``, ``reserved``, ``out_of_stock_threshold``) comes from ``stock_template``
    (default: a plain in-stock, managed ``Stock``).

    >>> from policy_engine import InventoryPolicy, Threshold, quantity_curve
    >>> policy = InventoryPolicy(title="T", threshold=Threshold(value=10, above=20, below=2))
    >>> for point in quantity_curve(policy, 12)[8:]:
    ...     print(point.store_quantity, point.quantity, point.rule.value)
    8 2 below_threshold
    9 2 below_threshold
    10 10 at_threshold
    11 20 above_threshold
    12 20 above_threshold

    Raises:
        ValueError: when ``max_quantity`` is not an integer >= 0.
    """
    if type(max_quantity) is not int or max_quantity < 0:
        msg = f"max_quantity must be an integer >= 0 (got {max_quantity!r})"
        raise ValueError(msg)
    template = Stock() if stock_template is None else stock_template
    points: list[CurvePoint] = []
    if policy.msi is None:
        stocks = (attrs.evolve(template, qty=qty) for qty in range(max_quantity + 1))
    else:
        code = _source_code(policy)
        stocks = (
            attrs.evolve(template, sources=(SourceItem(code=code, qty=qty),))
            for qty in range(max_quantity + 1)
        )
    for store_quantity, stock in enumerate(stocks):
        result = compute_quantity(stock, policy)
        points.append(
            CurvePoint(store_quantity=store_quantity, quantity=result.quantity, rule=result.rule)
        )
    return tuple(points)
