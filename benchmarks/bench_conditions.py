"""Benchmark: a listing-template condition over 100,000 products (spec section 13).

Run with ``python benchmarks/bench_conditions.py``. One run on one machine; the ratios are what
count. The same logical test is timed five ways over the same 100,000 synthetic products:

- ``lambda``: the test written by hand in Python over the same ``Product`` objects;
- ``Condition.matches``: the compiled condition (text form, parsed once before timing), called
  once per product like the lambda;
- ``Condition.select``: the same condition filtering the whole list in one call (the loop runs
  inside the compiled code, so there is no function call per product);
- ``evaluate()``: the plain reference interpreter the compiled code is tested against;
- ``rule-engine`` 5.x (``Rule.matches``) and zen-engine (``compile_expression(...).evaluate``),
  each installed only for this benchmark (``pip install 'rule-engine>=5,<6' zen-engine``) and
  skipped with a note when missing. Each gets the product data in the shape it needs — plain
  dicts, with ``Decimal`` prices for rule-engine and ``float`` prices for zen-engine — built
  BEFORE timing, so only the evaluation is timed.

Every product has a color, a price and a stock record, so the engines, which have no notion of a
missing value that compares false, evaluate exactly the same test; about 1 % of them match.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from policy_engine import Condition, Product, Stock, Visibility
from policy_engine._conditions import evaluate

COUNT = 100_000
REPEATS = 5

CONDITION = (
    "color in ('red', 'blue', 'black', 'white', 'green', 'navy') and 10 <= price <= 100"
    " and attribute_set == 'Clothing' and qty > 0 and 'shirt' in name"
    " and visibility != 'not_visible_individually'"
)
RULE_ENGINE = (
    "color in ['red', 'blue', 'black', 'white', 'green', 'navy'] and price >= 10 and price <= 100"
    " and attribute_set == 'Clothing' and qty > 0 and 'shirt' in name"
    " and visibility != 'not_visible_individually'"
)
ZEN = (
    'color in ["red", "blue", "black", "white", "green", "navy"] and price >= 10 and price <= 100'
    ' and attribute_set == "Clothing" and qty > 0 and contains(name, "shirt")'
    ' and visibility != "not_visible_individually"'
)
COLORS = frozenset({"red", "blue", "black", "white", "green", "navy"})
ALL_COLORS = (*sorted(COLORS), "yellow", "orange", "purple", "pink", "brown", "grey")
NAMES = ("Classic shirt", "Linen shirt", "Flannel shirt", "Wool jacket", "Denim jeans",
         "Canvas bag", "Rain coat", "Cotton shorts", "Running shoes", "Knit sweater")  # fmt: skip
SETS = ("Clothing", "Clothing", "Default", "Gear", "Bags")


#: The same test, written by hand as a lambda over the same objects.
by_hand: Callable[[Product], bool] = lambda p: (  # noqa: E731 - the lambda is the point
    p.attributes.get("color") in COLORS
    and p.price is not None
    and 10 <= p.price <= 100
    and p.attribute_set == "Clothing"
    and p.stock is not None
    and p.stock.qty > 0
    and "shirt" in p.name
    and p.visibility != "not_visible_individually"
)


def make_products(count: int, seed: int = 7) -> list[Product]:
    rng = random.Random(seed)
    visibilities = list(Visibility)
    return [
        Product(
            sku=f"SKU-{index}",
            name=rng.choice(NAMES),
            visibility=rng.choice(visibilities),
            price=Decimal(rng.randrange(100, 30000)) / 100,
            attributes={"color": rng.choice(ALL_COLORS), "size": rng.choice("SML")},
            attribute_set=rng.choice(SETS),
            stock=Stock(qty=rng.randrange(-3, 10)),
        )
        for index in range(count)
    ]


def as_dict(product: Product, number: Callable[[Decimal], Any]) -> dict[str, Any]:
    assert product.stock is not None
    assert product.price is not None
    return {
        "color": product.attributes.get("color"),
        "price": number(product.price),
        "attribute_set": product.attribute_set,
        "qty": product.stock.qty,
        "name": product.name,
        "visibility": str(product.visibility),
    }


Engine = tuple[str, Callable[[Any], Any], list[Any]]


def timed(engines: list[Engine]) -> list[tuple[str, float, int]]:
    """Best of REPEATS passes per engine (passes interleaved, so that a busy moment of the
    machine does not favour one engine): seconds for one pass, and how many items matched."""
    best = {name: float("inf") for name, _, _ in engines}
    matched = dict.fromkeys(best, 0)
    for _ in range(REPEATS):
        for name, test, data in engines:
            start = time.perf_counter()
            matched[name] = len(test(data)) if name.endswith("(batch)") else sum(map(test, data))
            best[name] = min(best[name], time.perf_counter() - start)
    return [(name, best[name], matched[name]) for name, _, _ in engines]


def main() -> int:
    print(f"Building {COUNT:,} products ...", flush=True)
    products = make_products(COUNT)
    condition = Condition.parse(CONDITION)
    node = condition._node
    notes: list[str] = []
    engines: list[Engine] = [
        ("hand-written lambda", by_hand, products),
        ("Condition.matches", condition.matches, products),
        ("Condition.select (batch)", condition.select, products),
        ("evaluate() (reference)", lambda p: evaluate(node, p), products),
    ]

    try:
        import rule_engine
    except ImportError:
        notes.append("rule-engine is not installed: skipped (pip install 'rule-engine>=5,<6')")
    else:
        rule = rule_engine.Rule(RULE_ENGINE)
        contexts = [as_dict(product, lambda amount: amount) for product in products]
        version = getattr(rule_engine, "__version__", "?")
        engines.append((f"rule-engine {version}", rule.matches, contexts))

    try:
        import zen
    except ImportError:
        notes.append("zen-engine is not installed: skipped (pip install zen-engine)")
    else:
        expression = zen.compile_expression(ZEN)
        zen_contexts = [as_dict(product, float) for product in products]
        engines.append(("zen-engine compile_expression", expression.evaluate, zen_contexts))

    print("Timing ...", flush=True)
    rows = timed(engines)

    reference = rows[0]
    print(f"\nCondition: {CONDITION}")
    print(f"Products: {COUNT:,}, best of {REPEATS} runs, Python {sys.version.split()[0]}\n")
    print(f"{'engine':32} {'ms / 100k':>10} {'x lambda':>9} {'matched':>8}")
    for name, seconds, matched in rows:
        per_100k = seconds * 1000 * 100_000 / COUNT
        print(f"{name:32} {per_100k:10.1f} {seconds / reference[1]:9.2f} {matched:8}")
    compiled = rows[1][1]
    print()
    for name, seconds, _ in rows[4:]:
        print(f"Condition.matches is {seconds / compiled:.1f}x faster than {name}")
    for note in notes:
        print(f"note: {note}")
    if len({matched for _, _, matched in rows}) != 1:
        print("error: the engines disagree on how many products match")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
