"""Deliver what is pending in the outbox: one digest per channel, one Prefect event per alert.

Semantics (docs/operations.md#alerts):
- at least once: an alert is marked delivered for a channel only after that channel accepted the digest;
- never twice per report revision: the outbox holds one row per (kind, report, revision) and a row
  delivered to a channel is never pending for it again;
- a channel that fails keeps its alerts pending, and the next run's digest carries them.
Prefect events are a channel of their own (``EVENTS_CHANNEL``), so they follow the same rules.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from alerts import events
from alerts.channels import channel_key, send
from alerts.digest import DEFAULT_MAX_ITEMS, render_digest
from alerts.outbox import Outbox
from ogi.killpoints import killpoint
from ogi.config import redact_url

EVENTS_CHANNEL = "prefect-events"
log = logging.getLogger("ogi.alerts")


@dataclass(slots=True)
class ChannelDelivery:
    channel: str  # redacted
    key: str
    pending: int
    sent: bool
    shown: int = 0
    left_out: int = 0
    error: str | None = None


@dataclass(slots=True)
class DeliveryReport:
    channels: list[ChannelDelivery] = field(default_factory=list)
    events_emitted: int = 0

    @property
    def failed(self) -> list[ChannelDelivery]:
        return [c for c in self.channels if c.pending and not c.sent]

    def lines(self) -> list[str]:
        out = []
        for c in self.channels:
            if not c.pending:
                out.append(f"{c.channel}: nothing to send")
            elif c.sent:
                extra = f" ({c.left_out} left out of the digest)" if c.left_out else ""
                out.append(f"{c.channel}: digest of {c.pending} alerts sent{extra}")
            else:
                out.append(f"{c.channel}: FAILED, {c.pending} alerts stay pending ({c.error})")
        return out


def deliver_pending(
    outbox: Outbox,
    urls: list[str],
    *,
    run_label: str | None = None,
    max_items: int | None = None,
    emit_events: bool | None = None,
    timeout_s: float = 15.0,
) -> DeliveryReport:
    """Send each channel its pending alerts as one digest; emit the pending Prefect events."""
    report = DeliveryReport()
    if max_items is None:
        max_items = int(os.environ.get("OGI_ALERT_MAX_ITEMS") or DEFAULT_MAX_ITEMS)
    for url in dict.fromkeys(u.strip() for u in urls if u and u.strip()):
        key = channel_key(url)
        pending = outbox.pending(key)
        cd = ChannelDelivery(channel=redact_url(url), key=key, pending=len(pending), sent=False)
        report.channels.append(cd)
        if not pending:
            continue
        digest = render_digest(pending, max_items=max_items, run_label=run_label)
        res = send(url, digest.title, digest.body, timeout_s=timeout_s)
        cd.shown, cd.left_out = digest.shown, digest.left_out
        if res.ok:
            killpoint("alerts.sent")
            outbox.mark_delivered([a.id for a in pending], key)
            cd.sent = True
            log.info("alerts: %s received a digest of %d alerts", cd.channel, len(pending))
        else:
            cd.error = res.error
            log.warning("alerts: %s failed (%s); %d alerts stay pending", cd.channel, res.error, len(pending))
    if emit_events is None or emit_events:
        emit_events = events.in_flow_run()  # outside a flow run the events wait for the next one
    if emit_events:
        pending = outbox.pending(EVENTS_CHANNEL)
        if pending:
            report.events_emitted = events.emit(pending)
            outbox.mark_delivered([a.id for a in pending], EVENTS_CHANNEL)
    return report
