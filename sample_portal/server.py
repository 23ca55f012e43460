"""The sample portal server: several imitation county portals on one loopback HTTP/1.1 server.

Real portals differ by host name; here each portal lives under a path prefix
(``http://127.0.0.1:PORT/qinghe/…``) and the same server answers as ``localhost`` for the "off-site"
host that redirect faults point to — so a crawler whose ``allowed_hosts`` is ``[127.0.0.1]`` can be
caught leaving the portal (the request log records the ``Host`` header).

Start it from Python (tests, benchmarks)::

    from sample_portal.server import start
    h = start(port=0)                 # random free port, background thread
    h.base_url, h.requests, h.inject("503", path=..., times=2), h.publish_new_report(), h.revise_report()
    h.stop()

or in the foreground with ``ogi sample-portal --port 8765`` (the port ``portals/sample.yaml`` uses).
Faults can also be toggled over HTTP: ``/__admin/fault?kind=503&path=/qinghe/…&times=2``,
``/__admin/clear``, ``/__admin/publish?portal=qinghe``, ``/__admin/revise?portal=qinghe``, ``/__admin/log``.
"""

from __future__ import annotations

import email.utils
import json
import re
import socket
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sample_portal import site

DEFAULT_PORT = 8765
FAULT_KINDS = ("503", "slow", "reset", "truncate", "404", "anti_crawl", "offsite", "huge", "trap",
               "hang", "trickle", "bigpage", "huge_stream")
#: how long a "hang" request is held open without an answer (longer than any crawler deadline)
HANG_S = 600.0

ROBOTS_TXT = """# sample portal robots.txt
User-agent: *
Disallow: /qinghe/zwgk/zfxxgk/zfxxgknb/nbcg/
Disallow: /__admin/
"""


@dataclass
class LoggedRequest:
    """One request as the server saw it (the tests' ground truth about crawler behaviour)."""

    method: str
    path: str  # path + query
    host: str  # the Host header (host part)
    status: int | None  # None when the connection was reset before a response
    bytes: int  # body bytes sent
    conditional: bool  # carried If-None-Match or If-Modified-Since
    portal: str | None
    fault: str | None
    user_agent: str
    t: float  # when the response was sent (epoch seconds)
    started: float = 0.0  # when the request line arrived (politeness tests: spacing of requests)
    peer: tuple | None = None  # the client's (address, port): one per TCP connection (connection-reuse tests)


@dataclass
class Fault:
    """An injected fault; matches one exact path (or a prefix when ``path`` ends with ``*``) or a whole portal."""

    kind: str
    path: str | None = None
    portal: str | None = None
    times: int | None = None  # None: until cleared
    delay_s: float = 1.0  # for "slow"
    retry_after: int = 1  # for "503"
    hits: int = 0

    def matches(self, path: str, portal_key: str | None) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.path is not None:
            return path.startswith(self.path[:-1]) if self.path.endswith("*") else path == self.path
        return self.portal is not None and self.portal == portal_key


@dataclass
class ExpectedReport:
    portal_id: str
    url: str
    title: str
    attachment_url: str | None
    template: str
    image_only: bool = False
    malformed: bool = False
    direct: bool = False  # listed as the attachment itself: ``url == attachment_url``, no detail page

    @property
    def page_url(self) -> str | None:
        """The report's HTML detail page (None for a directly listed attachment)."""
        return None if self.direct else self.url


@dataclass
class _State:
    portals: list[site.SitePortal]
    faults: list[Fault] = field(default_factory=list)
    log: list[LoggedRequest] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    cache: OrderedDict = field(default_factory=OrderedDict)
    cache_max: int = 4096
    published: int = 0
    in_flight: int = 0
    max_in_flight: int = 0  # the most requests the server handled at once (politeness tests)
    host: str = "127.0.0.1"
    port: int = 0
    etags: dict = field(default_factory=dict)  # id(body) -> (body, etag)
    # ---- content changes (publish / revise), replayable from a state file (sample_portal/state.py)
    ops: list = field(default_factory=list)  # the publish / revise operations applied, in order
    published_ids: set = field(default_factory=set)  # (portal key, entry id) of reports published at run time
    no_validators: set = field(default_factory=set)  # portal keys, or (portal key, path): no ETag/Last-Modified
    state_file: Path | None = None
    state_mtime: int | None = None
    build_args: tuple = (None, None)  # (reports_per_portal, families): to rebuild the portals on a reload

    def portal(self, key_or_id: str | None) -> site.SitePortal:
        if key_or_id is None:
            return self.portals[0]
        for p in self.portals:
            if key_or_id in (p.key, p.id):
                return p
        raise KeyError(f"no sample portal {key_or_id!r}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "SamplePortal/1.0"
    state: _State  # set on the subclass made by start()

    def log_message(self, format: str, *args) -> None:  # quiet: the request log is the record
        pass

    # -------------------------------------------------------------------------------- entry points

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    # -------------------------------------------------------------------------------- core

    def _serve(self, method: str) -> None:
        st = self.state
        with st.lock:
            st.in_flight += 1
            st.max_in_flight = max(st.max_in_flight, st.in_flight)
        self._counted = True
        try:
            self._serve_inner(method)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeouts, aborted downloads): not a server error
        finally:
            self._done()

    def _done(self) -> None:
        """The request stops counting as in flight — just *before* its response is written: the client may send
        its next request the moment it has read this one, before this thread gets to run again."""
        if getattr(self, "_counted", False):
            self._counted = False
            with self.state.lock:
                self.state.in_flight -= 1

    def _serve_inner(self, method: str) -> None:
        st = self.state
        started = time.time()
        _reload_if_changed(st)
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        form: dict[str, str] = {}
        if method == "POST":
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(min(n, 1 << 20)).decode("utf-8", "replace")
            form = {k: v[0] for k, v in parse_qs(raw).items()}
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if path.startswith("/__admin/"):
            self._admin(path, query)
            return
        key = path.split("/", 2)[1] if path.count("/") >= 1 else ""
        portal = next((p for p in st.portals if p.key == key), None)
        conditional = bool(self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since"))
        fault = None
        with st.lock:
            for f in st.faults:
                if f.kind != "trap" and f.matches(path, portal.key if portal else None):
                    f.hits += 1
                    fault = f
                    break

        def log(status: int | None, nbytes: int) -> None:
            with st.lock:
                st.log.append(
                    LoggedRequest(method, self.path, host, status, nbytes, conditional, portal.id if portal else None,
                                  fault.kind if fault else None, self.headers.get("User-Agent", ""), time.time(),
                                  started, tuple(self.client_address))
                )

        if fault is not None:
            if self._apply_fault(fault, method, log):
                return
        status, headers, body = self._route(method, path, query, form, portal)
        if portal is not None and _without_validators(st, portal.key, path):
            headers = {k: v for k, v in headers.items() if k not in ("ETag", "Last-Modified")}
        etag = headers.get("ETag")
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if status == 200 and method in ("GET", "HEAD"):
            not_modified = False
            if inm is not None:
                not_modified = etag is not None and etag in [t.strip() for t in inm.split(",")]
            elif ims and "Last-Modified" in headers:
                try:
                    not_modified = email.utils.parsedate_to_datetime(ims).timestamp() >= int(
                        email.utils.parsedate_to_datetime(headers["Last-Modified"]).timestamp()
                    )
                except (TypeError, ValueError):
                    not_modified = False
            if not_modified:
                status, body = 304, b""
                headers = {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified")}
        log(status, 0 if method == "HEAD" else len(body))
        self._send(status, headers, body if method != "HEAD" else b"", length=len(body))

    def _send(self, status: int, headers: dict[str, str], body: bytes, *, length: int | None = None) -> None:
        self._done()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Length", str(length if length is not None else len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _apply_fault(self, f: Fault, method: str, log) -> bool:
        """Apply an injected fault; True when the request was fully answered by it."""
        st = self.state
        if f.kind == "slow":
            time.sleep(f.delay_s)
            return False
        if f.kind == "503":
            body = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
            log(503, len(body))
            self._send(503, {"Content-Type": "text/html", "Retry-After": str(f.retry_after)}, body)
            return True
        if f.kind == "404":
            body = "<html><head><title>404</title></head><body>您访问的页面不存在</body></html>".encode()
            log(404, len(body))
            self._send(404, {"Content-Type": "text/html; charset=utf-8"}, body)
            return True
        if f.kind == "anti_crawl":
            body = site.anti_crawl_page().encode()
            log(200, len(body))
            self._send(200, {"Content-Type": "text/html; charset=utf-8"}, body)
            return True
        if f.kind == "offsite":
            port = self.server.server_address[1]
            loc = f"http://localhost:{port}/offsite/landing.html"
            log(302, 0)
            self._send(302, {"Location": loc, "Content-Type": "text/html"}, b"")
            return True
        if f.kind == "reset":
            log(None, 0)
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass
            self.close_connection = True
            return True
        if f.kind == "truncate":
            status, headers, body = self._route(method, urlsplit(self.path).path, {}, {}, None)
            body = body or b"x" * 2000
            self.send_response(200)
            self.send_header("Content-Type", headers.get("Content-Type", "text/html"))
            self.send_header("Content-Length", str(len(body) + 5000))
            self.end_headers()
            half = body[: len(body) // 2]
            log(200, len(half))
            self.wfile.write(half)
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return True
        if f.kind == "hang":  # accept the connection and never answer (until the client gives up)
            log(None, 0)
            self._hold(HANG_S, lambda: None)
            self.close_connection = True
            return True
        if f.kind == "trickle":  # a valid answer, one byte per ``delay_s``: defeats any per-read timeout
            body = b"<html><body>" + b"x" * 100_000 + b"</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            log(200, 0)
            sent = iter(body)
            self._hold(HANG_S, lambda: self.wfile.write(bytes([next(sent)])) and self.wfile.flush(), f.delay_s)
            self.close_connection = True
            return True
        if f.kind in ("bigpage", "huge_stream"):
            # bigpage: a 50 MB HTML page (50 MiB is the default size cap: just under it, with Content-Length);
            # huge_stream: 200 MB with no Content-Length, so only the streaming cap can stop it
            size = 50 * 1000 * 1000 if f.kind == "bigpage" else 200 * 1024 * 1024
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            if f.kind == "bigpage":
                self.send_header("Content-Length", str(size))
            self.end_headers()
            line = "<p>清河县 padding line of a page far too large</p>\n".encode()
            chunk = line * (65536 // len(line))
            sent = 0
            try:
                self.wfile.write(b"<html><body>")
                sent = 12
                while sent < size:
                    part = chunk[: size - sent - 14] if size - sent - 14 < len(chunk) else chunk
                    if not part:
                        break
                    self.wfile.write(part)
                    sent += len(part)
                self.wfile.write(b"</body></html>")
                sent += 14
            except OSError:
                pass
            log(200, sent)
            self.close_connection = True
            return True
        if f.kind == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(200 * 1024 * 1024))
            self.end_headers()
            sent = 0
            chunk = b"%PDF" + b"\0" * 65532
            try:
                while sent < 8 * 1024 * 1024:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            log(200, sent)
            self.close_connection = True
            return True
        return False

    def _hold(self, seconds: float, tick, every: float = 0.05) -> None:
        """Keep the request open for ``seconds`` calling ``tick`` every ``every`` s; stop when the client has
        gone (a write fails, or the socket reads EOF) or the server stops."""
        end = time.monotonic() + seconds
        self.connection.settimeout(every)
        while time.monotonic() < end and not getattr(self.server, "_BaseServer__shutdown_request", False):
            try:
                if self.connection.recv(1, socket.MSG_PEEK) == b"":
                    return  # the client closed the connection
            except (socket.timeout, BlockingIOError):
                pass
            except OSError:
                return
            try:
                tick()
            except (OSError, StopIteration):
                return

    # -------------------------------------------------------------------------------- routing

    def _html(self, p: site.SitePortal, text: str, last_modified: float) -> tuple[int, dict[str, str], bytes]:
        body = text.encode(p.encoding, errors="xmlcharrefreplace")
        ctype = "text/html" + (f"; charset={p.header_charset}" if p.header_charset else "")
        return 200, self._validators(body, last_modified, ctype), body

    def _validators(self, body: bytes, last_modified: float, ctype: str) -> dict[str, str]:
        return {"Content-Type": ctype, "ETag": self._etag(body), "Last-Modified": site.http_date_str(last_modified)}

    def _etag(self, body: bytes) -> str:
        """ETag of a body; cached per body object (cached pages are served many times)."""
        st = self.state
        key = id(body)
        hit = st.etags.get(key)
        if hit is not None and hit[0] is body:
            return hit[1]
        tag = site.etag_for(body)
        if len(body) > 4096:
            with st.lock:
                if len(st.etags) > 2 * st.cache_max:
                    st.etags.clear()
                st.etags[key] = (body, tag)
        return tag

    def _cached(self, key: tuple, make) -> bytes:
        st = self.state
        with st.lock:
            hit = st.cache.get(key)
            if hit is not None:
                st.cache.move_to_end(key)
                return hit
        body = make()
        with st.lock:
            st.cache[key] = body
            while len(st.cache) > st.cache_max:
                st.cache.popitem(last=False)
        return body

    def _route(self, method, path, query, form, portal) -> tuple[int, dict[str, str], bytes]:
        st = self.state
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, ROBOTS_TXT.encode()
        if path.startswith("/offsite/"):
            return 200, {"Content-Type": "text/html; charset=utf-8"}, b"<html><body>off-site page</body></html>"
        if portal is None:
            portal = next((p for p in st.portals if path.startswith(p.prefix + "/")), None)
        if portal is None:
            return self._not_found()
        p = portal
        rest = path[len(p.prefix):]
        lm = p.modified
        # Detail pages, attachments and images: looked up by path.
        entry, what = self._lookup(p, path)
        if entry is not None:
            if what == "page":
                key = ("page", p.key, entry.id, entry.revision)
                return self._html_bytes(p, self._cached(key, lambda: site.detail_page(p, entry).encode(p.encoding, "xmlcharrefreplace")), entry.modified)
            if what == "attachment":
                body = self._cached(("att", p.key, entry.id, entry.revision), lambda: site.attachment_bytes(entry))
                ctype = "application/pdf" if entry.attachment == "pdf" else (
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
                return 200, self._validators(body, entry.modified, ctype), body
            body = site.image_bytes(entry.id)
            return 200, self._validators(body, entry.modified, "image/png"), body
        if p.family == "trs":
            m = re.fullmatch(r"/zwgk/zfxxgk/zfxxgknb/(?:index(?:_(\d+))?\.html)?", rest)
            if m:
                page = int(m.group(1) or 0)
                if page >= site.page_count(p):
                    return self._not_found()
                return self._html(p, site.trs_list(p, page), lm)
        elif p.family == "hanweb":
            if rest == f"/col/col{site.HANWEB_COL}/index.html":
                return self._html(p, site.hanweb_column(p), lm)
            if rest == "/module/web/jpage/dataproxy.jsp":
                if method != "POST":
                    return 405, {"Content-Type": "text/plain", "Allow": "POST"}, b"method not allowed"
                q = {k: v[0] for k, v in query.items()}
                try:
                    start, end, per = int(q.get("startrecord", 1)), int(q.get("endrecord", 15)), int(q.get("perpage", 15))
                except ValueError:
                    return 400, {"Content-Type": "text/plain"}, b"bad paging"
                body = site.hanweb_dataproxy(p, start, end, per, form).encode("utf-8")
                return 200, {"Content-Type": "text/xml;charset=UTF-8"}, body
        elif p.family == "gkmlpt":
            if rest == "/gkmlpt/index":
                return self._html(p, site.gkmlpt_index(p), lm)
            m = re.fullmatch(r"/gkmlpt/api/all/(\d+)", rest)
            if m:
                q = {k: v[0] for k, v in query.items()}
                host = self.headers.get("Host") or "127.0.0.1"
                status, text = site.gkmlpt_api(p, f"http://{host}", int(m.group(1)), int(q.get("page", "1") or 1), q.get("sid"))
                body = text.encode("utf-8")
                return status, self._validators(body, lm, "application/json;charset=UTF-8"), body
        elif p.family == "vsb":
            m = re.fullmatch(r"/zfxxgknb/list(\d+)\.htm", rest)
            if m and 1 <= int(m.group(1)) <= site.page_count(p):
                return self._html(p, site.vsb_list(p, int(m.group(1))), lm)
            if rest == "/zfxxgknb.htm":  # the column's canonical URL redirects to its first list page
                return 301, {"Location": f"{p.prefix}/zfxxgknb/list1.htm", "Content-Type": "text/html"}, b""
        elif p.family == "generic":
            if rest in ("/xxgk/index.html", "/xxgk/"):
                return self._html(p, site.generic_home(p), lm)
            if rest == "/xxgk/gknb/":
                try:
                    page = int((query.get("page") or ["1"])[0])
                except ValueError:
                    page = 1
                if page < 1 or (page > site.page_count(p) and not p.trap) or page > 100000:
                    return self._not_found()
                return self._html(p, site.generic_list(p, page), lm)
        return self._not_found()

    def _html_bytes(self, p: site.SitePortal, body: bytes, last_modified: float):
        ctype = "text/html" + (f"; charset={p.header_charset}" if p.header_charset else "")
        return 200, self._validators(body, last_modified, ctype), body

    def _lookup(self, p: site.SitePortal, path: str):
        index = getattr(p, "_index", None)
        if index is None or index[0] != len(p.entries):
            m: dict[str, tuple[site.Entry, str]] = {}
            for e in p.entries:
                m[e.path] = (e, "page")
                if e.attachment_path:
                    m[e.attachment_path] = (e, "attachment")
                for ip in e.image_paths:
                    m[ip] = (e, "image")
            index = (len(p.entries), m)
            p._index = index  # type: ignore[attr-defined]
        return index[1].get(path, (None, None))

    @staticmethod
    def _not_found() -> tuple[int, dict[str, str], bytes]:
        return 404, {"Content-Type": "text/html; charset=utf-8"}, "<html><body>404 页面不存在</body></html>".encode()

    # -------------------------------------------------------------------------------- admin

    def _admin(self, path: str, query: dict[str, list[str]]) -> None:
        q = {k: v[0] for k, v in query.items()}
        h = SamplePortalHandle._from_state(self.state)
        try:
            if path == "/__admin/fault":
                times = int(q["times"]) if q.get("times") else None
                f = h.inject(q["kind"], path=q.get("path"), portal=q.get("portal"), times=times,
                             delay_s=float(q.get("delay", 1.0)), retry_after=int(q.get("retry_after", 1)))
                out = asdict(f)
            elif path == "/__admin/clear":
                h.clear_faults()
                out = {"ok": True}
            elif path == "/__admin/publish":
                out = {"url": h.publish_new_report(q.get("portal"))}
            elif path == "/__admin/revise":
                out = {"url": h.revise_report(q.get("portal"), url=q.get("url"))}
            elif path == "/__admin/validators":
                h.set_validators(q.get("on", "1") not in ("0", "false", "no"), portal=q.get("portal"),
                                 url=q.get("url"))
                out = {"ok": True}
            elif path == "/__admin/log":
                out = [asdict(r) for r in h.requests]
            else:
                raise KeyError(path)
            status = 200
        except (KeyError, ValueError, StopIteration) as e:
            status, out = 400, {"error": str(e) or "no such report"}
        body = json.dumps(out, ensure_ascii=False).encode()
        self._send(status, {"Content-Type": "application/json"}, body)


class _Server(ThreadingHTTPServer):
    #: listen() backlog: socketserver's default of 5 drops the SYNs of a crawler opening 8–16 connections at once,
    #: and each dropped SYN costs the client a 1 s retransmission (real web servers use hundreds)
    request_queue_size = 256


class SamplePortalHandle:
    """A running sample portal: its URLs, request log, fault controls and content changes."""

    def __init__(self, state: _State, server: ThreadingHTTPServer | None, thread: threading.Thread | None, host: str):
        self._state = state
        self._server = server
        self._thread = thread
        self.host = host
        self.port = server.server_address[1] if server else 0
        self.base_url = f"http://{host}:{self.port}"
        #: The "off-site" host: the same server under another name, never in a portal's allowed hosts.
        self.offsite_base_url = f"http://localhost:{self.port}"

    @classmethod
    def _from_state(cls, state: _State) -> "SamplePortalHandle":
        h = cls.__new__(cls)
        h._state = state
        h._server = None
        h._thread = None
        h.host, h.port = state.host, state.port
        h.base_url = f"http://{h.host}:{h.port}"
        h.offsite_base_url = f"http://localhost:{h.port}"
        return h

    # ------------------------------------------------------------------ lifecycle and log

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "SamplePortalHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._state.lock:
            return list(self._state.log)

    def clear_log(self) -> None:
        with self._state.lock:
            self._state.log.clear()
            self._state.max_in_flight = 0

    @property
    def max_in_flight(self) -> int:
        """The most requests handled at the same time since start (or :meth:`clear_log`)."""
        return self._state.max_in_flight

    # ------------------------------------------------------------------ faults

    def inject(self, kind: str, *, path: str | None = None, portal: str | None = None, times: int | None = None,
               delay_s: float = 1.0, retry_after: int = 1) -> Fault:
        """Inject a fault on one path (``path``, or a prefix ending in ``*``) or a whole portal.

        ``times``: how many matching requests get the fault (None: until :meth:`clear_faults`).
        ``trap`` turns the generic portal's pagination into an infinite 下一页 chain.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS}")
        if path is not None and path.startswith("http"):
            path = urlsplit(path).path
        f = Fault(kind, path=path, portal=self._state.portal(portal).key if portal else None, times=times,
                  delay_s=delay_s, retry_after=retry_after)
        with self._state.lock:
            if kind == "trap":
                self._state.portal(portal or "dongshan").trap = True
            self._state.faults.append(f)
        return f

    def clear_faults(self) -> None:
        with self._state.lock:
            self._state.faults.clear()
            for p in self._state.portals:
                p.trap = False

    # ------------------------------------------------------------------ content changes

    def publish_new_report(self, portal: str | None = None) -> str:
        """Publish a new 2024 report on ``portal`` (key or id; default the first portal); returns its URL.

        Recorded in the state file when the portal has one (``start(state_file=…)``)."""
        with self._state.lock:
            p = self._state.portal(portal)
            e = _publish(self._state, p, time.time())
            _record(self._state, {"op": "publish", "portal": p.key, "at": e.modified})
            return self.base_url + e.path

    def revise_report(self, portal: str | None = None, *, url: str | None = None) -> str:
        """Revise a report in place (same URL, same list entry; its numbers and a sentence change); returns its URL.

        ``url``: the report page or attachment to revise; default the newest 2021-format HTML report of ``portal``
        that was part of the portal from the start (never one just published with :meth:`publish_new_report`,
        which a crawl may not have seen yet).  The server then sends the new body with a new ETag and
        Last-Modified, or none at all when validators are off (:meth:`set_validators`)."""
        with self._state.lock:
            p = self._state.portal(portal)
            if url:
                path = urlsplit(url).path
                p = next((q for q in self._state.portals if path.startswith(q.prefix + "/")), p)
                e = next(e for e in p.entries if path in (e.path, e.attachment_path))
            else:
                e = next(
                    e for e in p.reports()
                    if e.spec_args.get("template") == "2021" and not e.attachment
                    and not e.spec_args.get("image_only") and not e.spec_args.get("malformed")
                    and (p.key, e.id) not in self._state.published_ids
                )
            _revise(e, time.time())
            _record(self._state, {"op": "revise", "portal": p.key, "path": e.path, "at": e.modified})
            return self.base_url + e.path

    def set_validators(self, on: bool, *, portal: str | None = None, url: str | None = None) -> None:
        """Send ``ETag`` / ``Last-Modified`` (the default) or not, for a whole portal or one report (``url``): a
        server without validators answers every request in full, so only the body's hash shows a change."""
        with self._state.lock:
            if url:
                what: object = (_portal_of(self._state, url), urlsplit(url).path)
            else:
                what = self._state.portal(portal).key
            (self._state.no_validators.discard if on else self._state.no_validators.add)(what)

    @property
    def state_file(self) -> Path | None:
        return self._state.state_file

    def prerender(self) -> int:
        """Render every detail page into the cache now, like a static (TRS-published) site: benchmarks then
        measure the crawler, not the page generator.  Returns the number of pages rendered."""
        st = self._state
        n = 0
        with st.lock:
            st.cache_max = max(st.cache_max, sum(len(p.entries) for p in st.portals) + 16)
        for p in st.portals:
            for e in list(p.entries):
                body = site.detail_page(p, e).encode(p.encoding, "xmlcharrefreplace")
                with st.lock:
                    st.cache[("page", p.key, e.id, e.revision)] = body
                n += 1
        return n

    # ------------------------------------------------------------------ ground truth

    @property
    def portals(self) -> list[site.SitePortal]:
        return self._state.portals

    def portal_ids(self) -> list[str]:
        return [p.id for p in self._state.portals]

    def start_url(self, portal: str) -> str:
        return self.base_url + self._state.portal(portal).start_path

    def expected_reports(self, portal: str | None = None) -> list[ExpectedReport]:
        """Every report a complete crawl must find (decoys and robots-disallowed drafts excluded)."""
        ps = [self._state.portal(portal)] if portal else self._state.portals
        out = []
        for p in ps:
            for e in p.reports():
                out.append(ExpectedReport(
                    p.id, self.base_url + e.list_path, e.title,
                    self.base_url + e.attachment_path if e.attachment_path else None,
                    e.spec_args.get("template", ""), bool(e.spec_args.get("image_only")),
                    bool(e.spec_args.get("malformed")), e.direct,
                ))
        return out

    def lookalike_urls(self, portal: str | None = None) -> list[str]:
        """Non-reports listed under report-like titles (fetched; must land in ``analytics.documents``)."""
        ps = [self._state.portal(portal)] if portal else self._state.portals
        return [self.base_url + e.path for p in ps for e in p.entries if e.kind == "lookalike"]

    def decoy_urls(self, portal: str | None = None) -> list[str]:
        ps = [self._state.portal(portal)] if portal else self._state.portals
        return [self.base_url + e.path for p in ps for e in p.entries if e.kind == "decoy"]

    def robots_disallowed_urls(self) -> list[str]:
        return [self.base_url + e.path for p in self._state.portals for e in p.entries if e.kind == "robots"]

    def entry_for(self, url: str) -> site.Entry | None:
        path = urlsplit(url).path
        for p in self._state.portals:
            for e in p.entries:
                if path in (e.path, e.attachment_path):
                    return e
        return None

    def registry_entries(self, *, cms_hints: bool = False) -> list[dict]:
        """Registry entries (the ``portals:`` list of a registry YAML) for the running server."""
        out = []
        for p in self._state.portals:
            out.append({
                "id": p.id, "name": f"{p.county}人民政府", "division_code": p.division_code,
                "province": p.province, "city": p.city, "county": p.county,
                "start_urls": [self.base_url + p.start_path], "allowed_hosts": [self.host],
                "cms": p.family if cms_hints else "auto",
            })
        return out

    def write_registry(self, path: str | Path, *, cms_hints: bool = False) -> Path:
        import yaml

        path = Path(path)
        path.write_text(yaml.safe_dump({"portals": self.registry_entries(cms_hints=cms_hints)}, allow_unicode=True,
                                       sort_keys=False), encoding="utf-8")
        return path


# ---------------------------------------------------------------------------------------- content changes
# publish / revise, their replay from the state file (sample_portal/state.py), validators on/off


def write_hosts_registry(handles: list[SamplePortalHandle], path: str | Path) -> Path:
    """One registry over several running sample portals, each its own host (``host:port``) for politeness:
    the portals of the ``i``-th server get ids ``<id>-<i>`` (what the sharded-run tests and ``bench.scale`` use)."""
    import yaml

    entries = []
    for i, h in enumerate(handles):
        for e in h.registry_entries():
            entries.append({**e, "id": f"{e['id']}-{i}"})
    path = Path(path)
    path.write_text(yaml.safe_dump({"portals": entries}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _publish(st: _State, p: site.SitePortal, at: float) -> site.Entry:
    st.published += 1
    n = st.published
    args = dict(county=p.county, issuer=("县卫生健康局", "县民政局", "县财政局")[n % 3] if n < 3 else f"县第{n}局",
                year=2024, template="2021", seed=424242 + n)
    from sample_portal.reportgen import ReportSpec

    e = p.add("report", ReportSpec(**args).title, site.dt.date(2025, 1, 20 + n % 9), args)
    e.modified = at
    p.sort()
    p.__dict__.pop("_index", None)
    st.published_ids.add((p.key, e.id))
    return e


def _revise(e: site.Entry, at: float) -> None:
    e.revision += 1
    e.modified = max(at, e.modified + 1)


def _record(st: _State, op: dict) -> None:
    st.ops.append(op)
    if st.state_file is not None:
        from sample_portal import state as state_mod

        state_mod.save_ops(st.state_file, st.ops)
        st.state_mtime = state_mod.mtime(st.state_file)


def _replay(st: _State, ops: list[dict]) -> None:
    """Apply recorded operations to freshly built portals (same order, same times: same URLs and bodies)."""
    for op in ops:
        p = st.portal(op.get("portal"))
        at = float(op.get("at") or site.BASE_TIME)
        if op["op"] == "publish":
            _publish(st, p, at)
        else:
            path = op.get("path")
            e = next((e for e in p.entries if path in (e.path, e.attachment_path)), None)
            if e is None:
                raise ValueError(f"state file: no report {path} on the sample portal {p.key}")
            _revise(e, at)
        st.ops.append(op)


def _new_state(reports_per_portal, families, state_file, *, cache_max: int = 4096) -> _State:
    from sample_portal import state as state_mod

    st = _State(site.build_portals(reports_per_portal, families), cache_max=cache_max)
    st.build_args = (reports_per_portal, families)
    if state_file is not None:
        st.state_file = Path(state_file)
        st.state_mtime = state_mod.mtime(st.state_file)
        _replay(st, state_mod.load_ops(st.state_file))
    return st


def _reload_if_changed(st: _State) -> None:
    """Another process (``ogi sample-portal publish``) changed the state file: rebuild and replay it."""
    if st.state_file is None:
        return
    from sample_portal import state as state_mod

    m = state_mod.mtime(st.state_file)
    if m == st.state_mtime:
        return
    with st.lock:
        if state_mod.mtime(st.state_file) == st.state_mtime:
            return
        fresh = _new_state(*st.build_args, st.state_file, cache_max=st.cache_max)
        st.portals, st.ops, st.published, st.published_ids = fresh.portals, fresh.ops, fresh.published, fresh.published_ids
        st.state_mtime = fresh.state_mtime
        st.cache.clear()
        st.etags.clear()


def _portal_of(st: _State, url: str) -> str:
    path = urlsplit(url).path
    return next(p.key for p in st.portals if path.startswith(p.prefix + "/"))


def _without_validators(st: _State, key: str, path: str) -> bool:
    nv = st.no_validators
    return bool(nv) and (key in nv or (key, path) in nv)


def offline(state_file: str | Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> SamplePortalHandle:
    """The sample portal's content without a server (``ogi sample-portal publish|revise``): publish / revise
    record into ``state_file``; URLs are those of a portal served on ``host:port``."""
    st = _new_state(None, None, state_file)
    st.host, st.port = host, port
    return SamplePortalHandle._from_state(st)



def start(host: str = "127.0.0.1", port: int = 0, *, reports_per_portal: int | None = None,
          families: tuple[str, ...] | None = None, cache_max: int = 4096,
          tls: tuple[str, str] | None = None, state_file: str | Path | None = None) -> SamplePortalHandle:
    """Start the sample portal in a background thread; ``port=0`` picks a free port.

    ``tls=(certfile, keyfile)`` serves HTTPS (e.g. with a self-signed certificate, to test TLS errors and the
    ``verify_tls: false`` opt-out).  ``state_file``: replay the reports published / revised there
    (sample_portal/state.py), record new ones into it, and follow it when another process changes it.
    """
    state = _new_state(reports_per_portal, families, state_file, cache_max=cache_max)
    handler = type("SamplePortalHandler", (_Handler,), {"state": state})
    server = _Server((host, port), handler)
    if tls:
        import ssl

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    state.host, state.port = host, server.server_address[1]
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                              name="sample-portal")
    thread.start()
    handle = SamplePortalHandle(state, server, thread, host)
    if tls:
        handle.base_url = handle.base_url.replace("http://", "https://", 1)
    return handle


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, reports_per_portal: int | None = None,
          state_file: str | Path | None = None) -> None:
    """Serve in the foreground until interrupted (``ogi sample-portal``)."""
    h = start(host, port, reports_per_portal=reports_per_portal, state_file=state_file)
    print(f"sample portal on {h.base_url} (portals: {', '.join(p.key for p in h.portals)}); Ctrl-C to stop", flush=True)
    if h.state_file is not None:
        print(f"  content changes: {h.state_file} ({len(h._state.ops)} recorded; `ogi sample-portal publish|revise`)",
              flush=True)
    for p in h.portals:
        print(f"  {p.id:28s} {p.family:8s} {h.start_url(p.key)}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        h.stop()


if __name__ == "__main__":  # python -m sample_portal.server [PORT]
    import sys

    serve(port=int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PORT)
