"""Benchmark replay: logged synchronization decisions decided again under another configuration.

Run: ``python benchmarks/bench_replay.py`` (``--quick`` for 20,000 decisions instead of 100,000).

A store of 2,000 generated products on the two accounts of ``examples/config.json`` logs its
decisions (``log_decision`` with ``change=``, stamped) round after round: each round a fifth of the
products sell or are restocked (a new input), the others are decided again unchanged (the same
input logged again, as a connector's periodic sync does). The log is then replayed under
``examples/config-next.json``. Measured, in one process, one core:

- ``sync_listing`` alone over the same decoded inputs: the baseline, the cost of deciding;
- ``replay`` over the records in memory: deciding, comparing and counting reason codes;
- ``replay`` of the SQLite log file: reading the rows and decoding the inputs too;
- ``replay`` of an SQLite log whose every input differs (no input decoded twice): the worst case,
  bound by loading each product change from JSON.

The target of the replay is 20,000 decisions per second over 100,000 logged decisions. Each row
gives the wall-clock time and the process's CPU time (the machine may be shared); the ratio to the
baseline is of CPU times.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from policy_engine import (
    ActivityRecord,
    ChangeKind,
    Listing,
    Product,
    ProductChange,
    SqliteSink,
    Stock,
    activity_record,
    evaluate_listing,
    load_config,
    replay,
    stamp_for,
    stamped,
    sync_listing,
)

ROOT = Path(__file__).resolve().parent.parent
OLD = load_config(ROOT / "examples" / "config.json")
NEW = load_config(ROOT / "examples" / "config-next.json")
ACCOUNTS = [account.id for account in OLD.accounts]
CATEGORIES = ("Gear/Bags", "Men/Tops/Jackets", "Women/Bottoms/Pants", "Gear/Watches")
START = datetime(2026, 11, 23, 9, tzinfo=UTC)


def catalog(count: int, rng: random.Random) -> list[Product]:
    """Generated products across the example templates' categories."""
    return [
        Product(
            sku=f"SKU-{index:05d}",
            name=f"Product {index}",
            price=f"{rng.randint(10, 120)}.00",
            categories=(rng.choice(CATEGORIES),),
            stock=Stock(qty=rng.randint(0, 40)),
        )
        for index in range(count)
    ]


def logged_decisions(
    products: list[Product], total: int, rng: random.Random, *, changing: float
) -> list[ActivityRecord]:
    """``total`` stamped activity records with their inputs, round after round.

    Each round, a share ``changing`` of the products gets a new stock quantity; the listing
    remembers the quantity last sent, so unchanged products are decided ``none``.
    """
    stamp = stamp_for(OLD, "bench")
    last: dict[tuple[str, str], int | None] = {}
    records: list[ActivityRecord] = []
    current = list(products)
    minute = 0
    while len(records) < total:
        for index, known in enumerate(current):
            product = known
            if rng.random() < changing:
                current[index] = product = Product(
                    sku=known.sku,
                    name=known.name,
                    price=known.price,
                    categories=known.categories,
                    stock=Stock(qty=rng.randint(0, 40)),
                )
            for account in ACCOUNTS:
                change = ProductChange(
                    kind=ChangeKind.UPDATED,
                    product=product,
                    changed=frozenset({"qty"}),
                    listing=Listing(listed=True, last_quantity=last.get((product.sku, account))),
                )
                at = START + timedelta(minutes=minute)
                decision = sync_listing(OLD, change, account, on=at.date())
                outcome = evaluate_listing(OLD, product, account, on=at.date())
                if outcome.quantity is not None:
                    last[product.sku, account] = outcome.quantity.quantity
                decision = stamped(decision, stamp)
                records.append(
                    activity_record(
                        decision, account=account, sku=product.sku, at=at, change=change
                    )
                )
                if len(records) == total:
                    return records
        minute += 1
    return records  # pragma: no cover - the loop returns


def timed(action: object) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call of ``action`` (garbage collected before).

    On a shared machine the wall-clock time grows with the load; the process's CPU time much
    less so: both are reported.
    """
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    action()  # type: ignore[operator]
    return time.perf_counter() - started, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    """Build the logs, time the replays, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 decisions, not 100,000")
    args = parser.parse_args(argv)
    total = 20_000 if args.quick else 100_000
    distinct_total = 5_000 if args.quick else 20_000
    rng = random.Random(18)
    products = catalog(2_000, rng)
    records = logged_decisions(products, total, rng, changing=0.2)
    distinct = logged_decisions(catalog(distinct_total, rng), distinct_total, rng, changing=1.0)
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "log.db"
        distinct_log = Path(folder) / "distinct.db"
        with SqliteSink(log) as sink:
            sink.write(records)
        with SqliteSink(distinct_log) as sink:
            sink.write(distinct)

        def baseline() -> None:
            for record in records:
                assert record.change is not None
                sync_listing(NEW, record.change, record.account, on=record.at.date())

        report = replay(records, NEW)
        from_file = replay(log, NEW)
        assert report == from_file, "the file and the records must replay alike"
        rows = [
            ("sync_listing alone (baseline)", total, timed(baseline)),
            ("replay, records in memory", total, timed(lambda: replay(records, NEW))),
            ("replay, SQLite log", total, timed(lambda: replay(log, NEW))),
            (
                "replay, SQLite log, every input distinct",
                distinct_total,
                timed(lambda: replay(distinct_log, NEW)),
            ),
        ]
    base = rows[0][2][1] / rows[0][1]
    print(f"{total:,} logged decisions; {report.changed:,} would change under config-next.json")
    print(
        f"{'what':<42} {'decisions':>10} {'wall s':>7} {'decisions/s':>12}"
        f" {'CPU s':>7} {'per CPU s':>10} {'x baseline':>10}"
    )
    for name, count, (wall, cpu) in rows:
        ratio = cpu / count / base
        print(
            f"{name:<42} {count:>10,} {wall:>7.2f} {count / wall:>12,.0f}"
            f" {cpu:>7.2f} {count / cpu:>10,.0f} {ratio:>10.2f}"
        )
    print("load average:", " ".join(f"{value:.2f}" for value in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
