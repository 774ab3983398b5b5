"""Every named range's exact start, end, interval and buckets on a fixed clock, in UTC and
in zones behind and ahead of it (one with a half-hour offset), worked out by hand; then
events on either side of daylight-saving changes, bucketed by each backend.

The clock: 2026-11-20 02:30:15 UTC, which is
  UTC               Fri 2026-11-20 02:30:15
  America/New_York  Thu 2026-11-19 21:30:15 EST (UTC-5; summer time ended on Nov 1)
  Asia/Kolkata      Fri 2026-11-20 08:00:15 IST (UTC+5:30, no daylight saving)
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from conftest import BROWSER_UA
from footfall import IngestContext
from footfall.query.ranges import InvalidQuery, resolve_period

NOW = datetime(2026, 11, 20, 2, 30, 15, tzinfo=UTC)


def at(text: str) -> datetime:
    """``2026-11-20 02:30`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (zone, range): (start UTC, end UTC, interval, number of buckets, first label, last label)
NAMED = {
    # -- UTC: today is Nov 20 ---------------------------------------------------------------
    ("UTC", "today"): ("2026-11-20 00:00", "2026-11-21 00:00", "hour", 24,
                       "2026-11-20 00:00", "2026-11-20 23:00"),
    # 24 whole hours ending with the current one (02:00-03:00): 03:00 yesterday to 03:00.
    ("UTC", "24h"): ("2026-11-19 03:00", "2026-11-20 03:00", "hour", 24,
                     "2026-11-19 03:00", "2026-11-20 02:00"),
    # Nov 14, 15, ..., 20: 7 days, today included.
    ("UTC", "7d"): ("2026-11-14 00:00", "2026-11-21 00:00", "day", 7,
                    "2026-11-14", "2026-11-20"),
    # Oct 22..31 is 10 days, Nov 1..20 is 20: 30 days.
    ("UTC", "30d"): ("2026-10-22 00:00", "2026-11-21 00:00", "day", 30,
                     "2026-10-22", "2026-11-20"),
    # The whole calendar month, days still to come included: November has 30.
    ("UTC", "month"): ("2026-11-01 00:00", "2026-12-01 00:00", "day", 30,
                       "2026-11-01", "2026-11-30"),
    # This month and the 11 before: Dec 2025 .. Nov 2026.
    ("UTC", "12mo"): ("2025-12-01 00:00", "2026-12-01 00:00", "month", 12,
                      "2025-12", "2026-11"),
    # Nothing stored: all is today.
    ("UTC", "all"): ("2026-11-20 00:00", "2026-11-21 00:00", "hour", 24,
                     "2026-11-20 00:00", "2026-11-20 23:00"),
    # -- New York: today is Nov 19; EST midnight is 05:00 UTC, EDT midnight 04:00 UTC ----
    ("America/New_York", "today"): ("2026-11-19 05:00", "2026-11-20 05:00", "hour", 24,
                                    "2026-11-19 00:00", "2026-11-19 23:00"),
    # The current local hour is 21:00 (02:00 UTC): the same instants as in UTC, local labels.
    ("America/New_York", "24h"): ("2026-11-19 03:00", "2026-11-20 03:00", "hour", 24,
                                  "2026-11-18 22:00", "2026-11-19 21:00"),
    ("America/New_York", "7d"): ("2026-11-13 05:00", "2026-11-20 05:00", "day", 7,
                                 "2026-11-13", "2026-11-19"),
    # Oct 21 (EDT, 04:00 UTC) .. Nov 19 (EST): 30 local days, 30 x 24 h + 1 h long.
    ("America/New_York", "30d"): ("2026-10-21 04:00", "2026-11-20 05:00", "day", 30,
                                  "2026-10-21", "2026-11-19"),
    # Nov 1 began in EDT (the clocks went back at 02:00 that night).
    ("America/New_York", "month"): ("2026-11-01 04:00", "2026-12-01 05:00", "day", 30,
                                    "2026-11-01", "2026-11-30"),
    ("America/New_York", "12mo"): ("2025-12-01 05:00", "2026-12-01 05:00", "month", 12,
                                   "2025-12", "2026-11"),
    ("America/New_York", "all"): ("2026-11-19 05:00", "2026-11-20 05:00", "hour", 24,
                                  "2026-11-19 00:00", "2026-11-19 23:00"),
    # -- Kolkata: today is Nov 20; local midnight is 18:30 UTC the day before -------------
    ("Asia/Kolkata", "today"): ("2026-11-19 18:30", "2026-11-20 18:30", "hour", 24,
                                "2026-11-20 00:00", "2026-11-20 23:00"),
    # The current local hour is 08:00-09:00 (02:30-03:30 UTC): 09:00 yesterday to 09:00.
    ("Asia/Kolkata", "24h"): ("2026-11-19 03:30", "2026-11-20 03:30", "hour", 24,
                              "2026-11-19 09:00", "2026-11-20 08:00"),
    ("Asia/Kolkata", "7d"): ("2026-11-13 18:30", "2026-11-20 18:30", "day", 7,
                             "2026-11-14", "2026-11-20"),
    ("Asia/Kolkata", "30d"): ("2026-10-21 18:30", "2026-11-20 18:30", "day", 30,
                              "2026-10-22", "2026-11-20"),
    ("Asia/Kolkata", "month"): ("2026-10-31 18:30", "2026-11-30 18:30", "day", 30,
                                "2026-11-01", "2026-11-30"),
    ("Asia/Kolkata", "12mo"): ("2025-11-30 18:30", "2026-11-30 18:30", "month", 12,
                               "2025-12", "2026-11"),
    ("Asia/Kolkata", "all"): ("2026-11-19 18:30", "2026-11-20 18:30", "hour", 24,
                              "2026-11-20 00:00", "2026-11-20 23:00"),
}  # fmt: skip


@pytest.mark.parametrize(("zone", "name"), NAMED)
def test_named_range(zone: str, name: str) -> None:
    start, end, interval, count, first, last = NAMED[zone, name]
    period = resolve_period(name, timezone=zone, now=NOW)
    assert (period.start, period.end) == (at(start), at(end))
    assert period.start.tzinfo is not None and period.start.utcoffset() == timedelta(0)
    assert period.interval == interval
    labels = [label for label, _ in period.buckets()]
    assert (len(labels), labels[0], labels[-1]) == (count, first, last)
    assert len(set(labels)) == len(labels)


def test_hourly_labels_are_consecutive_local_hours() -> None:
    for zone in ("UTC", "America/New_York", "Asia/Kolkata"):
        for name in ("today", "24h"):
            period = resolve_period(name, timezone=zone, now=NOW)
            starts = [local for _, local in period.buckets()]
            assert all(local.minute == 0 for local in starts), (zone, name)
            assert all(b - a == timedelta(hours=1) for a, b in pairwise(starts)), zone


def test_the_ranges_do_not_depend_on_seconds_or_a_moment_inside_the_hour() -> None:
    """Any moment of the hour 02:00-03:00 UTC gives the same 24h; 03:00:00 the next one."""
    for moment in ("2026-11-20 02:00:00", "2026-11-20 02:59:59.999999"):
        period = resolve_period("24h", now=at(moment))
        assert (period.start, period.end) == (at("2026-11-19 03:00"), at("2026-11-20 03:00"))
    period = resolve_period("24h", now=at("2026-11-20 03:00"))
    assert (period.start, period.end) == (at("2026-11-19 04:00"), at("2026-11-20 04:00"))
    # today and 7d only change at local midnight: 23:59:59 is still Nov 20.
    period = resolve_period("7d", now=at("2026-11-20 23:59:59"))
    assert (period.start, period.end) == (at("2026-11-14 00:00"), at("2026-11-21 00:00"))


def test_ranges_across_a_daylight_saving_change() -> None:
    """New York, 2026-11-04 07:00 EST (12:00 UTC). 7d is Oct 29 .. Nov 4: it starts at
    midnight EDT (04:00 UTC) and ends at midnight EST (05:00 UTC): 7 days and an hour."""
    now = at("2026-11-04 12:00")
    period = resolve_period("7d", timezone="America/New_York", now=now)
    assert (period.start, period.end) == (at("2026-10-29 04:00"), at("2026-11-05 05:00"))
    assert period.length == timedelta(days=7, hours=1)
    assert [label for label, _ in period.buckets()] == [
        "2026-10-29", "2026-10-30", "2026-10-31", "2026-11-01",
        "2026-11-02", "2026-11-03", "2026-11-04",
    ]  # fmt: skip
    # 24h at 01:30 EST on Nov 1 (06:30 UTC), the second 01:00-02:00 of that night:
    # 03:00 EDT Oct 31 (07:00 UTC) to 02:00 EST (07:00 UTC). 24 hours, but the two
    # 01:00 hours share one label: 23 buckets, 03:00 .. 23:00 (21) + 00:00 + 01:00.
    period = resolve_period("24h", timezone="America/New_York", now=at("2026-11-01 06:30"))
    assert (period.start, period.end) == (at("2026-10-31 07:00"), at("2026-11-01 07:00"))
    labels = [label for label, _ in period.buckets()]
    assert len(labels) == 23 and labels[0] == "2026-10-31 03:00"
    assert labels[-3:] == ["2026-10-31 23:00", "2026-11-01 00:00", "2026-11-01 01:00"]


# (zone, from, to): (start UTC, end UTC, interval, buckets)
CUSTOM = {
    # One day is hourly.
    ("UTC", "2026-11-05", "2026-11-05"): ("2026-11-05 00:00", "2026-11-06 00:00", "hour", 24),
    # Nov 1 .. 7 inclusive: 7 daily buckets.
    ("UTC", "2026-11-01", "2026-11-07"): ("2026-11-01 00:00", "2026-11-08 00:00", "day", 7),
    # Jan 1 .. Apr 2: 31 + 28 + 31 + 2 = 92 days, still daily.
    ("UTC", "2026-01-01", "2026-04-02"): ("2026-01-01 00:00", "2026-04-03 00:00", "day", 92),
    # One more day (93) is monthly: Jan, Feb, Mar, Apr.
    ("UTC", "2026-01-01", "2026-04-03"): ("2026-01-01 00:00", "2026-04-04 00:00", "month", 4),
    # New York's autumn change day: 00:00 EDT (04:00 UTC) to 00:00 EST (05:00 UTC) = 25 h,
    # 24 labels (the two 01:00 hours share one).
    ("America/New_York", "2026-11-01", "2026-11-01"): (
        "2026-11-01 04:00", "2026-11-02 05:00", "hour", 24),
    # Its spring change day: 00:00 EST (05:00 UTC) to 00:00 EDT (04:00 UTC) = 23 h, 23
    # labels (there is no 02:00).
    ("America/New_York", "2026-03-08", "2026-03-08"): (
        "2026-03-08 05:00", "2026-03-09 04:00", "hour", 23),
    ("America/New_York", "2026-10-30", "2026-11-02"): (
        "2026-10-30 04:00", "2026-11-03 05:00", "day", 4),
    ("Asia/Kolkata", "2026-11-05", "2026-11-05"): (
        "2026-11-04 18:30", "2026-11-05 18:30", "hour", 24),
    ("Asia/Kolkata", "2026-11-01", "2026-11-07"): (
        "2026-10-31 18:30", "2026-11-07 18:30", "day", 7),
}  # fmt: skip


@pytest.mark.parametrize(("zone", "first", "last"), CUSTOM)
def test_custom_range(zone: str, first: str, last: str) -> None:
    start, end, interval, count = CUSTOM[zone, first, last]
    period = resolve_period(from_date=first, to_date=last, timezone=zone, now=NOW)
    assert period.range == "custom"
    assert (period.start, period.end, period.interval) == (at(start), at(end), interval)
    assert len(period.buckets()) == count
    # Dates may be given as date objects, and with range="custom".
    same = resolve_period(
        "custom",
        from_date=date.fromisoformat(first),
        to_date=date.fromisoformat(last),
        timezone=zone,
        now=NOW,
    )
    assert same == period


def test_spring_forward_day_labels() -> None:
    period = resolve_period(
        from_date="2026-03-08", to_date="2026-03-08", timezone="America/New_York", now=NOW
    )
    labels = [label[-5:] for label, _ in period.buckets()]
    assert labels[:4] == ["00:00", "01:00", "03:00", "04:00"] and labels[-1] == "23:00"


def test_all_starts_on_the_day_of_the_first_event() -> None:
    # First event 2026-11-03 08:00 UTC: Nov 3 .. Nov 20 is 18 days, daily.
    period = resolve_period("all", now=NOW, earliest=at("2026-11-03 08:00"))
    assert (period.start, period.end) == (at("2026-11-03 00:00"), at("2026-11-21 00:00"))
    assert (period.interval, len(period.buckets())) == ("day", 18)
    # In New York that instant is Nov 3 03:00 EST (UTC-5): the same local day.
    period = resolve_period(
        "all", timezone="America/New_York", now=NOW, earliest=at("2026-11-03 08:00")
    )
    assert (period.start, period.end) == (at("2026-11-03 05:00"), at("2026-11-20 05:00"))
    assert (period.interval, len(period.buckets())) == ("day", 17)  # Nov 3 .. 19
    # 2026-01-15 .. 2026-11-20 is more than 92 days: monthly, Jan .. Nov = 11 buckets.
    period = resolve_period("all", now=NOW, earliest=at("2026-01-15 12:00"))
    assert (period.start, period.interval) == (at("2026-01-15 00:00"), "month")
    assert [label for label, _ in period.buckets()][::5] == ["2026-01", "2026-06", "2026-11"]
    assert len(period.buckets()) == 11


def test_the_previous_period_is_as_long_and_just_before() -> None:
    period = resolve_period("7d", now=NOW)
    previous = period.previous()
    # [Nov 14, Nov 21) is 7 days: the previous is [Nov 7, Nov 14).
    assert (previous.start, previous.end) == (at("2026-11-07 00:00"), at("2026-11-14 00:00"))
    period = resolve_period("24h", now=NOW)
    previous = period.previous()
    assert (previous.start, previous.end) == (at("2026-11-18 03:00"), at("2026-11-19 03:00"))
    period = resolve_period(from_date="2026-11-18", to_date="2026-11-19", now=NOW)
    previous = period.previous()
    assert (previous.start, previous.end) == (at("2026-11-16 00:00"), at("2026-11-18 00:00"))


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"range": "fortnight"}, "range"),
        ({"range": "7d", "from_date": "2026-11-01", "to_date": "2026-11-02"}, "range"),
        ({"from_date": "2026-11-02", "to_date": "2026-11-01"}, "to"),
        ({"from_date": "2026-11-02"}, "to"),
        ({"from_date": "yesterday", "to_date": "2026-11-01"}, "from"),
        ({"range": "custom"}, "from"),
        ({"from_date": "2015-01-01", "to_date": "2026-01-01"}, "from"),  # 4018 days > 3660
    ],
)
def test_nonsense_names_the_parameter(options: dict, param: str) -> None:
    with pytest.raises(InvalidQuery) as raised:
        resolve_period(**options, now=NOW)
    assert raised.value.param == param


# -- daylight saving in the database ---------------------------------------------------------


def load(analytics, clock, moments: list[str]) -> None:  # type: ignore[no-untyped-def]
    """One page view per moment (UTC), each from its own network (its own visitor)."""

    async def run() -> None:
        for i, moment in enumerate(moments):
            clock.now = at(moment)
            await analytics.ingest(
                {"name": "pageview", "url": f"https://example.com/{i}"},
                headers={"user-agent": BROWSER_UA},
                peer=f"192.0.{i}.1",
                context=IngestContext(source="http"),
            )

    asyncio.run(run())


def busy(series) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {p.bucket: p.pageviews for p in series.points if p.pageviews}


def test_daily_buckets_across_the_autumn_change(make_analytics, database_url, clock):
    """Berlin: on 2026-10-25 at 01:00 UTC the clocks go from 03:00 CEST (UTC+2) back to
    02:00 CET (UTC+1)."""
    analytics = make_analytics(database_url, timezone="Europe/Berlin")
    load(
        analytics,
        clock,
        [
            "2026-10-24 21:30",  # 23:30 CEST Oct 24 (+1 h would be Oct 24 too)
            "2026-10-24 22:30",  # 00:30 CEST Oct 25 (at +1 h it would still be Oct 24)
            "2026-10-25 00:30",  # 02:30 CEST Oct 25, before the change
            "2026-10-25 01:30",  # 02:30 CET Oct 25, after it
            "2026-10-25 22:30",  # 23:30 CET Oct 25 (at +2 h it would be Oct 26)
            "2026-10-25 23:30",  # 00:30 CET Oct 26
        ],
    )
    series = analytics.api.get_timeseries_sync(from_date="2026-10-24", to_date="2026-10-26")
    assert [p.bucket for p in series.points] == ["2026-10-24", "2026-10-25", "2026-10-26"]
    assert busy(series) == {"2026-10-24": 1, "2026-10-25": 4, "2026-10-26": 1}


def test_hourly_buckets_across_the_autumn_change(make_analytics, database_url, clock):
    """The 25-hour day 2026-10-25 in Berlin: 22:00 UTC Oct 24 to 23:00 UTC Oct 25. Both
    02:00-03:00 hours (CEST, then CET) land in the one 02:00 bucket."""
    analytics = make_analytics(database_url, timezone="Europe/Berlin")
    load(
        analytics,
        clock,
        [
            "2026-10-24 21:59",  # 23:59 CEST Oct 24: the day before
            "2026-10-24 22:00",  # 00:00 CEST
            "2026-10-25 00:30",  # 02:30 CEST
            "2026-10-25 01:30",  # 02:30 CET
            "2026-10-25 02:30",  # 03:30 CET
            "2026-10-25 22:59",  # 23:59 CET
            "2026-10-25 23:00",  # 00:00 CET Oct 26: the day after
        ],
    )
    series = analytics.api.get_timeseries_sync(from_date="2026-10-25", to_date="2026-10-25")
    assert len(series.points) == 24
    assert busy(series) == {
        "2026-10-25 00:00": 1,
        "2026-10-25 02:00": 2,
        "2026-10-25 03:00": 1,
        "2026-10-25 23:00": 1,
    }
    stats = analytics.api.get_dashboard_stats_sync(from_date="2026-10-25", to_date="2026-10-25")
    assert stats.pageviews.value == 5


def test_hourly_buckets_across_the_spring_change(make_analytics, database_url, clock):
    """The 23-hour day 2026-03-29 in Berlin: at 01:00 UTC 02:00 CET becomes 03:00 CEST."""
    analytics = make_analytics(database_url, timezone="Europe/Berlin")
    load(
        analytics,
        clock,
        [
            "2026-03-28 23:00",  # 00:00 CET
            "2026-03-29 00:30",  # 01:30 CET
            "2026-03-29 01:30",  # 03:30 CEST (at +1 h it would be 02:30)
            "2026-03-29 21:30",  # 23:30 CEST (at +1 h it would be 22:30)
        ],
    )
    series = analytics.api.get_timeseries_sync(from_date="2026-03-29", to_date="2026-03-29")
    labels = [p.bucket[-5:] for p in series.points]
    assert len(labels) == 23 and "02:00" not in labels
    assert busy(series) == {
        "2026-03-29 00:00": 1,
        "2026-03-29 01:00": 1,
        "2026-03-29 03:00": 1,
        "2026-03-29 23:00": 1,
    }


def test_monthly_buckets_across_both_changes(make_analytics, database_url, clock):
    """12mo in Berlin on 2026-11-20: Dec 2025 .. Nov 2026, with two changes inside."""
    analytics = make_analytics(database_url, timezone="Europe/Berlin")
    load(
        analytics,
        clock,
        [
            "2025-12-31 23:30",  # 00:30 CET Jan 1
            "2026-03-31 22:30",  # 00:30 CEST Apr 1 (at +1 h: Mar 31 23:30)
            "2026-10-31 22:30",  # 23:30 CET Oct 31 (at +2 h: Nov 1 00:30)
        ],
    )
    clock.now = NOW
    series = analytics.api.get_timeseries_sync("12mo")
    assert series.interval == "month" and len(series.points) == 12
    assert busy(series) == {"2026-01": 1, "2026-04": 1, "2026-10": 1}


def test_half_hour_zone_buckets(make_analytics, database_url, clock):
    """Kolkata (UTC+5:30) at 08:00:15 IST on Nov 20 (02:30:15 UTC). 24h is 09:00 IST Nov 19
    (03:30 UTC) to 09:00 IST Nov 20 (03:30 UTC); every event in it lands in a bucket."""
    analytics = make_analytics(database_url, timezone="Asia/Kolkata")
    load(
        analytics,
        clock,
        [
            "2026-11-19 03:29",  # 08:59 IST Nov 19: before the 24 hours
            "2026-11-19 03:30",  # 09:00 IST Nov 19: the first bucket
            "2026-11-19 18:29",  # 23:59 IST Nov 19
            "2026-11-19 18:30",  # 00:00 IST Nov 20
            "2026-11-20 02:30",  # 08:00 IST Nov 20: the last bucket
        ],
    )
    clock.now = NOW
    api = analytics.api
    last_day = api.get_timeseries_sync("24h")
    assert len(last_day.points) == 24
    assert last_day.points[0].bucket == "2026-11-19 09:00"
    assert busy(last_day) == {
        "2026-11-19 09:00": 1,
        "2026-11-19 23:00": 1,
        "2026-11-20 00:00": 1,
        "2026-11-20 08:00": 1,
    }
    assert api.get_dashboard_stats_sync("24h").pageviews.value == 4
    today = api.get_timeseries_sync("today")
    assert len(today.points) == 24 and today.points[0].bucket == "2026-11-20 00:00"
    assert busy(today) == {"2026-11-20 00:00": 1, "2026-11-20 08:00": 1}
    days = api.get_timeseries_sync("7d")
    assert busy(days) == {"2026-11-19": 3, "2026-11-20": 2}
