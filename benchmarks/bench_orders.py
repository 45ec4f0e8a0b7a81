"""Benchmark plan_order against a hand-written baseline.

Run: ``python benchmarks/bench_orders.py`` (``--quick`` for a short run). plan_order and the
baseline plan the same 5,000 channel orders (1 to 3 lines each) against a catalog of 10,000
products indexed once by an alternate SKU attribute (an EAN), in the same process, one core.

The baseline makes the same decisions for these orders (checked before timing: whether each order
is created, its store order id and its stock changes must agree) but returns only those — no
reasons, no planned lines or customer, no result object.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_rules import format_table, measure
from policy_engine import (
    ChannelOrder,
    OrderLine,
    OrderPolicy,
    Product,
    SkuResolver,
    Stock,
    plan_order,
)

POLICY = OrderPolicy(
    title="AliExpress",
    import_statuses=("WAIT_SELLER_SEND_GOODS", "PAID"),
    alternate_sku_attribute="ean",
    order_id_prefix="ALIEXP-",
)
STATUSES = frozenset(POLICY.import_statuses)


def make_catalog(count: int, rng: random.Random) -> dict[str, Product]:
    """Store SKU -> product; most have an EAN, a few are disabled or out of stock."""
    catalog = {}
    for index in range(count):
        sku = f"SKU-{index}"
        catalog[sku] = Product(
            sku=sku,
            enabled=rng.random() > 0.02,
            attributes={"ean": f"400{index:010d}"} if rng.random() < 0.8 else {},
            stock=Stock(qty=rng.randint(0, 50), in_stock=rng.random() > 0.03),
        )
    return catalog


def make_orders(count: int, catalog_size: int, rng: random.Random) -> list[ChannelOrder]:
    """Orders by EAN or store SKU, a few with an unknown SKU or an ineligible status."""
    orders = []
    for index in range(count):
        lines = []
        for _ in range(rng.randint(1, 3)):
            number = rng.randrange(catalog_size)
            roll = rng.random()
            sku = (
                f"400{number:010d}"
                if roll < 0.6
                else "UNKNOWN-1"
                if roll < 0.62
                else f"SKU-{number}"
            )
            lines.append(OrderLine(sku=sku, qty=rng.randint(1, 3), price=Decimal("19.90")))
        status = "PAID" if rng.random() < 0.95 else "PLACE_ORDER_SUCCESS"
        orders.append(ChannelOrder(id=f"O-{index}", status=status, lines=tuple(lines)))
    return orders


def baseline_plan(
    order: ChannelOrder,
    by_ean: Mapping[str, Product],
    catalog: Mapping[str, Product],
    sequence: int,
    imported: frozenset[str],
) -> tuple[bool, str | None, dict[str, int]]:
    """Whether the order is created, its store order id and its stock changes."""
    create = order.id not in imported and order.status in STATUSES
    changes: dict[str, int] = {}
    for line in order.lines:
        product = by_ean.get(line.sku) or catalog.get(line.sku)
        if product is None:
            create = False
            continue
        stock = product.stock
        if not product.enabled or (stock is not None and stock.manage_stock and not stock.in_stock):
            create = False
        changes[product.sku] = changes.get(product.sku, 0) - line.qty
    if not create:
        return False, None, {}
    return True, f"ALIEXP-{sequence:06d}", changes


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    """Check the baseline agrees, time both; return the rows of the table."""
    rng = random.Random(20261123)
    catalog = make_catalog(10_000, rng)
    orders = make_orders(5_000, len(catalog), rng)
    resolver = SkuResolver(catalog, "ean")
    by_ean: dict[str, Product] = {}
    for product in catalog.values():
        ean = product.attributes.get("ean")
        if isinstance(ean, str):
            by_ean.setdefault(ean, product)
    imported = frozenset({"O-7", "O-70", "O-700"})
    number, repeat = (3, 3) if quick else (10, 5)

    for index, order in enumerate(orders):
        plan = plan_order(order, POLICY, resolver, sequence=index, imported=imported)
        expected = (
            plan.create,
            plan.store_order_id if plan.create else None,
            dict(plan.stock_changes) if plan.create else {},
        )
        assert baseline_plan(order, by_ean, catalog, index, imported) == expected, (order, plan)

    def rule() -> None:
        for index, order in enumerate(orders):
            plan_order(order, POLICY, resolver, sequence=index, imported=imported)

    def baseline() -> None:
        for index, order in enumerate(orders):
            baseline_plan(order, by_ean, catalog, index, imported)

    return [
        measure("plan_order (1-3 lines)", rule, baseline, len(orders), number=number, repeat=repeat)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    arguments = parser.parse_args(argv)
    print(format_table(run(quick=arguments.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
