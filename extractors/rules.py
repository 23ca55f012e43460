"""Quality rules: the official arithmetic (勾稽关系) and completeness checks.

Every rule has a stable id (never renamed: the warehouse and alerts key on it), a severity and a
bilingual description in :data:`RULES`.  :func:`validate` reports *all* findings, each with the
expected and actual numbers and the table/row/column it is about.  The arithmetic is derived from
the canonical keys of :mod:`extractors.formats`, so a new row there is checked without code here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractors import metadata as md
from extractors.formats import SECTIONS, TABLES
from extractors.model import Fact, Finding, Report, Severity
from extractors.numbers import parse_cell


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    zh: str
    en: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("t3.balance", "error", "表三每列：一（本年新收）+ 二（上年结转）= 三（七）总计 + 四（结转下年度继续办理）",
             "Table 3, per column: new + carried over = total handled (七) + carried forward (R1, printed on the form)"),
        Rule("t3.row_total", "error", "表三每行：总计 = 自然人 + 五类法人或其他组织之和",
             "Table 3, per row: total = natural persons + the five organisation columns (R2)"),
        Rule("t3.handled_sum", "error", "表三每列：（七）总计 = （一）至（六）各办理结果行之和",
             "Table 3, per column: (七) total handled = sum of all handling rows (一)…(六) (R3)"),
        Rule("t4.block_total", "error", "表四每组：总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结",
             "Table 4, per block: total = upheld + corrected + other + pending (R4)"),
        Rule("value.negative", "error", "数值为负（本年增/减除外）", "Negative value (except 本年增/减)"),
        Rule("value.non_integer", "error", "件数不是整数", "A count that is not an integer"),
        Rule("value.unreadable", "warning", "数值单元格无法读取为数字", "A value cell that cannot be read as a number"),
        Rule("value.implicit_zero", "info", "空白单元格按 0 处理", "Blank cell read as 0"),
        Rule("value.not_applicable", "info", "单元格为“/”“—”等，视为不适用", "Cell printed as '/', '—' …: not applicable"),
        Rule("cells.decoded", "warning", "文本表格的单元格粘连或空白丢失，已按表格勾稽关系唯一还原",
             "Cells of a text-laid row ran together or lost their blanks; the only split satisfying the table's totals was taken"),
        Rule("cells.ambiguous", "warning", "文本表格的单元格粘连或空白丢失，无法唯一还原，记为不可读（空值）",
             "Cells of a text-laid row ran together or lost their blanks and no unique split exists: recorded unreadable (null)"),
        Rule("section.missing", "warning", "缺少法定章节", "A statutory section is missing"),
        Rule("table.missing", "error", "缺少法定表格（表三或表四）", "A required table (三 or 四) is missing"),
        Rule("table.cells_missing", "warning", "法定表格缺少单元格", "A required table lacks some of its cells"),
        Rule("report.attachment_only", "info", "正文仅提供附件（报告内容在附件中）",
             "The page only links the report as an attachment (PDF/DOC/XLS…); the content is read from the attachment"),
        Rule("pdf.fake_bold", "info", "PDF 中的字形重复绘制（伪粗体），已去重后读取",
             "Glyphs drawn twice at a small offset (an office suite's fake bold): the duplicates were removed before reading"),
        Rule("text.alternate_source", "info", "PDF 文字用第二个文本引擎读取（第一个无法映射字体）",
             "PDF text read with the second text engine (pdfminer) because pdfium could not map the fonts to characters"),
        Rule("text.unmapped_font", "error", "PDF 字体缺少可用的 ToUnicode 映射，文字无法读取",
             "PDF pages whose fonts have no usable ToUnicode map (unmapped glyphs, private-use or garbage characters): not read"),
        Rule("pdf.image_page", "warning", "PDF 页面仅为图片（扫描件），内容未读取",
             "PDF pages that are images only (scans): their content is not read"),
        Rule("pdf.scanned", "error", "扫描版 PDF：没有文字层", "A scanned PDF: image-only pages, no text layer"),
        Rule("ocr.text", "info", "扫描页经 OCR 读取标题和章节文字（不读取数字和表格）",
             "Scanned pages OCR'd (tesseract) for the title and section text only; numbers and tables are never read by OCR"),
        Rule("ocr.unavailable", "warning", "未安装 OCR（tesseract）或 OCR 失败，扫描页未识别",
             "OCR (tesseract) not installed or failed: the scanned pages were not recognised"),
        Rule("table.image", "error", "统计表格以图片形式发布，无法读取（无表三数据时报告为未解析）",
             "Statistics tables published as images (图片版, scanned pages): not readable; without table 三 facts the report is not_parsed"),
        Rule("year.mismatch", "error", "标题年份与正文统计期限年份不一致（以统计期限为准）",
             "The title's year differs from the statistics period stated in the body (the period's year is used)"),
        Rule("text.table_mismatch", "warning", "正文所述申请数、行政复议数与表三、表四不一致",
             "Applications / administrative reviews stated in the text differ from tables 3 / 4"),
        Rule("html.deep_nesting", "warning", "HTML 嵌套过深（超过 200 层），深层的包装标签已移除，文字原位读取",
             "HTML nested deeper than 200 levels: the wrapper tags below that depth were removed, their text read in place"),
        Rule("html.text_lost", "error", "HTML 嵌套过深，无法读取其后的文字",
             "HTML too deeply nested to read: the text after that point is lost"),
        Rule("converter.missing", "warning", "未安装 .doc/.wps 转换工具（antiword、catdoc、LibreOffice），报告未解析",
             "No converter for a legacy office file (.doc/.wps/.rtf) is installed: the report is not_parsed"),
        Rule("converter.failed", "warning", "转换工具无法读取该 .doc/.wps 文件，报告未解析",
             "Every converter failed on the legacy office file (broken, encrypted, timeout): the report is not_parsed"),
        Rule("legacy.no_figures", "warning", "2019年以前的报告未能读取任何统计数字，报告未解析",
             "A pre-2019 report from which no figure could be read: not_parsed, never a report with zero facts"),
        Rule("legacy.mismatch", "warning", "2019年以前的报告正文所述数字与其统计表不一致",
             "A pre-2019 report's text states a figure that differs from its statistics annex (the annex is kept)"),
        Rule("year.template_mismatch", "warning", "统计年度早于2019年，但表格为2019年后的官方格式",
             "The statistics year is before 2019 but the tables follow an official format (2019+): check the year"),
    )
}


def finding(rule: str, message: str, **kw) -> Finding:
    """A finding of ``rule`` with the catalogue's severity (for the engine's guards and the readers' notes)."""
    return Finding(rule, RULES[rule].severity, message, **kw)

def note_findings(notes: list[tuple[str, str]]) -> list[Finding]:
    """What a reader noticed (``Document.notes``) as findings, with the severity of the rule catalogue."""
    return [_finding(rule, message) for rule, message in notes]


_T3_GROUPS = ("result", "denied", "unable", "rejected", "other")
_EPS = 1e-6


def _finding(rule: str, message: str, **kw) -> Finding:
    return Finding(rule, RULES[rule].severity, message, **kw)


def _num(v) -> bool:
    return isinstance(v, (int, float))


def validate(report: Report) -> list[Finding]:
    """All findings of a report (empty for a non-report)."""
    if not report.is_report:
        return []
    out: list[Finding] = []
    official = report.template in ("2019", "2021")
    fm = {(f.table, f.row, f.col): f for f in report.facts}
    out += _value_rules(report.facts)
    if official or any(f.table in ("t3", "t4") for f in report.facts):
        out += _t3_rules(fm)
        out += _t4_rules(fm)
    out += _structure_rules(report, official)
    out += _year_rule(report)
    out += _text_rule(report, fm)
    return out


_SIGNED = {(s.table, c.key) for t in TABLES.values() for s in t.values() for b in s.blocks for c in b.cols if c.signed}
_MONEY = {(s.table, c.key) for t in TABLES.values() for s in t.values() for b in s.blocks for c in b.cols if c.money}


def _value_rules(facts: list[Fact]) -> list[Finding]:
    """Per-cell errors/warnings; the two info rules are one finding each, with the count and the first cell."""
    out: list[Finding] = []
    signed, money = _SIGNED, _MONEY
    na = [f for f in facts if f.value is None and parse_cell(f.raw)[1] == "na"]
    if na:
        out.append(_finding("value.not_applicable", f"{len(na)} cell(s) printed as not applicable ('{na[0].raw}' at "
                            f"{na[0].table}/{na[0].row}/{na[0].col} first): left empty, not 0",
                            actual=float(len(na)), table=na[0].table, row=na[0].row, col=na[0].col))
    zeros = [f for f in facts if f.implicit_zero]
    if zeros:
        out.append(_finding("value.implicit_zero", f"{len(zeros)} blank cell(s) read as 0 (first: {zeros[0].table}/{zeros[0].row}/{zeros[0].col})",
                            actual=float(len(zeros)), table=zeros[0].table, row=zeros[0].row, col=zeros[0].col))
    for f in facts:
        where = f"{f.table}/{f.row}/{f.col}"
        if f.value is None:
            if parse_cell(f.raw)[1] != "na":
                out.append(_finding("value.unreadable", f"{where}: '{f.raw}' is not a number", table=f.table, row=f.row, col=f.col))
            continue
        if f.value < 0 and (f.table, f.col) not in signed:
            out.append(_finding("value.negative", f"{where} = {f.value} is negative", expected=0.0, actual=float(f.value),
                                table=f.table, row=f.row, col=f.col))
        if isinstance(f.value, float) and not f.value.is_integer() and (f.table, f.col) not in money:
            out.append(_finding("value.non_integer", f"{where} = {f.value} is not a whole number", actual=float(f.value),
                                table=f.table, row=f.row, col=f.col))
    return out


def _sum(fm: dict, table: str, rows: list[str], col: str) -> float | None:
    total = 0.0
    for r in rows:
        f = fm.get((table, r, col))
        if f is None or not _num(f.value):
            return None
        total += f.value
    return total


def _check(out: list[Finding], rule: str, expected: float | None, actual_fact: Fact | None, message: str,
           table: str, row: str, col: str) -> None:
    if expected is None or actual_fact is None or not _num(actual_fact.value):
        return
    if abs(expected - actual_fact.value) > _EPS:
        out.append(_finding(rule, f"{message}: expected {_fmt(expected)}, printed {_fmt(actual_fact.value)}",
                            expected=float(expected), actual=float(actual_fact.value), table=table, row=row, col=col))


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _t3_rules(fm: dict) -> list[Finding]:
    out: list[Finding] = []
    rows = []
    seen = set()
    for key in (k[1] for k in fm if k[0] == "t3"):
        if key not in seen:
            seen.add(key)
            rows.append(key)
    if not rows:
        return out
    spec_rows = {r.key: r for t in ("2019", "2021") for r in TABLES[t]["t3"].blocks[0].rows}
    cols = [c.key for c in TABLES["2019"]["t3"].blocks[0].cols]
    applicant_cols = cols[:-1]
    handling = [r for r in rows if spec_rows.get(r) and spec_rows[r].group in _T3_GROUPS]
    for col in cols:
        # R1
        lhs = _sum(fm, "t3", ["new_received", "carried_over"], col)
        rhs = _sum(fm, "t3", ["total_handled", "carried_forward"], col)
        if lhs is not None and rhs is not None and abs(lhs - rhs) > _EPS:
            out.append(_finding("t3.balance", f"t3 column {col}: 一+二 = {_fmt(lhs)} but （七）总计+四 = {_fmt(rhs)}",
                                expected=lhs, actual=rhs, table="t3", row="total_handled", col=col))
        # R3
        _check(out, "t3.handled_sum", _sum(fm, "t3", handling, col), fm.get(("t3", "total_handled", col)),
               f"t3 column {col}: （七）总计 ≠ sum of the {len(handling)} handling rows", "t3", "total_handled", col)
    for row in rows:  # R2
        parts = [fm.get(("t3", row, c)) for c in applicant_cols]
        if any(p is None or not _num(p.value) for p in parts):
            continue
        _check(out, "t3.row_total", float(sum(p.value for p in parts)), fm.get(("t3", row, "total")),
               f"t3 row {row}: 总计 ≠ sum of the six applicant columns", "t3", row, "total")
    return out


def _t4_rules(fm: dict) -> list[Finding]:
    out: list[Finding] = []
    for row in ("review", "litigation_direct", "litigation_after_review"):
        expected = _sum(fm, "t4", [row], "upheld")
        for col in ("corrected", "other", "pending"):
            part = _sum(fm, "t4", [row], col)
            expected = None if expected is None or part is None else expected + part
        _check(out, "t4.block_total", expected, fm.get(("t4", row, "total")),
               f"t4 {row}: 总计 ≠ 维持+纠正+其他+尚未审结", "t4", row, "total")
    return out


def _structure_rules(report: Report, official: bool) -> list[Finding]:
    out: list[Finding] = []
    if report.template == "legacy":
        return out
    present = {s.number for s in report.sections}
    for spec in SECTIONS:
        if spec.required and spec.number not in present:
            out.append(_finding("section.missing", f"section {spec.number} ({spec.heading}) not found", table=None, row=str(spec.number)))
    kinds = {t.kind for t in report.tables}
    if report.attachments and not ({"t3", "t4"} & kinds) and len(present) < 3:
        return [_finding("report.attachment_only", f"the report is in {len(report.attachments)} attachment(s): {report.attachments[0]}")]
    if report.images and not ({"t3", "t4"} <= kinds):
        out.append(_finding("table.image", f"{len(report.images)} image(s) in the body where tables 三/四 should be (图片版)",
                            actual=float(len(report.images))))
    elif official or report.template == "unknown":
        for tkey, name in (("t3", "三"), ("t4", "四")):
            if tkey not in kinds:
                out.append(_finding("table.missing", f"table {name} ({tkey}) not found", table=tkey))
    if official:
        have = {(f.table, f.row, f.col) for f in report.facts}
        for tkey in ("t3", "t4"):
            if tkey not in kinds:
                continue
            rows_present = {f.row for f in report.facts if f.table == tkey}
            spec = TABLES[report.template][tkey]
            expected = [(r, c) for r, c in spec.cells()]
            if tkey == "t3" and "other" in rows_present and report.template == "2021":
                expected = [(r, c) for r, c in TABLES["2019"]["t3"].cells()]
            elif tkey == "t3" and rows_present & {"other_no_correction", "other_no_fee", "other_misc"} and report.template == "2019":
                expected = [(r, c) for r, c in TABLES["2021"]["t3"].cells()]
            missing = [(r, c) for r, c in expected if (tkey, r, c) not in have]
            if missing:
                r, c = missing[0]
                out.append(_finding("table.cells_missing", f"{tkey}: {len(missing)} of {len(expected)} cells not read (first: {r}/{c})",
                                    expected=float(len(expected)), actual=float(len(expected) - len(missing)), table=tkey, row=r, col=c))
    return out


def _year_rule(report: Report) -> list[Finding]:
    out: list[Finding] = []
    ty = md.title_year(report.title)
    py = md.period_year(report.text)
    if ty and py and ty != py:
        out.append(_finding("year.mismatch", f"the title says {ty} but the statistics period stated in the body is {py}: "
                            f"the report is taken as the {py} report", expected=float(ty), actual=float(py)))
    if report.template in ("2019", "2021") and report.year is not None and report.year < 2019:
        out.append(_finding("year.template_mismatch", f"statistics year {report.year} but the tables follow the "
                            f"{report.template} format, which applies from 2019", actual=float(report.year)))
    return out


_RECEIVED = re.compile(r"(?:收到|受理|接收|接到|新收)[^。；;，,]{0,24}?申请(?:共|数量为|数为|数|总数)?\s*(\d+)\s*(?:件|个|份|条)")


_REVIEWS = re.compile(r"行政复议(?:案件|申请)?(?:共|数量为|为)?\s*(\d+)\s*(?:件|起|宗|个)")


def _text_rule(report: Report, fm: dict) -> list[Finding]:
    """R6: numbers stated in the narrative (sections 一/三/四) against tables 三 and 四; the first statement counts."""
    out: list[Finding] = []
    texts = {s.number: s.text for s in report.sections}
    f_new = fm.get(("t3", "new_received", "total"))
    if f_new is not None and _num(f_new.value):
        for n in (1, 3):
            m = _RECEIVED.search(texts.get(n, ""))
            if not m:
                continue
            stated = int(m.group(1))
            f_car = fm.get(("t3", "carried_over", "total"))
            alt = f_new.value + (f_car.value if f_car is not None and _num(f_car.value) else 0)
            if stated not in (f_new.value, alt):
                out.append(_finding("text.table_mismatch", f"section {n} says {stated} applications received, table 三 says {_fmt(f_new.value)}",
                                    expected=float(stated), actual=float(f_new.value), table="t3", row="new_received", col="total"))
            break
    f_rev = fm.get(("t4", "review", "total"))
    if f_rev is not None and _num(f_rev.value):
        for n in (1, 4):
            m = _REVIEWS.search(texts.get(n, ""))
            if not m:
                continue
            stated = int(m.group(1))
            if stated != f_rev.value:
                out.append(_finding("text.table_mismatch", f"section {n} says {stated} administrative reviews, table 四 says {_fmt(f_rev.value)}",
                                    expected=float(stated), actual=float(f_rev.value), table="t4", row="review", col="total"))
            break
    return out
