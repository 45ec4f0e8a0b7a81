"""Worker processes over a list of products: the workers read the products, not pickles of them.

``evaluate_many(config, products, workers=N)`` with ``products`` a sequence (a list or a tuple) of
``Product`` objects starts its pool by forking this process (on Linux, when this process runs no
other thread), so every worker has the products already, in its copy of memory. A task is then
two numbers, the start and the end of a slice; what comes back is the slice's outcomes in the
compact codec of :mod:`policy_engine._batch`.

Pickling a product with eight images costs about as much as evaluating it, so sending the products
was what made the pool lose to one process. What remains in this process is rebuilding the
outcomes; while the oldest chunk is still being evaluated in a worker, this process evaluates the
next chunk itself rather than wait, so the work spreads over every core, this one included. The
outcomes still come in input order, and equal those of a serial run.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from policy_engine import _batch

__all__ = ["can_fork", "evaluate_forked", "run_slice"]

#: In a forked worker: the products and the setup the parent had when it forked.
_SHARED: tuple[Sequence[Any], _batch.Setup] | None = None


def can_fork(products: object) -> bool:
    """Whether a batch over ``products`` may run on a pool forked from this process.

    Only on Linux (where ``fork`` is the platform's own way), only for a list or a tuple (a
    sequence that is all in memory), and only while this process runs a single thread (a fork
    copies the locks of other threads as they are, which can deadlock the child).
    """
    return (
        sys.platform == "linux"
        and type(products) in (list, tuple)
        and threading.active_count() == 1
        and "fork" in multiprocessing.get_all_start_methods()
    )


def _share(products: Sequence[Any], setup: _batch.Setup) -> None:
    """Worker initializer: keep what the parent passed (inherited, not pickled, with fork)."""
    global _SHARED  # noqa: PLW0603 - one batch per forked worker process
    _SHARED = (products, setup)


def run_slice(start: int, stop: int) -> bytes:
    """Evaluate ``products[start:stop]`` in a forked worker; the outcomes, encoded."""
    assert _SHARED is not None  # set by the pool's initializer
    products, setup = _SHARED
    with _batch.gc_paused():
        return _batch.dumps(_batch.evaluate_chunk(setup, products[start:stop], start))


def _running(pending: deque[Future[bytes] | list[Any]]) -> int:
    return sum(isinstance(entry, Future) for entry in pending)


def evaluate_forked(
    products: Sequence[Any], setup: _batch.Setup, workers: int, chunk_size: int
) -> Iterator[Any]:
    """The outcomes of ``products``, evaluated on ``workers`` forked processes and here."""
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_share, initargs=(products, setup)
    )
    # Each entry: a future of encoded outcomes, or outcomes already computed here.
    pending: deque[Future[bytes] | list[Any]] = deque()
    in_flight = 2 * workers
    total = len(products)
    start = 0
    try:
        while start < total or pending:
            while start < total and _running(pending) < in_flight:
                stop = min(total, start + chunk_size)
                pending.append(pool.submit(run_slice, start, stop))
                start = stop
            head = pending[0]
            if (
                isinstance(head, Future)
                and not head.done()
                and start < total
                and len(pending) < 2 * in_flight
            ):
                # Rather than wait for the oldest chunk, evaluate the next one here.
                stop = min(total, start + chunk_size)
                pending.append(_batch.evaluate_chunk(setup, products[start:stop], start))
                start = stop
                continue
            pending.popleft()
            if isinstance(head, list):
                yield from head
            else:
                yield from _batch.loads(head.result())
    finally:
        for entry in pending:
            if isinstance(entry, Future):
                entry.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
