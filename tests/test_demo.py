"""``policy-engine demo`` on the bundled sample store."""

from __future__ import annotations

import io
import json
from pathlib import Path

from policy_engine.cli._demo import decide, evaluate, import_orders, load_sample_store, run_demo


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


class TestOrdersAndStock:
    """The order → stock → every channel chain of the demo."""

    def test_chain(self, tmp_path: Path) -> None:
        """One order is created through an alternate SKU, one is skipped with both reasons, the
        stock change reaches every account, and the history is read back from SQLite."""
        run = import_orders(load_sample_store(), tmp_path / "log.sqlite3")
        (first_order, first), (_, second) = run.plans
        assert first.create
        assert first.store_order_id == "MP-001041"
        assert [(line.channel_sku, line.store_sku) for line in first.lines] == [
            ("ALI-JOUST-01", "24-MB01")
        ]
        assert dict(first.stock_changes) == {"24-MB01": -2}
        assert first_order.id == "AE-80001"
        assert not second.create
        assert second.store_order_id is None
        assert {r.code for r in second.reasons} == {"status_not_eligible", "product_missing"}
        (sync,) = run.stock_syncs
        assert [(u.account, u.quantity) for u in sync.updates] == [("aliexpress-us", 33)]
        assert {s.account: s.reason.code for s in sync.skipped} == {
            "tiktok-uk": "unchanged",
            "ebay-de": "auto_sync_off",
        }
        (record,) = run.history
        assert record.origin_account == "aliexpress-us"
        assert dict(record.sent) == {"aliexpress-us": 33}

    def test_text_section(self) -> None:
        """The demo prints the orders section with the history read back."""
        out = io.StringIO()
        run_demo(out)
        text = out.getvalue()
        assert "order AE-80001: created as MP-001041" in text
        assert "order AE-80002: skipped" in text
        assert "sync history read back from the SQLite log (newest first):" in text
