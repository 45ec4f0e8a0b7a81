"""Magento 2 REST payloads as policy_engine inputs: products, stock items and MSI source items.

A connector fetches ``GET /V1/products/{sku}`` (and, with MSI, ``GET /V1/inventory/source-items``
and ``GET /V1/inventory/sources``) and hands the JSON to :func:`product_from_rest`, which returns
a :class:`~policy_engine.Product` with its :class:`~policy_engine.Stock` in one call.
:func:`product_to_rest` is the inverse, and :func:`product_change_from_rest` turns two snapshots
into a :class:`~policy_engine.ProductChange`.

The mapping is documented field by field in ``docs/magento.md``. The rules in short:

- Every field the adapter reads is checked. A malformed value raises
  :class:`~policy_engine.PolicyConfigError` naming its JSON path
  (``expected money (a decimal number), got the string 'abc' @ $.custom_attributes[3].value``),
  every problem of the payload at once. Keys the adapter does not read (``id``, ``created_at``,
  ``options``, ``tier_prices``, ``product_links``…) are ignored, as the page lists.
- Magento sends numbers as JSON numbers or strings: both are read exactly (money through
  :class:`~decimal.Decimal`, a float through its shortest repr, never as a float).
- Custom attribute values are kept as Magento gives them (option ids or labels stay strings),
  except the ones the model types: ``special_price`` (money) and ``special_from_date`` /
  ``special_to_date`` (dates).
- Ids (categories, attribute sets, configurable children) go through an optional mapping given
  by the caller; without one they are carried as strings.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeAlias, TypeVar

import attrs

from policy_engine._errors import PolicyConfigError
from policy_engine._families import (
    BundleOption,
    BundleSelection,
    FamilyKind,
    GroupedMode,
    ProductFamily,
)
from policy_engine._models import (
    AttributeValue,
    Image,
    Product,
    ProductType,
    SourceItem,
    Stock,
    Visibility,
    _load_attribute,
)
from policy_engine._serialization import Invalid, dump_number, fail, load_money, load_quantity
from policy_engine._sync import ChangeKind, Listing, ProductChange, diff_products
from policy_engine._validation import Problem, describe, key_path

# In plain sorted() order, which tests/test_magento.py checks (isort style would differ).
__all__ = [  # noqa: RUF022
    "CHILDREN_ATTRIBUTE",
    "RestCatalog",
    "WEIGHT_ATTRIBUTE",
    "families_from_rest",
    "group_source_items",
    "parent_skus",
    "product_change_from_rest",
    "product_from_rest",
    "product_to_rest",
    "stock_from_rest",
]

#: The custom attribute that holds a configurable product's child SKUs (a tuple of strings).
CHILDREN_ATTRIBUTE = "configurable_children"

#: The custom attribute that holds the product's top-level ``weight``.
WEIGHT_ATTRIBUTE = "weight"

#: A Magento REST payload (decoded JSON).
Payload: TypeAlias = Mapping[str, Any]
#: A caller's id → value mapping; ids may be given as integers or strings.
IdMapping: TypeAlias = Mapping[Any, str]

_T = TypeVar("_T")

_VISIBILITY_BY_NUMBER = {
    1: Visibility.NOT_VISIBLE_INDIVIDUALLY,
    2: Visibility.CATALOG,
    3: Visibility.SEARCH,
    4: Visibility.CATALOG_SEARCH,
}
_NUMBER_BY_VISIBILITY = {member: number for number, member in _VISIBILITY_BY_NUMBER.items()}
_ENABLED_BY_STATUS = {1: True, 2: False}
_PRODUCT_TYPES = {member.value: member for member in ProductType}
_DATE_TIME_SUFFIX = " 00:00:00"

_MISSING: Any = object()
_BAD: Any = object()


# ----------------------------------------------------------------------------------- leaves


def _shown(value: object) -> str:
    """A value for an error message: a scalar itself (long ones cut), anything else its type."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = repr(value)
        return text if len(text) <= 60 else f"{text[:56]}...{text[-1]}"
    return describe(value)


def _as_integer(value: object) -> int | None:
    """An integer given as a JSON integer, an integral float or a string of (at most 18) digits."""
    if type(value) is int:
        return value
    if type(value) is float:
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if type(value) is str:
        text = value.strip()
        digits = text[1:] if text[:1] in ("-", "+") else text
        if digits.isascii() and digits.isdigit() and len(digits) <= 18:
            return int(text)
    return None


def _load_integer(value: object) -> int:
    number = _as_integer(value)
    if number is None:
        fail(f"expected an integer, got {_shown(value)}")
    return number


def _load_status(value: object) -> bool:
    enabled = _ENABLED_BY_STATUS.get(_as_integer(value))  # type: ignore[arg-type]
    if enabled is None:
        fail(f"expected a status 1 (enabled) or 2 (disabled), got {_shown(value)}")
    return enabled


def _load_visibility(value: object) -> Visibility:
    visibility = _VISIBILITY_BY_NUMBER.get(_as_integer(value))  # type: ignore[arg-type]
    if visibility is None:
        fail(
            "expected a visibility 1 (not visible individually), 2 (catalog), 3 (search)"
            f" or 4 (catalog, search), got {_shown(value)}"
        )
    return visibility


def _load_type(value: object) -> ProductType:
    found = _PRODUCT_TYPES.get(value) if type(value) is str else None
    if found is None:
        allowed = ", ".join(repr(name) for name in _PRODUCT_TYPES)
        fail(f"expected a product type ({allowed}), got {_shown(value)}")
    return found


def _load_flag(value: object) -> bool:
    """A Magento flag: a JSON boolean, the integer 0 or 1, or the string "0" or "1"."""
    if type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return value == 1
    if type(value) is not str or value.strip() not in ("0", "1"):
        fail(f"expected a boolean (true/false or 0/1), got {_shown(value)}")
    return value.strip() == "1"


def _load_text(value: object) -> str:
    if type(value) is not str:
        fail(f"expected a string, got {_shown(value)}")
    return value


def _load_name(value: object) -> str:
    if type(value) is not str or not value.strip():
        fail(f"expected a non-empty string, got {_shown(value)}")
    return value


def _load_date(value: object) -> date | None:
    """A Magento date attribute (``"2026-11-20 00:00:00"`` or ``"2026-11-20"``): its date part."""
    if value is None:
        return None
    day: date | None = None
    if type(value) is str:
        with contextlib.suppress(ValueError):
            day = datetime.fromisoformat(value.strip()).date()
    if day is None:
        fail(f"expected a date (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS), got {_shown(value)}")
    return day


def _load_optional_money(value: object) -> Decimal | None:
    return None if value is None else load_money(value)


def _load_id(value: object) -> str | int:
    if not ((type(value) is str and value.strip()) or type(value) is int):
        fail(f"expected an id (a non-empty string or an integer), got {_shown(value)}")
    return value


def _load_ids(value: object) -> list[str | int]:
    """A list of ids (strings or integers), or one comma-separated string of them."""
    if value is None:
        return []
    if type(value) is str:
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        fail(f"expected a list of ids or a comma-separated string, got {_shown(value)}")
    ids: list[str | int] = []
    problems: list[Problem] = []
    for index, item in enumerate(value):
        try:
            ids.append(_load_id(item))
        except Invalid as error:
            problems.extend((f"$[{index}]{sub[1:]}", message) for sub, message in error.problems)
    if problems:
        raise Invalid(problems)
    return ids


def _load_roles(value: object) -> frozenset[str]:
    if not isinstance(value, list | tuple):
        fail(f"expected a list of image roles, got {_shown(value)}")
    problems = [
        (f"$[{index}]", f"expected a string, got {_shown(item)}")
        for index, item in enumerate(value)
        if type(item) is not str
    ]
    if problems:
        raise Invalid(problems)
    return frozenset(value)


def _lookup(mapping: IdMapping, key: str | int) -> Any:
    """The mapped value of an id given as an integer or a string (``11`` and ``"11"`` alike)."""
    found = mapping.get(key)
    if found is None:
        other = str(key) if type(key) is int else _as_integer(key)
        if other is not None:
            found = mapping.get(other)
    return found


def _without_root(categories: list[str]) -> tuple[str, ...]:
    """The category paths below the store's root category: each path's first segment dropped.

    ``"Default Category/Gear/Bags"`` becomes ``"Gear/Bags"``. A value without ``/`` that is the
    first segment of one of the paths is the root listed on its own (Magento assigns products to
    it) and is dropped; any other value without ``/`` (an id kept as a string) is kept. A path met
    twice once its root is dropped is kept once, where it first appears.
    """
    roots = {path.partition("/")[0] for path in categories if "/" in path}
    if not roots:
        return tuple(categories)
    kept: dict[str, None] = {}
    for path in categories:
        _, slash, below = path.partition("/")
        if slash:
            kept[below] = None
        elif path not in roots:
            kept[path] = None
    return tuple(kept)


# ----------------------------------------------------------------------------------- reader


@attrs.frozen(kw_only=True)
class _Options:
    """How ids and store settings of a payload are read (see :func:`product_from_rest`)."""

    category_paths: IdMapping | None = None
    category_attribute: str = "category_ids"
    attribute_sets: IdMapping | None = None
    children_key: str = "configurable_product_links"
    product_skus: IdMapping | None = None
    config_manage_stock: bool | None = True
    keep_root_category: bool = False
    disabled_sources: frozenset[str] = frozenset()


class _Reader:
    """Reads one document with a set of options, collecting every problem with its path."""

    __slots__ = ("options", "problems")

    def __init__(self, options: _Options) -> None:
        self.options = options
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise PolicyConfigError.from_problems(self.problems)

    def load(self, loader: Callable[[Any], _T], value: Any, path: str) -> _T:
        """The loaded value, or ``_BAD`` after recording the loader's problems under ``path``."""
        try:
            return loader(value)
        except Invalid as error:
            self.problems.extend((path + sub[1:], message) for sub, message in error.problems)
            return _BAD  # type: ignore[no-any-return]

    def mapping(self, value: Any, path: str) -> Mapping[str, Any]:
        """An optional object of the payload (empty when missing, null or malformed)."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add(path, f"expected an object, got {_shown(value)}")
            return {}
        return value

    def sequence(self, value: Any, path: str) -> list[Any] | tuple[Any, ...]:
        """An optional list of the payload (empty when missing, null or malformed)."""
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            self.add(path, f"expected a list, got {_shown(value)}")
            return ()
        return value

    def map_id(
        self, raw: str | int, path: str, mapping: IdMapping | None, what: str, out: list[str]
    ) -> None:
        """Append an id, mapped through ``mapping`` (or as a string without one), once."""
        if mapping is None:
            value: Any = raw if type(raw) is str else str(raw)
        else:
            value = _lookup(mapping, raw)
            if type(value) is not str:
                problem = "no entry" if value is None else f"the entry {_shown(value)}"
                self.add(path, f"{what} id {raw!r} has {problem} in the {what} mapping")
                return
        if value not in out:
            out.append(value)

    def ids(
        self, value: Any, path: str, mapping: IdMapping | None, what: str, out: list[str]
    ) -> None:
        """Append the mapped ids of a list (``path[i]``) or a comma-separated string."""
        ids = self.load(_load_ids, value, path)
        if ids is _BAD:
            return
        listed = type(value) is not str
        for index, raw in enumerate(ids):
            self.map_id(raw, f"{path}[{index}]" if listed else path, mapping, what, out)

    # ---------------------------------------------------------------------------- stock

    def source_items(self, items: Any, path: str, sku: str | None) -> tuple[SourceItem, ...]:
        if not isinstance(items, list | tuple):
            self.add(path, f"expected a list of source items, got {_shown(items)}")
            return ()
        loaded: list[SourceItem] = []
        for index, entry in enumerate(items):
            item_path = f"{path}[{index}]"
            if not isinstance(entry, Mapping):
                self.add(item_path, f"expected a source item object, got {_shown(entry)}")
                continue
            before = len(self.problems)
            item_sku = entry.get("sku")
            if item_sku is not None:
                if type(item_sku) is not str:
                    self.add(f"{item_path}.sku", f"expected a string, got {_shown(item_sku)}")
                elif sku is not None and item_sku != sku:
                    self.add(f"{item_path}.sku", f"a source item of {item_sku!r} given for {sku!r}")
            fields: dict[str, Any] = {}
            for key, name, loader in _SOURCE_ITEM_FIELDS:
                if key in entry:
                    fields[name] = self.load(loader, entry[key], f"{item_path}.{key}")
                else:
                    self.add(f"{item_path}.{key}", "required field missing")
            enabled = entry.get("enabled")
            if enabled is not None:
                fields["enabled"] = self.load(_load_flag, enabled, f"{item_path}.enabled")
            if fields.get("code") in self.options.disabled_sources:
                fields["enabled"] = False
            if len(self.problems) == before:
                loaded.append(SourceItem(**fields))
        return tuple(loaded)

    def stock(
        self,
        item: Any,
        *,
        item_path: str,
        sources: Any,
        sources_path: str,
        reservations: Any,
        reservations_path: str,
        sku: str | None,
    ) -> Stock | None:
        """The stock record from a stock item, MSI source items and the reservations' sum."""
        fields: dict[str, Any] = {}
        if item is not None and not isinstance(item, Mapping):
            self.add(item_path, f"expected a stock item object, got {_shown(item)}")
        elif item is not None:
            for key, name, loader in _STOCK_ITEM_FIELDS:
                value = item.get(key)
                if value is not None:
                    fields[name] = self.load(loader, value, f"{item_path}.{key}")
            use_config = item.get("use_config_manage_stock")
            if use_config is not None:
                path = f"{item_path}.use_config_manage_stock"
                configured = self.options.config_manage_stock
                if self.load(_load_flag, use_config, path) is True and configured is not None:
                    fields["manage_stock"] = configured
        source_items = self.source_items(sources, sources_path, sku)
        reserved = self.load(load_quantity, reservations, reservations_path)
        if self.problems or (item is None and not source_items and not reserved):
            return None
        return Stock(sources=source_items, reserved=reserved, **fields)

    # --------------------------------------------------------------------------- product

    def images(self, entries: Any) -> tuple[Image, ...]:
        images: list[Image] = []
        for index, entry in enumerate(self.sequence(entries, "$.media_gallery_entries")):
            path = f"$.media_gallery_entries[{index}]"
            if not isinstance(entry, Mapping):
                self.add(path, f"expected a media gallery entry object, got {_shown(entry)}")
                continue
            media_type = entry.get("media_type")
            if media_type is not None and media_type != "image":
                if type(media_type) is not str:
                    self.add(f"{path}.media_type", f"expected a string, got {_shown(media_type)}")
                continue  # a video (``external-video``) is not a gallery image: not carried over
            before = len(self.problems)
            fields: dict[str, Any] = {}
            if "file" in entry:
                fields["file"] = self.load(_load_name, entry["file"], f"{path}.file")
            else:
                self.add(f"{path}.file", "required field missing")
            for key, name, loader in _IMAGE_FIELDS:
                value = entry.get(key)
                if value is not None:
                    fields[name] = self.load(loader, value, f"{path}.{key}")
            if len(self.problems) == before:
                images.append(Image(**fields))
        return tuple(images)

    def product(
        self,
        payload: Any,
        *,
        source_items: Any,
        reservations: Any,
        parent_sku: str | None,
        children: tuple[str, ...] | None = None,
    ) -> Product | None:
        """The product of a payload, or ``None`` after recording its problems.

        ``children`` (given by :func:`families_from_rest`, which resolves the links itself) is
        the configurable's child SKUs, in place of what ``children_key`` lists.
        """
        if not isinstance(payload, Mapping):
            self.add("$", f"expected a product object, got {_shown(payload)}")
            return None
        fields: dict[str, Any] = {}
        attributes: dict[str, AttributeValue] = {}
        categories: list[str] = []
        self.header(payload, fields, attributes)
        sku = fields.get("sku")
        extension = self.mapping(payload.get("extension_attributes"), "$.extension_attributes")
        self.extension(
            extension,
            fields,
            attributes,
            categories,
            sku=sku if type(sku) is str else None,
            source_items=source_items,
            reservations=reservations,
            parent_sku=parent_sku,
            children=children,
        )
        self.custom_attributes(payload.get("custom_attributes"), fields, attributes, categories)
        options = self.options
        if options.keep_root_category or options.category_paths is not None:
            fields["categories"] = tuple(categories)
        else:
            fields["categories"] = _without_root(categories)
        fields["attributes"] = attributes
        fields["images"] = self.images(payload.get("media_gallery_entries"))
        if self.problems:
            return None
        return Product(**fields)

    def header(
        self, payload: Payload, fields: dict[str, Any], attributes: dict[str, AttributeValue]
    ) -> None:
        """The top-level fields: SKU, name, type, status, visibility, price, set, weight."""
        if "sku" in payload:
            fields["sku"] = self.load(_load_name, payload["sku"], "$.sku")
        else:
            self.add("$.sku", "required field missing")
        name = payload.get("name")
        if name is not None:
            fields["name"] = self.load(_load_text, name, "$.name")
        for key, field, loader in _HEADER_FIELDS:
            if key in payload:
                fields[field] = self.load(loader, payload[key], f"$.{key}")
        set_name = payload.get("attribute_set_name")
        set_id = payload.get("attribute_set_id")
        if set_name is not None:
            fields["attribute_set"] = self.load(_load_text, set_name, "$.attribute_set_name")
        elif set_id is not None:
            raw = self.load(_load_id, set_id, "$.attribute_set_id")
            found: list[str] = []
            if raw is not _BAD:
                self.map_id(
                    raw, "$.attribute_set_id", self.options.attribute_sets, "attribute set", found
                )
            if found:
                fields["attribute_set"] = found[0]
        if WEIGHT_ATTRIBUTE in payload:
            path = f"$.{WEIGHT_ATTRIBUTE}"
            attributes[WEIGHT_ATTRIBUTE] = self.load(
                _load_attribute, payload[WEIGHT_ATTRIBUTE], path
            )

    def extension(
        self,
        extension: Mapping[str, Any],
        fields: dict[str, Any],
        attributes: dict[str, AttributeValue],
        categories: list[str],
        *,
        sku: str | None,
        source_items: Any,
        reservations: Any,
        parent_sku: str | None,
        children: tuple[str, ...] | None = None,
    ) -> None:
        """``extension_attributes``: stock, category links, children and the round-trip keys."""
        options = self.options
        base = "$.extension_attributes"
        links_path = f"{base}.category_links"
        for index, link in enumerate(self.sequence(extension.get("category_links"), links_path)):
            link_path = f"{links_path}[{index}]"
            path = f"{link_path}.category_id"
            if not isinstance(link, Mapping):
                self.add(link_path, f"expected a category link object, got {_shown(link)}")
            elif "category_id" not in link:
                self.add(path, "required field missing")
            else:
                raw = self.load(_load_id, link["category_id"], path)
                if raw is not _BAD:
                    self.map_id(raw, path, options.category_paths, "category", categories)

        listed = extension.get(options.children_key)
        if children is not None:
            if listed is not None:
                attributes[CHILDREN_ATTRIBUTE] = children
        elif listed is not None:
            skus: list[str] = []
            path = f"{base}{key_path(options.children_key)}"
            self.ids(listed, path, options.product_skus, "product", skus)
            attributes[CHILDREN_ATTRIBUTE] = tuple(skus)

        stated = extension.get("parent_sku")
        if stated is not None:
            path = f"{base}.parent_sku"
            stated = self.load(_load_name, stated, path)
            if parent_sku is not None and stated != parent_sku and stated is not _BAD:
                self.add(path, f"{stated!r} differs from the parent_sku argument {parent_sku!r}")
            parent_sku = stated
        if parent_sku is not None:
            fields["parent_sku"] = parent_sku

        sources, sources_path = source_items, "source_items"
        if extension.get("source_items") is not None:
            sources_path = f"{base}.source_items"
            if sources:
                self.add(sources_path, "source items are given both here and as an argument")
            sources = extension["source_items"]
        reserved, reserved_path = reservations, "reservations"
        if extension.get("reservations") is not None:
            reserved_path = f"{base}.reservations"
            if reservations != 0:
                self.add(reserved_path, "reservations are given both here and as an argument")
            reserved = extension["reservations"]
        fields["stock"] = self.stock(
            extension.get("stock_item"),
            item_path=f"{base}.stock_item",
            sources=sources,
            sources_path=sources_path,
            reservations=reserved,
            reservations_path=reserved_path,
            sku=sku,
        )

    def custom_attributes(
        self,
        entries: Any,
        fields: dict[str, Any],
        attributes: dict[str, AttributeValue],
        categories: list[str],
    ) -> None:
        """``custom_attributes``: the typed codes into product fields, the others as given."""
        category_attribute = self.options.category_attribute
        seen: dict[str, str] = dict.fromkeys(attributes, "")  # weight, children: not here
        for index, entry in enumerate(self.sequence(entries, "$.custom_attributes")):
            path = f"$.custom_attributes[{index}]"
            if not isinstance(entry, Mapping):
                self.add(path, f"expected an attribute_code and value object, got {_shown(entry)}")
                continue
            code = entry.get("attribute_code")
            if code is None or "value" not in entry:
                self.add(
                    f"{path}.{'attribute_code' if code is None else 'value'}",
                    "required field missing",
                )
                continue
            if type(code) is not str or not code.strip():
                self.add(f"{path}.attribute_code", f"expected a code, got {_shown(code)}")
                continue
            if code in seen:
                where = seen[code] or "the top level or extension_attributes"
                self.add(f"{path}.attribute_code", f"attribute {code!r} is also given at {where}")
                continue
            seen[code] = path
            value = entry["value"]
            value_path = f"{path}.value"
            field = _TYPED_ATTRIBUTES.get(code)
            if field is not None:
                loader = _load_optional_money if field == "special_price" else _load_date
                fields[field] = self.load(loader, value, value_path)
            elif code == category_attribute:
                self.ids(value, value_path, self.options.category_paths, "category", categories)
            else:
                attributes[code] = self.load(_load_attribute, value, value_path)


def _read_sources(reader: _Reader, sources: Any, path: str = "sources") -> frozenset[str]:
    """The codes of the disabled sources in a ``GET /V1/inventory/sources`` body or list.

    Each source needs its ``source_code`` and ``enabled``; problems are recorded under ``path``
    (``sources[2].enabled``, or ``sources.items[2].enabled`` in a search-result body).
    """
    if sources is None:
        return frozenset()
    if isinstance(sources, Mapping):
        sources, path = sources.get("items"), f"{path}.items"
    sources = _listed(sources)
    if not isinstance(sources, list | tuple):
        reader.add(path, f"expected a list of sources, got {_shown(sources)}")
        return frozenset()
    disabled: set[str] = set()
    for index, entry in enumerate(sources):
        entry_path = f"{path}[{index}]"
        if not isinstance(entry, Mapping):
            reader.add(entry_path, f"expected a source object, got {_shown(entry)}")
            continue
        loaded: list[Any] = []
        for key, loader in (("source_code", _load_name), ("enabled", _load_flag)):
            if key in entry:
                loaded.append(reader.load(loader, entry[key], f"{entry_path}.{key}"))
            else:
                reader.add(f"{entry_path}.{key}", "required field missing")
                loaded.append(_BAD)
        code, enabled = loaded
        if code is not _BAD and enabled is False:
            disabled.add(code)
    return frozenset(disabled)


def _with_sources(reader: _Reader, sources: Any) -> _Reader:
    """The reader, its options knowing the disabled sources of ``sources`` (read first)."""
    disabled = _read_sources(reader, sources)
    if disabled:
        reader.options = attrs.evolve(reader.options, disabled_sources=disabled)
    return reader


_SOURCE_ITEM_FIELDS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("source_code", "code", _load_name),
    ("quantity", "qty", load_quantity),
    ("status", "in_stock", _load_flag),
)
_STOCK_ITEM_FIELDS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("qty", "qty", load_quantity),
    ("is_in_stock", "in_stock", _load_flag),
    ("manage_stock", "manage_stock", _load_flag),
    ("min_qty", "out_of_stock_threshold", load_quantity),
)
_IMAGE_FIELDS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("position", "position", _load_integer),
    ("disabled", "disabled", _load_flag),
    ("types", "roles", _load_roles),
    ("label", "label", _load_text),
)
_HEADER_FIELDS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("type_id", "type", _load_type),
    ("status", "enabled", _load_status),
    ("visibility", "visibility", _load_visibility),
    ("price", "price", _load_optional_money),
)
#: Custom attributes that are product fields: code → field.
_TYPED_ATTRIBUTES = {
    "special_price": "special_price",
    "special_from_date": "special_from",
    "special_to_date": "special_to",
}


# ------------------------------------------------------------------------------ public reads


def stock_from_rest(
    stock_item: Payload | None,
    source_items: Iterable[Payload] = (),
    reservations: int | float | str | Decimal = 0,
    *,
    config_manage_stock: bool | None = True,
    sources: Payload | Iterable[Payload] | None = None,
) -> Stock:
    """A :class:`~policy_engine.Stock` from a Magento stock item, MSI source items and reservations.

    Args:
        stock_item: ``extension_attributes.stock_item`` of a product (or the body of
            ``GET /V1/stockItems/{sku}``): ``qty``, ``is_in_stock``, ``manage_stock``,
            ``use_config_manage_stock`` and ``min_qty`` are read. ``None`` gives a stock with the
            defaults (only the MSI data then counts).
        source_items: The product's MSI source items, in the ``/V1/inventory/source-items``
            shape: ``sku``, ``source_code``, ``quantity`` and ``status`` (1 in stock, 0 out).
        reservations: The sum of the product's MSI reservations (negative while orders are open).
        config_manage_stock: The store's "Manage Stock" setting, used when the stock item says
            ``use_config_manage_stock``; ``None`` trusts the item's ``manage_stock`` as reported.
        sources: The store's MSI sources, the body of ``GET /V1/inventory/sources`` (an object
            with ``items``) or the list of sources: ``source_code`` and ``enabled`` are read, and
            the items of a disabled source come out with ``enabled`` false (they count nothing).
            ``None`` (the default) leaves every item enabled unless it says ``enabled: false``.

    Raises:
        PolicyConfigError: a malformed value, with its path: ``$.qty`` in the stock item,
            ``source_items[2].quantity`` in the source items, ``reservations``,
            ``sources[1].enabled`` in the sources.

    >>> from policy_engine.adapters.magento import stock_from_rest
    >>> stock = stock_from_rest(
    ...     {"qty": "12.0000", "is_in_stock": True, "min_qty": 2},
    ...     [{"sku": "24-MB01", "source_code": "us_store", "quantity": 37, "status": 1}],
    ...     reservations=-3,
    ... )
    >>> (stock.qty, stock.out_of_stock_threshold, stock.reserved, stock.sources[0].qty)
    (12, 2, -3, 37)
    """
    reader = _with_sources(_Reader(_Options(config_manage_stock=config_manage_stock)), sources)
    stock = reader.stock(
        {} if stock_item is None else stock_item,
        item_path="$",
        sources=_listed(source_items),
        sources_path="source_items",
        reservations=reservations,
        reservations_path="reservations",
        sku=None,
    )
    reader.raise_if_any()
    assert stock is not None  # a stock item (possibly empty) without problems gives a stock
    return stock


def _listed(values: Any) -> Any:
    """A list or tuple as it is; any other iterable as a list; anything else as it is."""
    if isinstance(values, list | tuple | str | bytes | Mapping):
        return values
    return list(values) if isinstance(values, Iterable) else values


def product_from_rest(
    payload: Payload,
    *,
    source_items: Iterable[Payload] = (),
    reservations: int | float | str | Decimal = 0,
    category_paths: IdMapping | None = None,
    category_attribute: str = "category_ids",
    attribute_sets: IdMapping | None = None,
    children_key: str = "configurable_product_links",
    product_skus: IdMapping | None = None,
    parent_sku: str | None = None,
    config_manage_stock: bool | None = True,
    keep_root_category: bool = False,
    sources: Payload | Iterable[Payload] | None = None,
) -> Product:
    """A :class:`~policy_engine.Product` (with its stock) from a ``GET /V1/products/{sku}`` payload.

    Args:
        payload: The decoded JSON of the product.
        source_items: The product's MSI source items (``/V1/inventory/source-items`` shape:
            ``sku``, ``source_code``, ``quantity``, ``status``); see :func:`group_source_items`.
        reservations: The sum of the product's MSI reservations.
        category_paths: Category id → path (``{11: "Men/Tops"}``) for the ids of
            ``extension_attributes.category_links`` and of the category attribute. Without it
            the ids are kept as strings; with it, an id it lacks is an error.
        category_attribute: The custom attribute holding the product's categories:
            ``category_ids`` in REST. The sample catalog's ``category_paths`` holds paths.
        attribute_sets: Attribute set id → name, for a payload with ``attribute_set_id`` and no
            ``attribute_set_name``. Without it the id is kept as a string.
        children_key: The ``extension_attributes`` key listing a configurable's children:
            ``configurable_product_links`` (entity ids) in REST; the sample catalog's
            ``configurable_child_skus`` lists SKUs. They become the attribute
            ``configurable_children``.
        product_skus: Product id → SKU, for children given as entity ids.
        parent_sku: The configurable parent's SKU of a child (REST does not say it; see
            :func:`parent_skus`).
        config_manage_stock: The store's "Manage Stock" setting, used when the stock item says
            ``use_config_manage_stock``; ``None`` trusts the item's ``manage_stock`` as reported.
        keep_root_category: Keep the store's root category at the start of the category paths
            the payload holds. By default it is dropped: ``"Default Category/Gear/Bags"`` becomes
            ``"Gear/Bags"`` and the bare root ``"Default Category"`` is left out, so a condition
            ``under(categories, 'Gear')`` matches. Paths from a ``category_paths`` mapping are the
            caller's and are always kept as given; ids kept as strings are never changed.
        sources: The store's MSI sources (``GET /V1/inventory/sources``, see
            :func:`stock_from_rest`): the source items of a disabled source come out disabled.

    Raises:
        PolicyConfigError: every malformed part at once, each with its JSON path
            (``$.custom_attributes[3].value``); problems in ``source_items``, ``reservations``
            and ``sources`` are reported with those names as paths.

    >>> from policy_engine.adapters.magento import product_from_rest
    >>> product = product_from_rest(
    ...     {
    ...         "sku": "MS-Champ-S", "name": "Champ Tee Small", "price": 25, "status": 1,
    ...         "visibility": 1, "type_id": "simple",
    ...         "extension_attributes": {"stock_item": {"qty": 10, "is_in_stock": True}},
    ...         "custom_attributes": [{"attribute_code": "color", "value": "52"}],
    ...     },
    ...     parent_sku="MS-Champ",
    ... )
    >>> (product.price, product.visibility.value, product.stock.qty, product.attributes["color"])
    (Decimal('25'), 'not_visible_individually', 10, '52')
    """
    options = _Options(
        category_paths=category_paths,
        category_attribute=category_attribute,
        attribute_sets=attribute_sets,
        children_key=children_key,
        product_skus=product_skus,
        config_manage_stock=config_manage_stock,
        keep_root_category=keep_root_category,
    )
    reader = _with_sources(_Reader(options), sources)
    product = reader.product(
        payload,
        source_items=_listed(source_items),
        reservations=reservations,
        parent_sku=parent_sku,
    )
    reader.raise_if_any()
    assert product is not None  # no problem means a product was built
    return product


# ---------------------------------------------------------------------------------- reverse


def _dump_attribute(value: AttributeValue) -> Any:
    if type(value) is Decimal:
        return dump_number(value)
    if type(value) is tuple:
        return list(value)
    return value


def product_to_rest(
    product: Product,
    *,
    category_attribute: str = "category_ids",
    children_key: str = "configurable_product_links",
    root_category: str | None = "Default Category",
) -> dict[str, Any]:
    """The Magento REST payload of a product: the inverse of :func:`product_from_rest`.

    ``product_from_rest(product_to_rest(p)) == p`` for every product (with the same
    ``category_attribute`` and ``children_key`` on both sides and no id mappings). The parts REST
    has no place for travel in documented non-REST keys of ``extension_attributes``:
    ``parent_sku``, ``source_items`` (``/V1/inventory/source-items`` shape) and ``reservations``.
    The attribute set is written as ``attribute_set_name`` and the categories as the values of
    ``category_attribute``, each under ``root_category`` (``"Default Category/Gear/Bags"`` for
    ``"Gear/Bags"``), the root :func:`product_from_rest` drops; ``root_category=None`` writes
    them as the product holds them, for ``product_from_rest(..., keep_root_category=True)``. An
    item of a disabled MSI source is written with ``"enabled": false``.

    Raises:
        PolicyConfigError: the product has an attribute whose code the payload uses for a
            product field (``special_price``, ``special_from_date``, ``special_to_date``, the
            category attribute), or a ``configurable_children`` that is not a list of SKUs.

    >>> from decimal import Decimal
    >>> from policy_engine import Product, Stock
    >>> from policy_engine.adapters.magento import product_to_rest
    >>> product = Product(sku="24-MB01", price=Decimal("34.00"), stock=Stock(qty=3))
    >>> payload = product_to_rest(product)
    >>> payload["price"], payload["status"], payload["extension_attributes"]["stock_item"]["qty"]
    (34.0, 1, 3)
    """
    reserved_codes = {"special_price", "special_from_date", "special_to_date", category_attribute}
    problems = [
        (f"$.attributes{key_path(code)}", f"the attribute code {code!r} is a product field in REST")
        for code in product.attributes
        if code in reserved_codes
    ]
    children = product.attributes.get(CHILDREN_ATTRIBUTE, _MISSING)
    if children is not _MISSING and type(children) is not tuple:
        problems.append(
            (
                f"$.attributes.{CHILDREN_ATTRIBUTE}",
                f"expected a list of SKUs, got {_shown(children)}",
            )
        )
    if problems:
        raise PolicyConfigError.from_problems(problems)

    payload: dict[str, Any] = {
        "sku": product.sku,
        "name": product.name,
        "attribute_set_name": product.attribute_set,
    }
    if product.price is not None:
        payload["price"] = dump_number(product.price)
    payload["status"] = 1 if product.enabled else 2
    payload["visibility"] = _NUMBER_BY_VISIBILITY[product.visibility]
    payload["type_id"] = product.type.value
    if WEIGHT_ATTRIBUTE in product.attributes:
        payload[WEIGHT_ATTRIBUTE] = _dump_attribute(product.attributes[WEIGHT_ATTRIBUTE])

    extension: dict[str, Any] = {}
    stock = product.stock
    if stock is not None:
        extension["stock_item"] = {
            "qty": stock.qty,
            "is_in_stock": stock.in_stock,
            "use_config_manage_stock": False,
            "manage_stock": stock.manage_stock,
            "min_qty": stock.out_of_stock_threshold,
        }
        if stock.sources:
            extension["source_items"] = [
                {
                    "sku": product.sku,
                    "source_code": item.code,
                    "quantity": item.qty,
                    "status": 1 if item.in_stock else 0,
                    **({} if item.enabled else {"enabled": False}),
                }
                for item in stock.sources
            ]
        if stock.reserved:
            extension["reservations"] = stock.reserved
    if children is not _MISSING:
        extension[children_key] = list(children)
    if product.parent_sku is not None:
        extension["parent_sku"] = product.parent_sku
    payload["extension_attributes"] = extension

    payload["media_gallery_entries"] = [
        {
            "media_type": "image",
            "label": image.label,
            "position": image.position,
            "disabled": image.disabled,
            "types": sorted(image.roles),
            "file": image.file,
        }
        for image in product.images
    ]

    custom: list[dict[str, Any]] = []
    if product.special_price is not None:
        custom.append({"attribute_code": "special_price", "value": str(product.special_price)})
    for code, day in (
        ("special_from_date", product.special_from),
        ("special_to_date", product.special_to),
    ):
        if day is not None:
            custom.append({"attribute_code": code, "value": day.isoformat() + _DATE_TIME_SUFFIX})
    if product.categories:
        paths = list(product.categories)
        if root_category is not None:
            paths = [f"{root_category}/{path}" for path in paths]
        custom.append({"attribute_code": category_attribute, "value": paths})
    custom.extend(
        {"attribute_code": code, "value": _dump_attribute(value)}
        for code, value in product.attributes.items()
        if code not in (WEIGHT_ATTRIBUTE, CHILDREN_ATTRIBUTE)
    )
    payload["custom_attributes"] = custom
    return payload


# ---------------------------------------------------------------------------------- helpers


def parent_skus(
    payloads: Iterable[Payload],
    *,
    children_key: str = "configurable_product_links",
    product_skus: IdMapping | None = None,
) -> dict[str, str]:
    """Child SKU → configurable parent SKU, from the parents' payloads.

    REST puts a configurable's children on the parent only; pass the result's value for a child
    as ``product_from_rest(child, parent_sku=...)``. ``children_key`` and ``product_skus`` mean
    what they mean for :func:`product_from_rest`.

    Raises:
        PolicyConfigError: a malformed payload, or a child listed by two different parents (a
            product has one ``parent_sku``), with the path ``$[i].extension_attributes…``.

    >>> from policy_engine.adapters.magento import parent_skus
    >>> parent_skus(
    ...     [{"sku": "MH01", "extension_attributes": {"configurable_child_skus": ["MH01-S-Gray"]}}],
    ...     children_key="configurable_child_skus",
    ... )
    {'MH01-S-Gray': 'MH01'}
    """
    reader = _Reader(_Options(children_key=children_key, product_skus=product_skus))
    parents: dict[str, str] = {}
    payload: Any  # checked: a caller's list may hold anything
    for index, payload in enumerate(payloads):
        path = f"$[{index}]"
        if not isinstance(payload, Mapping):
            reader.add(path, f"expected a product object, got {_shown(payload)}")
            continue
        extension_path = f"{path}.extension_attributes"
        extension = reader.mapping(payload.get("extension_attributes"), extension_path)
        children = extension.get(children_key)
        if children is None:
            continue
        sku = reader.load(_load_name, payload.get("sku"), f"{path}.sku")
        children_path = f"{extension_path}{key_path(children_key)}"
        child_skus: list[str] = []
        reader.ids(children, children_path, product_skus, "product", child_skus)
        if sku is _BAD:
            continue
        for child in child_skus:
            known = parents.setdefault(child, sku)
            if known != sku:
                reader.add(children_path, f"{child!r} is a child of both {known!r} and {sku!r}")
    reader.raise_if_any()
    return parents


def group_source_items(
    items: Any, *, sources: Payload | Iterable[Payload] | None = None
) -> dict[str, list[Payload]]:
    """MSI source items grouped by SKU, for ``product_from_rest(..., source_items=groups[sku])``.

    ``items`` is the body of ``GET /V1/inventory/source-items`` (an object with ``items``) or
    the list of source items itself. Only each item's ``sku`` is checked here; the rest is checked
    when a product reads its items. With ``sources`` (the body or list of
    ``GET /V1/inventory/sources``), each item of a disabled source is given as a copy with
    ``"enabled": false``, so the products read it as disabled; the input is never changed.

    Raises:
        PolicyConfigError: a malformed list or an item without a SKU (``$.items[3].sku``), or a
            malformed ``sources`` (``sources[1].enabled``).

    >>> from policy_engine.adapters.magento import group_source_items
    >>> groups = group_source_items({"items": [
    ...     {"sku": "24-MB01", "source_code": "us_store", "quantity": 37, "status": 1},
    ...     {"sku": "24-MB01", "source_code": "us_warehouse", "quantity": 256, "status": 1},
    ... ]})
    >>> [item["source_code"] for item in groups["24-MB01"]]
    ['us_store', 'us_warehouse']
    """
    reader = _Reader(_Options())
    disabled = _read_sources(reader, sources)
    path = "$"
    if isinstance(items, Mapping):
        items, path = items.get("items"), "$.items"
    groups: dict[str, list[Payload]] = {}
    if not isinstance(items, list | tuple):
        reader.add(path, f"expected a list of source items, got {_shown(items)}")
        items = ()
    for index, item in enumerate(items):
        item_path = f"{path}[{index}]"
        if not isinstance(item, Mapping):
            reader.add(item_path, f"expected a source item object, got {_shown(item)}")
            continue
        sku = reader.load(_load_name, item.get("sku"), f"{item_path}.sku")
        if sku is _BAD:
            continue
        code = item.get("source_code")
        marked = {**item, "enabled": False} if type(code) is str and code in disabled else item
        groups.setdefault(sku, []).append(marked)
    reader.raise_if_any()
    return groups


def product_change_from_rest(
    before: Payload | Product | None,
    after: Payload | Product | None,
    *,
    listing: Listing | None = None,
    category_paths: IdMapping | None = None,
    category_attribute: str = "category_ids",
    attribute_sets: IdMapping | None = None,
    children_key: str = "configurable_product_links",
    product_skus: IdMapping | None = None,
    parent_sku: str | None = None,
    config_manage_stock: bool | None = True,
    keep_root_category: bool = False,
    sources: Payload | Iterable[Payload] | None = None,
) -> ProductChange:
    """A :class:`~policy_engine.ProductChange` from two snapshots of a product.

    ``before`` ``None`` gives a ``created`` change of ``after``; ``after`` ``None`` a ``deleted``
    change of ``before``; both given an ``updated`` change whose ``changed`` codes come from
    :func:`~policy_engine.diff_products`. Each snapshot is a REST payload (read with the options,
    which mean what they mean for :func:`product_from_rest`) or an already converted
    :class:`~policy_engine.Product`. A snapshot's MSI data travels in its payload
    (``extension_attributes.source_items`` and ``reservations``) or in a converted product.

    Raises:
        PolicyConfigError: a malformed snapshot, with paths under ``$.before`` and ``$.after``;
            a malformed ``sources`` (``sources[0].enabled``); or both snapshots missing (``$``).

    >>> from policy_engine.adapters.magento import product_change_from_rest
    >>> change = product_change_from_rest(
    ...     {"sku": "24-MB01", "price": 34, "custom_attributes": []},
    ...     {"sku": "24-MB01", "price": "32.00", "custom_attributes": []},
    ... )
    >>> change.kind.value, sorted(change.changed)
    ('updated', ['price'])
    """
    options = _Options(
        category_paths=category_paths,
        category_attribute=category_attribute,
        attribute_sets=attribute_sets,
        children_key=children_key,
        product_skus=product_skus,
        config_manage_stock=config_manage_stock,
        keep_root_category=keep_root_category,
    )
    sources_reader = _with_sources(_Reader(options), sources)
    options = sources_reader.options
    problems: list[Problem] = list(sources_reader.problems)
    if before is None and after is None:
        problems.append(("$", "a change needs a product before it, after it, or both"))
    snapshots: list[Product | None] = []
    for name, snapshot in (("before", before), ("after", after)):
        if snapshot is None or isinstance(snapshot, Product):
            snapshots.append(snapshot)
            continue
        reader = _Reader(options)
        snapshots.append(
            reader.product(snapshot, source_items=(), reservations=0, parent_sku=parent_sku)
        )
        problems.extend((f"$.{name}{path[1:]}", message) for path, message in reader.problems)
    if problems:
        raise PolicyConfigError.from_problems(problems)
    old, new = snapshots
    if old is None:
        assert new is not None
        return ProductChange(kind=ChangeKind.CREATED, product=new, listing=listing)
    if new is None:
        return ProductChange(kind=ChangeKind.DELETED, product=old, listing=listing)
    return ProductChange(
        kind=ChangeKind.UPDATED, product=new, changed=diff_products(old, new), listing=listing
    )


# --------------------------------------------------------------------------------- families

_FAMILY_TYPE_IDS = {
    ProductType.CONFIGURABLE.value: FamilyKind.CONFIGURABLE,
    ProductType.GROUPED.value: FamilyKind.GROUPED,
    ProductType.BUNDLE.value: FamilyKind.BUNDLE,
}
_NO_USABLE_SELECTION = "no selection of this required option is usable"
_OPTIONAL_LOADERS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("is_default", _load_flag),
    ("price", _load_optional_money),
)


@attrs.frozen(kw_only=True)
class RestCatalog:
    """A Magento REST catalog as product families and standalone products.

    Attributes:
        families: The families, in the order of their parents in the catalog: each
            configurable, bundle and grouped product that could be built, with its children.
        products: The standalone products, in catalog order: every converted product that is
            neither a family's parent nor a child of one.
        problems: Every problem found, as ``(path, message)`` pairs in catalog order; each path
            starts with the payload's index (``$[12].extension_attributes.…``).
    """

    families: tuple[ProductFamily, ...]
    products: tuple[Product, ...]
    problems: tuple[Problem, ...]

    @property
    def error(self) -> PolicyConfigError | None:
        """The problems as one :class:`~policy_engine.PolicyConfigError`, or ``None``."""
        return PolicyConfigError.from_problems(self.problems) if self.problems else None


@attrs.define
class _Link:
    """A parent's resolved links: its child SKUs (in order) and what its kind needs."""

    index: int
    kind: FamilyKind
    children: list[str] = attrs.Factory(list)
    codes: tuple[str, ...] = ()
    defaults: dict[str, int] = attrs.Factory(dict)
    options: list[tuple[str, dict[str, Any], list[BundleSelection]]] = attrs.Factory(list)
    dynamic: bool = True
    refused: bool = False


class _Catalog:
    """The passes of :func:`families_from_rest`: index, links, conversion, families."""

    def __init__(self, payloads: list[Any], reader: _Reader, attribute_codes: IdMapping | None):
        self.payloads = payloads
        self.reader = reader
        self.attribute_codes = attribute_codes
        self.problems: list[tuple[int, str, str]] = []
        self.by_sku: dict[str, int] = {}
        self.by_id: dict[int, str] = {}
        self.kinds: dict[str, FamilyKind] = {}
        self.parents: dict[str, str] = {}

    def add(self, index: int, path: str, message: str) -> None:
        self.problems.append((index, path, message))

    def load(self, index: int, loader: Callable[[Any], _T], value: Any, path: str) -> _T:
        reader = self.reader
        before = len(reader.problems)
        loaded = reader.load(loader, value, path)
        for sub, message in reader.problems[before:]:
            self.add(index, sub, message)
        del reader.problems[before:]
        return loaded

    def mapping(self, index: int, value: Any, path: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add(index, path, f"expected an object, got {_shown(value)}")
            return {}
        return value

    def sequence(self, index: int, value: Any, path: str) -> list[Any] | tuple[Any, ...]:
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            self.add(index, path, f"expected a list, got {_shown(value)}")
            return ()
        return value

    # ----------------------------------------------------------------------------- index

    def index(self) -> None:
        """Every payload by SKU (the first of a SKU met twice) and by entity id."""
        for index, payload in enumerate(self.payloads):
            if not isinstance(payload, Mapping):
                continue  # reported when converted
            sku = payload.get("sku")
            if type(sku) is not str or not sku.strip():
                continue  # reported when converted
            first = self.by_sku.setdefault(sku, index)
            if first != index:
                self.add(index, f"$[{index}].sku", f"{sku!r} is also the product at $[{first}]")
                continue
            entity = _as_integer(payload.get("id"))
            if entity is not None:
                self.by_id.setdefault(entity, sku)
            kind = _FAMILY_TYPE_IDS.get(payload.get("type_id"))  # type: ignore[arg-type]
            if kind is not None:
                self.kinds[sku] = kind

    def target(self, index: int, parent: str, sku: str, path: str) -> bool:
        """Whether ``sku`` can be a child of ``parent``; a broken link is reported."""
        if sku == parent:
            self.add(index, path, f"{sku!r} links to itself: a product cannot be its own child")
        elif sku not in self.by_sku:
            self.add(index, path, f"{sku!r} is not in the catalog")
        elif sku in self.kinds:
            kind = self.kinds[sku].value
            self.add(index, path, f"{sku!r} is a {kind} product: families do not nest")
        else:
            return True
        return False

    def resolve(self, index: int, raw: str | int, path: str, product_skus: IdMapping | None) -> Any:
        """The SKU a child link names (an entity id through ``product_skus`` or the catalog)."""
        if product_skus is not None:
            found = _lookup(product_skus, raw)
            if type(found) is not str:
                problem = "no entry" if found is None else f"the entry {_shown(found)}"
                self.add(index, path, f"product id {raw!r} has {problem} in the product mapping")
                return None
            return found
        if type(raw) is int:
            found = self.by_id.get(raw)
            if found is None:
                self.add(index, path, f"product id {raw} is the id of no product in the catalog")
            return found
        return raw

    # ----------------------------------------------------------------------------- links

    def links(self) -> dict[str, _Link]:
        """Each family parent's links, resolved; every broken link reported and left out."""
        links: dict[str, _Link] = {}
        claimed: dict[str, tuple[str, int]] = {}
        for sku, kind in self.kinds.items():
            index = self.by_sku[sku]
            payload = self.payloads[index]
            link = _Link(index=index, kind=kind)
            path = f"$[{index}]"
            extension = self.mapping(
                index, payload.get("extension_attributes"), f"{path}.extension_attributes"
            )
            if kind is FamilyKind.CONFIGURABLE:
                self.configurable(link, sku, extension, claimed)
            elif kind is FamilyKind.BUNDLE:
                self.bundle(link, sku, payload, extension)
            else:
                self.grouped(link, sku, payload)
            links[sku] = link
        self.stated_parents(claimed, links)
        return links

    def configurable(
        self,
        link: _Link,
        sku: str,
        extension: Mapping[str, Any],
        claimed: dict[str, tuple[str, int]],
    ) -> None:
        index = link.index
        options = self.reader.options
        base = f"$[{index}].extension_attributes"
        listed = extension.get(options.children_key)
        if listed is not None:
            path = f"{base}{key_path(options.children_key)}"
            ids = self.load(index, _load_ids, listed, path)
            if ids is _BAD:
                link.refused = True  # no child can be told: the family is left out
            else:
                by_position = type(listed) is not str
                for position, raw in enumerate(ids):
                    link_path = f"{path}[{position}]" if by_position else path
                    child = self.resolve(index, raw, link_path, options.product_skus)
                    if child is None or child in link.children:
                        continue
                    if not self.target(index, sku, child, link_path):
                        continue
                    owner = claimed.setdefault(child, (sku, index))
                    if owner[0] != sku:
                        self.add(
                            index,
                            link_path,
                            f"{child!r} is already a child of {owner[0]!r} ($[{owner[1]}])",
                        )
                        continue
                    link.children.append(child)
        link.codes = self.variation_codes(index, extension, base)

    def variation_codes(
        self, index: int, extension: Mapping[str, Any], base: str
    ) -> tuple[str, ...]:
        """``configurable_attribute_codes`` (the sample), else ``configurable_product_options``."""
        codes: list[str] = []
        given = extension.get("configurable_attribute_codes")
        if given is not None:
            path = f"{base}.configurable_attribute_codes"
            for position, code in enumerate(self.sequence(index, given, path)):
                loaded = self.load(index, _load_name, code, f"{path}[{position}]")
                if loaded is not _BAD:
                    codes.append(loaded)
            return tuple(codes)
        path = f"{base}.configurable_product_options"
        for position, option in enumerate(
            self.sequence(index, extension.get("configurable_product_options"), path)
        ):
            option_path = f"{path}[{position}]"
            if not isinstance(option, Mapping):
                self.add(index, option_path, f"expected an option object, got {_shown(option)}")
                continue
            id_path = f"{option_path}.attribute_id"
            if "attribute_id" not in option:
                self.add(index, id_path, "required field missing")
                continue
            raw = self.load(index, _load_id, option["attribute_id"], id_path)
            if raw is _BAD:
                continue
            before = len(self.reader.problems)
            self.reader.map_id(raw, id_path, self.attribute_codes, "attribute", codes)
            for sub, message in self.reader.problems[before:]:
                self.add(index, sub, message)
            del self.reader.problems[before:]
        return tuple(codes)

    def bundle(
        self, link: _Link, sku: str, payload: Mapping[str, Any], extension: Mapping[str, Any]
    ) -> None:
        index = link.index
        path = f"$[{index}].extension_attributes.bundle_product_options"
        for position, option in enumerate(
            self.sequence(index, extension.get("bundle_product_options"), path)
        ):
            option_path = f"{path}[{position}]"
            if not isinstance(option, Mapping):
                self.add(index, option_path, f"expected an option object, got {_shown(option)}")
                link.refused = True
                continue
            fields: dict[str, Any] = {}
            title = option.get("title")
            if title is not None:
                fields["title"] = self.load(index, _load_text, title, f"{option_path}.title")
            required = option.get("required")
            if required is not None:
                fields["required"] = self.load(
                    index, _load_flag, required, f"{option_path}.required"
                )
            links_path = f"{option_path}.product_links"
            given = self.sequence(index, option.get("product_links"), links_path)
            selections: list[BundleSelection] = []
            for number, entry in enumerate(given):
                selection = self.selection(index, sku, entry, f"{links_path}[{number}]")
                if selection is not None:
                    selections.append(selection)
                    if selection.sku not in link.children:
                        link.children.append(selection.sku)
            if _BAD in fields.values():
                link.refused = True
            elif not given:
                self.add(index, links_path, "a bundle option needs at least one selection")
                link.refused = True
            elif selections:
                link.options.append((option_path, fields, selections))
            elif fields.get("required", True):
                self.add(index, links_path, _NO_USABLE_SELECTION)
                link.refused = True
        link.dynamic = self.price_type(index, payload)

    def selection(self, index: int, parent: str, entry: Any, path: str) -> BundleSelection | None:
        if not isinstance(entry, Mapping):
            self.add(index, path, f"expected a product link object, got {_shown(entry)}")
            return None
        if "sku" not in entry:
            self.add(index, f"{path}.sku", "required field missing")
            return None
        sku = self.load(index, _load_name, entry["sku"], f"{path}.sku")
        fields: dict[str, Any] = {}
        qty = entry.get("qty")
        if qty is not None:
            fields["qty"] = self.load(index, load_quantity, qty, f"{path}.qty")
        for key, loader in _OPTIONAL_LOADERS:
            value = entry.get(key)
            if value is not None:
                fields[key] = self.load(index, loader, value, f"{path}.{key}")
        if sku is _BAD or _BAD in fields.values():
            return None
        if not self.target(index, parent, sku, f"{path}.sku"):
            return None
        try:
            return BundleSelection(sku=sku, **fields)
        except PolicyConfigError as error:  # a quantity below 1, a price out of range
            for sub, message in error.problems:
                self.add(index, path + sub[1:], message)
            return None

    def price_type(self, index: int, payload: Mapping[str, Any]) -> bool:
        """Whether a bundle's price is dynamic: ``price_type`` 0 (the default), fixed for 1."""
        value, path = payload.get("price_type"), f"$[{index}].price_type"
        if value is None:
            entries = payload.get("custom_attributes")
            for position, entry in enumerate(entries if isinstance(entries, list) else ()):
                if isinstance(entry, Mapping) and entry.get("attribute_code") == "price_type":
                    value = entry.get("value")
                    path = f"$[{index}].custom_attributes[{position}].value"
                    break
        if value is None:
            return True
        number = _as_integer(value)
        if number not in (0, 1):
            self.add(
                index, path, f"expected a price type 0 (dynamic) or 1 (fixed), got {_shown(value)}"
            )
            return True
        return number == 0

    def grouped(self, link: _Link, sku: str, payload: Mapping[str, Any]) -> None:
        index = link.index
        path = f"$[{index}].product_links"
        for position, entry in enumerate(self.sequence(index, payload.get("product_links"), path)):
            entry_path = f"{path}[{position}]"
            if not isinstance(entry, Mapping):
                self.add(index, entry_path, f"expected a product link object, got {_shown(entry)}")
                continue
            if entry.get("link_type") != "associated":
                continue  # related, upsell, crosssell: not the group's items
            sku_path = f"{entry_path}.linked_product_sku"
            if "linked_product_sku" not in entry:
                self.add(index, sku_path, "required field missing")
                continue
            child = self.load(index, _load_name, entry["linked_product_sku"], sku_path)
            extension_path = f"{entry_path}.extension_attributes"
            extension = self.mapping(index, entry.get("extension_attributes"), extension_path)
            qty: Any = 0
            if extension.get("qty") is not None:
                qty_path = f"{extension_path}.qty"
                qty = self.load(index, load_quantity, extension["qty"], qty_path)
                if qty is not _BAD and qty < 0:
                    self.add(index, qty_path, f"a default quantity must be >= 0, got {qty}")
                    qty = _BAD
            if child is _BAD or qty is _BAD or child in link.children:
                continue
            if self.target(index, sku, child, sku_path):
                link.children.append(child)
                if qty > 0:  # Magento's 0: no preset quantity, the item counts once per set
                    link.defaults[child] = qty

    def stated_parents(self, claimed: dict[str, tuple[str, int]], links: dict[str, _Link]) -> None:
        """Report a child whose ``extension_attributes.parent_sku`` names another parent."""
        for sku, index in self.by_sku.items():
            extension = self.payloads[index].get("extension_attributes")
            stated = extension.get("parent_sku") if isinstance(extension, Mapping) else None
            if type(stated) is not str:
                continue  # none, or reported when converted
            path = f"$[{index}].extension_attributes.parent_sku"
            owner = claimed.get(sku)
            if owner is not None and owner[0] == stated:
                continue
            if stated not in self.by_sku:
                self.add(index, path, f"the parent {stated!r} is not in the catalog")
            elif self.kinds.get(stated) is not FamilyKind.CONFIGURABLE:
                self.add(index, path, f"the parent {stated!r} is not a configurable product")
            else:
                self.add(index, path, f"the parent {stated!r} does not list {sku!r} as its child")
            if owner is not None:  # listed by another configurable, which the child denies
                del claimed[sku]
                links[owner[0]].children.remove(sku)
        self.parents = {sku: owner[0] for sku, owner in claimed.items()}

    # ------------------------------------------------------------------------ conversion

    def convert(
        self,
        links: Mapping[str, _Link],
        source_items: Mapping[str, Any],
        reservations: Mapping[str, Any],
    ) -> dict[str, Product]:
        """Every indexed payload as a product, once; a payload that fails is reported."""
        products: dict[str, Product] = {}
        options = self.reader.options
        parents = self.parents
        for index, payload in enumerate(self.payloads):
            sku = payload.get("sku") if isinstance(payload, Mapping) else None
            if type(sku) is str and self.by_sku.get(sku, index) != index:
                continue  # the SKU met twice: reported, the first one kept
            reader = _Reader(options)
            link = links.get(sku) if type(sku) is str else None
            children = None
            if link is not None and link.kind is FamilyKind.CONFIGURABLE:
                children = tuple(link.children)
            product = reader.product(
                payload,
                source_items=_listed(source_items.get(sku, ())) if type(sku) is str else (),
                reservations=reservations.get(sku, 0) if type(sku) is str else 0,
                parent_sku=parents.get(sku) if type(sku) is str else None,
                children=children,
            )
            path = f"$[{index}]"
            for sub, message in reader.problems:
                self.add(index, path + sub[1:] if sub.startswith("$") else sub, message)
            if product is not None:
                products[product.sku] = product
        return products

    # -------------------------------------------------------------------------- families

    def families(
        self, links: Mapping[str, _Link], products: Mapping[str, Product], mode: GroupedMode
    ) -> tuple[list[ProductFamily], set[str]]:
        """The families that can be built, and the SKUs of every family's parent and children."""
        families: list[ProductFamily] = []
        members: set[str] = set()
        for sku, link in links.items():
            members.add(sku)
            members.update(link.children)
            parent = products.get(sku)
            if parent is None or link.refused:
                continue  # the parent's or the links' problems are reported
            index = link.index
            children = [products[child] for child in link.children if child in products]
            fields: dict[str, Any] = {"parent": parent, "children": children}
            if link.kind is FamilyKind.CONFIGURABLE:
                fields["variation_attributes"] = link.codes
            elif link.kind is FamilyKind.GROUPED:
                fields["grouped_mode"] = mode
                fields["default_quantities"] = {
                    child: qty for child, qty in link.defaults.items() if child in products
                }
            else:
                bundle_options = self.bundle_options(index, link, products)
                if bundle_options is None:
                    continue
                fields["bundle_options"] = bundle_options
                fields["dynamic_price"] = link.dynamic
            try:
                families.append(ProductFamily(**fields))
            except PolicyConfigError as error:
                path = f"$[{index}]"
                for sub, message in error.problems:
                    self.add(index, path + sub[1:], message)
        return families, members

    def bundle_options(
        self, index: int, link: _Link, products: Mapping[str, Product]
    ) -> list[BundleOption] | None:
        """The bundle's options, without selections whose product failed; ``None`` if refused."""
        built: list[BundleOption] = []
        refused = False
        for option_path, fields, selections in link.options:
            kept = tuple(selection for selection in selections if selection.sku in products)
            if not kept:
                if fields.get("required", True):
                    self.add(index, f"{option_path}.product_links", _NO_USABLE_SELECTION)
                    refused = True
                continue
            try:
                built.append(BundleOption(selections=kept, **fields))
            except PolicyConfigError as error:  # an over-long title
                for sub, message in error.problems:
                    self.add(index, option_path + sub[1:], message)
                refused = True
        return None if refused else built


def families_from_rest(
    payloads: Iterable[Payload],
    *,
    source_items: Mapping[str, Iterable[Payload]] | None = None,
    reservations: Mapping[str, int | float | str | Decimal] | None = None,
    category_paths: IdMapping | None = None,
    category_attribute: str = "category_ids",
    attribute_sets: IdMapping | None = None,
    children_key: str = "configurable_product_links",
    product_skus: IdMapping | None = None,
    attribute_codes: IdMapping | None = None,
    config_manage_stock: bool | None = True,
    keep_root_category: bool = False,
    sources: Payload | Iterable[Payload] | None = None,
    grouped_mode: GroupedMode = GroupedMode.SET,
) -> RestCatalog:
    """A catalog of REST product payloads as :class:`~policy_engine.ProductFamily` objects
    and standalone products.

    Every payload is converted once, as :func:`product_from_rest` converts it (the options mean
    what they mean there). Each configurable, bundle and grouped product becomes a family with
    its children; every other product that is no family's child stands alone. The links read:

    - a configurable's children from ``extension_attributes[children_key]``: REST's
      ``configurable_product_links`` lists entity ids, mapped through ``product_skus`` or, without
      it, the payloads' own ``id``; a string is a SKU (the sample's
      ``configurable_child_skus``). Its variation attributes come from the sample's
      ``configurable_attribute_codes``, else from REST's ``configurable_product_options``, each
      ``attribute_id`` mapped through ``attribute_codes`` (id → code; without it the id is kept
      as a string, as every id the adapter reads). A child gets the parent as its
      ``parent_sku``.
    - a bundle's options from ``extension_attributes.bundle_product_options``: ``title``,
      ``required`` and each of ``product_links``' ``sku``, ``qty``, ``is_default`` and
      ``price``; its price type from ``price_type`` (top level or custom attribute; 0 or
      missing dynamic, 1 fixed).
    - a grouped product's items from the top-level ``product_links`` with ``link_type``
      ``associated``: ``linked_product_sku`` and ``extension_attributes.qty``, the default
      quantity (Magento's 0, no preset quantity, counts 1 per set).

    Nothing raises for the catalog's content: each problem is in ``problems`` with its path, and
    the rest of the catalog is converted. A link to a SKU that is not in the catalog, to the
    product itself, to another family's parent, or to a child another configurable already
    lists (the first in catalog order keeps it) is left out of the family; so is a child whose
    own ``extension_attributes.parent_sku`` names another parent, and a child whose payload
    fails. Such a product then stands alone unless another family holds it. A family that cannot
    be built (its parent's payload fails, a bundle option has no usable selection, or
    :class:`~policy_engine.ProductFamily` refuses it, its paths then under the parent's) is left
    out whole: its parent is not listed and its children are not listed one by one.

    Args:
        payloads: The products, each a ``GET /V1/products/{sku}`` payload (or an item of
            ``GET /V1/products``' ``items``).
        source_items: Each SKU's MSI source items (see :func:`group_source_items`).
        reservations: Each SKU's sum of MSI reservations.
        attribute_codes: Attribute id → code, for ``configurable_product_options``.
        grouped_mode: How grouped products are listed: as one set or with each item an option.

    >>> from policy_engine.adapters.magento import families_from_rest
    >>> catalog = families_from_rest([
    ...     {"sku": "MH01", "type_id": "configurable", "price": 52, "extension_attributes": {
    ...         "configurable_child_skus": ["MH01-S-Gray", "MH01-XS-Gray"],
    ...         "configurable_attribute_codes": ["size", "color"]}},
    ...     {"sku": "MH01-S-Gray", "price": 52, "custom_attributes": [
    ...         {"attribute_code": "size", "value": "S"},
    ...         {"attribute_code": "color", "value": "Gray"}]},
    ...     {"sku": "24-MB01", "price": 34},
    ... ], children_key="configurable_child_skus")
    >>> [(f.parent.sku, [c.sku for c in f.children]) for f in catalog.families]
    [('MH01', ['MH01-S-Gray'])]
    >>> [p.sku for p in catalog.products]
    ['24-MB01']
    >>> for path, message in catalog.problems:
    ...     print(path, message)
    $[0].extension_attributes.configurable_child_skus[1] 'MH01-XS-Gray' is not in the catalog
    """
    options = _Options(
        category_paths=category_paths,
        category_attribute=category_attribute,
        attribute_sets=attribute_sets,
        children_key=children_key,
        product_skus=product_skus,
        config_manage_stock=config_manage_stock,
        keep_root_category=keep_root_category,
    )
    reader = _with_sources(_Reader(options), sources)
    listed = list(payloads)
    catalog = _Catalog(listed, reader, attribute_codes)
    catalog.problems.extend((-1, path, message) for path, message in reader.problems)
    del reader.problems[:]
    catalog.index()
    links = catalog.links()
    products = catalog.convert(links, source_items or {}, reservations or {})
    families, members = catalog.families(links, products, grouped_mode)
    ordered = sorted(enumerate(catalog.problems), key=lambda item: (item[1][0], item[0]))
    return RestCatalog(
        families=tuple(families),
        products=tuple(p for sku, p in products.items() if sku not in members),
        problems=tuple((path, message) for _, (_, path, message) in ordered),
    )
