"""The service's OpenAPI 3.1 document, built on the library's own JSON Schemas.

Every model a request carries (the configuration, products, families, orders, stocks) is the
document :func:`~policy_engine.json_schema` makes, embedded as it is under
``components/schemas`` (OpenAPI 3.1 schemas are JSON Schema draft 2020-12, and each embedded
document keeps its ``$id``, so its ``#/$defs/...`` references resolve inside it). Only the
service's own envelopes (the request objects and the error) are written here.
"""

from __future__ import annotations

import functools
from typing import Any

from policy_engine._schema import SCHEMA_KINDS, json_schema
from policy_engine._version import __version__
from policy_engine.service._app import (
    MAX_BATCH_BYTES,
    MAX_BODY_BYTES,
    MAX_CURVE,
    REVISION_HEADER,
)

__all__ = ["openapi_document"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_DATE = {
    "type": "string",
    "format": "date",
    "description": "Price as of this day (default: today, UTC).",
}
_ACCOUNTS = {
    "type": "array",
    "items": {"type": "string"},
    "description": "The account ids, in order (default: every account of the configuration).",
}
_CONFIG = {
    "allOf": [_ref("Configuration")],
    "description": "A configuration to answer with instead of the served one (not stored).",
}
_OBJECT = {"type": "object"}


def _request(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


_ITEM = {
    "product": _ref("Product"),
    "family": _ref("ProductFamily"),
    "accounts": _ACCOUNTS,
    "on": _DATE,
    "config": _CONFIG,
}

_ENVELOPES: dict[str, dict[str, Any]] = {
    "EvaluateRequest": _request(
        {
            **_ITEM,
            "full": {
                "type": "boolean",
                "default": False,
                "description": "Answer each account's whole outcome, with its steps.",
            },
        },
        oneOf=[{"required": ["product"]}, {"required": ["family"]}],
        description="One product or one product family (exactly one of the two).",
    ),
    "ExplainRequest": _request(
        _ITEM,
        oneOf=[{"required": ["product"]}, {"required": ["family"]}],
        description="One product or one product family (exactly one of the two).",
    ),
    "DecideSyncRequest": _request(
        {
            "change": {
                **_OBJECT,
                "description": "A ProductChange: kind (created, updated, deleted), product,"
                " changed, listing.",
            },
            "account": {"type": "string"},
            "family": _ref("ProductFamily"),
            "on": _DATE,
            "config": _CONFIG,
        },
        ["change", "account"],
    ),
    "PlanStockSyncRequest": _request(
        {
            "event": {
                **_OBJECT,
                "description": "A StockEvent: sku, source, stock, at, enabled, parent_sku.",
            },
            "listings": {
                "type": "array",
                "items": {**_OBJECT, "description": "A ChannelListing."},
            },
            "config": _CONFIG,
        },
        ["event"],
    ),
    "PlanOrderRequest": _request(
        {
            "order": _ref("ChannelOrder"),
            "account": {"type": "string", "description": "Its order policy decides."},
            "catalog": {"type": "array", "items": _ref("Product")},
            "sequence": {"type": "integer", "minimum": 1, "default": 1},
            "imported": {"type": "array", "items": {"type": "string"}},
            "config": _CONFIG,
        },
        ["order", "account"],
    ),
    "PreviewRequest": _request(
        {
            "config": {**_CONFIG, "description": "The edited configuration."},
            "base": {**_CONFIG, "description": "The configuration before (default: served)."},
            "products": {"type": "array", "items": _ref("Product")},
            "families": {"type": "array", "items": _ref("ProductFamily")},
            "on": _DATE,
        },
        ["config"],
    ),
    "LintRequest": _request(
        {
            "config": _CONFIG,
            "products": {"type": "array", "items": _ref("Product")},
            "families": {"type": "array", "items": _ref("ProductFamily")},
        }
    ),
    "QuantityCurveRequest": _request(
        {
            "policy": {"type": "string", "description": "An inventory policy id."},
            "max": {"type": "integer", "minimum": 0, "maximum": MAX_CURVE, "default": 100},
            "config": _CONFIG,
        },
        ["policy"],
    ),
    "AdobeCommerceHook": _request(
        {
            "product": {**_OBJECT, "description": "The product as Magento's REST API writes it."},
            "source_items": {"type": "array", "items": _OBJECT},
        },
        ["product"],
    ),
    "WebhookOperation": {
        "type": "object",
        "properties": {
            "op": {"enum": ["success", "exception", "replace"]},
            "path": {"type": "string"},
            "value": {},
            "message": {"type": "string"},
        },
        "required": ["op"],
    },
    "Answer": {
        "type": "object",
        "description": "Every answer carries the revision of the configuration that decided.",
        "properties": {"revision": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}},
        "required": ["revision"],
    },
    "Error": {
        "type": "object",
        "properties": {
            "revision": {"type": "string"},
            "error": {
                "type": "object",
                "properties": {
                    "status": {"type": "integer"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "problems": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "path": {"type": "string", "description": "A JSON path: $.a[0]"},
                                "message": {"type": "string"},
                            },
                            "required": ["path", "message"],
                        },
                    },
                },
                "required": ["status", "code", "message", "problems"],
            },
        },
        "required": ["revision", "error"],
    },
}

_REVISION = {
    REVISION_HEADER: {
        "description": "The revision of the configuration that answered (config_revision).",
        "schema": {"type": "string"},
    }
}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Malformed: not UTF-8, not JSON, nested too deeply, duplicate keys.",
        404: "Unknown endpoint or kind.",
        408: "The body did not arrive in time.",
        409: "Nothing to reload: the service was not started from a file.",
        413: "The body is too large.",
        415: "Wrong Content-Type.",
        422: "Invalid content: every problem with its JSON path.",
    }
    return {
        str(status): {
            "description": reasons[status],
            "headers": _REVISION,
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        for status in statuses
    }


def _json_op(summary: str, request: str | None, *, optional: bool = False) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            "200": {
                "description": "OK",
                "headers": _REVISION,
                "content": {"application/json": {"schema": _ref("Answer")}},
            },
            **_errors(400, 408, 413, 415, 422),
        },
    }
    if request is not None:
        operation["requestBody"] = {
            "required": not optional,
            "content": {"application/json": {"schema": _ref(request)}},
        }
    return operation


@functools.cache
def _document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for kind in SCHEMA_KINDS:
        document = json_schema(kind)
        schemas[document["title"]] = document
    schemas.update(_ENVELOPES)
    batch_op = {
        "summary": "Evaluate many products: NDJSON in, NDJSON out (one line per input line).",
        "parameters": [
            {"name": "account", "in": "query", "schema": {"type": "string"}},
            {"name": "on", "in": "query", "schema": {"type": "string", "format": "date"}},
            {"name": "full", "in": "query", "schema": {"type": "boolean", "default": False}},
        ],
        "requestBody": {
            "required": True,
            "description": f"At most {MAX_BATCH_BYTES} bytes; one product or family a line.",
            "content": {"application/x-ndjson": {"schema": _ref("Product")}},
        },
        "responses": {
            "200": {
                "description": "One line per non-blank input line, in order; a line that"
                " failed carries its error.",
                "headers": _REVISION,
                "content": {"application/x-ndjson": {"schema": _OBJECT}},
            },
            **_errors(408, 413, 415, 422),
        },
    }
    schema_op = {
        "summary": "The JSON Schema of the configuration or of one kind.",
        "responses": {
            "200": {"description": "A JSON Schema (draft 2020-12).", "headers": _REVISION},
            **_errors(404),
        },
    }
    hook_op = {
        "summary": "Adobe Commerce webhook: replace operations with the quantity and price.",
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": name == "account",
                "schema": {"type": "string"},
            }
            for name in ("account", "prefix", "quantity_attribute", "price_attribute")
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("AdobeCommerceHook")}},
        },
        "responses": {
            "200": {
                "description": "Webhook operations.",
                "headers": _REVISION,
                "content": {
                    "application/json": {
                        "schema": {"type": "array", "items": _ref("WebhookOperation")}
                    }
                },
            },
            **_errors(400, 408, 413, 415, 422),
        },
    }
    paths: dict[str, Any] = {
        "/v1/evaluate": {"post": _json_op("Evaluate one product or family.", "EvaluateRequest")},
        "/v1/evaluate/batch": {"post": batch_op},
        "/v1/explain": {"post": _json_op("Every step and the sync decision.", "ExplainRequest")},
        "/v1/decide_sync": {"post": _json_op("What a product change sends.", "DecideSyncRequest")},
        "/v1/plan_stock_sync": {
            "post": _json_op("What a stock event sends.", "PlanStockSyncRequest")
        },
        "/v1/plan_order": {"post": _json_op("How a channel order is created.", "PlanOrderRequest")},
        "/v1/preview": {"post": _json_op("What a configuration edit changes.", "PreviewRequest")},
        "/v1/lint": {
            "post": _json_op("Validate and lint a configuration.", "LintRequest", optional=True)
        },
        "/v1/quantity_curve": {
            "post": _json_op("An inventory policy's quantity curve.", "QuantityCurveRequest")
        },
        "/v1/reload": {
            "post": {
                **_json_op("Load the configuration file again.", None),
                "responses": {
                    "200": {"description": "Reloaded.", "headers": _REVISION},
                    **_errors(409, 422),
                },
            }
        },
        "/v1/schema": {"get": schema_op},
        "/v1/schema/{kind}": {
            "get": {
                **schema_op,
                "parameters": [
                    {
                        "name": "kind",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": list(SCHEMA_KINDS)},
                    }
                ],
            }
        },
        "/v1/config": {"get": _json_op("The served configuration.", None)},
        "/v1/demo": {"get": _json_op("The demo store's products, for the playground.", None)},
        "/v1/webhooks/adobe-commerce": {"post": hook_op},
        "/healthz": {"get": _json_op("Liveness, with the revision.", None)},
    }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "policy_engine decision service",
            "version": __version__,
            "description": "Exact, explainable marketplace policies over HTTP/JSON. JSON bodies"
            f" are at most {MAX_BODY_BYTES} bytes; batch bodies at most {MAX_BATCH_BYTES}.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }


def openapi_document() -> dict[str, Any]:
    """The service's OpenAPI 3.1 document (a new ``dict`` on every call).

    The request models are the documents of :func:`~policy_engine.json_schema`, embedded
    unchanged under ``components/schemas`` by their titles (``Configuration``, ``Product``…).
    """
    import copy  # noqa: PLC0415

    return copy.deepcopy(_document())
