"""One polite, safe, recorded HTTP fetch — everything the crawler sends goes through :class:`Fetcher`.

Per request: allowed-host check → robots.txt (protego, cached per host) → per-host concurrency slot and
minimum delay (a :class:`~crawler.hosts.HostPolicy` shared by every portal and task of the process) → global
concurrency cap → conditional headers from the archive → manual redirects (each
hop checked against the allowed hosts and robots) → streamed body with a size cap → archive the body
*before* returning it → a :class:`~crawler.types.FetchRecord` in the fetch log.  Transient failures
(timeouts, resets, truncated bodies, 429/5xx, anti-crawl pages) are retried with exponential backoff and
jitter, honouring ``Retry-After`` (a 429/503/Retry-After/anti-crawl answer pauses the whole host); every failed attempt is logged and a final failure becomes a
:class:`~crawler.types.FetchFailure` with its kind, reason and attempt count.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import random
import re
import sqlite3
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from protego import Protego

from crawler.archive import Archive, UrlState, utcnow
from crawler.hosts import HostPolicy
from crawler.links import decode_html
from crawler.transport import EMPTY_BODY, lean_transport
from crawler.types import FetchFailure, FetchRecord, PortalCrawl
from ogi.config import CrawlSettings
from ogi.registry import Portal

_ANTI_CRAWL = re.compile(r"验证码|访问过于频繁|安全验证|访问受限|请开启JavaScript|滑动验证|WAF|拦截", re.I)
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524}
#: Answers that mean "this host is overloaded": the backoff pauses the whole host, not only the one request.
SLOW_DOWN_STATUS = {429, 503}
#: Largest list / start page parsed for links (real ones are 10–200 KB): bounds the lxml tree of a hostile page.
MAX_LIST_PAGE_BYTES = 5 * 1024 * 1024
_LIST_KINDS = frozenset({"list", "list_api", "start"})


class FetchError(Exception):
    def __init__(self, kind: str, reason: str, *, status: int | None = None, transient: bool = True,
                 retry_after: float | None = None, body: bytes | None = None, headers: dict | None = None):
        super().__init__(f"{kind}: {reason}")
        self.kind, self.reason, self.status, self.transient = kind, reason, status, transient
        self.retry_after, self.body, self.headers = retry_after, body, headers or {}


@dataclass
class FetchResult:
    url: str  # the URL asked for (the archive key)
    final_url: str  # after redirects
    status: int
    body: bytes | None  # None on 304
    headers: dict[str, str]
    sha256: str | None
    not_modified: bool
    prior: UrlState | None
    content_type: str | None
    #: For list pages: did the body differ from the previous run's (set by the listers; True when unknown)?
    #: Entries found on a changed list page are revalidated (crawler/revalidation.py).
    list_changed: bool = True

    def text(self) -> str:
        return decode_html(self.body or b"", self.content_type)[0]


def body_changed(res: FetchResult, before: UrlState | None) -> bool:
    """True unless the response confirmed the archived body (a 304, or a 200 with the same sha256)."""
    if res.not_modified:
        return False
    return not (before is not None and before.sha256 and before.sha256 == res.sha256)


@functools.lru_cache(maxsize=8192)
def _netloc(url: str) -> str:
    """The politeness key of a request (lower-case ``host[:port]``), asked of every hop (memoised)."""
    return urlsplit(url).netloc.lower()


@functools.lru_cache(maxsize=8192)
def hostkey(url: str) -> str:
    """``scheme://host[:port]``: the robots.txt key, asked of every request (memoised: URLs repeat per night)."""
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc.lower()}"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def classify_exception(e: Exception) -> tuple[str, str, bool]:
    """(kind, reason, transient) for an httpx / network exception."""
    msg = str(e) or e.__class__.__name__
    cause = e.__cause__ or e.__context__
    if isinstance(e, httpx.TimeoutException):
        return "timeout", f"{e.__class__.__name__}: {msg}", True
    if isinstance(cause, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in msg or "SSL" in msg[:40]:
        return "tls", f"TLS error: {msg} (set verify_tls: false for this portal to opt out)", False
    if isinstance(e, httpx.RemoteProtocolError):
        if "incomplete" in msg.lower() or "without sending complete message body" in msg or "expected" in msg.lower():
            return "truncated", f"body shorter than Content-Length: {msg}", True
        return "reset", f"connection closed: {msg}", True
    if isinstance(e, httpx.ConnectError):
        return "connect", msg, True
    if isinstance(e, (httpx.ReadError, httpx.WriteError, ConnectionResetError)):
        return "reset", f"connection reset: {msg}", True
    if isinstance(e, httpx.TransportError):
        return "network", f"{e.__class__.__name__}: {msg}", True
    return "error", f"{e.__class__.__name__}: {msg}", False


class Fetcher:
    """Fetches for one portal, recording into its :class:`PortalCrawl` and the archive."""

    def __init__(self, portal: Portal, archive: Archive, settings: CrawlSettings, client: httpx.AsyncClient,
                 policy: HostPolicy, crawl: PortalCrawl):
        self.portal, self.archive, self.settings, self.client = portal, archive, settings, client
        self.user_agent = client.headers.get("User-Agent", "*")
        self._lean = lean_transport(client)  # GETs go straight to it (see _send)
        self._timeout = client.timeout.as_dict()
        self._default_headers = list(client.headers.raw)  # User-Agent, Accept*, Connection: what httpx would send
        self.policy, self.crawl = policy, crawl
        self.pages = 0  # requests counted against max_pages_per_portal
        self.page_cap = portal.max_pages or settings.max_pages_per_portal

    # ------------------------------------------------------------------ recording

    def _record(self, url: str, kind: str, status: int | None, *, sha: str | None = None, nbytes: int = 0,
                attempts: int = 1, error: str | None = None, elapsed_ms: float = 0.0, headers=None,
                conditional: bool = False, log_archive: bool = True) -> FetchRecord:
        rec = FetchRecord(self.portal.id, url, utcnow(), kind, status, sha, nbytes, attempts, error, elapsed_ms)
        self.crawl.fetches.append(rec)
        if log_archive:
            self.archive.log(rec, headers=headers, conditional=conditional)
        return rec

    def fail(self, url: str, kind: str, reason: str, attempts: int = 1) -> None:
        self.crawl.failures.append(FetchFailure(self.portal.id, url, kind, reason, attempts))

    # ------------------------------------------------------------------ robots

    async def allowed_by_robots(self, url: str) -> bool:
        hk = hostkey(url)
        # keyed by TLS verification too: a certificate error is the client's verdict, not the host's robots.txt
        entry = await self.policy.robots(self._robots_key(hk), lambda: self._load_robots(hk))
        if entry.parser is None:
            return True
        return entry.parser.can_fetch(url, self.user_agent)

    def _robots_key(self, hk: str) -> str:
        return hk if self.portal.verify_tls else hk + " (verify_tls: false)"

    async def _load_robots(self, hk: str) -> tuple[Protego | None, tuple[str, str] | None]:
        """(parser or None when there is no robots.txt, (kind, reason) when it was unreachable)."""
        url = hk + "/robots.txt"
        try:
            res = await self._get(url, kind="robots", conditional=False, check_robots=False, store=True)
        except FetchError as e:
            if e.status is not None and 400 <= e.status < 500:
                return None, None  # no robots.txt: everything allowed (RFC 9309 §2.3.1.3)
            # Unreachable robots.txt (5xx, network): RFC 9309 says assume complete disallow.
            return (Protego.parse("User-agent: *\nDisallow: /"),
                    (e.kind, f"robots.txt unreachable ({e.reason}): nothing fetched (RFC 9309)"))
        if res is None or res.body is None:
            return None, None
        rp = Protego.parse(res.body.decode("utf-8", "replace"))
        self.policy.set_crawl_delay(urlsplit(hk).netloc.lower(), rp.crawl_delay(self.user_agent))
        return rp, None

    # ------------------------------------------------------------------ the fetch

    async def fetch(self, url: str, *, kind: str, conditional: bool = True, method: str = "GET",
                    data: dict | None = None, link_text: str | None = None, list_date=None,
                    parent_url: str | None = None, known: UrlState | None = None) -> FetchResult | None:
        """Fetch ``url``; None when it failed (the failure is recorded).  Never raises for HTTP trouble.

        ``known``: the URL's archived state as the caller just read it (the crawl reads every known URL's state
        once to plan the night), so that it is not read again here."""
        try:
            return await self._get(url, kind=kind, conditional=conditional, method=method, data=data,
                                   link_text=link_text, list_date=list_date, parent_url=parent_url, known=known)
        except FetchError:
            return None  # already recorded (fetch log + PortalCrawl.failures)

    async def _get(self, url: str, *, kind: str, conditional: bool, method: str = "GET", data: dict | None = None,
                   check_robots: bool = True, store: bool = True, link_text=None, list_date=None,
                   parent_url=None, known: UrlState | None = None) -> FetchResult | None:
        s = self.settings
        if not self.portal.allows(url):
            self._record(url, kind, None, error=f"offsite: {urlsplit(url).hostname} not in allowed_hosts")
            self.fail(url, "offsite", f"host {urlsplit(url).hostname} is not in the portal's allowed_hosts")
            raise FetchError("offsite", "not allowed", transient=False)
        if check_robots and not await self.allowed_by_robots(url):
            fkind, reason = (self.policy.robots_error(self._robots_key(hostkey(url)))
                             or ("robots", "disallowed by robots.txt"))
            self._record(url, kind, None, error=f"{fkind}: {reason}")
            self.fail(url, fkind, reason)
            raise FetchError("robots", "disallowed", transient=False)
        if kind != "robots":
            if self.pages >= self.page_cap:
                self.fail(url, "page_cap", f"max pages per portal ({self.page_cap}) reached")
                self.crawl.listing_complete = self.crawl.listing_complete and kind not in ("list", "list_api")
                raise FetchError("page_cap", "cap reached", transient=False)
            self.pages += 1
        prior = None
        if method == "GET":
            prior = known if known is not None and known.url == url else self.archive.latest(url)
        headers: dict[str, str] = {}
        use_validators = conditional and getattr(s, "conditional", True)
        if use_validators and prior is not None and prior.sha256 and self.archive.has(prior.sha256):
            if prior.etag:
                headers["If-None-Match"] = prior.etag
            if prior.last_modified:
                headers["If-Modified-Since"] = prior.last_modified
        else:
            if prior is not None and prior.sha256 and (bad := self.archive.check(prior.sha256)) not in (None, "missing"):
                # recorded (fetch log + run summary); the unconditional GET below re-archives the body
                self._record(url, kind, None, sha=prior.sha256, error=f"archive_corrupt: {bad}; fetched again")
                self.fail(url, "archive_corrupt", f"archived body {prior.sha256[:12]}… {bad}; fetched again")
            prior = prior if prior and prior.sha256 else None
        is_conditional = bool(headers)
        attempts = 0
        while True:
            attempts += 1
            t0 = time.perf_counter()
            try:
                try:
                    async with asyncio.timeout(getattr(s, "request_timeout_s", None)):
                        status, final_url, resp_headers, body = await self._exchange(url, method, headers, data, kind)
                except TimeoutError:
                    raise httpx.ReadTimeout(
                        f"no complete response within request_timeout_s={s.request_timeout_s}") from None
                elapsed = (time.perf_counter() - t0) * 1000
                if status == 304 and is_conditional:
                    self.crawl.requests += 1
                    rec = self._record(url, kind, 304, sha=prior.sha256, attempts=attempts, elapsed_ms=elapsed,
                                       log_archive=False)
                    self.archive.not_modified(rec, headers=resp_headers, link_text=link_text, list_date=list_date,
                                              parent_url=parent_url, confirmed=kind != "report_page")
                    return FetchResult(url, final_url, 304, None, resp_headers, prior.sha256, True, prior,
                                       prior.content_type)
                self.crawl.requests += 1
                self.crawl.bytes += len(body)
                ctype = resp_headers.get("content-type")
                if status in TRANSIENT_STATUS:
                    raise FetchError("http_429" if status == 429 else "http_5xx", f"HTTP {status}", status=status,
                                     retry_after=_retry_after(resp_headers.get("retry-after")), body=body,
                                     headers=resp_headers)
                if status >= 400 or status == 304:  # a 304 we did not ask for carries no body to use
                    raise FetchError("http_404" if status in (404, 410) else f"http_{status}", f"HTTP {status}",
                                     status=status, transient=False, body=body, headers=resp_headers)
                if kind in ("list", "report_page", "start") and status == 200 and _looks_anti_crawl(body, ctype):
                    raise FetchError("anti_crawl", "an anti-crawl / captcha page was served with status 200",
                                     status=200, body=body, headers=resp_headers)
                sha = None
                if store:
                    # hashing + gzip release the GIL: archive in a worker thread, overlapping the next downloads
                    try:
                        sha = await _maybe_thread(
                            self.archive.put, url, body, portal_id=self.portal.id, kind=kind, status=status,
                            headers=resp_headers, attempts=attempts, elapsed_ms=elapsed, conditional=is_conditional,
                            link_text=link_text, list_date=list_date, parent_url=parent_url,
                            confirmed=kind != "report_page")  # confirmed by the crawl after its attachments
                    except (OSError, sqlite3.Error) as e:  # disk full, read-only archive: not a network problem
                        raise FetchError("archive_write", f"body not archived, so not used: {type(e).__name__}: {e}",
                                         status=status, transient=False) from None
                rec = FetchRecord(self.portal.id, url, utcnow(), kind, status, sha, len(body), attempts, None, elapsed)
                self.crawl.fetches.append(rec)
                return FetchResult(url, final_url, status, body, resp_headers, sha, False, prior, ctype)
            except FetchError as e:
                elapsed = (time.perf_counter() - t0) * 1000
                if e.kind in ("offsite", "robots", "redirects", "too_large", "page_cap", "archive_write"):
                    # already recorded where detected (offsite/robots on a redirect hop) or recorded here
                    if e.kind == "archive_write":  # the archive may refuse the log row too: in memory only
                        self._record(url, kind, e.status, attempts=attempts, error=f"{e.kind}: {e.reason}",
                                     elapsed_ms=elapsed, log_archive=False)
                        self.fail(url, e.kind, e.reason, attempts)
                    if e.kind in ("redirects", "too_large"):
                        self._record(url, kind, e.status, attempts=attempts, error=f"{e.kind}: {e.reason}",
                                     elapsed_ms=elapsed)
                        self.fail(url, e.kind, e.reason, attempts)
                    raise
                if e.body is not None and store:
                    # Keep what the server said (error pages, anti-crawl pages) without touching the URL state.
                    sha = self.archive.put(url, e.body, portal_id=self.portal.id, kind=kind, status=e.status or 0,
                                           headers=e.headers, attempts=attempts, elapsed_ms=elapsed,
                                           conditional=is_conditional, error=f"{e.kind}: {e.reason}",
                                           update_state=False)
                    self.crawl.fetches.append(FetchRecord(self.portal.id, url, utcnow(), kind, e.status, sha,
                                                          len(e.body), attempts, f"{e.kind}: {e.reason}", elapsed))
                else:
                    self._record(url, kind, e.status, attempts=attempts, error=f"{e.kind}: {e.reason}",
                                 elapsed_ms=elapsed)
                if not e.transient or attempts > s.retries:
                    if kind != "robots":
                        self.fail(url, e.kind, e.reason, attempts)
                    raise
                delay = self._backoff(attempts, e.retry_after)
                if e.status in SLOW_DOWN_STATUS or e.retry_after is not None or e.kind == "anti_crawl":
                    # the host asked to slow down: pause every request to it (all portals, all tasks), not just this one
                    self.policy.back_off(urlsplit(url).netloc.lower(), delay)
                await asyncio.sleep(delay)
            except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
                elapsed = (time.perf_counter() - t0) * 1000
                self.crawl.requests += 1
                fkind, reason, transient = classify_exception(exc)
                if fkind == "tls" and not self.portal.verify_tls:
                    fkind, transient = "tls", False
                self._record(url, kind, None, attempts=attempts, error=f"{fkind}: {reason}", elapsed_ms=elapsed)
                if not transient or attempts > s.retries:
                    if kind != "robots":
                        self.fail(url, fkind, reason, attempts)
                    raise FetchError(fkind, reason, transient=False) from None
                await asyncio.sleep(self._backoff(attempts, None))

    async def _send(self, method: str, url: str, headers: dict[str, str], data: dict | None) -> httpx.Response:
        """One HTTP exchange (no redirects: :meth:`_exchange` follows them itself).

        A GET goes straight to the crawler's transport: httpx's client machinery around it (request building,
        auth and redirect hooks, a cookie-jar pass on every response) was ~0.15 ms of the ~0.5 ms of client CPU
        a 304 costs, and a no-change night is ~1,000 of them.  What that machinery does for us is kept: the
        client's default headers and timeouts, and its cookie jar (sent when it holds cookies, updated when a
        response sets one).  POSTs (form bodies) and proxied clients use the client as it is."""
        if self._lean is None or method != "GET":
            return await self.client.send(self.client.build_request(method, url, headers=headers, data=data),
                                          stream=True)
        cookies = self.client.cookies
        resp = req = None
        if not cookies.jar and all(v.isascii() for v in headers.values()):
            # the common case (no cookie to send, plain URL): not even an httpx.Request is built
            extra = [(k.encode(), v.encode()) for k, v in headers.items()]
            resp = await self._lean.get(url, self._default_headers + extra, self._timeout)
        if resp is None:
            req = httpx.Request("GET", url, headers=self.client.headers, extensions={"timeout": self._timeout})
            req.headers.update(headers)
            if cookies.jar:
                cookies.set_cookie_header(req)
            resp = await self._lean.handle_async_request(req)
        if any(k.lower() == b"set-cookie" for k, _ in resp.headers.raw):  # without decoding every header
            resp.request = req or httpx.Request("GET", url)
            cookies.extract_cookies(resp)
        return resp

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        s = self.settings
        base = min(s.backoff_max_s, s.backoff_base_s * (2 ** (attempt - 1)))
        delay = base * (0.5 + random.random() / 2)  # jitter: 50–100 % of the exponential step
        if retry_after is not None:
            delay = max(delay, min(retry_after, s.backoff_max_s))
        return delay

    async def _exchange(self, url: str, method: str, headers: dict[str, str], data: dict | None,
                        kind: str) -> tuple[int, str, dict[str, str], bytes]:
        """One request with manual redirects; every hop is checked (hosts, robots) and paced."""
        s = self.settings
        current = url
        for hop in range(s.max_redirects + 1):
            host = _netloc(current)
            async with self.policy.sem(host):
                await self.policy.pace(host)
                async with self.policy.global_sem:
                    resp = await self._send(method, current, headers, data)
                    try:
                        status = resp.status_code
                        rh = {k.lower(): v for k, v in resp.headers.items()}
                        if status in (301, 302, 303, 307, 308) and "location" in rh:
                            await resp.aclose()
                            nxt = httpx.URL(current).join(rh["location"])
                            nxt_s = str(nxt.copy_with(fragment=None))
                            if not self.portal.allows(nxt_s):
                                reason = f"redirect from {current} to off-portal host {nxt.host}"
                                self._record(url, kind, status, error=f"offsite_redirect: {reason}")
                                self.fail(url, "offsite_redirect", reason)
                                raise FetchError("offsite", reason, status=status, transient=False)
                            if not await self.allowed_by_robots(nxt_s):
                                self._record(url, kind, status, error=f"robots: redirect target {nxt_s} disallowed")
                                self.fail(url, "robots", f"redirect target {nxt_s} disallowed by robots.txt")
                                raise FetchError("robots", "redirect disallowed", transient=False)
                            current = nxt_s
                            if status == 303:
                                method, data = "GET", None
                            continue
                        declared = rh.get("content-length")
                        cap, cap_name = s.max_body_bytes, "max_body_bytes"
                        if kind in _LIST_KINDS and MAX_LIST_PAGE_BYTES < cap:  # a list page is never read past this
                            cap, cap_name = MAX_LIST_PAGE_BYTES, "the list-page cap"
                        if declared and declared.isdigit() and int(declared) > cap:
                            raise FetchError("too_large", f"Content-Length {declared} > {cap_name} {cap}",
                                             status=status, transient=False)
                        chunks: list[bytes] = []
                        size = 0
                        if resp.stream is EMPTY_BODY:  # complete, nothing to read (a 304): skip httpx's decoders
                            return status, current, rh, b""
                        async for chunk in resp.aiter_bytes():
                            size += len(chunk)
                            if size > cap:
                                raise FetchError("too_large", f"body exceeds {cap_name} {cap}",
                                                 status=status, transient=False)
                            chunks.append(chunk)
                        return status, current, rh, b"".join(chunks)
                    finally:
                        await resp.aclose()
        raise FetchError("redirects", f"more than {s.max_redirects} redirects", transient=False)


def _looks_anti_crawl(body: bytes, ctype: str | None) -> bool:
    if len(body) > 30_000 or (ctype and "html" not in ctype.lower()):
        return False
    text = decode_html(body, ctype)[0]
    head = text[:4000]
    return bool(_ANTI_CRAWL.search(head)) and "政府信息公开" not in head[:2000]


_ARCHIVE_IN_THREAD = True


async def _maybe_thread(fn, *args, **kw):
    """Run ``fn`` in a worker thread (hashing and gzip release the GIL, overlapping the next downloads)."""
    if _ARCHIVE_IN_THREAD:
        return await asyncio.to_thread(fn, *args, **kw)
    return fn(*args, **kw)
