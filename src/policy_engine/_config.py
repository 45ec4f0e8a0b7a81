"""The configuration document: named policies, listing templates, accounts (spec section 8).

A :class:`Configuration` is what a connector stores: every policy by kind and id, the ordered
listing templates (which select products by condition and name the inventory, pricing and image
policies), and the marketplace accounts (which name the sync and order policies). It is validated
as a whole when built — every reference, every level (a template cannot use a sync policy), every
duplicate id and every sync field against the account's channel — so a configuration that exists
is a working one.

Edits return a new configuration; nothing is ever changed in place.
"""

from __future__ import annotations

import codecs
import enum
import hashlib
import itertools
import json
import math
import os
import re
import tomllib
from array import array
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import attrs

from policy_engine._allocation import AllocationPolicy
from policy_engine._channels import (
    BUILTIN_CHANNELS,
    ChannelProfile,
    SyncField,
    ZeroQuantity,
    is_zero_quantity,
    to_zero_quantity,
)
from policy_engine._errors import PolicyConfigError, PolicyEngineError
from policy_engine._images import ImagePolicy
from policy_engine._inventory import InventoryPolicy
from policy_engine._limits import (
    MAX_ACCOUNTS,
    MAX_CHANNELS,
    MAX_DOCUMENT_BYTES,
    MAX_ID_LENGTH,
    MAX_ITEMS,
    MAX_JSON_DEPTH,
    MAX_POLICIES,
    MAX_TEMPLATES,
)
from policy_engine._orders import OrderPolicy
from policy_engine._price_set import bind_rates, rate_table
from policy_engine._pricing import ExchangeRate, PricingPolicy
from policy_engine._serialization import OMIT_NONE, structure, unstructure
from policy_engine._sync import SyncPolicy
from policy_engine._templates import ListingTemplate
from policy_engine._validation import (
    Checked,
    FrozenDict,
    Problem,
    article,
    at_least,
    check,
    describe,
    is_int_or_none,
    key_path,
    max_items,
    non_empty,
    shown,
    text,
)

__all__ = [
    "CHANNEL_GALLERY_LIMITS",
    "Account",
    "ChannelDefinition",
    "Configuration",
    "PolicyInUseError",
    "PolicyKind",
    "Referrer",
    "TemplateInUseError",
    "assign_policy",
    "config_revision",
    "default_config",
    "dump_config",
    "load_config",
    "move_template",
    "remove_policy",
    "remove_template",
    "set_policy",
    "set_template",
]

CONFIG_VERSION = 1

#: The most gallery images each built-in channel accepts (``lint`` and :func:`default_config`).
CHANNEL_GALLERY_LIMITS: Mapping[str, int] = {
    "aliexpress": 6,
    "tiktok": 9,
    "ebay": 24,
    "amazon": 9,
    "walmart": 10,
    "kaufland": 10,
    "temu": 10,
    "otto": 10,
    "mirakl": 10,
}


class PolicyKind(enum.StrEnum):
    """The five kinds of policy, named as in the configuration document's sections."""

    SYNC = "sync"
    INVENTORY = "inventory"
    PRICING = "pricing"
    IMAGE = "image"
    ORDER = "order"

    @property
    def section(self) -> str:
        """The configuration document's section for this kind (``pricing_policies``…)."""
        return f"{self.value}_policies"

    @property
    def label(self) -> str:
        """How messages name this kind (``pricing policy``)."""
        return f"{self.value} policy"


AnyPolicy: TypeAlias = SyncPolicy | InventoryPolicy | PricingPolicy | ImagePolicy | OrderPolicy

POLICY_CLASSES: Mapping[PolicyKind, type[Any]] = {
    PolicyKind.SYNC: SyncPolicy,
    PolicyKind.INVENTORY: InventoryPolicy,
    PolicyKind.PRICING: PricingPolicy,
    PolicyKind.IMAGE: ImagePolicy,
    PolicyKind.ORDER: OrderPolicy,
}
#: Which policy a template names per field, and which an account names (the assignment levels).
TEMPLATE_FIELDS: Mapping[str, PolicyKind] = {
    "inventory_policy": PolicyKind.INVENTORY,
    "pricing_policy": PolicyKind.PRICING,
    "image_policy": PolicyKind.IMAGE,
}
ACCOUNT_FIELDS: Mapping[str, PolicyKind] = {
    "sync_policy": PolicyKind.SYNC,
    "order_policy": PolicyKind.ORDER,
}


class PolicyInUseError(PolicyEngineError):
    """A policy cannot be removed because templates or accounts still use it.

    Attributes:
        kind: The policy's kind.
        policy_id: The policy's id.
        referrers: Every template or account that uses it.
    """

    kind: PolicyKind
    policy_id: str
    referrers: tuple[Referrer, ...]

    def __init__(self, kind: PolicyKind, policy_id: str, referrers: Iterable[Referrer]) -> None:
        self.kind = kind
        self.policy_id = policy_id
        self.referrers = tuple(referrers)
        names = ", ".join(f"{r.level} {r.id!r}" for r in self.referrers)
        super().__init__(f"{kind.label} {policy_id!r} is used by {names}; reassign them first")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, self.policy_id, self.referrers))


@attrs.frozen(kw_only=True)
class Referrer:
    """A template or account that refers to a policy, or a listing that refers to a template.

    Attributes:
        level: ``template``, ``account`` or ``listing``.
        id: The template's or account's id; for a listing its SKU, its key in the mapping given
            to :func:`remove_template`, or ``#<position>`` in the list given.
        field: The field holding the reference (``pricing_policy``…; ``template`` for a listing).
        account: For a listing that names its account (a
            :class:`~policy_engine.ChannelListing`), that account's id; otherwise ``None``.
    """

    level: str
    id: str
    field: str
    account: str | None = None


def _named(referrer: Referrer) -> str:
    """How a message names a listing: ``listing 'MJ01' on account 'ali-us'``, ``listing #3``."""
    if referrer.id.startswith("#"):
        return f"listing {referrer.id}"
    name = f"listing {referrer.id!r}"
    return name if referrer.account is None else f"{name} on account {referrer.account!r}"


class TemplateInUseError(PolicyEngineError):
    """A listing template cannot be removed because listings still refer to it.

    The template counterpart of :class:`PolicyInUseError`: nothing in a configuration refers to
    a template, but a connector's listings store the template they were assigned
    (``Listing.template``, ``ChannelListing.template``).

    Attributes:
        template_id: The template's id.
        referrers: Every listing that refers to it (``level="listing"``, ``field="template"``).
    """

    template_id: str
    referrers: tuple[Referrer, ...]

    def __init__(self, template_id: str, referrers: Iterable[Referrer]) -> None:
        self.template_id = template_id
        self.referrers = tuple(referrers)
        names = ", ".join(_named(r) for r in self.referrers[:_KNOWN_SHOWN])
        if len(self.referrers) > _KNOWN_SHOWN:
            names += f" and {len(self.referrers) - _KNOWN_SHOWN} more"
        super().__init__(f"template {template_id!r} is used by {names}; reassign them first")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.template_id, self.referrers))


#: Ids (of policies, templates, accounts, channels) are at most ``MAX_ID_LENGTH`` characters long.
_ID = text(MAX_ID_LENGTH, required=True)


@attrs.frozen(kw_only=True)
class Account(Checked):
    """A marketplace account: its channel and the policies assigned at account level.

    Attributes:
        id: The account's id (unique in the configuration).
        channel: The channel's name: a built-in profile or one the configuration defines.
        sync_policy: The id of its synchronization policy.
        order_policy: The id of its order policy, or ``None`` when it imports no orders.
    """

    id: str = attrs.field(metadata=check(_ID))
    channel: str = attrs.field(metadata=check(_ID))
    sync_policy: str = attrs.field(metadata=check(_ID))
    order_policy: str | None = attrs.field(
        default=None, metadata=check(text(MAX_ID_LENGTH, optional=True, required=True))
    )


def _field_set(values: Any) -> Any:
    if isinstance(values, str) or not isinstance(values, Iterable):
        return values
    try:
        return frozenset(SyncField(v) if v in SyncField.__members__.values() else v for v in values)
    except TypeError:
        return values


def _check_fields(values: Any) -> str | None:
    if not isinstance(values, frozenset):
        return f"expected a list of sync fields, got {describe(values)}"
    unknown = [value for value in values if not isinstance(value, SyncField)]
    if unknown:
        # The first by a fixed order, so that the message does not depend on hashing.
        first = min(unknown, key=lambda value: (type(value).__name__, shown(value)))
        allowed = ", ".join(repr(member.value) for member in SyncField)
        return f"unknown sync field {shown(first)} (known: {allowed})"
    return None


@attrs.frozen(kw_only=True)
class ChannelDefinition(Checked):
    """A custom channel profile in a configuration: the listing fields the channel accepts.

    A definition named like a built-in channel replaces its profile (its fields and limits).

    Attributes:
        fields: The sync fields the channel supports (at least one).
        max_variants: The most variants one listing may have, or ``None`` for no limit.
        max_variation_attributes: The most variation attributes one listing may vary by, or
            ``None`` for no limit.
        zero_quantity: What the channel does at quantity 0: ``send`` (the default), ``stop``
            (it refuses 0: the listing is deactivated instead) or ``end`` (0 ends the offer).
    """

    fields: frozenset[SyncField] = attrs.field(
        converter=_field_set, metadata=check(_check_fields, non_empty)
    )
    max_variants: int | None = attrs.field(
        default=None, metadata=check(is_int_or_none, at_least(1))
    )
    max_variation_attributes: int | None = attrs.field(
        default=None, metadata=check(is_int_or_none, at_least(1))
    )
    zero_quantity: ZeroQuantity = attrs.field(
        default=ZeroQuantity.SEND, converter=to_zero_quantity, metadata=check(is_zero_quantity)
    )


def _frozen_mapping(values: Any) -> Any:
    if type(values) is FrozenDict or not isinstance(values, Mapping):
        return values
    return FrozenDict(values)


def _tuple(values: Any) -> Any:
    if (
        type(values) is tuple
        or isinstance(values, str | Mapping)
        or not isinstance(values, Iterable)
    ):
        return values
    return tuple(values)


def _id_problem(key: object, what: str) -> str | None:
    if type(key) is not str or not key:
        return f"{what} must be non-empty strings"
    if len(key) > MAX_ID_LENGTH:
        return f"{what} must be at most {MAX_ID_LENGTH} characters long, got {shown(key)}"
    return None


def _policies_of(cls: type[Any]) -> Any:
    label = cls.__name__

    def _check(values: Any) -> str | None:
        if not isinstance(values, Mapping):
            return f"expected an object of {label} by id, got {describe(values)}"
        for key, value in values.items():
            problem = _id_problem(key, "policy ids")
            if problem is not None:
                return problem
            if not isinstance(value, cls):
                return f"expected a {label} for {key!r}, got {describe(value)}"
        return None

    return _check


def _items_of(cls: type[Any]) -> Any:
    label = cls.__name__

    def _check(values: Any) -> str | None:
        if not isinstance(values, tuple):
            return f"expected a list of {label}, got {describe(values)}"
        for value in values:
            if not isinstance(value, cls):
                return f"expected a {label}, got {describe(value)} in the list"
        return None

    return _check


def _check_channels(values: Any) -> str | None:
    if not isinstance(values, Mapping):
        return f"expected an object of channel definitions, got {describe(values)}"
    for key, value in values.items():
        problem = _id_problem(key, "channel names")
        if problem is not None:
            return problem
        if not isinstance(value, ChannelDefinition):
            return f"expected a channel definition for {key!r}, got {describe(value)}"
    return None


def _check_version(value: Any) -> str | None:
    if type(value) is not int:
        return f"expected an integer, got {describe(value)}"
    if value != CONFIG_VERSION:
        return f"unsupported configuration version {shown(value)} (this library reads version 1)"
    return None


def _is_allocation(value: Any) -> str | None:
    if value is None or isinstance(value, AllocationPolicy):
        return None
    return f"expected an allocation section or null, got {describe(value)}"


#: A message lists at most this many known ids (a configuration may hold a thousand).
_KNOWN_SHOWN = 20


def _known(ids: Iterable[str]) -> str:
    listed = sorted(ids)
    if not listed:
        return "none defined"
    if len(listed) > _KNOWN_SHOWN:
        more = len(listed) - _KNOWN_SHOWN
        return ", ".join(listed[:_KNOWN_SHOWN]) + f" and {more} more"
    return ", ".join(listed)


_POLICY_COUNT = max_items(MAX_POLICIES)


@attrs.frozen(kw_only=True)
class Configuration(Checked):
    """A whole configuration document (``version: 1``).

    Attributes:
        version: The document format version (1).
        sync_policies: Synchronization policies by id (assigned to accounts).
        inventory_policies: Inventory policies by id (assigned to templates).
        pricing_policies: Pricing policies by id (assigned to templates).
        image_policies: Image policies by id (assigned to templates).
        order_policies: Order policies by id (assigned to accounts).
        templates: Listing templates in priority order: a product uses the first that matches.
        accounts: Marketplace accounts.
        channels: Custom channel profiles by name (built-in ones need no definition).
        allocation: How a product's stock is split across the accounts that list it, or
            ``None`` (every account sees the whole stock, as under the ``shared`` strategy).
        exchange_rates: Dated exchange rates, used by the pricing policies that name a
            ``store_currency`` (each pair's rate applies from its ``valid_from`` day on).
    """

    version: int = attrs.field(default=CONFIG_VERSION, metadata=check(_check_version))
    sync_policies: FrozenDict[str, SyncPolicy] = attrs.field(
        factory=FrozenDict,
        converter=_frozen_mapping,
        metadata=check(_POLICY_COUNT, _policies_of(SyncPolicy)),
    )
    inventory_policies: FrozenDict[str, InventoryPolicy] = attrs.field(
        factory=FrozenDict,
        converter=_frozen_mapping,
        metadata=check(_POLICY_COUNT, _policies_of(InventoryPolicy)),
    )
    pricing_policies: FrozenDict[str, PricingPolicy] = attrs.field(
        factory=FrozenDict,
        converter=_frozen_mapping,
        metadata=check(_POLICY_COUNT, _policies_of(PricingPolicy)),
    )
    image_policies: FrozenDict[str, ImagePolicy] = attrs.field(
        factory=FrozenDict,
        converter=_frozen_mapping,
        metadata=check(_POLICY_COUNT, _policies_of(ImagePolicy)),
    )
    order_policies: FrozenDict[str, OrderPolicy] = attrs.field(
        factory=FrozenDict,
        converter=_frozen_mapping,
        metadata=check(_POLICY_COUNT, _policies_of(OrderPolicy)),
    )
    templates: tuple[ListingTemplate, ...] = attrs.field(
        default=(),
        converter=_tuple,
        metadata=check(max_items(MAX_TEMPLATES), _items_of(ListingTemplate)),
    )
    accounts: tuple[Account, ...] = attrs.field(
        default=(), converter=_tuple, metadata=check(max_items(MAX_ACCOUNTS), _items_of(Account))
    )
    channels: FrozenDict[str, ChannelDefinition] = attrs.field(
        factory=FrozenDict,
        converter=_frozen_mapping,
        metadata=check(max_items(MAX_CHANNELS), _check_channels),
    )
    allocation: AllocationPolicy | None = attrs.field(
        default=None, metadata={OMIT_NONE: True, **check(_is_allocation)}
    )
    exchange_rates: tuple[ExchangeRate, ...] = attrs.field(
        default=(),
        converter=_tuple,
        metadata=check(max_items(MAX_ITEMS), _items_of(ExchangeRate)),
    )
    # The templates serving each account, in order; filled on first use (not JSON, not equality).
    _by_account: dict[str, tuple[ListingTemplate, ...]] = attrs.field(
        init=False, eq=False, repr=False, factory=dict
    )

    def templates_for(self, account_id: str) -> tuple[ListingTemplate, ...]:
        """The templates that serve an account, in priority order."""
        templates = self._by_account.get(account_id)
        if templates is None:
            templates = tuple(t for t in self.templates if t.serves(account_id))
            self._by_account[account_id] = templates
        return templates

    def policies(self, kind: PolicyKind | str) -> FrozenDict[str, Any]:
        """The policies of one kind by id."""
        section: FrozenDict[str, Any] = getattr(self, PolicyKind(kind).section)
        return section

    def account(self, account_id: str) -> Account:
        """The account with this id.

        Raises:
            PolicyConfigError: when there is no such account (the message lists the known ones).
        """
        for account in self.accounts:
            if account.id == account_id:
                return account
        known = _known(account.id for account in self.accounts)
        msg = f"unknown account {account_id!r} (known: {known}) @ $.accounts"
        raise PolicyConfigError([msg])

    def template(self, template_id: str) -> ListingTemplate | None:
        """The template with this id, or ``None``."""
        for template in self.templates:
            if template.id == template_id:
                return template
        return None

    def channel_profile(self, name: str) -> ChannelProfile | None:
        """The profile of a channel: the configuration's own definition first, then built-in."""
        custom = self.channels.get(name)
        if custom is not None:
            return ChannelProfile(
                name=name,
                fields=custom.fields,
                max_variants=custom.max_variants,
                max_variation_attributes=custom.max_variation_attributes,
                zero_quantity=custom.zero_quantity,
            )
        return BUILTIN_CHANNELS.get(name)

    def referrers(self, kind: PolicyKind | str, policy_id: str) -> tuple[Referrer, ...]:
        """Every template and account that refers to a policy."""
        kind = PolicyKind(kind)
        found: list[Referrer] = []
        for field, field_kind in TEMPLATE_FIELDS.items():
            if field_kind is kind:
                found.extend(
                    Referrer(level="template", id=t.id, field=field)
                    for t in self.templates
                    if getattr(t, field) == policy_id
                )
        for field, field_kind in ACCOUNT_FIELDS.items():
            if field_kind is kind:
                found.extend(
                    Referrer(level="account", id=a.id, field=field)
                    for a in self.accounts
                    if getattr(a, field) == policy_id
                )
        return tuple(found)

    def _cross_checks(self) -> list[Problem]:
        problems: list[Problem] = []
        problems.extend(self._check_templates())
        problems.extend(self._check_accounts())
        if self.allocation is not None:
            known = (account.id for account in self.accounts)
            problems.extend(self.allocation.reference_problems(known, "$.allocation"))
        problems.extend(self._check_rates())
        return problems

    def __attrs_post_init__(self) -> None:
        Checked.__attrs_post_init__(self)
        # A policy converting with dated rates gets a copy that holds this configuration's rates
        # (not part of the policy's JSON or equality), so compute_price finds them.
        if any(policy.store_currency for policy in self.pricing_policies.values()):
            table = rate_table(self.exchange_rates)
            bound = {
                key: bind_rates(policy, table) if policy.store_currency else policy
                for key, policy in self.pricing_policies.items()
            }
            object.__setattr__(self, "pricing_policies", FrozenDict(bound))

    def _check_rates(self) -> list[Problem]:
        problems: list[Problem] = []
        seen: dict[tuple[str, str, object], int] = {}
        pairs = set()
        for index, rate in enumerate(self.exchange_rates):
            key = (rate.base, rate.quote, rate.valid_from)
            pairs.add(key[:2])
            if key in seen:
                message = (
                    f"duplicate rate {rate.base}->{rate.quote} from {rate.valid_from.isoformat()}"
                    f" (also $.exchange_rates[{seen[key]}])"
                )
                problems.append((f"$.exchange_rates[{index}].valid_from", message))
            else:
                seen[key] = index
        for policy_id, policy in self.pricing_policies.items():
            base = policy.store_currency
            if (
                base is not None
                and base != policy.currency
                and (base, policy.currency) not in pairs
            ):
                message = f"no exchange rate {base}->{policy.currency} in exchange_rates"
                path = f"$.pricing_policies{key_path(policy_id)}.store_currency"
                problems.append((path, message))
        return problems

    def _reference_problem(self, kind: PolicyKind, value: str, path: str) -> Problem | None:
        if value in self.policies(kind):
            return None
        for other in PolicyKind:
            if other is not kind and value in self.policies(other):
                return (
                    path,
                    (
                        f"{_id(value)} is {article(other.label)} {other.label}, not"
                        f" {article(kind.label)} {kind.label} ({_level_hint(other)})"
                    ),
                )
        known = _known(self.policies(kind))
        return (path, f"unknown {kind.label} {_id(value)} (known: {known})")

    def _check_templates(self) -> list[Problem]:
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        known_accounts = {account.id for account in self.accounts}
        for index, template in enumerate(self.templates):
            base = f"$.templates[{index}]"
            if template.id in seen:
                problems.append(
                    (
                        f"{base}.id",
                        (
                            f"duplicate template id {template.id!r}"
                            f" (also $.templates[{seen[template.id]}])"
                        ),
                    )
                )
            else:
                seen[template.id] = index
            for field, kind in TEMPLATE_FIELDS.items():
                problem = self._reference_problem(kind, getattr(template, field), f"{base}.{field}")
                if problem is not None:
                    problems.append(problem)
            problems.extend(
                (
                    f"{base}.accounts[{position}]",
                    f"unknown account {_id(account_id)} (known: {_known(known_accounts)})",
                )
                for position, account_id in enumerate(template.accounts)
                if account_id not in known_accounts
            )
        return problems

    def _check_accounts(self) -> list[Problem]:
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for index, account in enumerate(self.accounts):
            base = f"$.accounts[{index}]"
            if account.id in seen:
                problems.append(
                    (
                        f"{base}.id",
                        (
                            f"duplicate account id {account.id!r}"
                            f" (also $.accounts[{seen[account.id]}])"
                        ),
                    )
                )
            else:
                seen[account.id] = index
            profile = self.channel_profile(account.channel)
            if profile is None:
                known = _known({*BUILTIN_CHANNELS, *self.channels})
                problems.append(
                    (f"{base}.channel", f"unknown channel {account.channel!r} (known: {known})")
                )
            for field, kind in ACCOUNT_FIELDS.items():
                value = getattr(account, field)
                if value is None:
                    continue
                problem = self._reference_problem(kind, value, f"{base}.{field}")
                if problem is not None:
                    problems.append(problem)
            policy = self.sync_policies.get(account.sync_policy)
            if policy is None or profile is None:
                continue
            policy_path = f"$.sync_policies{key_path(account.sync_policy)}"
            if policy.channel is not None and policy.channel != account.channel:
                problems.append(
                    (
                        f"{base}.sync_policy",
                        (
                            f"sync policy {account.sync_policy!r} is for channel"
                            f" {policy.channel!r};"
                            f" account {account.id!r} is on {account.channel!r}"
                        ),
                    )
                )
            elif policy.fields is not None and not policy.fields <= profile.fields:
                unsupported = ", ".join(sorted(f.value for f in policy.fields - profile.fields))
                problems.append(
                    (
                        f"{policy_path}.fields",
                        (
                            f"fields not supported by channel {account.channel!r}"
                            f" of account {account.id!r}: {unsupported}"
                        ),
                    )
                )
        return problems


def _id(value: str) -> str:
    """An id quoted for a message (one over the length limit is cut)."""
    return shown(value, MAX_ID_LENGTH)


def _level_hint(kind: PolicyKind) -> str:
    if kind in (PolicyKind.SYNC, PolicyKind.ORDER):
        return f"{kind.label.replace('policy', 'policies')} are assigned to accounts"
    return f"{kind.label.replace('policy', 'policies')} are assigned to listing templates"


# ------------------------------------------------------------------------------------- loading


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    duplicates = []
    for key, value in pairs:
        if key in result:
            duplicates.append(key)
        result[key] = value
    if duplicates:
        raise _DuplicateKeyError(duplicates)
    return result


class _DuplicateKeyError(ValueError):
    def __init__(self, keys: list[str]) -> None:
        super().__init__(keys)
        self.keys = keys


def _reject_constant(name: str) -> Any:
    msg = f"{name} is not valid JSON"
    raise ValueError(msg)


#: A JSON string literal (escapes included); the inner loops are single-character repeats, so the
#: regular expression runs in linear time and keeps no backtracking state per character.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
#: Opening brackets become +1, closing ones -1 (as signed bytes).
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """The deepest nesting of arrays and objects in JSON text, once it is known to pass ``limit``.

    Returns 0 when the text holds no more than ``limit`` brackets in all (it cannot nest deeper).
    Otherwise the brackets outside string literals are summed as +1/-1 steps at C speed, without
    parsing: a document nested 100,000 levels deep is measured in milliseconds and never reaches
    Python's recursive parser.
    """
    if text.count("[") + text.count("{") <= limit:
        return 0
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    steps = array("b", brackets.encode("ascii").translate(_BRACKET_STEPS))
    return max(itertools.accumulate(steps), default=0)


def _too_large(source: str, size: int) -> PolicyConfigError:
    return PolicyConfigError(
        [f"{source}: the document is larger than {MAX_DOCUMENT_BYTES} bytes ({size}) @ $"]
    )


def parse_json_document(text: str, *, source: str = "<string>") -> Any:
    """Parse JSON text strictly: duplicate keys, NaN and Infinity are errors.

    The text must be at most ``MAX_DOCUMENT_BYTES`` long in UTF-8 and nest at most
    ``MAX_JSON_DEPTH`` levels; both are checked before parsing.

    Raises:
        PolicyConfigError: with the line and column of a syntax error.
    """
    if len(text) > MAX_DOCUMENT_BYTES // 4:  # only then can its UTF-8 form be too large
        size = len(text) if len(text) > MAX_DOCUMENT_BYTES else len(text.encode("utf-8", "replace"))
        if size > MAX_DOCUMENT_BYTES:
            raise _too_large(source, size)
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        msg = f"{source}: the document is nested deeper than {MAX_JSON_DEPTH} levels ({depth}) @ $"
        raise PolicyConfigError([msg])
    try:
        return json.loads(
            text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except RecursionError:  # pragma: no cover - json_depth() keeps the parser shallow
        msg = f"{source}: the document is nested too deeply @ $"
        raise PolicyConfigError([msg]) from None
    except json.JSONDecodeError as error:
        msg = f"{source}: invalid JSON: {error.msg} (line {error.lineno}, column {error.colno}) @ $"
        raise PolicyConfigError([msg]) from None
    except _DuplicateKeyError as error:
        keys = ", ".join(repr(key) for key in error.keys)
        raise PolicyConfigError([f"{source}: duplicate keys {keys} in an object @ $"]) from None
    except ValueError as error:
        raise PolicyConfigError([f"{source}: {error} @ $"]) from None


_READ_SIZE = 1 << 20


def read_document(path: Path) -> str:
    """Read a configuration file as text: at most ``MAX_DOCUMENT_BYTES`` of UTF-8.

    Only one byte more than the limit is ever read, so a huge file (or an endless stream) is
    rejected without being loaded.

    Raises:
        PolicyConfigError: when the file is too large, or is not UTF-8 text (naming the byte).
        OSError: when the file cannot be read.
    """
    chunks: list[bytes] = []
    size = 0
    with path.open("rb") as file:
        stated = os.fstat(file.fileno()).st_size  # 0 for a pipe: then the reads tell
        if stated > MAX_DOCUMENT_BYTES:
            raise _too_large(str(path), stated)
        while size <= MAX_DOCUMENT_BYTES:
            chunk = file.read(_READ_SIZE)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    if size > MAX_DOCUMENT_BYTES:
        raise _too_large(str(path), size)
    data = b"".join(chunks)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        reason = error.reason
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            reason = "a UTF-16 byte-order mark; save the file as UTF-8"
        raise _not_utf8(path, error.start, reason) from error
    if "\x00" in text:  # valid UTF-8, but neither JSON nor TOML: UTF-16 without its mark
        raise _not_utf8(path, data.index(0), "a NUL byte; save the file as UTF-8")
    # A UTF-8 byte-order mark is not part of the document (products files skip it too).
    text = text.removeprefix("\ufeff")
    # Universal newlines, as a file opened in text mode reads them.
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _not_utf8(path: Path, position: int, reason: str) -> PolicyConfigError:
    return PolicyConfigError([f"{path}: not UTF-8 text (byte {position}: {reason}) @ $"])


def load_config(data_or_path: Mapping[str, Any] | str | Path) -> Configuration:
    """Load and validate a configuration from a mapping, or a JSON or TOML file.

    A path ending in ``.toml`` is read as TOML (standard :mod:`tomllib`), anything else as JSON.
    A file is UTF-8 text; a UTF-8 byte-order mark at its start is skipped.
    Everything is validated at once: types, values, references between sections, assignment
    levels, duplicate ids and sync fields against each account's channel.

    A file is at most ``MAX_DOCUMENT_BYTES`` long and a JSON document nests at most
    ``MAX_JSON_DEPTH`` levels; both are checked before the document is parsed (see the limits
    page of the documentation for every limit).

    Raises:
        PolicyConfigError: listing every problem as ``"<message> @ $.path"``; a file that is
            not UTF-8 text is one problem naming the file and the byte where decoding failed.
        OSError: when the file cannot be read.
    """
    if isinstance(data_or_path, str | Path):
        path = Path(data_or_path)
        text = read_document(path)
        if path.suffix.lower() == ".toml":
            try:
                data: Any = tomllib.loads(text)
            except ValueError as error:
                # TOMLDecodeError, or an integer too long for Python to read (over 4,300 digits).
                raise PolicyConfigError([f"{path}: invalid TOML: {error} @ $"]) from None
            except RecursionError:
                msg = f"{path}: the document is nested too deeply @ $"
                raise PolicyConfigError([msg]) from None
        else:
            data = parse_json_document(text, source=str(path))
    else:
        data = data_or_path
    return structure(data, Configuration)


def dump_config(config: Configuration, *, format: str | None = None) -> Any:  # noqa: A002
    """Dump a configuration to JSON-compatible data, or to JSON or TOML text.

    ``format=None`` gives a mapping; ``"json"`` indented JSON text; ``"toml"`` TOML text (nulls are
    left out, since TOML has none and every nullable field defaults to null).
    ``load_config(dump_config(c)) == c``.
    """
    data = unstructure(config)
    if format is None:
        return data
    if format == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if format == "toml":
        # TOML has no null: a condition tree holding one (``{"op": "==", "value": null}``) is
        # written as its equivalent text instead.
        for template, dumped in zip(config.templates, data["templates"], strict=True):
            if template.condition is not None and _holds_null(dumped["condition"]):
                dumped["condition"] = template.condition.to_text()
        return _to_toml(data)
    msg = f"unknown format {format!r}: use None, 'json' or 'toml'"
    raise ValueError(msg)


def config_revision(config: Configuration) -> str:
    """The configuration's revision: a content hash of its canonical JSON.

    ``"sha256:"`` followed by 64 hex digits: the SHA-256 of :func:`dump_config`'s data written
    as canonical JSON (keys sorted, no spaces, UTF-8), each template's condition as its canonical
    tree. Two configurations that compare equal have
    the same revision, whatever file or format they came from, so logs, decisions and a service's
    responses can record which configuration decided.
    """
    data = unstructure(config)
    # A condition dumps as written (text or tree); its canonical tree is what decides equality.
    for template, dumped in zip(config.templates, data["templates"], strict=True):
        if template.condition is not None:
            dumped["condition"] = template.condition.to_tree()
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------- TOML


def _holds_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_holds_null(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_null(item) for item in value)
    return False


def _toml_key(key: str) -> str:
    if key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key):
        return key
    return json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):  # pragma: no cover - configurations hold no such floats
            msg = "TOML cannot hold NaN or infinite configuration values"
            raise ValueError(msg)
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    msg = f"cannot write {type(value).__name__} to TOML"  # pragma: no cover
    raise TypeError(msg)  # pragma: no cover


def _to_toml(data: Mapping[str, Any]) -> str:
    lines: list[str] = []
    for key, value in data.items():
        if value is not None and not isinstance(value, dict | list):
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in data.items():
        if isinstance(value, dict):
            for name, item in value.items():
                lines.append("")
                lines.append(f"[{_toml_key(key)}.{_toml_key(name)}]")
                lines.extend(
                    f"{_toml_key(k)} = {_toml_value(v)}" for k, v in item.items() if v is not None
                )
        elif isinstance(value, list):
            for item in value:
                lines.append("")
                lines.append(f"[[{_toml_key(key)}]]")
                lines.extend(
                    f"{_toml_key(k)} = {_toml_value(v)}" for k, v in item.items() if v is not None
                )
    return "\n".join(lines).lstrip("\n") + "\n"


# --------------------------------------------------------------------------------------- edits


def set_policy(
    config: Configuration, kind: PolicyKind | str, policy_id: str, policy: AnyPolicy
) -> Configuration:
    """A new configuration with a policy added, or replaced when the id exists.

    The result is validated as a whole (for example a replaced sync policy's fields against the
    channels of the accounts using it).
    """
    kind = PolicyKind(kind)
    cls = POLICY_CLASSES[kind]
    if not isinstance(policy, cls):
        msg = (
            f"expected {article(cls.__name__)} {cls.__name__} for {article(kind.label)}"
            f" {kind.label}, got {describe(policy)}"
        )
        raise PolicyConfigError([f"{msg} @ $.{kind.section}{key_path(policy_id)}"])
    policies: dict[str, Any] = dict(config.policies(kind))
    policies[policy_id] = policy
    changes: dict[str, Any] = {kind.section: FrozenDict(policies)}
    return attrs.evolve(config, **changes)


def remove_policy(config: Configuration, kind: PolicyKind | str, policy_id: str) -> Configuration:
    """A new configuration without a policy.

    Raises:
        PolicyInUseError: naming every template and account that still uses it; nothing changes.
        PolicyConfigError: when there is no such policy.
    """
    kind = PolicyKind(kind)
    if policy_id not in config.policies(kind):
        known = _known(config.policies(kind))
        msg = f"unknown {kind.label} {policy_id!r} (known: {known}) @ $.{kind.section}"
        raise PolicyConfigError([msg])
    referrers = config.referrers(kind, policy_id)
    if referrers:
        raise PolicyInUseError(kind, policy_id, referrers)
    policies = {key: value for key, value in config.policies(kind).items() if key != policy_id}
    changes: dict[str, Any] = {kind.section: FrozenDict(policies)}
    return attrs.evolve(config, **changes)


def assign_policy(
    config: Configuration,
    kind: PolicyKind | str,
    policy_id: str,
    *,
    templates: Iterable[str] = (),
    accounts: Iterable[str] = (),
) -> Configuration:
    """A new configuration where many templates or accounts use one policy (a bulk change).

    Inventory, pricing and image policies are assigned to templates; sync and order policies to
    accounts (the assignment levels of spec section 8).

    Raises:
        PolicyConfigError: for an unknown id, or a level the kind is not assigned at.
    """
    kind = PolicyKind(kind)
    template_ids = list(templates)
    account_ids = list(accounts)
    problems: list[str] = []
    template_field = next((f for f, k in TEMPLATE_FIELDS.items() if k is kind), None)
    account_field = next((f for f, k in ACCOUNT_FIELDS.items() if k is kind), None)
    if template_ids and template_field is None:
        problems.append(
            f"{kind.label.replace('policy', 'policies')} are assigned to accounts @ $.templates"
        )
    if account_ids and account_field is None:
        problems.append(
            f"{kind.label.replace('policy', 'policies')} are assigned to listing templates"
            " @ $.accounts"
        )
    known_templates = {t.id for t in config.templates}
    known_accounts = {a.id for a in config.accounts}
    problems.extend(
        f"unknown template {t!r} (known: {_known(known_templates)}) @ $.templates"
        for t in template_ids
        if t not in known_templates
    )
    problems.extend(
        f"unknown account {a!r} (known: {_known(known_accounts)}) @ $.accounts"
        for a in account_ids
        if a not in known_accounts
    )
    if problems:
        raise PolicyConfigError(problems)
    wanted_templates = set(template_ids)
    wanted_accounts = set(account_ids)
    new_templates = tuple(
        attrs.evolve(t, **{template_field: policy_id})
        if template_field is not None and t.id in wanted_templates
        else t
        for t in config.templates
    )
    new_accounts = tuple(
        attrs.evolve(a, **{account_field: policy_id})
        if account_field is not None and a.id in wanted_accounts
        else a
        for a in config.accounts
    )
    return attrs.evolve(config, templates=new_templates, accounts=new_accounts)


class _Assigned(Protocol):
    """A listing record that names its template: ``Listing``, ``ChannelListing`` or the like."""

    @property
    def template(self) -> str | None: ...  # pragma: no cover - a protocol's member


#: What :func:`remove_template` takes as a connector's listing: a record with a ``template``
#: attribute (:class:`~policy_engine.Listing`, :class:`~policy_engine.ChannelListing`, one of the
#: connector's own), or the template id itself (``None`` for a listing without one).
_ListingRecord: TypeAlias = _Assigned | str | None
_NO_TEMPLATE = object()


def _position_problem(index: object, last: int) -> str | None:
    """Why ``index`` is not a position from 0 to ``last`` in the templates, or ``None``."""
    if type(index) is not int:
        return f"expected an integer position from 0 to {last}, got {describe(index)} @ $.templates"
    if not 0 <= index <= last:
        return f"expected a position from 0 to {last}, got {index} @ $.templates"
    return None


def _unknown_template(config: Configuration, template_id: str) -> str:
    known = _known(t.id for t in config.templates)
    return f"unknown template {_id(template_id)} (known: {known}) @ $.templates"


def set_template(
    config: Configuration, template: ListingTemplate, *, index: int | None = None
) -> Configuration:
    """A new configuration with a listing template added, or replaced when its id exists.

    Templates are tried in order, so the position matters. A new template goes last, or at
    ``index`` (0 is first, ``len(config.templates)`` last). A template whose id exists replaces
    that one in its position, or at ``index`` when given (0 to ``len(config.templates) - 1``).
    The result is validated as a whole, and its problems are reported with the paths
    :func:`load_config` would give for the resulting document (an unknown policy id, an account
    in ``accounts`` that does not exist…).

    Raises:
        PolicyConfigError: listing every problem at once.
    """
    given: object = template  # a caller without type checking may pass anything
    problems: list[str] = []
    position = None
    if isinstance(given, ListingTemplate):
        position = next((i for i, t in enumerate(config.templates) if t.id == given.id), None)
    others = [t for i, t in enumerate(config.templates) if i != position]
    where = len(others) if position is None else position
    if index is not None:
        problem = _position_problem(index, len(others))
        if problem is None:
            where = index
        else:
            problems.append(problem)
    if not isinstance(given, ListingTemplate):
        problems.append(f"expected a ListingTemplate, got {describe(given)} @ $.templates[{where}]")
    if problems:
        raise PolicyConfigError(problems)
    others.insert(where, template)
    return attrs.evolve(config, templates=tuple(others))


def move_template(config: Configuration, template_id: str, index: int) -> Configuration:
    """A new configuration with a template moved to ``index`` (0 is first), the others in order.

    Templates are tried in order: a product uses the first that matches it, so moving one
    changes which products it takes. The set of templates does not change.

    Raises:
        PolicyConfigError: for an unknown template (the message lists the known ones) or a
            position outside 0 to ``len(config.templates) - 1``; both at once.
    """
    problems: list[str] = []
    template = config.template(template_id)
    if template is None:
        problems.append(_unknown_template(config, template_id))
    problem = _position_problem(index, len(config.templates) - 1)
    if problem is not None:
        problems.append(problem)
    if problems or template is None:
        raise PolicyConfigError(problems)
    others = [t for t in config.templates if t.id != template_id]
    others.insert(index, template)
    return attrs.evolve(config, templates=tuple(others))


def _listing_referrer(key: str | None, record: object, position: int) -> Referrer:
    """A listing naming a template: by its key, else its SKU, else its position (``#3``)."""
    sku = getattr(record, "sku", None)
    account = getattr(record, "account", None)
    if key is None:
        key = sku if isinstance(sku, str) else f"#{position}"
    return Referrer(
        level="listing",
        id=key,
        field="template",
        account=account if isinstance(account, str) else None,
    )


def remove_template(
    config: Configuration,
    template_id: str,
    *,
    listings: Iterable[_ListingRecord] | Mapping[str, _ListingRecord] = (),
) -> Configuration:
    """A new configuration without a listing template.

    Nothing in a configuration refers to a template; a connector's listings do, since each
    stores the template it was assigned. Pass them as ``listings``: a template any of them
    names is in use and is not removed. ``listings`` is an iterable of
    :class:`~policy_engine.Listing`, :class:`~policy_engine.ChannelListing` (or any record with a
    ``template`` attribute) or template ids, or a mapping from the connector's name for each
    listing (its SKU, its listing id) to one of those. Ended listings count too: one may be
    relisted with the template it names.

    Removing the last template that serves an account is legal, as :func:`load_config` accepts
    an account without templates (an account being set up, or wound down): that account's
    products then match no template.

    Raises:
        TemplateInUseError: naming every listing that still refers to the template; nothing
            changes.
        PolicyConfigError: for an unknown template (the message lists the known ones), or an
            entry of ``listings`` that is neither a listing nor a template id.
    """
    if config.template(template_id) is None:
        raise PolicyConfigError([_unknown_template(config, template_id)])
    if isinstance(listings, Mapping):
        named: Iterable[tuple[str | None, _ListingRecord]] = (
            (str(key), value) for key, value in listings.items()
        )
    else:
        named = ((None, value) for value in listings)
    referrers: list[Referrer] = []
    problems: list[str] = []
    for position, (key, record) in enumerate(named):
        if record is None or isinstance(record, str):
            template: object = record
        else:
            template = getattr(record, "template", _NO_TEMPLATE)
        if template is not None and not isinstance(template, str):
            where = f"$.listings{key_path(key)}" if key is not None else f"$.listings[{position}]"
            problems.append(
                "expected a listing (with a template attribute) or a template id,"
                f" got {describe(record)} @ {where}"
            )
            continue
        if template != template_id:
            continue
        referrers.append(_listing_referrer(key, record, position))
    if problems:
        raise PolicyConfigError(problems)
    if referrers:
        raise TemplateInUseError(template_id, referrers)
    templates = tuple(t for t in config.templates if t.id != template_id)
    return attrs.evolve(config, templates=templates)


# ----------------------------------------------------------------------------------- defaults


def default_config(
    channel: str = "aliexpress", *, account_id: str | None = None, currency: str = "USD"
) -> Configuration:
    """A working configuration for onboarding one account on a built-in channel.

    One policy of each kind (id ``default``), one template matching every product, and one
    account (id ``account_id``, default the channel's name). The sync policy sends every field
    the channel supports; quantities are the store's; prices the regular price in ``currency``.
    """
    if channel not in BUILTIN_CHANNELS:
        known = ", ".join(sorted(BUILTIN_CHANNELS))
        raise PolicyConfigError([f"unknown channel {channel!r} (known: {known}) @ $.channel"])
    account = account_id or channel
    return Configuration(
        sync_policies={"default": SyncPolicy(title=f"{channel} synchronization", channel=channel)},
        inventory_policies={"default": InventoryPolicy(title="Store quantity")},
        pricing_policies={"default": PricingPolicy(title="Regular price", currency=currency)},
        image_policies={
            "default": ImagePolicy(
                title="Store images", gallery_limit=min(10, CHANNEL_GALLERY_LIMITS[channel])
            )
        },
        order_policies={
            "default": OrderPolicy(title="Import orders", import_statuses=("paid",)),
        },
        templates=(
            ListingTemplate(
                id="default",
                title="All products",
                inventory_policy="default",
                pricing_policy="default",
                image_policy="default",
            ),
        ),
        accounts=(
            Account(id=account, channel=channel, sync_policy="default", order_policy="default"),
        ),
    )
