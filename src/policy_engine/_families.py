"""Product families: configurable, grouped and bundle products listed as one listing.

A :class:`ProductFamily` is a parent product and its children. :func:`evaluate_family` resolves
the listing template on the parent (or takes the listing's stored template, as
:func:`~policy_engine.evaluate_listing` does), evaluates every child under that template's
policies, each child with its own steps, and aggregates the family's quantity and price:

- **configurable**: each enabled child with its variation values is a variant; the quantity is
  the sum of the variants' quantities, the price the lowest variant price (or the parent's own,
  with the pricing policy's ``price_variation_mode`` ``parent``);
- **grouped**: listed as a *set* (the quantity is the fewest complete sets the children make,
  ⌊child quantity / its default quantity⌋, 0 as soon as a child is disabled or out of stock; the
  price is Σ child price × default quantity) or as *options* (each child a variant, as for a
  configurable);
- **bundle**: the quantity is the fewest bundles the required options can supply (an option
  supplies ⌊selection quantity / quantity per bundle⌋ through its best selection); a dynamic
  price is Σ over required options of the cheapest selection price × its quantity, a fixed price
  is the parent's own.

Every child appears in the outcome exactly once, as a variant, as a component of a set or a
bundle, or left out with its reason; none is dropped silently.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:  # pragma: no cover
    from policy_engine._config import Configuration
from policy_engine._batch import prepare
from policy_engine._config import _tuple
from policy_engine._errors import PolicyConfigError, PricingError
from policy_engine._images import ImagePolicy, ImageSelection, select_images
from policy_engine._inventory import (
    InventoryPolicy,
    QuantityResult,
    QuantityRule,
    compute_quantity,
)
from policy_engine._limits import (
    MAX_ATTRIBUTES,
    MAX_ID_LENGTH,
    MAX_INTEGER,
    MAX_ITEMS,
    MAX_NAME_LENGTH,
    MAX_SKU_LENGTH,
)
from policy_engine._listing import DISABLED, ListingOutcome, OutcomeError, Rule, evaluator
from policy_engine._models import (
    AttributeValue,
    Product,
    ProductType,
    _dump_attributes,
    _is_money_or_none,
    _load_attributes,
    _to_money,
    floor_quantity,
)
from policy_engine._orders import _items_of
from policy_engine._pricing import (
    PriceResult,
    PriceVariationMode,
    PricingPolicy,
    compute_price,
    currency_places,
)
from policy_engine._serialization import DUMP, LOAD, load_quantity, structure
from policy_engine._steps import Step, define_messages
from policy_engine._sync import _is_product
from policy_engine._validation import (
    JSON_SCHEMA,
    MAX_SIZE,
    Checked,
    FrozenDict,
    Problem,
    at_least,
    check,
    describe,
    fast_constructor,
    is_bool,
    is_int,
    is_member,
    key_path,
    max_items,
    non_empty,
    shown,
    text,
)

if TYPE_CHECKING:  # pragma: no cover
    from policy_engine._stock_sync import ChannelListing
    from policy_engine._sync import Listing

__all__ = [
    "BundleOption",
    "BundleSelection",
    "ChildOutcome",
    "ChildRole",
    "FamilyKind",
    "FamilyOutcome",
    "GroupedMode",
    "Outcome",
    "ProductFamily",
    "evaluate_families",
    "evaluate_family",
]


class FamilyKind(enum.StrEnum):
    """The kinds of product family, after the parent's Magento product type."""

    CONFIGURABLE = "configurable"
    GROUPED = "grouped"
    BUNDLE = "bundle"


class GroupedMode(enum.StrEnum):
    """How a grouped product is listed: as one set of all its items, or with each as an option."""

    SET = "set"
    OPTIONS = "options"


class ChildRole(enum.StrEnum):
    """What a child is in its family's listing."""

    VARIANT = "variant"
    COMPONENT = "component"
    EXCLUDED = "excluded"


define_messages(
    {
        "family_template": "the family's template is decided on its parent {0!r}",
        "variant_listed": "{0} is a variant of the listing",
        "variant_disabled": "{0} is disabled in the store: it is not a variant",
        "variant_out_of_stock": "{0} is out of stock: its variant lists 0",
        "variant_missing_attribute": (
            "{0} has no value for the variation attribute {1!r}: it is not a variant"
        ),
        "variant_unpriced": "{0} has no usable price: it is not a variant",
        "component_listed": "{0} is a component of the listing ({1} per listing)",
        "component_unavailable": "{0} is disabled or out of stock: the listing cannot be sold",
        "component_selection_unavailable": (
            "{0} is disabled or out of stock: another selection of its option is sold instead"
        ),
        "component_optional": "{0} is in an optional bundle option: it does not limit the listing",
        "component_unused": "{0} is in no option of the bundle: it is not part of the listing",
        "family_quantity_sum": "the listing's quantity is the sum of its {0} variants: {1}",
        "family_quantity_sets": "the children make {0} complete sets",
        "family_quantity_bundles": "the required options supply {0} bundles",
        "family_quantity_parent_disabled": "the parent {0!r} is disabled in the store: lists 0",
        "family_price_lowest_variant": "the listing's price is its lowest variant price, {0}",
        "family_price_parent": "every variant carries the parent's price, {0}",
        "family_price_set": "the set's price is the sum of its items' prices, {0}",
        "family_price_bundle_dynamic": (
            "the bundle's price is the sum of the cheapest selection of each required option, {0}"
        ),
        "family_price_bundle_fixed": "the bundle has a fixed price: the parent's, {0}",
        "family_no_variant": "no child can be listed: nothing to list",
        "variants_over_channel_limit": (
            "the listing has {0} variants: the channel accepts at most {1} per listing"
        ),
        "variation_attributes_over_channel_limit": (
            "the listing varies by {0} attributes: the channel accepts at most {1}"
        ),
    }
)


# ------------------------------------------------------------------------------------ checks


def _codes(values: Any) -> str | None:
    if not isinstance(values, tuple):
        return f"expected a list of attribute codes, got {describe(values)}"
    for value in values:
        if type(value) is not str or not value.strip():
            return f"expected a list of non-empty attribute codes, got {describe(value)} in it"
        if len(value) > MAX_ID_LENGTH:
            return f"attribute codes must be at most {MAX_ID_LENGTH} characters, got {shown(value)}"
    if len(set(values)) != len(values):
        return "lists an attribute code twice"
    return None


_codes.__dict__[JSON_SCHEMA] = {
    "uniqueItems": True,
    "items": {"minLength": 1, "pattern": r"\S", "maxLength": MAX_ID_LENGTH},
}


def _frozen(values: Any) -> Any:
    if type(values) is FrozenDict or not isinstance(values, Mapping):
        return values
    return FrozenDict(values)


def _default_quantities(values: Any) -> str | None:
    if not isinstance(values, Mapping):
        return f"expected an object of SKU -> default quantity, got {describe(values)}"
    if len(values) > MAX_ITEMS:
        return f"must have at most {MAX_ITEMS} items (got {len(values)})"
    for key, value in values.items():
        if type(key) is not str or not key.strip() or len(key) > MAX_SKU_LENGTH:
            return (
                f"SKUs must be non-empty strings of at most {MAX_SKU_LENGTH} characters"
                f" (got the key {shown(key)})"
            )
        if type(value) is not int or not 0 <= value <= MAX_INTEGER:
            return (
                f"default quantities must be integers between 0 and {MAX_INTEGER}"
                f" (got {shown(value)} for {shown(key)})"
            )
    return None


_default_quantities.__dict__[JSON_SCHEMA] = {
    "maxProperties": MAX_ITEMS,
    "propertyNames": {"minLength": 1, "pattern": r"\S"},
    "additionalProperties": {"minimum": 0, "maximum": MAX_INTEGER},
}
_default_quantities.__dict__[MAX_SIZE] = MAX_ITEMS


_GROUPED_MODES = {member.value: member for member in GroupedMode}


def _to_grouped_mode(value: Any) -> Any:
    """Convert a valid string to the member; leave anything else for the check to report."""
    return _GROUPED_MODES.get(value, value) if type(value) is str else value


# ------------------------------------------------------------------------------------ models


@attrs.frozen(kw_only=True)
class BundleSelection(Checked):
    """One product a bundle option can be filled with.

    Attributes:
        sku: The selected product's SKU: one of the family's children.
        qty: How many of it one bundle holds (Magento's selection quantity; decimals floored).
        is_default: Whether it is the option's default selection.
        price: The selection's own price in a fixed-price bundle, or ``None`` (informational: a
            fixed bundle sells at the parent's price).
    """

    sku: str = attrs.field(metadata=check(text(MAX_SKU_LENGTH, required=True)))
    qty: int = attrs.field(
        default=1,
        converter=floor_quantity,
        metadata={LOAD: load_quantity, **check(is_int, at_least(1))},
    )
    is_default: bool = attrs.field(default=False, metadata=check(is_bool))
    price: Decimal | None = attrs.field(
        default=None, converter=_to_money, metadata=check(_is_money_or_none)
    )


@attrs.frozen(kw_only=True)
class BundleOption(Checked):
    """One option of a bundle: a slot the buyer fills with one of its selections.

    Attributes:
        title: The option's title (``Sprite Stasis Ball``).
        required: Whether every bundle holds this option; an optional one limits nothing.
        selections: The products the option can be filled with (at least one).
    """

    title: str = attrs.field(default="", metadata=check(text(MAX_NAME_LENGTH)))
    required: bool = attrs.field(default=True, metadata=check(is_bool))
    selections: tuple[BundleSelection, ...] = attrs.field(
        converter=_tuple,
        metadata=check(
            _items_of(BundleSelection, "bundle selections"), max_items(MAX_ITEMS), non_empty
        ),
    )


_FAMILY_TYPES = {
    ProductType.CONFIGURABLE: FamilyKind.CONFIGURABLE,
    ProductType.GROUPED: FamilyKind.GROUPED,
    ProductType.BUNDLE: FamilyKind.BUNDLE,
}


@attrs.frozen(kw_only=True)
class ProductFamily(Checked):
    """A parent product and its children, listed as one marketplace listing.

    The family's kind is the parent's product type (``configurable``, ``grouped`` or
    ``bundle``).

    Attributes:
        parent: The parent product (a configurable, grouped or bundle product).
        children: Its children: a configurable's simple products, a grouped product's items, a
            bundle's selectable products. Each SKU once, none the parent's own.
        variation_attributes: A configurable's variation attribute codes (Magento's
            ``configurable_attribute_codes``: ``size``, ``color``), at least one; no two children
            may hold the same values of all of them.
        default_quantities: A grouped product's default quantity per child SKU: how many of it
            one set holds. A child not named, or named with Magento's 0 (no preset quantity),
            counts 1.
        grouped_mode: How a grouped product is listed: ``set`` (one listing of all its items) or
            ``options`` (each item a variant).
        bundle_options: A bundle's options, each with its selections (at least one option).
        dynamic_price: A bundle's price type: dynamic (from its selections) or fixed (the
            parent's own price).
    """

    parent: Product = attrs.field(metadata=check(_is_product))
    children: tuple[Product, ...] = attrs.field(
        default=(),
        converter=_tuple,
        metadata=check(_items_of(Product, "products"), max_items(MAX_ITEMS)),
    )
    variation_attributes: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple, metadata=check(max_items(MAX_ATTRIBUTES), _codes)
    )
    default_quantities: FrozenDict[str, int] = attrs.field(
        factory=FrozenDict, converter=_frozen, metadata=check(_default_quantities)
    )
    grouped_mode: GroupedMode = attrs.field(
        default=GroupedMode.SET,
        converter=_to_grouped_mode,
        metadata=check(is_member(GroupedMode)),
    )
    bundle_options: tuple[BundleOption, ...] = attrs.field(
        default=(),
        converter=_tuple,
        metadata=check(_items_of(BundleOption, "bundle options"), max_items(MAX_ITEMS)),
    )
    dynamic_price: bool = attrs.field(default=True, metadata=check(is_bool))

    @property
    def kind(self) -> FamilyKind:
        """The family's kind: the parent's product type."""
        return _FAMILY_TYPES[self.parent.type]

    def _cross_checks(self) -> list[Problem]:
        # Each rule reads only fields that hold what they should: while a document with other
        # problems is loaded, a field that failed stands in as something else, and the rules
        # that do not read it are still judged (every problem is reported at once).
        parent = self.parent if isinstance(self.parent, Product) else None
        kind = None if parent is None else _FAMILY_TYPES.get(parent.type)
        if parent is not None and kind is None:
            allowed = ", ".join(repr(k.value) for k in FamilyKind)
            return [
                (
                    "$.parent.type",
                    f"a family's parent must be of type {allowed} (got {parent.type.value!r})",
                )
            ]
        children = self.children if _all_of(self.children, Product) else None
        problems: list[Problem] = []
        seen: dict[str, int] | None = None
        if children is not None:
            seen = {}
            problems.extend(_child_problems(children, parent, kind, seen))
        if kind is not None:
            problems.extend(self._kind_problems(kind, children, seen))
        return problems

    def _kind_problems(
        self, kind: FamilyKind, children: tuple[Product, ...] | None, seen: dict[str, int] | None
    ) -> list[Problem]:
        """The rules of the family's kind: its own fields, and no field of another kind."""
        problems: list[Problem] = []
        if kind is FamilyKind.CONFIGURABLE:
            problems.extend(self._variation_problems(children))
        elif type(self.variation_attributes) is tuple and self.variation_attributes:
            problems.append(_only("$.variation_attributes", "a configurable family", kind))
        if kind is FamilyKind.BUNDLE:
            problems.extend(self._bundle_problems(seen))
        else:
            if _all_of(self.bundle_options, BundleOption) and self.bundle_options:
                problems.append(_only("$.bundle_options", "a bundle", kind, has="options"))
            if self.dynamic_price is False:
                problems.append(_only("$.dynamic_price", "a bundle", kind, has="a fixed price"))
        defaults = self.default_quantities
        if kind is FamilyKind.GROUPED:
            if seen is not None and type(defaults) is FrozenDict:
                problems.extend(
                    (
                        f"$.default_quantities{key_path(sku)}",
                        f"{sku!r} is not a child of the family",
                    )
                    for sku in defaults
                    if sku not in seen
                )
        else:
            if type(defaults) is FrozenDict and defaults:
                problems.append(
                    _only(
                        "$.default_quantities", "a grouped family", kind, has="default quantities"
                    )
                )
            if self.grouped_mode is GroupedMode.OPTIONS:
                problems.append(
                    _only("$.grouped_mode", "a grouped family", kind, has="a grouped mode")
                )
        return problems

    def _bundle_problems(self, seen: dict[str, int] | None) -> list[Problem]:
        options = self.bundle_options
        if not _all_of(options, BundleOption):
            return []
        if not options:
            return [("$.bundle_options", "a bundle needs at least one option")]
        problems: list[Problem] = []
        if not any(option.required for option in options):
            problems.append(("$.bundle_options", "a bundle needs at least one required option"))
        for i, option in enumerate(options):
            selected: dict[str, int] = {}
            for j, selection in enumerate(option.selections):
                path = f"$.bundle_options[{i}].selections[{j}].sku"
                sku = selection.sku
                if sku in selected:
                    problems.append(
                        (path, f"{sku!r} is already selection {selected[sku]} of this option")
                    )
                    continue
                selected[sku] = j
                if seen is not None and sku not in seen:
                    problems.append((path, f"{sku!r} is not a child of the family"))
        return problems

    def _variation_problems(self, children: tuple[Product, ...] | None) -> list[Problem]:
        codes = self.variation_attributes
        if type(codes) is not tuple:
            return []
        if not codes:
            return [
                (
                    "$.variation_attributes",
                    "a configurable family needs at least one variation attribute",
                )
            ]
        problems: list[Problem] = []
        owners: dict[tuple[str, ...], int] = {}
        for index, child in enumerate(children or ()):
            values = tuple(child.attributes.get(code) for code in codes)
            listed = False
            for code, value in zip(codes, values, strict=True):
                if isinstance(value, tuple):
                    listed = True
                    problems.append(
                        (
                            f"$.children[{index}].attributes{key_path(code)}",
                            "a variation attribute must hold one value, not a list",
                        )
                    )
            if listed or any(_missing(value) for value in values):
                continue  # a child that cannot be a variant is reported when evaluated
            key = tuple(str(value) for value in values)
            other = owners.get(key)
            if other is None:
                owners[key] = index
                continue
            shown_values = ", ".join(
                f"{code} {value!r}" for code, value in zip(codes, key, strict=True)
            )
            problems.append(
                (
                    f"$.children[{index}].attributes",
                    (
                        "the children disagree on the variation attributes:"
                        f" {children[other].sku!r} and {child.sku!r} both have"  # type: ignore[index]
                        f" {shown_values}"
                    ),
                )
            )
        return problems


def _all_of(values: Any, cls: type) -> bool:
    """Whether a field holds a tuple of ``cls`` (not a field that failed to load)."""
    return type(values) is tuple and all(isinstance(value, cls) for value in values)


def _only(path: str, who: str, kind: FamilyKind, *, has: str = "variation attributes") -> Problem:
    return (path, f"only {who} has {has} (this is a {kind.value})")


def _missing(value: Any) -> bool:
    """Whether a variation value is missing: no value, or blank text."""
    return value is None or (type(value) is str and not value.strip())


def _child_problems(
    children: tuple[Product, ...],
    parent: Product | None,
    kind: FamilyKind | None,
    seen: dict[str, int],
) -> list[Problem]:
    """Cycles, duplicates, nested families and foreign parents among the children."""
    problems: list[Problem] = []
    parent_sku = None if parent is None else parent.sku
    for index, child in enumerate(children):
        path = f"$.children[{index}]"
        sku = child.sku
        if sku == parent_sku:
            problems.append(
                (
                    f"{path}.sku",
                    f"{sku!r} is the family's parent: a product cannot be its own child",
                )
            )
        elif sku in seen:
            problems.append(
                (f"{path}.sku", f"{sku!r} is already the child at $.children[{seen[sku]}]")
            )
        else:
            seen[sku] = index
        if child.type in _FAMILY_TYPES:
            problems.append(
                (
                    f"{path}.type",
                    f"a child cannot itself be a {child.type.value} product (families do not nest)",
                )
            )
        if (
            kind is FamilyKind.CONFIGURABLE
            and child.parent_sku is not None
            and child.parent_sku != parent_sku
        ):
            problems.append(
                (
                    f"{path}.parent_sku",
                    f"names another parent, {child.parent_sku!r} (the family's is {parent_sku!r})",
                )
            )
    return problems


# ----------------------------------------------------------------------------------- results


@attrs.frozen(kw_only=True)
class ChildOutcome:
    """One child in its family's listing.

    Attributes:
        sku: The child's SKU.
        role: ``variant`` (a variant of the listing), ``component`` (an item of a set or a
            bundle) or ``excluded`` (left out: see ``reasons``).
        variation: The child's variation values by attribute code (a configurable's variation
            attributes; ``{"option": name}`` for a grouped product listed as options); empty for
            components.
        quantity: The child's quantity under the template's inventory policy (``None`` without a
            template).
        price: The child's price under the template's pricing policy; with its
            ``price_variation_mode`` ``parent``, the parent's price. ``None`` when it failed or
            without a template.
        images: The child's images under the template's image policy.
        errors: Each part that failed.
        reasons: Why the child has its role.
    """

    sku: str
    role: ChildRole
    variation: FrozenDict[str, AttributeValue] = attrs.field(
        metadata={LOAD: _load_attributes, DUMP: _dump_attributes}
    )
    quantity: QuantityResult | None
    price: PriceResult | None
    images: ImageSelection | None
    errors: tuple[OutcomeError, ...]
    reasons: tuple[Step, ...]


@attrs.frozen(kw_only=True)
class FamilyOutcome:
    """Everything a channel gets for a product family on one account: one listing.

    Attributes:
        sku: The parent's SKU (the listing's).
        account: The account id.
        kind: The family's kind (``None`` only for an item :func:`evaluate_families` could not
            load as a family).
        template: The template decided on the parent, or ``None`` (then nothing is listed).
        quantity: The listing's quantity (``None`` without a template).
        price: The listing's price (``None`` without a template, or when no price could be
            computed).
        images: The parent's image selection (``None`` without a template).
        children: Every child, once, in the family's order.
        errors: Each part of the listing that failed.
        reasons: How the template, the quantity and the price were decided.
    """

    sku: str
    account: str
    kind: FamilyKind | None
    template: str | None
    quantity: int | None
    price: PriceResult | None
    images: ImageSelection | None
    children: tuple[ChildOutcome, ...]
    errors: tuple[OutcomeError, ...]
    reasons: tuple[Step, ...]

    @property
    def ok(self) -> bool:
        """Whether the listing's quantity and price were computed."""
        return not self.errors

    @property
    def variants(self) -> tuple[ChildOutcome, ...]:
        """The children that are variants of the listing, in the family's order."""
        return tuple(child for child in self.children if child.role is ChildRole.VARIANT)


#: What a batch gives for one item and account: a listing's outcome or a family's.
Outcome = ListingOutcome | FamilyOutcome

_child = fast_constructor(ChildOutcome)
_family = fast_constructor(FamilyOutcome)
_NO_VARIATION: FrozenDict[str, AttributeValue] = FrozenDict()
_VARIANT, _COMPONENT, _EXCLUDED = ChildRole.VARIANT, ChildRole.COMPONENT, ChildRole.EXCLUDED
_OUT_OF_STOCK_DEFAULT = QuantityRule.OUT_OF_STOCK_DEFAULT

# A FrozenDict built without its Python ``__init__``: one per variant, in the hot loop.
_new_frozen = FrozenDict.__new__
_fill = dict.update
_unhashed = FrozenDict.__dict__["_hash"].__set__


def _variation(values: dict[str, AttributeValue]) -> FrozenDict[str, AttributeValue]:
    frozen: FrozenDict[str, AttributeValue] = _new_frozen(FrozenDict)
    _fill(frozen, values)
    _unhashed(frozen, None)
    return frozen


# ---------------------------------------------------------------------------------- evaluation


def _price(
    product: Product, pricing: PricingPolicy, on: date | None
) -> tuple[PriceResult | None, tuple[OutcomeError, ...]]:
    try:
        return compute_price(product, pricing, on=on), ()
    except PricingError as error:
        return None, (OutcomeError(what="price", code=error.code, message=str(error)),)


def _parts(
    child: Product, rule: Rule, on: date | None
) -> tuple[QuantityResult, PriceResult | None, ImageSelection, tuple[OutcomeError, ...]]:
    inventory: InventoryPolicy = rule[2]
    images: ImagePolicy = rule[4]
    quantity = compute_quantity(child.stock, inventory) if child.enabled else DISABLED
    price, errors = _price(child, rule[3], on)
    return quantity, price, select_images(child, images), errors


def _available(child: Product, quantity: QuantityResult) -> bool:
    """Whether an item of a set or a bundle can be sold: enabled, in stock, quantity above 0.

    An item out of stock counts as unavailable even when the inventory policy lists a default
    quantity for it (``default_when_out_of_stock``): a set or a bundle is not sold on a default.
    """
    return child.enabled and quantity.quantity > 0 and quantity.rule is not _OUT_OF_STOCK_DEFAULT


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount} {currency}"


def _sum_price(parts: Iterable[tuple[PriceResult, int]], currency: str, code: str) -> PriceResult:
    total = sum((price.amount * count for price, count in parts), Decimal(0))
    places = currency_places(currency)
    amount = total.quantize(Decimal(1).scaleb(-places))
    return PriceResult(
        amount=amount, currency=currency, steps=(Step((code, _money(amount, currency))),)
    )


def evaluate_family(
    config: Configuration,
    family: ProductFamily,
    account_id: str,
    *,
    on: date | None = None,
    listing: Listing | ChannelListing | None = None,
) -> FamilyOutcome:
    """What the account's channel gets for a product family: one listing with its children.

    The template is decided on the parent, by the rule of
    :func:`~policy_engine.evaluate_listing` (the ``listing``'s stored template, else the first
    template whose condition matches the parent). Each child is evaluated under that template's
    policies, with its own steps; the family's quantity and price are aggregated by its kind (see
    the module's documentation and ``docs/families.md``). Every child appears in the outcome once,
    in the family's order. A price that cannot be computed is carried in ``errors``, never
    raised.

    Raises:
        PolicyConfigError: for an unknown account id.
    """
    evaluation = evaluator(config)
    parent = family.parent
    rules = evaluation.rules(account_id)
    rule = evaluation.listing_rule(parent, rules, None if listing is None else listing.template)
    kind = family.kind
    if rule is None or isinstance(rule, Step):
        reason = _NO_TEMPLATE if rule is None else (rule,)
        children = tuple(
            _child(child.sku, _EXCLUDED, _NO_VARIATION, None, None, None, (), reason)
            for child in family.children
        )
        return _family(parent.sku, account_id, kind, None, None, None, None, children, (), reason)
    if kind is FamilyKind.CONFIGURABLE or family.grouped_mode is GroupedMode.OPTIONS:
        outcome = _configurable(family, account_id, rule, on)
        return _within_limits(outcome, family, evaluation.variant_limits[account_id])
    if kind is FamilyKind.GROUPED:
        return _grouped_set(family, account_id, rule, on)
    return _bundle(family, account_id, rule, on)


def _within_limits(
    outcome: FamilyOutcome, family: ProductFamily, limits: tuple[int | None, int | None]
) -> FamilyOutcome:
    """The outcome, with an error for each channel variant limit the listing is over."""
    max_variants, max_attributes = limits
    if max_variants is None and max_attributes is None:
        return outcome
    variants = sum(1 for child in outcome.children if child.role is _VARIANT)
    attributes = len(family.variation_attributes) or 1  # grouped options vary by the option
    reasons: list[Step] = []
    errors: list[OutcomeError] = []
    if max_variants is not None and variants > max_variants:
        step = Step(("variants_over_channel_limit", variants, max_variants))
        reasons.append(step)
        errors.append(OutcomeError(what="variants", code=step.code, message=step.message))
    if max_attributes is not None and attributes > max_attributes:
        step = Step(("variation_attributes_over_channel_limit", attributes, max_attributes))
        reasons.append(step)
        errors.append(OutcomeError(what="variants", code=step.code, message=step.message))
    if not errors:
        return outcome
    return attrs.evolve(
        outcome, errors=outcome.errors + tuple(errors), reasons=outcome.reasons + tuple(reasons)
    )


_NO_TEMPLATE = (Step(("no_matching_template",)),)


def _template_reasons(rule: Rule, parent: Product) -> list[Step]:
    return [*rule[5], Step(("family_template", parent.sku))]


def _configurable(
    family: ProductFamily, account_id: str, rule: Rule, on: date | None
) -> FamilyOutcome:
    """A configurable family, or a grouped one listed as options: each child a variant."""
    parent = family.parent
    inventory: InventoryPolicy = rule[2]
    pricing: PricingPolicy = rule[3]
    image_policy: ImagePolicy = rule[4]
    steps = _template_reasons(rule, parent)
    errors_out: tuple[OutcomeError, ...] = ()
    parent_mode = pricing.price_variation_mode is PriceVariationMode.PARENT
    family_price: PriceResult | None = None
    if parent_mode:
        # Every child carries the parent's price: the children's own prices are not computed.
        family_price, errors_out = _price(parent, pricing, on)
        if family_price is not None:
            steps.append(
                Step(("family_price_parent", _money(family_price.amount, family_price.currency)))
            )
    codes = family.variation_attributes
    single = codes[0] if len(codes) == 1 else None
    grouped = not codes
    children: list[ChildOutcome] = []
    append = children.append
    total = 0
    count = 0
    cheapest: PriceResult | None = None
    for child in family.children:
        sku = child.sku
        enabled = child.enabled
        quantity = compute_quantity(child.stock, inventory) if enabled else DISABLED
        errors: tuple[OutcomeError, ...] = ()
        if parent_mode:
            price = family_price
        else:
            try:
                price = compute_price(child, pricing, on=on)
            except PricingError as error:
                price = None
                errors = (OutcomeError(what="price", code=error.code, message=str(error)),)
        images = select_images(child, image_policy)
        missing: str | None = None
        if grouped:
            variation = _variation({"option": child.name or sku})
        elif single is not None:
            value = child.attributes.get(single)
            if value is None or (type(value) is str and not value.strip()):
                missing = single
            variation = _variation({single: value})
        else:
            attributes = child.attributes
            values = {code: attributes.get(code) for code in codes}
            missing = next((code for code, value in values.items() if _missing(value)), None)
            variation = _variation(values)
        if not enabled:
            reasons: tuple[Step, ...] = (Step(("variant_disabled", sku)),)
            role = _EXCLUDED
        elif missing is not None:
            reasons = (Step(("variant_missing_attribute", sku, missing)),)
            role = _EXCLUDED
        elif price is None and not parent_mode:
            reasons = (Step(("variant_unpriced", sku)),)
            role = _EXCLUDED
        else:
            role = _VARIANT
            count += 1
            listed = quantity.quantity
            total += listed
            reasons = (Step(("variant_listed" if listed else "variant_out_of_stock", sku)),)
            if price is not None and (cheapest is None or price.amount < cheapest.amount):
                cheapest = price
        append(_child(sku, role, variation, quantity, price, images, errors, reasons))

    if not parent_mode and cheapest is not None:
        family_price = cheapest
        steps.append(
            Step(("family_price_lowest_variant", _money(cheapest.amount, cheapest.currency)))
        )
    if not parent.enabled:
        total = 0
        steps.append(Step(("family_quantity_parent_disabled", parent.sku)))
    elif count == 0:
        steps.append(Step(("family_no_variant",)))
    else:
        steps.append(Step(("family_quantity_sum", count, total)))
    if family_price is None and not errors_out:
        errors_out = (
            OutcomeError(
                what="price",
                code="no_variant_price",
                message="no variant of the family has a usable price",
            ),
        )
    return _family(
        parent.sku,
        account_id,
        family.kind,
        rule[1],
        total,
        family_price,
        select_images(parent, image_policy),
        tuple(children),
        errors_out,
        tuple(steps),
    )


def _grouped_set(
    family: ProductFamily, account_id: str, rule: Rule, on: date | None
) -> FamilyOutcome:
    """A grouped family listed as one set of its items."""
    parent = family.parent
    defaults = family.default_quantities
    children: list[ChildOutcome] = []
    sets: int | None = None
    priced: list[tuple[PriceResult, int]] = []
    unpriced = False
    for child in family.children:
        sku = child.sku
        quantity, price, images, errors = _parts(child, rule, on)
        per_set = defaults.get(sku) or 1  # Magento's 0 is "no preset quantity": one per set
        if _available(child, quantity):
            reasons: tuple[Step, ...] = (Step(("component_listed", sku, per_set)),)
            complete = quantity.quantity // per_set
        else:
            reasons = (Step(("component_unavailable", sku)),)
            complete = 0
        sets = complete if sets is None else min(sets, complete)
        if price is None:
            unpriced = True
        else:
            priced.append((price, per_set))
        children.append(
            _child(sku, _COMPONENT, _NO_VARIATION, quantity, price, images, errors, reasons)
        )
    total = 0 if sets is None or not parent.enabled else sets
    steps = _template_reasons(rule, parent)
    steps.append(
        Step(("family_quantity_parent_disabled", parent.sku))
        if not parent.enabled
        else Step(("family_quantity_sets", total))
    )
    price_out: PriceResult | None = None
    errors_out: tuple[OutcomeError, ...] = ()
    if unpriced or not priced:
        errors_out = (
            OutcomeError(
                what="price",
                code="component_unpriced",
                message="an item of the set has no usable price",
            ),
        )
    else:
        price_out = _sum_price(priced, _currency(rule), "family_price_set")
        steps.extend(price_out.steps)
    return _family(
        parent.sku,
        account_id,
        family.kind,
        rule[1],
        total,
        price_out,
        select_images(parent, rule[4]),
        tuple(children),
        errors_out,
        tuple(steps),
    )


def _currency(rule: Rule) -> str:
    pricing: PricingPolicy = rule[3]
    return pricing.currency


def _bundle(family: ProductFamily, account_id: str, rule: Rule, on: date | None) -> FamilyOutcome:
    """A bundle: the fewest bundles its required options supply, priced dynamically or fixed."""
    parent = family.parent
    evaluated = {child.sku: (child, *_parts(child, rule, on)) for child in family.children}
    selected: set[str] = set()
    in_required: dict[str, int] = {}
    # The SKUs of the required options that no selection can fill: they stop the bundle.
    blocking: set[str] = set()
    supply: int | None = None
    cheapest_total: list[tuple[PriceResult, int]] = []
    unpriced_option = False
    for option in family.bundle_options:
        if not option.required:
            selected.update(selection.sku for selection in option.selections)
            continue
        best = 0
        cheapest: tuple[PriceResult, int] | None = None
        for selection in option.selections:
            child, quantity, price, _, _ = evaluated[selection.sku]
            in_required.setdefault(selection.sku, selection.qty)
            if _available(child, quantity):
                best = max(best, quantity.quantity // selection.qty)
            if (
                child.enabled
                and price is not None
                and (
                    cheapest is None
                    or price.amount * selection.qty < cheapest[0].amount * cheapest[1]
                )
            ):
                cheapest = (price, selection.qty)
        supply = best if supply is None else min(supply, best)
        if not best:
            blocking.update(selection.sku for selection in option.selections)
        if cheapest is None:
            unpriced_option = True
        else:
            cheapest_total.append(cheapest)
    children: list[ChildOutcome] = []
    for sku, (child, quantity, price, images, errors) in evaluated.items():
        per_bundle = in_required.get(sku)
        role = _COMPONENT
        if per_bundle is None:
            if sku in selected:
                reasons: tuple[Step, ...] = (Step(("component_optional", sku)),)
            else:
                reasons = (Step(("component_unused", sku)),)
                role = _EXCLUDED
        elif _available(child, quantity):
            reasons = (Step(("component_listed", sku, per_bundle)),)
        elif sku in blocking:
            reasons = (Step(("component_unavailable", sku)),)
        else:
            reasons = (Step(("component_selection_unavailable", sku)),)
        children.append(_child(sku, role, _NO_VARIATION, quantity, price, images, errors, reasons))
    # A valid bundle has a required option, so ``supply`` is set.
    total = supply if supply is not None and parent.enabled else 0
    steps = _template_reasons(rule, parent)
    steps.append(
        Step(("family_quantity_parent_disabled", parent.sku))
        if not parent.enabled
        else Step(("family_quantity_bundles", total))
    )
    price_out: PriceResult | None = None
    errors_out: tuple[OutcomeError, ...] = ()
    if family.dynamic_price:
        if unpriced_option:
            errors_out = (
                OutcomeError(
                    what="price",
                    code="component_unpriced",
                    message="a required bundle option has no selection with a usable price",
                ),
            )
        else:
            price_out = _sum_price(cheapest_total, _currency(rule), "family_price_bundle_dynamic")
            steps.extend(price_out.steps)
    else:
        price_out, errors_out = _price(parent, rule[3], on)
        if price_out is not None:
            steps.append(
                Step(("family_price_bundle_fixed", _money(price_out.amount, price_out.currency)))
            )
    return _family(
        parent.sku,
        account_id,
        family.kind,
        rule[1],
        total,
        price_out,
        select_images(parent, rule[4]),
        tuple(children),
        errors_out,
        tuple(steps),
    )


def evaluate_families(
    config: Configuration,
    families: Iterable[ProductFamily | Mapping[str, Any]],
    *,
    accounts: Iterable[str] | str | None = None,
    on: date | None = None,
) -> Iterator[FamilyOutcome]:
    """Evaluate every family on every account, streaming the outcomes in input order.

    For each family, one :class:`FamilyOutcome` per account (in the order of ``accounts``, all
    of the configuration's by default), each equal to ``evaluate_family(config, family,
    account, on=on)``. The input is read lazily. Never raises for an item: a JSON object is
    loaded as a :class:`ProductFamily` first, and an item that cannot be loaded gives, per
    account, an outcome with no kind and no template and one error ``what="family"``,
    ``code="invalid_family"`` (the message lists every problem with its JSON path), under its
    parent's SKU when it has one, else ``"<item N>"``.

    Raises:
        PolicyConfigError: for an unknown account id (checked before anything is evaluated).
        TypeError: for an ``on`` that is not a date.
    """
    account_ids, day = prepare(config, accounts, on)
    return _family_stream(config, families, account_ids, day)


def _family_stream(
    config: Configuration,
    families: Iterable[ProductFamily | Mapping[str, Any]],
    account_ids: tuple[str, ...],
    on: date,
) -> Iterator[FamilyOutcome]:
    for index, item in enumerate(families):
        yield from family_outcomes(config, item, index, account_ids, on)


define_messages(
    {
        "invalid_family": "the product family could not be loaded: nothing is listed",
        "family_evaluation_failed": "the product family could not be evaluated: nothing is listed",
    }
)

_INVALID_FAMILY = (Step(("invalid_family",)),)
_FAMILY_FAILED = (Step(("family_evaluation_failed",)),)


def family_outcomes(
    config: Configuration,
    item: object,
    index: int,
    account_ids: Iterable[str],
    on: date | None,
    *,
    where: str = "",
) -> Iterator[FamilyOutcome]:
    """One batch item that is a family (or its JSON object): its outcome on each account.

    Never raises: an item that does not load gives, per account, an outcome with one
    ``invalid_family`` error; a failure while evaluating gives ``family_evaluation_failed``.
    An item without a usable parent SKU is named ``<item N{where}>``.
    """
    if type(item) is ProductFamily:
        family = item
    else:
        try:
            if not isinstance(item, Mapping):
                message = f"expected a product family or a JSON object, got {describe(item)} @ $"
                raise PolicyConfigError([message])
            family = structure(item, ProductFamily)
        except PolicyConfigError as error:
            failure = OutcomeError(what="family", code="invalid_family", message=str(error))
            sku = _parent_label(item, index, where)
            for account_id in account_ids:
                yield _family(
                    sku, account_id, None, None, None, None, None, (), (failure,), _INVALID_FAMILY
                )
            return
    for account_id in account_ids:
        try:
            outcome = evaluate_family(config, family, account_id, on=on)
        except Exception as error:  # noqa: BLE001 - one family must never stop a batch
            message = f"{type(error).__name__}: {error}"
            failure = OutcomeError(what="family", code="evaluation_failed", message=message)
            sku = family.parent.sku
            outcome = _family(
                sku, account_id, family.kind, None, None, None, None, (), (failure,), _FAMILY_FAILED
            )
        yield outcome


def _parent_label(item: object, index: int, where: str = "") -> str:
    """The SKU an invalid family item is reported under: its parent's, else its position."""
    parent = item.get("parent") if isinstance(item, Mapping) else None
    sku = parent.get("sku") if isinstance(parent, Mapping) else None
    return sku if type(sku) is str and sku.strip() else f"<item {index}{where}>"
