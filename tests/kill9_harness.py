"""Run real ``ogi run`` processes over the sample portal and kill them (``tests/test_kill9.py``, ``bench/chaos_kill.py``).

A :class:`Lab` holds what outlives the runs: one sample portal and one alert sink on loopback, and (optionally)
one Prefect API server shared by the runs that do not start their own, which saves its start-up per run.  Each
:class:`Project` is a user's directory (``ogi.yaml``, ``data/``) with its own path on the sink, so alerts can be
counted per project.  :meth:`Lab.run` starts ``ogi run`` in a session of its own and watches that session's
processes, so that after a kill it can tell whether any child (the Prefect server) outlived it.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OGI = Path(sys.executable).parent / "ogi"

# the sample portal's fast settings (as in tests/test_flows.py)
FAST_CONFIG = ("crawl:\n  polite: false\n  min_delay_s: 0\n  retries: 2\n  backoff_base_s: 0.05\n"
               "  connect_timeout_s: 2\n  read_timeout_s: 20\nlock_timeout_s: 0.5\n")

TAKEOVER = re.compile(r"taking over the lock left by pid (\d+)(?: \(run (\S+)\))?, which is no longer running")


@dataclass
class Project:
    name: str
    dir: Path
    registry: Path

    @property
    def db(self) -> Path:
        return self.dir / "data" / "ogi.duckdb"

    @property
    def work_db(self) -> Path:
        return self.dir / "data" / "ogi.work.duckdb"


@dataclass
class Outcome:
    """One ``ogi run`` process, as seen from outside."""

    label: str
    pid: int
    returncode: int
    seconds: float
    stdout: str
    stderr: str
    children: dict[int, str] = field(default_factory=dict)  # every process seen in its session but itself
    survivors: dict[int, str] = field(default_factory=dict)  # … still alive after it died (must be none)
    peak_rss_mb: float = 0.0  # of the ogi run process itself

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    def takeovers(self) -> list[tuple[int, str | None]]:
        """The stale locks this run took over: ``(dead pid, its run id)``."""
        return [(int(m.group(1)), m.group(2)) for m in TAKEOVER.finditer(self.stderr)]


def _session_members(sid: int) -> dict[int, str]:
    """Live (non-zombie) processes of session ``sid``: ``{pid: command line}``."""
    out: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[3]) != sid or fields[0] == "Z":  # fields: state ppid pgrp session …
                continue
            out[int(entry.name)] = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
        except (OSError, ValueError):
            continue
    return out


def _rss_peak_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Lab:
    def __init__(self, root: Path, *, shared_api: bool = True) -> None:
        from alerts import sink as sink_mod
        from ogi.config import prefect_env_defaults
        from sample_portal.server import start as start_portal

        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._stack = ExitStack()
        self.portal = start_portal("127.0.0.1", 0)
        self._stack.callback(self.portal.stop)
        self.sink = sink_mod.start()
        self._stack.callback(self.sink.stop)
        self.api_url: str | None = None
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "OGI_"))}
        base.update(OGI_ALERT_MAX_ITEMS="1000", PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
                    PREFECT_LOGGING_LEVEL="WARNING")
        self._base_env = base
        if shared_api:
            from flows.commands import ephemeral_prefect_server

            prefect_env_defaults(self.root)  # (the server's log file goes to this lab's .prefect/)
            env = dict(base, PREFECT_HOME=str(self.root / ".prefect"))
            self.api_url = self._stack.enter_context(ephemeral_prefect_server(env))

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ projects and runs

    def project(self, name: str) -> Project:
        d = self.root / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "ogi.yaml").write_text(FAST_CONFIG, encoding="utf-8")
        return Project(name, d, self.portal.write_registry(d / "registry.yaml"))

    def env(self, project: Project, *, kill_at: str | None = None, own_server: bool = False) -> dict[str, str]:
        env = dict(self._base_env, OGI_HOME=str(project.dir), OGI_CONFIG=str(project.dir / "ogi.yaml"),
                   OGI_ALERT_URLS=self.sink.apprise_url(f"hook/{project.name}"),
                   PREFECT_HOME=str(project.dir / ".prefect"))
        if self.api_url and not own_server:
            env["PREFECT_API_URL"] = self.api_url
        if kill_at:
            env["OGI_KILL_AT"] = kill_at
        return env

    def run(self, project: Project, *, kill_at: str | None = None, kill_after_s: float | None = None,
            kill_after_child_s: float | None = None, own_server: bool = False, timeout_s: float = 180,
            grace_s: float = 15) -> Outcome:
        """One ``ogi run``; killed by itself at ``kill_at``, or by SIGKILL from here ``kill_after_s`` after its
        start (or ``kill_after_child_s`` after its first child process appeared)."""
        label = kill_at or (f"timed {kill_after_s or kill_after_child_s}s" if (kill_after_s or kill_after_child_s)
                            else "complete")
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [str(OGI), "run", "--portals", str(project.registry), "--db", str(project.db)],
            cwd=project.dir, env=self.env(project, kill_at=kill_at, own_server=own_server),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        children: dict[int, str] = {}
        peak = [0.0]
        done = threading.Event()

        def watch() -> None:
            first_child_at = None
            while not done.is_set():
                members = _session_members(proc.pid)
                members.pop(proc.pid, None)
                children.update(members)
                peak[0] = max(peak[0], _rss_peak_mb(proc.pid))
                now = time.monotonic()
                if members and first_child_at is None:
                    first_child_at = now
                if (kill_after_s is not None and now - t0 >= kill_after_s) or (
                        kill_after_child_s is not None and first_child_at is not None
                        and now - first_child_at >= kill_after_child_s):
                    _sigkill(proc.pid)
                    return
                done.wait(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        seconds = time.monotonic() - t0
        done.set()
        watcher.join()
        survivors = _session_members(proc.pid)
        deadline = time.monotonic() + grace_s  # a child told by PR_SET_PDEATHSIG that its parent died goes
        while survivors and time.monotonic() < deadline:
            time.sleep(0.1)
            survivors = _session_members(proc.pid)
        if survivors:  # do not leave them to the next test; the assertion reports them
            _sigkill(-proc.pid)
        return Outcome(label, proc.pid, proc.returncode, seconds, out, err, children, survivors, peak[0])

    # ------------------------------------------------------------------ what came out

    def alert_items(self, project: Project) -> list[collections.Counter]:
        """Per digest the sink received for ``project``: a multiset of ``(kind heading, url)``."""
        return [digest_items(r.message) for r in self.sink.received if r.path == f"/hook/{project.name}"]


def _sigkill(pid: int) -> None:
    try:
        if pid < 0:
            os.killpg(-pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


_HEADING = re.compile(r"^(\S.*) \((\d+)\)$")
_ITEM = re.compile(r"^- .* — (\S+)$")


def digest_items(message: str) -> collections.Counter:
    items: collections.Counter = collections.Counter()
    heading = None
    for line in message.splitlines():
        if m := _HEADING.match(line):
            heading = m.group(1)
        elif (m := _ITEM.match(line)) and heading:
            items[(heading, m.group(1))] += 1
    return items


def report_counts(db: Path) -> collections.Counter:
    """``{url: rows}`` of ``analytics.reports`` (every value must be 1)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return collections.Counter(dict(con.execute("SELECT url, count(*) FROM analytics.reports GROUP BY url").fetchall()))
    finally:
        con.close()


def runs(db: Path) -> dict[str, tuple[str, str | None]]:
    """``{run_id: (status, error)}`` of ``analytics.runs``."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0]: (r[1], r[2]) for r in con.execute("SELECT run_id, status, error FROM analytics.runs").fetchall()}
    finally:
        con.close()
