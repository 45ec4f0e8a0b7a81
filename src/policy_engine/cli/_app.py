"""The ``policy-engine`` commands, on click.

Every command returns its exit status: 0 when all went well, 1 when an input is bad or a product
failed, 2 for a usage error (an unknown option value or id, a file that cannot be opened). Bad
input is reported on stderr as one line per problem, naming the file and the line or JSON path;
it never ends in a traceback.
"""

from __future__ import annotations

import json
import pickle
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import partial
from itertools import islice
from typing import Any, TextIO

import attrs
import click

from policy_engine import _batch
from policy_engine._allocation import AllocationPolicy, allocate_product
from policy_engine._config import Account, Configuration
from policy_engine._curve import quantity_curve
from policy_engine._errors import PolicyConfigError
from policy_engine._families import (
    ChildOutcome,
    ChildRole,
    FamilyKind,
    FamilyOutcome,
    ProductFamily,
    evaluate_family,
)
from policy_engine._family_sync import FamilySyncDecision, sync_family
from policy_engine._images import ImageSelection
from policy_engine._inventory import QuantityResult
from policy_engine._listing import (
    ListingOutcome,
    OutcomeError,
    evaluate_listing,
    lifecycle_settings,
    lifecycle_summary,
    lint,
    preview_change,
    sync_listing,
)
from policy_engine._models import Product
from policy_engine._price_set import PriceSet
from policy_engine._pricing import PriceResult
from policy_engine._schema import SCHEMA_KINDS, json_schema
from policy_engine._serialization import unstructure
from policy_engine._stock_sync import ChannelListing, StockEvent, plan_stock_sync
from policy_engine._sync import ChangeKind, ProductChange, SyncPolicy
from policy_engine._version import __version__
from policy_engine.cli import _chart
from policy_engine.cli._demo import run_demo
from policy_engine.cli._io import (
    FAILED,
    USAGE,
    CliError,
    Item,
    LoadProblem,
    ProductReader,
    config_problem_lines,
    decode_line,
    load_configuration,
    load_document,
    os_problem,
)
from policy_engine.cli._output import FORMATS, make_writer, progress, rich_console

__all__ = ["cli", "run"]


EVALUATE_COLUMNS = (
    "sku",
    "account",
    "template",
    "quantity",
    "quantity_rule",
    "price",
    "currency",
    "main_image",
    "image_count",
    "error",
    "kind",
    "parent",
    "detail",
)
PREVIEW_COLUMNS = ("sku", "account", "what", "before", "after")
STOCK_COLUMNS = ("account", "sku", "action", "quantity", "status", "reason")
#: The largest ``--max`` of ``quantity-curve``.
CURVE_LIMIT = 100_000


def run(argv: Sequence[str] | None) -> int:
    """Run the click application; returns the exit status."""
    try:
        status = cli.main(
            args=list(sys.argv[1:] if argv is None else argv),
            prog_name="policy-engine",
            standalone_mode=False,
        )
    except CliError as error:
        for line in error.lines:
            click.echo(line, err=True)
        return error.status
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        click.echo("interrupted", err=True)
        return 130
    return status if isinstance(status, int) else 0


def _iso_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date:
    """Parse ``--on``: a date written ``YYYY-MM-DD``; without it, today in UTC.

    The day is read once, so every product of a run is priced for the same day.
    """
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        msg = f"{value!r} is not a date (use YYYY-MM-DD)"
        raise click.BadParameter(msg, ctx, param) from None


_ON = click.option(
    "--on",
    callback=_iso_date,
    metavar="DATE",
    help="Price as of this date (YYYY-MM-DD; default: today, UTC). Special prices depend on it.",
)
_FORMAT = click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format.",
)
_OUTPUT = click.option(
    "--output",
    "-o",
    default="-",
    metavar="FILE",
    help="Write to FILE instead of standard output.",
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
)
@click.version_option(__version__, prog_name="policy-engine", message="%(prog)s %(version)s")
def cli() -> None:
    """Exact, explainable marketplace policies for store connectors.

    CONFIG is a configuration document (JSON, or TOML by its .toml suffix). PRODUCTS is a JSON
    array of products or JSON Lines (one product per line); - reads standard input.

    Exit status: 0 ok, 1 bad input or a failed product, 2 usage error.
    """


# ------------------------------------------------------------------------------------------ demo


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the outcomes as JSON.")
def demo(*, as_json: bool) -> int:
    """Run the policies on the bundled sample store and explain each decision."""
    run_demo(sys.stdout, as_json=as_json)
    return 0


# ----------------------------------------------------------------------------------------- check


def _policy_counts(config: Configuration) -> str:
    parts = [
        f"{len(config.sync_policies)} sync",
        f"{len(config.inventory_policies)} inventory",
        f"{len(config.pricing_policies)} pricing",
        f"{len(config.image_policies)} image",
        f"{len(config.order_policies)} order",
    ]
    return (
        f"{', '.join(parts)} policies, {len(config.templates)} templates,"
        f" {len(config.accounts)} accounts"
    )


@cli.command()
@click.argument("config", metavar="CONFIG")
@click.option("--strict", is_flag=True, help="Exit with status 1 on warnings too.")
@click.option(
    "--products",
    metavar="PRODUCTS",
    default=None,
    help="A catalog (JSON Lines or a JSON list) to check category conditions against.",
)
def check(*, config: str, strict: bool, products: str | None) -> int:
    """Validate a configuration and warn about suspicious settings.

    Prints every problem (exit 1), or a summary and the warnings of the linter. With
    --products, also warns about a template's category test that matches no product of that
    catalog (a product that cannot be loaded is reported and exits 1).
    """
    loaded = load_configuration(config)
    failed = 0
    catalog: list[Product] | None = None
    families: list[ProductFamily] = []
    if products is not None:
        reader = ProductReader(products)
        reader.check()
        catalog = []
        for _, item in reader:
            if isinstance(item, LoadProblem):
                click.echo(f"{products}: {item.describe()}", err=True)
                failed += 1
            elif isinstance(item, ProductFamily):
                catalog.append(item.parent)
                families.append(item)
            else:
                catalog.append(item)
    warnings = lint(loaded, products=catalog, families=families)
    click.echo(f"{config}: ok: {_policy_counts(loaded)}")
    for warning in warnings:
        click.echo(f"{config}: warning: {warning.message} @ {warning.path} [{warning.code}]")
    if warnings:
        noun = "warning" if len(warnings) == 1 else "warnings"
        click.echo(f"{config}: {len(warnings)} {noun}")
    return FAILED if failed or (strict and warnings) else 0


# -------------------------------------------------------------------------------------- evaluate


def _accounts(config: Configuration, name: str, wanted: Sequence[str]) -> list[str]:
    known = [account.id for account in config.accounts]
    unknown = [account for account in wanted if account not in known]
    if unknown:
        listed = ", ".join(known) or "none defined"
        raise CliError(
            [f"{name}: unknown account {account!r} (known: {listed})" for account in unknown],
            USAGE,
        )
    if not known:
        raise CliError([f"{name}: the configuration has no accounts to evaluate"], FAILED)
    return list(dict.fromkeys(wanted)) if wanted else known


@contextmanager
def _output(name: str) -> Iterator[TextIO]:
    if name == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        out = open(name, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    except OSError as error:
        raise os_problem(name, error) from None
    with out:
        yield out


def _row(
    sku: str,
    account: str,
    template: str | None,
    *,
    quantity: tuple[int, str | None] | None,
    price: PriceResult | None,
    images: ImageSelection | None,
    errors: Sequence[OutcomeError],
    kind: tuple[str | None, str | None, str | None],
) -> dict[str, Any]:
    """One row of ``evaluate``.

    ``quantity`` is (quantity, rule) and ``kind`` is (kind, parent, detail).
    """
    return {
        "sku": sku,
        "account": account,
        "template": template,
        "quantity": None if quantity is None else quantity[0],
        "quantity_rule": None if quantity is None else quantity[1],
        "price": None if price is None else str(price.amount),
        "currency": None if price is None else price.currency,
        "main_image": None if images is None else images.main,
        "image_count": None if images is None else len(images.images),
        "error": "; ".join(f"{error.code}: {error.message}" for error in errors) or None,
        "kind": kind[0],
        "parent": kind[1],
        "detail": kind[2],
    }


def _rule(result: QuantityResult | None) -> tuple[int, str | None] | None:
    return None if result is None else (result.quantity, result.rule.value)


_PRODUCT = ("product", None, None)


def _outcome_row(outcome: ListingOutcome) -> dict[str, Any]:
    return _row(
        outcome.sku,
        outcome.account,
        outcome.template,
        quantity=_rule(outcome.quantity),
        price=outcome.price,
        images=outcome.images,
        errors=outcome.errors,
        kind=_PRODUCT,
    )


def _last_code(steps: Sequence[Any], prefix: str) -> str | None:
    return next((step.code for step in reversed(steps) if step.code.startswith(prefix)), None)


def _family_rows(outcome: FamilyOutcome) -> list[dict[str, Any]]:
    """A family's listing row, then one row per child (its variants, components, left out)."""
    rule = _last_code(outcome.reasons, "family_quantity") or _last_code(
        outcome.reasons, "family_no_variant"
    )
    quantity = None if outcome.quantity is None else (outcome.quantity, rule)
    kind = None if outcome.kind is None else outcome.kind.value
    rows = [
        _row(
            outcome.sku,
            outcome.account,
            outcome.template,
            quantity=quantity,
            price=outcome.price,
            images=outcome.images,
            errors=outcome.errors,
            kind=(kind, None, _family_detail(outcome)),
        )
    ]
    rows.extend(
        _row(
            child.sku,
            outcome.account,
            outcome.template,
            quantity=_rule(child.quantity),
            price=child.price,
            images=child.images,
            errors=child.errors,
            kind=(child.role.value, outcome.sku, _child_detail(child)),
        )
        for child in outcome.children
    )
    return rows


_FAMILY_KINDS = frozenset(kind.value for kind in FamilyKind)


def _families_note(count: int) -> str:
    if not count:
        return ""
    return " (1 product family)" if count == 1 else f" ({count} product families)"


def _family_detail(outcome: FamilyOutcome) -> str | None:
    if not outcome.children:
        return None
    count = len(outcome.children)
    variants = len(outcome.variants)
    if variants or outcome.kind is FamilyKind.CONFIGURABLE:
        return f"{variants} of {count} children are variants"
    components = sum(child.role is ChildRole.COMPONENT for child in outcome.children)
    return f"{components} of {count} children are components"


def _child_detail(child: ChildOutcome) -> str | None:
    if child.role is ChildRole.VARIANT and child.variation:
        return ", ".join(f"{code}={value}" for code, value in child.variation.items())
    return child.reasons[-1].message if child.reasons else None


def _problem_row(problem: LoadProblem) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(EVALUATE_COLUMNS)
    row["sku"] = problem.sku
    row["error"] = f"{problem.code}: {problem.describe()}"
    return row


#: What ``evaluate`` evaluates with: the configuration, the account ids and the day.
_EvaluateSetup = tuple[Configuration, list[str], date]
#: One product's rows, the problem line to report (a product that did not load), and how many
#: of its rows failed.
_Evaluated = tuple[list[dict[str, Any]], str | None, int]
#: Products per chunk handed to a worker process.
_CHUNK_SIZE = 500


def _evaluate_items(setup: _EvaluateSetup, items: Iterable[Item]) -> Iterator[_Evaluated]:
    """Each item's rows, its problem line (a product that did not load) and its failed rows.

    The products and families go through one stream of ``evaluate_many``'s serial evaluation
    (allocation, results shared per template, families), set up once: each outcome equals
    ``evaluate_listing``'s or ``evaluate_family``'s.
    """
    config, account_ids, on = setup
    count = len(account_ids)
    waiting: deque[Item] = deque()

    def fed() -> Iterator[Item]:
        while True:
            yield waiting.popleft()

    outcomes = _batch.outcome_stream(config, fed(), account_ids, on)
    for item in items:
        if isinstance(item, LoadProblem):
            yield [_problem_row(item)], item.describe(), 1
            continue
        rows: list[dict[str, Any]] = []
        failed = 0
        if count:
            waiting.append(item)
            for outcome in islice(outcomes, count):
                if isinstance(outcome, FamilyOutcome):
                    rows.extend(_family_rows(outcome))
                else:
                    rows.append(_outcome_row(outcome))
                failed += bool(outcome.errors)
        yield rows, None, failed


def _evaluate_chunk(setup: _EvaluateSetup, chunk: tuple[bool, list[Any]]) -> list[_Evaluated]:
    """A chunk of :meth:`ProductReader.chunks`, evaluated: raw lines are decoded here."""
    lines, entries = chunk
    if lines:
        decoded = (decode_line(number, raw, first=first) for number, raw, first in entries)
        return list(_evaluate_items(setup, decoded))
    return list(_evaluate_items(setup, (item for _, item in entries)))


def _evaluate_on_workers(
    setup: _EvaluateSetup, reader: ProductReader, workers: int
) -> Iterator[_Evaluated]:
    """Chunks of the input evaluated on worker processes, in file order."""
    encoded = pickle.dumps(setup, pickle.HIGHEST_PROTOCOL)
    tasks = (
        (_batch.dumps(chunk), partial(_evaluate_chunk, setup, chunk))
        for chunk in reader.chunks(_CHUNK_SIZE)
    )
    for results in _batch.in_order(tasks, run_evaluate_chunk, encoded, workers=workers):
        yield from results


def run_evaluate_chunk(setup: bytes, payload: bytes) -> bytes:
    """Evaluate a chunk in a worker process (see :func:`policy_engine._batch.run_chunk`)."""
    with _batch.gc_paused():
        decoded: _EvaluateSetup = _batch.worker_setup(setup)
        chunk = pickle.loads(payload)  # noqa: S301 - bytes our own parent produced
        return _batch.dumps(_evaluate_chunk(decoded, chunk))


def _no_products(name: str) -> CliError:
    return CliError([f"{name}: no products (the file is empty)"], FAILED)


@cli.command()
@click.argument("config", metavar="CONFIG")
@click.argument("products", metavar="PRODUCTS")
@click.option(
    "--account",
    "-a",
    "accounts",
    multiple=True,
    metavar="ID",
    help="Evaluate on this account only (repeatable; default: every account).",
)
@_ON
@_FORMAT
@_OUTPUT
@click.option(
    "--progress/--no-progress",
    "show_progress",
    default=None,
    help="Show a progress bar on stderr (default: when stderr is a terminal and the output"
    " is not).",
)
@click.option(
    "--workers",
    "-j",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Evaluate on N worker processes (JSON Lines are also decoded and loaded there).",
)
def evaluate(
    *,
    config: str,
    products: str,
    accounts: tuple[str, ...],
    on: date,
    fmt: str,
    output: str,
    show_progress: bool | None,
    workers: int,
) -> int:
    """What each account gets for each product: quantity, price and images.

    One row per product and account; a product that cannot be loaded is one row with its error.
    Exit status 1 when any product failed.
    """
    loaded = load_configuration(config)
    account_ids = _accounts(loaded, config, accounts)
    reader = ProductReader(products)
    reader.check()
    rows = failed = families = 0
    to_terminal = output == "-" and sys.stdout.isatty()
    with _output(output) as out:
        writer = make_writer(
            fmt,
            out,
            EVALUATE_COLUMNS,
            numeric=("quantity", "price", "image_count"),
            console=rich_console(out) if to_terminal and fmt == "table" else None,
        )
        bar = progress(reader, products, wanted=show_progress, output_is_terminal=to_terminal)
        setup: _EvaluateSetup = (loaded, account_ids, on)
        results: Iterator[_Evaluated]
        if workers == 1:
            results = _evaluate_items(setup, (item for _, item in reader))
        else:
            results = _evaluate_on_workers(setup, reader, workers)
        try:
            with bar:
                for item_rows, problem, item_failed in results:
                    if problem is not None:
                        click.echo(f"{products}: {problem}", err=True)
                    for row in item_rows:
                        writer.write(row)
                    rows += len(item_rows)
                    failed += item_failed
                    families += bool(item_rows) and item_rows[0]["kind"] in _FAMILY_KINDS
                    bar.advance()
        finally:
            writer.close()
    if reader.count == 0:
        raise _no_products(products)
    click.echo(
        f"{products}: {reader.count} products{_families_note(families)}, {rows} rows,"
        f" {failed} failed" + ("" if output == "-" else f"; written to {output}"),
        err=True,
    )
    return FAILED if failed else 0


# --------------------------------------------------------------------------------------- explain


def _steps(out: list[str], steps: Sequence[Any]) -> None:
    out.extend(f"      - {step.message}" for step in steps)


def _price_set_lines(out: list[str], prices: PriceSet) -> None:
    """The extra prices of a listing, each with its steps, then why any is not sent."""
    currency = prices.currency
    parts: list[tuple[str, str, Sequence[Any]]] = []
    if prices.sale is not None:
        sale = prices.sale
        start = "open" if sale.starts is None else sale.starts.isoformat()
        end = "open" if sale.ends is None else sale.ends.isoformat()
        parts.append(("sale", f"{sale.amount} {currency} ({start} to {end})", sale.steps))
    if prices.list_price is not None:
        parts.append(("list", f"{prices.list_price.amount} {currency}", prices.list_price.steps))
    if prices.map is not None:
        shown = "exposed" if prices.map.expose else "not exposed"
        parts.append(("map", f"{prices.map.amount} {currency} ({shown})", prices.map.steps))
    if prices.business is not None:
        business = prices.business
        tiers = "".join(f", {tier.amount} from {tier.quantity}" for tier in business.tiers)
        parts.append(("business", f"{business.amount} {currency}{tiers}", business.steps))
    if prices.best_offer is not None:
        offer = prices.best_offer
        text = f"accept {offer.accept}, decline {offer.decline} {currency}"
        parts.append(("offers", text, offer.steps))
    if prices.promotion is not None:
        promotion = prices.promotion
        text = f"{promotion.amount} {currency} ({promotion.kind.value})"
        parts.append(("promotion", text, promotion.steps))
    for label, text, steps in parts:
        out.append(f"  {label:<9} {text}")
        _steps(out, steps)
    if prices.steps:
        out.append("  not sent")
        _steps(out, prices.steps)


def _explain_text(
    product: Product,
    line: int,
    name: str,
    outcomes: Sequence[tuple[ListingOutcome, Any, dict[str, str] | None]],
) -> str:
    lines = [f"{product.sku}  {product.name}".rstrip() + f"  ({name} line {line})"]
    for outcome, decision, lifecycle in outcomes:
        _account_head(lines, outcome.account, outcome.template, outcome.reasons, "product")
        if outcome.quantity is not None:
            lines.append(f"  quantity  {outcome.quantity.quantity} [{outcome.quantity.rule.value}]")
            _steps(lines, outcome.quantity.steps)
        if outcome.price is not None:
            lines.append(f"  price     {outcome.price.amount} {outcome.price.currency}")
            _steps(lines, outcome.price.steps)
        if outcome.prices is not None:
            _price_set_lines(lines, outcome.prices)
        for error in outcome.errors:
            lines.append(f"  {error.what:<9} ERROR {error.code}")
            lines.append(f"      - {error.message}")
        if outcome.images is not None:
            images = outcome.images
            count = len(images.images)
            main = images.main or "none"
            lines.append(f"  images    {count} [{images.source.value}] main {main}")
            _steps(lines, images.steps)
        fields = ", ".join(sorted(field.value for field in decision.fields)) or "none"
        lines.append(f"  sync      {decision.action.value} on creation; fields: {fields}")
        _steps(lines, decision.reasons)
        if lifecycle is not None:
            lines.append("  lifecycle what a quantity change does to the listing, by status")
            lines.extend(f"      - {state}: {action}" for state, action in lifecycle.items())
    return "\n".join(lines) + "\n"


def _account_head(
    lines: list[str], account: str, template: str | None, reasons: Sequence[Any], what: str
) -> None:
    """``explain``'s lines that open an account: its template and the reasons for it."""
    lines.append("")
    lines.append(f"account {account}")
    if template is None:
        lines.append(f"  template  none: the {what} is not listed")
    else:
        lines.append(f"  template  {template}")
    _steps(lines, reasons)


def _explain_family(
    config: Configuration,
    family: ProductFamily,
    where: tuple[str, int],
    account_ids: Sequence[str],
    on: date,
    *,
    as_json: bool,
) -> int:
    """``explain`` for a product family (at ``where``, the file and line): its listing on each
    account, then each child."""
    name, line = where
    change = ProductChange(kind=ChangeKind.CREATED, product=family.parent)
    outcomes = [
        (
            evaluate_family(config, family, account, on=on),
            sync_family(config, family, change, account, on=on),
        )
        for account in account_ids
    ]
    if as_json:
        data = {
            "sku": family.parent.sku,
            "line": line,
            "family": family.kind.value,
            "accounts": [
                {"outcome": unstructure(outcome), "sync": unstructure(decision)}
                for outcome, decision in outcomes
            ],
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(_explain_family_text(family, line, name, outcomes), nl=False)
    return FAILED if any(outcome.errors for outcome, _ in outcomes) else 0


def _explain_family_text(
    family: ProductFamily,
    line: int,
    name: str,
    outcomes: Sequence[tuple[FamilyOutcome, FamilySyncDecision]],
) -> str:
    parent = family.parent
    count = len(family.children)
    lines = [
        f"{parent.sku}  {parent.name}".rstrip()
        + f"  ({family.kind.value} family of {count} children; {name} line {line})"
    ]
    for outcome, decision in outcomes:
        _account_head(lines, outcome.account, outcome.template, outcome.reasons, "family")
        if outcome.quantity is not None:
            lines.append(f"  quantity  {outcome.quantity}")
        if outcome.price is not None:
            lines.append(f"  price     {outcome.price.amount} {outcome.price.currency}")
        for error in outcome.errors:
            lines.append(f"  {error.what:<9} ERROR {error.code}")
            lines.append(f"      - {error.message}")
        if outcome.images is not None:
            images = outcome.images
            main = images.main or "none"
            lines.append(f"  images    {len(images.images)} [{images.source.value}] main {main}")
        if outcome.children:
            lines.append(f"  children  {len(outcome.variants)} variants of {count}")
            width = max(len(child.sku) for child in outcome.children)
            for child in outcome.children:
                quantity = "-" if child.quantity is None else str(child.quantity.quantity)
                price = (
                    "-" if child.price is None else f"{child.price.amount} {child.price.currency}"
                )
                detail = _child_detail(child) or ""
                lines.append(
                    f"    {child.sku:<{width}}  {child.role.value:<9}  qty {quantity:>5}"
                    f"  price {price:<12}  {detail}".rstrip()
                )
                if child.quantity is not None:
                    lines.extend(f"        - {step.message}" for step in child.quantity.steps)
                if child.price is not None:
                    lines.extend(f"        - {step.message}" for step in child.price.steps)
                lines.extend(
                    f"        - ERROR {error.code}: {error.message}" for error in child.errors
                )
        fields = ", ".join(sorted(field.value for field in decision.fields)) or "none"
        lines.append(f"  sync      {decision.action.value} on creation; fields: {fields}")
        _steps(lines, decision.reasons)
    return "\n".join(lines) + "\n"


_DEFAULT_LIFECYCLE = lifecycle_settings(
    Configuration(
        sync_policies={"s": SyncPolicy(title="s")},
        accounts=(Account(id="a", channel="aliexpress", sync_policy="s"),),
    ),
    "a",
)


def _lifecycle_of(
    config: Configuration, product: Product, account_id: str, on: date
) -> dict[str, str] | None:
    """The lifecycle summary of an account whose lifecycle settings are not the defaults."""
    if lifecycle_settings(config, account_id) == _DEFAULT_LIFECYCLE:
        return None
    return lifecycle_summary(config, product, account_id, on=on)


@cli.command()
@click.argument("config", metavar="CONFIG")
@click.argument("products", metavar="PRODUCTS")
@click.option(
    "--sku",
    required=True,
    help="The product to explain (for a product family: its parent's or a child's SKU).",
)
@click.option(
    "--account",
    "-a",
    "accounts",
    multiple=True,
    metavar="ID",
    help="Explain on this account only (repeatable; default: every account).",
)
@_ON
@click.option("--json", "as_json", is_flag=True, help="Print the outcomes as JSON.")
def explain(
    *,
    config: str,
    products: str,
    sku: str,
    accounts: tuple[str, ...],
    on: date,
    as_json: bool,
) -> int:
    """Why a product gets what it gets on each account: every step, and the sync decision.

    The sync decision is the one for the product's creation in the store (a new listing).
    """
    loaded = load_configuration(config)
    account_ids = _accounts(loaded, config, accounts)
    reader = ProductReader(products)
    unreadable = 0
    for line, item in reader:
        if isinstance(item, LoadProblem):
            if item.sku == sku or item.sku is None:
                unreadable += 1
                click.echo(f"{products}: {item.describe()}", err=True)
            continue
        if isinstance(item, ProductFamily):
            if sku != item.parent.sku and all(child.sku != sku for child in item.children):
                continue
            return _explain_family(loaded, item, (products, line), account_ids, on, as_json=as_json)
        if item.sku != sku:
            continue
        change = ProductChange(kind=ChangeKind.CREATED, product=item)
        outcomes = [
            (
                evaluate_listing(loaded, item, account, on=on),
                sync_listing(loaded, change, account),
                _lifecycle_of(loaded, item, account, on),
            )
            for account in account_ids
        ]
        if as_json:
            data = {
                "sku": item.sku,
                "line": line,
                "accounts": [
                    {
                        "outcome": unstructure(outcome),
                        "sync": unstructure(decision),
                        **({} if lifecycle is None else {"lifecycle": lifecycle}),
                    }
                    for outcome, decision, lifecycle in outcomes
                ],
            }
            click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            click.echo(_explain_text(item, line, products, outcomes), nl=False)
        return FAILED if any(outcome.errors for outcome, _, _ in outcomes) else 0
    if reader.count == 0:
        raise _no_products(products)
    hint = f" ({unreadable} products could not be read)" if unreadable else ""
    raise CliError([f"{products}: no product with SKU {sku!r}{hint}"], FAILED)


# --------------------------------------------------------------------------------------- preview


def _brief(what: str, value: Any) -> str | None:
    if value is None:
        return None
    if what == "listing":
        return "listed"
    if what == "quantity":
        return f"{value['quantity']} [{value['rule']}]"
    if what == "price":
        if "error" in value:
            return f"error {value['error']}"
        return f"{value['amount']} {value['currency']}"
    if what == "images":
        return ", ".join(value) if value else "no images"
    if what == "sync":
        return "; ".join(
            f"{when}: {', '.join(fields) or 'nothing'}" for when, fields in value.items()
        )
    return str(value)


def _preview_text(row: Mapping[str, Any]) -> Mapping[str, Any]:
    what = row["what"]
    return {
        **row,
        "before": _brief(what, row["before"]) or "-",
        "after": _brief(what, row["after"]) or "-",
    }


@cli.command()
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.argument("products", metavar="PRODUCTS")
@_ON
@_FORMAT
@_OUTPUT
def preview(*, old: str, new: str, products: str, on: date, fmt: str, output: str) -> int:
    """What changes for each listing when configuration OLD is replaced by NEW.

    One row per listing part (template, quantity, price, images) that differs; an account only
    one configuration has shows as a "listing" change. Exit status 1 when a product could not
    be loaded.
    """
    before = load_configuration(old)
    after = load_configuration(new)
    reader = ProductReader(products)
    reader.check()
    changes = failed = 0
    with _output(output) as out:
        to_terminal = output == "-" and sys.stdout.isatty()
        writer = make_writer(
            fmt,
            out,
            PREVIEW_COLUMNS,
            text=_preview_text,
            console=rich_console(out) if to_terminal and fmt == "table" else None,
        )
        try:
            for _, item in reader:
                if isinstance(item, LoadProblem):
                    click.echo(f"{products}: {item.describe()}", err=True)
                    failed += 1
                    continue
                if isinstance(item, ProductFamily):
                    found = preview_change(before, after, (), on=on, families=(item,))
                else:
                    found = preview_change(before, after, (item,), on=on)
                for change in found:
                    # The JSON form: before and after as plain lists and objects.
                    writer.write(unstructure(change))
                    changes += 1
        finally:
            writer.close()
    if reader.count == 0:
        raise _no_products(products)
    click.echo(f"{products}: {reader.count} products, {changes} changes, {failed} failed", err=True)
    return FAILED if failed else 0


# -------------------------------------------------------------------------------------- allocate

ALLOCATE_COLUMNS = (
    "sku",
    "account",
    "strategy",
    "sellable",
    "share",
    "reserved",
    "quantity",
    "sources",
    "locations",
    "error",
)


def _units(values: Mapping[str, int]) -> str:
    return ", ".join(f"{key}={value}" for key, value in values.items())


@cli.command(name="allocate")
@click.argument("config", metavar="CONFIG")
@click.argument("products", metavar="PRODUCTS")
@_FORMAT
@_OUTPUT
def allocate_command(*, config: str, products: str, fmt: str, output: str) -> int:
    """How each product's stock is split across the accounts that list it.

    One row per product and listing account (every account whose templates match the product),
    under the configuration's allocation section (shared stock without one); a product that
    cannot be loaded is one row with its error. Exit status 1 when any product failed.
    """
    loaded = load_configuration(config)
    section = loaded.allocation if loaded.allocation is not None else AllocationPolicy()
    working = attrs.evolve(loaded, allocation=section)
    reader = ProductReader(products)
    reader.check()
    rows = failed = 0
    with _output(output) as out:
        writer = make_writer(
            fmt, out, ALLOCATE_COLUMNS, numeric=("sellable", "share", "reserved", "quantity")
        )
        try:
            for _, item in reader:
                if not isinstance(item, Product):
                    row: dict[str, Any] = dict.fromkeys(ALLOCATE_COLUMNS)
                    if isinstance(item, LoadProblem):
                        row["sku"], row["error"] = item.sku, f"{item.code}: {item.describe()}"
                        click.echo(f"{products}: {item.describe()}", err=True)
                    else:
                        row["sku"], row["error"] = item.parent.sku, "families are not allocated"
                    writer.write(row)
                    rows += 1
                    failed += 1
                    continue
                allocation = allocate_product(working, item)
                assert allocation is not None  # the working configuration has a section
                for share in allocation.shares:
                    writer.write(
                        {
                            "sku": item.sku,
                            "account": share.account,
                            "strategy": allocation.strategy.value,
                            "sellable": allocation.sellable,
                            "share": share.share,
                            "reserved": share.reserved,
                            "quantity": share.quantity.quantity,
                            "sources": _units(share.sources),
                            "locations": _units(share.locations),
                            "error": None,
                        }
                    )
                    rows += 1
        finally:
            writer.close()
    if reader.count == 0:
        raise _no_products(products)
    click.echo(f"{products}: {reader.count} products, {rows} rows, {failed} failed", err=True)
    return FAILED if failed else 0


# ------------------------------------------------------------------------------------ stock-sync


def _stock_rows(plan: Any, listings: Sequence[ChannelListing]) -> list[dict[str, Any]]:
    """One row per listing of the event's SKU, in the order of the listings."""
    rows: dict[str, dict[str, Any]] = {}
    for update in plan.updates:
        rows[update.account] = {
            "action": "relist" if update.action.value == "relist" else "send",
            "quantity": update.quantity,
            "status": None if update.next_status is None else update.next_status.value,
            "reason": (
                f"relists with {update.quantity}"
                if update.action.value == "relist"
                else f"sends {update.quantity} (rule {update.rule.value})"
            ),
            "sku": update.sku,
        }
    for stop in plan.stops:
        rows[stop.account] = {
            "action": "stop",
            "quantity": None,
            "status": stop.next_status.value,
            "reason": stop.reason.message,
            "sku": stop.sku,
        }
    for skip in plan.skipped:
        rows[skip.account] = {
            "action": "none",
            "quantity": None,
            "status": None,
            "reason": skip.reason.message,
            "sku": skip.sku,
        }
    ordered = []
    for listing in listings:
        row = rows.pop(listing.account, None)
        if row is not None:
            ordered.append({"account": listing.account, **row})
    return ordered


@cli.command("stock-sync")
@click.argument("config", metavar="CONFIG")
@click.argument("event", metavar="EVENT")
@click.argument("listings", metavar="LISTINGS")
@_FORMAT
@_OUTPUT
def stock_sync(*, config: str, event: str, listings: str, fmt: str, output: str) -> int:
    """What a stock event sends to each channel listing of the product, and why.

    EVENT is a JSON stock event; LISTINGS a JSON array of channel listings (with their
    status: active, inactive, ended, user_stopped). One row per listing of the event's SKU:
    send (the quantity), relist, stop (and the status after), or none, with the reason.
    """
    loaded = load_configuration(config)
    stock_event = load_document(event, StockEvent)
    channel_listings = load_document(listings, tuple[ChannelListing, ...])
    try:
        plan = plan_stock_sync(stock_event, channel_listings, loaded)
    except PolicyConfigError as error:
        raise CliError(config_problem_lines(listings, error), FAILED) from None
    rows = _stock_rows(plan, channel_listings)
    with _output(output) as out:
        to_terminal = output == "-" and sys.stdout.isatty()
        writer = make_writer(
            fmt,
            out,
            STOCK_COLUMNS,
            text=lambda row: {key: "-" if value is None else value for key, value in row.items()},
            numeric=("quantity",),
            console=rich_console(out) if to_terminal and fmt == "table" else None,
        )
        try:
            for row in rows:
                writer.write(row)
        finally:
            writer.close()
    return 0


# ---------------------------------------------------------------------------------------- schema


@cli.command(
    help=(
        "The JSON Schema of the configuration document (without KIND) or of one KIND of policy"
        f" or input: {', '.join(SCHEMA_KINDS)}."
    )
)
@click.argument("kind", metavar="[KIND]", required=False)
@_OUTPUT
def schema(*, kind: str | None, output: str) -> int:
    """Print a JSON Schema, for an admin interface that renders and validates forms."""
    if kind is not None and kind not in SCHEMA_KINDS:
        known = ", ".join(SCHEMA_KINDS)
        raise CliError([f"schema: unknown kind {kind!r} (known: {known})"], USAGE)
    with _output(output) as out:
        out.write(json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n")
    return 0


# -------------------------------------------------------------------------------- quantity-curve


@cli.command(name="quantity-curve")
@click.argument("config", metavar="CONFIG")
@click.argument("policy_id", metavar="POLICY_ID")
@click.option(
    "--max",
    "maximum",
    required=True,
    type=click.IntRange(0, CURVE_LIMIT),
    metavar="N",
    help=f"The largest store quantity (0 to {CURVE_LIMIT:,}).",
)
@click.option(
    "--plot",
    metavar="FILE",
    help="Also draw the curve to FILE (.svg or .png; needs the plot extra).",
)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(("table", "json", "csv")),
    default="table",
    show_default=True,
    help="table: the table and a text chart; json and csv: every point.",
)
def quantity_curve_command(
    *, config: str, policy_id: str, maximum: int, plot: str | None, fmt: str
) -> int:
    """What inventory policy POLICY_ID lists for each store quantity 0…N, and by which rule."""
    if plot is not None:
        _chart.check_plot_target(plot)
    loaded = load_configuration(config)
    policy = loaded.inventory_policies.get(policy_id)
    if policy is None:
        known = ", ".join(sorted(loaded.inventory_policies)) or "none defined"
        raise CliError(
            [f"{config}: unknown inventory policy {policy_id!r} (known: {known})"], USAGE
        )
    points = quantity_curve(policy, maximum)
    out = sys.stdout
    if fmt == "json":
        out.write(json.dumps([unstructure(point) for point in points], indent=1) + "\n")
    elif fmt == "csv":
        writer = make_writer("csv", out, ("store_quantity", "quantity", "rule"))
        for point in points:
            writer.write(unstructure(point))
    else:
        out.write(_chart.curve_text(policy_id, policy, points, encoding=out.encoding))
    if plot is not None:
        _chart.save_plot(policy_id, policy, points, plot)
        click.echo(f"{plot}: written", err=True)
    return 0


# ----------------------------------------------------------------------------------------- serve


@cli.command()
@click.argument("config", metavar="CONFIG")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="The port."
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds a client has to send a whole request body (slower: 408).",
)
@click.option(
    "--log-level",
    type=click.Choice(("critical", "error", "warning", "info", "debug")),
    default="info",
    show_default=True,
)
def serve(*, config: str, host: str, port: int, body_timeout: float, log_level: str) -> int:
    """Serve CONFIG over HTTP/JSON, with the OpenAPI document and the playground at /.

    Needs the serve extra (Starlette and uvicorn). SIGHUP or POST /v1/reload reads CONFIG again;
    a document that does not load keeps the old one serving.
    """
    try:
        from policy_engine.service import serve as run_service  # noqa: PLC0415 - optional extra
    except ImportError as error:
        raise CliError([f"serve: {error}"], USAGE) from None
    load_configuration(config)  # every problem, one per line, before the server starts
    run_service(config, host=host, port=port, body_timeout=body_timeout, log_level=log_level)
    return 0


# The audit commands (replay, why, test) register themselves on the group above.
from policy_engine.cli import _audit  # noqa: E402, F401
