"""Where "now" comes from. Everything that needs the time takes a clock, so tests move time
instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""A zero-argument callable returning the current time, timezone-aware."""


def system_clock() -> datetime:
    return datetime.now(UTC)
