"""The report model: what the extractor gives and the validator, loader and alerts take.

Plain dataclasses so that the hot path stays cheap; :meth:`Report.to_json` is the stable JSON
contract of ``ogi extract --json`` (documented in docs/cli.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


class UnreadableInput(Exception):
    """The input cannot be read as a document at all (empty, binary, undecodable, too large).

    Distinct from a page that reads fine but is not a report (``Report.is_report = False``).
    """


@dataclass(slots=True)
class Section:
    number: int  # 1..6, the statutory section number (not the printed one, which may be shifted)
    heading: str  # as printed
    text: str


@dataclass(slots=True)
class Table:
    """One ``<table>`` (or text table) of the document, span-expanded to a rectangular grid."""

    index: int  # position among the document's tables
    grid: list[list[str]]
    kind: str | None = None  # "t2" | "t3" | "t4" | "meta" | "legacy_stats" | "t2_extra" | "t4_extra" | None
    #: For a logical table assembled from several physical ones (table 三 or 四 split in two).
    parts: tuple[int, ...] = ()
    source: str = "html"  # the reader that made the grid (see extractors.document.RawTable.source)
    row_locs: list[str] | None = None  # per grid row provenance ("p3:l12"), None = cell address


@dataclass(slots=True)
class Fact:
    table: str  # t2 | t3 | t4 | legacy (a figure stated by a pre-2019 report, see formats.LEGACY_FIGURES)
    row: str
    col: str
    value: float | int | None  # None = printed as not applicable ("/", "—")
    raw: str  # the cell text as printed (after whitespace collapse)
    table_index: int = -1
    grid_row: int = -1
    grid_col: int = -1
    implicit_zero: bool = False  # blank cell read as 0
    #: Provenance of a figure read from prose (legacy reports): the sentence as printed; None for a table cell
    #: (then table_index / grid_row / grid_col say where it is).
    sentence: str | None = None


@dataclass(slots=True)
class Finding:
    rule: str  # stable id, see extractors.rules.RULES
    severity: Severity
    message: str
    expected: float | None = None
    actual: float | None = None
    table: str | None = None
    row: str | None = None
    col: str | None = None


@dataclass(slots=True)
class Report:
    is_report: bool
    reason: str | None = None  # why not a report (or None)
    title: str = ""
    agency: str = ""
    year: int | None = None  # the statistics year
    published: dt.date | None = None
    template: str = "unknown"  # "2019" | "2021" | "legacy" | "unknown"
    sections: list[Section] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    text: str = ""  # the report body as plain text (chrome removed)
    encoding: str | None = None
    source_url: str | None = None
    #: Links to attachments found in the body (absolute URLs when the base URL is known).
    attachments: list[str] = field(default_factory=list)
    #: Images in the body that look like the tables themselves (图片版).
    images: list[str] = field(default_factory=list)
    #: A report we could not read (statistics only as an image, a scanned PDF, a .doc without a converter, a
    #: font without a text map): why.  Such a report is ``not_parsed`` whatever else it has, so that an analyst
    #: never reads a county we failed to read as a county with zero applications.
    unread: str | None = None
    #: What a non-report is, stable and machine-usable: one of :data:`extractors.classify.DOC_KINDS` (``notice``,
    #: ``interpretation``, ``summary``, ``list``, ``anti_crawl``, ``placeholder``, ``other_report``, ``not_a_report`` …);
    #: ``reason`` says why in words.  Read it through :attr:`document_kind` (``report`` for a report).
    doc_kind: str | None = None

    # ----------------------------------------------------------------- derived

    @property
    def status(self) -> str:
        """``ok`` | ``malformed`` (an error finding) | ``not_parsed`` (not a report, or a report we could not read)."""
        if not self.is_report or self.unread:
            return "not_parsed"
        return "malformed" if any(f.severity == "error" for f in self.findings) else "ok"

    @property
    def document_kind(self) -> str:
        """``report`` for a report (readable or not), else the non-report's kind (``not_a_report`` when unset)."""
        return "report" if self.is_report else (self.doc_kind or "not_a_report")

    def fact(self, table: str, row: str, col: str) -> Fact | None:
        for f in self.facts:
            if f.table == table and f.row == row and f.col == col:
                return f
        return None

    def fact_map(self) -> dict[tuple[str, str, str], float | int | None]:
        return {(f.table, f.row, f.col): f.value for f in self.facts}

    def content_hash(self) -> str:
        """Hash of what the report *says* (not of the page chrome): decides revisions."""
        h = hashlib.sha256()
        h.update(f"{self.title}\x00{self.agency}\x00{self.year}\x00{self.template}\x00".encode())
        for s in self.sections:
            h.update(f"{s.number}\x00{s.heading}\x00{s.text}\x00".encode())
        for f in sorted(self.facts, key=lambda f: (f.table, f.row, f.col)):
            h.update(f"{f.table}\x00{f.row}\x00{f.col}\x00{f.value}\x00".encode())
        return h.hexdigest()

    # ----------------------------------------------------------------- JSON contract

    def to_json(self) -> dict[str, Any]:
        return {
            "is_report": self.is_report,
            "reason": self.reason,
            "title": self.title,
            "agency": self.agency,
            "year": self.year,
            "published": self.published.isoformat() if self.published else None,
            "template": self.template,
            "status": self.status,
            "unread": self.unread,
            "doc_kind": self.document_kind,
            "sections": [{"number": s.number, "heading": s.heading, "text": s.text} for s in self.sections],
            "facts": [_fact_json(f) for f in self.facts],
            "findings": [{"rule": f.rule, "severity": f.severity, "message": f.message} for f in self.findings],
        }

    def dumps(self, **kw: Any) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, **kw)


def _fact_json(f: Fact) -> dict[str, Any]:
    out: dict[str, Any] = {"table": f.table, "row": f.row, "col": f.col, "value": f.value, "raw": f.raw}
    if f.sentence is not None:
        out["sentence"] = f.sentence
    return out
