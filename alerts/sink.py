"""A local webhook sink: receives Apprise ``json://`` posts, records them to a JSONL file and prints them.

Used by ``ogi demo`` (so a user sees the alerts without any chat account) and by the tests (a real HTTP
server on 127.0.0.1).  Run it by hand with ``python -m alerts.sink [--port 8766] [--out data/alerts.jsonl]``
and point ``OGI_ALERT_URLS=json://127.0.0.1:8766/hook`` at it.  It binds loopback only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

MAX_BODY = 2 * 1024 * 1024


@dataclass
class Received:
    path: str
    body: dict[str, Any]
    at: str

    @property
    def title(self) -> str:
        return str(self.body.get("title") or "")

    @property
    def message(self) -> str:
        return str(self.body.get("message") or self.body.get("body") or "")


@dataclass
class Sink:
    """A running sink. ``fail_with`` (e.g. 503) makes it answer errors, as a broken webhook would."""

    server: ThreadingHTTPServer
    thread: threading.Thread
    out: Path | None = None
    received: list[Received] = field(default_factory=list)
    fail_with: int | None = None
    on_receive: Callable[[Received], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def apprise_url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def __enter__(self) -> "Sink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(sink_ref: list[Sink]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:  # quiet: the sink prints what it received instead
            pass

        def _reply(self, code: int, text: str) -> None:
            data = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            sink = sink_ref[0]
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._reply(413, "too large")
                return
            raw = self.rfile.read(length) if length else b""
            if sink.fail_with:
                self._reply(sink.fail_with, "sink is failing on purpose")
                return
            try:
                body = json.loads(raw.decode("utf-8") or "{}")
            except ValueError:
                body = {"raw": raw.decode("utf-8", "replace")}
            if not isinstance(body, dict):
                body = {"value": body}
            item = Received(path=self.path, body=body, at=dt.datetime.now(dt.timezone.utc).isoformat())
            with sink._lock:
                sink.received.append(item)
                if sink.out:
                    sink.out.parent.mkdir(parents=True, exist_ok=True)
                    with sink.out.open("a", encoding="utf-8") as f:
                        f.write(json.dumps({"path": item.path, "at": item.at, "body": body}, ensure_ascii=False) + "\n")
            if sink.on_receive:
                sink.on_receive(item)
            self._reply(200, "ok")

        def do_GET(self) -> None:  # noqa: N802 - a health check
            self._reply(200, f"ogi alert sink: {len(sink_ref[0].received)} received")

    return Handler


def start(host: str = "127.0.0.1", port: int = 0, out: str | Path | None = None, **kw: Any) -> Sink:
    """Start the sink in a background thread (``port=0``: a free port)."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the alert sink binds loopback only")
    ref: list[Sink] = []
    server = ThreadingHTTPServer((host, port), _handler(ref))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="ogi-alert-sink", daemon=True)
    sink = Sink(server=server, thread=thread, out=Path(out) if out else None, **kw)
    ref.append(sink)
    thread.start()
    return sink


def print_received(item: Received, stream: Any = None) -> None:
    stream = stream or sys.stdout
    print(f"--- alert received on {item.path} at {item.at}", file=stream)
    print(item.title, file=stream)
    print(item.message, file=stream, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m alerts.sink", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8766)
    ap.add_argument("--out", default="data/alerts.jsonl", help="JSONL file the posts are appended to")
    args = ap.parse_args(argv)
    sink = start(port=args.port, out=args.out, on_receive=print_received)
    print(f"alert sink listening: OGI_ALERT_URLS={sink.apprise_url()}  (recording to {args.out}; Ctrl-C stops)", flush=True)
    try:
        sink.thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
