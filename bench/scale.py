"""Scale-out benchmark: a sharded backfill with 1, 2 and 4 shard workers in one run, and the merge rate.

    .venv/bin/python -m bench.scale [--hosts 8] [--reports-per-portal 25] [--workers 1,2,4]

The sample portal is served as ``--hosts`` servers (one host:port each, five portals each: politeness is per
host, so every host is its own shard unit), all in this process, pages pre-rendered.  For each worker count W:
the registry is planned into W shards (``flows.shard.plan_shards``), W shard processes run at once
(``flows.shard.run_shard`` in plain subprocesses: the work a Prefect worker's flow run does, without the ~5-8 s
of flow-run start-up a process worker adds per shard), then one merge process loads them
(``flows.shard.merge_run``).  Politeness is off (loopback only), as in ``bench.e2e``.

Printed per W: wall time from launch to the last manifest, pages/s (requests), reports/s, MB/s, the peak RSS of
each shard process, the CPU of the shard processes and of the sample servers; then the merge: reports/s merged
and its peak RSS.  If 2 workers reach less than 1.7× the pages/s of 1, the bench says which resource bounds it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFIG = ("crawl:\n  polite: false\n  min_delay_s: 0\n  per_host_concurrency: 8\n  global_concurrency: 16\n"
          "  retries: 1\n  backoff_base_s: 0.1\n  max_pages_per_portal: 100000\n  max_list_pages: 10000\n"
          "lock_timeout_s: 5\n")

#: The crawler's polite defaults (ogi.config.CrawlSettings): one request per host every min_delay_s.
POLITE_DELAY_S = 0.5


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (/proc/stat; other users' jobs included)."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return (sum(fields) - idle) / hz, sum(fields) / hz


def _env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OGI_")}
    env.update(OGI_HOME=str(workdir), OGI_CONFIG=str(workdir / "ogi.yaml"), OGI_ALERT_URLS="",
               OGI_DATA_DIR=str(workdir / "data"))
    return env


def child(args: argparse.Namespace) -> dict:
    """One shard or the merge, in this fresh process; returns what the parent prints."""
    from flows import shard as sharding

    t = time.perf_counter()
    if args.child == "shard":
        m = sharding.run_shard(args.run_id, args.shard, 0, db=args.db, portals=args.registry)
        return {"wall_s": time.perf_counter() - t, "stats": m["stats"], "dir": m["dir"]}
    out = sharding.merge_run(args.run_id, db=args.db, portals=args.registry, page=False)
    return {"wall_s": time.perf_counter() - t, "reports": out.reports, "merged": out.merged,
            "timings": out.timings, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _spawn(workdir: Path, *argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench.scale", "--child", *argv], cwd=ROOT, env=_env(workdir),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_all(procs: list[subprocess.Popen]) -> tuple[list[dict], list[float]]:
    """Every process's result, and how long each ran from launch (interpreter start and imports included)."""
    import threading

    t0 = time.perf_counter()
    ended = [0.0] * len(procs)
    results: list[dict] = [{}] * len(procs)

    def one(i: int) -> None:
        results[i] = _result(procs[i])
        ended[i] = time.perf_counter() - t0

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(procs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if not all(results):
        raise SystemExit("a shard process failed")
    return results, ended


def _result(p: subprocess.Popen) -> dict:
    out, err = p.communicate(timeout=3600)
    if p.returncode != 0:
        raise SystemExit(f"child failed (exit {p.returncode}):\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def _report_count(directory: str) -> int:
    import pyarrow.parquet as pq

    col = pq.read_table(Path(directory) / "reports.parquet", columns=["is_report"]).column("is_report")
    return sum(bool(v) for v in col.to_pylist())


def measure(workers: int, tmp: Path, registry: Path) -> dict:
    from flows import shard as sharding
    from ogi.config import Settings

    wd = tmp / f"w{workers}"
    (wd / "data").mkdir(parents=True)
    (wd / "ogi.yaml").write_text(CONFIG, encoding="utf-8")
    saved = dict(os.environ)
    os.environ.update(_env(wd))
    try:
        settings = Settings.load(db=wd / "data" / "ogi.duckdb", portals=registry)
        plan = sharding.new_plan(settings, workers)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    db = str(settings.db_path)
    server0, child0 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    busy0, total0 = _machine_busy()
    t = time.perf_counter()
    procs = [_spawn(wd, "shard", "--run-id", plan["run_id"], "--shard", str(k), "--db", db, "--registry",
                    str(registry)) for k in range(len(plan["shards"]))]
    shards, ended = _wait_all(procs)
    wall = time.perf_counter() - t
    server_cpu, shard_cpu = _cpu(resource.RUSAGE_SELF) - server0, _cpu(resource.RUSAGE_CHILDREN) - child0
    busy1, _ = _machine_busy()
    machine_cpu = busy1 - busy0
    child0 = _cpu(resource.RUSAGE_CHILDREN)
    merge = _result(_spawn(wd, "merge", "--run-id", plan["run_id"], "--db", db, "--registry", str(registry)))
    merge["cpu_s"] = _cpu(resource.RUSAGE_CHILDREN) - child0
    st = [s["stats"] for s in shards]
    pages = sum(s["requests"] for s in st)
    return {"workers": workers, "shards": len(shards), "wall_s": wall, "pages": pages,
            "bytes": sum(s["bytes"] for s in st), "reports": sum(_report_count(s["dir"]) for s in shards),
            "shard_wall_s": [s["wall_s"] for s in st], "process_wall_s": ended, "machine_cpu_s": machine_cpu,
            "peak_rss_mb": [s["peak_rss_mb"] for s in st], "server_cpu_s": server_cpu, "shard_cpu_s": shard_cpu,
            "merge": merge, "db": db}


def _line(m: dict) -> str:
    w = m["wall_s"]
    return (f"{m['workers']} worker(s), {m['shards']} shard(s): {w:6.2f} s  {m['pages'] / w:7.1f} pages/s  "
            f"{m['reports'] / w:6.1f} reports/s  {m['bytes'] / 1e6 / w:6.2f} MB/s   peak RSS per shard "
            f"{', '.join(f'{r:.0f}' for r in m['peak_rss_mb'])} MB   CPU: shards {m['shard_cpu_s']:.1f} s, "
            f"sample servers {m['server_cpu_s']:.1f} s ({(m['shard_cpu_s'] + m['server_cpu_s']) / w:.2f} cores busy; "
            f"whole machine {m['machine_cpu_s'] / w:.2f} cores, other users' jobs included)\n"
            f"{'':24s}in-shard time {', '.join(f'{x:.1f}' for x in m['shard_wall_s'])} s of process time "
            f"{', '.join(f'{x:.1f}' for x in m['process_wall_s'])} s (the rest: interpreter start and imports)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=8, help="sample portal servers (hosts), five portals each")
    ap.add_argument("--reports-per-portal", type=int, default=25)
    ap.add_argument("--workers", default="1,2,4", help="worker counts to measure, comma-separated")
    ap.add_argument("--child", choices=["shard", "merge"], help=argparse.SUPPRESS)
    ap.add_argument("--run-id", help=argparse.SUPPRESS)
    ap.add_argument("--shard", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--registry", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0

    from sample_portal.server import start, write_hosts_registry
    from warehouse.checksum import RUN_TIME_COLUMNS, differences, file_checksums

    counts = [int(x) for x in args.workers.split(",") if x.strip()]
    ncpu = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="ogi-scale-") as tmp:
        tmp_p = Path(tmp)
        handles = [start("127.0.0.1", 0, reports_per_portal=args.reports_per_portal) for _ in range(args.hosts)]
        try:
            for h in handles:
                h.prerender()
            registry = write_hosts_registry(handles, tmp_p / "registry.yaml")
            n_reports = sum(len(h.expected_reports()) for h in handles)
            print(f"sample portal: {args.hosts} hosts × {len(handles[0].portal_ids())} portals × "
                  f"{args.reports_per_portal} reports = {n_reports} report pages (+ attachments, lists, decoys); "
                  f"{ncpu} CPU cores; politeness off; shard workers are plain processes (flows.shard.run_shard)")
            results = [measure(w, tmp_p, registry) for w in counts]
        finally:
            for h in handles:
                h.stop()
        for m in results:
            print(_line(m))
        for m in results:
            g = m["merge"]
            print(f"merge after {m['workers']} worker(s): {g['reports']} staged reports in {g['wall_s']:.2f} s = "
                  f"{g['reports'] / g['wall_s']:.0f} reports/s (process incl. start-up; load "
                  f"{g['timings'].get('load', 0):.2f} s, final transaction + publish {g['timings'].get('finish', 0):.2f} s), "
                  f"peak RSS {g['peak_rss_mb']:.0f} MB")
        ref = file_checksums(results[0]["db"], ignore_columns=RUN_TIME_COLUMNS)
        same = all(differences(ref, file_checksums(m["db"], ignore_columns=RUN_TIME_COLUMNS)) == {} for m in results)
        print(f"warehouses of every worker count equal (analytics checksums): {'yes' if same else 'NO'}")
        by = {m["workers"]: m for m in results}
        if 1 in by:
            base = by[1]["pages"] / by[1]["wall_s"]
            for w in counts[1:]:
                print(f"speed-up {w} workers / 1: {by[w]['pages'] / by[w]['wall_s'] / base:.2f}×")
            if 2 in by:
                m = by[2]
                speed = m["pages"] / m["wall_s"] / base
                ours = (m["shard_cpu_s"] + m["server_cpu_s"]) / m["wall_s"]
                busy = max(ours, m["machine_cpu_s"] / m["wall_s"])
                one = by[1]
                if speed >= 1.7:
                    print(f"2 workers: {speed:.2f}× the pages/s of 1 (target ≥ 1.7×: OK)")
                else:
                    what = (f"CPU: the machine was {busy:.2f} of {ncpu} cores busy on average ({ours:.2f} of them ours: "
                            f"the shard processes {m['shard_cpu_s']:.1f} s CPU — one worker alone used "
                            f"{one['shard_cpu_s'] / one['wall_s']:.2f} core, extraction is most of it — and the sample "
                            f"servers {m['server_cpu_s']:.1f} s; the rest other processes on this shared machine)"
                            if busy >= 0.8 * ncpu else
                            f"not the CPU ({busy:.2f} of {ncpu} cores busy): the fixed per-process start-up and the "
                            f"largest shard (in-shard times {', '.join(f'{x:.1f}' for x in m['shard_wall_s'])} s)")
                    print(f"2 workers: {speed:.2f}× the pages/s of 1 (target ≥ 1.7×: MISSED) — bound by {what}")
        per_host = by[counts[0]]["pages"] / by[counts[0]]["wall_s"] / args.hosts
        print(f"politeness bound (defaults: one request per host every {POLITE_DELAY_S} s): "
              f"{1 / POLITE_DELAY_S:.0f} pages/s per host × {args.hosts} hosts = {args.hosts / POLITE_DELAY_S:.0f} "
              f"pages/s here; impolite, {counts[0]} worker(s) fetched {per_host:.1f} pages/s per host")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
