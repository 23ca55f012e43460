"""``ogi demo`` — the main job end to end, offline, on this machine.

Starts the bundled sample portal on 127.0.0.1:8765 (the URLs of ``portals/sample.yaml``) and a local
alert sink on 127.0.0.1:8766, runs the nightly flow against the sample registry into ``data/ogi.duckdb``
with ``OGI_ALERT_URLS`` pointing at the sink, then prints the run summary, where the warehouse is, two
example queries with their results, and the alerts the sink received.  The first run sends one baseline
digest (one line per portal); running it again shows the incremental behaviour: nothing new is fetched,
nothing is alerted.

Both ports are fixed on purpose: a report is keyed by its URL and an alert channel by its URL, so the
second run must see the same portal and the same channel as the first.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from flows.commands import DEMO_SINK_PORT, DEMO_SINK_URL, EXIT_CONFIG, EXIT_OK, SAMPLE_PORTAL_PORT, _err, _run_flow
from ogi.config import Settings, prefect_env_defaults, project_root

EXAMPLE_QUERIES: tuple[tuple[str, str], ...] = (
    (
        "Reports per portal and year, with their status",
        "SELECT portal_id, year, count(*) AS reports, count(*) FILTER (WHERE status = 'malformed') AS malformed\n"
        "FROM analytics.reports GROUP BY ALL ORDER BY portal_id, year",
    ),
    (
        "Applications received (表三 新收申请 总计) by the county governments themselves",
        "SELECT r.portal_id, r.year, r.agency, f.value AS applications_received\n"
        "FROM analytics.facts f JOIN analytics.reports r USING (report_id)\n"
        "WHERE f.tbl = 't3' AND f.row_key = 'new_received' AND f.col_key = 'total' AND r.agency LIKE '%人民政府'\n"
        "ORDER BY r.portal_id, r.year LIMIT 15",
    ),
)


def _line(char: str = "─") -> str:
    return char * 78


def run_queries(db_path: Path, queries: tuple[tuple[str, str], ...] = EXAMPLE_QUERIES) -> list[tuple[str, str, str]]:
    """Run the example queries read-only on the published snapshot: ``(title, sql, rendered result)``."""
    import duckdb

    out = []
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        for title, sql in queries:
            try:
                cur = con.execute(sql)
                cols = [d[0] for d in cur.description]
                rows = cur.fetchall()
                out.append((title, sql, _table(cols, rows)))
            except duckdb.Error as e:
                out.append((title, sql, f"(query failed: {str(e).splitlines()[0]})"))
    finally:
        con.close()
    return out


def _table(cols: list[str], rows: list[tuple[Any, ...]]) -> str:
    cells = [[("" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))) for v in r] for r in rows]
    widths = [max([_w(c)] + [_w(r[i]) for r in cells]) for i, c in enumerate(cols)]
    fmt = lambda vals: "  ".join(v + " " * (w - _w(v)) for v, w in zip(vals, widths))  # noqa: E731
    lines = [fmt(cols), fmt(["-" * w for w in widths])] + [fmt(r) for r in cells]
    if not rows:
        lines.append("(no rows)")
    return "\n".join(lines)


def _w(s: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def demo(db: str | Path | None = None, portals: str | Path | None = None) -> int:
    prefect_env_defaults()
    root = project_root()
    db_path = Path(db) if db else root / "data" / "ogi.duckdb"
    registry = Path(portals) if portals else root / "portals" / "sample.yaml"
    db_path.parent.mkdir(parents=True, exist_ok=True)

    from alerts import sink as sink_mod
    from sample_portal.server import start as start_portal

    try:
        # reports published / revised with `ogi sample-portal publish|revise` between two demo runs persist here
        portal = start_portal("127.0.0.1", SAMPLE_PORTAL_PORT, state_file=db_path.parent / "sample-portal-state.json")
    except OSError as e:
        _err(f"cannot start the sample portal on 127.0.0.1:{SAMPLE_PORTAL_PORT} ({e.strerror}); "
             "is another `ogi demo` or `ogi sample-portal` running?")
        return EXIT_CONFIG
    try:
        try:
            sink = sink_mod.start(port=DEMO_SINK_PORT, out=db_path.parent / "demo-alerts.jsonl")
        except OSError as e:
            _err(f"cannot start the alert sink on 127.0.0.1:{DEMO_SINK_PORT} ({e.strerror})")
            return EXIT_CONFIG
        try:
            if not registry.exists():
                registry = portal.write_registry(db_path.parent / "sample-registry.yaml")
            os.environ["OGI_ALERT_URLS"] = DEMO_SINK_URL
            if not os.environ.get("OGI_CONFIG"):
                # the sample portal is on loopback: keep robots.txt and the per-host limit, drop the 0.5 s delay
                cfg = db_path.parent / "demo-config.yaml"
                cfg.write_text("crawl:\n  min_delay_s: 0.02\n  per_host_concurrency: 4\n", encoding="utf-8")
                os.environ["OGI_CONFIG"] = str(cfg)
            print(_line("═"))
            print(f"sample portal: {portal.base_url}  ({len(portal.portals)} imitation county portals: "
                  f"{', '.join(p.family for p in portal.portals)})")
            print(f"alert sink:    {DEMO_SINK_URL}  (OGI_ALERT_URLS; posts recorded in {sink.out})")
            print(f"registry:      {registry}")
            print(f"warehouse:     {db_path}")
            print(_line("═"), flush=True)

            Settings.load(db=db_path, portals=registry)  # config errors surface before Prefect starts
            from flows.nightly import nightly, run_sync

            code, summary = _run_flow(lambda: run_sync(nightly, portals=str(registry), db=str(db_path)))
            if summary is None:
                return code
            print("\nRUN SUMMARY")
            print(_line())
            print(summary.text())
            print(f"\nWAREHOUSE: {db_path}  (read-only for analysts: duckdb -readonly {db_path}, or `ogi query`)")
            if summary.report_page:
                print(f"ANALYST PAGE: {summary.report_page}  (open it in a browser, offline; `ogi report` rewrites it)")
            for title, sql, result in run_queries(db_path):
                print(_line())
                print(f"-- {title}\n{sql};\n")
                print(result)
            print(_line())
            print(f"\nALERTS RECEIVED BY THE SINK ({len(sink.received)} message{'s' if len(sink.received) != 1 else ''})")
            if not sink.received:
                print("  none: nothing new, revised or malformed since the last run")
            elif all(i.title and "baseline" in i.title.lower() for i in sink.received):
                print("  (the first run of each portal is its baseline: one line per portal, no alert per report)")
            for item in sink.received:
                print(_line())
                print(item.title)
                print(item.message)
            print(_line("═"))
            print("Run `scripts/demo` (or `ogi demo`) again: the incremental run only revalidates pages (HTTP 304), "
                  "extracts and loads nothing new, and sends no alert.")
            sys.stdout.flush()
            return EXIT_OK
        finally:
            sink.stop()
    finally:
        portal.stop()
