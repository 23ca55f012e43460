"""Cross-report checks and issuer identity on constructed multi-year data (real DuckDB file)."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse import load_run, open_writer
from warehouse import synthetic as s
from warehouse.crosscheck import jaccard, jaccard_hashes, shingle_hashes, shingles
from warehouse.identity import classify_issuer

AS_OF = dt.date(2023, 2, 15)


def _set(report, table, row, col, value):
    for f in report.facts:
        if (f.table, f.row, f.col) == (table, row, col):
            f.value, f.raw = value, str(value)
            return
    raise KeyError((table, row, col))


def _fv(report, table, row, col):
    return report.fact(table, row, col).value


T3_COLS = ("natural_person", "commercial", "research", "public_interest", "legal_service", "other_org", "total")


def _chain(prev, cur):
    """Make cur's 上年结转 equal prev's 结转下年度 (consistent consecutive years)."""
    for c in T3_COLS:
        _set(cur, "t3", "carried_over", c, _fv(prev, "t3", "carried_forward", c))


@pytest.fixture()
def loaded(tmp_path):
    """Two years of a county: office (name variants), finance bureau, education bureau, county government."""
    office20 = s.make_report(year=2020, agency="扶沟县人民政府办公室", seed=1)
    office21 = s.make_report(year=2021, agency="扶沟县政府办公室", seed=2)
    _chain(office20, office21)
    for c in ("natural_person", "total"):
        _set(office21, "t3", "carried_over", c, _fv(office20, "t3", "carried_forward", c) + 4)

    fin20 = s.make_report(year=2020, agency="扶沟县财政局", seed=3)
    fin21 = s.make_report(year=2021, agency="扶沟县财政局", seed=4, published=dt.date(2022, 2, 15))
    _chain(fin20, fin21)

    shared_text = "".join(f"本机关认真贯彻落实政府信息公开条例第{i}项要求，持续深化政务公开工作。" for i in range(30))
    edu20 = s.make_report(year=2020, agency="扶沟县教育局", seed=5, text=shared_text, new_received_total=10)
    edu21 = s.make_report(year=2021, agency="扶沟县教育局", seed=6, text=shared_text.replace("1", "2"),
                          new_received_total=80)

    gov21 = s.make_report(year=2021, agency="扶沟县人民政府", seed=7, published=dt.date(2022, 3, 20))
    gov20 = s.make_report(year=2020, agency="扶沟县人民政府", seed=8, published=dt.date(2021, 4, 2))
    _chain(edu20, edu21)
    _chain(gov20, gov21)
    copy_of_fin20 = copy.deepcopy(fin20)

    docs = [
        s.document(office20, "http://a/bgs2020.html"),
        s.document(office21, "http://a/bgs2021.html"),
        s.document(fin20, "http://a/cz2020.html"),
        s.document(fin21, "http://a/cz2021.html"),
        s.document(copy_of_fin20, "http://a/zz-copy-cz2020.html"),
        s.document(edu20, "http://a/jy2020.html"),
        s.document(edu21, "http://a/jy2021.html"),
        s.document(gov20, "http://a/zf2020.html"),
        s.document(gov21, "http://a/zf2021.html"),
    ]
    db = tmp_path / "ogi.duckdb"
    wh = open_writer(db, 5)
    s.baseline_run(wh, as_of=dt.date(2022, 1, 1))  # the portal's first night was before: these are alerted
    res = load_run(wh, s.run_input("r1", docs, as_of=AS_OF))
    yield wh, res, docs
    wh.close()


def _findings(wh, rule):
    return wh.execute(
        """SELECT r.url, f.col_key, f.expected, f.actual, f.severity, f.message FROM analytics.findings f
           JOIN analytics.reports r USING (report_id) WHERE f.rule = ? ORDER BY 1, 2""",
        [rule],
    ).fetchall()


def test_carry_over_mismatch_across_name_variants(loaded):
    wh, _, docs = loaded
    rows = _findings(wh, "xr.carry_over_mismatch")
    # office: 人民政府办公室 (2020) and 政府办公室 (2021) are one agency; natural_person and total differ by 4
    assert [(r[0], r[1]) for r in rows] == [
        ("http://a/bgs2021.html", "natural_person"),
        ("http://a/bgs2021.html", "total"),
    ]
    assert rows[0][3] - rows[0][2] == 4 and rows[0][4] == "warning"
    assert "http://a/bgs2020.html" in rows[0][5]


def test_duplicate_text_and_not_for_different_text(loaded):
    wh, _, _ = loaded
    rows = _findings(wh, "xr.duplicate_text")
    assert [r[0] for r in rows] == ["http://a/jy2021.html"]
    assert rows[0][3] >= 0.9 and "内容雷同" in rows[0][5]


def test_duplicate_publication(loaded):
    wh, _, _ = loaded
    rows = _findings(wh, "xr.duplicate_publication")
    # both first seen in the same run: the tie goes to URL order, the later URL is the copy
    assert [r[0] for r in rows] == ["http://a/zz-copy-cz2020.html"]
    assert "http://a/cz2020.html" in rows[0][5]


def test_yoy_jump_is_info(loaded):
    wh, _, _ = loaded
    rows = _findings(wh, "xr.yoy_jump")
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [("http://a/jy2021.html", 10.0, 80.0, "info")]


def test_late_by_issuer_type_with_alerts(loaded):
    wh, _, _ = loaded
    rows = _findings(wh, "xr.late")
    # department after 31 Jan; county government after 31 Mar (2021-04-02), but 2022-03-20 is on time
    assert [r[0] for r in rows] == ["http://a/cz2021.html", "http://a/zf2020.html"]
    alerts = wh.execute("SELECT url, payload->>'$.deadline' FROM alerts WHERE kind = 'late_report' ORDER BY 1").fetchall()
    assert alerts == [("http://a/cz2021.html", "2022-01-31"), ("http://a/zf2020.html", "2021-03-31")]
    late = dict(wh.execute("SELECT url, late FROM analytics.reports WHERE year IS NOT NULL").fetchall())
    assert late["http://a/zf2021.html"] is False and late["http://a/cz2021.html"] is True


def test_missing_after_deadline_then_resolved(loaded):
    wh, res, docs = loaded
    missing = wh.execute("SELECT agency_key, year, prev_url FROM analytics.missing_reports ORDER BY 1").fetchall()
    # as of 2023-02-15 the departments' and the office's 2022 reports are overdue; the county government's
    # (due 31 Mar) is not
    assert missing == [
        ("政府办公室", 2022, "http://a/bgs2021.html"),
        ("教育局", 2022, "http://a/jy2021.html"),
        ("财政局", 2022, "http://a/cz2021.html"),
    ]
    assert res.missing == 3
    n_alerts = wh.scalar("SELECT count(*) FROM alerts WHERE kind = 'missing_report'")
    assert n_alerts == 3
    cov = wh.execute("SELECT published, missing_agencies FROM analytics.coverage WHERE year = 2022").fetchone()
    assert cov == (False, 3)
    # the finance bureau publishes 2022: its missing finding disappears, no alert is repeated
    fin22 = s.make_report(year=2022, agency="扶沟县财政局", seed=9, published=dt.date(2023, 1, 20))
    res2 = load_run(wh, s.run_input("r2", docs + [s.document(fin22, "http://a/cz2022.html")], as_of=AS_OF))
    missing2 = [r[0] for r in wh.execute("SELECT agency_key FROM analytics.missing_reports ORDER BY 1").fetchall()]
    assert missing2 == ["政府办公室", "教育局"]
    assert wh.scalar("SELECT count(*) FROM alerts WHERE kind = 'missing_report'") == 3
    assert res2.missing == 2


def test_findings_follow_the_latest_revision(loaded):
    wh, _, docs = loaded
    office21 = copy.deepcopy(docs[1].report)
    office20 = docs[0].report
    _set(office21, "t3", "carried_over", "natural_person", _fv(office20, "t3", "carried_forward", "natural_person"))
    _set(office21, "t3", "carried_over", "total", _fv(office20, "t3", "carried_forward", "total"))
    new_docs = list(docs)
    new_docs[1] = s.document(office21, "http://a/bgs2021.html", status="changed")
    load_run(wh, s.run_input("r2", new_docs, as_of=AS_OF))
    assert _findings(wh, "xr.carry_over_mismatch") == []
    # the finding of revision 1 stays as history
    hist = wh.execute(
        "SELECT revision, count(*) FROM findings WHERE rule = 'xr.carry_over_mismatch' GROUP BY 1"
    ).fetchall()
    assert hist == [(1, 2)]


def test_cross_checks_are_idempotent(loaded):
    wh, res, docs = loaded
    before = wh.execute("SELECT count(*), sum(hash(f)) FROM findings f").fetchone()
    res2 = load_run(wh, s.run_input("r1", docs, as_of=AS_OF))
    assert wh.execute("SELECT count(*), sum(hash(f)) FROM findings f").fetchone() == before
    assert res2.alerts_enqueued == 0 and res.cross_findings == res2.cross_findings > 0


@pytest.mark.parametrize(
    "agency,title,key,kind",
    [
        ("扶沟县人民政府办公室", "", "政府办公室", "government_office"),
        ("扶沟县政府办公室", "", "政府办公室", "government_office"),
        ("县政府办", "", "政府办公室", "government_office"),
        ("扶沟县人民政府", "", "政府", "county_government"),
        ("周口市扶沟县人民政府", "", "政府", "county_government"),
        ("扶沟县财政局", "", "财政局", "department"),
        ("财政局", "", "财政局", "department"),
        ("扶沟县卫生健康委员会", "", "卫生健康委", "department"),
        ("扶沟县卫生健康委", "", "卫生健康委", "department"),
        ("扶沟县乡村振兴局", "", "乡村振兴局", "department"),
        ("城关镇人民政府", "", "城关镇", "township"),
        ("崔桥镇政府", "", "崔桥镇", "township"),
        ("曹里乡", "", "曹里乡", "township"),
        ("桐丘街道办事处", "", "桐丘街道", "township"),
        ("", "扶沟县统计局2020年政府信息公开工作年度报告", "统计局", "department"),
        ("", "扶沟县人民政府2021年度政府信息公开工作年度报告", "政府", "county_government"),
    ],
)
def test_issuer_identity(agency, title, key, kind):
    iss = classify_issuer(agency, title, county="扶沟县")
    assert (iss.key, iss.issuer_type) == (key, kind)


def test_shingle_jaccard_ignores_digits():
    a = shingles("二〇二〇年共收到申请12件，全部按时答复。" * 5)
    b = shingles("二〇二〇年共收到申请99件，全部按时答复。" * 5)
    c = shingles("本年度未发生行政复议和行政诉讼案件，工作稳步推进。" * 5)
    assert jaccard(a, b) == 1.0 and jaccard(a, c) < 0.2


def test_similarity_in_small_chunks_gives_the_same_findings(loaded, monkeypatch):
    import warehouse.crosscheck as xc

    wh, _, docs = loaded
    before = _findings(wh, "xr.duplicate_text")
    memo = wh.execute("SELECT * FROM text_similarity ORDER BY ALL").fetchall()
    wh.execute("DELETE FROM text_similarity")
    monkeypatch.setattr(xc, "SIMILARITY_CHUNK", 1)
    load_run(wh, s.run_input("r1", docs, as_of=AS_OF))
    assert wh.execute("SELECT * FROM text_similarity ORDER BY ALL").fetchall() == memo
    assert _findings(wh, "xr.duplicate_text") == before and len(memo) >= 3


def test_coverage_rows(loaded):
    wh, _, _ = loaded
    rows = wh.execute(
        """SELECT year, published, on_time, late, malformed, county_report_published, county_report_late,
                  reports, agencies, late_reports, missing_agencies
           FROM analytics.coverage ORDER BY year"""
    ).fetchall()
    assert rows == [
        # 2020: office, finance (+ its copy), education, county government (late: 2 Apr)
        (2020, True, False, True, False, True, True, 5, 4, 1, 0),
        # 2021: finance late (15 Feb); the county government on time (20 Mar)
        (2021, True, False, True, False, True, False, 4, 4, 1, 0),
        # 2022: nothing yet; 3 agencies overdue as of 2023-02-15
        (2022, False, False, False, False, False, False, 0, 0, 0, 3),
    ]
    county = wh.execute("SELECT county, year, published, reports FROM analytics.county_coverage ORDER BY year").fetchall()
    assert county == [("扶沟县", 2020, True, 5), ("扶沟县", 2021, True, 4), ("扶沟县", 2022, False, 0)]
    t3 = wh.execute(
        "SELECT received, granted, total_handled, grant_rate FROM analytics.t3_applications "
        "WHERE url = 'http://a/jy2021.html'"
    ).fetchone()
    assert t3[0] == 80 and t3[3] == pytest.approx(t3[1] / t3[2])


_TEXT = st.text(alphabet="公开申请政府信息年度报告一二三 ，。0123456789abc😀\u3000", max_size=80)


@settings(max_examples=150, deadline=None)
@given(_TEXT, _TEXT)
def test_vectorised_shingles_equal_the_python_definition(a, b):
    assert len(shingle_hashes(a)) == len(shingles(a))
    assert jaccard_hashes(shingle_hashes(a), shingle_hashes(b)) == pytest.approx(jaccard(shingles(a), shingles(b)))


def test_a_page_and_its_own_attachment_are_not_a_duplicate_publication(tmp_path):
    rep = s.make_report(year=2020, agency="扶沟县财政局")
    page = s.document(rep, "http://a/cz2020.html")
    att = s.document(copy.deepcopy(rep), "http://a/cz2020.docx")
    att.kind, att.parent_url = "attachment", page.url
    att.sha256 = s.sha("docx body")
    other = s.document(copy.deepcopy(rep), "http://a/zz-elsewhere.html")
    with open_writer(tmp_path / "ogi.duckdb", 5) as wh:
        load_run(wh, s.run_input("r1", [page, att], as_of=AS_OF))
        assert _findings(wh, "xr.duplicate_publication") == []
        load_run(wh, s.run_input("r2", [page, att, other], as_of=AS_OF))
        assert [r[0] for r in _findings(wh, "xr.duplicate_publication")] == ["http://a/zz-elsewhere.html"]


def _xr_state(wh):
    return (wh.execute("""SELECT f.* FROM findings f JOIN reports r ON r.report_id = f.report_id
                          AND r.current_revision = f.revision WHERE f.source = 'cross_report' ORDER BY ALL""").fetchall(),
            wh.execute("SELECT * FROM coverage_findings ORDER BY ALL").fetchall(),
            wh.execute("SELECT * FROM text_similarity ORDER BY ALL").fetchall())


def test_unchanged_inputs_keep_the_result_and_every_change_recomputes_it(loaded):
    """The checks are skipped only when recomputing them would give what is there; each kind of input change,
    a deadline passing, and a result edited since (findings deleted) make them run again, with the same result
    as a run that is never allowed to skip (the stored fingerprint deleted)."""
    wh, res, docs = loaded
    assert not res.cross_checks_kept
    state = _xr_state(wh)
    again = load_run(wh, s.run_input("r2", docs, as_of=AS_OF))
    assert again.cross_checks_kept and _xr_state(wh) == state
    assert (again.cross_findings, again.missing) == (res.cross_findings, res.missing) and again.alerts_enqueued == 0

    # a later night before the next deadline (31 Mar 2023, the county government's): kept
    assert load_run(wh, s.run_input("r3", docs, as_of=dt.date(2023, 3, 31))).cross_checks_kept
    # the deadline passed: the county government's 2022 report is now missing too
    passed = load_run(wh, s.run_input("r4", docs, as_of=dt.date(2023, 4, 1)))
    assert not passed.cross_checks_kept and passed.missing == res.missing + 1 and passed.alerts_enqueued == 1
    assert load_run(wh, s.run_input("r5", docs, as_of=dt.date(2023, 4, 2))).cross_checks_kept

    # a revision: office 2021 now carries over what 2020 carried forward (the mismatch finding goes away)
    office21 = copy.deepcopy(docs[1].report)
    _chain(docs[0].report, office21)
    revised = list(docs)
    revised[1] = s.document(office21, "http://a/bgs2021.html", status="changed")
    r6 = load_run(wh, s.run_input("r6", revised, as_of=dt.date(2023, 4, 2)))
    assert not r6.cross_checks_kept and _findings(wh, "xr.carry_over_mismatch") == []

    # the result edited behind the checks' back: recomputed, and put back
    state = _xr_state(wh)
    wh.execute("DELETE FROM findings WHERE source = 'cross_report'")
    r7 = load_run(wh, s.run_input("r7", revised, as_of=dt.date(2023, 4, 2)))
    assert not r7.cross_checks_kept and _xr_state(wh) == state

    # withdrawn (the listing no longer has the finance bureau's 2021 report): recomputed
    r8 = load_run(wh, s.run_input("r8", [d for d in revised if d.url != "http://a/cz2021.html"],
                                  as_of=dt.date(2023, 4, 2)))
    assert r8.withdrawn and not r8.cross_checks_kept
    kept = _xr_state(wh)
    wh.execute("DELETE FROM derived_state")
    forced = load_run(wh, s.run_input("r9", [d for d in revised if d.url != "http://a/cz2021.html"],
                                      as_of=dt.date(2023, 4, 2)))
    assert not forced.cross_checks_kept and _xr_state(wh) == kept
