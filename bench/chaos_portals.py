"""Unhealthy portals beside a healthy one (issue 11 item 4), for ``python -m bench.chaos``.

One run over the sample portal: ``sample-trs-qinghe`` healthy; the other four sample portals given a fault each
(503 always, accepts and never answers, 1 byte/s, 50 MB pages) and a copy of qinghe on a host name that does not
resolve.  Each portal gets its own host name, mapped to loopback by a stub resolver (no DNS query leaves the
machine), so a host-wide backoff of one cannot slow another.  The bench compares the healthy portal's crawl time
beside them with its time alone (same run of the bench), and whether its analytics rows equal the clean run's.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

HEALTHY = "sample-trs-qinghe"
#: portal id -> (sample-portal fault, text the run summary must give as its reason)
UNHEALTHY = {
    "sample-hanweb-yunxi": ("503", "HTTP 503"),
    "sample-gkmlpt-nanling": ("hang", "timeout"),
    "sample-vsb-shimen": ("trickle", "request_timeout_s"),
    "sample-generic-dongshan": ("bigpage", "too_large"),
    "sample-nxdomain": (None, "name resolution failed"),
}
NXDOMAIN = "no-such-county.invalid"


def resolver(host: str) -> str:
    """The stub resolver: ``*.chaos.test`` is loopback, everything else does not resolve."""
    if host.endswith(".chaos.test") or host in ("127.0.0.1", "localhost"):
        return "127.0.0.1"
    raise OSError(-2, f"Name or service not known ({host})")


def configure(tmp_path: Path, monkeypatch, registry_path: Path, *, request_timeout_s: float = 3.0):
    """Settings for a chaos run: short deadlines (the bench and the test measure the same config).  The read
    timeout (5 s) is longer than the request deadline (3 s) on purpose: a byte per second never trips a read
    timeout, so only the total deadline can stop the trickling portal — that is what this proves."""
    from ogi.config import Settings

    cfg = tmp_path / "ogi.yaml"
    cfg.write_text("crawl:\n  polite: false\n  min_delay_s: 0\n  retries: 1\n  backoff_base_s: 0.05\n"
                   "  backoff_max_s: 0.2\n  connect_timeout_s: 2\n  read_timeout_s: 5\n"
                   f"  request_timeout_s: {request_timeout_s}\nlock_timeout_s: 1\nportal_unreachable_after: 1\n", encoding="utf-8")
    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    monkeypatch.setenv("OGI_CONFIG", str(cfg))
    monkeypatch.delenv("OGI_ALERT_URLS", raising=False)
    return Settings.load(db=tmp_path / "data" / "ogi.duckdb", portals=registry_path)


def registry(portal, tmp_path: Path, *, unhealthy: bool = True) -> Path:
    """The registry (healthy portal first), with the faults injected on the running sample portal."""
    import yaml

    entries = []
    for e in portal.registry_entries():
        if e["id"] != HEALTHY and (not unhealthy or e["id"] not in UNHEALTHY):
            continue
        host = e["id"].rsplit("-", 1)[1] + ".chaos.test"
        e = {**e, "start_urls": [re.sub(r"//127\.0\.0\.1:", f"//{host}:", u) for u in e["start_urls"]],
             "allowed_hosts": [host]}
        entries.append(e)
        if e["id"] in UNHEALTHY:
            portal.inject(UNHEALTHY[e["id"]][0], portal=e["id"])
    if unhealthy:
        healthy = entries[0]
        entries.append({**healthy, "id": "sample-nxdomain", "name": "无法解析的县人民政府",
                        "start_urls": [re.sub(r"//[^/:]+:", f"//{NXDOMAIN}:", healthy["start_urls"][0])],
                        "allowed_hosts": [NXDOMAIN]})
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump({"portals": entries}, allow_unicode=True), encoding="utf-8")
    return path


def rows(heavy: bool) -> list[dict]:  # noqa: ARG001 - one size: the faults are the heavy part
    import tempfile

    import pytest

    from bench.chaos_hostile import _status
    from crawler.hosts import reset_shared
    from crawler.transport import use_resolver
    from flows.pipeline import run_direct
    from sample_portal.server import start

    out = []
    results = {}
    for label, unhealthy in (("alone", False), ("beside five unhealthy portals", True)):
        reset_shared()
        portal = start(port=0)
        mp = pytest.MonkeyPatch()
        try:
            with tempfile.TemporaryDirectory() as tmp, use_resolver(resolver):
                settings = configure(Path(tmp), mp, registry(portal, Path(tmp), unhealthy=unhealthy))
                t = time.perf_counter()
                summary = run_direct(settings)
                total = time.perf_counter() - t
                import duckdb

                with duckdb.connect(str(settings.db_path), read_only=True) as con:
                    # the healthy portal's analytics (URLs differ: each run has its own sample-portal port)
                    facts = con.execute(
                        "SELECT r.title, r.year, r.status, count(f.value), sum(f.value) FROM analytics.reports r "
                        "LEFT JOIN analytics.facts f USING (report_id) WHERE r.portal_id = ? "
                        "GROUP BY ALL ORDER BY ALL", [HEALTHY]).fetchall()
                results[label] = (summary, total, facts)
        finally:
            mp.undo()
            portal.stop()
    alone, beside = results["alone"], results["beside five unhealthy portals"]
    line = {p.portal_id: p for p in beside[0].portals}
    healthy_alone = next(p for p in alone[0].portals if p.portal_id == HEALTHY)
    ratio = line[HEALTHY].crawl_s / max(healthy_alone.crawl_s, 1e-9)
    out.append({"fault": f"healthy portal beside 5 unhealthy ones (crawl {healthy_alone.crawl_s:.2f} s alone)",
                "result": f"ok={line[HEALTHY].ok}, {line[HEALTHY].new} reports, crawl {line[HEALTHY].crawl_s:.2f} s "
                          f"= {ratio:.2f}x alone (target within 1.2x); run total {beside[1]:.1f} s vs {alone[1]:.1f} s "
                          "(portals run one after another in ogi run's direct mode)",
                "equal_to_clean": ("yes (its reports and facts)" if beside[2] == alone[2] and beside[2]
                                   else f"NO ({len(beside[2])} vs {len(alone[2])} reports)"),
                "seconds": round(beside[1], 2), "peak_rss_mb": round(_status("VmHWM") / 1024 / 1024, 1)})
    for pid, (fault, reason) in UNHEALTHY.items():
        p = line[pid]
        why = p.error or "; ".join(p.sample_failures[:1])
        out.append({"fault": f"portal: {fault or 'host name does not resolve'} ({pid})",
                    "result": ("recorded failed: " if not p.ok and reason in (why or "") + " ".join(p.sample_failures)
                               else "NOT AS EXPECTED: ") + (why or "")[:160],
                    "equal_to_clean": "n/a (portal failed)", "seconds": round(p.crawl_s, 2),
                    "peak_rss_mb": out[0]["peak_rss_mb"]})
    return out
