"""Issue 11 item 4: five unhealthy portals beside a healthy one in one run (a real run on the sample portal).

503 always, accepts and never answers, trickles a byte per second, serves 50 MB pages, host name does not resolve
(the resolver is stubbed through ``crawler.transport.use_resolver``: no DNS query leaves the machine).  Each portal
has its own host name (all mapped to loopback) so one host's backoff cannot slow another, as on the internet.
The healthy portal's time beside them is compared with its time alone in ``python -m bench.chaos``; here: every
unhealthy portal is failed with its reason in the summary and the alert, the healthy one is loaded in full.
"""

from __future__ import annotations

import socket
import time

from bench.chaos_portals import UNHEALTHY, configure, registry, resolver
from crawler.transport import use_resolver


def test_unhealthy_portals_beside_a_healthy_one(sample_portal, tmp_path, monkeypatch):
    from flows.pipeline import run_direct

    settings = configure(tmp_path, monkeypatch, registry(sample_portal, tmp_path))
    asked: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: asked.append(a[0]) or (_ for _ in ()).throw(
        AssertionError(f"real DNS lookup of {a[0]}")))
    with use_resolver(resolver):
        t = time.monotonic()
        summary = run_direct(settings)
        elapsed = time.monotonic() - t
    assert asked == []
    lines = {p.portal_id: p for p in summary.portals}
    assert lines["sample-trs-qinghe"].ok and lines["sample-trs-qinghe"].new >= 10
    text = summary.text()
    for pid, (fault, reason) in UNHEALTHY.items():
        line = lines[pid]
        assert not line.ok, (pid, line)
        assert reason in (line.error or "") or any(reason in s for s in line.sample_failures), (pid, line, fault)
        assert pid in text
    assert elapsed < 60, elapsed  # every unhealthy portal is given up on within its deadlines
    # the alert outbox (same transaction as the load) names each unhealthy portal, and not the healthy one
    import duckdb

    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        alerted = {r[0] for r in con.execute("SELECT portal_id FROM alerts WHERE kind = 'portal_unreachable'").fetchall()}
    assert alerted == set(UNHEALTHY)


def test_200_mb_page_without_content_length_is_refused_while_streaming(sample_portal, fast_crawl_settings, tmp_path):
    """No Content-Length to refuse up front: the download stops at the cap, not after reading 200 MB."""
    from crawler import Archive, crawl_portals
    from ogi.registry import load_registry

    page = next(e.url for e in sample_portal.expected_reports("qinghe") if not e.attachment_url)
    sample_portal.inject("huge_stream", path=page)
    fast_crawl_settings.max_body_bytes = 2 * 1024 * 1024
    portals = [p for p in load_registry(sample_portal.write_registry(tmp_path / "r.yaml")) if p.id == "sample-trs-qinghe"]
    t = time.monotonic()
    results = crawl_portals(portals, Archive(tmp_path / "a"), fast_crawl_settings, progress=False)
    assert time.monotonic() - t < 20
    fails = {(f.kind, f.url): f.reason for r in results for f in r.failures}
    assert "exceeds max_body_bytes" in fails[("too_large", page)]
    assert page not in {d.url for r in results for d in r.documents}
    deadline = time.monotonic() + 5
    while not [r for r in sample_portal.requests if r.fault == "huge_stream"] and time.monotonic() < deadline:
        time.sleep(0.05)  # the server logs the request when its write fails (the crawler hung up)
    served = [r.bytes for r in sample_portal.requests if r.fault == "huge_stream"]
    assert served and all(n < 50 * 1024 * 1024 for n in served), served  # cut off long before 200 MB
