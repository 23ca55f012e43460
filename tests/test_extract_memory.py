"""Extraction holds nothing per page after it returns: a run of 10,000 pages must not grow with the pages.

The label normaliser is memoised (labels and cell strings repeat from page to page), but a whole table's or
row's text carries that page's numbers: memoising those kept ~50 MB of texts alive over a 10,000-page run
(``python -m bench.memory``).  Measured here as the memo's size, not as time or RSS.
"""

from __future__ import annotations

from extractors import extract
from extractors.tables import _grid_text, normalise_label
from sample_portal import site


def _pages(n: int) -> list[bytes]:
    out = []
    for p in site.build_portals(n):
        for e in p.entries:
            if e.kind == "report" and not e.attachment and len(out) < n:
                out.append(site.detail_page(p, e).encode("utf-8"))
    return out


def test_whole_table_text_is_not_memoised():
    grid = [["一、本年新收政府信息公开申请数量", "1234567"], ["二、上年结转政府信息公开申请数量", "7654321"]]
    before = normalise_label.cache_info().currsize
    assert _grid_text(grid) == "一、本年新收政府信息公开申请数量1234567二、上年结转政府信息公开申请数量7654321"
    assert normalise_label.cache_info().currsize == before


def test_the_label_memo_does_not_grow_with_the_pages_extracted():
    pages = _pages(40)
    assert len(pages) >= 30
    for data in pages[:10]:  # warm: every label and cell string of the format seen once
        extract(data, url="http://x.gov.cn/a.html")
    warm = normalise_label.cache_info().currsize
    reports = [extract(data, url="http://x.gov.cn/a.html") for data in pages[10:]]
    assert sum(len(r.facts) for r in reports) > 1000  # real reports, with their tables read
    grown = normalise_label.cache_info().currsize - warm
    # new cell values (numbers) still come in, ~5 per page; with whole table and row texts it was ~15 per page,
    # and those are the long ones
    assert grown < 8 * len(reports), grown
