"""Opening the warehouse: one locked writer on a working file, read-only snapshots for analysts.

Why two files: DuckDB allows one read-write process per file and refuses a writer while any
reader holds the file.  The pipeline therefore writes ``ogi.work.duckdb`` (next to ``--db``) and,
after each successful load, atomically replaces ``ogi.duckdb`` with a checkpointed copy
(copy to a temp file in the same directory, then ``os.replace``).  An analyst holding the old file
open keeps reading the old inode -- old state, never a mix -- and never makes the run fail.
Writer exclusivity between pipeline runs is a ``fcntl.flock`` on ``<work>.lock``.  The lock file names its
holder (``<pid> [<run id>]``) and is emptied on a clean close, so a holder that was killed (the kernel drops
its flock, not the file's contents) is recognised by the next writer, logged, and its run marked interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from ogi.killpoints import killpoint
from warehouse import schema


log = logging.getLogger("ogi.warehouse")


class WarehouseLocked(Exception):
    """Another pipeline run holds the writer lock; the message is one line."""


class WarehouseMissing(Exception):
    """No warehouse file at the given path (nothing was published yet)."""


class InjectedFailure(RuntimeError):
    """Raised by :func:`crash_point` in tests (``OGI_WAREHOUSE_CRASH_AT=name!raise``)."""


class TransactionFailed(Exception):
    """A statement failed inside a transaction: nothing of it was committed."""


def work_path(db_path: str | Path) -> Path:
    """``data/ogi.duckdb`` → ``data/ogi.work.duckdb`` (the pipeline's own file)."""
    p = Path(db_path)
    return p.with_name(p.stem + ".work" + (p.suffix or ".duckdb"))


def lock_path(db_path: str | Path) -> Path:
    w = work_path(db_path)
    return w.with_name(w.name + ".lock")


_CRASH_HITS: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Test-only fault injection: ``OGI_WAREHOUSE_CRASH_AT=name`` kills the process right here.

    Used by the crash tests to prove that a load killed between two statements leaves no partial
    report behind.  ``os._exit`` skips every cleanup, like a SIGKILL would.
    """
    spec = os.environ.get("OGI_WAREHOUSE_CRASH_AT")
    if not spec:
        return
    # "name", "name#2" (the second time the point is reached), "name!raise" (raise instead of dying)
    spec, raise_instead = (spec[: -len("!raise")], True) if spec.endswith("!raise") else (spec, False)
    target, _, nth = spec.partition("#")
    if target != name:
        return
    _CRASH_HITS[name] = _CRASH_HITS.get(name, 0) + 1
    if _CRASH_HITS[name] >= int(nth or 1):
        if raise_instead:
            _CRASH_HITS[name] = 0
            raise InjectedFailure(f"injected failure at {name}")
        os._exit(97)


class Warehouse:
    """A writer connection on the working database, holding the writer lock."""

    def __init__(self, db_path: str | Path, con: duckdb.DuckDBPyConnection, lock_fd: int | None) -> None:
        self.db_path = Path(db_path)  # the published (analyst) path
        self.work_path = work_path(db_path)
        self.con = con
        self._lock_fd = lock_fd
        self._tx_open = False
        self._tx_joinable = False

    def note_run(self, run_id: str) -> None:
        """Name the run in the lock file, so that if this process is killed the next writer knows which run died."""
        if self._lock_fd is not None:
            _write_holder(self._lock_fd, f"{os.getpid()} {run_id}")

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.con.close()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._lock_fd, 0)  # a clean close: the next writer finds no stale holder
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "Warehouse":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ statements

    def execute(self, sql: str, params: object = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    def scalar(self, sql: str, params: object = None) -> object:
        row = self.execute(sql, params).fetchone()
        return row[0] if row else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Warehouse"]:
        """BEGIN … COMMIT that can never commit half a batch.

        DuckDB accepts COMMIT silently after a failed statement and commits nothing (stack.md §6),
        so any exception inside the block rolls back and propagates: there is no path on which a
        failure is swallowed and a COMMIT follows.
        """
        if self._tx_open:
            if self._tx_joinable:  # inside :meth:`enclosing_transaction`: part of it (its exception rolls all back)
                yield self
                return
            raise RuntimeError("nested transaction")
        self.con.execute("BEGIN TRANSACTION")
        self._tx_open = True
        try:
            yield self
        except BaseException:
            self._tx_open = False
            with contextlib.suppress(Exception):
                self.con.execute("ROLLBACK")
            raise
        self._tx_open = False
        try:
            self.con.execute("COMMIT")
        except duckdb.Error as e:
            with contextlib.suppress(Exception):
                self.con.execute("ROLLBACK")
            raise TransactionFailed(f"commit failed: {e}") from e

    @contextlib.contextmanager
    def enclosing_transaction(self) -> Iterator["Warehouse"]:
        """One transaction that the :meth:`transaction` blocks inside it join (the merger: one per shard).

        Any exception inside it, from any inner block, rolls the whole of it back.
        """
        with self.transaction():
            self._tx_joinable = True
            try:
                yield self
            finally:
                self._tx_joinable = False

    # ------------------------------------------------------------------ publishing

    def publish(self) -> Path:
        """Atomically replace the analyst snapshot with the current working state."""
        if self._tx_open:
            raise RuntimeError("publish() inside a transaction would publish uncommitted state")
        self.con.execute("CHECKPOINT")
        target = self.db_path
        target.parent.mkdir(parents=True, exist_ok=True)
        # temp copies left by a publish that was killed mid-copy (we hold the writer lock: none is live)
        for stale in target.parent.glob("." + target.name + ".*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
        fd, tmp = tempfile.mkstemp(prefix="." + target.name + ".", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(self.work_path, tmp)
            killpoint("publish.copied")
            os.chmod(tmp, 0o644)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        # A stale WAL next to the snapshot would be replayed onto the new file: never leave one.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(target) + ".wal")
        return target


@dataclasses.dataclass(frozen=True)
class StaleHolder:
    """What the lock file said when this writer took the lock over from a process that never closed it."""

    pid: int | None
    run_id: str | None


def _write_holder(fd: int, text: str) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{text}\n".encode(), 0)


def _read_holder(fd: int) -> StaleHolder | None:
    words = os.pread(fd, 256, 0).decode("ascii", "replace").split()
    if not words:
        return None
    return StaleHolder(int(words[0]) if words[0].isdigit() else None, words[1] if len(words) > 1 else None)


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _acquire_lock(path: Path, timeout_s: float) -> tuple[int, StaleHolder | None]:
    """The flock, and the holder the lock file still names if its last holder died without closing it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + max(0.0, timeout_s)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _read_holder(fd)
                os.close(fd)
                orphan = (f"; the lock file names pid {holder.pid}, which is not running: a process it started "
                          "still holds the lock" if holder and not _pid_alive(holder.pid) else "")
                raise WarehouseLocked(
                    f"warehouse {path.with_suffix('')} is locked by another run (waited {timeout_s:g}s){orphan}"
                ) from None
            time.sleep(0.05)
            continue
        stale = _read_holder(fd)
        if stale is not None:  # the kernel dropped a dead holder's flock; its contents say who it was
            gone = "which is no longer running" if not _pid_alive(stale.pid) else "which no longer holds it"
            log.warning("warehouse %s: taking over the lock left by pid %s%s, %s (killed?)", path.with_suffix(""),
                        stale.pid, f" (run {stale.run_id})" if stale.run_id else "", gone)
        _write_holder(fd, str(os.getpid()))
        return fd, stale


def open_writer(db_path: str | Path, timeout_s: float = 30.0, *, migrate_to: int | None = None) -> Warehouse:
    """Lock and open the working database, creating or upgrading its schema.

    If there is no working file yet but a published one exists (an older install, or a copy),
    the working file starts as a copy of it.  ``migrate_to`` is for tests that need an old schema.
    """
    from warehouse import analytics  # views depend on the schema module; import late

    from warehouse import runlog

    db_path = Path(db_path)
    fd, stale = _acquire_lock(lock_path(db_path), timeout_s)
    try:
        wpath = work_path(db_path)
        if not wpath.exists() and db_path.exists():
            shutil.copyfile(db_path, wpath)
        con = duckdb.connect(str(wpath), config=duckdb_config())
        schema.migrate(con, migrate_to)
        if migrate_to is None or migrate_to >= schema.LATEST_VERSION:
            _ensure_objects(con, analytics)
            runlog.mark_interrupted(con, stale)
        return Warehouse(db_path, con, fd)
    except BaseException:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        raise


def duckdb_config() -> dict[str, str]:
    """DuckDB settings of the pipeline's connections: ``OGI_DUCKDB_MEMORY_LIMIT`` (e.g. ``256MB``) caps its buffer
    pool — the cache of the warehouse's blocks, which otherwise grows with the warehouse up to 80 % of RAM."""
    limit = os.environ.get("OGI_DUCKDB_MEMORY_LIMIT")
    return {"memory_limit": limit} if limit else {}


def release_cache(con: duckdb.DuckDBPyConnection) -> None:
    """Empty DuckDB's buffer pool of ``con``'s database (the cached blocks of its tables), keeping its limit.

    DuckDB keeps every block a query read until the pool reaches its limit (80 % of RAM by default), so a
    process that scans a large table once holds it for good: the analyst page's drill-down queries scan the whole
    ``facts`` table for every block of reports, and the cache they left was ~100 MB of a 1,000-page first run's
    peak and ~140 MB of a 10,000-page one's (``bench.memory``).  Lowering the limit evicts the unpinned blocks,
    restoring it lets the next query cache again; a block read again comes from the OS page cache.
    """
    try:
        con.execute("SET memory_limit = '1MB'")
    except duckdb.OutOfMemoryException:
        pass  # more is pinned (temporary tables, an open result) than 1 MB: DuckDB evicted what it could
    finally:
        limit = duckdb_config().get("memory_limit")  # what the connection was opened with (not a rounded read-back)
        con.execute(f"SET memory_limit = '{limit}'" if limit else "RESET memory_limit")


@contextlib.contextmanager
def bounded_memory(con: duckdb.DuckDBPyConnection, limit: str | None) -> Iterator[Callable[[Callable[[], Any]], Any]]:
    """DuckDB memory limited to ``limit`` (e.g. ``"64MB"``; None/""/"off": unchanged) on ``con`` for a few queries
    that read far more than they keep (scans of the whole ``facts`` table for a small result), so their cache
    cannot grow with the warehouse; then the connection's own limit and an empty cache (:func:`release_cache`).

    Yields ``run(query)``: a query that runs out of memory under the limit is run again without it, so the limit
    costs time at worst, never an error."""
    bounded = bool(limit) and str(limit).lower() not in ("0", "none", "off")
    if bounded:
        con.execute("SET memory_limit = ?", [limit])

    def run(query: Callable[[], Any]) -> Any:
        if not bounded:
            return query()
        try:
            return query()
        except duckdb.OutOfMemoryException:
            release_cache(con)  # the connection's own limit for this query, then bounded again
            try:
                return query()
            finally:
                con.execute("SET memory_limit = ?", [limit])

    try:
        yield run
    finally:
        if bounded:
            release_cache(con)


_FINGERPRINT_VIEW = "ogi_objects_fingerprint"


def _ensure_objects(con: duckdb.DuckDBPyConnection, analytics) -> None:
    """Comments and analytics views, re-applied only when their declarations changed.

    Re-issuing ~600 ``COMMENT ON`` / ``CREATE VIEW`` statements cost 0.4–0.7 s on every open, a
    large share of a no-change nightly run; a fingerprint of the declarations makes it free.
    """
    import hashlib

    fingerprint = hashlib.sha256(
        repr((schema.LATEST_VERSION, tuple(schema.current_tables().values()), analytics.VIEWS)).encode()
    ).hexdigest()
    try:
        have = con.execute(f"SELECT fingerprint FROM {_FINGERPRINT_VIEW}").fetchone()[0]
        views = con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'analytics'").fetchone()[0]
    except duckdb.Error:
        have, views = None, 0
    if have == fingerprint and views == len(analytics.VIEWS):
        return
    schema.apply_comments(con)
    analytics.create_views(con)
    con.execute(f"CREATE OR REPLACE VIEW {_FINGERPRINT_VIEW} AS SELECT '{fingerprint}' AS fingerprint")
    con.execute(
        f"COMMENT ON VIEW {_FINGERPRINT_VIEW} IS 'Hash of the comment and analytics-view declarations last applied "
        "(internal: lets the writer skip re-applying them).'"
    )
    con.execute(f"COMMENT ON COLUMN {_FINGERPRINT_VIEW}.fingerprint IS 'sha256 of the declarations.'")


def connect_readonly(db_path: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published snapshot (what analysts and ``ogi query`` use)."""
    p = Path(db_path)
    if not p.exists():
        raise WarehouseMissing(f"no warehouse at {p} (run `ogi run` first)")
    return duckdb.connect(str(p), read_only=True, config=duckdb_config())
