"""policy_engine: exact, explainable marketplace policies for store connectors.

Everything public is importable from here; the modules behind it are private.
"""

from __future__ import annotations

from policy_engine._channels import (
    BUILTIN_CHANNELS,
    CHANGE_FIELDS,
    ChannelProfile,
    SyncField,
    channel_fields,
    field_for_change,
    fields_for_changes,
)
from policy_engine._conditions import Condition, ConditionError
from policy_engine._errors import (
    ImageUploadError,
    PolicyConfigError,
    PolicyEngineError,
    PricingError,
)
from policy_engine._images import (
    ImagePolicy,
    ImageSelection,
    ImageSource,
    select_images,
    validate_image_upload,
)
from policy_engine._inventory import (
    InventoryPolicy,
    MsiSettings,
    QuantityResult,
    QuantityRule,
    Threshold,
    compute_quantity,
)
from policy_engine._models import (
    AttributeValue,
    Image,
    Product,
    ProductType,
    SourceItem,
    Stock,
    Visibility,
)
from policy_engine._pricing import (
    Adjustment,
    AdjustmentKind,
    Ending,
    EndingDirection,
    PriceResult,
    PricingPolicy,
    Rounding,
    compute_price,
)
from policy_engine._serialization import structure, unstructure
from policy_engine._steps import Step, message_templates
from policy_engine._sync import (
    ChangeKind,
    Listing,
    ProductChange,
    SyncAction,
    SyncDecision,
    SyncPolicy,
    decide_sync,
    diff_products,
)
from policy_engine._templates import ListingTemplate
from policy_engine._validation import FrozenDict
from policy_engine._version import __version__

__all__ = [
    "BUILTIN_CHANNELS",
    "CHANGE_FIELDS",
    "Adjustment",
    "AdjustmentKind",
    "AttributeValue",
    "ChangeKind",
    "ChannelProfile",
    "Condition",
    "ConditionError",
    "Ending",
    "EndingDirection",
    "FrozenDict",
    "Image",
    "ImagePolicy",
    "ImageSelection",
    "ImageSource",
    "ImageUploadError",
    "InventoryPolicy",
    "Listing",
    "ListingTemplate",
    "MsiSettings",
    "PolicyConfigError",
    "PolicyEngineError",
    "PriceResult",
    "PricingError",
    "PricingPolicy",
    "Product",
    "ProductChange",
    "ProductType",
    "QuantityResult",
    "QuantityRule",
    "Rounding",
    "SourceItem",
    "Step",
    "Stock",
    "SyncAction",
    "SyncDecision",
    "SyncField",
    "SyncPolicy",
    "Threshold",
    "Visibility",
    "__version__",
    "channel_fields",
    "compute_price",
    "compute_quantity",
    "decide_sync",
    "diff_products",
    "field_for_change",
    "fields_for_changes",
    "message_templates",
    "select_images",
    "structure",
    "unstructure",
    "validate_image_upload",
]
