"""Revalidation (issue 10): every known report page and attachment is re-requested within a stated time, a
per-portal nightly budget spreads the work stalest-first, and an in-place revision is caught the next night.

Real sample portal on loopback, real archive; "today" injected through ``CrawlSettings.today`` where the test
simulates later nights.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from urllib.parse import urlsplit

from crawler import Archive, crawl_portals, summarize
from crawler.revalidation import RevalidationPolicy
from ogi.config import CrawlSettings
from ogi.registry import load_registry


def _crawl(registry, archive, settings):
    return crawl_portals(load_registry(registry), archive, settings, progress=False)


def _docs(results) -> dict[str, object]:
    return {d.url: d for r in results for d in r.documents}


def _requests_for(sp, urls) -> list:
    """The server's log entries for ``urls`` (by path) since the last clear_log."""
    paths = {urlsplit(u).path for u in urls}
    return [q for q in sp.requests if urlsplit(q.path).path in paths]


def _requested(sp, urls) -> Counter:
    by_path = {urlsplit(u).path: u for u in urls}
    return Counter(by_path[urlsplit(q.path).path] for q in _requests_for(sp, urls))


def _first_run(sp, registry, tmp_path, settings):
    archive = Archive(tmp_path / "archive")
    first = _docs(_crawl(registry, archive, settings))
    assert len(first) >= 50 and all(d.status == "new" for d in first.values())
    sp.clear_log()
    return archive, first


def test_defaults_check_a_2000_report_portal_in_full_every_night():
    s = CrawlSettings()
    p = RevalidationPolicy.from_settings(s)
    assert (p.window, p.fresh_days, p.conditional, p.today) == (7, 60, True, dt.date.today())
    # 2,000 report pages plus their attachments fit the nightly budget, and the request cap leaves room for lists
    assert p.budget >= 2000 * 1.5 and s.max_pages_per_portal >= p.budget + 1000
    assert RevalidationPolicy.from_settings(dataclasses.replace(s, revalidate_days=1)).window == 1  # old alias


def test_a_no_change_night_re_requests_every_known_document_once_and_conditionally(
        sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, fast_crawl_settings)
    second_results = _crawl(sample_registry, archive, fast_crawl_settings)
    second = _docs(second_results)
    assert set(second) == set(first)
    for url, d in second.items():
        f = first[url]
        assert (d.status, d.kind, d.sha256, d.list_date, d.link_text, d.parent_url) == (
            "unchanged", f.kind, f.sha256, f.list_date, f.link_text, f.parent_url), url
    assert set(_requested(sample_portal, first).values()) == {1} and len(_requested(sample_portal, first)) == len(first)
    assert all(q.conditional and q.status == 304 and q.bytes == 0 for q in _requests_for(sample_portal, first))
    totals = summarize(second_results)
    assert (totals["revalidated"], totals["not_requested"], totals["oldest_check_age_days"]) == (len(first), 0, 0)


def test_an_in_place_revision_is_caught_the_next_night_with_etag_without_validators_and_behind_a_post_list(
        sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    sample_portal.set_validators(False, portal="shimen")  # this server sends no ETag / Last-Modified at all
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, fast_crawl_settings)
    revised = {
        "etag": sample_portal.revise_report("qinghe"),  # TRS: GET lists, new ETag on the page
        "none": sample_portal.revise_report("shimen"),  # VSB without validators: plain GETs, sha256 compared
        "post": sample_portal.revise_report("yunxi"),  # Hanweb: the list is a POST to dataproxy.jsp
    }
    second = _docs(_crawl(sample_registry, archive, fast_crawl_settings))
    assert {k: second[u].status for k, u in revised.items()} == {"etag": "changed", "none": "changed",
                                                                  "post": "changed"}
    assert Counter(d.status for u, d in second.items() if u not in revised.values()) == Counter(
        {"unchanged": len(first) - 3})
    for u in revised.values():  # the new body is archived; the old one is kept
        assert archive.latest(u).sha256 == second[u].sha256 != first[u].sha256
        assert archive.get(first[u].sha256) != archive.get(second[u].sha256)
    # nothing on the lists gave it away: same URLs, same entries, lists unchanged
    assert (second[revised["etag"]].link_text, second[revised["etag"]].list_date) == (
        first[revised["etag"]].link_text, first[revised["etag"]].list_date)
    qinghe_lists = [q for q in sample_portal.requests if "/qinghe/zwgk/zfxxgk/zfxxgknb/index" in q.path]
    assert qinghe_lists and all(q.status == 304 for q in qinghe_lists)
    proxy = [r for r in archive.fetch_log() if r["url"].startswith(sample_portal.base_url + "/yunxi/module/web/jpage/")]
    assert len(proxy) >= 2 and len({r["sha256"] for r in proxy if r["url"] == proxy[0]["url"]}) == 1
    # the portal without validators was asked plainly and answered in full; the others conditionally
    shimen = _requests_for(sample_portal, [u for u, d in first.items() if d.portal_id.endswith("shimen")])
    assert shimen and all(not q.conditional and q.status == 200 and q.bytes > 0 for q in shimen)
    assert all(q.conditional for q in _requests_for(sample_portal, [revised["etag"], revised["post"]]))


def test_a_revised_attachment_is_caught_while_its_page_answers_304(
        sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, fast_crawl_settings)
    att = next(u for u, d in first.items() if d.kind == "attachment" and d.parent_url)
    sample_portal.revise_report(url=att)
    second = _docs(_crawl(sample_registry, archive, fast_crawl_settings))
    assert second[att].status == "changed" and second[first[att].parent_url].status == "unchanged"
    assert [q.status for q in _requests_for(sample_portal, [first[att].parent_url])] == [304]


def test_the_budget_checks_the_stalest_first_and_everything_within_ceil_known_over_budget_nights(
        sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    budget = 20
    s = dataclasses.replace(fast_crawl_settings, revalidate_budget=budget)
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, s)
    per_portal = Counter(d.portal_id for d in first.values())
    nights = max(-(-n // budget) for n in per_portal.values())
    seen: Counter = Counter()
    for night in range(nights):
        before = {u: archive.latest(u).checked_at for u in first}
        results = _crawl(sample_registry, archive, s)
        assert {d.status for d in _docs(results).values()} == {"unchanged"} and set(_docs(results)) == set(first)
        tonight = _requested(sample_portal, first)
        for r in results:
            mine = sorted((before[u], u) for u, d in first.items() if d.portal_id == r.portal_id)
            expected = {u for _, u in mine[:budget]}  # the stalest `budget` of the portal, ties by URL
            assert {u for u in tonight if first[u].portal_id == r.portal_id} == expected, (night, r.portal_id)
            assert r.revalidated == len(expected) and r.revalidation_skipped == per_portal[r.portal_id] - len(expected)
        seen.update(tonight)
        sample_portal.clear_log()
    assert set(seen) == set(first) and set(seen.values()) == {1}  # each known URL exactly once over the nights


def test_the_window_beats_the_budget_and_the_oldest_check_age_is_reported(
        sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, fast_crawl_settings)
    today = dt.date.today()
    quiet = dataclasses.replace(fast_crawl_settings, revalidate_budget=0, today=today + dt.timedelta(days=6))
    results = _crawl(sample_registry, archive, quiet)  # 6 nights later, no budget: nothing is due yet
    assert not _requested(sample_portal, first)
    assert summarize(results)["not_requested"] == len(first) and summarize(results)["oldest_check_age_days"] == 6
    stale = sorted(u for u, d in first.items() if d.kind == "report_page")[:3]
    for u in stale:  # as if these had last been confirmed 8 nights ago
        archive.touch(u, checked_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=8))
    archive.commit()
    sample_portal.clear_log()
    results = _crawl(sample_registry, archive, dataclasses.replace(quiet, today=today))
    assert set(_requested(sample_portal, first)) == set(stale)  # overdue: requested whatever the budget
    assert summarize(results)["revalidated"] == 3
    for u in set(first) - set(stale):  # the others were last confirmed the night before
        archive.touch(u, checked_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1))
    archive.commit()
    sample_portal.clear_log()
    _crawl(sample_registry, archive, dataclasses.replace(quiet, today=today + dt.timedelta(days=6)))
    assert set(_requested(sample_portal, first)) == set(first) - set(stale)  # 7 nights on for them, 6 for stale


def test_failed_and_fresh_documents_come_first_in_the_budget_and_new_ones_are_outside_it(
        sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    s = dataclasses.replace(fast_crawl_settings, revalidate_budget=3, retries=0)
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, dataclasses.replace(s, revalidate_budget=10**6))
    qinghe = sorted(u for u, d in first.items() if d.portal_id.endswith("qinghe") and d.kind == "report_page")
    victim = qinghe[-1]
    sample_portal.inject("404", path=urlsplit(victim).path, times=1)
    _crawl(sample_registry, archive, dataclasses.replace(s, revalidate_budget=10**6))  # the victim fails tonight
    assert archive.last_attempt_failed(victim)
    sample_portal.clear_log()
    new = sample_portal.publish_new_report("yunxi")  # the yunxi list changes: its entries come next
    docs = _docs(_crawl(sample_registry, archive, s))
    tonight = _requested(sample_portal, first)
    assert docs[new].status == "new" and docs[victim].status == "unchanged"
    assert victim in tonight  # previously failed: first
    # a new report is fetched outside the budget; the budget itself is spent on 3 known URLs per portal
    assert Counter(first[u].portal_id for u in tonight) == Counter({p: 3 for p in {d.portal_id for d in first.values()}})
    # fresh: with "today" just after the newest list date, the freshest reports win the budget
    newest = max(d.list_date for d in first.values() if d.portal_id.endswith("shimen"))
    sample_portal.clear_log()
    _crawl(sample_registry, archive, dataclasses.replace(s, today=newest + dt.timedelta(days=1), fresh_days=30))
    shimen = {u for u in _requested(sample_portal, first) if first[u].portal_id.endswith("shimen")}
    fresh = {u for u, d in first.items() if d.portal_id.endswith("shimen") and (newest - d.list_date).days <= 29}
    assert fresh and len(shimen) == 3 and (fresh <= shimen if len(fresh) <= 3 else shimen <= fresh)


def test_backfill_fetches_every_known_document_in_full(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, fast_crawl_settings)
    s = dataclasses.replace(fast_crawl_settings, conditional=False, revalidate_budget=0)
    docs = _docs(_crawl(sample_registry, archive, s))
    assert set(docs) == set(first)
    assert set(_requested(sample_portal, first)) == set(first)
    assert all(q.status == 200 and not q.conditional and q.bytes > 0 for q in _requests_for(sample_portal, first))


def test_plan_order_is_failed_list_changed_fresh_then_stalest_and_deterministic(tmp_path):
    from crawler.revalidation import KnownUrl, RevalidationPlan
    from crawler.types import FetchRecord

    archive = Archive(tmp_path / "a")
    now = dt.datetime.now(dt.timezone.utc)
    today = now.astimezone().date()
    urls = {name: f"http://h/{name}.html" for name in ("failed", "unchecked", "listed", "fresh", "old", "older",
                                                        "oldest", "tie_b", "tie_a")}
    ages = {"old": 3, "older": 4, "oldest": 5, "tie_a": 2, "tie_b": 2}
    for name, url in urls.items():
        archive.put(url, name.encode(), portal_id="p", kind="report_page", status=200,
                    fetched_at=now - dt.timedelta(days=ages.get(name, 1), minutes=0 if "tie" in name else 1),
                    list_date=today - dt.timedelta(days=10 if name == "fresh" else 400))
    archive.log(FetchRecord("p", urls["failed"], now, "report_page", None, error="timeout: read timed out"))
    archive.mark_unchecked(urls["unchecked"])
    archive.commit()
    known = [KnownUrl(u, archive.latest(u), list_changed=(n == "listed")) for n, u in sorted(urls.items())]
    policy = RevalidationPolicy(conditional=True, window=7, budget=len(urls), fresh_days=60, today=today)
    order = list(RevalidationPlan.build(policy, known, archive).selected)
    name_of = {u: n for n, u in urls.items()}
    assert [name_of[u] for u in order] == ["unchecked", "failed", "listed", "fresh", "oldest", "older", "old",
                                          "tie_a", "tie_b"]
    assert list(RevalidationPlan.build(policy, list(reversed(known)), archive).selected) == order
    small = RevalidationPlan.build(dataclasses.replace(policy, budget=4), known, archive)
    assert [name_of[u] for u in small.selected] == ["unchecked", "failed", "listed", "fresh"]
    assert small.oldest_skipped_age() == 5 and len(small.skipped) == 5
