"""One event loop for every portal crawl of a process, whatever Prefect task thread asks for it.

Why: the flows crawl each portal in its own Prefect task, and the thread-pool task runner runs each async task
in a worker thread with an event loop of its own.  Four portals crawled at once were then four busy event loops
fighting for the GIL; a socket read that released the GIL waited for another loop's time slice before it could
go on (the convoy effect), so four concurrent crawls were *slower* than one after the other — measured on a
no-change night of 1,000 known pages (`bench.e2e`): 2.9 s with four task threads against 1.6 s one portal at a
time.  Here every crawl coroutine runs on one loop in one thread; the task threads only wait for their result
(GIL released).  A real portal's latency is overlapped on that loop just the same, the per-host politeness
primitives (``crawler.hosts``) see one loop, and a task's timeout still cancels its crawl: cancelling the
awaiting future cancels the coroutine on the shared loop.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Coroutine

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
#: HTTP clients shared by the crawls of a run on this loop (only touched on the loop's thread)
_clients: dict[tuple, Any] = {}


def _shared_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="ogi-crawl-loop", daemon=True).start()
            _loop = loop
        return _loop


async def run_on_crawl_loop(coro: Coroutine[Any, Any, Any]) -> Any:
    """Await ``coro`` on the process's crawl loop (from any other loop); cancellation reaches the crawl."""
    loop = _shared_loop()
    try:
        if asyncio.get_running_loop() is loop:
            return await coro
    except RuntimeError:
        pass
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))


def on_crawl_loop() -> bool:
    """True when called from a coroutine running on the crawl loop."""
    try:
        return asyncio.get_running_loop() is _loop
    except RuntimeError:
        return False


def shared_client(key: tuple, make: Callable[[], Any]) -> Any:
    """The HTTP client for ``key`` that every crawl on the crawl loop shares until :func:`close_clients`.

    Why: each portal's crawl had a client (and a connection pool) of its own, so registry entries on one host — a
    county portal and its departments' sub-sites — each opened their own connections to it: 74 TCP connects for
    the 1,052 requests of the five sample portals on one host, ~1 ms of CPU each (a TLS handshake costs more).
    One pool per crawl profile reuses a host's connections across portals, as the per-host politeness budget
    (``crawler.hosts``) is already shared.  Call it on the crawl loop only."""
    client = _clients.get(key)
    if client is None or client.is_closed:
        client = _clients[key] = make()
    return client


def close_clients(timeout: float = 30.0) -> None:
    """Close the shared clients and their keep-alive connections (the end of a run; from any other thread)."""
    with _lock:
        loop = _loop
    if loop is None or loop.is_closed() or not _clients:
        return

    async def close() -> None:
        clients = list(_clients.values())
        _clients.clear()
        for c in clients:
            await c.aclose()

    asyncio.run_coroutine_threadsafe(close(), loop).result(timeout)
