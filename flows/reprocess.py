"""The ``reprocess`` flow: re-extract and reload every archived document, with no network at all.

Used after an extractor improvement: the raw archive holds every body ever fetched, so the warehouse can
be rebuilt from it; a changed extraction becomes a new revision through the usual content hash.
"""

from __future__ import annotations

import asyncio

from flows.tasks import run_flow_body, task_runner

from prefect import flow  # noqa: E402

from flows.summary import RunSummary  # noqa: E402


@flow(name="reprocess", task_runner=task_runner(), validate_parameters=True)
async def reprocess(portal_ids: list[str] | None = None, portals: str | None = None, db: str | None = None) -> RunSummary:
    """Re-extract and reload from the raw archive (``portal_ids`` narrows it; default: everything)."""
    return await asyncio.to_thread(run_flow_body, "reprocess", portals=portals, db=db, only=portal_ids)
