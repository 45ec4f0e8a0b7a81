"""Allocation across channels: ``allocate``, the configuration's ``allocation`` section, and its
reach into listings, batches, stock events, previews, lint and order deductions per source."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from policy_engine import (
    AccountAllocation,
    Allocation,
    AllocationPolicy,
    AllocationStrategy,
    Allocator,
    ChannelListing,
    ChannelOrder,
    Configuration,
    InventoryPolicy,
    OrderLine,
    OrderPolicy,
    PolicyConfigError,
    Product,
    QuantityRule,
    SourceItem,
    SourceSelection,
    Stock,
    StockEvent,
    Threshold,
    allocate,
    allocate_product,
    compute_quantity,
    dump_config,
    evaluate_listing,
    evaluate_many,
    json_schema,
    lint,
    load_config,
    plan_order,
    plan_stock_sync,
    preview_change,
    select_sources,
    structure,
    unstructure,
)
from policy_engine.cli import main
from policy_engine.testing import (
    ACCOUNT_IDS,
    allocation_policies,
    catalogs,
    channel_orders,
    inventory_policies,
    stocks,
)

PLAIN = InventoryPolicy(title="Store quantity")
THREE = {"ebay": PLAIN, "amazon": PLAIN, "tiktok": PLAIN}
AT = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def config_data(allocation: dict[str, Any] | None = None) -> dict[str, Any]:
    """Three accounts (eBay, Amazon, TikTok Shop) served by one template."""
    data: dict[str, Any] = {
        "version": 1,
        "sync_policies": {"sync": {"title": "Sync"}},
        "inventory_policies": {"stock": {"title": "Store quantity"}},
        "pricing_policies": {"price": {"title": "Regular price"}},
        "image_policies": {"images": {"title": "Images"}},
        "templates": [
            {
                "id": "all",
                "title": "All",
                "inventory_policy": "stock",
                "pricing_policy": "price",
                "image_policy": "images",
            }
        ],
        "accounts": [
            {"id": "ebay", "channel": "ebay", "sync_policy": "sync"},
            {"id": "amazon", "channel": "amazon", "sync_policy": "sync"},
            {"id": "tiktok", "channel": "tiktok", "sync_policy": "sync"},
        ],
    }
    if allocation is not None:
        data["allocation"] = allocation
    return data


def sellable_pool(stock: Stock, salable: bool) -> int:
    """The pool as the allocation guide defines it, computed independently."""
    if not stock.in_stock:
        return 0
    if stock.sources:
        total = sum(s.qty for s in stock.sources if s.enabled and s.in_stock and s.qty > 0)
    else:
        total = max(0, stock.qty)
    if salable:
        total -= min(total, max(0, stock.out_of_stock_threshold - stock.reserved))
    return total


def listing_accounts() -> st.SearchStrategy[dict[str, InventoryPolicy]]:
    """One to four listing accounts, each with an inventory policy."""
    return st.lists(st.sampled_from(ACCOUNT_IDS), min_size=1, unique=True).flatmap(
        lambda ids: st.fixed_dictionaries({key: inventory_policies() for key in ids})
    )


def allocated() -> st.SearchStrategy[AllocationPolicy]:
    """Allocation sections under a strategy that allocates (every one but shared)."""
    return st.sampled_from(("reserved", "priority", "weights")).flatmap(
        lambda strategy: allocation_policies(strategy=strategy)
    )


# ------------------------------------------------------------------------- worked examples


class TestWorkedExample:
    """Ten units over eBay, Amazon and TikTok Shop, under each strategy (the guide's example)."""

    def test_shared(self) -> None:
        """Shared: every channel is offered the whole stock, as without allocation."""
        allocation = allocate(Stock(qty=10), THREE, AllocationPolicy())
        assert allocation.quantities == {"ebay": 10, "amazon": 10, "tiktok": 10}
        assert allocation.shares[0].steps[0].code == "allocation_shared"

    def test_reserved(self) -> None:
        """Reserved: eBay's 4 are its own; Amazon and TikTok share the other 6."""
        policy = AllocationPolicy(
            strategy="reserved", accounts={"ebay": AccountAllocation(reserve=4)}
        )
        allocation = allocate(Stock(qty=10), THREE, policy)
        assert allocation.quantities == {"ebay": 4, "amazon": 3, "tiktok": 3}
        assert [step.code for step in allocation.shares[0].steps] == [
            "allocation_reserved",
            "allocation_reserved_only",
            "allocation_share",
        ]

    def test_priority(self) -> None:
        """Priority: Amazon first (capped at 6 by its policy), then eBay, then TikTok."""
        policies = {**THREE, "amazon": InventoryPolicy(title="Amazon", max_quantity=6)}
        policy = AllocationPolicy(strategy="priority", priority=("amazon", "ebay"))
        allocation = allocate(Stock(qty=10), policies, policy)
        assert allocation.quantities == {"ebay": 4, "amazon": 6, "tiktok": 0}
        assert allocation.shares[1].steps[0] == ("allocation_priority", 1, 10)

    def test_weights(self) -> None:
        """Weights 5:3:2 of 10 give 5, 3 and 2 exactly."""
        policy = AllocationPolicy(
            strategy="weights",
            accounts={
                "ebay": AccountAllocation(weight=5),
                "amazon": AccountAllocation(weight=3),
                "tiktok": AccountAllocation(weight=2),
            },
        )
        assert allocate(Stock(qty=10), THREE, policy).quantities == {
            "ebay": 5,
            "amazon": 3,
            "tiktok": 2,
        }

    def test_equal_weights_round_by_largest_remainder(self) -> None:
        """10 over three equal weights: 4, 3, 3 (the first account takes the spare unit)."""
        policy = AllocationPolicy(strategy="weights")
        assert list(allocate(Stock(qty=10), THREE, policy).quantities.values()) == [4, 3, 3]


class TestPolicyInsideTheShare:
    """Each account's inventory policy applies inside its share, never beyond it."""

    def test_buffer_inside_the_share(self) -> None:
        """A buffer of 1 is kept out of eBay's share of 4."""
        policies = {**THREE, "ebay": InventoryPolicy(title="eBay", buffer=1)}
        allocation = allocate(Stock(qty=10), policies, AllocationPolicy(strategy="weights"))
        ebay = allocation.shares[0]
        assert (ebay.share, ebay.quantity.quantity) == (4, 3)
        assert "buffer" in [step.code for step in ebay.quantity.steps]

    def test_threshold_above_is_capped_at_the_share(self) -> None:
        """A threshold's fixed 'above' quantity never lists more than the share."""
        loud = InventoryPolicy(title="Loud", threshold=Threshold(value=1, above=50, below=0))
        allocation = allocate(
            Stock(qty=10), {**THREE, "ebay": loud}, AllocationPolicy(strategy="weights")
        )
        ebay = allocation.shares[0]
        assert ebay.quantity.quantity == 4
        assert ebay.quantity.rule is QuantityRule.ABOVE_THRESHOLD
        assert ebay.quantity.steps[-1] == ("allocation_cap", 50, 4)

    def test_default_when_out_of_stock_is_capped(self) -> None:
        """Listing a default quantity when out of stock cannot oversell an allocated pool."""
        backorder = InventoryPolicy(title="B", default_quantity=5, default_when_out_of_stock=True)
        allocation = allocate(
            Stock(qty=0), {"ebay": backorder}, AllocationPolicy(strategy="weights")
        )
        assert allocation.quantities == {"ebay": 0}

    def test_priority_passes_on_what_a_policy_does_not_list(self) -> None:
        """Under priority, units an account's policy does not list go to the next account."""
        policies = {"ebay": InventoryPolicy(title="eBay", buffer=3), "amazon": PLAIN}
        policy = AllocationPolicy(strategy="priority")
        assert allocate(Stock(qty=10), policies, policy).quantities == {"ebay": 7, "amazon": 3}

    def test_untracked_stock_lists_each_default(self) -> None:
        """No stock record, or Manage Stock off: every account lists its default quantity."""
        policies = {"ebay": InventoryPolicy(title="D", default_quantity=7), "amazon": PLAIN}
        policy = AllocationPolicy(strategy="weights")
        for stock in (None, Stock(qty=3, manage_stock=False)):
            allocation = allocate(stock, policies, policy)
            assert allocation.quantities == {"ebay": 7, "amazon": 0}
            assert allocation.steps == (("allocation_not_tracked",),)

    def test_disabled_product_lists_zero(self) -> None:
        """A disabled product lists 0 on every account (rule product_disabled)."""
        allocation = allocate(Stock(qty=10), THREE, AllocationPolicy(), enabled=False)
        assert {share.quantity.rule for share in allocation.shares} == {
            QuantityRule.PRODUCT_DISABLED
        }
        assert set(allocation.quantities.values()) == {0}


class TestSourcesAndLocations:
    """Accounts draw from their own MSI sources and report quantities per channel location."""

    STOCK = Stock(
        sources=(
            SourceItem(code="us_east", qty=6),
            SourceItem(code="us_west", qty=4),
            SourceItem(code="eu", qty=5),
        )
    )

    def test_source_mapping(self) -> None:
        """eBay draws only from the EU source; the others split the US sources."""
        policy = AllocationPolicy(
            strategy="weights",
            accounts={"ebay": AccountAllocation(sources=("eu",), weight=1)},
        )
        allocation = allocate(self.STOCK, THREE, policy)
        assert allocation.sellable == 15
        assert allocation.quantities == {"ebay": 5, "amazon": 5, "tiktok": 5}
        assert dict(allocation.shares[0].sources) == {"eu": 5}
        assert sum(q for share in allocation.shares for q in share.sources.values()) == 15

    def test_sources_short(self) -> None:
        """An account whose sources hold less than its part gets what they hold, and says so."""
        policy = AllocationPolicy(
            strategy="weights",
            accounts={"ebay": AccountAllocation(sources=("us_west",), weight=3)},
        )
        allocation = allocate(self.STOCK, {"ebay": PLAIN, "amazon": PLAIN}, policy)
        ebay = allocation.shares[0]
        assert ebay.quantity.quantity == 4
        assert ("allocation_sources_short", 11, 4) in ebay.steps

    def test_locations(self) -> None:
        """Amazon's two US sources map to its locations; an unmapped source is named."""
        policy = AllocationPolicy(
            strategy="priority",
            priority=("amazon",),
            accounts={
                "amazon": AccountAllocation(
                    sources=("us_east", "us_west"), locations={"us_east": "IAD"}
                )
            },
        )
        allocation = allocate(self.STOCK, THREE, policy)
        amazon = allocation.share("amazon")
        assert amazon is not None
        assert dict(amazon.sources) == {"us_east": 6, "us_west": 4}
        assert dict(amazon.locations) == {"IAD": 6}
        assert ("location_unmapped", "us_west", 4) in amazon.steps
        assert allocation.quantities == {"ebay": 5, "amazon": 10, "tiktok": 0}
        assert allocation.share("walmart") is None

    def test_shared_with_sources(self) -> None:
        """Under shared an account with sources counts them (MSI); the others read the store
        quantity as their policy says (0 here: this stock keeps its units in sources)."""
        policy = AllocationPolicy(accounts={"ebay": AccountAllocation(sources=("eu",))})
        allocation = allocate(self.STOCK, THREE, policy)
        assert allocation.quantities == {"ebay": 5, "amazon": 0, "tiktok": 0}
        assert dict(allocation.shares[0].sources) == {"eu": 5}
        assert allocation.shares[0].steps == (("allocation_shared",),)

    def test_salable_pool(self) -> None:
        """With salable, open orders' reservations and the threshold are held back first."""
        stock = attrs.evolve(self.STOCK, reserved=-3, out_of_stock_threshold=1)
        allocation = allocate(stock, THREE, AllocationPolicy(strategy="weights", salable=True))
        assert allocation.sellable == 11
        assert allocation.steps[0] == ("allocation_salable", -3, 1, 4)
        assert sum(allocation.quantities.values()) == 11


class TestAllocator:
    """An allocator compiled once gives the numbers of ``allocate`` for every stock."""

    @given(
        stocks(max_qty=60),
        listing_accounts(),
        allocation_policies(),
        st.booleans(),
    )
    def test_quantities_agree_with_allocate(
        self,
        stock: Stock,
        accounts: dict[str, InventoryPolicy],
        policy: AllocationPolicy,
        enabled: bool,
    ) -> None:
        """Allocator.quantities (kept per pool) equals allocate's quantities, twice over."""
        allocator = Allocator(policy, accounts)
        expected = tuple(allocate(stock, accounts, policy, enabled=enabled).quantities.values())
        assert allocator.quantities(stock, enabled=enabled) == expected
        assert allocator.quantities(stock, enabled=enabled) == expected

    def test_shared_over_sources(self) -> None:
        """Under shared a stock with sources is computed on every call, the same each time."""
        allocator = Allocator(AllocationPolicy(), THREE)
        stock = TestSourcesAndLocations.STOCK
        assert allocator.quantities(stock) == (0, 0, 0)
        assert allocator._memo == {}

    def test_allocators_are_cached_and_bounded(self) -> None:
        """The configuration path reuses an allocator per section and policies, boundedly."""
        from policy_engine._allocation import _ALLOCATORS, allocator_for

        policy = AllocationPolicy(strategy="weights")
        assert allocator_for(policy, THREE) is allocator_for(policy, THREE)
        for weight in range(300):
            allocator_for(
                AllocationPolicy(accounts={"ebay": AccountAllocation(weight=weight)}), THREE
            )
        assert len(_ALLOCATORS) <= 256

    def test_memo_is_bounded(self) -> None:
        """Many distinct stock levels never grow the kept numbers without bound."""
        allocator = Allocator(AllocationPolicy(strategy="weights"), THREE)
        for qty in range(20_000):
            assert sum(allocator.quantities(Stock(qty=qty))) == qty
        assert len(allocator._memo) <= 16_384
        assert all(len(account.memo) <= 4_096 for account in allocator._given)


# ---------------------------------------------------------------------------- invariants


class TestInvariants:
    """Allocation never offers more than can be sold (the allocation guide's invariants)."""

    @given(stocks(max_qty=200, managed=True), listing_accounts(), allocated())
    def test_sum_never_exceeds_sellable(
        self, stock: Stock, accounts: dict[str, InventoryPolicy], policy: AllocationPolicy
    ) -> None:
        """Under every strategy but shared, for a managed stock, the quantities listed add up
        to at most the sellable pool."""
        allocation = allocate(stock, accounts, policy)
        assert allocation.sellable == sellable_pool(stock, policy.salable)
        assert sum(allocation.quantities.values()) <= allocation.sellable
        assert all(share.quantity.quantity <= share.share for share in allocation.shares)

    @given(stocks(), listing_accounts(), allocation_policies(strategy="shared", sources=False))
    def test_shared_is_todays_result(
        self, stock: Stock, accounts: dict[str, InventoryPolicy], policy: AllocationPolicy
    ) -> None:
        """Under shared, with every account on every source, each account's quantity result is
        exactly compute_quantity's."""
        allocation = allocate(stock, accounts, policy)
        for share in allocation.shares:
            assert share.quantity == compute_quantity(stock, accounts[share.account])

    @given(
        listing_accounts(),
        st.sampled_from(("reserved", "priority", "weights")),
        st.data(),
    )
    def test_reservation_is_never_given_away(
        self, accounts: dict[str, InventoryPolicy], strategy: str, data: st.DataObject
    ) -> None:
        """While the pool covers every listing account's reservation, an owner's reservation is
        set aside in full and the other accounts list at most the pool less it."""
        reserves = {key: data.draw(st.integers(0, 30)) for key in accounts}
        owner = data.draw(st.sampled_from(sorted(accounts)))
        reserves[owner] = max(1, reserves[owner])
        qty = sum(reserves.values()) + data.draw(st.integers(0, 60))
        policy = AllocationPolicy(
            strategy=strategy,
            accounts={
                key: AccountAllocation(reserve=value, weight=data.draw(st.integers(0, 5)))
                for key, value in reserves.items()
            },
            priority=tuple(data.draw(st.permutations(sorted(accounts)))),
        )
        allocation = allocate(Stock(qty=qty), accounts, policy)
        share = allocation.share(owner)
        assert share is not None
        assert share.reserved == reserves[owner]
        others = sum(q for key, q in allocation.quantities.items() if key != owner)
        assert others <= allocation.sellable - reserves[owner]

    @given(stocks(max_qty=500), listing_accounts(), st.data())
    def test_weights_parts_sum_exactly(
        self, stock: Stock, accounts: dict[str, InventoryPolicy], data: st.DataObject
    ) -> None:
        """Under weights without reservations, with a positive weight and every account on
        every source, the shares add up to the sellable pool exactly."""
        weights = data.draw(
            st.fixed_dictionaries({key: st.integers(0, 9) for key in accounts}).filter(
                lambda found: any(found.values())
            )
        )
        policy = AllocationPolicy(
            strategy="weights",
            accounts={key: AccountAllocation(weight=value) for key, value in weights.items()},
        )
        allocation = allocate(stock, accounts, policy)
        assume(stock.manage_stock)
        assert sum(share.share for share in allocation.shares) == allocation.sellable
        for share in allocation.shares:
            exact = Decimal(allocation.sellable * weights[share.account]) / sum(weights.values())
            assert abs(share.share - exact) < 1

    @given(stocks(max_qty=100, managed=True), listing_accounts(), allocated())
    def test_sources_add_up(
        self, stock: Stock, accounts: dict[str, InventoryPolicy], policy: AllocationPolicy
    ) -> None:
        """Under every strategy but shared, an account's listed units per source add up to its
        quantity, and per location to at most it."""
        allocation = allocate(stock, accounts, policy)
        for share in allocation.shares:
            quantity = share.quantity.quantity
            assert sum(share.sources.values()) == quantity
            assert sum(share.locations.values()) <= quantity


# ---------------------------------------------------------------------------- configuration


class TestConfiguration:
    """The ``allocation`` section loads, dumps, checks its references and has a schema."""

    def test_round_trip(self) -> None:
        """An allocation section survives load_config and dump_config."""
        section = {
            "strategy": "reserved",
            "accounts": {"ebay": {"reserve": 4, "sources": ["eu"], "locations": {"eu": "L1"}}},
            "priority": ["amazon"],
        }
        config = load_config(config_data(section))
        assert config.allocation is not None
        assert config.allocation.strategy is AllocationStrategy.RESERVED
        assert load_config(dump_config(config)) == config
        assert dump_config(config)["allocation"]["accounts"]["ebay"]["reserve"] == 4

    def test_absent_section_is_not_dumped(self) -> None:
        """A configuration without allocation dumps as before (no 'allocation' key)."""
        assert "allocation" not in dump_config(load_config(config_data()))

    def test_unknown_accounts(self) -> None:
        """Account ids the configuration lacks are errors with their paths."""
        section = {"accounts": {"etsy": {}}, "priority": ["ebay", "otto"]}
        with pytest.raises(PolicyConfigError) as caught:
            load_config(config_data(section))
        assert caught.value.errors == [
            "unknown account 'etsy' (known: amazon, ebay, tiktok) @ $.allocation.accounts.etsy",
            "unknown account 'otto' (known: amazon, ebay, tiktok) @ $.allocation.priority[1]",
        ]

    @pytest.mark.parametrize(
        ("section", "error"),
        [
            (
                {"strategy": "fair"},
                (
                    "must be one of 'shared', 'reserved', 'priority', 'weights' (got 'fair')"
                    " @ $.allocation.strategy"
                ),
            ),
            (
                {"accounts": {"ebay": {"reserve": -1}}},
                "must be >= 0 (got -1) @ $.allocation.accounts.ebay.reserve",
            ),
            (
                {"accounts": {"ebay": {"sources": ["eu", "eu"]}}},
                "'eu' is listed twice @ $.allocation.accounts.ebay.sources",
            ),
            (
                {"accounts": {"ebay": {"locations": {"eu": ""}}}},
                (
                    "source codes and location ids must be non-empty strings of at most 255"
                    " characters, got '' @ $.allocation.accounts.ebay.locations"
                ),
            ),
            ({"priority": "ebay"}, None),
        ],
    )
    def test_bad_sections(self, section: dict[str, Any], error: str | None) -> None:
        """A bad allocation section is a PolicyConfigError with the JSON path."""
        with pytest.raises(PolicyConfigError) as caught:
            load_config(config_data(section))
        if error is not None:
            assert error in caught.value.errors
        else:
            assert all("$.allocation.priority" in found for found in caught.value.errors)

    def test_model_checks(self) -> None:
        """Built in Python, bad values are refused with relative paths."""
        with pytest.raises(PolicyConfigError, match=r"@ \$\.accounts"):
            AllocationPolicy(accounts={"": AccountAllocation()})
        with pytest.raises(PolicyConfigError, match=r"@ \$\.accounts"):
            AllocationPolicy(accounts={"ebay": 3})
        with pytest.raises(PolicyConfigError, match=r"@ \$\.accounts"):
            AllocationPolicy(accounts=[])
        with pytest.raises(PolicyConfigError, match=r"@ \$\.sources"):
            AccountAllocation(sources="eu")
        with pytest.raises(PolicyConfigError, match=r"@ \$\.sources"):
            AccountAllocation(sources=(3,))
        with pytest.raises(PolicyConfigError, match=r"@ \$\.locations"):
            AccountAllocation(locations=[])
        with pytest.raises(PolicyConfigError, match=r"@ \$\.allocation"):
            Configuration(allocation=3)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("section", "valid"),
        [
            ({"strategy": "weights", "accounts": {"ebay": {"weight": 2}}}, True),
            ({"strategy": "fair"}, False),
            ({"accounts": {"ebay": {"reserve": -1}}}, False),
            ({"accounts": {"ebay": {"treshold": 1}}}, False),
            ({"priority": "ebay"}, False),
        ],
    )
    def test_schema_agrees_with_the_loader(self, section: dict[str, Any], valid: bool) -> None:
        """The configuration's JSON Schema accepts exactly the sections the loader loads."""
        from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

        data = config_data(section)
        assert Draft202012Validator(json_schema()).is_valid(data) is valid
        try:
            load_config(data)
        except PolicyConfigError:
            loaded = False
        else:
            loaded = True
        assert loaded is valid

    def test_schema(self) -> None:
        """The configuration schema and the 'allocation' kind describe the section."""
        schema = json_schema()
        assert "allocation" in schema["properties"]
        kind = json_schema("allocation")
        assert kind["properties"]["strategy"]["enum"] == [
            "shared",
            "reserved",
            "priority",
            "weights",
        ]


# ------------------------------------------------------------------------------ everywhere


WEIGHTS = {
    "strategy": "weights",
    "accounts": {"ebay": {"weight": 5}, "amazon": {"weight": 3}, "tiktok": {"weight": 2}},
}


class TestListings:
    """evaluate_listing, evaluate_many and preview_change give the allocated quantity."""

    PRODUCT = Product(sku="MJ01", stock=Stock(qty=10))

    def test_evaluate_listing(self) -> None:
        """Each account's outcome carries its allocated quantity, explained."""
        config = load_config(config_data(WEIGHTS))
        outcomes = [evaluate_listing(config, self.PRODUCT, a) for a in ("ebay", "amazon", "tiktok")]
        assert [o.quantity.quantity for o in outcomes if o.quantity] == [5, 3, 2]
        ebay = outcomes[0].quantity
        assert ebay is not None
        assert ebay.steps[0] == ("allocation_pool", 10, 3) or ebay.steps[0].code.startswith(
            "allocation"
        )

    def test_stored_template(self) -> None:
        """A listing's stored template is the account's template in the allocation."""
        config = load_config(config_data(WEIGHTS))
        listing = ChannelListing(account="ebay", sku="MJ01", template="all")
        outcome = evaluate_listing(config, self.PRODUCT, "ebay", listing=listing)
        assert outcome.quantity is not None
        assert outcome.quantity.quantity == 5

    def test_stored_template_gone(self) -> None:
        """An account whose stored template is gone lists nothing and takes no part."""
        config = load_config(config_data(WEIGHTS))
        allocation = allocate_product(
            config, self.PRODUCT, listed={"ebay": "gone", "amazon": None, "tiktok": "all"}
        )
        assert allocation is not None
        assert allocation.quantities == {"amazon": 6, "tiktok": 4}  # 3 : 2

    def test_shared_changes_nothing(self) -> None:
        """A shared section over every source gives today's outcomes exactly."""
        before = load_config(config_data())
        after = load_config(config_data({"strategy": "shared"}))
        for account in ("ebay", "amazon"):
            assert evaluate_listing(after, self.PRODUCT, account) == evaluate_listing(
                before, self.PRODUCT, account
            )
        assert allocate_product(before, self.PRODUCT) is None

    def test_evaluate_many_agrees(self) -> None:
        """evaluate_many gives every listing the quantity evaluate_listing gives it."""
        config = load_config(config_data(WEIGHTS))
        products = [self.PRODUCT, Product(sku="B", stock=Stock(qty=7), enabled=False)]
        outcomes = list(evaluate_many(config, products))
        assert outcomes == [
            evaluate_listing(config, product, account)
            for product in products
            for account in ("ebay", "amazon", "tiktok")
        ]
        assert [o.quantity.quantity for o in outcomes[:3] if o.quantity] == [5, 3, 2]

    def test_evaluate_many_with_templates_per_account(self) -> None:
        """Accounts served by different templates still get their allocated shares."""
        data = config_data(WEIGHTS)
        data["templates"].insert(
            0,
            {
                "id": "ebay-only",
                "title": "eBay",
                "accounts": ["ebay"],
                "inventory_policy": "stock",
                "pricing_policy": "price",
                "image_policy": "images",
            },
        )
        config = load_config(data)
        outcomes = list(evaluate_many(config, [self.PRODUCT]))
        assert [o.quantity.quantity for o in outcomes if o.quantity] == [5, 3, 2]
        assert [o.template for o in outcomes] == ["ebay-only", "all", "all"]

    def test_preview_change(self) -> None:
        """Turning allocation on shows every quantity it changes before saving."""
        old = load_config(config_data())
        new = load_config(config_data(WEIGHTS))
        changes = [c for c in preview_change(old, new, [self.PRODUCT]) if c.what == "quantity"]
        assert [(c.account, c.before["quantity"], c.after["quantity"]) for c in changes] == [
            ("ebay", 10, 5),
            ("amazon", 10, 3),
            ("tiktok", 10, 2),
        ]


class TestStockSync:
    """plan_stock_sync re-allocates and pushes only the shares that changed."""

    def event(self, qty: int) -> StockEvent:
        return StockEvent(sku="MJ01", source="sales_order", stock=Stock(qty=qty), at=AT)

    def listings(self, ebay: int, amazon: int, tiktok: int) -> list[ChannelListing]:
        return [
            ChannelListing(account=a, sku="MJ01", template="all", last_quantity=q)
            for a, q in (("ebay", ebay), ("amazon", amazon), ("tiktok", tiktok))
        ]

    def test_only_changed_shares_are_pushed(self) -> None:
        """From 10 (5/3/2) to 9 units: eBay's share drops to 5 → 4? only changed ones go."""
        config = load_config(config_data(WEIGHTS))
        plan = plan_stock_sync(self.event(8), self.listings(5, 3, 2), config)
        # 8 by 5:3:2 → 4, 2.4, 1.6 → 4, 2, 2 (largest remainder: TikTok's .6 beats Amazon's .4)
        assert [(u.account, u.quantity) for u in plan.updates] == [("ebay", 4), ("amazon", 2)]
        assert [s.reason.code for s in plan.skipped] == ["unchanged"]

    def test_unlisted_account_frees_its_share(self) -> None:
        """An account whose listing is not live takes no part: the others share its units."""
        config = load_config(config_data(WEIGHTS))
        listings = self.listings(5, 3, 2)
        listings[0] = attrs.evolve(listings[0], listed=False)
        plan = plan_stock_sync(self.event(10), listings, config)
        assert [(u.account, u.quantity) for u in plan.updates] == [("amazon", 6), ("tiktok", 4)]

    def test_revise_threshold_still_applies(self) -> None:
        """Both quantities above the revise threshold: not revised, share or not."""
        data = config_data(WEIGHTS)
        data["sync_policies"]["sync"]["quantity_revise_threshold"] = 40
        config = load_config(data)
        plan = plan_stock_sync(self.event(100), self.listings(60, 35, 20), config)
        assert [(u.account, u.quantity) for u in plan.updates] == [("amazon", 30)]
        assert [s.reason.code for s in plan.skipped] == ["above_revise_threshold", "unchanged"]

    def test_without_allocation_unchanged(self) -> None:
        """Without an allocation section every listing gets the whole stock, as before."""
        plan = plan_stock_sync(self.event(8), self.listings(5, 3, 2), load_config(config_data()))
        assert [u.quantity for u in plan.updates] == [8, 8, 8]


class TestLint:
    """lint warns about allocation settings that cannot do what they seem to."""

    def codes(self, section: dict[str, Any]) -> list[tuple[str, str]]:
        config = load_config(config_data(section))
        return [(w.code, w.path) for w in lint(config) if w.code.startswith("allocation")]

    def test_ignored_settings(self) -> None:
        """Reservations, weights and a priority list that shared never reads."""
        section = {"accounts": {"ebay": {"reserve": 2, "weight": 3}}, "priority": ["ebay"]}
        assert self.codes(section) == [
            ("allocation_setting_ignored", "$.allocation.accounts.ebay.reserve"),
            ("allocation_setting_ignored", "$.allocation.accounts.ebay.weight"),
            ("allocation_setting_ignored", "$.allocation.priority"),
        ]

    def test_weights_zero_and_all_reserved(self) -> None:
        """Every weight 0, or every account reserved: the rest is never listed."""
        zero = {"strategy": "weights", "accounts": {a: {"weight": 0} for a in THREE}}
        assert self.codes(zero) == [("allocation_weights_zero", "$.allocation.accounts")]
        reserved = {"strategy": "reserved", "accounts": {a: {"reserve": 1} for a in THREE}}
        assert self.codes(reserved) == [("allocation_all_reserved", "$.allocation.strategy")]

    def test_location_not_drawn(self) -> None:
        """A location for a source the account does not draw from is never reported."""
        section = {
            "strategy": "priority",
            "accounts": {"ebay": {"sources": ["eu"], "locations": {"us": "L"}}},
        }
        assert self.codes(section) == [
            ("allocation_location_not_drawn", "$.allocation.accounts.ebay.locations.us")
        ]

    def test_quiet_when_sound(self) -> None:
        """A sound section, or none, gives no allocation warning."""
        assert self.codes(WEIGHTS) == []
        assert not [w for w in lint(load_config(config_data())) if "allocation" in w.code]


# --------------------------------------------------------------------------------- orders


POLICY = OrderPolicy(title="Orders", import_statuses=("paid",), source_deductions=True)
SOURCED = Product(
    sku="MJ01",
    stock=Stock(
        qty=9,
        sources=(
            SourceItem(code="store", qty=2),
            SourceItem(code="warehouse", qty=5),
            SourceItem(code="closed", qty=9, enabled=False),
        ),
    ),
)


def order(*lines: tuple[str, int]) -> ChannelOrder:
    return ChannelOrder(
        id="1",
        status="paid",
        lines=tuple(OrderLine(sku=sku, qty=qty, price=Decimal("10")) for sku, qty in lines),
    )


class TestOrderDeductions:
    """plan_order can say what an order takes from each MSI source."""

    def test_off_by_default(self) -> None:
        """Without source_deductions the plan has today's per-SKU changes only."""
        policy = attrs.evolve(POLICY, source_deductions=False)
        plan = plan_order(order(("MJ01", 3)), policy, {"MJ01": SOURCED}, sequence=1)
        assert dict(plan.stock_changes) == {"MJ01": -3}
        assert plan.source_deductions == {}

    def test_priority(self) -> None:
        """Magento's source priority: the stock's order, or the policy's list first."""
        plan = plan_order(order(("MJ01", 3)), POLICY, {"MJ01": SOURCED}, sequence=1)
        assert plan.source_deductions == {"MJ01": {"store": -2, "warehouse": -1}}
        assert dict(plan.stock_changes) == {"MJ01": -3}
        first = attrs.evolve(POLICY, source_priority=("warehouse",))
        plan = plan_order(order(("MJ01", 3)), first, {"MJ01": SOURCED}, sequence=1)
        assert plan.source_deductions == {"MJ01": {"warehouse": -3}}

    def test_largest_first(self) -> None:
        """largest_first takes from the fullest source first."""
        policy = attrs.evolve(POLICY, source_selection="largest_first")
        plan = plan_order(order(("MJ01", 6)), policy, {"MJ01": SOURCED}, sequence=1)
        assert plan.source_deductions == {"MJ01": {"warehouse": -5, "store": -1}}

    def test_shortfall(self) -> None:
        """More than the sources hold: the plan says what is missing, never below 0."""
        plan = plan_order(order(("MJ01", 5), ("MJ01", 4)), POLICY, {"MJ01": SOURCED}, sequence=1)
        assert plan.create
        assert plan.source_deductions == {"MJ01": {"store": -2, "warehouse": -5}}
        assert plan.unsourced == {"MJ01": 2}
        assert ("source_shortfall", "MJ01", 2, 7) in plan.reasons

    def test_single_source_and_untracked(self) -> None:
        """A single-source stock is the source 'default'; untracked stock is not deducted."""
        catalog = {
            "A": Product(sku="A", stock=Stock(qty=4)),
            "B": Product(sku="B", stock=Stock(qty=4, manage_stock=False)),
            "C": Product(sku="C"),
        }
        plan = plan_order(order(("A", 1), ("B", 1), ("C", 1)), POLICY, catalog, sequence=1)
        assert plan.source_deductions == {"A": {"default": -1}}
        assert plan.unsourced == {}

    def test_loads_from_json(self) -> None:
        """The order policy's source fields load from JSON."""
        policy = structure(
            {
                "title": "T",
                "import_statuses": ["paid"],
                "source_deductions": True,
                "source_selection": "largest_first",
                "source_priority": ["a"],
            },
            OrderPolicy,
        )
        assert policy.source_selection is SourceSelection.LARGEST_FIRST
        with pytest.raises(PolicyConfigError, match=r"@ \$\.source_selection"):
            structure(
                {"title": "T", "import_statuses": ["p"], "source_selection": "x"}, OrderPolicy
            )

    @given(
        catalogs(min_size=1, max_size=3),
        st.sampled_from(SourceSelection),
        st.lists(st.sampled_from(("default", "us_warehouse", "eu_warehouse")), unique=True),
        st.data(),
    )
    def test_deductions_add_up(
        self,
        catalog: dict[str, Product],
        selection: SourceSelection,
        priority: list[str],
        data: st.DataObject,
    ) -> None:
        """Per store SKU with a managed stock, no source goes below 0 and the units taken from
        the sources plus the units no source holds are the ordered quantity."""
        policy = attrs.evolve(
            POLICY,
            allow_unavailable_products=True,
            source_selection=selection,
            source_priority=tuple(priority),
        )
        placed = data.draw(
            channel_orders(skus=st.sampled_from(sorted(catalog)), statuses=("paid",))
        )
        plan = plan_order(placed, policy, catalog, sequence=1)
        assert plan.create
        for store_sku, change in plan.stock_changes.items():
            stock = catalog[store_sku].stock
            taken = plan.source_deductions.get(store_sku)
            if stock is None or not stock.manage_stock:
                assert taken is None
                continue
            assert taken is not None
            available = select_sources(stock, 10**9, SourceSelection.PRIORITY)[0]
            for code, units in taken.items():
                assert 0 > units >= available[code]
            assert -sum(taken.values()) + plan.unsourced.get(store_sku, 0) == -change


def test_allocation_survives_json() -> None:
    """An allocation result round-trips through unstructure and structure."""
    allocation = allocate(
        TestSourcesAndLocations.STOCK, THREE, AllocationPolicy(strategy="weights")
    )
    assert structure(unstructure(allocation), Allocation) == allocation


class TestCommandLine:
    """``policy-engine allocate`` prints each product's split; evaluate follows the section."""

    def test_allocate(self, tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
        """One row per product and account; a product that does not load fails the run."""
        config = tmp_path / "config.json"
        config.write_text(json.dumps(config_data(WEIGHTS)))
        products = tmp_path / "products.json"
        products.write_text(json.dumps([{"sku": "MJ01", "stock": {"qty": 10}}, {"sku": 3}]))
        status = main(["allocate", str(config), str(products), "-f", "json"])
        captured = capsys.readouterr()
        rows = json.loads(captured.out)
        assert status == 1
        assert [(r["account"], r["quantity"], r["sources"]) for r in rows[:3]] == [
            ("ebay", 5, "default=5"),
            ("amazon", 3, "default=3"),
            ("tiktok", 2, "default=2"),
        ]
        assert rows[3]["error"].startswith("invalid_product")
        assert "2 products, 4 rows, 1 failed" in captured.err

    def test_allocate_without_section(
        self, tmp_path: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without a section every account is offered the whole stock (shared)."""
        config = tmp_path / "config.json"
        config.write_text(json.dumps(config_data()))
        products = tmp_path / "products.json"
        products.write_text(json.dumps([{"sku": "MJ01", "stock": {"qty": 10}}]))
        assert main(["allocate", str(config), str(products), "-f", "csv"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[1] == "MJ01,ebay,shared,10,0,0,10,default=10,,"

    def test_allocate_empty(self, tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
        """No products is an error."""
        config = tmp_path / "config.json"
        config.write_text(json.dumps(config_data()))
        products = tmp_path / "products.json"
        products.write_text("[]")
        assert main(["allocate", str(config), str(products)]) == 1
        assert "no products" in capsys.readouterr().err

    def test_evaluate_follows_the_section(
        self, tmp_path: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """evaluate lists the allocated quantities."""
        config = tmp_path / "config.json"
        config.write_text(json.dumps(config_data(WEIGHTS)))
        products = tmp_path / "products.json"
        products.write_text(json.dumps([{"sku": "MJ01", "price": "9.90", "stock": {"qty": 10}}]))
        assert main(["evaluate", str(config), str(products), "-f", "json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert [row["quantity"] for row in rows] == [5, 3, 2]
