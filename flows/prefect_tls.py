"""One verified TLS context for every Prefect API client of the process, instead of one per client.

Why: Prefect builds a new ``PrefectClient`` (and with it ``ssl.create_default_context(cafile=certifi)``, which
parses the whole CA bundle) several times per task run — for the task's context, its state changes, its result.
Measured on this machine: ~27–33 ms of CPU per context, 33 contexts in one no-change nightly run of five portals
(~1.8 s of CPU, a third of that run's wall time, competing with the crawl for the GIL).  A verified context is
never modified after creation and may be shared by any number of clients and threads, so the verified ones are
created once per (CA file, purpose) and reused for an hour (a long-lived ``ogi serve`` picks up a renewed CA
bundle).  Unverified contexts (``PREFECT_API_TLS_INSECURE_SKIP_VERIFY``) are modified by Prefect right after
creation, so those are still created per call.  Nothing else changes: the same CA file, the same verification.
"""

from __future__ import annotations

import importlib
import ssl
import threading
import time
import types
from typing import Any

#: Seconds a shared verified context is reused before it is built again from the CA file.
TTL_S = 3600.0
#: The Prefect modules that build API / websocket TLS contexts with ``ssl.create_default_context``.
_MODULES = ("prefect.client.orchestration", "prefect._internal.websockets", "prefect._internal.version_checking")

_lock = threading.Lock()
_cache: dict[tuple, tuple[float, ssl.SSLContext]] = {}


def create_default_context(purpose: Any = ssl.Purpose.SERVER_AUTH, *, cafile: str | None = None,
                           capath: str | None = None, cadata: Any = None) -> ssl.SSLContext:
    """``ssl.create_default_context``, shared when it loads CA certificates (see the module docstring)."""
    if cafile is None and capath is None and cadata is None:
        return ssl.create_default_context(purpose)  # may be made insecure by the caller: never shared
    key = (purpose, cafile, capath, cadata if isinstance(cadata, (str, bytes)) else id(cadata))
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < TTL_S:
            return hit[1]
        ctx = ssl.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)
        _cache[key] = (now, ctx)
        return ctx


def share_api_tls_contexts() -> None:
    """Point Prefect's client modules at the sharing ``create_default_context`` (idempotent; a module Prefect no
    longer has, or one that no longer uses ``ssl``, is left alone)."""
    shim = types.ModuleType("ssl")
    shim.__dict__.update(ssl.__dict__)
    shim.create_default_context = create_default_context  # type: ignore[attr-defined]
    shim.__ogi_shared_tls__ = True  # type: ignore[attr-defined]
    for name in _MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        current = getattr(mod, "ssl", None)
        if current is ssl:
            mod.ssl = shim  # type: ignore[attr-defined]
