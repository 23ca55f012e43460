"""Crash safety, writer lock and analyst isolation, with real processes and real DuckDB files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from warehouse import WarehouseLocked, connect_readonly, load_run, open_writer, work_path
from warehouse import synthetic as s
from warehouse.synthetic import state_digest

# Builds deterministic runs in a child process: run "r1" (3 reports), run "r2" (1 revised, 2 new, 1 gone).
CHILD = textwrap.dedent(
    """
    import sys, dataclasses
    from warehouse import open_writer, load_run
    from warehouse import synthetic as s

    def runs():
        a = s.make_report(year=2020, agency="扶沟县财政局", seed=1)
        b = s.make_report(year=2020, agency="扶沟县教育局", seed=2)
        c = s.make_report(year=2021, agency="扶沟县人民政府", seed=3)
        a2 = s.make_report(year=2020, agency="扶沟县财政局", seed=11)
        d = s.make_report(year=2021, agency="扶沟县财政局", seed=4, malformed=True)
        e = s.make_report(year=2021, agency="扶沟县教育局", seed=5)
        r1 = s.run_input("r1", [s.document(a, "http://a/a"), s.document(b, "http://a/b"), s.document(c, "http://a/c")])
        r2 = s.run_input("r2", [s.document(a2, "http://a/a", status="changed"), s.document(b, "http://a/b"),
                                s.document(d, "http://a/d"), s.document(e, "http://a/e")])
        return {"r1": r1, "r2": r2}

    db, names = sys.argv[1], sys.argv[2:]
    with open_writer(db, 10) as wh:
        for n in names:
            load_run(wh, runs()[n], batch_size=int(__import__("os").environ.get("BATCH", "5000")))
        wh.publish()
    print("done")
    """
)


def _child(tmp_path, db, *runs, crash: str | None = None, batch: int = 5000) -> subprocess.CompletedProcess:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    env = dict(os.environ, BATCH=str(batch))
    env.pop("OGI_WAREHOUSE_CRASH_AT", None)
    if crash:
        env["OGI_WAREHOUSE_CRASH_AT"] = crash
    return subprocess.run([sys.executable, str(script), str(db), *runs], env=env, capture_output=True, text=True,
                          timeout=120)


def _digest_file(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return state_digest(con)
    finally:
        con.close()


def _semantic(path):
    """What must converge after a crash + rerun (ids and timestamps aside)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return (
            con.execute("SELECT url, revision, status, withdrawn FROM analytics.reports ORDER BY url").fetchall(),
            con.execute("SELECT count(*), sum(value) FROM analytics.facts").fetchone(),
            con.execute("SELECT rule, count(*) FROM analytics.findings GROUP BY 1 ORDER BY 1").fetchall(),
            con.execute("SELECT kind, url, revision FROM alerts ORDER BY 1, 2, 3").fetchall(),
            con.execute("SELECT count(*) FROM facts").fetchone(),
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def clean_reference(tmp_path_factory):
    """r1 then r2 loaded without any crash."""
    tmp = tmp_path_factory.mktemp("clean")
    clean = tmp / "ogi.duckdb"
    assert _child(tmp, clean, "r1", "r2").returncode == 0
    return _semantic(clean)


@pytest.mark.parametrize("point,batch", [("after_facts", 5000), ("before_batch_commit#2", 2),
                                         ("before_final_commit", 5000)])
def test_killed_load_leaves_previous_state_and_rerun_converges(tmp_path, point, batch, clean_reference):
    db = tmp_path / "ogi.duckdb"
    assert _child(tmp_path, db, "r1").returncode == 0
    before_work, before_pub = _digest_file(work_path(db)), _digest_file(db)

    crashed = _child(tmp_path, db, "r2", crash=point, batch=batch)
    assert crashed.returncode == 97, crashed.stderr
    # the analyst snapshot is untouched
    assert _digest_file(db) == before_pub
    after_work = _digest_file(work_path(db))
    con = duckdb.connect(str(work_path(db)), read_only=True)
    try:
        # never a partial report: every revision has all its facts and sections
        partial = con.execute(
            """SELECT count(*) FROM report_revisions v
               WHERE v.n_facts <> (SELECT count(*) FROM facts f WHERE f.report_id = v.report_id AND f.revision = v.revision)
                  OR (v.is_report AND NOT EXISTS (SELECT 1 FROM sections x WHERE x.report_id = v.report_id
                                                                          AND x.revision = v.revision))"""
        ).fetchone()[0]
        orphans = con.execute(
            """SELECT count(*) FROM facts f WHERE NOT EXISTS (SELECT 1 FROM report_revisions v
               WHERE v.report_id = f.report_id AND v.revision = f.revision)"""
        ).fetchone()[0]
        status = con.execute("SELECT status FROM runs WHERE run_id = 'r2'").fetchone()
    finally:
        con.close()
    assert partial == 0 and orphans == 0
    if point == "before_batch_commit#2":
        # batches are slices of 2 input documents: the first (a revised, b unchanged) committed one new
        # revision; the second (d, e new) died before its commit
        assert after_work["report_revisions"][0] == before_work["report_revisions"][0] + 1
    if point == "after_facts":
        assert after_work == before_work  # the single batch rolled back entirely
    assert status == ("running",)  # the crashed run is visible as not finished

    # rerun: converges to exactly what a clean r1 + r2 produces
    assert _child(tmp_path, db, "r2").returncode == 0
    assert _semantic(db) == clean_reference


def test_writer_lock_times_out_with_one_line(tmp_path):
    db = tmp_path / "ogi.duckdb"
    with open_writer(db, 5):
        t0 = time.monotonic()
        with pytest.raises(WarehouseLocked) as e:
            open_writer(db, 0.3)
        assert 0.25 <= time.monotonic() - t0 < 3
        assert "\n" not in str(e.value) and "locked" in str(e.value)
    with open_writer(db, 0.3):  # released on close
        pass


HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
    n = con.execute("SELECT count(*) FROM analytics.reports").fetchone()[0]
    print(n, flush=True)
    sys.stdin.readline()
    print(con.execute("SELECT count(*) FROM analytics.reports").fetchone()[0], flush=True)
    """
)


@pytest.mark.parametrize("mode", ["ro", "rw"])
def test_open_analyst_connection_never_blocks_a_load(tmp_path, mode):
    """An analyst holding data/ogi.duckdb (even read-write, as the DuckDB CLI does) keeps the old state."""
    db = tmp_path / "ogi.duckdb"
    docs1 = [s.document(s.make_report(year=2020, agency=f"扶沟县第{i}局", seed=i), f"http://a/{i}") for i in range(3)]
    docs2 = docs1 + [s.document(s.make_report(year=2021, agency="扶沟县人民政府"), "http://a/gov")]
    with open_writer(db, 5) as wh:
        load_run(wh, s.run_input("r1", docs1))
        wh.publish()
    script = tmp_path / "holder.py"
    script.write_text(HOLDER, encoding="utf-8")
    holder = subprocess.Popen([sys.executable, str(script), str(db), mode], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "3"
        with open_writer(db, 5) as wh:
            res = load_run(wh, s.run_input("r2", docs2))
            wh.publish()
        assert len(res.new) == 1
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "3"  # the old snapshot, consistently
    finally:
        holder.kill()
        holder.wait()
    con = connect_readonly(db)
    try:
        assert con.execute("SELECT count(*) FROM analytics.reports").fetchone()[0] == 4
    finally:
        con.close()


READER = textwrap.dedent(
    """
    import sys, time, duckdb
    seen = set()
    deadline = time.time() + float(sys.argv[2])
    while time.time() < deadline:
        try:
            con = duckdb.connect(sys.argv[1], read_only=True)
        except duckdb.Error as e:
            print("ERR", e, flush=True); continue
        r = con.execute(
            "SELECT (SELECT count(*) FROM analytics.reports), (SELECT count(*) FROM analytics.facts),"
            " (SELECT sum(n_facts) FROM analytics.reports)").fetchone()
        con.close()
        seen.add(r)
        if r[0] == int(sys.argv[3]):
            break
    print(sorted(seen), flush=True)
    """
)


def test_concurrent_reader_sees_old_or_new_never_a_mix(tmp_path):
    db = tmp_path / "ogi.duckdb"
    batches = [
        [s.document(s.make_report(year=2020, agency=f"扶沟县第{i}局", seed=i), f"http://a/{i}") for i in range(k)]
        for k in (2, 5, 9)
    ]
    with open_writer(db, 5) as wh:
        load_run(wh, s.run_input("r0", batches[0]))
        wh.publish()
    script = tmp_path / "reader.py"
    script.write_text(READER, encoding="utf-8")
    reader = subprocess.Popen([sys.executable, str(script), str(db), "60", "9"], stdout=subprocess.PIPE, text=True)
    time.sleep(0.8)
    for i, docs in enumerate(batches[1:], 1):
        with open_writer(db, 5) as wh:
            load_run(wh, s.run_input(f"r{i}", docs), batch_size=2)
            wh.publish()
        time.sleep(0.5)
    out, _ = reader.communicate(timeout=60)
    assert "ERR" not in out
    seen = eval(out.strip())  # noqa: S307 - our own child's repr of tuples of ints
    assert (9, 9 * 198, 9 * 198) in seen, out  # it saw the final state
    for reports, facts, n_facts in seen:
        assert reports in (2, 5, 9) and facts == n_facts  # a whole published state, never a mix


def test_publish_removes_temp_copies_of_a_killed_publish(tmp_path):
    db = tmp_path / "ogi.duckdb"
    stale = tmp_path / ".ogi.duckdb.abc123.tmp"
    stale.write_bytes(b"half a copy")
    with open_writer(db, 5) as wh:
        wh.publish()
    assert not stale.exists() and db.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ogi.duckdb", "ogi.work.duckdb", "ogi.work.duckdb.lock"]


def test_duckdb_memory_limit_reaches_the_writer_and_readers(tmp_path, monkeypatch):
    """``OGI_DUCKDB_MEMORY_LIMIT`` caps DuckDB's buffer pool on every pipeline connection (docs/operations.md)."""
    monkeypatch.setenv("OGI_DUCKDB_MEMORY_LIMIT", "200MB")
    db = tmp_path / "w.duckdb"
    with open_writer(db, 5.0) as wh:
        writer_limit = wh.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        wh.publish()
    con = connect_readonly(db)
    try:
        reader_limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()
    assert writer_limit == reader_limit and writer_limit.replace(" ", "") in ("190.7MiB", "200.0MB", "200MB")


def test_bounded_memory_caps_a_scan_retries_what_needs_more_and_restores_the_limit(tmp_path, monkeypatch):
    """warehouse.db.bounded_memory: the page's big scans run under a small DuckDB limit; a query that needs more
    is run again without it (no error); afterwards the connection's own limit and an empty cache."""
    import duckdb

    from warehouse.db import bounded_memory, release_cache

    monkeypatch.delenv("OGI_DUCKDB_MEMORY_LIMIT", raising=False)
    con = duckdb.connect(str(tmp_path / "m.duckdb"))
    con.execute("CREATE TABLE t AS SELECT i, repeat('x', 200) || i AS s FROM range(400000) r(i)")
    con.execute("CHECKPOINT")
    default = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    def cached() -> int:
        return con.execute("SELECT memory_usage_bytes FROM duckdb_memory() WHERE tag = 'BASE_TABLE'").fetchone()[0]

    release_cache(con)
    con.execute("SELECT count(*), max(s) FROM t").fetchall()
    unbounded = cached()
    release_cache(con)
    assert cached() < unbounded / 4  # the cache is emptied

    with bounded_memory(con, "8MB") as run:
        assert run(lambda: con.execute("SELECT count(*), max(s) FROM t").fetchone())[0] == 400000
        assert cached() <= 8 * 2**20 < unbounded  # the scan's cache stayed under the limit
        # a list of everything needs more than 8 MB: it fails under the limit, and run() runs it again without it
        with pytest.raises(duckdb.OutOfMemoryException):
            con.execute("SELECT len(list(s ORDER BY s)) FROM t").fetchall()
        attempts = []

        def big():
            attempts.append(1)
            return con.execute("SELECT len(list(s ORDER BY s)) FROM t").fetchone()[0]

        assert run(big) == 400000 and len(attempts) == 2
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] != default  # bounded again
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == default
