"""Real attachment files for the sample portal: a PDF, a DOCX and a PNG, made in memory.

Many counties publish the report only as an attachment (the detail page just links a file), so the
portal must serve real files that carry the *whole* report — the six sections and the official
tables 二/三/四 — or the extractor rightly flags them as malformed.  Both writers take the report as
:mod:`sample_portal.reportdoc` blocks (paragraph texts and tables with merged cells).

The PDF is written by hand (no reportlab here): text in the standard CJK font ``STSong-Light`` with
the ``UniGB-UCS2-H`` encoding, which every PDF reader and pdfminer/pdfplumber map back to Unicode
without embedding a font (every glyph is 1 em wide, so layout is simple arithmetic).  Tables are
ruled: each (merged) cell is one stroked rectangle, which is what pdfplumber's ``find_tables`` needs;
a merged cell comes back as one value plus ``None`` continuation cells, as in real Word-exported PDFs.
The DOCX uses real Word tables (python-docx) with ``gridSpan``/``vMerge`` merges for the group labels.
Output is deterministic: same blocks, same bytes.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from sample_portal.reportdoc import Block, SpanTable

PAGE_W, PAGE_H = 595, 842  # A4 in points
MARGIN = 50
TEXT_SIZE, TEXT_LEAD = 10.5, 16.0
TITLE_SIZE = 14.0
CELL_SIZE, CELL_LEAD, CELL_PAD = 7.0, 9.0, 2.0


def _hex(s: str) -> str:
    return s.encode("utf-16-be").hex().upper()


def _wrap(text: str, per_line: int) -> list[str]:
    per_line = max(1, per_line)
    return [text[i : i + per_line] for i in range(0, len(text), per_line)] or [""]


@dataclass
class _TableLayout:
    widths: list[float]
    heights: list[float]


def _layout(t: SpanTable, avail: float) -> _TableLayout:
    """Column widths from the longest single-column text (long labels get the spare room), row heights from wrapping."""
    want = [CELL_SIZE * 4 + 2 * CELL_PAD] * t.n_cols  # room for a 4-digit number or 其他/总计
    for c in t.cells:
        if c.colspan == 1:
            want[c.col] = max(want[c.col], len(c.text) * CELL_SIZE + 2 * CELL_PAD)
    base = [min(w, 6 * CELL_SIZE + 2 * CELL_PAD) for w in want]
    if sum(want) <= avail:
        widths = want
    else:
        spare = avail - sum(base)
        extra = [w - b for w, b in zip(want, base)]
        widths = [b + spare * e / sum(extra) if sum(extra) else b for b, e in zip(base, extra)]
    heights = [CELL_LEAD + 2 * CELL_PAD] * t.n_rows
    for single in (True, False):  # plain cells first, then merged cells stretch their last row if needed
        for c in t.cells:
            if (c.rowspan == 1) != single:
                continue
            w = sum(widths[c.col : c.col + c.colspan])
            need = len(_wrap(c.text, int((w - 2 * CELL_PAD) // CELL_SIZE))) * CELL_LEAD + 2 * CELL_PAD
            have = sum(heights[c.row : c.row + c.rowspan])
            if need > have:
                heights[c.row + c.rowspan - 1] += need - have
    return _TableLayout(widths, heights)


class _PdfPages:
    """Content streams of A4 pages, filled top-down with a cursor."""

    def __init__(self) -> None:
        self.pages: list[list[str]] = [[]]
        self.y = PAGE_H - MARGIN

    def need(self, h: float) -> None:
        if self.y - h < MARGIN and self.pages[-1]:
            self.pages.append([])
            self.y = PAGE_H - MARGIN

    def text(self, x: float, y: float, s: str, size: float) -> None:
        self.pages[-1].append(f"BT /F1 {size:g} Tf {x:.2f} {y:.2f} Td <{_hex(s)}> Tj ET")

    def paragraph(self, s: str, *, title: bool = False) -> None:
        size = TITLE_SIZE if title else TEXT_SIZE
        width = PAGE_W - 2 * MARGIN
        for line in _wrap(s, int(width // size)):
            self.need(TEXT_LEAD)
            self.y -= TEXT_LEAD
            x = (PAGE_W - len(line) * size) / 2 if title else MARGIN
            self.text(x, self.y + 4, line, size)

    def table(self, t: SpanTable) -> None:
        lay = _layout(t, PAGE_W - 2 * MARGIN)
        self.need(sum(lay.heights) + 8)
        top = self.y - 4
        xs = [MARGIN + sum(lay.widths[:i]) for i in range(t.n_cols + 1)]
        ys = [top - sum(lay.heights[:i]) for i in range(t.n_rows + 1)]
        ops = self.pages[-1]
        ops.append("0.5 w")
        for c in t.cells:
            x0, x1 = xs[c.col], xs[c.col + c.colspan]
            y_top, y_bot = ys[c.row], ys[c.row + c.rowspan]
            ops.append(f"{x0:.2f} {y_bot:.2f} {x1 - x0:.2f} {y_top - y_bot:.2f} re S")
            lines = _wrap(c.text, int((x1 - x0 - 2 * CELL_PAD) // CELL_SIZE)) if c.text else []
            first = (y_top + y_bot) / 2 + len(lines) * CELL_LEAD / 2 - CELL_LEAD
            for k, line in enumerate(lines):
                x = (x0 + x1 - len(line) * CELL_SIZE) / 2
                self.text(x, first - k * CELL_LEAD + 2, line, CELL_SIZE)
        self.y = ys[-1] - 8


def make_pdf(blocks: Sequence[Block], *, title: str = "") -> bytes:
    """A valid multi-page A4 PDF of ``blocks``: paragraphs (wrapped) and ruled tables with merged cells.

    A first block equal to ``title`` is printed as a centred title."""
    pages = _PdfPages()
    for i, b in enumerate(blocks):
        if isinstance(b, SpanTable):
            pages.table(b)
        else:
            pages.paragraph(b, title=(i == 0 and bool(title) and b == title))
    return _pdf_file(pages.pages, title)


def _pdf_file(page_ops: list[list[str]], title: str) -> bytes:
    objects: list[bytes] = []

    def add(obj: bytes) -> int:
        objects.append(obj)
        return len(objects)

    catalog = add(b"")  # placeholder, filled below
    pages_id = add(b"")
    font_desc = add(
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"
    )
    cid_font = add(
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> "
        b"/FontDescriptor " + f"{font_desc} 0 R".encode() + b" /DW 1000 >>"
    )
    font = add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light-UniGB-UCS2-H /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [" + f"{cid_font} 0 R".encode() + b"] >>"
    )
    page_ids = []
    for ops in page_ops:
        stream = zlib.compress("\n".join(ops).encode("ascii"), 9)
        content = add(
            b"<< /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n" + stream + b"\nendstream"
        )
        page_ids.append(
            add(
                f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] "
                f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {content} 0 R >>".encode()
            )
        )
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_id} 0 R >>".encode()
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects[pages_id - 1] = f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()
    info = add(b"<< /Title <FEFF" + _hex(title).encode() + b"> /Producer (ogi sample portal) >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


_DOCX_EPOCH = "2024-01-01T00:00:00"


def make_docx(blocks: Sequence[Block], *, title: str = "") -> bytes:
    """A DOCX of ``blocks``: paragraphs and real Word tables whose group labels are merged cells.

    Deterministic: fixed core-property dates and zip member times, so the same report gives the same bytes
    (the portal's ETag depends on it)."""
    import docx  # python-docx; imported lazily: only the attachment portals need it

    from extractors.threadsafety import PYTHON_DOCX_LOCK

    with PYTHON_DOCX_LOCK:  # its module-level XML parser is shared by every thread
        return _normalise_zip(_build_docx(docx, blocks, title))


def _build_docx(docx, blocks: Sequence[Block], title: str) -> bytes:  # noqa: ANN001 - the python-docx module
    import datetime as dt

    d = docx.Document()
    props = d.core_properties
    props.title = title
    props.author = props.last_modified_by = "ogi sample portal"
    props.created = props.modified = dt.datetime.fromisoformat(_DOCX_EPOCH)
    props.revision = 1
    for b in blocks:
        if isinstance(b, SpanTable):
            t = d.add_table(rows=b.n_rows, cols=b.n_cols)
            t.style = "Table Grid"
            rows = [r.cells for r in t.rows]  # one grid walk per row: ``Table.cell`` re-walks the whole grid
            for c in b.cells:
                rows[c.row][c.col].text = c.text
            for c in b.cells:  # merge after filling: merging keeps the anchor's text, drops the empty others
                if c.rowspan > 1 or c.colspan > 1:
                    rows[c.row][c.col].merge(rows[c.row + c.rowspan - 1][c.col + c.colspan - 1])
        else:
            d.add_paragraph(b)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _normalise_zip(data: bytes) -> bytes:
    """Re-write a zip with fixed member timestamps (python-docx stamps the current time)."""
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def make_png(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    """A small grey-scale PNG (a stand-in for a scanned report page in a 图片版 report)."""
    raw = b"".join(b"\x00" + bytes(((x * 7 + y * 3 + seed) % 256) for x in range(width)) for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
