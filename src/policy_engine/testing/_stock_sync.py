"""Strategies for stock events, channel listings and log records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from policy_engine._channels import SyncField
from policy_engine._config import Configuration
from policy_engine._logs import ActivityRecord, FeedRecord, LogRecord, PayloadValue
from policy_engine._models import Stock
from policy_engine._steps import Step
from policy_engine._stock_sync import (
    ChannelListing,
    StockEvent,
    StockEventSource,
    SyncHistoryRecord,
)
from policy_engine._sync import SyncAction
from policy_engine._validation import FrozenDict
from policy_engine.testing._models import skus, stocks

__all__ = [
    "RETIRED_TEMPLATE",
    "activity_records",
    "aware_datetimes",
    "channel_listings",
    "config_listings",
    "feed_records",
    "log_records",
    "stock_events",
    "sync_history_records",
]

#: A template id no configuration drawn by ``configurations()`` has: a listing whose template was
#: removed from the configuration.
RETIRED_TEMPLATE = "retired-template"

_ACCOUNTS = ("account-0", "account-1", "account-2")
_REASON_CODES = ("not_listed", "auto_sync_off", "no_template", "unchanged", "nothing_changed")

_UNSET: Any = object()


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Date-times between 2000 and 2100 with a time zone offset (UTC or a whole-quarter offset)."""
    offsets = st.just(UTC) | st.integers(min_value=-48, max_value=56).map(
        lambda quarters: timezone(timedelta(minutes=15 * quarters))
    )
    return st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=offsets,
    )


def _value(value: Any, default: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A strategy for a keyword option: a strategy as given, a fixed value, or the default."""
    if value is _UNSET:
        return default
    if isinstance(value, st.SearchStrategy):
        return value
    return st.just(value)


def stock_events(
    *,
    sku: str | st.SearchStrategy[str] = _UNSET,
    source: StockEventSource | str | st.SearchStrategy[StockEventSource] = _UNSET,
    stock: Stock | st.SearchStrategy[Stock] = _UNSET,
    origin_account: str | st.SearchStrategy[str | None] | None = _UNSET,
) -> st.SearchStrategy[StockEvent]:
    """Stock events; each option pins a field to a value or replaces its strategy.

    By default the SKU comes from :func:`~policy_engine.testing.skus`, the stock from
    :func:`~policy_engine.testing.stocks`, the time from :func:`aware_datetimes`, and the
    origin account is one of ``account-0`` … ``account-2`` for a ``channel_order``, else ``None``
    or one of them.
    """
    accounts = st.sampled_from(_ACCOUNTS)

    @st.composite
    def _events(draw: st.DrawFn) -> StockEvent:
        drawn_source = StockEventSource(draw(_value(source, st.sampled_from(StockEventSource))))
        default_origin = (
            accounts if drawn_source is StockEventSource.CHANNEL_ORDER else st.none() | accounts
        )
        return StockEvent(
            sku=draw(_value(sku, skus())),
            source=drawn_source,
            origin_account=draw(_value(origin_account, default_origin)),
            stock=draw(_value(stock, stocks())),
            at=draw(aware_datetimes()),
        )

    return _events()


def channel_listings(
    *,
    account: str | st.SearchStrategy[str] = _UNSET,
    sku: str | st.SearchStrategy[str] = _UNSET,
    template: str | st.SearchStrategy[str | None] | None = _UNSET,
    listed: bool | None = None,
    auto_sync: bool | None = None,
    last_quantity: int | st.SearchStrategy[int | None] | None = _UNSET,
) -> st.SearchStrategy[ChannelListing]:
    """Channel listings; each option pins a field to a value or replaces its strategy.

    Defaults: an account from ``account-0`` … ``account-2``, a SKU from
    :func:`~policy_engine.testing.skus`, a template id from the ids
    :func:`~policy_engine.testing.configurations` uses (or ``None``, or :data:`RETIRED_TEMPLATE`),
    ``last_quantity`` ``None`` or 0-200, and any flags.
    """
    templates = st.none() | st.sampled_from(("apparel", "gear", "sale", "rest", RETIRED_TEMPLATE))
    return st.builds(
        ChannelListing,
        account=_value(account, st.sampled_from(_ACCOUNTS)),
        sku=_value(sku, skus()),
        listed=st.booleans() if listed is None else st.just(listed),
        template=_value(template, templates),
        auto_sync=st.booleans() if auto_sync is None else st.just(auto_sync),
        last_quantity=_value(last_quantity, st.none() | st.integers(min_value=0, max_value=200)),
        price_managed_externally=st.booleans(),
    )


@st.composite
def config_listings(
    draw: st.DrawFn,
    config: Configuration,
    sku: str,
    *,
    other_skus: bool = True,
    listed: bool | None = None,
    auto_sync: bool | None = None,
) -> list[ChannelListing]:
    """The listings of ``sku`` on the accounts of ``config``: at most one per account.

    Templates are the configuration's template ids, ``None`` or :data:`RETIRED_TEMPLATE`;
    ``last_quantity`` is ``None`` or 0-200. With ``other_skus`` a few listings of other SKUs
    (which ``plan_stock_sync`` ignores) are mixed in. ``listed`` and ``auto_sync`` pin the flags
    of the listings of ``sku``.
    """
    account_ids = [account.id for account in config.accounts]
    chosen = draw(st.lists(st.sampled_from(account_ids), unique=True, max_size=len(account_ids)))
    template_ids = [template.id for template in config.templates]
    templates: st.SearchStrategy[str | None] = st.sampled_from(
        [*template_ids, *template_ids, None, RETIRED_TEMPLATE]
    )
    found = [
        draw(
            channel_listings(
                account=account_id,
                sku=sku,
                template=templates,
                listed=listed,
                auto_sync=auto_sync,
            )
        )
        for account_id in chosen
    ]
    if other_skus and account_ids:
        others = draw(
            st.lists(
                channel_listings(
                    account=st.sampled_from(account_ids),
                    sku=skus().filter(lambda other: other != sku),
                    template=templates,
                ),
                max_size=2,
            )
        )
        for other in others:
            found.insert(draw(st.integers(min_value=0, max_value=len(found))), other)
    return found


def _payload_values() -> st.SearchStrategy[PayloadValue]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-1000, max_value=100000),
        st.text(max_size=12),
        st.lists(st.text(max_size=6), max_size=3).map(tuple),
    )


def _steps() -> st.SearchStrategy[Step]:
    args = st.lists(st.none() | st.integers(-5, 500) | st.text(max_size=8), max_size=3)
    return st.builds(
        lambda code, values: Step((code, *values)), st.sampled_from(_REASON_CODES), args
    )


def activity_records(
    *, sku: str | st.SearchStrategy[str] = _UNSET
) -> st.SearchStrategy[ActivityRecord]:
    """Activity log records (any action, a few reasons, a template id or ``None``)."""
    return st.builds(
        ActivityRecord,
        at=aware_datetimes(),
        account=st.sampled_from(_ACCOUNTS),
        sku=_value(sku, skus()),
        action=st.sampled_from(SyncAction),
        reasons=st.lists(_steps(), min_size=1, max_size=3).map(tuple),
        template=st.none() | st.sampled_from(("apparel", "gear")),
    )


def feed_records(*, sku: str | st.SearchStrategy[str] = _UNSET) -> st.SearchStrategy[FeedRecord]:
    """Feed log records (some fields, a payload summary of JSON scalars and lists of strings)."""
    return st.builds(
        FeedRecord,
        at=aware_datetimes(),
        account=st.sampled_from(_ACCOUNTS),
        sku=_value(sku, skus()),
        fields=st.frozensets(st.sampled_from(SyncField), max_size=4),
        payload=st.dictionaries(
            st.sampled_from(("quantity", "price", "title", "images", "in_stock")),
            _payload_values(),
            max_size=4,
        ),
    )


def sync_history_records(
    *, sku: str | st.SearchStrategy[str] = _UNSET, at: st.SearchStrategy[datetime] | None = None
) -> st.SearchStrategy[SyncHistoryRecord]:
    """Sync history records; ``at`` replaces the strategy of their times."""

    @st.composite
    def _records(draw: st.DrawFn) -> SyncHistoryRecord:
        accounts = draw(st.lists(st.sampled_from(_ACCOUNTS), unique=True))
        split = draw(st.integers(min_value=0, max_value=len(accounts)))
        return SyncHistoryRecord(
            sku=draw(_value(sku, skus())),
            source=draw(st.sampled_from(StockEventSource)),
            at=draw(aware_datetimes() if at is None else at),
            origin_account=draw(st.none() | st.sampled_from(_ACCOUNTS)),
            sent=FrozenDict({a: draw(st.integers(0, 500)) for a in accounts[:split]}),
            skipped=FrozenDict({a: draw(st.sampled_from(_REASON_CODES)) for a in accounts[split:]}),
        )

    return _records()


def log_records(*, sku: str | st.SearchStrategy[str] = _UNSET) -> st.SearchStrategy[LogRecord]:
    """Any log record: activity, feed or sync history."""
    return st.one_of(
        activity_records(sku=sku), feed_records(sku=sku), sync_history_records(sku=sku)
    )
