"""Pre-2019 reports, legacy office files, malformed reports that used to pass as fine, decoys (issue 9: 4-7).

The fixtures in ``tests/fixtures/fidelity/{legacy,office,malformed,decoys}/`` are made by the producers of
``tests/producers/office.py`` from a ``ReportSpec`` (``_generate_legacy.py``); the JSON next to each holds what the
document was written from.  Every value is asserted: t2/t3/t4 and legacy fact sets exactly, template, year,
sections, status, findings (exact rule-id set), document kind.  Then the paths around them: no converter installed
(a PATH that hides them), only catdoc, a converter that hangs (killed at its timeout), a broken .doc, a hostile file
name; and the no-silent-zeros guard with every input kind.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import stat
import time
from pathlib import Path

import pytest

from extractors import extract
from extractors.model import UnreadableInput

FIDELITY = Path(__file__).parent / "fixtures" / "fidelity"
DIRS = ("legacy", "office", "malformed", "decoys")
CASES = sorted(p for d in DIRS for p in (FIDELITY / d).iterdir() if p.suffix != ".json")
CONVERTERS = ("soffice", "libreoffice", "catdoc", "antiword")


def _exp(path: Path) -> dict:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def _extract(path: Path):
    exp = _exp(path)
    return exp, extract(path.read_bytes(), content_type=exp["content_type"], filename=exp["filename"])


def test_every_fixture_has_its_expectations_and_the_kinds_are_covered() -> None:
    assert all(p.with_suffix(".json").exists() for p in CASES)
    kinds = {_exp(p)["kind"] for p in CASES}
    assert {"legacy-html", "legacy-annex-prose", "legacy-annex-table", "legacy-no-figures", "doc", "wps", "legacy-doc",
            "image-table", "year-mismatch", "tables-missing", "notice", "interpretation", "summary", "anti-crawl",
            "placeholder", "list"} <= kinds


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fidelity_fixture(path: Path) -> None:
    exp, r = _extract(path)
    assert r.is_report is exp["is_report"], r.reason
    assert r.document_kind == exp["doc_kind"] and r.to_json()["doc_kind"] == exp["doc_kind"]
    assert r.status == exp["status"], (r.unread, [f.message for f in r.findings])
    if not exp["is_report"]:
        assert exp["reason_contains"] in (r.reason or ""), r.reason
        assert r.facts == [] and r.findings == [] and r.template == "unknown"
        return
    assert r.reason is None
    assert (r.title, r.year, r.template) == (exp["title"], exp["year"], exp["template"])
    assert [s.number for s in r.sections] == exp["sections"], [(s.number, s.heading) for s in r.sections]
    for key in ("agency", "published", "encoding"):
        if exp[key]:
            got = getattr(r, key)
            assert (got.isoformat() if key == "published" else got) == exp[key]
    fm = r.fact_map()
    for table in ("t2", "t3", "t4"):
        want = {(table, row, col): v for row, cols in exp[table].items() for col, v in cols.items()}
        got = {k: v for k, v in fm.items() if k[0] == table}
        assert got == pytest.approx(want), f"{table}: {sorted(set(got.items()) ^ set(want.items()), key=str)[:8]}"
    assert {f.row: f.value for f in r.facts if f.table == "legacy"} == exp["legacy"]
    assert sorted({f.rule for f in r.findings}) == exp["findings"], [f.message for f in r.findings]
    if exp["status"] == "not_parsed":
        assert r.unread
    for f in r.facts:  # provenance: a cell address or the sentence
        if f.table == "legacy" and f.table_index < 0:
            assert f.sentence and f.raw and (f.raw in f.sentence.replace(" ", "") or f.value == 0)
        else:
            assert f.sentence is None and f.table_index >= 0


def test_generator_reproduces_the_committed_fixtures() -> None:
    """HTML fixtures and every JSON are byte-for-byte what the producers make (office files: JSON only)."""
    spec = importlib.util.spec_from_file_location("_gen_legacy_check", FIDELITY / "_generate_legacy.py")
    gen = importlib.util.module_from_spec(spec)
    import sys

    sys.modules[spec.name] = gen  # dataclasses resolve their module
    spec.loader.exec_module(gen)
    for fx in gen.fixtures():
        path = FIDELITY / fx.path
        assert json.loads(path.with_suffix(".json").read_text(encoding="utf-8")) == fx.expected, fx.path
        if not fx.office:
            assert path.read_bytes() == fx.make(), fx.path


# ----------------------------------------------------------------------------------------- legacy details


def _legacy_report(name: str):
    return _extract(FIDELITY / "legacy" / name)


def test_legacy_sections_have_their_own_layout() -> None:
    _, r = _legacy_report("legacy-2016-narrative.html")
    assert [(s.number, s.heading) for s in r.sections] == [
        (1, "一、概述"), (2, "二、主动公开政府信息情况"), (3, "三、依申请公开政府信息情况"), (7, "四、政府信息公开的收费及减免情况"),
        (4, "五、因政府信息公开申请行政复议、提起行政诉讼的情况"), (5, "六、存在的主要问题及改进措施"), (6, "七、其他需要报告的事项")]
    assert r.sections[3].text == "本机关在依申请提供政府信息过程中，未收取任何费用，也未发生收费减免情况。"
    assert not any(f.rule in ("table.missing", "section.missing") for f in r.findings)


def test_legacy_figures_keep_their_sentence_and_printed_number() -> None:
    exp, r = _legacy_report("legacy-2016-narrative.html")
    f = r.fact("legacy", "proactive_published", "total")
    assert f.raw == str(exp["legacy"]["proactive_published"]) and f.table_index == -1
    assert f.sentence.startswith("2016年，全县共主动公开政府信息") and f.raw in f.sentence  # the sentence, not the paragraph
    fee = r.fact("legacy", "fees_collected", "amount_10k_yuan")
    assert (fee.value, fee.raw) == (0, "未收取任何费用")  # a stated zero keeps the words that state it
    js = next(x for x in r.to_json()["facts"] if x["row"] == "proactive_published")
    assert js["sentence"] == f.sentence and js["table"] == "legacy"


def test_legacy_annex_table_is_read_by_row_with_the_group_context() -> None:
    exp, r = _legacy_report("legacy-2018-annex-table.html")
    annex = next(t for t in r.tables if t.kind == "legacy_stats")
    upheld = r.fact("legacy", "review_upheld", "total")
    assert annex.grid[upheld.grid_row][0] == "（一）维持具体行政行为数" and upheld.table_index == annex.index
    # the annex wins over the narrative: its cells are the provenance of the figures it states
    received = r.fact("legacy", "applications_received", "total")
    assert received.sentence is None and annex.grid[received.grid_row][0] == "（一）收到申请数"


def test_legacy_mismatch_keeps_the_annex_and_says_both() -> None:
    exp, r = _legacy_report("legacy-2017-mismatch.html")
    msg = next(f.message for f in r.findings if f.rule == "legacy.mismatch")
    n = exp["legacy"]["applications_received"]
    assert r.fact("legacy", "applications_received", "total").value == n
    assert f"the text says {n + 1}" in msg and f"the statistics say {n}" in msg


def test_a_legacy_report_without_figures_is_not_parsed_never_ok_with_zero_facts() -> None:
    _, r = _legacy_report("legacy-2018-no-figures.html")
    assert r.template == "legacy" and r.facts == [] and r.status == "not_parsed" and "no number" in r.unread


def test_year_rules_of_the_template() -> None:
    from extractors.classify import detect_template

    assert detect_template("", [], 2018) == "legacy"
    assert detect_template("", [], 2019) == "unknown"
    assert detect_template("", [], 2019, legacy_structure=True) == "legacy"  # the 2019 form was only encouraged
    assert detect_template("", [], 2020, legacy_structure=True) == "unknown"  # from 2020 the form is due
    assert detect_template("", [], None, legacy_structure=True) == "legacy"


# ----------------------------------------------------------------------------------------- malformed


def test_year_mismatch_takes_the_body_year_and_names_both() -> None:
    _, r = _extract(FIDELITY / "malformed" / "year-mismatch-2020.html")
    f = next(f for f in r.findings if f.rule == "year.mismatch")
    assert f.severity == "error" and (f.expected, f.actual) == (2021.0, 2020.0)
    assert "2021" in f.message and "2020" in f.message and r.year == 2020


def test_image_tables_make_the_report_not_parsed_with_an_error() -> None:
    _, r = _extract(FIDELITY / "malformed" / "image-tables-2020.html")
    f = next(f for f in r.findings if f.rule == "table.image")
    assert f.severity == "error" and r.status == "not_parsed" and "images" in r.unread and len(r.images) == 2


def test_scanned_pdf_pages_as_document_images_take_the_same_decision() -> None:
    """A reader that can only see page images (``Document.images`` with ``pdf-page:N``) gets the same verdict."""
    from extractors.document import Block, Document, Image
    from extractors.engine import _finish

    doc = Document(is_html=False, blocks=[Block("某某县2020年政府信息公开工作年度报告", heading=True),
                                          Block("一、总体情况"), Block("二、主动公开政府信息情况"), Block("三、收到和处理政府信息公开申请情况"),
                                          Block("四、政府信息公开行政复议、行政诉讼情况")],
                   images=[Image("pdf-page:3", "", 3), Image("pdf-page:4", "", 4)],
                   title_candidates=["某某县2020年政府信息公开工作年度报告"])
    r = _finish(doc, None, None, True)
    assert r.is_report and r.status == "not_parsed" and "table.image" in {f.rule for f in r.findings}
    assert r.images == ["pdf-page:3", "pdf-page:4"]
    only_images = _finish(Document(is_html=False, images=[Image("pdf-page:1", "", 0)]), None, None, True)
    assert only_images.is_report and only_images.status == "not_parsed" and "scanned" in only_images.unread


# ----------------------------------------------------------------------------------------- office formats


def _doc_bytes() -> bytes:
    return (FIDELITY / "office" / "report-2020.doc").read_bytes()


def _path_with(tmp_path: Path, tools: tuple[str, ...]) -> str:
    """A PATH directory holding only ``tools`` (symlinks to the real ones): the others are hidden."""
    import shutil

    d = tmp_path / "bin"
    d.mkdir(exist_ok=True)
    for t in tools:
        real = shutil.which(t)
        assert real, f"{t} is installed by scripts/setup-system"
        (d / t).symlink_to(real)
    return str(d)


def test_no_converter_is_a_report_we_could_not_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", _path_with(tmp_path, ()))
    for name in ("report-2020.doc", "report-2022.wps", "report-2021-rtf.doc"):
        r = extract((FIDELITY / "office" / name).read_bytes(), filename=name)
        assert r.is_report and r.status == "not_parsed" and r.facts == []
        (f,) = r.findings
        assert f.rule == "converter.missing" and "soffice" in f.message and r.unread == f.message
        if not name.endswith("rtf.doc"):
            assert "antiword" in f.message and "catdoc" in f.message


def test_without_libreoffice_catdoc_still_reads_table_three(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    exp = _exp(FIDELITY / "office" / "report-2020.doc")
    monkeypatch.setenv("PATH", _path_with(tmp_path, ("catdoc", "antiword")))
    r = extract(_doc_bytes(), filename="report-2020.doc")
    want = {("t3", row, col): v for row, cols in exp["t3"].items() for col, v in cols.items()}
    assert {k: v for k, v in r.fact_map().items() if k[0] == "t3"} == want
    assert all(t.source == "doc" for t in r.tables)


def test_a_hanging_converter_is_killed_at_its_timeout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A converter that never returns (and leaves a child behind) is killed with its process group; the next one is
    tried, and when none is left the report is not_parsed with each tool's error."""
    from extractors import officedoc

    d = tmp_path / "bin"
    d.mkdir()
    marker = tmp_path / "child.pid"
    script = d / "antiword"
    script.write_text(f"#!/bin/sh\n/bin/sleep 60 &\necho $! > {marker}\nwait\n")  # PATH holds only this script
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(d))
    monkeypatch.setitem(officedoc.TIMEOUT_S, "antiword", 0.5)
    r = extract(_doc_bytes(), filename="x.doc")
    assert r.status == "not_parsed" and [f.rule for f in r.findings] == ["converter.failed"]
    assert "antiword: timed out after 0.5 s" in r.unread
    child = int(marker.read_text())
    stat_file = Path(f"/proc/{child}/stat")
    # the grandchild was killed with the group: gone, or a zombie waiting for a reaper (no init reaps in a container).
    # SIGKILL is delivered asynchronously, so give the kernel a moment before reading its state.
    deadline = time.monotonic() + 5.0
    while True:
        try:
            state = stat_file.read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            state = "gone"
        if state in ("gone", "Z", "X") or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert state in ("gone", "Z", "X"), state


def test_a_broken_doc_is_not_parsed_never_an_exception() -> None:
    data = _doc_bytes()
    broken = data[:512] + bytes(len(data) - 512)  # the OLE header survives, every sector is zeros
    r = extract(broken, filename="broken.doc")
    assert r.is_report and r.status == "not_parsed" and [f.rule for f in r.findings] == ["converter.failed"]


def test_a_hostile_name_never_reaches_the_converter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The converters run on a file named by us in a private temp dir: nothing is written next to the name."""
    monkeypatch.chdir(tmp_path)
    r = extract(_doc_bytes(), filename="../../../tmp/$(touch pwned)`touch pwned2`.doc")
    assert r.status == "ok" and not list(tmp_path.iterdir())


def test_ole_sniffing_by_stream_not_by_name() -> None:
    from extractors.decode import sniff_kind

    doc = _doc_bytes()
    assert sniff_kind(doc, filename="x.wps") == sniff_kind(doc, filename="download.jsp") == "doc"
    assert sniff_kind((FIDELITY / "office" / "report-2021-rtf.doc").read_bytes(), filename="x.doc") == "rtf"
    with pytest.raises(UnreadableInput):  # an OLE file that is neither Word nor Excel
        extract(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000), filename="x.ppt")


# ----------------------------------------------------------------------------------------- no silent zeros


def _no_t3_is_never_ok(r) -> None:
    assert r.is_report
    assert not any(f.table == "t3" for f in r.facts)
    assert r.status in ("not_parsed", "malformed")
    assert r.unread or any(f.severity == "error" for f in r.findings)


def test_no_silent_zeros_html_text_docx_xlsx_pdf() -> None:
    """One report without tables through every reader: never ``ok`` (the .doc rendering is the fixture
    office/no-tables-2021.doc; image tables, attachment-only pages and scanned pages are tested above)."""
    from producers.office import SECTIONS_ONLY as _SECTIONS_ONLY
    from sample_portal.attachments import make_docx, make_pdf

    html = "<html><body><h1>{}</h1>{}</body></html>".format(_SECTIONS_ONLY[0], "".join(f"<p>{t}</p>" for t in _SECTIONS_ONLY[1:]))
    _no_t3_is_never_ok(extract(html.encode()))
    _no_t3_is_never_ok(extract("\n".join(_SECTIONS_ONLY).encode(), filename="r.txt"))
    _no_t3_is_never_ok(extract(make_docx(_SECTIONS_ONLY, title=_SECTIONS_ONLY[0]), filename="r.docx"))
    _no_t3_is_never_ok(extract(make_pdf(_SECTIONS_ONLY, title=_SECTIONS_ONLY[0]), filename="r.pdf"))
    import openpyxl

    wb = openpyxl.Workbook()  # a workbook holding table 四 only (table 三 on a sheet that was not uploaded)
    ws = wb.active
    ws.append([_SECTIONS_ONLY[0]])
    ws.append(["行政复议"] * 5 + ["行政诉讼"] * 10)
    ws.append(["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] + ["未经复议直接起诉"] * 5 + ["复议后起诉"] * 5)
    ws.append([""] * 5 + ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] * 2)
    ws.append([0] * 15)
    buf = io.BytesIO()
    wb.save(buf)
    r = extract(buf.getvalue(), filename="r.xlsx")
    assert any(f.table == "t4" for f in r.facts)
    _no_t3_is_never_ok(r)


# ----------------------------------------------------------------------------------------- warehouse


def test_the_warehouse_stores_legacy_facts_and_unread_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A legacy report's facts (tbl = legacy) and sections (7 = 收费及减免) load into a real DuckDB unchanged; a report
    we could not read is stored as not_parsed with its reason."""
    from warehouse import load_run, open_writer
    from warehouse import synthetic as s

    exp, legacy = _legacy_report("legacy-2018-annex-table.html")
    monkeypatch.setenv("PATH", _path_with(tmp_path, ()))  # no converter: the .doc is a report we could not read
    unread = extract(_doc_bytes(), filename="a.doc")
    docs = [s.document(legacy, "http://a/legacy2018.html"), s.document(unread, "http://a/att.doc")]
    with open_writer(tmp_path / "ogi.duckdb", 5) as wh:
        load_run(wh, s.run_input("r1", docs))
        facts = dict(wh.execute("SELECT f.row_key, f.value FROM analytics.facts f JOIN analytics.reports r USING (report_id) "
                                "WHERE r.url = 'http://a/legacy2018.html' AND f.tbl = 'legacy'").fetchall())
        sections = [n for (n,) in wh.execute("SELECT number FROM sections ORDER BY number").fetchall()]
        statuses = dict(wh.execute("SELECT url, status FROM analytics.reports").fetchall())
    assert facts == exp["legacy"] and 7 in sections
    assert statuses == {"http://a/legacy2018.html": "ok", "http://a/att.doc": "not_parsed"}


# ----------------------------------------------------------------------------------------- non-report kinds


def test_decoy_kinds_do_not_swallow_reports() -> None:
    from producers.office import official_html
    from sample_portal.reportgen import ReportSpec

    spec = ReportSpec("某某县", "县人民政府", 2020, "2019", 61)
    page = official_html(spec).decode()
    # "关于印发…年度报告的通知" wraps the report itself: a report, whereas a notice about compiling them is not
    wrapped = page.replace(f"<h1>{spec.title}</h1>", f"<h1>关于印发{spec.title}的通知</h1>")
    r = extract(wrapped.encode())
    assert r.is_report and r.document_kind == "report" and r.status == "ok"
    # a 图片版 report page that redirects mobile browsers from a script is not a WAF challenge
    img = ("<html><body><h1>某某县2020年政府信息公开工作年度报告</h1><img src='/a/t3.jpg'>"
           "<script>if (/Mobile/.test(navigator.userAgent)) location.href = '/m/';</script></body></html>")
    r = extract(img.encode())
    assert r.is_report and r.status == "not_parsed" and "images" in r.unread
    for title, kind in (("关于报送2019年度政府信息公开工作年度报告的通知", "notice"), ("2021年政务公开工作要点", "plan"),
                        ("某某县2020年政府信息公开工作年度报告解读", "interpretation")):
        r = extract(page.replace(f"<h1>{spec.title}</h1>", f"<h1>{title}</h1>").replace(
            f"<title>{spec.title}_", f"<title>{title}_").encode())
        assert not r.is_report and r.document_kind == kind and r.facts == [], (title, r.reason)
