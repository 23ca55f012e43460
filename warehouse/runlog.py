"""A run is in the run log from its first second, and a run whose process died says so.

``begin_run`` commits the run row as ``running`` as soon as the run holds the writer lock (before the crawl),
so a night that was killed is never invisible.  Only the lock holder writes run rows, so when a writer opens
the warehouse every ``running`` row belongs to a process that is gone: :func:`mark_interrupted` (called by
``warehouse.db.open_writer``) marks them ``interrupted``.  A run killed *after* its load committed (while
publishing the snapshot or delivering alerts) is recognised by the lock file it left behind, which names it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from ogi.killpoints import killpoint

log = logging.getLogger("ogi.warehouse")

KILLED = "interrupted: its process ended before the run finished (killed?); nothing of an uncommitted load was kept"
KILLED_AFTER_LOAD = ("interrupted after its load committed: the analyst snapshot or alert delivery may not have "
                     "completed; the next run published and delivered them")


def begin_run(wh: Any, run_id: str, mode: str, started_at: dt.datetime | None = None) -> None:
    """Commit the run row as ``running`` (the loader fills it in later) and name the run in the lock file."""
    from warehouse.load import _now, _utc_naive

    wh.execute(
        """INSERT INTO runs (run_id, mode, started_at, as_of, status) VALUES (?, ?, ?, ?, 'running')
           ON CONFLICT (run_id) DO NOTHING""",
        [run_id, mode, _utc_naive(started_at) or _now(), dt.date.today()],
    )
    wh.note_run(run_id)
    killpoint("run.begun")


def mark_interrupted(con: Any, stale: Any = None) -> list[str]:
    """Mark the runs whose process died ``interrupted``; ``stale`` is the dead lock holder (``db.StaleHolder``)."""
    stale_run = getattr(stale, "run_id", None)
    rows = con.execute(
        """UPDATE runs SET status = 'interrupted', error = CASE WHEN status = 'ok' THEN ? ELSE ? END
           WHERE status = 'running' OR (status = 'ok' AND run_id = ?)
           RETURNING run_id""",
        [KILLED_AFTER_LOAD, KILLED, stale_run],
    ).fetchall()
    ids = sorted(r[0] for r in rows)
    for run_id in ids:
        log.warning("run %s did not finish (its process is gone): marked interrupted in the run log", run_id)
    return ids


def first_loaded_runs(con: Any, current_run_id: str | None) -> dict[str, tuple[str, dt.date, dt.datetime]]:
    """Per portal, its first successful run that completed (status ``ok``): ``(run_id, as_of, started_at)``.

    A portal's first night (one baseline item, history not alerted) lasts until a run covering it completes: a
    run killed between load batches committed some ``portal_runs`` rows but never its baseline items, so it does
    not count (``finished_at`` is no test either: a failed run has one).  The run loading now (``current_run_id``)
    counts.
    """
    rows = con.execute(
        """SELECT portal_id, arg_min(run_id, s), arg_min(as_of, s), min(s) FROM (
               SELECT pr.portal_id, pr.run_id, coalesce(r.as_of, CAST(pr.started_at AS DATE)) AS as_of,
                      coalesce(r.started_at, pr.started_at) AS s
               FROM portal_runs pr LEFT JOIN runs r ON r.run_id = pr.run_id
               WHERE pr.ok AND (r.run_id IS NULL OR pr.run_id = ? OR r.status = 'ok'))
           GROUP BY portal_id""",
        [current_run_id],
    ).fetchall()
    return {pid: (run_id, as_of, started) for pid, run_id, as_of, started in rows}
