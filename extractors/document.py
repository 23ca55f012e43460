"""The intermediate, format-independent view of a document that the extractor reasons about.

Both readers (HTML via lxml, plain text) produce a :class:`Document`: the ordered blocks of text
and tables, the page title candidates, links and images.  Everything after that (sections,
tables, metadata, classification) works on this and never sees markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class RawTable:
    index: int
    grid: list[list[str | None]]  # span-expanded; None = no source cell at that position
    #: Which reader made the grid: "html" (a <table>), "html-text" (lines laid out as a table inside HTML),
    #: "text", "pdf", "pdf-unruled", "docx", "xlsx", "xls", "doc" (a converted legacy office file), …
    source: str = "html"
    #: Provenance of each grid row ("p3:l12" = page 3, line 12; "l45" = line 45 of a text); None = the cell address
    #: (table index, grid row, grid column) is the provenance.
    row_locs: list[str] | None = None
    #: Where the source cells lie, per grid row: ``(first grid column, end grid column, x0, x1)`` of each cell
    #: covering the row, x in the reader's units (Word's ``width`` pixels, PDF points); None = not recorded.  Lets
    #: the table reader put a value under the header cell it is drawn under, whatever the spans say.
    geometry: list[list[tuple[int, int, float, float]]] | None = None
    #: Grid rows of a line table whose printed cells need not map one to one onto the form's columns: blanks that
    #: left no trace (runs of spaces, one cell per paragraph) or cells run together ("230 000023").  The table
    #: reader decodes them with the form's identities (``extractors.glued``).
    loose: frozenset[int] | None = None


@dataclass(slots=True)
class Block:
    """A paragraph-like line of text, or a reference to a table (``table`` is its index)."""

    text: str
    table: int | None = None
    heading: bool = False  # from <h1>-<h6> / a title element
    chrome: bool = False  # inside navigation/footer-like containers
    loc: str | None = None  # provenance when it is not the block order: "p3:l12" (PDF page/line), "l45" (text line)


@dataclass(slots=True)
class Link:
    href: str
    text: str
    block: int  # index of the block it appears in (or the next block)


@dataclass(slots=True)
class Image:
    src: str
    alt: str
    block: int


@dataclass(slots=True)
class Document:
    blocks: list[Block] = field(default_factory=list)
    tables: list[RawTable] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    title_candidates: list[str] = field(default_factory=list)  # <h1>, article title, <title>, meta
    is_html: bool = True
    truncated: bool = False  # ends mid-text/mid-tag with no closing </html>
    #: no closing </body> or </html> at all: truncated if the report also stops before its last section
    unclosed: bool = False
    has_password_input: bool = False
    #: ``<meta name=… content=…>`` of the page head, names lower-cased (PubDate, ContentSource, …)
    meta: dict[str, str] = field(default_factory=dict)
    #: What the reader noticed but could not fix, as ``(rule, message)``: the engine turns each into a finding
    #: (``pdf.image_page``, ``converter.missing``, ``text.unmapped_font`` …; severities in ``extractors.rules.RULES``).
    notes: list[tuple[str, str]] = field(default_factory=list)
    #: Set by a reader that could not read the document's content at all although it is a document (a scanned
    #: PDF, a .doc with no converter installed): the report becomes ``not_parsed`` with this reason.
    unread: str | None = None
