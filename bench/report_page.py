"""Benchmark the analyst page: ``.venv/bin/python -m bench.report_page [--reports 1000] [--keep DIR]``.

Loads N synthetic reports (``bench.load.build_run``: 2019/2021 tables 二/三/四, ≈200 facts and six sections
each) into a fresh warehouse, publishes it, then measures:

- the page: size (and the drill-down payload before/after gzip), generation time (median of 3);
- the browser (Debian chromium via Playwright): time from navigation start to fully rendered (heatmap,
  charts, findings table drawn: ``body[data-ready]``), median of 3, and the time to open one drill-down;
- reference lines from the same run: fetching the same analytics rows with plain ``SELECT *`` (what any
  page generator must at least read), and loading a blank page with only Chart.js inlined (the floor a
  page with this library cannot go under).

Targets (issue 12): for 1,000 reports the page ≤ 5 MB, generated ≤ 2 s, rendered ≤ 2 s; at 10,000 reports
the page stays usable (drill-downs are decoded lazily).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def realistic_text(run, chars: int) -> None:
    """Replace the synthetic phrase-salad (which gzip shrinks ~20×) by random CJK text of ``chars`` characters
    per report with Zipf-distributed character frequencies, which gzips like real report text: ~1.45 bytes per
    character, as measured on the hand-checked real reports in ../shared/samples (1,000–1,700 characters of
    section text each)."""
    import random

    from extractors.model import Section

    rng = random.Random(12)
    alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    zipf = [1 / (rank + 1) for rank in range(len(alphabet))]  # character frequencies of real text are Zipf-like
    for d in run.documents:
        rep = d.report
        body = "".join(c if i % 23 else "，" for i, c in enumerate(rng.choices(alphabet, zipf, k=chars)))
        step = max(1, chars // len(rep.sections))
        rep.sections = [Section(s.number, s.heading, body[i * step:(i + 1) * step]) for i, s in enumerate(rep.sections)]
        rep.text = body


def build_warehouse(n: int, directory: Path, text_chars: int) -> Path:
    from bench.load import build_run
    from warehouse import load_run, open_writer

    run = build_run(n)
    if text_chars:
        realistic_text(run, text_chars)
    db = directory / "ogi.duckdb"
    with open_writer(db, 10) as wh:
        load_run(wh, run)
        wh.publish()
    return db


def reference_query(db: Path) -> float:
    """Plain SELECT * of the views the page reads, fetched into Python (no page logic)."""
    con = duckdb.connect(str(db), read_only=True)
    t = time.perf_counter()
    for v in ("reports", "findings", "t3_applications", "t4_outcomes", "missing_reports", "coverage"):
        con.execute(f"SELECT * FROM analytics.{v}").fetchall()
    con.execute("SELECT * FROM main.facts").fetchall()
    con.execute("SELECT * FROM main.sections").fetchall()
    el = time.perf_counter() - t
    con.close()
    return el


def browser_times(page_path: Path, blank_path: Path, repeat: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"render": [], "blank": [], "drill": []}
    with tempfile.TemporaryDirectory(prefix="ogi-bench-chromium-") as profile:
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=FLAGS, headless=True,
                                                       viewport={"width": 1400, "height": 1000})
            for _ in range(repeat):
                page = ctx.new_page()
                page.goto(page_path.resolve().as_uri())
                page.wait_for_selector("body[data-ready='1']", timeout=120_000)
                out["render"].append(page.evaluate("() => window.OGI.renderedAt") / 1000)
                t = time.perf_counter()
                page.evaluate("() => window.OGI.openDrill(Math.floor(window.OGI.reports.length / 2))")
                page.wait_for_selector("#drill[data-ready='1']", timeout=60_000)
                out["drill"].append(time.perf_counter() - t)
                page.close()
                page = ctx.new_page()
                page.goto(blank_path.resolve().as_uri())
                page.wait_for_function("window.DONE === true")
                out["blank"].append(page.evaluate("() => window.T") / 1000)
                page.close()
            ctx.close()
    return {k: statistics.median(v) for k, v in out.items()}


def main(argv: list[str] | None = None) -> None:
    from analyst import write_page
    from analyst.render import library

    ap = argparse.ArgumentParser(prog="python -m bench.report_page", description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--text-chars", type=int, default=1500,
                    help="random CJK section text per report, compressing like real text (0: the synthetic phrases)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the warehouse and the page in this directory")
    args = ap.parse_args(argv)

    tmp = Path(args.keep or tempfile.mkdtemp(prefix="ogi-bench-page-"))
    tmp.mkdir(parents=True, exist_ok=True)
    for f in tmp.glob("ogi*.duckdb*"):
        f.unlink()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start (shared with other work)")
    t = time.perf_counter()
    db = build_warehouse(args.reports, tmp, args.text_chars)
    con = duckdb.connect(str(db), read_only=True)
    n_rep, n_find, n_facts = con.execute("SELECT (SELECT count(*) FROM analytics.reports), (SELECT count(*) FROM "
                                         "analytics.findings), (SELECT count(*) FROM analytics.facts)").fetchone()
    con.close()
    print(f"warehouse: {n_rep:,} reports, {n_facts:,} facts, {n_find:,} findings, {args.text_chars} characters of "
          f"section text per report (built in {time.perf_counter() - t:.1f} s, "
          "not counted)")

    write_page(db, tmp / "warmup.html")  # first-use imports
    gens, res = [], None
    for i in range(args.repeat):  # each a new file: the whole page built (nothing to reuse)
        res = write_page(db, tmp / f"report-{i}.html")
        gens.append(res.seconds)
    gen = statistics.median(gens)
    again = write_page(db, tmp / "report-0.html")  # over its previous page, as the nightly run does
    print(f"rebuild over the previous page (nothing changed): {again.seconds:.2f} s, "
          f"{again.chunks_reused} of {again.chunks} drill-down chunks reused")
    ref = reference_query(db)
    assert res is not None
    print(f"page:       {res.bytes / 1e6:.2f} MB ({res.bytes / n_rep / 1e3:.1f} KB/report; target ≤ 5 MB at 1,000 reports); "
          f"drill-downs {res.drilldown_json_bytes / 1e6:.1f} MB of JSON, gzip+base64 inside the page")
    print(f"generation: {gen:.2f} s median of {args.repeat} ({', '.join(f'{g:.2f}' for g in gens)}; target ≤ 2 s)   "
          f"reference: plain SELECT * of the same rows {ref:.2f} s → ×{gen / ref:.1f}")

    lib, name = library()
    blank = tmp / "blank.html"
    blank.write_text("<!doctype html><meta charset=utf-8><body><script>" + lib + "</script>"
                     "<script>requestAnimationFrame(() => { window.T = performance.now(); window.DONE = true; })</script>",
                     encoding="utf-8")
    b = browser_times(tmp / "report-0.html", blank, args.repeat)
    print(f"browser:    rendered in {b['render']:.2f} s from navigation start, median of {args.repeat} (target ≤ 2 s)   "
          f"reference: blank page with only {name} {b['blank']:.2f} s → ×{b['render'] / b['blank']:.1f}")
    print(f"            one drill-down opened (chunk decoded and drawn) in {b['drill'] * 1000:.0f} ms")
    print(f"files in {tmp}" if args.keep else "")


if __name__ == "__main__":
    main()
