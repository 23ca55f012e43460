"""A PDF page's characters, rules and images read with pdfium, as pdfplumber objects.

pdfplumber reads pages through pdfminer, whose content-stream parser is pure Python: on the Word/WPS
exports county portals publish (every glyph positioned by its own operator, a white rectangle behind every
line) it needs 60–75 ms per page before any table is looked for, i.e. fewer than 15 pages per second.
pdfium (pypdfium2, which pdfplumber already depends on) parses the same page in ~7 ms.  So the page
objects come from pdfium and everything else — ``dedupe_chars``, ``extract_words``, ``find_tables`` —
is pdfplumber's own code, run on a :class:`PdfiumPage` that carries these objects instead of pdfminer's.

Objects follow pdfplumber's conventions (``x0``/``x1``/``top``/``bottom`` from the top-left corner of
the page as displayed, ``upright``, ``fontname``, ``size``; rectangles with ``fill``/``stroke``) so that
the table finder sees what it would see from pdfminer:

* characters: pdfium's loose character box widths (the advance), and a height of one font size from
  just below the baseline (pdfminer uses each font's descent; one value for all fonts keeps a line whose
  characters come from a fallback font on one line);
  characters pdfium generates itself (spaces and line breaks it infers) are left out;
* paths: each closed axis-aligned four-point sub-path is a ``rect`` (filled and/or stroked, as drawn),
  every other straight horizontal or vertical segment a ``line``; curves and slanted segments are not
  rules and are dropped;
* images: the bounding box of each image object (a scanned page is one image covering the page).

Coordinates are turned into the displayed orientation: the page's ``/Rotate`` plus an optional
``turn`` (a landscape table drawn sideways on a portrait page, see :func:`text_turn`), so that text
reads left to right for the word and table code.
"""

from __future__ import annotations

import ctypes
import math
from collections import Counter
from typing import Any

import pdfplumber.page
import pypdfium2.raw as pdfium_c

Obj = dict[str, Any]
_Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: _Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


class PdfiumPage(pdfplumber.page.DerivedPage):
    """A pdfplumber page whose objects were read by pdfium (the parent page's own content is never parsed)."""

    def __init__(self, parent: pdfplumber.page.Page, objects: dict[str, list[Obj]], width: float, height: float):
        super().__init__(parent)
        self.bbox = (0, 0, width, height)
        self.mediabox = self.cropbox = self.bbox
        self._objects = objects


def _mul(m: _Matrix, n: _Matrix) -> _Matrix:
    """m then n (PDF row-vector convention)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def display_matrix(rotation: int, mediabox: tuple[float, float, float, float]) -> tuple[_Matrix, float, float]:
    """User space → displayed page space (origin bottom-left) for a clockwise ``rotation``; and the displayed size."""
    x0, y0, x1, y1 = mediabox
    w, h = x1 - x0, y1 - y0
    r = rotation % 360
    if r == 90:
        return (0.0, -1.0, 1.0, 0.0, -y0, x1), h, w
    if r == 180:
        return (-1.0, 0.0, 0.0, -1.0, x1, y1), w, h
    if r == 270:
        return (0.0, 1.0, -1.0, 0.0, y1, -x0), h, w
    return (1.0, 0.0, 0.0, 1.0, -x0, -y0), w, h


def _apply(m: _Matrix, x: float, y: float) -> tuple[float, float]:
    return x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5]


def text_turn(textpage, rotation: int) -> int:  # noqa: ANN001 - a raw FPDF_TEXTPAGE
    """The extra clockwise turn (0/90/180/270) that makes most of the page's text read left to right once
    the page's own ``/Rotate`` is applied: 90 for a table typeset sideways on a portrait page."""
    n = pdfium_c.FPDFText_CountChars(textpage)
    if n <= 0:
        return 0
    rot, _, _ = display_matrix(rotation, (0.0, 0.0, 1.0, 1.0))
    votes: Counter[int] = Counter()
    m = pdfium_c.FS_MATRIX()
    step = max(1, n // 400)
    for i in range(0, n, step):
        if pdfium_c.FPDFText_IsGenerated(textpage, i) or not pdfium_c.FPDFText_GetMatrix(textpage, i, m):
            continue
        a, b, _, _, _, _ = _mul((m.a, m.b, m.c, m.d, 0.0, 0.0), rot)
        angle = round(math.degrees(math.atan2(b, a)) / 90) % 4  # direction of the baseline, counter-clockwise
        votes[angle] += 1
    if not votes:
        return 0
    angle, count = votes.most_common(1)[0]
    if angle == 0 or count < 0.6 * sum(votes.values()):
        return 0
    return {1: 90, 2: 180, 3: 270}[angle]  # turning the page clockwise by this brings the baseline back to 0°


def page_objects(page, textpage, rotation: int, page_number: int, turn: int = 0) -> tuple[dict[str, list[Obj]], float, float]:  # noqa: ANN001
    """pdfplumber-style objects of one pdfium page; and the displayed width and height."""
    raw_page = page.raw if hasattr(page, "raw") else page
    left, bottom, right, top = _media_box(raw_page)
    disp, width, height = display_matrix(rotation + turn, (left, bottom, right, top))
    chars = _chars(textpage, disp, height, page_number)
    rects: list[Obj] = []
    lines: list[Obj] = []
    images: list[Obj] = []
    _walk(raw_page, None, _IDENTITY, disp, height, page_number, rects, lines, images, 0)
    objects: dict[str, list[Obj]] = {"char": chars}
    if rects:
        objects["rect"] = rects
    if lines:
        objects["line"] = lines
    if images:
        objects["image"] = images
    return objects, width, height


def _media_box(raw_page) -> tuple[float, float, float, float]:  # noqa: ANN001
    l, b, r, t = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
    if pdfium_c.FPDFPage_GetMediaBox(raw_page, l, b, r, t):
        return min(l.value, r.value), min(b.value, t.value), max(l.value, r.value), max(b.value, t.value)
    return 0.0, 0.0, pdfium_c.FPDF_GetPageWidthF(raw_page), pdfium_c.FPDF_GetPageHeightF(raw_page)


def _chars(textpage, disp: _Matrix, height: float, page_number: int) -> list[Obj]:  # noqa: ANN001
    n = pdfium_c.FPDFText_CountChars(textpage)
    out: list[Obj] = []
    box = pdfium_c.FS_RECTF()
    m = pdfium_c.FS_MATRIX()
    fonts: dict[int, str] = {}
    buf = ctypes.create_string_buffer(256)
    flags = ctypes.c_int()
    ox, oy = ctypes.c_double(), ctypes.c_double()
    a, b, c, d = disp[0], disp[1], disp[2], disp[3]
    for i in range(n):
        tp = textpage
        if pdfium_c.FPDFText_IsGenerated(tp, i):
            continue
        code = pdfium_c.FPDFText_GetUnicode(tp, i)
        if code in (10, 13):
            continue
        if not pdfium_c.FPDFText_GetLooseCharBox(tp, i, box):
            continue
        pdfium_c.FPDFText_GetMatrix(tp, i, m)
        # the character's direction in displayed space decides "upright" (pdfminer: a·d > 0 and b·c <= 0)
        ma, mb_, mc, md = m.a * a + m.b * c, m.a * b + m.b * d, m.c * a + m.d * c, m.c * b + m.d * d
        upright = ma * md > 0 and mb_ * mc <= 0
        obj = ctypes.cast(pdfium_c.FPDFText_GetTextObject(tp, i), ctypes.c_void_p).value or 0
        font = fonts.get(obj)
        if font is None:
            size = pdfium_c.FPDFText_GetFontInfo(tp, i, buf, 256, flags)
            font = fonts[obj] = buf.raw[: max(0, min(size, 256) - 1)].decode("utf-8", "replace")
        xa, ya = _apply(disp, box.left, box.bottom)
        xb, yb = _apply(disp, box.right, box.top)
        x0, x1 = (xa, xb) if xa <= xb else (xb, xa)
        y0, y1 = (ya, yb) if ya <= yb else (yb, ya)
        # pdfium's font size is the Tf operand; pdfminer's (and the eye's) includes the text matrix scale
        size = pdfium_c.FPDFText_GetFontSize(tp, i) * math.sqrt(abs(m.a * m.d - m.b * m.c))
        if upright and size > 0 and pdfium_c.FPDFText_GetCharOrigin(tp, i, ox, oy):
            # from the baseline, the same for every font: fallback fonts with their own ascent and descent
            # (LibreOffice prints "一" of "一、总体情况" in another font) must not break a line in two
            y0 = _apply(disp, ox.value, oy.value)[1] - _DESCENT * size
            y1 = y0 + size
        out.append({
            "text": chr(code) if 0 <= code < 0x110000 else "\ufffd",
            "fontname": font, "size": round(size, 3), "upright": upright,
            "x0": x0, "x1": x1, "y0": y0, "y1": y1, "top": height - y1, "bottom": height - y0,
            "doctop": height - y1, "width": x1 - x0, "height": y1 - y0,
            "matrix": (ma, mb_, mc, md, 0.0, 0.0), "object_type": "char", "page_number": page_number,
            "unmapped": bool(pdfium_c.FPDFText_HasUnicodeMapError(tp, i) == 1),
        })
    return out


_SNAP = 0.05
#: the descent below the baseline of a character box, in font sizes (pdfminer uses each font's own)
_DESCENT = 0.12


def _walk(container, form, ctm: _Matrix, disp: _Matrix, height: float, page_number: int,  # noqa: ANN001, PLR0913
          rects: list[Obj], lines: list[Obj], images: list[Obj], depth: int) -> None:
    """Paths and images of a page or form XObject (``form`` set), recursively, with the composed matrix."""
    count = pdfium_c.FPDFFormObj_CountObjects(form) if form is not None else pdfium_c.FPDFPage_CountObjects(container)
    m = pdfium_c.FS_MATRIX()
    for k in range(count):
        obj = pdfium_c.FPDFFormObj_GetObject(form, k) if form is not None else pdfium_c.FPDFPage_GetObject(container, k)
        if not obj:
            continue
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
            continue
        if not pdfium_c.FPDFPageObj_GetMatrix(obj, m):
            continue
        own = (m.a, m.b, m.c, m.d, m.e, m.f)
        if kind == pdfium_c.FPDF_PAGEOBJ_FORM:
            if depth < 8:
                _walk(container, obj, _mul(own, ctm), disp, height, page_number, rects, lines, images, depth + 1)
        elif kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            # a path's points are in its own space; pdfium reports the object's matrix separately
            _path(obj, _mul(_mul(own, ctm), disp), height, page_number, rects, lines)
        elif kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            full = _mul(_mul(own, ctm), disp)
            pts = [_apply(full, x, y) for x, y in ((0, 0), (1, 0), (0, 1), (1, 1))]
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
            images.append({"x0": x0, "x1": x1, "top": height - y1, "bottom": height - y0, "width": x1 - x0,
                           "height": y1 - y0, "object_type": "image", "page_number": page_number})


def _path(obj, full: _Matrix, height: float, page_number: int, rects: list[Obj], lines: list[Obj]) -> None:  # noqa: ANN001
    fillmode, stroke = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(obj, fillmode, stroke):
        return
    fill, stroked = fillmode.value != 0, bool(stroke.value)
    if not (fill or stroked):
        return
    width = ctypes.c_float()
    linewidth = width.value if pdfium_c.FPDFPageObj_GetStrokeWidth(obj, width) else 1.0
    n = pdfium_c.FPDFPath_CountSegments(obj)
    x, y = ctypes.c_float(), ctypes.c_float()
    subpaths: list[list[tuple[float, float]]] = []
    closed: list[bool] = []
    curved: list[bool] = []
    for i in range(n):
        seg = pdfium_c.FPDFPath_GetPathSegment(obj, i)
        if not seg or not pdfium_c.FPDFPathSegment_GetPoint(seg, x, y):
            continue
        t = pdfium_c.FPDFPathSegment_GetType(seg)
        px, py = _apply(full, x.value, y.value)
        if t == pdfium_c.FPDF_SEGMENT_MOVETO or not subpaths:
            subpaths.append([(px, py)])
            closed.append(False)
            curved.append(False)
        else:
            subpaths[-1].append((px, py))
            if t == pdfium_c.FPDF_SEGMENT_BEZIERTO:
                curved[-1] = True
        if pdfium_c.FPDFPathSegment_GetClose(seg):
            closed[-1] = True
    base = {"fill": fill, "stroke": stroked, "linewidth": linewidth, "page_number": page_number}
    for pts, is_closed, is_curved in zip(subpaths, closed, curved):
        if is_curved or len(pts) < 2:
            continue
        if is_closed and pts[-1] != pts[0]:
            pts = pts + [pts[0]]
        if len(pts) == 5 and pts[0] == pts[-1] or len(pts) == 4 and is_closed:
            xs, ys = {round(p[0], 2) for p in pts}, {round(p[1], 2) for p in pts}
            if len(xs) <= 2 and len(ys) <= 2 and _axis_aligned(pts):
                x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
                y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
                rects.append({**base, "x0": x0, "x1": x1, "top": height - y1, "bottom": height - y0, "y0": y0, "y1": y1,
                              "doctop": height - y1, "width": x1 - x0, "height": y1 - y0, "object_type": "rect"})
                continue
        if not stroked:
            continue  # a filled polygon that is not a rectangle: no rule
        for (xa, ya), (xb, yb) in zip(pts, pts[1:]):
            if abs(ya - yb) <= _SNAP:
                yb = ya
            elif abs(xa - xb) <= _SNAP:
                xb = xa
            else:
                continue
            if (xa, ya) == (xb, yb):
                continue
            x0, x1, y0, y1 = min(xa, xb), max(xa, xb), min(ya, yb), max(ya, yb)
            lines.append({**base, "x0": x0, "x1": x1, "top": height - y1, "bottom": height - y0, "y0": y0, "y1": y1,
                          "doctop": height - y1, "width": x1 - x0, "height": y1 - y0, "object_type": "line",
                          "pts": [(xa, height - ya), (xb, height - yb)]})


def _axis_aligned(pts: list[tuple[float, float]]) -> bool:
    return all(abs(a[0] - b[0]) <= _SNAP or abs(a[1] - b[1]) <= _SNAP for a, b in zip(pts, pts[1:]))
