"""CMS families of county portals: fingerprints and how each one lists its documents.

Each lister walks every list page of one annual-report column and yields list entries
(:class:`~crawler.links.Link`: URL, anchor text, date).  They share the :class:`~crawler.fetch.Fetcher`
(politeness, conditional GETs — on a 304 the archived body is re-read — archive and failure records).

=========  ============================================================================================
family     list mechanics
=========  ============================================================================================
trs        ``index.html``, ``index_1.html`` … ; page count in ``createPageHTML(N, cur, "index", "html")``
hanweb     ``col/colNNN/index.html`` holds no list: POST ``/module/web/jpage/dataproxy.jsp?startrecord=…
           &endrecord=…&perpage=…`` with form fields (columnid, unitid, webid, …) → XML with
           ``totalrecord``/``totalpage`` and ``recordset/record`` CDATA ``<li><a href=…>``
gkmlpt     ``/gkmlpt/index#{catid}`` (catid only in the fragment), SID in the page script, JSON API
           ``/gkmlpt/api/all/{catid}?page=N&sid=…``
vsb        ``list1.htm``, ``list2.htm`` … (下页 links, "1/N" in the pager), details ``/info/{col}/{id}.htm``
generic    follows links whose text looks like an annual-report column or a 下一页 link, with a page cap,
           loop detection (seen URLs) and trap detection (pages that add nothing new)
=========  ============================================================================================
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urlencode, urljoin, urlsplit

from lxml import etree

from crawler.fetch import Fetcher, FetchResult, body_changed
from crawler.links import Link, extract_links, is_list_link, is_next_link, is_report_link, parse_html

FAMILIES = ("trs", "hanweb", "gkmlpt", "vsb", "generic")


def detect_cms(url: str, html: str) -> str:
    """The CMS family of a column page from its URL and HTML (fingerprints as in docs/crawler.md)."""
    path = urlsplit(url).path
    if "/gkmlpt/" in path or re.search(r"gkmlpt", html[:20000], re.I) and re.search(r"\bSID\b", html):
        return "gkmlpt"
    if "dataproxy.jsp" in html or re.search(r"/col/col\d+/", path) or ".jpage(" in html:
        return "hanweb"
    if "createPageHTML" in html or "TRS_Editor" in html or re.search(r"""href=["']\.?/?\d{6}/t\d{8}_\d+\.s?html?""", html):
        return "trs"
    if ("/system/resource/" in html or "vsb_content" in html or re.search(r"/list\d+\.htm$", path)
            or re.search(r"""href=["'][^"']*info/\d+/\d+\.htm""", html)):
        return "vsb"
    return "generic"


@dataclass
class ListState:
    """What listing one portal produced."""

    entries: dict[str, Link] = field(default_factory=dict)  # url -> first-seen entry (list order)
    pages: int = 0
    complete: bool = True
    trap: bool = False
    #: URLs of entries seen on at least one list page whose body changed since the previous run
    changed: set[str] = field(default_factory=set)
    #: whether the list page the lister is reading now changed (listers set it before collecting entries)
    source_changed: bool = True

    def reading(self, res: FetchResult) -> None:
        """The entries added next come from ``res``."""
        self.source_changed = res.list_changed

    def add(self, link: Link) -> bool:
        if self.source_changed:
            self.changed.add(link.url)
        if link.url in self.entries:
            return False
        self.entries[link.url] = link
        return True


class Lister:
    """Base: fetch list pages through the fetcher; on a 304, parse the archived body."""

    def __init__(self, fetcher: Fetcher, state: ListState):
        self.f = fetcher
        self.state = state
        self.max_pages = fetcher.settings.max_list_pages

    async def page(self, url: str, *, kind: str = "list", method: str = "GET", data: dict | None = None,
                   conditional: bool = True) -> tuple[FetchResult, bytes] | None:
        if self.state.pages >= self.max_pages:
            self.f.fail(url, "trap", f"list page cap ({self.max_pages}) reached")
            self.state.complete = False
            self.state.trap = True
            return None
        self.state.pages += 1
        before = self.f.archive.latest(url)
        res = await self.f.fetch(url, kind=kind, method=method, data=data, conditional=conditional)
        if res is None:
            self.state.complete = False
            return None
        res.list_changed = body_changed(res, before)
        body = res.body if res.body is not None else self.f.archive.get(res.sha256)
        return res, body

    def html_of(self, res: FetchResult, body: bytes):
        from crawler.links import decode_html

        return parse_html(decode_html(body, res.content_type)[0])

    async def run(self, start: FetchResult, start_body: bytes, start_url: str) -> None:  # pragma: no cover
        raise NotImplementedError


class TrsLister(Lister):
    async def run(self, start, start_body, start_url):
        doc = self.html_of(start, start_body)
        self.state.reading(start)
        self._collect(doc, start.final_url)
        html_text = etree.tostring(doc, encoding="unicode")
        m = re.search(r"createPageHTML\(\s*(\w+)\s*,\s*(\w+)\s*,\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)[\"']", html_text)
        if not m:
            return
        count_s, prefix, suffix = m.group(1), m.group(3), m.group(4)
        if not count_s.isdigit():  # createPageHTML(countPage, currentPage, …) with `var countPage = 5`
            v = re.search(rf"\b{re.escape(count_s)}\s*=\s*(\d+)", html_text)
            if not v:
                return
            count_s = v.group(1)
        count = int(count_s)
        base = start.final_url
        for i in range(1, min(count, self.max_pages)):
            got = await self.page(urljoin(base, f"{prefix}_{i}.{suffix}"))
            if got:
                self.state.reading(got[0])
                self._collect(self.html_of(*got), got[0].final_url)
        if count > self.max_pages:
            self.f.fail(start_url, "trap", f"createPageHTML announces {count} pages > max_list_pages")
            self.state.complete = False

    def _collect(self, doc, base):
        for link in extract_links(doc, base):
            self.state.add(link)


class HanwebLister(Lister):
    _PARAM = re.compile(
        r"""\b(col|appid|webid|path|columnid|sourceContentType|unitid|webname|permissiontype)\b\s*[:=]\s*(?:'([^']*)'|"([^"]*)"|([^,&\s}'"<]+))"""
    )

    async def run(self, start, start_body, start_url):
        from crawler.links import decode_html

        text = decode_html(start_body, start.content_type)[0]
        params: dict[str, str] = {}
        for m in self._PARAM.finditer(text):
            params.setdefault(m.group(1), next(g for g in m.groups()[1:] if g is not None))
        col = re.search(r"/col/col(\d+)/", start.final_url)
        if "columnid" not in params and col:
            params["columnid"] = col.group(1)
        proxy = re.search(r"""proxyUrl\s*:\s*['"]([^'"]+dataproxy\.jsp)""", text)
        proxy_url = urljoin(start.final_url, proxy.group(1) if proxy else "/module/web/jpage/dataproxy.jsp")
        per = re.search(r"perPage\s*:\s*(\d+)", text)
        perpage = int(per.group(1)) if per else 15
        form = {"col": "1", "appid": "1", "path": "/", "sourceContentType": "1", "permissiontype": "0", **params}
        # Records inline in the column page (<script type="text/xml"><datastore><recordset><record><![CDATA[…]]>,
        # the first group on many Hanweb sites) count too.
        self.state.reading(start)
        for m in re.finditer(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", text, re.S):
            self._records(m.group(1), start.final_url)
        startrecord, group = 1, perpage * 3  # jpage asks for three pages at a time
        while True:
            q = urlencode({"startrecord": startrecord, "endrecord": startrecord + group - 1, "perpage": perpage})
            got = await self.page(f"{proxy_url}?{q}", kind="list_api", method="POST", data=form, conditional=False)
            if not got:
                return
            res, body = got
            try:
                root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True, recover=True,
                                                              huge_tree=False))
            except etree.XMLSyntaxError as e:
                self.f.fail(res.url, "parse", f"dataproxy XML unreadable: {e}")
                self.state.complete = False
                return
            if root is None:
                self.state.complete = False
                return
            total = int((root.findtext("totalrecord") or "0").strip() or 0)
            self.state.reading(res)
            n = 0
            for rec in root.iter("record"):
                n += self._records(rec.text or "", res.url)
            startrecord += group
            if n == 0 or startrecord > total:
                return

    def _records(self, fragment: str, base: str) -> int:
        if "<a" not in fragment:
            return 0
        n = 0
        for link in extract_links(parse_html(fragment), base):
            if "dataproxy.jsp" in link.url:
                continue
            self.state.add(link)
            n += 1
        return n


class GkmlptLister(Lister):
    async def run(self, start, start_body, start_url):
        doc = self.html_of(start, start_body)
        text = etree.tostring(doc, encoding="unicode")
        sid = re.search(r"""\bSID\s*[:=]\s*['"]([^'"]+)['"]""", text)
        catids: list[str] = []
        frag = urldefrag(start_url)[1]
        if frag.isdigit():
            catids.append(frag)
        else:  # no fragment: take the categories whose link text names the annual reports
            for link in extract_links(doc, start.final_url, keep_fragment=True):
                m = re.search(r"/gkmlpt/index#(\d+)$", link.url)
                if m and is_list_link(link.text):
                    catids.append(m.group(1))
        if not sid or not catids:
            self.f.fail(start_url, "parse", "gkmlpt: no SID in the page script or no category id")
            self.state.complete = False
            return
        api_base = re.sub(r"/gkmlpt/index.*$", "/gkmlpt/api/all/", urldefrag(start.final_url)[0])
        for catid in dict.fromkeys(catids):
            page = 1
            while True:
                got = await self.page(f"{api_base}{catid}?{urlencode({'page': page, 'sid': sid.group(1)})}", kind="list_api")
                if not got:
                    break
                try:
                    data = json.loads(got[1].decode("utf-8", "replace"))
                except ValueError as e:
                    self.f.fail(got[0].url, "parse", f"gkmlpt API returned no JSON: {e}")
                    self.state.complete = False
                    break
                arts = data.get("articles") or []
                self.state.reading(got[0])
                for a in arts:
                    if not isinstance(a, dict) or not a.get("url"):
                        continue
                    date = None
                    ts = a.get("date") or a.get("first_publish_time")
                    if isinstance(ts, (int, float)) and ts > 0:
                        date = dt.datetime.fromtimestamp(ts, dt.timezone(dt.timedelta(hours=8))).date()
                    self.state.add(Link(urljoin(got[0].final_url, str(a["url"])), str(a.get("title") or ""), date))
                total = int(data.get("total") or 0)
                size = int(data.get("page_size") or len(arts) or 1)
                if not arts or page * size >= total:
                    break
                page += 1


class VsbLister(Lister):
    async def run(self, start, start_body, start_url):
        seen = {start.final_url}
        res, body = start, start_body
        while True:
            doc = self.html_of(res, body)
            self.state.reading(res)
            nxt = None
            for link in extract_links(doc, res.final_url):
                if is_next_link(link.text) or re.search(r"/list\d+\.htm$", link.url) and "下页" in link.text:
                    nxt = nxt or link.url
                    continue
                self.state.add(link)
            if not nxt or nxt in seen:
                return
            seen.add(nxt)
            got = await self.page(nxt)
            if not got:
                return
            res, body = got


class GenericLister(Lister):
    """Breadth-first over annual-report columns and 下一页 chains, within the allowed hosts."""

    async def run(self, start, start_body, start_url):
        queue: list[tuple[FetchResult, bytes]] = [(start, start_body)]
        seen = {start.url, start.final_url}
        fruitless = 0
        while queue:
            res, body = queue.pop(0)
            doc = self.html_of(res, body)
            self.state.reading(res)
            new = 0
            for link in extract_links(doc, res.final_url):
                if is_next_link(link.text) or is_list_link(link.text):
                    if link.url not in seen and self.f.portal.allows(link.url):
                        seen.add(link.url)
                        got = None
                        if is_next_link(link.text) and fruitless >= 2:
                            self.f.fail(link.url, "trap", "pagination keeps repeating known entries: stopped")
                            self.state.trap = True
                            self.state.complete = False
                            continue
                        got = await self.page(link.url)
                        if got:
                            queue.append(got)
                    continue
                if link.url in seen:  # 上一页 / 首页 links back to list pages are not entries
                    continue
                if self.state.add(link) and is_report_link(link.text, link.url):
                    new += 1
            fruitless = 0 if new else fruitless + 1


LISTERS = {"trs": TrsLister, "hanweb": HanwebLister, "gkmlpt": GkmlptLister, "vsb": VsbLister,
           "generic": GenericLister}

