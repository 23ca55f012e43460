"""One politeness budget per host, shared by every portal and task of a process (docs/crawler.md).

Two registry entries often live on one host (a county portal and its departments' sub-sites), and the flows
crawl portals as separate Prefect tasks, each in its own worker thread with its own event loop.  Politeness must
not multiply with them: connection slots, the minimum delay between requests, a ``Retry-After`` / backoff pause
and robots.txt belong to the *host*, whichever portal or task the request is for.

So :meth:`HostPolicy.shared` returns one process-wide policy per politeness profile (the settings that shape it:
``polite``, ``per_host_concurrency``, ``global_concurrency``, ``min_delay_s``; a run has one profile), and its
primitives work across threads and event loops: :class:`Slots` is a counting semaphore built on a
``threading.Lock`` whose waiters are futures of their own loop (woken with ``call_soon_threadsafe``); pacing is
a time reservation under the same lock; robots.txt is loaded once per host (a one-slot :class:`Slots` as the
cross-loop lock) and cached for ``ROBOTS_TTL_S`` (RFC 9309 allows 24 h; an hour means every nightly run of a
long-lived ``ogi serve`` process reads it again).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Awaitable, Callable

from protego import Protego

from ogi.config import CrawlSettings

#: How long a host's robots.txt (or the fact that it was unreachable) is trusted within one process.
ROBOTS_TTL_S = 3600.0


class Slots:
    """A FIFO counting semaphore usable from any thread and any asyncio event loop at once.

    ``asyncio.Semaphore`` is bound to one loop; Prefect runs each portal task in a thread with its own loop, so
    the per-host limit needs a primitive that is not.  A waiter parks on a future of *its* loop; ``release`` hands
    the slot straight to the oldest waiter through ``loop.call_soon_threadsafe`` (a cancelled waiter passes it on).
    """

    def __init__(self, n: int):
        self.capacity = max(1, int(n))
        self._free = self.capacity
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = deque()

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return
            fut = loop.create_future()
            self._waiters.append((loop, fut))
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.release()  # granted just as we were cancelled: pass the slot on
            else:
                fut.cancel()  # a grant still in flight sees the cancellation and passes the slot on
            raise

    def release(self) -> None:
        with self._lock:
            while self._waiters:
                loop, fut = self._waiters.popleft()
                try:
                    loop.call_soon_threadsafe(self._grant, fut)
                    return
                except RuntimeError:  # that waiter's loop is closed: try the next one
                    continue
            self._free += 1

    def _grant(self, fut: asyncio.Future) -> None:
        if fut.cancelled():
            self.release()
        else:
            fut.set_result(True)

    async def __aenter__(self) -> "Slots":
        await self.acquire()
        return self

    async def __aexit__(self, *exc) -> None:
        self.release()

    @property
    def in_use(self) -> int:
        with self._lock:
            return self.capacity - self._free


@dataclass
class _Host:
    slots: Slots
    next_at: float = 0.0  # monotonic time of the host's next free request slot (pacing, backoff pauses)
    crawl_delay: float = 0.0  # robots.txt Crawl-delay


@dataclass(frozen=True)
class RobotsEntry:
    parser: Protego | None  # None: no robots.txt, everything allowed
    error: tuple[str, str] | None  # (failure kind, reason) when robots.txt was unreachable (everything disallowed)
    loaded_at: float


class HostPolicy:
    """Per-host slots, pacing, backoff pauses and robots.txt; thread- and event-loop-safe (module docstring)."""

    def __init__(self, settings: CrawlSettings):
        self.settings = settings
        self.global_sem = Slots(max(1, settings.global_concurrency))
        self._lock = threading.Lock()
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[str, RobotsEntry] = {}
        self._robots_locks: dict[str, Slots] = {}

    # ------------------------------------------------------------------ construction

    @classmethod
    def create(cls, settings: CrawlSettings) -> "HostPolicy":
        """A private policy (tests, one-off checks); crawls use :meth:`shared`."""
        return cls(settings)

    @classmethod
    def shared(cls, settings: CrawlSettings) -> "HostPolicy":
        """The process-wide policy for this politeness profile: every crawl of the run shares it."""
        key = profile(settings)
        with _SHARED_LOCK:
            policy = _SHARED.get(key)
            if policy is None:
                policy = _SHARED[key] = cls(settings)
            return policy

    # ------------------------------------------------------------------ slots and pacing

    def _host(self, host: str) -> _Host:
        h = self._hosts.get(host)
        if h is None:
            n = self.settings.per_host_concurrency if self.settings.polite else self.settings.global_concurrency
            h = self._hosts[host] = _Host(Slots(max(1, n)))
        return h

    def sem(self, host: str) -> Slots:
        with self._lock:
            return self._host(host).slots

    def set_crawl_delay(self, host: str, delay: float | None) -> None:
        if delay and self.settings.polite:
            with self._lock:
                self._host(host).crawl_delay = min(float(delay), 30.0)

    async def pace(self, host: str) -> None:
        """Wait for this host's next free slot: ``min_delay_s`` (or Crawl-delay) between two requests, and any
        backoff pause the host asked for (``Retry-After``, 429/503)."""
        if not self.settings.polite:
            return
        with self._lock:
            h = self._host(host)
            delay = max(self.settings.min_delay_s, h.crawl_delay)
            now = time.monotonic()
            at = max(now, h.next_at)
            h.next_at = at + delay
        if at > now:
            await asyncio.sleep(at - now)

    def back_off(self, host: str, seconds: float) -> None:
        """The host said "slow down" (429, 503, Retry-After, an anti-crawl page): no request to it, from any
        portal or task, before ``seconds`` from now."""
        if not self.settings.polite or seconds <= 0:
            return
        with self._lock:
            h = self._host(host)
            h.next_at = max(h.next_at, time.monotonic() + seconds)

    # ------------------------------------------------------------------ robots.txt

    def _fresh_robots(self, hk: str) -> RobotsEntry | None:
        with self._lock:
            e = self._robots.get(hk)
        if e is not None and time.monotonic() - e.loaded_at < ROBOTS_TTL_S:
            return e
        return None

    async def robots(self, hk: str,
                     load: Callable[[], Awaitable[tuple[Protego | None, tuple[str, str] | None]]]) -> RobotsEntry:
        """The host's robots.txt, loaded once per ``ROBOTS_TTL_S`` by whichever crawl asks first."""
        e = self._fresh_robots(hk)
        if e is not None:
            return e
        with self._lock:
            lock = self._robots_locks.setdefault(hk, Slots(1))
        async with lock:
            e = self._fresh_robots(hk)
            if e is None:
                parser, error = await load()
                e = RobotsEntry(parser, error, time.monotonic())
                with self._lock:
                    self._robots[hk] = e
            return e

    def robots_error(self, hk: str) -> tuple[str, str] | None:
        with self._lock:
            e = self._robots.get(hk)
        return e.error if e else None


def profile(settings: CrawlSettings) -> tuple:
    """The settings that shape politeness: crawls with the same profile share one :class:`HostPolicy`."""
    return (bool(settings.polite), int(settings.per_host_concurrency), int(settings.global_concurrency),
            float(settings.min_delay_s))


_SHARED: dict[tuple, HostPolicy] = {}
_SHARED_LOCK = threading.Lock()


def reset_shared() -> None:
    """Forget every shared policy (tests: a new sample portal may reuse a port a dead test server had)."""
    with _SHARED_LOCK:
        _SHARED.clear()
