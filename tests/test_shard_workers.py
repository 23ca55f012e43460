"""A sharded backfill on real Prefect workers: a local Prefect API, two process workers on ``ogi-pool``, the ``shard``
deployment from prefect.yaml, the sample portal served as three hosts (fifteen portals, three shards).

One module-scoped sequence (the API and the workers cost ~20 s to start):

1. a single-process backfill over the registry (``run_direct``): the reference;
2. ``ogi backfill --shards 3``: the shard runs go to the pool, both workers take some, the CLI merges;
2b. ``ogi run`` over a registry above a lowered sharding threshold: sharded onto the two free workers by itself;
    the ``nightly`` deployment run by a worker: it holds that worker, one is free, so one process (and says so);
3. the same in a second project, but one worker (and the shard run it is executing) is SIGKILLed mid-shard: the
   flow run stays Running with no heartbeat, the submitter gives that attempt up and the surviving worker runs the
   shard again as attempt 1; then ``ogi merge`` of the run once more.

Every analytics table must equal the reference's (``warehouse.checksum``, run-time columns aside), and the second
merge must change nothing at all.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from warehouse.checksum import RUN_TIME_COLUMNS, differences, file_checksums
from analyst_expectations import query

pytestmark = pytest.mark.prefect

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HOSTS, SHARDS = 3, 3
FAST = ("crawl:\n  polite: false\n  min_delay_s: 0\n  retries: 1\n  backoff_base_s: 0.05\n"
        "  connect_timeout_s: 2\n  read_timeout_s: 10\nlock_timeout_s: 10\n")


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2:].split()[0] != "Z"
    except OSError:
        return False


def _wait_for_workers(api: str, names: set[str], procs: dict, timeout_s: float = 120.0) -> None:
    """Until every worker has polled the pool once (so that both are there to take the first shards)."""
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    deadline = time.time() + timeout_s
    with temporary_settings(updates={PREFECT_API_URL: api}):
        while True:
            for name, p in procs.items():
                assert p.poll() is None, f"worker {name} exited with {p.returncode}"
            with get_client(sync_client=True) as client:
                seen = {w.name for w in client.read_workers_for_work_pool(work_pool_name="ogi-pool")}
            if names <= seen:
                return
            assert time.time() < deadline, f"workers {names - seen} never polled the pool"
            time.sleep(0.5)


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    from flows.commands import ephemeral_prefect_server
    from flows.pipeline import run_direct
    from ogi.config import Settings
    from sample_portal.server import start, write_hosts_registry

    tmp = tmp_path_factory.mktemp("shard-workers")
    (tmp / "ogi.yaml").write_text(FAST, encoding="utf-8")
    handles = [start("127.0.0.1", 0) for _ in range(HOSTS)]
    registry = write_hosts_registry(handles, tmp / "registry.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "OGI_"))}
    env.update(PREFECT_HOME=str(tmp / ".prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               PREFECT_LOGGING_LEVEL="WARNING", OGI_HOME=str(tmp), OGI_CONFIG=str(tmp / "ogi.yaml"),
               OGI_ALERT_URLS="", OGI_SHARD_HEARTBEAT_S="0.5", PREFECT_WORKER_QUERY_SECONDS="1",
               PREFECT_WORKER_PREFETCH_SECONDS="1", PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    workers: dict[str, subprocess.Popen] = {}
    logs = []
    try:
        with pytest.MonkeyPatch.context() as mp, ephemeral_prefect_server(env) as api:
            env["PREFECT_API_URL"] = api
            for k in [k for k in os.environ if k.startswith(("PREFECT_", "OGI_"))]:
                mp.delenv(k)
            for k, v in env.items():
                mp.setenv(k, v)
            for args in (["work-pool", "create", "ogi-pool", "--type", "process", "--overwrite"],
                         ["--no-prompt", "deploy", "--name", "shard", "--name", "nightly"]):
                r = subprocess.run([str(BIN / "prefect"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                                   timeout=180)
                assert r.returncode == 0, (args, r.stdout[-2000:], r.stderr[-2000:])
            for name in ("w1", "w2"):
                log = open(tmp / f"worker-{name}.log", "wb")
                logs.append(log)
                workers[name] = subprocess.Popen(
                    [str(BIN / "prefect"), "worker", "start", "--pool", "ogi-pool", "--limit", "1", "--name", name],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            # the reference, meanwhile: one process over the same registry
            mp.setenv("OGI_DATA_DIR", str(tmp / "reference"))
            ref = Settings.load(db=tmp / "reference" / "ogi.duckdb", portals=registry)
            run_direct(ref, mode="backfill")
            mp.delenv("OGI_DATA_DIR")
            _wait_for_workers(api, {"w1", "w2"}, workers)
            yield {"tmp": tmp, "env": env, "registry": registry, "workers": workers,
                   "ref": file_checksums(ref.db_path, ignore_columns=RUN_TIME_COLUMNS), "ref_db": ref.db_path}
    finally:
        for p in workers.values():  # ours, in sessions of their own: nothing to shut down gracefully
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        for log in logs:
            log.close()
        for h in handles:
            h.stop()


def _ogi(pool, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ogi"), *args], cwd=ROOT, env=pool["env"], capture_output=True, text=True,
                          timeout=timeout)


def _manifests(staging: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(staging.glob("*/shard-*/attempt-*/manifest.json"))]


@pytest.fixture(scope="module")
def clean(pool):
    db = pool["tmp"] / "clean" / "ogi.duckdb"
    t = time.perf_counter()
    r = _ogi(pool, "backfill", "--shards", str(SHARDS), "--portals", str(pool["registry"]), "--db", str(db))
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    return {"db": db, "out": r, "seconds": time.perf_counter() - t, "staging": db.parent / "shards"}


def test_the_sharded_backfill_on_two_workers_equals_one_process(pool, clean):
    got = file_checksums(clean["db"], ignore_columns=RUN_TIME_COLUMNS)
    assert len(got) == len(pool["ref"]) > 10 and got["facts"].rows > 1000  # every analytics table compared
    assert differences(pool["ref"], got) == {}
    ms = _manifests(clean["staging"])
    assert sorted(m["shard"] for m in ms) == list(range(SHARDS)) and {m["attempt"] for m in ms} == {0}
    # both workers ran shards: each shard run is a child process of the worker that took it
    workers = {p.pid for p in pool["workers"].values()}
    assert {m["stats"]["ppid"] for m in ms} == workers, (ms, workers)
    assert len({m["stats"]["pid"] for m in ms}) == SHARDS  # one flow-run process per shard
    assert query(clean["db"], "SELECT count(*), count(DISTINCT shard) FROM main.merged_shards") == [(SHARDS, SHARDS)]
    assert f"merged shards {list(range(SHARDS))}" in clean["out"].stdout


def test_a_large_nightly_is_sharded_onto_the_free_workers_by_itself(pool, clean):
    """``ogi run`` with no ``--shards``, the threshold lowered below the registry's 15 portals: the nightly asks the
    API, finds the two idle workers (three host groups), plans two shards, the workers run them, the ogi process
    merges; the warehouse equals the one-process reference."""
    db = pool["tmp"] / "auto" / "ogi.duckdb"
    r = subprocess.run([str(BIN / "ogi"), "run", "--portals", str(pool["registry"]), "--db", str(db)], cwd=ROOT,
                       env={**pool["env"], "OGI_SHARD_ABOVE": "2"}, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    (plan,) = [json.loads(p.read_text()) for p in (db.parent / "shards").glob("*/plan.json")]
    assert plan["mode"] == "nightly" and len(plan["shards"]) == 2
    assert ("sharding: 2 shards (15 portals, above the sharding threshold 2: 2 online workers on ogi-pool, 0 runs "
            "busy there, 3 host groups)") in r.stdout
    assert query(db, "SELECT shard, attempt FROM main.merged_shards ORDER BY shard") == [(0, 0), (1, 0)]
    ms = _manifests(db.parent / "shards")
    assert {m["stats"]["ppid"] for m in ms} == {p.pid for p in pool["workers"].values()}  # run by the two workers
    assert differences(pool["ref"], file_checksums(db, ignore_columns=RUN_TIME_COLUMNS)) == {}


def test_the_nightly_deployment_on_a_worker_counts_itself_and_never_waits_for_a_worker_it_holds(pool, clean):
    """The scheduled ``nightly`` deployment, run by one of the two ``--limit 1`` workers, above the threshold: its own
    flow run holds that worker, one worker is free, one shard is not worth it: one process, said in its summary."""
    from prefect import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    db = pool["tmp"] / "deployed" / "ogi.duckdb"
    with temporary_settings(updates={PREFECT_API_URL: pool["env"]["PREFECT_API_URL"]}):
        fr = run_deployment("nightly/nightly", parameters={"portals": str(pool["registry"]), "db": str(db)},
                            job_variables={"env": {"OGI_SHARD_ABOVE": "2"}}, timeout=300, as_subflow=False)
        assert fr.state.is_completed(), fr.state
        with get_client(sync_client=True) as client:
            (art,) = [a for a in client.read_artifacts() if a.flow_run_id == fr.id and a.key == "ogi-nightly-summary"]
    assert ("Sharding: one process (15 portals, above the sharding threshold 2, but only 1 shard(s) possible "
            "(2 online workers on ogi-pool, 1 runs busy there, 3 host groups)") in art.data
    assert not (db.parent / "shards").exists()
    assert differences(pool["ref"], file_checksums(db, ignore_columns=RUN_TIME_COLUMNS)) == {}


def test_a_worker_killed_mid_shard_loses_and_duplicates_nothing(pool, clean):
    from flows.shard import PrefectLauncher, backfill_sharded

    db = pool["tmp"] / "killed" / "ogi.duckdb"
    staging = db.parent / "shards"
    killed: dict = {}
    workers = {p.pid: name for name, p in pool["workers"].items()}

    def kill_one_mid_shard() -> None:
        """The first shard run seen half-way (a portal staged, not finished): its worker and it, SIGKILL."""
        deadline = time.time() + 240
        while time.time() < deadline and not killed:
            for hb in staging.glob("*/shard-*/attempt-00/heartbeat"):
                try:
                    beat = json.loads(hb.read_text())
                except (OSError, ValueError):
                    continue
                if beat.get("portals_done", 0) >= 1 and not (hb.parent / "manifest.json").exists():
                    pid = beat["pid"]
                    worker = _ppid(pid)
                    if worker not in workers:
                        continue
                    os.killpg(worker, signal.SIGKILL)  # the worker (its session) ...
                    os.kill(pid, signal.SIGKILL)  # ... and the shard run it started, whatever its group
                    killed.update(shard_dir=hb.parent, pid=pid, worker=worker, name=workers[worker])
                    return
            time.sleep(0.05)

    from prefect.settings import PREFECT_API_URL, temporary_settings

    watcher = threading.Thread(target=kill_one_mid_shard, daemon=True)
    watcher.start()
    with temporary_settings(updates={PREFECT_API_URL: pool["env"]["PREFECT_API_URL"]}):
        out = backfill_sharded(SHARDS, portals=pool["registry"], db=db, launcher=PrefectLauncher(),
                               stale_after_s=6.0, log=lambda m: None)
    watcher.join(timeout=5)
    assert killed, "no shard was caught half-way"
    time.sleep(0.2)
    assert not _alive(killed["worker"]) and not _alive(killed["pid"])
    # the killed attempt stays half-written (never merged); its shard was run again, as attempt 1
    assert not (killed["shard_dir"] / "manifest.json").exists()
    shard = int(killed["shard_dir"].parent.name.split("-")[1])
    merged = dict(query(db, "SELECT shard, attempt FROM main.merged_shards"))
    assert merged == {k: (1 if k == shard else 0) for k in range(SHARDS)}
    assert out.merged == list(range(SHARDS)) and out.missing == []
    got = file_checksums(db, ignore_columns=RUN_TIME_COLUMNS)
    assert differences(pool["ref"], got) == {}
    ((reports, distinct),) = query(db, "SELECT count(*), count(DISTINCT (portal_id, url)) FROM analytics.reports")
    assert reports == distinct == query(pool["ref_db"], "SELECT count(*) FROM analytics.reports")[0][0]
    # and the merge once more, by hand: nothing changes, not even when a row was seen
    before = file_checksums(db)
    r = _ogi(pool, "merge", out.run_id, "--portals", str(pool["registry"]), "--db", str(db))
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-2000:])
    assert differences(before, file_checksums(db)) == {}
