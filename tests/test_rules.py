"""The quality rules on hand-made reports: each rule fires exactly when its arithmetic breaks."""

from __future__ import annotations

import copy

import pytest

from extractors.formats import TABLES
from extractors.model import Fact, Report, Section, Table
from extractors.rules import RULES, validate


def _report(template: str = "2019", t3: dict | None = None, t4: dict | None = None) -> Report:
    facts: list[Fact] = []
    spec3 = TABLES[template]["t3"]
    for row, col in spec3.cells():
        v = (t3 or {}).get((row, col), 0)
        facts.append(Fact("t3", row, col, v, str(v)))
    for row, col in TABLES[template]["t4"].cells():
        v = (t4 or {}).get((row, col), 0)
        facts.append(Fact("t4", row, col, v, str(v)))
    return Report(
        is_report=True, title="某县2020年政府信息公开工作年度报告", template=template,
        sections=[Section(n, f"{n}、x", "") for n in range(1, 7)],
        tables=[Table(0, [["x"]], "t3"), Table(1, [["x"]], "t4")], facts=facts,
    )


def _consistent() -> dict:
    # natural persons: 5 new + 1 carried = 4 granted + 1 not held (=5 handled) + 1 carried forward
    v = {("new_received", "natural_person"): 5, ("carried_over", "natural_person"): 1, ("granted", "natural_person"): 4,
         ("unable_not_held", "natural_person"): 1, ("total_handled", "natural_person"): 5, ("carried_forward", "natural_person"): 1}
    for (row, _), val in list(v.items()):
        v[(row, "total")] = val
    return v


def test_consistent_report_has_no_findings() -> None:
    assert validate(_report(t3=_consistent())) == []


def test_catalogue_ids_are_stable() -> None:
    for rid in ("t3.balance", "t3.row_total", "t3.handled_sum", "t4.block_total", "value.negative", "value.non_integer",
                "section.missing", "table.missing", "table.image", "year.mismatch", "value.implicit_zero",
                "value.not_applicable", "text.table_mismatch"):
        assert rid in RULES and RULES[rid].zh and RULES[rid].en


@pytest.mark.parametrize(
    ("change", "rules"),
    [
        ({("carried_forward", "natural_person"): 2, ("carried_forward", "total"): 2}, {"t3.balance"}),
        ({("granted", "total"): 9}, {"t3.row_total", "t3.handled_sum"}),  # the total column breaks R3 too
        ({("granted", "natural_person"): 3, ("granted", "total"): 3, ("unable_not_held", "natural_person"): 2,
          ("unable_not_held", "total"): 2}, set()),
        ({("granted", "natural_person"): 3, ("granted", "total"): 3}, {"t3.handled_sum"}),
    ],
)
def test_t3_rules(change: dict, rules: set) -> None:
    v = _consistent()
    v.update(change)
    found = validate(_report(t3=v))
    assert {f.rule for f in found} == rules


def test_all_findings_are_reported_with_numbers() -> None:
    v = _consistent()
    v[("granted", "total")] = 9
    v[("partially_granted", "research")] = 2  # breaks its row and R3 of the research column
    t4 = {("review", "upheld"): 1, ("review", "total"): 3, ("litigation_direct", "total"): 1}
    found = validate(_report(t3=v, t4=t4))
    rules = [f.rule for f in found]
    assert rules.count("t3.row_total") == 2 and rules.count("t4.block_total") == 2
    assert sorted(f.col for f in found if f.rule == "t3.handled_sum") == ["research", "total"]
    f = next(f for f in found if f.rule == "t4.block_total" and f.row == "review")
    assert (f.expected, f.actual, f.table, f.col) == (1.0, 3.0, "t4", "total")
    f = next(f for f in found if f.rule == "t3.row_total" and f.row == "granted")
    assert (f.expected, f.actual) == (4.0, 9.0)


def test_value_rules() -> None:
    r = _report(t3=_consistent())
    r.facts.append(Fact("t2", "administrative_license", "change", -3, "-3"))  # signed column: fine
    r.facts.append(Fact("t2", "centralized_procurement", "amount_10k_yuan", 25.1, "251000元"))  # money: decimals fine
    bad = copy.deepcopy(r)
    bad.facts[0] = Fact("t3", bad.facts[0].row, bad.facts[0].col, None, "/")
    bad.facts[1] = Fact("t3", bad.facts[1].row, bad.facts[1].col, 0, "", implicit_zero=True)
    bad.facts.append(Fact("t2", "regulations", "new_made", -1, "-1"))
    bad.facts.append(Fact("t2", "regulations", "total_published", 2.5, "2.5"))
    assert validate(r) == []
    rules = {f.rule: f for f in validate(bad)}
    assert set(rules) == {"value.not_applicable", "value.implicit_zero", "value.negative", "value.non_integer"}
    assert rules["value.implicit_zero"].severity == "info" and rules["value.negative"].severity == "error"


def test_structure_rules() -> None:
    r = _report(t3=_consistent())
    r.sections = [s for s in r.sections if s.number != 5]
    r.tables = [t for t in r.tables if t.kind != "t4"]
    r.facts = [f for f in r.facts if f.table != "t4" and f.row != "other"]
    found = {(f.rule, f.row or f.table) for f in validate(r)}
    assert ("section.missing", "5") in found and ("table.missing", "t4") in found
    assert ("table.cells_missing", "other") in found
    r.images = ["http://x/t.png"]
    assert "table.image" in {f.rule for f in validate(r)}


def test_year_mismatch_and_text_rule() -> None:
    r = _report(t3=_consistent())
    r.text = "本报告统计期限为2019年1月1日至2019年12月31日。"
    r.sections[0].text = "全年共收到政府信息公开申请8件。"
    found = {f.rule: f for f in validate(r)}
    assert found["year.mismatch"].expected == 2020 and found["year.mismatch"].actual == 2019
    assert found["text.table_mismatch"].expected == 8 and found["text.table_mismatch"].actual == 5
    r.sections[0].text = "全年共收到政府信息公开申请6件。"  # new + carried over: accepted
    assert "text.table_mismatch" not in {f.rule for f in validate(r)}


def test_non_report_has_no_findings() -> None:
    assert validate(Report(is_report=False, reason="x")) == []


def test_text_rule_reviews() -> None:
    r = _report(t3=_consistent(), t4={("review", "upheld"): 2, ("review", "total"): 2})
    r.sections[3].text = "本年度发生政府信息公开行政复议案件3件，均维持原决定。"
    found = [f for f in validate(r) if f.rule == "text.table_mismatch"]
    assert len(found) == 1 and (found[0].table, found[0].expected, found[0].actual) == ("t4", 3.0, 2.0)
    r.sections[3].text = "本年度发生政府信息公开行政复议案件2件。未发生行政诉讼。"
    assert not [f for f in validate(r) if f.rule == "text.table_mismatch"]
