"""The plain parts of flows/: summary rendering, CLI pre-checks and exit codes (no Prefect engine here)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from crawler.types import CrawledDocument, FetchFailure, PortalCrawl
from extractors.model import Finding, Report
from flows.pipeline import ExtractBatch
from flows.summary import build_summary
from ogi.config import Settings
from ogi.registry import Portal
from warehouse.inputs import DocumentInput

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.timezone.utc)


def portal(pid: str) -> Portal:
    return Portal(id=pid, name=pid, start_urls=(f"http://127.0.0.1:1/{pid}/",), allowed_hosts=("127.0.0.1",))


def doc(pid: str, n: int, status: str, report: Report | None) -> DocumentInput:
    return DocumentInput(portal_id=pid, url=f"http://127.0.0.1:1/{pid}/r{n}.html", sha256="0" * 64,
                         fetched_at=NOW, crawl_status=status, report=report)


def test_summary_counts_links_failures_and_secrets(tmp_path):
    good = Report(is_report=True, title="清河县2023年政府信息公开工作年度报告", year=2023)
    bad = Report(is_report=True, title="坏报告", year=2023,
                 findings=[Finding(rule="t3.column_balance", severity="error", message="5 ≠ 7")])
    crawls = [
        PortalCrawl(portal_id="a", ok=True, listing_complete=True, requests=12,
                    failures=[FetchFailure("a", "http://127.0.0.1:1/a/x.html", "timeout", "read timed out", 3)]),
        PortalCrawl(portal_id="b", ok=False, listing_complete=False,
                    error="connect: refused json://127.0.0.1:9/hook/SECRETTOKEN"),
    ]
    batches = [ExtractBatch("a", [doc("a", 1, "new", good), doc("a", 2, "new", bad), doc("a", 3, "unchanged", None)]),
               ExtractBatch("b", [])]
    settings = Settings.load(db=tmp_path / "w.duckdb", portals=tmp_path / "p.yaml")
    s = build_summary(run_id="r1", mode="nightly", started_at=NOW, settings=settings, portals=[portal("a"), portal("b")],
                      crawls=crawls, batches=batches, load_result=None, delivery=None, timings={"crawl": 1.5},
                      finished_at=NOW + dt.timedelta(seconds=3))
    assert (s.found, s.new, s.malformed) == (3, 2, 1)
    assert s.failed == 2  # one fetch failure of a + portal b (failed with no fetch failure recorded)
    md = s.markdown()
    assert "[清河县2023年政府信息公开工作年度报告](http://127.0.0.1:1/a/r1.html)" in md
    assert "t3.column_balance" in md and "**failed**" in md and "timeout ×1" in md
    assert "| crawl | 1.50 |" in md
    txt = s.text()
    assert "3 documents found, 2 new, 0 revised, 1 malformed, 2 failed (1/2 portals failed)" in txt
    assert "http://127.0.0.1:1/a/r2.html" in txt
    # a secret inside an error message never reaches the rendered summary
    assert "SECRETTOKEN" not in md and "SECRETTOKEN" not in txt


def test_summary_prefers_the_loaders_view_of_new_and_revised(tmp_path):
    rep = Report(is_report=True, title="T", year=2023)
    settings = Settings.load(db=tmp_path / "w.duckdb", portals=tmp_path / "p.yaml")

    class LoadResult:  # the loader decides what is new (content hash), not the crawl status
        new = []
        revised = [{"url": "http://127.0.0.1:1/a/r1.html", "title": "T"}]
        malformed = []
        withdrawn = 1

    s = build_summary(run_id="r", mode="nightly", started_at=NOW, settings=settings, portals=[portal("a")],
                      crawls=[PortalCrawl("a", True, True)], batches=[ExtractBatch("a", [doc("a", 1, "changed", rep)])],
                      load_result=LoadResult(), delivery=None, timings={})
    assert (s.new, s.revised, s.withdrawn) == (0, 1, 1)
    assert s.revised_reports[0].url == "http://127.0.0.1:1/a/r1.html"


def _ogi(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ogi.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "OGI_HOME": str(cwd), "HOME": str(cwd)})


def test_ogi_run_bad_registry_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("portals:\n  - id: Not A Slug\n    start_urls: [http://x.example/]\n", encoding="utf-8")
    r = _ogi("run", "--portals", str(bad), "--db", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ogi: ") and "Not A Slug" in lines[0]
    assert "Traceback" not in r.stderr
    r = _ogi("run", "--portals", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert r.returncode == 2 and "not found" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_run_failed_goes_through_the_outbox_once_and_names_the_error(tmp_path, monkeypatch):
    from alerts import sink as sink_mod
    from flows.pipeline import alert_run_failed
    from warehouse.db import open_writer

    sink = sink_mod.start()
    try:
        monkeypatch.setenv("OGI_ALERT_URLS", sink.apprise_url("hook/SECRET999"))
        settings = Settings.load(db=tmp_path / "w.duckdb", portals=tmp_path / "p.yaml")
        with open_writer(settings.db_path, 2) as wh:
            rep = alert_run_failed(settings, "run-1", "RuntimeError: disk full", wh)
            assert [c.sent for c in rep.channels] == [True]
            alert_run_failed(settings, "run-1", "RuntimeError: disk full", wh)  # same run: not twice
            status = wh.scalar("SELECT status FROM runs WHERE run_id = 'run-1'")
        assert status == "failed"
        assert len(sink.received) == 1
        assert "Run failed (1)" in sink.received[0].message and "disk full" in sink.received[0].message
        # without a usable warehouse (e.g. it is locked) the alert is sent directly
        rep = alert_run_failed(settings, "run-2", "warehouse locked by another run", None)
        assert rep.channels[0].sent and len(sink.received) == 2
        assert "SECRET999" not in " ".join(rep.lines())
    finally:
        sink.stop()


def test_prefect_api_clients_share_one_verified_tls_context():
    """Each Prefect client used to parse the CA bundle again (~30 ms each, dozens per run): now one context."""
    import flows.tasks  # noqa: F401 - installs the sharing
    from prefect.client.orchestration import PrefectClient

    a = PrefectClient("http://127.0.0.1:9/api")
    b = PrefectClient("http://127.0.0.1:9/api")
    ca, cb = a._client._transport._pool._ssl_context, b._client._transport._pool._ssl_context
    assert ca is cb and ca.verify_mode.name == "CERT_REQUIRED"


def test_crawls_of_several_task_threads_run_on_one_event_loop():
    """The convoy of one busy event loop per task thread is gone: every crawl coroutine runs on the crawl loop."""
    import asyncio
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from flows.crawl_loop import run_on_crawl_loop

    async def where() -> int:
        await asyncio.sleep(0.01)
        return threading.get_ident()

    with ThreadPoolExecutor(4) as pool:
        idents = set(pool.map(lambda _: asyncio.run(run_on_crawl_loop(where())), range(8)))
    assert len(idents) == 1 and threading.get_ident() not in idents

    async def cancelled() -> bool:
        done = {"cancelled": False}

        async def slow() -> None:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                done["cancelled"] = True
                raise

        t = asyncio.ensure_future(run_on_crawl_loop(slow()))
        await asyncio.sleep(0.1)
        t.cancel()
        try:
            await t
        except asyncio.CancelledError:
            pass
        await asyncio.sleep(0.1)
        return done["cancelled"]

    assert asyncio.run(cancelled())  # a task's timeout still reaches its crawl


def test_the_startup_heap_is_out_of_the_gcs_reach_only_during_the_run():
    import gc

    from flows.pipeline import startup_heap_frozen

    assert gc.get_freeze_count() == 0
    with startup_heap_frozen():
        assert gc.get_freeze_count() > 10_000  # the imports, Prefect, DuckDB: what a full collection would rescan
    assert gc.get_freeze_count() == 0


def test_a_piece_with_nothing_to_extract_needs_no_task_run(tmp_path, monkeypatch):
    """A no-change night decides its unchanged pieces in the flow thread; a piece with a changed document still
    goes to an extraction task (here one that refuses to be submitted, to prove which path was taken)."""
    import flows.tasks as tasks
    from crawler.types import CrawledDocument

    submitted: list[str] = []

    class Refuse:
        @staticmethod
        def submit(portal_id, *a, **k):  # noqa: ANN001, ANN205
            submitted.append(portal_id)
            raise RuntimeError("no Prefect here")

    monkeypatch.setattr(tasks, "extract_portal_task", Refuse)
    now = dt.datetime.now(dt.timezone.utc)

    def piece(pid: str, status: str) -> PortalCrawl:
        doc = CrawledDocument(portal_id=pid, url=f"http://x/{pid}.html", kind="report_page", sha256="0" * 64,
                              fetched_at=now, status=status)
        return PortalCrawl(portal_id=pid, ok=True, listing_complete=True, documents=[doc])

    loaded: list[ExtractBatch] = []

    class Stream:
        def add(self, batch, crawl_ok=True):  # noqa: ANN001, ANN201
            loaded.append(batch)

    settings = Settings.load(db=tmp_path / "w.duckdb", portals=tmp_path / "r.yaml")
    window = tasks._ExtractWindow(Stream(), settings, "nightly", None, {"extract": 0.0, "load": 0.0})
    window.add([piece("same", "unchanged")], True, None)
    window.load_ready()
    assert [b.portal_id for b in loaded] == ["same"] and submitted == []
    assert [d.crawl_status for d in loaded[0].documents] == ["unchanged"]
    try:
        window.add([piece("new", "new")], True, None)
    except RuntimeError:
        pass
    assert submitted == ["new"]
