"""An attachment of a complete HTML report is the same report again: archived, never loaded twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from crawler.archive import Archive
from crawler.types import CrawledDocument, PortalCrawl
from flows.pipeline import extract_portal
from ogi.config import Settings
from ogi.registry import Portal
from warehouse import open_writer
from warehouse.inputs import RunInput
from warehouse.load import load_run

FIX = Path(__file__).parent / "fixtures" / "reports"
NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)


def _doc(archive: Archive, url: str, body: bytes, kind: str, status: str, parent: str | None = None) -> CrawledDocument:
    sha = archive.put(url, body, portal_id="p-a", kind=kind, status=200, fetched_at=NOW)
    return CrawledDocument("p-a", url, kind, sha, NOW, status, parent_url=parent)


def _settings(tmp_path: Path) -> Settings:
    s = Settings.load(db=tmp_path / "ogi.duckdb", archive=tmp_path / "archive", portals=tmp_path / "none.yaml")
    return s


def test_attachment_of_complete_report_is_a_document_not_a_second_report(tmp_path):
    settings = _settings(tmp_path)
    archive = Archive(settings.archive_dir)
    page = (FIX / "trs-county-2019.html").read_bytes()
    only_link = (FIX / "decoy-list-page.html").read_bytes()  # a page that is not a report itself
    base = "http://127.0.0.1/p/"
    docs = [
        _doc(archive, base + "t1.html", page, "report_page", "new"),
        # the same report again as the "original" attachment (here: the same bytes under a .html name)
        _doc(archive, base + "P01.html", page, "attachment", "new", parent=base + "t1.html"),
        _doc(archive, base + "t2.html", only_link, "report_page", "new"),
        _doc(archive, base + "P02.html", page.replace(b"2019", b"2018"), "attachment", "new", parent=base + "t2.html"),
    ]
    archive.commit()
    crawl = PortalCrawl("p-a", ok=True, listing_complete=True, documents=docs)
    batch = extract_portal(crawl, settings, archive=archive)
    by_url = {d.url: d for d in batch.documents}
    assert batch.extracted == 3  # the copy under the complete page t1 is not even extracted
    assert by_url[base + "P01.html"].supplement_of == base + "t1.html"
    assert by_url[base + "P01.html"].report is None
    assert by_url[base + "P02.html"].supplement_of is None  # its page only carries it: the attachment is the report
    assert by_url[base + "P02.html"].report is not None and by_url[base + "P02.html"].report.is_report
    assert by_url[base + "t2.html"].supplement_of == base + "P02.html"  # the carrier page is not a report of its own

    portal = Portal("p-a", "A县人民政府", (base,), ("127.0.0.1",), county="A县")
    run = RunInput("r1", NOW, [portal], [crawl], batch.documents, as_of=dt.date(2026, 11, 25))
    with open_writer(settings.db_path, 5) as wh:
        load_run(wh, run)
        urls = {r[0] for r in wh.execute("SELECT url FROM reports").fetchall()}
        documents = {r[0] for r in wh.execute("SELECT url FROM documents").fetchall()}
        dup = wh.scalar("SELECT count(*) FROM findings WHERE rule = 'xr.duplicate_publication'")
    assert urls == {base + "t1.html", base + "P02.html"}  # one report per publication
    assert {base + "P01.html", base + "t2.html"} <= documents  # the others are indexed as raw documents
    assert dup == 0

    # next night: everything unchanged (not re-extracted); the page is read back from the archive
    for d in docs:
        d.status = "unchanged"
    again = extract_portal(crawl, settings, archive=archive)
    assert {d.url: d.supplement_of for d in again.documents}[base + "P01.html"] == base + "t1.html"
    archive.close()
