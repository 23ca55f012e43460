"""Synthetic reports and runs for the warehouse tests and ``bench/load`` (no extractor needed).

Reports are built from :data:`extractors.formats.TABLES`, so every key is a real canonical key and
table 三 satisfies the official arithmetic (一+二 = 三(七)总计 + 四, per column; 总计 = the six
applicant columns), unless a test asks for it to be broken.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterable

from crawler.types import CrawledDocument, FetchRecord, PortalCrawl
from extractors.formats import SECTIONS, TABLES
from extractors.model import Fact, Finding, Report, Section
from ogi.registry import Portal
from warehouse.inputs import DocumentInput, RunInput

_PHRASES = (
    "坚持以习近平新时代中国特色社会主义思想为指导", "全面贯彻落实政府信息公开条例", "深化政务公开",
    "加强政策解读", "回应社会关切", "规范依申请公开办理", "完善政府信息管理", "强化平台建设",
    "推进基层政务公开标准化规范化", "主动公开各类信息", "做好重点领域信息公开", "加强监督保障",
    "开展业务培训", "严格保密审查", "优化政府网站栏目", "及时更新公开内容", "提升公开质量",
    "依法依规答复申请人", "畅通申请渠道", "落实责任分工", "公开意识有待提升", "公开内容不够全面",
)


def portal(pid: str = "henan-zhoukou-fugou", county: str = "扶沟县", province: str = "河南省") -> Portal:
    return Portal(
        id=pid,
        name=f"{county}人民政府",
        start_urls=(f"http://{pid}.example.gov.cn/zfxxgknb/",),
        allowed_hosts=(f"{pid}.example.gov.cn",),
        division_code="411621",
        province=province,
        city="周口市",
        county=county,
    )


def _t3_values(rng: random.Random, template: str, carried_over: dict[str, int] | None) -> dict[tuple[str, str], int]:
    spec = TABLES[template]["t3"]
    rows = spec.row_keys()
    handling = [r for r in rows if r not in ("new_received", "carried_over", "total_handled", "carried_forward")]
    cols = [c.key for c in spec.blocks[0].cols if c.key != "total"]
    v: dict[tuple[str, str], int] = {}
    for c in cols:
        for r in handling:
            v[(r, c)] = rng.choice((0, 0, 0, 0, 1, 2, 5)) if c == "natural_person" else rng.choice((0, 0, 0, 0, 0, 1))
        handled = sum(v[(r, c)] for r in handling)
        v[("total_handled", c)] = handled
        v[("carried_forward", c)] = rng.choice((0, 0, 1, 2))
        co = (carried_over or {}).get(c, rng.choice((0, 0, 1)))
        co = min(co, handled + v[("carried_forward", c)])
        v[("carried_over", c)] = co
        v[("new_received", c)] = handled + v[("carried_forward", c)] - co
    for r in rows:
        v[(r, "total")] = sum(v[(r, c)] for c in cols)
    return v


def make_report(
    *,
    year: int = 2020,
    template: str | None = None,
    agency: str = "扶沟县财政局",
    seed: int = 0,
    title: str | None = None,
    published: dt.date | None = None,
    text: str | None = None,
    carried_over: dict[str, int] | None = None,
    new_received_total: int | None = None,
    malformed: bool = False,
    with_t2: bool = True,
) -> Report:
    """A well-formed 2019- or 2021-format report (template chosen from the year unless given)."""
    template = template or ("2019" if year < 2021 else "2021")
    rng = random.Random(f"{seed}-{agency}-{year}")
    facts: list[Fact] = []
    t3 = _t3_values(rng, template, carried_over)
    if new_received_total is not None:
        # Scale the natural-person column so the total hits the requested number (arithmetic kept).
        delta = new_received_total - t3[("new_received", "total")]
        for r in ("new_received", "granted", "total_handled"):
            t3[(r, "natural_person")] += delta
            t3[(r, "total")] += delta
    t3_spec = TABLES[template]["t3"]
    for gi, (r, c) in enumerate(t3_spec.cells()):
        val = t3[(r, c)]
        facts.append(Fact("t3", r, c, val, str(val), 2, 3 + gi // 7, 2 + gi % 7))
    for gi, (r, c) in enumerate(TABLES[template]["t4"].cells()):
        val = rng.choice((0, 0, 0, 1))
        facts.append(Fact("t4", r, c, val, str(val) if val else "", 3, 3 + gi // 5, gi % 5, implicit_zero=not val))
    if with_t2:
        for gi, (r, c) in enumerate(TABLES[template]["t2"].cells()):
            val: float | int = round(rng.uniform(0, 50), 2) if c == "amount_10k_yuan" else rng.randint(0, 40)
            facts.append(Fact("t2", r, c, val, str(val), 1, 2 + gi // 3, 1 + gi % 3))
    findings: list[Finding] = []
    if malformed:
        facts = [
            Fact(f.table, f.row, f.col, (f.value or 0) + 7, str((f.value or 0) + 7), f.table_index, f.grid_row, f.grid_col)
            if (f.table, f.row, f.col) == ("t3", "granted", "total")
            else f
            for f in facts
        ]
        findings.append(
            Finding("t3.row_total", "error", "总计 ≠ sum of the applicant columns (予以公开)", 1.0, 8.0, "t3", "granted", "total")
        )
    if text is None:
        text = "".join(rng.choice(_PHRASES) + "，" for _ in range(60))
    chunk = max(1, len(text) // 6)
    sections = [
        Section(s.number, f"{'一二三四五六'[s.number - 1]}、{s.heading}", text[(s.number - 1) * chunk : s.number * chunk])
        for s in SECTIONS
    ]
    return Report(
        is_report=True,
        title=title or f"{agency}{year}年政府信息公开工作年度报告",
        agency=agency,
        year=year,
        published=published if published is not None else dt.date(year + 1, 1, 15),
        template=template,
        sections=sections,
        facts=facts,
        findings=findings,
        text=text,
    )


def not_a_report(reason: str = "list page, not a report") -> Report:
    return Report(is_report=False, reason=reason, title="政务公开")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def document(
    report: Report | None,
    url: str,
    *,
    portal_id: str = "henan-zhoukou-fugou",
    status: str = "new",
    error: str | None = None,
    fetched_at: dt.datetime | None = None,
) -> DocumentInput:
    body = report.content_hash() if report is not None else (error or "") + url
    return DocumentInput(
        portal_id=portal_id,
        url=url,
        sha256=sha(body),
        fetched_at=fetched_at or dt.datetime(2024, 2, 1, 2, 0, tzinfo=dt.timezone.utc),
        crawl_status=status,  # type: ignore[arg-type]
        report=report,
        error=error,
        link_text=report.title if report else None,
    )


def run_input(
    run_id: str,
    documents: Iterable[DocumentInput],
    *,
    portals: list[Portal] | None = None,
    as_of: dt.date = dt.date(2024, 6, 1),
    listing_complete: bool = True,
    ok: bool | dict[str, bool] = True,
    mode: str = "nightly",
    started_at: dt.datetime | None = None,
) -> RunInput:
    """A RunInput whose crawls list every document (so unlisted URLs may be judged withdrawn)."""
    docs = list(documents)
    portals = portals or [portal()]
    started = started_at or dt.datetime(2024, 2, 1, 2, 0, tzinfo=dt.timezone.utc)
    crawls = []
    for p in portals:
        p_ok = ok.get(p.id, True) if isinstance(ok, dict) else ok
        mine = [d for d in docs if d.portal_id == p.id]
        crawls.append(
            PortalCrawl(
                portal_id=p.id,
                ok=p_ok,
                listing_complete=listing_complete and p_ok,
                error=None if p_ok else "connect: connection refused",
                documents=[
                    CrawledDocument(p.id, d.url, "report_page", d.sha256, d.fetched_at, d.crawl_status) for d in mine
                ]
                if p_ok
                else [],
                fetches=[
                    FetchRecord(p.id, p.start_urls[0], started, "list", 200 if p_ok else None, bytes=1000 if p_ok else 0,
                                error=None if p_ok else "connect: refused")
                ]
                + [FetchRecord(p.id, d.url, d.fetched_at, "report_page", 200, d.sha256, 60000) for d in mine],
                requests=1 + len(mine),
            )
        )
    return RunInput(run_id=run_id, started_at=started, portals=portals, crawls=crawls, documents=docs, as_of=as_of, mode=mode)


#: Tables whose content defines "the state" for idempotency checks (runs/fetch_log are per-run logs).
STATE_TABLES = (
    "reports",
    "report_revisions",
    "sections",
    "facts",
    "findings",
    "documents",
    "alerts",
    "coverage_findings",
    "text_similarity",
    "portals",
)


def state_digest(con) -> dict[str, tuple[int, str]]:
    """(row count, order-independent content hash) per state table: equal digests = same state."""
    out = {}
    for t in STATE_TABLES:
        n, h = con.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0)::VARCHAR FROM {t} t").fetchone()
        out[t] = (int(n), str(h))
    return out


def baseline_run(wh, *, portals: list[Portal] | None = None, as_of: dt.date = dt.date(2020, 1, 1),
                 run_id: str = "r0") -> None:
    """An earlier, empty successful run of the portals: what follows is no longer their first run (baseline), so
    it alerts new / malformed / late / missing reports one by one (see ``warehouse.load._baseline_alerts``)."""
    from warehouse.load import load_run

    load_run(wh, run_input(run_id, [], portals=portals, as_of=as_of,
                           started_at=dt.datetime(as_of.year, as_of.month, as_of.day, 2, 0, tzinfo=dt.timezone.utc)))
