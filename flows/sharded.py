"""The ``shard`` and ``merge`` flows (deployments of the same names on ``ogi-pool``): :mod:`flows.shard` on workers.

A ``shard`` flow run crawls and extracts one shard of a planned run into the staging area and never opens the
warehouse, so any number of them run at once, on any worker that sees the staging root and the registry.
The ``merge`` flow is the one writer: it loads every complete shard, then finishes, publishes and alerts once.
``ogi backfill --shards N`` plans the run, submits the shard runs, waits for them and merges in its own process;
the ``merge`` deployment is for merging a run again (or from the UI) after a merger was lost.
"""

from __future__ import annotations

import asyncio
from typing import Any

from flows.tasks import publish_artifacts  # sets the Prefect env defaults before importing prefect

from prefect import flow, get_run_logger  # noqa: E402

from flows import shard as sharding  # noqa: E402


@flow(name="shard", validate_parameters=True)
async def shard(run_id: str, shard: int, attempt: int = 0, staging: str | None = None, portals: str | None = None,
                db: str | None = None) -> dict[str, Any]:
    """Crawl + extract shard ``shard`` of the planned run ``run_id`` into staged Parquet; returns its manifest."""
    m = await asyncio.to_thread(sharding.run_shard, run_id, shard, attempt, staging=staging, portals=portals, db=db)
    st = m.get("stats", {})
    get_run_logger().info("shard %s attempt %s of %s: %s portals, %s requests, %s pieces in %.1f s", shard, attempt,
                          run_id, st.get("portals"), st.get("requests"), st.get("pieces"), st.get("wall_s", 0.0))
    return {k: m[k] for k in ("run_id", "shard", "attempt", "sha256", "stats") if k in m}


@flow(name="merge", validate_parameters=True)
async def merge(run_id: str, staging: str | None = None, portals: str | None = None, db: str | None = None) -> Any:
    """Load every complete shard of ``run_id`` into the warehouse (idempotent), then publish and alert once."""
    out = await asyncio.to_thread(sharding.merge_run, run_id, staging=staging, portals=portals, db=db)
    if out.summary is not None:
        await asyncio.to_thread(publish_artifacts, out.summary)  # (sync artifact calls, as in the other flows)
        get_run_logger().info("merged shards %s of %s (missing: %s): %s", out.merged, run_id, out.missing or "none",
                              out.summary.headline())
    return {"run_id": run_id, "merged": out.merged, "missing": out.missing}
