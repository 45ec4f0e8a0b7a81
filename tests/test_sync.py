"""The synchronization policy, ``decide_sync`` and ``diff_products``: spec section 7."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine import (
    BUILTIN_CHANNELS,
    AttributeValue,
    ChangeKind,
    ChannelProfile,
    Condition,
    Image,
    Listing,
    ListingTemplate,
    PolicyConfigError,
    Product,
    ProductChange,
    SourceItem,
    Stock,
    SyncAction,
    SyncDecision,
    SyncField,
    SyncPolicy,
    Visibility,
    decide_sync,
    diff_products,
    fields_for_changes,
    structure,
    unstructure,
)
from policy_engine import _sync as sync_module
from policy_engine._limits import MAX_ID_LENGTH, MAX_ITEMS
from policy_engine.testing import (
    attribute_values,
    listing_templates,
    listings,
    product_changes,
    products,
    sync_policies,
    sync_products,
)
from policy_engine.testing._models import ATTRIBUTE_CODES

ALIEXPRESS = BUILTIN_CHANNELS["aliexpress"].fields
QUANTITY, PRICE = SyncField.QUANTITY, SyncField.PRICE
QUANTITY_PRICE = frozenset({QUANTITY, PRICE})
SHIRT = Product(sku="SHIRT-1", name="Shirt", price=Decimal("20.00"), attributes={"color": "Red"})
LISTED = Listing()
NONE, UPLOAD, UPDATE = SyncAction.NONE, SyncAction.UPLOAD, SyncAction.UPDATE
PRICE_INVENTORY, DELIST = SyncAction.UPDATE_PRICE_INVENTORY, SyncAction.DELIST
#: The product fields diff_products compares by name (every field but attributes and stock).
PRODUCT_FIELDS = (
    "sku",
    "name",
    "type",
    "enabled",
    "visibility",
    "price",
    "special_price",
    "special_from",
    "special_to",
    "categories",
    "attribute_set",
    "images",
    "parent_sku",
)


def _template(template_id: str, condition: str | None = None) -> ListingTemplate:
    return ListingTemplate(
        id=template_id,
        title=template_id.title(),
        condition=condition,
        inventory_policy="inventory",
        pricing_policy="pricing",
        image_policy="images",
    )


TEMPLATES = (_template("t-blue", "color == 'Blue'"), _template("t-red", "color == 'Red'"))

#: A few fixed conditions (some match a sync product, some do not): drawing them is cheap, and
#: the conditions themselves are fuzzed by the conditions tests.
FIXED_CONDITIONS = st.sampled_from(
    [
        Condition.parse("color == 'Red'"),
        Condition.parse("price > 100"),
        Condition.parse("attribute_set == 'Top' or under(categories, 'Sale')"),
        Condition.from_tree({"field": "size", "op": "in", "value": ["S", "M"]}),
    ]
)
TEMPLATE_LISTS = st.lists(listing_templates(condition_strategy=FIXED_CONDITIONS), max_size=3)


def _policy(**fields: Any) -> SyncPolicy:
    fields.setdefault("title", "AliExpress sync")
    fields.setdefault("channel", "aliexpress")
    return SyncPolicy(**fields)


def _decide(
    policy: SyncPolicy,
    *,
    kind: str = "updated",
    changed: Sequence[str] = (),
    listing: Listing | None = LISTED,
    product: Product = SHIRT,
    templates: Sequence[ListingTemplate] = TEMPLATES,
    **options: Any,
) -> SyncDecision:
    change = ProductChange(kind=kind, product=product, changed=changed, listing=listing)
    return decide_sync(change, policy, templates=templates, **options)


def _codes(decision: SyncDecision) -> list[str]:
    return [reason.code for reason in decision.reasons]


class TestOnlySpecificAttributesExample:
    """The seeds' "Only Specific Attributes Syncing" example: Color observed; Color, Size, Quantity."""

    POLICY = _policy(observed_attributes=["color"])

    def test_color_change_sends_every_enabled_field(self) -> None:
        """A change to the observed Color sends Color, Size and Quantity: every enabled field."""
        decision = _decide(self.POLICY, changed=["color"])
        assert decision.action is UPDATE
        assert decision.fields == ALIEXPRESS
        assert {SyncField.ATTRIBUTES, QUANTITY} <= decision.fields
        assert _codes(decision) == ["full_update"]
        assert decision.reasons[0].message == "color changed: every synced field is sent"

    def test_size_change_sends_nothing(self) -> None:
        """A change to Size, which is not observed, sends nothing."""
        decision = _decide(self.POLICY, changed=["size"])
        assert decision.action is NONE
        assert decision.fields == frozenset()
        assert _codes(decision) == ["unobserved_attributes"]
        assert decision.reasons[0].message == (
            "size changed, but only changes to color trigger a sync"
            " (Only Specific Attributes Syncing)"
        )

    def test_quantity_change_still_goes_out(self) -> None:
        """A quantity change is never blocked by the filter: stock must not go stale."""
        decision = _decide(self.POLICY, changed=["qty"])
        assert decision.action is PRICE_INVENTORY
        assert decision.fields == {QUANTITY}
        assert _codes(decision) == ["price_inventory_update"]

    def test_size_and_quantity_change_sends_the_quantity_only(self) -> None:
        """Size and quantity changing together: the quantity goes out, Size does not."""
        decision = _decide(self.POLICY, changed=["size", "qty"])
        assert decision.action is PRICE_INVENTORY
        assert decision.fields == {QUANTITY}

    def test_without_the_filter_any_attribute_change_sends_everything(self) -> None:
        """With the option off, a Size change synchronizes every field."""
        decision = _decide(_policy(), changed=["size"])
        assert decision.action is UPDATE
        assert decision.fields == ALIEXPRESS


class TestRule1NotVisibleIndividually:
    """Rule 1: products not visible individually are skipped unless the policy syncs them."""

    HIDDEN = attrs.evolve(SHIRT, visibility=Visibility.NOT_VISIBLE_INDIVIDUALLY)

    @pytest.mark.parametrize("kind", ["created", "updated", "deleted"])
    @pytest.mark.parametrize("listing", [None, Listing(listed=False, template="t-red")])
    def test_skipped_by_default(self, kind: str, listing: Listing | None) -> None:
        """A hidden child that is not on the channel is not synced: none, not_visible_individually."""
        decision = _decide(
            _policy(), kind=kind, changed=["qty"], listing=listing, product=self.HIDDEN
        )
        assert decision.action is NONE
        assert _codes(decision) == ["not_visible_individually"]
        assert decision.template is None
        assert decision.assign_to is None
        assert decision.fields == frozenset()

    @pytest.mark.parametrize("kind", ["created", "updated"])
    def test_listed_product_that_became_hidden_is_delisted(self, kind: str) -> None:
        """A listed product that is no longer visible individually leaves the channel."""
        listing = Listing(template="t-red")
        decision = _decide(
            _policy(), kind=kind, changed=["visibility"], listing=listing, product=self.HIDDEN
        )
        assert decision.action is DELIST
        assert _codes(decision) == ["delist_not_visible"]
        assert decision.template == "t-red"
        assert decision.fields == frozenset()

    @pytest.mark.parametrize("changed", [[], ["qty"], ["name"]])
    def test_listed_hidden_product_is_delisted_whatever_changed(self, changed: list[str]) -> None:
        """Every later change of a listed hidden product still delists it, not none."""
        decision = _decide(_policy(), changed=changed, listing=LISTED, product=self.HIDDEN)
        assert decision.action is DELIST

    def test_deletion_of_a_listed_hidden_product_reaches_the_channel(self) -> None:
        """A deletion always reaches a listed product, hidden or not: delist."""
        decision = _decide(_policy(), kind="deleted", listing=LISTED, product=self.HIDDEN)
        assert decision.action is DELIST
        assert _codes(decision) == ["delist"]

    def test_listed_hidden_product_with_product_update_off(self) -> None:
        """Without Product Update nothing is sent to a listed product, not even the delisting."""
        policy = _policy(product_update=False, inventory_price_sync=False)
        decision = _decide(policy, changed=["visibility"], listing=LISTED, product=self.HIDDEN)
        assert decision.action is NONE
        assert _codes(decision) == ["not_visible_individually", "update_disabled"]

    def test_synced_with_the_switch_on(self) -> None:
        """With sync_not_visible_individually the product is uploaded like any other."""
        policy = _policy(sync_not_visible_individually=True)
        decision = _decide(policy, kind="created", listing=None, product=self.HIDDEN)
        assert decision.action is UPLOAD


class TestRule2Template:
    """Rule 2: the listing's template, else the first matching template in order."""

    def test_first_matching_template_in_order(self) -> None:
        """The first template whose condition matches wins, in the given order."""
        templates = (_template("t-blue", "color == 'Blue'"), _template("t-any"), TEMPLATES[1])
        decision = _decide(_policy(), kind="created", listing=None, templates=templates)
        assert decision.template == "t-any"

    def test_listing_template_wins(self) -> None:
        """A listing that already has a template keeps it, even if another would match."""
        decision = _decide(_policy(), changed=["qty"], listing=Listing(template="t-old"))
        assert decision.template == "t-old"

    def test_matching_template_of_a_listed_product(self) -> None:
        """A listed product without a template gets the first match as its template."""
        decision = _decide(_policy(), changed=["qty"], listing=Listing())
        assert decision.template == "t-red"
        assert decision.assign_to is None

    def test_template_without_condition_matches_every_product(self) -> None:
        """A template with no condition applies to every product."""
        template = _template("t-all")
        assert template.matches(SHIRT)
        decision = _decide(_policy(), kind="created", listing=None, templates=[template])
        assert decision.template == "t-all"


class TestRule3NotOnChannel:
    """Rule 3: products that are not on the channel."""

    @pytest.mark.parametrize("listing", [None, Listing(listed=False)])
    def test_deleted_and_not_listed(self, listing: Listing | None) -> None:
        """A deleted product that is not listed: none, not_listed."""
        decision = _decide(_policy(), kind="deleted", listing=listing)
        assert decision.action is NONE
        assert _codes(decision) == ["not_listed"]

    def test_no_matching_template(self) -> None:
        """No template matches: none, no_matching_template."""
        product = attrs.evolve(SHIRT, attributes={"color": "Green"})
        decision = _decide(_policy(), kind="created", listing=None, product=product)
        assert decision.action is NONE
        assert decision.template is None
        assert _codes(decision) == ["no_matching_template"]

    def test_upload_with_every_enabled_field_and_assignment(self) -> None:
        """A new product matching a template is uploaded with every field and assigned to it."""
        decision = _decide(_policy(), kind="created", listing=None)
        assert decision.action is UPLOAD
        assert decision.fields == ALIEXPRESS
        assert decision.template == decision.assign_to == "t-red"
        assert _codes(decision) == ["upload", "template_assigned"]
        assert (
            decision.reasons[0].message == "lists the product on the channel with template 't-red'"
        )

    def test_an_update_of_a_product_not_on_the_channel_uploads_it(self) -> None:
        """Rule 3 applies to any change but a deletion: an updated, unlisted product is uploaded."""
        decision = _decide(_policy(), changed=["name"], listing=None)
        assert decision.action is UPLOAD

    def test_upload_needs_price_and_quantity_whatever_inventory_price_sync(self) -> None:
        """A new listing gets price and quantity even when Inventory/Price Sync is off."""
        decision = _decide(_policy(inventory_price_sync=False), kind="created", listing=None)
        assert decision.fields >= QUANTITY_PRICE

    def test_upload_sends_only_the_policy_fields(self) -> None:
        """With a field list, only those fields are uploaded."""
        policy = _policy(fields=["quantity", "price", "title"])
        decision = _decide(policy, kind="created", listing=None)
        assert decision.fields == {QUANTITY, PRICE, SyncField.TITLE}

    def test_no_assignment_without_product_assign(self) -> None:
        """With Product Assign off the product is uploaded but not assigned."""
        decision = _decide(_policy(product_assign=False), kind="created", listing=None)
        assert decision.action is UPLOAD
        assert decision.assign_to is None
        assert decision.template == "t-red"
        assert _codes(decision) == ["upload"]

    def test_no_assignment_when_the_listing_has_a_template(self) -> None:
        """An unlisted listing that already has a template keeps it and is not reassigned."""
        decision = _decide(_policy(), kind="created", listing=Listing(listed=False, template="t-x"))
        assert decision.action is UPLOAD
        assert decision.template == "t-x"
        assert decision.assign_to is None

    def test_upload_disabled_keeps_the_assignment(self) -> None:
        """With Product Upload off: none, upload_disabled, and the assignment is still made."""
        decision = _decide(_policy(product_upload=False), kind="created", listing=None)
        assert decision.action is NONE
        assert decision.assign_to == "t-red"
        assert _codes(decision) == ["upload_disabled", "template_assigned"]

    def test_upload_disabled_without_assignment(self) -> None:
        """With Product Upload and Product Assign off: none, upload_disabled only."""
        policy = _policy(product_upload=False, product_assign=False)
        decision = _decide(policy, kind="created", listing=None)
        assert decision.assign_to is None
        assert _codes(decision) == ["upload_disabled"]

    def test_repricer_flag_of_an_unlisted_listing_does_not_drop_the_price(self) -> None:
        """A new listing needs a price: the repricer flag applies to listed products (rule 4)."""
        listing = Listing(listed=False, price_managed_externally=True)
        decision = _decide(_policy(), kind="created", listing=listing)
        assert PRICE in decision.fields


class TestRule4OnChannel:
    """Rule 4: products on the channel."""

    @pytest.mark.parametrize("kind", ["updated", "deleted", "created"])
    def test_update_disabled(self, kind: str) -> None:
        """With Product Update off nothing is sent, not even a delisting: update_disabled."""
        policy = _policy(product_update=False, inventory_price_sync=False)
        decision = _decide(policy, kind=kind, changed=["qty", "name"])
        assert decision.action is NONE
        assert _codes(decision) == ["update_disabled"]

    def test_deleted_product_is_delisted(self) -> None:
        """A deleted product on the channel is delisted, with no field."""
        decision = _decide(_policy(), kind="deleted")
        assert decision.action is DELIST
        assert decision.fields == frozenset()
        assert _codes(decision) == ["delist"]

    def test_nothing_changed(self) -> None:
        """An update with no changed code: none, nothing_changed."""
        decision = _decide(_policy(), changed=[])
        assert decision.action is NONE
        assert _codes(decision) == ["nothing_changed"]

    def test_created_while_listed_is_a_full_update(self) -> None:
        """A created product that is already listed: changed is ignored, everything is sent."""
        decision = _decide(_policy(observed_attributes=["color"]), kind="created", changed=[])
        assert decision.action is UPDATE
        assert decision.fields == ALIEXPRESS
        assert _codes(decision) == ["product_created"]

    def test_full_update_on_an_enabled_field(self) -> None:
        """Without observed attributes, a change to an enabled non-stock field is a full update."""
        decision = _decide(_policy(), changed=["name", "qty"])
        assert decision.action is UPDATE
        assert decision.fields == ALIEXPRESS
        assert decision.reasons[0].message == "name changed: every synced field is sent"

    def test_full_update_without_inventory_price_sync(self) -> None:
        """With Inventory/Price Sync off a full update leaves quantity and price out."""
        decision = _decide(_policy(inventory_price_sync=False), changed=["name", "qty"])
        assert decision.action is UPDATE
        assert decision.fields == ALIEXPRESS - QUANTITY_PRICE
        assert _codes(decision) == ["full_update", "inventory_price_sync_disabled"]
        assert (
            decision.reasons[1].message == "Inventory/Price Sync is off: price, quantity not sent"
        )

    def test_full_update_with_only_quantity_and_price_enabled(self) -> None:
        """An observed change on a quantity-and-price channel with the sync off sends nothing."""
        policy = _policy(channel="otto", observed_attributes=["color"], inventory_price_sync=False)
        decision = _decide(policy, changed=["color"])
        assert decision.action is NONE
        assert _codes(decision) == ["inventory_price_sync_disabled"]

    def test_full_update_without_quantity_price_fields(self) -> None:
        """A full update of a policy without quantity and price needs no Inventory/Price note."""
        policy = _policy(fields=["title"], inventory_price_sync=False)
        decision = _decide(policy, changed=["name"])
        assert decision.action is UPDATE
        assert decision.fields == {SyncField.TITLE}
        assert _codes(decision) == ["full_update"]

    @pytest.mark.parametrize(
        ("changed", "fields"),
        [
            (["qty"], {QUANTITY}),
            (["in_stock"], {QUANTITY}),
            (["enabled"], {QUANTITY}),
            (["special_price"], {PRICE}),
            (["price", "stock"], {QUANTITY, PRICE}),
        ],
    )
    def test_price_inventory_update(self, changed: list[str], fields: set[SyncField]) -> None:
        """A quantity or price change sends just those of the two that changed."""
        decision = _decide(_policy(), changed=changed)
        assert decision.action is PRICE_INVENTORY
        assert decision.fields == fields
        assert _codes(decision) == ["price_inventory_update"]

    def test_price_inventory_update_only_of_enabled_fields(self) -> None:
        """Of quantity and price, only the enabled ones are sent."""
        decision = _decide(_policy(fields=["quantity", "title"]), changed=["qty", "price"])
        assert decision.fields == {QUANTITY}

    def test_inventory_price_sync_disabled(self) -> None:
        """A quantity change with Inventory/Price Sync off: none, inventory_price_sync_disabled."""
        decision = _decide(_policy(inventory_price_sync=False), changed=["qty"])
        assert decision.action is NONE
        assert _codes(decision) == ["inventory_price_sync_disabled"]
        assert decision.reasons[0].message == "Inventory/Price Sync is off: quantity not sent"

    def test_fields_not_synced(self) -> None:
        """A change to a field the policy does not send: none, fields_not_synced."""
        decision = _decide(_policy(fields=["quantity", "price", "title"]), changed=["color"])
        assert decision.action is NONE
        assert _codes(decision) == ["fields_not_synced"]
        assert decision.reasons[0].message == "the policy does not send attributes to this channel"

    def test_fields_not_supported_by_the_channel(self) -> None:
        """A change to a field the channel does not support (weight on AliExpress) sends nothing."""
        decision = _decide(_policy(), changed=["weight"])
        assert _codes(decision) == ["fields_not_synced"]

    def test_quantity_price_fields_not_synced(self) -> None:
        """A price change when the policy does not send price: fields_not_synced."""
        decision = _decide(_policy(fields=["quantity", "title"]), changed=["price"])
        assert decision.action is NONE
        assert _codes(decision) == ["fields_not_synced"]

    def test_every_blocking_reason_is_given(self) -> None:
        """Unobserved attributes and a disabled price sync are both reported."""
        policy = _policy(observed_attributes=["color"], inventory_price_sync=False)
        decision = _decide(policy, changed=["size", "price"])
        assert decision.action is NONE
        assert _codes(decision) == ["unobserved_attributes", "inventory_price_sync_disabled"]

    def test_repricer_removes_price_from_a_full_update(self) -> None:
        """A repricer-managed listing gets a full update without price."""
        listing = Listing(price_managed_externally=True)
        decision = _decide(_policy(), changed=["name"], listing=listing)
        assert decision.action is UPDATE
        assert decision.fields == ALIEXPRESS - {PRICE}
        assert _codes(decision) == ["full_update", "price_managed_externally"]

    def test_repricer_leaves_the_quantity(self) -> None:
        """Price and quantity changed on a repricer-managed listing: only quantity is sent."""
        listing = Listing(price_managed_externally=True)
        decision = _decide(_policy(), changed=["price", "qty"], listing=listing)
        assert decision.action is PRICE_INVENTORY
        assert decision.fields == {QUANTITY}
        assert _codes(decision) == ["price_inventory_update", "price_managed_externally"]

    def test_repricer_blocks_a_price_only_change(self) -> None:
        """Only the price changed on a repricer-managed listing: none, price_managed_externally."""
        listing = Listing(price_managed_externally=True)
        decision = _decide(_policy(), changed=["price"], listing=listing)
        assert decision.action is NONE
        assert _codes(decision) == ["price_managed_externally"]

    def test_repricer_with_price_as_the_only_field(self) -> None:
        """A full update whose only field is the repricer's price becomes none."""
        listing = Listing(price_managed_externally=True)
        policy = _policy(fields=["price"], observed_attributes=["color"])
        decision = _decide(policy, changed=["color"], listing=listing)
        assert decision.action is NONE
        assert _codes(decision) == ["price_managed_externally"]


class TestRule5Logs:
    """Rule 5: the activity and feed log switches."""

    @pytest.mark.parametrize("activity_log", [True, False])
    def test_activity_log_follows_the_policy(self, activity_log: bool) -> None:
        """log_activity is the policy's activity_log, whatever the action."""
        policy = _policy(activity_log=activity_log)
        assert _decide(policy, changed=["qty"]).log_activity is activity_log
        assert _decide(policy, changed=[]).log_activity is activity_log

    def test_feed_log_only_when_something_is_sent(self) -> None:
        """log_feed is the policy's feed_log for an action, and false for none."""
        policy = _policy(feed_log=True)
        assert _decide(policy, changed=["qty"]).log_feed is True
        assert _decide(policy, kind="deleted").log_feed is True
        assert _decide(policy, changed=[]).log_feed is False
        assert _decide(_policy(), changed=["qty"]).log_feed is False


class TestChannelFieldsArgument:
    """The channel's fields for policies without a built-in channel."""

    def test_policy_without_channel_sends_every_field(self) -> None:
        """A policy with no channel and no channel_fields enables every field."""
        policy = _policy(channel=None)
        assert policy.enabled_fields() == frozenset(SyncField)
        assert _decide(policy, kind="created", listing=None).fields == frozenset(SyncField)

    def test_channel_fields_given_as_a_profile(self) -> None:
        """channel_fields limits a channel-less policy to the account's channel."""
        policy = _policy(channel=None)
        otto = BUILTIN_CHANNELS["otto"]
        decision = _decide(policy, kind="created", listing=None, channel_fields=otto)
        assert decision.fields == QUANTITY_PRICE
        assert policy.enabled_fields(otto) == QUANTITY_PRICE

    def test_custom_channel(self) -> None:
        """A custom channel's fields are given by the caller; the policy's fields intersect them."""
        policy = _policy(channel="my-shop", fields=["quantity", "title", "gpsr"])
        shop = ChannelProfile(name="my-shop", fields=["quantity", "price", "title"])
        assert policy.enabled_fields() == {QUANTITY, SyncField.TITLE, SyncField.GPSR}
        decision = _decide(policy, kind="created", listing=None, channel_fields=shop.fields)
        assert decision.fields == {QUANTITY, SyncField.TITLE}
        as_list = _decide(policy, kind="created", listing=None, channel_fields=list(shop.fields))
        assert as_list == decision

    def test_no_field_in_common(self) -> None:
        """A policy and a channel with no field in common send nothing: no_enabled_fields."""
        policy = _policy(channel=None, fields=["gpsr"], observed_attributes=["color"])
        otto = BUILTIN_CHANNELS["otto"]
        upload = _decide(policy, kind="created", listing=None, channel_fields=otto)
        assert upload.action is NONE
        assert _codes(upload) == ["no_enabled_fields"]
        update = _decide(policy, changed=["color"], channel_fields=otto)
        assert _codes(update) == ["no_enabled_fields"]


class TestRememberedDecisions:
    """Decisions are remembered per policy and channel without changing any result."""

    def test_memory_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Beyond the limit decisions are still made, just not remembered."""
        monkeypatch.setattr(sync_module, "_REMEMBERED_DECISIONS", 2)
        policy = _policy()
        codes = ["color", "size", "material", "name"]
        first = [_decide(policy, changed=[code]) for code in codes]
        assert [_decide(policy, changed=[code]) for code in codes] == first
        assert len(policy._enabled.decisions) == 2

    @given(sync_policies(), product_changes(), TEMPLATE_LISTS)
    def test_remembered_equals_fresh(
        self, policy: SyncPolicy, change: ProductChange, templates: list[ListingTemplate]
    ) -> None:
        """A decision made again by a warm policy equals the one a fresh policy makes."""
        first = decide_sync(change, policy, templates=templates)
        fresh = attrs.evolve(policy)
        assert decide_sync(change, fresh, templates=templates) == first
        assert decide_sync(change, policy, templates=templates) == first

    def test_policies_pickle(self) -> None:
        """A policy with remembered decisions pickles and decides the same afterwards."""
        policy = _policy(fields=["quantity", "price"])
        decision = _decide(policy, changed=["qty"])
        _decide(policy, changed=["qty"], channel_fields=BUILTIN_CHANNELS["otto"])
        copy = pickle.loads(pickle.dumps(policy))
        assert copy == policy
        assert copy.enabled_fields() == policy.enabled_fields()
        assert _decide(copy, changed=["qty"]) == decision


class TestSyncPolicyLoading:
    """Loading a synchronization policy (spec 7.2)."""

    def test_defaults(self) -> None:
        """Only the title is required; the defaults are the spec's."""
        policy = structure({"title": "Default"}, SyncPolicy)
        assert unstructure(policy) == {
            "title": "Default",
            "channel": None,
            "product_upload": True,
            "product_update": True,
            "inventory_price_sync": True,
            "product_assign": True,
            "sync_not_visible_individually": False,
            "observed_attributes": None,
            "fields": None,
            "activity_log": True,
            "feed_log": False,
            "quantity_revise_threshold": None,
            "list_rules": {
                "require_enabled": True,
                "require_in_stock": False,
                "min_quantity": None,
                "condition": None,
            },
            "stop_rules": {
                "when_disabled": False,
                "when_out_of_stock": False,
                "max_quantity": None,
                "condition": None,
            },
            "relist_rules": {
                "automatic": True,
                "require_enabled": True,
                "require_in_stock": True,
                "min_quantity": None,
                "condition": None,
                "user_stopped": False,
            },
            "minimum_shown_quantity": None,
        }

    def test_inventory_price_sync_depends_on_product_update(self) -> None:
        """Inventory/Price Sync without Product Update is a load error on inventory_price_sync."""
        with pytest.raises(PolicyConfigError) as raised:
            structure({"title": "T", "product_update": False}, SyncPolicy)
        assert raised.value.errors == [
            "Inventory/Price Sync depends on Product Update @ $.inventory_price_sync"
        ]

    def test_product_update_off_with_price_sync_off_is_valid(self) -> None:
        """Both switches off is a valid policy."""
        data = {"title": "T", "product_update": False, "inventory_price_sync": False}
        assert structure(data, SyncPolicy).product_update is False

    def test_fields_must_be_supported_by_the_channel(self) -> None:
        """Fields a built-in channel does not support are a load error listing what it supports."""
        with pytest.raises(PolicyConfigError) as raised:
            structure(
                {"title": "T", "channel": "kaufland", "fields": ["quantity", "title", "weight"]},
                SyncPolicy,
            )
        assert raised.value.errors == [
            (
                "channel 'kaufland' does not support title, weight (it supports: gpsr, price,"
                " quantity) @ $.fields"
            )
        ]

    def test_both_cross_field_problems_at_once(self) -> None:
        """Problems spanning fields are all reported."""
        with pytest.raises(PolicyConfigError) as raised:
            SyncPolicy(title="T", channel="otto", fields=["title"], product_update=False)
        assert raised.value.errors == [
            "Inventory/Price Sync depends on Product Update @ $.inventory_price_sync",
            "channel 'otto' does not support title (it supports: price, quantity) @ $.fields",
        ]

    def test_custom_channel_fields_are_checked_later(self) -> None:
        """A custom channel's fields are unknown here: any field list is accepted."""
        policy = structure({"title": "T", "channel": "my-shop", "fields": ["fitment"]}, SyncPolicy)
        assert policy.fields == frozenset({SyncField.FITMENT})

    @pytest.mark.parametrize(
        ("data", "errors"),
        [
            ({"observed_attributes": []}, ["must not be empty @ $.observed_attributes"]),
            (
                {"observed_attributes": ["color", ""]},
                [
                    (
                        "expected a list of non-empty attribute codes, got a string in it"
                        " @ $.observed_attributes"
                    )
                ],
            ),
            ({"fields": []}, ["must not be empty @ $.fields"]),
            (
                {"fields": ["quantity", "titel"]},
                [
                    (
                        "must be one of 'quantity', 'price', 'title', 'description', 'images',"
                        " 'identifiers', 'category', 'attributes', 'gpsr', 'shipping_policy',"
                        " 'return_policy', 'fitment', 'size_chart', 'weight', 'other'"
                        " (got 'titel') @ $.fields[1]"
                    )
                ],
            ),
            ({"channel": ""}, ["must not be empty @ $.channel"]),
            ({"title": " "}, ["must not be empty @ $.title"]),
            (
                {"quantity_revise_threshold": True},
                ["expected an integer, got a boolean @ $.quantity_revise_threshold"],
            ),
            (
                {"quantity_revise_threshold": -1},
                ["must be >= 0 (got -1) @ $.quantity_revise_threshold"],
            ),
            ({"feed_log": "yes"}, ["expected a boolean, got a string @ $.feed_log"]),
            (
                {"observed_attribute": ["color"]},
                ["unknown field (did you mean 'observed_attributes'?) @ $.observed_attribute"],
            ),
        ],
    )
    def test_invalid_policies(self, data: dict[str, Any], errors: list[str]) -> None:
        """Every invalid value is reported with its path."""
        with pytest.raises(PolicyConfigError) as raised:
            structure({"title": "T", **data}, SyncPolicy)
        assert raised.value.errors == errors

    @pytest.mark.parametrize(
        ("fields", "error"),
        [
            (
                {"observed_attributes": 5},
                "expected a list of attribute codes or null, got an integer",
            ),
            ({"observed_attributes": "color"}, "expected a list of attribute codes or null"),
            ({"fields": ["quantity", "bogus"]}, "unknown sync field 'bogus'"),
            ({"fields": "quantity"}, "expected a list of sync fields, got a string"),
        ],
    )
    def test_invalid_values_in_python(self, fields: dict[str, Any], error: str) -> None:
        """Invalid values given in Python raise PolicyConfigError, never a bare TypeError."""
        with pytest.raises(PolicyConfigError, match=error):
            SyncPolicy(title="T", **fields)

    def test_lists_become_immutable(self) -> None:
        """observed_attributes becomes a tuple and fields a frozenset of SyncField."""
        policy = SyncPolicy(title="T", observed_attributes=["color"], fields=["quantity"])
        assert policy.observed_attributes == ("color",)
        assert policy.fields == frozenset({QUANTITY})


class TestInputsLoading:
    """Loading listings and product changes (spec 7.3)."""

    def test_change_from_json(self) -> None:
        """A change loads from JSON with its product and listing."""
        change = structure(
            {
                "kind": "updated",
                "product": {"sku": "S1", "price": "9.99"},
                "changed": ["qty", "price"],
                "listing": {"template": "t-red", "last_price": 9.5, "last_quantity": 3},
            },
            ProductChange,
        )
        assert change.kind is ChangeKind.UPDATED
        assert change.changed == {"qty", "price"}
        assert change.listing == Listing(
            template="t-red", last_price=Decimal("9.5"), last_quantity=3
        )

    def test_listing_defaults(self) -> None:
        """A listing is listed, auto-synced and not repriced by default."""
        assert unstructure(Listing()) == {
            "listed": True,
            "template": None,
            "price_managed_externally": False,
            "auto_sync": True,
            "last_quantity": None,
            "last_price": None,
            "status": None,
        }

    @pytest.mark.parametrize(
        ("data", "errors"),
        [
            (
                {"kind": "changed", "product": {"sku": "S"}},
                ["must be one of 'created', 'updated', 'deleted' (got 'changed') @ $.kind"],
            ),
            ({"kind": "updated"}, ["required field missing @ $.product"]),
            (
                {"kind": "updated", "product": {"sku": "S"}, "changed": "qty"},
                ["expected a list, got a string @ $.changed"],
            ),
            (
                {"kind": "updated", "product": {"sku": "S"}, "changed": ["qty", ""]},
                ["expected a list of non-empty attribute codes, got a string in it @ $.changed"],
            ),
            (
                {"kind": "updated", "product": {"sku": "S"}, "listing": {"last_quantity": -1}},
                ["must be >= 0 (got -1) @ $.listing.last_quantity"],
            ),
            (
                {"kind": "updated", "product": {"sku": "S"}, "listing": {"listed": 1}},
                ["expected a boolean, got an integer @ $.listing.listed"],
            ),
        ],
    )
    def test_invalid_changes(self, data: dict[str, Any], errors: list[str]) -> None:
        """Invalid changes are reported with their paths."""
        with pytest.raises(PolicyConfigError) as raised:
            structure(data, ProductChange)
        assert raised.value.errors == errors

    @pytest.mark.parametrize(
        "fields",
        [
            {"kind": "moved"},
            {"product": "S1"},
            {"changed": 5},
            {"changed": [["qty"]]},
            {"listing": {"listed": True}},
        ],
    )
    def test_invalid_values_in_python(self, fields: dict[str, Any]) -> None:
        """Invalid values given in Python raise PolicyConfigError, never a bare TypeError."""
        arguments: dict[str, Any] = {"kind": "updated", "product": SHIRT, **fields}
        with pytest.raises(PolicyConfigError):
            ProductChange(**arguments)

    @pytest.mark.parametrize(
        ("fields", "error"),
        [
            ({"last_quantity": "3"}, "expected an integer, got a string @ $.last_quantity"),
            ({"last_price": "9.9x"}, "expected money (a finite decimal number), got a string"),
            ({"template": 5}, "expected a string, got an integer @ $.template"),
        ],
    )
    def test_invalid_listing_in_python(self, fields: dict[str, Any], error: str) -> None:
        """A listing built in Python with a wrong type raises PolicyConfigError."""
        with pytest.raises(PolicyConfigError) as raised:
            Listing(**fields)
        assert raised.value.errors[0].startswith(error)

    def test_listing_price_given_as_a_number(self) -> None:
        """A listing's last price given as a Python number becomes a Decimal."""
        assert Listing(last_price=12.5).last_price == Decimal("12.5")


class TestListingTemplate:
    """Listing templates (spec sections 6 and 8)."""

    def test_loads_a_text_condition(self) -> None:
        """A template loads with a text condition and dumps it back."""
        data = {
            "id": "t-red",
            "title": "Red",
            "condition": "color == 'Red'",
            "inventory_policy": "inventory",
            "pricing_policy": "pricing",
            "image_policy": "images",
        }
        template = structure(data, ListingTemplate)
        assert template.matches(SHIRT)
        assert not template.matches(attrs.evolve(SHIRT, attributes={}))
        assert structure(unstructure(template), ListingTemplate) == template

    def test_condition_tree_in_python(self) -> None:
        """A condition tree given in Python is compiled like a text."""
        template = attrs.evolve(
            TEMPLATES[0], condition={"field": "color", "op": "==", "value": "Red"}
        )
        assert template.matches(SHIRT)

    def test_blank_condition_matches_everything(self) -> None:
        """A blank condition text means no condition."""
        assert attrs.evolve(TEMPLATES[0], condition="  ").condition is None

    def test_invalid_condition_is_a_load_error(self) -> None:
        """A condition outside the language is a load error at the condition's path."""
        data = unstructure(TEMPLATES[0]) | {"condition": "__import__('os')"}
        with pytest.raises(PolicyConfigError) as raised:
            structure(data, ListingTemplate)
        assert all(error.endswith("@ $.condition") for error in raised.value.errors)

    @pytest.mark.parametrize(
        ("data", "errors"),
        [
            ({"id": ""}, ["must not be empty @ $.id"]),
            ({"pricing_policy": 5}, ["expected a string, got an integer @ $.pricing_policy"]),
            ({"condition": 5}, None),
        ],
    )
    def test_invalid_templates(self, data: dict[str, Any], errors: list[str] | None) -> None:
        """Invalid ids and conditions are reported with their paths."""
        with pytest.raises(PolicyConfigError) as raised:
            structure(unstructure(TEMPLATES[0]) | data, ListingTemplate)
        if errors is not None:
            assert raised.value.errors == errors
        else:
            assert raised.value.errors[0].endswith("@ $.condition")

    def test_wrong_condition_type_in_python(self) -> None:
        """A condition of the wrong type given in Python is a PolicyConfigError."""
        with pytest.raises(PolicyConfigError, match=r"expected a condition .* @ \$\.condition"):
            attrs.evolve(TEMPLATES[0], condition=5)


class TestDiffProducts:
    """diff_products: the changed codes between two snapshots."""

    @pytest.mark.parametrize(
        ("change", "codes"),
        [
            ({"name": "Red shirt"}, {"name"}),
            ({"price": Decimal("21")}, {"price"}),
            ({"special_price": Decimal("15")}, {"special_price"}),
            ({"special_from": date(2026, 1, 1)}, {"special_from"}),
            ({"special_to": date(2026, 1, 31)}, {"special_to"}),
            ({"enabled": False}, {"enabled"}),
            ({"visibility": Visibility.CATALOG}, {"visibility"}),
            ({"categories": ("Men",)}, {"categories"}),
            ({"images": (Image(file="/a.jpg"),)}, {"images"}),
            ({"attribute_set": "Top"}, {"attribute_set"}),
            ({"type": "virtual"}, {"type"}),
            ({"parent_sku": "P1"}, {"parent_sku"}),
            ({"sku": "SHIRT-2"}, {"sku"}),
            ({"attributes": {"color": "Blue"}}, {"color"}),
            ({"attributes": {"color": "Red", "size": "M"}}, {"size"}),
            ({"attributes": {}}, {"color"}),
            ({"attributes": {"color": "Red", "size": None}}, set()),
            ({"price": Decimal("20.0")}, set()),
            ({"stock": Stock(qty=5)}, {"stock"}),
        ],
    )
    def test_product_fields(self, change: dict[str, Any], codes: set[str]) -> None:
        """Each product field and attribute that differs gives its code."""
        assert diff_products(SHIRT, attrs.evolve(SHIRT, **change)) == codes

    def test_attribute_type_change(self) -> None:
        """A flag replacing an equal integer (1 → True) is a change."""
        before = attrs.evolve(SHIRT, attributes={"featured": 1})
        after = attrs.evolve(SHIRT, attributes={"featured": True})
        assert diff_products(before, after) == {"featured"}

    @pytest.mark.parametrize(
        ("change", "codes"),
        [
            ({"qty": 4}, {"qty"}),
            ({"sources": (SourceItem(code="us", qty=5),)}, {"qty"}),
            ({"reserved": -2}, {"qty"}),
            ({"in_stock": False}, {"in_stock"}),
            ({"manage_stock": False}, {"stock"}),
            ({"out_of_stock_threshold": 2}, {"stock"}),
            ({"qty": 0, "in_stock": False}, {"qty", "in_stock"}),
        ],
    )
    def test_stock(self, change: dict[str, Any], codes: set[str]) -> None:
        """Stock changes give qty, in_stock or stock."""
        before = attrs.evolve(SHIRT, stock=Stock(qty=5))
        after = attrs.evolve(SHIRT, stock=attrs.evolve(Stock(qty=5), **change))
        assert diff_products(before, after) == codes

    def test_stock_record_disappears(self) -> None:
        """A stock record that disappears is a stock change."""
        before = attrs.evolve(SHIRT, stock=Stock(qty=5))
        assert diff_products(before, SHIRT) == {"stock"}

    def test_feeds_decide_sync(self) -> None:
        """The codes drive decide_sync: a stock change goes out as a quantity update."""
        before = attrs.evolve(SHIRT, stock=Stock(qty=5))
        after = attrs.evolve(SHIRT, stock=Stock(qty=4))
        decision = _decide(_policy(), changed=sorted(diff_products(before, after)))
        assert decision.action is PRICE_INVENTORY
        assert decision.fields == {QUANTITY}

    @given(products(max_images=1))
    def test_no_change_from_itself(self, product: Product) -> None:
        """diff_products(p, p) == frozenset()."""
        assert diff_products(product, product) == frozenset()
        assert diff_products(product, attrs.evolve(product)) == frozenset()

    @given(products(max_images=1), products(max_images=1))
    def test_symmetric(self, before: Product, after: Product) -> None:
        """What changed from a to b is what changed from b to a."""
        assert diff_products(before, after) == diff_products(after, before)

    @given(
        products(max_images=1),
        products(max_images=1),
        st.sets(st.sampled_from(PRODUCT_FIELDS)),
    )
    def test_product_fields_that_differ(
        self, before: Product, other: Product, names: set[str]
    ) -> None:
        """Copying some fields of another product changes exactly those whose value differs."""
        after = attrs.evolve(before, **{name: getattr(other, name) for name in names})
        expected = {name for name in names if getattr(before, name) != getattr(after, name)}
        assert diff_products(before, after) == expected

    @given(
        sync_products(),
        st.dictionaries(st.sampled_from(ATTRIBUTE_CODES), attribute_values(), max_size=4),
    )
    def test_attribute_codes_that_differ(
        self, before: Product, attributes: dict[str, AttributeValue]
    ) -> None:
        """Replacing the attributes changes exactly the codes whose value differs."""
        after = attrs.evolve(before, attributes=attributes)
        old, new = before.attributes, after.attributes
        expected = {
            code
            for code in old.keys() | new.keys()
            if type(old.get(code)) is not type(new.get(code)) or old.get(code) != new.get(code)
        }
        assert diff_products(before, after) == expected


# ----------------------------------------------------------------------------- properties


def _visible(change: ProductChange, policy: SyncPolicy) -> bool:
    hidden = change.product.visibility is Visibility.NOT_VISIBLE_INDIVIDUALLY
    return not hidden or policy.sync_not_visible_individually


class TestInvariants:
    """Invariants of spec 7.3 and 7.4 over generated policies, changes and templates."""

    @given(sync_policies(), product_changes(), TEMPLATE_LISTS)
    def test_reasons_never_empty(
        self, policy: SyncPolicy, change: ProductChange, templates: list[ListingTemplate]
    ) -> None:
        """ "reasons (tuple of {code, message}, never empty)": and every reason has a message."""
        decision = decide_sync(change, policy, templates=templates)
        assert decision.reasons
        for reason in decision.reasons:
            assert reason.message
            assert reason.message != " ".join(map(str, reason))

    @given(
        sync_policies(),
        product_changes(),
        TEMPLATE_LISTS,
        st.none() | st.sampled_from(list(BUILTIN_CHANNELS.values())),
    )
    def test_fields_are_enabled_fields(
        self,
        policy: SyncPolicy,
        change: ProductChange,
        templates: list[ListingTemplate],
        channel: ChannelProfile | None,
    ) -> None:
        """ "Enabled fields": what is sent is both a policy field and a channel field."""
        decision = decide_sync(change, policy, templates=templates, channel_fields=channel)
        if channel is not None:
            assert decision.fields <= channel.fields
        elif policy.channel is not None and policy.channel in BUILTIN_CHANNELS:
            assert decision.fields <= BUILTIN_CHANNELS[policy.channel].fields
        if policy.fields is not None:
            assert decision.fields <= policy.fields

    @given(
        sync_policies(),
        product_changes(listing=listings(listed=True, price_managed_externally=True)),
        TEMPLATE_LISTS,
    )
    def test_repricer_never_gets_a_price(
        self, policy: SyncPolicy, change: ProductChange, templates: list[ListingTemplate]
    ) -> None:
        """ "price_managed_externally removes price from fields" of a listed product."""
        assert PRICE not in decide_sync(change, policy, templates=templates).fields

    @given(
        sync_policies(sync_not_visible_individually=False),
        product_changes(
            product=sync_products().map(
                lambda p: attrs.evolve(p, visibility=Visibility.NOT_VISIBLE_INDIVIDUALLY)
            )
        ),
        TEMPLATE_LISTS,
    )
    def test_hidden_products_are_never_synced(
        self, policy: SyncPolicy, change: ProductChange, templates: list[ListingTemplate]
    ) -> None:
        """Rule 1: a not-visible-individually product under the switch off is never uploaded or
        updated: none while it is off the channel, and a listed one is only ever delisted."""
        decision = decide_sync(change, policy, templates=templates)
        listing = change.listing
        if listing is None or not listing.listed:
            assert decision.action is NONE
            assert [reason.code for reason in decision.reasons] == ["not_visible_individually"]
        else:
            assert decision.action in (NONE, DELIST)
            assert decision.fields == frozenset()
            assert (decision.action is DELIST) == policy.product_update

    @given(sync_policies(), product_changes(), TEMPLATE_LISTS)
    def test_fields_empty_exactly_for_none_and_delist(
        self, policy: SyncPolicy, change: ProductChange, templates: list[ListingTemplate]
    ) -> None:
        """ "An action left with no field becomes none": only none and delist carry no field."""
        decision = decide_sync(change, policy, templates=templates)
        assert (not decision.fields) == (decision.action in (NONE, DELIST))

    @given(sync_policies(), product_changes(), TEMPLATE_LISTS)
    def test_logs_follow_the_policy(
        self, policy: SyncPolicy, change: ProductChange, templates: list[ListingTemplate]
    ) -> None:
        """Rule 5: log_activity = activity_log; log_feed = feed_log and the action is not none."""
        decision = decide_sync(change, policy, templates=templates)
        assert decision.log_activity is policy.activity_log
        assert decision.log_feed is (policy.feed_log and decision.action is not NONE)

    @given(sync_policies(), product_changes(), TEMPLATE_LISTS)
    def test_switches_are_obeyed(
        self, policy: SyncPolicy, change: ProductChange, templates: list[ListingTemplate]
    ) -> None:
        """No upload without Product Upload; no update or delisting without Product Update;
        no quantity or price in an update without Inventory/Price Sync."""
        decision = decide_sync(change, policy, templates=templates)
        if not policy.product_upload:
            assert decision.action is not UPLOAD
        if not policy.product_update:
            assert decision.action not in (UPDATE, PRICE_INVENTORY, DELIST)
        if not policy.inventory_price_sync and decision.action is not UPLOAD:
            assert not decision.fields & QUANTITY_PRICE
        if decision.action is PRICE_INVENTORY:
            assert decision.fields <= QUANTITY_PRICE

    @given(sync_policies(), product_changes(), TEMPLATE_LISTS)
    def test_template_and_assignment(
        self, policy: SyncPolicy, change: ProductChange, templates: list[ListingTemplate]
    ) -> None:
        """Rule 2: the listing's template, else the first match; assign_to is that template."""
        decision = decide_sync(change, policy, templates=templates)
        if not _visible(change, policy):
            return
        listing = change.listing
        if listing is not None and listing.template is not None:
            assert decision.template == listing.template
        else:
            matching = [template.id for template in templates if template.matches(change.product)]
            assert decision.template == (matching[0] if matching else None)
        assert decision.assign_to in (None, decision.template)
        if decision.assign_to is not None:
            assert policy.product_assign
            assert listing is None or (not listing.listed and listing.template is None)

    @given(
        sync_policies(product_update=True, inventory_price_sync=True),
        product_changes(
            kind=ChangeKind.UPDATED,
            listing=listings(listed=True, price_managed_externally=False),
        ),
        st.sampled_from(["qty", "price"]),
    )
    def test_stock_never_goes_stale(
        self, policy: SyncPolicy, change: ProductChange, code: str
    ) -> None:
        """ "The observed-attribute filter never blocks quantity and price": an enabled quantity or
        price change of a listed product is always sent under Inventory/Price Sync."""
        change = attrs.evolve(change, changed=change.changed | {code})
        field = fields_for_changes([code])
        decision = decide_sync(change, policy)
        if _visible(change, policy) and field <= policy.enabled_fields():
            assert field <= decision.fields
            assert decision.action in (UPDATE, PRICE_INVENTORY)

    @given(sync_policies(), product_changes(), TEMPLATE_LISTS)
    def test_decisions_are_deterministic(
        self, policy: SyncPolicy, change: ProductChange, templates: list[ListingTemplate]
    ) -> None:
        """Pure decisions: the same inputs give the same decision, also after a JSON round trip."""
        decision = decide_sync(change, policy, templates=templates)
        loaded_policy = structure(unstructure(policy), SyncPolicy)
        loaded_change = structure(unstructure(change), ProductChange)
        assert decide_sync(loaded_change, loaded_policy, templates=templates) == decision


class TestRoundTrips:
    """structure(unstructure(x), type(x)) == x for every model of this section."""

    @given(sync_policies())
    def test_sync_policy(self, policy: SyncPolicy) -> None:
        """SyncPolicy round-trips through JSON."""
        assert structure(unstructure(policy), SyncPolicy) == policy

    @given(listings())
    def test_listing(self, listing: Listing) -> None:
        """Listing round-trips through JSON."""
        assert structure(unstructure(listing), Listing) == listing

    @given(product_changes())
    def test_product_change(self, change: ProductChange) -> None:
        """ProductChange round-trips through JSON."""
        assert structure(unstructure(change), ProductChange) == change

    @given(listing_templates())
    def test_listing_template(self, template: ListingTemplate) -> None:
        """ListingTemplate round-trips through JSON."""
        assert structure(unstructure(template), ListingTemplate) == template

    @given(sync_policies(), product_changes(), TEMPLATE_LISTS)
    def test_sync_decision(
        self, policy: SyncPolicy, change: ProductChange, templates: list[ListingTemplate]
    ) -> None:
        """SyncDecision round-trips through JSON, reasons included."""
        decision = decide_sync(change, policy, templates=templates)
        assert structure(unstructure(decision), SyncDecision) == decision

    @given(st.sampled_from(list(BUILTIN_CHANNELS.values())))
    def test_channel_profile(self, profile: ChannelProfile) -> None:
        """ChannelProfile round-trips through JSON."""
        assert structure(unstructure(profile), ChannelProfile) == profile


class TestStrategies:
    """The strategies' options narrow what they generate."""

    @given(product_changes(on_channel=True))
    def test_on_channel(self, change: ProductChange) -> None:
        """on_channel=True always gives a listed listing."""
        assert change.listing is not None
        assert change.listing.listed

    @given(product_changes(on_channel=False, kind="deleted"))
    def test_off_channel(self, change: ProductChange) -> None:
        """on_channel=False gives no listing or an unlisted one; kind pins the change kind."""
        assert change.listing is None or not change.listing.listed
        assert change.kind is ChangeKind.DELETED

    @given(sync_policies(channel="otto", restricted_fields=True, observed=True, feed_log=True))
    def test_sync_policy_options(self, policy: SyncPolicy) -> None:
        """channel, restricted_fields, observed and switches pin what they name."""
        assert policy.channel == "otto"
        assert policy.fields is not None
        assert policy.fields <= BUILTIN_CHANNELS["otto"].fields
        assert policy.observed_attributes
        assert policy.feed_log

    @given(sync_policies(product_update=False))
    def test_price_sync_follows_product_update(self, policy: SyncPolicy) -> None:
        """With product_update pinned off, inventory_price_sync is off too (a valid policy)."""
        assert not policy.inventory_price_sync

    def test_unknown_switch(self) -> None:
        """A switch name that is not a policy switch is a TypeError naming the known ones."""

        @given(sync_policies(product_updates=False))
        def draw(policy: SyncPolicy) -> None:
            """Draws one policy."""

        with pytest.raises(TypeError, match="unknown switches"):
            draw()

    def test_contradictory_switches(self) -> None:
        """inventory_price_sync=True with product_update=False cannot be generated."""

        @given(sync_policies(product_update=False, inventory_price_sync=True))
        def draw(policy: SyncPolicy) -> None:
            """Draws one policy."""

        with pytest.raises(ValueError, match="needs product_update=True"):
            draw()


class TestExactBehaviour:
    """Reasons, their arguments and the template of every outcome, pinned one by one."""

    def test_unobserved_attributes_leave_out_quantity_and_price_codes(self) -> None:
        """The unobserved-attributes reason names the attribute codes only, not qty or price."""
        policy = _policy(observed_attributes=["color"], inventory_price_sync=False)
        decision = _decide(policy, changed=["size", "qty"])
        assert decision.reasons == (
            ("unobserved_attributes", "size", "color"),
            ("inventory_price_sync_disabled", "quantity"),
        )

    def test_fields_not_synced_names_other_and_quantity_fields_together(self) -> None:
        """Fields the policy does not send are reported together: attributes and quantity."""
        decision = _decide(_policy(fields=["title"]), changed=["color", "qty"])
        assert decision.action is NONE
        assert decision.reasons == (("fields_not_synced", "attributes, quantity"),)

    def test_repricer_flag_alone_does_not_block_an_unsent_quantity(self) -> None:
        """A repricer-managed listing whose quantity is not sent is not blocked by the repricer."""
        listing = Listing(price_managed_externally=True)
        decision = _decide(_policy(fields=["price", "title"]), changed=["qty"], listing=listing)
        assert decision.reasons == (("fields_not_synced", "quantity"),)

    def test_full_update_names_custom_attribute_codes(self) -> None:
        """A full update lists every changed code of a sent field, custom attributes included."""
        decision = _decide(_policy(), changed=["color", "name"])
        assert decision.action is UPDATE
        assert decision.reasons == (("full_update", "color, name"),)

    def test_upload_without_enabled_fields_keeps_template_and_assignment(self) -> None:
        """An upload with no field in common with the channel sends nothing but still assigns."""
        policy = SyncPolicy(title="T", fields=["weight"], product_assign=True)
        decision = _decide(policy, listing=None, channel_fields=[QUANTITY])
        assert (decision.action, decision.template, decision.assign_to) == (NONE, "t-red", "t-red")
        assert _codes(decision) == ["no_enabled_fields"]

    def test_full_update_without_enabled_fields_keeps_the_template(self) -> None:
        """A full update with no field in common with the channel sends nothing, template kept."""
        policy = SyncPolicy(title="T", fields=["weight"])
        decision = _decide(policy, kind="created", channel_fields=[QUANTITY])
        assert (decision.action, decision.template) == (NONE, "t-red")
        assert _codes(decision) == ["no_enabled_fields"]

    def test_full_update_of_quantity_and_price_only_with_price_sync_off(self) -> None:
        """A full update whose fields are only quantity and price, with the price sync off, is none."""
        policy = _policy(fields=["quantity", "price"], inventory_price_sync=False)
        decision = _decide(policy, kind="created")
        assert (decision.action, decision.template) == (NONE, "t-red")
        assert decision.reasons == (("inventory_price_sync_disabled", "price, quantity"),)

    def test_full_update_without_quantity_and_price_fields_keeps_the_template(self) -> None:
        """A full update of a policy sending neither quantity nor price carries the template."""
        policy = _policy(fields=["title"], inventory_price_sync=False)
        decision = _decide(policy, changed=["name"])
        assert (decision.action, decision.template) == (UPDATE, "t-red")
        assert decision.fields == {SyncField.TITLE}
        assert decision.reasons == (("full_update", "name"),)

    def test_update_disabled_keeps_the_template(self) -> None:
        """Product Update off: none, with the listing's template."""
        decision = _decide(
            _policy(product_update=False, inventory_price_sync=False), changed=["qty"]
        )
        assert (decision.action, decision.template) == (NONE, "t-red")

    def test_repricer_quantity_update_keeps_the_template(self) -> None:
        """A quantity update next to a repricer's price carries the template."""
        listing = Listing(price_managed_externally=True)
        decision = _decide(_policy(), changed=["price", "qty"], listing=listing)
        assert (decision.action, decision.template) == (PRICE_INVENTORY, "t-red")

    @pytest.mark.parametrize(
        ("fields", "error"),
        [
            ({"product": 42}, "expected a product, got an integer @ $.product"),
            ({"listing": "yes"}, "expected a listing or null, got a string @ $.listing"),
            ({"changed": "qty"}, "expected a list of attribute codes, got a string @ $.changed"),
            ({"changed": 42}, "expected a list of attribute codes, got an integer @ $.changed"),
            ({"kind": [1]}, "must be one of 'created', 'updated', 'deleted' (got a list) @ $.kind"),
            (
                {"kind": "changed"},
                "must be one of 'created', 'updated', 'deleted' (got 'changed') @ $.kind",
            ),
        ],
    )
    def test_change_parts_are_checked_by_type(self, fields: dict[str, Any], error: str) -> None:
        """A change built in Python names the wrong product or listing value it was given."""
        arguments: dict[str, Any] = {"kind": "updated", "product": SHIRT, **fields}
        with pytest.raises(PolicyConfigError) as caught:
            ProductChange(**arguments)
        assert caught.value.errors == [error]

    @pytest.mark.parametrize(
        ("listing", "changed", "fields", "action"),
        [
            (Listing(), (), {"fields": ["title"]}, NONE),
            (Listing(), ("weight",), {}, NONE),
            (Listing(price_managed_externally=True), ("name",), {}, UPDATE),
            (
                Listing(price_managed_externally=True),
                ("color",),
                {"fields": ["price"], "observed_attributes": ["color"]},
                NONE,
            ),
        ],
    )
    def test_every_outcome_of_a_listed_product_keeps_the_template(
        self,
        listing: Listing,
        changed: tuple[str, ...],
        fields: dict[str, Any],
        action: SyncAction,
    ) -> None:
        """Nothing changed, a blocked change and both repricer outcomes name the template."""
        decision = _decide(_policy(**fields), changed=changed, listing=listing)
        assert (decision.action, decision.template) == (action, "t-red")

    def test_delist_keeps_the_template(self) -> None:
        """A deleted listed product is delisted with its template named."""
        decision = _decide(_policy(), kind="deleted")
        assert (decision.action, decision.template) == (DELIST, "t-red")

    def test_limits_on_changed_codes_are_inclusive(self) -> None:
        """MAX_ITEMS changed codes and a code of MAX_ID_LENGTH characters are accepted."""
        codes = [f"c{index}" for index in range(MAX_ITEMS)]
        assert len(ProductChange(kind="updated", product=SHIRT, changed=codes).changed) == MAX_ITEMS
        long_code = "a" * MAX_ID_LENGTH
        assert ProductChange(kind="updated", product=SHIRT, changed=[long_code]).changed == {
            long_code
        }
        policy = SyncPolicy(title="T", observed_attributes=[long_code])
        assert policy.observed_attributes == (long_code,)

    def test_too_long_codes_are_named_in_the_error(self) -> None:
        """A code one character too long is refused, quoted (clipped) in the message."""
        code = "a" * (MAX_ID_LENGTH + 1)
        message = (
            f"attribute codes must be at most {MAX_ID_LENGTH} characters long, got '{'a' * 40}…'"
        )
        with pytest.raises(PolicyConfigError) as caught:
            ProductChange(kind="updated", product=SHIRT, changed=[code])
        assert caught.value.errors == [f"{message} @ $.changed"]
        with pytest.raises(PolicyConfigError) as caught:
            SyncPolicy(title="T", observed_attributes=[code])
        assert caught.value.errors == [f"{message} @ $.observed_attributes"]
