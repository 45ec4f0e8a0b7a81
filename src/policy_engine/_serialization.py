"""JSON loading and dumping: one configured cattrs converter behind ``structure``/``unstructure``.

Loading is strict (section 1 of the spec): unknown keys, missing required fields, wrong JSON types,
booleans given as integers, NaN or oversized money are all errors. Every problem is collected with
its JSON path and reported at once in one :class:`~policy_engine.PolicyConfigError`.

The converter is private and configured once at import; users reach it only through
:func:`structure` and :func:`unstructure`, so nobody can register a hook that changes how the
library loads data for everybody else.
"""

from __future__ import annotations

import difflib
import enum
import itertools
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NoReturn, TypeVar, get_args, get_origin

import attrs
import cattrs

from policy_engine._errors import PolicyConfigError
from policy_engine._fastload import fast_loader
from policy_engine._limits import (
    MAX_ATTRIBUTE_VALUE_LENGTH,
    MAX_ID_LENGTH,
    MAX_ITEMS,
    MAX_JSON_DEPTH,
    MAX_MONEY_INTEGER_DIGITS,
    MAX_MONEY_TEXT_LENGTH,
    MAX_PROBLEMS,
    MAX_STRING_LENGTH,
)
from policy_engine._steps import Step
from policy_engine._validation import (
    CHECK,
    OMIT_NONE,
    Checker,
    FrozenDict,
    Problem,
    describe,
    field_problems,
    is_int,
    is_str,
    key_path,
    max_items,
    max_length,
    shown,
    size_limit,
)

__all__ = [
    "DUMP",
    "LOAD",
    "OMIT_NONE",
    "Invalid",
    "load_json_value",
    "load_money",
    "load_quantity",
    "structure",
    "structure_detailed",
    "unstructure",
]

T = TypeVar("T")

#: Field metadata key of a custom loader: ``loader(value) -> loaded`` raising :class:`Invalid`.
LOAD = "policy_engine.load"

#: Field metadata key of a custom dumper: ``dumper(value) -> JSON-compatible data``.
DUMP = "policy_engine.dump"

#: Quantities lie strictly below this magnitude (``MAX_QUANTITY`` is the largest accepted).
QUANTITY_BOUND = 10**15
_MONEY_BOUND = 10**MAX_MONEY_INTEGER_DIGITS
#: The default size check of lists, sets and objects: at most ``MAX_ITEMS`` items.
_ANY_ITEMS = max_items(MAX_ITEMS)
#: A step's text argument (a list of changed codes, say) is as long as an attribute value may be.
_STEP_TEXT = max_length(MAX_ATTRIBUTE_VALUE_LENGTH)
#: An object's unknown keys are listed up to this many, then counted.
UNKNOWN_FIELDS_LISTED = 100
#: An unknown key longer than this gets no "did you mean" (comparing it would cost its length).
_SUGGEST_LENGTH = 100

#: A decimal number as text: ASCII digits, an optional sign, point and exponent (no ``_``, no
#: ``NaN``/``Infinity``, no other scripts' digits, which ``Decimal`` itself would accept).
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


_NOT_FINITE = frozenset({"nan", "snan", "inf", "infinity"})


class Invalid(Exception):  # noqa: N818 - internal signal, never escapes structure()
    """Internal: the problems found below some point of a document (paths relative to it)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


def fail(message: str) -> NoReturn:
    """Raise :class:`Invalid` for the value being loaded."""
    raise Invalid([("$", message)])


def _under(segment: str, problems: list[Problem]) -> list[Problem]:
    return [("$" + segment + path[1:], message) for path, message in problems]


# --------------------------------------------------------------------------------------- leaves


def _load_str(value: object, _: object = None) -> str:
    if type(value) is not str:
        fail(f"expected a string, got {describe(value)}")
    if len(value) > MAX_STRING_LENGTH:
        fail(is_str(value) or "")
    return value


def _str_hook(limit: int, checker: Checker) -> Callable[..., str]:
    """A string loader with a field's own length limit (checked before anything else)."""

    def _load(value: object, _: object = None) -> str:
        if type(value) is not str:
            fail(f"expected a string, got {describe(value)}")
        if len(value) > limit:
            fail(checker(value) or "")
        return value

    return _load


def _load_int(value: object, _: object = None) -> int:
    if type(value) is not int:
        fail(f"expected an integer, got {describe(value)}")
    return value


def _load_bool(value: object, _: object = None) -> bool:
    if type(value) is not bool:
        fail(f"expected a boolean, got {describe(value)}")
    return value


def load_money(value: object, _: object = None) -> Decimal:
    """Load a money value: a JSON string or number, never NaN, infinite, boolean or too large."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        fail(f"expected money (a decimal number or string), got {describe(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            fail(f"money must be a finite number, got {value}")
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        if len(value) > MAX_MONEY_TEXT_LENGTH:
            fail(
                f"money given as text must be at most {MAX_MONEY_TEXT_LENGTH} characters long"
                f" (got {len(value)})"
            )
        text = value.strip()
        if not _DECIMAL_TEXT.fullmatch(text):
            if text.lstrip("+-").lower() in _NOT_FINITE:
                fail(f"money must be a finite number, got {value!r}")
            fail(f"expected money (a decimal number), got the string {shown(value)}")
        amount = Decimal(text)
    else:
        if isinstance(value, int) and not -_MONEY_BOUND < value < _MONEY_BOUND:
            # Checked before Decimal() and before any message: Python cannot print an integer of
            # more than 4,300 digits.
            digits = MAX_MONEY_INTEGER_DIGITS
            fail(f"money must have at most {digits} integer digits, got {shown(value)}")
        amount = Decimal(value)
    if not amount.is_finite():
        fail(f"money must be a finite number, got {_shown_repr(value)}")
    if amount != 0 and amount.adjusted() >= MAX_MONEY_INTEGER_DIGITS:
        fail(
            f"money must have at most {MAX_MONEY_INTEGER_DIGITS} integer digits,"
            f" got {value if isinstance(value, str) else shown(value)}"
        )
    return amount


def load_quantity(value: object, _: object = None) -> int:
    """Load a stock quantity: an integer, or a decimal number or string that is floored."""
    if type(value) is int:
        if not -QUANTITY_BOUND < value < QUANTITY_BOUND:
            fail(f"a quantity must be below 10**15, got {shown(value)}")
        return value
    if isinstance(value, bool) or not isinstance(value, float | str | Decimal):
        fail(f"expected a quantity (a number), got {describe(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            fail(f"a quantity must be a finite number, got {value}")
        if abs(value) >= 1e15:
            fail(f"a quantity must be below 10**15, got {value}")
        return math.floor(value)
    if isinstance(value, str) and (
        len(value) > MAX_MONEY_TEXT_LENGTH or not _DECIMAL_TEXT.fullmatch(value.strip())
    ):
        fail(f"expected a quantity (a number), got the string {shown(value)}")
    amount = Decimal(value.strip() if isinstance(value, str) else value)
    if not amount.is_finite() or abs(amount) >= QUANTITY_BOUND:
        fail(f"a quantity must be a finite number below 10**15, got {_shown_repr(value)}")
    return math.floor(amount)


def _shown_repr(value: object) -> str:
    """``repr`` of a short value (``'1e20'``, ``Decimal('NaN')``); a long one as :func:`shown`."""
    if isinstance(value, Decimal) and len(value.as_tuple().digits) <= _SUGGEST_LENGTH:
        return repr(value)
    return shown(value)


#: No ISO date or date-time is longer (the longest forms carry microseconds and an offset).
_ISO_LENGTH = 64


def _load_date(value: object, _: object = None) -> date:
    if type(value) is date:
        return value
    if type(value) is not str:
        fail(f"expected an ISO date (YYYY-MM-DD), got {describe(value)}")
    if len(value) > _ISO_LENGTH:
        fail(f"expected an ISO date (YYYY-MM-DD), got {shown(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"expected an ISO date (YYYY-MM-DD), got {shown(value)}")


def _load_datetime(value: object, _: object = None) -> datetime:
    if type(value) is datetime:
        return value
    if type(value) is not str:
        fail(f"expected an ISO date-time, got {describe(value)}")
    if len(value) > _ISO_LENGTH:
        fail(f"expected an ISO date-time (YYYY-MM-DDTHH:MM:SS), got {shown(value)}")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        fail(f"expected an ISO date-time (YYYY-MM-DDTHH:MM:SS), got {shown(value)}")


def _enum_hook(cls: type[enum.Enum]) -> Callable[[object, object], enum.Enum]:
    members = {member.value: member for member in cls}
    allowed = ", ".join(repr(value) for value in members)

    def _load(value: object, _: object = None) -> enum.Enum:
        if type(value) is str and value in members:
            return members[value]
        if isinstance(value, cls):
            return value
        if type(value) is not str:
            fail(f"expected one of {allowed}, got {describe(value)}")
        fail(f"must be one of {allowed} (got {shown(value)})")

    return _load


# --------------------------------------------------------------------------- free-form JSON


def load_json_value(value: object, _: object = None) -> Any:
    """Load a free-form JSON value (a result's summary, say) as it is, once it is checked.

    It must be JSON: text, a finite number, a boolean, null, lists and objects with text keys of
    those; within the limits of any value (``MAX_STRING_LENGTH``, ``MAX_ITEMS``, ``MAX_INTEGER``)
    and nested at most ``MAX_JSON_DEPTH`` levels.

    Raises:
        Invalid: every problem, with its path relative to the value.
    """
    problems: list[Problem] = []
    _json_problems(value, "$", 0, problems)
    if problems:
        raise Invalid(problems)
    return value


def _json_problems(value: object, path: str, depth: int, problems: list[Problem]) -> None:
    if len(problems) >= MAX_PROBLEMS:
        return
    kind = type(value)
    message: str | None = None
    if value is None or kind is bool:
        return
    if kind is str:
        message = is_str(value)
    elif kind is int:
        message = is_int(value)
    elif isinstance(value, float | Decimal):
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        if not finite:
            message = f"expected a finite number, got {shown(value)}"
    elif kind in (list, tuple) or isinstance(value, Mapping):
        sized = typing.cast("list[Any] | Mapping[Any, Any]", value)
        if depth >= MAX_JSON_DEPTH:
            message = f"must be nested at most {MAX_JSON_DEPTH} levels deep"
        elif len(sized) > MAX_ITEMS:
            message = _ANY_ITEMS(sized)
        elif isinstance(sized, Mapping):
            for key, item in sized.items():
                if type(key) is not str:
                    problems.append((path, f"object keys must be strings, got {describe(key)}"))
                else:
                    _json_problems(item, path + key_path(key), depth + 1, problems)
        else:
            for index, item in enumerate(sized):
                _json_problems(item, f"{path}[{index}]", depth + 1, problems)
    else:
        message = f"expected a JSON value, got {describe(value)}"
    if message is not None:
        problems.append((path, message))


# ---------------------------------------------------------------------------------- containers


def _is_sequence(value: object) -> bool:
    return isinstance(value, list | tuple)


#: A size bound of a collection: the most items and the checker whose message reports a breach.
Size = tuple[int, Checker]
_DEFAULT_SIZE: Size = (MAX_ITEMS, _ANY_ITEMS)


def _oversized(value: Any, size: Size) -> NoReturn:
    """Reject a collection over its size bound (before any of its items is looked at)."""
    fail(size[1](value) or "")


def _tuple_hook(
    item_hook: Callable[[Any, Any], Any], item_type: Any, size: Size = _DEFAULT_SIZE
) -> Callable[..., tuple[Any, ...]]:
    limit = size[0]

    def _load(value: object, _: object = None) -> tuple[Any, ...]:
        if not _is_sequence(value):
            fail(f"expected a list, got {describe(value)}")
        sequence = typing.cast("list[Any]", value)
        if len(sequence) > limit:
            _oversized(sequence, size)
        items = []
        problems: list[Problem] = []
        for index, item in enumerate(sequence):
            try:
                items.append(item_hook(item, item_type))
            except Invalid as error:
                problems.extend(_under(f"[{index}]", error.problems))
        if problems:
            raise Invalid(problems)
        return tuple(items)

    return _load


def _frozenset_hook(
    item_hook: Callable[[Any, Any], Any], item_type: Any, size: Size = _DEFAULT_SIZE
) -> Callable[..., frozenset[Any]]:
    as_tuple = _tuple_hook(item_hook, item_type, size)

    def _load(value: object, _: object = None) -> frozenset[Any]:
        if isinstance(value, set | frozenset):
            if len(value) > size[0]:
                _oversized(value, size)
            value = sorted(value, key=repr)
        return frozenset(as_tuple(value))

    return _load


def _mapping_hook(
    value_hook: Callable[[Any, Any], Any], value_type: Any, size: Size = _DEFAULT_SIZE
) -> Callable[..., FrozenDict[str, Any]]:
    limit = size[0]

    def _load(value: object, _: object = None) -> FrozenDict[str, Any]:
        if not isinstance(value, Mapping):
            fail(f"expected an object, got {describe(value)}")
        if len(value) > limit:
            _oversized(value, size)
        loaded = {}
        problems: list[Problem] = []
        for key, item in value.items():
            if type(key) is not str:
                problems.append(("$", f"object keys must be strings, got {describe(key)}"))
                continue
            try:
                loaded[key] = value_hook(item, value_type)
            except Invalid as error:
                problems.extend(_under(key_path(key), error.problems))
        if problems:
            raise Invalid(problems)
        return FrozenDict(loaded)

    return _load


def _sized_hook(converter: cattrs.Converter, tp: Any, size: Size) -> Callable[..., Any]:
    """The loader of a field of type ``tp`` whose size is bounded by ``size``."""
    if _is_union(tp) and type(None) in get_args(tp):
        (inner,) = [arg for arg in get_args(tp) if arg is not type(None)]
        return _optional_hook(_sized_hook(converter, inner, size), inner)
    origin = get_origin(tp)
    if tp is str:
        return _str_hook(*size)
    if origin is tuple:
        item_type = get_args(tp)[0]
        return _tuple_hook(converter.get_structure_hook(item_type), item_type, size)
    if origin is frozenset:
        (item_type,) = get_args(tp)
        return _frozenset_hook(converter.get_structure_hook(item_type), item_type, size)
    if origin in (FrozenDict, Mapping, dict):
        value_type = get_args(tp)[1]
        return _mapping_hook(converter.get_structure_hook(value_type), value_type, size)
    return converter.get_structure_hook(tp)  # pragma: no cover - sizes bound the types above


def _optional_hook(inner: Callable[[Any, Any], Any], inner_type: Any) -> Callable[..., Any]:
    def _load(value: object, _: object = None) -> Any:
        if value is None:
            return None
        return inner(value, inner_type)

    return _load


# ------------------------------------------------------------------------------------- classes


def _attrs_hook(converter: cattrs.Converter, cls: type[Any]) -> Callable[..., Any]:
    attrs.resolve_types(cls)
    fields = [field for field in attrs.fields(cls) if field.init]
    names = [field.name for field in fields]
    known = frozenset(names)
    required = [field.name for field in fields if field.default is attrs.NOTHING]
    loaders: dict[str, Callable[[Any, Any], Any]] = {}
    types_: dict[str, Any] = {}
    for field in fields:
        custom = field.metadata.get(LOAD)
        types_[field.name] = field.type
        if custom is not None:
            loaders[field.name] = custom
    checked = {field.name for field in fields if field.metadata.get(CHECK)}
    order = {name: index for index, name in enumerate(names)}
    # A field whose checks bound its size (a SKU's length, a product's images) gets a loader that
    # rejects an oversized value before loading what is inside it.
    sizes = {
        field.name: size
        for field in fields
        if (size := size_limit(field.metadata.get(CHECK, ()))) is not None
    }

    def _loader(name: str) -> Callable[[Any, Any], Any]:
        hook = loaders.get(name)
        if hook is None:
            size = sizes.get(name)
            if size is None:
                hook = converter.get_structure_hook(types_[name])
            else:
                hook = _sized_hook(converter, types_[name], size)
            loaders[name] = hook
        return hook

    def _load(value: object, _: object = None) -> Any:
        if not isinstance(value, Mapping):
            fail(f"expected an object, got {describe(value)}")
        problems: list[Problem] = []
        kwargs: dict[str, Any] = {}
        failed: set[str] = set()
        present = 0
        for name in names:
            if name not in value:
                if name in required:
                    problems.append((f"$.{name}", "required field missing"))
                    failed.add(name)
                continue
            present += 1
            try:
                kwargs[name] = _loader(name)(value[name], types_[name])
            except Invalid as error:
                problems.extend(_under(f".{name}", error.problems))
                failed.add(name)
        if len(value) > present:
            problems.extend(_unknown_fields(value, known, names, len(value) - present))
        if problems:
            # The value checks of the fields that loaded (the constructor runs them otherwise),
            # then the rules across fields, so that every problem is reported at once.
            for name in names:
                if name in checked and name in kwargs:
                    found = [
                        (f"$.{name}", message)
                        for message in field_problems(cls, name, kwargs[name])
                    ]
                    if found:
                        problems.extend(found)
                        failed.add(name)
            problems.sort(key=lambda problem: order.get(_field_of(problem[0]), len(order)))
            problems.extend(_partial_cross_checks(cls, fields, kwargs, failed))
            raise Invalid(problems)
        try:
            return cls(**kwargs)
        except PolicyConfigError as error:
            raise Invalid(error.problems) from None

    return _load


def _field_of(path: str) -> str:
    """The top-level field of a relative path: ``$.threshold.above`` → ``threshold``."""
    head = path[2:] if path.startswith("$.") else ""
    for index, char in enumerate(head):
        if char in ".[":
            return head[:index]
    return head


class _Skip(Exception):  # noqa: N818 - internal signal
    """A cross-field rule touched a field that failed to load: the rule cannot be judged."""


class _Failed:
    """Stands in for a field that failed to load; any use of it skips the rule reading it."""

    __slots__ = ()

    def _skip(self, *_: object, **__: object) -> Any:
        raise _Skip

    __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = _skip
    __len__ = __iter__ = __contains__ = __getitem__ = __getattr__ = _skip
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __and__ = __rand__ = _skip
    __or__ = __ror__ = __str__ = __format__ = __int__ = __float__ = __index__ = _skip


_FAILED = _Failed()


def _partial_cross_checks(
    cls: type[Any], fields: list[Any], loaded: dict[str, Any], failed: set[str]
) -> list[Problem]:
    """Run a class's cross-field rules on a document whose other fields have problems.

    So that every problem is reported at once, the rules run on a stand-in object holding the
    fields that loaded (defaults for absent ones); a rule that reads a failed field is skipped.
    """
    cross = getattr(cls, "_cross_checks", None)
    if cross is None:
        return []
    stand_in = object.__new__(cls)
    for field in fields:
        if field.name in failed:
            value: Any = _FAILED
        elif field.name in loaded:
            value = loaded[field.name]
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            if field.default.takes_self:  # pragma: no cover - no loaded field has one today
                continue
            value = field.default.factory()
        else:
            value = field.default
        object.__setattr__(stand_in, field.name, value)
    try:
        found: list[Problem] = list(cross(stand_in))
    except (_Skip, AttributeError, TypeError, KeyError, ValueError, ArithmeticError):
        return []
    return found


def _unknown_fields(
    value: Mapping[Any, Any], known: frozenset[str], names: list[str], count: int
) -> list[Problem]:
    """The problems of a document's unknown keys: the first ones, then how many more there are."""
    unknown = (key for key in value if key not in known)
    found = [
        (f"${key_path(key)}", _unknown_field_message(key, names))
        for key in itertools.islice(unknown, UNKNOWN_FIELDS_LISTED)
    ]
    if count > UNKNOWN_FIELDS_LISTED:
        found.append(("$", f"and {_count(count - UNKNOWN_FIELDS_LISTED, 'more unknown field')}"))
    return found


def _unknown_field_message(key: object, names: list[str]) -> str:
    if isinstance(key, str) and len(key) <= _SUGGEST_LENGTH:
        close = difflib.get_close_matches(key, names, n=1)
        if close:
            return f"unknown field (did you mean {close[0]!r}?)"
    return "unknown field"


# ------------------------------------------------------------------------------------ dumping


def _unstructure_attrs(converter: cattrs.Converter, cls: type[Any]) -> Callable[[Any], Any]:
    fields = [field for field in attrs.fields(cls) if field.init]
    dumpers = [(field.name, field.metadata.get(DUMP, converter.unstructure)) for field in fields]
    # Optional fields (OMIT_NONE: a section or a stamp added later) are left out while None, so
    # that what was dumped before stays the same.
    omitted = [field.name for field in fields if field.metadata.get(OMIT_NONE)]

    def _dump(obj: Any) -> dict[str, Any]:
        return {name: dump(getattr(obj, name)) for name, dump in dumpers}

    if not omitted:
        return _dump

    def _dump_present(obj: Any) -> dict[str, Any]:
        data = _dump(obj)
        for name in omitted:
            if data[name] is None:
                del data[name]
        return data

    return _dump_present


def _dump_step(step: Step) -> dict[str, Any]:
    return {"code": step.code, "args": list(step.args), "message": step.message}


def dump_number(amount: Decimal) -> float | str:
    """Dump a decimal that JSON should carry as a number (a free-form attribute value).

    The number is exact when the float's shortest repr gives the same decimal back (always so for
    prices with a few decimals); an amount with more digits than a float holds stays a string.
    """
    as_float = float(amount)
    return as_float if Decimal(repr(as_float)) == amount else str(amount)


_STEP_KEYS = frozenset({"code", "args", "message"})


def _step_arg_problem(arg: object) -> str | None:
    """What is wrong with a step argument (a string, an integer or null), if anything."""
    if arg is None:
        return None
    if type(arg) is str:
        return _STEP_TEXT(arg)
    if type(arg) is int:
        return is_int(arg)
    return f"expected a string, an integer or null, got {describe(arg)}"


def _load_step(value: object, _: object = None) -> Step:
    if not isinstance(value, Mapping):
        fail(f"expected an object, got {describe(value)}")
    problems: list[Problem] = []
    code = value.get("code")
    args = value.get("args", [])
    if type(code) is not str:
        problems.append(
            (
                "$.code",
                "required field missing"
                if code is None
                else f"expected a string, got {describe(code)}",
            )
        )
    elif len(code) > MAX_ID_LENGTH:
        problems.append(("$.code", max_length(MAX_ID_LENGTH)(code) or ""))
    if not _is_sequence(args):
        problems.append(("$.args", f"expected a list, got {describe(args)}"))
    elif len(args) > MAX_ITEMS:
        problems.append(("$.args", _ANY_ITEMS(args) or ""))
    else:
        problems.extend(
            (f"$.args[{index}]", message)
            for index, arg in enumerate(args)
            if (message := _step_arg_problem(arg)) is not None
        )
    if "message" in value and type(value["message"]) is not str:
        problems.append(("$.message", f"expected a string, got {describe(value['message'])}"))
    present = sum(1 for key in _STEP_KEYS if key in value)
    if len(value) > present:
        unknown = len(value) - present
        problems.extend(_unknown_fields(value, _STEP_KEYS, ["code", "args", "message"], unknown))
    if problems:
        raise Invalid(problems)
    return Step((code, *args))


# ---------------------------------------------------------------------------------- converter


def _origin(tp: Any) -> Any:
    return get_origin(tp)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (typing.Union, types.UnionType)


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=False, forbid_extra_keys=True)

    # Class-based registrations (they take precedence over predicate hooks in cattrs); the
    # enumeration bases below are more specific than ``str``/``int`` for string enumerations.
    for exact, hook in (
        (str, _load_str),
        (int, _load_int),
        (bool, _load_bool),
        (Decimal, load_money),
        (date, _load_date),
        (datetime, _load_datetime),
        (Step, _load_step),
    ):
        converter.register_structure_hook(exact, hook)
    enum_hooks: dict[type[enum.Enum], Callable[[object, object], enum.Enum]] = {}

    def _load_enum(value: object, cls: type[enum.Enum]) -> enum.Enum:
        hook = enum_hooks.get(cls)
        if hook is None:
            hook = enum_hooks[cls] = _enum_hook(cls)
        return hook(value, cls)

    # Class-based registrations on the enumeration bases, so that they win over the ones cattrs
    # has for ``str`` and ``int`` (a ``StrEnum`` is a ``str``).
    for base in (enum.StrEnum, enum.IntEnum, enum.Enum):
        converter.register_structure_hook(base, _load_enum)

    def _optional_factory(tp: Any) -> Callable[..., Any]:
        args = [arg for arg in get_args(tp) if arg is not type(None)]
        if len(args) != 1:  # pragma: no cover - models only use ``X | None`` unions
            msg = f"unsupported union {tp!r}: give the field a custom loader"
            raise TypeError(msg)
        return _optional_hook(converter.get_structure_hook(args[0]), args[0])

    converter.register_structure_hook_factory(
        lambda tp: _is_union(tp) and type(None) in get_args(tp), _optional_factory
    )

    def _tuple_factory(tp: Any) -> Callable[..., Any]:
        (item_type, _ellipsis) = get_args(tp)
        return _tuple_hook(converter.get_structure_hook(item_type), item_type)

    converter.register_structure_hook_factory(lambda tp: _origin(tp) is tuple, _tuple_factory)

    def _frozenset_factory(tp: Any) -> Callable[..., Any]:
        (item_type,) = get_args(tp)
        return _frozenset_hook(converter.get_structure_hook(item_type), item_type)

    converter.register_structure_hook_factory(
        lambda tp: _origin(tp) is frozenset, _frozenset_factory
    )

    def _mapping_factory(tp: Any) -> Callable[..., Any]:
        (_key_type, value_type) = get_args(tp)
        return _mapping_hook(converter.get_structure_hook(value_type), value_type)

    converter.register_structure_hook_factory(
        lambda tp: _origin(tp) in (FrozenDict, Mapping, dict), _mapping_factory
    )
    converter.register_structure_hook_factory(attrs.has, lambda cls: _attrs_hook(converter, cls))

    converter.register_unstructure_hook(Decimal, str)
    converter.register_unstructure_hook(date, date.isoformat)
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_unstructure_hook(Step, _dump_step)
    # Registered on the enumeration base classes so they win over ``str``/``int`` in the MRO.
    for base in (enum.StrEnum, enum.IntEnum, enum.Enum):
        converter.register_unstructure_hook(base, lambda member: member.value)
    converter.register_unstructure_hook(
        frozenset, lambda items: sorted((converter.unstructure(i) for i in items), key=_sort_key)
    )
    converter.register_unstructure_hook(
        tuple, lambda items: [converter.unstructure(item) for item in items]
    )
    converter.register_unstructure_hook(
        FrozenDict, lambda mapping: {k: converter.unstructure(v) for k, v in mapping.items()}
    )
    converter.register_unstructure_hook_factory(
        attrs.has, lambda cls: _unstructure_attrs(converter, cls)
    )
    return converter


def _sort_key(value: Any) -> tuple[str, str]:
    return (type(value).__name__, str(value))


_CONVERTER = _make_converter()


def structure(data: Any, cls: type[T]) -> T:
    """Load JSON-compatible ``data`` into a model of type ``cls``.

    Raises:
        PolicyConfigError: listing every problem as ``"<message> @ $.path"``.
    """
    fast = fast_loader(cls) if isinstance(cls, type) else None
    if fast is not None:
        try:
            return fast(data)  # type: ignore[no-any-return]
        except Exception:  # noqa: BLE001, S110 - not plainly valid: the detailed path reports it
            pass
    return structure_detailed(data, cls)


def structure_detailed(data: Any, cls: type[T]) -> T:
    """:func:`structure` without its fast path: the reference the fast path must agree with."""
    try:
        return _CONVERTER.structure(data, cls)
    except Invalid as error:
        raise PolicyConfigError.from_problems(capped(error.problems)) from None
    except RecursionError:
        raise PolicyConfigError(["document is nested too deeply @ $"]) from None


def capped(problems: list[Problem]) -> list[Problem]:
    """The first ``MAX_PROBLEMS`` problems, and a last one counting the others."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = _count(len(problems) - MAX_PROBLEMS, "more problem")
    return [*problems[:MAX_PROBLEMS], ("$", f"and {more} not listed")]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def unstructure(obj: Any) -> Any:
    """Dump a model (or a tuple, mapping, Decimal… of them) to JSON-compatible data.

    Money becomes a decimal string (``"12.50"``), dates ISO strings, enumerations their lower-case
    value, tuples and frozensets lists (frozensets sorted), so the output is stable.
    """
    return _CONVERTER.unstructure(obj)
