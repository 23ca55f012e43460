"""``extract()``: bytes in, :class:`~extractors.model.Report` out.  Pure; never raises for a readable input."""

from __future__ import annotations

import logging
import re
from urllib.parse import urljoin

from extractors import metadata as md
from extractors.classify import anti_crawl, decoy, decoy_reason, detect_template, is_report_title, placeholder, waf_markup
from extractors.decode import MAX_BYTES, bound_markup, check_binary, decode, is_html, sniff_kind
from extractors.document import Document
from extractors.formats import LEGACY_HEADINGS, LEGACY_SECTIONS, normalise_label
from extractors.model import Finding, Report, Section, UnreadableInput
from extractors.sections import find_headings
from extractors.tables import read_tables

log = logging.getLogger(__name__)

_END = re.compile(
    r"^[【\[]?(?:打印本页|打印|关闭窗口|关闭|上一篇|下一篇|相关(?:链接|文章|阅读|信息|新闻)|版权所有|主办单位|主办[:：]|网站标识码|"
    r"扫一扫|分享到|责任编辑|字体[:：]?|【?字号|收藏本页|返回顶部)"
)
_PREAMBLE = re.compile(r"条例|本报告|年度报告|统计(?:期限|时限|时间)|编制")
_ATTACH = re.compile(r"\.(?:pdf|docx?|xlsx?|wps|et)(?:$|[?#&])|filename=[^&]*\.(?:pdf|docx?|xlsx?|wps)", re.I)
_IMG_SKIP = re.compile(r"logo|icon|share|qrcode|ewm|erweima|weixin|wechat|weibo|banner|arrow|btn|button|spacer|blank\.gif|dot\.|line\.|bg[_.]|jiucuo|conac|blue\.png|red\.png|_gh", re.I)
_MAX_SECTION_TEXT = 200_000  # per section: real sections are a few KB; a hostile page must not bloat the warehouse
_MAX_TEXT = 1_000_000
_WS = re.compile(r"[\s\u00a0\u3000]+")
_NUMBERED = re.compile(r"^\s*(?:[一二三四五六七八九十]+\s*[、.．]|[(（][一二三四五六七八九十\d]+[)）]|\d+\s*[、.．])")


def extract(
    data: bytes,
    *,
    url: str | None = None,
    content_type: str | None = None,
    filename: str | None = None,
    validate: bool = True,
    max_bytes: int = MAX_BYTES,
) -> Report:
    """Read one document.  Raises :class:`UnreadableInput` for empty/binary/undecodable/oversized input."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("extract() takes bytes")
    data = bytes(data)
    if len(data) > max_bytes:
        raise UnreadableInput(f"input too large: {len(data):,} bytes (cap {max_bytes:,} bytes)")
    if not data.strip():
        raise UnreadableInput("empty input (no content)")
    kind = sniff_kind(data, content_type, filename)
    if kind in ("pdf", "docx", "xlsx", "xls"):
        from extractors.attachments import read_attachment

        doc, enc = read_attachment(kind, data)
        return _finish(doc, enc, url, validate)
    if kind in ("doc", "rtf"):
        from extractors.officedoc import read_office

        return _finish(read_office(kind, data), None, url, validate)
    if kind in ("zip", "ole"):
        raise UnreadableInput(f"binary {kind.upper()} container that is not a supported document "
                              "(not Word, Excel, PDF or OOXML: e.g. PowerPoint, Outlook, an encrypted package)")
    check_binary(data)
    data = bound_markup(data)
    text, enc = decode(data, content_type)
    if is_html(text, content_type, filename):
        from extractors.htmldoc import read_html

        doc = read_html(text)
        if len(text) < 200_000 and waf_markup(text, sum(len(b.text) for b in doc.blocks[:200]), len(doc.images)):
            return _non_report(doc, enc, url, "anti_crawl",
                               "a WAF / JavaScript challenge page (sets a cookie or redirects from a script, almost no text), not a report")
    else:
        from extractors.textdoc import read_text

        doc = read_text(text)
    return _finish(doc, enc, url, validate)


def _non_report(doc: Document, enc: str | None, url: str | None, kind: str, reason: str) -> Report:
    title = md.pick_title(doc.title_candidates)
    return Report(is_report=False, reason=reason, title=title, encoding=enc, source_url=url, doc_kind=kind)


def _finish(doc: Document, enc: str | None, url: str | None, validate: bool) -> Report:
    """Build, validate, then guard: every input kind (HTML, text, PDF, DOCX, XLS(X), DOC/WPS) passes here."""
    try:
        report = build_report(doc, enc, url)
    except Exception as e:  # noqa: BLE001 - the contract is "never an unhandled exception"
        log.exception("extractor failed on %s", url)
        return Report(is_report=False, reason=f"extractor error: {type(e).__name__}: {e}", encoding=enc, source_url=url,
                      doc_kind="error")
    if report.is_report and doc.unread and not report.unread:
        report.unread = doc.unread
    elif not report.is_report and doc.unread:
        # a document whose text could not be read (a scan, fonts without a text map): a report we failed to
        # read when its metadata title says so, else a non-report that says why — never "no text content"
        title = md.pick_title(doc.title_candidates)
        if is_report_title(title) and re.search(r"信息公开|政务公开", title) and not decoy_reason(title):
            report = Report(is_report=True, title=title, year=md.title_year(title), agency=md.agency_from_title(title),
                            encoding=enc, source_url=url, unread=doc.unread)
        else:
            report.reason = doc.unread + (f"; {report.reason}" if report.reason else "")
    if report.is_report and report.unread and report.year is None and report.title:
        # a document we could not read at all (no text blocks): what its metadata title says
        report.year = md.title_year(report.title)
        report.agency = report.agency or md.agency_from_title(report.title)
    if report.is_report:
        from extractors.rules import note_findings, validate as run_rules

        if not validate or (doc.unread and not doc.blocks):
            report.findings = note_findings(doc.notes)  # a document we could not read at all: only why
        else:
            try:
                report.findings = run_rules(report) + note_findings(doc.notes)
            except Exception as e:  # noqa: BLE001
                log.exception("rules failed on %s", url)
                report.findings = []
                report.reason = f"validator error: {type(e).__name__}: {e}"
        _no_silent_zeros(report)
    return report


def _no_silent_zeros(report: Report) -> None:
    """A report that yields no numbers is never ``ok``: an analyst would read it as a county with zero
    applications.  Official/unknown template without table 三 facts: ``not_parsed`` with the reason (statistics
    only as images, content only in attachments) or malformed with an error saying what was found; a legacy
    report without any figure: ``not_parsed`` with the reason."""
    from extractors.rules import finding

    if not report.is_report or report.unread:
        return
    rules = {f.rule for f in report.findings}
    if report.template == "legacy":
        if any(f.table == "legacy" for f in report.facts):
            return
        if report.images:
            report.unread = f"a pre-2019 report whose statistics are images ({len(report.images)} in the body)"
            if "table.image" not in rules:
                report.findings.append(finding("table.image", f"{len(report.images)} image(s) in the body and no figure in its text"))
        elif report.attachments:
            report.unread = f"a pre-2019 report page whose content is in its attachment(s): {report.attachments[0]}"
        else:
            report.unread = ("a pre-2019 report that states none of the legacy figures in a form we read "
                             "(主动公开信息数, 收到申请数, 行政复议/诉讼 …): no number could be recorded")
            report.findings.append(finding("legacy.no_figures", report.unread))
        return
    if any(f.table == "t3" for f in report.facts):
        return
    if report.images:
        report.unread = (f"the statistics are published only as images ({len(report.images)} image(s) where tables 三/四 "
                         f"should be, first: {report.images[0][:120]})")
        if "table.image" not in rules:
            report.findings.append(finding("table.image", report.unread, actual=float(len(report.images))))
    elif "report.attachment_only" in rules:
        report.unread = f"the report's content is in its attachment(s), not on this page: {report.attachments[0][:200]}"
    elif not any(f.severity == "error" for f in report.findings):
        kinds = sorted({t.kind or "unrecognised" for t in report.tables})
        found = (f"{len(report.tables)} table(s) ({', '.join(kinds)})" if report.tables else "no table") + (
            f", {len(report.facts)} other fact(s)" if report.facts else "")
        report.findings.append(finding("table.missing", f"no fact of table 三 could be read: {found}", table="t3"))


def _about_disclosure(title: str, text: str) -> bool:
    """A 政府信息公开 report says so in its title (or, when there is no usable title, in its opening text)."""
    if re.search(r"信息公开|政务公开", title):
        return True
    if title and is_report_title(title):
        return False  # e.g. 法治政府建设年度报告, 部门决算报告: another annual report
    return bool(re.search(r"政府信息公开", text[:3000]))


def _body_range(doc: Document, headings: list[tuple[int, int, str, str]], title: str = "") -> tuple[int, int]:
    blocks = doc.blocks
    if headings:
        start = headings[0][0]
        i = start - 1
        steps = 0
        while i >= 0 and steps < 6:
            b = blocks[i]
            if b.chrome or b.heading or b.table is not None:
                break
            if _PREAMBLE.search(b.text) and len(b.text) > 15:
                start = i
            i -= 1
            steps += 1
        from_ = headings[-1][0]
    else:
        start = 0
        for i, b in enumerate(blocks):
            if b.heading and is_report_title(b.text):
                start = i + 1
                break
        from_ = start
    end = len(blocks)
    for i in range(from_ + 1, len(blocks)):
        b = blocks[i]
        if b.table is None and not b.chrome and (_END.match(b.text) or (headings and title and b.text == title)):
            # the report's title again after its last section: a second copy of the article (PC + mobile
            # templates in one page) or the next article — not part of section 六
            end = i
            break
    return start, end


def build_report(doc: Document, enc: str | None, url: str | None) -> Report:
    blocks = doc.blocks
    all_text = "\n".join(b.text for b in blocks if b.table is None)
    title = md.pick_title(doc.title_candidates)
    report = Report(is_report=False, title=title, encoding=enc, source_url=url)

    if not blocks:
        if doc.unread or (doc.images and not doc.is_html):
            # a document file we could not read at all (a .doc without a converter, a scanned PDF): a report
            # whose content is unknown, never dropped (status not_parsed with the reason)
            report.is_report = True
            report.unread = doc.unread or f"no text, only {len(doc.images)} page image(s): a scanned document"
            return report
        report.reason, report.doc_kind = "no text content", "placeholder"
        return report
    if anti_crawl(all_text):
        report.reason = "anti-crawl or access-denied page (e.g. 访问过于频繁/验证码), not a report"
        report.doc_kind = "anti_crawl"
        report.text = all_text[:2000]
        return report
    if doc.has_password_input and len(all_text) < 5000:
        report.reason, report.doc_kind = "a login page, not a report", "login"
        return report
    if doc.truncated:
        report.reason = "truncated document: the HTML ends before </html> (incomplete download?); not read as a report"
        report.doc_kind = "truncated"
        return report
    if len(all_text) < 3000:
        own = "\n".join(b.text for b in blocks if b.table is None and not b.chrome)
        if placeholder(own) and not doc.tables:
            report.reason = f"a placeholder page (deleted or missing document): {own[:80]!r}"
            report.doc_kind = "placeholder"
            return report

    # links to reports outside navigation/sidebar containers (counted before link-only blocks become chrome)
    body_report_links = len({link.href for link in doc.links if is_report_title(link.text) and not _ATTACH.search(link.href)
                             and not (link.block < len(blocks) and blocks[link.block].chrome)})
    # blocks that are nothing but a link ("related articles" lists, pagers): never report text
    for link in doc.links:
        if link.block < len(blocks) and link.text and blocks[link.block].text == link.text and not _ATTACH.search(link.href):
            blocks[link.block].chrome = True
    headings = find_headings(blocks)
    if doc.unclosed and headings and headings[-1][1] < 6:
        report.reason = (f"truncated document: no closing </body>/</html> and the text stops after section "
                         f"{headings[-1][1]} of 6 (incomplete download?); not read as a report")
        report.doc_kind = "truncated"
        return report
    start, end = _body_range(doc, headings, title)
    if not is_report_title(title) and not (title and decoy_reason(title)):
        # no <h1>/ArticleTitle and a <title> that is just the site name: the report's title is then a
        # short centred paragraph at the top of the article ("<p align=center><b>…年度报告</b></p>")
        first = headings[0][0] if headings else min(len(blocks), 40)
        for b in blocks[:first]:
            if (b.table is None and not b.chrome and len(b.text) <= 80 and is_report_title(b.text)
                    and not b.text.endswith(("。", "；", ";", "，", "：", ":")) and not _NUMBERED.match(b.text)):
                title = report.title = md.pick_title([b.text])
                break
    body_table_ids = {blocks[i].table for i in range(start, end) if blocks[i].table is not None and not blocks[i].chrome}
    reading = read_tables(doc.tables, body_table_ids)
    doc.notes.extend(reading.notes)  # cells the table reader had to decode (cells.decoded / cells.ambiguous)
    raw_by_index = {t.index: t for t in doc.tables}
    for t in reading.tables:  # provenance of the grid: which reader, which page/line each row came from
        raw = raw_by_index.get(t.index)
        if raw is not None:
            t.source, t.row_locs = raw.source, raw.row_locs
    report.tables = reading.tables
    report.facts = reading.facts

    # sections
    sections = _sections(blocks, headings, end)
    report.sections = sections
    body_blocks = [b.text for b in blocks[start:end] if b.table is None and not b.chrome]
    report.text = "\n".join(body_blocks)[:_MAX_TEXT]

    # metadata
    meta_texts = [" ".join(c for c in row if c) for t in reading.tables if t.kind == "meta" for row in t.grid]
    pre_texts = [b.text for b in blocks[:start] if b.table is None] + meta_texts
    for name, label in (("pubdate", "发布日期"), ("publishdate", "发布日期"), ("firstpublishedtime", "发布日期"),
                        ("contentsource", "信息来源"), ("author", "来源")):
        if name in doc.meta:
            pre_texts.append(f"{label}：{doc.meta[name]}")
    # "label cell | value cell" pairs of metadata tables, written "label：value" for the regexes
    for t in reading.tables:
        if t.kind == "meta":
            for row in t.grid:
                cells = [c for c in row if c]
                pre_texts += [f"{a}：{b}" for a, b in zip(cells, cells[1:]) if len(a) <= 6]
    sign_agency, sign_date = md.signature(body_blocks)
    report.published = md.labelled_date(pre_texts) or md.labelled_date([b.text for b in blocks[end:] if b.table is None]) or sign_date
    report.agency = md.labelled_agency(pre_texts) or sign_agency or md.agency_from_title(title)
    # the statistics year: the period the body states (本报告所列数据的统计期限自2020年1月1日起至2020年12月31日止)
    # wins over the title's year (rule year.mismatch names both when they differ)
    report.year = md.period_year(report.text) or md.title_year(title) or md.title_year(report.text[:300])

    # attachments and images in the body
    base = url or ""
    seen: set[str] = set()
    for link in doc.links:
        if start <= link.block <= end and _ATTACH.search(link.href):
            absu = urljoin(base, link.href) if base else link.href
            if absu not in seen:
                seen.add(absu)
                report.attachments.append(absu)
    has_t3 = any(t.kind == "t3" for t in reading.tables)
    has_t4 = any(t.kind == "t4" for t in reading.tables)
    if not (has_t3 and has_t4):
        for img in doc.images:
            if start <= img.block <= end and not _IMG_SKIP.search(img.src):
                report.images.append(urljoin(base, img.src) if base else img.src)

    # report or not
    # template votes: the official tables' normalised text (computed once while classifying) plus the body
    # text with whitespace removed (NFKC over the whole body would cost more than the rest of the page)
    norm = "".join(reading.texts) + _WS.sub("", report.text)
    dec = decoy(title) if title else None
    has_tables = has_t3 or has_t4
    n_sections = len({s.number for s in sections})
    report_links = sum(1 for link in doc.links if is_report_title(link.text))
    if dec and (dec.strong or not (is_report_title(title) and has_tables)):
        report.reason, report.doc_kind = f"{dec.reason} (title: {title[:60]})", dec.kind
    elif report_links >= 5 and n_sections < 3 and not has_tables:
        report.reason, report.doc_kind = f"a list page ({report_links} links to reports), not a report", "list"
    elif body_report_links >= 2 and not has_tables and (
            md.title_year(title) is None or (len(report.text) < 800 and not report.images and not report.attachments)):
        # a column page: links to several reports plus a short digest (一图读懂) that quotes their numbers
        # under numbered lines; its title is the column name (no year) or its text is a few lines (a 图片版
        # report with a year in its title, body images and links to the previous years stays a report)
        report.reason = f"a column/list page ({body_report_links} links to reports and no tables 三/四), not a report"
        report.doc_kind = "list"
    elif has_tables and not has_t3 and not _about_disclosure(title, report.text):
        # a 法治政府建设年度报告 prints a 行政复议/行政诉讼 case table that looks like table 四
        report.reason = (f"an annual report on another subject (no 政府信息公开 in the title, no table 三): "
                         f"{title[:60] or '—'}")
        report.doc_kind = "other_report"
    elif has_tables:
        report.is_report = True
    elif n_sections >= 3 and not _about_disclosure(title, report.text):
        report.reason = (f"an annual report or plan on another subject (no 政府信息公开 in the title, no tables 三/四): "
                         f"{title[:60] or '—'}")
        report.doc_kind = "other_report"
    elif n_sections >= 3:
        report.is_report = True
    elif is_report_title(title) and re.search(r"信息公开", title) and (report.images or report.attachments):
        report.is_report = True
    elif is_report_title(title) and re.search(r"信息公开", title) and len(report.text) > 300:
        report.is_report = True
    elif doc.unread:
        report.is_report = True  # a document the reader could not read (its note says why): never dropped
    else:
        report.reason = f"no report structure: no statutory sections or tables 三/四 (title: {title[:60] or '—'})"
        report.doc_kind = "not_a_report"
    if not report.is_report:
        report.facts = []
        report.template = "unknown"
        return report
    legacy_heads = None
    if not any(f.table in ("t3", "t4") for f in report.facts):
        # no official table: is it a report of the 2008 regulation (概述 / 依申请公开 / 收费及减免 / 因…申请行政复议)?
        legacy_heads = find_headings(blocks, layout=LEGACY_SECTIONS)
    legacy_structure = legacy_heads is not None and sum(
        1 for h in legacy_heads if any(re.search(p, normalise_label(h[2])) for p in LEGACY_HEADINGS)) >= 2
    report.template = detect_template(norm, report.facts, report.year, legacy_structure)
    if report.template == "legacy":
        _read_legacy(report, doc, legacy_heads or [], body_blocks, body_table_ids, end)
    return report


def _sections(blocks: list, headings: list[tuple[int, int, str, str]], end: int) -> list[Section]:
    sections: list[Section] = []
    for n, (bi, number, heading, rest) in enumerate(headings):
        stop = headings[n + 1][0] if n + 1 < len(headings) else end
        parts = [rest] if rest else []
        parts += [blocks[i].text for i in range(bi + 1, stop) if blocks[i].table is None and not blocks[i].chrome]
        sections.append(Section(number, heading, "\n".join(parts)[:_MAX_SECTION_TEXT]))
    return sections


def _read_legacy(report: Report, doc: Document, legacy_heads: list[tuple[int, int, str, str]], body_blocks: list[str],
                 body_table_ids: set[int], end: int) -> None:
    """A pre-2019 report: its own sections (formats.LEGACY_SECTIONS) and the figures it states (table ``legacy``)."""
    from extractors.legacy import read_legacy

    if len(legacy_heads) >= len(report.sections):
        report.sections = _sections(doc.blocks, legacy_heads, end)
    tables = [t for t in report.tables if t.index in body_table_ids and t.kind != "meta"]
    reading = read_legacy(body_blocks, tables)
    report.facts = reading.facts  # official-table facts of a legacy report are not kept: its tables are not the forms
    doc.notes.extend(reading.notes)
    for t in report.tables:
        if t.index in reading.tables or (
                t.kind in (None, "t2", "t3", "t4") and sum(1 for row in t.grid for c in row if c and c.strip().isdigit()) >= 4):
            t.kind = "legacy_stats"
