"""Allocation across channels: one product's stock split over the accounts that list it.

Without allocation every account computes its quantity alone, so five channels can each be
offered the whole stock. An :class:`AllocationPolicy` (the configuration's ``allocation``
section) splits the *sellable pool* of a product across the accounts that list it, so that the
quantities offered never add up to more than can be sold. :func:`allocate` is the whole rule,
read top to bottom:

1. **The pool.** The product's MSI sources that are enabled and in stock (or its single store
   quantity, counted as the source ``default``), less Magento's reservations and out-of-stock
   threshold with ``salable``.
2. **Reservations** (every strategy but ``shared``): each account in service order (the
   ``priority`` list, then the others in the order given) sets aside up to its ``reserve``
   from its own sources.
3. **The rest**, by strategy: ``reserved`` splits it by weight among the accounts without a
   reservation; ``weights`` among every account; ``priority`` gives each account in turn what
   is left.
4. **The account's inventory policy inside its share**: ``compute_quantity`` of the share as if
   it were the store quantity (buffer, percentage, threshold, caps, pack size), then capped at
   the share, so no policy setting can list more than the share.

The ``shared`` strategy (the default) keeps today's behaviour exactly: every account computes
its quantity from the whole stock, as :func:`~policy_engine.compute_quantity` does.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from policy_engine._inventory import (
    InventoryPolicy,
    MsiSettings,
    QuantityResult,
    QuantityRule,
    compute_quantity,
)
from policy_engine._limits import MAX_ACCOUNTS, MAX_ID_LENGTH, MAX_SOURCES
from policy_engine._models import Stock
from policy_engine._steps import Step, define_messages
from policy_engine._validation import (
    Checked,
    FrozenDict,
    Problem,
    at_least,
    check,
    describe,
    fast_constructor,
    is_bool,
    is_int,
    is_member,
    key_path,
    max_items,
    shown,
    text,
)

if TYPE_CHECKING:  # pragma: no cover
    from policy_engine._config import Configuration
    from policy_engine._models import Product
    from policy_engine._stock_sync import ChannelListing, StockEvent

__all__ = [
    "AccountAllocation",
    "AccountShare",
    "Allocation",
    "AllocationPolicy",
    "AllocationStrategy",
    "Allocator",
    "SourceSelection",
    "allocate",
    "allocate_product",
    "select_sources",
]

#: The source code a single-source stock's quantity is counted under (Magento's default source).
DEFAULT_SOURCE = "default"


class AllocationStrategy(enum.StrEnum):
    """How a product's sellable pool is split across the accounts that list it."""

    SHARED = "shared"
    RESERVED = "reserved"
    PRIORITY = "priority"
    WEIGHTS = "weights"


define_messages(
    {
        "allocation_shared": "shared stock: this account sees the whole stock, as every other",
        "allocation_not_tracked": "the store does not track this stock: nothing to allocate",
        "allocation_pool": "{0} units can be sold across {1} accounts",
        "allocation_salable": (
            "{2} units held back for open orders ({0:+d} reserved) and the out-of-stock"
            " threshold {1}"
        ),
        "allocation_sources": "this account draws from the sources {0}",
        "allocation_reserved": "{0} of its reservation of {1} set aside for it",
        "allocation_reserved_only": "it has a reservation: it gets nothing beyond it",
        "allocation_weight": "weight {0} of {1}: {3} of the {2} units left after reservations",
        "allocation_priority": "priority {0}: {1} units left for it",
        "allocation_sources_short": "its sources hold only {1} of the {0} units allotted to it",
        "allocation_share": "its share: {0} units, its inventory policy applies inside it",
        "allocation_cap": "capped at its share {1} (was {0})",
        "location_unmapped": (
            "source {0!r} has no channel location: its {1} units are not reported per location"
        ),
    }
)


# ------------------------------------------------------------------------------ configuration


def _str_tuple(values: Any) -> Any:
    if type(values) is tuple or isinstance(values, str) or not isinstance(values, Iterable):
        return values
    return tuple(values)


def _frozen_mapping(values: Any) -> Any:
    if type(values) is FrozenDict or not isinstance(values, Mapping):
        return values
    return FrozenDict(values)


def _codes(what: str) -> Any:
    def _check(values: Any) -> str | None:
        if not isinstance(values, tuple):
            return f"expected a list of {what}, got {describe(values)}"
        seen: set[str] = set()
        for value in values:
            if type(value) is not str or not value or len(value) > MAX_ID_LENGTH:
                return (
                    f"expected a list of non-empty strings of at most {MAX_ID_LENGTH}"
                    f" characters, got {_shown(value)} in it"
                )
            if value in seen:
                return f"{value!r} is listed twice"
            seen.add(value)
        return None

    return _check


def _shown(value: Any) -> str:
    return shown(value) if type(value) is str else describe(value)


def _locations(values: Any) -> str | None:
    if not isinstance(values, Mapping):
        return f"expected an object of source code → location id, got {describe(values)}"
    for key, value in values.items():
        for item in (key, value):
            if type(item) is not str or not item or len(item) > MAX_ID_LENGTH:
                return (
                    f"source codes and location ids must be non-empty strings of at most"
                    f" {MAX_ID_LENGTH} characters, got {_shown(item)}"
                )
    return None


def _to_strategy(value: Any) -> Any:
    try:
        return AllocationStrategy(value) if type(value) is str else value
    except ValueError:
        return value


@attrs.frozen(kw_only=True)
class AccountAllocation(Checked):
    """One account's part in an allocation.

    Attributes:
        reserve: Units set aside for this account before anything else is split (every
            strategy but ``shared``). Under ``reserved`` an account with a reservation gets
            exactly it; under ``priority`` and ``weights`` it also takes part in the rest.
        weight: Its weight in a split of the rest (``weights``, and ``reserved`` among the
            accounts without a reservation). 0 takes no part.
        sources: The MSI source codes the account draws from (the channel's warehouses); empty
            means every source. A single-source stock is the source ``default``.
        locations: Source code → the channel's location id, for channels that take a quantity
            per location (Amazon multi-location inventory, Shopify locations).
    """

    reserve: int = attrs.field(default=0, metadata=check(is_int, at_least(0)))
    weight: int = attrs.field(default=1, metadata=check(is_int, at_least(0)))
    sources: tuple[str, ...] = attrs.field(
        default=(),
        converter=_str_tuple,
        metadata=check(max_items(MAX_SOURCES), _codes("source codes")),
    )
    locations: FrozenDict[str, str] = attrs.field(
        factory=FrozenDict,
        converter=_frozen_mapping,
        metadata=check(max_items(MAX_SOURCES), _locations),
    )


def _accounts(values: Any) -> str | None:
    if not isinstance(values, Mapping):
        return f"expected an object of account settings by account id, got {describe(values)}"
    for key, value in values.items():
        problem = text(MAX_ID_LENGTH, required=True)(key)
        if problem is not None:
            return f"account ids: {problem}"
        if not isinstance(value, AccountAllocation):
            return f"expected account allocation settings for {key!r}, got {describe(value)}"
    return None


_DEFAULT_ACCOUNT = AccountAllocation()


@attrs.frozen(kw_only=True)
class AllocationPolicy(Checked):
    """How a product's stock is split across the accounts that list it (``allocation``).

    Attributes:
        strategy: ``shared`` (every account sees the whole stock: no allocation),
            ``reserved``, ``priority`` or ``weights``.
        accounts: Account id → its settings; an account not named has no reservation, weight
            1, every source and no locations.
        priority: Account ids in service order: they set aside their reservations, and (under
            ``priority``) take what is left, first. Accounts not named follow in the order
            given.
        salable: Allocate Magento's salable quantity: the sources' total less the open orders'
            reservations and the out-of-stock threshold.
    """

    strategy: AllocationStrategy = attrs.field(
        default=AllocationStrategy.SHARED,
        converter=_to_strategy,
        metadata=check(is_member(AllocationStrategy)),
    )
    accounts: FrozenDict[str, AccountAllocation] = attrs.field(
        factory=FrozenDict,
        converter=_frozen_mapping,
        metadata=check(max_items(MAX_ACCOUNTS), _accounts),
    )
    priority: tuple[str, ...] = attrs.field(
        default=(),
        converter=_str_tuple,
        metadata=check(max_items(MAX_ACCOUNTS), _codes("account ids")),
    )
    salable: bool = attrs.field(default=False, metadata=check(is_bool))

    @property
    def changes_quantities(self) -> bool:
        """Whether the section can change a listed quantity: a strategy other than ``shared``,
        or an account drawing from some sources only."""
        if self.strategy is not AllocationStrategy.SHARED:
            return True
        return any(settings.sources for settings in self.accounts.values())

    def settings(self, account_id: str) -> AccountAllocation:
        """An account's settings (the defaults for an account not named)."""
        return self.accounts.get(account_id, _DEFAULT_ACCOUNT)

    def reference_problems(self, known: Iterable[str], path: str) -> list[Problem]:
        """Account ids this section names that the configuration does not have."""
        ids = set(known)
        listed = ", ".join(sorted(ids)) or "none defined"
        problems: list[Problem] = [
            (f"{path}.accounts{key_path(key)}", f"unknown account {key!r} (known: {listed})")
            for key in self.accounts
            if key not in ids
        ]
        problems.extend(
            (f"{path}.priority[{index}]", f"unknown account {key!r} (known: {listed})")
            for index, key in enumerate(self.priority)
            if key not in ids
        )
        return problems


# -------------------------------------------------------------------------------------- results


@attrs.frozen(kw_only=True)
class AccountShare:
    """What one account gets of a product's stock.

    Attributes:
        account: The account id.
        share: The units set aside for the account (0 under ``shared``, where nothing is).
        reserved: The units of its reservation it got (at most its ``reserve``).
        quantity: The quantity it lists: its inventory policy applied inside its share. Its
            steps start with the allocation's steps for the account.
        sources: Source code → the listed units drawn from it (they add up to the quantity
            whenever the quantity comes from stock).
        locations: Channel location id → listed units, through the account's ``locations``.
        steps: The allocation's steps for this account (also the first steps of ``quantity``).
    """

    account: str
    share: int
    reserved: int
    quantity: QuantityResult
    sources: FrozenDict[str, int]
    locations: FrozenDict[str, int]
    steps: tuple[Step, ...]


@attrs.frozen(kw_only=True)
class Allocation:
    """A product's stock split across the accounts that list it.

    Attributes:
        strategy: The strategy that split it.
        sellable: The pool: the units that can be sold (0 for stock the store does not track).
        shares: One share per account, in the order the accounts were given.
        steps: How the pool was found.
    """

    strategy: AllocationStrategy
    sellable: int
    shares: tuple[AccountShare, ...]
    steps: tuple[Step, ...]

    @property
    def quantities(self) -> dict[str, int]:
        """Account id → the quantity it lists."""
        return {share.account: share.quantity.quantity for share in self.shares}

    def share(self, account_id: str) -> AccountShare | None:
        """The share of an account, or ``None`` when it was not given."""
        for share in self.shares:
            if share.account == account_id:
                return share
        return None


_share = fast_constructor(AccountShare)
_allocation = fast_constructor(Allocation)
_quantity = fast_constructor(QuantityResult)
_stock = fast_constructor(Stock)
_EMPTY: FrozenDict[str, int] = FrozenDict()
_SHARED = Step(("allocation_shared",))
_NOT_TRACKED = Step(("allocation_not_tracked",))
_RESERVED_ONLY = Step(("allocation_reserved_only",))
_DISABLED = QuantityResult(
    quantity=0, rule=QuantityRule.PRODUCT_DISABLED, steps=(Step(("product_disabled",)),)
)
#: Results of an inventory policy per share, kept per account up to this many shares.
_MEMO_SIZE = 4096
_MANAGED = True
_NO_UNITS: dict[str, int] = {}
_NO_STEPS: list[list[Step]] = []


# ------------------------------------------------------------------------------------ allocator


class _Account:
    """One account as an allocator serves it: settings, policy and memo of results."""

    __slots__ = (
        "id",
        "index",
        "inside",
        "locations",
        "memo",
        "policy",
        "reserve",
        "shared_policy",
        "sources",
        "weight",
    )

    def __init__(
        self, index: int, account_id: str, policy: InventoryPolicy, settings: AccountAllocation
    ) -> None:
        self.index = index
        self.id = account_id
        self.policy = policy
        self.reserve = settings.reserve
        self.weight = settings.weight
        self.sources = settings.sources
        self.locations = settings.locations
        # Inside a share the share is the store quantity: the policy's own MSI reading is off.
        self.inside = policy if policy.msi is None else attrs.evolve(policy, msi=None)
        # Under ``shared`` an account's sources replace those of its policy's MSI reading.
        if settings.sources:
            salable = policy.msi.salable if policy.msi is not None else False
            msi = MsiSettings(sources=settings.sources, salable=salable)
            self.shared_policy = attrs.evolve(policy, msi=msi)
        else:
            self.shared_policy = policy
        self.memo: dict[tuple[int, bool], QuantityResult] = {}

    def inside_share(self, share: int, in_stock: bool) -> QuantityResult:
        """The policy's result for a share, as if the share were the store quantity."""
        key = (share, in_stock)
        found = self.memo.get(key)
        if found is None:
            memo = self.memo
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            found = memo[key] = compute_quantity(
                _stock(share, in_stock, _MANAGED, (), 0, 0), self.inside
            )
        return found


def _pool(stock: Stock, salable: bool) -> tuple[dict[str, int], int, int]:
    """The sellable units per source (in the stock's order), their total, and the units held
    back for open orders with ``salable``."""
    if not stock.in_stock:
        return {}, 0, 0
    units: dict[str, int] = {}
    if stock.sources:
        for item in stock.sources:
            if item.enabled and item.in_stock and item.qty > 0:
                units[item.code] = units.get(item.code, 0) + item.qty
    elif stock.qty > 0:
        units[DEFAULT_SOURCE] = stock.qty
    total = sum(units.values())
    held = 0
    if salable:
        held = min(total, max(0, stock.out_of_stock_threshold - stock.reserved))
        left = held
        for code, qty in units.items():  # held back from the sources in order
            taken = min(qty, left)
            units[code] = qty - taken
            left -= taken
        total -= held
    return units, total, held


def _pool_total(stock: Stock, salable: bool) -> int:
    """The pool's total, as :func:`_pool` counts it (the fast way for a single-source stock)."""
    if stock.sources or salable:
        return _pool(stock, salable)[1]
    qty = stock.qty
    return qty if qty > 0 and stock.in_stock else 0


def _draw(units: dict[str, int], codes: tuple[str, ...], wanted: int) -> dict[str, int]:
    """Take up to ``wanted`` units from the sources ``codes`` (every source when empty), in
    the pool's order; return what was taken per source."""
    taken: dict[str, int] = {}
    if wanted <= 0:
        return taken
    for code in units if not codes else [c for c in units if c in codes]:
        qty = units[code]
        if qty:
            part = qty if qty < wanted else wanted
            units[code] = qty - part
            taken[code] = part
            wanted -= part
            if not wanted:
                break
    return taken


def _reach(units: dict[str, int], codes: tuple[str, ...], total: int) -> int:
    if not codes:
        return total
    return sum(units.get(code, 0) for code in codes)


def _split(rest: int, weights: list[int]) -> list[int]:
    """Largest-remainder split of ``rest`` by ``weights``: the parts add up to ``rest`` exactly
    (0 everywhere when every weight is 0); ties go to the earlier account."""
    total = sum(weights)
    if not total or rest <= 0:
        return [0] * len(weights)
    parts = [rest * weight // total for weight in weights]
    left = rest - sum(parts)
    if left:
        order = sorted(range(len(weights)), key=lambda i: (-(rest * weights[i] % total), i))
        for index in order[:left]:
            parts[index] += 1
    return parts


class Allocator:
    """An allocation policy compiled for a set of accounts and their inventory policies.

    Build one per set of listing accounts and call :meth:`allocate` per product (or
    :meth:`quantities` when only the numbers are needed): the work that depends on the policies
    alone is done once, and each account keeps the results of its inventory policy per share.
    :func:`allocate` builds one for a single call.
    """

    __slots__ = (
        "_accounts",
        "_all_shared",
        "_given",
        "_memo",
        "_restricted",
        "_salable",
        "_takers",
        "_weights",
        "policy",
    )

    def __init__(self, policy: AllocationPolicy, accounts: Mapping[str, InventoryPolicy]) -> None:
        self.policy = policy
        given = [
            _Account(index, key, value, policy.settings(key))
            for index, (key, value) in enumerate(accounts.items())
        ]
        self._given = tuple(given)
        # Service order: the priority list, then the others as given.
        rank = {key: index for index, key in enumerate(policy.priority)}
        self._accounts = tuple(sorted(given, key=lambda account: rank.get(account.id, len(rank))))
        self._restricted = any(account.sources for account in given)
        self._all_shared = policy.strategy is AllocationStrategy.SHARED
        self._salable = policy.salable
        self._memo: dict[tuple[int, ...], tuple[int, ...]] = {}
        # The accounts that split the rest, and their weights (``reserved`` and ``weights``).
        weights = policy.strategy is AllocationStrategy.WEIGHTS
        self._takers = tuple(a for a in self._accounts if weights or not a.reserve)
        self._weights = [account.weight for account in self._takers]

    def quantities(self, stock: Stock | None, *, enabled: bool = True) -> tuple[int, ...]:
        """The quantity each account lists, in the order the accounts were given.

        The same numbers as :meth:`allocate`, without the explanations. When every account
        draws from every source, an allocation depends on the stock only through a few numbers
        (the pool and the stock status; under ``shared``, a single-source stock's fields), so
        the quantities are kept per such key: a catalog's many products with the same stock
        level cost one dictionary look-up each.
        """
        if enabled and stock is not None and stock.manage_stock and not self._restricted:
            key: tuple[int, ...] | None
            if not self._all_shared:
                key = (_pool_total(stock, self._salable), stock.in_stock)
            elif not stock.sources:
                key = (stock.qty, stock.in_stock, stock.reserved, stock.out_of_stock_threshold)
            else:
                key = None
            if key is not None:
                memo = self._memo
                found = memo.get(key)
                if found is None:
                    if len(memo) >= _MEMO_SIZE * 4:
                        memo.clear()
                    results = self._run(stock, enabled=enabled, explain=False)[0]
                    found = memo[key] = tuple(result.quantity for result in results)
                return found
        results = self._run(stock, enabled=enabled, explain=False)[0]
        return tuple(result.quantity for result in results)

    def allocate(self, stock: Stock | None, *, enabled: bool = True) -> Allocation:
        """The allocation of a product's stock, each account's share explained."""
        results, shares, reserved, draws, steps, sellable = self._run(
            stock, enabled=enabled, explain=True
        )
        built = []
        for index, account in enumerate(self._given):
            result = results[index]
            drawn = draws[index] if draws is not None else {}
            by_source, locations, notes = _listed_by_source(account, drawn, result.quantity)
            account_steps = steps[index] + notes
            if self.policy.strategy is AllocationStrategy.SHARED:
                quantity = result  # exactly compute_quantity's result, as without allocation
            else:
                quantity = _quantity(result.quantity, result.rule, account_steps + result.steps)
            built.append(
                _share(
                    account.id,
                    shares[index],
                    reserved[index],
                    quantity,
                    by_source,
                    locations,
                    account_steps,
                )
            )
        return _allocation(self.policy.strategy, sellable, tuple(built), steps[-1])

    def _run(self, stock: Stock | None, *, enabled: bool, explain: bool) -> Any:
        """The core: per given account its result, share, reservation, draws and steps (the
        pool's steps last), and the sellable pool."""
        given = self._given
        count = len(given)
        zeros = [0] * count
        strategy = self.policy.strategy
        if not enabled:
            return ([_DISABLED] * count, zeros, zeros, None, [()] * (count + 1), 0)
        if stock is None or not stock.manage_stock:
            defaults = [compute_quantity(stock, account.policy) for account in given]
            return (defaults, zeros, zeros, None, [(_NOT_TRACKED,)] * (count + 1), 0)
        if strategy is AllocationStrategy.SHARED:
            return self._shared(stock, explain)

        restricted = self._restricted
        if restricted or explain:
            units, total, held = _pool(stock, self.policy.salable)
        else:
            units, total, held = _NO_UNITS, _pool_total(stock, self.policy.salable), 0
        pool = total
        shares = [0] * count
        reserved = [0] * count
        draws: list[dict[str, int]] | None = [{} for _ in given] if restricted else None
        steps: list[list[Step]] = [[] for _ in range(count + 1)] if explain else _NO_STEPS
        if explain:
            if held:
                salable = ("allocation_salable", stock.reserved, stock.out_of_stock_threshold, held)
                steps[-1].append(Step(salable))
            steps[-1].append(Step(("allocation_pool", pool, count)))
            for index, account in enumerate(given):
                if account.sources:
                    steps[index].append(Step(("allocation_sources", ", ".join(account.sources))))

        # 1. Reservations, in service order.
        left = total
        for account in self._accounts:
            if account.reserve:
                index = account.index
                reach = _reach(units, account.sources, left) if restricted else left
                granted = min(account.reserve, reach)
                if restricted:
                    taken = _draw(units, account.sources, granted)
                    draws[index] = taken  # type: ignore[index]
                left -= granted
                reserved[index] = shares[index] = granted
                if explain:
                    steps[index].append(Step(("allocation_reserved", granted, account.reserve)))

        # 2. The rest, by strategy; 3. each account's policy inside its share.
        results: list[QuantityResult] = [_DISABLED] * count
        in_stock = stock.in_stock
        if strategy is AllocationStrategy.PRIORITY:
            for rank, account in enumerate(self._accounts, 1):
                index = account.index
                reach = _reach(units, account.sources, left) if restricted else left
                share = shares[index] + reach
                if explain:
                    steps[index].append(Step(("allocation_priority", rank, reach)))
                result = self._inside(account, share, in_stock, steps[index] if explain else None)
                extra = result.quantity - shares[index]
                if extra > 0:
                    if restricted:
                        taken = _draw(units, account.sources, extra)
                        for code, part in taken.items():
                            draws[index][code] = draws[index].get(code, 0) + part  # type: ignore[index]
                    left -= extra
                    shares[index] += extra
                results[index] = result
        else:
            takers = self._takers
            weights = self._weights
            parts = _split(left, weights)
            total_weight = sum(weights)
            rest = left
            for account, allotted, weight in zip(takers, parts, weights, strict=True):
                index = account.index
                part = allotted
                if explain:
                    split = ("allocation_weight", weight, total_weight, rest, part)
                    steps[index].append(Step(split))
                if restricted:
                    reach = _reach(units, account.sources, left)
                    if reach < part:
                        if explain:
                            steps[index].append(Step(("allocation_sources_short", part, reach)))
                        part = reach
                    taken = _draw(units, account.sources, part)
                    for code, units_taken in taken.items():
                        draws[index][code] = draws[index].get(code, 0) + units_taken  # type: ignore[index]
                left -= part
                shares[index] += part
            for index, account in enumerate(given):
                if explain and strategy is AllocationStrategy.RESERVED and account.reserve:
                    steps[index].append(_RESERVED_ONLY)
                results[index] = self._inside(
                    account, shares[index], in_stock, steps[index] if explain else None
                )
        if explain and draws is None:
            # One pool for everybody: each share is drawn from the sources in service order.
            draws = [{} for _ in given]
            units = _pool(stock, self.policy.salable)[0]
            for account in self._accounts:
                index = account.index
                draws[index] = _draw(units, (), shares[index])
        if not explain:
            return results, shares, reserved, draws, None, pool
        frozen_steps = [tuple(found) for found in steps]
        return results, shares, reserved, draws, frozen_steps, pool

    @staticmethod
    def _inside(
        account: _Account, share: int, in_stock: bool, steps: list[Step] | None
    ) -> QuantityResult:
        """The account's policy inside its share, capped at the share (the ``allocation_share``
        step recorded in ``steps`` unless ``None``)."""
        result = account.inside_share(share, in_stock)
        if steps is not None:
            steps.append(Step(("allocation_share", share)))
        if result.quantity > share:
            cap = Step(("allocation_cap", result.quantity, share))
            return _quantity(share, result.rule, (*result.steps, cap))
        return result

    def _shared(self, stock: Stock, explain: bool) -> Any:
        """Every account computes its quantity from the whole stock (today's behaviour)."""
        given = self._given
        count = len(given)
        results = [compute_quantity(stock, account.shared_policy) for account in given]
        steps: list[tuple[Step, ...]] = [(_SHARED,)] * (count + 1)
        if not explain:
            return results, None, None, None, steps, 0
        units, total, _ = _pool(stock, self.policy.salable)
        draws = []
        for account, result in zip(given, results, strict=True):
            # Each account draws its listed units from a full pool of its own.
            draws.append(_draw(dict(units), account.sources, result.quantity))
        zeros = [0] * count
        return results, zeros, zeros, draws, steps, total


def _listed_by_source(
    account: _Account, drawn: dict[str, int], quantity: int
) -> tuple[FrozenDict[str, int], FrozenDict[str, int], tuple[Step, ...]]:
    """The listed units per source (taken from the account's drawn units in order) and per
    channel location, with a step per source that has no location."""
    by_source: dict[str, int] = {}
    left = quantity
    for code, units in drawn.items():
        if left <= 0:
            break
        part = units if units < left else left  # drawn units are > 0: so is the part
        by_source[code] = part
        left -= part
    if not by_source:
        return _EMPTY, _EMPTY, ()
    mapping = account.locations
    if not mapping:
        return FrozenDict(by_source), _EMPTY, ()
    locations: dict[str, int] = {}
    notes: list[Step] = []
    for code, part in by_source.items():
        location = mapping.get(code)
        if location is None:
            notes.append(Step(("location_unmapped", code, part)))
        else:
            locations[location] = locations.get(location, 0) + part
    return FrozenDict(by_source), FrozenDict(locations), tuple(notes)


def allocate(
    stock: Stock | None,
    accounts: Mapping[str, InventoryPolicy],
    allocation_policy: AllocationPolicy,
    *,
    enabled: bool = True,
) -> Allocation:
    """Split a product's stock across the accounts that list it.

    ``accounts`` maps each account that lists the product to its inventory policy (the policy
    of the listing's template), in the configuration's order; an account of the allocation
    policy that is not given does not list the product, so its reservation is free for the
    others. The order of the rule (see the module and the allocation guide): the pool, the
    reservations in service order, the rest by strategy, then each account's inventory policy
    inside its share, capped at the share. Under ``shared`` every account's quantity is
    ``compute_quantity(stock, policy)``, as without allocation.

    A disabled product (``enabled`` false) lists 0 everywhere (rule ``product_disabled``); a
    stock the store does not track (``None``, or Manage Stock off) gives every account its
    policy's default quantity, as :func:`~policy_engine.compute_quantity` does.

    >>> from policy_engine import AllocationPolicy, InventoryPolicy, Stock, allocate
    >>> policy = InventoryPolicy(title="Stock")
    >>> accounts = {"ebay": policy, "amazon": policy, "tiktok": policy}
    >>> allocate(Stock(qty=10), accounts, AllocationPolicy(strategy="weights")).quantities
    {'ebay': 4, 'amazon': 3, 'tiktok': 3}
    """
    return Allocator(allocation_policy, accounts).allocate(stock, enabled=enabled)


# ----------------------------------------------------------------------------- configuration


#: Allocators by the identity of their allocation policy and inventory policies (bounded).
_ALLOCATORS: dict[tuple[Any, ...], tuple[tuple[Any, ...], Allocator]] = {}
_ALLOCATORS_SIZE = 256


def allocator_for(policy: AllocationPolicy, accounts: Mapping[str, InventoryPolicy]) -> Allocator:
    """A (cached) allocator for an allocation policy and the listing accounts' policies."""
    objects = (policy, *accounts.values())
    key = (*map(id, objects), *accounts)
    entry = _ALLOCATORS.get(key)
    if entry is not None and all(a is b for a, b in zip(entry[0], objects, strict=True)):
        return entry[1]
    built = Allocator(policy, accounts)
    if len(_ALLOCATORS) >= _ALLOCATORS_SIZE:
        _ALLOCATORS.clear()
    _ALLOCATORS[key] = (objects, built)
    return built


def allocate_product(
    config: Configuration,
    product: Product,
    *,
    listed: Mapping[str, str | None] | None = None,
) -> Allocation | None:
    """The allocation of a product's stock under a configuration, or ``None`` without one.

    The accounts that list the product are ``listed`` (account id → the listing's stored
    template, or ``None`` to match the account's templates against the product), or by default
    every account of the configuration whose templates match the product. An account without a
    template lists nothing and takes no part. Each account's inventory policy is its
    template's.

    Raises:
        PolicyConfigError: ``listed`` names an account the configuration does not have.
    """
    policy = config.allocation
    if policy is None:
        return None
    from policy_engine._listing import Evaluator, evaluator  # noqa: PLC0415 - a cycle otherwise

    evaluation = evaluator(config)
    accounts: dict[str, InventoryPolicy] = {}
    if listed is None:
        wanted: Iterable[tuple[str, str | None]] = ((a.id, None) for a in config.accounts)
    else:
        wanted = listed.items()
    for account_id, template_id in wanted:
        rules = evaluation.rules(account_id)
        rule = (
            Evaluator.match(product, rules)
            if template_id is None
            else evaluation.listing_rule(product, rules, template_id)
        )
        if rule is not None and not isinstance(rule, Step):
            accounts[account_id] = rule[2]
    return allocator_for(policy, accounts).allocate(product.stock, enabled=product.enabled)


# ------------------------------------------------------------------------- order deductions


class SourceSelection(enum.StrEnum):
    """Which MSI sources an order's units are deducted from."""

    PRIORITY = "priority"
    LARGEST_FIRST = "largest_first"


define_messages(
    {
        "source_shortfall": (
            "{0}: {1} ordered units are in no source (the sources hold {2}): deduct them by hand"
        ),
    }
)


def select_sources(
    stock: Stock, qty: int, selection: SourceSelection, priority: tuple[str, ...] = ()
) -> tuple[dict[str, int], int]:
    """The units an order takes from each source, and the units no source holds.

    Only sources that are enabled and in stock, with a quantity above 0, are used, and none is
    taken below 0; a single-source stock is the source ``default``. ``priority`` (Magento's
    source priority) orders the sources: the codes it names first, in its order, then the
    others in the stock's order; ``largest_first`` takes from the fullest source first (fewest
    shipments; ties in priority order). The result maps source code → negative change.
    """
    units, _, _ = _pool(stock, salable=False)
    if priority:
        named = [code for code in priority if code in units]
        ordered = named + [code for code in units if code not in set(named)]
    else:
        ordered = list(units)
    if selection is SourceSelection.LARGEST_FIRST:
        position = {code: index for index, code in enumerate(ordered)}
        ordered.sort(key=lambda code: (-units[code], position[code]))
    left = qty
    taken: dict[str, int] = {}
    for code in ordered:
        if not left:
            break
        part = min(units[code], left)
        taken[code] = -part
        left -= part
    return taken, left


def allocated_quantities(
    config: Configuration,
    product: Product,
    *,
    listed: Mapping[str, str | None] | None = None,
) -> dict[str, QuantityResult] | None:
    """Account id → the allocated quantity of a product, or ``None`` when the configuration's
    allocation cannot change a quantity (none, or ``shared`` over every source)."""
    policy = config.allocation
    if policy is None or not policy.changes_quantities:
        return None
    allocation = allocate_product(config, product, listed=listed)
    assert allocation is not None  # the configuration has an allocation section
    return {share.account: share.quantity for share in allocation.shares}


def event_quantities(
    config: Configuration, event: StockEvent, listings: Iterable[ChannelListing]
) -> dict[str, QuantityResult] | None:
    """Account id → the allocated quantity of a stock event's product, or ``None`` when the
    configuration's allocation cannot change a quantity.

    The accounts that list the product are those with a live listing of the event's SKU (or of
    its family, ``parent_sku``) whose template the configuration has, whether or not Auto Sync
    pushes to them: a listing holds its share while it is live.
    """
    policy = config.allocation
    if policy is None or not policy.changes_quantities:
        return None
    wanted = {event.sku, event.parent_sku}
    templates: dict[str, str] = {}
    for listing in listings:
        if listing.sku in wanted and listing.listed and listing.template is not None:
            templates.setdefault(listing.account, listing.template)
    accounts: dict[str, InventoryPolicy] = {}
    for account in config.accounts:
        template_id = templates.get(account.id)
        template = None if template_id is None else config.template(template_id)
        if template is not None:
            accounts[account.id] = config.inventory_policies[template.inventory_policy]
    allocation = allocator_for(policy, accounts).allocate(event.stock, enabled=event.enabled)
    return {share.account: share.quantity for share in allocation.shares}


def allocation_warnings(config: Configuration) -> list[tuple[str, str, str]]:
    """Suspicious allocation settings as ``(code, message, path)``, for ``lint``.

    ``allocation_setting_ignored``: a reservation, weight or priority list the strategy never
    reads; ``allocation_weights_zero``: every account that splits the rest has weight 0, so
    nothing beyond the reservations is ever listed; ``allocation_all_reserved``: under
    ``reserved`` every account has a reservation, so the rest is never listed;
    ``allocation_location_not_drawn``: a location for a source the account does not draw from.
    """
    policy = config.allocation
    if policy is None:
        return []
    found: list[tuple[str, str, str]] = []
    strategy = policy.strategy
    base = "$.allocation"
    shared = strategy is AllocationStrategy.SHARED
    for key, settings in policy.accounts.items():
        path = f"{base}.accounts{key_path(key)}"
        if shared and settings.reserve:
            found.append(
                (
                    "allocation_setting_ignored",
                    f"the reservation of {key!r} is ignored under the 'shared' strategy",
                    f"{path}.reserve",
                )
            )
        if settings.weight != 1 and strategy in (
            AllocationStrategy.SHARED,
            AllocationStrategy.PRIORITY,
        ):
            found.append(
                (
                    "allocation_setting_ignored",
                    f"the weight of {key!r} is ignored under the {strategy.value!r} strategy",
                    f"{path}.weight",
                )
            )
        if settings.sources:
            drawn = ", ".join(settings.sources)
            found.extend(
                (
                    "allocation_location_not_drawn",
                    (
                        f"{key!r} has a location for source {code!r} but does not draw from it"
                        f" (its sources: {drawn})"
                    ),
                    f"{path}.locations{key_path(code)}",
                )
                for code in settings.locations
                if code not in settings.sources
            )
    if shared and policy.priority:
        found.append(
            (
                "allocation_setting_ignored",
                "the priority list is ignored under the 'shared' strategy",
                f"{base}.priority",
            )
        )
    accounts = [account.id for account in config.accounts]
    if strategy in (AllocationStrategy.WEIGHTS, AllocationStrategy.RESERVED) and accounts:
        takers = [
            policy.settings(key)
            for key in accounts
            if strategy is AllocationStrategy.WEIGHTS or not policy.settings(key).reserve
        ]
        if not takers:
            found.append(
                (
                    "allocation_all_reserved",
                    "every account has a reservation: the stock beyond them is never listed",
                    f"{base}.strategy",
                )
            )
        elif not any(settings.weight for settings in takers):
            found.append(
                (
                    "allocation_weights_zero",
                    (
                        "every account that shares the rest has weight 0: nothing beyond the"
                        " reservations is ever listed"
                    ),
                    f"{base}.accounts",
                )
            )
    return found
