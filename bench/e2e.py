"""End-to-end benchmark: a full nightly run and a no-change rerun against the sample portal (1,000 report pages).

    .venv/bin/python -m bench.e2e [--reports 1000] [--skip-direct]

Measures, each run in a fresh subprocess (so peak RSS is that run's own):
- the ``nightly`` Prefect flow (tasks, ThreadPoolTaskRunner, ephemeral API warmed up beforehand):
  first run and no-change rerun — wall time and peak memory;
- the same pipeline functions called directly (``flows.pipeline.run_direct``, no Prefect) on a separate
  data directory: first run and rerun — the reference for the Prefect overhead ratio;
- Prefect's fixed start-up (ephemeral API server), reported separately.
The no-change rerun is run ``--reruns`` times (default 3), each a fresh process like a nightly run; the median is
compared with the first run (a busy machine moves single runs by ±30 %).
Targets: the no-change rerun takes ≤ 10 % of the first run's time and ≤ 5 % of its bytes, *with full nightly
revalidation on* (the default settings: every known report page and attachment conditionally re-requested;
the bench checks that from the archive's fetch log).  Politeness is off (loopback only).  Where the time goes is
printed too: the CPU of the run's process and of the sample server (in this parent process) during each run.
"""

from __future__ import annotations

import argparse
import importlib.abc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _config(path: Path, data_dir: Path) -> Path:
    path.write_text(
        "crawl:\n  polite: false\n  min_delay_s: 0\n  per_host_concurrency: 8\n  global_concurrency: 16\n"
        "  retries: 1\n  backoff_base_s: 0.1\n  max_pages_per_portal: 100000\n  max_list_pages: 10000\n"
        f"lock_timeout_s: 5\ndata_dir: {data_dir}\n",
        encoding="utf-8",
    )
    return path


class _NoPandas(importlib.abc.MetaPathFinder):
    """``import pandas`` fails in this process, as where pandas is not installed."""

    def find_spec(self, name, path, target=None):  # noqa: ANN001, ANN201
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden from the benchmark run)", name=name)
        return None


def _hide_pandas() -> None:
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, _NoPandas())


def child(mode: str, workdir: Path, registry: Path) -> dict:
    """One measured run inside this (fresh) process; prints a JSON line.

    pandas is hidden from the run, as in a production install (it is a bench-only extra, for other benches'
    reference lines): with pandas installed, pyarrow imports it on the first array it builds (~0.25 s once per
    process, :func:`_pandas_import_s` prints it), which would be charged to whichever run builds one first.
    """
    _hide_pandas()
    os.environ["OGI_HOME"] = str(workdir)
    os.environ["OGI_CONFIG"] = str(workdir / "ogi.yaml")
    os.environ["OGI_ALERT_URLS"] = ""
    os.environ.setdefault("PREFECT_HOME", str(workdir / ".prefect"))
    from ogi.config import Settings, prefect_env_defaults

    prefect_env_defaults(workdir)
    settings = Settings.load(db=workdir / "data" / "ogi.duckdb", portals=registry)
    t_start = time.time()
    from crawler.revalidation import RevalidationPolicy

    out: dict = {"mode": mode, "revalidation": RevalidationPolicy.from_settings(settings.crawl).describe()}
    if mode in ("flow", "flow1"):
        from prefect import flow

        @flow(name="warmup")
        def warmup() -> int:
            return 1

        t = time.perf_counter()
        warmup()
        out["prefect_startup_s"] = time.perf_counter() - t
        from flows.nightly import nightly, run_sync

        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        summary = run_sync(nightly, portals=str(registry), db=str(settings.db_path))
        out["wall_s"] = time.perf_counter() - t
        out["rss_before_mb"] = rss0 / 1024
    else:
        from flows.pipeline import run_direct

        t = time.perf_counter()
        summary = run_direct(settings)
        out["wall_s"] = time.perf_counter() - t
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.update(found=summary.found, new=summary.new, revised=summary.revised, failed=summary.failed,
               requests=sum(p.requests for p in summary.portals), bytes=sum(p.bytes for p in summary.portals),
               timings=summary.timings, **_revalidation(settings.archive_dir, t_start))
    return out


def _revalidation(archive_dir: Path, since: float) -> dict:
    """From the archive: how many known report pages / attachments this run re-requested, and how."""
    import datetime as dt

    from crawler import Archive

    t0 = dt.datetime.fromtimestamp(since, dt.timezone.utc).isoformat()
    with Archive(archive_dir) as a:
        rows = [r for r in a.fetch_log() if r["fetched_at"] >= t0 and r["kind"] in ("report_page", "attachment")]
        known = len(a.urls(["report_page", "attachment"]))
    return {"known_urls": known, "doc_requests": len(rows), "doc_conditional": sum(bool(r["conditional"]) for r in rows),
            "doc_304": sum(r["status"] == 304 for r in rows)}


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _run_child(mode: str, workdir: Path, registry: Path) -> dict:
    env = dict(os.environ)
    if mode == "flow1":  # like for like with the direct run: one portal at a time
        env["OGI_PORTAL_CONCURRENCY"] = "1"
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")  # a busy 2-core machine is slow
    server0, child0 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    r = subprocess.run(
        [sys.executable, "-m", "bench.e2e", "--child", mode, "--workdir", str(workdir), "--registry", str(registry)],
        cwd=ROOT, capture_output=True, text=True, timeout=1800, env=env,
    )
    if r.returncode != 0:
        raise SystemExit(f"child {mode} failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    # this parent process is the sample server (its threads); the child is the whole run incl. imports
    out["server_cpu_s"] = _cpu(resource.RUSAGE_SELF) - server0
    out["run_cpu_s"] = _cpu(resource.RUSAGE_CHILDREN) - child0
    return out


def _pandas_import_s() -> float | None:
    """What ``import pandas`` costs in a fresh interpreter (None when it is not installed)."""
    r = subprocess.run([sys.executable, "-c", "import time; t = time.perf_counter(); import pandas; "
                        "print(time.perf_counter() - t)"], capture_output=True, text=True, timeout=120)
    return float(r.stdout) if r.returncode == 0 else None


def _fmt(label: str, m: dict) -> str:
    t = ", ".join(f"{k} {v:.2f}s" for k, v in (m.get("timings") or {}).items())
    return (f"{label:34s} {m['wall_s']:8.2f} s   peak RSS {m['peak_rss_mb']:7.1f} MB   "
            f"{m['found']} docs, {m['new']} new, {m['revised']} revised, {m['failed']} failed, "
            f"{m['requests']} requests, {m['bytes'] / 1e6:.2f} MB   [{t}]\n"
            f"{'':34s} known documents {m['known_urls']}: {m['doc_requests']} re-requested "
            f"({m['doc_conditional']} conditional, {m['doc_304']} answered 304); CPU: run process {m['run_cpu_s']:.2f} s "
            f"(incl. interpreter start-up and imports), sample server {m['server_cpu_s']:.2f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=int, default=1000, help="report pages in total over the sample portals")
    ap.add_argument("--skip-direct", action="store_true", help="skip the no-Prefect reference runs")
    ap.add_argument("--reruns", type=int, default=3,
                    help="no-change reruns after the first run, each in a fresh process; the median is the result")
    ap.add_argument("--child", choices=["flow", "flow1", "direct"], help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--registry", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, Path(args.workdir), Path(args.registry))))
        return 0

    from sample_portal import site
    from sample_portal.server import start

    n_portals = len(site.build_portals(1))
    per_portal = max(1, round(args.reports / n_portals))
    with tempfile.TemporaryDirectory(prefix="ogi-e2e-") as tmp:
        tmp_p = Path(tmp)
        portal = start("127.0.0.1", 0, reports_per_portal=per_portal)
        try:
            registry = portal.write_registry(tmp_p / "registry.yaml")
            expected = len(portal.expected_reports())
            print(f"sample portal {portal.base_url}: {n_portals} portals × {per_portal} reports "
                  f"= {expected} report pages (+ attachments and decoys)")
            results = {}
            for mode in (["flow"] + ([] if args.skip_direct else ["flow1", "direct"])):
                wd = tmp_p / mode
                (wd / "data").mkdir(parents=True)
                _config(wd / "ogi.yaml", wd / "data")
                first = _run_child(mode, wd, registry)
                reruns = [_run_child(mode, wd, registry) for _ in range(max(1, args.reruns))]
                rerun = sorted(reruns, key=lambda r: r["wall_s"])[len(reruns) // 2]  # the median one
                results[mode] = (first, rerun)
                print(_fmt(f"{mode}: first run", first))
                print(_fmt(f"{mode}: no-change rerun (median)", rerun))
                if len(reruns) > 1:
                    print(f"{mode}: the {len(reruns)} no-change reruns took "
                          + ", ".join(f"{r['wall_s']:.2f}" for r in reruns) + " s")
                print(f"{mode}: rerun settings: {rerun['revalidation']}")
                ratio = rerun["wall_s"] / first["wall_s"]
                ratio_b = rerun["bytes"] / max(1, first["bytes"])
                full = rerun["doc_requests"] >= rerun["known_urls"]
                print(f"{mode}: rerun / first run = {ratio:.1%} of the time (target ≤ 10%: "
                      f"{'OK' if ratio <= 0.10 else 'MISSED'}), {ratio_b:.3%} of the bytes (target ≤ 5%: "
                      f"{'OK' if ratio_b <= 0.05 else 'MISSED'}); full revalidation: "
                      f"{'yes' if full else 'NO'} ({rerun['doc_requests']} of {rerun['known_urls']} known documents)")
            f_first, f_rerun = results["flow"]
            print(f"Prefect ephemeral API start-up (warm-up flow, not in the times above): "
                  f"{f_first.get('prefect_startup_s', 0):.2f} s")
            pandas_s = _pandas_import_s()
            if pandas_s is not None:
                print(f"not in the times above: pandas (installed here for other benches, not a dependency) would "
                      f"add {pandas_s:.2f} s once per process if it were importable in the run")
            if "direct" in results:
                d_first, d_rerun = results["direct"]
                o_first, o_rerun = results["flow1"]
                print("reference: the same functions called directly, no Prefect, one portal at a time")
                print(f"  Prefect overhead ratio (flow, 1 portal at a time / direct): first run "
                      f"{o_first['wall_s']:.2f} / {d_first['wall_s']:.2f} s = {o_first['wall_s'] / d_first['wall_s']:.2f}×, "
                      f"rerun {o_rerun['wall_s']:.2f} / {d_rerun['wall_s']:.2f} s = {o_rerun['wall_s'] / d_rerun['wall_s']:.2f}×")
                print(f"  flow with {os.environ.get('OGI_PORTAL_CONCURRENCY', '16')} portals at a time / direct: first run "
                      f"{f_first['wall_s'] / d_first['wall_s']:.2f}×, rerun {f_rerun['wall_s'] / d_rerun['wall_s']:.2f}×")
        finally:
            portal.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
