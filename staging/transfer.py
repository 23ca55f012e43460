"""Moving a shard's archive and staged files between a worker's local disk and remote (fsspec) staging.

The raw archive is a SQLite index plus content-addressed blobs: it needs a local file system (SQLite locks, atomic
renames).  So with staging on object storage a shard crawls into a local scratch archive, and hands it over as one
file: ``archive.tar`` (uncompressed: the blobs are gzip already), listed in the manifest with its sha256 like the
Parquet files.  The merger downloads the attempt (:func:`fetch_attempt`), checks every file's sha256, unpacks the
archive (members are only ever extracted below the target: ``tarfile``'s ``data`` filter), and then loads it as it
loads a local attempt.  A nightly's seed archive travels the same way (``shard-k/seed.tar``).

Local staging does none of this: the attempt directory is where the shard works, as before.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

from staging import location
from staging.manifest import ShardIncomplete

ARCHIVE_TAR = "archive.tar"
SEED_TAR = "seed.tar"


def pack(directory: Path, out: Path) -> Path:
    """``directory`` (an archive: index.sqlite, objects/…) as one tar file ``out`` (members relative to it)."""
    tmp = out.with_name(out.name + ".tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for p in sorted(directory.rglob("*")):
            if p.is_file() and not p.name.endswith(("-shm", ".tmp")):  # (a -wal file, if any, is data)
                tar.add(p, arcname=p.relative_to(directory).as_posix(), recursive=False)
    os.replace(tmp, out)
    return out


def unpack(tar_path: Path, dest: Path) -> Path:
    """Extract a tar made by :func:`pack` into ``dest``; a member that would land outside ``dest`` is refused."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path, "r") as tar:
        try:
            tar.extractall(dest, filter="data")
        except tarfile.FilterError as e:
            raise ShardIncomplete(f"{tar_path.name}: refused member ({e})") from None
    return dest


def fetch_attempt(manifest: dict[str, Any], cache: Path) -> Path:
    """A local directory with a complete attempt's files (and its unpacked archive), every sha256 checked.

    Local attempt: its own directory (``read_manifest`` checked it).  Remote: downloaded into ``cache``; a file
    already there with the right sha256 (an earlier, interrupted merge) is not downloaded again.  A file whose
    sha256 does not match the manifest raises :class:`ShardIncomplete`: nothing of that attempt is loaded.
    """
    src = manifest["dir"]
    if not location.is_remote(src):
        return Path(src)
    cache.mkdir(parents=True, exist_ok=True)
    for name, meta in sorted(manifest["files"].items()):
        local = Path(location.join(cache, name))
        if local.exists() and location.sha256(local) == meta["sha256"]:
            continue
        location.get(location.join(src, name), local)
        if location.sha256(local) != meta["sha256"]:
            local.unlink(missing_ok=True)
            raise ShardIncomplete(f"{location.display(src)}/{name} does not match its manifest (sha256)")
    if ARCHIVE_TAR in manifest["files"]:
        archive = cache / "archive"
        shutil.rmtree(archive, ignore_errors=True)
        unpack(cache / ARCHIVE_TAR, archive)
    return cache
