"""Editing listing templates: set_template, move_template, remove_template (spec section 8)."""

from __future__ import annotations

import pickle
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine import (
    MAX_TEMPLATES,
    ChannelListing,
    Configuration,
    ListingTemplate,
    PolicyConfigError,
    PolicyEngineError,
    Product,
    Referrer,
    Stock,
    TemplateInUseError,
    evaluate_listing,
    load_config,
    move_template,
    remove_template,
    set_template,
    unstructure,
)
from policy_engine import Listing as SyncListing
from policy_engine.testing import configurations


def document() -> dict[str, Any]:
    """A valid document: two accounts, two templates (bags first, then a catch-all)."""
    return {
        "version": 1,
        "sync_policies": {
            "ali": {"title": "AliExpress sync", "channel": "aliexpress"},
            "any": {"title": "Generic sync", "fields": ["quantity", "price"]},
        },
        "inventory_policies": {
            "stock": {"title": "Store stock"},
            "buffered": {"title": "Keep 5", "buffer": 5},
        },
        "pricing_policies": {"regular": {"title": "Regular price"}},
        "image_policies": {"images": {"title": "Images"}},
        "templates": [
            {
                "id": "bags",
                "title": "Bags",
                "condition": "under(categories, 'Gear/Bags')",
                "inventory_policy": "buffered",
                "pricing_policy": "regular",
                "image_policy": "images",
            },
            {
                "id": "rest",
                "title": "Everything else",
                "inventory_policy": "stock",
                "pricing_policy": "regular",
                "image_policy": "images",
            },
        ],
        "accounts": [
            {"id": "ali-us", "channel": "aliexpress", "sync_policy": "ali"},
            {"id": "otto-de", "channel": "otto", "sync_policy": "any"},
        ],
    }


BAG = Product(sku="24-MB01", price=Decimal("34.00"), categories=("Gear/Bags",), stock=Stock(qty=12))


def template(template_id: str = "sale", **changes: Any) -> ListingTemplate:
    """A valid template for document(), with some fields changed."""
    fields: dict[str, Any] = {
        "id": template_id,
        "title": template_id.title(),
        "condition": "price < 10",
        "inventory_policy": "stock",
        "pricing_policy": "regular",
        "image_policy": "images",
        **changes,
    }
    return ListingTemplate(**fields)


def ids(config: Configuration) -> list[str]:
    return [t.id for t in config.templates]


def errors(call: Any, *args: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(PolicyConfigError) as caught:
        call(*args, **kwargs)
    return caught.value.errors


class TestSetTemplate:
    """set_template adds a template, or replaces the one with its id, at a chosen position."""

    def test_adds_last_by_default(self) -> None:
        """A new template goes after the others; the old configuration is unchanged."""
        config = load_config(document())
        edited = set_template(config, template())
        assert ids(edited) == ["bags", "rest", "sale"]
        assert ids(config) == ["bags", "rest"]

    @pytest.mark.parametrize(
        ("index", "expected"),
        [
            (0, ["sale", "bags", "rest"]),
            (1, ["bags", "sale", "rest"]),
            (2, ["bags", "rest", "sale"]),
        ],
    )
    def test_adds_at_index(self, index: int, expected: list[str]) -> None:
        """A new template goes at ``index``, from 0 (first) to the number of templates (last)."""
        assert ids(set_template(load_config(document()), template(), index=index)) == expected

    def test_replaces_in_place(self) -> None:
        """A template with an existing id replaces that one and keeps its position."""
        config = load_config(document())
        edited = set_template(config, template("bags", title="Bags and backpacks"))
        assert ids(edited) == ["bags", "rest"]
        assert edited.templates[0].title == "Bags and backpacks"
        assert config.templates[0].title == "Bags"

    def test_replaces_and_moves(self) -> None:
        """A replacing template given an index takes that position among the others."""
        config = load_config(document())
        edited = set_template(config, template("bags", title="Bags, later"), index=1)
        assert ids(edited) == ["rest", "bags"]
        assert edited.templates[1].title == "Bags, later"

    def test_the_order_decides_the_template(self) -> None:
        """Templates are tried in order: a new first template takes the products it matches."""
        config = load_config(document())
        assert evaluate_listing(config, BAG, "ali-us").template == "bags"
        everything = template("first", condition=None)
        assert evaluate_listing(
            set_template(config, everything, index=0), BAG, "ali-us"
        ).template == ("first")

    def test_problems_as_load_config_reports_them(self) -> None:
        """Every problem of the result at once, with the paths load_config gives that document."""
        config = load_config(document())
        broken = template(
            inventory_policy="nope", pricing_policy="images", accounts=("ali-us", "zz")
        )
        found = errors(set_template, config, broken, index=1)
        assert found == [
            "unknown inventory policy 'nope' (known: buffered, stock) @ $.templates[1].inventory_policy",
            (
                "'images' is an image policy, not a pricing policy (image policies are assigned to"
                " listing templates) @ $.templates[1].pricing_policy"
            ),
            "unknown account 'zz' (known: ali-us, otto-de) @ $.templates[1].accounts[1]",
        ]
        data = document()
        data["templates"].insert(1, unstructure(broken))
        assert errors(load_config, data) == found

    def test_wrong_type_and_position_at_once(self) -> None:
        """A value that is not a template and a bad index are both reported."""
        config = load_config(document())
        assert errors(set_template, config, {"id": "sale"}, index=7) == [
            "expected a position from 0 to 2, got 7 @ $.templates",
            "expected a ListingTemplate, got an object @ $.templates[2]",
        ]
        assert errors(set_template, config, "sale") == [
            "expected a ListingTemplate, got a string @ $.templates[2]"
        ]

    @pytest.mark.parametrize(
        ("index", "message"),
        [
            (-1, "expected a position from 0 to 2, got -1 @ $.templates"),
            (3, "expected a position from 0 to 2, got 3 @ $.templates"),
            (True, "expected an integer position from 0 to 2, got a boolean @ $.templates"),
            (1.0, "expected an integer position from 0 to 2, got a number @ $.templates"),
        ],
    )
    def test_bad_index_for_a_new_template(self, index: Any, message: str) -> None:
        """A new template's index is an integer from 0 to the number of templates."""
        assert errors(set_template, load_config(document()), template(), index=index) == [message]

    def test_bad_index_for_a_replacement(self) -> None:
        """A replacing template's index goes up to the number of the other templates."""
        config = load_config(document())
        assert errors(set_template, config, template("bags"), index=2) == [
            "expected a position from 0 to 1, got 2 @ $.templates"
        ]

    def test_too_many_templates(self) -> None:
        """The result is checked against the templates limit, as a loaded document is."""
        config = load_config(document())
        full = attrs.evolve(
            config, templates=tuple(template(f"t{i}") for i in range(MAX_TEMPLATES))
        )
        assert errors(set_template, full, template("one-more")) == [
            f"must have at most {MAX_TEMPLATES} items (got {MAX_TEMPLATES + 1}) @ $.templates"
        ]


class TestMoveTemplate:
    """move_template changes the order in which templates are tried."""

    @pytest.mark.parametrize(
        ("template_id", "index", "expected"),
        [
            ("bags", 1, ["rest", "bags"]),
            ("rest", 0, ["rest", "bags"]),
            ("bags", 0, ["bags", "rest"]),
        ],
    )
    def test_moves(self, template_id: str, index: int, expected: list[str]) -> None:
        """The template ends at ``index``; the old configuration is unchanged."""
        config = load_config(document())
        assert ids(move_template(config, template_id, index)) == expected
        assert ids(config) == ["bags", "rest"]

    def test_moving_changes_which_template_a_product_uses(self) -> None:
        """After the catch-all moves first, it takes the bags too."""
        config = move_template(load_config(document()), "rest", 0)
        assert evaluate_listing(config, BAG, "ali-us").template == "rest"

    def test_unknown_template_and_bad_index_at_once(self) -> None:
        """An unknown id lists the known ones; a bad index is reported with it."""
        config = load_config(document())
        assert errors(move_template, config, "zz", 2) == [
            "unknown template 'zz' (known: bags, rest) @ $.templates",
            "expected a position from 0 to 1, got 2 @ $.templates",
        ]
        assert errors(move_template, config, "bags", "1") == [
            "expected an integer position from 0 to 1, got a string @ $.templates"
        ]

    def test_no_templates(self) -> None:
        """A configuration without templates has none to move."""
        assert errors(move_template, Configuration(), "bags", 0) == [
            "unknown template 'bags' (known: none defined) @ $.templates",
            "expected a position from 0 to -1, got 0 @ $.templates",
        ]


class TestRemoveTemplate:
    """remove_template refuses a template the connector's listings still use."""

    def test_removes_an_unused_template(self) -> None:
        """Listings naming other templates, or none, do not keep a template."""
        config = load_config(document())
        listings: list[SyncListing | str | None] = [
            SyncListing(template="rest"),
            SyncListing(),
            "rest",
            None,
        ]
        edited = remove_template(config, "bags", listings=listings)
        assert ids(edited) == ["rest"]
        assert ids(config) == ["bags", "rest"]

    def test_unknown_template(self) -> None:
        """An unknown id is an error listing the known ones."""
        assert errors(remove_template, load_config(document()), "zz") == [
            "unknown template 'zz' (known: bags, rest) @ $.templates"
        ]

    def test_in_use_names_every_listing(self) -> None:
        """Every listing naming the template is a referrer, and nothing changes."""
        config = load_config(document())
        listings: list[SyncListing | ChannelListing | str] = [
            SyncListing(template="bags"),
            ChannelListing(account="ali-us", sku="24-MB01", template="bags"),
            SyncListing(template="rest"),
            ChannelListing(account="otto-de", sku="24-MB01", template="bags", listed=False),
            "bags",
        ]
        with pytest.raises(TemplateInUseError) as caught:
            remove_template(config, "bags", listings=iter(listings))
        error = caught.value
        assert isinstance(error, PolicyEngineError)
        assert error.template_id == "bags"
        assert error.referrers == (
            Referrer(level="listing", id="#0", field="template"),
            Referrer(level="listing", id="24-MB01", field="template", account="ali-us"),
            Referrer(level="listing", id="24-MB01", field="template", account="otto-de"),
            Referrer(level="listing", id="#4", field="template"),
        )
        assert str(error) == (
            "template 'bags' is used by listing #0, listing '24-MB01' on account 'ali-us',"
            " listing '24-MB01' on account 'otto-de', listing #4; reassign them first"
        )
        assert ids(config) == ["bags", "rest"]

    def test_listings_by_name(self) -> None:
        """A mapping names each listing by its key (the connector's listing id or SKU)."""
        config = load_config(document())
        listings = {
            "24-MB01": SyncListing(template="bags"),
            "WS12": SyncListing(template="rest"),
            "listing-7": ChannelListing(account="ali-us", sku="24-MB02", template="bags"),
        }
        with pytest.raises(TemplateInUseError) as caught:
            remove_template(config, "bags", listings=listings)
        assert caught.value.referrers == (
            Referrer(level="listing", id="24-MB01", field="template"),
            Referrer(level="listing", id="listing-7", field="template", account="ali-us"),
        )

    def test_a_connector_record_with_a_template(self) -> None:
        """Any record with a ``template`` attribute counts, named by its SKU when it has one."""

        @attrs.frozen
        class Row:
            sku: str
            template: str | None

        config = load_config(document())
        with pytest.raises(TemplateInUseError) as caught:
            remove_template(config, "rest", listings=[Row("A", "bags"), Row("B", "rest")])
        assert caught.value.referrers == (Referrer(level="listing", id="B", field="template"),)

    def test_bad_listings_all_at_once(self) -> None:
        """Entries that are neither listings nor template ids are reported with their position."""
        config = load_config(document())
        bad: list[Any] = [SyncListing(), 5, object()]
        assert errors(remove_template, config, "bags", listings=bad) == [
            "expected a listing (with a template attribute) or a template id, got an integer @ $.listings[1]",
            "expected a listing (with a template attribute) or a template id, got an object @ $.listings[2]",
        ]
        assert errors(remove_template, config, "bags", listings={"my listing": 5}) == [
            'expected a listing (with a template attribute) or a template id, got an integer @ $.listings["my listing"]'
        ]

    def test_long_referrer_lists_are_cut_in_the_message(self) -> None:
        """The message names 20 listings and counts the rest; the attribute holds them all."""
        config = load_config(document())
        with pytest.raises(TemplateInUseError) as caught:
            remove_template(config, "bags", listings=["bags"] * 25)
        assert len(caught.value.referrers) == 25
        assert str(caught.value).endswith("listing #19 and 5 more; reassign them first")

    def test_error_pickles(self) -> None:
        """TemplateInUseError survives pickling with its referrers."""
        error = TemplateInUseError(
            "bags", [Referrer(level="listing", id="A", field="template", account="ali-us")]
        )
        copied = pickle.loads(pickle.dumps(error))
        assert (copied.template_id, copied.referrers, str(copied)) == (
            error.template_id,
            error.referrers,
            str(error),
        )

    def test_removing_the_last_template_of_an_account_is_legal(self) -> None:
        """An account may be left without templates, as a loaded document may: none matches."""
        data = document()
        data["templates"][0]["accounts"] = ["otto-de"]
        data["templates"][1]["accounts"] = ["ali-us"]
        config = remove_template(load_config(data), "rest")
        assert config.templates_for("ali-us") == ()
        assert config == load_config({**data, "templates": data["templates"][:1]})
        assert evaluate_listing(config, BAG, "ali-us").template is None
        assert ids(remove_template(config, "bags")) == []


def _fresh_template(config: Configuration, data: st.DataObject) -> ListingTemplate:
    """A valid template for ``config`` whose id no template of it has."""
    first = config.templates[0]
    return ListingTemplate(
        id="fresh",
        title="Fresh",
        condition=data.draw(st.sampled_from((None, "price > 5"))),
        inventory_policy=data.draw(st.sampled_from(sorted(config.inventory_policies))),
        pricing_policy=data.draw(st.sampled_from(sorted(config.pricing_policies))),
        image_policy=first.image_policy,
        accounts=tuple(
            data.draw(st.lists(st.sampled_from([a.id for a in config.accounts]), unique=True))
        ),
    )


class TestEditProperties:
    """Editing templates keeps a configuration valid and changes only what is asked."""

    @given(config=configurations(max_templates=4), data=st.data())
    def test_set_then_remove_gives_back_the_configuration(
        self, config: Configuration, data: st.DataObject
    ) -> None:
        """For a new id, set_template at any index, then remove_template, is the identity."""
        new = _fresh_template(config, data)
        index = data.draw(st.integers(min_value=0, max_value=len(config.templates)))
        added = set_template(config, new, index=index)
        assert added.templates[index] == new
        assert remove_template(added, "fresh") == config

    @given(config=configurations(max_templates=4), data=st.data())
    def test_move_keeps_the_templates(self, config: Configuration, data: st.DataObject) -> None:
        """move_template puts the template at the index and keeps the others in their order."""
        moved_id = data.draw(st.sampled_from(ids(config)))
        index = data.draw(st.integers(min_value=0, max_value=len(config.templates) - 1))
        moved = move_template(config, moved_id, index)
        assert set(moved.templates) == set(config.templates)
        assert moved.templates[index].id == moved_id
        assert [t for t in moved.templates if t.id != moved_id] == [
            t for t in config.templates if t.id != moved_id
        ]

    @given(config=configurations(max_templates=4), data=st.data())
    def test_replacing_with_itself_changes_nothing(
        self, config: Configuration, data: st.DataObject
    ) -> None:
        """set_template with a template the configuration holds gives an equal configuration."""
        chosen = data.draw(st.sampled_from(config.templates))
        assert set_template(config, chosen) == config
