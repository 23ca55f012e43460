"""Generated reports: consistent arithmetic, the official table layouts, and the extractor reads them back."""

from __future__ import annotations

import io

import httpx
import lxml.html
import pytest

from sample_portal import reportgen
from sample_portal.reportgen import APPLICANTS, T3_COLS, T4_COLS, T4_ROWS, ReportSpec, make_facts, t3_outcome_rows


def _grid(table) -> list[list[str]]:
    """Expand rowspan/colspan into a rectangular grid of cell texts."""
    grid: list[list[str]] = []
    pending: dict[tuple[int, int], str] = {}
    for r, tr in enumerate(table.xpath("./tbody/tr | ./tr")):
        row: list[str] = []
        c = 0
        cells = list(tr.xpath("./td | ./th"))
        while cells or (r, c) in pending:
            if (r, c) in pending:
                row.append(pending.pop((r, c)))
                c += 1
                continue
            td = cells.pop(0)
            text = "".join(td.text_content().split())
            rs, cs = int(td.get("rowspan", 1)), int(td.get("colspan", 1))
            for dc in range(cs):
                row.append(text)
                for dr in range(1, rs):
                    pending[(r + dr, c + dc)] = text
            c += cs
        grid.append(row)
    return grid


def _tables(spec: ReportSpec):
    doc = lxml.html.fromstring(reportgen.render_body(spec))
    return doc.xpath("//table[@class='MsoNormalTable']")


@pytest.mark.parametrize("template", ["2019", "2021"])
@pytest.mark.parametrize("seed", range(12))
def test_numbers_satisfy_every_official_relation(template, seed):
    f = make_facts(template, seed)
    outcomes = t3_outcome_rows(template)
    for col in T3_COLS:
        assert f[("t3", "new_received", col)] + f[("t3", "carried_over", col)] == \
            f[("t3", "total_handled", col)] + f[("t3", "carried_forward", col)]  # R1
        assert f[("t3", "total_handled", col)] == sum(f[("t3", r, col)] for r in outcomes)  # R3
    for row in ["new_received", "carried_over", *outcomes, "total_handled", "carried_forward"]:
        assert f[("t3", row, "total")] == sum(f[("t3", row, c)] for c in APPLICANTS)  # R2
    for row in T4_ROWS:
        assert f[("t4", row, "total")] == sum(f[("t4", row, c)] for c in T4_COLS[:4])  # R4
    assert all(v >= 0 for k, v in f.items() if k[2] != "change")


def test_malformed_report_breaks_only_the_balance():
    f = make_facts("2021", 5, malformed=True)
    for col in T3_COLS:
        lhs = f[("t3", "new_received", col)] + f[("t3", "carried_over", col)]
        rhs = f[("t3", "total_handled", col)] + f[("t3", "carried_forward", col)]
        assert (lhs != rhs) == (col in ("natural_person", "total"))
    assert f[("t3", "new_received", "total")] == sum(f[("t3", "new_received", c)] for c in APPLICANTS)


@pytest.mark.parametrize("template,rows", [("2019", 23), ("2021", 25)])
def test_table_three_and_four_follow_the_official_form(template, rows):
    spec = ReportSpec("清河县", "县教育局", 2022 if template == "2021" else 2020, template, seed=11)
    t2, t3, t4 = _tables(spec)
    g3 = _grid(t3)
    assert len(g3) == 3 + rows and all(len(r) == 10 for r in g3)
    assert g3[0][3] == "申请人情况" and g3[1][3] == "自然人" and g3[2][4:9] == ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]
    assert g3[5][0] == "三、本年度办理结果" and g3[-2][0] == "三、本年度办理结果" and g3[-2][2] == "（七）总计"
    assert g3[7][1] == "（三）不予公开" and g3[14][1] == "（三）不予公开"  # rowspan group cell
    data = {r[2]: [int(x) for x in r[3:]] for r in g3[3:]}
    assert data["一、本年新收政府信息公开申请数量"] == [spec.facts[("t3", "new_received", c)] for c in T3_COLS]
    assert "<o:p>" in lxml.html.tostring(t3, encoding="unicode") or "o:p" in reportgen.render_body(spec)
    g4 = _grid(t4)
    assert len(g4) == 4 and all(len(r) == 15 for r in g4)
    assert g4[0][0] == "行政复议" and g4[0][5] == "行政诉讼" and g4[1][5] == "未经复议直接起诉" and g4[1][10] == "复议后起诉"
    assert [int(x) for x in g4[3]] == [spec.facts[("t4", r, c)] for r in T4_ROWS for c in T4_COLS]
    g2 = _grid(t2)
    assert g2[0][0] == "第二十条第（一）项"
    marker = "本年制发件数" if template == "2021" else "本年新制作数量"
    assert marker in g2[1]
    assert ("第二十条第（九）项" in [r[0] for r in g2]) == (template == "2019")


def test_rendering_is_deterministic_and_word_like():
    a = ReportSpec("东山县", "城关镇人民政府", 2021, "2021", seed=3)
    b = ReportSpec("东山县", "城关镇人民政府", 2021, "2021", seed=3)
    html_a = reportgen.render_body(a)
    assert html_a == reportgen.render_body(b)
    assert 'class="MsoNormalTable"' in html_a and 'class="MsoNormal"' in html_a and "<o:p></o:p>" in html_a
    assert a.title == "东山县城关镇人民政府2021年政府信息公开工作年度报告"
    revised = ReportSpec("东山县", "城关镇人民政府", 2021, "2021", seed=3, revision=1)
    assert revised.facts != a.facts and reportgen.render_body(revised) != html_a


def test_every_generated_report_extracts_with_the_intended_numbers(sample_portal):
    """Integration with the extraction engine: fetched over HTTP (GBK portals included)."""
    import extractors

    checked = 0
    with httpx.Client(timeout=10) as http:
        for e in sample_portal.expected_reports():
            r = http.get(e.url)
            report = extractors.extract(r.content, url=e.url, content_type=r.headers.get("content-type"))
            spec = sample_portal.entry_for(e.url).spec()
            assert report.is_report, (e.url, report.reason)
            if e.attachment_url:
                att = http.get(e.attachment_url)
                rep2 = extractors.extract(att.content, url=e.attachment_url, content_type=att.headers["content-type"])
                assert rep2.is_report and rep2.year == spec.year
                continue
            if e.image_only:
                assert len(report.images) == 3 or "图片版" in report.title
                continue
            assert report.year == spec.year, e.url
            assert report.template == spec.template, e.url
            if spec.template == "legacy":
                continue
            got = report.fact_map()
            wrong = {k: (v, got.get(k)) for k, v in reportgen.expected_facts(spec).items() if got.get(k) != v}
            assert not wrong, (e.url, list(wrong.items())[:5])
            balance = [f for f in report.findings if f.rule.startswith("t3")]
            assert bool(balance) == spec.malformed, (e.url, [f.rule for f in report.findings])
            checked += 1
    assert checked >= 40


def test_pdf_attachment_text_is_extractable():
    import pdfplumber

    from sample_portal.attachments import make_pdf

    lines = [f"第{i}行：清河县2021年政府信息公开工作年度报告" for i in range(85)]
    pdf = make_pdf(lines, title="t")
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert len(doc.pages) == 2  # 46 lines of 10.5pt text per A4 page
        got = [line for page in doc.pages for line in page.extract_text().splitlines()]
    assert got == lines


# ---------------------------------------------------------------------------------------- attachments


def _t3_t4(facts) -> dict:
    return {k: v for k, v in facts.items() if k[0] in ("t3", "t4")}


def _check_full_report(report, spec: ReportSpec, where: str) -> None:
    """The attachment carries the same report as the spec: title, year, template, six sections, every number."""
    assert report.is_report, (where, report.reason)
    assert (report.year, report.template, report.title) == (spec.year, spec.template, spec.title), where
    assert [s.number for s in report.sections] == [1, 2, 3, 4, 5, 6], where
    got = report.fact_map()
    want = reportgen.expected_facts(spec)
    rows = len(t3_outcome_rows(spec.template)) + 4  # + 一、二、（七）总计、四
    assert rows == (25 if spec.template == "2021" else 23)
    assert len(_t3_t4(want)) == rows * 7 + 15
    assert _t3_t4(got) == _t3_t4(want), where  # all of table 三 (rows × 7) and table 四 (15), nothing extra
    wrong = {k: (v, got.get(k)) for k, v in want.items() if got.get(k) != v}
    assert not wrong, (where, list(wrong.items())[:5])  # table 二 too
    errors = [f.rule for f in report.findings if f.severity == "error"]
    balance = [f.rule for f in report.findings if f.rule.startswith("t3")]
    assert bool(balance) == spec.malformed, (where, [f.rule for f in report.findings])
    if not spec.malformed:
        assert not errors and not [f for f in report.findings if f.rule == "table.missing"], (where, report.findings)


@pytest.mark.parametrize("kind", ["pdf", "docx"])
@pytest.mark.parametrize("template,year,flags", [
    ("2021", 2022, {}), ("2019", 2020, {}), ("2021", 2021, {"blank_zeros": True}), ("2021", 2023, {"malformed": True}),
])
def test_attachment_files_carry_the_full_report(kind, template, year, flags):
    """Built straight from a spec (all template variants, blank zero cells, the deliberately broken balance)."""
    import extractors
    from sample_portal import attachments, reportdoc

    spec = ReportSpec("清河县", "县卫生健康局", year, template, seed=year + len(flags), **flags)
    blocks = reportdoc.report_blocks(spec)
    make = attachments.make_pdf if kind == "pdf" else attachments.make_docx
    data = make(blocks, title=spec.title)
    assert data == make(reportdoc.report_blocks(spec), title=spec.title)  # deterministic bytes (ETags rely on it)
    assert len(data) < 60_000
    report = extractors.extract(data, filename=f"report.{kind}")
    _check_full_report(report, spec, f"{kind} {template} {flags}")


def test_report_blocks_are_the_html_report():
    """The attachments are written from the same report as the page: same paragraphs, same span-expanded tables."""
    from sample_portal import reportdoc
    from sample_portal.reportdoc import SpanTable

    spec = ReportSpec("清河县", "县教育局", 2022, "2021", seed=11)
    blocks = reportdoc.report_blocks(spec)
    tables = [b for b in blocks if isinstance(b, SpanTable)]
    assert [t.grid() for t in tables] == [_grid(t) for t in _tables(spec)]
    texts = [b for b in blocks if isinstance(b, str)]
    assert texts[0] == spec.title and texts[-1].endswith("无其他需要报告的事项。")
    assert [t for t in texts if t[:2] in ("一、", "二、", "三、", "四、", "五、", "六、")] == [
        "一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项"]
    t3 = tables[1]
    assert (t3.n_rows, t3.n_cols) == (28, 10)
    merged = {c.text: (c.rowspan, c.colspan) for c in t3.cells if c.rowspan > 1 or c.colspan > 1}
    assert merged["三、本年度办理结果"] == (22, 1) and merged["（三）不予公开"] == (8, 1) and merged["申请人情况"] == (1, 7)


def test_docx_tables_are_word_tables_with_merged_group_cells():
    import docx

    from sample_portal import attachments, reportdoc

    spec = ReportSpec("南岭县", "县财政局", 2022, "2021", seed=4)
    d = docx.Document(io.BytesIO(attachments.make_docx(reportdoc.report_blocks(spec), title=spec.title)))
    assert d.core_properties.title == spec.title and len(d.tables) == 3
    t3 = d.tables[1]
    xml = t3._tbl.xml
    assert "w:gridSpan" in xml and 'w:vMerge w:val="restart"' in xml  # real merges, not repeated text
    assert len(t3.rows) == 28 and len(t3.columns) == 10
    assert [c.text for c in t3.rows[8].cells[:3]] == ["三、本年度办理结果", "（三）不予公开", "2.其他法律行政法规禁止公开"]
    assert [int(c.text) for c in t3.rows[3].cells[3:]] == [spec.facts[("t3", "new_received", c)] for c in T3_COLS]


def test_pdf_tables_are_ruled_grids_pdfplumber_finds():
    import pdfplumber

    from sample_portal import attachments, reportdoc

    spec = ReportSpec("清河县", "县卫生健康局", 2020, "2019", seed=8)
    pdf = attachments.make_pdf(reportdoc.report_blocks(spec), title=spec.title)
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert doc.metadata["Title"] == spec.title
        grids = [t.extract() for page in doc.pages for t in page.find_tables()]
    assert [(len(g), len(g[0])) for g in grids] == [(18, 4), (26, 10), (4, 15)]  # tables 二, 三 (2019: 23 rows), 四
    t3 = grids[1]
    assert t3[5][0].replace("\n", "") == "三、本年度办理结果" and t3[6][0] is None  # a merged group cell, as in Word-exported PDFs
    assert [int(x) for x in grids[2][3]] == [spec.facts[("t4", r, c)] for r in T4_ROWS for c in T4_COLS]


def test_every_served_attachment_extracts_as_the_full_report(sample_portal):
    """Over HTTP, as a crawler gets them: the PDF-only, DOCX-only and directly listed PDF reports."""
    import extractors

    kinds = []
    with httpx.Client(timeout=10) as http:
        for e in sample_portal.expected_reports():
            if not e.attachment_url:
                continue
            r = http.get(e.attachment_url)
            assert r.status_code == 200
            report = extractors.extract(r.content, url=e.attachment_url, content_type=r.headers["content-type"])
            spec = sample_portal.entry_for(e.attachment_url).spec()
            assert spec.template == e.template and spec.malformed == e.malformed
            _check_full_report(report, spec, e.attachment_url)
            kinds.append((e.attachment_url.rsplit(".", 1)[1], e.direct))
        assert sorted(kinds) == [("docx", False), ("pdf", False), ("pdf", True)]

        # A revised attachment-only report is served with the revised numbers.
        e = next(x for x in sample_portal.expected_reports() if x.direct)
        before = http.get(e.attachment_url).content
        sample_portal.revise_report(e.portal_id, url=e.attachment_url)
        after = http.get(e.attachment_url).content
        spec = sample_portal.entry_for(e.attachment_url).spec()
        assert after != before and spec.revision == 1
        _check_full_report(extractors.extract(after, url=e.attachment_url), spec, "revised")
