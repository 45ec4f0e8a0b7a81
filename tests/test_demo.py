"""``policy-engine demo`` on the bundled sample store."""

from __future__ import annotations

import io
import json

from policy_engine.cli._demo import decide, evaluate, load_sample_store, run_demo


class TestSampleStore:
    """The sample store exercises what the demo promises to show."""

    def test_listing_rules_are_covered(self) -> None:
        """Quantity rules, image sources and a pricing failure all occur."""
        outcomes = evaluate(load_sample_store())
        rules = {o.quantity.rule for o in outcomes if o.quantity is not None}
        assert {"stock", "out_of_stock", "stock_not_managed", "no_stock_data"} <= rules
        assert {"above_threshold", "at_threshold", "below_threshold"} <= rules
        sources = {o.images.source for o in outcomes if o.images is not None}
        assert {"attribute", "base_image", "first_image", "default"} <= sources
        assert any(error.code == "missing_price" for o in outcomes for error in o.errors)
        currencies = {o.price.currency for o in outcomes if o.price is not None}
        assert currencies == {"USD", "EUR"}

    def test_sync_actions_are_covered(self) -> None:
        """Every sync action and the key reasons occur across the changes and accounts."""
        decisions = decide(load_sample_store())
        actions = {decision.action for _, _, decision in decisions}
        assert actions == {"upload", "update", "update_price_inventory", "delist", "none"}
        reasons = {r.code for _, _, decision in decisions for r in decision.reasons}
        assert {
            "unobserved_attributes",
            "price_managed_externally",
            "not_visible_individually",
        } <= reasons

    def test_every_account_has_a_channel_of_its_own(self) -> None:
        """The demo's three accounts are on AliExpress, TikTok Shop and eBay."""
        store = load_sample_store()
        assert [a.channel for a in store.configuration.accounts] == ["aliexpress", "tiktok", "ebay"]


class TestOutput:
    """What the demo prints."""

    def test_text(self) -> None:
        """The text names every product, each section, and the preview's changed listings."""
        out = io.StringIO()
        run_demo(out)
        text = out.getvalue()
        store = load_sample_store()
        for product in store.products:
            assert f"\n{product.sku}  {product.name}\n" in text
        assert "== Product changes: what each channel gets, and why" in text
        assert "== Preview of a policy edit: raise the MSRP markup from 10% to 15%" in text
        assert "MH01-S-Gray     aliexpress-us  price     64.99 USD -> 67.99 USD" in text
        assert "[above_threshold] store quantity 35 is above the threshold 10: lists 20" in text

    def test_json(self) -> None:
        """--json prints listings, decisions and the preview as one document."""
        out = io.StringIO()
        run_demo(out, as_json=True)
        document = json.loads(out.getvalue())
        store = load_sample_store()
        accounts = len(store.configuration.accounts)
        assert len(document["listings"]) == len(store.products) * accounts
        assert len(document["changes"]) == len(store.changes) * accounts
        assert {row["what"] for row in document["preview"]} == {"price"}
