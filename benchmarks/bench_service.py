"""Load benchmark of the decision service, side by side with the library called in-process.

Starts ``policy-engine serve examples/config.json`` on a free port of 127.0.0.1 (loopback only),
then measures, each run bounded in requests and in time:

- single evaluations (``POST /v1/evaluate``, one product on every account) at 1, 8 and 32
  concurrent clients, each on its own kept-alive connection: requests/s, p50 and p99 latency;
- a batch (``POST /v1/evaluate/batch``, NDJSON in and out): listings/s;
- the same work in-process, serially: ``evaluate_listing`` per account for one product, and
  ``evaluate_many`` over the products as decoded JSON objects (what a connector holds);

and reports the ratios. The batch is sent ``--rounds`` times, each right after an in-process
run of the same products, so that both see the same load on a shared machine; each round's ratio
is printed, and the batch's figure is the best round of each side. It counts every 5xx and
checks that every batch answered each input line exactly once (no item lost or duplicated); any
of them makes the script exit with status 1.

    python benchmarks/bench_service.py [--products 20000] [--requests 4000] [--seconds 15]
                                       [--rounds 3]

The client is a small asyncio loop writing pre-encoded requests on raw sockets, so that it costs
the shared cores as little as possible.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from policy_engine import evaluate_listing, evaluate_many, load_config, structure
from policy_engine._models import Product

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "config.json"
PRODUCTS = ROOT / "examples" / "products.jsonl"
HOST = "127.0.0.1"
ON = "2026-11-23"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server() -> Iterator[int]:
    port = _free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "policy_engine.cli", "serve", str(CONFIG)),
            *("--host", HOST, "--port", str(port), "--log-level", "warning"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                asyncio.run(_one(port, _request("GET", "/healthz", b"")))
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    msg = "the server did not start"
                    raise RuntimeError(msg) from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _request(method: str, path: str, body: bytes, media: str = "application/json") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {len(body)}\r\n"
    if body:
        head += f"Content-Type: {media}\r\n"
    return head.encode("ascii") + b"\r\n" + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response: its status and its body (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            key, _, value = line.partition(b":")
            headers[key.strip().lower()] = value.strip()
    if b"content-length" in headers:
        return status, await reader.readexactly(int(headers[b"content-length"]))
    chunks: list[bytes] = []
    while True:  # chunked transfer encoding
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        data = await reader.readexactly(size + 2)
        if size == 0:
            return status, b"".join(chunks)
        chunks.append(data[:-2])


async def _one(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request)
        return await _read_response(reader)
    finally:
        writer.close()


async def _load(
    port: int, requests: list[bytes], clients: int, total: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    counter = iter(range(total))

    async def client() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            for number in counter:
                if time.perf_counter() > deadline:
                    break
                request = requests[number % len(requests)]
                started = time.perf_counter()
                writer.write(request)
                status, _ = await _read_response(reader)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "clients": clients,
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "5xx": sum(count for status, count in statuses.items() if status >= 500),
        "non_200": sum(count for status, count in statuses.items() if status != 200),
    }


def _catalog(count: int) -> list[dict[str, Any]]:
    base = [json.loads(line) for line in PRODUCTS.read_text("utf-8").splitlines() if line.strip()]
    return [
        {**base[n % len(base)], "sku": f"{base[n % len(base)]['sku']}-{n}"} for n in range(count)
    ]


async def _batch(port: int, body: bytes, expected: int) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 24)
    started = time.perf_counter()
    writer.write(_request("POST", f"/v1/evaluate/batch?on={ON}", body, "application/x-ndjson"))
    status, answer = await _read_response(reader)
    elapsed = time.perf_counter() - started
    writer.close()
    numbers = [json.loads(line)["line"] for line in answer.splitlines()]
    return {
        "status": status,
        "seconds": elapsed,
        "lines": len(numbers),
        "lost": len(set(range(1, expected + 1)) - set(numbers)),
        "duplicated": len(numbers) - len(set(numbers)),
    }


def _in_process_single(config: Any, product: Product, total: int, seconds: float) -> float:
    accounts = [account.id for account in config.accounts]
    on = date.fromisoformat(ON)
    started = time.perf_counter()
    done = 0
    while done < total and time.perf_counter() - started < seconds:
        for account in accounts:
            evaluate_listing(config, product, account, on=on)
        done += 1
    return done / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=4_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    config = load_config(CONFIG)
    accounts = len(config.accounts)
    lines = [line for line in PRODUCTS.read_text("utf-8").splitlines() if line.strip()]
    single = [
        _request("POST", "/v1/evaluate", f'{{"product": {line}, "on": "{ON}"}}'.encode())
        for line in lines
    ]
    catalog = _catalog(options.products)
    body = "\n".join(json.dumps(item) for item in catalog).encode("utf-8")

    print(f"load average before: {os.getloadavg()}")
    # In-process baselines, serially, in this process.
    first = structure(json.loads(lines[0]), Product)
    single_in_process = _in_process_single(config, first, options.requests, options.seconds)
    decoded = [json.loads(line) for line in body.splitlines()]

    def serial() -> float:
        started = time.perf_counter()
        count = sum(1 for _ in evaluate_many(config, decoded, on=date.fromisoformat(ON)))
        return count / (time.perf_counter() - started)

    failures = 0
    with _server() as port:
        results = [
            asyncio.run(_load(port, single, clients, options.requests, options.seconds))
            for clients in (1, 8, 32)
        ]
        rounds = []
        for _ in range(max(1, options.rounds)):
            in_process = serial()
            rounds.append((in_process, asyncio.run(_batch(port, body, options.products))))
    print(f"load average after: {os.getloadavg()}")

    print(
        f"\nsingle evaluation (one product, {accounts} accounts), in-process:"
        f" {single_in_process:,.0f} calls/s"
    )
    print("clients  requests   req/s   p50 ms   p99 ms  5xx  ratio to in-process")
    for row in results:
        print(
            f"{row['clients']:>7}  {row['requests']:>8}  {row['rps']:>6,.0f}  {row['p50_ms']:>7.2f}"
            f"  {row['p99_ms']:>7.2f}  {row['5xx']:>3}  {row['rps'] / single_in_process:.2f}"
        )
        failures += row["5xx"] + row["non_200"]
    listings = options.products * accounts
    print(f"\nbatch NDJSON: {options.products:,} products x {accounts} accounts, by round:")
    for number, (in_process, batch) in enumerate(rounds, 1):
        rate = listings / batch["seconds"]
        print(
            f"round {number}: {batch['seconds']:.2f} s: {rate:,.0f} listings/s over HTTP;"
            f" in-process serial evaluate_many: {in_process:,.0f} listings/s;"
            f" ratio {rate / in_process:.2f}"
        )
        print(
            f"  status {batch['status']}, {batch['lines']:,} lines, lost {batch['lost']},"
            f" duplicated {batch['duplicated']}"
        )
        failures += (batch["status"] != 200) + batch["lost"] + batch["duplicated"]
        failures += batch["lines"] != options.products
    rate = max(listings / batch["seconds"] for _, batch in rounds)
    serial_listings = max(in_process for in_process, _ in rounds)
    print(
        f"best of {len(rounds)}: {rate:,.0f} listings/s over HTTP;"
        f" in-process serial evaluate_many: {serial_listings:,.0f} listings/s;"
        f" ratio {rate / serial_listings:.2f}"
    )
    print("\nOK" if not failures else f"\nFAILED: {failures} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
