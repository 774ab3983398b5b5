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

When a day is rolled up: its events are written once it is over, plus the 30 minutes in
which a visit may still continue and a margin for slow writers (``seal_at``: 00:35 local).
Its visitors can no longer appear elsewhere once the salt day they were counted under has
ended, plus the same 35 minutes (``final_at``). In UTC that is the same moment. West of
UTC the last salt day of a local day ends up to a day later (in New York at 19:35 the next
day), and east of it the first visitors' ids may still be in use: the visitors first seen
after the day's last UTC midnight are kept as visit parts, ``pending``, like the visitors
of two days, and settled once the day is final (``_settle``): one seen on no other day is
added to the day's rows, as if it had been counted at once; the others keep their parts.
So a report reads raw events for today only (and yesterday until 00:35), and regroups
yesterday's last visitors until the evening.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from time import sleep
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Engine,
    Table,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    select,
    true,
    union,
    union_all,
    update,
)

from footfall.ingest.sessions import SESSION_TIMEOUT
from footfall.query.engagement import SUMS as ENGAGEMENT_SUMS
from footfall.query.engagement import engagement_sums
from footfall.query.filters import Filters
from footfall.query.metrics import Queries
from footfall.query.ranges import Period
from footfall.query.rollups import (
    COUNTED,
    FILTERS,
    ID_LIFETIME,
    ROLLUP_SUMS,
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
    rollup_engagement,
    rollup_filtered_day,
    rollup_hour,
    rollup_state,
    rollup_visit_part,
    rollup_visitor_item,
    rollup_window,
)
from footfall.store.scratch import scratch_table
from footfall.store.sums import (
    ITEM_COLUMNS,
    DaySums,
    items_of_day,
    single_day_scratch,
    sums_of_parts,
)

log = logging.getLogger(__name__)

LATE_WRITE_MARGIN = timedelta(minutes=5)
"""How late after its timestamp an event may still be committed (a slow batch)."""

Progress = Callable[[date, date], None]
"""Called after each day rolled up with that day and the day rolling up stops before."""


def final_at(day: date, zone: ZoneInfo) -> datetime:
    """When ``day`` (local) can no longer change: the end of the last UTC salt day that
    overlaps it, plus the time a visit may continue past that midnight, plus a margin.
    Its pending visitors (``seal_at``) are settled then."""
    return _last_salt_day_end(day, zone) + SESSION_TIMEOUT + LATE_WRITE_MARGIN


def seal_at(day: date, zone: ZoneInfo) -> datetime:
    """When ``day`` (local) is rolled up. Where its last UTC midnight falls in its second
    half (the Americas, the Pacific), as soon as it is over and its events are written
    (its end, plus the time a visit may continue, plus a margin), up to a day before
    ``final_at``: the visitors first seen after that midnight may still come back under the
    same id, so they are kept pending until then. Elsewhere most of the day's visitors
    would be pending, so it waits until it is final: at most 12 hours more."""
    end = local_midnight(day + timedelta(days=1), zone)
    last_midnight = _last_salt_day_end(day, zone) - timedelta(days=1)
    if end - last_midnight > EARLY_SEAL_WITHIN:
        return final_at(day, zone)
    return end + SESSION_TIMEOUT + LATE_WRITE_MARGIN


EARLY_SEAL_WITHIN = timedelta(hours=12)
"""A day is rolled up before it is final if its last UTC midnight is at most this long
before its end: its pending visitors are then those of that part of the day at most."""


def _last_salt_day_end(day: date, zone: ZoneInfo) -> datetime:
    """The end of the last UTC day that overlaps the local ``day``."""
    end = local_midnight(day + timedelta(days=1), zone)
    salt_day_end = datetime.combine(end.date(), time(), tzinfo=UTC)
    if salt_day_end < end:
        salt_day_end += timedelta(days=1)
    return salt_day_end


def _pending_from(day: date, zone: ZoneInfo) -> datetime | None:
    """The last UTC midnight within ``day``, if ids first used after it outlive the day's
    roll-up (``seal_at``): a visitor first seen from then on is pending. None in UTC."""
    end = local_midnight(day + timedelta(days=1), zone)
    salt_day_end = _last_salt_day_end(day, zone)
    return salt_day_end - timedelta(days=1) if salt_day_end > end else None


def roll_up(
    engine: Engine,
    *,
    timezone: str,
    now: datetime,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Roll up every local day of ``timezone`` that is over at ``now`` (``seal_at``),
    oldest first, one transaction per day (so an interrupted run resumes where it
    stopped), settling the pending visitors of the last one once it is final. Rollups kept
    for another time zone are rebuilt. Returns the number of days rolled up."""
    zone = ZoneInfo(timezone)
    done = 0
    while stop is None or not stop():
        with write_connection(engine) as conn, conn.begin():
            state = _lock_state(conn, timezone, now)
            day = state.sealed_until
            if day > state.first_day and not _settle(conn, day - _DAY, zone, now):
                break  # the day before has visitors whose ids have not expired yet
            if seal_at(day, zone) > now:
                break
            _roll_up_day(conn, day, zone, now)
            conn.execute(update(rollup_state).values(sealed_until=day + timedelta(days=1)))
        done += 1
        if engine.dialect.name == "sqlite":
            sleep(SQLITE_PAUSE)  # the lock is not fair: let a waiting writer in
        if progress is not None:
            progress(day, _last_sealed_day(zone, now) + timedelta(days=1))
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
        conn.execute(
            update(rollup_state).values(
                sealed_until=first_day,
                filtered_from=min(first_day, state.filtered_from or first_day),
                properties_from=min(first_day, state.properties_from or first_day),
            )
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


def _roll_up_day(conn: Connection, day: date, zone: ZoneInfo, now: datetime) -> None:
    start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    period = Period("custom", start, end, "day", zone)
    definitions = Queries(conn.engine, timezone=zone.key, clock=lambda: end, rollups=False)
    # No rows of ``day`` to delete first: every change of ``sealed_until`` to an earlier
    # day deletes the rows from that day on (``reset``, ``rebuild``, a new time zone, the
    # upgrade to filter rollups), and a deletion by day scans ``rollup_filtered_day``.

    visits = definitions.visits_select(period, Filters()).subquery("visits")
    # The visitors of the day also seen on another day keep their visits' parts, and
    # their pages and events, with the pair of days they belong to if there is one.
    seen = _seen_elsewhere(conn, day, zone, now)
    elsewhere = select(seen.c.visitor_id)
    parts = visit_columns(visits.c)
    conn.execute(
        insert(rollup_visit_part).from_select(
            ["day", *(c.name for c in parts), "pair_day", "pending"],
            select(literal(day), *parts, seen.c.pair_day, seen.c.pending).join_from(
                visits, seen, seen.c.visitor_id == visits.c.visitor_id
            ),
        )
    )
    for kind in COUNTED:
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
    engagement = engagement_sums(start, end).subquery()
    conn.execute(
        insert(rollup_engagement).from_select(
            ["day", "path", *ENGAGEMENT_SUMS],
            select(literal(day), engagement.c.path, *(engagement.c[n] for n in ENGAGEMENT_SUMS)),
        )
    )


def _settle(conn: Connection, day: date, zone: ZoneInfo, now: datetime) -> bool:
    """Settle the pending visitors of ``day`` (rolled up) once their ids have expired
    (``final_at``), before the next day is rolled up. One seen on no other day is added to
    the day's rows as the roll-up would have added it, and its parts and items deleted
    (with the day's windows, built without it); the others become ordinary parts, paired
    with the next day if seen on that one only. Returns whether none is left pending."""
    part, item = rollup_visit_part.c, rollup_visitor_item.c
    pending = select(part.visitor_id).where(part.day == day, part.pending)
    if conn.execute(pending.limit(1)).first() is None:
        return True
    if final_at(day, zone) > now:
        return False
    start, end = local_midnight(day, zone), local_midnight(day + _DAY, zone)
    after = local_midnight(day + 2 * _DAY, zone)
    outside = _events_around(start, end, pending)
    first, last = func.min(outside.c.timestamp), func.max(outside.c.timestamp)
    next_day_only = (first >= naive_utc(end)) & (last < naive_utc(after))
    elsewhere = _scratch_ids(conn, "elsewhere", Column("pair_day", Date))
    conn.execute(
        insert(elsewhere).from_select(
            ["visitor_id", "pair_day"],
            select(
                outside.c.visitor_id,
                case((next_day_only, literal(day + _DAY, Date)), else_=null()),
            ).group_by(outside.c.visitor_id),
        )
    )
    for table in (rollup_visit_part, rollup_visitor_item):
        paired = (
            select(elsewhere.c.pair_day)
            .where(elsewhere.c.visitor_id == table.c.visitor_id)
            .scalar_subquery()
        )
        conn.execute(
            update(table)
            .where(table.c.day == day, table.c.visitor_id.in_(select(elsewhere.c.visitor_id)))
            .values(pair_day=paired, **({"pending": False} if table is rollup_visit_part else {}))
        )

    # Those still pending were seen on this day only: their parts are their whole visits.
    single = pending
    definitions = Queries(conn.engine, timezone=zone.key, clock=lambda: end, rollups=False)
    days = (day, day + _DAY)
    sums = sums_of_parts(
        conn, definitions, day, days, single, "settled", item.visitor_id.in_(single)
    )
    _add_rows(conn, rollup_day, _ROLLUP_DAY_COLUMNS, sums.of(sums.day_visit, None))
    filtered = [q for name in FILTERS for q in sums.of(sums.selected_by(name), name)]
    _add_rows(conn, rollup_filtered_day, _ROLLUP_FILTERED_COLUMNS, filtered)
    conn.execute(delete(rollup_visitor_item).where(item.day == day, item.visitor_id.in_(single)))
    conn.execute(delete(rollup_visit_part).where(part.day == day, part.pending))
    for table in (rollup_window, rollup_hour):
        conn.execute(delete(table).where(table.c.day == day))
    for table in (sums.day_visit, sums.day_item, elsewhere):
        table.drop(conn)
    return True


def _add_rows(conn: Connection, table: Table, columns: list[str], queries: list[Any]) -> None:
    """Add the rows of ``queries`` (of ``columns``) to ``table``: their sums to those of
    the row with the same day, dimension, value (and filter), a new row where there is
    none. So a day settled in steps holds the rows one roll-up of it would."""
    added = scratch_table(
        conn, f"footfall_added_{table.name}", *(Column(c, table.c[c].type) for c in columns)
    )
    for query in queries:
        conn.execute(insert(added).from_select(columns, query))
    a, t = added.c, table.c
    same = [t[c] == a[c] for c in columns if c not in ROLLUP_SUMS]
    conn.execute(update(table).where(*same).values({c: t[c] + a[c] for c in ROLLUP_SUMS}))
    conn.execute(
        insert(table).from_select(
            columns, select(*(a[c] for c in columns)).where(~exists().where(*same))
        )
    )
    added.drop(conn)


_ROLLUP_DAY_COLUMNS = [c.name for c in rollup_day.columns]
_ROLLUP_FILTERED_COLUMNS = [*_ROLLUP_DAY_COLUMNS, "filter", "filter_value"]


def _seen_elsewhere(conn: Connection, day: date, zone: ZoneInfo, now: datetime) -> Table:
    """A scratch table of the visitors with an event on ``day`` and one on another day
    (within the life of an id), each with its ``pair_day``: the later of the two days it
    was seen on, if two adjacent ones and no other, and if the day before (when that is
    the other) gave it the same pair; else None. With them, unless the day is final at
    ``now``, its pending visitors (``_add_pending``)."""
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
    outside = _events_around(start, end, select(inside.c.visitor_id))
    first, last = func.min(outside.c.timestamp), func.max(outside.c.timestamp)
    pair_day = case(
        ((first >= naive_utc(before)) & (last < naive_utc(start)), literal(day, Date)),
        ((first >= naive_utc(end)) & (last < naive_utc(after)), literal(day + _DAY, Date)),
        else_=null(),
    )
    seen = _scratch_ids(
        conn, "seen_elsewhere", Column("pair_day", Date), Column("pending", Boolean)
    )
    conn.execute(
        insert(seen).from_select(
            ["visitor_id", "pair_day", "pending"],
            select(outside.c.visitor_id, pair_day, false()).group_by(outside.c.visitor_id),
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
    since = _pending_from(day, zone)
    if since is not None and final_at(day, zone) > now:  # else every id has expired
        _add_pending(conn, seen, since, end)
    return seen


def _events_around(start: datetime, end: datetime, visitors: Any) -> Any:
    """``(visitor_id, timestamp)`` of the events of ``visitors`` (a select of ids) outside
    ``[start, end)`` but within the life of an id of it: where they were seen elsewhere."""
    before = (naive_utc(start - ID_LIFETIME), naive_utc(start))
    after = (naive_utc(end), naive_utc(end + ID_LIFETIME))
    return union_all(
        *(
            select(t.c.visitor_id, t.c.timestamp).where(
                ((t.c.timestamp >= before[0]) & (t.c.timestamp < before[1]))
                | ((t.c.timestamp >= after[0]) & (t.c.timestamp < after[1])),
                t.c.visitor_id.in_(visitors),
            )
            for t in (page_view, custom_event)
        )
    ).subquery("outside")


def _add_pending(conn: Connection, seen: Table, since: datetime, end: datetime) -> None:
    """Mark the visitors first seen between ``since`` (the day's last UTC midnight) and
    ``end`` as pending in ``seen``: their ids may still be used after the roll-up, so
    they are kept as visit parts (with no pair yet) until ``_settle``."""
    recent = union(
        *(
            select(t.c.visitor_id).where(
                t.c.timestamp >= naive_utc(since), t.c.timestamp < naive_utc(end)
            )
            for t in (page_view, custom_event)
        )
    ).subquery("recent")
    earlier = union_all(
        *(
            select(t.c.visitor_id).where(
                t.c.timestamp >= naive_utc(since - ID_LIFETIME),
                t.c.timestamp < naive_utc(since),
                t.c.visitor_id.in_(select(recent.c.visitor_id)),
            )
            for t in (page_view, custom_event)
        )
    )
    pending = _scratch_ids(conn, "pending")
    conn.execute(
        insert(pending).from_select(
            ["visitor_id"], select(recent.c.visitor_id).where(recent.c.visitor_id.not_in(earlier))
        )
    )
    ids = select(pending.c.visitor_id)
    conn.execute(update(seen).where(seen.c.visitor_id.in_(ids)).values(pending=True, pair_day=None))
    conn.execute(
        insert(seen).from_select(
            ["visitor_id", "pair_day", "pending"],
            select(pending.c.visitor_id, null(), true()).where(
                pending.c.visitor_id.not_in(select(seen.c.visitor_id))
            ),
        )
    )
    pending.drop(conn)


def _scratch_ids(conn: Connection, name: str, *columns: Column[Any]) -> Table:
    """An empty temporary table (of this connection) of visitor ids, with ``columns``."""
    return scratch_table(
        conn,
        f"footfall_{name}",
        Column("visitor_id", BigInteger, primary_key=True, autoincrement=False),
        *columns,
    )


_DAY = timedelta(days=1)


# -- the state row ---------------------------------------------------------------------------


def _lock_state(conn: Connection, timezone: str, now: datetime) -> RollupState:
    """The state row, locked for this transaction; created (or reset, for rollups of
    another time zone) to start at the first day with an event."""
    row = conn.execute(select(rollup_state).with_for_update()).first()
    if row is not None and row.timezone == timezone:
        return RollupState(
            row.timezone,
            row.first_day,
            row.sealed_until,
            row.raw_from,
            row.filtered_from,
            properties_from=row.properties_from,
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
        "properties_from": first,
    }
    if row is None:
        conn.execute(insert(rollup_state).values(id=1, **values))
        return RollupState(timezone, first, first, filtered_from=first, properties_from=first)
    if row.timezone:
        log.warning(
            "footfall rollups were kept in %s; rebuilding them in %s", row.timezone, timezone
        )
    for table in ROLLUP_TABLES:
        conn.execute(delete(table))
    forget_today(conn)
    conn.execute(update(rollup_state).values(**values))  # raw_from stays: still purged
    return RollupState(timezone, first, first, row.raw_from, first, properties_from=first)


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


def _last_sealed_day(zone: ZoneInfo, now: datetime) -> date:
    day = local_day(now, zone)
    while seal_at(day, zone) > now:
        day -= timedelta(days=1)
    return day
