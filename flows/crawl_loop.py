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
from typing import Any, Coroutine

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


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
