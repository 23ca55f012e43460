"""The revalidation policy (issues 3 + 5): a no-change rerun does not re-request every known report page.

Real sample portal on loopback, real archive; "today" injected through ``CrawlSettings.today``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from urllib.parse import urlsplit

from crawler import Archive, crawl_portals
from crawler.revalidation import RevalidationPolicy, stagger_slot
from ogi.config import CrawlSettings
from ogi.registry import load_registry


def _crawl(registry, archive, settings):
    return crawl_portals(load_registry(registry), archive, settings, progress=False)


def _docs(results) -> dict[str, object]:
    return {d.url: d for r in results for d in r.documents}


def _requested(sp, urls) -> Counter:
    """How often each of ``urls`` was requested since the last clear_log (by path)."""
    by_path = {urlsplit(u).path: u for u in urls}
    return Counter(by_path[urlsplit(q.path).path] for q in sp.requests if urlsplit(q.path).path in by_path)


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()  # the date of checked_at written by this run


def _first_run(sp, registry, tmp_path, settings):
    archive = Archive(tmp_path / "archive")
    first = _docs(_crawl(registry, archive, settings))
    assert len(first) >= 50 and all(d.status == "new" for d in first.values())
    sp.clear_log()
    return archive, first


def _due(urls, day: dt.date, days: int = 7) -> set[str]:
    return {u for u in urls if stagger_slot(u, days) == day.toordinal() % days}


def test_defaults_are_weekly_stagger_and_sixty_fresh_days():
    s = CrawlSettings()
    assert (s.revalidate_days, s.fresh_days, s.conditional, s.today) == (7, 60, True, None)
    assert RevalidationPolicy.from_settings(s).today == dt.date.today()


def test_unchanged_rerun_requests_only_due_pages_and_still_emits_every_document(
        sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    today = _utc_today()
    s = dataclasses.replace(fast_crawl_settings, today=today)
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, s)
    second_results = _crawl(sample_registry, archive, s)
    second = _docs(second_results)
    # every document is still emitted, unchanged, exactly as a 304 would have produced it
    assert set(second) == set(first)
    for url, d in second.items():
        f = first[url]
        assert (d.status, d.kind, d.sha256, d.list_date, d.link_text, d.parent_url) == (
            "unchanged", f.kind, f.sha256, f.list_date, f.link_text, f.parent_url), url
        assert d.fetched_at == archive.latest(url).fetched_at  # when the archived body was fetched, as on a 304
    due = _due(first, today)
    requested = _requested(sample_portal, first)
    assert set(requested) == due  # nothing else among the known documents was requested
    assert 0 < len(due) < len(first) // 3
    assert all(q.status == 304 for q in sample_portal.requests if urlsplit(q.path).path in
               {urlsplit(u).path for u in due})
    assert sum(r.revalidation_skipped for r in second_results) == len(first) - len(due)


def test_a_changed_list_page_revalidates_its_entries_and_catches_a_revision_at_once(
        sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    today = _utc_today()
    s = dataclasses.replace(fast_crawl_settings, today=today)
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, s)
    portal = "yunxi"
    pid = next(p for p in sample_portal.portal_ids() if p.endswith(portal))
    revised = sample_portal.revise_report(portal)
    new = sample_portal.publish_new_report(portal)  # the list (Hanweb dataproxy XML) changes
    second = _docs(_crawl(sample_registry, archive, s))
    assert second[new].status == "new"
    assert second[revised].status == "changed"  # not due today, perhaps, but its list changed
    requested = _requested(sample_portal, second)
    listed_here = {u for u, d in first.items() if d.portal_id == pid and d.kind == "report_page"}
    assert listed_here <= set(requested)
    others = {u for u, d in first.items() if d.portal_id != pid}
    assert set(requested) & others == _due(others, today)  # other portals: only the stagger
    assert Counter(d.status for u, d in second.items() if u not in (new, revised)) == Counter(
        {"unchanged": len(second) - 2})


def test_stagger_revalidates_every_known_document_exactly_once_over_revalidate_days(
        sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    t0 = _utc_today()
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, dataclasses.replace(fast_crawl_settings,
                                                                                             today=t0))
    seen: Counter = Counter()
    for day in range(1, 8):
        s = dataclasses.replace(fast_crawl_settings, today=t0 + dt.timedelta(days=day))
        docs = _docs(_crawl(sample_registry, archive, s))
        assert set(docs) == set(first) and {d.status for d in docs.values()} == {"unchanged"}
        seen.update(_requested(sample_portal, first))
        sample_portal.clear_log()
    assert set(seen) == set(first) and set(seen.values()) == {1}


def test_a_page_last_checked_longer_ago_than_revalidate_days_is_revalidated(
        sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    today = _utc_today()
    s = dataclasses.replace(fast_crawl_settings, today=today)
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, s)
    not_due = sorted(set(first) - _due(first, today))
    stale = [u for u in not_due if first[u].kind == "report_page"][:2]
    for u in stale:  # as if the runs of the last 8 days were missed
        archive.touch(u, checked_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=8))
    archive.commit()
    _crawl(sample_registry, archive, s)
    requested = _requested(sample_portal, first)
    assert all(requested[u] == 1 for u in stale)
    assert set(requested) == _due(first, today) | set(stale)
    assert all(archive.latest(u).checked_at.date() == _utc_today() for u in stale)  # checked again now


def test_fresh_pages_are_revalidated_every_run(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, fast_crawl_settings)
    newest = max(d.list_date for d in first.values())
    for day in (newest + dt.timedelta(days=30), newest + dt.timedelta(days=31)):
        s = dataclasses.replace(fast_crawl_settings, today=day)
        _crawl(sample_registry, archive, s)
        fresh = {u for u, d in first.items() if (day - d.list_date).days <= s.fresh_days}
        old = set(first) - fresh
        assert fresh and old
        requested = set(_requested(sample_portal, first))
        assert fresh <= requested
        assert requested & old == _due(old, day)
        sample_portal.clear_log()


def test_backfill_fetches_every_known_document_in_full(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, fast_crawl_settings)
    s = dataclasses.replace(fast_crawl_settings, conditional=False, today=_utc_today())
    docs = _docs(_crawl(sample_registry, archive, s))
    assert set(docs) == set(first)
    requested = _requested(sample_portal, first)
    assert set(requested) == set(first)
    paths = {urlsplit(u).path for u in first}
    assert all(q.status == 200 and not q.conditional and q.bytes > 0
               for q in sample_portal.requests if urlsplit(q.path).path in paths)


def test_revalidate_days_one_is_the_old_every_page_every_run(sample_portal, sample_registry, fast_crawl_settings,
                                                            tmp_path):
    s = dataclasses.replace(fast_crawl_settings, revalidate_days=1, today=_utc_today())
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, s)
    _crawl(sample_registry, archive, s)
    assert set(_requested(sample_portal, first)) == set(first)


def test_a_failed_page_is_retried_next_run_even_when_not_due(sample_portal, sample_registry, fast_crawl_settings,
                                                             tmp_path):
    today = _utc_today()
    s = dataclasses.replace(fast_crawl_settings, revalidate_days=1, retries=0)
    archive, first = _first_run(sample_portal, sample_registry, tmp_path, s)
    victim = next(u for u in sorted(set(first) - _due(first, today)) if first[u].kind == "report_page")
    sample_portal.inject("404", path=urlsplit(victim).path, times=1)
    failed = _docs(_crawl(sample_registry, archive, s))  # every page checked: the victim fails this time
    assert victim not in failed and archive.last_attempt_failed(victim)
    sample_portal.clear_log()
    s2 = dataclasses.replace(fast_crawl_settings, today=today)
    again = _docs(_crawl(sample_registry, archive, s2))
    assert _requested(sample_portal, [victim])[victim] == 1 and again[victim].status == "unchanged"
