"""Date ranges of the reports, counted in the site's time zone.

A :class:`Period` is a half-open span of UTC instants ``[start, end)`` plus how to slice it
(hour, day or month buckets, in local time), so the same period means the same rows on
every backend and through every consumer (dashboard, JSON API, badge, CLI).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Interval = Literal["hour", "day", "month"]
RANGES = ("today", "24h", "7d", "30d", "month", "12mo", "all", "custom")
MAX_DAYS = 3660  # ten years: anything longer is a typo, not a report


class InvalidQuery(ValueError):
    """A query parameter makes no sense; ``param`` names it (for a 400 answer)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


@dataclass(frozen=True, slots=True)
class Period:
    range: str
    start: datetime
    """First instant, aware UTC (inclusive)."""
    end: datetime
    """Instant after the last, aware UTC (exclusive)."""
    interval: Interval
    zone: ZoneInfo

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> Period:
        """The period of equal length just before this one, for the "% change"."""
        return Period(self.range, self.start - self.length, self.start, self.interval, self.zone)

    def year_before(self) -> Period:
        """The same local days (hours, months) a year earlier (29 February: the 28th), for
        the chart's comparison with last year."""

        def back(moment: datetime) -> datetime:
            local = moment.astimezone(self.zone)
            day = local.date()
            try:
                day = day.replace(year=day.year - 1)
            except ValueError:  # 29 February
                day = day.replace(year=day.year - 1, day=28)
            return datetime.combine(day, local.time(), tzinfo=self.zone).astimezone(UTC)

        return Period(self.range, back(self.start), back(self.end), self.interval, self.zone)

    def buckets(self) -> list[tuple[str, datetime]]:
        """``(label, local start)`` of every bucket, in order; labels match
        :func:`bucket_label` (``2026-11-25 14:00``, ``2026-11-25``, ``2026-11``)."""
        local_start, local_end = self.start.astimezone(self.zone), self.end.astimezone(self.zone)
        buckets: list[tuple[str, datetime]] = []
        if self.interval == "hour":
            moment = _local_hour_start(self.start, self.zone)  # not UTC's: see Asia/Kolkata
            while moment < self.end:
                local = moment.astimezone(self.zone)
                label = bucket_label(local, "hour")
                if not buckets or buckets[-1][0] != label:  # a repeated hour in autumn
                    buckets.append((label, local))
                moment += timedelta(hours=1)
        elif self.interval == "day":
            day = local_start.date()
            while _midnight(day, self.zone) < self.end:
                buckets.append((day.isoformat(), _midnight(day, self.zone).astimezone(self.zone)))
                day += timedelta(days=1)
        else:
            month = local_start.date().replace(day=1)
            while _midnight(month, self.zone) < self.end:
                buckets.append((month.strftime("%Y-%m"), _midnight(month, self.zone)))
                month = _next_month(month)
        return buckets if local_end > local_start else []


def bucket_label(local: datetime, interval: Interval) -> str:
    if interval == "hour":
        return local.strftime("%Y-%m-%d %H:00")
    if interval == "day":
        return local.strftime("%Y-%m-%d")
    return local.strftime("%Y-%m")


def resolve_period(
    range: str | None = None,
    *,
    from_date: str | date | None = None,
    to_date: str | date | None = None,
    timezone: str | ZoneInfo = "UTC",
    now: datetime,
    earliest: datetime | None = None,
) -> Period:
    """Turn ``range`` (or ``from_date``/``to_date``, inclusive local days) into a Period.

    ``earliest`` (the first stored event) is where ``all`` begins. Raises InvalidQuery.
    """
    zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
    if from_date is not None or to_date is not None:
        if range not in (None, "", "custom"):
            raise InvalidQuery("range", "give either a range or from/to dates, not both")
        return _custom(_parse_date("from", from_date), _parse_date("to", to_date), zone)
    range = range or "30d"
    today = now.astimezone(zone).date()
    if range == "today":
        return _days(range, today, today, zone, "hour")
    if range == "24h":
        end = _local_hour_start(now, zone) + timedelta(hours=1)
        return Period(range, end - timedelta(hours=24), end, "hour", zone)
    if range in ("7d", "30d"):
        return _days(range, today - timedelta(days=int(range[:-1]) - 1), today, zone, "day")
    if range == "month":
        last = _next_month(today.replace(day=1)) - timedelta(days=1)
        return _days(range, today.replace(day=1), last, zone, "day")
    if range == "12mo":
        months = today.year * 12 + today.month - 1 - 11
        first = date(months // 12, months % 12 + 1, 1)
        last = _next_month(today.replace(day=1)) - timedelta(days=1)
        return _days(range, first, last, zone, "month")
    if range == "all":
        first = (earliest or now).astimezone(zone).date()
        first = max(first, today - timedelta(days=MAX_DAYS - 1))
        return _days(range, first, today, zone, _interval_for(first, today))
    if range == "custom":
        raise InvalidQuery("from", "a custom range needs from and to dates (YYYY-MM-DD)")
    raise InvalidQuery("range", f"must be one of {', '.join(RANGES[:-1])}, or from/to dates")


def _custom(first: date, last: date, zone: ZoneInfo) -> Period:
    if last < first:
        raise InvalidQuery("to", f"{last.isoformat()} is before from {first.isoformat()}")
    if (last - first).days >= MAX_DAYS:
        raise InvalidQuery("from", f"a range may span at most {MAX_DAYS} days")
    return _days("custom", first, last, zone, _interval_for(first, last))


def _interval_for(first: date, last: date) -> Interval:
    days = (last - first).days + 1
    return "hour" if days == 1 else "day" if days <= 92 else "month"


def _days(range: str, first: date, last: date, zone: ZoneInfo, interval: Interval) -> Period:
    start = _midnight(first, zone).astimezone(UTC)
    end = _midnight(last + timedelta(days=1), zone).astimezone(UTC)
    return Period(range, start, end, interval, zone)


def _local_hour_start(moment: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant the local hour of ``moment`` began: not a whole UTC hour in zones
    off by a half or a quarter hour (Asia/Kolkata +05:30, Asia/Kathmandu +05:45)."""
    local = moment.astimezone(zone)
    past = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
    return moment.astimezone(UTC) - past


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def _next_month(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(9000, 12, 31)


def _parse_date(param: str, value: str | date | None) -> date:
    if value is None or value == "":
        raise InvalidQuery(param, "is required with a custom range (YYYY-MM-DD)")
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise InvalidQuery(param, f"{value!r} is not a date (YYYY-MM-DD)") from None
    # The period before a range (its comparison) and the day after it must exist too:
    # 0001-01-01 overflowed in the date arithmetic and answered 500.
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidQuery(
            param, f"must be from {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}"
        )
    return day
