"""Channel variant limits: the most variants and variation attributes a listing may have."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from policy_engine import (
    BUILTIN_CHANNELS,
    Product,
    ProductFamily,
    lint,
    load_config,
)


def _config(**channels: Any) -> Any:
    return load_config(
        {
            "version": 1,
            "channels": channels,
            "sync_policies": {"s": {"title": "S"}},
            "inventory_policies": {"i": {"title": "Stock"}},
            "pricing_policies": {"p": {"title": "Price"}},
            "image_policies": {"m": {"title": "Images", "gallery_limit": 6}},
            "templates": [
                {
                    "id": "all",
                    "title": "All",
                    "inventory_policy": "i",
                    "pricing_policy": "p",
                    "image_policy": "m",
                }
            ],
            "accounts": [
                {"id": "ebay-us", "channel": "ebay", "sync_policy": "s"},
                {"id": "shop", "channel": "shop", "sync_policy": "s"},
            ],
        }
    )


def _configurable(count: int, codes: tuple[str, ...] = ("size",)) -> ProductFamily:
    children = [
        Product(sku=f"P-{n}", attributes={code: f"{code}-{n}" for code in codes})
        for n in range(count)
    ]
    return ProductFamily(
        parent=Product(sku="P", type="configurable"),
        children=children,
        variation_attributes=codes,
    )


class TestLintVariantLimits:
    """lint(config, families=...) warns about families over a channel's variant limits."""

    def test_over_the_variant_limit(self) -> None:
        """A configurable with more variants than an account's channel accepts is warned about,
        on that account only."""
        config = _config(shop={"fields": ["quantity", "price"], "max_variants": 3})
        warnings = [
            w for w in lint(config, families=[_configurable(4)]) if w.code.startswith("vari")
        ]
        assert [(w.code, w.path, w.message) for w in warnings] == [
            (
                "variants_over_channel_limit",
                "$.accounts[1].channel",
                (
                    "'P' has 4 variants: channel 'shop' of account 'shop' accepts at most 3 per"
                    " listing"
                ),
            )
        ]

    def test_over_the_attribute_limit(self) -> None:
        """A configurable varying by more attributes than eBay's 5 is warned about."""
        codes = ("a", "b", "c", "d", "e", "f")
        config = _config(shop={"fields": ["quantity"]})
        warnings = list(lint(config, families=[_configurable(2, codes)]))
        assert [(w.code, w.path) for w in warnings if w.code.startswith("vari")] == [
            ("variation_attributes_over_channel_limit", "$.accounts[0].channel")
        ]
        assert BUILTIN_CHANNELS["ebay"].max_variation_attributes == 5

    def test_within_the_limits_and_sets(self) -> None:
        """Families within the limits, bundles and grouped sets give no variant warning."""
        config = _config(shop={"fields": ["quantity"], "max_variants": 1})
        grouped = ProductFamily(
            parent=Product(sku="G", type="grouped"),
            children=[Product(sku="A"), Product(sku="B")],
        )
        options = ProductFamily(
            parent=Product(sku="O", type="grouped"),
            children=[Product(sku="C"), Product(sku="D")],
            grouped_mode="options",
        )
        codes = [w.code for w in lint(config, families=[grouped, _configurable(1), options])]
        assert codes.count("variants_over_channel_limit") == 1  # the grouped options only
        assert [w.code for w in lint(config)] == [w.code for w in lint(config, families=[])]


class TestOutcomeVariantLimits:
    """evaluate_family reports a listing over its channel's variant limits on the outcome."""

    def test_too_many_variants(self) -> None:
        """More variants than the channel accepts: an error and a reason, the values kept."""
        from policy_engine import Stock, evaluate_family

        config = _config(shop={"fields": ["quantity", "price"], "max_variants": 3})
        family = _configurable(4)
        family = attrs.evolve(
            family,
            children=[
                attrs.evolve(c, price=Decimal(5), stock=Stock(qty=1)) for c in family.children
            ],
        )
        outcome = evaluate_family(config, family, "shop")
        assert [(e.what, e.code) for e in outcome.errors] == [
            ("variants", "variants_over_channel_limit")
        ]
        assert outcome.errors[0].message == (
            "the listing has 4 variants: the channel accepts at most 3 per listing"
        )
        assert outcome.reasons[-1].code == "variants_over_channel_limit"
        assert outcome.quantity == 4
        assert not outcome.ok
        assert evaluate_family(config, family, "ebay-us").ok  # eBay takes 250

    def test_too_many_attributes(self) -> None:
        """Varying by more attributes than eBay's 5 is an error on the eBay outcome."""
        from policy_engine import evaluate_family

        family = _configurable(2, ("a", "b", "c", "d", "e", "f"))
        family = attrs.evolve(
            family, children=[attrs.evolve(c, price=Decimal(5)) for c in family.children]
        )
        config = _config(shop={"fields": ["quantity"]})
        outcome = evaluate_family(config, family, "ebay-us")
        assert [e.code for e in outcome.errors] == ["variation_attributes_over_channel_limit"]
        assert evaluate_family(config, family, "shop").ok  # a custom profile without limits

    def test_grouped_options_vary_by_one_attribute(self) -> None:
        """A grouped product listed as options counts one variation attribute."""
        from policy_engine import evaluate_family

        config = _config(shop={"fields": ["quantity"], "max_variation_attributes": 1})
        options = ProductFamily(
            parent=Product(sku="O", type="grouped"),
            children=[Product(sku="C", price=Decimal(3)), Product(sku="D", price=Decimal(4))],
            grouped_mode="options",
        )
        assert evaluate_family(config, options, "shop").ok
