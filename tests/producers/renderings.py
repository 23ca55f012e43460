"""Every rendering of one report the producers can make in milliseconds, by name (for the cross-rendering test
and ``bench.fidelity``).

A rendering is a producer ``ReportSpec -> bytes`` plus the file name the document is published under (None: an
HTML page) and the input kind it stands for in the fidelity tables.  The LibreOffice renderings (.doc/.wps, the
LibreOffice PDFs) take seconds and are committed fixtures instead (``tests/fixtures/fidelity/office``, ``pdf``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from producers import html_text, office, pdf
from sample_portal.reportgen import ReportSpec


@dataclass(frozen=True)
class Rendering:
    kind: str  # the input kind (bench.fidelity's rows)
    producer: Callable[[ReportSpec], bytes]
    filename: str | None  # None: an HTML page
    #: every cell can be given back whatever the numbers (False: blank cells that leave no trace, glued digits —
    #: such cells may be read as null, never wrong)
    exact: bool = True
    sections: bool = True  # the rendering carries the report's text (an XLSX holds the tables only)


RENDERINGS: dict[str, Rendering] = {
    "word-html": Rendering("Word HTML", office.official_html, None),
    "text-html-tabs": Rendering("text HTML", html_text.html_p_tabs, None),
    "text-html-pipe": Rendering("text HTML", html_text.html_pipe, None),
    "text-html-nbsp": Rendering("text HTML", html_text.html_p_nbsp, None, exact=False),
    "text-html-ideographic": Rendering("text HTML", html_text.html_p_ideographic, None, exact=False),
    "text-html-br": Rendering("text HTML", html_text.html_br_spaces, None, exact=False),
    "text-html-pre": Rendering("text HTML", html_text.html_pre, None, exact=False),
    "text-html-cell-per-p": Rendering("text HTML", html_text.html_cell_per_p, None, exact=False),
    "text-html-glued": Rendering("text HTML", html_text.html_p_glued, None, exact=False),
    "txt-tabs": Rendering("txt", html_text.text_tabs, "report.txt"),
    "txt-glued": Rendering("txt", html_text.text_glued, "report.txt", exact=False),
    "txt-spaced": Rendering("txt", html_text.text_spaced_blanks, "report.txt", exact=False),
    "docx": Rendering("DOCX", office.report_docx, "report.docx"),
    "xlsx": Rendering("XLSX", office.report_xlsx, "report.xlsx", sections=False),
    "pdf-fakebold": Rendering("PDF fakebold", pdf.fake_bold, "report.pdf"),
    "pdf-unruled": Rendering("PDF unruled", pdf.unruled, "report.pdf"),
    "pdf-unruled-repeated-header": Rendering("PDF unruled", pdf.unruled_repeated_header, "report.pdf"),
    "pdf-two-page": Rendering("PDF two-page", pdf.two_page, "report.pdf"),
    "pdf-rotated": Rendering("PDF rotated", pdf.rotated, "report.pdf"),
}

#: the acceptance set of issue 9 (with XLSX): one report as Word-export HTML, text-laid HTML, .txt, DOCX, XLSX, a
#: fake-bold PDF and an unruled PDF (the .doc is the committed fixture)
ACCEPTANCE = ("word-html", "text-html-tabs", "txt-tabs", "docx", "xlsx", "pdf-fakebold", "pdf-unruled")


def specs(n: int, first_seed: int = 100) -> list[ReportSpec]:
    """``n`` reports of both templates, every other one printing its zero legal-person cells blank."""
    issuers = ("县人民政府", "县教育局", "城关镇人民政府", "县政府办公室", "县卫生健康委员会")
    out = []
    for i in range(n):
        template = "2019" if i % 2 == 0 else "2021"
        year = (2019, 2020)[i // 2 % 2] if template == "2019" else 2021 + i // 2 % 3
        out.append(ReportSpec("某某县", issuers[i % len(issuers)], year, template, first_seed + i,  # type: ignore[arg-type]
                              blank_zeros=bool(i // 2 % 2)))
    return out
