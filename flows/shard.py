"""Sharded runs (issue 13): the registry split into shards crawled and extracted by many processes, one merger.

    submitter  plan_shards → <staging>/<run_id>/plan.json → one flow run per shard (``run_deployment``)
    shard k    crawl + extract its portals into its own archive and staged Parquet (never opens the warehouse),
               a heartbeat file while it works, the manifest last (:mod:`staging`)
    merger     every complete shard loaded through one ``RunLoader``, one transaction per shard (recorded in
               ``main.merged_shards``), then the run's final transaction once (cross-report checks over all
               shards), the analyst snapshot, one alert digest, the analyst page

The plain functions here (:func:`plan_shards`, :func:`run_shard`, :func:`merge_run`, :func:`wait_and_merge`) run
without Prefect; the flows ``shard`` and ``merge`` (:mod:`flows.sharded`) wrap them for the work pool, and
:func:`backfill_sharded` (``ogi backfill --shards N``) submits the shard runs to the pool.

**Shards are host groups.** Politeness is per host (``crawler.hosts``): two shards crawling one host would each
keep its limits and together break them.  So every portal of one host (the netloc of its first start URL) is in
one shard; the host groups are dealt biggest first onto the least loaded shard (ties: the lower shard number), and
a shard keeps its portals in registry order.  The same registry and ``n`` always give the same plan; the plan of a
run is written once (``plan.json``) and a rerun of that run uses it, whatever the registry says by then.

**Attempts.** A shard whose worker is lost (its heartbeat stops while its flow run still says Running, or the run
ends Failed/Crashed) is submitted again as a new attempt in a directory of its own; the merger takes the attempt it
merged before if there is one (``merged_shards``), else the first complete one.  A half-written attempt (no
manifest, or files that do not match it) is never read.

**Staging** is a local path or an fsspec URL (:mod:`staging.location`): on object storage a shard works in a local
scratch directory and uploads its files, its archive packed as one ``archive.tar``, then the manifest; the merger
downloads an attempt and checks every sha256 before it loads any of it (:mod:`staging.transfer`).

**Nothing waits forever** (:func:`wait_for_shards`): a shard no worker takes is run by the submitter, one that keeps
failing or outlives the timeout is left out and named (exit 4).

**Idempotent merge.** A shard's pieces go through the loader, which keys reports by portal + URL and revisions by
content hash: loading a shard again finds every hash current and writes nothing.  Each shard is one transaction
with its ``merged_shards`` row, so a merger killed mid-shard leaves that shard out entirely; merging the run again
(the same ``run_id``) loads every shard again and ends in the state one uninterrupted merge leaves.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import urlsplit

from flows import pipeline
from flows.pipeline import ExtractBatch, RunRefused
from ogi.config import Settings
from ogi.killpoints import killpoint
from ogi.registry import Portal
from staging import attempt_dir, complete_attempt, location, read_manifest, shard_dir, write_manifest
from staging.location import Where, safe_index
from staging.manifest import ShardIncomplete, attempts, complete_attempts, read_plan, write_plan
from staging.parquet import TABLES, ShardReader, ShardWriter
from staging.transfer import ARCHIVE_TAR, SEED_TAR, fetch_attempt, pack, unpack

#: Portals of a shard crawled at once (``OGI_SHARD_CRAWL_AHEAD``): with politeness on, a shard's pages/s is about
#: this many hosts × one request per ``min_delay_s`` each, so it is what keeps a worker's core busy (docs/scale.md).
CRAWL_AHEAD = max(1, int(os.environ.get("OGI_SHARD_CRAWL_AHEAD", "8")))
#: The archive a nightly shard starts from, made by the submitter from the main archive: ``shard-k/seed/``.
SEED = "seed"
#: Seconds between two touches of a running shard's heartbeat file.
HEARTBEAT_S = float(os.environ.get("OGI_SHARD_HEARTBEAT_S", "5"))


def staging_root(settings: Settings, staging: str | Path | None = None) -> Where:
    """Where shards stage their files: ``staging``, else ``OGI_STAGING``, else ``shards/`` beside the warehouse.

    A local path (a ``Path``), or an fsspec URL such as ``s3://bucket/ogi/shards`` (a ``str``): :mod:`staging.location`.
    """
    return location.root(staging or os.environ.get("OGI_STAGING") or settings.db_path.parent / "shards")


def scratch_dir(settings: Settings, create: bool = True) -> Path:
    """Local room for what cannot live on object storage: a remote-staged shard's archive while it crawls, a seed
    being packed, an attempt the merger downloaded (``OGI_SHARD_SCRATCH``, else ``shard-scratch/`` beside the
    warehouse: archives are big, so not the system's temp directory)."""
    d = Path(os.environ.get("OGI_SHARD_SCRATCH") or settings.db_path.parent / "shard-scratch")
    if create:
        d.mkdir(parents=True, exist_ok=True)
    return d


# ------------------------------------------------------------------------------------------- the plan


def host_of(portal: Portal) -> str:
    """The politeness key of a portal: the host (and port) of its first start URL."""
    url = portal.start_urls[0] if portal.start_urls else ""
    return urlsplit(url).netloc.lower() or portal.id


def plan_shards(portals: list[Portal], n: int) -> list[list[str]]:
    """Portal ids per shard: whole host groups, biggest first onto the least loaded shard (see the module doc).

    Returns at most ``n`` shards, none empty (fewer hosts than ``n`` give fewer shards).
    """
    n = max(1, int(n))
    groups: dict[str, list[str]] = {}
    for p in portals:
        groups.setdefault(host_of(p), []).append(p.id)
    order = {p.id: i for i, p in enumerate(portals)}
    ranked = sorted(groups.values(), key=lambda g: (-len(g), order[g[0]]))
    shards: list[list[str]] = [[] for _ in range(min(n, len(ranked)) or 1)]
    for g in ranked:
        k = min(range(len(shards)), key=lambda i: (len(shards[i]), i))
        shards[k].extend(g)
    return [sorted(s, key=order.__getitem__) for s in shards if s]


def new_plan(settings: Settings, n: int, *, only: Iterable[str] | None = None, mode: str = "backfill",
             years: Iterable[int] | None = None, staging: str | Path | None = None,
             run_id: str | None = None) -> dict[str, Any]:
    """Plan a sharded run and write ``<staging>/<run_id>/plan.json``; returns the plan."""
    if mode not in ("backfill", "nightly"):
        raise RunRefused(f"a sharded run is a backfill or a nightly run, not {mode!r}")
    portals = pipeline.load_portals(settings, only)
    run_id = run_id or pipeline.new_run_id()
    plan = {"run_id": run_id, "mode": mode, "years": sorted({int(y) for y in years}) if years else None,
            "registry": str(settings.portals_path), "portal_ids": [p.id for p in portals],
            "shards": plan_shards(portals, n),
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat()}
    root = staging_root(settings, staging)
    if mode == "nightly" and settings.archive_dir.joinpath("index.sqlite").exists():
        # an incremental run: each shard starts from what the main archive knows of its portals (validators,
        # last bodies), so its crawl sends conditional GETs as a one-process nightly would
        from crawler.archive import Archive

        with Archive(settings.archive_dir) as main:
            for k, ids in enumerate(plan["shards"]):
                if not location.is_remote(root):
                    main.export_portals(shard_dir(root, run_id, k) / SEED, ids)
                    continue
                with tempfile.TemporaryDirectory(prefix=f"{run_id}-seed-", dir=scratch_dir(settings)) as tmp:
                    main.export_portals(Path(tmp) / SEED, ids)
                    location.put(pack(Path(tmp) / SEED, Path(tmp) / SEED_TAR),
                                 location.join(shard_dir(root, run_id, k), SEED_TAR))
    write_plan(root, run_id, plan)  # last: a plan that exists has its seeds
    return plan


def _seed_attempt(root: Where, run_id: str, shard: int, archive_dir: Path) -> None:
    """Copy the shard's seed archive (if the plan made one) into this attempt's own archive (blobs hard-linked;
    from remote staging: ``seed.tar`` downloaded and unpacked)."""
    if location.is_remote(root):
        tar = location.join(shard_dir(root, run_id, shard), SEED_TAR)
        if location.exists(tar):
            local = archive_dir.parent / SEED_TAR
            location.get(tar, local)
            unpack(local, archive_dir)
            local.unlink()
        return
    seed = shard_dir(root, run_id, shard) / SEED
    if not (seed / "index.sqlite").exists():
        return
    import sqlite3

    archive_dir.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(seed / "index.sqlite"), sqlite3.connect(archive_dir / "index.sqlite")
    try:  # the backup API: whatever of the seed is still in its WAL comes along
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    for f in (seed / "objects").glob("*/*.gz"):
        out = archive_dir / "objects" / f.parent.name / f.name
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(f, out)
        except OSError:
            shutil.copyfile(f, out)


# ------------------------------------------------------------------------------------------- one shard


class _Heartbeat:
    """Touches ``<attempt>/heartbeat`` (pid and time inside) every ``HEARTBEAT_S`` until stopped."""

    def __init__(self, path: Where, every: float | None = None) -> None:
        self.path, self.every = path, max(0.1, every or HEARTBEAT_S)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ogi-shard-heartbeat", daemon=True)
        self.extra: dict[str, Any] = {}
        self._lock = threading.Lock()

    def beat(self, **extra: Any) -> None:
        with self._lock:  # the beating thread and the shard's own progress beats
            self.extra.update(extra)
            body = {"pid": os.getpid(), "at": time.time(), **self.extra}
            location.write_atomic(self.path, json.dumps(body).encode("utf-8"), fsync=False)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - a missed beat (a network blip to remote staging) is retried next time
                pass

    def __enter__(self) -> "_Heartbeat":
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def heartbeat_age(root: Where, run_id: str, shard: int, attempt: int) -> float | None:
    """Seconds since the attempt's heartbeat was last touched (``None``: it never started)."""
    return location.age_s(location.join(attempt_dir(root, run_id, shard, attempt), "heartbeat"))


def _stored_from_snapshot(settings: Settings) -> dict[str, dict[str, tuple]]:
    """The publication decisions earlier runs stored, read from the published (read-only) snapshot.

    A shard never opens the writer; no snapshot yet (a first backfill) means no stored decisions.
    """
    import duckdb

    from warehouse.load import stored_publications

    if not settings.db_path.exists():
        return {}
    try:
        con = duckdb.connect(str(settings.db_path), read_only=True)
    except duckdb.Error:
        return {}
    try:
        return stored_publications(con)
    except duckdb.Error:  # a snapshot older than the publications table
        return {}
    finally:
        con.close()


def run_shard(run_id: str, shard: int, attempt: int = 0, *, staging: str | Path | None = None,
              portals: str | Path | None = None, db: str | Path | None = None) -> dict[str, Any]:
    """Crawl and extract one shard of a planned run into ``<staging>/<run_id>/shard-k/attempt-a``; returns the
    manifest.  Already complete: returns its manifest and does nothing.  Never opens the warehouse.

    With remote (fsspec) staging the shard works in a local scratch directory (its archive needs one), beats its
    heartbeat into the staging area, and at the end uploads the Parquet files and its packed archive, then the
    manifest; the scratch directory is removed whatever happens.
    """
    settings = Settings.load(db=db, portals=portals)
    root = staging_root(settings, staging)
    plan = read_plan(root, run_id)
    safe_index(shard, "shard")
    if shard >= len(plan["shards"]):
        raise ShardIncomplete(f"run {run_id} has {len(plan['shards'])} shards, not a shard {shard}")
    d = attempt_dir(root, run_id, shard, attempt)
    done = read_manifest(d)
    if done is not None:
        return done
    if location.exists(d):  # an earlier process of this very attempt died half-way (a Prefect retry): start it over
        location.rmtree(d)
    location.makedirs(d)
    remote = location.is_remote(d)
    work = Path(tempfile.mkdtemp(prefix=f"{run_id}-{shard}-{attempt}-", dir=scratch_dir(settings))) if remote else Path(d)
    try:
        return _run_shard(settings, plan, root, run_id, shard, attempt, d, work)
    finally:
        if remote:
            shutil.rmtree(work, ignore_errors=True)


def _run_shard(settings: Settings, plan: dict[str, Any], root: Where, run_id: str, shard: int, attempt: int,
               d: Where, work: Path) -> dict[str, Any]:
    """:func:`run_shard` once its attempt directory ``d`` is fresh; ``work`` is where the files are made (``d``
    itself when staging is local)."""
    ids = plan["shards"][shard]
    mode, years = plan.get("mode", "backfill"), plan.get("years")
    settings.portals_path = Path(plan.get("registry") or settings.portals_path)
    full = mode == "backfill"
    t0, cpu0 = time.perf_counter(), time.process_time()
    portal_list = pipeline.load_portals(settings, ids)
    stored = _stored_from_snapshot(settings)
    from crawler.archive import Archive
    from flows.crawl_loop import _shared_loop
    import asyncio

    stats = {"portals": len(portal_list), "requests": 0, "bytes": 0, "documents": 0, "pieces": 0, "extracted": 0,
             "crawl_wait_s": 0.0, "extract_s": 0.0}
    with _Heartbeat(location.join(d, "heartbeat")) as hb:
        _seed_attempt(root, run_id, shard, work / "archive")
        archive = Archive(work / "archive")
        writer = ShardWriter(work)
        loop = _shared_loop()
        inflight: Any = ()
        try:
            # up to CRAWL_AHEAD portals are crawled at once on the crawl loop's thread (politeness stays per host,
            # shared by them) while the main thread extracts the oldest finished one
            from collections import deque

            queue = deque(portal_list)
            inflight = deque()

            def fill() -> None:
                while queue and len(inflight) < CRAWL_AHEAD:
                    p = queue.popleft()
                    inflight.append((p, asyncio.run_coroutine_threadsafe(
                        pipeline.crawl_one_async(p, settings, full=full, archive=archive), loop)))

            fill()
            i = -1
            while inflight:
                i += 1
                p, fut = inflight.popleft()
                t = time.perf_counter()
                try:
                    c = fut.result()
                except Exception as e:  # noqa: BLE001 - one portal never stops the shard
                    c = pipeline.failed_crawl(p, e)
                stats["crawl_wait_s"] += time.perf_counter() - t
                fill()
                writer.add_crawl(c)
                stats["requests"] += c.requests
                stats["bytes"] += c.bytes
                stats["documents"] += len(c.documents)
                for piece in pipeline.extract_pieces(c, reextract_all=full):
                    t = time.perf_counter()
                    b = pipeline.extract_portal(piece, settings, reextract_all=full, years=years, archive=archive,
                                                stored=stored.get(p.id))
                    stats["extract_s"] += time.perf_counter() - t
                    writer.add_piece(p.id, b.documents, b.decisions, crawl_ok=c.ok, pending=b.pending,
                                     extracted=b.extracted, unreadable=b.unreadable, elapsed_s=b.elapsed_s)
                    stats["pieces"] += 1
                    stats["extracted"] += b.extracted
                    killpoint("shard.piece")  # a piece staged, the shard not complete
                hb.beat(portals_done=i + 1)
        finally:
            for _, f in inflight:  # (a failure above) no crawl may go on writing into the archive being closed
                f.cancel()
            counts = writer.close()
            archive.close()
        files = [f"{t}.parquet" for t in TABLES]
        remote = location.is_remote(d)
        if remote:  # remote staging: the archive as one file, everything uploaded, then the manifest
            pack(work / "archive", work / ARCHIVE_TAR)
            files.append(ARCHIVE_TAR)
            for name in files:
                location.put(work / name, location.join(d, name))
        stats.update(wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - cpu0,
                     peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, pid=os.getpid(),
                     ppid=os.getppid())
        write_manifest(d, run_id=run_id, shard=shard, attempt=attempt, files=files, portals=ids, mode=mode,
                       rows=counts, stats=stats, source=work if remote else None)
    m = read_manifest(d)
    if m is None:
        raise OSError(f"shard {shard} of {run_id}: the staged attempt does not read back as complete")
    return m


# ------------------------------------------------------------------------------------------- the merge


@dataclass
class MergeOutcome:
    run_id: str
    merged: list[int] = field(default_factory=list)  # shards loaded by this merge (all complete ones)
    first_time: list[int] = field(default_factory=list)  # … of which this merge recorded in merged_shards
    missing: list[int] = field(default_factory=list)  # shards with no complete attempt: left out
    ran_here: list[int] = field(default_factory=list)  # shards no worker took, run by the submitter itself
    abandoned: dict[int, str] = field(default_factory=dict)  # shards given up before the merge, and why
    summary: Any = None  # flows.summary.RunSummary
    timings: dict[str, float] = field(default_factory=dict)
    reports: int = 0  # staged report documents read back


def _merged_attempts(wh: Any, run_id: str) -> dict[int, tuple[int, str]]:
    rows = wh.execute("SELECT shard, attempt, manifest_sha256 FROM merged_shards WHERE run_id = ?", [run_id]).fetchall()
    return {int(s): (int(a), m) for s, a, m in rows}


def _choose_attempts(root: Where, run_id: str, shard: int, merged: tuple[int, str] | None) -> Iterator[dict[str, Any]]:
    """The attempt merged before (if its files are still intact), then every complete one, first attempt first."""
    if merged is not None:
        m = read_manifest(attempt_dir(root, run_id, shard, merged[0]))
        if m is not None and m["sha256"] == merged[1]:
            yield m
    yield from complete_attempts(root, run_id, shard)


def _fetch_attempt(root: Where, run_id: str, shard: int, merged: tuple[int, str] | None,
                   cache: Path) -> tuple[dict[str, Any], Path] | None:
    """The attempt to merge and a local directory with its files: on remote staging the first candidate whose
    download matches its manifest's sha256 (a corrupted object makes the next complete attempt the candidate)."""
    for m in _choose_attempts(root, run_id, shard, merged):
        try:
            return m, fetch_attempt(m, cache)
        except ShardIncomplete:
            continue
    return None


def merge_run(run_id: str, *, staging: str | Path | None = None, portals: str | Path | None = None,
              db: str | Path | None = None, deliver: bool = True, page: bool = True) -> MergeOutcome:
    """Load every complete shard of ``run_id`` (the only writer), then finish, publish and alert once."""
    from flows.summary import build_summary
    from warehouse.inputs import DocumentInput
    from warehouse.runlog import begin_run

    settings = Settings.load(db=db, portals=portals)
    root = staging_root(settings, staging)
    plan = read_plan(root, run_id)
    mode = plan.get("mode", "backfill")
    settings.portals_path = Path(plan.get("registry") or settings.portals_path)
    portal_list = pipeline.load_portals(settings, plan["portal_ids"])
    out = MergeOutcome(run_id)
    timings: dict[str, float] = {"lock": 0.0, "load": 0.0}
    t = time.perf_counter()
    wh = pipeline.open_writer(settings)
    # one run, one start: every merge of it (again, after a lost merger) loads with the time the run was planned, so
    # what depends on when a report was first seen (the first of duplicate publications) never depends on which
    # merge loaded which shard
    started = dt.datetime.fromisoformat(plan["created_at"]) if plan.get("created_at") else dt.datetime.now(dt.timezone.utc)
    with wh:
        timings["lock"] = time.perf_counter() - t
        try:
            begin_run(wh, run_id, mode, started)
            merged_before = _merged_attempts(wh, run_id)
            stream = pipeline.RunStream(wh, settings, run_id, started, portal_list, mode)
            crawls: list[Any] = []
            archive = None
            for k in range(len(plan["shards"])):
                cache = scratch_dir(settings, create=False) / "merge" / run_id / f"shard-{k:03d}"
                # (remote staging: downloaded here, every sha256 checked, before any of it is loaded)
                chosen = _fetch_attempt(root, run_id, k, merged_before.get(k), cache)
                if chosen is None:
                    out.missing.append(k)
                    continue
                m, shard_path = chosen
                t = time.perf_counter()
                if k not in merged_before:  # its raw bodies into the main archive (reprocess reads them there)
                    if archive is None:
                        archive = pipeline.open_archive(settings)
                    archive.absorb(shard_path / "archive")
                reader = ShardReader(shard_path)
                shard_crawls = list(reader.crawls())
                pieces = 0
                with wh.enclosing_transaction():
                    for pid in reader.portal_ids:
                        for meta in reader.pieces_of[pid]:
                            docs, decisions = reader.piece(meta, DocumentInput)
                            out.reports += sum(d.report is not None for d in docs)
                            stream.add(ExtractBatch(portal_id=pid, documents=docs, decisions=decisions,
                                                    pending=list(meta["pending"] or []), extracted=meta["extracted"],
                                                    unreadable=meta["unreadable"], elapsed_s=meta["elapsed_s"]),
                                       crawl_ok=meta["crawl_ok"])
                            pieces += 1
                    if k not in merged_before:
                        wh.execute(
                            """INSERT INTO merged_shards (run_id, shard, attempt, manifest_sha256, portals, pieces,
                                                          merged_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                            [run_id, k, m["attempt"], m["sha256"], len(m.get("portals") or []), pieces,
                             dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)])
                        out.first_time.append(k)
                    killpoint("merge.shard")  # inside the shard's transaction, just before its commit
                crawls.extend(shard_crawls)
                out.merged.append(k)
                if shard_path == cache:  # a downloaded copy: committed, its blobs linked into the main archive
                    shutil.rmtree(cache, ignore_errors=True)
                timings["load"] += time.perf_counter() - t
            if archive is not None:
                pipeline._close(archive)
            order = {p.id: i for i, p in enumerate(portal_list)}
            crawls.sort(key=lambda c: order.get(c.portal_id, 0))
            t = time.perf_counter()
            result = stream.finish(crawls)  # cross-report checks once, over every merged shard; then publish
            timings["finish"] = time.perf_counter() - t
            t = time.perf_counter()
            delivery = pipeline.deliver_alerts(wh, settings, run_label=f"{mode} {run_id}") if deliver else None
            timings["alerts"] = time.perf_counter() - t
        except Exception as e:
            pipeline.alert_run_failed(settings, run_id, pipeline.format_exception(e), wh, mode)
            raise
    report_page = pipeline.write_report_page(settings, timings) if page else None
    out.timings = timings
    out.summary = build_summary(
        run_id=run_id, mode=mode, started_at=started, settings=settings, portals=portal_list, crawls=crawls,
        batches=stream.summary_batches(portal_list), load_result=result, delivery=delivery, timings=timings,
        report_page=report_page)
    return out


# ------------------------------------------------------------------------------------------- submit and wait


@dataclass
class ShardState:
    shard: int
    attempt: int = 0
    flow_run_id: Any = None
    submitted_at: float = 0.0
    complete: bool = False
    resubmitted: list[str] = field(default_factory=list)  # why each earlier attempt was given up
    ran_here: bool = False  # no worker took it: the submitter ran it itself
    abandoned: str | None = None  # left out of this run's merge, and why

    @property
    def settled(self) -> bool:
        return self.complete or self.abandoned is not None


class ShardLauncher:
    """How a shard attempt is started and watched (Prefect work pool here; the bench uses plain processes)."""

    def submit(self, run_id: str, shard: int, attempt: int, params: dict[str, Any]) -> Any:  # pragma: no cover
        raise NotImplementedError

    def status(self, handle: Any) -> tuple[str, float | None]:
        """``(state, since)``: state is ``waiting`` (not picked up yet), ``starting`` (claimed by a worker, since when),
        ``running`` (since when), ``done`` or ``failed``."""
        raise NotImplementedError  # pragma: no cover

    def give_up(self, handle: Any, why: str) -> None:
        """The attempt is abandoned (its worker is gone): say so where it is tracked."""


class PrefectLauncher(ShardLauncher):
    """One flow run of the ``shard`` deployment per attempt, on whatever worker of the pool takes it."""

    def __init__(self, deployment: str = "shard/shard") -> None:
        self.deployment = deployment

    def submit(self, run_id: str, shard: int, attempt: int, params: dict[str, Any]) -> Any:
        from prefect.deployments import run_deployment

        # _sync: inside a nightly flow run (an async flow, this body in its thread) Prefect would otherwise hand back
        # the coroutine of arun_deployment
        fr = run_deployment(self.deployment, parameters=params, timeout=0,
                            flow_run_name=f"{run_id}-shard-{shard}-attempt-{attempt}",
                            tags=["ogi", "shard"], _sync=True)
        return fr.id

    def status(self, handle: Any) -> tuple[str, float | None]:
        from prefect import get_client

        with get_client(sync_client=True) as client:
            fr = client.read_flow_run(handle)
        st = fr.state.type.value if fr.state else "PENDING"
        started = fr.start_time.timestamp() if fr.start_time else None
        if st == "COMPLETED":
            return "done", started
        if st in ("FAILED", "CRASHED", "CANCELLED", "CANCELLING"):
            return "failed", started
        if st == "RUNNING":
            return "running", started
        if st == "PENDING":  # a worker claimed it and is starting its process (or died doing so)
            return "starting", fr.state.timestamp.timestamp() if fr.state and fr.state.timestamp else None
        return "waiting", started

    def give_up(self, handle: Any, why: str) -> None:
        from prefect import get_client
        from prefect.states import Crashed

        try:
            with get_client(sync_client=True) as client:
                client.set_flow_run_state(handle, Crashed(message=why), force=True)
        except Exception:  # noqa: BLE001 - bookkeeping only: the new attempt runs anyway
            pass


def wait_for_shards(plan: dict[str, Any], root: Where, launcher: ShardLauncher, params: dict[str, Any], *,
                    stale_after_s: float = 120.0, max_attempts: int = 3, timeout_s: float = 24 * 3600,
                    poll_s: float = 1.0, pickup_after_s: float | None = None,
                    run_here: Callable[[int, int], Any] | None = None, log: Any = print) -> list[ShardState]:
    """Submit every shard, then watch them until each has a complete attempt or is given up for this run.

    An attempt is given up — and the shard submitted again as the next attempt — when its run ended failed
    without a complete manifest, or when it is running but its heartbeat (or, before the first beat, its start)
    is older than ``stale_after_s`` (a SIGKILLed worker leaves its flow run Running forever).

    Nothing waits forever:

    * **Nobody takes it.** An attempt still waiting for a worker after ``pickup_after_s`` while no shard of the run
      was running on a worker all that time (no worker online, all busy elsewhere, the pool paused) is withdrawn,
      and the shard run right here (``run_here(shard, attempt)``, the next attempt) — at most one per poll, so a
      worker that turned up meanwhile still gets the others.  Without ``run_here`` it is abandoned.
    * **It keeps failing.** A shard whose ``max_attempts`` attempts all failed on workers is abandoned (not run
      here: it may be what kills them).
    * **Time is up.** Shards still incomplete after ``timeout_s`` are abandoned.

    An abandoned shard is left out of the merge, which names it (``MergeOutcome.missing``; exit 4).
    """
    run_id = plan["run_id"]
    states = [ShardState(k) for k in range(len(plan["shards"]))]

    def submit(s: ShardState) -> None:
        s.flow_run_id = launcher.submit(run_id, s.shard, s.attempt,
                                        {**params, "run_id": run_id, "shard": s.shard, "attempt": s.attempt})
        s.submitted_at = time.time()

    def give_up(s: ShardState, why: str) -> None:
        launcher.give_up(s.flow_run_id, why)
        s.resubmitted.append(why)

    for s in states:
        if complete_attempt(root, run_id, s.shard) is not None:
            s.complete = True
        else:
            submit(s)
    deadline = time.time() + timeout_s
    last_active = time.time()  # when a shard of this run was last seen claimed, running or completing on a worker
    while not all(s.settled for s in states):
        if time.time() > deadline:
            for s in states:
                if not s.settled:
                    give_up(s, f"attempt {s.attempt}: not complete after {timeout_s:.0f} s")
                    s.abandoned = s.resubmitted[-1]
                    log(f"shard {s.shard}: {s.abandoned}; left out of this run")
            break
        time.sleep(poll_s)
        waiting: list[ShardState] = []
        for s in states:
            if s.settled:
                continue
            if complete_attempt(root, run_id, s.shard) is not None:
                s.complete = True
                last_active = time.time()
                continue
            try:
                state, started = launcher.status(s.flow_run_id)
            except Exception as e:  # noqa: BLE001 - the API hiccupped: look again at the next poll
                log(f"shard {s.shard}: could not read the state of attempt {s.attempt}: {e}")
                continue
            why = None
            if state in ("done", "failed"):
                if complete_attempt(root, run_id, s.shard) is not None:
                    s.complete = True
                    continue
                why = f"attempt {s.attempt} ended {state} without a complete manifest"
            elif state == "running":
                last_active = time.time()
                age = heartbeat_age(root, run_id, s.shard, s.attempt)
                since = age if age is not None else (time.time() - (started or s.submitted_at))
                if since > stale_after_s:
                    why = f"attempt {s.attempt}: no heartbeat for {since:.0f} s (worker lost?)"
            elif state == "starting":  # claimed, its process not running yet: a process start can take a while
                last_active = time.time()
                since = time.time() - (started or s.submitted_at)
                if since > max(3 * stale_after_s, 60.0):
                    why = f"attempt {s.attempt}: claimed by a worker {since:.0f} s ago and never started (worker lost?)"
            else:
                waiting.append(s)
            if why is None:
                continue
            give_up(s, why)
            if s.attempt + 1 >= max_attempts:
                s.abandoned = f"{max_attempts} attempts failed; last: {why}"
                log(f"shard {s.shard}: {s.abandoned}; left out of this run")
                continue
            s.attempt += 1
            log(f"shard {s.shard}: {why}; submitting attempt {s.attempt}")
            submit(s)
        if pickup_after_s is None:
            continue
        for s in waiting:
            idle = time.time() - max(s.submitted_at, last_active)
            if idle <= pickup_after_s:
                continue
            give_up(s, f"attempt {s.attempt}: no worker took it in {idle:.0f} s (no shard of the run was running "
                       "on a worker meanwhile)")
            if run_here is None:
                s.abandoned = s.resubmitted[-1]
                log(f"shard {s.shard}: {s.abandoned}; left out of this run")
                continue
            s.attempt += 1
            log(f"shard {s.shard}: {s.resubmitted[-1]}; running it in this process as attempt {s.attempt}")
            try:
                run_here(s.shard, s.attempt)
            except Exception as e:  # noqa: BLE001 - the others are still merged; this one is named as missing
                s.abandoned = f"attempt {s.attempt} in this process failed: {pipeline.format_exception(e)}"
                log(f"shard {s.shard}: {s.abandoned}; left out of this run")
                break
            s.ran_here = True
            s.complete = complete_attempt(root, run_id, s.shard) is not None
            if not s.complete:
                s.abandoned = f"attempt {s.attempt} in this process left no complete manifest"
            break  # one per poll: the statuses of the others are read again first
    return states


def _env_s(name: str, default: float) -> float:
    v = os.environ.get(name)
    return float(v) if v else default


class PlanFailed(Exception):
    """A sharded run could not be planned (its staging root unreachable or unwritable): nothing was submitted, no
    warehouse touched — a nightly then runs in one process instead."""


def backfill_sharded(shards: int, *, portal_ids: list[str] | None = None, years: list[int] | None = None,
                     portals: str | Path | None = None, db: str | Path | None = None,
                     staging: str | Path | None = None, mode: str = "backfill", launcher: ShardLauncher | None = None,
                     stale_after_s: float | None = None, pickup_after_s: float | None = None,
                     timeout_s: float | None = None, why: str | None = None, log: Any = print) -> MergeOutcome:
    """``ogi backfill --shards N`` (and a nightly that is sharded): plan, one flow run per shard on the pool, wait,
    then merge here.

    A shard no worker takes within ``OGI_SHARD_PICKUP_S`` (300 s) while none of the run's shards is running on a
    worker is run in this process; one that fails ``3`` times on workers, or is not complete within
    ``OGI_SHARD_TIMEOUT_S`` (24 h), is left out and named (:func:`wait_for_shards`).  ``why`` (how the shard count
    was chosen) goes into the run summary's sharding line with what happened to the shards.
    """
    settings = Settings.load(db=db, portals=portals)
    run_id = pipeline.new_run_id()
    root = staging_root(settings, staging)
    try:
        plan = new_plan(settings, shards, only=portal_ids, mode=mode, years=years, staging=root, run_id=run_id)
    except RunRefused:
        raise
    except Exception as e:  # nothing submitted yet: the caller may run the night another way
        raise PlanFailed(f"could not plan the sharded run under {location.display(root)}: "
                         f"{pipeline.format_exception(e)}") from e
    try:
        states = _submit_and_wait(settings, plan, root, launcher, stale_after_s, pickup_after_s, timeout_s, log)
    except Exception as e:  # (a failure in the merge alerts from there)
        pipeline.alert_run_failed(settings, run_id, pipeline.format_exception(e), None, mode)
        raise
    out = merge_run(run_id, staging=root, portals=settings.portals_path, db=settings.db_path)
    out.ran_here = [s.shard for s in states if s.ran_here]
    out.abandoned = {s.shard: s.abandoned for s in states if s.abandoned}
    if out.summary is not None:
        out.summary.sharding = sharding_line(why, len(plan["shards"]), out)
        out.summary.missing_shards = list(out.missing)
    return out


def _submit_and_wait(settings: Settings, plan: dict[str, Any], root: Where, launcher: ShardLauncher | None,
                     stale_after_s: float | None, pickup_after_s: float | None, timeout_s: float | None,
                     log: Any) -> list[ShardState]:
    """Submit the planned shards to the pool and wait for them (:func:`wait_for_shards`, settings from the env)."""
    run_id, mode = plan["run_id"], plan["mode"]
    log(f"sharded {mode} {run_id}: {len(plan['portal_ids'])} portals in {len(plan['shards'])} shards "
        f"({', '.join(str(len(s)) for s in plan['shards'])} portals); staging under {location.display(root)}")
    params = {"staging": str(root), "portals": str(settings.portals_path), "db": str(settings.db_path)}

    def here(shard: int, attempt: int) -> Any:
        return run_shard(run_id, shard, attempt, staging=root, portals=settings.portals_path, db=settings.db_path)

    states = wait_for_shards(
        plan, root, launcher or PrefectLauncher(), params,
        stale_after_s=stale_after_s if stale_after_s is not None else _env_s("OGI_SHARD_STALE_S", 120.0),
        pickup_after_s=pickup_after_s if pickup_after_s is not None else _env_s("OGI_SHARD_PICKUP_S", 300.0),
        timeout_s=timeout_s if timeout_s is not None else _env_s("OGI_SHARD_TIMEOUT_S", 24 * 3600.0),
        poll_s=5.0 if location.is_remote(root) else 1.0,  # (each poll lists every shard's attempts: requests there)
        run_here=here, log=log)
    lost = sum(len(s.resubmitted) for s in states)
    staged = [s.shard for s in states if s.complete]
    log(f"{len(staged)} of {len(states)} shards staged" + (f" ({lost} attempts given up)" if lost else ""))
    return states


def sharding_line(why: str | None, shards: int, out: MergeOutcome) -> str:
    """What the run summary says of a sharded run: how many shards and why, who ran them, what is missing."""
    line = f"{shards} shards" + (f" ({why})" if why else "")
    if out.ran_here:
        line += f"; shards {out.ran_here} run by this process (no worker took them)"
    if out.missing:
        reasons = "; ".join(f"{k}: {out.abandoned[k]}" for k in out.missing if k in out.abandoned)
        line += f"; MISSING shards {out.missing}" + (f" ({reasons})" if reasons else "") + \
            ": their portals are not in this run"
    return line


def shard_status(root: Where, run_id: str) -> list[dict[str, Any]]:
    """Per shard: its attempts, which one is complete (for ``ogi`` and the tests)."""
    plan = read_plan(root, run_id)
    out = []
    for k, ids in enumerate(plan["shards"]):
        m = complete_attempt(root, run_id, k)
        out.append({"shard": k, "portals": ids, "attempts": attempts(root, run_id, k),
                    "complete": m["attempt"] if m else None})
    return out
