"""Charts for the dashboard: inline SVG that works without JavaScript.

Every number is readable without a script: each bucket of the main chart is a focusable
hit target with a native ``<title>`` tooltip, and both charts carry an ``aria-label``.
Colours come only from CSS classes and ``currentColor``, so one stylesheet sets the light
and dark themes (``prefers-color-scheme``); nothing refers to anything outside the page.

Layout of :func:`main_chart`: the outer ``<svg>`` is ``width="100%"`` with a fixed pixel
height and no viewBox, so its text keeps the page's font size at any width (a scaled
viewBox would shrink 12 px labels to 5 px on a 360 px phone). The plot inside is a nested,
viewBox-based ``<svg preserveAspectRatio="none">`` that stretches to the width;
``vector-effect="non-scaling-stroke"`` keeps its lines crisp. Text is positioned in
percent of the width and pixels of the height.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

from footfall.query.results import Timeseries, TimeseriesPoint

__all__ = ["chart_table", "main_chart", "nice_ticks", "sparkline"]

SVG_NS = "http://www.w3.org/2000/svg"
SMALL_CHART_PX = 320
"""The chart's width on a 360 px screen (after page padding): x-axis labels beyond what
fits here get ``ff-tick-minor``, which the stylesheet hides on narrow screens."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FORMATS = {"hour": "%Y-%m-%d %H:%M", "day": "%Y-%m-%d", "month": "%Y-%m"}
_LABEL_CHARS = {"hour": 5, "day": 6, "month": 8}
_CHAR_PX = 7.5  # average width of a 12 px UI-font character, to thin x-axis labels
_LABEL_GAP_PX = 20.0
_FONT_SIZE = 12
_TOP_PX = 24  # room for the legend and the top tick label
_COMPARED = {"previous": "previous period", "year": "a year earlier", "": ""}
"""How the legend and the tooltips name the period compared with."""
_BOTTOM_PX = 22  # room for the x-axis labels
# Characters XML 1.0 forbids even as references: strip them, or the SVG would not parse.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def main_chart(
    series: Timeseries,
    *,
    now: datetime | None = None,
    width: int = 800,
    height: int = 240,
) -> Markup:
    """Visitors (area + line) and page views (dashed line) per bucket, as inline SVG.

    ``now`` (naive, in the site's time zone) ends the lines: the buckets that start later
    ("this month" after today, "today" after this hour) keep their place on the x-axis but
    are not drawn, rather than drawn as zeros. ``width`` is the nominal width: the plot's
    viewBox and how many x-axis labels fit; the chart itself stretches to its container.
    ``height`` is in CSS pixels.
    """
    width = max(int(width), 1)
    height = max(int(height), _TOP_PX + _BOTTOM_PX + 1)
    points = series.points
    count = len(points)
    drawn = points[: _elapsed(series, now)]
    # The period compared with, bucket by bucket (a month of 31 days against one of 30:
    # the buckets both have), drawn whole: it is over.
    compared = (series.comparison or [])[:count]
    short, long = _labels(points, series.interval)
    top_visitors = max((p.visitors for p in drawn), default=0)
    top_pageviews = max((p.pageviews for p in drawn), default=0)
    top_compared = max((p.visitors for p in compared), default=0)
    ticks = nice_ticks(max(top_visitors, top_pageviews, top_compared))
    plot_h = height - _TOP_PX - _BOTTOM_PX
    bucket_w = width / count if count else float(width)

    def y(value: int) -> float:
        return plot_h - max(value, 0) / ticks[-1] * plot_h

    empty = top_visitors == 0 and top_pageviews == 0
    out = [
        f'<svg xmlns="{SVG_NS}" class="ff-chart" width="100%" height="{height}" role="img"'
        f' aria-label="{_text(_summary(drawn, series.interval, long))}">',
        '<g class="ff-grid" stroke="currentColor" stroke-opacity="0.15">',
    ]
    for tick in ticks:
        gy = _num(_TOP_PX + y(tick))
        out.append(f'<line x1="0" x2="100%" y1="{gy}" y2="{gy}"/>')
    out.append("</g>")
    out.append(f'<g class="ff-axis ff-axis-y" fill="currentColor" font-size="{_FONT_SIZE}">')
    for tick in ticks:
        out.append(f'<text x="0" y="{_num(_TOP_PX + y(tick) - 4)}">{_compact(tick)}</text>')
    out.append("</g>")
    out.append(f'<g class="ff-axis ff-axis-x" fill="currentColor" font-size="{_FONT_SIZE}">')
    for index, major in _x_ticks(points, series.interval, width):
        pct = (index + 0.5) / count * 100
        anchor = "start" if pct < 8 else "end" if pct > 92 else "middle"
        minor = "" if major else ' class="ff-tick-minor"'
        out.append(
            f'<text{minor} x="{_num(pct)}%" y="{height - 6}" text-anchor="{anchor}">'
            f"{_text(short[index])}</text>"
        )
    out.append("</g>")
    out.append(
        f'<text class="ff-legend" x="100%" y="{_FONT_SIZE}" text-anchor="end"'
        f' fill="currentColor" font-size="{_FONT_SIZE}">'
        '<tspan class="ff-visitors" fill="currentColor">\u25cf</tspan> Visitors '
        '<tspan class="ff-pageviews" fill="currentColor">\u25cf</tspan> Page views'
        + (
            f'<tspan class="ff-compare" fill="currentColor"> \u25cf</tspan> Visitors, '
            f"{_COMPARED[series.compare or '']}"
            if compared
            else ""
        )
        + "</text>"
    )
    if empty:
        out.append(
            f'<text class="ff-empty" x="50%" y="{_num(_TOP_PX + plot_h / 2)}"'
            f' text-anchor="middle" fill="currentColor">No data for this period</text>'
        )
    out.append(
        f'<svg class="ff-plot" x="0" y="{_TOP_PX}" width="100%" height="{plot_h}"'
        f' viewBox="0 0 {width} {plot_h}" preserveAspectRatio="none" overflow="visible">'
    )
    repeat = 1 if count > 1 else 2  # one bucket: a flat line across the whole width
    stroke = (
        'fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"'
        ' stroke-linecap="round" vector-effect="non-scaling-stroke"'
    )
    if compared:
        xs = [(i + 0.5) * bucket_w for i in range(len(compared))] if count > 1 else [0.0, width]
        line = _path(xs, [y(p.visitors) for p in compared for _ in range(repeat)])
        out.append(
            f'<g class="ff-compare"><path class="ff-line" d="{line}" {stroke}'
            ' stroke-dasharray="1 4"/></g>'
        )
    if drawn:
        xs = [(i + 0.5) * bucket_w for i in range(len(drawn))] if count > 1 else [0.0, width]
        visitors = [y(p.visitors) for p in drawn for _ in range(repeat)]
        pageviews = [y(p.pageviews) for p in drawn for _ in range(repeat)]
        line_v, line_pv = _path(xs, visitors), _path(xs, pageviews)
        area = f"{line_v}L{_num(xs[-1])},{_num(plot_h)}L{_num(xs[0])},{_num(plot_h)}Z"
        out.append(
            '<g class="ff-visitors">'
            f'<path class="ff-area" d="{area}" fill="currentColor" fill-opacity="0.15"'
            ' stroke="none"/>'
            f'<path class="ff-line" d="{line_v}" {stroke}/></g>'
            '<g class="ff-pageviews">'
            f'<path class="ff-line" d="{line_pv}" {stroke} stroke-dasharray="5 4"/></g>'
        )
        out.append('<g class="ff-hits">')
        for i, point in enumerate(drawn):
            out.append(
                f'<rect class="ff-hit" x="{_num(i * bucket_w)}" y="0" width="{_num(bucket_w)}"'
                f' height="{plot_h}" fill="none" pointer-events="all"'
                f' tabindex="{0 if i == 0 else -1}"'
                f' data-bucket="{_text(point.bucket)}" data-label="{_text(long[i])}"'
                f' data-visitors="{point.visitors}" data-visits="{point.visits}"'
                f' data-pageviews="{point.pageviews}"'
                + (f' data-compared-visitors="{compared[i].visitors}"' if i < len(compared) else "")
                + f"><title>{_text(_readout(long[i], point))}"
                + (
                    f"; {_COMPARED[series.compare or '']}: "
                    f"{compared[i].visitors:,} {_plural(compared[i].visitors, 'visitor')}"
                    if i < len(compared)
                    else ""
                )
                + "</title></rect>"
            )
        out.append("</g>")
    out.append("</svg></svg>")
    return Markup("".join(out))


def chart_table(
    series: Timeseries, *, now: datetime | None = None
) -> list[tuple[str, int, int, int, int | None]]:
    """``(label, visitors, visits, pageviews, compared visitors)`` per bucket up to
    ``now`` (the last None without a comparison), for the chart's data table.

    The table (in a ``<details>``) is the accessible equivalent of the chart; labels are
    the same human ones the tooltips use.
    """
    _, long = _labels(series.points, series.interval)  # the chart's labels, as its tooltips
    elapsed = _elapsed(series, now)
    compared = [p.visitors for p in series.comparison or []]
    return [
        (label, p.visitors, p.visits, p.pageviews, compared[i] if i < len(compared) else None)
        for i, (label, p) in enumerate(zip(long[:elapsed], series.points[:elapsed], strict=True))
    ]


def _elapsed(series: Timeseries, now: datetime | None) -> int:
    """How many buckets have started by ``now`` (all of them without a ``now``)."""
    if now is None:
        return len(series.points)
    for index, point in enumerate(series.points):
        start = _parse(point.bucket, series.interval)
        if start is not None and start > now:
            return index
    return len(series.points)


def sparkline(
    values: Sequence[int], *, width: int = 100, height: int = 24, label: str = ""
) -> Markup:
    """A tiny trend line (with a faint area) for a table row, as inline SVG.

    ``label`` names the series in the aria-label ("Page views per day"); the values are
    read out there too, shortened for long lists, since a tooltip needs a pointer.
    """
    width, height = max(int(width), 1), max(int(height), 3)
    values = [max(int(v), 0) for v in values]
    top = max(values, default=0)
    pad = 2.0  # keep the stroke inside the box
    inner = max(height - 2 * pad, 1.0)

    def y(value: int) -> float:
        return height - pad - (value / top * inner if top else 0.0)

    out = [
        f'<svg xmlns="{SVG_NS}" class="ff-sparkline" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img"'
        f' aria-label="{_text(_spark_summary(values, label or "Trend"))}">'
    ]
    if values:
        if len(values) > 1:
            xs = [i * width / (len(values) - 1) for i in range(len(values))]
            ys = [y(v) for v in values]
        else:  # one value: a flat line across
            xs, ys = [0.0, float(width)], [y(values[0])] * 2
        coords = " ".join(f"{_num(x)},{_num(v)}" for x, v in zip(xs, ys, strict=True))
        out.append(
            f'<path class="ff-spark-area" d="M{_num(xs[0])},{height}L'
            f'{"L".join(coords.split(" "))}L{_num(xs[-1])},{height}Z" fill="currentColor"'
            ' fill-opacity="0.15" stroke="none"/>'
            f'<polyline class="ff-spark-line" points="{coords}" fill="none"'
            ' stroke="currentColor" stroke-width="1.5" stroke-linejoin="round"'
            ' stroke-linecap="round" vector-effect="non-scaling-stroke"/>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def nice_ticks(maximum: float, count: int = 4) -> list[int]:
    """Y-axis ticks from 0 in steps of 1, 2, 2.5 or 5 x 10^n, the last one >= ``maximum``.

    Round steps make the gridlines readable at a glance; counts are integers, so the
    step is never below 1. An empty or all-zero series gets ``[0, 1]``.
    """
    if maximum <= 0:
        return [0, 1]
    raw = maximum / max(count, 1)
    if raw <= 1:
        step = 1
    else:
        magnitude = 10 ** math.floor(math.log10(raw))
        steps = [magnitude, 2 * magnitude, 5 * magnitude, 10 * magnitude]
        if magnitude >= 10:
            steps.insert(2, magnitude * 5 // 2)
        step = next(s for s in steps if s >= raw)
    return list(range(0, math.ceil(maximum / step) * step + 1, step))


def _labels(points: Sequence[TimeseriesPoint], interval: str) -> tuple[list[str], list[str]]:
    """Short (x-axis) and long (tooltip, table) labels; the year shows in long labels of
    days and hours only when the series spans more than one year."""
    parsed = [_parse(p.bucket, interval) for p in points]
    years = {d.year for d in parsed if d is not None}
    with_year = len(years) > 1
    short: list[str] = []
    long: list[str] = []
    for point, moment in zip(points, parsed, strict=True):
        if moment is None:  # not the documented format: show it as it is (escaped later)
            short.append(point.bucket)
            long.append(point.bucket)
            continue
        month = _MONTHS[moment.month - 1]
        day = f"{month} {moment.day}" + (f", {moment.year}" if with_year else "")
        if interval == "hour":
            short.append(f"{moment:%H:%M}")
            long.append(f"{day}, {moment:%H:%M}")
        elif interval == "day":
            short.append(f"{month} {moment.day}")
            long.append(day)
        else:
            short.append(f"{month} {moment.year}")
            long.append(f"{month} {moment.year}")
    return short, long


def _parse(bucket: str, interval: str) -> datetime | None:
    fmt = _FORMATS.get(interval)
    if fmt is None:
        return None
    try:
        return datetime.strptime(bucket, fmt)
    except ValueError:
        return None


def _x_ticks(
    points: Sequence[TimeseriesPoint], interval: str, width: int
) -> list[tuple[int, bool]]:
    """Which buckets get an x-axis label, and whether it is major (still shown at 360 px).

    Labels count back from the latest bucket, the one people look at; hours align to
    round hours of the day instead (00:00, 06:00, 12:00 ...).
    """
    count = len(points)
    if count == 0:
        return []
    slot = _LABEL_CHARS.get(interval, 10) * _CHAR_PX + _LABEL_GAP_PX
    fits, fits_small = max(2, int(width // slot)), max(2, int(SMALL_CHART_PX // slot))
    step = math.ceil(count / fits)
    hours = [_parse(p.bucket, "hour") for p in points] if interval == "hour" else []
    if hours and step <= 12 and all(h is not None for h in hours):
        step = next(s for s in (1, 2, 3, 4, 6, 12) if s >= step)
        indices = [i for i, h in enumerate(hours) if h is not None and h.hour % step == 0]
    else:
        indices = list(range(count - 1, -1, -step))[::-1]
    every = math.ceil(len(indices) / fits_small)
    majors = set(indices[::-1][::every])
    return [(i, i in majors) for i in indices]


def _summary(points: Sequence[TimeseriesPoint], interval: str, long: list[str]) -> str:
    """The chart's aria-label: period, the peak and the total, in one sentence."""
    if not points:
        return "Visitors and page views: no data"
    unit = interval if interval in _FORMATS else "bucket"
    period = f"Visitors and page views, {len(points)} {_plural(len(points), unit)}"
    if all(p.visitors == 0 and p.pageviews == 0 for p in points):
        return f"{period}: no data"
    peak = max(range(len(points)), key=lambda i: points[i].visitors)
    visitors = points[peak].visitors
    when = "in" if interval == "month" else "on"
    total = sum(p.pageviews for p in points)
    return (
        f"{period}: peak {visitors:,} {_plural(visitors, 'visitor')} {when} {long[peak]};"
        f" {total:,} {_plural(total, 'page view')} in total"
    )


def _readout(label: str, point: TimeseriesPoint) -> str:
    return (
        f"{label}: {point.visitors:,} {_plural(point.visitors, 'visitor')},"
        f" {point.pageviews:,} {_plural(point.pageviews, 'page view')}"
    )


def _spark_summary(values: list[int], label: str) -> str:
    if not values:
        return f"{label}: no data"
    shown = [f"{v:,}" for v in values]
    text = ", ".join(shown) if len(shown) <= 6 else f"{', '.join(shown[:3])} \u2026 {shown[-1]}"
    return f"{label}: {text} (max {max(values):,})"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"


def _path(xs: Sequence[float], ys: Sequence[float]) -> str:
    return "M" + "L".join(f"{_num(x)},{_num(y)}" for x, y in zip(xs, ys, strict=True))


def _compact(n: int) -> str:
    """Tick labels stay short: 1,500 / 25k / 1.25M."""
    if n >= 1_000_000:
        value, suffix = n / 1_000_000, "M"
    elif n >= 10_000:
        value, suffix = n / 1_000, "k"
    else:
        return f"{n:,}"
    return f"{value:.2f}".rstrip("0").rstrip(".") + suffix


def _num(value: float) -> str:
    """Coordinates with at most two decimals: shorter markup, no visible difference."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _text(value: object) -> Markup:
    """Escape for XML text and attributes; everything from data is treated as untrusted."""
    return escape(_NOT_XML.sub("", str(value)))
