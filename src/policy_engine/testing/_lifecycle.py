"""Strategies for the listing lifecycle: statuses, list/stop/relist rules, zero rules."""

from __future__ import annotations

import functools
from typing import Any

import attrs
from hypothesis import strategies as st

from policy_engine._channels import BUILTIN_CHANNELS, ChannelProfile, ZeroQuantity
from policy_engine._conditions import Condition
from policy_engine._lifecycle import ListingStatus, ListRules, RelistRules, StopRules
from policy_engine._sync import Listing, SyncPolicy
from policy_engine.testing._sync import listings, sync_policies

__all__ = [
    "RULE_CONDITIONS",
    "lifecycle_listings",
    "lifecycle_sync_policies",
    "list_rules",
    "relist_rules",
    "stop_rules",
    "zero_channel_profiles",
]

#: Rule conditions the strategies draw from: product values, listing state, the channel.
RULE_CONDITIONS = (
    "qty <= 2",
    "listing.price_managed_externally and qty <= 2",
    "listing.status == 'ended'",
    "account.channel == 'ebay'",
    "listing.last_quantity != None and listing.last_quantity > 5",
    "listing.last_price >= 10",
    "color == 'Red'",
)


_PARSED: list[Condition] = []


def _parsed(index: int) -> Condition:
    # Parsed once, on first use: a condition is immutable and compiling it is the costly part.
    if not _PARSED:
        _PARSED.extend(Condition.parse(text) for text in RULE_CONDITIONS)
    return _PARSED[index]


@functools.cache
def _conditions() -> st.SearchStrategy[Condition | None]:
    return st.none() | st.integers(min_value=0, max_value=len(RULE_CONDITIONS) - 1).map(_parsed)


@functools.cache
def list_rules() -> st.SearchStrategy[ListRules]:
    """Valid list rules (any requirement on or off, quantities up to 5, a rule condition)."""
    return st.builds(
        ListRules,
        require_enabled=st.booleans(),
        require_in_stock=st.booleans(),
        min_quantity=st.none() | st.integers(min_value=1, max_value=5),
        condition=_conditions(),
    )


@functools.cache
def stop_rules() -> st.SearchStrategy[StopRules]:
    """Valid stop rules (any rule on or off, quantities up to 5, a rule condition)."""
    return st.builds(
        StopRules,
        when_disabled=st.booleans(),
        when_out_of_stock=st.booleans(),
        max_quantity=st.none() | st.integers(min_value=0, max_value=5),
        condition=_conditions(),
    )


@functools.cache
def relist_rules() -> st.SearchStrategy[RelistRules]:
    """Valid relist rules (any requirement on or off, quantities up to 6, a rule condition)."""
    return st.builds(
        RelistRules,
        automatic=st.booleans(),
        require_enabled=st.booleans(),
        require_in_stock=st.booleans(),
        min_quantity=st.none() | st.integers(min_value=1, max_value=6),
        condition=_conditions(),
        user_stopped=st.booleans(),
    )


@st.composite
def lifecycle_sync_policies(draw: st.DrawFn, /, **options: Any) -> SyncPolicy:
    """Sync policies with drawn list, stop and relist rules and minimum shown quantity.

    ``options`` go to :func:`~policy_engine.testing.sync_policies` (``channel=``, switches…).
    """
    policy = draw(sync_policies(**options))
    return attrs.evolve(
        policy,
        list_rules=draw(list_rules()),
        stop_rules=draw(stop_rules()),
        relist_rules=draw(relist_rules()),
        minimum_shown_quantity=draw(st.none() | st.integers(min_value=1, max_value=3)),
    )


@st.composite
def lifecycle_listings(
    draw: st.DrawFn, /, *, status: ListingStatus | str | None = None, **options: Any
) -> Listing:
    """Listings with a drawn status (``None`` included); ``status`` pins it.

    ``options`` go to :func:`~policy_engine.testing.listings` (``template=``…).
    """
    listing = draw(listings(listed=True, **options))
    chosen = draw(st.none() | st.sampled_from(ListingStatus)) if status is None else status
    return attrs.evolve(listing, status=chosen)


@functools.cache
def zero_channel_profiles() -> st.SearchStrategy[ChannelProfile]:
    """Built-in channel profiles with any ``zero_quantity``, as custom channels may set it."""
    return st.builds(
        lambda profile, zero: attrs.evolve(profile, zero_quantity=zero),
        st.sampled_from(sorted(BUILTIN_CHANNELS.values(), key=lambda profile: profile.name)),
        st.sampled_from(ZeroQuantity),
    )
