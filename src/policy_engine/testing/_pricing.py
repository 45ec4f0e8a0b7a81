"""Strategies for pricing policies (being written)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def adjustments(**_: Any) -> st.SearchStrategy[Any]:
    raise NotImplementedError


def endings(**_: Any) -> st.SearchStrategy[Any]:
    raise NotImplementedError


def pricing_policies(**_: Any) -> st.SearchStrategy[Any]:
    raise NotImplementedError
