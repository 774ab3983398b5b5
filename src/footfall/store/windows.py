"""Rolling parts of finished days up: what keeps a 24-hour report from reading a day of
raw events.

A 24-hour period begins at an hour of yesterday, and the one before it (for the "% change")
spans an hour of the day before to the same hour of yesterday. (So does the period before
a week or 30 days across a daylight saving change: as long, it begins an hour off
midnight.) Those days are rolled up
whole (store/rollups.py), but a report needs only their parts after or before that hour,
and reading those parts from raw events cost most of a 24-hour dashboard (at 10,000,000
events, the top stats alone about 280 ms and the previous period's about 180 ms).

So ``refresh_windows`` keeps ``rollup_window``: ``rollup_day``'s rows for just those parts
(the windows), over the visitors the day's rollups count as seen on it only, with their
visits cut at the window's edge as the report cuts them. A report reads those rows and,
from raw events, only the few visitors of the window seen on another day too
(query/rollups.py). The windows of the current hour and of the next are kept (a running
footfall refreshes them every few minutes with the day in progress's rollups); older ones
are deleted.

With a day's first window, ``rollup_hour`` gets that day's numbers per hour (the 24-hour
chart and its sparklines): an hour of a day holds no event of another, so they are exact
for any period, and they go with the day's last window. A rolled-up day's raw events no
longer change, except by an import or a purge, and those delete its rollups, windows and
hours included.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import product
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, DateTime, Engine, delete, insert, literal, select

from footfall.query.filters import Filters
from footfall.query.metrics import Queries
from footfall.query.ranges import Period, resolve_period
from footfall.query.rollups import (
    HOUR_COLUMNS,
    RollupState,
    Window,
    day_pieces,
    hour_rows,
    local_midnight,
    read_state,
)
from footfall.query.sql import naive_utc
from footfall.store.database import write_connection
from footfall.store.schema import rollup_hour, rollup_state, rollup_visit_part, rollup_window
from footfall.store.sums import DaySums, single_day_scratch

WINDOW_COLUMNS = [
    *(c.name for c in rollup_window.columns if c.name not in ("start", "stop")),
    "start",
    "stop",
]
"""The ``rollup_window`` columns the inserting queries select, in order: ``DaySums``'s,
then the window's edges."""


def refresh_windows(engine: Engine, *, timezone: str, now: datetime) -> int:
    """Build the windows the 24-hour reports of this hour and the next read, one
    transaction each, and delete the others. Returns how many were built."""
    with engine.connect() as conn:
        state = read_state(conn)
    if state is None or state.timezone != timezone:
        return 0
    needed = windows_needed(state, now)
    stale = state.windows - needed
    if stale:
        w = rollup_window.c
        kept = {day for day, _, _ in state.windows & needed}
        with write_connection(engine) as conn, conn.begin():
            for day, start, stop in stale:
                conn.execute(
                    delete(rollup_window).where(w.day == day, w.start == start, w.stop == stop)
                )
            for day in {day for day, _, _ in stale} - kept:
                conn.execute(delete(rollup_hour).where(rollup_hour.c.day == day))
    built = 0
    for window in sorted(needed - state.windows):
        with write_connection(engine) as conn, conn.begin():
            # Locked, and read again: another worker may have built it, or an import
            # reset the day's rollups, since.
            conn.execute(select(rollup_state.c.id).with_for_update()).first()
            current = read_state(conn)
            if current is None or window not in windows_needed(current, now):
                continue
            if window in current.windows:
                continue
            zone = ZoneInfo(timezone)
            if all(day != window[0] for day, _, _ in current.windows):
                _roll_up_hours(conn, window[0], zone)  # with the day's first window
            _roll_up_window(conn, window, zone)
            built += 1
    return built


WINDOW_RANGES = ("24h", "7d", "30d")
"""The named ranges whose periods (and the periods before them) may cut a rolled-up day:
every 24-hour one, and a week or 30 days across a daylight saving change, the period
before which is as long, so an hour off midnight."""


def windows_needed(state: RollupState, now: datetime) -> set[Window]:
    """The parts of rolled-up days that the periods of ``WINDOW_RANGES`` of this hour and
    the next, and the periods before them, begin or end within."""
    zone = ZoneInfo(state.timezone)
    needed: set[Window] = set()
    for ahead, range_ in product((0, 1), WINDOW_RANGES):
        moment = now + timedelta(hours=ahead)
        period = resolve_period(range_, timezone=state.timezone, now=moment)
        for p in (period, period.previous()):
            for day, start, stop in day_pieces(naive_utc(p.start), naive_utc(p.end), zone):
                whole = start == naive_utc(local_midnight(day, zone)) and stop == naive_utc(
                    local_midnight(day + timedelta(days=1), zone)
                )
                raw_kept = state.raw_from is None or start >= state.raw_from
                if state.first_day <= day < state.sealed_until and not whole and raw_kept:
                    needed.add((day, start, stop))
    return needed


def _roll_up_hours(conn: Connection, day: date, zone: ZoneInfo) -> None:
    """``rollup_hour``'s rows of ``day``: per hour, the numbers of all its events (an hour
    of a day holds none of another)."""
    start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    label = (conn.engine.dialect.name, Period("custom", start, end, "hour", zone))
    a, b = naive_utc(start), naive_utc(end)
    for query in hour_rows(label, lambda t: (t.c.timestamp >= a) & (t.c.timestamp < b)):
        conn.execute(
            insert(rollup_hour).from_select([*HOUR_COLUMNS, "day"], query.add_columns(literal(day)))
        )


def _roll_up_window(conn: Connection, window: Window, zone: ZoneInfo) -> None:
    """``rollup_window``'s rows of ``window``: the day's sums (``DaySums``) over the visits
    in it, cut at its edges, of the visitors seen on that day only."""
    day, start, stop = window
    aware_start, aware_stop = start.replace(tzinfo=UTC), stop.replace(tzinfo=UTC)
    period = Period("custom", aware_start, aware_stop, "hour", zone)
    definitions = Queries(conn.engine, timezone=zone.key, clock=lambda: aware_stop, rollups=False)
    visits = definitions.visits_select(period, Filters()).subquery("visits")
    elsewhere = select(rollup_visit_part.c.visitor_id).where(rollup_visit_part.c.day == day)
    day_visit, day_item = single_day_scratch(conn, visits, elsewhere, aware_start, aware_stop)
    edges = (literal(start, DateTime), literal(stop, DateTime))
    for query in DaySums(definitions, day, day_visit, day_item).of(day_visit, None):
        conn.execute(insert(rollup_window).from_select(WINDOW_COLUMNS, query.add_columns(*edges)))
    day_visit.drop(conn)
    day_item.drop(conn)
