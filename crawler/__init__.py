"""The crawl stage: find and fetch every annual report of a portal, politely and incrementally.

See docs/crawler.md.  Public API::

    from crawler import Archive, crawl_portal, crawl_portals
    results = crawl_portals(portals, Archive("data/archive"), CrawlSettings())
"""

from crawler.archive import Archive, ArchivedDocument, UrlState
from crawler.crawl import crawl_portal, crawl_portals, crawl_portals_async, summarize
from crawler.types import CrawledDocument, FetchFailure, FetchRecord, PortalCrawl

__all__ = [
    "Archive", "ArchivedDocument", "UrlState", "crawl_portal", "crawl_portals", "crawl_portals_async", "summarize",
    "CrawledDocument", "FetchFailure", "FetchRecord", "PortalCrawl",
]
