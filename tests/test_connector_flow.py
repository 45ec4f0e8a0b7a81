"""A connector's whole flow: every path agrees on a listing's template, values and fields.

Each class pins one defect found by joining the pieces the way a connector does (configuration,
``evaluate_listing``, ``sync_listing``, ``plan_stock_sync``, ``preview_change``, ``lint``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine import (
    ChannelListing,
    Configuration,
    Listing,
    Product,
    ProductChange,
    Stock,
    StockEvent,
    SyncAction,
    SyncField,
    Visibility,
    evaluate_listing,
    lint,
    load_config,
    plan_stock_sync,
    preview_change,
    sent_fields,
    sync_listing,
)
from policy_engine.testing import products

ON = date(2026, 1, 1)
AT = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
NONE, UPDATE = SyncAction.NONE, SyncAction.UPDATE
PRICE_INVENTORY, DELIST = SyncAction.UPDATE_PRICE_INVENTORY, SyncAction.DELIST


def _document(**changes: Any) -> dict[str, Any]:
    """Two templates on one AliExpress account: ``premium`` (price >= 100) lists at most 35,
    ``cheap`` (every product) at most 20."""
    document: dict[str, Any] = {
        "version": 1,
        "sync_policies": {"ali": {"title": "AliExpress", "channel": "aliexpress"}},
        "inventory_policies": {
            "thirty-five": {"title": "At most 35", "max_quantity": 35},
            "twenty": {"title": "At most 20", "max_quantity": 20},
        },
        "pricing_policies": {"regular": {"title": "Regular price"}},
        "image_policies": {"store": {"title": "Store images", "gallery_limit": 6}},
        "templates": [
            {
                "id": "premium",
                "title": "Premium",
                "condition": "price >= 100",
                "inventory_policy": "thirty-five",
                "pricing_policy": "regular",
                "image_policy": "store",
            },
            {
                "id": "cheap",
                "title": "Everything else",
                "inventory_policy": "twenty",
                "pricing_policy": "regular",
                "image_policy": "store",
            },
        ],
        "accounts": [{"id": "ae", "channel": "aliexpress", "sync_policy": "ali"}],
    }
    document.update(changes)
    return document


CONFIG = load_config(_document())
PRODUCT = Product(sku="MJ01", price=Decimal("120.00"), stock=Stock(qty=50))


def _change(
    product: Product = PRODUCT,
    *,
    kind: str = "updated",
    changed: tuple[str, ...] = ("qty",),
    listing: Listing | None = None,
) -> ProductChange:
    return ProductChange(kind=kind, product=product, changed=changed, listing=listing)


def _codes(decision: Any) -> list[str]:
    return [reason.code for reason in decision.reasons]


def _event(stock: Stock, **fields: Any) -> StockEvent:
    return StockEvent(sku="MJ01", source="manual_adjustment", stock=stock, at=AT, **fields)


class TestOneTemplateRule:
    """One rule decides a listing's template everywhere: its stored template, else a match."""

    LISTING = Listing(template="cheap")

    def test_stored_template_decides_quantity_on_every_path(self) -> None:
        """A product listed under ``cheap`` whose price now matches ``premium`` keeps ``cheap``
        in evaluate_listing, sync_listing and plan_stock_sync alike: 20 everywhere, not 35."""
        outcome = evaluate_listing(CONFIG, PRODUCT, "ae", on=ON, listing=self.LISTING)
        decision = sync_listing(CONFIG, _change(listing=self.LISTING), "ae", on=ON)
        channel_listing = ChannelListing(account="ae", sku="MJ01", template="cheap")
        plan = plan_stock_sync(_event(PRODUCT.stock or Stock()), [channel_listing], CONFIG)
        assert outcome.template == decision.template == "cheap"
        assert outcome.quantity is not None
        assert outcome.quantity.quantity == plan.updates[0].quantity == 20
        assert [step.code for step in outcome.reasons] == ["listing_template"]

    def test_without_a_listing_the_first_match_decides(self) -> None:
        """Without a listing (or with no stored template) the first matching template is used."""
        for listing in (None, Listing()):
            outcome = evaluate_listing(CONFIG, PRODUCT, "ae", on=ON, listing=listing)
            assert outcome.template == "premium"
            assert outcome.quantity is not None
            assert outcome.quantity.quantity == 35

    def test_a_channel_listing_is_accepted(self) -> None:
        """The stock sync's ChannelListing serves as the listing too."""
        listing = ChannelListing(account="ae", sku="MJ01", template="cheap")
        outcome = evaluate_listing(CONFIG, PRODUCT, "ae", on=ON, listing=listing)
        assert outcome.template == "cheap"

    def test_stored_template_that_no_longer_exists(self) -> None:
        """A stored template the configuration lacks gives no template on every path, reason
        no_template naming it; a deletion still delists."""
        listing = Listing(template="gone")
        outcome = evaluate_listing(CONFIG, PRODUCT, "ae", on=ON, listing=listing)
        assert (outcome.template, outcome.quantity, outcome.price) == (None, None, None)
        assert [(step.code, step.args) for step in outcome.reasons] == [("no_template", ("gone",))]
        decision = sync_listing(CONFIG, _change(listing=listing), "ae")
        assert decision.action is NONE
        assert _codes(decision) == ["no_template"]
        assert decision.fields == frozenset()
        assert not decision.log_feed
        unlisted = Listing(listed=False, template="gone")
        assert _codes(sync_listing(CONFIG, _change(kind="created", listing=unlisted), "ae")) == [
            "no_template"
        ]
        deleted = sync_listing(CONFIG, _change(kind="deleted", listing=listing), "ae")
        assert deleted.action is DELIST
        channel_listing = ChannelListing(account="ae", sku="MJ01", template="gone")
        plan = plan_stock_sync(_event(Stock(qty=5)), [channel_listing], CONFIG)
        assert [skip.reason.code for skip in plan.skipped] == ["no_template"]

    def test_listed_product_that_no_template_serves_gets_nothing(self) -> None:
        """A listed product matching no template is not sent a price that cannot be computed:
        sync_listing says none (no_matching_template), as evaluate_listing lists nothing."""
        only_premium = load_config(_document(templates=_document()["templates"][:1]))
        cheap = attrs.evolve(PRODUCT, price=Decimal("12.00"))
        change = _change(cheap, changed=("price",), listing=Listing())
        decision = sync_listing(only_premium, change, "ae")
        outcome = evaluate_listing(only_premium, cheap, "ae", listing=Listing())
        assert outcome.template is None
        assert decision.action is NONE
        assert _codes(decision) == ["no_matching_template"]
        deleted = sync_listing(
            only_premium, _change(cheap, kind="deleted", listing=Listing()), "ae"
        )
        assert deleted.action is DELIST

    @given(
        product=products(),
        kind=st.sampled_from(["created", "updated", "deleted"]),
        changed=st.sets(st.sampled_from(["qty", "price", "name", "color", "msrp"])),
        template=st.sampled_from([None, "premium", "cheap", "gone"]),
        listed=st.booleans(),
    )
    def test_a_decision_that_sends_values_has_them(
        self, product: Product, kind: str, changed: set[str], template: str | None, listed: bool
    ) -> None:
        """Whenever sync_listing sends quantity or price, evaluate_listing for the same listing
        has the same template and a quantity, and a price or a price error."""
        listing = Listing(listed=listed, template=template)
        change = ProductChange(kind=kind, product=product, changed=changed, listing=listing)
        decision = sync_listing(CONFIG, change, "ae", on=ON)
        outcome = evaluate_listing(CONFIG, product, "ae", on=ON, listing=listing)
        if decision.fields & {SyncField.QUANTITY, SyncField.PRICE}:
            assert decision.template == outcome.template is not None
            assert outcome.quantity is not None
            assert outcome.price is not None or any(e.what == "price" for e in outcome.errors)


class TestEffectivePolicyAttributes:
    """Changed codes map to fields through the listing template's effective policies."""

    CONFIG = load_config(
        _document(
            sync_policies={
                "ali": {
                    "title": "Only colour",
                    "channel": "aliexpress",
                    "observed_attributes": ["color", "images"],
                }
            },
            pricing_policies={"msrp": {"title": "MSRP", "price_attribute": "msrp"}},
            image_policies={
                "store": {
                    "title": "Marketplace image",
                    "main_image_attribute": "marketplace_image",
                    "gallery_limit": 6,
                }
            },
            templates=[
                {
                    "id": "all",
                    "title": "All",
                    "inventory_policy": "twenty",
                    "pricing_policy": "msrp",
                    "image_policy": "store",
                }
            ],
        )
    )
    PRODUCT = Product(
        sku="MJ01",
        price=Decimal("80.00"),
        attributes={"msrp": "109.99", "marketplace_image": "https://cdn.example.com/a.jpg"},
        stock=Stock(qty=5),
    )

    def test_a_price_attribute_change_sends_the_price(self) -> None:
        """Under Only Specific Attributes Syncing, a change to the pricing policy's attribute
        (msrp) is a price change: the price goes out, it never goes stale."""
        listing = Listing(template="all", last_price=Decimal("87.99"))
        decision = sync_listing(
            self.CONFIG, _change(self.PRODUCT, changed=("msrp",), listing=listing), "ae", on=ON
        )
        assert decision.action is PRICE_INVENTORY
        assert decision.fields == {SyncField.PRICE}
        outcome = evaluate_listing(self.CONFIG, self.PRODUCT, "ae", on=ON, listing=listing)
        assert outcome.price is not None
        assert outcome.price.amount == Decimal("109.99")

    def test_a_price_change_with_its_attribute(self) -> None:
        """A change to both the price attribute and the price is one price change."""
        listing = Listing(template="all")
        change = _change(self.PRODUCT, changed=("msrp", "price"), listing=listing)
        decision = sync_listing(self.CONFIG, change, "ae", on=ON)
        assert decision.action is PRICE_INVENTORY
        assert decision.fields == {SyncField.PRICE}

    def test_a_main_image_attribute_change_is_an_image_change(self) -> None:
        """A change to the image policy's main image attribute counts as ``images``: observed
        ``images`` sends the listing with its images."""
        listing = Listing(template="all")
        change = _change(self.PRODUCT, changed=("marketplace_image",), listing=listing)
        decision = sync_listing(self.CONFIG, change, "ae", on=ON)
        assert decision.action is UPDATE
        assert SyncField.IMAGES in decision.fields
        assert _codes(decision) == ["full_update"]

    def test_the_fixed_table_alone_would_block_them(self) -> None:
        """decide_sync alone (no policies) keeps the fixed table: msrp is an attribute."""
        from policy_engine import decide_sync

        listing = Listing(template="all")
        policy = self.CONFIG.sync_policies["ali"]
        decision = decide_sync(_change(self.PRODUCT, changed=("msrp",), listing=listing), policy)
        assert decision.action is NONE
        assert _codes(decision) == ["unobserved_attributes"]


class TestDisabledProducts:
    """A disabled product lists 0 on every path and is never uploaded."""

    DISABLED = attrs.evolve(PRODUCT, enabled=False, stock=Stock(qty=55))

    def test_a_stock_event_of_a_disabled_product_sends_zero(self) -> None:
        """The stock event of a disabled product sends 0 (product_disabled), not its stock."""
        listing = ChannelListing(account="ae", sku="MJ01", template="cheap", last_quantity=10)
        plan = plan_stock_sync(_event(Stock(qty=55), enabled=False), [listing], CONFIG)
        assert [(u.quantity, u.rule.value) for u in plan.updates] == [(0, "product_disabled")]
        outcome = evaluate_listing(CONFIG, self.DISABLED, "ae", listing=Listing(template="cheap"))
        assert outcome.quantity is not None
        assert outcome.quantity.quantity == 0

    def test_zero_already_sent_is_unchanged(self) -> None:
        """A disabled product whose listing already shows 0 gets nothing more."""
        listing = ChannelListing(account="ae", sku="MJ01", template="cheap", last_quantity=0)
        plan = plan_stock_sync(_event(Stock(qty=55), enabled=False), [listing], CONFIG)
        assert plan.updates == ()
        assert [skip.reason.code for skip in plan.skipped] == ["unchanged"]

    def test_stock_event_loads_enabled_from_json(self) -> None:
        """``enabled`` is part of the stock event's JSON, default true."""
        from policy_engine import structure, unstructure

        event = _event(Stock(qty=1), enabled=False)
        assert unstructure(event)["enabled"] is False
        assert structure(unstructure(event), StockEvent) == event
        assert _event(Stock(qty=1)).enabled is True

    @pytest.mark.parametrize("kind", ["created", "updated"])
    def test_a_disabled_product_is_not_uploaded(self, kind: str) -> None:
        """A disabled (draft) product that is not on the channel is not uploaded."""
        decision = sync_listing(CONFIG, _change(self.DISABLED, kind=kind), "ae")
        assert decision.action is NONE
        assert _codes(decision) == ["disabled_not_uploaded", "template_assigned"]
        assert decision.assign_to == "premium"

    def test_a_disabled_product_without_product_assign(self) -> None:
        """Without Product Assign the disabled product is not assigned either."""
        document = _document()
        document["sync_policies"]["ali"]["product_assign"] = False
        decision = sync_listing(load_config(document), _change(self.DISABLED, kind="created"), "ae")
        assert _codes(decision) == ["disabled_not_uploaded"]
        assert decision.assign_to is None

    def test_a_listed_disabled_product_gets_zero(self) -> None:
        """Disabling a listed product sends its quantity, which is 0."""
        listing = Listing(template="cheap", last_quantity=20)
        change = _change(self.DISABLED, changed=("enabled",), listing=listing)
        decision = sync_listing(CONFIG, change, "ae")
        assert decision.action is PRICE_INVENTORY
        assert decision.fields == {SyncField.QUANTITY}


class TestHiddenListedProducts:
    """A listed product that becomes not visible individually leaves the channel."""

    HIDDEN = attrs.evolve(PRODUCT, visibility=Visibility.NOT_VISIBLE_INDIVIDUALLY)

    @pytest.mark.parametrize(
        ("kind", "changed", "code"),
        [
            ("updated", ("visibility",), "delist_not_visible"),
            ("updated", ("qty",), "delist_not_visible"),
            ("deleted", (), "delist"),
        ],
    )
    def test_delisted(self, kind: str, changed: tuple[str, ...], code: str) -> None:
        """Every later change, the deletion included, delists it through sync_listing."""
        listing = Listing(template="cheap")
        decision = sync_listing(
            CONFIG, _change(self.HIDDEN, kind=kind, changed=changed, listing=listing), "ae"
        )
        assert decision.action is DELIST
        assert _codes(decision) == [code]
        assert decision.template == "cheap"


class TestUnchangedValues:
    """A quantity or price the channel already shows is not sent again."""

    def test_same_price_is_not_sent(self) -> None:
        """A price edit that leaves the channel price unchanged sends nothing (unchanged)."""
        listing = Listing(template="cheap", last_price=Decimal("120.0"), last_quantity=20)
        decision = sync_listing(CONFIG, _change(changed=("price",), listing=listing), "ae", on=ON)
        assert decision.action is NONE
        assert decision.fields == frozenset()
        assert not decision.log_feed
        assert [(r.code, r.args) for r in decision.reasons] == [
            ("price_inventory_update", ("price",)),
            ("unchanged", ("price 120.00 USD",)),
        ]
        assert decision.reasons[-1].message == (
            "the channel already shows price 120.00 USD: nothing to send"
        )

    def test_only_the_changed_value_is_sent(self) -> None:
        """Of quantity and price, only the one that differs from the last sent goes out."""
        listing = Listing(template="cheap", last_price=Decimal("99.00"), last_quantity=20)
        change = _change(changed=("price", "qty"), listing=listing)
        decision = sync_listing(CONFIG, change, "ae", on=ON)
        assert decision.action is PRICE_INVENTORY
        assert decision.fields == {SyncField.PRICE}
        assert _codes(decision)[-1] == "unchanged"

    def test_a_full_update_drops_only_the_unchanged_values(self) -> None:
        """A full update still sends the other fields; unchanged quantity and price are dropped."""
        listing = Listing(template="cheap", last_price=Decimal("120.00"), last_quantity=20)
        decision = sync_listing(CONFIG, _change(changed=("name",), listing=listing), "ae", on=ON)
        assert decision.action is UPDATE
        assert SyncField.TITLE in decision.fields
        assert not decision.fields & {SyncField.QUANTITY, SyncField.PRICE}
        assert _codes(decision) == ["full_update", "unchanged", "unchanged"]

    def test_without_last_values_everything_goes(self) -> None:
        """Without last_quantity and last_price nothing is compared."""
        decision = sync_listing(CONFIG, _change(changed=("price",), listing=Listing()), "ae")
        assert decision.fields == {SyncField.PRICE}

    def test_an_unpriceable_product_keeps_its_price_field(self) -> None:
        """A price that cannot be computed is not called unchanged: evaluate_listing reports it."""
        unpriced = attrs.evolve(PRODUCT, price=None)
        listing = Listing(template="cheap", last_price=Decimal("1.00"))
        decision = sync_listing(
            CONFIG, _change(unpriced, changed=("price",), listing=listing), "ae"
        )
        assert decision.fields == {SyncField.PRICE}

    def test_a_disabled_product_compares_zero(self) -> None:
        """A disabled product's quantity is 0 when compared with the last one sent."""
        listing = Listing(template="cheap", last_quantity=0)
        disabled = attrs.evolve(PRODUCT, enabled=False)
        decision = sync_listing(
            CONFIG, _change(disabled, changed=("enabled",), listing=listing), "ae"
        )
        assert decision.action is NONE
        assert _codes(decision)[-1] == "unchanged"


class TestPreview:
    """preview_change reports what the channel would actually get."""

    CHILD = Product(
        sku="MH01-S",
        price=Decimal("52.00"),
        visibility=Visibility.NOT_VISIBLE_INDIVIDUALLY,
        stock=Stock(qty=22),
    )
    PARENT = Product(sku="MH01", price=Decimal("52.00"), stock=Stock(qty=22))

    @staticmethod
    def _with(**sync: Any) -> Configuration:
        document = _document()
        document["inventory_policies"]["twenty"]["buffer"] = sync.pop("buffer", 0)
        document["sync_policies"]["ali"].update(sync)
        return load_config(document)

    def test_hidden_children_are_not_an_impact(self) -> None:
        """Raising a buffer from 5 to 10 reports the visible product alone: sync never sends
        a hidden child, so its changed quantity is no impact on the channel."""
        changes = preview_change(
            self._with(buffer=5), self._with(buffer=10), [self.CHILD, self.PARENT]
        )
        assert [(c.sku, c.what, c.before, c.after) for c in changes] == [
            (
                "MH01",
                "quantity",
                {"quantity": 17, "rule": "stock"},
                {"quantity": 12, "rule": "stock"},
            )
        ]

    def test_children_count_when_the_policy_syncs_them(self) -> None:
        """With sync_not_visible_individually the children are sent, so they count."""
        old = self._with(buffer=5, sync_not_visible_individually=True)
        new = self._with(buffer=40, sync_not_visible_individually=True)
        changes = preview_change(old, new, [self.CHILD])
        assert [(c.sku, c.what) for c in changes] == [("MH01-S", "quantity")]

    def test_inventory_price_sync_off_is_reported(self) -> None:
        """Turning Inventory/Price Sync off shows, per sent listing, the fields it stops."""
        changes = preview_change(
            self._with(), self._with(inventory_price_sync=False), [self.CHILD, self.PARENT]
        )
        assert len(changes) == 1
        (change,) = changes
        assert (change.sku, change.what) == ("MH01", "sync")
        assert change.before["upload"] == change.after["upload"]
        assert {"price", "quantity"} <= set(change.before["update"])
        assert change.after["update"] == tuple(
            field for field in change.before["update"] if field not in ("price", "quantity")
        )

    def test_switching_children_on_is_reported(self) -> None:
        """Turning sync_not_visible_individually on shows the children that start being sent."""
        changes = preview_change(
            self._with(), self._with(sync_not_visible_individually=True), [self.CHILD]
        )
        assert [(c.what, c.before) for c in changes] == [("sync", {"upload": (), "update": ()})]
        assert "quantity" in changes[0].after["upload"]

    def test_values_not_sent_are_not_reported(self) -> None:
        """A quantity change under a policy that stops sending quantities is not an impact, the
        sync change is."""
        old = self._with(buffer=5)
        new = self._with(buffer=40, fields=["title", "price"])
        changes = preview_change(old, new, [self.PARENT])
        assert [c.what for c in changes] == ["sync"]

    def test_a_policy_that_sends_nothing(self) -> None:
        """A sync policy that neither uploads nor updates reports the listings it stops, and
        no value change after that."""
        off = self._with(
            buffer=40, product_upload=False, product_update=False, inventory_price_sync=False
        )
        changes = preview_change(self._with(buffer=5), off, [self.PARENT])
        assert [(c.what, c.after) for c in changes] == [("sync", {"upload": (), "update": ()})]

    def test_sent_fields(self) -> None:
        """sent_fields: upload fields, full-update fields, and quantity and price with
        Inventory/Price Sync."""
        assert SyncField.QUANTITY in sent_fields(CONFIG, "ae")
        assert sent_fields(CONFIG, "ae") == sent_fields(CONFIG, "ae", listed=False)
        off = self._with(inventory_price_sync=False)
        assert SyncField.QUANTITY in sent_fields(off, "ae", listed=False)
        assert not sent_fields(off, "ae", listed=True) & {SyncField.QUANTITY, SyncField.PRICE}
        assert SyncField.TITLE in sent_fields(off, "ae", listed=True)
        off = self._with(product_upload=False, inventory_price_sync=False)
        assert not sent_fields(off, "ae") & {SyncField.QUANTITY, SyncField.PRICE}
        nothing = self._with(product_upload=False, product_update=False, inventory_price_sync=False)
        assert sent_fields(nothing, "ae") == frozenset()


class TestLint:
    """Lint warnings a connector needs."""

    def test_gallery_limit_follows_template_accounts(self) -> None:
        """A TikTok-only template's image policy is checked against TikTok's limit alone."""
        document = _document(
            sync_policies={
                "ali": {"title": "AliExpress", "channel": "aliexpress"},
                "tt": {"title": "TikTok", "channel": "tiktok"},
            },
            image_policies={"store": {"title": "Eight", "gallery_limit": 8}},
            accounts=[
                {"id": "ae", "channel": "aliexpress", "sync_policy": "ali"},
                {"id": "tt", "channel": "tiktok", "sync_policy": "tt"},
            ],
        )
        for template in document["templates"]:
            template["accounts"] = ["tt"]
        document["image_policies"]["ali-images"] = {"title": "Six", "gallery_limit": 6}
        document["templates"].append(
            {
                "id": "ali",
                "title": "AliExpress",
                "accounts": ["ae"],
                "inventory_policy": "twenty",
                "pricing_policy": "regular",
                "image_policy": "ali-images",
            }
        )
        codes = [warning.code for warning in lint(load_config(document))]
        assert "gallery_limit_above_channel" not in codes
        document["image_policies"]["store"]["gallery_limit"] = 10
        warnings = [
            w for w in lint(load_config(document)) if w.code == "gallery_limit_above_channel"
        ]
        assert [w.message for w in warnings] == [
            "gallery_limit 10 is above the 9 images channel 'tiktok' accepts"
        ]

    def test_sync_never_sends_quantity(self) -> None:
        """A sync policy whose fields leave out quantity is warned about, per account."""
        config = TestPreview._with(fields=["title", "price"])
        warnings = [w for w in lint(config) if w.code == "sync_never_sends_quantity"]
        assert [(w.path, w.message) for w in warnings] == [
            (
                "$.accounts[0].sync_policy",
                (
                    "sync policy 'ali' never sends the quantity to account 'ae' (aliexpress):"
                    " its stock goes stale"
                ),
            )
        ]

    def test_inventory_price_sync_off(self) -> None:
        """An account whose sync policy has Inventory/Price Sync off is warned about."""
        config = TestPreview._with(inventory_price_sync=False)
        assert [w.path for w in lint(config) if w.code == "inventory_price_sync_off"] == [
            "$.accounts[0].sync_policy"
        ]
        assert not [w for w in lint(CONFIG) if w.code == "inventory_price_sync_off"]

    def test_category_condition_that_matches_nothing(self) -> None:
        """under(categories, 'Gear') on a catalog whose paths keep 'Default Category/' matches
        nothing: lint says so, with the rooted path, when given the catalog."""
        document = _document()
        document["templates"][0]["condition"] = (
            "under(categories, 'Gear') or 'Bags' in categories or under(categories, 'Men')"
            " or categories == 'Kids'"
        )
        config = load_config(document)
        catalog = [
            Product(sku="A", categories=["Default Category/Gear/Bags"]),
            Product(sku="B", categories=["Men"]),
        ]
        warnings = [
            w for w in lint(config, products=catalog) if w.code == "category_matches_nothing"
        ]
        assert [(w.path, w.message) for w in warnings] == [
            (
                "$.templates[0].condition",
                (
                    "under(categories, 'Gear') in template 'premium' matches no product of the"
                    " catalog (its category paths start with 'Default Category/':"
                    " 'Default Category/Gear')"
                ),
            ),
            (
                "$.templates[0].condition",
                (
                    "'Bags' in categories in template 'premium' matches no product of the"
                    " catalog (its category paths start with 'Default Category/Gear/':"
                    " 'Default Category/Gear/Bags')"
                ),
            ),
        ]
        assert not [w for w in lint(config) if w.code == "category_matches_nothing"]
        fixed = [
            Product(sku="A", categories=["Gear/Bags", "Bags"]),
            Product(sku="B", categories=["Men"]),
        ]
        assert not [w for w in lint(config, products=fixed) if w.code == "category_matches_nothing"]

    def test_category_hint_only_when_a_root_explains_it(self) -> None:
        """A category no product has, and no root explains, is warned about without a hint."""
        document = _document()
        document["templates"][0]["condition"] = {
            "field": "categories",
            "op": "under",
            "value": "Kids",
        }
        warnings = [
            w
            for w in lint(load_config(document), products=[Product(sku="A", categories=["Men"])])
            if w.code == "category_matches_nothing"
        ]
        assert [w.message for w in warnings] == [
            "under(categories, 'Kids') in template 'premium' matches no product of the catalog"
        ]
