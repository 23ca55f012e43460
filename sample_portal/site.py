"""The content of the sample portals: which documents each portal lists, and how pages look.

Five fictional counties, one per CMS family seen on real county portals (docs/crawler.md):

=========  ========  =====================================================  ==========================
portal     family    start URL (path on the sample server)                  quirks
=========  ========  =====================================================  ==========================
qinghe     TRS       /qinghe/zwgk/zfxxgk/zfxxgknb/index.html                PDF-only report, robots-disallowed draft, malformed report, legacy 2017 report
yunxi      Hanweb    /yunxi/col/col1229114055/index.html (list via POST)    GBK, charset only in <meta>, 图片版 report
nanling    gkmlpt    /nanling/gkmlpt/index#2842 (JSON API with SID)         DOCX-only report
shimen     VSB       /shimen/zfxxgknb/list1.htm                             GBK body, *wrong* HTTP charset header (utf-8), blank zero cells
dongshan   generic   /dongshan/xxgk/index.html                              plain links + 下一页 pagination; trap on demand; a PDF listed directly
=========  ========  =====================================================  ==========================

Every list also holds decoys (年报解读, 工作要点, 信息公开指南, 图解) that must never become reports, and the TRS
list holds *lookalikes*: a notice about compiling the reports, an interpretation and a summary filed in the
report column under a list title that reads like a report (the crawler fetches them; only the page says what
they are), which must end up in ``analytics.documents``, never in ``analytics.reports``.
The module is pure (no I/O); :mod:`sample_portal.server` serves it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import random
from dataclasses import dataclass, field
from typing import Literal

from sample_portal import attachments, reportdoc, reportgen

EntryKind = Literal["report", "decoy", "robots", "lookalike"]
ISSUERS = ("县人民政府", "县政府办公室", "县教育局", "县发展和改革局", "县卫生健康局", "县财政局", "县自然资源局", "县民政局")
TOWNS = ("城关", "石桥", "柳林", "青山", "河口", "新店", "王庄", "马家")
DECOY_TITLES = (
    "{county}{year}年政府信息公开工作年度报告解读",
    "{county}{year}年政务公开工作要点",
    "{county}人民政府信息公开指南",
    "图解：{county}{year}年政府信息公开工作年度报告",
)
#: (page title, list title): non-reports filed in the report column under a title that reads like a report.
LOOKALIKES = (
    ("关于做好{year}年度政府信息公开工作年度报告编制发布工作的通知", "{year}年度政府信息公开工作年度报告编制发布工作"),
    ("《{county}{year}年政府信息公开工作年度报告》解读", "《{county}{year}年政府信息公开工作年度报告》"),
    ("{county}{year}年政府信息公开工作年度报告要点", "{county}{year}年政府信息公开工作年度报告（简版）"),
)
BASE_TIME = dt.datetime(2024, 4, 1, 8, 0, tzinfo=dt.timezone.utc).timestamp()


@dataclass
class Entry:
    """One document a portal lists (a report, a decoy, or a robots-disallowed draft)."""

    id: int
    kind: EntryKind
    title: str
    date: dt.date
    path: str  # absolute path on the server, e.g. /qinghe/zwgk/zfxxgk/zfxxgknb/202003/t20200315_1001.html
    spec_args: dict = field(default_factory=dict)
    revision: int = 0
    modified: float = BASE_TIME  # epoch seconds: Last-Modified of the detail page
    attachment: Literal["pdf", "docx"] | None = None  # the report is published only as this attachment
    direct: bool = False  # the list links the attachment itself (no detail page in between)
    list_title: str | None = None  # what the list shows, when it differs from the page's title (lookalikes)

    def spec(self) -> reportgen.ReportSpec:
        return reportgen.ReportSpec(**self.spec_args, revision=self.revision)

    @property
    def attachment_path(self) -> str | None:
        if not self.attachment:
            return None
        d = self.path.rsplit("/", 1)[0]
        return f"{d}/P0{self.date:%Y%m%d}{self.id}.{self.attachment}"

    @property
    def list_path(self) -> str:
        """What the list links: the detail page, or the attachment for a directly listed file."""
        return self.attachment_path if self.direct and self.attachment_path else self.path

    @property
    def image_paths(self) -> list[str]:
        if not self.spec_args.get("image_only"):
            return []
        d = self.path.rsplit("/", 1)[0]
        return [f"{d}/W0{self.date:%Y%m%d}{self.id}_{i}.png" for i in range(1, 4)]


@dataclass
class SitePortal:
    key: str  # path prefix without slashes, e.g. "qinghe"
    id: str  # registry id
    family: Literal["trs", "hanweb", "gkmlpt", "vsb", "generic"]
    county: str
    province: str
    city: str
    division_code: str
    encoding: str = "utf-8"
    header_charset: str | None = "utf-8"  # what the HTTP Content-Type says (None: no charset parameter)
    page_size: int = 5
    entries: list[Entry] = field(default_factory=list)  # newest first
    next_id: int = 1001
    trap: bool = False  # generic family: infinite 下一页 pages

    @property
    def prefix(self) -> str:
        return f"/{self.key}"

    @property
    def start_path(self) -> str:
        return {
            "trs": f"{self.prefix}/zwgk/zfxxgk/zfxxgknb/index.html",
            "hanweb": f"{self.prefix}/col/col{HANWEB_COL}/index.html",
            "gkmlpt": f"{self.prefix}/gkmlpt/index#{GKMLPT_CATID}",
            "vsb": f"{self.prefix}/zfxxgknb/list1.htm",
            "generic": f"{self.prefix}/xxgk/index.html",
        }[self.family]

    @property
    def modified(self) -> float:
        return max((e.modified for e in self.entries), default=BASE_TIME)

    def reports(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "report"]

    def listed(self) -> list[Entry]:
        return self.entries

    def add(self, kind: EntryKind, title: str, date: dt.date, spec_args: dict | None = None, **kw) -> Entry:
        eid = self.next_id
        self.next_id += 1
        e = Entry(eid, kind, title, date, self.detail_path(eid, date, kind), spec_args or {}, **kw)
        self.entries.append(e)
        return e

    def detail_path(self, eid: int, date: dt.date, kind: EntryKind = "report") -> str:
        p = self.prefix
        if self.family == "trs":
            sub = "nbcg/" if kind == "robots" else f"{date:%Y%m}/"
            return f"{p}/zwgk/zfxxgk/zfxxgknb/{sub}t{date:%Y%m%d}_{eid}.html"
        if self.family == "hanweb":
            return f"{p}/art/{date.year}/{date.month}/{date.day}/art_{HANWEB_COL}_{eid}.html"
        if self.family == "gkmlpt":
            return f"{p}/gkmlpt/content/{eid // 1000}/{eid}/post_{eid}.html"
        if self.family == "vsb":
            return f"{p}/info/{VSB_COL}/{eid}.htm"
        return f"{p}/xxgk/gknb/{date:%Y}/{eid}.html"

    def sort(self) -> None:
        self.entries.sort(key=lambda e: (e.date, e.id), reverse=True)


HANWEB_COL = 1229114055
HANWEB_UNIT = 5658765
HANWEB_WEBID = 2801
GKMLPT_CATID = 2842
GKMLPT_SID = "755029"
VSB_COL = 1648


def _publish_date(year: int, rng: random.Random) -> dt.date:
    return dt.date(year + 1, 1, 10) + dt.timedelta(days=rng.randint(0, 75))


def build_portals(reports_per_portal: int | None = None, families: tuple[str, ...] | None = None) -> list[SitePortal]:
    """The sample portals.  ``reports_per_portal`` scales every portal to that many reports (benchmarks)."""
    portals = [
        SitePortal("qinghe", "sample-trs-qinghe", "trs", "清河县", "示例省", "东湖市", "990101"),
        SitePortal("yunxi", "sample-hanweb-yunxi", "hanweb", "云溪县", "示例省", "东湖市", "990102",
                   encoding="gbk", header_charset=None, page_size=4),
        SitePortal("nanling", "sample-gkmlpt-nanling", "gkmlpt", "南岭县", "示例省", "南江市", "990201", page_size=6),
        SitePortal("shimen", "sample-vsb-shimen", "vsb", "石门县", "示例省", "南江市", "990202",
                   encoding="gbk", header_charset="utf-8", page_size=5),
        SitePortal("dongshan", "sample-generic-dongshan", "generic", "东山县", "示例省", "北岭市", "990301", page_size=6),
    ]
    if families:
        portals = [p for p in portals if p.family in families or p.key in families]
    for n, p in enumerate(portals):
        rng = random.Random(1000 + n)
        if reports_per_portal is None:
            _curated(p, rng, n)
        else:
            _scaled(p, rng, n, reports_per_portal)
        p.sort()
    return portals


def _report(p: SitePortal, rng: random.Random, year: int, issuer: str, **flags) -> Entry:
    template = "legacy" if year < 2019 else ("2019" if year < 2021 else "2021")
    args = dict(county=p.county, issuer=issuer, year=year, template=template, seed=rng.randint(0, 10**9))
    attachment = flags.pop("attachment", None)
    direct = flags.pop("direct", False)
    args.update(flags)
    spec = reportgen.ReportSpec(**args)
    return p.add("report", spec.title, _publish_date(year, rng), args, attachment=attachment, direct=direct)


def _curated(p: SitePortal, rng: random.Random, n: int) -> None:
    town = f"{TOWNS[n]}镇人民政府"
    issuers = ("县人民政府", "县政府办公室", ISSUERS[2 + n % 4], town)
    for year in range(2019, 2024):
        for i in range(2):
            issuer = issuers[(year + i) % len(issuers)]
            flags: dict = {}
            if p.family == "trs" and year == 2020 and i == 0:
                flags["malformed"] = True
            if p.family == "hanweb" and year == 2022 and i == 1:
                flags["image_only"] = True
            if p.family == "vsb" and year == 2021:
                flags["blank_zeros"] = True
            _report(p, rng, year, issuer, **flags)
    if p.family in ("trs", "generic"):
        _report(p, rng, 2017, "县人民政府")
    if p.family == "trs":
        _report(p, rng, 2021, "县卫生健康局", attachment="pdf")
        # Looks exactly like a report, but robots.txt disallows its directory: a polite crawler never fetches it.
        p.add("robots", f"{p.county}应急管理局2023年政府信息公开工作年度报告", dt.date(2024, 1, 10))
    if p.family == "gkmlpt":
        _report(p, rng, 2022, "县发展和改革局" if n % 4 != 1 else "县财政局", attachment="docx")
    if p.family == "generic":
        _report(p, rng, 2022, "县财政局", attachment="pdf", direct=True)
    for i, t in enumerate(DECOY_TITLES):
        year = 2020 + (i + n) % 4
        p.add("decoy", t.format(county=p.county, year=year), dt.date(year + 1, 2, 3 + i))
    if p.family == "trs":
        for i, (page, listed) in enumerate(LOOKALIKES):
            year = 2021 + i
            p.add("lookalike", page.format(county=p.county, year=year), dt.date(year + 1, 1, 5 + i),
                  list_title=listed.format(county=p.county, year=year))


def _scaled(p: SitePortal, rng: random.Random, n: int, count: int) -> None:
    p.page_size = 20  # big columns page by 20, as real TRS/VSB sites do
    issuers = list(ISSUERS) + [f"{t}镇人民政府" for t in TOWNS]
    for k in range(count):
        year = 2019 + k % 5
        issuer = issuers[(k // 5) % len(issuers)]
        if k >= 5 * len(issuers):
            issuer = f"{issuer[:-4] if issuer.endswith('人民政府') else issuer}第{k // (5 * len(issuers))}分局"
        _report(p, rng, year, issuer)
    for i, t in enumerate(DECOY_TITLES):
        p.add("decoy", t.format(county=p.county, year=2021), dt.date(2022, 2, 3 + i))


# ---------------------------------------------------------------------------------------- pages


def http_date_str(ts: float) -> str:
    from email.utils import formatdate

    return formatdate(ts, usegmt=True)


def _chrome(p: SitePortal, title: str, body: str, *, crumbs: list[tuple[str, str]], extra_head: str = "") -> str:
    charset = "utf-8" if p.encoding == "utf-8" else "gb2312" if p.family == "vsb" else "GBK"
    nav = "".join(
        f'<li><a href="{p.prefix}/{href}">{txt}</a></li>'
        for href, txt in (("index.html", "首页"), ("zwgk/index.html", "政务公开"), ("bsfw/index.html", "办事服务"), ("hdjl/index.html", "互动交流"))
    )
    crumb = " &gt; ".join(f'<a href="{h}">{html.escape(t)}</a>' for h, t in crumbs)
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}" />
<meta http-equiv="X-UA-Compatible" content="IE=edge" />
<title>{html.escape(title)}_{p.county}人民政府</title>
<meta name="SiteName" content="{p.county}人民政府" />
<meta name="ColumnName" content="政府信息公开年报" />
<link rel="stylesheet" href="{p.prefix}/css/style.css" type="text/css" />
<script type="text/javascript" src="{p.prefix}/js/jquery.min.js"></script>
{extra_head}
</head>
<body>
<div class="top"><div class="w1200"><span class="date">今天是：<script>document.write(new Date().toLocaleDateString())</script></span>
<a href="javascript:void(0)">无障碍</a> | <a href="javascript:void(0)">长者模式</a></div></div>
<div class="header"><div class="logo"><img src="{p.prefix}/images/logo.png" alt="{p.county}人民政府" /></div>
<form class="search" action="{p.prefix}/search.html"><input name="q" type="text" /><input type="submit" value="搜索" /></form></div>
<div class="nav"><ul>{nav}</ul></div>
<div class="position">当前位置：{crumb}</div>
<div class="main w1200">
{body}
</div>
<div class="footer"><p>主办：{p.county}人民政府办公室 承办：{p.county}大数据中心</p>
<p>网站标识码：{p.division_code}0001 <a href="https://beian.miit.gov.cn/">示ICP备12345678号</a> 示公网安备 {p.division_code}02000123号</p>
<p>联系电话：0999-1234567 建议使用1366×768分辨率</p></div>
</body>
</html>
"""


def _li(href: str, e: Entry) -> str:
    """A list entry; long titles are cut with "…" in the text (the full title stays in title=), as CMS lists do."""
    title = e.list_title or e.title
    t = html.escape(title)
    shown = html.escape(title if len(title) <= 26 else title[:25] + "…")
    return f'<li><a href="{href}" target="_blank" title="{t}">{shown}</a><span class="date">{e.date:%Y-%m-%d}</span></li>'


def _crumbs(p: SitePortal) -> list[tuple[str, str]]:
    return [(f"{p.prefix}/index.html", "首页"), (f"{p.prefix}/zwgk/index.html", "政府信息公开"), (p.start_path, "政府信息公开年报")]


def page_count(p: SitePortal) -> int:
    return max(1, -(-len(p.listed()) // p.page_size))


def trs_list(p: SitePortal, page: int) -> str:
    """TRS column page ``index.html`` (page 0) / ``index_N.html``; relative ``./YYYYMM/t….html`` links."""
    n = page_count(p)
    items = p.listed()[page * p.page_size : (page + 1) * p.page_size]
    base = f"{p.prefix}/zwgk/zfxxgk/zfxxgknb/"
    lis = "".join(_li("./" + e.path[len(base):], e) for e in items)
    body = f"""<div class="xxgk_left"><h3>政府信息公开</h3><ul><li><a href="{p.prefix}/zwgk/zfxxgk/zfxxgkzn/">政府信息公开指南</a></li>
<li><a href="{p.prefix}/zwgk/zfxxgk/zfxxgkzd/">政府信息公开制度</a></li><li class="on"><a href="./">政府信息公开年报</a></li></ul></div>
<div class="xxgk_right"><div class="list_title">政府信息公开年报</div><ul class="list">{lis}</ul>
<div class="page"><script type="text/javascript">
var currentPage = {page};//所在页从0开始
var prevPage = currentPage-1//上一页
var nextPage = currentPage+1//下一页
var countPage = {n}//共多少页
createPageHTML({n}, {page}, "index", "html");
</script></div></div>"""
    return _chrome(p, "政府信息公开年报", body, crumbs=_crumbs(p))


def hanweb_column(p: SitePortal) -> str:
    """Hanweb column page: the list is *not* in the HTML; jpage loads it by POST from dataproxy.jsp."""
    body = f"""<div class="bt-rig-box"><div class="lm-title">政府信息公开年报</div>
<div id="{HANWEB_UNIT}"><script type="text/xml"><datastore><nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid={HANWEB_WEBID}&path=/&columnid={HANWEB_COL}&unitid={HANWEB_UNIT}&webname={p.county}人民政府&permissiontype=0"></a>]]></nextgroup><recordset></recordset></datastore></script></div>
<script language="javascript" src="{p.prefix}/module/jslib/jquery/jpage/jquery.page.min.js"></script>
<script>
$(document).ready(function(){{
  $('#{HANWEB_UNIT}').jpage({{
    dataStore: [], perPage: {p.page_size}, groupSize: 3, showMode: 'full',
    proxyUrl: '{p.prefix}/module/web/jpage/dataproxy.jsp',
    dataParams: {{col: 1, appid: 1, webid: {HANWEB_WEBID}, path: '/', columnid: {HANWEB_COL}, sourceContentType: 1, unitid: {HANWEB_UNIT}, webname: '{p.county}人民政府', permissiontype: 0}}
  }});
}});
</script></div>"""
    return _chrome(p, "政府信息公开年报", body, crumbs=_crumbs(p))


def hanweb_dataproxy(p: SitePortal, start: int, end: int, perpage: int, form: dict[str, str]) -> str:
    """The XML the jpage proxy returns; empty recordset when the form names another column/unit."""
    ok = form.get("columnid") == str(HANWEB_COL) and form.get("unitid") == str(HANWEB_UNIT)
    items = p.listed() if ok else []
    total = len(items)
    perpage = max(1, perpage)
    sel = items[max(0, start - 1) : max(0, end)]
    recs = "".join(
        f'<record><![CDATA[<li><a href="{e.path}" target="_blank" title="{html.escape(e.title)}">{html.escape(e.title)}</a>'
        f"<b>{e.date:%Y-%m-%d}</b></li>]]></record>\n"
        for e in sel
    )
    pages = -(-total // perpage) if total else 0
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n'
        f'<nextgroup><![CDATA[<a href="{p.prefix}/module/web/jpage/dataproxy.jsp?page=1"></a>]]></nextgroup>\n'
        f"<recordset>\n{recs}</recordset>\n<totalrecord>{total}</totalrecord>\n<totalpage>{pages}</totalpage>\n</datastore>\n"
    )


def gkmlpt_index(p: SitePortal) -> str:
    """gkmlpt shell page: no list in the HTML; the category id lives only in the URL fragment."""
    extra = f"""<script type="text/javascript">
  window.GKMLPT = {{ SID: '{GKMLPT_SID}', SITE_NAME: '{p.county}人民政府', API_BASE: '{p.prefix}/gkmlpt/api' }};
  var TPL = {{ SID: '{GKMLPT_SID}', CATEGORIES: [{{id: {GKMLPT_CATID}, name: '政府信息公开年报'}}, {{id: 2840, name: '政府信息公开指南'}}] }};
</script>
<script type="text/javascript" src="{p.prefix}/gkmlpt/static/js/app.js"></script>"""
    body = f"""<div id="app"><div class="gkml-nav"><a href="{p.prefix}/gkmlpt/index#2840">政府信息公开指南</a>
<a href="{p.prefix}/gkmlpt/index#{GKMLPT_CATID}">政府信息公开年报</a></div><div class="gkml-list">加载中……</div></div>"""
    return _chrome(p, "政府信息公开目录", body, crumbs=_crumbs(p), extra_head=extra)


def gkmlpt_api(p: SitePortal, base_url: str, catid: int, page: int, sid: str | None) -> tuple[int, str]:
    if sid != GKMLPT_SID:
        return 403, json.dumps({"error": "invalid sid"})
    items = p.listed() if catid == GKMLPT_CATID else []
    size = p.page_size
    sel = items[(page - 1) * size : page * size]
    arts = [
        {
            "id": e.id,
            "title": e.title,
            "url": base_url + e.path,
            "date": int(dt.datetime(e.date.year, e.date.month, e.date.day, tzinfo=dt.timezone.utc).timestamp()),
            "publisher": p.county + "人民政府",
            "identifier": f"{p.division_code}00/{e.date.year}-{e.id:05d}",
        }
        for e in sel
    ]
    return 200, json.dumps({"articles": arts, "total": len(items), "page": page, "page_size": size,
                            "classify": {"id": catid}}, ensure_ascii=False)


def vsb_list(p: SitePortal, page: int) -> str:
    """VSB list ``listN.htm`` with a 首页/上页/下页/尾页 bar; details at ``/info/{col}/{id}.htm``."""
    n = page_count(p)
    items = p.listed()[(page - 1) * p.page_size : page * p.page_size]
    lis = "".join(_li(f"../info/{VSB_COL}/{e.id}.htm", e) for e in items)
    nav = [f'<a href="list1.htm">首页</a>']
    if page > 1:
        nav.append(f'<a href="list{page - 1}.htm" class="Prev">上页</a>')
    if page < n:
        nav.append(f'<a href="list{page + 1}.htm" class="Next">下页</a>')
    nav.append(f'<a href="list{n}.htm">尾页</a>')
    body = f"""<div class="list_box"><h2>政府信息公开年报</h2><ul>{lis}</ul>
<table cellspacing="0" cellpadding="0" border="0"><tr><td class="pb_sys_common pb_sys_normal pb_sys_style1">
<span class="p_pages">共{len(p.listed())}条&nbsp;&nbsp;{page}/{n}&nbsp;{'&nbsp;'.join(nav)}</span></td></tr></table></div>"""
    extra = '<script type="text/javascript" src="/system/resource/js/counter.js"></script>\n<META Name="keywords" Content="政府信息公开年报" />'
    return _chrome(p, "政府信息公开年报", body, crumbs=_crumbs(p), extra_head=extra)


def generic_home(p: SitePortal) -> str:
    body = f"""<div class="xxgk_home"><h2>政府信息公开</h2><ul class="menu">
<li><a href="{p.prefix}/xxgk/zn/index.html">政府信息公开指南</a></li>
<li><a href="{p.prefix}/xxgk/zd/index.html">政府信息公开制度</a></li>
<li><a href="{p.prefix}/xxgk/gknb/">政府信息公开年报</a></li>
<li><a href="{p.prefix}/xxgk/fdzdgknr/index.html">法定主动公开内容</a></li></ul></div>"""
    return _chrome(p, "政府信息公开", body, crumbs=_crumbs(p)[:2])


def generic_list(p: SitePortal, page: int) -> str:
    n = page_count(p)
    items = p.listed()[(page - 1) * p.page_size : page * p.page_size]
    if p.trap and page > n:
        items = p.listed()[:2]  # a trap repeats old items under ever-new page URLs
    lis = "".join(_li(e.list_path, e) for e in items)
    links = []
    if page > 1:
        links.append(f'<a href="?page={page - 1}">上一页</a>')
    if page < n or p.trap:
        links.append(f'<a href="?page={page + 1}">下一页</a>')
    body = f"""<div class="list"><h2>政府信息公开年报</h2><ul>{lis}</ul><div class="pages">第{page}页 {' '.join(links)}</div></div>"""
    return _chrome(p, "政府信息公开年报", body, crumbs=_crumbs(p))


def _meta_table(p: SitePortal, e: Entry, agency: str) -> str:
    return f"""<table class="xxgk_table" width="100%" border="0" cellspacing="0" cellpadding="0">
<tr><td class="t">索引号：</td><td>{p.division_code}00-{e.date.year}-{e.id:05d}</td><td class="t">主题分类：</td><td>政务公开</td></tr>
<tr><td class="t">发布机构：</td><td>{html.escape(agency)}</td><td class="t">公开日期：</td><td>{e.date:%Y-%m-%d}</td></tr>
<tr><td class="t">名　　称：</td><td colspan="3">{html.escape(e.title)}</td></tr>
<tr><td class="t">文　　号：</td><td></td><td class="t">有效性：</td><td>有效</td></tr></table>"""


def detail_page(p: SitePortal, e: Entry) -> str:
    """A detail page: portal chrome + metadata table + the report body (or an attachment link)."""
    if e.kind == "report":
        spec = e.spec()
        agency = spec.agency
        if e.attachment:
            name = f"{e.title}.{e.attachment}"
            content = (
                reportgen.para(f"{e.title}请见附件。")
                + f'<p class="fj">附件：<a href="./{e.attachment_path.rsplit("/", 1)[1]}" '
                f'OLDSRC="/{e.attachment_path.rsplit("/", 1)[1]}">{html.escape(name)}</a></p>'
            )
        else:
            imgs = ["./" + x.rsplit("/", 1)[1] for x in e.image_paths]
            content = reportgen.render_body(spec, image_urls=imgs)
    else:
        agency = p.county + "人民政府办公室"
        content = reportgen.para(f"{e.title}。" + ("为便于公众理解，现将有关情况解读如下。" if "解读" in e.title else "")) + reportgen.para(
            "本页面不是政府信息公开工作年度报告正文。"
        )
    if p.family == "hanweb":
        wrapped = f'<div id="zoom"><!--<meta name="ContentStart">-->{content}<!--<meta name="ContentEnd">--></div>'
    elif p.family == "vsb":
        wrapped = f'<form name="_newscontent_fromname"><div id="vsb_content"><div class="v_news_content">{content}</div></div></form>'
    elif p.family == "gkmlpt":
        wrapped = f'<div class="article-content" id="zoom">{content}</div>'
    else:
        wrapped = f'<div class="TRS_Editor"><div class="Custom_UnionStyle">{content}</div></div>'
    body = f"""<div class="article">{_meta_table(p, e, agency)}
<h1 class="title">{html.escape(e.title)}</h1>
<div class="info">发布时间：{e.date:%Y-%m-%d} 来源：{html.escape(agency)} 浏览次数：<span id="hits">{100 + e.id % 900}</span></div>
{wrapped}
<div class="share"><a href="javascript:window.print()">打印本页</a> <a href="javascript:window.close()">关闭窗口</a></div></div>"""
    return _chrome(p, e.title, body, crumbs=_crumbs(p) + [("#", "正文")])


def attachment_bytes(e: Entry) -> bytes:
    """The report as its attachment file: the same text and tables 二/三/四 as the HTML rendering."""
    spec = e.spec()
    blocks = reportdoc.report_blocks(spec)
    if e.attachment == "pdf":
        return attachments.make_pdf(blocks, title=spec.title)
    return attachments.make_docx(blocks, title=spec.title)


def image_bytes(seed: int) -> bytes:
    return attachments.make_png(seed=seed)


def anti_crawl_page() -> str:
    return """<!DOCTYPE html><html><head><meta charset="utf-8"><title>安全验证</title></head>
<body><div class="waf"><h3>您的访问过于频繁，请稍后再试</h3><p>为保障网站安全，请完成安全验证：请输入验证码</p>
<img src="/waf/captcha.jpg"><p>事件ID：0a1b2c3d</p></div></body></html>"""


def etag_for(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
