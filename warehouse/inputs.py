"""What the load stage takes: one run's worth of portals, fetches and extracted documents."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from crawler.types import CrawlStatus, FetchRecord, PortalCrawl
from extractors.model import Report
from ogi.registry import Portal


@dataclass(slots=True)
class DocumentInput:
    portal_id: str
    url: str
    sha256: str  # raw body in the archive
    fetched_at: dt.datetime
    crawl_status: CrawlStatus
    kind: str = "report_page"  # or "attachment"
    report: Report | None = None  # None when unchanged and not re-extracted, or unreadable
    error: str | None = None  # why it could not be read (UnreadableInput), if so
    link_text: str | None = None
    list_date: dt.date | None = None
    parent_url: str | None = None
    #: For an attachment that merely accompanies a complete HTML report (the same report as a PDF/DOCX):
    #: the URL of that report page. It is archived and indexed as a document, never loaded as a second report.
    supplement_of: str | None = None


@dataclass(slots=True)
class RunInput:
    run_id: str
    started_at: dt.datetime
    portals: list[Portal]
    crawls: list[PortalCrawl]  # per portal: ok / listing_complete / failures / fetch log
    documents: list[DocumentInput]
    as_of: dt.date = field(default_factory=dt.date.today)  # "today" for deadlines (late / missing)
    #: "nightly" | "backfill" | "reprocess": reprocess has no crawl, so nothing is withdrawn.
    mode: str = "nightly"
    #: The publication decisions of this run (``publication.Decision``), stored with the load.
    publications: list = field(default_factory=list)
