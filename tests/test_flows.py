"""Acceptance: real Prefect flow runs against the sample portal on loopback and a real webhook sink.

One session-scoped ``prefect_test_harness`` (≈10 s) serves every flow run here; each run costs ≈1–2 s.
"""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import duckdb
import pytest

from ogi.config import prefect_env_defaults

ROOT = Path(__file__).resolve().parents[1]
prefect_env_defaults(ROOT)

from alerts import sink as sink_mod  # noqa: E402
from sample_portal.server import start as start_portal  # noqa: E402

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def env(tmp_path, monkeypatch, prefect_harness):
    """A project dir with fast crawl settings, a sample portal, a sink, and OGI_ALERT_URLS pointing at it."""
    cfg = tmp_path / "ogi.yaml"
    cfg.write_text(
        "crawl:\n  polite: false\n  min_delay_s: 0\n  retries: 0\n  backoff_base_s: 0.05\n"
        "  connect_timeout_s: 2\n  read_timeout_s: 5\nlock_timeout_s: 0.5\nportal_unreachable_after: 2\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    monkeypatch.setenv("OGI_CONFIG", str(cfg))
    monkeypatch.setenv("OGI_ALERT_MAX_ITEMS", "1000")  # the tests read every item of the digest
    portal = start_portal("127.0.0.1", 0)
    sink = sink_mod.start()
    monkeypatch.setenv("OGI_ALERT_URLS", sink.apprise_url("hook/TESTTOKEN123"))
    registry = portal.write_registry(tmp_path / "registry.yaml")
    try:
        yield {"tmp": tmp_path, "portal": portal, "sink": sink, "registry": registry, "db": tmp_path / "data" / "ogi.duckdb"}
    finally:
        sink.stop()
        portal.stop()


def run(env, **kw):
    from flows.nightly import nightly, run_sync

    return run_sync(nightly, portals=str(env["registry"]), db=str(env["db"]), **kw)


def section(message: str, label: str) -> list[str]:
    """The URLs listed under one kind heading of a digest (``New report (N)`` …)."""
    m = re.search(rf"^{re.escape(label)} \((\d+)\)\n(.*?)(?:\n\n|\Z)", message, re.S | re.M)
    if not m:
        return []
    return re.findall(r"— (http\S+)", m.group(2))


def flow_run_logs(flow_run_id) -> str:
    """Every log line Prefect stored for a flow run (and its task runs)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)  # logs are shipped in batches
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), limit=200)
    return "\n".join(log.message for log in logs)


def warehouse_reports(db: Path) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("SELECT url, status FROM analytics.reports").fetchall())
    finally:
        con.close()


def test_nightly_first_run_rerun_publish_revise_and_sink_recovery(env):
    portal, sink = env["portal"], env["sink"]

    # 1. first run = the baseline: ONE digest with one baseline item per portal (reports per year, malformed,
    #    coverage gaps), no per-report / late / missing items (history is in coverage and the run summary)
    s1 = run(env)
    assert s1.failed_portals == [] and s1.new > 0
    assert s1.report_page == str(env["db"].with_name("report.html")) and Path(s1.report_page).stat().st_size > 100_000
    assert len(sink.received) == 1, [r.title for r in sink.received]
    msg = sink.received[0].message
    portal_ids = {p["id"] for p in portal.registry_entries()}
    assert set(re.findall(r"^- (\S+): first run, \d+ reports loaded", msg, re.M)) == portal_ids
    assert f"Baseline (first run of a portal) ({len(portal_ids)})" in msg
    for label in ("New report", "Malformed report", "Late report", "Missing report", "Revised report"):
        assert f"{label} (" not in msg, label
    assert "reports per year 2017: 1, 2019: 2" in msg and "coverage gaps:" in msg and "malformed" in msg
    reports = warehouse_reports(env["db"])
    # a 图片版 report is a report we could not read (statistics only as images): not_parsed, still a report
    unread = {e.url for e in portal.expected_reports() if e.image_only} & reports.keys()
    assert unread and {reports[u] for u in unread} == {"not_parsed"}
    html_reports = {e.url for e in portal.expected_reports() if not e.attachment_url}
    assert html_reports <= reports.keys()  # every HTML report of the sample portal reached the warehouse
    assert {u for u in reports} <= {e.url for e in portal.expected_reports()} | {
        e.attachment_url for e in portal.expected_reports() if e.attachment_url}  # and nothing else
    assert "baseline" in s1.text() and "coverage gaps" in s1.text()  # history is in the run summary
    assert "TESTTOKEN123" not in msg and "TESTTOKEN123" not in s1.markdown() and "TESTTOKEN123" not in s1.text()
    assert s1.events_emitted >= len(portal_ids)  # one Prefect event per alert
    assert sink.received[0].path == "/hook/TESTTOKEN123"

    # 2. a no-change rerun sends nothing
    s2 = run(env)
    assert (s2.new, s2.revised) == (0, 0)
    assert len(sink.received) == 1
    assert s2.events_emitted == 0

    # 3. publish + revise: exactly one new and one revised alert, the revised one with its changed facts
    rev_url = portal.revise_report()  # (before publishing: revise_report picks the newest 2021-format report)
    new_url = portal.publish_new_report()
    assert rev_url != new_url
    s3 = run(env)
    assert (s3.new, s3.revised) == (1, 1)
    assert len(sink.received) == 2
    msg = sink.received[1].message
    assert section(msg, "New report") == [new_url]
    assert section(msg, "Revised report") == [rev_url]
    rev_block = msg[msg.index("Revised report ("):]
    assert re.search(r"t[234]/\w+/\w+: \S+ → \S+", rev_block), rev_block

    # 4. the sink is down during a run: the run completes, the alert stays pending ...
    port = sink.port
    sink.stop()
    down_url = portal.publish_new_report()
    st4 = run(env, return_state=True)
    s4 = st4.result()
    assert s4.new == 1 and s4.alerts_failed == 1
    assert any("FAILED" in a and "TESTTOKEN123" not in a for a in s4.alerts)
    logs = flow_run_logs(st4.state_details.flow_run_id)
    assert "FAILED" in logs and f"127.0.0.1:{port}" in logs  # the failure is in the run's log …
    assert "TESTTOKEN123" not in logs  # … without the channel's token
    # ... and the next run (nothing new on the portal) delivers it
    back = sink_mod.start(port=port)
    env["sink"] = back
    try:
        s5 = run(env)
        assert s5.new == 0
        assert len(back.received) == 1
        assert section(back.received[0].message, "New report") == [down_url]
        s6 = run(env)  # and never twice
        assert len(back.received) == 1 and s6.alerts_failed == 0
    finally:
        back.stop()


def test_summary_artifact_is_created(env):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    state = run(env, return_state=True)
    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["ogi-nightly-summary"]),
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]),
        ))
    assert len(arts) == 1
    md = arts[0].data
    assert "| found | new | revised | malformed | withdrawn | failed |" in md
    assert "## New reports" in md and env["portal"].base_url in md
    assert "TESTTOKEN123" not in md


def test_a_failing_portal_does_not_fail_the_flow(env):
    import yaml

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # closed again at once: nothing listens there
    reg = yaml.safe_load(env["registry"].read_text(encoding="utf-8"))
    reg["portals"].append({"id": "dead-portal", "name": "死县", "start_urls": [f"http://127.0.0.1:{dead}/zfxxgknb/"]})
    env["registry"].write_text(yaml.safe_dump(reg, allow_unicode=True), encoding="utf-8")
    state = run(env, return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert [p.portal_id for p in summary.failed_portals] == ["dead-portal"]
    assert summary.new > 0  # the other portals were loaded
    assert "dead-portal" in summary.text() and "FAILED" in summary.text()
    # the second consecutive failed run (portal_unreachable_after: 2) alerts portal_unreachable, once
    sink = env["sink"]
    n = len(sink.received)
    run(env)
    assert len(sink.received) == n + 1
    msg = sink.received[-1].message
    assert "Portal unreachable (1)" in msg and "dead-portal" in msg and f"127.0.0.1:{dead}" in msg
    run(env)
    assert "Portal unreachable" not in "".join(r.message for r in sink.received[n + 1:])


def test_a_portal_that_hangs_is_cancelled_by_the_timeout_and_not_retried(env, monkeypatch):
    import yaml

    # a "portal" that accepts connections and never answers (the crawler's read timeout is 5 s here)
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    try:
        reg = yaml.safe_load(env["registry"].read_text(encoding="utf-8"))
        reg["portals"].append({"id": "hanging-portal", "name": "挂起县",
                               "start_urls": [f"http://127.0.0.1:{hole.getsockname()[1]}/zfxxgknb/"]})
        env["registry"].write_text(yaml.safe_dump(reg, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("OGI_PORTAL_TIMEOUT_S", "3")
        t0 = time.monotonic()
        state = run(env, return_state=True)
        elapsed = time.monotonic() - t0
    finally:
        hole.close()
    assert state.is_completed(), state.message
    summary = state.result()
    failed = {p.portal_id: p for p in summary.failed_portals}
    assert "hanging-portal" in failed
    assert "timeout" in (failed["hanging-portal"].error or "").lower()
    assert summary.new > 0  # the other portals were loaded
    assert elapsed < 30  # cancelled after 3 s and not retried (retries would wait 30 s + 120 s)


def test_a_concurrent_second_run_is_refused_cleanly(env, capsys):
    from flows.commands import EXIT_LOCKED, run_once
    from warehouse.db import open_writer

    with open_writer(env["db"], 1.0):  # another run holds the warehouse
        state = run(env, return_state=True)
        assert state.is_failed()
        assert "locked by another run" in state.message and "\n" not in state.message
        capsys.readouterr()
        code = run_once(portals=env["registry"], db=env["db"])
        err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_LOCKED
    assert len(err) == 1 and err[0].startswith("ogi: ") and "locked by another run" in err[0]
    # nothing was crawled while refused, and the refused runs told the alert channel
    assert env["portal"].requests == []
    assert env["sink"].received and "run failed" in env["sink"].received[-1].title.lower()
    # once the lock is free the run proceeds; `ogi run` prints the summary and exits 0
    code = run_once(portals=env["registry"], db=env["db"])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"nightly run \S+: \d+ documents found, [1-9]\d* new", out), out[:500]
    assert "warehouse: " + str(env["db"]) in out and "alerts:" in out


def test_reprocess_uses_the_archive_only_and_backfill_only_the_chosen_portal(env):
    from flows.backfill import backfill
    from flows.nightly import run_sync
    from flows.reprocess import reprocess

    portal = env["portal"]
    first = run(env)
    portal.clear_log()
    s = run_sync(reprocess, portals=str(env["registry"]), db=str(env["db"]))
    assert portal.requests == []  # no network at all
    assert s.mode == "reprocess" and s.found == first.found and (s.new, s.revised) == (0, 0)
    assert warehouse_reports(env["db"])  # nothing withdrawn or lost
    pid = portal.portal_ids()[0]
    s = run_sync(backfill, portal_ids=[pid], years=[2020], portals=str(env["registry"]), db=str(env["db"]))
    assert [p.portal_id for p in s.portals] == [pid] and s.failed_portals == []
    prefix = "/" + portal.portals[0].key + "/"
    reqs = [r for r in portal.requests if r.path != "/robots.txt"]
    assert reqs and all(r.path.startswith(prefix) for r in reqs)
    assert not any(r.conditional for r in reqs)  # a full re-crawl: no If-None-Match / If-Modified-Since
    assert all(r.status == 200 for r in reqs if r.path.endswith(".html"))
    assert (s.new, s.revised) == (0, 0)  # nothing changed on the portal
    with pytest.raises(Exception, match="unknown portal"):
        run_sync(backfill, portal_ids=["no-such-portal"], portals=str(env["registry"]), db=str(env["db"]))


def test_ogi_demo_twice_shows_the_incremental_run(tmp_path, monkeypatch, capsys, prefect_harness):
    """THE main job: sample portal + sink + nightly flow into data/ogi.duckdb; the second run is silent."""
    from flows.demo import demo

    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    monkeypatch.setenv("OGI_ALERT_URLS", "")  # demo() points it at its own sink; restored after the test
    monkeypatch.setenv("OGI_CONFIG", "")  # recorded, so what demo() sets is undone after the test
    monkeypatch.delenv("OGI_CONFIG")
    db = tmp_path / "data" / "ogi.duckdb"
    assert demo(db=db, portals=ROOT / "portals" / "sample.yaml") == 0
    first = capsys.readouterr().out
    assert re.search(r"nightly run \S+: \d+ documents found, [1-9]\d* new", first)
    assert "ALERTS RECEIVED BY THE SINK (1 message)" in first and "Baseline (first run of a portal) (5)" in first
    assert "New report (" not in first and "Late report (" not in first and "Missing report (" not in first
    assert "http://127.0.0.1:8765/" in first
    assert first.count("-- ") >= 2 and "sample-trs-qinghe" in first  # two example queries with rows
    assert db.exists()
    assert demo(db=db, portals=ROOT / "portals" / "sample.yaml") == 0
    second = capsys.readouterr().out
    assert re.search(r"nightly run \S+: \d+ documents found, 0 new, 0 revised", second)
    assert "ALERTS RECEIVED BY THE SINK (0 messages)" in second


def test_a_lost_warehouse_is_rebuilt_from_the_archive_on_the_next_run(env):
    """Pages the crawler calls unchanged (304) but the warehouse has never seen are extracted again."""
    first = run(env)
    before = warehouse_reports(env["db"])
    for f in env["db"].parent.glob("ogi*.duckdb*"):
        f.unlink()
    again = run(env)
    assert all(p.unchanged == p.documents for p in again.portals)  # nothing new on the portals ...
    assert again.new == first.new  # ... yet every report is back
    assert warehouse_reports(env["db"]) == before


def test_the_flow_keeps_at_most_its_window_of_extracted_pieces(env, monkeypatch):
    """Bounded memory under Prefect (issue 10): extraction tasks run beside the crawls, yet the flow never holds
    more than ``EXTRACT_WINDOW`` pieces of extracted reports, and releases each piece once it is loaded."""
    from stream_probe import Outstanding

    from flows import pipeline, tasks

    monkeypatch.setattr(pipeline, "EXTRACT_PIECE", 6)
    monkeypatch.setattr(tasks, "EXTRACT_WINDOW", 2)
    seen = Outstanding(monkeypatch)
    summary = run(env)
    assert summary.new > 50 and seen.extracted >= summary.new
    assert seen.worst <= 2 * (6 + 4), seen.worst
    assert seen.unreleased == 0
    assert len(summary.new_reports) == summary.new


def test_a_large_nightly_with_no_shard_deployment_runs_in_one_process_and_says_why(env, monkeypatch):
    """Above a lowered threshold, on a real Prefect API that has no ``shard`` deployment: the nightly still runs —
    in one process, as always — and its log and run summary say why it was not sharded."""
    monkeypatch.setenv("OGI_SHARD_ABOVE", "1")
    state = run(env, return_state=True)
    assert state.is_completed(), state.message
    s = state.result()
    assert s.new > 0 and s.failed_portals == [] and s.missing_shards == []
    n = len(s.portals)
    assert s.sharding.startswith(f"one process ({n} portals, above the sharding threshold 1, but there is no "
                                 "'shard/shard' deployment")
    assert f"sharding: {s.sharding}" in s.text() and "Sharding: one process" in s.markdown()
    assert "no 'shard/shard' deployment" in flow_run_logs(state.state_details.flow_run_id)
    assert not (env["db"].parent / "shards").exists()  # no plan was made
    # below the threshold (the default 100): nothing said, the run as it always was
    monkeypatch.delenv("OGI_SHARD_ABOVE")
    s2 = run(env)
    assert s2.sharding is None and "sharding:" not in s2.text()


def test_a_large_nightly_whose_pool_has_no_online_worker_runs_in_one_process(env, monkeypatch):
    """The shard deployment exists, but no worker polls its pool: one process, with that reason."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    from flows.autoshard import decide
    from flows.pipeline import load_portals
    from ogi.config import Settings

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name="ogi-idle-pool", type="process"))
        except ObjectAlreadyExists:
            pass
        flow_id = client.create_flow_from_name("shard")
        client.create_deployment(flow_id=flow_id, name="idle", work_pool_name="ogi-idle-pool",
                                 entrypoint="flows/sharded.py:shard")
    monkeypatch.setenv("OGI_SHARD_ABOVE", "1")
    settings = Settings.load(db=env["db"], portals=env["registry"])
    d = decide(settings, load_portals(settings), None, deployment="shard/idle")
    assert d.shards == 0 and "no worker of work pool ogi-idle-pool is online" in d.reason
    import flows.autoshard as autoshard

    monkeypatch.setattr(autoshard, "SHARD_DEPLOYMENT", "shard/idle")  # (OGI_SHARD_DEPLOYMENT, read at import)
    s = run(env)
    assert s.new > 0 and "no worker of work pool ogi-idle-pool is online" in s.sharding


def test_a_sharded_nightly_that_cannot_be_planned_runs_in_one_process(env, monkeypatch):
    """Sharding asked for, but the staging root cannot be written (here: an fsspec protocol nobody installed):
    nothing was submitted, so the night runs in one process and says why."""
    monkeypatch.setenv("OGI_STAGING", "nosuchfs://bucket/shards")
    s = run(env, shards=2)
    assert s.new > 0 and s.failed_portals == []
    assert s.sharding.startswith("one process (asked: shards=2, but could not plan the sharded run under "
                                 "nosuchfs://bucket/shards")
