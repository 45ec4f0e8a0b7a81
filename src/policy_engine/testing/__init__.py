"""Hypothesis strategies for every policy_engine model, valid by construction.

Install with the ``testing`` extra (``pip install 'policy-engine[testing]'``). The project's own
property tests use exactly these strategies, so a connector fuzzes what the project fuzzes::

    from hypothesis import given
    from policy_engine import compute_quantity
    from policy_engine.testing import inventory_policies, stocks

    @given(stocks(), inventory_policies(threshold=True))
    def test_never_negative(stock, policy):
        assert compute_quantity(stock, policy).quantity >= 0
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without the extra
    msg = (
        "policy_engine.testing needs hypothesis: install the 'testing' extra,"
        " e.g. pip install 'policy-engine[testing]'"
    )
    raise ImportError(msg) from error

from policy_engine.testing._allocation import (
    ACCOUNT_IDS,
    account_allocations,
    allocation_policies,
)
from policy_engine.testing._conditions import condition_texts, condition_trees, conditions
from policy_engine.testing._config import configurations
from policy_engine.testing._families import (
    bundle_options,
    bundle_selections,
    families,
    family_children,
)
from policy_engine.testing._fuzz import (
    condition_expressions,
    condition_token_texts,
    json_values,
    mutated_documents,
)
from policy_engine.testing._images import image_policies
from policy_engine.testing._inventory import inventory_policies, msi_settings, thresholds
from policy_engine.testing._lifecycle import (
    lifecycle_listings,
    lifecycle_sync_policies,
    list_rules,
    relist_rules,
    stop_rules,
    zero_channel_profiles,
)
from policy_engine.testing._models import (
    attribute_values,
    images,
    money,
    products,
    skus,
    source_items,
    stocks,
)
from policy_engine.testing._orders import (
    catalogs,
    channel_orders,
    customer_settings,
    order_customers,
    order_lines,
    order_policies,
    shipment_lines,
    shipments,
)
from policy_engine.testing._price_set import (
    market_pricing_policies,
    price_outputs,
    price_rules,
    whole_endings,
)
from policy_engine.testing._pricing import adjustments, endings, pricing_policies
from policy_engine.testing._stock_sync import (
    activity_records,
    aware_datetimes,
    channel_listings,
    config_listings,
    feed_records,
    log_records,
    stock_events,
    sync_history_records,
)
from policy_engine.testing._sync import (
    listing_templates,
    listings,
    product_changes,
    sync_policies,
    sync_products,
)

__all__ = [
    "ACCOUNT_IDS",
    "account_allocations",
    "activity_records",
    "adjustments",
    "allocation_policies",
    "attribute_values",
    "aware_datetimes",
    "bundle_options",
    "bundle_selections",
    "catalogs",
    "channel_listings",
    "channel_orders",
    "condition_expressions",
    "condition_texts",
    "condition_token_texts",
    "condition_trees",
    "conditions",
    "config_listings",
    "configurations",
    "customer_settings",
    "endings",
    "families",
    "family_children",
    "feed_records",
    "image_policies",
    "images",
    "inventory_policies",
    "json_values",
    "lifecycle_listings",
    "lifecycle_sync_policies",
    "list_rules",
    "listing_templates",
    "listings",
    "log_records",
    "market_pricing_policies",
    "money",
    "msi_settings",
    "mutated_documents",
    "order_customers",
    "order_lines",
    "order_policies",
    "price_outputs",
    "price_rules",
    "pricing_policies",
    "product_changes",
    "products",
    "relist_rules",
    "shipment_lines",
    "shipments",
    "skus",
    "source_items",
    "stock_events",
    "stocks",
    "stop_rules",
    "sync_history_records",
    "sync_policies",
    "sync_products",
    "thresholds",
    "whole_endings",
    "zero_channel_profiles",
]
