"""Order-independent checksums of the ``analytics`` schema, to prove that a rerun (or a crash and a rerun)
leaves what analysts read exactly as one clean run would.

A view's checksum is its row count and the sum of a 64-bit hash of every whole row, so row order does not
matter but any changed cell, missing row or doubled row does.  The run log (``analytics.runs``) gets one row
per run by design and is left out; nothing else is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

# Views whose rows describe runs, not reports: a new run adds a row there by design.
RUN_LOG_VIEWS = frozenset({"runs"})

#: Columns saying *when* (in which run) a row was seen or loaded: two clean runs made at different times differ
#: there and nowhere else, so comparisons of a killed-and-rerun warehouse with a clean one leave them out
#: (``ignore_columns=RUN_TIME_COLUMNS``).  Any other column (values, statuses, URLs, revisions) must be equal.
RUN_TIME_COLUMNS = frozenset({"run_id", "first_seen_at", "last_seen_at", "last_changed_at", "last_run_at", "loaded_at"})


@dataclass(frozen=True)
class ViewChecksum:
    rows: int
    digest: int  # sum of hash(row) over the view, as a HUGEINT

    def __str__(self) -> str:
        return f"{self.rows} rows, {self.digest:#x}"


def analytics_checksums(con: duckdb.DuckDBPyConnection, *, exclude: frozenset[str] = RUN_LOG_VIEWS,
                        ignore_columns: frozenset[str] = frozenset()) -> dict[str, ViewChecksum]:
    """``{view name: checksum}`` for every view (and table) of the ``analytics`` schema but ``exclude``,
    leaving out the columns named in ``ignore_columns`` wherever they occur."""
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics' ORDER BY 1").fetchall()]
    out: dict[str, ViewChecksum] = {}
    for name in names:
        if name in exclude:
            continue
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name = ?",
            [name]).fetchall() if r[0] in ignore_columns]
        excluded = ", ".join(f'"{c}"' for c in cols)
        source = f'(SELECT * EXCLUDE ({excluded}) FROM analytics."{name}")' if cols else f'analytics."{name}"'
        rows, digest = con.execute(
            f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM {source} AS t").fetchone()
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
