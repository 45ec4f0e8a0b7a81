"""Benchmark: JSON text to models, against pydantic v2, msgspec and plain cattrs; JSON Lines end to
end; the command line's ``evaluate``.

Run: ``python benchmarks/bench_loading.py`` (``--quick`` for a short run). It needs the ``bench``
extra (pydantic and msgspec are compared against, not used by the library) and, for the ``fast``
rows, the ``fast`` extra (orjson).

Three parts, each on the same documents for every contender:

- ``loaders``: product documents of the demo store's shape (8 images, MSI sources, a special
  price, attributes), one JSON text each, decoded and loaded: ours (``json.loads`` then
  ``structure``; ``from_json``, which decodes with orjson when installed; the detailed path alone,
  which is what ``structure`` was before its fast path), pydantic v2 models of the same shape
  with the same limits (``model_validate_json``), msgspec ``Struct``s with ``msgspec.json.decode``,
  and a plain cattrs preconf converter on attrs classes without checks. CPU time per product,
  the best of several interleaved rounds.
- ``jsonl``: JSON Lines in, JSON Lines out, in one process: each line decoded, loaded, evaluated on
  2 accounts (5 templates), each outcome written as one line (listings per second). ``--before
  PATH`` also runs the same part with the library found at ``PATH`` (a checkout of an older
  commit, e.g. ``git worktree add /tmp/before 942bd90``), which writes outcomes with
  ``json.dumps(unstructure(outcome))``; the lines must be identical.
- ``cli``: ``policy-engine evaluate CONFIG PRODUCTS --format jsonl -o FILE`` on ``--count``
  products (100,000 by default), in a fresh process; with ``--before PATH`` the same command with
  the older library, and the outputs compared byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROUNDS = 7

# ------------------------------------------------------------------------------- documents


def product_document(index: int, rng: random.Random) -> dict[str, Any]:
    """A product of the demo store's shape: 8 images (one disabled), MSI sources."""
    price = Decimal(rng.randint(500, 30000)) / 100
    special = rng.random() < 0.3
    document: dict[str, Any] = {
        "sku": f"MH{index:05d}-S-Gray",
        "name": f"Chaz Kangeroo Hoodie {index}",
        "type": "simple",
        "price": str(price),
        "attributes": {
            "color": rng.choice(("Gray", "Red", "Blue", "Black")),
            "size": rng.choice(("S", "M", "L")),
            "msrp": str(price + 7),
        },
        "categories": [rng.choice(("Men/Tops/Hoodies & Sweatshirts", "Gear/Bags", "Sale"))],
        "attribute_set": rng.choice(("Top", "Default")),
        "images": [
            {
                "file": f"/m/h/mh{index:05d}_{n}.jpg",
                "position": (n * 5) % 8,
                **({"roles": ["image", "small_image", "thumbnail"]} if n == 1 else {}),
                **({"disabled": True} if n == 6 else {}),
                **({"label": "Back view"} if n == 2 else {}),
            }
            for n in range(8)
        ],
        "stock": {
            "qty": rng.randint(0, 400),
            "sources": [
                {"code": "default", "qty": rng.randint(0, 200)},
                {"code": "us_east", "qty": rng.randint(0, 50), "in_stock": rng.random() < 0.9},
                {"code": "eu_central", "qty": rng.randint(0, 50)},
            ],
            "reserved": -rng.randint(0, 3),
        },
    }
    if special:
        document["special_price"] = str((price * Decimal("0.8")).quantize(Decimal("0.01")))
        document["special_from"] = "2026-01-01"
        document["special_to"] = "2026-12-31"
    return document


def documents(count: int, seed: int = 20261206) -> list[bytes]:
    """``count`` product documents as JSON text (UTF-8), distinct SKUs."""
    rng = random.Random(seed)
    return [json.dumps(product_document(index, rng)).encode() for index in range(count)]


# ------------------------------------------------------------------------ the contenders


def pydantic_loader() -> Callable[[bytes], Any] | None:
    """pydantic v2 models of the same shape, with the same limits; None when not installed."""
    try:
        import pydantic  # noqa: F401
    except ImportError:
        return None
    from bench_loading_models import pydantic_product

    model: Any = pydantic_product()
    return model.model_validate_json  # type: ignore[no-any-return]


def msgspec_loader() -> Callable[[bytes], Any] | None:
    """msgspec Structs of the same shape, with the same limits; None when not installed."""
    try:
        import msgspec
    except ImportError:
        return None
    from bench_loading_models import msgspec_product

    decoder = msgspec.json.Decoder(msgspec_product())
    return decoder.decode


def cattrs_loader() -> Callable[[bytes], Any]:
    """A plain cattrs preconf converter on attrs classes of the same shape (no checks)."""
    from bench_loading_models import cattrs_product

    converter, cls = cattrs_product()
    return lambda text: converter.loads(text, cls)


def ours() -> dict[str, Callable[[bytes], Any]]:
    from policy_engine import Product, structure

    loaders: dict[str, Callable[[bytes], Any]] = {
        "ours: json.loads + structure": lambda text: structure(json.loads(text), Product)
    }
    try:
        from policy_engine import from_json
        from policy_engine._serialization import structure_detailed
    except ImportError:  # an older library: structure is the detailed path
        return loaders
    loaders["ours: from_json (orjson when installed)"] = lambda text: from_json(text, Product)
    loaders["ours: the detailed path alone (before)"] = lambda text: structure_detailed(
        json.loads(text), Product
    )
    return loaders


def best_time(function: Callable[[], object]) -> float:
    """CPU seconds of one call (process time: other processes on the machine do not count)."""
    started = time.process_time()
    function()
    return time.process_time() - started


def run_loaders(count: int) -> list[dict[str, Any]]:
    """Every contender over the same documents; CPU µs per product, best of interleaved rounds."""
    texts = documents(count)
    contenders: dict[str, Callable[[bytes], Any]] = dict(ours())
    for name, factory in (
        ("pydantic v2: model_validate_json", pydantic_loader),
        ("msgspec: json.decode into Structs", msgspec_loader),
    ):
        found = factory()
        if found is not None:
            contenders[name] = found
    contenders["cattrs: preconf json converter, no checks"] = cattrs_loader()
    for load in contenders.values():  # every contender loads every document
        for text in texts:
            load(text)
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(ROUNDS):
        for name, load in contenders.items():
            seconds = best_time(lambda load=load: [load(text) for text in texts])  # type: ignore[misc]
            best[name] = min(best[name], seconds)
    return [{"loader": name, "us": seconds / count * 1e6} for name, seconds in best.items()]


# ---------------------------------------------------------------------------- JSON Lines


def run_jsonl(count: int) -> dict[str, Any]:
    """JSON Lines in, JSON Lines out, this process: listings per second, and a digest."""
    sys.path.insert(0, str(HERE))
    from bench_batch import CONFIG, ON
    from policy_engine import evaluate_many, unstructure

    try:
        from policy_engine import to_json
        from policy_engine._jsonio import decode_json

        decode: Callable[[bytes], Any] = decode_json
        write: Callable[[Any], str] = to_json
        how = "decode_json + to_json"
    except ImportError:  # an older library

        def write(outcome: Any) -> str:
            return json.dumps(unstructure(outcome), ensure_ascii=False, separators=(",", ":"))

        decode = json.loads
        how = "json.loads + json.dumps(unstructure)"
    lines = documents(count)
    best = float("inf")
    digest = ""
    written = 0
    for _ in range(3):
        started = time.process_time()
        out = hashlib.blake2b(digest_size=8)
        written = 0
        for line in evaluate_many(CONFIG, map(decode, lines), on=ON, transform=write):
            out.update(line.encode())
            written += 1
        best = min(best, time.process_time() - started)
        digest = out.hexdigest()
    return {
        "how": how,
        "products": count,
        "listings": written,
        "seconds": best,
        "listings_per_s": written / best,
        "digest": digest,
    }


# ---------------------------------------------------------------------------- the command


def write_inputs(directory: Path, count: int) -> tuple[Path, Path]:
    """The configuration (2 accounts, 5 templates) and ``count`` products as JSON Lines."""
    sys.path.insert(0, str(HERE))
    from bench_batch import CONFIG
    from policy_engine import dump_config

    config = directory / "config.json"
    config.write_text(dump_config(CONFIG, format="json"), encoding="utf-8")
    products = directory / "products.jsonl"
    with products.open("wb") as file:
        for text in documents(count):
            file.write(text + b"\n")
    return config, products


def run_cli(source: Path | None, config: Path, products: Path, output: Path) -> dict[str, Any]:
    """``policy-engine evaluate`` in a fresh process (with the library at ``source``/src)."""
    environment = dict(os.environ)
    if source is not None:
        environment["PYTHONPATH"] = str(source / "src")
    command = [
        sys.executable,
        "-m",
        "policy_engine.cli",
        "evaluate",
        str(config),
        str(products),
        "--on",
        "2026-06-01",
        "--format",
        "jsonl",
        "-o",
        str(output),
        "--no-progress",
    ]
    started = time.perf_counter()
    usage_before = os.times()
    completed = subprocess.run(command, env=environment, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    usage_after = os.times()
    cpu = (usage_after.children_user - usage_before.children_user) + (
        usage_after.children_system - usage_before.children_system
    )
    if completed.returncode not in (0, 1):
        raise SystemExit(completed.stderr.decode())
    digest = hashlib.blake2b(output.read_bytes(), digest_size=8).hexdigest()
    return {"seconds": seconds, "cpu": cpu, "digest": digest, "load": os.getloadavg()[0]}


# ------------------------------------------------------------------------------ reporting


def _in_process(before: Path, part: str, count: int) -> Any:
    """Run one part of this script with the library at ``before`` (a fresh process)."""
    environment = dict(os.environ, PYTHONPATH=str(before / "src"))
    completed = subprocess.run(
        [sys.executable, __file__, "--part", part, "--count", str(count), "--raw"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(completed.stderr)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def loaders_table(rows: Sequence[dict[str, Any]]) -> str:
    reference = next((row["us"] for row in rows if row["loader"].startswith("pydantic")), None)
    lines = ["| loader | µs per product | × pydantic v2 |", "|---|---:|---:|"]
    for row in rows:
        ratio = "" if reference is None else f"{row['us'] / reference:.2f}×"
        lines.append(f"| {row['loader']} | {row['us']:.1f} | {ratio} |")
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer documents")
    parser.add_argument("--count", type=int, help="documents (products) per part")
    parser.add_argument(
        "--part", choices=("loaders", "jsonl", "cli"), action="append", help="run only this part"
    )
    parser.add_argument("--before", type=Path, help="a checkout of the library to compare with")
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(list(argv) if argv is not None else None)
    parts = arguments.part or ["loaders", "jsonl", "cli"]
    load = os.getloadavg()
    if arguments.raw:
        (part,) = parts
        count = arguments.count
        print(json.dumps(run_loaders(count) if part == "loaders" else run_jsonl(count)))
        return 0
    print(f"load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if "loaders" in parts:
        count = arguments.count or (500 if arguments.quick else 2_000)
        print(f"\n## Loading {count} product documents (8 images, 3 MSI sources)\n")
        print(loaders_table(run_loaders(count)))
        if arguments.before is not None:
            old = _in_process(arguments.before, "loaders", count)
            print(f"\nThe library at {arguments.before}:\n")
            print(loaders_table(old))
    if "jsonl" in parts:
        count = arguments.count or (5_000 if arguments.quick else 20_000)
        print(f"\n## JSON Lines in, JSON Lines out: {count} products × 2 accounts, one core\n")
        rows = [("now", run_jsonl(count))]
        if arguments.before is not None:
            rows.append((str(arguments.before), _in_process(arguments.before, "jsonl", count)))
        print("| library | how | listings | CPU s | listings/s | digest |")
        print("|---|---|---:|---:|---:|---|")
        for name, row in rows:
            print(
                f"| {name} | {row['how']} | {row['listings']:,} | {row['seconds']:.2f}"
                f" | {row['listings_per_s']:,.0f} | {row['digest']} |"
            )
        if len(rows) == 2:
            print(f"\nspeed-up: {rows[0][1]['listings_per_s'] / rows[1][1]['listings_per_s']:.2f}×")
    if "cli" in parts:
        count = arguments.count or (10_000 if arguments.quick else 100_000)
        print(f"\n## policy-engine evaluate --format jsonl, {count:,} products, 2 accounts\n")
        with tempfile.TemporaryDirectory() as name:
            directory = Path(name)
            config, products = write_inputs(directory, count)
            runs: list[tuple[str, Path | None]] = [("now", None)]
            if arguments.before is not None:
                runs.append((str(arguments.before), arguments.before))
            results: list[tuple[str, dict[str, Any]]] = []
            for label, source in runs:
                result = run_cli(source, config, products, directory / f"out-{len(results)}.jsonl")
                results.append((label, result))
            print("| library | seconds | CPU s | load | output digest |")
            print("|---|---:|---:|---:|---|")
            for label, result in results:
                print(
                    f"| {label} | {result['seconds']:.2f} | {result['cpu']:.2f}"
                    f" | {result['load']:.2f} | {result['digest']} |"
                )
            if len(results) == 2:
                same = results[0][1]["digest"] == results[1][1]["digest"]
                speed = results[1][1]["seconds"] / results[0][1]["seconds"]
                print(f"\nspeed-up: {speed:.2f}× (outputs identical: {same})")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
