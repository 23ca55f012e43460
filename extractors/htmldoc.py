"""HTML → :class:`Document` by walking ``lxml.html`` once.

Why lxml and not BeautifulSoup: bs4 tree building costs ~10 ms on a 60 KB Word-export page while
lxml parses it in ~0.4 ms (docs/extraction.md has the numbers measured by ``bench/extract.py``);
the walk below is the only place that touches markup, so the rest of the extractor is parser-agnostic.

The walk emits one block per paragraph-like element (``<p>``, ``<div>`` text, ``<li>``, ``<h*>``,
``<br>``-separated lines) and one block per data table.  Layout tables (tables that hold other
tables, or long prose in few columns — old portals lay out the whole article that way) are walked
into as text containers instead.  Navigation/footer containers are marked ``chrome``.
"""

from __future__ import annotations

import re

from lxml import etree

from extractors.document import Block, Document, Image, Link, RawTable
from extractors.sections import heading_of, match_section
from extractors.grid import MAX_COLSPAN, MAX_ROWSPAN, clamp_span, expand

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
#: Plain etree parser (no lxml.html element-class lookup: measurably faster); never touches the network.
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, recover=True, remove_blank_text=False)
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


def table_grid(table: etree._Element) -> list[list[str | None]]:
    rows = []
    for tr in _rows_of(table):
        cells = []
        for td in tr:
            if td.tag not in ("td", "th"):
                continue
            cells.append((_cell_text(td), clamp_span(td.get("rowspan"), MAX_ROWSPAN), clamp_span(td.get("colspan"), MAX_COLSPAN)))
        rows.append(cells)
    return expand(rows)


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


class _Walker:
    def __init__(self) -> None:
        self.doc = Document()
        self.buf: list[str] = []
        self.buf_heading = False
        self.chrome_depth = 0

    def flush(self) -> None:
        if self.buf:
            text = _collapse("".join(self.buf))
            if text:
                self.doc.blocks.append(Block(text, heading=self.buf_heading, chrome=self.chrome_depth > 0))
            self.buf = []
        self.buf_heading = False

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
                self.text(_STRING(el))
                self.flush()
            else:
                self.text(_STRING(el))
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
            grid = table_grid(el)
            if (grid and grid[0] and len({c for c in grid[0] if c is not None}) == 1 and grid[0][0] and len(grid[0][0]) <= 40
                    and heading_of(grid[0][0]) and match_section(grid[0][0], 0)):
                # a caption row spanning the whole table ("三、收到和处理政府信息公开申请情况"): also a text block
                self.doc.blocks.append(Block(grid[0][0], chrome=self.chrome_depth > 0))
            self.doc.tables.append(RawTable(idx, grid))
            self.doc.blocks.append(Block("", table=idx, chrome=self.chrome_depth > 0))
            for a in el.iter("a"):
                self._link(a)
            for img in el.iter("img"):
                self._image(img)
        else:
            is_block = tag in _BLOCK
            if is_block or tag == "br":
                self.flush()
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


def read_html(text: str) -> Document:
    """Parse HTML text (already decoded) into a :class:`Document`."""
    if text[:200].lstrip().startswith("<?xml"):
        text = _XML_DECL.sub("", text, count=1)  # lxml refuses str input with an encoding declaration
    try:
        root = etree.fromstring(text, _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return Document(is_html=True)
    if root is None:
        return Document(is_html=True)
    w = _Walker()
    try:
        w.walk(root)
    except RecursionError:  # absurdly deep markup: keep what was read so far
        pass
    w.flush()
    doc = w.doc
    tail = text[-2048:].rstrip().lower()
    opened = "<html" in text[:4096].lower()
    doc.truncated = opened and "</html>" not in tail and not tail.endswith(">")
    doc.unclosed = opened and "</html>" not in tail and "</body>" not in tail
    return doc
