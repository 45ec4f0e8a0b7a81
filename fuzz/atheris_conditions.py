"""Coverage-guided fuzzing of condition texts and trees with atheris (libFuzzer for Python).

Run from the repository root (atheris is not a dependency of the project: ``pip install atheris``)::

    python fuzz/atheris_conditions.py -atheris_runs=100000
    python fuzz/atheris_conditions.py -max_total_time=300 fuzz/corpus/conditions

The first byte chooses the form: a text for :meth:`Condition.parse`, or JSON for
:meth:`Condition.from_tree`. Only ``ConditionError`` may come out of either; a condition that is
accepted must evaluate to a bool on a few products, agree with the reference evaluator, and load
back equal from its canonical text and tree. Anything else is a crash that libFuzzer saves as
``crash-<hash>`` (replay it with ``python fuzz/atheris_conditions.py crash-<hash>``).
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal

import atheris  # type: ignore[import-not-found,import-untyped,unused-ignore]

with atheris.instrument_imports(include=["policy_engine"]):
    from policy_engine import Condition, ConditionError, Product, Stock
    from policy_engine._conditions import evaluate

PRODUCTS = (
    Product(sku="A"),
    Product(
        sku="MJ01-RED",
        name="Jacket",
        price=Decimal("59.00"),
        special_price=Decimal("1E-999999"),
        categories=("Men/Tops/Jackets",),
        attribute_set="Top",
        attributes={
            "color": "Red",
            "size": ("S", "M"),
            "msrp": Decimal("120.50"),
            "ean": 4006381333931,
            "fit": None,
            "flag": True,
            "x-y": "",
        },
        stock=Stock(qty=7, in_stock=True),
    ),
    Product(sku="Z", enabled=False, attributes={"color": 10**30, "size": "é\u0301"}),
)


def check(condition: Condition) -> None:
    """An accepted condition behaves: bools, the reference's answers, canonical round trips."""
    for product in PRODUCTS:
        result = condition.matches(product)
        if type(result) is not bool or result != evaluate(condition._node, product):
            raise AssertionError((condition, product.sku, result))
    if condition.select(PRODUCTS) != [p for p in PRODUCTS if condition.matches(p)]:
        raise AssertionError(condition)
    if Condition.parse(condition.to_text()) != condition:
        raise AssertionError(("text", condition))
    tree = json.loads(json.dumps(condition.to_tree(), allow_nan=False))
    if Condition.from_tree(tree) != condition:
        raise AssertionError(("tree", condition))


def test_one_input(data: bytes) -> None:
    """One libFuzzer input: a condition text, or a condition tree as JSON."""
    provider = atheris.FuzzedDataProvider(data)
    as_tree = provider.ConsumeBool()
    text = provider.ConsumeUnicode(provider.remaining_bytes())
    try:
        if as_tree:
            try:
                tree = json.loads(text)
            except (ValueError, RecursionError):
                return
            condition = Condition.from_tree(tree)
        else:
            condition = Condition.parse(text)
    except ConditionError:
        return
    check(condition)


def main() -> None:
    """Hand the target to libFuzzer with the command line's options."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
