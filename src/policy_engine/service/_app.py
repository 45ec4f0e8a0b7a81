"""The decision service's ASGI application, on Starlette.

Every request body is read here under three limits before anything is parsed: its size
(:data:`MAX_BODY_BYTES`, :data:`MAX_BATCH_BYTES` for a batch), the time it may take to arrive
(``body_timeout``: a client that trickles its body in is cut off) and its content type. JSON is
parsed by the library's strict parser (UTF-8, duplicate keys, depth checked before parsing), and
the request's fields are checked strictly too: every problem is answered at once, each with its
JSON path, as a 4xx JSON error. Nothing raised while answering reaches the client as a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from policy_engine._batch import evaluate_many, gc_paused
from policy_engine._config import (
    Configuration,
    config_revision,
    dump_config,
    load_config,
    parse_json_document,
)
from policy_engine._curve import quantity_curve
from policy_engine._errors import PolicyConfigError
from policy_engine._families import FamilyOutcome, ProductFamily, evaluate_family
from policy_engine._family_sync import sync_family
from policy_engine._inventory import QuantityResult
from policy_engine._jsonio import NOT_DECODED, fast_decode, to_json
from policy_engine._limits import MAX_DOCUMENT_BYTES, MAX_JSON_DEPTH
from policy_engine._listing import (
    ListingOutcome,
    OutcomeError,
    evaluate_listing,
    lint,
    preview_change,
    sync_listing,
)
from policy_engine._models import Product
from policy_engine._orders import ChannelOrder, plan_order
from policy_engine._schema import SCHEMA_KINDS, json_schema
from policy_engine._serialization import structure, unstructure
from policy_engine._stock_sync import ChannelListing, StockEvent, plan_stock_sync
from policy_engine._sync import ChangeKind, ProductChange
from policy_engine._validation import describe
from policy_engine._version import __version__

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BODY_BYTES",
    "REVISION_HEADER",
    "RequestError",
    "ServiceState",
    "create_app",
]

#: The largest JSON request body, in bytes: the library's document limit (16 MiB).
MAX_BODY_BYTES = MAX_DOCUMENT_BYTES
#: The largest NDJSON batch body, in bytes (64 MiB); each line is at most :data:`MAX_BODY_BYTES`.
MAX_BATCH_BYTES = 64 * 1024 * 1024
#: The response header naming the revision of the configuration that answered.
REVISION_HEADER = "Policy-Engine-Revision"
#: Seconds a client has to send a whole request body.
DEFAULT_BODY_TIMEOUT = 30.0
#: The largest ``max`` of a quantity curve.
MAX_CURVE = 10_000
#: Products evaluated per step of a batch (the output is flushed after each).
BATCH_CHUNK = 256

JSON_TYPE = "application/json"
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/json-lines"})

_log = logging.getLogger("policy_engine.service")
_encode_text: Callable[[str], str] = json.encoder.encode_basestring  # as json.dumps writes


class RequestError(Exception):
    """A request the service answers with a 4xx JSON error.

    Attributes:
        status: The HTTP status (400 malformed, 408 too slow, 413 too large, 415 wrong content
            type, 404 unknown, 409 conflict, 422 invalid content).
        code: A stable machine-readable code (``invalid_json``, ``invalid_request``…).
        problems: Every problem as ``(path, message)``, the path a JSON path (``$.product.sku``).
    """

    def __init__(self, status: int, code: str, problems: Iterable[tuple[str, str]]) -> None:
        self.status = status
        self.code = code
        self.problems = list(problems)
        super().__init__("; ".join(f"{message} @ {path}" for path, message in self.problems))


def _error_body(error: RequestError, revision: str) -> dict[str, Any]:
    problems = [{"path": path, "message": message} for path, message in error.problems]
    return {
        "revision": revision,
        "error": {
            "status": error.status,
            "code": error.code,
            "message": str(error),
            "problems": problems,
        },
    }


# -------------------------------------------------------------------------------------- state


class ServiceState:
    """The configuration the service answers with, and where it was loaded from.

    The only state of the service. :meth:`reload` swaps it atomically, after the new document
    has loaded without a problem; a bad document leaves the old configuration serving.

    Attributes:
        current: The configuration and its revision, in one tuple: read it once to have both
            from the same load.
        path: The file it was loaded from, or ``None``.
    """

    def __init__(self, config: Configuration, path: Path | None = None) -> None:
        self.current = (config, config_revision(config))
        self.path = path
        self._lock = threading.Lock()

    @property
    def config(self) -> Configuration:
        """The configuration being served."""
        return self.current[0]

    @property
    def revision(self) -> str:
        """Its revision (:func:`~policy_engine.config_revision`)."""
        return self.current[1]

    @classmethod
    def from_path(cls, path: str | Path) -> ServiceState:
        """Load the configuration file at ``path`` (JSON or TOML).

        Raises:
            PolicyConfigError: every problem of the document.
            OSError, UnicodeDecodeError: when the file cannot be read.
        """
        return cls(load_config(Path(path)), Path(path))

    def reload(self) -> tuple[str, str]:
        """Load the configuration file again; returns the old and the new revision.

        Raises:
            RequestError: 409 when the service was not started from a file; 422 with every
                problem when the new document does not load (the old one keeps serving).
        """
        if self.path is None:
            raise RequestError(409, "no_config_file", [("$", "no configuration file to reload")])
        with self._lock:
            try:
                config = load_config(self.path)
            except PolicyConfigError as error:
                problems = _strip(error.problems, self.path)
                raise RequestError(422, "invalid_config", problems) from None
            except (OSError, UnicodeDecodeError) as error:
                message = f"{self.path.name}: cannot be read ({error})"
                raise RequestError(422, "invalid_config", [("$", message)]) from None
            old = self.revision
            # One assignment: a request reads the configuration and its revision together.
            self.current = (config, config_revision(config))
        return old, self.revision


def _strip(problems: Iterable[tuple[str, str]], source: object) -> list[tuple[str, str]]:
    prefix = f"{source}: "
    return [(path, message.removeprefix(prefix)) for path, message in problems]


# ------------------------------------------------------------------------------- request bodies


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


async def _read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The request body, at most ``limit`` bytes, arriving within ``timeout`` seconds."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(
            413, "body_too_large", [("$", f"the body is larger than {limit} bytes ({declared})")]
        )
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    message = f"the body is larger than {limit} bytes"
                    raise RequestError(413, "body_too_large", [("$", message)])
                chunks.append(chunk)
    except TimeoutError:
        message = f"the body did not arrive within {timeout:g} seconds"
        raise RequestError(408, "body_timeout", [("$", message)]) from None
    return b"".join(chunks)


def _decode(data: bytes, where: str = "$") -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        message = f"the body is not UTF-8 text (byte {error.start}: {error.reason})"
        raise RequestError(400, "invalid_utf8", [(where, message)]) from None


def _parse(text: str, where: str = "$") -> Any:
    try:
        return parse_json_document(text, source="body")
    except PolicyConfigError as error:
        raise RequestError(
            400, "invalid_json", [(where, message) for _, message in _strip(error.problems, "body")]
        ) from None


async def _json_body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object (``{}`` for an empty body when ``optional``)."""
    app: _App = request.app.state.service
    body = await _read_body(request, app.max_body, app.body_timeout)
    if optional and not body.strip():
        return {}
    media = _media_type(request)
    if media != JSON_TYPE and not (media.startswith("application/") and media.endswith("+json")):
        shown = media or "none"
        message = f"expected Content-Type {JSON_TYPE}, got {shown}"
        raise RequestError(415, "unsupported_media_type", [("$", message)])
    data = _parse(_decode(body))
    if not isinstance(data, dict):
        message = f"expected a JSON object, got {describe(data)}"
        raise RequestError(422, "invalid_request", [("$", message)])
    return data


# ----------------------------------------------------------------------------- request fields


class _Fields:
    """Checks a request object's fields, collecting every problem before answering."""

    def __init__(self, data: Mapping[str, Any], known: Iterable[str]) -> None:
        self.data = data
        self.problems: list[tuple[str, str]] = []
        names = tuple(known)
        for key in data:
            if key not in names:
                self.problems.append((f"$.{key}", _unknown(key, names)))

    def problem(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def require(self, name: str) -> bool:
        if name in self.data:
            return True
        self.problems.append((f"$.{name}", "required field missing"))
        return False

    def load(self, name: str, cls: type[Any]) -> Any:
        """Field ``name`` structured as ``cls`` (``None`` after recording its problems)."""
        try:
            return structure(self.data[name], cls)
        except PolicyConfigError as error:
            self.problems.extend(_prefixed(error.problems, f"$.{name}"))
            return None

    def load_list(self, name: str, cls: type[Any]) -> list[Any]:
        value = self.data.get(name, [])
        if not isinstance(value, list):
            self.problem(f"$.{name}", f"expected a list, got {describe(value)}")
            return []
        loaded = []
        for index, item in enumerate(value):
            try:
                loaded.append(structure(item, cls))
            except PolicyConfigError as error:
                self.problems.extend(_prefixed(error.problems, f"$.{name}[{index}]"))
        return loaded

    def string_list(self, name: str) -> list[str] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(type(item) is str for item in value):
            self.problem(f"$.{name}", f"expected a list of strings, got {describe(value)}")
            return None
        return value

    def string(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is not None and type(value) is not str:
            self.problem(f"$.{name}", f"expected a string, got {describe(value)}")
            return None
        return value

    def day(self, name: str = "on") -> date:
        value = self.data.get(name)
        if value is None:
            return datetime.now(UTC).date()
        if type(value) is str:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        shown = repr(value) if type(value) is str else describe(value)
        self.problem(f"$.{name}", f"expected a date (YYYY-MM-DD), got {shown}")
        return datetime.now(UTC).date()

    def check(self) -> None:
        if self.problems:
            raise RequestError(422, "invalid_request", self.problems)


def _unknown(key: str, known: tuple[str, ...]) -> str:
    import difflib  # noqa: PLC0415 - only for a bad request

    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
    return f"unknown field ({hint})"


def _prefixed(problems: Iterable[tuple[str, str]], prefix: str) -> list[tuple[str, str]]:
    return [(prefix + path.removeprefix("$"), message) for path, message in problems]


def _accounts(fields: _Fields, config: Configuration) -> list[str]:
    known = [account.id for account in config.accounts]
    wanted = fields.string_list("accounts")
    if wanted is None:
        return known
    for index, account in enumerate(wanted):
        if account not in known:
            listed = ", ".join(known) or "none defined"
            fields.problem(f"$.accounts[{index}]", f"unknown account {account!r} (known: {listed})")
    return list(dict.fromkeys(wanted))


def _account(fields: _Fields, config: Configuration, name: str = "account") -> str | None:
    if not fields.require(name):
        return None
    account = fields.string(name)
    known = [item.id for item in config.accounts]
    if account is not None and account not in known:
        listed = ", ".join(known) or "none defined"
        fields.problem(f"$.{name}", f"unknown account {account!r} (known: {listed})")
        return None
    return account


# ------------------------------------------------------------------------------------ the app


def _dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _App:
    """What the handlers share: the state and the limits."""

    def __init__(
        self,
        state: ServiceState,
        *,
        max_body: int,
        max_batch: int,
        body_timeout: float,
    ) -> None:
        self.state = state
        self.max_body = max_body
        self.max_batch = max_batch
        self.body_timeout = body_timeout

    def response(
        self, data: dict[str, Any], status: int = 200, revision: str | None = None
    ) -> Response:
        revision = revision or self.state.revision
        body = {"revision": revision, **data}
        return Response(
            _dumps(body),
            status_code=status,
            media_type=JSON_TYPE,
            headers={REVISION_HEADER: revision},
        )

    def config_of(self, fields: _Fields, name: str = "config") -> tuple[Configuration, str]:
        """The configuration a request names, and its revision: the one it sends, else the
        served one."""
        if name not in fields.data:
            return self.state.current
        value = fields.data[name]
        if not isinstance(value, dict):
            fields.problem(f"$.{name}", f"expected a configuration object, got {describe(value)}")
            fields.check()
        try:
            config = load_config(value)
        except PolicyConfigError as error:
            fields.problems.extend(_prefixed(error.problems, f"$.{name}"))
            raise RequestError(422, "invalid_request", fields.problems) from None
        return config, config_revision(config)


Handler = Callable[[_App, Request], Awaitable[Response]]


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        app: _App = request.app.state.service
        try:
            return await handler(app, request)
        except RequestError as error:
            return app.response(_error_body(error, app.state.revision), error.status)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


# ------------------------------------------------------------------------------ the endpoints


def _item(fields: _Fields) -> Product | ProductFamily | None:
    """The request's ``product`` or ``family`` (exactly one)."""
    has_product, has_family = "product" in fields.data, "family" in fields.data
    if has_product == has_family:
        fields.problem("$", "give exactly one of 'product' and 'family'")
        return None
    if has_product:
        loaded: Product | ProductFamily | None = fields.load("product", Product)
        return loaded
    family: ProductFamily | None = fields.load("family", ProductFamily)
    return family


_EVALUATE_FIELDS = ("product", "family", "accounts", "on", "config")


async def evaluate(app: _App, request: Request) -> Response:
    """One product or family on each account: what is sent (``full``: the whole outcomes)."""
    data = await _json_body(request)
    full = data.pop("full", False)
    fields = _Fields(data, _EVALUATE_FIELDS)
    if type(full) is not bool:
        fields.problem("$.full", f"expected true or false, got {describe(full)}")
    config, revision = app.config_of(fields)
    item = _item(fields)
    accounts = _accounts(fields, config)
    on = fields.day()
    fields.check()
    outcomes: list[ListingOutcome | FamilyOutcome]
    if isinstance(item, ProductFamily):
        sku, kind = item.parent.sku, "family"
        outcomes = [evaluate_family(config, item, account, on=on) for account in accounts]
    else:
        assert isinstance(item, Product)
        sku, kind = item.sku, "product"
        outcomes = [evaluate_listing(config, item, account, on=on) for account in accounts]
    answer: dict[str, Any] = {"sku": sku, "kind": kind}
    if full:
        answer["outcomes"] = [unstructure(outcome) for outcome in outcomes]
    else:
        answer["accounts"] = [_row(outcome) for outcome in outcomes]
    return app.response(answer, revision=revision)


def _explanation(outcome: ListingOutcome | FamilyOutcome, sync: Any) -> list[dict[str, Any]]:
    """Every step behind a listing, in reading order, each with the part it decided."""
    steps: list[dict[str, Any]] = []

    def add(part: str, found: Iterable[Any]) -> None:
        steps.extend({"part": part, "code": step.code, "message": step.message} for step in found)

    add("template", outcome.reasons)
    # A family's quantity is a number; its children's steps are in its outcome.
    quantity = outcome.quantity if isinstance(outcome, ListingOutcome) else None
    if quantity is not None:
        add("quantity", quantity.steps)
    if outcome.price is not None:
        add("price", outcome.price.steps)
    if outcome.images is not None:
        add("images", outcome.images.steps)
    steps.extend(
        {"part": error.what, "code": error.code, "message": error.message}
        for error in outcome.errors
    )
    add("sync", sync.reasons)
    return steps


async def explain(app: _App, request: Request) -> Response:
    """Why a product gets what it gets on each account: outcome, sync decision, every step."""
    fields = _Fields(await _json_body(request), _EVALUATE_FIELDS)
    config, revision = app.config_of(fields)
    item = _item(fields)
    accounts = _accounts(fields, config)
    on = fields.day()
    fields.check()
    rows: list[tuple[str, ListingOutcome | FamilyOutcome, Any]] = []
    if isinstance(item, ProductFamily):
        sku = item.parent.sku
        change = ProductChange(kind=ChangeKind.CREATED, product=item.parent)
        for account in accounts:
            family = evaluate_family(config, item, account, on=on)
            decision = sync_family(config, item, change, account, on=on)
            rows.append((account, family, decision))
    else:
        assert isinstance(item, Product)
        sku = item.sku
        change = ProductChange(kind=ChangeKind.CREATED, product=item)
        for account in accounts:
            outcome = evaluate_listing(config, item, account, on=on)
            rows.append((account, outcome, sync_listing(config, change, account, on=on)))
    data = {
        "sku": sku,
        "accounts": [
            {
                "account": account,
                "outcome": unstructure(outcome),
                "sync": unstructure(decision),
                "explanation": _explanation(outcome, decision),
            }
            for account, outcome, decision in rows
        ],
    }
    return app.response(data, revision=revision)


async def decide_sync(app: _App, request: Request) -> Response:
    """What a product change sends to one account's channel (``sync_listing``/``sync_family``)."""
    fields = _Fields(await _json_body(request), ("change", "account", "family", "on", "config"))
    config, revision = app.config_of(fields)
    change = fields.load("change", ProductChange) if fields.require("change") else None
    account = _account(fields, config)
    family = fields.load("family", ProductFamily) if "family" in fields.data else None
    on = fields.day()
    fields.check()
    assert change is not None
    assert account is not None
    if family is not None:
        decision: Any = sync_family(config, family, change, account, on=on)
    else:
        decision = sync_listing(config, change, account, on=on)
    return app.response({"account": account, "decision": unstructure(decision)}, revision=revision)


async def stock_sync(app: _App, request: Request) -> Response:
    """The quantity updates a store stock event sends to each listing (``plan_stock_sync``)."""
    fields = _Fields(await _json_body(request), ("event", "listings", "config"))
    config, revision = app.config_of(fields)
    event = fields.load("event", StockEvent) if fields.require("event") else None
    listings = fields.load_list("listings", ChannelListing)
    fields.check()
    assert event is not None
    plan = plan_stock_sync(event, listings, config)
    return app.response({"plan": unstructure(plan)}, revision=revision)


async def order(app: _App, request: Request) -> Response:
    """Whether and how a channel order is created in the store (``plan_order``)."""
    fields = _Fields(
        await _json_body(request),
        ("order", "account", "catalog", "sequence", "imported", "config"),
    )
    config, revision = app.config_of(fields)
    channel_order = fields.load("order", ChannelOrder) if fields.require("order") else None
    account_id = _account(fields, config)
    catalog = fields.load_list("catalog", Product)
    sequence = fields.data.get("sequence", 1)
    if type(sequence) is not int or sequence < 1:
        fields.problem("$.sequence", f"expected an integer >= 1, got {describe(sequence)}")
    imported = fields.string_list("imported") or []
    policy = None
    if account_id is not None:
        account = next(item for item in config.accounts if item.id == account_id)
        if account.order_policy is None:
            fields.problem("$.account", f"account {account_id!r} has no order policy")
        else:
            policy = config.order_policies[account.order_policy]
    fields.check()
    assert channel_order is not None
    assert policy is not None
    products = {product.sku: product for product in catalog}
    plan = plan_order(channel_order, policy, products, sequence=sequence, imported=imported)
    return app.response({"plan": unstructure(plan)}, revision=revision)


async def preview(app: _App, request: Request) -> Response:
    """Every listing whose outcome a configuration edit changes (``preview_change``)."""
    fields = _Fields(await _json_body(request), ("config", "base", "products", "families", "on"))
    if not fields.require("config"):
        fields.check()
    old, revision = app.config_of(fields, "base")
    new, new_revision = app.config_of(fields, "config")
    products = fields.load_list("products", Product)
    families = fields.load_list("families", ProductFamily)
    on = fields.day()
    fields.check()
    changes = preview_change(old, new, products, on=on, families=families)
    data = {"new_revision": new_revision, "changes": [unstructure(item) for item in changes]}
    return app.response(data, revision=revision)


async def lint_endpoint(app: _App, request: Request) -> Response:
    """Validate a configuration (the served one without a body) and run the linter."""
    fields = _Fields(await _json_body(request, optional=True), ("config", "products", "families"))
    config, revision = app.config_of(fields)
    products = fields.load_list("products", Product) if "products" in fields.data else None
    families = fields.load_list("families", ProductFamily) if "families" in fields.data else None
    fields.check()
    warnings = lint(config, products=products, families=families)
    return app.response({"warnings": [unstructure(item) for item in warnings]}, revision=revision)


async def curve(app: _App, request: Request) -> Response:
    """Store quantity → listed quantity for 0…max under one inventory policy."""
    fields = _Fields(await _json_body(request), ("policy", "max", "config"))
    config, revision = app.config_of(fields)
    policy_id = fields.string("policy") if fields.require("policy") else None
    maximum = fields.data.get("max", 100)
    if type(maximum) is not int or not 0 <= maximum <= MAX_CURVE:
        fields.problem(
            "$.max", f"expected an integer from 0 to {MAX_CURVE}, got {describe(maximum)}"
        )
    policy = None
    if policy_id is not None:
        policy = config.inventory_policies.get(policy_id)
        if policy is None:
            known = ", ".join(sorted(config.inventory_policies)) or "none defined"
            fields.problem("$.policy", f"unknown inventory policy {policy_id!r} (known: {known})")
    fields.check()
    assert policy is not None
    points = quantity_curve(policy, maximum)
    data = {"policy": policy_id, "points": [unstructure(point) for point in points]}
    return app.response(data, revision=revision)


async def schema(app: _App, request: Request) -> Response:
    """The JSON Schema of the configuration, or of one kind (``/v1/schema/{kind}``)."""
    kind = request.path_params.get("kind")
    if kind is not None and kind not in SCHEMA_KINDS:
        message = f"unknown schema kind {kind!r} (known: {', '.join(SCHEMA_KINDS)})"
        raise RequestError(404, "unknown_kind", [("$", message)])
    revision = app.state.revision
    return Response(
        _dumps(json_schema(kind)),
        media_type="application/schema+json",
        headers={REVISION_HEADER: revision},
    )


async def current_config(app: _App, request: Request) -> Response:
    """The served configuration, as ``dump_config`` writes it."""
    config, revision = app.state.current
    return app.response({"config": dump_config(config)}, revision=revision)


async def reload(app: _App, request: Request) -> Response:
    """Load the configuration file again; a bad one keeps the old configuration serving."""
    await _read_body(request, app.max_body, app.body_timeout)
    old, new = await asyncio.to_thread(app.state.reload)
    return app.response({"previous_revision": old, "reloaded": old != new}, revision=new)


async def healthz(app: _App, request: Request) -> Response:
    """Liveness: the service answers, with its configuration's revision."""
    return app.response({"status": "ok", "version": __version__})


async def demo(app: _App, request: Request) -> Response:
    """The bundled demo store's products and families, for the playground to offer."""
    from policy_engine.cli._demo import load_sample_store  # noqa: PLC0415 - on demand

    store = await asyncio.to_thread(load_sample_store)
    data = {
        "today": store.today.isoformat(),
        "config": dump_config(store.configuration),
        "products": [unstructure(product) for product in store.products],
        "families": [unstructure(family) for family in store.families],
    }
    return app.response(data)


# ------------------------------------------------------------------------------------ batches


def _row(item: ListingOutcome | FamilyOutcome) -> dict[str, Any]:
    """One account's result as evaluate and batches answer it: what is sent, without steps."""
    images = item.images
    price = item.price
    row: dict[str, Any] = {"account": item.account, "template": item.template}
    if isinstance(item, ListingOutcome):
        quantity = item.quantity
        row["quantity"] = None if quantity is None else quantity.quantity
        row["quantity_rule"] = None if quantity is None else quantity.rule.value
    else:
        row["quantity"] = item.quantity
        row["quantity_rule"] = None
    row["price"] = None if price is None else str(price.amount)
    row["currency"] = None if price is None else price.currency
    row["images"] = None if images is None else list(images.images)
    row["errors"] = [
        {"what": error.what, "code": error.code, "message": error.message} for error in item.errors
    ]
    return row


def _split_lines(body: bytes) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of an NDJSON body with their 1-based line numbers."""
    for number, line in enumerate(body.split(b"\n"), 1):
        if line.strip():
            yield number, line


def _parse_line(line: bytes, number: int) -> Any:
    """A batch line's JSON value, or a :class:`RequestError` describing why it has none.

    The line is decoded by :func:`~policy_engine._jsonio.fast_decode` when it cannot nest deeper
    than the depth limit (it holds no more brackets than that): its value is then exactly the
    strict parser's. Anything else (no orjson, escapes, duplicate keys, bad UTF-8, ``NaN``, a
    syntax error, many brackets) goes to the strict parser, which gives the value or the error.
    """
    where = f"$[{number - 1}]"
    if len(line) > MAX_BODY_BYTES:
        message = f"the line is larger than {MAX_BODY_BYTES} bytes"
        return RequestError(413, "line_too_large", [(where, message)])
    if line.count(b"[") + line.count(b"{") <= MAX_JSON_DEPTH:
        decoded = fast_decode(line)
        if decoded is not NOT_DECODED:
            return decoded
    try:
        return _parse(_decode(line, where), where)
    except RequestError as error:
        return error


_NULL = "null"


def _text(value: Any) -> str:
    """A JSON value as :func:`_dumps` writes it (strings, integers and ``None`` directly)."""
    kind = type(value)
    if kind is str:
        return _encode_text(value)
    if value is None:
        return _NULL
    if kind is int:
        return int.__repr__(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _error_text(errors: tuple[OutcomeError, ...]) -> str:
    return ",".join(
        f'{{"what":{_text(error.what)},"code":{_text(error.code)},'
        f'"message":{_text(error.message)}}}'
        for error in errors
    )


class _RowWriter:
    """Writes :func:`_row` as JSON text, without the dictionary, exactly as :func:`_dumps` would.

    The accounts a product's template serves share its quantity, price and images (the same
    objects), so the text of those is written once and reused for the next account; the text of
    the values few in number (accounts, templates, rules, currencies) is kept.
    """

    def __init__(self) -> None:
        self.last: tuple[Any, ...] = ()
        self.tail = ""
        self.known: dict[Any, str] = {}

    def _known(self, value: Any) -> str:
        """The text of a value of which there are few (hashable: a string, an enum, None)."""
        text = self.known.get(value)
        if text is None:
            text = self.known[value] = _text(value.value if isinstance(value, Enum) else value)
        return text

    def __call__(self, item: ListingOutcome | FamilyOutcome) -> str:
        quantity, price, images, errors = item.quantity, item.price, item.images, item.errors
        last = self.last
        if not (
            last
            and quantity is last[0]
            and price is last[1]
            and images is last[2]
            and errors is last[3]
        ):
            self.last = (quantity, price, images, errors)
            self.tail = self._tail(item)
        known = self.known
        account = known.get(item.account) or self._known(item.account)
        template = known.get(item.template) or self._known(item.template)
        return f'{{"account":{account},"template":{template},{self.tail}'

    def _tail(self, item: ListingOutcome | FamilyOutcome) -> str:
        quantity, price, images, errors = item.quantity, item.price, item.images, item.errors
        if isinstance(item, ListingOutcome):
            if quantity is None:
                counted = rule = _NULL
            else:
                assert isinstance(quantity, QuantityResult)
                counted, rule = _text(quantity.quantity), self._known(quantity.rule)
        else:
            counted, rule = _text(quantity), _NULL
        if price is None:
            amount = currency = _NULL
        else:
            amount, currency = _text(str(price.amount)), self._known(price.currency)
        shown = _NULL if images is None else f"[{','.join(map(_encode_text, images.images))}]"
        failed = _error_text(errors) if errors else ""
        return (
            f'"quantity":{counted},"quantity_rule":{rule},"price":{amount},'
            f'"currency":{currency},"images":{shown},"errors":[{failed}]}}'
        )


def _evaluate_batch(
    config: Configuration,
    accounts: list[str],
    on: date,
    lines: list[tuple[int, bytes]],
    *,
    full: bool,
) -> bytes:
    """NDJSON for a chunk of lines: one line per input line, in order.

    The lines are evaluated by :func:`~policy_engine.evaluate_many` (each product's results
    computed once per template, shared by the accounts it serves) and each answer line is
    written as text, exactly as :func:`_dumps` writes the record.
    """
    with gc_paused():  # thousands of short-lived objects and no cycle among them
        parsed = [(number, _parse_line(line, number)) for number, line in lines]
        good = [value for _, value in parsed if not isinstance(value, RequestError)]
        outcomes = list(evaluate_many(config, good, accounts=accounts, on=on))
        out: list[str] = []
        width = len(accounts)
        row = _RowWriter()
        write = to_json if full else row
        key = '"outcomes":[' if full else '"accounts":['
        start = 0
        for number, value in parsed:
            if isinstance(value, RequestError):
                problems = _problem_list(value.problems)
                record = {"line": number, "error": {"code": value.code, "problems": problems}}
                out.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
                continue
            group = outcomes[start : start + width]
            start += width
            head = f'{{"line":{number},"sku":{_text(_sku(value))},'
            if group and group[0].errors and any(e.what == "product" for e in group[0].errors):
                failure = next(error for error in group[0].errors if error.what == "product")
                code, message = _text(failure.code), _text(failure.message)
                out.append(f'{head}"error":{{"code":{code},"message":{message}}}}}')
            else:
                out.append(f"{head}{key}{','.join(map(write, group))}]}}")
        out.append("")
        return "\n".join(out).encode("utf-8")


def _problem_list(problems: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"path": path, "message": message} for path, message in problems]


def _sku(value: Any) -> str | None:
    """The SKU a batch line names, when it names one (a family: its parent's)."""
    if isinstance(value, dict):
        parent = value.get("parent")
        sku = parent.get("sku") if isinstance(parent, dict) else value.get("sku")
        if type(sku) is str:
            return sku
    return None


async def evaluate_batch(app: _App, request: Request) -> Response:
    """Many products (NDJSON in) → one NDJSON line per input line, streamed, in order."""
    body = await _read_body(request, app.max_batch, app.body_timeout)
    media = _media_type(request)
    if media not in NDJSON_TYPES:
        listed = ", ".join(sorted(NDJSON_TYPES))
        message = f"expected Content-Type {listed}, got {media or 'none'}"
        raise RequestError(415, "unsupported_media_type", [("$", message)])
    config, revision = app.state.current
    fields = _Fields(
        {key: value for key, value in request.query_params.multi_items() if key != "account"},
        ("on", "full"),
    )
    accounts_wanted = request.query_params.getlist("account")
    if accounts_wanted:
        fields.data = {**fields.data, "accounts": accounts_wanted}
    accounts = _accounts(fields, config)
    on = fields.day()
    full = request.query_params.get("full", "false").lower()
    if full not in ("true", "false", "1", "0"):
        fields.problem("$.full", f"expected true or false, got {full!r}")
    fields.check()
    explain_all = full in ("true", "1")
    lines = list(_split_lines(body))
    del body

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(lines), BATCH_CHUNK):
            chunk = lines[start : start + BATCH_CHUNK]
            yield _evaluate_batch(config, accounts, on, chunk, full=explain_all)
            await asyncio.sleep(0)  # let other requests in between chunks

    return StreamingResponse(
        stream(),
        media_type="application/x-ndjson",
        headers={REVISION_HEADER: revision, "Policy-Engine-Items": str(len(lines))},
    )


# ------------------------------------------------------------------------------- errors, app


class _RevisionHeader:
    """Adds the served revision to every response that does not carry one (404s, 405s…)."""

    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = REVISION_HEADER.lower().encode("latin-1")

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(key.lower() == name for key, _ in headers):
                    headers.append((name, self.state.revision.encode("latin-1")))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


async def _http_error(request: Request, error: Exception) -> Response:
    app: _App = request.app.state.service
    assert isinstance(error, HTTPException)
    status = error.status_code
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
    message = (
        f"no such endpoint: {request.method} {request.url.path}"
        if status == 404
        else f"{error.detail} ({request.method} {request.url.path})"
    )
    failure = RequestError(status, code, [("$", message)])
    return app.response(_error_body(failure, app.state.revision), status)


async def _internal_error(request: Request, error: Exception) -> Response:
    """Any other failure: logged here with its traceback, answered without one."""
    app: _App = request.app.state.service
    _log.error("internal error on %s %s", request.method, request.url.path, exc_info=error)
    failure = RequestError(500, "internal_error", [("$", "internal error (see the server log)")])
    return app.response(_error_body(failure, app.state.revision), 500)


def _static(name: str) -> bytes:
    return resources.files("policy_engine.service").joinpath("static", name).read_bytes()


_STATIC_TYPES = {
    "playground.js": "text/javascript; charset=utf-8",
    "playground.css": "text/css; charset=utf-8",
}


async def playground(app: _App, request: Request) -> Response:
    """The playground page."""
    return Response(_static("playground.html"), media_type="text/html; charset=utf-8")


async def static_file(app: _App, request: Request) -> Response:
    """The playground's script and style sheet."""
    name = request.path_params["name"]
    media = _STATIC_TYPES.get(name)
    if media is None:
        raise RequestError(404, "not_found", [("$", f"no such file: {name}")])
    return Response(_static(name), media_type=media, headers={"Cache-Control": "no-cache"})


async def openapi(app: _App, request: Request) -> Response:
    """The OpenAPI 3.1 document of the service."""
    from policy_engine.service._openapi import openapi_document  # noqa: PLC0415 - cycle

    return Response(_dumps(openapi_document()), media_type=JSON_TYPE)


def _routes() -> list[Route]:
    from policy_engine.service._webhook import adobe_commerce  # noqa: PLC0415 - cycle

    post: list[tuple[str, Handler]] = [
        ("/v1/evaluate", evaluate),
        ("/v1/evaluate/batch", evaluate_batch),
        ("/v1/explain", explain),
        ("/v1/decide_sync", decide_sync),
        ("/v1/plan_stock_sync", stock_sync),
        ("/v1/plan_order", order),
        ("/v1/preview", preview),
        ("/v1/lint", lint_endpoint),
        ("/v1/quantity_curve", curve),
        ("/v1/reload", reload),
        ("/v1/webhooks/adobe-commerce", adobe_commerce),
    ]
    get: list[tuple[str, Handler]] = [
        ("/", playground),
        ("/playground/{name}", static_file),
        ("/healthz", healthz),
        ("/openapi.json", openapi),
        ("/v1/schema", schema),
        ("/v1/schema/{kind}", schema),
        ("/v1/config", current_config),
        ("/v1/demo", demo),
    ]
    routes = [Route(path, _endpoint(handler), methods=["POST"]) for path, handler in post]
    routes += [Route(path, _endpoint(handler), methods=["GET"]) for path, handler in get]
    return routes


def create_app(
    config: Configuration | ServiceState | str | Path,
    *,
    max_body: int = MAX_BODY_BYTES,
    max_batch: int = MAX_BATCH_BYTES,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    reload_on_sighup: bool = False,
) -> Starlette:
    """The decision service as an ASGI application.

    Args:
        config: The configuration to serve: a file (JSON or TOML; ``POST /v1/reload`` and
            SIGHUP read it again), a loaded ``Configuration``, or a ``ServiceState``.
        max_body: The largest JSON request body, in bytes (larger: 413).
        max_batch: The largest NDJSON batch body, in bytes (larger: 413).
        body_timeout: Seconds a client has to send a whole body (slower: 408).
        reload_on_sighup: Reload the configuration file on SIGHUP (the ``serve`` command's
            choice; it needs the main thread's event loop).

    Raises:
        PolicyConfigError: when the configuration file does not load.
    """
    if isinstance(config, ServiceState):
        state = config
    elif isinstance(config, Configuration):
        state = ServiceState(config)
    else:
        state = ServiceState.from_path(config)
    shared = _App(state, max_body=max_body, max_batch=max_batch, body_timeout=body_timeout)

    @asynccontextmanager
    async def lifespan(application: Starlette) -> AsyncIterator[None]:
        sighup = reload_on_sighup and state.path is not None
        if sighup:  # pragma: no cover - the main thread's loop: tested in a subprocess
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, _reload_logged, state)
        yield
        if sighup:  # pragma: no cover - likewise
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

    application = Starlette(
        routes=_routes(),
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
        lifespan=lifespan,
    )
    application.state.service = shared
    application.add_middleware(_RevisionHeader, state=state)
    return application


def _reload_logged(state: ServiceState) -> None:
    """SIGHUP: reload, and log the outcome (a bad document keeps the old one serving)."""
    try:
        old, new = state.reload()
    except RequestError as error:
        _log.error("reload refused, still serving %s: %s", state.revision, error)
        return
    _log.info("reloaded %s: revision %s (was %s)", state.path, new, old)
