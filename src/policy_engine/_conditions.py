"""Conditions: the query language of listing templates (spec section 6).

A condition has two equivalent forms, a text (a safe subset of Python expression syntax) and a tree
(what a form builder stores). Both are checked and turned into one internal representation, a tree
of tuples, which is what two conditions are compared by. That representation is compiled once into
a small Python function, so matching a product costs about what the same test written by hand
costs.

Safety comes from three layers; the first two each reject a hostile text on their own:

1. A scan of the text's tokens before anything else: the length limit, the bracket depth, and
   every token outside the language (``.``, ``**``, ``lambda``, ``__class__``, ``f'…'``, a call
   of a function that is not one of ours…) are errors pointing at their column. What reaches
   Python's parser is small, shallow and made of allowed tokens only.
2. :func:`ast.parse` builds the syntax tree, which is then walked node by node; any node type
   outside the subset is an error.
3. The function that runs is generated from the internal representation only: every name in its
   source is produced here, never copied from the text; texts appear only as ``repr()`` literals
   and other values are passed in as closure variables. It runs with empty ``__builtins__``.

Evaluation never raises: the generated code checks types wherever a comparison could fail, and
the slow, obviously correct :func:`evaluate` defines the semantics the tests hold it to.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policy_engine._errors import PolicyEngineError
from policy_engine._serialization import Invalid
from policy_engine._validation import describe, key_path

if TYPE_CHECKING:
    from policy_engine._models import Product

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Condition",
    "ConditionError",
    "dump_condition",
    "evaluate",
    "load_condition",
]

#: The longest condition text accepted, in characters.
MAX_LENGTH = 10_000
#: The deepest nesting accepted: brackets in a text, ``and``/``or``/``not`` levels in both forms.
MAX_DEPTH = 50
#: A tree has at most this many nodes (its text would be far longer than allowed anyway).
MAX_NODES = 10_000
#: Integer literals have at most this many digits.
MAX_INT_DIGITS = 18
_INT_BOUND = 10**MAX_INT_DIGITS

#: A node of the internal representation: nested tuples, hashable, built only by the
#: constructors below (``_leaf``, ``_all``, ``_any``, ``_not``).
#: A subject is ``("f", field, lowered)``, ``("a", code, lowered)`` or ``("x", name, lowered)``
#: (a listing-state name such as ``listing.status``); a literal is a tag
#: (``s`` text, ``i`` int, ``d`` Decimal, ``b`` bool, ``n`` None, ``l`` list) and its value; a
#: node is a ``leaf`` (subject, op, subject or literal), ``all``/``any`` (children) or ``not``.
Node = tuple[Any, ...]

ALWAYS: Node = ("all", ())

# ------------------------------------------------------------------------------------ vocabulary

#: Product values by name: the Python source that loads each (the stock's two values are loaded
#: by :meth:`_Compiler.load`) and the kinds of value it can hold.
_ANY = frozenset({"str", "int", "dec", "bool", "tuple", "none"})
_FIELDS: dict[str, tuple[str, frozenset[str]]] = {
    "sku": ("p.sku", frozenset({"str"})),
    "name": ("p.name", frozenset({"str"})),
    "type": ("p.type", frozenset({"str"})),
    "enabled": ("p.enabled", frozenset({"bool"})),
    "visibility": ("p.visibility", frozenset({"str"})),
    "price": ("p.price", frozenset({"dec", "none"})),
    "special_price": ("p.special_price", frozenset({"dec", "none"})),
    "categories": ("p.categories", frozenset({"tuple"})),
    "attribute_set": ("p.attribute_set", frozenset({"str"})),
    "parent_sku": ("p.parent_sku", frozenset({"str", "none"})),
    "qty": ("qty", frozenset({"int", "none"})),
    "in_stock": ("in_stock", frozenset({"bool", "none"})),
}
_STOCK_FIELDS = frozenset({"qty", "in_stock"})
#: Listing-state names: what a sync policy's lifecycle rules may test besides the product. They
#: are read from the listing state given to :meth:`Condition.matches_listing` (``None`` without
#: one); a listing template's condition may not name them.
LISTING_FIELDS: dict[str, tuple[str, frozenset[str]]] = {
    "listing.status": ("c.status", frozenset({"str", "none"})),
    "listing.last_quantity": ("c.last_quantity", frozenset({"int", "none"})),
    "listing.last_price": ("c.last_price", frozenset({"dec", "none"})),
    "listing.price_managed_externally": ("c.price_managed_externally", frozenset({"bool", "none"})),
    "account.channel": ("c.channel", frozenset({"str", "none"})),
}
_LISTING_ROOTS = frozenset(name.split(".")[0] for name in LISTING_FIELDS)
_LITERAL_NAMES: dict[str, Node] = {"true": ("b", True), "false": ("b", False), "null": ("n", None)}
_PREDICATES = ("startswith", "endswith", "under")
_FUNCTIONS = frozenset({*_PREDICATES, "lower", "attr"})
_FUNCTION_LIST = "startswith(), endswith(), under(), lower() and attr()"

_ORDERING = ("<", "<=", ">", ">=")
#: Every operator of the tree form, in the spec's order.
OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "contains", "startswith", "endswith",
       "under")  # fmt: skip
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_KIND_WORDS = {"s": "a text", "i": "a number", "d": "a number", "b": "a boolean", "l": "a list"}


# --------------------------------------------------------------------------------------- errors


class ConditionError(PolicyEngineError, ValueError):
    """A condition text or tree is not valid; nothing of it has run.

    Attributes:
        message: What is wrong, in one sentence.
        construct: What was rejected, e.g. ``"attribute access"``, ``"call to 'eval'"``,
            ``"lambda"``, ``"syntax error"``, ``"unknown op 'gt'"``.
        text: The condition text (line endings normalized to ``\\n``), or ``None`` for a tree.
        line: The 1-based line of the problem in ``text``, or ``None`` for a tree.
        column: The 1-based column of the problem on that line (the caret), or ``None``.
        end_column: The 1-based column just after the offending span on that line, or ``None``.
        path: For a tree, the JSON path of the problem (``"$.all[2].op"``), else ``None``.
        problems: For a tree, every problem found as ``(path, message)`` pairs; for a text,
            the one problem as ``("$", str(error))``.

    ``str()`` of an error in a text reprints the offending line with a caret under the column::

        attribute access is not allowed at column 3
            ().__class__
              ^~~~~~~~~~
    """

    message: str
    construct: str
    text: str | None
    line: int | None
    column: int | None
    end_column: int | None
    path: str | None
    problems: tuple[tuple[str, str], ...]

    def __init__(
        self,
        message: str,
        *,
        construct: str,
        text: str | None = None,
        line: int | None = None,
        column: int | None = None,
        end_column: int | None = None,
        path: str | None = None,
        problems: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.message = message
        self.construct = construct
        self.text = text
        self.line = line
        self.column = column
        self.end_column = end_column
        self.path = path
        super().__init__(message)
        if problems:
            self.problems = tuple(problems)
        elif path is not None:
            self.problems = ((path, message),)
        else:
            self.problems = (("$", str(self)),)

    def __str__(self) -> str:
        if self.text is not None and self.line is not None and self.column is not None:
            where = (
                f"column {self.column}"
                if "\n" not in self.text
                else f"line {self.line}, column {self.column}"
            )
            return f"{self.message} at {where}\n{self._excerpt()}"
        if self.path is not None:
            return "\n".join(f"{message} @ {path}" for path, message in self.problems)
        return self.message

    def _excerpt(self, width: int = 72) -> str:
        assert self.text is not None
        assert self.line is not None
        assert self.column is not None
        source = self.text.split("\n", self.line)[self.line - 1]
        start = self.column - 1
        end = max(self.end_column or 0, self.column + 1) - 1
        low = 0 if len(source) <= width else max(0, min(start - 20, len(source) - width))
        high = min(len(source), low + width)
        prefix = "..." if low else ""
        suffix = "..." if high < len(source) else ""
        shown = source[low:high].replace("\t", " ")
        tildes = max(0, min(end, high) - start - 1)
        marker = " " * (len(prefix) + start - low) + "^" + "~" * tildes
        return f"    {prefix}{shown}{suffix}\n    {marker}"

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {
            "construct": self.construct,
            "text": self.text,
            "line": self.line,
            "column": self.column,
            "end_column": self.end_column,
            "path": self.path,
            "problems": self.problems,
        }
        return (_rebuild_error, (self.message, fields))


def _rebuild_error(message: str, fields: dict[str, Any]) -> ConditionError:
    return ConditionError(message, **fields)


def _error_at(text: str, start: int, end: int, message: str, construct: str) -> ConditionError:
    """An error in ``text`` covering the 0-based character offsets ``[start, end)``."""
    start = max(0, min(start, len(text)))
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    if line_end < 0:
        line_end = len(text)
    end = max(start + 1, min(end, line_end))
    return ConditionError(
        message,
        construct=construct,
        text=text,
        line=text.count("\n", 0, start) + 1,
        column=start - line_start + 1,
        end_column=end - line_start + 1,
    )


class _Problem(Exception):  # noqa: N818 - internal signal, always turned into a ConditionError
    def __init__(self, message: str, construct: str) -> None:
        super().__init__(message)
        self.message = message
        self.construct = construct


def _rejected(construct: str, hint: str = "") -> _Problem:
    return _Problem(f"{construct} is not allowed{hint}", construct)


# ------------------------------------------------------------------------- building the tree


def _all(children: list[Node]) -> Node:
    flat: list[Node] = []
    for child in children:
        if child[0] == "all":
            flat.extend(child[1])
        else:
            flat.append(child)
    return flat[0] if len(flat) == 1 else ("all", tuple(flat))


def _any(children: list[Node]) -> Node:
    flat: list[Node] = []
    for child in children:
        if child[0] == "any":
            flat.extend(child[1])
        else:
            flat.append(child)
    return flat[0] if len(flat) == 1 else ("any", tuple(flat))


def _not(child: Node) -> Node:
    return child[1] if child[0] == "not" else ("not", child)


def _is_subject(value: Node) -> bool:
    return value[0] in ("f", "a", "x")


def _subject(name: str, *, attribute: bool = False) -> Node:
    if not attribute and name in _FIELDS:
        return ("f", name, False)
    if not attribute and name in LISTING_FIELDS:
        return ("x", name, False)
    return ("a", name, False)


def _kind_word(literal: Node, null: str) -> str:
    return null if literal[0] == "n" else _KIND_WORDS[literal[0]]


def _leaf(subject: Node, op: str, value: Node, null: str = "None") -> Node:
    """Check that ``op`` accepts ``value`` and build the leaf (raises :class:`_Problem`)."""
    if op in ("in", "not_in") and (_is_subject(value) or value[0] != "l"):
        word = "a product value" if _is_subject(value) else _kind_word(value, null)
        raise _Problem(f"'{op}' needs a list of values, got {word}", f"'{op}' without a list")
    if not _is_subject(value):
        tag = value[0]
        if op in _ORDERING and tag not in ("s", "i", "d"):
            word = _kind_word(value, null)
            msg = f"'{op}' compares numbers or texts, not {word}"
            raise _Problem(msg, f"'{op}' with {word}")
        if op == "contains" and tag == "l":
            raise _Problem("'contains' takes one value, not a list", "'contains' with a list")
        if op in _PREDICATES and tag != "s":
            msg = f"'{op}' needs a text, got {_kind_word(value, null)}"
            raise _Problem(msg, f"'{op}' without a text")
    return ("leaf", subject, op, value)


def _int_literal(value: int) -> Node:
    # Compared, not printed: Python refuses to print an integer of more than 4,300 digits.
    if abs(value) >= _INT_BOUND:
        msg = f"integers have at most {MAX_INT_DIGITS} digits"
        raise _Problem(msg, "integer out of range")
    return ("i", value)


def _decimal_literal(value: Decimal, source: str) -> Node:
    """A decimal literal; it must survive a JSON number (a float) unchanged."""
    shown = _clipped(source)
    if not value.is_finite():
        raise _Problem(f"the number {shown} is not finite", "number out of range")
    as_float = float(value)
    if Decimal(repr(as_float)) != value:
        msg = f"the number {shown} has more digits than a JSON number keeps exactly"
        raise _Problem(msg, "number out of range")
    return ("d", value)


# ------------------------------------------------------------------------- the semantics


def _lower(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if type(value) is tuple:
        return tuple(item.lower() if isinstance(item, str) else item for item in value)
    return value


def _eq(left: Any, right: Any) -> bool:
    """Equality where a boolean only equals a boolean (``1 == True`` is false here)."""
    return bool(left == right) and ((type(left) is bool) is (type(right) is bool))


def _ne(left: Any, right: Any) -> bool:
    return not _eq(left, right)


def _ordered(left: Any, right: Any) -> bool:
    """Whether two values can be ordered: two numbers (not booleans), or two texts."""
    if type(left) is bool or type(right) is bool:
        return False
    if isinstance(left, int | Decimal):
        return isinstance(right, int | Decimal)
    return isinstance(left, str) and isinstance(right, str)


def _lt(left: Any, right: Any) -> bool:
    return _ordered(left, right) and bool(left < right)


def _le(left: Any, right: Any) -> bool:
    return _ordered(left, right) and bool(left <= right)


def _gt(left: Any, right: Any) -> bool:
    return _ordered(left, right) and bool(left > right)


def _ge(left: Any, right: Any) -> bool:
    return _ordered(left, right) and bool(left >= right)


def _in(value: Any, items: tuple[Any, ...]) -> bool:
    return any(_eq(value, item) for item in items)


def _not_in(value: Any, items: tuple[Any, ...]) -> bool:
    return not _in(value, items)


def _contains(container: Any, value: Any) -> bool:
    if isinstance(container, str):
        return isinstance(value, str) and value in container
    if type(container) is tuple:
        return any(_eq(item, value) for item in container)
    return False


def _startswith(value: Any, prefix: Any) -> bool:
    return isinstance(value, str) and isinstance(prefix, str) and value.startswith(prefix)


def _endswith(value: Any, suffix: Any) -> bool:
    return isinstance(value, str) and isinstance(suffix, str) and value.endswith(suffix)


def _under_path(value: Any, path: str, prefix: str) -> bool:
    if isinstance(value, str):
        return value == path or value.startswith(prefix)
    if type(value) is tuple:
        for item in value:
            if isinstance(item, str) and (item == path or item.startswith(prefix)):
                return True
    return False


def _under(value: Any, path: Any) -> bool:
    return isinstance(path, str) and _under_path(value, path, path + "/")


_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "==": _eq,
    "!=": _ne,
    "<": _lt,
    "<=": _le,
    ">": _gt,
    ">=": _ge,
    "in": _in,
    "not_in": _not_in,
    "contains": _contains,
    "startswith": _startswith,
    "endswith": _endswith,
    "under": _under,
}


def _literal_value(literal: Node) -> Any:
    if literal[0] == "l":
        return tuple(item[1] for item in literal[1])
    return literal[1]


def _product_value(subject: Node, product: Product, listing: Any = None) -> Any:
    tag, name, lowered = subject
    if tag == "x":
        value = None if listing is None else getattr(listing, LISTING_FIELDS[name][0][2:])
    elif tag == "a":
        value = product.attributes.get(name)
    elif name in _STOCK_FIELDS:
        stock = product.stock
        value = None if stock is None else getattr(stock, name)
    else:
        value = getattr(product, name)
    return _lower(value) if lowered else value


def evaluate(node: Node, product: Product, listing: Any = None) -> bool:
    """Evaluate an internal condition tree on a product, slowly and plainly.

    This is the definition of the language's semantics; compiled conditions must agree with it
    on every product (the tests check that). Use :meth:`Condition.matches` instead. ``listing``
    holds the listing state (:class:`~policy_engine.ListingState`) that listing-state names
    read; without it they are ``None``.
    """
    tag = node[0]
    if tag == "all":
        return all(evaluate(child, product, listing) for child in node[1])
    if tag == "any":
        return any(evaluate(child, product, listing) for child in node[1])
    if tag == "not":
        return not evaluate(node[1], product, listing)
    _, subject, op, value = node
    right = _product_value(value, product, listing) if _is_subject(value) else _literal_value(value)
    return _TESTS[op](_product_value(subject, product, listing), right)


# ------------------------------------------------------------------------- scanning a text

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\f\n]+)
    | (?P<comment>\#[^\n]*)
    | (?P<number>(?:0[xXoObB][0-9a-fA-F_]*
                  | \d[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?[\d_]*)?
                  | \.\d[\d_]*(?:[eE][+-]?[\d_]*)?)[jJ]?)
    | (?P<name>[^\W\d]\w*)
    | (?P<quote>'''|\"\"\"|'|")
    | (?P<op>\*\*|//|==|!=|<=|>=|<<|>>|:=|->|\.\.\.|[-+*/%@&|^~<>()\[\]{},:;.=!\\$?`])
    """,
    re.VERBOSE,
)
_STRING_BODY = {
    "'": re.compile(r"(?:[^'\\\n]|\\.)*'", re.DOTALL),
    '"': re.compile(r'(?:[^"\\\n]|\\.)*"', re.DOTALL),
    "'''": re.compile(r"(?:[^\\]|\\.)*?'''", re.DOTALL),
    '"""': re.compile(r'(?:[^\\]|\\.)*?"""', re.DOTALL),
}
_NAME = re.compile(r"[^\W\d]\w*")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_VALID_ESCAPES = frozenset("\n\\'\"abfnrtv01234567xNuU")
_STRING_PREFIXES = {
    "r": "",
    "u": "",
    "b": "bytes literal",
    "br": "bytes literal",
    "rb": "bytes literal",
    "f": "f-string",
    "fr": "f-string",
    "rf": "f-string",
}
_ALLOWED_KEYWORDS = frozenset({"and", "or", "not", "in", "True", "False", "None"})
_KEYWORD_CONSTRUCTS = {
    "lambda": "lambda",
    "for": "comprehension",
    "async": "comprehension",
    "if": "conditional expression",
    "else": "conditional expression",
    "is": "'is' operator",
    "await": "'await' expression",
    "yield": "'yield' expression",
}
_OPERATOR_CONSTRUCTS = {
    "**": "'**' operator",
    ".": "attribute access",
    "...": "ellipsis",
    ":=": "assignment expression",
    "=": "'=' (assignment)",
    "{": "set or dict display",
    "}": "set or dict display",
    ":": "':'",
    ";": "';'",
    "\\": "backslash outside a text",
    "->": "'->'",
    "!": "'!'",
    "$": "'$'",
    "?": "'?'",
    "`": "'`'",
    **{op: f"arithmetic operator '{op}'" for op in ("*", "/", "//", "%", "@")},
    **{op: f"bitwise operator '{op}'" for op in ("&", "|", "^", "~", "<<", ">>")},
}
_OPERATOR_HINTS = {"=": " (use '==' to compare)"}
_ALLOWED_OPS = frozenset({"==", "!=", "<", "<=", ">", ">=", "(", ")", "[", "]", ",", "+", "-"})
_OPERAND_END = frozenset({")", "]"})
_CONSTANT_KEYWORDS = frozenset({"True", "False", "None"})


def _tokens(text: str) -> Iterator[tuple[str, str, int, int]]:
    """Split ``text`` into ``(kind, token, start, end)``; rejects what is never in a condition."""
    position = 0
    length = len(text)
    match = _TOKEN.match
    while position < length:
        found = match(text, position)
        if found is None:
            char = text[position]
            raise _error_at(
                text, position, position + 1, f"unexpected character {char!r}", "character"
            )
        kind = found.lastgroup or ""
        start, end = found.span()
        token = found.group()
        if kind == "name" and end < length and text[end] in "'\"":
            prefix = token.lower()
            if prefix in _STRING_PREFIXES:
                construct = _STRING_PREFIXES[prefix]
                if construct:
                    raise _error_at(text, start, end + 1, f"{construct} is not allowed", construct)
                quote = _TOKEN.match(text, end)
                assert quote is not None
                end = _string_end(text, start, quote.end(), quote.group(), raw="r" in prefix)
                yield ("string", text[start:end], start, end)
                position = end
                continue
        if kind == "quote":
            end = _string_end(text, start, end, token, raw=False)
            yield ("string", text[start:end], start, end)
        elif kind == "number":
            if end < length and (text[end].isalnum() or text[end] in "_."):
                msg = f"the number {token} must be followed by a space or an operator"
                raise _error_at(text, start, end + 1, msg, "invalid number")
            digits = token.replace("_", "")
            if digits.isdigit() and len(digits) > MAX_INT_DIGITS:
                # Checked here: Python's parser refuses integers of more than 4,300 digits.
                msg = f"integers have at most {MAX_INT_DIGITS} digits"
                raise _error_at(text, start, end, msg, "integer out of range")
            yield ("number", token, start, end)
        elif kind in ("name", "op"):
            yield (kind, token, start, end)
        position = end


def _string_end(text: str, start: int, body: int, quote: str, *, raw: bool) -> int:
    found = _STRING_BODY[quote].match(text, body)
    if found is None:
        raise _error_at(text, start, body, "unterminated text literal", "unterminated text")
    end = found.end()
    if not raw:
        for escape in _ESCAPE.finditer(text, body, end - len(quote)):
            if escape.group(1) not in _VALID_ESCAPES:
                sequence = escape.group()
                raise _error_at(
                    text,
                    escape.start(),
                    escape.end(),
                    f"invalid escape sequence {sequence!r} (write '\\\\' for a backslash)",
                    "escape sequence",
                )
    return end


def _scan(text: str) -> None:
    """Reject, before parsing, every text that is too long, too deep or uses a foreign lexeme."""
    if len(text) > MAX_LENGTH:
        raise _error_at(
            text,
            MAX_LENGTH,
            MAX_LENGTH + 1,
            f"the condition text is longer than {MAX_LENGTH} characters ({len(text)})",
            "text too long",
        )
    depth = 0
    previous: tuple[str, str, int, int] | None = None
    tokens = list(_tokens(text))
    for index, (kind, lexeme, start, end) in enumerate(tokens):
        if kind == "name":
            _check_name(text, lexeme, start, end)
        elif kind == "op":
            if lexeme == "." and _listing_name(tokens, index):
                previous = (kind, lexeme, start, end)
                continue
            if lexeme not in _ALLOWED_OPS:
                construct = _OPERATOR_CONSTRUCTS[lexeme]
                hint = _OPERATOR_HINTS.get(lexeme, "")
                stop = end
                if lexeme == "." and end < len(text):
                    name = _NAME.match(text, end)
                    stop = end if name is None else name.end()
                raise _error_at(text, start, stop, f"{construct} is not allowed{hint}", construct)
            after_operand = previous is not None and _ends_operand(previous)
            if lexeme in "([":
                if after_operand and previous is not None:
                    _check_call(text, lexeme, start, end, previous)
                depth += 1
                if depth > MAX_DEPTH:
                    msg = f"the condition is nested deeper than {MAX_DEPTH} levels"
                    raise _error_at(text, start, end, msg, "nesting too deep")
            elif lexeme in ")]":
                depth -= 1
            elif lexeme in "+-":
                if after_operand:
                    construct = f"arithmetic operator '{lexeme}'"
                    raise _error_at(text, start, end, f"{construct} is not allowed", construct)
                following = tokens[index + 1] if index + 1 < len(tokens) else None
                if following is None or following[0] != "number":
                    msg = f"a sign '{lexeme}' is allowed only before a number"
                    raise _error_at(text, start, end, msg, f"sign '{lexeme}'")
        previous = (kind, lexeme, start, end)


def _listing_name(tokens: list[tuple[str, str, int, int]], index: int) -> bool:
    """Whether the ``.`` at ``index`` joins a listing-state name such as ``listing.status``."""
    if index == 0 or index + 1 >= len(tokens):
        return False
    before, after = tokens[index - 1], tokens[index + 1]
    return (
        before[0] == "name"
        and after[0] == "name"
        and before[1] in _LISTING_ROOTS
        and f"{before[1]}.{after[1]}" in LISTING_FIELDS
    )


def _ends_operand(lexeme: tuple[str, str, int, int]) -> bool:
    kind, text = lexeme[0], lexeme[1]
    if kind == "name":
        return text not in _ALLOWED_KEYWORDS or text in _CONSTANT_KEYWORDS
    if kind == "op":
        return text in _OPERAND_END
    return True


def _check_name(text: str, lexeme: str, start: int, end: int) -> None:
    if keyword.iskeyword(lexeme) and lexeme not in _ALLOWED_KEYWORDS:
        construct = _KEYWORD_CONSTRUCTS.get(lexeme, f"keyword '{lexeme}'")
        hint = " (use == None or != None)" if lexeme == "is" else ""
        raise _error_at(text, start, end, f"{construct} is not allowed{hint}", construct)
    if lexeme.startswith("__"):
        construct = f"dunder name {lexeme!r}"
        raise _error_at(text, start, end, f"{construct} is not allowed", construct)


def _check_call(
    text: str, bracket: str, start: int, end: int, previous: tuple[str, str, int, int]
) -> None:
    kind, lexeme, previous_start, previous_end = previous
    if bracket == "[":
        msg = "subscript is not allowed (a list needs an operator before it)"
        raise _error_at(text, start, end, msg, "subscript")
    if kind == "name" and lexeme not in _CONSTANT_KEYWORDS:
        if lexeme not in _FUNCTIONS:
            construct = f"call to {lexeme!r}"
            msg = f"{construct} is not allowed (the functions are {_FUNCTION_LIST})"
            raise _error_at(text, previous_start, previous_end, msg, construct)
        return
    msg = f"only the functions {_FUNCTION_LIST} can be called"
    raise _error_at(text, start, end, msg, "call")


# ------------------------------------------------------------------------- parsing a text

_COMPARE_OPS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not_in",
}
_NODE_CONSTRUCTS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension",
    ast.JoinedStr: "f-string",
    ast.IfExp: "conditional expression",
    ast.NamedExpr: "assignment expression",
    ast.Dict: "dict display",
    ast.Set: "set display",
    ast.Starred: "starred expression",
    ast.Await: "'await' expression",
    ast.Yield: "'yield' expression",
    ast.YieldFrom: "'yield' expression",
    ast.Slice: "slice",
}


class _TextParser:
    """Turns the syntax tree of a scanned text into the internal representation."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def offset(self, lineno: int, byte_column: int) -> int:
        line = self.lines[lineno - 1]
        column = len(line.encode("utf-8")[:byte_column].decode("utf-8", "ignore"))
        return self.starts[lineno - 1] + column

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end_line = node.end_lineno  # type: ignore[attr-defined]
        end_column = node.end_col_offset  # type: ignore[attr-defined]
        end = self.offset(end_line, end_column) if end_line is not None else start + 1
        return start, end

    def source(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def error(self, node: ast.AST, problem: _Problem) -> ConditionError:
        start, end = self.span(node)
        if isinstance(node, ast.Attribute):
            start = self.span(node.value)[1]
        return _error_at(self.text, start, end, problem.message, problem.construct)

    def parse(self, tree: ast.Expression) -> Node:
        return self.condition(tree.body, 0)

    # A node in a position where a condition is expected.
    def condition(self, node: ast.expr, depth: int) -> Node:
        if isinstance(node, ast.Tuple | ast.List):
            raise self.error(node, _Problem("a list is not a condition", "list as a condition"))
        nested = depth + 1
        branch = isinstance(node, ast.BoolOp | ast.UnaryOp) or (
            isinstance(node, ast.Compare) and len(node.ops) > 1
        )
        if nested > MAX_DEPTH and branch:
            problem = _Problem(
                f"the condition is nested deeper than {MAX_DEPTH} levels", "nesting too deep"
            )
            raise self.error(node, problem)
        if isinstance(node, ast.BoolOp):
            parts = [self.condition(value, nested) for value in node.values]
            return _all(parts) if isinstance(node.op, ast.And) else _any(parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return _not(self.condition(node.operand, nested))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            name = self.function_name(node)
            if name in _PREDICATES:
                return self.predicate(node, name)
        operand = self.operand(node)
        if _is_subject(operand):
            return ("leaf", operand, "==", ("b", True))
        if operand == ("b", True):
            return ALWAYS
        if operand == ("b", False):
            return ("any", ())
        raise self.error(node, _Problem("a constant is not a condition", "constant as a condition"))

    def compare(self, node: ast.Compare) -> Node:
        left_node: ast.expr = node.left
        left = self.operand(left_node)
        leaves: list[Node] = []
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.operand(right_node)
            try:
                leaves.append(self.link(left, op, right))
            except _Problem as problem:
                start = self.span(left_node)[0]
                end = self.span(right_node)[1]
                raise _error_at(self.text, start, end, problem.message, problem.construct) from None
            left, left_node = right, right_node
        return leaves[0] if len(leaves) == 1 else ("all", tuple(leaves))

    @staticmethod
    def link(left: Node, op_node: ast.cmpop, right: Node) -> Node:
        op = _COMPARE_OPS.get(type(op_node))
        if op is None:
            raise _rejected("'is' operator", " (use == None or != None)")
        if not _is_subject(left) and not _is_subject(right):
            raise _Problem(
                "a comparison needs a product value on one side, not two constants",
                "comparison of two constants",
            )
        if op in ("in", "not_in"):
            if _is_subject(right):
                leaf = _leaf(right, "contains", left)
                return leaf if op == "in" else _not(leaf)
            if right[0] != "l":
                raise _Problem(
                    "'in' needs a list or a product value on its right", "'in' without a list"
                )
            return _leaf(left, op, right)
        if not _is_subject(left):
            left, right, op = right, left, _FLIPPED[op]
        return _leaf(left, op, right)

    def function_name(self, node: ast.Call) -> str:
        if not isinstance(node.func, ast.Name):
            raise self.error(
                node, _Problem(f"only the functions {_FUNCTION_LIST} can be called", "call")
            )
        name = node.func.id
        if name not in _FUNCTIONS:
            construct = f"call to {name!r}"
            raise self.error(
                node.func, _rejected(construct, f" (the functions are {_FUNCTION_LIST})")
            )
        if node.keywords:
            raise self.error(
                node, _Problem(f"{name}() takes no keyword arguments", "keyword argument")
            )
        return name

    def predicate(self, node: ast.Call, name: str) -> Node:
        if len(node.args) != 2:
            msg = f"{name}() takes 2 arguments ({len(node.args)} given)"
            raise self.error(node, _Problem(msg, f"call to {name!r}"))
        first = self.operand(node.args[0])
        if not _is_subject(first):
            msg = f"the first argument of {name}() must be a product value, not a constant"
            raise self.error(node.args[0], _Problem(msg, f"constant in {name}()"))
        second = self.operand(node.args[1])
        try:
            return _leaf(first, name, second)
        except _Problem as problem:
            raise self.error(node.args[1], problem) from None

    # A node in a position where a value (a product value or a literal) is expected.
    def operand(self, node: ast.expr) -> Node:
        if isinstance(node, ast.Name):
            return self.name(node)
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and f"{node.value.id}.{node.attr}" in LISTING_FIELDS
        ):
            return ("x", f"{node.value.id}.{node.attr}", False)
        if isinstance(node, ast.Constant):
            return self.constant(node, node.value, self.source(node))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = node.operand
            number = operand.value if isinstance(operand, ast.Constant) else None
            if type(number) is not int and type(number) is not float:
                raise self.error(node, _Problem("a sign is allowed only before a number", "sign"))
            if isinstance(node.op, ast.UAdd):
                return self.constant(node, number, self.source(operand))
            return self.constant(node, -number, "-" + self.source(operand))
        if isinstance(node, ast.List | ast.Tuple):
            items = []
            for item in node.elts:
                literal = self.operand(item)
                if _is_subject(literal) or literal[0] == "l":
                    msg = "a list holds only constants (texts, numbers, booleans, None)"
                    raise self.error(item, _Problem(msg, "list item"))
                items.append(literal)
            return ("l", tuple(items))
        if isinstance(node, ast.Call):
            return self.call_operand(node)
        raise self.error(node, self.foreign(node))

    def name(self, node: ast.Name) -> Node:
        name = node.id
        if name.startswith("__"):
            raise self.error(node, _rejected(f"dunder name {name!r}"))
        literal = _LITERAL_NAMES.get(name)
        if literal is not None:
            return literal
        return _subject(name)

    def constant(self, node: ast.expr, value: object, source: str) -> Node:
        try:
            if value is None or type(value) is bool:
                return ("n", None) if value is None else ("b", value)
            if type(value) is str:
                return ("s", value)
            if type(value) is int:
                return _int_literal(value)
            if type(value) is float:
                try:
                    number = Decimal(source.replace("_", ""))
                except ArithmeticError:  # an exponent beyond what a Decimal holds
                    msg = f"the number {_clipped(source)} is out of range"
                    raise _Problem(msg, "number out of range") from None
                return _decimal_literal(number, source)
        except _Problem as problem:
            raise self.error(node, problem) from None
        construct = {complex: "complex number", bytes: "bytes literal"}.get(type(value), "ellipsis")
        raise self.error(node, _rejected(construct))

    def call_operand(self, node: ast.Call) -> Node:
        name = self.function_name(node)
        if name in _PREDICATES:
            msg = f"{name}() is a condition, not a value that can be compared"
            raise self.error(node, _Problem(msg, f"{name}() as a value"))
        if len(node.args) != 1:
            msg = f"{name}() takes 1 argument ({len(node.args)} given)"
            raise self.error(node, _Problem(msg, f"call to {name!r}"))
        argument = node.args[0]
        if name == "attr":
            if not (
                isinstance(argument, ast.Constant)
                and type(argument.value) is str
                and argument.value
            ):
                msg = "attr() takes an attribute code as a text, e.g. attr('color')"
                raise self.error(argument, _Problem(msg, "attr() argument"))
            return ("a", argument.value, False)
        inner = self.operand(argument)
        if not _is_subject(inner):
            msg = "lower() takes a product value, not a constant"
            raise self.error(argument, _Problem(msg, "constant in lower()"))
        return (inner[0], inner[1], True)

    @staticmethod
    def foreign(node: ast.AST) -> _Problem:
        if isinstance(node, ast.BinOp):
            construct = "'**' operator" if isinstance(node.op, ast.Pow) else "arithmetic operator"
        elif isinstance(node, ast.BoolOp | ast.Compare | ast.UnaryOp):
            return _Problem(
                "a condition is not a value: combine conditions with 'and', 'or' and 'not'",
                "condition as a value",
            )
        else:
            construct = _NODE_CONSTRUCTS.get(type(node), type(node).__name__)
        return _rejected(construct)


def _parse_text(text: str) -> Node:
    _scan(text)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise _syntax_error(text, error) from None
    except (ValueError, MemoryError, RecursionError, OverflowError) as error:
        raise _error_at(text, 0, len(text), f"invalid condition: {error}", "syntax error") from None
    return _TextParser(text).parse(tree)


def _syntax_error(text: str, error: SyntaxError) -> ConditionError:
    if not error.offset:
        # Python reports an unexpected end of the text at offset 0.
        end = len(text.rstrip())
        return _error_at(text, end, end + 1, "the condition is incomplete", "syntax error")
    lines = text.split("\n")
    lineno = min(max(error.lineno or 1, 1), len(lines))
    line_start = sum(len(line) + 1 for line in lines[: lineno - 1])
    start = line_start + error.offset - 1
    end = start + 1
    if error.end_lineno == lineno and error.end_offset:
        end = max(end, line_start + error.end_offset - 1)
    return _error_at(text, start, end, error.msg, "syntax error")


# ------------------------------------------------------------------------- parsing a tree

_BRANCH_KEYS = ("all", "any", "not")
_LEAF_KEYS = ("field", "attribute", "lower", "op", "value")
_REFERENCE_KEYS = ("field", "attribute", "lower")


class _TreeParser:
    """Turns a JSON-compatible tree into the internal representation, collecting problems."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str, str]] = []
        self.budget = MAX_NODES

    def problem(self, path: str, message: str, construct: str) -> None:
        self.problems.append((path, message, construct))

    def node(self, value: object, path: str, depth: int) -> Node | None:
        self.budget -= 1
        if self.budget < 0:
            if self.budget == -1:
                msg = f"the condition has more than {MAX_NODES} nodes"
                self.problem(path, msg, "too many nodes")
            return None
        if not isinstance(value, Mapping):
            self.problem(path, f"expected a condition object, got {describe(value)}", "node")
            return None
        branches = [key for key in _BRANCH_KEYS if key in value]
        if branches and depth >= MAX_DEPTH:
            msg = f"the condition is nested deeper than {MAX_DEPTH} levels"
            self.problem(path, msg, "nesting too deep")
            return None
        if branches:
            return self.branch(value, branches, path, depth)
        if not value:
            msg = "empty object: expected 'all', 'any', 'not', or 'field' with 'op' and 'value'"
            self.problem(path, msg, "empty node")
            return None
        return self.leaf(value, path)

    def unknown_keys(self, value: Mapping[Any, Any], known: tuple[str, ...], path: str) -> bool:
        found = False
        for key in value:
            if key in known:
                continue
            found = True
            message = "unknown key"
            if isinstance(key, str):
                close = difflib.get_close_matches(key, known, n=1)
                if close:
                    message = f"unknown key (did you mean {close[0]!r}?)"
            self.problem(f"{path}{_key_segment(key)}", message, f"key {_shown(key)}")
        return found

    def branch(
        self, value: Mapping[Any, Any], branches: list[str], path: str, depth: int
    ) -> Node | None:
        key = branches[0]
        if len(value) > 1:
            others = [other for other in value if other != key]
            for other in others:
                msg = f"a node with {key!r} has no other key"
                self.problem(f"{path}{_key_segment(other)}", msg, f"key {_shown(other)}")
            return None
        inner = value[key]
        if key == "not":
            child = self.node(inner, f"{path}.not", depth + 1)
            return None if child is None else _not(child)
        if not isinstance(inner, list | tuple):
            self.problem(f"{path}.{key}", f"expected a list, got {describe(inner)}", key)
            return None
        children = [
            self.node(item, f"{path}.{key}[{index}]", depth + 1) for index, item in enumerate(inner)
        ]
        if any(child is None for child in children):
            return None
        built = [child for child in children if child is not None]
        if not built:
            return ("all", ()) if key == "all" else ("any", ())
        return _all(built) if key == "all" else _any(built)

    def subject(self, value: Mapping[Any, Any], path: str) -> Node | None:
        has_field, has_attribute = "field" in value, "attribute" in value
        if has_field == has_attribute:
            msg = (
                "give either 'field' or 'attribute', not both"
                if has_field
                else "required key 'field' missing"
            )
            self.problem(path if has_field else f"{path}.field", msg, "field")
            return None
        key = "field" if has_field else "attribute"
        name = value[key]
        ok = True
        if type(name) is not str or not name:
            got = "an empty string" if name == "" else describe(name)
            self.problem(f"{path}.{key}", f"expected a non-empty string, got {got}", key)
            ok = False
        lowered = value.get("lower", False)
        if type(lowered) is not bool:
            msg = f"expected a boolean, got {describe(lowered)}"
            self.problem(f"{path}.lower", msg, "lower")
            ok = False
        if not ok:
            return None
        subject = _subject(name, attribute=key == "attribute")
        return (subject[0], subject[1], lowered)

    def leaf(self, value: Mapping[Any, Any], path: str) -> Node | None:
        unknown = self.unknown_keys(value, _LEAF_KEYS, path)
        subject = self.subject(value, path)
        op = value.get("op")
        op_ok = op in OPS and type(op) is str
        if "op" not in value:
            self.problem(f"{path}.op", "required key 'op' missing", "op")
        elif not op_ok:
            msg = f"unknown op {_shown(op)} (expected one of {', '.join(OPS)})"
            self.problem(f"{path}.op", msg, f"unknown op {_shown(op)}")
        literal: Node | None = None
        if "value" not in value:
            self.problem(f"{path}.value", "required key 'value' missing", "value")
        else:
            literal = self.value(value["value"], f"{path}.value")
        if unknown or subject is None or not op_ok or literal is None:
            return None
        try:
            return _leaf(subject, str(op), literal, null="null")
        except _Problem as problem:
            self.problem(f"{path}.value", problem.message, problem.construct)
            return None

    def value(self, value: object, path: str, *, in_list: bool = False) -> Node | None:
        try:
            literal = _tree_literal(value)
        except _Problem as problem:
            self.problem(path, problem.message, problem.construct)
            return None
        if literal is not None:
            return literal
        if isinstance(value, list | tuple) and not in_list:
            items = [
                self.value(item, f"{path}[{index}]", in_list=True)
                for index, item in enumerate(value)
            ]
            if any(item is None for item in items):
                return None
            return ("l", tuple(item for item in items if item is not None))
        if isinstance(value, Mapping) and not in_list:
            if self.unknown_keys(value, _REFERENCE_KEYS, path):
                return None
            return self.subject(value, path)
        expected = (
            "a text, a number, a boolean or null"
            if in_list
            else "a text, a number, a boolean, null, a list or a field reference"
        )
        self.problem(path, f"expected {expected}, got {describe(value)}", "value")
        return None


def _tree_literal(value: object) -> Node | None:
    if value is None:
        return ("n", None)
    if type(value) is bool:
        return ("b", value)
    if type(value) is str:
        return ("s", value)
    if type(value) is int:
        return _int_literal(value)
    if type(value) is float:
        if not math.isfinite(value):
            raise _Problem(f"expected a finite number, got {value}", "number out of range")
        return ("d", Decimal(repr(value)))
    if type(value) is Decimal:
        return _decimal_literal(value, str(value))
    return None


def _key_segment(key: object) -> str:
    """The path segment of a key, written as the loaders write theirs (``.op``, ``["a b"]``)."""
    return key_path(key if isinstance(key, str) else _shown(key))


def _shown(value: object, limit: int = 40) -> str:
    """A value quoted for a message, cut to ``limit`` characters; never fails.

    ``repr`` fails on an integer of more than 4,300 digits and on lists nested deeper than the
    recursion limit: those are named by their type.
    """
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return describe(value)
    return _clipped(text, limit)


def _clipped(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _parse_tree(value: object) -> Node:
    parser = _TreeParser()
    node = parser.node(value, "$", 0)
    if parser.problems or node is None:
        path, message, construct = parser.problems[0]
        raise ConditionError(
            message,
            construct=construct,
            path=path,
            problems=tuple((where, text) for where, text, _ in parser.problems),
        )
    return node


# ------------------------------------------------------------------------- canonical forms


def _bare(code: str) -> bool:
    """Whether an attribute code reads back as itself when written as a bare name."""
    return (
        _NAME.fullmatch(code) is not None
        and code.isidentifier()
        and not keyword.iskeyword(code)
        and code not in _FIELDS
        and code not in _LITERAL_NAMES
        and not code.startswith("__")
        and unicodedata.normalize("NFKC", code) == code
    )


def _subject_text(subject: Node) -> str:
    tag, name, lowered = subject
    text = name if tag in ("f", "x") or _bare(name) else f"attr({name!r})"
    return f"lower({text})" if lowered else text


def _literal_text(literal: Node) -> str:
    tag, value = literal
    if tag == "d":
        return repr(float(value))
    if tag == "l":
        items = [_literal_text(item) for item in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    return repr(value)


def _value_text(value: Node) -> str:
    return _subject_text(value) if _is_subject(value) else _literal_text(value)


def _leaf_text(node: Node) -> str:
    _, subject, op, value = node
    left = _subject_text(subject)
    right = _value_text(value)
    if op == "==" and value == ("b", True):
        return left
    if op == "contains":
        return f"{right} in {left}"
    if op == "not_in":
        return f"{left} not in {right}"
    if op in _PREDICATES:
        return f"{op}({left}, {right})"
    return f"{left} {op} {right}"


def _is_range(low: Node, high: Node) -> bool:
    """Two leaves that read as one chained comparison ``10 <= price <= 100``."""
    return (
        low[0] == "leaf"
        and high[0] == "leaf"
        and low[1] == high[1]
        and low[2] in (">", ">=")
        and high[2] in ("<", "<=")
        and low[3][0] in ("s", "i", "d")
        and high[3][0] in ("s", "i", "d")
    )


def _range_text(low: Node, high: Node) -> str:
    subject = _subject_text(low[1])
    return (
        f"{_literal_text(low[3])} {_FLIPPED[low[2]]} {subject} {high[2]} {_literal_text(high[3])}"
    )


def _text(node: Node) -> str:
    tag = node[0]
    if tag == "leaf":
        return _leaf_text(node)
    if tag == "not":
        child = node[1]
        if child[0] == "leaf" and child[2] == "contains":
            return f"{_value_text(child[3])} not in {_subject_text(child[1])}"
        if child[0] == "leaf" or not child[1]:
            return f"not {_text(child)}"
        if child[0] == "all" and len(child[1]) == 2 and _is_range(*child[1]):
            return f"not {_range_text(*child[1])}"
        return f"not ({_text(child)})"
    children = node[1]
    if tag == "any":
        return " or ".join(_text(child) for child in children) if children else "False"
    if not children:
        return "True"
    parts = []
    index = 0
    while index < len(children):
        child = children[index]
        if index + 1 < len(children) and _is_range(child, children[index + 1]):
            parts.append(_range_text(child, children[index + 1]))
            index += 2
            continue
        text = _text(child)
        parts.append(f"({text})" if child[0] == "any" and child[1] else text)
        index += 1
    return " and ".join(parts)


def _subject_tree(subject: Node) -> dict[str, Any]:
    tag, name, lowered = subject
    key = "attribute" if tag == "a" and (name in _FIELDS or name in LISTING_FIELDS) else "field"
    tree: dict[str, Any] = {key: name}
    if lowered:
        tree["lower"] = True
    return tree


def _literal_json(literal: Node) -> Any:
    tag, value = literal
    if tag == "d":
        return float(value)
    if tag == "l":
        return [_literal_json(item) for item in value]
    return value


def _tree(node: Node) -> dict[str, Any]:
    tag = node[0]
    if tag == "not":
        return {"not": _tree(node[1])}
    if tag in ("all", "any"):
        return {tag: [_tree(child) for child in node[1]]}
    _, subject, op, value = node
    tree = _subject_tree(subject)
    tree["op"] = op
    tree["value"] = _subject_tree(value) if _is_subject(value) else _literal_json(value)
    return tree


# ------------------------------------------------------------------------- compilation

#: Helpers and type objects the generated code may use, by the names it uses for them.
_HELPERS: dict[str, Any] = {
    "_t": type,
    "_str": str,
    "_NUM": frozenset({int, Decimal}),
    "_TXT": frozenset({str, tuple}),
    "_lower": _lower,
    "_under_path": _under_path,
    "_eq": _eq,
    "_ne": _ne,
    "_lt": _lt,
    "_le": _le,
    "_gt": _gt,
    "_ge": _ge,
    "_contains": _contains,
    "_startswith": _startswith,
    "_endswith": _endswith,
    "_under": _under,
}
#: The helper testing a product value against another product value, by operator.
_REFERENCE_HELPERS = {"==": "_eq", "!=": "_ne", "<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge",
                      "contains": "_contains", "startswith": "_startswith",
                      "endswith": "_endswith", "under": "_under"}  # fmt: skip
_NUMBERS = frozenset({"int", "dec"})


_MARKER = re.compile("\x00([0-9]+)\x00")


class _Scope:
    """The product values loaded by one flat run of ``and`` (or ``or``) in generated code.

    In ``A and B and C`` every part after the first runs only after the first has run, so a value
    loaded once, where it is first used, can be reused by the later parts.
    """

    def __init__(self, compiler: _Compiler, *, conjunction: bool) -> None:
        self.compiler = compiler
        self.conjunction = conjunction
        self.values: dict[Node, str] = {}
        self.loads: dict[str, tuple[str, str]] = {}
        #: Subjects a previous part of an ``and`` run has already found not to be ``None``.
        self.not_none: set[Node] = set()

    def value(self, subject: Node) -> tuple[str, frozenset[str]]:
        load, kinds = self.compiler.load(subject)
        if subject in self.not_none:
            kinds = kinds - {"none"}
        number = self.values.get(subject)
        if number is None:
            number = str(self.compiler.fresh())
            self.values[subject] = number
            self.loads[number] = (f"v{number}", load)
        return f"\x00{number}\x00", kinds

    def finish(self, code: str) -> str:
        """Put each value's load where it is first used, and its variable at later uses.

        Markers of nested runs were replaced when those runs finished, so every marker left in
        ``code`` belongs to this run.
        """
        counts = Counter(_MARKER.findall(code))
        bound: set[str] = set()

        def replace(match: re.Match[str]) -> str:
            number = match.group(1)
            variable, load = self.loads[number]
            if counts[number] == 1:
                return load
            if number in bound:
                return variable
            bound.add(number)
            return f"({variable} := {load})"

        return _MARKER.sub(replace, code)


class _Compiler:
    def __init__(self) -> None:
        self.counter = 0
        self.constants: list[Any] = []

    def fresh(self) -> int:
        self.counter += 1
        return self.counter

    def constant(self, value: Any) -> str:
        self.constants.append(value)
        return f"k{len(self.constants) - 1}"

    def number(self, literal: Node, kinds: frozenset[str]) -> str:
        if kinds == {"dec"}:
            # A Decimal compares faster with a Decimal than with an int it must convert first.
            return self.constant(Decimal(literal[1]))
        return repr(literal[1]) if literal[0] == "i" else self.constant(literal[1])

    def load(self, subject: Node) -> tuple[str, frozenset[str]]:
        tag, name, lowered = subject
        if tag == "x":
            code, kinds = LISTING_FIELDS[name]
        elif tag == "a":
            code, kinds = f"p.attributes.get({name!r})", _ANY
        elif name in _STOCK_FIELDS:
            stock = f"s{self.fresh()}"
            code = f"(None if ({stock} := p.stock) is None else {stock}.{name})"
            kinds = _FIELDS[name][1]
        else:
            code, kinds = _FIELDS[name]
        if lowered:
            code = f"{code}.lower()" if kinds == {"str"} else f"_lower({code})"
        return code, kinds

    def condition(self, node: Node) -> str:
        tag = node[0]
        if tag == "not" and node[1][0] != "leaf":
            return f"(not {self.condition(node[1])})"
        if tag in ("all", "any"):
            if not node[1]:
                return "True" if tag == "all" else "False"
            scope = _Scope(self, conjunction=tag == "all")
            joiner = " and " if tag == "all" else " or "
            # The parts are pure and never raise, so they may run in any order: cheapest first.
            children = sorted(node[1], key=_cost)
            code = joiner.join(self.member(child, scope) for child in children)
            return f"({scope.finish(code)})"
        scope = _Scope(self, conjunction=False)
        return f"({scope.finish(self.member(node, scope))})"

    def member(self, node: Node, scope: _Scope) -> str:
        if node[0] == "leaf":
            return f"({self.leaf(node, scope, direct=True)})"
        if node[0] == "not" and node[1][0] == "leaf":
            return f"(not ({self.leaf(node[1], scope, direct=False)}))"
        return self.condition(node)

    def leaf(self, node: Node, scope: _Scope, *, direct: bool) -> str:
        _, subject, op, value = node
        marker, kinds = scope.value(subject)
        if _is_subject(value):
            reference, _ = self.load(value)
            return f"{_REFERENCE_HELPERS[op]}({marker}, {reference})"
        test, total = self.test(op, value, marker, kinds - {"none"})
        if "none" not in kinds or total:
            return test
        # Only ordering, contains and the text functions need a value that is not None, and each
        # of them is false for None: guard them.
        if direct and scope.conjunction:
            # Past this part of an ``and`` run, the value is known not to be None.
            scope.not_none.add(subject)
        return f"{marker} is not None and ({test})"

    def test(self, op: str, literal: Node, value: str, kinds: frozenset[str]) -> tuple[str, bool]:
        """Code testing ``value`` (never ``None`` here) against a literal.

        Returns the code and whether it is also right when the value is ``None``.
        """
        tag, constant = literal
        if op in ("==", "!="):
            code = self.equal(tag, literal, value, kinds)
            if op == "==":
                return code, True
            if code in ("True", "False"):
                return ("False" if code == "True" else "True"), True
            if tag == "s" or (tag in ("i", "d") and " and " not in code):
                return code.replace(" == ", " != ", 1), True
            if tag in ("n", "b"):
                return code.replace(" is ", " is not ", 1), True
            return f"not ({code})", True
        if op in _ORDERING:
            if tag == "s":
                if "str" not in kinds:
                    return "False", True
                if kinds == {"str"}:
                    return f"{value} {op} {constant!r}", False
                return f"_t({value}) is _str and {value} {op} {constant!r}", True
            if not kinds & _NUMBERS:
                return "False", True
            bound = self.number(literal, kinds)
            if kinds <= _NUMBERS:
                return f"{value} {op} {bound}", False
            return f"_t({value}) in _NUM and {value} {op} {bound}", True
        if op in ("in", "not_in"):
            code = self.member_of(literal, value, kinds)
            if op == "in":
                return code, True
            return ("True" if code == "False" else f"not ({code})"), True
        if op == "contains":
            if tag != "s":
                if "tuple" not in kinds:
                    return "False", True
                return f"_contains({value}, {self.constant(constant)})", True
            if not kinds & {"str", "tuple"}:
                return "False", True
            if kinds <= {"str", "tuple"}:
                return f"{constant!r} in {value}", False
            return f"_t({value}) in _TXT and {constant!r} in {value}", True
        if "str" not in kinds and (op != "under" or "tuple" not in kinds):
            return "False", True
        if op == "under":
            prefix = constant + "/"
            if kinds == {"str"}:
                return f"{value} == {constant!r} or {value}.startswith({prefix!r})", False
            return f"_under_path({value}, {constant!r}, {prefix!r})", True
        if kinds == {"str"}:
            return f"{value}.{op}({constant!r})", False
        return f"_t({value}) is _str and {value}.{op}({constant!r})", True

    def equal(self, tag: str, literal: Node, value: str, kinds: frozenset[str]) -> str:
        constant = literal[1]
        if tag == "n":
            return f"{value} is None"
        if tag == "b":
            return f"{value} is {constant!r}" if "bool" in kinds else "False"
        if tag == "s":
            return f"{value} == {constant!r}" if "str" in kinds else "False"
        if tag == "l":
            if "tuple" not in kinds:
                return "False"
            return f"{value} == {self.constant(_literal_value(literal))}"
        if not kinds & {"int", "dec", "bool"}:
            return "False"
        code = f"{value} == {self.number(literal, kinds)}"
        if "bool" in kinds and constant in (0, 1):
            code += f" and {value} is not {constant == 1}"
        return code

    def member_of(self, literal: Node, value: str, kinds: frozenset[str]) -> str:
        items = literal[1]
        booleans = list(dict.fromkeys(item[1] for item in items if item[0] == "b"))
        others = [item[1] for item in items if item[0] != "b"]
        parts = []
        if others:
            pool = self.constant(frozenset(others))
            guard = "bool" in kinds and any(
                item[0] in ("i", "d") and item[1] in (0, 1) for item in items
            )
            parts.append(
                f"({value} in {pool} and {value} is not True and {value} is not False)"
                if guard
                else f"{value} in {pool}"
            )
        parts.extend(f"{value} is {boolean!r}" for boolean in booleans)
        return " or ".join(parts) if parts else "False"


#: Rough costs, in nanoseconds on CPython 3.11, of loading a value and of the tests on it.
_LOAD_COSTS = {"field": 5, "stock": 15, "attribute": 60, "lower": 50}
_OP_COSTS = {"==": 10, "!=": 10, "in": 20, "not_in": 20, "contains": 15, "startswith": 40,
             "endswith": 40, "under": 100}  # fmt: skip
_ENUM_FIELDS = frozenset({"type", "visibility"})


def _subject_cost(subject: Node) -> int:
    tag, name, lowered = subject
    if tag == "a":
        cost = _LOAD_COSTS["attribute"]
    elif tag == "x":
        cost = _LOAD_COSTS["field"]
    else:
        cost = _LOAD_COSTS["stock" if name in _STOCK_FIELDS else "field"]
    return cost + _LOAD_COSTS["lower"] if lowered else cost


def _cost(node: Node) -> int:
    """The rough cost of a part, so that the cheap parts of an ``and``/``or`` run first.

    Without statistics every test is taken to be as selective as any other, so the cheapest
    first is the best order on average. Decimal comparisons, attribute lookups and helper calls
    are the expensive parts; comparing a string enumeration costs more than a plain string.
    """
    tag = node[0]
    if tag == "not":
        return _cost(node[1]) + 2
    if tag != "leaf":
        return 200 + sum(_cost(child) for child in node[1])
    _, subject, op, value = node
    cost = _subject_cost(subject)
    if _is_subject(value):
        return cost + _subject_cost(value) + 150
    decimal = value[0] == "d" or (subject[0] == "f" and "dec" in _FIELDS[subject[1]][1])
    if op in _ORDERING:
        return cost + (45 if decimal else 10)
    cost += _OP_COSTS[op]
    if op in ("==", "!=") and decimal:
        cost += 30
    if subject[0] == "f" and subject[1] in _ENUM_FIELDS and not subject[2]:
        cost += 15
    return cost


_Compiled = tuple[Callable[["Product"], bool], Callable[[Iterable["Product"]], list["Product"]]]


class _NoListing:
    """The listing state read by a condition given none: every listing-state name is ``None``."""

    __slots__ = ()
    status = last_quantity = last_price = price_managed_externally = channel = None


def _reads_listing(node: Node) -> bool:
    """Whether a condition tree names listing state (``listing.status``, ``account.channel``…)."""
    tag = node[0]
    if tag == "leaf":
        return bool(node[1][0] == "x" or node[3][0] == "x")
    if tag == "not":
        return _reads_listing(node[1])
    return any(_reads_listing(child) for child in node[1])


def listing_names(condition: Condition) -> list[str]:
    """The listing-state names a condition reads, sorted (empty for a product-only condition)."""
    names: set[str] = set()

    def walk(node: Node) -> None:
        if node[0] == "leaf":
            names.update(part[1] for part in (node[1], node[3]) if part[0] == "x")
        elif node[0] == "not":
            walk(node[1])
        else:
            for child in node[1]:
                walk(child)

    walk(condition._node)
    return sorted(names)


def _compile(node: Node) -> _Compiled:
    """Compile a checked tree into ``matches(product)`` and ``select(products)``.

    A tree that names listing state compiles to ``matches(product, listing=<no listing>)``: the
    listing state is the second argument (see :meth:`Condition.matches_listing`).
    """
    compiler = _Compiler()
    body = compiler.condition(node)
    names = [*_HELPERS, *(f"k{index}" for index in range(len(compiler.constants)))]
    listing = ", c=_no_listing" if _reads_listing(node) else ""
    source = (
        f"def _factory({', '.join(names)}, _no_listing):\n"
        f"    def matches(p{listing}):\n"
        f"        return {body}\n"
        f"    def select(products{listing}):\n"
        f"        return [p for p in products if {body}]\n"
        f"    return matches, select\n"
    )
    namespace: dict[str, Any] = {"__builtins__": {}}
    # The source is generated above from the checked tree only: names are ours, texts are repr()
    # literals, every other value is passed in; nothing from a condition text is executed.
    exec(compile(source, "<condition>", "exec"), namespace)  # noqa: S102
    functions: _Compiled = namespace["_factory"](
        *_HELPERS.values(), *compiler.constants, _NoListing()
    )
    return functions


# ------------------------------------------------------------------------- the public class


class Condition:
    """A listing template's query condition, checked and compiled once.

    Build one with :meth:`parse` (text), :meth:`from_tree` (tree) or ``Condition(text_or_tree)``.
    A condition is immutable and hashable; two conditions are equal when their canonical trees
    are, whatever form they were written in. It pickles as the form it was given in and is
    compiled again when loaded (compiled functions do not pickle).

    Attributes:
        matches: ``matches(product) -> bool``, the compiled test. It is a plain function stored
            on the instance (no method call in between), never raises, and is safe to call from
            any thread.
        reads_listing: Whether the condition names listing state (``listing.status``,
            ``listing.last_quantity``, ``listing.last_price``,
            ``listing.price_managed_externally``, ``account.channel``). Such a condition belongs
            to a sync policy's lifecycle rules; :meth:`matches_listing` gives it the state.
    """

    __slots__ = ("_hash", "_node", "_origin", "_select", "_text", "matches", "reads_listing")

    _hash: int
    _node: Node
    _origin: tuple[str, Any]
    _select: Callable[[Iterable[Product]], list[Product]]
    _text: str
    matches: Callable[[Product], bool]
    reads_listing: bool

    def __init__(self, condition: str | Mapping[str, Any]) -> None:
        """Build a condition from its text or its tree (see :meth:`parse`, :meth:`from_tree`)."""
        if isinstance(condition, str):
            origin: tuple[str, Any] = ("text", condition)
            node = _parse_text(_normalize(condition)) if condition.strip() else ALWAYS
        else:
            node = _parse_tree(condition)
            origin = ("tree", None)
        self._setup(node, origin)

    def _setup(self, node: Node, origin: tuple[str, Any]) -> None:
        text = _text(node)
        _check_canonical(text, origin)
        setattr_ = object.__setattr__
        setattr_(self, "_node", node)
        setattr_(self, "_origin", origin)
        setattr_(self, "_text", text)
        setattr_(self, "_hash", hash(node))
        setattr_(self, "reads_listing", _reads_listing(node))
        matches, select = _compile(node)
        setattr_(self, "matches", matches)
        setattr_(self, "_select", select)

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Parse a condition text; an empty or blank text matches every product.

        Raises:
            ConditionError: the text is not a valid condition (with its column and a caret).
        """
        given: object = text
        if not isinstance(given, str):
            msg = f"expected a condition text, got {describe(given)}"
            raise ConditionError(msg, construct="not a text")
        return cls(given)

    @classmethod
    def from_tree(cls, tree: Mapping[str, Any]) -> Condition:
        """Load a condition tree (``{"all": [...]}``, ``{"field": …, "op": …, "value": …}``…).

        Raises:
            ConditionError: listing every problem of the tree with its JSON path.
        """
        return cls._from_node(_parse_tree(tree))

    @classmethod
    def always(cls) -> Condition:
        """The condition that matches every product (the same as ``Condition.parse("")``)."""
        return cls("")

    @classmethod
    def _from_node(cls, node: Node, origin: tuple[str, Any] = ("tree", None)) -> Condition:
        condition = cls.__new__(cls)
        condition._setup(node, origin)
        return condition

    def select(self, products: Iterable[Product]) -> list[Product]:
        """The products that match, in their order: ``[p for p in products if matches(p)]``.

        The loop runs inside the compiled code, without a function call per product, so this is
        the fastest way to filter a catalog.
        """
        return self._select(products)

    def matches_listing(self, product: Product, listing: Any) -> bool:
        """Whether a product on a listing matches: listing-state names read ``listing``.

        ``listing`` is a :class:`~policy_engine.ListingState` (any object with its attributes
        will do). A condition that names no listing state ignores it and is ``matches(product)``.
        """
        if self.reads_listing:
            return self.matches(product, listing)  # type: ignore[call-arg]
        return self.matches(product)

    def to_text(self) -> str:
        """The canonical text: parses back to an equal condition (``"True"`` matches all)."""
        return self._text

    def to_tree(self) -> dict[str, Any]:
        """The canonical tree, JSON-compatible: loads back to an equal condition."""
        return _tree(self._node)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Condition):
            return NotImplemented
        return self._node == other._node

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Condition.parse({self._text!r})"

    def __setattr__(self, name: str, value: object) -> None:
        msg = "a Condition is immutable"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> None:
        msg = "a Condition is immutable"
        raise AttributeError(msg)

    def __reduce__(self) -> tuple[Any, ...]:
        kind, text = self._origin
        return (_restore, (kind, text if kind == "text" else self.to_tree()))

    def __copy__(self) -> Condition:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Condition:
        return self


def _restore(kind: str, payload: Any) -> Condition:
    return Condition(payload)


def _normalize(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_canonical(text: str, origin: tuple[str, Any]) -> None:
    """The canonical text must itself be a valid text, so that it always parses back."""
    try:
        _scan(text)
    except ConditionError as error:
        if origin[0] == "tree":
            raise ConditionError(
                f"the condition written as text is not valid: {error.message}",
                construct=error.construct,
                path="$",
            ) from None
        source = _normalize(origin[1])
        raise _error_at(
            source,
            0,
            len(source),
            f"the condition written in canonical form is not valid: {error.message}",
            error.construct,
        ) from None


# ------------------------------------------------------------------------- JSON


def load_condition(value: object, _: object = None) -> Condition | None:
    """Load a template's condition from JSON: a text, a tree, or ``null``/``""`` (no condition).

    Raises:
        Invalid: with paths relative to the value (``$`` for a text, ``$.all[2].op`` in a tree).
    """
    if value is None or isinstance(value, Condition):
        return value
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return Condition.parse(value)
        except ConditionError as error:
            raise Invalid([("$", str(error))]) from None
    if isinstance(value, Mapping):
        try:
            return Condition.from_tree(value)
        except ConditionError as error:
            raise Invalid(list(error.problems)) from None
    msg = f"expected a condition text, a condition tree or null, got {describe(value)}"
    raise Invalid([("$", msg)])


def dump_condition(condition: Condition | None) -> str | dict[str, Any] | None:
    """Dump a condition in the form it was given in: its text as written, or its canonical tree."""
    if condition is None:
        return None
    kind, text = condition._origin
    return text if kind == "text" else condition.to_tree()
