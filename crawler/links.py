"""Reading list pages: decode hostile HTML, pull out links, and tell reports from decoys by link text.

The crawler decides "is this list entry a report?" from the anchor text and URL only (年度报告/年报 and
not 解读/要点/指南/图解…).  It is deliberately a little generous — the extractor classifies again from
the document itself (``Report.is_report``) — but decoys that every portal lists next to the reports
must never be fetched as report documents.
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import re
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

import lxml.html

ATTACHMENT_EXTS = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".wps", ".et", ".ofd")

_REPORT = re.compile(r"年度报告|年报|年度工作报告")
_OPENNESS = re.compile(r"信息公开|政务公开|公开工作")
_DECOY = re.compile(
    r"解读|要点|指南|图解|图示|一图|目录|通知|办法|制度|规定|计划|方案|申请表|流程|说明|统计表|意见|答记者问|问答|"
    r"视频|动漫|新闻|会议|考核|评估|培训|提纲|任务|安排"
)
_YEAR = re.compile(r"(?:19|20)\d{2}")
_CN_YEAR = re.compile(r"二[〇○零0][一二三四五六七八九〇○零0]{2}年")
_NEXT = re.compile(r"^\s*(下一页|下页|后一页|next|›|»|>)\s*$", re.I)
_DATE = re.compile(r"((?:19|20)\d{2})[-/.年](\d{1,2})[-/.月](\d{1,2})")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.I)


@dataclass(slots=True)
class Link:
    url: str  # absolute, fragment removed (except when the fragment carries state, see keep_fragment)
    text: str
    date: dt.date | None = None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        n = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    # Chinese portals label GBK/GB18030 pages "gb2312": decode with the superset.
    return "gb18030" if n in ("gb2312", "gbk", "gb18030", "hz") else n


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode an HTML body; returns (text, encoding used).

    Order: strict UTF-8 first (GBK text practically never validates as UTF-8, while GB18030 decodes
    almost any bytes, so a wrong "gbk" label on a UTF-8 page must not win), then the HTTP charset, the
    ``<meta>`` charset, GB18030, then charset-normalizer; never raises.
    """
    candidates: list[str] = []
    m = _HEADER_CHARSET.search(content_type or "")
    for name in ("utf-8", m.group(1) if m else None,
                 (_META_CHARSET.search(body[:4096]).group(1).decode("ascii", "ignore")
                  if _META_CHARSET.search(body[:4096]) else None),
                 "gb18030"):
        c = _codec(name)
        if c and c not in candidates:
            candidates.append(c)
    for c in candidates:
        try:
            return body.decode(c), c
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(body).best()
        if best is not None:
            return str(best), best.encoding
    except Exception:  # noqa: BLE001 - detection is best effort
        pass
    return body.decode("utf-8", "replace"), "utf-8"


def parse_html(text: str):
    """An lxml document (never raises on junk; empty document for empty input)."""
    try:
        return lxml.html.document_fromstring(text or "<html></html>")
    except (lxml.etree.ParserError, ValueError):
        return lxml.html.document_fromstring("<html></html>")


def _clean(s: str) -> str:
    return re.sub(r"[\s\u00a0\u3000]+", " ", s or "").strip()


def extract_links(doc, base_url: str, *, keep_fragment: bool = False) -> list[Link]:
    """Every ``<a href>`` of the document as an absolute URL with its text and a nearby date."""
    base = base_url
    for b in doc.xpath("//base[@href]"):
        base = urljoin(base_url, b.get("href"))
        break
    out: list[Link] = []
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "tel:", "#")):
            continue
        url = urljoin(base, href)
        if not keep_fragment:
            url = urldefrag(url)[0]
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        text = _clean(a.text_content()) or _clean(a.get("title") or "")
        title = _clean(a.get("title") or "")
        if title and len(title) > len(text):  # lists truncate long titles ("…") and keep the full one in title=
            text = title
        out.append(Link(url, text, _nearby_date(a)))
    return out


def _nearby_date(a) -> dt.date | None:
    parent = a.getparent()
    for node in (parent, parent.getparent() if parent is not None else None):
        if node is None:
            continue
        text = node.text_content() if hasattr(node, "text_content") else ""
        if len(text) > 400 or len(node.xpath(".//a")) > 1:  # the date must belong to this entry alone
            continue
        m = _DATE.search(text.replace(a.text_content() or "", " "))
        if m:
            return safe_date(*m.groups())
    return None


def safe_date(y: str, m: str, d: str) -> dt.date | None:
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


_FILE_QUERY = re.compile(r"(?:file(?:name)?|path)=[^&]*\.(?:pdf|docx?|xlsx?|wps|et|ofd)(?:&|$)")


@functools.lru_cache(maxsize=16384)
def is_attachment_url(url: str) -> bool:
    """PDF/DOC/DOCX/XLS/XLSX/WPS (also via download scripts naming the file in the query).

    Memoised: a night asks it of every listed and linked URL, several times each."""
    parts = urlsplit(url)
    path = parts.path.lower()
    if path.endswith(ATTACHMENT_EXTS):
        return True
    return bool(_FILE_QUERY.search(parts.query.lower()))


def is_decoy_text(text: str) -> bool:
    return bool(_DECOY.search(text))


def is_report_link(text: str, url: str = "") -> bool:
    """Does a list entry look like an annual report (年度报告/年报, not 解读/要点/指南/图解…)?"""
    t = text.replace(" ", "")
    if not t or is_decoy_text(t):
        return False
    if _REPORT.search(t):
        # Every real report title names its year (2019 / 二〇一九); column names and breadcrumbs
        # ("政府信息公开年报") do not — those are list links.
        return bool(_YEAR.search(t) or _CN_YEAR.search(t))
    return False


def is_list_link(text: str) -> bool:
    """A column link that leads to report lists (e.g. 政府信息公开年报), not to one report."""
    t = text.replace(" ", "")
    if not t or len(t) > 20 or is_decoy_text(t) or _YEAR.search(t):
        return False
    return bool(_REPORT.search(t))


def is_next_link(text: str) -> bool:
    return bool(_NEXT.match(text or ""))


def year_of(text: str) -> int | None:
    m = _YEAR.search(text or "")
    return int(m.group(0)) if m else None
