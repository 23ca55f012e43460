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


# ---------------------------------------------------------------------------------------- runs (flows/)


@app.command()
def run(
    portals: Optional[Path] = typer.Option(None, "--portals", help="Portal registry YAML (default portals/registry.yaml)."),
    db: Optional[Path] = typer.Option(None, "--db", help="Warehouse file (default data/ogi.duckdb)."),
    only: Optional[list[str]] = typer.Option(None, "--portal", help="Only this portal id (repeatable)."),
    shards: Optional[int] = typer.Option(
        None, "--shards", help="N: split into N shards run by the ogi-pool workers, then merge here (needs "
        "PREFECT_API_URL and the shard deployment); 0: always one process. Default: sharded only above "
        "OGI_SHARD_ABOVE (100) portals and when workers are free (docs/scale.md)."),
    staging: Optional[str] = typer.Option(None, "--staging", help="Staging root of the shards: a path or an fsspec "
                                          "URL (s3://…); default shards/ beside the warehouse, or OGI_STAGING."),
) -> None:
    """Run the nightly ingest once, in-process (no Prefect server needed); prints the run summary.

    Exit 0 when the run completed (failed portals/pages are in the summary), 2 bad config/registry,
    3 warehouse locked by another run, 1 the run failed, 4 a sharded run merged without a shard (named).
    """
    from flows.commands import backfill_sharded_once, run_once

    if shards:
        raise typer.Exit(backfill_sharded_once(shards, only, None, portals, db, staging, mode="nightly"))
    raise typer.Exit(run_once(portals=portals, db=db, only=only, shards=shards, staging=staging))


@app.command()
def backfill(
    portal: Optional[list[str]] = typer.Option(None, "--portal", help="Portal id to re-crawl fully (repeatable)."),
    year: Optional[list[int]] = typer.Option(None, "--year", help="Only reports of this year (repeatable)."),
    portals: Optional[Path] = typer.Option(None, "--portals", help="Portal registry YAML."),
    db: Optional[Path] = typer.Option(None, "--db", help="Warehouse file."),
    shards: int = typer.Option(0, "--shards", help="Split into N shards (host groups), one flow run each on the "
                               "ogi-pool workers, then merge here (needs PREFECT_API_URL and the shard deployment)."),
    staging: Optional[str] = typer.Option(None, "--staging", help="Staging root of the shards: a path or an fsspec "
                                          "URL such as s3://bucket/ogi (default: shards/ beside the warehouse, or "
                                          "OGI_STAGING); every worker must reach it."),
) -> None:
    """Re-crawl chosen portals fully (ignoring conditional-GET state) and reload their reports.

    With ``--shards N`` the whole registry (or the ``--portal`` ids) is backfilled by the work pool's workers.
    """
    from flows.commands import backfill_once, backfill_sharded_once

    if shards:
        raise typer.Exit(backfill_sharded_once(shards, portal, year, portals, db, staging))
    if not portal:
        _fail("backfill needs --portal ID (repeatable), or --shards N for the whole registry", 2)
    raise typer.Exit(backfill_once(portal, year, portals, db))


@app.command()
def merge(
    run_id: str = typer.Argument(..., help="The sharded run to merge (its plan is under the staging root)."),
    portals: Optional[Path] = typer.Option(None, "--portals", help="Portal registry YAML."),
    db: Optional[Path] = typer.Option(None, "--db", help="Warehouse file."),
    staging: Optional[str] = typer.Option(None, "--staging", help="Staging root of the shards (a path or an fsspec URL)."),
) -> None:
    """Merge (again) every complete shard of a sharded run: idempotent; exit 4 if a shard is still missing."""
    from flows.commands import merge_once

    raise typer.Exit(merge_once(run_id, portals, db, staging))


@app.command()
def reprocess(
    portal: Optional[list[str]] = typer.Option(None, "--portal", help="Only this portal id (repeatable)."),
    portals: Optional[Path] = typer.Option(None, "--portals", help="Portal registry YAML."),
    db: Optional[Path] = typer.Option(None, "--db", help="Warehouse file."),
) -> None:
    """Re-extract and reload every archived document from the raw archive (no network)."""
    from flows.commands import reprocess_once

    raise typer.Exit(reprocess_once(portal, portals, db))


archive_app = typer.Typer(help="Inspect the raw archive.", no_args_is_help=True)
app.add_typer(archive_app, name="archive")


@archive_app.command("verify")
def archive_verify(
    db: Optional[Path] = typer.Option(None, "--db", help="Warehouse file (the archive is beside it unless configured)."),
    archive: Optional[Path] = typer.Option(None, "--archive", help="Archive directory (default: from the config)."),
) -> None:
    """Check every archived body against its sha256: exit 0 when all are intact, 1 listing what is wrong."""
    from crawler.archive import Archive
    from ogi.config import ConfigError, Settings

    try:
        root = archive or Settings.load(db=db).archive_dir
    except ConfigError as e:
        _fail(str(e), 2)
        return
    if not (Path(root) / "index.sqlite").exists():
        _fail(f"no archive at {root}", 2)
    with Archive(root) as a:
        problems = a.verify()
        total = len(list(a.objects.glob("*/*.gz")))
    for sha, where, reason in problems:
        typer.echo(f"CORRUPT {sha[:16]}  {where}: {reason}")
    typer.echo(f"{total} blobs checked, {len(problems)} problem(s) in {root}")
    raise typer.Exit(1 if problems else 0)


@app.command()
def serve(
    portals: Optional[Path] = typer.Option(None, "--portals", help="Portal registry YAML."),
    db: Optional[Path] = typer.Option(None, "--db", help="Warehouse file."),
    cron: str = typer.Option("0 2 * * *", "--cron", help="Schedule (cron)."),
    timezone: str = typer.Option("Asia/Shanghai", "--timezone", help="Time zone of the schedule."),
) -> None:
    """Serve the nightly schedule from this process (starts a local Prefect server when PREFECT_API_URL is unset)."""
    from flows.commands import serve as serve_impl

    raise typer.Exit(serve_impl(portals, db, cron=cron, timezone=timezone))


@app.command()
def demo(
    db: Optional[Path] = typer.Option(None, "--db", help="Warehouse file (default data/ogi.duckdb)."),
) -> None:
    """The main job: sample portal + alert sink + nightly run; prints summary, queries and alerts. Run it twice."""
    from flows.demo import demo as demo_impl

    raise typer.Exit(demo_impl(db=db))


# ---------------------------------------------------------------------------------------- warehouse


@app.command()
def query(
    sql: str = typer.Argument(..., help='SQL to run, e.g. "SELECT * FROM analytics.coverage"; @FILE reads it from a file, - from stdin.'),
    db: Optional[Path] = typer.Option(None, "--db", help="Warehouse file (default data/ogi.duckdb)."),
    fmt: str = typer.Option("table", "--format", help="table | csv | json | parquet (parquet needs --out)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the result to this file instead of stdout."),
) -> None:
    """Run read-only SQL on the published warehouse: exit 0 ok, 1 bad SQL, 2 no warehouse."""
    from ogi.config import Settings
    from warehouse.db import WarehouseMissing
    from warehouse.query import QueryError, run_query

    path = Settings.load(db=db).db_path
    if sql == "-":
        sql = sys.stdin.read()
    elif sql.startswith("@"):
        try:
            sql = Path(sql[1:]).read_text(encoding="utf-8")
        except OSError as e:
            _fail(f"cannot read SQL file {sql[1:]}: {e.strerror}", 2)
    try:
        run_query(path, sql, fmt, out)
    except WarehouseMissing as e:
        _fail(str(e), 2)
    except QueryError as e:
        _fail(f"query failed: {e}", 1)


@app.command()
def export(
    out: Path = typer.Option(..., "--out", help="Directory for the Parquet files (one subdirectory per view)."),
    db: Optional[Path] = typer.Option(None, "--db", help="Warehouse file (default data/ogi.duckdb)."),
) -> None:
    """Export every analytics view as Parquet, partitioned by province and year."""
    from ogi.config import Settings
    from warehouse.db import WarehouseMissing
    from warehouse.query import export as export_views

    path = Settings.load(db=db).db_path
    try:
        counts = export_views(path, out)
    except WarehouseMissing as e:
        _fail(str(e), 2)
        return
    for name, n in counts.items():
        typer.echo(f"{name}: {n} rows → {out / name}")


@app.command()
def report(
    db: Optional[Path] = typer.Option(None, "--db", help="Warehouse file (default data/ogi.duckdb)."),
    out: Optional[Path] = typer.Option(None, "--out", help="HTML file to write (default: report.html next to the warehouse)."),
    portal: Optional[list[str]] = typer.Option(None, "--portal", help="Only this portal id (repeatable)."),
    year: Optional[list[int]] = typer.Option(None, "--year", help="Only this report year (repeatable)."),
) -> None:
    """Write the analyst page (one offline HTML file) from the published warehouse: exit 0 ok, 2 no or unreadable warehouse."""
    from analyst import SnapshotRefused, write_page
    from ogi.config import Settings
    from warehouse.db import WarehouseMissing

    path = Settings.load(db=db).db_path
    try:
        res = write_page(path, out, portals=portal, years=year)
    except (WarehouseMissing, SnapshotRefused) as e:
        _fail(str(e), 2)
        return
    note = f", read from an upgraded copy of schema v{res.schema_version}" if res.upgraded else ""
    typer.echo(f"analyst page: {res.path} ({res.bytes / 1e6:.2f} MB, {res.reports} reports, {res.findings} findings, "
               f"{res.seconds:.2f} s{note})")


# ---------------------------------------------------------------------------------------- crawl (crawler/)


def _load_portals_or_exit(portals: Optional[Path]):
    from ogi.config import ConfigError, Settings
    from ogi.registry import RegistryError, load_registry

    try:
        settings = Settings.load(portals=portals)
        return settings, load_registry(settings.portals_path)
    except (RegistryError, ConfigError) as e:
        _fail(str(e), 2)
        raise  # unreachable: _fail exits


@app.command()
def crawl(
    portals: Optional[Path] = typer.Option(None, "--portals", help="Portal registry YAML (default portals/registry.yaml)."),
    archive: Optional[Path] = typer.Option(None, "--archive", help="Raw archive directory (default data/archive)."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="Progress bar (default: when stderr is a TTY)."),
    only: Optional[list[str]] = typer.Option(None, "--portal", help="Only this portal id (repeatable)."),
) -> None:
    """Crawl only: fetch new/changed reports into the raw archive and print a summary (no extraction).

    Exit 0 when the crawl completed (unreachable portals and failed pages are in the summary), 2 bad
    config/registry.
    """
    from crawler.commands import run_crawl

    settings, plist = _load_portals_or_exit(portals)
    if only:
        unknown = sorted(set(only) - {p.id for p in plist})
        if unknown:
            _fail(f"unknown portal id(s) {', '.join(unknown)} in {settings.portals_path}", 2)
        plist = [p for p in plist if p.id in set(only)]
    run_crawl(plist, archive or settings.archive_dir, settings.crawl, progress=progress)


@portals_app.command("check")
def portals_check(
    portals: Optional[Path] = typer.Option(None, "--portals", help="Portal registry YAML (default portals/registry.yaml)."),
) -> None:
    """Per portal: reachability, detected CMS, number of report links found (reads list pages only).

    Exit 0 (the table is the result; its last line counts the portals that need attention), 2 bad registry.
    """
    from crawler.commands import check_portals, print_checks

    settings, plist = _load_portals_or_exit(portals)
    print_checks(check_portals(plist, settings.crawl))


sample_app = typer.Typer(help="The bundled sample portal: serve it, or publish / revise a report on it.")
app.add_typer(sample_app, name="sample-portal")
_STATE_HELP = "State file of published / revised reports (default data/sample-portal-state.json, the demo's)."


def _state_path(state: Optional[Path]) -> Path:
    from sample_portal.state import default_path

    return state or default_path()


@sample_app.callback(invoke_without_command=True)
def sample_portal_cmd(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (keep it on loopback)."),
    port: int = typer.Option(8765, "--port", help="Port (portals/sample.yaml expects 8765)."),
    reports_per_portal: Optional[int] = typer.Option(None, "--reports-per-portal", help="Scale every portal to N reports."),
    state: Optional[Path] = typer.Option(None, "--state", help=_STATE_HELP + " Not used with --reports-per-portal."),
) -> None:
    """Serve the bundled sample portals (TRS, Hanweb, gkmlpt, VSB, generic) in the foreground."""
    if ctx.invoked_subcommand is not None:
        return
    from sample_portal.server import serve
    from sample_portal.state import StateFileError

    try:
        serve(host, port, reports_per_portal=reports_per_portal,
              state_file=None if reports_per_portal is not None else _state_path(state))
    except StateFileError as e:
        _fail(str(e), 2)
    except OSError as e:
        _fail(f"cannot serve the sample portal on {host}:{port}: {e.strerror or e}", 2)


def _offline(state: Optional[Path], host: str, port: int):
    from sample_portal.server import offline
    from sample_portal.state import StateFileError

    try:
        return offline(_state_path(state), host, port)
    except (StateFileError, ValueError) as e:
        _fail(str(e), 2)


@sample_app.command("publish")
def sample_portal_publish(
    portal: Optional[str] = typer.Option(None, "--portal", help="Portal key or id (default: the first, qinghe)."),
    state: Optional[Path] = typer.Option(None, "--state", help=_STATE_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="Host of the URL printed."),
    port: int = typer.Option(8765, "--port", help="Port of the URL printed."),
) -> None:
    """Publish a new 2024 report (listed first on its portal); prints its URL. Seen by the next demo run."""
    h = _offline(state, host, port)
    try:
        url = h.publish_new_report(portal)
    except KeyError as e:
        _fail(str(e.args[0] if e.args else e), 2)
    typer.echo(url)


@sample_app.command("revise")
def sample_portal_revise(
    url: Optional[str] = typer.Option(None, "--url", help="The report page (or attachment) to revise."),
    portal: Optional[str] = typer.Option(None, "--portal", help="Portal key or id (default: the first, qinghe)."),
    state: Optional[Path] = typer.Option(None, "--state", help=_STATE_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="Host of the URL printed."),
    port: int = typer.Option(8765, "--port", help="Port of the URL printed."),
) -> None:
    """Revise a report in place (same URL and list entry, new numbers); prints its URL. Seen by the next demo run.

    Without --url: the newest 2021-format HTML report the portal had from the start."""
    h = _offline(state, host, port)
    try:
        out = h.revise_report(portal, url=url)
    except (KeyError, StopIteration):
        _fail(f"no such report on the sample portal: {url or portal}", 2)
    typer.echo(out)


# ---------------------------------------------------------------------------------------- main


def main() -> None:
    app()


if __name__ == "__main__":
    main()
