"""Adobe Commerce webhook mode: answer a product save with the marketplace quantity and price.

Adobe Commerce (Magento with the ``Magento_AdobeCommerceWebhooks`` module) calls a webhook
synchronously and applies the JSON operations it answers: ``success`` (change nothing),
``exception`` (stop the process with a message), and ``add`` / ``replace`` / ``remove`` of a
value at a ``/``-separated path of the intercepted method's arguments. This endpoint receives the
product being saved (as the REST API writes it, see :mod:`policy_engine.adapters.magento`),
evaluates it for one account, and answers ``replace`` operations that write the quantity and
price the marketplace would get into two attributes of that product. ``docs/service.md`` shows
the ``webhooks.xml`` registration.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from policy_engine._errors import PolicyConfigError
from policy_engine._listing import evaluate_listing
from policy_engine.adapters.magento import product_from_rest
from policy_engine.service._app import (
    REVISION_HEADER,
    RequestError,
    _App,
    _dumps,
    _Fields,
    _json_body,
    _prefixed,
)

__all__ = ["adobe_commerce"]

#: The default attribute codes the answer writes.
QUANTITY_ATTRIBUTE = "marketplace_qty"
PRICE_ATTRIBUTE = "marketplace_price"
#: Where the product is among the arguments of the default hook (a ``before`` plugin on
#: ``ProductRepositoryInterface::save``, whose argument is ``product``).
DEFAULT_PREFIX = "product"

_PATH = re.compile(r"^[A-Za-z0-9_]+(?:/[A-Za-z0-9_]+)*$")


def _operations(response: list[dict[str, Any]], revision: str) -> Response:
    return Response(
        _dumps(response), media_type="application/json", headers={REVISION_HEADER: revision}
    )


async def adobe_commerce(app: _App, request: Request) -> Response:
    """A product save hook: ``replace`` operations with the account's quantity and price.

    Query parameters: ``account`` (required), ``prefix`` (default ``product``: where the product
    is among the hook's arguments), ``quantity_attribute`` and ``price_attribute`` (the attribute
    codes written; default ``marketplace_qty`` and ``marketplace_price``). The body is the hook's
    configured fields: ``{"product": {...}}`` and optionally ``"source_items": [...]`` (MSI).

    A product that is not listed on the account answers ``success`` (nothing changes). A product
    that cannot be read answers ``exception`` with every problem and its path, so the store
    shows why; a request the service cannot read at all (size, type, JSON) is a 4xx as on every
    endpoint.
    """
    config, revision = app.state.current
    query = _Fields(
        dict(request.query_params),
        ("account", "prefix", "quantity_attribute", "price_attribute"),
    )
    account: str = query.data.get("account", "")
    known = [item.id for item in config.accounts]
    if "account" not in query.data:
        query.problem("$.account", "required query parameter missing")
    elif account not in known:
        listed = ", ".join(known) or "none defined"
        query.problem("$.account", f"unknown account {account!r} (known: {listed})")
    prefix = query.data.get("prefix", DEFAULT_PREFIX)
    quantity_attribute = query.data.get("quantity_attribute", QUANTITY_ATTRIBUTE)
    price_attribute = query.data.get("price_attribute", PRICE_ATTRIBUTE)
    for name, value in (
        ("prefix", prefix),
        ("quantity_attribute", quantity_attribute),
        ("price_attribute", price_attribute),
    ):
        if not _PATH.match(value):
            query.problem(f"$.{name}", f"expected letters, digits, _ and /, got {value!r}")
    query.check()
    body = _Fields(await _json_body(request), ("product", "source_items"))
    body.require("product")
    source_items = body.data.get("source_items", [])
    if not isinstance(source_items, list):
        body.problem("$.source_items", "expected a list of source items")
    if not body.problems:
        try:
            product = product_from_rest(body.data["product"], source_items=source_items)
        except PolicyConfigError as error:
            body.problems.extend(_prefixed(error.problems, "$.product"))
    if body.problems:
        failure = RequestError(422, "invalid_product", body.problems)
        message = f"policy_engine could not read the product: {failure}"
        return _operations([{"op": "exception", "message": message}], revision)
    outcome = evaluate_listing(config, product, account, on=datetime.now(UTC).date())
    operations: list[dict[str, Any]] = []
    if outcome.template is not None:
        if outcome.quantity is not None:
            operations.append(
                {
                    "op": "replace",
                    "path": f"{prefix}/{quantity_attribute}",
                    "value": outcome.quantity.quantity,
                }
            )
        if outcome.price is not None:
            operations.append(
                {
                    "op": "replace",
                    "path": f"{prefix}/{price_attribute}",
                    "value": str(outcome.price.amount),
                }
            )
    return _operations(operations or [{"op": "success"}], revision)
