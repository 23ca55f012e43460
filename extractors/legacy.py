"""Figures stated by pre-2019 reports (the 2008 regulation's free-form layout) as facts of table ``legacy``.

Such a report has no official tables: it states its numbers in sentences ("全年共受理政府信息公开申请12件，同意公开
10件"), in a statistics annex written as ``label：N`` lines, or in a small table (often the 2008-era 政府信息公开情况
统计表: 指标名称 | 单位 | 数量).  What each figure is and how it is printed is declared once in
:data:`extractors.formats.LEGACY_FIGURES`; this module only applies it.

Order of trust, per figure: a statistics table row, then a labelled ``label：N`` line, then the first narrative
sentence that states it.  A narrative number that differs from the table/annex value is a note
``legacy.mismatch`` (the annex is kept: it is the form the office filled in).  A sentence that states there were
none ("未发生因政府信息公开引起的行政复议、行政诉讼") is a stated 0 whose ``raw`` is the words that say so.
Provenance: a table cell keeps its table index / grid row / grid column; a sentence is kept in ``Fact.sentence``.
Never guessed: a figure is recorded only when one of the declared patterns states it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from extractors.formats import LEGACY_FIGURES, LegacyFigure, normalise_label
from extractors.model import Fact, Table
from extractors.numbers import parse_cell, to_10k_yuan

_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]{1,3}[、.,]|\([一二三四五六七八九十\d]{1,3}\)|\d{1,2}[、.)]|其中[:,]?|附[:]?|[-—·•])+")
_ZH = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SENTENCE = re.compile(r"[^。;；！!？?\n]+")
_SEGMENT = re.compile(r"[^,，。;；\n]+")
#: "主动公开政府信息数：1862条" / "收到申请数 31件" (annex lines): a label, an optional colon, a number, a unit
_LABELLED = re.compile(r"^(?P<label>[^\d:]{2,40}?)(?P<colon>[:]?)(?P<n>\d[\d,]*(?:\.\d+)?)(?P<unit>条|件|个|项|起|宗|次|人次|人|万元|元)?$")
#: an annex label names an indicator ("收到申请数"); prose before a number ("申请行政复议后被维持1件") does not
_INDICATOR = re.compile(r"(?:数|数量|总数|件数|条数|费用|金额|总额|\((?:条|件|个|万元|元)\))$")
_UNIT_CELL = frozenset({"条", "件", "个", "项", "起", "宗", "次", "人", "人次", "万元", "元", "单位"})
_MAX_SENTENCE = 300


@dataclass(slots=True)
class LegacyReading:
    facts: list[Fact]
    #: ``(rule, message)`` notes for the engine (``legacy.mismatch``)
    notes: list[tuple[str, str]]
    #: indices of the tables figures were read from (their kind becomes ``legacy_stats``)
    tables: set[int]


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[LegacyFigure, tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...]], ...]:
    return tuple((f, tuple(map(re.compile, f.rows)), tuple(map(re.compile, f.text)), tuple(map(re.compile, f.zero)))
                 for f in LEGACY_FIGURES)


def _number(text: str) -> float | int | None:
    if text in _ZH:
        return _ZH[text]
    if re.fullmatch(r"[零〇一二两三四五六七八九十]{1,3}", text):
        if "十" not in text:
            return None  # "一二" is not a number a report writes
        a, _, b = text.partition("十")
        return (_ZH.get(a, 1) if a else 1) * 10 + (_ZH.get(b, 0) if b else 0)
    v = parse_cell(text)[0]
    return v if parse_cell(text)[1] == "number" else None


def _row_figure(label: str, context: str | None) -> LegacyFigure | None:
    """The figure a table row / annex line label names (numbering stripped), given the group row above it."""
    body = _NUMBERING.sub("", label)
    if not body:
        return None
    for fig, rows, _, _ in _compiled():
        if fig.parent is not None and fig.parent != context:
            continue
        if any(p.search(body) for p in rows):
            return fig
    return None


def _value(fig: LegacyFigure, raw: str, unit: str | None) -> float | int | None:
    v = _number(normalise_label(raw).replace(",", ""))
    if v is not None and fig.money:
        v = to_10k_yuan(v, unit or "万元")
    return v


def _from_tables(tables: list[Table], found: dict[str, Fact], used: set[int]) -> None:
    context: str | None = None  # carried over: a statistics table split in pieces (a page break, a text converter)
    for t in tables:
        n_before = len(found)
        context = _read_grid(t, found, context)
        if len(found) > n_before:
            used.add(t.index)


def _read_grid(t: Table, found: dict[str, Fact], context: str | None) -> str | None:
    grid = t.grid
    for r, row in enumerate(grid):
        cells = [c or "" for c in row]
        labels = [(j, normalise_label(c)) for j, c in enumerate(cells) if c and parse_cell(c)[1] == "text"
                  and normalise_label(c) not in _UNIT_CELL]
        money_unit = next((u for c in cells for u in ("万元", "元") if normalise_label(c) == u), None)
        # a header row of figure labels over a row of values (transposed annex): column by column
        if len(labels) >= 2 and r + 1 < len(grid) and not any(parse_cell(c)[1] == "number" for c in cells if c):
            below = [c or "" for c in grid[r + 1]]
            hits = 0
            for j, lab in labels:
                fig = _row_figure(lab, None)
                if fig is not None and j < len(below) and parse_cell(below[j])[1] == "number" and fig.key not in found:
                    found[fig.key] = _table_fact(fig, below[j], t.index, r + 1, j, None)
                    hits += 1
            if hits:
                continue
        # label cells each followed by their value (指标 | 单位 | 数量, or label | value | label | value)
        for j, lab in labels:
            fig = _row_figure(lab, context)
            if fig is None:
                continue
            if fig.parent is None:
                context = fig.key
            nxt = next((k for k in range(j + 1, len(cells)) if cells[k] and normalise_label(cells[k]) not in _UNIT_CELL), None)
            if nxt is None or parse_cell(cells[nxt])[1] not in ("number", "none_word"):
                continue
            if fig.key not in found:
                unit = money_unit or ("元" if re.search(r"\(元\)|单位:元", lab) else None)
                found[fig.key] = _table_fact(fig, cells[nxt], t.index, r, nxt, unit)
    return context


def _table_fact(fig: LegacyFigure, raw: str, ti: int, r: int, c: int, unit: str | None) -> Fact:
    raw = " ".join(raw.split())
    value = 0 if parse_cell(raw)[1] == "none_word" else _value(fig, raw, unit)
    return Fact("legacy", fig.key, fig.col, value, raw, ti, r, c)


def read_legacy(texts: list[str], tables: list[Table]) -> LegacyReading:
    """Legacy facts of a report from its body text blocks and its (non-official) body tables."""
    from_tables: dict[str, Fact] = {}
    used: set[int] = set()
    _from_tables(tables, from_tables, used)
    labelled: dict[str, Fact] = {}
    narrative: dict[str, Fact] = {}
    for block in texts:
        for m in _SENTENCE.finditer(block):
            sentence = m.group().strip()
            if not sentence:
                continue
            norm = normalise_label(sentence)
            if not re.search(r"\d|[零〇一二两三四五六七八九十]|未|没有|无|不", norm):
                continue
            _labelled_lines(norm, sentence, labelled)
            _narrative(norm, sentence, narrative)
    facts: list[Fact] = []
    notes: list[tuple[str, str]] = []
    for fig in LEGACY_FIGURES:
        chosen = from_tables.get(fig.key) or labelled.get(fig.key)
        told = narrative.get(fig.key)
        if chosen is None:
            chosen = told
        elif told is not None and told.value is not None and chosen.value is not None and told.value != chosen.value:
            notes.append(("legacy.mismatch", f"{fig.label} ({fig.key}): the text says {told.raw} "
                                             f"(“{told.sentence[:60]}”), the statistics say {chosen.raw}"))
        if chosen is not None:
            facts.append(chosen)
    return LegacyReading(facts, notes, used)


def _labelled_lines(norm: str, sentence: str, out: dict[str, Fact]) -> None:
    for seg in _SEGMENT.finditer(norm):
        m = _LABELLED.match(_NUMBERING.sub("", seg.group()))
        if not m or not (m.group("colon") or _INDICATOR.search(m.group("label"))):
            continue
        fig = _row_figure(m.group("label"), None)
        if fig is None or fig.parent is not None or fig.key in out:
            continue
        value = _value(fig, m.group("n"), m.group("unit"))
        if value is not None:
            out[fig.key] = Fact("legacy", fig.key, fig.col, value, m.group("n"), sentence=sentence[:_MAX_SENTENCE])


def _narrative(norm: str, sentence: str, out: dict[str, Fact]) -> None:
    for fig, _, text, zero in _compiled():
        if fig.key in out or not (text or zero):
            continue
        hit = None
        for p in text:
            m = p.search(norm)
            if m:
                value = _value(fig, m.group("n"), m.groupdict().get("unit"))
                if value is not None:
                    hit = Fact("legacy", fig.key, fig.col, value, m.group("n"), sentence=sentence[:_MAX_SENTENCE])
                    break
        if hit is None:
            for p in zero:
                m = p.search(norm)
                if m:
                    hit = Fact("legacy", fig.key, fig.col, 0, m.group(), sentence=sentence[:_MAX_SENTENCE])
                    break
        if hit is not None:
            out[fig.key] = hit
