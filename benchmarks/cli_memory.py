"""Peak memory of ``policy-engine evaluate`` over a large JSON Lines catalog.

Run: ``python benchmarks/cli_memory.py [N] [--config CONFIG] [--account ID] [--keep DIR]``.

Generates N products (default 100,000) as JSON Lines in a temporary directory (the products of
``examples/products.jsonl`` over and over, each with its own SKU), runs::

    python -m policy_engine.cli evaluate CONFIG products.jsonl --account ali-us \\
        --on 2026-11-23 --format jsonl -o out.jsonl

in a child process, and prints the child's peak resident memory (``ru_maxrss`` of
``getrusage(RUSAGE_CHILDREN)``, the figure ``/usr/bin/time -v`` reports as "Maximum resident set
size"), the wall time, and the number of rows written and of rows with an error. The command
streams both files, so the peak should not grow with N.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def generate(path: Path, count: int) -> int:
    """Write ``count`` products as JSON Lines; returns the file's size in bytes."""
    samples = [
        json.loads(line)
        for line in (EXAMPLES / "products.jsonl").read_text("utf-8").splitlines()
        if line.strip()
    ]
    with path.open("w", encoding="utf-8") as out:
        for index in range(count):
            product = dict(samples[index % len(samples)])
            product["sku"] = f"{product['sku']}-{index:07d}"
            out.write(json.dumps(product, ensure_ascii=False) + "\n")
    return path.stat().st_size


def count_rows(path: Path) -> tuple[int, int]:
    """The rows of a JSON Lines output, and how many carry an error."""
    rows = errors = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            rows += 1
            if json.loads(line)["error"] is not None:
                errors += 1
    return rows, errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=100_000, help="products")
    parser.add_argument("--config", default=str(EXAMPLES / "config.json"))
    parser.add_argument("--account", default="ali-us")
    parser.add_argument("--keep", metavar="DIR", help="write the files here and keep them")
    arguments = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(arguments.keep or scratch)
        directory.mkdir(parents=True, exist_ok=True)
        products, output = directory / "products.jsonl", directory / "out.jsonl"
        started = time.perf_counter()
        size = generate(products, arguments.count)
        print(
            f"generated {arguments.count:,} products ({size / 1e6:,.1f} MB)"
            f" in {time.perf_counter() - started:.1f} s"
        )
        command = [
            sys.executable,
            "-m",
            "policy_engine.cli",
            "evaluate",
            arguments.config,
            str(products),
            "--account",
            arguments.account,
            "--on",
            "2026-11-23",
            "--format",
            "jsonl",
            "-o",
            str(output),
        ]
        print("$", shlex.join(["policy-engine", *command[3:]]))
        started = time.perf_counter()
        completed = subprocess.run(
            command, capture_output=True, text=True, check=False, env={**os.environ}
        )
        elapsed = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(completed.stderr.strip())
        rows, errors = count_rows(output)
        print(f"exit status       {completed.returncode}")
        print(f"rows written      {rows:,} ({errors:,} with an error)")
        print(f"output size       {output.stat().st_size / 1e6:,.1f} MB")
        print(f"wall time         {elapsed:,.1f} s ({arguments.count / elapsed:,.0f} products/s)")
        print(f"peak memory (RSS) {peak_kib / 1024:,.1f} MiB")
        ok = completed.returncode == 0 and rows == arguments.count
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
