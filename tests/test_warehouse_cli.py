"""``ogi query`` and ``ogi export`` against a real published warehouse."""

from __future__ import annotations

import csv
import io
import json

import duckdb
import pytest
from typer.testing import CliRunner

from ogi.cli import app
from warehouse import load_run, open_writer
from warehouse import synthetic as s


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("wh") / "ogi.duckdb"
    other = s.portal("guangdong-test-county", county="测试县", province="广东省")
    docs = [
        s.document(s.make_report(year=2020, agency="扶沟县财政局"), "http://a/1"),
        s.document(s.make_report(year=2021, agency="扶沟县财政局"), "http://a/2"),
        s.document(s.make_report(year=2021, agency="测试县教育局"), "http://b/1", portal_id=other.id),
    ]
    with open_writer(path, 5) as wh:
        load_run(wh, s.run_input("r1", docs, portals=[s.portal(), other]))
        wh.publish()
    return path


runner = CliRunner()


def test_query_table(db):
    r = runner.invoke(app, ["query", "SELECT url, year FROM analytics.reports ORDER BY url", "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert "http://a/1" in r.output and "2021" in r.output and "3 rows" in r.output


def test_query_csv_and_json(db, tmp_path):
    r = runner.invoke(app, ["query", "SELECT url, year FROM analytics.reports ORDER BY url", "--db", str(db),
                            "--format", "csv"])
    assert r.exit_code == 0
    rows = list(csv.reader(io.StringIO(r.output)))
    assert rows[0] == ["url", "year"] and rows[1] == ["http://a/1", "2020"] and len(rows) == 4
    out = tmp_path / "q.json"
    r = runner.invoke(app, ["query", "SELECT url, first_seen_at, names FROM analytics.reports JOIN analytics.agencies "
                            "USING (portal_id, agency_key) ORDER BY url", "--db", str(db), "--format", "json",
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data[0]["url"] == "http://a/1" and data[0]["first_seen_at"].startswith("2024-02-01")
    assert data[0]["names"] == ["扶沟县财政局"]


def test_query_parquet(db, tmp_path):
    out = tmp_path / "facts.parquet"
    r = runner.invoke(app, ["query", "SELECT * FROM analytics.facts", "--db", str(db), "--format", "parquet",
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}')").fetchall()[0][0] == 198 + 200 + 200


def test_query_is_read_only_and_errors_are_one_line(db, tmp_path):
    r = runner.invoke(app, ["query", "DELETE FROM reports", "--db", str(db)])
    assert r.exit_code == 1 and "read-only" in r.output
    r = runner.invoke(app, ["query", "SELECT nope FROM analytics.reports", "--db", str(db)])
    assert r.exit_code == 1 and "query failed" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["query", "SELECT 1", "--db", str(tmp_path / "missing.duckdb")])
    assert r.exit_code == 2 and "no warehouse" in r.output
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM reports").fetchone()[0] == 3


def test_export_partitioned_by_province_and_year(db, tmp_path):
    out = tmp_path / "export"
    r = runner.invoke(app, ["export", "--out", str(out), "--db", str(db)])
    assert r.exit_code == 0, r.output
    got = duckdb.sql(
        f"SELECT province, year, count(*) FROM read_parquet('{out}/facts/**/*.parquet', hive_partitioning = true) "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert got == [("广东省", 2021, 200), ("河南省", 2020, 198), ("河南省", 2021, 200)]
    reports = duckdb.sql(
        f"SELECT url, province, year FROM read_parquet('{out}/reports/**/*.parquet', hive_partitioning = true) ORDER BY url"
    ).fetchall()
    assert reports == [("http://a/1", "河南省", 2020), ("http://a/2", "河南省", 2021), ("http://b/1", "广东省", 2021)]
    assert (out / "runs" / "data.parquet").exists()


def test_export_twice_replaces_the_files(db, tmp_path):
    out = tmp_path / "export"
    for _ in range(2):
        r = runner.invoke(app, ["export", "--out", str(out), "--db", str(db)])
        assert r.exit_code == 0, r.output
    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/facts/**/*.parquet')").fetchall()[0][0]
    assert n == 198 + 200 + 200


def test_query_from_file_and_stdin(db, tmp_path):
    f = tmp_path / "q.sql"
    f.write_text("SELECT count(*) AS n FROM analytics.reports;\n", encoding="utf-8")
    r = runner.invoke(app, ["query", f"@{f}", "--db", str(db), "--format", "csv"])
    assert r.exit_code == 0 and r.output.splitlines() == ["n", "3"]
    r = runner.invoke(app, ["query", "-", "--db", str(db), "--format", "csv"], input="SELECT 41 + 1 AS x")
    assert r.exit_code == 0 and r.output.splitlines() == ["x", "42"]
    r = runner.invoke(app, ["query", f"@{tmp_path / 'nope.sql'}", "--db", str(db)])
    assert r.exit_code == 2 and "cannot read SQL file" in r.output


def test_table_output_is_capped(db):
    r = runner.invoke(app, ["query", "SELECT * FROM range(5000) t(i)", "--db", str(db)])
    assert r.exit_code == 0 and "more than 1000 rows" in r.output and "│ 999 " in r.output and "│ 1000 " not in r.output
