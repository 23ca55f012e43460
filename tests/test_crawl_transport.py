"""The crawler's HTTP/1.1 transport (h11 on asyncio streams) against a scripted loopback server.

Each test's server answers every request with the next scripted raw response, so keep-alive, framing errors and
what the fetcher gets to classify are checked byte for byte, not against another HTTP library's behaviour.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip

import httpx
import pytest

from crawler.archive import Archive
from crawler.fetch import Fetcher, classify_exception
from crawler.hosts import HostPolicy
from crawler.transport import MAX_HEAD_BYTES, KeepAliveTransport, lean_transport
from crawler.types import PortalCrawl
from ogi.config import CrawlSettings
from ogi.registry import Portal


class Scripted:
    """A loopback server: the n-th request (over any connection) gets ``responses[n]`` (raw bytes, or a
    callable taking the raw request head); ``close_after`` closes the connection after that response."""

    def __init__(self, responses, close_after=()):
        self.responses, self.close_after = list(responses), set(close_after)
        self.requests: list[bytes] = []
        self.connections = 0

    async def __aenter__(self) -> "Scripted":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                n = len(self.requests)
                self.requests.append(head)
                r = self.responses[n]
                writer.write(r(head) if callable(r) else r)
                await writer.drain()
                if n in self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()


def ok(body: bytes = b"hello", extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


async def _get(client: httpx.AsyncClient, url: str, **kw) -> tuple[int, bytes]:
    resp = await client.send(client.build_request("GET", url, **kw), stream=True)
    try:
        return resp.status_code, b"".join([c async for c in resp.aiter_bytes()])
    finally:
        await resp.aclose()


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=KeepAliveTransport(ssl_context=None), timeout=5)


async def test_sequential_requests_share_one_kept_alive_connection():
    async with Scripted([ok(b"a"), ok(b"b"), b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", ok(b"d")]) as s:
        async with _client() as c:
            got = [await _get(c, s.url + f"/{i}") for i in range(4)]
    assert got == [(200, b"a"), (200, b"b"), (304, b""), (200, b"d")]
    assert s.connections == 1
    assert [r.split(b" ")[1] for r in s.requests] == [b"/0", b"/1", b"/2", b"/3"]


async def test_a_connection_the_server_closed_is_not_reused():
    # Connection: close on the first answer, a plain close after the second: three connections, no error
    async with Scripted([ok(b"a", "Connection: close\r\n"), ok(b"b"), ok(b"c")], close_after={0, 1}) as s:
        async with _client() as c:
            got = [await _get(c, s.url + "/x") for _ in range(3)]
            await asyncio.sleep(0.05)
    assert got == [(200, b"a"), (200, b"b"), (200, b"c")] and s.connections == 3


async def test_chunked_and_gzip_bodies_are_decoded():
    raw = gzip.compress(b"<html>" + "政府信息公开".encode() * 2000 + b"</html>")
    chunks = b"".join(f"{len(raw[i:i + 1000]):x}\r\n".encode() + raw[i:i + 1000] + b"\r\n"
                      for i in range(0, len(raw), 1000)) + b"0\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n" + chunks
    async with Scripted([resp, ok(b"after")]) as s:
        async with _client() as c:
            status, body = await _get(c, s.url + "/gz")
            again = await _get(c, s.url + "/next")
    assert status == 200 and body == gzip.decompress(raw) and again == (200, b"after") and s.connections == 1


@pytest.mark.parametrize("response, kind", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part", "truncated"),  # then the server closes
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "truncated"),
    (b"", "reset"),  # closed without a status line
    (b"HTTP/1.1 200 OK\r\nX-Junk: " + b"a" * (16 * MAX_HEAD_BYTES) + b"\r\n\r\n", "reset"),  # header flood
    (b"NOT HTTP AT ALL\r\n\r\n", "reset"),
])
async def test_broken_responses_raise_what_the_fetcher_classifies(response, kind):
    async with Scripted([response], close_after={0}) as s:
        async with _client() as c:
            with pytest.raises(httpx.HTTPError) as e:
                await _get(c, s.url + "/bad")
    got_kind, reason, transient = classify_exception(e.value)
    assert (got_kind, transient) == (kind, True), reason


async def test_a_silent_server_is_a_read_timeout():
    async with Scripted([lambda head: b""]) as s:  # reads the request, answers nothing, keeps the connection
        async with httpx.AsyncClient(transport=KeepAliveTransport(ssl_context=None), timeout=0.3) as c:
            with pytest.raises(httpx.ReadTimeout) as e:
                await _get(c, s.url + "/slow")
    assert classify_exception(e.value)[0] == "timeout"


async def test_a_refused_connection_is_a_connect_error():
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with _client() as c:
        with pytest.raises(httpx.ConnectError) as e:
            await _get(c, f"http://127.0.0.1:{port}/")
    assert classify_exception(e.value)[0] == "connect"


async def test_post_bodies_are_sent():
    async with Scripted([ok(b"[]")]) as s:
        async with _client() as c:
            resp = await c.post(s.url + "/api", data={"page": "2", "col": "年报"})
    assert resp.status_code == 200 and resp.content == b"[]"
    head = s.requests[0]
    assert head.startswith(b"POST /api ") and b"content-length:" in head.lower()


async def test_the_fetchers_direct_path_keeps_default_headers_timeouts_and_cookies(tmp_path):
    """GETs skip httpx's client machinery (``Fetcher._send``): what it did for us must still happen."""
    responses = [ok(b"User-agent: *\nAllow: /\n"), ok(b"one", "Set-Cookie: sid=abc123; Path=/\r\n"), ok(b"two")]
    async with Scripted(responses) as s:
        settings = CrawlSettings(polite=False, min_delay_s=0, retries=0)
        client = httpx.AsyncClient(headers={"User-Agent": "ogi-test/1", "Accept-Language": "zh-CN"},
                                   transport=KeepAliveTransport(ssl_context=None), timeout=5)
        assert lean_transport(client) is not None
        portal = Portal("p", "p", (s.url + "/",), ("127.0.0.1",))
        crawl = PortalCrawl("p", ok=True, listing_complete=True)
        with Archive(tmp_path / "a") as archive:
            f = Fetcher(portal, archive, settings, client, HostPolicy.create(settings), crawl)
            r1 = await f.fetch(s.url + "/a.html", kind="report_page")
            r2 = await f.fetch(s.url + "/b.html", kind="report_page")
        await client.aclose()
    assert (r1.body, r2.body) == (b"one", b"two")
    page_a, page_b = s.requests[1].lower(), s.requests[2].lower()
    assert b"user-agent: ogi-test/1" in page_a and b"accept-language: zh-cn" in page_a and b"host: 127.0.0.1" in page_a
    assert b"cookie:" not in page_a and b"cookie: sid=abc123" in page_b  # the jar got the cookie and sent it
    assert crawl.fetches[-1].status == 200 and crawl.fetches[-1].fetched_at <= dt.datetime.now(dt.timezone.utc)


@pytest.mark.parametrize("path", ["/zwgk/nb/index_2.html", "/art/2023/3/24/art_1229114055_1008.html?a=1&b=%E5%B9%B4",
                                  "/", "/module/web/jpage/dataproxy.jsp?startrecord=1&perpage=15&col=1"])
async def test_the_direct_get_puts_on_the_wire_what_httpx_would(path):
    async with Scripted([ok(b"1"), ok(b"2")]) as s:
        t = KeepAliveTransport(ssl_context=None)
        client = httpx.AsyncClient(headers={"User-Agent": "ogi-test/1"}, transport=t, timeout=5)
        extra = {"If-None-Match": '"abc"', "If-Modified-Since": "Mon, 07 Dec 2026 01:00:00 GMT"}
        resp = await t.get(s.url + path, list(client.headers.raw) + [(k.encode(), v.encode()) for k, v in extra.items()],
                           client.timeout.as_dict())
        assert resp is not None and resp.status_code == 200
        await resp.aread()
        req = client.build_request("GET", s.url + path, headers=extra)
        resp2 = await t.handle_async_request(req)
        await resp2.aread()
        await client.aclose()
    assert s.requests[0] == s.requests[1]


@pytest.mark.parametrize("url", ["http://127.0.0.1:80/a", "http://Example.com/a", "http://h/a/../b",
                                 "http://h/年报.html", "http://h/a b", "http://user@h/a", "ftp://h/a"])
async def test_urls_httpx_would_rewrite_are_left_to_httpx(url):
    t = KeepAliveTransport(ssl_context=None)
    assert await t.get(url, [], {}) is None
