"""JSON Schema of the configuration document and each kind of model: spec sections 1, 8 and 12.

The schema and the loader must agree: every document the loader accepts validates, and the
documents the loader rejects are rejected by the schema too wherever JSON Schema can express the
rule. The invalid documents below are those of the loader tests (``test_inventory``,
``test_pricing``, ``test_images``, ``test_sync``, ``test_orders``, ``test_models``,
``test_config``), each written as a whole document of its kind; every one is checked against the
loader as well, so the tables cannot drift into documents the loader accepts.
"""

from __future__ import annotations

import enum
import functools
import json
import re
import types
import typing
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from policy_engine import (
    BUILTIN_CHANNELS,
    MAX_ATTRIBUTES,
    MAX_ID_LENGTH,
    MAX_IMAGES,
    MAX_INTEGER,
    MAX_NAME_LENGTH,
    MAX_POLICIES,
    MAX_SKU_LENGTH,
    MAX_STRING_LENGTH,
    MAX_TEMPLATES,
    SCHEMA_KINDS,
    Account,
    Adjustment,
    AllocationPolicy,
    ChannelOrder,
    Condition,
    Configuration,
    Ending,
    FrozenDict,
    ImagePolicy,
    InventoryPolicy,
    ListingTemplate,
    OrderPolicy,
    PolicyConfigError,
    PricingPolicy,
    Product,
    ProductFamily,
    Rounding,
    Stock,
    SyncPolicy,
    _schema,
    default_config,
    dump_config,
    json_schema,
    load_config,
    structure,
    unstructure,
)
from policy_engine._serialization import LOAD
from policy_engine.testing import (
    channel_orders,
    condition_texts,
    condition_trees,
    configurations,
    families,
    image_policies,
    inventory_policies,
    listing_templates,
    order_policies,
    pricing_policies,
    products,
    stocks,
    sync_policies,
)

KIND_CLASSES: dict[str, type[Any]] = {
    "configuration": Configuration,
    "sync_policy": SyncPolicy,
    "inventory_policy": InventoryPolicy,
    "pricing_policy": PricingPolicy,
    "image_policy": ImagePolicy,
    "order_policy": OrderPolicy,
    "listing_template": ListingTemplate,
    "account": Account,
    "product": Product,
    "stock": Stock,
    "channel_order": ChannelOrder,
    "product_family": ProductFamily,
    "allocation": AllocationPolicy,
}


@functools.cache
def validator(kind: str) -> Any:
    """A validator of one kind's schema (built once: compiling the schema is the slow part)."""
    return Draft202012Validator(json_schema(kind))


@functools.cache
def def_validator(kind: str, name: str) -> Any:
    """A validator of one ``$defs`` entry of a kind's schema."""
    schema = json_schema(kind)
    return Draft202012Validator({**schema["$defs"][name], "$defs": schema["$defs"]})


def schema_errors(kind: str, document: Any) -> list[str]:
    return [
        f"{error.message} @ {error.json_path}" for error in validator(kind).iter_errors(document)
    ]


def schema_accepts(kind: str, document: Any) -> bool:
    return bool(validator(kind).is_valid(document))


def load(kind: str, document: Any) -> Any:
    if kind == "configuration":
        return load_config(document)
    return structure(document, KIND_CLASSES[kind])


def loader_accepts(kind: str, document: Any) -> bool:
    try:
        load(kind, document)
    except PolicyConfigError:
        return False
    return True


def sample_store() -> dict[str, Any]:
    text = resources.files("policy_engine").joinpath("data/sample_store.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


# ------------------------------------------------------------------------ documents as data


def inventory(**fields: Any) -> dict[str, Any]:
    return {"title": "T", **fields}


def pricing(**fields: Any) -> dict[str, Any]:
    return {"title": "T", **fields}


def images(**fields: Any) -> dict[str, Any]:
    return {"title": "T", **fields}


def sync(**fields: Any) -> dict[str, Any]:
    return {"title": "T", **fields}


def order(**fields: Any) -> dict[str, Any]:
    return {"title": "AliExpress", "import_statuses": ["WAIT_SELLER_SEND_GOODS"], **fields}


def template(**fields: Any) -> dict[str, Any]:
    return {
        "id": "t",
        "title": "T",
        "inventory_policy": "stock",
        "pricing_policy": "regular",
        "image_policy": "images",
        **fields,
    }


def product(**fields: Any) -> dict[str, Any]:
    return {"sku": "A", **fields}


def channel_order(**fields: Any) -> dict[str, Any]:
    return {
        "id": "1",
        "status": "WAIT_SELLER_SEND_GOODS",
        "lines": [{"sku": "MJ01", "qty": 1, "price": "19.90"}],
        **fields,
    }


def family(**fields: Any) -> dict[str, Any]:
    return {"parent": {"sku": "P", "type": "bundle"}, **fields}


def account(**fields: Any) -> dict[str, Any]:
    return {"id": "ali-us", "channel": "aliexpress", "sync_policy": "ali", **fields}


def adjustment(kind: str, amount: Any) -> dict[str, Any]:
    return pricing(adjustments=[{"kind": kind, "amount": amount}])


def document() -> dict[str, Any]:
    """The valid configuration document of ``test_config``."""
    return {
        "version": 1,
        "sync_policies": {
            "ali": {"title": "AliExpress sync", "channel": "aliexpress"},
            "any": {"title": "Generic sync", "fields": ["quantity", "price"]},
        },
        "inventory_policies": {
            "stock": {"title": "Store stock", "buffer": 2},
            "threshold": {
                "title": "Threshold",
                "threshold": {"value": 10, "above": 20, "below": 2},
            },
        },
        "pricing_policies": {
            "regular": {"title": "Regular price"},
            "markup": {
                "title": "Markup",
                "adjustments": [{"kind": "percent_increment", "amount": "10"}],
            },
        },
        "image_policies": {"images": {"title": "Images", "gallery_limit": 5}},
        "order_policies": {"orders": {"title": "Orders", "import_statuses": ["paid"]}},
        "templates": [
            {
                "id": "bags",
                "title": "Bags",
                "condition": "under(categories, 'Gear/Bags')",
                "inventory_policy": "threshold",
                "pricing_policy": "markup",
                "image_policy": "images",
            },
            {
                "id": "rest",
                "title": "Everything else",
                "inventory_policy": "stock",
                "pricing_policy": "regular",
                "image_policy": "images",
            },
        ],
        "accounts": [
            {
                "id": "ali-us",
                "channel": "aliexpress",
                "sync_policy": "ali",
                "order_policy": "orders",
            },
            {"id": "otto-de", "channel": "otto", "sync_policy": "any"},
        ],
    }


def config(*changes: tuple[tuple[str | int, ...], Any]) -> dict[str, Any]:
    """``document()`` with values set (or, for the value ``DELETE``, removed) at paths."""
    data = document()
    for path, value in changes:
        parent: Any = data
        for key in path[:-1]:
            parent = parent[key]
        if value is DELETE:
            del parent[path[-1]]
        elif isinstance(parent, list) and path[-1] == len(parent):
            parent.append(value)
        else:
            parent[path[-1]] = value
    return data


DELETE = object()
PAID = "WAIT_SELLER_SEND_GOODS"
DEEP_TREE: dict[str, Any] = {"field": "price", "op": ">", "value": 1}
for _ in range(60):
    DEEP_TREE = {"not": DEEP_TREE}

#: Documents the loader rejects for a reason JSON Schema expresses: (kind, what, document).
EXPRESSIBLE: list[tuple[str, str, Any]] = [
    # test_families.py
    ("product_family", "missing parent", {"children": []}),
    ("product_family", "parent as a string", family(parent="P")),
    ("product_family", "grouped mode everything", family(grouped_mode="everything")),
    ("product_family", "dynamic price 'yes'", family(dynamic_price="yes")),
    ("product_family", "option without selection", family(bundle_options=[{"selections": []}])),
    (
        "product_family",
        "selection quantity 'many'",
        family(bundle_options=[{"selections": [{"sku": "A", "qty": "many"}]}]),
    ),
    ("product_family", "negative default quantity", family(default_quantities={"A": -1})),
    ("product_family", "blank SKU in default quantities", family(default_quantities={" ": 1})),
    ("product_family", "attribute code twice", family(variation_attributes=["size", "size"])),
    ("product_family", "empty attribute code", family(variation_attributes=[""])),
    ("product_family", "typo bundle_option", family(bundle_option=[])),
    # test_inventory.py
    ("inventory_policy", "empty title", inventory(title="")),
    ("inventory_policy", "blank title", inventory(title=" ")),
    ("inventory_policy", "missing title", {}),
    ("inventory_policy", "negative buffer", inventory(buffer=-1)),
    ("inventory_policy", "boolean percentage", inventory(percentage=True)),
    ("inventory_policy", "percentage 0", inventory(percentage=0)),
    ("inventory_policy", "percentage 101", inventory(percentage=101)),
    ("inventory_policy", "negative default quantity", inventory(default_quantity=-2)),
    ("inventory_policy", "negative max quantity", inventory(max_quantity=-1)),
    ("inventory_policy", "decimal max quantity", inventory(max_quantity=2.5)),
    ("inventory_policy", "typo treshold", inventory(treshold={"value": 1})),
    ("inventory_policy", "threshold missing levels", inventory(threshold={"value": 1})),
    (
        "inventory_policy",
        "threshold level as a string",
        inventory(threshold={"value": 1, "above": "20", "below": 2}),
    ),
    (
        "inventory_policy",
        "negative threshold value",
        inventory(threshold={"value": -1, "above": 0, "below": 0}),
    ),
    (
        "inventory_policy",
        "negative threshold below",
        inventory(threshold={"value": 1, "above": 0, "below": -2}),
    ),
    ("inventory_policy", "MSI source code not a string", inventory(msi={"sources": ["a", 3]})),
    ("inventory_policy", "empty MSI source code", inventory(msi={"sources": [""]})),
    # test_pricing.py
    ("pricing_policy", "percent decrement 150", adjustment("percent_decrement", 150)),
    ("pricing_policy", "percent decrement '150'", adjustment("percent_decrement", "150")),
    ("pricing_policy", "percent decrement 100.01", adjustment("percent_decrement", 100.01)),
    ("pricing_policy", "percent decrement '100.01'", adjustment("percent_decrement", "100.01")),
    ("pricing_policy", "negative amount '-5'", adjustment("fixed_increment", "-5")),
    ("pricing_policy", "negative amount -1", adjustment("fixed_decrement", -1)),
    ("pricing_policy", "unknown kind markup", adjustment("markup", "5")),
    ("pricing_policy", "unknown kind up", adjustment("up", "1")),
    ("pricing_policy", "adjustment without amount", pricing(adjustments=[{"kind": "up"}])),
    ("pricing_policy", "adjustments not a list", pricing(adjustments="none")),
    ("pricing_policy", "boolean VAT", pricing(vat_percent=True)),
    ("pricing_policy", "negative VAT", pricing(vat_percent=-1)),
    ("pricing_policy", "conversion rate 0", pricing(conversion_rate=0)),
    ("pricing_policy", "conversion rate '0.00'", pricing(conversion_rate="0.00")),
    ("pricing_policy", "conversion rate '-0.1'", pricing(conversion_rate="-0.1")),
    ("pricing_policy", "conversion rate 10**12", pricing(conversion_rate=10**12)),
    ("pricing_policy", "conversion rate '10**12'", pricing(conversion_rate="1000000000000")),
    ("pricing_policy", "lower-case currency", pricing(currency="usd")),
    ("pricing_policy", "4-letter currency", pricing(currency="EURO")),
    ("pricing_policy", "currency with a symbol", pricing(currency="U$D")),
    ("pricing_policy", "rounding HALF_UP", pricing(rounding="HALF_UP")),
    ("pricing_policy", "rounding ceiling", pricing(rounding="ceiling")),
    ("pricing_policy", "ending '1.5'", pricing(ending={"value": "1.5"})),
    ("pricing_policy", "ending 1", pricing(ending={"value": 1})),
    ("pricing_policy", "ending '-0.01'", pricing(ending={"value": "-0.01"})),
    (
        "pricing_policy",
        "ending sideways",
        pricing(ending={"value": "0.5", "direction": "sideways"}),
    ),
    ("pricing_policy", "ending direction 1", pricing(ending={"value": "0.5", "direction": 1})),
    ("pricing_policy", "ending as a number", pricing(ending=0.99)),
    ("pricing_policy", "min price NaN", pricing(min_price="NaN")),
    ("pricing_policy", "max price Infinity", pricing(max_price="Infinity")),
    ("pricing_policy", "negative min price", pricing(min_price=-1)),
    ("pricing_policy", "boolean max price", pricing(max_price=True)),
    ("pricing_policy", "typo price_atribute", pricing(price_atribute="msrp")),
    ("pricing_policy", "blank title", pricing(title=" ")),
    ("pricing_policy", "empty price attribute", pricing(price_attribute="")),
    ("pricing_policy", "price attribute 3", pricing(price_attribute=3)),
    ("pricing_policy", "fallback_to_price 1", pricing(fallback_to_price=1)),
    ("pricing_policy", "use_special_price null", pricing(use_special_price=None)),
    # test_images.py
    ("image_policy", "empty title", images(title="")),
    ("image_policy", "blank title", images(title="  ")),
    ("image_policy", "title 3", images(title=3)),
    ("image_policy", "missing title", {"gallery_limit": 5}),
    ("image_policy", "gallery limit 0", images(gallery_limit=0)),
    ("image_policy", "gallery limit 101", images(gallery_limit=101)),
    ("image_policy", "boolean gallery limit", images(gallery_limit=True)),
    ("image_policy", "gallery limit 2.5", images(gallery_limit=2.5)),
    ("image_policy", "gallery limit '5'", images(gallery_limit="5")),
    ("image_policy", "empty main image attribute", images(main_image_attribute="")),
    ("image_policy", "default image 3", images(default_image=3)),
    ("image_policy", "blank default image", images(default_image="  ")),
    ("image_policy", "typo galery_limit", images(galery_limit=5)),
    # test_sync.py
    ("sync_policy", "price sync without update", sync(product_update=False)),
    (
        "sync_policy",
        "fields kaufland does not support",
        sync(channel="kaufland", fields=["quantity", "title", "weight"]),
    ),
    ("sync_policy", "fields otto does not support", sync(channel="otto", fields=["title"])),
    ("sync_policy", "no observed attributes", sync(observed_attributes=[])),
    ("sync_policy", "empty observed attribute", sync(observed_attributes=["color", ""])),
    ("sync_policy", "blank observed attribute", sync(observed_attributes=["color", " "])),
    ("sync_policy", "observed attributes 5", sync(observed_attributes=5)),
    ("sync_policy", "observed attributes as a string", sync(observed_attributes="color")),
    ("sync_policy", "no fields", sync(fields=[])),
    ("sync_policy", "unknown field titel", sync(fields=["quantity", "titel"])),
    ("sync_policy", "fields as a string", sync(fields="quantity")),
    ("sync_policy", "empty channel", sync(channel="")),
    ("sync_policy", "blank title", sync(title=" ")),
    ("sync_policy", "boolean revise threshold", sync(quantity_revise_threshold=True)),
    ("sync_policy", "negative revise threshold", sync(quantity_revise_threshold=-1)),
    ("sync_policy", "feed_log 'yes'", sync(feed_log="yes")),
    ("sync_policy", "typo observed_attribute", sync(observed_attribute=["color"])),
    ("listing_template", "empty id", template(id="")),
    ("listing_template", "pricing policy 5", template(pricing_policy=5)),
    ("listing_template", "condition 5", template(condition=5)),
    ("listing_template", "missing policy", {"id": "t", "title": "T"}),
    (
        "listing_template",
        "condition text over 10,000 characters",
        template(condition="price > 1 and " * 800 + "True"),
    ),
    ("listing_template", "empty condition tree", template(condition={})),
    (
        "listing_template",
        "unknown op gt",
        template(condition={"field": "price", "op": "gt", "value": 1}),
    ),
    ("listing_template", "leaf without op", template(condition={"field": "price", "value": 1})),
    ("listing_template", "leaf without field", template(condition={"op": "==", "value": 1})),
    (
        "listing_template",
        "field and attribute",
        template(condition={"field": "x", "attribute": "y", "op": "==", "value": 1}),
    ),
    (
        "listing_template",
        "empty field name",
        template(condition={"field": "", "op": "==", "value": 1}),
    ),
    (
        "listing_template",
        "lower not a boolean",
        template(condition={"field": "name", "lower": "yes", "op": "==", "value": "a"}),
    ),
    ("listing_template", "two branch keys", template(condition={"all": [], "any": []})),
    ("listing_template", "all not a list", template(condition={"all": {"field": "x"}})),
    (
        "listing_template",
        "unknown key in a leaf",
        template(condition={"field": "price", "op": ">", "value": 1, "note": "x"}),
    ),
    (
        "listing_template",
        "'in' without a list",
        template(condition={"field": "size", "op": "in", "value": "S"}),
    ),
    (
        "listing_template",
        "'<' with a boolean",
        template(condition={"field": "price", "op": "<", "value": True}),
    ),
    (
        "listing_template",
        "'contains' with a list",
        template(condition={"field": "categories", "op": "contains", "value": ["a"]}),
    ),
    (
        "listing_template",
        "'startswith' with a number",
        template(condition={"field": "sku", "op": "startswith", "value": 1}),
    ),
    (
        "listing_template",
        "nested list value",
        template(condition={"field": "size", "op": "in", "value": [["S"]]}),
    ),
    (
        "listing_template",
        "reference with an unknown key",
        template(condition={"field": "x", "op": "==", "value": {"field": "y", "up": True}}),
    ),
    # test_orders.py
    ("order_policy", "empty import status", order(import_statuses=[PAID, ""])),
    ("order_policy", "blank import status", order(import_statuses=[" "])),
    ("order_policy", "no import statuses", order(import_statuses=[])),
    ("order_policy", "import statuses 5", order(import_statuses=5)),
    ("order_policy", "import statuses as a string", order(import_statuses=PAID)),
    ("order_policy", "missing product create", order(missing_product="create")),
    ("order_policy", "missing product 1", order(missing_product=1)),
    ("order_policy", "prefix with a blank", order(order_id_prefix="ALI EXP!")),
    ("order_policy", "prefix of 21 characters", order(order_id_prefix="A" * 21)),
    ("order_policy", "non-ASCII prefix", order(order_id_prefix="ÄLI")),
    ("order_policy", "prefix 5", order(order_id_prefix=5)),
    ("order_policy", "prefix ending in a newline", order(order_id_prefix="ALI\n")),
    ("order_policy", "order id digits 0", order(order_id_digits=0)),
    ("order_policy", "order id digits 13", order(order_id_digits=13)),
    ("order_policy", "boolean order id digits", order(order_id_digits=True)),
    ("order_policy", "mode same without email", order(customer={"mode": "same"})),
    ("order_policy", "email without @", order(customer={"mode": "same", "email": "orders"})),
    (
        "order_policy",
        "email ending in a newline",
        order(customer={"mode": "same", "email": "orders@shop.test\n"}),
    ),
    ("order_policy", "mode vip", order(customer={"mode": "vip"})),
    ("order_policy", "customer as a string", order(customer="guest")),
    ("order_policy", "empty carrier", order(carrier_mapping={"ups": ""})),
    ("order_policy", "carrier mapping as a list", order(carrier_mapping=["ups"])),
    ("order_policy", "status mapped to 5", order(status_mapping={PAID: 5})),
    ("order_policy", "empty status key", order(status_mapping={"": "processing"})),
    ("order_policy", "typo notfiy", order(notfiy=True)),
    ("order_policy", "empty alternate SKU attribute", order(alternate_sku_attribute="")),
    ("channel_order", "empty id", channel_order(id="")),
    ("channel_order", "lower-case currency", channel_order(currency="usd")),
    ("channel_order", "customer email 5", channel_order(customer={"email": 5})),
    (
        "channel_order",
        "line quantity 0",
        channel_order(lines=[{"sku": "A", "qty": 0, "price": "1"}]),
    ),
    (
        "channel_order",
        "line quantity 1.5",
        channel_order(lines=[{"sku": "A", "qty": 1.5, "price": "1"}]),
    ),
    (
        "channel_order",
        "line price NaN",
        channel_order(lines=[{"sku": "A", "qty": 1, "price": "NaN"}]),
    ),
    ("channel_order", "line without price", channel_order(lines=[{"sku": "MJ03", "qty": 1}])),
    ("channel_order", "negative shipping", channel_order(shipping_amount="-1")),
    ("channel_order", "negative tax", channel_order(tax_amount=-1)),
    ("channel_order", "no lines", channel_order(lines=[])),
    ("channel_order", "lines 3", channel_order(lines=3)),
    (
        "channel_order",
        "a string among the lines",
        channel_order(lines=[{"sku": "A", "qty": 1, "price": 1}, "B"]),
    ),
    # test_models.py
    ("product", "a list", []),
    ("product", "missing sku", {"name": "N"}),
    ("product", "empty sku", product(sku="")),
    ("product", "sku 5", product(sku=5)),
    ("product", "name 5", product(name=5)),
    ("product", "type kit", product(type="kit")),
    ("product", "type 1", product(type=1)),
    ("product", "visibility everywhere", product(visibility="everywhere")),
    ("product", "price 'abc'", product(price="abc")),
    ("product", "price 'NaN'", product(price="NaN")),
    ("product", "price 10**12", product(price=10**12)),
    ("product", "price as a list", product(price=[1])),
    ("product", "boolean special price", product(special_price=True)),
    ("product", "date as an integer", product(special_to=20260101)),
    ("product", "attribute holding an object", product(attributes={"a": {"b": 1}})),
    ("product", "attribute list with an integer", product(attributes={"sizes": ["S", 1]})),
    ("product", "empty attribute code", product(attributes={"": 1})),
    ("product", "attributes as a list", product(attributes=[])),
    ("product", "odd attribute code holding an object", product(attributes={"my code": {}})),
    ("product", "image as a string", product(images=["a.jpg"])),
    ("product", "images as an object", product(images={})),
    ("product", "image with an empty file", product(images=[{"file": ""}])),
    ("product", "image without file", product(images=[{"position": 1}])),
    ("product", "image position '1'", product(images=[{"file": "a.jpg", "position": "1"}])),
    ("product", "parent sku 1", product(parent_sku=1)),
    ("product", "enabled 1", product(enabled=1)),
    ("product", "category 1", product(categories=[1])),
    ("product", "stock quantity 'many'", product(stock={"qty": "many"})),
    ("product", "boolean stock quantity", product(stock={"qty": True})),
    ("product", "in_stock 1", product(stock={"in_stock": 1})),
    ("product", "typo skuu", {"skuu": "A"}),
    ("stock", "quantity 'many'", {"qty": "many"}),
    ("stock", "source as an integer", {"sources": [1]}),
    ("stock", "empty source code", {"sources": [{"code": ""}]}),
    ("stock", "boolean reservation", {"reserved": True}),
    # test_config.py
    ("configuration", "negative buffer", config((("inventory_policies", "stock", "buffer"), -1))),
    (
        "configuration",
        "price sync without update",
        config((("sync_policies", "ali", "product_update"), False)),
    ),
    ("configuration", "typo versionn", config((("versionn",), 1))),
    ("configuration", "version 2", {"version": 2}),
    ("configuration", "condition 5", config((("templates", 0, "condition"), 5))),
    ("configuration", "template without id", config((("templates", 1, "id"), DELETE))),
    (
        "configuration",
        "account without sync policy",
        config((("accounts", 1, "sync_policy"), DELETE)),
    ),
    (
        "configuration",
        "fields of a built-in channel policy",
        config((("sync_policies", "ali", "fields"), ["quantity", "gpsr"])),
    ),
    ("configuration", "channel without fields", config((("channels",), {"b2b": {"fields": []}}))),
    ("configuration", "empty channel name", config((("channels",), {"": {"fields": ["price"]}}))),
    ("configuration", "empty policy id", config((("image_policies", ""), {"title": "x"}))),
    ("configuration", "templates as an object", config((("templates",), {}))),
    # test_limits.py: the limits that are field rules.
    ("product", "SKU of 256 characters", product(sku="x" * 256)),
    ("product", "name of 1,025 characters", product(name="x" * 1025)),
    ("product", "1,001 images", product(images=[{"file": "a.jpg"}] * 1001)),
    ("product", "category of 1,025 characters", product(categories=["x" * 1025])),
    ("product", "attribute code of 256 characters", product(attributes={"x" * 256: 1})),
    ("product", "list attribute of 1,001 values", product(attributes={"tags": ["t"] * 1001})),
    ("product", "integer attribute of 39 digits", product(attributes={"n": 10**38})),
    ("product", "money text of 65 characters", product(price="1".rjust(65))),
    ("stock", "1,001 source items", {"sources": [{"code": "s"}] * 1001}),
    ("stock", "source code of 256 characters", {"sources": [{"code": "x" * 256}]}),
    ("inventory_policy", "buffer above 2**53 - 1", inventory(buffer=2**53)),
    ("inventory_policy", "title of 65,537 characters", inventory(title="x" * 65537)),
    ("sync_policy", "observed attribute of 256 characters", sync(observed_attributes=["x" * 256])),
    (
        "configuration",
        "policy id of 256 characters",
        config((("image_policies", "x" * 256), {"title": "x"})),
    ),
]

#: Documents the loader rejects for a reason JSON Schema cannot express (docs/schema.md lists them):
#: the schema accepts them and only ``load_config`` / ``structure`` finds the problem.
NOT_EXPRESSIBLE: list[tuple[str, str, Any]] = [
    # A family's rules between its parent, its children and its options (test_families).
    (
        "product_family",
        "a child that is its own parent",
        family(children=[{"sku": "P"}], bundle_options=[{"selections": [{"sku": "P"}]}]),
    ),
    (
        "product_family",
        "duplicate child",
        family(
            children=[{"sku": "A"}, {"sku": "A"}], bundle_options=[{"selections": [{"sku": "A"}]}]
        ),
    ),
    (
        "product_family",
        "selection of a SKU that is not a child",
        family(children=[{"sku": "A"}], bundle_options=[{"selections": [{"sku": "Z"}]}]),
    ),
    ("product_family", "a bundle without options", family()),
    ("product_family", "a simple parent", {"parent": {"sku": "P"}}),
    (
        "product_family",
        "children disagreeing on the variation attributes",
        {
            "parent": {"sku": "P", "type": "configurable"},
            "children": [
                {"sku": "A", "attributes": {"size": "M"}},
                {"sku": "B", "attributes": {"size": "M"}},
            ],
            "variation_attributes": ["size"],
        },
    ),
    # Decimal places against the currency: a rule across fields that depends on a lookup table.
    ("pricing_policy", "ending .999 in USD", pricing(ending={"value": "0.999"})),
    ("pricing_policy", "ending .5 in JPY", pricing(currency="JPY", ending={"value": "0.5"})),
    ("pricing_policy", "ending .995 in EUR", pricing(currency="EUR", ending={"value": "0.995"})),
    ("pricing_policy", "ending .9999 in KWD", pricing(currency="KWD", ending={"value": "0.9999"})),
    # Comparing two fields' values.
    ("pricing_policy", "min price above max price", pricing(min_price="20", max_price="10")),
    (
        "pricing_policy",
        "no price between the bounds",
        pricing(min_price="10.001", max_price="10.009"),
    ),
    # Exponent notation: the schema checks its syntax and its sign only.
    ("pricing_policy", "conversion rate '1E+12'", pricing(conversion_rate="1E+12")),
    ("pricing_policy", "percent decrement '1.5E+2'", adjustment("percent_decrement", "1.5E+2")),
    ("product", "price '1e13'", product(price="1e13")),
    ("product", "stock quantity '1e20'", product(stock={"qty": "1e20"})),
    # Dates: ``format: date`` is an annotation (the loader reads every ISO 8601 date form).
    ("product", "date 01/02/2026", product(special_from="01/02/2026")),
    # The condition language: the schema knows the tree's shape, not the text's grammar.
    ("listing_template", "condition text __import__", template(condition="__import__('os')")),
    ("listing_template", "condition text 'price >'", template(condition="price >")),
    ("listing_template", "condition tree nested 60 deep", template(condition=DEEP_TREE)),
    (
        "listing_template",
        "integer of 19 digits in a tree",
        template(condition={"field": "price", "op": "==", "value": 10**19}),
    ),
    # References between sections, duplicate ids and channels (test_config).
    (
        "configuration",
        "unknown pricing policy",
        config((("templates", 0, "pricing_policy"), "nope")),
    ),
    (
        "configuration",
        "policy of the wrong level",
        config((("templates", 1, "inventory_policy"), "ali")),
    ),
    ("configuration", "duplicate template id", config((("templates", 1, "id"), "bags"))),
    ("configuration", "duplicate account id", config((("accounts", 1, "id"), "ali-us"))),
    (
        "configuration",
        "unknown channel",
        config((("accounts", 2), {"id": "x", "channel": "mars", "sync_policy": "any"})),
    ),
    (
        "configuration",
        "sync policy for another channel",
        config((("accounts", 1, "sync_policy"), "ali")),
    ),
    (
        "configuration",
        "fields the account's channel does not support",
        config((("sync_policies", "any", "fields"), ["quantity", "price", "title", "gpsr"])),
    ),
    (
        "configuration",
        "condition text 'price >'",
        config((("templates", 0, "condition"), "price >")),
    ),
    # JSON Schema counts a number with a zero fraction as an integer.
    ("image_policy", "gallery limit 5.0", images(gallery_limit=5.0)),
]


def _case_id(case: tuple[str, str, Any]) -> str:
    return f"{case[0]}: {case[1]}"


class TestDocuments:
    """json_schema gives a valid draft 2020-12 document per kind."""

    @pytest.mark.parametrize("kind", SCHEMA_KINDS)
    def test_valid_draft_2020_12(self, kind: str) -> None:
        """Each kind's schema is itself valid, names its draft and its kind, and is strict."""
        schema = json_schema(kind)
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"urn:policy-engine:schema:{kind}"
        assert schema["title"] == KIND_CLASSES[kind].__name__
        assert schema["description"]
        assert schema["additionalProperties"] is False
        json.dumps(schema)

    def test_kinds(self) -> None:
        """The kinds are the configuration, each policy and the other models an admin UI edits."""
        assert tuple(KIND_CLASSES) == SCHEMA_KINDS

    def test_default_kind_is_the_configuration(self) -> None:
        """Without a kind the schema is the configuration document's."""
        assert json_schema() == json_schema("configuration")
        assert set(json_schema()["properties"]) == {
            "version",
            "sync_policies",
            "inventory_policies",
            "pricing_policies",
            "image_policies",
            "order_policies",
            "templates",
            "accounts",
            "channels",
            "allocation",
            "exchange_rates",
        }

    def test_unknown_kind(self) -> None:
        """An unknown kind is a ValueError naming the known ones."""
        with pytest.raises(
            ValueError, match=r"unknown schema kind 'pricing' \(known: configuration, sync_policy"
        ):
            json_schema("pricing")

    def test_each_call_gives_a_new_document(self) -> None:
        """Changing a returned schema does not change the next one."""
        schema = json_schema("inventory_policy")
        schema["properties"]["buffer"]["minimum"] = 5
        del schema["$defs"]
        again = json_schema("inventory_policy")
        assert again["properties"]["buffer"]["minimum"] == 0
        assert "Threshold" in again["$defs"]

    def test_buffer_property(self) -> None:
        """A property carries its label, its docstring description, its rule and its default."""
        assert json_schema("inventory_policy")["properties"]["buffer"] == {
            "title": "Buffer",
            "description": 'Quantity kept back for the store ("Threshold Buffer").',
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_INTEGER,
            "default": 0,
        }

    def test_nested_models_and_enumerations(self) -> None:
        """Nested models are $defs references (nullable ones with null); enumerations list values."""
        schema = json_schema("pricing_policy")
        assert schema["properties"]["ending"]["anyOf"] == [
            {"$ref": "#/$defs/Ending"},
            {"type": "null"},
        ]
        assert schema["properties"]["adjustments"]["items"] == {"$ref": "#/$defs/Adjustment"}
        assert schema["properties"]["rounding"]["enum"] == ["half_up", "half_even", "up", "down"]
        assert schema["properties"]["rounding"]["default"] == "half_up"
        assert schema["$defs"]["Ending"]["properties"]["value"]["exclusiveMaximum"] == 1
        assert schema["properties"]["conversion_rate"]["default"] == "1"

    def test_titles_spell_out_abbreviations(self) -> None:
        """Property titles are form labels: ``msi`` reads MSI, ``vat_percent`` VAT percent."""
        assert json_schema("inventory_policy")["properties"]["msi"]["title"] == "MSI"
        assert json_schema("pricing_policy")["properties"]["vat_percent"]["title"] == "VAT percent"
        assert json_schema("account")["properties"]["id"]["title"] == "ID"

    def test_descriptions_speak_json(self) -> None:
        """Docstring markup becomes Markdown, and Python's None is JSON's null."""
        description = json_schema("inventory_policy")["properties"]["threshold"]["description"]
        assert description == "List fixed quantities above/below a store quantity, or `null`."
        condition = json_schema("listing_template")["properties"]["condition"]["description"]
        assert "`Condition`" in condition
        assert ":class:" not in condition

    def test_money_accepts_strings_and_numbers(self) -> None:
        """Money is a decimal string or a number below 10**12 in magnitude."""
        price = json_schema("product")["properties"]["price"]
        assert price["type"] == ["string", "number", "null"]
        assert (price["exclusiveMinimum"], price["exclusiveMaximum"]) == (-(10**12), 10**12)

    def test_sets_allow_repeated_items(self) -> None:
        """The loader accepts a repeated item in a set (it collapses): no uniqueItems."""
        assert "uniqueItems" not in json_schema("sync_policy")["properties"]["fields"]
        assert loader_accepts("sync_policy", sync(fields=["price", "price"]))
        assert schema_accepts("sync_policy", sync(fields=["price", "price"]))


def _models(kind: str) -> Iterator[type[Any]]:
    """The attrs classes a kind's document holds, the kind's own first."""
    seen: list[type[Any]] = []
    pending = [KIND_CLASSES[kind]]
    while pending:
        cls = pending.pop(0)
        if cls in seen:
            continue
        seen.append(cls)
        attrs.resolve_types(cls)
        for field in attrs.fields(cls):
            if field.init:
                pending.extend(_attrs_in(field.type))
    yield from seen


def _attrs_in(tp: Any) -> list[type[Any]]:
    if attrs.has(tp):
        return [tp]
    return [cls for arg in typing.get_args(tp) for cls in _attrs_in(arg)]


class TestGeneratedFromTheModels:
    """The schema follows the models: one source of truth."""

    @pytest.mark.parametrize("kind", SCHEMA_KINDS)
    def test_properties_are_the_loaded_fields(self, kind: str) -> None:
        """Each model's properties are its init fields; the required ones have no default."""
        schema = json_schema(kind)
        for cls in _models(kind):
            model = schema if cls is KIND_CLASSES[kind] else schema["$defs"][cls.__name__]
            fields = [field for field in attrs.fields(cls) if field.init]
            assert list(model["properties"]) == [field.name for field in fields]
            required = [field.name for field in fields if field.default is attrs.NOTHING]
            assert model.get("required", []) == required
            assert model["additionalProperties"] is False

    @pytest.mark.parametrize("kind", SCHEMA_KINDS)
    def test_every_property_is_described(self, kind: str) -> None:
        """Every property of every model has a description (from its class's docstring)."""
        schema = json_schema(kind)
        for cls in _models(kind):
            model = schema if cls is KIND_CLASSES[kind] else schema["$defs"][cls.__name__]
            assert model["description"], cls.__name__
            for name, prop in model["properties"].items():
                assert prop.get("description"), f"{cls.__name__}.{name}"

    @pytest.mark.parametrize("kind", SCHEMA_KINDS)
    def test_defaults_are_valid(self, kind: str) -> None:
        """Every default a property declares is a valid value of that property."""
        schema = json_schema(kind)
        for cls in _models(kind):
            model = schema if cls is KIND_CLASSES[kind] else schema["$defs"][cls.__name__]
            for name, prop in model["properties"].items():
                if "default" in prop:
                    check = Draft202012Validator({**prop, "$defs": schema.get("$defs", {})})
                    assert check.is_valid(prop["default"]), f"{cls.__name__}.{name}"

    def test_field_rules_name_loaded_fields(self) -> None:
        """Every rule written in the schema module is for a field the loader reads."""
        for cls, name in _schema._FIELD_RULES:
            assert name in {field.name for field in attrs.fields(cls) if field.init}, name

    def test_ranges_come_from_the_checks(self) -> None:
        """A field's range is the one its check declares (``in_range(1, 12)``)."""
        digits = json_schema("order_policy")["properties"]["order_id_digits"]
        assert (digits["minimum"], digits["maximum"]) == (1, 12)
        assert (
            json_schema("channel_order")["$defs"]["OrderLine"]["properties"]["qty"]["minimum"] == 1
        )

    def test_built_in_channel_rules_follow_the_profiles(self) -> None:
        """A sync policy for a built-in channel may send only that channel's fields."""
        rules = json_schema("sync_policy")["allOf"]
        by_channel = {
            rule["if"]["properties"]["channel"]["const"]: rule["then"]["properties"]["fields"]
            for rule in rules
            if "channel" in rule["if"]["properties"]
        }
        assert set(by_channel) == set(BUILTIN_CHANNELS)
        for name, profile in BUILTIN_CHANNELS.items():
            assert set(by_channel[name]["items"]["enum"]) == {
                field.value for field in profile.fields
            }


class TestAccepts:
    """Every document the loader accepts validates against the schema."""

    @settings(max_examples=30)
    @given(configurations())
    def test_generated_configurations(self, config: Configuration) -> None:
        """Every configuration from ``policy_engine.testing.configurations()``, dumped, validates."""
        assert schema_errors("configuration", dump_config(config)) == []

    @settings(max_examples=15)
    @given(configurations(conditions=st.builds(Condition, condition_trees() | condition_texts())))
    def test_configurations_with_random_conditions(self, config: Configuration) -> None:
        """Configurations whose templates hold random condition texts and trees validate."""
        assert schema_errors("configuration", dump_config(config)) == []

    @pytest.mark.parametrize("channel", sorted(BUILTIN_CHANNELS))
    def test_default_configs(self, channel: str) -> None:
        """The onboarding configuration of every built-in channel validates."""
        assert schema_errors("configuration", dump_config(default_config(channel))) == []

    def test_documents_of_the_loader_tests(self) -> None:
        """The valid document of the configuration tests validates, and so does its custom channel."""
        assert schema_errors("configuration", document()) == []
        custom = config(
            (("channels",), {"shopify-b2b": {"fields": ["quantity", "price", "title"]}}),
            (("accounts", 2), {"id": "b2b", "channel": "shopify-b2b", "sync_policy": "any"}),
        )
        assert schema_errors("configuration", custom) == []

    def test_sample_store(self) -> None:
        """The bundled sample store's configuration and products validate."""
        data = sample_store()
        assert schema_errors("configuration", data["configuration"]) == []
        for item in data["products"]:
            assert schema_errors("product", item) == [], item.get("sku")

    @settings(max_examples=40)
    @given(
        st.one_of(
            st.tuples(st.just("sync_policy"), sync_policies()),
            st.tuples(st.just("inventory_policy"), inventory_policies()),
            st.tuples(st.just("pricing_policy"), pricing_policies()),
            st.tuples(st.just("image_policy"), image_policies()),
            st.tuples(st.just("order_policy"), order_policies()),
            st.tuples(st.just("listing_template"), listing_templates()),
        )
    )
    def test_generated_policies(self, case: tuple[str, Any]) -> None:
        """Every policy and template from the strategies validates against its kind's schema."""
        kind, model = case
        assert schema_errors(kind, unstructure(model)) == []

    @settings(max_examples=40)
    @given(
        st.one_of(
            st.tuples(st.just("product"), products()),
            st.tuples(st.just("stock"), stocks()),
            st.tuples(st.just("channel_order"), channel_orders()),
        )
    )
    def test_generated_inputs(self, case: tuple[str, Any]) -> None:
        """Every product, stock record and channel order from the strategies validates."""
        kind, model = case
        assert schema_errors(kind, unstructure(model)) == []

    @settings(max_examples=40)
    @given(families(max_children=3))
    def test_generated_families(self, model: ProductFamily) -> None:
        """Every product family from the strategies validates."""
        assert schema_errors("product_family", unstructure(model)) == []

    @pytest.mark.parametrize(
        ("kind", "data"),
        [
            ("product", product(price=" 12.50 ", special_price=45, attributes={"msrp": 59.5})),
            (
                "product",
                product(special_from="2026-11-01", stock={"qty": 12.0, "reserved": "-2.5"}),
            ),
            ("stock", {"qty": "1000", "out_of_stock_threshold": "0.5"}),
            ("pricing_policy", pricing(conversion_rate="1E+2", min_price="-0", vat_percent="+19")),
            ("pricing_policy", pricing(ending={"value": ".99"}, max_price="999999999999.99")),
            ("pricing_policy", adjustment("percent_decrement", "100.000")),
            ("listing_template", template(condition="   ")),
            ("listing_template", template(condition=" " * 20_000)),
            ("listing_template", template(condition={"all": []})),
            (
                "listing_template",
                template(
                    condition={
                        "field": "name",
                        "op": "==",
                        "value": {"attribute": "sku", "lower": True},
                    }
                ),
            ),
            ("order_policy", {"title": "Shipments only", "create_orders": False}),
            ("order_policy", order(customer={"mode": "same", "email": "a@b@shop.test"})),
            ("sync_policy", sync(product_update=False, inventory_price_sync=False)),
            ("sync_policy", sync(channel="my-shop", fields=["fitment"])),
        ],
    )
    def test_edge_documents(self, kind: str, data: dict[str, Any]) -> None:
        """Edge forms the loader accepts (spaces, exponents, underscores, blank texts) validate."""
        assert loader_accepts(kind, data)
        assert schema_errors(kind, data) == []


class TestRejects:
    """The schema rejects what the loader rejects, wherever JSON Schema can express the rule."""

    @pytest.mark.parametrize("case", EXPRESSIBLE, ids=_case_id)
    def test_invalid_documents(self, case: tuple[str, str, Any]) -> None:
        """Each invalid document of the loader tests fails the loader and the schema."""
        kind, _, data = case
        assert not loader_accepts(kind, data)
        assert not schema_accepts(kind, data)

    @pytest.mark.parametrize("case", NOT_EXPRESSIBLE, ids=_case_id)
    def test_rules_only_the_loader_checks(self, case: tuple[str, str, Any]) -> None:
        """The documented rules JSON Schema cannot express: the schema passes, the loader fails."""
        kind, _, data = case
        assert not loader_accepts(kind, data)
        assert schema_errors(kind, data) == []


# -------------------------------------------------------------------------------- mutations


def _sites(model: Any, dumped: Any, path: tuple[str | int, ...] = ()) -> Iterator[Any]:
    """Every model object inside a configuration: (path in the dump, class, its dumped object)."""
    if attrs.has(type(model)):
        yield path, type(model), dumped
        for field in attrs.fields(type(model)):
            # A section left out while null (``allocation``) has nothing to mutate.
            if field.init and field.name in dumped:
                yield from _sites(
                    getattr(model, field.name), dumped[field.name], (*path, field.name)
                )
    elif isinstance(model, tuple):
        for index, (item, data) in enumerate(zip(model, dumped, strict=True)):
            yield from _sites(item, data, (*path, index))
    elif isinstance(model, FrozenDict):
        for key, item in model.items():
            yield from _sites(item, dumped[key], (*path, key))


def _wrong_values(tp: Any) -> list[Any]:
    """JSON values of a type a field of type ``tp`` never accepts."""
    optional = typing.get_origin(tp) in (typing.Union, types.UnionType)
    base = next(arg for arg in typing.get_args(tp) if arg is not type(None)) if optional else tp
    origin = typing.get_origin(base)
    values: list[Any]
    if base is bool:
        values = ["yes", 0, []]
    elif base is int:
        values = [True, "1", 1.5, []]
    elif base is str:
        values = [1, True, [], {}]
    elif base is Decimal:
        values = [True, [], {}]
    elif isinstance(base, type) and issubclass(base, enum.Enum):
        values = [1, True, "not-a-member"]
    elif base is Condition:
        values = [1, True, []]
    elif origin in (tuple, frozenset):
        values = ["a", 1, {}]
    elif origin is FrozenDict:
        values = [[], "a", 1]
    else:
        assert attrs.has(base), base
        values = ["a", 1, []]
    return values if optional else [*values, None]


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


@st.composite
def mutated_configurations(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A dumped valid configuration with one mutation: an unknown key, a missing required field
    or a value of the wrong JSON type, somewhere in it."""
    config = draw(configurations(max_templates=2, max_accounts=2))
    data = dump_config(config)
    sites = list(_sites(config, data))
    how = draw(st.sampled_from(["unknown key", "missing field", "wrong type"]))
    if how == "missing field":
        sites = [site for site in sites if _required(site[1])]
    path, cls, _ = draw(st.sampled_from(sites))
    target = _at(data, path)
    if how == "unknown key":
        target[draw(st.sampled_from(["treshold", "Title", "notes", "x-extra"]))] = 1
    elif how == "missing field":
        del target[draw(st.sampled_from(_required(cls)))]
    else:
        attrs.resolve_types(cls)
        field = draw(st.sampled_from([field for field in attrs.fields(cls) if field.init]))
        target[field.name] = draw(st.sampled_from(_wrong_values(field.type)))
    return how, data


def _required(cls: type[Any]) -> list[str]:
    return [f.name for f in attrs.fields(cls) if f.init and f.default is attrs.NOTHING]


class TestMutations:
    """A valid configuration broken in one place fails both the loader and the schema."""

    @settings(max_examples=30)
    @given(mutated_configurations())
    def test_mutations_are_rejected(self, mutation: tuple[str, dict[str, Any]]) -> None:
        """An unknown key, a missing required field or a wrong JSON type: both reject it."""
        _, data = mutation
        assert not loader_accepts("configuration", data)
        assert not schema_accepts("configuration", data)


# --------------------------------------------------------------------------- decimal strings

DECIMAL_TEXTS = (
    st.text(alphabet=" _0123456789.eE+-", max_size=12)
    | st.from_regex(r"\A[+-]?\d{0,16}(\.\d{0,4})?\Z")
    | st.decimals(allow_nan=False, allow_infinity=False).map(str)
)
NUMBERS = st.integers() | st.floats(allow_nan=False, allow_infinity=False)


def _agree(accepted_by_loader: bool, accepted_by_schema: bool, text: Any) -> None:
    """The loader's verdict implies the schema's; they are equal but for the strings whose range
    the schema does not check: exponent notation and digits other than ASCII ones."""
    if accepted_by_loader:
        assert accepted_by_schema, text
    elif not (isinstance(text, str) and ("e" in text.lower() or not text.isascii())):
        assert not accepted_by_schema, text


class TestDecimalStrings:
    """Money and quantities as strings or numbers: the schema agrees with the loader."""

    @given(DECIMAL_TEXTS | NUMBERS)
    def test_money(self, value: Any) -> None:
        """'Money fields accept a JSON string or number … more than 12 integer digits are errors.'"""
        data = product(price=value)
        _agree(loader_accepts("product", data), schema_accepts("product", data), value)

    @given(DECIMAL_TEXTS | NUMBERS)
    def test_at_least_zero(self, value: Any) -> None:
        """VAT is money >= 0, as string or number."""
        data = pricing(vat_percent=value)
        _agree(
            loader_accepts("pricing_policy", data), schema_accepts("pricing_policy", data), value
        )

    @given(DECIMAL_TEXTS | NUMBERS)
    def test_above_zero(self, value: Any) -> None:
        """The conversion rate is money > 0, as string or number."""
        data = pricing(conversion_rate=value)
        _agree(
            loader_accepts("pricing_policy", data), schema_accepts("pricing_policy", data), value
        )

    @given(DECIMAL_TEXTS | NUMBERS)
    def test_ending_below_one(self, value: Any) -> None:
        """An ending value lies in [0, 1), as string or number."""
        data = {"value": value}
        loaded = _loads(data, Ending)
        _agree(loaded, def_validator("pricing_policy", "Ending").is_valid(data), value)

    @given(DECIMAL_TEXTS | NUMBERS)
    def test_percent_decrement_at_most_100(self, value: Any) -> None:
        """A percent decrement is at most 100, as string or number."""
        data = {"kind": "percent_decrement", "amount": value}
        loaded = _loads(data, Adjustment)
        _agree(loaded, def_validator("pricing_policy", "Adjustment").is_valid(data), value)

    @given(DECIMAL_TEXTS | NUMBERS)
    def test_stock_quantities(self, value: Any) -> None:
        """'Stock quantities accept decimals and are floored' (below 10**15)."""
        data = {"qty": value}
        loaded, valid = loader_accepts("stock", data), schema_accepts("stock", data)
        _agree(loaded, valid, value)


def _loads(data: Mapping[str, Any], cls: type[Any]) -> bool:
    try:
        structure(data, cls)
    except PolicyConfigError:
        return False
    return True


class TestConditions:
    """Condition trees and texts from the strategies validate; the template's condition forms."""

    @settings(max_examples=50)
    @given(condition_trees())
    def test_trees(self, tree: dict[str, Any]) -> None:
        """Every tree the condition strategies build validates."""
        assert schema_errors("listing_template", template(condition=tree)) == []

    @settings(max_examples=50)
    @given(st.builds(Condition, condition_trees() | condition_texts()))
    def test_canonical_trees(self, condition: Condition) -> None:
        """The canonical tree of every condition validates, as the tree dump_config writes."""
        assert schema_errors("listing_template", template(condition=condition.to_tree())) == []
        assert schema_errors("listing_template", template(condition=condition.to_text())) == []


# ------------------------------------------------------------------------------ the machinery

PLAIN_DECIMALS = st.from_regex(r"\A\s?\+?0{0,2}[0-9]{0,4}(\.[0-9]{0,3})?\s?\Z").filter(
    lambda text: any(char.isdigit() for char in text)
)


class TestMachinery:
    """The pieces the schema is built from, on inputs the models do not reach yet."""

    @pytest.mark.parametrize("bound", [0, 1, 9, 10, 99, 100, 109, 250, 1000])
    @given(text=PLAIN_DECIMALS | st.integers(0, 1200).map(str))
    def test_upper_bound_patterns(self, bound: int, text: str) -> None:
        """The string rule of ``maximum``/``exclusiveMaximum`` rejects exactly the plain
        decimals above the bound (at or above it for the exclusive one)."""
        value = Decimal(text.strip())
        for name, breaks in (("maximum", value > bound), ("exclusiveMaximum", value >= bound)):
            if name == "exclusiveMaximum" and bound == 0:
                continue
            (pattern,) = _schema._string_bounds({name: bound})
            assert (re.search(pattern, text) is not None) == breaks, (name, bound, text)

    @pytest.mark.parametrize(
        "keywords", [{"minimum": 5}, {"exclusiveMinimum": 1}, {"maximum": Decimal("0.5")}]
    )
    def test_unsupported_string_bounds(self, keywords: dict[str, Any]) -> None:
        """A bound the decimal-string rules cannot express is an error, never silently dropped."""
        with pytest.raises(TypeError, match="no decimal-string rule"):
            _schema._money(keywords)

    def test_decimal_bounds_become_json_numbers(self) -> None:
        """A ``Decimal`` bound is written as a JSON integer or number."""
        rules = _schema._money({"minimum": Decimal(0), "maximum": Decimal("100.0")})
        assert (rules["minimum"], rules["maximum"]) == (0, 100)
        assert type(rules["maximum"]) is int
        assert _schema._json_number(Decimal("0.5")) == 0.5

    def test_model_forms(self) -> None:
        """Nullable enumerations, a model used twice, date-times, undocumented fields and
        self-referring factories get the schema their types call for."""
        schema = _schema._Builder().model(_Sample)
        props = schema["properties"]
        assert schema["description"] == "A sample.\n\nIts second paragraph."
        assert props["rounding"]["type"] == ["string", "null"]
        assert props["rounding"]["enum"] == ["half_up", "half_even", "up", "down", None]
        assert props["rounding"]["description"] == "How to round, over two lines."
        assert props["first"]["$ref"] == "#/$defs/Stock"
        assert props["first"]["default"] == unstructure(Stock())
        assert props["second"]["anyOf"][0] == {"$ref": "#/$defs/Stock"}
        assert props["at"]["format"] == "date-time"
        assert "description" not in props["undocumented"]
        assert "default" not in props["derived"]

    def test_keywords_of_several_checks_merge(self) -> None:
        """Checks of one field give their keywords together: the tighter bound wins, nested
        rules merge, any other keyword is the last check's."""
        keywords: dict[str, Any] = {}
        _schema._merge(keywords, {"maxLength": 65536, "minimum": -5, "items": {"maxLength": 9}})
        _schema._merge(keywords, {"maxLength": 255, "minimum": 0, "items": {"minLength": 1}})
        _schema._merge(keywords, {"maxLength": 1024, "minimum": -1, "pattern": "a"})
        _schema._merge(keywords, {"pattern": "b"})
        assert keywords == {
            "maxLength": 255,
            "minimum": 0,
            "items": {"maxLength": 9, "minLength": 1},
            "pattern": "b",
        }

    def test_limits_are_in_the_schema(self) -> None:
        """The size limits that are field rules appear as maxLength, maxItems, maxProperties
        and maximum (see docs/limits.md)."""
        product = json_schema("product")
        properties = product["properties"]
        assert properties["sku"]["maxLength"] == MAX_SKU_LENGTH
        assert properties["images"]["maxItems"] == MAX_IMAGES
        assert properties["categories"]["items"]["maxLength"] == MAX_NAME_LENGTH
        assert properties["attributes"]["maxProperties"] == MAX_ATTRIBUTES
        assert product["$defs"]["Image"]["properties"]["position"]["maximum"] == MAX_INTEGER
        config = json_schema("configuration")
        assert config["properties"]["templates"]["maxItems"] == MAX_TEMPLATES
        assert config["properties"]["pricing_policies"]["maxProperties"] == MAX_POLICIES
        assert config["properties"]["pricing_policies"]["propertyNames"]["maxLength"] == (
            MAX_ID_LENGTH
        )
        title = config["$defs"]["PricingPolicy"]["properties"]["title"]
        assert title["maxLength"] == MAX_STRING_LENGTH

    def test_custom_loaders_need_a_schema(self) -> None:
        """A field with a custom loader the schema does not know is an error."""
        with pytest.raises(TypeError, match=r"custom loader of _Odd\.value"):
            _schema._Builder().model(_Odd)


def _first_stock() -> Stock:
    return Stock()


@attrs.frozen(kw_only=True)
class _Sample:
    """A sample.

    Its second paragraph.

    Attributes:
        The fields, in order (this line names none).
        rounding: How to round,

            over two lines.
        first: A stock.
        second: Another stock.
        at: A moment.

    Notes:
        ignored: Not an attribute.
    """

    rounding: Rounding | None = None
    first: Stock = attrs.field(factory=_first_stock)
    second: Stock | None = None
    at: datetime | None = None
    undocumented: int = 0
    derived: int = attrs.field(default=attrs.Factory(lambda self: 1, takes_self=True))


@attrs.frozen(kw_only=True)
class _Odd:
    """A model with a loader of its own."""

    value: int = attrs.field(metadata={LOAD: int})
