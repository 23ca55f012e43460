"""``ogi query`` and ``ogi export``: read-only access to the published snapshot.

Both open the analyst snapshot with ``read_only=True`` -- a statement that tries to write fails
inside DuckDB -- so neither can block or disturb the pipeline (which writes its own working file).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import re
from pathlib import Path
from typing import Any, TextIO

from warehouse.analytics import VIEWS
from warehouse.db import connect_readonly

FORMATS = ("table", "csv", "json", "parquet")
TABLE_ROW_LIMIT = 1000


class QueryError(Exception):
    """The SQL failed (syntax, unknown table, an attempted write); the message is one line."""


def _jsonable(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


def run_query(db_path: str | Path, sql: str, fmt: str = "table", out: str | Path | None = None,
              stdout: TextIO | None = None) -> int:
    """Run ``sql`` read-only and write the result; returns the number of rows."""
    import sys

    if fmt not in FORMATS:
        raise QueryError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    stdout = stdout or sys.stdout
    con = connect_readonly(db_path)
    try:
        import duckdb

        try:
            if fmt == "parquet":
                if not out:
                    raise QueryError("--format parquet needs --out FILE")
                target = Path(out)
                target.parent.mkdir(parents=True, exist_ok=True)
                body = sql.strip().rstrip(";")
                con.execute(f"COPY ({body}) TO '{_sql_str(str(target))}' (FORMAT parquet, COMPRESSION zstd)")
                return int(con.execute(f"SELECT count(*) FROM read_parquet('{_sql_str(str(target))}')").fetchone()[0])
            cur = con.execute(sql)
            if cur.description is None:
                return 0
            cols = [d[0] for d in cur.description]
            # a table on a terminal shows the first rows only: don't pull millions into memory for it
            rows = cur.fetchmany(TABLE_ROW_LIMIT + 1) if fmt == "table" else cur.fetchall()
        except duckdb.Error as e:
            raise QueryError(str(e).splitlines()[0]) from None
    finally:
        con.close()

    sink: TextIO
    fh = open(out, "w", encoding="utf-8", newline="") if out else None
    sink = fh or stdout
    try:
        if fmt == "csv":
            w = csv.writer(sink)
            w.writerow(cols)
            w.writerows([[_csv_cell(v) for v in r] for r in rows])
        elif fmt == "json":
            json.dump([{c: _jsonable(v) for c, v in zip(cols, r)} for r in rows], sink, ensure_ascii=False, indent=1)
            sink.write("\n")
        else:
            _rich_table(cols, rows, sink)
    finally:
        if fh:
            fh.close()
    return len(rows)


def _csv_cell(v: Any) -> Any:
    if isinstance(v, (list, dict)):
        return json.dumps(_jsonable(v), ensure_ascii=False)
    return _jsonable(v)


def _rich_table(cols: list[str], rows: list[tuple], sink: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", show_lines=False)
    for c in cols:
        table.add_column(c, overflow="fold")
    for r in rows[:TABLE_ROW_LIMIT]:
        table.add_row(*["" if v is None else str(v) for v in r])
    console = Console(file=sink, width=max(120, min(240, 20 * len(cols))), soft_wrap=False)
    console.print(table)
    note = f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
    if len(rows) > TABLE_ROW_LIMIT:
        note = f"more than {TABLE_ROW_LIMIT} rows: the first {TABLE_ROW_LIMIT} are shown; use --format csv/json/parquet for all"
    console.print(note)


def _sql_str(s: str) -> str:
    return s.replace("'", "''")


_SAFE = re.compile(r"^[a-z0-9_]+$")


def _partitioned_select(v) -> str | None:
    """SELECT of view ``v`` with ``province`` and ``year`` columns guaranteed (for PARTITION_BY)."""
    names = [c.name for c in v.columns]
    if "portal_id" not in names and "province" not in names and "report_id" not in names:
        return None
    joins = []
    if "report_id" in names and ("portal_id" not in names or "year" not in names):
        joins.append("LEFT JOIN analytics.reports r ON r.report_id = v.report_id")
    portal = "v.portal_id" if "portal_id" in names else "r.portal_id"
    if "province" in names:
        prov = "coalesce(v.province, '未知')"
    else:
        joins.append(f"LEFT JOIN main.portals p ON p.portal_id = {portal}")
        prov = "coalesce(p.province, '未知')"
    if "year" in names:
        year = "coalesce(v.year, 0)"
    elif "report_id" in names:
        year = "coalesce(r.year, 0)"
    else:
        year = "0"
    cols = [f"v.{n}" for n in names if n not in ("province", "year")]
    return f"SELECT {', '.join(cols)}, {prov} AS province, {year} AS year FROM {v.qualified} v {' '.join(joins)}"


def export(db_path: str | Path, out_dir: str | Path) -> dict[str, int]:
    """Write every analytics view as Parquet under ``out_dir/<view>/``; returns rows per view.

    Views about portals or reports are partitioned ``province=…/year=…`` (hive style: read back with
    ``read_parquet('DIR/facts/**/*.parquet', hive_partitioning = true)``); province ``未知`` when the
    registry names none, year ``0`` when unknown.  The others are one ``data.parquet``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    con = connect_readonly(db_path)
    counts: dict[str, int] = {}
    try:
        for v in VIEWS:
            assert _SAFE.match(v.name)
            target = out / v.name
            sel = _partitioned_select(v)
            if sel is not None:
                con.execute(
                    f"COPY ({sel}) TO '{_sql_str(str(target))}' "
                    "(FORMAT parquet, PARTITION_BY (province, year), OVERWRITE, COMPRESSION zstd)"
                )
            else:
                target.mkdir(parents=True, exist_ok=True)
                con.execute(
                    f"COPY (SELECT * FROM {v.qualified}) TO '{_sql_str(str(target / 'data.parquet'))}' "
                    "(FORMAT parquet, COMPRESSION zstd)"
                )
            counts[v.name] = int(con.execute(f"SELECT count(*) FROM {v.qualified}").fetchone()[0])
    finally:
        con.close()
    return counts
