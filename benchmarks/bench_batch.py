"""Benchmark: evaluate_many over a generated catalog, serial, on 2 workers and on Dask.

Run: ``python benchmarks/bench_batch.py`` (``--quick`` for 100,000 products instead of
1,000,000; ``--count N`` for any size). Each measurement runs in a fresh Python process, so that
its peak memory (``ru_maxrss``) is its own; worker processes are measured apart (the largest).

The catalog is generated lazily: 4,099 distinct products are built (and checked) once, then the
generator yields copies of them with unique SKUs, so memory does not grow with the count and the
generator costs little (the ``generate only`` row measures it). A listing is a product on an
account; the configuration has 5 templates (4 conditions and a catch-all) and 2 accounts, and
every outcome is consumed (its quantity, price and error count are summed into a checksum that
must be the same for every way of running).

Scenarios:

- ``serial``: ``evaluate_many(config, products)`` in this process (2 accounts), and the same for
  one account (``serial, 1 account``): the listing throughput of one core.
- ``2 workers``: ``evaluate_many(..., workers=2)``: products are pickled to the workers and the
  outcomes pickled back, in order.
- ``serial, list`` / ``2 workers, list``: the same catalog as a list built before the clock
  starts (a list is what the pool forks with: the workers read the products from their copy of
  this process's memory and only slice bounds travel; the outcomes come back pickled).
- ``2 workers, partitions``: ``evaluate_partitions(..., workers=2)``: as on Dask, each partition
  of the catalog is generated in the worker (``load``) and its outcomes summed there
  (``consume``); only the partition numbers and checksums travel.
- ``Dask, 2 processes``: the products of each partition are generated inside the task, evaluated
  by ``evaluate_bag`` and summarised there; only the partition checksums come back (how Dask is
  used on data that lives with the workers). Its serial reference is ``serial``.
- ``JSON, serial`` / ``JSON, 2 workers``: JSON objects in (as read from a file), one JSON line
  per outcome out (``transform=json_line``, so the workers serialize): the pipeline of
  ``policy-engine evaluate --format jsonl``. Its checksum is the count, total length and a digest
  of the lines.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import operator
import os
import platform
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from policy_engine import (
    Account,
    Adjustment,
    AdjustmentKind,
    Configuration,
    Ending,
    EndingDirection,
    Image,
    ImagePolicy,
    InventoryPolicy,
    ListingOutcome,
    ListingTemplate,
    Outcome,
    PricingPolicy,
    Product,
    Stock,
    SyncPolicy,
    Threshold,
    __version__,
    evaluate_many,
    evaluate_partitions,
    unstructure,
)
from policy_engine._validation import fast_constructor

ON = date(2026, 6, 1)
DISTINCT = 4_099  # more than a chunk (2,000), so no chunk holds the same objects twice
PARTITIONS = 40

# ----------------------------------------------------------------------------- configuration


def make_config() -> Configuration:
    """Five templates (four conditions and a catch-all), two accounts."""
    return Configuration(
        sync_policies={"sync": SyncPolicy(title="Sync")},
        inventory_policies={
            "stock": InventoryPolicy(title="Stock", buffer=2, max_quantity=100),
            "threshold": InventoryPolicy(
                title="Threshold", threshold=Threshold(value=10, above=20, below=2)
            ),
        },
        pricing_policies={
            "msrp": PricingPolicy(
                title="MSRP +10%",
                price_attribute="msrp",
                use_special_price=True,
                adjustments=(
                    Adjustment(kind=AdjustmentKind.PERCENT_INCREMENT, amount=Decimal(10)),
                ),
                ending=Ending(value=Decimal("0.99"), direction=EndingDirection.UP),
            ),
            "regular": PricingPolicy(title="Regular", use_special_price=True),
        },
        image_policies={
            "gallery": ImagePolicy(title="Gallery", gallery_limit=6),
            "main": ImagePolicy(title="Main", main_image_attribute="marketplace_image"),
        },
        templates=(
            _template("clearance", "'Sale' in categories and qty > 0", "stock", "regular"),
            _template("bags", "under(categories, 'Gear/Bags')", "threshold", "msrp"),
            _template(
                "tops", "attribute_set == 'Top' and color in ('Red', 'Blue', 'Black')", "stock"
            ),
            _template("premium", "price >= 150", "threshold", "regular", images="main"),
            _template("rest", None, "stock"),
        ),
        accounts=(
            Account(id="ali", channel="aliexpress", sync_policy="sync"),
            Account(id="tiktok", channel="tiktok", sync_policy="sync"),
        ),
    )


def _template(
    template_id: str,
    condition: str | None,
    inventory: str,
    pricing: str = "msrp",
    *,
    images: str = "gallery",
) -> ListingTemplate:
    return ListingTemplate(
        id=template_id,
        title=template_id.title(),
        condition=condition,
        inventory_policy=inventory,
        pricing_policy=pricing,
        image_policy=images,
    )


CONFIG = make_config()

# ---------------------------------------------------------------------------------- catalog

IMAGE_ROLE = frozenset({"image"})
NO_ROLES: frozenset[str] = frozenset()
CATEGORIES = (
    ("Men/Tops",),
    ("Women/Tops", "Sale"),
    ("Gear/Bags",),
    ("Gear/Bags/Travel", "Sale"),
    ("Men/Bottoms",),
    ("Women/Shoes",),
)


def distinct_products(count: int = DISTINCT, seed: int = 20261123) -> list[Product]:
    """Realistic products: prices, MSRPs, special prices, MSI-less stock, 8 images each."""
    rng = random.Random(seed)
    products = []
    for index in range(count):
        price = Decimal(rng.randint(500, 30000)) / 100
        attributes: dict[str, Any] = {"color": rng.choice(("Red", "Blue", "Black", "Green"))}
        if rng.random() < 0.8:
            attributes["msrp"] = str(price + Decimal(rng.randint(0, 2000)) / 100)
        if rng.random() < 0.1:
            attributes["marketplace_image"] = f"/m/{index}.jpg"
        roll = rng.random()
        stock = (
            None
            if roll < 0.02
            else Stock(qty=rng.randint(-2, 5), in_stock=rng.random() < 0.7)
            if roll < 0.12
            else Stock(qty=rng.randint(1, 400))
        )
        special = rng.random() < 0.2
        products.append(
            Product(
                sku=f"T-{index}",
                name=f"Product {index}",
                enabled=rng.random() > 0.05,
                price=None if rng.random() < 0.01 else price,
                special_price=(price * Decimal("0.8")).quantize(Decimal("0.01"))
                if special
                else None,
                special_from=date(2026, 1, 1) if special else None,
                special_to=date(2026, 12, 31) if special else None,
                attributes=attributes,
                categories=rng.choice(CATEGORIES),
                attribute_set=rng.choice(("Top", "Bottom", "Bag", "Default")),
                stock=stock,
                images=tuple(
                    Image(
                        file=f"/p/{index}/{n}.jpg",
                        position=(n * 5) % 8,
                        disabled=n == 3,
                        roles=IMAGE_ROLE if n == 2 else NO_ROLES,
                    )
                    for n in range(8)
                ),
            )
        )
    return products


_FIELDS = operator.attrgetter(*(field.name for field in Product.__attrs_attrs__))
_make_product = fast_constructor(Product)
_TEMPLATES: list[Product] = []


def _templates() -> list[Product]:
    if not _TEMPLATES:
        _TEMPLATES.extend(distinct_products())
    return _TEMPLATES


def generate(count: int, start: int = 0) -> Iterator[Product]:
    """``count`` products with unique SKUs, made lazily from the distinct ones (no checks rerun:
    the values come from valid products)."""
    templates = _templates()
    size = len(templates)
    for number in range(start, start + count):
        values = list(_FIELDS(templates[number % size]))
        values[0] = f"SKU-{number}"
        yield _make_product(*values)


_RECORDS: list[dict[str, Any]] = []


def generate_records(count: int, start: int = 0) -> Iterator[dict[str, Any]]:
    """The same catalog as JSON objects (what a file or an API gives)."""
    if not _RECORDS:
        _RECORDS.extend(unstructure(product) for product in _templates())
    size = len(_RECORDS)
    for number in range(start, start + count):
        record = dict(_RECORDS[number % size])
        record["sku"] = f"SKU-{number}"
        yield record


# ---------------------------------------------------------------------------------- measure


def checksum(outcomes: Iterable[ListingOutcome]) -> tuple[int, int, str, int]:
    """Listings, total quantity, total price and errors: the same for every way of running."""
    listings = quantity = errors = 0
    price = Decimal(0)
    for outcome in outcomes:
        listings += 1
        if outcome.quantity is not None:
            quantity += outcome.quantity.quantity
        if outcome.price is not None:
            price += outcome.price.amount
        errors += len(outcome.errors)
    return listings, quantity, str(price), errors


def json_line(outcome: Outcome) -> str:
    """An outcome as one line of JSON (what ``policy-engine evaluate --format jsonl`` writes)."""
    return json.dumps(unstructure(outcome), separators=(",", ":"))


def lines_checksum(lines: Iterable[str]) -> tuple[int, int, str, int]:
    """The number of lines, their total length and a digest of them, in order."""
    digest = hashlib.blake2b(digest_size=8)
    count = length = 0
    for line in lines:
        count += 1
        length += len(line)
        digest.update(line.encode())
    return count, length, digest.hexdigest(), 0


def run_dask(count: int, pool: Any) -> tuple[int, int, str, int]:
    """Evaluate the catalog with evaluate_bag on Dask's local processes scheduler (2 workers)."""
    import dask.bag

    from policy_engine.dask import evaluate_bag

    db: Any = dask.bag  # Dask has no type hints
    numbers: Any = db.from_sequence(range(PARTITIONS), npartitions=PARTITIONS)
    products = numbers.map_partitions(_generate_partition, count)
    outcomes: Any = evaluate_bag(CONFIG, products, on=ON)
    sums = outcomes.map_partitions(_partition_checksum)
    parts = sums.compute(scheduler="processes", pool=pool)
    return _add(parts)


def _generate_partition(numbers: list[int], count: int) -> Iterator[Product]:
    """One partition of the catalog, generated where the task runs (a Dask partition)."""
    (number,) = numbers
    return load_partition(number, count)


def load_partition(number: int, count: int) -> Iterator[Product]:
    """Partition ``number`` of a catalog of ``count`` products cut into PARTITIONS parts."""
    size = -(-count // PARTITIONS)
    start = number * size
    return generate(max(0, min(size, count - start)), start)


def run_partitions(count: int, pool: Any) -> tuple[int, int, str, int]:
    """Evaluate the catalog with evaluate_partitions on the pool: each partition generated and
    summarised in the worker, as on Dask."""
    sums = evaluate_partitions(
        CONFIG,
        range(PARTITIONS),
        load=functools.partial(load_partition, count=count),
        consume=checksum,
        on=ON,
        executor=pool,
    )
    return _add(sums)


def _partition_checksum(outcomes: Iterable[ListingOutcome]) -> list[tuple[int, int, str, int]]:
    """A partition's checksum, computed where the partition is."""
    return [checksum(outcomes)]


def _add(parts: Iterable[tuple[int, int, str, int]]) -> tuple[int, int, str, int]:
    listings = quantity = errors = 0
    price = Decimal(0)
    for part in parts:
        listings += part[0]
        quantity += part[1]
        price += Decimal(part[2])
        errors += part[3]
    return listings, quantity, str(price), errors


SCENARIOS = {
    "generate only": "the generator alone (the cost of the input)",
    "serial": "evaluate_many, this process, 2 accounts",
    "serial, 1 account": "evaluate_many, this process, 1 account",
    "2 workers": "evaluate_many(..., workers=2)",
    "serial, list": "evaluate_many over a list of products built before the clock starts",
    "2 workers, list": "evaluate_many(..., workers=2) over that list: forked workers read it",
    "2 workers, partitions": "evaluate_partitions(..., workers=2), read and summed in the workers",
    "Dask, 2 processes": "evaluate_bag on dask's processes scheduler, num_workers=2",
    "JSON, serial": "JSON objects in, JSON lines out (transform=json_line), this process",
    "JSON, 2 workers": "JSON objects in, JSON lines out (transform=json_line), workers=2",
}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_figures(pids: Iterable[int]) -> tuple[float, float]:
    """CPU seconds (summed) and the largest peak RSS (MB) of live processes, from /proc.

    The peak is ``VmHWM``, which starts afresh when a process starts a program; ``ru_maxrss``
    would carry over the peak of the process that started this one.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = peak = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        cpu += (int(fields[11]) + int(fields[12])) / ticks
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return cpu, peak


def _warm_up(_: int) -> None:
    _templates()
    time.sleep(0.3)


def run_scenario(name: str, count: int) -> dict[str, Any]:
    """Run one scenario in this process; return its figures.

    Pools are started here (and warmed up with one task per worker) before the clock starts, so
    that the CPU time and peak memory of their processes can be read before they stop.
    """
    from concurrent.futures import ProcessPoolExecutor

    from policy_engine._batch import pool_context

    pool = None
    if name in ("2 workers", "2 workers, partitions", "Dask, 2 processes", "JSON, 2 workers"):
        pool = ProcessPoolExecutor(max_workers=2, mp_context=pool_context())
        # One warm-up task per worker (each holds its worker a moment): both import this module
        # and build the distinct products, as this process does before the clock starts.
        list(pool.map(_warm_up, range(2)))
    # The distinct products are built before the clock starts, here and in the workers.
    _templates()
    catalog = list(generate(count)) if name.endswith(", list") else []
    if name.startswith("JSON"):
        next(generate_records(1))
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    children_started = _children_cpu_seconds()
    result: tuple[int, int, str, int]
    if name == "generate only":
        result = (sum(1 for _ in generate(count)), 0, "0", 0)
    elif name == "serial":
        result = checksum(evaluate_many(CONFIG, generate(count), on=ON))
    elif name == "serial, 1 account":
        result = checksum(evaluate_many(CONFIG, generate(count), accounts="ali", on=ON))
    elif name == "2 workers":
        result = checksum(evaluate_many(CONFIG, generate(count), on=ON, executor=pool))
    elif name == "serial, list":
        result = checksum(evaluate_many(CONFIG, catalog, on=ON))
    elif name == "2 workers, list":
        result = checksum(evaluate_many(CONFIG, catalog, on=ON, workers=2))
    elif name == "2 workers, partitions":
        result = run_partitions(count, pool)
    elif name == "Dask, 2 processes":
        result = run_dask(count, pool)
    elif name == "JSON, serial":
        lines = evaluate_many(CONFIG, generate_records(count), on=ON, transform=json_line)
        result = lines_checksum(lines)
    elif name == "JSON, 2 workers":
        lines = evaluate_many(
            CONFIG, generate_records(count), on=ON, transform=json_line, executor=pool
        )
        result = lines_checksum(lines)
    else:
        raise SystemExit(f"unknown scenario {name!r}")
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_started
    workers_cpu = workers_peak = 0.0
    if pool is not None:
        workers_cpu, workers_peak = _process_figures(pool._processes)
        pool.shutdown()
    else:  # a pool evaluate_many started and stopped: its workers are waited-for children
        workers_cpu = _children_cpu_seconds() - children_started
    return {
        "scenario": name,
        "products": count,
        "listings": result[0],
        "checksum": list(result),
        "seconds": seconds,
        "cpu": cpu,
        "workers_cpu": workers_cpu,
        "peak_mb": _process_figures([os.getpid()])[1],
        "workers_peak_mb": workers_peak,
        "load": os.getloadavg()[0],
    }


def measure(name: str, count: int) -> dict[str, Any]:
    """Run one scenario in a fresh interpreter (its own peak memory)."""
    completed = subprocess.run(
        [sys.executable, __file__, "--scenario", name, "--count", str(count)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{name} failed:\n{completed.stderr}")
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def run(*, count: int, memory_counts: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    """Every scenario at ``count`` products (the JSON ones at a fifth of it: loading and dumping
    JSON costs 30 times the rules), then ``serial`` at each of ``memory_counts``."""
    rows = [measure(name, count // 5 if name.startswith("JSON") else count) for name in SCENARIOS]
    rows.extend(measure("serial", extra) for extra in memory_counts if extra != count)
    return rows


def _kind(scenario: str) -> str:
    """Which serial run a scenario is compared with: JSON, a list, or the generator."""
    if scenario.startswith("JSON"):
        return "json"
    return "list" if scenario.endswith(", list") else "generator"


def format_table(rows: list[dict[str, Any]]) -> str:
    """The figures as a Markdown table; ratios against the serial run of the same size."""
    serial = {
        (_kind(row["scenario"]), row["products"]): row
        for row in rows
        if row["scenario"] in ("serial", "JSON, serial", "serial, list")
    }
    lines = [
        (
            f"policy_engine {__version__}, Python {platform.python_version()},"
            f" {os.cpu_count()} CPUs, {platform.machine()}"
        ),
        "",
        (
            "| scenario | products | listings | seconds | listings/s | × serial"
            " | CPU s (parent + workers) | peak MB | workers' peak MB | load | checksum |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        reference = serial.get((_kind(row["scenario"]), row["products"]))
        rate = row["listings"] / row["seconds"] if row["listings"] else 0.0
        if row["scenario"] == "generate only":
            rate = row["products"] / row["seconds"]
        ratio = (
            f"{reference['seconds'] / row['seconds']:.2f}×"
            if reference is not None and row["listings"] == reference["listings"]
            else ""
        )
        children = f"{row['workers_peak_mb']:.0f}" if row["workers_peak_mb"] else ""
        cpu = f"{row['cpu']:.1f}"
        if row["workers_cpu"]:
            cpu += f" + {row['workers_cpu']:.1f}"
        lines.append(
            f"| {row['scenario']} | {row['products']:,} | {row['listings']:,}"
            f" | {row['seconds']:.1f} | {rate:,.0f} | {ratio} | {cpu} | {row['peak_mb']:.0f}"
            f" | {children} | {row['load']:.1f} | {_short(row['checksum'])} |"
        )
    return "\n".join(lines)


def _short(checksum: list[Any]) -> str:
    return "" if not checksum[0] else f"{checksum[1]}/{checksum[2]}/{checksum[3]}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--scenario``, one measurement) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 products")
    parser.add_argument("--count", type=int, help="products per scenario")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    count = arguments.count or (100_000 if arguments.quick else 1_000_000)
    if arguments.scenario:
        print(json.dumps(run_scenario(arguments.scenario, count)))
        return 0
    memory = () if arguments.quick else (100_000,)
    print(format_table(run(count=count, memory_counts=memory)))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_batch  # the module, not __main__: what worker processes can import by name

    sys.exit(bench_batch.main())
