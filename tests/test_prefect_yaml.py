"""prefect.yaml is what the docs say: it parses, its entrypoints import, the nightly cron is 02:00 Asia/Shanghai."""

from __future__ import annotations

from pathlib import Path

import yaml

from ogi.config import prefect_env_defaults

ROOT = Path(__file__).resolve().parents[1]
prefect_env_defaults(ROOT)


def deployments() -> dict[str, dict]:
    data = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    return {d["name"]: d for d in data["deployments"]}


def test_the_deployments_on_one_process_pool():
    deps = deployments()
    assert set(deps) == {"nightly", "backfill", "reprocess", "shard", "merge"}
    assert {d["work_pool"]["name"] for d in deps.values()} == {"ogi-pool"}
    for d in deps.values():  # telemetry off in the flow-run processes too
        env = d["work_pool"]["job_variables"]["env"]
        assert env["DO_NOT_TRACK"] == "1" and env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    data = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    steps = [next(iter(s)) for s in data["pull"]]
    assert steps == ["prefect.deployments.steps.set_working_directory"]


def test_nightly_cron_is_2am_shanghai_and_documented():
    (sched,) = deployments()["nightly"]["schedules"]
    assert sched["cron"] == "0 2 * * *"
    assert sched["timezone"] == "Asia/Shanghai"
    assert sched.get("active", True) is True
    from prefect.schedules import Cron

    Cron(sched["cron"], timezone=sched["timezone"])  # Prefect accepts it
    ops = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "0 2 * * *" in ops and "Asia/Shanghai" in ops
    assert "prefect worker start --pool ogi-pool" in ops


def test_entrypoints_import_and_parameters_match_the_flows():
    from prefect.flows import load_flow_from_entrypoint

    for name, dep in deployments().items():
        path, func = dep["entrypoint"].split(":")
        assert (ROOT / path).exists(), dep["entrypoint"]
        fl = load_flow_from_entrypoint(str(ROOT / path) + ":" + func)
        assert fl.name == name
        props = fl.parameters.properties
        unknown = set(dep.get("parameters") or {}) - set(props)
        assert not unknown, f"{name}: parameters {unknown} are not parameters of the flow"
        for required in fl.parameters.required or []:
            assert required in (dep.get("parameters") or {}), f"{name}: required parameter {required} missing"
