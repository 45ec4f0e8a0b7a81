"""The listing lifecycle: statuses, list/stop/relist rules and each channel's zero rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import frozen_sync
from policy_engine import (
    BUILTIN_CHANNELS,
    ChannelListing,
    ChannelProfile,
    Condition,
    ConditionError,
    Configuration,
    Listing,
    ListingState,
    ListingStatus,
    ListingTemplate,
    PolicyConfigError,
    Product,
    ProductChange,
    Stock,
    StockEvent,
    SyncAction,
    SyncField,
    SyncPolicy,
    ZeroQuantity,
    decide_sync,
    lint,
    load_config,
    plan_stock_sync,
    preview_change,
    structure,
    sync_listing,
    unstructure,
)
from policy_engine._conditions import evaluate
from policy_engine.cli import main
from policy_engine.testing import (
    lifecycle_listings,
    lifecycle_sync_policies,
    listing_templates,
    listings,
    product_changes,
    stocks,
    sync_policies,
    zero_channel_profiles,
)

AT = datetime(2026, 12, 6, 9, tzinfo=UTC)
TEMPLATES = (
    ListingTemplate(
        id="all", title="All", inventory_policy="s", pricing_policy="p", image_policy="i"
    ),
)


def _product(qty: int | None = 5, *, enabled: bool = True, **fields: Any) -> Product:
    stock = None if qty is None else Stock(qty=qty)
    return Product(sku="MB01", enabled=enabled, stock=stock, **fields)


def _decide(
    policy: SyncPolicy,
    *,
    qty: int | None = 5,
    enabled: bool = True,
    status: str | None = "active",
    listing: Listing | None = None,
    kind: str = "updated",
    channel: ChannelProfile | None = None,
    quantity: int | None = None,
    changed: frozenset[str] = frozenset({"qty"}),
) -> Any:
    if listing is None and status is not None:
        listing = Listing(template="all", status=status)
    change = ProductChange(
        kind=kind, product=_product(qty, enabled=enabled), changed=changed, listing=listing
    )
    return decide_sync(
        change, policy, templates=TEMPLATES, channel_fields=channel, quantity=quantity
    )


def _codes(decision: Any) -> list[str]:
    return [reason.code for reason in decision.reasons]


ETSY = ChannelProfile(name="etsy", fields=["quantity", "price", "title"], zero_quantity="stop")
ALLEGRO = ChannelProfile(name="allegro", fields=["quantity", "price", "title"], zero_quantity="end")
PLAIN = SyncPolicy(title="Plain")


class TestListingStatus:
    """``Listing.status`` and its compatibility with ``listed``."""

    def test_listed_follows_a_given_status(self) -> None:
        """With a status, listed is true exactly for active; without one it is as given."""
        assert Listing(status="active").listed is True
        for status in ("inactive", "ended", "user_stopped"):
            assert Listing(status=status).listed is False
        assert Listing(listed=False).status is None
        assert Listing(listed=False).listed is False

    def test_active_and_not_listed_is_an_error(self) -> None:
        """listed false with status active contradicts itself: a load error on listed."""
        with pytest.raises(PolicyConfigError) as caught:
            structure({"listed": False, "status": "active"}, Listing)
        assert caught.value.errors == [
            "a listing with status 'active' is listed: drop listed or say true @ $.listed"
        ]

    def test_unknown_status(self) -> None:
        """An unknown status names the known ones."""
        with pytest.raises(PolicyConfigError) as caught:
            structure({"status": "paused"}, Listing)
        assert caught.value.errors == [
            "must be one of 'active', 'inactive', 'ended', 'user_stopped' (got 'paused') @ $.status"
        ]

    def test_bad_values_built_in_python(self) -> None:
        """A status or zero rule that is not one of the names is an error in Python too."""
        with pytest.raises(PolicyConfigError) as caught:
            Listing(status="paused")
        assert caught.value.errors == [
            (
                "must be one of 'active', 'inactive', 'ended', 'user_stopped' or null"
                " (got 'paused') @ $.status"
            )
        ]
        with pytest.raises(PolicyConfigError) as caught:
            ChannelProfile(name="x", fields=["quantity"], zero_quantity="hide")
        assert caught.value.errors == [
            "must be one of 'send', 'stop', 'end' (got 'hide') @ $.zero_quantity"
        ]

    def test_round_trip(self) -> None:
        """A listing with a status dumps and loads back equal, for both listing models."""
        listing = Listing(status="ended", template="all")
        assert structure(unstructure(listing), Listing) == listing
        channel_listing = ChannelListing(account="a", sku="S", status="user_stopped")
        assert channel_listing.listed is False
        assert structure(unstructure(channel_listing), ChannelListing) == channel_listing


class TestZeroQuantityPerChannel:
    """What each channel does when a listing's quantity reaches 0."""

    @pytest.mark.parametrize(
        ("channel", "zero"),
        [
            ("aliexpress", "send"),
            ("tiktok", "send"),
            ("ebay", "send"),
            ("amazon", "send"),
            ("walmart", "send"),
            ("kaufland", "send"),
            ("temu", "send"),
            ("otto", "send"),
            ("mirakl", "send"),
        ],
    )
    def test_builtin_channels(self, channel: str, zero: str) -> None:
        """Every built-in channel accepts quantity 0 (docs/channels.md gives the sources)."""
        assert BUILTIN_CHANNELS[channel].zero_quantity == zero
        decision = _decide(SyncPolicy(title="T", channel=channel), qty=0)
        assert decision.action is SyncAction.UPDATE_PRICE_INVENTORY
        assert SyncField.QUANTITY in decision.fields

    def test_send_sends_zero(self) -> None:
        """send (eBay with Out-Of-Stock Control): 0 goes out as a quantity update."""
        decision = _decide(PLAIN, qty=0, channel=BUILTIN_CHANNELS["ebay"])
        assert decision.action is SyncAction.UPDATE_PRICE_INVENTORY
        assert decision.next_status is None

    def test_stop_deactivates_instead_of_sending_zero(self) -> None:
        """stop (Etsy-like): 0 is never sent; the listing is deactivated (inactive)."""
        decision = _decide(PLAIN, qty=0, channel=ETSY)
        assert decision.action is SyncAction.STOP
        assert decision.fields == frozenset()
        assert decision.next_status is ListingStatus.INACTIVE
        assert _codes(decision) == ["zero_refused"]
        assert decision.reasons[0].message == (
            "channel 'etsy' does not accept quantity 0: the listing is deactivated instead"
        )

    def test_end_ends_the_offer(self) -> None:
        """end (Allegro-like): nothing is sent, the offer is ended."""
        decision = _decide(PLAIN, qty=0, channel=ALLEGRO)
        assert decision.action is SyncAction.STOP
        assert decision.next_status is ListingStatus.ENDED
        assert _codes(decision) == ["zero_ends_offer"]

    def test_positive_quantity_is_sent_everywhere(self) -> None:
        """Above 0 the zero rule does not apply: the update goes out as before."""
        for channel in (ETSY, ALLEGRO):
            assert (
                _decide(PLAIN, qty=3, channel=channel).action is SyncAction.UPDATE_PRICE_INVENTORY
            )

    def test_not_uploaded_at_zero(self) -> None:
        """A new listing at 0 on a channel that refuses 0 is not uploaded (zero_not_listed)."""
        decision = _decide(PLAIN, qty=0, status=None, kind="created", channel=ETSY)
        assert decision.action is SyncAction.NONE
        assert _codes(decision) == ["zero_not_listed", "template_assigned"]
        assert decision.assign_to == "all"

    def test_minimum_shown_quantity(self) -> None:
        """A minimum shown quantity keeps the listing above 0: no zero rule fires."""
        policy = SyncPolicy(title="Set 1", minimum_shown_quantity=1)
        assert _decide(policy, qty=0, channel=ETSY).action is SyncAction.UPDATE_PRICE_INVENTORY

    def test_without_inventory_sync_nothing_is_stopped_for_zero(self) -> None:
        """With Inventory/Price Sync off no quantity is sent, so the zero rule stops nothing."""
        policy = SyncPolicy(title="No stock", inventory_price_sync=False)
        assert _decide(policy, qty=0, channel=ETSY).action is SyncAction.NONE

    def test_custom_channel_sets_it(self) -> None:
        """A configuration's channel definition sets zero_quantity; a bad value is an error."""
        config = _config()
        assert config.channel_profile("etsy").zero_quantity is ZeroQuantity.STOP  # type: ignore[union-attr]
        data = unstructure(config)
        data["channels"]["etsy"]["zero_quantity"] = "hide"
        with pytest.raises(PolicyConfigError) as caught:
            load_config(data)
        assert caught.value.errors == [
            "must be one of 'send', 'stop', 'end' (got 'hide') @ $.channels.etsy.zero_quantity"
        ]


class TestStopRules:
    """Stop rules stop an active listing (the first that holds)."""

    def test_defaults_stop_nothing(self) -> None:
        """Without stop rules a disabled or sold-out product is updated as before."""
        assert _decide(PLAIN, qty=0).action is SyncAction.UPDATE_PRICE_INVENTORY
        disabled = _decide(PLAIN, enabled=False, changed=frozenset({"enabled"}))
        assert disabled.action is SyncAction.UPDATE_PRICE_INVENTORY

    def test_when_disabled(self) -> None:
        """when_disabled stops a disabled product's listing."""
        policy = SyncPolicy(title="T", stop_rules={"when_disabled": True})
        decision = _decide(policy, enabled=False)
        assert (decision.action, _codes(decision)) == (SyncAction.STOP, ["stop_disabled"])
        assert decision.next_status is ListingStatus.INACTIVE

    def test_when_out_of_stock(self) -> None:
        """when_out_of_stock stops at listed quantity 0, not above."""
        policy = SyncPolicy(title="T", stop_rules={"when_out_of_stock": True})
        assert _codes(_decide(policy, qty=0)) == ["stop_out_of_stock"]
        assert _decide(policy, qty=1).action is SyncAction.UPDATE_PRICE_INVENTORY

    def test_max_quantity(self) -> None:
        """max_quantity N stops at N or less; the listed quantity given wins over the stock."""
        policy = SyncPolicy(title="T", stop_rules={"max_quantity": 2})
        decision = _decide(policy, qty=2)
        assert _codes(decision) == ["stop_quantity"]
        assert decision.reasons[0].message == (
            "the listed quantity 2 is at most 2: stops the listing (stop rule)"
        )
        assert _decide(policy, qty=3).action is SyncAction.UPDATE_PRICE_INVENTORY
        assert _decide(policy, qty=50, quantity=1).action is SyncAction.STOP

    def test_unknown_quantity_stops_nothing(self) -> None:
        """Without a stock record and no quantity given, the stock rules do not apply."""
        policy = SyncPolicy(title="T", stop_rules={"when_out_of_stock": True})
        assert _decide(policy, qty=None).action is SyncAction.UPDATE_PRICE_INVENTORY

    def test_condition_on_listing_state(self) -> None:
        """A stop condition may read listing state: the repricer owns it and stock <= 2."""
        policy = SyncPolicy(
            title="T",
            stop_rules={"condition": "listing.price_managed_externally and qty <= 2"},
        )
        repriced = Listing(template="all", price_managed_externally=True)
        decision = _decide(policy, qty=2, listing=repriced)
        assert _codes(decision) == ["stop_condition"]
        assert _decide(policy, qty=2).action is SyncAction.UPDATE_PRICE_INVENTORY
        assert _decide(policy, qty=3, listing=repriced).action is not SyncAction.STOP

    def test_condition_on_channel(self) -> None:
        """account.channel is the channel's name (the profile's, else the policy's)."""
        policy = SyncPolicy(title="T", stop_rules={"condition": "account.channel == 'etsy'"})
        assert _decide(policy, channel=ETSY).action is SyncAction.STOP
        assert _decide(policy, channel=ALLEGRO).action is not SyncAction.STOP

    def test_stop_on_end_channel_ends(self) -> None:
        """A stop rule on a channel where 0 ends the offer ends it."""
        policy = SyncPolicy(title="T", stop_rules={"max_quantity": 1})
        assert _decide(policy, qty=1, channel=ALLEGRO).next_status is ListingStatus.ENDED

    def test_deletion_and_update_off_are_unchanged(self) -> None:
        """A deletion still delists, and Product Update off still sends nothing."""
        policy = SyncPolicy(title="T", stop_rules={"when_out_of_stock": True})
        assert _decide(policy, qty=0, kind="deleted").action is SyncAction.DELIST
        off = SyncPolicy(
            title="T",
            product_update=False,
            inventory_price_sync=False,
            stop_rules={"when_out_of_stock": True},
        )
        assert _codes(_decide(off, qty=0)) == ["update_disabled"]


class TestListRules:
    """List rules gate the upload of a product not on the channel."""

    def test_default_is_today(self) -> None:
        """By default a disabled product is not uploaded; an out-of-stock one is."""
        assert _codes(_decide(PLAIN, status=None, enabled=False, kind="created"))[0] == (
            "disabled_not_uploaded"
        )
        assert _decide(PLAIN, status=None, qty=0, kind="created").action is SyncAction.UPLOAD

    def test_require_enabled_off_uploads_disabled(self) -> None:
        """require_enabled false lists a disabled product too."""
        policy = SyncPolicy(title="T", list_rules={"require_enabled": False})
        assert _decide(policy, status=None, enabled=False, kind="created").action is (
            SyncAction.UPLOAD
        )

    def test_in_stock_and_min_quantity(self) -> None:
        """require_in_stock and min_quantity hold the upload back, with list_not_met."""
        policy = SyncPolicy(title="T", list_rules={"require_in_stock": True})
        decision = _decide(policy, status=None, qty=0, kind="created")
        assert _codes(decision) == ["list_not_met", "template_assigned"]
        assert decision.reasons[0].message == "not listed: the listed quantity is 0 (list rules)"
        policy = SyncPolicy(title="T", list_rules={"min_quantity": 3})
        assert _decide(policy, status=None, qty=2, kind="created").action is SyncAction.NONE
        assert _decide(policy, status=None, qty=3, kind="created").action is SyncAction.UPLOAD

    def test_condition(self) -> None:
        """A list condition that does not hold keeps the product off the channel."""
        policy = SyncPolicy(title="T", list_rules={"condition": "account.channel == 'ebay'"})
        assert _decide(policy, status=None, kind="created").action is SyncAction.NONE
        decision = _decide(policy, status=None, kind="created", channel=BUILTIN_CHANNELS["ebay"])
        assert decision.action is SyncAction.UPLOAD


class TestRelistRules:
    """Relist rules bring back a stopped or ended listing; user_stopped stays stopped."""

    @pytest.mark.parametrize("status", ["inactive", "ended"])
    def test_relists_when_stock_returns(self, status: str) -> None:
        """Back in stock: relist with quantity and price, status active."""
        decision = _decide(PLAIN, qty=8, status=status)
        assert decision.action is SyncAction.RELIST
        assert decision.fields == {SyncField.QUANTITY, SyncField.PRICE}
        assert decision.next_status is ListingStatus.ACTIVE
        assert decision.reasons[0].message == f"relists the {status} listing (relist rules)"

    def test_not_relisted_at_zero(self) -> None:
        """Out of stock: not relisted, with the requirement that failed."""
        decision = _decide(PLAIN, qty=0, status="inactive")
        assert decision.action is SyncAction.NONE
        assert decision.reasons[0].message == (
            "the inactive listing is not relisted: the listed quantity is 0"
        )

    def test_user_stopped_stays_stopped(self) -> None:
        """A listing the merchant stopped is never relisted by default."""
        decision = _decide(PLAIN, qty=8, status="user_stopped")
        assert (decision.action, _codes(decision)) == (SyncAction.NONE, ["user_stopped"])

    def test_user_stopped_relisted_when_the_policy_says_so(self) -> None:
        """relist_rules.user_stopped relists merchant-stopped listings too."""
        policy = SyncPolicy(title="T", relist_rules={"user_stopped": True})
        assert _decide(policy, qty=8, status="user_stopped").action is SyncAction.RELIST

    def test_automatic_off(self) -> None:
        """automatic false never relists."""
        policy = SyncPolicy(title="T", relist_rules={"automatic": False})
        assert _codes(_decide(policy, qty=8, status="ended")) == ["relist_disabled"]

    def test_requirements(self) -> None:
        """Disabled, below min_quantity, or a false condition: not relisted."""
        assert _decide(PLAIN, qty=8, enabled=False, status="ended").action is SyncAction.NONE
        policy = SyncPolicy(title="T", relist_rules={"min_quantity": 5})
        assert _decide(policy, qty=4, status="ended").action is SyncAction.NONE
        assert _decide(policy, qty=5, status="ended").action is SyncAction.RELIST
        policy = SyncPolicy(title="T", relist_rules={"condition": "listing.status == 'inactive'"})
        assert _decide(policy, qty=5, status="ended").action is SyncAction.NONE
        assert _decide(policy, qty=5, status="inactive").action is SyncAction.RELIST

    def test_zero_on_a_zero_refusing_channel(self) -> None:
        """Relist rules without stock still never relist at 0 where 0 is refused."""
        policy = SyncPolicy(title="T", relist_rules={"require_in_stock": False})
        assert _codes(_decide(policy, qty=0, status="inactive", channel=ETSY)) == [
            "zero_not_listed"
        ]
        assert _decide(policy, qty=0, status="inactive").action is SyncAction.RELIST

    def test_repriced_relist_keeps_the_price(self) -> None:
        """A repricer-managed listing is relisted without price."""
        listing = Listing(template="all", status="ended", price_managed_externally=True)
        decision = _decide(PLAIN, qty=3, listing=listing)
        assert decision.fields == {SyncField.QUANTITY}
        assert _codes(decision) == ["relist", "price_managed_externally"]

    def test_no_quantity_field(self) -> None:
        """A policy that sends neither quantity nor price cannot relist."""
        policy = SyncPolicy(title="T", fields=["title"])
        assert _codes(_decide(policy, qty=3, status="ended")) == ["no_enabled_fields"]

    def test_deleted_stopped_listing_is_removed(self) -> None:
        """A deleted product's stopped listing is delisted (none without Product Update)."""
        assert _decide(PLAIN, status="inactive", kind="deleted").action is SyncAction.DELIST
        off = SyncPolicy(title="T", product_update=False, inventory_price_sync=False)
        assert _codes(_decide(off, status="inactive", kind="deleted")) == ["update_disabled"]
        assert _codes(_decide(off, status="inactive")) == ["update_disabled"]

    def test_no_template(self) -> None:
        """A stopped listing without template and no template matching: not relisted."""
        change = ProductChange(
            kind="updated", product=_product(8), changed={"qty"}, listing=Listing(status="ended")
        )
        assert _codes(decide_sync(change, PLAIN)) == ["no_matching_template"]


class TestConditions:
    """Conditions naming listing state."""

    def test_text_and_tree(self) -> None:
        """Listing-state names parse in both forms and round-trip."""
        condition = Condition.parse(
            "listing.status == 'ended' and account.channel in ('etsy',) and listing.last_price > 5"
        )
        assert condition.reads_listing
        assert Condition.from_tree(condition.to_tree()) == condition
        assert Condition.parse(condition.to_text()) == condition
        assert condition.to_tree()["all"][0] == {
            "field": "listing.status",
            "op": "==",
            "value": "ended",
        }
        assert not Condition.parse("qty > 1").reads_listing

    def test_compiled_agrees_with_evaluate(self) -> None:
        """The compiled test and the plain evaluator agree, with and without listing state."""
        condition = Condition.parse(
            "listing.last_quantity >= 2 or listing.price_managed_externally"
        )
        product = _product()
        for state in (
            ListingState(last_quantity=2),
            ListingState(price_managed_externally=True),
            ListingState(),
            None,
        ):
            expected = evaluate(condition._node, product, state)
            got = condition.matches_listing(product, state) if state else condition.matches(product)
            assert got == expected
        assert Condition.parse("qty > 1").matches_listing(product, ListingState()) is True

    def test_attribute_named_like_listing_state(self) -> None:
        """An attribute whose code reads like a listing-state name stays an attribute."""
        condition = Condition.from_tree({"attribute": "listing.status", "op": "==", "value": 1})
        assert not condition.reads_listing
        assert condition.to_tree() == {"attribute": "listing.status", "op": "==", "value": 1}
        assert condition.to_text() == "attr('listing.status') == 1"
        product = _product(attributes={"listing.status": 1})
        assert condition.matches(product)

    def test_listing_state_compared_with_a_product_value(self) -> None:
        """A listing-state name may be compared with a product value, either side."""
        condition = Condition.parse("not (qty < listing.last_quantity)")
        assert condition.reads_listing
        product = _product(qty=3)
        assert condition.matches_listing(product, ListingState(last_quantity=3))
        assert not condition.matches_listing(product, ListingState(last_quantity=4))

    def test_dots_at_the_edges_are_errors(self) -> None:
        """A dot that does not join a listing-state name is rejected where it stands."""
        for text in (".status == 'x'", "listing.", "qty == listing."):
            with pytest.raises(ConditionError):
                Condition.parse(text)

    def test_other_dotted_names_are_errors(self) -> None:
        """Only the listing-state names may be dotted."""
        with pytest.raises(ConditionError, match="attribute access is not allowed"):
            Condition.parse("listing.owner == 'x'")
        with pytest.raises(ConditionError, match="attribute access is not allowed"):
            Condition.parse("listing.status.upper == 'x'")

    def test_template_condition_naming_listing_state_is_a_load_error(self) -> None:
        """A template condition selects products only: listing state there is an error."""
        data = unstructure(_config())
        data["templates"][0]["condition"] = "not (listing.status == 'active') and qty > 1"
        with pytest.raises(PolicyConfigError) as caught:
            load_config(data)
        assert caught.value.errors == [
            (
                "a listing template's condition tests the product only, but this one names"
                " listing state (listing.status): test listing state in a sync policy's list,"
                " stop or relist rules @ $.templates[0].condition"
            )
        ]

    def test_rule_condition_errors_have_paths(self) -> None:
        """A bad rule condition is reported at its path."""
        with pytest.raises(PolicyConfigError) as caught:
            structure({"title": "T", "stop_rules": {"condition": "qty >"}}, SyncPolicy)
        assert "@ $.stop_rules.condition" in str(caught.value)
        with pytest.raises(PolicyConfigError) as caught:
            structure({"title": "T", "stop_rules": {"max_quantity": -1}}, SyncPolicy)
        assert caught.value.errors == ["must be >= 0 (got -1) @ $.stop_rules.max_quantity"]
        with pytest.raises(PolicyConfigError) as caught:
            SyncPolicy(title="T", relist_rules=3)
        assert caught.value.errors == [
            "expected RelistRules (an object), got an integer @ $.relist_rules"
        ]


def _config(**policy: Any) -> Configuration:
    return load_config(
        {
            "version": 1,
            "channels": {
                "etsy": {"fields": ["quantity", "price", "title"], "zero_quantity": "stop"},
                "allegro": {"fields": ["quantity", "price", "title"], "zero_quantity": "end"},
            },
            "sync_policies": {
                "etsy": {"title": "Etsy", "stop_rules": {"when_out_of_stock": True}, **policy},
                "allegro": {"title": "Allegro", **policy},
                "ebay": {"title": "eBay", "channel": "ebay", **policy},
            },
            "inventory_policies": {"stock": {"title": "Store stock"}},
            "pricing_policies": {"regular": {"title": "Regular"}},
            "image_policies": {"store": {"title": "Store"}},
            "order_policies": {"paid": {"title": "Paid", "import_statuses": ["paid"]}},
            "templates": [
                {
                    "id": "all",
                    "title": "All",
                    "inventory_policy": "stock",
                    "pricing_policy": "regular",
                    "image_policy": "store",
                }
            ],
            "accounts": [
                {"id": name, "channel": name, "sync_policy": name, "order_policy": "paid"}
                for name in ("etsy", "allegro", "ebay")
            ],
        }
    )


def _event(qty: int, *, enabled: bool = True) -> StockEvent:
    return StockEvent(
        sku="MB01", source="manual_adjustment", stock=Stock(qty=qty), at=AT, enabled=enabled
    )


def _listing(account: str, status: str | None = None, **fields: Any) -> ChannelListing:
    return ChannelListing(account=account, sku="MB01", template="all", status=status, **fields)


class TestStockSync:
    """plan_stock_sync applies the same rules when stock goes to or from zero."""

    def test_sells_out(self) -> None:
        """Sold out: stopped on Etsy, ended on Allegro, 0 sent to eBay."""
        listings = [_listing(a, last_quantity=2) for a in ("etsy", "allegro", "ebay")]
        plan = plan_stock_sync(_event(0), listings, _config())
        assert [(u.account, u.quantity) for u in plan.updates] == [("ebay", 0)]
        assert [(s.account, s.reason.code, s.next_status.value) for s in plan.stops] == [
            ("etsy", "stop_out_of_stock", "inactive"),
            ("allegro", "zero_ends_offer", "ended"),
        ]
        assert dict(plan.history.skipped) == {
            "etsy": "stop_out_of_stock",
            "allegro": "zero_ends_offer",
        }

    def test_restocked(self) -> None:
        """Restocked: the stopped and ended listings are relisted; user_stopped stays."""
        listings = [
            _listing("etsy", "inactive"),
            _listing("allegro", "ended"),
            _listing("ebay", "user_stopped"),
        ]
        plan = plan_stock_sync(_event(8), listings, _config())
        assert [(u.account, u.quantity, u.action.value, u.next_status) for u in plan.updates] == [
            ("etsy", 8, "relist", ListingStatus.ACTIVE),
            ("allegro", 8, "relist", ListingStatus.ACTIVE),
        ]
        assert [(s.account, s.reason.code) for s in plan.skipped] == [("ebay", "user_stopped")]

    def test_stays_stopped_while_rules_fail(self) -> None:
        """Not enough stock, relisting off, or 0 where 0 is refused: skipped with the reason."""
        plan = plan_stock_sync(_event(0), [_listing("etsy", "inactive")], _config())
        assert plan.skipped[0].reason.code == "relist_not_met"
        config = _config(relist_rules={"automatic": False})
        plan = plan_stock_sync(_event(5), [_listing("allegro", "ended")], config)
        assert plan.skipped[0].reason.code == "relist_disabled"
        config = _config(relist_rules={"require_in_stock": False})
        plan = plan_stock_sync(_event(0), [_listing("allegro", "ended")], config)
        assert plan.skipped[0].reason.code == "zero_not_listed"

    def test_not_listed_is_unchanged(self) -> None:
        """A listing that is not listed and has no status is skipped as before."""
        plan = plan_stock_sync(_event(5), [_listing("ebay", listed=False)], _config())
        assert plan.skipped[0].reason.code == "not_listed"

    def test_minimum_shown_quantity(self) -> None:
        """The minimum shown quantity is what is sent instead of less."""
        config = _config(minimum_shown_quantity=2)
        plan = plan_stock_sync(_event(0), [_listing("ebay", last_quantity=5)], config)
        assert [(u.account, u.quantity) for u in plan.updates] == [("ebay", 2)]

    def test_stop_condition_reads_listing_state(self) -> None:
        """A stop condition sees the event's stock and the listing's state."""
        config = _config(stop_rules={"condition": "listing.price_managed_externally and qty <= 2"})
        listing = _listing("ebay", price_managed_externally=True)
        plan = plan_stock_sync(_event(2), [listing], config)
        assert [s.reason.code for s in plan.stops] == ["stop_condition"]
        plan = plan_stock_sync(_event(3), [listing], config)
        assert [u.quantity for u in plan.updates] == [3]

    def test_disabled_product_stops(self) -> None:
        """when_disabled stops on a stock event of a disabled product."""
        config = _config(stop_rules={"when_disabled": True})
        plan = plan_stock_sync(_event(5, enabled=False), [_listing("ebay")], config)
        assert [s.reason.code for s in plan.stops] == ["stop_disabled"]


class TestSyncListing:
    """sync_listing gives the rules the listed quantity of the template's inventory policy."""

    def test_day(self) -> None:
        """Sold out then restocked, through sync_listing."""
        config = _config()
        sold_out = _product(0)
        actions = {
            account: sync_listing(
                config,
                ProductChange(
                    kind="updated",
                    product=sold_out,
                    changed={"qty"},
                    listing=Listing(template="all"),
                ),
                account,
            ).action.value
            for account in ("etsy", "allegro", "ebay")
        }
        assert actions == {"etsy": "stop", "allegro": "stop", "ebay": "update_price_inventory"}
        back = ProductChange(
            kind="updated",
            product=_product(8),
            changed={"qty"},
            listing=Listing(template="all", status="ended"),
        )
        assert sync_listing(config, back, "allegro").action is SyncAction.RELIST


class TestLint:
    """Lint warnings for lifecycle settings."""

    def test_relist_flaps(self) -> None:
        """Relisting at a quantity the stop rules stop at is a warning."""
        config = _config(stop_rules={"max_quantity": 2}, relist_rules={"min_quantity": 2})
        codes = {(w.code, w.path) for w in lint(config)}
        assert ("relist_flaps", "$.sync_policies.allegro.relist_rules.min_quantity") in codes
        config = _config(stop_rules={"max_quantity": 2}, relist_rules={"min_quantity": 3})
        assert "relist_flaps" not in {w.code for w in lint(config)}

    def test_default_relist_flaps_against_out_of_stock(self) -> None:
        """Relisting without requiring stock flaps against an out-of-stock stop rule."""
        config = _config(relist_rules={"require_in_stock": False})
        paths = [w.path for w in lint(config) if w.code == "relist_flaps"]
        assert paths == ["$.sync_policies.etsy.relist_rules.min_quantity"]

    def test_zero_refused_without_stop_rule(self) -> None:
        """A channel that refuses 0 with no stock stop rule is a warning on the account."""
        config = _config()
        assert "zero_refused_no_stop_rule" not in {w.code for w in lint(config)}
        data = unstructure(config)
        del data["sync_policies"]["etsy"]["stop_rules"]
        warnings = [w for w in lint(load_config(data)) if w.code == "zero_refused_no_stop_rule"]
        assert [w.path for w in warnings] == ["$.accounts[0].sync_policy"]
        assert warnings[0].message == (
            "channel 'etsy' of account 'etsy' does not accept quantity 0, and sync policy 'etsy'"
            " has no stop rule for stock: set stop_rules.when_out_of_stock or max_quantity"
        )


# --------------------------------------------------------------------------- properties

_STOP_CODES = {
    "stop_disabled",
    "stop_out_of_stock",
    "stop_quantity",
    "stop_condition",
    "zero_refused",
    "zero_ends_offer",
}
_RELIST_CODES = {"relist"}
_TEMPLATES = st.lists(listing_templates(condition=False), max_size=2).map(tuple)
_CHANNELS = st.none() | st.sampled_from(sorted(BUILTIN_CHANNELS.values(), key=lambda p: p.name))


def _frozen_policy(policy: SyncPolicy) -> frozen_sync.SyncPolicy:
    fields = {
        field.name: getattr(policy, field.name)
        for field in attrs.fields(frozen_sync.SyncPolicy)
        if field.init
    }
    return frozen_sync.SyncPolicy(**fields)


class TestProperties:
    """The lifecycle invariants (docs/invariants.md)."""

    @given(
        sync_policies(),
        product_changes(listing=st.none() | listings()),
        _TEMPLATES,
        _CHANNELS,
        st.none() | st.integers(min_value=0, max_value=5),
    )
    def test_defaults_decide_as_before(
        self,
        policy: SyncPolicy,
        change: ProductChange,
        templates: tuple[ListingTemplate, ...],
        channel: ChannelProfile | None,
        quantity: int | None,
    ) -> None:
        """With the default rules, no status and a channel that accepts 0, decide_sync decides
        exactly what the rules before the lifecycle decided."""
        new = decide_sync(
            change, policy, templates=templates, channel_fields=channel, quantity=quantity
        )
        old = frozen_sync.decide_sync(
            change,  # type: ignore[arg-type]
            _frozen_policy(policy),
            templates=templates,
            channel_fields=channel,
        )
        assert new.next_status is None
        assert (
            new.action.value,
            new.assign_to,
            new.template,
            new.fields,
            new.reasons,
            new.log_activity,
            new.log_feed,
        ) == (
            old.action.value,
            old.assign_to,
            old.template,
            old.fields,
            old.reasons,
            old.log_activity,
            old.log_feed,
        )

    @given(
        lifecycle_sync_policies(),
        product_changes(listing=lifecycle_listings(status="user_stopped", template="t-default")),
        zero_channel_profiles(),
        st.none() | st.integers(min_value=0, max_value=8),
    )
    def test_user_stopped_is_never_relisted(
        self,
        policy: SyncPolicy,
        change: ProductChange,
        channel: ChannelProfile,
        quantity: int | None,
    ) -> None:
        """A user_stopped listing is never relisted unless relist_rules.user_stopped says so."""
        policy = attrs.evolve(
            policy, relist_rules=attrs.evolve(policy.relist_rules, user_stopped=False)
        )
        decision = decide_sync(change, policy, channel_fields=channel, quantity=quantity)
        assert decision.action is not SyncAction.RELIST

    @given(
        lifecycle_sync_policies(),
        product_changes(listing=st.none() | lifecycle_listings(template="t-default")),
        zero_channel_profiles().filter(lambda p: p.zero_quantity is not ZeroQuantity.SEND),
        _TEMPLATES,
    )
    def test_zero_refusing_channel_never_receives_zero(
        self,
        policy: SyncPolicy,
        change: ProductChange,
        channel: ChannelProfile,
        templates: tuple[ListingTemplate, ...],
    ) -> None:
        """A channel whose zero_quantity is stop or end never receives quantity 0: when the
        listed quantity is 0 no decision sends the quantity."""
        decision = decide_sync(
            change, policy, templates=templates, channel_fields=channel, quantity=0
        )
        if policy.minimum_shown_quantity is None:
            assert SyncField.QUANTITY not in decision.fields

    @given(
        st.sampled_from(["etsy", "allegro"]),
        st.none() | st.sampled_from(ListingStatus),
        stocks(),
        st.booleans(),
        st.integers(min_value=0, max_value=3),
    )
    def test_stock_sync_never_sends_zero_where_refused(
        self,
        account: str,
        status: ListingStatus | None,
        stock: Stock,
        enabled: bool,
        stop_at: int,
    ) -> None:
        """plan_stock_sync never sends quantity 0 to a channel that refuses it."""
        config = _config(stop_rules={"max_quantity": stop_at} if stop_at else {})
        event = StockEvent(sku="MB01", source="file_upload", stock=stock, at=AT, enabled=enabled)
        plan = plan_stock_sync(event, [_listing(account, status)], config)
        assert all(update.quantity > 0 for update in plan.updates)

    @given(
        lifecycle_sync_policies(),
        product_changes(listing=st.none() | lifecycle_listings()),
        zero_channel_profiles(),
        _TEMPLATES,
        st.none() | st.integers(min_value=0, max_value=8),
    )
    def test_stop_and_relist_never_both(
        self,
        policy: SyncPolicy,
        change: ProductChange,
        channel: ChannelProfile,
        templates: tuple[ListingTemplate, ...],
        quantity: int | None,
    ) -> None:
        """Stop and relist never both fire on one decision: a stop only for an active listing,
        a relist only for a stopped or ended one, never both reasons together."""
        decision = decide_sync(
            change, policy, templates=templates, channel_fields=channel, quantity=quantity
        )
        codes = set(_codes(decision))
        assert not (codes & _STOP_CODES and codes & _RELIST_CODES)
        listing = change.listing
        if decision.action is SyncAction.STOP:
            assert listing is not None
            assert listing.listed
            assert decision.next_status in {ListingStatus.INACTIVE, ListingStatus.ENDED}
        if decision.action is SyncAction.RELIST:
            assert listing is not None
            assert listing.status in {
                ListingStatus.INACTIVE,
                ListingStatus.ENDED,
                ListingStatus.USER_STOPPED,
            }
            assert decision.next_status is ListingStatus.ACTIVE
            assert SyncField.QUANTITY in decision.fields or SyncField.PRICE in decision.fields


# ------------------------------------------------------------------------------ command line

LIFECYCLE = Path(__file__).resolve().parent.parent / "examples" / "lifecycle"


@pytest.fixture
def call(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the command line in this process from the lifecycle examples' folder."""
    monkeypatch.chdir(LIFECYCLE)

    def _call(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return _call


class TestCommandLine:
    """``stock-sync``, ``explain`` and ``preview`` with lifecycle settings."""

    def test_stock_sync_json(self, call: Any) -> None:
        """The sold-out step as JSON rows: stop, stop, send 0, none."""
        status, out, _ = call(
            "stock-sync", "config.json", "1-event.json", "1-listings.json", "--format", "json"
        )
        assert status == 0
        relisted = json.loads(
            call("stock-sync", "config.json", "3-event.json", "3-listings.json", "-f", "json")[1]
        )
        assert [row["action"] for row in relisted] == ["send", "relist", "send", "none"]
        assert relisted[1]["reason"] == "relists with 12"
        assert status == 0
        rows = json.loads(out)
        assert [(row["account"], row["action"], row["status"]) for row in rows] == [
            ("etsy-shop", "stop", "inactive"),
            ("allegro-pl", "stop", "ended"),
            ("ebay-us", "send", None),
            ("amazon-us", "none", None),
        ]
        assert rows[2]["quantity"] == 0

    def test_other_skus_are_left_out(self, call: Any, tmp_path: Path) -> None:
        """Listings of other SKUs get no row."""
        listings = tmp_path / "listings.json"
        listings.write_text(
            '[{"account": "etsy-shop", "sku": "OTHER"},'
            ' {"account": "ebay-us", "sku": "24-MB01", "template": "everything"}]'
        )
        status, out, _ = call("stock-sync", "config.json", "3-event.json", str(listings))
        assert status == 0
        assert out.splitlines()[1:] == [
            "ebay-us  24-MB01  send          12  -       sends 12 (rule stock)"
        ]

    def test_bad_listing_has_its_path(self, call: Any, tmp_path: Path) -> None:
        """A bad listing file reports each problem with its JSON path; exit 1."""
        listings = tmp_path / "listings.json"
        listings.write_text('[{"account": "etsy-shop", "sku": "24-MB01", "status": "paused"}]')
        status, _, err = call("stock-sync", "config.json", "1-event.json", str(listings))
        assert status == 1
        assert err == (
            f"{listings}: must be one of 'active', 'inactive', 'ended', 'user_stopped'"
            " (got 'paused') @ $[0].status\n"
        )

    def test_unknown_account(self, call: Any, tmp_path: Path) -> None:
        """A listing of an unknown account is reported with its path; exit 1."""
        listings = tmp_path / "listings.json"
        listings.write_text(
            '[{"account": "etsy-shop", "sku": "OTHER"}, {"account": "nowhere", "sku": "24-MB01"}]'
        )
        status, _, err = call("stock-sync", "config.json", "1-event.json", str(listings))
        assert status == 1
        assert "unknown account 'nowhere'" in err
        assert "@ $.listings[1].account" in err

    def test_missing_and_undecodable_files(self, call: Any, tmp_path: Path) -> None:
        """A missing file is a usage error (exit 2); a file that is not UTF-8 exits 1."""
        status, _, err = call("stock-sync", "config.json", "missing.json", "1-listings.json")
        assert (status, err) == (2, "missing.json: no such file\n")
        binary = tmp_path / "event.json"
        binary.write_bytes(b"\xff\xfe")
        status, _, err = call("stock-sync", "config.json", str(binary), "1-listings.json")
        assert status == 1
        assert "not UTF-8 text" in err

    def test_explain_json_has_the_lifecycle(self, call: Any) -> None:
        """explain --json carries the lifecycle summary of an account with lifecycle settings."""
        status, out, _ = call(
            "explain", "config.json", "products.json", "--sku", "24-MB01", "--json",
            "--on", "2026-12-06",
        )  # fmt: skip
        assert status == 0
        accounts = {entry["outcome"]["account"]: entry for entry in json.loads(out)["accounts"]}
        assert accounts["etsy-shop"]["lifecycle"]["active"] == "stop: stop_out_of_stock"
        assert "lifecycle" not in accounts["amazon-us"]

    def test_preview_reports_lifecycle_edits(self) -> None:
        """An edit of the stop rules shows as a lifecycle change of the listing."""
        old = _config()
        data = unstructure(old)
        data["sync_policies"]["ebay"]["stop_rules"] = {"max_quantity": 3}
        new = load_config(data)
        changes = preview_change(old, new, [_product(2)])
        assert [(c.account, c.what) for c in changes] == [("ebay", "lifecycle")]
        assert changes[0].before["active"] == "update_price_inventory"
        assert changes[0].after["active"] == "stop: stop_quantity"
        assert preview_change(old, old, [_product(2)]) == ()
