"""Benchmark decide_sync and plan_stock_sync against hand-written baselines.

Run: ``python benchmarks/bench_sync.py`` (``--quick`` for a short run). Each rule and its baseline
run over the same inputs in the same process, one core; the table reports calls per second and the
ratio of the rule's time to the baseline's.

The baselines decide the same thing for these inputs (checked before timing: every action and
every planned quantity must agree) but return only the bare decision — no reasons, no result
object, no history record — and know the fixed policies of the benchmark instead of reading them.

``decide_sync`` is also timed against its own decision before listing lifecycle rules existed
(``tests/frozen_sync.py``, a frozen copy) on the same changes: the ratio is what the lifecycle
costs a policy that uses no lifecycle rule (the target is at most 1.2×). A last row times a
policy with a stop rule on a channel that refuses 0, against the same frozen copy.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import frozen_sync
from bench_rules import baseline_quantity, format_table, measure
from policy_engine import (
    BUILTIN_CHANNELS,
    Account,
    ChangeKind,
    ChannelListing,
    ChannelProfile,
    Configuration,
    ImagePolicy,
    InventoryPolicy,
    Listing,
    ListingTemplate,
    PricingPolicy,
    Product,
    ProductChange,
    Stock,
    StockEvent,
    StopRules,
    SyncPolicy,
    Threshold,
    Visibility,
    decide_sync,
    plan_stock_sync,
)

# ----------------------------------------------------------------------------- decide_sync

SYNC = SyncPolicy(title="AliExpress", channel="aliexpress")
TEMPLATES = (
    ListingTemplate(
        id="bags",
        title="Bags",
        condition="under(categories, 'Gear/Bags')",
        inventory_policy="stock",
        pricing_policy="regular",
        image_policy="images",
    ),
    ListingTemplate(
        id="tops",
        title="Tops",
        condition="attribute_set == 'Top' and price >= 10",
        inventory_policy="stock",
        pricing_policy="regular",
        image_policy="images",
    ),
)
CHANGED: tuple[frozenset[str], ...] = (
    frozenset({"qty"}),
    frozenset({"price"}),
    frozenset({"qty", "price"}),
    frozenset({"name"}),
    frozenset({"color"}),
    frozenset(),
)
QUANTITY_PRICE = frozenset({"qty", "in_stock", "stock", "enabled", "price", "special_price"})


def make_changes(count: int, rng: random.Random) -> list[ProductChange]:
    """A realistic mix: mostly quantity and price updates of listed products."""
    changes = []
    for index in range(count):
        product = Product(
            sku=f"SKU-{index}",
            price=Decimal(rng.randint(100, 20000)) / 100,
            categories=rng.choice((("Gear/Bags",), ("Men/Tops",), ("Sale",))),
            attribute_set=rng.choice(("Top", "Bag", "Default")),
            visibility=(
                Visibility.NOT_VISIBLE_INDIVIDUALLY
                if rng.random() < 0.1
                else Visibility.CATALOG_SEARCH
            ),
        )
        roll = rng.random()
        if roll < 0.1:
            kind, listing = ChangeKind.CREATED, None
        elif roll < 0.15:
            kind, listing = ChangeKind.DELETED, Listing(template="bags")
        else:
            template = rng.choice(("bags", "tops", None))
            kind, listing = ChangeKind.UPDATED, Listing(template=template)
        changes.append(
            ProductChange(kind=kind, product=product, changed=rng.choice(CHANGED), listing=listing)
        )
    return changes


def baseline_decide(change: ProductChange) -> str:
    """decide_sync's action for the benchmark's policy (all flags on, every field), no reasons."""
    product = change.product
    listing = change.listing
    if product.visibility == "not_visible_individually":
        # Hidden: nothing while off the channel; a listed one leaves it.
        return "delist" if listing is not None and listing.listed else "none"
    template = listing.template if listing is not None else None
    if template is None:
        for candidate in TEMPLATES:
            condition = candidate.condition
            if condition is None or condition.matches(product):
                template = candidate.id
                break
    if listing is None or not listing.listed:
        if change.kind == "deleted" or template is None:
            return "none"
        return "upload"
    if change.kind == "deleted":
        return "delist"
    if change.kind == "created":
        return "update"
    changed = change.changed
    if not changed:
        return "none"
    if changed <= QUANTITY_PRICE:
        return "update_price_inventory"
    return "update"


# ------------------------------------------------------------------------- plan_stock_sync

INVENTORY = InventoryPolicy(
    title="Bench", buffer=2, threshold=Threshold(value=10, above=20, below=2), max_quantity=200
)
CONFIG = Configuration(
    sync_policies={
        "sync": SyncPolicy(title="Sync", quantity_revise_threshold=50),
        "manual": SyncPolicy(title="Manual", inventory_price_sync=False),
    },
    inventory_policies={"stock": INVENTORY},
    pricing_policies={"regular": PricingPolicy(title="Regular")},
    image_policies={"images": ImagePolicy(title="Images")},
    templates=TEMPLATES,
    accounts=(
        Account(id="ali", channel="aliexpress", sync_policy="sync"),
        Account(id="tiktok", channel="tiktok", sync_policy="sync"),
        Account(id="ebay", channel="ebay", sync_policy="manual"),
    ),
)
ACCOUNTS = ("ali", "tiktok", "ebay")
AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def make_events(
    count: int, rng: random.Random
) -> list[tuple[StockEvent, tuple[ChannelListing, ...]]]:
    """Stock events, each with the product's listings on three accounts."""
    events = []
    for index in range(count):
        sku = f"SKU-{index}"
        stock = Stock(qty=rng.randint(-2, 120), in_stock=rng.random() < 0.9)
        event = StockEvent(sku=sku, source="sales_order", stock=stock, at=AT)
        listings = tuple(
            ChannelListing(
                account=account,
                sku=sku,
                listed=rng.random() < 0.95,
                template=rng.choice(("bags", "tops", None)) if rng.random() < 0.2 else "bags",
                auto_sync=rng.random() < 0.95,
                last_quantity=rng.choice((None, 0, 2, 20, 60, 100)),
            )
            for account in ACCOUNTS
        )
        events.append((event, listings))
    return events


SYNCING = {"ali": 50, "tiktok": 50}  # account -> quantity_revise_threshold (ebay: no sync)


def baseline_stock_sync(
    event: StockEvent, listings: Sequence[ChannelListing]
) -> list[tuple[str, int]]:
    """plan_stock_sync's updates for the benchmark's configuration, nothing else."""
    updates = []
    quantity: int | None = None
    for listing in listings:
        if listing.sku != event.sku or not listing.listed or not listing.auto_sync:
            continue
        if listing.template is None or listing.account not in SYNCING:
            continue
        if quantity is None:
            quantity = baseline_quantity(event.stock, INVENTORY)
        last = listing.last_quantity
        if quantity == last:
            continue
        limit = SYNCING[listing.account]
        if last is not None and last > limit and quantity > limit:
            continue
        updates.append((listing.account, quantity))
    return updates


# ------------------------------------------------------------------------------------- run


def interleaved(
    name: str,
    rule: Callable[[], None],
    baseline: Callable[[], None],
    calls_per_batch: int,
    *,
    rounds: int,
) -> dict[str, Any]:
    """Time a rule and its baseline in alternating batches; keep each one's fastest batch
    (garbage collection paused).

    On a shared machine the load drifts; alternating batch by batch exposes both sides to the
    same drift, so the ratio of two near-equal functions is not skewed by when each ran.
    """
    best_rule = best_baseline = float("inf")
    gc.disable()
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            rule()
            best_rule = min(best_rule, time.perf_counter() - start)
            start = time.perf_counter()
            baseline()
            best_baseline = min(best_baseline, time.perf_counter() - start)
    finally:
        gc.enable()
    return {
        "name": name,
        "rule_per_s": calls_per_batch / best_rule,
        "baseline_per_s": calls_per_batch / best_baseline,
        "ratio": best_rule / best_baseline,
    }


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    """Check the baselines agree, time both; return the rows of the table."""
    rng = random.Random(20261123)
    size = 5_000
    changes = make_changes(size, rng)
    events = make_events(size, rng)
    number, repeat = (3, 3) if quick else (10, 5)

    for change in changes:
        expected = decide_sync(change, SYNC, templates=TEMPLATES).action.value
        assert baseline_decide(change) == expected, (change, expected)
    for event, listings in events:
        plan = plan_stock_sync(event, listings, CONFIG)
        planned = [(update.account, update.quantity) for update in plan.updates]
        assert baseline_stock_sync(event, listings) == planned, (event, listings, planned)

    def sync_rule() -> None:
        for change in changes:
            decide_sync(change, SYNC, templates=TEMPLATES)

    def sync_baseline() -> None:
        for change in changes:
            baseline_decide(change)

    frozen_policy = frozen_sync.SyncPolicy(title="AliExpress", channel="aliexpress")
    for change in changes:
        before = frozen_sync.decide_sync(change, frozen_policy, templates=TEMPLATES)  # type: ignore[arg-type]
        after = decide_sync(change, SYNC, templates=TEMPLATES)
        assert (before.action.value, before.reasons) == (after.action.value, after.reasons)

    def sync_before() -> None:
        for change in changes:
            frozen_sync.decide_sync(change, frozen_policy, templates=TEMPLATES)  # type: ignore[arg-type]

    lifecycle_policy = SyncPolicy(
        title="Etsy-like", stop_rules=StopRules(when_out_of_stock=True), channel=None
    )
    etsy = ChannelProfile(
        name="etsy", fields=BUILTIN_CHANNELS["aliexpress"].fields, zero_quantity="stop"
    )
    quantities = [rng.choice((0, 1, 5, 20)) for _ in changes]

    def sync_lifecycle() -> None:
        for change, quantity in zip(changes, quantities, strict=True):
            decide_sync(
                change,
                lifecycle_policy,
                templates=TEMPLATES,
                channel_fields=etsy,
                quantity=quantity,
            )

    def stock_rule() -> None:
        for event, listings in events:
            plan_stock_sync(event, listings, CONFIG)

    def stock_baseline() -> None:
        for event, listings in events:
            baseline_stock_sync(event, listings)

    cases: list[tuple[str, Callable[[], None], Callable[[], None]]] = [
        ("decide_sync", sync_rule, sync_baseline),
        ("plan_stock_sync (3 listings)", stock_rule, stock_baseline),
    ]
    rows = [
        measure(name, rule, baseline, size, number=number, repeat=repeat)
        for name, rule, baseline in cases
    ]
    rounds = 15 if quick else 60
    rows.insert(
        1,
        interleaved("decide_sync vs before lifecycle", sync_rule, sync_before, size, rounds=rounds),
    )
    rows.insert(
        2,
        interleaved(
            "decide_sync, stop rule + zero rule", sync_lifecycle, sync_before, size, rounds=rounds
        ),
    )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    arguments = parser.parse_args(argv)
    print(format_table(run(quick=arguments.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
