"""Is this page a report, and which template is it?  Decided by content, never by the year alone."""

from __future__ import annotations

import re

from extractors.formats import LEGACY_MARKERS, TEMPLATE_MARKERS
from extractors.model import Fact

_ANTI_CRAWL = re.compile(
    r"访问过于频繁|请求过于频繁|访问频率|频繁访问|验证码|安全验证|人机验证|滑动验证|访问被拦截|访问受限|禁止访问|"
    r"Access Denied|403 Forbidden|请开启\s*JavaScript|enable JavaScript|请稍后再试|Too Many Requests|网站防火墙|安全狗|云防护",
    re.I,
)
_DECOY_TITLES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"解读|图解|一图读懂|图说|答记者问|问答"), "an interpretation article (解读) about a report, not the report itself"),
    (re.compile(r"工作要点"), "a work plan (工作要点), not an annual report"),
    (re.compile(r"公开指南|指南"), "a disclosure guide (指南), not an annual report"),
    (re.compile(r"通知|方案|办法|制度|规定|意见|决定|公告|通报|目录"), "a notice/regulation page, not an annual report"),
    (re.compile(r"工作总结|工作情况总结"), "a work summary (工作总结), not an annual report"),
)
#: Decoy kinds whose words also appear in real report titles ("关于印发…年度报告的通知"): a 年度报告 title wins.
_SOFT = ("a notice", "a work summary")
_REPORT_TITLE = re.compile(r"(政府)?信息公开.{0,12}年度?报告|年度报告|年报")


def anti_crawl(text: str) -> bool:
    return len(text) < 3000 and bool(_ANTI_CRAWL.search(text))


def decoy_reason(title: str) -> str | None:
    for pat, reason in _DECOY_TITLES:
        if pat.search(title):
            if reason.startswith(_SOFT) and _REPORT_TITLE.search(title):
                continue
            return reason
    return None


def is_report_title(title: str) -> bool:
    return bool(_REPORT_TITLE.search(title))


def template_votes(norm_text: str) -> dict[str, int]:
    return {t: sum(1 for p in pats if re.search(p, norm_text)) for t, pats in TEMPLATE_MARKERS.items()}


def legacy_votes(norm_text: str) -> int:
    return sum(1 for p in LEGACY_MARKERS if re.search(p, norm_text))


def detect_template(norm_text: str, facts: list[Fact], year: int | None) -> str:
    """2021 / 2019 by marker votes; ties and marker-less tables by the table 三 rows present."""
    votes = template_votes(norm_text)
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
    if any(f.table in ("t3", "t4") for f in facts):
        return "2019" if year is not None and year <= 2020 else "2021"
    if year is not None and year < 2019:
        return "legacy"
    if legacy_votes(norm_text) >= 2 and (year is None or year < 2019):
        return "legacy"
    return "unknown"
