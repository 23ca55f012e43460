"""The ``nightly`` flow: every portal of the registry, incrementally (deployment ``nightly``, 02:00 Asia/Shanghai).

A portal that fails is recorded in the summary and the flow still completes; the flow fails only when the
run cannot proceed (bad registry, another run holds the warehouse past the lock timeout, a load error).

The flows are ``async`` only as a shell: their (blocking) body runs in a worker thread.  A sync Prefect flow
joins its heartbeat thread at the end, which costs ~1 s per run — a quarter of a no-change rerun.  From
synchronous code call ``run_sync(nightly, ...)`` (or ``asyncio.run(nightly(...))``).
"""

from __future__ import annotations

import asyncio

from flows.tasks import run_flow_body, task_runner  # sets the Prefect env defaults before importing prefect

from prefect import flow  # noqa: E402

from flows.summary import RunSummary  # noqa: E402


@flow(name="nightly", task_runner=task_runner(), log_prints=False, validate_parameters=True)
async def nightly(portals: str | None = None, db: str | None = None, only: list[str] | None = None) -> RunSummary:
    """Crawl → extract → load → alerts → summary for the registry ``portals`` into the warehouse ``db``.

    ``only`` narrows the run to some portal ids (default: all).
    """
    return await asyncio.to_thread(run_flow_body, "nightly", portals=portals, db=db, only=only)


def run_sync(flow_fn, /, **params):  # noqa: ANN001, ANN201 - any of the three flows
    """Run an (async) flow from synchronous code; returns what the flow returns (or its state)."""
    return asyncio.run(flow_fn(**params))


if __name__ == "__main__":
    print(run_sync(nightly).text())
