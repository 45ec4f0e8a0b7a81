"""Field checks shared by every model, and the machinery that runs them at construction.

A model declares its rules once, on its fields (``attrs.field(metadata=check(...))``) and, for rules
that span fields, in a ``_cross_checks`` method. The same rules run when a model is built in Python
(an invalid policy cannot exist in memory) and when it is loaded from JSON (where the problems are
reported with their JSON paths, all at once).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from policy_engine._errors import PolicyConfigError
from policy_engine._limits import MAX_ID_LENGTH, MAX_INTEGER, MAX_STRING_LENGTH

__all__ = [
    "CHECK",
    "INLINE",
    "JSON_SCHEMA",
    "MAX_SIZE",
    "OMIT_NONE",
    "Checked",
    "FrozenDict",
    "Problem",
    "article",
    "at_least",
    "at_most",
    "check",
    "checks_of",
    "constructor_fields",
    "describe",
    "fast_constructor",
    "field_path",
    "greater_than",
    "in_range",
    "is_bool",
    "is_int",
    "is_int_or_none",
    "is_member",
    "is_str",
    "is_str_or_none",
    "key_path",
    "max_items",
    "max_length",
    "non_empty",
    "problems_of",
    "raise_problems",
    "shown",
    "size_limit",
    "text",
]

CHECK = "policy_engine.check"

#: Attribute of a checker made by :func:`text` or :func:`is_member`: what it checks, as a tuple
#: (``("text", limit, optional, required)``, ``("member", cls)``), so that the fast loader can
#: fold the check into its generated code instead of calling it.
INLINE = "policy_engine.inline"

#: Attribute of a checker holding the JSON Schema keywords its rule amounts to (``{"minimum": 0}``),
#: read by :func:`policy_engine.json_schema` so that the schema's ranges come from the checks.
#: Keywords are type-specific (``minLength`` applies to strings, ``minItems`` to lists…).
JSON_SCHEMA = "json_schema"

#: Attribute of a checker that bounds the size of a value (a string's length, a collection's number
#: of items): the loader reads it to reject an oversized JSON value before loading what is inside.
MAX_SIZE = "max_size"

#: A problem is ``(path relative to the object, message)``; the path starts with ``$``.
Problem = tuple[str, str]
#: A check returns a message when the value breaks the rule, else ``None``.
Checker = Callable[[Any], str | None]

_T = TypeVar("_T")
_K = TypeVar("_K")
_V = TypeVar("_V")


class FrozenDict(dict[_K, _V]):
    """A read-only, hashable ``dict`` used for every mapping inside a model.

    It is a real ``dict`` (lookups run at C speed and it equals a plain dict with the same items),
    but every mutating method raises ``TypeError``.
    """

    __slots__ = ("_hash",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hash: int | None = None

    def _readonly(self, *_: object, **__: object) -> Any:
        msg = f"{type(self).__name__} is read-only; build a new one instead"
        raise TypeError(msg)

    __setitem__ = __delitem__ = _readonly
    clear = pop = popitem = setdefault = update = _readonly
    __ior__ = _readonly

    def __hash__(self) -> int:  # type: ignore[override]
        if self._hash is None:
            self._hash = hash(frozenset(self.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenDict[_K, _V]:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict[_K, _V]:
        return self


def check(*checkers: Checker) -> dict[str, tuple[Checker, ...]]:
    """Field metadata declaring the rules a field's value must follow."""
    return {CHECK: checkers}


def describe(value: object) -> str:
    """Name the JSON type of a value for an error message (``a string``, ``a boolean``…)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple | frozenset | set):
        return "a list"
    name = type(value).__name__
    return f"{article(name)} {name}"


#: Integers longer than this many digits are shown by their size in messages, not spelt out.
_SHOWN_DIGITS = 40
_SHOWN_LIMIT = 10**_SHOWN_DIGITS


def shown(value: object, limit: int = 40) -> str:
    """A value for an error message, kept short whatever its size.

    A string is quoted and cut to ``limit`` characters, a number is written out unless it has more
    than 40 digits, anything else is named by its JSON type (:func:`describe`). So a message never
    copies a 10 MB string, never recurses into a deeply nested list, and never formats an integer
    too long for Python to turn into text.
    """
    if type(value) is str:
        return repr(value if len(value) <= limit else value[:limit] + "…")
    if isinstance(value, enum.Enum):
        return repr(value.value)
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return (
            str(value) if -_SHOWN_LIMIT < value < _SHOWN_LIMIT else "an integer of over 40 digits"
        )
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        digits = value.as_tuple().digits
        if len(digits) <= _SHOWN_DIGITS and -_SHOWN_DIGITS <= value.adjusted() <= _SHOWN_DIGITS:
            return str(value)
        return "a number of over 40 digits"
    return describe(value)


def article(word: str) -> str:
    """``a`` or ``an`` before a word (by its first letter, which is right for our vocabulary)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, float) and math.isfinite(value)


def is_str(value: Any) -> str | None:
    """The value must be a string of at most :data:`~policy_engine.MAX_STRING_LENGTH` characters."""
    if type(value) is not str:
        return f"expected a string, got {describe(value)}"
    if len(value) > MAX_STRING_LENGTH:
        return _too_long(MAX_STRING_LENGTH, len(value))
    return None


is_str.__dict__[JSON_SCHEMA] = {"maxLength": MAX_STRING_LENGTH}
is_str.__dict__[MAX_SIZE] = MAX_STRING_LENGTH


def is_str_or_none(value: Any) -> str | None:
    """The value must be a string (see :func:`is_str`) or ``None``."""
    return None if value is None else is_str(value)


is_str_or_none.__dict__[JSON_SCHEMA] = is_str.__dict__[JSON_SCHEMA]
is_str_or_none.__dict__[MAX_SIZE] = MAX_STRING_LENGTH


def is_int(value: Any) -> str | None:
    """The value must be an integer (``True``/``False`` are not) of magnitude at most
    :data:`~policy_engine.MAX_INTEGER`."""
    if type(value) is not int:
        return f"expected an integer, got {describe(value)}"
    if -MAX_INTEGER <= value <= MAX_INTEGER:
        return None
    return f"must be between {-MAX_INTEGER} and {MAX_INTEGER} (got {shown(value)})"


is_int.__dict__[JSON_SCHEMA] = {"minimum": -MAX_INTEGER, "maximum": MAX_INTEGER}


def is_int_or_none(value: Any) -> str | None:
    """The value must be an integer (see :func:`is_int`) or ``None``."""
    return None if value is None else is_int(value)


is_int_or_none.__dict__[JSON_SCHEMA] = is_int.__dict__[JSON_SCHEMA]


def is_bool(value: Any) -> str | None:
    """The value must be a boolean."""
    return None if type(value) is bool else f"expected a boolean, got {describe(value)}"


def is_member(cls: type[enum.Enum]) -> Checker:
    """The value must be a member of the enumeration ``cls`` (its lower-case value, once loaded)."""
    allowed = ", ".join(repr(member.value) for member in cls)

    def _check(value: Any) -> str | None:
        return None if isinstance(value, cls) else f"must be one of {allowed} (got {shown(value)})"

    _check.__dict__[INLINE] = ("member", cls)
    return _check


def at_least(minimum: int | Decimal) -> Checker:
    """The value (a number) must be ``>= minimum``."""

    def _check(value: Any) -> str | None:
        if value is None or not _is_number(value):
            return None if value is None else f"expected a number, got {describe(value)}"
        return None if value >= minimum else f"must be >= {minimum} (got {shown(value)})"

    _check.__dict__[JSON_SCHEMA] = {"minimum": minimum}
    return _check


def greater_than(minimum: int | Decimal) -> Checker:
    """The value (a number) must be ``> minimum``."""

    def _check(value: Any) -> str | None:
        if value is None or not _is_number(value):
            return None if value is None else f"expected a number, got {describe(value)}"
        return None if value > minimum else f"must be > {minimum} (got {shown(value)})"

    _check.__dict__[JSON_SCHEMA] = {"exclusiveMinimum": minimum}
    return _check


def at_most(maximum: int | Decimal) -> Checker:
    """The value (a number) must be ``<= maximum``."""

    def _check(value: Any) -> str | None:
        if value is None or not _is_number(value):
            return None if value is None else f"expected a number, got {describe(value)}"
        return None if value <= maximum else f"must be <= {maximum} (got {shown(value)})"

    _check.__dict__[JSON_SCHEMA] = {"maximum": maximum}
    return _check


def in_range(minimum: int, maximum: int) -> Checker:
    """The value (an integer) must lie in ``[minimum, maximum]``."""

    def _check(value: Any) -> str | None:
        if value is None or not _is_number(value):
            return None if value is None else f"expected a number, got {describe(value)}"
        if minimum <= value <= maximum:
            return None
        return f"must be between {minimum} and {maximum} (got {shown(value)})"

    _check.__dict__[JSON_SCHEMA] = {"minimum": minimum, "maximum": maximum}
    return _check


def non_empty(value: Any) -> str | None:
    """The value (a string or a collection) must not be empty."""
    if value is None:
        return None
    if isinstance(value, str):
        return None if value.strip() else "must not be empty"
    return None if len(value) else "must not be empty"


# A string must hold a character that is not a blank; a list or an object must hold an item.
non_empty.__dict__[JSON_SCHEMA] = {
    "minLength": 1,
    "pattern": r"\S",
    "minItems": 1,
    "minProperties": 1,
}


def _too_long(limit: int, length: int) -> str:
    return f"must be at most {limit} characters long (got {length})"


def max_length(limit: int) -> Checker:
    """The value, a string, must have at most ``limit`` characters."""

    def _check(value: Any) -> str | None:
        if type(value) is str and len(value) > limit:
            return _too_long(limit, len(value))
        return None

    _check.__dict__[JSON_SCHEMA] = {"maxLength": limit}
    _check.__dict__[MAX_SIZE] = limit
    return _check


def text(limit: int, *, optional: bool = False, required: bool = False) -> Checker:
    """The value must be a string of at most ``limit`` characters (``None`` too when
    ``optional``; not blank when ``required``).

    One check for what :func:`is_str`, :func:`max_length` and :func:`non_empty` check together:
    models are built in hot loops, and each check is a call.
    """

    def _check(value: Any) -> str | None:
        if type(value) is not str:
            if value is None and optional:
                return None
            return f"expected a string, got {describe(value)}"
        if len(value) > limit:
            return _too_long(limit, len(value))
        if required and not value.strip():
            return "must not be empty"
        return None

    keywords: dict[str, Any] = {"maxLength": limit}
    if required:
        keywords.update(minLength=1, pattern=r"\S")
    _check.__dict__[JSON_SCHEMA] = keywords
    _check.__dict__[MAX_SIZE] = limit
    _check.__dict__[INLINE] = ("text", limit, optional, required)
    return _check


def max_items(limit: int) -> Checker:
    """The value, a list, a set or a mapping, must have at most ``limit`` items."""

    def _check(value: Any) -> str | None:
        if isinstance(value, Sized) and not isinstance(value, str) and len(value) > limit:
            return f"must have at most {limit} items (got {len(value)})"
        return None

    _check.__dict__[JSON_SCHEMA] = {"maxItems": limit, "maxProperties": limit}
    _check.__dict__[MAX_SIZE] = limit
    return _check


def size_limit(checkers: Iterable[Checker]) -> tuple[int, Checker] | None:
    """The tightest size bound among a field's checkers, with the checker that states it."""
    found: tuple[int, Checker] | None = None
    for checker in checkers:
        limit = getattr(checker, MAX_SIZE, None)
        if limit is not None and (found is None or limit < found[0]):
            found = (limit, checker)
    return found


_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def key_path(key: object) -> str:
    """The path segment of a mapping key: ``.key`` when it reads plainly, else ``["key"]``."""
    if type(key) is str and len(key) > MAX_ID_LENGTH:
        key = key[:MAX_ID_LENGTH] + "…"  # an over-long key is reported, not copied whole
    if isinstance(key, str) and key and key[0] not in "0123456789-" and set(key) <= _IDENT_CHARS:
        return f".{key}"
    if not isinstance(key, str | int):
        key = describe(key)
    text = str(key).replace("\\", "\\\\").replace('"', '\\"')
    return f'["{text}"]'


def field_path(name: str) -> str:
    """The path of an attrs field relative to its object."""
    return f"$.{name}"


#: Each checked class's fields that declare checks: ``(name, path, checkers)``, built on first use.
#: Filled once per class (classes are few and immutable), so it never needs invalidating.
_CHECKS: dict[type, tuple[tuple[str, str, tuple[Checker, ...]], ...]] = {}


def checks_of(cls: type) -> tuple[tuple[str, str, tuple[Checker, ...]], ...]:
    """The declared checks of an attrs class: ``(field name, path, checkers)`` per field."""
    found = _CHECKS.get(cls)
    if found is None:
        found = tuple(
            (field.name, field_path(field.name), field.metadata[CHECK])
            for field in attrs.fields(cls)
            if field.metadata.get(CHECK)
        )
        _CHECKS[cls] = found
    return found


def problems_of(instance: object) -> list[Problem]:
    """Run every declared check of an attrs instance; return the problems found."""
    found: list[Problem] = []
    for name, path, checkers in checks_of(type(instance)):
        value = getattr(instance, name)
        for checker in checkers:
            message = checker(value)
            if message is not None:
                found.append((path, message))
                break
    if not found:
        cross: Callable[[], Iterable[Problem]] | None = getattr(instance, "_cross_checks", None)
        if cross is not None:
            found.extend(cross())
    return found


def field_problems(cls: type, name: str, value: Any) -> Iterator[str]:
    """Messages of the checks of one field for a value (used while loading)."""
    for field_name, _path, checkers in checks_of(cls):
        if field_name == name:
            for checker in checkers:
                message = checker(value)
                if message is not None:
                    yield message
                    return
            return


def raise_problems(problems: Iterable[Problem]) -> None:
    """Raise :class:`PolicyConfigError` for the problems, if there are any."""
    listed = list(problems)
    if listed:
        raise PolicyConfigError.from_problems(listed)


class Checked:
    """Mixin for frozen attrs models: runs the declared checks after ``__init__``.

    The checks raise :class:`PolicyConfigError` listing every problem with its path relative to
    the object (``$.buffer``); when the model is loaded from JSON the paths are absolute.
    """

    __slots__ = ()

    def __attrs_post_init__(self) -> None:
        raise_problems(problems_of(self))


#: Field metadata key: an optional field (``None`` by default) left out of the dumped data while
#: it is ``None`` — a field added to a result later, such as its stamp, so that what the result
#: dumped before stays the same. :func:`fast_constructor` takes it last, by default ``None``.
OMIT_NONE = "policy_engine.omit_none"


def constructor_fields(cls: type[Any]) -> list[str]:
    """The field names in the order :func:`fast_constructor` takes them.

    Declaration order, except that the optional (:data:`OMIT_NONE`) fields come last: a field
    added later to the class (after a stamp) keeps the position it is declared at.
    """
    fields = attrs.fields(cls)
    return [field.name for field in fields if not field.metadata.get(OMIT_NONE)] + [
        field.name for field in fields if field.metadata.get(OMIT_NONE)
    ]


def fast_constructor(cls: type[_T]) -> Callable[..., _T]:
    """A positional constructor for a frozen, slotted result class that skips ``__init__``.

    Results are built in hot loops and need no checks (the library builds them from valid
    policies); writing the slots directly costs about 40 % of attrs' frozen ``__init__``. The
    object is indistinguishable from one built by ``cls(**fields)``: the arguments are the
    fields in the order of :func:`constructor_fields` (declaration order, the optional ones
    last), and every field must be given except the optional ones (:data:`OMIT_NONE` fields,
    such as a result's :class:`~policy_engine.Stamp`), which default to ``None``.
    """
    names = constructor_fields(cls)
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    for name in names:
        namespace[f"_set_{name}"] = cls.__dict__[name].__set__
    optional = {field.name for field in attrs.fields(cls) if field.metadata.get(OMIT_NONE)}  # type: ignore[arg-type]
    arguments = ", ".join(f"{name}=None" if name in optional else name for name in names)
    body = "".join(f"    _set_{name}(obj, {name})\n" for name in names)
    source = f"def make({arguments}):\n    obj = _new(_cls)\n{body}    return obj\n"
    exec(source, namespace)  # noqa: S102 - the source is built from the class's own field names
    make: Callable[..., _T] = namespace["make"]
    make.__qualname__ = f"{cls.__name__}.fast_constructor"
    return make
