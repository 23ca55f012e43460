"""One self-contained HTML file: the page template, its CSS and JS, Chart.js and the data, all inlined.

The data is one JSON document in a ``<script type="application/json">`` (parsed once by the page, never
executed) plus the gzip drill-down chunks (:mod:`analyst.drilldown`).  A Content-Security-Policy in the
page forbids every network request (``default-src 'none'``, ``connect-src 'none'``), so even a bug could
not make it fetch anything; links to the source pages are ordinary navigations the reader chooses.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

from analyst.data import FINDING_FIELDS, KEPT_PARTS, REPORT_FIELDS, KeptJSON, PageData
from analyst.drilldown import chunk_tag
from analyst.labels import T3_MEASURES, all_labels


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    return (resources.files("analyst") / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def library() -> tuple[str, str]:
    """(the vendored Chart.js source, "chart.js x.y.z") from analyst/vendor/manifest.json."""
    manifest = json.loads(asset("vendor/manifest.json"))
    return asset("vendor/" + manifest["file"]), f"{manifest['package']} {manifest['version']}"


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no ``</script>`` or ``<!--`` can end or confuse it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c")


def page_model(data: PageData, meta: dict[str, Any], chunk_of: list[int]) -> dict[str, Any]:
    """Everything the page's script reads (``D`` in page.js)."""
    from warehouse.analytics import T4_OUTCOMES

    return {
        "meta": {**data.meta, **meta},
        "labels": all_labels(),
        "portals": data.portals,
        "years": data.years,
        "issuers": data.issuers,
        "report_fields": list(REPORT_FIELDS),
        "reports": data.reports,
        "cells": data.cells,
        "t3_fields": ["report", *T3_MEASURES],
        "t3": data.t3,
        "t4_fields": ["report", *[c.name for c in T4_OUTCOMES.columns if c.type == "DOUBLE"]],
        "t4": data.t4,
        "finding_fields": list(FINDING_FIELDS),
        "findings": data.findings,
        "last_run": data.last_run,
        "dd": chunk_of,
    }


def render(model: dict[str, Any], chunks: list[str], title: str, keys: list[str]) -> str:
    """The page; ``keys``: each chunk's key (:func:`analyst.drilldown.chunk_key`), so the next page can reuse it.
    One chunk tag per line: the next build reads the old page a line at a time."""
    lib, lib_name = library()
    model["meta"].setdefault("library", lib_name)
    chunk_tags = "\n".join(chunk_tag(i, k, c) for i, (c, k) in enumerate(zip(chunks, keys, strict=True)))
    values = {"TITLE": _escape_text(title), "CSS": asset("assets/page.css"), "LIB": lib, "JS": asset("assets/page.js"),
              "CHUNKS": chunk_tags, "DATA": "".join(_json_pieces(model))}
    # one pass over the template: inserted text (the library, the data) is never scanned for placeholders
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: values[m.group(1)], asset("assets/page.html"))


#: Rows per slice when a long list of the data is written out (:func:`write`): one slice's JSON at a time.
SLICE_ROWS = 2000


def _json_pieces(model: dict[str, Any]) -> Iterator[str]:
    """:func:`_script_json` of the model, in pieces: the long lists a slice of rows at a time.

    Each part of the model starts a line of its own (JSON strings never hold a raw newline), so the next build
    can find a part of this page's data without parsing the rest (:func:`previous_data`)."""
    yield "{"
    for n, (k, v) in enumerate(model.items()):
        yield ("\n," if n else "\n") + _script_json(k) + ":"
        if isinstance(v, KeptJSON):
            yield v  # written by an earlier build from the same key: already safe JSON text
        elif isinstance(v, list) and len(v) > SLICE_ROWS:
            yield "["
            for i in range(0, len(v), SLICE_ROWS):
                yield ("," if i else "") + _script_json(v[i:i + SLICE_ROWS])[1:-1]
            yield "]"
        else:
            yield _script_json(v)
    yield "}"


def write(out: BinaryIO, model: dict[str, Any], chunks: Iterable[str], title: str, keys: Iterable[str]) -> int:
    """The bytes of :func:`render` written to ``out`` piece by piece (never the whole page, nor the whole data JSON,
    as one string: for 10,000 reports those are ~20 and ~11 MB of text, several times that as Python strings).
    Returns the bytes written."""
    lib, lib_name = library()
    model["meta"].setdefault("library", lib_name)

    def pieces(name: str) -> Iterable[str]:
        if name == "DATA":
            return _json_pieces(model)
        if name == "CHUNKS":
            return ((("\n" if i else "") + chunk_tag(i, k, c)) for i, (c, k) in enumerate(zip(chunks, keys, strict=True)))
        return ({"TITLE": _escape_text(title), "CSS": asset("assets/page.css"), "LIB": lib,
                 "JS": asset("assets/page.js")}[name],)

    size, pos, template = 0, 0, asset("assets/page.html")
    for m in re.finditer(r"\{\{([A-Z]+)\}\}", template):
        size += out.write(template[pos:m.start()].encode("utf-8"))
        for text in pieces(m.group(1)):
            size += out.write(text.encode("utf-8"))
        pos = m.end()
    return size + out.write(template[pos:].encode("utf-8"))


_DATA_TAG = '<script type="application/json" id="ogi-data">'
_PART = re.compile(r'^,?"([a-z0-9_]+)":')


def previous_data(page: Path | None, key: str) -> dict[str, Any] | None:
    """The :data:`analyst.data.KEPT_PARTS` of the page being replaced (and its ``n_findings``), when that page was
    made from data with this ``key`` (``meta.data_key``); else None (no page, another key, an unreadable page)."""
    if page is None:
        return None
    found: dict[str, Any] = {}
    try:
        with open(page, encoding="utf-8") as f:
            for line in f:
                if line.startswith(_DATA_TAG):
                    break
            else:
                return None
            for line in f:
                m = _PART.match(line)
                if m is None:
                    break  # past the data block
                name = m.group(1)
                if name == "meta":
                    meta = json.loads(line[m.end():])
                    if meta.get("data_key") != key:
                        return None
                    found["n_findings"] = meta.get("n_findings")
                elif name in KEPT_PARTS:
                    text = line[m.end():].rstrip("\n")
                    if "<" in text:  # this writer escapes every "<": not a page it wrote
                        return None
                    found[name] = text
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if "n_findings" not in found or any(k not in found for k in KEPT_PARTS):
        return None
    return found


def _escape_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def generated_at() -> str:
    return dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()
