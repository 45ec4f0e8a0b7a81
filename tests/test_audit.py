"""Stamped decisions, a product's timeline and replay (``policy-engine replay`` and ``why``)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine import (
    ActivityRecord,
    ChannelListing,
    FeedRecord,
    JsonLinesSink,
    Listing,
    OrderPlan,
    PolicyConfigError,
    Product,
    ProductChange,
    SqliteSink,
    Stamp,
    Stock,
    StockEvent,
    __version__,
    activity_history,
    activity_record,
    config_revision,
    default_config,
    evaluate_listing,
    evaluate_many,
    feed_history,
    load_config,
    log_decision,
    log_stock_sync,
    plan_stock_sync,
    read_json_lines,
    read_log,
    replay,
    stamp_for,
    stamped,
    structure,
    sync_history,
    sync_listing,
    timeline,
    unstructure,
)
from policy_engine.cli import main
from policy_engine.testing import products

ROOT = Path(__file__).resolve().parent.parent
OLD = load_config(ROOT / "examples" / "config.json")
NEW = load_config(ROOT / "examples" / "config-next.json")
AT = datetime(2026, 11, 23, 9, tzinfo=UTC)
BAG = Product(
    sku="24-MB01",
    name="Joust Duffle Bag",
    price="34.00",
    categories=("Gear/Bags",),
    stock=Stock(qty=12),
)


def bag_change(last_quantity: int | None = 20) -> ProductChange:
    """The bag's quantity changed; the listing remembers ``last_quantity``."""
    return ProductChange(
        kind="updated",
        product=BAG,
        changed=frozenset({"qty"}),
        listing=Listing(listed=True, template="bags", last_quantity=last_quantity),
    )


def write_log(path: Path) -> None:
    """A log of the bag: a sync decision per account, a feed and a stock event, stamped."""
    change = bag_change()
    with SqliteSink(path) as sink:
        for minute, account in enumerate(("ali-us", "tiktok-us")):
            decision = stamped(
                sync_listing(OLD, change, account, on=AT.date()), stamp_for(OLD, f"d-{account}")
            )
            log_decision(
                sink,
                decision,
                account=account,
                sku=BAG.sku,
                at=AT + timedelta(minutes=minute),
                change=change,
            )
        event = StockEvent(sku=BAG.sku, source="sales_order", stock=Stock(qty=30), at=AT)
        listings = [
            ChannelListing(account="ali-us", sku=BAG.sku, template="bags", last_quantity=20)
        ]
        plan = stamped(plan_stock_sync(event, listings, OLD), stamp_for(OLD, "stock-1"))
        log_stock_sync(sink, plan, OLD, event=event, listings=listings)
        sink.write(
            [
                FeedRecord(
                    at=AT + timedelta(minutes=5),
                    account="ali-us",
                    sku=BAG.sku,
                    fields=["quantity"],
                    payload={"quantity": 2},
                    stamp=stamp_for(OLD, "feed-1"),
                )
            ]
        )


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "log.db"
    write_log(path)
    return path


@pytest.fixture
def call(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the command line in this process: ``call(*args) -> (status, stdout, stderr)``."""
    monkeypatch.chdir(ROOT)

    def _call(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return _call


# ------------------------------------------------------------------------------------- stamps


class TestStamps:
    """A stamp names the decision, the configuration revision and the engine version."""

    def test_stamp_for_uses_the_configuration_revision(self) -> None:
        """The stamp carries config_revision(config), the version and the id given."""
        stamp = stamp_for(OLD, "req-1")
        assert stamp == Stamp(
            decision_id="req-1", config_revision=config_revision(OLD), engine_version=__version__
        )

    def test_stamp_for_draws_an_id_when_none_is_given(self) -> None:
        """Without an id, each stamp gets a different random one."""
        assert stamp_for(OLD).decision_id != stamp_for(OLD).decision_id

    def test_a_bad_decision_id_is_refused(self) -> None:
        """An empty id is refused with its path."""
        with pytest.raises(PolicyConfigError, match=r"must not be empty @ \$\.decision_id"):
            stamp_for(OLD, "")

    def test_stamped_results_keep_their_json_without_a_stamp(self) -> None:
        """An unstamped result dumps as before; a stamped one adds the stamp, and equals it."""
        decision = sync_listing(OLD, bag_change(), "ali-us", on=AT.date())
        assert "stamp" not in unstructure(decision)
        marked = stamped(decision, stamp_for(OLD, "x"))
        assert marked == decision
        assert unstructure(marked)["stamp"] == {
            "decision_id": "x",
            "config_revision": config_revision(OLD),
            "engine_version": __version__,
        }

    def test_stamped_outcome_and_plan(self) -> None:
        """Listing outcomes, stock plans (and their history) and order plans take a stamp."""
        stamp = stamp_for(OLD, "s")
        outcome = stamped(evaluate_listing(OLD, BAG, "ali-us", on=AT.date()), stamp)
        assert outcome.stamp is stamp
        event = StockEvent(sku=BAG.sku, source="sales_order", stock=Stock(qty=3), at=AT)
        listing = ChannelListing(account="ali-us", sku=BAG.sku, template="bags")
        plan = stamped(plan_stock_sync(event, [listing], OLD), stamp)
        assert plan.stamp is stamp
        assert plan.history.stamp is stamp
        order = structure(
            {
                "create": False,
                "reasons": [{"code": "already_imported", "args": ["1"]}],
                "store_order_id": None,
                "lines": [],
                "customer": None,
                "store_status": None,
                "create_invoice": False,
                "notify": False,
                "apply_store_taxes": False,
                "stock_changes": {},
                "placeholder_products": [],
            },
            OrderPlan,
        )
        assert stamped(order, stamp).stamp is stamp

    def test_stamped_refuses_what_it_cannot_stamp(self) -> None:
        """A value that carries no stamp, or a stamp that is not one, is refused."""
        with pytest.raises(PolicyConfigError, match=r"cannot stamp Product .* @ \$\.result"):
            stamped(BAG, stamp_for(OLD, "s"))  # type: ignore[type-var]
        with pytest.raises(PolicyConfigError, match=r"expected a Stamp, got dict @ \$\.stamp"):
            stamped(BAG, {"decision_id": "s"})  # type: ignore[arg-type, type-var]

    def test_a_batch_still_builds_unstamped_outcomes(self) -> None:
        """Outcomes built by the fast constructor (batch) have no stamp."""
        (outcome,) = evaluate_many(OLD, [BAG], accounts=["ali-us"])
        assert outcome.stamp is None

    @settings(max_examples=25)
    @given(product=products())
    def test_stamp_survives_the_json_round_trip(self, product: Product) -> None:
        """structure(unstructure(record)) gives the record back, stamp and change included."""
        change = ProductChange(kind="created", product=product)
        decision = stamped(sync_listing(OLD, change, "ali-us"), stamp_for(OLD, "r"))
        record = activity_record(decision, account="ali-us", sku=product.sku, at=AT, change=change)
        assert structure(unstructure(record), ActivityRecord) == record


# ----------------------------------------------------------------------------------- logging


class TestStampedLogs:
    """Log records carry the stamp and the input; the SQLite log indexes them."""

    def test_records_read_back_with_stamp_and_input(self, log: Path) -> None:
        """The SQLite log gives back the stamps, the change and the stock event's input."""
        (_latest, first) = activity_history(log, BAG.sku)
        assert first.stamp is not None
        assert first.stamp.decision_id == "d-ali-us"
        assert first.change == bag_change()
        (history,) = sync_history(log, BAG.sku)
        assert history.stamp is not None
        assert history.stamp.decision_id == "stock-1"
        assert history.event is not None
        assert history.listings is not None
        assert history.listings[0].last_quantity == 20
        (feed,) = feed_history(log, BAG.sku)
        assert feed.stamp is not None
        assert feed.stamp.decision_id == "feed-1"

    def test_stamp_columns_are_indexed(self, log: Path) -> None:
        """Each table has an index on decision_id and on config_revision."""
        with sqlite3.connect(log) as connection:
            names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            plan = connection.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM activity WHERE decision_id = 'd-ali-us'"
            ).fetchall()
        for table in ("activity", "feed", "history"):
            assert {f"{table}_decision_id", f"{table}_config_revision"} <= names
        assert "activity_decision_id" in str(plan)

    def test_a_version_1_log_still_opens_and_is_migrated(self, tmp_path: Path) -> None:
        """An old log is read as it is, and a sink adds the columns without losing a row."""
        path = tmp_path / "old.db"
        with sqlite3.connect(path) as connection:
            connection.executescript(
                """
                CREATE TABLE activity (id INTEGER PRIMARY KEY, at TEXT NOT NULL,
                    at_us INTEGER NOT NULL, account TEXT NOT NULL, sku TEXT NOT NULL,
                    action TEXT NOT NULL, template TEXT, reasons TEXT NOT NULL);
                INSERT INTO activity (at, at_us, account, sku, action, template, reasons)
                    VALUES ('2024-05-01T00:00:00+00:00', 0, 'otto', 'MJ01', 'none', NULL,
                    '[{"code": "nothing_changed", "args": []}]');
                PRAGMA user_version = 1;
                """
            )
        (old,) = activity_history(path, "MJ01")
        assert old.stamp is None
        assert old.change is None
        assert [entry.what for entry in timeline(path, "MJ01")] == ["none"]
        with SqliteSink(path) as sink:
            assert sink.connection.execute("PRAGMA user_version").fetchone() == (2,)
            decision = stamped(sync_listing(OLD, bag_change(), "ali-us"), stamp_for(OLD, "n"))
            log_decision(sink, decision, account="ali-us", sku="MJ01", at=AT, change=bag_change())
        newest, oldest = activity_history(path, "MJ01")
        assert oldest == old
        assert newest.stamp is not None
        assert newest.stamp.decision_id == "n"

    def test_json_lines_keep_stamp_and_input(self, tmp_path: Path) -> None:
        """A JSON Lines log keeps the stamp and input; an unstamped record's line is unchanged."""
        path = tmp_path / "log.jsonl"
        decision = sync_listing(OLD, bag_change(), "ali-us", on=AT.date())
        with JsonLinesSink(path) as sink:
            log_decision(sink, decision, account="ali-us", sku=BAG.sku, at=AT)
            log_decision(
                sink,
                stamped(decision, stamp_for(OLD, "j")),
                account="ali-us",
                sku=BAG.sku,
                at=AT,
                change=bag_change(),
            )
        first, _second = path.read_text("utf-8").splitlines()
        assert "stamp" not in json.loads(first)
        assert "change" not in json.loads(first)
        plain, marked = read_json_lines(path)
        assert isinstance(marked, ActivityRecord)
        assert marked.stamp is not None
        assert marked.change == bag_change()
        assert plain != marked

    def test_a_stored_input_that_is_not_json_is_reported(self, log: Path) -> None:
        """A corrupt input column is a PolicyConfigError naming the column."""
        with sqlite3.connect(log) as connection:
            connection.execute("UPDATE activity SET input = '{oops'")
        with pytest.raises(PolicyConfigError, match="the stored input column are not JSON"):
            activity_history(log, BAG.sku)
        with pytest.raises(PolicyConfigError, match="the stored input column are not JSON"):
            replay(log, NEW)


# ---------------------------------------------------------------------------------- timeline


class TestTimeline:
    """A product's decisions, feeds and stock pushes, oldest first, with their revisions."""

    def test_timeline_of_the_bag(self, log: Path) -> None:
        """Every entry in time order, each with its reasons and revision."""
        entries = timeline(log, BAG.sku)
        assert [(e.kind, e.account, e.what) for e in entries] == [
            ("stock", "ali-us", "skipped (sales_order)"),
            ("sync", "ali-us", "none with template 'bags'"),
            ("sync", "tiktok-us", "none with template 'bags'"),
            ("feed", "ali-us", "sent quantity: quantity=2"),
        ]
        assert [step.code for step in entries[1].reasons] == ["price_inventory_update", "unchanged"]
        assert {entry.config_revision for entry in entries} == {config_revision(OLD)}
        assert entries[0].decision_id == "stock-1"

    def test_timeline_of_one_account(self, log: Path) -> None:
        """--account keeps that account's entries."""
        assert {entry.account for entry in timeline(log, BAG.sku, account="tiktok-us")} == {
            "tiktok-us"
        }

    def test_stock_pushes_sent_and_untouched(self, tmp_path: Path) -> None:
        """A quantity sent is one entry; an event that touched no listing is one too."""
        path = tmp_path / "log.db"
        event = StockEvent(sku="X", source="manual_adjustment", stock=Stock(qty=30), at=AT)
        listing = ChannelListing(account="ali-us", sku="X", template="bags")
        with SqliteSink(path) as sink:
            sink.write([plan_stock_sync(event, [listing], OLD).history])
            sink.write([plan_stock_sync(event, [], OLD).history])
        entries = timeline(path, "X")
        assert [(e.account, e.what) for e in entries] == [
            ("ali-us", "quantity 20 sent (manual_adjustment)"),
            (None, "no listing to update (manual_adjustment)"),
        ]
        assert entries[0].config_revision is None


# ------------------------------------------------------------------------------------- replay


class TestReplay:
    """Logged inputs decided again under another configuration."""

    def test_replay_under_the_next_configuration(self, log: Path) -> None:
        """Raising the threshold's quantity to 30 makes the unchanged 20 a change to send."""
        report = replay(log, NEW)
        assert (report.decisions, report.changed, report.not_replayable) == (3, 3, 1)
        assert [(c.account, c.what, c.before, c.after) for c in report.changes] == [
            ("ali-us", "action", "none", "update_price_inventory"),
            (
                "ali-us",
                "reasons",
                ["price_inventory_update", "unchanged"],
                ["price_inventory_update"],
            ),
            ("tiktok-us", "action", "none", "update_price_inventory"),
            (
                "tiktok-us",
                "reasons",
                ["price_inventory_update", "unchanged"],
                ["price_inventory_update"],
            ),
            ("ali-us", "stock", {"skipped": "unchanged"}, {"quantity": 30}),
        ]
        counts = {count.code: (count.before, count.after) for count in report.reasons}
        assert counts == {"price_inventory_update": (2, 2), "unchanged": (3, 0)}
        assert dict(report.revisions) == {config_revision(OLD): 3}

    def test_replay_under_the_same_configuration_changes_nothing(self, log: Path) -> None:
        """Replaying under the configuration that decided finds no change."""
        report = replay(log, OLD)
        assert report.changed == 0
        assert report.changes == ()

    def test_records_and_file_replay_alike(self, log: Path) -> None:
        """replay(records) and replay(path) give the same report."""
        assert replay(read_log(log), NEW) == replay(log, NEW)

    def test_json_lines_log(self, tmp_path: Path) -> None:
        """A JSON Lines log is replayed too; an unstamped decision counts as 'unstamped'."""
        path = tmp_path / "log.jsonl"
        change = bag_change()
        with JsonLinesSink(path) as sink:
            decision = sync_listing(OLD, change, "ali-us", on=AT.date())
            log_decision(sink, decision, account="ali-us", sku=BAG.sku, at=AT, change=change)
            log_decision(sink, decision, account="ali-us", sku=BAG.sku, at=AT)
        report = replay(path, NEW)
        assert (report.decisions, report.changed, report.not_replayable) == (1, 1, 1)
        assert dict(report.revisions) == {"unstamped": 1}

    def test_an_unknown_account_is_a_change_not_an_exception(self, log: Path) -> None:
        """Under a configuration without the account, each decision is an 'error' change."""
        other = default_config("otto", account_id="otto")
        report = replay(log, other)
        assert report.changed == 3
        assert {change.what for change in report.changes} == {"error"}
        assert "unknown account 'ali-us'" in report.changes[0].after

    def test_sqlite_fast_path_falls_back_for_odd_inputs(self, tmp_path: Path) -> None:
        """A stored change with a key the fast path does not know is loaded by the loader."""
        path = tmp_path / "log.db"
        write_log(path)
        with sqlite3.connect(path) as connection:
            (text,) = connection.execute("SELECT input FROM activity LIMIT 1").fetchone()
            data = json.loads(text)
            data["extra"] = 1
            connection.execute("UPDATE activity SET input = ?", (json.dumps(data),))
        with pytest.raises(PolicyConfigError, match=r"unknown field @ \$\.change\.extra"):
            replay(path, NEW)

    def test_an_invalid_change_is_reported_with_its_path(self, tmp_path: Path) -> None:
        """A stored change whose kind is wrong is refused with its path."""
        path = tmp_path / "log.db"
        write_log(path)
        with sqlite3.connect(path) as connection:
            (text,) = connection.execute("SELECT input FROM activity LIMIT 1").fetchone()
            data = json.loads(text)
            data["kind"] = "renamed"
            connection.execute("UPDATE activity SET input = ?", (json.dumps(data),))
        with pytest.raises(PolicyConfigError, match=r"@ \$\.change\.kind"):
            replay(path, NEW)

    def test_a_stock_event_for_an_unknown_account(self, tmp_path: Path) -> None:
        """A logged stock event the configuration cannot plan is an 'error' change."""
        path = tmp_path / "log.db"
        write_log(path)
        report = replay(path, default_config("otto", account_id="otto"))
        (stock,) = [change for change in report.changes if change.after and "stock" in str(change)]
        assert stock.what == "error"

    @settings(max_examples=20)
    @given(quantities=st.lists(st.integers(0, 60), min_size=1, max_size=8))
    def test_replay_under_the_deciding_configuration_is_silent(self, quantities: list[int]) -> None:
        """Replaying decisions under the configuration that took them reports no change."""
        records = []
        for index, quantity in enumerate(quantities):
            product = Product(
                sku=f"P{index}",
                name="P",
                price="10.00",
                categories=("Gear/Bags",),
                stock=Stock(qty=quantity),
            )
            change = ProductChange(
                kind="updated",
                product=product,
                changed=frozenset({"qty"}),
                listing=Listing(listed=True, last_quantity=20),
            )
            decision = sync_listing(OLD, change, "ali-us", on=AT.date())
            records.append(
                activity_record(decision, account="ali-us", sku=product.sku, at=AT, change=change)
            )
        report = replay(records, OLD)
        assert (report.decisions, report.changed) == (len(quantities), 0)


# ------------------------------------------------------------------------------- command line


class TestReplayCommand:
    """``policy-engine replay LOG --config NEW``."""

    def test_table_and_reason_counts(self, call: Any, log: Path) -> None:
        """One row per change on stdout; the reason counts and a summary on stderr."""
        status, out, err = call("replay", str(log), "--config", "examples/config-next.json")
        assert status == 0
        lines = out.splitlines()
        assert lines[0].split() == [
            "at",
            "sku",
            "account",
            "what",
            "before",
            "after",
            "decision_id",
        ]
        assert len(lines) == 6
        assert "skipped unchanged" in lines[5]
        assert "quantity 30" in lines[5]
        assert "unchanged                     3        0  -3" in err
        assert "3 decisions replayed, 3 would change, 1 records not replayable" in err

    def test_json_and_fail_on_change(self, call: Any, log: Path) -> None:
        """--format json prints the report; --fail-on-change exits 1 when something changes."""
        status, out, _ = call(
            "replay",
            str(log),
            "--config",
            "examples/config-next.json",
            "-f",
            "json",
            "--fail-on-change",
        )
        assert status == 1
        assert json.loads(out)["changed"] == 3
        assert (
            call("replay", str(log), "--config", "examples/config.json", "--fail-on-change")[0] == 0
        )

    def test_bad_inputs(self, call: Any, log: Path, tmp_path: Path) -> None:
        """A missing log is a usage error; a file that is not a log reports its bad lines."""
        status, _, err = call("replay", "missing.db", "--config", "examples/config.json")
        assert (status, err) == (2, "missing.db: no such file\n")
        status, _, err = call("replay", str(tmp_path), "--config", "examples/config.json")
        assert status == 2
        assert "is a directory" in err
        junk = tmp_path / "junk.jsonl"
        junk.write_text("not a record\n", encoding="utf-8")
        status, _, err = call("replay", str(junk), "--config", "examples/config.json")
        assert status == 0
        assert "line 1: not JSON" in err
        assert "0 decisions replayed" in err
        with sqlite3.connect(log) as connection:
            connection.execute("UPDATE activity SET input = '{oops'")
        status, _, err = call("replay", str(log), "--config", "examples/config.json")
        assert status == 1
        assert "not JSON" in err

    def test_a_corrupt_database(self, call: Any, tmp_path: Path) -> None:
        """A file with an SQLite header but no database is reported, not a traceback."""
        path = tmp_path / "broken.db"
        path.write_bytes(b"SQLite format 3\x00" + b"\x01" * 200)
        status, _, err = call("replay", str(path), "--config", "examples/config.json")
        assert status == 1
        assert "not a readable log" in err


class TestWhyCommand:
    """``policy-engine why SKU --log DB``."""

    def test_timeline_table(self, call: Any, log: Path) -> None:
        """A row per entry with the short revision; the reasons' messages below."""
        status, out, _ = call("why", BAG.sku, "--log", str(log))
        assert status == 0
        lines = out.splitlines()
        assert lines[0].split() == [
            "at",
            "kind",
            "account",
            "what",
            "reasons",
            "revision",
            "decision_id",
        ]
        assert config_revision(OLD)[:19] in lines[1]
        assert "why:" in lines
        assert any("the channel already shows quantity 20" in line for line in lines)

    def test_json_and_account(self, call: Any, log: Path) -> None:
        """--format json gives the entries; --account narrows them."""
        status, out, _ = call("why", BAG.sku, "--log", str(log), "-a", "tiktok-us", "-f", "json")
        assert status == 0
        (entry,) = json.loads(out)
        assert entry["account"] == "tiktok-us"
        assert entry["config_revision"] == config_revision(OLD)

    def test_csv(self, call: Any, log: Path) -> None:
        """--format csv writes a header and a line per entry, without the messages."""
        status, out, _ = call("why", BAG.sku, "--log", str(log), "-f", "csv")
        assert status == 0
        assert len(out.strip().splitlines()) == 5

    def test_nothing_logged(self, call: Any, log: Path, tmp_path: Path) -> None:
        """A SKU without entries exits 1; a file that is not SQLite is reported."""
        status, _, err = call("why", "NOPE", "--log", str(log), "--account", "x")
        assert (status, err) == (1, f"{log}: nothing logged for SKU 'NOPE' on account 'x'\n")
        text = tmp_path / "log.txt"
        text.write_text("hello", encoding="utf-8")
        status, _, err = call("why", "NOPE", "--log", str(text))
        assert status == 1
        assert "not an SQLite log" in err
        with sqlite3.connect(log) as connection:
            connection.execute("UPDATE activity SET reasons = 'oops'")
        status, _, err = call("why", BAG.sku, "--log", str(log))
        assert status == 1
        assert "reasons column" in err


class TestEdges:
    """The less travelled paths of stamps, timelines and replays."""

    def test_revision_cache_forgets_dead_configurations(self) -> None:
        """A configuration's cached revision goes with it."""
        import gc

        from policy_engine import _audit

        config = default_config("otto")
        stamp_for(config, "a")
        key = id(config)
        assert key in _audit._REVISIONS
        del config
        gc.collect()
        assert key not in _audit._REVISIONS

    def test_a_record_refuses_a_stamp_that_is_not_one(self) -> None:
        """ActivityRecord(stamp=...) must be a Stamp."""
        with pytest.raises(PolicyConfigError, match=r"expected a stamp or null, got a string"):
            ActivityRecord(at=AT, account="a", sku="s", action="none", reasons=[], stamp="x")  # type: ignore[arg-type]

    def test_timeline_names_the_ordering_account(self, tmp_path: Path) -> None:
        """A stock push after an order names the account the order came from."""
        path = tmp_path / "log.db"
        event = StockEvent(
            sku="X", source="channel_order", origin_account="ali-us", stock=Stock(qty=3), at=AT
        )
        listing = ChannelListing(account="ali-us", sku="X", template="bags")
        with SqliteSink(path) as sink:
            sink.write([plan_stock_sync(event, [listing], OLD).history])
        (entry,) = timeline(path, "X")
        assert entry.what == "quantity 2 sent (channel_order from ali-us)"

    def test_a_template_change(self, log: Path) -> None:
        """Under a configuration without the stored template, the template change is reported."""
        other = default_config("aliexpress", account_id="ali-us")
        report = replay(read_log(log), other)
        templates = [change for change in report.changes if change.what == "template"]
        assert (templates[0].before, templates[0].after) == ("bags", None)

    def test_small_caches_evict(self, log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """With room for one input, the caches evict and the report is the same."""
        from policy_engine import _audit

        expected = replay(log, NEW)
        monkeypatch.setattr(_audit, "_CACHED_INPUTS", 1)
        assert replay(log, NEW) == expected

    def test_a_version_1_log_with_one_table(self, tmp_path: Path) -> None:
        """A log with only an activity table, rows without input: read and counted."""
        path = tmp_path / "old.db"
        with sqlite3.connect(path) as connection:
            connection.executescript(
                """
                CREATE TABLE activity (id INTEGER PRIMARY KEY, at TEXT NOT NULL,
                    at_us INTEGER NOT NULL, account TEXT NOT NULL, sku TEXT NOT NULL,
                    action TEXT NOT NULL, template TEXT, reasons TEXT NOT NULL);
                INSERT INTO activity (at, at_us, account, sku, action, template, reasons)
                    VALUES ('2024-05-01T00:00:00+00:00', 0, 'otto', 'MJ01', 'none', NULL, '[]');
                """
            )
        assert [type(record).__name__ for record in read_log(path)] == ["ActivityRecord"]
        report = replay(path, NEW)
        assert (report.decisions, report.not_replayable) == (0, 1)
        empty = tmp_path / "empty.db"
        sqlite3.connect(empty).close()
        empty.write_bytes(b"SQLite format 3\x00" + bytes(84))
        with sqlite3.connect(tmp_path / "blank.db") as connection:
            connection.execute("CREATE TABLE other (x)")
        assert replay(tmp_path / "blank.db", NEW).decisions == 0

    def test_read_log_of_json_lines(self, tmp_path: Path) -> None:
        """read_log reads a JSON Lines log too."""
        path = tmp_path / "log.jsonl"
        with JsonLinesSink(path) as sink:
            sink.write([ActivityRecord(at=AT, account="a", sku="s", action="none", reasons=[])])
        assert [record.sku for record in read_log(path)] == ["s"]  # type: ignore[union-attr]

    def test_cli_shows_a_missing_value_as_a_dash(
        self, call: Any, log: Path, tmp_path: Path
    ) -> None:
        """A template change to none shows '-' in the table."""
        from policy_engine import dump_config

        other = tmp_path / "other.json"
        other.write_text(
            json.dumps(dump_config(default_config("aliexpress", account_id="ali-us"))),
            encoding="utf-8",
        )
        status, out, _ = call("replay", str(log), "--config", str(other))
        assert status == 0
        assert any(" template " in line and line.split()[5] == "-" for line in out.splitlines())


def paid_order(order_id: str = "AE-1", sku: str = BAG.sku) -> Any:
    """A paid AliExpress order of one bag."""
    from policy_engine import ChannelOrder

    return structure(
        {
            "id": order_id,
            "status": "paid",
            "currency": "USD",
            "lines": [{"sku": sku, "qty": 1, "price": "39.99"}],
        },
        ChannelOrder,
    )


class TestOrderLog:
    """Order plans are logged with their stamp and order, and show in the product's timeline."""

    def plan(self, order: Any) -> Any:
        from policy_engine import plan_order

        policy = OLD.order_policies["paid"]
        return stamped(
            plan_order(order, policy, {BAG.sku: BAG}, sequence=7), stamp_for(OLD, "order-1")
        )

    def test_sqlite_round_trip_and_timeline(self, log: Path) -> None:
        """An order record reads back equal, by any SKU of its lines, and joins the timeline."""
        from policy_engine import log_order, order_history

        order = paid_order()
        skipped = paid_order("AE-2", sku="GONE")
        with SqliteSink(log) as sink:
            assert log_order(sink, self.plan(order), order, account="ali-us", at=AT) == 1
            log_order(sink, self.plan(skipped), skipped, account="ali-us", at=AT)
        (record,) = order_history(log, BAG.sku)
        assert record.create
        assert record.store_order_id == "000007"
        assert record.skus == (BAG.sku,)
        assert record.order == order
        assert record.stamp is not None
        assert record.stamp.decision_id == "order-1"
        (gone,) = order_history(log, "GONE")
        assert not gone.create
        assert [step.code for step in gone.reasons] == ["product_missing"]
        first = timeline(log, BAG.sku)[0]
        assert (first.kind, first.what) == ("order", "order AE-1 created as 000007")
        assert timeline(log, "GONE")[0].what == "order AE-2 skipped"
        kinds = [type(record).__name__ for record in read_log(log)]
        assert kinds.count("OrderRecord") == 2
        assert replay(log, NEW).not_replayable == 3

    def test_json_lines_round_trip(self, tmp_path: Path) -> None:
        """An order record survives a JSON Lines log, and is counted as not replayable."""
        from policy_engine import order_record

        order = paid_order()
        record = order_record(self.plan(order), order, account="ali-us", at=AT, keep_order=False)
        assert record.order is None
        path = tmp_path / "log.jsonl"
        with JsonLinesSink(path) as sink:
            sink.write([record])
        assert list(read_json_lines(path)) == [record]
        assert replay(path, NEW).not_replayable == 1

    def test_bad_order_records(self) -> None:
        """Wrong values are refused with their paths."""
        from policy_engine import OrderRecord

        with pytest.raises(PolicyConfigError) as raised:
            OrderRecord(
                at=AT,
                account="a",
                order_id="1",
                create=True,
                skus=["", 3],
                order="x",  # type: ignore[arg-type]
            )
        assert raised.value.errors == [
            "must not be empty @ $.skus",
            "expected a channel order or null, got a string @ $.order",
        ]
        with pytest.raises(PolicyConfigError, match=r"expected a list of strings, got a string"):
            OrderRecord(at=AT, account="a", order_id="1", create=True, skus="x")

    def test_a_corrupt_order_row(self, log: Path) -> None:
        """A stored order whose skus are not JSON is reported."""
        from policy_engine import log_order, order_history

        order = paid_order()
        with SqliteSink(log) as sink:
            log_order(sink, self.plan(order), order, account="ali-us", at=AT)
        with sqlite3.connect(log) as connection:
            connection.execute("UPDATE orders SET skus = 'oops'")
        with pytest.raises(PolicyConfigError, match="skus/reasons columns"):
            order_history(log, BAG.sku)


class TestFastConstruction:
    """Results built in hot loops take their stamp last and keep it through worker pickles."""

    def test_the_stamp_is_taken_last(self) -> None:
        """The fast constructor's order puts the optional stamp after every other field."""
        from policy_engine import ListingOutcome
        from policy_engine._validation import constructor_fields

        assert constructor_fields(ListingOutcome)[-1] == "stamp"

    def test_a_stamped_outcome_survives_the_worker_codec(self) -> None:
        """_batch's compact pickle keeps a stamped outcome's stamp."""
        from policy_engine import _batch

        outcome = stamped(evaluate_listing(OLD, BAG, "ali-us", on=AT.date()), stamp_for(OLD, "p"))
        again = _batch.loads(_batch.dumps(outcome))
        assert again == outcome
        assert again.stamp == outcome.stamp
