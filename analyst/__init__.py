"""The analyst page: one offline HTML file with coverage, last night's changes, trends and findings.

``write_page(db_path, out_path)`` reads the *published* snapshot (never the pipeline's working file),
read-only, and writes the page atomically (a reader never sees half a page).  ``ogi report`` and the
nightly flow call it; docs/analyst-page.md describes the page.

Modules: :mod:`analyst.snapshot` (open a snapshot of any schema version), :mod:`analyst.data` (the SQL),
:mod:`analyst.drilldown` (per-report payloads, gzip chunks), :mod:`analyst.labels` (labels from the format
spec), :mod:`analyst.render` (the HTML).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from analyst.snapshot import SnapshotRefused
from ogi.killpoints import killpoint

#: DuckDB's memory while the page data is read (``OGI_PAGE_DUCKDB_MEMORY_LIMIT``; "off": DuckDB's own): the trend
#: pivots scan the whole ``facts`` table, and DuckDB would keep it cached (~80 MB at 10,000 reports) for nothing.
PAGE_MEMORY_LIMIT = os.environ.get("OGI_PAGE_DUCKDB_MEMORY_LIMIT", "64MB")

__all__ = ["PageOutcome", "PageResult", "SnapshotRefused", "default_out_path", "publish_page", "write_page"]


@dataclass(frozen=True)
class PageResult:
    path: Path
    bytes: int
    reports: int
    findings: int
    seconds: float
    schema_version: int
    upgraded: bool
    drilldown_json_bytes: int  # uncompressed size of the drill-down payloads built (what their gzip chunks hold)
    chunks: int = 0  # drill-down chunks in the page
    chunks_reused: int = 0  # of those, copied from the page it replaced (unchanged key)
    data_kept: bool = False  # the data's KEPT_PARTS were copied from the page it replaced (same data_key)


def default_out_path(db_path: str | Path) -> Path:
    """``data/ogi.duckdb`` → ``data/report.html`` (next to the warehouse it shows)."""
    return Path(db_path).with_name("report.html")


def write_page(
    db_path: str | Path,
    out_path: str | Path | None = None,
    *,
    portals: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
) -> PageResult:
    """Write the analyst page for the warehouse snapshot at ``db_path``; returns what was written.

    Raises :class:`warehouse.db.WarehouseMissing` when there is no file, :class:`SnapshotRefused` when the
    file is not a warehouse this code can read (a newer schema, not a warehouse).
    """
    from analyst import data as data_mod
    from analyst import drilldown, render
    from analyst.snapshot import open_snapshot
    from ogi import __version__
    from warehouse.db import bounded_memory

    t0 = time.perf_counter()
    out = Path(out_path) if out_path else default_out_path(db_path)
    filters = data_mod.Filters(portals=sorted(set(portals)) if portals else None,
                               years=sorted({int(y) for y in years}) if years else None)
    with open_snapshot(db_path) as snap:
        # drill-downs first, then the page data: DuckDB's working memory for the one and the other's Python
        # objects are never held at the same time (python -m bench.memory)
        ids = data_mod.report_ids(snap.con, filters)
        chunks, chunk_of, dd_bytes, keys, reused = drilldown.build(snap.con, filters, ids, previous=out)
        data_key = data_mod.data_key(snap.con, filters, ids, snap.schema_version)
        kept = render.previous_data(out, data_key)  # a no-change night: most of the data is the last page's
        with bounded_memory(snap.con, PAGE_MEMORY_LIMIT) as run:  # the t3/t4 pivots scan all of ``facts``
            page = run(lambda: data_mod.load(snap.con, filters, kept=kept, report_ids=ids))
        if page.report_ids != ids:  # the chunks would show other reports' drill-downs
            raise RuntimeError("analyst page: the report order changed between two reads of one snapshot")
        n_reports, n_findings = len(ids), page.n_findings
        del ids
    desc = []
    if filters.portals:
        desc.append("门户 " + ", ".join(filters.portals))
    if filters.years:
        desc.append("年度 " + ", ".join(map(str, filters.years)))
    meta = {"generated_at": render.generated_at(), "source": Path(db_path).name, "schema_version": snap.schema_version,
            "upgraded": snap.upgraded, "filters": "；".join(desc) or None, "ogi_version": __version__,
            "chunks": len(chunks), "data_key": data_key, "n_findings": n_findings}
    model = render.page_model(page, meta, chunk_of)
    del page  # the model holds what the page shows; written out piece by piece (render.write), never as one string
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + out.name + ".", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            size = render.write(f, model, chunks, "政府信息公开年度报告分析页 · " + Path(db_path).name, keys)
        os.chmod(tmp, 0o644)
        killpoint("page.written")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return PageResult(out, size, n_reports, n_findings, time.perf_counter() - t0,
                      snap.schema_version, snap.upgraded, dd_bytes, len(keys), reused, kept is not None)


@dataclass(frozen=True)
class PageOutcome:
    """What the nightly run reports about its page: where it is, or why there is none."""

    path: str | None
    error: str | None = None
    seconds: float = 0.0


def publish_page(db_path: str | Path, out_path: str | Path | None = None) -> PageOutcome:
    """The nightly flow's call, after the snapshot is published: best effort, never raises.

    A page that cannot be written (disk full, a bug here) is logged and reported in the run summary; it
    must not fail a run whose data is already loaded and published.
    """
    import logging

    try:
        res = write_page(db_path, out_path)
    except Exception as e:  # noqa: BLE001 - see above
        msg = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:300]
        logging.getLogger("ogi.analyst").warning("analyst page not written: %s", msg)
        return PageOutcome(None, msg)
    return PageOutcome(str(res.path), None, res.seconds)
