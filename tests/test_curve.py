"""quantity_curve: the listed quantity for each store quantity (spec 12, ``quantity-curve``)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine import (
    CurvePoint,
    InventoryPolicy,
    MsiSettings,
    QuantityRule,
    SourceItem,
    Stock,
    Threshold,
    compute_quantity,
    quantity_curve,
)
from policy_engine.testing import inventory_policies, stocks

SEED_THRESHOLD = InventoryPolicy(
    title="Seed threshold", threshold=Threshold(value=10, above=20, below=2)
)


def table(points: tuple[CurvePoint, ...]) -> list[tuple[int, int, str]]:
    return [(p.store_quantity, p.quantity, p.rule.value) for p in points]


class TestExamples:
    """The spec's worked examples, read as curves."""

    def test_seed_threshold(self) -> None:
        """Threshold 10 / above 20 / below 2: 0 is out of stock, 1-9 list 2, 10 lists 10, 11+ 20."""
        assert table(quantity_curve(SEED_THRESHOLD, 12)) == [
            (0, 0, "out_of_stock"),
            *[(qty, 2, "below_threshold") for qty in range(1, 10)],
            (10, 10, "at_threshold"),
            (11, 20, "above_threshold"),
            (12, 20, "above_threshold"),
        ]

    def test_buffer_and_cap(self) -> None:
        """Buffer 5 with 18 in stock lists 13; max_quantity 10 caps everything above it."""
        policy = InventoryPolicy(title="Buffer", buffer=5)
        assert quantity_curve(policy, 18)[18] == CurvePoint(
            store_quantity=18, quantity=13, rule=QuantityRule.STOCK
        )
        capped = quantity_curve(attrs.evolve(policy, max_quantity=10), 20)
        assert [p.quantity for p in capped] == [0, 0, 0, 0, 0, 0, *range(1, 11), 10, 10, 10, 10, 10]

    def test_zero_max_gives_one_point(self) -> None:
        """``max_quantity`` 0 gives the single point for an empty store."""
        assert quantity_curve(SEED_THRESHOLD, 0) == (
            CurvePoint(store_quantity=0, quantity=0, rule=QuantityRule.OUT_OF_STOCK),
        )

    @pytest.mark.parametrize("bad", [-1, True, 2.0, "3", None])
    def test_bad_maximum(self, bad: Any) -> None:
        """A maximum that is not an integer >= 0 is a ValueError naming it."""
        with pytest.raises(ValueError, match=r"max_quantity must be an integer >= 0 \(got "):
            quantity_curve(SEED_THRESHOLD, bad)


class TestStockTemplate:
    """Every stock field but the quantity comes from the template."""

    def test_not_in_stock_template(self) -> None:
        """A template marked out of stock lists 0 at every store quantity."""
        points = quantity_curve(SEED_THRESHOLD, 5, stock_template=Stock(in_stock=False))
        assert {(p.quantity, p.rule) for p in points} == {(0, QuantityRule.OUT_OF_STOCK)}

    def test_unmanaged_template(self) -> None:
        """An unmanaged stock lists the default quantity whatever the store holds."""
        policy = InventoryPolicy(title="Default", default_quantity=7)
        points = quantity_curve(policy, 3, stock_template=Stock(manage_stock=False))
        assert table(points) == [(qty, 7, "stock_not_managed") for qty in range(4)]

    def test_msi_source_named_by_the_policy(self) -> None:
        """An MSI policy reads the quantity from the first source it names; others are dropped."""
        policy = InventoryPolicy(title="MSI", msi=MsiSettings(sources=("eu", "us")))
        template = Stock(qty=99, sources=(SourceItem(code="us", qty=50),))
        assert [p.quantity for p in quantity_curve(policy, 4, stock_template=template)] == [
            0,
            1,
            2,
            3,
            4,
        ]

    def test_msi_salable_uses_reservations(self) -> None:
        """With ``salable``, the template's reservations and out-of-stock threshold apply."""
        policy = InventoryPolicy(title="MSI", msi=MsiSettings(salable=True))
        template = Stock(reserved=-2, out_of_stock_threshold=1)
        assert table(quantity_curve(policy, 5, stock_template=template)) == [
            (0, 0, "out_of_stock"),
            (1, 0, "out_of_stock"),
            (2, 0, "out_of_stock"),
            (3, 0, "out_of_stock"),
            (4, 1, "stock"),
            (5, 2, "stock"),
        ]


class TestProperties:
    """Invariants of the curve."""

    @settings(max_examples=50)
    @given(inventory_policies(), st.integers(min_value=0, max_value=60))
    def test_one_point_per_store_quantity(self, policy: InventoryPolicy, maximum: int) -> None:
        """There is one point for each store quantity 0…N, in order."""
        points = quantity_curve(policy, maximum)
        assert [p.store_quantity for p in points] == list(range(maximum + 1))

    @settings(max_examples=50)
    @given(inventory_policies(msi=False), stocks(), st.integers(min_value=0, max_value=40))
    def test_agrees_with_compute_quantity(
        self, policy: InventoryPolicy, template: Stock, maximum: int
    ) -> None:
        """Each point is exactly ``compute_quantity`` on the template with that store quantity."""
        for point in quantity_curve(policy, maximum, stock_template=template):
            result = compute_quantity(attrs.evolve(template, qty=point.store_quantity), policy)
            assert (point.quantity, point.rule) == (result.quantity, result.rule)

    @settings(max_examples=50)
    @given(
        inventory_policies(threshold=False, caps=False, msi=False, default_when_out_of_stock=False)
    )
    def test_plain_policy_never_decreases(self, policy: InventoryPolicy) -> None:
        """Without a threshold or caps, more stock never lists less (the curve is monotone)."""
        quantities = [p.quantity for p in quantity_curve(policy, 80)]
        assert quantities == sorted(quantities)
