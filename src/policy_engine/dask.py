"""Batch evaluation on Dask: a bag of products in, a bag of listing outcomes out.

Needs the ``dask`` extra: ``pip install 'policy-engine[dask]'``.

:func:`evaluate_bag` is :func:`~policy_engine.evaluate_many` applied to every partition of a
``dask.bag.Bag`` with ``map_partitions``: the same outcomes, in the same order, whichever
scheduler runs it — the synchronous one, the local threads or processes, or a ``dask.distributed``
cluster when a catalog outgrows one machine (see ``docs/scale.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

try:
    import dask.bag as db
except ImportError as error:
    msg = (
        "policy_engine.dask needs Dask, which is not installed: install the 'dask' extra,"
        " pip install 'policy-engine[dask]'"
    )
    raise ImportError(msg) from error

from policy_engine._batch import evaluate_chunk, gc_paused, prepare
from policy_engine._config import Configuration
from policy_engine._listing import ListingOutcome

__all__ = ["evaluate_bag"]


def evaluate_bag(
    config: Configuration,
    bag: db.Bag,
    *,
    accounts: Iterable[str] | str | None = None,
    on: date | None = None,
    transform: Callable[[ListingOutcome], Any] | None = None,
) -> db.Bag:
    """A bag of the listing outcomes of a bag of products (lazy, like every Dask bag).

    Each partition of ``bag`` (``Product`` objects or JSON objects) becomes a partition of
    outcomes: for each product, one :class:`~policy_engine.ListingOutcome` per account, in order,
    exactly as :func:`~policy_engine.evaluate_many` gives them. A product that cannot be loaded or
    evaluated gives outcomes carrying the error; an item without a usable SKU is named by its
    position in its partition (``<item 3>``: the fourth item of its partition).

    Args:
        config: The configuration (sent with the tasks; it pickles).
        bag: The products.
        accounts: The account ids (every account of the configuration when omitted).
        on: The pricing day; when omitted, today's date in UTC, read once, now.
        transform: A function applied to each outcome inside the task (e.g.
            :func:`~policy_engine.unstructure` before writing JSON).

    Raises:
        PolicyConfigError: for an unknown account id.
        TypeError: for an ``on`` that is not a date.

    >>> import dask.bag as db
    >>> from decimal import Decimal
    >>> from policy_engine import Product, default_config
    >>> from policy_engine.dask import evaluate_bag
    >>> config = default_config("aliexpress")
    >>> products = [Product(sku="A", price=Decimal("10")), {"sku": "B", "price": "x"}]
    >>> bag = db.from_sequence(products, npartitions=2)
    >>> [(o.sku, o.template, o.ok) for o in evaluate_bag(config, bag).compute()]
    [('A', 'default', True), ('B', None, False)]
    """
    account_ids, day = prepare(config, accounts, on)
    products: Any = bag  # Dask has no type hints
    # One task per partition, depending on that partition alone: Dask fuses it with the tasks
    # before and after it, so a partition is made, evaluated and consumed in one process.
    outcomes: db.Bag = products.map_partitions(
        _evaluate_partition, (config, account_ids, day, transform)
    )
    return outcomes


def _evaluate_partition(
    items: Iterable[object], setup: tuple[Configuration, tuple[str, ...], date, Any]
) -> list[Any]:
    # The partition's outcomes are kept in a list: the garbage collector is paused meanwhile,
    # as for a worker's chunk (see policy_engine._batch.run_chunk).
    with gc_paused():
        return evaluate_chunk(setup, items, 0)
