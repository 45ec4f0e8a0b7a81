"""The ``policy-engine`` command line (spec section 12), end to end and in process."""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine import MAX_JSON_DEPTH, Product, dump_config, load_config, unstructure
from policy_engine.cli import _io as cli_io
from policy_engine.cli import main
from policy_engine.cli._demo import evaluate, load_sample_store
from policy_engine.cli._io import CliError, LoadProblem, ProductReader, os_problem
from policy_engine.cli._output import TableWriter, make_writer, rich_console
from policy_engine.testing import products

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CONFIG = "examples/config.json"
PRODUCTS = "examples/products.jsonl"
ON = "2026-11-23"
EXAMPLE_SKUS = [
    json.loads(line)["sku"]
    for line in (EXAMPLES / "products.jsonl").read_text("utf-8").splitlines()
]
ACCOUNTS = ["ali-us", "tiktok-us"]


def run(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``python -m policy_engine.cli ARGS`` in a subprocess from the repository root."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "policy_engine.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        input=stdin,
        cwd=cwd,
        env=env,
        check=False,
        timeout=120,
    )


@pytest.fixture
def call(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the command line in this process: ``call(*args) -> (status, stdout, stderr)``."""
    monkeypatch.chdir(ROOT)

    def _call(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return _call


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def jsonl(*items: Any) -> str:
    return "".join(json.dumps(item) + "\n" for item in items)


def product(sku: str, **fields: Any) -> dict[str, Any]:
    return {"sku": sku, "price": "10.00", "stock": {"qty": 5}, **fields}


# ------------------------------------------------------------------------------------------ demo


class TestDemo:
    """``policy-engine demo`` on the bundled sample store."""

    def test_demo_prints_every_product_for_every_account(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each product appears with quantity, price and images for each account."""
        assert main(["demo"]) == 0
        out = capsys.readouterr().out
        store = load_sample_store()
        for item in store.products:
            assert f"\n{item.sku}  {item.name}\n" in out
        for account in store.configuration.accounts:
            assert out.count(f"\n  {account.id:<14}qty ") + out.count(
                f"\n  {account.id:<14}not listed"
            ) == len(store.products)
        assert "[out_of_stock]" in out
        assert "[stock_not_managed]" in out
        assert "[no_stock_data]" in out
        assert "[above_threshold]" in out
        assert "ERROR missing_price" in out
        assert "[default]" in out
        assert "[attribute]" in out

    def test_demo_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``--json`` prints one listing per product and account, as the library computes it."""
        assert main(["demo", "--json"]) == 0
        document = json.loads(capsys.readouterr().out)
        store = load_sample_store()
        listings = document["listings"]
        assert len(listings) == len(store.products) * len(store.configuration.accounts)
        assert listings == unstructure(evaluate(store))

    def test_demo_covers_the_cases(self) -> None:
        """The sample store exercises the rules the demo promises to show."""
        outcomes = evaluate(load_sample_store())
        rules = {o.quantity.rule.value for o in outcomes if o.quantity is not None}
        assert {"stock", "out_of_stock", "stock_not_managed", "no_stock_data"} <= rules
        assert {"above_threshold", "at_threshold", "below_threshold"} <= rules
        sources = {o.images.source.value for o in outcomes if o.images is not None}
        assert {"attribute", "base_image", "first_image", "default", "none"} <= sources

    def test_no_command_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without a command the help goes to stderr and the exit status is 2."""
        assert main([]) == 2
        assert "demo" in capsys.readouterr().err

    def test_module_entry_point(self) -> None:
        """``python -m policy_engine.cli demo`` runs the demo end to end."""
        completed = run("demo")
        assert completed.returncode == 0, completed.stderr
        assert "MH01-S-Gray" in completed.stdout

    def test_main_module_in_process(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``python -m policy_engine.cli`` exits with main()'s status."""
        import runpy

        monkeypatch.setattr(sys, "argv", ["policy-engine", "--version"])
        with pytest.raises(SystemExit) as exited:
            runpy.run_module("policy_engine.cli", run_name="__main__")
        assert exited.value.code == 0
        assert capsys.readouterr().out.startswith("policy-engine ")

    def test_version(self, call: Any) -> None:
        """``--version`` prints the package version."""
        from policy_engine import __version__

        assert call("--version") == (0, f"policy-engine {__version__}\n", "")

    def test_help_lists_every_command(self, call: Any) -> None:
        """``--help`` lists the commands and the exit statuses."""
        status, out, _ = call("--help")
        assert status == 0
        for command in ("demo", "check", "evaluate", "explain", "preview", "schema"):
            assert command in out
        assert "quantity-curve" in out
        assert "2 usage error" in out

    def test_unknown_command(self, call: Any) -> None:
        """An unknown command is a usage error (2)."""
        status, _, err = call("evalute")
        assert status == 2
        assert "No such command 'evalute'" in err


class TestWithoutTheCliExtra:
    """``pip install policy-engine`` (no extras): the demo runs, other commands say what to install."""

    @pytest.fixture(autouse=True)
    def no_click(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make ``import click`` fail, as it does without the cli extra."""
        monkeypatch.setitem(sys.modules, "click", None)

    def test_demo_runs(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``demo`` prints the same as with click."""
        assert main(["demo"]) == 0
        assert "== What each account lists, and why" in capsys.readouterr().out

    def test_demo_json_runs(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``demo --json`` prints the JSON document."""
        assert main(["demo", "--json"]) == 0
        assert "listings" in json.loads(capsys.readouterr().out)

    @pytest.mark.parametrize("command", ["check", "evaluate", "quantity-curve"])
    def test_other_commands_name_the_extra(
        self, command: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Any other command is a usage error (2) that says how to install the extra."""
        assert main([command, "x"]) == 2
        assert capsys.readouterr().err == (
            f"policy-engine {command}: install the cli extra: pip install 'policy-engine[cli]'\n"
        )

    def test_version_and_help(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``--version`` and ``--help`` work; no command at all is a usage error."""
        from policy_engine import __version__

        assert main(["--version"]) == 0
        assert capsys.readouterr().out == f"policy-engine {__version__}\n"
        assert main(["--help"]) == 0
        assert "policy-engine[cli]" in capsys.readouterr().out
        assert main([]) == 2
        assert "usage: policy-engine" in capsys.readouterr().err

    def test_end_to_end_without_click(self) -> None:
        """In a fresh interpreter where click cannot be imported, ``demo`` still exits 0."""
        code = (
            "import sys; sys.modules['click'] = None\n"
            "from policy_engine.cli import main\n"
            "sys.exit(main(['demo']))\n"
        )
        completed = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
        assert completed.returncode == 0, completed.stderr
        assert "MH01-S-Gray" in completed.stdout


# ----------------------------------------------------------------------------------------- check


class TestCheck:
    """``policy-engine check CONFIG``: validate and lint."""

    SUMMARY = (
        "ok: 2 sync, 3 inventory, 2 pricing, 2 image, 1 order policies, 3 templates, 2 accounts"
    )

    def test_example_configuration(self) -> None:
        """The shipped example is valid and lint-clean (end to end)."""
        completed = run("check", CONFIG)
        assert (completed.returncode, completed.stdout, completed.stderr) == (
            0,
            f"{CONFIG}: {self.SUMMARY}\n",
            "",
        )

    def test_toml_example_is_the_same_configuration(self, call: Any) -> None:
        """The TOML example loads to the same configuration as the JSON one."""
        assert load_config(EXAMPLES / "config.toml") == load_config(EXAMPLES / "config.json")
        assert call("check", "examples/config.toml") == (
            0,
            f"examples/config.toml: {self.SUMMARY}\n",
            "",
        )

    def test_three_errors_all_printed(self) -> None:
        """A configuration with three errors prints all three, one line each, and exits 1."""
        completed = run("check", "examples/bad/config.json")
        assert completed.returncode == 1
        assert completed.stdout == ""
        name = "examples/bad/config.json"
        assert completed.stderr.splitlines() == [
            (
                f"{name}: unknown field (did you mean 'threshold'?)"
                " @ $.inventory_policies.threshold.treshold"
            ),
            f"{name}: must be >= 0 (got -5) @ $.inventory_policies.stock.buffer",
            f"{name}: must be between 1 and 100 (got 200) @ $.image_policies.store.gallery_limit",
        ]

    def test_warnings(self, call: Any, tmp_path: Path) -> None:
        """Lint warnings are printed with their path and code; exit 0, or 1 with ``--strict``."""
        data = json.loads((EXAMPLES / "config.json").read_text("utf-8"))
        data["inventory_policies"]["spare"] = {"title": "Spare", "max_quantity": 0}
        name = write(tmp_path / "config.json", json.dumps(data))
        status, out, err = call("check", name)
        assert (status, err) == (0, "")
        assert out.splitlines()[1:] == [
            (
                f"{name}: warning: max_quantity 0 lists nothing, ever"
                " @ $.inventory_policies.spare.max_quantity [max_quantity_zero]"
            ),
            (
                f"{name}: warning: inventory policy 'spare' is not used by any template or account"
                " @ $.inventory_policies.spare [unused_policy]"
            ),
            f"{name}: 2 warnings",
        ]
        assert call("check", "--strict", name)[0] == 1

    def test_category_conditions_against_a_catalog(self, call: Any, tmp_path: Path) -> None:
        """With --products, a category test no product matches is warned about; a product that
        cannot be loaded is reported on stderr and exits 1."""
        data = json.loads((EXAMPLES / "config.json").read_text("utf-8"))
        data["templates"][0]["condition"] = "under(categories, 'Kids')"
        name = write(tmp_path / "config.json", json.dumps(data))
        catalog = write(tmp_path / "p.jsonl", jsonl(product("A", categories=["Gear/Bags"])))
        status, out, err = call("check", name, "--products", catalog)
        assert (status, err) == (0, "")
        assert "[category_matches_nothing]" in out
        assert "[category_matches_nothing]" not in call("check", name)[1]
        broken = write(tmp_path / "broken.jsonl", jsonl(product("A")) + '{"sku": 5}\n')
        status, _, err = call("check", name, "--products", broken)
        assert status == 1
        assert err.startswith(f"{broken}: ")

    def test_malformed_json(self, call: Any, tmp_path: Path) -> None:
        """A configuration that is not JSON: one line with the line and column, exit 1."""
        name = write(tmp_path / "config.json", '{\n  "version": 1,\n  "templates": [}\n')
        status, out, err = call("check", name)
        assert (status, out) == (1, "")
        assert err == f"{name}: invalid JSON: Expecting value (line 3, column 17) @ $\n"

    def test_malformed_toml(self, call: Any, tmp_path: Path) -> None:
        """A TOML syntax error names the file, line and column."""
        name = write(tmp_path / "config.toml", "version = 1\n[sync_policies.a\n")
        status, _, err = call("check", name)
        assert status == 1
        assert err.startswith(f"{name}: invalid TOML: ")
        assert "line 2" in err
        assert len(err.splitlines()) == 1

    def test_condition_error_shows_the_caret(self, call: Any, tmp_path: Path) -> None:
        """A condition's syntax error names the file and path, then shows where it is."""
        data = json.loads((EXAMPLES / "config.json").read_text("utf-8"))
        data["templates"][0]["condition"] = "price >> 3"
        name = write(tmp_path / "config.json", json.dumps(data))
        status, _, err = call("check", name)
        assert status == 1
        first, *context = err.splitlines()
        assert first.startswith(f"{name}: ")
        assert first.endswith("'>>' is not allowed at column 7 @ $.templates[0].condition")
        assert context == ["        price >> 3", "              ^~"]

    @pytest.mark.parametrize("suffix", [".json", ".toml"])
    def test_byte_order_mark(self, call: Any, tmp_path: Path, suffix: str) -> None:
        """A configuration saved with a UTF-8 byte-order mark is read, as products files are."""
        config = load_config(EXAMPLES / "config.json")
        path = tmp_path / f"config{suffix}"
        text = dump_config(config, format=suffix[1:])
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
        status, out, err = call("check", str(path))
        assert (status, err) == (0, "")
        assert out.startswith(f"{path}: ok: ")

    def test_utf16(self, call: Any, tmp_path: Path) -> None:
        """A configuration saved as UTF-16 is one line saying so, exit 1."""
        path = tmp_path / "config.json"
        path.write_bytes('\ufeff{"version": 1}'.encode("utf-16-le"))
        status, _, err = call("check", str(path))
        assert status == 1
        assert err == (
            f"{path}: not UTF-8 text (byte 0: a UTF-16 byte-order mark; save the file as UTF-8)\n"
        )

    def test_not_utf8(self, call: Any, tmp_path: Path) -> None:
        """A configuration that is not UTF-8 text is one line, exit 1."""
        path = tmp_path / "config.json"
        path.write_bytes(b'{"version": 1, "x": "\xff"}')
        status, _, err = call("check", str(path))
        assert status == 1
        assert err == f"{path}: not UTF-8 text (byte 21: invalid start byte)\n"

    def test_missing_file(self) -> None:
        """A missing configuration is a usage error (2) naming the file (end to end)."""
        completed = run("check", "nowhere/config.json")
        assert (completed.returncode, completed.stdout, completed.stderr) == (
            2,
            "",
            "nowhere/config.json: no such file\n",
        )

    def test_directory(self, call: Any, tmp_path: Path) -> None:
        """A directory given as the configuration is a usage error (2)."""
        assert call("check", str(tmp_path)) == (2, "", f"{tmp_path}: is a directory, not a file\n")

    def test_os_problems(self) -> None:
        """Other file errors are named plainly."""
        assert os_problem("f", PermissionError(13, "Permission denied")).lines == [
            "f: permission denied"
        ]
        assert os_problem("f", OSError(5, "Input/output error")).lines == ["f: Input/output error"]
        assert os_problem("f", OSError("odd")).status == 2


# -------------------------------------------------------------------------------------- evaluate


def evaluate_rows(*args: str) -> tuple[int, list[dict[str, Any]], str]:
    completed = run("evaluate", *args, "--format", "jsonl")
    rows = [json.loads(line) for line in completed.stdout.splitlines()]
    return completed.returncode, rows, completed.stderr


class TestEvaluate:
    """``policy-engine evaluate CONFIG PRODUCTS``."""

    def test_examples_every_product_on_every_account(self) -> None:
        """Every product appears once per account, in input order, with no errors (exit 0)."""
        status, rows, err = evaluate_rows(CONFIG, PRODUCTS, "--on", ON)
        assert status == 0
        assert [(row["sku"], row["account"]) for row in rows] == [
            (sku, account) for sku in EXAMPLE_SKUS for account in ACCOUNTS
        ]
        assert all(row["error"] is None for row in rows)
        assert err == f"{PRODUCTS}: 20 products, 40 rows, 0 failed\n"
        first = rows[0]
        assert first == {
            "sku": "24-MB01",
            "account": "ali-us",
            "template": "bags",
            "quantity": 20,
            "quantity_rule": "above_threshold",
            "price": "39.99",
            "currency": "USD",
            "main_image": "/m/b/mb01-blue-1.jpg",
            "image_count": 3,
            "error": None,
            "kind": "product",
            "parent": None,
            "detail": None,
        }

    def test_json_array_gives_the_same_rows(self, call: Any) -> None:
        """The JSON array example gives exactly the rows of the JSON Lines one."""
        status, from_lines, _ = call("evaluate", CONFIG, PRODUCTS, "--on", ON, "-f", "json")
        assert status == 0
        status, from_array, _ = call(
            "evaluate", CONFIG, "examples/products.json", "--on", ON, "-f", "json"
        )
        assert status == 0
        assert json.loads(from_array) == json.loads(from_lines)
        assert len(json.loads(from_lines)) == 40

    def test_account_filter(self, call: Any) -> None:
        """``--account`` evaluates on that account only."""
        status, out, _ = call(
            "evaluate", CONFIG, PRODUCTS, "--on", ON, "-f", "jsonl", "--account", "tiktok-us"
        )
        assert status == 0
        rows = [json.loads(line) for line in out.splitlines()]
        assert [row["account"] for row in rows] == ["tiktok-us"] * 20

    def test_unknown_account(self, call: Any) -> None:
        """An unknown ``--account`` is a usage error (2) listing the known ones."""
        assert call("evaluate", CONFIG, PRODUCTS, "--account", "amazon-us") == (
            2,
            "",
            f"{CONFIG}: unknown account 'amazon-us' (known: ali-us, tiktok-us)\n",
        )

    def test_configuration_without_accounts(self, call: Any, tmp_path: Path) -> None:
        """A configuration with no account has nothing to evaluate: exit 1."""
        name = write(tmp_path / "config.json", '{"version": 1}')
        assert call("evaluate", name, PRODUCTS) == (
            1,
            "",
            f"{name}: the configuration has no accounts to evaluate\n",
        )

    def test_default_day_is_today_in_utc(self, call: Any, tmp_path: Path) -> None:
        """Without ``--on``, prices are for today (UTC), the same day for every product."""
        from datetime import UTC, datetime, timedelta

        today = datetime.now(UTC).date()
        special = product(
            "S",
            special_price="5.00",
            special_from=today.isoformat(),
            special_to=(today + timedelta(days=1)).isoformat(),
        )
        name = write(tmp_path / "p.jsonl", jsonl(special))
        status, out, _ = call("evaluate", CONFIG, name, "-a", "ali-us", "-f", "jsonl")
        assert status == 0
        assert json.loads(out)["price"] == "5.00"
        assert (
            call(
                "evaluate", CONFIG, name, "-a", "ali-us", "-f", "jsonl", "--on", today.isoformat()
            )[1]
            == out
        )

    def test_bad_date(self, call: Any) -> None:
        """``--on`` that is not a date is a usage error (2)."""
        status, out, err = call("evaluate", CONFIG, PRODUCTS, "--on", "2026-13-01")
        assert (status, out) == (2, "")
        assert "Invalid value for '--on': '2026-13-01' is not a date (use YYYY-MM-DD)" in err

    def test_bad_configuration(self, call: Any) -> None:
        """A configuration with errors stops before any product: every error, exit 1."""
        status, out, err = call("evaluate", "examples/bad/config.json", PRODUCTS)
        assert (status, out) == (1, "")
        assert len(err.splitlines()) == 3

    def test_bad_products_end_to_end(self) -> None:
        """Malformed JSON (line and column), an invalid product and a failed price: every
        product still appears, the others are evaluated, and the exit status is 1."""
        status, rows, err = evaluate_rows(
            CONFIG, "examples/bad/products.jsonl", "--on", ON, "--account", "ali-us"
        )
        assert status == 1
        name = "examples/bad/products.jsonl"
        assert err.splitlines() == [
            f"{name}: line 2, column 69: invalid JSON: Expecting ',' delimiter",
            f"{name}: line 3: expected a boolean, got a string @ $.stock.in_stock",
            f"{name}: 5 products, 5 rows, 3 failed",
        ]
        assert [(row["sku"], row["error"]) for row in rows] == [
            ("24-MB01", None),
            (None, "invalid_json: line 2, column 69: invalid JSON: Expecting ',' delimiter"),
            (
                "24-UG06",
                "invalid_product: line 3: expected a boolean, got a string @ $.stock.in_stock",
            ),
            (
                "24-WG080",
                "missing_price: no usable price for SKU '24-WG080': 'price' is null",
            ),
            ("MT07", None),
        ]
        assert rows[3]["quantity"] == 0
        assert rows[3]["price"] is None
        assert rows[4]["price"] == "22.00"

    def test_failed_pricing_only(self, call: Any, tmp_path: Path) -> None:
        """A product whose price fails is a row with its error; the others are evaluated; exit 1."""
        name = write(
            tmp_path / "p.jsonl",
            jsonl(product("A"), product("B", price=None), product("C")),
        )
        status, out, err = call("evaluate", CONFIG, name, "-a", "ali-us", "-f", "csv", "--on", ON)
        assert status == 1
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [row["sku"] for row in rows] == ["A", "B", "C"]
        assert [row["price"] for row in rows] == ["10.00", "", "10.00"]
        assert rows[1]["error"].startswith("missing_price: ")
        assert err == f"{name}: 3 products, 3 rows, 1 failed\n"

    def test_empty_products_file(self) -> None:
        """An empty products file is one clear line and exit 1 (end to end)."""
        completed = run("evaluate", CONFIG, "/dev/null", "-f", "json")
        assert completed.returncode == 1
        assert completed.stdout == "[]\n"
        assert completed.stderr == "/dev/null: no products (the file is empty)\n"

    @pytest.mark.parametrize("text", ["", "\n\n  \n", "[]", " [ ]\n"])
    def test_no_products(self, call: Any, tmp_path: Path, text: str) -> None:
        """Blank files and empty arrays hold no products: exit 1."""
        name = write(tmp_path / "p.json", text)
        assert call("evaluate", CONFIG, name, "-f", "csv") == (
            1,
            ",".join(
                [
                    "sku",
                    "account",
                    "template",
                    "quantity",
                    "quantity_rule",
                    "price",
                    "currency",
                    "main_image",
                    "image_count",
                    "error",
                    "kind",
                    "parent",
                    "detail",
                ]
            )
            + "\n",
            f"{name}: no products (the file is empty)\n",
        )

    def test_missing_products_file(self, call: Any) -> None:
        """A missing products file is a usage error (2) naming it."""
        assert call("evaluate", CONFIG, "missing.jsonl") == (2, "", "missing.jsonl: no such file\n")

    def test_malformed_array_stops_with_one_line(self, call: Any, tmp_path: Path) -> None:
        """A JSON array that breaks stops with one line (file, line, column); the output so far
        stays well formed; exit 1."""
        text = json.dumps([product("A"), product("B")], indent=2)
        text = text.replace('"sku": "B",', '"sku": "B"')
        name = write(tmp_path / "p.json", text)
        status, out, err = call("evaluate", CONFIG, name, "-a", "ali-us", "-f", "json")
        assert status == 1
        assert [row["sku"] for row in json.loads(out)] == ["A"]
        assert err == f"{name}: line 11, column 5: invalid JSON: Expecting ',' delimiter\n"

    def test_workers_give_the_serial_output(self, tmp_path: Path) -> None:
        """``--workers 2`` writes byte for byte what one process writes, problems included."""
        lines = [json.dumps(product(f"P-{n}", stock={"qty": n % 7})) for n in range(1_100)]
        lines[3] = '{"sku": "BAD", "price": "x"}'
        lines[700] = "{broken"
        name = write(tmp_path / "p.jsonl", "\n".join(lines) + "\n")
        serial = run("evaluate", CONFIG, name, "--on", ON, "-f", "jsonl")
        pooled = run("evaluate", CONFIG, name, "--on", ON, "-f", "jsonl", "--workers", "2")
        assert (pooled.returncode, pooled.stdout, pooled.stderr) == (
            serial.returncode,
            serial.stdout,
            serial.stderr,
        )
        assert serial.returncode == 1
        assert serial.stderr.splitlines() == [
            f"{name}: line 4: expected money (a decimal number), got the string 'x' @ $.price",
            (
                f"{name}: line 701, column 2: invalid JSON: Expecting property name enclosed"
                " in double quotes"
            ),
            f"{name}: 1100 products, 2198 rows, 2 failed",
        ]

    def test_workers_with_an_array(self, call: Any) -> None:
        """A JSON array is parsed here and evaluated on the workers, with the same rows."""
        args = ("evaluate", CONFIG, "examples/products.json", "--on", ON, "-f", "json")
        assert call(*args, "-j", "2") == call(*args)

    def test_workers_with_a_malformed_array(self, call: Any, tmp_path: Path) -> None:
        """On workers too, the products before the break in an array are written, then the
        error line."""
        text = json.dumps([product("A"), product("B"), product("C")], indent=2)
        text = text.replace('"sku": "C",', '"sku": "C"')
        name = write(tmp_path / "p.json", text)
        status, out, err = call(
            "evaluate", CONFIG, name, "-a", "ali-us", "-f", "json", "--workers", "2"
        )
        assert status == 1
        assert [row["sku"] for row in json.loads(out)] == ["A", "B"]
        assert err == f"{name}: line 18, column 5: invalid JSON: Expecting ',' delimiter\n"

    def test_workers_must_be_positive(self, call: Any) -> None:
        """``--workers 0`` is a usage error."""
        status, _, err = call("evaluate", CONFIG, PRODUCTS, "--workers", "0")
        assert status == 2
        assert "0 is not in the range x>=1" in err

    def test_output_file(self, call: Any, tmp_path: Path) -> None:
        """``-o FILE`` writes the rows there; stdout stays empty."""
        target = tmp_path / "out.csv"
        status, out, err = call("evaluate", CONFIG, PRODUCTS, "-f", "csv", "-o", str(target))
        assert (status, out) == (0, "")
        assert err == f"{PRODUCTS}: 20 products, 40 rows, 0 failed; written to {target}\n"
        assert len(list(csv.DictReader(io.StringIO(target.read_text("utf-8"))))) == 40

    def test_output_file_in_missing_directory(self, call: Any, tmp_path: Path) -> None:
        """An output file that cannot be created is a usage error (2)."""
        target = tmp_path / "nowhere" / "out.csv"
        assert call("evaluate", CONFIG, PRODUCTS, "-o", str(target)) == (
            2,
            "",
            f"{target}: no such file\n",
        )

    def test_standard_input(self) -> None:
        """``-`` reads the products from standard input."""
        completed = run(
            "evaluate", CONFIG, "-", "-a", "ali-us", "-f", "jsonl", stdin=jsonl(product("A"))
        )
        assert completed.returncode == 0, completed.stderr
        assert json.loads(completed.stdout)["sku"] == "A"
        assert completed.stderr == "-: 1 products, 1 rows, 0 failed\n"

    def test_table_off_a_terminal_is_plain_text(self, call: Any) -> None:
        """The default table format, off a terminal, is plain aligned text with no escape codes."""
        status, out, _ = call("evaluate", CONFIG, PRODUCTS, "--on", ON, "-a", "ali-us")
        assert status == 0
        lines = out.splitlines()
        assert lines[0].split() == [
            "sku",
            "account",
            "template",
            "quantity",
            "quantity_rule",
            "price",
            "currency",
            "main_image",
            "image_count",
            "error",
            "kind",
            "parent",
            "detail",
        ]
        assert lines[1].split() == [
            "24-MB01",
            "ali-us",
            "bags",
            "20",
            "above_threshold",
            "39.99",
            "USD",
            "/m/b/mb01-blue-1.jpg",
            "3",
            "-",
            "product",
            "-",
            "-",
        ]
        assert len(lines) == 21
        assert "\x1b" not in out

    def test_no_progress_bar_when_piped(self) -> None:
        """Piped (stdout and stderr), stderr holds the summary only: no progress bar."""
        completed = run("evaluate", CONFIG, PRODUCTS, "-f", "jsonl", "-o", os.devnull)
        assert completed.returncode == 0
        assert completed.stderr == (
            f"{PRODUCTS}: 20 products, 40 rows, 0 failed; written to {os.devnull}\n"
        )

    @pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
    def test_progress_bar_on_a_terminal(self, tmp_path: Path) -> None:
        """With stderr on a terminal and the rows going to a file, a progress bar is drawn."""
        import pty

        leader, follower = pty.openpty()
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
        env.pop("NO_COLOR", None)
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "policy_engine.cli", "evaluate", CONFIG, PRODUCTS),
                *("-f", "jsonl", "-o", str(tmp_path / "out.jsonl")),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=follower,
            cwd=ROOT,
            env=env,
        )
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        os.close(leader)
        assert process.wait(timeout=60) == 0
        text = shown.decode("utf-8", "replace")
        assert "products" in text.replace(f"{PRODUCTS}: 20 products", "")
        assert "\x1b[" in text
        assert (tmp_path / "out.jsonl").read_text("utf-8").count("\n") == 40

    def test_forced_progress(self, call: Any, tmp_path: Path) -> None:
        """``--progress`` draws the bar even when stderr is not a terminal."""
        items = [product(f"S{index}") for index in range(600)]
        name = write(tmp_path / "p.jsonl", jsonl(*items))
        status, out, err = call("evaluate", CONFIG, name, "-f", "jsonl", "--progress")
        assert status == 0
        assert len(out.splitlines()) == 1200
        assert name in err
        assert "600 products" in err


# --------------------------------------------------------------------------------------- explain


class TestExplain:
    """``policy-engine explain CONFIG PRODUCTS --sku S``."""

    def test_example_end_to_end(self) -> None:
        """Every step of every part, per account, and the sync decision for a new product."""
        completed = run("explain", CONFIG, "examples/products.json", "--sku", "24-MB06", "--on", ON)
        assert completed.returncode == 0, completed.stderr
        out = completed.stdout
        assert out.startswith("24-MB06  Rival Field Messenger  (examples/products.json line ")
        assert out.count("\naccount ") == 2
        assert "      - store quantity 25 is above the threshold 10: lists 20\n" in out
        assert "      - price ending 0.99 (up): 51.99\n" in out
        assert "  images    3 [attribute] main /m/b/mb06-gray-marketplace.jpg\n" in out
        assert "  sync      upload on creation; fields: images, price, quantity\n" in out

    def test_text_in_process(self, call: Any) -> None:
        """The text names the file and line, then each account's parts with their steps."""
        status, out, err = call(
            "explain", CONFIG, PRODUCTS, "--sku", "24-UG06", "-a", "tiktok-us", "--on", ON
        )
        assert (status, err) == (0, "")
        assert out.splitlines()[:9] == [
            f"24-UG06  Affirm Water Bottle  ({PRODUCTS} line 7)",
            "",
            "account tiktok-us",
            "  template  everything",
            "      - listing template 'everything' matches the product",
            "  quantity  50 [stock]",
            "      - a buffer of 5 is kept for the store: 145 left",
            "      - store quantity 150: lists the sellable 145",
            "      - capped at the maximum quantity 50 (was 145)",
        ]
        assert "  price     7.00 USD" in out

    def test_json(self, call: Any) -> None:
        """``--json`` gives the full outcome and sync decision of each account."""
        status, out, _ = call(
            "explain", CONFIG, PRODUCTS, "--sku", "24-UG06", "--json", "-a", "ali-us", "--on", ON
        )
        assert status == 0
        data = json.loads(out)
        assert (data["sku"], data["line"]) == ("24-UG06", 7)
        [account] = data["accounts"]
        assert account["outcome"]["quantity"]["quantity"] == 50
        assert account["sync"]["action"] == "upload"

    def test_failed_price_exits_1(self, call: Any) -> None:
        """A product whose price fails is explained with its error, and exits 1."""
        status, out, err = call(
            "explain", CONFIG, "examples/bad/products.jsonl", "--sku", "24-WG080", "-a", "ali-us"
        )
        assert status == 1
        assert "  price     ERROR missing_price\n" in out
        assert "- no usable price for SKU '24-WG080': 'price' is null" in out
        # The unreadable line might have been the product asked for: it is reported.
        assert "line 2, column 69: invalid JSON" in err

    def test_product_without_template(self, call: Any, tmp_path: Path) -> None:
        """A product no template matches is explained as not listed."""
        data = json.loads((EXAMPLES / "config.json").read_text("utf-8"))
        data["templates"] = data["templates"][:1]
        config = write(tmp_path / "config.json", json.dumps(data))
        status, out, _ = call("explain", config, PRODUCTS, "--sku", "24-UG06", "-a", "ali-us")
        assert status == 0
        assert "  template  none: the product is not listed\n" in out
        assert "      - no listing template's condition matches the product\n" in out

    def test_unknown_sku(self, call: Any) -> None:
        """An unknown SKU is one line and exit 1."""
        assert call("explain", CONFIG, PRODUCTS, "--sku", "NOPE") == (
            1,
            "",
            f"{PRODUCTS}: no product with SKU 'NOPE'\n",
        )

    def test_unknown_sku_with_unreadable_products(self, call: Any) -> None:
        """When some products could not be read, the message says so."""
        status, _, err = call("explain", CONFIG, "examples/bad/products.jsonl", "--sku", "NOPE")
        assert status == 1
        assert err.splitlines()[-1] == (
            "examples/bad/products.jsonl: no product with SKU 'NOPE' (1 products could not be read)"
        )

    def test_empty_file(self, call: Any) -> None:
        """An empty products file: exit 1."""
        assert call("explain", CONFIG, os.devnull, "--sku", "A")[0] == 1

    def test_sku_is_required(self, call: Any) -> None:
        """``--sku`` is required: a usage error (2)."""
        status, _, err = call("explain", CONFIG, PRODUCTS)
        assert status == 2
        assert "Missing option '--sku'" in err


# --------------------------------------------------------------------------------------- preview


@pytest.fixture
def edited_config(tmp_path: Path) -> str:
    """The example configuration with the threshold's ``above`` raised from 20 to 30."""
    data = json.loads((EXAMPLES / "config.json").read_text("utf-8"))
    data["inventory_policies"]["threshold"]["threshold"]["above"] = 30
    return write(tmp_path / "new.json", json.dumps(data))


class TestPreview:
    """``policy-engine preview OLD NEW PRODUCTS``."""

    def test_end_to_end(self, edited_config: str) -> None:
        """Every listing whose quantity changes, before and after; exit 0."""
        completed = run("preview", CONFIG, edited_config, PRODUCTS, "--on", ON, "-f", "jsonl")
        assert completed.returncode == 0, completed.stderr
        rows = [json.loads(line) for line in completed.stdout.splitlines()]
        assert {(row["sku"], row["what"]) for row in rows} == {
            ("24-MB01", "quantity"),
            ("24-MB06", "quantity"),
        }
        assert len(rows) == 4
        assert rows[0] == {
            "sku": "24-MB01",
            "account": "ali-us",
            "what": "quantity",
            "before": {"quantity": 20, "rule": "above_threshold"},
            "after": {"quantity": 30, "rule": "above_threshold"},
        }
        assert completed.stderr == f"{PRODUCTS}: 20 products, 4 changes, 0 failed\n"

    def test_table(self, call: Any, edited_config: str) -> None:
        """The table shows each change briefly."""
        status, out, _ = call("preview", CONFIG, edited_config, PRODUCTS, "--on", ON)
        assert status == 0
        assert out.splitlines()[:2] == [
            "sku      account    what      before                after",
            "24-MB01  ali-us     quantity  20 [above_threshold]  30 [above_threshold]",
        ]

    def test_every_kind_of_change(self, call: Any, tmp_path: Path) -> None:
        """Template, price, images and an account added show as their own rows."""
        data = json.loads((EXAMPLES / "config.json").read_text("utf-8"))
        data["pricing_policies"]["regular"]["currency"] = "EUR"
        data["image_policies"]["store"]["gallery_limit"] = 1
        data["templates"][1]["condition"] = "color == 'Blue'"
        data["accounts"].append(
            {"id": "ali-2", "channel": "aliexpress", "sync_policy": "aliexpress"}
        )
        new = write(tmp_path / "new.json", json.dumps(data))
        products_file = write(
            tmp_path / "p.jsonl",
            jsonl(
                product("A", images=[{"file": "a.jpg"}, {"file": "b.jpg"}]),
                product("X", price=None, categories=["Gear/Bags"]),
            ),
        )
        status, out, _ = call("preview", CONFIG, new, products_file, "--on", ON, "-f", "csv")
        assert status == 0
        rows = list(csv.DictReader(io.StringIO(out)))
        brief = {
            (row["sku"], row["account"], row["what"]): (row["before"], row["after"]) for row in rows
        }
        assert brief[("A", "ali-us", "price")] == ("10.00 USD", "10.00 EUR")
        assert brief[("A", "ali-us", "images")] == ("a.jpg, b.jpg", "a.jpg")
        assert brief[("A", "ali-2", "listing")] == ("-", "listed")
        assert ("X", "ali-us", "price") not in brief  # the same error before and after

    def test_sync_policy_change(self, call: Any, tmp_path: Path) -> None:
        """A sync policy edit shows as a ``sync`` row: the fields sent on upload and update."""
        data = json.loads((EXAMPLES / "config.json").read_text("utf-8"))
        for policy in data["sync_policies"].values():
            policy["inventory_price_sync"] = False
        new = write(tmp_path / "new.json", json.dumps(data))
        products_file = write(tmp_path / "p.jsonl", jsonl(product("A")))
        status, out, _ = call("preview", CONFIG, new, products_file, "--on", ON, "-f", "csv")
        assert status == 0
        rows = [row for row in csv.DictReader(io.StringIO(out)) if row["what"] == "sync"]
        assert rows
        before, after = rows[0]["before"], rows[0]["after"]
        assert before.startswith("upload: ")
        assert "update: " in before
        assert "quantity" in before.split("update: ")[1]
        assert "quantity" not in after.split("update: ")[1]

    def test_template_change(self, call: Any, tmp_path: Path) -> None:
        """A product moving to another template shows a template row."""
        data = json.loads((EXAMPLES / "config.json").read_text("utf-8"))
        data["templates"][1]["condition"] = "color == 'Blue'"
        new = write(tmp_path / "new.json", json.dumps(data))
        status, out, _ = call("preview", CONFIG, new, PRODUCTS, "--on", ON, "-f", "json")
        assert status == 0
        changes = json.loads(out)
        assert {
            "sku": "MT07",
            "account": "ali-us",
            "what": "template",
            "before": "apparel",
            "after": "everything",
        } in changes

    def test_price_error_and_images_briefly(self, call: Any, tmp_path: Path) -> None:
        """A price turning into an error, and an empty gallery, are shown in words."""
        data = json.loads((EXAMPLES / "config.json").read_text("utf-8"))
        data["pricing_policies"]["regular"]["price_attribute"] = "msrp"
        data["pricing_policies"]["regular"]["fallback_to_price"] = False
        new = write(tmp_path / "new.json", json.dumps(data))
        products_file = write(tmp_path / "p.jsonl", jsonl(product("A")))
        status, out, _ = call("preview", CONFIG, new, products_file, "--on", ON)
        assert status == 0
        assert "10.00 USD  error missing_price" in out

    def test_bad_product(self, call: Any) -> None:
        """A product that cannot be loaded is reported; the others are compared; exit 1."""
        status, _, err = call("preview", CONFIG, CONFIG, "examples/bad/products.jsonl")
        assert status == 1
        assert (
            err.splitlines()[-1] == "examples/bad/products.jsonl: 5 products, 0 changes, 2 failed"
        )

    def test_no_products(self, call: Any) -> None:
        """An empty products file: exit 1."""
        assert call("preview", CONFIG, CONFIG, os.devnull)[0] == 1


# ---------------------------------------------------------------------------------------- schema


@pytest.fixture
def schemas() -> Any:
    """The library's schema module (the command prints what it gives)."""
    from policy_engine import _schema

    return _schema


class TestSchema:
    """``policy-engine schema [KIND]``."""

    def test_configuration_schema_end_to_end(self, schemas: Any) -> None:
        """Without a kind: the configuration's JSON Schema, as the library gives it."""
        completed = run("schema")
        assert completed.returncode == 0, completed.stderr
        assert json.loads(completed.stdout) == json.loads(json.dumps(schemas.json_schema(None)))

    def test_each_kind(self, call: Any, schemas: Any) -> None:
        """Each kind prints its schema."""
        for kind in schemas.SCHEMA_KINDS:
            status, out, _ = call("schema", kind)
            assert status == 0
            assert json.loads(out) == json.loads(json.dumps(schemas.json_schema(kind)))

    def test_unknown_kind(self, call: Any, schemas: Any) -> None:
        """An unknown kind is a usage error (2) listing the kinds; so does the help."""
        known = ", ".join(schemas.SCHEMA_KINDS)
        assert call("schema", "nope") == (2, "", f"schema: unknown kind 'nope' (known: {known})\n")
        status, out, _ = call("schema", "--help")
        assert status == 0
        assert " ".join(out.split()).count("inventory_policy, pricing_policy") == 1

    def test_output_file(self, call: Any, schemas: Any, tmp_path: Path) -> None:
        """``-o FILE`` writes the schema there."""
        target = tmp_path / "stock.json"
        assert call("schema", "stock", "-o", str(target)) == (0, "", "")
        assert json.loads(target.read_text("utf-8"))["title"] == "Stock"


# -------------------------------------------------------------------------------- quantity-curve


THRESHOLD_CURVE = """\
inventory policy 'threshold' (Threshold 10: list 20 above, 2 below), store quantity 0 to 12
  threshold 10 (above: 20, below: 2)

store qty  listed  rule
        0       0  out_of_stock
      1-9       2  below_threshold
       10      10  at_threshold
    11-12      20  above_threshold

listed quantity by store quantity (each █ is 1)
 0 | 0
 1 |██ 2
 2 |██ 2
 3 |██ 2
 4 |██ 2
 5 |██ 2
 6 |██ 2
 7 |██ 2
 8 |██ 2
 9 |██ 2
10 |██████████ 10  <- threshold 10
11 |████████████████████ 20
12 |████████████████████ 20
"""


class TestQuantityCurve:
    """``policy-engine quantity-curve CONFIG POLICY_ID --max N``."""

    def test_table_and_chart_end_to_end(self) -> None:
        """The seed's threshold rule as a table of runs and a text chart."""
        completed = run("quantity-curve", CONFIG, "threshold", "--max", "12")
        assert (completed.returncode, completed.stderr) == (0, "")
        assert completed.stdout == THRESHOLD_CURVE

    def test_plot_svg_end_to_end(self, call: Any, tmp_path: Path) -> None:
        """``--plot curve.svg`` draws the curve with the threshold; the same bytes every time."""
        first, second = tmp_path / "a.svg", tmp_path / "b.svg"
        completed = run("quantity-curve", CONFIG, "threshold", "--max", "30", "--plot", str(first))
        assert completed.returncode == 0, completed.stderr
        assert completed.stderr == f"{first}: written\n"
        svg = first.read_text("utf-8")
        assert svg.startswith("<?xml")
        assert "threshold 10" in svg
        assert "above_threshold" in svg
        assert (
            call("quantity-curve", CONFIG, "threshold", "--max", "30", "--plot", str(second))[0]
            == 0
        )
        assert second.read_bytes() == first.read_bytes()

    def test_plot_png_marks_buffer_and_cap(self, call: Any, tmp_path: Path) -> None:
        """A PNG is written for a policy with a buffer and a cap, and long curves too."""
        target = tmp_path / "curve.png"
        status, _, _ = call(
            "quantity-curve", CONFIG, "stock", "--max", "500", "--plot", str(target)
        )
        assert status == 0
        assert target.read_bytes().startswith(b"\x89PNG")
        svg = tmp_path / "curve.svg"
        assert call("quantity-curve", CONFIG, "stock", "--max", "60", "--plot", str(svg))[0] == 0
        text = svg.read_text("utf-8")
        assert "buffer 5" in text
        assert "max quantity 50" in text

    def test_plot_suffix(self, call: Any) -> None:
        """Only .svg and .png can be drawn: a usage error (2) otherwise."""
        assert call("quantity-curve", CONFIG, "stock", "--max", "5", "--plot", "curve.pdf") == (
            2,
            "",
            "curve.pdf: --plot draws .svg or .png files (got '.pdf')\n",
        )

    def test_plot_without_matplotlib(self, call: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without the plot extra, ``--plot`` says what to install (exit 2)."""
        import importlib.util

        real = importlib.util.find_spec
        monkeypatch.setattr(
            importlib.util,
            "find_spec",
            lambda name, *a: None if name == "matplotlib" else real(name, *a),
        )
        assert call("quantity-curve", CONFIG, "stock", "--max", "5", "--plot", "c.svg") == (
            2,
            "",
            "--plot needs matplotlib: install the plot extra: pip install 'policy-engine[plot]'\n",
        )

    def test_plot_to_missing_directory(self, call: Any, tmp_path: Path) -> None:
        """A picture that cannot be written is a usage error (2) naming the file."""
        target = tmp_path / "nowhere" / "c.svg"
        status, _, err = call(
            "quantity-curve", CONFIG, "stock", "--max", "5", "--plot", str(target)
        )
        assert status == 2
        assert err == f"{target}: no such file\n"

    def test_json_and_csv(self, call: Any) -> None:
        """``--format json`` and ``csv`` list every point."""
        status, out, _ = call("quantity-curve", CONFIG, "threshold", "--max", "11", "-f", "json")
        assert status == 0
        points = json.loads(out)
        assert points[10] == {"store_quantity": 10, "quantity": 10, "rule": "at_threshold"}
        assert len(points) == 12
        status, out, _ = call("quantity-curve", CONFIG, "threshold", "--max", "11", "-f", "csv")
        assert out.splitlines()[:2] == ["store_quantity,quantity,rule", "0,0,out_of_stock"]

    def test_long_curves_are_sampled(self, call: Any) -> None:
        """A long curve's chart is sampled (keeping the changes), and its table stays short."""
        status, out, _ = call("quantity-curve", CONFIG, "stock", "--max", "20000")
        assert status == 0
        table, chart = out.split("\n\nlisted quantity by store quantity")
        assert table.splitlines()[-4:] == [
            "        0       0  out_of_stock",
            "      1-5       0  stock",
            "     6-55    1-50  stock",
            " 56-20000      50  stock",
        ]
        assert chart.splitlines()[0] == " (each █ is 2, 46 of 20001 points)"
        assert "\n   55 |█████████████████████████ 50  <- max quantity 50\n" in chart
        assert "\n20000 |█████████████████████████ 50\n" in chart

    def test_long_tables_are_cut(self, call: Any, tmp_path: Path) -> None:
        """A table of more than 60 runs shows the first and last 30."""
        data = json.loads((EXAMPLES / "config.json").read_text("utf-8"))
        data["inventory_policies"]["stock"] = {"title": "Half", "buffer": 5, "percentage": 50}
        name = write(tmp_path / "config.json", json.dumps(data))
        status, out, _ = call("quantity-curve", name, "stock", "--max", "300")
        assert status == 0
        lines = out.splitlines()
        assert lines[1] == "  buffer 5; 50% of the stock"
        # 0, 1-6, then 147 pairs (7-8 list 1, 9-10 list 2…): 149 runs, 89 left out.
        assert lines[4:7] == [
            "        0       0  out_of_stock",
            "      1-6       0  stock",
            "      7-8       1  stock",
        ]
        assert lines[34] == "      ...  (89 more rows; --format csv lists every point)"
        assert lines[64] == "  299-300     147  stock"

    def test_msi_and_other_settings_described(self, call: Any) -> None:
        """The heading names the settings that shape the curve."""
        status, out, _ = call("quantity-curve", CONFIG, "warehouse", "--max", "3")
        assert status == 0
        assert out.splitlines()[1] == "  buffer 1; MSI (us_warehouse)"

    def test_unknown_policy(self, call: Any) -> None:
        """An unknown policy id is a usage error (2) listing the known ones."""
        assert call("quantity-curve", CONFIG, "nope", "--max", "5") == (
            2,
            "",
            f"{CONFIG}: unknown inventory policy 'nope' (known: stock, threshold, warehouse)\n",
        )

    @pytest.mark.parametrize("maximum", ["-1", "100001", "ten"])
    def test_bad_maximum(self, call: Any, maximum: str) -> None:
        """``--max`` outside 0-100000 is a usage error (2)."""
        status, _, err = call("quantity-curve", CONFIG, "stock", "--max", maximum)
        assert status == 2
        assert "Invalid value for '--max'" in err

    def test_ascii_terminal(self) -> None:
        """Where the output cannot encode block characters, bars are drawn with ``#``."""
        from policy_engine import InventoryPolicy, quantity_curve
        from policy_engine.cli._chart import curve_text

        policy = InventoryPolicy(title="Plain")
        text = curve_text("plain", policy, quantity_curve(policy, 2), encoding="ascii")
        assert text.splitlines()[1] == "  lists the store quantity"
        assert text.endswith("0 | 0\n1 |# 1\n2 |## 2\n")
        assert "(each # is 1)" in text


# ------------------------------------------------------------------------------------ docs/cli.md


CLI_PAGE = ROOT / "docs" / "cli.md"


def page_examples() -> list[tuple[str, str]]:
    """Each ``$ policy-engine …`` command of docs/cli.md with the output shown under it."""
    examples: list[tuple[str, str]] = []
    text = CLI_PAGE.read_text(encoding="utf-8")
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL):
        for chunk in block.split("$ ")[1:]:
            command, _, shown = chunk.partition("\n")
            examples.append((command, shown))
    return examples


class TestDocumentation:
    """docs/cli.md shows what the commands print."""

    @pytest.mark.parametrize(("command", "shown"), page_examples(), ids=lambda x: x[:60])
    def test_example_output(self, command: str, shown: str, tmp_path: Path) -> None:
        """The command prints what the page shows (stdout and stderr, as on a terminal)."""
        import shlex
        import shutil

        shutil.copytree(EXAMPLES, tmp_path / "examples")
        program, *args = shlex.split(command)
        assert program == "policy-engine"
        completed = subprocess.run(
            [sys.executable, "-m", "policy_engine.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            cwd=tmp_path,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"},
            check=False,
        )
        printed = [line.rstrip() for line in completed.stdout.splitlines()]
        assert printed == shown.splitlines()

    def test_every_command_is_shown(self) -> None:
        """The page runs every command but the bundled demo and the schemas."""
        shown = {shlex_command.split()[1] for shlex_command, _ in page_examples()}
        assert shown == {
            "check",
            "evaluate",
            "explain",
            "preview",
            "quantity-curve",
            "stock-sync",
            "test",
        }

    def test_picture_is_there(self) -> None:
        """The page's picture of a curve is an SVG drawn by ``--plot``."""
        assert (
            (ROOT / "docs" / "images" / "quantity-curve.svg").read_text("utf-8").startswith("<?xml")
        )


# ------------------------------------------------------------------------------ reading products


def read_all(path: Path, chunk: int | None = None) -> list[tuple[int, Any]]:
    """Every (line, product or problem) of a file, reading in chunks of ``chunk`` bytes."""
    from unittest import mock

    with mock.patch.object(cli_io, "_CHUNK", chunk or cli_io._CHUNK):
        reader = ProductReader(str(path))
        items = list(reader)
        assert reader.count == len(items)
        assert reader.bytes_read == path.stat().st_size
        return items


def _not_utf8(line: int, column: int, reason: str) -> LoadProblem:
    return LoadProblem(
        line=line, column=column, code="invalid_json", messages=(f"not UTF-8 text ({reason})",)
    )


def _invalid_json(line: int, message: str) -> LoadProblem:
    return LoadProblem(line=line, code="invalid_json", messages=(message,))


def read_error(path: Path, chunk: int | None = None) -> list[str]:
    with pytest.raises(CliError) as caught:
        read_all(path, chunk)
    assert caught.value.status == 1
    return caught.value.lines


class TestProductReader:
    """Products streamed from JSON arrays and JSON Lines."""

    def test_chunks_of_lines(self, tmp_path: Path) -> None:
        """JSON Lines come in chunks of raw numbered lines (blank ones skipped), which decode to
        what iterating gives."""
        name = write(tmp_path / "p.jsonl", jsonl(product("A")) + "\n" + "{\n" + jsonl(product("C")))
        reader = ProductReader(name)
        chunks = list(reader.chunks(2))
        assert [
            (lines, [(n, raw.strip(), first) for n, raw, first in entries])
            for lines, entries in chunks
        ] == [
            (True, [(1, json.dumps(product("A")).encode(), True), (3, b"{", False)]),
            (True, [(4, json.dumps(product("C")).encode(), False)]),
        ]
        assert reader.count == 3
        decoded = [
            (number, cli_io.decode_line(number, raw, first=first))
            for _, lines in chunks
            for number, raw, first in lines
        ]
        assert decoded == list(ProductReader(name))

    def test_chunks_of_an_array_that_breaks(self, tmp_path: Path) -> None:
        """An array comes parsed, in chunks; when it breaks, the products read before the break
        come first, then the error."""
        text = json.dumps([product("A"), product("B"), product("C")]).replace('"C",', '"C"')
        name = write(tmp_path / "p.json", text)
        chunks = ProductReader(name).chunks(2)
        first = next(chunks)
        assert (first[0], [item.sku for _, item in first[1]]) == (False, ["A", "B"])
        with pytest.raises(CliError):
            next(chunks)
        chunks = ProductReader(name).chunks(5)
        assert [item.sku for _, item in next(chunks)[1]] == ["A", "B"]
        with pytest.raises(CliError):
            next(chunks)

    def test_worker_side_of_evaluate(self) -> None:
        """What a worker does with a chunk equals what evaluate does product by product."""
        from policy_engine.cli import _app

        config = load_config(EXAMPLES / "config.json")
        setup = (config, ACCOUNTS, datetime.date(2026, 11, 23))
        lines = (EXAMPLES / "products.jsonl").read_bytes().splitlines(keepends=True)[:3]
        chunk = (True, [(n, raw, n == 1) for n, raw in enumerate(lines, 1)] + [(9, b"[", False)])
        encoded = pickle.dumps(setup)
        results = pickle.loads(_app.run_evaluate_chunk(encoded, pickle.dumps(chunk)))
        again = pickle.loads(_app.run_evaluate_chunk(encoded, pickle.dumps(chunk)))
        assert results == again == _app._evaluate_chunk(setup, chunk)
        assert [len(rows) for rows, _, _ in results] == [2, 2, 2, 1]
        assert results[3][1:] == ("line 9, column 2: invalid JSON: Expecting value", 1)
        parsed = [(n, item) for n, item in ProductReader(str(EXAMPLES / "products.json"))][:2]
        from_array = _app._evaluate_chunk(setup, (False, parsed))
        assert from_array == results[:2]

    @settings(max_examples=25)
    @given(
        items=st.lists(products(), max_size=6),
        indent=st.sampled_from([None, 0, 1, 4]),
        chunk=st.sampled_from([1, 3, 17, 64, 1 << 16]),
    )
    def test_array_round_trip(self, items: list[Product], indent: int | None, chunk: int) -> None:
        """Any products written as a JSON array read back equal, each with the line it starts
        on, whatever the layout and however the reads cut the text."""
        import tempfile

        data = [unstructure(item) for item in items]
        text = json.dumps(data, indent=indent, ensure_ascii=indent is None)
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "p.json"
            path.write_text(text, encoding="utf-8")
            read = read_all(path, chunk)
        assert [item for _, item in read] == items
        if indent:
            starts = [n for n, line in enumerate(text.split("\n"), 1) if line == " " * indent + "{"]
            assert [line for line, _ in read] == starts

    @settings(max_examples=25)
    @given(items=st.lists(products(), max_size=6), chunk=st.sampled_from([1, 5, 1 << 16]))
    def test_lines_round_trip(self, items: list[Product], chunk: int) -> None:
        """Any products written as JSON Lines read back equal, numbered by line."""
        import tempfile

        text = "\n".join(json.dumps(unstructure(item), ensure_ascii=False) for item in items)
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "p.jsonl"
            path.write_text(text, encoding="utf-8")
            read = read_all(path, chunk)
        assert read == list(enumerate(items, start=1))

    def test_lines_blank_bom_and_crlf(self, tmp_path: Path) -> None:
        """A byte-order mark, CRLF endings and blank lines are fine; line numbers count them."""
        path = tmp_path / "p.jsonl"
        path.write_bytes(b'\xef\xbb\xbf{"sku": "A"}\r\n\r\n   \n{"sku": "B"}')
        assert [(line, item.sku) for line, item in read_all(path, 4)] == [(1, "A"), (4, "B")]

    def test_lines_problems(self, tmp_path: Path) -> None:
        """Each bad line is a problem with its line (and column); reading goes on."""
        path = tmp_path / "p.jsonl"
        path.write_bytes(
            b'{"sku": "A"}\n'
            b'{"sku": "B", "sku": "C"}\n'
            b'{"sku": "\xff"}\n'
            b"42\n"
            b'{"sku": "", "price": "x"}\n'
            b'{"sku": "D"}\n'
        )
        read = read_all(path)
        assert read[0] == (1, Product(sku="A"))
        assert read[1] == (
            2,
            LoadProblem(
                line=2,
                code="invalid_json",
                messages=("invalid JSON: duplicate keys 'sku' in an object",),
            ),
        )
        assert read[2] == (
            3,
            LoadProblem(
                line=3,
                column=10,
                code="invalid_json",
                messages=("not UTF-8 text (invalid start byte)",),
            ),
        )
        assert read[3] == (
            4,
            LoadProblem(
                line=4, code="invalid_product", messages=("expected an object, got an integer @ $",)
            ),
        )
        line, problem = read[4]
        assert isinstance(problem, LoadProblem)
        assert (line, problem.sku, problem.code) == (5, "", "invalid_product")
        assert problem.describe().startswith("line 5: must not be empty @ $.sku; ")
        assert read[5] == (6, Product(sku="D"))

    def test_pretty_printed_object_hint(self, tmp_path: Path) -> None:
        """A single pretty-printed object gets a hint about the accepted formats."""
        path = tmp_path / "p.json"
        path.write_text('{\n  "sku": "A"\n}\n', encoding="utf-8")
        _, first = read_all(path)[0]
        assert isinstance(first, LoadProblem)
        assert first.describe() == (
            "line 1, column 2: invalid JSON: Expecting property name enclosed in double quotes"
            " (products are a JSON array or JSON Lines: one object per line)"
        )

    def test_array_problem_paths(self, tmp_path: Path) -> None:
        """An invalid element's problems carry its index in the path and its line."""
        path = tmp_path / "p.json"
        path.write_text('[\n{"sku": "A"},\n{"sku": "B",\n "stock": {"qty": true}}\n]', "utf-8")
        assert read_all(path)[1] == (
            3,
            LoadProblem(
                line=3,
                code="invalid_product",
                messages=("expected a quantity (a number), got a boolean @ $[1].stock.qty",),
                sku="B",
            ),
        )

    @pytest.mark.parametrize(
        ("text", "error"),
        [
            ("[1,2", "line 1, column 5: invalid JSON: the file ends inside the array"),
            ('[{"sku": "A"}] x', "line 1, column 16: invalid JSON: extra data after the array"),
            ('[{"sku": "A"},]', "line 1, column 15: invalid JSON: Expecting value"),
            ("[", "line 1, column 2: invalid JSON: Expecting value"),
            ("[\n  tru]", "line 2, column 3: invalid JSON: Expecting value"),
            (
                '[{"a": 1} {"b": 2}]',
                "line 1, column 11: invalid JSON: expected ',' or ']' after an array element",
            ),
            (
                '[{"sku": "A", "sku": "A"}]',
                "line 1, column 2: invalid JSON: duplicate keys 'sku' in an object",
            ),
            (
                '[{"sku": "unterminated',
                "line 1, column 10: invalid JSON: Unterminated string starting at",
            ),
            ("[" * 2_001, "line 1, column 2002: invalid JSON: the file ends inside the array"),
        ],
    )
    def test_malformed_arrays(self, tmp_path: Path, text: str, error: str) -> None:
        """A malformed array stops with one line: the file, the line and column, the problem,
        however the reads cut the text."""
        path = tmp_path / "p.json"
        path.write_text(text, encoding="utf-8")
        for chunk in (1, 2, 7, 1 << 16):
            assert read_error(path, chunk) == [f"{path}: {error}"]

    def test_array_not_utf8(self, tmp_path: Path) -> None:
        """Bytes that are not UTF-8 inside an array element make that element a problem at
        their line and column; the elements around it are read, however the reads cut it."""
        path = tmp_path / "p.json"
        path.write_bytes(b'[{"sku": "A"},\n {"sku": "\xff\xfe"},\n {"name": "\xc3"}, {"sku": "B"}]')
        for chunk in (1, 2, 7, 1 << 16):
            assert read_all(path, chunk) == [
                (1, Product(sku="A")),
                (2, _not_utf8(2, 11, "invalid start byte")),
                (3, _not_utf8(3, 12, "invalid continuation byte")),
                (3, Product(sku="B")),
            ]

    def test_array_not_utf8_between_elements(self, tmp_path: Path) -> None:
        """Bytes that are not UTF-8 between elements stop the array at their real position,
        after the elements before them, with a pointer to JSON Lines."""
        path = tmp_path / "p.json"
        path.write_bytes(b'[{"sku": "A"},\n\xff {"sku": "B"}]')
        with pytest.raises(CliError) as caught:
            list(ProductReader(str(path)))
        assert caught.value.lines == [
            (
                f"{path}: line 2, column 1: not UTF-8 text (invalid start byte); a JSON array"
                " cannot be read past it (JSON Lines can: one product per line)"
            )
        ]
        reader = iter(ProductReader(str(path)))
        assert next(reader) == (1, Product(sku="A"))

    @pytest.mark.parametrize("array", [False, True], ids=["json-lines", "json-array"])
    def test_values_the_json_parser_cannot_read(self, tmp_path: Path, array: bool) -> None:
        """A product nested 100,000 levels deep, an integer of 5,000 digits, a list nested
        100,000 deep: each is that item's problem, and every other item is read."""
        items = [
            '{"sku": "A"}',
            '{"sku": "D", "x": ' + "[" * 100_000 + '"]{[\\\\"' + "]" * 100_000 + "}",
            '{"sku": "Q", "stock": {"qty": ' + "9" * 5_000 + "}}",
            "[" * 100_000 + '"' + "x" * 100_000 + '"' + "]" * 100_000,
            "-" + "9" * 5_000,
            '{"sku": "B"}',
        ]
        path = tmp_path / ("p.json" if array else "p.jsonl")
        path.write_text("[" + ",\n".join(items) + "]" if array else "\n".join(items), "utf-8")
        deep = f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels"
        digits = f"invalid JSON: an integer of more than {sys.get_int_max_str_digits()} digits"
        for chunk in (7, 1 << 16):
            assert read_all(path, chunk) == [
                (1, Product(sku="A")),
                (2, _invalid_json(2, f"{deep} (100001)")),
                (3, _invalid_json(3, digits)),
                (4, _invalid_json(4, f"{deep} (100000)")),
                (5, _invalid_json(5, digits)),
                (6, Product(sku="B")),
            ]

    def test_array_strings_with_brackets_and_escapes(self, tmp_path: Path) -> None:
        """Brackets, commas, escaped quotes and multi-byte characters inside strings are data."""
        names = ['a], ["b', 'quote " and \\ backslash', "naïve café ☕", "\u00e9" * 40]
        data = [{"sku": f"S{index}", "name": name} for index, name in enumerate(names)]
        path = tmp_path / "p.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        for chunk in (1, 2, 3, 1 << 16):
            assert [item.name for _, item in read_all(path, chunk)] == names

    def test_large_element(self, tmp_path: Path) -> None:
        """An element much larger than a read is read whole."""
        data = [{"sku": "A", "name": "x" * 300_000}, {"sku": "B"}]
        path = tmp_path / "p.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        assert [item.sku for _, item in read_all(path)] == ["A", "B"]

    def test_sizes(self, tmp_path: Path) -> None:
        """The reader knows the file's size (for a progress bar) and the bytes read so far."""
        path = tmp_path / "p.jsonl"
        path.write_text(jsonl(product("A"), product("B")), encoding="utf-8")
        reader = ProductReader(str(path))
        sizes = []
        for line, _ in reader:
            sizes.append((line, reader.size, reader.bytes_read))
        size = path.stat().st_size
        assert sizes == [(1, size, size), (2, size, size)]


# ---------------------------------------------------------------------------------------- output


class TestWriters:
    """Row writers stream their rows."""

    COLUMNS = ("name", "count", "note")

    def test_table_sizes_columns_on_the_first_rows_then_streams(self) -> None:
        """Past the window the columns keep their widths and rows are written at once."""
        out = io.StringIO()
        writer = TableWriter(out, self.COLUMNS, lambda row: row, numeric=("count",), window=2)
        writer.write({"name": "a", "count": 1, "note": None})
        writer.write({"name": "bb", "count": 22, "note": "x"})
        assert out.getvalue() == ""
        writer.write({"name": "c", "count": 3, "note": "y"})
        writer.write({"name": "dddd", "count": 4444, "note": "z"})
        writer.close()
        assert out.getvalue().splitlines() == [
            "name  count  note",
            "a         1  -",
            "bb       22  x",
            "c         3  y",
            "dddd   4444  z",
        ]

    def test_rich_table_on_a_terminal(self) -> None:
        """On a terminal, a table that fits the window is drawn by rich."""
        out = io.StringIO()
        console = rich_console(out, force=True)
        assert console is not None
        writer = make_writer("table", out, self.COLUMNS, numeric=("count",), console=console)
        writer.write({"name": "a", "count": 1, "note": [1, "b"]})
        writer.close()
        text = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
        assert "name" in text
        assert '[1, "b"]' in text

    def test_no_console_off_a_terminal(self) -> None:
        """Off a terminal there is no rich console: tables are plain text."""
        assert rich_console(io.StringIO()) is None

    def test_json_and_jsonl(self) -> None:
        """JSON is an array written element by element; JSON Lines one object per line."""
        out = io.StringIO()
        writer = make_writer("json", out, self.COLUMNS)
        writer.close()
        assert out.getvalue() == "[]\n"
        out = io.StringIO()
        writer = make_writer("json", out, self.COLUMNS)
        writer.write({"name": "a"})
        writer.write({"name": "b"})
        writer.close()
        assert json.loads(out.getvalue()) == [{"name": "a"}, {"name": "b"}]
        out = io.StringIO()
        writer = make_writer("jsonl", out, self.COLUMNS)
        writer.write({"name": "é"})
        writer.close()
        assert out.getvalue() == '{"name": "é"}\n'

    def test_csv(self) -> None:
        """CSV has a header; a missing value is an empty field; booleans and lists are JSON."""
        out = io.StringIO()
        writer = make_writer("csv", out, self.COLUMNS)
        writer.write({"name": "a,b", "count": True, "note": None})
        writer.write({"name": "c", "count": 2, "note": {"k": [1]}})
        writer.close()
        assert out.getvalue() == 'name,count,note\n"a,b",true,\nc,2,"{""k"": [1]}"\n'


# ------------------------------------------------------------------------------------ edge cases


class TestEdges:
    """Interruptions, closed pipes, standard input and the rarer branches, in process."""

    @pytest.mark.parametrize("suffix", [".jsonl", ".json"])
    def test_unreadable_values_in_process(self, call: Any, tmp_path: Path, suffix: str) -> None:
        """A product nested 100,000 levels deep and a quantity of 5,000 digits are rows with
        their error, between the rows of the products around them; exit 1, no traceback."""
        items = [
            json.dumps(product("A")),
            '{"sku": "D", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
            '{"sku": "Q", "stock": {"qty": ' + "9" * 5_000 + "}}",
            json.dumps(product("B")),
        ]
        text = "[" + ",\n".join(items) + "]" if suffix == ".json" else "\n".join(items)
        name = write(tmp_path / f"p{suffix}", text)
        for workers in ("1", "2"):
            status, out, err = call(
                "evaluate", CONFIG, name, "-a", "ali-us", "-f", "jsonl", "-j", workers
            )
            assert status == 1
            rows = [json.loads(line) for line in out.splitlines()]
            assert [row["sku"] for row in rows] == ["A", None, None, "B"]
            assert [row["price"] for row in rows] == ["10.00", None, None, "10.00"]
            assert err.splitlines() == [
                f"{name}: line 2: invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels (100001)",
                f"{name}: line 3: invalid JSON: an integer of more than 4300 digits",
                f"{name}: 4 products, 4 rows, 2 failed",
            ]

    def test_load_problems_in_process(self, call: Any, tmp_path: Path) -> None:
        """Products that cannot be read are rows with their error, on stderr too; exit 1."""
        name = write(tmp_path / "p.jsonl", '{"sku": "A"\n{"sku": "B", "price": "1.00"}\n')
        status, out, err = call("evaluate", CONFIG, name, "-a", "ali-us", "-f", "jsonl")
        assert status == 1
        rows = [json.loads(line) for line in out.splitlines()]
        assert [row["sku"] for row in rows] == [None, "B"]
        assert err.splitlines()[0] == (
            f"{name}: line 1, column 12: invalid JSON: Expecting ',' delimiter"
        )

    def test_standard_input_in_process(self, call: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """``-`` reads standard input (and leaves it open)."""
        stdin = io.TextIOWrapper(io.BytesIO(jsonl(product("A"), product("B")).encode()))
        monkeypatch.setattr(sys, "stdin", stdin)
        status, out, _ = call("evaluate", CONFIG, "-", "-a", "ali-us", "-f", "jsonl")
        assert status == 0
        assert len(out.splitlines()) == 2
        assert not stdin.closed

    def test_leading_blank_space_longer_than_a_read(self, tmp_path: Path) -> None:
        """Blank space before the first product may span several reads."""
        path = tmp_path / "p.json"
        path.write_text(" \n" * 50 + '[{"sku": "A"}]', encoding="utf-8")
        assert read_all(path, 8) == [(51, Product(sku="A"))]

    def test_template_and_images_in_a_table(self, call: Any, tmp_path: Path) -> None:
        """A table shows a template change as the ids, an emptied gallery in words."""
        data = json.loads((EXAMPLES / "config.json").read_text("utf-8"))
        data["templates"][1]["condition"] = "color == 'Blue'"
        data["image_policies"]["store"]["default_image"] = "x.jpg"
        new = write(tmp_path / "new.json", json.dumps(data))
        products_file = write(tmp_path / "p.jsonl", jsonl(product("T", categories=["Men/Tops"])))
        status, out, _ = call("preview", CONFIG, new, products_file, "--on", ON, "-a", "ali-us")
        assert status == 2  # preview has no --account: a usage error
        status, out, _ = call("preview", CONFIG, new, products_file, "--on", ON)
        assert status == 0
        assert out.splitlines()[:4] == [
            "sku  account    what      before            after",
            "T    ali-us     template  apparel           everything",
            "T    ali-us     quantity  0 [out_of_stock]  0 [stock]",
            "T    ali-us     images    no images         x.jpg",
        ]

    def test_settings_in_words(self) -> None:
        """Every setting that shapes a curve is named in its heading."""
        from policy_engine import InventoryPolicy, MsiSettings
        from policy_engine.cli._chart import settings_text

        policy = InventoryPolicy(
            title="All",
            default_quantity=3,
            cap_at_stock=True,
            default_when_out_of_stock=True,
            msi=MsiSettings(salable=True),
        )
        assert settings_text(policy) == (
            "capped at the sellable stock; MSI (every source, salable quantity);"
            " default quantity 3 when out of stock"
        )

    def test_interrupted(self, call: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Ctrl-C during a command ends it with status 130 and one line, no traceback."""
        from policy_engine.cli import _app

        def interrupt(name: str) -> Any:
            raise KeyboardInterrupt

        monkeypatch.setattr(_app, "load_configuration", interrupt)
        status, _, err = call("check", CONFIG)
        assert status == 130
        assert err.splitlines()[-1] == "interrupted"

    def test_interrupted_outside_a_command(
        self, call: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Ctrl-C outside click's handling ends with status 130 too."""
        from policy_engine.cli import _app

        def interrupt(argv: Any) -> int:
            raise KeyboardInterrupt

        monkeypatch.setattr(_app, "run", interrupt)
        assert call("check", CONFIG) == (130, "", "interrupted\n")

    def test_closed_pipe(self, tmp_path: Path) -> None:
        """When the reader of the output goes away (``| head -1``), the command stops quietly."""
        name = write(tmp_path / "p.jsonl", jsonl(*(product(f"S{i}") for i in range(3000))))
        process = subprocess.Popen(
            [sys.executable, "-m", "policy_engine.cli", "evaluate", CONFIG, name, "-f", "jsonl"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        assert json.loads(process.stdout.readline())["sku"] == "S0"
        process.stdout.close()
        assert process.wait(timeout=120) == 1
        assert b"Traceback" not in process.stderr.read()
        process.stderr.close()


class TestExplainPriceSet:
    """``explain`` shows the extra prices of a pricing policy with ``outputs``."""

    def test_extra_prices_and_what_is_not_sent(self, call: Any, tmp_path: Path) -> None:
        """Each extra price is a line with its steps; one not sent is listed with why."""
        data = json.loads((EXAMPLES / "config.json").read_text("utf-8"))
        data["pricing_policies"]["regular"]["outputs"] = {
            "list_price": {"source": "value", "value": "9.5"},
            "map": {"price": {"source": "value", "value": "6.50"}, "expose": True},
            "business": {
                "price": {"source": "main"},
                "tiers": [{"quantity": 10, "percent_off": 10}],
            },
            "best_offer": {
                "accept": {
                    "source": "main",
                    "adjustments": [{"kind": "fixed_decrement", "amount": 1}],
                },
                "decline": {"source": "value", "value": 5},
            },
            "promotion": {"price": {"source": "main"}, "kind": "clearance"},
            "sale": {
                "price": {"source": "value", "value": "5"},
                "starts": "2026-11-01",
                "ends": "2026-11-30",
            },
        }
        config = write(tmp_path / "config.json", json.dumps(data))
        status, out, _ = call(
            "explain", config, PRODUCTS, "--sku", "24-UG06", "-a", "ali-us", "--on", ON
        )
        assert status == 0
        assert (
            "  price     7.00 USD\n"
            "      - base price 7.00 from 'price'\n"
            "  sale      6.50 USD (2026-11-01 to 2026-11-30)\n"
            "      - sale 5.00: the value 5\n"
            "      - raised to the minimum advertised price 6.50 (was 5.00)\n"
            "  list      9.50 USD\n"
            "      - list_price 9.50: the value 9.5\n"
            "  map       6.50 USD (exposed)\n"
            "      - map 6.50: the value 6.50\n"
            "  business  7.00 USD, 6.50 from 10\n"
            "      - business 7.00: the main price 7.00\n"
            "      - 10% off from 10 units: 6.50\n"
            "  offers    accept 6.00, decline 5.00 USD\n"
            "      - best_offer 6.00: the main price 7.00, minus 1\n"
            "      - best_offer 5.00: the value 5\n"
            "  not sent\n"
            "      - no promotion: 7.00 is not below the main price 7.00\n"
        ) in out
        status, out, _ = call(
            "explain", config, PRODUCTS, "--sku", "24-UG06", "-a", "ali-us", "--on", ON, "--json"
        )
        prices = json.loads(out)["accounts"][0]["outcome"]["prices"]
        assert prices["map"] == {
            "amount": "6.50",
            "expose": True,
            "steps": [
                {
                    "code": "extra_price",
                    "args": ["map", "the value", "6.50", "", "6.50"],
                    "message": "map 6.50: the value 6.50",
                }
            ],
        }
