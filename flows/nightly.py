"""The ``nightly`` flow: every portal of the registry, incrementally (deployment ``nightly``, 02:00 Asia/Shanghai).

A portal that fails is recorded in the summary and the flow still completes; the flow fails only when the
run cannot proceed (bad registry, another run holds the warehouse past the lock timeout, a load error).
"""

from __future__ import annotations

from flows.tasks import run_flow_body, task_runner  # sets the Prefect env defaults before importing prefect

from prefect import flow  # noqa: E402

from flows.summary import RunSummary  # noqa: E402


@flow(name="nightly", task_runner=task_runner(), log_prints=False, validate_parameters=True)
def nightly(portals: str | None = None, db: str | None = None, only: list[str] | None = None) -> RunSummary:
    """Crawl → extract → load → alerts → summary for the registry ``portals`` into the warehouse ``db``.

    ``only`` narrows the run to some portal ids (default: all).
    """
    return run_flow_body("nightly", portals=portals, db=db, only=only)


if __name__ == "__main__":
    print(nightly().text())
