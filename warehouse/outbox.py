"""The alert outbox: rows written in the load's own transaction, delivered per channel later.

Why an outbox: an alert must exist iff the change it announces was committed, so the loader writes
it in the same transaction; the sender (``alerts/``) reads what a channel has not yet accepted and
marks it delivered per channel, so a channel that failed keeps its alerts pending for the next run
while the others move on.  ``dedupe_key`` makes enqueueing idempotent: a re-run never repeats an
alert for the same (kind, report, revision).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

ALERT_KINDS = (
    "new_report",
    "revised_report",
    "malformed_report",
    "late_report",
    "missing_report",
    "portal_unreachable",
    "run_failed",
    "baseline",
)


@dataclass(slots=True)
class Alert:
    id: int
    kind: str
    report_id: str | None
    revision: int | None
    url: str  # every alert names the report URL it is about (or the portal/run subject)
    portal_id: str | None
    title: str
    payload: dict[str, Any] = field(default_factory=dict)
    created_at: dt.datetime | None = None
    run_id: str | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def dedupe_key(kind: str, report_id: str | None, revision: int | None, subject: str | None = None) -> str:
    if report_id is not None:
        return f"{kind}|{report_id}|{revision}"
    return f"{kind}|{subject or ''}"


def enqueue_alert(
    wh: Any,
    kind: str,
    *,
    url: str,
    report_id: str | None = None,
    revision: int | None = None,
    portal_id: str | None = None,
    title: str = "",
    payload: dict[str, Any] | None = None,
    run_id: str | None = None,
    subject: str | None = None,
    created_at: dt.datetime | None = None,
) -> int | None:
    """Add one alert unless it exists; returns its id, or None when it was already enqueued.

    ``wh`` is a :class:`warehouse.db.Warehouse` (or a DuckDB connection).  Alerts without a report
    (``run_failed``, ``portal_unreachable``, ``missing_report``) are deduplicated by ``subject``
    (defaults to the run id for ``run_failed``).
    """
    if kind not in ALERT_KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    if report_id is None and subject is None:
        subject = run_id if kind == "run_failed" else url
    con = getattr(wh, "con", wh)
    key = dedupe_key(kind, report_id, revision, subject)
    row = con.execute(
        """INSERT INTO alerts (kind, report_id, revision, url, portal_id, title, payload, created_at, run_id, dedupe_key)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id""",
        [
            kind,
            report_id,
            revision,
            url,
            portal_id,
            title,
            json.dumps(payload or {}, ensure_ascii=False, default=str),
            created_at or _now(),
            run_id,
            key,
        ],
    ).fetchall()
    return int(row[0][0]) if row else None


def _row_to_alert(r: tuple) -> Alert:
    payload = r[7]
    return Alert(
        id=int(r[0]),
        kind=r[1],
        report_id=r[2],
        revision=r[3],
        url=r[4],
        portal_id=r[5],
        title=r[6] or "",
        payload=json.loads(payload) if isinstance(payload, str) and payload else (payload or {}),
        created_at=r[8],
        run_id=r[9],
    )


_SELECT = "SELECT id, kind, report_id, revision, url, portal_id, title, payload, created_at, run_id FROM alerts"


def pending_alerts(wh: Any, channel_key: str, *, max_age_days: float | None = None) -> list[Alert]:
    """Alerts this channel has not accepted yet, oldest first.

    ``max_age_days`` lets a newly configured channel skip ancient history (None = everything).
    """
    con = getattr(wh, "con", wh)
    sql = f"""{_SELECT} a WHERE NOT EXISTS (
                 SELECT 1 FROM alert_deliveries d WHERE d.alert_id = a.id AND d.channel_key = ?)"""
    params: list[Any] = [channel_key]
    if max_age_days is not None:
        sql += " AND a.created_at >= ?"
        params.append(_now() - dt.timedelta(days=max_age_days))
    rows = con.execute(sql + " ORDER BY a.id", params).fetchall()
    return [_row_to_alert(r) for r in rows]


def mark_delivered(wh: Any, alert_ids: list[int], channel_key: str) -> int:
    """Record that ``channel_key`` accepted these alerts (idempotent); returns rows added."""
    if not alert_ids:
        return 0
    con = getattr(wh, "con", wh)
    before = con.execute("SELECT count(*) FROM alert_deliveries WHERE channel_key = ?", [channel_key]).fetchone()[0]
    con.execute(
        """INSERT INTO alert_deliveries (alert_id, channel_key, delivered_at)
           SELECT DISTINCT unnest(?::BIGINT[]), ?, ? ON CONFLICT DO NOTHING""",
        [list(alert_ids), channel_key, _now()],
    )
    after = con.execute("SELECT count(*) FROM alert_deliveries WHERE channel_key = ?", [channel_key]).fetchone()[0]
    return int(after - before)


def alerts_for_run(wh: Any, run_id: str) -> list[Alert]:
    con = getattr(wh, "con", wh)
    return [_row_to_alert(r) for r in con.execute(f"{_SELECT} WHERE run_id = ? ORDER BY id", [run_id]).fetchall()]


def enqueue_many(wh: Any, alerts: list[dict[str, Any]], *, run_id: str | None, created_at: dt.datetime | None = None) -> int:
    """Bulk :func:`enqueue_alert` (one INSERT … SELECT from Arrow); returns how many were new.

    Each dict has ``kind, url, report_id, revision, portal_id, title, payload`` (and optional ``subject``).
    """
    if not alerts:
        return 0
    import pyarrow as pa

    con = getattr(wh, "con", wh)
    when = created_at or _now()
    data = pa.table(
        {
            "kind": pa.array([a["kind"] for a in alerts], pa.string()),
            "report_id": pa.array([a.get("report_id") for a in alerts], pa.string()),
            "revision": pa.array([a.get("revision") for a in alerts], pa.int32()),
            "url": pa.array([a["url"] for a in alerts], pa.string()),
            "portal_id": pa.array([a.get("portal_id") for a in alerts], pa.string()),
            "title": pa.array([a.get("title") or "" for a in alerts], pa.string()),
            "payload": pa.array(
                [json.dumps(a.get("payload") or {}, ensure_ascii=False, default=str) for a in alerts], pa.string()
            ),
            "created_at": pa.array([when] * len(alerts), pa.timestamp("us")),
            "run_id": pa.array([run_id] * len(alerts), pa.string()),
            "dedupe_key": pa.array(
                [dedupe_key(a["kind"], a.get("report_id"), a.get("revision"), a.get("subject")) for a in alerts],
                pa.string(),
            ),
        }
    )
    con.register("_alerts_in", data)
    try:
        rows = con.execute(
            # an anti-join, not ON CONFLICT: DuckDB checks ON CONFLICT row by row (10x slower in bulk); the
            # writer lock guarantees nobody inserts between the check and the insert
            """INSERT INTO alerts (kind, report_id, revision, url, portal_id, title, payload, created_at, run_id, dedupe_key)
               SELECT DISTINCT ON (dedupe_key) kind, report_id, revision, url, portal_id, title, payload::JSON,
                      created_at, run_id, dedupe_key
               FROM _alerts_in i
               WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.dedupe_key = i.dedupe_key)
               ORDER BY dedupe_key
               RETURNING id"""
        ).fetchall()
    finally:
        con.unregister("_alerts_in")
    return len(rows)
