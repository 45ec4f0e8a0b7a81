"""The fast path of :func:`~policy_engine.structure`: generated loaders for valid documents.

Loading a document the detailed way (``_serialization``) collects every problem with its path,
which costs a call, a ``try`` and a list per value, then the model's constructor runs every check
again. Most documents are valid. For each model class a loader is generated once, as Python
source, that tests each value in line (types, limits, the field's checks), builds the objects
without running their ``__init__`` again, and gives up at the first thing that is not plainly
valid. :func:`~policy_engine.structure` then loads the document the detailed way, which reports
every problem exactly as before: the fast path decides nothing on its own.

The rule that keeps the two paths equal: a generated loader returns a model only where the
detailed path returns an equal one (the same field values, of the same types); everywhere else
it raises. Checks whose result follows from what the loader has just tested (a loaded ``bool``
passes ``is_bool``, a loaded enumeration member passes ``is_member``) are skipped; any other check
is called.
"""

from __future__ import annotations

import builtins
import enum
import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, get_args, get_origin

import attrs

from policy_engine._limits import (
    MAX_INTEGER,
    MAX_ITEMS,
    MAX_MONEY_INTEGER_DIGITS,
    MAX_STRING_LENGTH,
)
from policy_engine._validation import (
    CHECK,
    INLINE,
    Checked,
    FrozenDict,
    is_bool,
    is_int,
    size_limit,
)

__all__ = ["Slow", "fast_loader"]


class Slow(Exception):  # noqa: N818 - a control-flow signal, never seen by users
    """The document is not plainly valid: load it the detailed way."""


_SLOW = Slow()
#: Built-in functions the generated code calls, bound as locals.
_BUILTINS = ("type", "len", "tuple", "frozenset", "dict")
#: Money as plain text: Decimal() of it is what ``load_money`` gives (finite, in range).
_PLAIN_MONEY = re.compile(rf"[0-9]{{1,{MAX_MONEY_INTEGER_DIGITS}}}(?:\.[0-9]{{1,40}})?")
_MONEY_BOUND = 10**MAX_MONEY_INTEGER_DIGITS
_MISSING = object()

#: The generated loader of each class (``None``: the class is loaded the detailed way only).
_LOADERS: dict[type, Callable[[Any], Any] | None] = {}


def fast_loader(cls: type[Any]) -> Callable[[Any], Any] | None:
    """The generated loader of an attrs class, built on first use (``None`` if it has none).

    The loader takes a JSON-compatible value and returns the model, or raises (:class:`Slow`, or
    any other exception) when the value is not plainly valid.
    """
    try:
        return _LOADERS[cls]
    except KeyError:
        pass
    if not attrs.has(cls):
        _LOADERS[cls] = None
        return None
    _Generator(cls).build()
    return _LOADERS[cls]


def _is_optional(tp: Any) -> bool:
    return get_origin(tp) in (typing.Union, types.UnionType) and type(None) in get_args(tp)


def _optional_inner(tp: Any) -> Any:
    inner = [arg for arg in get_args(tp) if arg is not type(None)]
    if len(inner) != 1:
        raise TypeError(tp)  # pragma: no cover - models only use ``X | None`` unions
    return inner[0]


def _slotted(cls: type[Any], names: list[str]) -> bool:
    return all(type(cls.__dict__.get(name)) is types.MemberDescriptorType for name in names)


class _Generator:
    """Writes the loader of one class (and, through :func:`fast_loader`, of the classes in it)."""

    def __init__(self, cls: type[Any]) -> None:
        self.cls = cls
        self.namespace: dict[str, Any] = {"_SLOW": _SLOW, "_MISSING": _MISSING}
        self.counter = 0

    def constant(self, value: Any, hint: str = "c") -> str:
        self.counter += 1
        name = f"_{hint}{self.counter}"
        self.namespace[name] = value
        return name

    def compile(self, lines: list[str], name: str) -> Any:
        """Define the function ``name`` whose body is ``lines`` (after a ``def`` line).

        Every constant is bound as a default argument, so the code reads it as a local.
        """
        bound = ", ".join(f"{key}={key}" for key in [*self.namespace, *_BUILTINS])
        source = f"def {name}(value, *, {bound}):\n" + "\n".join(lines[1:]) + "\n"
        namespace = dict(self.namespace)
        namespace.update({key: getattr(builtins, key) for key in _BUILTINS})
        exec(source, namespace)  # noqa: S102 - built from the model's own fields and types
        return namespace[name]

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}{self.counter}"

    # ----------------------------------------------------------------------------- the class

    def build(self) -> None:
        from policy_engine._serialization import (  # noqa: PLC0415 - it imports models
            _CONVERTER,
        )

        cls = self.cls
        self.converter = _CONVERTER
        # A stand-in while this class is generated: a class that holds itself (a condition in
        # a condition) calls the finished loader through this cell.
        cell: list[Callable[[Any], Any]] = []

        def _recursive(value: Any) -> Any:
            return cell[0](value)

        _LOADERS[cls] = _recursive
        try:
            loader = self._build(cls)
        except Exception:  # noqa: BLE001 - a class the generator cannot handle is loaded slowly
            _LOADERS[cls] = None
            return
        cell.append(loader)
        _LOADERS[cls] = loader

    def _build(self, cls: type[Any]) -> Callable[[Any], Any]:
        attrs.resolve_types(cls)
        fields = list(attrs.fields(cls))
        names = [field.name for field in fields]
        plain = (
            all(field.init for field in fields)
            and all(field.validator is None for field in fields)
            and all(field.alias == field.name for field in fields)
            and all(
                field.converter is None or type(field.converter) is types.FunctionType
                for field in fields
            )
            and getattr(cls, "__attrs_pre_init__", None) is None
            and getattr(cls, "__attrs_post_init__", None)
            in (None, getattr(Checked, "__attrs_post_init__", None))
            and _slotted(cls, names)
        )
        init = [field for field in fields if field.init]
        known = frozenset(field.name for field in init)
        lines = [
            "def load(value):",
            "    if type(value) is not dict or not value.keys() <= _KNOWN:",
            "        raise _SLOW",
        ]
        self.namespace["_KNOWN"] = known
        results: list[tuple[str, str]] = []
        for field in init:
            result = self.fresh("x")
            results.append((field.name, result))
            lines.extend(self._field(field, result, checked=plain))
        if plain:
            lines.append("    obj = _new(_cls)")
            self.namespace["_new"] = object.__new__
            self.namespace["_cls"] = cls
            for name, result in results:
                setter = self.constant(cls.__dict__[name].__set__, "set")
                lines.append(f"    {setter}(obj, {result})")
            if getattr(cls, "_cross_checks", None) is not None:
                lines.extend(["    for _ in obj._cross_checks():", "        raise _SLOW"])
            lines.append("    return obj")
        else:
            # Built by its own constructor, which converts and checks: only the fields given.
            lines.append("    kwargs = {}")
            for name, result in results:
                lines.append(f"    if {result} is not _MISSING:")
                lines.append(f"        kwargs[{name!r}] = {result}")
            lines.append(f"    return {self.constant(cls)}(**kwargs)")
        load: Callable[[Any], Any] = self.compile(lines, "load")
        load.__qualname__ = f"{cls.__name__}.fast_load"
        return load

    def _field(self, field: Any, result: str, *, checked: bool) -> list[str]:
        """The lines that set ``result`` to the loaded, converted and checked value of a field.

        ``checked``: convert and check here (the object is built without its ``__init__``);
        otherwise an absent field is left ``_MISSING`` for the constructor's default.
        """
        from policy_engine._serialization import LOAD  # noqa: PLC0415 - import cycle

        value = self.fresh("v")
        lines = [
            f"    {value} = value.get({field.name!r}, _MISSING)",
            f"    if {value} is _MISSING:",
        ]
        if field.default is attrs.NOTHING:
            lines.append("        raise _SLOW")
        elif not checked:
            lines.append(f"        {result} = _MISSING")
        else:
            lines.extend(self._default(field, result))
        lines.append("    else:")
        checkers = tuple(field.metadata.get(CHECK, ()))
        custom = field.metadata.get(LOAD)
        size = size_limit(checkers)
        if checked and custom is _load_attributes_hook() and checkers == (_check_attributes(),):
            lines.extend("    " + line for line in self._attributes(value, result, custom))
            return lines
        texts = [
            checker
            for checker in checkers
            if getattr(checker, INLINE, ("",))[0] == "texts"
            and _bare_items(field.type) is str
            and custom is None
        ]
        item_limit = min([MAX_STRING_LENGTH, *(getattr(c, INLINE)[1] for c in texts)])
        body = self._value(
            field.type, value, result, custom=custom, size=size, item_limit=item_limit
        )
        if checked:
            # A texts check is done by the item test above (its count by the size bound).
            checkers = tuple(checker for checker in checkers if checker not in texts)
            body.extend(self._convert(field, result))
            for checker in checkers:
                body.extend(self._check(checker, field.type, result, custom=custom, size=size))
        lines.extend("    " + line for line in body)
        return lines

    def _default(self, field: Any, result: str) -> list[str]:
        """An absent field: its default, converted and checked once here, or give up."""
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            if default.takes_self:
                return ["        raise _SLOW"]
            made = default.factory()
        else:
            made = default
        if field.converter is not None:
            made = field.converter(made)
        for checker in field.metadata.get(CHECK, ()):
            if checker(made) is not None:
                return ["        raise _SLOW"]
        if isinstance(default, attrs.Factory) and not isinstance(  # type: ignore[arg-type]
            made, tuple | frozenset | FrozenDict
        ):
            # A mutable default is made afresh for each object, as the constructor does.
            factory = self.constant(default.factory, "factory")
            call = f"{factory}()"
            if field.converter is not None:
                call = f"{self.constant(field.converter, 'conv')}({call})"
            return [f"        {result} = {call}"]
        return [f"        {result} = {self.constant(made, 'default')}"]

    # ----------------------------------------------------------------------------- the values

    def _value(
        self,
        tp: Any,
        value: str,
        result: str,
        *,
        custom: Callable[..., Any] | None = None,
        size: tuple[int, Any] | None = None,
        item_limit: int = MAX_STRING_LENGTH,
    ) -> list[str]:
        """Lines (at indentation 0 plus 4) that load ``value`` of type ``tp`` into ``result``.

        ``item_limit``: the longest string item of a list of strings that passes (the loader's own
        limit, or tighter when a check of the field says so).

        The choice of the detailed loader is the one ``_serialization`` makes: a field's custom
        loader, else a loader bounded by the field's size check, else the type's own.
        """
        from policy_engine._serialization import load_quantity  # noqa: PLC0415 - cycle

        if custom is not None:
            hook = self.constant(custom, "hook")
            if custom is load_quantity:
                bound = 10**15
                return [
                    f"    if type({value}) is int and {-bound} < {value} < {bound}:",
                    f"        {result} = {value}",
                    "    else:",
                    f"        {result} = {hook}({value}, None)",
                ]
            return [f"    {result} = {hook}({value}, None)"]
        if _is_optional(tp):
            inner = self._value(
                _optional_inner(tp), value, result, size=size, item_limit=item_limit
            )
            return [
                f"    if {value} is None:",
                f"        {result} = None",
                "    else:",
                *("    " + line for line in inner),
            ]
        origin = get_origin(tp)
        limit = MAX_ITEMS if size is None else size[0]
        if tp is str:
            limit = MAX_STRING_LENGTH if size is None else size[0]
            return [
                f"    if type({value}) is not str or len({value}) > {limit}:",
                "        raise _SLOW",
                f"    {result} = {value}",
            ]
        if tp is bool or tp is int:
            return [
                f"    if type({value}) is not {tp.__name__}:",
                "        raise _SLOW",
                f"    {result} = {value}",
            ]
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            members = self.constant({member.value: member for member in tp}, "members")
            return [
                f"    {result} = {members}.get({value}) if type({value}) is str else None",
                f"    if {result} is None:",
                "        raise _SLOW",
            ]
        args = get_args(tp)
        if origin is frozenset or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
            item_type = args[0]
            items = self._items(item_type, value, item_limit)
            wrap = "tuple" if origin is tuple else "frozenset"
            return [
                (
                    f"    if (type({value}) is not list and type({value}) is not tuple)"
                    f" or len({value}) > {limit}:"
                ),
                "        raise _SLOW",
                *items[0],
                f"    {result} = {wrap}({items[1]})",
            ]
        if origin in (FrozenDict, Mapping, dict):
            item_type = get_args(tp)[1]
            load = self._item_loader(item_type)
            frozen = self.constant(FrozenDict, "frozen")
            key, item = self.fresh("k"), self.fresh("i")
            return [
                f"    if type({value}) is not dict or len({value}) > {limit}:",
                "        raise _SLOW",
                f"    for {key} in {value}:",
                f"        if type({key}) is not str:",
                "            raise _SLOW",
                (
                    f"    {result} = {frozen}({{{key}: {load}({item})"
                    f" for {key}, {item} in {value}.items()}})"
                ),
            ]
        if attrs.has(tp):
            loader = fast_loader(tp)
            if loader is None:
                raise TypeError(tp)  # the class cannot be loaded fast: neither can this one
            return [f"    {result} = {self.constant(loader, 'load')}({value})"]
        hook = self.constant(self.converter.get_structure_hook(tp), "hook")
        if tp is date:
            parse = self.constant(date.fromisoformat, "date")
            return [
                f"    if type({value}) is str and len({value}) <= 64:",
                f"        {result} = {parse}({value})",
                "    else:",
                f"        {result} = {hook}({value}, None)",
            ]
        if tp is Decimal:
            # Plain decimal text (at most 12 integer digits, no sign, blank or exponent) and
            # small integers: what load_money gives is Decimal(value) itself.
            plain, decimal = self.constant(_PLAIN_MONEY.fullmatch, "money"), self.constant(Decimal)
            return [
                f"    if type({value}) is str and {plain}({value}) is not None:",
                f"        {result} = {decimal}({value})",
                f"    elif type({value}) is int and {-_MONEY_BOUND} < {value} < {_MONEY_BOUND}:",
                f"        {result} = {decimal}({value})",
                "    else:",
                f"        {result} = {hook}({value}, None)",
            ]
        return [f"    {result} = {hook}({value}, {self.constant(tp, 'type')})"]

    def _items(
        self, item_type: Any, value: str, limit: int = MAX_STRING_LENGTH
    ) -> tuple[list[str], str]:
        """Lines checking the items of a list, and the expression of the loaded items."""
        if item_type is str:
            item = self.fresh("i")
            return (
                [
                    f"    for {item} in {value}:",
                    f"        if type({item}) is not str or len({item}) > {limit}:",
                    "            raise _SLOW",
                ],
                value,
            )
        load = self._item_loader(item_type)
        return [], f"[{load}(item) for item in {value}]"

    def _item_loader(self, item_type: Any) -> str:
        """The name of a function loading one item of a collection."""
        if attrs.has(item_type):
            loader = fast_loader(item_type)
            if loader is None:
                raise TypeError(item_type)
            return self.constant(loader, "load")
        sub = _Generator(self.cls)
        sub.converter = self.converter
        body = sub._value(item_type, "value", "result")
        item = sub.compile(["def item(value):", *body, "    return result"], "item")
        return self.constant(item, "item")

    def _attributes(self, value: str, result: str, custom: Callable[..., Any]) -> list[str]:
        """A product's custom attributes: texts, integers, flags and nulls tested in line (what
        ``_load_attributes`` keeps as they are and ``_check_attributes`` passes); anything else
        (decimals, lists, a value over a limit) through the loader and the check."""
        from policy_engine import _limits  # noqa: PLC0415 - only the limits below

        ok, key, item = self.fresh("ok"), self.fresh("k"), self.fresh("a")
        frozen = self.constant(FrozenDict, "frozen")
        load = self.constant(custom, "hook")
        check = self.constant(_check_attributes(), "check")
        integer = _limits.MAX_ATTRIBUTE_INTEGER
        return [
            f"    {ok} = type({value}) is dict and len({value}) <= {_limits.MAX_ATTRIBUTES}",
            f"    if {ok}:",
            f"        for {key}, {item} in {value}.items():",
            (
                f"            if type({key}) is not str or not {key}"
                f" or len({key}) > {_limits.MAX_ID_LENGTH}:"
            ),
            f"                {ok} = False",
            "                break",
            f"            if type({item}) is str:",
            f"                if len({item}) > {_limits.MAX_ATTRIBUTE_VALUE_LENGTH}:",
            f"                    {ok} = False",
            "                    break",
            f"            elif type({item}) is int:",
            f"                if not {-integer} <= {item} <= {integer}:",
            f"                    {ok} = False",
            "                    break",
            f"            elif {item} is not None and type({item}) is not bool:",
            f"                {ok} = False",
            "                break",
            f"    if {ok}:",
            f"        {result} = {frozen}({value})",
            "    else:",
            f"        {result} = {load}({value}, None)",
            f"        if {check}({result}) is not None:",
            "            raise _SLOW",
        ]

    # ------------------------------------------------------------------ conversions and checks

    def _convert(self, field: Any, result: str) -> list[str]:
        converter = field.converter
        if converter is None or converter in _identities():
            return []
        return [f"    {result} = {self.constant(converter, 'conv')}({result})"]

    def _check(
        self,
        checker: Any,
        tp: Any,
        result: str,
        *,
        custom: Callable[..., Any] | None,
        size: tuple[int, Any] | None = None,
    ) -> list[str]:
        inline = getattr(checker, INLINE, None)
        base = _optional_inner(tp) if _is_optional(tp) else tp
        if custom is None:
            if checker is is_bool and tp is bool:
                return []
            if inline is not None and inline[0] == "member" and inline[1] is tp:
                return []
            if checker is is_int and tp is int:
                return [
                    f"    if not {-MAX_INTEGER} <= {result} <= {MAX_INTEGER}:",
                    "        raise _SLOW",
                ]
            if inline is not None and inline[0] == "text" and base is str:
                _, limit, optional, required = inline
                loaded = MAX_STRING_LENGTH if size is None else size[0]
                tests = [] if loaded <= limit else [f"len({result}) > {limit}"]
                if required:
                    tests.append(f"not {result}.strip()")
                if not tests:
                    if base is tp or optional:
                        return []
                    tests.append("False")
                test = " or ".join(tests)
                if base is tp:
                    return [f"    if {test}:", "        raise _SLOW"]
                none = "raise _SLOW" if not optional else "pass"
                return [
                    f"    if {result} is None:",
                    f"        {none}",
                    f"    elif {test}:",
                    "        raise _SLOW",
                ]
            if checker in _implied() and _implied()[checker] == tp:
                return []
        elif checker in _implied() and _implied()[checker] == custom:
            return []
        name = self.constant(checker, "check")
        return [f"    if {name}({result}) is not None:", "        raise _SLOW"]


def _bare_items(tp: Any) -> Any:
    """The item type of a (possibly optional) tuple or frozenset type, else None."""
    if _is_optional(tp):
        tp = _optional_inner(tp)
    args = get_args(tp)
    return args[0] if get_origin(tp) in (tuple, frozenset) and args else None


def _load_attributes_hook() -> Any:
    from policy_engine import _models  # noqa: PLC0415 - the models import the loader

    return _models._load_attributes


def _check_attributes() -> Any:
    from policy_engine import _models  # noqa: PLC0415 - the models import the loader

    return _models._check_attributes


def _identities() -> frozenset[Any]:
    """Converters that give back, unchanged, every value a generated loader produces."""
    from policy_engine import _models  # noqa: PLC0415 - the models import the loader

    return frozenset(
        {
            _models.floor_quantity,  # an int
            _models._to_money,  # a Decimal or None
            _models._to_product_type,  # a member
            _models._to_visibility,  # a member
            _models._str_tuple,  # a tuple
            _models._str_frozenset,  # a frozenset
            _models._source_tuple,  # a tuple
            _models._image_tuple,  # a tuple
            _models._attributes,  # a FrozenDict
        }
    )


def _implied() -> dict[Any, Any]:
    """Checks that every loaded value passes: by the field type (or custom loader) they follow.

    ``load_money`` gives finite decimals, ``_load_date`` dates, the loaders of images, sources and
    stock records their models within the size bound their check states, ``load_quantity``
    integers below 10**15 in magnitude.
    """
    from policy_engine import _models  # noqa: PLC0415 - the models import the loader
    from policy_engine._serialization import load_quantity  # noqa: PLC0415

    return {
        _models._is_money_or_none: Decimal | None,
        _models._is_date_or_none: date | None,
        _models._is_stock_or_none: _models.Stock | None,
        _models._all_images: tuple[_models.Image, ...],
        _models._all_sources: tuple[_models.SourceItem, ...],
        _models._is_quantity: load_quantity,
    }
