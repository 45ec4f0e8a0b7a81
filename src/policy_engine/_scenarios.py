"""Scenario tests for policies: GIVEN a configuration, a catalog and events, EXPECT decisions.

A scenario file (JSON, or TOML by its ``.toml`` suffix) pins what a configuration must decide,
so that an integrator can change a policy and see at once which decisions move:

- ``given``: the ``config`` (a configuration object, or a path relative to the scenario file),
  ``on`` (the day prices are computed for), ``products``, ``listings`` (the listing state: where
  each product is listed, with which template, the quantity last sent…) and ``events`` (product
  changes, stock events and channel orders, in order);
- ``expect``: the results that must be observed, each naming its result (``what``, ``sku``,
  ``account``, ``event``) and only the fields it checks.

:func:`run_scenario` decides everything and compares; :func:`scenario_coverage` tells which
reason and step codes no scenario reached. ``policy-engine test DIR`` runs a directory of them.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import attrs

from policy_engine._config import Configuration, _toml_key, _toml_value, load_config
from policy_engine._errors import PolicyConfigError
from policy_engine._listing import evaluate_listing, sync_listing
from policy_engine._models import Product
from policy_engine._orders import ChannelOrder, plan_order
from policy_engine._serialization import structure
from policy_engine._steps import Step, message_templates
from policy_engine._stock_sync import ChannelListing, StockEvent, plan_stock_sync
from policy_engine._sync import ChangeKind, Listing, ProductChange
from policy_engine._validation import describe, key_path

__all__ = [
    "OUTSIDE_SCENARIOS",
    "Scenario",
    "ScenarioResult",
    "load_scenario",
    "run_scenario",
    "scenario_coverage",
    "write_expectations",
]

#: The fields that name a result; every other field of an expectation is checked.
KEY_FIELDS = ("what", "event", "sku", "account")
_WHATS = ("listing", "sync", "stock", "order")
_TOP_KEYS = frozenset({"description", "given", "expect"})
_GIVEN_KEYS = frozenset({"config", "on", "products", "listings", "events"})
_EVENT_KINDS = ("change", "stock_event", "order")

#: Codes of decisions a scenario does not take — product families, batch loading, shipments —
#: left out of the rule coverage.
OUTSIDE_SCENARIOS = frozenset(
    {
        # Product families: evaluate_family, sync_family.
        "family_template",
        "variant_listed",
        "variant_disabled",
        "variant_out_of_stock",
        "variant_missing_attribute",
        "variant_unpriced",
        "component_listed",
        "component_unavailable",
        "component_optional",
        "component_unused",
        "family_quantity_sum",
        "family_quantity_sets",
        "family_quantity_bundles",
        "family_quantity_parent_disabled",
        "family_price_lowest_variant",
        "family_price_parent",
        "family_price_set",
        "family_price_bundle_dynamic",
        "family_price_bundle_fixed",
        "family_no_variant",
        "variants_over_channel_limit",
        "variation_attributes_over_channel_limit",
        "invalid_family",
        "family_evaluation_failed",
        "family_not_listed",
        "variant_added",
        "variant_removed",
        "variant_updated",
        "variant_not_listed",
        "component_changed",
        # Batch loading: evaluate_many.
        "invalid_product",
        "evaluation_failed",
        # Shipments: plan_shipment.
        "shipment_sku_mapped",
        "carrier_mapped",
        "carrier_mapped_ignoring_case",
    }
)


class Scenario(NamedTuple):
    """A loaded scenario file (a record of what was read, not a JSON model).

    Attributes:
        path: The file.
        description: What it pins, in words (may be empty).
        config: The configuration decided with.
        on: The day prices are computed for, or ``None`` (today).
        products: The catalog.
        listings: The listing state: ``(account, sku)`` → the listing.
        events: The events, in order: ``("change", account or None, ProductChange)``,
            ``("stock_event", None, StockEvent)`` or ``("order", account, (ChannelOrder,
            sequence))``.
        expect: The expectations, as written (objects of result fields).
        data: The whole document, as read (for :func:`write_expectations`).
    """

    path: Path
    description: str
    config: Configuration
    on: date | None
    products: tuple[Product, ...]
    listings: Mapping[tuple[str, str], Listing]
    events: tuple[tuple[str, str | None, Any], ...]
    expect: tuple[Mapping[str, Any], ...]
    data: Mapping[str, Any]


class ScenarioResult(NamedTuple):
    """What running a scenario found (a record, not a JSON model).

    Attributes:
        path: The scenario file.
        observed: Every result observed, as expectation objects (``what``, the key fields and
            every checked field), in order: listings, then each event's results.
        failures: Each expectation not met, naming its field:
            ``expect[2].quantity: expected 25, got 20 (listing 24-MB01 on ali-us)``.
        reached: The reason and step codes the scenario's results gave.
    """

    path: Path
    observed: tuple[Mapping[str, Any], ...]
    failures: tuple[str, ...]
    reached: frozenset[str]

    @property
    def passed(self) -> bool:
        """Whether every expectation was met."""
        return not self.failures


# -------------------------------------------------------------------------------------- loading


def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text)
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        kind = "TOML" if path.suffix == ".toml" else "JSON"
        raise PolicyConfigError([f"not {kind} ({error}) @ $"]) from None


def _under(path: str, error: PolicyConfigError) -> list[str]:
    return [f"{message} @ {path}{where[1:]}" for where, message in error.problems]


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load a scenario file (JSON, or TOML by its ``.toml`` suffix), checking everything.

    Raises:
        PolicyConfigError: every problem at once, each with its JSON path in the scenario
            (``unknown product '24-XX' @ $.given.events[1].change.sku``).
        OSError: the file (or the configuration file it names) cannot be read.
    """
    path = Path(path)
    data = _read(path)
    errors: list[str] = []
    if not isinstance(data, dict):
        raise PolicyConfigError([f"expected an object, got {describe(data)} @ $"])
    errors.extend(f"unknown field @ ${key_path(key)}" for key in data if key not in _TOP_KEYS)
    given = data.get("given")
    if not isinstance(given, dict):
        raise PolicyConfigError([*errors, f"expected an object, got {describe(given)} @ $.given"])
    errors.extend(
        f"unknown field @ $.given{key_path(key)}" for key in given if key not in _GIVEN_KEYS
    )
    description = data.get("description", "")
    if type(description) is not str:
        errors.append(f"expected a string, got {describe(description)} @ $.description")
    config = _load_config(path, given.get("config"), errors)
    on = _load_on(given.get("on"), errors)
    products = _load_list(given.get("products", []), "$.given.products", Product, errors)
    catalog = {product.sku: product for product in products}
    listings = _load_listings(given.get("listings", []), errors)
    events = _load_events(given.get("events", []), catalog, listings, errors)
    expect = _load_expect(data.get("expect", []), errors)
    if errors or config is None:
        raise PolicyConfigError(errors)
    return Scenario(
        path=path,
        description=description,
        config=config,
        on=on,
        products=tuple(products),
        listings=listings,
        events=tuple(events),
        expect=tuple(expect),
        data=data,
    )


def _load_config(path: Path, value: Any, errors: list[str]) -> Configuration | None:
    try:
        if isinstance(value, str):
            return load_config(path.parent / value)
        if isinstance(value, dict):
            return load_config(value)
    except PolicyConfigError as error:
        where = "$.given.config" if isinstance(value, dict) else f"{value}: $"
        errors.extend(_under(where, error))
        return None
    errors.append(
        "required field missing @ $.given.config"
        if value is None
        else f"expected a path or an object, got {describe(value)} @ $.given.config"
    )
    return None


def _load_on(value: Any, errors: list[str]) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):  # TOML has dates
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors.append(f"expected a date YYYY-MM-DD, got {describe(value)} @ $.given.on")
    return None


def _load_list(value: Any, path: str, cls: type[Any], errors: list[str]) -> list[Any]:
    if not isinstance(value, list):
        errors.append(f"expected a list, got {describe(value)} @ {path}")
        return []
    loaded = []
    for index, item in enumerate(value):
        try:
            loaded.append(structure(item, cls))
        except PolicyConfigError as error:
            errors.extend(_under(f"{path}[{index}]", error))
    return loaded


def _load_listings(value: Any, errors: list[str]) -> dict[tuple[str, str], Listing]:
    if not isinstance(value, list):
        errors.append(f"expected a list, got {describe(value)} @ $.given.listings")
        return {}
    listings: dict[tuple[str, str], Listing] = {}
    for index, item in enumerate(value):
        path = f"$.given.listings[{index}]"
        if not isinstance(item, dict):
            errors.append(f"expected an object, got {describe(item)} @ {path}")
            continue
        fields = dict(item)
        account, sku = fields.pop("account", None), fields.pop("sku", None)
        for name, found in (("account", account), ("sku", sku)):
            if type(found) is not str:
                errors.append(f"expected a string, got {describe(found)} @ {path}.{name}")
        try:
            listing = structure(fields, Listing)
        except PolicyConfigError as error:
            errors.extend(_under(path, error))
            continue
        if type(account) is str and type(sku) is str:
            listings[account, sku] = listing
    return listings


def _load_events(
    value: Any,
    catalog: dict[str, Product],
    listings: Mapping[tuple[str, str], Listing],
    errors: list[str],
) -> list[tuple[str, str | None, Any]]:
    if not isinstance(value, list):
        errors.append(f"expected a list, got {describe(value)} @ $.given.events")
        return []
    events: list[tuple[str, str | None, Any]] = []
    for index, item in enumerate(value):
        path = f"$.given.events[{index}]"
        kinds = [kind for kind in _EVENT_KINDS if isinstance(item, dict) and kind in item]
        if len(kinds) != 1:
            known = ", ".join(_EVENT_KINDS)
            errors.append(f"expected an object with one of {known} @ {path}")
            continue
        (kind,) = kinds
        allowed = {kind, "account", "sequence"} if kind == "order" else {kind, "account"}
        errors.extend(
            f"unknown field @ {path}{key_path(key)}" for key in item if key not in allowed
        )
        account = item.get("account")
        if account is not None and type(account) is not str:
            errors.append(f"expected a string, got {describe(account)} @ {path}.account")
            continue
        try:
            if kind == "change":
                events.append(("change", account, _change(item["change"], catalog, listings)))
            elif kind == "stock_event":
                events.append(("stock_event", None, structure(item[kind], StockEvent)))
            else:
                events.append(("order", account, _order(item, account)))
        except PolicyConfigError as error:
            errors.extend(_under(path if kind == "order" else f"{path}.{kind}", error))
    return events


def _change(
    value: Any, catalog: dict[str, Product], listings: Mapping[tuple[str, str], Listing]
) -> tuple[ProductChange, str]:
    """A change event: ``{sku, kind, changed}``, or ``{product, kind, changed}`` (a new version
    of the product, which replaces it in the catalog from this event on)."""
    if not isinstance(value, dict):
        raise PolicyConfigError([f"expected an object, got {describe(value)} @ $"])
    unknown = [key for key in value if key not in {"sku", "product", "kind", "changed"}]
    if unknown:
        raise PolicyConfigError([f"unknown field @ ${key_path(key)}" for key in unknown])
    if "product" in value:
        product = structure(value["product"], Product)
        catalog[product.sku] = product
    else:
        sku = value.get("sku")
        if sku not in catalog:
            known = ", ".join(sorted(catalog)) or "none given"
            raise PolicyConfigError([f"unknown product {sku!r} (known: {known}) @ $.sku"])
        product = catalog[sku]
    change = structure(
        {"kind": value.get("kind", "updated"), "changed": value.get("changed", [])},
        _ChangeFields,
    )
    return (
        ProductChange(kind=change.kind, product=product, changed=frozenset(change.changed)),
        product.sku,
    )


@attrs.frozen(kw_only=True)
class _ChangeFields:
    kind: ChangeKind
    changed: tuple[str, ...] = ()


def _order(item: Mapping[str, Any], account: str | None) -> tuple[ChannelOrder, int]:
    """An order event: ``{order, account, sequence}`` (paths relative to the event)."""
    problems = []
    if account is None:
        problems.append("required field missing @ $.account")
    try:
        order = structure(item["order"], ChannelOrder)
    except PolicyConfigError as error:
        problems.extend(_under("$.order", error))
    sequence = item.get("sequence", 1)
    if type(sequence) is not int or sequence < 1:
        problems.append(f"must be an integer >= 1 (got {sequence!r}) @ $.sequence")
    if problems:
        raise PolicyConfigError(problems)
    return order, sequence


def _load_expect(value: Any, errors: list[str]) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        errors.append(f"expected a list, got {describe(value)} @ $.expect")
        return []
    expect: list[Mapping[str, Any]] = []
    for index, item in enumerate(value):
        path = f"$.expect[{index}]"
        if not isinstance(item, dict):
            errors.append(f"expected an object, got {describe(item)} @ {path}")
            continue
        if item.get("what") not in _WHATS:
            known = ", ".join(_WHATS)
            errors.append(f"must be one of {known} (got {item.get('what')!r}) @ {path}.what")
            continue
        expect.append(item)
    return expect


# -------------------------------------------------------------------------------------- running


def _codes(steps: Iterable[Step]) -> list[str]:
    return [step[0] for step in steps]


def _observe(scenario: Scenario) -> list[dict[str, Any]]:
    config, on = scenario.config, scenario.on
    accounts = [account.id for account in config.accounts]
    observed: list[dict[str, Any]] = []
    catalog = {product.sku: product for product in scenario.products}
    for product in scenario.products:
        for account in accounts:
            listing = scenario.listings.get((account, product.sku))
            outcome = evaluate_listing(config, product, account, on=on, listing=listing)
            quantity, price, images = outcome.quantity, outcome.price, outcome.images
            steps: list[str] = []
            for part in (quantity, price, images):
                if part is not None:
                    steps.extend(_codes(part.steps))
            observed.append(
                {
                    "what": "listing",
                    "sku": product.sku,
                    "account": account,
                    "template": outcome.template,
                    "quantity": None if quantity is None else quantity.quantity,
                    "quantity_rule": None if quantity is None else quantity.rule.value,
                    "price": None if price is None else str(price.amount),
                    "currency": None if price is None else price.currency,
                    "images": None if images is None else list(images.images),
                    "reasons": _codes(outcome.reasons),
                    "steps": steps,
                    "errors": [error.code for error in outcome.errors],
                }
            )
    for number, (kind, named, event) in enumerate(scenario.events):
        if kind == "change":
            observed.extend(_sync_results(scenario, number, named, event, accounts))
        elif kind == "stock_event":
            observed.extend(_stock_results(scenario, number, event))
        else:
            observed.append(_order_result(scenario, number, named, event, catalog))
    return observed


def _sync_results(
    scenario: Scenario,
    number: int,
    account: str | None,
    event: tuple[ProductChange, str],
    accounts: Sequence[str],
) -> list[dict[str, Any]]:
    change, sku = event
    results = []
    targets: Sequence[str] = accounts if account is None else [account]
    for target in targets:
        listing = scenario.listings.get((target, sku))
        decision = sync_listing(
            scenario.config, attrs.evolve(change, listing=listing), target, on=scenario.on
        )
        results.append(
            {
                "what": "sync",
                "event": number,
                "sku": sku,
                "account": target,
                "action": decision.action.value,
                "template": decision.template,
                "fields": sorted(field.value for field in decision.fields),
                "reasons": _codes(decision.reasons),
            }
        )
    return results


def _stock_results(scenario: Scenario, number: int, event: StockEvent) -> list[dict[str, Any]]:
    listings = [
        ChannelListing(
            account=account,
            sku=sku,
            listed=listing.listed,
            template=listing.template,
            auto_sync=listing.auto_sync,
            last_quantity=listing.last_quantity,
            price_managed_externally=listing.price_managed_externally,
        )
        for (account, sku), listing in scenario.listings.items()
    ]
    plan = plan_stock_sync(event, listings, scenario.config)
    results: list[dict[str, Any]] = [
        {
            "what": "stock",
            "event": number,
            "sku": update.sku,
            "account": update.account,
            "action": "update",
            "quantity": update.quantity,
            "quantity_rule": update.rule.value,
            "reasons": [],
        }
        for update in plan.updates
    ]
    results.extend(
        {
            "what": "stock",
            "event": number,
            "sku": skip.sku,
            "account": skip.account,
            "action": "skip",
            "quantity": None,
            "quantity_rule": None,
            "reasons": [skip.reason[0]],
        }
        for skip in plan.skipped
    )
    return results


def _order_result(
    scenario: Scenario,
    number: int,
    account: str | None,
    event: tuple[ChannelOrder, int],
    catalog: Mapping[str, Product],
) -> dict[str, Any]:
    order, sequence = event
    config = scenario.config
    policy_id = config.account(account or "").order_policy
    if policy_id is None:
        raise PolicyConfigError([f"account {account!r} has no order policy @ $.account"])
    plan = plan_order(order, config.order_policies[policy_id], catalog, sequence=sequence)
    return {
        "what": "order",
        "event": number,
        "account": account,
        "create": plan.create,
        "store_order_id": plan.store_order_id,
        "store_status": plan.store_status,
        "stock_changes": dict(plan.stock_changes),
        "reasons": _codes(plan.reasons),
    }


def _describe_key(expected: Mapping[str, Any]) -> str:
    parts = [str(expected.get("what"))]
    if "event" in expected:
        parts.append(f"event {expected['event']}")
    if "sku" in expected:
        parts.append(str(expected["sku"]))
    if "account" in expected:
        parts.append(f"on {expected['account']}")
    return " ".join(parts)


def _matches(result: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    return all(result.get(key) == expected[key] for key in KEY_FIELDS if key in expected)


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def run_scenario(scenario: Scenario) -> ScenarioResult:
    """Decide a scenario's configuration over its catalog and events, and check its expectations.

    Observed: one ``listing`` result per product and account (:func:`evaluate_listing` with
    the listing state), then per event: a ``sync`` result per account
    (:func:`sync_listing`; the change's account only, when it names one), a ``stock`` result
    per listing of the SKU (:func:`plan_stock_sync`: ``update`` with the quantity, or ``skip``
    with the reason), or an ``order`` result (:func:`plan_order` with the account's order
    policy). Each expectation is matched to the result with the same key fields (``what``,
    ``event``, ``sku``, ``account``: those it gives) and each of its other fields compared.

    A failure names the expectation and the field. A scenario whose decisions raise (an
    account without an order policy, say) fails with the error.
    """
    try:
        observed = _observe(scenario)
    except PolicyConfigError as error:
        return ScenarioResult(
            path=scenario.path,
            observed=(),
            failures=tuple(f"cannot decide: {message}" for message in error.errors),
            reached=frozenset(),
        )
    failures: list[str] = []
    for index, expected in enumerate(scenario.expect):
        found = [result for result in observed if _matches(result, expected)]
        where = _describe_key(expected)
        if not found:
            failures.append(f"expect[{index}]: no {where} result was observed")
            continue
        if len(found) > 1:
            failures.append(
                f"expect[{index}]: {len(found)} results match {where}: name the event, sku or"
                " account"
            )
            continue
        (result,) = found
        for field, value in expected.items():
            if field in KEY_FIELDS:
                continue
            if field not in result:
                known = ", ".join(key for key in result if key not in KEY_FIELDS)
                failures.append(
                    f"expect[{index}].{field}: unknown field of a {result['what']} result"
                    f" (known: {known})"
                )
            elif value != result[field]:
                failures.append(
                    f"expect[{index}].{field}: expected {_shown(value)},"
                    f" got {_shown(result[field])} ({where})"
                )
    reached: set[str] = set()
    for result in observed:
        reached.update(result.get("reasons", ()))
        reached.update(result.get("steps", ()))
        reached.update(result.get("errors", ()))
        rule = result.get("quantity_rule")
        if rule is not None:
            reached.add(rule)
    return ScenarioResult(
        path=scenario.path,
        observed=tuple(observed),
        failures=tuple(failures),
        reached=frozenset(reached),
    )


def scenario_coverage(results: Iterable[ScenarioResult]) -> tuple[list[str], list[str]]:
    """Rule coverage: the known reason and step codes reached, and those no scenario reached.

    Both lists are sorted. The known codes are every code with a message
    (:func:`~policy_engine.message_templates`) except those of decisions a scenario does not
    take (product families, batch loading, shipments).
    """
    reached: set[str] = set()
    for result in results:
        reached |= result.reached
    known = set(message_templates()) - OUTSIDE_SCENARIOS
    return sorted(reached & known), sorted(known - reached)


# ------------------------------------------------------------------------------------- updating


def write_expectations(scenario: Scenario, result: ScenarioResult) -> None:
    """Rewrite a scenario file with every observed result as its expectations.

    A JSON file is written whole (two-space indentation); a TOML file keeps everything before
    its first ``[[expect]]`` table as written (comments included) and gets new ``[[expect]]``
    tables, fields that are null left out (TOML has no null).
    """
    path = scenario.path
    if path.suffix == ".toml":
        text = path.read_text(encoding="utf-8")
        marker = text.find("[[expect]]")
        head = (text if marker < 0 else text[:marker]).rstrip("\n")
        tables = [
            "[[expect]]\n"
            + "".join(
                f"{_toml_key(key)} = {_toml_value(value)}\n"
                for key, value in item.items()
                if value is not None
            )
            for item in result.observed
        ]
        path.write_text(head + "\n\n" + "\n".join(tables), encoding="utf-8")
        return
    data = dict(scenario.data)
    data["expect"] = list(result.observed)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
