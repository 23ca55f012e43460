"""The sample portal itself: CMS mechanics, encodings, conditional requests, faults, content changes."""

from __future__ import annotations

import io
import json
import re

import httpx
import lxml.html
import pytest

from sample_portal import reportgen
from sample_portal.site import GKMLPT_SID, HANWEB_COL, HANWEB_UNIT


@pytest.fixture
def http():
    with httpx.Client(timeout=5) as c:
        yield c


def test_trs_lists_pages_via_create_page_html(sample_portal, http):
    r = http.get(sample_portal.start_url("qinghe"))
    m = re.search(r"createPageHTML\((\d+), 0, \"index\", \"html\"\)", r.text)
    assert m and int(m.group(1)) >= 3
    n = int(m.group(1))
    assert http.get(sample_portal.base_url + f"/qinghe/zwgk/zfxxgk/zfxxgknb/index_{n - 1}.html").status_code == 200
    assert http.get(sample_portal.base_url + f"/qinghe/zwgk/zfxxgk/zfxxgknb/index_{n}.html").status_code == 404
    assert re.search(r'href="\./\d{6}/t\d{8}_\d+\.html"', r.text)


def test_hanweb_list_only_via_post_dataproxy(sample_portal, http):
    col = http.get(sample_portal.start_url("yunxi"))
    assert "<record>" not in col.text and "dataproxy.jsp" in col.text
    url = sample_portal.base_url + "/yunxi/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=12&perpage=4"
    assert http.get(url).status_code == 405
    wrong = http.post(url, data={"columnid": "1", "unitid": str(HANWEB_UNIT)})
    assert "<totalrecord>0</totalrecord>" in wrong.text
    ok = http.post(url, data={"columnid": str(HANWEB_COL), "unitid": str(HANWEB_UNIT), "webid": "2801"})
    from lxml import etree

    root = etree.fromstring(ok.content, etree.XMLParser(resolve_entities=False, no_network=True))
    total = int(root.findtext("totalrecord"))
    assert total == len(sample_portal.portals[1].entries) and int(root.findtext("totalpage")) == -(-total // 4)
    records = [r.text for r in root.iter("record")]
    assert len(records) == 12 and all(re.search(r'<li><a href="/yunxi/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html"', x) for x in records)


def test_hanweb_portal_is_gbk_with_charset_only_in_meta(sample_portal, http):
    r = http.get(sample_portal.start_url("yunxi"))
    assert r.headers["content-type"] == "text/html"
    assert b'charset=GBK' in r.content
    with pytest.raises(UnicodeDecodeError):
        r.content.decode("utf-8")
    assert "云溪县人民政府" in r.content.decode("gbk")


def test_vsb_portal_has_a_wrong_http_charset(sample_portal, http):
    r = http.get(sample_portal.start_url("shimen"))
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert b"charset=gb2312" in r.content
    with pytest.raises(UnicodeDecodeError):
        r.content.decode("utf-8")
    assert "list2.htm" in r.content.decode("gbk") and "下页" in r.content.decode("gbk")
    from crawler.links import decode_html

    text, enc = decode_html(r.content, r.headers["content-type"])
    assert enc == "gb18030" and "石门县" in text


def test_vsb_column_url_redirects_to_first_list_page(sample_portal, http):
    r = http.get(sample_portal.base_url + "/shimen/zfxxgknb.htm")
    assert r.status_code == 301 and r.headers["location"].endswith("/shimen/zfxxgknb/list1.htm")


def test_gkmlpt_fragment_sid_and_json_api(sample_portal, http):
    start = sample_portal.start_url("nanling")
    assert start.endswith("/gkmlpt/index#2842")
    page = http.get(start)
    assert f"SID: '{GKMLPT_SID}'" in page.text and "post_" not in page.text
    api = sample_portal.base_url + "/nanling/gkmlpt/api/all/2842"
    assert http.get(api, params={"page": 1, "sid": "wrong"}).status_code == 403
    data = http.get(api, params={"page": 1, "sid": GKMLPT_SID}).json()
    assert data["total"] == len(sample_portal.portals[2].entries)
    assert all(re.search(r"/gkmlpt/content/\d+/\d+/post_\d+\.html$", a["url"]) for a in data["articles"])


def test_conditional_requests(sample_portal, http):
    url = sample_portal.expected_reports("qinghe")[0].url
    r = http.get(url)
    etag, lm = r.headers["etag"], r.headers["last-modified"]
    assert http.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert http.get(url, headers={"If-Modified-Since": lm}).status_code == 304
    assert http.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    log = sample_portal.requests[-3:]
    assert [(q.status, q.conditional, q.bytes) for q in log] == [(304, True, 0), (304, True, 0), (200, True, len(r.content))]
    sample_portal.revise_report("qinghe", url=url)
    r2 = http.get(url, headers={"If-None-Match": etag, "If-Modified-Since": lm})
    assert r2.status_code == 200 and r2.content != r.content


def test_publish_adds_a_listed_report(sample_portal, http):
    before = len(sample_portal.expected_reports("dongshan"))
    url = sample_portal.publish_new_report("dongshan")
    assert len(sample_portal.expected_reports("dongshan")) == before + 1
    listing = http.get(sample_portal.base_url + "/dongshan/xxgk/gknb/").text
    assert url.replace(sample_portal.base_url, "") in listing  # newest first
    assert "2024年政府信息公开工作年度报告" in http.get(url).text


@pytest.mark.parametrize("kind", ["503", "404", "anti_crawl", "offsite", "reset", "truncate", "slow"])
def test_faults(sample_portal, http, kind):
    url = sample_portal.expected_reports("qinghe")[1].url
    sample_portal.inject(kind, path=url, times=1, delay_s=0.3)
    if kind in ("reset", "truncate"):
        with pytest.raises(httpx.TransportError):
            http.get(url)
    else:
        r = http.get(url)
        if kind == "503":
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
        elif kind == "404":
            assert r.status_code == 404
        elif kind == "anti_crawl":
            assert r.status_code == 200 and "验证码" in r.text
        elif kind == "offsite":
            assert r.status_code == 302 and r.headers["location"].startswith(sample_portal.offsite_base_url)
        elif kind == "slow":
            assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.3
    assert sample_portal.requests[-1].fault == kind
    assert http.get(url).status_code == 200  # times=1: the next request is served normally


def test_admin_endpoint_toggles_faults_and_content(sample_portal, http):
    base = sample_portal.base_url
    path = "/yunxi/col/col1229114055/index.html"
    assert http.get(base + "/__admin/fault", params={"kind": "503", "path": path}).status_code == 200
    assert http.get(base + path).status_code == 503
    http.get(base + "/__admin/clear")
    assert http.get(base + path).status_code == 200
    new = http.get(base + "/__admin/publish", params={"portal": "yunxi"}).json()["url"]
    assert http.get(new).status_code == 200
    revised = http.get(base + "/__admin/revise", params={"portal": "yunxi"}).json()["url"]
    assert revised.startswith(base + "/yunxi/art/")
    log = http.get(base + "/__admin/log").json()
    assert log and {"method", "path", "status", "bytes", "conditional"} <= set(log[0])
    assert http.get(base + "/__admin/fault", params={"kind": "nonsense"}).status_code == 400


def test_robots_txt_disallows_a_path(sample_portal, http):
    from protego import Protego

    rp = Protego.parse(http.get(sample_portal.base_url + "/robots.txt").text)
    blocked = sample_portal.robots_disallowed_urls()[0]
    assert not rp.can_fetch(blocked, "ogi-etl")
    assert rp.can_fetch(sample_portal.expected_reports("qinghe")[0].url, "ogi-etl")


def test_attachments_are_real_files(sample_portal, http):
    import docx
    import pdfplumber

    atts = {e.attachment_url.rsplit(".", 1)[1]: e for e in sample_portal.expected_reports() if e.attachment_url
            and not e.direct}
    pdf = http.get(atts["pdf"].attachment_url)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-1.4")
    with pdfplumber.open(io.BytesIO(pdf.content)) as doc:
        assert atts["pdf"].title in doc.pages[0].extract_text()
    d = docx.Document(io.BytesIO(http.get(atts["docx"].attachment_url).content))
    assert d.paragraphs[0].text == atts["docx"].title
    page = http.get(atts["pdf"].url).text
    assert ".pdf" in page and "MsoNormalTable" not in page  # the detail page only links the file
    direct = next(e for e in sample_portal.expected_reports() if e.direct)
    assert direct.url == direct.attachment_url and direct.page_url is None
    listing = http.get(sample_portal.base_url + "/dongshan/xxgk/gknb/").text + http.get(
        sample_portal.base_url + "/dongshan/xxgk/gknb/?page=2").text
    assert direct.url.replace(sample_portal.base_url, "") in listing  # the list links the PDF itself
    assert http.get(direct.url).content.startswith(b"%PDF")


def test_image_only_report_serves_images(sample_portal, http):
    e = next(e for e in sample_portal.expected_reports() if e.image_only)
    assert e.title.endswith("（图片版）")
    doc = lxml.html.fromstring(http.get(e.url).content)
    imgs = doc.xpath("//img/@src")
    srcs = [i for i in imgs if i.endswith(".png") and "W0" in i]
    assert len(srcs) == 3
    r = http.get(httpx.URL(e.url).join(srcs[0]))
    assert r.headers["content-type"] == "image/png" and r.content.startswith(b"\x89PNG")
    assert "MsoNormalTable" not in http.get(e.url).text


def test_scaled_portal(tmp_path):
    from sample_portal.server import start

    h = start(reports_per_portal=300, families=("vsb",))
    try:
        assert len(h.expected_reports()) == 300
        assert len({e.title for e in h.expected_reports()}) == 300
        assert httpx.get(h.base_url + "/shimen/zfxxgknb/list16.htm").status_code == 200
        assert httpx.get(h.base_url + "/shimen/zfxxgknb/list17.htm").status_code == 404
    finally:
        h.stop()


def test_request_log_fields(sample_portal, http):
    http.get(sample_portal.start_url("qinghe"), headers={"User-Agent": "probe"})
    q = sample_portal.requests[-1]
    assert (q.method, q.host, q.status, q.portal, q.user_agent, q.conditional) == (
        "GET", "127.0.0.1", 200, "sample-trs-qinghe", "probe", False)
    assert q.bytes > 1000 and json.dumps(q.__dict__, ensure_ascii=False)
    assert reportgen  # module used by the portal


def test_validators_can_be_switched_off_per_portal_and_per_url(sample_portal, http):
    a, b = [e.url for e in sample_portal.expected_reports("qinghe")[:2]]
    etag = http.get(a).headers["etag"]
    sample_portal.set_validators(False, url=a)
    r = http.get(a, headers={"If-None-Match": etag})
    assert r.status_code == 200 and "etag" not in r.headers and "last-modified" not in r.headers
    assert "etag" in http.get(b).headers  # only that URL
    sample_portal.set_validators(False, portal="qinghe")
    assert "etag" not in http.get(b).headers and "etag" not in http.get(sample_portal.start_url("qinghe")).headers
    assert "etag" in http.get(sample_portal.start_url("yunxi")).headers
    sample_portal.set_validators(True, portal="qinghe")
    sample_portal.set_validators(True, url=a)
    assert http.get(a, headers={"If-None-Match": etag}).status_code == 304
    assert http.get(sample_portal.base_url + "/__admin/validators", params={"portal": "yunxi", "on": "0"}).json()
    assert "etag" not in http.get(sample_portal.start_url("yunxi")).headers


def test_default_revise_never_picks_a_report_published_at_run_time(sample_portal):
    new = sample_portal.publish_new_report("qinghe")
    revised = sample_portal.revise_report("qinghe")
    assert revised != new and sample_portal.entry_for(new).revision == 0
    assert sample_portal.entry_for(revised).spec().template == "2021"


def test_the_state_file_replays_publish_and_revise_with_the_same_urls_bodies_and_validators(tmp_path, http):
    from sample_portal.server import offline, start

    state = tmp_path / "state.json"
    h = start("127.0.0.1", 0, state_file=state)
    try:
        new, rev = h.publish_new_report("yunxi"), h.revise_report("shimen")
        first = {u: http.get(u) for u in (new, rev)}
        port = h.port
    finally:
        h.stop()
    assert [o["op"] for o in json.loads(state.read_text())["ops"]] == ["publish", "revise"]
    h = start("127.0.0.1", port, state_file=state)
    try:
        for u, r in first.items():
            again = http.get(u)
            assert (again.content, again.headers["etag"], again.headers["last-modified"]) == (
                r.content, r.headers["etag"], r.headers["last-modified"])
        assert h.entry_for(rev).revision == 1
        # another process records a change (`ogi sample-portal publish`): the running server follows the file
        later = offline(state, "127.0.0.1", port).publish_new_report("dongshan")
        assert later.startswith(f"http://127.0.0.1:{port}/dongshan/")
        assert http.get(later).status_code == 200 and "2024年" in http.get(later).text
        assert later.replace(h.base_url, "") in http.get(h.base_url + "/dongshan/xxgk/gknb/").text
    finally:
        h.stop()


def test_a_broken_state_file_is_a_clear_error(tmp_path):
    from sample_portal.server import start
    from sample_portal.state import StateFileError

    bad = tmp_path / "state.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(StateFileError, match="state.json"):
        start("127.0.0.1", 0, state_file=bad)
