"""Plain text → :class:`Document` (reports saved as text, like the project's seed).

Tables in text reports are runs of tab-separated lines; a blank line inside a run does not end it
(the seed has one after its first data row).  Each line becomes a grid row, cells stripped.
"""

from __future__ import annotations

from extractors.document import Block, Document, RawTable


def _cells(line: str) -> list[str | None]:
    if "\t" in line:
        return [c.strip() for c in line.split("\t")]
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _is_table_line(line: str) -> bool:
    return line.count("\t") >= 1 or (line.count("|") >= 3 and line.strip().startswith("|"))


def read_text(text: str) -> Document:
    doc = Document(is_html=False)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if _is_table_line(line) and line.strip():
            rows: list[list[str | None]] = []
            while i < n:
                cur = lines[i]
                if _is_table_line(cur) and cur.strip():
                    rows.append(_cells(cur))
                    i += 1
                elif not cur.strip():
                    j = i
                    while j < n and not lines[j].strip():
                        j += 1
                    if j < n and _is_table_line(lines[j]) and lines[j].strip():
                        i = j
                    else:
                        break
                else:
                    break
            width = max(len(r) for r in rows)
            grid = [r + [None] * (width - len(r)) for r in rows]
            idx = len(doc.tables)
            doc.tables.append(RawTable(idx, grid))
            doc.blocks.append(Block("", table=idx))
            continue
        s = " ".join(line.split())
        if s:
            doc.blocks.append(Block(s))
        i += 1
    for b in doc.blocks:
        if b.table is None:
            doc.title_candidates.append(b.text)
            break
    return doc
