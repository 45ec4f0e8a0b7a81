"""Strategies for whole configuration documents."""

from __future__ import annotations

from hypothesis import strategies as st

from policy_engine._channels import BUILTIN_CHANNELS
from policy_engine._conditions import Condition
from policy_engine._config import Account, Configuration
from policy_engine._templates import ListingTemplate
from policy_engine.testing._images import image_policies
from policy_engine.testing._inventory import inventory_policies
from policy_engine.testing._orders import order_policies
from policy_engine.testing._pricing import pricing_policies
from policy_engine.testing._sync import sync_policies

__all__ = ["configurations"]

_INVENTORY_IDS = ("stock", "threshold", "msi")
_PRICING_IDS = ("regular", "plus-10", "eur")
_IMAGE_IDS = ("images", "gallery")
_ORDER_IDS = ("orders", "manual")
_TEMPLATE_IDS = ("apparel", "gear", "sale", "rest")


#: Template conditions drawn by default: text and tree forms over products' fields and attributes.
#: Parsing is done once here; generating random conditions for every configuration is slow (pass
#: ``conditions=policy_engine.testing.conditions()`` to fuzz them too).
SAMPLE_CONDITIONS: tuple[Condition, ...] = (
    Condition.parse("price >= 10"),
    Condition.parse("under(categories, 'Men/Tops') and qty > 5"),
    Condition.parse("color in ('Red', 'Blue') or attribute_set == 'Gear'"),
    Condition.parse("not startswith(sku, 'A') and in_stock == True"),
    Condition.parse("lower(name) == None"),
    Condition.from_tree({"field": "visibility", "op": "!=", "value": "not_visible_individually"}),
    Condition.from_tree(
        {
            "any": [
                {"field": "msrp", "op": ">", "value": 50},
                {"field": "size", "op": "in", "value": ["S", None]},
            ]
        }
    ),
)


def _ids(names: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True)


@st.composite
def configurations(
    draw: st.DrawFn,
    *,
    max_templates: int = 3,
    max_accounts: int = 2,
    channels: tuple[str, ...] | None = None,
    catch_all: bool | None = None,
    conditions: st.SearchStrategy[Condition] | None = None,
    scoped_templates: bool | None = None,
) -> Configuration:
    """Valid configurations: every reference resolves, every sync policy suits its accounts.

    ``max_templates`` and ``max_accounts`` bound the lists; ``channels`` restricts the accounts'
    channels to those built-in names; ``catch_all=True`` makes the last template match every
    product (``False``: every template has a condition); ``conditions`` replaces the strategy
    of the other templates' conditions (default: a fixed sample of texts and trees);
    ``scoped_templates=True`` lets templates serve only some accounts (``False``: all accounts).
    """
    condition_strategy = st.sampled_from(SAMPLE_CONDITIONS) if conditions is None else conditions
    inventory_ids = draw(_ids(_INVENTORY_IDS))
    pricing_ids = draw(_ids(_PRICING_IDS))
    image_ids = draw(_ids(_IMAGE_IDS))
    order_ids = draw(st.lists(st.sampled_from(_ORDER_IDS), max_size=2, unique=True))
    template_ids = draw(
        st.lists(st.sampled_from(_TEMPLATE_IDS), min_size=1, max_size=max_templates, unique=True)
    )
    names = sorted(BUILTIN_CHANNELS) if channels is None else list(channels)
    account_count = draw(st.integers(min_value=1, max_value=max_accounts))
    accounts = []
    sync = {}
    for index in range(account_count):
        channel = draw(st.sampled_from(names))
        sync_id = f"sync-{index}"
        sync[sync_id] = draw(sync_policies(channel=draw(st.sampled_from((channel, None)))))
        if sync[sync_id].channel is None and sync[sync_id].fields is not None:
            # A channel-less policy's fields are checked against the account's channel.
            sync[sync_id] = draw(sync_policies(channel=channel, restricted_fields=True))
        accounts.append(
            Account(
                id=f"account-{index}",
                channel=channel,
                sync_policy=sync_id,
                order_policy=draw(st.none() | st.sampled_from(order_ids)) if order_ids else None,
            )
        )
    account_ids = [account.id for account in accounts]
    scoped = draw(st.booleans()) if scoped_templates is None else scoped_templates
    has_catch_all = draw(st.booleans()) if catch_all is None else catch_all
    templates = []
    for index, template_id in enumerate(template_ids):
        last = index == len(template_ids) - 1
        condition = None if (last and has_catch_all) else draw(condition_strategy)
        templates.append(
            ListingTemplate(
                id=template_id,
                title=template_id.title(),
                condition=condition,
                inventory_policy=draw(st.sampled_from(inventory_ids)),
                pricing_policy=draw(st.sampled_from(pricing_ids)),
                image_policy=draw(st.sampled_from(image_ids)),
                accounts=tuple(
                    draw(st.lists(st.sampled_from(account_ids), unique=True, max_size=2))
                    if scoped
                    else ()
                ),
            )
        )
    return Configuration(
        sync_policies=sync,
        inventory_policies={i: draw(inventory_policies()) for i in inventory_ids},
        pricing_policies={i: draw(pricing_policies()) for i in pricing_ids},
        image_policies={i: draw(image_policies()) for i in image_ids},
        order_policies={i: draw(order_policies()) for i in order_ids},
        templates=tuple(templates),
        accounts=tuple(accounts),
    )
