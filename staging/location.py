"""Where staged files live: a local directory, or an fsspec URL (``memory://…``, ``s3://…`` with s3fs installed).

A staging root is either a plain path (``data/shards``, ``/mnt/nfs/shards``, or ``file:///…``, which is the same
thing) or a URL of any other fsspec protocol.  A location below it is a :class:`~pathlib.Path` for a local root and
a URL string otherwise, so it can go into a flow run's parameters as it is.

Local roots keep the POSIX behaviour sharded runs were built on (temp file + ``fsync`` + rename for a file that
must appear whole, hard links); on object storage a single ``PUT`` is what appears whole (an object is visible with
all its bytes or not at all), so :func:`write_atomic` writes the object once, directly.

Every name joined onto a root goes through :func:`safe_name`: a run id, a shard number or a file name read from a
plan or a manifest can never climb out of the staging root (``..``, ``/``, a drive or a scheme in it is refused).

Credentials never go into the URL: fsspec reads them from the environment or its config (``AWS_*`` for s3fs,
``FSSPEC_S3_ENDPOINT_URL`` for an S3-compatible store such as OSS), and :func:`display` strips any user-info or
query from a URL before it is printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Union
from urllib.parse import urlsplit, urlunsplit

#: A staging root or a location below it.
Where = Union[str, Path]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class BadStagingName(ValueError):
    """A run id, shard or file name that is not a plain name below the staging root."""


def safe_name(name: Any) -> str:
    """``name`` if it is one plain path component (letters, digits, ``._-``; no ``..``), else :class:`BadStagingName`."""
    s = str(name)
    if not isinstance(name, str) or not _NAME.match(s) or ".." in s:
        raise BadStagingName(f"{name!r} is not a plain name for the staging area (letters, digits, . _ -; no ..)")
    return s


def safe_index(value: Any, what: str) -> int:
    """A shard or attempt number: a non-negative int (a bool or a string is refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadStagingName(f"{what} {value!r} is not a non-negative integer")
    return value


def is_remote(where: Where) -> bool:
    """A URL of an fsspec protocol other than ``file``: staged through fsspec, not POSIX calls."""
    if isinstance(where, Path):
        return False
    scheme = urlsplit(str(where)).scheme
    return "://" in str(where) and len(scheme) > 1 and scheme != "file"


def root(where: Where) -> Where:
    """Normalise a staging root: a ``Path`` for a local one (``file://`` URLs included), the URL otherwise."""
    if isinstance(where, Path):
        return where
    s = str(where)
    if s.startswith("file://"):
        from fsspec.core import url_to_fs

        return Path(url_to_fs(s)[1])
    return s.rstrip("/") if is_remote(s) else Path(s)


def join(where: Where, *names: Any) -> Where:
    """``where`` / each of ``names``, each checked by :func:`safe_name`."""
    parts = [safe_name(n) for n in names]
    if is_remote(where):
        return "/".join([str(where).rstrip("/"), *parts])
    return Path(where).joinpath(*parts)


def name_of(where: Where) -> str:
    return str(where).rstrip("/").rsplit("/", 1)[-1]


def display(where: Where) -> str:
    """A location fit for a log line: no user-info, no query string."""
    s = str(where)
    if not is_remote(s):
        return s
    u = urlsplit(s)
    host = u.netloc.rsplit("@", 1)[-1]
    return urlunsplit((u.scheme, ("***@" if "@" in u.netloc else "") + host, u.path, "", ""))


def _fs(where: Where, fresh: bool = False) -> tuple[Any, str]:
    """The fsspec file system and path of a URL; ``fresh``: forget any cached listing first (s3fs caches them, and
    another process may have written since)."""
    from fsspec.core import url_to_fs

    fs, p = url_to_fs(str(where))
    if fresh:
        fs.invalidate_cache(p)
    return fs, p


# --------------------------------------------------------------------------------------------- operations


def exists(where: Where) -> bool:
    if not is_remote(where):
        return Path(where).exists()
    fs, p = _fs(where, fresh=True)
    return bool(fs.exists(p))


def isdir(where: Where) -> bool:
    if not is_remote(where):
        return Path(where).is_dir()
    fs, p = _fs(where, fresh=True)
    return bool(fs.isdir(p))


def listdir(where: Where) -> list[str]:
    """The names directly below ``where`` (sorted; none if it does not exist)."""
    if not is_remote(where):
        try:
            return sorted(p.name for p in Path(where).iterdir())
        except OSError:
            return []
    fs, p = _fs(where, fresh=True)
    try:
        entries = fs.ls(p, detail=False)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted({str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries} - {""})


def read_bytes(where: Where) -> bytes:
    """The whole file; ``OSError`` (``FileNotFoundError``) when it is not there."""
    if not is_remote(where):
        return Path(where).read_bytes()
    fs, p = _fs(where)
    return fs.cat_file(p)


def read_json(where: Where) -> Any:
    return json.loads(read_bytes(where).decode("utf-8"))


def write_atomic(where: Where, data: bytes, *, fsync: bool = True) -> None:
    """Write a file that readers see whole or not at all (local: temp + fsync + rename; remote: one PUT)."""
    if is_remote(where):
        fs, p = _fs(where)
        fs.pipe_file(p, data)
        return
    path = Path(where)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def size(where: Where) -> int:
    if not is_remote(where):
        return Path(where).stat().st_size
    fs, p = _fs(where)
    return int(fs.size(p))


def sha256(where: Where) -> str:
    h = hashlib.sha256()
    if is_remote(where):
        fs, p = _fs(where)
        f = fs.open(p, "rb")
    else:
        f = open(where, "rb")
    with f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def makedirs(where: Where) -> None:
    """Local: the directory; remote: nothing (object stores have no directories, a key's prefix is enough)."""
    if not is_remote(where):
        Path(where).mkdir(parents=True, exist_ok=True)


def rmtree(where: Where) -> None:
    """Remove ``where`` and everything below it (nothing when it is not there)."""
    if not is_remote(where):
        import shutil

        shutil.rmtree(where, ignore_errors=True)
        return
    fs, p = _fs(where)
    try:
        fs.rm(p, recursive=True)
    except FileNotFoundError:
        pass


def put(local: str | Path, where: Where) -> None:
    """Upload (or copy) one local file to ``where``; on object storage the object appears when it is whole."""
    if not is_remote(where):
        import shutil

        Path(where).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, where)
        return
    fs, p = _fs(where)
    fs.put_file(str(local), p)


def get(where: Where, local: str | Path) -> None:
    """Download (or copy) ``where`` to a local file, through a temp file (a reader never sees a partial one)."""
    out = Path(local)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    if is_remote(where):
        fs, p = _fs(where)
        fs.get_file(p, str(tmp))
    else:
        import shutil

        shutil.copyfile(where, tmp)
    os.replace(tmp, out)


def age_s(where: Where) -> float | None:
    """Seconds since a heartbeat file was last written (``None``: never written).

    Local: its mtime.  Remote: the ``at`` time the writer put inside (object stores' modification times are not
    uniform across fsspec backends); the machines' clocks must agree (NTP), as for any lease.
    """
    if not is_remote(where):
        try:
            return max(0.0, time.time() - Path(where).stat().st_mtime)
        except OSError:
            return None
    try:
        at = float(read_json(where)["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return max(0.0, time.time() - at)
