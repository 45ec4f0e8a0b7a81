"""Syncing a product family's listing: the listing and its variants (``sync_family``), and stock
events of a family's child (``plan_stock_sync`` with ``parent_sku``)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest

from policy_engine import (
    BundleOption,
    BundleSelection,
    ChannelListing,
    Listing,
    PolicyConfigError,
    Product,
    ProductChange,
    ProductFamily,
    Stock,
    StockEvent,
    SyncAction,
    SyncField,
    VariantAction,
    default_config,
    load_config,
    plan_stock_sync,
    sync_family,
    unstructure,
)

CONFIG = default_config("aliexpress", account_id="ae")
LISTED = Listing(template="default")
AT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def _child(size: str, qty: int = 5, **fields: Any) -> Product:
    return Product(
        sku=f"MH01-{size}",
        price=Decimal("52.00"),
        parent_sku="MH01",
        visibility="not_visible_individually",
        attributes={"size": size},
        stock=Stock(qty=qty),
        **fields,
    )


HOODIE = ProductFamily(
    parent=Product(sku="MH01", type="configurable", name="Hoodie", price=Decimal("52.00")),
    children=[_child("S"), _child("M"), _child("L", qty=0)],
    variation_attributes=["size"],
)


def _sync(
    product: Product,
    *,
    kind: str = "updated",
    changed: tuple[str, ...] = (),
    listing: Listing | None = LISTED,
    family: ProductFamily = HOODIE,
    config: Any = CONFIG,
) -> Any:
    change = ProductChange(kind=kind, product=product, changed=changed, listing=listing)
    return sync_family(config, family, change, "ae")


def _codes(decision: Any) -> list[str]:
    return [reason.code for reason in decision.reasons]


class TestParent:
    """A change of the parent is the listing's own decision."""

    def test_upload_adds_every_variant(self) -> None:
        """A new family is uploaded with every variant, each with the variant fields."""
        decision = _sync(HOODIE.parent, kind="created", listing=None)
        assert decision.action is SyncAction.UPLOAD
        assert [(v.sku, v.action) for v in decision.variants] == [
            ("MH01-S", VariantAction.ADD),
            ("MH01-M", VariantAction.ADD),
            ("MH01-L", VariantAction.ADD),
        ]
        assert SyncField.QUANTITY in decision.variants[0].fields
        assert SyncField.TITLE not in decision.variants[0].fields

    def test_a_parent_field_is_a_full_update(self) -> None:
        """A change of the parent's name updates the listing, no variant."""
        decision = _sync(HOODIE.parent, changed=("name",))
        assert decision.action is SyncAction.UPDATE
        assert SyncField.TITLE in decision.fields
        assert decision.variants == ()

    def test_the_family_last_values_are_not_the_parents(self) -> None:
        """The listing's last quantity and price are the family's: not compared with the
        parent's own."""
        listing = Listing(template="default", last_price=Decimal("52.00"), last_quantity=0)
        decision = _sync(HOODIE.parent, changed=("price",), listing=listing)
        assert decision.action is SyncAction.UPDATE_PRICE_INVENTORY

    def test_deleting_the_parent_delists(self) -> None:
        """A deleted parent removes the listing."""
        assert _sync(HOODIE.parent, kind="deleted").action is SyncAction.DELIST


class TestChild:
    """A change of a child, while the family is listed."""

    def test_stock_change_updates_that_variant(self) -> None:
        """A child's stock change is a price and inventory update of its variant only."""
        decision = _sync(HOODIE.children[0], changed=("qty",))
        assert decision.action is SyncAction.UPDATE_PRICE_INVENTORY
        assert [(v.sku, v.action, v.fields) for v in decision.variants] == [
            ("MH01-S", VariantAction.UPDATE, frozenset({SyncField.QUANTITY}))
        ]
        assert decision.fields == frozenset()
        assert _codes(decision) == ["variant_updated"]
        assert decision.reasons[0].message == "'MH01-S': sends the changed quantity"

    def test_attribute_change_updates_that_variant(self) -> None:
        """A change of a variant's attributes is an update of that variant."""
        decision = _sync(HOODIE.children[1], changed=("color",))
        assert decision.action is SyncAction.UPDATE
        assert decision.variants[0].fields == {SyncField.ATTRIBUTES}

    def test_a_change_that_sends_nothing(self) -> None:
        """A change to a field a variant does not carry sends nothing."""
        decision = _sync(HOODIE.children[0], changed=("name",))
        assert decision.action is SyncAction.NONE
        assert _codes(decision) == ["nothing_changed"]

    def test_new_child_is_added(self) -> None:
        """A new child that can be a variant is added."""
        xl = _child("XL")
        family = attrs.evolve(HOODIE, children=(*HOODIE.children, xl))
        decision = _sync(xl, kind="created", family=family)
        assert [(v.sku, v.action) for v in decision.variants] == [("MH01-XL", VariantAction.ADD)]
        assert _codes(decision) == ["variant_added"]

    def test_deleted_child_is_removed(self) -> None:
        """A deleted child's variant is removed, even when the family no longer holds it."""
        gone = HOODIE.children[0]
        family = attrs.evolve(HOODIE, children=HOODIE.children[1:])
        decision = _sync(gone, kind="deleted", family=family)
        assert [(v.sku, v.action, v.fields) for v in decision.variants] == [
            ("MH01-S", VariantAction.REMOVE, frozenset())
        ]
        assert decision.action is SyncAction.UPDATE
        assert _codes(decision) == ["variant_removed"]

    def test_disabled_child_is_removed_and_enabled_again_added(self) -> None:
        """Disabling a child removes its variant, with the child's reason; enabling it adds it."""
        disabled = attrs.evolve(HOODIE.children[0], enabled=False)
        family = attrs.evolve(HOODIE, children=(disabled, *HOODIE.children[1:]))
        decision = _sync(disabled, changed=("enabled",), family=family)
        assert decision.variants[0].action is VariantAction.REMOVE
        assert _codes(decision) == ["variant_removed", "variant_disabled"]
        again = _sync(HOODIE.children[0], changed=("enabled",))
        assert again.variants[0].action is VariantAction.ADD

    def test_a_new_child_that_cannot_be_a_variant(self) -> None:
        """A new child without its variation values is not added."""
        odd = attrs.evolve(_child("XS"), attributes={})
        family = attrs.evolve(HOODIE, children=(*HOODIE.children, odd))
        decision = _sync(odd, kind="created", family=family)
        assert decision.action is SyncAction.NONE
        assert _codes(decision) == ["variant_not_listed"]

    def test_family_not_listed(self) -> None:
        """A child's change while the family is not listed waits for the family's upload."""
        decision = _sync(HOODIE.children[0], changed=("qty",), listing=None)
        assert decision.action is SyncAction.NONE
        assert decision.reasons[0].message == (
            "the family 'MH01' is not listed on the channel: its upload will carry 'MH01-S'"
        )

    def test_product_update_off(self) -> None:
        """Without Product Update a child's change sends nothing."""
        data: dict[str, Any] = unstructure(CONFIG)
        data["sync_policies"]["default"].update(product_update=False, inventory_price_sync=False)
        decision = _sync(HOODIE.children[0], changed=("qty",), config=load_config(data))
        assert _codes(decision) == ["update_disabled"]

    def test_stored_template_gone(self) -> None:
        """A family listing whose stored template is gone gets nothing."""
        decision = _sync(HOODIE.children[0], changed=("qty",), listing=Listing(template="old"))
        assert decision.action is SyncAction.NONE
        assert _codes(decision) == ["no_template"]

    def test_repricer_and_inventory_sync_off(self) -> None:
        """A repricer-managed listing gets no variant price; without Inventory/Price Sync no
        variant quantity."""
        repriced = Listing(template="default", price_managed_externally=True)
        decision = _sync(HOODIE.children[0], changed=("price",), listing=repriced)
        assert decision.action is SyncAction.NONE
        data: dict[str, Any] = unstructure(CONFIG)
        data["sync_policies"]["default"]["inventory_price_sync"] = False
        off = _sync(HOODIE.children[0], changed=("qty",), config=load_config(data))
        assert off.action is SyncAction.NONE

    def test_not_a_member(self) -> None:
        """A product that is not in the family is a caller error with its path."""
        with pytest.raises(PolicyConfigError) as raised:
            _sync(Product(sku="OTHER"), changed=("qty",))
        assert raised.value.errors == [
            "'OTHER' is neither the parent 'MH01' nor one of its children @ $.product.sku"
        ]


KIT = ProductFamily(
    parent=Product(sku="KIT", type="bundle"),
    children=[
        Product(sku="BALL", price=Decimal("20.00"), stock=Stock(qty=4)),
        Product(sku="STRAP", price=Decimal("5.00"), stock=Stock(qty=9)),
    ],
    bundle_options=[
        BundleOption(title="Ball", selections=[BundleSelection(sku="BALL")]),
        BundleOption(title="Strap", selections=[BundleSelection(sku="STRAP")]),
    ],
)


class TestComponents:
    """A change of a bundle's or a set's component sends the listing's aggregates."""

    def test_component_stock_change(self) -> None:
        """A component's stock change sends the listing's quantity and price, no variant."""
        decision = _sync(KIT.children[0], changed=("qty",), family=KIT)
        assert decision.action is SyncAction.UPDATE_PRICE_INVENTORY
        assert decision.fields == {SyncField.QUANTITY, SyncField.PRICE}
        assert decision.variants == ()
        assert _codes(decision) == ["component_changed"]

    def test_component_change_that_sends_nothing(self) -> None:
        """A component's name change sends nothing."""
        assert _codes(_sync(KIT.children[0], changed=("name",), family=KIT)) == ["nothing_changed"]

    def test_component_without_inventory_sync(self) -> None:
        """Without Inventory/Price Sync a component's change cannot be sent."""
        data: dict[str, Any] = unstructure(CONFIG)
        data["sync_policies"]["default"]["inventory_price_sync"] = False
        decision = _sync(KIT.children[0], changed=("qty",), family=KIT, config=load_config(data))
        assert _codes(decision) == ["inventory_price_sync_disabled"]


class TestStockEventsOfChildren:
    """A child's stock event updates its variant on every listing of its family."""

    def test_variant_update_on_the_family_listing(self) -> None:
        """With parent_sku, the family's listings get the child's quantity as a variant update,
        whatever the family's last quantity."""
        event = StockEvent(
            sku="MH01-S", source="sales_order", stock=Stock(qty=7), at=AT, parent_sku="MH01"
        )
        listings = [
            ChannelListing(account="ae", sku="MH01", template="default", last_quantity=7),
            ChannelListing(account="ae", sku="OTHER", template="default"),
        ]
        plan = plan_stock_sync(event, listings, CONFIG)
        assert [(u.account, u.sku, u.quantity, u.variant_of) for u in plan.updates] == [
            ("ae", "MH01-S", 7, "MH01")
        ]

    def test_without_parent_sku_the_family_listing_is_ignored(self) -> None:
        """Without parent_sku only the child's own listings count."""
        event = StockEvent(sku="MH01-S", source="sales_order", stock=Stock(qty=7), at=AT)
        listing = ChannelListing(account="ae", sku="MH01", template="default")
        assert plan_stock_sync(event, [listing], CONFIG).updates == ()


class TestPreviewFamilies:
    """preview_change(..., families=...) shows a policy edit's impact on family listings."""

    @staticmethod
    def _with_buffer(buffer: int) -> Any:
        data: dict[str, Any] = unstructure(CONFIG)
        data["inventory_policies"]["default"]["buffer"] = buffer
        return load_config(data)

    def test_buffer_edit(self) -> None:
        """A buffer edit changes the family's quantity and its variants', under the parent."""
        from policy_engine import preview_change

        changes = preview_change(self._with_buffer(0), self._with_buffer(2), [], families=[HOODIE])
        assert [(c.sku, c.what, c.before, c.after) for c in changes] == [
            ("MH01", "quantity", 10, 6),
            (
                "MH01",
                "variants",
                (
                    {"sku": "MH01-S", "quantity": 5, "price": "52.00"},
                    {"sku": "MH01-M", "quantity": 5, "price": "52.00"},
                    {"sku": "MH01-L", "quantity": 0, "price": "52.00"},
                ),
                (
                    {"sku": "MH01-S", "quantity": 3, "price": "52.00"},
                    {"sku": "MH01-M", "quantity": 3, "price": "52.00"},
                    {"sku": "MH01-L", "quantity": 0, "price": "52.00"},
                ),
            ),
        ]

    def test_no_edit_and_unpriced(self) -> None:
        """The same configuration shows nothing, a family without a price included."""
        from policy_engine import preview_change

        unpriced = attrs.evolve(
            HOODIE, children=[attrs.evolve(c, price=None) for c in HOODIE.children]
        )
        assert preview_change(CONFIG, CONFIG, [], families=[HOODIE, unpriced]) == ()
        # No child of the unpriced family can be a variant: a buffer edit changes nothing.
        assert preview_change(CONFIG, self._with_buffer(1), [], families=[unpriced]) == ()
