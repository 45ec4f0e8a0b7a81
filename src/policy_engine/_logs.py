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
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol, Self, TypeAlias, runtime_checkable

import attrs

from policy_engine._channels import SyncField, _check_sync_fields, _sync_field_set
from policy_engine._config import Configuration
from policy_engine._errors import PolicyConfigError
from policy_engine._serialization import DUMP, LOAD, Invalid, fail, structure, unstructure
from policy_engine._steps import Step
from policy_engine._stock_sync import (
    StockSyncPlan,
    SyncHistoryRecord,
    is_aware_datetime,
    load_aware_datetime,
)
from policy_engine._sync import SyncAction, SyncDecision, SyncPolicy
from policy_engine._validation import (
    Checked,
    FrozenDict,
    Problem,
    check,
    describe,
    is_str,
    is_str_or_none,
    key_path,
    non_empty,
    raise_problems,
)

__all__ = [
    "ActivityRecord",
    "FeedRecord",
    "JsonLinesSink",
    "LogRecord",
    "LogSink",
    "PayloadValue",
    "SqliteSink",
    "activity_record",
    "feed_record",
    "log_decision",
    "log_stock_sync",
    "read_json_lines",
    "sync_history",
    "sync_history_json_lines",
]

#: A value of a feed record's payload summary: JSON scalars and lists of strings. Money goes in as
#: its decimal string (a ``Decimal`` is converted), never as a float.
PayloadValue: TypeAlias = str | int | bool | tuple[str, ...] | None


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


def _payload_value(value: Any) -> Any:
    """Normalise one payload value: a Decimal becomes its string, a list of strings a tuple."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, Decimal):
        return str(value)  # money is carried as its decimal string, never as a float
    return value


def _to_payload(values: Any) -> Any:
    if not isinstance(values, Mapping):
        return values
    return FrozenDict({key: _payload_value(value) for key, value in values.items()})


def _payload_problem(value: Any) -> str | None:
    if value is None or type(value) in (str, int, bool):
        return None
    if type(value) is tuple:
        for item in value:
            if type(item) is not str:
                return f"expected a list of strings, got {describe(item)} in it"
        return None
    return (
        "expected a string, an integer, a boolean, a list of strings or null,"
        f" got {describe(value)}"
    )


def _check_payload(values: Any) -> str | None:
    if not isinstance(values, Mapping):
        return f"expected an object, got {describe(values)}"
    for key, value in values.items():
        if type(key) is not str or not key:
            return "payload keys must be non-empty strings"
        problem = _payload_problem(value)
        if problem is not None:
            return f"payload {key!r}: {problem}"
    return None


def _load_payload(value: object, _: object = None) -> FrozenDict[str, PayloadValue]:
    if not isinstance(value, Mapping):
        fail(f"expected an object, got {describe(value)}")
    loaded: dict[str, PayloadValue] = {}
    problems: list[Problem] = []
    for key, item in value.items():
        if type(key) is not str or not key:
            problems.append(("$", "payload keys must be non-empty strings"))
            continue
        loaded_item = tuple(item) if isinstance(item, list) else item
        problem = _payload_problem(loaded_item)
        if problem is not None:
            problems.append((f"${key_path(key)}", problem))
        else:
            loaded[key] = loaded_item
    if problems:
        raise Invalid(problems)
    return FrozenDict(loaded)


def _dump_payload(values: Mapping[str, PayloadValue]) -> dict[str, Any]:
    return {key: list(value) if type(value) is tuple else value for key, value in values.items()}


_AT = {LOAD: load_aware_datetime, **check(is_aware_datetime)}


# ----------------------------------------------------------------------------------- records


@attrs.frozen(kw_only=True)
class ActivityRecord(Checked):
    """One entry of the activity log: a synchronization decision and why it was taken.

    Attributes:
        at: When the decision was taken (with a time zone offset; given by the caller).
        account: The account's id.
        sku: The store SKU.
        action: The decision's action (``none``, ``upload``, ``update``…).
        reasons: The decision's reasons, in order.
        template: The decision's listing template, or ``None``.
    """

    at: datetime = attrs.field(metadata=_AT)
    account: str = attrs.field(metadata=check(is_str, non_empty))
    sku: str = attrs.field(metadata=check(is_str, non_empty))
    action: SyncAction = attrs.field(converter=_to_action, metadata=check(_is_action))
    reasons: tuple[Step, ...] = attrs.field(converter=_step_tuple, metadata=check(_all_steps))
    template: str | None = attrs.field(default=None, metadata=check(is_str_or_none))


@attrs.frozen(kw_only=True)
class FeedRecord(Checked):
    """One entry of the feed log: what a synchronization sent to a channel.

    Attributes:
        at: When it was sent (with a time zone offset; given by the caller).
        account: The account's id.
        sku: The store SKU.
        fields: The listing fields sent.
        payload: A summary of the data sent, by name (``{"quantity": 7, "price": "19.90"}``):
            strings, integers, booleans, lists of strings or null. A ``Decimal`` is stored as its
            string, so money never becomes a float.
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


#: Any record a sink takes.
LogRecord: TypeAlias = ActivityRecord | FeedRecord | SyncHistoryRecord

#: The ``"type"`` of each record in a JSON Lines log.
_TYPE_NAMES: Mapping[type[Any], str] = {
    ActivityRecord: "activity",
    FeedRecord: "feed",
    SyncHistoryRecord: "history",
}
_TYPES_BY_NAME: Mapping[str, type[Any]] = {name: cls for cls, name in _TYPE_NAMES.items()}


def activity_record(
    decision: SyncDecision, *, account: str, sku: str, at: datetime
) -> ActivityRecord:
    """The activity record of a synchronization decision."""
    return ActivityRecord(
        at=at,
        account=account,
        sku=sku,
        action=decision.action,
        reasons=decision.reasons,
        template=decision.template,
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
) -> int:
    """Write what a decision's log switches ask for; return how many records were written.

    An activity record when ``decision.log_activity`` (the sync policy's ``activity_log``); a
    feed record with ``payload`` when ``decision.log_feed`` (the policy's ``feed_log``, for an
    action other than ``none``). Both go to the sink in one batch.
    """
    records: list[LogRecord] = []
    if decision.log_activity:
        records.append(activity_record(decision, account=account, sku=sku, at=at))
    if decision.log_feed:
        records.append(feed_record(decision, account=account, sku=sku, at=at, payload=payload))
    return sink.write(records) if records else 0


_QUANTITY_FIELDS = frozenset({SyncField.QUANTITY})


def log_stock_sync(sink: LogSink, plan: StockSyncPlan, switches: Configuration | SyncPolicy) -> int:
    """Write a stock sync plan's records as the sync policies' switches ask; return the count.

    ``switches`` is the configuration the plan was made with (each account's own sync policy
    decides), or one sync policy whose switches apply to every account.

    - The plan's history record is written when ``activity_log`` is on: for a configuration,
      when it is on for at least one account the plan touched (sent to or skipped).
    - A feed record (fields ``quantity``, payload ``{"quantity": n}``) is written for each update
      to an account whose policy has ``feed_log`` on.

    Everything goes to the sink in one batch.

    Raises:
        PolicyConfigError: the plan names an account the configuration does not have.
    """
    history = plan.history
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
            f"expected an ActivityRecord, FeedRecord or SyncHistoryRecord, got {describe(record)}",
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


def _lines(source: str | os.PathLike[str] | IO[str]) -> Iterator[str]:
    if isinstance(source, str | os.PathLike):
        with open(source, encoding="utf-8") as stream:
            yield from stream
    else:
        yield from source


def read_json_lines(source: str | os.PathLike[str] | IO[str]) -> Iterator[LogRecord]:
    """Read the records of a JSON Lines log back, in file order (blank lines are skipped).

    Raises:
        PolicyConfigError: a line is not JSON or not a record; the messages name the line
            (``line 3: unknown record type 'x' @ $.type``).
    """
    for number, line in enumerate(_lines(source), start=1):
        if not line.strip():
            continue
        yield _read_line(line, number)


def _read_line(line: str, number: int) -> LogRecord:
    try:
        data = json.loads(line)
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
            else f"unknown record type {name!r} (known: {known})"
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
    source: str | os.PathLike[str] | IO[str], sku: str, *, limit: int | None = None
) -> list[SyncHistoryRecord]:
    """A product's sync history from a JSON Lines log, newest first (at most ``limit``).

    Records with the same time come latest-written first, as :func:`sync_history` gives them.
    """
    limit = _check_limit(limit)
    found = [
        (record.at, number, record)
        for number, record in enumerate(read_json_lines(source))
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

SCHEMA_VERSION = 1

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

_INSERT_ACTIVITY = (
    "INSERT INTO activity (at, at_us, account, sku, action, template, reasons)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_FEED = (
    "INSERT INTO feed (at, at_us, account, sku, fields, payload) VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_HISTORY = (
    "INSERT INTO history (at, at_us, sku, source, origin_account, sent, skipped)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _micros(at: datetime) -> int:
    """Microseconds since the Unix epoch (UTC): the column that orders records by time."""
    return (at - _EPOCH) // _MICROSECOND


def _reasons_json(reasons: tuple[Step, ...]) -> str:
    return _dumps(
        [{"code": step[0], "args": list(step[1:]), "message": step.message} for step in reasons]
    )


class SqliteSink(_ClosingSink):
    """A sink storing records in an SQLite database (standard-library ``sqlite3``).

    The database is created when missing, with three tables (``activity``, ``feed``,
    ``history``; see the schema in the docs), each indexed on ``(sku, at_us)``. The journal runs
    in WAL mode, so readers (:func:`sync_history`) never wait for the writer. Each :meth:`write`
    is one transaction: a batch is stored whole or not at all.

    A sink holds one connection: use it from one thread (open one sink per thread or process).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.executescript(_SCHEMA)
        self._connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def connection(self) -> sqlite3.Connection:
        """The sink's connection (for queries; do not close it while the sink is in use)."""
        return self._connection

    def write(self, records: Iterable[LogRecord]) -> int:
        """Store the records in one transaction; return how many were stored.

        Raises:
            PolicyConfigError: a value is not a record (nothing is stored).
        """
        activity: list[tuple[Any, ...]] = []
        feed: list[tuple[Any, ...]] = []
        history: list[tuple[Any, ...]] = []
        listed = _check_records(records)
        for record in listed:
            at = record.at
            if type(record) is SyncHistoryRecord:
                history.append(
                    (
                        at.isoformat(),
                        _micros(at),
                        record.sku,
                        record.source.value,
                        record.origin_account,
                        _dumps(record.sent),
                        _dumps(record.skipped),
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
                    )
                )
        if not listed:
            return 0
        connection = self._connection
        connection.execute("BEGIN")
        try:
            if activity:
                connection.executemany(_INSERT_ACTIVITY, activity)
            if feed:
                connection.executemany(_INSERT_FEED, feed)
            if history:
                connection.executemany(_INSERT_HISTORY, history)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return len(listed)

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


_SELECT_HISTORY = (
    "SELECT sku, source, at, origin_account, sent, skipped FROM history"
    " WHERE sku = ? ORDER BY at_us DESC, id DESC LIMIT ?"
)


def sync_history(
    connection_or_path: sqlite3.Connection | str | os.PathLike[str],
    sku: str,
    *,
    limit: int | None = None,
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
    limit = _check_limit(limit)
    if isinstance(connection_or_path, sqlite3.Connection):
        return _history_rows(connection_or_path, sku, limit)
    path = Path(connection_or_path)
    if not path.is_file():
        raise FileNotFoundError(2, "no such log database", str(path))
    connection = sqlite3.connect(path)
    try:
        return _history_rows(connection, sku, limit)
    finally:
        connection.close()


def _history_rows(
    connection: sqlite3.Connection, sku: str, limit: int | None
) -> list[SyncHistoryRecord]:
    table = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'history'"
    ).fetchone()
    if table is None:
        return []
    rows = connection.execute(_SELECT_HISTORY, (sku, -1 if limit is None else limit)).fetchall()
    return [_history_record(row) for row in rows]


def _history_record(row: tuple[Any, ...]) -> SyncHistoryRecord:
    try:
        sent, skipped = json.loads(row[4]), json.loads(row[5])
    except (TypeError, ValueError):
        message = (
            f"the stored sent/skipped columns are not JSON objects (got {row[4]!r}, {row[5]!r})"
        )
        raise PolicyConfigError([f"{message} @ $"]) from None
    data = {
        "sku": row[0],
        "source": row[1],
        "at": row[2],
        "origin_account": row[3],
        "sent": sent,
        "skipped": skipped,
    }
    return structure(data, SyncHistoryRecord)
