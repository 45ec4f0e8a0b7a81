"""Sync fields, channel profiles and the change → field map (spec section 7.1).

A marketplace accepts some parts of a listing and not others: Kaufland takes quantity, price and
GPSR data; eBay also takes identifiers, fitment and business policies. A :class:`ChannelProfile`
names the :class:`SyncField` values a channel supports. The nine built-in profiles are in
:data:`BUILTIN_CHANNELS`; a configuration may add its own (spec section 8).

:data:`CHANGE_FIELDS` tells which field a changed store attribute code belongs to, so a change to
``special_price`` is sent as a ``price`` update and a change to ``color`` as an ``attributes``
update.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from policy_engine._validation import (
    Checked,
    at_least,
    check,
    describe,
    is_int_or_none,
    is_str,
    non_empty,
)

__all__ = [
    "BUILTIN_CHANNELS",
    "CHANGE_FIELDS",
    "DEFAULT_MAX_VARIANTS",
    "DEFAULT_MAX_VARIATION_ATTRIBUTES",
    "ChannelProfile",
    "SyncField",
    "ZeroQuantity",
    "channel_fields",
    "field_for_change",
    "fields_for_changes",
]


class SyncField(enum.StrEnum):
    """A part of a marketplace listing that a synchronization can send."""

    QUANTITY = "quantity"
    PRICE = "price"
    TITLE = "title"
    DESCRIPTION = "description"
    IMAGES = "images"
    IDENTIFIERS = "identifiers"
    CATEGORY = "category"
    ATTRIBUTES = "attributes"
    GPSR = "gpsr"
    SHIPPING_POLICY = "shipping_policy"
    RETURN_POLICY = "return_policy"
    FITMENT = "fitment"
    SIZE_CHART = "size_chart"
    WEIGHT = "weight"
    OTHER = "other"


_FIELD_BY_NAME: dict[str, SyncField] = {member.value: member for member in SyncField}


class ZeroQuantity(enum.StrEnum):
    """What a channel does with a listing whose quantity reaches 0 (its ``zero_quantity``).

    ``send``: the channel accepts 0 and keeps the listing (eBay with Out-Of-Stock Control,
    Amazon). ``stop``: the channel refuses 0, so the listing is deactivated instead (Etsy-like).
    ``end``: 0 ends the offer, so nothing is sent, the offer is ended and relisted when stock
    returns (Allegro-like).
    """

    SEND = "send"
    STOP = "stop"
    END = "end"


_ZERO_BY_NAME = {member.value: member for member in ZeroQuantity}


def to_zero_quantity(value: Any) -> Any:
    """Convert a ``zero_quantity`` name to the member; leave anything else for the check."""
    return _ZERO_BY_NAME.get(value, value) if type(value) is str else value


def is_zero_quantity(value: Any) -> str | None:
    """Check: a :class:`ZeroQuantity` member."""
    if isinstance(value, ZeroQuantity):
        return None
    allowed = ", ".join(repr(member.value) for member in ZeroQuantity)
    return f"must be one of {allowed} (got {value!r})"


def _sync_field_set(values: Any) -> Any:
    """Convert an iterable of field names or members to a frozenset of members.

    Values that are not field names are kept as they are, for the check to report.
    """
    if type(values) is frozenset and all(type(value) is SyncField for value in values):
        return values
    if isinstance(values, str) or not isinstance(values, Iterable):
        return values
    try:
        return frozenset(
            _FIELD_BY_NAME.get(value, value) if type(value) is str else value for value in values
        )
    except TypeError:  # an unhashable item: left for the check to report
        return values


def _check_sync_fields(values: Any) -> str | None:
    """A set of sync fields: every item a :class:`SyncField`."""
    if not isinstance(values, frozenset):
        return f"expected a list of sync fields, got {describe(values)}"
    allowed = ", ".join(repr(member.value) for member in SyncField)
    for value in sorted(values, key=str):
        if not isinstance(value, SyncField):
            return f"unknown sync field {value!r} (known: {allowed})"
    return None


def _check_optional_sync_fields(values: Any) -> str | None:
    return None if values is None else _check_sync_fields(values)


#: The most variants per listing of a built-in channel that publishes no single limit.
DEFAULT_MAX_VARIANTS = 100
#: The most variation attributes per listing of a built-in channel that publishes no limit.
DEFAULT_MAX_VARIATION_ATTRIBUTES = 3


@attrs.frozen(kw_only=True)
class ChannelProfile(Checked):
    """A marketplace channel, the listing fields it supports and its variant limits.

    Attributes:
        name: The channel's name, e.g. ``aliexpress`` (non-empty).
        fields: The :class:`SyncField` values the channel accepts (at least one).
        max_variants: The most variants one listing may have, or ``None`` for no limit.
        max_variation_attributes: The most variation attributes (size, color…) one listing may
            vary by, or ``None`` for no limit.
        zero_quantity: What the channel does at quantity 0: ``send`` (the default: it accepts
            0), ``stop`` (it refuses 0: the listing is deactivated instead) or ``end`` (0 ends
            the offer: it is ended and relisted when stock returns).
    """

    name: str = attrs.field(metadata=check(is_str, non_empty))
    fields: frozenset[SyncField] = attrs.field(
        converter=_sync_field_set, metadata=check(_check_sync_fields, non_empty)
    )
    max_variants: int | None = attrs.field(
        default=None, metadata=check(is_int_or_none, at_least(1))
    )
    max_variation_attributes: int | None = attrs.field(
        default=None, metadata=check(is_int_or_none, at_least(1))
    )
    zero_quantity: ZeroQuantity = attrs.field(
        default=ZeroQuantity.SEND, converter=to_zero_quantity, metadata=check(is_zero_quantity)
    )


def _profile(
    name: str,
    fields: str,
    max_variants: int = DEFAULT_MAX_VARIANTS,
    max_variation_attributes: int = DEFAULT_MAX_VARIATION_ATTRIBUTES,
) -> ChannelProfile:
    return ChannelProfile(
        name=name,
        fields=frozenset(SyncField(f) for f in fields.split()),
        max_variants=max_variants,
        max_variation_attributes=max_variation_attributes,
    )


#: The built-in channel profiles by name (read-only), as in the table of spec section 7.1.
#: Every built-in channel accepts quantity 0 (``zero_quantity`` ``send``); docs/channels.md
#: names the public documentation behind each.
BUILTIN_CHANNELS: Mapping[str, ChannelProfile] = MappingProxyType(
    {
        profile.name: profile
        for profile in (
            _profile("aliexpress", "quantity price title description images category attributes"),
            _profile("tiktok", "quantity price title description images category attributes gpsr"),
            _profile(
                "ebay",
                "quantity price title description images identifiers category gpsr"
                " shipping_policy return_policy fitment other",
                # eBay's published limits: 250 variations, 5 variation specifics per listing.
                max_variants=250,
                max_variation_attributes=5,
            ),
            _profile("amazon", "quantity price title description images gpsr attributes"),
            _profile("walmart", "quantity price title description images"),
            _profile("kaufland", "quantity price gpsr"),
            _profile("temu", "quantity price title description images size_chart weight category"),
            _profile("otto", "quantity price"),
            _profile("mirakl", "quantity price category attributes"),
        )
    }
)


def channel_fields(
    name: str, custom: Mapping[str, ChannelProfile] | None = None
) -> frozenset[SyncField] | None:
    """The fields a channel supports, or ``None`` for a channel nobody defined.

    ``custom`` holds a configuration's own profiles by name (spec section 8); they are looked up
    first, then the built-in profiles.

    >>> sorted(channel_fields("otto"))
    [<SyncField.PRICE: 'price'>, <SyncField.QUANTITY: 'quantity'>]
    >>> channel_fields("no-such-channel") is None
    True
    """
    if custom is not None:
        profile = custom.get(name)
        if profile is not None:
            return profile.fields
    builtin = BUILTIN_CHANNELS.get(name)
    return None if builtin is None else builtin.fields


#: Store attribute codes whose change goes out as a field other than ``attributes`` (spec 7.1).
#: Any code not listed here (``color``, ``size``, ``msrp``…) maps to ``attributes``.
CHANGE_FIELDS: Mapping[str, SyncField] = MappingProxyType(
    {
        "qty": SyncField.QUANTITY,
        "in_stock": SyncField.QUANTITY,
        "stock": SyncField.QUANTITY,
        # A disabled product lists quantity 0 (spec section 8).
        "enabled": SyncField.QUANTITY,
        "price": SyncField.PRICE,
        "special_price": SyncField.PRICE,
        "special_from": SyncField.PRICE,
        "special_to": SyncField.PRICE,
        "name": SyncField.TITLE,
        "description": SyncField.DESCRIPTION,
        "short_description": SyncField.DESCRIPTION,
        "images": SyncField.IMAGES,
        "categories": SyncField.CATEGORY,
        "sku": SyncField.IDENTIFIERS,
        "ean": SyncField.IDENTIFIERS,
        "upc": SyncField.IDENTIFIERS,
        "gtin": SyncField.IDENTIFIERS,
        "mpn": SyncField.IDENTIFIERS,
        "isbn": SyncField.IDENTIFIERS,
        "weight": SyncField.WEIGHT,
    }
)


def field_for_change(code: str) -> SyncField:
    """The field a change of one store attribute code belongs to (``attributes`` by default).

    >>> field_for_change("special_price"), field_for_change("color")
    (<SyncField.PRICE: 'price'>, <SyncField.ATTRIBUTES: 'attributes'>)
    """
    return CHANGE_FIELDS.get(code, SyncField.ATTRIBUTES)


def fields_for_changes(changed: Iterable[str]) -> frozenset[SyncField]:
    """The fields touched by a set of changed store attribute codes (spec 7.1).

    >>> sorted(field.value for field in fields_for_changes(["qty", "name", "color", "size"]))
    ['attributes', 'quantity', 'title']
    """
    get = CHANGE_FIELDS.get
    attributes = SyncField.ATTRIBUTES
    return frozenset([get(code, attributes) for code in changed])
