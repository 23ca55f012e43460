"""What an alert is, independent of where it is stored (the warehouse outbox) and how it is sent (Apprise).

The loader writes alert rows into the outbox in the same transaction as the data they describe; this
module only gives them a typed shape so the digest, the Prefect events and the tests share one model.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

#: Every alert kind, in the order a digest lists them (most actionable first).
ALERT_KINDS: tuple[str, ...] = (
    "run_failed",
    "malformed_report",
    "revised_report",
    "new_report",
    "late_report",
    "missing_report",
    "portal_unreachable",
    "baseline",
)

KIND_LABELS: dict[str, str] = {
    "run_failed": "Run failed",
    "malformed_report": "Malformed report",
    "revised_report": "Revised report",
    "new_report": "New report",
    "late_report": "Late report",
    "missing_report": "Missing report",
    "portal_unreachable": "Portal unreachable",
    "baseline": "Baseline (first run of a portal)",
}


@dataclass(slots=True)
class Alert:
    """One outbox row. ``payload`` carries the kind-specific details (changed facts, findings, …).

    ``revised_report`` payload: ``{"changes": [{"table","row","col","old","new"}, ...]}`` (any of
    ``"facts"``/``"changed_facts"`` accepted);
    ``malformed_report`` payload: ``{"findings": [{"rule","severity","message"}, ...]}``;
    ``late_report``/``missing_report``: ``{"year", "deadline", "agency", ...}``;
    ``portal_unreachable``: ``{"consecutive_failures", "error"}``; ``run_failed``: ``{"error"}``;
    ``baseline`` (one per portal, its first successful run): ``{"reports_per_year", "malformed", "not_parsed",
    "coverage_gaps", "missing_agencies", "documents", "details"}``.
    """

    kind: str
    id: Any = ""  # the outbox id (the warehouse uses integers); defaults to the dedup key
    report_id: str | None = None
    revision: int | str | None = None
    url: str | None = None
    portal_id: str | None = None
    title: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    created_at: dt.datetime | None = None
    run_id: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.payload, str):
            try:
                self.payload = json.loads(self.payload) or {}
            except ValueError:
                self.payload = {"text": self.payload}
        if self.payload is None:
            self.payload = {}
        if not self.id:
            self.id = self.dedup_key()

    def dedup_key(self) -> str:
        """Never twice per report revision: kind + report + revision (or portal + url) is the identity."""
        basis = f"{self.kind}\x00{self.report_id or ''}\x00{self.revision or ''}\x00{self.portal_id or ''}\x00{self.url or ''}"
        if self.kind == "run_failed":
            basis += f"\x00{self.run_id or ''}"
        return hashlib.sha256(basis.encode()).hexdigest()[:24]

    @classmethod
    def from_row(cls, row: Any) -> "Alert":
        """Accept whatever the warehouse returns: an Alert, a mapping, or an object with attributes."""
        if isinstance(row, Alert):
            return row
        get = row.get if isinstance(row, Mapping) else (lambda k, d=None: getattr(row, k, d))
        payload = get("payload", None)
        return cls(
            kind=str(get("kind")),
            id=get("id", None) or get("alert_id", None) or "",
            report_id=get("report_id", None),
            revision=get("revision", None),
            url=get("url", None),
            portal_id=get("portal_id", None),
            title=get("title", None),
            payload=payload if payload is not None else {},
            created_at=get("created_at", None),
            run_id=get("run_id", None),
        )
