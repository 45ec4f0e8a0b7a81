"""compute_price of this checkout against an older one, alternately in one run.

Each round times ``compute_price`` on the products and policy of ``bench_rules.py`` (best of 7
passes over 2,000 products, garbage collection paused) in a fresh interpreter, first with the
older source tree on ``PYTHONPATH``, then with this one; the table gives each round and the
medians. On a shared machine the rounds vary a lot: compare the medians and the median of the
per-round ratios.

Run: ``git worktree add /tmp/before <commit>`` then
``python benchmarks/bench_before_after.py --before /tmp/before/src [--rounds 9]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "src"

#: One measurement, run in a fresh interpreter: prints compute_price calls per second.
PROBE = f"""
import gc, random, sys, time
sys.path.insert(0, {str(HERE)!r})
from bench_rules import ON, PRICING, make_products
from policy_engine import compute_price
products = make_products(2000, random.Random(20261123))
best = float("inf")
gc.disable()
for _ in range(7):
    started = time.perf_counter()
    for product in products:
        compute_price(product, PRICING, on=ON)
    best = min(best, time.perf_counter() - started)
print(len(products) / best)
"""


def probe(source: Path) -> float:
    """compute_price calls per second with ``source`` first on the path."""
    environment = {**os.environ, "PYTHONPATH": str(source)}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=True
    )
    return float(completed.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="the older src directory")
    parser.add_argument("--rounds", type=int, default=9)
    arguments = parser.parse_args(argv)
    befores, afters = [], []
    print("| round | before calls/s | after calls/s | after/before time |")
    print("|---:|---:|---:|---:|")
    for index in range(arguments.rounds):
        before, after = probe(arguments.before), probe(SOURCE)
        befores.append(before)
        afters.append(after)
        print(f"| {index + 1} | {before:,.0f} | {after:,.0f} | {before / after:.2f}× |")
    ratio = statistics.median(b / a for b, a in zip(befores, afters, strict=True))
    print(
        f"| median | {statistics.median(befores):,.0f} | {statistics.median(afters):,.0f}"
        f" | {ratio:.2f}× |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
