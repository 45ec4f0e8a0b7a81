"""Log records and sinks: what a connector keeps of its decisions (spec section 11).

Logging is the host's storage, switched by the synchronization policy (spec 7.4, rule 5): a
:class:`~policy_engine.SyncDecision` says whether its activity (the decision and its reasons) and
its feed (what was sent) are to be recorded. The library gives the records, a :class:`LogSink`
protocol, and two sinks: :class:`JsonLinesSink` (one JSON object per line) and :class:`SqliteSink`
(standard-library ``sqlite3``, WAL mode, one transaction per batch). :func:`log_decision` and
:func:`log_stock_sync` write what the switches ask for and nothing else; :func:`sync_history`
reads a product's sync history back, newest first.

Records carry the time the caller gives them: nothing here reads a clock.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, NamedTuple, Protocol, Self, TypeAlias, runtime_checkable
from urllib.parse import quote

import attrs

from policy_engine._channels import SyncField, _check_sync_fields, _sync_field_set
from policy_engine._config import Configuration
from policy_engine._errors import PolicyConfigError, PolicyEngineError
from policy_engine._limits import MAX_INTEGER, MAX_ITEMS, MAX_JSON_DEPTH, MAX_STRING_LENGTH
from policy_engine._orders import ChannelOrder, OrderPlan
from policy_engine._serialization import (
    DUMP,
    LOAD,
    OMIT_NONE,
    Invalid,
    fail,
    load_json_value,
    structure,
    unstructure,
)
from policy_engine._stamp import STAMP_FIELD, Stamp, is_stamp_or_none
from policy_engine._steps import Step
from policy_engine._stock_sync import (
    ChannelListing,
    StockEvent,
    StockSyncPlan,
    SyncHistoryRecord,
    is_aware_datetime,
    load_aware_datetime,
)
from policy_engine._sync import ProductChange, SyncAction, SyncDecision, SyncPolicy
from policy_engine._validation import (
    Checked,
    FrozenDict,
    Problem,
    check,
    describe,
    is_bool,
    is_str,
    is_str_or_none,
    key_path,
    max_items,
    non_empty,
    raise_problems,
    shown,
)

__all__ = [
    "ActivityRecord",
    "BadLogLine",
    "BadLogLineWarning",
    "FeedRecord",
    "JsonLinesSink",
    "LogDatabaseError",
    "LogRecord",
    "LogSink",
    "LogWriteError",
    "OrderRecord",
    "PayloadValue",
    "SqliteSink",
    "activity_history",
    "activity_record",
    "feed_history",
    "feed_record",
    "log_decision",
    "log_order",
    "log_stock_sync",
    "order_history",
    "order_record",
    "read_json_lines",
    "step_with_message",
    "sync_history",
    "sync_history_json_lines",
]

#: A value of a feed record's payload: any JSON value (text, an integer, a finite number, a
#: boolean, null, and lists and objects of those, nested), kept immutable: a list is a tuple, an
#: object a read-only ``FrozenDict``. Money goes in as its decimal string (a ``Decimal`` is
#: converted), never as a float.
PayloadValue: TypeAlias = (
    str | int | float | bool | tuple["PayloadValue", ...] | FrozenDict[str, "PayloadValue"] | None
)


# ------------------------------------------------------------------------------ field checks


_ACTIONS = {member.value: member for member in SyncAction}


def _to_action(value: Any) -> Any:
    return _ACTIONS.get(value, value) if type(value) is str else value


def _is_action(value: Any) -> str | None:
    if isinstance(value, SyncAction):
        return None
    allowed = ", ".join(repr(member.value) for member in SyncAction)
    return f"must be one of {allowed} (got {value!r})"


def _step_tuple(values: Any) -> Any:
    if type(values) is tuple or isinstance(values, str) or not isinstance(values, Iterable):
        return values
    return tuple(values)


def _all_steps(values: Any) -> str | None:
    if type(values) is not tuple:
        return f"expected a list of reasons, got {describe(values)}"
    for value in values:
        if not isinstance(value, Step):
            return f"expected reasons (Step), got {describe(value)} in the list"
    return None


_TOO_MANY_KEYS = max_items(MAX_ITEMS)


def _freeze(value: Any, depth: int = 0) -> Any:
    """A JSON value made immutable: a list becomes a tuple, an object a ``FrozenDict``.

    A finite ``Decimal`` becomes its text.

    What cannot be converted (a value over the nesting or size limits, a value that is not JSON)
    is left as it is, for the check to report with its path.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value
    if kind is Decimal:
        return str(value) if value.is_finite() else value  # money as its text, never a float
    if depth >= MAX_JSON_DEPTH:
        return value
    if kind is list or kind is tuple:
        if len(value) > MAX_ITEMS:
            return value
        return tuple([_freeze(item, depth + 1) for item in value])
    if isinstance(value, Mapping) and len(value) <= MAX_ITEMS:
        return FrozenDict({key: _freeze(item, depth + 1) for key, item in value.items()})
    return value


def _to_payload(values: Any) -> Any:
    if type(values) is FrozenDict or not isinstance(values, Mapping):
        return values  # already converted, or for the check to report
    if len(values) > MAX_ITEMS:
        return values
    return FrozenDict({key: _freeze(value) for key, value in values.items()})


_SCALARS = (str, int, bool, float)


def _payload_problems(values: Any) -> Iterator[tuple[str, Problem]]:
    """Each problem of a payload: ``(key, (path inside the key's value, message))``."""
    for key, value in values.items():
        if type(key) is not str or not key:
            yield "", ("$", "payload keys must be non-empty strings")
            continue
        kind = type(value)
        if value is None or kind is bool or (kind is str and len(value) <= MAX_STRING_LENGTH):
            continue  # the most common values, checked here without a call
        if kind is int and -MAX_INTEGER <= value <= MAX_INTEGER:
            continue
        try:
            load_json_value(value)
        except Invalid as error:
            yield from ((key, problem) for problem in error.problems)


def _check_payload(values: Any) -> str | None:
    if not isinstance(values, Mapping):
        return f"expected an object, got {describe(values)}"
    if len(values) > MAX_ITEMS:
        return _TOO_MANY_KEYS(values)
    for key, (path, message) in _payload_problems(values):
        if not key:
            return message
        return f"payload {shown(key)}{path[1:]}: {message}"
    return None


def _load_payload(value: object, _: object = None) -> FrozenDict[str, PayloadValue]:
    if not isinstance(value, Mapping):
        fail(f"expected an object, got {describe(value)}")
    if len(value) > MAX_ITEMS:
        fail(_TOO_MANY_KEYS(value) or "")
    problems = [
        (f"${key_path(key)}{path[1:]}" if key else path, message)
        for key, (path, message) in _payload_problems(value)
    ]
    if problems:
        raise Invalid(problems)
    return _to_payload(value)  # type: ignore[no-any-return]


def _thaw(value: Any) -> Any:
    """The JSON form of a payload value: tuples become lists, ``FrozenDict``s plain dicts."""
    if type(value) is tuple:
        return [_thaw(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _thaw(item) for key, item in value.items()}
    return value


def _dump_payload(values: Mapping[str, PayloadValue]) -> dict[str, Any]:
    return {
        key: value if type(value) in _SCALARS or value is None else _thaw(value)
        for key, value in values.items()
    }


# ------------------------------------------------------------------------- given messages


class _GivenStep(Step):
    """A step whose message is the one it was given, not its code's template text.

    A tuple subclass cannot have slots, so the message lives in the instance's ``__dict__``. Two
    steps are equal when their codes, arguments and messages are.
    """

    _message: str

    def __new__(cls, items: tuple[Any, ...], message: str) -> _GivenStep:
        step = tuple.__new__(cls, items)
        step._message = message
        return step

    @property
    def message(self) -> str:
        """The message given for this step."""
        return self._message

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Step):
            return tuple.__eq__(self, other) and other.message == self._message
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        return (_GivenStep, (tuple(self), self._message))

    def __repr__(self) -> str:
        return f"Step(code={self[0]!r}, args={tuple(self[1:])!r}, message={self._message!r})"


def _with_message(step: Step, message: object) -> Step:
    """The step with ``message`` kept, unless it is the code's own text (then a plain step)."""
    if message is None or message == step.message:
        return step
    return _GivenStep(tuple(step), message)  # type: ignore[arg-type]


def step_with_message(step: tuple[Any, ...], message: str) -> Step:
    """A reason with a connector's own message, kept by every record, sink and reader.

    ``step`` is a :class:`~policy_engine.Step` (a decision's reason, say) or a tuple ``(code,
    *args)``; its code and arguments stay as they are and :attr:`Step.message` reads
    ``message`` instead of the code's template text. A message equal to that text gives a plain
    step.

    >>> from policy_engine import step_with_message
    >>> step = step_with_message(("price_rejected", "19.90"), "Otto refused the price 19.90 EUR")
    >>> step.code, step.args, step.message
    ('price_rejected', ('19.90',), 'Otto refused the price 19.90 EUR')

    Raises:
        PolicyConfigError: ``step`` is not a tuple starting with a text code, or ``message`` is
            not text of at most ``MAX_STRING_LENGTH`` characters.
    """
    problems: list[Problem] = []
    if type(step) is not Step and (
        not isinstance(step, tuple) or not step or type(step[0]) is not str
    ):
        problems.append(("$.step", f"expected a step (code, *args), got {describe(step)}"))
    message_problem = is_str(message)
    if message_problem is not None:
        problems.append(("$.message", message_problem))
    raise_problems(problems)
    return _with_message(step if type(step) is Step else Step(tuple(step)), message)


_TOO_MANY_REASONS = max_items(MAX_ITEMS)


def _load_reasons(value: object, _: object = None) -> tuple[Step, ...]:
    """Load a record's reasons, keeping a message that differs from the code's template text."""
    if not isinstance(value, list | tuple):
        fail(f"expected a list, got {describe(value)}")
    if len(value) > MAX_ITEMS:
        fail(_TOO_MANY_REASONS(value) or "")
    steps: list[Step] = []
    problems: list[Problem] = []
    for index, item in enumerate(value):
        try:
            step = structure(item, Step)
        except PolicyConfigError as error:
            problems.extend((f"$[{index}]{path[1:]}", message) for path, message in error.problems)
            continue
        steps.append(_with_message(step, item.get("message")))
    if problems:
        raise Invalid(problems)
    return tuple(steps)


def _dump_reasons(reasons: tuple[Step, ...]) -> list[dict[str, Any]]:
    return [{"code": step[0], "args": list(step[1:]), "message": step.message} for step in reasons]


_AT = {LOAD: load_aware_datetime, **check(is_aware_datetime)}
_STAMP = {**STAMP_FIELD, **check(is_stamp_or_none)}


def _is_change_or_none(value: Any) -> str | None:
    if value is None or type(value) is ProductChange:
        return None
    return f"expected a product change or null, got {describe(value)}"


_CHANGE = {OMIT_NONE: True, **check(_is_change_or_none)}


# ----------------------------------------------------------------------------------- records


@attrs.frozen(kw_only=True)
class ActivityRecord(Checked):
    """One entry of the activity log: a synchronization decision and why it was taken.

    Attributes:
        at: When the decision was taken (with a time zone offset; given by the caller).
        account: The account's id.
        sku: The store SKU.
        action: The decision's action (``none``, ``upload``, ``update``…).
        reasons: The decision's reasons, in order. A reason's message given by the connector
            (:func:`step_with_message`, or a ``message`` in the JSON form that differs from the
            code's template text) is kept.
        template: The decision's listing template, or ``None``.
        stamp: The decision's :class:`~policy_engine.Stamp` (its id, configuration revision
            and engine version), or ``None``.
        change: The product change the decision was taken for (its input, so that
            :func:`~policy_engine.replay` can decide it again), or ``None`` when not logged.
    """

    at: datetime = attrs.field(metadata=_AT)
    account: str = attrs.field(metadata=check(is_str, non_empty))
    sku: str = attrs.field(metadata=check(is_str, non_empty))
    action: SyncAction = attrs.field(converter=_to_action, metadata=check(_is_action))
    reasons: tuple[Step, ...] = attrs.field(
        converter=_step_tuple,
        metadata={LOAD: _load_reasons, DUMP: _dump_reasons, **check(_all_steps)},
    )
    template: str | None = attrs.field(default=None, metadata=check(is_str_or_none))
    stamp: Stamp | None = attrs.field(default=None, metadata=_STAMP)
    change: ProductChange | None = attrs.field(default=None, metadata=_CHANGE)


@attrs.frozen(kw_only=True)
class FeedRecord(Checked):
    """One entry of the feed log: what a synchronization sent to a channel.

    Attributes:
        at: When it was sent (with a time zone offset; given by the caller).
        account: The account's id.
        sku: The store SKU.
        fields: The listing fields sent.
        payload: The data sent, by name (``{"quantity": 7, "price": "19.90"}``, or a whole
            marketplace request): any JSON value (:data:`PayloadValue`), kept immutable. A
            ``Decimal`` is stored as its string, so money never becomes a float.
        stamp: The decision's :class:`~policy_engine.Stamp`, or ``None``.
    """

    at: datetime = attrs.field(metadata=_AT)
    account: str = attrs.field(metadata=check(is_str, non_empty))
    sku: str = attrs.field(metadata=check(is_str, non_empty))
    fields: frozenset[SyncField] = attrs.field(
        converter=_sync_field_set, metadata=check(_check_sync_fields)
    )
    payload: FrozenDict[str, PayloadValue] = attrs.field(
        factory=FrozenDict,
        converter=_to_payload,
        metadata={LOAD: _load_payload, DUMP: _dump_payload, **check(_check_payload)},
    )
    stamp: Stamp | None = attrs.field(default=None, metadata=_STAMP)


def _is_order_or_none(value: Any) -> str | None:
    if value is None or type(value) is ChannelOrder:
        return None
    return f"expected a channel order or null, got {describe(value)}"


def _str_tuple(values: Any) -> Any:
    if isinstance(values, list):
        return tuple(values)
    return values


def _all_str(values: Any) -> str | None:
    if type(values) is not tuple:
        return f"expected a list of strings, got {describe(values)}"
    for value in values:
        problem = is_str(value) or non_empty(value)
        if problem is not None:
            return problem
    return None


@attrs.frozen(kw_only=True)
class OrderRecord(Checked):
    """One entry of the order log: what was decided for a channel order, and why.

    Attributes:
        at: When the order was planned (with a time zone offset; given by the caller).
        account: The account the order came from.
        order_id: The channel's order id.
        create: Whether the store order is created (the plan's ``create``).
        store_order_id: The store order number, or ``None`` when skipped.
        skus: The store SKUs of its lines (the channel SKUs when the order was skipped): the
            products whose timeline shows the order.
        reasons: The plan's reasons, in order.
        stamp: The plan's :class:`~policy_engine.Stamp`, or ``None``.
        order: The channel order (the plan's input), or ``None`` when not logged.
    """

    at: datetime = attrs.field(metadata=_AT)
    account: str = attrs.field(metadata=check(is_str, non_empty))
    order_id: str = attrs.field(metadata=check(is_str, non_empty))
    create: bool = attrs.field(metadata=check(is_bool))
    store_order_id: str | None = attrs.field(default=None, metadata=check(is_str_or_none))
    skus: tuple[str, ...] = attrs.field(
        default=(), converter=_str_tuple, metadata=check(_all_str, max_items(MAX_ITEMS))
    )
    reasons: tuple[Step, ...] = attrs.field(
        default=(),
        converter=_step_tuple,
        metadata={LOAD: _load_reasons, DUMP: _dump_reasons, **check(_all_steps)},
    )
    stamp: Stamp | None = attrs.field(default=None, metadata=_STAMP)
    order: ChannelOrder | None = attrs.field(
        default=None, metadata={OMIT_NONE: True, **check(_is_order_or_none)}
    )


def order_record(
    plan: OrderPlan,
    order: ChannelOrder,
    *,
    account: str,
    at: datetime,
    keep_order: bool = True,
) -> OrderRecord:
    """The order log record of a plan: its decision, its reasons and stamp, and the order.

    ``keep_order`` keeps the channel order itself (the plan's input) in the record.
    """
    skus = [line.store_sku for line in plan.lines] or [line.sku for line in order.lines]
    return OrderRecord(
        at=at,
        account=account,
        order_id=order.id,
        create=plan.create,
        store_order_id=plan.store_order_id,
        skus=tuple(dict.fromkeys(skus)),
        reasons=plan.reasons,
        stamp=plan.stamp,
        order=order if keep_order else None,
    )


def log_order(
    sink: LogSink, plan: OrderPlan, order: ChannelOrder, *, account: str, at: datetime
) -> int:
    """Write a channel order's plan to the order log, with the order; return the count (1)."""
    return sink.write([order_record(plan, order, account=account, at=at)])


#: Any record a sink takes.
LogRecord: TypeAlias = ActivityRecord | FeedRecord | SyncHistoryRecord | OrderRecord

#: The ``"type"`` of each record in a JSON Lines log.
_TYPE_NAMES: Mapping[type[Any], str] = {
    ActivityRecord: "activity",
    FeedRecord: "feed",
    SyncHistoryRecord: "history",
    OrderRecord: "order",
}
_TYPES_BY_NAME: Mapping[str, type[Any]] = {name: cls for cls, name in _TYPE_NAMES.items()}


def activity_record(
    decision: SyncDecision,
    *,
    account: str,
    sku: str,
    at: datetime,
    change: ProductChange | None = None,
) -> ActivityRecord:
    """The activity record of a synchronization decision.

    The record carries the decision's stamp, and ``change`` (the decision's input) when given.
    """
    return ActivityRecord(
        at=at,
        account=account,
        sku=sku,
        action=decision.action,
        reasons=decision.reasons,
        template=decision.template,
        stamp=decision.stamp,
        change=change,
    )


def feed_record(
    decision: SyncDecision,
    *,
    account: str,
    sku: str,
    at: datetime,
    payload: Mapping[str, Any] | None = None,
) -> FeedRecord:
    """The feed record of a synchronization decision: its fields and a summary of the data."""
    return FeedRecord(
        at=at,
        account=account,
        sku=sku,
        fields=decision.fields,
        payload=FrozenDict() if payload is None else payload,
        stamp=decision.stamp,
    )


# ---------------------------------------------------------------------------------- protocol


@runtime_checkable
class LogSink(Protocol):
    """Where log records go: the host's storage.

    ``write`` stores a batch of records and returns how many it stored; ``close`` releases what
    the sink holds. The library's sinks are also context managers that close on exit.
    """

    def write(self, records: Iterable[LogRecord]) -> int:
        """Store the records (one batch); return how many were stored."""
        ...  # pragma: no cover

    def close(self) -> None:
        """Release the sink's resources (a file, a database connection)."""
        ...  # pragma: no cover


def log_decision(
    sink: LogSink,
    decision: SyncDecision,
    *,
    account: str,
    sku: str,
    at: datetime,
    payload: Mapping[str, Any] | None = None,
    change: ProductChange | None = None,
) -> int:
    """Write what a decision's log switches ask for; return how many records were written.

    An activity record when ``decision.log_activity`` (the sync policy's ``activity_log``); a
    feed record with ``payload`` when ``decision.log_feed`` (the policy's ``feed_log``, for an
    action other than ``none``). Both go to the sink in one batch, with the decision's stamp.
    ``change``, the product change decided, is kept in the activity record so that the
    decision can be replayed (:func:`~policy_engine.replay`).
    """
    records: list[LogRecord] = []
    if decision.log_activity:
        records.append(activity_record(decision, account=account, sku=sku, at=at, change=change))
    if decision.log_feed:
        records.append(feed_record(decision, account=account, sku=sku, at=at, payload=payload))
    return sink.write(records) if records else 0


_QUANTITY_FIELDS = frozenset({SyncField.QUANTITY})


def log_stock_sync(
    sink: LogSink,
    plan: StockSyncPlan,
    switches: Configuration | SyncPolicy,
    *,
    event: StockEvent | None = None,
    listings: Iterable[ChannelListing] | None = None,
) -> int:
    """Write a stock sync plan's records as the sync policies' switches ask; return the count.

    ``switches`` is the configuration the plan was made with (each account's own sync policy
    decides), or one sync policy whose switches apply to every account. Every record carries
    the plan's stamp; given the plan's ``event`` and ``listings`` (its input), the history
    record keeps them, so that the event can be replayed (:func:`~policy_engine.replay`).

    - The plan's history record is written when ``activity_log`` is on: for a configuration,
      when it is on for at least one account the plan touched (sent to or skipped).
    - A feed record (fields ``quantity``, payload ``{"quantity": n}``) is written for each update
      to an account whose policy has ``feed_log`` on.

    Everything goes to the sink in one batch.

    Raises:
        PolicyConfigError: the plan names an account the configuration does not have.
    """
    history = plan.history
    stamp = plan.stamp if plan.stamp is not None else history.stamp
    if stamp is not history.stamp or event is not None:
        history = attrs.evolve(
            history,
            stamp=stamp,
            event=event if event is not None else history.event,
            listings=tuple(listings) if listings is not None else history.listings,
        )
    if isinstance(switches, SyncPolicy):
        activity = switches.activity_log
        feed_accounts = None if switches.feed_log else frozenset[str]()
    else:
        policies = {
            account.id: switches.sync_policies[account.sync_policy] for account in switches.accounts
        }
        known = ", ".join(sorted(policies)) or "none defined"
        raise_problems(
            (
                f"$.history.{part}{key_path(account)}",
                f"unknown account {account!r} (known: {known})",
            )
            for part, accounts in (("sent", history.sent), ("skipped", history.skipped))
            for account in accounts
            if account not in policies
        )
        activity = any(policies[a].activity_log for a in (*history.sent, *history.skipped))
        feed_accounts = frozenset(a for a in history.sent if policies[a].feed_log)
    records: list[LogRecord] = [history] if activity else []
    records.extend(
        FeedRecord(
            at=history.at,
            account=update.account,
            sku=update.sku,
            fields=_QUANTITY_FIELDS,
            payload={"quantity": update.quantity},
            stamp=stamp,
        )
        for update in plan.updates
        if feed_accounts is None or update.account in feed_accounts
    )
    return sink.write(records) if records else 0


def _check_records(records: Iterable[Any]) -> list[Any]:
    """The records as a list; a value that is not a record is a :class:`PolicyConfigError`."""
    listed = list(records)
    problems = [
        (
            f"$[{index}]",
            (
                "expected an ActivityRecord, FeedRecord, SyncHistoryRecord or OrderRecord,"
                f" got {describe(record)}"
            ),
        )
        for index, record in enumerate(listed)
        if type(record) not in _TYPE_NAMES
    ]
    raise_problems(problems)
    return listed


# -------------------------------------------------------------------------------- JSON Lines


def _json_line(record: LogRecord) -> str:
    data = {"type": _TYPE_NAMES[type(record)], **unstructure(record)}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


class _ClosingSink:
    """A sink used as a context manager: ``with SqliteSink(path) as sink: ...`` closes it."""

    def close(self) -> None:  # pragma: no cover - every sink defines its own
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class JsonLinesSink(_ClosingSink):
    """A sink writing one JSON object per line (``unstructure`` plus a ``"type"`` key).

    ``type`` is ``activity``, ``feed`` or ``history``. Given a path, the sink appends to the file
    (created when missing) and closes it on :meth:`close`; given an open text stream, it writes
    there and leaves the stream open. Each :meth:`write` is one ``write`` call followed by a
    flush, so a batch is never interleaved with another writer's lines in the same process.

    >>> import io
    >>> from datetime import datetime, timezone
    >>> from policy_engine import ActivityRecord, JsonLinesSink, Step
    >>> stream = io.StringIO()
    >>> with JsonLinesSink(stream) as sink:
    ...     sink.write([ActivityRecord(at=datetime(2024, 5, 1, tzinfo=UTC), account="ae",
    ...         sku="MJ01", action="none", reasons=[Step(("nothing_changed",))])])
    1
    >>> stream.getvalue()[:60]
    '{"type":"activity","at":"2024-05-01T00:00:00+00:00","account'
    """

    def __init__(self, path_or_stream: str | os.PathLike[str] | IO[str]) -> None:
        if isinstance(path_or_stream, str | os.PathLike):
            self._stream: IO[str] = open(  # noqa: SIM115 - closed by close()
                path_or_stream, "a", encoding="utf-8", newline="\n"
            )
            self._owned = True
        else:
            self._stream = path_or_stream
            self._owned = False

    def write(self, records: Iterable[LogRecord]) -> int:
        """Append the records, one line each; return how many were written.

        Raises:
            PolicyConfigError: a value is not a record (nothing is written).
        """
        listed = _check_records(records)
        if listed:
            self._stream.write("".join(_json_line(record) for record in listed))
            self._stream.flush()
        return len(listed)

    def close(self) -> None:
        """Close the file (a stream given by the caller is left open)."""
        if self._owned:
            self._stream.close()


class BadLogLine(NamedTuple):
    """A line of a JSON Lines log that holds no record: skipped by the reader and reported.

    A writer killed part-way through a line leaves such a line (cut short, or cut short and then
    followed by the next writer's record); a line that is JSON but not a valid record is one too.

    Attributes:
        number: The line's number in the log, from 1.
        text: The line as read, without its line break (bytes that are not UTF-8 shown as
            U+FFFD).
        errors: Why it holds no record, each ``"line <n>: <message> @ <path>"`` (the messages
            ``on_bad_lines="raise"`` raises).
    """

    number: int
    text: str
    errors: tuple[str, ...]


class BadLogLineWarning(UserWarning):
    """The warning :func:`read_json_lines` gives for each line it skips (``on_bad_lines="warn"``).

    Attributes:
        line: The skipped line (:class:`BadLogLine`).
    """

    def __init__(self, message: str, line: BadLogLine) -> None:
        super().__init__(message)
        self.line = line


#: What the JSON Lines readers do with a bad line: warn and skip it (the default), skip it
#: silently, raise :class:`~policy_engine.PolicyConfigError`, or call a function with it.
OnBadLines: TypeAlias = Literal["warn", "skip", "raise"] | Callable[[BadLogLine], object]

_CHOICES = ("warn", "skip", "raise")
#: Where a record written right after a torn fragment, on the same line, may start.
_RECORD_START = '{"type":'
_RECORD_START_BYTES = _RECORD_START.encode()
#: The places of a bad line tried as the start of a glued record, at most.
_MOST_STARTS = 100


def _check_on_bad_lines(on_bad_lines: object) -> None:
    if not callable(on_bad_lines) and (
        type(on_bad_lines) is not str or on_bad_lines not in _CHOICES
    ):
        message = f"must be 'warn', 'skip', 'raise' or a callable (got {shown(on_bad_lines)})"
        raise PolicyConfigError([f"{message} @ $.on_bad_lines"])


def _raw_lines(source: str | os.PathLike[str] | IO[str]) -> Iterator[str | bytes]:
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as stream:  # decoded line by line: a torn character spoils one
            yield from stream
    else:
        yield from source


def read_json_lines(
    source: str | os.PathLike[str] | IO[str], *, on_bad_lines: OnBadLines = "warn"
) -> Iterator[LogRecord]:
    """Read the records of a JSON Lines log back, in file order (blank lines are skipped).

    A line that holds no record — cut short by a writer killed mid-line, not UTF-8, not JSON,
    or JSON that is not a valid record — is a bad line: it is skipped, reported as
    ``on_bad_lines`` says, and reading goes on with the next line. A record that the next writer
    appended right after a torn fragment, on the same line, is still read. ``on_bad_lines`` is:

    - ``"warn"`` (the default): a :class:`BadLogLineWarning` per bad line;
    - ``"skip"``: nothing;
    - ``"raise"``: a :class:`~policy_engine.PolicyConfigError` at the first bad line, naming it
      (``line 3: unknown record type 'x' (known: …) @ $.type``);
    - a callable: called with each :class:`BadLogLine` (``on_bad_lines=bad.append``).

    Given a path, the file is read as bytes and each line decoded on its own; a stream must be
    a text stream (decoding errors there are the stream's).

    Raises:
        PolicyConfigError: ``on_bad_lines`` is none of these (at the call), or a bad line with
            ``on_bad_lines="raise"``.
    """
    _check_on_bad_lines(on_bad_lines)
    name = os.fspath(source) if isinstance(source, str | os.PathLike) else None
    return _read_records(source, on_bad_lines, name)


def _read_records(
    source: str | os.PathLike[str] | IO[str], on_bad_lines: OnBadLines, name: str | None
) -> Iterator[LogRecord]:
    for number, raw in enumerate(_raw_lines(source), start=1):
        if not raw.strip():
            continue
        try:
            yield _read_line(raw, number)
        except PolicyConfigError as error:
            if on_bad_lines == "raise":
                raise
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            line = BadLogLine(number=number, text=text.rstrip("\r\n"), errors=tuple(error.errors))
            _report(line, on_bad_lines, name)
            glued = _glued_record(raw)
            if glued is not None:
                yield glued


def _report(line: BadLogLine, on_bad_lines: OnBadLines, name: str | None) -> None:
    if on_bad_lines == "warn":
        where = "" if name is None else f"{name}: "
        message = f"{where}{'; '.join(line.errors)}; the line is skipped"
        warnings.warn(BadLogLineWarning(message, line), stacklevel=3)
    elif callable(on_bad_lines):
        on_bad_lines(line)


def _glued_record(raw: str | bytes) -> LogRecord | None:
    """The record a writer appended after a torn fragment on the same line, if there is one."""
    start = _RECORD_START_BYTES if isinstance(raw, bytes) else _RECORD_START
    index = 0
    for _ in range(_MOST_STARTS):
        index = raw.find(start, index + 1)  # type: ignore[arg-type]
        if index < 0:
            return None
        try:
            return _read_line(raw[index:], 0)
        except PolicyConfigError:
            continue
    return None


def _read_line(raw: str | bytes, number: int) -> LogRecord:
    if isinstance(raw, bytes):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PolicyConfigError([f"line {number}: not UTF-8 text ({error}) @ $"]) from None
    else:
        line = raw
    try:
        data = json.loads(line)
    except RecursionError:
        message = f"nested deeper than Python can parse (over {MAX_JSON_DEPTH} levels)"
        raise PolicyConfigError([f"line {number}: not JSON ({message}) @ $"]) from None
    except ValueError as error:
        raise PolicyConfigError([f"line {number}: not JSON ({error}) @ $"]) from None
    if not isinstance(data, dict):
        raise PolicyConfigError([f"line {number}: expected an object, got {describe(data)} @ $"])
    name = data.pop("type", None)
    cls = _TYPES_BY_NAME.get(name) if type(name) is str else None
    if cls is None:
        known = ", ".join(repr(key) for key in _TYPES_BY_NAME)
        message = (
            "required field missing"
            if name is None
            else f"unknown record type {shown(name)} (known: {known})"
        )
        raise PolicyConfigError([f"line {number}: {message} @ $.type"])
    try:
        record: LogRecord = structure(data, cls)
    except PolicyConfigError as error:
        raise PolicyConfigError(
            f"line {number}: {line_error}" for line_error in error.errors
        ) from None
    return record


def sync_history_json_lines(
    source: str | os.PathLike[str] | IO[str],
    sku: str,
    *,
    limit: int | None = None,
    on_bad_lines: OnBadLines = "warn",
) -> list[SyncHistoryRecord]:
    """A product's sync history from a JSON Lines log, newest first (at most ``limit``).

    Records with the same time come latest-written first, as :func:`sync_history` gives them.
    Bad lines are skipped and reported as ``on_bad_lines`` says (see :func:`read_json_lines`).
    """
    limit = _check_limit(limit)
    found = [
        (record.at, number, record)
        for number, record in enumerate(read_json_lines(source, on_bad_lines=on_bad_lines))
        if type(record) is SyncHistoryRecord and record.sku == sku
    ]
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [record for _, _, record in found[:limit]]


def _check_limit(limit: object) -> int | None:
    if limit is None:
        return None
    if type(limit) is not int or limit < 0:
        raise PolicyConfigError([f"must be an integer >= 0 or null (got {limit!r}) @ $.limit"])
    return limit


# ------------------------------------------------------------------------------------ SQLite

#: ``PRAGMA user_version`` of an up-to-date log database. Version 1 had no stamp or input
#: columns; opening one adds them (``ALTER TABLE ... ADD COLUMN``: its rows stay as they are).
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS activity (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    account TEXT NOT NULL,
    sku TEXT NOT NULL,
    action TEXT NOT NULL,
    template TEXT,
    reasons TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activity_sku_at ON activity (sku, at_us);
CREATE TABLE IF NOT EXISTS feed (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    account TEXT NOT NULL,
    sku TEXT NOT NULL,
    fields TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_sku_at ON feed (sku, at_us);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    sku TEXT NOT NULL,
    source TEXT NOT NULL,
    origin_account TEXT,
    sent TEXT NOT NULL,
    skipped TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_sku_at ON history (sku, at_us);
"""

_SCHEMA_STATEMENTS = tuple(part.strip() for part in _SCHEMA.split(";") if part.strip())

#: The columns version 2 adds to each table (null in the rows of a version 1 log).
_STAMP_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "activity": ("decision_id", "config_revision", "engine_version", "input"),
    "feed": ("decision_id", "config_revision", "engine_version"),
    "history": ("decision_id", "config_revision", "engine_version", "input"),
    "orders": ("decision_id", "config_revision", "engine_version", "input"),
}
#: The order log (version 2): one row per order, and one row per store SKU of its lines.
_ORDER_TABLES = (
    """CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    account TEXT NOT NULL,
    order_id TEXT NOT NULL,
    created INTEGER NOT NULL,
    store_order_id TEXT,
    skus TEXT NOT NULL,
    reasons TEXT NOT NULL,
    decision_id TEXT,
    config_revision TEXT,
    engine_version TEXT,
    input TEXT
)""",
    "CREATE TABLE IF NOT EXISTS order_skus (order_row INTEGER NOT NULL, sku TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS order_skus_sku ON order_skus (sku, order_row)",
)
_STAMP_INDEXES = tuple(
    f"CREATE INDEX IF NOT EXISTS {table}_{column} ON {table} ({column})"
    for table in _STAMP_COLUMNS
    for column in ("decision_id", "config_revision")
)


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}


def _migrate(connection: sqlite3.Connection) -> None:
    """Add the stamp and input columns a version 1 log lacks, the order log, and indexes."""
    for statement in _ORDER_TABLES:
        connection.execute(statement)
    for table, added in _STAMP_COLUMNS.items():
        present = _columns(connection, table)
        for column in added:
            if column not in present:
                connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
    for statement in _STAMP_INDEXES:
        connection.execute(statement)


#: The default busy timeout of :class:`SqliteSink`, in seconds.
DEFAULT_TIMEOUT = 30.0
#: The default number of retries of a write refused for a lock.
DEFAULT_RETRIES = 5
#: The first pause between two attempts, in seconds (doubled after each).
_BACKOFF = 0.05
_LOCK_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _is_locked(error: sqlite3.OperationalError) -> bool:
    """Whether an error is SQLite's "database is locked" / "busy" (worth another attempt)."""
    code = getattr(error, "sqlite_errorcode", None)
    if type(code) is int:
        return code & 0xFF in _LOCK_CODES
    text = str(error)  # pragma: no cover - Python < 3.11 gives no error code
    return "locked" in text or "busy" in text  # pragma: no cover


class LogWriteError(PolicyEngineError):
    """An SQLite log database stayed locked by other connections through every retry.

    Attributes:
        path: The database file.
        attempts: How many attempts were made.
    """

    def __init__(self, path: str, attempts: int, error: BaseException | str) -> None:
        self.path = path
        self.attempts = attempts
        self._reason = str(error)
        super().__init__(
            f"the log database {path} stayed locked ({error}); gave up after {attempts}"
            " attempts: raise SqliteSink's timeout or retries, or give each writer its own file"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.attempts, self._reason))


class LogDatabaseError(PolicyEngineError):
    """An SQLite log database cannot be used: the file is not a database or is damaged, it
    cannot be opened, or it refuses a write. The message names the file and what to do; the
    ``sqlite3`` error is chained.

    Attributes:
        path: The database file.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, str(self)))


#: What an SQLite error code (its primary part) says about the database file, and what to do.
_UNUSABLE: Mapping[int, str] = {
    **dict.fromkeys(
        (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT),
        "is not a usable SQLite database ({error}): move it aside or restore a backup;"
        " SqliteSink creates a new one",
    ),
    **dict.fromkeys(
        (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH),
        "cannot be opened ({error}): check that its directory exists and that this process"
        " may read and write there",
    ),
    sqlite3.SQLITE_READONLY: (
        "cannot be written ({error}): check the permissions of the file and of its directory"
    ),
    **dict.fromkeys(
        (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL),
        "cannot be used ({error}): check the disk it is on (free space, errors)",
    ),
}


def _database_error(path: str, error: sqlite3.Error) -> LogDatabaseError | None:
    """The :class:`LogDatabaseError` an SQLite error amounts to, or ``None`` (not the file's)."""
    code = getattr(error, "sqlite_errorcode", None)
    advice = _UNUSABLE.get(code & 0xFF) if type(code) is int else None
    if advice is None:
        return None
    return LogDatabaseError(path, f"the log database {path} {advice.format(error=error)}")


_INSERT_ACTIVITY = (
    "INSERT INTO activity (at, at_us, account, sku, action, template, reasons, decision_id,"
    " config_revision, engine_version, input) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_FEED = (
    "INSERT INTO feed (at, at_us, account, sku, fields, payload, decision_id, config_revision,"
    " engine_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_HISTORY = (
    "INSERT INTO history (at, at_us, sku, source, origin_account, sent, skipped, decision_id,"
    " config_revision, engine_version, input) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ORDER = (
    "INSERT INTO orders (at, at_us, account, order_id, created, store_order_id, skus, reasons,"
    " decision_id, config_revision, engine_version, input)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ORDER_SKU = "INSERT INTO order_skus (order_row, sku) VALUES (?, ?)"
_NO_STAMP = (None, None, None)


def _stamp_columns(stamp: Stamp | None) -> tuple[str | None, ...]:
    if stamp is None:
        return _NO_STAMP
    return (stamp.decision_id, stamp.config_revision, stamp.engine_version)


def _history_input(record: SyncHistoryRecord) -> str | None:
    if record.event is None and record.listings is None:
        return None
    return _dumps(
        {
            "event": None if record.event is None else unstructure(record.event),
            "listings": None if record.listings is None else unstructure(record.listings),
        }
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _micros(at: datetime) -> int:
    """Microseconds since the Unix epoch (UTC): the column that orders records by time."""
    return (at - _EPOCH) // _MICROSECOND


def _reasons_json(reasons: tuple[Step, ...]) -> str:
    return _dumps(_dump_reasons(reasons))


class SqliteSink(_ClosingSink):
    """A sink storing records in an SQLite database (standard-library ``sqlite3``).

    The database is created when missing, with three tables (``activity``, ``feed``,
    ``history``; see the schema in the docs), each indexed on ``(sku, at_us)``. The journal runs
    in WAL mode, so readers (:func:`sync_history`) never wait for the writer. Each :meth:`write`
    is one transaction: a batch is stored whole or not at all.

    A sink holds one connection: use it from one thread (open one sink per thread or process).
    Several processes may share one database: a connection waits up to ``timeout`` seconds for
    another's lock (SQLite's busy timeout), and opening the database or a write still refused
    for a lock is retried up to ``retries`` times, after a short pause that doubles each time
    (0.05 s, 0.1 s, …); when they run out, :class:`LogWriteError` names the file. A batch is
    stored once: a failed attempt is rolled back before the next one.

    Raises:
        PolicyConfigError: ``timeout`` is not a number >= 0 or ``retries`` not an integer >= 0
            (before the database is opened).
        LogWriteError: the database stayed locked while the schema was created.
        LogDatabaseError: the file is not a database or is damaged, or cannot be opened or
            written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        problems: list[Problem] = []
        if not (type(timeout) in (int, float) and math.isfinite(timeout) and timeout >= 0):
            problems.append(("$.timeout", f"must be a number >= 0 (got {shown(timeout)})"))
        if type(retries) is not int or retries < 0:
            problems.append(("$.retries", f"must be an integer >= 0 (got {shown(retries)})"))
        raise_problems(problems)
        self._path = os.fspath(path)
        self._timeout = float(timeout)
        self._retries = retries
        try:
            self._connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as error:
            self._raise_unusable(error)
            raise  # pragma: no cover - connecting fails only for the file's reasons
        try:
            self._retrying(self._prepare)
        except BaseException as error:
            self._connection.close()
            if isinstance(error, sqlite3.Error):
                self._raise_unusable(error)
            raise

    def _raise_unusable(self, error: sqlite3.Error) -> None:
        """Raise the :class:`LogDatabaseError` naming the file, when the error is the file's."""
        unusable = _database_error(self._path, error)
        if unusable is not None:
            raise unusable from error

    def _prepare(self) -> None:
        """WAL mode and the schema; an up-to-date database is only read, never locked."""
        connection = self._connection
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            connection.execute("PRAGMA journal_mode=WAL")
        if connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA_STATEMENTS:
                connection.execute(statement)
            _migrate(connection)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _retrying(self, action: Callable[[], None]) -> None:
        """Run ``action``, again after a pause while the database is locked (busy)."""
        for attempt in range(self._retries + 1):
            try:
                action()
            except sqlite3.OperationalError as error:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                if not _is_locked(error):
                    raise
                if attempt == self._retries:
                    raise LogWriteError(self._path, attempt + 1, error) from error
                time.sleep(_BACKOFF * 2**attempt)
            else:
                return

    @property
    def path(self) -> str:
        """The database file (as given; ``:memory:`` for an in-memory database)."""
        return self._path

    @property
    def timeout(self) -> float:
        """Seconds a statement waits for another connection's lock (SQLite's busy timeout)."""
        return self._timeout

    @property
    def retries(self) -> int:
        """How many times a write (or the schema's creation) refused for a lock is retried."""
        return self._retries

    @property
    def connection(self) -> sqlite3.Connection:
        """The sink's connection (for queries; do not close it while the sink is in use)."""
        return self._connection

    def write(self, records: Iterable[LogRecord]) -> int:
        """Store the records in one transaction; return how many were stored.

        Raises:
            PolicyConfigError: a value is not a record (nothing is stored).
            LogWriteError: the database stayed locked through every retry (nothing is stored).
            LogDatabaseError: the database is damaged or refuses the write (nothing is stored).
        """
        activity: list[tuple[Any, ...]] = []
        feed: list[tuple[Any, ...]] = []
        history: list[tuple[Any, ...]] = []
        orders: list[tuple[tuple[Any, ...], tuple[str, ...]]] = []
        listed = _check_records(records)
        for record in listed:
            at = record.at
            if type(record) is OrderRecord:
                orders.append(
                    (
                        (
                            at.isoformat(),
                            _micros(at),
                            record.account,
                            record.order_id,
                            int(record.create),
                            record.store_order_id,
                            _dumps(list(record.skus)),
                            _reasons_json(record.reasons),
                            *_stamp_columns(record.stamp),
                            None if record.order is None else _dumps(unstructure(record.order)),
                        ),
                        record.skus,
                    )
                )
            elif type(record) is SyncHistoryRecord:
                history.append(
                    (
                        at.isoformat(),
                        _micros(at),
                        record.sku,
                        record.source.value,
                        record.origin_account,
                        _dumps(record.sent),
                        _dumps(record.skipped),
                        *_stamp_columns(record.stamp),
                        _history_input(record),
                    )
                )
            elif type(record) is ActivityRecord:
                activity.append(
                    (
                        at.isoformat(),
                        _micros(at),
                        record.account,
                        record.sku,
                        record.action.value,
                        record.template,
                        _reasons_json(record.reasons),
                        *_stamp_columns(record.stamp),
                        None if record.change is None else _dumps(unstructure(record.change)),
                    )
                )
            else:
                feed.append(
                    (
                        at.isoformat(),
                        _micros(at),
                        record.account,
                        record.sku,
                        _dumps(sorted(record.fields)),
                        _dumps(_dump_payload(record.payload)),
                        *_stamp_columns(record.stamp),
                    )
                )
        if not listed:
            return 0
        connection = self._connection

        def store() -> None:
            # IMMEDIATE takes the write lock first (waiting for it): a deferred transaction
            # could find its snapshot stale when it starts writing, and fail without waiting.
            connection.execute("BEGIN IMMEDIATE")
            try:
                if activity:
                    connection.executemany(_INSERT_ACTIVITY, activity)
                if feed:
                    connection.executemany(_INSERT_FEED, feed)
                if history:
                    connection.executemany(_INSERT_HISTORY, history)
                for row, skus in orders:
                    order_row = connection.execute(_INSERT_ORDER, row).lastrowid
                    connection.executemany(_INSERT_ORDER_SKU, [(order_row, sku) for sku in skus])
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

        try:
            self._retrying(store)
        except sqlite3.Error as error:
            self._raise_unusable(error)
            raise
        return len(listed)

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


#: The columns each reader selects, the stamp and input columns last (a version 1 log,
#: opened only for reading, lacks them: they read as null).
_HISTORY_COLUMNS = "sku, source, at, origin_account, sent, skipped"
_ACTIVITY_COLUMNS = "at, account, sku, action, template, reasons"
_FEED_COLUMNS = "at, account, sku, fields, payload"
_ORDER_COLUMNS = "at, account, order_id, created, store_order_id, skus, reasons"
_BY_SKU = " WHERE sku = ? ORDER BY at_us DESC, id DESC LIMIT ?"
_ORDER_BY_SKU = (
    " WHERE id IN (SELECT order_row FROM order_skus WHERE sku = ?)"
    " ORDER BY at_us DESC, id DESC LIMIT ?"
)

_Source: TypeAlias = sqlite3.Connection | str | os.PathLike[str]


def _query(
    connection_or_path: _Source,
    *,
    table: str,
    select: str,
    build: Callable[[tuple[Any, ...]], Any],
    sku: str,
    limit: int | None,
    where: str = _BY_SKU,
) -> list[Any]:
    """The rows of a product in one table, newest first, each built into its record."""
    limit = _check_limit(limit)
    query = (table, select, build, where)
    if isinstance(connection_or_path, sqlite3.Connection):
        return _rows(connection_or_path, query, sku=sku, limit=limit)
    path = Path(connection_or_path)
    if not path.is_file():
        raise FileNotFoundError(2, "no such log database", str(path))
    # Read-only: reading never writes. Where SQLite cannot create the -wal and -shm files a
    # reader of a WAL database needs (read-only media), the file is read as it is (immutable).
    uri = f"file:{quote(os.fspath(path))}?mode=ro"
    try:
        for options in ("", "&immutable=1"):
            connection = sqlite3.connect(uri + options, uri=True)
            try:
                return _rows(connection, query, sku=sku, limit=limit)
            except sqlite3.OperationalError as error:
                if options or not _read_only_media(error):
                    raise
            finally:
                connection.close()
    except sqlite3.Error as error:
        unusable = _database_error(str(path), error)
        if unusable is None:
            raise
        raise unusable from error
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _read_only_media(error: sqlite3.Error) -> bool:
    """Whether an error says a read-only connection cannot set up its WAL files."""
    code = getattr(error, "sqlite_errorcode", None)
    return type(code) is int and code & 0xFF in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN)


def _rows(
    connection: sqlite3.Connection,
    query: tuple[str, str, Callable[[tuple[Any, ...]], Any], str],
    *,
    sku: str,
    limit: int | None,
) -> list[Any]:
    table, select, build, where = query
    statement = select_statement(connection, table, select)
    if statement is None:
        return []
    rows = connection.execute(statement + where, (sku, -1 if limit is None else limit))
    return [build(row) for row in rows.fetchall()]


def select_statement(connection: sqlite3.Connection, table: str, columns: str) -> str | None:
    """``SELECT columns, <stamp and input columns> FROM table``; ``None`` without the table.

    The stamp and input columns a version 1 log lacks are selected as null.
    """
    present = _columns(connection, table)
    if not present:
        return None
    added = ", ".join(
        column if column in present else f"NULL AS {column}" for column in _STAMP_COLUMNS[table]
    )
    return f"SELECT {columns}, {added} FROM {table}"  # noqa: S608 - our own names


def _stamp_of(row: tuple[Any, ...], start: int) -> Stamp | None:
    decision_id, revision, version = row[start : start + 3]
    if decision_id is None or revision is None or version is None:
        return None
    return Stamp(decision_id=decision_id, config_revision=revision, engine_version=version)


def _json_columns(names: str, *columns: Any) -> list[Any]:
    try:
        return [json.loads(column) for column in columns]
    except (TypeError, ValueError, RecursionError):
        shown_columns = ", ".join(shown(column) for column in columns)
        message = f"the stored {names} are not JSON (got {shown_columns})"
        raise PolicyConfigError([f"{message} @ $"]) from None


def sync_history(
    connection_or_path: _Source, sku: str, *, limit: int | None = None
) -> list[SyncHistoryRecord]:
    """A product's sync history from an SQLite log, newest first (at most ``limit`` records).

    Records with the same time come latest-written first. Given a path, the database is opened
    for the query and closed after; given a connection (``SqliteSink.connection``), it is used
    as it is. A database without a ``history`` table has no history.

    Raises:
        FileNotFoundError: the path does not exist (no database is created by reading).
        PolicyConfigError: ``limit`` is not an integer >= 0, or a stored row is not a valid
            record.
    """
    return _query(
        connection_or_path,
        table="history",
        select=_HISTORY_COLUMNS,
        build=_history_record,
        sku=sku,
        limit=limit,
    )


def activity_history(
    connection_or_path: _Source, sku: str, *, limit: int | None = None
) -> list[ActivityRecord]:
    """A product's activity records from an SQLite log, newest first (at most ``limit``).

    As :func:`sync_history`, over the ``activity`` table. Each reason's stored message is kept
    where it differs from its code's template text (a connector's own message).

    Raises:
        FileNotFoundError: the path does not exist.
        PolicyConfigError: ``limit`` is not an integer >= 0, or a stored row is not a valid
            record.
    """
    return _query(
        connection_or_path,
        table="activity",
        select=_ACTIVITY_COLUMNS,
        build=_activity_record,
        sku=sku,
        limit=limit,
    )


def feed_history(
    connection_or_path: _Source, sku: str, *, limit: int | None = None
) -> list[FeedRecord]:
    """A product's feed records from an SQLite log, newest first (at most ``limit``).

    As :func:`sync_history`, over the ``feed`` table; payloads come back as they were written.

    Raises:
        FileNotFoundError: the path does not exist.
        PolicyConfigError: ``limit`` is not an integer >= 0, or a stored row is not a valid
            record.
    """
    return _query(
        connection_or_path,
        table="feed",
        select=_FEED_COLUMNS,
        build=_feed_record,
        sku=sku,
        limit=limit,
    )


def order_history(
    connection_or_path: _Source, sku: str, *, limit: int | None = None
) -> list[OrderRecord]:
    """A product's order records from an SQLite log (orders with a line of the SKU), newest
    first (at most ``limit``).

    As :func:`sync_history`, over the ``orders`` table (a log written before it existed has no
    orders).

    Raises:
        FileNotFoundError: the path does not exist.
        PolicyConfigError: ``limit`` is not an integer >= 0, or a stored row is not a valid
            record.
    """
    return _query(
        connection_or_path,
        table="orders",
        select=_ORDER_COLUMNS,
        build=_order_record,
        sku=sku,
        limit=limit,
        where=_ORDER_BY_SKU,
    )


def _order_record(row: tuple[Any, ...]) -> OrderRecord:
    skus, reasons = _json_columns("skus/reasons columns", row[5], row[6])
    data = {
        "at": row[0],
        "account": row[1],
        "order_id": row[2],
        "create": bool(row[3]),
        "store_order_id": row[4],
        "skus": skus,
        "reasons": reasons,
    }
    if row[10] is not None:
        (data["order"],) = _json_columns("input column", row[10])
    record = structure(data, OrderRecord)
    stamp = _stamp_of(row, 7)
    return record if stamp is None else attrs.evolve(record, stamp=stamp)


def _history_record(row: tuple[Any, ...]) -> SyncHistoryRecord:
    sent, skipped = _json_columns("sent/skipped columns", row[4], row[5])
    data = {
        "sku": row[0],
        "source": row[1],
        "at": row[2],
        "origin_account": row[3],
        "sent": sent,
        "skipped": skipped,
    }
    if row[9] is not None:
        (data_input,) = _json_columns("input column", row[9])
        data.update(data_input)
    record = structure(data, SyncHistoryRecord)
    stamp = _stamp_of(row, 6)
    return record if stamp is None else attrs.evolve(record, stamp=stamp)


def _activity_record(row: tuple[Any, ...]) -> ActivityRecord:
    (reasons,) = _json_columns("reasons column", row[5])
    data = {
        "at": row[0],
        "account": row[1],
        "sku": row[2],
        "action": row[3],
        "template": row[4],
        "reasons": reasons,
    }
    if row[9] is not None:
        (data["change"],) = _json_columns("input column", row[9])
    record = structure(data, ActivityRecord)
    stamp = _stamp_of(row, 6)
    return record if stamp is None else attrs.evolve(record, stamp=stamp)


def _feed_record(row: tuple[Any, ...]) -> FeedRecord:
    fields, payload = _json_columns("fields/payload columns", row[3], row[4])
    data = {"at": row[0], "account": row[1], "sku": row[2], "fields": fields, "payload": payload}
    record = structure(data, FeedRecord)
    stamp = _stamp_of(row, 5)
    return record if stamp is None else attrs.evolve(record, stamp=stamp)
