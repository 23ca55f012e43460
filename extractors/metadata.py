"""Title, issuing agency, statistics year and publication date of a report page."""

from __future__ import annotations

import datetime as dt
import re

from extractors.formats import normalise_label

_ZH_DIGITS = str.maketrans({"〇": "0", "○": "0", "零": "0", "Ｏ": "0", "O": "0", "一": "1", "二": "2", "三": "3", "四": "4",
                            "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"})
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_ZH_YEAR = re.compile(r"([〇○零一二三四五六七八九]{4})\s*年")
_PERIOD = re.compile(r"(?:统计|时限|期限|时间|区间|周期)[^。]{0,12}?((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日[^。]{0,6}?(?:至|到|—{1,2}|－|-|~|～)\s*(?:((?:19|20)\d{2})\s*年\s*)?12\s*月\s*31\s*日")
_DATE_LABEL = re.compile(
    r"(发布日期|公开日期|发布时间|成文日期|发文日期|生成日期|印发日期|日期)\s*[:：]?\s*((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})"
)
_AGENCY_LABEL = re.compile(r"(发布机构|发文机关|发布单位|公开主体|信息来源|来源|发布部门|制发机关|所属机构)\s*[:：]\s*([^\s:：|]{2,40})")
_SIGN_DATE = re.compile(r"^((?:19|20)\d{2}|[〇○零一二三四五六七八九]{4})\s*年\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*月\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*日$")
_AGENCY_SUFFIX = re.compile(r"(人民政府|政府|办公室|局|委员会|委|办|中心|院|街道办事处|办事处|镇|乡|公司|管委会|所|队|厅|部)$")
_TITLE_WORDS = re.compile(r"年度?报告|年报")


def _zh_number(s: str) -> int:
    if s.isdigit():
        return int(s)
    vals = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + vals.get(s[1:], 0)
    if "十" in s:
        a, _, b = s.partition("十")
        return vals.get(a, 0) * 10 + (vals.get(b, 0) if b else 0)
    return vals.get(s, 0)


def _date(y: str, m: str, d: str) -> dt.date | None:
    try:
        year = int(y.translate(_ZH_DIGITS)) if not y.isdigit() else int(y)
        return dt.date(year, _zh_number(m), _zh_number(d))
    except ValueError:
        return None


def pick_title(candidates: list[str]) -> str:
    cands = [c for c in (" ".join(x.split()) for x in candidates) if c]
    # a candidate naming the year first: the column name ("政府信息公开年报" in the page's <h1>) also says 年报
    for c in cands:
        if _TITLE_WORDS.search(c) and len(c) <= 120 and title_year(_strip_site(c)):
            return _strip_site(c)
    for c in cands:
        if _TITLE_WORDS.search(c) and len(c) <= 120:
            return _strip_site(c)
    return _strip_site(cands[0]) if cands else ""


def _strip_site(title: str) -> str:
    parts = [p.strip() for p in re.split(r"\s*(?:[|｜_]|\s-\s|-(?=[^-]{2,20}$)|—(?=[^—]{2,20}$))\s*", title) if p.strip()]
    if len(parts) > 1:
        for p in parts:
            if _TITLE_WORDS.search(p):
                return p
    return title


def title_year(title: str) -> int | None:
    m = _YEAR.search(title)
    if m:
        return int(m.group(1))
    m = _ZH_YEAR.search(title)
    if m:
        return int(m.group(1).translate(_ZH_DIGITS))
    return None


def period_year(text: str) -> int | None:
    """The statistics year stated in the preamble ("统计期限为2020年1月1日至2020年12月31日")."""
    m = _PERIOD.search(text[:5000])
    if m and m.group(2) in (None, m.group(1)):  # "至2020年12月31日" or "…至12月31日止"
        return int(m.group(1))
    return None


def labelled_date(texts: list[str]) -> dt.date | None:
    best: tuple[int, dt.date] | None = None
    rank = {"发布日期": 0, "公开日期": 0, "发布时间": 1, "成文日期": 2, "发文日期": 2, "印发日期": 2, "生成日期": 3, "日期": 4}
    for t in texts:
        for m in _DATE_LABEL.finditer(t):
            d = _date(m.group(2), m.group(3), m.group(4))
            if d and (best is None or rank[m.group(1)] < best[0]):
                best = (rank[m.group(1)], d)
    return best[1] if best else None


def labelled_agency(texts: list[str]) -> str:
    rank = {"发布机构": 0, "发文机关": 0, "发布单位": 0, "公开主体": 1, "制发机关": 1, "发布部门": 1, "所属机构": 2, "信息来源": 3, "来源": 4}
    best: tuple[int, str] | None = None
    for t in texts:
        for m in _AGENCY_LABEL.finditer(t):
            val = m.group(2).strip()
            if re.search(r"\d{4}|网站|本站|首页", val):
                continue
            if best is None or rank[m.group(1)] < best[0]:
                best = (rank[m.group(1)], val)
    return best[1] if best else ""


def signature(body: list[str]) -> tuple[str, dt.date | None]:
    """Agency and date of the signature at the end of the body (last few short lines)."""
    tail = [t.strip() for t in body[-6:]]
    for i in range(len(tail) - 1, -1, -1):
        m = _SIGN_DATE.match(normalise_label(tail[i]).replace("(", "").replace(")", ""))
        if m:
            d = _date(m.group(1), m.group(2), m.group(3))
            agency = ""
            if i > 0 and len(tail[i - 1]) <= 30 and _AGENCY_SUFFIX.search(tail[i - 1].replace(" ", "")):
                agency = tail[i - 1].replace(" ", "")
            return agency, d
    return "", None


def agency_from_title(title: str) -> str:
    m = re.match(r"^(.{2,40}?)(?:(?:19|20)\d{2}|[〇○零一二三四五六七八九]{4})\s*年", title)
    if m:
        cand = m.group(1).strip("关于 ")
        if _AGENCY_SUFFIX.search(cand) or len(cand) >= 3:
            return cand
    # no year in the title ("某某县统计局政府信息公开工作年度报告"): the agency precedes the report name
    m = re.match(r"^(.{2,40}?)(?:政府信息公开|政务公开)", title)
    if m and _AGENCY_SUFFIX.search(m.group(1).strip("关于 ")):
        return m.group(1).strip("关于 ")
    return ""
