"""The few SQL expressions whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, DateTime, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from footfall.query.ranges import Interval, Period

_PG_FORMATS = {"hour": "YYYY-MM-DD HH24:00", "day": "YYYY-MM-DD", "month": "YYYY-MM"}
_SQLITE_FORMATS = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "month": "%Y-%m"}
_SQLITE_PREFIX = {"hour": 13, "day": 10, "month": 7}
"""How much of a stored timestamp's text is its UTC hour, day or month."""


def naive_utc(moment: datetime) -> datetime:
    """Stored timestamps are naive UTC; bind parameters must be too."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def bucket(dialect: str, column: Any, period: Period) -> ColumnElement[str]:
    """The local-time bucket label of a stored timestamp (see ``ranges.bucket_label``).

    PostgreSQL converts with the zone database. SQLite has no time zones, so the label is
    computed from the UTC offset in force, switching at each transition inside the period.
    """
    interval: Interval = period.interval
    if dialect == "postgresql":
        local = func.timezone(period.zone.key, func.timezone("UTC", column))
        return func.to_char(local, _PG_FORMATS[interval])
    offsets = _offsets(period.zone, period.start, period.end)
    if len(offsets) == 1 and not offsets[0][1]:
        # UTC all along: the label is the start of the stored text ("YYYY-MM-DD HH:MM:SS
        # .ffffff", as SQLAlchemy writes it), cut rather than parsed: half the time.
        label = func.substr(column, 1, _SQLITE_PREFIX[interval])
        return label.op("||")(literal(":00")) if interval == "hour" else label
    modifier: Any = literal(_modifier(offsets[0][1]))
    if len(offsets) > 1:
        modifier = case(
            *[
                (column < literal(naive_utc(until), DateTime), literal(_modifier(offset)))
                for (_, offset), (until, _) in pairwise(offsets)
            ],
            else_=literal(_modifier(offsets[-1][1])),
        )
    return func.strftime(_SQLITE_FORMATS[interval], column, modifier)


def milliseconds_between(dialect: str, first: Any, last: Any) -> ColumnElement[int]:
    """Whole milliseconds from ``first`` to ``last``: integers, so that sums of durations
    are exact however they are split (per day in the rollups, per visit here)."""
    if dialect == "postgresql":
        seconds: Any = func.extract("epoch", last - first)
    else:
        seconds = (func.julianday(last) - func.julianday(first)) * 86400.0
    return cast(func.round(seconds * 1000), BigInteger)


def greatest(dialect: str, *values: Any) -> ColumnElement[Any]:
    """The greatest of ``values`` (SQLite's max() with several arguments is scalar)."""
    return func.greatest(*values) if dialect == "postgresql" else func.max(*values)


def day_label(dialect: str, day: Any, interval: Interval) -> ColumnElement[str]:
    """The bucket label of a stored local day (``rollup_day.day``): the day or its month."""
    if dialect == "postgresql":
        return func.to_char(day, _PG_FORMATS[interval])
    return func.strftime(_SQLITE_FORMATS[interval], day)


def _modifier(offset: timedelta) -> str:
    return f"{int(offset.total_seconds() // 60):+d} minutes"


@lru_cache(maxsize=256)
def _offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, timedelta]]:
    """``(from, offset)`` for each stretch of constant UTC offset in ``[start, end)``."""

    def offset_at(moment: datetime) -> timedelta:
        return moment.astimezone(zone).utcoffset() or timedelta()

    stretches = [(start, offset_at(start))]
    step = timedelta(days=1)
    moment = start
    while moment < end:
        following = min(moment + step, end)
        if offset_at(following) != stretches[-1][1]:
            # Narrow the change down to the quarter hour (transitions fall on them).
            low, high = moment, following
            while high - low > timedelta(minutes=15):
                middle = low + (high - low) / 2
                if offset_at(middle) == stretches[-1][1]:
                    low = middle
                else:
                    high = middle
            transition = high.replace(second=0, microsecond=0)
            transition -= timedelta(minutes=transition.minute % 15)
            if offset_at(transition) == stretches[-1][1]:
                transition += timedelta(minutes=15)
            stretches.append((transition, offset_at(transition)))
        moment = following
    return stretches
