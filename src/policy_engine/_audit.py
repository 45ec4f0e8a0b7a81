"""Auditing decisions: stamps, a product's timeline, and replaying a log under a configuration.

A connector stamps each result with :func:`stamp_for` and :func:`stamped` (which decision, which
configuration revision, which engine version) and logs it with its input
(:func:`~policy_engine.log_decision` with ``change=``, :func:`~policy_engine.log_stock_sync`
with ``event=`` and ``listings=``). Later:

- :func:`timeline` answers "why is it 0 on Amazon?": one product's sync decisions, feeds and
  stock pushes, oldest first, each with its reasons and the configuration revision that decided;
- :func:`replay` decides the logged inputs again under another configuration and reports what
  would change, with the count of each reason code before and after.

Nothing here reads a clock; only :func:`stamp_for` without a ``decision_id`` draws a random one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import attrs

from policy_engine._batch import gc_paused
from policy_engine._config import Configuration, config_revision
from policy_engine._errors import PolicyConfigError
from policy_engine._listing import ListingOutcome, sync_listing
from policy_engine._logs import (
    _ACTIVITY_COLUMNS,
    _FEED_COLUMNS,
    _HISTORY_COLUMNS,
    _ORDER_COLUMNS,
    ActivityRecord,
    FeedRecord,
    LogRecord,
    OrderRecord,
    _activity_record,
    _feed_record,
    _history_record,
    _order_record,
    activity_history,
    feed_history,
    order_history,
    read_json_lines,
    select_statement,
    sync_history,
)
from policy_engine._models import Product
from policy_engine._orders import OrderPlan
from policy_engine._serialization import LOAD, load_json_value, structure
from policy_engine._stamp import Stamp
from policy_engine._steps import Step
from policy_engine._stock_sync import (
    ChannelListing,
    StockEvent,
    StockSyncPlan,
    SyncHistoryRecord,
    plan_stock_sync,
)
from policy_engine._sync import Listing, ProductChange, SyncDecision
from policy_engine._validation import FrozenDict
from policy_engine._version import __version__

__all__ = [
    "ReasonCount",
    "ReplayChange",
    "ReplayReport",
    "TimelineEntry",
    "read_log",
    "replay",
    "stamp_for",
    "stamped",
    "timeline",
]

# ------------------------------------------------------------------------------------- stamps

_REVISIONS: dict[int, tuple[weakref.ref[Configuration], str]] = {}


def _forget(key: int, ref: weakref.ref[Configuration]) -> None:
    entry = _REVISIONS.pop(key, None)
    if entry is not None and entry[0] is not ref:
        _REVISIONS.setdefault(key, entry)  # another configuration under a reused id


def _revision(config: Configuration) -> str:
    """:func:`~policy_engine.config_revision`, computed once per configuration object."""
    key = id(config)
    entry = _REVISIONS.get(key)
    if entry is not None and entry[0]() is config:
        return entry[1]
    revision = config_revision(config)
    _REVISIONS[key] = (weakref.ref(config, lambda dead: _forget(key, dead)), revision)
    return revision


def stamp_for(config: Configuration, decision_id: str | None = None) -> Stamp:
    """The stamp of a decision taken under ``config``.

    ``config_revision`` is :func:`~policy_engine.config_revision` of the configuration (computed
    once per configuration object, so stamping in a loop costs little), ``engine_version`` this
    library's version. ``decision_id`` is the host's id for the decision (a request or message
    id); without one, a random UUID is drawn.

    >>> from policy_engine import default_config, stamp_for
    >>> stamp = stamp_for(default_config("otto"), "req-42")
    >>> stamp.decision_id, stamp.config_revision[:7]
    ('req-42', 'sha256:')

    Raises:
        PolicyConfigError: ``decision_id`` is not a non-empty string of at most 255
            characters.
    """
    return Stamp(
        decision_id=uuid.uuid4().hex if decision_id is None else decision_id,
        config_revision=_revision(config),
        engine_version=__version__,
    )


_R = TypeVar(
    "_R",
    SyncDecision,
    ListingOutcome,
    StockSyncPlan,
    OrderPlan,
    SyncHistoryRecord,
    ActivityRecord,
    FeedRecord,
)


def stamped(result: _R, stamp: Stamp) -> _R:
    """The result (or log record) with ``stamp``; a stock sync plan's history record too.

    A pure helper: the result is not changed, a copy carries the stamp. A result's stamp takes
    no part in its equality (the same decision taken twice is equal, whatever its id); a log
    record's does.

    Raises:
        PolicyConfigError: ``stamp`` is not a :class:`~policy_engine.Stamp`, or ``result`` is
            not a result that carries one.
    """
    if type(stamp) is not Stamp:
        raise PolicyConfigError([f"expected a Stamp, got {type(stamp).__name__} @ $.stamp"])
    if type(result) is StockSyncPlan:
        history = attrs.evolve(result.history, stamp=stamp)
        return attrs.evolve(result, history=history, stamp=stamp)
    if type(result) not in _STAMPABLE:
        known = ", ".join(sorted(cls.__name__ for cls in _STAMPABLE))
        message = f"cannot stamp {type(result).__name__} (stamped: {known}) @ $.result"
        raise PolicyConfigError([message])
    return attrs.evolve(result, stamp=stamp)


_STAMPABLE: frozenset[type[Any]] = frozenset(
    {
        SyncDecision,
        ListingOutcome,
        StockSyncPlan,
        OrderPlan,
        SyncHistoryRecord,
        ActivityRecord,
        FeedRecord,
    }
)


# ----------------------------------------------------------------------------------- timeline


@attrs.frozen(kw_only=True)
class TimelineEntry:
    """One event in a product's timeline (:func:`timeline`).

    Attributes:
        at: When it happened.
        kind: ``sync`` (a synchronization decision), ``feed`` (what a sync sent), ``stock``
            (a stock push to one account) or ``order`` (a channel order with a line of the
            product).
        account: The account, or ``None`` for a stock event that touched no listing.
        what: What happened, in a few words (``upload with template 'bags'``, ``quantity 7
            sent (sales_order)``, ``skipped (sales_order)``, ``order AE-1 created as
            000007``).
        reasons: Why: the decision's reasons, or a stock push's skip reason.
        config_revision: The revision of the configuration that decided, or ``None`` when the
            record was not stamped.
        decision_id: The decision's id, or ``None`` when the record was not stamped.
    """

    at: datetime
    kind: str
    account: str | None
    what: str
    reasons: tuple[Step, ...]
    config_revision: str | None
    decision_id: str | None


def _stamp_parts(stamp: Stamp | None) -> dict[str, str | None]:
    if stamp is None:
        return {"config_revision": None, "decision_id": None}
    return {"config_revision": stamp.config_revision, "decision_id": stamp.decision_id}


def _activity_entry(record: ActivityRecord) -> TimelineEntry:
    what = record.action.value
    if record.template is not None:
        what += f" with template {record.template!r}"
    return TimelineEntry(
        at=record.at,
        kind="sync",
        account=record.account,
        what=what,
        reasons=record.reasons,
        **_stamp_parts(record.stamp),
    )


def _feed_entry(record: FeedRecord) -> TimelineEntry:
    fields = ", ".join(sorted(field.value for field in record.fields)) or "nothing"
    sent = ", ".join(f"{key}={json.dumps(value)}" for key, value in record.payload.items())
    return TimelineEntry(
        at=record.at,
        kind="feed",
        account=record.account,
        what=f"sent {fields}" + (f": {sent}" if sent else ""),
        reasons=(),
        **_stamp_parts(record.stamp),
    )


def _history_entries(record: SyncHistoryRecord) -> Iterator[TimelineEntry]:
    source = record.source.value
    if record.origin_account is not None:
        source += f" from {record.origin_account}"
    stamp = _stamp_parts(record.stamp)
    for account, quantity in record.sent.items():
        yield TimelineEntry(
            at=record.at,
            kind="stock",
            account=account,
            what=f"quantity {quantity} sent ({source})",
            reasons=(),
            **stamp,
        )
    for account, code in record.skipped.items():
        yield TimelineEntry(
            at=record.at,
            kind="stock",
            account=account,
            what=f"skipped ({source})",
            reasons=(Step((code,)),),
            **stamp,
        )
    if not record.sent and not record.skipped:
        yield TimelineEntry(
            at=record.at,
            kind="stock",
            account=None,
            what=f"no listing to update ({source})",
            reasons=(),
            **stamp,
        )


def _order_entry(record: OrderRecord) -> TimelineEntry:
    what = (
        f"order {record.order_id} created as {record.store_order_id}"
        if record.create
        else f"order {record.order_id} skipped"
    )
    return TimelineEntry(
        at=record.at,
        kind="order",
        account=record.account,
        what=what,
        reasons=record.reasons,
        **_stamp_parts(record.stamp),
    )


_KIND_ORDER = {"order": 0, "stock": 1, "sync": 2, "feed": 3}


def timeline(
    connection_or_path: sqlite3.Connection | str | os.PathLike[str],
    sku: str,
    *,
    account: str | None = None,
) -> list[TimelineEntry]:
    """One product's timeline from an SQLite log, oldest first.

    Its synchronization decisions (activity records), what was sent (feed records), its stock
    pushes (sync history, one entry per account sent to or skipped) and the channel orders with
    a line of it (order records), each with its reasons and the configuration revision and
    decision id of its stamp. ``account`` keeps that account's entries only. Entries at the same
    time keep the order they were written in, orders before stock pushes before decisions
    before feeds.

    Raises:
        FileNotFoundError: the path does not exist.
        PolicyConfigError: a stored row is not a valid record.
    """
    entries: list[TimelineEntry] = []
    entries.extend(_activity_entry(r) for r in reversed(activity_history(connection_or_path, sku)))
    entries.extend(_feed_entry(r) for r in reversed(feed_history(connection_or_path, sku)))
    for record in reversed(sync_history(connection_or_path, sku)):
        entries.extend(_history_entries(record))
    entries.extend(_order_entry(r) for r in reversed(order_history(connection_or_path, sku)))
    if account is not None:
        entries = [entry for entry in entries if entry.account == account]
    entries.sort(key=lambda entry: (entry.at, _KIND_ORDER[entry.kind]))
    return entries


# ------------------------------------------------------------------------------------- replay


@attrs.frozen(kw_only=True)
class ReplayChange:
    """One difference between a logged decision and the same input decided again.

    Attributes:
        at: When the logged decision was taken.
        sku: The product's SKU.
        account: The account.
        what: ``action``, ``template`` or ``reasons`` (a sync decision: the action, the listing
            template, the list of reason codes), ``stock`` (what a stock push sent: ``{"quantity":
            n}`` or ``{"skipped": code}``), or ``error`` (the input cannot be decided under the
            new configuration: an unknown account, say).
        before: The logged value (JSON-compatible).
        after: The value decided again (JSON-compatible).
        decision_id: The logged decision's id, or ``None`` when it was not stamped.
    """

    at: datetime
    sku: str
    account: str
    what: str
    before: Any = attrs.field(metadata={LOAD: load_json_value})
    after: Any = attrs.field(metadata={LOAD: load_json_value})
    decision_id: str | None = None


@attrs.frozen(kw_only=True)
class ReasonCount:
    """How often a reason code was given in the log, and when decided again.

    Attributes:
        code: The reason code (a sync decision's reason, or a stock push's skip reason).
        before: Its count in the logged decisions.
        after: Its count in the decisions taken again.
    """

    code: str
    before: int
    after: int


@attrs.frozen(kw_only=True)
class ReplayReport:
    """What :func:`replay` found.

    Attributes:
        decisions: How many logged decisions were decided again (activity records with their
            change, history records with their event and listings).
        changed: How many of them came out differently.
        not_replayable: Records that could not be replayed: activity and history records logged
            without their input, feed records (what was sent, not a decision) and order records
            (an order is planned against the whole catalog, which the log does not hold).
        changes: Each difference, in log order.
        reasons: Each reason code with its count before and after, sorted by code.
        revisions: Each configuration revision found in the log's stamps, with its count of
            decisions (``unstamped`` for those without a stamp).
    """

    decisions: int
    changed: int
    not_replayable: int
    changes: tuple[ReplayChange, ...]
    reasons: tuple[ReasonCount, ...]
    revisions: FrozenDict[str, int]


def _codes(reasons: Iterable[Step]) -> list[str]:
    return [step[0] for step in reasons]


_CHANGE_KEYS = frozenset({"kind", "product", "changed", "listing"})

#: Inputs decoded at most this many at a time: a log holds the same input many times (one
#: product change decided for several accounts, a stock event for several listings), and
#: loading one is the dearest part of a replay.
_CACHED_INPUTS = 16_384


#: A decision as replay compares it: the action, the template and the reason codes.
_Decided = tuple[str, str | None, list[str]]


class _Logged(NamedTuple):
    """What a logged sync decision was: where, when, and what it decided."""

    at: datetime
    account: str
    sku: str
    action: str
    template: str | None
    codes: list[str]
    decision_id: str | None
    revision: str | None


class _Replayer:
    """Replays logged decisions one by one, collecting the changes and the counts."""

    def __init__(self, config: Configuration) -> None:
        self.config = config
        self.decisions = self.changed = self.not_replayable = 0
        self.changes: list[ReplayChange] = []
        self.before: Counter[str] = Counter()
        self.after: Counter[str] = Counter()
        self.revisions: Counter[str] = Counter()
        self._inputs: dict[str, Any] = {}
        self._reasons: dict[str, list[str]] = {}
        self._decided: dict[tuple[str, str, date], _Decided | str] = {}

    def add(self, record: LogRecord) -> None:
        """Replay one record (a record without its input is counted as not replayable)."""
        if type(record) is ActivityRecord and record.change is not None:
            logged = _Logged(
                at=record.at,
                account=record.account,
                sku=record.sku,
                action=record.action.value,
                template=record.template,
                codes=_codes(record.reasons),
                decision_id=None if record.stamp is None else record.stamp.decision_id,
                revision=None if record.stamp is None else record.stamp.config_revision,
            )
            self.sync(logged, record.change)
        elif (
            type(record) is SyncHistoryRecord
            and record.event is not None
            and record.listings is not None
        ):
            self.stock(record, record.event, record.listings)
        else:
            self.not_replayable += 1

    def _count(self, decision_id: str | None, revision: str | None) -> str | None:
        self.decisions += 1
        self.revisions["unstamped" if revision is None else revision] += 1
        return decision_id

    def decide(self, change: ProductChange, account: str, day: date) -> _Decided | str:
        """The decision's action, template and reason codes, or the error's message."""
        try:
            decision = sync_listing(self.config, change, account, on=day)
        except PolicyConfigError as error:
            return error.errors[0]
        return (decision.action.value, decision.template, [step[0] for step in decision.reasons])

    def sync(self, logged: _Logged, change: ProductChange, text: str | None = None) -> None:
        """Decide a logged product change again and compare.

        ``text``, the change's JSON as logged, keys a cache of decisions: the same input on the
        same account and day is decided once (a decision is a pure function of them).
        """
        decision_id = self._count(logged.decision_id, logged.revision)
        before = logged.codes
        self.before.update(before)
        changes = self.changes
        where = (logged.at, logged.sku, logged.account)
        day = logged.at.date()
        decided: _Decided | str | None = None
        if text is None:
            decided = self.decide(change, logged.account, day)
        else:
            key = (text, logged.account, day)
            decided = self._decided.get(key)
            if decided is None:
                decided = self.decide(change, logged.account, day)
                if len(self._decided) >= _CACHED_INPUTS:
                    del self._decided[next(iter(self._decided))]
                self._decided[key] = decided
        if isinstance(decided, str):
            self.changed += 1
            changes.append(_change(where, "error", logged.action, decided, decision_id))
            return
        action, template, after = decided
        self.after.update(after)
        found = len(changes)
        if action != logged.action:
            changes.append(_change(where, "action", logged.action, action, decision_id))
        if template != logged.template:
            changes.append(_change(where, "template", logged.template, template, decision_id))
        if before != after:
            changes.append(_change(where, "reasons", before, after, decision_id))
        self.changed += len(changes) > found

    def stock(
        self,
        record: SyncHistoryRecord,
        event: StockEvent,
        listings: tuple[ChannelListing, ...],
    ) -> None:
        """Plan a logged stock event again and compare, account by account."""
        stamp = record.stamp
        decision_id = self._count(
            None if stamp is None else stamp.decision_id,
            None if stamp is None else stamp.config_revision,
        )
        self.before.update(record.skipped.values())
        at, sku = record.at, record.sku
        try:
            plan = plan_stock_sync(event, listings, self.config)
        except PolicyConfigError as error:
            self.changed += 1
            account = listings[0].account if listings else ""
            self.changes.append(
                _change((at, sku, account), "error", None, error.errors[0], decision_id)
            )
            return
        history = plan.history
        self.after.update(history.skipped.values())
        found = len(self.changes)
        accounts = (*record.sent, *record.skipped, *history.sent, *history.skipped)
        for account in dict.fromkeys(accounts):
            before = _push(record, account)
            after = _push(history, account)
            if before != after:
                self.changes.append(
                    _change((at, sku, account), "stock", before, after, decision_id)
                )
        self.changed += len(self.changes) > found

    def _cached(self, key: str, load: Callable[[], Any]) -> Any:
        inputs = self._inputs
        found = inputs.get(key)
        if found is None:
            if len(inputs) >= _CACHED_INPUTS:
                del inputs[next(iter(inputs))]  # the oldest
            found = inputs[key] = load()
        return found

    def load_change(self, text: str) -> ProductChange:
        """A logged product change (JSON text) as a model.

        Its product and listing are decoded once while they are cached: the same product is
        logged with every account's decision, and again at each periodic sync.
        """
        found = self._inputs.get(text)
        if type(found) is ProductChange:
            return found
        data = json.loads(text)
        if type(data) is not dict or not data.keys() <= _CHANGE_KEYS:
            return structure(data, ProductChange)  # an odd input: the loader reports it
        product_data = data.get("product")
        listing_data = data.get("listing")
        product = self._cached(
            "p" + json.dumps(product_data), lambda: structure(product_data, Product)
        )
        listing = (
            None
            if listing_data is None
            else self._cached(
                "l" + json.dumps(listing_data), lambda: structure(listing_data, Listing)
            )
        )
        try:
            change = ProductChange(
                kind=data.get("kind"),
                product=product,
                changed=data.get("changed", ()),
                listing=listing,
            )
        except PolicyConfigError:
            change = structure(data, ProductChange)  # the loader's error, with its paths
        self._cached(text, lambda: change)
        return change

    def reason_codes(self, text: str) -> list[str]:
        """The codes of a logged list of reasons (JSON text), decoded once while cached."""
        found = self._reasons.get(text)
        if found is None:
            if len(self._reasons) >= _CACHED_INPUTS:
                self._reasons.clear()
            found = self._reasons[text] = [reason["code"] for reason in json.loads(text)]
        return found

    def report(self) -> ReplayReport:
        """What was found."""
        codes = sorted(set(self.before) | set(self.after))
        return ReplayReport(
            decisions=self.decisions,
            changed=self.changed,
            not_replayable=self.not_replayable,
            changes=tuple(self.changes),
            reasons=tuple(
                ReasonCount(code=code, before=self.before[code], after=self.after[code])
                for code in codes
            ),
            revisions=FrozenDict(sorted(self.revisions.items())),
        )


def _change(
    where: tuple[datetime, str, str], what: str, before: Any, after: Any, decision_id: Any
) -> ReplayChange:
    at, sku, account = where
    return ReplayChange(
        at=at,
        sku=sku,
        account=account,
        what=what,
        before=before,
        after=after,
        decision_id=decision_id,
    )


def _push(record: SyncHistoryRecord, account: str) -> dict[str, Any]:
    """What a stock push did for an account: the quantity sent, or the skip reason."""
    if account in record.sent:
        return {"quantity": record.sent[account]}
    return {"skipped": record.skipped.get(account)}


def replay(
    log: Iterable[LogRecord] | str | os.PathLike[str], config: Configuration
) -> ReplayReport:
    """Decide the logged inputs again under ``config`` and report what would change.

    ``log`` is a log file (SQLite or JSON Lines, see :func:`read_log`) or records. Each activity
    record that holds its product change is decided again with
    :func:`~policy_engine.sync_listing` (on the record's day, for prices with date windows) and
    compared with what was logged: the action, the template and the list of reason codes. Each
    history record that holds its stock event and listings is planned again with
    :func:`~policy_engine.plan_stock_sync` and compared per account (the quantity sent, or the
    skip reason). Other records are counted as not replayable. Like
    :func:`~policy_engine.preview_change`, but over the decisions a store really took.

    An input that the configuration cannot decide (an account it does not have) is a change
    ``error`` with the message; replaying never raises for one record.

    Raises:
        FileNotFoundError: ``log`` is a path that does not exist.
        PolicyConfigError: a stored SQLite row is not a valid record.
    """
    replayer = _Replayer(config)
    with gc_paused():  # replaying allocates much and frees it all: no cycle to collect
        if isinstance(log, str | os.PathLike):
            if _is_sqlite(log):
                _replay_sqlite(replayer, Path(log))
                return replayer.report()
            log = read_json_lines(log)
        for record in log:
            replayer.add(record)
    return replayer.report()


def _replay_sqlite(replayer: _Replayer, path: Path) -> None:
    """Replay an SQLite log straight from its rows (no record is built for a replayed row)."""
    connection = sqlite3.connect(path)
    try:
        statement = select_statement(connection, "activity", _ACTIVITY_COLUMNS)
        if statement is not None:
            for row in connection.execute(statement + " ORDER BY id"):
                text = row[9]
                if text is None:
                    replayer.not_replayable += 1
                    continue
                try:
                    change = replayer.load_change(text)
                    codes = replayer.reason_codes(row[5])
                    at = datetime.fromisoformat(row[0])
                except (ValueError, TypeError, KeyError, RecursionError):
                    _activity_record(row)  # raises the reader's error, naming the column
                    raise  # pragma: no cover - the reader raised above
                logged = _Logged(
                    at=at,
                    account=row[1],
                    sku=row[2],
                    action=row[3],
                    template=row[4],
                    codes=codes,
                    decision_id=row[6],
                    revision=row[7],
                )
                replayer.sync(logged, change, text)
        statement = select_statement(connection, "history", _HISTORY_COLUMNS)
        if statement is not None:
            for row in connection.execute(statement + " ORDER BY id"):
                record = _history_record(row)
                replayer.add(record)
        for table in ("feed", "orders"):
            if select_statement(connection, table, "id") is not None:
                count = connection.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
                replayer.not_replayable += count[0]
    finally:
        connection.close()


# ---------------------------------------------------------------------------------- reading logs

_SQLITE_HEADER = b"SQLite format 3\x00"


def read_log(path: str | os.PathLike[str]) -> Iterator[LogRecord]:
    """Every record of a log file, SQLite or JSON Lines (told apart by the file's first bytes).

    An SQLite log gives its activity records, then its history records, its feed records and its
    order records, each table in write order; a JSON Lines log gives its records in file order,
    bad lines skipped with a warning (see :func:`~policy_engine.read_json_lines`).

    Raises:
        FileNotFoundError: the path does not exist.
        PolicyConfigError: a stored SQLite row is not a valid record.
    """
    if not _is_sqlite(path):
        return read_json_lines(path)
    return _sqlite_records(Path(path))


def _is_sqlite(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as stream:
        return stream.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER


def _sqlite_records(path: Path) -> Iterator[LogRecord]:
    connection = sqlite3.connect(path)
    try:
        for table, columns, build in (
            ("activity", _ACTIVITY_COLUMNS, _activity_record),
            ("history", _HISTORY_COLUMNS, _history_record),
            ("feed", _FEED_COLUMNS, _feed_record),
            ("orders", _ORDER_COLUMNS, _order_record),
        ):
            statement = select_statement(connection, table, columns)
            if statement is None:
                continue
            for row in connection.execute(statement + " ORDER BY id"):
                yield build(row)
    finally:
        connection.close()
