"""The fast JSON paths agree with the reference ones: loading, writing and decoding.

``structure`` first tries a loader generated for the class (``_fastload``), which only ever
returns a model for a plainly valid document and otherwise hands the document to the detailed
path. ``to_json`` writes the text ``json.dumps(unstructure(obj))`` would. ``decode_json`` decodes
with orjson when it is installed and gives what the standard library gives.
"""

from __future__ import annotations

import enum
import json
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policy_engine
from policy_engine import (
    Configuration,
    Image,
    PolicyConfigError,
    Product,
    ProductFamily,
    SourceItem,
    Stock,
    _jsonio,
    evaluate_many,
    from_json,
    structure,
    to_json,
    unstructure,
)
from policy_engine import testing as pt
from policy_engine._fastload import Slow, fast_loader
from policy_engine._limits import MAX_STRING_LENGTH
from policy_engine._models import _texts
from policy_engine._serialization import Invalid, structure_detailed
from policy_engine._steps import Step
from policy_engine._validation import Checked, check, is_str, text
from policy_engine.testing import json_values, mutated_documents

ON = date(2026, 6, 1)

MODELS: tuple[type[Any], ...] = tuple(
    obj
    for name in policy_engine.__all__
    if isinstance(obj := getattr(policy_engine, name), type) and attrs.has(obj)
)
FIELD_NAMES = sorted({field.name for cls in MODELS for field in attrs.fields(cls) if field.init})
KEYS = st.sampled_from(FIELD_NAMES) | st.text(max_size=8)


def relaxed(examples: int) -> settings:
    """Settings for a property over large documents: ``examples`` runs, no deadline."""
    return settings(
        max_examples=examples,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        deadline=None,
    )


def loaded(load: Any, data: Any, cls: type[Any]) -> tuple[str, Any]:
    """What a loader makes of a document: the model (its repr, which shows every value's type
    and digits) or the error messages, in order."""
    try:
        model = load(data, cls)
    except PolicyConfigError as error:
        return ("error", error.errors)
    return ("model", repr(model))


def assert_same(data: Any, cls: type[Any]) -> None:
    assert loaded(structure, data, cls) == loaded(structure_detailed, data, cls)


def written(obj: Any) -> str:
    return json.dumps(unstructure(obj), ensure_ascii=False, separators=(",", ":"))


def demo_product(**changes: Any) -> dict[str, Any]:
    """The demo store's product shape: 8 images and MSI sources."""
    document: dict[str, Any] = {
        "sku": "MH01-S-Gray",
        "name": "Chaz Kangeroo Hoodie",
        "price": "52.00",
        "special_price": 47.5,
        "special_from": "2026-01-01",
        "attributes": {"color": "Gray", "size": "S", "msrp": "59.00", "tags": ["a", "b"]},
        "categories": ["Men/Tops/Hoodies & Sweatshirts"],
        "images": [
            {"file": f"/m/h/mh01-gray_{n}.jpg", "position": n, "roles": ["image"] if n == 1 else []}
            for n in range(8)
        ],
        "stock": {
            "qty": 100,
            "sources": [{"code": "default", "qty": 100}, {"code": "eu", "qty": "12.7"}],
            "reserved": -2,
        },
    }
    document.update(changes)
    return document


class Color(enum.IntEnum):
    RED = 1


@attrs.frozen
class Odd:
    """A class with field types the generated loader hands to cattrs."""

    color: Color = Color.RED
    when: date | None = None
    pair: tuple[int, int] = (0, 0)


class Kind(enum.Enum):
    A = "a"


@attrs.frozen
class Loose:
    """A class whose fields may hold other types than declared (no checks)."""

    text: str = "x"
    count: int = 0
    flag: bool = False
    amount: Decimal = Decimal(0)
    day: date = date(2026, 1, 1)
    kind: Kind = Kind.A
    steps: tuple[Step, ...] = ()
    roles: frozenset[str] = frozenset()
    image: Image | None = None
    either: str | int = 0
    anything: Any = None


@attrs.frozen(kw_only=True)
class Node(Checked):
    """A class that holds itself."""

    name: str = attrs.field(metadata=check(text(20, required=True)))
    children: tuple[Node, ...] = ()


def _fussy(value: Any) -> str | None:
    """A check that cannot judge its own class's default (the generator gives up on it)."""
    if value == "boom":
        msg = "cannot judge"
        raise TypeError(msg)
    return None


@attrs.frozen(kw_only=True)
class Fussy(Checked):
    word: str = attrs.field(default="boom", metadata=check(_fussy))


@attrs.frozen(kw_only=True)
class HoldsFussy(Checked):
    one: Fussy | None = None
    many: tuple[Fussy, ...] = ()


@attrs.frozen(kw_only=True)
class Defaults(Checked):
    """Defaults the generated loader cannot take as they are."""

    title: str = attrs.field(default="", metadata=check(text(10, required=True)))
    copy: str = attrs.field(
        default=attrs.Factory(lambda self: self.title, takes_self=True), metadata=check(is_str)
    )
    tags: list[str] = attrs.field(factory=list)
    note: str | None = attrs.field(default="n", metadata=check(text(MAX_STRING_LENGTH)))
    codes: tuple[str, ...] | None = attrs.field(default=(), metadata=check(_texts(5, 3)))


# ------------------------------------------------------------------------------------ loading


class TestFastLoader:
    """Worked examples of the generated loaders."""

    def test_valid_product_is_loaded_by_the_generated_loader(self) -> None:
        load = fast_loader(Product)
        assert load is not None
        document = demo_product()
        product = load(document)
        assert repr(product) == repr(structure_detailed(document, Product))
        assert product.price == Decimal("52.00")
        assert product.special_price == Decimal("47.5")
        assert product.stock is not None
        assert [source.qty for source in product.stock.sources] == [100, 12]

    @pytest.mark.parametrize(
        "changes",
        [
            {"sku": " "},
            {"price": "12,50"},
            {"price": "1" * 13},
            {"typo": 1},
            {"images": [{"file": ""}]},
            {"stock": {"qty": True}},
            {"attributes": {"": 1}},
            {"type": "nope"},
            {"special_from": "2026-13-01"},
        ],
    )
    def test_invalid_documents_leave_the_fast_path(self, changes: dict[str, Any]) -> None:
        """The generated loader gives up; structure reports what the detailed path reports."""
        load = fast_loader(Product)
        assert load is not None
        document = demo_product(**changes)
        with pytest.raises((Slow, Invalid, PolicyConfigError, ValueError)):
            load(document)
        with pytest.raises(PolicyConfigError) as fast:
            structure(document, Product)
        with pytest.raises(PolicyConfigError) as detailed:
            structure_detailed(document, Product)
        assert fast.value.errors == detailed.value.errors

    def test_mapping_that_is_not_a_dict_takes_the_detailed_path(self) -> None:
        document: policy_engine.FrozenDict[str, Any] = policy_engine.FrozenDict(demo_product())
        assert structure(document, Product) == structure_detailed(dict(document), Product)

    def test_types_without_a_generated_loader(self) -> None:
        assert fast_loader(int) is None
        assert structure(["a", "b"], tuple[str, ...]) == ("a", "b")

    def test_classes_built_by_their_constructor(self) -> None:
        """A configuration (policies with derived fields) is loaded through its constructors."""
        config = policy_engine.default_config("aliexpress")
        document = unstructure(config)
        assert fast_loader(Configuration) is not None
        assert structure(document, Configuration) == config

    def test_class_the_generator_cannot_handle(self) -> None:
        """A field type the generator does not know is loaded by its cattrs hook."""
        assert structure({"when": "2026-01-02"}, Odd) == Odd(when=date(2026, 1, 2))
        assert fast_loader(Odd) is not None

    def test_a_class_that_holds_itself(self) -> None:
        document = {"name": "root", "children": [{"name": "leaf"}]}
        assert fast_loader(Node) is not None
        assert structure(document, Node) == Node(name="root", children=(Node(name="leaf"),))
        assert to_json(structure(document, Node)) == written(structure(document, Node))

    def test_classes_the_generator_gives_up_on(self) -> None:
        """A check that raises on a default: no generated loader, here and in the classes
        holding it; structure still loads them the detailed way."""
        assert fast_loader(Fussy) is None
        assert fast_loader(HoldsFussy) is None
        assert structure({"one": {"word": "a"}, "many": [{"word": "b"}]}, HoldsFussy) == HoldsFussy(
            one=Fussy(word="a"), many=(Fussy(word="b"),)
        )

    @pytest.mark.parametrize(
        "document",
        [
            {"title": "t"},
            {"title": "t", "copy": "c", "tags": ["x"], "note": None, "codes": ["ab", "c"]},
            {"title": "t", "note": "x", "codes": []},
            {},
            {"title": "t", "codes": ["toolong"]},
            {"title": "t", "codes": ["a", "b", "c", "d"]},
        ],
    )
    def test_defaults_and_optional_texts(self, document: dict[str, Any]) -> None:
        """Defaults that fail their checks, depend on the object, or are mutable; texts that
        may be null: the same as the detailed path."""
        assert fast_loader(Defaults) is not None
        assert_same(document, Defaults)

    def test_results_load_fast_too(self) -> None:
        """Outcomes (steps, optional results, enumerations) round-trip through the fast path."""
        config = policy_engine.default_config("aliexpress")
        product = structure(demo_product(), Product)
        outcome = policy_engine.evaluate_listing(config, product, "aliexpress", on=ON)
        document = unstructure(outcome)
        assert structure(document, type(outcome)) == outcome
        assert fast_loader(type(outcome)) is not None


class TestSameAsDetailed:
    """The fast path and the detailed path agree on every document."""

    @relaxed(25)
    @given(json_values(keys=KEYS))
    def test_any_json_value_as_every_model(self, data: Any) -> None:
        """For any JSON value and any model, structure returns the model the detailed path
        returns (same repr) or raises PolicyConfigError with the same messages."""
        for cls in MODELS:
            assert_same(data, cls)

    @relaxed(40)
    @given(mutated_documents(pt.products(), keys=KEYS))
    def test_broken_products(self, document: Any) -> None:
        """A product document with fields broken: the same model or the same messages."""
        assert_same(document, Product)

    @relaxed(30)
    @given(mutated_documents(pt.stocks(), keys=KEYS) | mutated_documents(pt.images(), keys=KEYS))
    def test_broken_stocks_and_images(self, document: Any) -> None:
        """A stock record or image with fields broken: the same model or the same messages."""
        for cls in (Stock, Image, SourceItem):
            assert_same(document, cls)

    @relaxed(10)
    @given(mutated_documents(pt.families(), keys=KEYS))
    def test_broken_families(self, document: Any) -> None:
        """A product family with fields broken: the same model or the same messages."""
        assert_same(document, ProductFamily)

    @relaxed(10)
    @given(mutated_documents(pt.configurations(), keys=KEYS))
    def test_broken_configurations(self, document: Any) -> None:
        """A configuration with fields broken: the same model or the same messages."""
        assert_same(document, Configuration)

    @relaxed(30)
    @given(pt.products())
    def test_valid_products_never_leave_the_fast_path(self, product: Product) -> None:
        """Every valid product document is loaded by the generated loader itself."""
        load = fast_loader(Product)
        assert load is not None
        document = unstructure(product)
        assert repr(load(document)) == repr(structure_detailed(document, Product))


# ------------------------------------------------------------------------------------ writing


class TestToJson:
    """to_json writes json.dumps(unstructure(obj), ensure_ascii=False, separators=(",", ":"))."""

    @relaxed(30)
    @given(pt.products())
    def test_products(self, product: Product) -> None:
        """Any product is written as unstructure and json.dumps write it."""
        assert to_json(product) == written(product)

    @relaxed(12)
    @given(pt.configurations(), st.lists(pt.products(), max_size=3))
    def test_outcomes(self, config: Configuration, products: list[Product]) -> None:
        """Any listing outcome is written as unstructure and json.dumps write it."""
        for outcome in evaluate_many(config, products, on=ON):
            assert to_json(outcome) == written(outcome)

    @relaxed(10)
    @given(pt.configurations(), pt.families())
    def test_family_outcomes(self, config: Configuration, family: ProductFamily) -> None:
        """Any family outcome is written as unstructure and json.dumps write it."""
        for outcome in evaluate_many(config, [family], on=ON):
            assert to_json(outcome) == written(outcome)

    def test_optional_fields_are_left_out_while_none(self) -> None:
        """A stamp (an optional field) is written only when present, as unstructure does."""
        config = policy_engine.default_config("aliexpress")
        product = structure(demo_product(), Product)
        outcome = policy_engine.evaluate_listing(config, product, "aliexpress", on=ON)
        assert '"stamp"' not in to_json(outcome)
        stamp = policy_engine.stamp_for(config, decision_id="d-1")
        with_stamp = policy_engine.stamped(outcome, stamp)
        assert to_json(with_stamp) == written(with_stamp)
        assert '"decision_id":"d-1"' in to_json(with_stamp)

    def test_shared_results_are_written_once_and_reused(self) -> None:
        config = policy_engine.default_config("aliexpress")
        product = structure(demo_product(), Product)
        first, second = (
            policy_engine.evaluate_listing(config, product, "aliexpress", on=ON),
            policy_engine.evaluate_listing(config, product, "aliexpress", on=ON),
        )
        assert to_json(first) == to_json(first) == written(first)
        assert to_json(second) == written(second)

    def test_values_that_are_not_models(self) -> None:
        assert to_json({"a": Decimal("1.5")}) == '{"a":"1.5"}'
        assert to_json(Step(("template_matched", "t"))) == written(Step(("template_matched", "t")))

    def test_unexpected_value_types_are_written_as_unstructure_writes_them(self) -> None:
        """A field holding another type than declared still gives the reference text."""
        normal = Loose(steps=(Step(("a", 1, None, "x")),), roles=frozenset({"b", "a"}))
        odd = Loose(
            text=1,  # type: ignore[arg-type]
            count=True,
            flag=1,  # type: ignore[arg-type]
            amount="1",  # type: ignore[arg-type]
            day="2026",  # type: ignore[arg-type]
            kind="a",  # type: ignore[arg-type]
            steps=["s"],  # type: ignore[arg-type]
            roles=frozenset({1}),  # type: ignore[arg-type]
            image="i",  # type: ignore[arg-type]
            either="e",
            anything={"k": [1]},
        )
        for obj in (normal, odd):
            assert to_json(obj) == written(obj)


# ------------------------------------------------------------------------------------ decoding

#: JSON texts the decoders may read differently: duplicates, NaN, huge integers, escapes.
ODD_TEXTS = st.sampled_from(
    [
        '{"a": 1, "a": 2}',
        '{"a": {"b": 1, "b": 1}}',
        '{"a:": 1, "b": "x:y"}',
        '{"a": "\\u003a", "a": 1}',
        '{"k": NaN, "j": -Infinity}',
        "[" + "1" * 30 + "]",
        '"\\ud800"',
        "[1.5e400, -0.0, 1E-400]",
        '{"a": 1}  x',
        "[" * 300 + "]" * 300,
        "{}",
        "",
        '{"é": "ü"}',
    ]
)


def decoded(decode: Any, text: str | bytes) -> tuple[str, str]:
    try:
        return ("value", repr(decode(text)))
    except RecursionError:
        return ("error", "RecursionError")
    except ValueError as error:
        return ("error", str(error))


def reference(text: str | bytes) -> Any:
    return _jsonio._STRICT.decode(text.decode("utf-8") if isinstance(text, bytes) else text)


class TestDecodeJson:
    """decode_json gives what the standard library's strict decoder gives."""

    @relaxed(60)
    @given(
        st.one_of(
            ODD_TEXTS,
            json_values(keys=KEYS, deep=False).map(json.dumps),
            json_values(keys=KEYS, deep=False).map(lambda v: json.dumps(v, ensure_ascii=False)),
        ),
        st.booleans(),
    )
    def test_same_as_the_standard_library(self, text: str, as_bytes: bool) -> None:
        """For any text, decode_json returns the standard library's value (same repr) or raises
        ValueError with the same message."""
        data: str | bytes = text.encode("utf-8", "surrogatepass") if as_bytes else text
        if as_bytes and _has_surrogate(text):
            return  # not UTF-8 bytes: both refuse, with different codec messages
        assert decoded(_jsonio.decode_json, data) == decoded(reference, data)

    def test_duplicate_keys_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="duplicate keys 'a'"):
            _jsonio.decode_json(b'{"a": 1, "a": 2}')

    def test_orjson_is_used_when_installed(self) -> None:
        pytest.importorskip("orjson")
        assert _jsonio.fast_decode(b'{"a": [1, 2.5, "x:y"]}') == {"a": [1, 2.5, "x:y"]}
        assert _jsonio.fast_decode(b'{"a": 1, "a": 2}') is _jsonio.NOT_DECODED
        assert _jsonio.fast_decode(b'"\\u0041"') is _jsonio.NOT_DECODED
        assert _jsonio.fast_decode(b"[NaN]") is _jsonio.NOT_DECODED


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


class TestFromJson:
    """from_json: decode and load in one call."""

    def test_product(self) -> None:
        text = json.dumps(demo_product())
        assert from_json(text, Product) == structure(demo_product(), Product)
        assert from_json(text.encode(), Product) == structure(demo_product(), Product)

    def test_invalid_json(self) -> None:
        with pytest.raises(PolicyConfigError) as error:
            from_json('{"sku": "A", "sku": "B"}', Product)
        assert error.value.errors == ["invalid JSON: duplicate keys 'sku' in an object @ $"]
        with pytest.raises(PolicyConfigError) as error:
            from_json("{", Product)
        assert error.value.errors[0].startswith("invalid JSON: Expecting property name")

    def test_nested_too_deeply(self) -> None:
        with pytest.raises(PolicyConfigError) as error:
            from_json("[" * 100_000 + "]" * 100_000, Product)
        assert error.value.errors == ["invalid JSON: nested too deeply @ $"]

    def test_invalid_product(self) -> None:
        with pytest.raises(PolicyConfigError) as error:
            from_json('{"sku": ""}', Product)
        assert error.value.errors == ["must not be empty @ $.sku"]
