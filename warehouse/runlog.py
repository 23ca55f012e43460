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
