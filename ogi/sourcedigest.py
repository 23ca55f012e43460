"""A digest of some source files: results derived from the warehouse and stored for reuse (the cross-report checks'
``derived_state``, the analyst page's data key) carry the code that made them, so changed code recomputes them."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path


@functools.lru_cache(maxsize=None)
def source_digest(*files: str) -> str:
    """sha256 (16 hex digits) of the files' bytes, in the order given; read once per process."""
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:16]
