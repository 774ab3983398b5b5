"""Funnels: ordered steps (pages or custom events) that a visit takes one after the other.

A funnel is defined in the configuration as text, ``Signup flow: page:/pricing >
page:/signup > event:Signup``: a name, then its steps as goals are written (query/goals.py).
For a period, a visit reaches step 1 with its first matching event in the period, and step
*n* with a matching event after the one that reached step *n-1*, in the same visit. Each
step counts the visitors and visits that reached it; what a step loses against the one
before is its drop-off. Computed from raw events, so for periods whose raw events are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, distinct, func, literal, select, union_all

from footfall.query.goals import Goal
from footfall.store.schema import page_view


@dataclass(frozen=True, slots=True)
class Funnel:
    name: str
    steps: tuple[Goal, ...]

    @classmethod
    def parse(cls, text: str) -> Funnel:
        """``<name>: <step> > <step> [> ...]``, each step ``page:...`` or ``event:...``."""
        name, colon, rest = text.partition(": ")
        steps = tuple(Goal.parse(step.strip()) for step in rest.split(" > ")) if colon else ()
        if not name.strip() or len(steps) < 2 or any(s.prop is not None for s in steps):
            raise ValueError(
                f"funnel {text!r} is not '<name>: <step> > <step> [> ...]', with two steps or "
                "more, each 'page:<path>' or 'event:<name>'"
            )
        return cls(name.strip(), steps)


def funnel_select(funnel: Funnel, events: Any) -> Select[Any]:
    """One row per step, in order: its index, visitors and visits. ``events``: the
    period's events (of the selected visits) as ``session_id, visitor_id, timestamp, kind,
    value`` (``kind`` ``page``, with the path, or ``event``, with the name)."""
    reached: list[Any] = []
    counts: list[Select[Any]] = []
    for index, step in enumerate(funnel.steps):
        matched = select(
            events.c.session_id, events.c.visitor_id, func.min(events.c.timestamp).label("at")
        ).where(_matches(step, events))
        if reached:
            before = reached[-1]
            matched = matched.join_from(
                events,
                before,
                and_(before.c.session_id == events.c.session_id, events.c.timestamp > before.c.at),
            )
        step_rows = matched.group_by(events.c.session_id, events.c.visitor_id).cte(f"step{index}")
        reached.append(step_rows)
        counts.append(
            select(
                literal(index).label("step"),
                func.count(distinct(step_rows.c.visitor_id)),
                func.count(),
            )
        )
    return union_all(*counts)  # type: ignore[return-value]


def _matches(step: Goal, events: Any) -> Any:
    if step.page is not None:
        return and_(events.c.kind == "page", events.c.value.like(step.like(), escape="\\"))
    return and_(events.c.kind == "event", events.c.value == step.event)


def events_of(rows: Sequence[tuple[Any, Any]]) -> Any:
    """The events subquery ``funnel_select`` reads, from ``(table, query)`` pairs: each
    query a select of that table's rows (the period's, of the selected visits)."""
    parts = []
    for table, query in rows:
        kind, value = ("page", table.c.path) if table is page_view else ("event", table.c.name)
        parts.append(
            query.with_only_columns(
                table.c.session_id,
                table.c.visitor_id,
                table.c.timestamp,
                literal(kind).label("kind"),
                value.label("value"),
            )
        )
    return union_all(*parts).subquery("funnel_events")
