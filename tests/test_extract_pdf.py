"""PDFs from other producers (issue 9): LibreOffice, fake bold, unruled tables, tables over two pages, rotated
pages, fonts without ToUnicode, scans.

Each fixture in ``tests/fixtures/fidelity/pdf/`` is one report printed by one producer of
``tests/producers/pdf.py``; its ``.json`` holds the values the report was printed from (every t2/t3/t4 cell)
and the status and findings the case is about.  A readable PDF must give exactly the facts of the same report
as Word-export HTML; an unreadable one must say so (``not_parsed`` with its reason), never ``ok`` without facts.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path

import pytest

from extractors import extract
from producers.pdf import PRODUCERS, strip_tounicode
from sample_portal.reportgen import ReportSpec, render_body

HERE = Path(__file__).parent / "fixtures" / "fidelity" / "pdf"
CASES = sorted(HERE.glob("*.pdf"))
sys.path.insert(0, str(HERE))
import _generate  # noqa: E402 - the fixtures' generator (its CASES say how each was made)

_PAGE_NO = re.compile(r"^[-—–\s]*\d{1,3}[-—–\s]*$|^第\s*\d+\s*页")


def _exp(path: Path) -> dict:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def _want(exp: dict) -> dict:
    return {(t, row, col): v for t in ("t2", "t3", "t4") for row, cols in (exp[t] or {}).items() for col, v in cols.items()}


_READ: dict[str, object] = {}


def _read(path: Path):
    if path.name not in _READ:  # the scanned fixture is OCR'd: read each file once per session
        _READ[path.name] = extract(path.read_bytes(), filename=path.name)
    return _READ[path.name]


def test_every_producer_has_a_fixture() -> None:
    kinds = {_exp(p)["kind"] for p in CASES}
    assert kinds == set(PRODUCERS), set(PRODUCERS) ^ kinds
    assert all(p.with_suffix(".json").exists() for p in CASES)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_pdf_fixture(path: Path) -> None:
    exp = _exp(path)
    r = _read(path)
    assert r.is_report is exp["is_report"], r.reason
    assert r.status == exp["status"], (r.status, [f.rule for f in r.findings], r.unread)
    assert r.year == exp["year"]
    got = {k: v for k, v in r.fact_map().items()}
    want = _want(exp)
    diff = sorted(set(got.items()) ^ set(want.items()), key=str)
    assert got == want, f"{len(diff)} cells differ: {diff[:8]}"
    rules = sorted({f.rule for f in r.findings})
    if exp["ocr"]:
        # OCR'd text is not exact: the title, sections and template it gives are not asserted, only that it is
        # the report and that nothing was read as a number
        assert set(exp["findings"]) <= set(rules), rules
        assert "年政府信息公开工作年度报告" in r.title and not r.tables
    else:
        assert rules == exp["findings"], [f.message for f in r.findings]
        assert r.title == exp["title"]
        assert r.template == exp["template"]
        assert [s.number for s in r.sections] == exp["sections"], [(s.number, s.heading) for s in r.sections]
        assert r.agency == exp["agency"]
    if exp["unread_contains"]:
        assert r.unread and exp["unread_contains"] in r.unread, r.unread
    else:
        assert r.unread is None
    if r.status == "ok":
        assert any(f.table == "t3" for f in r.facts)  # never an ok report without table 三


READABLE = [p for p in CASES if _exp(p)["status"] == "ok"]


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.stem)
def test_same_facts_as_the_word_export_html(path: Path) -> None:
    """The report printed as PDF and the same report as the portal's Word-export HTML give the same facts."""
    exp = _exp(path)
    spec = ReportSpec(**exp["spec"])
    html = f"<html><head><title>{spec.title}</title></head><body>{render_body(spec)}</body></html>"
    from_html = extract(html.encode("utf-8"))
    assert from_html.fact_map() == _read(path).fact_map()


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.stem)
def test_every_block_and_row_has_its_page_and_line(path: Path) -> None:
    from extractors.pdfdoc import read_pdf

    doc = read_pdf(path.read_bytes())
    for b in doc.blocks:
        assert b.loc and re.fullmatch(r"p\d+:l\d+", b.loc), b
    for t in doc.tables:
        assert t.source in ("pdf", "pdf-unruled") and t.row_locs and len(t.row_locs) == len(t.grid)
        assert all(re.fullmatch(r"p\d+:l\d+", loc) for loc in t.row_locs)
        pages = [int(loc[1:].split(":")[0]) for loc in t.row_locs]
        assert pages == sorted(pages)  # a table continued overleaf: its rows in page order
    # page furniture never reaches the text nor a table continued overleaf: no page number, no second copy
    # of a running title
    title = _exp(path)["title"]
    texts = [b.text for b in doc.blocks if b.table is None]
    assert not [t for t in texts if _PAGE_NO.match(t)]
    assert texts.count(title) <= 1
    for t in doc.tables:
        for row in t.grid:
            cells = [c.strip() for c in row if c and c.strip()]
            # "- 4 -" / "第 3 页" in a cell, or a row holding only a number (a footer taken for a table row)
            assert not [c for c in cells if c == title or _PAGE_NO.match(c) and not re.fullmatch(r"-?\d+", c)], row
            assert not (len(cells) == 1 and cells[0].isdigit()), row


def test_table_three_over_three_pages_is_one_table_with_a_broken_row_put_back() -> None:
    """LibreOffice breaks table 三 over three pages and splits a row at the page break ("5.要求行" | its
    numbers, then "政机关确认或重新出具已获取信息" on the next page): one table, and the row keeps its numbers."""
    from extractors.pdfdoc import read_pdf

    path = HERE / "libreoffice-2021.pdf"
    doc = read_pdf(path.read_bytes())
    t3 = [t for t in doc.tables if any("本年新收" in (c or "") for row in t.grid for c in row)]
    assert len(t3) == 1
    pages = {loc.split(":")[0] for loc in t3[0].row_locs}
    assert len(pages) >= 2
    row = next(r for r in t3[0].grid if any("确认或重新出具" in (c or "") for c in r))
    assert any("5.要求行" in (c or "") for c in row)
    exp = _exp(path)
    assert _read(path).fact("t3", "rejected_confirmation", "total").value == exp["t3"]["rejected_confirmation"]["total"]


def test_unruled_table_cells_come_from_their_columns() -> None:
    """Blank zero cells in a table without rules: each value lands under its own column (a blank stays a 0)."""
    path = HERE / "unruled-2019.pdf"
    r = _read(path)
    t3 = next(t for t in r.tables if t.kind == "t3")
    assert t3.source == "pdf-unruled" and len(t3.grid[0]) == 8  # the label and the seven value columns
    blanks = [f for f in r.facts if f.table == "t3" and f.implicit_zero]
    assert blanks and all(f.value == 0 and f.raw == "" for f in blanks)


def test_fake_bold_is_deduplicated_in_text_and_table_cells() -> None:
    """pdfminer reads the fake-bold print doubled (扶扶沟沟县县…, 2244 for 24); the reader's text and table
    cells are single, and it says so."""
    import pdfplumber

    path = HERE / "fakebold-2021.pdf"
    with pdfplumber.open(path) as pdf:
        assert "扶扶沟沟县县" in pdf.pages[0].extract_text()
    r = _read(path)
    assert r.title.startswith("扶沟县人民政府")
    assert any(f.rule == "pdf.fake_bold" and f.severity == "info" for f in r.findings)
    exp = _exp(path)
    for t in r.tables:
        for row in t.grid:
            for cell in row:
                assert not re.search(r"(.)\1(.)\2(.)\3", cell or ""), cell  # no ABC → AABBCC anywhere
    assert r.fact("t3", "new_received", "total").raw == str(exp["t3"]["new_received"]["total"])


def test_font_without_tounicode_is_an_unread_report_not_an_empty_ok_one() -> None:
    r = _read(HERE / "no-tounicode-2021.pdf")
    assert r.is_report and r.status == "not_parsed" and r.facts == []
    f = next(f for f in r.findings if f.rule == "text.unmapped_font")
    assert f.severity == "error" and "ToUnicode" in f.message


def test_stripping_tounicode_keeps_the_file_valid() -> None:
    data = (HERE / "libreoffice-2021.pdf").read_bytes()
    stripped = strip_tounicode(data)
    assert len(stripped) == len(data) and b"/ToUnicode" in data and b"/ToUnicode" not in stripped


def test_scanned_page_is_an_image_where_its_table_was() -> None:
    """Table 三's page is a scan: that page is an image in its place, the text pages are still read (tables
    二/四), and the report is not_parsed because its table 三 could not be read."""
    from producers.pdf import _reportlab, _t3_page

    spec = ReportSpec(**_exp(HERE / "scanned-page-2019.pdf")["spec"])
    r = _read(HERE / "scanned-page-2019.pdf")
    assert r.images == [f"pdf-page:{_t3_page(_reportlab(spec, t3_page=True))}"]
    assert not any(f.table == "t3" for f in r.facts) and any(f.table == "t4" for f in r.facts)
    assert {f.rule for f in r.findings} >= {"pdf.image_page", "table.image"}
    assert r.status == "not_parsed" and "only as images" in r.unread


def test_scanned_pdf_without_tesseract_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No OCR installed: a clear finding-level reason, never a crash or a silent empty report."""
    monkeypatch.setenv("PATH", str(tmp_path))
    r = extract((HERE / "scanned-2020.pdf").read_bytes(), filename="scan.pdf")
    assert r.status == "not_parsed" and r.facts == []
    assert "scanned PDF: 2 image-only pages, no text layer" in (r.reason or r.unread or "")


@pytest.mark.parametrize("name", [n for n, (k, _, _) in _generate.CASES.items() if k in
                                  ("pdf-fakebold", "pdf-unruled", "pdf-two-page", "pdf-rotated", "pdf-scanned-page",
                                   "pdf-libreoffice-unruled")])
def test_fixture_regenerates(name: str) -> None:
    """Running the producer again gives the same facts (reportlab prints: the same bytes)."""
    data = _generate.generate(name)
    path = HERE / f"{name}.pdf"
    kind = _generate.CASES[name][0]
    if kind in ("pdf-fakebold", "pdf-unruled", "pdf-two-page", "pdf-rotated"):
        assert data == path.read_bytes()
    again = extract(data, filename=path.name)
    assert again.fact_map() == _read(path).fact_map() and again.status == _read(path).status


def test_pdfs_read_in_threads_read_the_same() -> None:
    """pdfium is not thread-safe: the reader serialises it (the nightly flow extracts in a thread pool)."""
    paths = [HERE / "fakebold-2021.pdf", HERE / "unruled-2019.pdf", HERE / "two-page-2019.pdf"]
    want = {p.name: _read(p).fact_map() for p in paths}
    got: list[tuple[str, dict]] = []
    errors: list[BaseException] = []

    def work(p: Path) -> None:
        try:
            got.append((p.name, extract(p.read_bytes(), filename=p.name).fact_map()))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(p,)) for p in paths * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(got) == 9
    assert all(facts == want[name] for name, facts in got)
