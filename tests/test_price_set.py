"""compute_prices and the pricing policy's market options: several prices per listing, MAP,
rounding to a unit, whole-number endings, dated exchange rates and tax per market."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from policy_engine import (
    Adjustment,
    BestOfferRule,
    BusinessRule,
    Ending,
    ExchangeRate,
    MapRule,
    MarketTax,
    PolicyConfigError,
    PriceOutputs,
    PriceRule,
    PriceSet,
    PricingError,
    PricingPolicy,
    Product,
    PromotionRule,
    QuantityTier,
    SaleRule,
    WholeEnding,
    compute_price,
    compute_prices,
    currency_places,
    evaluate_listing,
    evaluate_many,
    load_config,
    message_templates,
    preview_change,
    structure,
    unstructure,
)
from policy_engine.testing import (
    market_pricing_policies,
    money,
    price_outputs,
    price_rules,
    whole_endings,
)

D = Decimal
ON = date(2026, 3, 15)


def _policy(**kwargs: Any) -> PricingPolicy:
    return PricingPolicy(title="Test", **kwargs)


def _amount(price: str, policy: PricingPolicy, **product: Any) -> Decimal:
    return compute_price(Product(sku="S", price=D(price), **product), policy, on=ON).amount


def _rule(source: str, **kwargs: Any) -> PriceRule:
    return PriceRule(source=source, **kwargs)


def _off(percent: int) -> tuple[Adjustment, ...]:
    return (Adjustment(kind="percent_decrement", amount=percent),)


PRODUCT = Product(
    sku="TEE-1",
    price=D("100"),
    special_price=D("80"),
    special_from=date(2026, 3, 1),
    special_to=date(2026, 3, 31),
    attributes={"msrp": "129.99", "map_price": "90"},
)

FULL = _policy(
    outputs=PriceOutputs(
        sale=SaleRule(price=_rule("attribute", attribute="special_price"), window="product"),
        list_price=_rule("attribute", attribute="msrp"),
        map=MapRule(price=_rule("attribute", attribute="map_price"), expose=True),
        business=BusinessRule(
            price=_rule("main", adjustments=_off(5)),
            tiers=[
                QuantityTier(quantity=10, percent_off=5),
                QuantityTier(quantity=50, percent_off=8),
            ],
        ),
        best_offer=BestOfferRule(
            accept=_rule("main", adjustments=_off(10)), decline=_rule("main", adjustments=_off(20))
        ),
        promotion=PromotionRule(price=_rule("main", adjustments=_off(30)), kind="clearance"),
    )
)


class TestDefault:
    """Without a market option a policy prices exactly as before."""

    def test_plain_policy_has_no_extra_prices(self) -> None:
        """compute_prices of a plain policy is compute_price's result and nothing else."""
        policy = _policy(adjustments=[Adjustment(kind="percent_increment", amount=10)])
        prices = compute_prices(PRODUCT, policy, on=ON)
        assert prices == PriceSet(main=compute_price(PRODUCT, policy, on=ON))
        assert (prices.amount, prices.currency) == (D("110.00"), "USD")

    def test_plain_policy_keeps_the_fast_path(self) -> None:
        """Only a market option hands a policy over to the market pricing."""
        assert not _policy()._extended
        assert _policy(rounding_unit=10)._extended
        assert _policy(outputs=PriceOutputs())._extended

    def test_dump_of_a_plain_policy(self) -> None:
        """The new fields dump as null and load back to the same policy."""
        data = unstructure(_policy())
        assert [data[name] for name in ("rounding_unit", "whole_ending", "tax")] == [None] * 3
        assert (data["store_currency"], data["outputs"]) == (None, None)
        assert structure(data, PricingPolicy) == _policy()


class TestPriceSet:
    """The worked example of every extra price."""

    def test_every_output(self) -> None:
        """Sale raised to MAP, list price, MAP, business tiers, Best Offer and a promotion."""
        prices = compute_prices(PRODUCT, FULL, on=ON)
        assert prices.amount == D("100.00")
        assert prices.sale is not None
        assert prices.sale.amount == D("90.00")
        assert (prices.sale.starts, prices.sale.ends) == (date(2026, 3, 1), date(2026, 3, 31))
        assert [step.code for step in prices.sale.steps] == ["extra_price", "map_floor"]
        assert prices.list_price is not None
        assert prices.list_price.amount == D("129.99")
        assert prices.map is not None
        assert (prices.map.amount, prices.map.expose) == (D(90), True)
        assert prices.business is not None
        assert prices.business.amount == D("95.00")
        assert [(t.quantity, t.amount) for t in prices.business.tiers] == [
            (10, D("90.25")),
            (50, D("90.00")),
        ]
        assert prices.best_offer is not None
        assert (prices.best_offer.accept, prices.best_offer.decline) == (D("90.00"), D("80.00"))
        assert prices.promotion is not None
        assert (prices.promotion.amount, prices.promotion.kind) == (D("90.00"), "clearance")
        assert prices.steps == ()

    def test_map_floors_the_main_price(self) -> None:
        """A main price below MAP is raised to it, last, even above max_price."""
        policy = attrs.evolve(FULL, max_price=D(50))
        prices = compute_prices(PRODUCT, policy, on=ON)
        assert prices.amount == D("90.00")
        assert [step.code for step in prices.main.steps][-2:] == ["max_price", "map_floor"]
        assert compute_price(PRODUCT, policy, on=ON) == prices.main

    def test_sale_below_map_dropped(self) -> None:
        """With sale_below 'drop' a sale price under MAP is not sent, and a step says why."""
        assert FULL.outputs is not None
        assert FULL.outputs.map is not None
        dropping = attrs.evolve(FULL.outputs.map, sale_below="drop")
        policy = attrs.evolve(FULL, outputs=attrs.evolve(FULL.outputs, map=dropping))
        prices = compute_prices(PRODUCT, policy, on=ON)
        assert prices.sale is None
        assert [step.message for step in prices.steps] == [
            "no sale price: 80.00 is below the minimum advertised price 90.00"
        ]

    @pytest.mark.parametrize(
        ("outputs", "message"),
        [
            (
                PriceOutputs(sale=SaleRule(price=_rule("value", value=D(120)))),
                "no sale price: 120.00 is not below the main price 100.00",
            ),
            (
                PriceOutputs(
                    sale=SaleRule(price=_rule("value", value=D(80)), ends=date(2026, 3, 1))
                ),
                "no sale price: 2026-03-15 is outside the sale (open to 2026-03-01)",
            ),
            (
                PriceOutputs(promotion=PromotionRule(price=_rule("main"))),
                "no promotion: 100.00 is not below the main price 100.00",
            ),
            (
                PriceOutputs(list_price=_rule("attribute", attribute="rrp")),
                "no list_price: 'rrp' is missing",
            ),
            (
                PriceOutputs(list_price=_rule("value", value=D(0))),
                "no list_price: it would be 0.00",
            ),
            (
                PriceOutputs(
                    best_offer=BestOfferRule(
                        accept=_rule("value", value=D(50)), decline=_rule("main")
                    )
                ),
                "no Best Offer: decline 100.00 is not below accept 50.00",
            ),
            (
                PriceOutputs(map=MapRule(price=_rule("attribute", attribute="none"))),
                "no map: 'none' is missing",
            ),
        ],
    )
    def test_outputs_not_sent(self, outputs: PriceOutputs, message: str) -> None:
        """An extra price that cannot be sent is None, with one step saying why."""
        prices = compute_prices(PRODUCT, _policy(outputs=outputs), on=ON)
        assert [step.message for step in prices.steps] == [message]
        assert (prices.sale, prices.list_price, prices.best_offer, prices.promotion) == (None,) * 4

    def test_fixed_sale_dates_and_value(self) -> None:
        """A fixed sale carries its own dates; a sale that has not started yet is sent."""
        sale = SaleRule(price=_rule("value", value=D("79.5")), starts=date(2026, 4, 1))
        prices = compute_prices(PRODUCT, _policy(outputs=PriceOutputs(sale=sale)), on=ON)
        assert prices.sale is not None
        assert (prices.sale.amount, prices.sale.starts, prices.sale.ends) == (
            D("79.50"),
            date(2026, 4, 1),
            None,
        )

    def test_attribute_outputs_are_converted_like_the_main_price(self) -> None:
        """A list price from an attribute goes through the tax and the conversion."""
        policy = _policy(
            currency="EUR",
            conversion_rate=D("0.9"),
            outputs=PriceOutputs(list_price=_rule("attribute", attribute="msrp")),
        )
        prices = compute_prices(PRODUCT, policy, on=ON)
        assert (prices.amount, prices.list_price and prices.list_price.amount) == (
            D("90.00"),
            D("116.99"),
        )

    def test_map_from_a_value_is_rounded_up(self) -> None:
        """A MAP with more places than the currency is rounded up: the floor is never undercut."""
        policy = _policy(outputs=PriceOutputs(map=MapRule(price=_rule("value", value=D("99.991")))))
        prices = compute_prices(PRODUCT, policy, on=ON)
        assert prices.map is not None
        assert prices.map.amount == D("100.00")
        assert prices.amount == D("100.00")

    def test_extra_price_out_of_range_is_dropped(self) -> None:
        """An extra price that grows beyond money is not sent."""
        huge = (Adjustment(kind="percent_increment", amount=D("999999999999")),) * 3
        policy = _policy(outputs=PriceOutputs(list_price=_rule("main", adjustments=huge)))
        prices = compute_prices(PRODUCT, policy, on=ON)
        assert prices.list_price is None
        assert prices.steps[0].code == "output_not_positive"

    def test_round_trip(self) -> None:
        """A full policy and its price set survive JSON."""
        prices = compute_prices(PRODUCT, FULL, on=ON)
        assert structure(unstructure(FULL), PricingPolicy) == FULL
        assert structure(unstructure(prices), PriceSet) == prices

    def test_every_step_code_has_a_message(self) -> None:
        """Each step of the market pricing has a message template."""
        prices = compute_prices(PRODUCT, FULL, on=ON)
        templates = message_templates()
        for part in (prices.sale, prices.business, prices.promotion):
            assert part is not None
            assert all(step.code in templates and step.message for step in part.steps)


class TestRounding:
    """Rounding to a unit and whole-number endings."""

    @pytest.mark.parametrize(
        ("unit", "rounding", "expected"),
        [
            (1, "half_up", "1235"),
            (10, "half_up", "1230"),
            (100, "half_up", "1200"),
            (1000, "up", "2000"),
            (1000, "half_up", "1000"),
            (10, "down", "1230"),
        ],
    )
    def test_units_in_yen(self, unit: int, rounding: str, expected: str) -> None:
        """¥1,234.56 rounds to the unit with the policy's rounding mode."""
        policy = _policy(currency="JPY", rounding_unit=unit, rounding=rounding)
        assert _amount("1234.56", policy) == D(expected)

    def test_unit_keeps_the_currency_places(self) -> None:
        """A dollar price rounded to 10 keeps two decimal places."""
        assert str(_amount("1234.56", _policy(rounding_unit=10))) == "1230.00"

    @pytest.mark.parametrize(
        ("price", "direction", "expected"),
        [
            ("1234", "up", "1980"),
            ("1234", "down", "980"),
            ("1479", "nearest", "980"),
            ("1480", "nearest", "1980"),
            ("1980", "down", "1980"),
        ],
    )
    def test_whole_ending_980(self, price: str, direction: str, expected: str) -> None:
        """¥…980 endings: up, down and nearest (a tie goes up)."""
        policy = _policy(
            currency="JPY", whole_ending=WholeEnding(digits="980", direction=direction)
        )
        assert _amount(price, policy) == D(expected)

    def test_whole_ending_99_in_dollars(self) -> None:
        """A whole ending in a currency with decimals zeroes the decimals."""
        policy = _policy(whole_ending=WholeEnding(digits="99"))
        result = compute_price(Product(sku="S", price=D("123.45")), policy)
        assert result.amount == D("199.00")
        assert result.steps[-1].message == "whole-number ending 99 (up): 199.00"

    def test_unit_then_whole_ending(self) -> None:
        """Rounded to 10 yen first, then moved to the next …980."""
        policy = _policy(currency="JPY", rounding_unit=10, whole_ending=WholeEnding(digits="980"))
        result = compute_price(Product(sku="S", price=D("1234")), policy)
        assert [step.message for step in result.steps[1:]] == [
            "rounded half_up to a multiple of 10: 1230",
            "whole-number ending 980 (up): 1980",
        ]

    @pytest.mark.parametrize(
        ("data", "errors"),
        [
            (
                {"rounding_unit": 10, "ending": {"value": "0.99"}},
                [
                    "a fractional ending cannot follow rounding to 10 units: use whole_ending @ $.ending"
                ],
            ),
            (
                {"whole_ending": {"digits": "99"}, "ending": {"value": "0.99"}},
                ["cannot be combined with a fractional ending @ $.whole_ending"],
            ),
            (
                {"rounding_unit": 100, "whole_ending": {"digits": "980"}},
                [
                    (
                        "no multiple of 100 ends in 980: the digits must be a multiple of"
                        " rounding_unit and longer than it @ $.whole_ending.digits"
                    )
                ],
            ),
            (
                {"rounding_unit": 1000, "whole_ending": {"digits": "0"}},
                [
                    (
                        "no multiple of 1000 ends in 0: the digits must be a multiple of"
                        " rounding_unit and longer than it @ $.whole_ending.digits"
                    )
                ],
            ),
            (
                {"rounding_unit": 5, "whole_ending": {"digits": "9a", "direction": "left"}},
                [
                    "expected one of 1, 10, 100, 1000 or null (got 5) @ $.rounding_unit",
                    "expected 1 to 4 digits such as '980' (got '9a') @ $.whole_ending.digits",
                    "must be one of 'up', 'down', 'nearest' (got 'left') @ $.whole_ending.direction",
                ],
            ),
        ],
    )
    def test_impossible_combinations(self, data: dict[str, Any], errors: list[str]) -> None:
        """Combinations that cannot work are load errors with their paths."""
        with pytest.raises(PolicyConfigError) as raised:
            structure({"title": "T", **data}, PricingPolicy)
        assert raised.value.errors == errors


class TestMarketPath:
    """The main price of a policy with market options follows every step of compute_price."""

    def test_vat_pack_ending_and_bounds(self) -> None:
        """VAT, a pack, a fractional ending and the bounds, under a dated rate."""
        policy = _policy(
            currency="EUR",
            store_currency="USD",
            vat_percent=D(10),
            pack_size=2,
            ending=Ending(value=D("0.99")),
            min_price=D("30"),
            max_price=D("40"),
        )
        rates = [ExchangeRate(base="USD", quote="EUR", rate=D("0.5"), valid_from=ON)]
        product = Product(sku="S", price=D("10.00"))
        low = compute_prices(product, policy, on=ON, rates=rates)
        assert low.amount == D("30.00")
        assert [step.code for step in low.main.steps] == [
            "base_price",
            "pack_price",
            "vat",
            "dated_rate",
            "ending",
            "min_price",
        ]
        high = compute_prices(attrs.evolve(product, price=D(100)), policy, on=ON, rates=rates)
        assert (high.amount, high.main.steps[-1].code) == (D("40.00"), "max_price")

    def test_rates_of_another_pair(self) -> None:
        """Rates given for another pair leave this one without a rate."""
        policy = _policy(currency="JPY", store_currency="USD")
        rates = [ExchangeRate(base="EUR", quote="JPY", rate=D(160), valid_from=ON)]
        with pytest.raises(PricingError, match="exchange_rates have none"):
            compute_prices(Product(sku="S", price=D(10)), policy, on=ON, rates=rates)

    def test_out_of_range_and_non_positive(self) -> None:
        """The market path raises the same errors as compute_price."""
        huge = [Adjustment(kind="percent_increment", amount=D("999999999999"))] * 5
        with pytest.raises(PricingError) as raised:
            _amount("10", _policy(rounding_unit=10, adjustments=huge))
        assert raised.value.code == "price_out_of_range"
        down = _policy(currency="JPY", whole_ending=WholeEnding(digits="980", direction="down"))
        with pytest.raises(PricingError) as raised:
            _amount("500", down)
        assert raised.value.code == "non_positive_price"

    def test_extra_prices_out_of_range(self) -> None:
        """An extra price or a MAP that grows beyond what money holds is not sent."""
        huge = [Adjustment(kind="percent_increment", amount=D("999999999999"))] * 6
        outputs = PriceOutputs(
            list_price=_rule("main", adjustments=huge),
            map=MapRule(price=_rule("main", adjustments=huge)),
        )
        prices = compute_prices(PRODUCT, _policy(outputs=outputs), on=ON)
        assert (prices.list_price, prices.map) == (None, None)
        assert [step.message for step in prices.steps] == [
            "no map: it would be out of range",
            "no list_price: it would be out of range",
        ]

    def test_business_tier_rounded_to_nothing(self) -> None:
        """A tier that rounding to the unit brings to zero keeps the business price."""
        policy = _policy(
            currency="JPY",
            rounding_unit=100,
            outputs=PriceOutputs(
                business=BusinessRule(
                    price=_rule("main"), tiers=[QuantityTier(quantity=5, percent_off=90)]
                )
            ),
        )
        prices = compute_prices(Product(sku="S", price=D(200)), policy, on=ON)
        assert prices.business is not None
        assert [(t.quantity, t.amount) for t in prices.business.tiers] == [(5, D(200))]


class TestTax:
    """Tax-inclusive or tax-exclusive prices per market."""

    @pytest.mark.parametrize(
        ("tax", "expected", "codes"),
        [
            (
                MarketTax(store_included=20, market_included=10),
                "110.00",
                ["tax_removed", "tax_added"],
            ),
            (MarketTax(store_included=20), "100.00", ["tax_removed"]),
            (MarketTax(market_included=D("7.5")), "129.00", ["tax_added"]),
            (MarketTax(), "120.00", []),
        ],
    )
    def test_store_gross_to_market(self, tax: MarketTax, expected: str, codes: list[str]) -> None:
        """A store price of 120 including 20 % tax, to markets that show tax or not."""
        result = compute_price(Product(sku="S", price=D(120)), _policy(tax=tax))
        assert result.amount == D(expected)
        assert [step.code for step in result.steps[1:] if step.code != "rounding"] == codes

    def test_tax_and_vat_together_are_refused(self) -> None:
        """VAT and a market tax would both add tax."""
        with pytest.raises(PolicyConfigError) as raised:
            structure(
                {"title": "T", "vat_percent": 19, "tax": {"market_included": 19}}, PricingPolicy
            )
        assert raised.value.errors == [
            "cannot be combined with vat_percent: state the VAT in tax @ $.tax"
        ]


def _config(rates: list[dict[str, Any]], **pricing: Any) -> Any:
    return load_config(
        {
            "pricing_policies": {
                "jp": {"title": "Japan", "currency": "JPY", "store_currency": "USD", **pricing}
            },
            "inventory_policies": {"default": {"title": "Default"}},
            "image_policies": {"default": {"title": "Default"}},
            "sync_policies": {"default": {"title": "Default"}},
            "templates": [
                {
                    "id": "all",
                    "title": "All",
                    "inventory_policy": "default",
                    "pricing_policy": "jp",
                    "image_policy": "default",
                }
            ],
            "accounts": [{"id": "amazon-jp", "channel": "amazon", "sync_policy": "default"}],
            "exchange_rates": rates,
        }
    )


RATES = [
    {"base": "USD", "quote": "JPY", "rate": "150", "valid_from": "2026-01-01"},
    {"base": "USD", "quote": "JPY", "rate": "160", "valid_from": "2026-06-01"},
]


class TestExchangeRates:
    """Dated exchange rates from the configuration."""

    @pytest.mark.parametrize(
        ("on", "expected"), [(date(2026, 5, 31), "1500"), (date(2026, 6, 1), "1600")]
    )
    def test_rate_valid_on_the_day(self, on: date, expected: str) -> None:
        """The latest rate starting on or before ``on`` converts."""
        config = _config(RATES)
        result = compute_price(Product(sku="S", price=D(10)), config.pricing_policies["jp"], on=on)
        assert result.amount == D(expected)
        assert result.steps[1].code == "dated_rate"

    def test_missing_rate_names_the_pair_and_the_day(self) -> None:
        """Before the first rate there is none: a PricingError names the pair and the date."""
        policy = _config(RATES).pricing_policies["jp"]
        with pytest.raises(PricingError) as raised:
            compute_price(Product(sku="S", price=D(10)), policy, on=date(2025, 12, 31))
        assert raised.value.code == "missing_rate"
        assert str(raised.value) == (
            "no exchange rate USD->JPY valid on 2025-12-31 for SKU 'S': the configuration's"
            " exchange_rates have none"
        )

    def test_policy_outside_a_configuration(self) -> None:
        """A policy alone has no rates: an error, or the rates given to compute_prices."""
        policy = _policy(currency="JPY", store_currency="USD")
        product = Product(sku="S", price=D(10))
        with pytest.raises(PricingError, match="the policy has no exchange rates"):
            compute_price(product, policy, on=ON)
        rates = [structure(RATES[0], ExchangeRate)]
        assert compute_prices(product, policy, on=ON, rates=rates).amount == D(1500)

    def test_same_currency_needs_no_rate(self) -> None:
        """A store currency equal to the channel's converts nothing."""
        policy = _policy(currency="USD", store_currency="USD")
        assert _amount("10", policy) == D("10.00")

    def test_load_errors(self) -> None:
        """A pair without any rate, duplicate rates and a rate with a conversion_rate."""
        duplicate = [RATES[0], {**RATES[0], "rate": "151"}]
        with pytest.raises(PolicyConfigError) as raised:
            _config(duplicate, conversion_rate="2", currency="EUR")
        assert raised.value.errors == [
            (
                "must be 1 with store_currency: the rate comes from exchange_rates"
                " @ $.pricing_policies.jp.conversion_rate"
            ),
        ]
        with pytest.raises(PolicyConfigError) as raised:
            _config(duplicate, currency="EUR")
        assert raised.value.errors == [
            (
                "duplicate rate USD->JPY from 2026-01-01 (also $.exchange_rates[0])"
                " @ $.exchange_rates[1].valid_from"
            ),
            "no exchange rate USD->EUR in exchange_rates @ $.pricing_policies.jp.store_currency",
        ]
        with pytest.raises(PolicyConfigError) as raised:
            structure(
                {"base": "USD", "quote": "USD", "rate": 0, "valid_from": "2026-01-01"}, ExchangeRate
            )
        assert raised.value.errors == [
            "must be > 0 (got 0) @ $.rate",
            "must differ from base 'USD' @ $.quote",
        ]

    def test_preview_shows_a_rate_update(self) -> None:
        """preview_change lists every listing whose price a new rate changes."""
        old = _config(RATES[:1])
        new = _config([*RATES[:1], {**RATES[0], "rate": "155", "valid_from": "2026-03-01"}])
        products = [Product(sku="A", price=D(10)), Product(sku="B", price=D(20))]
        changes = preview_change(old, new, products, on=ON)
        assert [(c.sku, c.what, c.before, c.after) for c in changes if c.what == "price"] == [
            (
                "A",
                "price",
                {"amount": "1500", "currency": "JPY"},
                {"amount": "1550", "currency": "JPY"},
            ),
            (
                "B",
                "price",
                {"amount": "3000", "currency": "JPY"},
                {"amount": "3100", "currency": "JPY"},
            ),
        ]

    def test_rates_survive_json(self) -> None:
        """The configuration round-trips with its rates; equal configurations price alike."""
        config = _config(RATES)
        again = structure(unstructure(config), type(config))
        assert again == config
        product = Product(sku="S", price=D(10))
        assert compute_price(product, again.pricing_policies["jp"], on=ON).amount == D(1500)


class TestListing:
    """evaluate_listing carries the price set only when extra prices are configured."""

    def test_plain_listing_has_no_price_set(self) -> None:
        """A configuration without outputs gives prices None."""
        outcome = evaluate_listing(
            _config(RATES), Product(sku="S", price=D(10)), "amazon-jp", on=ON
        )
        assert outcome.prices is None
        assert outcome.price is not None

    def test_listing_with_outputs(self) -> None:
        """With outputs the outcome carries the set; its main price is the outcome's price."""
        config = _config(
            RATES, outputs={"list_price": {"source": "attribute", "attribute": "msrp"}}
        )
        product = Product(sku="S", price=D(10), attributes={"msrp": "12"})
        outcome = evaluate_listing(config, product, "amazon-jp", on=ON)
        assert outcome.prices is not None
        assert outcome.prices.main == outcome.price
        assert outcome.prices.list_price is not None
        assert outcome.prices.list_price.amount == D(1800)

    def test_batch_carries_the_price_set(self) -> None:
        """evaluate_many, serial and on two workers, gives evaluate_listing's outcomes."""
        config = _config(
            RATES, outputs={"list_price": {"source": "attribute", "attribute": "msrp"}}
        )
        products = [
            Product(sku=f"S{index}", price=D(10 + index), attributes={"msrp": "30"})
            for index in range(4)
        ]
        expected = [evaluate_listing(config, product, "amazon-jp", on=ON) for product in products]
        assert list(evaluate_many(config, products, on=ON)) == expected
        assert list(evaluate_many(config, products, on=ON, workers=2, chunk_size=2)) == expected
        assert all(outcome.prices is not None for outcome in expected)

    def test_listing_with_a_missing_rate(self) -> None:
        """A missing rate is the listing's price error, not an exception."""
        outcome = evaluate_listing(
            _config(RATES), Product(sku="S", price=D(10)), "amazon-jp", on=date(2020, 1, 1)
        )
        assert outcome.price is None
        assert [(e.what, e.code) for e in outcome.errors] == [("price", "missing_rate")]


def _places(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    return -exponent


def _advertised(prices: PriceSet) -> list[Decimal]:
    amounts = [prices.amount]
    if prices.sale is not None:
        amounts.append(prices.sale.amount)
    if prices.list_price is not None:
        amounts.append(prices.list_price.amount)
    if prices.business is not None:
        amounts.append(prices.business.amount)
        amounts.extend(tier.amount for tier in prices.business.tiers)
    if prices.promotion is not None:
        amounts.append(prices.promotion.amount)
    return amounts


def _all(prices: PriceSet) -> list[Decimal]:
    amounts = _advertised(prices)
    if prices.map is not None:
        amounts.append(prices.map.amount)
    if prices.best_offer is not None:
        amounts.extend((prices.best_offer.accept, prices.best_offer.decline))
    return amounts


_PRICES = money(min_value="0.01", max_value="5000")


def _product(price: Decimal, msrp: Decimal, map_price: Decimal) -> Product:
    return Product(
        sku="S",
        price=price,
        special_price=price * D("0.8"),
        attributes={"msrp": str(msrp), "map_price": str(map_price)},
    )


def _prices(product: Product, policy: PricingPolicy) -> PriceSet | None:
    try:
        return compute_prices(product, policy, on=ON)
    except PricingError:
        return None


#: Drawing a policy with every market option is slow: a quarter of the profile's examples.
_FEWER = settings(max_examples=max(10, settings().max_examples // 4))


class TestInvariants:
    """The oracle-style invariants of the price set (docs/invariants.md)."""

    @_FEWER
    @given(market_pricing_policies(with_outputs=True), _PRICES, _PRICES, _PRICES)
    def test_every_output_has_the_currency_places(
        self, policy: PricingPolicy, price: Decimal, msrp: Decimal, map_price: Decimal
    ) -> None:
        """Every amount of a price set is > 0 and has exactly the currency's decimal places."""
        prices = _prices(_product(price, msrp, map_price), policy)
        assume(prices is not None)
        assert prices is not None
        places = currency_places(policy.currency)
        for amount in _all(prices):
            assert amount > 0
            assert _places(amount) == places

    @_FEWER
    @given(market_pricing_policies(with_outputs=True), _PRICES, _PRICES, _PRICES)
    def test_sale_below_main(
        self, policy: PricingPolicy, price: Decimal, msrp: Decimal, map_price: Decimal
    ) -> None:
        """A sale price, when present, is below the main price (so is a promotion)."""
        prices = _prices(_product(price, msrp, map_price), policy)
        assume(prices is not None)
        assert prices is not None
        if prices.sale is not None:
            assert prices.sale.amount < prices.amount
        if prices.promotion is not None:
            assert prices.promotion.amount < prices.amount

    @_FEWER
    @given(market_pricing_policies(with_outputs=True, with_map=True), _PRICES, _PRICES, _PRICES)
    def test_map_never_undercut(
        self, policy: PricingPolicy, price: Decimal, msrp: Decimal, map_price: Decimal
    ) -> None:
        """No advertised price is below the MAP."""
        prices = _prices(_product(price, msrp, map_price), policy)
        assume(prices is not None and prices.map is not None)
        assert prices is not None
        assert prices.map is not None
        assert all(amount >= prices.map.amount for amount in _advertised(prices))

    @_FEWER
    @given(
        market_pricing_policies(), _PRICES, _PRICES, _PRICES, money(min_value="0", max_value="100")
    )
    def test_higher_base_no_lower_outputs(
        self,
        policy: PricingPolicy,
        price: Decimal,
        msrp: Decimal,
        map_price: Decimal,
        more: Decimal,
    ) -> None:
        """A higher base price never gives a lower main price or a lower extra price (of those
        sent at both prices)."""
        policy = attrs.evolve(policy, price_attribute="price", use_special_price=False)
        low = _prices(_product(price, msrp, map_price), policy)
        high = _prices(_product(price + more, msrp, map_price), policy)
        assume(low is not None and high is not None)
        assert low is not None
        assert high is not None
        assert high.amount >= low.amount
        for name in ("sale", "list_price", "business", "promotion", "map"):
            before, after = getattr(low, name), getattr(high, name)
            if before is not None and after is not None:
                assert after.amount >= before.amount, name
        if low.best_offer is not None and high.best_offer is not None:
            assert high.best_offer.accept >= low.best_offer.accept
            assert high.best_offer.decline >= low.best_offer.decline

    @_FEWER
    @given(market_pricing_policies())
    def test_policy_round_trip(self, policy: PricingPolicy) -> None:
        """structure(unstructure(policy)) == policy for policies with market options."""
        assert structure(unstructure(policy), PricingPolicy) == policy


class TestStrategies:
    """The public strategies draw valid parts."""

    @_FEWER
    @given(price_rules(source="value"), price_outputs(with_map=False), whole_endings(unit=10))
    def test_pinned_options(
        self, rule: PriceRule, outputs: PriceOutputs, ending: WholeEnding
    ) -> None:
        """Pinned options hold in what is drawn."""
        assert rule.source == "value"
        assert rule.value is not None
        assert outputs.map is None
        assert int(ending.digits) % 10 == 0

    @_FEWER
    @given(st.data())
    def test_pinned_currency(self, data: st.DataObject) -> None:
        """A pinned currency is the policy's."""
        assert data.draw(market_pricing_policies(currency="JPY")).currency == "JPY"
