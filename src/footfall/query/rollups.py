"""Reading a period from the rollups for its whole, finished days and from raw events for
the rest, with the numbers the raw queries give.

``store/rollups.py`` keeps, per local day, the sums of the visitors seen on that day only
(``rollup_day``), and the visit parts and pages of the few visitors seen on more than one
day (``rollup_visit_part``, ``rollup_visitor_item``). A report of a period is then:

    rollup sums over the period's rolled-up days
    + the same metric over (those visitors' parts on those days  UNION ALL  raw events of
      the period's other hours), grouped by visit

The two terms never share a visitor or a visit, which is why counts of distinct visitors
and visits add up; the second term is small (today, yesterday, and the visits that cross
a midnight), so a report costs in proportion to the days of its period, not its events.

Three more tiers follow the same rule, each over visitors no other term counts: the
visitors seen on two adjacent rolled-up days (``rollup_pair``, store/pairs.py), whose
parts the second term then leaves out; the day in progress's finished visits
(``rollup_today``, store/today.py); and the parts of rolled-up days a 24-hour period cuts
(``rollup_window``, store/windows.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)

from footfall.query.filters import attribute_is, empty_value
from footfall.query.properties import PROPERTY, property_part, property_source
from footfall.query.ranges import Interval, Period, bucket_label
from footfall.query.sql import bucket, day_label, naive_utc
from footfall.store.schema import (
    custom_event,
    page_view,
    rollup_day,
    rollup_filtered_day,
    rollup_hour,
    rollup_pair,
    rollup_state,
    rollup_today,
    rollup_today_crossing,
    rollup_today_hour,
    rollup_visit_part,
    rollup_visitor_item,
    rollup_window,
    visit,
)

VISIT_ATTRIBUTES = ("source", "country", "device", "browser", "os")
"""The attributes of a visit, as the visit rows of metrics.py name them."""
ITEMS = ("page", "event")
"""The dimensions counted per event rather than per visit: pages viewed, events sent."""
COUNTED = (*ITEMS, PROPERTY)
"""``ITEMS`` and the property values of the events sent, which no filter selects by."""
FILTERS = (*VISIT_ATTRIBUTES, *ITEMS)
"""The filters with rollups of their own (``rollup_filtered_day``)."""
FILTER_VALUE_MAX = 500
"""Longer filter values (only a page's path can be) get no rollups: an index entry has a
size limit on PostgreSQL, and filters on them read raw events."""


def _alias(table: Any, name: str) -> Any:
    """An alias of ``table`` made once, with its columns: building an alias's column
    collection costs more than most of these queries take to run. Made at import, before
    any thread shares it."""
    alias = table.alias(name)
    alias.c  # noqa: B018 (the column collection, built now)
    return alias


TODAY_UNTIL = "today_until"
"""The name of the bound parameter that holds ``Today.until`` in a statement."""
FINISHED = _alias(visit, "finished")
"""The finished visits a correction row looks up."""
EARLIER = _alias(visit, "earlier")
OTHER_VIEW, OTHER_EVENT = _alias(page_view, "other_view"), _alias(custom_event, "other_event")


ID_LIFETIME = timedelta(hours=48)
"""The longest a visitor id can be seen: its salt's day, then a visit that continues. No
visit outlasts its id, so a visit that begins before an instant ends within this long
after it: without that bound, the visits crossing the start of a period long ago were
looked for among every visit since (1.2 s of the "all time" page at 10,000,000 events,
for the period before it, which has none)."""


def item_source(kind: str, table: Any = None) -> tuple[Any, Any, Any]:
    """The raw table (``table``, an alias of it, if given), column and what to select
    from of an item ``kind`` (one of ``COUNTED``): page views' paths, custom events' names,
    or their property values (``PROPERTY``, from the events joined to their properties)."""
    if kind == "page":
        table = page_view if table is None else table
        return table, table.c.path, table
    table = custom_event if table is None else table
    if kind == PROPERTY:
        joined, value = property_source(table)
        return table, value, joined
    return table, table.c.name, table


Window = tuple[date, datetime, datetime]
"""A part ``[start, stop)`` (naive UTC) of a local day: ``(day, start, stop)``."""


@dataclass(frozen=True, slots=True)
class RollupState:
    timezone: str
    first_day: date
    sealed_until: date
    """The first local day not rolled up yet."""
    raw_from: datetime | None = None
    """Raw events before this instant (naive UTC) have been purged."""
    filtered_from: date | None = None
    """The first rolled-up day with ``rollup_filtered_day`` rows (None: none has)."""
    today: date | None = None
    """The day in progress that ``rollup_today`` holds (None: none)."""
    today_until: datetime | None = None
    """``rollup_today`` holds that day's visits finished before this instant (naive UTC)."""
    windows: frozenset[Window] = frozenset()
    """The parts of rolled-up days that ``rollup_window`` holds."""
    properties_from: date | None = None
    """The first rolled-up day with rows of events' property values (None: none has)."""


@dataclass(frozen=True)
class Today:
    """The day in progress, as a split reads it: ``rollup_today`` for its visits finished
    before ``until``, the ``visit`` table and raw events for the others."""

    day: date
    start: datetime
    """The day's local midnight (naive UTC)."""
    until: datetime = field(compare=False)
    """Naive UTC. Moved on by every refresh of the day's rollups, so it is no part of a
    split's identity: statements built for a split (metrics.py keeps them) name it as the
    bound parameter ``TODAY_UNTIL`` and are given its value when they run."""

    @cached_property
    def bound_until(self) -> Any:
        return bindparam(TODAY_UNTIL, self.until, type_=DateTime)

    @cached_property
    def returning(self) -> Any:
        """The open visits of the visitors ``rollup_today`` counted already: one CTE for
        every query of this split (two of the same name in one statement would not
        compile)."""
        return _returning_visits(self)

    def open_from(self, last_seen: Any, start: datetime) -> list[Any]:
        """Conditions on a visit's ``last_seen`` (an indexed column): open at ``until``
        and seen since ``start``. ``until`` is never before the day's start (where the raw
        intervals of the day begin), so one bound mostly does: two on one column would
        leave SQLite's index the looser one."""
        if start <= self.start:
            return [last_seen >= self.bound_until]
        return [last_seen >= start, last_seen >= self.bound_until]

    def finished_visit(self, visitor: Any, *same: Any, visits: Any = None) -> Any:
        """Whether ``visitor`` has a visit of the day finished before ``until`` (and
        ``same``, conditions on it), in ``visits`` (an alias of ``visit``: ``FINISHED``
        unless given)."""
        w = (visits if visits is not None else FINISHED).c
        return exists().where(
            w.visitor_id == visitor,
            w.first_seen >= self.start,
            w.last_seen < self.bound_until,
            *same,
        )


@dataclass(frozen=True, slots=True)
class Split:
    """A period cut into rolled-up local days and raw UTC intervals."""

    days: tuple[date, date] | None
    """``[first, end)``: the local days read from the rollups (None: none)."""
    raw: tuple[tuple[datetime, datetime], ...]
    """Naive UTC ``[start, end)`` intervals read from raw events."""
    filter: tuple[str, str] | None = None
    """The one filter (one of ``FILTERS``, and its value) the report has, if any: the
    rolled-up days are read from its rollups, and the rest keeps the visits it selects."""
    today: Today | None = None
    """The day in progress, when its rollups are read: the raw intervals from its start
    on then hold only the visits ``rollup_today`` does not."""
    windows: tuple[Window, ...] = ()
    """Parts of rolled-up days read from ``rollup_window`` for their single-day visitors,
    and from raw events for their other visitors (those ``rollup_visit_part`` keeps)."""
    hours: tuple[Window, ...] = ()
    """Parts of rolled-up days whose hours a report by hour reads from ``rollup_hour``."""
    pairs: tuple[date, date] | None = None
    """``[first, end)``: the pairs of days (named by their second day) whose visitors seen
    on both are read from ``rollup_pair``, not regrouped from their stored parts: those
    with no day in the raw rest (None: none)."""


def read_state(conn: Connection) -> RollupState | None:
    row = conn.execute(
        select(
            rollup_state.c.timezone,
            rollup_state.c.first_day,
            rollup_state.c.sealed_until,
            rollup_state.c.raw_from,
            rollup_state.c.filtered_from,
            rollup_state.c.today,
            rollup_state.c.today_until,
            rollup_state.c.properties_from,
        )
    ).first()
    if row is None:
        return None
    w = rollup_window.c
    windows = conn.execute(select(w.day, w.start, w.stop).where(w.dimension == "")).all()
    return RollupState(
        *row[:-1],
        windows=frozenset((d, a, b) for d, a, b in windows),
        properties_from=row[-1],
    )


def split_period(
    period: Period,
    state: RollupState | None,
    filter: tuple[str, str] | None = None,
    now: datetime | None = None,
    *,
    properties: bool = False,
) -> Split:
    """The rolled-up days of ``period`` and the rest, read from visits and raw events
    (all of it when the rollups are kept in another time zone). With a ``filter``, only
    days that have its rollups count as rolled up; for ``properties``, only days with
    rows of events' property values. Without a filter, the day in progress at ``now`` is
    read from its rollups too, where they cover it (``with_today``)."""
    split = _split_days(period, state, filter, properties)
    if filter is None and state is not None and now is not None:
        return with_windows(with_today(split, period, state, now), period.zone, state)
    return split


def _split_days(
    period: Period, state: RollupState | None, filter: tuple[str, str] | None, properties: bool
) -> Split:
    whole = Split(None, ((naive_utc(period.start), naive_utc(period.end)),), filter)
    if state is None or state.timezone != period.zone.key:
        return whole
    local_start = period.start.astimezone(period.zone)
    first = local_start.date()
    if local_start.time() != time():
        first += timedelta(days=1)
    if filter is not None and state.filtered_from != state.first_day:
        # Days rolled up before filter rollups existed (none before first_day: no events).
        first = max(first, state.filtered_from or state.sealed_until)
    if properties and state.properties_from != state.first_day:
        first = max(first, state.properties_from or state.sealed_until)
    end = min(period.end.astimezone(period.zone).date(), state.sealed_until)
    if end <= first:
        return whole
    sealed_start = local_midnight(first, period.zone)
    sealed_end = local_midnight(end, period.zone)
    raw = tuple(
        (naive_utc(a), naive_utc(b))
        for a, b in ((period.start, sealed_start), (sealed_end, period.end))
        if a < b
    )
    # The pair that begins before the first day, or ends after the last, only when its
    # other day is out of the period, not in the raw rest (or not rolled up yet).
    pairs_first = first if period.start >= sealed_start else first + _DAY
    pairs_end = end + _DAY if period.end <= sealed_end and end < state.sealed_until else end
    pairs = (pairs_first, pairs_end) if pairs_first < pairs_end else None
    return Split((first, end), raw, filter, pairs=pairs)


_DAY = timedelta(days=1)


def with_today(split: Split, period: Period, state: RollupState, now: datetime) -> Split:
    """``split`` reading the day in progress from ``rollup_today`` when that holds the
    local day of ``now`` (in the period's time zone) and the split's raw rest covers that
    day up to now at least: its raw interval is cut at the day's midnight if it starts
    before.
    Once the day is over, its visitors may appear on the next, so its rollups are no
    longer read (until it is rolled up as a finished day)."""
    zone = period.zone
    if (
        state.today is None
        or state.today_until is None
        or state.timezone != zone.key
        or state.today != now.astimezone(zone).date()
        or state.today < state.sealed_until
    ):
        return split
    start = naive_utc(local_midnight(state.today, zone))
    end = naive_utc(local_midnight(state.today + timedelta(days=1), zone))
    raw: list[tuple[datetime, datetime]] = []
    found = False
    reach = min(end, naive_utc(now))  # no event comes later than now
    for a, b in split.raw:
        if a <= start < b and b >= reach:
            raw += [(a, start)] if a < start else []
            raw.append((start, b))
            found = True
        else:
            raw.append((a, b))
    if not found:
        return split
    return replace(split, raw=tuple(raw), today=Today(state.today, start, state.today_until))


def with_windows(split: Split, zone: ZoneInfo, state: RollupState) -> Split:
    """``split`` reading the parts of its raw rest that ``rollup_window`` holds from there
    (a 24-hour period: the evening of yesterday; the one before it, the evening of the
    day before and the morning of yesterday)."""
    if not state.windows or state.timezone != zone.key:
        return split
    raw, windows = _take_pieces(
        split, zone, lambda piece: piece in state.windows and piece[0] < state.sealed_until
    )
    return replace(split, raw=raw, windows=windows) if windows else split


def with_hours(split: Split, zone: ZoneInfo, state: RollupState) -> Split:
    """``split`` (of a report by hour) reading its raw rest's whole hours of rolled-up days
    with windows from ``rollup_hour``, which holds those days' hours. Not for a day with a
    daylight saving change: an hour's label may stand for two hours there."""
    days = {day for day, _, _ in state.windows if day < state.sealed_until}
    if not days or state.timezone != zone.key:
        return split

    def whole_hours(piece: Window) -> bool:
        day, start, stop = piece
        midnight = naive_utc(local_midnight(day, zone))
        length = naive_utc(local_midnight(day + timedelta(days=1), zone)) - midnight
        hour = timedelta(hours=1)
        on_hours = (start - midnight) % hour == (stop - midnight) % hour == timedelta(0)
        return day in days and length == timedelta(days=1) and on_hours

    raw, hours = _take_pieces(split, zone, whole_hours)
    return replace(split, raw=raw, hours=hours) if hours else split


def _take_pieces(
    split: Split, zone: ZoneInfo, taken: Callable[[Window], bool]
) -> tuple[tuple[tuple[datetime, datetime], ...], tuple[Window, ...]]:
    """The split's raw intervals cut at local midnights into the pieces ``taken`` chooses
    and what is left of each interval (one interval, as before, if nothing is cut)."""
    raw: list[tuple[datetime, datetime]] = []
    chosen: list[Window] = []
    for a, b in split.raw:
        left: tuple[datetime, datetime] | None = None
        for piece in day_pieces(a, b, zone):
            if taken(piece):
                chosen.append(piece)
                raw += [left] if left is not None else []
                left = None
            else:
                left = (left[0] if left is not None else piece[1], piece[2])
        raw += [left] if left is not None else []
    return tuple(raw), tuple(chosen)


def day_pieces(start: datetime, stop: datetime, zone: ZoneInfo) -> list[Window]:
    """``[start, stop)`` (naive UTC) cut at the local midnights of ``zone``."""
    pieces: list[Window] = []
    at = start
    while at < stop:
        day = at.replace(tzinfo=UTC).astimezone(zone).date()
        end = min(stop, naive_utc(local_midnight(day + timedelta(days=1), zone)))
        pieces.append((day, at, end))
        at = end
    return pieces


def remainder(split: Split) -> list[tuple[datetime, datetime, Any]]:
    """``(start, stop, visits)``: the intervals of raw events a split reads, with the
    session ids it reads there (a select), or None for all. Of its windows, only the visits
    of the visitors seen on another day too (``rollup_window`` has the others): those
    ``rollup_visit_part`` keeps a part of for that day, found by session rather than among
    the window's events (at 10,000,000 events, 50 visits of 46,000 events)."""
    part = rollup_visit_part.c
    return [(a, b, None) for a, b in split.raw] + [
        (a, b, select(part.session_id).where(part.day == day)) for day, a, b in split.windows
    ]


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant (aware UTC) at which the local ``day`` of ``zone`` begins."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


# -- the parts of a combined query -----------------------------------------------------------


ROLLUP_SUMS = ("visitors", "visits", "pageviews", "bounces", "duration_ms", "events")
"""The sums of a rollup row (``rollup_day``, ``rollup_filtered_day``, ``rollup_today``)."""


def rollup_rows(
    split: Split,
    dimension: str,
    columns: tuple[str, ...],
    *,
    visitors: bool = True,
    interval: Interval = "day",
    event: str | None = None,
) -> Select[Any]:
    """The ``columns`` (of ``day``, ``value`` and ``ROLLUP_SUMS``) of one dimension's rows
    (``""``: the whole site) in the split's rolled-up days: of ``rollup_day``, or of
    ``rollup_filtered_day`` for the split's filter; and of ``rollup_today`` for the day in
    progress, with (unless the report counts no ``visitors``) the rows that correct its
    visitors. Only the columns a report reads: each one more costs every query building
    it (SQLAlchemy's column proxies), more than the database reading it. ``event``: of
    the property values (``PROPERTY``), only those of that custom event.

    Without ``day``, the rolled-up days' rows come summed per value: the report sums them
    again with the rest, but over a few hundred rows rather than a row per day and value
    (SQLite: the 30-day pages list at 1,000,000 events, 13 ms before, 10 after). With it,
    the rows are of the buckets of ``interval``, which decide how the pairs are read
    (``pair_rows``)."""
    first, end = split.days or (date.min, date.min)
    if split.filter is None:
        table, chosen = rollup_day, []
    else:
        table = rollup_filtered_day
        chosen = [table.c.filter == split.filter[0], table.c.filter_value == split.filter[1]]
    by_day = "day" in columns
    rows = select(
        *(
            table.c[c]
            if by_day or c not in ROLLUP_SUMS
            else cast(func.sum(table.c[c]), BigInteger).label(c)
            for c in columns
        )
    ).where(
        *chosen,
        table.c.dimension == dimension,
        table.c.day >= first,
        table.c.day < end,
        *_of_event(table, event),
    )
    if not by_day and "value" in columns:
        rows = rows.group_by(table.c.value)
    pairs = pair_rows(split, dimension, columns, interval if by_day else None, event)
    w = rollup_window.c
    windows = [
        select(*(w[c] for c in columns)).where(
            w.dimension == dimension,
            w.day == day,
            w.start == start,
            w.stop == stop,
            *_of_event(rollup_window, event),
        )
        for day, start, stop in split.windows
    ]
    if split.today is None:
        return union_all(rows, *pairs, *windows) if pairs or windows else rows
    today = select(*(rollup_today.c[c] for c in columns)).where(
        rollup_today.c.dimension == dimension, *_of_event(rollup_today, event)
    )
    if not visitors:
        return union_all(rows, *pairs, *windows, today)
    twice = _counted_twice(split.today, dimension, columns, event)
    return union_all(rows, *pairs, *windows, today, twice)


def _of_event(table: Any, event: str | None) -> list[Any]:
    """The condition that keeps, of a table of ``PROPERTY`` values (``value``), those of
    the custom event ``event`` (none: every row)."""
    return [] if event is None else [property_part(table.c.value, 0) == event]


def pair_rows(
    split: Split,
    dimension: str,
    columns: tuple[str, ...],
    interval: Interval | None,
    event: str | None = None,
) -> list[Select[Any]]:
    """The ``rollup_pair`` rows (of ``columns``) of the split's pairs: for each, ``both``
    when the period holds its two days in one bucket (``interval``; None: one bucket for
    all, and the rows come summed per value), else the part of each day the period
    holds. ``day`` is the day a row counts on."""
    if split.pairs is None or split.days is None:
        return []
    (first, end), (pairs_first, pairs_end) = split.days, split.pairs
    p = rollup_pair.c
    if split.filter is None:
        chosen = [p.filter == "", p.filter_value == ""]
    else:
        chosen = [p.filter == split.filter[0], p.filter_value == split.filter[1]]
    inner = (max(pairs_first, first + _DAY), min(pairs_end, end))
    # The pairs whose days lie in two buckets: their two parts go one to each.
    both: list[Any] | None = [p.day >= inner[0], p.day < inner[1]]
    split_up: list[Any] = []
    if interval == "month":
        starts = [d for d in _days(*inner) if d.day == 1]
        split_up = [p.day.in_(starts)] if starts else []
        both = [*both, p.day.not_in(starts)] if starts else both
    elif interval is not None:  # days (or hours): no two days share one
        split_up, both = [and_(*both)], None
    edges = {
        "after": [p.day == first] if pairs_first == first else [],
        "before": [p.day == end] if pairs_end > end else [],
    }

    def rows(part: str, where: list[Any]) -> Select[Any]:
        query = select(*(_summed(rollup_pair, c, interval) for c in columns))
        query = query.where(
            *chosen,
            p.dimension == dimension,
            p.part == part,
            *where,
            *_of_event(rollup_pair, event),
        )
        return query.group_by(p.value) if interval is None and "value" in columns else query

    queries = [rows("both", both)] if both is not None and inner[0] < inner[1] else []
    for side, edge in edges.items():
        if split_up:  # with a filter, the day's part of the visits it selects over both
            queries.append(rows(f"{side}_both" if split.filter else side, split_up))
        if edge:
            queries.append(rows(side, edge))
    return queries


def _summed(table: Any, column: str, interval: Interval | None) -> Any:
    """A column of ``rollup_pair`` as ``pair_rows`` selects it: summed (per value) unless
    by bucket; ``day``, the day a row counts on."""
    if column == "day":
        return table.c.bucket_day.label("day")
    if interval is None and column in ROLLUP_SUMS:
        return cast(func.sum(table.c[column]), BigInteger).label(column)
    return table.c[column]


def _days(first: date, end: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((end - first).days)]


def stored_of(table: Any, split: Split) -> Any:
    """The condition on stored parts or items (``rollup_visit_part``,
    ``rollup_visitor_item``) that the split regroups: those of its rolled-up days but of
    the pairs it reads from ``rollup_pair``. Those are the parts of the visitors seen on
    three days (``pair_day`` None) and of the pairs at its edges not read from there, so
    each term is found by ``pair_day`` (an index), not among all the parts of its days
    (at 10,000,000 events in New York, 2,600 a day)."""
    first, end = split.days or (date.min, date.min)
    c = table.c
    if split.pairs is None:
        return and_(c.day >= first, c.day < end)
    pairs_first, pairs_end = split.pairs
    terms = [and_(c.pair_day.is_(None), c.day >= first, c.day < end)]
    if pairs_first > first:  # the pair of the day before and the first: its first day's
        terms.append(and_(c.pair_day == first, c.day == first))
    if pairs_end == end:  # the pair of the last day and the next: its last day's
        terms.append(and_(c.pair_day == end, c.day == end - _DAY))
    return or_(*terms)


def _counted_twice(
    today: Today, dimension: str, columns: tuple[str, ...], event: str | None = None
) -> Select[Any]:
    """Rows (of ``columns``) that subtract, per value of ``dimension``, the visitors both
    ``rollup_today`` and the rest of the day count: those with a finished visit and an
    open one (both of that value; for a page or event, both with a view of it, or with it
    sent; for a property value, both with an event that has it, of ``event`` only if
    given)."""
    returning = today.returning
    w = FINISHED.c
    source: Any = None
    if dimension in COUNTED:
        table, value, source = item_source(dimension)
        other = OTHER_VIEW if table is page_view else OTHER_EVENT
        _, other_value, other_source = item_source(dimension, other)
        # An event's name ``+ ""``: no index on it. SQLite took the one on (name, timestamp)
        # and went through every event of that name ever, for each event of the day (1.5 s
        # of a 30-day page at 1,000,000 events), rather than the few events of the visit.
        if table is custom_event:
            other_value = other_value + ""
        same: list[Any] = [other.c.session_id == w.session_id, other_value == value]
        if dimension == PROPERTY:  # the other event's properties: a join of its own
            inner = exists().select_from(other_source).where(*same)
            same = [inner.correlate_except(other, other_source.right)]
        visitor: Any = table.c.visitor_id
        where = [
            table.c.session_id.in_(select(returning.c.session_id)),
            today.finished_visit(visitor, *same),
            *([table.c.name == event] if event is not None else []),
        ]
    else:
        visitor = returning.c.visitor_id
        value = literal("")
        where = []
        if dimension:
            value = func.coalesce(returning.c[dimension], empty_value(dimension))
            where = [
                today.finished_visit(
                    visitor, func.coalesce(w[dimension], empty_value(dimension)) == value
                )
            ]
    values = {
        "day": literal(today.day),
        "value": value,
        "visitors": -func.count(distinct(visitor)),
    }
    zero = literal(0, Integer)
    query = select(*(values.get(c, zero).label(c) for c in columns)).where(*where)
    query = query.select_from(returning if source is None else source)
    return query.group_by(value) if dimension else query


def _returning_visits(today: Today) -> Any:
    """The open visits (at ``today.until``) of the visitors with a finished one that day
    (a few percent of them), as a CTE: computed once, however many dimensions a query
    corrects."""
    v = visit.c
    return (
        select(*visit_columns(v))
        .where(
            v.first_seen >= today.start,
            v.last_seen >= today.bound_until,
            v.visitor_id.not_in(select(rollup_today_crossing.c.visitor_id)),
            today.finished_visit(v.visitor_id, visits=EARLIER),
        )
        .cte("returning_visits")
    )


def hour_events(table: Any, label: tuple[str, Period], *where: Any, path: bool = False) -> Any:
    """``(visitor_id, session_id, pageview, label)`` (and the page's ``path``) of the
    events of ``table`` that match ``where``, each with its hour's label."""
    dialect, period = label
    columns = [
        table.c.visitor_id,
        table.c.session_id,
        literal(1 if table is page_view else 0, Integer).label("pageview"),
        bucket(dialect, table.c.timestamp, period).label("label"),
    ]
    if path:
        columns.append(table.c.path)
    return select(*columns).where(*where)


def hour_sums(events: Any) -> Select[Any]:
    """``(label, value, visitors, visits, pageviews)`` of the whole site per hour, over
    ``events`` (``hour_events`` rows): the visitors and visits with an event in the hour,
    and its page views."""
    return select(
        events.c.label,
        literal("").label("value"),
        func.count(distinct(events.c.visitor_id)).label("visitors"),
        func.count(distinct(events.c.session_id)).label("visits"),
        func.sum(events.c.pageview).label("pageviews"),
    ).group_by(events.c.label)


HOUR_COLUMNS = ["hour", "value", "visitors", "visits", "pageviews", "dimension"]
"""The columns of ``rollup_today_hour`` and ``rollup_hour`` that ``hour_rows`` selects, in
order."""


def hour_rows(label: tuple[str, Period], chosen: Callable[[Any], Any]) -> list[Select[Any]]:
    """The rows (``HOUR_COLUMNS``) of the events ``chosen`` (a condition on the page view or
    event table) per hour (by its label, as the chart groups): the whole site's numbers
    (``hour_sums``), and each page's views."""
    events = union_all(
        *(hour_events(t, label, chosen(t)) for t in (page_view, custom_event))
    ).subquery("events")
    site = hour_sums(events).add_columns(literal(""))
    views = hour_events(page_view, label, chosen(page_view), path=True).subquery("views")
    zero = literal(0)
    pages = select(views.c.label, views.c.path, zero, zero, func.count(), literal("page"))
    return [site, pages.group_by(views.c.label, views.c.path)]


def hourly_events(
    split: Split, table: Any, label: tuple[str, Period], *where: Any, path: bool = False
) -> list[Select[Any]]:
    """``hour_events`` of ``table`` in the split's raw intervals that match ``where``:
    from the start of the day in progress on, of the visits ``rollup_today_hour`` does
    not hold."""
    return [
        hour_events(
            table,
            label,
            table.c.timestamp >= start,
            table.c.timestamp < stop,
            *where,
            *_open_sessions(split, table, start),
            *_only(table, visits),
            path=path,
        )
        for start, stop, visits in remainder(split)
    ]


def _only(table: Any, visits: Any) -> list[Any]:
    """The condition that an event or visit of ``table`` is of ``visits`` (None: all)."""
    return [] if visits is None else [table.c.session_id.in_(visits)]


def tier_hour_rows(split: Split, dimension: str, label: tuple[str, Period]) -> list[Any]:
    """``(label, value, visitors, visits, pageviews)`` of ``dimension`` (``""``: the whole
    site, or ``page``) for the hours of the split read from rollups: those of the day in
    progress's finished visits (``today_hour_rows``) and the hours of its rolled-up days
    (``rollup_hour``)."""
    h = rollup_hour.c
    period = label[1]
    rows: list[Any] = [
        select(h.hour.label("label"), h.value, h.visitors, h.visits, h.pageviews).where(
            h.dimension == dimension,
            h.day == day,
            h.hour >= _hour_label(start, period.zone),
            h.hour < _hour_label(stop, period.zone),
        )
        for day, start, stop in split.hours
    ]
    if split.today is not None:
        rows.append(select(today_hour_rows(split, dimension, label).subquery("today_hours")))
    return rows


def _hour_label(moment: datetime, zone: ZoneInfo) -> str:
    """The label of the local hour that begins at ``moment`` (naive UTC)."""
    return bucket_label(moment.replace(tzinfo=UTC).astimezone(zone), "hour")


def today_hour_rows(split: Split, dimension: str, label: tuple[str, Period]) -> Select[Any]:
    """``(label, value, visitors, visits, pageviews)``: the rows of ``rollup_today_hour``
    for ``dimension`` (``""``: the whole site, or ``page``), and for the whole site the
    rows that subtract, per hour, the visitors it and the rest both count: those with an
    event of a finished visit and one of an open visit in that hour."""
    assert split.today is not None
    h = rollup_today_hour.c
    rows = select(h.hour.label("label"), h.value, h.visitors, h.visits, h.pageviews).where(
        h.dimension == dimension
    )
    if dimension:
        return rows
    today, (dialect, period) = split.today, label
    returning = select(today.returning.c.session_id)
    events = union_all(
        *(
            select(
                table.c.visitor_id,
                bucket(dialect, table.c.timestamp, period).label("label"),
            ).where(table.c.session_id.in_(returning))
            for table in (page_view, custom_event)
        )
    ).subquery("returning_events")
    earlier = [
        today.finished_visit(
            events.c.visitor_id,
            other.c.session_id == FINISHED.c.session_id,
            bucket(dialect, other.c.timestamp, period) == events.c.label,
        )
        for other in (OTHER_VIEW, OTHER_EVENT)
    ]
    zero = literal(0, Integer)
    twice = (
        select(
            events.c.label,
            literal("").label("value"),
            (-func.count(distinct(events.c.visitor_id))).label("visitors"),
            zero.label("visits"),
            zero.label("pageviews"),
        )
        .where(or_(*earlier))
        .group_by(events.c.label)
    )
    return union_all(rows, twice)


def visit_parts(
    split: Split, label: tuple[str, Period] | None = None, *, whole: bool = True
) -> Select[Any]:
    """One row per visit part: the stored parts of the rolled-up days; for the rest, the
    ``visit`` rows of the visits inside it and, for the few that cross its edges, each of
    their events inside it as a part of its own. Grouped by session, they give the visits.
    Each part has ``matched``: how many of its events a page or event filter matches.
    With ``label`` (the dialect and the period), each part also has its bucket's label, and
    the rest is cut at the buckets' edges so that a whole visit lies in one bucket. Without
    ``whole``, the ``visit`` rows are left out (``visits_from_parts`` takes them as they
    are). With a filter, the ``visit`` rows are only those of the visits it selects."""
    parts: list[Select[Any]] = []
    if split.days is not None:
        part = rollup_visit_part.c
        matches = _stored_matches(split)
        matched = (
            func.coalesce(matches.c.matched, 0) if matches is not None else literal(0, Integer)
        )
        stored = [*visit_columns(part), matched.label("matched")]
        if label is not None:
            stored.append(day_label(label[0], part.day, label[1].interval).label("label"))
        query = select(*stored).where(stored_of(rollup_visit_part, split))
        if matches is not None:
            query = query.join_from(
                rollup_visit_part,
                matches,
                (matches.c.day == part.day) & (matches.c.session_id == part.session_id),
                isouter=True,
            )
        parts.append(query)
    intervals = remainder(split)
    if label is not None:
        intervals = _cut_at_buckets(intervals, label[1])
    for start, stop, visits in intervals:
        v = visit.c
        if whole:
            for query in _whole_visits(split, start, stop):
                query = query.where(*_only(visit, visits))
                if label is not None:
                    query = query.add_columns(
                        bucket(label[0], v.first_seen, label[1]).label("label")
                    )
                parts.append(query)
        crossing = _crossing_visits(split, start, stop, visits)
        for table, is_pageview in ((page_view, True), (custom_event, False)):
            interaction = (
                literal(0, Integer) if is_pageview else case((table.c.interactive, 1), else_=0)
            )
            raw = [
                table.c.session_id,
                table.c.visitor_id,
                table.c.timestamp.label("first_seen"),
                table.c.timestamp.label("last_seen"),
                literal(1 if is_pageview else 0, Integer).label("pageviews"),
                interaction.label("interactions"),
                table.c.referrer_source.label("source"),
                *(table.c[a] for a in VISIT_ATTRIBUTES[1:]),
                engaged_ms(table).label("engaged_ms"),
                _event_matches(split.filter, table).label("matched"),
            ]
            if label is not None:
                raw.append(bucket(label[0], table.c.timestamp, label[1]).label("label"))
            parts.append(
                select(*raw).where(
                    table.c.timestamp >= start,
                    table.c.timestamp < stop,
                    table.c.session_id.in_(crossing),
                    *_only(table, visits),
                )
            )
    return union_all(*parts)


def _crossing_visits(split: Split, start: datetime, stop: datetime, visits: Any = None) -> Any:
    """The session ids of the visits with events both inside ``[start, stop)`` and out
    (of ``visits`` only, when given: a window's).
    From the start of the day in progress on, found by index rather than among all the
    day's visits: one that began before ``start`` either is still open at ``today.until``
    or is finished, and then its visitor was seen before the day (``rollup_today``
    leaves them out)."""
    v = visit.c
    today = split.today
    if today is None or start != today.start:
        inside = (v.first_seen >= start) & (v.last_seen < stop)
        return select(v.session_id).where(
            v.last_seen >= start,
            v.last_seen < stop + ID_LIFETIME,  # a bound for the index on last_seen
            v.first_seen < stop,
            ~inside,
            *_only(visit, visits),
        )
    crossing = select(rollup_today_crossing.c.visitor_id)
    return union_all(
        select(v.session_id).where(
            v.visitor_id.in_(crossing), v.first_seen < start, v.last_seen >= start
        ),
        select(v.session_id).where(v.last_seen >= today.bound_until, v.first_seen < start),
        select(v.session_id).where(v.last_seen >= stop, v.first_seen < stop),
    )


def _whole_visits(split: Split, start: datetime, stop: datetime) -> list[Select[Any]]:
    """The ``visit`` rows of the visits inside ``[start, stop)`` (those the split's filter
    selects), as visit parts with ``matched``. From the start of the day in progress on,
    those ``rollup_today`` does not hold: the visits open at ``today.until`` or begun since,
    and those of the visitors it leaves out (two queries, each by an index)."""
    v = visit.c
    inside = [v.first_seen >= start, v.last_seen < stop]
    today = split.today
    if today is None or start < today.start:
        return [_matched_visits(split.filter, start, stop, [v.last_seen >= start, *inside])]
    crossing = select(rollup_today_crossing.c.visitor_id)
    return [
        _matched_visits(
            split.filter,
            start,
            stop,
            [*today.open_from(v.last_seen, start), *inside],
        ),
        _matched_visits(
            split.filter,
            start,
            stop,
            [v.visitor_id.in_(crossing), v.last_seen < today.bound_until, *inside],
        ),
    ]


def _matched_visits(
    filter: tuple[str, str] | None, start: datetime, stop: datetime, where: list[Any]
) -> Select[Any]:
    """The ``visit`` rows ``where`` chooses (those ``filter`` selects), with ``matched``:
    how many of their events in ``[start, stop)`` a page or event filter matches."""
    v = visit.c
    query = select(*visit_columns(v)).where(*where)
    kind = filter[0] if filter is not None else None
    if kind not in ITEMS:
        if filter is not None:
            query = query.where(attribute_is(v[filter[0]], *filter))
        return query.add_columns(literal(0, Integer).label("matched"))
    assert filter is not None
    table, column, _ = item_source(filter[0])
    matches = (
        select(table.c.session_id, func.count().label("matched"))
        .where(table.c.timestamp >= start, table.c.timestamp < stop, column == filter[1])
        .group_by(table.c.session_id)
        .subquery("matches")
    )
    return query.add_columns(matches.c.matched).join_from(
        visit, matches, matches.c.session_id == v.session_id
    )


def engaged_ms(table: Any) -> Any:
    """An event's engaged milliseconds: a page view's, 0 when it has none (or an event's)."""
    if "engaged_ms" not in table.c:
        return literal(0, BigInteger)
    return func.coalesce(table.c.engaged_ms, 0)


def _event_matches(filter: tuple[str, str] | None, table: Any) -> Any:
    """1 for an event of ``table`` that a page or event ``filter`` matches, else 0."""
    if filter is not None and filter[0] in ITEMS:
        source, column, _ = item_source(filter[0])
        if source is table:
            return case((column == filter[1], 1), else_=0)
    return literal(0, Integer)


def _stored_matches(split: Split) -> Any:
    """Per day and visit of the stored parts, how many of its events a page or event
    filter matches (``matched``); None for other filters."""
    if split.days is None or split.filter is None or split.filter[0] not in ITEMS:
        return None
    item = rollup_visitor_item.c
    return (
        select(item.day, item.session_id, func.sum(item.count).label("matched"))
        .where(
            stored_of(rollup_visitor_item, split),
            item.kind == split.filter[0],
            item.value == split.filter[1],
        )
        .group_by(item.day, item.session_id)
        .subquery("stored_matches")
    )


def visit_columns(table: Any) -> list[Any]:
    """The columns of a visit part, of ``visit``, ``rollup_visit_part`` or the visit rows of
    metrics.py (same names)."""
    return [
        table.session_id,
        table.visitor_id,
        table.first_seen,
        table.last_seen,
        table.pageviews,
        table.interactions,
        *(table[a] for a in VISIT_ATTRIBUTES),
        table.engaged_ms,
    ]


def _cut_at_buckets(
    intervals: list[tuple[datetime, datetime, Any]], period: Period
) -> list[tuple[datetime, datetime, Any]]:
    """``intervals`` (``remainder``'s) cut where the period's buckets (hours, days,
    months) begin."""
    edges = sorted(naive_utc(local) for _, local in period.buckets())
    cut: list[tuple[datetime, datetime, Any]] = []
    for start, stop, visits in intervals:
        inner = [e for e in edges if start < e < stop]
        cut.extend((a, b, visits) for a, b in pairwise([start, *inner, stop]))
    return cut


def visits_from_parts(split: Split) -> Any:
    """The visits of the non-rolled-up remainder (those the split's filter selects), shaped
    like metrics.py's visit rows: the ``visit`` rows of the visits inside it as they are
    (nothing else of theirs is in the remainder), and the other parts grouped by visit."""
    parts = visit_parts(split, whole=False).subquery("parts")
    kind = split.filter[0] if split.filter is not None else None
    counted = parts.c.matched if kind == "page" else parts.c.pageviews
    grouped = select(
        parts.c.session_id,
        func.min(parts.c.visitor_id).label("visitor_id"),
        func.min(parts.c.first_seen).label("first_seen"),
        func.max(parts.c.last_seen).label("last_seen"),
        func.sum(parts.c.pageviews).label("pageviews"),
        func.sum(counted).label("counted_pageviews"),
        func.sum(parts.c.interactions).label("interactions"),
        func.max(parts.c.source).label("source"),
        *(func.min(parts.c[a]).label(a) for a in VISIT_ATTRIBUTES[1:]),
        func.sum(parts.c.engaged_ms).label("engaged_ms"),
    ).group_by(parts.c.session_id)
    if kind in ITEMS:
        grouped = grouped.having(func.sum(parts.c.matched) > 0)
    elif split.filter is not None:
        attribute = func.max(parts.c.source) if kind == "source" else func.min(parts.c[kind])
        grouped = grouped.having(attribute_is(attribute, *split.filter))
    whole = []
    for start, stop, visits in remainder(split):
        for query in _whole_visits(split, start, stop):
            rows = query.where(*_only(visit, visits)).subquery("whole")
            counted_rows = rows.c.matched if kind == "page" else rows.c.pageviews
            whole.append(
                select(
                    *visit_columns(rows.c)[:5],
                    counted_rows.label("counted_pageviews"),
                    *visit_columns(rows.c)[5:],
                )
            )
    return union_all(grouped, *whole)


def selected_sessions(split: Split) -> Select[Any]:
    """The session ids of the remainder's visits that the split's filter selects.

    A page or event filter selects a visit by one of its events in the period: in the raw
    rest, or on a rolled-up day, where the only visits of the remainder are those of
    ``rollup_visit_part``, whose pages and events ``rollup_visitor_item`` keeps. Other
    filters need the visit's attributes over the whole period: the grouped parts."""
    assert split.filter is not None
    kind, value = split.filter
    if kind not in ITEMS:
        visits = visits_from_parts(split).subquery("selected")
        return select(visits.c.session_id)
    item = rollup_visitor_item.c
    table, column, _ = item_source(kind)
    stored = select(item.session_id).where(
        stored_of(rollup_visitor_item, split), item.kind == kind, item.value == value
    )
    raw = [
        select(table.c.session_id).where(
            table.c.timestamp >= start,
            table.c.timestamp < stop,
            column == value,
            *_only(table, visits),
        )
        for start, stop, visits in remainder(split)
    ]
    return union_all(stored, *raw)


def item_rows(
    split: Split,
    kind: str,
    label: tuple[str, Period] | None = None,
    selected: Callable[[Any], Any] | None = None,
    event: str | None = None,
) -> Select[Any]:
    """``(value, visitor_id, count, raw)`` of the pages viewed (``page``), events sent
    (``event``) or their property values (``PROPERTY``, of the custom event ``event`` if
    given) in the remainder: stored items of the rolled-up days (``raw`` 0), raw rows
    otherwise (``raw`` 1). With a filter, only those of the ``selected`` visits (a
    condition on a session id column), and of a page or event filter's kind, only its
    page or event.
    With ``label`` (the dialect and the period), each row also has its bucket's label."""
    item = rollup_visitor_item.c
    table, column, source = item_source(kind)
    stored = [item.value, item.visitor_id, item.count, literal(0, Integer).label("raw")]
    raw = [
        column.label("value"),
        table.c.visitor_id,
        literal(1, Integer).label("count"),
        literal(1, Integer).label("raw"),
    ]
    if label is not None:
        dialect, period = label
        stored.append(day_label(dialect, item.day, period.interval).label("label"))
        raw.append(bucket(dialect, table.c.timestamp, period).label("label"))
    chosen_stored: list[Any] = []
    chosen_raw: list[Any] = []
    if split.filter is not None:
        assert selected is not None
        chosen_stored.append(selected(item.session_id))
        chosen_raw.append(selected(table.c.session_id))
        if split.filter[0] == kind:
            chosen_stored.append(item.value == split.filter[1])
            chosen_raw.append(column == split.filter[1])
    if event is not None:
        chosen_stored += _of_event(rollup_visitor_item, event)
        chosen_raw.append(table.c.name == event)
    parts: list[Select[Any]] = [
        select(*stored).where(
            item.kind == kind, stored_of(rollup_visitor_item, split), *chosen_stored
        )
    ]
    for start, stop, visits in remainder(split):
        rest = [*chosen_raw, *_open_sessions(split, table, start), *_only(table, visits)]
        parts.append(
            select(*raw)
            .select_from(source)
            .where(table.c.timestamp >= start, table.c.timestamp < stop, *rest)
        )
    return union_all(*parts)


def _open_sessions(split: Split, table: Any, start: datetime) -> list[Any]:
    """From the start of the day in progress on: events of ``table`` of the visits that
    ``rollup_today`` does not hold (see ``_whole_visits``), found by session."""
    today = split.today
    if today is None or start < today.start:
        return []
    v = visit.c
    crossing = select(rollup_today_crossing.c.visitor_id)
    sessions = union_all(
        select(v.session_id).where(*today.open_from(v.last_seen, start)),
        select(v.session_id).where(v.visitor_id.in_(crossing), v.last_seen >= start),
    )
    return [table.c.session_id.in_(sessions)]
