"""Scenario tests for policies (``policy-engine test DIR``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from policy_engine import (
    PolicyConfigError,
    load_scenario,
    message_templates,
    run_scenario,
    scenario_coverage,
    write_expectations,
)
from policy_engine._scenarios import OUTSIDE_SCENARIOS
from policy_engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "examples" / "scenarios"
CONFIG = str(ROOT / "examples" / "config.json")
BAG = {
    "sku": "24-MB01",
    "name": "Joust Duffle Bag",
    "price": "34.00",
    "categories": ["Gear/Bags"],
    "stock": {"qty": 12},
}


def scenario(tmp_path: Path, expect: list[dict[str, Any]], **given: Any) -> Path:
    """A JSON scenario file of the bag under the example configuration."""
    data = {
        "description": "the bag",
        "given": {"config": CONFIG, "on": "2026-11-23", "products": [BAG], **given},
        "expect": expect,
    }
    path = tmp_path / "bag.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def call(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the command line in this process: ``call(*args) -> (status, stdout, stderr)``."""
    monkeypatch.chdir(ROOT)

    def _call(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return _call


class TestRunning:
    """Expectations are matched by their key fields and compared field by field."""

    def test_the_example_scenarios_pass(self) -> None:
        """Every scenario shipped in examples/scenarios passes (the CI gate of the examples)."""
        files = sorted(SCENARIOS.iterdir())
        assert {path.suffix for path in files} == {".json", ".toml"}
        for path in files:
            result = run_scenario(load_scenario(path))
            assert result.failures == (), path

    def test_a_wrong_expectation_fails_and_names_the_field(self, tmp_path: Path) -> None:
        """A deliberately wrong quantity fails with the field, the values and the result."""
        path = scenario(
            tmp_path,
            [
                {"what": "listing", "sku": "24-MB01", "account": "ali-us", "quantity": 25},
                {"what": "listing", "sku": "24-MB01", "account": "ali-us", "price": "39.99"},
            ],
        )
        result = run_scenario(load_scenario(path))
        assert not result.passed
        assert result.failures == (
            "expect[0].quantity: expected 25, got 20 (listing 24-MB01 on ali-us)",
        )

    def test_missing_ambiguous_and_unknown(self, tmp_path: Path) -> None:
        """No such result, several results, or a field results do not have: each a failure."""
        path = scenario(
            tmp_path,
            [
                {"what": "listing", "sku": "NOPE"},
                {"what": "listing", "sku": "24-MB01"},
                {"what": "listing", "sku": "24-MB01", "account": "ali-us", "colour": "red"},
            ],
        )
        failures = run_scenario(load_scenario(path)).failures
        assert failures[0] == "expect[0]: no listing NOPE result was observed"
        assert failures[1].startswith("expect[1]: 2 results match listing 24-MB01")
        assert failures[2].startswith("expect[2].colour: unknown field of a listing result")

    def test_events_sync_stock_and_order(self, tmp_path: Path) -> None:
        """A change, a stock event and an order each give their results."""
        path = scenario(
            tmp_path,
            [
                {"what": "sync", "event": 0, "account": "ali-us", "action": "upload"},
                {
                    "what": "sync",
                    "event": 1,
                    "account": "tiktok-us",
                    "action": "update_price_inventory",
                },
                {"what": "stock", "event": 2, "account": "ali-us", "quantity": 2},
                {"what": "order", "event": 3, "create": True, "store_order_id": "000001"},
            ],
            listings=[{"account": "tiktok-us", "sku": "24-MB01", "template": "bags"}],
            events=[
                {"change": {"sku": "24-MB01", "kind": "created"}, "account": "ali-us"},
                {"change": {"product": {**BAG, "stock": {"qty": 3}}, "changed": ["qty"]}},
                {
                    "stock_event": {
                        "sku": "24-MB01",
                        "source": "sales_order",
                        "stock": {"qty": 3},
                        "at": "2026-11-23T10:00:00+00:00",
                    }
                },
                {
                    "account": "ali-us",
                    "order": {
                        "id": "1",
                        "status": "paid",
                        "currency": "USD",
                        "lines": [{"sku": "24-MB01", "qty": 1, "price": "39.99"}],
                    },
                },
            ],
        )
        result = run_scenario(load_scenario(path))
        # the stock event finds no ali-us listing: only the TikTok one, with a stored template
        assert result.failures == ("expect[2]: no stock event 2 on ali-us result was observed",)
        stock = [item for item in result.observed if item["what"] == "stock"]
        assert stock == [
            {
                "what": "stock",
                "event": 2,
                "sku": "24-MB01",
                "account": "tiktok-us",
                "action": "update",
                "quantity": 2,
                "quantity_rule": "below_threshold",
                "reasons": [],
            }
        ]
        assert {"upload", "order_created", "below_threshold"} <= result.reached

    def test_an_undecidable_scenario_fails_with_the_error(self, tmp_path: Path) -> None:
        """An order on an account without an order policy fails the scenario, no traceback."""
        path = scenario(
            tmp_path,
            [],
            events=[
                {
                    "account": "tiktok-us",
                    "order": {
                        "id": "1",
                        "status": "paid",
                        "currency": "USD",
                        "lines": [{"sku": "24-MB01", "qty": 1, "price": "1"}],
                    },
                }
            ],
        )
        result = run_scenario(load_scenario(path))
        assert result.failures == (
            "cannot decide: account 'tiktok-us' has no order policy @ $.account",
        )


class TestLoading:
    """A bad scenario is refused with every problem and its path."""

    def test_every_problem_with_its_path(self, tmp_path: Path) -> None:
        """Unknown fields, bad products, listings, events and expectations, all at once."""
        path = tmp_path / "bad.json"
        path.write_text(
            json.dumps(
                {
                    "descripton": 1,
                    "given": {
                        "config": CONFIG,
                        "on": "soon",
                        "products": [{"sku": "A"}, {"sku": "C", "nme": "x"}],
                        "listings": [{"account": 1, "sku": "A", "listd": True}, 3],
                        "events": [
                            {"change": {"sku": "B"}},
                            {"nothing": 1},
                            {"order": {}, "sequence": 0},
                            {"change": {"sku": "A"}, "account": 5},
                            {"change": 3, "extra": 1},
                            {"stock_event": {}},
                            {"change": {"sku": "A", "colour": 1}},
                        ],
                        "stock": [],
                    },
                    "expect": [{"what": "price"}, 3],
                }
            ),
            encoding="utf-8",
        )
        with pytest.raises(PolicyConfigError) as raised:
            load_scenario(path)
        errors = raised.value.errors
        expected = [
            "unknown field @ $.descripton",
            "unknown field @ $.given.stock",
            "expected a date YYYY-MM-DD, got a string @ $.given.on",
            "unknown field (did you mean 'name'?) @ $.given.products[1].nme",
            "expected a string, got an integer @ $.given.listings[0].account",
            "unknown field (did you mean 'listed'?) @ $.given.listings[0].listd",
            "expected an object, got an integer @ $.given.listings[1]",
            "unknown product 'B' (known: A) @ $.given.events[0].change.sku",
            "expected an object with one of change, stock_event, order @ $.given.events[1]",
            "required field missing @ $.given.events[2].account",
            "required field missing @ $.given.events[2].order.id",
            "must be an integer >= 1 (got 0) @ $.given.events[2].sequence",
            "expected a string, got an integer @ $.given.events[3].account",
            "unknown field @ $.given.events[4].extra",
            "expected an object, got an integer @ $.given.events[4].change",
            "required field missing @ $.given.events[5].stock_event.sku",
            "unknown field @ $.given.events[6].change.colour",
            "must be one of listing, sync, stock, order (got 'price') @ $.expect[0].what",
            "expected an object, got an integer @ $.expect[1]",
        ]
        for message in expected:
            assert message in errors

    def test_document_shapes(self, tmp_path: Path) -> None:
        """Not an object, no given, a bad config, bad lists, bad TOML: refused with paths."""
        path = tmp_path / "s.json"
        cases: list[tuple[Any, str]] = [
            ([], "expected an object, got a list @ $"),
            ({}, "expected an object, got null @ $.given"),
            ({"given": {}}, "required field missing @ $.given.config"),
            ({"given": {"config": 3}}, "expected a path or an object, got an integer"),
            ({"given": {"config": {"version": 2}}}, "@ $.given.config.version"),
            ({"given": {"config": CONFIG, "products": {}}}, "expected a list, got an object"),
            ({"given": {"config": CONFIG, "listings": {}}}, "@ $.given.listings"),
            ({"given": {"config": CONFIG, "events": {}}}, "@ $.given.events"),
            ({"given": {"config": CONFIG}, "expect": {}}, "@ $.expect"),
            ({"given": {"config": CONFIG}, "description": 3}, "@ $.description"),
            ({"given": {"config": CONFIG, "on": 3}}, "@ $.given.on"),
        ]
        for data, message in cases:
            path.write_text(json.dumps(data), encoding="utf-8")
            with pytest.raises(PolicyConfigError) as raised:
                load_scenario(path)
            assert any(message in error for error in raised.value.errors), (data, raised.value)
        broken = tmp_path / "s.toml"
        broken.write_text("given = [", encoding="utf-8")
        with pytest.raises(PolicyConfigError, match=r"not TOML .* @ \$"):
            load_scenario(broken)

    def test_a_bad_configuration_file_is_named(self, tmp_path: Path) -> None:
        """Problems of a configuration file the scenario names carry the file's name."""
        bad = str(ROOT / "examples" / "bad" / "config.json")
        path = tmp_path / "s.json"
        path.write_text(json.dumps({"given": {"config": bad}}), encoding="utf-8")
        with pytest.raises(PolicyConfigError) as raised:
            load_scenario(path)
        assert raised.value.errors[0].startswith(
            f"unknown field (did you mean 'threshold'?) @ {bad}: $."
        )


class TestUpdateAndCoverage:
    """--update writes the observed results; coverage lists the codes not reached."""

    def test_update_json_then_pass(self, tmp_path: Path) -> None:
        """A JSON scenario rewritten with its observations passes, with every result pinned."""
        path = scenario(tmp_path, [{"what": "listing", "sku": "24-MB01", "quantity": 1}])
        loaded = load_scenario(path)
        result = run_scenario(loaded)
        write_expectations(loaded, result)
        again = load_scenario(path)
        assert len(again.expect) == 2
        assert run_scenario(again).passed

    def test_update_toml_keeps_the_given_part(self, tmp_path: Path) -> None:
        """A TOML scenario keeps its comments and given tables; its expect tables are new."""
        source = SCENARIOS / "stock-and-orders.toml"
        path = tmp_path / "s.toml"
        text = source.read_text("utf-8").replace("../config.json", CONFIG)
        head = text[: text.index("[[expect]]")]
        path.write_text(head + '[[expect]]\nwhat = "listing"\nsku = "x"\n', encoding="utf-8")
        loaded = load_scenario(path)
        write_expectations(loaded, run_scenario(loaded))
        written = path.read_text("utf-8")
        assert written.startswith(head.rstrip("\n"))
        assert "# The store sells three" in written
        assert run_scenario(load_scenario(path)).passed
        bare = tmp_path / "bare.toml"
        bare.write_text(head, encoding="utf-8")
        loaded = load_scenario(bare)
        write_expectations(loaded, run_scenario(loaded))
        assert run_scenario(load_scenario(bare)).passed

    def test_coverage(self) -> None:
        """Codes reached and not reached partition the known codes outside families."""
        results = [run_scenario(load_scenario(path)) for path in sorted(SCENARIOS.iterdir())]
        reached, unreached = scenario_coverage(results)
        assert "above_threshold" in reached
        assert "upload" in unreached
        known = set(message_templates()) - OUTSIDE_SCENARIOS
        assert set(reached) | set(unreached) == known
        assert not set(reached) & set(unreached)

    def test_outside_codes_are_known(self) -> None:
        """Every code left out of the coverage is a code the library defines."""
        assert set(message_templates()) >= OUTSIDE_SCENARIOS


class TestCommand:
    """``policy-engine test DIR``."""

    def test_examples_pass(self, call: Any) -> None:
        """The example scenarios pass: exit 0, a line per file, the coverage."""
        status, out, _ = call("test", "examples/scenarios")
        assert status == 0
        lines = out.splitlines()
        assert lines[0] == "examples/scenarios/bags.json: ok (6 expectations)"
        assert "2 scenarios: 2 passed, 0 failed" in lines
        assert any(line.startswith("coverage: ") for line in lines)
        assert any(line.startswith("not reached: ") for line in lines)

    def test_a_failure_exits_1_and_names_the_field(self, call: Any, tmp_path: Path) -> None:
        """A wrong expectation: FAILED, the field and values, exit status 1."""
        scenario(
            tmp_path, [{"what": "listing", "sku": "24-MB01", "account": "ali-us", "price": "1"}]
        )
        status, out, _ = call("test", str(tmp_path), "--no-coverage")
        assert status == 1
        assert (
            '  expect[0].price: expected "1", got "39.99" (listing 24-MB01 on ali-us)'
            in out.splitlines()
        )
        assert "coverage" not in out

    def test_json_output(self, call: Any, tmp_path: Path) -> None:
        """--json prints each scenario's result and the coverage."""
        scenario(
            tmp_path, [{"what": "listing", "sku": "24-MB01", "account": "ali-us", "price": "1"}]
        )
        (tmp_path / "broken.json").write_text("{", encoding="utf-8")
        status, out, _ = call("test", str(tmp_path), "--json")
        assert status == 1
        data = json.loads(out)
        assert data["failed"] == 2
        assert [item["passed"] for item in data["scenarios"]] == [False, False]
        assert "above_threshold" in data["coverage"]["reached"]

    def test_update(self, call: Any, tmp_path: Path) -> None:
        """--update rewrites the expectations, exit 0; then the scenario passes."""
        shutil.copy(SCENARIOS / "bags.json", tmp_path / "bags.json")
        data = json.loads((tmp_path / "bags.json").read_text("utf-8"))
        data["given"]["config"] = CONFIG
        data["expect"] = [{"what": "listing", "sku": "24-MB01", "quantity": 0}]
        (tmp_path / "bags.json").write_text(json.dumps(data), encoding="utf-8")
        status, out, _ = call("test", str(tmp_path), "--update")
        assert status == 0
        assert "updated (6 expectations)" in out
        assert call("test", str(tmp_path / "bags.json"))[0] == 0

    def test_bad_directories_and_files(self, call: Any, tmp_path: Path) -> None:
        """No directory: usage error; no scenario files, or a broken one: exit 1."""
        status, _, err = call("test", str(tmp_path / "nope"))
        assert (status, err) == (2, f"{tmp_path / 'nope'}: no such directory\n")
        status, _, err = call("test", str(tmp_path))
        assert (status, err) == (1, f"{tmp_path}: no scenario files (*.json, *.toml)\n")
        (tmp_path / "a.json").write_text('{"given": {"config": "missing.json"}}', encoding="utf-8")
        status, out, _ = call("test", str(tmp_path), "--update")
        assert status == 1
        assert "No such file" in out
