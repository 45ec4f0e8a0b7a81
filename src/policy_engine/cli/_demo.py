"""``policy-engine demo``: the library at work on a bundled sample store.

The sample store (``policy_engine/data/sample_store.json``) holds a configuration with three
marketplace accounts (AliExpress, TikTok Shop, eBay) and two listing templates, a dozen products
covering the cases of the quantity, price and image rules (MSI sources, an unmanaged product, an
out-of-stock one, a missing price, a product without images or without stock data, a
not-visible-individually child), two product families (a configurable hoodie and a yoga kit
bundle), a batch of product changes, and a pricing edit to preview.

The demo prints, in order:

1. what each account lists for each product (quantity, price, images) and the rule that decided,
   then each product family as one listing with its variants or components;
2. for each product change, what each channel gets (upload, update, price/inventory update,
   delisting or nothing) and why;
3. the impact of the pricing edit, listing by listing, before it would be saved;
4. two marketplace orders imported (one created through an alternate SKU, one skipped with all
   its reasons), the created order's stock change applied to the store, the new quantity fanned
   out to every account (the ordering one included), and the product's sync history read back
   from an SQLite log in a temporary directory.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import attrs

from policy_engine._config import POLICY_CLASSES, Configuration, PolicyKind, set_policy
from policy_engine._families import ChildRole, FamilyOutcome, ProductFamily, evaluate_family
from policy_engine._listing import ListingOutcome, evaluate_listing, preview_change, sync_listing
from policy_engine._logs import SqliteSink, log_stock_sync, sync_history
from policy_engine._models import Product
from policy_engine._orders import ChannelOrder, OrderPlan, SkuResolver, plan_order
from policy_engine._serialization import structure, unstructure
from policy_engine._stock_sync import (
    ChannelListing,
    StockEvent,
    StockEventSource,
    StockSyncPlan,
    SyncHistoryRecord,
    apply_stock_changes,
    plan_stock_sync,
)
from policy_engine._sync import ChangeKind, Listing, ProductChange, SyncDecision
from policy_engine._validation import FrozenDict

__all__ = ["SampleStore", "evaluate", "load_sample_store", "run_demo"]


@attrs.frozen(kw_only=True)
class DemoChange:
    """A product change of the demo, naming its product by SKU."""

    title: str
    kind: ChangeKind
    sku: str
    changed: frozenset[str] = frozenset()
    listing: Listing | None = None


@attrs.frozen(kw_only=True)
class DemoEdit:
    """A policy edit to preview: replace policy ``id`` of ``kind`` with ``policy``."""

    title: str
    kind: PolicyKind
    id: str
    policy: FrozenDict[str, Any]


@attrs.frozen(kw_only=True)
class DemoOrders:
    """Marketplace orders of one account, and the channel listings of the store's products."""

    account: str
    at: datetime
    first_sequence: int
    orders: tuple[ChannelOrder, ...]
    listings: tuple[ChannelListing, ...]


@attrs.frozen(kw_only=True)
class SampleStore:
    """The bundled sample store."""

    today: date
    configuration: Configuration
    products: tuple[Product, ...]
    families: tuple[ProductFamily, ...] = ()
    changes: tuple[DemoChange, ...]
    preview: DemoEdit
    orders: DemoOrders

    def product(self, sku: str) -> Product:
        """The product with this SKU."""
        return next(product for product in self.products if product.sku == sku)


def load_sample_store() -> SampleStore:
    """Load the sample store bundled with the package."""
    text = resources.files("policy_engine.data").joinpath("sample_store.json").read_text("utf-8")
    return structure(json.loads(text), SampleStore)


def evaluate(store: SampleStore) -> list[ListingOutcome]:
    """What each account lists for each product, in product then account order."""
    return [
        evaluate_listing(store.configuration, product, account.id, on=store.today)
        for product in store.products
        for account in store.configuration.accounts
    ]


def evaluate_families(store: SampleStore) -> list[FamilyOutcome]:
    """What each account lists for each product family, in family then account order."""
    return [
        evaluate_family(store.configuration, family, account.id, on=store.today)
        for family in store.families
        for account in store.configuration.accounts
    ]


def decide(store: SampleStore) -> list[tuple[DemoChange, str, SyncDecision]]:
    """What each account's channel gets for each product change."""
    decisions: list[tuple[DemoChange, str, SyncDecision]] = []
    for demo in store.changes:
        change = ProductChange(
            kind=demo.kind,
            product=store.product(demo.sku),
            changed=demo.changed,
            listing=demo.listing,
        )
        decisions.extend(
            (demo, account.id, sync_listing(store.configuration, change, account.id))
            for account in store.configuration.accounts
        )
    return decisions


def edited(store: SampleStore) -> Configuration:
    """The configuration after the demo's policy edit."""
    edit = store.preview
    policy = structure(dict(edit.policy), POLICY_CLASSES[edit.kind])
    return set_policy(store.configuration, edit.kind, edit.id, policy)


@attrs.frozen(kw_only=True)
class OrderRun:
    """What importing the demo's orders did: plans, stock sync plans and the history read back."""

    plans: tuple[tuple[ChannelOrder, OrderPlan], ...]
    stock_syncs: tuple[StockSyncPlan, ...]
    history: tuple[SyncHistoryRecord, ...]


def import_orders(store: SampleStore, log_path: Path) -> OrderRun:
    """Import the orders, apply their stock changes, fan them out, log to ``log_path``."""
    config = store.configuration
    demo = store.orders
    account = config.account(demo.account)
    assert account.order_policy is not None  # the sample's ordering account imports orders
    policy = config.order_policies[account.order_policy]
    catalog = {product.sku: product for product in store.products}
    resolver = SkuResolver(catalog, policy.alternate_sku_attribute)
    plans = []
    syncs = []
    with SqliteSink(log_path) as sink:
        for offset, order in enumerate(demo.orders):
            plan = plan_order(order, policy, resolver, sequence=demo.first_sequence + offset)
            plans.append((order, plan))
            if not plan.create:
                continue
            catalog = dict(apply_stock_changes(catalog, plan.stock_changes))
            for sku in plan.stock_changes:
                stock = catalog[sku].stock
                assert stock is not None  # only products with stock get stock changes
                event = StockEvent(
                    sku=sku,
                    source=StockEventSource.CHANNEL_ORDER,
                    origin_account=account.id,
                    stock=stock,
                    at=demo.at,
                )
                sync = plan_stock_sync(event, demo.listings, config)
                log_stock_sync(sink, sync, config)
                syncs.append(sync)
    skus = {update.sku for sync in syncs for update in sync.updates}
    history = tuple(record for sku in sorted(skus) for record in sync_history(log_path, sku))
    return OrderRun(plans=tuple(plans), stock_syncs=tuple(syncs), history=history)


def _write_orders(out: TextIO, run: OrderRun) -> None:
    out.write("\n== Orders in, stock out: the store is the inventory master\n")
    for order, plan in run.plans:
        reasons = "; ".join(reason.message for reason in plan.reasons)
        if plan.create:
            lines = ", ".join(
                f"{line.qty} x {line.store_sku} (channel SKU {line.channel_sku})"
                for line in plan.lines
            )
            out.write(f"\norder {order.id}: created as {plan.store_order_id}: {lines}\n")
            changes = ", ".join(f"{sku} {change:+d}" for sku, change in plan.stock_changes.items())
            out.write(f"  store status {plan.store_status}; stock changes {changes}\n")
        else:
            out.write(f"\norder {order.id}: skipped\n")
        out.write(f"  why: {reasons}\n")
    for sync in run.stock_syncs:
        history = sync.history
        out.write(f"\nstock of {history.sku} changed ({history.source}): every account is told\n")
        for update in sync.updates:
            out.write(f"  {update.account:<14}sends quantity {update.quantity}\n")
        for skip in sync.skipped:
            out.write(f"  {skip.account:<14}nothing sent: {skip.reason.message}\n")
    out.write("\nsync history read back from the SQLite log (newest first):\n")
    for record in run.history:
        sent = ", ".join(f"{a}={q}" for a, q in record.sent.items()) or "-"
        skipped = ", ".join(f"{a} ({r})" for a, r in record.skipped.items()) or "-"
        out.write(
            f"  {record.at.isoformat()}  {record.sku}  {record.source}"
            f" from {record.origin_account}: sent {sent}; skipped {skipped}\n"
        )


def _last(steps: Any) -> str:
    return steps[-1].message if steps else ""


def _write_listings(out: TextIO, store: SampleStore, outcomes: list[ListingOutcome]) -> None:
    out.write("\n== What each account lists, and why\n")
    current = None
    for outcome in outcomes:
        if outcome.sku != current:
            current = outcome.sku
            out.write(f"\n{outcome.sku}  {store.product(outcome.sku).name}\n")
        account = f"  {outcome.account:<14}"
        pad = " " * len(account)
        if outcome.template is None:
            out.write(f"{account}not listed: {_last(outcome.reasons)}\n")
            continue
        quantity = outcome.quantity
        assert quantity is not None  # a listing with a template has a quantity
        out.write(
            f"{account}qty    {quantity.quantity:<6} [{quantity.rule}] {_last(quantity.steps)}"
            f"  (template {outcome.template})\n"
        )
        if outcome.price is not None:
            price = outcome.price
            out.write(f"{pad}price  {price.amount} {price.currency} ({_last(price.steps)})\n")
        for error in outcome.errors:
            out.write(f"{pad}{error.what:<6} ERROR {error.code}: {error.message}\n")
        images = outcome.images
        if images is not None:
            main = images.main or "-"
            out.write(f"{pad}images {len(images.images)} [{images.source}] main {main}\n")


def _write_families(out: TextIO, store: SampleStore, outcomes: list[FamilyOutcome]) -> None:
    out.write("\n== Product families: one listing each, with its variants or components\n")
    names = {family.parent.sku: family.parent.name for family in store.families}
    current = None
    for outcome in outcomes:
        if outcome.sku != current:
            current = outcome.sku
            out.write(f"\n{outcome.sku}  {names[outcome.sku]} ({outcome.kind})\n")
        account = f"  {outcome.account:<14}"
        pad = " " * len(account)
        if outcome.template is None:
            out.write(f"{account}not listed: {_last(outcome.reasons)}\n")
            continue
        price = (
            "no price"
            if outcome.price is None
            else (f"{outcome.price.amount} {outcome.price.currency}")
        )
        out.write(
            f"{account}listing qty {outcome.quantity}, price {price}"
            f"  (template {outcome.template})\n"
        )
        out.write(f"{pad}why    {_last(outcome.reasons)}\n")
        for error in outcome.errors:
            out.write(f"{pad}ERROR  {error.code}: {error.message}\n")
        for child in outcome.children:
            quantity = "-" if child.quantity is None else str(child.quantity.quantity)
            child_price = "-" if child.price is None else str(child.price.amount)
            values = ", ".join(f"{code} {value}" for code, value in child.variation.items())
            role = child.role.value if child.role is not ChildRole.EXCLUDED else "left out"
            out.write(
                f"{pad}  {child.sku:<14} {role:<9} qty {quantity:<4} price {child_price:<7}"
                f" {values if child.role is ChildRole.VARIANT else _last(child.reasons)}\n"
            )


def _write_decisions(out: TextIO, decisions: list[tuple[DemoChange, str, SyncDecision]]) -> None:
    out.write("\n== Product changes: what each channel gets, and why\n")
    current = None
    for demo, account, decision in decisions:
        if demo is not current:
            current = demo
            changed = f" ({', '.join(sorted(demo.changed))})" if demo.changed else ""
            out.write(f"\n{demo.sku}: {demo.title} [{demo.kind}{changed}]\n")
        fields = ", ".join(sorted(field.value for field in decision.fields)) or "-"
        reasons = "; ".join(reason.message for reason in decision.reasons)
        out.write(f"  {account:<14}{decision.action:<23} fields: {fields}\n")
        out.write(f"  {'':<14}why: {reasons}\n")


def _write_preview(out: TextIO, store: SampleStore, new: Configuration) -> None:
    changes = preview_change(store.configuration, new, store.products, on=store.today)
    out.write(f"\n== Preview of a policy edit: {store.preview.title}\n")
    out.write(f"{len(changes)} listing(s) would change:\n")
    for change in changes:
        out.write(
            f"  {change.sku:<15} {change.account:<14} {change.what:<9}"
            f" {_brief(change.before)} -> {_brief(change.after)}\n"
        )


def _brief(value: Any) -> str:
    if isinstance(value, Mapping) and "amount" in value:
        return f"{value['amount']} {value['currency']}"
    return json.dumps(value)


def run_demo(out: TextIO, *, as_json: bool = False) -> None:
    """Print the demo's outcomes to ``out`` (as text, or as one JSON document)."""
    store = load_sample_store()
    outcomes = evaluate(store)
    families = evaluate_families(store)
    decisions = decide(store)
    new = edited(store)
    with tempfile.TemporaryDirectory(prefix="policy-engine-demo-") as directory:
        run = import_orders(store, Path(directory) / "sync-log.sqlite3")
    if as_json:
        document = {
            "listings": unstructure(outcomes),
            "families": unstructure(families),
            "changes": [
                {"title": demo.title, "sku": demo.sku, "account": account, **unstructure(d)}
                for demo, account, d in decisions
            ],
            "preview": unstructure(
                preview_change(store.configuration, new, store.products, on=store.today)
            ),
            "orders": [unstructure(plan) for _, plan in run.plans],
            "stock_syncs": unstructure(run.stock_syncs),
            "history": unstructure(run.history),
        }
        json.dump(document, out, indent=2)
        out.write("\n")
        return
    accounts = store.configuration.accounts
    out.write(
        f"policy_engine demo: {len(store.products)} products, {len(accounts)} accounts,"
        f" prices as of {store.today.isoformat()}\n"
    )
    for account in accounts:
        out.write(f"  {account.id:<14}channel {account.channel}, sync '{account.sync_policy}'\n")
    for template in store.configuration.templates:
        condition = template.condition.to_text() if template.condition else "every product"
        out.write(
            f"  template {template.id!r}: {condition} -> inventory '{template.inventory_policy}',"
            f" pricing '{template.pricing_policy}', images '{template.image_policy}'\n"
        )
    _write_listings(out, store, outcomes)
    _write_families(out, store, families)
    _write_decisions(out, decisions)
    _write_preview(out, store, new)
    _write_orders(out, run)
