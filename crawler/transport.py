"""A lean HTTP/1.1 keep-alive transport for the crawler's httpx client.

Why not httpx's default pool: a nightly run re-requests every known report page (≈ one conditional GET per page,
almost all answered 304), so the per-exchange overhead of the client is most of a no-change night.  httpcore's
``AsyncConnectionPool`` re-scans every connection of the pool several times per request (quadratically: it counts
the pool inside its loop over the pool) and polls every idle socket each time; measured on the sample portal
that was ~0.5 ms of the ~1.7 ms client CPU of one 304.  The crawler already limits concurrency itself (per-host
and global :class:`~crawler.hosts.Slots`), so the transport needs no queueing at all: a free list of idle
connections per origin, checked out and returned in O(1), built on httpcore's public
``AsyncHTTPConnection``.  httpcore errors are mapped onto the httpx exception types the fetcher classifies.

Used only when no proxy is configured in the environment (``HTTP(S)_PROXY`` / ``ALL_PROXY``): httpx's own
transport handles proxies, this one does not.
"""

from __future__ import annotations

import contextlib
import os
import ssl
from collections import deque
from typing import AsyncIterator, Callable, Iterator

import httpcore
import httpx

#: idle connections kept per origin (more than the crawler ever has in flight to one host)
MAX_IDLE_PER_ORIGIN = 32

_EXC_MAP: list[tuple[type[Exception], type[httpx.HTTPError]]] = [  # most specific first
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
]


@contextlib.contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for src, dst in _EXC_MAP:
            if isinstance(exc, src):
                raise dst(str(exc)) from exc
        raise


#: Name resolution hook: ``host -> address`` (raise OSError for a name that does not resolve), or None for the
#: system resolver.  Tests and bench.chaos set it (:func:`use_resolver`) so that a portal whose host name does not
#: resolve can be run without any DNS query leaving the machine.
RESOLVER: Callable[[str], str] | None = None


@contextlib.contextmanager
def use_resolver(resolve: Callable[[str], str] | None) -> Iterator[None]:
    global RESOLVER
    old, RESOLVER = RESOLVER, resolve
    try:
        yield
    finally:
        RESOLVER = old


class _ResolvingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's default backend, with host names mapped through :data:`RESOLVER` first."""

    def __init__(self, resolve: Callable[[str], str]) -> None:
        self._resolve, self._inner = resolve, httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            address = self._resolve(host)
        except OSError as e:
            raise httpcore.ConnectError(f"name resolution failed for {host}: {e}") from e
        return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def env_has_proxy() -> bool:
    return any(os.environ.get(k) for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                                           "all_proxy"))


class _Stream(httpx.AsyncByteStream):
    """The response body; closing it hands the connection back to the free list (or drops it)."""

    def __init__(self, transport: "KeepAliveTransport", key: tuple, conn: httpcore.AsyncHTTPConnection,
                 stream) -> None:
        self._t, self._key, self._conn, self._stream = transport, key, conn, stream
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            with _mapped():
                if hasattr(self._stream, "aclose"):
                    await self._stream.aclose()
        finally:
            await self._t._checkin(self._key, self._conn)


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive; one request per connection at a time; no limits (the crawler has its own)."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None, keepalive_expiry: float = 5.0):
        self._ssl = ssl_context
        self._expiry = keepalive_expiry
        self._idle: dict[tuple, deque[httpcore.AsyncHTTPConnection]] = {}
        self._closed = False

    def _checkout(self, key: tuple) -> tuple[httpcore.AsyncHTTPConnection | None, list]:
        stale: list = []
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()  # most recently used first: the likeliest still open
            if conn.is_idle() and not conn.has_expired():
                return conn, stale
            stale.append(conn)
        return None, stale

    async def _checkin(self, key: tuple, conn: httpcore.AsyncHTTPConnection) -> None:
        idle = self._idle.setdefault(key, deque())
        if not self._closed and conn.is_idle() and len(idle) < MAX_IDLE_PER_ORIGIN:
            idle.append(conn)
        else:
            await conn.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme.encode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        origin = httpcore.Origin(scheme, url.raw_host, port)
        key = (scheme, url.raw_host, port)
        conn, stale = self._checkout(key)
        for s in stale:
            with contextlib.suppress(Exception):
                await s.aclose()
        if conn is None:
            backend = _ResolvingBackend(RESOLVER) if RESOLVER is not None else None
            conn = httpcore.AsyncHTTPConnection(origin, ssl_context=self._ssl if url.scheme == "https" else None,
                                                keepalive_expiry=self._expiry, http1=True, http2=False,
                                                network_backend=backend)
        req = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            with _mapped():
                resp = await conn.handle_async_request(req)
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.aclose()
            raise
        return httpx.Response(status_code=resp.status, headers=resp.headers,
                              stream=_Stream(self, key, conn, resp.stream), extensions=resp.extensions)

    async def aclose(self) -> None:
        self._closed = True
        conns = [c for q in self._idle.values() for c in q]
        self._idle.clear()
        for c in conns:
            with contextlib.suppress(Exception):
                await c.aclose()
