"""Alert channels: Apprise URLs (email, Slack, DingTalk, WeCom, Feishu, JSON webhook …).

An alert URL embeds its credentials (webhook token, SMTP password), so a channel is identified in the
outbox by a hash of its URL (``channel_key``), shown to people only redacted (``ogi.config.redact_url``),
and every message Apprise produces about it is scrubbed before it reaches a log, an artifact or an error.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from ogi.config import redact_url

_APPRISE_LOCK = threading.Lock()  # the apprise logger is global: one delivery at a time


def channel_key(url: str) -> str:
    """Stable, secret-free id of a channel: a token rotation is a new channel (its own pending queue)."""
    return "ch_" + hashlib.sha256(url.strip().encode()).hexdigest()[:16]


def _secret_parts(url: str) -> list[str]:
    """Every piece of the URL that may be a credential, longest first (so scrubbing is greedy)."""
    parts: set[str] = {url}
    try:
        s = urlsplit(url)
    except ValueError:
        return [url]
    for piece in (s.username, s.password, s.path, s.query, s.fragment):
        if piece:
            parts.add(piece)
            parts.add(unquote(piece))
    for seg in re.split(r"[/@:]", s.path or ""):
        if len(seg) >= 4:
            parts.add(seg)
    netloc = s.netloc or ""
    if "@" in netloc:
        parts.add(netloc.split("@", 1)[0])
    host = netloc.rsplit("@", 1)[-1].split(":", 1)[0]  # original case (urlsplit lowercases hostname)
    # schemes like dingtalk://TOKEN put the secret where the host would be
    if host and "." not in host and not re.fullmatch(r"\d+", host) and host.lower() != "localhost":
        parts.add(host)
    for _, v in parse_qsl(s.query or ""):
        if len(v) >= 4:
            parts.add(v)
    return sorted((p for p in parts if p and len(p) >= 4), key=len, reverse=True)


def scrub(text: str, urls: list[str]) -> str:
    """Remove every credential of ``urls`` from ``text`` (then redact any URL-looking leftovers)."""
    out = text
    for url in urls:
        for part in _secret_parts(url):
            out = out.replace(part, "***")
    return redact_url(out)


@dataclass(slots=True)
class SendResult:
    channel: str  # redacted URL, safe to show
    key: str
    ok: bool
    error: str | None = None
    log: list[str] = field(default_factory=list)  # scrubbed apprise warnings


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a log record that cannot format is dropped, not raised
            pass


def send(url: str, title: str, body: str, *, timeout_s: float = 15.0) -> SendResult:
    """Send one message to one Apprise URL; never raises, never lets the URL's secrets out."""
    import apprise

    shown = redact_url(url)
    result = SendResult(channel=shown, key=channel_key(url), ok=False)
    logger = logging.getLogger("apprise")
    handler = _Collect()
    with _APPRISE_LOCK:
        old_propagate, old_level = logger.propagate, logger.level
        logger.propagate = False  # apprise's own messages go to our scrubbing handler only
        logger.setLevel(logging.WARNING)
        logger.addHandler(handler)
        try:
            asset = apprise.AppriseAsset(async_mode=False)
            ap = apprise.Apprise(asset=asset)
            if not ap.add(url):
                result.error = f"not a valid Apprise URL: {shown}"
                return result
            for server in ap:
                # apprise plugins take their socket timeouts from these attributes
                for attr in ("socket_connect_timeout", "socket_read_timeout"):
                    if hasattr(server, attr):
                        setattr(server, attr, timeout_s)
            ok = ap.notify(body=body, title=title)
            result.ok = bool(ok)
            if not ok:
                reason = "; ".join(dict.fromkeys(handler.messages)) or "delivery failed"
                result.error = scrub(reason, [url])
        except Exception as e:  # noqa: BLE001 - a channel failure is data (retried next run), not a crash
            result.error = scrub(f"{type(e).__name__}: {e}", [url])
        finally:
            logger.removeHandler(handler)
            logger.propagate, logger.level = old_propagate, old_level
    result.log = [scrub(m, [url]) for m in handler.messages]
    return result
