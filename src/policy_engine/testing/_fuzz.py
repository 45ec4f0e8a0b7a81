"""Strategies for fuzzing: hostile JSON values, mutated documents and condition texts.

Section 14 of the spec promises that any JSON value given to a loader gives a model or
``PolicyConfigError`` and that any string given to ``Condition.parse`` gives a condition or
``ConditionError``. These strategies produce the inputs that test that promise: the other strategies
of :mod:`policy_engine.testing` are valid by construction, these are mostly invalid.

- :func:`json_values`: any JSON value, nested, with huge integers, NaN and infinite floats, long
  strings, lone surrogates and other unicode, and texts that look like numbers or dates.
- :func:`mutated_documents`: a valid document (drawn from any strategy of this package) with one
  or more fields replaced, removed, retyped or added.
- :func:`condition_token_texts`: texts made of the condition language's tokens in any order.
- :func:`condition_expressions`: texts that follow the condition grammar, with operands, calls and
  literals that may or may not make sense (wrong arity, huge numbers, unknown names…).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st

from policy_engine._serialization import unstructure
from policy_engine.testing._conditions import FIELD_NAMES

__all__ = [
    "condition_expressions",
    "condition_token_texts",
    "json_values",
    "mutated_documents",
]

#: Python refuses to turn an integer of more digits than this into text (``sys.int_info``).
INT_TEXT_DIGITS = 4300

T = TypeVar("T")

#: Integers at the edges of the ranges programs use.
EDGE_INTEGERS = (
    0,
    1,
    -1,
    2**31 - 1,
    -(2**31),
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    2**64,
    10**12,
    10**15 - 1,
    10**15,
    -(10**15),
    10**18,
    10**19,
    10**100,
    -(10**100),
)
#: Floats at the edges of what a float holds, and those that are not numbers at all.
EDGE_FLOATS = (
    0.0,
    -0.0,
    0.1,
    1e15,
    1e308,
    -1e308,
    5e-324,
    math.inf,
    -math.inf,
    math.nan,
)
#: Texts that a careless loader turns into something else: numbers, dates, keywords, paths.
EDGE_TEXTS = (
    "",
    " ",
    "\t\n",
    "0",
    "-0",
    "1.5",
    "1e999999",
    "1E-999999",
    "-1e-7",
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-inf",
    "0x10",
    "1_000",
    "\u0661\u0662\u0663",  # Arabic-Indic digits
    "\uff11",  # fullwidth one
    "true",
    "null",
    "None",
    "2024-02-30",
    "2024-01-01",
    "2024-01-01T00:00:00",
    "2024-01-01T25:61:00+99:00",
    "9999-12-31T23:59:59.999999+14:00",
    "$",
    "$.a[0]",
    "a.b",
    "__class__",
    "\x00",
    "\ud800",  # a lone surrogate: a Python str, never valid UTF-8
    "\U0001f600",
    "e\u0301",
    "\u202e",
    "ﬁ",
    "'",
    '"',
    "\\",
    "{",
    "@ $",
)


def _weighted(*choices: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """Choose among strategies by weight, keeping the strategy's repr short.

    (``one_of`` counts a strategy given twice once, and its repr lists every branch in full.) The
    heaviest choice stands at both ends of the range, which integers are drawn from more often.
    """
    ordered = sorted(choices, key=lambda choice: -choice[0])
    slots = [strategy for weight, strategy in ordered for _ in range(weight)]
    slots.append(slots.pop(0))
    slots.insert(0, slots.pop(-2))  # every caller gives the heaviest a weight of 2 or more

    def choose(index: int) -> st.SearchStrategy[T]:
        return slots[index]

    return st.integers(min_value=0, max_value=len(slots) - 1).flatmap(choose)


def _huge(lead: int, digits: int, sign: int) -> int:
    scale: int = 10**digits
    return sign * (lead * scale + lead)


def _integers(max_int_digits: int) -> st.SearchStrategy[int]:
    bound = 10**max_int_digits
    return st.one_of(
        st.integers(),
        st.sampled_from([value for value in EDGE_INTEGERS if abs(value) < bound]),
        # Up to max_int_digits digits: a two-digit lead, zeros, the lead again.
        st.builds(
            _huge,
            st.integers(min_value=10, max_value=99),
            st.integers(min_value=0, max_value=max(0, max_int_digits - 2)),
            st.sampled_from((1, -1)),
        ).filter(lambda value: abs(value) < bound),
    )


def _long_texts() -> st.SearchStrategy[str]:
    # Built by repetition: generating 100,000 characters one by one is slow.
    return st.builds(
        lambda unit, count: unit * count,
        st.text(min_size=1, max_size=3),
        st.integers(min_value=100, max_value=20_000),
    )


def _texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=12),
        st.text(st.characters(exclude_categories=()), max_size=8),  # lone surrogates too
        st.sampled_from(EDGE_TEXTS),
        _long_texts(),
    )


def _nested(value: Any, depth: int, *, as_object: bool) -> Any:
    for _ in range(depth):
        value = {"a": value} if as_object else [value]
    return value


def _deep_values() -> st.SearchStrategy[Any]:
    """Lists or objects nested thousands of levels deep (beyond Python's recursion limit)."""
    return st.builds(
        _nested,
        st.none() | st.integers(0, 9),
        st.integers(min_value=50, max_value=3000),
        as_object=st.booleans(),
    )


def json_values(
    *,
    max_leaves: int = 20,
    keys: st.SearchStrategy[str] | None = None,
    max_int_digits: int = INT_TEXT_DIGITS,
    deep: bool = True,
) -> st.SearchStrategy[Any]:
    """Any JSON value, as ``json.loads`` gives it: hostile to loaders on purpose.

    Scalars are ``None``, booleans, integers (edge and huge ones up to ``max_int_digits`` digits),
    floats (NaN, infinities, ``-0.0``, subnormals), and strings (empty, long, with lone surrogates
    and other odd unicode, texts that look like numbers or dates); lists and objects nest them
    with at most ``max_leaves`` scalars. Object keys are drawn from ``keys`` (default: any text
    or one of a few field names). With ``deep``, a few values are lists or objects nested
    thousands of levels deep.
    """
    key_strategy = (
        st.text(max_size=10) | st.sampled_from(("title", "id", "sku", "kind", "value", "$"))
        if keys is None
        else keys
    )
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        _integers(max_int_digits),
        st.floats() | st.sampled_from(EDGE_FLOATS),
        _texts(),
    )
    values = st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=5) | st.dictionaries(key_strategy, children, max_size=5)
        ),
        max_leaves=max_leaves,
    )
    if deep:
        return _weighted((15, values), (1, _deep_values()))
    return values


# ---------------------------------------------------------------------------- mutated documents

Path = tuple[str | int, ...]


def _as_document(value: Any) -> Any:
    """A fresh JSON-compatible copy: models are dumped, containers copied."""
    if attrs.has(type(value)):
        value = unstructure(value)
    return _copy(value)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(item) for item in value]
    return value


def _paths(document: Any) -> list[Path]:
    """Every path in a document, the root first, parents before their children."""
    found: list[Path] = [()]
    stack: list[tuple[Path, Any]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            children: Sequence[tuple[str | int, Any]] = list(value.items())
        elif isinstance(value, list):
            children = list(enumerate(value))
        else:
            continue
        for key, child in children:
            found.append((*path, key))
            stack.append(((*path, key), child))
    return found


def _at(document: Any, path: Path) -> Any:
    for key in path:
        document = document[key]
    return document


def _retyped(value: Any) -> list[Any]:
    """Values of other JSON types that mean 'the same' to a careless reader."""
    options: list[Any] = [None, [value], {"value": value}]
    if isinstance(value, bool):
        options += [int(value), str(value).lower(), "yes" if value else "no"]
    elif isinstance(value, int):
        options += [str(value), float(value) if abs(value) < 2**1000 else math.inf, value > 0]
        options += [-value, value + 1, value - 1]
        if abs(value) < 10**100:
            options.append(value * 10**20)
    elif isinstance(value, float):
        options += [repr(value), int(value) if math.isfinite(value) else 0, math.nan, -value]
    elif isinstance(value, str):
        options += [value.upper(), value + "x", value[:-1], value.strip() or "x", f" {value} "]
        options += [len(value), value * 100 if len(value) < 1000 else value]
        try:
            options.append(float(value))
        except ValueError:
            options.append(0)
    elif isinstance(value, list):
        options += [
            {},
            [],
            value * 2,
            value[::-1],
            *value[:1],
            {str(i): v for i, v in enumerate(value)},
        ]
    elif isinstance(value, dict):
        options += [[], {}, list(value.values()), list(value.keys()), "{}"]
    if value is None:
        options += [0, "", "null", False, []]
    return options


@st.composite
def _mutate(
    draw: st.DrawFn, document: Any, values: st.SearchStrategy[Any], keys: st.SearchStrategy[str]
) -> Any:
    paths = _paths(document)
    path = draw(st.sampled_from(paths))
    target = _at(document, path)
    kinds = ["replace", "retype", "retype"]
    if path:
        kinds.append("remove")
    if isinstance(target, dict):
        kinds += ["add", "add"]
    kind = draw(st.sampled_from(kinds))
    if kind == "add":
        existing = sorted(str(key) for key in target)
        near = [key[:-1] for key in existing] + [key.upper() for key in existing]
        key = draw(keys | st.sampled_from(near) if near else keys)
        target[key] = draw(values)
        return document
    if kind == "replace":
        new: Any = draw(values)
    elif kind == "retype":
        new = draw(st.sampled_from(_retyped(target)))
    if not path:
        return None if kind == "remove" else new
    parent = _at(document, path[:-1])
    if kind == "remove":
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return document


@st.composite
def _mutated(
    draw: st.DrawFn,
    strategy: st.SearchStrategy[Any],
    max_mutations: int,
    values: st.SearchStrategy[Any],
    keys: st.SearchStrategy[str],
) -> Any:
    document = _as_document(draw(strategy))
    for _ in range(draw(st.integers(min_value=1, max_value=max_mutations))):
        document = draw(_mutate(document, values, keys))
    return document


def mutated_documents(
    strategy: st.SearchStrategy[Any],
    *,
    max_mutations: int = 3,
    values: st.SearchStrategy[Any] | None = None,
    keys: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Any]:
    """Valid documents with one to ``max_mutations`` fields broken.

    A value is drawn from ``strategy`` (a model, dumped with
    :func:`~policy_engine.unstructure`, or JSON data such as a condition tree); then, at a path
    drawn from every path of the document (the root included), a value is replaced by one of
    ``values`` (default: small :func:`json_values`), removed, retyped (a number as a string, a
    list as an object, a value wrapped in a list…), or an object gets a key drawn from ``keys`` or
    a near-miss of one of its own keys (``titl``, ``TITLE``). The documents are copied
    recursively: they should be nested at most a few hundred levels.
    """
    value_strategy = json_values(max_leaves=4, deep=False) if values is None else values
    key_strategy = st.text(max_size=8) if keys is None else keys
    return _mutated(strategy, max_mutations, value_strategy, key_strategy)


# -------------------------------------------------------------------------- condition texts

#: Names a condition reads: product fields, stock values, attribute codes, function names.
CONDITION_NAMES = (
    *FIELD_NAMES,
    "color",
    "size",
    "msrp",
    "ean",
    "startswith",
    "endswith",
    "under",
    "lower",
    "attr",
    "true",
    "false",
    "null",
    "ﬁt",
    "café",
    "_x",
    "x1",
)
#: Names the language rejects, each for its own reason.
FOREIGN_NAMES = (
    "__class__",
    "__import__",
    "eval",
    "open",
    "lambda",
    "is",
    "if",
    "else",
    "for",
    "yield",
    "await",
    "import",
    "print",
)
_KEYWORDS = ("and", "or", "not", "in", "not in", "True", "False", "None")
_OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "(", ")", "[", "]", ",", "+", "-")
_FOREIGN_OPERATORS = (
    ".",
    "**",
    "=",
    ":=",
    "{",
    "}",
    ":",
    ";",
    "*",
    "/",
    "//",
    "%",
    "@",
    "&",
    "|",
    "^",
    "~",
    "<<",
    ">>",
    "\\",
    "->",
    "...",
    "!",
    "$",
    "?",
    "`",
    "#",
)
_NUMBER_TEXTS = (
    "0",
    "1",
    "10",
    "007",
    "1.5",
    ".5",
    "5.",
    "1e3",
    "1E-999999",
    "1e999999",
    "1_000",
    "0x1F",
    "0o17",
    "0b101",
    "1j",
    "999999999999999999",
    "9999999999999999999",
    "123456789012.99",
    "0.000000000000000000001",
    "1" * 30,
)
_STRING_TEXTS = (
    "''",
    '""',
    "'Red'",
    '"Men/Tops"',
    "'It\\'s'",
    "'\\x41'",
    "'\\u00e9'",
    "'\\N{BULLET}'",
    "'\\N{NO SUCH NAME}'",
    "'\\q'",
    "r'\\q'",
    "u'x'",
    "b'x'",
    "f'{x}'",
    "'''a\nb'''",
    '"""x"""',
    "'unterminated",
    "'a\\\nb'",
    "'\x00'",
)
_SPACES = ("", " ", " ", "  ", "\n", "\t", "\r\n", "\\\n", " # note\n", "\x0c")


def condition_token_texts(*, max_tokens: int = 30) -> st.SearchStrategy[str]:
    """Texts made of up to ``max_tokens`` tokens of the condition language, in any order.

    Names, keywords, operators (the language's and foreign ones), numbers in every spelling,
    quoted texts (escapes, prefixes, unterminated ones) and separators: mostly not conditions,
    each a different way to reach an error path.
    """
    token = st.one_of(
        st.sampled_from(CONDITION_NAMES),
        st.sampled_from(_KEYWORDS),
        st.sampled_from(_KEYWORDS),
        st.sampled_from(_OPERATORS),
        st.sampled_from(_OPERATORS),
        st.sampled_from(_FOREIGN_OPERATORS),
        st.sampled_from(FOREIGN_NAMES),
        st.sampled_from(_NUMBER_TEXTS),
        st.sampled_from(_STRING_TEXTS),
        st.text(max_size=2),
    )
    part = st.tuples(token, st.sampled_from(_SPACES)).map("".join)
    return st.lists(part, max_size=max_tokens).map("".join)


_GOOD_NUMBERS = (
    "0",
    "-1",
    "+2",
    "10",
    "1.5",
    "-0.0",
    ".5",
    "5.",
    "1e3",
    "2.5E+2",
    "1E-999999",
    "1e-30",
    "999999999999999999",
    "-999999999999999999",
    "123456789012.99",
    "1_000",
)
_BAD_NUMBERS = ("9999999999999999999", "1e999999", "1" * 40, "0x1F", "1j", "007", "- 1", "1__0")
_ESCAPES = ("\\'", '\\"', "\\\\", "\\n", "\\t", "\\x41", "\\u00e9", "\\U0001F600", "\\N{BULLET}")
_FUNCTIONS = ("startswith", "endswith", "under", "lower", "attr")
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
_WRONG_COMPARISONS = ("is", "is not", "=", "<>", "===")


def _quoted(prefix: str, quote: str, body: str) -> str:
    return f"{prefix}{quote}{body}{quote}"


def _sequence(items: list[str], kind: int) -> str:
    body = ", ".join(items)
    if kind == 0:
        return f"[{body}]"
    if kind == 1:
        return f"({body},)" if len(items) == 1 else f"({body})"
    return f"[{body},]"


def _call(function: str, arguments: list[str]) -> str:
    return f"{function}({', '.join(arguments)})"


def _compare(left: str, parts: list[tuple[str, str, str]]) -> str:
    text = left
    for space, op, right in parts:
        gap = " " if op[0].isalpha() and not space else space
        text += f"{gap}{op}{gap}{right}"
    return text


def _join(children: list[str], joiner: str) -> str:
    return joiner.join(children)


def _wrap(inner: str, brackets: tuple[str, str]) -> str:
    return f"{brackets[0]}{inner}{brackets[1]}"


def _nest(inner: str, wrapper: str, depth: int) -> str:
    closing = {"not ": "", "(": ")", "lower(": ")", "[": "]", "(not ": ")"}[wrapper]
    return wrapper * depth + inner + closing * depth


# Strategies are built once here: building them inside draws is what makes generation slow.
_STRING_LITERALS = st.builds(
    _quoted,
    st.sampled_from(("", "", "", "r", "u", "R")),
    st.sampled_from(("'", '"', "'''", '"""')),
    st.lists(
        st.text(max_size=4) | st.sampled_from(_ESCAPES) | st.sampled_from(("Men/Tops", "Red")),
        max_size=4,
    ).map("".join),
)
_SCALAR_LITERALS = st.one_of(
    st.sampled_from(_GOOD_NUMBERS),
    st.sampled_from(_GOOD_NUMBERS),
    st.sampled_from(_BAD_NUMBERS),
    st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1).map(str),
    st.integers().map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    _STRING_LITERALS,
    _STRING_LITERALS.map(str),
    st.sampled_from(("True", "False", "None", "true", "false", "null")),
)
_LITERALS = _weighted(
    (3, _SCALAR_LITERALS),
    (
        1,
        st.recursive(
            _SCALAR_LITERALS,
            lambda inner: st.builds(_sequence, st.lists(inner, max_size=4), st.integers(0, 2)),
            max_leaves=6,
        ),
    ),
)
_NAMES = st.sampled_from(CONDITION_NAMES)
_SIMPLE_OPERANDS = _weighted((2, _NAMES), (1, _LITERALS))
_PREDICATE_CALLS = st.builds(
    lambda function, subject, argument: _call(function, [subject, argument]),
    st.sampled_from(("startswith", "endswith", "under")),
    _NAMES | _SIMPLE_OPERANDS,
    _STRING_LITERALS | _SIMPLE_OPERANDS,
)
_CALLS = st.one_of(
    _PREDICATE_CALLS,
    _PREDICATE_CALLS.map(str),
    st.builds(lambda subject: f"lower({subject})", _NAMES | _SIMPLE_OPERANDS),
    st.builds(lambda code: f"attr({code})", _STRING_LITERALS | _SIMPLE_OPERANDS),
    st.builds(
        _call,
        st.sampled_from(_FUNCTIONS) | st.sampled_from(("eval", "len", "foo")),
        st.lists(_SIMPLE_OPERANDS, max_size=3),
    ),
)
_OPERANDS = _weighted(
    (3, _NAMES), (2, _LITERALS), (1, _CALLS), (1, _CALLS.map(lambda call: f"lower({call})"))
)
_COMPARISON_OPS = st.sampled_from(
    (*_COMPARISONS[:4], *_WRONG_COMPARISONS, *_COMPARISONS[4:], *_COMPARISONS * 4)
)
_SPACES_AROUND = st.sampled_from((" ", "", "  ", "\n", "\t", " ", " "))
_COMPARISONS_TEXT = st.builds(
    _compare,
    _OPERANDS,
    st.lists(st.tuples(_SPACES_AROUND, _COMPARISON_OPS, _OPERANDS), max_size=3),
)

# Leaves that are valid conditions, so that most expressions are, and evaluation is fuzzed too.
_FIELD_NAMES = st.sampled_from(CONDITION_NAMES[:16])
_SUBJECTS = st.one_of(
    _FIELD_NAMES,
    _FIELD_NAMES.map(str),
    _FIELD_NAMES.map(lambda name: f"lower({name})"),
    st.sampled_from(("'color'", "'x-y'", "'price'", '"café"')).map(lambda code: f"attr({code})"),
)
_GOOD_SCALARS = st.one_of(
    st.sampled_from(_GOOD_NUMBERS),
    st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1).map(str),
    st.text(st.characters(exclude_categories=()), max_size=6).map(repr),
    st.sampled_from(("'Red'", "'Men/Tops'", '"59.00"', "''", "'simple'")),
    st.sampled_from(("True", "False", "None", "true", "false", "null")),
)
_GOOD_VALUES = _GOOD_SCALARS | st.builds(
    _sequence, st.lists(_GOOD_SCALARS, max_size=4), st.integers(0, 2)
)
_GOOD_LEAVES = st.one_of(
    st.builds(
        lambda s, op, v: f"{s} {op} {v}", _SUBJECTS, st.sampled_from(_COMPARISONS), _GOOD_VALUES
    ),
    st.builds(
        lambda v, op, s: f"{v} {op} {s}", _GOOD_SCALARS, st.sampled_from(_COMPARISONS), _SUBJECTS
    ),
    st.builds(
        lambda low, op, s, high: f"{low} {op} {s} {op} {high}",
        _GOOD_SCALARS,
        st.sampled_from(("<", "<=", ">", ">=")),
        _SUBJECTS,
        _GOOD_SCALARS,
    ),
    st.builds(
        lambda function, s, v: f"{function}({s}, {v})",
        st.sampled_from(("startswith", "endswith", "under")),
        _SUBJECTS,
        st.text(max_size=5).map(repr) | _SUBJECTS,
    ),
    st.builds(
        lambda a, op, b: f"{a} {op} {b}", _SUBJECTS, st.sampled_from(_COMPARISONS), _SUBJECTS
    ),
    _SUBJECTS,
)
_LEAVES = _weighted((10, _GOOD_LEAVES), (1, _COMPARISONS_TEXT), (1, _PREDICATE_CALLS))
_BRACKETS = st.sampled_from(
    (("(", ")"), ("(", ")"), ("(", ")"), ("(\n  ", "\n)"), ("((", "))"), ("[", "]"))
)
_JOINERS = st.sampled_from((" and ", " or ", "\tand ", " and\n", " or  ", " and ", " or "))


def _compound(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    joined = st.builds(_join, st.lists(inner, min_size=2, max_size=4), _JOINERS)
    negated = inner.map(lambda text: f"not {text}")
    grouped = st.builds(_wrap, inner, _BRACKETS)
    # A condition where a value belongs, and a condition as a function's argument.
    misplaced = st.builds(lambda left, right: f"({left}) == ({right})", inner, inner) | st.builds(
        lambda function, text: f"{function}({text})", st.sampled_from(_FUNCTIONS), inner
    )
    return _weighted((4, joined), (2, negated), (2, grouped), (1, misplaced))


_EXPRESSIONS = st.recursive(_LEAVES, _compound, max_leaves=8)
_NESTING = ("not ", "(", "lower(", "[", "(not ")


def _maybe_nested(inner: str, roll: int, wrapper: str) -> str:
    # About one text in twenty is nested 45 to 56 levels deep, around the limit of 50.
    return _nest(inner, wrapper, 44 + roll) if 1 <= roll <= 12 else inner


_NESTED_EXPRESSIONS = st.builds(
    _maybe_nested, _EXPRESSIONS, st.integers(min_value=0, max_value=250), st.sampled_from(_NESTING)
)


def condition_expressions() -> st.SearchStrategy[str]:
    """Texts that follow the condition grammar, whether or not they make sense.

    ``and``/``or``/``not`` and brackets nest comparisons (chained, with ``in`` and ``not in``,
    sometimes ``is`` or ``=``) of operands: names (fields, attribute codes, function names,
    unicode names), literals of every type (numbers in every spelling, over-long integers, tiny
    exponents, texts with every escape and prefix, nested lists and tuples) and calls (the
    language's functions with zero to three arguments, and a few foreign ones). A few texts nest
    around the depth limit. Many are valid conditions; the others are ``ConditionError``.
    """
    return _NESTED_EXPRESSIONS
