"""kill -9 of a real ``ogi run`` at each kill point (and at timed moments), each in its own project, then a rerun.

``python -m bench.chaos_kill [--heavy]`` prints one row per fault; ``bench.chaos`` collects :func:`rows`.
Each row: the run is killed (by itself at an ``OGI_KILL_AT`` point, or by SIGKILL from outside after t
seconds), the next ``ogi run`` completes, and the published analytics are compared with one clean run over
the same sample portal (``warehouse.checksum``, run-time columns left out).  ``result`` says what the kill
left: the run-log status of the killed run, whether the successor took over a stale lock, orphan processes,
and what the alert sink received compared with the clean run (``once``, or ``in-doubt digest repeated``).
Unlike ``tests/test_kill9.py`` (one cheap sequence), every fault here starts from an empty warehouse, so a
difference is attributable to one kill point.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import kill9_harness as harness  # noqa: E402

POINTS = ["run.begun", "crawl.archived:20", "crawl.attachment:1", "extract.document:10", "load.rows", "load.piece:2",
          "load.final", "publish.copied", "alerts.sent", "page.written"]
HEAVY_POINTS = ["crawl.archived:1", "crawl.archived:45", "extract.document:1", "extract.document:40"]
TIMED = [3.0]  # seconds after ogi run's own Prefect server appeared
HEAVY_TIMED = [0.5, 1.5, 2.5, 4.0, 5.5, 7.0]


def _fault_row(lab: harness.Lab, name: str, clean: harness.Project, clean_sums: dict, clean_alerts: list,
               kw: dict) -> dict:
    from warehouse.checksum import RUN_TIME_COLUMNS, differences, file_checksums

    proj = lab.project(name.replace(":", "_").replace(".", "_").replace(" ", "_"))
    killed = lab.run(proj, **kw)
    rerun = lab.run(proj)
    notes = [f"exit {killed.returncode}" + (" (SIGKILL)" if killed.killed else ""),
             f"rerun exit {rerun.returncode}"]
    took = dict(rerun.takeovers())
    if killed.pid in took:
        notes.append(f"stale lock taken over, killed run {harness.runs(proj.db).get(took[killed.pid], ('absent',))[0]}")
    else:
        notes.append("no lock held")
    orphans = len(killed.survivors) + len(rerun.survivors)
    notes.append(f"{orphans} orphan processes" if orphans else "no orphans")
    digests = lab.alert_items(proj)
    if digests == clean_alerts:
        notes.append("alerts once")
    elif digests == clean_alerts * 2:
        notes.append("in-doubt digest repeated (at least once)")
    else:
        notes.append(f"alerts DIFFER ({[sum(d.values()) for d in digests]} vs {[sum(d.values()) for d in clean_alerts]})")
    diff = differences(clean_sums, file_checksums(proj.db, ignore_columns=RUN_TIME_COLUMNS)) if proj.db.exists() else {
        "published snapshot": ("present", "absent")}
    if diff:
        notes.append("views differ: " + ", ".join(sorted(diff)))
    return {"fault": f"kill -9 {name}", "result": "; ".join(notes), "equal_to_clean": not diff,
            "seconds": round(killed.seconds + rerun.seconds, 1), "peak_rss_mb": round(max(killed.peak_rss_mb,
                                                                                        rerun.peak_rss_mb), 1)}


def rows(heavy: bool) -> list[dict]:
    from warehouse.checksum import RUN_TIME_COLUMNS, file_checksums

    points = POINTS + (HEAVY_POINTS if heavy else [])
    timed = HEAVY_TIMED if heavy else TIMED
    out: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="ogi-chaos-kill-") as tmp, harness.Lab(Path(tmp)) as lab:
        clean = lab.project("clean")
        t0 = time.monotonic()
        first = lab.run(clean)
        if first.returncode != 0:
            raise RuntimeError(f"the clean run failed: {first.stderr[-500:]}")
        out.append({"fault": "none (clean run)", "result": f"exit 0; {sum(lab.alert_items(clean)[0].values())} alerts",
                    "equal_to_clean": True, "seconds": round(time.monotonic() - t0, 1),
                    "peak_rss_mb": round(first.peak_rss_mb, 1)})
        clean_sums = file_checksums(clean.db, ignore_columns=RUN_TIME_COLUMNS)
        clean_alerts = lab.alert_items(clean)
        for p in points:
            out.append(_fault_row(lab, f"at {p}", clean, clean_sums, clean_alerts, {"kill_at": p}))
        for t in timed:
            out.append(_fault_row(lab, f"{t:g}s after its Prefect server started", clean, clean_sums, clean_alerts,
                                  {"own_server": True, "kill_after_child_s": t}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--heavy", action="store_true", help="more kill points and timed kills")
    args = ap.parse_args()
    print("| fault | result | equal to clean | seconds | peak RSS MB |\n|---|---|---|---|---|")
    for r in rows(args.heavy):
        print(f"| {r['fault']} | {r['result']} | {'yes' if r['equal_to_clean'] else 'NO'} | {r['seconds']} | "
              f"{r['peak_rss_mb']} |", flush=True)


if __name__ == "__main__":
    main()
