"""Store inputs (spec section 2) and the loading rules of section 1."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given

from policy_engine import (
    FrozenDict,
    Image,
    Listing,
    PolicyConfigError,
    PolicyEngineError,
    Product,
    ProductType,
    SourceItem,
    Step,
    Stock,
    Visibility,
    structure,
    unstructure,
)
from policy_engine.testing import images, products, source_items, stocks


def _errors(data: Any, cls: type) -> list[str]:
    with pytest.raises(PolicyConfigError) as caught:
        structure(data, cls)
    return caught.value.errors


class TestProductLoading:
    """Products load from REST-like JSON strictly."""

    def test_defaults(self) -> None:
        """Only the SKU is required; everything else has the spec's default."""
        product = structure({"sku": "MH01"}, Product)
        assert product == Product(sku="MH01")
        assert product.type is ProductType.SIMPLE
        assert product.visibility is Visibility.CATALOG_SEARCH
        assert product.enabled is True
        assert product.attribute_set == "Default"
        assert (product.price, product.stock, product.attributes) == (None, None, {})

    def test_full_product(self) -> None:
        """Every field loads into its model type."""
        product = structure(
            {
                "sku": "MH01-S-Gray",
                "name": "Chaz Kangeroo Hoodie",
                "type": "simple",
                "visibility": "not_visible_individually",
                "price": "52.00",
                "special_price": 45,
                "special_from": "2026-11-01",
                "special_to": "2026-11-30",
                "attributes": {
                    "color": "Gray",
                    "msrp": 59.5,
                    "size": ["S"],
                    "new": True,
                    "x": None,
                },
                "categories": ["Men/Tops/Hoodies & Sweatshirts"],
                "images": [{"file": "/m/h/mh01-gray_main.jpg", "roles": ["image", "thumbnail"]}],
                "parent_sku": "MH01",
                "stock": {"qty": 12.0, "sources": [{"code": "default", "qty": "3.7"}]},
            },
            Product,
        )
        assert product.price == Decimal("52.00")
        assert product.special_price == Decimal(45)
        assert product.special_from == date(2026, 11, 1)
        assert product.attributes == {
            "color": "Gray",
            "msrp": Decimal("59.5"),
            "size": ("S",),
            "new": True,
            "x": None,
        }
        assert product.images[0].roles == frozenset({"image", "thumbnail"})
        assert product.stock == Stock(qty=12, sources=(SourceItem(code="default", qty=3),))

    def test_many_problems_at_once(self) -> None:
        """Unknown key, missing field, wrong types, NaN money: all reported with paths."""
        assert _errors(
            {
                "name": 5,
                "price": float("nan"),
                "special_price": True,
                "visibility": "everywhere",
                "special_from": "01/02/2026",
                "attributes": {"color": {"rgb": 1}, "sizes": ["S", 1]},
                "images": [{"file": ""}, {"position": "1"}],
                "stock": {"qty": True, "in_stock": 1},
                "skuu": "A",
            },
            Product,
        ) == [
            "required field missing @ $.sku",
            "expected a string, got an integer @ $.name",
            (
                "must be one of 'not_visible_individually', 'catalog', 'search', 'catalog_search'"
                " (got 'everywhere') @ $.visibility"
            ),
            "money must be a finite number, got nan @ $.price",
            "expected money (a decimal number or string), got a boolean @ $.special_price",
            "expected an ISO date (YYYY-MM-DD), got '01/02/2026' @ $.special_from",
            (
                "expected a string, an integer, a decimal number, a boolean, a list of strings or"
                " null, got an object @ $.attributes.color"
            ),
            "expected a string, got an integer @ $.attributes.sizes[1]",
            "must not be empty @ $.images[0].file",
            "required field missing @ $.images[1].file",
            "expected an integer, got a string @ $.images[1].position",
            "expected a quantity (a number), got a boolean @ $.stock.qty",
            "expected a boolean, got an integer @ $.stock.in_stock",
            "unknown field (did you mean 'sku'?) @ $.skuu",
        ]

    @pytest.mark.parametrize(
        ("value", "error"),
        [
            ("abc", "expected money (a decimal number), got the string 'abc' @ $.price"),
            ("NaN", "money must be a finite number, got 'NaN' @ $.price"),
            (float("inf"), "money must be a finite number, got inf @ $.price"),
            ("1e13", "money must have at most 12 integer digits, got 1e13 @ $.price"),
            (10**12, "money must have at most 12 integer digits, got 1000000000000 @ $.price"),
            ([1], "expected money (a decimal number or string), got a list @ $.price"),
        ],
    )
    def test_money_errors(self, value: object, error: str) -> None:
        """Money is a finite decimal with at most 12 integer digits."""
        assert _errors({"sku": "A", "price": value}, Product) == [error]

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("12.50", Decimal("12.50")),
            (12.5, Decimal("12.5")),
            (0.1, Decimal("0.1")),
            (7, Decimal(7)),
        ],
    )
    def test_money_values(self, value: object, expected: Decimal) -> None:
        """Strings and numbers become Decimal; floats through their shortest repr."""
        price = structure({"sku": "A", "price": value}, Product).price
        assert price == expected
        assert str(price) == str(expected)

    def test_attribute_codes_with_odd_characters_get_quoted_paths(self) -> None:
        """A path segment that is not a plain name is quoted."""
        assert _errors({"sku": "A", "attributes": {"my code": {}}}, Product) == [
            (
                "expected a string, an integer, a decimal number, a boolean, a list of strings or"
                ' null, got an object @ $.attributes["my code"]'
            )
        ]

    @pytest.mark.parametrize(
        ("data", "error"),
        [
            ([], "expected an object, got a list @ $"),
            ({"sku": "A", "images": {}}, "expected a list, got an object @ $.images"),
            ({"sku": "A", "attributes": []}, "expected an object, got a list @ $.attributes"),
            (
                {"sku": "A", "attributes": {"": 1}},
                "attribute codes must be non-empty strings @ $.attributes",
            ),
            (
                {"sku": "A", "stock": {"qty": "many"}},
                "expected a quantity (a number), got the string 'many' @ $.stock.qty",
            ),
            (
                {"sku": "A", "stock": {"qty": float("nan")}},
                "a quantity must be a finite number, got nan @ $.stock.qty",
            ),
            (
                {"sku": "A", "stock": {"qty": 1e300}},
                "a quantity must be below 10**15, got 1e+300 @ $.stock.qty",
            ),
            (
                {"sku": "A", "stock": {"qty": "1e20"}},
                "a quantity must be a finite number below 10**15, got '1e20' @ $.stock.qty",
            ),
            (
                {"sku": "A", "special_to": 20260101},
                "expected an ISO date (YYYY-MM-DD), got an integer @ $.special_to",
            ),
            (
                {"sku": "A", "type": 1},
                "expected one of 'simple', 'configurable', 'bundle', 'grouped', 'virtual', 'downloadable', got an integer @ $.type",
            ),
        ],
    )
    def test_shape_errors(self, data: object, error: str) -> None:
        """Wrong JSON shapes are reported with their path."""
        assert _errors(data, Product) == [error]

    def test_stock_quantities_are_floored(self) -> None:
        """Decimal stock quantities are floored, as Magento sends "qty": 12.0."""
        stock = structure({"qty": "12.9", "reserved": -2.5, "out_of_stock_threshold": 1.2}, Stock)
        assert (stock.qty, stock.reserved, stock.out_of_stock_threshold) == (12, -3, 1)
        assert Stock(qty=7.9).qty == 7
        assert Stock(qty=Decimal("3.5")).qty == 3

    def test_error_is_a_value_error(self) -> None:
        """PolicyConfigError is a PolicyEngineError and a ValueError; str lists the problems."""
        with pytest.raises(PolicyConfigError) as caught:
            structure({}, Product)
        assert isinstance(caught.value, PolicyEngineError)
        assert isinstance(caught.value, ValueError)
        assert str(caught.value) == "required field missing @ $.sku"
        assert caught.value.problems == [("$.sku", "required field missing")]
        copied = pickle.loads(pickle.dumps(caught.value))
        assert copied.errors == caught.value.errors
        assert copied.problems == [("$.sku", "required field missing")]


class TestConstruction:
    """Models built in Python are validated and immutable."""

    def test_lists_become_tuples_and_dicts_frozen(self) -> None:
        """Collections given to a constructor are converted to immutable ones."""
        product = Product(
            sku="A",
            categories=["Men"],
            attributes={"size": ["S", "M"], "msrp": 9.99},
            images=[Image(file="a.jpg", roles={"image"})],
            type="bundle",
            price=10,
        )
        assert product.categories == ("Men",)
        assert product.attributes == {"size": ("S", "M"), "msrp": Decimal("9.99")}
        assert product.type is ProductType.BUNDLE
        assert product.price == Decimal(10)
        with pytest.raises(TypeError):
            product.attributes["x"] = 1
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            product.sku = "B"  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"sku": ""}, "must not be empty @ $.sku"),
            ({"sku": 5}, "expected a string, got an integer @ $.sku"),
            (
                {"sku": "A", "type": "kit"},
                "must be one of 'simple', 'configurable', 'bundle', 'grouped', 'virtual', 'downloadable' (got 'kit') @ $.type",
            ),
            (
                {"sku": "A", "price": "one"},
                "expected money (a finite decimal number), got a string @ $.price",
            ),
            (
                {"sku": "A", "price": float("nan")},
                "expected money (a finite decimal number), got a number @ $.price",
            ),
            (
                {"sku": "A", "special_from": "2026-01-01"},
                "expected a date, got a string @ $.special_from",
            ),
            (
                {"sku": "A", "attributes": {"a": {"b": 1}}},
                "attribute 'a': expected a string, an integer, a decimal number, a boolean, a list of strings or null, got an object @ $.attributes",
            ),
            (
                {"sku": "A", "attributes": {"a": Decimal("NaN")}},
                "attribute 'a': money must be a finite number @ $.attributes",
            ),
            (
                {"sku": "A", "attributes": {"a": ("x", 1)}},
                "attribute 'a': expected a list of strings, got an integer in it @ $.attributes",
            ),
            (
                {"sku": "A", "attributes": {"": 1}},
                "attribute codes must be non-empty strings @ $.attributes",
            ),
            (
                {"sku": "A", "images": ["a.jpg"]},
                "expected images, got a string in the list @ $.images",
            ),
            ({"sku": "A", "stock": {"qty": 1}}, "expected a stock record, got an object @ $.stock"),
            ({"sku": "A", "parent_sku": 1}, "expected a string, got an integer @ $.parent_sku"),
            ({"sku": "A", "enabled": 1}, "expected a boolean, got an integer @ $.enabled"),
            (
                {"sku": "A", "categories": [1]},
                "expected a list of strings, got an integer in it @ $.categories",
            ),
        ],
    )
    def test_invalid_product_cannot_be_built(self, kwargs: dict[str, Any], error: str) -> None:
        """The same rules that loading enforces hold for Python construction."""
        with pytest.raises(PolicyConfigError) as caught:
            Product(**kwargs)
        assert caught.value.errors == [error]

    def test_invalid_stock_cannot_be_built(self) -> None:
        """Stock fields are checked at construction."""
        with pytest.raises(PolicyConfigError) as caught:
            Stock(qty="5", sources=[1])  # type: ignore[arg-type, list-item]
        assert caught.value.errors == [
            "expected an integer, got a string @ $.qty",
            "expected source items, got an integer in the list @ $.sources",
        ]
        with pytest.raises(PolicyConfigError):
            Stock(qty=float("inf"))

    def test_frozen_dict(self) -> None:
        """FrozenDict equals a dict, hashes, copies to itself and pickles."""
        frozen: FrozenDict[str, int] = FrozenDict({"a": 1})
        assert frozen == {"a": 1}
        assert hash(frozen) == hash(FrozenDict({"a": 1}))
        assert copy.copy(frozen) is frozen
        assert copy.deepcopy(frozen) is frozen
        assert pickle.loads(pickle.dumps(frozen)) == frozen
        assert repr(frozen) == "FrozenDict({'a': 1})"
        mutations: list[Callable[[], object]] = [
            frozen.clear,
            lambda: frozen.update(b=2),
            lambda: frozen.pop("a"),
        ]
        for mutate in mutations:
            with pytest.raises(TypeError, match="read-only"):
                mutate()


class TestMoneyStrings:
    """Money given as a decimal string is accepted in Python as it is in JSON (spec section 1)."""

    def test_constructors_accept_decimal_strings(self) -> None:
        """Product prices and a listing's last price take "12.50" as Decimal("12.50")."""
        product = Product(sku="A", price="12.50", special_price=" 9.990 ")
        assert product.price == Decimal("12.50")
        assert str(product.price) == "12.50"
        assert str(product.special_price) == "9.990"
        assert Listing(last_price="87.99").last_price == Decimal("87.99")

    def test_evolve_accepts_decimal_strings(self) -> None:
        """attrs.evolve runs the same converter: a string becomes the same Decimal."""
        product = attrs.evolve(Product(sku="A", price=Decimal(1)), price="109.99")
        assert product == Product(sku="A", price=Decimal("109.99"))
        assert attrs.evolve(product, special_price="1e2").special_price == Decimal(100)
        listing = attrs.evolve(Listing(), last_price="0.50")
        assert listing.last_price == Decimal("0.50")

    @pytest.mark.parametrize(
        ("value", "kind"),
        [
            ("abc", "a string"),
            ("NaN", "a string"),
            ("Infinity", "a string"),
            ("-inf", "a string"),
            ("", "a string"),
            ("1e13", "a string"),
            (True, "a boolean"),
            (Decimal("NaN"), "a number"),
        ],
    )
    def test_strings_that_are_not_money_are_refused(self, value: object, kind: str) -> None:
        """Not a number, not finite, too large, or a boolean: the check names the field."""
        error = f"expected money (a finite decimal number), got {kind}"
        with pytest.raises(PolicyConfigError) as caught:
            Product(sku="A", price=value)
        assert caught.value.errors == [f"{error} @ $.price"]
        with pytest.raises(PolicyConfigError) as caught:
            attrs.evolve(Product(sku="A"), special_price=value)
        assert caught.value.errors == [f"{error} @ $.special_price"]
        with pytest.raises(PolicyConfigError) as caught:
            Listing(last_price=value)
        assert caught.value.errors == [f"{error} @ $.last_price"]

    def test_attribute_strings_stay_strings(self) -> None:
        """Only money fields convert: a custom attribute such as msrp "119.00" is kept as text."""
        product = Product(sku="A", attributes={"msrp": "119.00"})
        assert product.attributes["msrp"] == "119.00"


class TestSteps:
    """Step records: cheap tuples with messages formatted when read."""

    def test_step_parts(self) -> None:
        """A step exposes its code, args and message."""
        step = Step(("buffer", 5, 13))
        assert (step.code, step.args) == ("buffer", (5, 13))
        assert step.message == "a buffer of 5 is kept for the store: 13 left"
        assert repr(step) == "Step(code='buffer', args=(5, 13))"

    def test_unknown_code_and_bad_args_still_read(self) -> None:
        """A step with an unknown code or too few args still gives a readable message."""
        assert Step(("mystery", 1)).message == "mystery 1"
        assert Step(("buffer",)).message == "buffer"

    def test_step_loading(self) -> None:
        """Steps load from {code, args, message} and reject anything else with paths."""
        assert structure({"code": "stock", "args": [1, 2]}, Step) == ("stock", 1, 2)
        assert _errors({"args": {}, "message": 1, "x": 0}, Step) == [
            "required field missing @ $.code",
            "expected a list, got an object @ $.args",
            "expected a string, got an integer @ $.message",
            "unknown field @ $.x",
        ]
        assert _errors({"code": 1, "args": [1.5]}, Step) == [
            "expected a string, got an integer @ $.code",
            "expected a string, an integer or null, got a number @ $.args[0]",
        ]
        assert _errors("x", Step) == ["expected an object, got a string @ $"]


class TestRoundTrip:
    """structure(unstructure(x)) == x for every store model."""

    @given(products())
    def test_product(self, product: Product) -> None:
        """A product survives a JSON round trip."""
        assert structure(unstructure(product), Product) == product

    @given(stocks())
    def test_stock(self, stock: Stock) -> None:
        """A stock record survives a JSON round trip."""
        assert structure(unstructure(stock), Stock) == stock

    @given(images(), source_items())
    def test_parts(self, image: Image, item: SourceItem) -> None:
        """Images and source items survive a JSON round trip."""
        assert structure(unstructure(image), Image) == image
        assert structure(unstructure(item), SourceItem) == item

    def test_precise_attribute_money_stays_exact(self) -> None:
        """An attribute amount with more digits than a float holds is dumped as a string."""
        product = Product(sku="A", attributes={"x": Decimal("0.12345678901234567890")})
        assert unstructure(product)["attributes"]["x"] == "0.12345678901234567890"

    def test_hashable(self) -> None:
        """Models are hashable, so they can key caches and sets."""
        product = structure({"sku": "A", "attributes": {"s": ["x"]}}, Product)
        assert len({product, structure(unstructure(product), Product)}) == 1
