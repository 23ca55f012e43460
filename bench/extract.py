"""Benchmark of the report extractor: ``.venv/bin/python -m bench.extract``.

Pages: synthetic Word-export report pages (~60 KB and ~300 KB) built with the fixture generator
(tests/fixtures/reports/_generate.py), so every page is a complete report with tables 二/三/四.
Pinned to one core.  Prints, for the same pages in the same run: parse + extract + validate
(``extractors.extract``), and the reference lines bare ``lxml.html`` parse, BeautifulSoup(lxml)
parse, and ``pandas.read_html`` (tables only), with ratios.  Target: >= 200 reports/s on one core on
~60 KB pages (issue 9) and faster than pandas.read_html.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_PER_S = 200


def _generator():
    path = ROOT / "tests" / "fixtures" / "reports" / "_generate.py"
    spec = importlib.util.spec_from_file_location("_fixture_generator", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def make_pages(n: int, target_kb: int) -> list[bytes]:
    g = _generator()
    pages = []
    for seed in range(n):
        rng = random.Random(seed)
        template = "2021" if seed % 2 else "2019"
        other = template
        t3, t4, t2 = g.make_t3(rng, other, scale=5), g.make_t4(rng), g.make_t2(rng, template)
        # Word-export paragraphs; table cells in Word markup only when the page may be big enough
        st = g.Style(word=True, word_tables=target_kb >= 150, br_labels=bool(seed % 3 == 0))
        agency, year = f"某某县第{seed}局", 2019 + seed % 5

        def build(extra: int) -> bytes:
            body = g.report_body(agency=agency, year=year, template=template, st=st, t2=t2, t3=t3, t4=t4, extra_paras=extra)
            html = g.page(title=f"{agency}{year}年政府信息公开工作年度报告", site="某某县人民政府", body=body,
                          meta_html=g.meta_table("0001/2020-01", agency, f"{year + 1}-01-20"))
            return html.encode("utf-8")

        extra = 0
        page = build(extra)
        per_para = len(build(1)) - len(page)
        extra = max(0, (target_kb * 1024 - len(page)) // max(1, per_para))
        pages.append(build(extra))
    return pages


def run(n_pages: int, target_kb: int, reps: int) -> dict[str, float]:
    """Time every contender on every page, interleaved (a shared machine's noise hits all alike)."""
    import lxml.html
    import pandas as pd
    from bs4 import BeautifulSoup

    from extractors import extract

    pages = make_pages(n_pages, target_kb)
    for p in pages:  # sanity: every page is a full report
        r = extract(p)
        assert r.is_report and len([f for f in r.facts if f.table == "t3"]) >= 161, r.reason

    def pandas_tables(p: bytes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.read_html(io.StringIO(p.decode("utf-8")), flavor="lxml")

    contenders = {
        "extractors.extract (parse+extract+validate)": lambda p: extract(p),
        "ref: lxml.html.fromstring (parse only)": lambda p: lxml.html.fromstring(p),
        "ref: BeautifulSoup(p, 'lxml') (parse only)": lambda p: BeautifulSoup(p, "lxml"),
        "ref: pandas.read_html (tables only)": pandas_tables,
    }
    times: dict[str, list[float]] = {k: [] for k in contenders}
    cpu: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(reps):
        for p in pages:
            for name, fn in contenders.items():
                c0, t0 = time.thread_time(), time.perf_counter()
                fn(p)
                times[name].append(time.perf_counter() - t0)
                cpu[name].append(time.thread_time() - c0)
    avg_kb = statistics.mean(len(p) for p in pages) / 1024
    print(f"\n== {n_pages} Word-export report pages, mean {avg_kb:.0f} KB, {reps} reps, interleaved ==")
    print("  (CPU = this thread's CPU time: what one core delivers even when other processes share it; wall = elapsed)")
    rates: dict[str, float] = {}
    for name, ts in times.items():
        med = statistics.median(ts) * 1000
        cmed = statistics.median(cpu[name]) * 1000
        rates[name] = 1000 / cmed if cmed > 0 else 1000 / med
        print(f"  {name:44s} CPU median {cmed:7.2f} ms -> {rates[name]:7.1f} pages/s   (wall median {med:7.2f} ms)")
    ours = rates["extractors.extract (parse+extract+validate)"]
    for name in list(rates)[1:]:
        print(f"  ours vs {name:40s} {ours / rates[name]:5.2f}x")
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--reps", type=int, default=6)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        print(f"pinned to CPU {sorted(os.sched_getaffinity(0))}")
    r60 = run(args.pages, 60, args.reps)
    run(max(2, args.pages // 4), 300, max(2, args.reps // 2))
    pd_rate = r60["ref: pandas.read_html (tables only)"]
    ours = r60["extractors.extract (parse+extract+validate)"]
    verdict = "OK" if ours >= TARGET_PER_S else "BELOW TARGET"
    print(f"\n~60 KB pages: {ours:.0f} reports/s on one core (median; target >= {TARGET_PER_S}): {verdict}; "
          f"{'faster' if ours > pd_rate else 'SLOWER'} than pandas.read_html ({ours / pd_rate:.1f}x)")


if __name__ == "__main__":
    main()
