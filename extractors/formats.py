"""The official layouts of the annual report, declared once.

Everything the project knows about the two official formats (国办公开办函〔2019〕60号 and
国办公开办函〔2021〕30号) lives here: the six statutory sections, the blocks of tables 二/三/四 with
their row and column labels (and the label variants seen on real portals), the canonical keys the
warehouse stores, and the strings that tell one template from the other.  The extractor matches
labels with these patterns, the validator derives its arithmetic from the same keys, and
``docs/formats.md`` / ``docs/warehouse.md`` are generated from it, so the three can never disagree.

Label patterns are regular expressions applied to *normalised* label text (see
:func:`normalise_label`): NFKC (full-width digits and brackets become ASCII), all whitespace
removed, and Chinese brackets turned into ASCII parentheses.  Patterns are therefore written
against e.g. ``(三)不予公开1.属于国家秘密``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

Template = Literal["2019", "2021", "legacy", "unknown"]
TableKey = Literal["t2", "t3", "t4"]

#: Templates that have the standard tables.
OFFICIAL_TEMPLATES: tuple[str, ...] = ("2019", "2021")


_WS = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")
_BRACKETS = str.maketrans({"【": "[", "】": "]", "〔": "(", "〕": ")", "“": '"', "”": '"', "‘": "'", "’": "'"})


def normalise_label(text: str) -> str:
    """Canonical form of a label for matching: NFKC, no whitespace, ASCII brackets."""
    text = unicodedata.normalize("NFKC", text).translate(_BRACKETS)
    return _WS.sub("", text)


@dataclass(frozen=True)
class Label:
    """One row or column of an official table.

    ``label`` is the text printed on the official form; ``patterns`` match it and its variants on
    normalised text (first match wins, so more specific entries are declared first where needed).
    """

    key: str
    label: str
    patterns: tuple[str, ...]
    en: str = ""
    #: Rows/columns that may legitimately be negative (本年增/减).
    signed: bool = False
    #: Money column: values are normalised to 万元 whatever unit the cell or header shows.
    money: bool = False
    #: For money columns, the unit assumed when neither header nor cell names one.
    default_unit: str = "万元"
    #: For table 三 rows: the handling group the row belongs to ((三)…(六)), used by rule R3.
    group: str | None = None

    def matches(self, norm_text: str) -> bool:
        return any(re.search(p, norm_text) for p in self.patterns)


@dataclass(frozen=True)
class Block:
    """A block of a table: a set of rows measured in a set of columns."""

    id: str
    title: str
    rows: tuple[Label, ...]
    cols: tuple[Label, ...]
    #: Patterns that identify the block's header (e.g. 第二十条第(一)项).
    header_patterns: tuple[str, ...] = ()

    def row(self, key: str) -> Label:
        return next(r for r in self.rows if r.key == key)

    def col(self, key: str) -> Label:
        return next(c for c in self.cols if c.key == key)


@dataclass(frozen=True)
class TableSpec:
    table: TableKey
    template: str
    title: str
    blocks: tuple[Block, ...]
    #: Strings whose presence in a table's text identifies it as this table (any template).
    identify: tuple[str, ...] = ()

    def cells(self) -> list[tuple[str, str]]:
        """All (row_key, col_key) pairs this table defines, in form order."""
        return [(r.key, c.key) for b in self.blocks for r in b.rows for c in b.cols]

    def row_keys(self) -> list[str]:
        return [r.key for b in self.blocks for r in b.rows]

    def block_of_row(self, row_key: str) -> Block:
        return next(b for b in self.blocks if any(r.key == row_key for r in b.rows))


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionSpec:
    number: int
    heading: str
    patterns: tuple[str, ...]
    en: str
    required: bool = True
    #: False for a part that may sit anywhere in the report (the 2008 regulation's 收费及减免 part is printed before
    #: or after 复议诉讼): it is matched once wherever it is and does not move the statutory order forward.
    ordered: bool = True


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(1, "总体情况", (r"总体情况", r"基本情况", r"概述"), "Overview"),
    SectionSpec(2, "主动公开政府信息情况", (r"主动公开政府信息", r"主动公开情况", r"主动公开"), "Proactive disclosure"),
    SectionSpec(
        3,
        "收到和处理政府信息公开申请情况",
        (r"收到和处理政府信息公开申请", r"依申请公开", r"处理政府信息公开申请", r"公开申请情况"),
        "Applications received and handled",
    ),
    SectionSpec(
        4,
        "政府信息公开行政复议、行政诉讼情况",
        (r"行政复议.{0,4}行政诉讼", r"复议.{0,6}诉讼", r"行政复议"),
        "Administrative review and litigation",
    ),
    SectionSpec(
        5,
        "存在的主要问题及改进情况",
        (r"存在的主要问题", r"主要问题及改进", r"问题.{0,4}改进", r"存在的问题", r"不足"),
        "Problems and improvements",
    ),
    SectionSpec(6, "其他需要报告的事项", (r"其他需要报告", r"其他事项", r"需要报告的"), "Other matters"),
)


# --------------------------------------------------------------------------------------------
# Table 三: applications received and handled
# --------------------------------------------------------------------------------------------

T3_COLS: tuple[Label, ...] = (
    Label("natural_person", "自然人", (r"自然人",), "Natural persons"),
    Label("commercial", "商业企业", (r"商业企业",), "Commercial enterprises"),
    Label("research", "科研机构", (r"科研机构",), "Research institutions"),
    Label("public_interest", "社会公益组织", (r"社会公益组织", r"公益组织"), "Public-interest organisations"),
    Label("legal_service", "法律服务机构", (r"法律服务机构",), "Legal service institutions"),
    Label("other_org", "其他", (r"^其他$", r"其他组织$", r"^其它$"), "Other organisations"),
    Label("total", "总计", (r"总计", r"合计"), "Total"),
)

_T3_HEAD: tuple[Label, ...] = (
    Label("new_received", "一、本年新收政府信息公开申请数量", (r"本年新收", r"新收.{0,6}申请"), "New applications this year"),
    Label("carried_over", "二、上年结转政府信息公开申请数量", (r"上年结转", r"上一年度?结转"), "Carried over from last year"),
    Label("granted", "（一）予以公开", (r"予以公开",), "Granted", group="result"),
    Label(
        "partially_granted",
        "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
        (r"部分公开",),
        "Partially granted",
        group="result",
    ),
    Label("denied_state_secret", "1.属于国家秘密", (r"国家秘密",), "Denied: state secret", group="denied"),
    Label(
        "denied_prohibited_by_law",
        "2.其他法律行政法规禁止公开",
        (r"禁止公开", r"法律行政", r"法律法规", r"行政止公开"),
        "Denied: prohibited by other laws",
        group="denied",
    ),
    Label(
        "denied_security_stability",
        "3.危及“三安全一稳定”",
        (r"三安全", r"一稳定", r"危及"),
        "Denied: endangers security/stability",
        group="denied",
    ),
    Label("denied_third_party", "4.保护第三方合法权益", (r"第三方",), "Denied: third-party rights", group="denied"),
    Label("denied_internal_affairs", "5.属于三类内部事务信息", (r"内部事务",), "Denied: internal affairs", group="denied"),
    Label("denied_process_info", "6.属于四类过程性信息", (r"过程性",), "Denied: process information", group="denied"),
    Label("denied_enforcement_file", "7.属于行政执法案卷", (r"执法案卷",), "Denied: enforcement file", group="denied"),
    Label("denied_query_matter", "8.属于行政查询事项", (r"查询事项",), "Denied: administrative query", group="denied"),
    Label("unable_not_held", "1.本机关不掌握相关政府信息", (r"不掌握",), "Unable: not held", group="unable"),
    Label(
        "unable_needs_creation",
        "2.没有现成信息需要另行制作",
        (r"另行制作", r"没有现成"),
        "Unable: needs to be created",
        group="unable",
    ),
    Label("unable_unclear", "3.补正后申请内容仍不明确", (r"仍不明确", r"补正后"), "Unable: still unclear", group="unable"),
    Label("rejected_complaint", "1.信访举报投诉类申请", (r"信访", r"举报投诉"), "Not processed: petition/complaint", group="rejected"),
    Label("rejected_duplicate", "2.重复申请", (r"重复申请",), "Not processed: duplicate", group="rejected"),
    Label("rejected_publication", "3.要求提供公开出版物", (r"公开出版物", r"出版物"), "Not processed: publication", group="rejected"),
    Label("rejected_massive", "4.无正当理由大量反复申请", (r"大量反复", r"大量.{0,2}申请"), "Not processed: massive repeated", group="rejected"),
    Label(
        "rejected_confirmation",
        "5.要求行政机关确认或重新出具已获取信息",
        (r"重新出具", r"确认或重新"),
        "Not processed: confirm/re-issue",
        group="rejected",
    ),
)

_T3_TAIL: tuple[Label, ...] = (
    Label("total_handled", "（七）总计", (r"^(?:三、本年度办理结果)?\(七\)", r"^(?:三、本年度办理结果)?总计$", r"\(七\)总计"), "Total handled"),
    Label("carried_forward", "四、结转下年度继续办理", (r"结转下一?年", r"下一?年度继续"), "Carried forward to next year"),
)

T3_OTHER_2019 = Label("other", "（六）其他处理", (r"其他处理",), "Other handling", group="other")
T3_OTHER_2021: tuple[Label, ...] = (
    Label(
        "other_no_correction",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        (r"逾期不补正", r"不补正"),
        "Other: applicant did not correct in time",
        group="other",
    ),
    Label(
        "other_no_fee",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        (r"收费通知", r"缴纳费用"),
        "Other: applicant did not pay the fee",
        group="other",
    ),
    Label("other_misc", "3.其他", (r"其他处理.*\d\.其[他它]$", r"其他处理.*其[他它]$", r"^\d\.其[他它]$", r"^\d[、,，]其[他它]$", r"^\(\d\)其[他它]$"), "Other: miscellaneous", group="other"),
)

T3_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"

_T3_IDENTIFY = (r"本年新收", r"上年结转", r"予以公开", r"结转下年")


def _t3(template: str, other_rows: tuple[Label, ...]) -> TableSpec:
    rows = _T3_HEAD + other_rows + _T3_TAIL
    return TableSpec(
        "t3",
        template,
        "三、收到和处理政府信息公开申请情况",
        (Block("t3", "收到和处理政府信息公开申请情况", rows, T3_COLS),),
        identify=_T3_IDENTIFY,
    )


# --------------------------------------------------------------------------------------------
# Table 四: administrative review and litigation (identical in both templates)
# --------------------------------------------------------------------------------------------

T4_COLS: tuple[Label, ...] = (
    Label("upheld", "结果维持", (r"维持",), "Upheld"),
    Label("corrected", "结果纠正", (r"纠正",), "Corrected"),
    Label("other", "其他结果", (r"其他结果", r"^其他$", r"其它结果"), "Other outcome"),
    Label("pending", "尚未审结", (r"尚未审结", r"未审结"), "Pending"),
    Label("total", "总计", (r"总计", r"合计"), "Total"),
)
T4_ROWS: tuple[Label, ...] = (
    Label("review", "行政复议", (r"行政复议",), "Administrative review"),
    Label("litigation_direct", "行政诉讼·未经复议直接起诉", (r"未经复议", r"直接起诉"), "Litigation without prior review"),
    Label("litigation_after_review", "行政诉讼·复议后起诉", (r"复议后起诉", r"复议后"), "Litigation after review"),
)


def _t4(template: str) -> TableSpec:
    return TableSpec(
        "t4",
        template,
        "四、政府信息公开行政复议、行政诉讼情况",
        (Block("t4", "行政复议、行政诉讼", T4_ROWS, T4_COLS),),
        identify=(r"行政复议", r"行政诉讼", r"未经复议"),
    )


# --------------------------------------------------------------------------------------------
# Table 二: proactive disclosure
# --------------------------------------------------------------------------------------------

_REGULATIONS = Label("regulations", "规章", (r"^规章$", r"^规章",), "Regulations")
_LICENSE = Label("administrative_license", "行政许可", (r"行政许可",), "Administrative licensing")
_PENALTY = Label("administrative_penalty", "行政处罚", (r"行政处罚",), "Administrative penalties")
_COERCION = Label("administrative_coercion", "行政强制", (r"行政强制",), "Administrative coercion")
_FEES = Label("administrative_fees", "行政事业性收费", (r"行政事业性收费", r"事业性收费"), "Administrative fees")

_ITEM = r"第二十条第\({n}\)项"

T2_2019 = TableSpec(
    "t2",
    "2019",
    "二、主动公开政府信息情况",
    (
        Block(
            "item1",
            "第二十条第（一）项",
            (_REGULATIONS, Label("normative_documents", "规范性文件", (r"规范性文件",), "Normative documents")),
            (
                Label("new_made", "本年新制作数量", (r"新制作",), "Made this year"),
                Label("new_published", "本年新公开数量", (r"新公开",), "Published this year"),
                Label("total_published", "对外公开总数量", (r"公开总数",), "Total published"),
            ),
            (_ITEM.format(n="一"),),
        ),
        Block(
            "item5",
            "第二十条第（五）项",
            (_LICENSE, Label("other_management_services", "其他对外管理服务事项", (r"对外管理服务",), "Other external management services")),
            (
                Label("prev_year_items", "上一年项目数量", (r"上一年项目",), "Items in previous year"),
                Label("change", "本年增/减", (r"增/?减", r"增减"), "Change this year", signed=True),
                Label("decisions", "处理决定数量", (r"处理决定",), "Decisions"),
            ),
            (_ITEM.format(n="五"),),
        ),
        Block(
            "item6",
            "第二十条第（六）项",
            (_PENALTY, _COERCION),
            (
                Label("prev_year_items", "上一年项目数量", (r"上一年项目",), "Items in previous year"),
                Label("change", "本年增/减", (r"增/?减", r"增减"), "Change this year", signed=True),
                Label("decisions", "处理决定数量", (r"处理决定",), "Decisions"),
            ),
            (_ITEM.format(n="六"),),
        ),
        Block(
            "item8",
            "第二十条第（八）项",
            (_FEES,),
            (
                Label("prev_year_items", "上一年项目数量", (r"上一年项目",), "Items in previous year"),
                Label("change", "本年增/减", (r"增/?减", r"增减"), "Change this year", signed=True),
            ),
            (_ITEM.format(n="八"),),
        ),
        Block(
            "item9",
            "第二十条第（九）项",
            (Label("centralized_procurement", "政府集中采购", (r"集中采购",), "Centralised procurement"),),
            (
                Label("projects", "采购项目数量", (r"采购项目",), "Procurement projects"),
                Label(
                    "amount_10k_yuan",
                    "采购总金额",
                    (r"采购总金额", r"总金额"),
                    "Procurement amount (10k yuan)",
                    money=True,
                    default_unit="万元",
                ),
            ),
            (_ITEM.format(n="九"),),
        ),
    ),
    identify=(r"第二十条", r"信息内容"),
)

T2_2021 = TableSpec(
    "t2",
    "2021",
    "二、主动公开政府信息情况",
    (
        Block(
            "item1",
            "第二十条第（一）项",
            (_REGULATIONS, Label("normative_documents", "行政规范性文件", (r"规范性文件",), "Administrative normative documents")),
            (
                Label("issued", "本年制发件数", (r"制发",), "Issued this year"),
                Label("repealed", "本年废止件数", (r"废止",), "Repealed this year"),
                Label("in_force", "现行有效件数", (r"现行有效",), "In force"),
            ),
            (_ITEM.format(n="一"),),
        ),
        Block(
            "item5",
            "第二十条第（五）项",
            (_LICENSE,),
            (Label("decisions", "本年处理决定数量", (r"处理决定",), "Decisions this year"),),
            (_ITEM.format(n="五"),),
        ),
        Block(
            "item6",
            "第二十条第（六）项",
            (_PENALTY, _COERCION),
            (Label("decisions", "本年处理决定数量", (r"处理决定",), "Decisions this year"),),
            (_ITEM.format(n="六"),),
        ),
        Block(
            "item8",
            "第二十条第（八）项",
            (_FEES,),
            (
                Label(
                    "amount_10k_yuan",
                    "本年收费金额（单位：万元）",
                    (r"收费金额", r"金额"),
                    "Fees collected (10k yuan)",
                    money=True,
                    default_unit="万元",
                ),
            ),
            (_ITEM.format(n="八"),),
        ),
    ),
    identify=(r"第二十条", r"信息内容"),
)


TABLES: dict[str, dict[str, TableSpec]] = {
    "2019": {"t2": T2_2019, "t3": _t3("2019", (T3_OTHER_2019,)), "t4": _t4("2019")},
    "2021": {"t2": T2_2021, "t3": _t3("2021", T3_OTHER_2021), "t4": _t4("2021")},
}


def table_spec(template: str, table: str) -> TableSpec | None:
    return TABLES.get(template, {}).get(table)


# --------------------------------------------------------------------------------------------
# Template detection: by content, never by year
# --------------------------------------------------------------------------------------------

#: Normalised-text markers; each hit is one vote for the template.
TEMPLATE_MARKERS: dict[str, tuple[str, ...]] = {
    "2021": (r"本年制发件数", r"现行有效件数", r"本年废止件数", r"本年处理决定数量", r"本年收费金额", r"逾期不补正", r"收费通知"),
    "2019": (r"本年新制作数量", r"对外公开总数量", r"本年新公开数量", r"上一年项目数量", r"第二十条第\(九\)项", r"政府集中采购"),
}

#: Markers of an old (pre-2019) statistics table: keeps a legacy report recognisable as a report.
LEGACY_MARKERS: tuple[str, ...] = (
    r"依申请公开",
    r"主动公开政府信息",
    r"申请.{0,8}件",
    r"同意公开",
    r"行政复议",
)

# --------------------------------------------------------------------------------------------
# Pre-2019 ("legacy") reports: the 2008 regulation's free-form layout and the figures they state
# --------------------------------------------------------------------------------------------

#: The parts of a report written under the 2008 regulation (国务院令第492号 art. 32), in their usual order:
#: 一、概述 二、主动公开政府信息情况 三、依申请公开政府信息情况 四、政府信息公开的收费及减免情况
#: 五、因政府信息公开申请行政复议、提起行政诉讼的情况 六、存在的主要问题及改进措施 (七、其他需要报告的事项).
#: Each part takes the number of the statutory (2019) section with the same content, so that analysts compare
#: sections across the two regulations; the fees part, which the 2019 layout does not have (fees moved to table
#: 二 item 八 and section 六), takes its own number 7.
LEGACY_SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(1, "概述", (r"概述", r"概况", r"总体情况", r"基本情况"), "Overview"),
    SectionSpec(2, "主动公开政府信息情况", (r"主动公开",), "Proactive disclosure"),
    SectionSpec(3, "依申请公开政府信息情况", (r"依申请公开", r"申请公开", r"公开申请"), "Disclosure on application"),
    SectionSpec(7, "政府信息公开的收费及减免情况", (r"收费", r"减免"), "Fees and fee waivers", required=False, ordered=False),
    SectionSpec(4, "因政府信息公开申请行政复议、提起行政诉讼的情况", (r"行政复议", r"行政诉讼", r"复议.{0,6}诉讼", r"申诉"),
                "Administrative review, litigation and complaints"),
    SectionSpec(5, "存在的主要问题及改进措施", (r"存在的?(?:主要)?问题", r"问题.{0,6}(?:改进|措施|建议)", r"不足", r"改进(?:措施|情况|工作)"),
                "Problems and improvements"),
    SectionSpec(6, "其他需要报告的事项", (r"其他需要报告", r"其他事项", r"需要报告的", r"^其他$"), "Other matters", required=False),
)

#: Heading texts only the 2008 layout has: two of them make a report's structure legacy (see classify.detect_template).
LEGACY_HEADINGS: tuple[str, ...] = (r"概述", r"依申请公开", r"收费(?:及|和|与|、)?减免|收费情况", r"因政府信息公开申请.{0,4}行政复议|提起行政诉讼")


@dataclass(frozen=True)
class LegacyFigure:
    """One figure a pre-2019 report states, read as fact ``(legacy, key, col)``.

    ``label`` is the indicator of the 2008-era 政府信息公开情况统计表 (most annexes print it); ``rows`` match that
    indicator (and its short forms) as a table row label or a ``label：N`` line, on normalised text with the
    numbering ("（一）", "三、", "1.", "其中：") removed; ``text`` match a narrative sentence ("全年共受理政府信息公开申请
    12件") where the named group ``n`` is the number; ``zero`` match a sentence stating there were none ("未发生因政府信息
    公开引起的行政复议、行政诉讼") — a stated 0, recorded with the words as ``raw``.  ``parent``: a sub-indicator that only
    counts under its parent's row in a table (维持具体行政行为数 under 行政复议数量 or 行政诉讼数量).
    """

    key: str
    label: str
    en: str
    rows: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    zero: tuple[str, ...] = ()
    col: str = "total"
    money: bool = False  # normalised to 万元 (default unit 万元 in tables, as on the 统计表; prose names its unit)
    parent: str | None = None


_N = r"(?P<n>\d[\d,]*(?:\.\d+)?|[零〇一二两三四五六七八九十]{1,3})"
_GAP = r"[^,，。;；:：]{0,12}?"
_NONE = r"(?:未|没有|无|均未|并未|尚未|暂无)"

#: Declared most specific first: a table row or labelled line takes the first figure whose ``rows`` match.
LEGACY_FIGURES: tuple[LegacyFigure, ...] = (
    LegacyFigure("normative_documents_issued", "制发规范性文件总数", "Normative documents issued", rows=(r"制发规范性文件",)),
    LegacyFigure("proactive_normative_documents", "其中：主动公开规范性文件数", "Normative documents disclosed proactively",
                 rows=(r"规范性文件",),
                 text=(r"(?:其中|包括)[^。;；]{0,8}?规范性文件(?:共)?" + _N + r"(?:件|条|个|份|项)",
                       r"主动公开(?:了)?规范性文件(?:共)?" + _N + r"(?:件|条|个|份|项)")),
    LegacyFigure("proactive_published", "主动公开政府信息数", "Government information disclosed proactively",
                 rows=(r"^主动公开(?:政府)?信息(?:数|总数|条数|数量|总量)?(?:\(.*\))?$", r"^主动公开(?:数|总数|条数|数量|总量)?$",
                       r"^公开政府信息(?:数|总数|条数)$"),
                 text=(r"主动(?:向社会)?公开" + _GAP + r"信息(?:共计|共|总计|合计|总数|总量|数量)?(?:为|达到|达|有)?" + _N + r"(?:条|件|项)",)),
    LegacyFigure("applications_on_time", "按时办结数", "Applications completed on time", rows=(r"按时办结",)),
    LegacyFigure("applications_extended", "延期办结数", "Applications completed after an extension", rows=(r"延期办结",)),
    LegacyFigure("applications_completed", "申请办结数", "Applications completed", rows=(r"办结(?:数|件数|数量)?$",)),
    LegacyFigure("applications_answered", "申请答复数", "Applications answered", rows=(r"^(?:申请)?答复(?:数|件数|总数)$",)),
    LegacyFigure("answered_already_public", "属于已主动公开范围数", "Answered: already disclosed", rows=(r"已主动公开",),
                 text=(r"属于已(?:经)?主动公开(?:范围|内容)?(?:的)?" + _N + r"(?:件|条|个)",)),
    LegacyFigure("partially_granted", "同意部分公开答复数", "Partially granted", rows=(r"部分公开",),
                 text=(r"部分公开(?:答复)?(?:的)?" + _N + r"(?:件|条|个)",)),
    LegacyFigure("denied", "不同意公开答复数", "Denied", rows=(r"不同意公开|不予公开",),
                 text=(r"(?:不同意公开|不予公开)(?:答复)?(?:的)?" + _N + r"(?:件|条|个)",)),
    LegacyFigure("granted", "同意公开答复数", "Granted", rows=(r"同意公开|予以公开",),
                 text=(r"(?<![不分])(?:同意公开|予以公开)(?:答复)?(?:的)?" + _N + r"(?:件|条|个)",)),
    LegacyFigure("not_this_agency", "不属于本行政机关公开数", "Not held by this agency", rows=(r"不属于本",),
                 text=(r"不属于本(?:行政)?(?:机关|单位|部门)" + _GAP + _N + r"(?:件|条|个)",)),
    LegacyFigure("not_exist", "申请信息不存在数", "Information does not exist", rows=(r"信息不存在",),
                 text=(r"信息不存在(?:的)?" + _N + r"(?:件|条|个)",)),
    LegacyFigure("applications_received", "收到申请数", "Applications received",
                 rows=(r"收到(?:的)?(?:政府信息公开)?申请", r"受理(?:的)?(?:政府信息公开)?申请", r"^申请(?:总)?(?:数|件数|数量)$",
                       r"^依申请公开(?:政府信息)?(?:数|件数|申请数|数量)?$", r"^受理(?:数|件数)$"),
                 text=(r"(?:受理|收到|接到|接收|办理)" + _GAP + r"(?:申请|依申请公开(?:政府信息)?)(?:共计|共|总计|合计)?(?:为|达)?" + _N
                       + r"(?:件|条|份|个|次|人次)",),
                 zero=(_NONE + r"(?:收到|受理|接到|发生)" + _GAP + r"申请(?!人)",)),
    LegacyFigure("review_upheld", "维持具体行政行为数", "Review: upheld", rows=(r"维持",), parent="review"),
    LegacyFigure("review_corrected", "被依法纠错数", "Review: corrected", rows=(r"纠错|纠正",), parent="review"),
    LegacyFigure("review_other", "其他情形数", "Review: other outcome", rows=(r"其他情形|其它情形",), parent="review"),
    LegacyFigure("litigation_upheld", "维持具体行政行为或者驳回原告诉讼请求数", "Litigation: upheld or dismissed",
                 rows=(r"维持|驳回",), parent="litigation"),
    LegacyFigure("litigation_corrected", "被依法纠错数", "Litigation: corrected", rows=(r"纠错|纠正",), parent="litigation"),
    LegacyFigure("litigation_other", "其他情形数", "Litigation: other outcome", rows=(r"其他情形|其它情形",), parent="litigation"),
    LegacyFigure("review", "行政复议数量", "Administrative reviews", rows=(r"行政复议",),
                 text=(r"行政复议(?:案件|申请)?(?:共|共计)?(?:为)?" + _N + r"(?:件|起|宗|次|个)",),
                 zero=(_NONE + r"(?:发生|收到|出现|有|涉及|接到)?" + r"[^,，。;；]{0,16}?行政复议",)),
    LegacyFigure("litigation", "行政诉讼数量", "Administrative lawsuits", rows=(r"行政诉讼",),
                 text=(r"行政诉讼(?:案件)?(?:共|共计)?(?:为)?" + _N + r"(?:件|起|宗|次|个)",),
                 zero=(_NONE + r"(?:发生|收到|出现|有|涉及|接到)?" + r"[^,，。;；]{0,22}?诉讼",)),
    LegacyFigure("complaints", "举报投诉数量", "Complaints (申诉/举报投诉)", rows=(r"举报投诉|投诉举报|申诉",),
                 text=(r"(?:申诉|举报投诉|投诉举报)(?:案件)?(?:共|共计)?(?:为)?" + _N + r"(?:件|起|宗|次|个)",),
                 zero=(_NONE + r"(?:发生|收到|出现|有|涉及|接到)?" + r"[^,，。;；]{0,26}?(?:申诉|举报投诉|投诉举报)",)),
    LegacyFigure("fees_collected", "依申请公开信息收取的费用", "Fees collected for disclosure on application (10k yuan)",
                 rows=(r"收取(?:的)?费用|收费(?:金额|数额|总额)?$",), col="amount_10k_yuan", money=True,
                 text=(r"收取" + _GAP + r"费(?:用)?(?:共|共计|合计)?(?:为)?" + r"(?P<n>\d[\d,]*(?:\.\d+)?)(?P<unit>万元|元)",),
                 zero=(r"(?:未|没有|不|无|均未|并未)(?:向申请人)?收取(?:任何)?" + _GAP + r"费(?:用)?", r"无收费|零收费")),
)

#: Money unit factors to 万元.
MONEY_UNITS: dict[str, float] = {"万元": 1.0, "亿元": 10000.0, "千元": 0.1, "元": 0.0001}


def all_specs() -> list[TableSpec]:
    return [spec for tables in TABLES.values() for spec in tables.values()]
