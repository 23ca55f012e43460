"""Generate realistic annual-report bodies (Word-export HTML) from a numbers spec.

Real county reports are typed in Word and pasted into the portal's editor, so their HTML is full of
``MsoNormal`` paragraphs, ``<span>`` runs, ``<o:p>`` placeholders and ``MsoNormalTable`` tables whose
group cells use ``rowspan`` exactly like the official form.  The sample portal renders its reports with
this module so that the extractor is exercised on the same shape of markup, and tests can compare what
the extractor reads with :func:`expected_facts` — the numbers the page was generated from.

Everything is deterministic: a :class:`ReportSpec` with the same ``seed`` renders to the same bytes.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field
from typing import Literal

Template = Literal["2019", "2021", "legacy"]
FactKey = tuple[str, str, str]  # (table, row, col) — the canonical keys of extractors/formats.py

T3_COLS = ("natural_person", "commercial", "research", "public_interest", "legal_service", "other_org", "total")
APPLICANTS = T3_COLS[:-1]

# (key, printed label, group) — group None = a row whose label spans the first 3 columns.
_T3_TOP = [("new_received", "一、本年新收政府信息公开申请数量"), ("carried_over", "二、上年结转政府信息公开申请数量")]
_T3_DENIED = [
    ("denied_state_secret", "1.属于国家秘密"),
    ("denied_prohibited_by_law", "2.其他法律行政法规禁止公开"),
    ("denied_security_stability", "3.危及“三安全一稳定”"),
    ("denied_third_party", "4.保护第三方合法权益"),
    ("denied_internal_affairs", "5.属于三类内部事务信息"),
    ("denied_process_info", "6.属于四类过程性信息"),
    ("denied_enforcement_file", "7.属于行政执法案卷"),
    ("denied_query_matter", "8.属于行政查询事项"),
]
_T3_UNABLE = [
    ("unable_not_held", "1.本机关不掌握相关政府信息"),
    ("unable_needs_creation", "2.没有现成信息需要另行制作"),
    ("unable_unclear", "3.补正后申请内容仍不明确"),
]
_T3_REJECTED = [
    ("rejected_complaint", "1.信访举报投诉类申请"),
    ("rejected_duplicate", "2.重复申请"),
    ("rejected_publication", "3.要求提供公开出版物"),
    ("rejected_massive", "4.无正当理由大量反复申请"),
    ("rejected_confirmation", "5.要求行政机关确认或重新出具已获取信息"),
]
_T3_OTHER_2021 = [
    ("other_no_correction", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
    ("other_no_fee", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
    ("other_misc", "3.其他"),
]
T4_COLS = ("upheld", "corrected", "other", "pending", "total")
T4_ROWS = ("review", "litigation_direct", "litigation_after_review")


def t3_outcome_rows(template: str) -> list[str]:
    """The result rows that add up to （七）总计, in form order."""
    other = [k for k, _ in _T3_OTHER_2021] if template == "2021" else ["other"]
    return (
        ["granted", "partially_granted"]
        + [k for k, _ in _T3_DENIED]
        + [k for k, _ in _T3_UNABLE]
        + [k for k, _ in _T3_REJECTED]
        + other
    )


@dataclass
class ReportSpec:
    """What one report says.  ``facts`` are generated from ``seed`` unless given."""

    county: str
    issuer: str  # e.g. 县人民政府 / 县政府办公室 / 县教育局 / 城关镇人民政府
    year: int  # the statistics year
    template: Template
    seed: int
    malformed: bool = False  # breaks 一 + 二 = （七） + 四 (rule R1) in the 自然人 and 总计 columns
    image_only: bool = False  # 图片版: the body is images only
    blank_zeros: bool = False  # print zero legal-person cells blank, as many real reports do
    revision: int = 0  # bumped by the portal's "revise" action: changes numbers and a sentence
    facts: dict[FactKey, float | int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.facts and self.template in ("2019", "2021"):
            self.facts = make_facts(self.template, self.seed + 7919 * self.revision, malformed=self.malformed)

    @property
    def title(self) -> str:
        suffix = "（图片版）" if self.image_only else ""
        return f"{self.county}{self.issuer_full}{self.year}年政府信息公开工作年度报告{suffix}"

    @property
    def issuer_full(self) -> str:
        return self.issuer[1:] if self.issuer.startswith("县") else self.issuer

    @property
    def agency(self) -> str:
        return f"{self.county}{self.issuer_full}"


# ---------------------------------------------------------------------------------------- numbers


def make_facts(template: str, seed: int, *, malformed: bool = False) -> dict[FactKey, float | int]:
    """Numbers for tables 二/三/四 that satisfy every official relation (unless ``malformed``)."""
    rng = random.Random(seed)
    facts: dict[FactKey, float | int] = {}
    outcome_rows = t3_outcome_rows(template)
    # Table 三: outcomes per applicant column, sparse like real counties.
    for col in APPLICANTS:
        weight = {"natural_person": 1.0, "commercial": 0.5}.get(col, 0.2)
        handled = 0
        for row in outcome_rows:
            p = 0.9 if row == "granted" else 0.25
            v = rng.randint(1, 12 if row == "granted" else 4) if rng.random() < p * weight else 0
            facts[("t3", row, col)] = v
            handled += v
        forward = rng.randint(0, 3) if rng.random() < 0.4 * weight else 0
        carried = rng.randint(0, min(handled + forward, 3)) if rng.random() < 0.4 * weight else 0
        facts[("t3", "total_handled", col)] = handled
        facts[("t3", "carried_forward", col)] = forward
        facts[("t3", "carried_over", col)] = carried
        facts[("t3", "new_received", col)] = handled + forward - carried
    for row in ["new_received", "carried_over", *outcome_rows, "total_handled", "carried_forward"]:
        facts[("t3", row, "total")] = sum(int(facts[("t3", row, c)]) for c in APPLICANTS)
    if malformed:
        facts[("t3", "new_received", "natural_person")] = int(facts[("t3", "new_received", "natural_person")]) + 3
        facts[("t3", "new_received", "total")] = int(facts[("t3", "new_received", "total")]) + 3
    # Table 四.
    for row in T4_ROWS:
        vals = [rng.randint(0, 3) if rng.random() < 0.35 else 0 for _ in range(4)]
        for col, v in zip(T4_COLS[:4], vals):
            facts[("t4", row, col)] = v
        facts[("t4", row, "total")] = sum(vals)
    # Table 二.
    if template == "2019":
        facts[("t2", "regulations", "new_made")] = 0
        facts[("t2", "regulations", "new_published")] = 0
        facts[("t2", "regulations", "total_published")] = 0
        made = rng.randint(0, 9)
        facts[("t2", "normative_documents", "new_made")] = made
        facts[("t2", "normative_documents", "new_published")] = made
        facts[("t2", "normative_documents", "total_published")] = made + rng.randint(5, 60)
        for row in ("administrative_license", "other_management_services", "administrative_penalty", "administrative_coercion"):
            facts[("t2", row, "prev_year_items")] = rng.randint(0, 200)
            facts[("t2", row, "change")] = rng.randint(-5, 8)
            facts[("t2", row, "decisions")] = rng.randint(0, 3000)
        facts[("t2", "administrative_fees", "prev_year_items")] = rng.randint(0, 20)
        facts[("t2", "administrative_fees", "change")] = rng.randint(-2, 2)
        facts[("t2", "centralized_procurement", "projects")] = rng.randint(0, 80)
        facts[("t2", "centralized_procurement", "amount_10k_yuan")] = round(rng.randint(0, 9_000_000) / 100, 2)
    else:
        facts[("t2", "regulations", "issued")] = 0
        facts[("t2", "regulations", "repealed")] = 0
        facts[("t2", "regulations", "in_force")] = 0
        issued = rng.randint(0, 9)
        facts[("t2", "normative_documents", "issued")] = issued
        facts[("t2", "normative_documents", "repealed")] = rng.randint(0, 3)
        facts[("t2", "normative_documents", "in_force")] = issued + rng.randint(5, 60)
        for row in ("administrative_license", "administrative_penalty", "administrative_coercion"):
            facts[("t2", row, "decisions")] = rng.randint(0, 3000)
        facts[("t2", "administrative_fees", "amount_10k_yuan")] = round(rng.randint(0, 500_000) / 100, 2)
    return facts


def expected_facts(spec: ReportSpec) -> dict[FactKey, float | int]:
    """The facts an extractor must read from the rendered page (the spec's own numbers)."""
    return dict(spec.facts)


# ---------------------------------------------------------------------------------------- Word-like markup

_FONT = "font-size:16.0pt;font-family:仿宋_GB2312;mso-hansi-font-family:'Times New Roman'"
_CELL_FONT = "font-size:10.5pt;font-family:宋体;mso-bidi-font-family:宋体;color:black;mso-font-kerning:0pt"


def _run(text: str, style: str = _FONT) -> str:
    return f'<span style="{style}">{html.escape(text, quote=False)}</span>'


def para(text: str, *, heading: bool = False, indent: bool = True, center: bool = False) -> str:
    """One Word paragraph; long text is split over several runs as Word does on edits."""
    style = "text-indent:32.0pt;mso-char-indent-count:2.0;line-height:28.0pt;mso-line-height-rule:exactly"
    if center:
        style = "text-align:center;line-height:28.0pt"
    elif not indent:
        style = "line-height:28.0pt"
    font = _FONT.replace("仿宋_GB2312", "黑体") if heading else _FONT
    runs = []
    step = 23
    for i in range(0, len(text), step):
        runs.append(_run(text[i : i + step], font))
    body = "".join(runs) or ""
    return f'<p class="MsoNormal" align="{"center" if center else "left"}" style="{style}">{body}<span lang="EN-US" style="{font}"><o:p></o:p></span></p>'


def _td(text: str | int | float | None, *, width: int = 60, colspan: int = 1, rowspan: int = 1, blank: bool = False) -> str:
    attrs = f' width="{width}"'
    if colspan > 1:
        attrs += f' colspan="{colspan}"'
    if rowspan > 1:
        attrs += f' rowspan="{rowspan}"'
    style = (
        "border:solid windowtext 1.0pt;border-top:none;mso-border-alt:solid windowtext .5pt;"
        "padding:0cm 5.4pt 0cm 5.4pt"
    )
    if blank or text is None or text == "":
        inner = f'<span lang="EN-US" style="{_CELL_FONT}"><o:p>&nbsp;</o:p></span>'
    else:
        s = _fmt(text)
        inner = _run(s, _CELL_FONT) + f'<span lang="EN-US" style="{_CELL_FONT}"><o:p></o:p></span>'
    return (
        f'<td{attrs} valign="center" style="{style}">'
        f'<p class="MsoNormal" align="center" style="text-align:center;mso-pagination:widow-orphan">{inner}</p></td>'
    )


def _fmt(v: str | int | float) -> str:
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))
    return str(v)


def _table(rows: list[str], width: int = 568) -> str:
    trs = []
    for i, cells in enumerate(rows):
        first = ";mso-yfti-firstrow:yes" if i == 0 else ""
        last = ";mso-yfti-lastrow:yes" if i == len(rows) - 1 else ""
        trs.append(f'<tr style="mso-yfti-irow:{i}{first}{last};height:20.25pt">{cells}</tr>')
    return (
        f'<div align="center"><table class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" width="{width}" '
        'style="width:426.0pt;border-collapse:collapse;border:none;mso-border-alt:solid windowtext .5pt;'
        'mso-yfti-tbllook:1184;mso-padding-alt:0cm 5.4pt 0cm 5.4pt"><tbody>'
        + "".join(trs)
        + "</tbody></table></div>"
    )


# ---------------------------------------------------------------------------------------- tables


def render_table2(spec: ReportSpec) -> str:
    f = spec.facts
    rows: list[str] = []

    def head(title: str) -> None:
        rows.append(_td(title, colspan=4, width=568))

    def cols(labels: list[str], span_last: int = 1) -> None:
        if len(labels) == 2:
            rows.append(_td(labels[0], width=180) + _td(labels[1], colspan=3, width=388))
        else:
            rows.append("".join(_td(x, width=142) for x in labels))

    def data(label: str, key: str, colkeys: list[str]) -> None:
        if len(colkeys) == 1:
            rows.append(_td(label, width=180) + _td(f[("t2", key, colkeys[0])], colspan=3, width=388))
        else:
            rows.append(_td(label, width=142) + "".join(_td(f[("t2", key, c)], width=142) for c in colkeys))

    if spec.template == "2019":
        c1 = ["new_made", "new_published", "total_published"]
        head("第二十条第（一）项")
        cols(["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"])
        data("规章", "regulations", c1)
        data("规范性文件", "normative_documents", c1)
        c5 = ["prev_year_items", "change", "decisions"]
        head("第二十条第（五）项")
        cols(["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"])
        data("行政许可", "administrative_license", c5)
        data("其他对外管理服务事项", "other_management_services", c5)
        head("第二十条第（六）项")
        cols(["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"])
        data("行政处罚", "administrative_penalty", c5)
        data("行政强制", "administrative_coercion", c5)
        head("第二十条第（八）项")
        rows.append(_td("信息内容", width=142) + _td("上一年项目数量", width=142) + _td("本年增/减", colspan=2, width=284))
        rows.append(
            _td("行政事业性收费", width=142)
            + _td(f[("t2", "administrative_fees", "prev_year_items")], width=142)
            + _td(f[("t2", "administrative_fees", "change")], colspan=2, width=284)
        )
        head("第二十条第（九）项")
        rows.append(_td("信息内容", width=142) + _td("采购项目数量", width=142) + _td("采购总金额", colspan=2, width=284))
        rows.append(
            _td("政府集中采购", width=142)
            + _td(f[("t2", "centralized_procurement", "projects")], width=142)
            + _td(f[("t2", "centralized_procurement", "amount_10k_yuan")], colspan=2, width=284)
        )
    else:
        c1 = ["issued", "repealed", "in_force"]
        head("第二十条第（一）项")
        cols(["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"])
        data("规章", "regulations", c1)
        data("行政规范性文件", "normative_documents", c1)
        head("第二十条第（五）项")
        cols(["信息内容", "本年处理决定数量"])
        data("行政许可", "administrative_license", ["decisions"])
        head("第二十条第（六）项")
        cols(["信息内容", "本年处理决定数量"])
        data("行政处罚", "administrative_penalty", ["decisions"])
        data("行政强制", "administrative_coercion", ["decisions"])
        head("第二十条第（八）项")
        cols(["信息内容", "本年收费金额（单位：万元）"])
        data("行政事业性收费", "administrative_fees", ["amount_10k_yuan"])
    return _table(rows)


def render_table3(spec: ReportSpec) -> str:
    f = spec.facts
    blank_ok = spec.blank_zeros

    def values(key: str) -> str:
        out = []
        for c in T3_COLS:
            v = f[("t3", key, c)]
            blank = blank_ok and v == 0 and c in APPLICANTS[1:]
            out.append(_td(v, width=48, blank=blank))
        return "".join(out)

    rows: list[str] = [
        _td("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", colspan=3, rowspan=3, width=232)
        + _td("申请人情况", colspan=7, width=336),
        _td("自然人", rowspan=2, width=48) + _td("法人或其他组织", colspan=5, width=240) + _td("总计", rowspan=2, width=48),
        "".join(_td(x, width=48) for x in ("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")),
    ]
    for key, label in _T3_TOP:
        rows.append(_td(label, colspan=3, width=232) + values(key))
    other_rows = _T3_OTHER_2021 if spec.template == "2021" else [("other", "（六）其他处理")]
    n_result = 2 + len(_T3_DENIED) + len(_T3_UNABLE) + len(_T3_REJECTED) + len(other_rows) + 1
    first = True

    def result_row(cells: str) -> None:
        nonlocal first
        lead = _td("三、本年度办理结果", rowspan=n_result, width=60) if first else ""
        first = False
        rows.append(lead + cells)

    result_row(_td("（一）予以公开", colspan=2, width=172) + values("granted"))
    result_row(_td("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", colspan=2, width=172) + values("partially_granted"))
    for group, items in (("（三）不予公开", _T3_DENIED), ("（四）无法提供", _T3_UNABLE), ("（五）不予处理", _T3_REJECTED)):
        for i, (key, label) in enumerate(items):
            lead = _td(group, rowspan=len(items), width=60) if i == 0 else ""
            result_row(lead + _td(label, width=112) + values(key))
    if spec.template == "2021":
        for i, (key, label) in enumerate(other_rows):
            lead = _td("（六）其他处理", rowspan=len(other_rows), width=60) if i == 0 else ""
            result_row(lead + _td(label, width=112) + values(key))
    else:
        result_row(_td("（六）其他处理", colspan=2, width=172) + values("other"))
    result_row(_td("（七）总计", colspan=2, width=172) + values("total_handled"))
    rows.append(_td("四、结转下年度继续办理", colspan=3, width=232) + values("carried_forward"))
    return _table(rows)


def render_table4(spec: ReportSpec) -> str:
    f = spec.facts
    labels = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
    rows = [
        _td("行政复议", colspan=5, width=190) + _td("行政诉讼", colspan=10, width=378),
        "".join(_td(x, rowspan=2, width=38) for x in labels)
        + _td("未经复议直接起诉", colspan=5, width=189)
        + _td("复议后起诉", colspan=5, width=189),
        "".join(_td(x, width=38) for x in labels * 2),
        "".join(_td(f[("t4", r, c)], width=38) for r in T4_ROWS for c in T4_COLS),
    ]
    return _table(rows)


# ---------------------------------------------------------------------------------------- whole body


def render_body(spec: ReportSpec, *, image_urls: list[str] | None = None) -> str:
    """The article body (what sits inside the portal's content div)."""
    if spec.image_only:
        imgs = image_urls or []
        return para(spec.title, center=True) + "".join(
            f'<p style="text-align:center"><img src="{u}" width="800" alt="" border="0"></p>' for u in imgs
        )
    if spec.template == "legacy":
        return _legacy_body(spec)
    f = spec.facts
    y = spec.year
    received = int(f[("t3", "new_received", "total")])
    review = int(f[("t4", "review", "total")])
    suits = int(f[("t4", "litigation_direct", "total")]) + int(f[("t4", "litigation_after_review", "total")])
    fmt_name = "国办公开办函〔2021〕30号" if spec.template == "2021" else "国办公开办函〔2019〕60号"
    parts = [
        para(spec.title, center=True, heading=True),
        para(
            f"本报告根据《中华人民共和国政府信息公开条例》（以下简称《条例》）和《{fmt_name}》要求编制，"
            f"由{spec.agency}编制。全文包括总体情况、主动公开政府信息情况、收到和处理政府信息公开申请情况、"
            "政府信息公开行政复议和行政诉讼情况、存在的主要问题及改进情况、其他需要报告的事项。"
            f"本报告中所列数据的统计期限自{y}年1月1日起至{y}年12月31日止。"
        ),
        para("一、总体情况", heading=True),
        para(
            f"{y}年，{spec.agency}认真贯彻落实《条例》，坚持以公开为常态、不公开为例外，"
            "围绕中心工作，扎实推进政府信息公开工作。"
        ),
        para("（一）主动公开。" + "通过门户网站及时公开机构职能、政策文件、财政预决算等信息。"),
        para(f"（二）依申请公开。全年共收到政府信息公开申请{received}件，均在法定期限内答复。"),
        para("（三）政府信息管理。严格落实信息发布保密审查制度。"),
        para("（四）平台建设。持续优化政府信息公开专栏。"),
        para(f"（五）监督保障。全年因政府信息公开被申请行政复议{review}件、提起行政诉讼{suits}件。"),
    ]
    if spec.revision:
        parts.append(para(f"（本报告于发布后第{spec.revision}次更正数据。）"))
    parts += [
        para("二、主动公开政府信息情况", heading=True),
        render_table2(spec),
        para("三、收到和处理政府信息公开申请情况", heading=True),
        render_table3(spec),
        para("四、政府信息公开行政复议、行政诉讼情况", heading=True),
        render_table4(spec),
        para("五、存在的主要问题及改进情况", heading=True),
        para("一是信息公开的及时性有待提高；二是政策解读形式较为单一。下一步将加强培训，提升公开质量。"),
        para("六、其他需要报告的事项", heading=True),
        para(f"本年度未收取信息处理费。{spec.agency}无其他需要报告的事项。"),
    ]
    return "\n".join(parts)


def _legacy_body(spec: ReportSpec) -> str:
    rng = random.Random(spec.seed)
    n_pub = rng.randint(100, 2000)
    n_app = rng.randint(0, 30)
    y = spec.year
    return "\n".join(
        [
            para(spec.title, center=True, heading=True),
            para(
                f"本年度报告根据《中华人民共和国政府信息公开条例》要求，由{spec.agency}编制。报告中所列数据的统计期限自"
                f"{y}年1月1日起至{y}年12月31日止。"
            ),
            para("一、概述", heading=True),
            para(f"{y}年，我县政府信息公开工作稳步推进。"),
            para("二、主动公开政府信息情况", heading=True),
            para(f"全年共主动公开政府信息{n_pub}条。"),
            para("三、依申请公开政府信息情况", heading=True),
            para(f"全年共受理政府信息公开申请{n_app}件，均已按期答复，同意公开{n_app}件。"),
            para("四、政府信息公开的收费及减免情况", heading=True),
            para("本年度未收取任何费用。"),
            para("五、因政府信息公开申请行政复议、提起行政诉讼的情况", heading=True),
            para("本年度未发生因政府信息公开引起的行政复议、行政诉讼。"),
            para("六、存在的主要问题及改进措施", heading=True),
            para("工作机制有待进一步完善。"),
        ]
    )
