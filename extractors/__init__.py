"""Report extraction: bytes of a report page → :class:`~extractors.model.Report` (see docs/extraction.md).

Public API::

    from extractors import extract, Report, UnreadableInput
    report = extract(data, url=..., content_type=..., filename=..., validate=True)
"""

from extractors.model import Fact, Finding, Report, Section, Table, UnreadableInput


def extract(data: bytes, *, url: str | None = None, content_type: str | None = None, filename: str | None = None,
            validate: bool = True) -> Report:
    """Extract one document (HTML, text, PDF, DOCX, XLSX/XLS, DOC/WPS/RTF).  See :func:`extractors.engine.extract`."""
    from extractors.engine import extract as _extract

    return _extract(data, url=url, content_type=content_type, filename=filename, validate=validate)


__all__ = ["extract", "Report", "Section", "Table", "Fact", "Finding", "UnreadableInput"]
