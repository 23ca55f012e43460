"""The analyst page's data, its CLI, and warehouses of other schema versions (no browser: see test_analyst_browser).

The warehouse is built by two real runs over the sample portal (``analyst_warehouse`` in conftest.py); every
number the page carries is compared with SQL on that same warehouse (tests/analyst_expectations.py).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from analyst import SnapshotRefused, write_page
from analyst.drilldown import decode_chunk
from analyst.render import _script_json
from analyst_expectations import expected_cell_counts, page_model, query
from warehouse.schema import LATEST_VERSION

ROOT = Path(__file__).resolve().parents[1]


def _chunks(html: str) -> list[str]:
    import re

    return [m.group(1) for m in re.finditer(r'<script type="application/octet-stream" id="dd-\d+"[^>]*>(.*?)</script>', html, re.S)]


@pytest.fixture(scope="module")
def page(analyst_warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("page") / "report.html"
    res = write_page(analyst_warehouse["db"], out)
    html = out.read_text(encoding="utf-8")
    return {"res": res, "html": html, "model": page_model(html), "db": analyst_warehouse["db"], **analyst_warehouse}


def test_page_is_self_contained_and_carries_every_report(page):
    html, model, db = page["html"], page["model"], page["db"]
    assert page["res"].path.exists() and page["res"].bytes == len(html.encode("utf-8"))
    # nothing that could load from the network: no src/href to a script, style or font outside the page
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    assert "connect-src 'none'" in html and "default-src 'none'" in html
    assert "Chart.js v4" in html  # the vendored library is inlined
    assert len(model["reports"]) == query(db, "SELECT count(*) FROM analytics.reports")[0][0]
    n_findings = query(db, "SELECT (SELECT count(*) FROM analytics.findings) + (SELECT count(*) FROM analytics.missing_reports)")
    assert len(model["findings"]) == n_findings[0][0]
    # labels come from the format spec
    assert [m["zh"] for m in model["labels"]["t3"]][0] == "一、本年新收政府信息公开申请数量"
    assert model["labels"]["tables"]["2021"]["t3"]["blocks"][0]["rows"][0][1] == "一、本年新收政府信息公开申请数量"


def test_heatmap_cells_match_sql(page):
    got = Counter(c[2] for c in page["model"]["cells"])
    want = expected_cell_counts(page["db"])
    assert dict(got) == want
    assert want.get("malformed") and want.get("image_only") and want.get("late") and want.get("missing")
    # every issuer-year that xr.missing flags is a missing cell
    issuers = page["model"]["issuers"]
    portals = page["model"]["portals"]
    flagged = {(portals[issuers[c[0]]["portal"]]["portal_id"], c[1]) for c in page["model"]["cells"] if c[4]}
    assert flagged == {(p, y) for p, y in query(page["db"], "SELECT portal_id, year FROM analytics.missing_reports")}


def test_trend_rows_are_the_warehouse_rows(page):
    model, db = page["model"], page["db"]
    rows = {model["reports"][t[0]][0]: t[1:] for t in model["t3"]}
    sql = {r[0]: list(r[1:]) for r in query(db, "SELECT report_id, received, granted, partially_granted, denied, unable, "
                                                "rejected, other, total_handled FROM analytics.t3_applications")}
    assert rows == sql
    t4 = {model["reports"][t[0]][0]: t[1:] for t in model["t4"]}
    assert len(t4) == query(db, "SELECT count(*) FROM analytics.t4_outcomes")[0][0]


def test_last_run_lists_the_new_and_the_revised_report_with_changed_cells(page):
    model, db = page["model"], page["db"]
    lr = model["last_run"]
    url = {i: r[8] for i, r in enumerate(model["reports"])}
    assert [url[i] for i in lr["new"]] == [page["new_url"]]
    assert len(lr["revised"]) == 1
    ri, rev, changes = lr["revised"][0]
    assert url[ri] == page["revised_url"] and rev == 2
    want = query(db, """
        SELECT n.tbl, n.row_key, n.col_key, o.raw, n.raw FROM main.facts n
        JOIN main.reports r ON r.report_id = n.report_id AND n.revision = r.current_revision
        JOIN main.facts o ON o.report_id = n.report_id AND o.revision = n.revision - 1
                          AND (o.tbl, o.row_key, o.col_key) = (n.tbl, n.row_key, n.col_key)
        WHERE r.url = ? AND o.raw IS DISTINCT FROM n.raw ORDER BY 1, 2, 3""", [page["revised_url"]])
    assert want and [tuple(c[:5]) for c in changes] == want
    assert lr["run"]["run_id"] == page["summary"].run_id


def test_drilldown_holds_sections_cells_and_provenance(page):
    model, db, html = page["model"], page["db"], page["html"]
    chunks = [decode_chunk(c) for c in _chunks(html)]
    assert len(chunks) == model["meta"]["chunks"]
    bad = query(db, "SELECT report_id FROM analytics.reports WHERE status = 'malformed'")[0][0]
    ri = next(i for i, r in enumerate(model["reports"]) if r[0] == bad)
    first = model["dd"].index(model["dd"][ri])
    dd = chunks[model["dd"][ri]][ri - first]
    facts = {f[0]: f[1] for f in dd["f"]}
    want = dict(query(db, "SELECT tbl || '|' || row_key || '|' || col_key, raw FROM analytics.facts WHERE report_id = ?", [bad]))
    assert facts == want
    assert [s[0] for s in dd["s"]] == [n for (n,) in query(
        db, "SELECT s.number FROM main.sections s JOIN analytics.reports r ON r.report_id = s.report_id "
            "AND s.revision = r.revision WHERE s.report_id = ? ORDER BY 1", [bad])]
    sha = query(db, "SELECT document_sha256 FROM analytics.reports WHERE report_id = ?", [bad])[0][0]
    assert dd["p"][0] == dd["v"][-1][4] == sha  # provenance: the archive hash of the latest revision


def test_the_nightly_run_wrote_the_page_and_says_where(analyst_warehouse):
    s = analyst_warehouse["summary"]
    assert s.report_page and Path(s.report_page).exists()
    assert Path(s.report_page) == analyst_warehouse["db"].with_name("report.html")
    assert s.report_page in s.text() and s.report_page in s.markdown()
    assert page_model(Path(s.report_page).read_text(encoding="utf-8"))["last_run"]["run"]["run_id"] == s.run_id


def test_filters_narrow_the_page(analyst_warehouse, tmp_path):
    db = analyst_warehouse["db"]
    pid = query(db, "SELECT portal_id FROM analytics.portals ORDER BY portal_id LIMIT 1")[0][0]
    res = write_page(db, tmp_path / "one.html", portals=[pid], years=[2021, 2022])
    model = page_model(res.path.read_text(encoding="utf-8"))
    assert {p["portal_id"] for p in model["portals"]} == {pid}
    assert model["years"] == [2021, 2022]
    n = query(db, "SELECT count(*) FROM analytics.reports WHERE portal_id = ? AND year IN (2021, 2022)", [pid])[0][0]
    assert len(model["reports"]) == n > 0
    assert {c[1] for c in model["cells"]} <= {2021, 2022}


def test_ogi_report_cli(analyst_warehouse, tmp_path):
    out = tmp_path / "page.html"
    r = subprocess.run([sys.executable, "-m", "ogi.cli", "report", "--db", str(analyst_warehouse["db"]), "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert str(out) in r.stdout and out.stat().st_size > 100_000
    r = subprocess.run([sys.executable, "-m", "ogi.cli", "report", "--db", str(tmp_path / "none.duckdb")],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and "no warehouse" in r.stderr and "Traceback" not in r.stderr


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_an_older_schema_version_is_upgraded_on_a_copy_never_in_place(analyst_warehouse, tmp_path):
    old = tmp_path / "v2.duckdb"
    shutil.copyfile(analyst_warehouse["db"], old)
    con = duckdb.connect(str(old))
    # what a file written before migration 3 looks like: no runs.timings, views of that time
    for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE schema_name = 'analytics'").fetchall():
        con.execute(f"DROP VIEW analytics.{name}")
    con.execute("ALTER TABLE runs DROP COLUMN timings")
    con.execute("DELETE FROM schema_version WHERE version >= 3")
    con.execute("CHECKPOINT")
    con.close()
    before = _sha(old)
    res = write_page(old, tmp_path / "old.html")
    assert res.upgraded and res.schema_version == 2
    assert _sha(old) == before and not Path(str(old) + ".wal").exists()
    assert not (tmp_path / "v2.work.duckdb").exists()
    model = page_model(res.path.read_text(encoding="utf-8"))
    assert len(model["reports"]) == query(analyst_warehouse["db"], "SELECT count(*) FROM analytics.reports")[0][0]
    assert "upgraded" in model["meta"] and model["meta"]["upgraded"] is True


def test_a_newer_or_foreign_file_is_refused_with_one_line(analyst_warehouse, tmp_path):
    new = tmp_path / "future.duckdb"
    shutil.copyfile(analyst_warehouse["db"], new)
    con = duckdb.connect(str(new))
    con.execute("INSERT INTO schema_version VALUES (?, 'from the future', now())", [LATEST_VERSION + 1])
    con.close()
    with pytest.raises(SnapshotRefused, match="newer than this ogi understands"):
        write_page(new, tmp_path / "x.html")
    foreign = tmp_path / "foreign.duckdb"
    duckdb.connect(str(foreign)).execute("CREATE TABLE t (x INTEGER)").close()
    with pytest.raises(SnapshotRefused, match="not an ogi warehouse"):
        write_page(foreign, tmp_path / "y.html")
    assert not (tmp_path / "x.html").exists() and not (tmp_path / "y.html").exists()


def test_hostile_text_cannot_leave_the_data_block():
    text = _script_json({"title": "</script><script>alert(1)</script><!--"})
    assert "<" not in text and "alert(1)" in text
    from analyst.data import _safe_url

    assert _safe_url("javascript:alert(1)") is None and _safe_url("HTTPS://a.gov.cn/x") == "HTTPS://a.gov.cn/x"


def test_drilldowns_built_block_by_block_equal_the_whole_page_s(page, tmp_path, monkeypatch):
    """The drill-down JSON is built a block of chunks at a time (bounded memory); small blocks give every report
    the same drill-down as one block does."""
    from analyst import drilldown

    def by_report(html: str) -> dict:
        model, chunks = page_model(html), [decode_chunk(c) for c in _chunks(html)]
        firsts = {n: model["dd"].index(n) for n in set(model["dd"])}
        return {r[0]: chunks[n][i - firsts[n]] for i, (r, n) in enumerate(zip(model["reports"], model["dd"]))}

    monkeypatch.setattr(drilldown, "CHUNK_REPORTS", 3)
    monkeypatch.setattr(drilldown, "BLOCK_CHUNKS", 2)
    out = tmp_path / "small-blocks.html"
    write_page(page["db"], out)
    small = by_report(out.read_text(encoding="utf-8"))
    assert len(_chunks(out.read_text(encoding="utf-8"))) > 2 * 2  # several blocks were built
    assert small == by_report(page["html"]) and len(small) == len(page["model"]["reports"])


def test_page_written_piece_by_piece_equals_the_page_rendered_at_once(page, monkeypatch):
    """write_page streams the page (render.write: the long lists of the data a slice of rows at a time, chunk tags
    one by one); the bytes are exactly render.render's, whatever the slice size."""
    import copy
    import io

    from analyst import data as data_mod
    from analyst import drilldown, render

    con = duckdb.connect(str(page["db"]), read_only=True)
    try:
        data = data_mod.load(con, data_mod.Filters())
        chunks, chunk_of, _, keys, _ = drilldown.build(con, data_mod.Filters(), data.report_ids)
    finally:
        con.close()
    model = render.page_model(data, {"generated_at": "2026-12-07 10:00 UTC", "chunks": len(chunks)}, chunk_of)
    assert len(model["reports"]) > 3 and len(chunks) >= 1
    whole = render.render(copy.deepcopy(model), chunks, "页 <title> & co", keys).encode("utf-8")
    for rows in (1, 3, 10_000):
        monkeypatch.setattr(render, "SLICE_ROWS", rows)
        buf = io.BytesIO()
        assert render.write(buf, copy.deepcopy(model), chunks, "页 <title> & co", keys) == len(whole)
        assert buf.getvalue() == whole, rows
    assert page["res"].bytes == len(page["html"].encode("utf-8"))  # write_page's size is the bytes written


def test_report_order_read_alone_is_the_page_s(page):
    """write_page builds the drill-downs from data.report_ids before it loads the page data: the same reports in the
    same order as PageData.report_ids, with and without filters."""
    from analyst import data as data_mod

    con = duckdb.connect(str(page["db"]), read_only=True)
    try:
        pid, year = con.execute("SELECT portal_id, year FROM analytics.reports WHERE year IS NOT NULL LIMIT 1").fetchone()
        for f in (data_mod.Filters(), data_mod.Filters(portals=[pid]), data_mod.Filters(years=[year]),
                  data_mod.Filters(portals=["no-such-portal"])):
            assert data_mod.report_ids(con, f) == data_mod.load(con, f).report_ids
        assert len(data_mod.report_ids(con)) == len(page["model"]["reports"]) > 3
    finally:
        con.close()


def test_drilldown_payloads_equal_duckdbs_own_json_lists(page):
    """The drill-down lists are joined as text (``string_agg`` of JSON rows: a fraction of the memory of DuckDB's
    ``to_json(list(...))`` on 10,000 reports); byte for byte they are what ``to_json(list(...))`` makes, revisions
    (the revised report) and sections included."""
    from analyst import drilldown
    from analyst.data import Filters

    con = duckdb.connect(str(page["db"]), read_only=True)
    try:
        got = drilldown.payloads(con, Filters())
        want = {}
        for rid, fj, sj, vj in con.execute("""
            WITH sel AS (SELECT report_id, revision FROM analytics.reports)
            SELECT sel.report_id,
                   (SELECT to_json(list(json_array(f.tbl || '|' || f.row_key || '|' || f.col_key, f.raw, f.implicit_zero,
                                                   f.table_index, f.grid_row, f.grid_col)
                                        ORDER BY f.tbl, f.table_index, f.grid_row, f.grid_col))::VARCHAR
                    FROM main.facts f WHERE f.report_id = sel.report_id AND f.revision = sel.revision),
                   (SELECT to_json(list(json_array(s.number, s.heading, s.text) ORDER BY s.number))::VARCHAR
                    FROM main.sections s WHERE s.report_id = sel.report_id AND s.revision = sel.revision),
                   (SELECT to_json(list(json_array(v.revision, strftime(v.loaded_at, '%Y-%m-%d %H:%M:%S'), v.run_id,
                                                   v.status, v.document_sha256, v.content_hash) ORDER BY v.revision))::VARCHAR
                    FROM main.report_revisions v WHERE v.report_id = sel.report_id)
            FROM sel""").fetchall():
            want[rid] = (fj or "[]", sj or "[]", vj or "[]")
    finally:
        con.close()
    assert set(got) == set(want)
    revised = 0
    for rid, body in got.items():
        f, s, v = want[rid]
        assert f'"f":{f},"s":{s},"v":{v},' in body, rid
        revised += v.count("],[") > 0
    assert revised >= 1  # the revised report's two revision rows were compared too


def test_a_rebuild_reuses_the_unchanged_drilldown_chunks_and_rebuilds_a_changed_one(page, tmp_path, monkeypatch):
    """The nightly page is rebuilt over the previous one: chunks whose reports did not change are copied (the
    page is identical to a fresh build), a report whose revision rows changed gets its chunk built again."""
    from analyst import drilldown

    monkeypatch.setattr(drilldown, "CHUNK_REPORTS", 8)  # several chunks from the sample portal's reports
    db = tmp_path / "ogi.duckdb"
    shutil.copy(page["db"], db)
    out = tmp_path / "report.html"
    first = write_page(db, out)
    assert first.chunks_reused == 0 and first.chunks > 3
    again = write_page(db, out)
    assert again.chunks_reused == again.chunks == first.chunks
    assert again.drilldown_json_bytes == 0  # nothing was built: every chunk came from the previous page
    fresh = write_page(db, tmp_path / "fresh.html")
    assert _chunks(out.read_text(encoding="utf-8")) == _chunks(fresh.path.read_text(encoding="utf-8"))

    # one report's revision history changes (as a new revision would): exactly its chunk is built again
    from analyst_expectations import page_model as read_model

    model = read_model(fresh.path.read_text(encoding="utf-8"))
    rid = query(db, "SELECT report_id FROM analytics.reports WHERE url = ?", [page["revised_url"]])[0][0]
    con = duckdb.connect(str(db))
    con.execute("UPDATE main.report_revisions SET loaded_at = loaded_at + INTERVAL 1 SECOND WHERE report_id = ?", [rid])
    con.close()
    changed = write_page(db, out)
    assert changed.chunks_reused == changed.chunks - 1
    ri = next(i for i, r in enumerate(model["reports"]) if r[0] == rid)
    n = model["dd"][ri]
    old_chunks, new_chunks = _chunks(fresh.path.read_text(encoding="utf-8")), _chunks(out.read_text(encoding="utf-8"))
    assert [i for i, (a, b) in enumerate(zip(old_chunks, new_chunks)) if a != b] == [n]
    dd = decode_chunk(new_chunks[n])[ri - model["dd"].index(n)]
    want = [t for (t,) in query(db, "SELECT strftime(loaded_at, '%Y-%m-%d %H:%M:%S') FROM main.report_revisions "
                                    "WHERE report_id = ? ORDER BY revision", [rid])]
    assert [v[1] for v in dd["v"]] == want


def test_a_rebuild_over_unchanged_data_copies_the_data_and_equals_a_fresh_build(page, tmp_path):
    """A no-change night: the data parts that depend only on the warehouse (data.KEPT_PARTS) are copied from the
    page being replaced, and the page says the same as one built from scratch; any change to what they are made
    of -- a finding, a deadline passing, a tampered page -- makes them built again."""
    from analyst.data import KEPT_PARTS

    db = tmp_path / "ogi.duckdb"
    shutil.copy(page["db"], db)
    out = tmp_path / "report.html"
    assert not write_page(db, out).data_kept
    again = write_page(db, out)
    fresh = write_page(db, tmp_path / "fresh.html")
    assert again.data_kept and not fresh.data_kept and (again.reports, again.findings) == (fresh.reports, fresh.findings)

    def model(p: Path) -> dict:
        m = page_model(p.read_text(encoding="utf-8"))
        m["meta"].pop("generated_at")
        return m

    assert model(out) == model(fresh.path) and model(out)["last_run"]["revised"]  # the latest run is read afresh
    assert all(model(out)[k] for k in ("reports", "t3", "t4", "findings", "cells"))

    con = duckdb.connect(str(db))
    con.execute("""INSERT INTO main.findings (report_id, revision, source, rule, severity, message)
                   SELECT report_id, current_revision, 'cross_report', 'xr.late', 'warning', 'a new finding'
                   FROM main.reports WHERE url = ?""", [page["new_url"]])
    con.close()
    changed = write_page(db, out)
    assert not changed.data_kept and changed.findings == fresh.findings + 1
    assert sum(f[3] == "a new finding" for f in model(out)["findings"]) == 1
    assert write_page(db, out).data_kept

    con = duckdb.connect(str(db))  # the latest run a year on: deadlines passed, the heatmap's missing cells change
    con.execute("UPDATE main.runs SET as_of = as_of + INTERVAL 366 DAY")
    con.close()
    later = write_page(db, out)
    assert not later.data_kept and model(out)["cells"] != model(fresh.path)["cells"]

    html = out.read_text(encoding="utf-8")  # a page this code did not write as it is: not copied from
    tampered = html.replace('\n,"t3":[', '\n,"t3":["</script>",', 1)
    assert tampered != html
    out.write_text(tampered, encoding="utf-8")
    assert not write_page(db, out).data_kept and "</script>\"" not in out.read_text(encoding="utf-8")


def test_last_deadline_day():
    import datetime as dt

    from warehouse.identity import last_deadline_day

    d = dt.date
    assert last_deadline_day(d(2023, 2, 15)) == d(2023, 1, 31)
    assert last_deadline_day(d(2023, 1, 31)) == d(2022, 3, 31)  # on the day itself it has not passed yet
    assert last_deadline_day(d(2023, 2, 1)) == d(2023, 1, 31)
    assert last_deadline_day(d(2023, 3, 31)) == d(2023, 1, 31)
    assert last_deadline_day(d(2023, 4, 1)) == d(2023, 3, 31) == last_deadline_day(d(2023, 12, 31))
    assert last_deadline_day(d(2024, 1, 1)) == d(2023, 3, 31)
