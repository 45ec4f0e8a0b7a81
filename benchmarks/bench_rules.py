"""Benchmark the quantity, price and image rules against hand-written baselines.

Run: ``python benchmarks/bench_rules.py`` (add ``--quick`` for a short run). Each rule and its
baseline run over the same objects in the same process, one core, and the table reports calls per
second and the ratio of the rule's time to the baseline's.

The baselines do the same arithmetic on the same objects but return only the bare value: no
explanation steps, no result object. The ratio is therefore the price of the explanation.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from policy_engine import (
    Adjustment,
    AdjustmentKind,
    Ending,
    EndingDirection,
    Image,
    ImagePolicy,
    InventoryPolicy,
    PricingPolicy,
    Product,
    Stock,
    Threshold,
    __version__,
    compute_price,
    compute_quantity,
    select_images,
)

# --------------------------------------------------------------------------------- baselines


def baseline_quantity(stock: Stock | None, policy: InventoryPolicy) -> int:
    """compute_quantity's arithmetic for a single-source stock, with no explanation."""
    if stock is None or not stock.manage_stock:
        return policy.default_quantity
    base = stock.qty
    if not stock.in_stock or base <= 0:
        return policy.default_quantity if policy.default_when_out_of_stock else 0
    sellable = max(0, base - policy.buffer) * policy.percentage // 100
    threshold = policy.threshold
    if threshold is None:
        quantity = sellable
    elif base > threshold.value:
        quantity = threshold.above
    elif base == threshold.value:
        quantity = sellable
    else:
        quantity = threshold.below
    if policy.cap_at_stock:
        quantity = min(quantity, sellable)
    if policy.max_quantity is not None:
        quantity = min(quantity, policy.max_quantity)
    return quantity


_CENT = Decimal("0.01")
_ONE = Decimal(1)
_HUNDRED = Decimal(100)


def baseline_price(product: Product, policy: PricingPolicy, on: date) -> Decimal:
    """compute_price's arithmetic (2-decimal currency, half-up, ending up), no explanation."""
    value = product.attributes.get(policy.price_attribute)
    base = Decimal(value) if isinstance(value, str) else value
    if not isinstance(base, Decimal | int) or base <= 0:
        base = product.price
    assert base is not None
    if (
        policy.use_special_price
        and product.special_price is not None
        and (product.special_from is None or product.special_from <= on)
        and (product.special_to is None or on <= product.special_to)
    ):
        base = min(base, product.special_price)
    amount = Decimal(base)
    for adjustment in policy.adjustments:
        if adjustment.kind == "percent_increment":
            amount += amount * adjustment.amount / _HUNDRED
        elif adjustment.kind == "percent_decrement":
            amount -= amount * adjustment.amount / _HUNDRED
        elif adjustment.kind == "fixed_increment":
            amount += adjustment.amount
        else:
            amount -= adjustment.amount
    amount = amount * (_ONE + policy.vat_percent / _HUNDRED) * policy.conversion_rate
    amount = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    if policy.ending is not None:
        whole = amount.to_integral_value(rounding=ROUND_FLOOR)
        candidate = whole + policy.ending.value
        if candidate < amount:
            candidate += _ONE
        amount = candidate
    if policy.min_price is not None and amount < policy.min_price:
        amount = policy.min_price
    if policy.max_price is not None and amount > policy.max_price:
        amount = policy.max_price
    return amount


def baseline_images(product: Product, policy: ImagePolicy) -> tuple[str, ...]:
    """select_images' selection, no explanation."""
    candidates = sorted(
        (image for image in product.images if not image.disabled), key=lambda i: i.position
    )
    main = None
    attribute = policy.main_image_attribute
    if attribute is not None:
        value = product.attributes.get(attribute)
        if isinstance(value, str) and value:
            main = value
    if main is None:
        for image in candidates:
            if "image" in image.roles:
                main = image.file
                break
    if main is None and candidates:
        main = candidates[0].file
    if main is None:
        main = policy.default_image
    if main is None:
        return ()
    files = [main]
    seen = {main}
    for image in candidates:
        if image.file not in seen:
            seen.add(image.file)
            files.append(image.file)
    return tuple(files[: policy.gallery_limit])


# ------------------------------------------------------------------------------------- data


def make_stocks(count: int, rng: random.Random) -> list[Stock | None]:
    """A realistic mix: mostly managed and in stock, some out of stock, a few without data."""
    stocks: list[Stock | None] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.02:
            stocks.append(None)
        elif roll < 0.05:
            stocks.append(Stock(qty=rng.randint(0, 50), manage_stock=False))
        elif roll < 0.15:
            stocks.append(Stock(qty=rng.randint(-3, 5), in_stock=rng.random() < 0.5))
        else:
            stocks.append(Stock(qty=rng.randint(1, 500)))
    return stocks


IMAGE_ROLE: frozenset[str] = frozenset({"image"})
NO_ROLES: frozenset[str] = frozenset()


def make_products(count: int, rng: random.Random, *, images: int = 8) -> list[Product]:
    """Products with prices, an MSRP attribute on most, special prices on some, 8 images."""
    products = []
    for index in range(count):
        price = Decimal(rng.randint(500, 20000)) / 100
        attributes: dict[str, Any] = {"color": rng.choice(["Red", "Blue", "Black"])}
        if rng.random() < 0.8:
            attributes["msrp"] = str(price + Decimal(rng.randint(0, 1000)) / 100)
        gallery = tuple(
            Image(
                file=f"/p/{index}/{n}.jpg",
                position=(n * 7) % images,
                disabled=n == 3,
                roles=IMAGE_ROLE if n == 2 else NO_ROLES,
            )
            for n in range(images)
        )
        special = rng.random() < 0.2
        products.append(
            Product(
                sku=f"SKU-{index}",
                price=price,
                special_price=price * Decimal("0.8") if special else None,
                special_from=date(2026, 1, 1) if special else None,
                special_to=date(2026, 12, 31) if special else None,
                attributes=attributes,
                images=gallery,
            )
        )
    return products


INVENTORY = InventoryPolicy(
    title="Bench", buffer=5, threshold=Threshold(value=10, above=20, below=2), max_quantity=200
)
PRICING = PricingPolicy(
    title="Bench",
    price_attribute="msrp",
    use_special_price=True,
    adjustments=(Adjustment(kind=AdjustmentKind.PERCENT_INCREMENT, amount=Decimal(10)),),
    ending=Ending(value=Decimal("0.99"), direction=EndingDirection.UP),
)
IMAGES = ImagePolicy(title="Bench", gallery_limit=6)
ON = date(2026, 6, 1)

# ----------------------------------------------------------------------------------- timing


def _time(call: Callable[[], object], number: int, repeat: int) -> float:
    """Best-of-``repeat`` seconds for ``number`` batches (garbage collection paused)."""
    best = float("inf")
    for _ in range(repeat):
        gc.disable()
        try:
            started = time.perf_counter()
            for _ in range(number):
                call()
            best = min(best, time.perf_counter() - started)
        finally:
            gc.enable()
    return best


def measure(
    name: str,
    rule: Callable[[], object],
    baseline: Callable[[], object],
    calls_per_batch: int,
    *,
    number: int,
    repeat: int,
) -> dict[str, Any]:
    """Time a rule and its baseline alternately; return calls/s of each and the ratio."""
    rule_seconds = _time(rule, number, repeat)
    baseline_seconds = _time(baseline, number, repeat)
    calls = calls_per_batch * number
    return {
        "name": name,
        "rule_per_s": calls / rule_seconds,
        "baseline_per_s": calls / baseline_seconds,
        "ratio": rule_seconds / baseline_seconds,
    }


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    """Run every benchmark; return the rows of the table."""
    rng = random.Random(20261123)
    size = 2_000
    stocks = make_stocks(size, rng)
    products = make_products(size, rng)
    number, repeat = (5, 3) if quick else (25, 5)

    def quantity_rule() -> None:
        for stock in stocks:
            compute_quantity(stock, INVENTORY)

    def quantity_baseline() -> None:
        for stock in stocks:
            baseline_quantity(stock, INVENTORY)

    def price_rule() -> None:
        for product in products:
            compute_price(product, PRICING, on=ON)

    def price_baseline() -> None:
        for product in products:
            baseline_price(product, PRICING, ON)

    def images_rule() -> None:
        for product in products:
            select_images(product, IMAGES)

    def images_baseline() -> None:
        for product in products:
            baseline_images(product, IMAGES)

    return [
        measure(
            "compute_quantity",
            quantity_rule,
            quantity_baseline,
            size,
            number=number * 4,
            repeat=repeat,
        ),
        measure("compute_price", price_rule, price_baseline, size, number=number, repeat=repeat),
        measure(
            "select_images (8 images)",
            images_rule,
            images_baseline,
            size,
            number=number,
            repeat=repeat,
        ),
    ]


TARGETS = {
    "compute_quantity": (1_000_000, 4.0),
    "compute_price": (300_000, None),
    "select_images (8 images)": (300_000, None),
}


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """Render the results as a Markdown table with the targets."""
    lines = [
        (
            f"policy_engine {__version__}, Python {platform.python_version()}"
            f" ({platform.python_implementation()}), {platform.machine()}, one core"
        ),
        "",
        "| rule | rule calls/s | baseline calls/s | ratio (rule/baseline) | target |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        minimum, max_ratio = TARGETS.get(row["name"], (None, None))
        target = []
        if minimum is not None:
            ok = row["rule_per_s"] >= minimum
            target.append(f"≥ {minimum:,}/s {'ok' if ok else 'MISSED'}")
        if max_ratio is not None:
            ok = row["ratio"] <= max_ratio
            target.append(f"≤ {max_ratio}× {'ok' if ok else 'MISSED'}")
        lines.append(
            f"| {row['name']} | {row['rule_per_s']:,.0f} | {row['baseline_per_s']:,.0f}"
            f" | {row['ratio']:.2f}× | {', '.join(target)} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    arguments = parser.parse_args(argv)
    print(format_table(run(quick=arguments.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
