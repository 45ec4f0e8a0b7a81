"""Writing rows (table, JSON, JSON Lines, CSV) and showing progress, both streamed.

A writer takes one row at a time and never holds more than a screenful: JSON is written as an
array element by element, and a table sizes its columns on its first rows and streams the rest.
On a terminal (and with rich installed) a short table is drawn by rich; anything else is plain
text, so a pipe or a file gets the same bytes on every machine.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, TextIO

__all__ = [
    "FORMATS",
    "Progress",
    "RowWriter",
    "make_writer",
    "progress",
    "rich_console",
]

#: The output formats of row-producing commands.
FORMATS = ("table", "json", "jsonl", "csv")

#: How many rows a table sizes its columns on (and the most rich draws in one table).
TABLE_WINDOW = 200

Row = Mapping[str, Any]


class RowWriter(Protocol):
    """Something rows are written to, one at a time, then closed."""

    def write(self, row: Row) -> None:
        """Write one row."""

    def close(self) -> None:
        """Finish the output (close a JSON array, draw a buffered table)."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


#: ``json.dumps(row, ensure_ascii=False)``, without building an encoder for every row.
_ROW_ENCODER = json.JSONEncoder(ensure_ascii=False)


class JsonWriter:
    """A JSON array, written element by element."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.first = True

    def write(self, row: Row) -> None:
        self.out.write("[\n" if self.first else ",\n")
        self.first = False
        self.out.write(_ROW_ENCODER.encode(row))

    def close(self) -> None:
        self.out.write("[]\n" if self.first else "\n]\n")


class JsonLinesWriter:
    """One JSON object per line."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, row: Row) -> None:
        self.out.write(_ROW_ENCODER.encode(row) + "\n")

    def close(self) -> None:
        return None


class CsvWriter:
    """CSV with a header row; a missing value is an empty field; lines end with ``\\n``."""

    def __init__(self, out: TextIO, columns: Sequence[str], text: Callable[[Row], Row]) -> None:
        self.writer = csv.writer(out, lineterminator="\n")
        self.writer.writerow(columns)
        self.columns = columns
        self.text = text

    def write(self, row: Row) -> None:
        shown = self.text(row)
        self.writer.writerow([_cell(shown.get(column)) for column in self.columns])

    def close(self) -> None:
        return None


class TableWriter:
    """An aligned text table: columns sized on the first rows, the rest streamed.

    Numbers are right-aligned; a missing value shows as ``-``. When every row fits in the first
    window and a rich console is given, rich draws the table instead.
    """

    def __init__(
        self,
        out: TextIO,
        columns: Sequence[str],
        text: Callable[[Row], Row],
        *,
        numeric: Iterable[str] = (),
        console: Any = None,
        window: int = TABLE_WINDOW,
    ) -> None:
        self.out = out
        self.columns = list(columns)
        self.text = text
        self.numeric = set(numeric)
        self.console = console
        self.window = window
        self.pending: list[list[str]] | None = []
        self.widths: list[int] = []

    def _cells(self, row: Row) -> list[str]:
        shown = self.text(row)
        return [_cell(shown.get(column)) or "-" for column in self.columns]

    def write(self, row: Row) -> None:
        cells = self._cells(row)
        if self.pending is None:
            self._line(cells)
            return
        self.pending.append(cells)
        if len(self.pending) > self.window:
            self._flush_plain()

    def _flush_plain(self) -> None:
        pending = self.pending or []
        self.pending = None
        self.widths = [
            max([len(column), *(len(cells[index]) for cells in pending)])
            for index, column in enumerate(self.columns)
        ]
        self._line(self.columns)
        for cells in pending:
            self._line(cells)

    def _line(self, cells: Sequence[str]) -> None:
        parts = []
        last = len(cells) - 1
        for index, (cell, width) in enumerate(zip(cells, self.widths, strict=True)):
            if self.columns[index] in self.numeric:
                parts.append(cell.rjust(width))
            elif index == last:
                parts.append(cell)
            else:
                parts.append(cell.ljust(width))
        self.out.write("  ".join(parts).rstrip() + "\n")

    def close(self) -> None:
        if self.pending is None:
            return
        if self.console is None:
            self._flush_plain()
            return
        from rich.table import Table  # noqa: PLC0415 - rich only on a terminal

        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in self.columns:
            table.add_column(column, justify="right" if column in self.numeric else "left")
        for cells in self.pending:
            table.add_row(*cells)
        self.console.print(table)


def _same(row: Row) -> Row:
    return row


def make_writer(
    fmt: str,
    out: TextIO,
    columns: Sequence[str],
    *,
    text: Callable[[Row], Row] = _same,
    numeric: Iterable[str] = (),
    console: Any = None,
) -> RowWriter:
    """A writer of ``fmt`` (one of :data:`FORMATS`) to ``out``.

    ``text`` turns a row into what a text format (table, CSV) shows; JSON formats write the rows
    as they are. ``console`` is a rich console for tables drawn on a terminal.
    """
    if fmt == "json":
        return JsonWriter(out)
    if fmt == "jsonl":
        return JsonLinesWriter(out)
    if fmt == "csv":
        return CsvWriter(out, columns, text)
    return TableWriter(out, columns, text, numeric=numeric, console=console)


def rich_console(out: TextIO, *, force: bool = False) -> Any:
    """A rich console writing to ``out`` when it is a terminal (or ``force``), else ``None``.

    ``None`` too when rich is not installed: output is then plain text.
    """
    if not force and not out.isatty():
        return None
    try:
        from rich.console import Console  # noqa: PLC0415 - rich only on a terminal
    except ImportError:  # pragma: no cover - rich comes with the cli extra
        return None
    return Console(file=out, force_terminal=True if force else None, highlight=False)


# ------------------------------------------------------------------------------------- progress


class _Source(Protocol):
    size: int | None
    bytes_read: int
    count: int


class Progress:
    """A progress bar on stderr over a products file, by bytes read; or nothing.

    Use as a context manager and call :meth:`advance` after each product: the bar is updated
    every few hundred products, so the cost per product is one counter.
    """

    EVERY = 256

    def __init__(self, source: _Source, label: str, console: Any = None) -> None:
        self.source = source
        self.label = label
        self.console = console
        self.bar: Any = None
        self.task: Any = None
        self.pending = 0

    def __enter__(self) -> Progress:
        if self.console is None:
            return self
        from rich import progress as rich_progress  # noqa: PLC0415 - rich only on a terminal

        self.bar = rich_progress.Progress(
            rich_progress.TextColumn("{task.description}"),
            rich_progress.BarColumn(),
            rich_progress.TaskProgressColumn(),
            rich_progress.TextColumn("{task.fields[products]:,} products"),
            rich_progress.TimeElapsedColumn(),
            rich_progress.TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task(self.label, total=self.source.size, products=0)
        return self

    def advance(self) -> None:
        """Count one product; refresh the bar now and then."""
        if self.bar is None:
            return
        self.pending += 1
        if self.pending >= self.EVERY:
            self.pending = 0
            self._update()

    def _update(self) -> None:
        self.bar.update(self.task, completed=self.source.bytes_read, products=self.source.count)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.bar is not None:
            self._update()
            self.bar.stop()


def progress(
    source: _Source, label: str, *, wanted: bool | None, output_is_terminal: bool
) -> Progress:
    """A progress bar when ``wanted``; with ``None``, when stderr is a terminal and the output
    is not (a bar would garble a table drawn on the same screen)."""
    if wanted is None:
        wanted = sys.stderr.isatty() and not output_is_terminal
    console = rich_console(sys.stderr, force=True) if wanted else None
    return Progress(source, label, console)
