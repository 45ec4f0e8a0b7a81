"""Sync fields, channel profiles and the change → field map: spec section 7.1."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine import (
    BUILTIN_CHANNELS,
    CHANGE_FIELDS,
    DEFAULT_MAX_VARIANTS,
    DEFAULT_MAX_VARIATION_ATTRIBUTES,
    ChannelProfile,
    PolicyConfigError,
    SyncField,
    channel_fields,
    field_for_change,
    fields_for_changes,
    load_config,
    structure,
    unstructure,
)

#: The table of spec 7.1, copied verbatim.
SPEC_TABLE = {
    "aliexpress": "quantity price title description images category attributes",
    "tiktok": "quantity price title description images category attributes gpsr",
    "ebay": (
        "quantity price title description images identifiers category gpsr shipping_policy"
        " return_policy fitment other"
    ),
    "amazon": "quantity price title description images gpsr attributes",
    "walmart": "quantity price title description images",
    "kaufland": "quantity price gpsr",
    "temu": "quantity price title description images size_chart weight category",
    "otto": "quantity price",
    "mirakl": "quantity price category attributes",
}


class TestSyncField:
    """The fields a synchronization can send."""

    def test_exactly_the_fifteen_fields_of_the_spec(self) -> None:
        """SyncField has exactly the spec's 15 fields, as lower-case values."""
        expected = [
            "quantity",
            "price",
            "title",
            "description",
            "images",
            "identifiers",
            "category",
            "attributes",
            "gpsr",
            "shipping_policy",
            "return_policy",
            "fitment",
            "size_chart",
            "weight",
            "other",
        ]
        assert [field.value for field in SyncField] == expected

    def test_fields_load_from_their_names(self) -> None:
        """A field loads from its lower-case name and dumps back to it."""
        assert structure("size_chart", SyncField) is SyncField.SIZE_CHART
        assert unstructure(SyncField.GPSR) == "gpsr"


class TestBuiltinChannels:
    """The nine built-in channel profiles."""

    @pytest.mark.parametrize(("name", "fields"), SPEC_TABLE.items())
    def test_profile_matches_the_spec_table(self, name: str, fields: str) -> None:
        """Each built-in profile supports exactly the fields of its row in the spec's table."""
        profile = BUILTIN_CHANNELS[name]
        assert profile.name == name
        assert profile.fields == frozenset(SyncField(field) for field in fields.split())

    def test_no_other_builtin_channel(self) -> None:
        """There are exactly the nine channels of the table."""
        assert set(BUILTIN_CHANNELS) == set(SPEC_TABLE)

    def test_builtin_profiles_are_read_only(self) -> None:
        """The built-in mapping cannot be changed by a user."""
        with pytest.raises(TypeError):
            BUILTIN_CHANNELS["otto"] = BUILTIN_CHANNELS["ebay"]  # type: ignore[index]

    def test_every_channel_supports_quantity_and_price(self) -> None:
        """Every built-in channel takes quantity and price (stock must never go stale)."""
        for profile in BUILTIN_CHANNELS.values():
            assert {SyncField.QUANTITY, SyncField.PRICE} <= profile.fields


class TestChannelProfile:
    """Custom channel profiles (spec section 8's ``channels``)."""

    def test_fields_given_by_name_become_sync_fields(self) -> None:
        """Field names given as strings are converted to SyncField members."""
        profile = ChannelProfile(name="my-shop", fields=["quantity", "price", "gpsr"])
        assert profile.fields == {SyncField.QUANTITY, SyncField.PRICE, SyncField.GPSR}
        assert all(type(field) is SyncField for field in profile.fields)

    def test_loads_and_round_trips(self) -> None:
        """A profile loads from JSON and dumps back with its fields sorted."""
        profile = structure({"name": "shop", "fields": ["price", "quantity"]}, ChannelProfile)
        assert unstructure(profile) == {
            "name": "shop",
            "fields": ["price", "quantity"],
            "max_variants": None,
            "max_variation_attributes": None,
            "zero_quantity": "send",
        }
        assert structure(unstructure(profile), ChannelProfile) == profile

    def test_variant_limits(self) -> None:
        """Built-in profiles carry variant limits: eBay's published ones, else the defaults."""
        ebay = BUILTIN_CHANNELS["ebay"]
        assert (ebay.max_variants, ebay.max_variation_attributes) == (250, 5)
        tiktok = BUILTIN_CHANNELS["tiktok"]
        assert (tiktok.max_variants, tiktok.max_variation_attributes) == (
            DEFAULT_MAX_VARIANTS,
            DEFAULT_MAX_VARIATION_ATTRIBUTES,
        )
        custom = ChannelProfile(name="shop", fields=["quantity"])
        assert (custom.max_variants, custom.max_variation_attributes) == (None, None)

    @pytest.mark.parametrize("value", [0, -1, True, 1.5])
    def test_invalid_variant_limit(self, value: object) -> None:
        """A variant limit is an integer >= 1 or null."""
        with pytest.raises(PolicyConfigError) as raised:
            structure({"name": "s", "fields": ["price"], "max_variants": value}, ChannelProfile)
        assert raised.value.errors[0].endswith("@ $.max_variants")

    def test_a_configuration_overrides_a_builtin_profile(self) -> None:
        """A configuration's channel definition replaces a built-in profile, limits included."""
        document = {
            "version": 1,
            "channels": {
                "ebay": {"fields": ["quantity", "price"], "max_variants": 50},
            },
            "sync_policies": {"s": {"title": "S"}},
            "accounts": [{"id": "e", "channel": "ebay", "sync_policy": "s"}],
        }
        profile = load_config(document).channel_profile("ebay")
        assert profile is not None
        assert (profile.max_variants, profile.max_variation_attributes) == (50, None)
        assert profile.fields == {SyncField.QUANTITY, SyncField.PRICE}

    def test_unknown_field_is_a_load_error(self) -> None:
        """An unknown field name is reported with its path."""
        with pytest.raises(PolicyConfigError) as raised:
            structure({"name": "shop", "fields": ["price", "colour"]}, ChannelProfile)
        assert raised.value.errors == [
            (
                "must be one of 'quantity', 'price', 'title', 'description', 'images',"
                " 'identifiers', 'category', 'attributes', 'gpsr', 'shipping_policy',"
                " 'return_policy', 'fitment', 'size_chart', 'weight', 'other' (got 'colour')"
                " @ $.fields[1]"
            )
        ]

    def test_unknown_field_in_python_is_reported(self) -> None:
        """Built in Python, an unknown field name is reported too."""
        with pytest.raises(PolicyConfigError) as raised:
            ChannelProfile(name="shop", fields=["price", "colour"])
        assert raised.value.errors[0].startswith("unknown sync field 'colour' (known: 'quantity'")
        assert raised.value.errors[0].endswith("@ $.fields")

    @pytest.mark.parametrize(
        ("data", "error"),
        [
            ({"name": "", "fields": ["price"]}, "must not be empty @ $.name"),
            ({"name": "shop", "fields": []}, "must not be empty @ $.fields"),
            ({"name": "shop", "fields": "price"}, "expected a list, got a string @ $.fields"),
            ({"fields": ["price"]}, "required field missing @ $.name"),
        ],
    )
    def test_invalid_profiles(self, data: dict[str, object], error: str) -> None:
        """An empty name, no field or a wrong type is a load error with its path."""
        with pytest.raises(PolicyConfigError) as raised:
            structure(data, ChannelProfile)
        assert raised.value.errors == [error]

    @pytest.mark.parametrize("fields", ["price", 5, [["price"]], None])
    def test_wrong_types_in_python_are_config_errors(self, fields: object) -> None:
        """Wrong types given in Python raise PolicyConfigError, never a bare TypeError."""
        with pytest.raises(PolicyConfigError, match=r"@ \$\.fields"):
            ChannelProfile(name="shop", fields=fields)

    def test_pickles(self) -> None:
        """A profile survives pickling (for process pools)."""
        profile = BUILTIN_CHANNELS["ebay"]
        assert pickle.loads(pickle.dumps(profile)) == profile

    @given(st.frozensets(st.sampled_from(SyncField), min_size=1), st.sampled_from(("a", "shop")))
    def test_round_trip(self, fields: frozenset[SyncField], name: str) -> None:
        """structure(unstructure(x), ChannelProfile) == x for every profile."""
        profile = ChannelProfile(name=name, fields=fields)
        assert structure(unstructure(profile), ChannelProfile) == profile


class TestChannelFields:
    """Looking up a channel's fields."""

    def test_builtin_channel(self) -> None:
        """A built-in channel's fields come from its profile."""
        assert channel_fields("otto") == frozenset({SyncField.QUANTITY, SyncField.PRICE})

    def test_unknown_channel_is_none(self) -> None:
        """A channel nobody defined has no fields (None), so the caller can report it."""
        assert channel_fields("nowhere") is None
        assert channel_fields("nowhere", {}) is None

    def test_custom_profile(self) -> None:
        """A configuration's own profile is found by name."""
        custom = {"shop": ChannelProfile(name="shop", fields=["quantity"])}
        assert channel_fields("shop", custom) == frozenset({SyncField.QUANTITY})
        assert channel_fields("ebay", custom) == BUILTIN_CHANNELS["ebay"].fields


class TestChangeFields:
    """Changed attribute codes map to fields (spec 7.1)."""

    @pytest.mark.parametrize(
        ("codes", "field"),
        [
            ("qty in_stock stock enabled", SyncField.QUANTITY),
            ("price special_price special_from special_to", SyncField.PRICE),
            ("name", SyncField.TITLE),
            ("description short_description", SyncField.DESCRIPTION),
            ("images", SyncField.IMAGES),
            ("categories", SyncField.CATEGORY),
            ("sku ean upc gtin mpn isbn", SyncField.IDENTIFIERS),
            ("weight", SyncField.WEIGHT),
            ("color size msrp marketplace_image attribute_set visibility", SyncField.ATTRIBUTES),
        ],
    )
    def test_spec_mapping(self, codes: str, field: SyncField) -> None:
        """Each code of the spec's list maps to its field; anything else to attributes."""
        for code in codes.split():
            assert field_for_change(code) is field
        assert fields_for_changes(codes.split()) == {field}

    def test_table_lists_only_non_attribute_codes(self) -> None:
        """The public table holds the 20 codes the spec names; the rest default to attributes."""
        assert len(CHANGE_FIELDS) == 20
        assert SyncField.ATTRIBUTES not in CHANGE_FIELDS.values()

    def test_nothing_changed_touches_no_field(self) -> None:
        """No changed code, no field."""
        assert fields_for_changes([]) == frozenset()

    @given(st.lists(st.text(max_size=8)))
    def test_fields_of_codes_are_the_fields_of_each_code(self, codes: list[str]) -> None:
        """fields_for_changes(codes) == {field_for_change(c) for c in codes}."""
        assert fields_for_changes(codes) == {field_for_change(code) for code in codes}
