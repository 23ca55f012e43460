"""Per-report drill-down payloads: sections, cells as printed, revisions; gzip chunks decoded on demand.

The drill-downs are most of the page's bytes (a report's text and its ~200 cells), yet a reader opens a
handful.  So they are JSON built inside DuckDB (no Python object per cell), grouped into chunks of
consecutive reports (same portal, same agency across years: their texts repeat, so gzip's 32 KB window
finds the repeats), gzip-compressed and base64-embedded.  The lists are joined as text (``string_agg`` of JSON
rows, the same bytes as ``to_json(list(...))``, which needs several times the memory).  The page decodes a chunk with the browser's own
``DecompressionStream`` only when one of its reports is opened: page size and load time stay flat in the
number of reports, and the page still needs no network.  The JSON is built a block of chunks at a time
(``BLOCK_CHUNKS``), so building the page of 10,000 reports holds one block of uncompressed JSON, not all of it.

A chunk is also reused from the page it replaces: each chunk carries a key (a hash of what its reports' payloads
are made of: report id, current revision, provenance, every revision row; facts and sections of a revision are
never rewritten), and a chunk of the previous page whose key is unchanged is copied instead of built again —
on a night with nothing new that is every chunk (the no-change rerun of ``bench.e2e``: ~0.45 s of its ~0.55 s
page).  The previous page is read a line at a time (one chunk tag per line), keeping only the chunks wanted.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import duckdb

from analyst.data import Filters
from warehouse.db import bounded_memory

CHUNK_REPORTS = 64  # reports per chunk: a chunk is decoded in a few ms
TEXT_LIMIT = 20_000  # characters of the body text shown when no section was found (legacy reports)
#: Chunks whose JSON is built by one query (512 reports).  DuckDB's working memory for the query, not the JSON it
#: returns, is what this bounds: ~100 MB for 1,024 reports, ~40 MB for 512 (``python -m bench.memory``, 10,000 reports)
BLOCK_CHUNKS = 8
#: DuckDB's memory while the drill-down blocks are built (``OGI_PAGE_BLOCK_MEMORY_LIMIT``; "off": DuckDB's own).
#: Each block scans the whole ``facts`` table, and DuckDB caches what it scans up to its limit (80 % of RAM):
#: ~100 MB of the page's peak at 1,000 reports already, more at 10,000, for a cache the next block barely uses.
#: A block that needs more working memory than this is built again without the limit (never an error for want of
#: memory).
BLOCK_MEMORY_LIMIT = os.environ.get("OGI_PAGE_BLOCK_MEMORY_LIMIT", "96MB")
#: Changes whenever what a chunk holds is built differently (the payload query, TEXT_LIMIT, the encoding), so an
#: older page's chunks are never reused by a newer build.
PAYLOAD_FORMAT = f"dd1|{TEXT_LIMIT}|{CHUNK_REPORTS}"
_TAG_START = '<script type="application/octet-stream"'
_CHUNK_TAG = re.compile(_TAG_START + r' id="dd-\d+" data-key="([0-9a-f]{64})">([A-Za-z0-9+/=]*)</script>')


def chunk_tag(n: int, key: str, chunk: str) -> str:
    """Chunk ``n`` as the page embeds it (and :func:`previous_chunks` reads it back): one tag, one line."""
    return f'{_TAG_START} id="dd-{n}" data-key="{key}">{chunk}</script>'


def payloads(con: duckdb.DuckDBPyConnection, filters: Filters, report_ids: list[str] | None = None) -> dict[str, str]:
    """report_id → its drill-down JSON: ``f`` facts, ``s`` sections, ``v`` revisions, ``t`` body text (only when no
    section was found), ``p`` provenance (archive sha256, first seen, last changed).  ``report_ids``: only these."""
    only = "AND list_contains(?::VARCHAR[], r.report_id)" if report_ids is not None else ""
    sql = f"""
    WITH sel AS (SELECT r.report_id, r.revision,
                        to_json(json_array(r.document_sha256, strftime(r.first_seen_at, '%Y-%m-%d %H:%M:%S'),
                                           strftime(r.last_changed_at, '%Y-%m-%d %H:%M:%S')))::VARCHAR AS p
                 FROM analytics.reports r WHERE {Filters.where()} {only}),
    f AS (SELECT f.report_id,
                 '[' || string_agg(json_array(f.tbl || '|' || f.row_key || '|' || f.col_key, f.raw,
                                              f.implicit_zero, f.table_index, f.grid_row, f.grid_col)::VARCHAR, ','
                                   ORDER BY f.tbl, f.table_index, f.grid_row, f.grid_col) || ']' AS j
          FROM main.facts f JOIN sel USING (report_id, revision) GROUP BY f.report_id),
    s AS (SELECT s.report_id, '[' || string_agg(json_array(s.number, s.heading, s.text)::VARCHAR, ',' ORDER BY s.number) || ']' AS j,
                 sum(strlen(coalesce(s.text, ''))) AS n
          FROM main.sections s JOIN sel USING (report_id, revision) GROUP BY s.report_id),
    v AS (SELECT v.report_id,
                 '[' || string_agg(json_array(v.revision, strftime(v.loaded_at, '%Y-%m-%d %H:%M:%S'), v.run_id,
                                              v.status, v.document_sha256, v.content_hash)::VARCHAR, ','
                                   ORDER BY v.revision) || ']' AS j
          FROM main.report_revisions v JOIN (SELECT DISTINCT report_id FROM sel) USING (report_id) GROUP BY v.report_id),
    t AS (SELECT v.report_id, v.text FROM main.report_revisions v JOIN sel USING (report_id, revision))
    SELECT sel.report_id, sel.p, f.j, s.j, v.j,
           CASE WHEN coalesce(s.n, 0) = 0 THEN to_json(left(t.text, {TEXT_LIMIT}))::VARCHAR END
    FROM sel LEFT JOIN f USING (report_id) LEFT JOIN s USING (report_id) LEFT JOIN v USING (report_id)
    LEFT JOIN t USING (report_id)
    """
    out = {}
    params = filters.params() + ([report_ids] if report_ids is not None else [])
    for rid, pj, fj, sj, vj, tj in con.execute(sql, params).fetchall():
        out[rid] = f'{{"p":{pj},"f":{fj or "[]"},"s":{sj or "[]"},"v":{vj or "[]"},"t":{tj or "null"}}}'
    return out


def report_keys(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, str]:
    """report_id → hash of everything its drill-down payload is made of (see the module docstring)."""
    sql = f"""
    WITH sel AS (SELECT r.report_id, r.revision, r.document_sha256, r.first_seen_at, r.last_changed_at
                 FROM analytics.reports r WHERE {Filters.where()}),
    v AS (SELECT v.report_id,
                 string_agg(concat_ws('|', v.revision, v.loaded_at, v.run_id, v.status, v.document_sha256,
                                      v.content_hash), ';' ORDER BY v.revision) AS j
          FROM main.report_revisions v JOIN (SELECT DISTINCT report_id FROM sel) USING (report_id) GROUP BY v.report_id)
    SELECT sel.report_id, md5(concat_ws('|', sel.report_id, sel.revision, sel.document_sha256, sel.first_seen_at,
                                        sel.last_changed_at, v.j))
    FROM sel LEFT JOIN v USING (report_id)
    """
    return dict(con.execute(sql, filters.params()).fetchall())


def chunk_key(part: list[str], keys: dict[str, str]) -> str:
    h = hashlib.sha256(PAYLOAD_FORMAT.encode())
    for r in part:
        h.update(f"|{r}:{keys.get(r, '-')}".encode())
    return h.hexdigest()


def previous_chunks(page: Path | None, wanted: set[str]) -> dict[str, str]:
    """The chunks of an earlier page whose keys are ``wanted`` (a missing or unreadable page: none)."""
    if page is None or not wanted:
        return {}
    found: dict[str, str] = {}
    try:
        with open(page, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.startswith(_TAG_START):
                    continue
                m = _CHUNK_TAG.match(line)
                if m and m.group(1) in wanted:
                    found[m.group(1)] = m.group(2)
    except OSError:
        return {}
    return found


def build(con: duckdb.DuckDBPyConnection, filters: Filters, report_ids: list[str], *,
          previous: Path | None = None) -> tuple[list[str], list[int], int, list[str], int]:
    """(base64 gzip chunks, chunk index per report index, uncompressed JSON bytes built, chunk keys, chunks reused).

    A chunk is a JSON array of bodies in report order; ``report_ids`` is in page order (portal, agency, year), so
    a chunk holds an agency's reports side by side.  ``previous``: the page being replaced, whose chunks with an
    unchanged key are reused.
    """
    from concurrent.futures import ThreadPoolExecutor

    parts = [report_ids[i:i + CHUNK_REPORTS] for i in range(0, len(report_ids), CHUNK_REPORTS)]
    rkeys = report_keys(con, filters) if parts else {}
    ckeys = [chunk_key(part, rkeys) for part in parts]
    del rkeys
    old = previous_chunks(previous, set(ckeys))
    encoded: list[str | None] = [old.get(k) for k in ckeys]
    del old
    todo = [n for n, c in enumerate(encoded) if c is None]
    reused = len(parts) - len(todo)
    total = 0
    # zlib releases the GIL while it compresses: the chunks compress on every core
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool, \
            bounded_memory(con, BLOCK_MEMORY_LIMIT) as bounded:
        for start in range(0, len(todo), BLOCK_CHUNKS):
            block = todo[start:start + BLOCK_CHUNKS]
            bodies = bounded(lambda: payloads(con, filters, [r for n in block for r in parts[n]]))
            total += sum(len(b.encode("utf-8")) for b in bodies.values())

            def encode(n: int, bodies: dict[str, str] = bodies) -> str:
                body = "[" + ",".join(bodies.get(r, "null") for r in parts[n]) + "]"
                return base64.b64encode(gzip.compress(body.encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")

            for n, c in zip(block, pool.map(encode, block)):
                encoded[n] = c
            del bodies
    where = [n for n, part in enumerate(parts) for _ in part]
    return [c or "" for c in encoded], where, total, ckeys, reused


def decode_chunk(chunk: str) -> list[Any]:
    """What the page does in JavaScript, for tests: base64 → gunzip → JSON."""
    import json

    return json.loads(gzip.decompress(base64.b64decode(chunk)).decode("utf-8"))
