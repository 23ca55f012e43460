"""Memory benchmark: peak RSS of a first run over 1,000 and over 10,000 new report pages.

    .venv/bin/python -m bench.memory [--small 1000] [--large 10000] [--mode flow|direct]

Each run is the ``nightly`` Prefect flow (``--mode direct``: ``flows.pipeline.run_direct``, no Prefect) in a fresh
subprocess over the bundled sample portal, on an empty warehouse, so its peak RSS is that run's own.  A run
extracts and loads its reports piece by piece (``OGI_EXTRACT_PIECE`` documents, ``OGI_EXTRACT_WINDOW`` pieces in
flight), so the peak must not grow with the number of reports.  Targets (issue 10): < 500 MB for 10,000 pages,
and within 20 % of the 1,000-page peak measured in the same invocation.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.e2e import _config, _run_child

TARGET_MB = 500.0
TARGET_RATIO = 1.20


def _first_run(reports: int, mode: str, tmp: Path) -> dict:
    from sample_portal import site
    from sample_portal.server import start

    per_portal = max(1, round(reports / len(site.build_portals(1))))
    portal = start("127.0.0.1", 0, reports_per_portal=per_portal)
    try:
        wd = tmp / f"{mode}-{reports}"
        (wd / "data").mkdir(parents=True)
        registry = portal.write_registry(wd / "registry.yaml")
        _config(wd / "ogi.yaml", wd / "data")
        out = _run_child(mode, wd, registry)
        out["expected"] = len(portal.expected_reports())
        return out
    finally:
        portal.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=1000, help="report pages of the baseline run")
    ap.add_argument("--large", type=int, default=10000, help="report pages of the large run")
    ap.add_argument("--mode", choices=["flow", "direct"], default="flow")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ogi-memory-") as tmp:
        runs = {n: _first_run(n, args.mode, Path(tmp)) for n in (args.small, args.large)}
    for n, m in runs.items():
        print(f"{args.mode} first run, {m['expected']:6d} report pages: {m['wall_s']:7.1f} s, peak RSS "
              f"{m['peak_rss_mb']:6.1f} MB ({m['found']} documents, {m['new']} new, {m['failed']} failed)")
    small, large = runs[args.small]["peak_rss_mb"], runs[args.large]["peak_rss_mb"]
    ratio = large / small
    print(f"peak RSS {args.large} / {args.small} pages = {large:.1f} / {small:.1f} MB = {ratio:.2f}× "
          f"(target ≤ {TARGET_RATIO:.2f}×: {'OK' if ratio <= TARGET_RATIO else 'MISSED'}); "
          f"{args.large} pages {'<' if large < TARGET_MB else '≥'} {TARGET_MB:.0f} MB: "
          f"{'OK' if large < TARGET_MB else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
