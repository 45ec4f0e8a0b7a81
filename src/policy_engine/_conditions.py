"""Conditions: the query language of listing templates (spec section 6). Skeleton."""

from __future__ import annotations

from policy_engine._errors import PolicyEngineError

__all__ = ["Condition", "ConditionError"]


class ConditionError(PolicyEngineError, ValueError):
    """A condition text or tree is not valid."""


class Condition:
    """A compiled query condition."""
