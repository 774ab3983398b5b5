"""A ``kill -9`` of the standalone server under load loses no acknowledged event.

The group-commit writer answers 202 only after the event's transaction commits, so an
event the server acknowledged must be in the database even when the process dies without
any shutdown. This runs one short round of ``bench/crash.py`` against a real ``footfall
serve`` subprocess, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from crash import KILLED_ON_ACKNOWLEDGEMENTS, run_crash_round  # noqa: E402

KILL_AFTER = 300
MAX_REQUESTS = 5_000


def test_kill_9_under_load_loses_no_acknowledged_event(database_url: str) -> None:
    result = run_crash_round(
        database_url,
        seconds=30,  # only an upper bound: the kill comes after KILL_AFTER acknowledgements
        concurrency=32,
        round_no=1,
        kill_after=KILL_AFTER,
        max_requests=MAX_REQUESTS,
    )

    # The kill really happened mid-load, on the observed condition.
    assert result.kill_reason == KILLED_ON_ACKNOWLEDGEMENTS, result
    assert result.acknowledged >= KILL_AFTER
    assert result.in_flight_at_kill > 0, result
    assert result.sent < MAX_REQUESTS
    assert result.failed > 0, "no request was cut off by the kill"
    assert result.failed_before_kill == 0 and not result.refused, result

    # Nothing acknowledged is lost; nothing is stored twice or out of nowhere.
    assert result.missing == []
    assert result.stored_acknowledged == result.acknowledged
    assert result.duplicated == [] and result.unexpected == []
    assert result.acknowledged <= result.stored_total <= result.sent
