"""The nightly pipeline as plain Python functions; the Prefect flows in this package only wrap them.

Keeping the stages plain means they are unit-testable without Prefect, ``bench/e2e`` can time the same
work with and without the Prefect engine, and a broken Prefect install cannot hide a pipeline bug.

Stages: registry → crawl (per portal) → extract + validate (per portal batch, only new/changed
documents) → load (+ cross-report checks and alert outbox rows, one warehouse transaction per batch) →
publish the analyst snapshot → deliver alerts → run summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import logging
import os
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import unquote, urlsplit

from flows import crawl_loop
from ogi.config import Settings, redact_url
from ogi.killpoints import killpoint
from ogi.registry import Portal, RegistryError, load_registry

log = logging.getLogger("ogi.pipeline")


class RunRefused(Exception):
    """The run could not proceed at all (bad registry, warehouse locked, …): one line, no traceback."""


# ------------------------------------------------------------------------------------------- registry


def load_portals(settings: Settings, only: Iterable[str] | None = None) -> list[Portal]:
    """The registry, optionally narrowed to some portal ids (an unknown id is an error, not a no-op)."""
    try:
        portals = load_registry(settings.portals_path)
    except RegistryError as e:
        raise RunRefused(str(e)) from None
    if only:
        wanted = list(dict.fromkeys(only))
        known = {p.id for p in portals}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise RunRefused(f"unknown portal id(s) {', '.join(unknown)} in {settings.portals_path}")
        portals = [p for p in portals if p.id in wanted]
    return portals


# ------------------------------------------------------------------------------------------- crawl


def import_stages() -> None:
    """Import every stage a run reaches (crawler, extractors, publication, loader, alerts, analyst page) now.

    The stages are imported lazily so that ``ogi`` commands that need one stage do not load them all; a run
    needs them all, so the flow modules call this when they are imported.  A broken install then fails there,
    before a run takes the warehouse lock, rather than half-way through a night; and the ~0.1 s the imports
    cost is paid once per process, not inside the run (``bench.e2e`` times runs, not start-up).
    """
    import alerts.deliver  # noqa: F401
    import alerts.outbox  # noqa: F401
    import analyst  # noqa: F401
    import analyst.data  # noqa: F401
    import analyst.drilldown  # noqa: F401
    import analyst.render  # noqa: F401
    import analyst.snapshot  # noqa: F401
    import crawler  # noqa: F401
    import extractors  # noqa: F401
    import publication  # noqa: F401
    import warehouse.load  # noqa: F401
    import warehouse.runlog  # noqa: F401


def open_archive(settings: Settings) -> Any:
    from crawler.archive import Archive

    return Archive(settings.archive_dir)


async def crawl_one_async(portal: Portal, settings: Settings, *, full: bool = False, archive: Any = None) -> Any:
    """Crawl one portal (raises only on a crawler bug; an unreachable portal is a ``PortalCrawl(ok=False)``).

    ``full=True`` (backfill) re-fetches everything, ignoring the conditional-GET state.
    """
    from crawler import crawl_portal

    own = archive is None
    archive = archive if archive is not None else open_archive(settings)
    crawl_settings = settings.crawl
    if full:
        # the crawler sends If-None-Match / If-Modified-Since unless ``settings.conditional`` is False
        crawl_settings = copy.copy(settings.crawl)
        crawl_settings.conditional = False  # type: ignore[attr-defined]
    client = None
    if portal.verify_tls and crawl_loop.on_crawl_loop():  # a flow's crawl: one connection pool for the run
        from crawler.crawl import client_profile, make_client

        client = crawl_loop.shared_client(client_profile(crawl_settings), lambda: make_client(crawl_settings))
    try:
        return await crawl_portal(portal, archive, crawl_settings, client)
    finally:
        if own:
            _close(archive)


def crawl_one(portal: Portal, settings: Settings, *, full: bool = False, archive: Any = None) -> Any:
    """Synchronous :func:`crawl_one_async` (for callers without an event loop)."""
    return asyncio.run(crawl_one_async(portal, settings, full=full, archive=archive))


def failed_crawl(portal: Portal, error: BaseException | str) -> Any:
    """What a portal whose crawl task failed for good looks like to the loader: not ok, nothing listed."""
    from crawler.types import PortalCrawl

    msg = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return PortalCrawl(portal_id=portal.id, ok=False, listing_complete=False, error=redact_url(msg)[:500])


def _close(obj: Any) -> None:
    close = getattr(obj, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


# ------------------------------------------------------------------------------------------- extract


@dataclass(slots=True)
class ExtractBatch:
    portal_id: str
    documents: list[Any]  # warehouse.inputs.DocumentInput
    decisions: list[Any] = field(default_factory=list)  # publication.Decision, stored by the load
    pending: list[str] = field(default_factory=list)  # carrier pages waiting for their attachment
    extracted: int = 0
    unreadable: int = 0
    elapsed_s: float = 0.0


def _filename(url: str) -> str | None:
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return name or None


def extract_document(data: bytes, doc: Any) -> tuple[Any, str | None]:
    """``(report, None)`` or ``(None, reason)``: one unreadable document never stops the batch."""
    from extractors import extract
    from extractors.model import UnreadableInput

    try:
        return (
            extract(data, url=doc.url, content_type=getattr(doc, "content_type", None), filename=_filename(doc.url)),
            None,
        )
    except UnreadableInput as e:
        return None, f"unreadable: {e}"[:500]
    except Exception as e:  # noqa: BLE001 - an extractor bug on one page is recorded, not fatal
        log.warning("extractor failed on %s: %s", doc.url, e)
        return None, f"extractor error: {type(e).__name__}: {e}"[:500]


def extract_portal(
    crawl: Any,
    settings: Settings,
    *,
    reextract_all: bool = False,
    years: Iterable[int] | None = None,
    archive: Any = None,
    stored: dict[str, Any] | None = None,
) -> ExtractBatch:
    """Extract + validate the new/changed documents of one portal's crawl (CPU work: only what changed).

    Unchanged documents go to the loader as ``report=None, crawl_status="unchanged"`` so it keeps them
    (and does not call them withdrawn).  With ``years`` (backfill), reports of other years are passed on
    as unchanged: a backfill of 2020 never touches 2021.  Then the publication stage decides which document of
    a page and its attachments is the report (``stored``: the decisions earlier runs stored for this portal).
    """
    from publication import is_complete_report
    from warehouse.inputs import DocumentInput

    t0 = time.perf_counter()
    want_years = set(years or ())
    own = archive is None
    batch = ExtractBatch(portal_id=crawl.portal_id, documents=[])
    try:
        complete_pages: set[str] = set()  # pages extracted this run as complete reports
        # pages first: an attachment under a complete report page is a copy and need not be extracted
        for doc in sorted(crawl.documents, key=lambda d: d.kind == "attachment"):
            status = getattr(doc, "status", "changed")  # archived documents (reprocess) have no crawl status
            di = DocumentInput(
                portal_id=doc.portal_id,
                url=doc.url,
                sha256=doc.sha256,
                fetched_at=doc.fetched_at,
                crawl_status=status,
                kind=doc.kind,
                link_text=doc.link_text,
                list_date=doc.list_date,
                parent_url=doc.parent_url,
            )
            if (status != "unchanged" or reextract_all) and not (
                doc.kind == "attachment" and doc.parent_url in complete_pages
            ):
                if archive is None:
                    archive = open_archive(settings)
                try:
                    data = archive.get(doc.sha256)
                except Exception as e:  # noqa: BLE001 - a missing blob is this document's problem only
                    di.error = f"archive: {type(e).__name__}: {e}"[:500]
                    batch.unreadable += 1
                    batch.documents.append(di)
                    continue
                report, err = extract_document(data, doc)
                killpoint("extract.document")
                batch.extracted += 1
                if err:
                    di.error = err
                    batch.unreadable += 1
                elif want_years and report is not None and report.year not in want_years:
                    di.crawl_status = "unchanged"  # outside the backfill: leave it as it is
                    report = None
                di.report = report
                if doc.kind != "attachment" and is_complete_report(report):
                    complete_pages.add(doc.url)
            batch.documents.append(di)
        archive = decide_publications(batch, settings, archive, stored)
    finally:
        if own and archive is not None:
            _close(archive)
    batch.elapsed_s = time.perf_counter() - t0
    return batch


def decide_publications(batch: ExtractBatch, settings: Settings, archive: Any, stored: dict[str, Any] | None) -> Any:
    """The publication stage (:mod:`publication`) over one portal's extracted documents; returns the archive."""
    from publication import Decision, PublicationInput, decide

    holder = {"archive": archive}

    def read_page(doc: Any) -> Any:
        if holder["archive"] is None:
            holder["archive"] = open_archive(settings)
        try:
            report, _ = extract_document(holder["archive"].get(doc.sha256), doc)
        except Exception:  # noqa: BLE001 - unreadable: treat as a carrier page
            report = None
        return report

    known = {url: (v if isinstance(v, Decision) else Decision(batch.portal_id, url, *v))
             for url, v in (stored or {}).items()}
    out = decide(PublicationInput(batch.portal_id, batch.documents, known, read_page))
    batch.decisions = out.decisions
    batch.pending = out.pending
    return holder["archive"]


def documents_from_archive(settings: Settings, portal_ids: Iterable[str] | None = None) -> list[Any]:
    """Reprocess: the latest archived body of every known document, re-extracted, no network."""
    archive = open_archive(settings)
    try:
        docs: list[Any] = []
        ids = list(portal_ids) if portal_ids else [None]
        for pid in ids:
            docs.extend(archive.reprocessable(pid))  # corrupt publications skipped and listed (crawler/archive.py)
        return docs
    finally:
        _close(archive)


# ------------------------------------------------------------------------------------------- load


#: Documents to extract per piece (a page and its attachments stay together): with the extraction window
#: (``flows.tasks``) this bounds how many extracted reports a run holds at once, whatever its size.
EXTRACT_PIECE = int(os.environ.get("OGI_EXTRACT_PIECE", "100"))


def extract_pieces(crawl: Any, *, reextract_all: bool = False, size: int | None = None) -> list[Any]:
    """One portal's crawl cut into pieces of about ``size`` documents to extract, each a ``PortalCrawl``.

    A page and its attachments are one group (the publication stage decides them together); a document the
    crawler calls unchanged weighs 1/20 (usually not extracted, only decided).  The crawl's fetch log and
    failures stay with the whole crawl (the run's final load transaction), not with the pieces.
    """
    from crawler.types import PortalCrawl

    size = max(1, size or EXTRACT_PIECE)
    docs = list(crawl.documents)
    pages = {d.url for d in docs if d.kind != "attachment"}
    groups: dict[str, list[Any]] = {}
    for d in docs:
        key = d.parent_url if d.kind == "attachment" and d.parent_url in pages else d.url
        groups.setdefault(key, []).append(d)
    pieces: list[list[Any]] = []
    cur: list[Any] = []
    weight = 0.0
    for g in groups.values():
        cur.extend(g)
        weight += sum(1.0 if reextract_all or getattr(d, "status", "changed") != "unchanged" else 0.05 for d in g)
        if weight >= size:
            pieces.append(cur)
            cur, weight = [], 0.0
    if cur or not pieces:
        pieces.append(cur)
    return [PortalCrawl(portal_id=crawl.portal_id, ok=crawl.ok, listing_complete=crawl.listing_complete,
                        cms=crawl.cms, error=crawl.error, documents=p) for p in pieces]


def stored_decisions(wh: Any) -> dict[str, dict[str, tuple]]:
    """The publication decisions earlier runs stored, per portal (read once, before the extraction tasks)."""
    from warehouse.load import stored_publications

    return stored_publications(wh)


class RunStream:
    """The load side of a run: each extracted piece is loaded as it comes and its reports released.

    What stays for the run summary is one reportless :class:`ExtractBatch` per portal (URLs, crawl status,
    errors: a few hundred bytes a document), so extracted reports never accumulate; what still grows with a run's
    size is measured by ``python -m bench.memory`` (docs/benchmarks.md: 1.26× from 1,000 to 10,000 pages).
    """

    def __init__(self, wh: Any, settings: Settings | None, run_id: str, started_at: dt.datetime,
                 portals: list[Portal], mode: str, *, as_of: dt.date | None = None, release: bool = True) -> None:
        from warehouse.load import RunLoader

        kw = {"unreachable_after": settings.portal_unreachable_after} if settings is not None else {}
        self.wh, self.settings, self.release = wh, settings, release
        self.loader = RunLoader(wh, run_id, started_at, mode=mode, as_of=as_of, portals=portals, **kw)
        self.batches: dict[str, ExtractBatch] = {}
        self._archive: Any = None
        self._released = 0  # extracted reports loaded and let go: worth handing their heap back (finish)

    def add(self, batch: ExtractBatch, *, crawl_ok: bool = True) -> None:
        """Load one extracted piece (after reading from the archive what the warehouse has never seen)."""
        redo = self.loader.unknown(batch.documents) if self.settings is not None else []
        if redo:
            if self._archive is None:
                self._archive = open_archive(self.settings)
            for d in redo:
                try:
                    d.report, d.error = extract_document(self._archive.get(d.sha256), d)
                except Exception as e:  # noqa: BLE001 - a missing blob is this document's problem only
                    d.error = f"archive: {type(e).__name__}: {e}"[:500]
            # a page read back only now still goes through the publication stage: a carrier page whose
            # attachment is missing (a crash between the two fetches) must not be loaded as the report
            self._archive = _redecide(batch, redo, self.settings, self._archive)
        self.loader.load(batch.documents, batch.decisions, crawl_ok=crawl_ok)
        killpoint("load.piece")  # a piece committed, the run's final transaction not yet done
        if self.release:
            for d in batch.documents:
                if d.report is not None:
                    self._released += 1
                    d.report = None
        kept = self.batches.get(batch.portal_id)
        if kept is None:
            self.batches[batch.portal_id] = ExtractBatch(
                portal_id=batch.portal_id, documents=list(batch.documents), pending=list(batch.pending),
                extracted=batch.extracted, unreadable=batch.unreadable, elapsed_s=batch.elapsed_s)
        else:
            kept.documents.extend(batch.documents)
            kept.pending.extend(batch.pending)
            kept.extracted += batch.extracted
            kept.unreadable += batch.unreadable
            kept.elapsed_s += batch.elapsed_s

    def summary_batches(self, portals: list[Portal]) -> list[ExtractBatch]:
        order = {p.id: i for i, p in enumerate(portals)}
        return sorted(self.batches.values(), key=lambda b: order.get(b.portal_id, 0))

    def finish(self, crawls: list[Any]) -> Any:
        """The run's final transaction, then the analyst snapshot."""
        try:
            result = self.loader.finish(crawls)
        finally:
            if self._archive is not None:
                _close(self._archive)
                self._archive = None
        self.wh.publish()
        if self._released:  # a no-change night extracted nothing: a full collection would only cost time
            release_freed_memory()
        return result


@contextlib.contextmanager
def startup_heap_frozen() -> Iterator[None]:
    """The run with the objects that exist when it starts (imports, Prefect's engine: most of the heap) moved out
    of the cyclic GC's reach (``gc.freeze``), and put back at the end.

    A full collection rescans every tracked object; with the startup heap in it, the one a run triggers when the
    loader re-enables the GC cost ~0.3 s, an eighth of a no-change rerun.  Nothing created before the run becomes
    garbage during it, so freezing it frees nothing less; ``unfreeze`` at the end keeps a long-lived process (tests,
    ``ogi serve`` running flows in-process) from accumulating frozen objects run after run.
    """
    import gc

    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def release_freed_memory() -> None:
    """Give the heap freed by extraction back to the OS (glibc keeps it otherwise), before the analyst page.

    Best effort and Linux/glibc only: elsewhere, or without ``malloc_trim``, it does nothing.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def load(wh: Any, ri: Any, settings: Settings | None = None) -> Any:
    """Load one run held in memory (``RunInput``), then publish the snapshot (tests; a run streams instead).

    Documents the crawler calls unchanged are not extracted; those the warehouse has never seen are extracted
    from the archive first (:meth:`RunStream.add`).
    """
    from warehouse.load import by_portal

    stream = RunStream(wh, settings, ri.run_id, ri.started_at, ri.portals, ri.mode, as_of=ri.as_of, release=False)
    ok = {c.portal_id: c.ok for c in ri.crawls}
    decisions: dict[str, list[Any]] = {}
    for x in ri.publications:
        decisions.setdefault(x.portal_id, []).append(x)
    for pid, docs in by_portal(ri.documents).items():
        stream.add(ExtractBatch(portal_id=pid, documents=docs, decisions=decisions.pop(pid, [])),
                   crawl_ok=ok.get(pid, False))
    for pid, rest in decisions.items():
        stream.add(ExtractBatch(portal_id=pid, documents=[], decisions=rest), crawl_ok=ok.get(pid, False))
    return stream.finish(ri.crawls)


def _redecide(batch: ExtractBatch, redo: list[Any], settings: Settings, archive: Any) -> Any:
    """Run the publication stage again over pages extracted late (unknown to the warehouse, unchanged to the crawl)."""
    pages = {d.url for d in redo if d.kind != "attachment"}
    if not pages:
        return archive
    docs = [d for d in batch.documents if d.url in pages or (d.kind == "attachment" and d.parent_url in pages)]
    b = ExtractBatch(portal_id=batch.portal_id, documents=docs)
    archive = decide_publications(b, settings, archive, None)
    decided = {y.url for y in b.decisions}
    batch.decisions = [x for x in batch.decisions if x.url not in decided] + b.decisions
    return archive


def _warehouse_db() -> Any:
    import warehouse

    if hasattr(warehouse, "open_writer"):
        return warehouse
    from warehouse import db

    return db


def open_writer(settings: Settings) -> Any:
    """The one pipeline writer; a second run waits ``lock_timeout_s`` then is refused with one line."""
    db = _warehouse_db()
    try:
        return db.open_writer(settings.db_path, settings.lock_timeout_s)
    except db.WarehouseLocked as e:
        raise RunRefused(str(e) or f"another run holds the warehouse {settings.db_path}") from None


# ------------------------------------------------------------------------------------------- alerts


def deliver_alerts(wh: Any, settings: Settings, run_label: str | None = None) -> Any:
    from alerts.deliver import deliver_pending
    from alerts.outbox import WarehouseOutbox

    return deliver_pending(WarehouseOutbox(wh), settings.alert_urls, run_label=run_label)


def alert_run_failed(settings: Settings, run_id: str, error: str, wh: Any = None, mode: str = "nightly") -> Any:
    """``run_failed``: through the outbox when the warehouse is usable, else sent directly once."""
    from alerts.deliver import deliver_pending
    from alerts.model import Alert
    from alerts.outbox import MemoryOutbox, WarehouseOutbox

    alert = Alert(kind="run_failed", run_id=run_id, title=f"run {run_id} failed", payload={"error": error},
                  url=str(settings.portals_path))
    if wh is not None:
        try:
            from warehouse.load import record_run_failure

            record_run_failure(wh, run_id, error, mode=mode, url=str(settings.portals_path))
            with contextlib.suppress(Exception):
                wh.publish()  # analysts see the failed run in analytics.runs
            return deliver_pending(WarehouseOutbox(wh), settings.alert_urls, run_label="run failed")
        except Exception as e:  # noqa: BLE001 - fall back to a direct send
            log.warning("could not enqueue run_failed in the warehouse: %s", e)
    return deliver_pending(MemoryOutbox([alert]), settings.alert_urls, run_label="run failed")


# ------------------------------------------------------------------------------------------- run (direct)


def new_run_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


def run_direct(settings: Settings, **kw: Any) -> "RunSummary":
    """The whole nightly (or backfill / reprocess) run with no Prefect at all (:func:`_run_direct`)."""
    with startup_heap_frozen():
        return _run_direct(settings, **kw)


def _run_direct(
    settings: Settings,
    *,
    mode: str = "nightly",
    only: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    run_id: str | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> "RunSummary":
    """The whole nightly (or backfill / reprocess) run with no Prefect at all: portal after portal, each
    crawled, then extracted and loaded piece by piece (:func:`extract_pieces`, :class:`RunStream`)."""
    from flows.summary import RunSummary, build_summary
    from warehouse.runlog import begin_run

    run_id = run_id or new_run_id()
    started = dt.datetime.now(dt.timezone.utc)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    portals = load_portals(settings, only)
    try:
        wh = open_writer(settings)
    except Exception as e:  # locked past the timeout, or the warehouse cannot be opened
        alert_run_failed(settings, run_id, str(e) if isinstance(e, RunRefused) else format_exception(e), None, mode)
        raise
    with wh:
        timings["lock"] = time.perf_counter() - t
        try:
            begin_run(wh, run_id, mode, started)  # in analytics.runs from now on, even if the process is killed
            crawls: list[Any] = []
            stream = RunStream(wh, settings, run_id, started, portals, mode)
            timings.update({"crawl": 0.0, "extract": 0.0, "load": 0.0})

            def extract_and_load(piece: Any, stored: dict | None, crawl_ok: bool) -> None:
                t = time.perf_counter()
                b = extract_portal(piece, settings, reextract_all=(mode != "nightly"), years=years, archive=archive,
                                   stored=stored)
                timings["extract"] += time.perf_counter() - t
                t = time.perf_counter()
                stream.add(b, crawl_ok=crawl_ok)
                timings["load"] += time.perf_counter() - t

            archive = open_archive(settings)
            try:
                if mode == "reprocess":
                    for piece in reprocess_pieces(settings, [p.id for p in portals] if only else None):
                        extract_and_load(piece, None, True)
                else:
                    stored = stored_decisions(wh)  # before this run stores any
                    for p in portals:
                        t = time.perf_counter()
                        try:
                            c = crawl_one(p, settings, full=(mode == "backfill"), archive=archive)
                        except Exception as e:  # noqa: BLE001 - one portal never stops the run
                            c = failed_crawl(p, e)
                        crawls.append(c)
                        timings["crawl"] += time.perf_counter() - t
                        for piece in extract_pieces(c, reextract_all=(mode == "backfill")):
                            extract_and_load(piece, stored.get(p.id), c.ok)
            finally:
                _close(archive)
            t = time.perf_counter()
            result = stream.finish(crawls)
            timings["load"] += time.perf_counter() - t
            t = time.perf_counter()
            delivery = deliver_alerts(wh, settings, run_label=f"{mode} {run_id}")
            timings["alerts"] = time.perf_counter() - t
        except Exception as e:
            alert_run_failed(settings, run_id, format_exception(e), wh, mode)
            raise
    page = write_report_page(settings, timings)
    return build_summary(
        run_id=run_id, mode=mode, started_at=started, settings=settings, portals=portals, crawls=crawls,
        batches=stream.summary_batches(portals), load_result=result, delivery=delivery, timings=timings,
        report_page=page,
    )


def write_report_page(settings: Settings, timings: dict[str, float]) -> Any:
    """The analyst page from the snapshot just published (best effort: ``analyst.PageOutcome``, never raises)."""
    from analyst import publish_page

    t = time.perf_counter()
    page = publish_page(settings.db_path)
    timings["report_page"] = time.perf_counter() - t
    return page


def reprocess_pieces(settings: Settings, portal_ids: list[str] | None) -> Iterator[Any]:
    """The archive's documents per portal, in pieces (:func:`extract_pieces`), to re-extract all of them."""
    from crawler.types import PortalCrawl

    docs = documents_from_archive(settings, portal_ids)
    per_portal: dict[str, list[Any]] = {}
    for d in docs:
        per_portal.setdefault(d.portal_id, []).append(d)
    for pid, ds in sorted(per_portal.items()):
        yield from extract_pieces(PortalCrawl(portal_id=pid, ok=True, listing_complete=False, documents=ds),
                                  reextract_all=True)


def _one_line(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return redact_url(f"{type(e).__name__}: {msg}" if msg else type(e).__name__)[:500]


def format_exception(e: BaseException) -> str:
    """Short, secret-free description for logs and the run_failed alert."""
    tb = traceback.extract_tb(e.__traceback__)[-1:] if e.__traceback__ else []
    where = f" at {Path(tb[0].filename).name}:{tb[0].lineno}" if tb else ""
    return _one_line(e) + where
