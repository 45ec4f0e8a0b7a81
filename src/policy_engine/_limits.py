"""The documented maximums of every input, in one place (``docs/limits.md`` explains each value).

Every limit is enforced where data enters the library — by :func:`~policy_engine.structure` and
:func:`~policy_engine.load_config` while loading, and by the models' constructors — never in the
decision functions, so that a valid input costs nothing more to evaluate. A value over a limit is
a :class:`~policy_engine.PolicyConfigError` naming the limit and the JSON path; a condition over
one of its limits is a :class:`~policy_engine.ConditionError`.

Limits are checked before the work they bound: a document's size before it is parsed, its depth
before Python's recursive parser runs, a list's length before its items are loaded, a string's
length before it is copied or quoted in a message. So a hostile input is rejected quickly and
without building anything in proportion to its size.
"""

from __future__ import annotations

__all__ = [
    "MAX_ACCOUNTS",
    "MAX_ATTRIBUTES",
    "MAX_ATTRIBUTE_INTEGER",
    "MAX_ATTRIBUTE_LIST_ITEMS",
    "MAX_ATTRIBUTE_VALUE_LENGTH",
    "MAX_CATEGORIES",
    "MAX_CHANNELS",
    "MAX_CONDITION_DEPTH",
    "MAX_CONDITION_INTEGER_DIGITS",
    "MAX_CONDITION_LENGTH",
    "MAX_CONDITION_NODES",
    "MAX_DOCUMENT_BYTES",
    "MAX_FILE_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_IMAGES",
    "MAX_IMAGE_ROLES",
    "MAX_INTEGER",
    "MAX_ITEMS",
    "MAX_JSON_DEPTH",
    "MAX_MONEY_INTEGER_DIGITS",
    "MAX_MONEY_TEXT_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_POLICIES",
    "MAX_PROBLEMS",
    "MAX_QUANTITY",
    "MAX_SKU_LENGTH",
    "MAX_SOURCES",
    "MAX_STRING_LENGTH",
    "MAX_TEMPLATES",
]

# ------------------------------------------------------------------------------- documents

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
"""The largest configuration document :func:`~policy_engine.load_config` reads from a file, in
bytes (checked before the file is parsed).
"""
MAX_JSON_DEPTH = 256
"""The deepest nesting of objects and arrays in a JSON document (checked before parsing)."""
MAX_PROBLEMS = 1_000
"""At most this many problems are listed in one :class:`~policy_engine.PolicyConfigError`; a last
line says how many more there were.
"""

# -------------------------------------------------------------------------------- any value

MAX_STRING_LENGTH = 65_536
"""The longest string any field accepts (fields with a lower limit below use theirs)."""
MAX_ITEMS = 10_000
"""The most items of any list, set or object (fields with a lower limit below use theirs)."""
MAX_INTEGER = 2**53 - 1
"""The largest magnitude of any integer field: the largest integer every JSON parser reads exactly
(2**53 - 1, RFC 7493).
"""

# ------------------------------------------------------------------------------------- text

MAX_ID_LENGTH = 255
"""The longest id: of a policy, an account, a channel, the template a listing names; source and
attribute codes; image roles; step codes.
"""
MAX_SKU_LENGTH = 255
"""The longest SKU: a product's and its parent's."""
MAX_NAME_LENGTH = 1_024
"""The longest name: a product's name, attribute set and category paths, an image's label, a sync
policy's title, each text of a list attribute.
"""
MAX_FILE_LENGTH = 2_048
"""The longest image file path or URL."""

# --------------------------------------------------------------------------------- products

MAX_ATTRIBUTES = 2_000
"""The most custom attributes of one product."""
MAX_ATTRIBUTE_VALUE_LENGTH = 1_048_576
"""The longest text value of a custom attribute (a description, say), in characters."""
MAX_ATTRIBUTE_LIST_ITEMS = 1_000
"""The most values of a list attribute (a multiple select)."""
MAX_ATTRIBUTE_INTEGER = 10**38 - 1
"""The largest magnitude of an integer attribute (38 digits, a SQL ``DECIMAL(38)``)."""
MAX_IMAGES = 1_000
"""The most images of one product."""
MAX_IMAGE_ROLES = 100
"""The most roles of one image."""
MAX_CATEGORIES = 1_000
"""The most categories of one product."""
MAX_SOURCES = 1_000
"""The most MSI source items of one stock record."""
MAX_QUANTITY = 10**15 - 1
"""The largest magnitude of a stock quantity (quantities lie below 10**15)."""
MAX_MONEY_INTEGER_DIGITS = 12
"""Money has at most this many digits before the decimal point."""
MAX_MONEY_TEXT_LENGTH = 64
"""The longest money value given as a string (``"12.50"``), spaces included."""

# ---------------------------------------------------------------------------- configurations

MAX_TEMPLATES = 1_000
"""The most listing templates of a configuration."""
MAX_ACCOUNTS = 1_000
"""The most accounts of a configuration."""
MAX_POLICIES = 1_000
"""The most policies of each kind in a configuration."""
MAX_CHANNELS = 1_000
"""The most custom channel definitions of a configuration."""

# ------------------------------------------------------------------------------- conditions

MAX_CONDITION_LENGTH = 10_000
"""The longest condition text, in characters."""
MAX_CONDITION_DEPTH = 50
"""The deepest nesting of a condition: brackets in a text, ``and``/``or``/``not`` levels."""
MAX_CONDITION_NODES = 10_000
"""The most nodes of a condition tree."""
MAX_CONDITION_INTEGER_DIGITS = 18
"""Integer literals of a condition have at most this many digits."""
