"""CSV export and import of raw events: a way out of footfall (and back in) that any tool reads.

One file holds both kinds of event, one row each, in the column order of ``COLUMNS``:

``type``
    ``pageview`` or ``event`` (a custom event).
``timestamp``
    When it happened, ISO 8601 in UTC with microseconds, e.g. ``2024-06-20T10:37:12.345678Z``.
    Import also accepts ``+00:00`` or any other explicit offset, but not a naive time.
``name``
    The custom event's name; ``pageview`` for page views.
``hostname``, ``path``
    Where it happened.
``properties``
    The custom properties as a JSON object, or empty for none.
``interactive``
    ``true`` or ``false``: whether a custom event counts towards bounces. Always ``true``
    for page views (which have no such flag).
``referrer``, ``referrer_source``
    The referring URL (no query string) and its source (host or ``utm_source``).
``utm_source``, ``utm_medium``, ``utm_campaign``, ``utm_content``, ``utm_term``
    The campaign tags (utm_*) of this event's own page URL.
``country``
    ISO 3166-1 alpha-2 code.
``device``, ``browser``, ``browser_version``, ``os``, ``os_version``
    What the User-Agent said, parsed (never the User-Agent itself).
``visitor_id``, ``session_id``
    The daily-salted visitor hash and the visit's random id, as decimal integers.
``engaged_ms``, ``scroll_depth``
    A page view's engaged time (milliseconds) and deepest scroll (percent), as its tracker
    reported them; empty when it reported nothing, and for custom events. Files exported
    before these two columns existed, without them, are imported too.
``region``, ``city``
    Below the country, by English name, with a city-level ``.mmdb`` only; empty otherwise.
    Files exported before them are imported too.

An empty cell in an optional column means "none" (NULL); the pipeline never stores an empty
string there, so nothing is lost. Page views come first, then custom events, each in
timestamp order, with a header row first. The encoding is UTF-8 without a byte-order mark
(one is tolerated on import).

Spreadsheet safety: everything a visitor sent is untrusted, and a spreadsheet runs a cell
starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some strip
first) as a formula. Such cells get a leading ``'`` (OWASP's CSV-injection advice), which
spreadsheets show as text. So that import can undo this exactly, a cell already made of
quotes followed by one of those characters gets one more quote, and import removes one quote
from any cell that is quotes followed by a dangerous character. A round trip through
export and import therefore reproduces every stored value.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TextIO

import orjson
from sqlalchemy import Connection, Select, Table, func, select

from footfall.ingest.event import PAGEVIEW, Event
from footfall.store import Store, rollups
from footfall.store.schema import custom_event, page_view

__all__ = [
    "COLUMNS",
    "ImportSummary",
    "count_events",
    "export_rows",
    "import_csv",
    "iter_csv_bytes",
    "write_csv",
]

COLUMNS: tuple[str, ...] = (
    "type",
    "timestamp",
    "name",
    "hostname",
    "path",
    "properties",
    "interactive",
    "referrer",
    "referrer_source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "country",
    "device",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "visitor_id",
    "session_id",
    "engaged_ms",
    "scroll_depth",
    "region",
    "city",
)
"""The CSV columns, in order. New columns are only ever added at the end."""
EARLIER_COLUMNS = (COLUMNS[:22], COLUMNS[:24])
"""The columns of exports made before engagement (22), and before regions and cities (24)
were kept: still imported."""

TYPE_PAGEVIEW = "pageview"
TYPE_EVENT = "event"

YIELD_PER = 5_000
"""Rows fetched per round trip: the export's memory is a few of these batches, whatever the
range."""

CHUNK_BYTES = 64 * 1024
"""Size of the pieces ``iter_csv_bytes`` yields: big enough for few writes, small enough to
start a download at once."""

_DANGEROUS = frozenset("=+-@\t\r")
_RISKY_FIRST = _DANGEROUS | {"'"}
"""First characters worth a closer look: the dangerous ones, and the quote that escapes them."""

# Columns copied as text, in CSV order after ``interactive``; all are nullable.
_TEXT_COLUMNS = COLUMNS[7:20]
_ID_MAX = 2**63 - 1


def _neutralise(cell: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would run as a formula (see the module doc)."""
    if cell and cell[0] in _RISKY_FIRST and cell.lstrip("'")[:1] in _DANGEROUS:
        return "'" + cell
    return cell


def _restore(cell: str) -> str:
    """Undo ``_neutralise``: it is injective, so this gives back the stored text exactly."""
    if cell.startswith("'") and cell.lstrip("'")[:1] in _DANGEROUS:
        return cell[1:]
    return cell


# -- export -----------------------------------------------------------------------------------


def _naive_utc(moment: datetime | None, name: str) -> datetime | None:
    """Stored timestamps are naive UTC; bounds must say their zone so none is misread."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _bounded(
    table: Table, query: Select[Any], start: datetime | None, end: datetime | None
) -> Select[Any]:
    if start is not None:
        query = query.where(table.c.timestamp >= start)
    if end is not None:
        query = query.where(table.c.timestamp < end)
    return query


def _select(table: Table, start: datetime | None, end: datetime | None) -> Select[Any]:
    custom = table is custom_event
    columns = [
        table.c.timestamp,
        table.c.name if custom else None,
        table.c.hostname,
        table.c.path,
        table.c.properties,
        table.c.interactive if custom else None,
        *(table.c[name] for name in _TEXT_COLUMNS),
        table.c.visitor_id,
        table.c.session_id,
        table.c.engaged_ms if not custom else None,
        table.c.scroll_depth if not custom else None,
        table.c.region,
        table.c.city,
    ]
    query = select(*(c for c in columns if c is not None))
    return _bounded(table, query, start, end).order_by(table.c.timestamp, table.c.id)


def _reading(store: Store) -> Connection:
    """One connection for both tables, so they come from one snapshot where the database
    offers it cheaply (SQLite's read transaction; PostgreSQL's REPEATABLE READ)."""
    conn = store.engine.connect()
    if store.engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def count_events(store: Store, start: datetime | None = None, end: datetime | None = None) -> int:
    """How many rows ``export_rows`` will yield after the header (for a progress bar)."""
    low, high = _naive_utc(start, "start"), _naive_utc(end, "end")
    total = 0
    with store.engine.connect() as conn:
        for table in (page_view, custom_event):
            query = _bounded(table, select(func.count()).select_from(table), low, high)
            total += int(conn.execute(query).scalar_one())
    return total


def export_rows(
    store: Store, start: datetime | None = None, end: datetime | None = None
) -> Iterator[list[str]]:
    """The header, then every event with ``start <= timestamp < end`` as a row of text.

    Bounds are aware datetimes (``None``: unbounded). Rows stream from a server-side cursor
    (PostgreSQL) or the SQLite cursor ``YIELD_PER`` at a time, so memory stays flat however
    many there are. Both tables are read in one transaction, so the file is one consistent
    snapshot. Cells are already neutralised for spreadsheets. Close the generator (or
    exhaust it) to release the connection.
    """
    low, high = _naive_utc(start, "start"), _naive_utc(end, "end")
    yield list(COLUMNS)
    with _reading(store) as reading:
        conn = reading.execution_options(stream_results=True, yield_per=YIELD_PER)
        risky = _RISKY_FIRST
        safe = _neutralise
        # Hot loops (a million rows is a normal export): whole partitions rather than rows
        # from the result, and the spreadsheet check inline, calling out only for the rare
        # cell that starts with a risky character.
        for partition in conn.execute(_select(page_view, low, high)).partitions():
            for row in partition:
                ts, host, path, props, *texts, visitor, session, engaged, depth = row[:-2]
                yield [
                    TYPE_PAGEVIEW,
                    ts.isoformat(timespec="microseconds") + "Z",
                    PAGEVIEW,
                    safe(host) if host and host[0] in risky else host,
                    safe(path) if path and path[0] in risky else path,
                    props or "",
                    "true",
                    *[safe(t) if t and t[0] in risky else (t or "") for t in texts],
                    _integer(visitor),
                    _integer(session),
                    "" if engaged is None else str(engaged),
                    "" if depth is None else str(depth),
                    *[safe(t) if t and t[0] in risky else (t or "") for t in row[-2:]],
                ]
        for partition in conn.execute(_select(custom_event, low, high)).partitions():
            for row in partition:
                ts, name, host, path, props, interactive, *texts, visitor, session = row[:-2]
                yield [
                    TYPE_EVENT,
                    ts.isoformat(timespec="microseconds") + "Z",
                    safe(name) if name and name[0] in risky else name,
                    safe(host) if host and host[0] in risky else host,
                    safe(path) if path and path[0] in risky else path,
                    props or "",
                    "true" if interactive else "false",
                    *[safe(t) if t and t[0] in risky else (t or "") for t in texts],
                    _integer(visitor),
                    _integer(session),
                    "",
                    "",
                    *[safe(t) if t and t[0] in risky else (t or "") for t in row[-2:]],
                ]


def _integer(value: int) -> str:
    """Ids are positive; a negative one would start with ``-`` and is neutralised too."""
    return str(value) if value >= 0 else "'" + str(value)


def write_csv(
    rows: Iterable[list[str]], out: TextIO, *, progress: Callable[[int], None] | None = None
) -> int:
    """Write ``rows`` (header first, as ``export_rows`` yields them) to ``out``; returns the
    number of data rows. Open ``out`` with ``newline=""`` so the csv module's CRLF row ends
    are not translated again. ``progress`` gets the data rows written, ``YIELD_PER`` at a
    time (a per-row callback would cost more than the writing)."""
    writer = csv.writer(out)
    iterator = iter(rows)
    header = next(iterator, None)
    if header is None:
        return 0
    writer.writerow(header)
    written = 0
    while chunk := list(islice(iterator, YIELD_PER)):
        writer.writerows(chunk)
        written += len(chunk)
        if progress is not None:
            progress(len(chunk))
    return written


def iter_csv_bytes(rows: Iterable[list[str]]) -> Iterator[bytes]:
    """The CSV of ``rows`` as UTF-8 chunks of about ``CHUNK_BYTES``, for a streaming HTTP
    response: one write per chunk rather than per row. Closing it closes ``rows``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    try:
        for row in rows:
            writer.writerow(row)
            if buffer.tell() >= CHUNK_BYTES:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        if buffer.tell():
            yield buffer.getvalue().encode()
    finally:  # closed early (the client went away): the rows' connection goes back now
        close = getattr(rows, "close", None)
        if close is not None:
            close()


# -- import -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """How many events an import wrote."""

    pageviews: int
    custom_events: int


def import_csv(
    store: Store,
    source: TextIO | str | os.PathLike[str],
    *,
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Add the events of a CSV file in the export format to ``store``; all or nothing.

    ``source`` is a path or a text file opened with ``newline=""``. The file is read twice:
    first every row is checked (a ``ValueError`` names the line and the problem, and nothing
    is written), then the events are written ``batch_size`` per transaction, and ``progress``
    gets each batch's size. So the file must be seekable; anything else (a pipe) is first
    copied to a temporary file. Memory stays flat either way. Only a database failure during
    the second pass can leave part of a file imported.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    with ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            file: TextIO = stack.enter_context(open(source, encoding="utf-8", newline=""))
        elif source.seekable():
            file = source
        else:
            file = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", newline=""))
            shutil.copyfileobj(source, file)
            file.seek(0)
        origin = file.tell()
        counts = [0, 0]
        earliest: datetime | None = None
        for event in _read_events(file):
            counts[not event.is_pageview] += 1
            if earliest is None or event.timestamp < earliest:
                earliest = event.timestamp
        file.seek(origin)
        batch: list[Event] = []
        for event in _read_events(file):
            batch.append(event)
            if len(batch) >= batch_size:
                _write(store, batch, progress)
                batch = []
        if batch:
            _write(store, batch, progress)
    if earliest is not None:  # days already rolled up are rolled up again, with these
        rollups.reset(store.engine, earliest)
    return ImportSummary(pageviews=counts[0], custom_events=counts[1])


def _write(store: Store, batch: list[Event], progress: Callable[[int], None] | None) -> None:
    store.writer.write_now(batch)
    if progress is not None:
        progress(len(batch))


def _read_events(file: TextIO) -> Iterator[Event]:
    """The events of the file, checked; raises ``ValueError`` naming the line at the first
    problem. The line is where the row starts (a quoted cell may span lines)."""
    reader = csv.reader(file, strict=True)
    line = 1
    try:
        header = next(reader, None)
        if header is None:
            raise ValueError("line 1: the file is empty; expected a header row")
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        _check_header(header)
        width = len(header)
        line = reader.line_num + 1
        for row in reader:
            if row:  # a blank line is no event
                yield _event(row, width)
            line = reader.line_num + 1
    except csv.Error as error:
        raise ValueError(f"line {line}: not valid CSV ({error})") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"near line {line}: not UTF-8 text ({error.reason})") from None
    except _RowError as error:
        raise ValueError(f"line {line}: {error}") from None


def _check_header(header: list[str]) -> None:
    if tuple(header) in (COLUMNS, *EARLIER_COLUMNS):
        return
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown {', '.join(repr(c) for c in unknown)}")
        detail = "; ".join(problems)
    else:
        detail = "the columns are out of order"
    raise _RowError(f"not a footfall export header ({detail}); expected: {','.join(COLUMNS)}")


class _RowError(Exception):
    """A problem with one row; ``_read_events`` adds the line number."""


def _event(row: list[str], width: int = len(COLUMNS)) -> Event:
    if len(row) != width:
        raise _RowError(f"expected {width} cells, found {len(row)}")
    cells = [_restore(c) for c in row]
    kind, stamp, name, hostname, path, props, interactive = cells[:7]
    if kind == TYPE_PAGEVIEW:
        if name != PAGEVIEW:
            raise _RowError(f"a pageview row must have the name {PAGEVIEW!r}, not {name!r}")
    elif kind == TYPE_EVENT:
        if not name:
            raise _RowError("a custom event needs a name")
        if name == PAGEVIEW:
            raise _RowError(f"a custom event cannot be named {PAGEVIEW!r}; use type pageview")
    else:
        raise _RowError(f"type must be {TYPE_PAGEVIEW!r} or {TYPE_EVENT!r}, not {kind!r}")
    texts = [c or None for c in cells[7:20]]
    return Event(
        name=name,
        timestamp=_timestamp(stamp),
        hostname=hostname,
        path=path,
        properties=_properties(props),
        interactive=_flag(interactive),
        referrer=texts[0],
        referrer_source=texts[1],
        utm_source=texts[2],
        utm_medium=texts[3],
        utm_campaign=texts[4],
        utm_content=texts[5],
        utm_term=texts[6],
        country=texts[7],
        device=texts[8],
        browser=texts[9],
        browser_version=texts[10],
        os=texts[11],
        os_version=texts[12],
        visitor_id=_id(cells[20], "visitor_id"),
        session_id=_id(cells[21], "session_id"),
        engaged_ms=_count(cells[22], "engaged_ms", 2**62) if width > 22 else None,
        scroll_depth=_count(cells[23], "scroll_depth", 100) if width > 22 else None,
        region=(cells[24] or None) if width > 24 else None,
        city=(cells[25] or None) if width > 24 else None,
    )


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _RowError(
            f"timestamp {text!r} is not ISO 8601 (e.g. 2024-06-20T10:37:12.345678Z)"
        ) from None
    if moment.tzinfo is None:
        raise _RowError(f"timestamp {text!r} has no time zone; add Z for UTC")
    return moment.astimezone(UTC)


def _properties(text: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise _RowError(f"properties is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise _RowError("properties must be a JSON object or empty")
    return value


def _flag(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise _RowError(f"interactive must be true or false, not {text!r}")


def _count(text: str, column: str, most: int) -> int | None:
    """An engagement cell: empty (none), or a whole number from 0 to ``most``."""
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or int(text) > most:
        raise _RowError(f"{column} must be empty or a whole number from 0 to {most}, not {text!r}")
    return int(text)


def _id(text: str, column: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _RowError(f"{column} must be an integer, not {text!r}") from None
    if not -_ID_MAX - 1 <= value <= _ID_MAX:
        raise _RowError(f"{column} {text} does not fit in 64 bits")
    return value
