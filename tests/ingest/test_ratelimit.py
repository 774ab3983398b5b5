"""The ingestion rate limit: a token bucket per network that refills with time. Time is
the event's (the injected clock), so nothing here sleeps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from conftest import BROWSER_UA
from footfall import IngestContext
from footfall.ingest.event import Dropped, DropReason
from footfall.ingest.ratelimit import RateLimiter, SharedRateLimiter

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
Limiter = RateLimiter | SharedRateLimiter


def allowed(
    limiter: RateLimiter | SharedRateLimiter, key: str, now: datetime, attempts: int
) -> int:
    return sum(limiter.allow(key, now) for _ in range(attempts))


@pytest.fixture(params=["in memory", "shared file"])
def make_limiter(request, tmp_path):
    """Both kinds of limiter must count the same."""
    made = []

    def make(per_minute: int) -> Limiter:
        if request.param == "in memory":
            return RateLimiter(per_minute)
        limiter = SharedRateLimiter(per_minute, tmp_path / f"buckets-{len(made)}")
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        limiter.close()


def test_workers_sharing_a_file_share_the_buckets(tmp_path) -> None:
    """Two processes' limiters on one file: the network's 60 are spent once, not twice."""
    first = SharedRateLimiter(60, tmp_path / "buckets")
    second = SharedRateLimiter(60, tmp_path / "buckets")
    try:
        assert allowed(first, "198.51.100.0", T0, 40) == 40
        assert allowed(second, "198.51.100.0", T0, 40) == 20
        assert allowed(first, "203.0.113.0", T0, 1) == 1  # another network, its own
    finally:
        first.close()
        second.close()


def test_a_burst_is_capped_and_refills_with_time(make_limiter) -> None:
    """60 a minute is 1 token a second, up to 60."""
    limiter = make_limiter(60)
    assert allowed(limiter, "198.51.100.0", T0, 100) == 60  # the full bucket, then no more
    assert allowed(limiter, "198.51.100.0", T0 + timedelta(seconds=1), 5) == 1  # 1 s: 1 token
    assert allowed(limiter, "198.51.100.0", T0 + timedelta(seconds=11), 20) == 10  # 10 s: 10
    # Ten idle minutes refill the bucket, but only to its size: 60, not 600.
    assert allowed(limiter, "198.51.100.0", T0 + timedelta(minutes=10), 1000) == 60


def test_a_refused_event_costs_nothing_and_time_still_counts(make_limiter) -> None:
    limiter = make_limiter(120)  # 2 tokens a second
    assert allowed(limiter, "k", T0, 120) == 120
    assert not limiter.allow("k", T0 + timedelta(milliseconds=250))  # 0.5 token
    assert limiter.allow("k", T0 + timedelta(milliseconds=500))  # 0.5 + 0.5 = 1 token
    assert not limiter.allow("k", T0 + timedelta(milliseconds=500))


def test_each_key_has_its_own_bucket(make_limiter) -> None:
    limiter = make_limiter(2)
    assert allowed(limiter, "a", T0, 3) == 2
    assert allowed(limiter, "b", T0, 3) == 2


def test_forgetting_keys_keeps_those_still_limited() -> None:
    """With room for 2 keys, a third key forgets only buckets that have refilled."""
    limiter = RateLimiter(60, max_keys=2)
    assert allowed(limiter, "a", T0, 60) == 60
    assert allowed(limiter, "b", T0 + timedelta(seconds=59), 60) == 60
    # At T0+60 s, a has refilled (60 s) and is forgotten; b (1 s ago) is kept, still empty.
    assert limiter.allow("c", T0 + timedelta(seconds=60))
    assert allowed(limiter, "b", T0 + timedelta(seconds=60), 5) == 1
    assert allowed(limiter, "a", T0 + timedelta(seconds=60), 100) == 60


def test_the_bound_holds_when_every_network_is_active() -> None:
    """The penetration test's case: more networks within a minute than the limiter keeps.
    Forgetting only refilled buckets freed nothing, so the table grew past its bound (and
    every new network scanned all of it); the one seen longest ago goes instead."""
    limiter = RateLimiter(60, max_keys=1000)
    for i in range(5000):
        assert limiter.allow(f"10.{i // 256}.{i % 256}.0", T0 + timedelta(milliseconds=i))
    assert len(limiter._buckets) == 1000
    # The most recent networks are still limited: their buckets are remembered.
    assert allowed(limiter, "10.19.135.0", T0 + timedelta(seconds=5), 100) == 59


def test_the_pipeline_drops_then_accepts_again(make_analytics, sqlite_url, clock):
    """rate_limit_per_minute=2 for one /24 network; the event's time is the clock's."""
    clock.now = T0
    analytics = make_analytics(sqlite_url, rate_limit_per_minute=2)

    async def send(ip: str) -> bool:
        try:
            await analytics.ingest(
                {"name": "pageview", "url": "https://example.com/"},
                headers={"user-agent": BROWSER_UA},
                peer=ip,
                context=IngestContext(source="http"),
            )
        except Dropped as dropped:
            assert dropped.reason == DropReason.RATE_LIMITED
            return False
        return True

    async def scenario() -> list[bool]:
        results = [await send("198.51.100.1"), await send("198.51.100.2")]
        results.append(await send("198.51.100.3"))  # the same /24: the third is dropped
        results.append(await send("198.51.101.1"))  # another network has its own bucket
        clock.advance(seconds=30)  # 2 a minute: one token back after 30 s
        results += [await send("198.51.100.4"), await send("198.51.100.5")]
        return results

    assert asyncio.run(scenario()) == [True, True, False, True, True, False]


@pytest.mark.parametrize("per_minute", [1, 7, 600])
def test_a_minute_refills_any_limit(per_minute: int, make_limiter) -> None:
    limiter = make_limiter(per_minute)
    assert allowed(limiter, "k", T0, per_minute + 1) == per_minute
    assert allowed(limiter, "k", T0 + timedelta(minutes=1), per_minute + 1) == per_minute
