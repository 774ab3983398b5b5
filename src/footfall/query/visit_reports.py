"""Reports of the ``visit`` rows: where visits began and ended (entry and exit pages), and
their channels and UTM tags.

The writer keeps each visit's first and last page, its source and its campaign tags, so
these read a row per visit rather than its events, and cover the period while its raw
events are kept (the rows go with them). An entry is a visit that began in the period, an
exit one that ended in it; the channels and tags are of the visits with an event in it.
Exit rate is a page's exits over its page views in the period (of the selected visits).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, case, distinct, func, select, union_all

from footfall.query.channels import channel_sql
from footfall.query.filters import Filters
from footfall.query.ranges import Period
from footfall.query.results import Breakdown, EntryPage, ExitPage
from footfall.query.sql import naive_utc
from footfall.store.schema import custom_event, page_view, visit


def entry_pages(conn: Connection, period: Period, filters: Filters, limit: int) -> list[EntryPage]:
    """The pages visits began on, by visitors: each with its entrances (visits) and the
    bounce rate of those visits."""
    v = visit.c
    visitors = func.count(distinct(v.visitor_id))
    bounces = func.sum(case(((v.pageviews == 1) & (v.interactions == 0), 1), else_=0))
    start, end = naive_utc(period.start), naive_utc(period.end)
    query = (
        select(v.entry_page, visitors, func.count(), bounces)
        .where(
            v.last_seen >= start,  # the index's first column: visits seen since the start
            v.first_seen >= start,
            v.first_seen < end,
            v.entry_page.is_not(None),
            *_selected(filters, start, end),
        )
        .group_by(v.entry_page)
        .order_by(visitors.desc(), func.count().desc(), v.entry_page)
        .limit(limit)
    )
    return [
        EntryPage(path, int(people), int(visits), round(100 * int(bounced) / visits, 1))
        for path, people, visits, bounced in conn.execute(query)
    ]


def exit_pages(conn: Connection, period: Period, filters: Filters, limit: int) -> list[ExitPage]:
    """The pages visits ended on, by visitors: each with its exits and its exit rate (exits
    over the page's views in the period, of the selected visits)."""
    v = visit.c
    visitors = func.count(distinct(v.visitor_id))
    start, end = naive_utc(period.start), naive_utc(period.end)
    query = (
        select(v.exit_page, visitors, func.count())
        .where(
            v.last_seen >= start,
            v.last_seen < end,
            v.exit_page.is_not(None),
            *_selected(filters, start, end),
        )
        .group_by(v.exit_page)
        .order_by(visitors.desc(), func.count().desc(), v.exit_page)
        .limit(limit)
    )
    rows = conn.execute(query).all()
    views = _views(conn, [row[0] for row in rows], filters, start, end)
    return [
        ExitPage(path, int(people), int(exits), _rate(int(exits), views.get(path, 0)))
        for path, people, exits in rows
    ]


UTM_TAGS = ("utm_medium", "utm_source", "utm_campaign", "utm_content", "utm_term")
"""The campaign tags the sources card has a tab for, in its order."""


def visit_breakdown(
    conn: Connection, period: Period, filters: Filters, by: str, limit: int
) -> list[Breakdown]:
    """The visits with an event in the period by channel (``by`` ``channel``: every visit
    has one) or by one of ``UTM_TAGS`` (the tagged visits only), by visitors."""
    v = visit.c
    value = channel_sql(v.source, v.utm_medium) if by == "channel" else v[by]
    visitors = func.count(distinct(v.visitor_id))
    start, end = naive_utc(period.start), naive_utc(period.end)
    query = (
        select(value.label("value"), visitors, func.count())
        .where(
            v.last_seen >= start,
            v.first_seen < end,
            *([] if by == "channel" else [value.is_not(None)]),
            *_selected(filters, start, end),
        )
        .group_by(value)
        .order_by(visitors.desc(), func.count().desc(), value)
        .limit(limit)
    )
    return [
        Breakdown(str(name), int(people), int(visits))
        for name, people, visits in conn.execute(query)
    ]


def _rate(exits: int, views: int) -> float:
    """Percent, to one decimal; a visit's last view before the period leaves it with none
    inside (then 100: every view of it here was an exit)."""
    return round(100 * min(exits / views, 1.0), 1) if views else 100.0


def _views(
    conn: Connection, paths: list[str], filters: Filters, start: datetime, end: datetime
) -> dict[str, int]:
    """The page views of ``paths`` in ``[start, end)``, of the visits ``filters`` select."""
    if not paths:
        return {}
    pv = page_view.c
    query = select(pv.path, func.count()).where(
        pv.timestamp >= start, pv.timestamp < end, pv.path.in_(paths)
    )
    if filters:
        selected = select(visit.c.session_id).where(
            visit.c.last_seen >= start, visit.c.first_seen < end, *_selected(filters, start, end)
        )
        query = query.where(pv.session_id.in_(selected))
    return {path: int(count) for path, count in conn.execute(query.group_by(pv.path))}


def tagged_conditions(filters: Filters) -> list[Any]:
    """The conditions on ``visit`` rows of the channel and UTM tag filters."""
    v = visit.c
    return [
        chosen.sql(channel_sql(v.source, v.utm_medium) if name == "channel" else v[name])
        for name, chosen in filters.tagged.items()
    ]


def tagged_sessions(filters: Filters) -> Select[Any] | None:
    """The sessions the channel and UTM tag filters select (None without one): from the
    ``visit`` rows, which hold a visit's tags (those of its entry page)."""
    conditions = tagged_conditions(filters)
    return select(visit.c.session_id).where(*conditions) if conditions else None


def _selected(filters: Filters, start: datetime, end: datetime) -> list[Any]:
    """Conditions on ``visit`` rows for the visits ``filters`` select: its attributes, or
    a page view of the page (an event of the name) in the period."""
    v = visit.c
    conditions = [chosen.sql(v[name], name) for name, chosen in filters.visit_level.items()]
    conditions += tagged_conditions(filters)
    sources = []
    for table, column, chosen in (
        (page_view, page_view.c.path, filters.page),
        (custom_event, custom_event.c.name, filters.event),
    ):
        if chosen is not None:
            sources.append((table, [chosen.sql(column)]))
    if filters.props and not sources:  # an event of either kind with the properties
        sources = [(page_view, []), (custom_event, [])]
    any_kind = []
    for table, matches in sources:
        props = filters.property_sql(table.c.properties)
        where = [table.c.timestamp >= start, table.c.timestamp < end, *matches]
        selected = select(table.c.session_id).where(*where, *([props] if props is not None else []))
        if filters.page is None and filters.event is None:
            any_kind.append(selected)
        else:
            conditions.append(v.session_id.in_(selected))
    if any_kind:
        conditions.append(v.session_id.in_(union_all(*any_kind)))
    return conditions
