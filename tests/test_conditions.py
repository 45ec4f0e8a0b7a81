"""Conditions of listing templates: spec section 6."""

from __future__ import annotations

import copy
import pickle
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine import Condition, ConditionError, PolicyEngineError, Product, Stock
from policy_engine._conditions import (
    MAX_DEPTH,
    MAX_LENGTH,
    dump_condition,
    evaluate,
    load_condition,
)
from policy_engine._serialization import Invalid
from policy_engine.testing import condition_texts, condition_trees, conditions, products

SPEC_TEXT = (
    "attribute_set == 'Top' and 10 <= price < 100 and under(categories, 'Men/Tops')"
    " and color in ('Red', 'Blue') and not startswith(sku, 'TEST-')"
)


def product(**fields: Any) -> Product:
    """A product with a SKU, so that each test names only the fields it is about."""
    fields.setdefault("sku", "SKU-1")
    return Product(**fields)


def matches(text: str, **fields: Any) -> bool:
    """Whether the condition text matches a product with these fields (compiled and reference)."""
    condition = Condition.parse(text)
    item = product(**fields)
    result = condition.matches(item)
    assert result is evaluate(condition._node, item)
    return result


def tree_matches(tree: dict[str, Any], **fields: Any) -> bool:
    """Whether the condition tree matches a product with these fields."""
    condition = Condition.from_tree(tree)
    item = product(**fields)
    result = condition.matches(item)
    assert result is evaluate(condition._node, item)
    return result


def error_of(text: str) -> ConditionError:
    """The error a text raises."""
    with pytest.raises(ConditionError) as caught:
        Condition.parse(text)
    return caught.value


def tree_error_of(tree: Any) -> ConditionError:
    """The error a tree raises."""
    with pytest.raises(ConditionError) as caught:
        Condition.from_tree(tree)
    return caught.value


class TestSpecExample:
    """The worked example of spec section 6."""

    JACKET: ClassVar[dict[str, Any]] = {
        "sku": "MJ-01",
        "attribute_set": "Top",
        "price": Decimal("59.00"),
        "categories": ("Men/Tops/Jackets",),
        "attributes": {"color": "Red"},
    }

    def test_matches_a_red_jacket(self) -> None:
        """A red 59.00 top under Men/Tops with an ordinary SKU matches."""
        assert matches(SPEC_TEXT, **self.JACKET)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("attribute_set", "Bottom"),
            ("price", Decimal(100)),
            ("price", Decimal("9.99")),
            ("price", None),
            ("categories", ("Men/TopsX",)),
            ("attributes", {"color": "Green"}),
            ("attributes", {}),
            ("sku", "TEST-1"),
        ],
    )
    def test_each_part_can_reject(self, field: str, value: Any) -> None:
        """Changing any one tested field to a failing value makes the product not match."""
        assert not matches(SPEC_TEXT, **{**self.JACKET, field: value})

    def test_text_and_tree_are_the_same_condition(self) -> None:
        """The example's text and its tree form are equal and hash alike."""
        tree = {
            "all": [
                {"field": "attribute_set", "op": "==", "value": "Top"},
                {"field": "price", "op": ">=", "value": 10},
                {"field": "price", "op": "<", "value": 100},
                {"field": "categories", "op": "under", "value": "Men/Tops"},
                {"field": "color", "op": "in", "value": ["Red", "Blue"]},
                {"not": {"field": "sku", "op": "startswith", "value": "TEST-"}},
            ]
        }
        text = Condition.parse(SPEC_TEXT)
        assert Condition.from_tree(tree) == text
        assert hash(Condition.from_tree(tree)) == hash(text)
        assert text.to_tree() == tree
        assert text.to_text() == SPEC_TEXT


class TestNames:
    """Names: product fields, qty and in_stock, then attribute codes; attr() for any code."""

    @pytest.mark.parametrize(
        ("text", "fields"),
        [
            ("sku == 'A-1'", {"sku": "A-1"}),
            ("name == 'Shirt'", {"name": "Shirt"}),
            ("type == 'configurable'", {"type": "configurable"}),
            ("enabled == False", {"enabled": False}),
            ("visibility == 'search'", {"visibility": "search"}),
            ("price == 12.5", {"price": Decimal("12.50")}),
            ("special_price == 9", {"special_price": Decimal(9)}),
            ("categories == ['Men', 'Sale']", {"categories": ("Men", "Sale")}),
            ("attribute_set == 'Gear'", {"attribute_set": "Gear"}),
            ("parent_sku == 'P-1'", {"parent_sku": "P-1"}),
            ("qty == 7", {"stock": Stock(qty=7)}),
            ("in_stock == False", {"stock": Stock(in_stock=False)}),
            ("color == 'Red'", {"attributes": {"color": "Red"}}),
        ],
    )
    def test_each_name_reads_its_value(self, text: str, fields: dict[str, Any]) -> None:
        """Every name of the spec reads the product value it names."""
        assert matches(text, **fields)
        assert not matches(text)

    def test_stock_values_are_none_without_stock(self) -> None:
        """qty and in_stock are None when the product has no stock record."""
        assert matches("qty == None and in_stock == None")
        assert not matches("qty == None", stock=Stock())

    def test_missing_attribute_is_none(self) -> None:
        """A missing attribute reads as None."""
        assert matches("color == None")
        assert matches("color == null", attributes={"color": None})
        assert not matches("color == None", attributes={"color": ""})

    def test_attr_reaches_codes_that_are_not_names(self) -> None:
        """attr('x-y') reaches a code that is not an identifier."""
        assert matches("attr('x-y') == 3", attributes={"x-y": 3})
        assert matches("attr(\"color code\") == 'R'", attributes={"color code": "R"})

    def test_attr_reaches_shadowed_codes(self) -> None:
        """attr('sku') is the attribute sku, not the product's SKU."""
        item = {"sku": "A", "attributes": {"sku": "B", "true": 1}}
        assert matches("attr('sku') == 'B' and sku == 'A'", **item)
        assert matches("attr('true') == 1", **item)

    def test_function_names_are_attribute_codes_outside_calls(self) -> None:
        """A function name not followed by a call is an attribute code like any other."""
        assert matches("lower == 'x'", attributes={"lower": "x"})

    def test_lowercase_literal_names(self) -> None:
        """true, false and null are the literals True, False and None."""
        assert matches("enabled == true and parent_sku == null")
        assert matches("enabled != false")

    def test_enum_fields_compare_with_their_strings(self) -> None:
        """type and visibility equal, order and contain like their string values."""
        assert matches("visibility == 'catalog_search' and type == 'simple'")
        assert matches("visibility > 'catalog' and 'search' in visibility")
        assert matches("startswith(visibility, 'catalog') and visibility in ('catalog_search',)")
        assert matches("lower(type) == 'simple' and type != 'bundle'")


class TestLiterals:
    """Literals: strings, ints, decimals (Decimal, never float), booleans, None, lists."""

    def test_decimals_are_exact(self) -> None:
        """0.1 + 0.2 style float error cannot happen: 19.99 is Decimal('19.99')."""
        assert matches("price == 19.99", price=Decimal("19.99"))
        assert matches("price <= 0.3", price=Decimal("0.3"))
        tree = Condition.parse("price == 19.99").to_tree()
        assert tree["value"] == 19.99
        assert Condition.parse("price == 19.99")._node[3] == ("d", Decimal("19.99"))

    def test_numbers_in_several_spellings(self) -> None:
        """Signs, underscores, exponents and hexadecimal read as the numbers they spell."""
        assert matches("qty == -3", stock=Stock(qty=-3))
        assert matches("qty == +3 and qty == 0x3", stock=Stock(qty=3))
        assert matches("price == 1_000 and price == 1e3 and price == 1000.", price=Decimal(1000))
        assert matches("price > -0.5 and price < .5", price=Decimal(0))

    def test_lists_and_tuples(self) -> None:
        """A list or a tuple of literals may hold mixed types, or nothing."""
        assert matches("size in ['S', 1, 2.5, None, True]", attributes={"size": Decimal("2.5")})
        assert matches("size in ('M',)", attributes={"size": "M"})
        assert not matches("size in ()", attributes={"size": "M"})
        assert matches("size not in []")

    def test_texts_with_escapes_and_quotes(self) -> None:
        """Escapes and both quote styles give the same texts as in Python."""
        assert matches(r"name == 'It\'s' and 'It' in name", name="It's")
        assert matches('name == "say \\"hi\\""', name='say "hi"')
        assert matches(r"name == '\u00e9t\xe9\N{DEGREE SIGN}'", name="été°")
        assert matches("name == r'a\\d'", name="a\\d")

    def test_canonical_text_of_literals(self) -> None:
        """Literals are written back in one canonical spelling."""
        text = "x == 1_0 or x == 1E2 or x == true or x == null or x in [1] or x in ['a', \"b\"]"
        assert Condition.parse(text).to_text() == (
            "x == 10 or x == 100.0 or x or x == None or x in (1,) or x in ('a', 'b')"
        )


class TestComparisons:
    """Operators == != < <= > >= and chained comparisons; evaluation never raises."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("price == 10", True),
            ("price != 10", False),
            ("price < 10", False),
            ("price <= 10", True),
            ("price > 10", False),
            ("price >= 10", True),
            ("10 == price", True),
            ("10 > price", False),
            ("11 > price", True),
            ("9 <= price <= 10", True),
            ("9 < price < 10", False),
            ("1 < 2 < price", None),
        ],
    )
    def test_ordering(self, text: str, expected: bool | None) -> None:
        """Each operator, flipped comparisons and chains compare like Python."""
        if expected is None:
            assert error_of(text).construct == "comparison of two constants"
        else:
            assert matches(text, price=Decimal("10.00")) is expected

    @pytest.mark.parametrize(
        "text",
        ["price == 1", "price < 1", "price <= 1", "price > 1", "price >= 1", "price == 'x'"],
    )
    def test_none_compares_false(self, text: str) -> None:
        """Comparisons with None are false."""
        assert not matches(text)

    def test_none_differs(self) -> None:
        """!= with None is true, and None equals None."""
        assert matches("price != 1 and price != 'x' and price == None")
        assert not matches("price != None")

    @pytest.mark.parametrize(
        "text",
        ["size < 5", "size <= 5", "size > 5", "size >= 5", "size == 5", "5 < size"],
    )
    def test_text_and_number_compare_false(self, text: str) -> None:
        """A text and a number never compare true (and never raise)."""
        assert not matches(text, attributes={"size": "XL"})
        assert not matches(text.replace("5", "'a'"), attributes={"size": 7})

    def test_text_and_number_differ(self) -> None:
        """!= between a text and a number is true."""
        assert matches("size != 5", attributes={"size": "5"})

    def test_booleans_are_not_numbers(self) -> None:
        """True equals only True: never 1, and booleans are not ordered."""
        flag = {"attributes": {"flag": True, "one": 1, "zero": 0, "off": False}}
        assert not matches("flag == 1", **flag)
        assert not matches("one == True", **flag)
        assert matches("one == 1 and zero == 0 and flag == True and off == False", **flag)
        assert not matches("off == 0", **flag)
        assert matches("flag != 1 and off != 0", **flag)
        assert not matches("flag > 0 or flag >= 1 or 0 < flag", **flag)
        assert not matches("flag in (1, 2) or off in [0]", **flag)
        assert matches("flag in (True,) and off not in (True,) and one in (1, True)", **flag)
        assert matches("one in (1, 'a') and zero in (0,) and zero not in (False,)", **flag)
        assert error_of("flag > True").construct == "'>' with a boolean"

    def test_numbers_compare_across_int_and_decimal(self) -> None:
        """An int equals and orders with a Decimal of the same value."""
        assert matches("price == 5 and qty == 5.0", price=Decimal(5), stock=Stock(qty=5))
        assert matches("price < qty and qty > 4.5", price=Decimal("4.5"), stock=Stock(qty=5))

    def test_comparing_two_product_values(self) -> None:
        """Two product values compare with the same rules as a value and a literal."""
        item = {"price": Decimal(20), "special_price": Decimal(15)}
        assert matches("special_price < price and price > special_price", **item)
        assert matches("special_price <= price and price >= special_price", **item)
        assert not matches("special_price == price", **item)
        assert matches("special_price != price", **item)
        assert not matches("special_price < price")
        assert not matches("name < price", name="A", price=Decimal(1))
        assert matches("sku == attr('sku')", attributes={"sku": "SKU-1"})
        assert not matches("enabled == attr('one')", attributes={"one": 1})

    def test_lists_compare_with_list_values(self) -> None:
        """A list literal equals a list value with the same items in the same order."""
        assert matches("categories == ('Men', 'Sale')", categories=("Men", "Sale"))
        assert not matches("categories == ['Sale', 'Men']", categories=("Men", "Sale"))
        assert not matches("name == ['Men']", name="Men")
        assert matches("tags != ['a']", attributes={"tags": ("a", "b")})

    def test_ordering_literals_must_be_orderable(self) -> None:
        """Ordering with None, a boolean or a list is an error before anything runs."""
        assert error_of("price < None").construct == "'<' with None"
        assert error_of("price >= [1]").construct == "'>=' with a list"


class TestMembership:
    """in / not in: membership in a list value, substring in a text."""

    def test_in_a_list_literal(self) -> None:
        """A value in a literal list is one of its items."""
        assert matches("color in ('Red', 'Blue')", attributes={"color": "Blue"})
        assert not matches("color in ('Red', 'Blue')", attributes={"color": "red"})
        assert matches("color not in ('Red', 'Blue')", attributes={"color": "red"})
        assert matches("color not in ('Red', 'Blue')")
        assert matches("color in ('Red', None)")

    def test_substring_of_a_text(self) -> None:
        """A text in a text value is a substring of it."""
        assert matches("'shirt' in name and 'Blue' not in name", name="a shirt")
        assert not matches("'shirt' in name", name="Shirt")

    def test_item_of_a_list_value(self) -> None:
        """A value in a list value is one of its items (not a substring of one)."""
        assert matches("'Men' in categories", categories=("Men", "Sale"))
        assert not matches("'Me' in categories", categories=("Men",))
        assert matches("'x' in tags and 1 not in tags", attributes={"tags": ("x",)})

    def test_in_none_or_non_container_is_false(self) -> None:
        """in on None, a number or a boolean is false; not in is true."""
        for value in (None, 5, Decimal(1), True):
            assert not matches("'a' in code", attributes={"code": value})
            assert matches("'a' not in code", attributes={"code": value})
        assert not matches("5 in code", attributes={"code": "5"})

    def test_value_in_another_value(self) -> None:
        """A product value in another product value: substring or list item."""
        item = {"attributes": {"color": "Red", "allowed": ("Red", "Blue"), "word": "ed"}}
        assert matches("color in allowed and word in color and size not in allowed", **item)
        assert not matches("allowed in color", **item)

    def test_in_needs_a_list_or_a_value(self) -> None:
        """in with a number or a text literal on its right is an error."""
        assert error_of("color in 5").construct == "'in' without a list"
        assert error_of("color in 'Red Blue'").construct == "'in' without a list"
        assert error_of("['a'] in categories").construct == "'contains' with a list"


class TestFunctions:
    """startswith, endswith, lower and under."""

    def test_startswith_and_endswith(self) -> None:
        """Prefix and suffix tests of texts."""
        assert matches("startswith(sku, 'TEST-') and endswith(sku, '-01')", sku="TEST-01")
        assert not matches("startswith(sku, 'test-')", sku="TEST-01")
        assert matches(
            "endswith(parent_sku, '-1') and not startswith(parent_sku, '-1')", parent_sku="P-1"
        )

    def test_predicates_on_other_values_are_false(self) -> None:
        """startswith and endswith of None, numbers and lists are false."""
        for value in (None, 5, ("ab",), True):
            assert not matches("startswith(code, 'a')", attributes={"code": value})
            assert not matches("endswith(code, 'b')", attributes={"code": value})
        assert not matches("startswith(categories, 'Men')", categories=("Men",))
        assert not matches("startswith(parent_sku, 'P')")

    def test_lower(self) -> None:
        """lower() lower-cases a text, each text of a list, and leaves other values alone."""
        assert matches("lower(name) == 'blue shirt'", name="Blue Shirt")
        assert matches("'men' in lower(categories)", categories=("MEN",))
        assert matches("lower(code) == 5", attributes={"code": 5})
        assert matches("lower(parent_sku) == None and lower(lower(sku)) == 'sku-1'")
        assert matches("'shirt' in lower(name)", name="A SHIRT")
        assert matches("lower(parent_sku) == 'p'", parent_sku="P")

    def test_under(self) -> None:
        """under: a category equal to the path or below it, never a sibling prefix."""
        assert matches("under(categories, 'Men/Tops')", categories=("Men/Tops",))
        assert matches("under(categories, 'Men/Tops')", categories=("Sale", "Men/Tops/Jackets"))
        assert not matches("under(categories, 'Men/Tops')", categories=("Men/TopsX",))
        assert not matches("under(categories, 'Men/Tops')", categories=("Men",))
        assert not matches("under(categories, 'Men/Tops')")

    def test_under_a_text_value(self) -> None:
        """under also works on a single path held in a text value; anything else is false."""
        assert matches("under(path, 'Men')", attributes={"path": "Men/Tops"})
        assert not matches("under(path, 'Men')", attributes={"path": "Menswear"})
        assert not matches("under(path, 'Men')", attributes={"path": 5})
        assert matches("under(attribute_set, 'Top')", attribute_set="Top")
        assert not matches("under(parent_sku, 'P')")
        assert matches("under(parent_sku, 'P')", parent_sku="P/1")
        assert not matches("under(qty, 'P')", stock=Stock())

    def test_functions_with_a_product_value_as_argument(self) -> None:
        """The second argument may be another product value; a non-text one gives false."""
        item = {"sku": "AB-1", "attributes": {"prefix": "AB", "root": "Men", "n": 1}}
        assert matches("startswith(sku, prefix) and endswith(sku, '1')", **item)
        assert matches("under(categories, root)", categories=("Men/Tops",), **item)
        assert not matches("startswith(sku, n) or under(categories, n)", **item)
        assert not matches("endswith(sku, attr('missing'))", **item)

    def test_function_arguments_are_checked(self) -> None:
        """Wrong arguments of the functions are errors."""
        assert error_of("startswith('ab', sku)").construct == "constant in startswith()"
        assert error_of("endswith(sku, 1)").construct == "'endswith' without a text"
        assert error_of("under(categories)").construct == "call to 'under'"
        assert error_of("lower('A') == name").construct == "constant in lower()"
        assert error_of("lower(sku, 1) == 'a'").construct == "call to 'lower'"
        assert error_of("attr(color) == 1").construct == "attr() argument"
        assert error_of("attr('') == 1").construct == "attr() argument"
        assert error_of("startswith(sku, 'a') == True").construct == "startswith() as a value"


class TestLogic:
    """and, or, not, True/False and bare values."""

    def test_and_or_not(self) -> None:
        """The boolean operators combine conditions with Python's precedence."""
        assert matches("qty > 1 or qty < 1 and False", stock=Stock(qty=2))
        assert not matches("(qty > 1 or qty < 1) and False", stock=Stock(qty=2))
        assert matches("not qty > 5 and not (qty < 1 or qty > 3)", stock=Stock(qty=2))

    def test_bare_values_are_true_only_when_true(self) -> None:
        """A bare value is the test value == True: a non-empty text is not true."""
        assert matches("enabled and in_stock", stock=Stock())
        assert not matches("in_stock")
        assert matches("not in_stock")
        assert not matches("color", attributes={"color": "Red"})
        assert matches("flag", attributes={"flag": True})

    def test_constant_conditions(self) -> None:
        """True and False are conditions; other constants are not."""
        assert matches("True")
        assert not matches("false")
        assert matches("not False")
        assert error_of("None").construct == "constant as a condition"
        assert error_of("'x'").construct == "constant as a condition"
        assert error_of("[1]").construct == "list as a condition"

    def test_empty_text_matches_everything(self) -> None:
        """A missing or empty condition matches every product."""
        for text in ("", "   ", "\n"):
            assert Condition.parse(text) == Condition.always()
            assert Condition.parse(text).matches(product())
        assert Condition.always().to_text() == "True"
        assert Condition.always().to_tree() == {"all": []}

    def test_comparing_a_condition_is_an_error(self) -> None:
        """A condition is not a value: (a == 1) == True is an error."""
        assert error_of("(qty == 1) == True").construct == "condition as a value"


class TestTrees:
    """The tree form, what a form builder stores."""

    @pytest.mark.parametrize(
        ("op", "value", "fields", "expected"),
        [
            ("==", "Red", {"attributes": {"color": "Red"}}, True),
            ("!=", "Red", {"attributes": {"color": "Red"}}, False),
            ("<", 10, {"attributes": {"color": 9}}, True),
            ("<=", 9.5, {"attributes": {"color": Decimal("9.5")}}, True),
            (">", "A", {"attributes": {"color": "B"}}, True),
            (">=", 10, {"attributes": {"color": Decimal("9.99")}}, False),
            ("in", ["Red", "Blue"], {"attributes": {"color": "Blue"}}, True),
            ("not_in", ["Red", "Blue"], {"attributes": {"color": "Blue"}}, False),
            ("contains", "e", {"attributes": {"color": "Red"}}, True),
            ("contains", "Red", {"attributes": {"color": ("Red", "Blue")}}, True),
            ("startswith", "R", {"attributes": {"color": "Red"}}, True),
            ("endswith", "d", {"attributes": {"color": "Red"}}, True),
            ("under", "Re", {"attributes": {"color": "Re/d"}}, True),
        ],
    )
    def test_every_op(self, op: str, value: Any, fields: dict[str, Any], expected: bool) -> None:
        """Every op of the tree form tests like its text counterpart."""
        tree = {"field": "color", "op": op, "value": value}
        assert tree_matches(tree, **fields) is expected
        assert Condition.from_tree(tree).to_tree() == tree
        assert Condition.parse(Condition.from_tree(tree).to_text()) == Condition.from_tree(tree)

    def test_all_any_not(self) -> None:
        """all, any and not combine nodes; empty all is true and empty any is false."""
        price = {"field": "price", "op": ">", "value": 10}
        assert tree_matches({"all": [price, {"not": {"any": []}}]}, price=Decimal(11))
        assert not tree_matches({"any": [price]}, price=Decimal(10))
        assert tree_matches({"all": []})
        assert not tree_matches({"any": []})
        assert tree_matches({"not": {"not": {"all": []}}})

    def test_numbers(self) -> None:
        """A JSON float becomes the Decimal of its repr; an int stays an int."""
        condition = Condition.from_tree({"field": "price", "op": "==", "value": 0.1})
        assert condition._node[3] == ("d", Decimal("0.1"))
        condition = Condition.from_tree({"field": "qty", "op": "==", "value": 3})
        assert condition._node[3] == ("i", 3)
        assert Condition.from_tree({"field": "price", "op": "==", "value": Decimal("1.5")}) == (
            Condition.parse("price == 1.5")
        )

    def test_attribute_key_and_lower(self) -> None:
        """attribute names a shadowed code; lower lower-cases the value first."""
        tree = {"attribute": "sku", "lower": True, "op": "==", "value": "b"}
        assert tree_matches(tree, attributes={"sku": "B"})
        assert Condition.from_tree(tree).to_text() == "lower(attr('sku')) == 'b'"
        assert Condition.from_tree({"attribute": "color", "op": "==", "value": 1}).to_tree() == {
            "field": "color",
            "op": "==",
            "value": 1,
        }
        assert Condition.from_tree(tree | {"lower": False}).to_tree() == {
            "attribute": "sku",
            "op": "==",
            "value": "b",
        }

    def test_product_values_as_values(self) -> None:
        """A value may name another product value: {"field": "price"}."""
        tree = {"field": "special_price", "op": "<", "value": {"field": "price"}}
        assert tree_matches(tree, price=Decimal(2), special_price=Decimal(1))
        assert Condition.from_tree(tree) == Condition.parse("special_price < price")
        tree = {"field": "sku", "op": "contains", "value": {"attribute": "sku", "lower": True}}
        assert Condition.from_tree(tree).to_text() == "lower(attr('sku')) in sku"

    def test_single_children_and_double_negation_collapse(self) -> None:
        """{"all": [x]} and {"not": {"not": x}} are x."""
        leaf = {"field": "qty", "op": ">", "value": 0}
        assert Condition.from_tree({"all": [{"any": [leaf]}]}).to_tree() == leaf
        assert Condition.from_tree({"not": {"not": leaf}}).to_tree() == leaf
        nested = {"all": [leaf, {"all": [leaf, leaf]}]}
        assert Condition.from_tree(nested).to_tree() == {"all": [leaf, leaf, leaf]}


class TestCanonicalForms:
    """to_text and to_tree give canonical forms; equality is by canonical tree."""

    @pytest.mark.parametrize(
        ("text", "canonical"),
        [
            ("10<=price<100", "10 <= price < 100"),
            ("100 > price", "price < 100"),
            ("not (x == 1 or y == 2)", "not (x == 1 or y == 2)"),
            ("x == 1 or (y == 2 and z == 3)", "x == 1 or y == 2 and z == 3"),
            ("(x == 1 or y == 2) and z == 3", "(x == 1 or y == 2) and z == 3"),
            ("not 1 < x < 2", "not 1 < x < 2"),
            ("not (1 < x and x < 2 and y)", "not (1 < x < 2 and y)"),
            ("not ('a' in name)", "'a' not in name"),
            ("not not x", "x"),
            ("x and (y and z)", "x and y and z"),
            ("attr('color') == attr('x-y')", "color == attr('x-y')"),
            ("attr('__class__') == 1", "attr('__class__') == 1"),
            ("attr('lower') == 1", "lower == 1"),
            ("attr('ﬁ') == 1", "attr('ﬁ') == 1"),
            ("color in allowed", "color in allowed"),
            ("not startswith(sku, 'A')", "not startswith(sku, 'A')"),
            ("x == -1.5 and x > -2", "x == -1.5 and x > -2"),
            ("False or x", "x"),
            ("x or True", "x or True"),
            ("not True", "not True"),
            ("x > 'a' and x < 'b'", "'a' < x < 'b'"),
            ("x > 1 and x < y", "x > 1 and x < y"),
            ("True and x", "x"),
        ],
    )
    def test_canonical_text(self, text: str, canonical: str) -> None:
        """The canonical text of a few conditions, exactly."""
        condition = Condition.parse(text)
        assert condition.to_text() == canonical
        assert Condition.parse(canonical) == condition

    def test_equality_and_hash(self) -> None:
        """Conditions written differently but canonically equal are equal and hash alike."""
        first = Condition.parse("qty > 0 and 'x' in name")
        second = Condition.parse("(0 < qty) and ('x' in name)")
        assert first == second
        assert hash(first) == hash(second)
        assert len({first, second}) == 1
        assert first != Condition.parse("qty > 0")
        assert first != "qty > 0 and 'x' in name"
        assert Condition.parse("x == 1") != Condition.parse("x == True")

    def test_repr(self) -> None:
        """repr shows the canonical text."""
        assert repr(Condition.parse("qty>0")) == "Condition.parse('qty > 0')"

    def test_immutable(self) -> None:
        """A condition cannot be changed."""
        condition = Condition.parse("qty > 0")
        with pytest.raises(AttributeError):
            condition.matches = lambda _: True
        with pytest.raises(AttributeError):
            del condition.matches

    def test_constructor_takes_text_or_tree(self) -> None:
        """Condition(text) parses; Condition(tree) loads a tree."""
        assert Condition("qty > 0") == Condition({"field": "qty", "op": ">", "value": 0})

    def test_copies_are_the_same_object(self) -> None:
        """copy and deepcopy return the condition itself (it is immutable)."""
        condition = Condition.parse("qty > 0")
        assert copy.copy(condition) is condition
        assert copy.deepcopy(condition) is condition

    @pytest.mark.parametrize(
        "source", ["qty > 0 and color == 'Red'", {"field": "qty", "op": ">", "value": 0}]
    )
    def test_pickle(self, source: Any) -> None:
        """A condition pickles and comes back equal, compiled, in the same form."""
        condition = Condition(source)
        loaded = pickle.loads(pickle.dumps(condition))
        assert loaded == condition
        assert loaded.matches(product(stock=Stock(qty=1), attributes={"color": "Red"}))
        assert dump_condition(loaded) == dump_condition(condition)

    def test_canonical_text_that_would_be_too_long_is_rejected(self) -> None:
        """A condition whose canonical text would break the limits is an error up front."""
        long_chain = " < ".join(["x"] * 2400)
        assert len(long_chain) <= 10_000
        error = error_of(long_chain)
        assert "canonical form" in error.message
        error = tree_error_of({"field": "x", "op": "==", "value": "a" * 10_000})
        assert error.path == "$"
        assert "longer than 10000" in error.message

    def test_huge_trees_are_rejected_early(self) -> None:
        """A tree of more than 10,000 nodes is an error, even one that shares its subtrees."""
        tree: dict[str, Any] = {"field": "x", "op": "==", "value": 1}
        for _ in range(40):
            tree = {"all": [tree, tree]}
        error = tree_error_of(tree)
        assert error.construct == "too many nodes"
        assert error.message == "the condition has more than 10000 nodes"
        assert len(error.problems) == 1


class TestTextErrors:
    """ConditionError reprints the text with a caret under the offending column."""

    def test_attribute_access_message(self) -> None:
        """The exact message of an attribute access, with the caret under the dot."""
        error = error_of("price > 10 and sku.upper() == 'X'")
        assert str(error) == (
            "attribute access is not allowed at column 19\n"
            "    price > 10 and sku.upper() == 'X'\n"
            "                      ^~~~~~"
        )
        assert (error.line, error.column, error.end_column) == (1, 19, 25)
        assert error.construct == "attribute access"
        assert error.text == "price > 10 and sku.upper() == 'X'"
        assert error.path is None
        assert isinstance(error, PolicyEngineError)
        assert isinstance(error, ValueError)

    def test_unknown_function_message(self) -> None:
        """The exact message of a call to an unknown function."""
        assert str(error_of("qty > 0 and eval('1')")) == (
            "call to 'eval' is not allowed (the functions are startswith(), endswith(), under(),"
            " lower() and attr()) at column 13\n"
            "    qty > 0 and eval('1')\n"
            "                ^~~~"
        )

    def test_syntax_error_message(self) -> None:
        """The exact message of a syntax error, from Python's parser."""
        assert str(error_of("price == 1 2")) == (
            "invalid syntax at column 12\n    price == 1 2\n               ^"
        )
        error = error_of("(price == 1")
        assert error.construct == "syntax error"
        assert error.column == 1

    def test_error_on_a_later_line(self) -> None:
        """In a text of several lines the line is named and reprinted."""
        error = error_of("qty > 0 and (\n  sku.x == 1\n)")
        assert str(error) == (
            "attribute access is not allowed at line 2, column 6\n      sku.x == 1\n         ^~"
        )
        assert error_of("qty > 0 and (\r\n  sku.x == 1)").line == 2

    def test_columns_count_characters_not_bytes(self) -> None:
        """Columns count characters, also after non-ASCII text."""
        assert error_of("name == 'été' and x.y").column == 20
        assert error_of("name == 'été' and x ** 2").column == 21

    def test_long_lines_are_shortened_around_the_column(self) -> None:
        """A long line is shown as a window around the caret."""
        text = "x == 1 and " * 20 + "y.z == 1"
        lines = str(error_of(text)).split("\n")
        assert lines[1].startswith("    ...")
        assert lines[1].endswith("y.z == 1")
        assert lines[2].index("^") == lines[1].index(".z")

    def test_tabs_do_not_shift_the_caret(self) -> None:
        """A tab is shown as one space so that the caret stays under the column."""
        lines = str(error_of("x ==\t1 and\ty.z")).split("\n")
        assert lines[2].index("^") == lines[1].index(".z")

    def test_caret_at_the_end_of_the_text(self) -> None:
        """An error at the end of the text puts the caret just after it."""
        error = error_of("qty > ")
        assert error.column == 6
        assert str(error) == "the condition is incomplete at column 6\n    qty > \n         ^"

    @pytest.mark.parametrize(
        ("text", "construct"),
        [
            ("x == 1.00000000000000000001", "number out of range"),
            ("x == 1e400", "number out of range"),
            ("x == 1234567890123456789", "integer out of range"),
            ("x == 1j", "complex number"),
            ("x == u'a' and x == b'a'", "bytes literal"),
            ("x == 'a\\d'", "escape sequence"),
            ("x == '\\N{NOT A NAME}'", "syntax error"),
            ("x == 'abc", "unterminated text"),
            ("x == '''abc", "unterminated text"),
            ("10in x", "invalid number"),
            ("x == 0xZZ", "invalid number"),
            ("x == 1 € 2", "character"),
            ("x == 1 ! 2", "'!'"),
            ("x = 1", "'=' (assignment)"),
            ("x is None", "'is' operator"),
            ("x if y else z", "conditional expression"),
            ("(x := 1)", "assignment expression"),
            ("x[0] == 1", "subscript"),
            ("(x)[0] == 1", "subscript"),
            ("'ab'(1)", "call"),
            ("True(1)", "call"),
            ("{1: 2}", "set or dict display"),
            ("x == ...", "ellipsis"),
            ("x == 1 - 2", "arithmetic operator '-'"),
            ("x == - 'a'", "sign '-'"),
            ("x @ y", "arithmetic operator '@'"),
            ("import os", "keyword 'import'"),
            ("x == __debug__", "dunder name '__debug__'"),
            ("x == - -1", "sign '-'"),
            ("a; b", "';'"),
            ("a\\\n == 1", "backslash outside a text"),
            ("yield x", "'yield' expression"),
            ("x == 1, 2", "list as a condition"),
            ("x == [y]", "list item"),
            ("x == [[1]]", "list item"),
            ("startswith(sku, prefix='a')", "'=' (assignment)"),
        ],
    )
    def test_constructs_outside_the_language(self, text: str, construct: str) -> None:
        """Every construct outside the subset is named in the error, with a column."""
        error = error_of(text)
        assert error.construct == construct
        assert error.column is not None
        assert error.column >= 1
        assert error.problems == (("$", str(error)),)

    def test_parse_rejects_non_text(self) -> None:
        """parse() of something that is not a text is a ConditionError."""
        error = error_of(None)  # type: ignore[arg-type]
        assert error.construct == "not a text"
        assert str(error) == "expected a condition text, got null"

    def test_errors_pickle(self) -> None:
        """A ConditionError pickles with all its fields."""
        error = error_of("a.b")
        loaded = pickle.loads(pickle.dumps(error))
        assert str(loaded) == str(error)
        assert (loaded.column, loaded.construct, loaded.text) == (2, "attribute access", "a.b")


class TestTreeErrors:
    """Tree errors name the JSON path of every problem."""

    def test_unknown_op_path(self) -> None:
        """An unknown op is reported at $.all[2].op."""
        tree = {
            "all": [
                {"field": "qty", "op": ">", "value": 0},
                {"field": "qty", "op": "<", "value": 9},
                {"field": "price", "op": "gt", "value": 10},
            ]
        }
        error = tree_error_of(tree)
        assert error.path == "$.all[2].op"
        assert error.construct == "unknown op 'gt'"
        assert error.text is None
        assert error.column is None
        assert str(error) == (
            "unknown op 'gt' (expected one of ==, !=, <, <=, >, >=, in, not_in, contains,"
            " startswith, endswith, under) @ $.all[2].op"
        )

    def test_every_problem_at_once(self) -> None:
        """All problems of a tree are listed, each with its path."""
        tree = {
            "any": [
                {"field": "", "op": "==", "valeu": 1},
                {"not": [1]},
                {"field": "qty", "op": "in", "value": 3, "lower": "yes"},
                {"all": [{"field": "x", "op": "==", "value": [[1]]}], "any": []},
                "qty > 1",
            ]
        }
        assert tree_error_of(tree).problems == (
            ("$.any[0].valeu", "unknown key (did you mean 'value'?)"),
            ("$.any[0].field", "expected a non-empty string, got an empty string"),
            ("$.any[0].value", "required key 'value' missing"),
            ("$.any[1].not", "expected a condition object, got a list"),
            ("$.any[2].lower", "expected a boolean, got a string"),
            ("$.any[3].any", "a node with 'all' has no other key"),
            ("$.any[4]", "expected a condition object, got a string"),
        )

    @pytest.mark.parametrize(
        ("tree", "path", "message"),
        [
            ({}, "$", "empty object: expected 'all', 'any', 'not', or 'field' with 'op' and 'value'"),
            ({"op": "==", "value": 1}, "$.field", "required key 'field' missing"),
            ({"field": "x", "value": 1}, "$.op", "required key 'op' missing"),
            ({"field": 1, "op": "==", "value": 1}, "$.field", "expected a non-empty string, got an integer"),
            ({"field": "x", "attribute": "x", "op": "==", "value": 1}, "$", "give either 'field' or 'attribute', not both"),
            ({"field": "x", "op": ["=="], "value": 1}, "$.op", "unknown op ['=='] (expected one of ==, !=, <, <=, >, >=, in, not_in, contains, startswith, endswith, under)"),
            ({"field": "x", "op": "<", "value": None}, "$.value", "'<' compares numbers or texts, not null"),
            ({"field": "x", "op": "<", "value": True}, "$.value", "'<' compares numbers or texts, not a boolean"),
            ({"field": "x", "op": "in", "value": "abc"}, "$.value", "'in' needs a list of values, got a text"),
            ({"field": "x", "op": "not_in", "value": {"field": "y"}}, "$.value", "'not_in' needs a list of values, got a product value"),
            ({"field": "x", "op": "contains", "value": [1]}, "$.value", "'contains' takes one value, not a list"),
            ({"field": "x", "op": "under", "value": 1}, "$.value", "'under' needs a text, got a number"),
            ({"field": "x", "op": "==", "value": float("nan")}, "$.value", "expected a finite number, got nan"),
            ({"field": "x", "op": "==", "value": Decimal("1.00000000000000000001")}, "$.value", "the number 1.00000000000000000001 has more digits than a JSON number keeps exactly"),
            ({"field": "x", "op": "==", "value": Decimal("Infinity")}, "$.value", "the number Infinity is not finite"),
            ({"field": "x", "op": "==", "value": 10**20}, "$.value", "integers have at most 18 digits"),
            ({"field": "x", "op": "==", "value": {"field": "y", "op": "=="}}, "$.value.op", "unknown key"),
            ({"field": "x", "op": "in", "value": [1, [2]]}, "$.value[1]", "expected a text, a number, a boolean or null, got a list"),
            ({"field": "x", "op": "==", "value": object()}, "$.value", "expected a text, a number, a boolean, null, a list or a field reference, got an object"),
            ({"all": {"field": "x"}}, "$.all", "expected a list, got an object"),
            ({"field": "x", "op": "==", "value": 1, 2: 3}, '$["2"]', "unknown key"),
        ],
    )  # fmt: skip
    def test_problems(self, tree: Any, path: str, message: str) -> None:
        """Each kind of problem in a tree, at its path."""
        error = tree_error_of(tree)
        assert (error.path, error.message) == (path, message)

    def test_not_a_mapping(self) -> None:
        """A tree that is not an object is an error at $."""
        assert tree_error_of("qty > 1").problems == (
            ("$", "expected a condition object, got a string"),
        )

    def test_too_deep(self) -> None:
        """Nodes nested deeper than 50 levels are an error at the path of the 51st."""
        tree: dict[str, Any] = {"field": "x", "op": "==", "value": 1}
        for _ in range(50):
            tree = {"not": {"all": [tree, tree]}} if False else {"all": [tree]}
        assert Condition.from_tree(tree) == Condition.parse("x == 1")
        error = tree_error_of({"all": [tree]})
        assert error.construct == "nesting too deep"
        assert error.path == "$" + ".all[0]" * 50

    def test_cyclic_tree(self) -> None:
        """A tree containing itself stops at the depth limit instead of recursing."""
        tree: dict[str, Any] = {"not": None}
        tree["not"] = tree
        assert tree_error_of(tree).construct == "nesting too deep"


class TestJson:
    """load_condition / dump_condition, the JSON hooks of ListingTemplate.condition."""

    def test_load_text_tree_and_nothing(self) -> None:
        """A text and a tree load as conditions; null and blank text as no condition."""
        assert load_condition("qty > 0") == Condition.parse("qty > 0")
        assert load_condition({"field": "qty", "op": ">", "value": 0}) == (
            Condition.parse("qty > 0")
        )
        assert load_condition(None) is None
        assert load_condition("  ") is None
        condition = Condition.parse("qty > 0")
        assert load_condition(condition) is condition

    def test_load_errors_have_relative_paths(self) -> None:
        """Errors carry paths relative to the value, and the caret message for texts."""
        with pytest.raises(Invalid) as caught:
            load_condition("a.b")
        assert caught.value.problems == [
            ("$", "attribute access is not allowed at column 2\n    a.b\n     ^~")
        ]
        with pytest.raises(Invalid) as caught:
            load_condition({"all": [{"field": "x", "op": "gt", "value": 1}]})
        assert [path for path, _ in caught.value.problems] == ["$.all[0].op"]
        with pytest.raises(Invalid) as caught:
            load_condition(5)
        assert caught.value.problems == [
            ("$", "expected a condition text, a condition tree or null, got an integer")
        ]

    def test_dump_keeps_the_form(self) -> None:
        """A text dumps as written; a tree dumps as its canonical tree; None as null."""
        assert dump_condition(Condition.parse("10<price  # cheap")) == "10<price  # cheap"
        tree = {"all": [{"field": "qty", "op": ">", "value": 0}]}
        assert dump_condition(Condition.from_tree(tree)) == {
            "field": "qty",
            "op": ">",
            "value": 0,
        }
        assert dump_condition(None) is None


class TestProperties:
    """Invariants of spec section 6 over generated conditions and products."""

    @given(conditions(), st.lists(products(max_images=0), max_size=3))
    def test_select_is_matches_in_a_loop(self, condition: Condition, items: list[Product]) -> None:
        """select(products) keeps exactly the products matches() accepts, in their order."""
        assert condition.select(items) == [item for item in items if condition.matches(item)]
        assert condition.select(iter(items)) == condition.select(items)

    @given(conditions(), st.lists(products(max_images=0), max_size=3))
    def test_text_round_trip(self, condition: Condition, items: list[Product]) -> None:
        """'Condition.parse(c.to_text()) ... match exactly the same products as c'."""
        again = Condition.parse(condition.to_text())
        assert again == condition
        for item in items:
            assert again.matches(item) is condition.matches(item)

    @given(conditions(), st.lists(products(max_images=0), max_size=3))
    def test_tree_round_trip(self, condition: Condition, items: list[Product]) -> None:
        """'Condition.from_tree(c.to_tree()) ... match exactly the same products as c'."""
        again = Condition.from_tree(condition.to_tree())
        assert again == condition
        for item in items:
            assert again.matches(item) is condition.matches(item)

    @given(conditions(max_depth=4), st.lists(products(max_images=0), min_size=1, max_size=3))
    def test_compiled_agrees_with_the_reference(
        self, condition: Condition, items: list[Product]
    ) -> None:
        """'Conditions are compiled once': the compiled test decides as the plain definition."""
        for item in items:
            assert condition.matches(item) is evaluate(condition._node, item)

    @given(st.one_of(condition_texts(), condition_trees()), products(max_images=0))
    def test_evaluation_never_raises(self, source: Any, item: Product) -> None:
        """'Evaluation never raises': every accepted condition gives a bool on any product."""
        condition = Condition(source)
        assert type(condition.matches(item)) is bool

    @given(conditions())
    def test_pickle_round_trip(self, condition: Condition) -> None:
        """A condition survives pickling (needed for process pools)."""
        assert pickle.loads(pickle.dumps(condition)) == condition

    @given(condition_texts())
    def test_generated_texts_are_valid(self, text: str) -> None:
        """Every generated text parses, and dumps back exactly as written."""
        assert dump_condition(Condition.parse(text)) == text


class TestExactErrors:
    """The whole error of each rejected construct: message, column, excerpt and caret span."""

    @pytest.mark.parametrize(
        ("text", "construct", "shown"),
        [
            (
                "x == 1j",
                "complex number",
                "complex number is not allowed at column 6\n    x == 1j\n         ^~",
            ),
            (
                "x == u'a' and x == b'a'",
                "bytes literal",
                "bytes literal is not allowed at column 20\n    x == u'a' and x == b'a'\n                       ^~",
            ),
            (
                "x == 'abc",
                "unterminated text",
                "unterminated text literal at column 6\n    x == 'abc\n         ^",
            ),
            (
                "x == '''abc",
                "unterminated text",
                "unterminated text literal at column 6\n    x == '''abc\n         ^~~",
            ),
            (
                "10in x",
                "invalid number",
                "the number 10 must be followed by a space or an operator at column 1\n    10in x\n    ^~~",
            ),
            (
                "x == 1 € 2",
                "character",
                "unexpected character '€' at column 8\n    x == 1 € 2\n           ^",
            ),
            (
                "x = 1",
                "'=' (assignment)",
                "'=' (assignment) is not allowed (use '==' to compare) at column 3\n    x = 1\n      ^",
            ),
            (
                "x is None",
                "'is' operator",
                "'is' operator is not allowed (use == None or != None) at column 3\n    x is None\n      ^~",
            ),
            (
                "x if y else z",
                "conditional expression",
                "conditional expression is not allowed at column 3\n    x if y else z\n      ^~",
            ),
            (
                "(x := 1)",
                "assignment expression",
                "assignment expression is not allowed at column 4\n    (x := 1)\n       ^~",
            ),
            (
                "x[0] == 1",
                "subscript",
                "subscript is not allowed (a list needs an operator before it) at column 2\n    x[0] == 1\n     ^",
            ),
            (
                "'ab'(1)",
                "call",
                "only the functions startswith(), endswith(), under(), lower() and attr() can be called at column 5\n    'ab'(1)\n        ^",
            ),
            (
                "x == ...",
                "ellipsis",
                "ellipsis is not allowed at column 6\n    x == ...\n         ^~~",
            ),
            (
                "x == 1 - 2",
                "arithmetic operator '-'",
                "arithmetic operator '-' is not allowed at column 8\n    x == 1 - 2\n           ^",
            ),
            (
                "x == - 'a'",
                "sign '-'",
                "a sign '-' is allowed only before a number at column 6\n    x == - 'a'\n         ^",
            ),
            (
                "x == +'a'",
                "sign '+'",
                "a sign '+' is allowed only before a number at column 6\n    x == +'a'\n         ^",
            ),
            (
                "import os",
                "keyword 'import'",
                "keyword 'import' is not allowed at column 1\n    import os\n    ^~~~~~",
            ),
            (
                "x == __debug__",
                "dunder name '__debug__'",
                "dunder name '__debug__' is not allowed at column 6\n    x == __debug__\n         ^~~~~~~~~",
            ),
            ("a; b", "';'", "';' is not allowed at column 2\n    a; b\n     ^"),
            (
                "yield x",
                "'yield' expression",
                "'yield' expression is not allowed at column 1\n    yield x\n    ^~~~~",
            ),
            (
                "x == 1, 2",
                "list as a condition",
                "a list is not a condition at column 1\n    x == 1, 2\n    ^~~~~~~~~",
            ),
            (
                "x == [y]",
                "list item",
                "a list holds only constants (texts, numbers, booleans, None) at column 7\n    x == [y]\n          ^",
            ),
            (
                "x == [[1]]",
                "list item",
                "a list holds only constants (texts, numbers, booleans, None) at column 7\n    x == [[1]]\n          ^~~",
            ),
            (
                "startswith(sku)",
                "call to 'startswith'",
                "startswith() takes 2 arguments (1 given) at column 1\n    startswith(sku)\n    ^~~~~~~~~~~~~~~",
            ),
            (
                "startswith('a', sku)",
                "constant in startswith()",
                "the first argument of startswith() must be a product value, not a constant at column 12\n    startswith('a', sku)\n               ^~~",
            ),
            (
                "startswith(sku, [1])",
                "'startswith' without a text",
                "'startswith' needs a text, got a list at column 17\n    startswith(sku, [1])\n                    ^~~",
            ),
            (
                "lower(1) == 'a'",
                "constant in lower()",
                "lower() takes a product value, not a constant at column 7\n    lower(1) == 'a'\n          ^",
            ),
            (
                "attr(1) == 'a'",
                "attr() argument",
                "attr() takes an attribute code as a text, e.g. attr('color') at column 6\n    attr(1) == 'a'\n         ^",
            ),
            (
                "attr() == 1",
                "call to 'attr'",
                "attr() takes 1 argument (0 given) at column 1\n    attr() == 1\n    ^~~~~~",
            ),
            (
                "startswith(sku, 'a') == True",
                "startswith() as a value",
                "startswith() is a condition, not a value that can be compared at column 1\n    startswith(sku, 'a') == True\n    ^~~~~~~~~~~~~~~~~~~~",
            ),
            (
                "x == (a == b)",
                "condition as a value",
                "a condition is not a value: combine conditions with 'and', 'or' and 'not' at column 7\n    x == (a == b)\n          ^~~~~~",
            ),
            (
                "x == (a and b)",
                "condition as a value",
                "a condition is not a value: combine conditions with 'and', 'or' and 'not' at column 7\n    x == (a and b)\n          ^~~~~~~",
            ),
            (
                "x == 2 ** 3",
                "'**' operator",
                "'**' operator is not allowed at column 8\n    x == 2 ** 3\n           ^~",
            ),
            (
                "x == lambda: 1",
                "lambda",
                "lambda is not allowed at column 6\n    x == lambda: 1\n         ^~~~~~",
            ),
            (
                "x.y.z == 1",
                "attribute access",
                "attribute access is not allowed at column 2\n    x.y.z == 1\n     ^~",
            ),
            (
                "sku.upper",
                "attribute access",
                "attribute access is not allowed at column 4\n    sku.upper\n       ^~~~~~",
            ),
            (
                "a == {1}",
                "set or dict display",
                "set or dict display is not allowed at column 6\n    a == {1}\n         ^",
            ),
            (
                "__import__('os')",
                "dunder name '__import__'",
                "dunder name '__import__' is not allowed at column 1\n    __import__('os')\n    ^~~~~~~~~~",
            ),
            (
                "x == f'a'",
                "f-string",
                "f-string is not allowed at column 6\n    x == f'a'\n         ^~",
            ),
            (
                "upper(sku) == 'A'",
                "call to 'upper'",
                "call to 'upper' is not allowed (the functions are startswith(), endswith(), under(), lower() and attr()) at column 1\n    upper(sku) == 'A'\n    ^~~~~",
            ),
            (
                "a == 1 and\n b.c == 2",
                "attribute access",
                "attribute access is not allowed at line 2, column 3\n     b.c == 2\n      ^~",
            ),
            (
                "a == 1 and\nb == = 2",
                "'=' (assignment)",
                "'=' (assignment) is not allowed (use '==' to compare) at line 2, column 6\n    b == = 2\n         ^",
            ),
            (
                "x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and y.z == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1",
                "attribute access",
                "attribute access is not allowed at column 112\n    ...= 1 and x == 1 and y.z == 1 and x == 1 and x == 1 and x == 1 and x == 1 ...\n                           ^~",
            ),
            (
                "y.z == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1",
                "attribute access",
                "attribute access is not allowed at column 2\n    y.z == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x ==...\n     ^~",
            ),
            (
                "x ==\t1 and\ty.z",
                "attribute access",
                "attribute access is not allowed at column 13\n    x == 1 and y.z\n                ^~",
            ),
            (
                "qty > ",
                "syntax error",
                "the condition is incomplete at column 6\n    qty > \n         ^",
            ),
            (
                "x == 1e400",
                "number out of range",
                "the number 1e400 has more digits than a JSON number keeps exactly at column 6\n    x == 1e400\n         ^~~~~",
            ),
            (
                "x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and y.z",
                "attribute access",
                "attribute access is not allowed at column 112\n    ...nd x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and x == 1 and y.z\n                                                                             ^~",
            ),
        ],
    )
    def test_error_text(self, text: str, construct: str, shown: str) -> None:
        """The construct is named and str() gives the message, the column and the marked excerpt."""
        error = error_of(text)
        assert (error.construct, str(error)) == (construct, shown)
        assert error.problems == (("$", shown),)

    @pytest.mark.parametrize(
        ("text", "span"),
        [
            ("(\na ==\n)", (3, 1, 2)),
            ("a == 1\nb == 2", (2, 1, 2)),
            ("a == 1 and\n(b == ", (1, 11, 12)),
            ("x == not y", (1, 6, 9)),
            ("a == 1 2 3 4", (1, 8, 9)),
        ],
    )
    def test_syntax_error_position(self, text: str, span: tuple[int, int, int]) -> None:
        """A syntax error from Python's parser is placed at its line, column and end column."""
        error = error_of(text)
        assert error.construct == "syntax error"
        assert (error.line, error.column, error.end_column) == span
        assert error.text == text

    def test_tree_error_string_lists_every_problem_on_its_own_line(self) -> None:
        """str() of a tree error gives one "message @ path" line per problem."""
        error = tree_error_of({"all": [{"op": "=="}, {"field": "sku", "op": "zz", "value": 1}]})
        assert str(error) == "\n".join(f"{message} @ {path}" for path, message in error.problems)
        assert len(error.problems) >= 2
        assert error.message == error.problems[0][1]

    def test_text_error_message_is_the_sentence_alone(self) -> None:
        """A text error's message is the sentence without the position or the excerpt."""
        error = error_of("x == 1j")
        assert error.message == "complex number is not allowed"
        assert error.args == ("complex number is not allowed",)
        assert (error.line, error.column, error.end_column, error.path) == (1, 6, 8, None)

    def test_non_text_is_described(self) -> None:
        """parse() of a value that is not a text names the value's kind."""
        assert str(error_of(42)) == "expected a condition text, got an integer"  # type: ignore[arg-type]

    def test_deleting_an_attribute_is_refused(self) -> None:
        """A condition's attributes cannot be deleted, and the error says it is immutable."""
        condition = Condition.parse("x == 1")
        with pytest.raises(AttributeError, match=r"^a Condition is immutable$"):
            del condition._text


_GRID_SUBJECTS: list[dict[str, Any]] = [
    {"field": "sku"},
    {"field": "name"},
    {"field": "price"},
    {"field": "special_price"},
    {"field": "qty"},
    {"field": "categories"},
    {"field": "enabled"},
    {"field": "visibility"},
    {"field": "color"},
    {"attribute": "color", "lower": True},
]
_GRID_VALUES: list[Any] = [
    "Red",
    "re",
    "Men",
    "Men/Tops",
    "",
    10,
    0,
    9.5,
    None,
    True,
    False,
    ["Red", 10, None],
    [9.5, "men/tops"],
    [],
    {"field": "price"},
    {"field": "sku"},
    {"attribute": "color", "lower": True},
]
_GRID_OPS = (
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "not_in",
    "contains",
    "startswith",
    "endswith",
    "under",
)
_GRID_PRODUCTS = [
    Product(
        sku="Red-1",
        name="Red",
        price=Decimal(10),
        special_price=Decimal("9.5"),
        categories=("Men/Tops", "Sale"),
        stock=Stock(qty=10),
        attributes={"color": "Red"},
    ),
    Product(sku="re", price=Decimal("9.5"), stock=Stock(qty=0), attributes={"color": 10}),
    Product(
        sku="Men/Tops", enabled=False, categories=("Men",), attributes={"color": ("Red", "re")}
    ),
    Product(sku="S4", name="", stock=Stock(qty=9), attributes={"color": Decimal("9.5")}),
    Product(sku="S5", attributes={"color": True}),
    Product(sku="S6", name="Men/Tops/Shirts", attributes={"color": "Men/Tops/Shirts"}),
    Product(sku="S7", attributes={"color": ("men/tops", "Men")}),
    Product(sku="S8"),
]


def _grid_conditions() -> list[Condition]:
    """Every accepted leaf of the grid, alone, negated and combined with another leaf."""
    found: list[Condition] = []
    for subject in _GRID_SUBJECTS:
        for op in _GRID_OPS:
            for value in _GRID_VALUES:
                leaf = {**subject, "op": op, "value": value}
                try:
                    Condition.from_tree(leaf)
                except ConditionError:
                    continue
                other = {"field": "qty", "op": ">", "value": 5}
                trees = (leaf, {"not": leaf}, {"all": [other, leaf]}, {"any": [leaf, other]})
                found.extend(Condition.from_tree(tree) for tree in trees)
    return found


class TestCompiledGrid:
    """The compiled test of every op, literal kind and value kind agrees with the reference."""

    def test_matches_and_select_agree_with_the_reference(self) -> None:
        """For every leaf of the grid (and its negation), matches() and select() decide as evaluate()."""
        conditions = _grid_conditions()
        assert len(conditions) > 1000
        for condition in conditions:
            expected = [evaluate(condition._node, item) for item in _GRID_PRODUCTS]
            assert [condition.matches(item) for item in _GRID_PRODUCTS] == expected, condition
            chosen = [item for item, hit in zip(_GRID_PRODUCTS, expected, strict=True) if hit]
            assert condition.select(_GRID_PRODUCTS) == chosen, condition


class TestScannerLimits:
    """The length and nesting limits and the operator checks of the scanner, pinned exactly."""

    def test_text_of_the_maximum_length_is_accepted(self) -> None:
        """A text of exactly MAX_LENGTH characters is accepted."""
        Condition.parse("x == 1".ljust(MAX_LENGTH))

    def test_longer_text_is_rejected_at_the_first_extra_character(self) -> None:
        """A longer text is refused, the caret on the first character past the limit."""
        error = error_of("x == 1".ljust(MAX_LENGTH + 5))
        assert error.construct == "text too long"
        assert error.message == f"the condition text is longer than {MAX_LENGTH} characters (10005)"
        assert (error.line, error.column, error.end_column) == (1, MAX_LENGTH + 1, MAX_LENGTH + 2)

    def test_maximum_nesting_is_accepted(self) -> None:
        """MAX_DEPTH nested parentheses are accepted, also after a closed group."""
        Condition.parse("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH)
        Condition.parse("((x)) and " + "(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH)

    @pytest.mark.parametrize("prefix", ["", "(x) and "])
    def test_deeper_nesting_is_rejected_at_the_extra_parenthesis(self, prefix: str) -> None:
        """One level more is refused at the parenthesis that goes past the limit."""
        error = error_of(prefix + "(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))
        assert error.construct == "nesting too deep"
        assert error.message == f"the condition is nested deeper than {MAX_DEPTH} levels"
        column = len(prefix) + MAX_DEPTH + 1
        assert (error.column, error.end_column) == (column, column + 1)

    @pytest.mark.parametrize(
        ("text", "construct", "span"),
        [
            ("x == -", "sign '-'", (6, 7)),
            ("x == +", "sign '+'", (6, 7)),
            ("a;b", "';'", (2, 3)),
            ("x. y", "attribute access", (2, 3)),
            ("x.y", "attribute access", (2, 4)),
        ],
    )
    def test_operator_errors_at_the_end_and_before_names(
        self, text: str, construct: str, span: tuple[int, int]
    ) -> None:
        """A sign at the very end, or a foreign operator before a name, marks only the operator
        (an attribute access marks the dot and the name)."""
        error = error_of(text)
        assert error.construct == construct
        assert (error.column, error.end_column) == span


class TestExactErrorDetails:
    """Excerpt windows, line starts, clipped numbers and digit limits, pinned exactly."""

    @pytest.mark.parametrize(
        ("text", "construct", "span", "shown"),
        [
            (
                "x.y" + " " * 69,
                "attribute access",
                (1, 2, 4),
                "attribute access is not allowed at column 2\n    x.y                                                                     \n     ^~",
            ),
            (
                "x.y" + " " * 70,
                "attribute access",
                (1, 2, 4),
                "attribute access is not allowed at column 2\n    x.y                                                                     ...\n     ^~",
            ),
            (
                "\nx.y",
                "attribute access",
                (2, 2, 4),
                "attribute access is not allowed at line 2, column 2\n    x.y\n     ^~",
            ),
            (
                "a.b\nc == 1",
                "attribute access",
                (1, 2, 4),
                "attribute access is not allowed at line 1, column 2\n    a.b\n     ^~",
            ),
            (
                "x == 1e" + "9" * 50,
                "number out of range",
                (1, 6, 58),
                "the number 1e99999999999999999999999999999999999999… is out of range at column 6\n    x == 1e99999999999999999999999999999999999999999999999999\n         ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
            ),
            (
                "x == 1_000_000_000_000_000_000",
                "integer out of range",
                (1, 6, 31),
                "integers have at most 18 digits at column 6\n    x == 1_000_000_000_000_000_000\n         ^~~~~~~~~~~~~~~~~~~~~~~~~",
            ),
            (
                "x == 'a\\d' and y == 'b'",
                "escape sequence",
                (1, 8, 10),
                "invalid escape sequence '\\\\d' (write '\\\\' for a backslash) at column 8\n    x == 'a\\d' and y == 'b'\n           ^~",
            ),
            (
                "x == 1.5in y",
                "invalid number",
                (1, 6, 10),
                "the number 1.5 must be followed by a space or an operator at column 6\n    x == 1.5in y\n         ^~~~",
            ),
        ],
    )
    def test_error_details(
        self, text: str, construct: str, span: tuple[int, int, int], shown: str
    ) -> None:
        """The construct, the line/column span and str() of each error are exactly these."""
        error = error_of(text)
        assert (error.construct, (error.line, error.column, error.end_column)) == (construct, span)
        assert str(error) == shown

    def test_largest_integers_are_accepted(self) -> None:
        """Integers of 18 digits, with or without underscores, are accepted in texts and trees."""
        Condition.parse("x == 999999999999999999")
        Condition.parse("x == 100_000_000_000_000_000")
        Condition.from_tree({"field": "qty", "op": "==", "value": 10**18 - 1})

    @pytest.mark.parametrize(
        ("value", "construct", "message"),
        [
            (10**18, "integer out of range", "integers have at most 18 digits"),
            (Decimal("Infinity"), "number out of range", "the number Infinity is not finite"),
        ],
    )
    def test_tree_number_limits(self, value: object, construct: str, message: str) -> None:
        """A tree value beyond the number limits is refused at $.value with its construct."""
        error = tree_error_of({"field": "qty", "op": "==", "value": value})
        assert (error.construct, error.problems) == (construct, (("$.value", message),))

    def test_unknown_key_is_clipped_in_the_construct(self) -> None:
        """A long unknown key is named in full in the path and clipped to 40 characters in the construct."""
        key = "bogus" + "y" * 50
        error = tree_error_of({"field": "qty", "op": "==", "value": 1, key: 1})
        assert error.construct == "key " + repr(key)[:40] + "…"
        assert error.problems == ((f"$.{key}", "unknown key"),)


class TestExactTreeErrors:
    """Constructs, paths and messages of tree errors and the text forms, pinned exactly."""

    @pytest.mark.parametrize(
        ("tree", "construct", "problems"),
        [
            ({"not": 1}, "node", (("$.not", "expected a condition object, got an integer"),)),
            ("x", "node", (("$", "expected a condition object, got a string"),)),
            (
                {"field": "qty", "op": "in", "value": 1},
                "'in' without a list",
                (("$.value", "'in' needs a list of values, got a number"),),
            ),
            (
                {"field": "qty", "op": "in", "value": None},
                "'in' without a list",
                (("$.value", "'in' needs a list of values, got null"),),
            ),
            (
                {"field": "sku", "op": "startswith", "value": None},
                "'startswith' without a text",
                (("$.value", "'startswith' needs a text, got null"),),
            ),
            (
                {"field": "qty", "op": "==", "value": float("nan")},
                "number out of range",
                (("$.value", "expected a finite number, got nan"),),
            ),
            (
                {"field": "qty", "op": "==", "value": 1, 3: 1},
                "key 3",
                (('$["3"]', "unknown key"),),
            ),
        ],
    )
    def test_tree_error(self, tree: Any, construct: str, problems: tuple[Any, ...]) -> None:
        """Each broken tree names its construct and every problem with its path."""
        error = tree_error_of(tree)
        assert (error.construct, error.problems) == (construct, problems)

    def test_error_built_with_a_path_lists_it_as_its_problem(self) -> None:
        """A ConditionError given a path and no problems has that one problem."""
        error = ConditionError("m", construct="c", path="$.x")
        assert error.problems == (("$.x", "m"),)
        assert str(error) == "m @ $.x"

    def test_error_without_text_and_line_is_its_message(self) -> None:
        """A ConditionError with a column but no text or line prints its message alone."""
        assert str(ConditionError("m", construct="c", column=3)) == "m"
        assert str(ConditionError("m", construct="c", line=1, column=3)) == "m"

    def test_empty_any_is_written_false(self) -> None:
        """The canonical text of an empty "any" is False."""
        assert Condition.from_tree({"any": []}).to_text() == "False"

    def test_tree_condition_dumps_as_a_tree(self) -> None:
        """A condition built from a tree is dumped as the tree; one built from text as the text."""
        tree = {"field": "qty", "op": ">", "value": 0}
        assert dump_condition(Condition(tree)) == tree
        assert dump_condition(Condition("qty > 0")) == "qty > 0"

    @pytest.mark.parametrize("newline", ["\r\n", "\r"])
    def test_line_endings_are_normalized_in_the_error_text(self, newline: str) -> None:
        """A text's CR LF and CR line endings become LF in the error's text."""
        error = error_of(f"qty > 0 and ({newline}  sku.x == 1)")
        assert (error.text, error.line) == ("qty > 0 and (\n  sku.x == 1)", 2)
