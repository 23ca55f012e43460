"""A lean HTTP/1.1 keep-alive transport for the crawler's httpx client: h11 over asyncio streams.

Why not httpx's default transport (httpcore on anyio): a nightly run re-requests every known report page (one
conditional GET per page, almost all answered 304), so the per-exchange cost of the client is most of a
no-change night.  httpcore's pool re-scans every connection several times per request and polls every idle
socket, and each exchange passes through anyio locks, cancel scopes and back-end detection (several extra trips
through the event loop).  Measured on the sample portal, 1,000 conditional GETs over 8 connections: httpx's
default stack ~0.5 ms of client CPU per 304, httpcore connections behind an O(1) free list 0.35 ms, h11 driven
directly on asyncio streams 0.11 ms.  So this transport keeps h11 (the HTTP/1.1 state machine httpcore itself
uses: framing, chunked bodies, Content-Length checks, header size limits) and drops the layers between it and
the socket.  The crawler already limits concurrency itself (per-host and global :class:`~crawler.hosts.Slots`),
so the transport needs no queueing: a free list of idle connections per origin, checked out and returned in O(1).

Errors are raised as the httpx exception types the fetcher classifies (``crawler.fetch.classify_exception``).
Used only when no proxy is configured in the environment (``HTTP(S)_PROXY`` / ``ALL_PROXY``): httpx's own
transport handles proxies, this one does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import select
import ssl
import time
from collections import deque
from typing import AsyncIterator, Callable, Iterator

import h11
import httpx

#: idle connections kept per origin (more than the crawler ever has in flight to one host)
MAX_IDLE_PER_ORIGIN = 32
#: bytes asked of the socket per read
READ_SIZE = 64 * 1024
#: the largest response head (status line + headers) accepted: a hostile header flood is an error, not memory
MAX_HEAD_BYTES = 64 * 1024

#: URLs :meth:`KeepAliveTransport.get` sends as they are: scheme, lower-case host, optional port, then a path and
#: query made only of characters httpx would not percent-encode (unreserved, sub-delims, ``:@/?%``)
_PLAIN_URL = re.compile(r"(https?)://([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::([0-9]{1,5}))?"
                        r"(/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*)?)?")

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


def env_has_proxy() -> bool:
    return any(os.environ.get(k) for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                                           "all_proxy"))


def lean_transport(client: httpx.AsyncClient) -> "KeepAliveTransport | None":
    """The client's :class:`KeepAliveTransport`, or None (a proxied client uses httpx's own transport)."""
    t = getattr(client, "_transport", None)  # httpx keeps the transport given to the client here
    return t if isinstance(t, KeepAliveTransport) else None


def _timeouts(request: httpx.Request) -> tuple[float | None, float | None, float | None]:
    t = request.extensions.get("timeout") or {}
    return t.get("connect"), t.get("read"), t.get("write")


class _Connection:
    """One TCP (or TLS) connection and its h11 state; used by one exchange at a time."""

    __slots__ = ("reader", "writer", "h11", "idle_since")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.idle_since = 0.0

    def usable(self, now: float, expiry: float) -> bool:
        """Idle, not expired, and not closed (or talked to) by the server while it sat in the free list.

        The socket is polled too, as httpcore does: a server that closes right after its answer has its FIN in
        the kernel before the event loop has told the stream, and a request written there would fail."""
        if not (self.h11.our_state is h11.IDLE and self.h11.their_state is h11.IDLE and now - self.idle_since < expiry
                and not self.reader.at_eof() and not self.writer.is_closing()
                and not self.reader._buffer):  # noqa: SLF001 - unsolicited bytes on an idle connection: drop it
            return False
        sock = self.writer.get_extra_info("socket")
        try:
            readable, _, _ = select.select([sock], [], [], 0) if sock is not None else ((), (), ())
        except (OSError, ValueError):
            return False
        return not readable

    async def receive(self, timeout: float | None) -> h11.Event:
        """The next h11 event, reading from the socket as needed (``timeout`` per read)."""
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as e:
                raise httpx.RemoteProtocolError(str(e)) from e
            if event is not h11.NEED_DATA:
                return event
            try:
                async with asyncio.timeout(timeout):
                    data = await self.reader.read(READ_SIZE)
            except TimeoutError:
                raise httpx.ReadTimeout(f"no data for {timeout} s") from None
            except (OSError, ssl.SSLError) as e:
                raise httpx.ReadError(f"{type(e).__name__}: {e}") from e
            if not data and self.h11.their_state is h11.SEND_RESPONSE:
                # EOF before a status line: what httpcore says for a server that dropped the connection
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            try:
                self.h11.receive_data(data)
            except h11.RemoteProtocolError as e:
                raise httpx.RemoteProtocolError(str(e)) from e

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class _Empty(httpx.AsyncByteStream):
    """The body of a response that has none (304, 204, HEAD, ``Content-Length: 0``), already complete: its
    connection went back to the free list with the head.  The fetcher reads nothing from it (``EMPTY_BODY``)."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        return
        yield b""  # pragma: no cover - makes this an async generator

    async def aclose(self) -> None:
        return None


#: The one body stream of every complete empty response (see :class:`_Empty`).
EMPTY_BODY = _Empty()


class _Body(httpx.AsyncByteStream):
    """The response body; at its end the connection goes back to the free list (or is closed)."""

    def __init__(self, transport: "KeepAliveTransport", key: tuple, conn: _Connection, read_timeout: float | None,
                 first: h11.Event | None = None):
        self._t, self._key, self._conn, self._timeout = transport, key, conn, read_timeout
        self._done = False
        self._first = first  # the body's first event, when it was already in the buffer with the head

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        try:
            while not self._done:
                if self._first is not None:
                    event, self._first = self._first, None
                else:
                    event = await conn.receive(self._timeout)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    self._done = True
                elif isinstance(event, h11.ConnectionClosed):
                    raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
        except BaseException:
            self._done = True
            self._release(reusable=False)
            raise

    async def aclose(self) -> None:
        if self._conn is None:
            return
        if not self._done:  # closed before the end (size cap, an error upstream): the connection is unusable
            self._done = True
            self._release(reusable=False)
        else:
            self._release(reusable=True)

    def _release(self, *, reusable: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._t._checkin(self._key, conn, reusable)


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive; one request per connection at a time; no limits (the crawler has its own)."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None, keepalive_expiry: float = 5.0):
        self._ssl = ssl_context
        self._expiry = keepalive_expiry
        self._idle: dict[tuple, deque[_Connection]] = {}
        self._closed = False

    def _checkout(self, key: tuple) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # most recently used first: the likeliest still open
            if conn.usable(now, self._expiry):
                return conn
            conn.close()
        return None

    def _checkin(self, key: tuple, conn: _Connection, reusable: bool) -> None:
        if reusable and not self._closed and conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
            try:
                conn.h11.start_next_cycle()
            except h11.LocalProtocolError:
                conn.close()
                return
            idle = self._idle.setdefault(key, deque())
            if len(idle) < MAX_IDLE_PER_ORIGIN:
                conn.idle_since = time.monotonic()
                idle.append(conn)
                return
        conn.close()

    async def _connect(self, scheme: str, host: str, port: int, timeout: float | None) -> _Connection:
        try:
            address = RESOLVER(host) if RESOLVER is not None else host
        except OSError as e:
            raise httpx.ConnectError(f"name resolution failed for {host}: {e}") from e
        tls = self._ssl if scheme == "https" else None
        if scheme == "https" and tls is None:
            tls = ssl.create_default_context()
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    address, port, ssl=tls, server_hostname=host if tls is not None else None, limit=READ_SIZE * 4)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} within {timeout} s") from None
        except ssl.SSLError as e:
            raise httpx.ConnectError(f"{type(e).__name__}: {e}") from e
        except OSError as e:  # refused, unreachable, a name that does not resolve (gaierror)
            raise httpx.ConnectError(f"{type(e).__name__}: {e}") from e
        return _Connection(reader, writer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {request.url.scheme!r}")
        connect_t, read_t, write_t = _timeouts(request)
        body = b"".join([part async for part in request.stream]) if request.method not in ("GET", "HEAD") else b""
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        return await self._send((url.scheme, url.host, port), request.method, url.raw_path, request.headers.raw,
                                body, connect_t, read_t, write_t)

    async def get(self, url: str, headers: list[tuple[bytes, bytes]], timeout: dict) -> httpx.Response | None:
        """A GET of an already-normalised ASCII URL without building an ``httpx.Request`` (None: not such a URL,
        use :meth:`handle_async_request`).  ``headers`` are sent as given, after ``Host``.

        httpx's URL parsing and request/header objects were half of what this transport costs per request; for the
        URLs it accepts (:data:`_PLAIN_URL`: lower-case host, no default port, no dot segments, nothing to
        percent-encode) the bytes on the wire are the ones httpx would send."""
        m = _PLAIN_URL.fullmatch(url)
        if m is None:
            return None
        scheme, host, port_s, target = m.group(1), m.group(2), m.group(3), m.group(4) or "/"
        port = int(port_s) if port_s else (443 if scheme == "https" else 80)
        if port_s and port == (443 if scheme == "https" else 80) or "/." in target:
            return None  # httpx would drop the default port / resolve the dot segment
        netloc = f"{host}:{port_s}" if port_s else host
        return await self._send((scheme, host, port), "GET", target.encode("ascii"),
                                [(b"Host", netloc.encode("ascii")), *headers], b"",
                                timeout.get("connect"), timeout.get("read"), timeout.get("write"))

    async def _send(self, key: tuple[str, str, int], method: str, target: bytes, headers: list, body: bytes,
                    connect_t: float | None, read_t: float | None, write_t: float | None) -> httpx.Response:
        conn = self._checkout(key)
        if conn is None:
            conn = await self._connect(*key, connect_t)
        try:
            return await self._exchange(conn, key, method, target, headers, body, read_t, write_t)
        except BaseException:
            # no silent retry here (httpcore has none either): a reset is the fetcher's to record and retry
            conn.close()
            raise

    async def _exchange(self, conn: _Connection, key: tuple, method: str, target: bytes, headers: list,
                        body: bytes, read_t: float | None, write_t: float | None) -> httpx.Response:
        h = conn.h11
        try:
            out = h.send(h11.Request(method=method, target=target, headers=headers))
            if body:
                out += h.send(h11.Data(data=body))
            out += h.send(h11.EndOfMessage())
        except h11.LocalProtocolError as e:
            raise httpx.LocalProtocolError(str(e)) from e
        try:
            conn.writer.write(out)
            if conn.writer.transport.get_write_buffer_size():
                async with asyncio.timeout(write_t):
                    await conn.writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout(f"request not sent within {write_t} s") from None
        except (OSError, ssl.SSLError) as e:
            raise httpx.WriteError(f"{type(e).__name__}: {e}") from e
        while True:
            event = await conn.receive(read_t)
            if isinstance(event, h11.InformationalResponse):
                continue  # 100 Continue and friends: the real answer follows
            if isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            break
        assert isinstance(event, h11.Response)
        # h11 knows a HEAD, 204 or 304 has no body; whatever of the body came with the head is in its buffer
        try:
            first = conn.h11.next_event()
        except h11.RemoteProtocolError as e:
            raise httpx.RemoteProtocolError(str(e)) from e
        if isinstance(first, h11.EndOfMessage):  # complete already (most of a no-change night: 304s)
            self._checkin(key, conn, True)
            stream: httpx.AsyncByteStream = EMPTY_BODY
        else:
            stream = _Body(self, key, conn, read_t, None if first is h11.NEED_DATA else first)
        return httpx.Response(status_code=event.status_code, headers=list(event.headers), stream=stream,
                              extensions={"http_version": b"HTTP/1.1", "reason_phrase": bytes(event.reason)})

    async def aclose(self) -> None:
        self._closed = True
        conns = [c for q in self._idle.values() for c in q]
        self._idle.clear()
        for c in conns:
            c.close()
