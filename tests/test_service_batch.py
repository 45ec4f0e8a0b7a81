"""The batch endpoint's answer text: each line is the compact JSON of the documented record, what
``/v1/evaluate`` answers for a product (its rows), whichever way the line was decoded and the row
written."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine import Product, evaluate_many, load_config, structure, unstructure
from policy_engine.service._app import _row, _RowWriter, _text
from policy_engine.testing import products as product_strategy
from service_support import request, serving

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CONFIG = load_config(EXAMPLES / "config.json")
ACCOUNTS = [account.id for account in CONFIG.accounts]
ON = date(2026, 11, 23)
NDJSON = {"Content-Type": "application/x-ndjson"}


def _lines(name: str) -> list[str]:
    return [line for line in (EXAMPLES / name).read_text("utf-8").splitlines() if line.strip()]


def _compact(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _expected(number: int, item: dict[str, Any]) -> bytes:
    """The record of one good line, built from the library's outcomes and the row dictionary."""
    outcomes = list(evaluate_many(CONFIG, [item], accounts=ACCOUNTS, on=ON))
    parent = item.get("parent")
    sku = parent["sku"] if isinstance(parent, dict) else item["sku"]
    return _compact({"line": number, "sku": sku, "accounts": [_row(o) for o in outcomes]})


def test_batch_lines_are_the_records_as_compact_json() -> None:
    """Products, families, a SKU written with ``\\u`` escapes and broken lines: each answer line is
    byte for byte the compact JSON of its record, in input order."""
    products = [json.loads(line) for line in _lines("products.jsonl")]
    families = [json.loads(line) for line in _lines("families.jsonl")]
    escaped = {**products[0], "sku": "caf\u00e9-\u00e9t\u00e9"}
    good = [*products, *families, escaped]
    broken = [
        b"[" * 300 + b"]" * 300,  # deeper than the depth limit
        b'{"sku": "a", "sku": "b"}',  # duplicate keys
        b'{"sku": NaN}',
        b'{"sku": "\xff"}',  # not UTF-8
        b'"a string"',
    ]
    texts = [*(_compact(item) for item in good[:-1]), json.dumps(escaped).encode("ascii")]
    body = b"\n".join([*texts, *broken])
    with serving(CONFIG) as base:
        status, _, answer = request(base, "POST", f"/v1/evaluate/batch?on={ON}", body, NDJSON)
    assert status == 200
    lines = answer.splitlines()
    assert len(lines) == len(good) + len(broken)
    for number, (item, line) in enumerate(zip(good, lines, strict=False), 1):
        assert line == _expected(number, item)
    errors = [json.loads(line) for line in lines[len(good) :]]
    assert [error["line"] for error in errors] == list(range(len(good) + 1, len(lines) + 1))
    codes = [error["error"]["code"] for error in errors]
    assert codes == [
        "invalid_json",
        "invalid_json",
        "invalid_json",
        "invalid_utf8",
        "invalid_product",
    ]
    assert "nested deeper than 256 levels" in errors[0]["error"]["problems"][0]["message"]
    assert "duplicate keys 'sku'" in errors[1]["error"]["problems"][0]["message"]


def test_full_batch_lines_are_the_outcomes() -> None:
    """With ``full=true`` a line holds each account's whole outcome, as ``unstructure`` gives
    it."""
    item = json.loads(_lines("products.jsonl")[0])
    with serving(CONFIG) as base:
        path = f"/v1/evaluate/batch?on={ON}&full=true"
        status, _, answer = request(base, "POST", path, _compact(item), NDJSON)
    assert status == 200
    outcomes = [unstructure(o) for o in evaluate_many(CONFIG, [item], accounts=ACCOUNTS, on=ON)]
    assert answer == _compact({"line": 1, "sku": item["sku"], "outcomes": outcomes}) + b"\n"


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(product_strategy(), min_size=1, max_size=4))
def test_row_text_is_the_row_dictionary(products: list[Product]) -> None:
    """For every outcome of a batch, in order (so that the texts kept for shared results are
    reused), the row writer's text is the compact JSON of the row dictionary."""
    write = _RowWriter()
    for outcome in evaluate_many(CONFIG, products, accounts=ACCOUNTS, on=ON):
        assert write(outcome).encode("utf-8") == _compact(_row(outcome))


def test_value_text_matches_json() -> None:
    """Values other than strings, integers and None are written as ``json.dumps`` writes them."""
    for value in (True, False, 1.5, "é\n", None, 12, [1, "a"]):
        assert _text(value).encode("utf-8") == _compact(value)


def test_unlisted_product_row() -> None:
    """A product no template serves gets a row with nulls, as the row dictionary has them."""
    config = attrs.evolve(CONFIG, templates=[t for t in CONFIG.templates if t.id == "bags"])
    item = structure(json.loads(_lines("products.jsonl")[-1]), Product)
    write = _RowWriter()
    outcomes = list(evaluate_many(config, [item], accounts=ACCOUNTS, on=ON))
    assert [outcome.template for outcome in outcomes] == [None, None]
    for outcome in outcomes:
        assert write(outcome).encode("utf-8") == _compact(_row(outcome))
