"""One thread that handles whatever has queued up in a single call, then wakes each caller.

This is group commit, and it serves reads too: while one batch is being handled, new
requests queue; the next batch takes them all. Under load many callers share one
transaction (or one query); at rest a caller waits for exactly one. Callers may be
coroutines on any event loop or plain threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

_STOP = object()

Waiter = asyncio.Future[Any] | concurrent.futures.Future[Any]
_Wakeups = list[tuple[asyncio.Future[Any], Any, BaseException | None]]


class BatchThread(Generic[Item, Result]):
    """Runs ``handle(items) -> results`` (one result or exception per item) on its own
    thread, started on first use. ``idle`` runs when nothing arrived for ``idle_interval``
    seconds, and once more on close."""

    def __init__(
        self,
        name: str,
        handle: Callable[[list[Item]], Sequence[Result | BaseException]],
        *,
        max_batch_size: int = 1000,
        idle: Callable[[], None] | None = None,
        idle_interval: float = 5.0,
    ) -> None:
        self._name = name
        self._handle = handle
        self._max_batch_size = max_batch_size
        self._idle = idle
        self._idle_interval = idle_interval
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def submit(self, item: Item) -> Result:
        """Queue ``item`` and wait for its result without blocking the event loop."""
        self._ensure_started()
        waiter: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.put((item, waiter))
        return await waiter

    def submit_sync(self, item: Item, timeout: float | None = 30.0) -> Result:
        """The same for threads without an event loop."""
        self._ensure_started()
        waiter: concurrent.futures.Future[Result] = concurrent.futures.Future()
        self._queue.put((item, waiter))
        return waiter.result(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Handle everything still queued, run ``idle`` a last time, stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            self._run_idle()
            return
        self._queue.put(_STOP)
        thread.join(timeout)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                entry = self._queue.get(timeout=self._idle_interval)
            except queue.Empty:
                self._run_idle()
                continue
            batch: list[tuple[Item, Waiter]] = []
            while True:
                if entry is _STOP:
                    stopping = True
                else:
                    batch.append(entry)
                if len(batch) >= self._max_batch_size:
                    break
                try:
                    entry = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._process(batch)
        self._run_idle()

    def _process(self, batch: list[tuple[Item, Waiter]]) -> None:
        try:
            results = list(self._handle([item for item, _ in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"{self._name} returned {len(results)} results for {len(batch)}")
        except BaseException as error:  # never leave a caller waiting forever
            log.exception("%s failed on a batch of %d", self._name, len(batch))
            results = [error] * len(batch)
        _wake_all([(waiter, result) for (_, waiter), result in zip(batch, results, strict=True)])

    def _run_idle(self) -> None:
        if self._idle is None:
            return
        try:
            self._idle()
        except Exception:
            log.exception("%s: idle task failed", self._name)


def _wake_all(outcomes: list[tuple[Waiter, Any]]) -> None:
    """Wake every caller; coroutines are woken with one call per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, _Wakeups] = {}
    for waiter, outcome in outcomes:
        error = outcome if isinstance(outcome, BaseException) else None
        if isinstance(waiter, concurrent.futures.Future):
            if error is None:
                waiter.set_result(outcome)
            else:
                waiter.set_exception(error)
        else:
            by_loop.setdefault(waiter.get_loop(), []).append((waiter, outcome, error))
    for loop, wakeups in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop has nobody waiting
            loop.call_soon_threadsafe(_wake, wakeups)


def _wake(wakeups: _Wakeups) -> None:
    for waiter, outcome, error in wakeups:
        if waiter.done():  # the caller gave up (request cancelled)
            continue
        if error is None:
            waiter.set_result(outcome)
        else:
            waiter.set_exception(error)
