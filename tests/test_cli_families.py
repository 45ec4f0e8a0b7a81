"""Product families on the command line: ``evaluate``, ``explain``, ``check`` and ``preview``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from policy_engine import ProductFamily, evaluate_family, load_config, structure
from policy_engine.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "examples/config.json"
FAMILIES = "examples/families.jsonl"
PRODUCTS = "examples/products.jsonl"
ON = "2026-11-23"
HOODIE, KIT = (json.loads(line) for line in (ROOT / FAMILIES).read_text("utf-8").splitlines())


@pytest.fixture
def call(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the command line in this process: ``call(*args) -> (status, stdout, stderr)``."""
    monkeypatch.chdir(ROOT)

    def _call(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return _call


def rows(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def write(path: Path, *items: Any) -> str:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return str(path)


class TestEvaluate:
    """``evaluate`` writes a family's listing row, then one row per child."""

    def test_rows_per_family_and_account(self, call: Any) -> None:
        """Each family gives, per account, its listing row and a row per child, in order."""
        status, out, err = call("evaluate", CONFIG, FAMILIES, "--on", ON, "-f", "jsonl")
        assert status == 0
        found = rows(out)
        children = [child["sku"] for child in HOODIE["children"]]
        parts = [child["sku"] for child in KIT["children"]]
        expected = [
            (sku, account)
            for family, members in (("MH01", children), ("24-WG080", parts))
            for account in ("ali-us", "tiktok-us")
            for sku in (family, *members)
        ]
        assert [(row["sku"], row["account"]) for row in found] == expected
        assert err == f"{FAMILIES}: 2 products (2 product families), 20 rows, 0 failed\n"

    def test_listing_row_is_the_family_outcome(self, call: Any) -> None:
        """The listing row carries the family's template, aggregates and kind."""
        _, out, _ = call("evaluate", CONFIG, FAMILIES, "--on", ON, "-a", "ali-us", "-f", "jsonl")
        found = rows(out)
        config = load_config(ROOT / CONFIG)
        family = structure(HOODIE, ProductFamily)
        outcome = evaluate_family(config, family, "ali-us", on=date(2026, 11, 23))
        assert outcome.price is not None
        assert found[0] == {
            "sku": "MH01",
            "account": "ali-us",
            "template": "apparel",
            "quantity": outcome.quantity,
            "quantity_rule": "family_quantity_sum",
            "price": str(outcome.price.amount),
            "currency": "USD",
            "main_image": "/m/h/mh01-gray-1.jpg",
            "image_count": 2,
            "error": None,
            "kind": "configurable",
            "parent": None,
            "detail": "3 of 5 children are variants",
        }
        assert outcome.quantity == 22
        by_sku = {row["sku"]: row for row in found}
        assert by_sku["MH01-S-Gray"]["kind"] == "variant"
        assert by_sku["MH01-S-Gray"]["parent"] == "MH01"
        assert by_sku["MH01-S-Gray"]["detail"] == "size=S, color=Gray"
        assert by_sku["MH01-XL-Gray"]["kind"] == "excluded"
        assert by_sku["MH01-XL-Gray"]["detail"] == (
            "MH01-XL-Gray is disabled in the store: it is not a variant"
        )
        assert by_sku["24-WG080"]["detail"] == "3 of 3 children are components"
        assert by_sku["24-WG080"]["quantity_rule"] == "family_quantity_bundles"
        assert by_sku["24-WG084"]["kind"] == "component"

    def test_mixed_with_products(self, call: Any, tmp_path: Path) -> None:
        """Families and products mix in one file; a product keeps its one row per account."""
        product = json.loads((ROOT / PRODUCTS).read_text("utf-8").splitlines()[0])
        name = write(tmp_path / "mixed.jsonl", product, HOODIE)
        status, out, err = call("evaluate", CONFIG, name, "--on", ON, "-a", "ali-us", "-f", "jsonl")
        assert status == 0
        found = rows(out)
        assert [row["kind"] for row in found[:2]] == ["product", "configurable"]
        assert len(found) == 1 + 1 + len(HOODIE["children"])
        assert err == f"{name}: 2 products (1 product family), 7 rows, 0 failed\n"

    def test_invalid_family_is_a_problem_row(self, call: Any, tmp_path: Path) -> None:
        """A family that does not load is one problem row naming its parent and every path;
        the next item is still evaluated and the exit status is 1."""
        bad = {"parent": {"sku": "P", "type": "configurable"}, "children": [{"sku": "P"}]}
        name = write(tmp_path / "bad.jsonl", bad, HOODIE)
        status, out, err = call("evaluate", CONFIG, name, "--on", ON, "-a", "ali-us", "-f", "jsonl")
        assert status == 1
        found = rows(out)
        assert found[0]["sku"] == "P"
        assert found[0]["error"].startswith("invalid_family: line 1: ")
        assert "@ $.children[0].sku" in found[0]["error"]
        assert found[1]["sku"] == "MH01"
        assert "1 failed" in err

    def test_unpriced_family_fails(self, call: Any, tmp_path: Path) -> None:
        """A family whose listing cannot be priced is an error row and exit status 1."""
        kit = json.loads(json.dumps(KIT))
        for child in kit["children"]:
            child["price"] = None
        name = write(tmp_path / "kit.jsonl", kit)
        status, out, _ = call("evaluate", CONFIG, name, "--on", ON, "-a", "ali-us", "-f", "jsonl")
        assert status == 1
        assert rows(out)[0]["error"].startswith("component_unpriced: ")

    def test_family_without_children(self, call: Any, tmp_path: Path) -> None:
        """A family with no children is one listing row at 0, with no detail, and no child row;
        ``explain`` shows no children list."""
        empty = {"parent": HOODIE["parent"], "children": [], "variation_attributes": ["size"]}
        name = write(tmp_path / "empty.jsonl", empty)
        status, out, _ = call("evaluate", CONFIG, name, "--on", ON, "-a", "ali-us", "-f", "jsonl")
        assert status == 1
        (row,) = rows(out)
        assert (row["quantity"], row["quantity_rule"], row["detail"]) == (
            0,
            "family_no_variant",
            None,
        )
        status, out, _ = call("explain", CONFIG, name, "--sku", "MH01", "-a", "ali-us", "--on", ON)
        assert "  children" not in out
        assert "      - no child can be listed: nothing to list" in out

    def test_family_without_a_parent_object(self, call: Any, tmp_path: Path) -> None:
        """An object whose ``parent`` is not an object is an invalid family with no SKU."""
        name = write(tmp_path / "odd.jsonl", {"parent": 1})
        status, out, _ = call("evaluate", CONFIG, name, "--on", ON, "-f", "jsonl")
        assert status == 1
        (row,) = rows(out)
        assert row["sku"] is None
        assert row["error"].startswith("invalid_family: line 1: ")

    def test_workers_give_the_serial_output(self, call: Any) -> None:
        """With ``--workers 2`` the families' rows are byte for byte the serial ones."""
        serial = call("evaluate", CONFIG, FAMILIES, "--on", ON, "-f", "jsonl")
        pooled = call("evaluate", CONFIG, FAMILIES, "--on", ON, "-f", "jsonl", "-j", "2")
        assert pooled == serial

    def test_table(self, call: Any) -> None:
        """The table shows the kind, parent and detail columns."""
        status, out, _ = call("evaluate", CONFIG, FAMILIES, "--on", ON, "-a", "ali-us")
        assert status == 0
        lines = out.splitlines()
        assert lines[0].split()[-3:] == ["kind", "parent", "detail"]
        assert lines[2].split()[-4:] == ["variant", "MH01", "size=S,", "color=Gray"]


class TestExplain:
    """``explain --sku`` on a family's SKU or a child's explains the whole family."""

    @pytest.mark.parametrize("sku", ["MH01", "MH01-L-Gray"])
    def test_text(self, call: Any, sku: str) -> None:
        """The family's steps, each child with its steps, and the creation decision."""
        status, out, _ = call("explain", CONFIG, FAMILIES, "--sku", sku, "-a", "ali-us", "--on", ON)
        assert status == 0
        lines = out.splitlines()
        assert lines[0] == (
            f"MH01  Chaz Kangeroo Hoodie  (configurable family of 5 children; {FAMILIES} line 1)"
        )
        assert "  quantity  22" in lines
        assert "  children  3 variants of 5" in lines
        assert "      - the listing's quantity is the sum of its 3 variants: 22" in lines
        assert any(line.startswith("    MH01-XL-Gray  excluded") for line in lines)
        assert "        - 16 in stock across the MSI sources us_warehouse" in lines
        assert lines[-3].startswith("  sync      upload on creation; fields: ")

    def test_json(self, call: Any) -> None:
        """``--json`` prints each account's family outcome and sync decision."""
        status, out, _ = call(
            "explain", CONFIG, FAMILIES, "--sku", "24-WG085-8", "--on", ON, "--json"
        )
        assert status == 0
        data = json.loads(out)
        assert (data["sku"], data["line"], data["family"]) == ("24-WG080", 2, "bundle")
        assert [a["outcome"]["account"] for a in data["accounts"]] == ["ali-us", "tiktok-us"]
        assert data["accounts"][0]["outcome"]["quantity"] == 7
        assert data["accounts"][0]["sync"]["action"] == "upload"

    def test_errors_and_no_template(self, call: Any, tmp_path: Path) -> None:
        """A family without a template says so; an unpriced one shows its error, exit 1."""
        kit = json.loads(json.dumps(KIT))
        for child in kit["children"]:
            child["price"] = None
        name = write(tmp_path / "kit.jsonl", kit)
        status, out, _ = call(
            "explain", CONFIG, name, "--sku", "24-WG080", "-a", "ali-us", "--on", ON
        )
        assert status == 1
        assert "  price     ERROR component_unpriced" in out
        config = json.loads((ROOT / CONFIG).read_text("utf-8"))
        for template in config["templates"]:
            template["condition"] = "sku == 'nothing'"
        other = tmp_path / "config.json"
        other.write_text(json.dumps(config), encoding="utf-8")
        status, out, _ = call(
            "explain", str(other), FAMILIES, "--sku", "MH01", "-a", "ali-us", "--on", ON
        )
        assert status == 0
        assert "  template  none: the family is not listed" in out

    def test_unknown_sku(self, call: Any) -> None:
        """A SKU in no family exits 1."""
        assert call("explain", CONFIG, FAMILIES, "--sku", "NOPE", "--on", ON)[0] == 1


class TestCheckAndPreview:
    """``check --products`` lints families; ``preview`` compares their listings."""

    def test_check_lints_families(self, call: Any, tmp_path: Path) -> None:
        """A family over its channel's variant limit is a warning of ``check --products``."""
        hoodie = json.loads(json.dumps(HOODIE))
        base = hoodie["children"][0]
        hoodie["children"] = [
            {**base, "sku": f"MH01-{n}", "attributes": {"size": str(n), "color": "Gray"}}
            for n in range(101)
        ]
        name = write(tmp_path / "big.jsonl", hoodie)
        status, out, _ = call("check", CONFIG, "--products", name)
        assert status == 0
        assert "[variants_over_channel_limit]" in out

    def test_preview_compares_families(self, call: Any, tmp_path: Path) -> None:
        """A buffer edit shows as a change of the family's listing quantity and its variants."""
        config = json.loads((ROOT / CONFIG).read_text("utf-8"))
        config["inventory_policies"]["warehouse"]["buffer"] = 3
        new = tmp_path / "new.json"
        new.write_text(json.dumps(config), encoding="utf-8")
        status, out, err = call("preview", CONFIG, str(new), FAMILIES, "--on", ON, "-f", "jsonl")
        assert status == 0
        found = rows(out)
        assert found[0] == {
            "sku": "MH01",
            "account": "ali-us",
            "what": "quantity",
            "before": 22,
            "after": 18,
        }
        assert (found[1]["what"], found[1]["after"][0]) == (
            "variants",
            {"sku": "MH01-S-Gray", "quantity": 5, "price": "52.00"},
        )
        assert [(row["account"], row["what"]) for row in found] == [
            ("ali-us", "quantity"),
            ("ali-us", "variants"),
            ("tiktok-us", "quantity"),
            ("tiktok-us", "variants"),
        ]
        assert "0 failed" in err
