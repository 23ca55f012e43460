"""PDF producers: one report, printed the way other software prints it.

Each producer is a pure function ``ReportSpec -> bytes`` (same spec, same facts; the reportlab ones give the
same bytes too): the report's paragraphs and tables come from :func:`sample_portal.reportdoc.report_blocks`
(the Word-export HTML page the portal serves, read back), so every value is known from
:func:`sample_portal.reportgen.expected_facts`.  None of them is the sample portal's own hand-written PDF
(``sample_portal.attachments.make_pdf``, one stroked rectangle per cell and a non-embedded font):

==============================  ===========================================================================
``libreoffice``                 Writer from a python-docx DOCX (``soffice --headless --convert-to pdf``):
                                embedded font subsets, ruled tables, a running title in the page header,
                                ``— N —`` page numbers in the footer.
``libreoffice_unruled``         the same DOCX with borderless tables (cells placed by position only),
                                ``第 N 页 共 M 页`` footers; table 三 runs over a page break.
``libreoffice_no_tounicode``    ``libreoffice`` with every ``/ToUnicode`` map blanked out: the glyphs of its
                                embedded fonts map to nothing (what a PDF copy that "pastes as garbage" is).
``fake_bold``                   reportlab, every paragraph and table drawn twice 0.4 pt apart (an office suite's
                                fake bold), ruled tables, ``- N -`` footers.
``unruled``                     reportlab, tables with no rules at all, table 三 split over two pages without
                                its header repeated, blank zero cells, ``- N -`` footers between the rows.
``unruled_repeated_header``     reportlab, unruled, table 三 split with its header rows repeated, a running
                                title in the header band of every page.
``two_page``                    reportlab, ruled, table 三 split over two pages with its header repeated.
``rotated``                     reportlab, table 三 on a page typeset sideways and marked ``/Rotate 90``, table
                                四 on a page typeset sideways without ``/Rotate`` (the reader turns the page).
``scanned_page``                a ruled reportlab print, table 三 on a page of its own replaced by a scan of it.
``scanned``                     every page a scan (no text layer at all).
==============================  ===========================================================================

The LibreOffice producers need ``soffice`` (``scripts/setup-system`` installs it) and raise
:class:`ProducerUnavailable` without it; they run with ``HOME`` set to a temporary directory.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from sample_portal.reportdoc import SpanTable, report_blocks
from sample_portal.reportgen import ReportSpec

FONT = "STSong-Light"
PAGE_W, PAGE_H = 595.0, 842.0
MARGIN = 56.0


class ProducerUnavailable(RuntimeError):
    """A producer's external tool (soffice) is not installed."""


# ------------------------------------------------------------------------------------------- reportlab


def _fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _styles():  # noqa: ANN202
    from reportlab.lib.enums import TA_CENTER, TA_LEFT
    from reportlab.lib.styles import ParagraphStyle

    body = ParagraphStyle("body", fontName=FONT, fontSize=11, leading=18, wordWrap="CJK", alignment=TA_LEFT,
                          firstLineIndent=22)
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=16, leading=24, alignment=TA_CENTER, firstLineIndent=0,
                                spaceAfter=10),
        "body": body,
        "heading": ParagraphStyle("heading", parent=body, firstLineIndent=0, spaceBefore=4),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=7.5, leading=9.5, wordWrap="CJK", alignment=TA_CENTER),
    }


def _col_widths(t: SpanTable, avail: float, size: float) -> list[float]:
    """Room for each column's longest unmerged text (a number needs little), scaled to the text width."""
    want = [4 * size] * t.n_cols
    for c in t.cells:
        if c.colspan == 1:
            want[c.col] = max(want[c.col], min(len(c.text), 18) * size + 6)
    total = sum(want)
    return [w * avail / total for w in want]


def _rl_table(t: SpanTable, styles, *, ruled: bool, repeat: int = 0, avail: float = PAGE_W - 2 * MARGIN,  # noqa: ANN001, ANN202
              pad: float = 3):
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    grid: list[list[object]] = [[""] * t.n_cols for _ in range(t.n_rows)]
    cmds: list[tuple] = [("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 2),
                         ("RIGHTPADDING", (0, 0), (-1, -1), 2), ("TOPPADDING", (0, 0), (-1, -1), pad),
                         ("BOTTOMPADDING", (0, 0), (-1, -1), pad)]
    for c in t.cells:
        grid[c.row][c.col] = Paragraph(c.text, styles["cell"]) if c.text else ""
        if c.rowspan > 1 or c.colspan > 1:
            cmds.append(("SPAN", (c.col, c.row), (c.col + c.colspan - 1, c.row + c.rowspan - 1)))
    if ruled:
        cmds.append(("GRID", (0, 0), (-1, -1), 0.5, colors.black))
    widths = _col_widths(t, avail, styles["cell"].fontSize)
    return Table(grid, colWidths=widths, style=TableStyle(cmds), repeatRows=repeat, splitByRow=1)


def _header_rows(t: SpanTable) -> int:
    """Rows above the first data row of table 三 (the rows to repeat on a new page)."""
    for c in t.cells:
        if c.text.startswith("一、本年新收"):
            return c.row
    return 0


def _is_t3(t: SpanTable) -> bool:
    return any(c.text.startswith("一、本年新收") for c in t.cells)


def _is_t4(t: SpanTable) -> bool:
    return any(c.text == "复议后起诉" for c in t.cells)


class _Footer:
    """Draws the page furniture: a footer page number and optionally a running title in the header band."""

    def __init__(self, fmt: str, running: str | None = None) -> None:
        self.fmt, self.running = fmt, running

    def __call__(self, canvas, doc) -> None:  # noqa: ANN001
        canvas.saveState()
        canvas.setFont(FONT, 9)
        n = canvas.getPageNumber()
        canvas.drawCentredString(PAGE_W / 2, 30, self.fmt.format(n=n, total=getattr(doc, "_ogi_total", "")))
        if self.running:
            canvas.drawCentredString(PAGE_W / 2, PAGE_H - 32, self.running)
        canvas.restoreState()


def _doubled(inner, offset: float = 0.4):  # noqa: ANN001, ANN202
    """``inner`` drawn twice, the second time ``offset`` points to the right: an office suite's fake bold.

    A paragraph's copy follows its original at once (pdfium drops a text object repeated within five
    objects; pdfminer keeps both); a table's copy follows the whole table, so every cell's duplicate comes
    long after its original and survives both (the reader's ``dedupe_chars`` must remove it)."""
    from reportlab.platypus import Flowable

    class Doubled(Flowable):
        def __init__(self, inner) -> None:  # noqa: ANN001
            super().__init__()
            self.inner = inner

        def wrap(self, w: float, h: float) -> tuple[float, float]:
            return self.inner.wrap(w, h)

        def split(self, w: float, h: float) -> list:
            return [Doubled(part) for part in self.inner.split(w, h)]

        def getSpaceBefore(self) -> float:  # noqa: N802 - reportlab's name
            return self.inner.getSpaceBefore()

        def getSpaceAfter(self) -> float:  # noqa: N802
            return self.inner.getSpaceAfter()

        def draw(self) -> None:
            self.inner.drawOn(self.canv, 0, 0)
            self.inner.drawOn(self.canv, offset, 0)

    return Doubled(inner)


def _story(spec: ReportSpec, styles, *, ruled: bool, repeat: bool, break_t3: bool, sideways: bool = False,  # noqa: ANN001, ANN202
           bold: bool = False, t3_page: bool = False):
    from reportlab.platypus import PageBreak, Paragraph, Spacer

    story: list[object] = []
    blocks = report_blocks(spec)
    ink = _doubled if bold else (lambda f: f)
    for i, b in enumerate(blocks):
        if isinstance(b, SpanTable):
            if sideways and (_is_t3(b) or _is_t4(b)):
                story += [PageBreak(), _sideways_flowable()(_rl_table(b, styles, ruled=ruled, avail=PAGE_H - 2 * MARGIN - 40, pad=1.5),
                                                             rotate_page=_is_t3(b)), PageBreak()]
                continue
            if t3_page and _is_t3(b):
                story += [PageBreak(), _rl_table(b, styles, ruled=ruled), PageBreak()]
                continue
            if break_t3 and _is_t3(b):
                story.append(Spacer(1, 360))  # push table 三 down so that the page breaks inside it
            story.append(ink(_rl_table(b, styles, ruled=ruled, repeat=_header_rows(b) if repeat and _is_t3(b) else 0)))
            story.append(Spacer(1, 6))
        elif i == 0:
            story.append(ink(Paragraph(b, styles["title"])))
        elif re.match(r"^[一二三四五六]、", b):
            story.append(ink(Paragraph(b, styles["heading"])))
        else:
            story.append(ink(Paragraph(b, styles["body"])))
    return story


def _sideways_flowable():  # noqa: ANN202
    from reportlab.platypus import Flowable

    class Sideways(Flowable):
        """A table typeset across a landscape page and printed on a portrait page turned 90° (text runs upwards);
        with ``rotate_page`` the page says ``/Rotate 90`` so that viewers show it upright."""

        def __init__(self, inner, rotate_page: bool) -> None:  # noqa: ANN001
            super().__init__()
            self.inner, self.rotate_page = inner, rotate_page

        def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
            self.w, self.h = self.inner.wrap(PAGE_H - 2 * MARGIN, avail_w)
            return avail_w, self.w

        def draw(self) -> None:
            c = self.canv
            if self.rotate_page:
                c.ogi_rotation = 90  # applied when the page ends (see _canvas)
            c.saveState()
            c.rotate(90)
            c.translate(0, -self.h)
            self.inner.drawOn(c, 0, 0)
            c.restoreState()

    return Sideways


def _canvas():  # noqa: ANN202
    from reportlab.pdfbase.pdfdoc import PDFArray
    from reportlab.pdfgen.canvas import Canvas

    class PageRotationCanvas(Canvas):
        """platypus sets each page's /Rotate from its page template when the page ends: a flowable that asks
        for a rotated page sets ``ogi_rotation``, which wins for that page."""

        ogi_rotation: int | None = None

        def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
            super().__init__(*args, **kwargs)
            add = self._doc.addPage

            def add_page(page) -> None:  # noqa: ANN001
                # reportlab swaps the MediaBox of a /Rotate 90 page (it expects landscape drawing), which would
                # clip a table drawn sideways on the portrait page: keep the page portrait, as office suites do
                page.MediaBox = PDFArray([0, 0, page.pagewidth, page.pageheight])
                add(page)

            self._doc.addPage = add_page

        def setPageRotation(self, rot: int) -> None:  # noqa: N802 - reportlab's name
            super().setPageRotation(self.ogi_rotation if self.ogi_rotation is not None else rot)

        def showPage(self) -> None:  # noqa: N802
            super().showPage()
            self.ogi_rotation = None
            super().setPageRotation(0)

    return PageRotationCanvas


def _reportlab(spec: ReportSpec, *, ruled: bool = True, fake_bold: bool = False, repeat: bool = False,
               break_t3: bool = False, sideways: bool = False, t3_page: bool = False, footer: str = "- {n} -",
               running: bool = False) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    _fonts()
    styles = _styles()
    buf = io.BytesIO()
    # invariant=1: no creation date or random document id, so the same spec gives the same bytes
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
                            title=spec.title, author=spec.agency, invariant=1, pageCompression=1)
    furniture = _Footer(footer, spec.title if running else None)
    story = _story(spec, styles, ruled=ruled, repeat=repeat, break_t3=break_t3, sideways=sideways, bold=fake_bold,
                   t3_page=t3_page)
    doc.build(story, onFirstPage=furniture, onLaterPages=furniture, canvasmaker=_canvas())
    return buf.getvalue()


def fake_bold(spec: ReportSpec) -> bytes:
    """Ruled tables, every glyph drawn twice 0.4 pt apart (WPS/office "bold" without a bold font)."""
    return _reportlab(spec, fake_bold=True)


def unruled(spec: ReportSpec) -> bytes:
    """No rules at all; table 三 split over two pages, its header not repeated; ``- N -`` footers."""
    return _reportlab(spec, ruled=False, break_t3=True)


def unruled_repeated_header(spec: ReportSpec) -> bytes:
    """No rules; table 三 split with its header rows repeated; the report title as a running header."""
    return _reportlab(spec, ruled=False, repeat=True, break_t3=True, running=True, footer="第 {n} 页")


def two_page(spec: ReportSpec) -> bytes:
    """Ruled; table 三 split over two pages with its header rows repeated on the second."""
    return _reportlab(spec, repeat=True, break_t3=True)


def rotated(spec: ReportSpec) -> bytes:
    """Tables 三 and 四 typeset on landscape pages printed sideways: 三's page says /Rotate 90, 四's does not."""
    return _reportlab(spec, sideways=True)


# ------------------------------------------------------------------------------------------- scans


def _scan(data: bytes, pages: set[int] | None, dpi: int = 150) -> bytes:
    """``data`` with the given pages (1-based; None = all) replaced by a 1-bit scan of themselves."""
    import pypdfium2 as pdfium

    src = pdfium.PdfDocument(data)
    out = pdfium.PdfDocument.new()
    try:
        for i in range(len(src)):
            if pages is not None and i + 1 not in pages:
                out.import_pages(src, [i])
                continue
            page = src[i]
            w, h = page.get_size()
            pil = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("1")
            target = out.new_page(w, h)
            image = pdfium.PdfImage.new(out)
            image.set_bitmap(pdfium.PdfBitmap.from_pil(pil.convert("L")))
            image.set_matrix(pdfium.PdfMatrix().scale(w, h))
            target.insert_obj(image)
            target.gen_content()
        buf = io.BytesIO()
        out.save(buf)
        return buf.getvalue()
    finally:
        out.close()
        src.close()


def _t3_page(data: bytes) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        for i in range(len(pdf)):
            if "本年新收" in pdf[i].get_textpage().get_text_range().replace("\r\n", ""):
                return i + 1
    finally:
        pdf.close()
    raise ValueError("no table 三 page")


def scanned_page(spec: ReportSpec) -> bytes:
    """A ruled reportlab print with the page holding table 三 replaced by a scan of itself (a 图片版 table)."""
    data = _reportlab(spec, t3_page=True)
    return _scan(data, {_t3_page(data)})


def scanned(spec: ReportSpec) -> bytes:
    """Every page a scan: no text layer at all."""
    return _scan(_reportlab(spec), None)


# ------------------------------------------------------------------------------------------- LibreOffice


def _docx(spec: ReportSpec, *, ruled: bool, footer: str, running: bool) -> bytes:
    """A DOCX of the report as python-docx writes it, with page-number fields in the footer."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    d = docx.Document()
    props = d.core_properties
    props.title, props.author = spec.title, spec.agency
    style = d.styles["Normal"]
    style.font.size = Pt(11)
    style.font.name = "Noto Serif CJK SC"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "Noto Serif CJK SC")
    section = d.sections[0]

    def field(par, instr: str) -> None:  # noqa: ANN001
        fld = OxmlElement("w:fldSimple")
        fld.set(qn("w:instr"), instr)
        run = OxmlElement("w:r")
        t = OxmlElement("w:t")
        t.text = "1"
        run.append(t)
        fld.append(run)
        par._p.append(fld)

    fp = section.footer.paragraphs[0]
    fp.alignment = 1
    for part in re.split(r"(\{n\}|\{total\})", footer):
        if part == "{n}":
            field(fp, "PAGE")
        elif part == "{total}":
            field(fp, "NUMPAGES")
        elif part:
            fp.add_run(part)
    if running:
        hp = section.header.paragraphs[0]
        hp.alignment = 1
        hp.add_run(spec.title).font.size = Pt(9)
    blocks = report_blocks(spec)
    for i, b in enumerate(blocks):
        if isinstance(b, SpanTable):
            t = d.add_table(rows=b.n_rows, cols=b.n_cols)
            t.style = "Table Grid" if ruled else "Normal Table"
            rows = [r.cells for r in t.rows]
            for c in b.cells:
                cell = rows[c.row][c.col]
                cell.text = c.text
                for par in cell.paragraphs:
                    for run in par.runs:
                        run.font.size = Pt(8)
            for c in b.cells:
                if c.rowspan > 1 or c.colspan > 1:
                    rows[c.row][c.col].merge(rows[c.row + c.rowspan - 1][c.col + c.colspan - 1])
        else:
            p = d.add_paragraph(b)
            if i == 0:
                p.alignment = 1
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _soffice(docx_bytes: bytes) -> bytes:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        raise ProducerUnavailable("soffice (LibreOffice) is not installed: run scripts/setup-system")
    with tempfile.TemporaryDirectory(prefix="ogi-lo-") as tmp:
        src = Path(tmp) / "report.docx"
        src.write_bytes(docx_bytes)
        env = {**os.environ, "HOME": tmp}
        subprocess.run([exe, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp}/profile",
                        "--convert-to", "pdf", "--outdir", tmp, str(src)], env=env, check=True, capture_output=True,
                       timeout=180)
        return (Path(tmp) / "report.pdf").read_bytes()


def libreoffice(spec: ReportSpec) -> bytes:
    """LibreOffice Writer: ruled tables, running title in the header, ``— N —`` page numbers."""
    return _soffice(_docx(spec, ruled=True, footer="— {n} —", running=True))


def libreoffice_unruled(spec: ReportSpec) -> bytes:
    """LibreOffice Writer, borderless tables, ``第 N 页 共 M 页`` footers."""
    return _soffice(_docx(spec, ruled=False, footer="第 {n} 页 共 {total} 页", running=False))


def strip_tounicode(data: bytes) -> bytes:
    """Blank out every ``/ToUnicode`` entry (same length, so the cross-reference table stays valid)."""
    return re.sub(rb"/ToUnicode\s*\d+\s+\d+\s+R", lambda m: b" " * len(m.group()), data)


def libreoffice_no_tounicode(spec: ReportSpec) -> bytes:
    """``libreoffice`` whose fonts lost their ToUnicode maps (the text layer is glyph numbers only)."""
    return strip_tounicode(libreoffice(spec))


#: input kind (the fixtures' ``"kind"``) → producer
PRODUCERS: dict[str, Callable[[ReportSpec], bytes]] = {
    "pdf-libreoffice": libreoffice,
    "pdf-libreoffice-unruled": libreoffice_unruled,
    "pdf-no-tounicode": libreoffice_no_tounicode,
    "pdf-fakebold": fake_bold,
    "pdf-unruled": unruled,
    "pdf-unruled-repeated-header": unruled_repeated_header,
    "pdf-two-page": two_page,
    "pdf-rotated": rotated,
    "pdf-scanned-page": scanned_page,
    "pdf-scanned": scanned,
}
#: producers that need soffice
NEEDS_SOFFICE = frozenset({"pdf-libreoffice", "pdf-libreoffice-unruled", "pdf-no-tounicode"})
