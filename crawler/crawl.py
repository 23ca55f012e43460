"""Crawl portals: start URLs → CMS → every list page → report pages → their attachments.

Public API (docs/crawler.md):

* ``async crawl_portal(portal, archive, settings, client=None, *, policy=None, progress=None) -> PortalCrawl``
  — one portal (the flows run one Prefect task per portal);
* ``crawl_portals(portals, archive, settings, *, progress=None) -> list[PortalCrawl]`` — a sync wrapper
  crawling several portals concurrently; one bad portal never stops the others (an unexpected error becomes
  ``PortalCrawl(ok=False, error=…)``).

Both use the process-wide per-host politeness of :meth:`crawler.hosts.HostPolicy.shared` unless ``policy`` is
given, so portals on one host share its slots, delay, backoff and robots.txt across calls, threads and loops.
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
from crawler.revalidation import KnownUrl, RevalidationPlan, RevalidationPolicy
from crawler.links import decode_html, extract_links, is_attachment_url, is_report_link, parse_html
from crawler.transport import KeepAliveTransport, env_has_proxy
from crawler.types import CrawledDocument, PortalCrawl
from ogi.config import CrawlSettings
from ogi.killpoints import killpoint
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


def _unverified_ssl_context() -> ssl.SSLContext:
    """``verify_tls: false`` (a portal's explicit opt-out): TLS without certificate checks."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def client_profile(settings: CrawlSettings, *, verify: bool = True) -> tuple:
    """What a client made by :func:`make_client` depends on: crawls with equal profiles can share one."""
    return ("crawler", verify, settings.read_timeout_s, settings.connect_timeout_s, settings.global_concurrency,
            env_has_proxy())


def make_client(settings: CrawlSettings, *, verify: bool = True) -> httpx.AsyncClient:
    """The HTTP client the crawler uses: our User-Agent, no automatic redirects, explicit timeouts."""
    n = max(1, settings.global_concurrency)
    ctx = _verifying_ssl_context() if verify else _unverified_ssl_context()
    return httpx.AsyncClient(
        headers={"User-Agent": ogi.USER_AGENT, "Accept-Language": "zh-CN,zh;q=0.9"},
        timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
        follow_redirects=False,
        verify=ctx,
        limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
        # the crawler limits concurrency itself: a lean keep-alive transport (crawler/transport.py), unless a proxy
        # is configured in the environment (httpx's own transport handles proxies)
        transport=None if env_has_proxy() else KeepAliveTransport(ssl_context=ctx),
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
    policy = policy or HostPolicy.shared(settings)  # one politeness budget per host for the whole process
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
    log.info("portal %s: cms=%s docs=%d (revalidated %d, skipped for budget %d, oldest check %d nights) "
             "failures=%d requests=%d bytes=%d", portal.id, crawl.cms, len(crawl.documents), crawl.revalidated,
             crawl.revalidation_skipped, crawl.oldest_check_age_days, len(crawl.failures), crawl.requests, crawl.bytes)
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
    priors, known, children = _known_urls(archive, pages, direct, state.changed)
    plan = RevalidationPlan.build(reval, known, archive)
    log.debug("portal %s: %s; %d known URLs, %d to re-request", portal.id, reval.describe(), len(known),
              len(plan.selected))
    run = _Run(fetcher, portal, crawl, plan, priors, seen_attachments=set(direct), children=children)

    # new URLs first, then the known ones in the plan's priority order, then those reported from the archive
    rank = {u: i + 1 for i, u in enumerate(plan.selected)}
    last = len(rank) + 1
    work = [("page", link) for link in pages.values()] + [("attachment", link) for link in direct.values()]
    work.sort(key=lambda w: 0 if w[1].url not in priors else rank.get(w[1].url, last))
    queue: asyncio.Queue = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)

    async def worker() -> None:
        while True:
            try:
                what, link = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                prior = priors.get(link.url)
                kind = "report_page" if what == "page" else "attachment"
                if prior is not None and not plan.wants(link.url):
                    run.from_archive(prior, kind, link.text, link.date)
                    if what == "page":
                        await run.archived_attachments(link)
                elif what == "page":
                    await run.report_page(link, prior)
                else:
                    res = await fetcher.fetch(link.url, kind="attachment", link_text=link.text, list_date=link.date)
                    run.fetched(res, "attachment", prior, link.text, link.date)
            finally:
                if progress:
                    progress.advance(portal.id)

    n = max(1, min(queue.qsize(), settings.global_concurrency if not settings.polite else settings.per_host_concurrency * 2))
    await asyncio.gather(*(worker() for _ in range(n)))


def _known_urls(archive: Archive, pages: dict, direct: dict, changed: set[str]
                ) -> tuple[dict[str, UrlState], list[KnownUrl], dict[str, list[UrlState]]]:
    """The listed report pages and attachments the archive holds a body for, and the archived attachments of
    those pages (``url_state.parent_url``): everything tonight's revalidation plan decides about; and those
    attachments per page, for the pages the plan reports from the archive."""
    priors: dict[str, UrlState] = {}
    known: list[KnownUrl] = []

    links = list(pages.values()) + list(direct.values())
    latest, children = archive.states(link.url for link in links)  # two queries, not two per URL
    intact = archive.intact([s.sha256 for s in latest.values() if s.sha256]
                            + [c.sha256 for cs in children.values() for c in cs if c.sha256])

    def add(url: str, prior: UrlState | None, list_changed: bool, list_date) -> bool:
        if url in priors or prior is None or not prior.sha256 or prior.sha256 not in intact:
            return False  # never fetched (or its body is gone): new, fetched outside the plan
        priors[url] = prior
        known.append(KnownUrl(url, prior, list_changed, list_date))
        return True

    for link in links:
        add(link.url, latest.get(link.url), link.url in changed, link.date)
    for link in pages.values():
        if link.url in priors:
            for child in children.get(link.url, ()):
                if child.url not in pages and child.url not in direct:
                    add(child.url, child, False, link.date)
    return priors, known, children


class _Run:
    """One portal's document fetching tonight: what is requested, what is reported from the archive."""

    def __init__(self, fetcher: Fetcher, portal: Portal, crawl: PortalCrawl, plan: RevalidationPlan,
                 priors: dict[str, UrlState], seen_attachments: set[str], children: dict[str, list[UrlState]]):
        self.f, self.portal, self.crawl, self.plan, self.priors = fetcher, portal, crawl, plan, priors
        self.seen_attachments = seen_attachments
        #: the archived attachments of each listed page as the plan read them (``_known_urls``); a page's list
        #: only changes when one of them is fetched tonight, and then it is in ``seen_attachments`` already
        self.children = children

    def fetched(self, res: FetchResult | None, kind: str, prior: UrlState | None, link_text, list_date,
                parent_url: str | None = None) -> None:
        if prior is not None:
            self.crawl.revalidated += 1
        if res is not None:
            self.crawl.documents.append(_doc(self.portal, res, kind, link_text=link_text, list_date=list_date,
                                             parent_url=parent_url))

    def from_archive(self, prior: UrlState, kind: str, link_text, list_date, parent_url: str | None = None) -> None:
        """A known document the plan did not re-request tonight: what a 304 would have produced."""
        self.crawl.revalidation_skipped += 1
        age = self.plan.policy.age_nights(prior) or 0
        self.crawl.oldest_check_age_days = max(self.crawl.oldest_check_age_days, age)
        self.crawl.documents.append(_archived_doc(self.portal, prior, kind, link_text=link_text, list_date=list_date,
                                                  parent_url=parent_url))

    async def report_page(self, link, prior: UrlState | None) -> None:
        """One report page and its attachments; the page is confirmed in the archive (``checked_at``) only after
        every attachment it links was handled, so a crawl killed in between re-reads the page next night."""
        f = self.f
        res = await f.fetch(link.url, kind="report_page", link_text=link.text, list_date=link.date, known=prior)
        self.fetched(res, "report_page", prior, link.text, link.date)
        if res is None:
            return
        if await self._page_attachments(link, res, prior):
            f.archive.touch(link.url)

    async def _page_attachments(self, link, res: FetchResult, prior: UrlState | None) -> bool:
        """Fetch (or report from the archive) the attachments of one report page; False if one failed."""
        f = self.f
        page_changed = body_changed(res, res.prior)  # a changed report page revalidates all its attachments
        if not page_changed and prior is not None and prior.checked_at is not None:
            # same body, same links, and every attachment it links succeeded last time (else the page would have
            # been left unchecked): its attachments are the archive's children — no need to read the body again
            return await self.archived_attachments(link)
        body = res.body if res.body is not None else f.archive.get(res.sha256)
        if not _may_link_attachments(body):
            return True  # no attachment-like link anywhere in the page: skip parsing (most report pages)
        doc = parse_html(decode_html(body, res.content_type)[0])
        del body
        ok = True
        for a in extract_links(doc, res.final_url):
            if not is_attachment_url(a.url) or a.url in self.seen_attachments:
                continue
            self.seen_attachments.add(a.url)
            if not self.portal.allows(a.url):
                f.fail(a.url, "offsite", f"attachment on a host outside allowed_hosts (linked from {res.url})")
                continue
            prior_a = self.priors.get(a.url) or f.archive.latest(a.url)
            ok &= await self.attachment(a.url, a.text or link.text, link.date, res.url, prior_a,
                                        parent_changed=page_changed)
        return ok

    async def attachment(self, url: str, text: str | None, list_date, parent_url: str, prior: UrlState | None, *,
                         parent_changed: bool) -> bool:
        """One attachment of a report page: reported from the archive when the plan allows, else fetched."""
        known = prior is not None and bool(prior.sha256) and self.f.archive.has(prior.sha256)
        if known and not parent_changed and not self.plan.wants(url):
            self.from_archive(prior, "attachment", text, list_date, parent_url)
            return True
        killpoint("crawl.attachment")
        res = await self.f.fetch(url, kind="attachment", link_text=text, list_date=list_date, parent_url=parent_url)
        self.fetched(res, "attachment", prior if known else None, text, list_date, parent_url)
        if res is None:
            # a page reported from the archive only knows attachments that once succeeded: check it next run
            self.f.archive.mark_unchecked(parent_url)
            return False
        return True

    async def archived_attachments(self, link) -> bool:
        """The archived attachments of a report page that was not re-requested: each is reported unchanged, or
        re-requested on its own when the plan says so."""
        ok = True
        for child in self.children.get(link.url, ()):
            if child.url in self.seen_attachments:
                continue
            self.seen_attachments.add(child.url)
            if not self.portal.allows(child.url):
                self.f.fail(child.url, "offsite",
                            f"attachment on a host outside allowed_hosts (linked from {link.url})")
                continue
            ok &= await self.attachment(child.url, child.link_text or link.text, link.date, link.url, child,
                                        parent_changed=False)
        return ok


def _archived_doc(portal: Portal, prior: UrlState, kind: str, *, link_text=None, list_date=None,
                  parent_url=None) -> CrawledDocument:
    """A known document the revalidation plan did not re-request: what a 304 would have produced."""
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
    policy = HostPolicy.shared(settings)
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
           "changed": 0, "unchanged": 0, "failures": 0, "requests": 0, "bytes": 0, "revalidated": 0,
           "not_requested": 0, "oldest_check_age_days": 0}
    for r in results:
        out["documents"] += len(r.documents)
        for d in r.documents:
            out[d.status] += 1
        out["failures"] += len(r.failures)
        out["requests"] += r.requests
        out["bytes"] += r.bytes
        out["revalidated"] += r.revalidated
        out["not_requested"] += r.revalidation_skipped
        out["oldest_check_age_days"] = max(out["oldest_check_age_days"], r.oldest_check_age_days)
    return out


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
