"""Real attachment files for the sample portal: a small PDF, a DOCX and a PNG, made in memory.

Many counties publish the report only as an attachment (the detail page just links a file), so the
portal must serve real files the extractor can open.  The PDF is written by hand (no reportlab here):
one page per ~40 lines, text in the standard CJK font ``STSong-Light`` with the ``UniGB-UCS2-H``
encoding, which every PDF reader and pdfminer/pdfplumber map back to Unicode without embedding a font.
"""

from __future__ import annotations

import io
import struct
import zlib


def make_pdf(lines: list[str], *, title: str = "") -> bytes:
    """A valid multi-page PDF showing ``lines`` of (Chinese) text."""
    per_page = 40
    pages = [lines[i : i + per_page] for i in range(0, max(len(lines), 1), per_page)] or [[]]
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
    for page_lines in pages:
        ops = ["BT", "/F1 11 Tf", "14 TL", "50 800 Td"]
        for line in page_lines:
            ops.append(f"<{line.encode('utf-16-be').hex().upper()}> Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("ascii")
        content = add(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
        page_ids.append(
            add(
                f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 595 842] "
                f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {content} 0 R >>".encode()
            )
        )
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_id} 0 R >>".encode()
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects[pages_id - 1] = f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()
    info = add(b"<< /Title <FEFF" + title.encode("utf-16-be").hex().upper().encode() + b"> /Producer (ogi sample portal) >>")
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


def make_docx(lines: list[str], table: list[list[str]] | None = None) -> bytes:
    """A DOCX with the given paragraphs and (optionally) one table, via python-docx."""
    import docx  # python-docx; imported lazily: only the attachment portals need it

    d = docx.Document()
    for line in lines:
        d.add_paragraph(line)
    if table:
        t = d.add_table(rows=len(table), cols=max(len(r) for r in table))
        for i, row in enumerate(table):
            for j, cell in enumerate(row):
                t.cell(i, j).text = cell
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def make_png(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    """A small grey-scale PNG (a stand-in for a scanned report page in a 图片版 report)."""
    raw = b"".join(b"\x00" + bytes(((x * 7 + y * 3 + seed) % 256) for x in range(width)) for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
