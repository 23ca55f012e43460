"""The nightly flow extracts portals in parallel threads: extraction must give the same result from any thread.

A module-level lxml parser shared by two threads aborted the whole interpreter in CI (``Fatal Python error:
Aborted`` in ``etree.fromstring``); python-docx parses with a process-global parser too.  This runs many
extractions at once and compares each with the single-threaded result.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from extractors import extract
from sample_portal.attachments import make_docx

FIXTURES = Path(__file__).parent / "fixtures" / "reports"


def _signature(data: bytes, filename: str) -> tuple:
    r = extract(data, filename=filename)
    return r.is_report, r.template, r.year, tuple(sorted(r.fact_map().items())), len(r.sections)


def _docx() -> bytes:
    return make_docx(["2022年度XX县人民政府政府信息公开工作年度报告", "一、总体情况", "本机关坚持公开。",
                      "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "四、政府信息公开行政复议、行政诉讼情况",
                      "五、存在的主要问题及改进情况", "六、其他需要报告的事项"],
                     title="XX县人民政府2022年度政府信息公开工作年度报告")


def test_parallel_extraction_equals_sequential():
    pages = sorted(FIXTURES.glob("*.html"), key=lambda p: -p.stat().st_size)[:6]
    inputs = [(p.read_bytes(), p.name) for p in pages]
    inputs.append((_docx(), "report.docx"))
    expected = [_signature(d, n) for d, n in inputs]
    work = [(None, "report.docx") if n.endswith(".docx") else (d, n) for d, n in inputs] * 8

    def one(item: tuple[bytes | None, str]) -> tuple:
        data, name = item
        return _signature(data if data is not None else _docx(), name)  # build the DOCX in this thread too

    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(one, work))
    assert got == expected * 8
    assert expected[-1][0] and expected[0][3]  # the DOCX reads as a report, the pages give facts
