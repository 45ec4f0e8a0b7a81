"""Product families: configurable, grouped and bundle products listed as one listing.

The examples pin each aggregate (``docs/families.md`` states the rules); the property tests
state the invariants that hold for every family the strategies build.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine import (
    BundleOption,
    BundleSelection,
    ChildOutcome,
    ChildRole,
    Configuration,
    FamilyKind,
    FamilyOutcome,
    GroupedMode,
    Listing,
    PolicyConfigError,
    PriceVariationMode,
    Product,
    ProductFamily,
    Stock,
    default_config,
    dump_config,
    evaluate_family,
    evaluate_listing,
    load_config,
    structure,
    unstructure,
)
from policy_engine import testing as pt

ON = date(2025, 6, 1)
ACCOUNT = "aliexpress"


def config(
    *, pricing: dict[str, Any] | None = None, inventory: dict[str, Any] | None = None, **more: Any
) -> Configuration:
    """The AliExpress onboarding configuration with its policies' fields changed."""
    data = dump_config(default_config("aliexpress"))
    data["pricing_policies"]["default"].update(pricing or {})
    data["inventory_policies"]["default"].update(inventory or {})
    data.update(more)
    return load_config(data)


CONFIG = config()


def child(sku: str, qty: int | None = 10, price: str | None = "10", **fields: Any) -> Product:
    """A simple child with a stock of ``qty`` (out of stock at 0; ``None``: no stock record)."""
    stock = None if qty is None else Stock(qty=qty, in_stock=qty > 0)
    return Product(sku=sku, price=None if price is None else Decimal(price), stock=stock, **fields)


def configurable(*children: Product, codes: tuple[str, ...] = ("size",), **parent: Any) -> Any:
    return ProductFamily(
        parent=Product(sku="MH01", type="configurable", **parent),
        children=children,
        variation_attributes=codes,
    )


def grouped(*children: Product, defaults: dict[str, int] | None = None, **fields: Any) -> Any:
    return ProductFamily(
        parent=Product(sku="24-WG085_Group", type="grouped"),
        children=children,
        default_quantities=defaults or {},
        **fields,
    )


def bundle(
    *children: Product, options: list[Any], parent_price: str | None = None, **fields: Any
) -> Any:
    return ProductFamily(
        parent=Product(
            sku="24-WG080",
            type="bundle",
            price=None if parent_price is None else Decimal(parent_price),
        ),
        children=children,
        bundle_options=tuple(
            BundleOption(
                title=f"Option {index}",
                required=required,
                selections=tuple(BundleSelection(sku=sku, qty=qty) for sku, qty in selections),
            )
            for index, (required, selections) in enumerate(options)
        ),
        **fields,
    )


def sized(sku: str, size: str, qty: int = 10, price: str = "10", **fields: Any) -> Product:
    return child(sku, qty, price, attributes={"size": size}, **fields)


def codes(steps: Any) -> list[str]:
    return [step.code for step in steps]


def by_sku(outcome: FamilyOutcome) -> dict[str, ChildOutcome]:
    return {c.sku: c for c in outcome.children}


# ------------------------------------------------------------------------------ configurable


class TestConfigurable:
    """A configurable family: each enabled child with its variation values is a variant."""

    def test_quantity_is_the_sum_of_enabled_in_stock_children(self) -> None:
        """Variants at 0 stay variants; disabled children and those lacking an attribute are out."""
        family = configurable(
            sized("MH01-S", "S", qty=5),
            sized("MH01-M", "M", qty=3),
            sized("MH01-L", "L", qty=0),
            sized("MH01-XL", "XL", qty=7, enabled=False),
            child("MH01-X", 9, attributes={"color": "Gray"}),
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT, on=ON)
        assert outcome.quantity == 8
        assert outcome.kind is FamilyKind.CONFIGURABLE
        assert outcome.template == "default"
        children = by_sku(outcome)
        assert [c.role for c in outcome.children] == [
            ChildRole.VARIANT,
            ChildRole.VARIANT,
            ChildRole.VARIANT,
            ChildRole.EXCLUDED,
            ChildRole.EXCLUDED,
        ]
        assert codes(children["MH01-S"].reasons) == ["variant_listed"]
        assert codes(children["MH01-L"].reasons) == ["variant_out_of_stock"]
        assert codes(children["MH01-XL"].reasons) == ["variant_disabled"]
        assert codes(children["MH01-X"].reasons) == ["variant_missing_attribute"]
        assert children["MH01-S"].variation == {"size": "S"}
        assert children["MH01-S"].quantity is not None
        assert children["MH01-S"].quantity.quantity == 5
        assert codes(outcome.reasons) == [
            "template_matched",
            "family_template",
            "family_price_lowest_variant",
            "family_quantity_sum",
        ]
        assert outcome.reasons[-1].args == (3, 8)
        assert outcome.ok

    def test_variants_property_and_variation_values(self) -> None:
        """``variants`` holds the variant children in the family's order, with their values."""
        family = configurable(
            child("A", 1, attributes={"size": "M", "color": "Gray"}),
            child("B", 1, attributes={"size": "M", "color": "Blue"}, enabled=False),
            child("C", 1, attributes={"size": "L", "color": "Gray"}),
            codes=("size", "color"),
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert [v.sku for v in outcome.variants] == ["A", "C"]
        assert outcome.variants[0].variation == {"size": "M", "color": "Gray"}
        assert list(outcome.variants[0].variation) == ["size", "color"]

    def test_price_is_the_lowest_variant_price(self) -> None:
        """The listing's price is the lowest variant price; each variant keeps its own."""
        family = configurable(
            sized("S", "S", price="52"), sized("M", "M", price="45.5"), sized("L", "L", price="47")
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.price is not None
        assert outcome.price.amount == Decimal("45.50")
        assert [v.price.amount for v in outcome.variants if v.price] == [
            Decimal("52.00"),
            Decimal("45.50"),
            Decimal("47.00"),
        ]
        assert (
            outcome.reasons[2].message
            == "the listing's price is its lowest variant price, 45.50 USD"
        )

    def test_special_prices_through_the_pricing_policy(self) -> None:
        """A special price in its window lowers its variant and so the listing; an expired one does not."""
        special = config(pricing={"use_special_price": True})
        family = configurable(
            sized("S", "S", price="50", special_price=Decimal("30"), special_to=date(2025, 12, 31)),
            sized("M", "M", price="40", special_price=Decimal("20"), special_to=date(2025, 1, 31)),
        )
        outcome = evaluate_family(special, family, ACCOUNT, on=ON)
        assert outcome.price is not None
        assert outcome.price.amount == Decimal("30.00")
        assert [v.price.amount for v in outcome.variants if v.price] == [
            Decimal("30.00"),
            Decimal("40.00"),
        ]

    def test_a_child_whose_price_fails_is_excluded(self) -> None:
        """A child without a usable price is excluded with its reason and its error."""
        family = configurable(sized("S", "S", qty=4), child("M", 6, None, attributes={"size": "M"}))
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        priceless = by_sku(outcome)["M"]
        assert priceless.role is ChildRole.EXCLUDED
        assert codes(priceless.reasons) == ["variant_unpriced"]
        assert [e.code for e in priceless.errors] == ["missing_price"]
        assert priceless.price is None
        assert outcome.quantity == 4
        assert outcome.ok

    def test_no_variant(self) -> None:
        """A family with no child that can be a variant lists 0 and has no price."""
        family = configurable(sized("S", "S", enabled=False))
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.quantity == 0
        assert outcome.price is None
        assert codes(outcome.reasons)[-1] == "family_no_variant"
        assert [e.code for e in outcome.errors] == ["no_variant_price"]
        assert not outcome.ok

    def test_a_disabled_parent_lists_zero(self) -> None:
        """A disabled parent lists 0, whatever its children hold."""
        family = configurable(sized("S", "S", qty=5), enabled=False)
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.quantity == 0
        assert outcome.reasons[-1].code == "family_quantity_parent_disabled"
        assert outcome.reasons[-1].message == "the parent 'MH01' is disabled in the store: lists 0"

    def test_blank_variation_value_is_missing(self) -> None:
        """A variation attribute holding blank text is as good as missing: no variant."""
        family = configurable(sized("S", "S"), sized("M", "  "))
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        blank = by_sku(outcome)["M"]
        assert blank.role is ChildRole.EXCLUDED
        assert codes(blank.reasons) == ["variant_missing_attribute"]

    def test_reason_messages(self) -> None:
        """Each child's reason reads as a sentence naming the child."""
        family = configurable(
            sized("S", "S", qty=2),
            sized("M", "M", qty=0),
            sized("L", "L", enabled=False),
            child("X", 1),
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert [c.reasons[0].message for c in outcome.children] == [
            "S is a variant of the listing",
            "M is out of stock: its variant lists 0",
            "L is disabled in the store: it is not a variant",
            "X has no value for the variation attribute 'size': it is not a variant",
        ]
        assert outcome.reasons[1].message == "the family's template is decided on its parent 'MH01'"
        assert (
            outcome.reasons[-1].message == "the listing's quantity is the sum of its 2 variants: 2"
        )


class TestParentPriceMode:
    """``price_variation_mode`` ``parent``: every variant carries the parent's price."""

    PARENT = config(pricing={"price_variation_mode": "parent"})

    def test_every_variant_carries_the_parents_price(self) -> None:
        """The listing and every child get the parent's price; the children's own are not used."""
        family = configurable(
            sized("S", "S", price="52"),
            sized("M", "M", price="45"),
            sized("L", "L", price="47", enabled=False),
            price=Decimal("49"),
        )
        outcome = evaluate_family(self.PARENT, family, ACCOUNT)
        assert outcome.price is not None
        assert outcome.price.amount == Decimal("49.00")
        assert [v.sku for v in outcome.variants] == ["S", "M"]
        assert [c.price for c in outcome.children] == [outcome.price] * 3
        assert "family_price_parent" in codes(outcome.reasons)
        assert (
            self.PARENT.pricing_policies["default"].price_variation_mode
            is PriceVariationMode.PARENT
        )

    def test_a_child_without_a_price_of_its_own_is_a_variant(self) -> None:
        """The child's own price does not matter: it is a variant at the parent's price."""
        family = configurable(
            sized("S", "S"), child("M", 3, None, attributes={"size": "M"}), price=Decimal("49")
        )
        outcome = evaluate_family(self.PARENT, family, ACCOUNT)
        assert [v.sku for v in outcome.variants] == ["S", "M"]
        assert by_sku(outcome)["M"].price == outcome.price
        assert by_sku(outcome)["M"].errors == ()
        assert outcome.quantity == 13

    def test_a_parent_without_a_price(self) -> None:
        """Without a parent price the listing has none: its error, and variants without price."""
        family = configurable(sized("S", "S"))
        outcome = evaluate_family(self.PARENT, family, ACCOUNT)
        assert outcome.price is None
        assert [e.code for e in outcome.errors] == ["missing_price"]
        assert [v.sku for v in outcome.variants] == ["S"]
        assert outcome.variants[0].price is None
        assert not outcome.ok


# ---------------------------------------------------------------------------------- grouped


class TestGroupedSet:
    """A grouped family listed as a set: the fewest complete sets its items make."""

    def test_quantity_is_the_fewest_complete_sets(self) -> None:
        """min ⌊child quantity / default quantity⌋; a child not named counts 1."""
        family = grouped(child("A", 10), child("B", 9), child("C", 4), defaults={"A": 2, "B": 3})
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.quantity == 3
        assert [c.role for c in outcome.children] == [ChildRole.COMPONENT] * 3
        assert codes(outcome.reasons)[-2:] == ["family_quantity_sets", "family_price_set"]
        assert (
            by_sku(outcome)["A"].reasons[0].message
            == "A is a component of the listing (2 per listing)"
        )

    def test_magentos_default_quantity_zero_counts_one(self) -> None:
        """Magento's default quantity 0 (no preset quantity) counts one item per set."""
        family = grouped(child("A", 5, "12"), child("B", 8, "14"), defaults={"A": 0, "B": 0})
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.quantity == 5
        assert outcome.price is not None
        assert outcome.price.amount == Decimal("26.00")
        assert [c.role for c in outcome.children] == [ChildRole.COMPONENT] * 2

    @pytest.mark.parametrize(
        "unavailable",
        [
            pytest.param(child("C", 0), id="out of stock"),
            pytest.param(child("C", 50, enabled=False), id="disabled"),
        ],
    )
    def test_an_unavailable_item_lists_zero(self, unavailable: Product) -> None:
        """Any out-of-stock or disabled item leaves no complete set."""
        outcome = evaluate_family(CONFIG, grouped(child("A", 10), unavailable), ACCOUNT)
        assert outcome.quantity == 0
        assert codes(by_sku(outcome)["C"].reasons) == ["component_unavailable"]

    def test_out_of_stock_item_listed_by_default_quantity_lists_zero(self) -> None:
        """An item out of stock lists 0 sets even when the policy lists a default for it."""
        listed_anyway = config(inventory={"default_when_out_of_stock": True, "default_quantity": 3})
        outcome = evaluate_family(listed_anyway, grouped(child("A", 10), child("C", 0)), ACCOUNT)
        unavailable = by_sku(outcome)["C"].quantity
        assert unavailable is not None
        assert unavailable.quantity == 3
        assert outcome.quantity == 0

    def test_price_is_the_sum_of_price_times_default_quantity(self) -> None:
        """Σ child price × default quantity, in the policy's currency."""
        family = grouped(child("A", 10, "5.50"), child("B", 10, "2.25"), defaults={"A": 2})
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.price is not None
        assert (outcome.price.amount, outcome.price.currency) == (Decimal("13.25"), "USD")
        assert (
            outcome.price.steps[0].message
            == "the set's price is the sum of its items' prices, 13.25 USD"
        )

    def test_an_unpriced_item_leaves_the_set_unpriced(self) -> None:
        """An item without a usable price: the set has no price, an error says why."""
        outcome = evaluate_family(CONFIG, grouped(child("A", 10), child("B", 10, None)), ACCOUNT)
        assert outcome.price is None
        assert [e.code for e in outcome.errors] == ["component_unpriced"]
        assert outcome.quantity == 10

    def test_a_set_without_items(self) -> None:
        """A grouped family without children lists 0 and has no price."""
        outcome = evaluate_family(CONFIG, grouped(), ACCOUNT)
        assert (outcome.quantity, outcome.price, outcome.children) == (0, None, ())
        assert not outcome.ok

    def test_a_disabled_parent_lists_zero(self) -> None:
        """A disabled grouped parent lists 0."""
        family = attrs.evolve(
            grouped(child("A", 10)), parent=Product(sku="G", type="grouped", enabled=False)
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.quantity == 0
        assert codes(outcome.reasons)[2] == "family_quantity_parent_disabled"


class TestGroupedOptions:
    """A grouped family listed as options: each item a variant, as for a configurable."""

    def test_quantity_is_the_sum_and_each_item_an_option(self) -> None:
        """The quantity is the sum; each variant's variation is its name (or its SKU)."""
        family = grouped(
            child("A", 4, "5", name="6' strap"),
            child("B", 0, "6"),
            child("C", 9, "7", enabled=False),
            grouped_mode="options",
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert family.grouped_mode is GroupedMode.OPTIONS
        assert outcome.quantity == 4
        assert [v.variation for v in outcome.variants] == [{"option": "6' strap"}, {"option": "B"}]
        assert outcome.price is not None
        assert outcome.price.amount == Decimal("5.00")


# ----------------------------------------------------------------------------------- bundle


class TestBundle:
    """A bundle: the fewest bundles its required options supply."""

    def test_quantity_is_what_the_required_options_supply(self) -> None:
        """min over required options of the best ⌊selection quantity / quantity per bundle⌋."""
        family = bundle(
            child("BALL-1", 3),
            child("BALL-2", 8),
            child("BRICK", 9),
            child("STRAP", 1),
            options=[
                (True, [("BALL-1", 1), ("BALL-2", 2)]),
                (True, [("BRICK", 2)]),
                (False, [("STRAP", 1)]),
            ],
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.quantity == 4
        assert [c.role for c in outcome.children] == [ChildRole.COMPONENT] * 4
        children = by_sku(outcome)
        assert codes(children["STRAP"].reasons) == ["component_optional"]
        assert (
            children["BRICK"].reasons[0].message
            == "BRICK is a component of the listing (2 per listing)"
        )
        assert "family_quantity_bundles" in codes(outcome.reasons)

    def test_disabled_or_out_of_stock_selections_supply_nothing(self) -> None:
        """A disabled selection supplies nothing, however much stock it has."""
        family = bundle(
            child("A", 50, enabled=False), child("B", 0), options=[(True, [("A", 1), ("B", 1)])]
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.quantity == 0
        assert [codes(c.reasons) for c in outcome.children] == [["component_unavailable"]] * 2

    def test_unavailable_selection_with_an_available_one(self) -> None:
        """An unavailable selection of an option that another selection fills does not stop the
        bundle, and its reason says so; an option no selection fills does."""
        family = bundle(
            child("A", 50),
            child("B", 0),
            child("C", 0),
            options=[(True, [("A", 1), ("B", 1)]), (True, [("C", 1)])],
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.quantity == 0
        assert [codes(c.reasons) for c in outcome.children] == [
            ["component_listed"],
            ["component_selection_unavailable"],
            ["component_unavailable"],
        ]
        assert by_sku(outcome)["B"].reasons[0].message == (
            "B is disabled or out of stock: another selection of its option is sold instead"
        )
        filled = bundle(child("A", 50), child("B", 0), options=[(True, [("A", 1), ("B", 1)])])
        assert evaluate_family(CONFIG, filled, ACCOUNT).quantity == 50

    def test_dynamic_price(self) -> None:
        """Σ over required options of the cheapest selection × its quantity."""
        family = bundle(
            child("A", 5, "20"),
            child("B", 5, "8"),
            child("C", 5, "3"),
            child("D", 5, "100"),
            options=[(True, [("A", 1), ("B", 3)]), (True, [("C", 2)]), (False, [("D", 1)])],
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.price is not None
        assert outcome.price.amount == Decimal("26.00")
        assert codes(outcome.price.steps) == ["family_price_bundle_dynamic"]

    def test_dynamic_price_without_a_priced_selection(self) -> None:
        """A required option with no priced selection leaves the bundle unpriced."""
        family = bundle(
            child("A", 5, None), child("B", 5), options=[(True, [("A", 1)]), (True, [("B", 1)])]
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.price is None
        assert [e.code for e in outcome.errors] == ["component_unpriced"]

    def test_fixed_price_is_the_parents(self) -> None:
        """A fixed-price bundle sells at the parent's own price."""
        family = bundle(
            child("A", 5, "20"),
            options=[(True, [("A", 1)])],
            parent_price="61",
            dynamic_price=False,
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.price is not None
        assert outcome.price.amount == Decimal("61.00")
        assert outcome.reasons[-1].code == "family_price_bundle_fixed"

    def test_fixed_price_without_a_parent_price(self) -> None:
        """A fixed-price bundle whose parent has no price carries the parent's price error."""
        family = bundle(child("A", 5), options=[(True, [("A", 1)])], dynamic_price=False)
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.price is None
        assert [e.code for e in outcome.errors] == ["missing_price"]

    def test_a_child_in_no_option(self) -> None:
        """A child no option selects is excluded with its reason, not called optional."""
        family = bundle(child("A", 5), child("SPARE", 5), options=[(True, [("A", 1)])])
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        spare = by_sku(outcome)["SPARE"]
        assert spare.role is ChildRole.EXCLUDED
        assert codes(spare.reasons) == ["component_unused"]
        assert outcome.quantity == 5

    def test_a_disabled_parent_lists_zero(self) -> None:
        """A disabled bundle lists 0."""
        family = attrs.evolve(
            bundle(child("A", 5), options=[(True, [("A", 1)])]),
            parent=Product(sku="24-WG080", type="bundle", enabled=False),
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert outcome.quantity == 0
        assert "family_quantity_parent_disabled" in codes(outcome.reasons)


# --------------------------------------------------------------------------------- templates


class TestTemplate:
    """The template is decided on the parent, as evaluate_listing decides it."""

    def test_no_matching_template(self) -> None:
        """No template matches the parent: nothing is listed, every child says why."""
        narrow = config()
        data = dump_config(narrow)
        data["templates"][0]["condition"] = "sku == 'OTHER'"
        outcome = evaluate_family(load_config(data), configurable(sized("S", "S")), ACCOUNT)
        assert (outcome.template, outcome.quantity, outcome.price, outcome.images) == (
            None,
            None,
            None,
            None,
        )
        assert codes(outcome.reasons) == ["no_matching_template"]
        assert [codes(c.reasons) for c in outcome.children] == [["no_matching_template"]]
        assert outcome.children[0].role is ChildRole.EXCLUDED

    def test_decided_on_the_parent(self) -> None:
        """A template whose condition matches the parent's SKU serves all its children."""
        data = dump_config(config())
        data["templates"][0]["condition"] = "sku == 'MH01'"
        outcome = evaluate_family(load_config(data), configurable(sized("S", "S")), ACCOUNT)
        assert outcome.template == "default"
        assert outcome.quantity == 10

    def test_stored_template(self) -> None:
        """A listing's stored template decides (reason ``listing_template``)."""
        outcome = evaluate_family(
            CONFIG, configurable(sized("S", "S")), ACCOUNT, listing=Listing(template="default")
        )
        assert codes(outcome.reasons)[0] == "listing_template"

    def test_stored_template_that_is_gone(self) -> None:
        """A stored template the configuration no longer has: nothing listed, ``no_template``."""
        outcome = evaluate_family(
            CONFIG, configurable(sized("S", "S")), ACCOUNT, listing=Listing(template="gone")
        )
        assert outcome.template is None
        assert codes(outcome.reasons) == ["no_template"]
        assert codes(outcome.children[0].reasons) == ["no_template"]

    def test_unknown_account(self) -> None:
        """An unknown account is a caller error: PolicyConfigError."""
        with pytest.raises(PolicyConfigError):
            evaluate_family(CONFIG, configurable(sized("S", "S")), "nobody")


# -------------------------------------------------------------------------------- bad input


def problems(build: Any) -> list[str]:
    with pytest.raises(PolicyConfigError) as caught:
        build()
    return caught.value.errors


def parent(kind: str = "configurable", sku: str = "P") -> dict[str, Any]:
    return {"sku": sku, "type": kind}


class TestValidation:
    """Bad families are a PolicyConfigError naming every problem with its path."""

    def test_children_disagree_on_the_variation_attributes(self) -> None:
        """Two children with the same values of every variation attribute."""
        assert problems(
            lambda: configurable(sized("A", "M"), sized("B", "L"), sized("C", "M"))
        ) == [
            (
                "the children disagree on the variation attributes: 'A' and 'C' both have size 'M'"
                " @ $.children[2].attributes"
            )
        ]

    def test_a_variation_attribute_holding_a_list(self) -> None:
        """A variation attribute must hold one value."""
        assert problems(lambda: configurable(child("A", 1, attributes={"size": ("S", "M")}))) == [
            "a variation attribute must hold one value, not a list @ $.children[0].attributes.size"
        ]

    def test_bundle_option_without_selection(self) -> None:
        """An option needs at least one selection."""
        assert problems(lambda: BundleOption(title="Ball", selections=())) == [
            "must not be empty @ $.selections"
        ]

    def test_cycle(self) -> None:
        """A child that is its own parent."""
        assert problems(lambda: configurable(sized("MH01", "S"))) == [
            "'MH01' is the family's parent: a product cannot be its own child @ $.children[0].sku"
        ]

    def test_duplicate_child(self) -> None:
        """Each child once."""
        assert problems(lambda: grouped(child("A"), child("B"), child("A"))) == [
            "'A' is already the child at $.children[0] @ $.children[2].sku"
        ]

    def test_child_that_is_a_family(self) -> None:
        """Families do not nest."""
        assert problems(lambda: grouped(Product(sku="B", type="bundle"))) == [
            "a child cannot itself be a bundle product (families do not nest) @ $.children[0].type"
        ]

    def test_child_of_another_parent(self) -> None:
        """A configurable's child naming another parent."""
        assert problems(lambda: configurable(sized("A", "S", parent_sku="OTHER"))) == [
            "names another parent, 'OTHER' (the family's is 'MH01') @ $.children[0].parent_sku"
        ]

    def test_skus_that_are_not_children(self) -> None:
        """Selections and default quantities name children only."""
        assert problems(lambda: bundle(child("A"), options=[(True, [("A", 1), ("Z", 1)])])) == [
            "'Z' is not a child of the family @ $.bundle_options[0].selections[1].sku"
        ]
        assert problems(lambda: grouped(child("A"), defaults={"Z": 1, "odd sku": 2})) == [
            "'Z' is not a child of the family @ $.default_quantities.Z",
            "'odd sku' is not a child of the family @ $.default_quantities[\"odd sku\"]",
        ]

    def test_parent_of_another_type(self) -> None:
        """The parent is a configurable, grouped or bundle product."""
        assert problems(lambda: ProductFamily(parent=Product(sku="P"))) == [
            (
                "a family's parent must be of type 'configurable', 'grouped', 'bundle' (got 'simple')"
                " @ $.parent.type"
            )
        ]

    @pytest.mark.parametrize(
        ("kind", "fields", "expected"),
        [
            (
                "grouped",
                {"variation_attributes": ("size",)},
                (
                    "only a configurable family has variation attributes (this is a grouped)"
                    " @ $.variation_attributes"
                ),
            ),
            (
                "configurable",
                {
                    "variation_attributes": ("size",),
                    "bundle_options": (BundleOption(selections=(BundleSelection(sku="A"),)),),
                },
                "only a bundle has options (this is a configurable) @ $.bundle_options",
            ),
            (
                "bundle",
                {
                    "bundle_options": (BundleOption(selections=(BundleSelection(sku="A"),)),),
                    "default_quantities": {"A": 1},
                },
                (
                    "only a grouped family has default quantities (this is a bundle)"
                    " @ $.default_quantities"
                ),
            ),
            (
                "bundle",
                {
                    "bundle_options": (BundleOption(selections=(BundleSelection(sku="A"),)),),
                    "grouped_mode": "options",
                },
                "only a grouped family has a grouped mode (this is a bundle) @ $.grouped_mode",
            ),
            (
                "configurable",
                {"variation_attributes": ("size",), "dynamic_price": False},
                "only a bundle has a fixed price (this is a configurable) @ $.dynamic_price",
            ),
        ],
        ids=["variations", "options", "defaults", "grouped mode", "fixed price"],
    )
    def test_fields_of_another_kind(self, kind: str, fields: dict[str, Any], expected: str) -> None:
        """A field only one kind has, set on another kind."""
        children = (Product(sku="A", attributes={"size": "S"}),)
        assert problems(
            lambda: ProductFamily(parent=Product(sku="P", type=kind), children=children, **fields)
        ) == [expected]

    def test_kind_requirements(self) -> None:
        """A configurable needs variation attributes; a bundle options, one of them required."""
        assert problems(lambda: ProductFamily(parent=Product(sku="P", type="configurable"))) == [
            "a configurable family needs at least one variation attribute @ $.variation_attributes"
        ]
        assert problems(lambda: ProductFamily(parent=Product(sku="P", type="bundle"))) == [
            "a bundle needs at least one option @ $.bundle_options"
        ]
        assert problems(lambda: bundle(child("A"), options=[(False, [("A", 1)])])) == [
            "a bundle needs at least one required option @ $.bundle_options"
        ]

    def test_a_sku_twice_in_an_option(self) -> None:
        """An option selects each product once."""
        assert problems(lambda: bundle(child("A"), options=[(True, [("A", 1), ("A", 2)])])) == [
            "'A' is already selection 0 of this option @ $.bundle_options[0].selections[1].sku"
        ]

    def test_field_checks(self) -> None:
        """Field values: attribute codes, default quantities, selection quantities."""
        assert problems(lambda: configurable(codes=("size", "size"))) == [
            "lists an attribute code twice @ $.variation_attributes"
        ]
        assert problems(lambda: grouped(child("A"), defaults={"A": -1})) == [
            "default quantities must be integers between 0 and 9007199254740991 (got -1 for 'A') @ $.default_quantities"
        ]
        assert problems(lambda: BundleSelection(sku="A", qty=0)) == ["must be >= 1 (got 0) @ $.qty"]

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ({"parent": "P"}, "expected a product, got a string @ $.parent"),
            ({"children": [1]}, "expected a list of products, got an integer in it @ $.children"),
            ({"children": 1}, "expected a list of products, got an integer @ $.children"),
            (
                {"variation_attributes": 5},
                "expected a list of attribute codes, got an integer @ $.variation_attributes",
            ),
            (
                {"variation_attributes": [" "]},
                "expected a list of non-empty attribute codes, got a string in it @ $.variation_attributes",
            ),
            (
                {"variation_attributes": ["x" * 256]},
                "attribute codes must be at most 255 characters, got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' @ $.variation_attributes",
            ),
            (
                {"default_quantities": [("A", 1)]},
                "expected an object of SKU -> default quantity, got a list @ $.default_quantities",
            ),
            (
                {"default_quantities": {"A": 1, " ": 1}},
                "SKUs must be non-empty strings of at most 255 characters (got the key ' ') @ $.default_quantities",
            ),
            (
                {"default_quantities": {str(i): 1 for i in range(10_001)}},
                "must have at most 10000 items (got 10001) @ $.default_quantities",
            ),
            (
                {"default_quantities": {"A": True}},
                "default quantities must be integers between 0 and 9007199254740991 (got True for 'A') @ $.default_quantities",
            ),
            (
                {"grouped_mode": "all"},
                "must be one of 'set', 'options' (got 'all') @ $.grouped_mode",
            ),
            (
                {"bundle_options": [1]},
                "expected a list of bundle options, got an integer in it @ $.bundle_options",
            ),
            ({"dynamic_price": 1}, "expected a boolean, got an integer @ $.dynamic_price"),
        ],
        ids=lambda value: "" if isinstance(value, str) else None,
    )
    def test_field_types_in_python(self, fields: dict[str, Any], expected: str) -> None:
        """A value of the wrong type, given in Python, is reported at its field."""
        values: dict[str, Any] = {"parent": Product(sku="P", type="grouped"), **fields}
        assert problems(lambda: ProductFamily(**values)) == [expected]


class TestLoading:
    """structure(data, ProductFamily) reports the same problems with absolute paths."""

    def test_absolute_paths(self) -> None:
        """Nested problems carry the whole path from the family."""
        data = {
            "parent": parent("bundle"),
            "children": [{"sku": "A"}],
            "bundle_options": [
                {"title": "Ball", "selections": []},
                {"selections": [{"sku": "A", "qty": 0}]},
            ],
        }
        assert problems(lambda: structure(data, ProductFamily)) == [
            "must not be empty @ $.bundle_options[0].selections",
            "must be >= 1 (got 0) @ $.bundle_options[1].selections[0].qty",
        ]

    def test_cross_field_problems_beside_field_problems(self) -> None:
        """A duplicate child and a bad option are both reported, in one error."""
        data = {
            "parent": parent("bundle"),
            "children": [{"sku": "A"}, {"sku": "A"}],
            "bundle_options": [{"selections": []}],
            "dynamic_price": "yes",
        }
        assert problems(lambda: structure(data, ProductFamily)) == [
            "must not be empty @ $.bundle_options[0].selections",
            "expected a boolean, got a string @ $.dynamic_price",
            "'A' is already the child at $.children[0] @ $.children[1].sku",
        ]

    def test_disagreeing_children_beside_a_bad_field(self) -> None:
        """The variation rule is judged even when another field is broken."""
        data = {
            "parent": parent(),
            "children": [
                {"sku": "A", "attributes": {"size": "M"}},
                {"sku": "B", "attributes": {"size": "M"}},
            ],
            "variation_attributes": ["size"],
            "grouped_mode": "everything",
        }
        assert problems(lambda: structure(data, ProductFamily)) == [
            "must be one of 'set', 'options' (got 'everything') @ $.grouped_mode",
            (
                "the children disagree on the variation attributes: 'A' and 'B' both have size 'M'"
                " @ $.children[1].attributes"
            ),
        ]

    def test_children_judged_while_the_parent_is_broken(self) -> None:
        """A broken parent: the children's own rules are still judged (not the kind's)."""
        data = {
            "parent": {"sku": "P", "type": "kit"},
            "children": [{"sku": "A"}, {"sku": "A", "type": "grouped"}],
            "bundle_options": [{"selections": [{"sku": "Z"}]}],
        }
        assert problems(lambda: structure(data, ProductFamily)) == [
            "must be one of 'simple', 'configurable', 'bundle', 'grouped', 'virtual', 'downloadable' (got 'kit') @ $.parent.type",
            "'A' is already the child at $.children[0] @ $.children[1].sku",
            "a child cannot itself be a grouped product (families do not nest) @ $.children[1].type",
        ]

    def test_kind_rules_judged_while_the_children_are_broken(self) -> None:
        """Broken children: the rules of the kind that do not read them are still judged."""
        grouped_data = {
            "parent": parent("grouped"),
            "children": [{"sku": 1}],
            "default_quantities": {"Z": 1},
            "variation_attributes": ["size"],
        }
        assert problems(lambda: structure(grouped_data, ProductFamily)) == [
            "expected a string, got an integer @ $.children[0].sku",
            "only a configurable family has variation attributes (this is a grouped) @ $.variation_attributes",
        ]
        bundle_data = {
            "parent": parent("bundle"),
            "children": [{"sku": 1}],
            "bundle_options": [{"required": False, "selections": [{"sku": "Z"}]}],
            "grouped_mode": "options",
        }
        assert problems(lambda: structure(bundle_data, ProductFamily)) == [
            "expected a string, got an integer @ $.children[0].sku",
            "a bundle needs at least one required option @ $.bundle_options",
            "only a grouped family has a grouped mode (this is a bundle) @ $.grouped_mode",
        ]
        configurable_data = {
            "parent": parent("configurable"),
            "children": [{"sku": 1}],
            "variation_attributes": "size",
            "default_quantities": {"A": 1},
        }
        assert problems(lambda: structure(configurable_data, ProductFamily)) == [
            "expected a string, got an integer @ $.children[0].sku",
            "expected a list, got a string @ $.variation_attributes",
            "only a grouped family has default quantities (this is a configurable) @ $.default_quantities",
        ]

    def test_cycle_and_missing_child(self) -> None:
        """A cycle and a selection of a SKU that is not a child, from JSON."""
        data = {
            "parent": parent("bundle", "K"),
            "children": [{"sku": "K"}],
            "bundle_options": [{"selections": [{"sku": "Z"}]}],
        }
        assert problems(lambda: structure(data, ProductFamily)) == [
            "'K' is the family's parent: a product cannot be its own child @ $.children[0].sku",
            "'Z' is not a child of the family @ $.bundle_options[0].selections[0].sku",
        ]

    def test_selection_quantity_given_as_a_decimal(self) -> None:
        """Magento sends selection quantities as decimals: they are floored."""
        data = {"sku": "A", "qty": "2.0000"}
        assert structure(data, BundleSelection).qty == 2
        assert structure({"sku": "A", "qty": 1.0}, BundleSelection).qty == 1

    def test_a_family_outcome_loads(self) -> None:
        """A family outcome dumps and loads back equal (variation values included)."""
        family = configurable(
            child("A", 1, attributes={"size": "M", "chest": Decimal("38.5")}),
            child("B", 1, attributes={"size": 40}),
        )
        outcome = evaluate_family(CONFIG, family, ACCOUNT)
        assert structure(unstructure(outcome), FamilyOutcome) == outcome


# -------------------------------------------------------------------------------- properties


@st.composite
def config_and_account(draw: st.DrawFn) -> tuple[Configuration, str]:
    """A configuration from the strategies, with one of its accounts."""
    configuration = draw(pt.configurations(max_templates=2, max_accounts=2))
    return configuration, draw(st.sampled_from(configuration.accounts)).id


class TestProperties:
    """The invariants of evaluate_family over every family the strategies build."""

    @given(pt.families("configurable"), st.sampled_from(PriceVariationMode))
    def test_configurable_quantity_is_the_sum_of_its_variants(
        self, family: ProductFamily, mode: PriceVariationMode
    ) -> None:
        """For an enabled configurable parent, the listing's quantity is the sum of its variants'
        quantities, and only enabled children with every variation value are variants."""
        configuration = config(pricing={"price_variation_mode": mode.value})
        outcome = evaluate_family(configuration, family, ACCOUNT, on=ON)
        listed = sum(v.quantity.quantity for v in outcome.variants if v.quantity)
        assert outcome.quantity == (listed if family.parent.enabled else 0)
        children = {c.sku: c for c in family.children}
        for variant in outcome.variants:
            assert children[variant.sku].enabled
            assert set(variant.variation) == set(family.variation_attributes)

    @given(pt.families("grouped", grouped_mode="set", max_qty=20))
    def test_grouped_set_with_an_unavailable_item_lists_zero(self, family: ProductFamily) -> None:
        """A grouped set lists 0 as soon as an item is disabled or out of stock; otherwise
        never more than any item's quantity."""
        outcome = evaluate_family(CONFIG, family, ACCOUNT, on=ON)
        assert outcome.quantity is not None
        unavailable = [
            c
            for c in family.children
            if not c.enabled
            or (
                c.stock is not None
                and c.stock.manage_stock
                and (not c.stock.in_stock or c.stock.qty <= 0)
            )
        ]
        if unavailable or not family.children:
            assert outcome.quantity == 0
        for component in outcome.children:
            assert component.quantity is not None
            assert outcome.quantity <= component.quantity.quantity

    @given(pt.families("bundle", max_qty=30))
    def test_bundle_never_exceeds_any_required_options_supply(self, family: ProductFamily) -> None:
        """A bundle's quantity never exceeds what any required option can supply:
        max over its selections of ⌊quantity / quantity per bundle⌋."""
        outcome = evaluate_family(CONFIG, family, ACCOUNT, on=ON)
        quantities = {c.sku: c.quantity.quantity for c in outcome.children if c.quantity}
        enabled = {c.sku: c.enabled for c in family.children}
        assert outcome.quantity is not None
        for option in family.bundle_options:
            if option.required:
                supply = max(
                    quantities[s.sku] // s.qty if enabled[s.sku] else 0 for s in option.selections
                )
                assert outcome.quantity <= supply

    @given(pt.families(), config_and_account())
    def test_every_child_appears_once(
        self, family: ProductFamily, pair: tuple[Configuration, str]
    ) -> None:
        """Every child appears exactly once in the outcome, in the family's order, as a variant,
        a component, or excluded with at least one reason."""
        configuration, account = pair
        outcome = evaluate_family(configuration, family, account, on=ON)
        assert [c.sku for c in outcome.children] == [c.sku for c in family.children]
        for item in outcome.children:
            assert item.reasons
            if item.role is ChildRole.EXCLUDED:
                assert item.reasons[0].code != "variant_listed"

    @given(pt.families(), config_and_account())
    def test_each_child_is_evaluated_as_a_listing(
        self, family: ProductFamily, pair: tuple[Configuration, str]
    ) -> None:
        """Each child's quantity and price equal evaluate_listing of that child under the
        family's template (the price: under ``price_variation_mode`` ``children``)."""
        configuration, account = pair
        outcome = evaluate_family(configuration, family, account, on=ON)
        if outcome.template is None:
            return
        parent_mode = (
            configuration.pricing_policies[
                next(t for t in configuration.templates if t.id == outcome.template).pricing_policy
            ].price_variation_mode
            is PriceVariationMode.PARENT
        )
        stored = Listing(template=outcome.template)
        for item, product in zip(outcome.children, family.children, strict=True):
            flat = evaluate_listing(configuration, product, account, on=ON, listing=stored)
            assert item.quantity == flat.quantity
            if item.role is ChildRole.VARIANT and parent_mode:
                assert item.price == outcome.price
            else:
                assert item.price == flat.price
                assert item.errors == flat.errors
            assert item.images == flat.images

    @given(pt.families(), config_and_account())
    def test_never_raises(self, family: ProductFamily, pair: tuple[Configuration, str]) -> None:
        """evaluate_family never raises for a valid family and a known account; its outcome
        survives JSON."""
        configuration, account = pair
        outcome = evaluate_family(configuration, family, account, on=ON)
        assert outcome.sku == family.parent.sku
        assert structure(unstructure(outcome), FamilyOutcome) == outcome


class TestRoundTrip:
    """``structure(unstructure(x)) == x`` for the family models."""

    @settings(max_examples=50)
    @given(pt.families())
    def test_family(self, family: ProductFamily) -> None:
        """A family survives JSON."""
        assert structure(unstructure(family), ProductFamily) == family

    @given(pt.bundle_options())
    def test_option(self, option: BundleOption) -> None:
        """A bundle option, with its selections, survives JSON."""
        assert structure(unstructure(option), BundleOption) == option
