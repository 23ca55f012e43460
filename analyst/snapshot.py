"""Open a published warehouse snapshot for the page: read-only, whatever schema version wrote it.

The page reads the analytics views only.  A file written by an older ``ogi`` lacks columns or views the
queries use, so it is upgraded on a *copy* in a temporary directory (the normal writer path:
migrations, then the analytics views), and the copy is read: the analyst's file is never written, not
even its WAL.  A file from a newer ``ogi``, or one that is not an ``ogi`` warehouse at all, is refused
with one line saying so.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse import schema
from warehouse.analytics import VIEWS
from warehouse.db import connect_readonly, open_writer, work_path


class SnapshotRefused(Exception):
    """The file cannot be read as an ogi warehouse (newer schema, not a warehouse); one line."""


@dataclass(frozen=True)
class Snapshot:
    con: duckdb.DuckDBPyConnection
    path: Path  # the file the analyst named
    schema_version: int  # as found in that file
    upgraded: bool  # read from an upgraded temporary copy


def _stale_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Analytics views whose columns differ from the declarations of this code (or that are missing)."""
    have: dict[str, list[str]] = {}
    for view, col in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'analytics' ORDER BY column_index"
    ).fetchall():
        have.setdefault(view, []).append(col)
    return [v.name for v in VIEWS if have.get(v.name) != [c.name for c in v.columns]]


def _version(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    try:
        version = schema.schema_version(con)
    except duckdb.Error as e:
        raise SnapshotRefused(f"{path} is not readable as a warehouse: {str(e).splitlines()[0]}") from None
    if version == 0:
        raise SnapshotRefused(f"{path} is not an ogi warehouse (it has no schema_version table)")
    if version > schema.LATEST_VERSION:
        raise SnapshotRefused(
            f"{path} has warehouse schema version {version}, newer than this ogi understands "
            f"({schema.LATEST_VERSION}): upgrade ogi to make its page"
        )
    return version


@contextlib.contextmanager
def open_snapshot(db_path: str | Path) -> Iterator[Snapshot]:
    """A read-only connection to the analytics views of ``db_path`` (upgraded on a temp copy if old)."""
    path = Path(db_path)
    try:
        con = connect_readonly(path)  # WarehouseMissing when there is no file
    except duckdb.Error as e:
        raise SnapshotRefused(f"{path} is not readable as a DuckDB warehouse: {str(e).splitlines()[0]}") from None
    try:
        version = _version(con, path)
        stale = version < schema.LATEST_VERSION or bool(_stale_views(con))
        if not stale:
            yield Snapshot(con, path, version, upgraded=False)
            return
    finally:
        con.close()
    with tempfile.TemporaryDirectory(prefix="ogi-report-") as tmp:
        published = Path(tmp) / "snapshot.duckdb"
        # the writer opens <db>.work.duckdb: put the copy there, so nothing else is copied or created
        shutil.copyfile(path, work_path(published))
        with open_writer(published, 5.0):  # migrations, then comments and analytics views
            pass
        con = duckdb.connect(str(work_path(published)), read_only=True)
        try:
            yield Snapshot(con, path, version, upgraded=True)
        finally:
            con.close()
