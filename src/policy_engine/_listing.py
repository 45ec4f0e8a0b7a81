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
from collections.abc import Iterable
from datetime import date
from typing import Any

import attrs

from policy_engine._channels import ChannelProfile
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
from policy_engine._models import Product
from policy_engine._orders import OrderPolicy
from policy_engine._pricing import PriceResult, PricingPolicy, compute_price
from policy_engine._serialization import LOAD, load_json_value, unstructure
from policy_engine._steps import Step, define_messages
from policy_engine._sync import ProductChange, SyncDecision, SyncPolicy, decide_sync
from policy_engine._templates import ListingTemplate
from policy_engine._validation import fast_constructor, key_path

__all__ = [
    "LintWarning",
    "ListingChange",
    "ListingOutcome",
    "OutcomeError",
    "Resolution",
    "evaluate_listing",
    "lint",
    "preview_change",
    "resolve",
    "sync_listing",
]

define_messages(
    {
        "template_matched": "listing template {0!r} matches the product",
    }
)

_DISABLED = QuantityResult(
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
    """

    sku: str
    account: str
    template: str | None
    quantity: QuantityResult | None
    price: PriceResult | None
    images: ImageSelection | None
    errors: tuple[OutcomeError, ...]
    reasons: tuple[Step, ...]

    @property
    def ok(self) -> bool:
        """Whether every part was computed."""
        return not self.errors


_outcome = fast_constructor(ListingOutcome)


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

#: What a listing gets from its product and its account's templates: ``(template id, quantity,
#: price, images, errors, reasons)``. Accounts served by the same templates share this part.
ProductPart = tuple[
    str | None,
    QuantityResult | None,
    PriceResult | None,
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

    __slots__ = ("__weakref__", "_config", "account_rules")

    def __init__(self, config: Configuration) -> None:
        by_template = {template.id: _rule(config, template) for template in config.templates}
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
        quantity = compute_quantity(product.stock, inventory) if product.enabled else _DISABLED
        try:
            price: PriceResult | None = compute_price(product, pricing, on=on)
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
    config: Configuration, product: Product, account_id: str, *, on: date | None = None
) -> ListingOutcome:
    """What the account's channel gets for a product: template, quantity, price and images.

    A disabled product lists quantity 0 (rule ``product_disabled``). A price that cannot be
    computed is carried in ``errors`` (with ``price`` ``None``), never raised: one product's
    problem must not stop a batch. For many products use :func:`~policy_engine.evaluate_many`.

    Raises:
        PolicyConfigError: for an unknown account id (a caller error, not a product problem).
    """
    rules = evaluator(config).rules(account_id)
    return _outcome(product.sku, account_id, *Evaluator.product_part(product, on, rules))


def sync_listing(config: Configuration, change: ProductChange, account_id: str) -> SyncDecision:
    """What an account's channel gets for a product change (spec 7.4) under a configuration.

    :func:`~policy_engine.decide_sync` with the account's sync policy, the configuration's
    templates in order, and the account channel's profile (built-in or custom).

    Raises:
        PolicyConfigError: for an unknown account id.
    """
    account = config.account(account_id)
    return decide_sync(
        change,
        config.sync_policies[account.sync_policy],
        templates=config.templates_for(account.id),
        channel_fields=config.channel_profile(account.channel),
    )


# ------------------------------------------------------------------------------------- preview


@attrs.frozen(kw_only=True)
class ListingChange:
    """One difference a configuration edit makes to a listing.

    Attributes:
        sku: The product's SKU.
        account: The account id.
        what: ``template``, ``quantity``, ``price``, ``images`` or ``listing`` (an account added or
            removed).
        before: The value before the edit (JSON-compatible; ``None`` when absent). Loaded from
            JSON, it must be JSON: finite numbers, text keys, within the limits of any value.
        after: The value after the edit.
    """

    sku: str
    account: str
    what: str
    before: Any = attrs.field(eq=True, hash=False, metadata={LOAD: load_json_value})
    after: Any = attrs.field(eq=True, hash=False, metadata={LOAD: load_json_value})


def _summaries(outcome: ListingOutcome | None) -> dict[str, Any]:
    if outcome is None:
        return {"listing": None}
    price: Any
    if outcome.price is not None:
        price = {"amount": str(outcome.price.amount), "currency": outcome.price.currency}
    else:
        price = next(
            ({"error": error.code} for error in outcome.errors if error.what == "price"), None
        )
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


def preview_change(
    old: Configuration,
    new: Configuration,
    products: Iterable[Product],
    *,
    on: date | None = None,
) -> tuple[ListingChange, ...]:
    """Every listing whose outcome differs between two configurations.

    Compares, per product and account (accounts of either configuration), the template, the
    quantity (value and rule), the price (amount and currency, or the error code) and the image
    list. An account only one configuration has appears as a ``listing`` change.
    """
    old_accounts = [account.id for account in old.accounts]
    new_accounts = [account.id for account in new.accounts]
    in_old, in_new = set(old_accounts), set(new_accounts)
    accounts = old_accounts + [a for a in new_accounts if a not in in_old]
    changes: list[ListingChange] = []
    for product in products:
        for account in accounts:
            before = evaluate_listing(old, product, account, on=on) if account in in_old else None
            after = evaluate_listing(new, product, account, on=on) if account in in_new else None
            if before is None or after is None:
                changes.append(
                    ListingChange(
                        sku=product.sku,
                        account=account,
                        what="listing",
                        before=None if before is None else unstructure(before),
                        after=None if after is None else unstructure(after),
                    )
                )
                continue
            old_parts, new_parts = _summaries(before), _summaries(after)
            changes.extend(
                ListingChange(
                    sku=product.sku,
                    account=account,
                    what=what,
                    before=old_parts[what],
                    after=new_parts[what],
                )
                for what in ("template", "quantity", "price", "images")
                if old_parts[what] != new_parts[what]
            )
    return tuple(changes)


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


def lint(config: Configuration) -> tuple[LintWarning, ...]:
    """Warnings for legal but suspicious settings of a configuration.

    Codes: ``threshold_above_below_value`` (more stock would list less),
    ``threshold_below_above_value`` (less stock would list more), ``percentage_with_default``
    (a share of stock combined with listing a default quantity when out of stock),
    ``max_quantity_zero`` (nothing is ever listed), ``gallery_limit_above_channel`` (more images
    than a channel of an account accepts), ``unused_policy`` (nobody refers to it),
    ``unreachable_template`` (a template after one that matches every product),
    ``observed_without_update`` (observed attributes on a policy that never updates).
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
    return tuple(warnings)


def _lint_galleries(config: Configuration) -> list[LintWarning]:
    warnings: list[LintWarning] = []
    channels = sorted({account.channel for account in config.accounts})
    used = {template.image_policy for template in config.templates}
    for policy_id, policy in config.image_policies.items():
        if policy_id not in used:
            continue
        for channel in channels:
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
