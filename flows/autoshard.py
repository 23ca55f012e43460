"""Whether a nightly run is sharded, and into how many shards: the decision, and the reason the run summary gives.

``ogi run`` and the scheduled ``nightly`` deployment both ask :func:`decide` before they start:

* ``shards=0`` — one process, whatever the registry (``ogi run --shards 0``, or ``shards: 0`` in the deployment);
* ``shards=N`` (N ≥ 1) — N shards, as asked;
* ``shards=None`` (the default) — automatic: a registry selection of at most ``shard_above`` portals
  (``OGI_SHARD_ABOVE`` / ``sharding.above`` in ``ogi.yaml``, default 100) runs in one process as always.  Above
  it, the shard count is what the pool can take right now: the online workers of the ``shard`` deployment's work
  pool minus the flow runs already Running or Pending there (a worker started with ``--limit 1`` takes one run at
  a time; a nightly that is itself a flow run of that pool counts as one of them), capped by the number of host
  groups (a host is never split) and by ``sharding.max_shards`` / ``OGI_SHARD_MAX``.  Fewer than 2 — or no Prefect
  API configured, the API unreachable or not answering within ``OGI_SHARD_ASK_S`` (20 s), no ``shard``
  deployment, a paused pool — means one process, exactly as before, and the reason is logged and printed in the
  run summary.  Deciding never raises and never waits longer than that.

Why 100 by default: docs/scale.md ("When a nightly is sharded").
"""

from __future__ import annotations

import contextvars
import os
import threading
from dataclasses import dataclass
from typing import Any

from ogi.config import Settings

#: The deployment each shard runs as (``prefect.yaml``); its work pool is the one whose workers are counted.
SHARD_DEPLOYMENT = os.environ.get("OGI_SHARD_DEPLOYMENT", "shard/shard")
#: Prefect API URLs this process started for one run only (``flows.commands.temporary_prefect_api``): no worker
#: polls them, so a run on one of them is never sharded automatically.
TEMPORARY_APIS: set[str] = set()


@dataclass(frozen=True)
class ShardDecision:
    shards: int  # 0: one process
    reason: str
    #: Worth a line in the run summary (False only for a registry under the threshold, which runs as it always did).
    notable: bool = True

    def line(self) -> str:
        return f"{self.shards} shards ({self.reason})" if self.shards else f"one process ({self.reason})"


class _NoRoom(Exception):
    """The Prefect API answered, and the answer is that no shard can go to the pool."""


def decide(settings: Settings, portals: list[Any], requested: int | None = None, *,
           deployment: str | None = None, ask_timeout_s: float | None = None) -> ShardDecision:
    """How to run a nightly over ``portals`` (the registry selection): see the module doc."""
    if requested is not None and requested <= 0:
        return ShardDecision(0, "asked: shards=0")
    if requested is not None:
        return ShardDecision(int(requested), f"asked: shards={int(requested)}")
    n, above = len(portals), settings.shard_above
    if n <= above:
        return ShardDecision(0, f"{n} portals, not above the sharding threshold {above}", notable=False)
    head = f"{n} portals, above the sharding threshold {above}"
    from prefect.settings import get_current_settings

    api = get_current_settings().api.url
    if not api or api in TEMPORARY_APIS:
        return ShardDecision(0, f"{head}, but no Prefect API is configured (PREFECT_API_URL), so no worker to run shards")
    deployment = deployment or SHARD_DEPLOYMENT
    timeout = ask_timeout_s if ask_timeout_s is not None else float(os.environ.get("OGI_SHARD_ASK_S") or 20)
    try:
        pool, online, busy = _ask_with_timeout(deployment, timeout)
    except _NoRoom as e:
        return ShardDecision(0, f"{head}, but {e}")
    except Exception as e:  # noqa: BLE001 - whatever went wrong, the nightly still runs, in one process
        from ogi.config import redact_url

        msg = " ".join(redact_url(f"{type(e).__name__}: {e}").split())[:300]
        return ShardDecision(0, f"{head}, but the Prefect API could not be asked about workers ({msg})")
    from flows.shard import host_of

    hosts = len({host_of(p) for p in portals})
    free = max(0, online - busy)
    k = min(free, hosts, settings.shard_max or free)
    where = f"{online} online workers on {pool}, {busy} runs busy there, {hosts} host groups"
    if settings.shard_max:
        where += f", at most {settings.shard_max}"
    if k < 2:
        return ShardDecision(0, f"{head}, but only {k} shard(s) possible ({where}); sharding needs 2")
    return ShardDecision(k, f"{head}: {where}")


def _ask_with_timeout(deployment: str, timeout_s: float) -> tuple[str, int, int]:
    """:func:`_ask` in a thread of its own (the Prefect settings of this context go with it), given ``timeout_s``."""
    result: dict[str, Any] = {}
    ctx = contextvars.copy_context()

    def run() -> None:
        try:
            result["ok"] = ctx.run(_ask, deployment, timeout_s)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            result["error"] = e

    t = threading.Thread(target=run, name="ogi-ask-prefect", daemon=True)
    t.start()
    t.join(timeout_s)
    if t.is_alive():
        raise TimeoutError(f"no answer in {timeout_s:.0f} s")
    if "error" in result:
        raise result["error"]
    return result["ok"]


def _ask(deployment: str, timeout_s: float) -> tuple[str, int, int]:
    """(work pool of ``deployment``, its online workers, its flow runs Running or Pending)."""
    from prefect import get_client
    from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
                                                WorkPoolFilter, WorkPoolFilterName)
    from prefect.client.schemas.objects import StateType, WorkerStatus
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_REQUEST_TIMEOUT, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    with temporary_settings(updates={PREFECT_API_REQUEST_TIMEOUT: max(1.0, timeout_s / 2),
                                     PREFECT_CLIENT_MAX_RETRIES: 0}):
        with get_client(sync_client=True) as client:
            try:
                dep = client.read_deployment_by_name(deployment)
            except ObjectNotFound:
                raise _NoRoom(f"there is no {deployment!r} deployment (prefect --no-prompt deploy --all)") from None
            pool = dep.work_pool_name
            if not pool:
                raise _NoRoom(f"the {deployment!r} deployment has no work pool")
            wp = client.read_work_pool(pool)
            if wp.is_paused:
                raise _NoRoom(f"work pool {pool} is paused")
            workers = client.read_workers_for_work_pool(work_pool_name=pool)
            online = sum(w.status == WorkerStatus.ONLINE for w in workers)
            if not online:
                raise _NoRoom(f"no worker of work pool {pool} is online")
            busy = client.count_flow_runs(
                work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING]))))
    return pool, online, int(busy)
