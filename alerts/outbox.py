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
    """Adapter over the warehouse's outbox (``warehouse.outbox``): alert rows → :class:`Alert`."""

    def __init__(self, wh: Any) -> None:
        self.wh = wh

    def pending(self, channel_key: str) -> list[Alert]:
        from warehouse.outbox import pending_alerts

        return [Alert.from_row(r) for r in pending_alerts(self.wh, channel_key)]

    def mark_delivered(self, alert_ids: list[Any], channel_key: str) -> None:
        from warehouse.outbox import mark_delivered

        if alert_ids:
            mark_delivered(self.wh, list(alert_ids), channel_key)
