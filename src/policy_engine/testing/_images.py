"""Strategies for image policies (being written)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def image_policies(**_: Any) -> st.SearchStrategy[Any]:
    raise NotImplementedError
