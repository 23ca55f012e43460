"""Staged Parquet (staging/): a Report read back is the one extracted, and a half-written shard is never complete."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from crawler.types import CrawledDocument, FetchFailure, FetchRecord, PortalCrawl
from extractors import extract
from publication import Decision
from staging import ShardReader, ShardWriter, complete_attempt, write_manifest
from staging.parquet import TABLES
from warehouse.inputs import DocumentInput

FIXTURES = Path(__file__).parent / "fixtures" / "reports"


def _documents():
    docs = []
    for i, f in enumerate(sorted(p for p in FIXTURES.rglob("*") if p.is_file())[:40]):
        try:
            report = extract(f.read_bytes(), url=f"http://h/{f.name}", filename=f.name)
        except Exception:  # noqa: BLE001 - unreadable fixtures stay report-less
            report = None
        docs.append(DocumentInput(portal_id="p1", url=f"http://h/{i}/{f.name}", sha256=f"{i:064x}",
                                  fetched_at=dt.datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc),
                                  crawl_status="new", report=report, link_text=f.stem,
                                  list_date=dt.date(2024, 3, 1), error=None if report else "unreadable: x"))
    return docs


def test_a_report_round_trips_through_the_staged_parquet_exactly(tmp_path):
    docs = _documents()
    assert sum(d.report is not None and d.report.is_report for d in docs) >= 10
    decisions = [Decision("p1", docs[0].url, docs[0].sha256, "report")]
    crawl = PortalCrawl(portal_id="p1", ok=True, listing_complete=True, cms="trs", documents=[
        CrawledDocument("p1", d.url, "report_page", d.sha256, d.fetched_at, "new") for d in docs],
        failures=[FetchFailure("p1", "http://h/x", "timeout", "read timed out", 3)],
        fetches=[FetchRecord("p1", "http://h/", dt.datetime(2025, 1, 2, tzinfo=dt.timezone.utc), "list", 200, bytes=9)],
        requests=41, bytes=12345)
    w = ShardWriter(tmp_path)
    w.add_piece("p1", docs, decisions, crawl_ok=True, pending=["http://h/pending"], extracted=len(docs))
    w.add_crawl(crawl)
    w.close()
    r = ShardReader(tmp_path)
    (meta,) = r.pieces_of["p1"]
    back, back_decisions = r.piece(meta, DocumentInput)
    assert back == docs  # every field of every document and report (sections, tables, facts, findings)
    for a, b in zip(back, docs):
        if b.report is not None:
            assert a.report.content_hash() == b.report.content_hash()
            assert [type(f.value) for f in a.report.facts] == [type(f.value) for f in b.report.facts]
    assert back_decisions == decisions and meta["pending"] == ["http://h/pending"]
    assert list(r.crawls()) == [crawl]


def test_a_shard_without_a_complete_manifest_is_ignored(tmp_path):
    from staging import attempt_dir

    d = attempt_dir(tmp_path, "R1", 0, 0)
    w = ShardWriter(d)
    w.add_piece("p1", _documents()[:3], [], crawl_ok=True)
    w.close()
    assert complete_attempt(tmp_path, "R1", 0) is None  # no manifest yet: half-written
    files = [f"{t}.parquet" for t in TABLES]
    write_manifest(d, run_id="R1", shard=0, attempt=0, files=files)
    m = complete_attempt(tmp_path, "R1", 0)
    assert m is not None and set(m["files"]) == set(files)
    with open(d / "facts.parquet", "ab") as f:  # a file that no longer matches its manifest
        f.write(b"x")
    assert complete_attempt(tmp_path, "R1", 0) is None
