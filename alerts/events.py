"""A Prefect event per alert, so Prefect automations can route alerts (``ogi.alert.<kind>``).

Events are only emitted inside a flow run (outside one there is no API to send them to). Event
payloads never hold channel URLs — only the alert itself, which carries no secrets.
"""

from __future__ import annotations

import sys
from typing import Any

from alerts.model import Alert

EVENT_PREFIX = "ogi.alert."


def in_flow_run() -> bool:
    if "prefect" not in sys.modules:  # not imported → certainly no flow run (and no 1 s import to find out)
        return False
    try:
        from prefect.context import FlowRunContext
    except Exception:  # noqa: BLE001 - prefect not importable means no flow run
        return False
    return FlowRunContext.get() is not None


def event_for(alert: Alert) -> dict[str, Any]:
    """The keyword arguments of ``prefect.events.emit_event`` for one alert."""
    rid = alert.report_id or alert.url or alert.portal_id or alert.id
    resource = {
        "prefect.resource.id": f"ogi.report.{rid}" if alert.report_id else f"ogi.{alert.kind}.{rid}",
        "prefect.resource.name": (alert.title or rid or alert.kind)[:200],
    }
    related = []
    if alert.portal_id:
        related.append({"prefect.resource.id": f"ogi.portal.{alert.portal_id}", "prefect.resource.role": "portal"})
    payload = {
        "alert_id": alert.id,
        "kind": alert.kind,
        "report_id": alert.report_id,
        "revision": alert.revision,
        "url": alert.url,
        "portal_id": alert.portal_id,
        "title": alert.title,
        "details": alert.payload,
    }
    return {"event": EVENT_PREFIX + alert.kind, "resource": resource, "related": related, "payload": payload}


def emit(alerts: list[Alert]) -> int:
    """Emit one event per alert; returns how many were emitted (0 outside a flow run)."""
    if not alerts or not in_flow_run():
        return 0
    from prefect.events import emit_event

    n = 0
    for a in alerts:
        if emit_event(**event_for(a)) is not None:
            n += 1
    return n
