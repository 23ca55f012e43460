"""Staging: what a shard run hands the merger — staged Parquet files plus a manifest written last.

A sharded run (docs/scale.md) crawls and extracts each shard of the registry in its own process (a Prefect
worker's flow run, possibly on another machine) that never opens the warehouse.  What the loader would have
been given — per piece, the documents with their extracted reports and the publication decisions; per
portal, its crawl (fetch log, failures, documents seen) — is written here as Parquet, under a staging root that is
a local path or an fsspec URL (:mod:`staging.location`; :mod:`staging.transfer` packs and fetches what must cross
to object storage):

``documents`` ``reports`` ``sections`` ``facts`` ``findings`` ``decisions`` ``pieces`` ``crawls``
``crawl_documents`` ``fetches`` ``failures`` (one file each per shard, one row group per write).

``manifest.json`` is written last (atomically: temp file + rename locally, one PUT on object storage) with the size
and sha256 of every file: a shard without a manifest, or whose files do not match it, is half-written and the
merger ignores it (:func:`complete_attempt`).
The merger reads a complete shard back into the same objects (:class:`ShardReader`) and feeds them to the
warehouse loader; a Report read back is equal to the one extracted (same ``content_hash``).

This stage sits between publication and the warehouse: it imports only the stages before it (it takes a
document factory for ``warehouse.inputs.DocumentInput`` instead of importing the warehouse).
"""

from staging.manifest import (  # noqa: F401
    MANIFEST,
    ShardIncomplete,
    attempt_dir,
    complete_attempt,
    file_sha256,
    read_manifest,
    shard_dir,
    write_manifest,
)
from staging.parquet import TABLES, ShardReader, ShardWriter  # noqa: F401
