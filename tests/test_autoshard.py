"""When a nightly is sharded (flows/autoshard.py): the threshold, the flag, and the one-process fallbacks that need
no Prefect server.  The fallbacks against a real Prefect API (no shard deployment, no online worker) are in
test_flows.py; a nightly sharded onto two real workers is in test_shard_workers.py."""

from __future__ import annotations

import socket
import time

import pytest

from flows.autoshard import TEMPORARY_APIS, decide
from ogi.config import ConfigError, Settings
from ogi.registry import Portal


def _portals(n: int, hosts: int = 3) -> list[Portal]:
    return [Portal(id=f"p{i}", name=f"p{i}", start_urls=(f"http://h{i % hosts}.example:80/x/",),
                   allowed_hosts=(f"h{i % hosts}.example",)) for i in range(n)]


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    monkeypatch.delenv("OGI_CONFIG", raising=False)
    for k in ("OGI_SHARD_ABOVE", "OGI_SHARD_MAX"):
        monkeypatch.delenv(k, raising=False)
    return Settings.load()


@pytest.fixture
def no_api():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield


def test_the_threshold_and_its_settings(settings, tmp_path, monkeypatch):
    assert settings.shard_above == 100 and settings.shard_max is None
    (tmp_path / "ogi.yaml").write_text("sharding:\n  above: 7\n  max_shards: 3\n", encoding="utf-8")
    s = Settings.load()
    assert (s.shard_above, s.shard_max) == (7, 3)
    monkeypatch.setenv("OGI_SHARD_ABOVE", "2")  # the environment wins over the file
    assert Settings.load().shard_above == 2
    for bad in ("many", "-1", "1.5"):
        monkeypatch.setenv("OGI_SHARD_ABOVE", bad)
        with pytest.raises(ConfigError, match="OGI_SHARD_ABOVE"):
            Settings.load()


def test_below_the_threshold_a_nightly_runs_in_one_process_without_asking_prefect(settings):
    d = decide(settings, _portals(100), None)  # 100 is not above 100
    assert d.shards == 0 and not d.notable and "not above the sharding threshold 100" in d.reason


def test_the_flag_forces_either_way(settings):
    assert decide(settings, _portals(500), 0).shards == 0  # --shards 0: one process, however large
    assert decide(settings, _portals(500), 0).notable
    assert decide(settings, _portals(3), 4).shards == 4  # --shards 4: asked, however small


def test_above_the_threshold_without_a_prefect_api_it_is_one_process_and_says_why(settings, no_api):
    d = decide(settings, _portals(101), None)
    assert d.shards == 0 and d.notable
    assert "101 portals, above the sharding threshold 100" in d.reason and "no Prefect API is configured" in d.reason
    assert d.line().startswith("one process (")


def test_a_temporary_api_of_one_run_counts_as_none(settings):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api = "http://127.0.0.1:9/api"
    TEMPORARY_APIS.add(api)
    try:
        with temporary_settings(updates={PREFECT_API_URL: api}):
            d = decide(settings, _portals(150), None)
    finally:
        TEMPORARY_APIS.discard(api)
    assert d.shards == 0 and "no Prefect API is configured" in d.reason


def test_an_unreachable_prefect_api_means_one_process_quickly(settings):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.perf_counter()
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{port}/api"}):
        d = decide(settings, _portals(150), None, ask_timeout_s=10)
    assert time.perf_counter() - t < 12
    assert d.shards == 0 and "could not be asked about workers" in d.reason
    assert "ConnectError" in d.reason or "connect" in d.reason.lower()


def test_an_api_that_never_answers_is_given_up_after_the_ask_timeout(settings):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with socket.socket() as srv:  # accepts connections, never answers
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        t = time.perf_counter()
        with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{srv.getsockname()[1]}/api"}):
            d = decide(settings, _portals(150), None, ask_timeout_s=1.5)
        elapsed = time.perf_counter() - t
    assert elapsed < 5 and d.shards == 0 and "could not be asked" in d.reason
