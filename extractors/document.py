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


@dataclass(slots=True)
class Block:
    """A paragraph-like line of text, or a reference to a table (``table`` is its index)."""

    text: str
    table: int | None = None
    heading: bool = False  # from <h1>-<h6> / a title element
    chrome: bool = False  # inside navigation/footer-like containers


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
