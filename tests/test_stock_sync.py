"""Stock events and Auto Sync: ``plan_stock_sync`` and ``apply_stock_changes`` (spec section 10)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine import (
    Account,
    ChannelDefinition,
    ChannelListing,
    Configuration,
    FrozenDict,
    ImagePolicy,
    InventoryPolicy,
    ListingTemplate,
    PolicyConfigError,
    PricingPolicy,
    Product,
    QuantityRule,
    SourceItem,
    Step,
    Stock,
    StockEvent,
    StockEventSource,
    StockSkip,
    StockSyncPlan,
    StockUpdate,
    SyncField,
    SyncHistoryRecord,
    SyncPolicy,
    Threshold,
    apply_stock_changes,
    compute_quantity,
    plan_stock_sync,
    structure,
    unstructure,
)
from policy_engine.testing import (
    channel_listings,
    config_listings,
    configurations,
    stock_events,
    stocks,
)

AT = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
SKU = "MJ01"

CONFIG = Configuration(
    sync_policies={
        "sync": SyncPolicy(title="Default"),
        "revise": SyncPolicy(title="Revise above 10", quantity_revise_threshold=10),
        "no-inventory": SyncPolicy(title="No inventory", inventory_price_sync=False),
        "no-quantity": SyncPolicy(
            title="Prices only", channel="ebay", fields=[SyncField.PRICE, SyncField.TITLE]
        ),
    },
    inventory_policies={
        "store": InventoryPolicy(title="Store quantity"),
        "threshold": InventoryPolicy(
            title="Threshold", threshold=Threshold(value=10, above=20, below=2)
        ),
        "buffer": InventoryPolicy(title="Buffer 5", buffer=5),
    },
    pricing_policies={"regular": PricingPolicy(title="Regular")},
    image_policies={"images": ImagePolicy(title="Images")},
    templates=[
        ListingTemplate(
            id=template_id,
            title=template_id.title(),
            inventory_policy=template_id,
            pricing_policy="regular",
            image_policy="images",
        )
        for template_id in ("store", "threshold", "buffer")
    ],
    accounts=[
        Account(id="ae", channel="aliexpress", sync_policy="sync"),
        Account(id="tt", channel="tiktok", sync_policy="revise"),
        Account(id="eb", channel="ebay", sync_policy="no-inventory"),
        Account(id="eb2", channel="ebay", sync_policy="no-quantity"),
        Account(id="shop", channel="my-shop", sync_policy="sync"),
        Account(id="shop2", channel="price-feed", sync_policy="sync"),
    ],
    channels={
        "my-shop": ChannelDefinition(fields=[SyncField.QUANTITY, SyncField.PRICE]),
        "price-feed": ChannelDefinition(fields=[SyncField.PRICE]),
    },
)


def _event(qty: int = 18, **changes: Any) -> StockEvent:
    fields: dict[str, Any] = {
        "sku": SKU,
        "source": StockEventSource.MANUAL_ADJUSTMENT,
        "stock": Stock(qty=qty),
        "at": AT,
    }
    fields.update(changes)
    return StockEvent(**fields)


def _listing(account: str = "ae", **changes: Any) -> ChannelListing:
    fields: dict[str, Any] = {"account": account, "sku": SKU, "template": "store"}
    fields.update(changes)
    return ChannelListing(**fields)


def _only_skip(plan: StockSyncPlan) -> StockSkip:
    assert plan.updates == ()
    (skip,) = plan.skipped
    return skip


class TestSkipReasons:
    """Each skip reason of spec section 10, with the code in the plan and in the history."""

    def test_not_listed(self) -> None:
        """A listing that is not live on the channel gets nothing (``not_listed``)."""
        skip = _only_skip(plan_stock_sync(_event(), [_listing(listed=False)], CONFIG))
        assert skip == StockSkip(account="ae", sku=SKU, reason=Step(("not_listed",)))

    def test_auto_sync_off(self) -> None:
        """A listing with Auto Sync off is not overridden by the store (``auto_sync_off``)."""
        skip = _only_skip(plan_stock_sync(_event(), [_listing(auto_sync=False)], CONFIG))
        assert skip.reason == Step(("auto_sync_off",))
        assert "Auto Sync is off" in skip.reason.message

    def test_no_template(self) -> None:
        """A listing without template has no inventory policy (``no_template``, arg ``None``)."""
        skip = _only_skip(plan_stock_sync(_event(), [_listing(template=None)], CONFIG))
        assert skip.reason == Step(("no_template", None))
        assert skip.reason.message.endswith("(the listing's template: None)")

    def test_template_not_in_the_configuration(self) -> None:
        """A template id the configuration lacks is ``no_template`` naming the id, not an error."""
        skip = _only_skip(plan_stock_sync(_event(), [_listing(template="retired")], CONFIG))
        assert skip.reason == Step(("no_template", "retired"))
        assert "retired" in skip.reason.message

    def test_inventory_price_sync_off(self) -> None:
        """An account whose policy has Inventory/Price Sync off gets no quantity."""
        skip = _only_skip(plan_stock_sync(_event(), [_listing("eb")], CONFIG))
        assert skip.reason == Step(("inventory_price_sync_disabled", "quantity"))

    def test_quantity_not_among_the_policy_fields(self) -> None:
        """A policy whose ``fields`` leave out quantity lacks inventory sync too."""
        skip = _only_skip(plan_stock_sync(_event(), [_listing("eb2")], CONFIG))
        assert skip.reason.code == "inventory_price_sync_disabled"

    def test_custom_channel_without_quantity(self) -> None:
        """A custom channel that does not take quantities lacks inventory sync."""
        skip = _only_skip(plan_stock_sync(_event(), [_listing("shop2")], CONFIG))
        assert skip.reason.code == "inventory_price_sync_disabled"

    def test_unchanged(self) -> None:
        """The quantity the channel already shows is not sent again (``unchanged``)."""
        skip = _only_skip(plan_stock_sync(_event(18), [_listing(last_quantity=18)], CONFIG))
        assert skip.reason == Step(("unchanged", 18))
        assert skip.reason.message == "the channel already shows 18: nothing to send"

    def test_above_revise_threshold(self) -> None:
        """Last and new quantity both above the revise threshold: not revised."""
        plan = plan_stock_sync(_event(18), [_listing("tt", last_quantity=25)], CONFIG)
        skip = _only_skip(plan)
        assert skip.reason == Step(("above_revise_threshold", 25, 18, 10))
        assert plan.history.skipped == {"tt": "above_revise_threshold"}


class TestReviseThreshold:
    """``quantity_revise_threshold`` skips only while both quantities are above it."""

    @pytest.mark.parametrize(
        ("last", "qty"),
        [(None, 18), (10, 18), (25, 10), (25, 3), (11, 0)],
        ids=["no-last", "last-at-threshold", "new-at-threshold", "new-below", "sold-out"],
    )
    def test_updates_when_not_both_above(self, last: int | None, qty: int) -> None:
        """An unknown last quantity or one side at or below the threshold sends the update."""
        plan = plan_stock_sync(_event(qty), [_listing("tt", last_quantity=last)], CONFIG)
        assert plan.updates == (StockUpdate(account="tt", sku=SKU, quantity=qty, rule=_rule(qty)),)

    def test_threshold_zero(self) -> None:
        """With threshold 0 only a change to or from 0 is sent."""
        config = attrs.evolve(
            CONFIG,
            sync_policies={
                **CONFIG.sync_policies,
                "revise": SyncPolicy(title="Zero", quantity_revise_threshold=0),
            },
        )
        assert _only_skip(plan_stock_sync(_event(5), [_listing("tt", last_quantity=3)], config))
        plan = plan_stock_sync(_event(0), [_listing("tt", last_quantity=3)], config)
        assert [update.quantity for update in plan.updates] == [0]


def _rule(qty: int) -> QuantityRule:
    return QuantityRule.STOCK if qty > 0 else QuantityRule.OUT_OF_STOCK


class TestRulesInOrder:
    """The first rule that applies gives the reason (spec section 10's order)."""

    def test_not_listed_comes_first(self) -> None:
        """A listing that is not listed, has Auto Sync off and no template is ``not_listed``."""
        listing = _listing("eb", listed=False, auto_sync=False, template=None)
        assert _only_skip(plan_stock_sync(_event(), [listing], CONFIG)).reason.code == "not_listed"

    def test_auto_sync_before_template(self) -> None:
        """Auto Sync off is reported before a missing template."""
        listing = _listing("eb", auto_sync=False, template=None)
        skip = _only_skip(plan_stock_sync(_event(), [listing], CONFIG))
        assert skip.reason.code == "auto_sync_off"

    def test_template_before_sync_policy(self) -> None:
        """A missing template is reported before the account's policy."""
        skip = _only_skip(plan_stock_sync(_event(), [_listing("eb", template=None)], CONFIG))
        assert skip.reason.code == "no_template"

    @pytest.mark.parametrize("account", ["eb", "eb2", "shop2"])
    def test_deleted_template_before_sync_policy(self, account: str) -> None:
        """A template id the configuration lacks is ``no_template`` before the account's policy."""
        listing = _listing(account, template="retired")
        skip = _only_skip(plan_stock_sync(_event(), [listing], CONFIG))
        assert skip.reason == Step(("no_template", "retired"))

    def test_sync_policy_before_quantity(self) -> None:
        """Inventory/Price Sync off is reported even when the quantity is unchanged."""
        listing = _listing("eb", last_quantity=18)
        skip = _only_skip(plan_stock_sync(_event(18), [listing], CONFIG))
        assert skip.reason.code == "inventory_price_sync_disabled"

    def test_unchanged_before_threshold(self) -> None:
        """An unchanged quantity above the revise threshold is ``unchanged``."""
        skip = _only_skip(plan_stock_sync(_event(18), [_listing("tt", last_quantity=18)], CONFIG))
        assert skip.reason.code == "unchanged"


class TestQuantities:
    """The quantity sent is the template's inventory policy applied to the event's stock."""

    @pytest.mark.parametrize(("qty", "expected"), [(11, 20), (10, 10), (9, 2)])
    def test_threshold_seed_example(self, qty: int, expected: int) -> None:
        """Threshold 10 / above 20 / below 2: 11 or more syncs 20, exactly 10 syncs 10, 9 syncs 2."""
        plan = plan_stock_sync(_event(qty), [_listing(template="threshold")], CONFIG)
        assert [update.quantity for update in plan.updates] == [expected]

    def test_buffer_seed_example(self) -> None:
        """Buffer 5 with 18 in stock syncs 13, with the rule that decided it."""
        plan = plan_stock_sync(_event(18), [_listing(template="buffer")], CONFIG)
        assert plan.updates == (
            StockUpdate(account="ae", sku=SKU, quantity=13, rule=QuantityRule.STOCK),
        )

    def test_each_listing_uses_its_own_template(self) -> None:
        """Listings on several accounts get their own template's quantity, in listing order."""
        listings = [
            _listing("ae", template="buffer"),
            _listing("tt", template="threshold"),
            _listing("shop", template="store"),
        ]
        plan = plan_stock_sync(_event(18), listings, CONFIG)
        assert [(u.account, u.quantity, u.rule) for u in plan.updates] == [
            ("ae", 13, QuantityRule.STOCK),
            ("tt", 20, QuantityRule.ABOVE_THRESHOLD),
            ("shop", 18, QuantityRule.STOCK),
        ]
        assert plan.history.sent == {"ae": 13, "tt": 20, "shop": 18}

    def test_unmanaged_stock_gives_the_default_quantity(self) -> None:
        """The event's stock goes through compute_quantity whole (here: not managed)."""
        event = _event(stock=Stock(qty=3, manage_stock=False))
        plan = plan_stock_sync(event, [_listing()], CONFIG)
        assert plan.updates[0].rule is QuantityRule.STOCK_NOT_MANAGED

    def test_out_of_stock_sends_zero(self) -> None:
        """A sold-out product sends 0 so no channel oversells."""
        event = _event(stock=Stock(qty=0, in_stock=False))
        plan = plan_stock_sync(event, [_listing(last_quantity=1)], CONFIG)
        assert plan.updates == (
            StockUpdate(account="ae", sku=SKU, quantity=0, rule=QuantityRule.OUT_OF_STOCK),
        )


class TestPlan:
    """What the plan and its history hold."""

    def test_history_record(self) -> None:
        """One history record: SKU, source, time, origin, quantities sent and skip codes."""
        event = _event(source=StockEventSource.CHANNEL_ORDER, origin_account="ae")
        listings = [_listing("ae"), _listing("eb"), _listing("tt", listed=False)]
        history = plan_stock_sync(event, listings, CONFIG).history
        assert history == SyncHistoryRecord(
            sku=SKU,
            source=StockEventSource.CHANNEL_ORDER,
            at=AT,
            origin_account="ae",
            sent=FrozenDict({"ae": 18}),
            skipped=FrozenDict({"eb": "inventory_price_sync_disabled", "tt": "not_listed"}),
        )

    def test_history_without_listings(self) -> None:
        """An event with no listing of the SKU still has its one, empty, history record."""
        plan = plan_stock_sync(_event(), [], CONFIG)
        assert plan.updates == ()
        assert plan.skipped == ()
        assert plan.history.sent == {}
        assert plan.history.skipped == {}
        assert plan.history.at == AT

    def test_other_skus_are_ignored(self) -> None:
        """Listings of other SKUs are neither updated nor skipped, and may name any account."""
        listings = [
            _listing("ae", sku="OTHER"),
            _listing("tt"),
            _listing("nowhere", sku="OTHER"),
        ]
        plan = plan_stock_sync(_event(), listings, CONFIG)
        assert [update.account for update in plan.updates] == ["tt"]
        assert plan.skipped == ()

    def test_any_iterable_of_listings(self) -> None:
        """A generator of listings gives the same plan as a list."""

        def listings() -> Iterator[ChannelListing]:
            yield _listing("ae")
            yield _listing("tt", last_quantity=18)

        assert plan_stock_sync(_event(), listings(), CONFIG) == plan_stock_sync(
            _event(), list(listings()), CONFIG
        )

    def test_unknown_account_is_an_error(self) -> None:
        """A listing of the SKU on an account the configuration lacks is a caller error."""
        listings = [_listing("ae"), _listing("gone"), _listing("ae", sku="OTHER")]
        with pytest.raises(PolicyConfigError) as caught:
            plan_stock_sync(_event(), listings, CONFIG)
        assert caught.value.errors == [
            "unknown account 'gone' (known: ae, eb, eb2, shop, shop2, tt) @ $.listings[1].account"
        ]

    def test_every_listing_problem_at_once(self) -> None:
        """Unknown and repeated accounts are all reported in one error."""
        listings = [_listing("x"), _listing("ae"), _listing("ae"), _listing("y")]
        with pytest.raises(PolicyConfigError) as caught:
            plan_stock_sync(_event(), iter(listings), CONFIG)
        assert caught.value.errors == [
            "unknown account 'x' (known: ae, eb, eb2, shop, shop2, tt) @ $.listings[0].account",
            "a second listing of SKU 'MJ01' on account 'ae' @ $.listings[2].account",
            "unknown account 'y' (known: ae, eb, eb2, shop, shop2, tt) @ $.listings[3].account",
        ]

    def test_repeated_account_is_an_error(self) -> None:
        """Two listings of the SKU on one account cannot both be planned: a caller error."""
        listings = [_listing("ae"), _listing("tt"), _listing("ae", template="buffer")]
        with pytest.raises(PolicyConfigError) as caught:
            plan_stock_sync(_event(), listings, CONFIG)
        assert caught.value.errors == [
            "a second listing of SKU 'MJ01' on account 'ae' @ $.listings[2].account"
        ]

    def test_repeated_account_updated_and_skipped(self) -> None:
        """A repeated account is an error even when one listing is updated and the other not."""
        listings = [_listing("ae"), _listing("ae", listed=False)]
        with pytest.raises(PolicyConfigError, match=r"a second listing of SKU 'MJ01' on account"):
            plan_stock_sync(_event(), listings, CONFIG)

    def test_configuration_without_accounts(self) -> None:
        """With no accounts at all the message says so."""
        with pytest.raises(PolicyConfigError, match=r"known: none defined"):
            plan_stock_sync(_event(), [_listing()], Configuration())

    def test_the_ordering_account_is_updated(self) -> None:
        """An order's origin account gets the new quantity like every other account."""
        event = _event(12, source="channel_order", origin_account="ae")
        plan = plan_stock_sync(event, [_listing("ae", last_quantity=14)], CONFIG)
        assert [(u.account, u.quantity) for u in plan.updates] == [("ae", 12)]

    def test_plan_pickles(self) -> None:
        """A plan survives pickling (for process pools)."""
        plan = plan_stock_sync(_event(), [_listing("ae"), _listing("eb")], CONFIG)
        assert pickle.loads(pickle.dumps(plan)) == plan


class TestLoading:
    """Stock events and listings load from JSON strictly, with every problem at once."""

    def test_event_from_json(self) -> None:
        """An event loads from JSON with an ISO date-time carrying an offset (``Z`` too)."""
        event = structure(
            {
                "sku": SKU,
                "source": "channel_order",
                "origin_account": "ae",
                "stock": {"qty": "12.0"},
                "at": "2024-05-01T09:30:00Z",
            },
            StockEvent,
        )
        assert event == _event(12, source="channel_order", origin_account="ae")

    def test_event_problems(self) -> None:
        """A naive time, an unknown source and a typo are reported together with their paths."""
        with pytest.raises(PolicyConfigError) as caught:
            structure(
                {"sku": "", "source": "pos", "stok": {}, "at": "2024-05-01T09:30:00"},
                StockEvent,
            )
        assert caught.value.errors == [
            "must not be empty @ $.sku",
            (
                "must be one of 'sales_order', 'purchase_order', 'work_order',"
                " 'manual_adjustment', 'file_upload', 'inventory_feed', 'channel_order'"
                " (got 'pos') @ $.source"
            ),
            "required field missing @ $.stock",
            "must include a time zone offset (e.g. 2024-05-01T09:30:00+00:00) @ $.at",
            "unknown field (did you mean 'stock'?) @ $.stok",
        ]

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("yesterday", "expected an ISO date-time (YYYY-MM-DDTHH:MM:SS+HH:MM), got 'yesterday'"),
            (1714555800, "expected an ISO date-time, got an integer"),
        ],
    )
    def test_bad_times(self, value: object, message: str) -> None:
        """A time that is not an ISO date-time string is an error naming it."""
        data = {"sku": SKU, "source": "file_upload", "stock": {}, "at": value}
        with pytest.raises(PolicyConfigError) as caught:
            structure(data, StockEvent)
        assert caught.value.errors == [f"{message} @ $.at"]

    def test_naive_datetime_in_python(self) -> None:
        """Built in Python, a naive time is refused as well (it could not be ordered)."""
        with pytest.raises(PolicyConfigError, match=r"time zone offset \(.*\) @ \$\.at"):
            _event(at=datetime(2024, 5, 1))  # noqa: DTZ001 - the point of the test
        with pytest.raises(PolicyConfigError, match=r"expected a date-time, got a string"):
            _event(at="2024-05-01")

    def test_python_construction_checks(self) -> None:
        """Built in Python, an event or listing runs the same checks as when loaded."""
        with pytest.raises(PolicyConfigError) as caught:
            _event(source="pos", stock={"qty": 1}, origin_account="")
        assert caught.value.errors == [
            (
                "must be one of 'sales_order', 'purchase_order', 'work_order',"
                " 'manual_adjustment', 'file_upload', 'inventory_feed', 'channel_order'"
                " (got 'pos') @ $.source"
            ),
            "must not be empty @ $.origin_account",
            "expected a stock record, got an object @ $.stock",
        ]
        with pytest.raises(PolicyConfigError, match=r"expected an integer, got a string"):
            _listing(last_quantity="3")

    def test_loading_keeps_a_datetime(self) -> None:
        """Data that already holds an aware datetime loads as it is."""
        data = unstructure(_event())
        data["at"] = AT
        assert structure(data, StockEvent) == _event()

    def test_listing_from_json(self) -> None:
        """A listing loads with its defaults; ``last_quantity`` must be an int >= 0."""
        assert structure({"account": "ae", "sku": SKU}, ChannelListing) == ChannelListing(
            account="ae", sku=SKU
        )
        with pytest.raises(PolicyConfigError) as caught:
            structure(
                {"account": "", "sku": SKU, "last_quantity": -1, "auto_sync": 1, "template": ""},
                ChannelListing,
            )
        assert caught.value.errors == [
            "must not be empty @ $.account",
            "must not be empty @ $.template",
            "expected a boolean, got an integer @ $.auto_sync",
            "must be >= 0 (got -1) @ $.last_quantity",
        ]

    def test_history_record_needs_an_offset(self) -> None:
        """A history record read back from JSON must carry a time zone offset too."""
        data = unstructure(plan_stock_sync(_event(), [], CONFIG).history)
        data["at"] = "2024-05-01T09:30:00"
        with pytest.raises(PolicyConfigError, match=r"time zone offset \(.*\) @ \$\.at"):
            structure(data, SyncHistoryRecord)

    def test_plan_json(self) -> None:
        """A plan dumps to plain JSON: rules and sources as strings, reasons as objects."""
        plan = plan_stock_sync(_event(), [_listing("ae"), _listing("eb")], CONFIG)
        assert unstructure(plan) == {
            "updates": [
                {
                    "account": "ae",
                    "sku": SKU,
                    "quantity": 18,
                    "rule": "stock",
                    "variant_of": None,
                    "action": "update_price_inventory",
                    "next_status": None,
                }
            ],
            "skipped": [
                {
                    "account": "eb",
                    "sku": SKU,
                    "reason": {
                        "code": "inventory_price_sync_disabled",
                        "args": ["quantity"],
                        "message": "Inventory/Price Sync is off: quantity not sent",
                    },
                }
            ],
            "history": {
                "sku": SKU,
                "source": "manual_adjustment",
                "at": "2024-05-01T09:30:00+00:00",
                "origin_account": None,
                "sent": {"ae": 18},
                "skipped": {"eb": "inventory_price_sync_disabled"},
            },
            "stops": [],
        }


class TestApplyStockChanges:
    """``apply_stock_changes``: an order plan's stock changes applied to the store's stock."""

    CATALOG: FrozenDict[str, Product] = FrozenDict(
        {
            "MJ01": Product(sku="MJ01", stock=Stock(qty=12)),
            "MJ02": Product(
                sku="MJ02",
                stock=Stock(qty=0, sources=[SourceItem(code="us", qty=8)], reserved=-1),
            ),
            "MJ03": Product(sku="MJ03"),
            "MJ04": Product(sku="MJ04", stock=Stock(qty=5, manage_stock=False)),
        }
    )

    def test_products(self) -> None:
        """Changed products get new stock; the others are the same objects, in the same order."""
        changed = apply_stock_changes(self.CATALOG, {"MJ01": -2, "MJ03": -1, "MJ04": -1})
        assert list(changed) == ["MJ01", "MJ02", "MJ03", "MJ04"]
        assert changed["MJ01"] == Product(sku="MJ01", stock=Stock(qty=10))
        assert changed["MJ02"] is self.CATALOG["MJ02"]
        assert changed["MJ03"] is self.CATALOG["MJ03"]  # no stock record: nothing to count
        assert changed["MJ04"] is self.CATALOG["MJ04"]  # stock not managed
        assert self.CATALOG["MJ01"].stock == Stock(qty=12)  # nothing changed in place
        assert isinstance(changed, FrozenDict)

    def test_msi_reservation(self) -> None:
        """A stock with MSI sources gets a reservation: its salable quantity drops at once."""
        changed = apply_stock_changes(self.CATALOG, {"MJ02": -3})
        stock = changed["MJ02"].stock
        assert stock == Stock(qty=-3, sources=[SourceItem(code="us", qty=8)], reserved=-4)

    def test_stock_mapping(self) -> None:
        """A mapping of SKU → Stock works the same way."""
        stock = {"A": Stock(qty=3), "B": Stock(qty=1, manage_stock=False), "C": Stock(qty=4)}
        changed = apply_stock_changes(stock, {"A": -1, "B": -1, "C": 0})
        assert changed == {"A": Stock(qty=2), "B": stock["B"], "C": stock["C"]}
        assert changed["C"] is stock["C"]

    def test_problems(self) -> None:
        """Unknown SKUs and non-integer changes are reported together; nothing is applied."""
        with pytest.raises(PolicyConfigError) as caught:
            apply_stock_changes(self.CATALOG, {"NOPE": -1, "MJ01": 1.5, "MJ03": True})  # type: ignore[dict-item]
        assert caught.value.errors == [
            "SKU 'NOPE' is not in the catalog @ $.stock_changes.NOPE",
            "expected an integer, got a number @ $.stock_changes.MJ01",
            "expected an integer, got a boolean @ $.stock_changes.MJ03",
        ]

    @given(stocks(), st.integers(min_value=-50, max_value=50))
    def test_quantity_moves_by_the_change(self, stock: Stock, change: int) -> None:
        """A managed stock's ``qty`` moves by exactly the change; an unmanaged one stays."""
        changed = apply_stock_changes({"S": stock}, {"S": change})["S"]
        if stock.manage_stock:
            assert changed.qty == stock.qty + change
            assert changed.reserved == stock.reserved + (change if stock.sources else 0)
            assert changed.sources == stock.sources
        else:
            assert changed is stock


class TestProperties:
    """Invariants of spec section 10 over generated configurations, events and listings."""

    @settings(max_examples=25)
    @given(st.data())
    def test_never_updates_auto_sync_off_or_not_listed(self, data: st.DataObject) -> None:
        """ "plan_stock_sync never plans an update for a listing with auto sync off or not listed"."""
        config = data.draw(configurations(max_accounts=3))
        event = data.draw(stock_events())
        listings = data.draw(config_listings(config, event.sku))
        plan = plan_stock_sync(event, listings, config)
        blocked = {
            listing.account
            for listing in listings
            if listing.sku == event.sku and not (listing.listed and listing.auto_sync)
        }
        assert blocked.isdisjoint(update.account for update in plan.updates)
        assert blocked <= set(plan.history.skipped)

    @settings(max_examples=25)
    @given(st.data())
    def test_repeated_event_plans_no_update(self, data: st.DataObject) -> None:
        """ "A repeated event with ``last_quantity`` set to what was just planned plans no update"."""
        config = data.draw(configurations(max_accounts=3))
        event = data.draw(stock_events())
        listings = data.draw(config_listings(config, event.sku))
        first = plan_stock_sync(event, listings, config)
        sent = first.history.sent
        repeated = [
            attrs.evolve(listing, last_quantity=sent[listing.account])
            if listing.sku == event.sku and listing.account in sent
            else listing
            for listing in listings
        ]
        second = plan_stock_sync(event, repeated, config)
        assert second.updates == ()
        assert {skip.account for skip in second.skipped if skip.reason.code == "unchanged"} == set(
            sent
        )

    @settings(max_examples=25)
    @given(st.data())
    def test_every_listing_once(self, data: st.DataObject) -> None:
        """Every listing of the SKU is either updated or skipped, once; the history mirrors it."""
        config = data.draw(configurations(max_accounts=3))
        event = data.draw(stock_events())
        listings = data.draw(config_listings(config, event.sku))
        plan = plan_stock_sync(event, listings, config)
        own = [listing.account for listing in listings if listing.sku == event.sku]
        planned = [u.account for u in plan.updates] + [s.account for s in plan.skipped]
        assert sorted(planned) == sorted(own)
        assert plan.history.sent == {u.account: u.quantity for u in plan.updates}
        assert plan.history.skipped == {s.account: s.reason.code for s in plan.skipped}
        assert all(skip.reason.message for skip in plan.skipped)

    @settings(max_examples=25)
    @given(st.data())
    def test_updates_follow_the_template_policy(self, data: st.DataObject) -> None:
        """Every update is ``compute_quantity`` of the template's inventory policy, and differs
        from the last quantity sent."""
        config = data.draw(configurations(max_accounts=3))
        event = data.draw(stock_events())
        listings = data.draw(config_listings(config, event.sku, listed=True, auto_sync=True))
        plan = plan_stock_sync(event, listings, config)
        by_account = {listing.account: listing for listing in listings if listing.sku == event.sku}
        for update in plan.updates:
            listing = by_account[update.account]
            assert listing.template is not None
            template = config.template(listing.template)
            assert template is not None
            policy = config.inventory_policies[template.inventory_policy]
            expected = compute_quantity(event.stock, policy)
            assert (update.quantity, update.rule) == (expected.quantity, expected.rule)
            assert update.quantity != listing.last_quantity


class TestRoundTrips:
    """``structure(unstructure(x), type(x)) == x`` for every model of this section."""

    @given(stock_events())
    def test_stock_events(self, event: StockEvent) -> None:
        """Stock events round-trip."""
        assert structure(unstructure(event), StockEvent) == event

    @given(channel_listings())
    def test_channel_listings(self, listing: ChannelListing) -> None:
        """Channel listings round-trip."""
        assert structure(unstructure(listing), ChannelListing) == listing

    @settings(max_examples=20)
    @given(st.data())
    def test_plans_and_their_parts(self, data: st.DataObject) -> None:
        """Plans, updates, skips and history records round-trip."""
        config = data.draw(configurations(max_accounts=3))
        event = data.draw(stock_events())
        plan = plan_stock_sync(event, data.draw(config_listings(config, event.sku)), config)
        assert structure(unstructure(plan), StockSyncPlan) == plan
        assert structure(unstructure(plan.history), SyncHistoryRecord) == plan.history
        for part in (*plan.updates, *plan.skipped):
            assert structure(unstructure(part), type(part)) == part

    def test_offsets_survive(self) -> None:
        """A time with a non-UTC offset keeps its offset through JSON."""
        at = datetime(2024, 5, 1, 11, 30, tzinfo=timezone(timedelta(hours=2)))
        event = _event(at=at)
        loaded = structure(unstructure(event), StockEvent)
        assert loaded.at.utcoffset() == timedelta(hours=2)
        assert loaded == event


class TestStrategies:
    """The strategies in ``policy_engine.testing`` honour their options."""

    @given(stock_events(sku="X", source="channel_order", stock=Stock(qty=1)))
    def test_pinned_event(self, event: StockEvent) -> None:
        """Pinned fields are what was asked; a channel order always has an origin account."""
        assert (event.sku, event.source, event.stock) == ("X", "channel_order", Stock(qty=1))
        assert event.origin_account is not None
        assert event.at.utcoffset() is not None

    @given(channel_listings(listed=False, auto_sync=True, template=None, last_quantity=3))
    def test_pinned_listing(self, listing: ChannelListing) -> None:
        """Pinned listing fields are what was asked."""
        assert (listing.listed, listing.auto_sync, listing.template, listing.last_quantity) == (
            False,
            True,
            None,
            3,
        )

    @settings(max_examples=15)
    @given(st.data())
    def test_config_listings(self, data: st.DataObject) -> None:
        """At most one listing of the SKU per account, on the configuration's accounts."""
        config = data.draw(configurations(max_accounts=3))
        listings = data.draw(config_listings(config, "S", other_skus=False))
        accounts = [listing.account for listing in listings]
        assert all(listing.sku == "S" for listing in listings)
        assert len(set(accounts)) == len(accounts)
        assert set(accounts) <= {account.id for account in config.accounts}


class TestExactBehaviour:
    """Paths, arguments and boundaries pinned one by one (found by mutation testing)."""

    def test_listing_of_another_sku_before_a_problem_is_passed_over(self) -> None:
        """A listing of another SKU before an unknown account does not stop the check."""
        listings = [_listing("ae", sku="OTHER"), _listing("gone")]
        with pytest.raises(PolicyConfigError) as caught:
            plan_stock_sync(_event(), listings, CONFIG)
        assert caught.value.errors == [
            "unknown account 'gone' (known: ae, eb, eb2, shop, shop2, tt) @ $.listings[1].account"
        ]

    def test_unhashable_source_is_reported(self) -> None:
        """A source given as a list is reported as a wrong value, not a crash."""
        with pytest.raises(PolicyConfigError) as caught:
            _event(source=[1])
        sources = "', '".join(source.value for source in StockEventSource)
        assert caught.value.errors == [f"must be one of '{sources}' (got [1]) @ $.source"]
