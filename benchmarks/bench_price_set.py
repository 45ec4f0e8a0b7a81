"""What a full price set costs against a plain price (target: at most 2x).

``compute_prices`` with every extra price configured (sale, list price, MAP, business price with
two tiers, Best Offer, promotion) against ``compute_price`` under the same main-price policy
without them, on the products of ``bench_rules.py``, timed alternately in one run. A third row
times ``compute_price`` on a policy with the market rounding options (a rounding unit and a
whole-number ending, in yen) against the plain policy.

Run: ``python benchmarks/bench_price_set.py [--quick]``.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs

from bench_rules import ON, PRICING, make_products, measure
from policy_engine import (
    Adjustment,
    BestOfferRule,
    BusinessRule,
    MapRule,
    PriceOutputs,
    PriceRule,
    PromotionRule,
    QuantityTier,
    SaleRule,
    WholeEnding,
    __version__,
    compute_price,
    compute_prices,
)


def _off(percent: int) -> tuple[Adjustment, ...]:
    return (Adjustment(kind="percent_decrement", amount=Decimal(percent)),)


OUTPUTS = PriceOutputs(
    sale=SaleRule(price=PriceRule(source="attribute", attribute="special_price"), window="product"),
    list_price=PriceRule(source="attribute", attribute="msrp"),
    map=MapRule(price=PriceRule(source="main", adjustments=_off(25))),
    business=BusinessRule(
        price=PriceRule(source="main", adjustments=_off(5)),
        tiers=(
            QuantityTier(quantity=10, percent_off=Decimal(3)),
            QuantityTier(quantity=50, percent_off=Decimal(6)),
        ),
    ),
    best_offer=BestOfferRule(
        accept=PriceRule(source="main", adjustments=_off(10)),
        decline=PriceRule(source="main", adjustments=_off(20)),
    ),
    promotion=PromotionRule(price=PriceRule(source="main", adjustments=_off(15))),
)
#: The main price of bench_rules (msrp, special price, +10 %), without the ending, so that the
#: extra prices are rounded like it.
PLAIN = attrs.evolve(PRICING, ending=None)
FULL = attrs.evolve(PLAIN, outputs=OUTPUTS)
YEN = attrs.evolve(PLAIN, currency="JPY", conversion_rate=Decimal(150))
YEN_MARKET = attrs.evolve(YEN, rounding_unit=10, whole_ending=WholeEnding(digits="980"))


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    """Time the full price set and the market rounding against a plain price."""
    products = make_products(2_000, random.Random(20261123))
    number, repeat = (3, 3) if quick else (10, 5)

    def full() -> None:
        for product in products:
            compute_prices(product, FULL, on=ON)

    def plain() -> None:
        for product in products:
            compute_price(product, PLAIN, on=ON)

    def yen_market() -> None:
        for product in products:
            compute_price(product, YEN_MARKET, on=ON)

    def yen() -> None:
        for product in products:
            compute_price(product, YEN, on=ON)

    size = len(products)
    return [
        measure(
            "compute_prices (6 outputs) / compute_price",
            full,
            plain,
            size,
            number=number,
            repeat=repeat,
        ),
        measure(
            "compute_price unit + whole ending / plain (JPY)",
            yen_market,
            yen,
            size,
            number=number,
            repeat=repeat,
        ),
    ]


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = [
        f"policy_engine {__version__}, Python {platform.python_version()}, one core",
        "",
        "| comparison | calls/s | baseline calls/s | ratio | target |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        target = ""
        if row["name"].startswith("compute_prices"):
            target = "≤ 2× " + ("ok" if row["ratio"] <= 2 else "MISSED")
        lines.append(
            f"| {row['name']} | {row['rule_per_s']:,.0f} | {row['baseline_per_s']:,.0f}"
            f" | {row['ratio']:.2f}× | {target} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    arguments = parser.parse_args(argv)
    print(format_table(run(quick=arguments.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
