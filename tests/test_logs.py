"""Log records and sinks: spec section 11 (and the log switches of 7.4, rule 5)."""

from __future__ import annotations

import io
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine import (
    ActivityRecord,
    ChannelListing,
    FeedRecord,
    JsonLinesSink,
    ListingTemplate,
    LogRecord,
    LogSink,
    PolicyConfigError,
    Product,
    ProductChange,
    SqliteSink,
    Stock,
    StockEvent,
    SyncAction,
    SyncField,
    SyncHistoryRecord,
    SyncPolicy,
    activity_record,
    decide_sync,
    default_config,
    feed_record,
    log_decision,
    log_stock_sync,
    plan_stock_sync,
    read_json_lines,
    structure,
    sync_history,
    sync_history_json_lines,
    unstructure,
)
from policy_engine.testing import (
    activity_records,
    feed_records,
    log_records,
    sync_history_records,
)

AT = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
SHIRT = Product(sku="MJ01", name="Shirt", price=Decimal("19.90"))
TEMPLATES = (
    ListingTemplate(
        id="all", title="All", inventory_policy="i", pricing_policy="p", image_policy="g"
    ),
)
CREATED = ProductChange(kind="created", product=SHIRT)


def _decision(**switches: bool) -> Any:
    return decide_sync(
        CREATED, SyncPolicy(title="T", channel="otto", **switches), templates=TEMPLATES
    )


class _ListSink:
    """A sink that keeps what it is given (to see what the helpers write, and in how many batches)."""

    def __init__(self) -> None:
        self.batches: list[list[LogRecord]] = []
        self.closed = False

    def write(self, records: Iterable[LogRecord]) -> int:
        batch = list(records)
        self.batches.append(batch)
        return len(batch)

    def close(self) -> None:
        self.closed = True


def _history(sku: str = "MJ01", at: datetime = AT, **sent: int) -> SyncHistoryRecord:
    return structure(
        {
            "sku": sku,
            "source": "manual_adjustment",
            "at": at.isoformat(),
            "origin_account": None,
            "sent": sent,
            "skipped": {},
        },
        SyncHistoryRecord,
    )


def _stock_plan(config: Any, qty: int = 7) -> Any:
    event = StockEvent(sku="MJ01", source="sales_order", stock=Stock(qty=qty), at=AT)
    listings = [ChannelListing(account="otto", sku="MJ01", template="default")]
    return plan_stock_sync(event, listings, config)


class TestRecords:
    """Records built from decisions, and their checks."""

    def test_activity_record_from_decision(self) -> None:
        """An activity record holds the decision's action, reasons and template."""
        decision = _decision()
        record = activity_record(decision, account="otto", sku="MJ01", at=AT)
        assert record == ActivityRecord(
            at=AT,
            account="otto",
            sku="MJ01",
            action=SyncAction.UPLOAD,
            reasons=decision.reasons,
            template="all",
        )

    def test_feed_record_from_decision(self) -> None:
        """A feed record holds the fields sent and the payload summary; Decimals become strings."""
        record = feed_record(
            _decision(),
            account="otto",
            sku="MJ01",
            at=AT,
            payload={"price": Decimal("19.90"), "quantity": 7, "images": ["/a.jpg"]},
        )
        assert record.fields == {SyncField.QUANTITY, SyncField.PRICE}
        assert record.payload == {"price": "19.90", "quantity": 7, "images": ("/a.jpg",)}

    def test_feed_record_without_payload(self) -> None:
        """Without a payload the summary is empty."""
        assert feed_record(_decision(), account="otto", sku="MJ01", at=AT).payload == {}

    def test_record_checks(self) -> None:
        """A naive time, a float in the payload and a non-Step reason are refused."""
        with pytest.raises(PolicyConfigError) as caught:
            FeedRecord(
                at=datetime(2024, 5, 1),  # noqa: DTZ001 - the point of the test
                account="otto",
                sku="",
                fields=["quantity", "colour"],
                payload={"price": 19.9},
            )
        assert caught.value.errors == [
            "must include a time zone offset (e.g. 2024-05-01T09:30:00+00:00) @ $.at",
            "must not be empty @ $.sku",
            (
                "unknown sync field 'colour' (known: 'quantity', 'price', 'title', 'description',"
                " 'images', 'identifiers', 'category', 'attributes', 'gpsr', 'shipping_policy',"
                " 'return_policy', 'fitment', 'size_chart', 'weight', 'other') @ $.fields"
            ),
            (
                "payload 'price': expected a string, an integer, a boolean, a list of strings"
                " or null, got a number @ $.payload"
            ),
        ]
        with pytest.raises(PolicyConfigError) as caught:
            ActivityRecord(at=AT, account="a", sku="S", action="sell", reasons=[("x",)])
        assert caught.value.errors == [
            (
                "must be one of 'none', 'upload', 'update', 'update_price_inventory', 'delist'"
                " (got 'sell') @ $.action"
            ),
            "expected reasons (Step), got a list in the list @ $.reasons",
        ]

    def test_record_checks_more(self) -> None:
        """Odd payload keys, lists holding numbers and non-mapping payloads are refused."""
        for payload, message in [
            ({"": 1}, "payload keys must be non-empty strings"),
            ({"images": [1]}, "payload 'images': expected a list of strings, got an integer in it"),
            ([("a", 1)], "expected an object, got a list"),
        ]:
            with pytest.raises(PolicyConfigError) as caught:
                FeedRecord(at=AT, account="a", sku="S", fields=[], payload=payload)
            assert caught.value.errors == [f"{message} @ $.payload"]
        with pytest.raises(PolicyConfigError, match=r"expected a list of reasons, got a string"):
            ActivityRecord(at=AT, account="a", sku="S", action="none", reasons="nothing")
        with pytest.raises(
            PolicyConfigError, match=r"expected a string, got an integer @ \$\.template"
        ):
            ActivityRecord(at=AT, account="a", sku="S", action="none", reasons=(), template=3)  # type: ignore[arg-type]

    def test_payload_loading_problems(self) -> None:
        """Loaded from JSON, every bad payload value is reported with its key's path."""
        data = {
            "at": "2024-05-01T09:30:00+00:00",
            "account": "a",
            "sku": "S",
            "fields": [],
            "payload": {"price": 19.9, "": 1, "tags": ["a", 2], "ok": ["a"]},
        }
        with pytest.raises(PolicyConfigError) as caught:
            structure(data, FeedRecord)
        assert caught.value.errors == [
            (
                "expected a string, an integer, a boolean, a list of strings or null, got a number"
                " @ $.payload.price"
            ),
            "payload keys must be non-empty strings @ $.payload",
            "expected a list of strings, got an integer in it @ $.payload.tags",
        ]
        with pytest.raises(
            PolicyConfigError, match=r"expected an object, got a list @ \$\.payload"
        ):
            structure({**data, "payload": []}, FeedRecord)

    @given(log_records())
    def test_round_trip(self, record: LogRecord) -> None:
        """``structure(unstructure(x), type(x)) == x`` for every record type."""
        assert structure(unstructure(record), type(record)) == record


class TestLogDecision:
    """``log_decision`` writes what the sync policy's switches ask for (spec 7.4, rule 5)."""

    @pytest.mark.parametrize(
        ("activity_log", "feed_log", "expected"),
        [
            (True, False, [ActivityRecord]),
            (True, True, [ActivityRecord, FeedRecord]),
            (False, True, [FeedRecord]),
            (False, False, []),
        ],
    )
    def test_switches(self, activity_log: bool, feed_log: bool, expected: list[type[Any]]) -> None:
        """Activity with ``activity_log``, feed with ``feed_log``, both in one batch."""
        sink = _ListSink()
        decision = _decision(activity_log=activity_log, feed_log=feed_log)
        written = log_decision(
            sink, decision, account="otto", sku="MJ01", at=AT, payload={"quantity": 7}
        )
        assert written == len(expected)
        assert [[type(record) for record in batch] for batch in sink.batches] == (
            [expected] if expected else []
        )

    def test_no_feed_for_doing_nothing(self) -> None:
        """A decision to do nothing has no feed even with ``feed_log`` on."""
        policy = SyncPolicy(title="T", channel="otto", feed_log=True, product_upload=False)
        decision = decide_sync(CREATED, policy, templates=TEMPLATES)
        sink = _ListSink()
        log_decision(sink, decision, account="otto", sku="MJ01", at=AT)
        assert [type(record) for record in sink.batches[0]] == [ActivityRecord]


class TestLogStockSync:
    """``log_stock_sync`` writes the history and feed records the switches ask for."""

    def test_with_the_configuration(self) -> None:
        """Each account's own policy decides: history with activity_log, feed with feed_log."""
        config = default_config("otto")
        plan = _stock_plan(config)
        sink = _ListSink()
        assert log_stock_sync(sink, plan, config) == 1
        assert sink.batches == [[plan.history]]

        feeding = attrs.evolve(
            config,
            sync_policies={"default": SyncPolicy(title="F", feed_log=True, activity_log=False)},
        )
        sink = _ListSink()
        assert log_stock_sync(sink, plan, feeding) == 1
        (feed,) = sink.batches[0]
        assert feed == FeedRecord(
            at=AT, account="otto", sku="MJ01", fields=["quantity"], payload={"quantity": 7}
        )

    def test_with_one_policy(self) -> None:
        """One sync policy's switches apply to every account."""
        plan = _stock_plan(default_config("otto"))
        sink = _ListSink()
        policy = SyncPolicy(title="Both", feed_log=True)
        assert log_stock_sync(sink, plan, policy) == 2
        assert [type(record) for record in sink.batches[0]] == [SyncHistoryRecord, FeedRecord]
        assert log_stock_sync(sink, plan, SyncPolicy(title="Off", activity_log=False)) == 0
        assert len(sink.batches) == 1

    def test_untouched_plan_has_no_history_with_a_configuration(self) -> None:
        """A plan that touched no account leaves no history when the configuration decides."""
        config = default_config("otto")
        event = StockEvent(sku="NONE", source="sales_order", stock=Stock(qty=1), at=AT)
        sink = _ListSink()
        assert log_stock_sync(sink, plan_stock_sync(event, [], config), config) == 0
        assert sink.batches == []

    def test_unknown_account(self) -> None:
        """A plan made with another configuration is refused, naming the accounts."""
        plan = _stock_plan(default_config("otto"))
        with pytest.raises(PolicyConfigError) as caught:
            log_stock_sync(_ListSink(), plan, default_config("ebay"))
        assert caught.value.errors == ["unknown account 'otto' (known: ebay) @ $.history.sent.otto"]


class TestJsonLinesSink:
    """The JSON Lines sink: one object per line with a ``type``."""

    def test_lines(self, tmp_path: Path) -> None:
        """Each record is one line: its JSON with ``type`` first; appending keeps earlier lines."""
        path = tmp_path / "log.jsonl"
        activity = activity_record(_decision(), account="otto", sku="MJ01", at=AT)
        with JsonLinesSink(path) as sink:
            assert sink.write([activity, _history(otto=7)]) == 2
        with JsonLinesSink(str(path)) as sink:
            assert sink.write([]) == 0
            assert sink.write(iter([_history(otto=6)])) == 1
        lines = path.read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["type"] for line in lines] == ["activity", "history", "history"]
        assert json.loads(lines[1]) == {"type": "history", **unstructure(_history(otto=7))}
        assert list(read_json_lines(path)) == [activity, _history(otto=7), _history(otto=6)]

    def test_stream_left_open(self) -> None:
        """A stream given by the caller is written to and left open."""
        stream = io.StringIO()
        sink = JsonLinesSink(stream)
        sink.write([_history()])
        sink.close()
        assert not stream.closed
        stream.seek(0)
        assert list(read_json_lines(stream)) == [_history()]

    def test_not_a_record(self, tmp_path: Path) -> None:
        """A value that is not a record is refused and nothing of the batch is written."""
        path = tmp_path / "log.jsonl"
        with JsonLinesSink(path) as sink, pytest.raises(PolicyConfigError) as caught:
            sink.write([_history(), {"sku": "MJ01"}])  # type: ignore[list-item]
        assert caught.value.errors == [
            "expected an ActivityRecord, FeedRecord or SyncHistoryRecord, got an object @ $[1]"
        ]
        assert path.read_text(encoding="utf-8") == ""

    def test_is_a_log_sink(self, tmp_path: Path) -> None:
        """Both sinks satisfy the ``LogSink`` protocol."""
        with JsonLinesSink(tmp_path / "a.jsonl") as lines, SqliteSink(tmp_path / "a.db") as db:
            assert isinstance(lines, LogSink)
            assert isinstance(db, LogSink)
        assert isinstance(_ListSink(), LogSink)

    @pytest.mark.parametrize(
        ("text", "error"),
        [
            ("{", "line 2: not JSON (Expecting property name enclosed in double quotes:"),
            ("[1]", "line 2: expected an object, got a list @ $"),
            ('{"sku": "S"}', "line 2: required field missing @ $.type"),
            (
                '{"type": "audit"}',
                "line 2: unknown record type 'audit' (known: 'activity', 'feed',",
            ),
            ('{"type": 3}', "line 2: unknown record type 3"),
            ('{"type": "history", "sku": "S"}', "line 2: required field missing @ $.source"),
        ],
    )
    def test_reading_errors(self, text: str, error: str) -> None:
        """A bad line is a PolicyConfigError naming the line."""
        stream = io.StringIO(
            json.dumps({"type": "history", **unstructure(_history())}) + "\n" + text
        )
        with pytest.raises(PolicyConfigError) as caught:
            list(read_json_lines(stream))
        assert caught.value.errors[0].startswith(error)

    def test_blank_lines_skipped(self) -> None:
        """Blank lines are skipped."""
        stream = io.StringIO(
            "\n" + json.dumps({"type": "history", **unstructure(_history())}) + "\n\n"
        )
        assert list(read_json_lines(stream)) == [_history()]

    @settings(max_examples=30)
    @given(st.lists(log_records(), max_size=6))
    def test_round_trip(self, records: list[LogRecord]) -> None:
        """What is written is read back equal, in order."""
        stream = io.StringIO()
        JsonLinesSink(stream).write(records)
        stream.seek(0)
        assert list(read_json_lines(stream)) == records


class TestSqliteSink:
    """The SQLite sink: WAL mode, three indexed tables, one transaction per batch."""

    def test_wal_and_schema(self, tmp_path: Path) -> None:
        """The database runs in WAL mode with the activity, feed and history tables indexed."""
        path = tmp_path / "log.db"
        SqliteSink(path).close()
        connection = sqlite3.connect(path)
        try:
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert connection.execute("PRAGMA user_version").fetchone() == (1,)
            names = {
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type != 'trigger'"
                )
            }
        finally:
            connection.close()
        assert {"activity", "feed", "history"} <= names
        assert {"activity_sku_at", "feed_sku_at", "history_sku_at"} <= names

    def test_rows(self, tmp_path: Path) -> None:
        """Each record becomes a row of its table; JSON columns hold reasons, fields, payloads."""
        decision = _decision(feed_log=True)
        with SqliteSink(tmp_path / "log.db") as sink:
            log_decision(sink, decision, account="otto", sku="MJ01", at=AT, payload={"quantity": 7})
            sink.write([_history(otto=7)])
            connection = sink.connection
            activity = connection.execute(
                "SELECT at, at_us, account, sku, action, template, reasons FROM activity"
            ).fetchall()
            feed = connection.execute("SELECT fields, payload FROM feed").fetchall()
            history = connection.execute("SELECT source, sent, skipped FROM history").fetchall()
        assert activity == [
            (
                "2024-05-01T09:30:00+00:00",
                1714555800000000,
                "otto",
                "MJ01",
                "upload",
                "all",
                json.dumps(
                    [
                        {
                            "code": "upload",
                            "args": ["all"],
                            "message": "lists the product on the channel with template 'all'",
                        },
                        {
                            "code": "template_assigned",
                            "args": ["all"],
                            "message": "assigns the product to template 'all' (Product Assign)",
                        },
                    ],
                    separators=(",", ":"),
                ),
            )
        ]
        assert feed == [('["price","quantity"]', '{"quantity":7}')]
        assert history == [("manual_adjustment", '{"otto":7}', "{}")]

    def test_one_transaction_per_batch(self, tmp_path: Path) -> None:
        """A batch that fails part-way stores nothing; the next batch is stored."""
        path = tmp_path / "log.db"
        with SqliteSink(path) as sink:
            sink.connection.execute(
                "CREATE TRIGGER no_x BEFORE INSERT ON feed WHEN NEW.sku = 'X'"
                " BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
            bad = FeedRecord(at=AT, account="a", sku="X", fields=[])
            with pytest.raises(sqlite3.IntegrityError):
                sink.write([_history(), bad])
            assert sync_history(sink.connection, "MJ01") == []
            assert sink.write([_history()]) == 1
            assert sink.write([]) == 0
        assert sync_history(path, "MJ01") == [_history()]

    def test_not_a_record(self, tmp_path: Path) -> None:
        """A value that is not a record is refused before anything is stored."""
        with SqliteSink(tmp_path / "log.db") as sink:
            with pytest.raises(PolicyConfigError, match=r"got a string @ \$\[0\]"):
                sink.write(["history"])  # type: ignore[list-item]
            assert sync_history(sink.connection, "MJ01") == []

    def test_history_newest_first(self, tmp_path: Path) -> None:
        """The history comes newest first whatever the offsets; same times latest-written first."""
        path = tmp_path / "log.db"
        plus_two = timezone(timedelta(hours=2))
        oldest = _history(at=AT, ae=1)
        newest = _history(at=datetime(2024, 5, 1, 12, 0, tzinfo=plus_two), ae=2)  # 10:00 UTC
        middle = _history(at=datetime(2024, 5, 1, 11, 45, tzinfo=plus_two), ae=3)  # 09:45 UTC
        same_time_later = _history(at=AT, ae=4)
        other = _history(sku="MJ02", at=AT, ae=5)
        with SqliteSink(path) as sink:
            sink.write([oldest, newest])
            sink.write([other, middle, same_time_later])
        assert sync_history(path, "MJ01") == [newest, middle, same_time_later, oldest]
        assert sync_history(str(path), "MJ01", limit=2) == [newest, middle]
        assert sync_history(path, "MJ01", limit=0) == []
        assert sync_history(path, "NOPE") == []

    def test_history_from_json_lines_matches(self, tmp_path: Path) -> None:
        """The JSON Lines reader gives the same history, in the same order."""
        plus_two = timezone(timedelta(hours=2))
        records: list[LogRecord] = [
            _history(at=AT, ae=1),
            _history(at=datetime(2024, 5, 1, 12, 0, tzinfo=plus_two), ae=2),
            _history(sku="MJ02", ae=3),
            activity_record(_decision(), account="ae", sku="MJ01", at=AT),
            _history(at=AT, ae=4),
        ]
        with JsonLinesSink(tmp_path / "log.jsonl") as lines, SqliteSink(tmp_path / "log.db") as db:
            lines.write(records)
            db.write(records)
        from_lines = sync_history_json_lines(tmp_path / "log.jsonl", "MJ01")
        assert from_lines == sync_history(tmp_path / "log.db", "MJ01")
        assert [record.sent for record in from_lines] == [{"ae": 2}, {"ae": 4}, {"ae": 1}]
        assert sync_history_json_lines(tmp_path / "log.jsonl", "MJ01", limit=1) == from_lines[:1]

    def test_reading_problems(self, tmp_path: Path) -> None:
        """A missing file, a bad limit, a database without history, a corrupt row."""
        with pytest.raises(FileNotFoundError):
            sync_history(tmp_path / "missing.db", "MJ01")
        assert not (tmp_path / "missing.db").exists()
        for limit in (-1, True, 1.5):
            with pytest.raises(PolicyConfigError, match=r"must be an integer >= 0 or null"):
                sync_history(tmp_path / "missing.db", "MJ01", limit=limit)  # type: ignore[arg-type]
        empty = sqlite3.connect(tmp_path / "empty.db")
        assert sync_history(empty, "MJ01") == []
        empty.close()
        with SqliteSink(tmp_path / "log.db") as sink:
            sink.connection.execute(
                "INSERT INTO history (at, at_us, sku, source, origin_account, sent, skipped)"
                " VALUES ('2024-05-01T09:30:00+00:00', 0, 'MJ01', 'sales_order', NULL, 'x', '{}')"
            )
            with pytest.raises(PolicyConfigError, match=r"not JSON objects"):
                sync_history(sink.connection, "MJ01")
            sink.connection.execute("UPDATE history SET sent = '{}', source = 'pos'")
            with pytest.raises(PolicyConfigError, match=r"\(got 'pos'\) @ \$\.source"):
                sync_history(sink.connection, "MJ01")

    @settings(max_examples=25)
    @given(st.lists(sync_history_records(sku=st.sampled_from(("A", "B"))), max_size=8))
    def test_history_round_trip(self, records: list[SyncHistoryRecord]) -> None:
        """Every history record written is read back equal, newest first."""
        with SqliteSink(":memory:") as sink:
            sink.write(records)
            for sku in ("A", "B"):
                found = sync_history(sink.connection, sku)
                mine = [record for record in records if record.sku == sku]
                assert Counter(found) == Counter(mine)
                assert [record.at for record in found] == sorted(
                    (record.at for record in mine), reverse=True
                )

    @settings(max_examples=15)
    @given(st.lists(st.one_of(activity_records(), feed_records()), max_size=5))
    def test_other_records_stored(self, records: list[LogRecord]) -> None:
        """Activity and feed records are stored one row each."""
        with SqliteSink(":memory:") as sink:
            assert sink.write(records) == len(records)
            counts = sum(
                sink.connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("activity", "feed")
            )
        assert counts == len(records)


class TestTwoWayChainLogged:
    """A stock sync logged to SQLite shows in the product's sync history."""

    def test_history_after_two_events(self, tmp_path: Path) -> None:
        """Two events on one product: the history shows both, newest first."""
        config = default_config("otto")
        path = tmp_path / "log.db"
        with SqliteSink(path) as sink:
            first = _stock_plan(config, qty=7)
            log_stock_sync(sink, first, config)
            event = StockEvent(
                sku="MJ01",
                source="channel_order",
                origin_account="otto",
                stock=Stock(qty=6),
                at=AT + timedelta(minutes=5),
            )
            listing = ChannelListing(
                account="otto", sku="MJ01", template="default", last_quantity=7
            )
            second = plan_stock_sync(event, [listing], config)
            log_stock_sync(sink, second, config)
        assert sync_history(path, "MJ01") == [second.history, first.history]
        assert [record.sent for record in sync_history(path, "MJ01")] == [{"otto": 6}, {"otto": 7}]
