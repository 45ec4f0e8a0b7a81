"""plan_order and plan_shipment: spec section 9."""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine import (
    ChannelOrder,
    CustomerMode,
    CustomerSettings,
    FrozenDict,
    MissingProduct,
    OrderCustomer,
    OrderLine,
    OrderPlan,
    OrderPolicy,
    PlannedCustomer,
    PlannedLine,
    PolicyConfigError,
    PolicyEngineError,
    Product,
    Shipment,
    ShipmentError,
    ShipmentLine,
    ShipmentPlan,
    SkuResolver,
    Step,
    Stock,
    Visibility,
    plan_order,
    plan_shipment,
    structure,
    unstructure,
)
from policy_engine.testing import (
    catalogs,
    channel_orders,
    order_customers,
    order_policies,
    products,
    shipments,
)

PAID = "WAIT_SELLER_SEND_GOODS"
POLICY = OrderPolicy(title="AliExpress", import_statuses=(PAID,), order_id_prefix="ALIEXP-")
CATALOG = {
    "MJ01": Product(sku="MJ01", price=Decimal("45.00"), stock=Stock(qty=12)),
    "MJ02": Product(sku="MJ02", price=Decimal("52.00"), stock=Stock(qty=0, in_stock=False)),
    "MJ03": Product(sku="MJ03", enabled=False),
    "MJ04": Product(sku="MJ04", stock=Stock(qty=0, in_stock=False, manage_stock=False)),
    "MJ05": Product(sku="MJ05", stock=Stock(qty=-2)),
    "MJ06": Product(sku="MJ06"),
}


def _order(
    *skus: str,
    qty: int = 1,
    status: str = PAID,
    customer: OrderCustomer | None = None,
    order_id: str = "8123",
) -> ChannelOrder:
    lines = tuple(OrderLine(sku=sku, qty=qty, price=Decimal("19.90")) for sku in skus)
    return ChannelOrder(id=order_id, status=status, customer=customer, lines=lines)


def _policy(**changes: Any) -> OrderPolicy:
    return attrs.evolve(POLICY, **changes)


def _step(*items: str | int | None) -> Step:
    return Step(items)


def _codes(plan: OrderPlan) -> list[str]:
    return [reason.code for reason in plan.reasons]


class TestSpecExamples:
    """The worked examples of spec section 9."""

    def test_prefix_and_sequence_1(self) -> None:
        """Prefix ALIEXP- with sequence 1 gives ALIEXP-000001."""
        plan = plan_order(_order("MJ01"), POLICY, CATALOG, sequence=1)
        assert plan.create
        assert plan.store_order_id == "ALIEXP-000001"
        assert plan.reasons[0] == _step("order_created", "ALIEXP-000001")
        assert plan.reasons[0].message == "the order is created in the store as ALIEXP-000001"

    def test_wide_sequence_is_not_cut(self) -> None:
        """A sequence of 1234567 with 6 digits gives ALIEXP-1234567."""
        plan = plan_order(_order("MJ01"), POLICY, CATALOG, sequence=1234567)
        assert plan.store_order_id == "ALIEXP-1234567"

    @pytest.mark.parametrize(
        ("digits", "prefix", "sequence", "expected"),
        [
            (1, "", 0, "0"),
            (1, "", 42, "42"),
            (12, "TT_", 7, "TT_000000000007"),
            (3, "A", 5, "A005"),
        ],
    )
    def test_zero_padding(self, digits: int, prefix: str, sequence: int, expected: str) -> None:
        """The store order id is the prefix and the sequence zero-padded to the digits."""
        policy = _policy(order_id_digits=digits, order_id_prefix=prefix)
        assert plan_order(_order("MJ01"), policy, CATALOG, sequence=sequence).store_order_id == (
            expected
        )

    @pytest.mark.parametrize(
        ("settings", "buyer", "expected"),
        [
            (CustomerSettings(), None, PlannedCustomer(mode=CustomerMode.GUEST, email=None)),
            (
                CustomerSettings(),
                OrderCustomer(email="ana@example.com"),
                PlannedCustomer(mode=CustomerMode.GUEST, email="ana@example.com"),
            ),
            (
                CustomerSettings(mode=CustomerMode.GUEST),
                OrderCustomer(email="  ", first_name="Ana"),
                PlannedCustomer(mode=CustomerMode.GUEST, email=None),
            ),
            (
                CustomerSettings(mode=CustomerMode.REAL),
                OrderCustomer(email="ana@example.com"),
                PlannedCustomer(mode=CustomerMode.REAL, email="ana@example.com"),
            ),
            (
                CustomerSettings(mode=CustomerMode.SAME, email="orders@shop.test"),
                OrderCustomer(email="ana@example.com"),
                PlannedCustomer(mode=CustomerMode.SAME, email="orders@shop.test"),
            ),
            (
                CustomerSettings(mode=CustomerMode.SAME, email="orders@shop.test"),
                None,
                PlannedCustomer(mode=CustomerMode.SAME, email="orders@shop.test"),
            ),
        ],
    )
    def test_customer_modes(
        self,
        settings: CustomerSettings,
        buyer: OrderCustomer | None,
        expected: PlannedCustomer,
    ) -> None:
        """Guest takes the buyer's email if any, real the buyer's, same the policy's."""
        plan = plan_order(
            _order("MJ01", customer=buyer), _policy(customer=settings), CATALOG, sequence=1
        )
        assert plan.create
        assert plan.customer == expected

    def test_real_customer_without_email_is_skipped(self) -> None:
        """Mode real with no buyer email skips the order (customer_email_missing)."""
        policy = _policy(customer=CustomerSettings(mode="real"))
        for buyer in (None, OrderCustomer(first_name="Ana"), OrderCustomer(email="")):
            plan = plan_order(_order("MJ01", customer=buyer), policy, CATALOG, sequence=1)
            assert _codes(plan) == ["customer_email_missing"]
            assert plan.reasons[0].message == (
                "the customer mode is 'real' but the order has no customer email"
            )

    def test_status_mapping(self) -> None:
        """A mapped channel status gives its store status; an unmapped one gives pending."""
        policy = _policy(import_statuses=(PAID, "FINISH"), status_mapping={PAID: "processing"})
        mapped = plan_order(_order("MJ01"), policy, CATALOG, sequence=1)
        assert mapped.store_status == "processing"
        assert _codes(mapped) == ["order_created"]
        unmapped = plan_order(_order("MJ01", status="FINISH"), policy, CATALOG, sequence=1)
        assert unmapped.store_status == "pending"
        assert _codes(unmapped) == ["order_created", "status_unmapped"]
        assert unmapped.reasons[1].message == (
            "the channel status 'FINISH' has no store status mapped: pending"
        )

    def test_missing_and_out_of_stock_lines_list_both_reasons(self) -> None:
        """An order with one missing and one out-of-stock line lists both reasons."""
        plan = plan_order(_order("NOPE-1", "MJ02"), POLICY, CATALOG, sequence=1)
        assert not plan.create
        assert plan.store_order_id is None
        assert plan.reasons == (
            _step("product_missing", "NOPE-1"),
            _step("product_unavailable", "MJ02"),
        )
        assert [reason.message for reason in plan.reasons] == [
            "not found in the store catalog: NOPE-1",
            "disabled or out of stock in the store: MJ02",
        ]


class TestSkipReasons:
    """Each skip rule alone, and all of them at once."""

    def test_order_creation_disabled(self) -> None:
        """create_orders off skips every order (order_creation_disabled)."""
        plan = plan_order(_order("MJ01"), _policy(create_orders=False), CATALOG, sequence=1)
        assert _codes(plan) == ["order_creation_disabled"]
        assert plan.reasons[0].message == "the order policy does not create orders in the store"

    def test_creation_disabled_without_statuses_does_not_blame_the_status(self) -> None:
        """A policy creating no orders may list no statuses; the status is then not checked."""
        policy = _policy(create_orders=False, import_statuses=())
        plan = plan_order(_order("MJ01", status="ANY"), policy, CATALOG, sequence=1)
        assert _codes(plan) == ["order_creation_disabled"]

    def test_already_imported(self) -> None:
        """An order whose id is in imported is skipped (already_imported)."""
        plan = plan_order(_order("MJ01"), POLICY, CATALOG, sequence=1, imported={"8123", "9"})
        assert plan.reasons == (("already_imported", "8123"),)
        assert plan.reasons[0].message == (
            "order 8123 was already imported: it is never created twice"
        )

    @pytest.mark.parametrize("imported", ["12", ""])
    def test_imported_as_a_bare_string_is_refused(self, imported: str) -> None:
        """A bare string is not a collection of order ids: a TypeError, not a substring match."""
        order = _order("MJ01", order_id="1")
        with pytest.raises(TypeError) as caught:
            plan_order(order, POLICY, CATALOG, sequence=1, imported=imported)
        assert str(caught.value) == (
            "imported must be a collection of channel order ids (a set, a list…),"
            f" not a string: got {imported!r}"
        )

    def test_status_not_eligible(self) -> None:
        """A status outside import_statuses is skipped, naming the statuses that create orders."""
        policy = _policy(import_statuses=(PAID, "AWAITING_SHIPMENT"))
        plan = plan_order(_order("MJ01", status="PLACE_ORDER_SUCCESS"), policy, CATALOG, sequence=1)
        assert _codes(plan) == ["status_not_eligible"]
        assert plan.reasons[0].message == (
            "the channel status 'PLACE_ORDER_SUCCESS' does not create orders"
            " (statuses that do: WAIT_SELLER_SEND_GOODS, AWAITING_SHIPMENT)"
        )

    def test_status_is_compared_exactly(self) -> None:
        """Statuses are compared exactly: another case is not eligible."""
        plan = plan_order(_order("MJ01", status=PAID.lower()), POLICY, CATALOG, sequence=1)
        assert _codes(plan) == ["status_not_eligible"]

    def test_product_missing_names_each_sku_once_in_order(self) -> None:
        """product_missing names the missing SKUs once each, in line order."""
        plan = plan_order(_order("B-2", "MJ01", "A-1", "B-2"), POLICY, CATALOG, sequence=1)
        assert plan.reasons == (("product_missing", "B-2, A-1"),)

    @pytest.mark.parametrize("sku", ["MJ02", "MJ03"])
    def test_product_unavailable(self, sku: str) -> None:
        """A disabled product, or a managed stock marked out of stock, skips the order."""
        plan = plan_order(_order(sku), POLICY, CATALOG, sequence=1)
        assert plan.reasons == (("product_unavailable", sku),)

    @pytest.mark.parametrize("sku", ["MJ04", "MJ05", "MJ06"])
    def test_available_products(self, sku: str) -> None:
        """Unmanaged stock, a quantity at or below 0 while in stock, or no stock: available."""
        assert plan_order(_order(sku), POLICY, CATALOG, sequence=1).create

    def test_unavailable_names_each_store_sku_once(self) -> None:
        """product_unavailable names the store SKUs once each, in line order."""
        plan = plan_order(_order("MJ03", "MJ02", "MJ03"), POLICY, CATALOG, sequence=1)
        assert plan.reasons == (("product_unavailable", "MJ03, MJ02"),)

    def test_allow_unavailable_products(self) -> None:
        """allow_unavailable_products creates the order and says which products were unavailable."""
        policy = _policy(allow_unavailable_products=True)
        plan = plan_order(_order("MJ02", "MJ03"), policy, CATALOG, sequence=1)
        assert plan.create
        assert plan.reasons[1] == _step("product_unavailable_allowed", "MJ02, MJ03")
        assert dict(plan.stock_changes) == {"MJ02": -1, "MJ03": -1}
        assert plan.reasons[1].message == (
            "ordered although disabled or out of stock (the policy allows it): MJ02, MJ03"
        )

    def test_every_reason_at_once(self) -> None:
        """All six skip reasons are reported together, in rule order."""
        policy = _policy(create_orders=False, customer=CustomerSettings(mode="real"))
        order = _order("NOPE", "MJ03", status="FINISH")
        plan = plan_order(order, policy, CATALOG, sequence=1, imported=["8123"])
        assert _codes(plan) == [
            "order_creation_disabled",
            "already_imported",
            "status_not_eligible",
            "product_missing",
            "product_unavailable",
            "customer_email_missing",
        ]

    def test_skipped_plan_has_nothing_to_act_on(self) -> None:
        """A skipped plan has no id, lines, customer, status, stock changes or placeholders."""
        policy = _policy(
            create_invoice=True,
            notify=True,
            use_store_taxes=True,
            missing_product="create_product",
            status_mapping={PAID: "processing"},
        )
        plan = plan_order(_order("MJ01", "NEW-1"), policy, CATALOG, sequence=1, imported={"8123"})
        assert plan == OrderPlan(
            create=False,
            reasons=(_step("already_imported", "8123"),),
            store_order_id=None,
            lines=(),
            customer=None,
            store_status=None,
            create_invoice=False,
            notify=False,
            apply_store_taxes=False,
            stock_changes={},  # type: ignore[arg-type]
            placeholder_products=(),
        )


class TestCreatedPlan:
    """What a created plan carries."""

    def test_lines_flags_and_stock_changes(self) -> None:
        """Lines keep the order's order; flags come from the policy; quantities sum per SKU."""
        policy = _policy(create_invoice=True, notify=True, use_store_taxes=True)
        order = ChannelOrder(
            id="1",
            status=PAID,
            lines=(
                OrderLine(sku="MJ01", qty=2, price=Decimal("45.00")),
                OrderLine(sku="MJ06", qty=1, price=Decimal("5")),
                OrderLine(sku="MJ01", qty=3, price=Decimal("40.00")),
            ),
        )
        plan = plan_order(order, policy, CATALOG, sequence=9)
        assert plan.lines == (
            PlannedLine(
                channel_sku="MJ01",
                store_sku="MJ01",
                qty=2,
                price=Decimal("45.00"),
                create_product=False,
            ),
            PlannedLine(
                channel_sku="MJ06", store_sku="MJ06", qty=1, price=Decimal(5), create_product=False
            ),
            PlannedLine(
                channel_sku="MJ01",
                store_sku="MJ01",
                qty=3,
                price=Decimal("40.00"),
                create_product=False,
            ),
        )
        assert dict(plan.stock_changes) == {"MJ01": -5, "MJ06": -1}
        assert (plan.create_invoice, plan.notify, plan.apply_store_taxes) == (True, True, True)
        assert plan.placeholder_products == ()

    def test_results_are_frozen(self) -> None:
        """Stock changes cannot be edited after planning."""
        plan = plan_order(_order("MJ01"), POLICY, CATALOG, sequence=1)
        with pytest.raises(TypeError):
            plan.stock_changes["MJ01"] = 0


class TestSkuResolution:
    """The alternate SKU attribute first, then the store SKU; the index is built once."""

    CATALOG: ClassVar[dict[str, Product]] = {
        "STORE-A": Product(sku="STORE-A", attributes={"ean": "CH-1"}),
        "CH-1": Product(sku="CH-1"),
        "STORE-B": Product(sku="STORE-B", attributes={"ean": 4006381333931}),
        "STORE-C": Product(
            sku="STORE-C", attributes={"ean": True, "mpn": ("x",), "other": Decimal(5)}
        ),
        "STORE-D": Product(sku="STORE-D", attributes={"ean": ""}),
    }

    def test_attribute_first_then_sku(self) -> None:
        """A channel SKU matching an alternate value wins over a store SKU equal to it."""
        resolver = SkuResolver(self.CATALOG, "ean")
        assert resolver.resolve("CH-1") is self.CATALOG["STORE-A"]
        assert resolver.resolve("STORE-C") is self.CATALOG["STORE-C"]
        assert resolver.resolve("nope") is None

    def test_integer_values_are_indexed_as_text(self) -> None:
        """An integer attribute value matches its decimal text."""
        assert SkuResolver(self.CATALOG, "ean").resolve("4006381333931") is self.CATALOG["STORE-B"]

    @pytest.mark.parametrize("value", ["True", "5", "", "x"])
    def test_other_values_are_not_indexed(self, value: str) -> None:
        """Booleans, decimals, lists and empty strings are not alternate SKUs."""
        for attribute in ("ean", "mpn", "other"):
            assert SkuResolver(self.CATALOG, attribute).resolve(value) is None

    def test_without_attribute_only_store_skus(self) -> None:
        """Without an alternate attribute only store SKUs resolve."""
        resolver = SkuResolver(self.CATALOG)
        assert resolver.resolve("CH-1") is self.CATALOG["CH-1"]
        assert resolver.resolve("4006381333931") is None
        assert resolver.conflicts == {}

    def test_first_product_wins_a_shared_value(self) -> None:
        """When products share an alternate value, the first in catalog order wins."""
        catalog = {
            sku: Product(sku=sku, attributes={"ean": "E-1"}) for sku in ("P-2", "P-1", "P-3")
        }
        resolver = SkuResolver(catalog, "ean")
        assert resolver.resolve("E-1") is catalog["P-2"]
        assert resolver.conflicts == {"E-1": ("P-2", "P-1", "P-3")}

    def test_plan_uses_the_store_sku(self) -> None:
        """Lines and stock changes carry the store SKU the channel SKU resolved to."""
        policy = _policy(alternate_sku_attribute="ean")
        plan = plan_order(_order("CH-1", "4006381333931"), policy, self.CATALOG, sequence=1)
        assert [(line.channel_sku, line.store_sku) for line in plan.lines] == [
            ("CH-1", "STORE-A"),
            ("4006381333931", "STORE-B"),
        ]
        assert dict(plan.stock_changes) == {"STORE-A": -1, "STORE-B": -1}

    def test_mapping_and_resolver_give_the_same_plan(self) -> None:
        """Passing the catalog or a resolver built for the policy gives the same plan."""
        policy = _policy(alternate_sku_attribute="ean")
        order = _order("CH-1", "STORE-D", "nope")
        resolver = SkuResolver(self.CATALOG, "ean")
        assert plan_order(order, policy, self.CATALOG, sequence=3) == plan_order(
            order, policy, resolver, sequence=3
        )

    def test_catalog_is_indexed_once(self) -> None:
        """A resolver reads the catalog's products once, however many orders it resolves."""

        class CountingCatalog(Mapping[str, Product]):
            def __init__(self, products: dict[str, Product]) -> None:
                self.products = products
                self.scans = 0

            def __getitem__(self, sku: str) -> Product:
                return self.products[sku]

            def __iter__(self) -> Iterator[str]:
                self.scans += 1
                return iter(self.products)

            def __len__(self) -> int:
                return len(self.products)

        catalog = CountingCatalog(dict(self.CATALOG))
        policy = _policy(alternate_sku_attribute="ean")
        resolver = SkuResolver(catalog, "ean")
        for number in range(50):
            plan_order(_order("CH-1", "CH-9"), policy, resolver, sequence=number)
        assert catalog.scans == 1

    def test_resolver_for_another_attribute_is_refused(self) -> None:
        """A resolver built for another alternate attribute than the policy's is an error."""
        with pytest.raises(PolicyConfigError) as caught:
            plan_order(_order("MJ01"), POLICY, SkuResolver(CATALOG, "ean"), sequence=1)
        assert caught.value.errors == [
            (
                "the SKU resolver indexes 'ean' but the order policy's alternate SKU attribute is"
                " None @ $.alternate_sku_attribute"
            )
        ]

    def test_resolver_pickles(self) -> None:
        """A resolver survives pickling (for process pools) and says what it indexes."""
        resolver = pickle.loads(pickle.dumps(SkuResolver(self.CATALOG, "ean")))
        assert resolver.resolve("CH-1") == self.CATALOG["STORE-A"]
        assert repr(resolver) == "SkuResolver(5 products, alternate_sku_attribute='ean')"


class TestPlaceholders:
    """missing_product = create_product plans placeholder products."""

    POLICY = _policy(missing_product=MissingProduct.CREATE_PRODUCT)

    def test_placeholder_products(self) -> None:
        """Each missing SKU gets one disabled, not individually visible placeholder product."""
        order = ChannelOrder(
            id="1",
            status=PAID,
            lines=(
                OrderLine(sku="NEW-1", qty=2, price=Decimal("9.50")),
                OrderLine(sku="MJ01", qty=1, price=Decimal("45.00")),
                OrderLine(sku="NEW-1", qty=1, price=Decimal("8.00")),
            ),
        )
        plan = plan_order(order, self.POLICY, CATALOG, sequence=1)
        assert plan.create
        assert plan.placeholder_products == (
            Product(
                sku="NEW-1",
                name="NEW-1",
                enabled=False,
                visibility=Visibility.NOT_VISIBLE_INDIVIDUALLY,
                price=Decimal("9.50"),
            ),
        )
        assert [(line.store_sku, line.create_product) for line in plan.lines] == [
            ("NEW-1", True),
            ("MJ01", False),
            ("NEW-1", True),
        ]
        assert dict(plan.stock_changes) == {"MJ01": -1}
        assert plan.reasons[1] == _step("product_placeholder", "NEW-1")
        assert plan.reasons[1].message == "placeholder products are created for: NEW-1"

    def test_only_placeholders_means_no_stock_changes(self) -> None:
        """An order made only of placeholder lines changes no stock."""
        plan = plan_order(_order("NEW-1", "NEW-2"), self.POLICY, CATALOG, sequence=1)
        assert plan.stock_changes == {}
        assert [product.sku for product in plan.placeholder_products] == ["NEW-1", "NEW-2"]


class TestSequence:
    """The sequence argument."""

    @pytest.mark.parametrize("sequence", [-1, True, 1.0, "1"])
    def test_invalid_sequence(self, sequence: Any) -> None:
        """A sequence that is not an int >= 0 is refused with a clear error."""
        with pytest.raises(PolicyConfigError) as caught:
            plan_order(_order("MJ01"), POLICY, CATALOG, sequence=sequence)
        assert caught.value.errors == [
            f"the order sequence must be an integer >= 0 (got {sequence!r}) @ $.sequence"
        ]


SHIPPING = _policy(sync_shipments=True, carrier_mapping={"ups": "UPS", "fedex": "FEDEX"})


class TestShipments:
    """plan_shipment: carrier mapping and ShipmentError."""

    SHIPMENT = Shipment(
        order_id="8123",
        carrier="ups",
        tracking_number="1Z999",
        lines=(ShipmentLine(sku="MJ01", qty=1),),
    )

    def test_none_when_shipments_are_not_synced(self) -> None:
        """Without sync_shipments nothing is sent."""
        assert plan_shipment(self.SHIPMENT, POLICY) is None

    def test_mapped_carrier(self) -> None:
        """The store carrier is sent as the mapped channel carrier."""
        plan = plan_shipment(self.SHIPMENT, SHIPPING)
        assert plan == ShipmentPlan(
            order_id="8123",
            channel_carrier="UPS",
            tracking_number="1Z999",
            lines=(ShipmentLine(sku="MJ01", qty=1),),
            steps=(_step("carrier_mapped", "ups", "UPS"),),
        )
        assert plan.steps[0].message == "the store carrier 'ups' is sent as 'UPS'"

    def test_case_insensitive_fallback(self) -> None:
        """A carrier differing only in case or surrounding spaces still maps, and says so."""
        plan = plan_shipment(attrs.evolve(self.SHIPMENT, carrier=" FedEx "), SHIPPING)
        assert plan is not None
        assert plan.channel_carrier == "FEDEX"
        assert plan.steps[0].message == (
            "the store carrier ' FedEx ' matches the mapped carrier 'fedex' ignoring case:"
            " sent as 'FEDEX'"
        )

    def test_exact_match_wins(self) -> None:
        """An exact key wins over one differing in case; among those the first mapped wins."""
        policy = _policy(sync_shipments=True, carrier_mapping={"UPS": "A", "ups": "B"})
        carriers = ("ups", "UPS", "Ups")
        planned = [plan_shipment(attrs.evolve(self.SHIPMENT, carrier=c), policy) for c in carriers]
        assert [plan.channel_carrier for plan in planned if plan is not None] == ["B", "A", "A"]

    def test_unmapped_carrier(self) -> None:
        """An unmapped carrier raises ShipmentError listing the mapped carriers, sorted."""
        with pytest.raises(ShipmentError) as caught:
            plan_shipment(attrs.evolve(self.SHIPMENT, carrier="dhl"), SHIPPING)
        error = caught.value
        assert isinstance(error, PolicyEngineError)
        assert (error.carrier, error.mapped) == ("dhl", ("fedex", "ups"))
        assert str(error) == (
            "the store carrier 'dhl' is not in the order policy's carrier mapping"
            " (mapped carriers: 'fedex', 'ups')"
        )
        copy = pickle.loads(pickle.dumps(error))
        assert (str(copy), copy.carrier, copy.mapped) == (str(error), "dhl", ("fedex", "ups"))

    def test_no_carrier_mapped(self) -> None:
        """With an empty mapping every carrier is unmapped."""
        with pytest.raises(ShipmentError) as caught:
            plan_shipment(self.SHIPMENT, _policy(sync_shipments=True))
        assert caught.value.mapped == ()
        assert str(caught.value).endswith("(mapped carriers: none)")


@st.composite
def _scenarios(
    draw: st.DrawFn,
    /,
    *,
    catalog_strategy: st.SearchStrategy[FrozenDict[str, Product]] | None = None,
    **policy_options: Any,
) -> tuple[ChannelOrder, OrderPolicy, Any]:
    """A catalog, a policy and an order whose SKUs mostly come from the catalog."""
    catalog = draw(catalogs() if catalog_strategy is None else catalog_strategy)
    pool = [*catalog, "MISSING-1", "4006381333931", "EAN-1"]
    order = draw(channel_orders(skus=st.sampled_from(pool)))
    policy = draw(order_policies(**policy_options))
    return order, policy, catalog


def _reference_resolve(
    sku: str, catalog: Mapping[str, Product], attribute: str | None
) -> Product | None:
    """The spec's resolution written as a plain scan: the alternate attribute, then the SKU."""
    if attribute is not None:
        for product in catalog.values():
            value = product.attributes.get(attribute)
            if (type(value) is str and value and value == sku) or (
                type(value) is int and str(value) == sku
            ):
                return product
    return catalog.get(sku)


SKIP_CODES = {
    "order_creation_disabled",
    "already_imported",
    "status_not_eligible",
    "product_missing",
    "product_unavailable",
    "customer_email_missing",
}


class TestProperties:
    """The invariants of section 9, for any catalog, policy and order."""

    @given(
        _scenarios(catalog_strategy=catalogs(max_size=3, full_products=True)),
        st.integers(min_value=0, max_value=10**13),
    )
    def test_never_raises_and_reasons_never_empty(
        self, scenario: tuple[ChannelOrder, OrderPolicy, Any], sequence: int
    ) -> None:
        """plan_order never raises for valid inputs, and a plan always has reasons."""
        order, policy, catalog = scenario
        plan = plan_order(order, policy, catalog, sequence=sequence)
        codes = {reason.code for reason in plan.reasons}
        if plan.create:
            assert plan.reasons[0].code == "order_created"
            assert codes <= {
                "order_created",
                "product_placeholder",
                "product_unavailable_allowed",
                "status_unmapped",
            }
        else:
            assert codes
            assert codes <= SKIP_CODES

    @given(_scenarios(), st.integers(min_value=0, max_value=10**6))
    def test_imported_order_is_never_created(
        self, scenario: tuple[ChannelOrder, OrderPolicy, Any], sequence: int
    ) -> None:
        """ "An order whose id is in imported is never created"."""
        order, policy, catalog = scenario
        plan = plan_order(order, policy, catalog, sequence=sequence, imported={order.id})
        assert not plan.create
        assert ("already_imported", order.id) in plan.reasons

    @given(_scenarios(create_orders=True, allow_unavailable_products=True))
    def test_stock_changes_are_minus_the_ordered_quantities(
        self, scenario: tuple[ChannelOrder, OrderPolicy, Any]
    ) -> None:
        """ "stock_changes equals minus the sum of line quantities per existing store SKU"."""
        order, policy, catalog = scenario
        plan = plan_order(order, policy, catalog, sequence=1)
        expected: dict[str, int] = {}
        for line in order.lines:
            product = _reference_resolve(line.sku, catalog, policy.alternate_sku_attribute)
            if product is not None:
                expected[product.sku] = expected.get(product.sku, 0) - line.qty
        if plan.create:
            assert dict(plan.stock_changes) == expected
            placeholders = {line.store_sku for line in plan.lines if line.create_product}
            assert placeholders.isdisjoint(plan.stock_changes)
            assert {product.sku for product in plan.placeholder_products} == placeholders
        else:
            assert plan.stock_changes == {}

    @given(_scenarios(), st.integers(min_value=0, max_value=10**6))
    def test_skipped_order_has_reasons_and_no_store_id(
        self, scenario: tuple[ChannelOrder, OrderPolicy, Any], sequence: int
    ) -> None:
        """ "A skipped order has reasons and no store id"; a created one has the padded id."""
        order, policy, catalog = scenario
        plan = plan_order(order, policy, catalog, sequence=sequence)
        if plan.create:
            padded = str(sequence).zfill(policy.order_id_digits)
            assert plan.store_order_id == policy.order_id_prefix + padded
            assert plan.store_status == policy.status_mapping.get(order.status, "pending")
        else:
            assert plan.reasons
            assert plan.store_order_id is None
            assert (plan.lines, plan.stock_changes, plan.customer) == ((), {}, None)

    @given(_scenarios())
    def test_mapping_and_resolver_agree(
        self, scenario: tuple[ChannelOrder, OrderPolicy, Any]
    ) -> None:
        """A prebuilt resolver plans exactly what the plain catalog plans."""
        order, policy, catalog = scenario
        resolver = SkuResolver(catalog, policy.alternate_sku_attribute)
        assert plan_order(order, policy, resolver, sequence=5) == plan_order(
            order, policy, catalog, sequence=5
        )

    @given(catalogs(), st.sampled_from(("ean", "channel_sku")), st.text(max_size=14))
    def test_resolver_matches_reference(
        self, catalog: Mapping[str, Product], attribute: str, sku: str
    ) -> None:
        """The index resolves every SKU like a scan of the catalog would."""
        resolver = SkuResolver(catalog, attribute)
        for candidate in (sku, "4006381333931", "EAN-1", *catalog):
            assert resolver.resolve(candidate) is _reference_resolve(candidate, catalog, attribute)

    @given(
        _scenarios(customer_mode="real"),
        order_customers(email=True),
        order_customers(email=False),
    )
    def test_real_customer_needs_an_email(
        self,
        scenario: tuple[ChannelOrder, OrderPolicy, Any],
        with_email: OrderCustomer,
        without_email: OrderCustomer,
    ) -> None:
        """Mode real skips exactly the orders without a (non-blank) buyer email."""
        order, policy, catalog = scenario
        for buyer, missing in ((with_email, False), (without_email, True), (None, True)):
            plan = plan_order(attrs.evolve(order, customer=buyer), policy, catalog, sequence=1)
            assert ("customer_email_missing" in _codes(plan)) == missing
            if plan.create:
                expected = PlannedCustomer(mode=CustomerMode.REAL, email=with_email.email)
                assert plan.customer == expected

    @given(shipments(), order_policies(sync_shipments=True))
    def test_shipment_is_mapped_or_refused(self, shipment: Shipment, policy: OrderPolicy) -> None:
        """A synced shipment is sent with a mapped channel carrier or raises ShipmentError."""
        folded = {name.strip().casefold() for name in policy.carrier_mapping}
        if shipment.carrier.strip().casefold() in folded:
            plan = plan_shipment(shipment, policy)
            assert plan is not None
            assert plan.channel_carrier in policy.carrier_mapping.values()
            assert (plan.order_id, plan.tracking_number) == (
                shipment.order_id,
                shipment.tracking_number,
            )
        else:
            with pytest.raises(ShipmentError) as caught:
                plan_shipment(shipment, policy)
            assert caught.value.mapped == tuple(sorted(policy.carrier_mapping))


class TestRoundTrip:
    """structure(unstructure(x), type(x)) == x for the order models."""

    @given(order_policies())
    def test_policy(self, policy: OrderPolicy) -> None:
        """An order policy survives a JSON round trip."""
        assert structure(unstructure(policy), OrderPolicy) == policy

    @given(channel_orders())
    def test_order(self, order: ChannelOrder) -> None:
        """A channel order survives a JSON round trip."""
        assert structure(unstructure(order), ChannelOrder) == order

    @given(_scenarios(missing_product="create_product", create_orders=True))
    def test_plan(self, scenario: tuple[ChannelOrder, OrderPolicy, Any]) -> None:
        """An order plan survives a JSON round trip, placeholder products and messages included."""
        order, policy, catalog = scenario
        plan = plan_order(order, policy, catalog, sequence=12)
        data = unstructure(plan)
        assert structure(data, OrderPlan) == plan
        assert [reason["message"] for reason in data["reasons"]] == [
            reason.message for reason in plan.reasons
        ]

    @given(shipments())
    def test_shipment(self, shipment: Shipment) -> None:
        """A shipment survives a JSON round trip."""
        assert structure(unstructure(shipment), Shipment) == shipment

    @given(shipments(), order_policies(sync_shipments=True))
    def test_shipment_plan(self, shipment: Shipment, policy: OrderPolicy) -> None:
        """A shipment plan survives a JSON round trip."""
        mapping = {**policy.carrier_mapping, shipment.carrier: "CAINIAO"}
        plan = plan_shipment(shipment, attrs.evolve(policy, carrier_mapping=mapping))
        assert plan is not None
        assert structure(unstructure(plan), ShipmentPlan) == plan


class TestValidation:
    """Invalid order policies, orders and shipments cannot be loaded or built."""

    def test_policy_problems_at_once(self) -> None:
        """Every field problem of an order policy document is reported with its path, at once."""
        with pytest.raises(PolicyConfigError) as caught:
            structure(
                {
                    "title": "AliExpress",
                    "import_statuses": [PAID, ""],
                    "missing_product": "create",
                    "order_id_prefix": "ALI EXP!",
                    "order_id_digits": 0,
                    "customer": {"mode": "same"},
                    "carrier_mapping": {"ups": ""},
                    "status_mapping": {PAID: 5},
                    "notfiy": True,
                },
                OrderPolicy,
            )
        assert caught.value.errors == [
            "expected a list of non-empty strings, got a string in it @ $.import_statuses",
            "must be one of 'skip_order', 'create_product' (got 'create') @ $.missing_product",
            "may only hold letters, digits, '-' and '_' (got 'ALI EXP!') @ $.order_id_prefix",
            "must be between 1 and 12 (got 0) @ $.order_id_digits",
            "carriers must be non-empty strings (got '' for 'ups') @ $.carrier_mapping",
            "required when the mode is 'same' @ $.customer.email",
            "expected a string, got an integer @ $.status_mapping.WAIT_SELLER_SEND_GOODS",
            "unknown field (did you mean 'notify'?) @ $.notfiy",
        ]

    @pytest.mark.parametrize(
        ("changes", "error"),
        [
            ({"order_id_digits": 13}, "must be between 1 and 12 (got 13) @ $.order_id_digits"),
            ({"order_id_digits": True}, "expected an integer, got a boolean @ $.order_id_digits"),
            ({"order_id_prefix": 5}, "expected a string, got an integer @ $.order_id_prefix"),
            (
                {"order_id_prefix": "A" * 21},
                "must be at most 20 characters (got 21) @ $.order_id_prefix",
            ),
            (
                {"order_id_prefix": "ÄLI"},
                "may only hold letters, digits, '-' and '_' (got 'ÄLI') @ $.order_id_prefix",
            ),
            (
                {"import_statuses": []},
                (
                    "must not be empty when create_orders is on (the statuses that create orders)"
                    " @ $.import_statuses"
                ),
            ),
            (
                {"customer": {"mode": "same", "email": "orders"}},
                "must be an email address (got 'orders') @ $.customer.email",
            ),
            (
                {"customer": {"mode": "vip"}},
                "must be one of 'guest', 'real', 'same' (got 'vip') @ $.customer.mode",
            ),
            ({"alternate_sku_attribute": ""}, "must not be empty @ $.alternate_sku_attribute"),
        ],
    )
    def test_policy_rules(self, changes: dict[str, Any], error: str) -> None:
        """Each rule of an order policy, with its exact message and path."""
        data = {"title": "AliExpress", "import_statuses": [PAID], **changes}
        with pytest.raises(PolicyConfigError) as caught:
            structure(data, OrderPolicy)
        assert caught.value.errors == [error]

    def test_no_statuses_needed_without_order_creation(self) -> None:
        """A policy that creates no orders needs no import statuses."""
        policy = structure({"title": "Shipments only", "create_orders": False}, OrderPolicy)
        assert policy.import_statuses == ()

    def test_order_problems_at_once(self) -> None:
        """Every problem of a channel order document is reported with its path, at once."""
        with pytest.raises(PolicyConfigError) as caught:
            structure(
                {
                    "id": "",
                    "status": PAID,
                    "currency": "usd",
                    "customer": {"email": 5},
                    "lines": [
                        {"sku": "MJ01", "qty": 0, "price": "19.90"},
                        {"sku": "MJ02", "qty": 1.5, "price": "NaN"},
                        {"sku": "MJ03", "qty": 1},
                    ],
                    "shipping_amount": "-1",
                },
                ChannelOrder,
            )
        assert caught.value.errors == [
            "must not be empty @ $.id",
            (
                "expected a 3-letter upper-case ISO 4217 currency code such as 'USD' (got 'usd')"
                " @ $.currency"
            ),
            "expected a string, got an integer @ $.customer.email",
            "must be >= 1 (got 0) @ $.lines[0].qty",
            "expected an integer, got a number @ $.lines[1].qty",
            "money must be a finite number, got 'NaN' @ $.lines[1].price",
            "required field missing @ $.lines[2].price",
            "must be >= 0 (got -1) @ $.shipping_amount",
        ]

    def test_order_needs_lines(self) -> None:
        """An order has at least one line."""
        with pytest.raises(PolicyConfigError) as caught:
            structure({"id": "1", "status": PAID, "lines": []}, ChannelOrder)
        assert caught.value.errors == ["must not be empty @ $.lines"]

    def test_shipment_problems(self) -> None:
        """A shipment needs a carrier and a tracking number; shipped quantities are >= 1."""
        with pytest.raises(PolicyConfigError) as caught:
            structure({"order_id": "1", "carrier": "", "lines": [{"sku": "A", "qty": 0}]}, Shipment)
        assert caught.value.errors == [
            "must not be empty @ $.carrier",
            "required field missing @ $.tracking_number",
            "must be >= 1 (got 0) @ $.lines[0].qty",
        ]

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"order_id_prefix": 5}, "expected a string, got an integer @ $.order_id_prefix"),
            (
                {"import_statuses": 5},
                "expected a list of strings, got an integer @ $.import_statuses",
            ),
            (
                {"import_statuses": PAID},
                "expected a list of strings, got a string @ $.import_statuses",
            ),
            ({"carrier_mapping": ["ups"]}, "expected an object, got a list @ $.carrier_mapping"),
            (
                {"status_mapping": {"": "processing"}},
                "statuses must be non-empty strings (got the key '') @ $.status_mapping",
            ),
            ({"customer": "guest"}, "expected customer settings, got a string @ $.customer"),
            (
                {"missing_product": 1},
                "must be one of 'skip_order', 'create_product' (got 1) @ $.missing_product",
            ),
        ],
    )
    def test_construction_validates(self, kwargs: dict[str, Any], error: str) -> None:
        """Building a policy in Python runs the same checks as loading it, never a TypeError."""
        arguments: dict[str, Any] = {"title": "T", "import_statuses": (PAID,), **kwargs}
        with pytest.raises(PolicyConfigError) as caught:
            OrderPolicy(**arguments)
        assert caught.value.errors == [error]

    def test_construction_converts(self) -> None:
        """Lists, dicts, enum strings and numbers given in Python become the model's types."""
        policy = OrderPolicy(
            title="T",
            import_statuses=[PAID],
            missing_product="create_product",
            customer=CustomerSettings(mode="same", email="orders@shop.test"),
            status_mapping={PAID: "processing"},
        )
        assert policy.import_statuses == (PAID,)
        assert policy.missing_product is MissingProduct.CREATE_PRODUCT
        assert policy.customer.mode is CustomerMode.SAME
        with pytest.raises(TypeError):
            policy.status_mapping["X"] = "y"
        order = ChannelOrder(
            id="1",
            status=PAID,
            lines=[OrderLine(sku="A", qty=1, price=12.5)],
            shipping_amount=3,
        )
        assert order.lines[0].price == Decimal("12.5")
        assert order.shipping_amount == Decimal(3)

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            (
                {"lines": (OrderLine(sku="A", qty=1, price=Decimal(1)), "B")},
                "expected a list of order lines, got a string in it @ $.lines",
            ),
            ({"lines": 3}, "expected a list of order lines, got an integer @ $.lines"),
            (
                {"customer": {"email": "x"}},
                "expected an order customer or null, got an object @ $.customer",
            ),
            (
                {"tax_amount": float("nan")},
                "expected money (a finite decimal number), got a number @ $.tax_amount",
            ),
        ],
    )
    def test_order_construction_validates(self, kwargs: dict[str, Any], error: str) -> None:
        """Building an order in Python reports bad values, never a TypeError."""
        arguments: dict[str, Any] = {
            "id": "1",
            "status": PAID,
            "lines": (OrderLine(sku="A", qty=1, price=Decimal(1)),),
            **kwargs,
        }
        with pytest.raises(PolicyConfigError) as caught:
            ChannelOrder(**arguments)
        assert caught.value.errors == [error]

    @given(
        st.dictionaries(
            st.sampled_from(
                [
                    "title",
                    "import_statuses",
                    "order_id_prefix",
                    "order_id_digits",
                    "customer",
                    "carrier_mapping",
                    "create_orders",
                    "missing_product",
                    "bogus",
                ]
            ),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                lambda inner: (
                    st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3)
                ),
                max_leaves=6,
            ),
        )
    )
    def test_any_json_loads_or_raises_config_error(self, data: dict[str, Any]) -> None:
        """Any JSON value gives an order policy or PolicyConfigError, never another exception."""
        errors: list[str] = []
        try:
            structure(data, OrderPolicy)
        except PolicyConfigError as error:
            errors = error.errors
        assert all(" @ $" in line for line in errors)

    @given(products())
    def test_placeholders_are_valid_products(self, product: Product) -> None:
        """A placeholder built from any SKU and price is a valid, disabled product."""
        policy = _policy(missing_product="create_product")
        order = ChannelOrder(
            id="1",
            status=PAID,
            lines=(OrderLine(sku=product.sku, qty=1, price=product.price or Decimal(0)),),
        )
        plan = plan_order(order, policy, {}, sequence=1)
        (placeholder,) = plan.placeholder_products
        assert (placeholder.sku, placeholder.enabled) == (product.sku, False)
