"""The configuration document, its edits and the listing pipeline: spec section 8."""

from __future__ import annotations

import codecs
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given

from policy_engine import (
    Account,
    Adjustment,
    AdjustmentKind,
    Condition,
    Configuration,
    FrozenDict,
    ImagePolicy,
    InventoryPolicy,
    ListingChange,
    ListingTemplate,
    PolicyConfigError,
    PolicyInUseError,
    PolicyKind,
    PricingPolicy,
    Product,
    ProductChange,
    Stock,
    SyncPolicy,
    Threshold,
    assign_policy,
    config_revision,
    default_config,
    dump_config,
    evaluate_listing,
    lint,
    load_config,
    preview_change,
    remove_policy,
    resolve,
    set_policy,
    structure,
    sync_listing,
    unstructure,
)
from policy_engine.testing import configurations, products

ON = date(2026, 11, 23)


def document() -> dict[str, Any]:
    """A valid configuration document with two accounts and two templates."""
    return {
        "version": 1,
        "sync_policies": {
            "ali": {"title": "AliExpress sync", "channel": "aliexpress"},
            "any": {"title": "Generic sync", "fields": ["quantity", "price"]},
        },
        "inventory_policies": {
            "stock": {"title": "Store stock", "buffer": 2},
            "threshold": {
                "title": "Threshold",
                "threshold": {"value": 10, "above": 20, "below": 2},
            },
        },
        "pricing_policies": {
            "regular": {"title": "Regular price"},
            "markup": {
                "title": "Markup",
                "adjustments": [{"kind": "percent_increment", "amount": "10"}],
            },
        },
        "image_policies": {"images": {"title": "Images", "gallery_limit": 5}},
        "order_policies": {"orders": {"title": "Orders", "import_statuses": ["paid"]}},
        "templates": [
            {
                "id": "bags",
                "title": "Bags",
                "condition": "under(categories, 'Gear/Bags')",
                "inventory_policy": "threshold",
                "pricing_policy": "markup",
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
            {
                "id": "ali-us",
                "channel": "aliexpress",
                "sync_policy": "ali",
                "order_policy": "orders",
            },
            {"id": "otto-de", "channel": "otto", "sync_policy": "any"},
        ],
    }


BAG = Product(
    sku="24-MB01",
    price=Decimal("34.00"),
    categories=("Gear/Bags",),
    stock=Stock(qty=12),
)
TEE = Product(sku="WS12", price=Decimal("22.00"), stock=Stock(qty=7))


def errors_of(data: Any) -> list[str]:
    with pytest.raises(PolicyConfigError) as caught:
        load_config(data)
    return caught.value.errors


class TestLoading:
    """load_config validates a whole document, references included."""

    def test_valid_document(self) -> None:
        """A valid document loads with its policies, templates and accounts."""
        config = load_config(document())
        assert set(config.sync_policies) == {"ali", "any"}
        assert [t.id for t in config.templates] == ["bags", "rest"]
        assert config.account("otto-de").order_policy is None
        assert config.channel_profile("otto") is not None

    def test_broken_references_all_at_once(self) -> None:
        """Unknown ids, wrong levels, duplicates and channel mismatches, each with its path."""
        data = document()
        data["templates"][0]["pricing_policy"] = "nope"
        data["templates"][1]["inventory_policy"] = "ali"
        data["templates"].append(dict(data["templates"][1], inventory_policy="stock"))
        data["accounts"][1]["sync_policy"] = "ali"
        data["accounts"].append({"id": "ali-us", "channel": "mars", "sync_policy": "orders"})
        assert errors_of(data) == [
            "unknown pricing policy 'nope' (known: markup, regular) @ $.templates[0].pricing_policy",
            (
                "'ali' is a sync policy, not an inventory policy (sync policies are assigned to"
                " accounts) @ $.templates[1].inventory_policy"
            ),
            "duplicate template id 'rest' (also $.templates[1]) @ $.templates[2].id",
            (
                "sync policy 'ali' is for channel 'aliexpress'; account 'otto-de' is on 'otto'"
                " @ $.accounts[1].sync_policy"
            ),
            "duplicate account id 'ali-us' (also $.accounts[0]) @ $.accounts[2].id",
            (
                "unknown channel 'mars' (known: aliexpress, amazon, ebay, kaufland, mirakl, otto,"
                " temu, tiktok, walmart) @ $.accounts[2].channel"
            ),
            (
                "'orders' is an order policy, not a sync policy (order policies are assigned to"
                " accounts) @ $.accounts[2].sync_policy"
            ),
        ]

    def test_sync_fields_against_account_channel(self) -> None:
        """A channel-less sync policy's fields must suit every account's channel that uses it."""
        data = document()
        data["sync_policies"]["any"]["fields"] = ["quantity", "price", "title", "gpsr"]
        assert errors_of(data) == [
            (
                "fields not supported by channel 'otto' of account 'otto-de': gpsr, title"
                " @ $.sync_policies.any.fields"
            )
        ]

    def test_policy_errors_have_full_paths(self) -> None:
        """Problems inside policies and templates carry their absolute paths, all at once."""
        data = document()
        data["inventory_policies"]["stock"]["buffer"] = -1
        data["sync_policies"]["ali"]["product_update"] = False
        data["templates"][0]["condition"] = "price >"
        data["versionn"] = 1
        problems = errors_of(data)
        assert "must be >= 0 (got -1) @ $.inventory_policies.stock.buffer" in problems
        assert (
            "Inventory/Price Sync depends on Product Update"
            " @ $.sync_policies.ali.inventory_price_sync"
        ) in problems
        assert any(p.endswith("@ $.templates[0].condition") for p in problems)
        assert "unknown field (did you mean 'version'?) @ $.versionn" in problems

    def test_custom_channel(self) -> None:
        """A configuration may define its own channel profile and use it for accounts."""
        data = document()
        data["channels"] = {"shopify-b2b": {"fields": ["quantity", "price", "title"]}}
        data["accounts"].append({"id": "b2b", "channel": "shopify-b2b", "sync_policy": "any"})
        config = load_config(data)
        profile = config.channel_profile("shopify-b2b")
        assert profile is not None
        assert {f.value for f in profile.fields} == {"quantity", "price", "title"}

    def test_unsupported_version(self) -> None:
        """Only version 1 documents are read."""
        assert errors_of({"version": 2}) == [
            "unsupported configuration version 2 (this library reads version 1) @ $.version"
        ]

    def test_json_and_toml_files(self, tmp_path: Path) -> None:
        """Files load by suffix; JSON syntax errors give line and column; duplicate keys fail."""
        config = load_config(document())
        json_file = tmp_path / "config.json"
        json_file.write_text(dump_config(config, format="json"), encoding="utf-8")
        toml_file = tmp_path / "config.toml"
        toml_file.write_text(dump_config(config, format="toml"), encoding="utf-8")
        assert load_config(json_file) == config
        assert load_config(str(toml_file)) == config
        broken = tmp_path / "broken.json"
        broken.write_text('{"version": 1,\n  "templates": [}', encoding="utf-8")
        assert errors_of(broken) == [
            f"{broken}: invalid JSON: Expecting value (line 2, column 17) @ $"
        ]
        duplicate = tmp_path / "duplicate.json"
        duplicate.write_text('{"version": 1, "version": 1}', encoding="utf-8")
        assert errors_of(duplicate) == [f"{duplicate}: duplicate keys 'version' in an object @ $"]
        nan = tmp_path / "nan.json"
        nan.write_text('{"version": NaN}', encoding="utf-8")
        assert errors_of(nan) == [f"{nan}: NaN is not valid JSON @ $"]
        bad_toml = tmp_path / "bad.toml"
        bad_toml.write_text("version = ", encoding="utf-8")
        assert errors_of(bad_toml)[0].startswith(f"{bad_toml}: invalid TOML:")

    @pytest.mark.parametrize("format_", ["json", "toml"])
    def test_byte_order_mark(self, tmp_path: Path, format_: str) -> None:
        """A file starting with a UTF-8 byte-order mark loads, as a products file does, with
        CRLF line endings too; an error's line and column do not count the mark."""
        config = load_config(document())
        path = tmp_path / f"config.{format_}"
        text = dump_config(config, format=format_).replace("\n", "\r\n")
        path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
        assert load_config(path) == config
        broken = tmp_path / "broken.json"
        broken.write_bytes(codecs.BOM_UTF8 + b'{"version": 1,\n  "templates": [}')
        assert errors_of(broken) == [
            f"{broken}: invalid JSON: Expecting value (line 2, column 17) @ $"
        ]

    @pytest.mark.parametrize(
        ("content", "problem"),
        [
            (b'{"version": 1, "x": "\xe9"}', "byte 21: invalid continuation byte"),
            (b'{"version": 1, "x": "\xff"}', "byte 21: invalid start byte"),
            (b"version = 1\nx = '\xc3", "byte 17: unexpected end of data"),
            (
                codecs.BOM_UTF16_LE + '{"version": 1}'.encode("utf-16-le"),
                "byte 0: a UTF-16 byte-order mark; save the file as UTF-8",
            ),
            (
                codecs.BOM_UTF16_BE + '{"version": 1}'.encode("utf-16-be"),
                "byte 0: a UTF-16 byte-order mark; save the file as UTF-8",
            ),
            ('{"version": 1}'.encode("utf-16-le"), "byte 1: a NUL byte; save the file as UTF-8"),
        ],
        ids=["latin-1", "invalid-start", "cut", "utf-16-le", "utf-16-be", "utf-16-no-mark"],
    )
    def test_not_utf8(self, tmp_path: Path, content: bytes, problem: str) -> None:
        """A file that is not UTF-8 is a PolicyConfigError naming the file and the byte."""
        path = tmp_path / ("config.toml" if content.startswith(b"version") else "config.json")
        path.write_bytes(content)
        assert errors_of(path) == [f"{path}: not UTF-8 text ({problem}) @ $"]

    def test_dump_format_must_be_known(self) -> None:
        """dump_config rejects an unknown format."""
        with pytest.raises(ValueError, match="unknown format 'yaml'"):
            dump_config(default_config(), format="yaml")

    @given(configurations())
    def test_round_trip(self, config: Configuration) -> None:
        """Configurations round-trip through dump_config/load_config (mapping, JSON and TOML)."""
        assert load_config(dump_config(config)) == config
        assert load_config(json.loads(dump_config(config, format="json"))) == config
        import tomllib

        assert load_config(tomllib.loads(dump_config(config, format="toml"))) == config
        assert structure(unstructure(config), Configuration) == config


class TestRevision:
    """config_revision: a content hash of the canonical configuration."""

    def test_pinned(self) -> None:
        """The revision is "sha256:" and the SHA-256 of the sorted, compact JSON dump."""
        import hashlib

        config = default_config("ebay")
        assert all(template.condition is None for template in config.templates)
        canonical = json.dumps(dump_config(config), sort_keys=True, separators=(",", ":"))
        expected = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
        assert config_revision(config) == expected
        assert len(expected) == len("sha256:") + 64

    def test_edit_changes_the_revision(self) -> None:
        """Any edit gives another revision; equal configurations give the same one."""
        config = default_config("ebay")
        edited = attrs.evolve(config, accounts=[attrs.evolve(config.accounts[0], id="other")])
        assert config_revision(edited) != config_revision(config)
        assert config_revision(default_config("ebay")) == config_revision(config)

    def test_condition_text_or_tree(self) -> None:
        """A template condition written as text or as its tree gives the same revision."""
        data = dump_config(default_config("ebay"))
        data["templates"][0]["condition"] = "price > 10"
        config = load_config(data)
        data["templates"][0]["condition"] = Condition("price > 10").to_tree()
        as_tree = load_config(data)
        assert dump_config(config) != dump_config(as_tree)
        assert config_revision(config) == config_revision(as_tree)

    @given(configurations())
    def test_format_independent(self, config: Configuration) -> None:
        """Invariant: a configuration read back from its JSON or TOML dump has the same revision."""
        import tomllib

        revision = config_revision(config)
        assert (
            config_revision(load_config(json.loads(dump_config(config, format="json")))) == revision
        )
        assert (
            config_revision(load_config(tomllib.loads(dump_config(config, format="toml"))))
            == revision
        )


class TestDefaults:
    """default_config gives a working onboarding configuration."""

    @pytest.mark.parametrize("channel", ["aliexpress", "tiktok", "ebay", "otto"])
    def test_default_config_works(self, channel: str) -> None:
        """Every product gets a listing on the default account."""
        config = default_config(channel)
        outcome = evaluate_listing(config, TEE, channel, on=ON)
        assert outcome.template == "default"
        assert outcome.quantity is not None
        assert outcome.quantity.quantity == 7
        assert outcome.price is not None
        assert outcome.price.amount == Decimal("22.00")

    def test_unknown_channel(self) -> None:
        """default_config names the known channels for an unknown one."""
        with pytest.raises(PolicyConfigError, match="unknown channel 'mars'"):
            default_config("mars")


class TestEdits:
    """Edits return new configurations; the old one is unchanged."""

    def test_set_policy_adds_and_replaces(self) -> None:
        """set_policy adds a new id or replaces an existing one."""
        config = load_config(document())
        cheaper = PricingPolicy(
            title="Markdown",
            adjustments=(Adjustment(kind=AdjustmentKind.PERCENT_DECREMENT, amount=Decimal(5)),),
        )
        edited = set_policy(config, "pricing", "markup", cheaper)
        assert edited.pricing_policies["markup"] == cheaper
        assert config.pricing_policies["markup"] != cheaper
        added = set_policy(config, PolicyKind.IMAGE, "big", ImagePolicy(title="Big"))
        assert set(added.image_policies) == {"images", "big"}

    def test_set_policy_checks_the_kind_and_the_whole(self) -> None:
        """The new policy must be of the kind; the result is validated as a whole."""
        config = load_config(document())
        with pytest.raises(PolicyConfigError) as caught:
            set_policy(config, "pricing", "x", ImagePolicy(title="x"))
        assert caught.value.errors == [
            "expected a PricingPolicy for a pricing policy, got an ImagePolicy @ $.pricing_policies.x"
        ]
        with pytest.raises(PolicyConfigError) as caught:
            set_policy(config, "sync", "any", SyncPolicy(title="x", fields=("gpsr",)))
        assert caught.value.errors == [
            (
                "fields not supported by channel 'otto' of account 'otto-de': gpsr"
                " @ $.sync_policies.any.fields"
            )
        ]

    def test_remove_policy_in_use(self) -> None:
        """Removing a used policy names every referrer and changes nothing."""
        config = load_config(document())
        with pytest.raises(PolicyInUseError) as caught:
            remove_policy(config, "image", "images")
        assert [(r.level, r.id, r.field) for r in caught.value.referrers] == [
            ("template", "bags", "image_policy"),
            ("template", "rest", "image_policy"),
        ]
        assert str(caught.value) == (
            "image policy 'images' is used by template 'bags', template 'rest'; reassign them first"
        )
        with pytest.raises(PolicyInUseError, match="account 'ali-us'"):
            remove_policy(config, "order", "orders")

    def test_remove_unused_policy(self) -> None:
        """An unused policy goes; an unknown one is an error."""
        config = set_policy(default_config(), "pricing", "spare", PricingPolicy(title="Spare"))
        assert "spare" not in remove_policy(config, "pricing", "spare").pricing_policies
        with pytest.raises(PolicyConfigError, match="unknown pricing policy 'gone'"):
            remove_policy(config, "pricing", "gone")

    def test_bulk_assign(self) -> None:
        """assign_policy changes many templates (or accounts) at once, at the right level."""
        config = load_config(document())
        edited = assign_policy(config, "pricing", "markup", templates=["bags", "rest"])
        assert [t.pricing_policy for t in edited.templates] == ["markup", "markup"]
        edited = assign_policy(config, "sync", "any", accounts=["otto-de"])
        assert edited.account("otto-de").sync_policy == "any"
        with pytest.raises(PolicyConfigError) as caught:
            assign_policy(config, "sync", "any", templates=["bags"], accounts=["zz"])
        assert caught.value.errors == [
            "sync policies are assigned to accounts @ $.templates",
            "unknown account 'zz' (known: ali-us, otto-de) @ $.accounts",
        ]
        with pytest.raises(PolicyConfigError) as caught:
            assign_policy(config, "pricing", "markup", templates=["zz"], accounts=["ali-us"])
        assert caught.value.errors == [
            "pricing policies are assigned to listing templates @ $.accounts",
            "unknown template 'zz' (known: bags, rest) @ $.templates",
        ]
        with pytest.raises(PolicyConfigError, match="unknown pricing policy 'nope'"):
            assign_policy(config, "pricing", "nope", templates=["bags"])


class TestListing:
    """resolve and evaluate_listing."""

    def test_resolve(self) -> None:
        """The first matching template and the account's policies are resolved."""
        config = load_config(document())
        resolution = resolve(config, BAG, "ali-us")
        assert resolution.template is not None
        assert resolution.template.id == "bags"
        assert resolution.inventory_policy == config.inventory_policies["threshold"]
        assert resolution.sync_policy == config.sync_policies["ali"]
        assert resolution.order_policy == config.order_policies["orders"]
        assert resolution.channel.name == "aliexpress"
        other = resolve(config, TEE, "otto-de")
        assert other.template is not None
        assert other.template.id == "rest"
        assert other.order_policy is None

    def test_evaluate_listing(self) -> None:
        """Quantity, price and images of one listing, with the template that decided them."""
        config = load_config(document())
        outcome = evaluate_listing(config, BAG, "ali-us", on=ON)
        assert outcome.template == "bags"
        assert outcome.quantity is not None
        assert outcome.quantity.quantity == 20
        assert outcome.price is not None
        assert outcome.price.amount == Decimal("37.40")
        assert outcome.images is not None
        assert outcome.images.source == "none"
        assert outcome.ok
        assert outcome.reasons[0].message == "listing template 'bags' matches the product"

    def test_disabled_product_lists_zero(self) -> None:
        """A disabled product lists 0 with rule product_disabled."""
        config = load_config(document())
        disabled = Product(sku="X", price=Decimal(5), enabled=False, stock=Stock(qty=50))
        outcome = evaluate_listing(config, disabled, "ali-us", on=ON)
        assert outcome.quantity is not None
        assert (outcome.quantity.quantity, outcome.quantity.rule) == (0, "product_disabled")

    def test_pricing_failure_is_carried(self) -> None:
        """A price that cannot be computed is an error in the outcome, not an exception."""
        config = load_config(document())
        outcome = evaluate_listing(config, Product(sku="NOPRICE"), "otto-de", on=ON)
        assert outcome.price is None
        assert not outcome.ok
        assert [(e.what, e.code) for e in outcome.errors] == [("price", "missing_price")]

    def test_no_matching_template(self) -> None:
        """Without a matching template nothing is listed, and the reason says so."""
        config = load_config(document())
        config = Configuration(
            **{
                **{
                    f: getattr(config, f)
                    for f in (
                        "sync_policies",
                        "inventory_policies",
                        "pricing_policies",
                        "image_policies",
                        "order_policies",
                        "accounts",
                    )
                },
                "templates": config.templates[:1],
            }
        )
        outcome = evaluate_listing(config, TEE, "ali-us", on=ON)
        assert (outcome.template, outcome.quantity, outcome.price) == (None, None, None)
        assert [r.code for r in outcome.reasons] == ["no_matching_template"]

    def test_unknown_account(self) -> None:
        """An unknown account id is a caller error listing the known ones."""
        with pytest.raises(PolicyConfigError) as caught:
            evaluate_listing(load_config(document()), TEE, "nope")
        assert caught.value.errors == [
            "unknown account 'nope' (known: ali-us, otto-de) @ $.accounts"
        ]

    @given(configurations(), products())
    def test_evaluate_listing_never_raises(self, config: Configuration, product: Product) -> None:
        """For any configuration and product, evaluate_listing returns an outcome per account."""
        for account in config.accounts:
            outcome = evaluate_listing(config, product, account.id, on=ON)
            assert outcome.sku == product.sku
            assert outcome.reasons
            assert structure(unstructure(outcome), type(outcome)) == outcome


class TestPreview:
    """preview_change shows what a policy edit would change before saving it."""

    def test_pricing_edit(self) -> None:
        """A markup edit shows the price changes of exactly the affected listings."""
        old = load_config(document())
        new = set_policy(
            old,
            "pricing",
            "markup",
            PricingPolicy(
                title="Markup 20",
                adjustments=(
                    Adjustment(kind=AdjustmentKind.PERCENT_INCREMENT, amount=Decimal(20)),
                ),
            ),
        )
        changes = preview_change(old, new, [BAG, TEE], on=ON)
        assert [(c.sku, c.account, c.what, c.before, c.after) for c in changes] == [
            (
                "24-MB01",
                "ali-us",
                "price",
                {"amount": "37.40", "currency": "USD"},
                {"amount": "40.80", "currency": "USD"},
            ),
            (
                "24-MB01",
                "otto-de",
                "price",
                {"amount": "37.40", "currency": "USD"},
                {"amount": "40.80", "currency": "USD"},
            ),
        ]

    def test_added_account_and_template_change(self) -> None:
        """An added account shows as a listing change; a template switch as a template change."""
        old = load_config(document())
        data = document()
        data["templates"][0]["condition"] = "sku == 'none'"
        data["accounts"].append({"id": "otto-2", "channel": "otto", "sync_policy": "any"})
        new = load_config(data)
        changes = preview_change(old, new, [BAG], on=ON)
        whats = [(c.account, c.what) for c in changes]
        assert ("ali-us", "template") in whats
        assert ("ali-us", "quantity") in whats
        assert ("otto-2", "listing") in whats
        assert all(c.sku == "24-MB01" for c in changes)
        assert preview_change(old, old, [BAG, TEE], on=ON) == ()

    def test_changes_are_immutable_and_hashable(self) -> None:
        """A change's before and after are read-only (objects FrozenDicts, lists tuples): a
        change hashes, and dumps to the same JSON as the plain values it was built from."""
        old = load_config(document())
        data = document()
        data["accounts"].append({"id": "otto-2", "channel": "otto", "sync_policy": "any"})
        changes = preview_change(old, load_config(data), [BAG], on=ON)
        (added,) = [change for change in changes if change.what == "listing"]
        assert type(added.after) is FrozenDict
        assert type(added.after["reasons"]) is tuple
        assert len({*changes, *changes}) == len(changes)
        with pytest.raises(TypeError):
            added.after["template"] = "other"
        built = ListingChange(
            sku="A", account="a", what="images", before=["/a.jpg", {"b": [1]}], after=None
        )
        assert built.before == ("/a.jpg", {"b": (1,)})
        assert type(built.before[1]) is FrozenDict
        assert hash(built) == hash(attrs.evolve(built))
        assert unstructure(built)["before"] == ["/a.jpg", {"b": [1]}]
        assert structure(json.loads(json.dumps(unstructure(built))), ListingChange) == built


class TestLint:
    """lint warns about legal but suspicious settings."""

    def test_warnings(self) -> None:
        """Each suspicious setting gives its warning code and path."""
        data = document()
        data["inventory_policies"]["threshold"]["threshold"] = {
            "value": 10,
            "above": 5,
            "below": 12,
        }
        data["inventory_policies"]["odd"] = {
            "title": "Odd",
            "percentage": 50,
            "default_when_out_of_stock": True,
            "max_quantity": 0,
        }
        data["image_policies"]["images"]["gallery_limit"] = 20
        data["sync_policies"]["ali"].update(
            {
                "observed_attributes": ["color"],
                "product_update": False,
                "inventory_price_sync": False,
            }
        )
        data["templates"].append(dict(data["templates"][1], id="never"))
        warnings = lint(load_config(data))
        assert [(w.code, w.path) for w in warnings] == [
            ("threshold_above_below_value", "$.inventory_policies.threshold.threshold.above"),
            ("threshold_below_above_value", "$.inventory_policies.threshold.threshold.below"),
            ("percentage_with_default", "$.inventory_policies.odd.default_when_out_of_stock"),
            ("max_quantity_zero", "$.inventory_policies.odd.max_quantity"),
            ("gallery_limit_above_channel", "$.image_policies.images.gallery_limit"),
            ("gallery_limit_above_channel", "$.image_policies.images.gallery_limit"),
            ("unused_policy", "$.inventory_policies.odd"),
            ("unreachable_template", "$.templates[2]"),
            ("observed_without_update", "$.sync_policies.ali.observed_attributes"),
            ("inventory_price_sync_off", "$.accounts[0].sync_policy"),
        ]
        assert (
            str(warnings[3])
            == "max_quantity 0 lists nothing, ever @ $.inventory_policies.odd.max_quantity"
        )

    def test_default_config_is_clean(self) -> None:
        """The onboarding configuration has no warnings."""
        assert lint(default_config("tiktok")) == ()


def test_construction_in_python() -> None:
    """A configuration built in Python is checked the same way as a loaded one."""
    with pytest.raises(PolicyConfigError) as caught:
        Configuration(
            inventory_policies={
                "a": InventoryPolicy(title="A", threshold=Threshold(value=1, above=2, below=0))
            },
            templates=[
                ListingTemplate(
                    id="t", title="T", inventory_policy="a", pricing_policy="p", image_policy="i"
                )
            ],
            accounts=[Account(id="x", channel="otto", sync_policy="s")],
        )
    assert caught.value.errors == [
        "unknown pricing policy 'p' (known: none defined) @ $.templates[0].pricing_policy",
        "unknown image policy 'i' (known: none defined) @ $.templates[0].image_policy",
        "unknown sync policy 's' (known: none defined) @ $.accounts[0].sync_policy",
    ]


class TestSyncListing:
    """sync_listing decides a change for an account with its channel's profile."""

    def test_custom_channel_fields_limit_the_decision(self) -> None:
        """A channel-less sync policy sends only what the account's custom channel supports."""
        data = document()
        data["channels"] = {"b2b": {"fields": ["quantity", "title"]}}
        data["sync_policies"]["any"]["fields"] = None
        data["accounts"].append({"id": "b2b", "channel": "b2b", "sync_policy": "any"})
        config = load_config(data)
        change = ProductChange(kind="created", product=TEE)
        decision = sync_listing(config, change, "b2b")
        assert decision.action == "upload"
        assert decision.template == "rest"
        assert {f.value for f in decision.fields} == {"quantity", "title"}
        ali = sync_listing(config, change, "ali-us")
        assert {f.value for f in ali.fields} == {
            "quantity",
            "price",
            "title",
            "description",
            "images",
            "category",
            "attributes",
        }


class TestAccountScopedTemplates:
    """A template's ``accounts`` scope the listings it serves (empty: every account)."""

    def scoped(self) -> Configuration:
        data = document()
        data["templates"].insert(
            0,
            {
                "id": "otto-only",
                "title": "OTTO",
                "accounts": ["otto-de"],
                "inventory_policy": "stock",
                "pricing_policy": "markup",
                "image_policy": "images",
            },
        )
        return load_config(data)

    def test_templates_for_an_account(self) -> None:
        """An account sees the templates that serve it, in order."""
        config = self.scoped()
        assert [t.id for t in config.templates_for("otto-de")] == ["otto-only", "bags", "rest"]
        assert [t.id for t in config.templates_for("ali-us")] == ["bags", "rest"]
        assert config.templates[0].serves("otto-de")
        assert not config.templates[0].serves("ali-us")

    def test_pipeline_uses_the_scope(self) -> None:
        """evaluate_listing, resolve and sync_listing pick among the account's templates."""
        config = self.scoped()
        assert evaluate_listing(config, TEE, "otto-de", on=ON).template == "otto-only"
        assert evaluate_listing(config, TEE, "ali-us", on=ON).template == "rest"
        resolution = resolve(config, TEE, "otto-de")
        assert resolution.template is not None
        assert resolution.template.id == "otto-only"
        change = ProductChange(kind="created", product=TEE)
        assert sync_listing(config, change, "ali-us").template == "rest"
        assert sync_listing(config, change, "otto-de").template == "otto-only"

    def test_unknown_account_in_scope(self) -> None:
        """A template naming an unknown account is a load error with the item's path."""
        data = document()
        data["templates"][1]["accounts"] = ["ali-us", "nope", ""]
        assert errors_of(data) == [
            "expected a list of non-empty account ids, got a string in it @ $.templates[1].accounts"
        ]
        data["templates"][1]["accounts"] = ["ali-us", "nope"]
        assert errors_of(data) == [
            "unknown account 'nope' (known: ali-us, otto-de) @ $.templates[1].accounts[1]"
        ]

    def test_scoped_catch_all_shadows_only_its_accounts(self) -> None:
        """lint: a catch-all template shadows later templates only for the accounts it serves."""
        data = document()
        data["templates"] = [
            dict(data["templates"][1], id="otto-all", accounts=["otto-de"]),
            dict(data["templates"][0], id="bags-otto", accounts=["otto-de"]),
            dict(data["templates"][0], id="bags-all"),
        ]
        codes = [(w.code, w.path) for w in lint(load_config(data))]
        assert ("unreachable_template", "$.templates[1]") in codes
        assert ("unreachable_template", "$.templates[2]") not in codes
