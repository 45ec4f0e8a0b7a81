"""One listing, start to finish: resolve its policies and evaluate what the channel gets (spec 8).

A *listing* is a product on an account. :func:`resolve` finds its template (the first whose
condition matches) and its five effective policies; :func:`evaluate_listing` computes quantity,
price and images, carrying a product-level failure (a price that cannot be computed) in the
outcome instead of raising it. :func:`preview_change` compares two configurations over a product
list, so a merchant sees the impact of a policy edit before saving it; :func:`lint` warns about
legal but suspicious settings.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import attrs

from policy_engine._channels import CHANGE_FIELDS, ChannelProfile, SyncField, ZeroQuantity
from policy_engine._config import (
    CHANNEL_GALLERY_LIMITS,
    Account,
    Configuration,
    PolicyKind,
)
from policy_engine._errors import PricingError
from policy_engine._images import ImagePolicy, ImageSelection, select_images
from policy_engine._inventory import (
    InventoryPolicy,
    QuantityResult,
    QuantityRule,
    compute_quantity,
)
from policy_engine._lifecycle import ListingStatus
from policy_engine._limits import MAX_JSON_DEPTH
from policy_engine._models import Product, ProductType, Visibility
from policy_engine._orders import OrderPolicy
from policy_engine._price_set import PriceSet, compute_prices
from policy_engine._pricing import PriceResult, PricingPolicy, compute_price
from policy_engine._serialization import LOAD, load_json_value, unstructure
from policy_engine._stamp import STAMP_FIELD, Stamp
from policy_engine._steps import Step, define_messages
from policy_engine._sync import (
    ChangeKind,
    Listing,
    ProductChange,
    SyncAction,
    SyncDecision,
    SyncPolicy,
    _none,
    decide_sync,
)
from policy_engine._templates import ListingTemplate
from policy_engine._validation import OMIT_NONE, FrozenDict, fast_constructor, key_path

if TYPE_CHECKING:  # pragma: no cover
    from policy_engine._families import FamilyOutcome, ProductFamily
    from policy_engine._stock_sync import ChannelListing

__all__ = [
    "LintWarning",
    "ListingChange",
    "ListingOutcome",
    "OutcomeError",
    "Resolution",
    "evaluate_listing",
    "lifecycle_settings",
    "lifecycle_summary",
    "lint",
    "preview_change",
    "resolve",
    "sent_fields",
    "sync_listing",
]

define_messages(
    {
        "template_matched": "listing template {0!r} matches the product",
        "listing_template": "the listing is assigned to template {0!r}",
    }
)

#: The quantity of a disabled product on every path: 0, rule ``product_disabled``.
DISABLED = QuantityResult(
    quantity=0, rule=QuantityRule.PRODUCT_DISABLED, steps=(Step(("product_disabled",)),)
)


@attrs.frozen(kw_only=True)
class Resolution:
    """A listing's template and effective policies.

    Attributes:
        account: The account.
        channel: The account channel's profile.
        template: The template: the first whose condition matches the product, or ``None``.
        sync_policy: The account's synchronization policy.
        order_policy: The account's order policy, or ``None``.
        inventory_policy: The template's inventory policy (``None`` without a template).
        pricing_policy: The template's pricing policy (``None`` without a template).
        image_policy: The template's image policy (``None`` without a template).
    """

    account: Account
    channel: ChannelProfile
    template: ListingTemplate | None
    sync_policy: SyncPolicy
    order_policy: OrderPolicy | None
    inventory_policy: InventoryPolicy | None
    pricing_policy: PricingPolicy | None
    image_policy: ImagePolicy | None


@attrs.frozen(kw_only=True)
class OutcomeError:
    """A product-level failure of one part of a listing, carried instead of raised.

    Attributes:
        what: The part that failed: ``price``, ``quantity``, ``images`` or ``product``.
        code: A stable code (``missing_price``, ``non_positive_price``, ``invalid_product``…).
        message: What went wrong, for the merchant.
    """

    what: str
    code: str
    message: str


@attrs.frozen(kw_only=True)
class ListingOutcome:
    """Everything a channel gets for one product on one account.

    Attributes:
        sku: The product's SKU.
        account: The account id.
        template: The matching template's id, or ``None`` (then nothing is listed).
        quantity: The quantity result (``None`` without a template).
        price: The price result (``None`` without a template, or when pricing failed).
        images: The image selection (``None`` without a template).
        errors: Each part that failed, with its error.
        reasons: Why the listing has (or lacks) a template.
        prices: Every price of the listing (:class:`~policy_engine.PriceSet`) when the pricing
            policy configures extra prices (``outputs``); ``None`` otherwise, and then left out of
            the outcome's JSON, so an outcome without extra prices dumps as it did before. Its
            main price is ``price``.
        stamp: Which decision this is, and the configuration revision and engine version
            that took it (:class:`~policy_engine.Stamp`), or ``None`` (see
            :func:`~policy_engine.stamped`).
    """

    sku: str
    account: str
    template: str | None
    quantity: QuantityResult | None
    price: PriceResult | None
    images: ImageSelection | None
    errors: tuple[OutcomeError, ...]
    reasons: tuple[Step, ...]
    prices: PriceSet | None = attrs.field(default=None, metadata={OMIT_NONE: True})
    stamp: Stamp | None = attrs.field(default=None, eq=False, metadata=STAMP_FIELD)

    @property
    def ok(self) -> bool:
        """Whether every part was computed."""
        return not self.errors


_make_outcome = fast_constructor(ListingOutcome)


def _outcome(  # noqa: PLR0917 - the fields in order, as the product parts are splatted
    sku: str,
    account: str,
    template: str | None,
    quantity: QuantityResult | None,
    price: PriceResult | PriceSet | None,
    images: ImageSelection | None,
    errors: tuple[OutcomeError, ...],
    reasons: tuple[Step, ...],
) -> ListingOutcome:
    """An outcome from a product part, whose price is a :class:`PriceSet` when the policy
    configures extra prices."""
    if type(price) is PriceSet:
        return _make_outcome(
            sku, account, template, quantity, price.main, images, errors, reasons, price
        )
    return _make_outcome(sku, account, template, quantity, price, images, errors, reasons, None)


def _first_match(templates: Iterable[ListingTemplate], product: Product) -> ListingTemplate | None:
    for template in templates:
        condition = template.condition
        if condition is None or condition.matches(product):
            return template
    return None


def resolve(config: Configuration, product: Product, account_id: str) -> Resolution:
    """The template and the five effective policies of a product on an account.

    Raises:
        PolicyConfigError: for an unknown account id.
    """
    account = config.account(account_id)
    channel = config.channel_profile(account.channel)
    assert channel is not None  # a Configuration only holds accounts on known channels
    template = _first_match(config.templates_for(account.id), product)
    order_policy = (
        config.order_policies[account.order_policy] if account.order_policy is not None else None
    )
    return Resolution(
        account=account,
        channel=channel,
        template=template,
        sync_policy=config.sync_policies[account.sync_policy],
        order_policy=order_policy,
        inventory_policy=(
            config.inventory_policies[template.inventory_policy] if template else None
        ),
        pricing_policy=config.pricing_policies[template.pricing_policy] if template else None,
        image_policy=config.image_policies[template.image_policy] if template else None,
    )


_NO_TEMPLATE = (Step(("no_matching_template",)),)


def _aliases(pricing: PricingPolicy, images: ImagePolicy) -> tuple[tuple[str, str], ...]:
    aliases: list[tuple[str, str]] = []
    if pricing.price_attribute not in CHANGE_FIELDS:
        aliases.append((pricing.price_attribute, "price"))
    main = images.main_image_attribute
    if main is not None and main not in CHANGE_FIELDS:
        aliases.append((main, "images"))
    return tuple(aliases)


#: What a listing gets from its product and its account's templates: ``(template id, quantity,
#: price, images, errors, reasons)``. Accounts served by the same templates share this part.
#: The price is a PriceSet when the policy configures extra prices.
ProductPart = tuple[
    str | None,
    QuantityResult | None,
    PriceResult | PriceSet | None,
    ImageSelection | None,
    tuple[OutcomeError, ...],
    tuple[Step, ...],
]
_NOTHING_LISTED: ProductPart = (None, None, None, None, (), _NO_TEMPLATE)

#: One template, ready to evaluate: its compiled condition's ``matches`` (``None`` for a
#: catch-all), its id, its three resolved policies and its ``template_matched`` reason.
Rule = tuple[Any, str, InventoryPolicy, PricingPolicy, ImagePolicy, tuple[Step]]


def _rule(config: Configuration, template: ListingTemplate) -> Rule:
    condition = template.condition
    return (
        None if condition is None else condition.matches,
        template.id,
        config.inventory_policies[template.inventory_policy],
        config.pricing_policies[template.pricing_policy],
        config.image_policies[template.image_policy],
        (Step(("template_matched", template.id)),),
    )


class Evaluator:
    """Everything :func:`evaluate_listing` needs that depends on the configuration alone.

    Built once per configuration (see :func:`evaluator`): one rule per template (its compiled
    condition, its resolved policy objects, its ``template_matched`` reason) and, for each
    account, the rules of the templates that serve it, in order, up to the first catch-all.
    Accounts served by the same templates share one rule tuple, and every scope holds the same
    rule object for a template, so a batch computes a product's results once per matched
    template, whatever the number of accounts. A call does only the work that depends on the
    product.
    """

    __slots__ = (
        "__weakref__",
        "_config",
        "account_rules",
        "aliases",
        "assigned",
        "decided",
        "variant_limits",
    )

    def __init__(self, config: Configuration) -> None:
        by_template = {template.id: _rule(config, template) for template in config.templates}
        #: Template id -> its rule as a listing's stored template (``listing_template`` reason).
        self.assigned: dict[str, Rule] = {
            template_id: (*rule[:5], (Step(("listing_template", template_id)),))
            for template_id, rule in by_template.items()
        }
        #: Account id -> its channel's (most variants, most variation attributes) per listing.
        self.variant_limits: dict[str, tuple[int | None, int | None]] = {}
        for account in config.accounts:
            profile = config.channel_profile(account.channel)
            assert profile is not None  # a Configuration only holds accounts on known channels
            self.variant_limits[account.id] = (
                profile.max_variants,
                profile.max_variation_attributes,
            )
        #: Template id -> the template without its condition, as the ``templates`` of
        #: :func:`decide_sync` once the template is decided (nothing is matched twice).
        self.decided: dict[str, tuple[ListingTemplate]] = {
            template.id: (attrs.evolve(template, condition=None),) for template in config.templates
        }
        #: Template id -> the attribute codes its effective policies read, each with the change
        #: code it stands for: the pricing policy's price attribute (``price``) and the image
        #: policy's main image attribute (``images``).
        self.aliases: dict[str, tuple[tuple[str, str], ...]] = {
            template_id: _aliases(rule[3], rule[4]) for template_id, rule in by_template.items()
        }
        by_scope: dict[tuple[str, ...], tuple[Rule, ...]] = {}
        account_rules: dict[str, tuple[Rule, ...]] = {}
        for account in config.accounts:
            scope: list[str] = []
            for template in config.templates_for(account.id):
                scope.append(template.id)
                if template.condition is None:
                    break  # later templates are unreachable
            key = tuple(scope)
            rules = by_scope.get(key)
            if rules is None:
                rules = by_scope[key] = tuple(by_template[template_id] for template_id in key)
            account_rules[account.id] = rules
        # Weak: the cache of evaluators must not keep its configurations alive.
        self._config = weakref.ref(config)
        #: Account id -> the rules of the templates serving it.
        self.account_rules = account_rules

    def rules(self, account_id: str) -> tuple[Rule, ...]:
        """The rules of an account, or :class:`PolicyConfigError` for an unknown one."""
        rules = self.account_rules.get(account_id)
        if rules is None:
            config = self._config()
            assert config is not None  # the caller holds the configuration
            config.account(account_id)  # raises, listing the known accounts
            raise AssertionError(account_id)  # pragma: no cover - account() raised
        return rules

    def listing_rule(
        self, product: Product, rules: tuple[Rule, ...], template_id: str | None
    ) -> Rule | Step | None:
        """The one rule that decides a listing's template (see :func:`evaluate_listing`).

        The listing's stored template when it has one (the ``no_template`` step when the
        configuration no longer has it), else the first template of the account that matches.
        """
        if template_id is None:
            return self.match(product, rules)
        rule = self.assigned.get(template_id)
        return Step(("no_template", template_id)) if rule is None else rule

    @staticmethod
    def match(product: Product, rules: tuple[Rule, ...]) -> Rule | None:
        """The rule of the first template whose condition matches the product, or ``None``."""
        for rule in rules:
            matches = rule[0]
            if matches is None or matches(product):
                return rule
        return None

    @staticmethod
    def product_part(product: Product, on: date | None, rules: tuple[Rule, ...]) -> ProductPart:
        """Template, quantity, price and images of a product under an account's rules.

        A price that cannot be computed is carried as an error; nothing else here raises for a
        valid product.
        """
        for rule in rules:
            matches = rule[0]
            if matches is None or matches(product):
                break
        else:
            return _NOTHING_LISTED
        return Evaluator.compute(product, on, rule)

    @staticmethod
    def compute(product: Product, on: date | None, rule: Rule | None) -> ProductPart:
        """Quantity, price and images of a product under a matched template's rule."""
        if rule is None:
            return _NOTHING_LISTED
        _, template_id, inventory, pricing, images, reasons = rule
        quantity = compute_quantity(product.stock, inventory) if product.enabled else DISABLED
        try:
            price: PriceResult | PriceSet | None = (
                compute_prices(product, pricing, on=on)
                if pricing.outputs is not None
                else compute_price(product, pricing, on=on)
            )
        except PricingError as error:
            return (
                template_id,
                quantity,
                None,
                select_images(product, images),
                (OutcomeError(what="price", code=error.code, message=str(error)),),
                reasons,
            )
        return (template_id, quantity, price, select_images(product, images), (), reasons)


# Evaluators by configuration identity. A configuration is immutable, so its evaluator never goes
# stale; the entry is dropped when the configuration is garbage collected. (Identity, not
# equality: hashing a whole configuration would cost more than building its evaluator.)
#
# Thread safety without a lock: every access is one atomic dict operation (get, set, pop), an
# entry is a whole tuple that is never changed, and a hit is trusted only when its weak reference
# still points at the very configuration asked for. Two threads asking for a new configuration at
# once may both build its evaluator (the same one, from immutable data) and one entry wins; a
# stale entry (a dead configuration whose id was reused) is never returned and is replaced.
_EVALUATORS: dict[int, tuple[weakref.ref[Configuration], Evaluator]] = {}


def _forget(key: int, ref: weakref.ref[Configuration]) -> None:
    entry = _EVALUATORS.pop(key, None)
    if entry is not None and entry[0] is not ref:
        # Another configuration's entry under a reused id: put it back (unless a newer one is
        # there already); at worst its evaluator is built again.
        _EVALUATORS.setdefault(key, entry)


def evaluator(config: Configuration) -> Evaluator:
    """The (cached) evaluator of a configuration; safe to call from any thread."""
    key = id(config)
    entry = _EVALUATORS.get(key)
    if entry is not None and entry[0]() is config:
        return entry[1]
    built = Evaluator(config)
    ref = weakref.ref(config, lambda dead: _forget(key, dead))
    _EVALUATORS[key] = (ref, built)
    return built


def evaluate_listing(
    config: Configuration,
    product: Product,
    account_id: str,
    *,
    on: date | None = None,
    listing: Listing | ChannelListing | None = None,
) -> ListingOutcome:
    """What the account's channel gets for a product: template, quantity, price and images.

    The template is decided by one rule, the same in :func:`sync_listing` and
    :func:`~policy_engine.plan_stock_sync`: the ``listing``'s stored template when it has one
    (reason ``listing_template``), else the first of the account's templates whose condition
    matches the product (``template_matched``). A stored template that the configuration no
    longer has gives no template and nothing listed (reason ``no_template`` naming it): the
    listing is not re-matched behind the connector's back. Without a template every part is
    ``None``.

    With the configuration's ``allocation`` section, the quantity is the account's share of
    the product's stock, allocated over every account whose templates match the product (see
    :func:`~policy_engine.allocate_product`).

    A disabled product lists quantity 0 (rule ``product_disabled``). A price that cannot be
    computed is carried in ``errors`` (with ``price`` ``None``), never raised: one product's
    problem must not stop a batch. For many products use :func:`~policy_engine.evaluate_many`.

    Raises:
        PolicyConfigError: for an unknown account id (a caller error, not a product problem).
    """
    evaluation = evaluator(config)
    rules = evaluation.rules(account_id)
    template_id = None if listing is None else listing.template
    if template_id is None:
        part = Evaluator.product_part(product, on, rules)
    else:
        rule = evaluation.listing_rule(product, rules, template_id)
        if isinstance(rule, Step):
            return _outcome(product.sku, account_id, None, None, None, None, (), (rule,))
        part = Evaluator.compute(product, on, rule)
    if config.allocation is not None and part[1] is not None:
        part = _allocated(config, product, account_id, template_id, part)
    return _outcome(product.sku, account_id, *part)


def _allocated(
    config: Configuration,
    product: Product,
    account_id: str,
    template_id: str | None,
    part: ProductPart,
) -> ProductPart:
    """The part with the account's allocated quantity (every account with a template lists)."""
    from policy_engine._allocation import allocated_quantities  # noqa: PLC0415 - a cycle

    listed: dict[str, str | None] = {account.id: None for account in config.accounts}
    listed[account_id] = template_id
    quantities = allocated_quantities(config, product, listed=listed)
    if quantities is None:
        return part
    return (part[0], quantities[account_id], *part[2:])


_NONE, _UPDATE, _PRICE_INVENTORY = (
    SyncAction.NONE,
    SyncAction.UPDATE,
    SyncAction.UPDATE_PRICE_INVENTORY,
)
_QUANTITY, _PRICE = SyncField.QUANTITY, SyncField.PRICE


def sync_listing(
    config: Configuration,
    change: ProductChange,
    account_id: str,
    *,
    on: date | None = None,
) -> SyncDecision:
    """What an account's channel gets for a product change (spec 7.4) under a configuration.

    :func:`~policy_engine.decide_sync` with the account's sync policy, the configuration's
    templates in order, and the account channel's profile (built-in or custom), joined with the
    configuration's policies so that every path agrees with :func:`evaluate_listing`:

    - **One template rule.** The listing's stored template when set (a template the
      configuration no longer has gives ``none``, reason ``no_template``, except that a listed
      product is still delisted), else the first matching template. A listed product that no
      template serves gets ``none`` (``no_matching_template``): there is no price or quantity
      to send.
    - **Effective policies.** A changed code that the template's policies read counts as the
      field it feeds: the pricing policy's ``price_attribute`` (``msrp``) as ``price``, the
      image policy's ``main_image_attribute`` (``marketplace_image``) as ``images``. So Only
      Specific Attributes Syncing never leaves a price stale.
    - **Unchanged values.** When the listing has ``last_quantity`` or ``last_price``, a
      quantity or price that would be sent again unchanged (computed as
      :func:`evaluate_listing` does, on the date ``on``) is dropped from ``fields`` with the
      reason ``unchanged``; a decision left with no field is ``none``. Uploads always send
      every field.

    Raises:
        PolicyConfigError: for an unknown account id.
    """
    account = config.account(account_id)
    policy = config.sync_policies[account.sync_policy]
    channel = config.channel_profile(account.channel)
    product = change.product
    listing = change.listing
    hidden = product.visibility is Visibility.NOT_VISIBLE_INDIVIDUALLY
    if hidden and not policy.sync_not_visible_individually:
        return decide_sync(change, policy)  # rule 1 needs no template
    evaluation = evaluator(config)
    rule = evaluation.listing_rule(
        product, evaluation.rules(account_id), None if listing is None else listing.template
    )
    if isinstance(rule, Step):
        # The stored template is gone: nothing can be computed for this listing.
        decision = decide_sync(change, policy, channel_fields=channel)
        if decision.action is SyncAction.DELIST:
            return decision
        return _none(policy, None, (rule,))
    if rule is None:
        decision = decide_sync(change, policy, channel_fields=channel)
        if decision.action is _UPDATE or decision.action is _PRICE_INVENTORY:
            # Listed, but no template serves it: no price or quantity to send.
            return _none(policy, None, _NO_TEMPLATE)
        return decision
    template_id = rule[1]
    if change.kind is ChangeKind.UPDATED:
        aliases = evaluation.aliases[template_id]
        if aliases:
            changed = change.changed
            extra = {field for code, field in aliases if code in changed} - changed
            if extra:
                change = attrs.evolve(change, changed=changed | extra)
    quantity = None
    if (
        policy._lifecycle
        or (channel is not None and channel.zero_quantity is not ZeroQuantity.SEND)
        or (listing is not None and listing.status is not None)
    ):
        # The lifecycle rules read the listed quantity, as evaluate_listing gives it.
        quantity = compute_quantity(product.stock, rule[2]).quantity if product.enabled else 0
    decision = decide_sync(
        change,
        policy,
        templates=evaluation.decided[template_id],
        channel_fields=channel,
        quantity=quantity,
    )
    if (
        listing is not None
        and (listing.last_quantity is not None or listing.last_price is not None)
        and (decision.action is _UPDATE or decision.action is _PRICE_INVENTORY)
    ):
        return _without_unchanged(decision, product, listing, rule, on)
    return decision


def _without_unchanged(
    decision: SyncDecision, product: Product, listing: Listing, rule: Rule, on: date | None
) -> SyncDecision:
    """The decision without the quantity and price the channel already shows."""
    fields = decision.fields
    unchanged: list[Step] = []
    if _QUANTITY in fields and listing.last_quantity is not None:
        quantity = compute_quantity(product.stock, rule[2]).quantity if product.enabled else 0
        if quantity == listing.last_quantity:
            unchanged.append(Step(("unchanged", f"quantity {quantity}")))
            fields = fields - {_QUANTITY}
    if _PRICE in fields and listing.last_price is not None:
        try:
            price = compute_price(product, rule[3], on=on)
        except PricingError:
            pass  # the price error is evaluate_listing's to report
        else:
            if price.amount == listing.last_price:
                unchanged.append(Step(("unchanged", f"price {price.amount} {price.currency}")))
                fields = fields - {_PRICE}
    if not unchanged:
        return decision
    reasons = decision.reasons + tuple(unchanged)
    if not fields:
        return attrs.evolve(decision, action=_NONE, fields=fields, reasons=reasons, log_feed=False)
    return attrs.evolve(decision, fields=fields, reasons=reasons)


# ----------------------------------------------------------------------------------- lifecycle

#: The states :func:`lifecycle_summary` looks at: none (a new product), then listing statuses.
_LIFECYCLE_STATES: tuple[tuple[str, ListingStatus | None], ...] = (
    ("new", None),
    ("active", ListingStatus.ACTIVE),
    ("stopped", ListingStatus.INACTIVE),
    ("ended", ListingStatus.ENDED),
    ("user_stopped", ListingStatus.USER_STOPPED),
)


def lifecycle_settings(config: Configuration, account_id: str) -> tuple[Any, ...]:
    """What the lifecycle of an account's listings depends on besides the product: its sync
    policy's list, stop and relist rules and minimum shown quantity, and its channel's
    ``zero_quantity``.

    Raises:
        PolicyConfigError: for an unknown account id.
    """
    account = config.account(account_id)
    policy = config.sync_policies[account.sync_policy]
    profile = config.channel_profile(account.channel)
    zero = ZeroQuantity.SEND if profile is None else profile.zero_quantity
    return (
        policy.list_rules,
        policy.stop_rules,
        policy.relist_rules,
        policy.minimum_shown_quantity,
        zero,
    )


def lifecycle_summary(
    config: Configuration, product: Product, account_id: str, *, on: date | None = None
) -> dict[str, str]:
    """What the product's listing on an account does in each lifecycle state, by state.

    For ``new`` (not on the channel: the product's creation), ``active``, ``stopped``
    (``inactive``), ``ended`` and ``user_stopped`` (a quantity change of a listing in that
    state), the action :func:`sync_listing` decides, followed by the first reason's code when
    the action is ``none`` or ``stop``: ``{"new": "upload", "active": "stop: zero_refused",
    "stopped": "none: relist_not_met", ...}``.

    Raises:
        PolicyConfigError: for an unknown account id.
    """
    summary: dict[str, str] = {}
    for name, status in _LIFECYCLE_STATES:
        if status is None:
            change = ProductChange(kind=ChangeKind.CREATED, product=product)
        else:
            change = ProductChange(
                kind=ChangeKind.UPDATED,
                product=product,
                changed=frozenset({"qty"}),
                listing=Listing(status=status),
            )
        decision = sync_listing(config, change, account_id, on=on)
        action = decision.action.value
        if decision.action is _NONE or decision.action is SyncAction.STOP:
            action = f"{action}: {decision.reasons[0].code}"
        summary[name] = action
    return summary


# ------------------------------------------------------------------------------------- preview


def _frozen_json(value: Any, depth: int = 0) -> Any:
    """A JSON value made read-only and hashable: a list becomes a tuple, an object a
    ``FrozenDict``, all the way down (to ``MAX_JSON_DEPTH`` levels, as loading allows)."""
    kind = type(value)
    if kind is str or kind is int or value is None or depth >= MAX_JSON_DEPTH:
        return value
    if kind is list or kind is tuple:
        return tuple([_frozen_json(item, depth + 1) for item in value])
    if isinstance(value, Mapping):
        return FrozenDict({key: _frozen_json(item, depth + 1) for key, item in value.items()})
    return value


@attrs.frozen(kw_only=True)
class ListingChange:
    """One difference a configuration edit makes to a listing.

    Attributes:
        sku: The product's SKU.
        account: The account id.
        what: ``sync`` (the fields sent differ), ``template``, ``quantity``, ``price``,
            ``images`` or ``listing`` (an account added or removed).
        before: The value before the edit (JSON-compatible; ``None`` when absent), kept
            read-only so that a change hashes: an object is a ``FrozenDict``, a list a tuple
            (a list or a dict given is converted; each dumps to JSON as before). Loaded from
            JSON, it must be JSON: finite numbers, text keys, within the limits of any value.
        after: The value after the edit.
    """

    sku: str
    account: str
    what: str
    before: Any = attrs.field(converter=_frozen_json, metadata={LOAD: load_json_value})
    after: Any = attrs.field(converter=_frozen_json, metadata={LOAD: load_json_value})


def _price_summary(
    price: PriceResult | None, errors: tuple[OutcomeError, ...]
) -> dict[str, str] | None:
    """A price as a preview compares it: amount and currency, or the code of its error."""
    if price is not None:
        return {"amount": str(price.amount), "currency": price.currency}
    return next(({"error": error.code} for error in errors if error.what == "price"), None)


def _summaries(outcome: ListingOutcome) -> dict[str, Any]:
    price = _price_summary(outcome.price, outcome.errors)
    return {
        "template": outcome.template,
        "quantity": (
            None
            if outcome.quantity is None
            else {"quantity": outcome.quantity.quantity, "rule": outcome.quantity.rule.value}
        ),
        "price": price,
        "images": None if outcome.images is None else list(outcome.images.images),
    }


#: The listing parts a preview compares, each with the sync field that carries it to the
#: channel (``None``: the template, which matters when any field is sent).
_PARTS: tuple[tuple[str, SyncField | None], ...] = (
    ("template", None),
    ("quantity", SyncField.QUANTITY),
    ("price", SyncField.PRICE),
    ("images", SyncField.IMAGES),
)


def sent_fields(
    config: Configuration, account_id: str, *, listed: bool | None = None
) -> frozenset[SyncField]:
    """The fields an account's sync policy ever sends to its channel.

    ``listed=False``: those of an upload (every enabled field), with Product Upload.
    ``listed=True``: those that keep a listing in sync: the enabled fields other than quantity
    and price with Product Update, and quantity and price with Inventory/Price Sync.
    ``None`` (the default): either. A product that is not visible individually gets none of
    them while the policy does not sync such products (rule 1 of spec 7.4).

    Raises:
        PolicyConfigError: for an unknown account id.
    """
    account = config.account(account_id)
    policy = config.sync_policies[account.sync_policy]
    enabled = policy.enabled_fields(config.channel_profile(account.channel))
    fields: set[SyncField] = set()
    if listed is not True and policy.product_upload:
        fields |= enabled
    if listed is not False and policy.product_update:
        fields |= enabled - {_QUANTITY, _PRICE}
        if policy.inventory_price_sync:
            fields |= enabled
    return frozenset(fields)


def _sent_summary(config: Configuration, account_id: str) -> dict[str, list[str]]:
    return {
        when: sorted(field.value for field in sent_fields(config, account_id, listed=listed))
        for when, listed in (("upload", False), ("update", True))
    }


_NOTHING_SENT: dict[str, list[str]] = {"upload": [], "update": []}


def preview_change(
    old: Configuration,
    new: Configuration,
    products: Iterable[Product],
    *,
    on: date | None = None,
    families: Iterable[ProductFamily] = (),
) -> tuple[ListingChange, ...]:
    """Every listing whose outcome differs between two configurations, as the channel sees it.

    Per product and account (accounts of either configuration), in this order:

    - ``sync``: the fields the account's sync policy would send for the product differ, on
      upload or to keep a listing in sync (see :func:`sent_fields`): an edit of the sync
      policy, such as Inventory/Price Sync turned off. Before and after are
      ``{"upload": [...], "update": [...]}`` with sorted field names. A product that is not
      visible individually is sent nothing while its policy does not sync such products.
    - ``template``, ``quantity`` (value and rule), ``price`` (amount and currency, or the error
      code), ``images`` (the list): reported only when the value differs *and* the new
      configuration sends it (the template when it sends any field): a change the channel
      would never get is not an impact. So raising a buffer reports no hidden child.
    - ``listing``: an account only one configuration has.
    - ``lifecycle``: for an account whose list, stop or relist rules, minimum shown quantity or
      channel ``zero_quantity`` the edit changes, what the product's listing would do in each
      state (see :func:`lifecycle_summary`), when that differs.

    Then the same per product family of ``families``
    (:func:`~policy_engine.evaluate_family`), under the parent's SKU: ``template``,
    ``quantity`` (the listing's), ``price``, ``images`` and ``variants`` (each variant's SKU,
    quantity and price, reported when the quantity or the price is sent).
    """
    old_accounts = [account.id for account in old.accounts]
    new_accounts = [account.id for account in new.accounts]
    in_old, in_new = set(old_accounts), set(new_accounts)
    accounts = old_accounts + [a for a in new_accounts if a not in in_old]
    old_sent = {account: _sent_summary(old, account) for account in old_accounts}
    new_sent = {account: _sent_summary(new, account) for account in new_accounts}
    changes: list[ListingChange] = []

    def compare(
        sku: str,
        visible: Product,
        evaluate: Any,
        summaries: Any,
        parts: tuple[tuple[str, SyncField | None], ...],
    ) -> None:
        for account in accounts:
            before = evaluate(old, account) if account in in_old else None
            after = evaluate(new, account) if account in in_new else None
            if before is None or after is None:
                changes.append(
                    ListingChange(
                        sku=sku,
                        account=account,
                        what="listing",
                        before=None if before is None else unstructure(before),
                        after=None if after is None else unstructure(after),
                    )
                )
                continue
            sent_before = _sent_to(old, old_sent[account], visible, account)
            sent_after = _sent_to(new, new_sent[account], visible, account)
            if sent_before != sent_after:
                changes.append(
                    ListingChange(
                        sku=sku, account=account, what="sync", before=sent_before, after=sent_after
                    )
                )
            if sent_after is _NOTHING_SENT:
                continue
            sent = set(sent_after["upload"]) | set(sent_after["update"])
            old_parts, new_parts = summaries(before), summaries(after)
            changes.extend(
                ListingChange(
                    sku=sku,
                    account=account,
                    what=what,
                    before=old_parts[what],
                    after=new_parts[what],
                )
                for what, field in parts
                if (field is None or field in sent) and old_parts[what] != new_parts[what]
            )

    lifecycle_edited = [
        account
        for account in accounts
        if account in in_old
        and account in in_new
        and lifecycle_settings(old, account) != lifecycle_settings(new, account)
    ]
    for product in products:
        compare(
            product.sku,
            product,
            lambda config, account, product=product: evaluate_listing(
                config, product, account, on=on
            ),
            _summaries,
            _PARTS,
        )
        for account in lifecycle_edited:
            before = lifecycle_summary(old, product, account, on=on)
            after = lifecycle_summary(new, product, account, on=on)
            if before != after:
                changes.append(
                    ListingChange(
                        sku=product.sku,
                        account=account,
                        what="lifecycle",
                        before=before,
                        after=after,
                    )
                )
    family_list = list(families)
    if family_list:
        from policy_engine._families import evaluate_family  # noqa: PLC0415 - a cycle otherwise

        for family in family_list:
            compare(
                family.parent.sku,
                family.parent,
                lambda config, account, family=family: evaluate_family(
                    config, family, account, on=on
                ),
                _family_summaries,
                _FAMILY_PARTS,
            )
    return tuple(changes)


_FAMILY_PARTS: tuple[tuple[str, SyncField | None], ...] = (
    *_PARTS,
    ("variants", SyncField.QUANTITY),
)


def _family_summaries(outcome: FamilyOutcome) -> dict[str, Any]:
    price = _price_summary(outcome.price, outcome.errors)
    return {
        "template": outcome.template,
        "quantity": outcome.quantity,
        "price": price,
        "images": None if outcome.images is None else list(outcome.images.images),
        "variants": [
            {
                "sku": child.sku,
                "quantity": None if child.quantity is None else child.quantity.quantity,
                "price": None if child.price is None else str(child.price.amount),
            }
            for child in outcome.children
            if child.role == "variant"
        ],
    }


def _sent_to(
    config: Configuration, fields: dict[str, list[str]], product: Product, account_id: str
) -> dict[str, list[str]]:
    """What the account's channel gets of this product: nothing for a hidden child (rule 1)."""
    if product.visibility is Visibility.NOT_VISIBLE_INDIVIDUALLY:
        policy = config.sync_policies[config.account(account_id).sync_policy]
        if not policy.sync_not_visible_individually:
            return _NOTHING_SENT
    if not fields["upload"] and not fields["update"]:
        return _NOTHING_SENT
    return fields


# ----------------------------------------------------------------------------------------- lint


@attrs.frozen(kw_only=True)
class LintWarning:
    """A legal but suspicious setting.

    Attributes:
        code: A stable code (see the configuration docs).
        message: What is suspicious and why.
        path: The JSON path of the setting.
    """

    code: str
    message: str
    path: str

    def __str__(self) -> str:
        return f"{self.message} @ {self.path}"


def lint(
    config: Configuration,
    *,
    products: Iterable[Product] | None = None,
    families: Iterable[ProductFamily] | None = None,
) -> tuple[LintWarning, ...]:
    """Warnings for legal but suspicious settings of a configuration.

    With ``families`` (product families), also ``variants_over_channel_limit`` and
    ``variation_attributes_over_channel_limit``: a configurable (or a grouped product listed as
    options) with more variants, or more variation attributes, than the channel of an account it
    would be listed on accepts (``ChannelProfile.max_variants`` and
    ``max_variation_attributes``).

    With ``products`` (a catalog), also ``category_matches_nothing``: a template condition's
    category test (``under(categories, 'Gear')``, ``'Gear' in categories``) that no product's
    categories satisfy, with a hint when the catalog's paths carry a root such as
    ``Default Category/``.

    Codes: ``threshold_above_below_value`` (more stock would list less),
    ``threshold_below_above_value`` (less stock would list more), ``percentage_with_default``
    (a share of stock combined with listing a default quantity when out of stock),
    ``max_quantity_zero`` (nothing is ever listed), ``gallery_limit_above_channel`` (more images
    than a channel of an account accepts), ``unused_policy`` (nobody refers to it),
    ``unreachable_template`` (a template after one that matches every product),
    ``observed_without_update`` (observed attributes on a policy that never updates),
    ``sync_never_sends_quantity`` (an account's sync policy sends no quantity to its channel, so
    its stock goes stale), ``inventory_price_sync_off`` (an account whose sync policy has
    Inventory/Price Sync off: stock and price changes never reach the channel), for the
    ``allocation`` section ``allocation_setting_ignored``, ``allocation_weights_zero``,
    ``allocation_all_reserved`` and ``allocation_location_not_drawn`` (see the allocation
    guide), ``relist_flaps`` (the relist rules relist at a quantity the stop rules stop at, so a
    listing would be stopped and relisted over and over), ``zero_refused_no_stop_rule`` (an
    account's channel refuses 0 (``zero_quantity`` ``stop``) and its sync policy has no stock
    stop rule: the listing is only stopped by the channel's zero rule, once it reached 0).
    """
    warnings: list[LintWarning] = []
    for policy_id, policy in config.inventory_policies.items():
        path = f"$.inventory_policies{key_path(policy_id)}"
        threshold = policy.threshold
        if threshold is not None and threshold.above < threshold.value:
            warnings.append(
                LintWarning(
                    code="threshold_above_below_value",
                    message=(
                        f"above ({threshold.above}) is below the threshold value"
                        f" ({threshold.value}): more stock would list less"
                    ),
                    path=f"{path}.threshold.above",
                )
            )
        if threshold is not None and threshold.below > threshold.value:
            warnings.append(
                LintWarning(
                    code="threshold_below_above_value",
                    message=(
                        f"below ({threshold.below}) is above the threshold value"
                        f" ({threshold.value}): less stock would list more"
                    ),
                    path=f"{path}.threshold.below",
                )
            )
        if policy.percentage != 100 and policy.default_when_out_of_stock:
            warnings.append(
                LintWarning(
                    code="percentage_with_default",
                    message=(
                        f"a {policy.percentage}% share of stock is combined with listing"
                        f" {policy.default_quantity} when out of stock"
                    ),
                    path=f"{path}.default_when_out_of_stock",
                )
            )
        if policy.max_quantity == 0:
            warnings.append(
                LintWarning(
                    code="max_quantity_zero",
                    message="max_quantity 0 lists nothing, ever",
                    path=f"{path}.max_quantity",
                )
            )
    warnings.extend(_lint_galleries(config))
    warnings.extend(_lint_unused(config))
    warnings.extend(_lint_templates(config))
    for policy_id, sync in config.sync_policies.items():
        if sync.observed_attributes is not None and not sync.product_update:
            warnings.append(
                LintWarning(
                    code="observed_without_update",
                    message="observed attributes have no effect while product_update is off",
                    path=f"$.sync_policies{key_path(policy_id)}.observed_attributes",
                )
            )
    warnings.extend(_lint_accounts(config))
    warnings.extend(_lint_allocation(config))
    warnings.extend(_lint_lifecycle(config))
    if products is not None:
        warnings.extend(_lint_categories(config, products))
    if families is not None:
        warnings.extend(_lint_variant_limits(config, families))
    return tuple(warnings)


def _lint_allocation(config: Configuration) -> list[LintWarning]:
    from policy_engine._allocation import allocation_warnings  # noqa: PLC0415 - a cycle

    return [
        LintWarning(code=code, message=message, path=path)
        for code, message, path in allocation_warnings(config)
    ]


def _lint_variant_limits(
    config: Configuration, families: Iterable[ProductFamily]
) -> list[LintWarning]:
    warnings: list[LintWarning] = []
    profiles = [
        (index, account, config.channel_profile(account.channel))
        for index, account in enumerate(config.accounts)
    ]
    for family in families:
        kind = family.parent.type
        listed_as_variants = kind is ProductType.CONFIGURABLE or (
            kind is ProductType.GROUPED and family.grouped_mode == "options"
        )
        if not listed_as_variants:
            continue
        variants = len(family.children)
        attributes = len(family.variation_attributes)
        sku = family.parent.sku
        for index, account, profile in profiles:
            if profile is None:  # pragma: no cover - a Configuration only has known channels
                continue
            path = f"$.accounts[{index}].channel"
            limit = profile.max_variants
            if limit is not None and variants > limit:
                warnings.append(
                    LintWarning(
                        code="variants_over_channel_limit",
                        message=(
                            f"{sku!r} has {variants} variants: channel {profile.name!r} of account"
                            f" {account.id!r} accepts at most {limit} per listing"
                        ),
                        path=path,
                    )
                )
            limit = profile.max_variation_attributes
            if limit is not None and attributes > limit:
                warnings.append(
                    LintWarning(
                        code="variation_attributes_over_channel_limit",
                        message=(
                            f"{sku!r} varies by {attributes} attributes: channel"
                            f" {profile.name!r} of account {account.id!r} accepts at most {limit}"
                        ),
                        path=path,
                    )
                )
    return warnings


def _lint_galleries(config: Configuration) -> list[LintWarning]:
    warnings: list[LintWarning] = []
    all_channels = {account.id: account.channel for account in config.accounts}
    # The channels each image policy reaches: those of the accounts its templates serve.
    reached: dict[str, set[str]] = {}
    for template in config.templates:
        served = template.accounts or tuple(all_channels)
        reached.setdefault(template.image_policy, set()).update(
            all_channels[account] for account in served if account in all_channels
        )
    for policy_id, policy in config.image_policies.items():
        for channel in sorted(reached.get(policy_id, ())):
            limit = CHANNEL_GALLERY_LIMITS.get(channel)
            if limit is not None and policy.gallery_limit > limit:
                warnings.append(
                    LintWarning(
                        code="gallery_limit_above_channel",
                        message=(
                            f"gallery_limit {policy.gallery_limit} is above the {limit} images"
                            f" channel {channel!r} accepts"
                        ),
                        path=f"$.image_policies{key_path(policy_id)}.gallery_limit",
                    )
                )
    return warnings


def _lint_accounts(config: Configuration) -> list[LintWarning]:
    warnings: list[LintWarning] = []
    for index, account in enumerate(config.accounts):
        policy = config.sync_policies[account.sync_policy]
        path = f"$.accounts[{index}].sync_policy"
        if not policy.inventory_price_sync:
            warnings.append(
                LintWarning(
                    code="inventory_price_sync_off",
                    message=(
                        f"Inventory/Price Sync is off in sync policy {account.sync_policy!r} of"
                        f" account {account.id!r}: stock and price changes never reach the"
                        " channel"
                    ),
                    path=path,
                )
            )
        enabled = policy.enabled_fields(config.channel_profile(account.channel))
        if _QUANTITY not in enabled:
            warnings.append(
                LintWarning(
                    code="sync_never_sends_quantity",
                    message=(
                        f"sync policy {account.sync_policy!r} never sends the quantity to"
                        f" account {account.id!r} ({account.channel}): its stock goes stale"
                    ),
                    path=path,
                )
            )
    return warnings


def _lint_lifecycle(config: Configuration) -> list[LintWarning]:
    warnings: list[LintWarning] = []
    for policy_id, policy in config.sync_policies.items():
        stops_at = policy.stop_rules.stops_at()
        relists_from = policy.relist_rules.relists_from()
        if stops_at is not None and policy.relist_rules.automatic and relists_from <= stops_at:
            warnings.append(
                LintWarning(
                    code="relist_flaps",
                    message=(
                        f"the relist rules relist from quantity {relists_from}, but the stop"
                        f" rules stop at quantity {stops_at} or less: a listing at {relists_from}"
                        " would be stopped and relisted over and over (relist from"
                        f" {stops_at + 1} or more)"
                    ),
                    path=f"$.sync_policies{key_path(policy_id)}.relist_rules.min_quantity",
                )
            )
    for index, account in enumerate(config.accounts):
        profile = config.channel_profile(account.channel)
        if profile is None or profile.zero_quantity is not ZeroQuantity.STOP:
            continue
        policy = config.sync_policies[account.sync_policy]
        if policy.stop_rules.stops_at() is None and policy.minimum_shown_quantity is None:
            warnings.append(
                LintWarning(
                    code="zero_refused_no_stop_rule",
                    message=(
                        f"channel {account.channel!r} of account {account.id!r} does not accept"
                        " quantity 0, and sync policy"
                        f" {account.sync_policy!r} has no stop rule for stock: set"
                        " stop_rules.when_out_of_stock or max_quantity"
                    ),
                    path=f"$.accounts[{index}].sync_policy",
                )
            )
    return warnings


def _category_tests(tree: Any) -> Iterable[tuple[str, str]]:
    """The ``(op, path)`` of every category test in a condition tree."""
    if isinstance(tree, dict):
        if tree.get("field") == "categories" and isinstance(tree.get("value"), str):
            op = tree.get("op")
            if op in {"under", "contains"}:
                yield op, tree["value"]
        for value in tree.values():
            yield from _category_tests(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from _category_tests(item)


def _lint_categories(config: Configuration, products: Iterable[Product]) -> list[LintWarning]:
    categories: set[str] = set()
    for product in products:
        categories.update(product.categories)
    warnings: list[LintWarning] = []
    for index, template in enumerate(config.templates):
        if template.condition is None:
            continue
        for op, path in dict.fromkeys(_category_tests(template.condition.to_tree())):
            prefix = path + "/"
            if op == "contains":
                found = path in categories
            else:
                found = any(c == path or c.startswith(prefix) for c in categories)
            if found:
                continue
            test = f"under(categories, {path!r})" if op == "under" else f"{path!r} in categories"
            message = f"{test} in template {template.id!r} matches no product of the catalog"
            rooted = sorted(c for c in categories if c.endswith("/" + path) or ("/" + prefix) in c)
            if rooted:
                root = rooted[0][: rooted[0].index("/" + path) + 1]
                message += f" (its category paths start with {root!r}: {root + path!r})"
            warnings.append(
                LintWarning(
                    code="category_matches_nothing",
                    message=message,
                    path=f"$.templates[{index}].condition",
                )
            )
    return warnings


def _lint_unused(config: Configuration) -> list[LintWarning]:
    return [
        LintWarning(
            code="unused_policy",
            message=f"{kind.label} {policy_id!r} is not used by any template or account",
            path=f"$.{kind.section}{key_path(policy_id)}",
        )
        for kind in PolicyKind
        for policy_id in config.policies(kind)
        if not config.referrers(kind, policy_id)
    ]


def _lint_templates(config: Configuration) -> list[LintWarning]:
    warnings: list[LintWarning] = []
    catch_alls: list[ListingTemplate] = []
    for index, template in enumerate(config.templates):
        # A template is never used when an earlier template without a condition serves every
        # account it serves.
        shadow = next(
            (
                earlier
                for earlier in catch_alls
                if not earlier.accounts
                or (template.accounts and set(template.accounts) <= set(earlier.accounts))
            ),
            None,
        )
        if shadow is not None:
            warnings.append(
                LintWarning(
                    code="unreachable_template",
                    message=(
                        f"template {template.id!r} is never used: template {shadow.id!r} before"
                        " it matches every product"
                    ),
                    path=f"$.templates[{index}]",
                )
            )
        elif template.condition is None:
            catch_alls.append(template)
    return warnings
