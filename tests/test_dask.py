"""Batch evaluation on Dask: policy_engine.dask.evaluate_bag (spec section 13)."""

from __future__ import annotations

import importlib
import sys
from datetime import date
from decimal import Decimal
from typing import Any

import dask
import dask.bag as db
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine import (
    Configuration,
    PolicyConfigError,
    Product,
    Stock,
    default_config,
    evaluate_many,
    unstructure,
)
from policy_engine.dask import evaluate_bag
from policy_engine.testing import configurations, products

ON = date(2026, 11, 23)
CONFIG = default_config("aliexpress")
ITEMS: list[Any] = [
    Product(sku="A", price=Decimal("10.00"), stock=Stock(qty=4)),
    {"sku": "B", "price": "12.50"},
    {"sku": "C", "price": "x"},
    Product(sku="D"),
    {"price": 1, "enabled": "no"},
    [],
]


#: Dask has no type hints: its calls go through Any.
dask_bag: Any = db


def bag_of(items: list[Any], partitions: int) -> Any:
    """A bag of the items in (at most) this many partitions."""
    return dask_bag.from_sequence(items, npartitions=max(1, min(partitions, len(items) or 1)))


def outcomes_of(*args: Any, **kwargs: Any) -> Any:
    """evaluate_bag's bag, typed Any."""
    return evaluate_bag(*args, **kwargs)


class TestEvaluateBag:
    """A bag of products becomes the bag of their outcomes, as evaluate_many gives them."""

    @settings(max_examples=25)
    @given(configurations(), st.lists(products(max_images=3), max_size=8), st.integers(1, 4))
    def test_synchronous_equals_serial(
        self, config: Configuration, items: list[Product], partitions: int
    ) -> None:
        """On the synchronous scheduler the outcomes equal the serial run's, in order."""
        outcomes = outcomes_of(config, bag_of(items, partitions), on=ON)
        with dask.config.set(scheduler="synchronous"):
            assert outcomes.compute() == list(evaluate_many(config, items, on=ON))

    def test_processes_equal_serial(self) -> None:
        """On the local processes scheduler (two workers) the outcomes equal the serial run's."""
        outcomes = outcomes_of(CONFIG, bag_of(ITEMS[:4], 2), on=ON)
        computed = outcomes.compute(scheduler="processes", num_workers=2)
        assert computed == list(evaluate_many(CONFIG, ITEMS[:4], on=ON))
        assert [(o.sku, o.ok) for o in computed] == [
            ("A", True),
            ("B", True),
            ("C", False),
            ("D", False),
        ]

    def test_items_without_sku_are_named_by_position(self) -> None:
        """An item without a usable SKU is named by its position in its partition."""
        outcomes = outcomes_of(CONFIG, bag_of(ITEMS, 2), on=ON).compute(scheduler="sync")
        assert [o.sku for o in outcomes] == [
            "A",
            "B",
            "C",
            "D",
            "<item 1 of partition 1>",
            "<item 2 of partition 1>",
        ]
        assert [e.code for o in outcomes[-2:] for e in o.errors] == ["invalid_product"] * 2

    def test_transform(self) -> None:
        """``transform`` runs inside the tasks."""
        dumped = outcomes_of(CONFIG, bag_of(ITEMS[:2], 2), on=ON, transform=unstructure)
        assert dumped.compute(scheduler="sync") == [
            unstructure(o) for o in evaluate_many(CONFIG, ITEMS[:2], on=ON)
        ]

    def test_accounts(self) -> None:
        """``accounts`` chooses the accounts; an unknown one raises at once."""
        bag = bag_of(ITEMS[:1], 1)
        assert outcomes_of(CONFIG, bag, accounts="aliexpress", on=ON).count().compute() == 1
        with pytest.raises(PolicyConfigError, match="unknown account 'nope'"):
            evaluate_bag(CONFIG, bag, accounts=["nope"])

    def test_bad_day(self) -> None:
        """An ``on`` that is not a date raises at once."""
        with pytest.raises(TypeError, match="'on' must be a date"):
            evaluate_bag(CONFIG, bag_of(ITEMS, 1), on=20261123)  # type: ignore[arg-type]


class TestWithoutDask:
    """The module tells how to get Dask when it is missing."""

    def test_import_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Importing policy_engine.dask without Dask names the extra to install."""
        monkeypatch.setitem(sys.modules, "dask.bag", None)
        monkeypatch.delitem(sys.modules, "policy_engine.dask")
        with pytest.raises(ImportError, match=r"install the 'dask' extra.*policy-engine\[dask\]"):
            importlib.import_module("policy_engine.dask")
