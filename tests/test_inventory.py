"""compute_quantity: spec section 3."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from policy_engine import (
    InventoryPolicy,
    MsiSettings,
    PolicyConfigError,
    QuantityResult,
    QuantityRule,
    SourceItem,
    Stock,
    Threshold,
    compute_quantity,
    structure,
    unstructure,
)
from policy_engine.testing import inventory_policies, msi_settings, stocks, thresholds

SEED_THRESHOLD = InventoryPolicy(
    title="Seed threshold", threshold=Threshold(value=10, above=20, below=2)
)


def _sellable(base: int, policy: InventoryPolicy) -> int:
    return max(0, base - policy.buffer) * policy.percentage // 100


def _base(stock: Stock, policy: InventoryPolicy) -> int:
    """The spec's base quantity (section 3, step 3), written independently of the library."""
    if policy.msi is None:
        return stock.qty
    wanted = set(policy.msi.sources)
    total = sum(
        item.qty
        for item in stock.sources
        if item.enabled and item.in_stock and (not wanted or item.code in wanted)
    )
    if policy.msi.salable:
        return total + stock.reserved - stock.out_of_stock_threshold
    return total


class TestSeedExamples:
    """The worked examples of spec section 3."""

    @pytest.mark.parametrize(
        ("qty", "expected", "rule"),
        [
            (11, 20, QuantityRule.ABOVE_THRESHOLD),
            (500, 20, QuantityRule.ABOVE_THRESHOLD),
            (10, 10, QuantityRule.AT_THRESHOLD),
            (9, 2, QuantityRule.BELOW_THRESHOLD),
            (1, 2, QuantityRule.BELOW_THRESHOLD),
        ],
    )
    def test_threshold_10_above_20_below_2(self, qty: int, expected: int, rule: str) -> None:
        """Threshold 10 / above 20 / below 2: 11+ syncs 20, exactly 10 syncs 10, 9 syncs 2."""
        result = compute_quantity(Stock(qty=qty), SEED_THRESHOLD)
        assert (result.quantity, result.rule) == (expected, rule)

    def test_buffer_5_with_18_in_stock_syncs_13(self) -> None:
        """A buffer of 5 with 18 in stock syncs 13."""
        result = compute_quantity(Stock(qty=18), InventoryPolicy(title="B", buffer=5))
        assert result.quantity == 13
        assert result.rule == "stock"
        assert [step.code for step in result.steps] == ["buffer", "stock"]
        assert result.steps[0].message == "a buffer of 5 is kept for the store: 13 left"


class TestRules:
    """Each rule of section 3, in order."""

    def test_no_stock_record_gives_default(self) -> None:
        """Without a stock record the default quantity is listed (no_stock_data)."""
        result = compute_quantity(None, InventoryPolicy(title="D", default_quantity=7))
        assert (result.quantity, result.rule) == (7, QuantityRule.NO_STOCK_DATA)
        assert result.steps[0].message == "the store has no stock record: default quantity 7"

    def test_unmanaged_stock_gives_default(self) -> None:
        """A stock the store does not manage lists the default quantity (stock_not_managed)."""
        policy = InventoryPolicy(title="D", default_quantity=3)
        result = compute_quantity(Stock(qty=100, manage_stock=False), policy)
        assert (result.quantity, result.rule) == (3, QuantityRule.STOCK_NOT_MANAGED)

    @pytest.mark.parametrize(("qty", "in_stock"), [(5, False), (0, True), (-4, True)])
    def test_out_of_stock_lists_zero(self, qty: int, in_stock: bool) -> None:
        """Out of stock, or nothing to sell, lists 0 (out_of_stock)."""
        policy = InventoryPolicy(title="D", default_quantity=9)
        result = compute_quantity(Stock(qty=qty, in_stock=in_stock), policy)
        assert (result.quantity, result.rule) == (0, QuantityRule.OUT_OF_STOCK)
        expected_first = "not_in_stock" if not in_stock else "no_quantity"
        assert [step.code for step in result.steps] == [expected_first, "out_of_stock"]

    def test_out_of_stock_default_is_opt_in(self) -> None:
        """With default_when_out_of_stock an out-of-stock product lists the default quantity."""
        policy = InventoryPolicy(title="D", default_quantity=4, default_when_out_of_stock=True)
        result = compute_quantity(Stock(qty=0), policy)
        assert (result.quantity, result.rule) == (4, QuantityRule.OUT_OF_STOCK_DEFAULT)
        assert result.steps[-1].message == "out of stock: lists the default quantity 4"

    def test_percentage_floors(self) -> None:
        """The percentage share is floored: 30 % of 9 is 2."""
        result = compute_quantity(Stock(qty=9), InventoryPolicy(title="P", percentage=30))
        assert result.quantity == 2
        assert result.steps[0] == ("percentage", 30, 2)

    def test_buffer_larger_than_stock_lists_zero(self) -> None:
        """A buffer above the store quantity leaves nothing to sell."""
        result = compute_quantity(Stock(qty=3), InventoryPolicy(title="B", buffer=5))
        assert (result.quantity, result.rule) == (0, QuantityRule.STOCK)

    def test_threshold_compares_store_quantity_not_sellable(self) -> None:
        """The threshold compares the store quantity (base), before the buffer."""
        policy = InventoryPolicy(
            title="T", buffer=5, threshold=Threshold(value=10, above=20, below=2)
        )
        assert compute_quantity(Stock(qty=12), policy).quantity == 20
        assert compute_quantity(Stock(qty=10), policy).quantity == 5

    def test_cap_at_stock_caps_threshold_above(self) -> None:
        """cap_at_stock never lists more than the sellable quantity."""
        policy = InventoryPolicy(
            title="T", cap_at_stock=True, threshold=Threshold(value=10, above=20, below=2)
        )
        result = compute_quantity(Stock(qty=12), policy)
        assert (result.quantity, result.rule) == (12, QuantityRule.ABOVE_THRESHOLD)
        assert result.steps[-1] == ("cap_at_stock", 20, 12)

    def test_max_quantity_caps(self) -> None:
        """max_quantity caps the listed quantity and says so."""
        result = compute_quantity(Stock(qty=80), InventoryPolicy(title="M", max_quantity=50))
        assert result.quantity == 50
        assert result.steps[-1].message == "capped at the maximum quantity 50 (was 80)"

    def test_caps_that_do_not_change_the_value_leave_no_step(self) -> None:
        """A cap that changes nothing is not recorded."""
        policy = InventoryPolicy(title="M", max_quantity=50, cap_at_stock=True)
        result = compute_quantity(Stock(qty=10), policy)
        assert [step.code for step in result.steps] == ["stock"]


class TestMsi:
    """Base quantity from Magento MSI sources (section 3, step 3)."""

    STOCK = Stock(
        qty=999,
        reserved=-3,
        out_of_stock_threshold=2,
        sources=(
            SourceItem(code="us_warehouse", qty=40),
            SourceItem(code="us_store", qty=7),
            SourceItem(code="eu_warehouse", qty=100, in_stock=False),
        ),
    )

    def test_all_sources_when_none_listed(self) -> None:
        """An empty source list counts every in-stock source."""
        policy = InventoryPolicy(title="M", msi=MsiSettings())
        result = compute_quantity(self.STOCK, policy)
        assert result.quantity == 47
        codes = [step.code for step in result.steps]
        assert codes == ["msi_source_out_of_stock", "msi_sources", "stock"]
        assert (
            result.steps[0].message == "MSI source 'eu_warehouse' is out of stock: its 100 count 0"
        )

    def test_listed_sources_and_missing_source(self) -> None:
        """Only listed sources count; a listed code the stock lacks counts 0 and is named."""
        policy = InventoryPolicy(title="M", msi=MsiSettings(sources=("us_store", "mars")))
        result = compute_quantity(self.STOCK, policy)
        assert result.quantity == 7
        assert result.steps[0] == ("msi_source_missing", "mars")
        assert result.steps[1].message == "7 in stock across the MSI sources us_store"

    def test_salable_quantity(self) -> None:
        """Salable: total + reserved − out-of-stock threshold (47 − 3 − 2 = 42)."""
        policy = InventoryPolicy(title="M", msi=MsiSettings(salable=True))
        result = compute_quantity(self.STOCK, policy)
        assert result.quantity == 42
        assert result.steps[2].message == (
            "salable quantity 42 = 47 in the sources -3 reserved - 2 out-of-stock threshold"
        )

    def test_no_sources_is_out_of_stock(self) -> None:
        """MSI with no chosen source has nothing to sell."""
        policy = InventoryPolicy(title="M", msi=MsiSettings(sources=("mars",)))
        result = compute_quantity(Stock(qty=50), policy)
        assert (result.quantity, result.rule) == (0, QuantityRule.OUT_OF_STOCK)
        assert result.steps[1].message == "0 in stock across the MSI sources (none)"

    def test_disabled_source_counts_nothing_for_every_source(self) -> None:
        """A source disabled in the store contributes 0 to "every source", and is named."""
        stock = attrs.evolve(
            self.STOCK,
            sources=(
                *self.STOCK.sources,
                SourceItem(code="de_warehouse", qty=55, enabled=False),
            ),
        )
        result = compute_quantity(stock, InventoryPolicy(title="M", msi=MsiSettings()))
        assert result.quantity == 47
        assert result.steps[1].message == (
            "MSI source 'de_warehouse' is disabled in the store: its 55 count 0"
        )
        assert result.steps[1] == ("msi_source_disabled", "de_warehouse", 55)

    def test_disabled_listed_source_counts_nothing(self) -> None:
        """A listed source that is disabled counts 0 too, even when it is in stock."""
        stock = Stock(
            sources=(
                SourceItem(code="us_store", qty=7),
                SourceItem(code="de_store", qty=30, enabled=False, in_stock=False),
            )
        )
        policy = InventoryPolicy(title="M", msi=MsiSettings(sources=("de_store", "us_store")))
        result = compute_quantity(stock, policy)
        assert result.quantity == 7
        assert [step.code for step in result.steps] == [
            "msi_source_disabled",
            "msi_sources",
            "stock",
        ]
        only_disabled = InventoryPolicy(title="M", msi=MsiSettings(sources=("de_store",)))
        result = compute_quantity(stock, only_disabled)
        assert (result.quantity, result.rule) == (0, QuantityRule.OUT_OF_STOCK)

    def test_disabled_source_salable(self) -> None:
        """Salable quantity: the disabled source is left out of the total before reservations."""
        stock = attrs.evolve(
            self.STOCK, sources=(*self.STOCK.sources, SourceItem(code="x", qty=500, enabled=False))
        )
        policy = InventoryPolicy(title="M", msi=MsiSettings(salable=True))
        assert compute_quantity(stock, policy).quantity == 42

    def test_enabled_flag_loads_and_dumps(self) -> None:
        """``enabled`` is a JSON field of a source item, true by default."""
        item = structure({"code": "de_store", "qty": 3, "enabled": False}, SourceItem)
        assert item == SourceItem(code="de_store", qty=3, enabled=False)
        assert unstructure(item)["enabled"] is False
        assert structure({"code": "us_store"}, SourceItem).enabled is True
        with pytest.raises(PolicyConfigError) as caught:
            structure({"code": "us_store", "enabled": "no"}, SourceItem)
        assert caught.value.errors == ["expected a boolean, got a string @ $.enabled"]


class TestInvariants:
    """The invariants of section 3, for any stock and policy."""

    @given(st.none() | stocks(), inventory_policies())
    def test_result_is_a_non_negative_int(
        self, stock: Stock | None, policy: InventoryPolicy
    ) -> None:
        """ "The result is an int ≥ 0" (and steps are never empty)."""
        result = compute_quantity(stock, policy)
        assert type(result.quantity) is int
        assert result.quantity >= 0
        assert result.steps

    @given(stocks(managed=True), inventory_policies())
    def test_out_of_stock_gives_zero(self, stock: Stock, policy: InventoryPolicy) -> None:
        """ "A managed, present stock that is out of stock gives 0 unless default_when_out_of_stock"."""
        assume(not stock.in_stock or _base(stock, policy) <= 0)
        result = compute_quantity(stock, policy)
        if policy.default_when_out_of_stock:
            assert result.quantity == policy.default_quantity
        else:
            assert result.quantity == 0

    @given(stocks(managed=True, in_stock=True), inventory_policies(threshold=False))
    def test_never_more_than_base_minus_buffer(self, stock: Stock, policy: InventoryPolicy) -> None:
        """ "For a managed, present, in-stock stock with base > 0 and no threshold, the result never
        exceeds max(0, base − buffer)"."""
        base = _base(stock, policy)
        assume(base > 0)
        assert compute_quantity(stock, policy).quantity <= max(0, base - policy.buffer)

    @given(
        inventory_policies(threshold=False, msi=False),
        st.integers(min_value=1, max_value=10_000),
        st.integers(min_value=0, max_value=10_000),
    )
    def test_monotone_in_base(self, policy: InventoryPolicy, low: int, extra: int) -> None:
        """ "… and never decreases when base grows"."""
        smaller = compute_quantity(Stock(qty=low), policy).quantity
        larger = compute_quantity(Stock(qty=low + extra), policy).quantity
        assert smaller <= larger

    @given(
        stocks(managed=True, msi=True),
        inventory_policies(threshold=False, msi=True, default_when_out_of_stock=False),
        st.data(),
    )
    def test_disabling_a_source_never_raises_the_quantity(
        self, stock: Stock, policy: InventoryPolicy, data: st.DataObject
    ) -> None:
        """Disabling a source counts as removing it, and disabling a source that holds a
        quantity >= 0 never raises the listed quantity (without a threshold rule and without
        ``default_when_out_of_stock``, which may list more for less stock by design; a negative
        source quantity, which the model takes, only ever lowered the total)."""
        index = data.draw(st.integers(min_value=0, max_value=len(stock.sources) - 1))
        sources = list(stock.sources)
        sources[index] = attrs.evolve(sources[index], enabled=False)
        disabled = attrs.evolve(stock, sources=tuple(sources))
        before = compute_quantity(stock, policy)
        after = compute_quantity(disabled, policy)
        if stock.sources[index].qty >= 0:
            assert after.quantity <= before.quantity
        assert (
            after.quantity
            == compute_quantity(
                attrs.evolve(stock, sources=tuple(s for s in sources if s.enabled)), policy
            ).quantity
        )

    @given(stocks(managed=True, in_stock=True), inventory_policies(caps=True))
    def test_cap_at_stock_never_lists_more_than_sellable(
        self, stock: Stock, policy: InventoryPolicy
    ) -> None:
        """ "With cap_at_stock such a stock never lists more than sellable"."""
        base = _base(stock, policy)
        assume(base > 0 and policy.cap_at_stock)
        assert compute_quantity(stock, policy).quantity <= _sellable(base, policy)

    @given(st.integers(min_value=0, max_value=300), thresholds())
    def test_threshold_rule_follows_base(self, qty: int, threshold: Threshold) -> None:
        """Above the threshold lists ``above``, below lists ``below``, at it the sellable qty."""
        assume(qty > 0)
        policy = InventoryPolicy(title="T", threshold=threshold)
        result = compute_quantity(Stock(qty=qty), policy)
        if qty > threshold.value:
            assert (result.quantity, result.rule) == (threshold.above, "above_threshold")
        elif qty == threshold.value:
            assert (result.quantity, result.rule) == (qty, "at_threshold")
        else:
            assert (result.quantity, result.rule) == (threshold.below, "below_threshold")

    @given(stocks(), inventory_policies())
    def test_no_stock_and_unmanaged_give_default(
        self, stock: Stock, policy: InventoryPolicy
    ) -> None:
        """No stock record, or unmanaged stock, always lists the default quantity."""
        assert compute_quantity(None, policy).quantity == policy.default_quantity
        if not stock.manage_stock:
            assert compute_quantity(stock, policy).quantity == policy.default_quantity


class TestRoundTrip:
    """structure(unstructure(x)) == x for the inventory models."""

    @given(inventory_policies())
    def test_policy(self, policy: InventoryPolicy) -> None:
        """An inventory policy survives a JSON round trip."""
        assert structure(unstructure(policy), InventoryPolicy) == policy

    @given(thresholds(), msi_settings())
    def test_parts(self, threshold: Threshold, msi: MsiSettings) -> None:
        """Threshold and MSI settings survive a JSON round trip."""
        assert structure(unstructure(threshold), Threshold) == threshold
        assert structure(unstructure(msi), MsiSettings) == msi

    @given(st.none() | stocks(), inventory_policies())
    def test_result(self, stock: Stock | None, policy: InventoryPolicy) -> None:
        """A quantity result survives a JSON round trip, messages included."""
        result = compute_quantity(stock, policy)
        data = unstructure(result)
        assert structure(data, QuantityResult) == result
        assert [step["message"] for step in data["steps"]] == [s.message for s in result.steps]


class TestValidation:
    """An invalid inventory policy cannot be loaded or built."""

    def test_all_problems_at_once(self) -> None:
        """Every problem of a document is reported with its path, in one error."""
        with pytest.raises(PolicyConfigError) as caught:
            structure(
                {
                    "title": "",
                    "buffer": -1,
                    "percentage": True,
                    "treshold": {"value": 1},
                    "threshold": {"value": 1, "above": "20"},
                    "msi": {"sources": ["a", 3]},
                    "max_quantity": 2.5,
                },
                InventoryPolicy,
            )
        assert caught.value.errors == [
            "must not be empty @ $.title",
            "must be >= 0 (got -1) @ $.buffer",
            "expected an integer, got a string @ $.threshold.above",
            "required field missing @ $.threshold.below",
            "expected a string, got an integer @ $.msi.sources[1]",
            "expected an integer, got a boolean @ $.percentage",
            "expected an integer, got a number @ $.max_quantity",
            "unknown field (did you mean 'threshold'?) @ $.treshold",
        ]

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"buffer": -1}, "must be >= 0 (got -1) @ $.buffer"),
            ({"percentage": 0}, "must be between 1 and 100 (got 0) @ $.percentage"),
            ({"percentage": 101}, "must be between 1 and 100 (got 101) @ $.percentage"),
            ({"default_quantity": -2}, "must be >= 0 (got -2) @ $.default_quantity"),
            ({"max_quantity": -1}, "must be >= 0 (got -1) @ $.max_quantity"),
            ({"title": " "}, "must not be empty @ $.title"),
            (
                {"threshold": {"value": 1}},
                "expected a threshold object or null, got an object @ $.threshold",
            ),
        ],
    )
    def test_construction_validates(self, kwargs: dict[str, object], error: str) -> None:
        """Building a policy in Python runs the same checks as loading it."""
        arguments: dict[str, object] = {"title": "T", **kwargs}
        with pytest.raises(PolicyConfigError) as caught:
            InventoryPolicy(**arguments)  # type: ignore[arg-type]
        assert caught.value.errors == [error]

    def test_threshold_values_non_negative(self) -> None:
        """Threshold levels are >= 0."""
        with pytest.raises(PolicyConfigError) as caught:
            Threshold(value=-1, above=0, below=-2)
        assert caught.value.errors == [
            "must be >= 0 (got -1) @ $.value",
            "must be >= 0 (got -2) @ $.below",
        ]


class TestExactBehaviour:
    """Boundaries, arguments and messages pinned one by one (found by mutation testing)."""

    @pytest.mark.parametrize(
        ("qty", "step"),
        [
            (11, ("above_threshold", 11, 10, 20)),
            (10, ("at_threshold", 10, 10, 10)),
            (9, ("below_threshold", 9, 10, 2)),
        ],
    )
    def test_threshold_step_records_base_value_and_quantity(
        self, qty: int, step: tuple[object, ...]
    ) -> None:
        """The threshold step records the store quantity, the threshold and the listed quantity."""
        result = compute_quantity(Stock(qty=qty), SEED_THRESHOLD)
        assert result.steps == (step,)

    def test_buffer_equal_to_stock_leaves_zero(self) -> None:
        """A buffer equal to the store quantity leaves exactly 0 to sell."""
        result = compute_quantity(Stock(qty=5), InventoryPolicy(title="B", buffer=5))
        assert result.quantity == 0
        assert result.steps == (("buffer", 5, 0), ("stock", 5, 0))

    def test_percentage_divides_by_one_hundred(self) -> None:
        """50 % of 100 is exactly 50 (the share is a percentage of 100, floored)."""
        result = compute_quantity(Stock(qty=100), InventoryPolicy(title="P", percentage=50))
        assert result.quantity == 50
        assert result.steps[0] == ("percentage", 50, 50)

    def test_max_quantity_equal_to_quantity_leaves_no_step(self) -> None:
        """A quantity equal to max_quantity is not capped, so no max_quantity step is recorded."""
        result = compute_quantity(Stock(qty=50), InventoryPolicy(title="M", max_quantity=50))
        assert result.quantity == 50
        assert [step.code for step in result.steps] == ["stock"]

    def test_default_results_carry_one_step_with_the_default(self) -> None:
        """The precomputed no-stock and unmanaged results hold the default quantity and one step."""
        policy = InventoryPolicy(title="D", default_quantity=6)
        missing = compute_quantity(None, policy)
        assert (missing.quantity, missing.rule) == (6, QuantityRule.NO_STOCK_DATA)
        assert missing.steps == (("no_stock_data", 6),)
        unmanaged = compute_quantity(Stock(qty=1, manage_stock=False), policy)
        assert (unmanaged.quantity, unmanaged.rule) == (6, QuantityRule.STOCK_NOT_MANAGED)
        assert unmanaged.steps == (("stock_not_managed", 6),)

    def test_msi_sources_message_lists_every_chosen_code(self) -> None:
        """The MSI step names each counted source, separated by a comma and a space."""
        policy = InventoryPolicy(title="M", msi=MsiSettings())
        result = compute_quantity(TestMsi.STOCK, policy)
        assert result.steps[1].message == (
            "47 in stock across the MSI sources us_warehouse, us_store, eu_warehouse"
        )

    def test_msi_sources_list_becomes_a_tuple(self) -> None:
        """MSI source codes given as a list are stored as a tuple."""
        settings = MsiSettings(sources=["a", "b"])
        assert type(settings.sources) is tuple
        assert settings.sources == ("a", "b")

    @pytest.mark.parametrize(
        ("sources", "error"),
        [
            (("a", 3), "expected a list of non-empty strings, got an integer in it @ $.sources"),
            (("a", ""), "expected a list of non-empty strings, got a string in it @ $.sources"),
        ],
    )
    def test_msi_sources_must_be_non_empty_strings(
        self, sources: tuple[object, ...], error: str
    ) -> None:
        """Building MSI settings in Python rejects a source code that is not a non-empty string."""
        with pytest.raises(PolicyConfigError) as caught:
            MsiSettings(sources=sources)
        assert caught.value.errors == [error]

    def test_msi_must_be_msi_settings(self) -> None:
        """A policy built in Python rejects MSI settings given as a plain mapping, naming its type."""
        with pytest.raises(PolicyConfigError) as caught:
            InventoryPolicy(title="T", msi={"sources": []})  # type: ignore[arg-type]
        assert caught.value.errors == ["expected MSI settings or null, got an object @ $.msi"]
