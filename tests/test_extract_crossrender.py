"""One report, every rendering, the same facts (issue 9, acceptance).

A report (one :class:`sample_portal.reportgen.ReportSpec`) is rendered the way different producers publish it —
the portal's Word-export HTML page, a CMS page with the tables pasted as text lines, Word's "save as plain text"
.txt, a DOCX, the tables as an XLSX, a fake-bold PDF, an unruled PDF, a Word 97 .doc (and the same .doc read without LibreOffice) — and
every rendering must give exactly the spec's facts, cell by cell (table, row, col, value), and be ``ok``.

The .doc files are the committed fixtures ``tests/fixtures/fidelity/office/report-2020.doc`` / ``report-2022.wps``
(LibreOffice takes seconds and its bytes are not stable; ``tests/fixtures/fidelity/_generate_legacy.py --office``
regenerates them from the specs below); every other rendering is made here from the spec by the producers of
``tests/producers/renderings.py`` (milliseconds each).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors import extract
from producers.renderings import ACCEPTANCE, RENDERINGS
from sample_portal.reportgen import ReportSpec, expected_facts
from test_extract_legacy import _path_with  # a PATH holding only the given tools

OFFICE = Path(__file__).parent / "fixtures" / "fidelity" / "office"

#: the specs of the committed .doc/.wps fixtures (see _generate_legacy.py), and two printed with blank zeros
DOC_SPECS = {
    "report-2020.doc": ReportSpec("某某县", "县人民政府", 2020, "2019", 21),
    "report-2022.wps": ReportSpec("某某县", "县自然资源局", 2022, "2021", 22),
}
BLANK_SPECS = [ReportSpec("临河县", "县教育局", 2020, "2019", 101, blank_zeros=True),
               ReportSpec("西岭县", "城关镇人民政府", 2023, "2021", 102, blank_zeros=True)]

CASES = [(name, spec) for spec in [*DOC_SPECS.values(), *BLANK_SPECS] for name in ACCEPTANCE]


def _cells(facts: dict) -> set[tuple[str, str, str, float | int | None]]:
    return {(t, row, col, v) for (t, row, col), v in facts.items() if t in ("t2", "t3", "t4")}


def _same_report(r, spec: ReportSpec, rendering: str, *, sections: bool = True) -> None:
    want, got = _cells(expected_facts(spec)), _cells(r.fact_map())
    assert got == want, (f"{rendering}: {len(want - got)} cells lost or changed, {len(got - want)} read wrong: "
                         f"missing {sorted(want - got, key=str)[:6]}, wrong {sorted(got - want, key=str)[:6]}")
    assert {t for t, *_ in got} == {"t2", "t3", "t4"}
    assert r.status == "ok", (rendering, [(f.rule, f.message) for f in r.findings if f.severity == "error"])
    assert (r.year, r.template, r.title) == (spec.year, spec.template, spec.title)
    assert [s.number for s in r.sections] == ([1, 2, 3, 4, 5, 6] if sections else [])


def _spec_id(spec: ReportSpec) -> str:
    return f"{spec.template}-{spec.seed}" + ("-blank" if spec.blank_zeros else "")


@pytest.mark.parametrize(("rendering", "spec"), CASES, ids=[f"{n}-{_spec_id(s)}" for n, s in CASES])
def test_every_rendering_gives_the_same_facts(rendering: str, spec: ReportSpec) -> None:
    rd = RENDERINGS[rendering]
    _same_report(extract(rd.producer(spec), filename=rd.filename), spec, rendering, sections=rd.sections)


@pytest.mark.parametrize("name", list(DOC_SPECS))
def test_the_doc_gives_the_same_facts(name: str) -> None:
    """The .doc/.wps through LibreOffice (the converter tried first)."""
    _same_report(extract((OFFICE / name).read_bytes(), filename=name), DOC_SPECS[name], name)


def _hide_libreoffice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _path_with(tmp_path, ("catdoc", "antiword")))


def test_the_doc_without_libreoffice_gives_the_same_facts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """catdoc's text of the 2019-format .doc (tables as tab-separated lines, table 二's blocks included)."""
    _hide_libreoffice(tmp_path, monkeypatch)
    _same_report(extract((OFFICE / "report-2020.doc").read_bytes(), filename="r.doc"), DOC_SPECS["report-2020.doc"], "catdoc")


def test_a_converter_that_loses_text_is_never_ok_and_never_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without LibreOffice the 2021-format .wps loses cells *in the converters' output* (catdoc drops table 二 and
    part of table 三's header, antiword drops table 三's rows): what is read is right, and the report says it is
    incomplete (an error finding, not ``ok``)."""
    _hide_libreoffice(tmp_path, monkeypatch)
    spec = DOC_SPECS["report-2022.wps"]
    r = extract((OFFICE / "report-2022.wps").read_bytes(), filename="r.wps")
    got, want = _cells(r.fact_map()), _cells(expected_facts(spec))
    read = {c for c in got if c[3] is not None}
    assert read and read <= want, sorted(read - want, key=str)[:6]
    assert r.status != "ok" and any(f.severity == "error" for f in r.findings)
