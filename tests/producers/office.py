"""Producers of fidelity fixtures: pre-2019 reports, legacy office files, malformed reports and decoys.

Every producer is a pure function of a :class:`sample_portal.reportgen.ReportSpec` (the numbers come from the
spec or its ``seed``) returning the document's bytes; :func:`expected_legacy` gives the legacy figures a page
states — what the extractor must read, never the extractor's output.  Office files are made the way county
offices make them: the report typed into Word (here a DOCX written with python-docx from the same blocks as the
HTML page), saved as Word 97-2003 (here ``soffice --convert-to doc``); a WPS Office ``.wps`` is that same
Word-compatible OLE file under a .wps name.  Only :func:`to_doc` / :func:`to_rtf` need LibreOffice.

Pre-2019 reports follow the 2008 regulation the way county portals printed them (一、概述 二、主动公开政府信息情况
三、依申请公开政府信息情况 四、政府信息公开的收费及减免情况 五、因政府信息公开申请行政复议、提起行政诉讼的情况
六、存在的主要问题及改进措施), with or without a statistics annex: ``prose`` (附：…统计 as ``label：N`` lines),
``table`` (the 2008-era 政府信息公开情况统计表, 指标名称 | 单位 | 数量), ``small`` (a two-column 项目 | 数量 table in
part 三) or ``transposed`` (a row of labels over a row of values).
"""

from __future__ import annotations

import html
import os
import random
import re
import subprocess
import tempfile
from pathlib import Path

from sample_portal import reportgen
from sample_portal.attachments import make_docx
from sample_portal.reportdoc import Block, Cell, SpanTable, report_blocks
from sample_portal.reportgen import ReportSpec, para

ANNEXES = (None, "prose", "table", "small", "transposed")

# ------------------------------------------------------------------------------------------------ legacy figures


def legacy_numbers(spec: ReportSpec) -> dict[str, int]:
    """Every figure of a legacy report, from its seed (consistent: the answers add up to the applications)."""
    rng = random.Random(spec.seed * 7 + spec.year)
    received = rng.choice([0, rng.randint(3, 40), rng.randint(1, 12)])
    parts = [0] * 5  # granted, partially, denied, not this agency, not exist
    for _ in range(received):
        parts[rng.choices(range(5), weights=(8, 2, 1, 2, 1))[0]] += 1
    review = rng.choice([0, 0, 1, 2]) if received else 0
    litigation = rng.choice([0, 0, 1]) if received else 0
    return {
        "proactive_published": rng.randint(180, 3200), "proactive_normative_documents": rng.randint(0, 30),
        "applications_received": received, "applications_completed": received,
        "granted": parts[0], "partially_granted": parts[1], "denied": parts[2], "not_this_agency": parts[3],
        "not_exist": parts[4], "review": review, "review_upheld": review, "review_corrected": 0,
        "litigation": litigation, "complaints": 0, "fees_collected": 0,
    }


_NARRATIVE_KEYS = ("proactive_published", "proactive_normative_documents", "applications_received", "granted",
                   "partially_granted", "denied", "not_this_agency", "not_exist", "review", "litigation", "complaints",
                   "fees_collected")
_ANSWER_KEYS = ("granted", "partially_granted", "denied", "not_this_agency", "not_exist")


def expected_legacy(spec: ReportSpec, annex: str | None = None, *, figures: bool = True) -> dict[str, int]:
    """The figures the rendered report states (``figures=False``: a report that states none)."""
    if not figures:
        return {}
    n = legacy_numbers(spec)
    keys = [k for k in _NARRATIVE_KEYS if not (k in _ANSWER_KEYS and not n["applications_received"])]
    if annex in ("prose", "table"):
        keys += ["applications_completed"] + ([] if annex == "prose" else ["review_upheld", "review_corrected"])
    if annex in ("prose", "table", "small"):
        keys += _ANSWER_KEYS
    elif annex == "transposed":
        keys += ["granted", "partially_granted", "denied"]
    return {k: n[k] for k in n if k in keys}


# ------------------------------------------------------------------------------------------------ legacy report


def _legacy_title(spec: ReportSpec) -> str:
    return f"{spec.agency}{spec.year}年政府信息公开工作年度报告"


def legacy_blocks(spec: ReportSpec, annex: str | None = None, *, figures: bool = True, mismatch: bool = False) -> list[Block]:
    """The report in reading order (paragraph texts, tables), for every rendering (HTML, DOCX, DOC).

    ``mismatch``: the narrative states one more application than the annex (the annex is what counts)."""
    n = legacy_numbers(spec)
    y, ag = spec.year, spec.agency
    rng = random.Random(spec.seed)
    review_head = "五、行政复议、诉讼和申诉情况" if y == 2017 else "五、因政府信息公开申请行政复议、提起行政诉讼的情况"
    problems = "六、存在的主要问题及改进措施" if y != 2018 else "六、政府信息公开工作存在的主要问题和改进措施"
    blocks: list[Block] = [
        _legacy_title(spec),
        f"本报告是根据《中华人民共和国政府信息公开条例》（以下简称《条例》）要求，由{ag}编制的{y}年度政府信息公开工作"
        "年度报告。全文包括概述，主动公开政府信息情况，依申请公开政府信息情况，政府信息公开的收费及减免情况，因政府信息"
        "公开申请行政复议、提起行政诉讼的情况，存在的主要问题及改进措施。本报告中所列数据的统计期限自"
        f"{y}年1月1日起至{y}年12月31日止。本报告的电子版可在{spec.county}人民政府门户网站下载。如对本报告有任何疑问，"
        f"请与{ag}政府信息公开办公室联系（电话：0999-{rng.randint(1000000, 9999999)}；邮编：{rng.randint(400000, 499999)}）。",
        "一、概述",
        f"{y}年，{ag}认真贯彻落实《条例》和上级关于政府信息公开工作的部署，进一步健全工作机制，明确分管领导，落实专人负责，"
        f"全年召开政府信息公开工作专题会议{rng.randint(2, 6)}次，举办业务培训班{rng.randint(1, 4)}期，政府信息公开工作稳步推进。",
        "二、主动公开政府信息情况",
    ]
    if figures:
        blocks.append(f"（一）公开情况。{y}年，全县共主动公开政府信息{n['proactive_published']}条，"
                      f"其中规范性文件{n['proactive_normative_documents']}件。")
    else:
        blocks.append(f"（一）公开情况。{y}年，我县坚持“以公开为原则、不公开为例外”，及时公开机构职能、规划计划、财政预决算等信息。")
    blocks += ["（二）公开形式。以政府门户网站为第一公开平台，同时通过政府公报、政务微博、档案馆和图书馆查阅点等方式公开政府信息。",
               "三、依申请公开政府信息情况"]
    received = n["applications_received"] + (1 if mismatch else 0)
    if not figures:
        blocks.append("我县依法受理公民、法人和其他组织的政府信息公开申请，严格按照《条例》规定的时限答复。")
    elif n["applications_received"] == 0 and not mismatch:
        blocks.append(f"{y}年，全年未收到政府信息公开申请。")
    else:
        blocks.append(f"（一）申请情况。{y}年，共受理政府信息公开申请{received}件，均在法定期限内办结。")
        blocks.append(f"（二）答复情况。其中同意公开{n['granted']}件，同意部分公开{n['partially_granted']}件，不同意公开{n['denied']}件，"
                      f"不属于本行政机关公开范围{n['not_this_agency']}件，申请信息不存在{n['not_exist']}件。")
    if annex == "small":
        blocks.append(_grid([["项目", "数量"], ["受理申请", n["applications_received"]], ["同意公开", n["granted"]],
                             ["部分公开", n["partially_granted"]], ["不予公开", n["denied"]], ["不属于本机关", n["not_this_agency"]],
                             ["信息不存在", n["not_exist"]]]))
    blocks.append("四、政府信息公开的收费及减免情况")
    blocks.append("本机关在依申请提供政府信息过程中，未收取任何费用，也未发生收费减免情况。" if figures else
                  "本机关严格执行政府信息公开收费标准。")
    blocks.append(review_head)
    if not figures:
        blocks.append("本机关依法做好因政府信息公开引起的行政复议、行政诉讼应诉工作。")
    elif n["review"] or n["litigation"]:
        lit = f"提起行政诉讼{n['litigation']}件" if n["litigation"] else "未发生行政诉讼"
        blocks.append(f"全年因政府信息公开申请行政复议{n['review']}件，{lit}，未收到相关申诉。" if n["review"] else
                      f"全年未发生因政府信息公开申请行政复议的情况，提起行政诉讼{n['litigation']}件，未收到相关申诉。")
    else:
        blocks.append("本年度未发生因政府信息公开申请行政复议、提起行政诉讼的情况，也未收到相关申诉。")
    blocks += [problems,
               "（一）存在的问题。一是公开内容还不够全面，部分单位信息更新不及时；二是工作人员业务水平有待提高。",
               "（二）改进措施。一是加强督促检查，确保信息及时更新；二是加强业务培训，提升公开工作水平。"]
    if y == 2016:
        blocks += ["七、其他需要报告的事项", "无。"]
    if annex == "transposed":
        blocks.append("附表：依申请公开情况")
        blocks.append(_grid([["受理申请数", "同意公开", "部分公开", "不予公开", "行政复议", "行政诉讼"],
                             [n["applications_received"], n["granted"], n["partially_granted"], n["denied"], n["review"],
                              n["litigation"]]]))
    elif annex == "prose":
        blocks.append(f"附：{y}年政府信息公开情况统计")
        lines = [("主动公开政府信息数", n["proactive_published"], "条"),
                 ("其中：主动公开规范性文件数", n["proactive_normative_documents"], "条"),
                 ("收到申请数", n["applications_received"], "件"), ("申请办结数", n["applications_completed"], "件"),
                 ("同意公开答复数", n["granted"], "件"), ("同意部分公开答复数", n["partially_granted"], "件"),
                 ("不同意公开答复数", n["denied"], "件"), ("不属于本行政机关公开数", n["not_this_agency"], "件"),
                 ("申请信息不存在数", n["not_exist"], "件"), ("行政复议数量", n["review"], "件"),
                 ("行政诉讼数量", n["litigation"], "件"), ("举报投诉数量", n["complaints"], "件"),
                 ("依申请公开信息收取的费用", n["fees_collected"], "万元")]
        blocks += [f"{i}.{label}：{v}{unit}；" for i, (label, v, unit) in enumerate(lines, 1)]
    elif annex == "table":
        blocks.append(f"附件：{y}年政府信息公开情况统计表")
        blocks.append(_grid([
            ["指标名称", "单位", "数量"], ["一、主动公开情况", "", ""],
            ["（一）主动公开政府信息数（不同渠道和方式公开相同信息计1条）", "条", n["proactive_published"]],
            ["其中：主动公开规范性文件数", "条", n["proactive_normative_documents"]],
            ["（二）通过不同渠道和方式公开政府信息的情况", "", ""], ["1.政府公报公开政府信息数", "条", rng.randint(5, 60)],
            ["2.政府网站公开政府信息数", "条", n["proactive_published"]], ["二、依申请公开情况", "", ""],
            ["（一）收到申请数", "件", n["applications_received"]], ["1.当面申请数", "件", n["applications_received"]],
            ["（二）申请办结数", "件", n["applications_completed"]], ["（三）申请答复数", "件", ""],
            ["1.同意公开答复数", "件", n["granted"]], ["2.同意部分公开答复数", "件", n["partially_granted"]],
            ["3.不同意公开答复数", "件", n["denied"]], ["4.不属于本行政机关公开数", "件", n["not_this_agency"]],
            ["5.申请信息不存在数", "件", n["not_exist"]], ["三、行政复议数量", "件", n["review"]],
            ["（一）维持具体行政行为数", "件", n["review_upheld"]], ["（二）被依法纠错数", "件", n["review_corrected"]],
            ["四、行政诉讼数量", "件", n["litigation"]], ["五、举报投诉数量", "件", n["complaints"]],
            ["六、依申请公开信息收取的费用", "万元", n["fees_collected"]],
            ["七、机构建设和保障经费情况", "", ""], ["（一）政府信息公开工作专门机构数", "个", 1],
            ["（二）从事政府信息公开工作人员数", "人", rng.randint(2, 9)],
        ]))
    return blocks


def _grid(rows: list[list]) -> SpanTable:
    cells = tuple(Cell("" if v == "" else str(v), r, c) for r, row in enumerate(rows) for c, v in enumerate(row))
    return SpanTable(len(rows), max(len(r) for r in rows), cells)


def _table_html(t: SpanTable) -> str:
    by_row: dict[int, list[Cell]] = {}
    for c in t.cells:
        by_row.setdefault(c.row, []).append(c)
    trs = []
    for r in range(t.n_rows):
        tds = []
        for c in sorted(by_row.get(r, []), key=lambda c: c.col):
            span = (f' rowspan="{c.rowspan}"' if c.rowspan > 1 else "") + (f' colspan="{c.colspan}"' if c.colspan > 1 else "")
            inner = html.escape(c.text) if c.text else "&nbsp;"
            tds.append(f'<td{span} valign="center" style="border:solid windowtext 1.0pt;padding:0cm 5.4pt 0cm 5.4pt">'
                       f'<p class="MsoNormal" align="center"><span style="font-size:10.5pt;font-family:宋体">{inner}</span></p></td>')
        trs.append(f"<tr>{''.join(tds)}</tr>")
    return ('<table class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" style="border-collapse:collapse;border:none">'
            f"<tbody>{''.join(trs)}</tbody></table>")


_HEAD = re.compile(r"^(?:[一二三四五六七八九十]、|附)")


def _body_html(blocks: list[Block]) -> str:
    out = []
    for i, b in enumerate(blocks):
        if isinstance(b, SpanTable):
            out.append(_table_html(b))
        elif i == 0:
            out.append(para(b, center=True, heading=True))
        else:
            out.append(para(b, heading=bool(_HEAD.match(b)) and len(b) <= 40))
    return "\n".join(out)


def page(title: str, body_html: str, *, agency: str, published: str, charset: str = "utf-8", site: str = "某某县人民政府") -> str:
    """A county portal detail page (TRS-like chrome: navigation, info line, article, share links, footer)."""
    meta = "gb2312" if charset != "utf-8" else "utf-8"
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset={meta}">
<title>{html.escape(title)}_{html.escape(site)}</title></head>
<body><div class="nav"><a href="/">首页</a> <a href="/zwgk/">政务公开</a> <a href="/zwgk/gknb/">政府信息公开年报</a></div>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/gknb/">政府信息公开年报</a></div>
<div class="article"><h1>{html.escape(title)}</h1>
<div class="info">发布日期：{published}　来源：{html.escape(agency)}</div>
<div class="TRS_Editor">{body_html}</div>
<div class="share"><a href="javascript:window.print()">打印本页</a> <a href="javascript:window.close()">关闭窗口</a></div></div>
<div class="footer">版权所有：{html.escape(site)}　网站标识码：4100000001</div></body></html>
"""


def legacy_published(spec: ReportSpec) -> str:
    return f"{spec.year + 1}-03-{10 + spec.seed % 18:02d}"


def legacy_html(spec: ReportSpec, annex: str | None = None, *, figures: bool = True, mismatch: bool = False) -> bytes:
    """A pre-2019 report page; 2016 pages are GBK (older portals), later ones UTF-8."""
    charset = "gbk" if spec.year == 2016 else "utf-8"
    text = page(_legacy_title(spec), _body_html(legacy_blocks(spec, annex, figures=figures, mismatch=mismatch)),
                agency=spec.agency, published=legacy_published(spec), charset=charset)
    return text.encode(charset)


def legacy_docx(spec: ReportSpec, annex: str | None = None) -> bytes:
    return make_docx(legacy_blocks(spec, annex), title=_legacy_title(spec))


# ------------------------------------------------------------------------------------------------ office files


def _soffice(data: bytes, suffix: str, target: str) -> bytes:
    """Convert with LibreOffice headless (a private profile and HOME, a timeout); raises when it is missing."""
    with tempfile.TemporaryDirectory(prefix="ogi-producer-") as tmp:
        src = Path(tmp) / f"report.{suffix}"
        src.write_bytes(data)
        env = dict(os.environ, HOME=tmp)
        subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation={Path(tmp, 'profile').as_uri()}",
                        "--convert-to", target, "--outdir", tmp, str(src)], env=env, check=True, timeout=180,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return (Path(tmp) / f"report.{target.split(':')[0]}").read_bytes()


def to_doc(docx: bytes) -> bytes:
    """Word 97-2003 (OLE) bytes of a DOCX, as Word's "Save as .doc" makes them."""
    return _soffice(docx, "docx", "doc")


def to_rtf(docx: bytes) -> bytes:
    """RTF bytes of a DOCX (what some offices save under a .doc name)."""
    return _soffice(docx, "docx", "rtf")


SECTIONS_ONLY_TITLE = "某某县统计局2021年政府信息公开工作年度报告"
#: A report with its six sections and no table at all (the tables were left out of the Word file).
SECTIONS_ONLY: list[str] = [
    SECTIONS_ONLY_TITLE, "一、总体情况", "2021年，本机关扎实推进政府信息公开工作。", "二、主动公开政府信息情况", "及时公开各类信息。",
    "三、收到和处理政府信息公开申请情况", "本年度处理申请情况见附件。", "四、政府信息公开行政复议、行政诉讼情况", "无。",
    "五、存在的主要问题及改进情况", "有待提高。", "六、其他需要报告的事项", "无。"]


def sections_only_doc() -> bytes:
    return to_doc(make_docx(SECTIONS_ONLY, title=SECTIONS_ONLY_TITLE))


def report_docx(spec: ReportSpec) -> bytes:
    return make_docx(report_blocks(spec), title=spec.title)


def report_doc(spec: ReportSpec) -> bytes:
    """An official-format report as a .doc file (also a WPS Office .wps: the same Word-compatible OLE)."""
    return to_doc(report_docx(spec))


# ------------------------------------------------------------------------------------------------ malformed


def _official_page(spec: ReportSpec, body: str, title: str | None = None) -> bytes:
    return page(title or spec.title, body, agency=spec.agency, published=f"{spec.year + 1}-01-{10 + spec.seed % 18:02d}").encode()


def official_html(spec: ReportSpec) -> bytes:
    """The official-format report page as the sample portal renders it (Word-export body in county chrome)."""
    return _official_page(spec, reportgen.render_body(spec))


def image_table_html(spec: ReportSpec) -> bytes:
    """Tables 三 and 四 pasted as pictures (a scan of the printed form); the text and table 二 are real."""
    body = reportgen.render_body(spec)
    for n, table in ((3, reportgen.render_table3(spec)), (4, reportgen.render_table4(spec))):
        body = body.replace(table, f'<p align="center"><img src="/uploads/{spec.year}/t{n}_{spec.seed}.jpg" width="620" alt=""></p>')
    return _official_page(spec, body)


def tables_missing_html(spec: ReportSpec) -> bytes:
    """The office forgot to paste tables 三 and 四 (headings present, nothing under them)."""
    body = reportgen.render_body(spec)
    for table in (reportgen.render_table3(spec), reportgen.render_table4(spec)):
        body = body.replace(table, "")
    return _official_page(spec, body)


def year_mismatch_html(spec: ReportSpec) -> bytes:
    """The title names the publication year (spec.year + 1); the body's statistics period is spec.year."""
    return _official_page(spec, reportgen.render_body(spec), title=mismatched_title(spec))


def mismatched_title(spec: ReportSpec) -> str:
    return spec.title.replace(f"{spec.year}年", f"{spec.year + 1}年", 1)


# ------------------------------------------------------------------------------------------------ decoys


def notice_title(spec: ReportSpec) -> str:
    return f"关于做好{spec.year}年度政府信息公开工作年度报告编制发布工作的通知"


def notice_html(spec: ReportSpec) -> bytes:
    """The county office's notice about compiling the reports: its title says 年度报告 and it prints the official
    form (tables 三/四, all zero) as the template to fill in."""
    blank = ReportSpec(spec.county, spec.issuer, spec.year, spec.template, spec.seed,
                       facts={k: 0 for k in reportgen.make_facts(spec.template, spec.seed)})
    body = "\n".join([
        para(notice_title(spec), center=True, heading=True),
        para("各乡镇人民政府，县政府各部门："),
        para(f"根据《中华人民共和国政府信息公开条例》规定，现就做好{spec.year}年度政府信息公开工作年度报告编制和发布工作通知如下："),
        para("一、各单位要严格按照统一格式编制年度报告，确保数据准确、内容全面。"),
        para(f"二、各单位须于{spec.year + 1}年1月31日前在政府信息公开专栏发布本单位年度报告。"),
        para("三、年度报告中的统计表格须按照下列格式填写："),
        reportgen.render_table3(blank), reportgen.render_table4(blank),
        para(f"{spec.county}人民政府办公室"), para(f"{spec.year}年12月20日"),
    ])
    return page(notice_title(spec), body, agency=f"{spec.county}人民政府办公室", published=f"{spec.year}-12-20").encode()


def interpretation_title(spec: ReportSpec) -> str:
    return f"图文解读：{spec.title}"


def interpretation_html(spec: ReportSpec) -> bytes:
    """An interpretation article that reprints the report's tables 三 and 四."""
    f = spec.facts
    body = "\n".join([
        para(interpretation_title(spec), center=True, heading=True),
        para(f"近日，{spec.agency}发布了{spec.year}年政府信息公开工作年度报告。为便于公众理解，现将报告主要内容解读如下。"),
        para(f"一、依申请公开情况。全年共收到政府信息公开申请{f[('t3', 'new_received', 'total')]}件，办理情况见下表。"),
        reportgen.render_table3(spec),
        para("二、行政复议、行政诉讼情况。"),
        reportgen.render_table4(spec),
        para("三、下一步工作。将进一步提升政府信息公开质量。"),
    ])
    return _official_page(spec, body, title=interpretation_title(spec))


def summary_title(spec: ReportSpec) -> str:
    return f"{spec.title}要点"


def summary_html(spec: ReportSpec) -> bytes:
    """要点: the report's highlights with its numbers, under the six headings."""
    f = spec.facts
    lines = [
        summary_title(spec),
        f"一、总体情况。{spec.year}年，{spec.agency}扎实推进政府信息公开工作。",
        "二、主动公开政府信息情况。及时公开各类政府信息。",
        f"三、收到和处理政府信息公开申请情况。全年新收申请{f[('t3', 'new_received', 'total')]}件，"
        f"予以公开{f[('t3', 'granted', 'total')]}件。",
        f"四、政府信息公开行政复议、行政诉讼情况。行政复议{f[('t4', 'review', 'total')]}件。",
        "五、存在的主要问题及改进情况。公开质量有待提升。",
        "六、其他需要报告的事项。无。",
    ]
    body = "\n".join(para(x, center=i == 0, heading=i == 0) for i, x in enumerate(lines))
    return _official_page(spec, body, title=summary_title(spec))


WAF_TITLE = ""


def waf_html(seed: int = 0) -> bytes:
    """A 加速乐-style JavaScript challenge served with status 200: no text, a cookie set and a reload by script."""
    token = random.Random(seed).getrandbits(64)
    return (f"<html><head><meta charset=\"utf-8\"></head><body><script>document.cookie=('_')+('_jsl_clearance_s=')"
            f"+('{token:x}')+(';max-age=3600;path=/');location.href=location.pathname+location.search</script>"
            "</body></html>").encode()


PLACEHOLDERS = {
    "deleted": ("提示信息", "该信息已删除或已过期！"),
    "missing": ("温馨提示", "抱歉，您访问的页面不存在或已被删除。"),
}


def placeholder_html(kind: str = "deleted") -> bytes:
    """The CMS's page for a withdrawn document, served with status 200 inside the portal's chrome."""
    title, message = PLACEHOLDERS[kind]
    body = f'<div class="tips"><p>{message}</p><p><a href="/">返回首页</a></p></div>'
    return page(title, body, agency="某某县人民政府", published="").replace("<h1>" + title + "</h1>", "").encode()


def list_html(specs: list[ReportSpec]) -> bytes:
    """The annual-report column: one link per report, a pager."""
    items = "".join(f'<li><a href="/zwgk/gknb/{i}.html">{html.escape(s.title)}</a><span>{s.year + 1}-01-20</span></li>'
                    for i, s in enumerate(specs))
    body = f'<ul class="list">{items}</ul><div class="pager">共1页 <a href="#">首页</a> <a href="#">尾页</a></div>'
    return page("政府信息公开年报", body, agency="某某县人民政府", published="").encode()


def report_xlsx(spec: ReportSpec) -> bytes:
    """Tables 二/三/四 as an Excel workbook, one sheet each (how offices attach the statistics): the report title in
    the first row of the first sheet, numbers typed as numbers, the form's merged cells merged."""
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.cell(1, 1, spec.title)
    tables = [b for b in report_blocks(spec) if isinstance(b, SpanTable)]
    for n, t in enumerate(tables):
        ws = wb.active if n == 0 else wb.create_sheet()
        ws.title = ("表二", "表三", "表四")[n] if n < 3 else f"表{n + 2}"
        top = 2 if n == 0 else 1
        for c in t.cells:
            ws.cell(top + c.row, 1 + c.col, _typed(c.text))
            if c.rowspan > 1 or c.colspan > 1:
                ws.merge_cells(start_row=top + c.row, start_column=1 + c.col,
                               end_row=top + c.row + c.rowspan - 1, end_column=c.col + c.colspan)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _typed(text: str) -> str | int | float | None:
    if not text:
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    return text
