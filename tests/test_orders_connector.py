"""plan_order and plan_shipment where a connector joins them: over-ordering, the channel SKU of
shipped items, the order's amounts on the plan, money given as text."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine import (
    ChannelOrder,
    FrozenDict,
    OrderLine,
    OrderPlan,
    OrderPolicy,
    PolicyConfigError,
    Product,
    Shipment,
    ShipmentLine,
    ShipmentPlan,
    SkuResolver,
    SourceItem,
    Step,
    Stock,
    plan_order,
    plan_shipment,
    structure,
    unstructure,
)
from policy_engine.testing import catalogs, channel_orders, order_policies, shipments

PAID = "WAIT_SELLER_SEND_GOODS"
POLICY = OrderPolicy(
    title="AliExpress",
    import_statuses=(PAID,),
    order_id_prefix="ALIEXP-",
    alternate_sku_attribute="aliexpress_sku",
    allow_unavailable_products=True,
    sync_shipments=True,
    carrier_mapping={"ups": "UPS"},
    status_mapping={PAID: "processing"},
)
CATALOG = {
    "MJ01": Product(sku="MJ01", stock=Stock(qty=100)),
    "MJ02": Product(sku="MJ02", attributes={"aliexpress_sku": "100500-2"}, stock=Stock(qty=3)),
    "MJ03": Product(sku="MJ03", stock=Stock(qty=0, manage_stock=False)),
    "MJ04": Product(sku="MJ04"),
    "MJ05": Product(sku="MJ05", stock=Stock(qty=0, in_stock=False)),
}


def _order(*lines: tuple[str, int], **fields: Any) -> ChannelOrder:
    return ChannelOrder(
        id="8123",
        status=PAID,
        lines=tuple(OrderLine(sku=sku, qty=qty, price=Decimal("19.90")) for sku, qty in lines),
        **fields,
    )


def _codes(plan: OrderPlan) -> list[str]:
    return [reason.code for reason in plan.reasons]


class TestOverOrdering:
    """An order for more than a managed stock holds is planned with a quantity_exceeds_stock
    reason per store SKU; it never skips the order by itself."""

    def test_500_against_a_stock_of_100(self) -> None:
        """The reason names the store SKU, the ordered and the available quantity."""
        plan = plan_order(_order(("MJ01", 500)), POLICY, CATALOG, sequence=1)
        assert plan.create
        assert plan.reasons == (
            Step(("order_created", "ALIEXP-000001")),
            Step(("quantity_exceeds_stock", "MJ01", 500, 100)),
        )
        assert plan.reasons[1].message == "MJ01: 500 ordered, but only 100 in stock"
        assert dict(plan.stock_changes) == {"MJ01": -500}

    def test_exactly_the_stock_is_no_warning(self) -> None:
        """Ordering all of the stock is not over-ordering."""
        plan = plan_order(_order(("MJ01", 100)), POLICY, CATALOG, sequence=1)
        assert _codes(plan) == ["order_created"]

    def test_lines_of_one_store_sku_count_together(self) -> None:
        """Two lines of one store SKU, one by its alternate SKU, are summed against its stock."""
        plan = plan_order(_order(("100500-2", 2), ("MJ02", 2)), POLICY, CATALOG, sequence=1)
        assert plan.reasons[1:] == (Step(("quantity_exceeds_stock", "MJ02", 4, 3)),)

    def test_one_reason_per_store_sku_in_line_order(self) -> None:
        """Each over-ordered store SKU gets its own reason, in the order of its first line."""
        plan = plan_order(
            _order(("MJ02", 4), ("MJ01", 1), ("MJ01", 200)), POLICY, CATALOG, sequence=1
        )
        assert plan.reasons[1:] == (
            Step(("quantity_exceeds_stock", "MJ02", 4, 3)),
            Step(("quantity_exceeds_stock", "MJ01", 201, 100)),
        )

    @pytest.mark.parametrize("sku", ["MJ03", "MJ04"])
    def test_no_warning_without_a_managed_stock(self, sku: str) -> None:
        """A product without stock data, or whose stock is not managed, is never over-ordered."""
        plan = plan_order(_order((sku, 1000)), POLICY, CATALOG, sequence=1)
        assert _codes(plan) == ["order_created"]

    def test_placeholders_are_not_over_ordered(self) -> None:
        """A placeholder product has no stock to exceed."""
        policy = attrs.evolve(POLICY, missing_product="create_product")
        plan = plan_order(_order(("NEW-1", 1000)), policy, CATALOG, sequence=1)
        assert _codes(plan) == ["order_created", "product_placeholder"]

    def test_out_of_stock_and_over_ordered_when_allowed(self) -> None:
        """An unavailable product ordered as the policy allows also says how far it is short."""
        plan = plan_order(_order(("MJ05", 2), ("MJ01", 1)), POLICY, CATALOG, sequence=1)
        assert plan.reasons == (
            Step(("order_created", "ALIEXP-000001")),
            Step(("product_unavailable_allowed", "MJ05")),
            Step(("quantity_exceeds_stock", "MJ05", 2, 0)),
        )

    def test_negative_stock(self) -> None:
        """A negative managed quantity (backorders) is what is available, as it is."""
        catalog = {"MJ01": Product(sku="MJ01", stock=Stock(qty=-2))}
        plan = plan_order(_order(("MJ01", 1)), POLICY, catalog, sequence=1)
        assert plan.reasons[1:] == (Step(("quantity_exceeds_stock", "MJ01", 1, -2)),)

    def test_msi_sources_do_not_change_what_is_available(self) -> None:
        """Available is the stock record's qty, whatever MSI sources it carries."""
        stock = Stock(qty=5, sources=(SourceItem(code="eu", qty=50),))
        catalog = {"MJ01": Product(sku="MJ01", stock=stock)}
        plan = plan_order(_order(("MJ01", 6)), POLICY, catalog, sequence=1)
        assert plan.reasons[1:] == (Step(("quantity_exceeds_stock", "MJ01", 6, 5)),)

    def test_skip_rules_are_unchanged(self) -> None:
        """Over-ordering neither skips an order nor adds to a skipped order's reasons."""
        strict = attrs.evolve(POLICY, allow_unavailable_products=False)
        plan = plan_order(_order(("MJ05", 2), ("MJ01", 500)), strict, CATALOG, sequence=1)
        assert plan.reasons == (Step(("product_unavailable", "MJ05")),)

    def test_order_of_reasons(self) -> None:
        """The reason comes after the unavailable products and before an unmapped status."""
        policy = attrs.evolve(POLICY, missing_product="create_product")
        catalog = {**CATALOG, "MJ01": Product(sku="MJ01", enabled=False, stock=Stock(qty=1))}
        plan = plan_order(_order(("NEW", 1), ("MJ01", 2)), policy, catalog, sequence=1)
        assert _codes(plan) == [
            "order_created",
            "product_placeholder",
            "product_unavailable_allowed",
            "quantity_exceeds_stock",
        ]
        unmapped = attrs.evolve(policy, import_statuses=(PAID, "X"))
        order = attrs.evolve(_order(("MJ01", 2)), status="X")
        assert _codes(plan_order(order, unmapped, catalog, sequence=1))[-2:] == [
            "quantity_exceeds_stock",
            "status_unmapped",
        ]

    @given(
        catalogs(min_size=1),
        st.data(),
        order_policies(create_orders=True, allow_unavailable_products=True, customer_mode="guest"),
    )
    def test_warned_exactly_when_the_ordered_sum_exceeds_a_managed_stock(
        self, catalog: FrozenDict[str, Product], data: st.DataObject, policy: OrderPolicy
    ) -> None:
        """A created plan has one quantity_exceeds_stock reason for each existing store SKU whose
        summed ordered quantity is above its managed stock's qty, with those numbers, and none for
        any other SKU; its stock changes are those of a plan without the reason."""
        order = data.draw(channel_orders(skus=st.sampled_from([*catalog]), statuses=(PAID,)))
        policy = attrs.evolve(policy, import_statuses=(PAID,))
        plan = plan_order(order, policy, catalog, sequence=1)
        assert plan.create
        resolver = SkuResolver(catalog, policy.alternate_sku_attribute)
        ordered: Counter[str] = Counter()
        for line in order.lines:
            product = resolver.resolve(line.sku)
            assert product is not None
            ordered[product.sku] += line.qty
        expected = []
        for sku, qty in ordered.items():
            stock = catalog[sku].stock
            if stock is not None and stock.manage_stock and qty > stock.qty:
                expected.append(Step(("quantity_exceeds_stock", sku, qty, stock.qty)))
        found = [reason for reason in plan.reasons if reason.code == "quantity_exceeds_stock"]
        assert found == expected
        assert dict(plan.stock_changes) == {sku: -qty for sku, qty in ordered.items()}


class TestShipmentChannelSku:
    """plan_shipment(shipment, policy, plan=order_plan) sends the channel's SKUs."""

    CATALOG: ClassVar[dict[str, Product]] = {
        "MJ01-M-BLUE": Product(sku="MJ01-M-BLUE", attributes={"aliexpress_sku": "100500-1"}),
        "MJ02": Product(sku="MJ02"),
    }

    def _plan(self, *lines: tuple[str, int]) -> OrderPlan:
        return plan_order(_order(*lines), POLICY, self.CATALOG, sequence=1)

    def test_alternate_sku_goes_back_as_the_channel_sku(self) -> None:
        """A line resolved through the alternate SKU attribute ships as the channel's SKU."""
        order_plan = self._plan(("100500-1", 2), ("MJ02", 1))
        shipment = Shipment(
            order_id="8123",
            carrier="ups",
            tracking_number="1Z999",
            lines=(ShipmentLine(sku="MJ01-M-BLUE", qty=2), ShipmentLine(sku="MJ02", qty=1)),
        )
        plan = plan_shipment(shipment, POLICY, plan=order_plan)
        assert plan == ShipmentPlan(
            order_id="8123",
            channel_carrier="UPS",
            tracking_number="1Z999",
            lines=(ShipmentLine(sku="100500-1", qty=2), ShipmentLine(sku="MJ02", qty=1)),
            steps=(
                Step(("carrier_mapped", "ups", "UPS")),
                Step(("shipment_sku_mapped", "MJ01-M-BLUE", "100500-1")),
            ),
        )
        assert plan.steps[1].message == "the store SKU 'MJ01-M-BLUE' is sent as '100500-1'"

    def test_without_a_plan_lines_are_sent_as_given(self) -> None:
        """Existing calls keep working: without a plan the shipment's SKUs are sent unchanged."""
        shipment = Shipment(
            order_id="8123",
            carrier="ups",
            tracking_number="1Z999",
            lines=(ShipmentLine(sku="MJ01-M-BLUE", qty=2),),
        )
        plan = plan_shipment(shipment, POLICY)
        assert plan is not None
        assert plan.lines == shipment.lines
        assert plan.steps == (Step(("carrier_mapped", "ups", "UPS")),)

    def test_whole_order_shipment_stays_empty(self) -> None:
        """A shipment without lines (the whole order) is sent without lines."""
        shipment = Shipment(order_id="8123", carrier="ups", tracking_number="1Z999")
        plan = plan_shipment(shipment, POLICY, plan=self._plan(("100500-1", 2)))
        assert plan is not None
        assert plan.lines == ()

    def test_one_store_sku_sold_under_two_channel_skus(self) -> None:
        """Shipped items fill the order's lines of that store SKU in order; the last line takes
        any excess."""
        order_plan = self._plan(("100500-1", 2), ("MJ01-M-BLUE", 1))
        shipment = Shipment(
            order_id="8123",
            carrier="ups",
            tracking_number="1Z999",
            lines=(ShipmentLine(sku="MJ01-M-BLUE", qty=1), ShipmentLine(sku="MJ01-M-BLUE", qty=3)),
        )
        plan = plan_shipment(shipment, POLICY, plan=order_plan)
        assert plan is not None
        assert plan.lines == (
            ShipmentLine(sku="100500-1", qty=1),
            ShipmentLine(sku="100500-1", qty=1),
            ShipmentLine(sku="MJ01-M-BLUE", qty=2),
        )
        assert [step.code for step in plan.steps] == [
            "carrier_mapped",
            "shipment_sku_mapped",
            "shipment_sku_mapped",
        ]

    def test_placeholder_line_keeps_its_sku(self) -> None:
        """A placeholder's store SKU is the channel SKU."""
        policy = attrs.evolve(POLICY, missing_product="create_product")
        order_plan = plan_order(_order(("NEW-1", 1)), policy, self.CATALOG, sequence=1)
        shipment = Shipment(
            order_id="8123",
            carrier="ups",
            tracking_number="1Z9",
            lines=(ShipmentLine(sku="NEW-1", qty=1),),
        )
        plan = plan_shipment(shipment, policy, plan=order_plan)
        assert plan is not None
        assert plan.lines == shipment.lines
        assert len(plan.steps) == 1

    def test_sku_not_in_the_plan_is_refused(self) -> None:
        """A shipped SKU that is no store SKU of the plan gives an error with its path."""
        shipment = Shipment(
            order_id="8123",
            carrier="ups",
            tracking_number="1Z9",
            lines=(ShipmentLine(sku="MJ02", qty=1), ShipmentLine(sku="MJ09", qty=1)),
        )
        with pytest.raises(PolicyConfigError) as caught:
            plan_shipment(shipment, POLICY, plan=self._plan(("100500-1", 2), ("MJ02", 1)))
        assert caught.value.errors == [
            (
                "the store SKU 'MJ09' is not in the order plan (its store SKUs: 'MJ01-M-BLUE',"
                " 'MJ02') @ $.lines[1].sku"
            )
        ]

    def test_skipped_plan_is_refused(self) -> None:
        """A skipped order plan created no store order, so nothing of it can ship."""
        skipped = plan_order(_order(("NOPE", 1)), POLICY, self.CATALOG, sequence=1)
        shipment = Shipment(order_id="8123", carrier="ups", tracking_number="1Z9")
        with pytest.raises(PolicyConfigError) as caught:
            plan_shipment(shipment, POLICY, plan=skipped)
        assert caught.value.errors == [
            "the order plan is skipped: it created no store order to ship @ $.plan"
        ]

    def test_not_synced_ignores_the_plan(self) -> None:
        """With shipments not synced nothing is sent, whatever the plan."""
        policy = attrs.evolve(POLICY, sync_shipments=False)
        skipped = plan_order(_order(("NOPE", 1)), policy, self.CATALOG, sequence=1)
        shipment = Shipment(order_id="8123", carrier="ups", tracking_number="1Z9")
        assert plan_shipment(shipment, policy, plan=skipped) is None

    def test_plan_from_json(self) -> None:
        """A plan stored as JSON and loaded back maps the same SKUs."""
        order_plan = self._plan(("100500-1", 2))
        stored = structure(unstructure(order_plan), OrderPlan)
        shipment = Shipment(
            order_id="8123",
            carrier="ups",
            tracking_number="1Z9",
            lines=(ShipmentLine(sku="MJ01-M-BLUE", qty=2),),
        )
        assert plan_shipment(shipment, POLICY, plan=stored) == plan_shipment(
            shipment, POLICY, plan=order_plan
        )

    @given(catalogs(min_size=1), st.data(), order_policies(create_orders=True))
    def test_shipped_items_carry_channel_skus(
        self, catalog: FrozenDict[str, Product], data: st.DataObject, policy: OrderPolicy
    ) -> None:
        """With a created plan, every shipped item goes out under a channel SKU of the plan whose
        line has the shipped store SKU, and the quantity shipped per store SKU is unchanged."""
        order = data.draw(channel_orders(skus=st.sampled_from([*catalog, "NEW-1"])))
        policy = attrs.evolve(
            policy,
            import_statuses=(order.status,),
            missing_product="create_product",
            allow_unavailable_products=True,
            customer=attrs.evolve(policy.customer, mode="guest"),
            sync_shipments=True,
        )
        order_plan = plan_order(order, policy, catalog, sequence=1)
        assert order_plan.create
        store_skus = sorted({line.store_sku for line in order_plan.lines})
        shipment = data.draw(shipments(skus=st.sampled_from(store_skus)))
        policy = attrs.evolve(policy, carrier_mapping={shipment.carrier: "UPS"})
        shipped = shipment.lines
        plan = plan_shipment(shipment, policy, plan=order_plan)
        assert plan is not None
        store_of: dict[str, set[str]] = {}
        for planned in order_plan.lines:
            store_of.setdefault(planned.channel_sku, set()).add(planned.store_sku)
        sent: Counter[str] = Counter()
        for line in plan.lines:
            (store_sku,) = store_of[line.sku]
            sent[store_sku] += line.qty
        given_qty: Counter[str] = Counter()
        for item in shipped:
            given_qty[item.sku] += item.qty
        assert sent == given_qty


class TestPlanAmounts:
    """An order plan carries the order's currency, shipping and tax amounts."""

    ORDER = _order(
        ("MJ01", 1), currency="EUR", shipping_amount=Decimal("4.90"), tax_amount=Decimal("3.99")
    )

    def test_created_plan(self) -> None:
        """A created plan carries the amounts as the channel gave them, and in JSON."""
        plan = plan_order(self.ORDER, POLICY, CATALOG, sequence=1)
        assert plan.create
        assert (plan.currency, plan.shipping_amount, plan.tax_amount) == (
            "EUR",
            Decimal("4.90"),
            Decimal("3.99"),
        )
        data = unstructure(plan)
        assert (data["currency"], data["shipping_amount"], data["tax_amount"]) == (
            "EUR",
            "4.90",
            "3.99",
        )
        assert structure(data, OrderPlan) == plan

    def test_skipped_plan(self) -> None:
        """A skipped plan carries them too: they describe the order, not an action."""
        plan = plan_order(self.ORDER, POLICY, CATALOG, sequence=1, imported={"8123"})
        assert not plan.create
        assert (plan.currency, plan.shipping_amount, plan.tax_amount) == (
            "EUR",
            Decimal("4.90"),
            Decimal("3.99"),
        )

    def test_store_taxes_keep_the_channel_amount(self) -> None:
        """With the store's taxes the plan still reports the tax the channel charged."""
        policy = attrs.evolve(POLICY, use_store_taxes=True)
        plan = plan_order(self.ORDER, policy, CATALOG, sequence=1)
        assert (plan.apply_store_taxes, plan.tax_amount) == (True, Decimal("3.99"))

    def test_plan_stored_before_the_amounts_loads(self) -> None:
        """A plan stored without the amounts loads with the order defaults (USD, 0, 0)."""
        data = unstructure(plan_order(_order(("MJ01", 1)), POLICY, CATALOG, sequence=1))
        for name in ("currency", "shipping_amount", "tax_amount"):
            del data[name]
        plan = structure(data, OrderPlan)
        assert (plan.currency, plan.shipping_amount, plan.tax_amount) == (
            "USD",
            Decimal(0),
            Decimal(0),
        )

    @given(catalogs(), st.data(), order_policies())
    def test_amounts_are_the_orders(
        self, catalog: FrozenDict[str, Product], data: st.DataObject, policy: OrderPolicy
    ) -> None:
        """Every plan, created or skipped, has the order's currency, shipping and tax amounts."""
        order = data.draw(channel_orders(skus=st.sampled_from([*catalog, "MISSING-1"])))
        plan = plan_order(order, policy, catalog, sequence=3)
        assert (plan.currency, plan.shipping_amount, plan.tax_amount) == (
            order.currency,
            order.shipping_amount,
            order.tax_amount,
        )


class TestMoneyStrings:
    """Money given as a decimal string works in the constructors and in attrs.evolve, as in JSON."""

    def test_constructors(self) -> None:
        """Order line prices and order amounts accept decimal strings."""
        line = OrderLine(sku="A", qty=1, price="12.50")
        order = ChannelOrder(
            id="1", status=PAID, lines=(line,), shipping_amount=" 4.9 ", tax_amount="1e1"
        )
        assert line.price == Decimal("12.50")
        assert str(line.price) == "12.50"
        assert (order.shipping_amount, order.tax_amount) == (Decimal("4.9"), Decimal(10))

    def test_evolve(self) -> None:
        """attrs.evolve converts decimal strings the same way."""
        line = attrs.evolve(OrderLine(sku="A", qty=1, price=Decimal(1)), price="7.25")
        order = attrs.evolve(
            ChannelOrder(id="1", status=PAID, lines=(line,)),
            shipping_amount="2.00",
            tax_amount="0.35",
        )
        assert line.price == Decimal("7.25")
        assert (order.shipping_amount, order.tax_amount) == (Decimal("2.00"), Decimal("0.35"))

    def test_same_as_json(self) -> None:
        """A string gives the same model in Python as in JSON."""
        data = {"id": "1", "status": PAID, "lines": [{"sku": "A", "qty": 1, "price": "0.10"}]}
        built = ChannelOrder(id="1", status=PAID, lines=(OrderLine(sku="A", qty=1, price="0.10"),))
        assert structure(data, ChannelOrder) == built

    @pytest.mark.parametrize(
        ("price", "error"),
        [
            ("abc", "expected money (a finite decimal number), got a string @ $.price"),
            ("NaN", "expected money (a finite decimal number), got a string @ $.price"),
            ("-Infinity", "expected money (a finite decimal number), got a string @ $.price"),
            ("1" * 13, "expected money (a finite decimal number), got a string @ $.price"),
            ("", "expected money (a finite decimal number), got a string @ $.price"),
            ("-1.00", "must be >= 0 (got -1.00) @ $.price"),
            (True, "expected money (a finite decimal number), got a boolean @ $.price"),
        ],
    )
    def test_bad_strings_are_refused(self, price: Any, error: str) -> None:
        """A string JSON loading refuses is refused with the constructor's usual check error."""
        with pytest.raises(PolicyConfigError) as caught:
            OrderLine(sku="A", qty=1, price=price)
        assert caught.value.errors == [error]

    def test_bad_string_in_evolve(self) -> None:
        """attrs.evolve refuses a bad string the same way."""
        order = ChannelOrder(id="1", status=PAID, lines=(OrderLine(sku="A", qty=1, price=1),))
        with pytest.raises(PolicyConfigError) as caught:
            attrs.evolve(order, tax_amount="1,50")
        assert caught.value.errors == [
            "expected money (a finite decimal number), got a string @ $.tax_amount"
        ]

    @given(st.decimals(allow_nan=False, allow_infinity=False, min_value=0, max_value=10**11))
    def test_a_decimal_string_is_its_decimal(self, amount: Decimal) -> None:
        """A decimal's string gives that decimal, as JSON loading does."""
        line = OrderLine(sku="A", qty=1, price=str(amount))
        assert line.price == amount
        assert str(line.price) == str(amount)
        assert structure(unstructure(line), OrderLine) == line
