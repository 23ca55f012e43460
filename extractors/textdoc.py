"""Plain text → :class:`Document` (reports saved as text, like the project's seed).

Tables are found by the line grammar shared with the HTML reader (:mod:`extractors.linetables`): tab- or
pipe-separated lines, lines whose cells are separated by runs of spaces (copies that went through a text
editor or a web form lost their tabs), official row labels followed by numbers run together (copied from
a PDF), and one cell per line.  Every line that is not part of a table is a text block.  Provenance: each
block's ``loc`` and each table row's ``row_locs`` entry is its line number ("l45").
"""

from __future__ import annotations

from extractors.document import Block, Document, RawTable
from extractors.linetables import LineTable, find_tables


def add_line_table(doc: Document, t: LineTable, source: str, locs: list[str]) -> None:
    """Append a line table to ``doc`` as a grid (one block refers to it)."""
    idx = len(doc.tables)
    doc.tables.append(RawTable(idx, t.grid(), source=source, row_locs=[locs[i] for i in t.lines],
                               loose=frozenset(t.loose) or None))
    doc.blocks.append(Block("", table=idx, loc=locs[t.lines[0]]))


def read_text(text: str) -> Document:
    doc = Document(is_html=False)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    locs = [f"l{i + 1}" for i in range(len(lines))]
    i = 0
    for t in [*find_tables(lines), None]:
        stop = t.start if t is not None else len(lines)
        for j in range(i, stop):
            s = " ".join(lines[j].split())
            if s:
                doc.blocks.append(Block(s, loc=locs[j]))
        if t is None:
            break
        add_line_table(doc, t, "text", locs)
        i = t.end
    for b in doc.blocks:
        if b.table is None:
            doc.title_candidates.append(b.text)
            break
    return doc
