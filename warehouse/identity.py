"""Issuer identity: one stable key per agency and portal, so an agency can be followed across years.

Portals print the same issuer in several ways (扶沟县人民政府办公室 / 扶沟县政府办公室 / 县政府办), and
department reports often omit the county prefix (财政局 vs 扶沟县财政局).  The key is the name with
the county prefix removed and the 人民政府/政府 variants folded; the issuer type decides the
statutory deadline (county government 31 Mar, everyone else 31 Jan).
"""

from __future__ import annotations

import datetime as _dt

import re
import unicodedata
from dataclasses import dataclass

ISSUER_TYPES = ("county_government", "government_office", "department", "township", "other")

_WS = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")
#: Title noise around the agency name: years, the report kind, quotes, brackets.
_TITLE_NOISE = (
    re.compile(r"关于"),
    re.compile(r"[（(]?\d{4}年?度?[)）]?"),
    re.compile(r"政府信息公开.*$"),
    re.compile(r"信息公开工作.*$"),
    re.compile(r"年度报告.*$"),
    re.compile(r"[《》“”\"'【】\[\]]"),
)
_COUNTY_PREFIX = re.compile(r"^(?:.{1,6}?省)?(?:.{1,6}?(?:市|州|盟|地区))?(?P<county>.{1,8}?(?:县|区|市|旗))")
_OFFICE = re.compile(r"(?:人民)?政府办(?:公室)?$")
_TOWNSHIP = re.compile(r"(?P<core>.+?(?:镇|乡|街道))(?:人民政府|政府|办事处|街道办事处|党委)?$")
_COUNTY_GOV = re.compile(r"^(?:.{0,12}?(?:县|区|市|旗))?(?:人民)?政府$")
_DEPT = re.compile(
    r"(?:局|委员会|委|办公室|办|中心|所|队|院|站|厅|部|处|会|社|署|馆|台|司|室|支队|大队|总队|分局)$"
)


@dataclass(frozen=True)
class Issuer:
    key: str  # stable per portal: combine with portal_id for a global key
    issuer_type: str
    name: str  # the cleaned display name


def clean_name(text: str) -> str:
    """NFKC, no whitespace, no title noise: ``扶沟县人民政府办公室2020年政府信息公开…`` → ``扶沟县人民政府办公室``."""
    s = _WS.sub("", unicodedata.normalize("NFKC", text or ""))
    for pat in _TITLE_NOISE:
        s = pat.sub("", s)
    return s.strip("-—_:：,，.。 ")


def _strip_county(name: str, county: str | None) -> str:
    if county:
        for prefix in (county, county.rstrip("县区市旗")):
            if len(prefix) >= 2 and name.startswith(prefix) and len(name) > len(prefix):
                return name[len(prefix) :]
    m = _COUNTY_PREFIX.match(name)
    if m and len(name) > m.end():
        return name[m.end() :]
    return name


def classify_issuer(agency: str, title: str = "", county: str | None = None) -> Issuer:
    """Normalise the agency (falling back to the title) to a stable key and an issuer type."""
    name = clean_name(agency) or clean_name(title)
    if not name:
        return Issuer("unknown", "other", "")
    folded = name.replace("人民政府", "政府")
    rest = _strip_county(folded, county)
    if _OFFICE.search(folded) and not _TOWNSHIP.match(rest.removesuffix("政府办公室").removesuffix("政府办") or "-"):
        return Issuer("政府办公室", "government_office", name)
    m = _TOWNSHIP.match(rest)
    if m and not _DEPT.search(rest) or (m and rest.endswith(("政府", "办事处"))):
        return Issuer(m.group("core"), "township", name)
    if _COUNTY_GOV.match(folded):
        return Issuer("政府", "county_government", name)
    if _DEPT.search(rest):
        # 卫生健康委员会 = 卫生健康委: fold the long form so both print variants share one key.
        key = rest[: -len("委员会")] + "委" if rest.endswith("委员会") else rest
        return Issuer(key, "department", name)
    return Issuer(rest or folded, "other", name)


def deadline_month_day(issuer_type: str) -> tuple[int, int]:
    """Statutory deadline in the following year: 31 Mar for the county government, else 31 Jan."""
    return (3, 31) if issuer_type == "county_government" else (1, 31)


#: The days of a year on which a statutory deadline can fall (:func:`deadline_month_day` of every issuer type).
DEADLINE_DAYS = ((1, 31), (3, 31))


def last_deadline_day(as_of: _dt.date) -> _dt.date:
    """The latest day before ``as_of`` on which some deadline falls.

    What depends on ``as_of`` only by comparing it with deadlines (missing reports, the page's heatmap) is the same
    for every ``as_of`` between two such days: a result computed on one night can be kept on the next."""
    days = (_dt.date(y, m, d) for y in (as_of.year, as_of.year - 1) for m, d in DEADLINE_DAYS)
    return max(d for d in days if d < as_of)
