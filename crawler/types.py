"""What the crawl stage gives the rest of the pipeline (a stable contract, docs/architecture.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

DocKind = Literal["report_page", "attachment"]
CrawlStatus = Literal["new", "changed", "unchanged"]


@dataclass(slots=True)
class FetchRecord:
    """One HTTP exchange (or failed attempt series) — a row of the fetch log."""

    portal_id: str
    url: str
    fetched_at: dt.datetime  # UTC
    kind: str  # "robots" | "list" | "list_api" | "report_page" | "attachment" | "start"
    status: int | None  # HTTP status; None when no response (timeout, reset, refused, blocked)
    sha256: str | None = None  # of the archived body, when there was one
    bytes: int = 0  # body bytes received
    attempts: int = 1
    error: str | None = None  # failure kind + reason, e.g. "timeout: read timed out after 30s"
    elapsed_ms: float = 0.0


@dataclass(slots=True)
class CrawledDocument:
    """A report page or attachment the crawl saw this run (including unchanged ones)."""

    portal_id: str
    url: str
    kind: DocKind
    sha256: str  # raw body in the archive
    fetched_at: dt.datetime  # when the archived body was fetched (UTC)
    status: CrawlStatus
    content_type: str | None = None
    link_text: str | None = None  # the anchor text on the list page (title hint)
    list_date: dt.date | None = None  # the date shown beside the link, when the list shows one
    parent_url: str | None = None  # for attachments: the report page that links it


@dataclass(slots=True)
class FetchFailure:
    portal_id: str
    url: str
    kind: str  # "timeout" | "connect" | "reset" | "http_404" | "http_5xx" | "truncated" | "too_large" | "offsite_redirect" | "robots" | "tls" | "anti_crawl" | "trap" | ...
    reason: str
    attempts: int = 1


@dataclass(slots=True)
class PortalCrawl:
    portal_id: str
    ok: bool  # False when the portal could not be crawled at all (start URL failed)
    listing_complete: bool  # every list page was read: only then may a missing report be called withdrawn
    cms: str | None = None  # detected CMS family
    error: str | None = None
    documents: list[CrawledDocument] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)
    fetches: list[FetchRecord] = field(default_factory=list)
    requests: int = 0
    bytes: int = 0
    elapsed_s: float = 0.0
    #: known report pages / attachments re-requested tonight (conditional GET, or a plain GET compared by sha256)
    revalidated: int = 0
    #: known report pages / attachments reported unchanged from the archive without a request: left out of
    #: tonight's revalidation budget (crawler/revalidation.py)
    revalidation_skipped: int = 0
    #: nights since the least recently confirmed of those skipped documents was last checked (0: none skipped)
    oldest_check_age_days: int = 0
