"""Attachments (PDF, DOCX, XLSX, XLS) → :class:`Document`.

PDF: :mod:`extractors.pdfdoc` (pdfium objects, two text sources, fake bold, scans, headers/footers,
ruled and unruled tables).

DOCX (python-docx): body paragraphs and tables in document order; merged cells are repeated by
python-docx, i.e. already span-expanded.  The zip is checked before parsing (size, member count,
compression ratio) so a zip bomb is refused instead of inflated.
"""

from __future__ import annotations

import io
import re
import zipfile

from extractors.document import Block, Document, RawTable
from extractors.model import UnreadableInput
from extractors.threadsafety import PYTHON_DOCX_LOCK
from extractors.pdfdoc import MAX_PDF_PAGES, read_pdf  # noqa: F401 - re-exported: the PDF reader lives there

MAX_UNZIPPED = 200 * 1024 * 1024


def read_attachment(kind: str, data: bytes) -> tuple[Document, str | None]:
    if kind == "pdf":
        return read_pdf(data), None
    if kind == "docx":
        return read_docx(data), None
    if kind == "xlsx":
        return read_xlsx(data), None
    if kind == "xls":
        return read_xls(data), None
    raise UnreadableInput(f"unsupported document type: {kind}")


def _check_zip(data: bytes, required: str = "word/document.xml") -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise UnreadableInput(f"broken DOCX (zip): {e}") from None
    infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    if len(infos) > 2000 or total > MAX_UNZIPPED or (total > 10 * 1024 * 1024 and total > 100 * max(1, len(data))):
        raise UnreadableInput(f"DOCX refused: {len(infos)} members, {total:,} bytes uncompressed (zip bomb guard)")
    if required not in zf.namelist():
        raise UnreadableInput(f"not the expected Office document (no {required})")
    return zf


def read_docx(data: bytes) -> Document:
    _check_zip(data)
    try:
        import docx
        from docx.table import Table as DocxTable
        from docx.text.paragraph import Paragraph
    except ImportError as e:  # pragma: no cover
        raise UnreadableInput(f"DOCX support unavailable: {e}") from None
    try:
        with PYTHON_DOCX_LOCK:
            d = docx.Document(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001
        raise UnreadableInput(f"unreadable DOCX: {type(e).__name__}: {e}") from None
    doc = Document(is_html=False)
    title = (d.core_properties.title or "").strip()
    if title:
        doc.title_candidates.append(title)
    body = d.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = " ".join(Paragraph(child, d).text.split())
            if text:
                doc.blocks.append(Block(text))
        elif tag == "tbl":
            table = DocxTable(child, d)
            grid: list[list[str | None]] = []
            for row in table.rows:
                grid.append([" ".join(c.text.split()) for c in row.cells])
            width = max((len(r) for r in grid), default=0)
            idx = len(doc.tables)
            doc.tables.append(RawTable(idx, [r + [None] * (width - len(r)) for r in grid]))
            doc.blocks.append(Block("", table=idx))
    for b in doc.blocks:
        if b.table is None:
            if re.search(r"年度?报告", b.text) and len(b.text) <= 80:
                doc.title_candidates.insert(0, b.text)
                b.heading = True
            break
    return doc


def _sheets_to_document(sheets: list[tuple[str, list[list[str | None]]]]) -> Document:
    """Each sheet is one table; a leading one-cell row that names the report becomes the title."""
    doc = Document(is_html=False)
    for name, grid in sheets:
        grid = [row for row in grid if any(c for c in row)]
        if not grid:
            continue
        first = {c for c in grid[0] if c}
        if len(first) == 1:
            text = next(iter(first))
            if re.search(r"年度?报告|年报", text) and not doc.title_candidates:
                doc.title_candidates.append(text)
                doc.blocks.append(Block(text, heading=True))
                grid = grid[1:]
        width = max((len(r) for r in grid), default=0)
        idx = len(doc.tables)
        doc.tables.append(RawTable(idx, [list(r) + [None] * (width - len(r)) for r in grid]))
        doc.blocks.append(Block("", table=idx))
    return doc


def _cell_str(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return " ".join(str(v).split())


MAX_SHEET_CELLS = 200_000


def read_xlsx(data: bytes) -> Document:
    _check_zip(data, "xl/workbook.xml")
    import openpyxl  # uses defusedxml when installed (it is, via the project's dependencies)

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=False, data_only=True)
    except Exception as e:  # noqa: BLE001
        raise UnreadableInput(f"unreadable XLSX: {type(e).__name__}: {e}") from None
    sheets = []
    for ws in wb.worksheets[:20]:
        if (ws.max_row or 0) * (ws.max_column or 0) > MAX_SHEET_CELLS:
            raise UnreadableInput(f"sheet {ws.title!r} too large ({ws.max_row}×{ws.max_column})")
        grid = [[_cell_str(c) for c in row] for row in ws.iter_rows(values_only=True)]
        for rng in ws.merged_cells.ranges:  # span expansion: copy the top-left value over the range
            v = grid[rng.min_row - 1][rng.min_col - 1] if rng.min_row - 1 < len(grid) else ""
            for r in range(rng.min_row - 1, min(rng.max_row, len(grid))):
                for c in range(rng.min_col - 1, min(rng.max_col, len(grid[r]))):
                    grid[r][c] = v
        sheets.append((ws.title, grid))
    return _sheets_to_document(sheets)


def read_xls(data: bytes) -> Document:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
    except Exception as e:  # noqa: BLE001 - xlrd raises many types on foreign OLE files (.doc, .wps)
        raise UnreadableInput(f"unreadable XLS (or another OLE document such as .doc): {type(e).__name__}: {e}") from None
    sheets = []
    for i in range(min(book.nsheets, 20)):
        sh = book.sheet_by_index(i)
        if sh.nrows * sh.ncols > MAX_SHEET_CELLS:
            raise UnreadableInput(f"sheet {sh.name!r} too large ({sh.nrows}×{sh.ncols})")
        grid = [[_cell_str(sh.cell_value(r, c)) for c in range(sh.ncols)] for r in range(sh.nrows)]
        for r0, r1, c0, c1 in sh.merged_cells:
            v = grid[r0][c0]
            for r in range(r0, r1):
                for c in range(c0, c1):
                    grid[r][c] = v
        sheets.append((sh.name, grid))
    return _sheets_to_document(sheets)
