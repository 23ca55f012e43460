"""Shared pytest fixtures.

``sample_portal`` — the bundled sample portal server (sample_portal/server.py) running on 127.0.0.1 with
a random free port in a background thread, fresh for each test (tests inject faults and publish/revise
content, so no state leaks between tests; start-up costs a few milliseconds).  It yields a
:class:`sample_portal.server.SamplePortalHandle`:

* ``.base_url`` (``http://127.0.0.1:PORT``), ``.port``, ``.offsite_base_url`` (``http://localhost:PORT``, the
  "off-portal" host that redirect faults point to — never in a portal's ``allowed_hosts``);
* ``.start_url(key)`` for the portals ``qinghe`` (TRS), ``yunxi`` (Hanweb), ``nanling`` (gkmlpt),
  ``shimen`` (VSB), ``dongshan`` (generic); ``.portal_ids()``;
* ``.requests`` — the request log (:class:`LoggedRequest`: method, path, host, status, bytes, conditional,
  portal, fault, user_agent), ``.clear_log()``;
* ``.inject(kind, path=…|portal=…, times=N)`` with kinds ``503 slow reset truncate 404 anti_crawl offsite
  huge trap``, ``.clear_faults()``;
* ``.publish_new_report(portal)`` / ``.revise_report(portal, url=…)`` (return the report URL);
* ground truth: ``.expected_reports(portal)`` (``ExpectedReport``: url, page_url, attachment_url, title, template,
  image_only, malformed, direct), ``.decoy_urls()``, ``.robots_disallowed_urls()``, ``.entry_for(url).spec()``
  (the numbers a report was generated from, see ``sample_portal.reportgen.expected_facts``);
* ``.max_in_flight`` (most concurrent requests seen, for politeness checks);
* ``.write_registry(path, cms_hints=False)`` writes a registry YAML for the running server.

``sample_registry`` writes that registry to ``tmp_path`` and returns its path; ``fast_crawl_settings`` is a
``CrawlSettings`` with politeness kept on but delays, backoff and timeouts tiny so tests stay fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ogi.config import CrawlSettings


@pytest.fixture(autouse=True)
def _fresh_host_politeness():
    """The crawler shares per-host politeness (and cached robots.txt) process-wide; a test's sample portal may get
    the port of an earlier test's (dead) server, so every test starts with none."""
    from crawler.hosts import reset_shared

    reset_shared()
    yield


@pytest.fixture
def sample_portal():
    from sample_portal.server import start

    handle = start(host="127.0.0.1", port=0)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def sample_registry(sample_portal, tmp_path) -> Path:
    return sample_portal.write_registry(tmp_path / "sample-registry.yaml")


@pytest.fixture
def fast_crawl_settings() -> CrawlSettings:
    return CrawlSettings(
        per_host_concurrency=2,
        global_concurrency=8,
        min_delay_s=0.0,
        connect_timeout_s=2.0,
        read_timeout_s=2.0,
        retries=3,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        max_body_bytes=5 * 1024 * 1024,
        max_redirects=5,
        max_pages_per_portal=2000,
        max_list_pages=30,
        polite=True,
    )


@pytest.fixture(scope="session")
def analyst_warehouse(tmp_path_factory):
    """A warehouse made by two real runs over the sample portal, for the analyst-page tests.

    Run 1 loads every report; then one report is revised and one published, and run 2 loads them, so the
    latest run has a new and a revised report (with changed cells).  Yields a dict: ``db`` (the published
    snapshot), ``portal`` (kept running for the session), ``summary`` (of run 2), ``revised_url``, ``new_url``,
    ``settings``.
    """
    from flows.pipeline import run_direct
    from ogi.config import Settings
    from sample_portal.server import start

    tmp = tmp_path_factory.mktemp("analyst-warehouse")
    portal = start(host="127.0.0.1", port=0)
    registry = portal.write_registry(tmp / "registry.yaml")
    settings = Settings(root=tmp, db_path=tmp / "data" / "ogi.duckdb", archive_dir=tmp / "data" / "archive",
                        portals_path=registry, alert_urls=[],
                        crawl=CrawlSettings(polite=False, min_delay_s=0.0, retries=0, backoff_base_s=0.01,
                                            connect_timeout_s=2.0, read_timeout_s=5.0),
                        lock_timeout_s=5.0)
    try:
        run_direct(settings)
        revised_url = portal.revise_report()
        new_url = portal.publish_new_report()
        summary = run_direct(settings)
        yield {"db": settings.db_path, "portal": portal, "summary": summary, "revised_url": revised_url,
               "new_url": new_url, "settings": settings}
    finally:
        portal.stop()
