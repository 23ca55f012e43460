"""PDF reports → :class:`~extractors.document.Document`, whoever produced the PDF.

Per page (docs/extraction.md, "PDF", has the measured reasons):

1. **Objects** from pdfium (:mod:`extractors.pdfobjects`; ~10× faster than pdfminer), turned upright
   when the page's text runs sideways (a landscape table typeset on a portrait page).
2. **Text check**: characters pdfium could not map to Unicode (fonts without a usable ToUnicode map),
   private-use code points, U+FFFD, control characters, or a "Chinese" page without one CJK character.
   Such a page is read again with the second text source, pdfminer (pdfplumber's own parser), and kept
   from whichever reads; when neither does, the page is left out and the document says so (finding
   ``text.unmapped_font``; ``Document.unread`` when no page could be read) — never a page of garbage
   or of silently blank cells.
3. **Fake bold**: office suites that fake bold draw each glyph twice at a small offset; the duplicates
   are removed with pdfplumber's ``dedupe_chars`` before words, lines and table cells are read.
4. **Image-only pages** (a scan): an :class:`~extractors.document.Image` ``pdf-page:N`` at the page's
   place among the blocks, so the engine treats it like a 图片版 table image.  A PDF with no text layer
   at all is ``unread`` ("scanned PDF: N image-only pages, no text layer"); when tesseract is installed
   the first pages are OCR'd for the title and section text only (never for numbers or tables).
5. **Headers and footers** (page numbers ``— 4 —``, ``- 4 -``, ``第 3 页 共 9 页``, a running title
   repeated at the same height on most pages) are removed before tables are looked for, so they never
   end up between the rows of a table continued on the next page.
6. **Tables**: ruled grids and tables laid out by word positions only (:mod:`extractors.pdftables`); an
   unruled table that ends one page and starts the next is one table with the columns of both pages.

Every block carries its provenance ``pN:lK`` (page N, line K of that page, counted top to bottom) and
every table row its ``row_locs`` entry.  pdfium is not thread-safe: all of it runs under one lock.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace

from extractors.document import Block, Document, Image, RawTable
from extractors.model import UnreadableInput
from extractors.pdftables import Line, RuledTable, build_table, join_ruled, ruled_tables, segments_of, unruled_tables

MAX_PDF_PAGES = 200
#: scanned documents: at most this many pages are OCR'd (title and the first sections are on them)
OCR_PAGES = 2
OCR_TIMEOUT_S = 60

_LOCK = threading.Lock()
_CJK_SPACE = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])[ \t]+|[ \t]+(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])")
_PAGE_NO = re.compile(
    r"^(?:[-—–－_~·•\s]*\d{1,4}[-—–－_~·•\s]*|第\s*\d+\s*页(?:\s*[,，/、]?\s*共\s*\d+\s*页)?|共\s*\d+\s*页\s*第\s*\d+\s*页"
    r"|\d+\s*/\s*\d+|[Pp]age\s*\d+(?:\s*of\s*\d+)?)$")
_BAND = 0.1  # headers/footers live in the top and bottom tenth of the page


def _clean(text: str) -> str:
    return _CJK_SPACE.sub("", " ".join(text.split()))


# ------------------------------------------------------------------------------------------ text check


def _bad_char(ch: dict) -> bool:
    t = ch["text"]
    if ch.get("unmapped") or t.startswith("(cid:"):
        return True
    o = ord(t[0]) if len(t) == 1 else 0x20
    return (0xE000 <= o <= 0xF8FF or o >= 0xF0000 or o in (0xFFFD, 0xFFFE, 0xFFFF) or (o < 0x20 and o not in (9, 10, 13))
            or 0x80 <= o < 0xA0 or 0xC0 <= o <= 0x24F)


def text_quality(chars: list[dict]) -> tuple[int, int]:
    """(characters that are not text, characters) of a page, spaces not counted.  A page whose text is
    all Latin letters without a single CJK character counts as unreadable too: a font re-encoded to
    ASCII codes (the classic "garbage" copy from a PDF) in a Chinese report."""
    total = bad = cjk = letters = 0
    for ch in chars:
        t = ch["text"]
        if not t.strip():
            continue
        total += 1
        if _bad_char(ch):
            bad += 1
            continue
        o = ord(t[0])
        if 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x2E80 <= o <= 0x2FDF:
            cjk += 1
        elif t.isascii() and t.isalpha():
            letters += 1
    if total >= 40 and cjk == 0 and letters > 0.5 * total:
        bad = total
    return bad, total


def _unreadable(chars: list[dict]) -> float | None:
    """The share of unreadable characters when the page's text cannot be trusted, else None."""
    bad, total = text_quality(chars)
    if total and bad >= 3 and bad > 0.15 * total:
        return bad / total
    return None


# ------------------------------------------------------------------------------------------ pages


@dataclass(slots=True)
class _Page:
    number: int
    width: float
    height: float
    offset: float  # top of the page in document coordinates (pages stacked)
    page: object | None = None  # pdfplumber (derived) page with the objects used
    lines: list[Line] = field(default_factory=list)
    chrome: set[int] = field(default_factory=set)  # indexes of header/footer lines
    ruled: list[RuledTable] = field(default_factory=list)
    in_ruled: set[int] = field(default_factory=set)  # indexes of lines inside ruled tables
    image_only: bool = False
    unreadable: float | None = None  # share of unmapped glyphs when neither text source could read it
    alternate: bool = False  # read with pdfminer because pdfium's text was unreadable
    duplicates: int = 0  # fake-bold glyphs removed
    turned: int = 0


def _parent(number: int, width: float, height: float) -> SimpleNamespace:
    """What pdfplumber's derived pages copy from their parent (no pdfminer page behind it)."""
    box = (0, 0, width, height)
    return SimpleNamespace(root_page=None, pdf=None, page_obj=None, page_number=number, initial_doctop=0,
                           rotation=0, mediabox=box, cropbox=box, bbox=box)


def _has_duplicates(chars: list[dict]) -> bool:
    """Any glyph drawn twice within a point of itself (the cheap test before pdfplumber's dedupe)."""
    seen: set[tuple[str, int, int]] = set()
    for c in chars:
        t = c["text"]
        if not t.strip():
            continue
        x, y = int(c["x0"]), int(c["top"])
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                if (t, x + dx, y + dy) in seen:
                    return True
        seen.add((t, x, y))
    return False


def _image_only(page, chars: list[dict]) -> bool:  # noqa: ANN001
    ink = sum(1 for c in chars if c["text"].strip())
    if ink >= 10:
        return False
    area = page.width * page.height or 1.0
    covered = sum(max(0.0, im["width"]) * max(0.0, im["height"]) for im in page.images)
    return covered >= 0.25 * area


def _read_pages(data: bytes) -> tuple[list[_Page], str | None]:
    import pdfplumber.page  # noqa: F401 - pdfobjects subclasses its pages
    import pypdfium2 as pdfium

    from extractors.pdfobjects import PdfiumPage, page_objects, text_turn

    try:
        pdf = pdfium.PdfDocument(data)
    except Exception as e:  # noqa: BLE001 - PdfiumError and friends on broken files
        raise UnreadableInput(f"unreadable PDF: {type(e).__name__}: {e}") from None
    plumber = None
    try:
        n = len(pdf)
        if n > MAX_PDF_PAGES:
            raise UnreadableInput(f"PDF has {n} pages (cap {MAX_PDF_PAGES})")
        title = (pdf.get_metadata_dict() or {}).get("Title")
        pages: list[_Page] = []
        offset = 0.0
        for i in range(n):
            fpage = pdf[i]
            textpage = fpage.get_textpage()
            rotation = fpage.get_rotation()
            turn = text_turn(textpage.raw, rotation)
            objects, width, height = page_objects(fpage, textpage.raw, rotation, i + 1, turn)
            textpage.close()
            fpage.close()
            page = PdfiumPage(_parent(i + 1, width, height), objects, width, height)
            info = _Page(i + 1, width, height, offset, turned=turn)
            offset += height + 1000.0  # pages far apart: no gap between them is ever "tight"
            share = _unreadable(page.chars)
            if share is not None:
                plumber = plumber or _open_plumber(data)
                alt = plumber.pages[i] if plumber is not None else None
                alt_share = _unreadable(alt.chars) if alt is not None else share
                if alt is not None and alt_share is None:
                    page, info.alternate = alt, True
                else:
                    info.unreadable = min(share, alt_share or share)
            if info.unreadable is None:
                chars = page.chars
                if _has_duplicates(chars):
                    deduped = page.dedupe_chars()
                    info.duplicates = len(chars) - len(deduped.chars)
                    page = deduped
                info.image_only = _image_only(page, page.chars)
            info.page = page
            pages.append(info)
        return pages, title if isinstance(title, str) and title.strip() else None
    finally:
        if plumber is not None:
            plumber.close()
        pdf.close()


def _open_plumber(data: bytes):  # noqa: ANN202
    import pdfplumber

    try:
        return pdfplumber.open(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - pdfium opened it; pdfminer may not
        return None


def _lines(info: _Page) -> None:
    """The page's text lines (numbered top to bottom), its ruled tables and the lines inside them."""
    page = info.page
    info.ruled = ruled_tables(page)
    raw = page.extract_text_lines(return_chars=True)
    raw.sort(key=lambda ln: (round(ln["top"], 1), ln["x0"]))
    for k, ln in enumerate(raw, 1):
        chars = [c for c in ln["chars"] if c["text"].strip()]
        if not chars:
            continue
        size = statistics.median(c.get("size") or 10.0 for c in chars)
        line = Line(info.offset + ln["top"], info.offset + ln["bottom"], size, segments_of(ln["chars"], _clean),
                    _clean(ln["text"]), k, info.number)
        if not line.text:
            continue
        idx = len(info.lines)
        info.lines.append(line)
        cy = (ln["top"] + ln["bottom"]) / 2
        cx = (ln["x0"] + ln["x1"]) / 2
        if any(b[0] - 1 <= cx <= b[2] + 1 and b[1] - 1 <= cy <= b[3] + 1 for b in (t.bbox for t in info.ruled)):
            info.in_ruled.add(idx)


def _mark_chrome(pages: list[_Page]) -> None:
    """Page numbers and running headers/footers in the top and bottom bands of the pages."""
    groups: dict[str, list[tuple[_Page, int, float]]] = {}
    for p in pages:
        for idx, ln in enumerate(p.lines):
            if idx in p.in_ruled:
                continue
            top, bottom = ln.top - p.offset, ln.bottom - p.offset
            if bottom > _BAND * p.height and top < (1 - _BAND) * p.height:
                continue
            if _PAGE_NO.match(ln.text) and len(ln.segments) <= 3:
                p.chrome.add(idx)
                continue
            key = ("T" if top < _BAND * p.height else "B") + re.sub(r"\d+", "#", ln.text)
            groups.setdefault(key, []).append((p, idx, top))
        _mark_side_chrome(p)
    n = len([p for p in pages if p.lines])
    for occurrences in groups.values():
        distinct = {p.number for p, _, _ in occurrences}
        if len(distinct) < 2 or len(distinct) < 0.5 * n:
            continue
        ref = statistics.median(top for _, _, top in occurrences)
        for p, idx, top in occurrences:
            if abs(top - ref) <= 4:
                p.chrome.add(idx)


def _mark_side_chrome(p: _Page) -> None:
    """A page number drawn before the page was turned (a table printed sideways on a portrait page) runs
    along a side of the turned page: one or two glyphs per line, stacked at the same x in a side band."""
    side: dict[int, list[int]] = {}
    for idx, ln in enumerate(p.lines):
        if idx in p.in_ruled or idx in p.chrome or len(ln.segments) != 1 or len(ln.text) > 2:
            continue
        x0 = ln.segments[0].x0
        if ln.x1 < _BAND * p.width or x0 > (1 - _BAND) * p.width:
            side.setdefault(round(x0 / 3), []).append(idx)
    for column in side.values():
        run: list[int] = []
        for idx in sorted(column, key=lambda i: p.lines[i].top) + [-1]:
            if idx >= 0 and run and p.lines[idx].top - p.lines[run[-1]].bottom <= 2 * p.lines[idx].size:
                run.append(idx)
                continue
            text = "".join(p.lines[i].text for i in run)
            if run and (_PAGE_NO.match(text) or _PAGE_NO.match(text[::-1])):
                p.chrome.update(run)
            run = [idx]


# ------------------------------------------------------------------------------------------ assembly


@dataclass(slots=True)
class _Item:
    top: float
    kind: str  # "table" | "text" | "image"
    text: str = ""
    grid: list[list[str | None]] | None = None
    row_locs: list[str] | None = None
    source: str = "pdf"
    loc: str | None = None
    cols: list[tuple[float, float]] | None = None
    lines: list[Line] | None = None
    ruled: RuledTable | None = None


def _page_items(info: _Page, continuing: bool) -> list[_Item]:
    items: list[_Item] = []
    n = info.number
    for t in info.ruled:
        t.rows = [[None if c is None else _clean(c) for c in row] for row in t.rows]
        locs = [f"p{n}:l{_line_at(info, top)}" for top in t.row_tops]
        items.append(_Item(info.offset + t.bbox[1], "table", grid=t.rows, row_locs=locs, ruled=t))
    free = [ln for idx, ln in enumerate(info.lines) if idx not in info.chrome and idx not in info.in_ruled]
    used: set[int] = set()
    for ut in unruled_tables(free, continuing):
        used.update(range(ut.first, ut.last))
        items.append(_Item(free[ut.first].top, "table", grid=ut.grid, row_locs=[ln.loc for ln in ut.row_lines],
                           source="pdf-unruled", cols=ut.columns, lines=free[ut.first:ut.last]))
    for k, ln in enumerate(free):
        if k not in used:
            items.append(_Item(ln.top, "text", text=ln.text, loc=ln.loc))
    items.sort(key=lambda it: (it.top, it.kind == "text"))
    return items


def _line_at(info: _Page, top: float) -> int:
    for ln in info.lines:
        if (ln.top + ln.bottom) / 2 - info.offset >= top - 1:
            return ln.number
    return info.lines[-1].number if info.lines else 1


def _join(prev: _Item, nxt: _Item) -> bool:
    """Merge a table that opens a page into the one that closed the previous page."""
    if prev.ruled is not None and nxt.ruled is not None:
        joined = join_ruled(prev.ruled, nxt.ruled)
        if joined is None:
            return False
        prev.ruled, merged = joined
        prev.grid, prev.row_locs = prev.ruled.rows, (prev.row_locs or []) + (nxt.row_locs or [])[merged:]
        return True
    if prev.cols is None or nxt.cols is None or prev.lines is None or nxt.lines is None:
        return False
    # an unruled table: one table with the columns of both pages (a column with no value on one page is still
    # there), the pages' lines stacked
    overlap = sum(1 for a, b in nxt.cols if any(a <= d + 1 and b >= c - 1 for c, d in prev.cols))
    if overlap < 0.5 * len(nxt.cols):
        return False
    # a page that opens with a label-only line continues the row the previous page ended in (its gap becomes
    # the smallest line spacing); one that opens with values starts a new row (a gap no wrapped cell has)
    gaps = sorted(b.top - a.bottom for a, b in zip(prev.lines, prev.lines[1:]) if b.top > a.bottom)
    first = nxt.lines[0]
    gap = (gaps[0] if gaps else 0.0) if first.values == 0 and len(first.segments) == 1 else 4 * first.size
    shift = first.top - prev.lines[-1].bottom - gap
    moved = [replace(ln, top=ln.top - shift, bottom=ln.bottom - shift) for ln in nxt.lines]
    built = build_table(prev.lines + moved, prev.cols)
    if built is None:
        return False
    grid, row_lines, cols = built
    prev.grid, prev.row_locs, prev.cols, prev.lines = grid, [ln.loc for ln in row_lines], cols, prev.lines + moved
    return True


def _assemble(pages: list[_Page]) -> list[tuple[_Page, list[_Item]]]:
    """Each page's items in reading order; a table continued across a page break joined into one."""
    out: list[tuple[_Page, list[_Item]]] = []
    open_table: _Item | None = None  # a table that is the last item of the previous page
    for p in pages:
        if p.image_only or p.unreadable is not None:
            out.append((p, []))
            open_table = None
            continue
        items = _page_items(p, continuing=open_table is not None and open_table.lines is not None)
        while items and open_table is not None and items[0].kind == "table" and _join(open_table, items[0]):
            items = items[1:]  # (a one-page middle part of a table over three pages joins too)
            if items:
                break
        if items:
            open_table = items[-1] if items[-1].kind == "table" else None
        out.append((p, items))
    return out


def read_pdf(data: bytes) -> Document:
    try:
        with _LOCK:
            pages, title = _read_pages(data)
            for p in pages:
                if p.unreadable is None and not p.image_only:
                    _lines(p)
    except UnreadableInput:
        raise
    except Exception as e:  # noqa: BLE001 - the PDF libraries raise many types on broken files
        raise UnreadableInput(f"unreadable PDF: {type(e).__name__}: {e}") from None
    _mark_chrome(pages)
    doc = Document(is_html=False)
    if title:
        doc.title_candidates.append(title.strip())
    ocr = _ocr(doc, data, len(pages)) if pages and all(p.image_only for p in pages) else {}
    for p, items in _assemble(pages):
        if p.image_only:
            doc.blocks += ocr.get(p.number, [])
            doc.images.append(Image(f"pdf-page:{p.number}", "", len(doc.blocks)))
        for it in items:
            if it.kind == "table":
                idx = len(doc.tables)
                grid = it.grid or []
                width = max((len(r) for r in grid), default=0)
                doc.tables.append(RawTable(idx, [list(r) + [None] * (width - len(r)) for r in grid], it.source, it.row_locs))
                doc.blocks.append(Block("", table=idx, loc=(it.row_locs or [None])[0]))
            else:
                doc.blocks.append(Block(it.text, loc=it.loc))
    _notes(doc, pages)
    _pdf_title(doc)
    return doc


def _ranges(numbers: list[int]) -> str:
    out: list[str] = []
    for n in numbers:
        if out and "-" not in out[-1] and int(out[-1]) == n - 1:
            out[-1] = f"{out[-1]}-{n}"
        elif out and "-" in out[-1] and int(out[-1].split("-")[1]) == n - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def _notes(doc: Document, pages: list[_Page]) -> None:
    n = len(pages)
    images = [p.number for p in pages if p.image_only]
    unreadable = [p for p in pages if p.unreadable is not None]
    alternate = [p.number for p in pages if p.alternate]
    duplicates = sum(p.duplicates for p in pages)
    if duplicates:
        doc.notes.append(("pdf.fake_bold", f"{duplicates} glyphs drawn twice (fake bold) on page(s) "
                          f"{_ranges([p.number for p in pages if p.duplicates])}: duplicates removed before reading"))
    if alternate:
        doc.notes.append(("text.alternate_source", f"page(s) {_ranges(alternate)}: pdfium could not map the fonts to "
                          "Unicode; read with pdfminer instead"))
    if unreadable:
        worst = max(p.unreadable or 0 for p in unreadable)
        doc.notes.append(("text.unmapped_font", f"page(s) {_ranges([p.number for p in unreadable])} of {n}: the text "
                          f"cannot be read (fonts without a usable ToUnicode map: up to {worst:.0%} unmapped, "
                          "private-use or garbage characters; neither pdfium nor pdfminer reads them); those pages are left out"))
    if images and len(images) < n:
        doc.notes.append(("pdf.image_page", f"page(s) {_ranges(images)} of {n} are images only (scanned): their content "
                          "is not read"))
    readable = [p for p in pages if not p.image_only and p.unreadable is None and any(
        i not in p.chrome for i in range(len(p.lines)))]
    if readable:
        return
    if images and len(images) == n:
        doc.unread = f"scanned PDF: {n} image-only pages, no text layer"
        doc.notes.append(("pdf.scanned", doc.unread))
    elif unreadable:
        doc.unread = (f"PDF text not readable: {len(unreadable)} of {n} pages use fonts without a usable ToUnicode map "
                      "(neither pdfium nor pdfminer maps their glyphs to characters)")
    elif images:
        doc.unread = f"PDF without readable text: {len(images)} image-only pages"


# ------------------------------------------------------------------------------------------ OCR (optional)


def _ocr(doc: Document, data: bytes, n: int) -> dict[int, list[Block]]:
    """Title and section text of a scanned PDF from tesseract (chi_sim), first OCR_PAGES pages only: the
    blocks of each page OCR'd.

    Text only: OCR'd lines become blocks; no table is ever built from them (an OCR'd number is not a
    number we would publish), and the document stays ``unread``."""
    exe = shutil.which("tesseract")
    if exe is None:
        doc.notes.append(("ocr.unavailable", "tesseract is not installed: the scanned pages were not OCR'd "
                          "(install tesseract-ocr and tesseract-ocr-chi-sim, scripts/setup-system)"))
        return {}
    import pypdfium2 as pdfium

    out: dict[int, list[Block]] = {}
    todo = min(n, OCR_PAGES)
    with tempfile.TemporaryDirectory(prefix="ogi-ocr-") as tmp:
        with _LOCK:
            pdf = pdfium.PdfDocument(data)
            try:
                for i in range(todo):
                    page = pdf[i]
                    page.render(scale=200 / 72, grayscale=True).to_pil().save(Path(tmp) / f"p{i + 1}.png")
                    page.close()
            finally:
                pdf.close()
        for i in range(todo):
            try:
                # one thread: tesseract's OpenMP threads fight over a shared machine's cores (1.9 s vs 16 s a page)
                run = subprocess.run([exe, str(Path(tmp) / f"p{i + 1}.png"), "stdout", "-l", "chi_sim", "--psm", "6"],
                                     capture_output=True, timeout=OCR_TIMEOUT_S, check=False,
                                     env={**os.environ, "OMP_THREAD_LIMIT": "1"})
            except (OSError, subprocess.TimeoutExpired) as e:
                doc.notes.append(("ocr.unavailable", f"tesseract failed on page {i + 1}: {type(e).__name__}"))
                break
            if run.returncode != 0:
                msg = run.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
                doc.notes.append(("ocr.unavailable", f"tesseract failed on page {i + 1}: {msg[0][:200]}"))
                break
            lines = [_clean(x) for x in run.stdout.decode("utf-8", "replace").splitlines()]
            out[i + 1] = [Block(t, loc=f"p{i + 1}:ocr{k}") for k, t in enumerate(lines, 1) if t]
    if out:
        doc.notes.append(("ocr.text", f"page(s) {_ranges(sorted(out))} of {n} read by OCR (tesseract chi_sim) for the title "
                          "and section text only; tables and numbers are not read from images"))
    return out


def _pdf_title(doc: Document) -> None:
    """The title is often printed over two lines ("洪泽区人民政府" / "2023年政府信息公开工作年度报告")."""
    texts = [(i, b.text) for i, b in enumerate(doc.blocks[:6]) if b.table is None]
    for k, (i, t) in enumerate(texts):
        if re.search(r"年度?报告", t):
            title = t
            if k > 0 and len(texts[k - 1][1]) <= 30 and not re.search(r"[。，,]", texts[k - 1][1]) and re.match(r"^\d{4}", t):
                title = texts[k - 1][1] + t
            doc.title_candidates.insert(0, title)
            doc.blocks[i].heading = True
            return
