"""JSON text in and out at full speed: :func:`from_json` and :func:`to_json`.

:func:`to_json` writes a model as compact JSON text without building the dictionaries of
:func:`~policy_engine.unstructure` first: for each model class a writer is generated once, as
Python source, that concatenates the text of each field. The text is exactly
``json.dumps(unstructure(obj), ensure_ascii=False, separators=(",", ":"))``.

:func:`from_json` decodes JSON text and loads it with :func:`~policy_engine.structure`. When the
optional ``orjson`` package is installed (``pip install 'policy-engine[fast]'``) it decodes with
it, and falls back to the standard library for anything orjson reads differently (duplicate keys,
``NaN``, integers beyond 64 bits, escapes it would not check), so the result and every error are
the same with or without it.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar, get_args, get_origin

import attrs

from policy_engine._errors import PolicyConfigError
from policy_engine._steps import Step

__all__ = ["NOT_DECODED", "decode_json", "fast_decode", "from_json", "to_json"]

T = TypeVar("T")

_orjson: types.ModuleType | None
try:  # pragma: no cover - which branch runs depends on the environment
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None

_encode_text: Callable[[str], str] = json.encoder.encode_basestring
_int_text = int.__repr__


def _any_text(value: object) -> str:
    from policy_engine._serialization import unstructure  # noqa: PLC0415 - import cycle

    return json.dumps(unstructure(value), ensure_ascii=False, separators=(",", ":"))


# ------------------------------------------------------------------------------------ reading


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        duplicates: list[str] = []
        for key, _ in pairs:
            if key in seen and key not in duplicates:
                duplicates.append(key)
            seen.add(key)
        listed = ", ".join(repr(key) for key in duplicates)
        msg = f"duplicate keys {listed} in an object"
        raise ValueError(msg)
    return data


_STRICT = json.JSONDecoder(object_pairs_hook=_unique_keys)


def decode_json(data: str | bytes) -> Any:
    """Decode JSON text (``str``, or UTF-8 ``bytes``), rejecting duplicate keys in an object.

    With orjson installed it decodes the text, unless the text holds what orjson reads
    differently from the standard library; the result is the same either way.

    Raises:
        ValueError: the text is not JSON (a ``json.JSONDecodeError``, with its position), is not
            UTF-8, or an object repeats a key.
    """
    decoded = fast_decode(data)
    if decoded is not NOT_DECODED:
        return decoded
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return _STRICT.decode(text)


#: What :func:`fast_decode` returns when the text is left to the standard library.
NOT_DECODED = object()
#: A run of digits orjson may read as a float (an integer beyond 64 bits): left to the standard
#: library, which reads integers of any size.
_DIGITS = bytes(ord("0") if chr(byte).isdigit() and byte < 128 else ord(" ") for byte in range(256))
_LONG_DIGITS = b"0" * 19


def fast_decode(data: str | bytes) -> Any:
    """The value orjson decodes, when it is surely what the standard library decodes; else
    :data:`NOT_DECODED` (also when orjson is not installed).

    orjson keeps the last of duplicate keys silently, so the text is checked: without ``\\u``
    escapes, every colon of the text is either inside a string (and stays in the decoded text
    when it is written again) or separates a key from its value; a dropped duplicate takes at
    least one colon with it. Anything orjson refuses (``NaN``, huge integers, lone surrogates,
    deep nesting) is left to the standard library, which reports it as before, and so are long
    runs of digits (orjson reads an integer beyond 64 bits as a float).
    """
    if _orjson is None:
        return NOT_DECODED
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if b"\\u" in raw or _LONG_DIGITS in raw.translate(_DIGITS):
        return NOT_DECODED
    try:
        decoded = _orjson.loads(raw)
    except _orjson.JSONDecodeError:
        return NOT_DECODED
    colons = raw.count(b":")
    if colons:
        try:
            again = _orjson.dumps(decoded)
        except TypeError:  # orjson writes less deeply nested values than it reads
            return NOT_DECODED
        if again.count(b":") != colons:
            return NOT_DECODED
    return decoded


def from_json(data: str | bytes, cls: type[T]) -> T:
    """Decode JSON text and load it as a model of type ``cls`` (see :func:`structure`).

    Raises:
        PolicyConfigError: the text is not JSON (``invalid JSON: ... @ $``), or the document
            does not load (every problem with its JSON path).
    """
    from policy_engine._serialization import structure  # noqa: PLC0415 - import cycle

    try:
        document = decode_json(data)
    except ValueError as error:
        raise PolicyConfigError([f"invalid JSON: {error} @ $"]) from None
    except RecursionError:
        raise PolicyConfigError(["invalid JSON: nested too deeply @ $"]) from None
    return structure(document, cls)


# ------------------------------------------------------------------------------------ writing

_WRITERS: dict[type, Callable[[Any], str]] = {}
#: What no field holds: the value a writer's cache of the last written result starts with.
_NOTHING = object()


def to_json(obj: Any) -> str:
    """A model as compact JSON text: ``json.dumps(unstructure(obj), ensure_ascii=False,
    separators=(",", ":"))``, written without building the dictionaries first.

    Results shared by several outcomes (the quantity, price and images one product gives every
    account its template serves) are written once and the text reused.
    """
    writer = _WRITERS.get(type(obj))
    if writer is None:
        if not attrs.has(type(obj)):
            return _any_text(obj)
        writer = _writer(type(obj))
    return writer(obj)


def _writer(cls: type[Any]) -> Callable[[Any], str]:
    found = _WRITERS.get(cls)
    if found is not None:
        return found

    # A stand-in while the class is generated (a class that holds itself).
    cell: list[Callable[[Any], str]] = []

    def _recursive(obj: Any) -> str:
        return cell[0](obj)

    _WRITERS[cls] = _recursive
    writer = _Writer(cls).build()
    cell.append(writer)
    _WRITERS[cls] = writer
    return writer


def _step_text(step: Step) -> str:
    args = ",".join(
        [
            _encode_text(arg)
            if type(arg) is str
            else _int_text(arg)
            if type(arg) is int
            else "null"
            if arg is None
            else _any_text(arg)
            for arg in step[1:]
        ]
    )
    return (
        f'{{"code":{_encode_text(step[0])},"args":[{args}],"message":{_encode_text(step.message)}}}'
    )


def _is_optional(tp: Any) -> bool:
    return get_origin(tp) in (typing.Union, types.UnionType) and type(None) in get_args(tp)


class _Writer:
    def __init__(self, cls: type[Any]) -> None:
        self.cls = cls
        self.namespace: dict[str, Any] = {
            "_enc": _encode_text,
            "_int": _int_text,
            "_any": _any_text,
            "_step": _step_text,
            "_NOTHING": _NOTHING,
            "Decimal": Decimal,
            "Step": Step,
        }
        self.counter = 0

    def constant(self, value: Any, hint: str) -> str:
        self.counter += 1
        name = f"_{hint}{self.counter}"
        self.namespace[name] = value
        return name

    def build(self) -> Callable[[Any], str]:
        from policy_engine._serialization import DUMP  # noqa: PLC0415 - import cycle
        from policy_engine._validation import OMIT_NONE  # noqa: PLC0415 - import cycle

        cls = self.cls
        attrs.resolve_types(cls)
        fields = [field for field in attrs.fields(cls) if field.init]
        lines = ["def write(obj):"]
        parts: list[str] = []
        for index, field in enumerate(fields):
            value = f"v{index}"
            lines.append(f"    {value} = obj.{field.name}")
            key = json.dumps(field.name, ensure_ascii=False)
            parts.append(repr(("{" if index == 0 else ",") + key + ":"))
            dump = field.metadata.get(DUMP)
            if dump is not None:
                expression = f"_any({self.constant(dump, 'dump')}({value}))"
            elif _bare(field.type) is not None and attrs.has(_bare(field.type)):
                # A result shared by several outcomes is written once: the last one is kept.
                last = self.constant([(_NOTHING, "")], "last")
                text = f"t{index}"
                lines.extend(
                    [
                        f"    k{index} = {last}[0]",
                        f"    if k{index}[0] is {value}:",
                        f"        {text} = k{index}[1]",
                        "    else:",
                        f"        {text} = {self._expression(field.type, value)}",
                        f"        {last}[0] = ({value}, {text})",
                    ]
                )
                expression = text
            else:
                expression = self._expression(field.type, value)
            if index and field.metadata.get(OMIT_NONE):
                # An optional field (a stamp, a section added later) is left out while None, as
                # unstructure leaves it out.
                key_text = parts.pop()
                expression = f"('' if {value} is None else {key_text} + {expression})"
            parts.append(expression)
        parts.append(repr("}") if fields else repr("{}"))
        lines.append("    return ''.join([" + ", ".join(parts) + "])")
        exec("\n".join(lines) + "\n", self.namespace)  # noqa: S102 - the class's own fields
        write: Callable[[Any], str] = self.namespace["write"]
        write.__qualname__ = f"{cls.__name__}.to_json"
        return write

    def _expression(self, tp: Any, value: str) -> str:
        """A Python expression giving the JSON text of ``value``, of declared type ``tp``."""
        if _is_optional(tp):
            inner = [arg for arg in get_args(tp) if arg is not type(None)]
            if len(inner) == 1:
                return f"('null' if {value} is None else {self._expression(inner[0], value)})"
            return f"_any({value})"
        origin = get_origin(tp)
        args = get_args(tp)
        if tp is str:
            return f"(_enc({value}) if type({value}) is str else _any({value}))"
        if tp is bool:
            return f"(('true' if {value} else 'false') if type({value}) is bool else _any({value}))"
        if tp is int:
            return f"(_int({value}) if type({value}) is int else _any({value}))"
        if tp is Decimal:
            return f"""('"' + str({value}) + '"' if type({value}) is Decimal else _any({value}))"""
        if tp is date or tp is datetime:
            kind = self.constant(tp, "type")
            return (
                f"""('"' + {value}.isoformat() + '"' if type({value}) is {kind} """
                f"else _any({value}))"
            )
        if tp is Step:
            return f"(_step({value}) if type({value}) is Step else _any({value}))"
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            texts = self.constant({member: _any_text(member) for member in tp}, "members")
            kind = self.constant(tp, "type")
            return f"({texts}[{value}] if type({value}) is {kind} else _any({value}))"
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            item = self.fresh()
            each = self._expression(args[0], item)
            return (
                f"(('[' + ','.join([{each} for {item} in {value}]) + ']')"
                f" if type({value}) is tuple else _any({value}))"
            )
        if origin is frozenset and args == (str,):
            item = self.fresh()
            return (
                f"(('[' + ','.join([_enc({item}) for {item} in sorted({value})]) + ']')"
                f" if type({value}) is frozenset and all(type({item}) is str for {item} in {value})"
                f" else _any({value}))"
            )
        if attrs.has(tp):
            writer = self.constant(_writer(tp), "write")
            kind = self.constant(tp, "type")
            return f"({writer}({value}) if type({value}) is {kind} else _any({value}))"
        return f"_any({value})"

    def fresh(self) -> str:
        self.counter += 1
        return f"item{self.counter}"


def _bare(tp: Any) -> Any:
    """The class of an optional field (``X | None`` → ``X``)."""
    if _is_optional(tp):
        inner = [arg for arg in get_args(tp) if arg is not type(None)]
        return inner[0] if len(inner) == 1 else None
    return tp
