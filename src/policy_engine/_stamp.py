"""The stamp of a decision: which decision it was, and which configuration and engine took it.

A :class:`Stamp` names one decision (``decision_id``), the configuration that decided it
(``config_revision``, the content hash of :func:`~policy_engine.config_revision`) and the
version of the engine. Results (:class:`~policy_engine.SyncDecision`,
:class:`~policy_engine.ListingOutcome`, :class:`~policy_engine.StockSyncPlan`,
:class:`~policy_engine.OrderPlan`) and log records carry one in their optional ``stamp``
field, so a decision can be audited and replayed later. This module holds only the model:
results in every module refer to it.
"""

from __future__ import annotations

from typing import Any

import attrs

from policy_engine._limits import MAX_ID_LENGTH
from policy_engine._serialization import OMIT_NONE
from policy_engine._validation import Checked, check, describe, text

__all__ = ["STAMP_FIELD", "Stamp", "is_stamp_or_none"]


@attrs.frozen(kw_only=True)
class Stamp(Checked):
    """Which decision a result is, and which configuration and engine version decided it.

    Attributes:
        decision_id: The decision's identifier, unique in the host's logs (a UUID, a request
            id, a message id…).
        config_revision: The content hash of the configuration that decided
            (:func:`~policy_engine.config_revision`: ``"sha256:"`` and 64 hex digits).
        engine_version: The version of policy_engine that decided.
    """

    decision_id: str = attrs.field(metadata=check(text(MAX_ID_LENGTH, required=True)))
    config_revision: str = attrs.field(metadata=check(text(MAX_ID_LENGTH, required=True)))
    engine_version: str = attrs.field(metadata=check(text(MAX_ID_LENGTH, required=True)))


def is_stamp_or_none(value: Any) -> str | None:
    """The value must be a :class:`Stamp` or ``None``."""
    if value is None or type(value) is Stamp:
        return None
    return f"expected a stamp or null, got {describe(value)}"


#: The metadata of a result's or record's ``stamp`` field: left out of the JSON form while it is
#: ``None``, so what a result dumped before stamps existed stays the same.
STAMP_FIELD: dict[str, Any] = {OMIT_NONE: True}
