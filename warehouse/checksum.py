"""Order-independent checksums of the ``analytics`` schema, to prove that a rerun (or a crash and a rerun)
leaves what analysts read exactly as one clean run would.

A view's checksum is its row count and the sum of a 64-bit hash of every whole row, so row order does not
matter but any changed cell, missing row or doubled row does.  The run-log views (``analytics.runs``,
``analytics.portal_runs``, ``analytics.report_checks``: when each run ran and what it saw) change with every run
by design and are left out; nothing else is.  Every other view holds only what the reports say and what was
decided about them, so a rerun with nothing new must leave it identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

# Views whose rows describe runs, not reports: a new run adds a row there by design.
RUN_LOG_VIEWS = frozenset({"runs", "portal_runs", "report_checks"})

#: Columns saying *when* (in which run) a row was seen or loaded: two clean runs made at different times differ
#: there and nowhere else, so comparisons of a killed-and-rerun warehouse with a clean one leave them out
#: (``ignore_columns=RUN_TIME_COLUMNS``).  Any other column (values, statuses, URLs, revisions) must be equal.
RUN_TIME_COLUMNS = frozenset({"run_id", "fetched_at", "first_seen_at", "last_seen_at", "last_changed_at", "last_run_at", "loaded_at"})


@dataclass(frozen=True)
class ViewChecksum:
    rows: int
    digest: int  # sum of hash(row) over the view, as a HUGEINT

    def __str__(self) -> str:
        return f"{self.rows} rows, {self.digest:#x}"


def analytics_checksums(con: duckdb.DuckDBPyConnection, *, exclude: frozenset[str] = RUN_LOG_VIEWS,
                        ignore_columns: frozenset[str] = frozenset()) -> dict[str, ViewChecksum]:
    """``{view name: checksum}`` for every view (and table) of the ``analytics`` schema but ``exclude``.

    ``ignore_columns``: leave out the columns of these names wherever they occur — :data:`RUN_TIME_COLUMNS` to
    compare two warehouses built by different runs (a crash and a rerun against one clean run); within one
    warehouse (rerun idempotence) compare everything.
    """
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics' ORDER BY 1").fetchall()]
    out: dict[str, ViewChecksum] = {}
    for name in names:
        if name in exclude:
            continue
        cols = [c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'analytics' AND table_name = ?"
            " ORDER BY column_index", [name]).fetchall() if c not in ignore_columns]
        rows, digest = con.execute(
            "SELECT count(*), coalesce(sum(hash(row(" + ", ".join(f't."{c}"' for c in cols) + "))::HUGEINT), 0) "
            f'FROM analytics."{name}" AS t').fetchone()
        out[name] = ViewChecksum(int(rows), int(digest))
    return out


def file_checksums(db: str | Path, **kw) -> dict[str, ViewChecksum]:  # noqa: ANN003
    """:func:`analytics_checksums` of a warehouse file, opened read-only."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return analytics_checksums(con, **kw)
    finally:
        con.close()


def differences(a: dict[str, ViewChecksum], b: dict[str, ViewChecksum]) -> dict[str, tuple[str, str]]:
    """The views whose checksums differ (or exist on one side only), with both sides printed: for assert messages."""
    return {k: (str(a.get(k, "absent")), str(b.get(k, "absent")))
            for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)}
