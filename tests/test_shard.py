"""Sharded runs without a Prefect server (flows/shard.py): the plan, the shards, the merge and its idempotency.

The sample portal is served twice (two hosts, ten portals); a single-process backfill over the same registry is
the reference every merged warehouse must equal, view for view (``warehouse.checksum``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows import shard as sharding
from ogi.registry import Portal
from warehouse.checksum import RUN_TIME_COLUMNS, differences, file_checksums
from analyst_expectations import query

ROOT = Path(__file__).resolve().parents[1]
FAST = ("crawl:\n  polite: false\n  min_delay_s: 0\n  retries: 0\n  backoff_base_s: 0.01\n"
        "  connect_timeout_s: 2\n  read_timeout_s: 5\nlock_timeout_s: 5\n")


def _portal(pid: str, host: str) -> Portal:
    return Portal(id=pid, name=pid, start_urls=(f"http://{host}/x/index.html",), allowed_hosts=(host.split(":")[0],))


def test_plan_keeps_each_host_in_one_shard_and_balances_biggest_first():
    hosts = {"a:1": 5, "b:1": 3, "c:1": 3, "d:1": 2, "e:1": 1}
    portals = [_portal(f"{h}-{i}", h) for h, n in hosts.items() for i in range(n)]
    portals = portals[::2] + portals[1::2]  # registry order not grouped by host
    plan = sharding.plan_shards(portals, 3)
    assert len(plan) == 3 and sorted(sum(plan, [])) == sorted(p.id for p in portals)
    host = {p.id: sharding.host_of(p) for p in portals}
    for h in hosts:  # a host's portals are all in one shard (per-host politeness holds across shards)
        assert sum(any(host[i] == h for i in s) for s in plan) == 1
    assert sorted(len(s) for s in plan) == [4, 5, 5]  # a(5) | b(3)+e(1)... dealt onto the least loaded shard
    order = {p.id: i for i, p in enumerate(portals)}
    assert all(s == sorted(s, key=order.__getitem__) for s in plan)  # registry order within a shard
    assert sharding.plan_shards(portals, 3) == plan  # stable
    assert len(sharding.plan_shards(portals, 10)) == 5  # never more shards than hosts, never an empty one
    assert sharding.plan_shards(portals, 1) == [sorted((p.id for p in portals), key=order.__getitem__)]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Two sample portals (two hosts), their registry, and the reference: one single-process backfill."""
    from crawler.hosts import reset_shared
    from flows.pipeline import run_direct
    from ogi.config import Settings
    from sample_portal.server import start, write_hosts_registry

    tmp = tmp_path_factory.mktemp("shard")
    (tmp / "ogi.yaml").write_text(FAST, encoding="utf-8")
    handles = [start("127.0.0.1", 0) for _ in range(2)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OGI_HOME", str(tmp))
        mp.setenv("OGI_CONFIG", str(tmp / "ogi.yaml"))
        mp.setenv("OGI_ALERT_URLS", "")
        mp.delenv("OGI_STAGING", raising=False)
        try:
            registry = write_hosts_registry(handles, tmp / "registry.yaml")
            reset_shared()
            mp.setenv("OGI_DATA_DIR", str(tmp / "ref"))
            ref = Settings.load(db=tmp / "ref" / "ogi.duckdb", portals=registry)
            run_direct(ref, mode="backfill")
            yield {"tmp": tmp, "registry": registry, "ref": ref.db_path, "ref_archive": ref.archive_dir,
                   "ref_checksums": file_checksums(ref.db_path, ignore_columns=RUN_TIME_COLUMNS),
                   "env": {"OGI_HOME": str(tmp), "OGI_CONFIG": str(tmp / "ogi.yaml"), "OGI_ALERT_URLS": ""}}
        finally:
            for h in handles:
                h.stop()


@pytest.fixture
def env(lab, monkeypatch):
    for k, v in lab["env"].items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("OGI_DATA_DIR", str(lab["tmp"]))
    return lab


def _settings(lab, name: str):
    from ogi.config import Settings

    os.environ["OGI_DATA_DIR"] = str(lab["tmp"] / name)  # (the env fixture restores it) archive and staging too
    return Settings.load(db=lab["tmp"] / name / "ogi.duckdb", portals=lab["registry"])


def test_sharded_backfill_equals_one_process_and_merging_twice_changes_nothing(env):
    s = _settings(env, "sharded")
    plan = sharding.new_plan(s, 2)
    assert len(plan["shards"]) == 2
    for k in range(2):
        m = sharding.run_shard(plan["run_id"], k, 0, db=s.db_path, portals=s.portals_path)
        assert m["stats"]["requests"] > 0 and m["rows"]["reports"] > 0
    assert not s.db_path.exists() and not (s.db_path.parent / "ogi.work.duckdb").exists()  # shards never open it
    out = sharding.merge_run(plan["run_id"], db=s.db_path, portals=s.portals_path)
    assert out.merged == out.first_time == [0, 1] and out.missing == []
    got = file_checksums(s.db_path, ignore_columns=RUN_TIME_COLUMNS)
    assert got["facts"].rows > 1000 and len(got) > 10
    assert differences(env["ref_checksums"], got) == {}
    assert query(s.db_path, "SELECT shard, attempt FROM main.merged_shards ORDER BY shard") == [(0, 0), (1, 0)]
    # the raw bodies are in the main archive too (reprocess reads them there)
    from crawler.archive import Archive

    with Archive(s.archive_dir) as a, Archive(env["ref_archive"]) as r:
        assert len(a.documents()) == len(r.documents()) > 50
        assert all(a.has(d.sha256) for d in r.documents())
    # a second merge of the same run: every view identical, run-time columns included
    before = file_checksums(s.db_path)
    again = sharding.merge_run(plan["run_id"], db=s.db_path, portals=s.portals_path)
    assert again.merged == [0, 1] and again.first_time == []
    assert differences(before, file_checksums(s.db_path)) == {}
    assert query(s.db_path, "SELECT count(*) FROM main.merged_shards") == [(2,)]


def test_a_half_written_shard_is_ignored_until_an_attempt_is_complete(env):
    from staging import attempt_dir

    s = _settings(env, "half")
    plan = sharding.new_plan(s, 2)
    run_id, root = plan["run_id"], sharding.staging_root(s)
    sharding.run_shard(run_id, 0, 0, db=s.db_path, portals=s.portals_path)
    sharding.run_shard(run_id, 1, 0, db=s.db_path, portals=s.portals_path)
    (attempt_dir(root, run_id, 1, 0) / "manifest.json").unlink()  # as if its worker died before the manifest
    out = sharding.merge_run(run_id, db=s.db_path, portals=s.portals_path)
    assert out.merged == [0] and out.missing == [1]
    portals = {r[0] for r in query(s.db_path, "SELECT DISTINCT portal_id FROM analytics.reports")}
    assert portals == set(plan["shards"][0])
    sharding.run_shard(run_id, 1, 1, db=s.db_path, portals=s.portals_path)  # the shard run again, as attempt 1
    out = sharding.merge_run(run_id, db=s.db_path, portals=s.portals_path)
    assert out.merged == [0, 1] and out.first_time == [1]
    assert query(s.db_path, "SELECT shard, attempt FROM main.merged_shards ORDER BY shard") == [(0, 0), (1, 1)]
    assert differences(env["ref_checksums"], file_checksums(s.db_path, ignore_columns=RUN_TIME_COLUMNS)) == {}


def test_a_merger_killed_inside_a_shard_leaves_that_shard_out_whole_and_a_rerun_completes(env):
    s = _settings(env, "killed-merge")
    plan = sharding.new_plan(s, 2)
    run_id = plan["run_id"]
    for k in range(2):
        sharding.run_shard(run_id, k, 0, db=s.db_path, portals=s.portals_path)
    code = ("import sys; from flows.shard import merge_run; "
            "merge_run(sys.argv[1], db=sys.argv[2], portals=sys.argv[3])")
    r = subprocess.run([sys.executable, "-c", code, run_id, str(s.db_path), str(s.portals_path)], cwd=ROOT,
                       env={**os.environ, "OGI_KILL_AT": "merge.shard:2"}, capture_output=True, text=True, timeout=300)
    assert r.returncode == -9, r.stderr[-2000:]
    # nothing is published yet; the working file has shard 0 whole and nothing of shard 1
    work = s.db_path.parent / "ogi.work.duckdb"
    assert query(work, "SELECT shard FROM main.merged_shards") == [(0,)]
    loaded = {r[0] for r in query(work, "SELECT DISTINCT portal_id FROM main.reports")}
    assert loaded == set(plan["shards"][0])
    out = sharding.merge_run(run_id, db=s.db_path, portals=s.portals_path)
    assert out.merged == [0, 1] and out.first_time == [1]
    assert differences(env["ref_checksums"], file_checksums(s.db_path, ignore_columns=RUN_TIME_COLUMNS)) == {}


class _FakeLauncher(sharding.ShardLauncher):
    """Attempt 0 of shard 0 is 'picked up by a worker that dies' (running forever, no heartbeat); every other attempt
    runs to completion when submitted (one at a time: extraction is not run from two threads here)."""

    def __init__(self, s) -> None:
        self.s, self.submitted, self.given_up = s, [], []
        self.t0 = time.time()

    def submit(self, run_id, shard, attempt, params):
        self.submitted.append((shard, attempt))
        if (shard, attempt) != (0, 0):
            sharding.run_shard(run_id, shard, attempt, db=self.s.db_path, portals=self.s.portals_path)
        return (shard, attempt)

    def status(self, handle):
        return ("running", self.t0) if handle == (0, 0) else ("done", None)

    def give_up(self, handle, why):
        self.given_up.append((handle, why))


def test_a_shard_whose_worker_went_silent_is_run_again_as_a_new_attempt(env, monkeypatch):
    monkeypatch.setattr(sharding, "HEARTBEAT_S", 0.2)  # a live shard beats well within stale_after_s
    s = _settings(env, "stale")
    plan = sharding.new_plan(s, 2)
    launcher = _FakeLauncher(s)
    states = sharding.wait_for_shards(plan, sharding.staging_root(s), launcher, {}, stale_after_s=2.0, poll_s=0.1,
                                      log=lambda m: None)
    assert sorted(launcher.submitted) == [(0, 0), (0, 1), (1, 0)]
    assert [h for h, _ in launcher.given_up] == [(0, 0)] and "no heartbeat" in launcher.given_up[0][1]
    assert [s_.attempt for s_ in states] == [1, 0] and all(s_.complete for s_ in states)


@pytest.mark.parametrize("staged", ["local", "memory"])
def test_a_sharded_nightly_is_incremental_and_equals_a_one_process_nightly(tmp_path, monkeypatch, staged):
    """Two projects over the same two hosts: a first run each, one report revised, then a one-process nightly in one
    and a sharded nightly in the other. The shards start from the main archive (conditional GETs, 304s) — on remote
    staging through each shard's ``seed.tar``."""
    from crawler.hosts import reset_shared
    from flows.pipeline import run_direct
    from ogi.config import Settings
    from sample_portal.server import start, write_hosts_registry

    (tmp_path / "ogi.yaml").write_text(FAST, encoding="utf-8")
    for k, v in {"OGI_HOME": str(tmp_path), "OGI_CONFIG": str(tmp_path / "ogi.yaml"), "OGI_ALERT_URLS": ""}.items():
        monkeypatch.setenv(k, v)
    handles = [start("127.0.0.1", 0, families=("trs", "generic")) for _ in range(2)]
    try:
        registry = write_hosts_registry(handles, tmp_path / "registry.yaml")

        def settings(name):
            monkeypatch.setenv("OGI_DATA_DIR", str(tmp_path / name))
            return Settings.load(db=tmp_path / name / "ogi.duckdb", portals=registry)

        one, sharded = settings("one"), settings("sharded")
        for s in (one, sharded):
            settings(s.db_path.parent.name)  # (OGI_DATA_DIR: the shards and the merger read the env too)
            first = run_direct(s)
        first_bytes = sum(p.bytes for p in first.portals)
        revised = handles[1].revise_report()
        reset_shared()
        settings("one")
        run_direct(one)
        settings("sharded")
        root = _memory_root("nightly") if staged == "memory" else None
        plan = sharding.new_plan(sharded, 2, mode="nightly", staging=root)
        if root:
            assert all(f"/{plan['run_id']}/shard-{k:03d}/seed.tar" in _remote_files(root) for k in range(2))
        ms = [sharding.run_shard(plan["run_id"], k, 0, staging=root, db=sharded.db_path, portals=registry)
              for k in range(2)]
        out = sharding.merge_run(plan["run_id"], staging=root, db=sharded.db_path, portals=registry)
    finally:
        for h in handles:
            h.stop()
    assert sum(m["stats"]["bytes"] for m in ms) < first_bytes / 5  # 304s, not a full re-download
    assert out.summary.revised == 1 and [r.url for r in out.summary.revised_reports] == [revised]
    assert differences(file_checksums(one.db_path, ignore_columns=RUN_TIME_COLUMNS),
                       file_checksums(sharded.db_path, ignore_columns=RUN_TIME_COLUMNS)) == {}


# ------------------------------------------------------------------------------------ staging on fsspec URLs


def _memory_root(name: str) -> str:
    import uuid

    return f"memory://ogi-{name}-{uuid.uuid4().hex[:8]}/shards"


def _remote_files(root: str) -> list[str]:
    import fsspec

    fs = fsspec.filesystem("memory")
    return sorted(p.split(root.removeprefix("memory://"), 1)[1] for p in fs.find(root.removeprefix("memory://")))


def test_a_sharded_run_staged_on_an_fsspec_url_equals_the_local_one(env):
    """Plan, heartbeats, Parquet, the packed archives and the manifests on ``memory://``; the merge downloads and
    checks them; nothing of the staging is left on the local disk, and the warehouse equals the reference."""
    s = _settings(env, "memory")
    root = _memory_root("equal")
    plan = sharding.new_plan(s, 2, staging=root)
    for k in range(2):
        m = sharding.run_shard(plan["run_id"], k, 0, staging=root, db=s.db_path, portals=s.portals_path)
        assert m["dir"].startswith(root) and "archive.tar" in m["files"]
    files = _remote_files(root)
    rid = plan["run_id"]
    assert f"/{rid}/plan.json" in files
    for k in range(2):
        for name in ("manifest.json", "heartbeat", "archive.tar", "reports.parquet", "facts.parquet"):
            assert f"/{rid}/shard-{k:03d}/attempt-00/{name}" in files
    assert not (s.db_path.parent / "shards").exists()  # nothing staged locally ...
    scratch = s.db_path.parent / "shard-scratch"
    assert not any(scratch.iterdir())  # ... and the shards' local work directories are gone
    out = sharding.merge_run(rid, staging=root, db=s.db_path, portals=s.portals_path)
    assert out.merged == out.first_time == [0, 1] and out.missing == []
    assert differences(env["ref_checksums"], file_checksums(s.db_path, ignore_columns=RUN_TIME_COLUMNS)) == {}
    from crawler.archive import Archive

    with Archive(s.archive_dir) as a, Archive(env["ref_archive"]) as r:  # the shards' bodies came through the tar
        assert len(a.documents()) == len(r.documents()) > 50 and all(a.has(d.sha256) for d in r.documents())
    assert not list((scratch / "merge" / rid).iterdir())  # the downloaded copies are removed once merged
    assert sharding.shard_status(root, rid)[1]["complete"] == 0


def test_on_fsspec_staging_a_half_written_or_corrupted_attempt_is_never_loaded(env):
    import fsspec

    from staging import attempt_dir

    s = _settings(env, "memory-half")
    root = _memory_root("half")
    fs = fsspec.filesystem("memory")
    plan = sharding.new_plan(s, 2, staging=root)
    rid = plan["run_id"]
    for k in range(2):
        sharding.run_shard(rid, k, 0, staging=root, db=s.db_path, portals=s.portals_path)
    sharding.run_shard(rid, 1, 1, staging=root, db=s.db_path, portals=s.portals_path)
    # shard 1: attempt 0's report file changed after it was staged (same size: only its sha256 tells), attempt 1
    # half-written (its worker died before the manifest)
    p = attempt_dir(root, rid, 1, 0).removeprefix("memory://") + "/reports.parquet"
    data = bytearray(fs.cat_file(p))
    data[len(data) // 2] ^= 0xFF
    fs.pipe_file(p, bytes(data))
    fs.rm(attempt_dir(root, rid, 1, 1).removeprefix("memory://") + "/manifest.json")
    out = sharding.merge_run(rid, staging=root, db=s.db_path, portals=s.portals_path)
    assert out.merged == [0] and out.missing == [1]
    portals = {r[0] for r in query(s.db_path, "SELECT DISTINCT portal_id FROM analytics.reports")}
    assert portals == set(plan["shards"][0])  # nothing of shard 1
    assert query(s.db_path, "SELECT shard, attempt FROM main.merged_shards") == [(0, 0)]
    sharding.run_shard(rid, 1, 2, staging=root, db=s.db_path, portals=s.portals_path)
    out = sharding.merge_run(rid, staging=root, db=s.db_path, portals=s.portals_path)
    assert out.merged == [0, 1] and out.first_time == [1]
    assert query(s.db_path, "SELECT shard, attempt FROM main.merged_shards ORDER BY shard") == [(0, 0), (1, 2)]
    assert differences(env["ref_checksums"], file_checksums(s.db_path, ignore_columns=RUN_TIME_COLUMNS)) == {}


@pytest.mark.parametrize("root_kind", ["local", "memory"])
def test_no_run_id_shard_or_staged_file_name_reaches_outside_the_staging_root(tmp_path, root_kind):
    import json

    from staging import attempt_dir, read_manifest, shard_dir
    from staging.location import BadStagingName
    from staging.manifest import read_plan, write_plan

    root = tmp_path / "shards" if root_kind == "local" else _memory_root("escape")
    for run_id in ("../x", "..", "a/b", "/etc", "a\\b", "", ".hidden", "x/../../y", "memory://elsewhere/x"):
        with pytest.raises(BadStagingName):
            shard_dir(root, run_id, 0)
        with pytest.raises(BadStagingName):
            read_plan(root, run_id)
        with pytest.raises(BadStagingName):
            write_plan(root, run_id, {})
    for shard, attempt in ((-1, 0), ("1", 0), ("../1", 0), (0, -1), (True, 0), (0, "../../x")):
        with pytest.raises(BadStagingName):
            attempt_dir(root, "R1", shard, attempt)
    # a manifest naming a file outside its attempt: not complete, and that file is never opened
    outside = tmp_path / "secret.parquet"
    outside.write_bytes(b"x")
    d = attempt_dir(root, "R1", 0, 0)
    from staging import location

    location.write_atomic(location.join(d, "manifest.json"), json.dumps({
        "format": 1, "run_id": "R1", "shard": 0, "attempt": 0,
        "files": {"../../../secret.parquet": {"sha256": "0" * 64, "bytes": 1}}}).encode())
    assert read_manifest(d) is None
    if root_kind == "local":
        assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.parquet", "shards"]


def test_an_archive_tar_with_a_member_outside_its_directory_is_refused(tmp_path):
    import io
    import tarfile

    from staging import ShardIncomplete
    from staging.transfer import unpack

    tar = tmp_path / "archive.tar"
    with tarfile.open(tar, "w") as t:
        data = b"evil"
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    with pytest.raises(ShardIncomplete):
        unpack(tar, tmp_path / "a" / "b" / "out")
    assert not list(tmp_path.rglob("escaped.txt"))


def test_ogi_merge_refuses_a_run_id_that_is_not_a_plain_name(sample_registry, tmp_path, capsys, monkeypatch):
    from flows.commands import EXIT_CONFIG, merge_once

    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / ".prefect"))  # (merge_once sets it when unset: restored after)
    assert merge_once("../../etc", sample_registry, tmp_path / "ogi.duckdb", None) == EXIT_CONFIG
    assert "not a plain name" in capsys.readouterr().err
    assert not (tmp_path / "ogi.duckdb").exists()


# ------------------------------------------------------------------------------------ nobody takes a shard


class _NobodyLauncher(sharding.ShardLauncher):
    """A pool whose workers never take anything (all offline): every attempt waits forever."""

    def __init__(self) -> None:
        self.given_up: list[tuple] = []

    def submit(self, run_id, shard, attempt, params):
        return (shard, attempt)

    def status(self, handle):
        return "waiting", None

    def give_up(self, handle, why):
        self.given_up.append((handle, why))


def test_shards_no_worker_takes_are_run_by_the_submitter_and_the_night_completes(env):
    s = _settings(env, "nobody")
    launcher = _NobodyLauncher()
    t = time.perf_counter()
    out = sharding.backfill_sharded(2, db=s.db_path, portals=s.portals_path, launcher=launcher, pickup_after_s=0.3,
                                    why="test", log=lambda m: None)
    assert time.perf_counter() - t < 120
    assert out.ran_here == [0, 1] and out.merged == [0, 1] and out.missing == []
    assert sorted(h for h, _ in launcher.given_up) == [(0, 0), (1, 0)]  # withdrawn from the pool first
    assert all("no worker took it" in why for _, why in launcher.given_up)
    assert "shards [0, 1] run by this process" in out.summary.sharding
    assert query(s.db_path, "SELECT shard, attempt FROM main.merged_shards ORDER BY shard") == [(0, 1), (1, 1)]
    assert differences(env["ref_checksums"], file_checksums(s.db_path, ignore_columns=RUN_TIME_COLUMNS)) == {}


class _OneShardFailsLauncher(sharding.ShardLauncher):
    """Shard 0 runs (in this process, when submitted); every attempt of shard 1 ends Failed on its 'worker'."""

    def __init__(self, s) -> None:
        self.s, self.submitted = s, []

    def submit(self, run_id, shard, attempt, params):
        self.submitted.append((shard, attempt))
        if shard == 0:
            sharding.run_shard(run_id, 0, attempt, db=self.s.db_path, portals=self.s.portals_path)
        return (shard, attempt)

    def status(self, handle):
        return ("done" if handle[0] == 0 else "failed"), None


def test_a_shard_failing_on_every_attempt_is_left_out_and_named_and_the_rest_is_merged(env):
    s = _settings(env, "one-fails")
    launcher = _OneShardFailsLauncher(s)
    out = sharding.backfill_sharded(2, db=s.db_path, portals=s.portals_path, launcher=launcher, pickup_after_s=60,
                                    why="test", log=lambda m: None)
    assert sorted(launcher.submitted) == [(0, 0), (1, 0), (1, 1), (1, 2)]  # three attempts, then left out
    assert out.merged == [0] and out.missing == [1] and out.ran_here == []
    assert "MISSING shards [1]" in out.summary.sharding and "3 attempts failed" in out.summary.sharding
    assert out.summary.missing_shards == [1]
    plan_portals = {r[0] for r in query(s.db_path, "SELECT DISTINCT portal_id FROM analytics.reports")}
    assert plan_portals and plan_portals == set(sharding.shard_status(sharding.staging_root(s), out.run_id)[0]["portals"])
