"""Models built in Python with wrong types get the same clear errors as loaded documents."""

from __future__ import annotations

import pickle
import tomllib
from decimal import Decimal
from typing import Any

import pytest

from policy_engine import (
    Account,
    ChannelDefinition,
    Configuration,
    InventoryPolicy,
    ListingTemplate,
    PolicyConfigError,
    PolicyInUseError,
    PolicyKind,
    Referrer,
    default_config,
    dump_config,
    load_config,
)
from policy_engine._validation import at_least, at_most, greater_than, in_range, non_empty


def errors(build: Any) -> list[str]:
    with pytest.raises(PolicyConfigError) as caught:
        build()
    return caught.value.errors


class TestConfigurationTypes:
    """A configuration's sections are checked for their types at construction."""

    @pytest.mark.parametrize(
        ("kwargs", "expected"),
        [
            (
                {"inventory_policies": [1]},
                "expected an object of InventoryPolicy by id, got a list @ $.inventory_policies",
            ),
            (
                {"inventory_policies": {"": InventoryPolicy(title="A")}},
                "policy ids must be non-empty strings @ $.inventory_policies",
            ),
            (
                {"inventory_policies": {"a": "x"}},
                "expected a InventoryPolicy for 'a', got a string @ $.inventory_policies",
            ),
            ({"templates": 5}, "expected a list of ListingTemplate, got an integer @ $.templates"),
            (
                {"accounts": ["x"]},
                "expected a Account, got a string in the list @ $.accounts",
            ),
            (
                {"channels": []},
                "expected an object of channel definitions, got a list @ $.channels",
            ),
            ({"channels": {"": 1}}, "channel names must be non-empty strings @ $.channels"),
            (
                {"channels": {"b2b": 1}},
                "expected a channel definition for 'b2b', got an integer @ $.channels",
            ),
            ({"version": "1"}, "expected an integer, got a string @ $.version"),
        ],
    )
    def test_wrong_types(self, kwargs: dict[str, Any], expected: str) -> None:
        """Each wrong type is reported with the section's path."""
        assert errors(lambda: Configuration(**kwargs)) == [expected]

    def test_channel_definition_fields(self) -> None:
        """Custom channel fields must be known sync fields, given as a list."""
        assert errors(lambda: ChannelDefinition(fields=5)) == [
            "expected a list of sync fields, got an integer @ $.fields"
        ]
        message = errors(lambda: ChannelDefinition(fields=["quantity", "colour"]))[0]
        assert message.startswith("unknown sync field 'colour' (known: 'quantity', 'price',")
        assert errors(lambda: ChannelDefinition(fields=[[1]])) == [
            "expected a list of sync fields, got a list @ $.fields"
        ]

    def test_template_accounts_type(self) -> None:
        """A template's accounts are a list of ids."""
        assert errors(
            lambda: ListingTemplate(
                id="t",
                title="T",
                inventory_policy="i",
                pricing_policy="p",
                image_policy="m",
                accounts=5,
            )
        ) == ["expected a list of account ids, got an integer @ $.accounts"]


class TestErrorsAndDumps:
    """Errors pickle; TOML keys and numbers are written so TOML reads them back."""

    def test_policy_in_use_error_pickles(self) -> None:
        """PolicyInUseError survives pickling with its referrers."""
        error = PolicyInUseError(
            PolicyKind.PRICING, "p", [Referrer(level="template", id="t", field="pricing_policy")]
        )
        copied = pickle.loads(pickle.dumps(error))
        assert (copied.kind, copied.policy_id, copied.referrers) == (
            error.kind,
            error.policy_id,
            error.referrers,
        )
        assert str(copied) == str(error)

    def test_toml_quotes_odd_keys(self) -> None:
        """Policy ids that are not bare TOML keys are quoted, and the document loads back."""
        config = default_config("otto")
        data = dump_config(config)
        data["pricing_policies"]["regular price €"] = data["pricing_policies"].pop("default")
        data["templates"][0]["pricing_policy"] = "regular price €"
        renamed = load_config(data)
        text = dump_config(renamed, format="toml")
        assert '[pricing_policies."regular price €"]' in text
        assert load_config(tomllib.loads(text)) == renamed


class TestCheckers:
    """Range checkers report a wrong type instead of failing on it."""

    @pytest.mark.parametrize("checker", [at_least(0), at_most(5), greater_than(0), in_range(1, 2)])
    def test_non_numbers(self, checker: Any) -> None:
        """A string, a boolean or NaN is not a number; None passes (it is optional)."""
        assert checker("3") == "expected a number, got a string"
        wrong_type: Any = True
        assert checker(wrong_type) == "expected a number, got a boolean"
        assert checker(float("nan")) == "expected a number, got a number"
        assert checker(Decimal("NaN")) == "expected a number, got a number"
        assert checker(None) is None

    def test_non_empty(self) -> None:
        """Blank strings and empty collections are empty; None passes."""
        assert non_empty("  ") == "must not be empty"
        assert non_empty(()) == "must not be empty"
        assert non_empty(("a",)) is None
        assert non_empty(None) is None

    def test_accounts_keep_ids(self) -> None:
        """An account refers to policies by id."""
        account = Account(id="a", channel="otto", sync_policy="s")
        assert account.order_policy is None
