"""Rolling finished days up: what lets a report of months read a row per day, not every event.

Once a local day (in the site's time zone) can no longer change, it is rolled up, in one
transaction, from its raw events with the report's own definitions (query/metrics.py):

- ``rollup_day``: per dimension value (the whole site, each referrer source, country,
  device, browser, OS, page and custom event), the visitors, visits, page views, bounces,
  total duration and events of the visitors whose every event fell on that day;
- ``rollup_visit_part`` and ``rollup_visitor_item``: for the other visitors (a visit across
  midnight, or two visits on either side of it under one daily id), their visits' parts and
  their pages and events on that day, kept per visitor so that a range spanning both days
  still counts each of them, and each visit, once.

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
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    delete,
    distinct,
    func,
    insert,
    literal,
    select,
    union,
    update,
)

from footfall.ingest.sessions import SESSION_TIMEOUT
from footfall.query.filters import DIRECT, UNKNOWN, Filters
from footfall.query.metrics import Queries
from footfall.query.ranges import Period
from footfall.query.rollups import (
    VISIT_ATTRIBUTES,
    RollupState,
    local_midnight,
    read_state,
    visit_columns,
)
from footfall.query.sql import naive_utc
from footfall.store.database import write_connection
from footfall.store.schema import (
    ROLLUP_TABLES,
    custom_event,
    page_view,
    rollup_day,
    rollup_state,
    rollup_visit_part,
    rollup_visitor_item,
)

log = logging.getLogger(__name__)

LATE_WRITE_MARGIN = timedelta(minutes=5)
"""How late after its timestamp an event may still be committed (a slow batch)."""
ID_LIFETIME = timedelta(hours=48)
"""The longest a visitor id can be seen: its salt's day, then a visit that continues."""

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
        if progress is not None:
            progress(day, _last_final_day(zone, now) + timedelta(days=1))
    return done


def reset(engine: Engine, since: datetime) -> None:
    """Forget the rollups of the days that raw events from ``since`` on can change, so they
    are built again (after an import): its local day, and the two before it, whose
    visitors an imported one may continue. Days whose raw events are already purged keep
    their rollups: nothing could rebuild them."""
    with write_connection(engine) as conn, conn.begin():
        state = read_state(conn)
        if state is None:
            return
        zone = ZoneInfo(state.timezone)
        first_day = local_day(since - ID_LIFETIME, zone)
        earliest = _first_event(conn)
        if earliest is not None:
            first_day = max(first_day, local_day(earliest.replace(tzinfo=UTC), zone))
        if state.sealed_until <= first_day:
            return
        for table in ROLLUP_TABLES:
            conn.execute(delete(table).where(table.c.day >= first_day))
        conn.execute(update(rollup_state).values(sealed_until=first_day))


def rebuild(engine: Engine) -> None:
    """Drop every rollup; the next ``roll_up`` builds them again from the raw events (so
    the days whose raw events are purged are lost)."""
    with write_connection(engine) as conn, conn.begin():
        for table in ROLLUP_TABLES:
            conn.execute(delete(table))
        conn.execute(update(rollup_state).values(timezone=""))  # no zone: none rolled up


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


# -- one day ---------------------------------------------------------------------------------


def _roll_up_day(conn: Connection, day: date, zone: ZoneInfo) -> None:
    start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    period = Period("custom", start, end, "day", zone)
    definitions = Queries(conn.engine, timezone=zone.key, clock=lambda: end, rollups=False)
    for table in ROLLUP_TABLES:
        conn.execute(delete(table).where(table.c.day == day))

    visits = definitions.visits_select(period, Filters()).subquery("visits")
    # The visitors of the day also seen on another day keep their visits' parts.
    parts = visit_columns(visits.c)
    conn.execute(
        insert(rollup_visit_part).from_select(
            ["day", *(c.name for c in parts)],
            select(literal(day), *parts).where(
                visits.c.visitor_id.in_(_seen_elsewhere(start, end))
            ),
        )
    )
    elsewhere = select(rollup_visit_part.c.visitor_id).where(rollup_visit_part.c.day == day)
    single = select(visits).where(visits.c.visitor_id.not_in(elsewhere)).subquery("single")

    rows: list[Select[Any]] = [_visit_sums(definitions.totals_select(single), day, "")]
    for attribute in VISIT_ATTRIBUTES:
        empty = DIRECT if attribute == "source" else UNKNOWN
        value = func.coalesce(single.c[attribute], empty)
        rows.append(_visit_sums(definitions.totals_select(single, value), day, attribute))
    for kind, table, column in (
        ("page", page_view, page_view.c.path),
        ("event", custom_event, custom_event.c.name),
    ):
        in_day = (
            table.c.timestamp >= naive_utc(start),
            table.c.timestamp < naive_utc(end),
        )
        count = func.count()
        rows.append(
            select(
                literal(day),
                literal(kind),
                column,
                func.count(distinct(table.c.visitor_id)),
                literal(0),
                count if kind == "page" else literal(0),
                literal(0),
                literal(0),
                count if kind == "event" else literal(0),
            )
            .where(*in_day, table.c.visitor_id.not_in(elsewhere))
            .group_by(column)
        )
        conn.execute(
            insert(rollup_visitor_item).from_select(
                ["day", "visitor_id", "kind", "value", "count"],
                select(literal(day), table.c.visitor_id, literal(kind), column, func.count())
                .where(*in_day, table.c.visitor_id.in_(elsewhere))
                .group_by(table.c.visitor_id, column),
            )
        )
    columns = [c.name for c in rollup_day.columns]
    for query in rows:
        conn.execute(insert(rollup_day).from_select(columns, query))


def _visit_sums(totals: Select[Any], day: date, dimension: str) -> Select[Any]:
    """Sums of ``Queries.totals_select`` (per value, or for the whole site) as
    ``rollup_day`` rows."""
    sums = totals.subquery()
    return select(
        literal(day),
        literal(dimension),
        sums.c.value if "value" in sums.c else literal(""),
        sums.c.visitors,
        sums.c.visits,
        sums.c.pageviews,
        sums.c.bounces,
        sums.c.duration_ms,
        literal(0),
    )


def _seen_elsewhere(start: datetime, end: datetime) -> Any:
    """Visitor ids with an event in ``[start, end)`` and one outside it (within the life
    of an id)."""
    inside = union(
        *(
            select(t.c.visitor_id).where(
                t.c.timestamp >= naive_utc(start), t.c.timestamp < naive_utc(end)
            )
            for t in (page_view, custom_event)
        )
    ).subquery("inside")
    before, after = naive_utc(start - ID_LIFETIME), naive_utc(end + ID_LIFETIME)
    outside = [
        select(t.c.visitor_id).where(
            ((t.c.timestamp >= before) & (t.c.timestamp < naive_utc(start)))
            | ((t.c.timestamp >= naive_utc(end)) & (t.c.timestamp < after)),
            t.c.visitor_id.in_(select(inside.c.visitor_id)),
        )
        for t in (page_view, custom_event)
    ]
    return union(*outside)


# -- the state row ---------------------------------------------------------------------------


def _lock_state(conn: Connection, timezone: str, now: datetime) -> RollupState:
    """The state row, locked for this transaction; created (or reset, for rollups of
    another time zone) to start at the first day with an event."""
    row = conn.execute(select(rollup_state).with_for_update()).first()
    if row is not None and row.timezone == timezone:
        return RollupState(row.timezone, row.first_day, row.sealed_until, row.raw_from)
    zone = ZoneInfo(timezone)
    first_event = _first_event(conn)
    first = (
        local_day(first_event.replace(tzinfo=UTC), zone)
        if first_event is not None
        else local_day(now, zone)
    )
    values = {"timezone": timezone, "first_day": first, "sealed_until": first}
    if row is None:
        conn.execute(insert(rollup_state).values(id=1, **values))
        return RollupState(timezone, first, first)
    if row.timezone:
        log.warning(
            "footfall rollups were kept in %s; rebuilding them in %s", row.timezone, timezone
        )
    for table in ROLLUP_TABLES:
        conn.execute(delete(table))
    conn.execute(update(rollup_state).values(**values))  # raw_from stays: still purged
    return RollupState(timezone, first, first, row.raw_from)


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
