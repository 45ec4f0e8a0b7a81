"""Packs and lots: a listing that sells k units as one item (``pack_size``)."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine import (
    Adjustment,
    InventoryPolicy,
    PolicyConfigError,
    PricingPolicy,
    Product,
    Stock,
    Threshold,
    compute_price,
    compute_quantity,
    structure,
    unstructure,
)
from policy_engine.testing import inventory_policies, stocks


class TestPackQuantity:
    """The quantity of a pack listing: ⌊units / pack_size⌋ packs."""

    def test_twenty_units_make_three_packs_of_six(self) -> None:
        """20 units in packs of 6 list 3, with a step saying so."""
        result = compute_quantity(Stock(qty=20), InventoryPolicy(title="Six", pack_size=6))
        assert result.quantity == 3
        assert result.steps[-1].code == "pack_size"
        assert result.steps[-1].message == "20 units make 3 packs of 6"

    def test_buffer_counts_units(self) -> None:
        """The buffer is kept in units, before the packs are counted."""
        policy = InventoryPolicy(title="Six", buffer=3, pack_size=6)
        assert compute_quantity(Stock(qty=20), policy).quantity == 2  # 17 units

    def test_max_quantity_counts_packs(self) -> None:
        """max_quantity caps the packs listed, not the units."""
        policy = InventoryPolicy(title="Six", pack_size=2, max_quantity=4)
        assert compute_quantity(Stock(qty=100), policy).quantity == 4

    def test_threshold_counts_units(self) -> None:
        """The threshold compares and lists units; the packs are counted from what it lists."""
        policy = InventoryPolicy(
            title="T", threshold=Threshold(value=10, above=20, below=2), pack_size=4
        )
        assert [compute_quantity(Stock(qty=q), policy).quantity for q in (11, 10, 9)] == [5, 2, 0]

    def test_single_units_by_default(self) -> None:
        """pack_size 1 (the default) changes nothing and records no step."""
        result = compute_quantity(Stock(qty=7), InventoryPolicy(title="One"))
        assert result.quantity == 7
        assert "pack_size" not in [step.code for step in result.steps]

    @pytest.mark.parametrize("value", [0, -1, True, 1.5, "2"])
    def test_invalid_pack_size(self, value: object) -> None:
        """A pack size must be an integer >= 1."""
        with pytest.raises(PolicyConfigError) as raised:
            structure({"title": "T", "pack_size": value}, InventoryPolicy)
        assert raised.value.errors[0].endswith("@ $.pack_size")

    def test_round_trip(self) -> None:
        """pack_size survives JSON."""
        policy = InventoryPolicy(title="Six", pack_size=6)
        assert unstructure(policy)["pack_size"] == 6
        assert structure(unstructure(policy), InventoryPolicy) == policy

    @given(
        stocks(managed=True, in_stock=True),
        inventory_policies(threshold=False, default_when_out_of_stock=False),
        st.integers(min_value=1, max_value=50),
    )
    def test_a_pack_never_sells_more_units_than_in_stock(
        self, stock: Stock, policy: InventoryPolicy, pack: int
    ) -> None:
        """A pack of k never sells more units than the single-unit listing would: packs × k is
        at most the quantity listed in units (so never more than is in stock), and less than
        one pack short of it."""
        single = attrs.evolve(policy, max_quantity=None)
        units = compute_quantity(stock, single).quantity
        packs = compute_quantity(stock, attrs.evolve(single, pack_size=pack)).quantity
        assert packs * pack <= units < (packs + 1) * pack


class TestPackPrice:
    """The price of a pack listing: the unit price × pack_size, before the adjustments."""

    def test_six_pack(self) -> None:
        """A pack of 6 at 2.50 a unit costs 15.00."""
        result = compute_price(
            Product(sku="S", price=Decimal("2.50")), PricingPolicy(title="Six", pack_size=6)
        )
        assert result.amount == Decimal("15.00")
        assert [(step.code, step.args) for step in result.steps][1] == ("pack_price", (6, "15.00"))
        assert result.steps[1].message == "a pack of 6: 15.00"

    def test_adjustments_apply_to_the_pack(self) -> None:
        """A fixed markup is added once per pack, a percentage on the pack's price."""
        policy = PricingPolicy(
            title="Six",
            pack_size=6,
            adjustments=[Adjustment(kind="fixed_increment", amount=Decimal(1))],
        )
        assert compute_price(Product(sku="S", price=Decimal("2.50")), policy).amount == Decimal(
            "16.00"
        )

    def test_special_price_is_per_unit(self) -> None:
        """The special price replaces the unit price before the pack is counted."""
        product = Product(sku="S", price=Decimal("2.50"), special_price=Decimal("2.00"))
        policy = PricingPolicy(title="Six", pack_size=3, use_special_price=True)
        assert compute_price(product, policy, on=None).amount == Decimal("6.00")

    def test_round_trip(self) -> None:
        """pack_size survives JSON."""
        policy = PricingPolicy(title="Six", pack_size=6)
        assert structure(unstructure(policy), PricingPolicy) == policy
