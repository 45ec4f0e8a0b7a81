"""Loading a whole document: every problem is reported at once, each with its JSON path."""

from __future__ import annotations

import pytest

from policy_engine import PolicyConfigError, load_config


def test_every_problem_of_a_document_at_once() -> None:
    """Unknown key, missing field, wrong type, negative buffer, NaN money, true as an integer,
    percent decrement above 100 and a cross-field rule: one error lists them all."""
    document = {
        "version": 1,
        "inventory_policies": {
            "stock": {
                "title": "Stock",
                "buffer": -1,
                "treshold": {"value": 10, "above": 20, "below": 2},
                "percentage": True,
            }
        },
        "pricing_policies": {
            "markdown": {
                "title": "Markdown",
                "adjustments": [{"kind": "percent_decrement", "amount": "150"}],
                "min_price": "NaN",
            },
            "untitled": {"currency": "EUR"},
        },
        "sync_policies": {
            "sync": {"title": "Sync", "product_update": False, "fields": "quantity"},
        },
    }
    with pytest.raises(PolicyConfigError) as caught:
        load_config(document)
    assert caught.value.errors == [
        "expected a list, got a string @ $.sync_policies.sync.fields",
        "Inventory/Price Sync depends on Product Update @ $.sync_policies.sync.inventory_price_sync",
        "must be >= 0 (got -1) @ $.inventory_policies.stock.buffer",
        "expected an integer, got a boolean @ $.inventory_policies.stock.percentage",
        "unknown field (did you mean 'threshold'?) @ $.inventory_policies.stock.treshold",
        (
            "must be <= 100 for a percent_decrement (got 150)"
            " @ $.pricing_policies.markdown.adjustments[0].amount"
        ),
        "money must be a finite number, got 'NaN' @ $.pricing_policies.markdown.min_price",
        "required field missing @ $.pricing_policies.untitled.title",
    ]
    assert str(caught.value) == "\n".join(caught.value.errors)


def test_a_rule_reading_a_failed_field_is_skipped() -> None:
    """A cross-field rule is not judged on a field that failed: no second-guess error."""
    with pytest.raises(PolicyConfigError) as caught:
        load_config({"sync_policies": {"s": {"title": "S", "product_update": "no"}}})
    assert caught.value.errors == [
        "expected a boolean, got a string @ $.sync_policies.s.product_update"
    ]


def test_references_are_checked_beside_field_errors() -> None:
    """Reference checks run with the sections that loaded, beside other sections' problems."""
    with pytest.raises(PolicyConfigError) as caught:
        load_config(
            {
                "version": "1",
                "accounts": [{"id": "a", "channel": "otto", "sync_policy": "missing"}],
            }
        )
    assert caught.value.errors == [
        "expected an integer, got a string @ $.version",
        "unknown sync policy 'missing' (known: none defined) @ $.accounts[0].sync_policy",
    ]
