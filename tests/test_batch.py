"""Batch evaluation: evaluate_many, serial and on a process pool (spec sections 13 and 14)."""

from __future__ import annotations

import gc
import itertools
import pickle
import weakref
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policy_engine._listing
from policy_engine import (
    Account,
    Configuration,
    Image,
    ImagePolicy,
    InventoryPolicy,
    ListingOutcome,
    ListingTemplate,
    PolicyConfigError,
    PricingPolicy,
    Product,
    SourceItem,
    Stock,
    SyncPolicy,
    compute_quantity,
    evaluate_listing,
    evaluate_many,
    evaluate_partitions,
    structure,
    unstructure,
)
from policy_engine._batch import dumps, pool_context, run_chunk, run_partition
from policy_engine._listing import evaluator
from policy_engine.testing import configurations, products

ON = date(2026, 11, 23)


def config_with(**changes: Any) -> Configuration:
    """Two accounts, a sale template for one of them, a template for bags and a catch-all."""
    fields: dict[str, Any] = {
        "sync_policies": {"sync": SyncPolicy(title="Sync")},
        "inventory_policies": {
            "stock": InventoryPolicy(title="Stock", buffer=1),
            "capped": InventoryPolicy(title="Capped", max_quantity=3),
        },
        "pricing_policies": {
            "regular": PricingPolicy(title="Regular"),
            "eur": PricingPolicy(title="EUR", currency="EUR", conversion_rate=Decimal("0.9")),
        },
        "image_policies": {"images": ImagePolicy(title="Images", gallery_limit=2)},
        "templates": (
            ListingTemplate(
                id="sale",
                title="Sale",
                condition="'Sale' in categories",
                inventory_policy="capped",
                pricing_policy="eur",
                image_policy="images",
                accounts=("otto",),
            ),
            ListingTemplate(
                id="bags",
                title="Bags",
                condition="under(categories, 'Gear/Bags')",
                inventory_policy="capped",
                pricing_policy="regular",
                image_policy="images",
            ),
            ListingTemplate(
                id="rest",
                title="Everything else",
                condition="price > 0",
                inventory_policy="stock",
                pricing_policy="regular",
                image_policy="images",
            ),
        ),
        "accounts": (
            Account(id="ali", channel="aliexpress", sync_policy="sync"),
            Account(id="otto", channel="otto", sync_policy="sync"),
        ),
    }
    fields.update(changes)
    return Configuration(**fields)


CONFIG = config_with()
BAG = Product(
    sku="BAG-1",
    price=Decimal("40.00"),
    categories=("Gear/Bags",),
    stock=Stock(qty=9),
    images=(Image(file="/b.jpg"), Image(file="/a.jpg", position=-1)),
)
SALE = Product(sku="SALE-1", price=Decimal("10.00"), categories=("Sale",), stock=Stock(qty=2))
NO_PRICE = Product(sku="NO-PRICE", categories=("Gear/Bags",))
UNMATCHED = Product(sku="FREE", price=Decimal(0))
PRODUCTS = [BAG, SALE, NO_PRICE, UNMATCHED]
#: The problems of ``{"sku": "BAD-1", "price": "x", "enabled": "yes"}``, all at once.
MESSAGES = [
    "expected a boolean, got a string @ $.enabled",
    "expected money (a decimal number), got the string 'x' @ $.price",
]


def expected(
    config: Configuration, items: list[Product], accounts: tuple[str, ...] | None = None
) -> list[ListingOutcome]:
    """What evaluate_listing gives, product by product and account by account."""
    ids = accounts if accounts is not None else tuple(a.id for a in config.accounts)
    return [evaluate_listing(config, p, a, on=ON) for p in items for a in ids]


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    """One pool of two workers shared by the tests of this module (starting one is slow)."""
    with ProcessPoolExecutor(max_workers=2, mp_context=pool_context()) as executor:
        yield executor


class TestSerial:
    """evaluate_many in this process."""

    def test_equals_evaluate_listing(self) -> None:
        """One outcome per product and account, in input order, equal to evaluate_listing's."""
        outcomes = list(evaluate_many(CONFIG, PRODUCTS, on=ON))
        assert outcomes == expected(CONFIG, PRODUCTS)
        assert [(o.sku, o.account, o.template) for o in outcomes] == [
            ("BAG-1", "ali", "bags"),
            ("BAG-1", "otto", "bags"),
            ("SALE-1", "ali", "rest"),
            ("SALE-1", "otto", "sale"),
            ("NO-PRICE", "ali", "bags"),
            ("NO-PRICE", "otto", "bags"),
            ("FREE", "ali", None),
            ("FREE", "otto", None),
        ]

    def test_sale_template_serves_its_account_only(self) -> None:
        """A template scoped to one account prices that account's listing with its own policy."""
        ali, otto = evaluate_many(CONFIG, [SALE], on=ON)
        assert ali.price is not None
        assert otto.price is not None
        assert (ali.price.amount, ali.price.currency) == (Decimal("10.00"), "USD")
        assert (otto.price.amount, otto.price.currency) == (Decimal("9.00"), "EUR")
        assert otto.quantity is not None
        assert otto.quantity.quantity == 2

    def test_accounts_share_results(self) -> None:
        """Accounts whose listings match the same template share its results (computed once)."""
        ali, otto = evaluate_many(CONFIG, [BAG], on=ON)
        assert ali.quantity is otto.quantity
        assert ali.images is otto.images

    def test_price_error_is_carried(self) -> None:
        """A price that cannot be computed is an error of the outcome, not an exception."""
        (outcome,) = evaluate_many(CONFIG, [NO_PRICE], accounts="ali", on=ON)
        assert outcome.price is None
        assert [(e.what, e.code) for e in outcome.errors] == [("price", "missing_price")]
        assert outcome.quantity is not None
        assert outcome.images is not None

    def test_accounts_in_the_given_order(self) -> None:
        """``accounts`` chooses the accounts and their order; one id may be a plain string."""
        outcomes = list(evaluate_many(CONFIG, [BAG], accounts=["otto", "ali"], on=ON))
        assert [o.account for o in outcomes] == ["otto", "ali"]
        assert outcomes == expected(CONFIG, [BAG], ("otto", "ali"))
        assert [o.account for o in evaluate_many(CONFIG, [BAG], accounts="otto", on=ON)] == ["otto"]

    def test_unknown_account_raises_before_anything_runs(self) -> None:
        """An unknown account is a caller error, raised at the call, before any product is read."""

        def unread(product: Product) -> Product:
            raise AssertionError(product)  # pragma: no cover - must not run

        with pytest.raises(PolicyConfigError) as caught:
            evaluate_many(CONFIG, map(unread, PRODUCTS), accounts=["ali", "nope"])
        assert caught.value.errors == ["unknown account 'nope' (known: ali, otto) @ $.accounts"]

    def test_streams(self) -> None:
        """The input is read lazily: the first outcomes come from an endless input."""
        endless = (attrs.evolve(BAG, sku=f"BAG-{n}") for n in itertools.count())
        first = list(itertools.islice(evaluate_many(CONFIG, endless, on=ON), 5))
        assert [(o.sku, o.account) for o in first] == [
            ("BAG-0", "ali"),
            ("BAG-0", "otto"),
            ("BAG-1", "ali"),
            ("BAG-1", "otto"),
            ("BAG-2", "ali"),
        ]

    def test_nothing_in_nothing_out(self) -> None:
        """No products, or a configuration without accounts, give no outcomes."""
        assert list(evaluate_many(CONFIG, [], on=ON)) == []
        assert list(evaluate_many(config_with(accounts=(), templates=()), PRODUCTS)) == []
        assert list(evaluate_many(CONFIG, PRODUCTS, accounts=[])) == []

    def test_no_templates(self) -> None:
        """Without templates nothing is listed, with the no_matching_template reason."""
        config = config_with(templates=())
        outcomes = list(evaluate_many(config, [BAG], on=ON))
        assert [o.template for o in outcomes] == [None, None]
        assert [r.code for r in outcomes[0].reasons] == ["no_matching_template"]

    def test_transform(self) -> None:
        """``transform`` is applied to every outcome, in order."""
        skus = list(evaluate_many(CONFIG, PRODUCTS, on=ON, transform=lambda o: o.sku))
        assert skus == [p.sku for p in PRODUCTS for _ in range(2)]


class TestInputs:
    """JSON objects are loaded; what cannot be loaded or evaluated is carried, never raised."""

    def test_json_objects_are_loaded(self) -> None:
        """A JSON object gives the outcomes of the product it loads as."""
        data = [unstructure(p) for p in PRODUCTS]
        assert list(evaluate_many(CONFIG, data, on=ON)) == expected(CONFIG, PRODUCTS)

    def test_invalid_object(self) -> None:
        """An object that does not load gives an invalid_product outcome per account."""
        items: list[Any] = [{"sku": "BAD-1", "price": "x", "enabled": "yes"}, BAG]
        outcomes = list(evaluate_many(CONFIG, items, on=ON))
        assert len(outcomes) == 4
        bad = outcomes[0]
        assert (bad.sku, bad.account, bad.template) == ("BAD-1", "ali", None)
        assert (bad.quantity, bad.price, bad.images) == (None, None, None)
        assert [(e.what, e.code) for e in bad.errors] == [("product", "invalid_product")]
        assert bad.errors[0].message.splitlines() == MESSAGES
        assert [r.code for r in bad.reasons] == ["invalid_product"]
        assert outcomes[1] == attrs.evolve(bad, account="otto")
        assert outcomes[2:] == expected(CONFIG, [BAG])

    def test_items_without_sku_are_named_by_position(self) -> None:
        """An item without a usable SKU is reported as ``<item N>`` (N counted from 0)."""
        items: list[Any] = [BAG, {"sku": 7}, {"sku": "  "}, ["not", "an", "object"], None]
        outcomes = list(evaluate_many(CONFIG, items, accounts="ali", on=ON))
        assert [o.sku for o in outcomes] == [
            "BAG-1",
            "<item 1>",
            "<item 2>",
            "<item 3>",
            "<item 4>",
        ]
        assert [o.errors[0].message for o in outcomes[3:]] == [
            "expected a product or a JSON object, got a list @ $",
            "expected a product or a JSON object, got null @ $",
        ]

    def test_broken_object(self) -> None:
        """An object that fails when read is reported by its position, never raised."""

        class Broken(Mapping[str, Any]):
            def __getitem__(self, key: str) -> Any:
                raise RuntimeError("unreadable")

            def __iter__(self) -> Iterator[str]:
                return iter(["sku"])

            def __len__(self) -> int:
                return 1

        (outcome,) = evaluate_many(CONFIG, [Broken()], accounts="ali", on=ON)
        assert outcome.sku == "<item 0>"
        assert outcome.template is None
        error = outcome.errors[0]
        assert (error.what, error.code, error.message) == (
            "product",
            "evaluation_failed",
            "RuntimeError: unreadable",
        )

    def test_product_subclass(self) -> None:
        """A subclass of Product is evaluated like a product."""

        @attrs.frozen(kw_only=True)
        class Tagged(Product):
            tag: str = ""

        tagged = Tagged(sku="BAG-1", price=Decimal("40.00"), categories=("Gear/Bags",), tag="x")
        outcomes = list(evaluate_many(CONFIG, [tagged], on=ON))
        assert outcomes == expected(CONFIG, [tagged])

    def test_evaluation_failure_is_carried(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An unexpected failure for one product becomes its evaluation_failed outcomes."""
        real = compute_quantity

        def failing(stock: Stock | None, policy: InventoryPolicy) -> Any:
            if stock is not None and stock.qty == 2:
                raise ArithmeticError("boom")
            return real(stock, policy)

        monkeypatch.setattr("policy_engine._listing.compute_quantity", failing)
        outcomes = list(evaluate_many(CONFIG, [SALE, BAG], on=ON))
        assert [(o.sku, o.template) for o in outcomes[:2]] == [("SALE-1", None)] * 2
        error = outcomes[0].errors[0]
        assert (error.what, error.code, error.message) == (
            "product",
            "evaluation_failed",
            "ArithmeticError: boom",
        )
        assert [r.code for r in outcomes[0].reasons] == ["evaluation_failed"]
        assert [o.template for o in outcomes[2:]] == ["bags", "bags"]


class TestArguments:
    """The day and the arguments are checked when evaluate_many is called."""

    def test_today_by_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without ``on`` the day is today's date in UTC, read once."""
        window = attrs.evolve(
            SALE,
            special_price=Decimal("5.00"),
            special_from=date(2000, 1, 1),
            special_to=datetime.now(UTC).date(),
        )
        config = config_with(
            pricing_policies={
                "regular": PricingPolicy(title="Regular", use_special_price=True),
                "eur": PricingPolicy(title="EUR", currency="EUR"),
            }
        )
        (outcome,) = evaluate_many(config, [window], accounts="ali")
        assert outcome.price is not None
        assert outcome.price.amount == Decimal("5.00")

    def test_datetime_counts_as_its_date(self) -> None:
        """A datetime given as ``on`` counts as its date."""
        moment = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)
        assert list(evaluate_many(CONFIG, PRODUCTS, on=moment)) == expected(CONFIG, PRODUCTS)

    def test_bad_day(self) -> None:
        """An ``on`` that is not a date is a TypeError."""
        with pytest.raises(TypeError, match="'on' must be a date, got str"):
            evaluate_many(CONFIG, PRODUCTS, on="2026-01-01")  # type: ignore[call-overload]

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"workers": 0}, "workers must be an integer >= 1, got 0"),
            ({"workers": True}, "workers must be an integer >= 1, got True"),
            ({"chunk_size": 0}, "chunk_size must be an integer >= 1, got 0"),
            ({"chunk_size": 1.5}, "chunk_size must be an integer >= 1, got 1.5"),
        ],
    )
    def test_bad_numbers(self, options: dict[str, Any], message: str) -> None:
        """``workers`` and ``chunk_size`` are integers >= 1."""
        with pytest.raises(ValueError, match=message):
            evaluate_many(CONFIG, PRODUCTS, **options)

    def test_workers_and_executor(self, pool: ProcessPoolExecutor) -> None:
        """``workers`` and ``executor`` exclude each other."""
        with pytest.raises(ValueError, match="either workers or an executor"):
            evaluate_many(CONFIG, PRODUCTS, workers=2, executor=pool)

    def test_one_worker_is_this_process(self) -> None:
        """``workers=1`` evaluates in this process (the transform need not pickle)."""
        outcomes = evaluate_many(CONFIG, PRODUCTS, on=ON, workers=1, transform=lambda o: o)
        assert list(outcomes) == expected(CONFIG, PRODUCTS)

    def test_transform_must_pickle_for_workers(self, pool: ProcessPoolExecutor) -> None:
        """A transform that cannot travel to a worker is refused at the call."""
        with pytest.raises(TypeError, match="transform must be picklable"):
            evaluate_many(CONFIG, PRODUCTS, executor=pool, transform=lambda o: o)


class TestPool:
    """evaluate_many on worker processes gives the serial results, in order."""

    def test_own_pool(self) -> None:
        """``workers=2`` starts a pool for the batch; chunks come back in input order."""
        items = [attrs.evolve(p, sku=f"{p.sku}-{n}") for n in range(10) for p in PRODUCTS]
        outcomes = list(evaluate_many(CONFIG, items, on=ON, workers=2, chunk_size=3))
        assert outcomes == expected(CONFIG, items)

    def test_executor(self, pool: ProcessPoolExecutor) -> None:
        """A caller's executor runs the chunks and is left running."""
        data: list[Any] = [unstructure(p) for p in PRODUCTS] + [{"sku": 1}, "x"]
        serial = list(evaluate_many(CONFIG, data, on=ON))
        assert list(evaluate_many(CONFIG, data, on=ON, executor=pool, chunk_size=2)) == serial
        assert [o.sku for o in serial[-4:]] == ["<item 4>"] * 2 + ["<item 5>"] * 2
        assert pool.submit(sum, [1, 2]).result() == 3

    def test_transform_runs_in_the_workers(self, pool: ProcessPoolExecutor) -> None:
        """A picklable transform is applied where the outcome is computed."""
        dumped = list(evaluate_many(CONFIG, PRODUCTS, on=ON, executor=pool, transform=unstructure))
        assert dumped == [unstructure(o) for o in expected(CONFIG, PRODUCTS)]

    def test_item_that_does_not_pickle(self, pool: ProcessPoolExecutor) -> None:
        """A chunk holding an item that cannot travel is evaluated here, with the same results."""
        items: list[Any] = [BAG, {"sku": "ODD-1", "price": lambda: 1}, SALE, UNMATCHED]
        outcomes = list(evaluate_many(CONFIG, items, on=ON, executor=pool, chunk_size=2))
        assert outcomes == list(evaluate_many(CONFIG, items, on=ON))
        assert [o.sku for o in outcomes[2:4]] == ["ODD-1", "ODD-1"]
        assert outcomes[4:] == expected(CONFIG, [SALE, UNMATCHED])

    def test_stop_early(self, pool: ProcessPoolExecutor) -> None:
        """Stopping early over an endless input cancels what is still pending."""
        endless = (attrs.evolve(BAG, sku=f"BAG-{n}") for n in itertools.count())
        outcomes = evaluate_many(CONFIG, endless, on=ON, executor=pool, chunk_size=5)
        first = list(itertools.islice(outcomes, 3))
        outcomes.close()  # type: ignore[attr-defined]
        assert [o.sku for o in first] == ["BAG-0", "BAG-0", "BAG-1"]

    def test_stop_early_with_local_chunks(self, pool: ProcessPoolExecutor) -> None:
        """Stopping early also drops chunks that were to be evaluated here."""
        odd = ({"sku": f"ODD-{n}", "price": lambda: 1} for n in itertools.count())
        outcomes = evaluate_many(CONFIG, odd, on=ON, executor=pool, chunk_size=2)
        first = next(outcomes)
        outcomes.close()  # type: ignore[attr-defined]
        assert (first.sku, first.errors[0].code) == ("ODD-0", "invalid_product")

    def test_failing_input_after_some_items(self, pool: ProcessPoolExecutor) -> None:
        """When the input fails, the outcomes of the items read before come first, as in a
        serial run, then the error."""

        def failing() -> Iterator[Product]:
            yield from PRODUCTS[:3]
            msg = "the feed broke"
            raise OSError(msg)

        runs: list[dict[str, Any]] = [
            {},
            {"executor": pool, "chunk_size": 2},
            {"executor": pool, "chunk_size": 3},
        ]
        for options in runs:
            seen: list[ListingOutcome] = []
            with pytest.raises(OSError, match="the feed broke"):
                seen.extend(evaluate_many(CONFIG, failing(), on=ON, **options))
            assert seen == expected(CONFIG, PRODUCTS[:3])

    def test_worker_keeps_its_setup(self) -> None:
        """A worker decodes the setup once and reuses it; it refuses a chunk it cannot decode."""
        setup = pickle.dumps((CONFIG, ("ali",), ON, None))
        first = run_chunk(setup, dumps((0, [BAG])))
        again = run_chunk(setup, dumps((1, [SALE])))
        assert first is not None
        assert again is not None
        assert pickle.loads(first) + pickle.loads(again) == expected(CONFIG, [BAG, SALE], ("ali",))
        assert run_chunk(setup, b"not a pickle") is None


def load_part(number: int) -> list[Product]:
    """Partition ``number``: the sample products under SKUs of their own (a worker's ``load``)."""
    if number < 0:
        msg = f"no partition {number}"
        raise LookupError(msg)
    return [attrs.evolve(p, sku=f"{p.sku}-{number}") for p in PRODUCTS]


def summary(outcomes: Iterator[ListingOutcome]) -> tuple[int, int, list[str]]:
    """A partition's summary: listings, total quantity, and the SKUs with errors (``consume``)."""
    listings = quantity = 0
    failed = []
    for outcome in outcomes:
        listings += 1
        quantity += outcome.quantity.quantity if outcome.quantity else 0
        if outcome.errors:
            failed.append(outcome.sku)
    return listings, quantity, failed


class TestPartitions:
    """evaluate_partitions: partitions read and summed up where they are evaluated."""

    def test_partitions_of_products(self) -> None:
        """Without load and consume, each partition gives the list of its outcomes."""
        results = list(evaluate_partitions(CONFIG, [[BAG, SALE], [], [NO_PRICE]], on=ON))
        assert results == [expected(CONFIG, [BAG, SALE]), [], expected(CONFIG, [NO_PRICE])]

    def test_items_named_by_partition(self) -> None:
        """An item without a usable SKU is named by its position in its partition."""
        (first, second) = evaluate_partitions(CONFIG, [[BAG], [SALE, {"x": 1}]], accounts="ali")
        assert [o.sku for o in first] == ["BAG-1"]
        assert [(o.sku, o.errors[0].code if o.errors else None) for o in second] == [
            ("SALE-1", None),
            ("<item 1 of partition 1>", "invalid_product"),
        ]

    def test_load_and_consume_here(self) -> None:
        """``load`` makes a partition's products and ``consume`` sums up its outcomes."""
        results = list(evaluate_partitions(CONFIG, range(2), load=load_part, consume=summary))
        assert results == [(8, 9, ["NO-PRICE-0"] * 2), (8, 9, ["NO-PRICE-1"] * 2)]

    def test_equals_evaluate_many(self) -> None:
        """A partition's outcomes are exactly what evaluate_many gives for its products."""
        (outcomes,) = evaluate_partitions(CONFIG, [3], load=load_part, accounts=["otto"], on=ON)
        assert outcomes == list(evaluate_many(CONFIG, load_part(3), accounts=["otto"], on=ON))

    def test_workers(self) -> None:
        """``workers=2`` runs the partitions on a pool of its own, results in partition order."""
        pooled = evaluate_partitions(CONFIG, range(6), load=load_part, consume=summary, workers=2)
        assert list(pooled) == list(
            evaluate_partitions(CONFIG, range(6), load=load_part, consume=summary)
        )

    def test_executor_lists(self, pool: ProcessPoolExecutor) -> None:
        """On a caller's executor, partitions of products come back as their outcome lists."""
        parts = [[BAG, unstructure(SALE)], [{"sku": 1}], [NO_PRICE, UNMATCHED]]
        serial = list(evaluate_partitions(CONFIG, parts, on=ON))
        assert list(evaluate_partitions(CONFIG, parts, on=ON, executor=pool)) == serial
        assert serial[1][0].sku == "<item 0 of partition 1>"

    def test_partition_that_does_not_pickle(self, pool: ProcessPoolExecutor) -> None:
        """A partition that cannot travel is evaluated here, with the same results."""
        parts: list[list[Any]] = [[BAG], [{"sku": "ODD-1", "price": lambda: 1}], [SALE]]
        results = list(evaluate_partitions(CONFIG, parts, on=ON, executor=pool))
        assert results == list(evaluate_partitions(CONFIG, parts, on=ON))
        assert [o.errors[0].code for o in results[1]] == ["invalid_product"] * 2

    @pytest.mark.parametrize("where", ["here", "pool"])
    def test_load_failure_names_the_partition(self, pool: ProcessPoolExecutor, where: str) -> None:
        """What ``load`` raises reaches the caller, noted with the partition; earlier ones came."""
        executor = pool if where == "pool" else None
        results = evaluate_partitions(
            CONFIG, [0, -1, 2], load=load_part, consume=summary, executor=executor
        )
        assert next(results)[0] == 8
        with pytest.raises(LookupError, match="no partition -1") as raised:
            next(results)
        assert raised.value.__notes__ == ["while evaluating partition 1"]

    def test_consume_failure_names_the_partition(self) -> None:
        """What ``consume`` raises is noted with the partition too."""
        with pytest.raises(TypeError) as raised:
            list(evaluate_partitions(CONFIG, [[BAG]], consume=len))  # type: ignore[arg-type]
        assert raised.value.__notes__ == ["while evaluating partition 0"]

    def test_stop_early(self, pool: ProcessPoolExecutor) -> None:
        """Stopping early over endless partitions cancels what is still pending."""
        results = evaluate_partitions(
            CONFIG, itertools.count(), load=load_part, consume=summary, executor=pool
        )
        assert next(results)[0] == 8
        results.close()  # type: ignore[attr-defined]

    def test_arguments(self, pool: ProcessPoolExecutor) -> None:
        """Pool arguments, accounts and picklability are checked at the call."""
        with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
            evaluate_partitions(CONFIG, [], workers=0)
        with pytest.raises(ValueError, match="either workers or an executor"):
            evaluate_partitions(CONFIG, [], workers=2, executor=pool)
        with pytest.raises(PolicyConfigError, match="nowhere"):
            evaluate_partitions(CONFIG, [], accounts="nowhere")
        with pytest.raises(TypeError, match="load and consume must be picklable"):
            evaluate_partitions(CONFIG, [], executor=pool, consume=lambda o: 1)

    def test_one_worker_is_this_process(self) -> None:
        """``workers=1`` runs here: load and consume need not pickle."""
        results = evaluate_partitions(CONFIG, [[BAG]], workers=1, on=ON, consume=list)
        assert list(results) == [expected(CONFIG, [BAG])]

    def test_worker_keeps_its_setup(self) -> None:
        """A worker decodes the setup once and reuses it; it refuses a partition it cannot decode."""
        setup = pickle.dumps((CONFIG, ("ali",), ON, load_part, None))
        first = run_partition(setup, dumps((0, 0)))
        again = run_partition(setup, dumps((1, 1)))
        assert first is not None
        assert again is not None
        assert pickle.loads(first) == expected(CONFIG, load_part(0), ("ali",))
        assert pickle.loads(again) == expected(CONFIG, load_part(1), ("ali",))
        assert run_partition(setup, b"not a pickle") is None
        summed = pickle.dumps((CONFIG, ("ali",), ON, load_part, summary))
        result = run_partition(summed, dumps((0, 0)))
        assert result is not None
        assert pickle.loads(result) == (4, 4, ["NO-PRICE-0"])


class TestCodec:
    """Chunks travel as compact pickles that rebuild equal models."""

    def test_round_trip(self) -> None:
        """Products (stock, sources, images) and outcomes come back equal."""
        product = attrs.evolve(
            BAG,
            stock=Stock(qty=3, sources=(SourceItem(code="eu", qty=2),)),
            attributes={"color": "Red", "sizes": ("S", "M")},
        )
        outcomes = expected(CONFIG, PRODUCTS)
        assert pickle.loads(dumps([product, outcomes])) == [product, outcomes]

    def test_smaller_than_pickle(self) -> None:
        """The compact form is smaller than the default pickle of the same outcomes."""
        outcomes = expected(CONFIG, PRODUCTS * 10)
        assert len(dumps(outcomes)) < len(pickle.dumps(outcomes, pickle.HIGHEST_PROTOCOL))

    def test_garbage_collector_left_as_found(self) -> None:
        """Encoding pauses the garbage collector and leaves it as it found it."""
        gc.disable()
        try:
            assert pickle.loads(dumps([BAG])) == [BAG]
            assert not gc.isenabled()
        finally:
            gc.enable()
        assert pickle.loads(dumps([BAG])) == [BAG]
        assert gc.isenabled()

    def test_pauses_nest(self) -> None:
        """Nested (or concurrent) pauses re-enable the collector only when the last one ends."""
        from policy_engine._batch import gc_paused

        with gc_paused():
            with gc_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled()

    @settings(max_examples=50)
    @given(products())
    def test_any_product(self, product: Product) -> None:
        """Any product survives the trip."""
        assert pickle.loads(dumps(product)) == product


class TestEvaluatorCache:
    """The per-configuration work is done once and forgotten with the configuration."""

    def test_cached_by_identity(self) -> None:
        """The same configuration object gets the same evaluator; an equal copy its own."""
        config = config_with()
        assert evaluator(config) is evaluator(config)
        copy = structure(unstructure(config), Configuration)
        assert copy == config
        assert evaluator(copy) is not evaluator(config)

    def test_forgotten_with_the_configuration(self) -> None:
        """The cache does not keep a configuration alive."""
        config = config_with()
        key = id(config)
        evaluator(config)
        assert key in policy_engine._listing._EVALUATORS
        del config
        assert key not in policy_engine._listing._EVALUATORS

    def test_stale_callback_leaves_a_newer_entry(self) -> None:
        """A dead configuration's callback never drops the entry of a newer one."""
        config, other = config_with(), config_with()
        evaluator(config)
        policy_engine._listing._forget(id(config), weakref.ref(other))
        assert id(config) in policy_engine._listing._EVALUATORS


SMALL_LISTS = st.lists(products(max_images=3), max_size=6)


def _mixed_items() -> st.SearchStrategy[list[Any]]:
    """Products, their JSON objects, and items that do not load."""
    junk = st.sampled_from([{"sku": "JUNK"}, {"price": 1}, {"sku": "J2", "type": "x"}, 7, None])
    item = st.one_of(products(max_images=3), products(max_images=3).map(unstructure), junk)
    return st.lists(item, max_size=6)


class TestProperties:
    """The batch invariants (spec 14: "Batch evaluation never drops a product")."""

    @settings(max_examples=30)
    @given(configurations(), SMALL_LISTS)
    def test_serial_equals_evaluate_listing(
        self, config: Configuration, items: list[Product]
    ) -> None:
        """list(evaluate_many(...)) equals the per-product evaluate_listing results."""
        assert list(evaluate_many(config, items, on=ON)) == expected(config, items)

    @settings(max_examples=30)
    @given(configurations(), _mixed_items())
    def test_output_count_equals_input_count(self, config: Configuration, items: list[Any]) -> None:
        """ "output count equals input count": one outcome per item and account, in order."""
        outcomes = list(evaluate_many(config, items, on=ON))
        accounts = [a.id for a in config.accounts]
        assert len(outcomes) == len(items) * len(accounts)
        assert [o.account for o in outcomes] == accounts * len(items)
        for index, item in enumerate(items):
            group = outcomes[index * len(accounts) : (index + 1) * len(accounts)]
            if isinstance(item, Product):
                assert {o.sku for o in group} <= {item.sku}

    @settings(max_examples=10)
    @given(configurations(), _mixed_items(), st.integers(1, 4))
    def test_pooled_equals_serial(
        self, pool: ProcessPoolExecutor, config: Configuration, items: list[Any], chunk: int
    ) -> None:
        """On worker processes, the outcomes equal the serial run's, whatever the chunk size."""
        serial = list(evaluate_many(config, items, on=ON))
        assert list(evaluate_many(config, items, on=ON, executor=pool, chunk_size=chunk)) == serial

    @settings(max_examples=10)
    @given(configurations(), st.lists(_mixed_items(), max_size=4))
    def test_partitions_equal_serial(
        self, pool: ProcessPoolExecutor, config: Configuration, parts: list[list[Any]]
    ) -> None:
        """Partitions on worker processes give, in order, what evaluate_many gives per partition."""
        pooled = list(evaluate_partitions(config, parts, on=ON, executor=pool))
        assert len(pooled) == len(parts)
        for number, (outcomes, items) in enumerate(zip(pooled, parts, strict=True)):
            serial = list(evaluate_many(config, items, on=ON))
            assert [o.sku for o in outcomes] == [
                o.sku.replace(">", f" of partition {number}>")
                if o.sku.startswith("<item ")
                else o.sku
                for o in serial
            ]
            assert [attrs.evolve(o, sku="") for o in outcomes] == [
                attrs.evolve(o, sku="") for o in serial
            ]
