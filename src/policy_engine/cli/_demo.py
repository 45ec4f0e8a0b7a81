"""``policy-engine demo``: the library at work on a bundled sample store.

The sample store (``policy_engine/data/sample_store.json``) holds a dozen products covering the
cases of the quantity, price and image rules: MSI sources, an unmanaged product, an out-of-stock
one, a missing price attribute, a product without images, a product without stock data. Each of
two channels has its own inventory, pricing and image policy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from importlib import resources
from typing import Any, TextIO

import attrs

from policy_engine._errors import PricingError
from policy_engine._images import ImagePolicy, select_images
from policy_engine._inventory import InventoryPolicy, compute_quantity
from policy_engine._models import Product
from policy_engine._pricing import PricingPolicy, compute_price
from policy_engine._serialization import structure, unstructure

__all__ = ["SampleStore", "load_sample_store", "run_demo"]


@attrs.frozen(kw_only=True)
class ChannelPolicies:
    """The three listing policies one channel uses in the demo."""

    inventory_policy: InventoryPolicy
    pricing_policy: PricingPolicy
    image_policy: ImagePolicy


@attrs.frozen(kw_only=True)
class SampleStore:
    """The bundled sample store: channels with their policies, products and the demo's date."""

    channels: Mapping[str, ChannelPolicies]
    today: date
    products: tuple[Product, ...]


def load_sample_store() -> SampleStore:
    """Load the sample store bundled with the package."""
    text = resources.files("policy_engine.data").joinpath("sample_store.json").read_text("utf-8")
    return structure(json.loads(text), SampleStore)


def evaluate(store: SampleStore) -> list[dict[str, Any]]:
    """What each channel gets for each product: quantity, price and images, with their rules."""
    rows: list[dict[str, Any]] = []
    for product in store.products:
        for channel, policies in store.channels.items():
            quantity = compute_quantity(product.stock, policies.inventory_policy)
            row: dict[str, Any] = {
                "sku": product.sku,
                "channel": channel,
                "quantity": unstructure(quantity),
            }
            try:
                price = compute_price(product, policies.pricing_policy, on=store.today)
            except PricingError as error:
                row["price"] = {"error": str(error), "code": error.code}
            else:
                row["price"] = unstructure(price)
            row["images"] = unstructure(select_images(product, policies.image_policy))
            rows.append(row)
    return rows


def _last_message(result: Mapping[str, Any]) -> str:
    steps = result.get("steps") or []
    return str(steps[-1]["message"]) if steps else ""


def run_demo(out: TextIO, *, as_json: bool = False) -> None:
    """Print the demo's outcomes to ``out``."""
    store = load_sample_store()
    rows = evaluate(store)
    if as_json:
        json.dump(rows, out, indent=2)
        out.write("\n")
        return
    out.write(
        f"policy_engine demo: {len(store.products)} products x {len(store.channels)} channels"
        f" ({', '.join(store.channels)}), prices as of {store.today.isoformat()}\n"
    )
    for channel, policies in store.channels.items():
        out.write(
            f"  {channel}: inventory '{policies.inventory_policy.title}',"
            f" pricing '{policies.pricing_policy.title}', images '{policies.image_policy.title}'\n"
        )
    current = None
    for row in rows:
        if row["sku"] != current:
            current = row["sku"]
            product = next(p for p in store.products if p.sku == current)
            out.write(f"\n{product.sku}  {product.name}\n")
        quantity, price, images = row["quantity"], row["price"], row["images"]
        price_text = (
            f"price  ERROR {price['code']}: {price['error']}"
            if "error" in price
            else f"price  {price['amount']} {price['currency']} ({_last_message(price)})"
        )
        out.write(
            f"  {row['channel']:<11}qty    {quantity['quantity']:<6} [{quantity['rule']}]"
            f" {_last_message(quantity)}\n"
        )
        out.write(f"  {'':<11}{price_text}\n")
        main = images["main"] or "-"
        out.write(f"  {'':<11}images {len(images['images'])} [{images['source']}] main {main}\n")
