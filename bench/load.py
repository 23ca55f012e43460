"""Benchmark the warehouse load: ``.venv/bin/python -m bench.load [--reports 10000] [--keep DIR]``.

Loads N synthetic reports (2019/2021 tables 二/三/四, ≈200 facts each) through the real loader into a
fresh DuckDB file and prints: facts/s, load time (with its phases), peak memory during the load,
warehouse size, the time of a second identical load (idempotent no-op), the publish time, and the
time of each analytics view over that data.  Reference lines measured in the same run: the same
facts inserted row by row with ``executemany`` (a sample, in one transaction), the same facts as a
ready Arrow table inserted with one ``INSERT … SELECT`` (no Python object conversion), and a plain
Parquet ``COPY`` of them.  Targets (issue 4): ≥ 500,000 facts/s, < 1 s per analytics view.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import duckdb

from warehouse import load_run, open_writer, work_path
from warehouse import synthetic as s
from warehouse.analytics import VIEWS

AGENCIES = ("县人民政府", "县人民政府办公室", "县财政局", "县教育局", "县卫生健康委员会", "城关镇人民政府", "县公安局",
            "县自然资源局", "县住房和城乡建设局", "县市场监督管理局")
YEARS = (2019, 2020, 2021, 2022, 2023)


class PeakRSS:
    """Samples this process's resident set every 5 ms (reads /proc, no tracemalloc overhead)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page

    def __enter__(self) -> "PeakRSS":
        self.base = self.rss()
        self.peak = self.base
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.rss())


def build_run(n: int) -> object:
    portals = []
    docs = []
    per_portal = len(AGENCIES) * len(YEARS)
    n_portals = max(1, -(-n // per_portal))
    for p in range(n_portals):
        county = f"测试{p}县"
        portal = s.portal(f"bench-{p:04d}", county=county, province=("河南省", "广东省", "四川省")[p % 3])
        portals.append(portal)
        for a in AGENCIES:
            agency = county + a[1:]
            carried: dict[str, int] | None = None
            for y in YEARS:
                if len(docs) >= n:
                    break
                # consecutive years chain (上年结转 = last year's 结转下年度), as in most real reports
                rep = s.make_report(year=y, agency=agency, seed=p, published=dt.date(y + 1, 1, 20),
                                    carried_over=carried)
                carried = {f.col: int(f.value) for f in rep.facts if f.table == "t3" and f.row == "carried_forward"}
                docs.append(s.document(rep, f"http://{portal.id}.example.gov.cn/{a}/{y}.html", portal_id=portal.id))
    return s.run_input("bench-1", docs, portals=portals, as_of=dt.date(2024, 6, 1))


def nightly_run(first) -> object:
    """The next night: every known page unchanged (no report), 20 revised, 100 new reports of 2024."""
    docs = []
    for i, d in enumerate(first.documents):
        if i < 20:
            rep = s.make_report(year=d.report.year, agency=d.report.agency, seed=10_000 + i)
            docs.append(s.document(rep, d.url, portal_id=d.portal_id, status="changed"))
        else:
            docs.append(dataclasses.replace(d, report=None, crawl_status="unchanged"))
    for i in range(100):
        p = first.portals[i % len(first.portals)]
        rep = s.make_report(year=2024, agency=f"{p.county}第{i}局", seed=i, published=dt.date(2025, 1, 15))
        docs.append(s.document(rep, f"http://{p.id}.example.gov.cn/new/{i}.html", portal_id=p.id))
    return s.run_input("bench-2", docs, portals=first.portals, as_of=dt.date(2025, 2, 1),
                       started_at=dt.datetime(2025, 2, 1, 2, 0, tzinfo=dt.timezone.utc))


def _mb(b: float) -> str:
    return f"{b / 1e6:,.0f} MB"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=int, default=10_000)
    ap.add_argument("--keep", type=Path, default=None, help="keep the warehouse in this directory")
    ap.add_argument("--repeat", type=int, default=3, help="full loads to time (fresh file each); default 3")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="ogi-bench-load-"))
    out_dir = args.keep or tmp
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "ogi.duckdb"
    for p in (db, work_path(db), out_dir / "warmup.duckdb", out_dir / "warmup.work.duckdb"):
        p.unlink(missing_ok=True)

    cores = os.cpu_count()
    print(f"machine: {cores} cores, load average {os.getloadavg()[0]:.1f} at start (other processes share the cores)")
    t = time.perf_counter()
    run = build_run(args.reports)
    n_facts = sum(len(d.report.facts) for d in run.documents)
    print(f"synthetic input: {len(run.documents):,} reports, {n_facts:,} facts, {len(run.portals)} portals "
          f"(built in {time.perf_counter() - t:.1f} s, not counted)")

    # warm-up on a throwaway file: first-use imports (DuckDB's Arrow scan pulls in pandas, ~0.3 s) are a
    # once-per-process cost, not a per-load one
    t = time.perf_counter()
    with open_writer(out_dir / "warmup.duckdb", 10) as wh:
        load_run(wh, build_run(20))
    print(f"warm-up load of 20 reports (first-use imports): {time.perf_counter() - t:.2f} s, not counted")

    # two extra full loads into throwaway files: on a shared machine one sample is noisy
    extra = []
    for i in range(args.repeat - 1):
        scratch = out_dir / f"repeat{i}.duckdb"
        with open_writer(scratch, 10) as wh:
            t = time.perf_counter()
            load_run(wh, run)
            wh.execute("CHECKPOINT")
            extra.append(time.perf_counter() - t)
        for p in (scratch, work_path(scratch), Path(str(work_path(scratch)) + ".lock")):
            p.unlink(missing_ok=True)

    with open_writer(db, 10) as wh:
        with PeakRSS() as mem:
            t = time.perf_counter()
            cpu0 = time.process_time()
            res = load_run(wh, run)
            wh.execute("CHECKPOINT")
            load_s = time.perf_counter() - t
            cpu_s = time.process_time() - cpu0
        size = work_path(db).stat().st_size
        tm = res.timings
        print(f"load:            {load_s:.2f} s  →  {n_facts / load_s:,.0f} facts/s, {len(run.documents) / load_s:,.0f} reports/s"
              f"   (target ≥ 500,000 facts/s)")
        if extra:
            runs = sorted(extra + [load_s])
            print(f"  {len(runs)} loads of the same input into fresh files: "
                  + ", ".join(f"{x:.2f}" for x in runs)
                  + f" s → best {n_facts / runs[0]:,.0f}, median {n_facts / runs[len(runs) // 2]:,.0f} facts/s")
        print(f"  phases:        prepare {tm['prepare_s']:.2f} s, batches {tm['batches_s']:.2f} s, "
              f"finalize {tm['finalize_s']:.2f} s (cross-report checks {tm['xr_s']:.2f} s), checkpoint "
              f"{load_s - tm['total_s']:.2f} s")
        print(f"  process CPU:   {cpu_s:.2f} s (user+sys, all threads; wall time above is stretched when other "
              f"processes share the {os.cpu_count()} cores)")
        print(f"  loaded:        {len(res.new):,} new reports, {res.facts_loaded:,} facts, {res.cross_findings:,} "
              f"cross-report findings, {res.missing:,} missing, {res.alerts_enqueued:,} alerts")
        print(f"peak memory:     {_mb(mem.peak)} RSS during the load ({_mb(mem.peak - mem.base)} above the "
              f"{_mb(mem.base)} before it, which holds the input objects)")
        print(f"warehouse size:  {_mb(size)} ({size / n_facts:.1f} bytes/fact)")

        t = time.perf_counter()
        again = load_run(wh, run)
        print(f"second identical load: {time.perf_counter() - t:.2f} s, {len(again.new) + len(again.revised)} "
              f"changes, {again.alerts_enqueued} alerts (idempotent)")
        nightly = nightly_run(run)
        t = time.perf_counter()
        inc = load_run(wh, nightly)
        print(f"typical nightly run on top (unchanged pages not re-extracted, 100 new, 20 revised): "
              f"{time.perf_counter() - t:.2f} s, {len(inc.new)} new, {len(inc.revised)} revised, "
              f"{inc.alerts_enqueued} alerts")
        t = time.perf_counter()
        wh.publish()
        print(f"publish snapshot: {time.perf_counter() - t:.2f} s")

    con = duckdb.connect(str(db), read_only=True)
    print("analytics views (SELECT * fetched as Arrow, from the published snapshot; target < 1 s each):")
    worst = 0.0
    for v in VIEWS:
        t = time.perf_counter()
        tbl = con.sql(f"SELECT * FROM {v.qualified}").to_arrow_table()
        el = time.perf_counter() - t
        worst = max(worst, el)
        print(f"  {v.qualified:<28} {el * 1000:8.1f} ms  {tbl.num_rows:>10,} rows")
    print(f"  slowest view: {worst * 1000:.0f} ms")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")

    # ---------------------------------------------------------------- reference lines
    facts = con.sql("SELECT * FROM main.facts").to_arrow_table()
    con.close()
    ref = duckdb.connect(str(out_dir / "ref.duckdb"))
    ref.execute("CREATE OR REPLACE TABLE f AS SELECT * FROM facts LIMIT 0")
    t = time.perf_counter()
    ref.register("facts_arrow", facts)
    ref.execute("INSERT INTO f SELECT * FROM facts_arrow")
    ref.execute("CHECKPOINT")
    el = time.perf_counter() - t
    print(f"reference: ready Arrow table INSERT … SELECT (no Python objects): {facts.num_rows / el:,.0f} facts/s")
    sample = facts.slice(0, 20_000).to_pylist()
    rows = [tuple(r.values()) for r in sample]
    ref.execute("DELETE FROM f")
    t = time.perf_counter()
    ref.execute("BEGIN")
    ref.executemany(f"INSERT INTO f VALUES ({', '.join('?' * len(facts.column_names))})", rows)
    ref.execute("COMMIT")
    el = time.perf_counter() - t
    print(f"reference: executemany inside one transaction (20,000-row sample): {len(rows) / el:,.0f} facts/s")
    t = time.perf_counter()
    ref.execute(f"COPY (SELECT * FROM facts_arrow) TO '{out_dir / 'facts.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
    el = time.perf_counter() - t
    print(f"reference: plain Parquet COPY of the same facts: {facts.num_rows / el:,.0f} facts/s "
          f"({_mb((out_dir / 'facts.parquet').stat().st_size)})")
    ref.close()
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
