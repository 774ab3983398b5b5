"""Time on page and scroll depth: what trackers report when a page is hidden or left.

Both are means over page views, not visitors: time on page is the mean engaged time (visible
and focused) of a page's views that reported one, scroll depth the mean of their deepest
scroll. So a rolled-up day keeps them as four sums per page (``rollup_engagement``) that add
up across days as they are, and a period reads those for its rolled-up days and raw page
views for the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select, union_all

from footfall.query.ranges import Period
from footfall.query.rollups import read_state, split_period
from footfall.query.sql import naive_utc
from footfall.store.schema import page_view, rollup_engagement

SUMS = ("engaged_ms", "engaged_views", "scroll_sum", "scroll_views")
"""The sums ``rollup_engagement`` keeps per day and page, in ``engagement_sums``' order."""
PATHS = bindparam("engagement_paths", expanding=True)


@dataclass(frozen=True, slots=True)
class PageEngagement:
    """A page's engagement over a period."""

    time_on_page: float | None
    """Mean engaged seconds of its page views that reported engagement, to one decimal
    (None: none did)."""
    scroll_depth: int | None
    """Mean deepest scroll of those page views, in percent (None: none reported one)."""


def engagement_sums(start: datetime, stop: datetime, paths: Any = None) -> Select[Any]:
    """Per page, ``SUMS`` over its views in ``[start, stop)`` (aware or naive UTC)."""
    pv = page_view.c
    query = (
        select(
            pv.path,
            func.coalesce(func.sum(pv.engaged_ms), 0).label("engaged_ms"),
            func.count(pv.engaged_ms).label("engaged_views"),
            func.coalesce(func.sum(pv.scroll_depth), 0).label("scroll_sum"),
            func.count(pv.scroll_depth).label("scroll_views"),
        )
        .where(
            pv.timestamp >= _naive(start),
            pv.timestamp < _naive(stop),
            # A scroll depth comes with an engaged time; so worded, the condition of the
            # partial index ix_page_view_engaged, which holds all this reads.
            pv.engaged_ms.is_not(None),
        )
        .group_by(pv.path)
    )
    return query.where(pv.path.in_(paths)) if paths is not None else query


def page_engagement(
    conn: Connection, period: Period, paths: Sequence[str], *, rollups: bool = True
) -> dict[str, PageEngagement]:
    """The engagement of each of ``paths`` over ``period``: the rollups of its rolled-up
    days, raw page views for the rest (``rollups`` False: raw page views only)."""
    if not paths:
        return {}
    state = read_state(conn) if rollups else None
    split = split_period(period, state)
    parts = [engagement_sums(start, stop, PATHS) for start, stop in split.raw]
    if split.days is not None:
        e = rollup_engagement.c
        parts.append(
            select(e.path, *(e[name] for name in SUMS)).where(
                e.day >= split.days[0], e.day < split.days[1], e.path.in_(PATHS)
            )
        )
    rows = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    summed = select(rows.c.path, *(func.sum(rows.c[name]) for name in SUMS)).group_by(rows.c.path)
    found = {
        path: _engagement(*(int(v) for v in sums))
        for path, *sums in conn.execute(summed, {"engagement_paths": list(paths)})
    }
    return {path: found.get(path, NONE) for path in paths}


def _engagement(engaged_ms: int, views: int, scroll_sum: int, scroll_views: int) -> PageEngagement:
    return PageEngagement(
        round(engaged_ms / views / 1000, 1) if views else None,
        round(scroll_sum / scroll_views) if scroll_views else None,
    )


NONE = PageEngagement(None, None)


def _naive(moment: datetime) -> datetime:
    return naive_utc(moment) if moment.tzinfo is not None else moment
