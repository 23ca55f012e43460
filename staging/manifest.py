"""Where a shard stages its files, and the manifest that says the shard is complete.

Layout under the staging root (``data/shards`` by default, ``OGI_STAGING``)::

    <run_id>/plan.json                          the shards of the run (portal ids each), written by the submitter
    <run_id>/shard-<k>/attempt-<a>/archive/     the raw archive the shard crawled into (the merger reads blobs here)
    <run_id>/shard-<k>/attempt-<a>/*.parquet    the staged tables (staging.parquet)
    <run_id>/shard-<k>/attempt-<a>/heartbeat    touched while the shard runs (a lost worker stops touching it)
    <run_id>/shard-<k>/attempt-<a>/manifest.json  written last, atomically: run id, shard, sha256 of every file

Each attempt of a shard (a retry after a lost worker) has its own directory, so a worker that was only slow,
not dead, can never interleave its files with its successor's.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT = 1


class ShardIncomplete(Exception):
    """A shard of the plan has no complete attempt (yet)."""


def shard_dir(root: str | Path, run_id: str, shard: int) -> Path:
    return Path(root) / run_id / f"shard-{shard:03d}"


def attempt_dir(root: str | Path, run_id: str, shard: int, attempt: int) -> Path:
    return shard_dir(root, run_id, shard) / f"attempt-{attempt:02d}"


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(directory: str | Path, *, run_id: str, shard: int, attempt: int, files: list[str],
                   **extra: Any) -> dict[str, Any]:
    """Write ``manifest.json`` last: temp file, fsync, rename (a reader sees all of it or nothing)."""
    d = Path(directory)
    body = {"format": FORMAT, "run_id": run_id, "shard": shard, "attempt": attempt,
            "files": {name: {"sha256": file_sha256(d / name), "bytes": (d / name).stat().st_size} for name in files},
            **extra}
    tmp = d / (MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(body, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, d / MANIFEST)
    return body


def read_manifest(directory: str | Path, *, verify: bool = True) -> dict[str, Any] | None:
    """The manifest of a complete attempt, or ``None`` (missing, unreadable, or a file that does not match it)."""
    d = Path(directory)
    try:
        body = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        return None
    if verify:
        for name, meta in (body.get("files") or {}).items():
            p = d / name
            if not p.is_file() or p.stat().st_size != meta["bytes"] or file_sha256(p) != meta["sha256"]:
                return None
    body["sha256"] = file_sha256(d / MANIFEST)
    body["dir"] = str(d)
    return body


def complete_attempt(root: str | Path, run_id: str, shard: int) -> dict[str, Any] | None:
    """The first complete attempt of a shard (its verified manifest), or ``None``: half-written ones are ignored."""
    base = shard_dir(root, run_id, shard)
    if not base.is_dir():
        return None
    for d in sorted(base.glob("attempt-*")):
        m = read_manifest(d)
        if m is not None and m.get("run_id") == run_id and m.get("shard") == shard:
            return m
    return None


def write_plan(root: str | Path, run_id: str, plan: dict[str, Any]) -> Path:
    d = Path(root) / run_id
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / "plan.json.tmp"
    tmp.write_text(json.dumps(plan, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, d / "plan.json")
    return d / "plan.json"


def read_plan(root: str | Path, run_id: str) -> dict[str, Any]:
    p = Path(root) / run_id / "plan.json"
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except OSError:
        raise ShardIncomplete(f"no plan for run {run_id} under {root}") from None
