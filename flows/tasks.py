"""Thin Prefect task wrappers around :mod:`flows.pipeline`, and the run body the three flows share.

Tasks are coarse on purpose (one crawl task per portal, one extraction task per piece of a portal, one final
load, one alert delivery): per-URL tasks would cost ~10 ms of engine overhead each (docs/operations.md).
Large arguments are wrapped in ``quote()`` so Prefect does not walk thousands of documents looking for
futures, and no task caches (``NO_CACHE``): every run must look at the portals again.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
import sys
import time
from typing import Any, Iterable

from ogi.config import prefect_env_defaults

prefect_env_defaults()

from prefect import get_run_logger, task  # noqa: E402 - after the env defaults, on purpose
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.states import Failed  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.utilities.annotations import quote  # noqa: E402

from flows.prefect_tls import share_api_tls_contexts  # noqa: E402

share_api_tls_contexts()  # one verified TLS context for Prefect's API clients, not one per client

from flows import pipeline  # noqa: E402
from flows.crawl_loop import close_clients, run_on_crawl_loop  # noqa: E402
from flows.pipeline import ExtractBatch, RunRefused  # noqa: E402
from flows.summary import RunSummary, build_summary  # noqa: E402
from ogi.config import ConfigError, Settings, redact_url  # noqa: E402
from warehouse.runlog import begin_run  # noqa: E402

pipeline.import_stages()
import prefect.artifacts  # noqa: E402,F401 - the run summary artifact (same reason as import_stages)
import prefect.task_engine  # noqa: E402,F401 - imported by the first task run otherwise

#: How many portals are crawled at once.  A crawl task only waits on the shared crawl loop and politeness is per
#: host (``crawler.hosts``), so more portals in flight cost a thread and a little state each, and they overlap one
#: portal's latency-bound list walk with another's fetches: with 4, a 3,000-portal nightly was ~57 h of mostly
#: waiting (docs/scale.md).  The crawler's ``global_concurrency`` still caps the requests in flight.
PORTAL_CONCURRENCY = max(1, int(os.environ.get("OGI_PORTAL_CONCURRENCY", "16")))
#: Extraction tasks submitted and not yet loaded; with ``pipeline.EXTRACT_PIECE`` documents each, this bounds
#: how many extracted reports a run holds at once (``python -m bench.memory``).
#: Two by default: extraction is mostly Python (one core at a time under the GIL), more pieces only wait in memory.
EXTRACT_WINDOW = max(1, int(os.environ.get("OGI_EXTRACT_WINDOW", "2")))


def task_runner() -> ThreadPoolTaskRunner:
    """Threads for the crawls in flight (they only wait on the shared crawl loop) plus the extraction window,
    so a piece's extraction never queues behind a portal still being crawled."""
    return ThreadPoolTaskRunner(max_workers=PORTAL_CONCURRENCY + EXTRACT_WINDOW)


def portal_timeout_s() -> float:
    """How long one portal's crawl may take (``OGI_PORTAL_TIMEOUT_S``, default 2 h); then it is cancelled."""
    return float(os.environ.get("OGI_PORTAL_TIMEOUT_S") or 2 * 3600)


def _retry_unless_timeout(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a crawler crash (with backoff), not a portal that ran out of time: that would only repeat."""
    return not isinstance(getattr(state, "data", None), TimeoutError)


@task(
    name="crawl-portal",
    task_run_name="crawl-{portal.id}",
    retries=2,
    retry_delay_seconds=[30, 120],
    retry_jitter_factor=0.5,
    retry_condition_fn=_retry_unless_timeout,
    timeout_seconds=2 * 3600,
    cache_policy=NO_CACHE,
)
async def crawl_portal_task(portal: Any, settings: Settings, full: bool = False) -> Any:
    """One portal. An unreachable portal is data (``ok=False``); only a crawler crash raises and retries.

    Async so that the timeout really cancels a stuck crawl (a sync task in a worker thread cannot be
    interrupted); extraction and load are CPU/IO-bound sync work with no engine timeout for that reason.
    The crawl itself runs on the process's one crawl loop (:mod:`flows.crawl_loop`), not on this task's own.
    """
    return await run_on_crawl_loop(pipeline.crawl_one_async(portal, settings, full=full))


@task(name="extract-portal", task_run_name="extract-{portal_id}", cache_policy=NO_CACHE)
def extract_portal_task(
    portal_id: str, crawl: Any, settings: Settings, reextract_all: bool = False, years: list[int] | None = None,
    stored: dict | None = None,
) -> ExtractBatch:
    """Extract + validate the new/changed documents of one portal (CPU), then decide its publications."""
    return pipeline.extract_portal(crawl, settings, reextract_all=reextract_all, years=years, stored=stored)


@task(name="load", cache_policy=NO_CACHE)
def load_task(stream: Any, crawls: list[Any]) -> Any:
    """The run's final load transaction (fetch log, withdrawals, cross-report checks, coverage and baseline
    alerts, the run row; the pieces were loaded as they were extracted), then the analyst snapshot."""
    return stream.finish(crawls)


@task(name="deliver-alerts", cache_policy=NO_CACHE)
def alerts_task(wh: Any, settings: Settings, run_label: str) -> Any:
    """One digest per channel; what each channel got (URLs redacted) goes to the flow-run log."""
    report = pipeline.deliver_alerts(wh, settings, run_label=run_label)
    logger = get_run_logger()
    for c, line in zip(report.channels, report.lines()):
        (logger.warning if c.pending and not c.sent else logger.info)("alerts: %s", line)
    if report.events_emitted:
        logger.info("alerts: %d Prefect events emitted", report.events_emitted)
    return report


def _progress(msg: str) -> None:
    """One line per finished portal on an interactive terminal (``ogi run`` by hand); silent under a worker."""
    if sys.stderr.isatty():
        print(f"  {redact_url(msg)}", file=sys.stderr, flush=True)


def _failed_batch(piece: Any) -> ExtractBatch:
    """The extraction task crashed: keep the documents (so nothing is called withdrawn), record why."""
    from warehouse.inputs import DocumentInput

    docs = [
        DocumentInput(portal_id=d.portal_id, url=d.url, sha256=d.sha256, fetched_at=d.fetched_at,
                      crawl_status="unchanged", kind=d.kind, error=None, link_text=d.link_text,
                      list_date=d.list_date, parent_url=d.parent_url)
        for d in piece.documents
    ]
    return ExtractBatch(portal_id=piece.portal_id, documents=docs, unreadable=0)


def _has_work(piece: Any) -> bool:
    """Whether a piece has a document to extract (new or changed to the crawler)."""
    return any(getattr(d, "status", "changed") != "unchanged" for d in piece.documents)


class _Done:
    """A piece handled without a task run, shaped like the task future the window otherwise holds."""

    def __init__(self, batch: ExtractBatch) -> None:
        self.wrapped_future: Future = Future()
        self.wrapped_future.set_result(batch)

    def result(self) -> ExtractBatch:
        return self.wrapped_future.result()


@dataclass(slots=True)
class _Piece:
    crawl_ok: bool
    piece: Any  # crawler.types.PortalCrawl: some documents of one portal
    stored: dict | None
    future: Any = None


class _ExtractWindow:
    """Extraction tasks for the pieces of the crawled portals, at most ``EXTRACT_WINDOW`` in flight.

    A piece is loaded (oldest first) as soon as its task is done and its reports are released, so memory is
    bounded by the window, not by the run; meanwhile crawls and other pieces go on in the task runner.
    """

    def __init__(self, stream: pipeline.RunStream, settings: Settings, mode: str, years: list[int] | None,
                 timings: dict[str, float]) -> None:
        self.stream, self.settings, self.mode, self.years, self.timings = stream, settings, mode, years, timings
        self.queue: deque[_Piece] = deque()
        self.inflight: deque[_Piece] = deque()

    def add(self, pieces: Iterable[Any], crawl_ok: bool, stored: dict | None) -> None:
        self.queue.extend(_Piece(crawl_ok, p, stored) for p in pieces)
        self._submit()

    def _submit(self) -> None:
        while self.queue and len(self.inflight) < EXTRACT_WINDOW:
            p = self.queue.popleft()
            if self.mode == "nightly" and not _has_work(p.piece):
                # nothing to extract (every document unchanged): the publication stage alone, here and now —
                # a task run (its API calls and state changes) would cost more than the work
                p.future = _Done(pipeline.extract_portal(p.piece, self.settings, stored=p.stored))
            else:
                p.future = extract_portal_task.submit(
                    p.piece.portal_id, quote(p.piece), self.settings, reextract_all=(self.mode != "nightly"),
                    years=self.years, stored=quote(p.stored))
            self.inflight.append(p)

    @property
    def busy(self) -> bool:
        return bool(self.queue or self.inflight)

    def waiting_on(self) -> list[Any]:
        return [self.inflight[0].future.wrapped_future] if self.inflight else []

    def load_ready(self, block: bool = False) -> None:
        """Load the finished pieces at the head of the window (``block``: wait for the oldest one)."""
        while self.inflight and (block or self.inflight[0].future.wrapped_future.done()):
            block = False
            p = self.inflight.popleft()
            try:
                batch = p.future.result()
            except Exception as e:  # noqa: BLE001 - keep the portal's documents, record why
                get_run_logger().warning("extraction of %s failed: %s", p.piece.portal_id, pipeline.format_exception(e))
                batch = _failed_batch(p.piece)
            self.timings["extract"] += batch.elapsed_s
            p.future = p.piece = None  # nothing else holds the task's result: released once loaded
            t = time.perf_counter()
            self.stream.add(batch, crawl_ok=p.crawl_ok)
            self.timings["load"] += time.perf_counter() - t
            del batch
            self._submit()


def run_flow_body(mode: str, **kw: Any) -> RunSummary | Any:
    """The body of the three flows (:func:`_run_flow_body`), with the startup heap out of the GC's way."""
    try:
        with pipeline.startup_heap_frozen():
            return _run_flow_body(mode, **kw)
    finally:
        close_clients()  # the run's shared connection pool (flows.crawl_loop.shared_client)


def _run_flow_body(
    mode: str,
    *,
    portals: str | None = None,
    db: str | None = None,
    only: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    sharding: str | None = None,
) -> RunSummary | Any:
    """Registry → (crawl per portal → extract per piece, concurrently) → load each piece → finish → alerts → summary.

    ``sharding``: the summary's line on why this nightly ran in one process (``flows.autoshard``), if worth saying.
    """
    logger = get_run_logger()
    try:
        settings = Settings.load(db=db, portals=portals)
    except ConfigError as e:  # no settings, so no alert channel either: the failed state says why
        logger.error("run refused: %s", e)
        return Failed(message=str(e), data=RunRefused(str(e)))
    run_id = pipeline.new_run_id()
    started = dt.datetime.now(dt.timezone.utc)
    timings: dict[str, float] = {}
    years_l = sorted(set(int(y) for y in years)) if years else None
    t = time.perf_counter()
    try:
        portal_list = pipeline.load_portals(settings, only)
        wh = pipeline.open_writer(settings)
    except RunRefused as e:
        logger.error("run refused: %s", e)
        pipeline.alert_run_failed(settings, run_id, str(e), None, mode)
        # a Failed state with a one-line message (no traceback in the logs); calling the flow re-raises e
        return Failed(message=str(e), data=e)
    except Exception as e:  # the warehouse cannot be opened (corrupt file, disk full, …): say so, then fail
        logger.error("run failed: %s", pipeline.format_exception(e))
        pipeline.alert_run_failed(settings, run_id, pipeline.format_exception(e), None, mode)
        raise
    timings["lock"] = time.perf_counter() - t
    with wh:
        try:
            begin_run(wh, run_id, mode, started)  # in analytics.runs from now on, even if the process is killed
            crawls: list[Any] = []
            stream = pipeline.RunStream(wh, settings, run_id, started, portal_list, mode)
            timings.update({"crawl": 0.0, "extract": 0.0, "load": 0.0})
            window = _ExtractWindow(stream, settings, mode, years_l, timings)
            t = time.perf_counter()
            if mode == "reprocess":
                for piece in pipeline.reprocess_pieces(settings, list(only) if only else None):
                    window.add([piece], True, None)
                    window.load_ready(block=len(window.inflight) >= EXTRACT_WINDOW)
            else:
                stored = pipeline.stored_decisions(wh)  # read here: the extraction tasks run in other threads
                crawl_task = crawl_portal_task.with_options(timeout_seconds=portal_timeout_s())
                pending = {}
                to_crawl = deque(portal_list)

                def submit_crawls() -> None:  # at most PORTAL_CONCURRENCY portals in flight
                    while to_crawl and len(pending) < PORTAL_CONCURRENCY:
                        p = to_crawl.popleft()
                        fut = crawl_task.submit(p, settings, full=(mode == "backfill"))
                        pending[fut.task_run_id] = (p, fut)

                submit_crawls()
                while pending:
                    done, _ = futures_wait([f.wrapped_future for _, f in pending.values()] + window.waiting_on(),
                                           return_when=FIRST_COMPLETED)
                    for key, (p, fut) in list(pending.items()):
                        if not fut.wrapped_future.done():
                            continue
                        del pending[key]
                        try:
                            c = fut.result()
                        except Exception as e:  # noqa: BLE001 - retries exhausted: record the portal as failed
                            err = pipeline.format_exception(e)
                            logger.warning("portal %s failed: %s", p.id, err)
                            c = pipeline.failed_crawl(p, err)
                        crawls.append(c)
                        _progress(f"crawled {p.id}: " + (f"{len(c.documents)} documents, {c.requests} requests"
                                                         if c.ok else f"FAILED ({c.error})"))
                        window.add(pipeline.extract_pieces(c, reextract_all=(mode == "backfill")), c.ok,
                                   stored.get(p.id))
                    submit_crawls()
                    window.load_ready()
                timings["crawl"] = time.perf_counter() - t
                order = {p.id: i for i, p in enumerate(portal_list)}
                crawls.sort(key=lambda c: order.get(c.portal_id, 0))
            while window.busy:
                window.load_ready(block=True)
            t = time.perf_counter()
            result = load_task(quote(stream), quote(crawls))
            timings["load"] += time.perf_counter() - t
            t = time.perf_counter()
            delivery = alerts_task(quote(wh), settings, f"{mode} {run_id}")
            timings["alerts"] = time.perf_counter() - t
        except Exception as e:
            logger.error("run failed: %s", pipeline.format_exception(e))
            pipeline.alert_run_failed(settings, run_id, pipeline.format_exception(e), wh, mode)
            raise
    page = pipeline.write_report_page(settings, timings)
    summary = build_summary(
        run_id=run_id, mode=mode, started_at=started, settings=settings, portals=portal_list, crawls=crawls,
        batches=stream.summary_batches(portal_list), load_result=result, delivery=delivery, timings=timings,
        report_page=page, sharding=sharding,
    )
    publish_artifacts(summary)
    logger.info(summary.headline())
    return summary


def publish_artifacts(summary: RunSummary) -> None:
    """The summary and the page-link artifacts, created side by side: each is a round trip to the Prefect API
    (~20-30 ms), and a no-change night is about a second."""
    import contextvars
    import threading

    link = threading.Thread(target=contextvars.copy_context().run, args=(publish_page_link, summary),
                            name="ogi-artifact", daemon=True)  # the copied context: the same flow run
    link.start()
    try:
        publish_summary(summary)
    finally:
        link.join()


def publish_summary(summary: RunSummary) -> None:
    """The run summary as a Prefect markdown artifact (best effort: an artifact error never fails the run)."""
    try:
        from prefect.artifacts import create_markdown_artifact

        create_markdown_artifact(  # _sync: the body runs in a worker thread of an async flow
            markdown=summary.markdown(), key=f"ogi-{summary.mode}-summary", description=summary.headline(), _sync=True
        )
    except Exception as e:  # noqa: BLE001
        get_run_logger().warning("could not create the run summary artifact: %s", e)


def publish_page_link(summary: RunSummary) -> None:
    """The analyst page as a Prefect link artifact (best effort, like the summary artifact)."""
    if not summary.report_page:
        return
    try:
        from pathlib import Path

        from prefect.artifacts import create_link_artifact

        create_link_artifact(link=Path(summary.report_page).resolve().as_uri(), link_text="analyst page (offline HTML)",
                             key=f"ogi-{summary.mode}-analyst-page", description=summary.report_page, _sync=True)
    except Exception as e:  # noqa: BLE001
        get_run_logger().warning("could not create the analyst page artifact: %s", e)
