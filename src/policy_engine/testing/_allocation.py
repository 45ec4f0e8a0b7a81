"""Strategies for allocation across channels."""

from __future__ import annotations

from hypothesis import strategies as st

from policy_engine._allocation import AccountAllocation, AllocationPolicy, AllocationStrategy
from policy_engine.testing._models import SOURCE_CODES

__all__ = ["ACCOUNT_IDS", "account_allocations", "allocation_policies"]

#: The account ids the allocation strategies name (eBay, Amazon, TikTok Shop and a spare).
ACCOUNT_IDS = ("ebay", "amazon", "tiktok", "walmart")


def account_allocations(
    *, sources: bool | None = None, max_reserve: int = 50
) -> st.SearchStrategy[AccountAllocation]:
    """One account's allocation settings; ``sources=False`` draws from every source always,
    ``True`` from one to three of the strategy source codes."""
    codes = st.lists(st.sampled_from(SOURCE_CODES), min_size=1, max_size=3, unique=True).map(tuple)
    every: st.SearchStrategy[tuple[str, ...]] = st.just(())
    chosen = (every | codes) if sources is None else (codes if sources else every)
    locations = st.dictionaries(
        st.sampled_from(SOURCE_CODES), st.sampled_from(("loc-1", "loc-2", "loc-3")), max_size=3
    )
    return st.builds(
        AccountAllocation,
        reserve=st.integers(min_value=0, max_value=max_reserve),
        weight=st.integers(min_value=0, max_value=10),
        sources=chosen,
        locations=locations,
    )


@st.composite
def allocation_policies(
    draw: st.DrawFn,
    *,
    strategy: AllocationStrategy | str | None = None,
    accounts: tuple[str, ...] = ACCOUNT_IDS,
    sources: bool | None = None,
) -> AllocationPolicy:
    """Allocation sections over ``accounts``; pin ``strategy`` or ``sources`` to narrow them."""
    chosen = (
        draw(st.sampled_from(AllocationStrategy))
        if strategy is None
        else AllocationStrategy(strategy)
    )
    named = draw(st.lists(st.sampled_from(accounts), unique=True, max_size=len(accounts)))
    settings = {key: draw(account_allocations(sources=sources)) for key in named}
    priority = draw(st.lists(st.sampled_from(accounts), unique=True, max_size=len(accounts)))
    return AllocationPolicy(
        strategy=chosen,
        accounts=settings,
        priority=tuple(priority),
        salable=draw(st.booleans()),
    )
