"""Many product families at once: ``evaluate_families``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine import (
    PolicyConfigError,
    Product,
    ProductFamily,
    Stock,
    default_config,
    evaluate_families,
    evaluate_family,
    unstructure,
)
from policy_engine.testing import families

CONFIG = default_config("aliexpress", account_id="ae")
ON = date(2026, 1, 1)
HOODIE = ProductFamily(
    parent=Product(sku="MH01", type="configurable"),
    children=[
        Product(
            sku=f"MH01-{size}",
            price=Decimal("52.00"),
            attributes={"size": size},
            stock=Stock(qty=4),
        )
        for size in ("S", "M")
    ],
    variation_attributes=["size"],
)


class TestEvaluateFamilies:
    """One outcome per family and account, in input order; bad items reported, never raised."""

    def test_families_and_json_objects(self) -> None:
        """A family and its JSON give the same outcome as evaluate_family."""
        outcomes = list(evaluate_families(CONFIG, [HOODIE, unstructure(HOODIE)], on=ON))
        expected = evaluate_family(CONFIG, HOODIE, "ae", on=ON)
        assert outcomes == [expected, expected]

    def test_bad_items(self) -> None:
        """An item that is not a family is reported under its parent's SKU or its position."""
        bad: list[Any] = [{"parent": {"sku": "P", "type": "simple"}}, 5, {"parent": 3}]
        outcomes = list(evaluate_families(CONFIG, [*bad, HOODIE], on=ON))
        assert [(o.sku, o.kind, o.template) for o in outcomes[:3]] == [
            ("P", None, None),
            ("<item 1>", None, None),
            ("<item 2>", None, None),
        ]
        assert all(o.errors[0].code == "invalid_family" for o in outcomes[:3])
        assert outcomes[0].errors[0].what == "family"
        assert "@ $.parent.type" in outcomes[0].errors[0].message
        assert outcomes[1].errors[0].message == (
            "expected a product family or a JSON object, got an integer @ $"
        )
        assert outcomes[3].ok

    def test_accounts(self) -> None:
        """``accounts`` picks and orders the accounts; an unknown one is refused at once."""
        assert [o.account for o in evaluate_families(CONFIG, [HOODIE], accounts="ae")] == ["ae"]
        with pytest.raises(PolicyConfigError):
            evaluate_families(CONFIG, [HOODIE], accounts=["nope"])

    @settings(max_examples=25)
    @given(st.lists(families(max_children=3), max_size=4))
    def test_never_drops_a_family(self, items: list[ProductFamily]) -> None:
        """The count of outcomes is families × accounts, each equal to evaluate_family's."""
        outcomes = list(evaluate_families(CONFIG, items, on=ON))
        assert outcomes == [evaluate_family(CONFIG, f, "ae", on=ON) for f in items]
