"""What a store change sends to a product family's listing: the listing and its variants.

A family is listed once, on its parent's SKU, with its children as variants (a configurable, a
grouped product listed as options) or as components (a grouped set, a bundle).
:func:`sync_family` decides a change of any member:

- **the parent**: the listing's own decision, as :func:`~policy_engine.sync_listing` takes it for
  the parent (upload, full update, price and inventory update, delist); an upload adds every
  variant;
- **a child**, while the family is listed:

  - a new child that can be a variant → its variant is **added** (``variant_added``);
  - a deleted child, or one that stopped being a variant (disabled, lost its variation
    values, lost its price) → its variant is **removed** (``variant_removed``);
  - a stock or price change → ``update_price_inventory`` of **that variant** (``variant_updated``);
  - a change to other synced fields of a variant → ``update`` of that variant;
  - a change to a component of a set or a bundle → the listing's own quantity and price
    (``component_changed``): they are aggregates of the components.

A child's change while the family is not listed sends nothing (``family_not_listed``): the
family's upload will carry it.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import TYPE_CHECKING

import attrs

from policy_engine._channels import SyncField, fields_for_changes
from policy_engine._errors import PolicyConfigError
from policy_engine._families import (
    ChildRole,
    FamilyKind,
    GroupedMode,
    ProductFamily,
    evaluate_family,
)
from policy_engine._listing import sync_listing
from policy_engine._steps import Step, define_messages
from policy_engine._sync import ChangeKind, ProductChange, SyncAction

if TYPE_CHECKING:  # pragma: no cover
    from policy_engine._config import Configuration

__all__ = ["FamilySyncDecision", "VariantAction", "VariantChange", "sync_family"]


class VariantAction(enum.StrEnum):
    """What a family's listing does with one variant."""

    ADD = "add"
    UPDATE = "update"
    REMOVE = "remove"


define_messages(
    {
        "family_not_listed": (
            "the family {0!r} is not listed on the channel: its upload will carry {1!r}"
        ),
        "variant_added": "{0!r} becomes a variant of the listing",
        "variant_removed": "{0!r} is no longer a variant of the listing",
        "variant_updated": "{0!r}: sends the changed {1}",
        "variant_not_listed": "{0!r} is not a variant of the listing: nothing to send",
        "component_changed": "{0!r} is a component: the listing's {1} is sent",
    }
)


@attrs.frozen(kw_only=True)
class VariantChange:
    """One variant a family decision adds, updates or removes.

    Attributes:
        sku: The child's SKU.
        action: ``add``, ``update`` or ``remove``.
        fields: The fields sent for the variant (empty for ``remove``).
    """

    sku: str
    action: VariantAction
    fields: frozenset[SyncField]


@attrs.frozen(kw_only=True)
class FamilySyncDecision:
    """What a change of a family member sends to the family's listing, and why.

    Attributes:
        action: The listing's action: ``none``, ``upload``, ``update``,
            ``update_price_inventory`` or ``delist``.
        template: The family's template (decided on its parent), or ``None``.
        fields: The listing's own fields sent (its aggregates and the parent's fields); a
            variant's fields are on its :class:`VariantChange`.
        variants: The variants added, updated or removed.
        reasons: Why, in order (never empty).
        log_activity: Whether the host records the decision in its activity log.
        log_feed: Whether the host records the data sent in its feed log.
    """

    action: SyncAction
    template: str | None
    fields: frozenset[SyncField]
    variants: tuple[VariantChange, ...]
    reasons: tuple[Step, ...]
    log_activity: bool
    log_feed: bool


_QUANTITY_PRICE = frozenset({SyncField.QUANTITY, SyncField.PRICE})
_NONE = SyncAction.NONE


def sync_family(
    config: Configuration,
    family: ProductFamily,
    change: ProductChange,
    account_id: str,
    *,
    on: date | None = None,
) -> FamilySyncDecision:
    """Decide what a change of a family member sends to the family's listing on an account.

    ``change.product`` is the member that changed (the parent, or a child as it is now; for a
    deletion, as it was), ``change.listing`` the family's listing on the channel (its stored
    template decides, as everywhere). ``family`` is the family as it is now: a deleted child may
    already be gone from it. See the module documentation for the rules.

    Raises:
        PolicyConfigError: for an unknown account id, or a product that is neither the family's
            parent nor one of its children (nor, for a deletion, a product naming the parent as
            its ``parent_sku``).
    """
    parent = family.parent
    member = change.product
    account = config.account(account_id)
    policy = config.sync_policies[account.sync_policy]
    listing = change.listing
    if member.sku == parent.sku:
        return _parent_change(config, family, change, account_id, on)
    child_skus = {child.sku for child in family.children}
    gone = change.kind is ChangeKind.DELETED
    if member.sku not in child_skus and not (gone and member.parent_sku == parent.sku):
        message = f"{member.sku!r} is neither the parent {parent.sku!r} nor one of its children"
        raise PolicyConfigError([f"{message} @ $.product.sku"])
    if listing is None or not listing.listed:
        return _decision(
            policy.activity_log,
            _NONE,
            None,
            (),
            (Step(("family_not_listed", parent.sku, member.sku)),),
        )
    if not policy.product_update:
        return _decision(
            policy.activity_log, _NONE, listing.template, (), (Step(("update_disabled",)),)
        )
    outcome = evaluate_family(config, family, account_id, on=on, listing=listing)
    template = outcome.template
    if template is None:
        return _decision(policy.activity_log, _NONE, None, (), outcome.reasons)
    enabled = policy.enabled_fields(config.channel_profile(account.channel))
    if not policy.inventory_price_sync:
        enabled = enabled - _QUANTITY_PRICE
    if listing.price_managed_externally:
        enabled = enabled - {SyncField.PRICE}
    child = next((c for c in outcome.children if c.sku == member.sku), None)
    sku = member.sku
    log = policy.activity_log
    if family.kind is not FamilyKind.CONFIGURABLE and not _as_options(family):
        fields = _QUANTITY_PRICE & enabled
        relevant = gone or change.kind is ChangeKind.CREATED
        if not (relevant or _QUANTITY_PRICE & fields_for_changes(change.changed)):
            return _decision(log, _NONE, template, (), (Step(("nothing_changed",)),))
        if not fields:
            blocked = Step(("inventory_price_sync_disabled", "price, quantity"))
            return _decision(log, _NONE, template, (), (blocked,))
        names = ", ".join(sorted(field.value for field in fields))
        return _decision(
            log,
            SyncAction.UPDATE_PRICE_INVENTORY,
            template,
            (),
            (Step(("component_changed", sku, names)),),
            fields=fields,
            feed=policy.feed_log,
        )
    variant_fields = enabled & _VARIANT_FIELDS
    if gone or child is None or child.role is not ChildRole.VARIANT:
        # Removing a variant the listing does not have is harmless: the channel ignores it.
        if change.kind is not ChangeKind.CREATED:
            reasons = (Step(("variant_removed", sku)), *(() if child is None else child.reasons))
            return _decision(
                log,
                SyncAction.UPDATE,
                template,
                (VariantChange(sku=sku, action=VariantAction.REMOVE, fields=frozenset()),),
                reasons,
                feed=policy.feed_log,
            )
        return _decision(log, _NONE, template, (), (Step(("variant_not_listed", sku)),))
    if change.kind is ChangeKind.CREATED or "enabled" in change.changed:
        return _decision(
            log,
            SyncAction.UPDATE,
            template,
            (VariantChange(sku=sku, action=VariantAction.ADD, fields=variant_fields),),
            (Step(("variant_added", sku)),),
            feed=policy.feed_log,
        )
    changed_fields = fields_for_changes(change.changed) & variant_fields
    if not changed_fields:
        return _decision(log, _NONE, template, (), (Step(("nothing_changed",)),))
    names = ", ".join(sorted(field.value for field in changed_fields))
    action = (
        SyncAction.UPDATE_PRICE_INVENTORY
        if changed_fields <= _QUANTITY_PRICE
        else SyncAction.UPDATE
    )
    return _decision(
        log,
        action,
        template,
        (VariantChange(sku=sku, action=VariantAction.UPDATE, fields=changed_fields),),
        (Step(("variant_updated", sku, names)),),
        feed=policy.feed_log,
    )


#: The fields a variant carries of its own.
_VARIANT_FIELDS = frozenset(
    {
        SyncField.QUANTITY,
        SyncField.PRICE,
        SyncField.IMAGES,
        SyncField.IDENTIFIERS,
        SyncField.ATTRIBUTES,
        SyncField.WEIGHT,
    }
)


def _as_options(family: ProductFamily) -> bool:
    return family.kind is FamilyKind.GROUPED and family.grouped_mode is GroupedMode.OPTIONS


def _parent_change(
    config: Configuration,
    family: ProductFamily,
    change: ProductChange,
    account_id: str,
    on: date | None,
) -> FamilySyncDecision:
    """A change of the parent: the listing's own decision; an upload adds every variant."""
    listing = change.listing
    if listing is not None and (
        listing.last_quantity is not None or listing.last_price is not None
    ):
        # The family's last values are its aggregates, not the parent's own: not compared.
        change = attrs.evolve(
            change, listing=attrs.evolve(listing, last_quantity=None, last_price=None)
        )
    decision = sync_listing(config, change, account_id, on=on)
    variants: tuple[VariantChange, ...] = ()
    if decision.action is SyncAction.UPLOAD:
        outcome = evaluate_family(config, family, account_id, on=on, listing=listing)
        fields = decision.fields & _VARIANT_FIELDS
        variants = tuple(
            VariantChange(sku=child.sku, action=VariantAction.ADD, fields=fields)
            for child in outcome.children
            if child.role is ChildRole.VARIANT
        )
    return FamilySyncDecision(
        action=decision.action,
        template=decision.template,
        fields=decision.fields,
        variants=variants,
        reasons=decision.reasons,
        log_activity=decision.log_activity,
        log_feed=decision.log_feed,
    )


def _decision(
    log_activity: bool,
    action: SyncAction,
    template: str | None,
    variants: tuple[VariantChange, ...],
    reasons: tuple[Step, ...],
    *,
    fields: frozenset[SyncField] = frozenset(),
    feed: bool = False,
) -> FamilySyncDecision:
    return FamilySyncDecision(
        action=action,
        template=template,
        fields=fields,
        variants=variants,
        reasons=reasons,
        log_activity=log_activity,
        log_feed=feed and action is not _NONE,
    )
