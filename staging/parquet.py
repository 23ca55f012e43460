"""The staged Parquet files of one shard: writer (shard run) and reader (merger), with explicit schemas.

Every table has ``portal_id`` and ``piece`` (the piece's number within the shard) so the merger can read one
piece at a time (row-group statistics skip the rest) and load the portals in registry order whatever shard
they were in.  Numbers that may be ``int`` or ``float`` (fact values, finding expected/actual) are stored with
an ``*_int`` flag: ``Report.content_hash`` prints the value, so ``5`` and ``5.0`` are different reports.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.types import CrawledDocument, FetchFailure, FetchRecord, PortalCrawl
from extractors.model import Fact, Finding, Report, Section, Table
from publication import Decision

TS = pa.timestamp("us", tz="UTC")
S, I32, I64, F64, B = pa.string(), pa.int32(), pa.int64(), pa.float64(), pa.bool_()


def _schema(*cols: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([("portal_id", S), ("piece", I32), *cols])


SCHEMAS: dict[str, pa.Schema] = {
    # one row per DocumentInput of a piece (``doc``: its position in the piece)
    "documents": _schema(("doc", I32), ("url", S), ("sha256", S), ("fetched_at", TS), ("fetched_naive", B),
                         ("crawl_status", S), ("kind", S), ("error", S), ("link_text", S), ("list_date", pa.date32()),
                         ("parent_url", S), ("supplement_of", S), ("content_type", S), ("has_report", B)),
    "reports": _schema(("doc", I32), ("is_report", B), ("reason", S), ("title", S), ("agency", S), ("year", I32),
                       ("published", pa.date32()), ("template", S), ("text", S), ("encoding", S), ("source_url", S),
                       ("attachments", pa.list_(S)), ("images", pa.list_(S)), ("unread", S), ("doc_kind", S),
                       ("tables_json", S), ("content_hash", S)),
    "sections": _schema(("doc", I32), ("number", I32), ("heading", S), ("text", S)),
    "facts": _schema(("doc", I32), ("table", S), ("row", S), ("col", S), ("value", F64), ("value_int", B),
                     ("raw", S), ("table_index", I32), ("grid_row", I32), ("grid_col", I32), ("implicit_zero", B),
                     ("sentence", S)),
    "findings": _schema(("doc", I32), ("rule", S), ("severity", S), ("message", S), ("expected", F64),
                        ("expected_int", B), ("actual", F64), ("actual_int", B), ("table", S), ("row", S), ("col", S)),
    "decisions": _schema(("url", S), ("sha256", S), ("role", S), ("of_url", S)),
    # one row per piece: how the loader is to take it, and the counts the run summary shows
    "pieces": _schema(("crawl_ok", B), ("pending", pa.list_(S)), ("extracted", I32), ("unreadable", I32),
                      ("elapsed_s", F64), ("documents", I32)),
    # one row per portal crawl (``piece`` = -1): what ``RunLoader.finish`` takes
    "crawls": _schema(("ok", B), ("listing_complete", B), ("cms", S), ("error", S), ("requests", I64),
                      ("bytes", I64), ("elapsed_s", F64), ("revalidated", I64), ("revalidation_skipped", I64),
                      ("oldest_check_age_days", I64)),
    "crawl_documents": _schema(("url", S), ("kind", S), ("sha256", S), ("fetched_at", TS), ("fetched_naive", B),
                               ("status", S), ("content_type", S), ("link_text", S), ("list_date", pa.date32()),
                               ("parent_url", S)),
    "fetches": _schema(("url", S), ("fetched_at", TS), ("fetched_naive", B), ("kind", S), ("status", I32),
                       ("sha256", S), ("bytes", I64), ("attempts", I32), ("error", S), ("elapsed_ms", F64)),
    "failures": _schema(("url", S), ("kind", S), ("reason", S), ("attempts", I32)),
}
TABLES = tuple(SCHEMAS)


def _num(v: Any) -> tuple[float | None, bool]:
    if v is None:
        return None, False
    return float(v), isinstance(v, int) and not isinstance(v, bool)


def _unnum(v: float | None, is_int: bool) -> Any:
    return None if v is None else (int(v) if is_int else v)


def _ts(t: dt.datetime | None) -> tuple[dt.datetime | None, bool]:
    """A datetime for a UTC timestamp column, and whether it was naive (kept as it was on read)."""
    if t is None:
        return None, False
    if t.tzinfo is None:
        return t.replace(tzinfo=dt.timezone.utc), True
    return t, False


def _unts(t: dt.datetime | None, naive: bool) -> dt.datetime | None:
    if t is None:
        return None
    t = t.astimezone(dt.timezone.utc)
    return t.replace(tzinfo=None) if naive else t


class ShardWriter:
    """Appends pieces and crawls of one shard to its Parquet files (one open writer per table)."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._writers = {name: pq.ParquetWriter(self.dir / f"{name}.parquet", schema, compression="zstd")
                         for name, schema in SCHEMAS.items()}
        self.pieces = 0
        self.counts = {name: 0 for name in SCHEMAS}

    def _write(self, name: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._writers[name].write_table(pa.Table.from_pylist(rows, schema=SCHEMAS[name]))
            self.counts[name] += len(rows)

    def add_piece(self, portal_id: str, documents: list[Any], decisions: Iterable[Decision], *, crawl_ok: bool,
                  pending: Iterable[str] = (), extracted: int = 0, unreadable: int = 0, elapsed_s: float = 0.0) -> int:
        """One extracted piece (what ``RunLoader.load`` takes); returns its number."""
        n = self.pieces
        self.pieces += 1
        docs, reps, secs, facts, finds = [], [], [], [], []
        base = {"portal_id": portal_id, "piece": n}
        for i, d in enumerate(documents):
            t, naive = _ts(d.fetched_at)
            r: Report | None = d.report
            docs.append({**base, "doc": i, "url": d.url, "sha256": d.sha256, "fetched_at": t, "fetched_naive": naive,
                         "crawl_status": d.crawl_status, "kind": d.kind, "error": d.error, "link_text": d.link_text,
                         "list_date": d.list_date, "parent_url": d.parent_url, "supplement_of": d.supplement_of,
                         "content_type": getattr(d, "content_type", None), "has_report": r is not None})
            if r is None:
                continue
            key = {**base, "doc": i}
            reps.append({**key, "is_report": r.is_report, "reason": r.reason, "title": r.title, "agency": r.agency,
                         "year": r.year, "published": r.published, "template": r.template, "text": r.text,
                         "encoding": r.encoding, "source_url": r.source_url, "attachments": list(r.attachments),
                         "images": list(r.images), "unread": r.unread, "doc_kind": r.doc_kind,
                         "tables_json": json.dumps([_table_json(t) for t in r.tables], ensure_ascii=False),
                         "content_hash": r.content_hash()})
            secs.extend({**key, "number": s.number, "heading": s.heading, "text": s.text} for s in r.sections)
            for f in r.facts:
                v, vi = _num(f.value)
                facts.append({**key, "table": f.table, "row": f.row, "col": f.col, "value": v, "value_int": vi,
                              "raw": f.raw, "table_index": f.table_index, "grid_row": f.grid_row,
                              "grid_col": f.grid_col, "implicit_zero": f.implicit_zero, "sentence": f.sentence})
            for f in r.findings:
                e, ei = _num(f.expected)
                a, ai = _num(f.actual)
                finds.append({**key, "rule": f.rule, "severity": f.severity, "message": f.message, "expected": e,
                              "expected_int": ei, "actual": a, "actual_int": ai, "table": f.table, "row": f.row,
                              "col": f.col})
        self._write("documents", docs)
        self._write("reports", reps)
        self._write("sections", secs)
        self._write("facts", facts)
        self._write("findings", finds)
        self._write("decisions", [{**base, "url": x.url, "sha256": x.sha256, "role": x.role, "of_url": x.of_url}
                                  for x in decisions])
        self._write("pieces", [{**base, "crawl_ok": crawl_ok, "pending": list(pending), "extracted": extracted,
                                "unreadable": unreadable, "elapsed_s": elapsed_s, "documents": len(documents)}])
        return n

    def add_crawl(self, c: PortalCrawl) -> None:
        """One portal's crawl (fetch log, failures, documents seen): what ``RunLoader.finish`` takes."""
        base = {"portal_id": c.portal_id, "piece": -1}
        self._write("crawls", [{**base, "ok": c.ok, "listing_complete": c.listing_complete, "cms": c.cms,
                                "error": c.error, "requests": c.requests, "bytes": c.bytes, "elapsed_s": c.elapsed_s,
                                "revalidated": c.revalidated, "revalidation_skipped": c.revalidation_skipped,
                                "oldest_check_age_days": c.oldest_check_age_days}])
        rows = []
        for d in c.documents:
            t, naive = _ts(d.fetched_at)
            rows.append({**base, "url": d.url, "kind": d.kind, "sha256": d.sha256, "fetched_at": t,
                         "fetched_naive": naive, "status": d.status, "content_type": d.content_type,
                         "link_text": d.link_text, "list_date": d.list_date, "parent_url": d.parent_url})
        self._write("crawl_documents", rows)
        rows = []
        for f in c.fetches:
            t, naive = _ts(f.fetched_at)
            rows.append({**base, "url": f.url, "fetched_at": t, "fetched_naive": naive, "kind": f.kind,
                         "status": f.status, "sha256": f.sha256, "bytes": f.bytes, "attempts": f.attempts,
                         "error": f.error, "elapsed_ms": f.elapsed_ms})
        self._write("fetches", rows)
        self._write("failures", [{**base, "url": f.url, "kind": f.kind, "reason": f.reason, "attempts": f.attempts}
                                 for f in c.failures])

    def close(self) -> dict[str, int]:
        """Close every file (the manifest is written after this, by the caller); returns rows per table."""
        for w in self._writers.values():
            w.close()
        return dict(self.counts)


def _table_json(t: Table) -> dict[str, Any]:
    return {"index": t.index, "grid": t.grid, "kind": t.kind, "parts": list(t.parts), "source": t.source,
            "row_locs": t.row_locs}


def _table_from_json(o: dict[str, Any]) -> Table:
    return Table(index=o["index"], grid=o["grid"], kind=o["kind"], parts=tuple(o["parts"]), source=o["source"],
                 row_locs=o["row_locs"])


class ShardReader:
    """A complete shard read back: its pieces per portal (in the order written) and its crawls."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        pieces = pq.read_table(self.dir / "pieces.parquet").to_pylist()
        self.pieces_of: dict[str, list[dict[str, Any]]] = {}
        for p in pieces:
            self.pieces_of.setdefault(p["portal_id"], []).append(p)

    @property
    def portal_ids(self) -> list[str]:
        return list(self.pieces_of)

    def _read(self, name: str, piece: int) -> list[dict[str, Any]]:
        return pq.read_table(self.dir / f"{name}.parquet", filters=[("piece", "==", piece)]).to_pylist()

    def piece(self, meta: dict[str, Any], make_document: Callable[..., Any]) -> tuple[list[Any], list[Decision]]:
        """The documents (made by ``make_document(**fields)``, reports attached) and decisions of one piece."""
        n, pid = meta["piece"], meta["portal_id"]
        by_doc: dict[int, dict[str, list]] = {}
        for name in ("sections", "facts", "findings"):
            for row in self._read(name, n):
                by_doc.setdefault(row["doc"], {}).setdefault(name, []).append(row)
        reports = {row["doc"]: _report(row, by_doc.get(row["doc"], {})) for row in self._read("reports", n)}
        docs = []
        for row in sorted(self._read("documents", n), key=lambda r: r["doc"]):
            d = make_document(portal_id=pid, url=row["url"], sha256=row["sha256"],
                              fetched_at=_unts(row["fetched_at"], row["fetched_naive"]),
                              crawl_status=row["crawl_status"], kind=row["kind"], report=reports.get(row["doc"]),
                              error=row["error"], link_text=row["link_text"], list_date=row["list_date"],
                              parent_url=row["parent_url"], supplement_of=row["supplement_of"])
            docs.append(d)
        decisions = [Decision(pid, r["url"], r["sha256"], r["role"], r["of_url"]) for r in self._read("decisions", n)]
        return docs, decisions

    def crawls(self) -> Iterator[PortalCrawl]:
        """Every portal crawl of the shard, with its documents, fetch log and failures."""
        docs: dict[str, list[CrawledDocument]] = {}
        for r in pq.read_table(self.dir / "crawl_documents.parquet").to_pylist():
            docs.setdefault(r["portal_id"], []).append(CrawledDocument(
                portal_id=r["portal_id"], url=r["url"], kind=r["kind"], sha256=r["sha256"],
                fetched_at=_unts(r["fetched_at"], r["fetched_naive"]), status=r["status"],
                content_type=r["content_type"], link_text=r["link_text"], list_date=r["list_date"],
                parent_url=r["parent_url"]))
        fetches: dict[str, list[FetchRecord]] = {}
        for r in pq.read_table(self.dir / "fetches.parquet").to_pylist():
            fetches.setdefault(r["portal_id"], []).append(FetchRecord(
                portal_id=r["portal_id"], url=r["url"], fetched_at=_unts(r["fetched_at"], r["fetched_naive"]),
                kind=r["kind"], status=r["status"], sha256=r["sha256"], bytes=r["bytes"], attempts=r["attempts"],
                error=r["error"], elapsed_ms=r["elapsed_ms"]))
        failures: dict[str, list[FetchFailure]] = {}
        for r in pq.read_table(self.dir / "failures.parquet").to_pylist():
            failures.setdefault(r["portal_id"], []).append(FetchFailure(
                portal_id=r["portal_id"], url=r["url"], kind=r["kind"], reason=r["reason"], attempts=r["attempts"]))
        for r in pq.read_table(self.dir / "crawls.parquet").to_pylist():
            pid = r["portal_id"]
            yield PortalCrawl(portal_id=pid, ok=r["ok"], listing_complete=r["listing_complete"], cms=r["cms"],
                              error=r["error"], documents=docs.get(pid, []), failures=failures.get(pid, []),
                              fetches=fetches.get(pid, []), requests=r["requests"], bytes=r["bytes"],
                              elapsed_s=r["elapsed_s"], revalidated=r["revalidated"],
                              revalidation_skipped=r["revalidation_skipped"],
                              oldest_check_age_days=r["oldest_check_age_days"])


def _report(row: dict[str, Any], parts: dict[str, list]) -> Report:
    r = Report(
        is_report=row["is_report"], reason=row["reason"], title=row["title"], agency=row["agency"], year=row["year"],
        published=row["published"], template=row["template"],
        sections=[Section(s["number"], s["heading"], s["text"]) for s in parts.get("sections", [])],
        tables=[_table_from_json(t) for t in json.loads(row["tables_json"])],
        facts=[Fact(table=f["table"], row=f["row"], col=f["col"], value=_unnum(f["value"], f["value_int"]),
                    raw=f["raw"], table_index=f["table_index"], grid_row=f["grid_row"], grid_col=f["grid_col"],
                    implicit_zero=f["implicit_zero"], sentence=f["sentence"]) for f in parts.get("facts", [])],
        findings=[Finding(rule=f["rule"], severity=f["severity"], message=f["message"],
                          expected=_unnum(f["expected"], f["expected_int"]),
                          actual=_unnum(f["actual"], f["actual_int"]), table=f["table"], row=f["row"], col=f["col"])
                  for f in parts.get("findings", [])],
        text=row["text"], encoding=row["encoding"], source_url=row["source_url"],
        attachments=list(row["attachments"] or []), images=list(row["images"] or []), unread=row["unread"],
        doc_kind=row["doc_kind"],
    )
    if r.content_hash() != row["content_hash"]:
        raise ValueError(f"staged report {row['portal_id']} piece {row['piece']} doc {row['doc']} does not read back "
                         "as it was written (content hash differs)")
    return r
