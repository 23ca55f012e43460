"""Hostile input, bounded (issue 11 item 3): each file is extracted in a child process under a memory limit.

``rows(heavy)`` feeds ``python -m bench.chaos``; ``tests/test_hostile_input.py`` runs the light variants with the
same runner and checks each outcome.  A case is ``make(heavy) -> (bytes, filename, content_type)`` plus a check of
the outcome text; the child prints one JSON line: outcome, seconds, peak RSS.  The memory limit (RLIMIT_AS = the
child's address space after imports + ``LIMIT_MB``) turns a regression into a MemoryError instead of swapping.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
LIMIT_MB = 300
TIME_LIMIT_S = 5.0


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[bool], tuple[bytes, str, str | None]]
    expect: str  # a substring of the outcome text that says the input was handled as intended


# ------------------------------------------------------------------------------------------ generators


def _html(body: str) -> bytes:
    return (f"<html><head><meta charset='utf-8'><title>清河县2021年政府信息公开工作年度报告</title></head>"
            f"<body><p>清河县2021年政府信息公开工作年度报告</p>{body}<p>结尾文字保留</p></body></html>").encode()


REPORT = ROOT / "tests" / "fixtures" / "reports" / "blank-cells-2021.html"  # a 2021-format report: 200 facts


def _deep(heavy: bool):
    """The nest sits *before* the statistics tables: lxml alone drops them (0 facts, no finding)."""
    n = 100_000 if heavy else 20_000
    page = REPORT.read_bytes()
    at = page.index(b"<table")
    return page[:at] + b"<div>" * n + "<p>深处文字</p>".encode() + b"</div>" * n + page[at:], "deep.html", "text/html"


def _into_report(markup: str) -> bytes:
    page = REPORT.read_bytes()
    at = page.rindex(b"</body>")
    return page[:at] + markup.encode() + page[at:]


def _cells(heavy: bool):
    rows = "".join("<tr>" + "<td>1</td>" * 100 + "</tr>" for _ in range(1000 if heavy else 300))
    return _into_report(f"<table>{rows}</table>"), "cells.html", "text/html"


def _spans(heavy: bool):  # noqa: ARG001
    t = ('<table><tr><td rowspan="100000" colspan="100000">a</td><td colspan="2;">b</td><td rowspan="0">c</td>'
         '</tr>' + '<tr><td rowspan="100000" colspan="100000">d</td></tr>' * 50 + "</table>")
    return _into_report(t), "spans.html", "text/html"


def _big_page(heavy: bool):
    line = "<p>文字 padding text line of a page far too large</p>\n"
    return _html(line * ((45 if heavy else 8) * 1024 * 1024 // len(line.encode()))), "big.html", "text/html"


def _invalid_bytes(heavy: bool):  # noqa: ARG001
    good = "<p>信息公开</p>".encode("gb18030")
    return (b"<html><head><meta charset='gbk'></head><body>" + (good + b"\xff\xfe\x80\x81\xc0") * 2000
            + b"</body></html>"), "bad.html", "text/html; charset=gbk"


def _random_bytes(heavy: bool):
    return os.urandom((20 if heavy else 2) * 1024 * 1024), "random.html", "text/html"


def _docx(document_xml: bytes) -> bytes:
    """A real DOCX (python-docx) whose word/document.xml is replaced."""
    import docx

    src = io.BytesIO()
    docx.Document().save(src)
    out = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, document_xml if info.filename == "word/document.xml" else zin.read(info))
    return out.getvalue()


def _zip_bomb(heavy: bool):
    return _docx(b"<" + b" " * ((150 if heavy else 20) * 1024 * 1024) + b">"), "bomb.docx", None


_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _laughs(heavy: bool):  # noqa: ARG001
    ents = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10}">' for i in range(1, 10))
    xml = (f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY l0 "lol">{ents}]>'
           f'<w:document {_W}><w:body><w:p><w:r><w:t>&l9;</w:t></w:r></w:p></w:body></w:document>')
    return _docx(xml.encode()), "laughs.docx", None


def _xxe(heavy: bool):  # noqa: ARG001
    xml = (f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           f'<w:document {_W}><w:body><w:p><w:r><w:t>清河县 &e; 报告</w:t></w:r></w:p></w:body></w:document>')
    return _docx(xml.encode()), "xxe.docx", None


def _pdf(pages: int, *, encrypt: str | None = None) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt=encrypt)
    for i in range(pages):
        c.drawString(72, 720, f"page {i + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


def _encrypted_pdf(heavy: bool):  # noqa: ARG001
    return _pdf(2, encrypt="secret"), "enc.pdf", "application/pdf"


def _truncated_pdf(heavy: bool):  # noqa: ARG001
    data = _pdf(20)
    return data[: len(data) // 2], "trunc.pdf", "application/pdf"


def _many_pages(heavy: bool):
    return _pdf(10_000 if heavy else 1_000), "pages.pdf", "application/pdf"


def _lying_extension(heavy: bool):  # noqa: ARG001
    return REPORT.read_bytes(), "report.pdf", "application/pdf"  # an HTML report served as a PDF


CASES = [
    Case("HTML nested 100,000 deep (20,000 light)", _deep, "facts=200 findings=html.deep_nesting"),
    Case("table of 100,000 cells (30,000 light) beside a report", _cells, "report=True kind=None reason=None facts=200"),
    Case('spans rowspan/colspan=100000, colspan="2;", rowspan="0"', _spans, "report=True kind=None reason=None facts=200"),
    Case("45 MB page (8 MB light; cap 5 MiB)", _big_page, "page too large to parse"),
    Case("invalid bytes in a GBK page", _invalid_bytes, "undecodable text"),
    Case("random bytes", _random_bytes, "unreadable:"),
    Case("DOCX zip bomb", _zip_bomb, "zip bomb"),
    Case("billion laughs (DOCX)", _laughs, "unreadable:"),
    Case("XXE file:///etc/passwd (DOCX)", _xxe, "no entity expanded"),
    Case("encrypted PDF", _encrypted_pdf, "unreadable:"),
    Case("truncated PDF", _truncated_pdf, "unreadable:"),
    Case("PDF of 10,000 pages (1,000 light)", _many_pages, "pages (cap"),
    Case("HTML report named .pdf (lying extension)", _lying_extension, "report=True kind=None reason=None facts=200"),
]


# ------------------------------------------------------------------------------------------ the child


def _status(key: str) -> int:
    """A /proc/self/status value in bytes (VmSize: address space; VmHWM: peak RSS of this image — unlike
    ru_maxrss, not inherited from the parent across fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _child(path: str, filename: str, content_type: str | None) -> None:
    import resource
    import time

    from extractors.engine import extract
    from extractors.model import UnreadableInput
    import extractors.attachments  # noqa: F401 - the readers a file may need, imported before the limit
    import extractors.htmldoc  # noqa: F401
    import extractors.pdfdoc  # noqa: F401

    data = Path(path).read_bytes()
    limit = _status("VmSize") + LIMIT_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    t = time.perf_counter()
    try:
        r = extract(data, filename=filename, content_type=content_type)
        rules = sorted({f.rule for f in r.findings} - {"value.implicit_zero", "value.not_applicable"})
        outcome = (f"read: report={r.is_report} kind={r.doc_kind} reason={r.reason} facts={len(r.facts)} "
                   f"findings={','.join(rules) or '-'}")
        blob = json.dumps(r.to_json(), ensure_ascii=False)
        if "root:" in blob:
            outcome += " ENTITY EXPANDED (file contents leaked)"
        elif "lollollol" in blob:
            outcome += " ENTITY EXPANDED (laughs)"
        elif filename == "xxe.docx":
            outcome += " no entity expanded"
    except UnreadableInput as e:
        outcome = f"unreadable: {e}"
    except MemoryError:
        outcome = f"CRASH: MemoryError (over the {LIMIT_MB} MB limit)"
    except Exception as e:  # noqa: BLE001 - what the bench reports instead of dying
        outcome = f"CRASH: {type(e).__name__}: {e}"
    secs = time.perf_counter() - t
    peak = _status("VmHWM") / 1024 / 1024
    print(json.dumps({"outcome": outcome[:300], "seconds": round(secs, 3), "peak_rss_mb": round(peak, 1),
                      "input_mb": round(len(data) / 1e6, 2)}, ensure_ascii=False))


def run_case(case: Case, heavy: bool) -> dict:
    """Run one case in a child under the memory limit: the JSON the child printed (outcome, seconds, peak)."""
    data, filename, ctype = case.make(heavy)
    with tempfile.NamedTemporaryFile(suffix=Path(filename).suffix, delete=False) as fh:
        fh.write(data)
    try:
        code = (f"from bench.chaos_hostile import _child; _child({fh.name!r}, {filename!r}, {ctype!r})")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                           timeout=120)
        last = (p.stdout.strip().splitlines() or [""])[-1]
        try:
            return json.loads(last)
        except ValueError:
            return {"outcome": f"CRASH: exit {p.returncode}: {p.stderr.strip()[-300:]}", "seconds": 0.0,
                    "peak_rss_mb": 0.0, "input_mb": round(len(data) / 1e6, 2)}
    finally:
        os.unlink(fh.name)


def rows(heavy: bool) -> list[dict]:
    out = []
    for case in CASES:
        r = run_case(case, heavy)
        ok = case.expect in r["outcome"] and r["seconds"] <= TIME_LIMIT_S and r["peak_rss_mb"] <= LIMIT_MB
        out.append({"fault": f"hostile: {case.name} ({r['input_mb']} MB)",
                    "result": ("bounded: " if ok else "NOT AS EXPECTED: ") + r["outcome"],
                    "equal_to_clean": "n/a (one file)", "seconds": r["seconds"], "peak_rss_mb": r["peak_rss_mb"]})
    return out


if __name__ == "__main__":
    for row in rows("--heavy" in sys.argv):
        print(f"{row['fault']} | {row['result']} | {row['seconds']:.2f} s | {row['peak_rss_mb']:.0f} MB")
