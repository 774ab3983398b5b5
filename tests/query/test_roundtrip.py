"""Export, then import into an empty database: the dashboard shows the same numbers."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from conftest import ManualClock
from footfall.demo import generate_demo
from footfall.export import export_rows, import_csv, write_csv

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def test_export_import_reproduces_the_dashboard(make_analytics, database_url, tmp_path):
    clock = ManualClock(NOW)
    source = make_analytics(database_url, clock=clock, timezone="Europe/Berlin")
    generate_demo(source.store, pageviews=3000, days=10, now=NOW, seed=7)
    csv_text = io.StringIO()
    write_csv(export_rows(source.store), csv_text)

    copy = make_analytics(
        f"sqlite:///{tmp_path / 'copy.db'}", clock=clock, timezone="Europe/Berlin"
    )
    summary = import_csv(copy.store, io.StringIO(csv_text.getvalue()))
    assert summary.pageviews > 2800

    def report(analytics):  # type: ignore[no-untyped-def]
        api = analytics.api
        return {
            "stats": api.get_dashboard_stats_sync(range="7d").to_dict(),
            "series": api.get_timeseries_sync(range="7d").to_dict(),
            "pages": [p.to_dict() for p in api.get_top_pages_sync(20, "7d")],
            "referrers": [r.to_dict() for r in api.get_top_referrers_sync(20, "7d")],
            "events": [e.to_dict() for e in api.get_top_events_sync(20, "7d")],
            "props": [p.to_dict() for p in api.get_event_properties_sync("Signup", 50, "7d")],
            "devices": [d.to_dict() for d in api.get_top_devices_sync(10, "7d")],
            "filtered": api.get_dashboard_stats_sync(range="7d", device="mobile").to_dict(),
        }

    original, restored = report(source), report(copy)
    assert original["stats"]["visitors"]["value"] > 500
    assert restored == original


def test_overview_equals_its_parts_on_realistic_data(make_analytics, database_url):
    analytics = make_analytics(database_url, clock=ManualClock(NOW), timezone="Asia/Kolkata")
    generate_demo(analytics.store, pageviews=3000, days=10, now=NOW, seed=5)
    api = analytics.api
    for filters in ({}, {"country": "DE"}, {"page": "/pricing"}, {"event": "Signup"}):
        overview = api.get_overview_sync(10, "7d", **filters)
        assert overview.stats == api.get_dashboard_stats_sync("7d", **filters)
        assert overview.referrers == api.get_top_referrers_sync(10, "7d", **filters)
        assert overview.browsers == api.get_top_browsers_sync(10, "7d", **filters)
        assert overview.os == api.get_top_os_sync(10, "7d", **filters)
    assert overview.stats.visits.value > 0
