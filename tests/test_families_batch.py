"""Many product families at once: ``evaluate_families``, and families in ``evaluate_many``,
``evaluate_partitions`` and Dask."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine import (
    FamilyKind,
    FamilyOutcome,
    PolicyConfigError,
    Product,
    ProductFamily,
    Stock,
    default_config,
    evaluate_families,
    evaluate_family,
    evaluate_listing,
    evaluate_many,
    evaluate_partitions,
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


TWO = attrs.evolve(CONFIG, accounts=[*CONFIG.accounts, attrs.evolve(CONFIG.accounts[0], id="ae2")])
FLAT = Product(sku="FLAT", price=Decimal("10.00"), stock=Stock(qty=3))


def _expected(config: Any, items: list[Any]) -> list[Any]:
    accounts = [account.id for account in config.accounts]
    out: list[Any] = []
    for item in items:
        for account in accounts:
            if isinstance(item, ProductFamily):
                out.append(evaluate_family(config, item, account, on=ON))
            else:
                out.append(evaluate_listing(config, item, account, on=ON))
    return out


class TestEvaluateManyWithFamilies:
    """``evaluate_many``, ``evaluate_partitions`` and Dask take families beside products."""

    def test_mixed_items_in_order(self) -> None:
        """Products give listing outcomes and families family outcomes, in input order, per
        account; a family's JSON (an object with a ``parent``) is loaded as a family."""
        items: list[Any] = [FLAT, HOODIE, unstructure(HOODIE), unstructure(FLAT)]
        outcomes = list(evaluate_many(TWO, items, on=ON))
        assert outcomes == _expected(TWO, [FLAT, HOODIE, HOODIE, FLAT])
        assert [type(o).__name__ for o in outcomes[::2]] == [
            "ListingOutcome",
            "FamilyOutcome",
            "FamilyOutcome",
            "ListingOutcome",
        ]

    def test_families_only_typed(self) -> None:
        """Families alone give family outcomes, and a transform sees them."""
        kinds = list(evaluate_many(CONFIG, [HOODIE], on=ON, transform=lambda o: o.kind))
        assert kinds == [FamilyKind.CONFIGURABLE]

    def test_invalid_family_is_reported(self) -> None:
        """A family's JSON that does not load is an ``invalid_family`` outcome per account, under
        its parent's SKU or its position; the items after it are evaluated."""
        bad: list[Any] = [{"parent": {"sku": "P", "type": "simple"}}, {"parent": None}, FLAT]
        outcomes = list(evaluate_many(TWO, bad, on=ON))
        assert [(o.sku, o.account) for o in outcomes] == [
            ("P", "ae"),
            ("P", "ae2"),
            ("<item 1>", "ae"),
            ("<item 1>", "ae2"),
            ("FLAT", "ae"),
            ("FLAT", "ae2"),
        ]
        assert [o.errors[0].code for o in outcomes[:4]] == ["invalid_family"] * 4
        assert [step.code for step in outcomes[0].reasons] == ["invalid_family"]
        assert outcomes[4].ok

    def test_a_failing_family_does_not_stop_the_batch(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An exception while evaluating a family is that family's error, on each account."""
        from policy_engine import _families

        def boom(*_: Any, **__: Any) -> Any:
            raise ZeroDivisionError("boom")

        monkeypatch.setattr(_families, "evaluate_family", boom)
        outcomes = list(evaluate_many(CONFIG, [HOODIE, FLAT], on=ON))
        assert outcomes[0].sku == "MH01"
        assert isinstance(outcomes[0], FamilyOutcome)
        assert outcomes[0].kind == FamilyKind.CONFIGURABLE
        assert outcomes[0].errors[0].code == "evaluation_failed"
        assert outcomes[0].errors[0].message == "ZeroDivisionError: boom"
        assert [step.code for step in outcomes[0].reasons] == ["family_evaluation_failed"]
        assert outcomes[1].ok

    def test_broken_mapping_is_a_failed_product(self) -> None:
        """A mapping whose ``in`` raises is not taken for a family: it fails as a product."""

        class Broken(dict[str, Any]):
            def __contains__(self, key: object) -> bool:
                raise RuntimeError("no")

        outcomes = list(evaluate_many(CONFIG, [Broken(sku="X")], on=ON))
        assert outcomes[0].sku == "X"
        assert not outcomes[0].ok

    def test_workers_equal_serial(self) -> None:
        """On two worker processes, the same outcomes in the same order."""
        items: list[Any] = [HOODIE, FLAT, unstructure(HOODIE)] * 3
        serial = list(evaluate_many(TWO, items, on=ON))
        pooled = list(evaluate_many(TWO, items, on=ON, workers=2, chunk_size=2))
        assert pooled == serial

    def test_partitions(self) -> None:
        """``evaluate_partitions`` gives each partition's outcomes, families included; an item
        without a usable SKU is named by its partition."""
        parts: list[list[Any]] = [[HOODIE], [FLAT, {"parent": 1}]]
        results = list(evaluate_partitions(CONFIG, parts, on=ON))
        assert results[0] == [evaluate_family(CONFIG, HOODIE, "ae", on=ON)]
        assert results[1][0] == evaluate_listing(CONFIG, FLAT, "ae", on=ON)
        assert results[1][1].sku == "<item 1 of partition 1>"

    def test_dask(self) -> None:
        """A Dask bag of products and families gives the serial outcomes."""
        db = pytest.importorskip("dask.bag")
        from policy_engine.dask import evaluate_bag

        items: list[Any] = [HOODIE, FLAT, unstructure(HOODIE)]
        bag = db.from_sequence(items, npartitions=2)
        outcomes: Any = evaluate_bag(TWO, bag, on=ON)
        computed = outcomes.compute(scheduler="sync")
        assert computed == list(evaluate_many(TWO, items, on=ON))

    @settings(max_examples=20, deadline=None)
    @given(st.lists(st.one_of(families(max_children=3), st.just(FLAT)), max_size=4))
    def test_never_drops_an_item(self, items: list[Any]) -> None:
        """Invariant: evaluate_many yields items × accounts outcomes, each equal to the one
        evaluate_family (or evaluate_listing) gives alone."""
        assert list(evaluate_many(TWO, items, on=ON)) == _expected(TWO, items)
