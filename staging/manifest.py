"""Where a shard stages its files, and the manifest that says the shard is complete.

Layout under the staging root (``data/shards`` by default, ``OGI_STAGING``; a local path or an fsspec URL, see
:mod:`staging.location`)::

    <run_id>/plan.json                          the shards of the run (portal ids each), written by the submitter
    <run_id>/shard-<k>/seed/ or seed.tar        a nightly shard's starting archive (made by the submitter)
    <run_id>/shard-<k>/attempt-<a>/archive/     the raw archive the shard crawled into (local staging)
    <run_id>/shard-<k>/attempt-<a>/archive.tar  … the same, packed into one file (remote staging; in the manifest)
    <run_id>/shard-<k>/attempt-<a>/*.parquet    the staged tables (staging.parquet)
    <run_id>/shard-<k>/attempt-<a>/heartbeat    touched while the shard runs (a lost worker stops touching it)
    <run_id>/shard-<k>/attempt-<a>/manifest.json  written last, atomically: run id, shard, sha256 of every file

Each attempt of a shard (a retry after a lost worker) has its own directory, so a worker that was only slow,
not dead, can never interleave its files with its successor's.

Completeness: locally, an attempt is complete when its manifest exists and every file it lists has the size and
sha256 written there.  On object storage the sizes are checked when the manifest is read (no download), and the
sha256 of every file when the merger downloads the attempt (:func:`staging.transfer.fetch_attempt`), before any
of it is loaded: a mismatch there makes the shard incomplete as well.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterator

from staging import location
from staging.location import Where, safe_index, safe_name

MANIFEST = "manifest.json"
FORMAT = 1


class ShardIncomplete(Exception):
    """A shard of the plan has no complete attempt (yet)."""


def shard_dir(root: Where, run_id: str, shard: int) -> Where:
    return location.join(location.root(root), safe_name(run_id), f"shard-{safe_index(shard, 'shard'):03d}")


def attempt_dir(root: Where, run_id: str, shard: int, attempt: int) -> Where:
    return location.join(shard_dir(root, run_id, shard), f"attempt-{safe_index(attempt, 'attempt'):02d}")


def file_sha256(path: Where) -> str:
    return location.sha256(path)


def write_manifest(directory: Where, *, run_id: str, shard: int, attempt: int, files: list[str],
                   source: str | Path | None = None, **extra: Any) -> dict[str, Any]:
    """Write ``manifest.json`` last, so that a reader sees all of it or nothing.

    ``source``: the local directory holding the same files (a shard staging remotely hashes its local copies and
    checks that every uploaded object has their size before it writes the manifest).
    """
    src = Path(source) if source is not None else directory
    entries = {}
    for name in files:
        f = location.join(src, name)
        entries[name] = {"sha256": location.sha256(f), "bytes": location.size(f)}
        if source is not None:
            got = location.size(location.join(directory, name))
            if got != entries[name]["bytes"]:
                raise OSError(f"staged {name} has {got} bytes where {entries[name]['bytes']} were written")
    body = {"format": FORMAT, "run_id": run_id, "shard": shard, "attempt": attempt, "files": entries, **extra}
    location.write_atomic(location.join(directory, MANIFEST),
                          json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8"))
    return body


def read_manifest(directory: Where, *, verify: bool = True) -> dict[str, Any] | None:
    """The manifest of a complete attempt, or ``None`` (missing, unreadable, a file name that is not a plain name,
    or a file that does not match it: size and sha256 locally, size on object storage — see the module doc)."""
    try:
        raw = location.read_bytes(location.join(directory, MANIFEST))
        body = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or body.get("format") != FORMAT or not isinstance(body.get("files") or {}, dict):
        return None
    remote = location.is_remote(directory)
    for name, meta in (body.get("files") or {}).items():
        try:
            p = location.join(directory, name)
        except ValueError:
            return None
        if not verify:
            continue
        try:
            if location.size(p) != meta["bytes"] or (not remote and location.sha256(p) != meta["sha256"]):
                return None
        except (OSError, KeyError, TypeError):
            return None
    body["sha256"] = hashlib.sha256(raw).hexdigest()
    body["dir"] = str(directory)
    return body


def complete_attempts(root: Where, run_id: str, shard: int) -> Iterator[dict[str, Any]]:
    """The complete attempts of a shard (their verified manifests), first attempt first; half-written ones are
    skipped."""
    base = shard_dir(root, run_id, shard)
    for name in location.listdir(base):
        if not name.startswith("attempt-"):
            continue
        m = read_manifest(location.join(base, name))
        if m is not None and m.get("run_id") == run_id and m.get("shard") == shard:
            yield m


def complete_attempt(root: Where, run_id: str, shard: int) -> dict[str, Any] | None:
    """The first complete attempt of a shard (its verified manifest), or ``None``: half-written ones are ignored."""
    return next(complete_attempts(root, run_id, shard), None)


def attempts(root: Where, run_id: str, shard: int) -> list[str]:
    """The attempt directories a shard has (complete or not), by name."""
    return [n for n in location.listdir(shard_dir(root, run_id, shard)) if n.startswith("attempt-")]


def write_plan(root: Where, run_id: str, plan: dict[str, Any]) -> Where:
    p = location.join(location.root(root), safe_name(run_id), "plan.json")
    location.write_atomic(p, json.dumps(plan, ensure_ascii=False, indent=1).encode("utf-8"), fsync=False)
    return p


def read_plan(root: Where, run_id: str) -> dict[str, Any]:
    p = location.join(location.root(root), safe_name(run_id), "plan.json")
    try:
        return location.read_json(p)
    except OSError:
        raise ShardIncomplete(f"no plan for run {run_id} under {location.display(root)}") from None
    except ValueError as e:
        raise ShardIncomplete(f"the plan of run {run_id} under {location.display(root)} is unreadable: {e}") from None
