"""Acceptance (issue 10): a report revised in place is loaded as revision 2 the next night and alerted once.

Whole runs as a user runs them (``flows.pipeline.run_direct``, the body of ``ogi run`` without Prefect), against
the real sample portal on loopback, into a real DuckDB file, with alerts delivered to the real webhook sink
(``alerts/sink.py``).  The revision changes the page in place: same URL, same list entry, new body — served with a
new ETag, with no validators at all, or behind a Hanweb POST list.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from alerts import sink as sink_mod
from alerts.digest import MAX_DETAIL_LINES
from sample_portal import reportgen
from sample_portal.server import start as start_portal

ROOT = Path(__file__).resolve().parents[1]

VARIANTS = {
    "new_etag": ("qinghe", True),  # TRS, every response with ETag + Last-Modified
    "no_validators": ("shimen", False),  # VSB served without ETag / Last-Modified: sha256 decides
    "post_list": ("yunxi", True),  # Hanweb: the list only comes from a POST to dataproxy.jsp
}


def _settings(tmp_path, monkeypatch, registry, sink):
    from ogi.config import Settings

    cfg = tmp_path / "ogi.yaml"
    # fresh_days 0: nothing is revalidated for being new; only the nightly revalidation can find the revision
    cfg.write_text("crawl:\n  polite: false\n  min_delay_s: 0\n  retries: 0\n  fresh_days: 0\n"
                   "  connect_timeout_s: 2\n  read_timeout_s: 5\nlock_timeout_s: 1\n", encoding="utf-8")
    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    monkeypatch.setenv("OGI_CONFIG", str(cfg))
    monkeypatch.setenv("OGI_ALERT_URLS", sink.apprise_url("hook"))
    monkeypatch.setenv("OGI_ALERT_MAX_ITEMS", "1000")
    return Settings.load(db=tmp_path / "data" / "ogi.duckdb", portals=registry)


def _run(settings):
    from flows.pipeline import run_direct

    return run_direct(settings)


def _only(portal, tmp_path, key: str) -> Path:
    import yaml

    entries = [e for e in portal.registry_entries() if e["id"].endswith(key)]
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump({"portals": entries}, allow_unicode=True), encoding="utf-8")
    return path


def _section(message: str, label: str) -> list[str]:
    m = re.search(rf"^{re.escape(label)} \((\d+)\)\n(.*?)(?:\n\n|\Z)", message, re.S | re.M)
    return re.findall(r"— (http\S+)", m.group(2)) if m else []


def _warehouse(db: Path, url: str) -> tuple[int, dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rid, revision = con.execute("SELECT report_id, revision FROM analytics.reports WHERE url = ?", [url]).fetchone()
        facts = {(t, r, c): v for t, r, c, v in con.execute(
            "SELECT tbl, row_key, col_key, value FROM analytics.facts WHERE report_id = ?", [rid]).fetchall()}
        return revision, facts
    finally:
        con.close()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_report_revised_in_place_is_revision_2_and_one_revised_alert_names_the_changed_cells(
        variant, tmp_path, monkeypatch):
    key, validators = VARIANTS[variant]
    portal = start_portal("127.0.0.1", 0)
    sink = sink_mod.start()
    try:
        if not validators:
            portal.set_validators(False, portal=key)
        settings = _settings(tmp_path, monkeypatch, _only(portal, tmp_path, key), sink)
        url = portal.publish_new_report(key)
        s1 = _run(settings)
        assert s1.failed_portals == [] and s1.new >= 1
        before = portal.entry_for(url).spec()
        assert _warehouse(settings.db_path, url) == (1, {k: float(v) for k, v in
                                                        reportgen.expected_facts(before).items()})
        sent = len(sink.received)

        assert portal.revise_report(url=url) == url  # in place: same URL, same list entry, new body
        after = portal.entry_for(url).spec()
        changed = {k: (float(v), float(after.facts[k])) for k, v in before.facts.items() if after.facts[k] != v}
        assert changed
        s2 = _run(settings)
        assert (s2.new, s2.revised) == (0, 1)
        revision, facts = _warehouse(settings.db_path, url)
        assert revision == 2 and facts == {k: float(v) for k, v in reportgen.expected_facts(after).items()}
        assert len(sink.received) == sent + 1
        msg = sink.received[-1].message
        assert _section(msg, "Revised report") == [url]
        cells = re.findall(r"^\s*(t[234])/(\w+)/(\w+): (\S+) → (\S+)$", msg[msg.index("Revised report ("):], re.M)
        assert cells, msg
        for t, r, c, old, new in cells:  # every cell named really changed, from its old to its new value
            assert changed[(t, r, c)] == (float(old), float(new)), (t, r, c, old, new)
        if len(changed) > MAX_DETAIL_LINES:  # the digest shows the first cells and counts the rest
            assert len(cells) == MAX_DETAIL_LINES and f"{len(changed) - MAX_DETAIL_LINES} more changed facts" in msg
        else:
            assert len(cells) == len(changed)

        s3 = _run(settings)  # nothing changed since: nothing loaded, nothing sent
        assert (s3.new, s3.revised) == (0, 0) and len(sink.received) == sent + 1
        assert _warehouse(settings.db_path, url)[0] == 2
    finally:
        sink.stop()
        portal.stop()


def test_sample_portal_publish_and_revise_commands_persist_between_runs(tmp_path, monkeypatch):
    """The demo flow: run, run (nothing), `ogi sample-portal publish` + `revise` between two portal processes'
    lifetimes, run: exactly the published report is new and exactly the revised one is revised."""
    state = tmp_path / "data" / "sample-portal-state.json"
    portal = start_portal("127.0.0.1", 0, state_file=state)
    port = portal.port
    sink = sink_mod.start()
    try:
        settings = _settings(tmp_path, monkeypatch, _only(portal, tmp_path, "qinghe"), sink)
        _run(settings)
        s2 = _run(settings)
        assert (s2.new, s2.revised) == (0, 0)
        sent = len(sink.received)
        portal.stop()  # the demo starts the portal afresh for every run

        cli = [sys.executable, "-m", "ogi.cli", "sample-portal"]
        opts = ["--state", str(state), "--port", str(port)]
        pub = subprocess.run(cli + ["publish", "--portal", "qinghe"] + opts, cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
        rev = subprocess.run(cli + ["revise"] + opts, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert pub.returncode == 0 and rev.returncode == 0, (pub.stderr, rev.stderr)
        new_url, rev_url = pub.stdout.strip(), rev.stdout.strip()
        assert new_url != rev_url and new_url.startswith(f"http://127.0.0.1:{port}/qinghe/")

        portal = start_portal("127.0.0.1", port, state_file=state)  # replays the state file
        assert portal.entry_for(new_url) is not None and portal.entry_for(rev_url).revision == 1
        s3 = _run(settings)
        assert (s3.new, s3.revised) == (1, 1)
        assert len(sink.received) == sent + 1
        msg = sink.received[-1].message
        assert _section(msg, "New report") == [new_url] and _section(msg, "Revised report") == [rev_url]
        portal.stop()
        portal = start_portal("127.0.0.1", port, state_file=state)  # and again: same content, nothing to say
        s4 = _run(settings)
        assert (s4.new, s4.revised) == (0, 0) and len(sink.received) == sent + 1
    finally:
        sink.stop()
        portal.stop()
