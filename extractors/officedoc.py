"""Legacy office files (.doc, .wps, .rtf) → :class:`Document`, through a converter installed by the system.

County portals still attach Word 97–2003 ``.doc`` files and WPS Office ``.wps`` files (an OLE compound file whose
``WordDocument`` stream is Word-compatible; :func:`extractors.decode.sniff_kind` calls both ``doc``), sometimes RTF
saved as ``.doc``.  No Python library reads their tables, so a well-kept converter from Debian does
(``scripts/setup-system`` installs them), tried in the order that keeps the most of the tables on real-looking
files (measured on Word-97 files written by LibreOffice from the report's DOCX, as county offices make them; see
docs/extraction.md "Legacy office files"):

1. LibreOffice headless (``soffice --convert-to docx``), then read like any DOCX: paragraphs and real tables with
   their merged cells — every cell of tables 二/三/四.  But it flattens some simple tables (no merged cells) into
   one paragraph: a result without any table is then weighed against the text converters' outputs;
2. ``catdoc -w``: paragraphs one per line, table rows as tab-separated lines (read like a text report); keeps
   table 三 with its merged cells, but truncates some files into garbage;
3. ``antiword``: rows as ``|``-separated lines (long cells wrap onto continuation rows); keeps simple tables, but
   tables with vertically merged cells (table 三) come out garbled.

Without LibreOffice's tables, the text converters' outputs are weighed (most numbers in tables, then most Chinese
text), because each of them fails on files the other reads.

Each converter runs as a subprocess with no shell, in a fresh temporary directory (also its ``HOME`` and, for
LibreOffice, its own profile, so parallel runs never share a lock), on a file named by us (``input.doc``: no name
or path from the document is ever used), with a timeout (the whole process group is killed), a CPU and
output-size limit, and the input size capped.  Without any converter, or when every one fails, the document is a
report we could not read (``Document.unread`` → ``not_parsed``) with the note ``converter.missing`` (naming the
tools looked for) or ``converter.failed`` (each tool's error) — never dropped, never an exception.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from extractors.document import Document

MAX_OFFICE_BYTES = 30 * 1024 * 1024
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
TIMEOUT_S = {"soffice": 120.0, "catdoc": 15.0, "antiword": 15.0}
#: catdoc allocates without bound on some broken files (measured: killed by the OOM killer); 512 MB stops it in < 1 s
MAX_TEXT_CONVERTER_MEMORY = 512 * 1024 * 1024


@dataclass(frozen=True)
class Converter:
    name: str  # the tool as named in findings
    commands: tuple[str, ...]  # executables looked for on PATH, first found wins
    kinds: tuple[str, ...]  # document kinds it reads


#: In the order they are tried (see the module docstring for why).
CONVERTERS: tuple[Converter, ...] = (
    Converter("soffice", ("soffice", "libreoffice"), ("doc", "rtf")),
    Converter("catdoc", ("catdoc",), ("doc",)),
    Converter("antiword", ("antiword",), ("doc",)),
)


class ConversionError(Exception):
    pass


def available(kind: str, path: str | None = None) -> list[tuple[Converter, str]]:
    """The converters for ``kind`` found on ``path`` (default ``$PATH``), in order, with their executable."""
    found = []
    for conv in CONVERTERS:
        if kind not in conv.kinds:
            continue
        exe = next((x for x in (shutil.which(c, path=path) for c in conv.commands) if x), None)
        if exe:
            found.append((conv, exe))
    return found


def read_office(kind: str, data: bytes) -> Document:
    """A ``doc`` (Word 97–2003 / WPS OLE) or ``rtf`` document as a Document (``unread`` set when it cannot be)."""
    label = {"doc": ".doc/.wps", "rtf": ".rtf"}.get(kind, kind)
    if len(data) > MAX_OFFICE_BYTES:
        return _unread("converter.failed", f"{label} file of {len(data):,} bytes is over the converters' cap "
                                           f"({MAX_OFFICE_BYTES:,} bytes): not converted")
    convs = available(kind)
    if not convs:
        looked = ", ".join(c for conv in CONVERTERS if kind in conv.kinds for c in conv.commands)
        return _unread("converter.missing", f"no converter for a {label} file is installed (looked for {looked} on PATH; "
                                            f"scripts/setup-system installs them): the report was not read")
    errors: list[str] = []
    candidates: list[Document] = []
    for conv, exe in convs:
        try:
            doc = _convert(conv, exe, kind, data)
        except ConversionError as e:
            errors.append(f"{conv.name}: {e}")
            continue
        if conv.name == "soffice" and doc.tables:
            return doc  # LibreOffice keeps real tables with their merged cells when it keeps them at all
        if any(b.text for b in doc.blocks) or doc.tables:
            candidates.append(doc)
        else:
            errors.append(f"{conv.name}: no text in its output")
    if candidates:
        # the text converters fail on different files (catdoc truncates some, antiword garbles merged cells): the
        # output with the most numbers in tables wins, then the one with the most Chinese text (first on a tie)
        return max(candidates, key=_score)
    return _unread("converter.failed", f"no converter could read this {label} file ({'; '.join(errors)[:600]})")


def _score(doc: Document) -> tuple[int, int]:
    from extractors.numbers import parse_cell

    numbers = sum(1 for t in doc.tables for row in t.grid for c in row if c and parse_cell(c)[1] == "number")
    cjk = sum(1 for b in doc.blocks for ch in b.text if "\u4e00" <= ch <= "\u9fff")
    return numbers, cjk


def _unread(rule: str, message: str) -> Document:
    doc = Document(is_html=False, unread=message)
    doc.notes.append((rule, message))
    return doc


def _convert(conv: Converter, exe: str, kind: str, data: bytes) -> Document:
    with tempfile.TemporaryDirectory(prefix="ogi-office-") as tmp:
        work = Path(tmp)
        src = work / f"input.{kind}"
        src.write_bytes(data)
        if conv.name == "soffice":
            out = work / "out"
            out.mkdir()
            argv = [exe, "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
                    f"-env:UserInstallation={(work / 'profile').as_uri()}", "--convert-to", "docx", "--outdir", str(out), str(src)]
            _run(argv, work, TIMEOUT_S["soffice"], cpu=False)
            docx = out / "input.docx"
            if not docx.is_file():
                raise ConversionError("produced no DOCX")
            from extractors.attachments import read_docx
            from extractors.model import UnreadableInput

            try:
                doc = read_docx(docx.read_bytes())
            except UnreadableInput as e:
                raise ConversionError(f"its DOCX is unreadable: {e}") from None
        else:
            argv = [exe, "-d", "utf-8", "-w", str(src)] if conv.name == "catdoc" else [exe, "-m", "UTF-8.txt", "-w", "0", str(src)]
            text = _run(argv, work, TIMEOUT_S[conv.name], cpu=True).decode("utf-8", errors="replace")
            from extractors.textdoc import read_text

            doc = read_text(text)
            for b in doc.blocks:  # the title: the first short line naming the report (as the DOCX reader does)
                if b.table is None:
                    if "报告" in b.text and len(b.text) <= 80:
                        doc.title_candidates.insert(0, b.text)
                        b.heading = True
                    break
        for t in doc.tables:
            t.source = "doc"
        return doc


def _limit(pid: int, cpu_s: float | None) -> None:
    """Output-size, core and CPU limits on the started converter (``prlimit``: no ``preexec_fn``, which is unsafe
    when the pipeline runs extraction in threads)."""
    if not hasattr(resource, "prlimit"):  # pragma: no cover - Linux has it
        return
    try:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (MAX_OUTPUT_BYTES, MAX_OUTPUT_BYTES))
        resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))
        if cpu_s is not None:  # the small text converters (LibreOffice maps far more address space than it uses)
            resource.prlimit(pid, resource.RLIMIT_CPU, (int(cpu_s) + 1, int(cpu_s) + 2))
            resource.prlimit(pid, resource.RLIMIT_AS, (MAX_TEXT_CONVERTER_MEMORY, MAX_TEXT_CONVERTER_MEMORY))
    except (ProcessLookupError, PermissionError, OSError):
        pass  # already exited (a fast converter) or not permitted: the timeout still applies


def _run(argv: list[str], work: Path, timeout: float, cpu: bool) -> bytes:
    """Run one converter; its stdout goes to a file in ``work`` (so the size limit applies), returned as bytes."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "TMPDIR": str(work),
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    stdout_path = work / "stdout"
    with open(stdout_path, "wb") as out, open(work / "stderr", "wb") as err:
        try:
            proc = subprocess.Popen(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True, close_fds=True)
        except OSError as e:
            raise ConversionError(f"cannot start: {e.strerror or e}") from None
        _limit(proc.pid, timeout if cpu else None)
        rc = _wait(proc, timeout)
    if rc is None:
        raise ConversionError(f"timed out after {timeout:g} s")
    if rc != 0:
        msg = (work / "stderr").read_bytes()[:300].decode("utf-8", errors="replace").strip().splitlines()
        raise ConversionError(f"exit status {rc}" + (f": {msg[0][:200]}" if msg else ""))
    with open(stdout_path, "rb") as fh:
        return fh.read(MAX_OUTPUT_BYTES)


def _wait(proc: subprocess.Popen, timeout: float) -> int | None:
    """Exit status, or None on timeout.  The converter's whole process group is killed either way (soffice leaves
    soffice.bin behind on a hang), while the leader is still an unreaped zombie: its pid, hence the group id, cannot
    have been reused by then, so only processes this call started are signalled."""
    deadline = time.monotonic() + timeout
    pause = 0.002
    exited = False
    while not exited and time.monotonic() < deadline:
        exited = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        if not exited:
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    rc = proc.wait()
    return rc if exited else None
