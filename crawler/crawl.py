"""Crawl portals: start URLs → CMS → every list page → report pages → their attachments.

Public API (docs/crawler.md):

* ``async crawl_portal(portal, archive, settings, client=None, *, policy=None, progress=None) -> PortalCrawl``
  — one portal (the flows run one Prefect task per portal);
* ``crawl_portals(portals, archive, settings, *, progress=None) -> list[PortalCrawl]`` — a sync wrapper
  crawling several portals concurrently with shared per-host politeness; one bad portal never stops the
  others (an unexpected error becomes ``PortalCrawl(ok=False, error=…)``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import ssl
import sys
import threading
import time
from urllib.parse import urldefrag, urlsplit

import httpx

import ogi
from crawler.archive import Archive, UrlState, utcnow
from crawler.cms import LISTERS, ListState, detect_cms
from crawler.fetch import Fetcher, FetchResult, HostPolicy, body_changed
from crawler.revalidation import RevalidationPolicy
from crawler.links import decode_html, extract_links, is_attachment_url, is_report_link, parse_html
from crawler.types import CrawledDocument, PortalCrawl
from ogi.config import CrawlSettings
from ogi.registry import Portal

log = logging.getLogger("ogi.crawler")
_HREF_VALUE = re.compile(rb"""\s*=\s*["']?([^"'\s>]{0,600})""")
_ATTACHMENT_VALUE = re.compile(rb"\.(?:pdf|docx?|xlsx?|wps|et|ofd)(?:$|[?#&])|downfile|filename=", re.I)


def _may_link_attachments(body: bytes) -> bool:
    """Cheap pre-check before parsing a report page for attachments: look only at the href values
    (a 160 KB Word-export page has a dozen links; scanning all of it with a regex costs ~1 ms)."""
    for needle in (b"href", b"HREF"):
        i = body.find(needle)
        while i != -1:
            m = _HREF_VALUE.match(body, i + 4)
            if m and _ATTACHMENT_VALUE.search(m.group(1)):
                return True
            i = body.find(needle, i + 4)
    return False


@functools.lru_cache(maxsize=1)
def _verifying_ssl_context() -> ssl.SSLContext:
    """The certificate-verifying TLS context httpx would build for ``verify=True`` (certifi's CA bundle),
    built once per process: loading the CA bundle costs ~20 ms, paid per portal task otherwise."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def make_client(settings: CrawlSettings, *, verify: bool = True) -> httpx.AsyncClient:
    """The HTTP client the crawler uses: our User-Agent, no automatic redirects, explicit timeouts."""
    n = max(1, settings.global_concurrency)
    return httpx.AsyncClient(
        headers={"User-Agent": ogi.USER_AGENT, "Accept-Language": "zh-CN,zh;q=0.9"},
        timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
        follow_redirects=False,
        verify=_verifying_ssl_context() if verify else False,
        limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
    )


def _status(res: FetchResult) -> str:
    if res.not_modified:
        return "unchanged"
    if res.prior is None or not res.prior.sha256:
        return "new"
    return "unchanged" if res.prior.sha256 == res.sha256 else "changed"


def _doc(portal: Portal, res: FetchResult, kind: str, *, link_text=None, list_date=None, parent_url=None) -> CrawledDocument:
    fetched_at = res.prior.fetched_at if res.not_modified and res.prior and res.prior.fetched_at else None
    return CrawledDocument(
        portal_id=portal.id,
        url=res.url,
        kind=kind,  # type: ignore[arg-type]
        sha256=res.sha256 or "",
        fetched_at=fetched_at or utcnow(),
        status=_status(res),  # type: ignore[arg-type]
        content_type=res.content_type,
        link_text=link_text,
        list_date=list_date,
        parent_url=parent_url,
    )


async def crawl_portal(
    portal: Portal,
    archive: Archive,
    settings: CrawlSettings,
    client: httpx.AsyncClient | None = None,
    *,
    policy: HostPolicy | None = None,
    progress: "Progress | None" = None,
) -> PortalCrawl:
    """Crawl one portal; never raises for portal trouble (see ``PortalCrawl.ok`` / ``.error`` / ``.failures``)."""
    t0 = time.perf_counter()
    crawl = PortalCrawl(portal.id, ok=False, listing_complete=True)
    own = client is None or (not portal.verify_tls and client is not None)
    if own:
        client = make_client(settings, verify=portal.verify_tls)
    policy = policy or HostPolicy.create(settings)
    try:
        await _crawl(portal, archive, settings, client, policy, crawl, progress)
    except Exception as e:  # noqa: BLE001 - one bad portal must never stop the others
        log.exception("portal %s: crawl aborted", portal.id)
        crawl.error = f"{e.__class__.__name__}: {e}"
        crawl.listing_complete = False
    finally:
        if own:
            await client.aclose()
        archive.commit()
        crawl.elapsed_s = time.perf_counter() - t0
    log.info("portal %s: cms=%s docs=%d (not re-requested: %d) failures=%d requests=%d bytes=%d", portal.id,
             crawl.cms, len(crawl.documents), crawl.revalidation_skipped, len(crawl.failures), crawl.requests,
             crawl.bytes)
    return crawl


async def list_portal(fetcher: Fetcher, portal: Portal, crawl: PortalCrawl) -> ListState:
    """Fetch the start URLs, detect the CMS and read every list page (sets ``crawl.ok/cms/error``)."""
    state = ListState()
    for start_url in portal.start_urls:
        url = urldefrag(start_url)[0]
        res = await fetcher.fetch(url, kind="start")
        if res is None:
            crawl.listing_complete = False
            continue
        crawl.ok = True
        res.list_changed = body_changed(res, res.prior)
        body = res.body if res.body is not None else fetcher.archive.get(res.sha256)
        family = portal.cms if portal.cms != "auto" else detect_cms(res.final_url, decode_html(body, res.content_type)[0])
        crawl.cms = crawl.cms or family
        before = len(report_candidates(state, portal)[0])
        await LISTERS[family](fetcher, state).run(res, body, start_url)
        if family != "generic" and len(report_candidates(state, portal)[0]) == before:
            # The family's list mechanics found nothing here (a sub-column hub, an unusual template):
            # fall back to following annual-report-looking links from the start page.
            log.info("portal %s: %s lister found no reports at %s; trying the generic lister", portal.id, family, url)
            await LISTERS["generic"](fetcher, state).run(res, body, start_url)
    if not crawl.ok:
        first = next((f for f in crawl.failures), None)
        crawl.error = f"start URL failed: {first.kind}: {first.reason}" if first else "start URL failed"
    crawl.listing_complete = crawl.listing_complete and state.complete
    return state


def report_candidates(state: ListState, portal: Portal, fetcher: Fetcher | None = None) -> tuple[dict, dict]:
    """(report pages, attachments listed directly) among the list entries, keyed by URL."""
    pages: dict[str, object] = {}
    direct: dict[str, object] = {}
    for link in state.entries.values():
        if not is_report_link(link.text, link.url):
            continue
        if not portal.allows(link.url):
            if fetcher is not None:
                fetcher.fail(link.url, "offsite", f"listed report on a host outside allowed_hosts: {link.text}")
            continue
        (direct if is_attachment_url(link.url) else pages).setdefault(link.url, link)
    return pages, direct


async def _crawl(portal, archive, settings, client, policy, crawl: PortalCrawl, progress) -> None:
    fetcher = Fetcher(portal, archive, settings, client, policy, crawl)
    if progress:
        progress.portal_started(portal.id)
    state = await list_portal(fetcher, portal, crawl)
    if not crawl.ok:
        return
    pages, direct = report_candidates(state, portal, fetcher)
    if progress:
        progress.portal_total(portal.id, len(pages) + len(direct))
    reval = RevalidationPolicy.from_settings(settings)
    log.debug("portal %s: %s", portal.id, reval.describe())

    seen_attachments: set[str] = set(direct)
    queue: asyncio.Queue = asyncio.Queue()
    for link in pages.values():
        queue.put_nowait(("page", link))
    for link in direct.values():
        queue.put_nowait(("attachment", link))

    async def worker() -> None:
        while True:
            try:
                what, link = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                prior = archive.latest(link.url)
                why = reval.reason(link.url, prior, archive, list_changed=link.url in state.changed,
                                   list_date=link.date)
                if why is None:  # known, unchanged list, not due, not fresh: report it from the archive
                    crawl.revalidation_skipped += 1
                    kind = "report_page" if what == "page" else "attachment"
                    crawl.documents.append(_archived_doc(portal, prior, kind, link_text=link.text,
                                                         list_date=link.date))
                    if what == "page":
                        await _archived_attachments(fetcher, portal, crawl, reval, link, seen_attachments)
                elif what == "page":
                    await _report_page(fetcher, portal, crawl, link, seen_attachments, reval)
                else:
                    res = await fetcher.fetch(link.url, kind="attachment", link_text=link.text, list_date=link.date)
                    if res is not None:
                        crawl.documents.append(_doc(portal, res, "attachment", link_text=link.text, list_date=link.date))
            finally:
                if progress:
                    progress.advance(portal.id)

    n = max(1, min(queue.qsize(), settings.global_concurrency if not settings.polite else settings.per_host_concurrency * 2))
    await asyncio.gather(*(worker() for _ in range(n)))


async def _report_page(fetcher: Fetcher, portal: Portal, crawl: PortalCrawl, link, seen_attachments: set[str],
                       reval: RevalidationPolicy | None = None) -> None:
    res = await fetcher.fetch(link.url, kind="report_page", link_text=link.text, list_date=link.date)
    if res is None:
        return
    crawl.documents.append(_doc(portal, res, "report_page", link_text=link.text, list_date=link.date))
    body = res.body if res.body is not None else fetcher.archive.get(res.sha256)
    if not _may_link_attachments(body):
        return  # no attachment-like link anywhere in the page: skip parsing (most report pages)
    page_changed = body_changed(res, res.prior)  # a changed report page revalidates all its attachments
    doc = parse_html(decode_html(body, res.content_type)[0])
    del body
    for a in extract_links(doc, res.final_url):
        if not is_attachment_url(a.url) or a.url in seen_attachments:
            continue
        seen_attachments.add(a.url)
        if not portal.allows(a.url):
            fetcher.fail(a.url, "offsite", f"attachment on a host outside allowed_hosts (linked from {res.url})")
            continue
        await _attachment(fetcher, portal, crawl, reval, a.url, a.text or link.text, link.date, res.url,
                          fetcher.archive.latest(a.url), parent_changed=page_changed)


async def _attachment(fetcher: Fetcher, portal: Portal, crawl: PortalCrawl, reval: RevalidationPolicy | None,
                      url: str, text: str | None, list_date, parent_url: str, prior: UrlState | None, *,
                      parent_changed: bool) -> None:
    """One attachment of a report page: reported from the archive when the policy allows, else fetched."""
    if reval is not None and reval.reason(url, prior, fetcher.archive, list_changed=parent_changed,
                                          list_date=list_date) is None:
        crawl.revalidation_skipped += 1
        crawl.documents.append(_archived_doc(portal, prior, "attachment", link_text=text, list_date=list_date,
                                             parent_url=parent_url))
        return
    ares = await fetcher.fetch(url, kind="attachment", link_text=text, list_date=list_date, parent_url=parent_url)
    if ares is None:
        # a skipped page only knows attachments that once succeeded: check the page itself again next run
        fetcher.archive.mark_unchecked(parent_url)
    else:
        crawl.documents.append(_doc(portal, ares, "attachment", link_text=text, list_date=list_date,
                                    parent_url=parent_url))


def _archived_doc(portal: Portal, prior: UrlState, kind: str, *, link_text=None, list_date=None,
                  parent_url=None) -> CrawledDocument:
    """A known document the revalidation policy did not re-request: what a 304 would have produced."""
    return CrawledDocument(
        portal_id=portal.id,
        url=prior.url,
        kind=kind,  # type: ignore[arg-type]
        sha256=prior.sha256 or "",
        fetched_at=prior.fetched_at or utcnow(),
        status="unchanged",
        content_type=prior.content_type,
        link_text=link_text,
        list_date=list_date,
        parent_url=parent_url,
    )


async def _archived_attachments(fetcher: Fetcher, portal: Portal, crawl: PortalCrawl, reval: RevalidationPolicy,
                                link, seen_attachments: set[str]) -> None:
    """The archived attachments of a report page that was not re-requested: each is reported unchanged, or
    revalidated on its own when the policy says so (due in the stagger, stale, fresh, last attempt failed)."""
    for child in fetcher.archive.children(link.url):
        if child.url in seen_attachments:
            continue
        seen_attachments.add(child.url)
        if not portal.allows(child.url):
            fetcher.fail(child.url, "offsite", f"attachment on a host outside allowed_hosts (linked from {link.url})")
            continue
        await _attachment(fetcher, portal, crawl, reval, child.url, child.link_text or link.text, link.date,
                          link.url, child, parent_changed=False)


# ---------------------------------------------------------------------------------------- many portals


class Progress:
    """A rich progress bar (one line per portal) for interactive runs; a no-op otherwise."""

    def __init__(self, portals: list[Portal]):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

        from rich.console import Console

        self._p = RichProgress(TextColumn("{task.description:32}"), BarColumn(), MofNCompleteColumn(),
                               TimeElapsedColumn(), transient=False, console=Console(stderr=True))
        self._tasks = {p.id: self._p.add_task(p.id, total=None, start=False) for p in portals}

    def __enter__(self) -> "Progress":
        self._p.start()
        return self

    def __exit__(self, *exc) -> None:
        self._p.stop()

    def portal_started(self, pid: str) -> None:
        self._p.start_task(self._tasks[pid])

    def portal_total(self, pid: str, n: int) -> None:
        self._p.update(self._tasks[pid], total=n)

    def advance(self, pid: str) -> None:
        self._p.advance(self._tasks[pid])


async def crawl_portals_async(portals: list[Portal], archive: Archive, settings: CrawlSettings, *,
                              progress: bool | None = None) -> list[PortalCrawl]:
    policy = HostPolicy.create(settings)
    show = sys.stderr.isatty() if progress is None else progress
    bar = Progress(portals) if show and portals else None
    client = make_client(settings)
    limit = asyncio.Semaphore(max(1, min(len(portals) or 1, settings.global_concurrency)))

    async def one(p: Portal) -> PortalCrawl:
        async with limit:
            return await crawl_portal(p, archive, settings, client if p.verify_tls else None, policy=policy,
                                      progress=bar)

    try:
        if bar:
            bar.__enter__()
        results = await asyncio.gather(*(one(p) for p in portals), return_exceptions=True)
    finally:
        if bar:
            bar.__exit__(None, None, None)
        await client.aclose()
        archive.commit()
    out: list[PortalCrawl] = []
    for p, r in zip(portals, results):
        if isinstance(r, BaseException):
            out.append(PortalCrawl(p.id, ok=False, listing_complete=False, error=f"{r.__class__.__name__}: {r}"))
        else:
            out.append(r)
    return out


def crawl_portals(portals: list[Portal], archive: Archive, settings: CrawlSettings, *,
                  progress: bool | None = None) -> list[PortalCrawl]:
    """Crawl ``portals`` (sync).  Safe to call from inside a running event loop (runs in a helper thread)."""
    coro_args = (portals, archive, settings)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(crawl_portals_async(*coro_args, progress=progress))
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["r"] = asyncio.run(crawl_portals_async(*coro_args, progress=progress))
        except BaseException as e:  # noqa: BLE001
            box["e"] = e

    t = threading.Thread(target=run, name="ogi-crawl")
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]  # type: ignore[misc]
    return box["r"]  # type: ignore[return-value]


def summarize(results: list[PortalCrawl]) -> dict[str, int]:
    """Totals across portals (for the CLI summary and the flows)."""
    out = {"portals": len(results), "portals_failed": sum(not r.ok for r in results), "documents": 0, "new": 0,
           "changed": 0, "unchanged": 0, "failures": 0, "requests": 0, "bytes": 0, "not_requested": 0}
    for r in results:
        out["documents"] += len(r.documents)
        for d in r.documents:
            out[d.status] += 1
        out["failures"] += len(r.failures)
        out["requests"] += r.requests
        out["bytes"] += r.bytes
        out["not_requested"] += r.revalidation_skipped
    return out


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
