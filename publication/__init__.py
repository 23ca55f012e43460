"""Publication decision: the stage between extract and load that says what each fetched document *is*.

One publication, one report.  County portals often attach the Word/PDF original under an HTML report, or
publish a page that only says 请见附件 and carries the report as its attachment (附件版).  Loading every fetched
document as a report would count such reports twice, or load the stub page (no tables, no facts) as the
report.  This stage decides, per report page and its attachments, which document is the report:

- ``report``:  the document is the report (a complete page, or the attachment a carrier page points to);
- ``copy``:    an attachment of a complete report page: the same report again (archived, never loaded);
- ``carrier``: a page that only carries the report as an attachment: the attachment is the report and
  inherits what only the page shows (publication date, agency, list title);
- ``pending``: a carrier page whose attachment is not available in this run (fetch failed, not reached
  before a crash): neither the page nor anything else is loaded as the report tonight; the next run that has
  the attachment decides again.  Without this, a failed attachment fetch made the stub page a report, and the
  warehouse after a failure differed from the one a clean run builds (issue 11).

The decision must not depend on what happened to be fetched in the same run: decisions are stored by the
loader (``main.publications``) together with the data they describe, keyed by the page body (sha256), and an
unchanged page whose attachments are unchanged reuses its stored decision — it is not re-extracted every night.

This module imports only the stages before it (extract): it works on any document object with the fields of
:class:`Document` (``warehouse.inputs.DocumentInput`` has them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Protocol

from extractors.model import Report

Role = Literal["report", "copy", "carrier", "pending"]


class Document(Protocol):
    """What the stage needs of a fetched, possibly extracted document (fields it may set are marked)."""

    portal_id: str
    url: str
    sha256: str
    kind: str  # "report_page" | "attachment"
    crawl_status: str  # "new" | "changed" | "unchanged"
    parent_url: str | None
    report: Report | None  # set: extracted this run; None: unchanged (not re-read) or unreadable
    error: str | None
    link_text: str | None
    list_date: Any
    supplement_of: str | None  # set by this stage: the document this one is a copy / carrier of


@dataclass(frozen=True, slots=True)
class Decision:
    """What a document is, decided from the page body ``sha256`` (and its attachments)."""

    portal_id: str
    url: str
    sha256: str
    role: Role
    of_url: str | None = None  # copy: the report page; carrier / pending: the attachment that is the report


@dataclass(slots=True)
class PublicationInput:
    portal_id: str
    documents: list[Any]  # list[Document], pages and attachments of one portal (this run)
    #: Decisions stored by earlier runs, by URL (only pages and attachments that have a page relation).
    stored: dict[str, Decision] = field(default_factory=dict)
    #: Extracts an unchanged page from the archive when its stored decision cannot be reused.
    read_page: Callable[[Any], Report | None] | None = None


@dataclass(slots=True)
class PublicationOutput:
    documents: list[Any]  # the same documents, with ``supplement_of`` / ``report`` set per the decisions
    decisions: list[Decision]  # to store (pages with attachments, and those attachments)
    pages_read: int = 0  # unchanged pages re-extracted because no stored decision fitted
    pages_reused: int = 0  # unchanged pages decided by their stored decision (no extraction)
    pending: list[str] = field(default_factory=list)  # carrier pages waiting for their attachment


def is_complete_report(report: Report | None) -> bool:
    """Table 三 read, or the figures of a pre-2019 report (its .doc copy must not replace a page that was read)."""
    return (report is not None and report.is_report and not report.unread
            and any(f.table in ("t3", "legacy") for f in report.facts))


def _reads_as_report(att: Any) -> bool:
    # extracted this run: what it says; unchanged (not re-read): it was loadable before unless it failed to read
    return att.report.is_report if att.report is not None else att.error is None


def decide(inp: PublicationInput) -> PublicationOutput:
    """Decide every page that has (or links) attachments; see the module docstring for the rules."""
    docs = inp.documents
    out = PublicationOutput(documents=docs, decisions=[])
    pages = {d.url: d for d in docs if d.kind != "attachment"}
    children: dict[str, list[Any]] = {}
    for d in docs:
        if d.kind == "attachment" and d.parent_url in pages:
            children.setdefault(d.parent_url, []).append(d)
    for page_url, page in pages.items():
        atts = children.get(page_url, [])
        stored = inp.stored.get(page_url)
        report = page.report
        quiet = report is None and not page.error and all(a.crawl_status == "unchanged" for a in atts)
        if quiet and stored is not None and stored.sha256 == page.sha256 and stored.role != "pending":
            out.pages_reused += 1
            _apply(out, page, atts, stored.role, stored.of_url, None)
            continue
        if report is None and not page.error and (atts or stored is not None):
            if inp.read_page is not None:
                report = inp.read_page(page)  # an unchanged page whose decision must be made again
                out.pages_read += 1
        linked = list(dict.fromkeys(list(report.attachments if report is not None else []) + [a.url for a in atts]))
        if not atts and not (linked and not is_complete_report(report)):
            continue  # a page without attachments is its own report: nothing to decide or store
        if is_complete_report(report):
            _apply(out, page, atts, "report", None, report)
            continue
        carrier = next((a for a in atts if _reads_as_report(a)), None)
        if carrier is not None:
            _apply(out, page, atts, "carrier", carrier.url, report)
            continue
        present = {a.url for a in atts}
        absent = [u for u in linked if u not in present]
        if absent and (report is None or not report.is_report or report.unread or not report.facts):
            # its attachment is not here tonight: wait for it rather than load the stub page as the report
            _apply(out, page, atts, "pending", absent[0], report)
            out.pending.append(page_url)
            continue
        _apply(out, page, atts, "report", None, report)  # no attachment is readable: the page stays the report
    return out


def _apply(out: PublicationOutput, page: Any, atts: Iterable[Any], role: Role, of_url: str | None,
           page_report: Report | None) -> None:
    out.decisions.append(Decision(page.portal_id, page.url, page.sha256, role, of_url))
    if role == "report":
        for a in atts:  # copies of the report page
            a.supplement_of, a.report, a.error = page.url, None, None
            out.decisions.append(Decision(a.portal_id, a.url, a.sha256, "copy", page.url))
        return
    page.supplement_of, page.report, page.error = of_url, None, None
    for a in atts:
        if role == "carrier" and a.report is not None and page_report is not None:
            a.report.published = a.report.published or page_report.published
            a.report.agency = a.report.agency or page_report.agency
        a.link_text = a.link_text or page.link_text
        a.list_date = a.list_date or page.list_date
        if role == "carrier":  # every readable attachment of a carrier is loaded (as before this stage existed)
            out.decisions.append(Decision(a.portal_id, a.url, a.sha256, "report"))


def stored_by_url(decisions: Iterable[Decision]) -> dict[str, Decision]:
    return {d.url: d for d in decisions}
