"""Reading the command line's inputs: configurations and products, with one-line errors.

Products come as a JSON array or as JSON Lines (one product object per line). Both are streamed:
:class:`ProductReader` holds one line, or one array element plus a read buffer, at a time, so a
file of a million products never sits in memory whole. Each product becomes a
:class:`~policy_engine.Product` or a :class:`LoadProblem` carrying where it was (the line, and the
JSON path inside the file) and every problem found; one bad product never stops the others.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn

import attrs

from policy_engine._batch import chunked
from policy_engine._config import (
    Configuration,
    json_depth,
    load_config,
    parse_json_document,
    read_document,
)
from policy_engine._errors import PolicyConfigError
from policy_engine._families import ProductFamily
from policy_engine._jsonio import NOT_DECODED, fast_decode
from policy_engine._limits import MAX_JSON_DEPTH
from policy_engine._models import Product
from policy_engine._serialization import structure

__all__ = [
    "FAILED",
    "USAGE",
    "CliError",
    "Item",
    "LoadProblem",
    "ProductReader",
    "config_problem_lines",
    "decode_line",
    "is_family",
    "load_configuration",
    "os_problem",
]

#: Exit status for bad data (a configuration or product that does not load, a failed product).
FAILED = 1
#: Exit status for usage errors (a missing file, an unknown option value or id).
USAGE = 2

STDIN = "-"
_CHUNK = 1 << 16
# A decode error this close to the end of the buffer may just be a value cut by the chunk
# boundary (``tru``, ``12`` or ``\\u00`` with the rest still unread): read on before judging.
_TAIL = 64
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_BLANK = b" \t\r\n" + codecs.BOM_UTF8
#: A byte that is not UTF-8, as the ``surrogateescape`` error handler decodes it.
_ESCAPED = re.compile("[\udc80-\udcff]")
#: What matters when a value is skipped without decoding it: brackets, commas, strings.
_STRUCTURE = re.compile(r'[\[\]{},"]')
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class CliError(Exception):
    """A problem the command line reports as lines on stderr, exiting with ``status``."""

    def __init__(self, lines: Iterable[str], status: int = FAILED) -> None:
        self.lines = list(lines)
        self.status = status
        super().__init__("\n".join(self.lines))


def os_problem(name: str, error: OSError) -> CliError:
    """A file that cannot be opened: one line naming it; a usage error (exit 2)."""
    if isinstance(error, FileNotFoundError):
        reason = "no such file"
    elif isinstance(error, IsADirectoryError):
        reason = "is a directory, not a file"
    elif isinstance(error, PermissionError):
        reason = "permission denied"
    else:
        reason = error.strerror or str(error)
    return CliError([f"{name}: {reason}"], USAGE)


def config_problem_lines(name: str, error: PolicyConfigError) -> list[str]:
    """``NAME: message @ $.path`` for each problem; a message's extra lines follow, indented.

    A condition's syntax error, for example, reprints the condition with a caret under the bad
    token on the lines after the one naming the file and the path.
    """
    lines: list[str] = []
    prefix = f"{name}: "
    for path, message in error.problems:
        text = message.removeprefix(prefix)
        first, _, rest = text.partition("\n")
        lines.append(f"{prefix}{first} @ {path}")
        lines.extend(f"    {line}" for line in rest.splitlines())
    return lines


def load_configuration(name: str) -> Configuration:
    """Load a configuration file (JSON or TOML) for a command.

    Raises:
        CliError: every problem of the document, one per line (exit 1); a file that cannot be
            read (exit 2).
    """
    try:
        return load_config(Path(name))
    except PolicyConfigError as error:
        lines = config_problem_lines(name, error)
        if isinstance(error.__cause__, UnicodeDecodeError):
            # The file's bytes, not its JSON, are wrong: the line names the byte, not a path.
            lines = [line.removesuffix(" @ $") for line in lines]
        raise CliError(lines, FAILED) from None
    except OSError as error:
        raise os_problem(name, error) from None


def load_document(name: str, cls: Any) -> Any:
    """Load one JSON document of a model (``cls``, e.g. ``tuple[ChannelListing, ...]``).

    Raises:
        CliError: every problem with its JSON path, one per line (exit 1); a file that cannot
            be read (exit 2).
    """
    try:
        data = parse_json_document(read_document(Path(name)), source=name)
        return structure(data, cls)
    except PolicyConfigError as error:
        raise CliError(config_problem_lines(name, error), FAILED) from None
    except UnicodeDecodeError as error:
        raise CliError(
            [f"{name}: not UTF-8 text (byte {error.start}: {error.reason})"], FAILED
        ) from None
    except OSError as error:
        raise os_problem(name, error) from None


# -------------------------------------------------------------------------------------- products


@attrs.frozen(kw_only=True)
class LoadProblem:
    """A product that could not be read or loaded.

    Attributes:
        line: The line of the file where the product starts (where its bytes that are not
            UTF-8 are, for an element of a JSON array holding such bytes).
        column: The column of a JSON syntax error or of bytes that are not UTF-8, else
            ``None``.
        code: ``invalid_json`` (not JSON text), ``invalid_product`` (JSON that is not a
            valid product) or ``invalid_family`` (an object with a ``parent`` that is not a
            valid product family).
        messages: Every problem, each ``"<message> @ $.path"`` for an invalid product.
        sku: The SKU, when the data has one.
    """

    line: int
    column: int | None = None
    code: str
    messages: tuple[str, ...]
    sku: str | None = None

    def location(self) -> str:
        """``line 7`` or ``line 7, column 12``."""
        if self.column is None:
            return f"line {self.line}"
        return f"line {self.line}, column {self.column}"

    def describe(self) -> str:
        """``line 7: <message>; <message>``."""
        return f"{self.location()}: {'; '.join(self.messages)}"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        duplicates: list[str] = []
        for key, _ in pairs:
            if key in seen and key not in duplicates:
                duplicates.append(key)
            seen.add(key)
        raise _DuplicateKeysError(duplicates)
    return data


class _DuplicateKeysError(ValueError):
    def __init__(self, keys: list[str]) -> None:
        super().__init__(f"duplicate keys {', '.join(repr(key) for key in keys)} in an object")


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)


def _sku_of(data: Any) -> str | None:
    if isinstance(data, dict):
        if "parent" in data:
            data = data["parent"]
            if not isinstance(data, dict):
                return None
        sku = data.get("sku")
        if type(sku) is str:
            return sku
    return None


def is_family(data: object) -> bool:
    """Whether a JSON object is a product family: it has a ``parent`` (a product never has)."""
    return isinstance(data, dict) and "parent" in data


def _bad_json(line: int, column: int | None, message: str) -> LoadProblem:
    return LoadProblem(line=line, column=column, code="invalid_json", messages=(message,))


#: What one item of a products file becomes.
Item = Product | ProductFamily | LoadProblem


def _load_product(data: Any, line: int, root: str) -> Item:
    family = is_family(data)
    try:
        return structure(data, ProductFamily) if family else structure(data, Product)
    except PolicyConfigError as error:
        messages = tuple(f"{message} @ {root}{path[1:]}" for path, message in error.problems)
        code = "invalid_family" if family else "invalid_product"
        return LoadProblem(line=line, code=code, messages=messages, sku=_sku_of(data))


def decode_line(number: int, raw: bytes, *, first: bool) -> Item:
    """A non-blank line of JSON Lines: the product it holds, or what is wrong with it.

    ``first`` tells whether it is the file's first product (a lone ``{`` there gets a hint).
    """
    fast = fast_decode(raw)
    if fast is not NOT_DECODED:
        return _load_product(fast, number, "$")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return _bad_json(number, error.start + 1, f"not UTF-8 text ({error.reason})")
    try:
        data = _DECODER.decode(text)
    except json.JSONDecodeError as error:
        message = f"invalid JSON: {error.msg}"
        if first and text.strip() == "{":
            message += " (products are a JSON array or JSON Lines: one object per line)"
        return _bad_json(number, error.colno, message)
    except _DuplicateKeysError as error:
        return _bad_json(number, None, f"invalid JSON: {error}")
    except RecursionError:
        return _bad_json(number, None, _too_deep(json_depth(text)))
    except ValueError:  # an integer longer than Python reads (sys.get_int_max_str_digits())
        return _bad_json(number, None, _too_long_integer())
    return _load_product(data, number, "$")


def _too_deep(depth: int) -> str:
    return f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels ({depth})"


def _too_long_integer() -> str:
    return f"invalid JSON: an integer of more than {sys.get_int_max_str_digits()} digits"


class ProductReader:
    """Products from a JSON array or JSON Lines file, streamed (``-`` reads standard input).

    Iterating yields ``(line, Product | ProductFamily | LoadProblem)`` for each item in file
    order (an object with a ``parent`` is a product family). In JSON
    Lines, blank lines are skipped and a line that is not JSON is a :class:`LoadProblem`
    (``invalid_json``, with its column); reading goes on with the next line. So is a product
    the JSON parser cannot read (nested too deeply, an integer too long for Python, bytes that
    are not UTF-8), in JSON Lines and in a JSON array alike. A JSON array that is not well
    formed cannot be read on past the error: iteration stops with a :class:`CliError` naming
    the line and column.

    Attributes:
        name: The file's name as given.
        size: The file's size in bytes, when known (for a progress bar).
        bytes_read: How many bytes have been read so far.
        count: How many products (loaded or not) have been yielded so far.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.size: int | None = None
        self.bytes_read = 0
        self.count = 0

    def _open(self) -> IO[bytes]:
        if self.name == STDIN:
            return sys.stdin.buffer
        try:
            file = open(self.name, "rb")  # noqa: SIM115 - closed by __iter__
        except OSError as error:
            raise os_problem(self.name, error) from None
        self.size = os.fstat(file.fileno()).st_size or None
        return file

    def check(self) -> None:
        """Fail early (exit 2) when the file cannot be opened."""
        if self.name != STDIN:
            self._open().close()

    def __iter__(self) -> Iterator[tuple[int, Item]]:
        with self._opened() as (file, head, is_array):
            if is_array:
                yield from self._array(head, file)
            else:
                for number, raw in self._numbered_lines(head, file):
                    yield number, decode_line(number, raw, first=self.count == 1)

    def chunks(self, size: int) -> Iterator[tuple[bool, list[Any]]]:
        """The input in chunks of up to ``size`` products, for worker processes.

        JSON Lines give ``(True, [(line number, raw line, first), ...])``: the lines are decoded
        and loaded with :func:`decode_line` where they are evaluated. A JSON array gives
        ``(False, [(line, Item), ...])``, parsed here (an array is one value, so
        it is read in one place).
        """
        with self._opened() as (file, head, is_array):
            items: Iterator[Any]
            if is_array:
                items = self._array(head, file)
            else:
                items = (
                    (number, raw, self.count == 1)
                    for number, raw in self._numbered_lines(head, file)
                )
            # What was read before an array broke off is still evaluated, then the error comes.
            for chunk in chunked(items, size):
                yield not is_array, chunk

    @contextmanager
    def _opened(self) -> Iterator[tuple[IO[bytes], bytes, bool]]:
        """The open file, what was read of it, and whether it holds a JSON array."""
        file = self._open()
        try:
            head = self._read(file)
            while head and not head.lstrip(_BLANK):
                more = self._read(file)
                if not more:
                    break
                head += more
            yield file, head, head.lstrip(_BLANK).startswith(b"[")
        finally:
            if file is not sys.stdin.buffer:
                file.close()

    def _read(self, file: IO[bytes]) -> bytes:
        chunk = file.read(_CHUNK)
        self.bytes_read += len(chunk)
        return chunk

    # ---------------------------------------------------------------------------- JSON Lines

    def _raw_lines(self, head: bytes, file: IO[bytes]) -> Iterator[bytes]:
        *complete, rest = head.split(b"\n")
        for line in complete:
            yield line
        if rest:
            end = file.readline()
            self.bytes_read += len(end)
            yield rest + end
        for line in file:
            self.bytes_read += len(line)
            yield line

    def _numbered_lines(self, head: bytes, file: IO[bytes]) -> Iterator[tuple[int, bytes]]:
        """The non-blank lines with their numbers (a leading BOM removed), counted."""
        for number, raw in enumerate(self._raw_lines(head, file), start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]  # noqa: PLW2901 - the BOM is not JSON
            if not raw.strip():
                continue
            self.count += 1
            yield number, raw

    # ---------------------------------------------------------------------------- JSON array

    def _array(self, head: bytes, file: IO[bytes]) -> Iterator[tuple[int, Item]]:
        # Bytes that are not UTF-8 are decoded as lone surrogates, so that they spoil only the
        # element holding them (found where it is decoded), not the whole chunk read.
        decoder = codecs.getincrementaldecoder("utf-8-sig")("surrogateescape")
        reader = _ArrayText(self, file, decoder)
        reader.feed(head)
        reader.expect("[")
        index = 0
        if reader.peek() == "]":
            reader.advance(1)
        else:
            while True:
                line = reader.line_of(reader.value_start())
                item: Item
                try:
                    item = _load_product(reader.value(), line, f"$[{index}]")
                except _UnreadableError as error:
                    item = _bad_json(error.line or line, error.column, error.message)
                self.count += 1
                yield line, item
                index += 1
                separator = reader.peek()
                if separator == ",":
                    reader.advance(1)
                    continue
                if separator == "]":
                    reader.advance(1)
                    break
                if separator == "":
                    reader.fail(reader.pos, "invalid JSON: the file ends inside the array")
                reader.fail(reader.pos, "invalid JSON: expected ',' or ']' after an array element")
        if reader.peek() != "":
            reader.fail(reader.pos, "invalid JSON: extra data after the array")


class _UnreadableError(Exception):
    """An array element the JSON decoder cannot read, skipped: what is wrong, and where (the
    element's own line when ``line`` is ``None``)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _utf8_reason(text: str) -> str:
    """Why text decoded with ``surrogateescape`` is not UTF-8, as the strict decoder says."""
    try:
        text.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeDecodeError as error:
        return error.reason
    return "invalid byte"  # pragma: no cover - only called on text holding an escaped byte


class _ArrayText:
    """A text buffer over a JSON file read in chunks, knowing each position's line and column."""

    def __init__(
        self, owner: ProductReader, file: IO[bytes], decoder: codecs.IncrementalDecoder
    ) -> None:
        self.owner = owner
        self.file = file
        self.decoder = decoder
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.line = 1  # the line of buffer[0]
        self.column = 1  # the column of buffer[0]
        self.escaped = False  # whether a byte that is not UTF-8 has been read

    def feed(self, data: bytes) -> None:
        text = self.decoder.decode(data, final=not data)
        if not self.escaped and _ESCAPED.search(text):
            self.escaped = True
        if not data:
            self.eof = True
        consumed = self.buffer[: self.pos]
        newlines = consumed.count("\n")
        if newlines:
            self.line += newlines
            self.column = len(consumed) - consumed.rfind("\n")
        else:
            self.column += len(consumed)
        self.buffer = self.buffer[self.pos :] + text
        self.pos = 0

    def more(self) -> bool:
        """Read another chunk (more when the buffer is already large); False at the end."""
        if self.eof:
            return False
        size = max(_CHUNK, len(self.buffer) - self.pos)
        chunk = self.file.read(size)
        self.owner.bytes_read += len(chunk)
        self.feed(chunk)
        return True

    def line_of(self, pos: int) -> int:
        return self.line + self.buffer.count("\n", 0, pos)

    def position(self, pos: int) -> tuple[int, int]:
        """The line and column of a position of the buffer."""
        newlines = self.buffer.count("\n", 0, pos)
        column = pos - self.buffer.rfind("\n", 0, pos) if newlines else self.column + pos
        return self.line + newlines, column

    def location(self, pos: int) -> str:
        line, column = self.position(pos)
        return f"line {line}, column {column}"

    def not_utf8(self, pos: int) -> str:
        """What is wrong with the byte at ``pos``, which is not UTF-8."""
        return f"not UTF-8 text ({_utf8_reason(self.buffer[pos : pos + 4])})"

    def fail(self, pos: int, message: str) -> NoReturn:
        if self.escaped and _ESCAPED.match(self.buffer, pos):
            message = (
                f"{self.not_utf8(pos)}; a JSON array cannot be read past it"
                " (JSON Lines can: one product per line)"
            )
        raise CliError([f"{self.owner.name}: {self.location(pos)}: {message}"], FAILED)

    def skip_whitespace(self) -> None:
        while True:
            match = _WHITESPACE.match(self.buffer, self.pos)
            assert match is not None  # the pattern matches the empty string
            self.pos = match.end()
            if self.pos < len(self.buffer) or not self.more():
                return

    def peek(self) -> str:
        self.skip_whitespace()
        return self.buffer[self.pos : self.pos + 1]

    def advance(self, count: int) -> None:
        self.pos += count

    def expect(self, char: str) -> None:
        if self.peek() != char:  # pragma: no cover - the sniffing guarantees the bracket
            self.fail(self.pos, f"invalid JSON: expected {char!r}")
        self.advance(1)

    def value_start(self) -> int:
        self.skip_whitespace()
        return self.pos

    def value(self) -> Any:
        """Decode the JSON value at the current position, reading on while it may be cut.

        Raises:
            _UnreadableError: the value holds bytes that are not UTF-8, nests too deeply for
                the decoder or holds an integer too long for Python; it is skipped.
        """
        while True:
            try:
                data, end = _DECODER.raw_decode(self.buffer, self.pos)
            except _DuplicateKeysError as error:
                self.fail(self.pos, f"invalid JSON: {error}")
            except json.JSONDecodeError as error:
                cut = error.pos >= len(self.buffer) - _TAIL or error.msg.startswith(
                    "Unterminated string"
                )
                if cut and self.more():
                    continue
                self.fail(error.pos, f"invalid JSON: {error.msg}")
            except RecursionError:
                raise _UnreadableError(_too_deep(self.skip_value())) from None
            except ValueError:  # an integer longer than Python reads
                self.skip_value()
                raise _UnreadableError(_too_long_integer()) from None
            if end >= len(self.buffer) - _TAIL and not self.eof:
                # A number or literal may go on in the next chunk: decode again with it.
                self.more()
                continue
            if self.escaped and (bad := _ESCAPED.search(self.buffer, self.pos, end)):
                line, column = self.position(bad.start())
                message = self.not_utf8(bad.start())
                self.pos = end
                raise _UnreadableError(message, line, column)
            self.pos = end
            return data

    def skip_value(self) -> int:
        """Move past the value at the current position without decoding it; its depth.

        Brackets are matched outside strings, reading on as needed; a value that is not a list
        or an object ends before the next ``,``, ``]`` or ``}``. What follows the value (or
        the end of the file) is for the caller to judge.
        """
        depth = deepest = 0
        offset = 0  # from self.pos, which reading on moves
        while True:
            match = _STRUCTURE.search(self.buffer, self.pos + offset)
            if match is not None and match.group() == '"':
                rest = _STRING_REST.match(self.buffer, match.end())
                if rest is not None:
                    offset = rest.end() - self.pos
                    continue
                offset = match.start() - self.pos  # the string goes on in the next chunk
                match = None
            elif match is None:
                offset = len(self.buffer) - self.pos
            if match is None:
                if not self.more():
                    self.pos = len(self.buffer)
                    return deepest
                continue
            char, at = match.group(), match.start()
            if char in "[{":
                depth += 1
                deepest = max(deepest, depth)
            elif depth == 0:  # the end of a number or literal
                self.pos = at
                return deepest
            elif char != ",":
                depth -= 1
                if depth == 0:
                    self.pos = at + 1
                    return deepest
            offset = at + 1 - self.pos
