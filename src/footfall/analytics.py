"""The one object an application creates: configuration, storage, pipeline and HTTP apps."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from footfall.api import AnalyticsAPI
from footfall.config import Config, config_from
from footfall.ingest.event import PAGEVIEW, Event
from footfall.ingest.pipeline import Draft, IngestContext, Pipeline
from footfall.store import Store, StoreUnavailable
from footfall.store.retention import PurgeSummary, purge
from footfall.store.rollups import Progress, roll_up
from footfall.store.today import REFRESH_INTERVAL_SECONDS, refresh_today
from footfall.web.middleware import PageViewMiddleware, PendingWrites
from footfall.web.requests import describe_request

log = logging.getLogger(__name__)

PURGE_INTERVAL = 3600.0
"""Seconds between two purges of expired events, salts and visits while the app runs."""
T = TypeVar("T")


class Analytics:
    """footfall for one application (one site).

    Create it once with the options of ``Config`` (as keywords, or a ``Config``); the
    database is opened (and migrated) on first use or by ``open()``, and ``close()`` writes
    what is queued before the process ends:

        analytics = Analytics(database_url="sqlite:///footfall.db", retention_days=90)

    ``async with analytics:`` opens it, purges expired data at once and then hourly while
    the block runs, and closes it on the way out: put it in your application's lifespan.
    """

    # The background purge of ``async with``: its task, a flag that ends a running purge
    # after its batch, and an event set once the first run is over (tests wait on it).
    _purge_task: asyncio.Task[None] | None = None
    _purge_stop: threading.Event | None = None
    _purged_once: asyncio.Event | None = None

    def __init__(self, config: Config | None = None, **options: Any) -> None:
        self.config = config if config is not None else config_from(options)
        """The options, checked: a frozen ``Config``."""
        self._store: Store | None = None
        self._pipeline: Pipeline | None = None
        self._open_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._app: Any = None
        self._pending = PendingWrites()  # page views recorded after their response
        self.api = AnalyticsAPI(self)
        """The aggregation API: ``await analytics.api.get_dashboard_stats(range="30d")``."""

    # -- life cycle ------------------------------------------------------------------------

    def open(self) -> None:
        """Connect and migrate the database; idempotent, safe from several threads."""
        if self._pipeline is not None:
            return
        with self._open_lock:
            if self._pipeline is None:
                try:
                    store = Store(
                        self.config.database_url, max_batch_size=self.config.max_batch_size
                    )
                except DBAPIError as error:  # the database is down: a 503, not a crash
                    raise StoreUnavailable(str(error)) from error
                self._pipeline = Pipeline(self.config, store)
                self._store = store

    def close(self) -> None:
        """Write every queued event and dropped-event count, then release the database."""
        self._pending.wait()
        loop, task = self._loop, self._purge_task
        if loop is not None and task is not None and task.get_loop() is loop:
            # The purge of purge_in_background(): stopped before the database goes away.
            asyncio.run_coroutine_threadsafe(self._stop_purging(), loop).result()
        with self._open_lock:
            if self._pipeline is not None:
                self._pipeline.close()
            if self._store is not None:
                self._store.close()
            self._store = self._pipeline = None
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._loop = None

    async def __aenter__(self) -> Analytics:
        try:
            await asyncio.to_thread(self.open)
        except StoreUnavailable as error:
            # The host application starts all the same: events are answered 503 and the
            # next one (or the next purge) opens the database once it is back.
            log.error(
                "footfall cannot reach its database (%s): events are answered 503 until it "
                "is back, which is retried with each event",
                _first_line(error),
            )
        self._start_purging()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._pending.drain()
        await self._stop_purging()
        await asyncio.to_thread(self.close)

    # -- retention -------------------------------------------------------------------------

    def purge(self) -> PurgeSummary:
        """Roll up the days that are over, then delete events older than ``retention_days``
        (never a day not rolled up yet) and salts and visits past their 48 hours, now.
        ``async with analytics`` does this hourly; run it from cron (``footfall purge``)
        when the application has no event loop."""
        self.roll_up()
        return purge(
            self.store.engine,
            retention_days=self.config.retention_days,
            rollup_retention_days=self.config.rollup_retention_days,
            now=self.config.clock(),
            stop=self._purge_stop,
        )

    def roll_up(self, progress: Progress | None = None) -> int:
        """Roll up every day that can no longer change (see ``footfall.store.rollups``):
        what keeps reports of long periods fast. ``purge()`` runs it first. Returns the
        number of days rolled up."""
        stop = self._purge_stop
        days = roll_up(
            self.store.engine,
            timezone=self.config.timezone,
            now=self.config.clock(),
            progress=progress,
            stop=stop.is_set if stop is not None else None,
        )
        if stop is None or not stop.is_set():
            self.refresh_today()
        return days

    def refresh_today(self) -> bool:
        """Roll up the day in progress's finished visits (see ``footfall.store.today``):
        what keeps today's share of a report small. ``roll_up()`` runs it; a running
        footfall does every few minutes."""
        return refresh_today(
            self.store.engine, timezone=self.config.timezone, now=self.config.clock()
        )

    def purge_in_background(self) -> None:
        """Purge at once and then hourly, as ``async with analytics`` does, on footfall's own
        background thread: for applications that have no event loop to run it in (WSGI,
        Django). ``analytics.wsgi()`` and the Django middleware call it; ``close()`` stops
        it. Idempotent."""

        async def start() -> None:
            self._start_purging()

        asyncio.run_coroutine_threadsafe(start(), self._background_loop()).result()

    def _start_purging(self) -> None:
        if self._purge_task is not None and not self._purge_task.done():
            return
        self._purge_stop = threading.Event()
        self._purged_once = asyncio.Event()
        self._purge_task = asyncio.create_task(
            self._purge_periodically(self._purged_once), name="footfall-purge"
        )

    async def _purge_periodically(self, purged_once: asyncio.Event) -> None:
        """Purge at start and every PURGE_INTERVAL whatever the traffic: the salts must go
        after 48 hours even on a site nobody visits; in between, refresh the rollups of
        the day in progress every REFRESH_INTERVAL_SECONDS. A failure is logged and retried
        at the next interval; it never reaches the application."""
        while True:
            summary = await self._in_thread(self.purge, "purge expired data")
            if summary is not None and summary.total:
                # Salts and the visitors' links to their latest visit expire every day
                # (the first start after the demo drops a month of links): not news.
                level = logging.INFO if summary.data else logging.DEBUG
                log.log(level, "footfall purged expired data: %s", summary)
            purged_once.set()
            loop = asyncio.get_running_loop()
            next_purge = loop.time() + PURGE_INTERVAL
            while (left := next_purge - loop.time()) > 0:
                await asyncio.sleep(min(left, REFRESH_INTERVAL_SECONDS))
                if loop.time() < next_purge:
                    await self._in_thread(self.refresh_today, "refresh today's rollups")

    async def _in_thread(self, job: Callable[[], T], what: str) -> T | None:
        """``job()`` on a thread; None (logged) if it fails."""
        run = asyncio.ensure_future(asyncio.to_thread(job))
        try:
            return await asyncio.shield(run)
        except asyncio.CancelledError:
            # A thread cannot be cancelled: the stop flag ends it after its batch, and
            # waiting for that keeps close() from disposing the engine under it.
            with contextlib.suppress(Exception):
                await run
            raise
        except StoreUnavailable as error:
            log.warning(
                "footfall could not %s: the database is unreachable (%s); retrying later",
                what,
                _first_line(error),
            )
            return None
        except Exception:
            log.exception("footfall could not %s; retrying later", what)
            return None

    async def _stop_purging(self) -> None:
        task, self._purge_task = self._purge_task, None
        if self._purge_stop is not None:
            self._purge_stop.set()
        if task is not None:
            task.cancel()
            await asyncio.wait([task])  # unlike awaiting it, keeps our own cancellation
        self._purge_stop = None  # later purge() calls run in full again

    @property
    def store(self) -> Store:
        self.open()
        assert self._store is not None
        return self._store

    @property
    def pipeline(self) -> Pipeline:
        self.open()
        assert self._pipeline is not None
        return self._pipeline

    # -- the HTTP side ---------------------------------------------------------------------

    @property
    def app(self) -> Any:
        """The ASGI application with every footfall route at its full path."""
        if self._app is None:
            from footfall.web.app import build_app

            self._app = build_app(self)
        return self._app

    def middleware(self, app: Any, *, inject_script: bool = False) -> PageViewMiddleware:
        """Wrap an ASGI app so that each HTML page it serves is counted (see
        ``footfall.PageViewMiddleware``); ``inject_script`` adds the tracker tag."""
        return PageViewMiddleware(app, self, inject_script=inject_script)

    def wsgi(self, app: Any, *, inject_script: bool = False) -> Any:
        """Wrap a WSGI app (Flask, Bottle, ...): footfall's routes served at their paths, and
        each HTML page the app serves counted (see ``footfall.web.wsgi``)."""
        from footfall.web.wsgi import WSGIMiddleware

        return WSGIMiddleware(app, self, inject_script=inject_script)

    # -- ingestion -------------------------------------------------------------------------

    async def ingest(
        self,
        payload: dict[str, Any],
        *,
        headers: Mapping[str, str],
        peer: str | None,
        context: IngestContext,
        trusted: bool = False,
    ) -> Event:
        """Run one payload through the pipeline. Raises ``InvalidEvent`` or ``Dropped``."""
        pipeline = self._pipeline or await asyncio.to_thread(lambda: self.pipeline)
        draft = Draft(payload=payload, headers=headers, peer=peer, context=context)
        draft.trusted = trusted
        return await pipeline.run(draft)

    async def track(
        self,
        name: str,
        props: Mapping[str, Any] | None = None,
        *,
        request: Any | None = None,
        url: str | None = None,
        referrer: str | None = None,
        interactive: bool = True,
    ) -> Event:
        """Record an event from Python code, through the same pipeline as the browser's.

        With ``request`` (Starlette/FastAPI, Django or Flask), the visitor, page and referrer
        are taken from it, and bots are filtered as usual. Without one, the event is counted
        for an anonymous server visitor and ``url`` is required. Returns the stored event;
        raises ``InvalidEvent`` for bad input and ``Dropped`` when filtered.
        """
        info = describe_request(request) if request is not None else None
        page = url or (info.url if info else None)
        if page is None:
            raise ValueError("track() needs url= when there is no request")
        payload = {
            "name": name,
            "url": page,
            "props": dict(props) if props else None,
            "referrer": referrer if referrer is not None else (info.referrer if info else None),
            "interactive": interactive,
        }
        return await self.ingest(
            payload,
            headers=info.headers if info else {},
            peer=info.peer if info else None,
            context=IngestContext(source="python", request=request),
            trusted=info is None,
        )

    def track_sync(
        self,
        name: str,
        props: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Event:
        """``track()`` for synchronous code (WSGI views, scripts, templates).

        Takes the same arguments and blocks until the event is stored. It runs ``track()``
        on a background event loop that footfall starts on first use and ``close()`` stops.
        Do not call it from a coroutine: use ``await analytics.track(...)`` there.
        """
        future = asyncio.run_coroutine_threadsafe(
            self.track(name, props, **options), self._background_loop()
        )
        return future.result()

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        with self._open_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="footfall-sync", daemon=True).start()
                self._loop = loop
            return self._loop

    def __repr__(self) -> str:
        return f"Analytics(database_url={self.config.database_url!r})"


__all__ = ["PAGEVIEW", "Analytics"]


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
