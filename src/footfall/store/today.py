"""Rolling the day in progress up: what keeps today's share of a report small.

A finished day is rolled up once it can no longer change (store/rollups.py); until then a
report regrouped the day's visits and events, which at a few hundred thousand events a
day is most of what a 30-day dashboard costs. The day in progress has a part that can no
longer change either: its visits whose last event is older than the session timeout
(plus the margin for slow writers), which no event can join any more. ``refresh_today``
sums those **finished visits** into ``rollup_today`` (the same rows as ``rollup_day``),
every few minutes, and records where they end (``rollup_state.today_until``).

A report then reads ``rollup_today`` and, from the ``visit`` table and raw events, only
the visits still open at that instant or begun since (query/rollups.py). Visits add up
across the two, but a visitor may have a finished visit and an open one: such a visitor
was counted by the rollups already, and the report subtracts them again per value (the
visitors of a page, a source, the whole site), looking up their finished visits by
visitor id. So the remainder costs in proportion to the last half hour's visits, not to
the day's.

Visitors seen before the day too (a visit across midnight keeps the id of the day before)
are left out of the rollups with all their visits: a range that includes the day before
counts them with their visits of that day, once. Their ids are kept in
``rollup_today_crossing``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Engine,
    exists,
    insert,
    select,
    update,
)

from footfall.ingest.sessions import SESSION_TIMEOUT
from footfall.query.metrics import Queries
from footfall.query.ranges import Period
from footfall.query.rollups import (
    COUNTED,
    HOUR_COLUMNS,
    hour_rows,
    local_midnight,
    read_state,
    visit_columns,
)
from footfall.query.sql import naive_utc
from footfall.store.database import write_connection
from footfall.store.rollups import LATE_WRITE_MARGIN, forget_today, local_day
from footfall.store.schema import (
    rollup_state,
    rollup_today,
    rollup_today_crossing,
    rollup_today_hour,
    visit,
)
from footfall.store.sums import ITEM_COLUMNS, DaySums, items_of_day, scratch_tables
from footfall.store.windows import refresh_windows

FINISHED_AFTER = SESSION_TIMEOUT + LATE_WRITE_MARGIN
"""How long after its last event a visit can no longer change."""
REFRESH_INTERVAL_SECONDS = 300
"""How often a running footfall refreshes the rollups of the day in progress."""


def refresh_today(engine: Engine, *, timezone: str, now: datetime) -> bool:
    """Rebuild ``rollup_today`` for the local day of ``now`` from its visits finished by
    then, and the windows of rolled-up days a 24-hour report reads (store/windows.py).
    Does nothing (False) until ``roll_up`` has chosen the rollups' time zone, or for
    rollups kept in another one."""
    refreshed = _refresh_day(engine, timezone=timezone, now=now)
    refresh_windows(engine, timezone=timezone, now=now)
    return refreshed


def _refresh_day(engine: Engine, *, timezone: str, now: datetime) -> bool:
    zone = ZoneInfo(timezone)
    day = local_day(now, zone)
    start = local_midnight(day, zone)
    until = max(start, now - FINISHED_AFTER)
    with write_connection(engine) as conn, conn.begin():
        state = read_state(conn)
        if state is None or state.timezone != timezone or state.sealed_until > day:
            return False
        forget_today(conn)
        day_start, day_until = naive_utc(start), naive_utc(until)
        v = visit.c
        other = visit.alias("other")
        seen_before = exists().where(
            other.c.visitor_id == v.visitor_id, other.c.first_seen < day_start
        )
        conn.execute(
            insert(rollup_today_crossing).from_select(
                ["visitor_id"],
                select(v.visitor_id)
                .distinct()
                .where(v.last_seen >= day_start, v.last_seen < day_until, seen_before),
            )
        )
        finished = select(*visit_columns(v), v.pageviews.label("counted_pageviews")).where(
            v.last_seen >= day_start,
            v.last_seen < day_until,
            v.first_seen >= day_start,
            v.visitor_id.not_in(select(rollup_today_crossing.c.visitor_id)),
        )
        day_visit, day_item = scratch_tables(conn)
        conn.execute(insert(day_visit).from_select([c.name for c in day_visit.columns], finished))
        sessions = select(day_visit.c.session_id)
        for kind in COUNTED:
            # A finished visit's events all lie in [start, until).
            items = items_of_day(kind, start, until, lambda t: t.c.session_id.in_(sessions))
            conn.execute(insert(day_item).from_select(ITEM_COLUMNS, items))
        definitions = Queries(engine, timezone=timezone, clock=lambda: now, rollups=False)
        sums = DaySums(definitions, day, day_visit, day_item)
        columns = [c.name for c in rollup_today.columns]
        for query in sums.of(day_visit, None):
            conn.execute(insert(rollup_today).from_select(columns, query))
        hours = Period("custom", start, local_midnight(day + timedelta(days=1), zone), "hour", zone)
        chosen = (engine.dialect.name, hours), lambda t: t.c.session_id.in_(sessions)
        for query in hour_rows(*chosen):
            conn.execute(insert(rollup_today_hour).from_select(HOUR_COLUMNS, query))
        day_visit.drop(conn)
        day_item.drop(conn)
        conn.execute(update(rollup_state).values(today=day, today_until=day_until))
    return True
