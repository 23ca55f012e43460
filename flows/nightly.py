"""The ``nightly`` flow: every portal of the registry, incrementally (deployment ``nightly``, 02:00 Asia/Shanghai).

A portal that fails is recorded in the summary and the flow still completes; the flow fails only when the
run cannot proceed (bad registry, another run holds the warehouse past the lock timeout, a load error).

A large registry is sharded onto the work pool's free workers (:mod:`flows.autoshard` decides, and says why in the
run summary either way): the flow then plans the shards, submits one ``shard`` flow run each, waits for them and
merges them itself (:func:`flows.shard.backfill_sharded`) — or runs in one process exactly as before.

The flows are ``async`` only as a shell: their (blocking) body runs in a worker thread.  A sync Prefect flow
joins its heartbeat thread at the end, which costs ~1 s per run — a quarter of a no-change rerun.  From
synchronous code call ``run_sync(nightly, ...)`` (or ``asyncio.run(nightly(...))``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from flows.tasks import publish_artifacts, run_flow_body, task_runner  # Prefect env defaults first

from prefect import flow, get_run_logger  # noqa: E402

from flows.summary import RunSummary  # noqa: E402


@flow(name="nightly", task_runner=task_runner(), log_prints=False, validate_parameters=True)
async def nightly(portals: str | None = None, db: str | None = None, only: list[str] | None = None,
                  shards: int | None = None) -> RunSummary:
    """Crawl → extract → load → alerts → summary for the registry ``portals`` into the warehouse ``db``.

    ``only`` narrows the run to some portal ids (default: all).  ``shards``: ``None`` decides by the registry's size
    and the free workers (docs/scale.md), ``0`` always runs in one process, ``N`` splits into N shards.
    """
    return await asyncio.to_thread(run_nightly, portals=portals, db=db, only=only, shards=shards)


def run_nightly(*, portals: str | None = None, db: str | None = None, only: list[str] | None = None,
                shards: int | None = None) -> RunSummary | Any:
    """The nightly flow's body: decide how to run, then run in one process or sharded."""
    from flows.autoshard import ShardDecision, decide
    from flows.pipeline import RunRefused, format_exception, load_portals
    from ogi.config import ConfigError, Settings

    logger = get_run_logger()
    try:
        settings = Settings.load(db=db, portals=portals)
        decision = decide(settings, load_portals(settings, only), shards)
    except (ConfigError, RunRefused):  # the one-process body refuses the run and says why, as it always did
        return run_flow_body("nightly", portals=portals, db=db, only=only)
    except Exception as e:  # noqa: BLE001 - deciding must never cost the night
        decision = ShardDecision(0, f"could not decide on sharding: {format_exception(e)}")
    if not decision.shards:
        (logger.warning if decision.notable else logger.debug)("nightly in %s", decision.line())
        return run_flow_body("nightly", portals=portals, db=db, only=only,
                             sharding=decision.line() if decision.notable else None)
    logger.info("nightly in %s", decision.line())
    return _sharded(decision.shards, decision.reason, portals=portals, db=db, only=only)


def _sharded(n: int, why: str, *, portals: str | None, db: str | None, only: list[str] | None) -> RunSummary | Any:
    from prefect.states import Failed

    from flows.pipeline import RunRefused, format_exception
    from flows.shard import PlanFailed, backfill_sharded

    logger = get_run_logger()
    try:
        out = backfill_sharded(n, portal_ids=list(only) if only else None, portals=portals, db=db, mode="nightly",
                               why=why, log=lambda m: logger.info("%s", m))
    except PlanFailed as e:  # nothing was submitted: the night runs in one process, as it would have without workers
        logger.warning("nightly in one process: %s", e)
        return run_flow_body("nightly", portals=portals, db=db, only=only,
                             sharding=f"one process ({why}, but {e})")
    except RunRefused as e:
        logger.error("run refused: %s", e)
        return Failed(message=str(e), data=e)  # calling the flow re-raises e (ogi run: exit 2 or 3)
    except Exception as e:
        logger.error("sharded nightly failed: %s", format_exception(e))
        raise
    summary = out.summary
    if out.missing:
        logger.warning("sharded nightly %s merged without shards %s: %s", out.run_id, out.missing, summary.sharding)
    publish_artifacts(summary)
    logger.info(summary.headline())
    return summary


def run_sync(flow_fn, /, **params):  # noqa: ANN001, ANN201 - any of the three flows
    """Run an (async) flow from synchronous code; returns what the flow returns (or its state)."""
    return asyncio.run(flow_fn(**params))


if __name__ == "__main__":
    print(run_sync(nightly).text())
