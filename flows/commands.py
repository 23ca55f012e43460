"""The implementations behind ``ogi run | backfill | reprocess | serve | demo`` (the CLI only parses options).

Every entry point calls :func:`ogi.config.prefect_env_defaults` before anything imports Prefect, so
telemetry is off and ``PREFECT_HOME`` is project-local unless the user chose otherwise.

Exit codes: 0 the run completed (even when portals or pages failed: they are in the summary);
2 bad configuration or registry; 3 the warehouse is held by another run past the lock timeout;
1 the run failed (a ``run_failed`` alert was sent); 4 a sharded run was merged without some shard (named).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from ogi.config import ConfigError, Settings, prefect_env_defaults, project_root, redact_url

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED = 0, 1, 2, 3
EXIT_INCOMPLETE = 4  # a sharded run merged without all its shards (the missing ones are named)

SAMPLE_PORTAL_PORT = 8765  # the port portals/sample.yaml names
DEMO_SINK_PORT = 8766  # fixed, so the demo's alert channel (keyed by URL) is the same on every run
DEMO_SINK_URL = f"json://127.0.0.1:{DEMO_SINK_PORT}/demo"


def _err(msg: str) -> None:
    """One line on stderr, whatever the message (YAML errors span several lines), secrets redacted."""
    print(f"ogi: {' '.join(redact_url(msg).split())}", file=sys.stderr, flush=True)


def _precheck(portals: str | Path | None, db: str | Path | None) -> Settings | int:
    """Fail fast (before paying for Prefect's start-up) on a bad config file or registry."""
    from ogi.registry import RegistryError, load_registry

    try:
        settings = Settings.load(db=db, portals=portals)
        load_registry(settings.portals_path)
    except (ConfigError, RegistryError) as e:
        _err(str(e))
        return EXIT_CONFIG
    return settings


def _run_flow(call: Callable[[], Any]) -> tuple[int, Any]:
    """Run a flow in-process; map "could not proceed" to a one-line message and an exit code."""
    from flows.pipeline import RunRefused

    try:
        with temporary_prefect_api():
            return EXIT_OK, call()
    except RunRefused as e:
        msg = str(e)
        _err(msg)
        return (EXIT_LOCKED if "lock" in msg.lower() or "another run" in msg.lower() else EXIT_CONFIG), None
    except Exception as e:  # noqa: BLE001 - the flow failed: one line here, the details are in the Prefect logs
        from flows.pipeline import format_exception

        _err(f"run failed: {format_exception(e)}")
        return EXIT_FAILED, None


def run_once(portals: str | Path | None = None, db: str | Path | None = None, only: list[str] | None = None,
             shards: int | None = None, staging: str | Path | None = None) -> int:
    """``ogi run``: the nightly flow once, in-process (with a temporary Prefect API unless one is configured).

    ``shards``: ``None`` lets the flow decide (a large registry and free workers: sharded, :mod:`flows.autoshard`),
    ``0`` keeps it in one process.  Exit 4 when a sharded run was merged without some shard (named).
    """
    prefect_env_defaults()
    pre = _precheck(portals, db)
    if isinstance(pre, int):
        return pre
    if staging is not None:  # for a nightly the flow shards by itself (this process only)
        os.environ["OGI_STAGING"] = str(staging)
    from flows.nightly import nightly, run_sync

    code, summary = _run_flow(lambda: run_sync(nightly, portals=_s(portals), db=_s(db), only=only or None,
                                               shards=shards))
    if summary is not None:
        print(summary.text(), flush=True)
        if code == EXIT_OK and summary.missing_shards:
            print(f"merged without shards {summary.missing_shards} of {summary.run_id}: MISSING", flush=True)
            return EXIT_INCOMPLETE
    return code


def backfill_once(portal_ids: list[str], years: list[int] | None, portals: str | Path | None, db: str | Path | None) -> int:
    prefect_env_defaults()
    pre = _precheck(portals, db)
    if isinstance(pre, int):
        return pre
    from flows.backfill import backfill
    from flows.nightly import run_sync

    code, summary = _run_flow(
        lambda: run_sync(backfill, portal_ids=portal_ids, years=years or None, portals=_s(portals), db=_s(db)))
    if summary is not None:
        print(summary.text(), flush=True)
    return code


def backfill_sharded_once(shards: int, portal_ids: list[str] | None, years: list[int] | None,
                          portals: str | Path | None, db: str | Path | None, staging: str | Path | None,
                          mode: str = "backfill") -> int:
    """``ogi backfill --shards N`` / ``ogi run --shards N``: one flow run per shard on the work pool, then the merge
    in this process."""
    prefect_env_defaults()
    pre = _precheck(portals, db)
    if isinstance(pre, int):
        return pre
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        _err(f"a sharded {mode} runs on the ogi-pool workers: set PREFECT_API_URL to the Prefect server they poll "
             "(docs/scale.md)")
        return EXIT_CONFIG
    from flows.pipeline import RunRefused
    from flows.shard import backfill_sharded
    from staging import ShardIncomplete
    from staging.location import BadStagingName

    return _merged(f"sharded {mode}", (RunRefused, ShardIncomplete, BadStagingName), lambda: backfill_sharded(
        shards, portal_ids=portal_ids or None, years=years or None, portals=_s(portals), db=_s(db),
        staging=_s(staging), mode=mode, why=f"asked: --shards {shards}",
        log=lambda m: print(f"ogi: {m}", file=sys.stderr, flush=True)))


def merge_once(run_id: str, portals: str | Path | None, db: str | Path | None, staging: str | Path | None) -> int:
    """``ogi merge RUN_ID``: the merger of a sharded run, again (idempotent)."""
    prefect_env_defaults()
    pre = _precheck(portals, db)
    if isinstance(pre, int):
        return pre
    from flows.pipeline import RunRefused
    from flows.shard import merge_run
    from staging import ShardIncomplete
    from staging.location import BadStagingName

    return _merged("merge", (RunRefused, ShardIncomplete, BadStagingName),
                   lambda: merge_run(run_id, portals=_s(portals), db=_s(db), staging=_s(staging)))


def _merged(what: str, refusals: tuple[type[Exception], ...], call: Callable[[], Any]) -> int:
    """Run a sharded run's submit-and-merge (or a merge alone) and print what was merged, or why not: a refusal
    (a lock, a bad registry, a missing shard) is one line with exit 3/2, anything else exit 1."""
    try:
        out = call()
    except refusals as e:
        _err(str(e))
        return EXIT_LOCKED if "lock" in str(e).lower() else EXIT_CONFIG
    except Exception as e:  # noqa: BLE001
        from flows.pipeline import format_exception

        _err(f"{what} failed: {format_exception(e)}")
        return EXIT_FAILED
    if out.summary is not None:
        print(out.summary.text(), flush=True)
    print(f"merged shards {out.merged} of {out.run_id}" + (f"; MISSING {out.missing}" if out.missing else ""),
          flush=True)
    return EXIT_INCOMPLETE if out.missing else EXIT_OK


def reprocess_once(portal_ids: list[str] | None, portals: str | Path | None, db: str | Path | None) -> int:
    prefect_env_defaults()
    pre = _precheck(portals, db)
    if isinstance(pre, int):
        return pre
    from flows.nightly import run_sync
    from flows.reprocess import reprocess

    code, summary = _run_flow(lambda: run_sync(reprocess, portal_ids=portal_ids or None, portals=_s(portals), db=_s(db)))
    if summary is not None:
        print(summary.text(), flush=True)
    return code


def _s(p: str | Path | None) -> str | None:
    return str(p) if p is not None else None


# ------------------------------------------------------------------------------------------- serve


def free_port(preferred: int | None = None) -> int:
    if preferred:
        with contextlib.closing(socket.socket()) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a just-stopped server's TIME_WAIT is fine
            try:
                s.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get ``sig`` when this process dies, even by SIGKILL (Linux).

    Without it a server started by a run that was killed (``kill -9``, the OOM killer) lives on, one orphan
    (~200 MB) per crashed night.  ``PR_SET_PDEATHSIG`` fires when the *thread* that forked the child ends,
    so servers are started from the main thread only (``ogi run|serve`` do).  The one-run ephemeral API gets
    SIGKILL: uvicorn defers a SIGTERM until its start-up (Prefect's imports and migrations) is over, which on a
    loaded machine outlived the 15 s the kill -9 suite allows; its SQLite database is crash-safe and it serves
    nobody else.  ``prefect server start`` (``ogi serve``) gets SIGTERM, so it can stop its own children.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(1, sig)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


@contextlib.contextmanager
def temporary_prefect_api(timeout_s: float = 90.0) -> Iterator[None]:
    """A Prefect API for one ``ogi run|backfill|reprocess`` unless one is configured (profile or env).

    This is the server Prefect would start itself (its "ephemeral" mode: the API app under uvicorn, no UI,
    no services), but started here so that it dies with this process (:func:`_die_with_parent`): Prefect's
    own would outlive a killed run.  Logs and events are flushed to it before it is stopped.
    """
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    if get_current_settings().api.url:
        yield
        return
    from flows.autoshard import TEMPORARY_APIS

    with ephemeral_prefect_server(timeout_s=timeout_s) as api, temporary_settings(updates={PREFECT_API_URL: api}):
        TEMPORARY_APIS.add(api)  # no worker polls it: a nightly on it is never sharded automatically
        try:
            yield
        finally:
            TEMPORARY_APIS.discard(api)
            _drain_prefect_workers()


@contextlib.contextmanager
def ephemeral_prefect_server(env: dict[str, str] | None = None, timeout_s: float = 90.0) -> Iterator[str]:
    """Prefect's API app under uvicorn on a free loopback port (no UI, no services), as a child of this process."""
    port = free_port()
    env = {**(os.environ if env is None else env),
           "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    args = [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "error", "--lifespan", "on"]
    with _server_process(args, env, port, timeout_s, parent_death_signal=signal.SIGKILL) as api:
        yield api


def _drain_prefect_workers() -> None:
    """Ship the logs and events still queued before the server goes (else they fail loudly at exit)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=10)


@contextlib.contextmanager
def local_prefect_server(port: int | None = None, timeout_s: float = 90.0) -> Iterator[str]:
    """Start ``prefect server start`` on loopback, yield its API URL, stop it on exit (by its own PID)."""
    port = port or free_port(4200)
    exe = shutil.which("prefect", path=str(Path(sys.executable).parent)) or shutil.which("prefect")
    if not exe:
        raise RuntimeError("the prefect command is not installed next to this Python")
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    # its own session: a Ctrl-C in the terminal reaches ogi serve, which then stops the server in order
    with _server_process([exe, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, port, timeout_s,
                         start_new_session=True) as api:
        yield api


@contextlib.contextmanager
def _server_process(args: list[str], env: dict[str, str], port: int, timeout_s: float,
                    start_new_session: bool = False, parent_death_signal: int = signal.SIGTERM) -> Iterator[str]:
    """Run a Prefect API server as a child that dies with this process; yield its URL once healthy."""
    import httpx

    log_path = Path(env.get("PREFECT_HOME") or os.environ["PREFECT_HOME"]) / "server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=start_new_session,
                                preexec_fn=_die_with_parent(parent_death_signal))
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prefect server exited with code {proc.returncode}; see {log_path}")
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"prefect server not healthy after {timeout_s:.0f} s; see {log_path}")
            time.sleep(0.1)
        yield api
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def serve(portals: str | Path | None = None, db: str | Path | None = None, *, cron: str = "0 2 * * *",
          timezone: str = "Asia/Shanghai", api_port: int | None = None) -> int:
    """``ogi serve``: the nightly schedule from one process (``flow.serve``), with its own server if needed."""
    prefect_env_defaults()
    pre = _precheck(portals, db)
    if isinstance(pre, int):
        return pre
    params = {k: v for k, v in (("portals", _s(portals)), ("db", _s(db))) if v is not None}

    def _terminate(signum: int, frame: Any) -> None:  # SIGTERM (systemd, kill): unwind so the server is stopped
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    if os.environ.get("PREFECT_API_URL"):
        return _serve(params, cron, timezone)
    try:
        with local_prefect_server(api_port) as api:
            os.environ["PREFECT_API_URL"] = api
            print(f"started a local Prefect server: {api.removesuffix('/api')} (UI); it stops when ogi serve stops",
                  flush=True)
            return _serve(params, cron, timezone)
    except RuntimeError as e:
        _err(str(e))
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_OK


def _serve(params: dict[str, Any], cron: str, timezone: str) -> int:
    from prefect.schedules import Cron

    from flows.nightly import nightly

    print(f"serving the nightly flow: cron {cron!r} ({timezone}); Ctrl-C stops", flush=True)
    try:
        nightly.serve(name="nightly-serve", schedules=[Cron(cron, timezone=timezone)], parameters=params)
    except KeyboardInterrupt:
        pass
    except Exception as e:  # noqa: BLE001 - e.g. PREFECT_API_URL points at a server that is down
        from flows.pipeline import format_exception

        _err(f"cannot serve the nightly flow: {format_exception(e)}")
        return EXIT_FAILED
    return EXIT_OK
