"""Run every benchmark and print one table of the rules, then the batch table.

Run: ``python benchmarks/run_all.py`` (``--quick`` for a short run: fewer repetitions and a
100,000-product catalog instead of 1,000,000). Needs the ``bench`` extra for the rule engines
compared against (``pip install -e '.[bench]'``); an engine that is missing is skipped with a note.

The first table puts each decision next to a baseline on the same inputs in the same process:
a hand-written Python function that decides the same thing with no explanation (``ratio`` is the
library's time over the baseline's: the price of compiling to plain Python and explaining), and,
for conditions, two general rule engines over the same test. The second is ``bench_batch``:
``evaluate_many`` serial, on 2 worker processes and on Dask, with peak memory.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_batch
import bench_conditions
import bench_orders
import bench_rules
import bench_sync
from policy_engine import Condition, __version__


def condition_rows(count: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Condition.matches, rule-engine and zen-engine against the hand-written lambda."""
    products = bench_conditions.make_products(count)
    condition = Condition.parse(bench_conditions.CONDITION)
    engines: list[tuple[str, Callable[[Any], Any], list[Any]]] = [
        ("hand-written lambda", bench_conditions.by_hand, products),
        ("Condition.matches", condition.matches, products),
    ]
    notes = []
    try:
        import rule_engine
    except ImportError:
        notes.append("rule-engine is not installed: skipped (pip install 'rule-engine>=5,<6')")
    else:
        rule = rule_engine.Rule(bench_conditions.RULE_ENGINE)
        contexts = [
            bench_conditions.as_dict(product, lambda amount: amount) for product in products
        ]
        engines.append((f"rule-engine {rule_engine.__version__}", rule.matches, contexts))
    try:
        import zen
    except ImportError:
        notes.append("zen-engine is not installed: skipped (pip install zen-engine)")
    else:
        expression = zen.compile_expression(bench_conditions.ZEN)
        contexts = [bench_conditions.as_dict(product, float) for product in products]
        engines.append(("zen-engine", expression.evaluate, contexts))
    timings = bench_conditions.timed(engines)
    matched = {found for _, _, found in timings}
    if len(matched) != 1:
        raise SystemExit(f"the condition engines disagree: {timings}")
    lambda_seconds = timings[0][1]
    rows = [
        {
            "name": f"condition: {name}",
            "rule_per_s": count / seconds,
            "baseline": "hand-written lambda",
            "baseline_per_s": count / lambda_seconds,
            "ratio": seconds / lambda_seconds,
        }
        for name, seconds, _ in timings[1:]
    ]
    return rows, notes


def format_rules(rows: Sequence[dict[str, Any]]) -> str:
    """The rules table (Markdown)."""
    lines = [
        "| benchmark | calls/s | baseline | baseline calls/s | ratio |",
        "|---|---:|---|---:|---:|",
    ]
    lines.extend(
        f"| {row['name']} | {row['rule_per_s']:,.0f} | {row.get('baseline', 'hand-written')}"
        f" | {row['baseline_per_s']:,.0f} | {row['ratio']:.2f}× |"
        for row in rows
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run everything and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--count", type=int, help="products of the batch benchmark")
    arguments = parser.parse_args(argv)
    quick = arguments.quick
    count = arguments.count or (100_000 if quick else 1_000_000)

    print(
        f"policy_engine {__version__}, Python {platform.python_version()}"
        f" ({platform.python_implementation()}), {platform.machine()}, {os.cpu_count()} CPUs,"
        f" load average {os.getloadavg()[0]:.2f} at the start",
        flush=True,
    )
    rows, notes = condition_rows(20_000 if quick else 100_000)
    rows.extend(bench_rules.run(quick=quick))
    rows.extend(bench_sync.run(quick=quick))
    rows.extend(bench_orders.run(quick=quick))
    print()
    print(format_rules(rows))
    for note in notes:
        print(f"note: {note}")
    print(flush=True)
    memory = () if quick else (100_000,)
    print(bench_batch.format_table(bench_batch.run(count=count, memory_counts=memory)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
