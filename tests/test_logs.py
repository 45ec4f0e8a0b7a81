"""Log records and sinks: spec section 11 (and the log switches of 7.4, rule 5)."""

from __future__ import annotations

import io
import json
import pickle
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

import policy_engine as pe
from policy_engine import (
    ActivityRecord,
    ChannelListing,
    FeedRecord,
    FrozenDict,
    JsonLinesSink,
    ListingTemplate,
    LogRecord,
    LogSink,
    PolicyConfigError,
    Product,
    ProductChange,
    SqliteSink,
    Step,
    Stock,
    StockEvent,
    StockEventSource,
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
        """A naive time, an infinite number in the payload and a non-Step reason are refused."""
        with pytest.raises(PolicyConfigError) as caught:
            FeedRecord(
                at=datetime(2024, 5, 1),  # noqa: DTZ001 - the point of the test
                account="otto",
                sku="",
                fields=["quantity", "colour"],
                payload={"price": float("inf")},
            )
        assert caught.value.errors == [
            "must include a time zone offset (e.g. 2024-05-01T09:30:00+00:00) @ $.at",
            "must not be empty @ $.sku",
            (
                "unknown sync field 'colour' (known: 'quantity', 'price', 'title', 'description',"
                " 'images', 'identifiers', 'category', 'attributes', 'gpsr', 'shipping_policy',"
                " 'return_policy', 'fitment', 'size_chart', 'weight', 'other') @ $.fields"
            ),
            "payload 'price': expected a finite number, got inf @ $.payload",
        ]
        with pytest.raises(PolicyConfigError) as caught:
            ActivityRecord(at=AT, account="a", sku="S", action="sell", reasons=[("x",)])
        assert caught.value.errors == [
            (
                "must be one of 'none', 'upload', 'update', 'update_price_inventory', 'delist',"
                " 'stop', 'relist' (got 'sell') @ $.action"
            ),
            "expected reasons (Step), got a list in the list @ $.reasons",
        ]

    def test_record_checks_more(self) -> None:
        """Odd payload keys, values that are not JSON and non-mapping payloads are refused."""
        for payload, message in [
            ({"": 1}, "payload keys must be non-empty strings"),
            ({"images": [b"x"]}, "payload 'images'[0]: expected a JSON value, got a bytes"),
            (
                {"n": {str(i): i for i in range(10_001)}},
                "payload 'n': must have at most 10000 items (got 10001)",
            ),
            ({str(i): i for i in range(10_001)}, "must have at most 10000 items (got 10001)"),
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

    def test_history_record_built_in_python(self, tmp_path: Path) -> None:
        """A history record built from a source name and plain dicts is converted, as loading
        converts it: it hashes, is stored by the SQLite sink and read back equal."""
        record = SyncHistoryRecord(
            sku="MJ01",
            source="sales_order",
            at=AT,
            origin_account=None,
            sent={"otto": 7},
            skipped={"ae": "not_listed"},
        )
        assert record.source is StockEventSource.SALES_ORDER
        assert type(record.sent) is FrozenDict
        assert type(record.skipped) is FrozenDict
        loaded = structure(unstructure(record), SyncHistoryRecord)
        assert loaded == record
        assert hash(loaded) == hash(record)
        with SqliteSink(tmp_path / "log.db") as sink:
            assert sink.write([record]) == 1
        assert sync_history(tmp_path / "log.db", "MJ01") == [record]

    def test_history_record_checks(self) -> None:
        """A history record built with bad values is refused at construction, every problem
        with its path."""
        with pytest.raises(PolicyConfigError) as caught:
            SyncHistoryRecord(
                sku="",
                source="pos",
                at=datetime(2024, 5, 1),  # noqa: DTZ001 - the point of the test
                origin_account="",
                sent={"otto": -1},
                skipped={"ae": 3},
            )
        assert caught.value.errors == [
            "must not be empty @ $.sku",
            (
                "must be one of 'sales_order', 'purchase_order', 'work_order',"
                " 'manual_adjustment', 'file_upload', 'inventory_feed', 'channel_order'"
                " (got 'pos') @ $.source"
            ),
            "must include a time zone offset (e.g. 2024-05-01T09:30:00+00:00) @ $.at",
            "must not be empty @ $.origin_account",
            (
                "expected account id -> quantity sent, an integer between 0 and"
                " 9007199254740991 (got -1 for 'otto') @ $.sent"
            ),
            "expected account id -> reason code, a non-empty string (got 3 for 'ae') @ $.skipped",
        ]
        for sent, message in [
            ([("otto", 1)], "expected an object of account id -> quantity sent, got a list"),
            ({"": 1}, "account ids must be non-empty strings (got the key '')"),
            ({"otto": True}, "expected account id -> quantity sent, an integer between 0 and"),
        ]:
            with pytest.raises(PolicyConfigError) as caught:
                SyncHistoryRecord(
                    sku="MJ01",
                    source="sales_order",
                    at=AT,
                    origin_account=None,
                    sent=sent,
                    skipped={},
                )
            (error,) = caught.value.errors
            assert error.startswith(message)
            assert error.endswith("@ $.sent")

    def test_payload_loading_problems(self) -> None:
        """Loaded from JSON, every bad payload value is reported with its key's path."""
        data = {
            "at": "2024-05-01T09:30:00+00:00",
            "account": "a",
            "sku": "S",
            "fields": [],
            "payload": {"price": float("nan"), "": 1, "tags": ["a", 2**60], "ok": ["a", 1.5]},
        }
        with pytest.raises(PolicyConfigError) as caught:
            structure(data, FeedRecord)
        assert caught.value.errors == [
            "expected a finite number, got nan @ $.payload.price",
            "payload keys must be non-empty strings @ $.payload",
            (
                "must be between -9007199254740991 and 9007199254740991 (got 1152921504606846976)"
                " @ $.payload.tags[1]"
            ),
        ]
        with pytest.raises(
            PolicyConfigError, match=r"expected an object, got a list @ \$\.payload"
        ):
            structure({**data, "payload": []}, FeedRecord)
        with pytest.raises(PolicyConfigError, match=r"must have at most 10000 items"):
            structure({**data, "payload": {str(i): i for i in range(10_001)}}, FeedRecord)

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
            (
                "expected an ActivityRecord, FeedRecord, SyncHistoryRecord or OrderRecord, got an"
                " object @ $[1]"
            )
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
        """With ``on_bad_lines="raise"``, a bad line is a PolicyConfigError naming the line."""
        stream = io.StringIO(
            json.dumps({"type": "history", **unstructure(_history())}) + "\n" + text
        )
        with pytest.raises(PolicyConfigError) as caught:
            list(read_json_lines(stream, on_bad_lines="raise"))
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
            assert connection.execute("PRAGMA user_version").fetchone() == (2,)
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
            with pytest.raises(
                PolicyConfigError,
                match=r"the stored sent/skipped columns are not JSON \(got 'x', '\{\}'\)",
            ):
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


class TestGivenMessages:
    """A reason's message given by the connector is kept on every path (build, write, read)."""

    def _record(self) -> ActivityRecord:
        own = pe.step_with_message(("price_rejected", "19.90"), "Otto refused the price 19.90 EUR")
        upload = pe.step_with_message(_decision().reasons[0], "uploaded by the nightly job")
        return ActivityRecord(
            at=AT, account="otto", sku="MJ01", action="upload", reasons=[upload, own]
        )

    def test_built_in_python(self) -> None:
        """A step with a given message keeps its code and args and reads back the given text."""
        record = self._record()
        assert [(step.code, step.args, step.message) for step in record.reasons] == [
            ("upload", ("all",), "uploaded by the nightly job"),
            ("price_rejected", ("19.90",), "Otto refused the price 19.90 EUR"),
        ]
        assert isinstance(record.reasons[0], Step)
        assert record.reasons[0] != _decision().reasons[0]  # the text is part of the reason
        assert record.reasons[1] == ("price_rejected", "19.90")  # a plain tuple has no text
        assert (
            pe.step_with_message(_decision().reasons[0], _decision().reasons[0].message)
            == (_decision().reasons[0])
        )
        assert repr(record.reasons[1]) == (
            "Step(code='price_rejected', args=('19.90',), message='Otto refused the price 19.90 EUR')"
        )
        assert pickle.loads(pickle.dumps(record)) == record

    def test_decision_reasons_keep_their_message(self) -> None:
        """``activity_record`` and ``log_decision`` keep a message set on a decision's reason."""
        decision = attrs.evolve(
            _decision(),
            reasons=(pe.step_with_message(("manual_push",), "pushed by the shop owner"),),
        )
        sink = _ListSink()
        log_decision(sink, decision, account="otto", sku="MJ01", at=AT)
        assert sink.batches[0][0].reasons[0].message == "pushed by the shop owner"  # type: ignore[union-attr]

    def test_loaded_from_json(self) -> None:
        """A message in the JSON form is kept when it differs from the code's template text."""
        data = unstructure(self._record())
        assert [reason["message"] for reason in data["reasons"]] == [
            "uploaded by the nightly job",
            "Otto refused the price 19.90 EUR",
        ]
        loaded = structure(data, ActivityRecord)
        assert loaded == self._record()
        assert [step.message for step in loaded.reasons] == [
            "uploaded by the nightly job",
            "Otto refused the price 19.90 EUR",
        ]
        plain = structure(unstructure(_history_activity()), ActivityRecord)
        assert type(plain.reasons[0]) is Step  # the template's own text: a plain step

    def test_loading_problems_keep_their_paths(self) -> None:
        """A bad reason in JSON is reported under its index."""
        data = unstructure(self._record())
        data["reasons"] = [{"code": "x", "message": 3}, {"args": []}, "x"]
        with pytest.raises(PolicyConfigError) as caught:
            structure(data, ActivityRecord)
        assert caught.value.errors == [
            "expected a string, got an integer @ $.reasons[0].message",
            "required field missing @ $.reasons[1].code",
            "expected an object, got a string @ $.reasons[2]",
        ]
        with pytest.raises(PolicyConfigError, match=r"expected a list, got a string @ \$\.reasons"):
            structure({**data, "reasons": "x"}, ActivityRecord)
        with pytest.raises(PolicyConfigError, match=r"must have at most 10000 items"):
            structure({**data, "reasons": [{"code": "x"}] * 10_001}, ActivityRecord)

    def test_step_with_message_checks(self) -> None:
        """The message must be text; the step a tuple starting with its code."""
        with pytest.raises(
            PolicyConfigError, match=r"expected a string, got an integer @ \$\.message"
        ):
            pe.step_with_message(("x",), 3)  # type: ignore[arg-type]
        with pytest.raises(
            PolicyConfigError, match=r"expected a step \(code, \*args\), got a list"
        ):
            pe.step_with_message([], "x")  # type: ignore[arg-type]
        with pytest.raises(PolicyConfigError, match=r"at most 65536 characters"):
            pe.step_with_message(("x",), "m" * 65_537)

    def test_json_lines_round_trip(self) -> None:
        """Written to a JSON Lines log and read back, the given messages are there."""
        stream = io.StringIO()
        JsonLinesSink(stream).write([self._record()])
        stream.seek(0)
        (read,) = read_json_lines(stream)
        assert [step.message for step in read.reasons] == [  # type: ignore[union-attr]
            "uploaded by the nightly job",
            "Otto refused the price 19.90 EUR",
        ]

    def test_sqlite_round_trip(self, tmp_path: Path) -> None:
        """Stored in SQLite, the row holds the given messages and ``activity_history`` reads them."""
        with SqliteSink(tmp_path / "log.db") as sink:
            sink.write([self._record(), _history_activity()])
            (row,) = sink.connection.execute("SELECT reasons FROM activity LIMIT 1").fetchone()
        assert [reason["message"] for reason in json.loads(row)] == [
            "uploaded by the nightly job",
            "Otto refused the price 19.90 EUR",
        ]
        found = pe.activity_history(tmp_path / "log.db", "MJ01")
        assert found == [_history_activity(), self._record()]
        assert found[1].reasons[1].message == "Otto refused the price 19.90 EUR"


def _history_activity() -> ActivityRecord:
    return activity_record(_decision(), account="ae", sku="MJ01", at=AT)


#: Any JSON value a marketplace request may hold (finite numbers, text keys), a few levels deep.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


def _frozen(value: Any) -> bool:
    if isinstance(value, dict):
        return type(value).__name__ == "FrozenDict" and all(map(_frozen, value.values()))
    if isinstance(value, list):
        return False
    if isinstance(value, tuple):
        return all(map(_frozen, value))
    return True


REQUEST = {
    "offers": [
        {"sku": "MJ01-XS", "price": {"amount": Decimal("19.90"), "currency": "EUR"}, "qty": 7},
        {"sku": "MJ01-S", "price": {"amount": "21.90", "currency": "EUR"}, "weight": 0.25},
    ],
    "dry_run": False,
    "tags": ["summer", None],
}


class TestNestedPayload:
    """A feed payload holds any JSON value: a real marketplace request."""

    def test_nested_request(self) -> None:
        """Objects in lists in objects are stored frozen; Decimals become their strings."""
        record = FeedRecord(at=AT, account="otto", sku="MJ01", fields=["price"], payload=REQUEST)
        offers = record.payload["offers"]
        assert isinstance(offers, tuple)
        assert offers[0] == {
            "sku": "MJ01-XS",
            "price": {"amount": "19.90", "currency": "EUR"},
            "qty": 7,
        }
        assert _frozen(record.payload)
        with pytest.raises(TypeError):
            offers[0]["qty"] = 8
        hash(record)
        assert unstructure(record)["payload"]["offers"][0]["price"] == {
            "amount": "19.90",
            "currency": "EUR",
        }

    def test_both_sinks_and_readers(self, tmp_path: Path) -> None:
        """The nested payload comes back equal from JSON Lines and from SQLite."""
        record = FeedRecord(at=AT, account="otto", sku="MJ01", fields=["price"], payload=REQUEST)
        with JsonLinesSink(tmp_path / "log.jsonl") as lines, SqliteSink(tmp_path / "log.db") as db:
            lines.write([record])
            db.write([record])
        assert list(read_json_lines(tmp_path / "log.jsonl")) == [record]
        assert pe.feed_history(tmp_path / "log.db", "MJ01") == [record]
        assert pe.feed_history(tmp_path / "log.db", "MJ01", limit=0) == []

    def test_constructor_problems(self) -> None:
        """A value that is not JSON is refused, naming where it is inside the payload."""
        for payload, message in [
            (
                {"offers": [{"qty": float("nan")}]},
                "payload 'offers'[0].qty: expected a finite number, got nan",
            ),
            ({"a": {"b": 1j}}, "payload 'a'.b: expected a JSON value, got a complex"),
            ({"a": {3: "x"}}, "payload 'a': object keys must be strings, got an integer"),
            ({"a": Decimal("NaN")}, "payload 'a': expected a finite number, got NaN"),
            (
                {"a": 2**53},
                "payload 'a': must be between -9007199254740991 and 9007199254740991 (got 9007199254740992)",
            ),
        ]:
            with pytest.raises(PolicyConfigError) as caught:
                FeedRecord(at=AT, account="a", sku="S", fields=[], payload=payload)
            assert caught.value.errors == [f"{message} @ $.payload"]

    def test_too_deep(self) -> None:
        """A payload nested deeper than MAX_JSON_DEPTH is refused, not a RecursionError."""
        deep: Any = "x"
        for _ in range(5_000):
            deep = [deep]
        with pytest.raises(PolicyConfigError, match=r"must be nested at most 256 levels deep"):
            FeedRecord(at=AT, account="a", sku="S", fields=[], payload={"a": deep})
        data = unstructure(FeedRecord(at=AT, account="a", sku="S", fields=[]))
        shallow: Any = "x"
        for _ in range(300):
            shallow = [shallow]
        with pytest.raises(
            PolicyConfigError, match=r"must be nested at most 256 levels deep @ \$\.payload\.a"
        ):
            structure({**data, "payload": {"a": shallow}}, FeedRecord)

    def test_loading_problems(self) -> None:
        """Loaded from JSON, each bad value is reported at its own path."""
        data = {
            "at": "2024-05-01T09:30:00+00:00",
            "account": "a",
            "sku": "S",
            "fields": [],
            "payload": {"offers": [{"qty": float("inf")}, {"sku": "x" * 65_537}], "": 1},
        }
        with pytest.raises(PolicyConfigError) as caught:
            structure(data, FeedRecord)
        assert caught.value.errors == [
            "expected a finite number, got inf @ $.payload.offers[0].qty",
            "must be at most 65536 characters long (got 65537) @ $.payload.offers[1].sku",
            "payload keys must be non-empty strings @ $.payload",
        ]

    @settings(max_examples=60)
    @given(st.dictionaries(st.text(min_size=1, max_size=6), JSON_VALUES, max_size=4))
    def test_round_trip(self, payload: dict[str, Any]) -> None:
        """Any JSON payload round-trips through ``structure``/``unstructure`` and JSON Lines."""
        record = FeedRecord(at=AT, account="a", sku="S", fields=[], payload=payload)
        assert _frozen(record.payload)
        assert structure(unstructure(record), FeedRecord) == record
        assert structure(json.loads(json.dumps(unstructure(record))), FeedRecord) == record
        stream = io.StringIO()
        JsonLinesSink(stream).write([record])
        stream.seek(0)
        assert list(read_json_lines(stream)) == [record]
