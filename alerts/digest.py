"""One digest message per run and channel: capped, grouped by kind, every item naming its report URL.

Chat bots (DingTalk, WeCom, Feishu) truncate or reject long messages, so the digest lists at most
``max_items`` alerts and ends with how many were left out; the left-out ones are still counted as
delivered (they are in the warehouse and in the Prefect events).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from alerts.model import ALERT_KINDS, KIND_LABELS, Alert

DEFAULT_MAX_ITEMS = 50
MAX_DETAIL_LINES = 8


@dataclass(slots=True)
class Digest:
    title: str
    body: str
    shown: int
    left_out: int


def _kind_order(kind: str) -> int:
    return ALERT_KINDS.index(kind) if kind in ALERT_KINDS else len(ALERT_KINDS)


def _fmt_value(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _changes(payload: dict[str, Any]) -> list[dict[str, Any]]:
    for key in ("changes", "changed_facts", "facts"):
        val = payload.get(key)
        if isinstance(val, list):
            return [c for c in val if isinstance(c, dict)]
    return []


def detail_lines(alert: Alert) -> list[str]:
    """The kind-specific details under an item: changed facts old → new, error findings, deadlines."""
    p = alert.payload or {}
    lines: list[str] = []
    if alert.kind == "revised_report":
        changes = _changes(p)
        for c in changes[:MAX_DETAIL_LINES]:
            where = "/".join(str(c.get(k)) for k in ("table", "row", "col") if c.get(k) is not None)
            where = where or str(c.get("key") or c.get("field") or "?")
            lines.append(f"{where}: {_fmt_value(c.get('old'))} → {_fmt_value(c.get('new'))}")
        if len(changes) > MAX_DETAIL_LINES:
            lines.append(f"… {len(changes) - MAX_DETAIL_LINES} more changed facts")
        if not changes and p.get("summary"):
            lines.append(str(p["summary"]))
    elif alert.kind == "malformed_report":
        findings = [f for f in (p.get("findings") or []) if isinstance(f, dict)]
        for f in findings[:MAX_DETAIL_LINES]:
            lines.append(f"[{f.get('severity', 'error')}] {f.get('rule', '?')}: {f.get('message', '')}")
        if len(findings) > MAX_DETAIL_LINES:
            lines.append(f"… {len(findings) - MAX_DETAIL_LINES} more findings")
    elif alert.kind in ("late_report", "missing_report"):
        bits = [f"{k}={p[k]}" for k in ("agency", "year", "deadline", "published") if p.get(k) is not None]
        if p.get("message"):
            bits.append(str(p["message"]))
        if bits:
            lines.append(", ".join(bits))
    elif alert.kind == "portal_unreachable":
        n = p.get("consecutive_failures") or p.get("failures")
        err = p.get("error") or p.get("message")
        lines.append(" ".join(x for x in (f"{n} consecutive failed runs" if n else "", f"({err})" if err else "") if x))
    elif alert.kind == "baseline":
        lines.append(baseline_line(p))
    elif alert.kind == "run_failed":
        if p.get("error") or p.get("message"):
            lines.append(str(p.get("error") or p.get("message")))
    return [ln for ln in lines if ln]


def baseline_line(p: dict[str, Any]) -> str:
    """A portal's first run in one line: reports per year, malformed / unread, coverage gaps, where the details are."""
    per_year = p.get("reports_per_year") or {}
    years = ", ".join(f"{y}: {n}" for y, n in per_year.items()) or "no reports"
    gaps = p.get("coverage_gaps") or []
    bits = [f"reports per year {years}", f"{p.get('malformed', 0)} malformed", f"{p.get('not_parsed', 0)} unread",
            f"coverage gaps: {', '.join(str(g) for g in gaps) if gaps else 'none'}",
            f"{p.get('missing_agencies', 0)} agency-years missing"]
    if p.get("details"):
        bits.append(f"details: {p['details']}")
    return "; ".join(bits)


def item_line(alert: Alert) -> str:
    """``title — URL`` (the URL is mandatory for report alerts: analysts click through to the source)."""
    name = alert.title or alert.report_id or alert.portal_id or alert.kind
    if alert.portal_id and alert.portal_id not in name:
        name = f"{name} [{alert.portal_id}]"
    return f"- {name} — {alert.url}" if alert.url else f"- {name}"


def _count_label(n: int, kind: str) -> str:
    label = KIND_LABELS.get(kind, kind).lower()
    if n != 1:
        label = label.replace("report", "reports").replace("portal ", "portals ").replace("run ", "runs ")
    return f"{n} {label}"


def digest_title(alerts: Iterable[Alert], run_label: str | None = None) -> str:
    counts = Counter(a.kind for a in alerts)
    parts = [_count_label(counts[k], k) for k in sorted(counts, key=_kind_order)]
    head = "OGI" + (f" {run_label}" if run_label else "")
    return f"{head}: " + (", ".join(parts) if parts else "no alerts")


def render_digest(alerts: list[Alert], *, max_items: int = DEFAULT_MAX_ITEMS, run_label: str | None = None) -> Digest:
    """Group by kind (most actionable first), list at most ``max_items`` items, count the rest."""
    ordered = sorted(alerts, key=lambda a: (_kind_order(a.kind), a.portal_id or "", a.title or "", a.url or ""))
    shown = ordered[:max_items]
    left_out = len(ordered) - len(shown)
    total_by_kind = Counter(a.kind for a in ordered)
    out: list[str] = []
    current: str | None = None
    for a in shown:
        if a.kind != current:
            current = a.kind
            if out:
                out.append("")
            out.append(f"{KIND_LABELS.get(a.kind, a.kind)} ({total_by_kind[a.kind]})")
        out.append(item_line(a))
        out.extend(f"    {ln}" for ln in detail_lines(a))
    if left_out:
        out.append("")
        left = Counter(a.kind for a in ordered[max_items:])
        detail = ", ".join(_count_label(n, k) for k, n in sorted(left.items(), key=lambda kv: _kind_order(kv[0])))
        out.append(f"… and {left_out} more alerts not shown ({detail}); query the warehouse for the full list.")
    return Digest(title=digest_title(ordered, run_label), body="\n".join(out), shown=len(shown), left_out=left_out)
