"""The portal registry: which county portals to visit, and how (docs/registry.md).

The registry is the first stage of the pipeline; everything downstream keys its state by the
portal ``id``, so ids are validated to be stable slugs and unique.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

CMS_HINTS = ("auto", "trs", "hanweb", "gkmlpt", "vsb", "generic")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,80}$")


class RegistryError(Exception):
    """The registry file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Portal:
    id: str
    name: str
    start_urls: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    division_code: str | None = None
    province: str | None = None
    city: str | None = None
    county: str | None = None
    cms: str = "auto"
    #: Explicit opt-out for portals with broken TLS certificates (common on county sites).
    verify_tls: bool = True
    #: False until a run on a machine with internet confirmed the start URLs.
    verified: bool = True
    max_pages: int | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def allows(self, url: str) -> bool:
        return _host(url) in self.allowed_hosts


@functools.lru_cache(maxsize=8192)
def _host(url: str) -> str:
    """The URL's lower-case host name: asked of every URL several times a crawl (list entry, fetch, redirect)."""
    return (urlsplit(url).hostname or "").lower()


def load_registry(path: str | Path) -> list[Portal]:
    p = Path(path)
    if not p.exists():
        raise RegistryError(f"portal registry not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise RegistryError(f"portal registry {p} is not valid YAML: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("portals"), list):
        raise RegistryError(f"portal registry {p}: expected a mapping with a 'portals' list")
    portals: list[Portal] = []
    seen: set[str] = set()
    for i, entry in enumerate(data["portals"]):
        where = f"{p}: portals[{i}]"
        if not isinstance(entry, dict):
            raise RegistryError(f"{where}: expected a mapping")
        pid = str(entry.get("id", ""))
        if not _SLUG.match(pid):
            raise RegistryError(f"{where}: id {pid!r} must be a lowercase slug (a-z, 0-9, -)")
        if pid in seen:
            raise RegistryError(f"{where}: duplicate id {pid!r}")
        seen.add(pid)
        urls = entry.get("start_urls") or []
        if isinstance(urls, str):
            urls = [urls]
        if not urls:
            raise RegistryError(f"{where} ({pid}): start_urls is empty")
        for u in urls:
            parts = urlsplit(str(u))
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise RegistryError(f"{where} ({pid}): start URL {u!r} is not an http(s) URL")
        hosts = entry.get("allowed_hosts") or sorted({urlsplit(str(u)).hostname.lower() for u in urls})
        cms = str(entry.get("cms", "auto"))
        if cms not in CMS_HINTS:
            raise RegistryError(f"{where} ({pid}): cms {cms!r} is not one of {', '.join(CMS_HINTS)}")
        code = entry.get("division_code")
        if code is not None and not re.fullmatch(r"\d{6}", str(code)):
            raise RegistryError(f"{where} ({pid}): division_code {code!r} must be 6 digits")
        known = {
            "id", "name", "division_code", "province", "city", "county", "start_urls", "allowed_hosts",
            "cms", "verify_tls", "verified", "max_pages", "notes",
        }
        portals.append(
            Portal(
                id=pid,
                name=str(entry.get("name") or pid),
                start_urls=tuple(str(u) for u in urls),
                allowed_hosts=tuple(str(h).lower() for h in hosts),
                division_code=str(code) if code is not None else None,
                province=entry.get("province"),
                city=entry.get("city"),
                county=entry.get("county"),
                cms=cms,
                verify_tls=bool(entry.get("verify_tls", True)),
                verified=bool(entry.get("verified", True)),
                max_pages=entry.get("max_pages"),
                notes=str(entry.get("notes") or ""),
                extra={k: v for k, v in entry.items() if k not in known},
            )
        )
    return portals
