"""Human-readable summary of a Report for ``ogi extract`` (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table as RichTable

from extractors.model import Report
from extractors.tables import T3_COL_KEYS, T3_ROWS, T4_COL_ORDER, T4_ROW_ORDER


def print_summary(report: Report, source: str, console: Console | None = None) -> None:
    con = console or Console()
    con.print(f"[bold]{source}[/bold]")
    if not report.is_report:
        con.print(f"[yellow]not a report[/yellow] ({report.document_kind}): {report.reason}")
        if report.title:
            con.print(f"title: {report.title}")
        return
    con.print(f"title:     {report.title}")
    con.print(f"agency:    {report.agency or '—'}")
    con.print(f"year:      {report.year or '—'}    published: {report.published or '—'}    template: {report.template}"
              f"    status: {report.status}    encoding: {report.encoding or '—'}")
    if report.unread:
        con.print(f"[red]not read[/red]: {report.unread}")
    con.print("[bold]sections[/bold]")
    numbers = {s.number for s in report.sections}
    for s in report.sections:
        con.print(f"  {s.number}. {s.heading}  ({len(s.text)} chars)")
    for n in range(1, 7):
        if n not in numbers:
            con.print(f"  {n}. [red]missing[/red]")
    con.print("[bold]tables[/bold]")
    for t in report.tables:
        width = max((len(r) for r in t.grid), default=0)
        parts = f" parts={list(t.parts)}" if t.parts else ""
        con.print(f"  #{t.index} {t.kind or '-'} {len(t.grid)}×{width}{parts}")
    fm = {(f.table, f.row, f.col): f for f in report.facts}
    if any(k[0] == "t3" for k in fm):
        rt = RichTable(title="表三 applications", show_lines=False)
        rt.add_column("row")
        for c in T3_COL_KEYS:
            rt.add_column(c, justify="right")
        for lab in T3_ROWS:
            if any(("t3", lab.key, c) in fm for c in T3_COL_KEYS):
                rt.add_row(lab.key, *[_cell(fm.get(("t3", lab.key, c))) for c in T3_COL_KEYS])
        con.print(rt)
    if any(k[0] == "t4" for k in fm):
        rt = RichTable(title="表四 review / litigation")
        rt.add_column("row")
        for c in T4_COL_ORDER:
            rt.add_column(c, justify="right")
        for r in T4_ROW_ORDER:
            rt.add_row(r, *[_cell(fm.get(("t4", r, c))) for c in T4_COL_ORDER])
        con.print(rt)
    n2 = sum(1 for k in fm if k[0] == "t2")
    if n2:
        con.print(f"表二: {n2} facts")
    legacy = [f for f in report.facts if f.table == "legacy"]
    if legacy:
        con.print("[bold]legacy figures[/bold] (pre-2019 report)")
        for f in legacy:
            where = f"“{f.sentence[:50]}”" if f.sentence else f"table #{f.table_index} row {f.grid_row}"
            con.print(f"  {f.row:30} {f.value!s:>8}  {where}")
    if report.attachments:
        con.print(f"attachments: {len(report.attachments)}")
        for a in report.attachments[:10]:
            con.print(f"  {a}")
    if report.images:
        con.print(f"table images: {len(report.images)}")
    con.print(f"[bold]findings[/bold] ({len(report.findings)})")
    colour = {"error": "red", "warning": "yellow", "info": "dim"}
    for f in report.findings:
        con.print(f"  [{colour[f.severity]}]{f.severity:7}[/] {f.rule:22} {f.message}")


def _cell(f) -> str:
    if f is None:
        return "·"
    if f.value is None:
        return f.raw or "n/a"
    return f"{f.value}" + ("*" if f.implicit_zero else "")
