"""Strategies for conditions (being written)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def conditions(**_: Any) -> st.SearchStrategy[Any]:
    raise NotImplementedError


def condition_texts(**_: Any) -> st.SearchStrategy[Any]:
    raise NotImplementedError


def condition_trees(**_: Any) -> st.SearchStrategy[Any]:
    raise NotImplementedError
