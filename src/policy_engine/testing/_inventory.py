"""Strategies for inventory policies."""

from __future__ import annotations

from hypothesis import strategies as st

from policy_engine._inventory import InventoryPolicy, MsiSettings, Threshold
from policy_engine.testing._models import SOURCE_CODES

__all__ = ["inventory_policies", "msi_settings", "thresholds"]


def thresholds(*, max_value: int = 200) -> st.SearchStrategy[Threshold]:
    """Threshold rules with values up to ``max_value``."""
    levels = st.integers(min_value=0, max_value=max_value)
    return st.builds(Threshold, value=levels, above=levels, below=levels)


def msi_settings(*, salable: bool | None = None) -> st.SearchStrategy[MsiSettings]:
    """MSI settings over the strategy source codes (sometimes naming a code stocks lack)."""
    codes = st.lists(st.sampled_from((*SOURCE_CODES, "missing_source")), max_size=3, unique=True)
    return st.builds(
        MsiSettings,
        sources=codes.map(tuple),
        salable=st.booleans() if salable is None else st.just(salable),
    )


@st.composite
def inventory_policies(
    draw: st.DrawFn,
    *,
    threshold: bool | None = None,
    msi: bool | None = None,
    caps: bool | None = None,
    default_when_out_of_stock: bool | None = None,
) -> InventoryPolicy:
    """Inventory policies; ``threshold=True`` always has a threshold rule, ``False`` never.

    ``msi`` and ``caps`` (``max_quantity``/``cap_at_stock``) narrow the same way.
    """
    has_threshold = draw(st.booleans()) if threshold is None else threshold
    has_msi = draw(st.booleans()) if msi is None else msi
    has_caps = draw(st.booleans()) if caps is None else caps
    return InventoryPolicy(
        title=draw(st.sampled_from(("Default", "AliExpress stock", "Threshold"))),
        default_quantity=draw(st.integers(min_value=0, max_value=50)),
        buffer=draw(st.integers(min_value=0, max_value=50)),
        threshold=draw(thresholds()) if has_threshold else None,
        msi=draw(msi_settings()) if has_msi else None,
        percentage=draw(st.integers(min_value=1, max_value=100)),
        max_quantity=draw(st.none() | st.integers(min_value=0, max_value=500))
        if has_caps
        else None,
        cap_at_stock=draw(st.booleans()) if has_caps else False,
        default_when_out_of_stock=(
            draw(st.booleans()) if default_when_out_of_stock is None else default_when_out_of_stock
        ),
    )
