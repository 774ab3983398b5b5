"""Rolling finished days up: what lets a report of months read a row per day, not every event.

Once a local day (in the site's time zone) can no longer change, it is rolled up, in one
transaction, from its raw events with the report's own definitions (query/metrics.py):

- ``rollup_day``: per dimension value (the whole site, each referrer source, country,
  device, browser, OS, page and custom event), the visitors, visits, page views, bounces,
  total duration and events of the visitors whose every event fell on that day;
- ``rollup_visit_part`` and ``rollup_visitor_item``: for the other visitors (a visit across
  midnight, or two visits on either side of it under one daily id), their visits' parts and
  their pages and events on that day, kept per visitor so that a range spanning both days
  still counts each of them, and each visit, once; and, once the second of two adjacent
  days is rolled up, the numbers of the visitors seen on those two only (store/pairs.py).

Why the split is exact: a visitor id is a hash under one UTC day's salt, and a visit only
continues under yesterday's id while it lasts, so an id appears within 48 hours. Visitors
of the first kind add up across days; the second kind are few, and query/rollups.py
regroups them with the raw events of the days not rolled up yet.

When a day is final: its events are written once it is over; its visitors can no longer
appear elsewhere once the salt day they were counted under has ended and the 30 minutes in
which a visit may still continue have passed, plus a margin for slow writers. That is at
most 24 h 35 min after the local day ends, so reports regroup raw events for today and at
most yesterday.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from time import sleep
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    Engine,
    MetaData,
    Table,
    case,
    delete,
    func,
    insert,
    literal,
    null,
    select,
    union,
    union_all,
    update,
)

from footfall.ingest.sessions import SESSION_TIMEOUT
from footfall.query.filters import Filters
from footfall.query.metrics import Queries
from footfall.query.ranges import Period
from footfall.query.rollups import (
    FILTERS,
    ID_LIFETIME,
    ITEMS,
    RollupState,
    local_midnight,
    read_state,
    visit_columns,
)
from footfall.query.sql import naive_utc
from footfall.store.database import SQLITE_PAUSE, write_connection
from footfall.store.pairs import roll_up_pair
from footfall.store.schema import (
    ROLLUP_TABLES,
    TODAY_TABLES,
    custom_event,
    page_view,
    rollup_day,
    rollup_filtered_day,
    rollup_state,
    rollup_visit_part,
    rollup_visitor_item,
)
from footfall.store.sums import ITEM_COLUMNS, DaySums, items_of_day, single_day_scratch

log = logging.getLogger(__name__)

LATE_WRITE_MARGIN = timedelta(minutes=5)
"""How late after its timestamp an event may still be committed (a slow batch)."""

Progress = Callable[[date, date], None]
"""Called after each day rolled up with that day and the day rolling up stops before."""


def final_at(day: date, zone: ZoneInfo) -> datetime:
    """When ``day`` (local) can no longer change: the end of the last UTC salt day that
    overlaps it, plus the time a visit may continue past that midnight, plus a margin."""
    end = local_midnight(day + timedelta(days=1), zone)
    salt_day_end = datetime.combine(end.date(), time(), tzinfo=UTC)
    if salt_day_end < end:
        salt_day_end += timedelta(days=1)
    return salt_day_end + SESSION_TIMEOUT + LATE_WRITE_MARGIN


def roll_up(
    engine: Engine,
    *,
    timezone: str,
    now: datetime,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Roll up every local day of ``timezone`` that is final at ``now``, oldest first, one
    transaction per day (so an interrupted run resumes where it stopped). Rollups kept for
    another time zone are rebuilt. Returns the number of days rolled up."""
    zone = ZoneInfo(timezone)
    done = 0
    while stop is None or not stop():
        with write_connection(engine) as conn, conn.begin():
            state = _lock_state(conn, timezone, now)
            day = state.sealed_until
            if final_at(day, zone) > now:
                break
            _roll_up_day(conn, day, zone)
            conn.execute(update(rollup_state).values(sealed_until=day + timedelta(days=1)))
        done += 1
        if engine.dialect.name == "sqlite":
            sleep(SQLITE_PAUSE)  # the lock is not fair: let a waiting writer in
        if progress is not None:
            progress(day, _last_final_day(zone, now) + timedelta(days=1))
    if done and engine.dialect.name == "postgresql":
        # The planner's statistics now, not when autovacuum gets to it: estimated at a row
        # or two, a day's visit parts were joined by nested loops (seconds, not ms).
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("ANALYZE " + ", ".join(t.name for t in ROLLUP_TABLES))
    return done


def reset(engine: Engine, since: datetime) -> None:
    """Forget the rollups of the days that raw events from ``since`` on can change, so they
    are built again (after an import): its local day, and the two before it, whose
    visitors an imported one may continue. Days whose raw events, or those of the 48 hours
    before them, are partly purged keep their rollups: nothing could rebuild them."""
    with write_connection(engine) as conn, conn.begin():
        state = read_state(conn)
        if state is None or not state.timezone:
            return
        zone = ZoneInfo(state.timezone)
        first_day = local_day(since - ID_LIFETIME, zone)
        if state.raw_from is not None:
            first_day = max(first_day, first_whole_day(state.raw_from.replace(tzinfo=UTC), zone))
        earliest = _first_event(conn)
        if earliest is not None:
            first_day = max(first_day, local_day(earliest.replace(tzinfo=UTC), zone))
        if state.sealed_until <= first_day:
            return
        for table in ROLLUP_TABLES:
            conn.execute(delete(table).where(table.c.day >= first_day))
        forget_today(conn)
        filtered_from = min(first_day, state.filtered_from or first_day)
        conn.execute(
            update(rollup_state).values(sealed_until=first_day, filtered_from=filtered_from)
        )


def rebuild(engine: Engine) -> None:
    """Drop every rollup; the next ``roll_up`` builds them again from the raw events (so
    the days whose raw events are purged are lost)."""
    with write_connection(engine) as conn, conn.begin():
        for table in ROLLUP_TABLES:
            conn.execute(delete(table))
        forget_today(conn)
        conn.execute(update(rollup_state).values(timezone=""))  # no zone: none rolled up


def first_whole_day(raw_from: datetime, zone: ZoneInfo) -> date:
    """The first local day that can be rolled up from raw events kept from ``raw_from``
    on: its own, and those of the 48 hours before it, whose visitors it may share."""
    day = local_day(raw_from + ID_LIFETIME, zone)
    return day if local_midnight(day, zone) >= raw_from + ID_LIFETIME else day + timedelta(days=1)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


# -- one day ---------------------------------------------------------------------------------


def _roll_up_day(conn: Connection, day: date, zone: ZoneInfo) -> None:
    start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    period = Period("custom", start, end, "day", zone)
    definitions = Queries(conn.engine, timezone=zone.key, clock=lambda: end, rollups=False)
    # No rows of ``day`` to delete first: every change of ``sealed_until`` to an earlier
    # day deletes the rows from that day on (``reset``, ``rebuild``, a new time zone, the
    # upgrade to filter rollups), and a deletion by day scans ``rollup_filtered_day``.

    visits = definitions.visits_select(period, Filters()).subquery("visits")
    # The visitors of the day also seen on another day keep their visits' parts, and
    # their pages and events, with the pair of days they belong to if there is one.
    seen = _seen_elsewhere(conn, day, zone)
    elsewhere = select(seen.c.visitor_id)
    parts = visit_columns(visits.c)
    conn.execute(
        insert(rollup_visit_part).from_select(
            ["day", *(c.name for c in parts), "pair_day"],
            select(literal(day), *parts, seen.c.pair_day).join_from(
                visits, seen, seen.c.visitor_id == visits.c.visitor_id
            ),
        )
    )
    for kind in ITEMS:
        items = items_of_day(kind, start, end, lambda t: t.c.visitor_id.in_(elsewhere))
        items = items.subquery("items")
        conn.execute(
            insert(rollup_visitor_item).from_select(
                [*ITEM_COLUMNS, "day", "pair_day"],
                select(*items.c, literal(day), seen.c.pair_day).join_from(
                    items, seen, seen.c.visitor_id == items.c.visitor_id
                ),
            )
        )

    # Everything else is of the visitors seen on this day only.
    day_visit, day_item = single_day_scratch(conn, visits, elsewhere, start, end)
    sums = DaySums(definitions, day, day_visit, day_item)
    for query in sums.of(day_visit, None):
        conn.execute(insert(rollup_day).from_select(_ROLLUP_DAY_COLUMNS, query))
    for name in FILTERS:
        selected = sums.selected_by(name)
        for query in sums.of(selected, name):
            conn.execute(insert(rollup_filtered_day).from_select(_ROLLUP_FILTERED_COLUMNS, query))
    day_visit.drop(conn)
    day_item.drop(conn)
    seen.drop(conn)
    roll_up_pair(conn, definitions, day)


_ROLLUP_DAY_COLUMNS = [c.name for c in rollup_day.columns]
_ROLLUP_FILTERED_COLUMNS = [*_ROLLUP_DAY_COLUMNS, "filter", "filter_value"]


def _seen_elsewhere(conn: Connection, day: date, zone: ZoneInfo) -> Table:
    """A scratch table of the visitors with an event on ``day`` and one on another day
    (within the life of an id), each with its ``pair_day``: the later of the two days it
    was seen on, if two adjacent ones and no other, and if the day before (when that is
    the other) gave it the same pair; else None."""
    before, start = local_midnight(day - timedelta(days=1), zone), local_midnight(day, zone)
    end, after = (local_midnight(day + timedelta(days=n), zone) for n in (1, 2))
    inside = union(
        *(
            select(t.c.visitor_id).where(
                t.c.timestamp >= naive_utc(start), t.c.timestamp < naive_utc(end)
            )
            for t in (page_view, custom_event)
        )
    ).subquery("inside")
    lifetime = (naive_utc(start - ID_LIFETIME), naive_utc(end + ID_LIFETIME))
    outside = union_all(
        *(
            select(t.c.visitor_id, t.c.timestamp).where(
                ((t.c.timestamp >= lifetime[0]) & (t.c.timestamp < naive_utc(start)))
                | ((t.c.timestamp >= naive_utc(end)) & (t.c.timestamp < lifetime[1])),
                t.c.visitor_id.in_(select(inside.c.visitor_id)),
            )
            for t in (page_view, custom_event)
        )
    ).subquery("outside")
    first, last = func.min(outside.c.timestamp), func.max(outside.c.timestamp)
    pair_day = case(
        ((first >= naive_utc(before)) & (last < naive_utc(start)), literal(day, Date)),
        ((first >= naive_utc(end)) & (last < naive_utc(after)), literal(day + _DAY, Date)),
        else_=null(),
    )
    seen = Table(
        "footfall_seen_elsewhere",
        MetaData(),
        Column("visitor_id", BigInteger, primary_key=True, autoincrement=False),
        Column("pair_day", Date),
        prefixes=["TEMPORARY"],
    )
    seen.drop(conn, checkfirst=True)  # left by a roll-up that failed on this connection
    seen.create(conn)
    conn.execute(
        insert(seen).from_select(
            ["visitor_id", "pair_day"],
            select(outside.c.visitor_id, pair_day).group_by(outside.c.visitor_id),
        )
    )
    # A pair with a day rolled up before pairs were kept (or whose visitor was not paired
    # there) is no pair: its parts on both days stay regrouped by the reports.
    part = rollup_visit_part.c
    conn.execute(
        update(seen)
        .where(
            seen.c.pair_day == day,
            seen.c.visitor_id.not_in(
                select(part.visitor_id).where(part.day == day - _DAY, part.pair_day == day)
            ),
        )
        .values(pair_day=None)
    )
    return seen


_DAY = timedelta(days=1)


# -- the state row ---------------------------------------------------------------------------


def _lock_state(conn: Connection, timezone: str, now: datetime) -> RollupState:
    """The state row, locked for this transaction; created (or reset, for rollups of
    another time zone) to start at the first day with an event."""
    row = conn.execute(select(rollup_state).with_for_update()).first()
    if row is not None and row.timezone == timezone:
        return RollupState(
            row.timezone, row.first_day, row.sealed_until, row.raw_from, row.filtered_from
        )
    zone = ZoneInfo(timezone)
    first_event = _first_event(conn)
    first = (
        local_day(first_event.replace(tzinfo=UTC), zone)
        if first_event is not None
        else local_day(now, zone)
    )
    values = {
        "timezone": timezone,
        "first_day": first,
        "sealed_until": first,
        "filtered_from": first,
    }
    if row is None:
        conn.execute(insert(rollup_state).values(id=1, **values))
        return RollupState(timezone, first, first, filtered_from=first)
    if row.timezone:
        log.warning(
            "footfall rollups were kept in %s; rebuilding them in %s", row.timezone, timezone
        )
    for table in ROLLUP_TABLES:
        conn.execute(delete(table))
    forget_today(conn)
    conn.execute(update(rollup_state).values(**values))  # raw_from stays: still purged
    return RollupState(timezone, first, first, row.raw_from, first)


def forget_today(conn: Connection) -> None:
    """Drop the rollups of the day in progress (store/today.py): reports read its visits
    and events until they are built again."""
    for table in TODAY_TABLES:
        conn.execute(delete(table))
    conn.execute(update(rollup_state).values(today=None, today_until=None))


def _first_event(conn: Connection) -> datetime | None:
    """The naive UTC timestamp of the first stored event."""
    earliest = [
        conn.execute(select(func.min(t.c.timestamp))).scalar() for t in (page_view, custom_event)
    ]
    return min((e for e in earliest if e is not None), default=None)


def _last_final_day(zone: ZoneInfo, now: datetime) -> date:
    day = local_day(now, zone)
    while final_at(day, zone) > now:
        day -= timedelta(days=1)
    return day
