"""The SQLite sink shared by many processes: busy timeout, bounded retries, a clear error."""

from __future__ import annotations

import multiprocessing
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import policy_engine as pe
from policy_engine import PolicyEngineError, SqliteSink, SyncHistoryRecord, structure

AT = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
WRITERS = 12
#: Each writer opens a sink per batch, as a connector run per event does: opening a new
#: database while others write to it is where a lock used to escape.
BATCHES = 2
PER_BATCH = 2_000
#: Rounds on a fresh file each; before the busy timeout and the retries, about half the rounds
#: lost a writer to ``database is locked``.
ROUNDS = 2


def _history(writer: int, index: int) -> SyncHistoryRecord:
    return structure(
        {
            "sku": f"W{writer}",
            "source": "sales_order",
            "at": (AT + timedelta(seconds=index)).isoformat(),
            "origin_account": None,
            "sent": {"otto": index},
            "skipped": {},
        },
        SyncHistoryRecord,
    )


def _writer(path: str, writer: int, start: object) -> None:
    """One connector process: opens its own sink when told to and writes its batches."""
    start.wait()  # type: ignore[attr-defined]
    for batch in range(BATCHES):
        records = [_history(writer, batch * PER_BATCH + i) for i in range(PER_BATCH)]
        with SqliteSink(path) as sink:
            assert sink.write(records) == PER_BATCH


def _context() -> Any:
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method)


class TestSharedDatabase:
    """Many writer processes share one log database."""

    @pytest.mark.parametrize("round_", range(ROUNDS))
    def test_twelve_writer_processes(self, tmp_path: Path, round_: int) -> None:
        """12 processes writing to one new file at once: every record is committed, none lost."""
        path = str(tmp_path / f"shared-{round_}.db")
        context = _context()
        start = context.Event()
        processes = [
            context.Process(target=_writer, args=(path, writer, start)) for writer in range(WRITERS)
        ]
        for process in processes:
            process.start()
        start.set()
        for process in processes:
            process.join(timeout=60)
        assert [process.exitcode for process in processes] == [0] * WRITERS
        connection = sqlite3.connect(path)
        try:
            rows = connection.execute("SELECT sku, count(*) FROM history GROUP BY sku").fetchall()
        finally:
            connection.close()
        assert dict(rows) == {f"W{writer}": BATCHES * PER_BATCH for writer in range(WRITERS)}
        assert pe.sync_history(path, "W3", limit=1) == [_history(3, BATCHES * PER_BATCH - 1)]


class TestLockedDatabase:
    """When the lock is never released, the retries run out with an error naming the file."""

    def test_write_retries_run_out(self, tmp_path: Path) -> None:
        """A write blocked by another connection's lock ends in a LogWriteError naming the file."""
        path = tmp_path / "locked.db"
        with SqliteSink(path, timeout=0.01, retries=1) as sink:
            holder = sqlite3.connect(path, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                with pytest.raises(pe.LogWriteError) as caught:
                    sink.write([_history(0, 0)])
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            assert sink.write([_history(0, 1)]) == 1  # the sink is usable once the lock is gone
        error = caught.value
        assert isinstance(error, PolicyEngineError)
        assert error.path == str(path)
        assert str(path) in str(error)
        assert "2 attempts" in str(error)
        assert isinstance(error.__cause__, sqlite3.OperationalError)
        assert pe.sync_history(path, "W0") == [_history(0, 1)]

    def test_opening_a_new_database_under_a_lock(self, tmp_path: Path) -> None:
        """Creating the schema while another connection holds the lock ends in the same error."""
        path = tmp_path / "new.db"
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("CREATE TABLE other (x)")
        try:
            with pytest.raises(pe.LogWriteError, match=r"new\.db"):
                SqliteSink(path, timeout=0.01, retries=0)
        finally:
            holder.execute("ROLLBACK")
            holder.close()

    def test_existing_database_opens_without_the_write_lock(self, tmp_path: Path) -> None:
        """A database with the schema opens while another process holds the write lock."""
        path = tmp_path / "log.db"
        SqliteSink(path).close()
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            sink = SqliteSink(path, timeout=0.01, retries=0)
            sink.close()
        finally:
            holder.execute("ROLLBACK")
            holder.close()

    def test_other_errors_are_not_retried(self, tmp_path: Path) -> None:
        """An error that is not a lock (a trigger refusing a row) propagates at once, unwrapped."""
        with SqliteSink(tmp_path / "log.db", retries=5) as sink:
            sink.connection.execute(
                "CREATE TRIGGER no BEFORE INSERT ON history BEGIN SELECT RAISE(ABORT, 'no'); END"
            )
            with pytest.raises(sqlite3.IntegrityError):
                sink.write([_history(0, 0)])

    @pytest.mark.parametrize(
        ("options", "error"),
        [
            ({"timeout": -1}, "must be a number >= 0 (got -1) @ $.timeout"),
            ({"timeout": "5"}, "must be a number >= 0 (got '5') @ $.timeout"),
            ({"timeout": float("nan")}, "must be a number >= 0 (got nan) @ $.timeout"),
            ({"retries": -1}, "must be an integer >= 0 (got -1) @ $.retries"),
            ({"retries": True}, "must be an integer >= 0 (got True) @ $.retries"),
        ],
    )
    def test_bad_options(self, tmp_path: Path, options: dict[str, object], error: str) -> None:
        """A bad timeout or retry count is refused before the database is opened."""
        with pytest.raises(pe.PolicyConfigError) as caught:
            SqliteSink(tmp_path / "log.db", **options)  # type: ignore[arg-type]
        assert caught.value.errors == [error]
        assert not (tmp_path / "log.db").exists()

    def test_defaults(self, tmp_path: Path) -> None:
        """The default busy timeout is 30 s and writes are retried 5 times."""
        with SqliteSink(tmp_path / "log.db") as sink:
            assert (sink.timeout, sink.retries) == (30.0, 5)
            assert sink.path == str(tmp_path / "log.db")


def test_log_write_error_pickles() -> None:
    """The error survives a process pool: pickled and loaded, it keeps its path and message."""
    import pickle

    error = pe.LogWriteError("/var/log/shop.db", 6, sqlite3.OperationalError("database is locked"))
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.attempts, str(copy)) == (error.path, error.attempts, str(error))
