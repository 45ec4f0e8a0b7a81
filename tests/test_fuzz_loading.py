"""Loader fuzzing: spec section 14.

"Any JSON value given to a loader gives a model or PolicyConfigError, never another exception."
Every public model :func:`structure` loads, and :func:`load_config` in each form it reads (a
mapping, a JSON file, a TOML file), get arbitrary JSON values and valid documents with fields
replaced, removed, retyped or added. Each error line names where the problem is with a ``$`` path,
and a model that loads from a broken document dumps and loads back equal.

``fuzz/run.py`` drives the same checks (:func:`check_structure`, :func:`check_load_config_text`)
for the long run; see ``docs/fuzzing.md``.
"""

from __future__ import annotations

import enum
import json
import math
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import policy_engine
from policy_engine import (
    BUILTIN_CHANNELS,
    MAX_INTEGER,
    Account,
    ChannelDefinition,
    ChannelProfile,
    Configuration,
    CurvePoint,
    ImageSelection,
    LintWarning,
    ListingChange,
    ListingOutcome,
    OrderPlan,
    OutcomeError,
    PlannedCustomer,
    PlannedLine,
    PolicyConfigError,
    PriceResult,
    PricingError,
    QuantityResult,
    Referrer,
    Resolution,
    ShipmentError,
    ShipmentPlan,
    Step,
    StockSkip,
    StockSyncPlan,
    StockUpdate,
    SyncDecision,
    SyncField,
    compute_price,
    compute_quantity,
    decide_sync,
    dump_config,
    evaluate_listing,
    load_config,
    plan_order,
    plan_shipment,
    plan_stock_sync,
    quantity_curve,
    resolve,
    select_images,
    structure,
    unstructure,
)
from policy_engine import testing as pt
from policy_engine.testing import json_values, mutated_documents

ON = date(2025, 6, 1)

#: Every public model: the attrs classes exported by the package (inputs, policies, the
#: configuration, and the results, which load too). Enumerated, so a new model is fuzzed at once.
MODELS: tuple[type[Any], ...] = tuple(
    obj
    for name in policy_engine.__all__
    if isinstance(obj := getattr(policy_engine, name), type) and attrs.has(obj)
)
#: The public enumerations and ``Step``, which :func:`structure` loads as well.
LEAVES: tuple[type[Any], ...] = (
    *(
        obj
        for name in policy_engine.__all__
        if isinstance(obj := getattr(policy_engine, name), type) and issubclass(obj, enum.Enum)
    ),
    Step,
)
#: Every field name of every model: keys that get an arbitrary object past "unknown field".
FIELD_NAMES: tuple[str, ...] = tuple(
    sorted({field.name for cls in MODELS for field in attrs.fields(cls) if field.init})
)
KEYS = st.sampled_from(FIELD_NAMES) | st.text(max_size=8)

#: A ``$`` path: ``.name`` and ``["any key"]`` segments and ``[index]``.
PATH = re.compile(r'\$(?:\.[A-Za-z_][\w-]*|\[[0-9]+\]|\["(?:[^"\\]|\\.)*"\])*', re.DOTALL)


def scaled(fraction: float) -> int:
    """A share of the profile's ``max_examples`` (``ci``: 200), at least 5."""
    return max(5, int(settings().max_examples * fraction))


# ------------------------------------------------------------------------------------ checks


def check_error(error: PolicyConfigError) -> None:
    """Every line of a loading error is ``<message> @ <$ path>``, and ``problems`` agree."""
    assert error.errors, "a PolicyConfigError lists at least one problem"
    problems = error.problems
    assert len(problems) == len(error.errors)
    for line, (path, message) in zip(error.errors, problems, strict=True):
        assert PATH.fullmatch(path), f"not a $ path: {path!r} in {line!r}"
        assert message.strip(), f"empty message in {line!r}"
        assert line == f"{message} @ {path}"
    assert str(error) == "\n".join(error.errors)


def check_structure(data: Any, cls: type[Any]) -> Any | None:
    """Load ``data`` as ``cls``: a ``cls`` or a well-formed PolicyConfigError (then None)."""
    try:
        model = structure(data, cls)
    except PolicyConfigError as error:
        check_error(error)
        return None
    assert isinstance(model, cls)
    return model


def check_round_trip(model: Any, cls: type[Any]) -> None:
    """A model that loaded dumps to JSON text and loads back equal."""
    dumped = unstructure(model)
    text = json.dumps(dumped, ensure_ascii=False)
    assert structure(json.loads(text), cls) == model


def check_load_config(source: Any) -> Configuration | None:
    """Load a configuration from a mapping or a file: a Configuration or a PolicyConfigError."""
    try:
        config = load_config(source)
    except PolicyConfigError as error:
        check_error(error)
        return None
    assert isinstance(config, Configuration)
    return config


def check_load_config_text(text: str, directory: Path, suffix: str) -> Configuration | None:
    """Write ``text`` to a ``.json`` or ``.toml`` file and load it with :func:`load_config`."""
    path = directory / f"fuzzed{suffix}"
    # A file holds UTF-8: a lone surrogate of the text is written as '?'.
    path.write_text(text, encoding="utf-8", errors="replace")
    return check_load_config(path)


# ---------------------------------------------------------------------- valid values per model


@st.composite
def _config_and_product(draw: st.DrawFn) -> tuple[Configuration, Any, str]:
    config = draw(pt.configurations())
    account = draw(st.sampled_from(config.accounts)).id
    return config, draw(pt.products(max_images=2)), account


@st.composite
def _outcomes(draw: st.DrawFn) -> ListingOutcome:
    config, product, account = draw(_config_and_product())
    return evaluate_listing(config, product, account, on=ON)


@st.composite
def _resolutions(draw: st.DrawFn) -> Resolution:
    config, product, account = draw(_config_and_product())
    return resolve(config, product, account)


@st.composite
def _prices(draw: st.DrawFn) -> PriceResult:
    product = draw(pt.products(with_price=True, max_images=0))
    try:
        return compute_price(product, draw(pt.pricing_policies()), on=ON)
    except PricingError:
        return PriceResult(amount=Decimal("9.99"), currency="USD", steps=())


@st.composite
def _price_sets(draw: st.DrawFn) -> policy_engine.PriceSet:
    product = draw(pt.products(with_price=True, max_images=0))
    try:
        return policy_engine.compute_prices(product, draw(pt.market_pricing_policies()), on=ON)
    except PricingError:
        return policy_engine.PriceSet(main=PriceResult(amount=Decimal("9.99"), currency="USD"))


_AMOUNTS = pt.money(min_value="0.01", max_value="999")
_RULES = pt.price_rules()


@st.composite
def _order_plans(draw: st.DrawFn) -> OrderPlan:
    catalog = draw(pt.catalogs(min_size=1, max_size=3))
    order = draw(pt.channel_orders(skus=st.sampled_from(sorted(catalog)) | pt.skus()))
    return plan_order(order, draw(pt.order_policies()), catalog, sequence=draw(st.integers(1, 99)))


@st.composite
def _planned_lines(draw: st.DrawFn) -> PlannedLine:
    plan = draw(_order_plans())
    if plan.lines:
        return draw(st.sampled_from(plan.lines))
    return PlannedLine(
        channel_sku="A", store_sku="A", qty=1, price=Decimal("1.00"), create_product=False
    )


@st.composite
def _planned_customers(draw: st.DrawFn) -> PlannedCustomer:
    plan = draw(_order_plans())
    if plan.customer is not None:
        return plan.customer
    return draw(
        st.builds(
            PlannedCustomer,
            mode=st.sampled_from(list(policy_engine.CustomerMode)),
            email=st.none() | st.just("a@example.com"),
        )
    )


@st.composite
def _shipment_plans(draw: st.DrawFn) -> ShipmentPlan:
    policy = draw(pt.order_policies(sync_shipments=True))
    try:
        plan = plan_shipment(draw(pt.shipments()), policy)
    except ShipmentError:
        plan = None
    if plan is not None:
        return plan
    return ShipmentPlan(
        order_id="1", channel_carrier="ups", tracking_number="1Z", lines=(), steps=()
    )


@st.composite
def _stock_plans(draw: st.DrawFn) -> StockSyncPlan:
    config = draw(pt.configurations())
    event = draw(pt.stock_events())
    return plan_stock_sync(event, draw(pt.config_listings(config, event.sku)), config)


@st.composite
def _stock_updates(draw: st.DrawFn) -> StockUpdate:
    plan = draw(_stock_plans())
    if plan.updates:
        return draw(st.sampled_from(plan.updates))
    return StockUpdate(
        account="a",
        sku="A",
        quantity=1,
        rule=draw(st.sampled_from(list(policy_engine.QuantityRule))),
    )


@st.composite
def _stock_skips(draw: st.DrawFn) -> StockSkip:
    plan = draw(_stock_plans())
    if plan.skipped:
        return draw(st.sampled_from(plan.skipped))
    return StockSkip(account="a", sku="A", reason=Step(("not_listed",)))


@st.composite
def _allocations(draw: st.DrawFn) -> policy_engine.Allocation:
    accounts = draw(st.lists(st.sampled_from(pt.ACCOUNT_IDS), unique=True, max_size=3))
    policies = {key: draw(pt.inventory_policies()) for key in accounts}
    return policy_engine.allocate(
        draw(st.none() | pt.stocks()),
        policies,
        draw(pt.allocation_policies()),
        enabled=draw(st.booleans()),
    )


@st.composite
def _account_shares(draw: st.DrawFn) -> policy_engine.AccountShare:
    allocation = draw(_allocations().filter(lambda found: bool(found.shares)))
    return draw(st.sampled_from(allocation.shares))


@st.composite
def _quantities(draw: st.DrawFn) -> QuantityResult:
    return compute_quantity(draw(st.none() | pt.stocks()), draw(pt.inventory_policies()))


@st.composite
def _curve_points(draw: st.DrawFn) -> CurvePoint:
    return draw(st.sampled_from(quantity_curve(draw(pt.inventory_policies()), 12)))


@st.composite
def _image_selections(draw: st.DrawFn) -> ImageSelection:
    return select_images(draw(pt.products(max_images=4)), draw(pt.image_policies()))


@st.composite
def _sync_decisions(draw: st.DrawFn) -> SyncDecision:
    return decide_sync(draw(pt.product_changes()), draw(pt.sync_policies()))


@st.composite
def _family_outcomes(draw: st.DrawFn) -> policy_engine.FamilyOutcome:
    config = draw(pt.configurations())
    account = draw(st.sampled_from(config.accounts)).id
    family = draw(pt.families(max_children=3))
    return policy_engine.evaluate_family(config, family, account, on=ON)


@st.composite
def _family_sync_decisions(draw: st.DrawFn) -> policy_engine.FamilySyncDecision:
    config = draw(pt.configurations())
    account = draw(st.sampled_from(config.accounts)).id
    family = draw(pt.families(max_children=3))
    member = draw(st.sampled_from((family.parent, *family.children)))
    change = policy_engine.ProductChange(
        kind=draw(st.sampled_from(list(policy_engine.ChangeKind))),
        product=member,
        changed=draw(st.frozensets(st.sampled_from(("qty", "price", "name", "color")))),
        listing=draw(st.none() | pt.listings()),
    )
    return policy_engine.sync_family(config, family, change, account, on=ON)


@st.composite
def _child_outcomes(draw: st.DrawFn) -> policy_engine.ChildOutcome:
    outcome = draw(_family_outcomes())
    if outcome.children:
        return draw(st.sampled_from(outcome.children))
    return policy_engine.ChildOutcome(
        sku="A",
        role=policy_engine.ChildRole.EXCLUDED,
        variation=policy_engine.FrozenDict({"size": "M"}),
        quantity=None,
        price=None,
        images=None,
        errors=(),
        reasons=(Step(("no_matching_template",)),),
    )


_WORDS = st.text(max_size=8)
_SCALARS = st.none() | st.booleans() | st.integers(-MAX_INTEGER, MAX_INTEGER) | st.text(max_size=6)

_AT = st.datetimes(timezones=st.just(UTC))
_STAMPS = st.builds(
    policy_engine.Stamp,
    decision_id=pt.skus(),
    config_revision=pt.skus(),
    engine_version=st.just(policy_engine.__version__),
)
_REASONS = st.lists(st.sampled_from([Step(("unchanged", "quantity 2")), Step(("upload", "t"))]))
_REPLAY_CHANGES = st.builds(
    policy_engine.ReplayChange,
    at=_AT,
    sku=pt.skus(),
    account=_WORDS,
    what=_WORDS,
    before=_SCALARS,
    after=_SCALARS,
    decision_id=st.none() | _WORDS,
)
_REASON_COUNTS = st.builds(
    policy_engine.ReasonCount, code=_WORDS, before=st.integers(0, 9), after=st.integers(0, 9)
)

#: A valid value of every model: the package's strategies, or what the rules compute from them.
VALID: dict[type[Any], st.SearchStrategy[Any]] = {
    policy_engine.Stamp: _STAMPS,
    policy_engine.ReasonCount: _REASON_COUNTS,
    policy_engine.ReplayChange: _REPLAY_CHANGES,
    policy_engine.ReplayReport: st.builds(
        policy_engine.ReplayReport,
        decisions=st.integers(0, 9),
        changed=st.integers(0, 9),
        not_replayable=st.integers(0, 9),
        changes=st.lists(_REPLAY_CHANGES, max_size=2).map(tuple),
        reasons=st.lists(_REASON_COUNTS, max_size=2).map(tuple),
        revisions=st.dictionaries(pt.skus(), st.integers(0, 9), max_size=2).map(
            policy_engine.FrozenDict
        ),
    ),
    policy_engine.TimelineEntry: st.builds(
        policy_engine.TimelineEntry,
        at=_AT,
        kind=_WORDS,
        account=st.none() | _WORDS,
        what=_WORDS,
        reasons=_REASONS.map(tuple),
        config_revision=st.none() | _WORDS,
        decision_id=st.none() | _WORDS,
    ),
    policy_engine.OrderRecord: st.builds(
        policy_engine.OrderRecord,
        at=_AT,
        account=pt.skus(),
        order_id=pt.skus(),
        create=st.booleans(),
        store_order_id=st.none() | pt.skus(),
        skus=st.lists(pt.skus(), max_size=3).map(tuple),
        reasons=_REASONS.map(tuple),
        stamp=st.none() | _STAMPS,
        order=st.none() | pt.channel_orders(),
    ),
    Account: st.builds(
        Account,
        id=pt.skus(),
        channel=st.sampled_from(sorted(BUILTIN_CHANNELS)),
        sync_policy=pt.skus(),
        order_policy=st.none() | pt.skus(),
    ),
    policy_engine.AccountAllocation: pt.account_allocations(),
    policy_engine.AccountShare: _account_shares(),
    policy_engine.ActivityRecord: pt.activity_records(),
    policy_engine.Allocation: _allocations(),
    policy_engine.AllocationPolicy: pt.allocation_policies(),
    policy_engine.Adjustment: pt.adjustments(),
    ChannelDefinition: st.builds(
        ChannelDefinition, fields=st.frozensets(st.sampled_from(SyncField), min_size=1)
    ),
    policy_engine.ChannelListing: pt.channel_listings(),
    policy_engine.ChannelOrder: pt.channel_orders(),
    policy_engine.ChildOutcome: _child_outcomes(),
    policy_engine.BundleOption: pt.bundle_options(),
    policy_engine.BundleSelection: pt.bundle_selections(),
    ChannelProfile: st.sampled_from(list(BUILTIN_CHANNELS.values())),
    Configuration: pt.configurations(),
    CurvePoint: _curve_points(),
    policy_engine.CustomerSettings: pt.customer_settings(),
    policy_engine.Ending: pt.endings(),
    policy_engine.FamilyOutcome: _family_outcomes(),
    policy_engine.FamilySyncDecision: _family_sync_decisions(),
    policy_engine.VariantChange: st.builds(
        policy_engine.VariantChange,
        sku=pt.skus(),
        action=st.sampled_from(list(policy_engine.VariantAction)),
        fields=st.frozensets(st.sampled_from(list(policy_engine.SyncField))),
    ),
    policy_engine.FeedRecord: pt.feed_records(),
    policy_engine.Image: pt.images(),
    policy_engine.ImagePolicy: pt.image_policies(),
    ImageSelection: _image_selections(),
    policy_engine.InventoryPolicy: pt.inventory_policies(),
    LintWarning: st.builds(
        LintWarning, code=_WORDS, message=_WORDS, path=st.just("$.templates[0]")
    ),
    policy_engine.Listing: pt.listings(),
    policy_engine.ListingState: st.builds(
        policy_engine.ListingState,
        status=st.none()
        | st.sampled_from([status.value for status in policy_engine.ListingStatus]),
        last_quantity=st.none() | st.integers(min_value=0, max_value=500),
        last_price=st.none() | pt.money(),
        price_managed_externally=st.none() | st.booleans(),
        channel=st.none() | st.sampled_from(sorted(BUILTIN_CHANNELS)),
    ),
    policy_engine.ListRules: pt.list_rules(),
    policy_engine.RelistRules: pt.relist_rules(),
    policy_engine.StopRules: pt.stop_rules(),
    policy_engine.StockStop: st.builds(
        policy_engine.StockStop,
        account=_WORDS,
        sku=pt.skus(),
        reason=st.just(Step(("zero_refused", "etsy"))),
        next_status=st.sampled_from(list(policy_engine.ListingStatus)),
    ),
    ListingChange: st.builds(
        ListingChange, sku=pt.skus(), account=_WORDS, what=_WORDS, before=_SCALARS, after=_SCALARS
    ),
    ListingOutcome: _outcomes(),
    policy_engine.ListingTemplate: pt.listing_templates(),
    policy_engine.MsiSettings: pt.msi_settings(),
    policy_engine.OrderCustomer: pt.order_customers(),
    policy_engine.OrderLine: pt.order_lines(),
    OrderPlan: _order_plans(),
    policy_engine.OrderPolicy: pt.order_policies(),
    OutcomeError: st.builds(OutcomeError, what=_WORDS, code=_WORDS, message=_WORDS),
    PlannedCustomer: _planned_customers(),
    PlannedLine: _planned_lines(),
    PriceResult: _prices(),
    policy_engine.PricingPolicy: pt.pricing_policies(),
    policy_engine.Product: pt.products(),
    policy_engine.ProductChange: pt.product_changes(),
    policy_engine.ProductFamily: pt.families(max_children=3),
    QuantityResult: _quantities(),
    Referrer: st.builds(
        Referrer,
        level=st.sampled_from(("template", "account")),
        id=pt.skus(),
        field=st.sampled_from(("pricing_policy", "sync_policy")),
    ),
    Resolution: _resolutions(),
    policy_engine.Shipment: pt.shipments(),
    policy_engine.ShipmentLine: pt.shipment_lines(),
    ShipmentPlan: _shipment_plans(),
    policy_engine.SourceItem: pt.source_items(),
    policy_engine.Stock: pt.stocks(),
    policy_engine.StockEvent: pt.stock_events(),
    StockSkip: _stock_skips(),
    StockSyncPlan: _stock_plans(),
    StockUpdate: _stock_updates(),
    SyncDecision: _sync_decisions(),
    policy_engine.SyncHistoryRecord: pt.sync_history_records(),
    policy_engine.SyncPolicy: pt.sync_policies(),
    policy_engine.Threshold: pt.thresholds(),
    policy_engine.PriceSet: _price_sets(),
    policy_engine.ExtraPrice: st.builds(policy_engine.ExtraPrice, amount=_AMOUNTS),
    policy_engine.SalePrice: st.builds(
        policy_engine.SalePrice, amount=_AMOUNTS, starts=st.none() | st.dates()
    ),
    policy_engine.MapPrice: st.builds(
        policy_engine.MapPrice, amount=_AMOUNTS, expose=st.booleans()
    ),
    policy_engine.TierPrice: st.builds(
        policy_engine.TierPrice, quantity=st.integers(2, 99), amount=_AMOUNTS
    ),
    policy_engine.BusinessPrice: st.builds(policy_engine.BusinessPrice, amount=_AMOUNTS),
    policy_engine.BestOfferPrices: st.builds(
        policy_engine.BestOfferPrices, accept=_AMOUNTS, decline=_AMOUNTS
    ),
    policy_engine.PromotionPrice: st.builds(policy_engine.PromotionPrice, amount=_AMOUNTS),
    policy_engine.PriceRule: _RULES,
    policy_engine.PriceOutputs: pt.price_outputs(),
    policy_engine.SaleRule: st.builds(policy_engine.SaleRule, price=_RULES),
    policy_engine.MapRule: st.builds(policy_engine.MapRule, price=_RULES, expose=st.booleans()),
    policy_engine.QuantityTier: st.builds(
        policy_engine.QuantityTier,
        quantity=st.integers(2, 99),
        percent_off=pt.money(min_value="0", max_value="99"),
    ),
    policy_engine.BusinessRule: st.builds(policy_engine.BusinessRule, price=_RULES),
    policy_engine.BestOfferRule: st.builds(
        policy_engine.BestOfferRule, accept=_RULES, decline=_RULES
    ),
    policy_engine.PromotionRule: st.builds(policy_engine.PromotionRule, price=_RULES),
    policy_engine.WholeEnding: pt.whole_endings(),
    policy_engine.MarketTax: st.builds(
        policy_engine.MarketTax, store_included=st.none() | pt.money(min_value="0", max_value="30")
    ),
    policy_engine.ExchangeRate: st.builds(
        policy_engine.ExchangeRate,
        base=st.sampled_from(("USD", "EUR")),
        quote=st.just("JPY"),
        rate=pt.money(min_value="0.01", max_value="500"),
        valid_from=st.dates(),
    ),
}


def _name(cls: type[Any]) -> str:
    return cls.__name__


# ------------------------------------------------------------------------------------- tests


def test_every_model_is_fuzzed() -> None:
    """Each attrs class of ``policy_engine.__all__`` has a valid-value strategy here."""
    assert len(MODELS) >= 45
    assert set(VALID) == set(MODELS)


@pytest.fixture(scope="module")
def directory() -> Iterator[Path]:
    """A directory for the files load_config reads, shared by a module's examples."""
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


class TestArbitraryJson:
    """Any JSON value, given to every loader: a model or a PolicyConfigError with ``$`` paths."""

    @settings(max_examples=scaled(0.25))
    @given(json_values(keys=KEYS))
    def test_every_model(self, data: Any) -> None:
        """The same arbitrary value, loaded as every model, enumeration and Step."""
        for cls in MODELS + LEAVES:
            check_structure(data, cls)

    @pytest.mark.parametrize("cls", MODELS, ids=_name)
    def test_objects_shaped_like_the_model(self, cls: type[Any]) -> None:
        """Objects with the model's own field names holding arbitrary values."""
        names = [field.name for field in attrs.fields(cls) if field.init]
        shaped = st.dictionaries(
            st.sampled_from([*names, "bogus"]), json_values(keys=KEYS, deep=False), max_size=8
        )

        @settings(max_examples=scaled(0.025), suppress_health_check=[HealthCheck.too_slow])
        @given(shaped)
        def run(data: dict[str, Any]) -> None:
            model = check_structure(data, cls)
            if model is not None:
                check_round_trip(model, cls)

        run()


class TestMutatedDocuments:
    """Valid documents with fields replaced, removed, retyped or added."""

    @pytest.mark.parametrize("cls", MODELS, ids=_name)
    def test_every_model(self, cls: type[Any]) -> None:
        """A broken document loads as a model that round-trips, or fails with ``$`` paths."""

        @settings(
            max_examples=scaled(0.05),
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(mutated_documents(VALID[cls], keys=KEYS))
        def run(document: Any) -> None:
            model = check_structure(document, cls)
            if model is not None:
                check_round_trip(model, cls)

        run()

    @settings(max_examples=scaled(0.25), suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(MODELS).flatmap(lambda cls: st.tuples(st.just(cls), VALID[cls])))
    def test_valid_documents_load(self, pair: tuple[type[Any], Any]) -> None:
        """The unmutated documents load back equal: the mutations start from valid documents."""
        cls, model = pair
        assert structure(unstructure(model), cls) == model


class TestLoadConfig:
    """load_config, from a mapping, a JSON file and a TOML file."""

    @settings(max_examples=scaled(0.25), suppress_health_check=[HealthCheck.too_slow])
    @given(json_values(keys=KEYS) | mutated_documents(pt.configurations(), keys=KEYS))
    def test_mapping(self, data: Any) -> None:
        """Any value or broken configuration as a mapping: a Configuration or PolicyConfigError."""
        assume(not isinstance(data, str))  # a text is a file's path
        config = check_load_config(data)
        if config is not None:
            assert load_config(dump_config(config)) == config

    @settings(max_examples=scaled(0.25), suppress_health_check=[HealthCheck.too_slow])
    @given(
        data=json_values(keys=KEYS, deep=False) | mutated_documents(pt.configurations(), keys=KEYS),
        ascii_only=st.booleans(),
    )
    def test_json_file(self, data: Any, ascii_only: bool, directory: Path) -> None:
        """The same as JSON text (NaN written as NaN, lone surrogates escaped) in a file."""
        text = json.dumps(data, ensure_ascii=ascii_only)
        config = check_load_config_text(text, directory, ".json")
        if config is not None:
            text = dump_config(config, format="json")
            assert check_load_config_text(text, directory, ".json") == config

    @settings(max_examples=scaled(0.25), suppress_health_check=[HealthCheck.too_slow])
    @given(config=pt.configurations(), suffix=st.sampled_from((".json", ".toml")), data=st.data())
    def test_mutated_text(
        self, config: Configuration, suffix: str, data: st.DataObject, directory: Path
    ) -> None:
        """A configuration's JSON or TOML text with characters inserted, deleted or replaced."""
        text = dump_config(config, format=suffix[1:])
        for _ in range(data.draw(st.integers(1, 4))):
            position = data.draw(st.integers(0, len(text)))
            cut = data.draw(st.integers(0, 3))
            insert = data.draw(
                st.sampled_from([*"{}[]\"',:=.\n #\\0-", "null", "true", "\ud800", "é", "[["])
                | st.text(max_size=3)
            )
            text = text[:position] + insert + text[position + cut :]
        check_load_config_text(text, directory, suffix)

    @settings(max_examples=scaled(0.25))
    @given(text=st.text(max_size=200), suffix=st.sampled_from((".json", ".toml")))
    def test_any_text(self, text: str, suffix: str, directory: Path) -> None:
        """Any text in a JSON or TOML file: a Configuration or a PolicyConfigError."""
        check_load_config_text(text, directory, suffix)

    def test_bytes_are_not_a_document(self) -> None:
        """Bytes are neither a mapping nor a path: a PolicyConfigError at ``$``."""
        with pytest.raises(PolicyConfigError) as caught:
            load_config(b'{"version": 1}')  # type: ignore[arg-type]
        assert caught.value.errors == ["expected an object, got a bytes @ $"]


class TestFoundByFuzzing:
    """Inputs the fuzzers found that escaped as another exception."""

    @pytest.mark.parametrize(
        ("data", "cls"),
        [
            pytest.param(
                {"title": "T", "buffer": -(10**5000)}, policy_engine.InventoryPolicy, id="checker"
            ),
            pytest.param({"version": 10**5000}, Configuration, id="version"),
            pytest.param({"qty": 10**5000}, policy_engine.Stock, id="quantity"),
            pytest.param({"sku": "A", "price": 10**5000}, policy_engine.Product, id="money"),
        ],
    )
    def test_integers_python_cannot_print(self, data: Any, cls: type[Any]) -> None:
        """An integer of more than 4,300 digits is reported as a PolicyConfigError."""
        assert check_structure(data, cls) is None

    @pytest.mark.parametrize(
        ("text", "suffix"),
        [
            ("[" * 100_000 + "]" * 100_000, ".json"),
            ('{"a":' * 50_000 + "1" + "}" * 50_000, ".json"),
            ("a = " + "[" * 100_000 + "]" * 100_000, ".toml"),
        ],
        ids=["json-lists", "json-objects", "toml"],
    )
    def test_files_nested_deeper_than_the_recursion_limit(
        self, text: str, suffix: str, directory: Path
    ) -> None:
        """A file nested deeper than Python's recursion limit is a PolicyConfigError."""
        assert check_load_config_text(text, directory, suffix) is None

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param(math.nan, id="nan"),
            pytest.param(math.inf, id="infinity"),
        ],
    )
    def test_listing_change_values(self, value: Any) -> None:
        """A value that cannot round-trip equal (NaN, an infinity) is refused."""
        data = {"sku": "A", "account": "a", "what": "price", "before": value, "after": None}
        assert check_structure(data, ListingChange) is None

    def test_listing_change_lists_are_frozen(self) -> None:
        """A list or an object in before/after loads read-only: the change hashes and
        round-trips equal."""
        data = {"sku": "A", "account": "a", "what": "price", "before": [1, {"a": [2]}], "after": {}}
        change = structure(data, ListingChange)
        assert change.before == (1, {"a": (2,)})
        assert type(change.before[1]) is policy_engine.FrozenDict
        assert hash(change) == hash(structure(unstructure(change), ListingChange))
        check_round_trip(change, ListingChange)

    def test_file_not_utf8(self, directory: Path) -> None:
        """A file that is not UTF-8 is a PolicyConfigError."""
        path = directory / "latin1.json"
        path.write_bytes(b'{"version": 1, "x": "\xe9"}')
        assert check_load_config(path) is None

    def test_toml_integer_too_long(self, directory: Path) -> None:
        """A TOML integer too long to read is a PolicyConfigError."""
        assert check_load_config_text("version = 1" + "0" * 4300, directory, ".toml") is None
