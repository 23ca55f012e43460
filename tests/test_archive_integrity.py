"""Issue 11 item 2: an archived body is checked against its sha256 whenever it is read.

Reproduces the measured failures first (a hand-tampered page was loaded as revision 2 of its report; a PDF whose
gzip was damaged turned its "see attachment" page into a new report), through whole runs on the real sample
portal into a real DuckDB file, then the repairs: ``ogi archive verify`` lists the damage, ``ogi reprocess``
skips and lists it, the next crawl fetches the bodies again; a full or read-only archive fails cleanly.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.archive import Archive, ArchiveCorrupt

ROOT = Path(__file__).resolve().parents[1]


def _blob(root: Path, sha: str) -> Path:
    return root / "objects" / sha[:2] / f"{sha}.gz"


def test_get_verifies_the_sha256(tmp_path):
    with Archive(tmp_path) as a:
        sha = a.put("http://x/r.html", b"<html>report</html>" * 100, portal_id="p", kind="report_page", status=200)
        path = _blob(tmp_path, sha)
        good = path.read_bytes()
        path.write_bytes(gzip.compress(b"<html>tampered</html>"))  # valid gzip, wrong content
        with pytest.raises(ArchiveCorrupt, match="does not match its sha256"):
            a.get(sha)
        assert not a.has(sha)
        path.write_bytes(good[: len(good) // 2])  # truncated
        with pytest.raises(ArchiveCorrupt, match="gzip"):
            a.get(sha)
        assert isinstance(ArchiveCorrupt(sha, "x"), KeyError)  # callers treating "not archived" as "fetch" do so
        assert [(s, w) for s, w, _ in a.verify()] == [(sha, "http://x/r.html")]
        # storing the same body again (a re-fetch) repairs the blob
        assert a.put("http://x/r.html", b"<html>report</html>" * 100, portal_id="p", kind="report_page",
                     status=200) == sha
        assert a.get(sha) == b"<html>report</html>" * 100 and a.verify() == []


def test_a_publication_with_a_corrupt_part_is_skipped_whole(tmp_path):
    with Archive(tmp_path) as a:
        a.put("http://x/page.html", b"stub: see attachment", portal_id="p", kind="report_page", status=200)
        pdf = a.put("http://x/r.pdf", b"%PDF-1.4 report", portal_id="p", kind="attachment", status=200,
                    parent_url="http://x/page.html")
        a.put("http://x/other.html", b"other report", portal_id="p", kind="report_page", status=200)
        _blob(tmp_path, pdf).write_bytes(b"\x1f\x8b garbage")
        ok, skipped = a.readable_documents("p")
        assert [d.url for d in ok] == ["http://x/other.html"]
        assert sorted(d.url for d, _ in skipped) == ["http://x/page.html", "http://x/r.pdf"]


def test_a_failed_blob_write_leaves_no_partial_file(tmp_path, monkeypatch):
    with Archive(tmp_path) as a:
        def full(self, data):  # noqa: ARG001 - disk full half-way through the write
            with open(self, "wb") as fh:
                fh.write(data[:10])
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(Path, "write_bytes", full)
        with pytest.raises(OSError, match="No space"):
            a.store_blob(b"x" * 1000)
        monkeypatch.undo()
        assert list(tmp_path.glob("objects/*/*")) == [] and a.verify() == []


# ------------------------------------------------------------------------------------------ whole runs


def _settings(tmp_path, monkeypatch, registry):
    from ogi.config import Settings

    cfg = tmp_path / "ogi.yaml"
    cfg.write_text("crawl:\n  polite: false\n  min_delay_s: 0\n  retries: 0\n  connect_timeout_s: 2\n"
                   "  read_timeout_s: 5\nlock_timeout_s: 1\n", encoding="utf-8")
    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    monkeypatch.setenv("OGI_CONFIG", str(cfg))
    monkeypatch.delenv("OGI_ALERT_URLS", raising=False)
    return Settings.load(db=tmp_path / "data" / "ogi.duckdb", portals=registry)


def _one_portal(portal, tmp_path, key: str) -> Path:
    import yaml

    entries = [e for e in portal.registry_entries() if e["id"].endswith(key)]
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump({"portals": entries}, allow_unicode=True), encoding="utf-8")
    return path


def _reports(db: Path) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT * FROM analytics.reports ORDER BY ALL").fetchall()


def test_corrupt_archive_reprocess_then_crawl(sample_portal, tmp_path, monkeypatch, capfd):
    from flows.pipeline import run_direct
    from warehouse.checksum import differences, file_checksums

    settings = _settings(tmp_path, monkeypatch, _one_portal(sample_portal, tmp_path, "qinghe"))
    run_direct(settings)
    clean = file_checksums(settings.db_path)
    reports_before = _reports(settings.db_path)
    with Archive(settings.archive_dir) as a:
        docs = a.documents()
    att = next(d for d in docs if d.kind == "attachment" and d.url.endswith(".pdf"))
    parents = {d.parent_url for d in docs if d.parent_url}
    page = next(d for d in docs if d.kind == "report_page" and d.url not in parents)
    # the two measured corruptions: a tampered page (valid gzip of another body), a damaged PDF gzip
    body = gzip.decompress(_blob(settings.archive_dir, page.sha256).read_bytes())
    _blob(settings.archive_dir, page.sha256).write_bytes(gzip.compress(body.replace("1".encode(), b"7")))
    raw = _blob(settings.archive_dir, att.sha256).read_bytes()
    _blob(settings.archive_dir, att.sha256).write_bytes(raw[:20] + bytes(b ^ 0x55 for b in raw[20:60]) + raw[60:])

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "ogi.cli", "archive", "verify", "--archive", str(settings.archive_dir)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert out.returncode == 1, out.stdout + out.stderr
    assert page.url in out.stdout and att.url in out.stdout and "2 problem(s)" in out.stdout

    capfd.readouterr()
    run_direct(settings, mode="reprocess")
    err = capfd.readouterr().err
    assert page.url in err and att.url in err and att.parent_url in err  # listed, the stub page skipped with it
    # nothing parsed from a corrupt body: no revision 2, no stub page turned into a report
    # (last_seen_at lives in the run log, not analytics.reports: every cell of every analytics view is unchanged)
    assert differences(clean, file_checksums(settings.db_path)) == {}
    assert _reports(settings.db_path) == reports_before

    # the next crawl fetches both again (unconditionally), repairs the archive and says so in the run summary
    text = run_direct(settings).text()
    assert "archive_corrupt ×2" in text, text
    with Archive(settings.archive_dir) as a:
        assert a.verify() == []
        errs = [r["error"] for r in a.fetch_log() if r["error"] and r["error"].startswith("archive_corrupt")]
    assert len(errs) == 2
    # a second crawl also moves the portals' last-crawl cells, as any rerun does
    assert set(differences(clean, file_checksums(settings.db_path))) <= {"reports", "portals"}
    assert _reports(settings.db_path) == reports_before


def test_disk_full_fails_the_page_and_keeps_the_archive(sample_portal, tmp_path, monkeypatch):
    """Disk full while archiving (simulated: a blob write fails with ENOSPC): the new report is a recorded failure,
    never extracted from an unarchived body; the archive keeps only complete blobs; the warehouse keeps everything."""
    from flows.pipeline import run_direct

    settings = _settings(tmp_path, monkeypatch, _one_portal(sample_portal, tmp_path, "qinghe"))
    run_direct(settings)
    before = _reports(settings.db_path)
    new_url = sample_portal.publish_new_report("qinghe")
    real = Path.write_bytes

    def full(self, data):
        if self.name.endswith(".tmp"):
            real(self, data[: len(data) // 3])  # part of the blob reached the disk, then it was full
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    summary = run_direct(settings)
    monkeypatch.setattr(Path, "write_bytes", real)
    text = summary.text()
    assert "archive_write" in text and "No space left" in text, text
    assert summary.failed >= 1
    with Archive(settings.archive_dir) as a:
        assert a.verify() == [] and not list(settings.archive_dir.glob("objects/*/.*.tmp"))
        assert a.latest(new_url) is None  # not archived, so not known: fetched again next night
    assert set(before) <= set(_reports(settings.db_path))  # nothing already stored lost
    assert new_url not in {r[2] for r in _reports(settings.db_path)}
    run_direct(settings)  # the disk has room again: the next night loads the new report
    assert new_url in {r[2] for r in _reports(settings.db_path)}
