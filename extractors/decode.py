"""Bytes → text: size and binary checks, charset resolution, document kind.

Order of trust (see docs/extraction.md): a BOM; valid UTF-8 (GBK text is practically never valid
UTF-8, so a page that decodes as UTF-8 *is* UTF-8 whatever a header claims); the HTTP header
charset; the ``<meta charset>``; UTF-8 with a handful of broken sequences; GB18030;
charset-normalizer sniffing.  A declared charset is dropped when
it fails strict decoding or when its output looks like mojibake (Latin-1 letters instead of CJK).
GBK and GB2312 are decoded as GB18030, their superset.
"""

from __future__ import annotations

import codecs
import re

from extractors.model import UnreadableInput

MAX_BYTES = 50 * 1024 * 1024
#: Markup (HTML or text) parsed at most: real report pages are 0.1–0.4 MB, so 5 MiB is >10× the largest; parsing
#: costs ~25× its size in memory (lxml tree + str), so a 45 MB page took 1 GB and 10 s: refused with its reason
#: instead (bench.chaos measures both sides of the cap).  Inline base64 images do not count (they are dropped).
MAX_MARKUP_BYTES = 5 * 1024 * 1024
_DATA_URI = re.compile(rb"(data:[\w/+.-]{1,100};base64,)[A-Za-z0-9+/=\s]{256,}")

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]{0,300}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
_HTML_SNIFF = re.compile(r"<\s*(?:!doctype|html|head|body|meta|div|p|table|title|span|br)\b", re.I)
_GB_ALIASES = {"gbk", "gb2312", "gb_2312", "gb_2312-80", "x-gbk", "cp936", "ms936", "euc-cn", "gb18030", "hz-gb-2312"}


def normalise_charset(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    if name in _GB_ALIASES or name.startswith("gb"):
        return "gb18030"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return normalise_charset(m.group(1)) if m else None


def meta_charset(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:16384])
    return normalise_charset(m.group(1).decode("ascii", "ignore")) if m else None


def looks_like_mojibake(text: str) -> bool:
    """Latin-1/1252 rendering of CJK bytes: many chars in U+0080–U+02FF and few CJK ideographs."""
    sample = text[:20000]
    high = sum(1 for ch in sample if "\u0080" <= ch <= "\u02ff")
    cjk = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    return high > 20 and high > cjk


def check_binary(data: bytes) -> None:
    head = data[:8192]
    if not head.strip():
        raise UnreadableInput("empty input (no content)")
    nul = head.count(b"\x00")
    if nul and not (head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))):
        raise UnreadableInput(f"binary data, not a text or HTML document ({nul} NUL bytes in the first {len(head)})")


def bound_markup(data: bytes, cap: int = MAX_MARKUP_BYTES) -> bytes:
    """``data`` without inline base64 payloads (Word exports embed images that way; no text in them), refused
    with :class:`UnreadableInput` when still over ``cap`` — before decoding, so memory stays ~1× the body."""
    if len(data) > cap and b"base64," in data:
        data = _DATA_URI.sub(rb"\1", data)
    if len(data) > cap:
        raise UnreadableInput(f"page too large to parse: {len(data):,} bytes of markup (cap {cap:,} bytes; "
                              "report pages are 0.1–0.4 MB): not read")
    return data


def decode(data: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode document bytes; returns ``(text, encoding)`` or raises :class:`UnreadableInput`."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc.replace("-sig", "")
            except UnicodeDecodeError:
                break
    try:
        text = data.decode("utf-8")
        return text, "utf-8"
    except UnicodeDecodeError:
        pass
    for cand in (header_charset(content_type), meta_charset(data)):
        if not cand or cand == "utf-8":
            continue
        try:
            text = data.decode(cand)
        except (UnicodeDecodeError, LookupError):
            continue
        if not looks_like_mojibake(text):
            return text, cand
    # Nearly UTF-8: a UTF-8 page with a few broken sequences (a CMS cut a summary in the middle of a
    # character).  GBK bytes read as UTF-8 break on nearly every ideograph, so a handful of errors in a
    # whole page means UTF-8; the broken bytes become U+FFFD.
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad <= max(3, len(text) // 10000) and _sane(text) and _cjk_count(text) >= 20 * bad:
        return text, "utf-8"  # (a tiny undeclared GBK page with two ideographs is not "nearly UTF-8")
    # Sniff.  GB18030 first: it is by far the most common legacy charset on these portals and
    # charset-normalizer is slow on large inputs.
    try:
        text = data.decode("gb18030")
        if not looks_like_mojibake(text) and _plausible_chinese(text) and _sane(text):
            return text, "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:262144]).best()
    if best is not None and best.encoding:
        enc = normalise_charset(best.encoding) or best.encoding
        text = data.decode(enc, errors="replace")
        bad = text.count("\ufffd")
        if bad <= max(3, len(text) // 1000) and not looks_like_mojibake(text) and _printable(text) and _sane(text):
            return text, enc
    raise UnreadableInput("undecodable text: no charset (header, <meta>, UTF-8, GB18030 or sniffed) reads it cleanly")


def _cjk_count(text: str) -> int:
    return sum(1 for ch in text[:20000] if "\u4e00" <= ch <= "\u9fff")


def _plausible_chinese(text: str) -> bool:
    sample = text[:20000]
    cjk = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    common = sum(sample.count(ch) for ch in "的年政府公开信息一")
    return cjk == 0 or common * 20 >= cjk


def _sane(text: str) -> bool:
    """Most characters are ASCII, CJK ideographs or CJK/full-width punctuation (what these documents hold)."""
    sample = text[:20000]
    if not sample:
        return False
    ok = sum(
        1
        for ch in sample
        if (" " <= ch <= "~") or ch in "\t\r\n\u00a0\u3000" or "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f"
        or "\uff01" <= ch <= "\uff5e" or "\u2010" <= ch <= "\u2027" or ch in "\u00b7\u00d7\u25cf\u25a0\u2116"
    )
    return ok >= 0.9 * len(sample)


def _printable(text: str) -> bool:
    sample = text[:20000]
    ctrl = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    return ctrl * 50 < max(1, len(sample))


def sniff_kind(data: bytes, content_type: str | None = None, filename: str | None = None) -> str:
    """``pdf`` | ``docx`` | ``xlsx`` | ``xls`` | ``doc`` | ``rtf`` | ``zip`` | ``ole`` | ``markup`` (decoded later)
    from magic bytes, type and name."""
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        head = data[:65536]
        name = (filename or "").lower()
        if b"word/" in head or name.endswith(".docx"):
            return "docx"
        if b"xl/" in head or name.endswith(".xlsx"):
            return "xlsx"
        return "zip"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return ole_kind(data, content_type, filename)
    if data[:16].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rtf"):
        return "rtf"  # RTF, often saved with a .doc name by WPS/Word
    return "markup"


#: OLE directory entry names (UTF-16LE) of the main stream of each format
_OLE_STREAMS = (
    ("doc", "WordDocument".encode("utf-16-le")),  # Word 97-2003, and WPS Office .wps (Word-compatible OLE)
    ("xls", "Workbook".encode("utf-16-le")),  # Excel 97-2003 (and WPS .et)
    ("xls", "Book\x00".encode("utf-16-le")),  # Excel 5/95
)


def ole_kind(data: bytes, content_type: str | None = None, filename: str | None = None) -> str:
    """``doc`` | ``xls`` | ``ole`` (another compound file: PowerPoint, Outlook, an encrypted OOXML package …).

    Decided by the main stream's name in the OLE directory, not by the file name (portals name files badly:
    a .wps is a Word document, a download.jsp URL names nothing); the name and content type only break a tie
    between a file that has both streams."""
    kinds = {kind for kind, name in _OLE_STREAMS if name in data}
    if len(kinds) == 1:
        return kinds.pop()
    name, ctype = (filename or "").lower(), (content_type or "").lower()
    if name.endswith((".xls", ".et")) or "excel" in ctype:
        return "xls"
    if name.endswith((".doc", ".wps", ".dot")) or "msword" in ctype:
        return "doc" if not kinds or "doc" in kinds else "ole"
    return "ole"


def is_html(text: str, content_type: str | None = None, filename: str | None = None) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    if filename and filename.lower().endswith((".txt", ".text")):
        return bool(_HTML_SNIFF.search(text[:4096])) and "<" in text[:200]
    return bool(_HTML_SNIFF.search(text[:4096]))
