"""Deterministic SIGKILL points for the kill -9 suite (``tests/test_kill9.py``, ``bench/chaos_kill.py``).

``OGI_KILL_AT=name`` makes the process send itself SIGKILL the first time it reaches ``killpoint("name")``;
``OGI_KILL_AT=name:N`` the N-th time.  Nothing is flushed, no ``finally`` runs, no atexit handler: the
process dies exactly as under ``kill -9`` or the OOM killer, at a place the test chose.  Unset (always, in
production) a call costs one environment lookup.

The points (one line each, named ``stage.what``):

- ``crawl.archived``   crawler/archive.py, after a fetched body and its index row are written
- ``crawl.attachment`` crawler/crawl.py, a report page archived, before one of its attachments is requested
- ``extract.document`` flows/pipeline.py, after each document of a portal is extracted
- ``run.begun``        flows/tasks.py, after the run row is committed as ``running``
- ``load.rows``        warehouse/load.py, inside a batch transaction, after its facts are inserted
- ``load.piece``       flows/pipeline.py (RunStream.add), after one extracted piece is committed, before the next
- ``load.final``       warehouse/load.py, inside the final transaction, just before its commit
- ``publish.copied``   warehouse/db.py, snapshot copied to its temp file, not yet renamed over the old one
- ``alerts.sent``      alerts/deliver.py, a channel accepted its digest, the outbox is not yet marked
- ``page.written``     analyst/__init__.py, the analyst page written to its temp file, not yet renamed
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "OGI_KILL_AT"

_hits: dict[str, int] = {}
_lock = threading.Lock()


def killpoint(name: str) -> None:
    """SIGKILL this process here if ``OGI_KILL_AT`` names this point (and this is its N-th passage)."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    with _lock:  # crawl and extraction run in worker threads: count each passage once
        _hits[name] = _hits.get(name, 0) + 1
        due = _hits[name] == int(nth or 1)
    if due:
        os.kill(os.getpid(), signal.SIGKILL)
