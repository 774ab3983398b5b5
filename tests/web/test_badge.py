"""The "1.2k views" badge: compact numbers, the SVG, and the template helpers that print them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from math import ceil
from types import SimpleNamespace

import pytest

from footfall.web.badge import BADGE_METRICS, compact_number, render_badge, text_width
from footfall.web.templating import footfall_count, install_jinja2

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0"),
        (1, "1"),
        (42, "42"),
        (999, "999"),
        (1000, "1k"),
        (1001, "1k"),
        (1099, "1k"),
        (1100, "1.1k"),
        (1234, "1.2k"),
        (1999, "1.9k"),
        (9_950, "9.9k"),
        (9_999, "9.9k"),
        (10_000, "10k"),
        (12_345, "12.3k"),
        (123_456, "123.4k"),
        (999_999, "999.9k"),
        (1_000_000, "1M"),
        (3_456_789, "3.4M"),
        (999_999_999, "999.9M"),
        (1_000_000_000, "1B"),
        (2_500_000_000, "2.5B"),
        (999_999_999_999, "999.9B"),
        (1_000_000_000_000, "1T"),
        (-1, "-1"),
        (-999, "-999"),
        (-1234, "-1.2k"),
        (-1999, "-1.9k"),
        (-3_456_789, "-3.4M"),
        (0.0, "0"),
        (-0.0, "0"),
        (0.05, "0"),
        (-0.05, "0"),
        (0.3, "0.3"),
        (12.75, "12.7"),
        (5.0, "5"),
        (999.99, "999.9"),
        (1000.0, "1k"),
        (1234.5, "1.2k"),
        (1.2e3, "1.2k"),
        (1e6, "1M"),
        (-2.5e9, "-2.5B"),
    ],
)
def test_compact_number(n, expected):
    assert compact_number(n) == expected


def test_compact_number_never_overstates():
    # Truncation: the shown figure times its unit is never above the real count.
    units = {"": 1, "k": 10**3, "M": 10**6, "B": 10**9}
    for n in [*range(0, 3000, 7), *range(990_000, 1_010_000, 997), 999_999, 10**9 - 1]:
        text = compact_number(n)
        suffix = text[-1] if text[-1] in units else ""
        assert float(text.removesuffix(suffix)) * units[suffix] <= n, (n, text)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_compact_number_rejects_non_finite(bad):
    with pytest.raises(ValueError):
        compact_number(bad)


@pytest.mark.parametrize("bad", ["1234", None, True])
def test_compact_number_rejects_non_numbers(bad):
    with pytest.raises(TypeError):
        compact_number(bad)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_badge_is_well_formed_accessible_svg():
    svg = render_badge("views", "1.2k")
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "views: 1.2k"
    assert root.find(f"{SVG}title").text == "views: 1.2k"
    assert texts(root) == ["views", "views", "1.2k", "1.2k"]
    assert root.get("height") == "20"
    assert int(root.get("width")) == ceil(text_width("views")) + ceil(text_width("1.2k")) + 20
    value_rect = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#4c1"]
    assert len(value_rect) == 1


def test_badge_is_self_contained():
    svg = render_badge("views", "1.2k")
    lowered = svg.lower()
    for forbidden in ("<script", "href", "http://", "https://", "@import", "<style", "<image"):
        if forbidden == "http://":  # only the SVG namespace URI, which is not fetched
            assert lowered.count(forbidden) == 1
            continue
        assert forbidden not in lowered


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("<script>alert(1)</script>", "1k"),
        ("views", "<script>alert(1)</script>"),
        ('say "hi"', "a & b"),
        ("it's", "1 < 2 > 0"),
        ("a\x00b\x1bc", "x\ufffey"),
    ],
)
def test_badge_escapes_text(label, value):
    svg = render_badge(label, value)
    assert "<script" not in svg
    root = parse(svg)  # would fail on a stray & < or " or an XML-invalid character
    clean_label = label.replace("\x00", "").replace("\x1b", "")
    clean_value = value.replace("\ufffe", "")
    assert root.get("aria-label") == f"{clean_label}: {clean_value}"
    assert root.find(f"{SVG}title").text == f"{clean_label}: {clean_value}"
    assert texts(root) == [clean_label, clean_label, clean_value, clean_value]


def test_script_label_appears_escaped():
    svg = render_badge("<script>alert(1)</script>", "1k")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg


def test_badge_width_grows_with_text():
    def width(label: str, value: str) -> int:
        return int(parse(render_badge(label, value)).get("width"))

    assert width("views", "1.2k") < width("views", "123.4k")
    assert width("views", "1k") < width("visitors", "1k")
    assert width("w", "1") < width("W", "1")  # per-character widths, not a character count
    assert width("views", "1k") < width("页面浏览", "1k")


def test_badge_colour_is_validated():
    assert 'fill="#e05d44"' in render_badge("views", "1k", color="#e05d44")
    assert 'fill="orange"' in render_badge("views", "1k", color="orange")
    for bad in ('red" onload="alert(1)', "url(#x)", "#12", ""):
        with pytest.raises(ValueError):
            render_badge("views", "1k", color=bad)


def test_badge_without_label_is_value_only():
    root = parse(render_badge("", "1.2k"))
    assert root.get("aria-label") == "1.2k"
    assert texts(root) == ["1.2k", "1.2k"]
    assert not [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#555"]


def test_different_badges_do_not_share_ids():
    # Inlined into one page, a shared clipPath id would clip one badge to another's width.
    ids_a = {e.get("id") for e in parse(render_badge("views", "1k")).iter() if e.get("id")}
    ids_b = {e.get("id") for e in parse(render_badge("visitors", "12k")).iter() if e.get("id")}
    assert ids_a and ids_b and not ids_a & ids_b


def test_badge_metrics():
    assert BADGE_METRICS == {"pageviews": "views", "visitors": "visitors"}


class FakeApi:
    """Stands in for ``analytics.api``; records the calls the helper makes."""

    def __init__(self, pageviews: int, visitors: int) -> None:
        self.stats = SimpleNamespace(pageviews=pageviews, visitors=visitors)
        self.calls: list[dict[str, str]] = []

    def get_page_stats_sync(self, *, path: str, range: str) -> SimpleNamespace:
        self.calls.append({"path": path, "range": range})
        return self.stats


@pytest.fixture
def analytics() -> SimpleNamespace:
    return SimpleNamespace(api=FakeApi(pageviews=1234, visitors=987_654))


def test_footfall_count(analytics):
    assert footfall_count(analytics, "/blog/hello") == "1.2k"
    assert footfall_count(analytics, "/blog/hello", "visitors") == "987.6k"
    assert analytics.api.calls == [{"path": "/blog/hello", "range": "all"}] * 2


def test_footfall_count_rejects_unknown_metric_without_querying(analytics):
    with pytest.raises(ValueError, match="bounce_rate"):
        footfall_count(analytics, "/", "bounce_rate")
    assert analytics.api.calls == []


def test_install_jinja2(analytics):
    jinja2 = pytest.importorskip("jinja2", reason="pip install jinja2 (it is in the test extra)")
    env = jinja2.Environment(autoescape=True)
    install_jinja2(env, analytics)
    template = env.from_string(
        "{{ footfall_count(path) }} views, {{ footfall_count(path, metric='visitors') }} people"
    )
    assert template.render(path="/blog/hello") == "1.2k views, 987.6k people"
    assert analytics.api.calls == [{"path": "/blog/hello", "range": "all"}] * 2
    with pytest.raises(ValueError):
        env.from_string("{{ footfall_count('/', 'nope') }}").render()


def test_install_jinja2_needs_only_a_globals_mapping(analytics):
    # The helper touches nothing but ``environment.globals``: jinja2 is never imported.
    env = SimpleNamespace(globals={})
    install_jinja2(env, analytics)
    assert env.globals["footfall_count"]("/x", "visitors") == "987.6k"
