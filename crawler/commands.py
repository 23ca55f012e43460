"""What the ``ogi crawl`` and ``ogi portals check`` commands do (ogi/cli.py only parses options).

``portals check`` answers, per portal: is the start URL reachable, which CMS family does it look like,
and how many report links do its lists hold?  It reads list pages only (no report bodies) into a
throw-away archive, so checking never changes the real archive's incremental state.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from crawler.archive import Archive
from crawler.crawl import crawl_portals, list_portal, make_client, report_candidates, summarize
from crawler.fetch import Fetcher, HostPolicy
from crawler.types import PortalCrawl
from ogi.config import CrawlSettings
from ogi.registry import Portal


@dataclass
class PortalCheck:
    portal_id: str
    reachable: bool
    cms: str | None
    report_links: int
    list_pages: int
    listing_complete: bool
    verified: bool
    error: str | None
    elapsed_s: float


async def check_portal(portal: Portal, archive: Archive, settings: CrawlSettings, policy: HostPolicy) -> PortalCheck:
    import time

    t0 = time.perf_counter()
    crawl = PortalCrawl(portal.id, ok=False, listing_complete=True)
    client = make_client(settings, verify=portal.verify_tls)
    try:
        fetcher = Fetcher(portal, archive, settings, client, policy, crawl)
        state = await list_portal(fetcher, portal, crawl)
        pages, direct = report_candidates(state, portal)
        n = len(pages) + len(direct)
        if crawl.ok and portal.cms != "auto":  # show what the page looks like next to the registry's hint
            from urllib.parse import urldefrag

            from crawler.cms import detect_cms
            from crawler.links import decode_html

            st = archive.latest(urldefrag(portal.start_urls[0])[0])
            if st and st.sha256:
                detected = detect_cms(st.url, decode_html(archive.get(st.sha256), st.content_type)[0])
                if detected != portal.cms:
                    crawl.cms = f"{portal.cms} (looks {detected})"
    except Exception as e:  # noqa: BLE001 - a check reports, it does not crash
        crawl.error = f"{e.__class__.__name__}: {e}"
        n = 0
        state = None
    finally:
        await client.aclose()
    error = crawl.error or ("; ".join(f"{f.kind}: {f.url}" for f in crawl.failures[:3]) or None)
    return PortalCheck(portal.id, crawl.ok, crawl.cms, n, state.pages + 1 if state else 0,
                       crawl.listing_complete, portal.verified, error, time.perf_counter() - t0)


def check_portals(portals: list[Portal], settings: CrawlSettings) -> list[PortalCheck]:
    async def run() -> list[PortalCheck]:
        policy = HostPolicy.shared(settings)
        with tempfile.TemporaryDirectory(prefix="ogi-check-") as tmp:
            archive = Archive(tmp)
            try:
                return list(await asyncio.gather(*(check_portal(p, archive, settings, policy) for p in portals)))
            finally:
                archive.close()

    return asyncio.run(run())


def print_checks(checks: list[PortalCheck]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="portal check")
    for col in ("portal", "reachable", "cms", "report links", "list pages", "complete", "verified", "error"):
        t.add_column(col, overflow="fold")
    for c in checks:
        t.add_row(c.portal_id, "yes" if c.reachable else "NO", c.cms or "-", str(c.report_links), str(c.list_pages),
                  "yes" if c.listing_complete else "no", "yes" if c.verified else "no", (c.error or "")[:120])
    console = Console(width=160)
    console.print(t)
    bad = [c.portal_id for c in checks if not (c.reachable and c.report_links)]
    console.print(f"{len(checks) - len(bad)} of {len(checks)} portals reachable with report links"
                  + (f"; check: {', '.join(bad)}" if bad else ""), highlight=False)


def run_crawl(portals: list[Portal], archive_dir: Path, settings: CrawlSettings, *, progress: bool | None = None) -> dict:
    """Crawl and print a summary table; returns the totals."""
    from rich.console import Console
    from rich.table import Table

    with Archive(archive_dir) as archive:
        results = crawl_portals(portals, archive, settings, progress=progress)
    t = Table(title=f"crawl → {archive_dir}")
    for col in ("portal", "ok", "cms", "docs", "new", "changed", "unchanged", "failures", "requests", "KiB", "s"):
        t.add_column(col)
    for r in results:
        st = {k: sum(d.status == k for d in r.documents) for k in ("new", "changed", "unchanged")}
        t.add_row(r.portal_id, "yes" if r.ok else "NO", r.cms or "-", str(len(r.documents)), str(st["new"]),
                  str(st["changed"]), str(st["unchanged"]), str(len(r.failures)), str(r.requests),
                  f"{r.bytes / 1024:.0f}", f"{r.elapsed_s:.1f}")
    console = Console(width=160)
    console.print(t)
    for r in results:
        for f in r.failures[:10]:
            console.print(f"  [yellow]{r.portal_id}[/]: {f.kind} {f.url} ({f.reason}; attempts={f.attempts})",
                          markup=True, highlight=False)
        if r.error:
            console.print(f"  [red]{r.portal_id}[/]: {r.error}", markup=True, highlight=False)
    totals = summarize(results)
    console.print(" ".join(f"{k}={v}" for k, v in totals.items()))
    return totals
