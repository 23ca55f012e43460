"""Benchmark of PDF extraction: ``.venv/bin/python -m bench.pdf [--reps N] [--samples DIR]``.

PDFs: the text-layer fixtures of ``tests/fixtures/fidelity/pdf`` (LibreOffice ruled and unruled, fake bold,
unruled with and without a repeated header, ruled over two pages, rotated pages, fonts without ToUnicode
(read by both text engines, then refused); the scans are left out: they cost tesseract's time, not ours), and with ``--samples DIR`` every ``*.pdf`` of DIR as well (e.g.
``../shared/samples``, the hand-checked real reports; optional, the project does not need them).
Pinned to one core.  Prints, for the same files in the same run: ``extractors.extract`` (read, tables,
facts, rules) and the reference line ``pdfplumber`` reading each page's text and tables the plain way
(``extract_text`` + ``extract_tables``, no dedupe, no header/footer removal, no facts), with the ratio.
Target: >= 20 pages/s on one core (issue 9).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "fidelity" / "pdf"
TARGET_PAGES_PER_S = 20
_SCANS = ("scanned",)


def corpus(samples: Path | None) -> list[tuple[str, bytes, int]]:
    import pypdfium2 as pdfium

    paths = [p for p in sorted(FIXTURES.glob("*.pdf")) if not p.stem.startswith(_SCANS)]
    if samples is not None:
        paths += sorted(samples.glob("*.pdf"))
    out = []
    for p in paths:
        data = p.read_bytes()
        pdf = pdfium.PdfDocument(data)
        out.append((p.name, data, len(pdf)))
        pdf.close()
    return out


def _plumber(data: bytes) -> None:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            page.extract_text()
            page.extract_tables()


def run(files: list[tuple[str, bytes, int]], reps: int) -> dict[str, float]:
    """Time both contenders on every file, interleaved (a shared machine's noise hits both alike)."""
    from extractors import extract

    for name, data, _ in files:  # sanity: every file is a report read with facts, or unread with its reason
        r = extract(data, filename=name)
        assert r.is_report and (r.facts or r.unread), (name, r.status, r.reason)
    contenders = {
        "extractors.extract (read+tables+facts+rules)": lambda n, d: extract(d, filename=n),
        "ref: pdfplumber extract_text+extract_tables": lambda n, d: _plumber(d),
    }
    cpu: dict[str, list[float]] = {k: [] for k in contenders}
    wall: dict[str, list[float]] = {k: [] for k in contenders}
    total: dict[str, float] = {k: 0.0 for k in contenders}  # CPU seconds over every file and rep
    for _ in range(reps):
        for name, data, pages in files:
            for label, fn in contenders.items():
                c0, t0 = time.thread_time(), time.perf_counter()
                fn(name, data)
                spent = time.thread_time() - c0
                total[label] += spent
                cpu[label].append(spent / pages)
                wall[label].append((time.perf_counter() - t0) / pages)
    n_pages = sum(p for _, _, p in files)
    print(f"\n== {len(files)} PDFs, {n_pages} pages, {reps} reps, interleaved ==")
    print("  (per page; CPU = this thread's CPU time, what one core delivers when others share the machine)")
    rates: dict[str, float] = {}
    for label in contenders:
        cmed, wmed = statistics.median(cpu[label]) * 1000, statistics.median(wall[label]) * 1000
        rates[label] = n_pages * reps / total[label]
        print(f"  {label:46s} {rates[label]:6.1f} pages/s over the corpus   "
              f"(CPU median {cmed:6.1f} ms/page, wall median {wmed:6.1f} ms/page)")
    ours, ref = rates["extractors.extract (read+tables+facts+rules)"], rates["ref: pdfplumber extract_text+extract_tables"]
    print(f"  ours vs pdfplumber plain: {ours / ref:.2f}x")
    for name, data, pages in files:
        c0 = time.thread_time()
        extract(data, filename=name)
        print(f"    {name:40s} {pages:2d} pages  {(time.thread_time() - c0) * 1000 / pages:6.1f} ms/page")
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--samples", type=Path, default=None, help="a directory of more PDFs (e.g. ../shared/samples)")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        print(f"pinned to CPU {sorted(os.sched_getaffinity(0))}")
    rates = run(corpus(args.samples), args.reps)
    ours = rates["extractors.extract (read+tables+facts+rules)"]
    verdict = "OK" if ours >= TARGET_PAGES_PER_S else "BELOW TARGET"
    print(f"\nPDF: {ours:.0f} pages/s on one core (target >= {TARGET_PAGES_PER_S}): {verdict}")


if __name__ == "__main__":
    main()
