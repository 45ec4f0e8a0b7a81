"""Batch evaluation on Dask: a bag of products in, a bag of listing outcomes out.

Needs the ``dask`` extra: ``pip install 'policy-engine[dask]'``.

:func:`evaluate_bag` is :func:`~policy_engine.evaluate_many` applied to every partition of a
``dask.bag.Bag`` with ``map_partitions``: the same outcomes, in the same order, whichever
scheduler runs it — the synchronous one, the local threads or processes, or a ``dask.distributed``
cluster when a catalog outgrows one machine (see ``docs/scale.md``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any

try:
    import dask.bag as db
    from dask.bag.core import reify
    from dask.highlevelgraph import HighLevelGraph
except ImportError as error:
    msg = (
        "policy_engine.dask needs Dask, which is not installed: install the 'dask' extra,"
        " pip install 'policy-engine[dask]'"
    )
    raise ImportError(msg) from error

from policy_engine._batch import Setup, prepare, stream_chunk
from policy_engine._config import Configuration

__all__ = ["evaluate_bag"]


def evaluate_bag(
    config: Configuration,
    bag: db.Bag,
    *,
    accounts: Iterable[str] | str | None = None,
    on: date | None = None,
    transform: Callable[[Any], Any] | None = None,
) -> db.Bag:
    """A bag of the listing outcomes of a bag of products (lazy, like every Dask bag).

    Each partition of ``bag`` (``Product`` objects or JSON objects) becomes a partition of
    outcomes: for each product, one :class:`~policy_engine.ListingOutcome` per account, in order,
    exactly as :func:`~policy_engine.evaluate_many` gives them. A product that cannot be loaded or
    evaluated gives outcomes carrying the error; an item without a usable SKU is named by its
    position in its partition (``<item 3 of partition 2>``).

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
    setup = _Setup((config, account_ids, day, transform))
    name = f"evaluate-listings-{uuid.uuid4().hex}"
    # One task per partition, built as Bag.map builds its own: ``reify(evaluate(partition))``.
    # Dask fuses the task with the tasks before and after it and then drops the ``reify``, so
    # the outcomes stream from the products to whatever consumes them, in one process, none of
    # them kept; a partition that is itself a result is made a list (and can be pickled).
    graph: dict[Any, Any] = {
        (name, number): (reify, (_evaluate_partition, (products.name, number), number, setup))
        for number in range(products.npartitions)
    }
    layers = HighLevelGraph.from_collections(name, graph, dependencies=[products])
    outcomes: db.Bag = db.Bag(layers, name, products.npartitions)
    return outcomes


class _Setup:
    """The configuration, accounts, day and transform, opaque to Dask's graph (not a tuple)."""

    __slots__ = ("value",)

    def __init__(self, value: Setup) -> None:
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Setup, (self.value,))


def _evaluate_partition(items: Iterable[object], number: int, setup: _Setup) -> Iterator[Any]:
    return stream_chunk(setup.value, items, 0, f" of partition {number}")
