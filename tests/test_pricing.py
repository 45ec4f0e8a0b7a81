"""compute_price: spec section 4 (and the pricing part of the JSON contract, section 1)."""

from __future__ import annotations

import decimal
import pickle
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine import (
    Adjustment,
    AdjustmentKind,
    Ending,
    EndingDirection,
    FrozenDict,
    PolicyConfigError,
    PolicyEngineError,
    PriceResult,
    PriceVariationMode,
    PricingError,
    PricingPolicy,
    Product,
    Rounding,
    Step,
    _pricing,
    compute_price,
    message_templates,
    structure,
    unstructure,
)
from policy_engine._pricing import currency_places
from policy_engine.testing import (
    adjustments,
    endings,
    money,
    pricing_policies,
    products,
)

D = Decimal
ON = date(2026, 3, 15)


def _policy(**kwargs: Any) -> PricingPolicy:
    arguments: dict[str, Any] = {"title": "Test", **kwargs}
    return PricingPolicy(**arguments)


def _price(price: str | None, policy: PricingPolicy, **product: Any) -> PriceResult:
    return compute_price(
        Product(sku="SKU-1", price=None if price is None else D(price), **product), policy, on=ON
    )


def _outcome(product: Product, policy: PricingPolicy, on: date) -> PriceResult | PricingError:
    """The result, or the PricingError raised (no other exception may escape)."""
    try:
        return compute_price(product, policy, on=on)
    except PricingError as error:
        return error


def _codes(result: PriceResult) -> list[str]:
    return [step.code for step in result.steps]


def _with_base(product: Product, policy: PricingPolicy, base: Decimal | str) -> Product:
    """The product with ``base`` where the policy reads its base price."""
    if policy.price_attribute == "price":
        return attrs.evolve(product, price=D(base))
    if policy.price_attribute == "special_price":
        return attrs.evolve(product, special_price=D(base))
    return attrs.evolve(product, attributes={**product.attributes, policy.price_attribute: base})


class TestSeedExamples:
    """The worked examples of spec section 4."""

    def test_percent_increment_10_on_100(self) -> None:
        """percent_increment 10 on 100.00 gives 110.00."""
        policy = _policy(adjustments=[Adjustment(kind="percent_increment", amount=D(10))])
        result = _price("100.00", policy)
        assert result.amount == D("110.00")
        assert str(result.amount) == "110.00"
        assert result.currency == "USD"
        assert result.steps == (
            Step(("base_price", "price", "100.00")),
            Step(("percent_increment", "10", "110.000")),
        )
        assert [step.message for step in result.steps] == [
            "base price 100.00 from 'price'",
            "plus 10%: 110.000",
        ]

    @pytest.mark.parametrize(
        ("price", "direction", "expected"),
        [
            ("12.30", "up", "12.99"),
            ("12.30", "down", "11.99"),
            ("13.00", "up", "13.99"),
            ("12.48", "nearest", "11.99"),
            ("12.49", "nearest", "12.99"),
            ("12.50", "nearest", "12.99"),
        ],
    )
    def test_charm_endings(self, price: str, direction: str, expected: str) -> None:
        """The .99 ending examples: up, down and nearest (a tie goes up)."""
        policy = _policy(ending=Ending(value=D("0.99"), direction=direction))
        result = _price(price, policy)
        assert str(result.amount) == expected
        assert result.steps[-1] == Step(("ending", "0.99", direction, expected))

    def test_jpy_has_no_decimal_places(self) -> None:
        """JPY prices are rounded to whole yen."""
        policy = _policy(currency="JPY", conversion_rate=D("150.123"))
        result = _price("8.23", policy)
        assert str(result.amount) == "1236"
        assert result.currency == "JPY"
        assert result.steps[-1] == Step(("rounding", "half_up", 0, "1236"))
        assert result.steps[-1].message == "rounded half_up to 0 decimal places: 1236"

    def test_kwd_has_three_decimal_places(self) -> None:
        """KWD prices keep three decimal places."""
        policy = _policy(currency="KWD", conversion_rate=D("0.3071"))
        result = _price("19.99", policy)
        assert str(result.amount) == "6.139"
        assert result.steps[-1] == Step(("rounding", "half_up", 3, "6.139"))

    @pytest.mark.parametrize(
        ("code", "places"),
        [
            *((code, 0) for code in ("JPY", "KRW", "VND", "CLP", "ISK")),
            *((code, 3) for code in ("KWD", "BHD", "JOD", "OMR", "TND")),
            *((code, 2) for code in ("USD", "EUR", "GBP", "CHF", "AUD")),
        ],
    )
    def test_currency_places(self, code: str, places: int) -> None:
        """0 places for JPY KRW VND CLP ISK, 3 for KWD BHD JOD OMR TND, 2 otherwise."""
        assert currency_places(code) == places
        result = _price("10", _policy(currency=code))
        exponent = result.amount.as_tuple().exponent
        assert exponent == -places


class TestBasePrice:
    """Step 1: the base price from the price attribute, or the regular price as a fallback."""

    @pytest.mark.parametrize("value", ["59.00", " 59.00 ", 59, D("59.00"), D("59"), "5.9E+1"])
    def test_attribute_number_or_decimal_string(self, value: object) -> None:
        """An attribute holding an int, a Decimal or a decimal string is the base price."""
        policy = _policy(price_attribute="msrp")
        result = _price("10.00", policy, attributes={"msrp": value})
        assert result.amount == D("59.00")
        assert result.steps[0].code == "base_price"
        assert result.steps[0].args[0] == "msrp"

    def test_non_finite_decimal_is_not_a_number(self) -> None:
        """A NaN forced into a product (bypassing its checks) is not a number, not a crash."""
        product = Product(sku="SKU-1", price=D("20.00"), attributes={"msrp": D("1")})
        object.__setattr__(product, "attributes", FrozenDict({"msrp": D("NaN")}))
        result = compute_price(product, _policy(price_attribute="msrp"))
        assert result.steps[0] == Step(("price_fallback", "msrp", "not a number", "20.00"))

    def test_special_price_field_as_price_attribute(self) -> None:
        """``special_price`` as the price attribute reads the product's special price field."""
        policy = _policy(price_attribute="special_price")
        result = _price("10.00", policy, special_price=D("7.5"))
        assert result.amount == D("7.50")
        assert result.steps[0] == Step(("base_price", "special_price", "7.5"))

    @pytest.mark.parametrize(
        ("attributes", "why"),
        [
            ({}, "missing"),
            ({"msrp": None}, "null"),
            ({"msrp": "abc"}, "not a number"),
            ({"msrp": "NaN"}, "not a number"),
            ({"msrp": "Infinity"}, "not a number"),
            ({"msrp": "-Infinity"}, "not a number"),
            ({"msrp": ""}, "not a number"),
            ({"msrp": True}, "not a number"),
            ({"msrp": False}, "not a number"),
            ({"msrp": ("59.00",)}, "not a number"),
            ({"msrp": "0"}, "not positive"),
            ({"msrp": "-5"}, "not positive"),
            ({"msrp": 0}, "not positive"),
            ({"msrp": D("-1.5")}, "not positive"),
            ({"msrp": "1000000000000"}, "too large"),
            ({"msrp": 10**20}, "too large"),
        ],
    )
    def test_unusable_attribute_falls_back(self, attributes: dict[str, Any], why: str) -> None:
        """A missing, null, non-numeric or non-positive attribute falls back to the price."""
        policy = _policy(price_attribute="msrp")
        result = _price("20.00", policy, attributes=attributes)
        assert result.amount == D("20.00")
        assert result.steps[0] == Step(("price_fallback", "msrp", why, "20.00"))
        assert result.steps[0].message == f"'msrp' is {why}: the regular price 20.00 is used"

    def test_no_fallback_raises_missing_price(self) -> None:
        """Without fallback an unusable attribute raises missing_price naming SKU and attribute."""
        policy = _policy(price_attribute="msrp", fallback_to_price=False)
        with pytest.raises(PricingError) as caught:
            _price("20.00", policy, attributes={"msrp": "n/a"})
        error = caught.value
        assert (error.code, error.sku, error.attribute) == ("missing_price", "SKU-1", "msrp")
        assert str(error) == "no usable price for SKU 'SKU-1': 'msrp' is not a number"
        assert isinstance(error, PolicyEngineError)

    def test_fallback_to_unusable_price_raises(self) -> None:
        """When the regular price is unusable too, missing_price names both reasons."""
        policy = _policy(price_attribute="msrp")
        with pytest.raises(PricingError) as caught:
            _price(None, policy)
        assert caught.value.code == "missing_price"
        assert str(caught.value) == (
            "no usable price for SKU 'SKU-1': 'msrp' is missing and the regular price is null"
        )

    @pytest.mark.parametrize(("price", "why"), [(None, "null"), ("0", "not positive")])
    def test_unusable_regular_price_raises(self, price: str | None, why: str) -> None:
        """With the ``price`` attribute there is nothing to fall back to."""
        with pytest.raises(PricingError) as caught:
            _price(price, _policy())
        assert caught.value.code == "missing_price"
        assert caught.value.attribute == "price"
        assert str(caught.value) == f"no usable price for SKU 'SKU-1': 'price' is {why}"


class TestSpecialPrice:
    """Step 2: a lower special price applies while its window (inclusive) contains ``on``."""

    WINDOW: dict[str, Any] = {  # noqa: RUF012 - read-only test data
        "special_price": D("80.00"),
        "special_from": date(2026, 3, 1),
        "special_to": date(2026, 3, 31),
    }

    @pytest.mark.parametrize("on", [date(2026, 3, 1), date(2026, 3, 15), date(2026, 3, 31)])
    def test_applies_inside_window_inclusive(self, on: date) -> None:
        """The first and the last day of the window are inside it."""
        product = Product(sku="S", price=D("100.00"), **self.WINDOW)
        result = compute_price(product, _policy(use_special_price=True), on=on)
        assert result.amount == D("80.00")
        assert result.steps[1] == Step(("special_price_applied", "80.00", "100.00"))
        assert result.steps[1].message == "the special price 80.00 applies (below 100.00)"

    @pytest.mark.parametrize("on", [date(2026, 2, 28), date(2026, 4, 1)])
    def test_ignored_outside_window(self, on: date) -> None:
        """The day before and the day after the window use the regular price."""
        product = Product(sku="S", price=D("100.00"), **self.WINDOW)
        result = compute_price(product, _policy(use_special_price=True), on=on)
        assert result.amount == D("100.00")
        step = result.steps[1]
        assert step == Step(
            ("special_price_inactive", "80.00", "2026-03-01", "2026-03-31", on.isoformat())
        )
        assert step.message == (
            f"the special price 80.00 is not active on {on.isoformat()}"
            " (window 2026-03-01 to 2026-03-31)"
        )

    def test_open_ended_window(self) -> None:
        """A window with one bound is open on the other side."""
        product = Product(
            sku="S", price=D("100"), special_price=D("80"), special_to=date(2026, 1, 31)
        )
        result = compute_price(product, _policy(use_special_price=True), on=ON)
        assert result.steps[1].args == ("80", "open", "2026-01-31", "2026-03-15")

    def test_not_lower_is_not_applied(self) -> None:
        """A special price at or above the base leaves the base."""
        product = Product(sku="S", price=D("100"), special_price=D("100"))
        result = compute_price(product, _policy(use_special_price=True), on=ON)
        assert result.amount == D("100.00")
        assert result.steps[1] == Step(("special_price_not_lower", "100", "100"))

    def test_off_by_default_and_unusable_special_price(self) -> None:
        """Without use_special_price, or with a zero special price, nothing happens."""
        product = Product(sku="S", price=D("100"), special_price=D("50"))
        assert _codes(compute_price(product, _policy(), on=ON)) == ["base_price"]
        zero = attrs.evolve(product, special_price=D(0))
        assert _codes(compute_price(zero, _policy(use_special_price=True))) == ["base_price"]

    def test_applies_to_an_attribute_base(self) -> None:
        """The special price caps an attribute base too (Magento's final price)."""
        product = Product(sku="S", price=D("100"), special_price=D("70"), attributes={"msrp": "90"})
        result = compute_price(product, _policy(price_attribute="msrp", use_special_price=True))
        assert result.amount == D("70.00")

    def test_today_in_utc_by_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without ``on`` the window is checked against today's date in UTC."""
        calls: list[object] = []

        class Clock(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Clock:
                calls.append(tz)
                return cls(2026, 4, 1, 0, 30, tzinfo=UTC)

        monkeypatch.setattr(_pricing, "datetime", Clock)
        product = Product(sku="S", price=D("100.00"), **self.WINDOW)
        result = compute_price(product, _policy(use_special_price=True))
        assert calls == [UTC]
        assert result.amount == D("100.00")
        assert result.steps[1].args[-1] == "2026-04-01"

    def test_clock_read_only_when_the_window_needs_it(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No clock read without a special price window to check."""

        class NoClock(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> NoClock:
                raise AssertionError("the clock was read")  # pragma: no cover

        monkeypatch.setattr(_pricing, "datetime", NoClock)
        special = _policy(use_special_price=True)
        no_window = Product(sku="S", price=D("100"), special_price=D("80"))
        assert compute_price(no_window, special).amount == D("80.00")
        windowed = Product(sku="S", price=D("100.00"), **self.WINDOW)
        assert compute_price(windowed, _policy()).amount == D("100.00")
        assert compute_price(windowed, special, on=ON).amount == D("80.00")

    def test_datetime_counts_as_its_date(self) -> None:
        """A datetime given as ``on`` is checked by its date."""
        product = Product(sku="S", price=D("100.00"), **self.WINDOW)
        on = datetime(2026, 3, 31, 23, 59, tzinfo=UTC)
        assert compute_price(product, _policy(use_special_price=True), on=on).amount == D("80.00")

    def test_on_must_be_a_date(self) -> None:
        """Anything else given as ``on`` is a programming error, named clearly."""
        product = Product(sku="S", price=D("100.00"), **self.WINDOW)
        policy = _policy(use_special_price=True)
        with pytest.raises(TypeError, match="'on' must be a date, got str"):
            compute_price(product, policy, on="2026-03-01")  # type: ignore[arg-type]


class TestAdjustmentsVatConversion:
    """Steps 3-5: adjustments in order, then VAT, then conversion."""

    def test_adjustments_apply_in_order(self) -> None:
        """Each adjustment applies to the value so far, so order matters."""
        fixed = Adjustment(kind="fixed_increment", amount=D(10))
        percent = Adjustment(kind="percent_increment", amount=D(50))
        assert _price("100", _policy(adjustments=[fixed, percent])).amount == D("165.00")
        assert _price("100", _policy(adjustments=[percent, fixed])).amount == D("160.00")

    def test_every_kind(self) -> None:
        """Fixed and percent increments and decrements, each recorded with its result."""
        policy = _policy(
            adjustments=[
                Adjustment(kind=AdjustmentKind.FIXED_INCREMENT, amount=D("5.50")),
                Adjustment(kind=AdjustmentKind.PERCENT_INCREMENT, amount=D("20")),
                Adjustment(kind=AdjustmentKind.FIXED_DECREMENT, amount=D("1")),
                Adjustment(kind=AdjustmentKind.PERCENT_DECREMENT, amount=D("12.5")),
            ]
        )
        result = _price("44.50", policy)
        assert result.amount == D("51.63")
        assert [step.message for step in result.steps[1:]] == [
            "plus 5.50: 50.00",
            "plus 20%: 60.000",
            "minus 1: 59.000",
            "minus 12.5%: 51.625000",
            "rounded half_up to 2 decimal places: 51.63",
        ]

    def test_percent_decrement_of_100_gives_zero(self) -> None:
        """A 100 % decrement leaves nothing, which is not a price."""
        policy = _policy(adjustments=[Adjustment(kind="percent_decrement", amount=100)])
        with pytest.raises(PricingError) as caught:
            _price("10", policy)
        assert caught.value.code == "non_positive_price"

    def test_vat_then_conversion(self) -> None:
        """VAT multiplies by 1 + vat/100, then the conversion rate applies."""
        policy = _policy(vat_percent=D(20), conversion_rate=D("0.5"), currency="EUR")
        result = _price("10.00", policy)
        assert result.amount == D("6.00")
        assert result.steps[1:] == (
            Step(("vat", "20", "12.000")),
            Step(("conversion", "0.5", "EUR", "6.0000")),
        )
        assert [step.message for step in result.steps[1:]] == [
            "VAT 20% added: 12.000",
            "converted to EUR at the rate 0.5: 6.0000",
        ]

    def test_neutral_vat_and_rate_leave_no_step(self) -> None:
        """VAT 0 and rate 1 do nothing and record nothing."""
        result = _price("10", _policy(vat_percent=D(0), conversion_rate=D(1)))
        assert _codes(result) == ["base_price"]


class TestRounding:
    """Step 6: rounding to the currency's places with the policy's mode."""

    @pytest.mark.parametrize(
        ("rounding", "price", "expected"),
        [
            (Rounding.HALF_UP, "2.345", "2.35"),
            (Rounding.HALF_EVEN, "2.345", "2.34"),
            (Rounding.HALF_EVEN, "2.355", "2.36"),
            (Rounding.UP, "2.341", "2.35"),
            (Rounding.DOWN, "2.349", "2.34"),
            (Rounding.UP, "2.340", "2.34"),
        ],
    )
    def test_modes(self, rounding: Rounding, price: str, expected: str) -> None:
        """half_up, half_even, up (toward +inf) and down (toward -inf)."""
        assert str(_price(price, _policy(rounding=rounding)).amount) == expected

    def test_exact_places_without_a_rounding_step(self) -> None:
        """A price that needs no rounding still gets the currency's places, with no step."""
        result = _price("12", _policy())
        assert str(result.amount) == "12.00"
        assert _codes(result) == ["base_price"]


class TestEnding:
    """Step 7: charm endings."""

    def test_price_already_on_the_ending(self) -> None:
        """A price that already has the ending is kept, with no ending step."""
        for direction in EndingDirection:
            result = _price("12.99", _policy(ending=Ending(value=D("0.99"), direction=direction)))
            assert result.amount == D("12.99")
            assert _codes(result) == ["base_price"]

    @pytest.mark.parametrize(
        ("price", "direction", "expected"),
        [
            ("12.30", "up", "12.90"),
            ("12.95", "up", "13.90"),
            ("12.30", "down", "11.90"),
            ("12.39", "nearest", "11.90"),
            ("12.40", "nearest", "12.90"),
            ("12.41", "nearest", "12.90"),
        ],
    )
    def test_ending_with_fewer_places(self, price: str, direction: str, expected: str) -> None:
        """An ending .9 moves prices to x.90 and keeps the currency's two places (ties go up)."""
        policy = _policy(ending=Ending(value=D("0.9"), direction=direction))
        assert str(_price(price, policy).amount) == expected

    def test_whole_ending(self) -> None:
        """An ending of 0 rounds to whole units in the chosen direction."""
        assert str(_price("12.01", _policy(ending=Ending(value=0))).amount) == "13.00"
        down = _policy(ending=Ending(value=0, direction="down"))
        assert str(_price("12.99", down).amount) == "12.00"

    def test_jpy_ending_zero(self) -> None:
        """JPY accepts only the ending 0, which leaves whole yen unchanged."""
        policy = _policy(currency="JPY", ending=Ending(value=D("0.00")))
        assert str(_price("1234.4", policy).amount) == "1234"

    def test_kwd_ending(self) -> None:
        """A three-place ending for a three-place currency."""
        policy = _policy(currency="KWD", ending=Ending(value=D("0.995")))
        assert str(_price("4.1", policy).amount) == "4.995"

    def test_ending_down_below_zero_raises(self) -> None:
        """Ending down from 0.50 with .99 gives -0.01: not a price."""
        policy = _policy(ending=Ending(value=D("0.99"), direction="down"))
        with pytest.raises(PricingError) as caught:
            _price("0.50", policy)
        assert caught.value.code == "non_positive_price"
        assert str(caught.value) == (
            "the computed price of SKU 'SKU-1' is -0.01 USD: a price must be above 0"
        )


class TestClamp:
    """Step 8: the min/max clamp, then step 9: a price must be above zero."""

    def test_min_price_raises_the_price(self) -> None:
        """A price below min_price becomes min_price, with the currency's places."""
        result = _price("5", _policy(min_price=D(10)))
        assert str(result.amount) == "10.00"
        assert result.steps[-1] == Step(("min_price", "5.00", "10.00"))
        assert result.steps[-1].message == "raised to the minimum price 10.00 (was 5.00)"

    def test_max_price_lowers_the_price(self) -> None:
        """A price above max_price becomes max_price."""
        result = _price("500", _policy(max_price=D("99.9")))
        assert str(result.amount) == "99.90"
        assert result.steps[-1].message == "lowered to the maximum price 99.90 (was 500.00)"

    def test_clamp_after_ending(self) -> None:
        """The clamp comes after the ending and may undo it."""
        policy = _policy(ending=Ending(value=D("0.99")), max_price=D("12.50"))
        result = _price("12.30", policy)
        assert result.amount == D("12.50")
        assert _codes(result) == ["base_price", "ending", "max_price"]

    def test_bounds_with_more_places_are_rounded_inward(self) -> None:
        """A bound with more places than the currency is rounded inward: min up, max down."""
        policy = _policy(currency="JPY", min_price=D("100.2"), max_price=D("200.8"))
        assert str(_price("50", policy).amount) == "101"
        assert str(_price("500", policy).amount) == "200"

    def test_min_price_rescues_a_negative_price(self) -> None:
        """The clamp comes before the zero check, so min_price turns a negative price positive."""
        policy = _policy(
            adjustments=[Adjustment(kind="fixed_decrement", amount=50)], min_price=D("1")
        )
        result = _price("10", policy)
        assert result.amount == D("1.00")
        assert result.steps[1].args == ("50", "-40")

    def test_non_positive_price(self) -> None:
        """A final amount of zero raises non_positive_price."""
        policy = _policy(adjustments=[Adjustment(kind="fixed_decrement", amount=10)])
        with pytest.raises(PricingError) as caught:
            _price("10", policy)
        error = caught.value
        assert (error.code, error.sku, error.attribute) == ("non_positive_price", "SKU-1", "price")
        assert (
            str(error) == "the computed price of SKU 'SKU-1' is 0.00 USD: a price must be above 0"
        )

    def test_max_price_zero_never_gives_a_price(self) -> None:
        """max_price 0 clamps everything to 0, which is refused."""
        with pytest.raises(PricingError) as caught:
            _price("10", _policy(max_price=0))
        assert caught.value.code == "non_positive_price"

    def test_price_out_of_range(self) -> None:
        """A price with more than 12 integer digits is refused (price_out_of_range)."""
        huge = Adjustment(kind="percent_increment", amount=D("999999999999"))
        with pytest.raises(PricingError) as caught:
            _price("999999", _policy(adjustments=[huge]))
        assert caught.value.code == "price_out_of_range"
        assert str(caught.value) == (
            "the computed price of SKU 'SKU-1' in USD would have more than 12 integer digits"
        )
        with pytest.raises(PricingError) as caught:
            _price("999999", _policy(adjustments=[huge] * 7))
        assert caught.value.code == "price_out_of_range"

    def test_max_price_keeps_a_huge_price_in_range(self) -> None:
        """max_price applies before the range check."""
        huge = Adjustment(kind="percent_increment", amount=D("999999999999"))
        assert _price("999999", _policy(adjustments=[huge], max_price=1000)).amount == 1000


class TestPurity:
    """Same input, same output: no dependence on the caller's decimal context or on pickling."""

    POLICY = PricingPolicy(
        title="P",
        adjustments=(Adjustment(kind="percent_increment", amount=D("12.5")),),
        vat_percent=D("19"),
        conversion_rate=D("1.0837"),
        ending=Ending(value=D("0.95"), direction=EndingDirection.NEAREST),
    )

    def test_thread_decimal_context_is_ignored(self) -> None:
        """A caller's decimal context (precision, rounding, traps) does not change a price."""
        product = Product(sku="S", price=D("19.99"), attributes={"msrp": "bad"})
        expected = compute_price(product, self.POLICY)
        with decimal.localcontext() as context:
            context.prec = 3
            context.rounding = decimal.ROUND_DOWN
            context.traps[decimal.Inexact] = True
            context.traps[decimal.InvalidOperation] = False
            assert compute_price(product, self.POLICY) == expected
            fallback = attrs.evolve(self.POLICY, price_attribute="msrp")
            assert compute_price(product, fallback).amount == expected.amount
        assert str(expected.amount) == "28.95"

    def test_pickled_and_evolved_policies(self) -> None:
        """A pickled policy, or one rebuilt with attrs.evolve, computes the same price."""
        product = Product(sku="S", price=D("19.99"))
        expected = compute_price(product, self.POLICY)
        assert compute_price(product, pickle.loads(pickle.dumps(self.POLICY))) == expected
        assert compute_price(product, attrs.evolve(self.POLICY)) == expected
        jpy = attrs.evolve(self.POLICY, currency="JPY", ending=None)
        assert str(compute_price(product, jpy).amount) == "29"

    def test_policies_compare_and_hash_by_fields(self) -> None:
        """Equal fields make equal, equally hashed policies."""
        twin = PricingPolicy(**{f.name: getattr(self.POLICY, f.name) for f in _init_fields()})
        assert twin == self.POLICY
        assert hash(twin) == hash(self.POLICY)
        assert "_quantum" not in repr(self.POLICY)


def _init_fields() -> list[attrs.Attribute[Any]]:
    return [field for field in attrs.fields(PricingPolicy) if field.init]


class TestSteps:
    """Every step code has a registered message."""

    def test_every_code_has_a_template(self) -> None:
        """The pricing step codes are registered with their templates."""
        templates = message_templates()
        for code in (
            "base_price",
            "price_fallback",
            "special_price_applied",
            "special_price_not_lower",
            "special_price_inactive",
            "fixed_increment",
            "fixed_decrement",
            "percent_increment",
            "percent_decrement",
            "vat",
            "conversion",
            "rounding",
            "ending",
            "min_price",
            "max_price",
        ):
            assert code in templates

    def test_full_explanation(self) -> None:
        """A policy using every step explains each one, in the spec's order."""
        policy = _policy(
            price_attribute="msrp",
            use_special_price=True,
            adjustments=[Adjustment(kind="fixed_decrement", amount=D("0.5"))],
            vat_percent=D("10"),
            conversion_rate=D("0.9"),
            currency="EUR",
            rounding="down",
            ending=Ending(value=D("0.49"), direction="nearest"),
            min_price=D("75"),
        )
        product = Product(
            sku="S", price=D("99"), special_price=D("75.25"), attributes={"msrp": "120"}
        )
        result = compute_price(product, policy, on=ON)
        assert result.amount == D("75.00")
        assert [step.message for step in result.steps] == [
            "base price 120 from 'msrp'",
            "the special price 75.25 applies (below 120)",
            "minus 0.5: 74.75",
            "VAT 10% added: 82.225",
            "converted to EUR at the rate 0.9: 74.0025",
            "rounded down to 2 decimal places: 74.00",
            "price ending 0.49 (nearest): 74.49",
            "raised to the minimum price 75.00 (was 74.49)",
        ]


class TestValidation:
    """An invalid pricing policy cannot be built or loaded; every problem is reported at once."""

    def test_loading_reports_every_problem(self) -> None:
        """NaN money, a decrement above 100, a negative amount, a boolean as money, and more."""
        with pytest.raises(PolicyConfigError) as caught:
            structure(
                {
                    "title": "AliExpress",
                    "adjustments": [
                        {"kind": "percent_decrement", "amount": 150},
                        {"kind": "fixed_increment", "amount": "-5"},
                        {"kind": "markup", "amount": "5"},
                    ],
                    "vat_percent": True,
                    "conversion_rate": 0,
                    "currency": "usd",
                    "rounding": "HALF_UP",
                    "ending": {"value": "1.5", "direction": "sideways"},
                    "min_price": "NaN",
                    "max_price": "Infinity",
                    "price_atribute": "msrp",
                },
                PricingPolicy,
            )
        assert caught.value.errors == [
            "must be <= 100 for a percent_decrement (got 150) @ $.adjustments[0].amount",
            "must be >= 0 (got -5) @ $.adjustments[1].amount",
            (
                "must be one of 'fixed_increment', 'fixed_decrement', 'percent_increment',"
                " 'percent_decrement' (got 'markup') @ $.adjustments[2].kind"
            ),
            "expected money (a decimal number or string), got a boolean @ $.vat_percent",
            "must be > 0 (got 0) @ $.conversion_rate",
            (
                "expected a 3-letter upper-case ISO 4217 currency code such as 'USD' (got 'usd')"
                " @ $.currency"
            ),
            "must be one of 'half_up', 'half_even', 'up', 'down' (got 'HALF_UP') @ $.rounding",
            "must be < 1 (got 1.5) @ $.ending.value",
            "must be one of 'up', 'down', 'nearest' (got 'sideways') @ $.ending.direction",
            "money must be a finite number, got 'NaN' @ $.min_price",
            "money must be a finite number, got 'Infinity' @ $.max_price",
            "unknown field (did you mean 'price_attribute'?) @ $.price_atribute",
        ]

    def test_cross_field_rules_reported_together(self) -> None:
        """An ending with too many places and crossed bounds are reported at once."""
        with pytest.raises(PolicyConfigError) as caught:
            structure(
                {
                    "title": "T",
                    "ending": {"value": "0.999"},
                    "min_price": "20",
                    "max_price": "10",
                },
                PricingPolicy,
            )
        assert caught.value.errors == [
            "must have at most 2 decimal places for USD (got 0.999) @ $.ending.value",
            "must be <= max_price 10 (got 20) @ $.min_price",
        ]

    @pytest.mark.parametrize(
        ("currency", "value", "error"),
        [
            ("JPY", "0.5", "must have at most 0 decimal places for JPY (got 0.5)"),
            ("EUR", "0.995", "must have at most 2 decimal places for EUR (got 0.995)"),
            ("KWD", "0.9999", "must have at most 3 decimal places for KWD (got 0.9999)"),
        ],
    )
    def test_ending_places_follow_the_currency(self, currency: str, value: str, error: str) -> None:
        """An ending with more decimal places than the currency has is a load error."""
        with pytest.raises(PolicyConfigError) as caught:
            structure(
                {"title": "T", "currency": currency, "ending": {"value": value}}, PricingPolicy
            )
        assert caught.value.errors == [f"{error} @ $.ending.value"]

    def test_trailing_zeros_do_not_count_as_places(self) -> None:
        """``0.990`` is the ending .99; ``0.00`` is the ending 0 even for JPY."""
        policy = structure({"title": "T", "ending": {"value": "0.990"}}, PricingPolicy)
        assert policy.ending == Ending(value=D("0.99"))
        assert structure(
            {"title": "T", "currency": "JPY", "ending": {"value": "0.00"}}, PricingPolicy
        ).ending == Ending(value=D(0))

    def test_no_price_between_bounds(self) -> None:
        """Bounds that leave no price with the currency's places are refused."""
        with pytest.raises(PolicyConfigError) as caught:
            _policy(min_price=D("10.001"), max_price=D("10.009"))
        assert caught.value.errors == [
            (
                "no USD price with 2 decimal places lies between min_price 10.001 and max_price"
                " 10.009 @ $.max_price"
            )
        ]

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"title": " "}, "must not be empty @ $.title"),
            ({"price_attribute": ""}, "must not be empty @ $.price_attribute"),
            ({"price_attribute": 3}, "expected a string, got an integer @ $.price_attribute"),
            ({"fallback_to_price": 1}, "expected a boolean, got an integer @ $.fallback_to_price"),
            ({"use_special_price": None}, "expected a boolean, got null @ $.use_special_price"),
            ({"vat_percent": -1}, "must be >= 0 (got -1) @ $.vat_percent"),
            (
                {"vat_percent": "twenty"},
                "expected money (a finite decimal number), got a string @ $.vat_percent",
            ),
            (
                {"vat_percent": float("nan")},
                "expected money (a finite decimal number), got a number @ $.vat_percent",
            ),
            ({"conversion_rate": D("-0.1")}, "must be > 0 (got -0.1) @ $.conversion_rate"),
            (
                {"conversion_rate": D("1E+12")},
                "money must have at most 12 integer digits, got 1E+12 @ $.conversion_rate",
            ),
            (
                {"currency": "EURO"},
                "expected a 3-letter upper-case ISO 4217 currency code such as 'USD' (got 'EURO') @ $.currency",
            ),
            (
                {"currency": "U$D"},
                "expected a 3-letter upper-case ISO 4217 currency code such as 'USD' (got 'U$D') @ $.currency",
            ),
            (
                {"rounding": "ceiling"},
                "must be one of 'half_up', 'half_even', 'up', 'down' (got 'ceiling') @ $.rounding",
            ),
            ({"ending": D("0.99")}, "expected an ending object or null, got a number @ $.ending"),
            (
                {"adjustments": "none"},
                "expected a list of adjustments, got a string @ $.adjustments",
            ),
            (
                {"adjustments": [{"kind": "fixed_increment"}]},
                "expected adjustments, got an object in the list @ $.adjustments",
            ),
            ({"min_price": -1}, "must be >= 0 (got -1) @ $.min_price"),
            (
                {"max_price": True},
                "expected money (a finite decimal number), got a boolean @ $.max_price",
            ),
        ],
    )
    def test_construction_validates(self, kwargs: dict[str, Any], error: str) -> None:
        """Building a policy in Python runs the same checks as loading it."""
        with pytest.raises(PolicyConfigError) as caught:
            _policy(**kwargs)
        assert caught.value.errors == [error]

    def test_python_numbers_become_decimals(self) -> None:
        """ints and floats given in Python become Decimals (floats by their shortest repr)."""
        policy = _policy(vat_percent=19, conversion_rate=1.1, min_price=2.5, rounding="half_even")
        assert policy.vat_percent == D(19)
        assert str(policy.conversion_rate) == "1.1"
        assert str(policy.min_price) == "2.5"
        assert policy.rounding is Rounding.HALF_EVEN

    def test_decimal_strings_are_money(self) -> None:
        """Every money field takes a decimal string, in a constructor and in attrs.evolve."""
        policy = _policy(
            adjustments=[Adjustment(kind="fixed_increment", amount="2.50")],
            vat_percent="19",
            conversion_rate=" 0.92 ",
            ending=Ending(value="0.99"),
            min_price="5.00",
            max_price="500",
        )
        assert policy == _policy(
            adjustments=[Adjustment(kind="fixed_increment", amount=D("2.50"))],
            vat_percent=D(19),
            conversion_rate=D("0.92"),
            ending=Ending(value=D("0.99")),
            min_price=D("5.00"),
            max_price=D(500),
        )
        assert str(policy.min_price) == "5.00"
        evolved = attrs.evolve(
            policy, vat_percent="7.7", conversion_rate="1.1", min_price="1", max_price="99.5"
        )
        assert (evolved.vat_percent, evolved.conversion_rate) == (D("7.7"), D("1.1"))
        assert (evolved.min_price, evolved.max_price) == (D(1), D("99.5"))
        assert evolved._conversion == D("1.1")  # the derived constants follow the new values
        adjustment = attrs.evolve(policy.adjustments[0], amount="3")
        assert adjustment.amount == D(3)
        assert attrs.evolve(Ending(value=D("0.5")), value="0.95").value == D("0.95")
        product = Product(sku="A", price=D(100))
        assert (
            compute_price(product, evolved).amount
            == compute_price(
                product,
                _policy(vat_percent=D("7.7"), conversion_rate=D("1.1"), max_price=D("99.5")),
            ).amount
        )

    @pytest.mark.parametrize("value", ["abc", "NaN", "-Infinity", "1e12", "", True])
    @pytest.mark.parametrize("field", ["vat_percent", "conversion_rate", "min_price", "max_price"])
    def test_strings_that_are_not_money_are_refused(self, field: str, value: object) -> None:
        """Not a number, not finite, too large or a boolean: the error names the field."""
        with pytest.raises(PolicyConfigError) as caught:
            _policy(**{field: value})
        kind = "a boolean" if value is True else "a string"
        assert caught.value.errors == [
            f"expected money (a finite decimal number), got {kind} @ $.{field}"
        ]
        with pytest.raises(PolicyConfigError) as caught:
            Adjustment(kind="fixed_increment", amount=value)
        assert caught.value.errors == [
            f"expected money (a finite decimal number), got {kind} @ $.amount"
        ]
        with pytest.raises(PolicyConfigError) as caught:
            attrs.evolve(Ending(value=D("0.5")), value=value)
        assert caught.value.errors == [
            f"expected money (a finite decimal number), got {kind} @ $.value"
        ]

    @pytest.mark.parametrize(
        ("kwargs", "errors"),
        [
            (
                {"kind": "percent_decrement", "amount": D("100.01")},
                ["must be <= 100 for a percent_decrement (got 100.01) @ $.amount"],
            ),
            ({"kind": "fixed_decrement", "amount": -1}, ["must be >= 0 (got -1) @ $.amount"]),
            (
                {"kind": "up", "amount": "a lot"},
                [
                    (
                        "must be one of 'fixed_increment', 'fixed_decrement',"
                        " 'percent_increment', 'percent_decrement' (got 'up') @ $.kind"
                    ),
                    "expected money (a finite decimal number), got a string @ $.amount",
                ],
            ),
        ],
    )
    def test_adjustment_rules(self, kwargs: dict[str, Any], errors: list[str]) -> None:
        """Amounts are money >= 0, and a percent decrement is at most 100."""
        with pytest.raises(PolicyConfigError) as caught:
            Adjustment(**kwargs)
        assert caught.value.errors == errors

    def test_percent_decrement_of_100_and_large_increments_are_valid(self) -> None:
        """100 is the largest decrement; increments have no upper bound but money's."""
        assert Adjustment(kind="percent_decrement", amount=100).amount == 100
        assert Adjustment(kind="percent_increment", amount=D("250")).amount == 250

    @pytest.mark.parametrize(
        ("value", "error"),
        [
            (D(1), "must be < 1 (got 1) @ $.value"),
            (D("-0.01"), "must be >= 0 (got -0.01) @ $.value"),
            ("0.99.", "expected money (a finite decimal number), got a string @ $.value"),
        ],
    )
    def test_ending_value_range(self, value: Any, error: str) -> None:
        """An ending value lies in [0, 1)."""
        with pytest.raises(PolicyConfigError) as caught:
            Ending(value=value)
        assert caught.value.errors == [error]

    def test_ending_direction(self) -> None:
        """An ending direction is up, down or nearest."""
        with pytest.raises(PolicyConfigError) as caught:
            Ending(value=D("0.5"), direction=1)
        assert caught.value.errors == [
            "must be one of 'up', 'down', 'nearest' (got 1) @ $.direction"
        ]


class TestInvariants:
    """The invariants of section 4, for any product and policy."""

    @given(products(max_images=0), pricing_policies(), st.dates())
    def test_amount_positive_with_currency_places(
        self, product: Product, policy: PricingPolicy, on: date
    ) -> None:
        """ "Amount > 0 and has exactly the currency's decimal places" (else a PricingError)."""
        outcome = _outcome(product, policy, on)
        if isinstance(outcome, PricingError):
            assert outcome.code in {"missing_price", "non_positive_price", "price_out_of_range"}
            assert outcome.sku == product.sku
            assert outcome.attribute == policy.price_attribute
            return
        assert type(outcome.amount) is Decimal
        assert outcome.amount > 0
        assert outcome.amount.as_tuple().exponent == -currency_places(policy.currency)
        assert outcome.currency == policy.currency
        assert outcome.steps
        assert all(isinstance(step.message, str) for step in outcome.steps)
        if policy.min_price is not None:
            assert outcome.amount >= policy.min_price
        if policy.max_price is not None:
            assert outcome.amount <= policy.max_price

    @given(
        products(with_price=True, max_images=0),
        pricing_policies(),
        st.tuples(money(max_value="50000", places=4), money(max_value="50000", places=4)).map(
            sorted
        ),
        st.booleans(),
    )
    def test_higher_base_never_gives_lower_amount(
        self, product: Product, policy: PricingPolicy, bases: list[Decimal], as_text: bool
    ) -> None:
        """ "For a fixed policy, a higher base price never gives a lower amount"."""
        lower, higher = (
            _outcome(_with_base(product, policy, str(base) if as_text else base), policy, ON)
            for base in bases
        )
        if isinstance(lower, PriceResult) and isinstance(higher, PriceResult):
            assert lower.amount <= higher.amount
        elif isinstance(lower, PriceResult):
            # Only a price too large to send can stop the higher base.
            assert isinstance(higher, PricingError)
            assert higher.code == "price_out_of_range"
        elif isinstance(higher, PricingError) and higher.code == "non_positive_price":
            assert lower.code == "non_positive_price"

    @given(products(max_images=0), pricing_policies())
    def test_deterministic(self, product: Product, policy: PricingPolicy) -> None:
        """The same product and policy always give the same result (or the same error)."""
        first, second = (_outcome(product, policy, ON) for _ in range(2))
        if isinstance(first, PricingError):
            assert isinstance(second, PricingError)
            assert (str(first), first.code) == (str(second), second.code)
        else:
            assert first == second


class TestStrategies:
    """The public strategies honour their options."""

    @given(
        pricing_policies(
            currency="JPY",
            with_ending=True,
            with_clamp=True,
            with_adjustments=False,
            with_vat=True,
            with_conversion=True,
            with_special_price=False,
            fallback_to_price=False,
            rounding="down",
            price_attribute="msrp",
        )
    )
    def test_pinned_options(self, policy: PricingPolicy) -> None:
        """Pinned options are respected and the policy is valid."""
        assert policy.currency == "JPY"
        assert policy.ending is not None
        assert policy.ending.value == 0
        assert policy.min_price is not None
        assert policy.max_price is not None
        assert policy.min_price <= policy.max_price
        assert policy.adjustments == ()
        assert policy.vat_percent > 0
        assert policy.conversion_rate != 1
        assert policy.use_special_price is False
        assert policy.fallback_to_price is False
        assert policy.rounding is Rounding.DOWN
        assert policy.price_attribute == "msrp"

    @given(
        pricing_policies(
            with_ending=False,
            with_clamp=False,
            with_vat=False,
            with_conversion=False,
            with_adjustments=True,
            kinds=["fixed_increment", "fixed_decrement"],
        )
    )
    def test_switched_off_parts(self, policy: PricingPolicy) -> None:
        """``False`` options leave the part out; ``kinds`` narrows the adjustments."""
        assert policy.ending is None
        assert policy.min_price is None
        assert policy.max_price is None
        assert policy.vat_percent == 0
        assert policy.conversion_rate == 1
        assert policy.adjustments
        assert {a.kind for a in policy.adjustments} <= {"fixed_increment", "fixed_decrement"}

    @given(
        pricing_policies(
            fixed={"currency": "KWD", "min_price": D("5")}, with_clamp=True, with_ending=True
        ),
        pricing_policies(fixed={"max_price": D("5")}, with_clamp=True),
    )
    def test_fixed_fields(self, kwd: PricingPolicy, capped: PricingPolicy) -> None:
        """``fixed`` pins fields; the other bound and the ending are drawn to match."""
        assert kwd.currency == "KWD"
        assert kwd.min_price == 5
        assert kwd.max_price is not None
        assert kwd.max_price >= 5
        assert kwd.ending is not None
        assert capped.max_price == 5
        assert capped.min_price is not None
        assert capped.min_price <= 5

    def test_fixed_rejects_unknown_fields(self) -> None:
        """A misspelt field in ``fixed`` is reported at once."""
        with pytest.raises(ValueError, match="does not have: treshold"):
            pricing_policies(fixed={"treshold": 1})

    @given(endings(currency="BHD", direction="nearest"), adjustments(kinds=["percent_decrement"]))
    def test_parts(self, ending: Ending, adjustment: Adjustment) -> None:
        """Endings fit the currency; a percent decrement stays at or below 100."""
        assert ending.direction is EndingDirection.NEAREST
        assert 0 <= ending.value < 1
        assert adjustment.kind is AdjustmentKind.PERCENT_DECREMENT
        assert 0 <= adjustment.amount <= 100


class TestRoundTrip:
    """structure(unstructure(x), type(x)) == x for the pricing models."""

    @given(pricing_policies())
    def test_policy(self, policy: PricingPolicy) -> None:
        """A pricing policy survives a JSON round trip and computes the same prices."""
        loaded = structure(unstructure(policy), PricingPolicy)
        assert loaded == policy
        product = Product(sku="S", price=D("19.99"), special_price=D("9.99"))
        try:
            expected = compute_price(product, policy, on=ON)
        except PricingError:
            return
        assert compute_price(product, loaded, on=ON) == expected

    @given(adjustments(), endings(currency="KWD"))
    def test_parts(self, adjustment: Adjustment, ending: Ending) -> None:
        """Adjustments and endings survive a JSON round trip."""
        assert structure(unstructure(adjustment), Adjustment) == adjustment
        assert structure(unstructure(ending), Ending) == ending

    @given(products(with_price=True, max_images=0), pricing_policies())
    def test_result(self, product: Product, policy: PricingPolicy) -> None:
        """A price result survives a JSON round trip, messages included."""
        try:
            result = compute_price(product, policy, on=ON)
        except PricingError:
            return
        data = unstructure(result)
        assert data["amount"] == str(result.amount)
        assert structure(data, PriceResult) == result
        assert [step["message"] for step in data["steps"]] == [s.message for s in result.steps]


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["1e999999", "-0", "0.999", "NaN", "1E-999999", "up", "percent_decrement"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
_FIELDS = st.sampled_from(
    [field.name for field in attrs.fields(PricingPolicy) if field.init] + ["kind", "amount"]
)


class TestReliability:
    """Section 14: any JSON value gives a model or PolicyConfigError, never another exception."""

    @given(
        st.builds(dict, st.dictionaries(_FIELDS, _JSON, max_size=6), title=st.just("T"))
        | st.dictionaries(_FIELDS, _JSON, max_size=6)
        | _JSON
    )
    def test_any_json_loads_or_fails_cleanly(self, data: Any) -> None:
        """Loading arbitrary JSON as a pricing policy or its parts fails only with PolicyConfigError."""
        for cls in (PricingPolicy, Adjustment, Ending):
            errors = ["no error"]
            try:
                structure(data, cls)
            except PolicyConfigError as error:
                errors = error.errors
            assert errors


class TestExactBehaviour:
    """Boundaries, arguments and messages pinned one by one (found by mutation testing)."""

    def test_policy_built_under_a_low_precision_context_is_unchanged(self) -> None:
        """Building and checking a policy ignores the caller's decimal context (precision 1)."""
        fields: dict[str, Any] = {
            "title": "P",
            "min_price": D("1.005"),
            "max_price": D("999.999"),
            "ending": Ending(value=D("0.99"), direction=EndingDirection.DOWN),
        }
        product = Product(sku="S", price=D("19.50"))
        expected = compute_price(product, PricingPolicy(**fields))
        with decimal.localcontext(decimal.Context(prec=1)):
            policy = PricingPolicy(**fields)
            assert compute_price(product, policy) == expected
            with pytest.raises(PolicyConfigError):
                PricingPolicy(title="P", ending=Ending(value=D("0.999")))
        assert str(expected.amount) == "18.99"

    def test_decimal_places_of_whole_and_non_finite_numbers(self) -> None:
        """Whole numbers (also with a positive exponent) and non-finite numbers need 0 places."""
        assert _pricing.decimal_places(D("120")) == 0
        assert _pricing.decimal_places(D("1.20")) == 1
        assert _pricing.decimal_places(D("Infinity")) == 0

    def test_out_of_range_error_names_the_sku_and_the_attribute(self) -> None:
        """price_out_of_range carries the SKU and the price attribute."""
        huge = Adjustment(kind="percent_increment", amount=D("999999999999"))
        with pytest.raises(PricingError) as caught:
            _price("999999", _policy(adjustments=[huge]))
        error = caught.value
        assert (error.code, error.sku, error.attribute) == ("price_out_of_range", "SKU-1", "price")

    def test_exactly_twelve_zeros_is_out_of_range(self) -> None:
        """A computed price of exactly 10^12 has 13 integer digits: price_out_of_range."""
        plus_cent = Adjustment(kind="fixed_increment", amount=D("0.01"))
        with pytest.raises(PricingError) as caught:
            _price("999999999999.99", _policy(adjustments=[plus_cent]))
        assert caught.value.code == "price_out_of_range"

    def test_base_price_of_exactly_ten_to_the_twelve_is_unusable(self) -> None:
        """A base price of exactly 10^12 is too large and the regular price is used instead."""
        policy = _policy(price_attribute="msrp")
        result = _price("5.00", policy, attributes={"msrp": D("1E+12")})
        assert result.amount == D("5.00")
        assert result.steps[0] == ("price_fallback", "msrp", "too large", "5.00")

    def test_price_equal_to_the_bounds_is_not_clamped(self) -> None:
        """A price equal to min_price or max_price is kept without a clamp step."""
        assert _codes(_price("10.00", _policy(min_price=D("10.00")))) == ["base_price"]
        assert _codes(_price("10.00", _policy(max_price=D("10.00")))) == ["base_price"]

    def test_inactive_window_open_at_the_end(self) -> None:
        """A window with a start only is shown as open at its end."""
        result = _price(
            "50.00",
            _policy(use_special_price=True),
            special_price=D("40.00"),
            special_from=date(2026, 4, 1),
        )
        assert result.steps[1] == (
            "special_price_inactive",
            "40.00",
            "2026-04-01",
            "open",
            "2026-03-15",
        )

    @pytest.mark.parametrize(
        ("build", "error"),
        [
            (
                lambda: Adjustment(kind=[1], amount=1),
                (
                    "must be one of 'fixed_increment', 'fixed_decrement', 'percent_increment',"
                    " 'percent_decrement' (got a list) @ $.kind"
                ),
            ),
            (
                lambda: Ending(value=D("0.5"), direction=[1]),
                "must be one of 'up', 'down', 'nearest' (got a list) @ $.direction",
            ),
            (
                lambda: Ending(value=D("0.5"), direction="sideways"),
                "must be one of 'up', 'down', 'nearest' (got 'sideways') @ $.direction",
            ),
            (
                lambda: PricingPolicy(title="P", rounding=[1]),
                "must be one of 'half_up', 'half_even', 'up', 'down' (got a list) @ $.rounding",
            ),
        ],
    )
    def test_wrong_enumeration_values_are_reported(self, build: Any, error: str) -> None:
        """An unknown or unhashable kind, direction or rounding is reported with the value given."""
        with pytest.raises(PolicyConfigError) as caught:
            build()
        assert caught.value.errors == [error]


class TestPriceVariationMode:
    """``price_variation_mode``: which price a product family's variants carry."""

    def test_default_is_children(self) -> None:
        """By default each variant carries its own price."""
        assert PricingPolicy(title="T").price_variation_mode is PriceVariationMode.CHILDREN

    def test_loads_and_dumps_as_text(self) -> None:
        """The mode loads from its text, converts from text in Python, and dumps as text."""
        loaded = structure({"title": "T", "price_variation_mode": "parent"}, PricingPolicy)
        assert loaded.price_variation_mode is PriceVariationMode.PARENT
        assert PricingPolicy(title="T", price_variation_mode="parent") == loaded
        assert unstructure(loaded)["price_variation_mode"] == "parent"

    @pytest.mark.parametrize("value", ["PARENT", "each", 1, None])
    def test_unknown_mode(self, value: Any) -> None:
        """Anything but ``children`` or ``parent`` is an error at the field."""
        with pytest.raises(PolicyConfigError) as caught:
            structure({"title": "T", "price_variation_mode": value}, PricingPolicy)
        assert len(caught.value.errors) == 1
        assert caught.value.errors[0].endswith(" @ $.price_variation_mode")
        with pytest.raises(PolicyConfigError):
            PricingPolicy(title="T", price_variation_mode=value)

    def test_a_single_product_ignores_it(self) -> None:
        """compute_price of one product is the same in either mode."""
        product = Product(sku="A", price=Decimal("12.5"))
        children = PricingPolicy(title="T")
        parent = PricingPolicy(title="T", price_variation_mode="parent")
        assert compute_price(product, children).amount == compute_price(product, parent).amount
