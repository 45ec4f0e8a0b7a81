"""The SQLite sink shared by many processes: busy timeout, bounded retries, a clear error."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
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


def _garbled(path: Path) -> None:
    """A log database whose pages after the first are overwritten: "malformed"."""
    with SqliteSink(path) as sink:
        sink.write([_history(0, index) for index in range(50)])
    data = path.read_bytes()
    path.write_bytes(data[:4096] + b"\xff" * (len(data) - 4096))


_READERS = (pe.sync_history, pe.activity_history, pe.feed_history)


class TestUnusableDatabase:
    """A file that is no log database, or that cannot be opened: an error naming the file and
    what to do, never a bare sqlite3 error."""

    @pytest.mark.parametrize("content", [b"x" * 5000, b"SQLite format 3\x00" + b"\x00" * 200])
    def test_not_a_database(self, tmp_path: Path, content: bytes) -> None:
        """Garbage (or a cut header) is refused by the sink and by every reader alike."""
        path = tmp_path / "garbage.db"
        path.write_bytes(content)
        errors = []
        with pytest.raises(pe.LogDatabaseError) as caught:
            SqliteSink(path)
        errors.append(caught.value)
        for read in _READERS:
            with pytest.raises(pe.LogDatabaseError) as caught:
                read(path, "W0")
            errors.append(caught.value)
        for error in errors:
            assert isinstance(error, PolicyEngineError)
            assert isinstance(error.__cause__, sqlite3.DatabaseError)
            assert error.path == str(path)
            assert str(error) == (
                f"the log database {path} is not a usable SQLite database (file is not a"
                " database): move it aside or restore a backup; SqliteSink creates a new one"
            )
        assert path.read_bytes() == content

    def test_malformed(self, tmp_path: Path) -> None:
        """A damaged database is named, with the same advice."""
        path = tmp_path / "log.db"
        _garbled(path)
        with pytest.raises(pe.LogDatabaseError) as caught:
            pe.sync_history(path, "W0")
        assert str(caught.value) == (
            f"the log database {path} is not a usable SQLite database (database disk image is"
            " malformed): move it aside or restore a backup; SqliteSink creates a new one"
        )
        with pytest.raises(pe.LogDatabaseError, match="malformed"), SqliteSink(path) as sink:
            sink.write([_history(0, 99)])

    @pytest.mark.parametrize("where", ["directory", "missing-directory"])
    def test_cannot_be_opened(self, tmp_path: Path, where: str) -> None:
        """A directory, or a file in a missing directory, cannot be opened: said with the path."""
        path = tmp_path if where == "directory" else tmp_path / "missing" / "log.db"
        with pytest.raises(pe.LogDatabaseError) as caught:
            SqliteSink(path)
        assert caught.value.path == str(path)
        assert str(caught.value) == (
            f"the log database {path} cannot be opened (unable to open database file): check"
            " that its directory exists and that this process may read and write there"
        )
        assert not (tmp_path / "missing").exists()

    def test_cannot_be_written(self, tmp_path: Path) -> None:
        """A write the database refuses (read-only) names the file; nothing is stored."""
        path = tmp_path / "log.db"
        with SqliteSink(path) as sink:
            sink.connection.execute("PRAGMA query_only = ON")
            with pytest.raises(pe.LogDatabaseError) as caught:
                sink.write([_history(0, 0)])
        assert str(caught.value) == (
            f"the log database {path} cannot be written (attempt to write a readonly database):"
            " check the permissions of the file and of its directory"
        )
        assert pe.sync_history(path, "W0") == []

    def test_pickles(self) -> None:
        """The error survives a process pool with its path and message."""
        import pickle

        error = pe.LogDatabaseError("/var/log/shop.db", "the log database … cannot be opened")
        copy = pickle.loads(pickle.dumps(error))
        assert (copy.path, str(copy)) == (error.path, str(error))


@pytest.fixture
def shared_directory() -> Iterator[Path]:
    """A new directory every user may reach (a test's own directory is root's alone)."""
    directory = Path(tempfile.mkdtemp(prefix="policy-engine-"))
    directory.chmod(0o755)
    try:
        yield directory / "logs"
    finally:
        for path in (directory, *directory.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(directory)


def _read_without_write_access(directory: Path, sku: str) -> list[SyncHistoryRecord]:
    """Read a product's history where nothing may be written: the directory and files are
    made read-only, and (tests run as root, whom permissions do not stop) the reading runs in
    a child process that has given up root, as on read-only media."""
    for item in directory.iterdir():
        item.chmod(0o444)
    directory.chmod(0o555)
    if os.geteuid() != 0:
        return pe.sync_history(directory / "log.db", sku)
    receive, send = multiprocessing.get_context("fork").Pipe(duplex=False)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child process, measured in the parent
        try:
            os.setgid(65534)
            os.setuid(65534)
            send.send(pe.sync_history(directory / "log.db", sku))
        except BaseException as error:  # noqa: BLE001 - sent to the parent to raise
            send.send(error)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    found = receive.recv()
    if isinstance(found, BaseException):
        raise found
    return found  # type: ignore[no-any-return]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to give up root")
class TestReadOnlyMedia:
    """``sync_history`` reads a database it may not write: it opens it read-only."""

    def test_read_only_directory(self, shared_directory: Path) -> None:
        """A database in a directory nothing may be written to (no -wal or -shm file can be
        created) is read, and left byte for byte as it was."""
        directory = shared_directory
        directory.mkdir()
        records = [_history(0, index) for index in range(3)]
        with SqliteSink(directory / "log.db") as sink:
            sink.write(records)
        before = (directory / "log.db").read_bytes()
        assert _read_without_write_access(directory, "W0") == records[::-1]
        assert (directory / "log.db").read_bytes() == before
        assert sorted(item.name for item in directory.iterdir()) == ["log.db"]

    def test_writer_alive(self, shared_directory: Path) -> None:
        """With its -wal and -shm files beside it (a writer is running), a read-only database
        is read with every committed record, the ones still in the write-ahead log included."""
        directory = shared_directory
        directory.mkdir()
        with SqliteSink(directory / "log.db") as sink:
            sink.write([_history(0, 0)])
            sink.connection.execute("PRAGMA wal_autocheckpoint = 0")
            sink.write([_history(0, 1)])
            found = _read_without_write_access(directory, "W0")
        assert found == [_history(0, 1), _history(0, 0)]

    def test_write_ahead_log_cannot_be_opened(self, tmp_path: Path) -> None:
        """Where SQLite cannot open the write-ahead log a reader needs (its name taken by a
        directory here), the database is read as it stands."""
        path = tmp_path / "log.db"
        with SqliteSink(path) as sink:
            sink.write([_history(0, 0)])
        (tmp_path / "log.db-wal").mkdir()
        assert pe.sync_history(path, "W0") == [_history(0, 0)]

    def test_reading_writes_nothing(self, tmp_path: Path) -> None:
        """Reading a history never writes to the database file, even where it could."""
        path = tmp_path / "log.db"
        with SqliteSink(path) as sink:
            sink.write([_history(0, 0)])
        before = path.read_bytes()
        stamp = path.stat().st_mtime_ns
        assert pe.sync_history(path, "W0") == [_history(0, 0)]
        assert (path.read_bytes(), path.stat().st_mtime_ns) == (before, stamp)


def test_log_write_error_pickles() -> None:
    """The error survives a process pool: pickled and loaded, it keeps its path and message."""
    import pickle

    error = pe.LogWriteError("/var/log/shop.db", 6, sqlite3.OperationalError("database is locked"))
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.attempts, str(copy)) == (error.path, error.attempts, str(error))
