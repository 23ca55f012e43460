"""Is this page a report, and which template is it?  Decided by content, never by the year alone."""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractors.formats import LEGACY_MARKERS, TEMPLATE_MARKERS
from extractors.model import Fact

_ANTI_CRAWL = re.compile(
    r"访问过于频繁|请求过于频繁|访问频率|频繁访问|验证码|安全验证|人机验证|滑动验证|访问被拦截|访问受限|禁止访问|"
    r"Access Denied|403 Forbidden|请开启\s*JavaScript|enable JavaScript|请稍后再试|Too Many Requests|网站防火墙|安全狗|云防护",
    re.I,
)
#: The kinds of documents that are not reports (``Report.doc_kind``): stable ids the warehouse stores in
#: ``analytics.documents``, never renamed.  A report has kind ``report``.
DOC_KINDS: dict[str, str] = {
    "notice": "a notice or regulation about the reports (关于做好…年度报告编制发布工作的通知, 公告, 办法…)",
    "interpretation": "an interpretation of a report (解读, 图解, 一图读懂, 答记者问)",
    "summary": "a summary of a report or of the year's work (…年度报告要点, 摘要, 工作总结)",
    "plan": "a work plan (政务公开工作要点, 方案, 计划)",
    "guide": "a disclosure guide (政府信息公开指南)",
    "list": "a list or column page linking reports",
    "anti_crawl": "an anti-crawl, captcha or WAF challenge page served in place of the document",
    "login": "a login page",
    "placeholder": "an empty page or a placeholder (该信息已删除, 页面不存在)",
    "truncated": "an incomplete download (the HTML stops before its end)",
    "other_report": "an annual report or plan on another subject (法治政府建设年度报告, 决算, 统计公报)",
    "not_a_report": "anything else without the structure of a report",
    "error": "the extractor failed on it (a bug, recorded with the exception)",
}


@dataclass(frozen=True)
class Decoy:
    """A title that names something other than a report.  ``strong``: not even a 年度报告 title with tables 三/四
    makes it a report (a notice about compiling the reports prints the blank official form)."""

    kind: str
    reason: str
    strong: bool = False


_DECOY_TITLES: tuple[tuple[re.Pattern[str], Decoy, bool], ...] = (
    # (title pattern, decoy, soft: a 年度报告 title wins over it — "关于印发…年度报告的通知" is the report itself)
    (re.compile(r"^(?=.*(?:通知|函\s*$))(?=.*(?:做好|开展|报送|加强|规范|编制|发布工作|有关事项|有关工作|格式))"),
     Decoy("notice", "a notice about compiling or publishing the reports (通知), not a report", strong=True), False),
    (re.compile(r"解读|图解|一图读懂|图说|答记者问|问答"),
     Decoy("interpretation", "an interpretation article (解读) about a report, not the report itself", strong=True), False),
    (re.compile(r"工作要点"), Decoy("plan", "a work plan (工作要点), not an annual report"), False),
    (re.compile(r"要点|摘要|概要|简要情况"), Decoy("summary", "a summary (要点/摘要) of a report, not the report itself", strong=True), False),
    (re.compile(r"公开指南|指南"), Decoy("guide", "a disclosure guide (指南), not an annual report"), False),
    (re.compile(r"目录"), Decoy("list", "a catalogue page (目录), not an annual report"), True),
    (re.compile(r"方案|计划"), Decoy("plan", "a plan (方案/计划), not an annual report"), True),
    (re.compile(r"通知|办法|制度|规定|意见|决定|公告|通报"), Decoy("notice", "a notice/regulation page, not an annual report"), True),
    (re.compile(r"工作总结|工作情况总结"), Decoy("summary", "a work summary (工作总结), not an annual report"), True),
)
_REPORT_TITLE = re.compile(r"(政府)?信息公开.{0,12}年度?报告|年度报告|年报")
_WAF = re.compile(
    r"__jsl_clearance|_waf_|waf_|yunsuo|safedog|cdn-cgi/challenge|cf-browser-verification|cf_chl_|challenge-platform|"
    r"TSPD_|hw_waf|jiasule|anquanbao|360wzb|知道创宇|创宇盾|加速乐|云锁|安全狗|安全检测|浏览器安全检查|正在验证|正在进行安全|"
    r"Checking your browser|DDoS protection|请稍候[.。…]*正在|访问验证",
    re.I,
)
_SCRIPT_REDIRECT = re.compile(r"document\.cookie\s*=|location(?:\.href)?\s*=|location\.(?:reload|replace)\(|setTimeout\(", re.I)
_PLACEHOLDER = re.compile(
    r"(?:该|此|本)?(?:信息|文章|页面|内容|稿件|栏目|文件)(?:已|已经)?(?:被)?(?:删除|撤销|撤稿|撤回|下线|过期|失效|移除|不存在)|"
    r"(?:页面|网页|文章|信息|内容|资源)(?:不存在|未找到|找不到|无法访问|已失效)|您(?:所)?访问的页面(?:不存在|已)|暂无(?:信息|内容|数据)|"
    r"^\s*404\s*$|404\s*(?:Not Found|错误|页面)|Page Not Found|File Not Found|Object moved|正在建设|建设中"
)


def anti_crawl(text: str) -> bool:
    return len(text) < 3000 and bool(_ANTI_CRAWL.search(text))


def waf_markup(markup: str, visible_chars: int, images: int = 0) -> bool:
    """A WAF/JS challenge page served with status 200: little visible text and the markup names a known WAF
    (加速乐 __jsl_clearance, 安全狗, 云锁, Cloudflare …), or no text, no image and a script that sets a cookie or
    redirects (a 图片版 report page that redirects mobile browsers keeps its images)."""
    if visible_chars > 600 or len(markup) > 200_000:
        return False
    if _WAF.search(markup):
        return True
    return visible_chars < 80 and not images and "<script" in markup.lower() and bool(_SCRIPT_REDIRECT.search(markup))


def placeholder(text: str) -> bool:
    """A short page saying the document was deleted / does not exist (a CMS placeholder, a soft 404)."""
    return len(text) < 600 and bool(_PLACEHOLDER.search(text))


def decoy(title: str) -> Decoy | None:
    """What the title says the page is when it is not a report (``None``: nothing against a report)."""
    for pat, d, soft in _DECOY_TITLES:
        if pat.search(title):
            if soft and _REPORT_TITLE.search(title):
                continue
            return d
    return None


def decoy_reason(title: str) -> str | None:
    d = decoy(title)
    return d.reason if d else None


def is_report_title(title: str) -> bool:
    return bool(_REPORT_TITLE.search(title))


def template_votes(norm_text: str) -> dict[str, int]:
    return {t: sum(1 for p in pats if re.search(p, norm_text)) for t, pats in TEMPLATE_MARKERS.items()}


def legacy_votes(norm_text: str) -> int:
    return sum(1 for p in LEGACY_MARKERS if re.search(p, norm_text))


def detect_template(norm_text: str, facts: list[Fact], year: int | None, legacy_structure: bool = False) -> str:
    """2021 / 2019 by marker votes; ties and marker-less tables by the table 三 rows present.

    Without official tables (no t3/t4 fact): ``legacy`` for a statistics year up to 2018, and for a 2019 (or
    undated) report laid out as the 2008 regulation asked (``legacy_structure``: 概述 / 依申请公开 / 收费及减免 /
    因…申请行政复议 headings) — the 2019 format was only *encouraged* for the 2019 reports.  Official tables are
    read by their content whatever the year (a pre-2019 year with them gets the warning year.template_mismatch)."""
    votes = template_votes(norm_text)
    official = any(f.table in ("t3", "t4") for f in facts)
    if not official:
        if year is not None and year <= 2018:
            return "legacy"
        if legacy_structure and (year is None or year <= 2019):
            return "legacy"
    t3_rows = {f.row for f in facts if f.table == "t3"}
    by_rows = "2021" if t3_rows & {"other_no_correction", "other_no_fee", "other_misc"} else ("2019" if "other" in t3_rows else None)
    if votes["2021"] > votes["2019"]:
        return "2021"
    if votes["2019"] > votes["2021"]:
        return "2019"
    if votes["2019"] and by_rows:
        return by_rows
    if by_rows:
        return by_rows
    if official:
        return "2019" if year is not None and year <= 2020 else "2021"
    if legacy_votes(norm_text) >= 2 and year is None:
        return "legacy"
    return "unknown"
