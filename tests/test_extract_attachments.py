"""PDF and DOCX reports: built here (python-docx; a minimal hand-written PDF with ruled tables)."""

from __future__ import annotations

import io
import zipfile

import pytest

from extractors import UnreadableInput, extract

T3_LABELS = [
    ("new_received", "一、本年新收政府信息公开申请数量"), ("carried_over", "二、上年结转政府信息公开申请数量"),
    ("granted", "（一）予以公开"), ("partially_granted", "（二）部分公开"), ("denied_state_secret", "1.属于国家秘密"),
    ("denied_prohibited_by_law", "2.其他法律行政法规禁止公开"), ("denied_security_stability", "3.危及“三安全一稳定”"),
    ("denied_third_party", "4.保护第三方合法权益"), ("denied_internal_affairs", "5.属于三类内部事务信息"),
    ("denied_process_info", "6.属于四类过程性信息"), ("denied_enforcement_file", "7.属于行政执法案卷"),
    ("denied_query_matter", "8.属于行政查询事项"), ("unable_not_held", "1.本机关不掌握相关政府信息"),
    ("unable_needs_creation", "2.没有现成信息需要另行制作"), ("unable_unclear", "3.补正后申请内容仍不明确"),
    ("rejected_complaint", "1.信访举报投诉类申请"), ("rejected_duplicate", "2.重复申请"), ("rejected_publication", "3.要求提供公开出版物"),
    ("rejected_massive", "4.无正当理由大量反复申请"), ("rejected_confirmation", "5.要求行政机关确认或重新出具已获取信息"),
    ("other", "（六）其他处理"), ("total_handled", "（七）总计"), ("carried_forward", "四、结转下年度继续办理"),
]
COLS = ["natural_person", "commercial", "research", "public_interest", "legal_service", "other_org", "total"]
HEAD = ["", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]


def _values() -> dict[str, list[int]]:
    v = {k: [0] * 7 for k, _ in T3_LABELS}
    v["granted"] = [3, 1, 0, 0, 0, 0, 4]
    v["unable_not_held"] = [2, 0, 0, 0, 0, 0, 2]
    v["total_handled"] = [5, 1, 0, 0, 0, 0, 6]
    v["new_received"] = [6, 1, 0, 0, 0, 0, 7]
    v["carried_forward"] = [1, 0, 0, 0, 0, 0, 1]
    return v


TEXT = ["某县城管局2020年政府信息公开工作年度报告", "本报告统计期限为2020年1月1日至2020年12月31日。", "一、总体情况",
        "全年共收到政府信息公开申请7件。", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况"]
TAIL = ["四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "公开质量有待提高。", "六、其他需要报告的事项", "无。"]


def make_docx() -> bytes:
    import docx

    d = docx.Document()
    d.core_properties.title = TEXT[0]
    for line in TEXT:
        d.add_paragraph(line)
    v = _values()
    t = d.add_table(rows=len(T3_LABELS) + 1, cols=8)
    for j, h in enumerate(HEAD):
        t.cell(0, j).text = h
    for i, (key, label) in enumerate(T3_LABELS, 1):
        t.cell(i, 0).text = label
        for j, x in enumerate(v[key], 1):
            t.cell(i, j).text = str(x)
    d.add_paragraph(TAIL[0])
    t4 = d.add_table(rows=4, cols=15)
    t4.cell(0, 0).merge(t4.cell(0, 4)).text = "行政复议"
    t4.cell(0, 5).merge(t4.cell(0, 14)).text = "行政诉讼"
    t4.cell(1, 5).merge(t4.cell(1, 9)).text = "未经复议直接起诉"
    t4.cell(1, 10).merge(t4.cell(1, 14)).text = "复议后起诉"
    for j, lab in enumerate(["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]):
        t4.cell(1, j).merge(t4.cell(2, j)).text = lab
        t4.cell(2, 5 + j).text = lab
        t4.cell(2, 10 + j).text = lab
    for j in range(15):
        t4.cell(3, j).text = "1" if j in (0, 4) else "0"
    for line in TAIL[1:]:
        d.add_paragraph(line)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _pdf(ops: list[str], title: str) -> bytes:
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [6 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light-UniGB-UCS2-H /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [4 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) "
        b"/Ordering (GB1) /Supplement 4 >> /FontDescriptor 7 0 R /DW 1000 >>",
    ]
    stream = "\n".join(ops).encode("ascii")
    objs.append(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
    objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 842 1191] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>")
    objs.append(b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 "
                b"/Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>")
    objs.append(b"<< /Title <FEFF" + title.encode("utf-16-be").hex().upper().encode() + b"> >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + o + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode())
    for o in offs:
        out.write(f"{o:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R /Info 8 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def make_pdf() -> bytes:
    """One page: text lines, then table 三 as a ruled grid (label column + 7 values), then the rest."""
    ops: list[str] = []

    def text(x: float, y: float, s: str, size: int = 9) -> None:
        ops.append(f"BT /F1 {size} Tf {x:.1f} {y:.1f} Td <{s.encode('utf-16-be').hex().upper()}> Tj ET")

    y = 1150
    for line in TEXT:
        text(40, y, line, 12)
        y -= 20
    v = _values()
    rows = [HEAD] + [[label] + [str(x) for x in v[key]] for key, label in T3_LABELS]
    widths = [300] + [60] * 7
    row_h = 18
    top = y - 5
    for i, row in enumerate(rows):
        x = 40
        for j, cell in enumerate(row):
            ops.append(f"{x} {top - (i + 1) * row_h} {widths[j]} {row_h} re S")
            if cell:
                text(x + 3, top - (i + 1) * row_h + 5, cell, 8)
            x += widths[j]
    y = top - (len(rows) + 1) * row_h - 10
    for line in TAIL:
        text(40, y, line, 12)
        y -= 20
    return _pdf(ops, TEXT[0])


def _check_t3(r) -> None:
    v = _values()
    for key, _ in T3_LABELS:
        for j, col in enumerate(COLS):
            assert r.fact_map()[("t3", key, col)] == v[key][j], (key, col)


def test_docx_report() -> None:
    r = extract(make_docx(), filename="report.docx")
    assert r.is_report and r.title == TEXT[0] and r.year == 2020 and r.template == "2019"
    assert [s.number for s in r.sections] == [1, 2, 3, 4, 5, 6]
    _check_t3(r)
    t4 = {k: v for k, v in r.fact_map().items() if k[0] == "t4"}
    assert len(t4) == 15 and t4[("t4", "review", "upheld")] == 1 and t4[("t4", "review", "total")] == 1
    assert sum(t4.values()) == 2
    assert not [f for f in r.findings if f.severity == "error"], r.findings


def test_pdf_report() -> None:
    r = extract(make_pdf(), filename="report.pdf")
    assert r.is_report, r.reason
    assert r.title == TEXT[0] and r.year == 2020
    assert [s.number for s in r.sections] == [1, 2, 3, 4, 5, 6]
    _check_t3(r)
    assert {f.rule for f in r.findings} == {"table.missing"}  # no table 四 in this PDF


def test_broken_pdf_and_zip_bomb() -> None:
    with pytest.raises(UnreadableInput, match="PDF"):
        extract(b"%PDF-1.4\n" + b"garbage" * 100)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b"<" + b" " * (20 * 1024 * 1024) + b">")
    with pytest.raises(UnreadableInput, match="zip bomb"):
        extract(buf.getvalue(), filename="bomb.docx")


def test_xlsx_report_tables() -> None:
    """A report published as a spreadsheet: title row, table 三 with a merged group cell."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某县水利局2021年政府信息公开工作年度报告"])
    ws.append(["", "", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"])
    v = _values()
    for key, label in T3_LABELS:
        group = "（三）不予公开" if key.startswith("denied") else ""
        ws.append([group, label] + v[key])
    ws.merge_cells(start_row=7, start_column=1, end_row=14, end_column=1)  # the 8 denied rows
    buf = io.BytesIO()
    wb.save(buf)
    r = extract(buf.getvalue(), filename="nb.xlsx")
    assert r.is_report and r.title == "某县水利局2021年政府信息公开工作年度报告" and r.year == 2021
    _check_t3(r)
    assert r.template == "2019"  # single （六） row, no other markers


# ---------------------------------------------------------------- table 二 in a PDF: shaded prose, page break

T2_TEXT = ["某区人民政府2023年政府信息公开工作年度报告", "一、总体情况", "全年主动公开政府信息1136条。",
           "二、主动公开政府信息情况"]
T2_TAIL = ["三、收到和处理政府信息公开申请情况", "全年收到申请21件。", "四、政府信息公开行政复议、行政诉讼情况",
           "五、存在的主要问题及改进情况", "公开质量有待提高。", "六、其他需要报告的事项", "无。"]
#: table 二 rows per page: a row is (cells, widths); page 1 ends with block （六）'s label row, its header
#: and rows open page 2 (as in 洪泽区 2023)
_T2_W4 = [200, 110, 110, 110]
_T2_W2 = [200, 330]
T2_PAGE1 = [(["第二十条第（一）项"], [530]), (["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"], _T2_W4),
            (["规章", "0", "0", "0"], _T2_W4), (["行政规范性文件", "0", "5", "5"], _T2_W4),
            (["第二十条第（五）项"], [530]), (["信息内容", "本年处理决定数量"], _T2_W2), (["行政许可", "550"], _T2_W2),
            (["第二十条第（六）项"], [530])]
T2_PAGE2 = [(["信息内容", "本年处理决定数量"], _T2_W2), (["行政处罚", "4119"], _T2_W2), (["行政强制", "195"], _T2_W2),
            (["第二十条第（八）项"], [530]), (["信息内容", "本年收费金额（单位：万元）"], _T2_W2),
            (["行政事业性收费", "7730.28"], _T2_W2)]
T2_EXPECTED = {
    ("regulations", "issued"): 0, ("regulations", "repealed"): 0, ("regulations", "in_force"): 0,
    ("normative_documents", "issued"): 0, ("normative_documents", "repealed"): 5, ("normative_documents", "in_force"): 5,
    ("administrative_license", "decisions"): 550, ("administrative_penalty", "decisions"): 4119,
    ("administrative_coercion", "decisions"): 195, ("administrative_fees", "amount_10k_yuan"): 7730.28,
}


def _pdf_pages(pages: list[list[str]], title: str) -> bytes:
    """A multi-page variant of :func:`_pdf` (same font objects; pages are objects 9, 11, … with contents 10, 12, …)."""
    n = len(pages)
    page_ids = [9 + 2 * i for i in range(n)]
    objs: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [" + b" ".join(f"{p} 0 R".encode() for p in page_ids) + b"] /Count "
           + str(n).encode() + b" >>",
        3: b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light-UniGB-UCS2-H /Encoding /UniGB-UCS2-H "
           b"/DescendantFonts [4 0 R] >>",
        4: b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) "
           b"/Ordering (GB1) /Supplement 4 >> /FontDescriptor 7 0 R /DW 1000 >>",
        5: b"<< >>", 6: b"<< >>",
        7: b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 "
           b"/Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
        8: b"<< /Title <FEFF" + title.encode("utf-16-be").hex().upper().encode() + b"> >>",
    }
    for i, ops in enumerate(pages):
        stream = "\n".join(ops).encode("ascii")
        objs[page_ids[i]] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
                             f"/Contents {page_ids[i] + 1} 0 R >>").encode()
        objs[page_ids[i] + 1] = b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offs = []
    for i in range(1, len(objs) + 1):
        offs.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + objs[i] + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode())
    for o in offs:
        out.write(f"{o:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R /Info 8 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def make_t2_pdf() -> bytes:
    """Two pages imitating a WPS export: every prose line sits on a white shading rectangle (filled, not
    stroked, stacked edge to edge down to the table's top rule), table 二 is stroked and broken by the page
    after block （六）'s label row."""
    x0, width, row_h = 40.0, 530.0, 24.0

    def text(ops: list[str], x: float, y: float, s: str, size: int = 10) -> None:
        ops.append(f"BT /F1 {size} Tf {x:.1f} {y:.1f} Td <{s.encode('utf-16-be').hex().upper()}> Tj ET")

    def prose(ops: list[str], lines: list[str], top: float, shaded: bool) -> float:
        for line in lines:
            if shaded:
                ops.append(f"1 1 1 rg {x0:.1f} {top - row_h:.1f} {width:.1f} {row_h:.1f} re f 0 0 0 rg")
            text(ops, x0 + 4, top - row_h + 7, line, 12)
            top -= row_h
        return top

    def table(ops: list[str], rows: list[tuple[list[str], list[int]]], top: float) -> float:
        for cells, widths in rows:
            x = x0
            for cell, w in zip(cells, widths):
                ops.append(f"{x:.1f} {top - row_h:.1f} {w} {row_h:.1f} re S")
                text(ops, x + 3, top - row_h + 8, cell, 9)
                x += w
            top -= row_h
        return top

    page1: list[str] = []
    top = prose(page1, T2_TEXT, 800, shaded=True)
    table(page1, T2_PAGE1, top)
    page2: list[str] = []
    top = table(page2, T2_PAGE2, 800)
    prose(page2, T2_TAIL, top - 20, shaded=False)
    return _pdf_pages([page1, page2], T2_TEXT[0])


def test_pdf_table2_under_shaded_prose_and_across_a_page_break() -> None:
    """pdfplumber reads stacked shading rectangles as table rows: the prose above table 二 and the table
    came back as one "table" of single-cell rows, rejected as prose, so blocks （一）（五） were lost; block
    （六）'s label at the foot of page 1 must carry over to its header and rows on page 2."""
    r = extract(make_t2_pdf(), filename="report.pdf")
    assert r.is_report, r.reason
    assert [s.number for s in r.sections] == [1, 2, 3, 4, 5, 6]
    t2 = {(row, col): v for (t, row, col), v in r.fact_map().items() if t == "t2"}
    assert t2 == T2_EXPECTED
    # the prose stays text (section 一 keeps its sentence; the heading of section 二 was found above)
    assert "1136" in r.sections[0].text
