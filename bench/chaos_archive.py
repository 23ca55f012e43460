"""Archive faults (issue 11 item 2), for ``python -m bench.chaos``: a tampered page and a damaged PDF gzip, then
``ogi reprocess`` and the next crawl; a disk full while archiving.  Compared with one clean run of the same portal.
"""

from __future__ import annotations

import gzip
import tempfile
import time
from pathlib import Path

PORTAL = "sample-trs-qinghe"


def _reports(db: Path) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT * EXCLUDE (last_seen_at) FROM analytics.reports ORDER BY ALL").fetchall()


def _blob(root: Path, sha: str) -> Path:
    return root / "objects" / sha[:2] / f"{sha}.gz"


def _setup(portal, tmp: Path, mp):
    from bench.chaos_portals import configure

    import yaml

    entries = [e for e in portal.registry_entries() if e["id"] == PORTAL]
    reg = tmp / "registry.yaml"
    reg.write_text(yaml.safe_dump({"portals": entries}, allow_unicode=True), encoding="utf-8")
    return configure(tmp, mp, reg)


def rows(heavy: bool) -> list[dict]:  # noqa: ARG001
    import contextlib
    import io

    import pytest

    from bench.chaos_hostile import _status
    from crawler.archive import Archive
    from crawler.hosts import reset_shared
    from flows.pipeline import run_direct
    from sample_portal.server import start

    out: list[dict] = []
    reset_shared()
    portal = start(port=0)
    mp = pytest.MonkeyPatch()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = _setup(portal, Path(tmp), mp)
            run_direct(settings)
            clean = _reports(settings.db_path)
            with Archive(settings.archive_dir) as a:
                docs = a.documents()
            att = next(d for d in docs if d.kind == "attachment" and d.url.endswith(".pdf"))
            parents = {d.parent_url for d in docs if d.parent_url}
            page = next(d for d in docs if d.kind == "report_page" and d.url not in parents)
            body = gzip.decompress(_blob(settings.archive_dir, page.sha256).read_bytes())
            _blob(settings.archive_dir, page.sha256).write_bytes(gzip.compress(body.replace(b"1", b"7")))
            raw = _blob(settings.archive_dir, att.sha256).read_bytes()
            _blob(settings.archive_dir, att.sha256).write_bytes(raw[:20] + bytes(b ^ 0x55 for b in raw[20:60]) + raw[60:])
            with Archive(settings.archive_dir) as a:
                t = time.perf_counter()
                problems = a.verify()
                verify_s = time.perf_counter() - t
            out.append({"fault": "archive: tampered page + damaged PDF gzip → ogi archive verify",
                        "result": f"{len(problems)} corrupt blobs listed, exit 1",
                        "equal_to_clean": "n/a", "seconds": round(verify_s, 2), "peak_rss_mb": 0.0})
            err = io.StringIO()
            t = time.perf_counter()
            with contextlib.redirect_stderr(err):
                run_direct(settings, mode="reprocess")
            skipped = err.getvalue().count("skipped corrupt archive entry")
            out.append({"fault": "archive: the same, then ogi reprocess",
                        "result": f"{skipped} entries skipped and listed (the stub page with its PDF); nothing parsed",
                        "equal_to_clean": "yes" if _reports(settings.db_path) == clean else "NO",
                        "seconds": round(time.perf_counter() - t, 2), "peak_rss_mb": 0.0})
            t = time.perf_counter()
            run_direct(settings)
            with Archive(settings.archive_dir) as a:
                left = len(a.verify())
                refetched = sum(1 for r in a.fetch_log() if (r["error"] or "").startswith("archive_corrupt"))
            out.append({"fault": "archive: the same, then the next crawl",
                        "result": f"{refetched} corrupt bodies fetched again, {left} problems left",
                        "equal_to_clean": "yes" if _reports(settings.db_path) == clean else "NO",
                        "seconds": round(time.perf_counter() - t, 2), "peak_rss_mb": 0.0})
            # disk full while archiving a new report
            new_url = portal.publish_new_report("qinghe")
            real = Path.write_bytes

            def full(self, data):
                if self.name.endswith(".tmp"):
                    real(self, data[: len(data) // 3])
                    raise OSError(28, "No space left on device")
                return real(self, data)

            mp.setattr(Path, "write_bytes", full)
            t = time.perf_counter()
            try:
                summary = run_direct(settings)
            finally:
                mp.setattr(Path, "write_bytes", real)
            secs = time.perf_counter() - t
            with Archive(settings.archive_dir) as a:
                intact = a.verify() == []
            kept = set(clean) <= set(_reports(settings.db_path))
            out.append({"fault": "archive: disk full (ENOSPC on every blob write)",
                        "result": f"{summary.failed} failed fetches (archive_write), new report not loaded, archive "
                                  f"{'intact' if intact else 'DAMAGED'}, loaded reports {'kept' if kept else 'LOST'}",
                        "equal_to_clean": "yes" if kept and new_url not in {r[2] for r in _reports(settings.db_path)}
                        else "NO", "seconds": round(secs, 2), "peak_rss_mb": 0.0})
    finally:
        mp.undo()
        portal.stop()
    peak = round(_status("VmHWM") / 1024 / 1024, 1)
    for r in out:
        r["peak_rss_mb"] = peak
    return out
