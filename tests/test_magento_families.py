"""Product families from a Magento REST catalog: ``families_from_rest``."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from policy_engine import (
    ChildRole,
    FamilyKind,
    GroupedMode,
    PolicyConfigError,
    Product,
    default_config,
    evaluate_family,
)
from policy_engine.adapters.magento import (
    CHILDREN_ATTRIBUTE,
    RestCatalog,
    families_from_rest,
    product_from_rest,
)

SAMPLE_CATALOG = (
    Path(__file__).resolve().parent.parent.parent
    / "shared"
    / "data"
    / "magento-sample-catalog.json"
)
REST_EXAMPLES = SAMPLE_CATALOG.with_name("magento-rest-examples")
SAMPLE_OPTIONS: dict[str, Any] = {
    "category_attribute": "category_paths",
    "children_key": "configurable_child_skus",
}


@cache
def _sample() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(SAMPLE_CATALOG.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def sample() -> list[dict[str, Any]]:
    if not SAMPLE_CATALOG.exists():
        pytest.skip("the shared sample catalog is not present")
    return _sample()


@cache
def _sample_catalog() -> RestCatalog:
    return families_from_rest(_sample(), **SAMPLE_OPTIONS)


@pytest.fixture
def catalog(sample: list[dict[str, Any]]) -> RestCatalog:
    return _sample_catalog()


def simple(sku: str, **attributes: str) -> dict[str, Any]:
    """A simple product payload with a managed stock of 10 and a price of 20."""
    return {
        "sku": sku,
        "type_id": "simple",
        "price": 20,
        "extension_attributes": {"stock_item": {"qty": 10, "is_in_stock": True}},
        "custom_attributes": [
            {"attribute_code": code, "value": value} for code, value in attributes.items()
        ],
    }


def configurable(sku: str, children: list[Any], codes: Any = ("size",)) -> dict[str, Any]:
    """A configurable payload in the sample's shape (child SKUs and attribute codes)."""
    return {
        "sku": sku,
        "type_id": "configurable",
        "price": 20,
        "extension_attributes": {
            "configurable_child_skus": children,
            "configurable_attribute_codes": list(codes),
        },
    }


def bundle(sku: str, options: list[Any], **top: Any) -> dict[str, Any]:
    return {
        "sku": sku,
        "type_id": "bundle",
        "extension_attributes": {"bundle_product_options": options},
        **top,
    }


def option(*skus: str, required: bool = True, **link: Any) -> dict[str, Any]:
    return {
        "title": f"Option of {', '.join(skus) or 'nothing'}",
        "required": required,
        "product_links": [{"sku": sku, "qty": 1, **link} for sku in skus],
    }


def grouped(sku: str, links: list[tuple[str, Any]]) -> dict[str, Any]:
    return {
        "sku": sku,
        "type_id": "grouped",
        "product_links": [
            {
                "sku": sku,
                "link_type": "associated",
                "linked_product_sku": child,
                "extension_attributes": {"qty": qty},
            }
            for child, qty in links
        ],
    }


def families(payloads: list[Any], **options: Any) -> RestCatalog:
    return families_from_rest(payloads, **{**SAMPLE_OPTIONS, **options})


def skus(products: Any) -> list[str]:
    return [product.sku for product in products]


def family_skus(catalog: RestCatalog) -> dict[str, list[str]]:
    return {family.parent.sku: skus(family.children) for family in catalog.families}


class TestSampleCatalog:
    """The Luma sample catalog: every family with all its children, the rest standalone."""

    def test_no_problems(self, catalog: RestCatalog) -> None:
        """The sample converts without a single problem."""
        assert catalog.problems == ()
        assert catalog.error is None

    def test_families_by_kind(self, catalog: RestCatalog) -> None:
        """147 configurables, one bundle and one grouped product are families."""
        kinds = [family.kind for family in catalog.families]
        assert kinds.count(FamilyKind.CONFIGURABLE) == 147
        assert kinds.count(FamilyKind.BUNDLE) == 1
        assert kinds.count(FamilyKind.GROUPED) == 1
        assert len(kinds) == 149

    def test_every_configurable_holds_every_child_link(
        self, sample: list[dict[str, Any]], catalog: RestCatalog
    ) -> None:
        """Each configurable holds its configurable_child_skus in order: 1,847 children."""
        listed = {
            payload["sku"]: payload["extension_attributes"]["configurable_child_skus"]
            for payload in sample
            if payload["type_id"] == "configurable"
        }
        held = {
            family.parent.sku: skus(family.children)
            for family in catalog.families
            if family.kind is FamilyKind.CONFIGURABLE
        }
        assert held == listed
        assert sum(len(children) for children in held.values()) == 1847
        for family in catalog.families:
            if family.kind is FamilyKind.CONFIGURABLE:
                assert family.variation_attributes == ("size", "color")
                assert {child.parent_sku for child in family.children} == {family.parent.sku}
                assert family.parent.attributes[CHILDREN_ATTRIBUTE] == tuple(
                    listed[family.parent.sku]
                )

    def test_bundle(self, catalog: RestCatalog) -> None:
        """24-WG080: four required options, eight selections, a dynamic price."""
        (kit,) = [f for f in catalog.families if f.kind is FamilyKind.BUNDLE]
        assert kit.parent.sku == "24-WG080"
        assert kit.dynamic_price is True
        assert [len(o.selections) for o in kit.bundle_options] == [3, 1, 3, 1]
        assert all(o.required for o in kit.bundle_options)
        assert [s.is_default for s in kit.bundle_options[0].selections] == [True, False, False]
        assert skus(kit.children) == [
            "24-WG081-blue",
            "24-WG082-blue",
            "24-WG083-blue",
            "24-WG084",
            "24-WG085",
            "24-WG086",
            "24-WG087",
            "24-WG088",
        ]

    def test_grouped(self, catalog: RestCatalog) -> None:
        """24-WG085_Group: three straps, Magento's default quantity 0 counting once per set."""
        (straps,) = [f for f in catalog.families if f.kind is FamilyKind.GROUPED]
        assert straps.parent.sku == "24-WG085_Group"
        assert skus(straps.children) == ["24-WG085", "24-WG086", "24-WG087"]
        assert straps.default_quantities == {}
        assert straps.grouped_mode is GroupedMode.SET

    def test_standalone_products(self, sample: list[dict[str, Any]], catalog: RestCatalog) -> None:
        """The 42 products outside every family stand alone, converted as product_from_rest does."""
        members = {f.parent.sku for f in catalog.families} | {
            c.sku for f in catalog.families for c in f.children
        }
        expected = [
            product_from_rest(payload, **SAMPLE_OPTIONS)
            for payload in sample
            if payload["sku"] not in members
        ]
        assert list(catalog.products) == expected
        assert len(expected) == 42
        assert len(members) == 149 + 1847 + 8

    def test_families_evaluate(self, catalog: RestCatalog) -> None:
        """With the AliExpress defaults, no configurable lists 0 while its children have stock."""
        config = default_config("aliexpress")
        account = config.accounts[0].id
        for family in catalog.families:
            outcome = evaluate_family(config, family, account)
            assert len(outcome.children) == len(family.children)
            if family.kind is FamilyKind.CONFIGURABLE:
                stocked = sum(
                    c.quantity.quantity for c in outcome.children if c.quantity is not None
                )
                assert outcome.quantity == stocked > 0
                assert all(c.role is ChildRole.VARIANT for c in outcome.children)
            else:
                assert outcome.price is not None


class TestConfigurableLinks:
    """A configurable's links: each broken one reported with its path and left out."""

    def test_link_to_a_missing_sku(self) -> None:
        """A child SKU that is not in the catalog is reported; the family keeps the others."""
        catalog = families([configurable("C", ["C-S", "C-M"]), simple("C-S", size="S")])
        assert catalog.problems == (
            ("$[0].extension_attributes.configurable_child_skus[1]", "'C-M' is not in the catalog"),
        )
        assert family_skus(catalog) == {"C": ["C-S"]}
        assert catalog.families[0].parent.attributes[CHILDREN_ATTRIBUTE] == ("C-S",)
        assert catalog.products == ()

    def test_comma_separated_children(self) -> None:
        """Children given as one comma-separated string are reported at the string's path."""
        catalog = families([configurable("C", "C-S, C-X"), simple("C-S", size="S")])  # type: ignore[arg-type]
        assert catalog.problems == (
            ("$[0].extension_attributes.configurable_child_skus", "'C-X' is not in the catalog"),
        )
        assert family_skus(catalog) == {"C": ["C-S"]}

    def test_child_claimed_by_two_configurables(self) -> None:
        """The first configurable in catalog order keeps a child both list."""
        catalog = families(
            [
                configurable("A", ["A-S", "X"]),
                configurable("B", ["X", "B-S"]),
                simple("A-S", size="S"),
                simple("B-S", size="S"),
                simple("X", size="M"),
            ]
        )
        assert catalog.problems == (
            (
                "$[1].extension_attributes.configurable_child_skus[0]",
                "'X' is already a child of 'A' ($[0])",
            ),
        )
        assert family_skus(catalog) == {"A": ["A-S", "X"], "B": ["B-S"]}
        assert catalog.families[0].children[1].parent_sku == "A"

    def test_a_child_that_is_its_own_parent(self) -> None:
        """A configurable listing itself is a cycle: the link is reported and left out."""
        catalog = families([configurable("C", ["C", "C-S"]), simple("C-S", size="S")])
        assert catalog.problems == (
            (
                "$[0].extension_attributes.configurable_child_skus[0]",
                "'C' links to itself: a product cannot be its own child",
            ),
        )
        assert family_skus(catalog) == {"C": ["C-S"]}

    def test_families_do_not_nest(self) -> None:
        """A link to another family's parent is reported; that parent keeps its own family."""
        catalog = families(
            [configurable("A", ["B"]), configurable("B", ["B-S"]), simple("B-S", size="S")]
        )
        assert catalog.problems == (
            (
                "$[0].extension_attributes.configurable_child_skus[0]",
                "'B' is a configurable product: families do not nest",
            ),
        )
        assert family_skus(catalog) == {"A": [], "B": ["B-S"]}

    def test_a_child_listed_twice_by_its_parent_is_held_once(self) -> None:
        """The same child twice in one parent's list is one child."""
        catalog = families([configurable("C", ["C-S", "C-S"]), simple("C-S", size="S")])
        assert catalog.problems == ()
        assert family_skus(catalog) == {"C": ["C-S"]}

    def test_configurable_without_children(self) -> None:
        """A configurable listing no children is a family without children, not standalone."""
        payload = configurable("C", [])
        del payload["extension_attributes"]["configurable_child_skus"]
        catalog = families([payload])
        assert catalog.problems == ()
        assert family_skus(catalog) == {"C": []}
        assert CHILDREN_ATTRIBUTE not in catalog.families[0].parent.attributes

    def test_children_disagree_on_the_variation_attributes(self) -> None:
        """A family the model refuses is reported under the parent's path and left out whole."""
        catalog = families(
            [
                configurable("C", ["C-1", "C-2"]),
                simple("C-1", size="S"),
                simple("C-2", size="S"),
                simple("ALONE"),
            ]
        )
        assert catalog.problems == (
            (
                "$[0].children[1].attributes",
                (
                    "the children disagree on the variation attributes: 'C-1' and 'C-2' both have"
                    " size 'S'"
                ),
            ),
        )
        assert catalog.families == ()
        assert skus(catalog.products) == ["ALONE"]
        error = catalog.error
        assert isinstance(error, PolicyConfigError)
        assert error.problems == list(catalog.problems)

    def test_no_variation_attribute(self) -> None:
        """A configurable without variation attributes is refused with the model's path."""
        payload = configurable("C", ["C-S"], codes=())
        catalog = families([payload, simple("C-S", size="S")])
        assert catalog.problems == (
            (
                "$[0].variation_attributes",
                "a configurable family needs at least one variation attribute",
            ),
        )
        assert catalog.families == ()
        assert catalog.products == ()

    def test_malformed_attribute_codes(self) -> None:
        """A variation attribute code that is not a string is reported at its path."""
        payload = configurable("C", ["C-S"], codes=("size", 7))
        catalog = families([payload, simple("C-S", size="S")])
        assert catalog.problems == (
            (
                "$[0].extension_attributes.configurable_attribute_codes[1]",
                "expected a non-empty string, got 7",
            ),
        )
        assert catalog.families[0].variation_attributes == ("size",)

    def test_malformed_children_list(self) -> None:
        """A children value that is neither a list nor a string is reported; no child is read."""
        payload = configurable("C", {"C-S": 1}, codes=("size",))  # type: ignore[arg-type]
        catalog = families([payload, simple("C-S", size="S")])
        paths = [path for path, _ in catalog.problems]
        assert "$[0].extension_attributes.configurable_child_skus" in paths
        assert all(path.startswith("$[0]") for path in paths)
        assert catalog.families == ()
        assert skus(catalog.products) == ["C-S"]

    def test_a_failing_child_payload(self) -> None:
        """A child whose payload fails is reported under its own index and left out."""
        bad = simple("C-M", size="M")
        bad["price"] = "a lot"
        catalog = families([configurable("C", ["C-S", "C-M"]), simple("C-S", size="S"), bad])
        assert catalog.problems == (
            ("$[2].price", "expected money (a decimal number), got the string 'a lot'"),
        )
        assert family_skus(catalog) == {"C": ["C-S"]}
        assert catalog.products == ()

    def test_a_failing_parent_payload(self) -> None:
        """A parent whose payload fails leaves its family out: its children are not listed alone."""
        parent = configurable("C", ["C-S"])
        parent["status"] = 9
        catalog = families([parent, simple("C-S", size="S")])
        assert [path for path, _ in catalog.problems] == ["$[0].status"]
        assert catalog.families == ()
        assert catalog.products == ()


class TestStatedParent:
    """A child whose ``parent_sku`` names another parent than the catalog says."""

    def with_parent(self, payload: dict[str, Any], parent: str) -> dict[str, Any]:
        payload["extension_attributes"]["parent_sku"] = parent
        return payload

    def test_missing_parent(self) -> None:
        """A child whose parent is not in the catalog is reported and stands alone."""
        child = self.with_parent(simple("C-S", size="S"), "GONE")
        catalog = families([child])
        assert catalog.problems == (
            ("$[0].extension_attributes.parent_sku", "the parent 'GONE' is not in the catalog"),
        )
        assert skus(catalog.products) == ["C-S"]
        assert catalog.products[0].parent_sku == "GONE"

    def test_parent_that_is_not_a_configurable(self) -> None:
        """A parent_sku naming a simple product is reported."""
        catalog = families([simple("P"), self.with_parent(simple("C-S"), "P")])
        assert catalog.problems == (
            (
                "$[1].extension_attributes.parent_sku",
                "the parent 'P' is not a configurable product",
            ),
        )
        assert skus(catalog.products) == ["P", "C-S"]

    def test_parent_that_does_not_list_the_child(self) -> None:
        """A child naming a configurable that does not list it is reported and stands alone."""
        catalog = families(
            [
                configurable("C", ["C-M"]),
                simple("C-M", size="M"),
                self.with_parent(simple("C-S", size="S"), "C"),
            ]
        )
        assert catalog.problems == (
            (
                "$[2].extension_attributes.parent_sku",
                "the parent 'C' does not list 'C-S' as its child",
            ),
        )
        assert family_skus(catalog) == {"C": ["C-M"]}
        assert skus(catalog.products) == ["C-S"]

    def test_child_denying_the_configurable_that_lists_it(self) -> None:
        """A listed child naming another parent is left out of the family that lists it."""
        catalog = families(
            [
                configurable("A", ["X", "A-S"]),
                configurable("B", ["B-S"]),
                simple("A-S", size="S"),
                simple("B-S", size="S"),
                self.with_parent(simple("X", size="M"), "B"),
            ]
        )
        assert catalog.problems == (
            (
                "$[4].extension_attributes.parent_sku",
                "the parent 'B' does not list 'X' as its child",
            ),
        )
        assert family_skus(catalog) == {"A": ["A-S"], "B": ["B-S"]}
        assert skus(catalog.products) == ["X"]
        assert catalog.products[0].parent_sku == "B"

    def test_agreeing_parent(self) -> None:
        """A child naming the configurable that lists it is no problem."""
        catalog = families([configurable("C", ["C-S"]), self.with_parent(simple("C-S"), "C")])
        assert catalog.problems == ()
        assert catalog.families[0].children[0].parent_sku == "C"


class TestRestConfigurable:
    """REST's shape: children as entity ids, variation attributes by attribute id."""

    def payloads(self) -> list[dict[str, Any]]:
        parent = {
            "id": 10,
            "sku": "MS-Champ",
            "type_id": "configurable",
            "price": 0,
            "extension_attributes": {
                "configurable_product_options": [
                    {
                        "id": 1,
                        "attribute_id": "141",
                        "label": "Size",
                        "values": [{"value_index": 168}],
                    },
                    {
                        "id": 2,
                        "attribute_id": 93,
                        "label": "Color",
                        "values": [{"value_index": 52}],
                    },
                ],
                "configurable_product_links": [11, 12],
            },
        }
        small = {**simple("MS-Champ-S", size="168", color="52"), "id": 11}
        medium = {**simple("MS-Champ-M", size="169", color="52"), "id": "12"}
        return [parent, small, medium]

    def test_ids_through_the_catalog(self) -> None:
        """Entity ids resolve through the payloads' own ids; attribute ids through the mapping."""
        catalog = families_from_rest(self.payloads(), attribute_codes={141: "size", "93": "color"})
        assert catalog.problems == ()
        (family,) = catalog.families
        assert skus(family.children) == ["MS-Champ-S", "MS-Champ-M"]
        assert family.variation_attributes == ("size", "color")
        assert family.parent.attributes[CHILDREN_ATTRIBUTE] == ("MS-Champ-S", "MS-Champ-M")
        config = default_config("aliexpress")
        outcome = evaluate_family(config, family, config.accounts[0].id)
        assert [dict(v.variation) for v in outcome.variants] == [
            {"size": "168", "color": "52"},
            {"size": "169", "color": "52"},
        ]
        assert outcome.quantity == sum(v.quantity.quantity for v in outcome.variants if v.quantity)

    def test_ids_through_product_skus(self) -> None:
        """With ``product_skus`` the ids map through it; an id it lacks is reported."""
        catalog = families_from_rest(
            self.payloads(),
            product_skus={11: "MS-Champ-S"},
            attribute_codes={141: "size", 93: "color"},
        )
        assert catalog.problems == (
            (
                "$[0].extension_attributes.configurable_product_links[1]",
                "product id 12 has no entry in the product mapping",
            ),
        )
        assert family_skus(catalog) == {"MS-Champ": ["MS-Champ-S"]}
        assert skus(catalog.products) == ["MS-Champ-M"]

    def test_unknown_id(self) -> None:
        """An entity id no payload has is reported."""
        payloads = self.payloads()
        payloads[0]["extension_attributes"]["configurable_product_links"] = [11, 99]
        catalog = families_from_rest(payloads, attribute_codes={141: "size", 93: "color"})
        assert catalog.problems == (
            (
                "$[0].extension_attributes.configurable_product_links[1]",
                "product id 99 is the id of no product in the catalog",
            ),
        )

    def test_attribute_ids_without_a_mapping(self) -> None:
        """Without ``attribute_codes`` the ids are kept as strings, as every unmapped id."""
        catalog = families_from_rest(self.payloads())
        assert catalog.families[0].variation_attributes == ("141", "93")

    def test_attribute_id_missing_from_the_mapping(self) -> None:
        """An attribute id the mapping lacks is reported at its path."""
        catalog = families_from_rest(self.payloads(), attribute_codes={141: "size"})
        assert catalog.problems == (
            (
                "$[0].extension_attributes.configurable_product_options[1].attribute_id",
                "attribute id 93 has no entry in the attribute mapping",
            ),
        )
        assert catalog.families[0].variation_attributes == ("size",)

    def test_malformed_options(self) -> None:
        """An option that is not an object, or has no attribute_id, is reported."""
        payloads = self.payloads()
        payloads[0]["extension_attributes"]["configurable_product_options"] = [
            "size",
            {"label": "Color"},
            {"attribute_id": None},
            {"attribute_id": 141},
        ]
        catalog = families_from_rest(payloads, attribute_codes={141: "size"})
        base = "$[0].extension_attributes.configurable_product_options"
        assert catalog.problems == (
            (f"{base}[0]", "expected an option object, got 'size'"),
            (f"{base}[1].attribute_id", "required field missing"),
            (
                f"{base}[2].attribute_id",
                "expected an id (a non-empty string or an integer), got null",
            ),
        )


class TestBundle:
    """A bundle's options and price type."""

    def test_the_rest_example(self) -> None:
        """The published Desktop-Computer bundle: two required options of two selections."""
        path = REST_EXAMPLES / "product-bundle-Desktop-Computer.response.json"
        if not path.exists():
            pytest.skip("the shared REST examples are not present")
        payload = json.loads(path.read_text(encoding="utf-8"))
        parts = [simple(sku) for sku in ("RAM-12GB", "RAM-24GB", "Monitor-15", "Monitor-17")]
        catalog = families_from_rest([payload, *parts])
        assert catalog.problems == ()
        (family,) = catalog.families
        assert family.dynamic_price is True
        assert [o.title for o in family.bundle_options] == ["RAM", "Monitor"]
        assert family.bundle_options[1].selections[1].price == Decimal(150)
        config = default_config("aliexpress")
        outcome = evaluate_family(config, family, config.accounts[0].id)
        assert outcome.quantity == 10  # each selection holds 10
        assert outcome.price is not None

    def test_selection_fields(self) -> None:
        """qty (floored), is_default and price are read from each product link."""
        links = [{"sku": "A", "qty": "2.5000", "is_default": "1", "price": "3.50"}]
        catalog = families([bundle("K", [{"title": "T", "product_links": links}]), simple("A")])
        assert catalog.problems == ()
        (selection,) = catalog.families[0].bundle_options[0].selections
        assert (selection.qty, selection.is_default, selection.price) == (2, True, Decimal("3.50"))

    def test_option_with_no_selection(self) -> None:
        """An option without product links refuses the bundle, with the option's path."""
        catalog = families([bundle("K", [option("A"), option()]), simple("A")])
        assert catalog.problems == (
            (
                "$[0].extension_attributes.bundle_product_options[1].product_links",
                "a bundle option needs at least one selection",
            ),
        )
        assert catalog.families == ()
        assert catalog.products == ()

    def test_malformed_options_list(self) -> None:
        """bundle_product_options that is not a list is reported; the bundle has no option."""
        catalog = families([bundle("K", "RAM")])  # type: ignore[arg-type]
        assert catalog.problems == (
            ("$[0].extension_attributes.bundle_product_options", "expected a list, got 'RAM'"),
            ("$[0].bundle_options", "a bundle needs at least one option"),
        )

    def test_bundle_without_option_key(self) -> None:
        """A bundle payload without bundle_product_options is refused by the model."""
        payload = bundle("K", [])
        del payload["extension_attributes"]["bundle_product_options"]
        catalog = families([payload])
        assert catalog.problems == (("$[0].bundle_options", "a bundle needs at least one option"),)

    def test_a_product_in_two_options(self) -> None:
        """A product selectable in two options is one child of the bundle."""
        catalog = families([bundle("K", [option("A"), option("A", "B")]), simple("A"), simple("B")])
        assert catalog.problems == ()
        assert family_skus(catalog) == {"K": ["A", "B"]}

    def test_overlong_title(self) -> None:
        """An option title longer than a name may be refuses the bundle, with the title's path."""
        long = option("A")
        long["title"] = "x" * 2000
        catalog = families([bundle("K", [long]), simple("A")])
        assert [path for path, _ in catalog.problems] == [
            "$[0].extension_attributes.bundle_product_options[0].title"
        ]
        assert catalog.families == ()
        assert catalog.products == ()

    def test_bundle_without_options(self) -> None:
        """A bundle without options is refused by the model, under the bundle's path."""
        catalog = families([bundle("K", [])])
        assert catalog.problems == (("$[0].bundle_options", "a bundle needs at least one option"),)

    def test_link_to_a_missing_sku(self) -> None:
        """A selection of a SKU not in the catalog is reported; the option keeps the others."""
        catalog = families([bundle("K", [option("A", "GONE")]), simple("A")])
        assert catalog.problems == (
            (
                "$[0].extension_attributes.bundle_product_options[0].product_links[1].sku",
                "'GONE' is not in the catalog",
            ),
        )
        assert family_skus(catalog) == {"K": ["A"]}

    def test_required_option_without_a_usable_selection(self) -> None:
        """A required option whose every selection is broken refuses the bundle."""
        catalog = families([bundle("K", [option("A"), option("GONE")]), simple("A")])
        paths = [path for path, _ in catalog.problems]
        assert paths == [
            "$[0].extension_attributes.bundle_product_options[1].product_links[0].sku",
            "$[0].extension_attributes.bundle_product_options[1].product_links",
        ]
        assert catalog.problems[1][1] == "no selection of this required option is usable"
        assert catalog.families == ()
        assert catalog.products == ()

    def test_optional_option_without_a_usable_selection(self) -> None:
        """An optional option whose every selection is broken is left out of the bundle."""
        catalog = families(
            [bundle("K", [option("A"), option("GONE", required=False)]), simple("A")]
        )
        assert len(catalog.problems) == 1
        assert len(catalog.families[0].bundle_options) == 1

    def test_selection_whose_product_fails(self) -> None:
        """A selection whose product fails to convert is dropped; a required option empty refuses."""
        broken = simple("B")
        broken["status"] = 7
        catalog = families([bundle("K", [option("A"), option("B")]), simple("A"), broken])
        assert [path for path, _ in catalog.problems] == [
            "$[0].extension_attributes.bundle_product_options[1].product_links",
            "$[2].status",
        ]
        assert catalog.families == ()
        assert catalog.products == ()
        catalog = families(
            [bundle("K", [option("A"), option("B", required=False)]), simple("A"), broken]
        )
        assert family_skus(catalog) == {"K": ["A"]}

    def test_malformed_links(self) -> None:
        """Malformed options and links are reported with their paths."""
        options = [
            "radio",
            {"title": 5, "product_links": [{"sku": "A"}]},
            {"product_links": ["A", {"qty": 1}, {"sku": "A", "qty": "x"}, {"sku": "A", "qty": 0}]},
        ]
        catalog = families([bundle("K", options), simple("A")])
        base = "$[0].extension_attributes.bundle_product_options"
        assert catalog.problems == (
            (f"{base}[0]", "expected an option object, got 'radio'"),
            (f"{base}[1].title", "expected a string, got 5"),
            (f"{base}[2].product_links[0]", "expected a product link object, got 'A'"),
            (f"{base}[2].product_links[1].sku", "required field missing"),
            (
                f"{base}[2].product_links[2].qty",
                "expected a quantity (a number), got the string 'x'",
            ),
            (f"{base}[2].product_links[3].qty", "must be >= 1 (got 0)"),
            (f"{base}[2].product_links", "no selection of this required option is usable"),
        )
        assert catalog.families == ()

    @pytest.mark.parametrize(
        ("top", "custom", "dynamic"),
        [
            (None, None, True),
            (1, None, False),
            ("0", None, True),
            (None, "1", False),
            (None, "0", True),
        ],
    )
    def test_price_type(self, top: Any, custom: Any, dynamic: bool) -> None:
        """price_type 0 (or none) is a dynamic price, 1 a fixed one, at the top or custom."""
        payload = bundle("K", [option("A")], price=50)
        if top is not None:
            payload["price_type"] = top
        if custom is not None:
            payload["custom_attributes"] = [{"attribute_code": "price_type", "value": custom}]
        catalog = families([payload, simple("A")])
        assert catalog.problems == ()
        assert catalog.families[0].dynamic_price is dynamic

    def test_bad_price_type(self) -> None:
        """A price type other than 0 or 1 is reported; the bundle is read as dynamic."""
        payload = bundle("K", [option("A")])
        payload["custom_attributes"] = [
            {"attribute_code": "color", "value": "x"},
            {"attribute_code": "price_type", "value": "2"},
        ]
        catalog = families([payload, simple("A")])
        assert catalog.problems == (
            (
                "$[0].custom_attributes[1].value",
                "expected a price type 0 (dynamic) or 1 (fixed), got '2'",
            ),
        )
        assert catalog.families[0].dynamic_price is True


class TestGrouped:
    """A grouped product's associated links."""

    def test_default_quantities(self) -> None:
        """A positive default quantity is carried; Magento's 0 counts once per set."""
        catalog = families([grouped("G", [("A", 0), ("B", "2.0000")]), simple("A"), simple("B")])
        assert catalog.problems == ()
        (family,) = catalog.families
        assert skus(family.children) == ["A", "B"]
        assert family.default_quantities == {"B": 2}
        config = default_config("aliexpress")
        outcome = evaluate_family(config, family, config.accounts[0].id)
        assert outcome.price is not None
        assert outcome.price.amount == Decimal(60)  # 20 + 2 × 20

    def test_mode(self) -> None:
        """``grouped_mode`` sets how every grouped family is listed."""
        catalog = families(
            [grouped("G", [("A", 1)]), simple("A")], grouped_mode=GroupedMode.OPTIONS
        )
        assert catalog.families[0].grouped_mode is GroupedMode.OPTIONS

    def test_other_links_are_not_items(self) -> None:
        """Related, upsell and crosssell links are not the group's items."""
        payload = grouped("G", [("A", 1)])
        payload["product_links"].append(
            {"sku": "G", "link_type": "related", "linked_product_sku": "B"}
        )
        catalog = families([payload, simple("A"), simple("B")])
        assert family_skus(catalog) == {"G": ["A"]}
        assert skus(catalog.products) == ["B"]

    def test_broken_links(self) -> None:
        """Missing, malformed and negative links are reported; the group keeps the others."""
        payload = grouped("G", [("A", 1), ("GONE", 1), ("B", -1)])
        payload["product_links"] += [
            "A",
            {"link_type": "associated"},
            {"link_type": "associated", "linked_product_sku": "B", "extension_attributes": 3},
        ]
        catalog = families([payload, simple("A"), simple("B")])
        assert catalog.problems == (
            ("$[0].product_links[1].linked_product_sku", "'GONE' is not in the catalog"),
            (
                "$[0].product_links[2].extension_attributes.qty",
                "a default quantity must be >= 0, got -1",
            ),
            ("$[0].product_links[3]", "expected a product link object, got 'A'"),
            ("$[0].product_links[4].linked_product_sku", "required field missing"),
            ("$[0].product_links[5].extension_attributes", "expected an object, got 3"),
        )
        assert family_skus(catalog) == {"G": ["A", "B"]}

    def test_shared_with_a_bundle(self) -> None:
        """A product may be an item of a group and a selection of a bundle at once."""
        catalog = families([grouped("G", [("A", 1)]), bundle("K", [option("A")]), simple("A")])
        assert catalog.problems == ()
        assert family_skus(catalog) == {"G": ["A"], "K": ["A"]}
        assert catalog.products == ()


class TestCatalogProblems:
    """Problems of the catalog as a whole."""

    def test_payload_that_is_not_an_object(self) -> None:
        """A payload that is not an object is reported at its index; the rest converts."""
        catalog = families(["24-MB01", simple("A")])
        assert catalog.problems == (("$[0]", "expected a product object, got '24-MB01'"),)
        assert skus(catalog.products) == ["A"]

    def test_payload_without_a_sku(self) -> None:
        """A payload without a SKU is reported when converted; the rest converts."""
        catalog = families([{"name": "nameless"}, simple("A")])
        assert catalog.problems == (("$[0].sku", "required field missing"),)
        assert skus(catalog.products) == ["A"]

    def test_sku_twice(self) -> None:
        """A SKU met twice: the first payload is kept, the second reported."""
        catalog = families([simple("A"), simple("A")])
        assert catalog.problems == (("$[1].sku", "'A' is also the product at $[0]"),)
        assert len(catalog.products) == 1

    def test_malformed_sources(self) -> None:
        """A malformed ``sources`` is reported under its name."""
        catalog = families([simple("A")], sources=[{"source_code": "x"}])
        assert catalog.problems == (("sources[0].enabled", "required field missing"),)

    def test_source_items_and_reservations_by_sku(self) -> None:
        """Each SKU gets its own MSI source items and reservations."""
        items = {"A": [{"sku": "A", "source_code": "us", "quantity": 4, "status": 1}]}
        catalog = families(
            [simple("A"), simple("B")],
            source_items=items,
            reservations={"A": -1},
            sources=[{"source_code": "us", "enabled": True}],
        )
        first, second = catalog.products
        assert first.stock is not None
        assert second.stock is not None
        assert (len(first.stock.sources), first.stock.reserved) == (1, -1)
        assert (second.stock.sources, second.stock.reserved) == ((), 0)

    def test_generator_input(self) -> None:
        """Any iterable of payloads is read."""
        catalog = families_from_rest(payload for payload in [simple("A")])
        assert [type(p) for p in catalog.products] == [Product]
