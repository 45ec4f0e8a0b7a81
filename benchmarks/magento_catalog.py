"""Run the Magento adapter (and, when available, the full pipeline) over the sample catalog.

Run: ``python benchmarks/magento_catalog.py [CATALOG] [--msi MSI] [--channel aliexpress]``.
``CATALOG`` defaults to ``../shared/data/magento-sample-catalog.json`` relative to the repository
root (Magento's Luma sample data in the REST product shape) and ``MSI`` to the
``magento-sample-msi.json`` beside it. The catalog's non-REST variants are read through the
adapter's options: ``category_attribute="category_paths"`` and
``children_key="configurable_child_skus"``.

The script converts every product (children get their parent from :func:`parent_skus`, bag SKUs
their MSI source items), checks that each converted product survives ``product_to_rest`` and
back, prints counts by type, visibility, status, stock and price, and the conversion time. When
the package exports ``evaluate_listing`` and ``default_config``, it also evaluates every product
on a default account of ``--channel`` and prints the outcomes by quantity rule, price and images.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import policy_engine
from policy_engine import Product
from policy_engine.adapters.magento import (
    group_source_items,
    parent_skus,
    product_from_rest,
    product_to_rest,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG = ROOT.parent / "shared" / "data" / "magento-sample-catalog.json"

#: The options that read the sample catalog's non-REST variants.
SAMPLE_OPTIONS: dict[str, Any] = {
    "category_attribute": "category_paths",
    "children_key": "configurable_child_skus",
}


def _table(title: str, counts: Counter[str]) -> None:
    print(f"\n{title}")
    width = max((len(key) for key in counts), default=0)
    for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {key:<{width}}  {count:>6,}")


def _stock_state(product: Product) -> str:
    stock = product.stock
    if stock is None:
        return "no stock record"
    managed = "managed" if stock.manage_stock else "not managed"
    status = "in stock" if stock.in_stock else "out of stock"
    quantity = "qty > 0" if stock.qty > 0 else "qty 0"
    sources = f", {len(stock.sources)} MSI sources" if stock.sources else ""
    return f"{managed}, {status}, {quantity}{sources}"


def convert(
    payloads: list[dict[str, Any]], msi: dict[str, Any] | None, config_manage_stock: bool | None
) -> list[Product]:
    """Every payload as a product, with its parent SKU and its MSI source items."""
    parents = parent_skus(payloads, children_key=SAMPLE_OPTIONS["children_key"])
    groups = group_source_items(msi["source_items"], sources=msi["sources"]) if msi else {}
    return [
        product_from_rest(
            payload,
            parent_sku=parents.get(payload["sku"]),
            source_items=groups.get(payload["sku"], ()),
            config_manage_stock=config_manage_stock,
            **SAMPLE_OPTIONS,
        )
        for payload in payloads
    ]


def report_products(products: Sequence[Product]) -> None:
    _table("by type", Counter(product.type.value for product in products))
    _table("by visibility", Counter(product.visibility.value for product in products))
    _table(
        "by type and visibility", Counter(f"{p.type.value}/{p.visibility.value}" for p in products)
    )
    _table("by status", Counter("enabled" if p.enabled else "disabled" for p in products))
    _table("by stock", Counter(_stock_state(product) for product in products))
    _table(
        "by price",
        Counter(
            "no price"
            if p.price is None
            else ("price 0" if p.price == 0 else "price > 0")
            + (", special price" if p.special_price is not None else "")
            for p in products
        ),
    )
    _table(
        "relations",
        Counter(
            "configurable child (parent_sku set)"
            if p.parent_sku is not None
            else ("configurable parent" if "configurable_children" in p.attributes else "other")
            for p in products
        ),
    )
    print(
        f"\nimages: {sum(len(p.images) for p in products):,} gallery entries;"
        f" categories: {len({c for p in products for c in p.categories})} distinct paths"
    )


def report_pipeline(products: Sequence[Product], channel: str, on: date) -> bool:
    """Evaluate every product on a default account; False when the pipeline is not exported."""
    evaluate: Callable[..., Any] | None = getattr(policy_engine, "evaluate_listing", None)
    default_config: Callable[..., Any] | None = getattr(policy_engine, "default_config", None)
    if evaluate is None or default_config is None:
        print("\npipeline: policy_engine does not export evaluate_listing/default_config yet")
        return False
    config = default_config(channel)
    account = config.accounts[0].id
    started = time.perf_counter()
    outcomes = [evaluate(config, product, account, on=on) for product in products]
    elapsed = time.perf_counter() - started
    print(
        f"\npipeline: evaluate_listing on account {account!r} ({channel}) on {on.isoformat()}:"
        f" {len(outcomes):,} outcomes in {elapsed * 1000:.0f} ms"
        f" ({elapsed / len(outcomes) * 1e6:.1f} µs each)"
    )
    _table("  by template", Counter(str(outcome.template) for outcome in outcomes))
    _table(
        "  by quantity rule",
        Counter(o.quantity.rule.value if o.quantity else "(none)" for o in outcomes),
    )
    _table(
        "  by price",
        Counter(
            "priced" if o.price is not None else ", ".join(e.code for e in o.errors) or "(none)"
            for o in outcomes
        ),
    )
    _table(
        "  by image source",
        Counter(o.images.source.value if o.images else "(none)" for o in outcomes),
    )
    print(
        f"  ok: {sum(o.ok for o in outcomes):,}, with errors: {sum(not o.ok for o in outcomes):,}"
    )
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("catalog", nargs="?", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--msi", type=Path, default=None, help="MSI sample (source_items)")
    parser.add_argument("--channel", default="aliexpress")
    parser.add_argument("--on", type=date.fromisoformat, default=date(2026, 1, 1))
    parser.add_argument(
        "--config-manage-stock",
        choices=("yes", "no", "reported"),
        default="yes",
        help="the store's Manage Stock setting for use_config_manage_stock items",
    )
    parser.add_argument("--repeat", type=int, default=5, help="conversion timing runs")
    args = parser.parse_args(argv)

    if not args.catalog.exists():
        print(f"catalog not found: {args.catalog}", file=sys.stderr)
        return 1
    payloads = json.loads(args.catalog.read_text(encoding="utf-8"))
    msi_path = args.msi or args.catalog.with_name("magento-sample-msi.json")
    msi = json.loads(msi_path.read_text(encoding="utf-8")) if msi_path.exists() else None
    manage = {"yes": True, "no": False, "reported": None}[args.config_manage_stock]

    timings = []
    products: list[Product] = []
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        products = convert(payloads, msi, manage)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    print(f"catalog: {args.catalog} ({len(payloads):,} payloads)")
    print(f"MSI: {msi_path if msi else '(none)'}")
    print(
        f"converted: {len(products):,} products in {best * 1000:.0f} ms (best of {len(timings)};"
        f" {best / len(products) * 1e6:.1f} µs per product, parents and MSI grouping included)"
    )
    same = sum(
        product_from_rest(product_to_rest(product, **SAMPLE_OPTIONS), **SAMPLE_OPTIONS) == product
        for product in products
    )
    print(f"round trip product_to_rest → product_from_rest: {same:,}/{len(products):,} identical")

    report_products(products)
    report_pipeline(products, args.channel, args.on)
    return 0 if same == len(products) == len(payloads) else 1


if __name__ == "__main__":
    raise SystemExit(main())
