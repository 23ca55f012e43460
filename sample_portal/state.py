"""The sample portal's persistent content changes: a small JSON file of "publish" / "revise" operations.

``scripts/demo`` starts the sample portal afresh for every run, so a report published or revised between two
demo runs (``ogi sample-portal publish`` / ``revise``) must outlive the process.  The file is an ordered log of
operations with their time; the portal replays it at start (and when the file changes under a running server),
so the same report gets the same URL, body, ETag and Last-Modified on every start::

    {"version": 1, "ops": [{"op": "publish", "portal": "qinghe", "at": 1765000000.0},
                           {"op": "revise", "portal": "qinghe", "path": "/qinghe/…/t20220215_1003.html",
                            "at": 1765000100.0}]}

Default location: ``data/sample-portal-state.json`` (next to the demo warehouse ``data/ogi.duckdb``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

VERSION = 1


def default_path(root: Path | None = None) -> Path:
    from ogi.config import project_root

    return (root or project_root()) / "data" / "sample-portal-state.json"


class StateFileError(Exception):
    """The state file exists but cannot be used (the message names it)."""


def load_ops(path: Path | None) -> list[dict]:
    """The operations recorded in ``path`` (none when there is no file yet)."""
    if path is None or not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise StateFileError(f"sample portal state file {path} is unreadable: {e}") from None
    ops = data.get("ops") if isinstance(data, dict) else None
    if not isinstance(ops, list) or not all(isinstance(o, dict) and o.get("op") in ("publish", "revise")
                                            for o in ops):
        raise StateFileError(f"sample portal state file {path}: expected {{\"ops\": [{{\"op\": …}}, …]}}")
    return ops


def save_ops(path: Path, ops: list[dict]) -> None:
    """Write atomically (a server reading the file never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"version": VERSION, "ops": ops}, ensure_ascii=False, indent=1) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)


def mtime(path: Path | None) -> float | None:
    try:
        return path.stat().st_mtime_ns if path is not None else None
    except FileNotFoundError:
        return None
