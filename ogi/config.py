"""Where state lives and how the run is tuned: one place, read from env and an optional YAML file.

Precedence: command-line option > environment variable > config file (``ogi.yaml`` in the working
directory, or the file named by ``OGI_CONFIG``) > default.  Secrets (alert URLs carry webhook
tokens) are only ever read here and never logged: see :func:`redact_url`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


def project_root() -> Path:
    """The directory holding ``data/`` and ``.prefect/``: the working directory (a clone's root)."""
    return Path(os.environ.get("OGI_HOME", os.getcwd())).resolve()


@dataclass
class CrawlSettings:
    per_host_concurrency: int = 2
    global_concurrency: int = 16
    min_delay_s: float = 0.5  # between two requests to one host
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    retries: int = 3
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    max_body_bytes: int = 50 * 1024 * 1024
    max_redirects: int = 5
    max_pages_per_portal: int = 5000  # request cap per portal (keep above revalidate_budget + list pages)
    max_list_pages: int = 200
    polite: bool = True  # False only for benchmarks against the bundled sample portal
    #: Revalidate archived URLs with If-None-Match / If-Modified-Since (False: fetch every body again,
    #: e.g. for a backfill; changes are still detected by sha256 against the archive).
    conditional: bool = True
    #: Wall-clock limit for one exchange (headers + body, all redirect hops): a server that drips bytes just
    #: inside read_timeout_s cannot hold a slot forever.
    request_timeout_s: float = 120.0
    #: Revalidation of already-archived report pages and attachments (docs/crawler.md): every known URL is
    #: re-requested (conditionally, or a plain GET compared by sha256) at least once every ``revalidate_window``
    #: nights, whatever the budget says.
    revalidate_window: int = 7
    #: Per-portal nightly budget of revalidation requests (stalest first): a portal with up to this many known
    #: report pages + attachments is checked in full every night, so a revision is visible the next morning.
    revalidate_budget: int = 3000
    #: Deprecated alias of ``revalidate_window`` (the old stagger setting); when set it wins.
    revalidate_days: int | None = None
    #: Pages whose list date (or first-seen date) is within this many days of today come first in the budget
    #: (revisions cluster right after publication).
    fresh_days: int = 60
    #: "Today" for the revalidation policy (None: ``date.today()``); injectable for tests and simulations.
    today: dt.date | None = None


@dataclass
class Settings:
    root: Path
    db_path: Path
    archive_dir: Path
    portals_path: Path
    alert_urls: list[str] = field(default_factory=list)
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    lock_timeout_s: float = 30.0
    portal_unreachable_after: int = 3  # consecutive failed runs before alerting
    #: A nightly over more portals than this is sharded onto the work pool's free workers when there are any
    #: (``OGI_SHARD_ABOVE``, ``sharding.above``; flows/autoshard.py, docs/scale.md).
    shard_above: int = 100
    #: At most this many shards for an automatically sharded nightly (``OGI_SHARD_MAX``, ``sharding.max_shards``).
    shard_max: int | None = None

    @classmethod
    def load(
        cls,
        *,
        db: str | Path | None = None,
        portals: str | Path | None = None,
        archive: str | Path | None = None,
        config_file: str | Path | None = None,
    ) -> "Settings":
        root = project_root()
        cfg = _read_config(config_file)
        data_dir = Path(os.environ.get("OGI_DATA_DIR", cfg.get("data_dir", root / "data")))
        db_path = Path(db or os.environ.get("OGI_DB") or cfg.get("db") or data_dir / "ogi.duckdb")
        archive_dir = Path(archive or os.environ.get("OGI_ARCHIVE") or cfg.get("archive") or data_dir / "archive")
        portals_path = Path(
            portals or os.environ.get("OGI_PORTALS") or cfg.get("portals") or root / "portals" / "registry.yaml"
        )
        urls_env = os.environ.get("OGI_ALERT_URLS")
        if urls_env is not None:
            alert_urls = [u.strip() for u in urls_env.split(",") if u.strip()]
        else:
            alert_urls = list((cfg.get("alerts") or {}).get("urls") or [])
        crawl = CrawlSettings(**(cfg.get("crawl") or {}))
        sharding = cfg.get("sharding") or {}
        if not isinstance(sharding, dict):
            raise ConfigError("config: sharding must be a mapping (above, max_shards)")
        shard_above = _count_setting("OGI_SHARD_ABOVE", "sharding.above", sharding.get("above"), 100)
        shard_max = _count_setting("OGI_SHARD_MAX", "sharding.max_shards", sharding.get("max_shards"), None)
        return cls(
            root=root,
            db_path=db_path,
            archive_dir=archive_dir,
            portals_path=portals_path,
            alert_urls=alert_urls,
            crawl=crawl,
            lock_timeout_s=float(cfg.get("lock_timeout_s", 30.0)),
            portal_unreachable_after=int(cfg.get("portal_unreachable_after", 3)),
            shard_above=shard_above,  # type: ignore[arg-type]
            shard_max=shard_max or None,
        )


def _count_setting(env: str, key: str, configured: Any, default: int | None) -> int | None:
    """A non-negative whole number from ``env``, else the config file's ``key``, else ``default``."""
    raw = os.environ.get(env)
    where, value = (env, raw) if raw not in (None, "") else (key, configured)
    if value is None or value == "":
        return default
    try:
        n = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{where} must be a whole number, not {value!r}") from None
    if n < 0:
        raise ConfigError(f"{where} must not be negative ({n})")
    return n


class ConfigError(Exception):
    pass


def _read_config(path: str | Path | None) -> dict[str, Any]:
    path = path or os.environ.get("OGI_CONFIG")
    p = Path(path) if path else project_root() / "ogi.yaml"
    if not p.exists():
        if path:
            raise ConfigError(f"config file not found: {p}")
        return {}
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {p} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a mapping")
    return data


_SECRET_URL = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<rest>[^\s,]*)", re.I)


def redact_url(url: str) -> str:
    """``dingtalk://TOKEN`` → ``dingtalk://***``; ``json://host:port/path`` keeps host, drops path/query.

    Alert URLs embed webhook tokens and passwords in the user-info, path or query: only the scheme and
    a host (when there is one and no credentials precede it) are safe to show.
    """

    def one(m: re.Match[str]) -> str:
        rest = m.group("rest")
        host = rest.split("/", 1)[0].split("?", 1)[0]
        if "@" in host or not re.search(r"[.:]", host) or host.count(".") == 0 and ":" not in host:
            return f"{m.group('scheme')}***"
        return f"{m.group('scheme')}{host}/***" if len(rest) > len(host) else f"{m.group('scheme')}{host}"

    return _SECRET_URL.sub(one, url)


def prefect_env_defaults(root: Path | None = None) -> None:
    """Telemetry off and a project-local PREFECT_HOME unless the user chose one."""
    root = root or project_root()
    os.environ.setdefault("PREFECT_HOME", str(root / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING"))
