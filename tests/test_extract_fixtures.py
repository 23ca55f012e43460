"""Golden tests: every HTML fixture (and the seed) against its hand-built expected values.

The ``.json`` next to each fixture is written by ``tests/fixtures/reports/_generate.py`` from the data
the page was rendered from (not from the extractor).  Every value of tables 三 and 四 is asserted,
and the set of t3/t4 keys must be exactly the expected one (no extra, no missing cell).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors import extract

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
CASES = sorted(p for p in FIXTURES.glob("*.html"))


def _load(path: Path):
    exp = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    report = extract(path.read_bytes(), url=exp["url"])
    return exp, report


def test_there_are_enough_fixtures() -> None:
    assert len(CASES) >= 15
    kinds = {p.name.split("-")[0] for p in CASES}
    assert {"decoy", "gbk", "split", "blank", "malformed", "hybrid", "legacy", "image", "word"} <= kinds


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_fixture_matches_golden(path: Path) -> None:
    exp, r = _load(path)
    assert r.is_report is exp["is_report"], r.reason
    if not exp["is_report"]:
        assert exp["reason_contains"] in r.reason
        assert r.facts == [] and r.findings == []
        assert r.title == exp["title"]
        return
    assert r.reason is None
    assert r.title == exp["title"]
    assert r.agency == exp["agency"]
    assert r.year == exp["year"]
    assert (r.published.isoformat() if r.published else None) == exp["published"]
    assert r.template == exp["template"]
    assert [s.number for s in r.sections] == exp["sections"]
    assert all(s.heading for s in r.sections)
    if exp["encoding"]:
        assert r.encoding == exp["encoding"]
    for table in ("t3", "t4"):
        want = {(table, row, col): v for row, cols in (exp[table] or {}).items() for col, v in cols.items()}
        got = {k: v for k, v in r.fact_map().items() if k[0] == table}
        assert got == want, f"{table} differs: {sorted(set(got.items()) ^ set(want.items()))[:6]}"
    if exp["t2"] is not None:
        want2 = {("t2", row, col): v for row, cols in exp["t2"].items() for col, v in cols.items()}
        got2 = {k: v for k, v in r.fact_map().items() if k[0] == "t2"}
        assert got2 == pytest.approx(want2)
    if exp.get("legacy") is not None:  # figures stated by a pre-2019 report (table legacy)
        assert {f.row: f.value for f in r.facts if f.table == "legacy"} == exp["legacy"]
    assert sorted({f.rule for f in r.findings}) == exp["findings"], [f.message for f in r.findings]
    assert len(r.images) == exp["images"]
    assert r.attachments == exp["attachments"]
    if exp["implicit_zero"] is not None:
        assert sum(1 for f in r.facts if f.implicit_zero) == exp["implicit_zero"]


def test_provenance_points_at_the_printed_cell() -> None:
    path = FIXTURES / "split-table-2020.html"
    exp, r = _load(path)
    tables = {t.index: t for t in r.tables}
    for f in r.facts:
        cell = tables[f.table_index].grid[f.grid_row][f.grid_col]
        assert " ".join(cell.split()) == f.raw
    t3_tables = [t for t in r.tables if t.kind == "t3"]
    assert len(t3_tables) == 2 and t3_tables[0].parts == t3_tables[1].parts == (t3_tables[0].index, t3_tables[1].index)
    # the shifted row (lost its group cell) and rows of the second part are read from the second table
    f = r.fact("t3", "rejected_confirmation", "total")
    assert f is not None and f.table_index == t3_tables[1].index and f.value == exp["t3"]["rejected_confirmation"]["total"]


def test_meta_table_is_not_a_report_table() -> None:
    _, r = _load(FIXTURES / "trs-county-2019.html")
    kinds = [t.kind for t in r.tables]
    assert kinds[0] == "meta" and kinds[1:] == ["t2", "t3", "t4"]
    assert all("索引号" not in s.text and "网站标识码" not in s.text for s in r.sections)
    assert "版权所有" not in r.text and "当前位置" not in r.text


def test_malformed_findings_carry_numbers() -> None:
    exp, r = _load(FIXTURES / "malformed-2022.html")
    assert r.status == "malformed"
    by_rule = {}
    for f in r.findings:
        by_rule.setdefault(f.rule, []).append(f)
    t4 = by_rule["t4.block_total"][0]
    assert (t4.table, t4.row, t4.col) == ("t4", "review", "total")
    assert t4.actual == exp["t4"]["review"]["total"] and t4.expected == exp["t4"]["review"]["total"] - 1
    bal = by_rule["t3.balance"]
    assert [f.col for f in bal] == ["legal_service"] and bal[0].expected - bal[0].actual == 3
    rows = {f.row for f in by_rule["t3.row_total"]}
    assert {"granted", "new_received", "unable_not_held", "rejected_duplicate"} <= rows
    neg = by_rule["value.negative"][0]
    assert (neg.row, neg.col, neg.actual) == ("unable_not_held", "research", -1.0)
    assert by_rule["value.non_integer"][0].actual == 1.5
    assert by_rule["text.table_mismatch"][0].expected == exp["t3"]["new_received"]["total"] + 7
    ym = by_rule["year.mismatch"][0]
    assert (ym.expected, ym.actual) == (2022.0, 2021.0)


def test_committed_fixtures_equal_the_generator_output() -> None:
    """The fixtures and their golden JSON are reproducible from tests/fixtures/reports/_generate.py."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("_fixture_gen_check", FIXTURES / "_generate.py")
    gen = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = gen
    spec.loader.exec_module(gen)
    gen.FIXTURES.clear()
    gen.build()
    assert len(gen.FIXTURES) == len(CASES)
    for fx in gen.FIXTURES:
        assert (FIXTURES / fx.name).read_bytes() == fx.html.encode(fx.encoding), fx.name
        golden = json.loads((FIXTURES / fx.name).with_suffix(".json").read_text(encoding="utf-8"))
        assert golden["t3"] == fx.expected["t3"] and golden["t4"] == fx.expected["t4"], fx.name


def test_seed_text_report() -> None:
    """The project's seed (plain text, tab-separated tables): every t3/t4 cell present and 0."""
    from extractors.formats import TABLES

    r = extract((FIXTURES / "fugou-2020.txt").read_bytes(), filename="fugou-2020.txt")
    assert r.is_report and r.template == "2019" and r.year == 2020
    assert r.title == "扶沟县政府办公室2020年政府信息公开工作年度报告" and r.agency == "扶沟县政府办公室"
    assert [s.number for s in r.sections] == [1, 2, 3, 4, 5, 6]
    assert r.sections[5].text == "无。"
    fm = r.fact_map()
    for table in ("t2", "t3", "t4"):
        want = {(table, row, col): 0 for row, col in TABLES["2019"][table].cells()}
        assert {k: v for k, v in fm.items() if k[0] == table} == want
    assert r.findings == []
    assert [t.kind for t in r.tables] == ["t2", "t3", "t4"]


def test_blank_and_not_applicable_cells() -> None:
    exp, r = _load(FIXTURES / "blank-cells-2021.html")
    info = {f.rule: f for f in r.findings}
    assert info["value.not_applicable"].actual == 3 and info["value.not_applicable"].severity == "info"
    assert info["value.implicit_zero"].actual == exp["implicit_zero"]
    f = r.fact("t4", "review", "upheld")
    assert (f.value, f.raw, f.implicit_zero) == (0, "无", False)  # 无 = a real zero
    f = r.fact("t4", "litigation_after_review", "upheld")
    assert (f.value, f.raw) == (None, "—")
    blank = next(f for f in r.facts if f.implicit_zero)
    assert blank.value == 0 and blank.raw == "" and blank.table == "t3"
    assert r.status == "ok"
