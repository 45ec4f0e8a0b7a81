"""evaluate_many(..., workers=N) over a list: forked workers read the products they evaluate."""

from __future__ import annotations

import sys
import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from policy_engine import (
    Image,
    Product,
    Stock,
    _forkpool,
    default_config,
    evaluate_many,
    unstructure,
)

ON = date(2026, 11, 23)
CONFIG = default_config("aliexpress")

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="forked pools are Linux only")


def catalog(count: int) -> list[Any]:
    """Products, with a JSON object, an invalid object and a non-product among them."""
    items: list[Any] = [
        Product(
            sku=f"P-{n}",
            price=Decimal(10 + n),
            stock=Stock(qty=n % 7),
            images=(Image(file=f"/{n}.jpg"), Image(file=f"/{n}-b.jpg", disabled=n % 2 == 0)),
        )
        for n in range(count)
    ]
    items[3] = unstructure(items[3])
    items[5] = {"sku": "BAD", "price": "x"}
    items[8] = 42
    return items


@linux_only
class TestForkedPool:
    """The outcomes of a forked pool are the serial ones, in input order."""

    def test_list_is_evaluated_on_a_forked_pool(self) -> None:
        items = catalog(40)
        assert _forkpool.can_fork(items)
        serial = list(evaluate_many(CONFIG, items, on=ON))
        assert list(evaluate_many(CONFIG, items, on=ON, workers=2, chunk_size=3)) == serial
        assert [o.sku for o in serial[5:9]] == ["BAD", "P-6", "P-7", "<item 8>"]

    def test_tuple_and_transform(self) -> None:
        """A transform need not travel: the forked workers have it already."""
        items = tuple(catalog(12))
        serial = list(evaluate_many(CONFIG, items, on=ON, transform=unstructure))
        forked = evaluate_many(CONFIG, items, on=ON, workers=2, chunk_size=2, transform=unstructure)
        assert list(forked) == serial

    def test_single_worker_and_empty_list(self) -> None:
        items = catalog(10)
        serial = list(evaluate_many(CONFIG, items, on=ON))
        assert list(evaluate_many(CONFIG, items, on=ON, workers=2, chunk_size=100)) == serial
        assert list(evaluate_many(CONFIG, [], on=ON, workers=2)) == []

    def test_stopping_early_stops_the_pool(self) -> None:
        outcomes = evaluate_many(CONFIG, catalog(60), on=ON, workers=2, chunk_size=4)
        first = next(outcomes)
        assert first.sku == "P-0"
        outcomes.close()  # type: ignore[attr-defined]


class TestWorkerSide:
    """What a forked worker runs, run here."""

    def test_run_slice(self) -> None:
        from policy_engine._batch import loads

        items = catalog(10)
        serial = list(evaluate_many(CONFIG, items, on=ON))
        _forkpool._share(items, (CONFIG, ("aliexpress",), ON, None))
        try:
            assert loads(_forkpool.run_slice(2, 6)) == serial[2:6]
        finally:
            _forkpool._share([], (CONFIG, (), ON, None))


class TestWhenNotForked:
    """Other inputs keep the pool that receives pickled chunks."""

    def test_iterators_are_not_forked(self) -> None:
        assert not _forkpool.can_fork(iter(catalog(10)))
        assert not _forkpool.can_fork(range(3))

    def test_not_forked_while_another_thread_runs(self) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()
        try:
            items = catalog(10)
            assert not _forkpool.can_fork(items)
            serial = list(evaluate_many(CONFIG, items, on=ON))
            assert list(evaluate_many(CONFIG, items, on=ON, workers=2, chunk_size=4)) == serial
        finally:
            stop.set()
            thread.join()
