"""The dashboard's SVG charts: well-formed, readable without JavaScript, safe, unstyled."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from markupsafe import Markup

from footfall.dashboard.charts import chart_table, main_chart, nice_ticks, sparkline
from footfall.query.results import Timeseries, TimeseriesPoint

NS = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert('x')</script>&\"\x00\x1f"


def parse(markup: Markup) -> ET.Element:
    assert isinstance(markup, Markup)
    return ET.fromstring(str(markup))


def hits(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter(f"{NS}rect") if e.get("class") == "ff-hit"]


def texts(root: ET.Element, cls: str) -> list[str]:
    group = next(g for g in root.iter(f"{NS}g") if cls in (g.get("class") or "").split())
    return ["".join(t.itertext()) for t in group.iter(f"{NS}text")]


def days(*values: tuple[int, int], start: date = date(2026, 11, 24)) -> Timeseries:
    points = [
        TimeseriesPoint((start + timedelta(days=i)).isoformat(), v, v, pv)
        for i, (v, pv) in enumerate(values)
    ]
    return Timeseries(range="custom", interval="day", points=points)


def assert_safe(markup: Markup) -> None:
    """No colours, scripts, styles or references: the stylesheet owns the look."""
    text = str(markup)
    assert 'fill="#' not in text
    assert 'stroke="#' not in text
    assert not re.search(r"#[0-9a-fA-F]{3,8}\b|rgba?\(|hsla?\(", text)
    assert "style=" not in text
    assert "<script" not in text
    assert "href" not in text
    assert "url(" not in text
    assert "http" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for value in re.findall(r'(?:fill|stroke)="([^"]*)"', text):
        assert value in ("currentColor", "none")


def test_three_days():
    series = days((3, 10), (123, 456), (1234, 1500))
    chart = main_chart(series)
    root = parse(chart)
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == (
        "Visitors and page views, 3 days: peak 1,234 visitors on Nov 26; 1,966 page views in total"
    )
    targets = hits(root)
    assert [t.findtext(f"{NS}title") for t in targets] == [
        "Nov 24: 3 visitors, 10 page views",
        "Nov 25: 123 visitors, 456 page views",
        "Nov 26: 1,234 visitors, 1,500 page views",
    ]
    assert [t.get("tabindex") for t in targets] == ["0", "-1", "-1"]  # one Tab stop
    for target, point in zip(targets, series.points, strict=True):
        assert target.get("data-bucket") == point.bucket
        assert target.get("data-visitors") == str(point.visitors)
        assert target.get("data-pageviews") == str(point.pageviews)
        assert target.get("pointer-events") == "all"
    assert texts(root, "ff-axis-y") == ["0", "500", "1,000", "1,500"]
    assert texts(root, "ff-axis-x") == ["Nov 24", "Nov 25", "Nov 26"]
    assert len(list(next(g for g in root.iter(f"{NS}g") if g.get("class") == "ff-grid"))) == 4
    plot = next(e for e in root.iter(f"{NS}svg") if e.get("class") == "ff-plot")
    assert plot.get("viewBox") == "0 0 800 194"
    assert plot.get("preserveAspectRatio") == "none"
    assert_safe(chart)


def test_table():
    assert chart_table(days((3, 10), (5, 7))) == [
        ("Nov 24", 3, 3, 10, None),
        ("Nov 25", 5, 5, 7, None),
    ]
    hours = Timeseries("today", "hour", [TimeseriesPoint("2026-11-25 14:00", 1, 2, 3)])
    assert chart_table(hours) == [("Nov 25, 14:00", 1, 2, 3, None)]


def test_the_period_compared_with_is_drawn_beside_it():
    """Bucket by bucket: the third day of the period against the third of the one before,
    whatever their dates; its 2,100 visitors raise the scale above the period's own."""
    before = days((7, 9), (8, 9), (2100, 2200), start=date(2026, 11, 21))
    series = replace(days((3, 10), (123, 456), (1234, 1500)), compare="previous")
    series = replace(series, comparison=before.points)
    root = parse(main_chart(series))
    line = next(g for g in root.iter(f"{NS}g") if g.get("class") == "ff-compare")
    assert line.find(f"{NS}path") is not None
    assert texts(root, "ff-axis-y") == ["0", "1,000", "2,000", "3,000"]
    assert [t.get("data-compared-visitors") for t in hits(root)] == ["7", "8", "2100"]
    assert hits(root)[2].findtext(f"{NS}title") == (
        "Nov 26: 1,234 visitors, 1,500 page views; previous period: 2,100 visitors"
    )
    legend = "".join(
        next(e for e in root.iter(f"{NS}text") if e.get("class") == "ff-legend").itertext()
    )
    assert legend.endswith("Visitors, previous period")
    assert [row[4] for row in chart_table(series)] == [7, 8, 2100]
    plain = parse(main_chart(days((3, 10))))
    assert not [g for g in plain.iter(f"{NS}g") if g.get("class") == "ff-compare"]


def test_labels_per_interval():
    hours = Timeseries("today", "hour", [TimeseriesPoint("2026-11-25 14:00", 1, 1, 2)])
    root = parse(main_chart(hours))
    assert texts(root, "ff-axis-x") == ["14:00"]
    assert hits(root)[0].findtext(f"{NS}title") == "Nov 25, 14:00: 1 visitor, 2 page views"
    months = Timeseries(
        "12mo", "month", [TimeseriesPoint(f"2026-{m:02d}", m, m, m) for m in range(1, 13)]
    )
    root = parse(main_chart(months))
    assert texts(root, "ff-axis-x")[-1] == "Dec 2026"
    assert "in Dec 2026" in root.get("aria-label", "")
    # a range across New Year names the year in tooltips and the table
    series = days((1, 1), (2, 2), start=date(2026, 12, 31))
    assert [row[0] for row in chart_table(series)] == ["Dec 31, 2026", "Jan 1, 2027"]


def test_x_labels_are_thinned_and_keep_the_latest():
    series = days(*[(i, i) for i in range(92)])
    root = parse(main_chart(series))
    labels = [t for t in root.iter(f"{NS}text") if t.get("y") == "234"]
    assert 2 <= len(labels) <= 800 // 60
    assert labels[-1].text == "Feb 23"  # the latest bucket is always labelled
    majors = [t for t in labels if t.get("class") != "ff-tick-minor"]
    assert 2 <= len(majors) <= 320 // 60
    assert labels[-1] in majors
    assert len(hits(root)) == 92


def test_hours_align_to_round_hours():
    points = [TimeseriesPoint(f"2026-11-25 {h:02d}:00", h, h, h) for h in range(24)]
    root = parse(main_chart(Timeseries("today", "hour", points)))
    labels = texts(root, "ff-axis-x")
    assert labels[0] == "00:00"
    assert all(int(label[:2]) % int(labels[1][:2]) == 0 for label in labels)


def test_buckets_after_now_keep_their_place_but_are_not_drawn():
    points = [TimeseriesPoint(f"2026-11-25 {h:02d}:00", 5, 5, 9) for h in range(24)]
    today = Timeseries("today", "hour", points)
    root = parse(main_chart(today, now=datetime(2026, 11, 25, 14, 30)))
    assert [e.get("data-bucket") for e in hits(root)][-1] == "2026-11-25 14:00"
    assert len(hits(root)) == 15  # 00:00 to 14:00; 15:00 onwards has not happened yet
    lines = [e for e in root.iter(f"{NS}path") if e.get("class") == "ff-line"]
    assert all(line.get("d", "").count("L") == 14 for line in lines)  # 15 points, no drop to 0
    assert max(texts(root, "ff-axis-x")) > "15:00"  # the axis still spans the whole day
    assert "15 hours" in root.get("aria-label", "")
    rows = chart_table(today, now=datetime(2026, 11, 25, 14, 30))
    assert [row[0] for row in rows][-1] == "Nov 25, 14:00" and len(rows) == 15
    assert len(hits(parse(main_chart(today)))) == 24  # without a now, every bucket
    # A period wholly in the past is drawn in full; one wholly in the future not at all.
    assert len(hits(parse(main_chart(today, now=datetime(2026, 11, 26))))) == 24
    assert hits(parse(main_chart(today, now=datetime(2026, 11, 24)))) == []


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (0, [0, 1]),
        (-3, [0, 1]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (5, [0, 2, 4, 6]),
        (10, [0, 5, 10]),
        (100, [0, 25, 50, 75, 100]),
        (1234, [0, 500, 1000, 1500]),
        (123_456, [0, 50_000, 100_000, 150_000]),
    ],
)
def test_nice_ticks(maximum, ticks):
    assert nice_ticks(maximum) == ticks


def test_big_numbers_have_short_tick_labels():
    root = parse(main_chart(days((1, 123_456), (2, 2_400_000))))
    assert texts(root, "ff-axis-y") == ["0", "1M", "2M", "3M"]
    root = parse(main_chart(days((1, 123_456))))
    assert texts(root, "ff-axis-y") == ["0", "50k", "100k", "150k"]


def test_empty_series():
    chart = main_chart(Timeseries("30d", "day", []))
    root = parse(chart)
    assert root.get("role") == "img"
    assert "no data" in root.get("aria-label", "")
    assert hits(root) == []
    assert texts(root, "ff-axis-y") == ["0", "1"]
    assert "No data for this period" in "".join(root.itertext())
    assert_safe(chart)


def test_all_zero_series_is_a_flat_line():
    chart = main_chart(days((0, 0), (0, 0), (0, 0)))
    root = parse(chart)
    assert root.get("aria-label") == "Visitors and page views, 3 days: no data"
    assert texts(root, "ff-axis-y") == ["0", "1"]
    assert len(hits(root)) == 3
    for line in (p for p in root.iter(f"{NS}path") if p.get("class") == "ff-line"):
        ys = {pair.split(",")[1] for pair in re.split("[ML]", line.get("d", "")) if pair}
        assert ys == {"194"}
    assert_safe(chart)


def test_single_bucket_draws_across_the_width():
    root = parse(main_chart(days((4, 8))))
    line = next(p for p in root.iter(f"{NS}path") if p.get("class") == "ff-line")
    assert re.fullmatch(r"M0,([\d.]+)L800,\1", line.get("d", ""))
    assert len(hits(root)) == 1


def test_untrusted_text_is_escaped():
    series = Timeseries("custom", "day", [TimeseriesPoint(EVIL, 1, 1, 1)])
    chart = main_chart(series)
    root = parse(chart)  # well-formed despite <, &, quotes and control characters
    target = hits(root)[0]
    assert target.get("data-bucket") == "<script>alert('x')</script>&\""
    assert target.findtext(f"{NS}title", "").startswith("<script>")
    assert_safe(chart)
    assert chart_table(series)[0][0] == EVIL  # plain text: Jinja2 escapes it in the table


def test_sparkline():
    values = [3, 5, 2, 9, 1, 0, 7]
    spark = sparkline(values, label="Page views per day")
    root = parse(spark)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Page views per day: 3, 5, 2 \u2026 7 (max 9)"
    line = next(root.iter(f"{NS}polyline"))
    assert len(line.get("points", "").split()) == len(values)
    assert any(p.get("class") == "ff-spark-area" for p in root.iter(f"{NS}path"))
    assert_safe(spark)
    assert parse(sparkline([1, 2, 3])).get("aria-label") == "Trend: 1, 2, 3 (max 3)"


def test_sparkline_edge_cases():
    root = parse(sparkline([], label="Views"))
    assert root.get("aria-label") == "Views: no data"
    assert list(root.iter(f"{NS}polyline")) == []
    flat = parse(sparkline([0, 0, 0]))
    ys = {pair.split(",")[1] for pair in next(flat.iter(f"{NS}polyline")).get("points", "").split()}
    assert ys == {"22"}
    one = parse(sparkline([5], width=50))
    assert next(one.iter(f"{NS}polyline")).get("points") == "0,2 50,2"


def test_sparkline_escapes_its_label():
    spark = sparkline([1, 2], label=EVIL)
    root = parse(spark)
    assert root.get("aria-label") == "<script>alert('x')</script>&\": 1, 2 (max 2)"
    assert_safe(spark)
