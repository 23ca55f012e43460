"""``ogi crawl``, ``ogi portals check`` and ``ogi sample-portal`` against the sample portal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from crawler import Archive
from ogi.cli import app
from ogi.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]


def test_ogi_crawl_prints_a_summary_and_fills_the_archive(sample_portal, sample_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    (tmp_path / "ogi.yaml").write_text("crawl:\n  min_delay_s: 0\n  backoff_base_s: 0.01\n", encoding="utf-8")
    archive = tmp_path / "arch"
    result = CliRunner().invoke(app, ["crawl", "--portals", str(sample_registry), "--archive", str(archive), "--no-progress"])
    assert result.exit_code == 0, result.output
    n = len(sample_portal.expected_reports()) + len(sample_portal.lookalike_urls())  # lookalikes are fetched too
    assert "sample-hanweb-yunxi" in result.output and "portals_failed=0" in result.output
    assert f"documents={n + 2}" in result.output  # + the PDF and DOCX attachments
    with Archive(archive) as a:
        assert len(a.documents()) == n + 2
    again = CliRunner().invoke(app, ["crawl", "--portals", str(sample_registry), "--archive", str(archive), "--no-progress"])
    assert f"unchanged={n + 2}" in again.output and "new=0" in again.output


def test_ogi_crawl_reports_a_failed_portal_in_the_summary(tmp_path, monkeypatch):
    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    reg = tmp_path / "r.yaml"
    reg.write_text("portals:\n  - id: nowhere\n    name: x\n    start_urls: [http://127.0.0.1:9/x/]\n", encoding="utf-8")
    (tmp_path / "ogi.yaml").write_text("crawl:\n  retries: 0\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["crawl", "--portals", str(reg), "--archive", str(tmp_path / "a"), "--no-progress"])
    assert result.exit_code == 0  # docs/cli.md: a completed crawl exits 0, failures are in the summary
    assert "portals_failed=1" in result.output and "nowhere: start URL failed: connect" in result.output


def test_ogi_crawl_one_portal(sample_portal, sample_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    args = ["crawl", "--portals", str(sample_registry), "--archive", str(tmp_path / "a"), "--no-progress"]
    result = CliRunner().invoke(app, args + ["--portal", "sample-vsb-shimen"])
    assert result.exit_code == 0 and "portals=1 " in result.output and "sample-trs-qinghe" not in result.output
    assert {q.portal for q in sample_portal.requests} == {"sample-vsb-shimen", None}  # None: robots.txt
    assert CliRunner().invoke(app, args + ["--portal", "nope"]).exit_code == 2


def test_ogi_crawl_bad_registry_exits_2(tmp_path):
    reg = tmp_path / "bad.yaml"
    reg.write_text("portals: [{id: BAD ID}]\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["crawl", "--portals", str(reg), "--archive", str(tmp_path / "a")])
    assert result.exit_code == 2


def test_ogi_portals_check_table(sample_portal, sample_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    sample_portal.inject("503", path="/shimen/zfxxgknb/list1.htm")  # one portal unreachable
    (tmp_path / "ogi.yaml").write_text("crawl:\n  retries: 0\n  min_delay_s: 0\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["portals", "check", "--portals", str(sample_registry)])
    assert result.exit_code == 0, result.output
    assert "4 of 5 portals reachable with report links; check: sample-vsb-shimen" in result.output
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:]]
            for line in result.output.splitlines() if line.startswith("│ sample-")}
    expected = {p: len(sample_portal.expected_reports(p)) + len(sample_portal.lookalike_urls(p))
                for p in sample_portal.portal_ids()}
    for pid in ("sample-trs-qinghe", "sample-hanweb-yunxi", "sample-gkmlpt-nanling", "sample-generic-dongshan"):
        reachable, cms, links = rows[pid][:3]
        assert reachable == "yes" and cms == pid.split("-")[1]
        # TRS also lists the robots-disallowed draft (a report link, never fetched)
        assert int(links) == expected[pid] + (1 if pid == "sample-trs-qinghe" else 0)
    assert rows["sample-vsb-shimen"][0] == "NO"
    # the check reads list pages only: no report page was requested
    report_paths = {e.url.replace(sample_portal.base_url, "") for e in sample_portal.expected_reports()}
    assert not report_paths & {q.path for q in sample_portal.requests}


def test_real_registry_is_valid_and_unverified():
    portals = load_registry(ROOT / "portals" / "registry.yaml")
    names = {p.county for p in portals}
    assert {"平潭县", "龙游县", "永嘉县", "合江县", "吴起县", "桐梓县", "来凤县", "保康县", "东至县", "府谷县"} <= names
    assert all(not p.verified for p in portals)
    assert all(p.division_code and re.fullmatch(r"\d{6}", p.division_code) for p in portals)
    sample = load_registry(ROOT / "portals" / "sample.yaml")
    assert all(u.startswith("http://127.0.0.1:8765/") for p in sample for u in p.start_urls)


def test_ogi_sample_portal_serves_in_the_foreground(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ogi.cli", "sample-portal", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/qinghe/zwgk/zfxxgk/zfxxgknb/index.html", timeout=1)
                break
            except httpx.TransportError:
                assert time.time() < deadline and proc.poll() is None
                time.sleep(0.1)
        assert r.status_code == 200 and "createPageHTML" in r.text
        r = httpx.get(f"http://127.0.0.1:{port}/__admin/fault?kind=404&path=/qinghe/zwgk/zfxxgk/zfxxgknb/index.html")
        assert r.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/qinghe/zwgk/zfxxgk/zfxxgknb/index.html").status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_portals_check_shows_a_wrong_cms_hint(sample_portal, tmp_path, monkeypatch):
    import yaml

    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    reg = tmp_path / "r.yaml"
    entries = sample_portal.registry_entries(cms_hints=True)
    entries[0]["cms"] = "vsb"  # qinghe is TRS
    reg.write_text(yaml.safe_dump({"portals": entries[:2]}, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["portals", "check", "--portals", str(reg)])
    assert "vsb (looks trs)" in result.output
    # the VSB lister finds nothing on a TRS page, so the generic fallback still finds the reports
    assert "2 of 2 portals reachable with report links" in result.output
