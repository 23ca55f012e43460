"""One politeness budget per host (issue 10): every portal and task of a process shares a host's slots, delay,
backoff and robots.txt — also when the portals are crawled from different threads, each with its own event loop,
as Prefect's thread-pool task runner does.  Real sample portal (several portals on one host) on loopback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from urllib.parse import urlsplit

import pytest

from crawler import Archive, crawl_portal, crawl_portals
from crawler.fetch import HostPolicy
from crawler.hosts import Slots
from ogi.registry import load_registry

TWO = ("sample-trs-qinghe", "sample-gkmlpt-nanling")  # two registry entries on one host (127.0.0.1:PORT)


def _two_portals(sample_portal, tmp_path):
    portals = [p for p in load_registry(sample_portal.write_registry(tmp_path / "r.yaml")) if p.id in TWO]
    assert {urlsplit(u).netloc for p in portals for u in p.start_urls} == {f"127.0.0.1:{sample_portal.port}"}
    return portals


def _in_threads(portals, archive, settings, policy_for=lambda p: None):
    """Crawl each portal in its own thread and event loop at the same time (like Prefect task runner threads)."""
    results, errors = {}, []
    barrier = threading.Barrier(len(portals))

    def one(p):
        try:
            barrier.wait()
            results[p.id] = asyncio.run(crawl_portal(p, archive, settings, policy=policy_for(p)))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=one, args=(p,)) for p in portals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


@pytest.fixture
def slow_pages(sample_portal):
    # detail pages answer slowly, so the two portals' requests overlap
    sample_portal.inject("slow", path="/qinghe/zwgk/zfxxgk/zfxxgknb/20*", delay_s=0.03)
    sample_portal.inject("slow", path="/nanling/gkmlpt/content/*", delay_s=0.03)


def test_two_portals_on_one_host_in_two_threads_never_exceed_the_per_host_limit(
        sample_portal, fast_crawl_settings, tmp_path, slow_pages):
    portals = _two_portals(sample_portal, tmp_path)
    s = dataclasses.replace(fast_crawl_settings, per_host_concurrency=2)
    results = _in_threads(portals, Archive(tmp_path / "a"), s)
    assert all(r.ok and len(r.documents) >= 10 for r in results.values())
    assert sample_portal.max_in_flight <= 2
    assert sum(1 for q in sample_portal.requests if q.path == "/robots.txt") == 1  # robots.txt once per host

    # the same crawl with one policy per task (what per-task politeness was) does exceed it: the test can fail
    sample_portal.clear_log()
    _in_threads(portals, Archive(tmp_path / "b"), s, policy_for=lambda p: HostPolicy.create(s))
    assert sample_portal.max_in_flight > 2


def test_separate_crawl_calls_share_the_host_limit(sample_portal, fast_crawl_settings, tmp_path, slow_pages):
    """Two ``crawl_portals`` calls running at once (two flows, or a CLI crawl next to a run) still share the host."""
    portals = _two_portals(sample_portal, tmp_path)
    s = dataclasses.replace(fast_crawl_settings, per_host_concurrency=3)
    archive = Archive(tmp_path / "a")
    threads = [threading.Thread(target=crawl_portals, args=([p], archive, s), kwargs={"progress": False})
               for p in portals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sample_portal.requests) >= 30 and sample_portal.max_in_flight == 3


def test_min_delay_is_per_host_across_threads(sample_portal, fast_crawl_settings, tmp_path):
    portals = _two_portals(sample_portal, tmp_path)
    delay = 0.02
    s = dataclasses.replace(fast_crawl_settings, per_host_concurrency=1, min_delay_s=delay)

    def span(**kw) -> tuple[int, float]:
        sample_portal.clear_log()
        _in_threads(portals, Archive(tmp_path / str(len(kw))), s, **kw)
        t = sorted(q.started for q in sample_portal.requests)
        return len(t), t[-1] - t[0]

    n, shared = span()
    assert n >= 30 and shared >= (n - 1) * delay * 0.95  # both portals' requests spaced as one host's
    n2, private = span(policy_for=lambda p: HostPolicy.create(s))  # per-task pacing: about twice as fast
    assert private < (n2 - 1) * delay * 0.8


def test_retry_after_pauses_the_host_for_every_portal(sample_portal, fast_crawl_settings, tmp_path):
    portals = _two_portals(sample_portal, tmp_path)
    page = next(e.url for e in sample_portal.expected_reports("qinghe") if not e.attachment_url)
    sample_portal.inject("503", path=urlsplit(page).path, times=1, retry_after=1)
    s = dataclasses.replace(fast_crawl_settings, per_host_concurrency=2, backoff_max_s=0.4)
    results = _in_threads(portals, Archive(tmp_path / "a"), s)
    assert page in {d.url for d in results["sample-trs-qinghe"].documents}  # retried after the pause
    log = sample_portal.requests
    t503 = next(q.t for q in log if q.status == 503)
    # Retry-After (capped at backoff_max_s = 0.4 s): nothing else starts on the host, from either portal, meanwhile
    during = [q for q in log if t503 < q.started < t503 + 0.35]
    # (at most what the other slot sent between the server answering 503 and the client reading it: one request,
    # two on a loaded machine; without the shared pause both slots go on at loopback speed, dozens in 0.35 s)
    assert len(during) <= 2, [(q.path, round(q.started - t503, 3)) for q in during]
    assert any(q.portal == "sample-gkmlpt-nanling" and q.t > t503 for q in log)


def test_slots_work_across_threads_and_loops_and_survive_cancellation():
    slots = Slots(3)
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    async def job():
        async with slots:
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            try:
                await asyncio.sleep(0.002)
            finally:
                with lock:
                    state["now"] -= 1

    async def many():
        tasks = [asyncio.create_task(job()) for _ in range(40)]
        await asyncio.sleep(0.005)
        for t in tasks[::4]:  # cancel some, waiting or running
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    threads = [threading.Thread(target=lambda: asyncio.run(many())) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state["max"] == 3 and state["now"] == 0
    assert slots.in_use == 0  # no slot leaked by a cancelled waiter

    async def timed() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(job() for _ in range(6)))
        return time.perf_counter() - t0

    assert asyncio.run(timed()) >= 0.004  # 6 jobs through 3 slots: two rounds


def test_portals_crawled_on_the_crawl_loop_share_one_connection_pool(sample_portal, tmp_path):
    """Registry entries on one host crawled by one run reuse the host's connections (flows.crawl_loop.shared_client),
    and the run's end closes them; crawls outside the crawl loop keep a client of their own."""
    from concurrent.futures import ThreadPoolExecutor

    from flows import crawl_loop, pipeline
    from ogi.config import Settings

    settings = Settings.load(db=tmp_path / "ogi.duckdb", portals=sample_portal.write_registry(tmp_path / "r.yaml"))
    settings.crawl = dataclasses.replace(settings.crawl, polite=False, min_delay_s=0.0, per_host_concurrency=4,
                                         global_concurrency=4)
    portals = [p for p in pipeline.load_portals(settings) if p.id in TWO]

    def crawl_all(run) -> set:
        sample_portal.clear_log()
        with ThreadPoolExecutor(2) as pool:  # two task threads, as the flow's task runner
            crawls = list(pool.map(run, portals))
        assert all(c.ok and len(c.documents) >= 10 for c in crawls)
        return {q.peer for q in sample_portal.requests}

    on_loop = crawl_all(lambda p: asyncio.run(crawl_loop.run_on_crawl_loop(pipeline.crawl_one_async(p, settings))))
    assert len(on_loop) <= 4  # at most the per-host limit, for both portals together
    assert crawl_loop._clients  # still open: a later crawl of the run reuses them
    crawl_loop.close_clients()
    assert not crawl_loop._clients

    # the same two crawls each with a client of its own (what every flow run did before) open more connections
    own = crawl_all(lambda p: pipeline.crawl_one(p, settings))
    assert len(own) > len(on_loop), (len(own), len(on_loop))
