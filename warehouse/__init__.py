"""The DuckDB warehouse: schema and migrations, the run loader, cross-report checks, the alert outbox.

Public API (docs/warehouse.md, docs/architecture.md)::

    with open_writer(settings.db_path, settings.lock_timeout_s) as wh:   # raises WarehouseLocked
        result = load_run(wh, run_input, unreachable_after=settings.portal_unreachable_after)
        wh.publish()                                                     # atomic analyst snapshot
    con = connect_readonly(settings.db_path)                             # analysts / ogi query
"""

from warehouse.db import (
    TransactionFailed,
    Warehouse,
    WarehouseLocked,
    WarehouseMissing,
    connect_readonly,
    lock_path,
    open_writer,
    work_path,
)
from warehouse.load import FactChange, LoadResult, ReportRef, RevisedReport, load_run, record_run_failure, record_run_timings, report_id_for
from warehouse.outbox import ALERT_KINDS, Alert, enqueue_alert, mark_delivered, pending_alerts

__all__ = [
    "ALERT_KINDS",
    "Alert",
    "FactChange",
    "LoadResult",
    "ReportRef",
    "RevisedReport",
    "TransactionFailed",
    "Warehouse",
    "WarehouseLocked",
    "WarehouseMissing",
    "connect_readonly",
    "enqueue_alert",
    "load_run",
    "lock_path",
    "mark_delivered",
    "open_writer",
    "pending_alerts",
    "record_run_failure",
    "record_run_timings",
    "report_id_for",
    "work_path",
]
