"""``extract_source``: what ``ogi extract`` calls — a path or an http(s) URL → Report."""

from __future__ import annotations

import os
from pathlib import Path

from extractors.decode import MAX_BYTES
from extractors.engine import extract
from extractors.model import Report, UnreadableInput

FETCH_TIMEOUT_S = 30.0
MAX_REDIRECTS = 5


def extract_source(source: str, *, max_bytes: int = MAX_BYTES) -> Report:
    """Extract one report from a local file or an http(s) URL; raises :class:`UnreadableInput`."""
    if source.startswith(("http://", "https://")):
        data, content_type, url = _fetch(source, max_bytes)
        return extract(data, url=url, content_type=content_type, filename=url.rsplit("/", 1)[-1], max_bytes=max_bytes)
    path = Path(source)
    try:
        if not path.is_file():
            raise UnreadableInput("no such file" if not path.exists() else "not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            raise UnreadableInput(f"input too large: {size:,} bytes (cap {max_bytes:,} bytes)")
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as e:
        raise UnreadableInput(f"cannot open file: {e.strerror or e}") from None
    return extract(data, filename=os.path.basename(source), max_bytes=max_bytes)


def _fetch(url: str, max_bytes: int) -> tuple[bytes, str | None, str]:
    import httpx

    try:
        with httpx.Client(follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=FETCH_TIMEOUT_S,
                          headers={"User-Agent": "ogi-etl/0.1 (+report extractor)"}) as client:
            with client.stream("GET", url) as resp:
                if resp.status_code >= 400:
                    raise UnreadableInput(f"HTTP {resp.status_code} from {url}")
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise UnreadableInput(f"input too large: {int(declared):,} bytes (cap {max_bytes:,} bytes)")
                chunks: list[bytes] = []
                total = 0
                for chunk in resp.iter_bytes():
                    total += len(chunk)
                    if total > max_bytes:
                        raise UnreadableInput(f"input too large: more than {max_bytes:,} bytes")
                    chunks.append(chunk)
                return b"".join(chunks), resp.headers.get("content-type"), str(resp.url)
    except httpx.HTTPError as e:
        raise UnreadableInput(f"fetch failed: {type(e).__name__}: {e}") from None
