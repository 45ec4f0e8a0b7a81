"""Many listings at once: streaming batch evaluation, serial or on a process pool (spec 13).

:func:`evaluate_many` takes an iterable of products (``Product`` objects or their JSON objects)
and yields one :class:`~policy_engine.ListingOutcome` per product and account, in input order,
holding on to nothing it has yielded: a catalog of any size runs in constant memory. A product
that cannot be loaded or evaluated gives outcomes that carry the error; nothing is raised for a
product and nothing is dropped (spec 14).

The work that depends on the configuration alone (compiled conditions, resolved policies) is done
once per configuration (see :class:`~policy_engine._listing.Evaluator`), and the template,
quantity, price and images of a product are computed once and shared by its accounts' outcomes.

With ``workers=N`` (or a caller's ``executor``) the products are cut into chunks that worker
processes evaluate; at most a few chunks are in flight, and the outcomes come back in input order,
equal to those of a serial run. Chunks travel as compact pickles (every model is rebuilt from its
field values, without running ``__init__`` again), and the configuration is decoded once per
worker.
"""

from __future__ import annotations

import contextlib
import copyreg
import gc
import io
import multiprocessing
import operator
import pickle
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from datetime import UTC, date, datetime
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar, overload

from policy_engine._allocation import allocated_quantities
from policy_engine._config import Configuration
from policy_engine._errors import PolicyConfigError
from policy_engine._images import ImageSelection
from policy_engine._inventory import QuantityResult
from policy_engine._listing import (
    Evaluator,
    ListingOutcome,
    OutcomeError,
    ProductPart,
    Rule,
    _outcome,
    evaluator,
)
from policy_engine._models import Image, Product, SourceItem, Stock
from policy_engine._pricing import PriceResult
from policy_engine._serialization import structure
from policy_engine._steps import Step, define_messages
from policy_engine._validation import constructor_fields, describe, fast_constructor

if TYPE_CHECKING:
    from policy_engine._families import FamilyOutcome, Outcome, ProductFamily

__all__ = [
    "chunked",
    "evaluate_chunk",
    "evaluate_many",
    "evaluate_partitions",
    "gc_paused",
    "in_order",
    "outcome_stream",
    "prepare",
    "stream_chunk",
    "worker_setup",
]

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")

#: Products per chunk sent to a worker process.
DEFAULT_CHUNK_SIZE = 2_000

define_messages(
    {
        "invalid_product": "the product could not be loaded: nothing is listed",
        "evaluation_failed": "the product could not be evaluated: nothing is listed",
    }
)

_INVALID_PRODUCT = (Step(("invalid_product",)),)
_EVALUATION_FAILED = (Step(("evaluation_failed",)),)


# ------------------------------------------------------------------------------- one product


class _Rejected(Exception):  # noqa: N818 - a control-flow signal, not an error users see
    """An input item that is not a product: its label and the error it is reported with."""

    def __init__(self, sku: str, error: OutcomeError) -> None:
        super().__init__(sku)
        self.sku = sku
        self.part: ProductPart = (None, None, None, None, (error,), _INVALID_PRODUCT)


def _label(item: object, index: int, where: str = "") -> str:
    """The SKU an item is reported under: its own when it has a usable one, else its position."""
    try:
        sku = item.sku if isinstance(item, Product) else item.get("sku")  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a broken item is still reported, by its position
        sku = None
    if type(sku) is str and sku.strip():
        return sku
    return f"<item {index}{where}>"


def _load(item: object, index: int, where: str) -> Product:
    """A product from an input item: a ``Product`` as it is, a JSON object structured."""
    if isinstance(item, Product):
        return item
    if isinstance(item, Mapping):
        try:
            return structure(item, Product)
        except PolicyConfigError as error:
            message = str(error)
    else:
        message = f"expected a product or a JSON object, got {describe(item)} @ $"
    failure = OutcomeError(what="product", code="invalid_product", message=message)
    raise _Rejected(_label(item, index, where), failure)


def _is_family(item: object, family: type[Any]) -> bool:
    """Whether a batch item is a product family: one, or a JSON object with a ``parent``."""
    if type(item) is family:
        return True
    try:
        return isinstance(item, Mapping) and "parent" in item
    except Exception:  # noqa: BLE001 - a broken mapping is reported as a product that fails
        return False


def _parts(
    product: Product, on: date | None, distinct: list[tuple[Rule, ...]]
) -> list[ProductPart]:
    """A product's part under each rule tuple, computed once per matched template."""
    computed: dict[int, ProductPart] = {}
    parts = []
    for rules in distinct:
        rule = Evaluator.match(product, rules)
        found = computed.get(id(rule))
        if found is None:
            found = computed[id(rule)] = Evaluator.compute(product, on, rule)
        parts.append(found)
    return parts


def _outcomes(
    config: Configuration,
    items: Iterable[object],
    start: int,
    account_ids: Sequence[str],
    on: date | None,
    *,
    where: str = "",
) -> Iterator[Outcome]:
    """The outcomes of the items, numbered from ``start``, for each account in turn.

    A product's results are computed once per matched template and shared by the outcomes of the
    accounts it serves (results are immutable). A product family (a ``ProductFamily``, or a JSON
    object with a ``parent``) gives one family outcome per account instead.
    """
    from policy_engine._families import ProductFamily, family_outcomes  # noqa: PLC0415 - cycle

    evaluation = evaluator(config)
    distinct: list[tuple[Rule, ...]] = []
    plan: list[tuple[str, int]] = []
    for account_id in account_ids:
        rules = evaluation.rules(account_id)
        slot = next((n for n, known in enumerate(distinct) if known is rules), len(distinct))
        if slot == len(distinct):
            distinct.append(rules)
        plan.append((account_id, slot))
    # The hot path: every account served by the same templates (the common case), the matching
    # loop inlined (Evaluator.product_part does the same).
    single = distinct[0] if len(distinct) == 1 else None
    allocation = config.allocation is not None and config.allocation.changes_quantities
    ids = tuple(account_id for account_id, _ in plan)
    compute = Evaluator.compute
    for index, item in enumerate(items, start):
        if type(item) is not Product and _is_family(item, ProductFamily):
            yield from family_outcomes(config, item, index, ids, on, where=where)
            continue
        parts = None
        allocated = None
        try:
            product = item if type(item) is Product else _load(item, index, where)
            if single is not None:
                for rule in single:
                    matches = rule[0]
                    if matches is None or matches(product):
                        break
                else:
                    rule = None
                shared = compute(product, on, rule)
            else:
                parts = _parts(product, on, distinct)
            if allocation:
                allocated = allocated_quantities(config, product)
            sku = product.sku
        except _Rejected as rejected:
            sku, shared = rejected.sku, rejected.part
        except Exception as error:  # noqa: BLE001 - one product must never stop a batch
            sku = _label(item, index, where)
            message = f"{type(error).__name__}: {error}"
            failure = OutcomeError(what="product", code="evaluation_failed", message=message)
            shared = (None, None, None, None, (failure,), _EVALUATION_FAILED)
        if allocated is not None:
            for account_id, slot in plan:
                part = shared if parts is None else parts[slot]
                quantity = allocated.get(account_id, part[1])
                yield _outcome(sku, account_id, part[0], quantity, *part[2:])
        elif parts is None:
            for account_id in ids:
                yield _outcome(sku, account_id, *shared)
        else:
            for account_id, slot in plan:
                yield _outcome(sku, account_id, *parts[slot])


def outcome_stream(
    config: Configuration, items: Iterable[object], account_ids: Sequence[str], on: date | None
) -> Iterator[Outcome]:
    """The items' outcomes on each account, as :func:`evaluate_many` gives them serially.

    One outcome per account for each item, in order; the next item is taken from ``items`` only
    when every outcome of the one before has been read, so a caller may feed the items one at a
    time (the command line does, between its own load problems).
    """
    return _outcomes(config, items, 0, account_ids, on)


#: What a batch evaluates with: the configuration, the account ids, the day and the transform.
Setup = tuple[Any, tuple[str, ...], date, Callable[[Any], Any] | None]


def stream_chunk(
    setup: Setup, items: Iterable[object], start: int, where: str = ""
) -> Iterator[Any]:
    """The outcomes of a chunk of items, transformed, lazily (Dask partitions, fallbacks).

    Items without a usable SKU are named ``<item N{where}>``, ``N`` counted from ``start``.
    """
    config, account_ids, on, transform = setup
    outcomes = _outcomes(config, items, start, account_ids, on, where=where)
    return outcomes if transform is None else map(transform, outcomes)


def evaluate_chunk(setup: Setup, items: Iterable[object], start: int) -> list[Any]:
    """Every outcome of a chunk, transformed, in a list (what a worker sends back)."""
    return list(stream_chunk(setup, items, start))


# ---------------------------------------------------------------------------- the public API


@overload
def evaluate_many(
    config: Any,
    products: Iterable[Product],
    *,
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
    chunk_size: int = ...,
    transform: None = ...,
) -> Iterator[ListingOutcome]: ...


@overload
def evaluate_many(
    config: Any,
    products: Iterable[Product],
    *,
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
    chunk_size: int = ...,
    transform: Callable[[ListingOutcome], T],
) -> Iterator[T]: ...


@overload
def evaluate_many(
    config: Any,
    products: Iterable[ProductFamily],
    *,
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
    chunk_size: int = ...,
    transform: None = ...,
) -> Iterator[FamilyOutcome]: ...


@overload
def evaluate_many(
    config: Any,
    products: Iterable[ProductFamily],
    *,
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
    chunk_size: int = ...,
    transform: Callable[[FamilyOutcome], T],
) -> Iterator[T]: ...


@overload
def evaluate_many(
    config: Any,
    products: Iterable[Product | ProductFamily | Mapping[str, Any]],
    *,
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
    chunk_size: int = ...,
    transform: None = ...,
) -> Iterator[Outcome]: ...


@overload
def evaluate_many(
    config: Any,
    products: Iterable[Product | ProductFamily | Mapping[str, Any]],
    *,
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
    chunk_size: int = ...,
    transform: Callable[[Outcome], T],
) -> Iterator[T]: ...


def evaluate_many(
    config: Any,
    products: Iterable[Product | ProductFamily | Mapping[str, Any]],
    *,
    accounts: Iterable[str] | str | None = None,
    on: date | None = None,
    workers: int | None = None,
    executor: Executor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    transform: Callable[[Any], Any] | None = None,
) -> Iterator[Any]:
    """Evaluate every product on every account, streaming the outcomes in input order.

    For each product, in input order, one :class:`~policy_engine.ListingOutcome` per account (in
    the order of ``accounts``), each equal to
    ``evaluate_listing(config, product, account, on=on)``. The input is read lazily and nothing
    is kept once yielded, so memory stays flat however many products there are. Templates are
    matched by their conditions, as for products not listed yet; for a listed product whose
    stored template must decide, use ``evaluate_listing(..., listing=...)``.

    Never raises for a product: an item that is a JSON object is loaded as a ``Product`` first,
    and an item that cannot be loaded (``PolicyConfigError``) or is neither a product nor an
    object gives outcomes with no template and one error ``what="product"``,
    ``code="invalid_product"`` (the message lists every problem with its JSON path), reported
    under the item's ``sku`` when it has one, else ``"<item N>"`` (its 0-based position). Any
    other failure while evaluating one product gives ``code="evaluation_failed"``. So the count
    of outcomes is always ``products × accounts``.

    Args:
        config: The configuration.
        products: ``Product`` objects or JSON objects (mappings); any iterable, read once.
        accounts: The account ids to evaluate for, in order (one id may be given as a string);
            every account of the configuration when omitted.
        on: The day prices are computed for (see :func:`~policy_engine.compute_price`). When
            omitted, today's date in UTC is read once, when ``evaluate_many`` is called, so every
            product of a batch is priced for the same day.
        workers: Evaluate on this many worker processes (a ``ProcessPoolExecutor`` started for
            the batch and stopped when it ends); ``None`` or 1 evaluates in this process.
        executor: Evaluate on this executor instead (e.g. a long-lived ``ProcessPoolExecutor``
            shared by many batches); it is left running.
        chunk_size: Products per chunk handed to a worker.
        transform: A function applied to each outcome where it is computed (in the worker
            process); its results are yielded instead of the outcomes. Serializing outcomes
            there (to JSON, say) spares the parent process from rebuilding them, which is what
            lets a pool scale; with workers it must be picklable (a module-level function).

    Raises:
        PolicyConfigError: for an unknown account id (checked before anything is evaluated).
        TypeError: for an ``on`` that is not a date.
        ValueError: for ``workers`` or ``chunk_size`` below 1, or both ``workers`` and
            ``executor``.
    """
    evaluator(config)  # built here, once, before the first product is read
    account_ids, day = prepare(config, accounts, on)
    _check_pool_arguments(workers, executor)
    if type(chunk_size) is not int or chunk_size < 1:
        msg = f"chunk_size must be an integer >= 1, got {chunk_size!r}"
        raise ValueError(msg)
    if executor is None and (workers is None or workers == 1):
        outcomes = _outcomes(config, products, 0, account_ids, day)
        return outcomes if transform is None else map(transform, outcomes)
    setup = _encode_setup((config, account_ids, day, transform), "transform")
    local: Setup = (config, account_ids, day, transform)
    if executor is None and workers is not None:
        from policy_engine._forkpool import can_fork, evaluate_forked  # noqa: PLC0415 - cycle

        if can_fork(products):
            return evaluate_forked(products, local, workers, chunk_size)  # type: ignore[arg-type]
    return _pooled(
        iter(products),
        setup,
        local,
        workers=workers,
        executor=executor,
        chunk_size=chunk_size,
    )


@overload
def evaluate_partitions(
    config: Any,
    partitions: Iterable[Iterable[Product]],
    *,
    load: None = ...,
    consume: None = ...,
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
) -> Iterator[list[ListingOutcome]]: ...


@overload
def evaluate_partitions(
    config: Any,
    partitions: Iterable[Iterable[Product]],
    *,
    load: None = ...,
    consume: Callable[[Iterator[ListingOutcome]], R],
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
) -> Iterator[R]: ...


@overload
def evaluate_partitions(
    config: Any,
    partitions: Iterable[P],
    *,
    load: Callable[[P], Iterable[Product]],
    consume: None = ...,
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
) -> Iterator[list[ListingOutcome]]: ...


@overload
def evaluate_partitions(
    config: Any,
    partitions: Iterable[P],
    *,
    load: Callable[[P], Iterable[Product]],
    consume: Callable[[Iterator[ListingOutcome]], R],
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
) -> Iterator[R]: ...


@overload
def evaluate_partitions(
    config: Any,
    partitions: Iterable[Iterable[ProductFamily]],
    *,
    load: None = ...,
    consume: None = ...,
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
) -> Iterator[list[FamilyOutcome]]: ...


@overload
def evaluate_partitions(
    config: Any,
    partitions: Iterable[Iterable[ProductFamily]],
    *,
    load: None = ...,
    consume: Callable[[Iterator[FamilyOutcome]], R],
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
) -> Iterator[R]: ...


@overload
def evaluate_partitions(
    config: Any,
    partitions: Iterable[P],
    *,
    load: Callable[[P], Iterable[ProductFamily]],
    consume: None = ...,
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
) -> Iterator[list[FamilyOutcome]]: ...


@overload
def evaluate_partitions(
    config: Any,
    partitions: Iterable[P],
    *,
    load: Callable[[P], Iterable[ProductFamily]],
    consume: Callable[[Iterator[FamilyOutcome]], R],
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
) -> Iterator[R]: ...


@overload
def evaluate_partitions(
    config: Any,
    partitions: Iterable[Iterable[Product | ProductFamily | Mapping[str, Any]]],
    *,
    load: None = ...,
    consume: None = ...,
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
) -> Iterator[list[Outcome]]: ...


@overload
def evaluate_partitions(
    config: Any,
    partitions: Iterable[Iterable[Product | ProductFamily | Mapping[str, Any]]],
    *,
    load: None = ...,
    consume: Callable[[Iterator[Outcome]], R],
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
) -> Iterator[R]: ...


@overload
def evaluate_partitions(
    config: Any,
    partitions: Iterable[P],
    *,
    load: Callable[[P], Iterable[Product | ProductFamily | Mapping[str, Any]]],
    consume: None = ...,
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
) -> Iterator[list[Outcome]]: ...


@overload
def evaluate_partitions(
    config: Any,
    partitions: Iterable[P],
    *,
    load: Callable[[P], Iterable[Product | ProductFamily | Mapping[str, Any]]],
    consume: Callable[[Iterator[Outcome]], R],
    accounts: Iterable[str] | str | None = ...,
    on: date | None = ...,
    workers: int | None = ...,
    executor: Executor | None = ...,
) -> Iterator[R]: ...


def evaluate_partitions(
    config: Any,
    partitions: Iterable[Any],
    *,
    load: Callable[[Any], Iterable[Any]] | None = None,
    consume: Callable[[Iterator[Any]], Any] | None = None,
    accounts: Iterable[str] | str | None = None,
    on: date | None = None,
    workers: int | None = None,
    executor: Executor | None = None,
) -> Iterator[Any]:
    """Evaluate a catalog cut into partitions, each read and summed up where it is evaluated.

    The pool counterpart of :func:`policy_engine.dask.evaluate_bag`, for data that a worker can
    fetch itself: each partition is a description of some products (a file and a line range, a
    page of an API, a range of ids...) that ``load`` turns into products in the worker, and
    ``consume`` takes the partition's outcomes there, as they are computed, and returns what the
    caller needs back (a count, a summary, the name of the file it wrote). Only the descriptions
    and the results cross between processes, so the work spreads over the workers instead of
    waiting on the calling process.

    For each partition, in order, the result is ``consume(outcomes)``, where ``outcomes``
    iterates exactly what ``evaluate_many(config, load(partition), accounts=accounts, on=on)``
    gives (one outcome per product and account; failures carried in the outcomes, never
    raised), except that an item without a usable SKU is named ``<item N of partition P>``.
    Without ``load`` a partition is itself an iterable of products (or JSON objects); without
    ``consume`` the result is the list of the partition's outcomes.

    Args:
        config: The configuration.
        partitions: The partitions, read lazily, in order (a few per worker are in flight).
        load: Turns a partition into its products (in the worker; module-level, picklable).
        consume: Takes a partition's outcome iterator and returns the partition's result (in
            the worker; module-level, picklable).
        accounts: The account ids, in order; every account of the configuration when omitted.
        on: The pricing day; when omitted, today's date in UTC, read once, now.
        workers: Run on this many worker processes (a pool started for the call and stopped
            when it ends); ``None`` or 1 runs in this process.
        executor: Run on this executor instead (left running).

    Raises:
        PolicyConfigError: for an unknown account id (checked before anything is evaluated).
        TypeError: for an ``on`` that is not a date, or a ``load`` or ``consume`` that cannot
            be pickled for worker processes.
        ValueError: for ``workers`` below 1, or both ``workers`` and ``executor``.
        Exception: whatever ``load`` or ``consume`` raises for a partition, with a note naming
            the partition; the partitions before it have been yielded.
    """
    account_ids, day = prepare(config, accounts, on)
    _check_pool_arguments(workers, executor)
    local: _PartitionSetup = (config, account_ids, day, load, consume)
    numbered = enumerate(partitions)
    if executor is None and (workers is None or workers == 1):
        return (_partition(local, number, partition) for number, partition in numbered)
    setup = _encode_setup(local, "load and consume")

    def tasks() -> Iterator[_Task]:
        for number, partition in numbered:
            payload = _encode((number, partition))
            yield payload, partial(_partition, local, number, partition)

    # A worker's exception arrives with its note (notes travel with the exception).
    return in_order(tasks(), run_partition, setup, workers=workers, executor=executor)


#: What a partition is evaluated with: the configuration, accounts, day, load and consume.
_PartitionSetup = tuple[
    Any,
    tuple[str, ...],
    date,
    Callable[[Any], Iterable[object]] | None,
    Callable[[Iterator[Any]], Any] | None,
]


def _partition(setup: _PartitionSetup, number: int, partition: Any) -> Any:
    """One partition's result, computed in this process."""
    config, account_ids, day, load, consume = setup
    try:
        items = partition if load is None else load(partition)
        outcomes = stream_chunk(
            (config, account_ids, day, None), items, 0, f" of partition {number}"
        )
        return list(outcomes) if consume is None else consume(outcomes)
    except Exception as error:
        error.add_note(f"while evaluating partition {number}")
        raise


def run_partition(setup: bytes, payload: bytes) -> bytes | None:
    """Evaluate one partition in a worker process: its number and description in, the result
    out (see :func:`run_chunk`)."""
    decoded: _PartitionSetup = worker_setup(setup)
    try:
        number, partition = pickle.loads(payload)  # noqa: S301 - bytes our own parent produced
    except Exception:  # noqa: BLE001 - e.g. a class this process cannot import
        return None
    if decoded[4] is not None:
        return _dumps(_partition(decoded, number, partition))
    with gc_paused():  # a list of outcomes: thousands of objects and no cycle (see run_chunk)
        return _dumps(_partition(decoded, number, partition))


def _check_pool_arguments(workers: int | None, executor: Executor | None) -> None:
    if workers is not None and (type(workers) is not int or workers < 1):
        msg = f"workers must be an integer >= 1, got {workers!r}"
        raise ValueError(msg)
    if executor is not None and workers is not None:
        msg = "give either workers or an executor, not both"
        raise ValueError(msg)


def _encode_setup(setup: tuple[Any, ...], what: str) -> bytes:
    try:
        return pickle.dumps(setup, pickle.HIGHEST_PROTOCOL)
    except Exception as error:
        msg = (
            f"{what} must be picklable to run on worker processes (module-level functions): {error}"
        )
        raise TypeError(msg) from error


def prepare(
    config: Any, accounts: Iterable[str] | str | None, on: object
) -> tuple[tuple[str, ...], date]:
    """The account ids (all by default) and the day of a batch, checked before it starts.

    Raises:
        PolicyConfigError: for an unknown account id.
        TypeError: for an ``on`` that is not a date.
    """
    evaluation = evaluator(config)
    if accounts is None:
        return tuple(evaluation.account_rules), _day(on)
    account_ids = (accounts,) if isinstance(accounts, str) else tuple(accounts)
    for account_id in account_ids:
        evaluation.rules(account_id)  # raises PolicyConfigError for an unknown account
    return account_ids, _day(on)


def _day(on: object) -> date:
    if on is None:
        return datetime.now(UTC).date()
    if isinstance(on, datetime):
        return on.date()
    if isinstance(on, date):
        return on
    msg = f"'on' must be a date, got {type(on).__name__}"
    raise TypeError(msg)


# -------------------------------------------------------------------------------- the pool


def pool_context() -> Any:
    """The start method of the pools this module starts.

    ``forkserver`` where the platform has it: workers start from a clean, single-threaded
    server process (``fork`` from a process that runs threads can deadlock), and quickly;
    ``spawn`` elsewhere.
    """
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _start_pool(workers: int | None, executor: Executor | None) -> tuple[Executor, int, bool]:
    """The pool to run on, how many tasks to keep in flight, and whether to stop it after."""
    if executor is None:
        assert workers is not None  # checked by the callers
        return (
            ProcessPoolExecutor(max_workers=workers, mp_context=pool_context()),
            2 * workers,
            True,
        )
    return executor, 2 * getattr(executor, "_max_workers", 2), False


#: A task for the pool: its encoded payload (``None`` when it does not pickle) and what computes
#: the same result in this process.
_Task = tuple[bytes | None, Callable[[], Any]]


def in_order(
    tasks: Iterator[_Task],
    run: Callable[[bytes, bytes], bytes | None],
    setup: bytes,
    *,
    workers: int | None,
    executor: Executor | None = None,
) -> Iterator[Any]:
    """The results of the tasks, run on worker processes, in order, a bounded number in flight.

    A task whose payload did not pickle, or that a worker could not decode (it answers
    ``None``), is run in this process instead, with the same result.
    """
    pool, in_flight, own = _start_pool(workers, executor)
    pending: deque[tuple[Future[bytes | None] | None, Callable[[], Any]]] = deque()
    try:
        while True:
            try:
                payload, local = next(tasks)
            except StopIteration:
                break
            except Exception:
                # The input failed: what was read before it still comes out, then the error.
                while pending:
                    yield _result(*pending.popleft())
                raise
            future = None if payload is None else pool.submit(run, setup, payload)
            pending.append((future, local))
            while len(pending) >= in_flight:
                yield _result(*pending.popleft())
        while pending:
            yield _result(*pending.popleft())
    finally:
        for future, _ in pending:
            if future is not None:
                future.cancel()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


def _result(future: Future[bytes | None] | None, local: Callable[[], Any]) -> Any:
    encoded = None if future is None else future.result()
    if encoded is None:
        return local()
    return loads(encoded)


def _encode(value: object) -> bytes | None:
    try:
        return dumps(value)
    except Exception:  # noqa: BLE001 - an item that does not pickle: run the task here
        return None


def _pooled(
    items: Iterator[object],
    setup: bytes,
    local: Setup,
    *,
    workers: int | None,
    executor: Executor | None,
    chunk_size: int,
) -> Iterator[Any]:
    """Chunks of items evaluated on worker processes, their outcomes yielded in order."""

    def tasks() -> Iterator[_Task]:
        start = 0
        for chunk in chunked(items, chunk_size):
            yield _encode((start, chunk)), partial(evaluate_chunk, local, chunk, start)
            start += len(chunk)

    for results in in_order(tasks(), run_chunk, setup, workers=workers, executor=executor):
        yield from results


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to ``size`` items, in order.

    When reading the items fails, the items read before the failure still come, as a last
    list, and then the error is raised: nothing read is lost.
    """
    iterator = iter(items)
    while True:
        chunk: list[T] = []
        try:
            chunk.extend(islice(iterator, size))
        except Exception:
            if chunk:
                yield chunk
            raise
        if not chunk:
            return
        yield chunk


# What a worker process keeps between tasks: the setup it was last given, and decoded.
_WORKER_SETUP: tuple[bytes, Any] | None = None


def worker_setup(setup: bytes) -> Any:
    """The setup of a task in a worker process, decoded once and kept while the same bytes keep
    coming (every task of a batch carries the same setup)."""
    global _WORKER_SETUP  # noqa: PLW0603 - one decoded setup per worker process
    known = _WORKER_SETUP
    if known is None or known[0] != setup:
        known = (setup, pickle.loads(setup))  # noqa: S301 - bytes our own parent produced
        _WORKER_SETUP = known
    return known[1]


def run_chunk(setup: bytes, payload: bytes) -> bytes | None:
    """Evaluate one chunk in a worker process: encoded items in, encoded results out.

    ``setup`` (the configuration, accounts, day and transform) is decoded once per worker and
    kept while the same setup keeps coming. ``None`` tells the parent that the chunk could not be
    decoded here, so that it evaluates the chunk itself.

    The cyclic garbage collector is paused for the chunk: the chunk's outcomes are thousands of
    live objects, with no cycle among them, that every collection would scan again (measured:
    a third of the time of a chunk). It runs again between chunks.
    """
    with gc_paused():
        decoded: Setup = worker_setup(setup)
        try:
            start, chunk = pickle.loads(payload)  # noqa: S301 - bytes our own parent produced
        except Exception:  # noqa: BLE001 - e.g. a product subclass this process cannot import
            return None
        return _dumps(evaluate_chunk(decoded, chunk, start))


_GC_LOCK = threading.Lock()
_GC_PAUSES = 0
_GC_WAS_ENABLED = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (if it runs) for the block.

    Safe from several threads at once: the first block to start pauses it, the last to end
    restores it as it was.
    """
    global _GC_PAUSES, _GC_WAS_ENABLED  # noqa: PLW0603 - one pause count per process
    with _GC_LOCK:
        if _GC_PAUSES == 0:
            _GC_WAS_ENABLED = gc.isenabled()
            gc.disable()
        _GC_PAUSES += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_PAUSES -= 1
            if _GC_PAUSES == 0 and _GC_WAS_ENABLED:
                gc.enable()


# ------------------------------------------------------------------------------- the codec


def _rebuilder(cls: type[Any]) -> tuple[Callable[..., Any], Callable[[Any], Any]]:
    """A picklable constructor from field values, and the reducer that uses it.

    Pickling an attrs instance by default goes through ``__getstate__``/``__setstate__`` (a dict
    per object, built and read in Python); here the field values travel as one tuple, read in C
    by ``attrgetter``, and the object is rebuilt by :func:`fast_constructor` (no checks: the
    values come from a valid object).
    """
    names = constructor_fields(cls)
    make = fast_constructor(cls)
    make.__module__ = __name__
    make.__qualname__ = make.__name__ = f"_make_{cls.__name__}"
    setattr(sys.modules[__name__], make.__name__, make)
    values = operator.attrgetter(*names)
    if len(names) == 1:  # pragma: no cover - every class here has several fields

        def reduce_one(obj: Any) -> tuple[Any, ...]:
            return (make, (values(obj),))

        return make, reduce_one

    def reduce(obj: Any) -> tuple[Any, ...]:
        return (make, values(obj))

    return make, reduce


_DISPATCH: dict[type[Any], Callable[[Any], Any]] = dict(copyreg.dispatch_table)
for _cls in (
    Product,
    Image,
    Stock,
    SourceItem,
    ListingOutcome,
    OutcomeError,
    QuantityResult,
    PriceResult,
    ImageSelection,
):
    _DISPATCH[_cls] = _rebuilder(_cls)[1]


def _reduce_step(step: Step) -> tuple[Any, ...]:
    # Pickle's default for a tuple subclass goes through copyreg and costs ten times this.
    return (Step, (tuple(step),))


_DISPATCH[Step] = _reduce_step


class _Pickler(pickle.Pickler):
    dispatch_table = _DISPATCH


def loads(data: bytes) -> Any:
    """Unpickle what :func:`dumps` made (bytes from our own parent or worker process).

    The cyclic garbage collector is paused meanwhile: unpickling allocates thousands of objects
    and no cycle, and every collection it would trigger scans all of them.
    """
    with gc_paused():
        return pickle.loads(data)  # noqa: S301 - see above


def dumps(obj: object) -> bytes:
    """Pickle with the compact reducers of the models above (the garbage collector paused)."""
    with gc_paused():
        return _dumps(obj)


def _dumps(obj: object) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()
