"""The raw archive: every fetched body, stored before anything parses it.

Layout (docs/crawler.md)::

    <archive>/objects/ab/<sha256>.gz     gzip of the raw body, content-addressed (written once)
    <archive>/index.sqlite               url_state: one row per URL (ETag, Last-Modified, latest sha256, kind, …)
                                         fetch_log: append-only, one row per HTTP exchange or failed attempt series

Extraction can be rerun from the archive alone (:meth:`Archive.documents` + :meth:`Archive.get`), and
the crawler revalidates what it archived with conditional GETs (:meth:`Archive.latest`).

One ``Archive`` may be shared by threads (a lock serialises its connection); several processes may open
the same directory (SQLite WAL + busy timeout).  Every write call is its own short transaction, committed
before the call returns: the crawler awaits the network between writes, and a write transaction left open
across an await blocks every other portal's connection (a deadlock once portals share a host's connection
slots: one task waits for a slot while holding the index, the slot holder waits for the index).  With WAL and
``synchronous=NORMAL`` a commit is cheap (no fsync).  Blobs are written with an atomic rename before their
row is inserted, so a row never points at a missing blob.

The one exception is the bookkeeping of a 304 (:meth:`Archive.not_modified`, :meth:`Archive.touch`): a no-change
night is ~1,000 of them and a commit each was a tenth of its crawl CPU, so they are queued in memory and written in
one transaction every :data:`DEFER_ROWS` rows or :data:`DEFER_S` seconds, before any other write, before a read
that could see them, and on :meth:`Archive.commit` / :meth:`Archive.close` — never left open across an await.
A process killed in between loses at most that many "checked again, unchanged" rows: those URLs are simply
re-checked next night, and no body or state a 200 brought is ever deferred.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import re
import sqlite3
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from crawler.types import FetchRecord
from ogi.killpoints import killpoint


class ArchiveCorrupt(KeyError):
    """An archived blob that does not decompress to the body its name (sha256) promises: truncated, damaged
    or tampered with.  A KeyError so that callers treating "not archived" as "fetch it again" do so here too."""

    def __init__(self, sha256: str, reason: str):
        super().__init__(sha256)
        self.sha256, self.reason = sha256, reason

    def __str__(self) -> str:
        return f"archive blob {self.sha256[:12]}… is corrupt: {self.reason}"

_SHA = re.compile(r"^[0-9a-f]{64}$")
#: deferred 304 bookkeeping (see the module docstring): written after this many rows or this many seconds
DEFER_ROWS = 256
DEFER_S = 1.0
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
CREATE TABLE IF NOT EXISTS blob_checked (  -- blob files found intact, with the (size, mtime) they had then
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL
);
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


def _state(r: tuple) -> UrlState:
    """A ``url_state`` row (``Archive._STATE_COLS`` order) as a :class:`UrlState`."""
    return UrlState(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], _dt(r[8]), _dt(r[9]), r[10], _date(r[11]), r[12])


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

    def __init__(self, root: str | Path, *, compresslevel: int = 3):
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)
        self._objects_dir = str(self.objects)  # blob paths are built as strings: the hot path stats one per known URL
        self._lock = threading.RLock()
        self._dirs: set[Path] = set()
        self._verified: set[str] = set()  # blobs read back and found intact by this process
        self._db = sqlite3.connect(self.root / "index.sqlite", timeout=60, check_same_thread=False,
                                   isolation_level="DEFERRED")
        self._db.execute("PRAGMA busy_timeout=60000")
        _enable_wal(self._db)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._db.commit()
        self._pending_logs: list[tuple] = []  # deferred fetch-log rows of 304s
        self._pending_touches: list[tuple] = []  # deferred url_state refreshes (304s, confirmations)
        self._pending_urls: set[str] = set()
        self._pending_parents: set[str] = set()
        self._pending_since = 0.0
        #: gzip level 3: on Word-export HTML ~2.4x faster than level 6 for ~20 % more bytes (bench/crawl.py);
        #: the archive is written on every fetch and read only on reprocessing.
        self.compresslevel = compresslevel

    # ------------------------------------------------------------------ blobs

    def _blob_path(self, sha: str) -> Path:
        return Path(self._blob_file(sha))

    def _blob_file(self, sha: str) -> str:
        if not _SHA.match(sha):  # never build a path from anything but a hex digest
            raise ValueError(f"not a sha256: {sha!r}")
        return f"{self._objects_dir}/{sha[:2]}/{sha}.gz"

    def store_blob(self, body: bytes) -> str:
        """Store ``body`` (idempotent) and return its sha256.  An existing blob that is corrupt is replaced
        (that is how a re-fetch repairs it); a failed write (disk full, read-only) raises OSError and leaves
        no partial file behind, so the archive only ever holds complete blobs."""
        sha = hashlib.sha256(body).hexdigest()
        path = self._blob_path(sha)
        if not path.exists() or self.check(sha, cached=True) is not None:
            if path.parent not in self._dirs:
                path.parent.mkdir(exist_ok=True)
                self._dirs.add(path.parent)
            tmp = path.with_name(f".{sha}.{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                tmp.write_bytes(gzip.compress(body, compresslevel=self.compresslevel, mtime=0))
                os.replace(tmp, path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            self._verified.add(sha)
            self._remember_intact(sha)
        return sha

    def _read_verified(self, sha256: str) -> bytes:
        path = self._blob_path(sha256)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            self._verified.discard(sha256)
            raise KeyError(sha256) from None
        try:
            body = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; truncation is an EOFError
            self._verified.discard(sha256)
            raise ArchiveCorrupt(sha256, f"gzip: {type(e).__name__}: {e}") from None
        if hashlib.sha256(body).hexdigest() != sha256:
            self._verified.discard(sha256)
            raise ArchiveCorrupt(sha256, "content does not match its sha256 (tampered or damaged)")
        self._verified.add(sha256)
        return body

    def get(self, sha256: str) -> bytes:
        """The raw body with this sha256, checked against it: KeyError when not archived, ArchiveCorrupt
        (a KeyError) when the blob is damaged — a corrupt body is never handed to a parser."""
        return self._read_verified(sha256)

    def check(self, sha256: str, *, cached: bool = False) -> str | None:
        """None when the blob is present and intact, else the reason ("missing" or what is wrong).

        ``cached`` (the crawler's hot path: one check per known URL per night): trust a blob this process wrote
        or read intact, or one found intact before whose file still has the same size and mtime (a stat instead
        of a decompress + hash: 0.5 ms per 370 KB page).  Damage that keeps both (bit rot) is found by
        ``ogi archive verify``, which never trusts the cache."""
        if cached and sha256 in self._verified:
            return None
        if cached:
            try:
                st = os.stat(self._blob_file(sha256))
            except FileNotFoundError:
                return "missing"
            with self._lock:
                row = self._db.execute("SELECT size, mtime_ns FROM blob_checked WHERE sha256=?", (sha256,)).fetchone()
            if row == (st.st_size, st.st_mtime_ns):
                self._verified.add(sha256)
                return None
        try:
            self._read_verified(sha256)
        except ArchiveCorrupt as e:
            return e.reason
        except KeyError:
            return "missing"
        self._remember_intact(sha256)
        return None

    def _remember_intact(self, sha256: str) -> None:
        try:
            st = self._blob_path(sha256).stat()
        except FileNotFoundError:
            return
        with self._lock:
            self._flush_pending()
            self._db.execute("INSERT OR REPLACE INTO blob_checked(sha256, size, mtime_ns) VALUES (?,?,?)",
                             (sha256, st.st_size, st.st_mtime_ns))
            self.commit()

    def has(self, sha256: str) -> bool:
        """True when the blob is archived *and intact*: the crawler re-fetches (no conditional GET) otherwise."""
        return self.check(sha256, cached=True) is None

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
        confirmed: bool = True,
    ) -> str:
        """Archive one fetched body: blob first, then its fetch-log row and (unless ``update_state`` is
        False, e.g. for an anti-crawl page) the URL's state.  Returns the sha256.

        ``confirmed=False`` (report pages) leaves ``checked_at`` NULL: a report page is confirmed only once its
        attachments were handled (:meth:`touch` from the crawl), so a crawl killed between the page and its
        attachments re-reads the page next night instead of trusting an archive that never saw its attachments."""
        fetched_at = fetched_at or utcnow()
        sha = self.store_blob(body)
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        with self._lock:
            self._flush_pending()
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
                     hdrs.get("content-type"), _iso(fetched_at), _iso(fetched_at) if confirmed else None, link_text,
                     list_date.isoformat() if list_date else None, parent_url),
                )
            self.commit()
        killpoint("crawl.archived")
        return sha

    def log(self, record: FetchRecord, *, headers: Mapping[str, str] | None = None, conditional: bool = False) -> None:
        """Append a fetch-log row for an exchange without a stored body (304, failures, robots blocks)."""
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        with self._lock:
            self._flush_pending()
            self._log_row(record.portal_id, record.url, record.kind, record.fetched_at, record.status, record.sha256,
                          record.bytes, record.attempts, record.error, record.elapsed_ms, conditional, hdrs)
            self.commit()

    def not_modified(self, record: FetchRecord, *, headers: Mapping[str, str] | None = None,
                     link_text: str | None = None, list_date: dt.date | None = None, parent_url: str | None = None,
                     confirmed: bool = True) -> None:
        """A 304: its fetch-log row and the refreshed URL state, deferred (module docstring: written with the
        next batch, a no-change night is ~1,000 of these)."""
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        with self._lock:
            self._pending_logs.append(self._log_params(
                record.portal_id, record.url, record.kind, record.fetched_at, record.status, record.sha256,
                record.bytes, record.attempts, record.error, record.elapsed_ms, True, hdrs))
            self._defer_touch(record.url, None, hdrs, link_text, list_date, parent_url, confirmed)

    def touch(self, url: str, *, checked_at: dt.datetime | None = None, headers: Mapping[str, str] | None = None,
              link_text: str | None = None, list_date: dt.date | None = None, parent_url: str | None = None,
              confirmed: bool = True) -> None:
        """A 304 confirmed the archived body: refresh the check time (and validators the server resent).

        ``confirmed=False`` keeps the check time as it was (a report page is confirmed after its attachments)."""
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        with self._lock:
            self._defer_touch(url, checked_at, hdrs, link_text, list_date, parent_url, confirmed)

    _TOUCH_SQL = """UPDATE url_state SET checked_at=CASE WHEN ? THEN ? ELSE checked_at END, etag=COALESCE(?, etag),
                      last_modified=COALESCE(?, last_modified), link_text=COALESCE(?, link_text),
                      list_date=COALESCE(?, list_date), parent_url=COALESCE(?, parent_url) WHERE url=?"""
    _LOG_SQL = """INSERT INTO fetch_log(portal_id, url, kind, fetched_at, status, sha256, bytes, attempts, error,
                    elapsed_ms, conditional, headers) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"""

    def _defer_touch(self, url, checked_at, hdrs, link_text, list_date, parent_url, confirmed) -> None:
        if not self._pending_urls:
            self._pending_since = time.monotonic()
        self._pending_touches.append(
            (confirmed, _iso(checked_at or utcnow()), hdrs.get("etag"), hdrs.get("last-modified"), link_text,
             list_date.isoformat() if list_date else None, parent_url, url))
        self._pending_urls.add(url)
        if parent_url:
            self._pending_parents.add(parent_url)
        if len(self._pending_touches) >= DEFER_ROWS or time.monotonic() - self._pending_since >= DEFER_S:
            self.commit()

    def _flush_pending(self) -> None:
        """Write the deferred 304 bookkeeping (in the caller's transaction; the caller commits)."""
        if self._pending_logs:
            self._db.executemany(self._LOG_SQL, self._pending_logs)
            self._pending_logs.clear()
        if self._pending_touches:
            self._db.executemany(self._TOUCH_SQL, self._pending_touches)
            self._pending_touches.clear()
        self._pending_urls.clear()
        self._pending_parents.clear()

    def _log_params(self, portal_id, url, kind, fetched_at, status, sha, nbytes, attempts, error, elapsed_ms,
                    conditional, hdrs) -> tuple:
        kept = {k: v for k, v in hdrs.items() if k in _KEEP_HEADERS}
        return (portal_id, url, kind, _iso(fetched_at), status, sha, nbytes, attempts, error, elapsed_ms,
                int(conditional), json.dumps(kept, ensure_ascii=False) if kept else None)

    def _log_row(self, *args) -> None:
        self._db.execute(self._LOG_SQL, self._log_params(*args))

    def _sync(self, url: str | None = None) -> None:
        """Before a read: write what is deferred if the read could see it (any of it when ``url`` is None)."""
        if self._pending_touches and (url is None or url in self._pending_urls):
            self.commit()

    def export_portals(self, dest: str | Path, portal_ids: Iterable[str]) -> dict[str, int]:
        """A new archive at ``dest`` with what this one knows of some portals: their URL state, fetch log and the
        bodies the URL state names (hard links when possible).  A sharded nightly run seeds each shard with it, so
        the shard's crawl is as incremental (conditional GETs, 304s) as a run on this archive would be."""
        ids = sorted(set(portal_ids))
        dest_p = Path(dest)
        seed = Archive(dest_p)
        seed.close()
        added = {"urls": 0, "fetches": 0, "blobs": 0}
        with self._lock:
            self._db.commit()
            self._db.execute("ATTACH DATABASE ? AS seed", [str(dest_p / "index.sqlite")])
            try:
                marks = ",".join("?" * len(ids))
                if ids:
                    added["urls"] = self._db.execute(
                        f"INSERT OR REPLACE INTO seed.url_state SELECT * FROM url_state WHERE portal_id IN ({marks})",
                        ids).rowcount
                    added["fetches"] = self._db.execute(
                        f"""INSERT INTO seed.fetch_log (portal_id, url, kind, fetched_at, status, sha256, bytes, attempts,
                                                        error, elapsed_ms, conditional, headers)
                            SELECT portal_id, url, kind, fetched_at, status, sha256, bytes, attempts, error, elapsed_ms,
                                   conditional, headers FROM fetch_log WHERE portal_id IN ({marks}) ORDER BY id""",
                        ids).rowcount
                    shas = [r[0] for r in self._db.execute(
                        f"SELECT DISTINCT sha256 FROM url_state WHERE portal_id IN ({marks}) AND sha256 IS NOT NULL",
                        ids).fetchall()]
                else:
                    shas = []
                self._db.commit()
            finally:
                self._db.execute("DETACH DATABASE seed")
        for sha in shas:
            if not _SHA.match(sha):
                continue
            src = self._blob_path(sha)
            if not src.exists():
                continue
            out = dest_p / "objects" / sha[:2] / f"{sha}.gz"
            if out.exists():
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, out)
            except OSError:
                import shutil

                shutil.copyfile(src, out)
            added["blobs"] += 1
        return added

    def absorb(self, other: str | Path) -> dict[str, int]:
        """Take in another archive (a shard's, after it was staged): its blobs, URL state and fetch log.

        Idempotent: a blob already here is kept (content-addressed; hard-linked when on the same file system,
        else copied through a temp file), a URL's state is replaced only by a newer check, and a fetch-log row
        already here (same portal, URL, time, kind, status) is not added twice.  Returns what was added.
        """
        src = Path(other)
        added = {"blobs": 0, "urls": 0, "fetches": 0}
        for f in sorted((src / "objects").glob("*/*.gz")):
            sha = f.name[:-3]
            if not _SHA.match(sha):
                continue
            dest = self._blob_path(sha)
            if dest.exists():
                continue
            dest.parent.mkdir(exist_ok=True)
            tmp = dest.with_name(f".{sha}.{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                try:
                    os.link(f, tmp)
                except OSError:
                    import shutil

                    shutil.copyfile(f, tmp)
                os.replace(tmp, dest)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            added["blobs"] += 1
        if not (src / "index.sqlite").exists():
            return added
        with self._lock:
            self._db.commit()
            self._db.execute("ATTACH DATABASE ? AS shard", [str(src / "index.sqlite")])
            try:
                before = self._db.total_changes
                self._db.execute(
                    """INSERT INTO url_state SELECT * FROM shard.url_state WHERE true
                       ON CONFLICT (url) DO UPDATE SET portal_id = excluded.portal_id, kind = excluded.kind,
                           sha256 = excluded.sha256, status = excluded.status, etag = excluded.etag,
                           last_modified = excluded.last_modified, content_type = excluded.content_type,
                           fetched_at = excluded.fetched_at, checked_at = excluded.checked_at,
                           link_text = excluded.link_text, list_date = excluded.list_date,
                           parent_url = excluded.parent_url
                       WHERE coalesce(excluded.checked_at, '') > coalesce(url_state.checked_at, '')""")
                added["urls"] = self._db.total_changes - before
                before = self._db.total_changes
                self._db.execute(
                    """INSERT INTO fetch_log (portal_id, url, kind, fetched_at, status, sha256, bytes, attempts, error,
                                              elapsed_ms, conditional, headers)
                       SELECT s.portal_id, s.url, s.kind, s.fetched_at, s.status, s.sha256, s.bytes, s.attempts,
                              s.error, s.elapsed_ms, s.conditional, s.headers
                       FROM shard.fetch_log s
                       WHERE NOT EXISTS (SELECT 1 FROM fetch_log f WHERE f.url = s.url AND f.portal_id = s.portal_id
                                           AND f.fetched_at = s.fetched_at AND f.kind = s.kind
                                           AND f.status IS s.status)
                       ORDER BY s.id""")
                added["fetches"] = self._db.total_changes - before
                self._db.commit()
            finally:
                self._db.execute("DETACH DATABASE shard")
        return added

    def commit(self) -> None:
        with self._lock:
            self._flush_pending()
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._flush_pending()
            self._db.commit()
            self._db.close()

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ reads

    #: the ``url_state`` columns a :class:`UrlState` is made of (:func:`_state`)
    _STATE_COLS = """url, portal_id, kind, sha256, status, etag, last_modified, content_type, fetched_at, checked_at,
                     link_text, list_date, parent_url"""

    def latest(self, url: str) -> UrlState | None:
        """The URL's latest archived state (validators and sha256), or None if never fetched OK."""
        with self._lock:
            self._sync(url)
            row = self._db.execute(f"SELECT {self._STATE_COLS} FROM url_state WHERE url=?", (url,)).fetchone()
        return None if row is None else _state(row)

    def children(self, parent_url: str) -> list[UrlState]:
        """The archived attachments whose recorded parent is ``parent_url`` (the report page linking them):
        what a report page skipped by the revalidation policy still has to report as unchanged."""
        sql = f"""SELECT {self._STATE_COLS} FROM url_state
                  WHERE parent_url=? AND kind='attachment' AND sha256 IS NOT NULL ORDER BY url"""
        with self._lock:
            rows = self._db.execute(sql, (parent_url,)).fetchall()
            if self._pending_touches and (parent_url in self._pending_parents
                                          or any(r[0] in self._pending_urls for r in rows)):
                self._sync()  # a deferred refresh of one of them (or one becoming a child): read them again
                rows = self._db.execute(sql, (parent_url,)).fetchall()
        return [_state(r) for r in rows]

    def states(self, urls: Iterable[str]) -> tuple[dict[str, UrlState], dict[str, list[UrlState]]]:
        """What :meth:`latest` and :meth:`children` say of every URL of ``urls``, read in two queries.

        The crawl plans a portal's night from the state of every listed URL and its attachments (~1,000 of each on
        a county portal): two queries per URL were a tenth of a no-change night's crawl CPU."""
        keys = json.dumps(list(dict.fromkeys(urls)), ensure_ascii=False)
        with self._lock:
            self._sync()  # any deferred 304 bookkeeping first: these reads may see it
            rows = self._db.execute(
                f"SELECT {self._STATE_COLS} FROM url_state WHERE url IN (SELECT value FROM json_each(?))", (keys,)
            ).fetchall()
            kids = self._db.execute(
                f"""SELECT {self._STATE_COLS} FROM url_state WHERE parent_url IN (SELECT value FROM json_each(?))
                    AND kind='attachment' AND sha256 IS NOT NULL ORDER BY url""", (keys,)
            ).fetchall()
        latest = {r[0]: _state(r) for r in rows}
        children: dict[str, list[UrlState]] = {}
        for r in kids:
            children.setdefault(r[12], []).append(_state(r))
        return latest, children

    def intact(self, shas: Iterable[str]) -> set[str]:
        """The blobs of ``shas`` that :meth:`has` would find archived and intact, checked with one query for all
        of them (the size/mtime cache of :meth:`check`) and a full check only for those it cannot vouch for."""
        asked = list(dict.fromkeys(shas))
        todo = [h for h in asked if h not in self._verified]
        stats: dict[str, tuple[int, int]] = {}
        for h in todo:
            try:
                st = os.stat(self._blob_file(h))
            except FileNotFoundError:
                continue
            stats[h] = (st.st_size, st.st_mtime_ns)
        if stats:
            with self._lock:
                rows = self._db.execute(
                    "SELECT sha256, size, mtime_ns FROM blob_checked WHERE sha256 IN (SELECT value FROM json_each(?))",
                    (json.dumps(list(stats)),)).fetchall()
            for h, size, mtime in rows:
                if stats.get(h) == (size, mtime):
                    self._verified.add(h)
        return {h for h in asked if h in self._verified or (h in stats and self.check(h, cached=True) is None)}

    def last_attempt_failed(self, url: str) -> bool:
        """True when the URL's most recent fetch-log row is a failure (error set): retry it next run."""
        with self._lock:
            self._sync(url)
            row = self._db.execute("SELECT error FROM fetch_log WHERE url=? ORDER BY id DESC LIMIT 1",
                                   (url,)).fetchone()
        return bool(row and row[0])

    def first_seen(self, url: str) -> dt.datetime | None:
        """When the URL was first requested (its oldest fetch-log row), or None."""
        with self._lock:
            self._sync(url)
            row = self._db.execute("SELECT MIN(fetched_at) FROM fetch_log WHERE url=?", (url,)).fetchone()
        return _dt(row[0]) if row else None

    def mark_unchecked(self, url: str) -> None:
        """Forget when the URL was last confirmed (``checked_at`` = NULL): the revalidation policy then
        re-requests it next run — used for a report page one of whose attachments failed."""
        with self._lock:
            self._flush_pending()
            self._db.execute("UPDATE url_state SET checked_at=NULL WHERE url=?", (url,))
            self.commit()

    def documents(self, portal_id: str | None = None) -> list[ArchivedDocument]:
        """Every known report page and attachment with its latest body (for reprocessing)."""
        sql = """SELECT portal_id, url, kind, sha256, fetched_at, content_type, link_text, list_date, parent_url
                 FROM url_state WHERE kind IN ('report_page', 'attachment') AND sha256 IS NOT NULL"""
        args: tuple = ()
        if portal_id is not None:
            sql += " AND portal_id=?"
            args = (portal_id,)
        with self._lock:
            self._sync()
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
            self._sync()
            cur = self._db.execute(sql + " ORDER BY id", args)
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]

    def urls(self, kinds: Iterable[str] | None = None) -> list[str]:
        with self._lock:
            self._sync()
            if kinds:
                ks = list(kinds)
                q = f"SELECT url FROM url_state WHERE kind IN ({','.join('?' * len(ks))}) ORDER BY url"
                return [r[0] for r in self._db.execute(q, ks)]
            return [r[0] for r in self._db.execute("SELECT url FROM url_state ORDER BY url")]

    # ------------------------------------------------------------------ integrity

    def verify(self) -> list[tuple[str, str, str]]:
        """Check every blob the index points at and every blob file on disk: ``(sha256, where, reason)``
        for each problem (``where`` is a URL for an indexed body, else the file path)."""
        problems: list[tuple[str, str, str]] = []
        with self._lock:
            self._sync()
            rows = self._db.execute(
                "SELECT url, sha256 FROM url_state WHERE sha256 IS NOT NULL ORDER BY url").fetchall()
        seen: set[str] = set()
        for url, sha in rows:
            reason = self.check(sha)
            seen.add(sha)
            if reason is not None:
                problems.append((sha, url, reason))
        for path in sorted(self.objects.glob("*/*.gz")):
            sha = path.name[:-3]
            if sha in seen:
                continue
            reason = self.check(sha) if _SHA.match(sha) else "file name is not a sha256"
            if reason is not None:
                problems.append((sha, str(path), reason))
        return problems

    def readable_documents(self, portal_id: str | None = None) -> tuple[list[ArchivedDocument], list[tuple[ArchivedDocument, str]]]:
        """:meth:`documents` split into the ones safe to re-extract and the skipped ones with their reason.

        A publication (a report page and the attachments under it) is skipped whole when any of its bodies
        is corrupt: extracting the rest alone would change the result (a "see attachment" stub page would
        become the report), so the warehouse keeps what it last loaded for that publication instead."""
        docs = self.documents(portal_id)
        bad = {d.url: r for d in docs if (r := self.check(d.sha256)) is not None}
        if not bad:
            return docs, []
        group = lambda d: d.parent_url if d.kind == "attachment" and d.parent_url else d.url  # noqa: E731
        bad_groups = {group(d) for d in docs if d.url in bad}
        ok, skipped = [], []
        for d in docs:
            if group(d) in bad_groups:
                skipped.append((d, bad.get(d.url) or f"skipped with its publication {group(d)}: a part is corrupt"))
            else:
                ok.append(d)
        return ok, skipped

    def reprocessable(self, portal_id: str | None = None) -> list[ArchivedDocument]:
        """:meth:`readable_documents`, listing each skipped document on stderr (what ``ogi reprocess`` shows)."""
        ok, skipped = self.readable_documents(portal_id)
        for d, reason in skipped:
            print(f"ogi: skipped corrupt archive entry {d.url} ({d.sha256[:12]}…): {reason}", file=sys.stderr,
                  flush=True)
        return ok
