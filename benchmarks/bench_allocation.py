"""Benchmark allocation across channels: 1,000,000 products over 3 accounts, one core.

Run: ``python benchmarks/bench_allocation.py`` (``--quick`` for 100,000 products, ``--count N``
for another size). The catalog's stocks are generated first (not timed): store quantities 0-500,
one in five with two MSI sources instead, 3 % marked out of stock. Three accounts (eBay with a
buffer of 1, Amazon capped at 50, TikTok Shop plain) list every product.

For each strategy an :class:`~policy_engine.Allocator` is built once and
``allocator.quantities(stock)`` runs over every stock (the batch path: the numbers, kept per
pool, without explanations). The baseline is a hand-written function that splits the same pool
by the same weights with largest-remainder rounding and applies the same three policies, checked
against the library on every stock before timing. Two more rows show the costs the catalog does
not hide: ``quantities`` when every product has a stock level no other has (no pool repeats:
every call computes), and ``allocate`` (every share explained in steps).

Figures are CPU seconds of this process (``time.process_time``), so other work on a shared
machine slows them less than wall time; the script prints the load average with them.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from policy_engine import (
    AccountAllocation,
    AllocationPolicy,
    Allocator,
    InventoryPolicy,
    SourceItem,
    Stock,
    __version__,
)

#: The issue's target: products allocated per second over 3 accounts, one core.
TARGET = 300_000

POLICIES = {
    "ebay": InventoryPolicy(title="eBay", buffer=1),
    "amazon": InventoryPolicy(title="Amazon", max_quantity=50),
    "tiktok": InventoryPolicy(title="TikTok Shop"),
}
WEIGHTS = {"ebay": 5, "amazon": 3, "tiktok": 2}
SECTIONS = {
    "shared": AllocationPolicy(),
    "reserved": AllocationPolicy(
        strategy="reserved", accounts={"ebay": AccountAllocation(reserve=3)}
    ),
    "priority": AllocationPolicy(strategy="priority", priority=("amazon", "ebay")),
    "weights": AllocationPolicy(
        strategy="weights",
        accounts={key: AccountAllocation(weight=value) for key, value in WEIGHTS.items()},
    ),
}


def make_stocks(count: int, rng: random.Random, *, distinct: bool = False) -> list[Stock]:
    """The catalog's stocks; ``distinct`` gives every product a stock level of its own."""
    stocks = []
    for index in range(count):
        in_stock = rng.random() > 0.03
        if distinct:
            stocks.append(Stock(qty=1_000 + index, in_stock=in_stock))
        elif rng.random() < 0.2:
            sources = (
                SourceItem(code="us", qty=rng.randint(0, 250)),
                SourceItem(code="eu", qty=rng.randint(0, 250)),
            )
            stocks.append(Stock(sources=sources, in_stock=in_stock))
        else:
            stocks.append(Stock(qty=rng.randint(0, 500), in_stock=in_stock))
    return stocks


def baseline_weights(stock: Stock) -> tuple[int, int, int]:
    """Hand-written: the pool split 5:3:2 by largest remainder, then each policy."""
    if not stock.in_stock:
        return (0, 0, 0)
    if stock.sources:
        pool = sum(s.qty for s in stock.sources if s.enabled and s.in_stock and s.qty > 0)
    else:
        pool = stock.qty if stock.qty > 0 else 0
    ebay, amazon, tiktok = pool * 5 // 10, pool * 3 // 10, pool * 2 // 10
    left = pool - ebay - amazon - tiktok
    if left:
        order = sorted(range(3), key=lambda i: (-(pool * (5, 3, 2)[i] % 10), i))
        parts = [ebay, amazon, tiktok]
        for index in order[:left]:
            parts[index] += 1
        ebay, amazon, tiktok = parts
    return (max(0, ebay - 1), min(amazon, 50), tiktok)


def cpu_rate(function: Callable[[Stock], object], stocks: Sequence[Stock]) -> float:
    """Stocks per CPU second of ``function`` over every stock."""
    start = time.process_time()
    for stock in stocks:
        function(stock)
    return len(stocks) / (time.process_time() - start)


def run(count: int) -> list[dict[str, Any]]:
    """Every row of the table."""
    rng = random.Random(20261206)
    stocks = make_stocks(count, rng)
    rows = []
    weights = Allocator(SECTIONS["weights"], POLICIES)
    for stock in stocks[:20_000]:  # the baseline decides what the library decides
        expected = weights.allocate(stock).quantities
        assert baseline_weights(stock) == tuple(expected.values()), (stock, expected)
    baseline = cpu_rate(baseline_weights, stocks)
    for name, section in SECTIONS.items():
        allocator = Allocator(section, POLICIES)
        rate = cpu_rate(allocator.quantities, stocks)
        rows.append(
            {"name": f"{name}: quantities", "rate": rate, "baseline": baseline, "target": True}
        )
    distinct = make_stocks(min(count, 100_000), rng, distinct=True)
    cold = Allocator(SECTIONS["weights"], POLICIES)
    rows.append(
        {
            "name": "weights: quantities, no stock level repeats",
            "rate": cpu_rate(cold.quantities, distinct),
            "baseline": cpu_rate(baseline_weights, distinct),
            "target": False,
        }
    )
    explained = Allocator(SECTIONS["weights"], POLICIES)
    sample = stocks[:100_000]
    rows.append(
        {
            "name": "weights: allocate (explained)",
            "rate": cpu_rate(explained.allocate, sample),
            "baseline": cpu_rate(baseline_weights, sample),
            "target": False,
        }
    )
    return rows


def format_table(rows: Sequence[dict[str, Any]], count: int) -> str:
    """The results as a Markdown table."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    lines = [
        (
            f"policy_engine {__version__}, Python {platform.python_version()}, one core;"
            f" {count:,} products × 3 accounts; load average {load}"
        ),
        "",
        (
            "| measurement | products/s (CPU) | baseline products/s | ratio (library/baseline) |"
            " target |"
        ),
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        target = ""
        if row["target"]:
            target = f"≥ {TARGET:,}/s {'ok' if row['rate'] >= TARGET else 'MISSED'}"
        lines.append(
            f"| {row['name']} | {row['rate']:,.0f} | {row['baseline']:,.0f}"
            f" | {row['baseline'] / row['rate']:.2f}× | {target} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse the arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 products")
    parser.add_argument("--count", type=int, default=None, help="products (default 1,000,000)")
    arguments = parser.parse_args()
    count = arguments.count or (100_000 if arguments.quick else 1_000_000)
    print(format_table(run(count), count))


if __name__ == "__main__":
    main()
