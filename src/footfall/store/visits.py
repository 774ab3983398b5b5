"""The ``visit`` rows the writer keeps: each batch's events folded per visit, then merged
into the stored row by one upsert, in the transaction that stores the events.

A visit's numbers are sums (page views, interactive and other custom events), its first
and last event, its entry page (the first page view written) and exit page (the last), and
its attributes with the same choice as the reports' grouping of raw events
(query/metrics.py): the greatest source, referrer and UTM tag, the least of the others.
The database compares the strings, so its collation decides, as it does for the reports.
Python only folds values that are equal or missing; two different values of one visit in
one batch go to separate rows, upserted one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from footfall.ingest.event import Event

LEAST = ("hostname", "country", "device", "browser", "os")
"""Attributes whose least value is the visit's."""
GREATEST = (
    "source",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
)
"""Attributes whose greatest value is the visit's (``source`` is the events'
``referrer_source``)."""
VISIT_COLUMNS: tuple[str, ...] = (
    "session_id",
    "visitor_id",
    "first_seen",
    "last_seen",
    "pageviews",
    "interactions",
    "events",
    "entry_page",
    "exit_page",
    *LEAST,
    *GREATEST,
    "engaged_ms",
)
_ATTRIBUTES = (*LEAST, *GREATEST)


def visit_upsert_suffix(*, engaged: bool = True) -> str:
    """``ON CONFLICT`` clause merging a row into the stored visit; the same spelling on
    SQLite and PostgreSQL (no scalar min/max there, hence the CASEs). ``engaged``: the
    ``visit`` table has ``engaged_ms`` (from migration 0012 on)."""

    def keep(c: str, better: str) -> str:
        """The new value if the visit has none yet or the new one is ``better``."""
        new, old = f"excluded.{c}", f"visit.{c}"
        return f"{c} = CASE WHEN {old} IS NULL OR {new} {better} {old} THEN {new} ELSE {old} END"

    updates = [
        "visitor_id = CASE WHEN excluded.visitor_id < visit.visitor_id"
        " THEN excluded.visitor_id ELSE visit.visitor_id END",
        "first_seen = CASE WHEN excluded.first_seen < visit.first_seen"
        " THEN excluded.first_seen ELSE visit.first_seen END",
        "last_seen = CASE WHEN excluded.last_seen > visit.last_seen"
        " THEN excluded.last_seen ELSE visit.last_seen END",
        "pageviews = visit.pageviews + excluded.pageviews",
        "interactions = visit.interactions + excluded.interactions",
        "events = visit.events + excluded.events",
        "entry_page = COALESCE(visit.entry_page, excluded.entry_page)",
        "exit_page = COALESCE(excluded.exit_page, visit.exit_page)",
        *(["engaged_ms = visit.engaged_ms + excluded.engaged_ms"] if engaged else []),
        *(keep(c, "<") for c in LEAST),
        *(keep(c, ">") for c in GREATEST),
    ]
    return " ON CONFLICT (session_id) DO UPDATE SET " + ", ".join(updates)


def visit_rows(
    events: Iterable[Event],
    timestamp: Callable[[Any], Any],
    cut: Callable[[str, Any], Any],
) -> list[list[tuple[Any, ...]]]:
    """The batch as rounds of visit rows (at most one row per visit in each round), in
    ``VISIT_COLUMNS`` order; ``timestamp`` and ``cut`` prepare values as the writer stores
    them."""
    by_visit: dict[int, list[dict[str, Any]]] = {}
    for event in sorted(events, key=lambda e: e.timestamp):
        values = {a: cut(a, _attribute(event, a)) for a in _ATTRIBUTES}
        rows = by_visit.setdefault(event.session_id, [])
        row = rows[-1] if rows else None
        if row is None or any(
            values[a] is not None and row[a] is not None and values[a] != row[a]
            for a in _ATTRIBUTES
        ):
            row = {
                "session_id": event.session_id,
                "visitor_id": event.visitor_id,
                "first_seen": event.timestamp,
                "pageviews": 0,
                "interactions": 0,
                "events": 0,
                "entry_page": None,
                "exit_page": None,
                "engaged_ms": 0,
                **values,
            }
            rows.append(row)
        row["visitor_id"] = min(row["visitor_id"], event.visitor_id)
        row["last_seen"] = event.timestamp
        if event.is_pageview:
            row["pageviews"] += 1
            path = cut("entry_page", event.path)
            row["entry_page"] = row["entry_page"] or path
            row["exit_page"] = path
            row["engaged_ms"] += event.engaged_ms or 0
        else:
            row["events"] += 1
            row["interactions"] += int(event.interactive)
        for a in _ATTRIBUTES:
            if row[a] is None:
                row[a] = values[a]
    rounds: list[list[tuple[Any, ...]]] = []
    for rows in by_visit.values():
        for index, row in enumerate(rows):
            if index == len(rounds):
                rounds.append([])
            row["first_seen"] = timestamp(row["first_seen"])
            row["last_seen"] = timestamp(row["last_seen"])
            rounds[index].append(tuple(row[c] for c in VISIT_COLUMNS))
    return rounds


def recount_sql(*, between: bool = False, engaged: bool = True) -> str:
    """A SELECT of the ``visit`` rows the raw events make, in ``VISIT_COLUMNS`` order,
    oldest first: inserted so, they lie on disk in time order, as the writer leaves them.
    With ``between``, of the events from ``:start`` to before ``:stop`` only: the rows of
    the visits' parts in that time, which ``visit_upsert_suffix`` merges as the writer's.
    Without ``engaged``, the columns before migration 0012 (no ``engaged_ms``: a build
    that ``migrate`` to an earlier revision runs)."""
    events = {"source": "referrer_source"}
    attributes = ", ".join(events.get(a, a) for a in _ATTRIBUTES)
    kept = "WHERE timestamp >= :start AND timestamp < :stop" if between else ""
    page_kept = "AND p.timestamp >= :start AND p.timestamp < :stop" if between else ""
    first_page = (
        f"(SELECT p.path FROM page_view p WHERE p.session_id = e.session_id {page_kept} "
        "ORDER BY p.timestamp {0}, p.id {0} LIMIT 1)"
    )
    return f"""
        SELECT e.session_id, min(e.visitor_id), min(e.timestamp), max(e.timestamp),
            sum(e.is_pageview), sum(e.interaction), sum(1 - e.is_pageview),
            {first_page.format("ASC")}, {first_page.format("DESC")},
            {", ".join(f"min(e.{events.get(a, a)})" for a in LEAST)},
            {", ".join(f"max(e.{events.get(a, a)})" for a in GREATEST)}
            {", sum(e.engaged_ms)" if engaged else ""}
        FROM (
            SELECT session_id, visitor_id, timestamp, 1 AS is_pageview, 0 AS interaction,
                {attributes}{", COALESCE(engaged_ms, 0) AS engaged_ms" if engaged else ""}
                FROM page_view {kept}
            UNION ALL
            SELECT session_id, visitor_id, timestamp, 0 AS is_pageview,
                CASE WHEN interactive THEN 1 ELSE 0 END AS interaction,
                {attributes}{", 0 AS engaged_ms" if engaged else ""} FROM custom_event {kept}
        ) AS e
        WHERE true
        GROUP BY e.session_id
        ORDER BY min(e.timestamp), e.session_id
    """


def _attribute(event: Event, name: str) -> Any:
    return event.referrer_source if name == "source" else getattr(event, name)
