"""The ``policy-engine`` command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from policy_engine.cli import main
from policy_engine.cli._demo import evaluate, load_sample_store


class TestDemo:
    """``policy-engine demo`` on the bundled sample store."""

    def test_demo_prints_every_product_for_both_channels(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each product appears with quantity, price and images for each channel."""
        assert main(["demo"]) == 0
        out = capsys.readouterr().out
        store = load_sample_store()
        for product in store.products:
            assert f"\n{product.sku}  {product.name}\n" in out
        assert out.count("aliexpress ") == len(store.products)
        assert "[out_of_stock]" in out
        assert "[stock_not_managed]" in out
        assert "[no_stock_data]" in out
        assert "[above_threshold]" in out
        assert "ERROR missing_price" in out
        assert "[default]" in out
        assert "[attribute]" in out

    def test_demo_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``--json`` prints one record per product and channel."""
        assert main(["demo", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        store = load_sample_store()
        assert len(rows) == len(store.products) * len(store.channels)
        assert rows == evaluate(store)

    def test_demo_covers_the_cases(self) -> None:
        """The sample store exercises the rules the demo promises to show."""
        rows = evaluate(load_sample_store())
        rules = {row["quantity"]["rule"] for row in rows}
        assert {"stock", "out_of_stock", "stock_not_managed", "no_stock_data"} <= rules
        assert {"above_threshold", "at_threshold", "below_threshold"} <= rules
        sources = {row["images"]["source"] for row in rows}
        assert {"attribute", "base_image", "first_image", "default", "none"} <= sources

    def test_no_command_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without a command the help goes to stderr and the exit status is 2."""
        assert main([]) == 2
        assert "demo" in capsys.readouterr().err

    def test_module_entry_point(self) -> None:
        """``python -m policy_engine.cli demo`` runs the demo end to end."""
        completed = subprocess.run(
            [sys.executable, "-m", "policy_engine.cli", "demo"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        assert "MH01-S-Gray" in completed.stdout
