"""Fidelity benchmark: ``.venv/bin/python -m bench.fidelity [--specs N] [--no-generated] [--verbose]``.

Runs the whole fixture corpus — every ``tests/fixtures/**`` document with its expectations (the ``.json`` next to
it, written from what the document was made from, never from the extractor; the project seed
``tests/fixtures/reports/fugou-2020.txt`` is all zeros) — plus the producers' renderings of ``N`` generated
reports (``tests/producers/renderings.py``: Word HTML, text-laid HTML, .txt, DOCX, XLSX, reportlab PDFs) through
``extractors.extract``, the function ``ogi extract`` calls (with the file name, and the URL / Content-Type the
fixture says it was served with).  Prints per input kind:

* cells right / cells expected (every t2/t3/t4 cell and every stated legacy figure), with the cells read as null
  (unreadable, said so by a finding), the cells read *wrong* and the extra cells (a fact the document does not
  state: the fixtures' tables are exhaustive);
* is_report, template and year right; status right (where the fixture states it);
* findings: expected rule ids found / expected, and rule ids found that were not expected;

and lists every report with zero facts that is not ``not_parsed`` (with its status and error findings: a report
that is ``ok`` there is a silent loss, the worst bug this product can have; target none), and every report
without a table 三 fact that is ``ok`` (the no-silent-zeros invariant; target none).  Exit status 1 when either
list has a silent case.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
DOCUMENTS = (".html", ".txt", ".pdf", ".doc", ".wps", ".docx", ".xlsx", ".xls", ".rtf")
SEED = FIXTURES / "reports" / "fugou-2020.txt"

Cell = tuple[str, str, str]  # (table, row, col); legacy figures: ("legacy", key, "*")


@dataclass
class Case:
    """One document and what it must give."""

    name: str
    kind: str  # the input kind it is counted under
    load: Callable[[], bytes]
    filename: str | None
    url: str | None = None
    content_type: str | None = None
    is_report: bool = True
    title: str | None = None
    year: int | None = None
    template: str | None = None  # None: not checked (an OCR'd scan)
    status: str | None = None  # None: the fixture does not state it
    cells: dict[Cell, float | int | None] = field(default_factory=dict)
    exhaustive: frozenset[str] = frozenset()  # tables whose every fact is listed (an extra one is wrong)
    findings: frozenset[str] | None = None  # the exact rule ids (None: not stated)
    findings_subset: bool = False  # OCR'd text: the expected rule ids must be among those found, others may be
    exact: bool = True  # False: cells may be null (blanks that left no trace), never wrong


# ------------------------------------------------------------------------------------------------ the corpus


def _kind_of(path: Path, exp: dict) -> str:
    k = exp.get("kind")
    if not exp.get("is_report", True):
        return "non-report"
    if exp.get("template") == "legacy" or (k or "").startswith("legacy"):
        return "legacy"
    if k:
        if k.startswith("pdf-"):
            return "PDF " + k[4:]
        if k in ("doc", "wps", "rtf-as-doc", "doc-no-tables"):
            return ".doc/.wps"
        if k.startswith("html-"):
            return "text HTML"
        if k.startswith("text-"):
            return "txt"
    return {".txt": "txt", ".pdf": "PDF", ".docx": "DOCX", ".xlsx": "XLSX", ".doc": ".doc/.wps",
            ".wps": ".doc/.wps"}.get(path.suffix, "Word HTML")


def _cells_of(exp: dict, partial_t2: bool) -> tuple[dict[Cell, float | int | None], frozenset[str]]:
    cells: dict[Cell, float | int | None] = {}
    exhaustive = set()
    for t in ("t2", "t3", "t4"):
        rows = exp.get(t)
        if rows is None:
            continue
        if not (t == "t2" and partial_t2):
            exhaustive.add(t)
        for row, cols in rows.items():
            for col, v in cols.items():
                cells[(t, row, col)] = v
    legacy = exp.get("legacy")
    if legacy is not None:
        exhaustive.add("legacy")
        for key, v in legacy.items():
            cells[("legacy", key, "*")] = v
    return cells, frozenset(exhaustive)


def _seed_case() -> Case:
    from extractors.formats import TABLES

    cells = {(t, row, col): 0 for t in ("t2", "t3", "t4") for row, col in TABLES["2019"][t].cells()}
    return Case("reports/fugou-2020.txt", "txt", SEED.read_bytes, SEED.name, title="扶沟县政府办公室2020年政府信息公开工作年度报告",
                year=2020, template="2019", status="ok", cells=cells, exhaustive=frozenset({"t2", "t3", "t4"}),
                findings=frozenset())


def fixture_cases() -> list[Case]:
    """Every fixture document with a ``.json`` next to it (and the seed)."""
    out = [_seed_case()]
    for path in sorted(p for p in FIXTURES.rglob("*") if p.suffix in DOCUMENTS and p.with_suffix(".json").is_file()):
        exp = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        # tests/fixtures/realworld lists the table 二 cells it checks, not all of them
        cells, exhaustive = _cells_of(exp, partial_t2=path.parent.name == "realworld")
        out.append(Case(
            name=str(path.relative_to(FIXTURES)), kind=_kind_of(path, exp), load=path.read_bytes, filename=path.name,
            url=exp.get("url"), content_type=exp.get("content_type"), is_report=exp.get("is_report", True),
            title=exp.get("title"), year=exp.get("year"), template=None if exp.get("ocr") else exp.get("template"),
            status=exp.get("status"), cells=cells if exp.get("is_report", True) else {}, exhaustive=exhaustive,
            findings=frozenset(exp["findings"]) if exp.get("findings") is not None else None,
            findings_subset=bool(exp.get("ocr")),
        ))
    return out


def generated_cases(n_specs: int) -> list[Case]:
    """Every cheap rendering of ``n_specs`` generated reports (the producers of ``tests/producers``)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from producers.renderings import RENDERINGS, specs
    from sample_portal.reportgen import expected_facts

    out = []
    for spec in specs(n_specs):
        cells = dict(expected_facts(spec))
        for name, rd in RENDERINGS.items():
            out.append(Case(
                name=f"{name}:{spec.template}-{spec.seed}{'-blank' if spec.blank_zeros else ''}", kind=f"{rd.kind} · {name}",
                load=lambda rd=rd, spec=spec: rd.producer(spec), filename=rd.filename, title=spec.title, year=spec.year,
                template=spec.template, cells=cells, exhaustive=frozenset({"t2", "t3", "t4"}), exact=rd.exact,
                status=None if not rd.exact else "ok"))
    return out


# ------------------------------------------------------------------------------------------------ scoring


def _got_cells(report) -> dict[Cell, float | int | None]:
    out: dict[Cell, float | int | None] = {}
    for f in report.facts:
        key = ("legacy", f.row, "*") if f.table == "legacy" else (f.table, f.row, f.col)
        out.setdefault(key, f.value)
    return out


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


@dataclass
class Score:
    reports: int = 0
    cells: int = 0
    right: int = 0
    null: int = 0
    wrong: int = 0
    missing: int = 0
    extra: int = 0
    is_report: int = 0
    template: int = 0
    template_n: int = 0
    year: int = 0
    year_n: int = 0
    status: int = 0
    status_n: int = 0
    findings_expected: int = 0
    findings_found: int = 0
    findings_unexpected: int = 0
    seconds: float = 0.0

    def add(self, other: Score) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))


@dataclass
class Outcome:
    case: Case
    report: object
    score: Score
    problems: list[str]


def evaluate(case: Case) -> Outcome:
    from extractors import extract

    data = case.load()
    t0 = time.perf_counter()  # wall time: a .doc's converter runs in a subprocess
    r = extract(data, url=case.url, content_type=case.content_type, filename=case.filename)
    s = Score(seconds=time.perf_counter() - t0)
    s.reports = 1
    problems: list[str] = []
    s.is_report = int(r.is_report is case.is_report)
    if not s.is_report:
        problems.append(f"is_report {r.is_report} (want {case.is_report}: {r.reason})")
    got = _got_cells(r)
    for key, want in case.cells.items():
        s.cells += 1
        if key not in got:
            s.missing += 1
            problems.append(f"missing {key}={want}")
        elif _same(got[key], want):
            s.right += 1
        elif got[key] is None:
            s.null += 1
            if case.exact:
                problems.append(f"null {key} (want {want})")
        else:
            s.wrong += 1
            problems.append(f"WRONG {key}={got[key]} (want {want})")
    for key, v in got.items():
        if key[0] in case.exhaustive and key not in case.cells:
            s.extra += 1
            problems.append(f"extra {key}={v}")
    if case.is_report:
        if case.template is not None:
            s.template_n += 1
            s.template += int(r.template == case.template)
            if r.template != case.template:
                problems.append(f"template {r.template} (want {case.template})")
        if case.year is not None:
            s.year_n += 1
            s.year += int(r.year == case.year)
            if r.year != case.year:
                problems.append(f"year {r.year} (want {case.year})")
    if case.status is not None:
        s.status_n += 1
        s.status += int(r.status == case.status)
        if r.status != case.status:
            problems.append(f"status {r.status} (want {case.status})")
    if case.findings is not None:
        found = {f.rule for f in r.findings}
        s.findings_expected += len(case.findings)
        s.findings_found += len(case.findings & found)
        s.findings_unexpected += 0 if case.findings_subset else len(found - case.findings)
        if found != case.findings and not (case.findings_subset and case.findings <= found):
            problems.append(f"findings missed {sorted(case.findings - found)}, unexpected {sorted(found - case.findings)}")
    return Outcome(case, r, s, problems)


def zero_fact_reports(outcomes: list[Outcome]) -> list[Outcome]:
    """Reports with no fact at all whose status is not ``not_parsed``."""
    return [o for o in outcomes if o.report.is_report and not o.report.facts and o.report.status != "not_parsed"]


def silent(o: Outcome) -> bool:
    """A report without a table 三 fact (and not legacy, whose figures are its facts) that says nothing is wrong."""
    r = o.report
    if not r.is_report or r.template == "legacy":
        return False
    if any(f.table == "t3" for f in r.facts):
        return False
    return r.status == "ok" or not (r.unread or any(f.severity == "error" for f in r.findings))


# ------------------------------------------------------------------------------------------------ report


def _pct(a: int, b: int) -> str:
    return f"{a}/{b}" if b else "–"


def table(rows: dict[str, Score], title: str) -> list[str]:
    head = ("| input kind | docs | cells right / expected | null | wrong | extra | is_report | template | year | status "
            "| findings found / expected | unexpected | ms/doc (wall) |")
    lines = [f"**{title}**", "", head, "|" + "---|" * 13]
    total = Score()
    for kind in sorted(rows):
        s = rows[kind]
        total.add(s)
        lines.append(_row(kind, s))
    lines.append(_row("**all**", total))
    return lines


def _row(kind: str, s: Score) -> str:
    return (f"| {kind} | {s.reports} | {_pct(s.right, s.cells)} | {s.null} | {s.wrong + s.missing} | {s.extra} "
            f"| {_pct(s.is_report, s.reports)} | {_pct(s.template, s.template_n)} | {_pct(s.year, s.year_n)} "
            f"| {_pct(s.status, s.status_n)} | {_pct(s.findings_found, s.findings_expected)} | {s.findings_unexpected} "
            f"| {s.seconds * 1000 / max(1, s.reports):.0f} |")


def run(cases: list[Case]) -> list[Outcome]:
    return [evaluate(c) for c in cases]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", type=int, default=8, help="generated reports rendered by every cheap producer (default 8)")
    ap.add_argument("--no-generated", action="store_true", help="only the committed fixtures")
    ap.add_argument("--verbose", "-v", action="store_true", help="list every document with a difference")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    groups = {"fixtures (tests/fixtures/**)": fixture_cases()}
    if not args.no_generated:
        groups[f"generated renderings ({args.specs} reports × tests/producers/renderings.py)"] = generated_cases(args.specs)
    every: list[Outcome] = []
    for title, cases in groups.items():
        outcomes = run(cases)
        every += outcomes
        rows: dict[str, Score] = defaultdict(Score)
        for o in outcomes:
            rows[o.case.kind].add(o.score)
        print("\n".join(table(rows, f"{title}: {len(cases)} documents")))
        print()
        if args.verbose:
            for o in outcomes:
                if o.problems:
                    print(f"  {o.case.name} [{o.report.status}]: " + "; ".join(o.problems[:6])
                          + (f" … (+{len(o.problems) - 6})" if len(o.problems) > 6 else ""))
            print()
    zero = zero_fact_reports(every)
    print(f"Reports with zero facts that are not not_parsed: {len(zero)}")
    for o in zero:
        errors = sorted({f.rule for f in o.report.findings if f.severity == "error"})
        print(f"  {o.case.name}: {o.report.status}, errors {errors}" + ("  <-- SILENT" if silent(o) else ""))
    quiet = [o for o in every if silent(o)]
    print(f"Silent losses (a report without table 三 facts that is ok, or says nothing is wrong): {len(quiet)} (target 0)")
    for o in quiet:
        print(f"  {o.case.name}: {o.report.status}")
    print(f"\n{len(every)} documents in {time.perf_counter() - t0:.1f} s")
    return 1 if quiet else 0


if __name__ == "__main__":
    sys.exit(main())
