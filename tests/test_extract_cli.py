"""``ogi extract`` end to end in a subprocess: the seed, exit codes, bad input without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
SEED = FIXTURES / "fugou-2020.txt"
T3_ROWS_2019 = 23
T3_COLS = 7


def ogi(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ogi.cli", "extract", *args], capture_output=True, text=True, timeout=60)


def test_seed_json() -> None:
    p = ogi(str(SEED), "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["is_report"] is True and out["template"] == "2019" and out["year"] == 2020
    assert out["title"] == "扶沟县政府办公室2020年政府信息公开工作年度报告"
    assert [s["number"] for s in out["sections"]] == [1, 2, 3, 4, 5, 6]
    t3 = [f for f in out["facts"] if f["table"] == "t3"]
    t4 = [f for f in out["facts"] if f["table"] == "t4"]
    assert len(t3) == T3_ROWS_2019 * T3_COLS and len({(f["row"], f["col"]) for f in t3}) == len(t3)
    assert len(t4) == 15 and len({(f["row"], f["col"]) for f in t4}) == 15
    assert all(f["value"] == 0 and f["raw"] == "0" for f in t3 + t4)
    assert not [f for f in out["findings"] if f["severity"] == "error"]
    # the seed row that lost its group cell is still read
    assert any(f["row"] == "rejected_confirmation" for f in t3)


def test_summary_of_a_report(tmp_path: Path) -> None:
    p = ogi(str(FIXTURES / "malformed-2022.html"))
    assert p.returncode == 0, p.stderr
    assert "t3.balance" in p.stdout and "findings" in p.stdout and "表三" in p.stdout


def test_non_report_exit_1() -> None:
    p = ogi(str(FIXTURES / "decoy-jiedu-2021.html"))
    assert p.returncode == 1
    assert "not a report" in p.stdout and "Traceback" not in p.stderr


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    cases: dict[str, tuple[Path, str]] = {}
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    cases["empty"] = (empty, "empty")
    blank = tmp_path / "blank.html"
    blank.write_bytes(b"   \n\t  \n")
    cases["whitespace"] = (blank, "empty")
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    cases["binary"] = (binary, "binary")
    undecodable = tmp_path / "garbage.txt"
    undecodable.write_bytes(bytes([0x81, 0x30, 0xFF, 0xFE, 0x80, 0xFF]) * 500)
    cases["undecodable"] = (undecodable, "undecodable")
    huge = tmp_path / "huge.html"
    with open(huge, "wb") as fh:
        fh.write(b"<html><body><p>" + b"x" * (50 * 1024 * 1024) + b"</p></body></html>")
    cases["huge"] = (huge, "too large")
    cases["missing"] = (tmp_path / "nope.html", "no such file")
    return cases


@pytest.mark.parametrize("case", ["empty", "whitespace", "binary", "undecodable", "huge", "missing"])
def test_unreadable_input_exit_2(tmp_path: Path, case: str) -> None:
    path, words = _bad_inputs(tmp_path)[case]
    p = ogi(str(path))
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert words in p.stderr and "Traceback" not in p.stderr
    assert p.stderr.startswith("ogi: cannot read")


def test_truncated_html_is_not_a_report(tmp_path: Path) -> None:
    data = (FIXTURES / "trs-county-2019.html").read_bytes()
    cut = tmp_path / "truncated.html"
    cut.write_bytes(data[: len(data) // 2])
    p = ogi(str(cut), "--json")
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "truncated" in json.loads(p.stdout)["reason"]


def test_wrong_declared_encoding_still_reads(tmp_path: Path) -> None:
    """A GBK page whose <meta> claims UTF-8: the bytes win (UTF-8 fails strictly, GB18030 reads)."""
    html = (FIXTURES / "gbk-meta-2020.html").read_bytes().replace(b"charset=gb2312", b"charset=utf-8")
    path = tmp_path / "wrong.html"
    path.write_bytes(html)
    p = ogi(str(path), "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["title"].startswith("某某县教育局") and out["template"] == "2019"


def test_url_source(tmp_path: Path) -> None:
    """http(s) sources are fetched (real loopback server) with the content type passed on."""
    import http.server
    import threading

    body = (FIXTURES / "gbk-nodecl-2022.html").read_bytes()

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=ISO-8859-1")  # wrong: the page is GB18030
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        from extractors.api import extract_source

        r = extract_source(f"http://127.0.0.1:{srv.server_address[1]}/r.html")
        assert r.is_report and r.template == "2021" and r.encoding == "gb18030"
        assert r.source_url.endswith("/r.html")
    finally:
        srv.shutdown()
