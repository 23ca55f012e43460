"""Reading one table cell as a number.

Real reports write the same number many ways: full-width digits, thousands separators, a unit in
the cell ("251000元"), a blank or ``&nbsp;`` cell meaning 0, and "/", "—", "-" meaning "not
applicable".  This module turns a cell into ``(value, kind)`` so that every caller agrees.

Choices (documented in docs/extraction.md):

* blank cell → ``0`` with kind ``"blank"`` (the fact is flagged ``implicit_zero``);
* "/", "／", "—", "–", "-", "－", "\\", "×" → ``None`` with kind ``"na"`` (not applicable);
* "无" / "没有" → ``0`` with kind ``"none_word"`` (the office says there were none: a real zero);
* "零" / "〇" / "○" → ``0`` (a zero typed with a Chinese IME); "不适用" / "不涉及" → not applicable;
* "3（件）" → 3 (a bracketed unit);
* a number, optionally with a unit → the number (money converted to 万元 by the caller);
* anything else → ``None`` with kind ``"text"`` (the cell is a label, not a value).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from extractors.formats import MONEY_UNITS

_NA = frozenset({"/", "／", "—", "——", "–", "-", "－", "\\", "×", "--", "---", "/ ", "-/-", "——/"})
_NONE_WORDS = frozenset({"无", "没有", "暂无"})
#: A zero typed as a Chinese numeral (IME input in Word: "零", "〇", and the look-alike circle "○").
_ZERO_WORDS = frozenset({"零", "〇", "○"})
_NA_WORDS = frozenset({"不适用", "不涉及"})
#: "3（件）", "0(项)": a unit in brackets after the number
_BRACKET_UNIT = re.compile(r"^([+-]?\d+(?:\.\d+)?)\((万元|亿元|千元|元|件|个|项|条|次|宗|人)\)$")
_NUM = re.compile(r"^([+-]?)(\d+(?:\.\d+)?)(万元|亿元|千元|元|万|亿|件|个|项|条|次|宗|人|%)?$")
#: "36.5万" / "1.2亿" (the 元 dropped) are the same money units
_SHORT_UNITS = {"万": "万元", "亿": "亿元"}
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?:\D|$))")
_WS = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")


def clean(raw: str) -> str:
    """NFKC + no whitespace + no thousands separators: the form numbers are read from."""
    text = _WS.sub("", unicodedata.normalize("NFKC", raw))
    return _THOUSANDS.sub("", text)


@lru_cache(maxsize=65536)
def parse_cell(raw: str) -> tuple[float | int | None, str, str | None]:
    """Return ``(value, kind, unit)``; kind ∈ number | blank | na | none_word | text."""
    text = clean(raw)
    if not text:
        return 0, "blank", None
    if text in _NA or (len(text) <= 3 and set(text) <= set("/-—–－\\")):
        return None, "na", None
    if text in _NONE_WORDS:
        return 0, "none_word", None
    if text in _ZERO_WORDS:
        return 0, "number", None
    if text in _NA_WORDS:
        return None, "na", None
    b = _BRACKET_UNIT.match(text)
    if b:
        text = b.group(1) + b.group(2)
    m = _NUM.match(text)
    if not m:
        return None, "text", None
    sign, digits, unit = m.groups()
    value: float | int = float(digits) if "." in digits else int(digits)
    if isinstance(value, float) and value.is_integer() and not re.search(r"\.\d*[1-9]", digits):
        value = int(value)
    if sign == "-":
        value = -value
    return value, "number", _SHORT_UNITS.get(unit, unit) if unit else unit


def is_value_like(raw: str) -> bool:
    """True for cells that hold a value (or a blank/NA placeholder), not a label."""
    return parse_cell(raw)[1] != "text"


def to_10k_yuan(value: float | int, unit: str | None, default_unit: str = "万元") -> float | int:
    """Convert a money amount to 万元; rounded to 6 decimals to avoid float noise."""
    factor = MONEY_UNITS.get(unit or default_unit, 1.0)
    if factor == 1.0:
        return value
    out = round(value * factor, 6)
    return int(out) if float(out).is_integer() else out


def header_unit(text: str) -> str | None:
    """The money unit named in a header such as "采购总金额（单位：万元，保留4位小数）"."""
    norm = clean(text)
    for unit in ("亿元", "万元", "千元"):
        if unit in norm:
            return unit
    if re.search(r"(单位[:：]?元|\(元\)|[^万亿千]元$)", norm):
        return "元"
    return None
