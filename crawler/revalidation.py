"""Which already-archived report pages and attachments to re-request tonight (docs/crawler.md).

Counties correct reports by editing the same page: same URL, same list entry, a new body (and a new ETag /
Last-Modified, or no validators at all).  Only re-requesting the page finds that, so every known report page
and attachment is re-requested — ``If-None-Match`` / ``If-Modified-Since`` when the archive has validators, a
plain GET whose sha256 is compared with the archive otherwise — on a schedule with two guarantees:

* **window**: a known URL last confirmed ``revalidate_window`` or more nights ago is re-requested tonight,
  whatever the budget says (so every revision is seen within ``revalidate_window`` nights);
* **budget**: besides those, up to ``revalidate_budget`` known URLs per portal per night, in this order
  (deterministic): (0) the last attempt failed or the URL was marked unchecked (an attachment of it failed);
  (1) it was listed on a list page (or list API response) that changed, or its report page changed;
  (2) it is fresh (list date, or first-seen date, within ``fresh_days``); (3) the rest — each class stalest
  first (oldest ``checked_at``), then by URL.  A portal with up to ``revalidate_budget`` known URLs is therefore
  checked in full every night; a bigger one is checked stalest-first, in full every ⌈known / budget⌉ nights.

Outside the budget: URLs the archive never saw (or whose body is missing) are always fetched (they are new),
and so are the attachments of a report page whose body changed tonight.  With ``conditional`` False (backfill)
everything is fetched in full.  A known URL left out is reported unchanged from the archive, exactly as a 304
would be, and counted in ``PortalCrawl.revalidation_skipped``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from crawler.archive import Archive, UrlState
from ogi.config import CrawlSettings


def _local_date(t: dt.datetime) -> dt.date:
    """The machine-local calendar date of a (UTC) check time: nights are counted in the scheduler's time zone."""
    return t.astimezone().date() if t.tzinfo else t.date()


@dataclass(frozen=True)
class RevalidationPolicy:
    """The settings of tonight's revalidation (see the module docstring)."""

    conditional: bool
    window: int  # nights
    budget: int  # known URLs re-requested per portal per night (besides overdue ones)
    fresh_days: int
    today: dt.date

    @classmethod
    def from_settings(cls, settings: CrawlSettings) -> "RevalidationPolicy":
        today = getattr(settings, "today", None) or dt.date.today()
        if isinstance(today, str):  # ``today: "2026-01-01"`` quoted in ogi.yaml
            today = dt.date.fromisoformat(today)
        elif isinstance(today, dt.datetime):
            today = today.date()
        window = getattr(settings, "revalidate_days", None)  # the deprecated alias wins when set
        if window is None:
            window = getattr(settings, "revalidate_window", 7)
        return cls(conditional=bool(getattr(settings, "conditional", True)),
                   window=max(1, int(window or 1)),
                   budget=max(0, int(getattr(settings, "revalidate_budget", 0) or 0)),
                   fresh_days=int(getattr(settings, "fresh_days", 0) or 0),
                   today=today)

    def age_nights(self, prior: UrlState) -> int | None:
        """Nights since the URL was last confirmed (None: never, or marked unchecked)."""
        if prior.checked_at is None:
            return None
        return (self.today - _local_date(prior.checked_at)).days

    def overdue(self, prior: UrlState) -> bool:
        age = self.age_nights(prior)
        return age is None or age >= self.window

    def fresh(self, url: str, list_date: dt.date | None, archive: Archive) -> bool:
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
        return (f"revalidation: every known URL at least every {self.window} night(s); budget {self.budget} "
                f"per portal per night (failed, list-changed, fresh ≤ {self.fresh_days} d, then stalest first); "
                f"today={self.today.isoformat()}")


@dataclass(slots=True)
class KnownUrl:
    """A report page or attachment the archive holds a body for, seen on this run's lists (or under one)."""

    url: str
    prior: UrlState
    list_changed: bool = False
    list_date: dt.date | None = None


#: priority classes, in budget order
FAILED, LIST_CHANGED, FRESH, STALEST = 0, 1, 2, 3
REASONS = {FAILED: "last_failed", LIST_CHANGED: "list_changed", FRESH: "fresh", STALEST: "stalest"}


@dataclass
class RevalidationPlan:
    """Tonight's decision for every known URL of one portal: re-request it, or report it from the archive."""

    policy: RevalidationPolicy
    selected: dict[str, str] = field(default_factory=dict)  # url -> reason
    skipped: dict[str, UrlState] = field(default_factory=dict)  # url -> archived state (not requested)

    @classmethod
    def build(cls, policy: RevalidationPolicy, known: list[KnownUrl], archive: Archive) -> "RevalidationPlan":
        plan = cls(policy)
        if not policy.conditional:
            plan.selected = {k.url: "backfill" for k in known}
            return plan
        ranked: list[tuple[tuple, KnownUrl, int]] = []
        for k in known:
            if k.prior.checked_at is None or archive.last_attempt_failed(k.url):
                cls_ = FAILED
            elif k.list_changed:
                cls_ = LIST_CHANGED
            elif policy.fresh(k.url, k.list_date or k.prior.list_date, archive):
                cls_ = FRESH
            else:
                cls_ = STALEST
            checked = k.prior.checked_at.timestamp() if k.prior.checked_at else float("-inf")
            ranked.append(((cls_, checked, k.url), k, cls_))
        ranked.sort(key=lambda r: r[0])
        for i, (_, k, cls_) in enumerate(ranked):
            if i < policy.budget:
                plan.selected[k.url] = REASONS[cls_]
            elif policy.overdue(k.prior):
                plan.selected[k.url] = "overdue"  # the window guarantee beats the budget
            else:
                plan.skipped[k.url] = k.prior
        return plan

    def wants(self, url: str) -> bool:
        """Re-request ``url`` tonight?  A URL the plan never saw (linked anew from a page) is requested."""
        return url not in self.skipped

    def oldest_skipped_age(self) -> int:
        """Nights since the least recently confirmed URL reported without a request (0: none skipped)."""
        ages = [self.policy.age_nights(p) for p in self.skipped.values()]
        return max((a for a in ages if a is not None), default=0)
