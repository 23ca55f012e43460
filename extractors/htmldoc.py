"""HTML → :class:`Document` by walking ``lxml.html`` once.

Why lxml and not BeautifulSoup: bs4 tree building costs ~10 ms on a 60 KB Word-export page while
lxml parses it in ~0.4 ms (docs/extraction.md has the numbers measured by ``bench/extract.py``);
the walk below is the only place that touches markup, so the rest of the extractor is parser-agnostic.

The walk emits one block per paragraph-like element (``<p>``, ``<div>`` text, ``<li>``, ``<h*>``,
``<br>``-separated lines, each line of a ``<pre>``) and one block per data table.  Layout tables (tables that
hold other tables, or long prose in few columns — old portals lay out the whole article that way) are walked
into as text containers instead.  Navigation/footer containers are marked ``chrome``.

Statistics pasted as text (one ``<p>``/``<br>`` line per row with tabs, runs of spaces, ``&nbsp;`` or
ideographic spaces between the cells, a ``<pre>`` block, a markdown pipe table, or one cell per paragraph)
are found after the walk by the line grammar shared with the text reader (:mod:`extractors.linetables`):
a run of lines that is one of the form's tables replaces its blocks by one table (``RawTable.source =
"html-text"``, ``row_locs`` = source line numbers).  For table 二 the walk also records where each cell is
drawn (``RawTable.geometry``, from Word's ``width`` attributes), so crooked Word spans cannot shift a value
into its neighbour's column.
"""

from __future__ import annotations

import re

from lxml import etree

from extractors.document import Block, Document, Image, Link, RawTable
from extractors.grid import MAX_COLSPAN, MAX_ROWSPAN, clamp_span, expand, geometry
from extractors.linetables import find_tables
from extractors.sections import heading_of, match_section
from extractors.threadsafety import html_parser

_SKIP = frozenset({"script", "style", "noscript", "head", "template", "select", "option", "button", "iframe", "svg", "textarea", "object", "embed"})
_BLOCK = frozenset(
    {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "blockquote", "dd", "dt", "dl",
     "tr", "td", "th", "center", "pre", "form", "header", "main", "aside", "address", "caption", "tbody", "thead", "hr", "body",
     "ucapcontent", "ucaptitle", "publishtime"}
)
_HEADING = frozenset({"h1", "h2", "h3", "ucaptitle"})
_CHROME_TAGS = frozenset({"nav", "footer"})
_CHROME_HINT = re.compile(
    r"(?:^|[\s_\-])(?:nav|navbar|menu|footer|foot|breadcrumb|crumbs?|copyright|sidebar|share|friendlink|topbar|toolbar|"
    r"header-t|position|location|dqwz|bottom|related|relate|xgxx|xgwz|xgwj|xglj|tuijian|recommend|hotnews|pagination|pager)(?:$|[\s_\-\d])|"
    r"mainnav|subnav|topnav|footer|breadcrumb|copyright|sidebar|related",
    re.I,
)
_WS = re.compile(r"[ \t\r\n\f\v\u00a0\u3000\u200b\ufeff]+")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


def _collapse(text: str) -> str:
    return " ".join(text.replace("\u200b", "").replace("\ufeff", "").split())


def _STRING(el: etree._Element) -> str:  # noqa: N802 - reads like the XPath string() it replaces
    """All text below an element, in C (``tostring(method="text")`` is faster than XPath ``string()``)."""
    return etree.tostring(el, method="text", encoding="unicode", with_tail=False)


def _cell_text(el: etree._Element) -> str:
    """Text of a cell or inline element."""
    return _collapse(_STRING(el))


def _rows_of(table: etree._Element) -> list[etree._Element]:
    rows: list[etree._Element] = []
    for child in table:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "tr":
            rows.append(child)
        elif tag in ("tbody", "thead", "tfoot"):
            rows.extend(c for c in child if c.tag == "tr")
    return rows


def _table_rows(table: etree._Element) -> tuple[list[list[tuple[str, int, int]]], list[etree._Element]]:
    trs = _rows_of(table)
    rows = []
    for tr in trs:
        cells = []
        for td in tr:
            if td.tag not in ("td", "th"):
                continue
            cells.append((_cell_text(td), clamp_span(td.get("rowspan"), MAX_ROWSPAN), clamp_span(td.get("colspan"), MAX_COLSPAN)))
        rows.append(cells)
    return rows, trs


def table_grid(table: etree._Element) -> list[list[str | None]]:
    return expand(_table_rows(table)[0])


_STYLE_WIDTH = re.compile(r"(?:^|;)\s*width\s*:\s*(\d+(?:\.\d+)?)\s*pt", re.I)


def _widths(trs: list[etree._Element]) -> list[float | None]:
    """The drawn width of every cell in source order: Word writes ``width`` (pixels), else ``style="width:…pt"``."""
    attr = any(td.get("width") for tr in trs[:3] for td in tr if td.tag in ("td", "th"))
    out: list[float | None] = []
    for tr in trs:
        for td in tr:
            if td.tag not in ("td", "th"):
                continue
            w = td.get("width") if attr else ((m := _STYLE_WIDTH.search(td.get("style") or "")) and m.group(1))
            try:
                out.append(float(w) if w else None)
            except ValueError:
                out.append(None)
    return out


def _misaligned(anchors: list[tuple[int, int, int, int]]) -> bool:
    """Do two adjacent rows of a table (a header and its data rows) start their cells at different grid
    columns?  Then the grid positions say nothing reliable about which value sits under which header, and the
    drawn geometry is needed; otherwise positions are exact and the geometry is not computed (fast path)."""
    rows: dict[int, list[int]] = {}
    for r, c, rs, _ in anchors:
        if rs > 1:
            return True
        rows.setdefault(r, []).append(c)
    prev: list[int] | None = None
    for r in sorted(rows):
        starts = rows[r]
        if len(starts) < 2:
            prev = None  # a block title spanning the table separates the blocks
        elif prev is not None and starts != prev:
            return True
        else:
            prev = starts
    return False


def table_geometry(table: etree._Element) -> list[list[tuple[int, int, float, float]]]:
    """Where each cell of a table is drawn (see :func:`extractors.grid.geometry`)."""
    rows, trs = _table_rows(table)
    anchors: list[tuple[int, int, int, int]] = []
    expand(rows, anchors)
    return geometry(anchors, _widths(trs), len(rows))


def _is_layout_table(table: etree._Element) -> bool:
    if table.find(".//table") is not None:
        return True
    rows = _rows_of(table)
    if not rows:
        return True
    max_cells = max((sum(1 for td in tr if td.tag in ("td", "th")) for tr in rows), default=0)
    if max_cells <= 2:
        long_text = sum(len(_cell_text(td)) for tr in rows for td in tr if td.tag in ("td", "th"))
        if long_text > 400:
            return True
    return False


#: Tags whose presence inside an element means the walk must descend (blocks, tables, links, images, breaks, inputs).
_STRUCT_TAGS = frozenset({
    "table", "p", "div", "br", "a", "img", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "input", "tr", "section",
    "article", "script", "style", "ucaptitle", "ucapcontent", "publishtime", "nav", "footer", "header", "form", "iframe",
    "select", "noscript", "template", "svg", "object", "embed", "textarea", "button",
})


def _has_struct(el: etree._Element) -> bool:
    """A Python loop over a Word paragraph's few descendants beats an XPath call (~2 µs vs ~15 µs, measured)."""
    for d in el.iterdescendants():
        if d.tag in _STRUCT_TAGS:
            return True
    return False


_LEAF_OK = frozenset({"p", "span", "font", "b", "strong", "em", "i", "u", "li", "td", "th", "h4", "h5", "h6", "dd", "dt", "center"})
_CHROME_CACHE: dict[str, bool] = {}


def _chrome_class(cls: str) -> bool:
    hit = _CHROME_CACHE.get(cls)
    if hit is None:
        hit = bool(_CHROME_HINT.search(cls))
        if len(_CHROME_CACHE) < 10000:
            _CHROME_CACHE[cls] = hit
    return hit


_MAX_ROW = 300  # a table row laid out as text is shorter than this (a table 三 row is ~120 characters)
#: a separator between cells inside one line of text (after source-formatting whitespace is folded)
_CELL_SEP = re.compile(r"\t|\u3000|[ \u00a0]{2}")
_SOURCE_WS = re.compile(r"[ \t\u00a0]*[\r\n]\s*")


def _line(raw: str) -> str | None:
    """The text of a block as a line of cells, when it has separators between cells (tabs, runs of spaces or
    &nbsp;, ideographic spaces); None otherwise.  Whitespace with a line break is the page's source formatting
    (browsers render it as one space), not a separator."""
    line = _SOURCE_WS.sub(" ", raw).strip(" \u00a0\u3000\u200b\ufeff")
    return line if _CELL_SEP.search(line) else None


class _Walker:
    def __init__(self) -> None:
        self.doc = Document()
        self.buf: list[str] = []
        self.buf_heading = False
        self.chrome_depth = 0
        self.cur: etree._Element | None = None  # the element the current block starts at (its source line)
        self.els: dict[int, etree._Element | None] = {}  # block index → the element it starts at
        self.lines: dict[int, str] = {}  # block index → its text as a line of cells (only blocks with separators)
        self.pre_lines: dict[int, int] = {}  # block index → source line, for the lines of a <pre>
        self.candidates: list[int] = []  # blocks that may be rows of a text-laid table (separators, a final digit, pipes)

    def flush(self) -> None:
        if self.buf:
            joined = "".join(self.buf)
            text = _collapse(joined)
            if text:
                idx = len(self.doc.blocks)
                if len(text) > _MAX_ROW:
                    pass  # prose: never a row of a table
                elif "\t" in joined or "\u3000" in joined or "\u00a0" in joined or "  " in joined:
                    line = _line(joined)
                    if line is not None:
                        self.lines[idx] = line
                        self.candidates.append(idx)
                elif text[-1].isdigit() or "|" in text:
                    self.candidates.append(idx)
                self.els[idx] = self.cur
                self.doc.blocks.append(Block(text, heading=self.buf_heading, chrome=self.chrome_depth > 0))
            self.buf = []
        self.buf_heading = False

    def pre(self, el: etree._Element) -> None:
        """A ``<pre>`` block: every line is a block, and its spaces are the page's own (cell separators)."""
        self.flush()
        first = el.sourceline or 0
        for k, raw in enumerate(_STRING(el).replace("\r\n", "\n").replace("\r", "\n").split("\n")):
            text = _collapse(raw)
            if not text:
                continue
            idx = len(self.doc.blocks)
            line = raw.replace("\u00a0", " ").strip(" \u3000")
            if _CELL_SEP.search(line):
                self.lines[idx] = line
            if idx in self.lines or text[-1].isdigit() or "|" in text:
                self.candidates.append(idx)
            self.doc.blocks.append(Block(text, chrome=self.chrome_depth > 0))
            self.pre_lines[idx] = first + k

    def text(self, s: str | None) -> None:
        if s:
            self.buf.append(s)

    def walk(self, el: etree._Element) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if not tag:  # comment / processing instruction
            self.text(el.tail)
            return
        tag = tag.lower()
        if tag in _SKIP:
            if tag == "head":
                t = el.find(".//title")
                if t is not None and t.text:
                    self.doc.title_candidates.append(_collapse(t.text))
                for meta in el.iter("meta"):
                    name = (meta.get("name") or "").lower()
                    c = _collapse(meta.get("content") or "")
                    if name and c and len(self.doc.meta) < 200:
                        self.doc.meta.setdefault(name, c[:500])
                    if name in ("articletitle", "title") and c:
                        self.doc.title_candidates.insert(0, c)
            self.text(el.tail)
            return
        if tag == "input" and (el.get("type") or "").lower() == "password":
            self.doc.has_password_input = True
        c1, c2 = el.get("class"), el.get("id")
        cls = f"{c1 or ''} {c2 or ''}" if (c1 or c2) else ""
        chrome = tag in _CHROME_TAGS or (cls != "" and _chrome_class(cls))
        if not chrome and tag in _LEAF_OK and len(el) and not _has_struct(el):
            # fast path: a Word paragraph of nested spans/fonts is read in one C-level call
            if tag in _BLOCK:
                self.flush()
                self.cur = el
                self.text(_STRING(el))
                self.flush()
            else:
                self.text(_STRING(el))
            self.text(el.tail)
            return
        if tag == "pre":
            self.pre(el)
            self.text(el.tail)
            return
        if chrome:
            self.flush()
            self.chrome_depth += 1
        if tag == "table" and not _is_layout_table(el):
            self.flush()
            idx = len(self.doc.tables)
            for cap in el.iterchildren("caption"):
                # <caption>三、收到和处理政府信息公开申请情况</caption>: the section heading lives in the table
                t = _cell_text(cap)
                if t:
                    self.doc.blocks.append(Block(t, chrome=self.chrome_depth > 0))
            rows, trs = _table_rows(el)
            # table 二 (its block title or header in the first rows): note where its cells are placed
            t2 = any("第二十条" in text or "信息内容" in text for row in rows[:4] for text, _, _ in row)
            anchors: list[tuple[int, int, int, int]] | None = [] if t2 else None
            grid = expand(rows, anchors)
            raw = RawTable(idx, grid)
            if anchors is not None and _misaligned(anchors):
                raw.geometry = geometry(anchors, _widths(trs), len(grid))  # values go under their header cells
            if (grid and grid[0] and len({c for c in grid[0] if c is not None}) == 1 and grid[0][0] and len(grid[0][0]) <= 40
                    and heading_of(grid[0][0]) and match_section(grid[0][0], 0)):
                # a caption row spanning the whole table ("三、收到和处理政府信息公开申请情况"): also a text block
                self.doc.blocks.append(Block(grid[0][0], chrome=self.chrome_depth > 0))
            self.doc.tables.append(raw)
            self.doc.blocks.append(Block("", table=idx, chrome=self.chrome_depth > 0))
            for a in el.iter("a"):
                self._link(a)
            for img in el.iter("img"):
                self._image(img)
        else:
            is_block = tag in _BLOCK
            if is_block or tag == "br":
                self.flush()
                self.cur = el
            if tag in _HEADING:
                self.buf_heading = True
                if tag in ("h1", "ucaptitle"):
                    t = _cell_text(el)
                    if t:
                        self.doc.title_candidates.insert(0, t)
            elif tag == "a":
                self._link(el)
            elif tag == "img":
                self._image(el)
            self.text(el.text)
            for child in el:
                self.walk(child)
            if is_block:
                self.flush()
        if chrome:
            self.flush()
            self.chrome_depth -= 1
        self.text(el.tail)

    def _link(self, a: etree._Element) -> None:
        href = (a.get("href") or "").strip()
        if href:
            self.doc.links.append(Link(href, _cell_text(a), len(self.doc.blocks)))

    def _image(self, img: etree._Element) -> None:
        src = (img.get("src") or img.get("data-src") or "").strip()
        if src:
            self.doc.images.append(Image(src, (img.get("alt") or img.get("title") or "").strip(), len(self.doc.blocks)))


class _BlockLines:
    """The blocks as lines for :func:`extractors.linetables.find_tables`, built only where it looks: None for a
    table, chrome or a heading (no text table crosses them), else the block's line of cells or its text."""

    def __init__(self, blocks: list[Block], raw: dict[int, str]) -> None:
        self.blocks, self.raw = blocks, raw

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, i: int) -> str | None:
        b = self.blocks[i]
        if b.table is not None or b.chrome or b.heading:
            return None
        return self.raw.get(i, b.text)


def _text_tables(w: _Walker) -> None:
    """Replace the blocks of statistics laid out as text by the tables they are (see the module docstring)."""
    doc = w.doc
    blocks = doc.blocks
    candidates = [i for i in w.candidates if not (blocks[i].chrome or blocks[i].heading)]
    if not candidates:
        return
    lines = _BlockLines(blocks, w.lines)
    found = find_tables(lines, official_only=True, candidates=candidates)
    if not found:
        return

    def loc(i: int) -> str:
        n = w.pre_lines.get(i)
        if n is None:
            el = w.els.get(i)
            n = el.sourceline if el is not None else None
            if n and el.tag == "br":  # the line starts after the <br>: where its text does
                tail = el.tail or ""
                n += tail[:len(tail) - len(tail.lstrip())].count("\n")
        return f"l{n}" if n else f"b{i}"

    new_blocks: list[Block] = []
    tables: list[RawTable] = []
    moved = [0] * (len(blocks) + 1)

    def keep(i: int) -> None:
        b = blocks[i]
        if b.table is not None:
            t = doc.tables[b.table]
            t.index = b.table = len(tables)
            tables.append(t)
        moved[i] = len(new_blocks)
        new_blocks.append(b)

    pos = 0
    for t in found:
        for i in range(pos, t.start):
            keep(i)
        locs = [loc(i) for i in t.lines]
        tables.append(RawTable(len(tables), t.grid(), source="html-text", row_locs=locs, loose=frozenset(t.loose) or None))
        for i in range(t.start, t.end):
            moved[i] = len(new_blocks)
        new_blocks.append(Block("", table=len(tables) - 1, loc=locs[0]))
        pos = t.end
    for i in range(pos, len(blocks)):
        keep(i)
    moved[len(blocks)] = len(new_blocks)
    doc.blocks, doc.tables = new_blocks, tables
    for item in (*doc.links, *doc.images):
        item.block = moved[min(item.block, len(blocks))]


#: Elements nested deeper than this are unwrapped before parsing: libxml2 stops at depth 256 and silently
#: drops everything after that point (text after the nest closes included).
MAX_DEPTH = 200
_BR_RUN = re.compile(r"<br>(?:\s*<br>)+")  # the wrappers of one nest leave one line break, not 100,000
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:_-]*)\b[^>]*?(/?)>")
_VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "embed", "param", "source",
                   "track", "wbr"})
_SELF_CLOSING = {"p": ("p",), "li": ("li",), "td": ("td", "th"), "th": ("td", "th"), "tr": ("tr",), "dt": ("dt", "dd"),
                 "dd": ("dt", "dd"), "option": ("option",)}


def _too_deep(parser: etree.HTMLParser) -> bool:
    return any(e.type_name == "ERR_RESOURCE_LIMIT" or "Excessive depth" in e.message for e in parser.error_log)


def flatten_deep(text: str, limit: int = MAX_DEPTH) -> tuple[str, int]:
    """``text`` with every tag nested deeper than ``limit`` removed (a block tag becomes ``<br>`` so lines stay
    apart) and the number removed: the text of the deep part is kept, only its wrappers go."""
    stack: list[tuple[str, bool]] = []  # (tag, kept)
    kept_depth = 0
    dropped = 0

    def sub(m: re.Match) -> str:
        nonlocal kept_depth, dropped
        close, name, selfclose = m.group(1), m.group(2).lower(), m.group(3)
        if name in _VOID or selfclose:
            return m.group(0)
        if not close:
            implied = _SELF_CLOSING.get(name)
            if implied and stack and stack[-1][0] in implied:
                kept_depth -= stack.pop()[1]
            keep = kept_depth < limit
            stack.append((name, keep))
            kept_depth += keep
            if keep:
                return m.group(0)
            dropped += 1
            return "<br>" if name in _BLOCK else ""
        for i in range(len(stack) - 1, max(-1, len(stack) - 10_000), -1):
            if stack[i][0] == name:
                was_kept = stack[i][1]
                for _, k in stack[i:]:
                    kept_depth -= k
                del stack[i:]
                if was_kept:
                    return m.group(0)
                dropped += 1
                return "<br>" if name in _BLOCK else ""
        return m.group(0)  # a stray close tag: the parser ignores it

    return _BR_RUN.sub("<br>", _TAG.sub(sub, text)), dropped


def read_html(text: str) -> Document:
    """Parse HTML text (already decoded) into a :class:`Document`."""
    if text[:200].lstrip().startswith("<?xml"):
        text = _XML_DECL.sub("", text, count=1)  # lxml refuses str input with an encoding declaration
    notes: list[tuple[str, str]] = []
    try:
        parser = html_parser()  # one per thread: its error log is read below (extractors/threadsafety.py)
        root = etree.fromstring(text, parser)
        if root is not None and _too_deep(parser):
            text, dropped = flatten_deep(text)
            root = etree.fromstring(text, parser)
            notes.append(("html.deep_nesting", f"markup nested deeper than {MAX_DEPTH} levels: {dropped:,} wrapper "
                                               "tags below that depth were removed and their text read in place"))
            if _too_deep(parser):  # still too deep (cannot happen by construction): say so, never silently
                notes.append(("html.text_lost", "the page is still too deeply nested: text after that point is lost"))
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return Document(is_html=True)
    if root is None:
        return Document(is_html=True)
    w = _Walker()
    w.doc.notes.extend(notes)
    try:
        w.walk(root)
    except RecursionError:  # absurdly deep markup: keep what was read so far, and say that the rest is lost
        w.doc.notes.append(("html.text_lost", "the page is nested too deeply to walk: text after that point is lost"))
    w.flush()
    doc = w.doc
    _text_tables(w)
    tail = text[-2048:].rstrip().lower()
    opened = "<html" in text[:4096].lower()
    doc.truncated = opened and "</html>" not in tail and not tail.endswith(">")
    doc.unclosed = opened and "</html>" not in tail and "</body>" not in tail
    return doc
