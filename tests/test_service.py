"""The decision service over HTTP: every endpoint answers what the library computes, with the
configuration's revision, and bad or hostile requests get a clear 4xx while the server keeps
serving. The server runs on uvicorn in a thread, on a free port of 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine import (
    ChangeKind,
    Configuration,
    Product,
    ProductChange,
    Stock,
    StockEvent,
    config_revision,
    dump_config,
    evaluate_family,
    evaluate_listing,
    evaluate_many,
    json_schema,
    lint,
    plan_order,
    plan_stock_sync,
    preview_change,
    quantity_curve,
    sync_family,
    sync_listing,
    unstructure,
)
from policy_engine.adapters.magento import product_to_rest
from policy_engine.cli._demo import SampleStore, load_sample_store
from policy_engine.service import (
    MAX_BODY_BYTES,
    REVISION_HEADER,
    ServiceState,
    create_app,
    openapi_document,
)
from policy_engine.testing import products as product_strategy
from service_support import HOST, get_json, post_json, request, running, serving

STORE = load_sample_store()
CONFIG = STORE.configuration
REVISION = config_revision(CONFIG)
ON = STORE.today
NDJSON = {"Content-Type": "application/x-ndjson"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """The sample store's configuration, served for the whole module."""
    with serving(CONFIG, body_timeout=5.0) as base:
        yield base


def _product(sku: str) -> Product:
    return STORE.product(sku)


def _edited(store: SampleStore, above: int) -> Configuration:
    """The sample configuration with the threshold policy's ``above`` quantity changed."""
    policy = store.configuration.inventory_policies["threshold"]
    assert policy.threshold is not None
    threshold = attrs.evolve(policy.threshold, above=above)
    policies = dict(store.configuration.inventory_policies)
    policies["threshold"] = attrs.evolve(policy, threshold=threshold)
    return attrs.evolve(store.configuration, inventory_policies=policies)


def _alive(url: str) -> None:
    status, headers, body = get_json(url, "/healthz")
    assert status == 200
    assert body["status"] == "ok"
    assert headers[REVISION_HEADER.lower()] == body["revision"]


class TestAnswers:
    """Each endpoint answers what the library computes, under the configuration's revision."""

    def test_healthz_names_the_revision(self, url: str) -> None:
        """The health check carries the served configuration's revision, header and body."""
        status, headers, body = get_json(url, "/healthz")
        assert (status, body["status"], body["revision"]) == (200, "ok", REVISION)
        assert headers["policy-engine-revision"] == REVISION

    def test_evaluate_product(self, url: str) -> None:
        """One product: one outcome per account, equal to evaluate_listing's."""
        product = _product("24-MB01")
        status, headers, body = post_json(
            url,
            "/v1/evaluate",
            {"product": unstructure(product), "on": ON.isoformat(), "full": True},
        )
        assert status == 200
        assert headers["policy-engine-revision"] == body["revision"] == REVISION
        expected = [
            unstructure(evaluate_listing(CONFIG, product, account.id, on=ON))
            for account in CONFIG.accounts
        ]
        assert (body["sku"], body["kind"], body["outcomes"]) == ("24-MB01", "product", expected)

    def test_evaluate_answers_what_is_sent(self, url: str) -> None:
        """Without full, each account's row: template, quantity and rule, price, images."""
        product = _product("24-MB01")
        status, _, body = post_json(
            url, "/v1/evaluate", {"product": unstructure(product), "on": ON.isoformat()}
        )
        assert status == 200
        rows = []
        for account in CONFIG.accounts:
            outcome = evaluate_listing(CONFIG, product, account.id, on=ON)
            assert outcome.quantity is not None
            assert outcome.price is not None
            assert outcome.images is not None
            rows.append(
                {
                    "account": account.id,
                    "template": outcome.template,
                    "quantity": outcome.quantity.quantity,
                    "quantity_rule": outcome.quantity.rule.value,
                    "price": str(outcome.price.amount),
                    "currency": outcome.price.currency,
                    "images": list(outcome.images.images),
                    "errors": [],
                }
            )
        assert body["accounts"] == rows

    def test_evaluate_family_on_chosen_accounts(self, url: str) -> None:
        """A family, on the accounts asked for, in their order."""
        family = STORE.families[0]
        status, _, body = post_json(
            url,
            "/v1/evaluate",
            {
                "family": unstructure(family),
                "accounts": ["ebay-de", "aliexpress-us"],
                "on": "2026-11-23",
                "full": True,
            },
        )
        assert status == 200
        expected = [
            unstructure(evaluate_family(CONFIG, family, account, on=ON))
            for account in ("ebay-de", "aliexpress-us")
        ]
        assert (body["kind"], body["outcomes"]) == ("family", expected)

    def test_evaluate_with_a_sent_configuration(self, url: str) -> None:
        """A configuration sent with the request decides, and its revision is the answer's."""
        edited = _edited(STORE, above=25)
        product = _product("24-MB01")
        status, headers, body = post_json(
            url,
            "/v1/evaluate",
            {
                "product": unstructure(product),
                "accounts": ["ebay-de"],
                "on": "2026-11-23",
                "config": dump_config(edited),
            },
        )
        assert status == 200
        assert headers["policy-engine-revision"] == body["revision"] == config_revision(edited)
        assert body["accounts"][0]["quantity"] == 25
        # The served configuration did not change.
        _, _, served = get_json(url, "/healthz")
        assert served["revision"] == REVISION

    def test_explain_lists_every_step(self, url: str) -> None:
        """Explain gives the outcome, the sync decision and every step in reading order."""
        product = _product("24-MB01")
        status, _, body = post_json(
            url,
            "/v1/explain",
            {"product": unstructure(product), "accounts": ["ebay-de"], "on": "2026-11-23"},
        )
        assert status == 200
        (entry,) = body["accounts"]
        outcome = evaluate_listing(CONFIG, product, "ebay-de", on=ON)
        change = ProductChange(kind=ChangeKind.CREATED, product=product)
        decision = sync_listing(CONFIG, change, "ebay-de", on=ON)
        assert entry["outcome"] == unstructure(outcome)
        assert entry["sync"] == unstructure(decision)
        assert outcome.quantity is not None
        assert outcome.price is not None
        assert outcome.images is not None
        steps = [
            *outcome.reasons,
            *outcome.quantity.steps,
            *outcome.price.steps,
            *outcome.images.steps,
            *decision.reasons,
        ]
        assert [step["message"] for step in entry["explanation"]] == [
            step.message for step in steps
        ]
        assert entry["explanation"][0]["part"] == "template"
        assert entry["explanation"][-1]["part"] == "sync"

    def test_explain_a_family(self, url: str) -> None:
        """Explain a family: its outcome and the family's sync decision."""
        family = STORE.families[0]
        status, _, body = post_json(
            url,
            "/v1/explain",
            {"family": unstructure(family), "accounts": ["ebay-de"], "on": "2026-11-23"},
        )
        assert status == 200
        change = ProductChange(kind=ChangeKind.CREATED, product=family.parent)
        decision = sync_family(CONFIG, family, change, "ebay-de", on=ON)
        assert body["accounts"][0]["sync"] == unstructure(decision)
        assert body["accounts"][0]["explanation"][-1]["part"] == "sync"

    def test_explain_shows_a_failed_price(self, url: str) -> None:
        """A part that failed is one explanation step with its error code."""
        product = attrs.evolve(_product("24-MB01"), price=None, attributes={})
        status, _, body = post_json(
            url,
            "/v1/explain",
            {"product": unstructure(product), "accounts": ["ebay-de"], "on": "2026-11-23"},
        )
        assert status == 200
        outcome = evaluate_listing(CONFIG, product, "ebay-de", on=ON)
        assert outcome.errors
        parts = [step["part"] for step in body["accounts"][0]["explanation"]]
        assert outcome.errors[0].what in parts

    def test_decide_sync(self, url: str) -> None:
        """decide_sync answers sync_listing's decision for the account."""
        product = _product("24-MB01")
        change = ProductChange(kind=ChangeKind.UPDATED, product=product, changed=frozenset({"qty"}))
        status, _, body = post_json(
            url, "/v1/decide_sync", {"change": unstructure(change), "account": "tiktok-uk"}
        )
        assert status == 200
        assert body["decision"] == unstructure(sync_listing(CONFIG, change, "tiktok-uk"))

    def test_decide_sync_for_a_family(self, url: str) -> None:
        """With a family, decide_sync answers sync_family's decision."""
        family = STORE.families[0]
        change = ProductChange(kind=ChangeKind.CREATED, product=family.parent)
        status, _, body = post_json(
            url,
            "/v1/decide_sync",
            {
                "change": unstructure(change),
                "account": "ebay-de",
                "family": unstructure(family),
                "on": "2026-11-23",
            },
        )
        assert status == 200
        expected = sync_family(CONFIG, family, change, "ebay-de", on=ON)
        assert body["decision"] == unstructure(expected)

    def test_plan_stock_sync(self, url: str) -> None:
        """plan_stock_sync answers the library's plan for the event and listings."""
        listings = STORE.orders.listings
        sku = listings[0].sku
        event = StockEvent(
            sku=sku,
            source="sales_order",
            stock=Stock(qty=3),
            at=datetime(2026, 11, 23, 10, tzinfo=UTC),
        )
        status, _, body = post_json(
            url,
            "/v1/plan_stock_sync",
            {"event": unstructure(event), "listings": [unstructure(item) for item in listings]},
        )
        assert status == 200
        assert body["plan"] == unstructure(plan_stock_sync(event, listings, CONFIG))

    def test_plan_order(self, url: str) -> None:
        """plan_order answers the plan under the account's order policy."""
        orders = STORE.orders
        account = next(item for item in CONFIG.accounts if item.id == orders.account)
        assert account.order_policy is not None
        policy = CONFIG.order_policies[account.order_policy]
        catalog = {product.sku: product for product in STORE.products}
        status, _, body = post_json(
            url,
            "/v1/plan_order",
            {
                "order": unstructure(orders.orders[0]),
                "account": orders.account,
                "catalog": [unstructure(product) for product in STORE.products],
                "sequence": orders.first_sequence,
            },
        )
        assert status == 200
        expected = plan_order(orders.orders[0], policy, catalog, sequence=orders.first_sequence)
        assert body["plan"] == unstructure(expected)

    def test_plan_order_needs_an_order_policy(self, url: str) -> None:
        """An account without an order policy, and a bad sequence, are reported together."""
        status, _, body = post_json(
            url,
            "/v1/plan_order",
            {"order": unstructure(STORE.orders.orders[0]), "account": "ebay-de", "sequence": 0},
        )
        assert status == 422
        assert _paths(body) == ["$.sequence", "$.account"]

    def test_preview(self, url: str) -> None:
        """preview answers every listing change of the edit against the served configuration."""
        edited = _edited(STORE, above=25)
        status, _, body = post_json(
            url,
            "/v1/preview",
            {
                "config": dump_config(edited),
                "products": [unstructure(product) for product in STORE.products],
                "on": "2026-11-23",
            },
        )
        assert status == 200
        expected = preview_change(CONFIG, edited, STORE.products, on=ON)
        assert expected
        assert body["changes"] == [unstructure(change) for change in expected]
        assert (body["revision"], body["new_revision"]) == (REVISION, config_revision(edited))

    def test_lint_the_served_configuration(self, url: str) -> None:
        """An empty lint request lints the served configuration."""
        status, _, body = request(url, "POST", "/v1/lint")
        assert status == 200
        assert json.loads(body)["warnings"] == [unstructure(item) for item in lint(CONFIG)]

    def test_lint_a_sent_configuration_with_products(self, url: str) -> None:
        """Lint a sent configuration against a catalog: the linter's warnings for both."""
        data = dump_config(CONFIG)
        products = [unstructure(product) for product in STORE.products]
        families = [unstructure(family) for family in STORE.families]
        status, _, body = post_json(
            url, "/v1/lint", {"config": data, "products": products, "families": families}
        )
        assert status == 200
        expected = lint(CONFIG, products=STORE.products, families=STORE.families)
        assert body["warnings"] == [unstructure(item) for item in expected]

    def test_quantity_curve(self, url: str) -> None:
        """The curve is quantity_curve's points for the policy."""
        status, _, body = post_json(url, "/v1/quantity_curve", {"policy": "threshold", "max": 30})
        assert status == 200
        expected = quantity_curve(CONFIG.inventory_policies["threshold"], 30)
        assert body["points"] == [unstructure(point) for point in expected]

    def test_schema(self, url: str) -> None:
        """The schema endpoints serve json_schema's documents."""
        status, headers, body = get_json(url, "/v1/schema")
        assert (status, body) == (200, json_schema())
        assert headers["content-type"] == "application/schema+json"
        status, _, body = get_json(url, "/v1/schema/inventory_policy")
        assert (status, body) == (200, json_schema("inventory_policy"))

    def test_unknown_schema_kind(self, url: str) -> None:
        """An unknown kind is a 404 listing the known ones."""
        status, _, body = get_json(url, "/v1/schema/nope")
        assert status == 404
        assert "unknown schema kind 'nope' (known: configuration," in body["error"]["message"]

    def test_config_and_demo(self, url: str) -> None:
        """The served configuration as dump_config writes it, and the demo store's products."""
        status, _, body = get_json(url, "/v1/config")
        assert (status, body["config"]) == (200, dump_config(CONFIG))
        status, _, body = get_json(url, "/v1/demo")
        assert status == 200
        assert [item["sku"] for item in body["products"]] == [p.sku for p in STORE.products]
        assert body["today"] == "2026-11-23"

    def test_playground_files(self, url: str) -> None:
        """The playground page, its script and style sheet are served; nothing else is."""
        status, headers, body = request(url, "GET", "/")
        assert status == 200
        assert headers["content-type"].startswith("text/html")
        assert b"/playground/playground.js" in body
        for name, media in (("playground.js", "text/javascript"), ("playground.css", "text/css")):
            status, headers, _ = request(url, "GET", f"/playground/{name}")
            assert (status, headers["content-type"].split(";")[0]) == (200, media)
        status, _, _ = request(url, "GET", "/playground/secret.py")
        assert status == 404


class TestOpenApi:
    """The OpenAPI document embeds the library's JSON Schemas; there is no second copy."""

    def test_served_document(self, url: str) -> None:
        """GET /openapi.json serves openapi_document()."""
        status, _, body = get_json(url, "/openapi.json")
        assert (status, body) == (200, openapi_document())

    def test_models_are_json_schema_documents(self) -> None:
        """Each request model under components is json_schema's document, unchanged."""
        schemas = openapi_document()["components"]["schemas"]
        assert schemas["Configuration"] == json_schema("configuration")
        assert schemas["Product"] == json_schema("product")
        assert schemas["ProductFamily"] == json_schema("product_family")
        assert schemas["ChannelOrder"] == json_schema("channel_order")

    def test_every_route_is_documented(self) -> None:
        """Every route of the app has a path in the document, and every reference resolves."""
        document = openapi_document()
        app = create_app(CONFIG)
        paths = {route.path for route in app.routes}  # type: ignore[attr-defined]
        undocumented = paths - set(document["paths"]) - {"/", "/playground/{name}", "/openapi.json"}
        assert undocumented == set()
        text = json.dumps(document)
        for name in {part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]}:
            assert name in document["components"]["schemas"]

    def test_requests_validate_against_the_document(self) -> None:
        """The tests' own requests are valid under the document's request schemas."""
        jsonschema = pytest.importorskip("jsonschema")
        document = openapi_document()
        schema = {**document["components"]["schemas"]["EvaluateRequest"]}
        schema["$defs"] = document["components"]["schemas"]  # resolve #/components/... below
        text = json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
        validator = jsonschema.Draft202012Validator(json.loads(text))
        good = {"product": unstructure(_product("24-MB01")), "on": "2026-11-23"}
        assert list(validator.iter_errors(good)) == []
        assert list(validator.iter_errors({"product": {}, "extra": 1}))


class TestBatch:
    """Batches stream NDJSON: one line per input line, in order, failures included."""

    def _lines(self, items: list[Any]) -> bytes:
        return b"\n".join(
            item if isinstance(item, bytes) else json.dumps(item).encode() for item in items
        )

    def test_every_line_answers(self, url: str) -> None:
        """Good products, broken JSON and invalid products each get their own line, in order."""
        items: list[Any] = [unstructure(product) for product in STORE.products]
        items.insert(3, b"{not json")
        items.insert(5, {"sku": 5})
        items.append(unstructure(STORE.families[0]))
        status, headers, body = request(
            url,
            "POST",
            "/v1/evaluate/batch?on=2026-11-23&account=ebay-de",
            self._lines(items) + b"\n\n",
            NDJSON,
        )
        assert status == 200
        assert headers["content-type"] == "application/x-ndjson"
        assert headers["policy-engine-revision"] == REVISION
        lines = [json.loads(line) for line in body.splitlines()]
        assert len(lines) == len(items)
        assert [line["line"] for line in lines] == list(range(1, len(items) + 1))
        assert lines[3]["error"]["code"] == "invalid_json"
        assert lines[3]["error"]["problems"][0]["path"] == "$[3]"
        assert lines[5] == {
            "line": 6,
            "sku": None,
            "error": {
                "code": "invalid_product",
                "message": "expected a string, got an integer @ $.sku",
            },
        }
        expected = list(evaluate_many(CONFIG, STORE.products, accounts="ebay-de", on=ON))
        good = [line for line in lines[:-1] if "accounts" in line]
        assert [line["sku"] for line in good] == [outcome.sku for outcome in expected]
        for line, outcome in zip(good, expected, strict=True):
            (row,) = line["accounts"]
            assert outcome.quantity is not None
            assert row["quantity"] == outcome.quantity.quantity
            assert row["template"] == outcome.template
            assert row["price"] == (None if outcome.price is None else str(outcome.price.amount))
        assert lines[-1]["sku"] == STORE.families[0].parent.sku

    def test_full_outcomes(self, url: str) -> None:
        """full=true gives each account's whole outcome, as evaluate_many yields it."""
        product = _product("24-MB01")
        status, _, body = request(
            url,
            "POST",
            "/v1/evaluate/batch?full=true&on=2026-11-23",
            self._lines([unstructure(product)]),
            NDJSON,
        )
        assert status == 200
        (line,) = [json.loads(text) for text in body.splitlines()]
        expected = evaluate_many(CONFIG, [product], on=ON)
        assert line["outcomes"] == [unstructure(outcome) for outcome in expected]

    def test_bad_parameters(self, url: str) -> None:
        """Unknown accounts, parameters and values are reported before anything is evaluated."""
        status, _, body = request(
            url, "POST", "/v1/evaluate/batch?account=nope&full=maybe&on=x&bogus=1", b"{}", NDJSON
        )
        assert status == 422
        assert sorted(_paths(json.loads(body))) == ["$.accounts[0]", "$.bogus", "$.full", "$.on"]

    def test_wrong_content_type(self, url: str) -> None:
        """A batch must be NDJSON."""
        status, _, body = request(url, "POST", "/v1/evaluate/batch", b"{}", JSON)
        assert status == 415
        assert "application/x-ndjson" in json.loads(body)["error"]["message"]

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(items=st.lists(st.one_of(product_strategy(), st.binary(max_size=8)), max_size=12))
    def test_output_count_equals_input_count(self, url: str, items: list[Any]) -> None:
        """Whatever the lines hold, the answer has exactly one line per non-blank input line,
        each naming its line number, in order."""
        encoded = [
            item.replace(b"\n", b" ")
            if isinstance(item, bytes)
            else json.dumps(unstructure(item)).encode()
            for item in items
        ]
        body = b"\n".join(encoded)
        expected = [n for n, line in enumerate(body.split(b"\n"), 1) if line.strip()]
        status, _, answer = request(url, "POST", "/v1/evaluate/batch", body, NDJSON)
        assert status == 200
        assert [json.loads(line)["line"] for line in answer.splitlines()] == expected


def _paths(body: dict[str, Any]) -> list[str]:
    return [problem["path"] for problem in body["error"]["problems"]]


class TestBadRequests:
    """Bad input: a 4xx JSON answer with every problem and its path; never a traceback."""

    def test_every_problem_with_its_path(self, url: str) -> None:
        """Unknown fields, invalid values and unknown accounts are all reported at once."""
        status, headers, body = post_json(
            url,
            "/v1/evaluate",
            {"product": {"sku": 1, "price": "abc"}, "acounts": ["x"], "on": "tomorrow"},
        )
        assert status == 422
        assert headers["policy-engine-revision"] == body["revision"] == REVISION
        assert body["error"]["code"] == "invalid_request"
        problems = {item["path"]: item["message"] for item in body["error"]["problems"]}
        assert problems["$.acounts"] == "unknown field (did you mean 'accounts'?)"
        assert problems["$.product.sku"] == "expected a string, got an integer"
        assert problems["$.on"] == "expected a date (YYYY-MM-DD), got 'tomorrow'"
        assert "$.product.price" in problems

    def test_exactly_one_item(self, url: str) -> None:
        """A request with both a product and a family, or neither, is refused."""
        status, _, body = post_json(url, "/v1/evaluate", {})
        assert status == 422
        assert body["error"]["problems"] == [
            {"path": "$", "message": "give exactly one of 'product' and 'family'"}
        ]

    def test_required_fields_and_types(self, url: str) -> None:
        """Missing fields, non-lists and non-strings each name their path."""
        cases = [
            ("/v1/decide_sync", {"account": 3}, ["$.change", "$.account"]),
            ("/v1/decide_sync", {}, ["$.change", "$.account"]),
            ("/v1/plan_stock_sync", {"listings": {}}, ["$.event", "$.listings"]),
            ("/v1/plan_stock_sync", {"event": {}, "listings": [{"sku": ""}]}, None),
            ("/v1/quantity_curve", {"policy": "nope", "max": -1}, ["$.max", "$.policy"]),
            ("/v1/quantity_curve", {}, ["$.policy"]),
            ("/v1/preview", {}, ["$.config"]),
            ("/v1/evaluate", {"product": {}, "accounts": "ebay-de"}, None),
            (
                "/v1/evaluate",
                {"product": unstructure(_product("24-MB01")), "config": []},
                ["$.config"],
            ),
            ("/v1/decide_sync", {"change": {}, "account": "nope"}, None),
            ("/v1/evaluate", {"product": unstructure(_product("24-MB01")), "full": 1}, ["$.full"]),
        ]
        for path, data, expected in cases:
            status, _, body = post_json(url, path, data)
            assert status == 422, (path, data)
            if expected is not None:
                assert _paths(body) == expected, (path, data, body)

    def test_an_invalid_sent_configuration(self, url: str) -> None:
        """A sent configuration that does not load: its problems, under $.config."""
        data = dump_config(CONFIG)
        data["inventory_policies"]["buffered"]["buffer"] = -5
        status, _, body = post_json(url, "/v1/lint", {"config": data})
        assert status == 422
        assert body["error"]["problems"] == [
            {
                "path": "$.config.inventory_policies.buffered.buffer",
                "message": "must be >= 0 (got -5)",
            }
        ]

    def test_not_an_object(self, url: str) -> None:
        """A body that is JSON but not an object."""
        status, _, body = request(url, "POST", "/v1/evaluate", b"[1]", JSON)
        assert status == 422
        assert json.loads(body)["error"]["message"] == "expected a JSON object, got a list @ $"

    def test_duplicate_keys(self, url: str) -> None:
        """Duplicate keys are refused, as the library's loaders refuse them."""
        status, _, body = request(url, "POST", "/v1/evaluate", b'{"on": 1, "on": 2}', JSON)
        assert status == 400
        assert json.loads(body)["error"]["code"] == "invalid_json"

    def test_unknown_endpoint_and_method(self, url: str) -> None:
        """404 and 405 are JSON errors with the revision too."""
        status, headers, body = request(url, "GET", "/v2/nothing")
        assert status == 404
        assert headers["policy-engine-revision"] == REVISION
        assert json.loads(body)["error"]["code"] == "not_found"
        status, _, body = request(url, "DELETE", "/v1/evaluate")
        assert status == 405
        assert json.loads(body)["error"]["code"] == "method_not_allowed"

    def test_internal_error_has_no_traceback(
        self, url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        """An unexpected failure is a 500 JSON answer without a traceback; the log has it."""

        def broken(*args: object, **kwargs: object) -> None:
            msg = "boom"
            raise RuntimeError(msg)

        monkeypatch.setattr("policy_engine.service._app.lint", broken)
        status, _, body = request(url, "POST", "/v1/lint")
        assert status == 500
        assert b"Traceback" not in body
        assert b"boom" not in body
        assert json.loads(body)["error"]["code"] == "internal_error"
        assert "boom" in caplog.text
        _alive(url)


class TestHostile:
    """Hostile requests each get a clear 4xx, and the server keeps serving."""

    def test_a_declared_100_mb_body(self, url: str) -> None:
        """A Content-Length of 100 MB is refused from the header, before the body is read."""
        with socket.create_connection((HOST, int(url.rsplit(":", 1)[1]))) as sock:
            sock.sendall(
                b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 104857600\r\n\r\n"
            )
            answer = _read_answer(sock)
        assert answer.startswith(b"HTTP/1.1 413")
        assert b"the body is larger than 16777216 bytes (104857600)" in answer
        _alive(url)

    def test_a_streamed_100_mb_body(self, url: str) -> None:
        """A chunked body that grows past the limit is cut off with 413."""
        with socket.create_connection((HOST, int(url.rsplit(":", 1)[1]))) as sock:
            sock.sendall(
                b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
            try:
                for _ in range(100):
                    sock.sendall(chunk)
            except OSError:  # the server stopped reading: expected
                pass
            answer = _read_answer(sock)
        assert answer.startswith(b"HTTP/1.1 413")
        assert f"the body is larger than {MAX_BODY_BYTES} bytes".encode() in answer
        _alive(url)

    def test_deep_json(self, url: str) -> None:
        """JSON nested 100,000 levels deep is measured before parsing and refused."""
        status, _, body = request(url, "POST", "/v1/evaluate", b"[" * 100_000, JSON)
        assert status == 400
        assert json.loads(body)["error"]["message"] == (
            "the document is nested deeper than 256 levels (100000) @ $"
        )
        _alive(url)

    def test_invalid_utf8(self, url: str) -> None:
        """Bytes that are not UTF-8 are refused with the offending byte."""
        status, _, body = request(url, "POST", "/v1/evaluate", b'{"on": "\xff"}', JSON)
        assert status == 400
        assert json.loads(body)["error"]["message"] == (
            "the body is not UTF-8 text (byte 8: invalid start byte) @ $"
        )
        _alive(url)

    def test_wrong_content_type(self, url: str) -> None:
        """A JSON endpoint refuses a body that is not declared as JSON."""
        for headers in ({"Content-Type": "text/plain"}, {}):
            status, _, body = request(url, "POST", "/v1/evaluate", b"{}", headers)
            assert status == 415
            assert json.loads(body)["error"]["code"] == "unsupported_media_type"
        _alive(url)

    def test_unknown_fields(self, url: str) -> None:
        """Unknown fields anywhere are refused with their paths."""
        product = {**unstructure(_product("24-MB01")), "colour": "red"}
        status, _, body = post_json(url, "/v1/evaluate", {"product": product, "extra": True})
        assert status == 422
        assert _paths(body) == ["$.extra", "$.product.colour"]
        _alive(url)

    def test_slowloris(self) -> None:
        """A body trickled in byte by byte is cut off with 408; others are served meanwhile."""
        with serving(CONFIG, body_timeout=0.5) as base:
            port = int(base.rsplit(":", 1)[1])
            with socket.create_connection((HOST, port)) as sock:
                sock.sendall(
                    b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1000\r\n\r\n"
                )
                started = time.monotonic()
                for _ in range(4):
                    sock.sendall(b" ")
                    _alive(base)  # the server answers others while this body trickles
                    time.sleep(0.05)
                answer = _read_answer(sock)
                assert time.monotonic() - started < 5
            assert answer.startswith(b"HTTP/1.1 408")
            assert b"the body did not arrive within 0.5 seconds" in answer
            _alive(base)

    def test_oversized_batch_line(self) -> None:
        """A batch line over the line limit is that line's error; the other lines answer."""
        with serving(CONFIG, max_batch=MAX_BODY_BYTES * 2) as base:
            long_line = b'{"sku": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
            body = b"\n".join([json.dumps(unstructure(_product("24-MB01"))).encode(), long_line])
            status, _, answer = request(base, "POST", "/v1/evaluate/batch", body, NDJSON)
            assert status == 200
            first, second = (json.loads(line) for line in answer.splitlines())
            assert first["sku"] == "24-MB01"
            assert second["error"]["code"] == "line_too_large"
            status, _, _ = request(base, "POST", "/v1/evaluate/batch", body + b"\n" + body, NDJSON)
            assert status == 413


def _read_answer(sock: socket.socket) -> bytes:
    """Read an HTTP answer until the server closes or the JSON body is complete."""
    sock.settimeout(10)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:") and len(rest) >= int(
                line.split(b":")[1]
            ):
                return data
    return data


class TestReload:
    """Reload validates first: a bad configuration keeps the old one serving."""

    def test_reload_endpoint(self, tmp_path: Path) -> None:
        """A bad file is refused with every problem; a good one replaces the configuration."""
        path = tmp_path / "config.json"
        path.write_text(json.dumps(dump_config(CONFIG)), encoding="utf-8")
        with serving(path) as base:
            bad = dump_config(CONFIG)
            bad["inventory_policies"]["buffered"]["buffer"] = -5
            bad["image_policies"]["store"] = {"title": "x", "gallery_limit": 0}
            path.write_text(json.dumps(bad), encoding="utf-8")
            status, headers, body = request(base, "POST", "/v1/reload")
            answer = json.loads(body)
            assert status == 422
            assert answer["revision"] == headers["policy-engine-revision"] == REVISION
            assert _paths(answer) == [
                "$.inventory_policies.buffered.buffer",
                "$.image_policies.store.gallery_limit",
            ]
            assert not any(str(path) in item["message"] for item in answer["error"]["problems"])
            _, _, health = get_json(base, "/healthz")
            assert health["revision"] == REVISION

            edited = _edited(STORE, above=25)
            path.write_text(json.dumps(dump_config(edited)), encoding="utf-8")
            status, headers, body = request(base, "POST", "/v1/reload")
            answer = json.loads(body)
            assert status == 200
            assert answer == {
                "revision": config_revision(edited),
                "previous_revision": REVISION,
                "reloaded": True,
            }
            assert headers["policy-engine-revision"] == config_revision(edited)
            _, _, health = get_json(base, "/healthz")
            assert health["revision"] == config_revision(edited)

            path.write_bytes(b"\xff")
            status, _, body = request(base, "POST", "/v1/reload")
            assert status == 422
            error = json.loads(body)["error"]
            assert error["code"] == "invalid_config"
            assert error["problems"] == [
                {"path": "$", "message": "not UTF-8 text (byte 0: invalid start byte)"}
            ]

    def test_sighup_handler_logs(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        """The SIGHUP handler logs a refused reload and keeps the old revision, then a reload."""
        from policy_engine.service._app import _reload_logged

        path = tmp_path / "config.json"
        path.write_text(json.dumps(dump_config(CONFIG)), encoding="utf-8")
        state = ServiceState.from_path(path)
        path.write_text('{"accounts": 5}', encoding="utf-8")
        with caplog.at_level("INFO", logger="policy_engine.service"):
            _reload_logged(state)
            assert state.revision == REVISION
            assert f"reload refused, still serving {REVISION}" in caplog.text
            edited = _edited(STORE, above=25)
            path.write_text(json.dumps(dump_config(edited)), encoding="utf-8")
            _reload_logged(state)
        assert state.revision == config_revision(edited)
        assert f"revision {state.revision} (was {REVISION})" in caplog.text

    def test_nothing_to_reload(self, url: str) -> None:
        """A service started from a loaded configuration has no file to reload: 409."""
        status, _, body = request(url, "POST", "/v1/reload")
        assert status == 409
        assert json.loads(body)["error"]["code"] == "no_config_file"

    def test_state_from_a_state(self) -> None:
        """create_app takes a ServiceState as it is."""
        state = ServiceState(CONFIG)
        with running(create_app(state)) as base:
            _, _, health = get_json(base, "/healthz")
            assert health["revision"] == state.revision


class TestAdobeCommerceWebhook:
    """The webhook mode answers Adobe Commerce operations."""

    def _hook(self, url: str, query: str, data: Any) -> tuple[int, Any]:
        status, _, body = post_json(url, f"/v1/webhooks/adobe-commerce?{query}", data)
        return status, body

    def test_replace_quantity_and_price(self, url: str) -> None:
        """A listed product: replace operations with the account's quantity and price."""
        product = _product("24-MB01")
        status, body = self._hook(url, "account=ebay-de", {"product": product_to_rest(product)})
        outcome = evaluate_listing(CONFIG, product, "ebay-de", on=date.today())  # noqa: DTZ011
        assert status == 200
        assert outcome.quantity is not None
        assert outcome.price is not None
        assert body == [
            {
                "op": "replace",
                "path": "product/marketplace_qty",
                "value": outcome.quantity.quantity,
            },
            {
                "op": "replace",
                "path": "product/marketplace_price",
                "value": str(outcome.price.amount),
            },
        ]

    def test_custom_paths(self, url: str) -> None:
        """The prefix and attribute codes are the host's choice."""
        product = _product("24-MB01")
        status, body = self._hook(
            url,
            "account=ebay-de&prefix=data/product&quantity_attribute=ebay_qty&price_attribute=ebay_price",
            {"product": product_to_rest(product), "source_items": []},
        )
        assert status == 200
        assert [op["path"] for op in body] == ["data/product/ebay_qty", "data/product/ebay_price"]

    def test_not_listed_is_success(self) -> None:
        """A product no template lists changes nothing: the success operation."""
        gear_only = attrs.evolve(CONFIG, templates=CONFIG.templates[1:2])
        product = _product("MH01-S-Gray")
        assert evaluate_listing(gear_only, product, "ebay-de").template is None
        with serving(gear_only) as base:
            status, body = self._hook(
                base, "account=ebay-de", {"product": product_to_rest(product)}
            )
        assert (status, body) == (200, [{"op": "success"}])

    def test_unreadable_product_is_an_exception(self, url: str) -> None:
        """A product that cannot be read: the exception operation naming each problem."""
        status, body = self._hook(
            url, "account=ebay-de", {"product": {"sku": 5}, "source_items": {}}
        )
        assert status == 200
        (operation,) = body
        assert operation["op"] == "exception"
        assert "@ $.source_items" in operation["message"]
        status, body = self._hook(url, "account=ebay-de", {"product": {"sku": 5}})
        assert "@ $.product.sku" in body[0]["message"]

    def test_bad_query(self, url: str) -> None:
        """An unknown or missing account, or a bad path, is a 422 before the body is read."""
        status, body = self._hook(url, "prefix=../x", {})
        assert status == 422
        assert _paths(body) == ["$.account", "$.prefix"]
        status, body = self._hook(url, "account=nope", {})
        assert status == 422
        assert "unknown account 'nope'" in body["error"]["message"]
