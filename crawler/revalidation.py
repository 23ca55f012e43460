"""Which already-archived report pages and attachments to re-request this run (docs/crawler.md).

Checking every report page ever published every night costs ~1,000 conditional GETs per no-change run and is
impolite towards county servers.  A known URL is re-requested only when

(a) ``conditional`` is False (backfill: everything is fetched in full);
(b) a list page (or list API response) on which it was found this run changed since the previous run;
(c) it is due in a stable stagger (``sha1(url) % revalidate_days == today.toordinal() % revalidate_days``), or
    its last successful check is older than ``revalidate_days`` (catch-up after missed runs);
(d) it is fresh: its list date (or first-seen date) is within ``fresh_days`` of today;
(e) it never succeeded, or its last attempt failed.

Otherwise the crawler reports it as unchanged from the archive without any request, exactly as a 304 would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from crawler.archive import Archive, UrlState
from ogi.config import CrawlSettings


def stagger_slot(url: str, days: int) -> int:
    """The URL's stable day slot in ``range(days)`` (same on every machine and run)."""
    return int(hashlib.sha1(url.encode("utf-8")).hexdigest()[:8], 16) % days


@dataclass(frozen=True)
class RevalidationPolicy:
    """The per-run decision "request this known URL again?" (see the module docstring)."""

    conditional: bool
    revalidate_days: int
    fresh_days: int
    today: dt.date

    @classmethod
    def from_settings(cls, settings: CrawlSettings) -> "RevalidationPolicy":
        today = getattr(settings, "today", None) or dt.date.today()
        if isinstance(today, str):  # ``today: "2026-01-01"`` quoted in ogi.yaml
            today = dt.date.fromisoformat(today)
        elif isinstance(today, dt.datetime):
            today = today.date()
        return cls(conditional=bool(getattr(settings, "conditional", True)),
                   revalidate_days=int(getattr(settings, "revalidate_days", 1) or 0),
                   fresh_days=int(getattr(settings, "fresh_days", 0) or 0),
                   today=today)

    def due(self, url: str) -> bool:
        """Due in the stagger tonight (always, when ``revalidate_days`` <= 1)."""
        if self.revalidate_days <= 1:
            return True
        return stagger_slot(url, self.revalidate_days) == self.today.toordinal() % self.revalidate_days

    def reason(self, url: str, prior: UrlState | None, archive: Archive, *, list_changed: bool,
               list_date: dt.date | None) -> str | None:
        """Why ``url`` must be requested this run, or None when the archived copy may be reported unchanged."""
        if not self.conditional:
            return "backfill"
        if self.revalidate_days <= 1:
            return "every_run"
        if prior is None or not prior.sha256 or not archive.has(prior.sha256):
            return "never_fetched"
        if list_changed:
            return "list_changed"
        if self.due(url):
            return "stagger"
        if prior.checked_at is None or (self.today - prior.checked_at.date()).days > self.revalidate_days:
            return "stale"
        if self._fresh(url, list_date or prior.list_date, archive):
            return "fresh"
        if archive.last_attempt_failed(url):
            return "last_failed"
        return None

    def _fresh(self, url: str, list_date: dt.date | None, archive: Archive) -> bool:
        if self.fresh_days <= 0:
            return False
        if list_date is None:
            seen = archive.first_seen(url)
            list_date = seen.date() if seen else None
        return list_date is None or (self.today - list_date).days <= self.fresh_days

    def describe(self) -> str:
        """One line for logs and benchmarks."""
        if not self.conditional:
            return "revalidation: backfill (conditional=False: every known page fetched in full)"
        if self.revalidate_days <= 1:
            return "revalidation: every known page every run (revalidate_days<=1)"
        return (f"revalidation: revalidate_days={self.revalidate_days} (stagger), fresh_days={self.fresh_days}, "
                f"today={self.today.isoformat()}; list changes, fresh and failed pages always")
