"""Listing templates: which products a set of policies applies to (spec sections 6 and 8).

A template joins a query condition (which products) with the ids of the inventory, pricing and
image policies that decide what those products list with. Templates are tried in order; the first
whose condition matches a product is the product's template (spec 7.4, rule 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from policy_engine._conditions import Condition, dump_condition, listing_names, load_condition
from policy_engine._models import Product
from policy_engine._serialization import DUMP, LOAD
from policy_engine._validation import Checked, check, describe, is_str, non_empty

__all__ = ["ListingTemplate"]


def _to_condition(value: Any) -> Any:
    """Accept a condition's text or tree in Python as in JSON; blank text means no condition.

    A text or tree that is not a valid condition raises :class:`~policy_engine.ConditionError`.
    Values of another type are kept for the check to report.
    """
    if value is None or isinstance(value, Condition):
        return value
    if isinstance(value, str):
        return Condition.parse(value) if value.strip() else None
    if isinstance(value, Mapping):
        return Condition.from_tree(value)
    return value


def _is_condition(value: Any) -> str | None:
    if value is None or isinstance(value, Condition):
        return None
    return f"expected a condition (a text or a tree) or null, got {describe(value)}"


def _product_only(value: Any) -> str | None:
    """A template's condition selects products before they have a listing: no listing state."""
    if not isinstance(value, Condition) or not value.reads_listing:
        return None
    names = ", ".join(listing_names(value))
    return (
        f"a listing template's condition tests the product only, but this one names listing"
        f" state ({names}): test listing state in a sync policy's list, stop or relist rules"
    )


def _str_tuple(values: Any) -> Any:
    if type(values) is tuple or isinstance(values, str) or not isinstance(values, Iterable):
        return values
    return tuple(values)


def _account_ids(values: Any) -> str | None:
    if not isinstance(values, tuple):
        return f"expected a list of account ids, got {describe(values)}"
    for value in values:
        if type(value) is not str or not value.strip():
            return f"expected a list of non-empty account ids, got {describe(value)} in it"
    return None


def _policy_id() -> Any:
    return attrs.field(metadata=check(is_str, non_empty))


@attrs.frozen(kw_only=True)
class ListingTemplate(Checked):
    """A listing template: a query condition and the policies its products list with.

    Attributes:
        id: The template's id, referred to by listings and configurations (non-empty).
        title: The template's name (non-empty).
        condition: The query condition selecting the template's products; ``None`` matches every
            product. Given as a :class:`~policy_engine.Condition`, its text
            (``"price > 10 and color == 'Red'"``) or its tree (``{"field": "price", "op": ">",
            "value": 10}``); stored as the form it was given in when dumped.
        inventory_policy: The id of the inventory policy of the template's listings.
        pricing_policy: The id of the pricing policy.
        image_policy: The id of the image policy.
        accounts: The ids of the accounts the template serves; empty (the default) serves every
            account. A connector serving several marketplaces scopes its templates this way, so
            that, say, AliExpress lists in USD and TikTok Shop in EUR.
    """

    id: str = attrs.field(metadata=check(is_str, non_empty))
    title: str = attrs.field(metadata=check(is_str, non_empty))
    condition: Condition | None = attrs.field(
        default=None,
        converter=_to_condition,
        metadata={
            LOAD: load_condition,
            DUMP: dump_condition,
            **check(_is_condition, _product_only),
        },
    )
    inventory_policy: str = _policy_id()
    pricing_policy: str = _policy_id()
    image_policy: str = _policy_id()
    accounts: tuple[str, ...] = attrs.field(
        default=(), converter=_str_tuple, metadata=check(_account_ids)
    )

    def serves(self, account_id: str) -> bool:
        """Whether the template applies to listings of an account."""
        return not self.accounts or account_id in self.accounts

    def matches(self, product: Product) -> bool:
        """Whether the template applies to a product (a template without condition: always)."""
        condition = self.condition
        return condition is None or condition.matches(product)
