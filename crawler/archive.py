"""The raw archive: every fetched body, stored before anything parses it.

Layout (docs/crawler.md)::

    <archive>/objects/ab/<sha256>.gz     gzip of the raw body, content-addressed (written once)
    <archive>/index.sqlite               url_state: one row per URL (ETag, Last-Modified, latest sha256, kind, …)
                                         fetch_log: append-only, one row per HTTP exchange or failed attempt series

Extraction can be rerun from the archive alone (:meth:`Archive.documents` + :meth:`Archive.get`), and
the crawler revalidates what it archived with conditional GETs (:meth:`Archive.latest`).

One ``Archive`` may be shared by threads (a lock serialises its connection); several processes may open
the same directory (SQLite WAL + busy timeout).  Rows are committed in small batches (at most
``commit_every`` writes or ``commit_interval_s`` seconds) and on :meth:`commit`/:meth:`close`; blobs
are written with an atomic rename before their row is inserted, so a row never points at a missing blob.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from crawler.types import FetchRecord
from ogi.killpoints import killpoint

_SHA = re.compile(r"^[0-9a-f]{64}$")
_KEEP_HEADERS = ("content-type", "content-length", "etag", "last-modified", "content-encoding", "location",
                 "retry-after", "date", "server", "content-disposition")

SCHEMA = """
CREATE TABLE IF NOT EXISTS url_state (
    url TEXT PRIMARY KEY,
    portal_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT,
    status INTEGER,
    etag TEXT,
    last_modified TEXT,
    content_type TEXT,
    fetched_at TEXT,          -- when the archived body (sha256) was fetched
    checked_at TEXT,          -- last time the URL was confirmed (200 or 304)
    link_text TEXT,
    list_date TEXT,
    parent_url TEXT
);
CREATE INDEX IF NOT EXISTS url_state_portal ON url_state(portal_id, kind);
CREATE INDEX IF NOT EXISTS url_state_parent ON url_state(parent_url);
CREATE TABLE IF NOT EXISTS fetch_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    portal_id TEXT NOT NULL,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    status INTEGER,
    sha256 TEXT,
    bytes INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 1,
    error TEXT,
    elapsed_ms REAL NOT NULL DEFAULT 0,
    conditional INTEGER NOT NULL DEFAULT 0,
    headers TEXT
);
CREATE INDEX IF NOT EXISTS fetch_log_url ON fetch_log(url);
CREATE INDEX IF NOT EXISTS fetch_log_portal ON fetch_log(portal_id, fetched_at);
"""


@dataclass(slots=True)
class UrlState:
    """What the archive knows about one URL (the latest successful fetch)."""

    url: str
    portal_id: str
    kind: str
    sha256: str | None
    status: int | None
    etag: str | None
    last_modified: str | None
    content_type: str | None
    fetched_at: dt.datetime | None
    checked_at: dt.datetime | None
    link_text: str | None
    list_date: dt.date | None
    parent_url: str | None


@dataclass(slots=True)
class ArchivedDocument:
    """A report page or attachment known to the archive: what reprocessing needs."""

    portal_id: str
    url: str
    kind: str  # "report_page" | "attachment"
    sha256: str
    fetched_at: dt.datetime
    content_type: str | None
    link_text: str | None
    list_date: dt.date | None
    parent_url: str | None


def _iso(t: dt.datetime | None) -> str | None:
    return t.astimezone(dt.timezone.utc).isoformat() if t else None


def _dt(s: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(s) if s else None


def _date(s: str | None) -> dt.date | None:
    return dt.date.fromisoformat(s) if s else None


def _enable_wal(db: sqlite3.Connection, attempts: int = 200) -> None:
    """Switch to WAL; several connections opening a new index at once may see "database is locked"
    (changing the journal mode does not wait on the busy timeout), so retry briefly."""
    for i in range(attempts):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or i == attempts - 1:
                raise
            time.sleep(0.01 + 0.001 * i)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Archive:
    """Content-addressed raw bodies + the SQLite index (url state and fetch log)."""

    def __init__(self, root: str | Path, *, commit_every: int = 200, commit_interval_s: float = 0.05,
                 compresslevel: int = 3):
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._dirs: set[Path] = set()
        self._db = sqlite3.connect(self.root / "index.sqlite", timeout=60, check_same_thread=False,
                                   isolation_level="DEFERRED")
        self._db.execute("PRAGMA busy_timeout=60000")
        _enable_wal(self._db)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._db.commit()
        self._pending = 0
        self._last_commit = time.monotonic()
        self.commit_every = commit_every
        #: gzip level 3: on Word-export HTML ~2.4x faster than level 6 for ~20 % more bytes (bench/crawl.py);
        #: the archive is written on every fetch and read only on reprocessing.
        self.compresslevel = compresslevel
        #: 50 ms: an open write transaction blocks every other connection (the flows open one Archive per
        #: portal task); WAL + synchronous=NORMAL makes a commit cheap (no fsync), so commit often.
        self.commit_interval_s = commit_interval_s

    # ------------------------------------------------------------------ blobs

    def _blob_path(self, sha: str) -> Path:
        if not _SHA.match(sha):  # never build a path from anything but a hex digest
            raise ValueError(f"not a sha256: {sha!r}")
        return self.objects / sha[:2] / f"{sha}.gz"

    def store_blob(self, body: bytes) -> str:
        """Store ``body`` (idempotent) and return its sha256."""
        sha = hashlib.sha256(body).hexdigest()
        path = self._blob_path(sha)
        if not path.exists():
            if path.parent not in self._dirs:
                path.parent.mkdir(exist_ok=True)
                self._dirs.add(path.parent)
            tmp = path.with_name(f".{sha}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(gzip.compress(body, compresslevel=self.compresslevel, mtime=0))
            os.replace(tmp, path)
        return sha

    def get(self, sha256: str) -> bytes:
        """The raw body with this sha256 (KeyError when not archived)."""
        path = self._blob_path(sha256)
        try:
            return gzip.decompress(path.read_bytes())
        except FileNotFoundError:
            raise KeyError(sha256) from None

    def has(self, sha256: str) -> bool:
        return self._blob_path(sha256).exists()

    # ------------------------------------------------------------------ writes

    def put(
        self,
        url: str,
        body: bytes,
        *,
        portal_id: str,
        kind: str,
        status: int,
        headers: Mapping[str, str] | None = None,
        fetched_at: dt.datetime | None = None,
        attempts: int = 1,
        elapsed_ms: float = 0.0,
        conditional: bool = False,
        error: str | None = None,
        update_state: bool = True,
        link_text: str | None = None,
        list_date: dt.date | None = None,
        parent_url: str | None = None,
    ) -> str:
        """Archive one fetched body: blob first, then its fetch-log row and (unless ``update_state`` is
        False, e.g. for an anti-crawl page) the URL's state.  Returns the sha256."""
        fetched_at = fetched_at or utcnow()
        sha = self.store_blob(body)
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        with self._lock:
            self._log_row(portal_id, url, kind, fetched_at, status, sha, len(body), attempts, error, elapsed_ms,
                          conditional, hdrs)
            if update_state:
                self._db.execute(
                    """INSERT INTO url_state(url, portal_id, kind, sha256, status, etag, last_modified, content_type,
                           fetched_at, checked_at, link_text, list_date, parent_url)
                       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
                       ON CONFLICT(url) DO UPDATE SET portal_id=excluded.portal_id, kind=excluded.kind,
                           sha256=excluded.sha256, status=excluded.status, etag=excluded.etag,
                           last_modified=excluded.last_modified, content_type=excluded.content_type,
                           fetched_at=excluded.fetched_at, checked_at=excluded.checked_at,
                           link_text=COALESCE(excluded.link_text, url_state.link_text),
                           list_date=COALESCE(excluded.list_date, url_state.list_date),
                           parent_url=COALESCE(excluded.parent_url, url_state.parent_url)""",
                    (url, portal_id, kind, sha, status, hdrs.get("etag"), hdrs.get("last-modified"),
                     hdrs.get("content-type"), _iso(fetched_at), _iso(fetched_at), link_text,
                     list_date.isoformat() if list_date else None, parent_url),
                )
            self._maybe_commit()
        killpoint("crawl.archived")
        return sha

    def log(self, record: FetchRecord, *, headers: Mapping[str, str] | None = None, conditional: bool = False) -> None:
        """Append a fetch-log row for an exchange without a stored body (304, failures, robots blocks)."""
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        with self._lock:
            self._log_row(record.portal_id, record.url, record.kind, record.fetched_at, record.status, record.sha256,
                          record.bytes, record.attempts, record.error, record.elapsed_ms, conditional, hdrs)
            self._maybe_commit()

    def touch(self, url: str, *, checked_at: dt.datetime | None = None, headers: Mapping[str, str] | None = None,
              link_text: str | None = None, list_date: dt.date | None = None, parent_url: str | None = None) -> None:
        """A 304 confirmed the archived body: refresh the check time (and validators the server resent)."""
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        with self._lock:
            self._db.execute(
                """UPDATE url_state SET checked_at=?, etag=COALESCE(?, etag), last_modified=COALESCE(?, last_modified),
                       link_text=COALESCE(?, link_text), list_date=COALESCE(?, list_date),
                       parent_url=COALESCE(?, parent_url) WHERE url=?""",
                (_iso(checked_at or utcnow()), hdrs.get("etag"), hdrs.get("last-modified"), link_text,
                 list_date.isoformat() if list_date else None, parent_url, url),
            )
            self._maybe_commit()

    def _log_row(self, portal_id, url, kind, fetched_at, status, sha, nbytes, attempts, error, elapsed_ms,
                 conditional, hdrs) -> None:
        kept = {k: v for k, v in hdrs.items() if k in _KEEP_HEADERS}
        self._db.execute(
            """INSERT INTO fetch_log(portal_id, url, kind, fetched_at, status, sha256, bytes, attempts, error,
                   elapsed_ms, conditional, headers) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""",
            (portal_id, url, kind, _iso(fetched_at), status, sha, nbytes, attempts, error, elapsed_ms,
             int(conditional), json.dumps(kept, ensure_ascii=False) if kept else None),
        )
        self._pending += 1

    def _maybe_commit(self) -> None:
        if self._pending >= self.commit_every or time.monotonic() - self._last_commit >= self.commit_interval_s:
            self.commit()

    def commit(self) -> None:
        with self._lock:
            self._db.commit()
            self._pending = 0
            self._last_commit = time.monotonic()

    def close(self) -> None:
        with self._lock:
            self._db.commit()
            self._db.close()

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ reads

    def latest(self, url: str) -> UrlState | None:
        """The URL's latest archived state (validators and sha256), or None if never fetched OK."""
        with self._lock:
            row = self._db.execute(
                """SELECT url, portal_id, kind, sha256, status, etag, last_modified, content_type, fetched_at,
                          checked_at, link_text, list_date, parent_url FROM url_state WHERE url=?""",
                (url,),
            ).fetchone()
        if row is None:
            return None
        return UrlState(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], _dt(row[8]), _dt(row[9]),
                        row[10], _date(row[11]), row[12])

    def children(self, parent_url: str) -> list[UrlState]:
        """The archived attachments whose recorded parent is ``parent_url`` (the report page linking them):
        what a report page skipped by the revalidation policy still has to report as unchanged."""
        with self._lock:
            rows = self._db.execute(
                """SELECT url, portal_id, kind, sha256, status, etag, last_modified, content_type, fetched_at,
                          checked_at, link_text, list_date, parent_url FROM url_state
                   WHERE parent_url=? AND kind='attachment' AND sha256 IS NOT NULL ORDER BY url""",
                (parent_url,),
            ).fetchall()
        return [UrlState(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], _dt(r[8]), _dt(r[9]), r[10], _date(r[11]),
                         r[12]) for r in rows]

    def last_attempt_failed(self, url: str) -> bool:
        """True when the URL's most recent fetch-log row is a failure (error set): retry it next run."""
        with self._lock:
            row = self._db.execute("SELECT error FROM fetch_log WHERE url=? ORDER BY id DESC LIMIT 1",
                                   (url,)).fetchone()
        return bool(row and row[0])

    def first_seen(self, url: str) -> dt.datetime | None:
        """When the URL was first requested (its oldest fetch-log row), or None."""
        with self._lock:
            row = self._db.execute("SELECT MIN(fetched_at) FROM fetch_log WHERE url=?", (url,)).fetchone()
        return _dt(row[0]) if row else None

    def mark_unchecked(self, url: str) -> None:
        """Forget when the URL was last confirmed (``checked_at`` = NULL): the revalidation policy then
        re-requests it next run — used for a report page one of whose attachments failed."""
        with self._lock:
            self._db.execute("UPDATE url_state SET checked_at=NULL WHERE url=?", (url,))
            self._maybe_commit()

    def documents(self, portal_id: str | None = None) -> list[ArchivedDocument]:
        """Every known report page and attachment with its latest body (for reprocessing)."""
        sql = """SELECT portal_id, url, kind, sha256, fetched_at, content_type, link_text, list_date, parent_url
                 FROM url_state WHERE kind IN ('report_page', 'attachment') AND sha256 IS NOT NULL"""
        args: tuple = ()
        if portal_id is not None:
            sql += " AND portal_id=?"
            args = (portal_id,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY portal_id, url", args).fetchall()
        return [ArchivedDocument(r[0], r[1], r[2], r[3], _dt(r[4]), r[5], r[6], _date(r[7]), r[8]) for r in rows]

    def fetch_log(self, portal_id: str | None = None, *, url: str | None = None) -> list[dict]:
        """Fetch-log rows (oldest first) as dicts — for reports, tests and the warehouse loader."""
        sql = "SELECT * FROM fetch_log WHERE 1=1"
        args: list = []
        if portal_id:
            sql += " AND portal_id=?"
            args.append(portal_id)
        if url:
            sql += " AND url=?"
            args.append(url)
        with self._lock:
            cur = self._db.execute(sql + " ORDER BY id", args)
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]

    def urls(self, kinds: Iterable[str] | None = None) -> list[str]:
        with self._lock:
            if kinds:
                ks = list(kinds)
                q = f"SELECT url FROM url_state WHERE kind IN ({','.join('?' * len(ks))}) ORDER BY url"
                return [r[0] for r in self._db.execute(q, ks)]
            return [r[0] for r in self._db.execute("SELECT url FROM url_state ORDER BY url")]
