"""PDF and DOCX reports → :class:`Document`.

PDF (pdfplumber): per page, ruled tables from ``find_tables`` (frames around prose are rejected:
a table needs several rows with two or more filled cells; prose lines drawn on shading rectangles
are trimmed off a table's top and bottom) and the text lines outside them, merged
in reading order.  Spaces that PDF layout puts around CJK characters ("2023 年") are removed.
Merged cells come back as ``None`` continuation cells, which the table reader treats like a row
that lost its group cell; a table split across pages is merged like an HTML split table.

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

MAX_PDF_PAGES = 200
MAX_UNZIPPED = 200 * 1024 * 1024
_CJK_SPACE = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])[ \t]+|[ \t]+(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])")
_PAGE_NO = re.compile(r"^[-—–\s]*\d{1,3}[-—–\s]*$|^第\s*\d+\s*页")


def _clean(text: str) -> str:
    return _CJK_SPACE.sub("", " ".join(text.split()))


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


def _is_real_table(rows: list[list[str | None]]) -> bool:
    if len(rows) < 2:
        return False
    multi = sum(1 for r in rows if sum(1 for c in r if c not in (None, "")) >= 2)
    return multi >= max(2, len(rows) * 0.3)


def _is_shading(obj: dict) -> bool:
    """A filled, unstroked rectangle thicker than a rule: a background behind text (WPS/Word paragraph
    or line shading, cell fills) rather than a border."""
    return (obj.get("object_type") == "rect" and bool(obj.get("fill")) and not obj.get("stroke")
            and min(obj.get("width", 0), obj.get("height", 0)) > 2)


Bbox = tuple[float, float, float, float]


def _ruled(y: float, x0: float, x1: float, rules: list[dict]) -> bool:
    """Is there a real horizontal rule at height ``y`` under most of [x0, x1]?"""
    for e in rules:
        if abs(e["top"] - y) <= 3 and min(e["x1"], x1) - max(e["x0"], x0) >= 0.5 * (x1 - x0):
            return True
    return False


def _trim_shaded_rows(table, rows: list[list[str | None]], rules: list[dict]) -> tuple[Bbox, list[list[str | None]]]:  # noqa: ANN001
    """Drop the leading and trailing rows that are prose lines sitting on shading rectangles.

    pdfplumber takes every rectangle edge for a rule, so lines of prose printed on stacked shading
    rectangles (WPS/Word paragraph shading) become single-cell "rows" glued to the real table below
    them: the heading 二、主动公开政府信息情况 and the paragraphs above table 二 end up inside it, or the
    whole frame fails the prose test and table 二 is lost.  Such a row has one cell across the table and
    no real (stroked or thin) rule on its outer side; a row of a real table keeps its cells."""
    prows = table.rows
    if len(prows) != len(rows):
        return table.bbox, rows
    first, last = 0, len(rows)

    def single(k: int) -> bool:
        return sum(1 for c in prows[k].cells if c is not None) == 1

    x0, _, x1, _ = table.bbox
    while first < last and single(first) and not _ruled(prows[first].bbox[1], x0, x1, rules):
        first += 1
    while last > first and single(last - 1) and not _ruled(prows[last - 1].bbox[3], x0, x1, rules):
        last -= 1
    if (first, last) == (0, len(rows)) or first >= last:
        return table.bbox, rows if first < last else []
    return (x0, prows[first].bbox[1], x1, prows[last - 1].bbox[3]), rows[first:last]


def _page_tables(page) -> list[tuple[Bbox, list[list[str | None]]]]:  # noqa: ANN001 - pdfplumber Page
    """(bbox, rows) of the real ruled tables of a page, without prose rows made by shading rectangles."""
    tables = page.find_tables()
    shading = any(_is_shading(r) for r in page.rects)
    rules = [e for e in page.filter(lambda o: not _is_shading(o)).horizontal_edges] if shading and tables else []
    found: list[tuple[Bbox, list[list[str | None]]]] = []
    for t in tables:
        bbox, rows = t.bbox, t.extract()
        if shading:
            bbox, rows = _trim_shaded_rows(t, rows, rules)
        if _is_real_table(rows):
            found.append((bbox, rows))
    return found


def read_pdf(data: bytes) -> Document:
    try:
        import pdfplumber
        from pdfminer.pdfparser import PDFSyntaxError
    except ImportError as e:  # pragma: no cover - dependency is declared
        raise UnreadableInput(f"PDF support unavailable: {e}") from None
    doc = Document(is_html=False)
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            if len(pdf.pages) > MAX_PDF_PAGES:
                raise UnreadableInput(f"PDF has {len(pdf.pages)} pages (cap {MAX_PDF_PAGES})")
            title = (pdf.metadata or {}).get("Title")
            if isinstance(title, str) and title.strip():
                doc.title_candidates.append(title.strip())
            for page in pdf.pages:
                items: list[tuple[float, str, object]] = []
                boxes = []
                for bbox, rows in _page_tables(page):
                    boxes.append(bbox)
                    grid = [[None if c is None else _clean(c) for c in row] for row in rows]
                    items.append((bbox[1], "table", grid))
                for line in page.extract_text_lines():
                    cy = (line["top"] + line["bottom"]) / 2
                    cx = (line["x0"] + line["x1"]) / 2
                    if any(b[0] - 1 <= cx <= b[2] + 1 and b[1] - 1 <= cy <= b[3] + 1 for b in boxes):
                        continue
                    text = _clean(line["text"])
                    if text and not _PAGE_NO.match(text):
                        items.append((line["top"], "text", text))
                items.sort(key=lambda x: (x[0], x[1] == "text"))
                for _, kind, payload in items:
                    if kind == "table":
                        idx = len(doc.tables)
                        grid = payload  # type: ignore[assignment]
                        width = max(len(r) for r in grid)
                        doc.tables.append(RawTable(idx, [list(r) + [None] * (width - len(r)) for r in grid]))
                        doc.blocks.append(Block("", table=idx))
                    else:
                        doc.blocks.append(Block(payload))  # type: ignore[arg-type]
    except UnreadableInput:
        raise
    except (PDFSyntaxError, Exception) as e:  # noqa: BLE001 - pdfminer raises many types on broken files
        raise UnreadableInput(f"unreadable PDF: {type(e).__name__}: {e}") from None
    _pdf_title(doc)
    return doc


def _pdf_title(doc: Document) -> None:
    """The title is often printed over two lines ("洪泽区人民政府" / "2023年政府信息公开工作年度报告")."""
    texts = [b.text for b in doc.blocks[:6] if b.table is None]
    for i, t in enumerate(texts):
        if re.search(r"年度?报告", t):
            title = t
            if i > 0 and len(texts[i - 1]) <= 30 and not re.search(r"[。，,]", texts[i - 1]) and not re.match(r"^\d{4}", t) is None:
                title = texts[i - 1] + t
            elif i > 0 and len(texts[i - 1]) <= 30 and re.match(r"^\d{4}", t):
                title = texts[i - 1] + t
            doc.title_candidates.insert(0, title)
            doc.blocks[i].heading = True
            return


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
