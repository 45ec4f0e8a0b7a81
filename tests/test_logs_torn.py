"""JSON Lines logs with torn lines: a writer killed mid-line never makes the rest unreadable."""

from __future__ import annotations

import io
import json
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policy_engine as pe
from policy_engine import (
    JsonLinesSink,
    LogRecord,
    PolicyConfigError,
    SyncHistoryRecord,
    read_json_lines,
    structure,
    sync_history_json_lines,
    unstructure,
)
from policy_engine.testing import log_records

AT = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def _history(minute: int, sku: str = "MJ01", **sent: int) -> SyncHistoryRecord:
    return structure(
        {
            "sku": sku,
            "source": "manual_adjustment",
            "at": (AT + timedelta(minutes=minute)).isoformat(),
            "origin_account": None,
            "sent": sent or {"otto": minute},
            "skipped": {},
        },
        SyncHistoryRecord,
    )


def _line(record: SyncHistoryRecord) -> str:
    data = {"type": "history", **unstructure(record)}
    return json.dumps(data, separators=(",", ":"))


def _tear_last_line(path: Path, keep: float = 0.5) -> None:
    """Cut the file's last line part-way, as a writer killed mid-``write`` leaves it."""
    data = path.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(data[: start + int((len(data) - start) * keep)])


def _read_all(source: Any, **options: Any) -> tuple[list[LogRecord], list[Any]]:
    bad: list[Any] = []
    records = list(read_json_lines(source, on_bad_lines=bad.append, **options))
    return records, bad


class TestTornLines:
    """A torn line is skipped and reported; every record after it is read."""

    def test_killed_writer_then_more_records(self, tmp_path: Path) -> None:
        """Torn last line, then another writer appends: all other records come back, history too."""
        path = tmp_path / "log.jsonl"
        with JsonLinesSink(path) as sink:
            sink.write([_history(0), _history(1, sku="MJ02"), _history(2)])
        _tear_last_line(path)
        with JsonLinesSink(path) as sink:  # the restarted connector appends to the torn file
            sink.write([_history(3), _history(4, sku="MJ02")])
            sink.write([_history(5)])
        records, bad = _read_all(path)
        assert records == [
            _history(0),
            _history(1, sku="MJ02"),
            _history(3),
            _history(4, sku="MJ02"),
            _history(5),
        ]
        assert len(bad) == 1
        assert bad[0].number == 3
        assert bad[0].text.startswith('{"type":"history","sku":"MJ01","source":')
        assert bad[0].text.endswith(_line(_history(3)))
        assert bad[0].errors[0].startswith("line 3: not JSON (")
        with pytest.warns(pe.BadLogLineWarning, match=r"line 3: not JSON"):
            history = sync_history_json_lines(path, "MJ01")
        assert history == [_history(5), _history(3), _history(0)]
        assert sync_history_json_lines(path, "MJ02", on_bad_lines="skip") == [
            _history(4, sku="MJ02"),
            _history(1, sku="MJ02"),
        ]

    def test_torn_line_in_the_middle(self) -> None:
        """A line cut short in the middle of the log (then a newline) loses only that record."""
        lines = [_line(_history(minute)) for minute in range(5)]
        lines[2] = lines[2][:40]
        records, bad = _read_all(io.StringIO("\n".join(lines) + "\n"))
        assert records == [_history(0), _history(1), _history(3), _history(4)]
        assert [(line.number, line.text) for line in bad] == [(3, lines[2])]

    def test_torn_inside_a_multibyte_character(self, tmp_path: Path) -> None:
        """A cut through a UTF-8 sequence is a bad line, not a UnicodeDecodeError for the file."""
        path = tmp_path / "log.jsonl"
        record = structure(
            {**unstructure(_history(1)), "sent": {"kaufland-größe": 1}}, SyncHistoryRecord
        )
        with JsonLinesSink(path) as sink:
            sink.write([_history(0), record])
        data = path.read_bytes()
        cut = data.index("ö".encode()) + 1  # half of the two bytes of "ö"
        path.write_bytes(data[:cut] + b"\n" + _line(_history(2)).encode() + b"\n")
        records, bad = _read_all(path)
        assert records == [_history(0), _history(2)]
        assert bad[0].number == 2
        assert bad[0].errors[0].startswith("line 2: not UTF-8 text (")

    def test_invalid_utf8_in_a_whole_line(self, tmp_path: Path) -> None:
        """Bytes that are not UTF-8 inside an otherwise complete line make it a bad line."""
        path = tmp_path / "log.jsonl"
        good = _line(_history(0)).encode()
        path.write_bytes(good.replace(b"manual_adjustment", b"manual\xffadjustment") + b"\n")
        records, bad = _read_all(path)
        assert records == []
        assert bad[0].errors[0].startswith("line 1: not UTF-8 text (")

    def test_glued_record_is_recovered(self) -> None:
        """A record written right after a torn fragment, on the same line, is still read."""
        fragment = _line(_history(1))[:50]
        text = _line(_history(0)) + "\n" + fragment + _line(_history(2)) + "\n"
        records, bad = _read_all(io.StringIO(text))
        assert records == [_history(0), _history(2)]
        assert [line.number for line in bad] == [2]
        assert bad[0].text == fragment + _line(_history(2))

    def test_fragment_with_a_nested_type_key(self) -> None:
        """A torn feed record whose payload holds a ``type`` key does not hide the glued record."""
        feed = pe.FeedRecord(
            at=AT, account="otto", sku="S", fields=[], payload={"request": {"type": "offer"}}
        )
        data = json.dumps({"type": "feed", **unstructure(feed)}, separators=(",", ":"))
        fragment = data[: data.index('{"type":"offer"') + 12]
        records, bad = _read_all(io.StringIO(fragment + _line(_history(2)) + "\n"))
        assert records == [_history(2)]
        assert len(bad) == 1

    def test_valid_json_that_is_not_a_record(self) -> None:
        """A line that is JSON but not a valid record is skipped and reported the same way."""
        text = "\n".join(
            [
                _line(_history(0)),
                "[1, 2]",
                '{"type": "audit"}',
                '{"type": "history", "sku": "S"}',
                "[" * 100_000,
                _line(_history(1)),
            ]
        )
        records, bad = _read_all(io.StringIO(text))
        assert records == [_history(0), _history(1)]
        assert [line.number for line in bad] == [2, 3, 4, 5]
        assert bad[0].errors == ("line 2: expected an object, got a list @ $",)
        assert bad[1].errors[0].startswith("line 3: unknown record type 'audit'")
        assert bad[2].errors[0] == "line 4: required field missing @ $.source"
        assert bad[3].errors[0].startswith("line 5: not JSON (")

    def test_default_warns_once_per_bad_line(self) -> None:
        """With no choice given, each bad line is a BadLogLineWarning and reading goes on."""
        text = _line(_history(0)) + "\n{\n" + _line(_history(1)) + "\n[]\n"
        with pytest.warns(pe.BadLogLineWarning) as caught:
            records = list(read_json_lines(io.StringIO(text)))
        assert records == [_history(0), _history(1)]
        assert [warning.message.line.number for warning in caught] == [2, 4]  # type: ignore[union-attr]
        assert str(caught[0].message).startswith("line 2: not JSON (")
        assert str(caught[0].message).endswith("; the line is skipped")

    def test_skip_is_silent(self) -> None:
        """``on_bad_lines="skip"`` skips bad lines without a warning."""
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            found = list(
                read_json_lines(io.StringIO("{\n" + _line(_history(0))), on_bad_lines="skip")
            )
        assert found == [_history(0)]

    def test_raise_keeps_the_strict_reading(self) -> None:
        """``on_bad_lines="raise"`` stops at the first bad line with a PolicyConfigError."""
        text = _line(_history(0)) + '\n{"type": "audit"}\n' + _line(_history(1))
        reader = read_json_lines(io.StringIO(text), on_bad_lines="raise")
        assert next(reader) == _history(0)
        with pytest.raises(PolicyConfigError, match=r"^line 2: unknown record type 'audit'"):
            next(reader)
        with pytest.raises(PolicyConfigError, match=r"^line 2: not JSON"):
            sync_history_json_lines(io.StringIO("\n{"), "MJ01", on_bad_lines="raise")

    def test_bad_choice(self) -> None:
        """Anything but ``warn``, ``skip``, ``raise`` or a callable is refused before reading."""
        with pytest.raises(
            PolicyConfigError,
            match=r"must be 'warn', 'skip', 'raise' or a callable \(got 'ignore'\) @ \$\.on_bad_lines",
        ):
            read_json_lines(io.StringIO(""), on_bad_lines="ignore")  # type: ignore[arg-type]

    @settings(max_examples=40)
    @given(st.lists(log_records(), min_size=1, max_size=6), st.data())
    def test_any_torn_line_loses_only_its_record(self, records: list[LogRecord], data: Any) -> None:
        """Cutting one line anywhere (then appending more) loses that one record and no other."""
        index = data.draw(st.integers(0, len(records) - 1))
        stream = io.StringIO()
        JsonLinesSink(stream).write(records)
        lines = stream.getvalue().split("\n")[:-1]  # not splitlines(): U+0085 is no line break
        cut = data.draw(st.integers(1, len(lines[index]) - 1))
        lines[index] = lines[index][:cut]
        found, bad = _read_all(io.StringIO("\n".join(lines) + "\n"))
        assert found == records[:index] + records[index + 1 :]
        assert [line.number for line in bad] == [index + 1]


def test_many_record_starts_in_one_bad_line() -> None:
    """A bad line full of record starts is given up on after a bounded number of tries."""
    records, bad = _read_all(io.StringIO('{"type":' * 500 + "\n" + _line(_history(0)) + "\n"))
    assert records == [_history(0)]
    assert [line.number for line in bad] == [1]
