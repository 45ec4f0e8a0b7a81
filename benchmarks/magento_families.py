"""Run the Magento sample catalog through product families and time them.

Run: ``python benchmarks/magento_families.py [CATALOG] [--channel aliexpress] [--repeat 5]``.
``CATALOG`` defaults to ``../shared/data/magento-sample-catalog.json`` relative to the repository
root, with the MSI sample beside it. The catalog is read by
:func:`~policy_engine.adapters.magento.families_from_rest` (with the sample's non-REST keys,
``category_paths`` and ``configurable_child_skus``); each family is evaluated with
:func:`~policy_engine.evaluate_family` and each standalone product with
:func:`~policy_engine.evaluate_listing` on the first account of ``default_config(channel)``.

The script prints the families by kind, the children by role and reason, the configurables
listed at 0 while their children have stock (must be 0), the bundle's and the grouped
product's price and quantity, and the standalone products against today's flat conversion and
evaluation (``benchmarks/magento_catalog.py``'s; must be unchanged). Then it times, on one core:

- ``evaluate_family`` over every configurable family, as variant evaluations per second;
- the same children evaluated flat with ``evaluate_listing``, each made visible individually
  (as children they are not, and a flat run would skip them before computing anything), so both
  sides compute a quantity, a price and images per child;
- a hand-written baseline: a plain function summing the children's stock and taking their
  lowest price.

Targets: at least 50,000 variant evaluations per second, and a family at most 1.5 times the
per-child cost of the flat run. The exit status is 1 when a check of the table fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from policy_engine import (
    ChildRole,
    FamilyKind,
    FamilyOutcome,
    Product,
    ProductFamily,
    Visibility,
    default_config,
    evaluate_family,
    evaluate_listing,
)
from policy_engine.adapters.magento import (
    families_from_rest,
    group_source_items,
    parent_skus,
    product_from_rest,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG = ROOT.parent / "shared" / "data" / "magento-sample-catalog.json"

#: The options that read the sample catalog's non-REST variants.
SAMPLE_OPTIONS: dict[str, Any] = {
    "category_attribute": "category_paths",
    "children_key": "configurable_child_skus",
}


def _best(run: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def _row(label: str, value: object) -> None:
    print(f"  {label:<58} {value}")


def baseline(family: ProductFamily) -> tuple[int, Decimal | None]:
    """A configurable's quantity and price by hand: Σ child stock, the lowest child price."""
    total = 0
    cheapest: Decimal | None = None
    for child in family.children:
        stock = child.stock
        if child.enabled and stock is not None and stock.in_stock:
            total += max(stock.qty, 0)
        price = child.price
        if price is not None and (cheapest is None or price < cheapest):
            cheapest = price
    return total, cheapest


def today(payloads: list[dict[str, Any]], msi: dict[str, Any] | None) -> dict[str, Product]:
    """Today's flat conversion of every payload, as ``benchmarks/magento_catalog.py`` does it."""
    parents = parent_skus(payloads, children_key=SAMPLE_OPTIONS["children_key"])
    groups = group_source_items(msi["source_items"], sources=msi["sources"]) if msi else {}
    products = (
        product_from_rest(
            payload,
            parent_sku=parents.get(payload["sku"]),
            source_items=groups.get(payload["sku"], ()),
            **SAMPLE_OPTIONS,
        )
        for payload in payloads
    )
    return {product.sku: product for product in products}


def report_family(label: str, outcome: FamilyOutcome) -> None:
    price = outcome.price
    shown = "no price" if price is None else f"{price.amount} {price.currency}"
    _row(label, f"quantity {outcome.quantity}, price {shown}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("catalog", nargs="?", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--channel", default="aliexpress")
    parser.add_argument("--on", type=date.fromisoformat, default=date(2026, 1, 1))
    parser.add_argument("--repeat", type=int, default=5, help="timing runs (the best counts)")
    args = parser.parse_args(argv)

    if not args.catalog.exists():
        print(f"catalog not found: {args.catalog}", file=sys.stderr)
        return 1
    payloads = json.loads(args.catalog.read_text(encoding="utf-8"))
    msi_path = args.catalog.with_name("magento-sample-msi.json")
    msi = json.loads(msi_path.read_text(encoding="utf-8")) if msi_path.exists() else None
    groups = group_source_items(msi["source_items"], sources=msi["sources"]) if msi else {}

    def read() -> Any:
        return families_from_rest(payloads, source_items=groups, **SAMPLE_OPTIONS)

    catalog = read()
    read_time = _best(read, args.repeat)
    config = default_config(args.channel)
    account = config.accounts[0].id
    on = args.on
    outcomes = [evaluate_family(config, family, account, on=on) for family in catalog.families]
    ok = True

    print(f"catalog: {args.catalog} ({len(payloads):,} payloads), {args.channel} {account!r}")
    print(
        f"families_from_rest: {read_time * 1000:.0f} ms (best of {max(1, args.repeat)}),"
        f" {len(catalog.problems)} problems"
    )
    print("\nfamilies")
    kinds = Counter(family.kind.value for family in catalog.families)
    for kind in FamilyKind:
        _row(kind.value, kinds[kind.value])
    children = [child for outcome in outcomes for child in outcome.children]
    _row("children (a product in two families counts twice)", f"{len(children):,}")
    roles = Counter(
        f"{child.role.value}: {child.reasons[0].code}" if child.reasons else child.role.value
        for child in children
    )
    for role, count in sorted(roles.items()):
        _row(f"  {role}", f"{count:,}")

    print("\nchecks")
    configurables = [o for o in outcomes if o.kind is FamilyKind.CONFIGURABLE]
    at_zero = sum(
        1
        for outcome in configurables
        if outcome.quantity == 0
        and any(child.quantity and child.quantity.quantity > 0 for child in outcome.children)
    )
    _row("configurables at 0 while a child has stock (must be 0)", at_zero)
    ok &= at_zero == 0
    held = sum(len(outcome.children) for outcome in configurables)
    _row("configurable children, each a variant or with a reason", f"{held:,}")
    unpriced = sum(outcome.price is None for outcome in outcomes)
    _row("families without a price (must be 0)", unpriced)
    ok &= unpriced == 0
    for outcome, family in zip(outcomes, catalog.families, strict=True):
        if family.kind is FamilyKind.CONFIGURABLE:
            continue
        report_family(f"{family.kind.value} {family.parent.sku}", outcome)
        # The sample's gear says manage_stock false: the default policy lists such stock at 0.
        managed = attrs.evolve(
            family,
            children=tuple(
                attrs.evolve(c, stock=attrs.evolve(c.stock, manage_stock=True))
                if c.stock is not None
                else c
                for c in family.children
            ),
        )
        report_family(
            "  same, the children's stock managed (qty 100 each)",
            evaluate_family(config, managed, account, on=on),
        )

    flat = today(payloads, msi)
    same = sum(
        flat[product.sku] == product
        and evaluate_listing(config, product, account, on=on)
        == evaluate_listing(config, flat[product.sku], account, on=on)
        for product in catalog.products
    )
    _row("standalone products", len(catalog.products))
    _row("  unchanged from today's flat product and outcome", f"{same}/{len(catalog.products)}")
    ok &= same == len(catalog.products)

    print("\nspeed (one core, best of runs)")
    families = [f for f in catalog.families if f.kind is FamilyKind.CONFIGURABLE]
    variants = sum(len(family.children) for family in families)
    visible = [
        attrs.evolve(child, visibility=Visibility.CATALOG_SEARCH)
        for family in families
        for child in family.children
    ]
    assert all(
        b[0] == o.quantity for b, o in zip(map(baseline, families), configurables, strict=True)
    )
    assert all(
        o.price is not None and b[1] == o.price.amount
        for b, o in zip(map(baseline, families), configurables, strict=True)
    )
    assert all(
        child.role is ChildRole.VARIANT for outcome in configurables for child in outcome.children
    )
    family_time = _best(
        lambda: [evaluate_family(config, f, account, on=on) for f in families], args.repeat
    )
    flat_time = _best(
        lambda: [evaluate_listing(config, c, account, on=on) for c in visible], args.repeat
    )
    base_time = _best(lambda: [baseline(f) for f in families], args.repeat)
    per_family = family_time / variants * 1e6
    per_flat = flat_time / variants * 1e6
    per_base = base_time / variants * 1e6
    rate = variants / family_time
    _row("evaluate_family, per variant", f"{per_family:.2f} µs ({rate:,.0f} variants/s)")
    _row("evaluate_listing flat, per child", f"{per_flat:.2f} µs")
    _row("hand-written baseline, per child", f"{per_base:.2f} µs")
    _row("family / flat (target <= 1.5)", f"{per_family / per_flat:.2f}")
    _row("family / baseline", f"{per_family / per_base:.1f}")
    _row("variants per second (target >= 50,000)", "met" if rate >= 50_000 else "NOT MET")
    _row("family / flat", "met" if per_family <= 1.5 * per_flat else "NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
