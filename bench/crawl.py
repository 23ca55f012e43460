"""Crawler benchmark against the sample portal on loopback (issue 3 targets).

    .venv/bin/python -m bench.crawl                      # default sizes (~2 min on 2 cores)
    .venv/bin/python -m bench.crawl --reports 2000 --memory-reports 10000

Prints, all measured in the same run:

1. **throughput** — pages/s of ``crawler.crawl_portals`` with politeness off against a TRS-style sample
   portal scaled to ``--reports`` report pages (pre-rendered, like a static TRS site), and the **Scrapy
   reference**: a small Scrapy spider crawling the same portal in a subprocess (same concurrency).
   Target: ≥ 300 pages/s.  (ogi also archives every body gzip'd + indexes it in SQLite; Scrapy stores nothing.)
2. **no-change rerun** — requests and bytes of a second crawl with nothing changed, vs. the first run.
   Target: ≤ 5 % of the first run's bytes.
3. **peak memory** — peak RSS of a crawler process (``ru_maxrss``) crawling a portal scaled to
   ``--memory-reports`` report pages (server in another process).  Target: < 300 MB.

The sample server always runs in its own process so its CPU and memory are not the crawler's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


# ---------------------------------------------------------------------------------------- server process


def _serve(port: int, reports: int, families: str, prerender: bool) -> None:
    from sample_portal.server import start

    h = start("127.0.0.1", port, reports_per_portal=reports, families=tuple(families.split(",")), cache_max=256)
    n = h.prerender() if prerender else 0
    print(json.dumps({"base_url": h.base_url, "prerendered": n}), flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        h.stop()


class Server:
    def __init__(self, reports: int, families: str = "trs", prerender: bool = True):
        self.proc = subprocess.Popen(
            [PY, "-m", "bench.crawl", "--serve", "--reports", str(reports), "--families", families]
            + (["--prerender"] if prerender else []),
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        info = json.loads(self.proc.stdout.readline())
        self.base_url = info["base_url"]

    def registry(self, path: Path) -> Path:
        import yaml

        entries = [{"id": "bench-trs", "name": "bench", "start_urls": [self.base_url + "/qinghe/zwgk/zfxxgk/zfxxgknb/index.html"],
                    "allowed_hosts": ["127.0.0.1"], "cms": "auto"}]
        path.write_text(yaml.safe_dump({"portals": entries}, allow_unicode=True), encoding="utf-8")
        return path

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ---------------------------------------------------------------------------------------- ogi crawl


def _settings(concurrency: int):
    from ogi.config import CrawlSettings

    return CrawlSettings(polite=False, global_concurrency=concurrency, per_host_concurrency=concurrency, min_delay_s=0,
                         retries=1, backoff_base_s=0.05, max_pages_per_portal=100_000, max_list_pages=10_000,
                         read_timeout_s=60)


def ogi_crawl(registry: Path, archive: Path, concurrency: int) -> dict:
    from crawler import Archive, crawl_portals, summarize
    from ogi.registry import load_registry

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    with Archive(archive) as a:
        results = crawl_portals(load_registry(registry), a, _settings(concurrency), progress=False)
    elapsed = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    s = summarize(results)
    s["cpu_ms_per_page"] = 1000 * ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) / max(1, s["requests"])
    s["elapsed_s"] = elapsed
    s["pages_per_s"] = s["requests"] / elapsed
    s["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return s


def _crawl_child(registry: str, archive: str, concurrency: int) -> None:
    print(json.dumps(ogi_crawl(Path(registry), Path(archive), concurrency)), flush=True)


# ---------------------------------------------------------------------------------------- scrapy reference

SPIDER = textwrap.dedent('''
    import json, re, time, scrapy

    class TrsSpider(scrapy.Spider):
        name = "trs"

        def __init__(self, start=None, out=None, concurrency="8", **kw):
            super().__init__(**kw)
            self.start_urls, self.out = [start], out
            self.t0 = time.perf_counter()

        def parse(self, response):
            m = re.search(r"createPageHTML\\((\\d+)", response.text)
            for i in range(1, int(m.group(1)) if m else 1):
                yield response.follow(f"index_{i}.html", self.parse_list)
            yield from self.parse_list(response)

        def parse_list(self, response):
            for href in response.css("ul.list a::attr(href)").getall():
                if re.search(r"t\\d{8}_\\d+\\.html$", href):
                    yield response.follow(href, self.parse_detail)

        def parse_detail(self, response):
            for href in response.css("a::attr(href)").re(r".*\\.(?:pdf|docx?)$"):
                yield response.follow(href, self.parse_attachment)
            yield {"url": response.url, "bytes": len(response.body)}

        def parse_attachment(self, response):
            yield {"url": response.url, "bytes": len(response.body)}

        def closed(self, reason):
            stats = dict(self.crawler.stats.get_stats(), wall_s=time.perf_counter() - self.t0)
            with open(self.out, "w") as f:
                json.dump(stats, f, default=str)
''')


def scrapy_crawl(start_url: str, concurrency: int, tmp: Path) -> dict:
    spider = tmp / "trs_spider.py"
    spider.write_text(SPIDER, encoding="utf-8")
    out = tmp / "scrapy-stats.json"
    cmd = [PY, "-m", "scrapy", "runspider", str(spider), "-a", f"start={start_url}", "-a", f"out={out}",
           "-s", f"CONCURRENT_REQUESTS={concurrency}", "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}",
           "-s", "DOWNLOAD_DELAY=0", "-s", "ROBOTSTXT_OBEY=True", "-s", "LOG_LEVEL=ERROR",
           "-s", "TELNETCONSOLE_ENABLED=False", "-s", "HTTPCACHE_ENABLED=False", "-s", "COOKIES_ENABLED=False",
           "-s", "REQUEST_FINGERPRINTER_IMPLEMENTATION=2.7"]
    subprocess.run(cmd, cwd=tmp, check=True, env={**os.environ, "SCRAPY_SETTINGS_MODULE": ""})
    stats = json.loads(out.read_text())
    n = int(stats.get("response_received_count", 0))
    el = stats["wall_s"]  # spider construction → close: excludes interpreter start-up, like ours
    el = float(el) or 1e-9
    return {"requests": n, "elapsed_s": el, "pages_per_s": n / el, "bytes": int(stats.get("downloader/response_bytes", 0))}


# ---------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=2000, help="report pages of the throughput portal")
    ap.add_argument("--memory-reports", type=int, default=10_000, help="report pages of the memory portal")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--families", default="trs", help=argparse.SUPPRESS)
    ap.add_argument("--prerender", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--crawl-child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        _serve(0, args.reports, args.families, args.prerender)
        return 0
    if args.crawl_child:
        _crawl_child(args.crawl_child[0], args.crawl_child[1], int(args.crawl_child[2]))
        return 0

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"bench/crawl — sample portal on loopback, {os.cpu_count()} CPUs shared by server and client "
          f"(load average before the run: {load}; pages/s drop when other work shares the CPUs)")
    with tempfile.TemporaryDirectory(prefix="ogi-bench-crawl-") as tmpdir:
        tmp = Path(tmpdir)
        srv = Server(args.reports, prerender=True)
        try:
            reg = srv.registry(tmp / "registry.yaml")
            first = ogi_crawl(reg, tmp / "archive", args.concurrency)
            rerun = ogi_crawl(reg, tmp / "archive", args.concurrency)
            ref = scrapy_crawl(srv.base_url + "/qinghe/zwgk/zfxxgk/zfxxgknb/index.html", args.concurrency, tmp)
        finally:
            srv.close()
        print(f"\n1. throughput, politeness off, concurrency {args.concurrency}, {args.reports} report pages:")
        print(f"   ogi crawler   {first['requests']:6d} requests in {first['elapsed_s']:6.2f} s = "
              f"{first['pages_per_s']:7.1f} pages/s   ({first['documents']} documents, {first['bytes'] / 1e6:.1f} MB, archived; "
              f"client CPU {first['cpu_ms_per_page']:.2f} ms/page)"
              f"   target >= 300  {'OK' if first['pages_per_s'] >= 300 else 'MISSED'}")
        print(f"   (derived: {1000 / first['cpu_ms_per_page']:.0f} pages/s per client core at "
              f"{first['cpu_ms_per_page']:.2f} ms CPU/page, if the server had the other core to itself)")
        print(f"   reference: Scrapy {ref['requests']:6d} requests in {ref['elapsed_s']:6.2f} s = "
              f"{ref['pages_per_s']:7.1f} pages/s   ({ref['bytes'] / 1e6:.1f} MB, not stored)")
        ratio_b = rerun["bytes"] / max(1, first["bytes"])
        ratio_r = rerun["requests"] / max(1, first["requests"])
        print("\n2. no-change rerun vs first run:")
        print(f"   requests {rerun['requests']} vs {first['requests']} ({ratio_r:.1%}; all conditional, 304 = no body)")
        print(f"   bytes    {rerun['bytes']} vs {first['bytes']} ({ratio_b:.3%})   target <= 5%  "
              f"{'OK' if ratio_b <= 0.05 else 'MISSED'}")
        print(f"   unchanged documents: {rerun['unchanged']} of {rerun['documents']}; new {rerun['new']}, changed {rerun['changed']}")
        if args.skip_memory:
            return 0
        srv = Server(args.memory_reports, prerender=False)
        try:
            reg = srv.registry(tmp / "registry-mem.yaml")
            t0 = time.perf_counter()
            out = subprocess.run([PY, "-m", "bench.crawl", "--crawl-child", str(reg), str(tmp / "archive-mem"),
                                  str(args.concurrency)], cwd=ROOT, check=True, capture_output=True, text=True)
            mem = json.loads(out.stdout.strip().splitlines()[-1])
            wall = time.perf_counter() - t0
        finally:
            srv.close()
        print(f"\n3. peak memory, portal scaled to {args.memory_reports} report pages (crawler process only):")
        print(f"   peak RSS {mem['peak_rss_mb']:.0f} MB for {mem['documents']} documents, {mem['requests']} requests "
              f"({mem['pages_per_s']:.0f} pages/s, pages rendered on demand; {wall:.0f} s with start-up)   "
              f"target < 300 MB  {'OK' if mem['peak_rss_mb'] < 300 else 'MISSED'}")
        base = subprocess.run([PY, "-c", "import resource, crawler, ogi.config, ogi.registry, httpx, lxml.html;"
                               "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"],
                              cwd=ROOT, check=True, capture_output=True, text=True)
        print(f"   reference: the same process after imports only: {float(base.stdout):.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
