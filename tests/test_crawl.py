"""Acceptance tests of the crawler against the sample portal on loopback (issue 3)."""

from __future__ import annotations

import time
from collections import Counter
from urllib.parse import urlsplit

import pytest

import ogi
from crawler import Archive, crawl_portals, summarize
from ogi.registry import Portal, load_registry


def _crawl(registry, tmp_path, settings, archive=None):
    archive = archive or Archive(tmp_path / "archive")
    return crawl_portals(load_registry(registry), archive, settings, progress=False), archive


def _reports(results):
    return {d.url for r in results for d in r.documents if d.kind == "report_page"}


def _pages(sp, portal=None) -> set[str]:
    """URLs of the expected report *pages* (a directly listed attachment has none), and of the lookalikes: non-reports
    listed under report-like titles, which only their content tells apart (the extractor's job, not the crawler's)."""
    return {e.page_url for e in sp.expected_reports(portal) if e.page_url} | set(sp.lookalike_urls(portal))


def _page_list(sp, portal) -> list[str]:
    return [e.page_url for e in sp.expected_reports(portal) if e.page_url]


def _paths(urls):
    return {urlsplit(u).path for u in urls}


def test_every_report_of_every_cms_family_is_found(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    results, _ = _crawl(sample_registry, tmp_path, fast_crawl_settings)
    by_id = {r.portal_id: r for r in results}
    assert {r.portal_id: r.cms for r in results} == {
        "sample-trs-qinghe": "trs", "sample-hanweb-yunxi": "hanweb", "sample-gkmlpt-nanling": "gkmlpt",
        "sample-vsb-shimen": "vsb", "sample-generic-dongshan": "generic",
    }
    for pid, r in by_id.items():
        expected = _pages(sample_portal, pid)
        assert len(expected) >= 10
        assert _reports([r]) == expected, pid
        assert r.ok and r.listing_complete and r.error is None
        assert all(d.status == "new" for d in r.documents)
    # attachment-only reports: the detail page and its PDF / DOCX, linked by parent_url
    atts = {d.url: d for r in results for d in r.documents if d.kind == "attachment"}
    expected_atts = {e.attachment_url: e.page_url for e in sample_portal.expected_reports() if e.attachment_url}
    assert {u.rsplit(".", 1)[1] for u in expected_atts} == {"pdf", "docx"}
    assert sum(1 for e in sample_portal.expected_reports() if e.direct) == 1  # a PDF linked from the list itself
    assert {u: d.parent_url for u, d in atts.items()} == expected_atts
    # titles and list dates come from the list pages, also on GBK portals (meta-only / wrong header charset)
    for r in results:
        for d in r.documents:
            if d.kind == "report_page":
                entry = sample_portal.entry_for(d.url)
                assert d.link_text == (entry.list_title or entry.title)
                assert d.list_date == entry.date
    # every request carried our User-Agent
    assert {q.user_agent for q in sample_portal.requests} == {ogi.USER_AGENT}


def test_cms_hints_from_the_registry_are_used(sample_portal, fast_crawl_settings, tmp_path):
    reg = sample_portal.write_registry(tmp_path / "hinted.yaml", cms_hints=True)
    results, _ = _crawl(reg, tmp_path, fast_crawl_settings)
    assert [r.cms for r in results] == ["trs", "hanweb", "gkmlpt", "vsb", "generic"]
    assert _reports(results) == _pages(sample_portal)


def test_no_decoy_becomes_a_report_and_decoys_are_not_fetched(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    results, archive = _crawl(sample_registry, tmp_path, fast_crawl_settings)
    decoys = set(sample_portal.decoy_urls())
    assert len(decoys) == 20  # 4 per portal: 解读, 工作要点, 指南, 图解
    docs = {d.url for r in results for d in r.documents}
    assert not docs & decoys
    assert not _paths(decoys) & {urlsplit(q.path).path for q in sample_portal.requests}
    assert not {d.url for d in archive.documents()} & decoys


def test_robots_txt_is_obeyed(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    results, _ = _crawl(sample_registry, tmp_path, fast_crawl_settings)
    blocked = sample_portal.robots_disallowed_urls()
    assert blocked  # a report-looking entry sits in a disallowed directory
    requested = [urlsplit(q.path).path for q in sample_portal.requests]
    assert "/robots.txt" in requested
    assert not any(p.startswith("/qinghe/zwgk/zfxxgk/zfxxgknb/nbcg/") for p in requested)
    fails = [f for r in results for f in r.failures]
    assert [(f.kind, f.url) for f in fails] == [("robots", blocked[0])]


def test_no_request_leaves_the_allowed_hosts(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    victim = _page_list(sample_portal, "nanling")[0]
    sample_portal.inject("offsite", path=victim)
    results, archive = _crawl(sample_registry, tmp_path, fast_crawl_settings)
    assert {q.host for q in sample_portal.requests} == {"127.0.0.1"}
    fails = {(f.kind, f.url) for r in results for f in r.failures}
    assert ("offsite_redirect", victim) in fails
    assert victim not in _reports(results)
    assert _reports(results) == _pages(sample_portal) - {victim}
    assert any(row["url"] == victim and (row["error"] or "").startswith("offsite_redirect") for row in archive.fetch_log())


def test_every_injected_fault_is_survived_and_recorded(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    sp = sample_portal
    trs_page2 = sp.base_url + "/qinghe/zwgk/zfxxgk/zfxxgknb/index_1.html"
    slow = _page_list(sp, "qinghe")[3]
    reset = _page_list(sp, "yunxi")[2]
    truncated = _page_list(sp, "shimen")[1]
    anti = _page_list(sp, "nanling")[2]
    gone = _page_list(sp, "dongshan")[4]
    sp.inject("503", path=trs_page2, times=2, retry_after=1)
    sp.inject("slow", path=slow, times=1, delay_s=fast_crawl_settings.read_timeout_s + 0.5)
    sp.inject("reset", path=reset, times=1)
    sp.inject("truncate", path=truncated, times=1)
    sp.inject("anti_crawl", path=anti, times=2)
    sp.inject("404", path=gone)
    results, archive = _crawl(sample_registry, tmp_path, fast_crawl_settings)

    assert all(r.ok for r in results)
    # survived: everything except the permanently missing page was found
    assert _reports(results) == _pages(sp) - {gone}
    # recorded: each fault shows in the fetch log of its URL, with the right kind
    errors: dict[str, list[str]] = {}
    for r in results:
        for f in r.fetches:
            if f.error:
                errors.setdefault(f.url, []).append(f.error.split(":")[0])
    assert errors[trs_page2] == ["http_5xx", "http_5xx"]
    assert errors[slow] == ["timeout"]
    assert errors[reset] == ["reset"]
    assert errors[truncated] == ["truncated"]
    assert errors[anti] == ["anti_crawl", "anti_crawl"]
    assert errors[gone] == ["http_404"]
    final = {(f.url, f.kind, f.attempts) for r in results for f in r.failures}
    assert (gone, "http_404", 1) in final  # 404 is not retried
    succeeded = {f.url: f.attempts for r in results for f in r.fetches if f.status == 200}
    assert succeeded[trs_page2] == 3 and succeeded[anti] == 3 and succeeded[slow] == 2
    # the anti-crawl page was archived for the record but never became the report's state
    assert archive.latest(anti).sha256 == next(d.sha256 for r in results for d in r.documents if d.url == anti)
    body = archive.get(archive.latest(anti).sha256).decode("utf-8")
    assert "验证码" not in body
    # a 404 on a report leaves the listing complete (the list itself was read)
    assert next(r for r in results if r.portal_id == "sample-generic-dongshan").listing_complete


def test_retry_after_is_honoured_and_backoff_grows(sample_portal, fast_crawl_settings):
    import asyncio

    from crawler.fetch import Fetcher, HostPolicy
    from crawler.types import PortalCrawl

    s = fast_crawl_settings
    s.backoff_base_s, s.backoff_max_s = 0.1, 5.0
    f = Fetcher.__new__(Fetcher)
    f.settings = s
    delays = [f._backoff(i, None) for i in (1, 2, 3, 4)]
    assert 0.05 <= delays[0] <= 0.1 and 0.4 <= delays[3] <= 0.8
    assert f._backoff(1, 2.0) >= 2.0  # Retry-After wins over a shorter backoff
    assert f._backoff(1, 999.0) == 5.0  # but is capped by backoff_max_s
    del asyncio, HostPolicy, PortalCrawl


def test_a_second_run_without_changes_fetches_no_report_body(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    # the default revalidation: every known page re-requested every night (within the budget)
    first, archive = _crawl(sample_registry, tmp_path, fast_crawl_settings)
    first_bytes = sum(q.bytes for q in sample_portal.requests)
    sample_portal.clear_log()
    second, _ = _crawl(sample_registry, tmp_path, fast_crawl_settings, archive)
    docs = {d.url for r in second for d in r.documents}
    assert docs == {d.url for r in first for d in r.documents}
    assert Counter(d.status for r in second for d in r.documents) == Counter({"unchanged": len(docs)})
    doc_paths = _paths(docs)
    doc_requests = [q for q in sample_portal.requests if urlsplit(q.path).path in doc_paths]
    assert len(doc_requests) == len(docs)
    assert all(q.status == 304 and q.bytes == 0 and q.conditional for q in doc_requests)
    # list pages are revalidated too: only the Hanweb POST list API and robots.txt send bodies again
    bodies = [q for q in sample_portal.requests if q.status == 200]
    assert {(q.method, urlsplit(q.path).path.rsplit("/", 1)[-1]) for q in bodies} <= {
        ("POST", "dataproxy.jsp"), ("GET", "robots.txt")}
    second_bytes = sum(q.bytes for q in sample_portal.requests)
    assert second_bytes <= 0.05 * first_bytes
    assert summarize(second)["bytes"] <= 0.05 * summarize(first)["bytes"]


def test_publish_and_revise_between_runs_are_one_new_and_one_changed(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    # the revised report's list page does not change: the nightly revalidation of every known page catches it
    first, archive = _crawl(sample_registry, tmp_path, fast_crawl_settings)
    new_url = sample_portal.publish_new_report("yunxi")
    revised_url = sample_portal.revise_report("shimen")
    second, _ = _crawl(sample_registry, tmp_path, fast_crawl_settings, archive)
    statuses = {d.url: d.status for r in second for d in r.documents}
    assert Counter(statuses.values()) == Counter({"unchanged": len(statuses) - 2, "new": 1, "changed": 1})
    assert statuses[new_url] == "new" and statuses[revised_url] == "changed"
    old_sha = next(d.sha256 for r in first for d in r.documents if d.url == revised_url)
    assert archive.latest(revised_url).sha256 != old_sha
    assert archive.get(old_sha) != archive.get(archive.latest(revised_url).sha256)  # both versions kept


def test_pagination_trap_is_cut_and_recorded(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    sample_portal.inject("trap", portal="dongshan")
    results, _ = _crawl(sample_registry, tmp_path, fast_crawl_settings)
    r = next(r for r in results if r.portal_id == "sample-generic-dongshan")
    assert {f.kind for f in r.failures} == {"trap"}
    assert not r.listing_complete  # a trapped listing may not be used to call reports withdrawn
    assert _reports([r]) == _pages(sample_portal, "dongshan")
    list_requests = [q for q in sample_portal.requests if urlsplit(q.path).path == "/dongshan/xxgk/gknb/"]
    from sample_portal.site import page_count

    real = page_count(next(p for p in sample_portal.portals if p.key == "dongshan"))
    assert real + 1 <= len(list_requests) <= real + 3  # the real pages + at most 3 trap pages before the cut
    assert all(x.listing_complete for x in results if x is not r)


def test_list_page_cap(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    fast_crawl_settings.max_list_pages = 2
    results, _ = _crawl(sample_registry, tmp_path, fast_crawl_settings)
    trs = next(r for r in results if r.portal_id == "sample-trs-qinghe")
    assert not trs.listing_complete
    assert "trap" in {f.kind for f in trs.failures}
    assert sum(1 for q in sample_portal.requests if "/qinghe/zwgk/zfxxgk/zfxxgknb/index" in q.path) <= 2


def test_one_bad_portal_never_stops_the_others(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    import socket

    import yaml

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]  # closed once the block ends: connection refused
    data = yaml.safe_load(sample_registry.read_text(encoding="utf-8"))
    data["portals"].insert(0, {"id": "dead-portal", "name": "dead", "start_urls": [f"http://127.0.0.1:{dead_port}/x/"]})
    data["portals"].insert(1, {"id": "missing-column", "name": "404", "start_urls": [sample_portal.base_url + "/nope/"]})
    sample_registry.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    fast_crawl_settings.retries = 1
    results, _ = _crawl(sample_registry, tmp_path, fast_crawl_settings)
    by_id = {r.portal_id: r for r in results}
    assert not by_id["dead-portal"].ok and by_id["dead-portal"].error.startswith("start URL failed: connect")
    robots_tries = [f.attempts for f in by_id["dead-portal"].fetches if f.kind == "robots"]
    assert robots_tries == [1, 2]  # retried once (settings.retries=1), then the host counts as unreachable
    assert not by_id["missing-column"].ok and "http_404" in by_id["missing-column"].error
    assert _reports(results) == _pages(sample_portal)


def test_response_size_cap_aborts_the_download(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    pdf = next(e.attachment_url for e in sample_portal.expected_reports("qinghe") if e.attachment_url)
    sample_portal.inject("huge", path=pdf)
    fast_crawl_settings.max_body_bytes = 1024 * 1024
    results, _ = _crawl(sample_registry, tmp_path, fast_crawl_settings)
    assert ("too_large", pdf) in {(f.kind, f.url) for r in results for f in r.failures}
    assert pdf not in {d.url for r in results for d in r.documents}
    assert len(_reports(results)) == len(_pages(sample_portal))


def test_per_host_concurrency_and_min_delay(sample_portal, fast_crawl_settings, tmp_path):
    reg = sample_portal.write_registry(tmp_path / "r.yaml")
    portals = [p for p in load_registry(reg) if p.id == "sample-trs-qinghe"]
    fast_crawl_settings.per_host_concurrency = 2
    fast_crawl_settings.min_delay_s = 0.02
    sample_portal.inject("slow", path="/qinghe/zwgk/zfxxgk/zfxxgknb/2*", delay_s=0.05)
    t0 = time.perf_counter()
    results = crawl_portals(portals, Archive(tmp_path / "a"), fast_crawl_settings, progress=False)
    elapsed = time.perf_counter() - t0
    n = len(sample_portal.requests)
    assert results[0].documents and n >= 15
    assert sample_portal.max_in_flight <= 2
    assert elapsed >= (n - 1) * 0.02


def _self_signed(tmp_path):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return str(certfile), str(keyfile)


def test_tls_errors_are_reported_and_the_opt_out_works(tmp_path, fast_crawl_settings):
    """A portal with a self-signed certificate: a TLS failure (not retried) unless verify_tls is false."""
    from sample_portal.server import start

    h = start(families=("trs",), tls=_self_signed(tmp_path))
    try:
        start_url = h.base_url + "/qinghe/zwgk/zfxxgk/zfxxgknb/index.html"
        assert start_url.startswith("https://")
        strict = Portal("tls-strict", "tls", (start_url,), ("127.0.0.1",))
        r = crawl_portals([strict], Archive(tmp_path / "a"), fast_crawl_settings, progress=False)[0]
        assert not r.ok and r.failures[0].kind == "tls"
        assert "CERTIFICATE_VERIFY_FAILED" in r.failures[0].reason and "verify_tls" in r.failures[0].reason
        assert [f.attempts for f in r.fetches if f.kind == "robots"] == [1]  # not retried
        lax = Portal("tls-optout", "tls", (start_url,), ("127.0.0.1",), verify_tls=False)
        r = crawl_portals([lax], Archive(tmp_path / "b"), fast_crawl_settings, progress=False)[0]
        assert r.ok and r.cms == "trs"
        assert _reports([r]) == _pages(h)
    finally:
        h.stop()


@pytest.mark.parametrize("family", ["trs", "hanweb", "gkmlpt", "vsb", "generic"])
def test_crawl_portal_is_callable_per_portal(family, tmp_path, fast_crawl_settings):
    """The flows call the async per-portal function (one Prefect task per portal)."""
    import asyncio

    from crawler import crawl_portal
    from sample_portal.server import start

    h = start(families=(family,))
    try:
        reg = h.write_registry(tmp_path / "r.yaml")
        portal = load_registry(reg)[0]
        r = asyncio.run(crawl_portal(portal, Archive(tmp_path / "a"), fast_crawl_settings))
        assert r.cms == family and r.ok and r.listing_complete
        assert _reports([r]) == _pages(h)
    finally:
        h.stop()


def test_request_cap_per_portal(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    import yaml

    data = yaml.safe_load(sample_registry.read_text(encoding="utf-8"))
    data["portals"] = [dict(data["portals"][0], max_pages=8)]
    sample_registry.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    results, _ = _crawl(sample_registry, tmp_path, fast_crawl_settings)
    r = results[0]
    assert r.requests <= 8 + 1  # + robots.txt, which is not counted against the cap
    assert "page_cap" in {f.kind for f in r.failures}
    assert 0 < len(r.documents) < len(_pages(sample_portal, "qinghe"))


def _run_lister(lister_cls, portal, start, page: bytes, settings, tmp_path):
    """Run one CMS lister on a given column page (as if fetched from ``start``); returns its ListState."""
    import asyncio

    from crawler.cms import ListState
    from crawler.crawl import make_client
    from crawler.fetch import Fetcher, FetchResult, HostPolicy
    from crawler.types import PortalCrawl

    async def run():
        client = make_client(settings)
        try:
            crawl = PortalCrawl("p", ok=True, listing_complete=True)
            f = Fetcher(portal, Archive(tmp_path / "a"), settings, client, HostPolicy.create(settings), crawl)
            state = ListState()
            res = FetchResult(start, start, 200, page, {}, None, False, None, "text/html; charset=utf-8")
            await lister_cls(f, state).run(res, page, start)
            return state
        finally:
            await client.aclose()

    return asyncio.run(run())


def test_trs_page_count_in_a_variable(sample_portal, fast_crawl_settings, tmp_path):
    """Many TRS templates call createPageHTML(countPage, currentPage, …) with `var countPage = N`."""
    from crawler.cms import TrsLister

    page = ('<html><body><ul><li><a href="./202301/t20230105_1.html">x2022年年报</a></li></ul><script>'
            'var countPage = 3//共多少页\ncreatePageHTML(countPage, 0, "index", "html");</script></body></html>').encode()
    start = sample_portal.start_url("qinghe")
    portal = Portal("p", "p", (start,), ("127.0.0.1",))

    state = _run_lister(TrsLister, portal, start, page, fast_crawl_settings, tmp_path)
    assert state.pages == 2  # index_1.html and index_2.html
    listed = [q.path for q in sample_portal.requests if "index_" in q.path]
    assert listed == ["/qinghe/zwgk/zfxxgk/zfxxgknb/index_1.html", "/qinghe/zwgk/zfxxgk/zfxxgknb/index_2.html"]


def test_hanweb_inline_records_are_read(sample_portal, fast_crawl_settings, tmp_path):
    """Some Hanweb columns embed the first records in the page (<script type="text/xml"><datastore>…)."""
    from crawler.cms import HanwebLister

    inline = "/yunxi/art/2019/3/1/art_1229114055_1.html"
    page = ('<html><body><div id="5658765"><script type="text/xml"><datastore><recordset>'
            f'<record><![CDATA[<li><a href="{inline}" title="云溪县2018年政府信息公开工作年度报告">x</a></li>]]></record>'
            "</recordset></datastore></script></div><script>$('#5658765').jpage({perPage: 4, "
            "proxyUrl: '/yunxi/module/web/jpage/dataproxy.jsp', dataParams: {columnid: 1229114055, unitid: 5658765}})"
            "</script></body></html>").encode()
    start = sample_portal.start_url("yunxi")
    portal = Portal("p", "p", (start,), ("127.0.0.1",))

    state = _run_lister(HanwebLister, portal, start, page, fast_crawl_settings, tmp_path)
    urls = set(state.entries)
    assert sample_portal.base_url + inline in urls
    assert _pages(sample_portal, "yunxi") <= urls


def test_global_concurrency_cap(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    fast_crawl_settings.polite = False  # per-host limits off: only the global cap remains
    fast_crawl_settings.global_concurrency = 1
    sample_portal.inject("slow", path="/qinghe/zwgk/zfxxgk/zfxxgknb/2*", delay_s=0.02)
    results, _ = _crawl(sample_registry, tmp_path, fast_crawl_settings)
    assert _reports(results) == _pages(sample_portal)
    assert sample_portal.max_in_flight == 1


def test_on_site_redirects_are_followed_and_capped(sample_portal, fast_crawl_settings, tmp_path):
    import yaml

    reg = tmp_path / "r.yaml"
    entry = {"id": "vsb-redirect", "name": "x", "start_urls": [sample_portal.base_url + "/shimen/zfxxgknb.htm"],
             "allowed_hosts": ["127.0.0.1"]}
    reg.write_text(yaml.safe_dump({"portals": [entry]}), encoding="utf-8")
    results, _ = _crawl(reg, tmp_path, fast_crawl_settings)
    assert results[0].cms == "vsb" and _reports(results) == _pages(sample_portal, "shimen")
    fast_crawl_settings.max_redirects = 0
    results, _ = _crawl(reg, tmp_path / "again", fast_crawl_settings)
    assert not results[0].ok and results[0].failures[0].kind == "redirects"


def test_robots_crawl_delay_slows_the_host():
    import asyncio

    from crawler.fetch import HostPolicy
    from ogi.config import CrawlSettings

    async def run() -> float:
        policy = HostPolicy.create(CrawlSettings(min_delay_s=0.0))
        policy.set_crawl_delay("h", 0.05)
        t0 = time.perf_counter()
        for _ in range(3):
            await policy.pace("h")
        await policy.pace("other")  # other hosts are not slowed
        return time.perf_counter() - t0

    assert 0.1 <= asyncio.run(run()) < 0.5


def test_gkmlpt_without_fragment_finds_the_annual_report_category(sample_portal, fast_crawl_settings, tmp_path):
    import yaml

    reg = tmp_path / "r.yaml"
    entry = {"id": "gd-no-fragment", "name": "x", "start_urls": [sample_portal.base_url + "/nanling/gkmlpt/index"]}
    reg.write_text(yaml.safe_dump({"portals": [entry]}), encoding="utf-8")
    results, _ = _crawl(reg, tmp_path, fast_crawl_settings)
    assert results[0].cms == "gkmlpt" and results[0].listing_complete
    assert _reports(results) == _pages(sample_portal, "nanling")
    api = [q.path for q in sample_portal.requests if "/gkmlpt/api/" in q.path]
    assert api and all("/api/all/2842?" in p for p in api)  # not the 指南 category 2840


def test_whole_request_deadline(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    """request_timeout_s bounds a whole exchange even when every single read stays under read_timeout_s."""
    victim = _page_list(sample_portal, "shimen")[0]
    sample_portal.inject("slow", path=victim, times=1, delay_s=0.6)
    fast_crawl_settings.read_timeout_s = 5.0
    fast_crawl_settings.request_timeout_s = 0.3
    results, _ = _crawl(sample_registry, tmp_path, fast_crawl_settings)
    errors = [f.error for r in results for f in r.fetches if f.url == victim and f.error]
    assert len(errors) == 1 and errors[0].startswith("timeout:") and "request_timeout_s=0.3" in errors[0]
    assert victim in _reports(results)  # retried and fetched
