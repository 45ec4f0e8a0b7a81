"""Two-way quantity: an order from one channel lowers store stock, and every channel follows.

Spec section 10: the store is the master of inventory; an order from one channel lowers store
stock (section 9) and the new quantity goes to every channel, the ordering one included. These
tests run the whole chain: ``plan_order`` → ``apply_stock_changes`` → ``plan_stock_sync``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from policy_engine import (
    Account,
    ChannelListing,
    ChannelOrder,
    Configuration,
    ImagePolicy,
    InventoryPolicy,
    ListingTemplate,
    OrderLine,
    OrderPolicy,
    PricingPolicy,
    Product,
    QuantityRule,
    Stock,
    StockEvent,
    StockEventSource,
    StockUpdate,
    SyncPolicy,
    apply_stock_changes,
    compute_quantity,
    plan_order,
    plan_stock_sync,
)

PAID = "WAIT_SELLER_SEND_GOODS"
AT = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)

CONFIG = Configuration(
    sync_policies={
        "aliexpress": SyncPolicy(title="AliExpress", channel="aliexpress"),
        "tiktok": SyncPolicy(title="TikTok Shop", channel="tiktok"),
        "ebay": SyncPolicy(title="eBay", channel="ebay"),
    },
    inventory_policies={
        "store": InventoryPolicy(title="Store quantity"),
        "buffer": InventoryPolicy(title="Keep 2 back", buffer=2),
    },
    pricing_policies={"regular": PricingPolicy(title="Regular price")},
    image_policies={"images": ImagePolicy(title="Store images")},
    order_policies={
        "orders": OrderPolicy(title="Import", import_statuses=(PAID,), order_id_prefix="ALIEXP-")
    },
    templates=[
        ListingTemplate(
            id="store",
            title="Store quantity",
            inventory_policy="store",
            pricing_policy="regular",
            image_policy="images",
        ),
        ListingTemplate(
            id="buffer",
            title="Buffered",
            inventory_policy="buffer",
            pricing_policy="regular",
            image_policy="images",
        ),
    ],
    accounts=[
        Account(id="ae", channel="aliexpress", sync_policy="aliexpress", order_policy="orders"),
        Account(id="tt", channel="tiktok", sync_policy="tiktok"),
        Account(id="eb", channel="ebay", sync_policy="ebay"),
    ],
)

CATALOG = {
    "MJ01": Product(sku="MJ01", price=Decimal("45.00"), stock=Stock(qty=12)),
    "MJ02": Product(sku="MJ02", price=Decimal("52.00"), stock=Stock(qty=4)),
}

#: What each channel shows before the order: the quantities the store's 12 gave them.
LISTINGS = [
    ChannelListing(account="ae", sku="MJ01", template="store", last_quantity=12),
    ChannelListing(account="tt", sku="MJ01", template="buffer", last_quantity=10),
    ChannelListing(account="eb", sku="MJ01", template="store", last_quantity=12),
    ChannelListing(account="ae", sku="MJ02", template="store", last_quantity=4),
]


def _order(qty: int) -> ChannelOrder:
    line = OrderLine(sku="MJ01", qty=qty, price=Decimal("45.00"))
    return ChannelOrder(id="8123", status=PAID, lines=(line,))


def _chain(qty: int) -> tuple[Stock, list[StockUpdate]]:
    """Import an AliExpress order, apply it to store stock, plan the stock sync."""
    order_plan = plan_order(_order(qty), CONFIG.order_policies["orders"], CATALOG, sequence=1)
    assert order_plan.create
    catalog = apply_stock_changes(CATALOG, order_plan.stock_changes)
    stock = catalog["MJ01"].stock
    assert stock is not None
    event = StockEvent(
        sku="MJ01",
        source=StockEventSource.CHANNEL_ORDER,
        origin_account="ae",
        stock=stock,
        at=AT,
    )
    return stock, list(plan_stock_sync(event, LISTINGS, CONFIG).updates)


class TestOrderToEveryChannel:
    """The chain of spec section 10 on a three-channel store."""

    def test_every_channel_gets_the_new_quantity(self) -> None:
        """Two sold on AliExpress: the store has 10, and AliExpress, TikTok and eBay all follow."""
        stock, updates = _chain(2)
        assert stock == Stock(qty=10)
        assert updates == [
            StockUpdate(account="ae", sku="MJ01", quantity=10, rule=QuantityRule.STOCK),
            StockUpdate(account="tt", sku="MJ01", quantity=8, rule=QuantityRule.STOCK),
            StockUpdate(account="eb", sku="MJ01", quantity=10, rule=QuantityRule.STOCK),
        ]

    def test_sold_out_everywhere(self) -> None:
        """The last twelve sold on one channel: every channel, the ordering one too, shows 0."""
        stock, updates = _chain(12)
        assert stock.qty == 0
        assert [(u.account, u.quantity, u.rule) for u in updates] == [
            ("ae", 0, QuantityRule.OUT_OF_STOCK),
            ("tt", 0, QuantityRule.OUT_OF_STOCK),
            ("eb", 0, QuantityRule.OUT_OF_STOCK),
        ]

    def test_history_names_the_origin(self) -> None:
        """The history record names the ordering account and what each channel was sent."""
        order_plan = plan_order(_order(2), CONFIG.order_policies["orders"], CATALOG, sequence=1)
        stock = apply_stock_changes(CATALOG, order_plan.stock_changes)["MJ01"].stock
        assert stock is not None
        event = StockEvent(
            sku="MJ01", source="channel_order", origin_account="ae", stock=stock, at=AT
        )
        history = plan_stock_sync(event, LISTINGS, CONFIG).history
        assert (history.source, history.origin_account) == (
            StockEventSource.CHANNEL_ORDER,
            "ae",
        )
        assert history.sent == {"ae": 10, "tt": 8, "eb": 10}
        assert history.skipped == {}

    def test_other_products_untouched(self) -> None:
        """The order's stock changes touch only the ordered product."""
        order_plan = plan_order(_order(2), CONFIG.order_policies["orders"], CATALOG, sequence=1)
        catalog = apply_stock_changes(CATALOG, order_plan.stock_changes)
        assert catalog["MJ02"] is CATALOG["MJ02"]

    @given(st.integers(min_value=1, max_value=30))
    def test_every_channel_follows_any_order(self, qty: int) -> None:
        """Whatever the ordered quantity, each channel whose quantity changes is updated with
        its own policy's quantity of the new stock, the ordering channel included."""
        stock, updates = _chain(qty)
        assert stock.qty == 12 - qty
        sent = {update.account: update.quantity for update in updates}
        for listing in LISTINGS[:3]:
            assert listing.template is not None
            template = CONFIG.template(listing.template)
            assert template is not None
            policy = CONFIG.inventory_policies[template.inventory_policy]
            expected = compute_quantity(stock, policy).quantity
            if expected != listing.last_quantity:
                assert sent[listing.account] == expected
            else:
                assert listing.account not in sent
        assert "ae" in sent
