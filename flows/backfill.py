"""The ``backfill`` flow: chosen portals (and report years), fully re-crawled and re-extracted.

A full re-crawl ignores the conditional-GET state, so it also repairs a portal whose earlier runs missed
pages; reports of other years are passed to the loader untouched (never marked withdrawn).
"""

from __future__ import annotations

import asyncio

from flows.tasks import run_flow_body, task_runner

from prefect import flow  # noqa: E402

from flows.summary import RunSummary  # noqa: E402


@flow(name="backfill", task_runner=task_runner(), validate_parameters=True)
async def backfill(
    portal_ids: list[str],
    years: list[int] | None = None,
    portals: str | None = None,
    db: str | None = None,
) -> RunSummary:
    """Re-crawl ``portal_ids`` fully and reload their reports (only those of ``years`` when given)."""
    return await asyncio.to_thread(run_flow_body, "backfill", portals=portals, db=db, only=portal_ids, years=years)
