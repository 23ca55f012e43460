"""The ``ogi`` command line (docs/cli.md).

Each command imports its stage lazily: ``ogi extract`` must not pay for importing Prefect, and a
broken optional stage must not break the others.  Exit codes are part of the contract.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    name="ogi",
    help="政府信息公开工作年度报告 ETL: crawl county portals, extract and check the reports, load DuckDB.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
portals_app = typer.Typer(help="Inspect the portal registry.", no_args_is_help=True)
app.add_typer(portals_app, name="portals")


def _fail(msg: str, code: int) -> None:
    typer.echo(f"ogi: {msg}", err=True)
    raise typer.Exit(code)


# ---------------------------------------------------------------------------------------- extract


@app.command()
def extract(
    source: str = typer.Argument(..., help="A report file (HTML, text, PDF, DOCX, XLS…) or an http(s) URL."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON object of docs/cli.md instead of a summary."),
) -> None:
    """Extract one report: exit 0 for a report (even a malformed one), 1 for a non-report, 2 for unreadable input."""
    from extractors.api import extract_source
    from extractors.model import UnreadableInput

    try:
        report = extract_source(source)
    except UnreadableInput as e:
        _fail(f"cannot read {source}: {e}", 2)
        return
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        from extractors.summary import print_summary

        print_summary(report, source)
    raise typer.Exit(0 if report.is_report else 1)


# ---------------------------------------------------------------------------------------- main


def main() -> None:
    app()


if __name__ == "__main__":
    main()
