"""The outbox seen from the alerts side: what is pending per channel, and marking it delivered.

The real outbox is a warehouse table written in the same transaction as the load
(:class:`WarehouseOutbox` adapts the warehouse API); :class:`MemoryOutbox` has the same semantics for
unit tests and for alerts that must go out when the warehouse cannot be opened (``run_failed``).
"""

from __future__ import annotations

from typing import Any, Iterable, Protocol

from alerts.model import Alert


class Outbox(Protocol):
    def pending(self, channel_key: str) -> list[Alert]: ...

    def mark_delivered(self, alert_ids: list[str], channel_key: str) -> None: ...


class MemoryOutbox:
    """Pending = every alert not yet delivered to that channel (at-least-once, once per channel)."""

    def __init__(self, alerts: Iterable[Alert] = ()) -> None:
        self.alerts: dict[str, Alert] = {}
        self.delivered: set[tuple[str, str]] = set()
        for a in alerts:
            self.enqueue(a)

    def enqueue(self, alert: Alert) -> bool:
        """Idempotent: the same alert (same dedup key) is only queued once."""
        if alert.id in self.alerts:
            return False
        self.alerts[alert.id] = alert
        return True

    def pending(self, channel_key: str) -> list[Alert]:
        return [a for aid, a in self.alerts.items() if (aid, channel_key) not in self.delivered]

    def mark_delivered(self, alert_ids: list[str], channel_key: str) -> None:
        self.delivered.update((aid, channel_key) for aid in alert_ids)


class WarehouseOutbox:
    """Adapter over the warehouse's outbox functions (``warehouse.alerts`` or the package root)."""

    def __init__(self, wh: Any) -> None:
        self.wh = wh
        self._api = _warehouse_alert_api()

    def pending(self, channel_key: str) -> list[Alert]:
        return [Alert.from_row(r) for r in self._api["pending_alerts"](self.wh, channel_key)]

    def mark_delivered(self, alert_ids: list[str], channel_key: str) -> None:
        if alert_ids:
            self._api["mark_delivered"](self.wh, list(alert_ids), channel_key)

    def enqueue(self, alert: Alert) -> None:
        fn = self._api.get("enqueue_alert")
        if fn is None:
            raise RuntimeError("the warehouse has no enqueue_alert()")
        _call_enqueue(fn, self.wh, alert)


def _warehouse_alert_api() -> dict[str, Any]:
    import importlib

    api: dict[str, Any] = {}
    for modname in ("warehouse.alerts", "warehouse.outbox", "warehouse"):
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        for name in ("pending_alerts", "mark_delivered", "enqueue_alert"):
            if name not in api and hasattr(mod, name):
                api[name] = getattr(mod, name)
    missing = {"pending_alerts", "mark_delivered"} - api.keys()
    if missing:
        raise RuntimeError(f"the warehouse has no alert outbox API ({', '.join(sorted(missing))})")
    return api


def _call_enqueue(fn: Any, wh: Any, alert: Alert) -> None:
    """``enqueue_alert`` may take an Alert-like object or keyword fields: try the keyword form first."""
    import inspect

    params = inspect.signature(fn).parameters
    kw = {
        "kind": alert.kind,
        "report_id": alert.report_id,
        "revision": alert.revision,
        "url": alert.url,
        "portal_id": alert.portal_id,
        "title": alert.title,
        "payload": alert.payload,
        "run_id": alert.run_id,
    }
    accepted = {k: v for k, v in kw.items() if k in params}
    if "kind" in params:
        fn(wh, **accepted)
    else:
        fn(wh, alert)
